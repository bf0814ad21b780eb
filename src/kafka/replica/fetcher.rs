//! The replica fetcher: one task per leader broker that fetches every partition
//! this broker follows from that leader (Kafka's `ReplicaFetcherThread`), speaking
//! what an Apache 3.9 follower sends: Fetch v17 (v12 while a topic has no id) with
//! `ReplicaState{ReplicaId, ReplicaEpoch}`, `LastFetchedEpoch`, sessionless; and
//! ListOffsets v9 with this broker's id after OFFSET_OUT_OF_RANGE.
//!
//! What each answer does to a partition is the replication core's business
//! (`Partition::on_fetch_response` and friends); this task only moves bytes. The
//! task ends when no partition follows the leader any more.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ReplicaState};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    ApiKey, FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse, TopicName,
};
use kafka_protocol::ResponseError;

use super::state::{
    EpochEndOffset, FetchPartitionRequest, FetchPartitionResponse, FollowerRequest, LeaderOffsets,
    ListOffsetsRequest as CoreListOffsets, ReplicaError,
};
use super::Partition;
use crate::kafka::apis::str_bytes;
use crate::kafka::broker::Broker;
use crate::kafka::metadata::{BrokerId, TopicId};
use crate::kafka::peer::{whole_batches, PeerConnection};

/// Fetch v17: what an Apache 3.9 follower sends (IBP 3.9-IV0).
const FETCH_VERSION: i16 = 17;
/// Fetch v12: the newest version that names topics (`RemoteLeaderEndPoint.buildFetch`
/// falls back to it when a topic has no id).
const FETCH_VERSION_BY_NAME: i16 = 12;
const LIST_OFFSETS_VERSION: i16 = 9;
/// ListOffsets' special timestamps.
const LATEST_TIMESTAMP: i64 = -1;
const EARLIEST_TIMESTAMP: i64 = -2;
/// Slack on top of the long poll before a Fetch counts as lost.
const FETCH_TIMEOUT_SLACK_MS: u64 = 30_000;

pub async fn run(broker: Arc<Broker>, leader: BrokerId) {
    let mut connection: Option<PeerConnection> = None;
    let backoff = Duration::from_millis(broker.config.replica_fetch_backoff_ms.max(1));
    tracing::info!(%leader, "replica fetcher started");
    loop {
        let partitions = super::manager::follower_partitions(&broker, leader);
        if partitions.is_empty() {
            if broker.replicas.fetcher_may_stop(&broker, leader) {
                tracing::info!(%leader, "replica fetcher stopped: no partition follows this leader");
                return;
            }
            continue;
        }
        if connection.is_none() {
            let Some((host, port)) = broker.replicas.peer_endpoint(&broker, leader) else {
                tracing::debug!(%leader, "no endpoint known for the leader yet");
                tokio::time::sleep(backoff).await;
                continue;
            };
            match PeerConnection::connect(
                &host,
                port,
                format!("broker-{}-fetcher-0", broker.id.0),
                &broker.config.security.inter_broker,
                super::manager::PEER_CONNECT_TIMEOUT_MS,
            )
            .await
            {
                Ok(peer) => connection = Some(peer),
                Err(error) => {
                    tracing::debug!(%leader, %error, "cannot reach the leader");
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            }
        }
        let peer = connection.as_mut().expect("connected above");
        match fetch_round(&broker, peer, &partitions).await {
            Ok(true) => {}
            Ok(false) => tokio::time::sleep(backoff).await,
            Err(error) => {
                tracing::debug!(%leader, %error, "fetch from the leader failed; reconnecting");
                connection = None;
                tokio::time::sleep(backoff).await;
            }
        }
    }
}

/// One round: a Fetch for the partitions that are fetching, then ListOffsets for
/// those resetting. `Ok(false)` asks for a back-off (errors in every partition).
async fn fetch_round(
    broker: &Arc<Broker>,
    peer: &mut PeerConnection,
    partitions: &[Arc<Partition>],
) -> anyhow::Result<bool> {
    let mut fetches: Vec<(Arc<Partition>, FetchPartitionRequest)> = Vec::new();
    let mut resets: Vec<(Arc<Partition>, CoreListOffsets)> = Vec::new();
    for partition in partitions {
        match partition.next_follower_request() {
            Some(FollowerRequest::Fetch(request)) => fetches.push((partition.clone(), request)),
            Some(FollowerRequest::ListOffsets(request)) => {
                resets.push((partition.clone(), request))
            }
            // Not sent in OnFetch truncation mode (IBP >= 2.7-IV1).
            Some(FollowerRequest::OffsetForLeaderEpoch(_)) | None => {}
        }
    }
    let mut progress = resets.is_empty() && fetches.is_empty();
    for (partition, request) in resets {
        let answer = list_offsets(peer, &partition, &request).await?;
        if let Err(error) = partition.on_list_offsets_response(&request, answer) {
            tracing::error!(partition = %partition.topic_partition.dir_name(), error = %error.0, "truncation after OFFSET_OUT_OF_RANGE failed");
        }
        progress = true;
    }
    if fetches.is_empty() {
        if !progress {
            // Everything is fenced: wait for the next LeaderAndIsr.
            return Ok(false);
        }
        return Ok(true);
    }
    let by_id = fetches
        .iter()
        .all(|(partition, _)| partition.topic_id != TopicId::ZERO);
    let version = if by_id {
        FETCH_VERSION
    } else {
        FETCH_VERSION_BY_NAME
    };
    let mut request = FetchRequest::default();
    request.replica_id = kafka_protocol::messages::BrokerId(-1);
    if version < 15 {
        request.replica_id = kafka_protocol::messages::BrokerId(broker.id.0);
    } else {
        let mut state = ReplicaState::default();
        state.replica_id = kafka_protocol::messages::BrokerId(broker.id.0);
        state.replica_epoch = broker.replicas.broker_epoch(broker);
        request.replica_state = state;
    }
    request.max_wait_ms = broker.config.replica_fetch_wait_max_ms;
    request.min_bytes = 1;
    request.max_bytes = broker.config.replica_fetch_response_max_bytes;
    request.isolation_level = 0;
    request.session_id = 0;
    request.session_epoch = -1;
    let mut index: BTreeMap<(TopicId, String, i32), usize> = BTreeMap::new();
    for (position, (partition, fetch)) in fetches.iter().enumerate() {
        let tp = &partition.topic_partition;
        let same_topic = request.topics.last().is_some_and(|topic: &FetchTopic| {
            if by_id {
                topic.topic_id == partition.topic_id.0
            } else {
                topic.topic.as_str() == tp.topic
            }
        });
        if !same_topic {
            let mut topic = FetchTopic::default();
            if by_id {
                topic.topic_id = partition.topic_id.0;
            } else {
                topic.topic = TopicName(str_bytes(&tp.topic));
            }
            request.topics.push(topic);
        }
        let mut data = FetchPartition::default();
        data.partition = tp.partition;
        data.current_leader_epoch = fetch.current_leader_epoch;
        data.fetch_offset = fetch.fetch_offset;
        data.last_fetched_epoch = fetch.last_fetched_epoch.unwrap_or(-1);
        data.log_start_offset = fetch.log_start_offset;
        data.partition_max_bytes = broker.config.replica_fetch_max_bytes;
        request
            .topics
            .last_mut()
            .expect("pushed above")
            .partitions
            .push(data);
        let key_topic = if by_id {
            String::new()
        } else {
            tp.topic.clone()
        };
        let key_id = if by_id {
            partition.topic_id
        } else {
            TopicId::ZERO
        };
        index.insert((key_id, key_topic, tp.partition), position);
    }
    let timeout_ms = broker.config.replica_fetch_wait_max_ms.max(0) as u64 + FETCH_TIMEOUT_SLACK_MS;
    let response: FetchResponse = peer
        .call(ApiKey::Fetch, version, &request, timeout_ms)
        .await?;
    if response.error_code != 0 {
        tracing::debug!(
            error_code = response.error_code,
            "the leader refused the whole Fetch"
        );
        return Ok(false);
    }
    let now_ms = broker.now_ms();
    let mut any_ok = false;
    // Answers that may wait on the disk (a divergence to truncate, an append that
    // rolls a segment, writes the epoch checkpoint or reaches flush.messages) go to
    // the blocking section together; the rest (page-cache appends, high watermark
    // and log start updates, errors) are applied here. At most one hop off the
    // worker per response, not one per partition: see `disk::blocking_if`.
    let mut to_disk: Vec<(usize, Result<FetchPartitionResponse<Bytes>, ReplicaError>)> = Vec::new();
    // The leader's high watermark per answered partition, for the lag gauges.
    let mut high_watermarks: Vec<(usize, i64)> = Vec::new();
    for topic in response.responses {
        for data in topic.partitions {
            let key = if by_id {
                (TopicId(topic.topic_id), String::new(), data.partition_index)
            } else {
                (
                    TopicId::ZERO,
                    topic.topic.as_str().to_string(),
                    data.partition_index,
                )
            };
            let Some(&position) = index.get(&key) else {
                continue;
            };
            let answer = if data.error_code != 0 {
                Err(replica_error(data.error_code))
            } else {
                any_ok = true;
                let records = data
                    .records
                    .map(whole_batches)
                    .filter(|records| !records.is_empty());
                Ok(FetchPartitionResponse {
                    high_watermark: data.high_watermark,
                    log_start_offset: data.log_start_offset,
                    records,
                    diverging_epoch: (data.diverging_epoch.epoch >= 0).then_some(EpochEndOffset {
                        epoch: data.diverging_epoch.epoch,
                        end_offset: data.diverging_epoch.end_offset,
                    }),
                })
            };
            if let Ok(ok) = &answer {
                high_watermarks.push((position, ok.high_watermark));
                if let Some(records) = &ok.records {
                    broker
                        .metrics
                        .record_replication_bytes_in(records.len() as u64);
                }
            }
            let touches_disk = match &answer {
                Ok(ok) if ok.diverging_epoch.is_some() => true,
                Ok(ok) => ok.records.as_ref().is_some_and(|records| {
                    fetches[position]
                        .0
                        .follower_append_may_block(records, now_ms)
                }),
                Err(_) => false,
            };
            if touches_disk {
                to_disk.push((position, answer));
            } else {
                apply_answer(&fetches[position], now_ms, answer);
            }
        }
    }
    if !to_disk.is_empty() {
        crate::kafka::disk::blocking(|| {
            for (position, answer) in to_disk {
                apply_answer(&fetches[position], now_ms, answer);
            }
        });
    }
    // Kafka's FetcherLagMetrics: the leader's high watermark less the next offset
    // to fetch, once this answer is appended.
    for (position, high_watermark) in high_watermarks {
        let partition = &fetches[position].0;
        let lag = (high_watermark - partition.offsets().log_end_offset).max(0);
        broker
            .metrics
            .record_fetcher_lag(&partition.topic_partition, lag);
    }
    Ok(any_ok)
}

fn apply_answer(
    (partition, fetch): &(Arc<Partition>, FetchPartitionRequest),
    now_ms: i64,
    answer: Result<FetchPartitionResponse<Bytes>, ReplicaError>,
) {
    if let Err(error) = partition.on_fetch_response(now_ms, fetch, answer) {
        tracing::error!(partition = %partition.topic_partition.dir_name(), error = %error.0, "follower append failed");
    }
}

/// ListOffsets LATEST then EARLIEST for one partition, as this broker's replica
/// (the leader answers a replica's LATEST with its log end offset).
async fn list_offsets(
    peer: &mut PeerConnection,
    partition: &Partition,
    request: &CoreListOffsets,
) -> anyhow::Result<Result<LeaderOffsets, ReplicaError>> {
    let mut offsets = [0i64; 2];
    for (slot, timestamp) in [LATEST_TIMESTAMP, EARLIEST_TIMESTAMP]
        .into_iter()
        .enumerate()
    {
        let mut body = ListOffsetsRequest::default();
        body.replica_id = kafka_protocol::messages::BrokerId(request.replica.0);
        let mut topic = ListOffsetsTopic::default();
        topic.name = TopicName(str_bytes(&partition.topic_partition.topic));
        let mut data = ListOffsetsPartition::default();
        data.partition_index = partition.topic_partition.partition;
        data.current_leader_epoch = request.current_leader_epoch;
        data.timestamp = timestamp;
        topic.partitions.push(data);
        body.topics.push(topic);
        let response: ListOffsetsResponse = peer
            .call(ApiKey::ListOffsets, LIST_OFFSETS_VERSION, &body, 30_000)
            .await?;
        let answer = response
            .topics
            .first()
            .and_then(|topic| topic.partitions.first())
            .ok_or_else(|| anyhow::anyhow!("ListOffsets answer without the partition"))?;
        if answer.error_code != 0 {
            return Ok(Err(replica_error(answer.error_code)));
        }
        offsets[slot] = answer.offset;
    }
    Ok(Ok(LeaderOffsets {
        log_end_offset: offsets[0],
        log_start_offset: offsets[1],
    }))
}

fn replica_error(code: i16) -> ReplicaError {
    match ResponseError::try_from_code(code) {
        Some(ResponseError::FencedLeaderEpoch) => ReplicaError::FencedLeaderEpoch,
        Some(ResponseError::UnknownLeaderEpoch) => ReplicaError::UnknownLeaderEpoch,
        Some(ResponseError::OffsetOutOfRange) => ReplicaError::OffsetOutOfRange,
        Some(ResponseError::KafkaStorageError) => ReplicaError::KafkaStorageError,
        _ => ReplicaError::NotLeaderOrFollower,
    }
}
