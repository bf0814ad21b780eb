//! Fetch: whole batches from the leaders' logs, with Kafka's long poll: when fewer
//! than `min_bytes` are ready, the request waits until an append brings enough or
//! `max_wait_ms` passes, so a consumer sees a new record within milliseconds.
//!
//! Incremental fetch sessions (KIP-227) follow `fetch_session`'s rules: a full
//! fetch may open a session; an incremental one reads every partition of its
//! session and answers only those with news. Record data is answered as ranges of
//! the segment files (`Records::File`), sent with `sendfile(2)` by the server.

use std::collections::{HashMap, HashSet};

use crate::kafka::security::acl::{AclOperation, ResourceType};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::{FetchRequest, TopicName};
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::list_offsets::check_leader_epoch;
use super::str_bytes;
use crate::kafka::broker::Broker;
use crate::kafka::fetch_session::{
    FetchContext, FetchSessionCache, PartitionKey, PartitionOutcome, PartitionRequest,
    SessionRequest, TopicKey, INVALID_SESSION_ID,
};
use crate::kafka::metadata::{BrokerId, ClusterMetadata, TopicId};
use crate::kafka::protocol::fetch_response::{FetchReply, PartitionReply, Records, TopicReply};
use crate::kafka::protocol::frame::FileRange;
use crate::kafka::replica::state::FetchPartitionRequest;

/// Kafka caps a fetch's wait; a client asking for more gets this.
const WAIT_MS_MAX: i32 = 30_000;

pub async fn handle(broker: &Arc<Broker>, version: i16, request: FetchRequest) -> FetchReply {
    let uses_topic_ids = version >= 13;
    let topic_key = |name: &TopicName, id: Uuid| {
        if uses_topic_ids {
            TopicKey::Id(id)
        } else {
            TopicKey::Name(name.as_str().to_string())
        }
    };
    let mut partitions = Vec::new();
    for topic in &request.topics {
        for partition in &topic.partitions {
            partitions.push(PartitionRequest {
                key: PartitionKey {
                    topic: topic_key(&topic.topic, topic.topic_id),
                    partition: partition.partition,
                },
                fetch_offset: partition.fetch_offset,
                partition_max_bytes: partition.partition_max_bytes,
                current_leader_epoch: partition.current_leader_epoch,
                log_start_offset: partition.log_start_offset,
                last_fetched_epoch: partition.last_fetched_epoch,
            });
        }
    }
    let mut forgotten = Vec::new();
    for topic in &request.forgotten_topics_data {
        for partition in &topic.partitions {
            forgotten.push(PartitionKey {
                topic: topic_key(&topic.topic, topic.topic_id),
                partition: *partition,
            });
        }
    }
    let replica_id = if version >= 15 {
        request.replica_state.replica_id.0
    } else {
        request.replica_id.0
    };
    let session = SessionRequest {
        session_id: request.session_id,
        epoch: request.session_epoch,
        uses_topic_ids,
        privileged: replica_id >= 0,
    };
    let context = sessions(broker).new_context(&session, &partitions, &forgotten, broker.now_ms());
    let targets = match &context {
        FetchContext::Error(error) => {
            tracing::debug!(
                session.session_id,
                session.epoch,
                ?error,
                "fetch session refused"
            );
            return FetchReply {
                error_code: error.code(),
                session_id: INVALID_SESSION_ID,
                ..FetchReply::default()
            };
        }
        FetchContext::Sessionless | FetchContext::Full => partitions,
        FetchContext::Incremental { partitions, .. } => partitions.clone(),
    };

    // A follower's fetch (replica id >= 0) reads to the log end and moves the
    // leader's view of that follower; a consumer's reads to the high watermark.
    let replica = (replica_id >= 0).then_some(BrokerId(replica_id));
    let denied = denied_topics(broker, &targets, replica.is_some());
    let (mut replies, outcomes) =
        read_with_long_poll(broker, &request, &targets, replica, &denied).await;
    fit_aborted_transactions(&mut replies, request.isolation_level);

    let mut reply = FetchReply::default();
    let included: Vec<bool> = match context {
        FetchContext::Sessionless | FetchContext::Error(_) => vec![true; replies.len()],
        FetchContext::Full => {
            let served: Vec<(PartitionRequest, PartitionOutcome)> =
                targets.iter().cloned().zip(outcomes).collect();
            reply.session_id = sessions(broker).create_session(&session, &served, broker.now_ms());
            if reply.session_id == INVALID_SESSION_ID {
                tracing::debug!("fetch session cache full: answering without a session");
            } else {
                tracing::debug!(
                    session_id = reply.session_id,
                    partitions = served.len(),
                    "fetch session created"
                );
            }
            vec![true; replies.len()]
        }
        FetchContext::Incremental {
            session_id, epoch, ..
        } => {
            let keyed: Vec<(PartitionKey, PartitionOutcome)> = targets
                .iter()
                .map(|target| target.key.clone())
                .zip(outcomes)
                .collect();
            let completed = sessions(broker).complete_incremental(session_id, epoch, &keyed);
            reply.session_id = session_id;
            match completed {
                Ok(included) => included,
                Err(error) => {
                    reply.error_code = error.code();
                    return reply;
                }
            }
        }
    };
    reply.responses = assemble(&targets, replies, &included);
    reply
}

/// The topics this fetch may not read, decided once before the long poll (the
/// reads may run off the request's task): a follower's fetch needs CLUSTER_ACTION
/// on the cluster, a consumer's READ on each topic.
fn denied_topics(
    broker: &Broker,
    targets: &[PartitionRequest],
    follower: bool,
) -> HashSet<TopicKey> {
    let metadata = broker.metadata.current();
    let keys: HashSet<&TopicKey> = targets.iter().map(|target| &target.key.topic).collect();
    if follower {
        if broker.authorize_cluster(AclOperation::ClusterAction) {
            return HashSet::new();
        }
        return keys.into_iter().cloned().collect();
    }
    keys.into_iter()
        .filter(|key| {
            topic_name(&metadata, key).is_some_and(|name| {
                !broker.authorize(AclOperation::Read, ResourceType::Topic, &name)
            })
        })
        .cloned()
        .collect()
}

fn sessions(broker: &Broker) -> std::sync::MutexGuard<'_, FetchSessionCache> {
    // The cache's methods keep it consistent at every return; a panic elsewhere
    // while it was held leaves nothing half-done.
    broker
        .fetch_sessions
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Fetch's `IsolationLevel` for READ_COMMITTED.
const READ_COMMITTED: i8 = 1;

/// `AbortedTransactions` as Kafka 3.9 answers it: partitions refused before the
/// log is read (topic or partition unknown to the metadata) keep the schema's empty
/// list; a read answers null unless it is a READ_COMMITTED read that succeeded,
/// which lists the aborted transactions in range (keel has no transactions: none).
fn fit_aborted_transactions(replies: &mut [PartitionReply], isolation_level: i8) {
    let unknown = [
        ResponseError::UnknownTopicOrPartition.code(),
        ResponseError::UnknownTopicId.code(),
    ];
    for reply in replies {
        reply.aborted_transactions = if unknown.contains(&reply.error_code)
            || (reply.error_code == 0 && isolation_level == READ_COMMITTED)
        {
            Some(Vec::new())
        } else {
            None
        };
    }
}

/// Reads `targets` until `min_bytes` are there, an error shows, or `max_wait_ms`
/// passes (woken by every append).
async fn read_with_long_poll(
    broker: &Broker,
    request: &FetchRequest,
    targets: &[PartitionRequest],
    replica: Option<BrokerId>,
    denied: &HashSet<TopicKey>,
) -> (Vec<PartitionReply>, Vec<PartitionOutcome>) {
    let max_wait_ms = request.max_wait_ms.clamp(0, WAIT_MS_MAX);
    let deadline = tokio::time::Instant::now() + Duration::from_millis(max_wait_ms as u64);
    let response_bytes_max = if request.max_bytes > 0 {
        request.max_bytes as u64
    } else {
        u64::MAX
    };
    let min_bytes = request.min_bytes.max(0) as u64;
    let mut appends = broker.subscribe_appends();
    // The fetch offsets stay put through the long poll, and so does this answer.
    let may_block = reads_may_block(broker, targets);
    loop {
        // Mark the current append count as seen before reading, so an append that
        // lands during the read wakes the wait below.
        appends.borrow_and_update();
        let read = crate::kafka::disk::blocking_if(may_block, || {
            read_all(broker, targets, response_bytes_max, replica, denied)
        });
        if read.bytes >= min_bytes || read.any_error || tokio::time::Instant::now() >= deadline {
            return (read.replies, read.outcomes);
        }
        match tokio::time::timeout_at(deadline, appends.changed()).await {
            Ok(Ok(())) => continue,
            // Deadline passed or the broker is shutting down: answer with what there is.
            _ => {
                let read = crate::kafka::disk::blocking_if(may_block, || {
                    read_all(broker, targets, response_bytes_max, replica, denied)
                });
                return (read.replies, read.outcomes);
            }
        }
    }
}

/// Whether any target reads below its partition's active segment (tail readers,
/// followers and consumers that keep up, read what the last appends wrote, from
/// the page cache). The bytes themselves go out by sendfile when the response is
/// written; what `read_all` reads is batch headers and index entries.
fn reads_may_block(broker: &Broker, targets: &[PartitionRequest]) -> bool {
    let metadata = broker.metadata.current();
    targets.iter().any(|target| {
        topic_name(&metadata, &target.key.topic)
            .and_then(|name| {
                broker
                    .leader_partition(&metadata, &name, target.key.partition)
                    .ok()
            })
            .is_some_and(|(local, _)| local.read_may_block(target.fetch_offset))
    })
}

struct ReadAll {
    replies: Vec<PartitionReply>,
    outcomes: Vec<PartitionOutcome>,
    bytes: u64,
    any_error: bool,
}

fn read_all(
    broker: &Broker,
    targets: &[PartitionRequest],
    response_bytes_max: u64,
    replica: Option<BrokerId>,
    denied: &HashSet<TopicKey>,
) -> ReadAll {
    let now_ms = broker.now_ms();
    let mut high_watermark_moved = false;
    let metadata = broker.metadata.current();
    let mut names: HashMap<&TopicKey, Option<String>> = HashMap::new();
    let mut read = ReadAll {
        replies: Vec::with_capacity(targets.len()),
        outcomes: Vec::with_capacity(targets.len()),
        bytes: 0,
        any_error: false,
    };
    for target in targets {
        let name = names
            .entry(&target.key.topic)
            .or_insert_with(|| topic_name(&metadata, &target.key.topic));
        let mut data = PartitionReply {
            partition_index: target.key.partition,
            ..PartitionReply::default()
        };
        let result = match name {
            None => Err(ResponseError::UnknownTopicId),
            Some(_) if denied.contains(&target.key.topic) => {
                Err(ResponseError::TopicAuthorizationFailed)
            }
            Some(name) => broker
                .leader_partition(&metadata, name, target.key.partition)
                .and_then(|(local, _)| {
                    let remaining = response_bytes_max.saturating_sub(read.bytes);
                    let max_bytes = (target.partition_max_bytes.max(0) as u64).min(remaining);
                    // KIP-74: the first batch of the response is returned whole even when
                    // larger than the limits, so a consumer is never stuck behind it.
                    let at_least_one_batch = read.bytes == 0;
                    if let Some(replica) = replica {
                        let request = FetchPartitionRequest {
                            replica,
                            current_leader_epoch: target.current_leader_epoch,
                            fetch_offset: target.fetch_offset,
                            last_fetched_epoch: target
                                .last_fetched_epoch
                                .ge(&0)
                                .then_some(target.last_fetched_epoch),
                            log_start_offset: target.log_start_offset,
                        };
                        let (fetched, diverging, moved) = local
                            .fetch_for_follower(now_ms, &request, max_bytes, at_least_one_batch)
                            .map_err(|error| error.error)?;
                        high_watermark_moved |= moved;
                        return Ok((fetched, diverging));
                    }
                    check_leader_epoch(&local, target.current_leader_epoch)?;
                    local
                        .read_slice(target.fetch_offset, max_bytes, at_least_one_batch)
                        .map(|fetched| (fetched, None))
                        .map_err(|error| error.error)
                }),
        };
        match result {
            Ok((fetched, diverging)) => {
                if let Some(diverging) = diverging {
                    data.diverging_epoch.epoch = diverging.epoch;
                    data.diverging_epoch.end_offset = diverging.end_offset;
                }
                read.bytes += fetched.records_bytes();
                data.high_watermark = fetched.high_watermark;
                data.last_stable_offset = fetched.high_watermark;
                data.log_start_offset = fetched.log_start_offset;
                data.records = match fetched.records {
                    Some(slice) => Records::File(FileRange {
                        file: slice.file,
                        position: slice.position,
                        length: slice.length,
                    }),
                    None => Records::default(),
                };
            }
            Err(error) => {
                read.any_error = true;
                data.error_code = error.code();
                data.high_watermark = -1;
                data.records = Records::default();
            }
        }
        read.outcomes.push(PartitionOutcome {
            records_bytes: data.records.len(),
            high_watermark: data.high_watermark,
            log_start_offset: data.log_start_offset,
            error_code: data.error_code,
            must_respond: false,
        });
        read.replies.push(data);
    }
    if high_watermark_moved {
        // Consumers' long polls and acks=all produces wait on the high watermark.
        broker.notify_append();
    }
    read
}

/// The topic's name: as asked up to v12 (a missing topic is answered per
/// partition), looked up by id from v13 (`None`: unknown id).
fn topic_name(metadata: &ClusterMetadata, key: &TopicKey) -> Option<String> {
    match key {
        TopicKey::Name(name) => Some(name.clone()),
        TopicKey::Id(id) => metadata
            .topic_by_id(TopicId(*id))
            .map(|topic| topic.name.clone()),
    }
}

/// Groups the included partitions by topic, runs of one topic in one entry, as
/// Kafka's `FetchResponse.toMessage` does.
fn assemble(
    targets: &[PartitionRequest],
    replies: Vec<PartitionReply>,
    included: &[bool],
) -> Vec<TopicReply> {
    let mut topics: Vec<(TopicKey, TopicReply)> = Vec::new();
    for ((target, reply), include) in targets.iter().zip(replies).zip(included) {
        if !include {
            continue;
        }
        if topics
            .last()
            .is_none_or(|(key, _)| *key != target.key.topic)
        {
            let topic = match &target.key.topic {
                TopicKey::Name(name) => TopicReply {
                    topic: TopicName(str_bytes(name)),
                    ..TopicReply::default()
                },
                TopicKey::Id(id) => TopicReply {
                    topic_id: *id,
                    ..TopicReply::default()
                },
            };
            topics.push((target.key.topic.clone(), topic));
        }
        let (_, topic) = topics.last_mut().expect("pushed above");
        topic.partitions.push(reply);
    }
    topics.into_iter().map(|(_, topic)| topic).collect()
}
