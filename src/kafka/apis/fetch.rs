//! Fetch: whole batches from the leaders' logs, with Kafka's long poll: when fewer
//! than `min_bytes` are ready, the request waits until an append brings enough or
//! `max_wait_ms` passes, so a consumer sees a new record within milliseconds.
//!
//! Fetch sessions (KIP-227) are declined: every response carries session id 0, which
//! clients treat as "full fetches only", exactly as against a Kafka broker whose
//! session cache is full.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::{FetchRequest, TopicName};
use kafka_protocol::ResponseError;

use super::list_offsets::check_leader_epoch;
use super::str_bytes;
use crate::kafka::broker::Broker;
use crate::kafka::metadata::TopicId;
use crate::kafka::protocol::fetch_response::{FetchReply, PartitionReply, Records, TopicReply};
use crate::kafka::protocol::frame::FileRange;

/// Kafka caps a fetch's wait; a client asking for more gets this.
const WAIT_MS_MAX: i32 = 30_000;

struct Wanted {
    topic_index: usize,
    partition: i32,
    fetch_offset: i64,
    partition_max_bytes: i32,
    current_leader_epoch: i32,
}

pub async fn handle(broker: &Arc<Broker>, version: i16, request: FetchRequest) -> FetchReply {
    let mut response = FetchReply::default();
    if request.session_id != 0 {
        // A session this broker never created (it creates none).
        response.error_code = ResponseError::FetchSessionIdNotFound.code();
        return response;
    }
    let metadata = broker.metadata.current();
    // Resolve names (and, from v13, topic ids) once.
    let mut topics: Vec<(String, TopicId, bool)> = Vec::new();
    let mut wanted = Vec::new();
    for topic in &request.topics {
        let (name, id, known) = if version >= 13 {
            match metadata.topic_by_id(TopicId(topic.topic_id)) {
                Some(found) => (found.name.clone(), found.id, true),
                None => (String::new(), TopicId(topic.topic_id), false),
            }
        } else {
            let id = metadata
                .topics
                .get(topic.topic.as_str())
                .map_or(TopicId::ZERO, |found| found.id);
            (topic.topic.as_str().to_string(), id, true)
        };
        topics.push((name, id, known));
        for partition in &topic.partitions {
            wanted.push(Wanted {
                topic_index: topics.len() - 1,
                partition: partition.partition,
                fetch_offset: partition.fetch_offset,
                partition_max_bytes: partition.partition_max_bytes,
                current_leader_epoch: partition.current_leader_epoch,
            });
        }
    }
    let max_wait_ms = request.max_wait_ms.clamp(0, WAIT_MS_MAX);
    let deadline = tokio::time::Instant::now() + Duration::from_millis(max_wait_ms as u64);
    let response_bytes_max = if request.max_bytes > 0 {
        request.max_bytes as u64
    } else {
        u64::MAX
    };
    let mut appends = broker.subscribe_appends();
    loop {
        // Mark the current append count as seen before reading, so an append that
        // lands during the read wakes the wait below.
        appends.borrow_and_update();
        let (partitions, bytes, any_error) = read_all(broker, &topics, &wanted, response_bytes_max);
        let done = bytes >= request.min_bytes.max(0) as u64
            || any_error
            || tokio::time::Instant::now() >= deadline;
        if done {
            response.responses = assemble(&topics, partitions);
            return response;
        }
        match tokio::time::timeout_at(deadline, appends.changed()).await {
            Ok(Ok(())) => continue,
            // Deadline passed or the broker is shutting down: answer with what there is.
            _ => {
                let (partitions, _, _) = read_all(broker, &topics, &wanted, response_bytes_max);
                response.responses = assemble(&topics, partitions);
                return response;
            }
        }
    }
}

fn read_all(
    broker: &Broker,
    topics: &[(String, TopicId, bool)],
    wanted: &[Wanted],
    response_bytes_max: u64,
) -> (Vec<(usize, PartitionReply)>, u64, bool) {
    let metadata = broker.metadata.current();
    let mut total_bytes = 0u64;
    let mut any_error = false;
    let mut out = Vec::with_capacity(wanted.len());
    for want in wanted {
        let (name, _, known) = &topics[want.topic_index];
        let mut data = PartitionReply {
            partition_index: want.partition,
            ..PartitionReply::default()
        };
        let result = if !known {
            Err(ResponseError::UnknownTopicId)
        } else {
            broker
                .leader_partition(&metadata, name, want.partition)
                .and_then(|(local, _)| {
                    check_leader_epoch(&local, want.current_leader_epoch)?;
                    let remaining = response_bytes_max.saturating_sub(total_bytes);
                    let max_bytes = (want.partition_max_bytes.max(0) as u64).min(remaining);
                    // KIP-74: the first batch of the response is returned whole even when
                    // larger than the limits, so a consumer is never stuck behind it.
                    local
                        .read_slice(want.fetch_offset, max_bytes, total_bytes == 0)
                        .map_err(|error| error.error)
                })
        };
        match result {
            Ok(fetched) => {
                total_bytes += fetched.records_bytes();
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
                any_error = true;
                data.error_code = error.code();
                data.high_watermark = -1;
                data.records = Records::default();
            }
        }
        out.push((want.topic_index, data));
    }
    (out, total_bytes, any_error)
}

fn assemble(
    topics: &[(String, TopicId, bool)],
    partitions: Vec<(usize, PartitionReply)>,
) -> Vec<TopicReply> {
    let mut responses: Vec<TopicReply> = topics
        .iter()
        .map(|(name, id, _)| TopicReply {
            topic: TopicName(str_bytes(name)),
            topic_id: id.0,
            partitions: Vec::new(),
        })
        .collect();
    for (topic_index, data) in partitions {
        responses[topic_index].partitions.push(data);
    }
    responses
}
