//! ListOffsets: earliest (-2), latest (-1), max timestamp (-3), earliest local (-4,
//! the same as earliest without tiered storage) and by timestamp; v0's
//! segment-granular `old_style_offsets` in `handle_v0`.

use crate::kafka::security::acl::{AclOperation, ResourceType};
use std::sync::Arc;

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use kafka_protocol::ResponseError;

use crate::kafka::broker::Broker;
use crate::kafka::protocol::legacy::{ListOffsetsV0Partition, ListOffsetsV0Response};
use crate::kafka::replica::Partition;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;

pub fn handle(
    broker: &Arc<Broker>,
    _version: i16,
    request: ListOffsetsRequest,
) -> ListOffsetsResponse {
    let metadata = broker.metadata.current();
    let from_replica = request.replica_id.0 >= 0;
    let mut response = ListOffsetsResponse::default();
    for topic in request.topics {
        let mut topic_response = ListOffsetsTopicResponse::default();
        topic_response.name = topic.name.clone();
        let allowed = broker.authorize(
            AclOperation::Describe,
            ResourceType::Topic,
            topic.name.as_str(),
        );
        for partition in topic.partitions {
            if !allowed {
                let mut refused = ListOffsetsPartitionResponse::default();
                refused.partition_index = partition.partition_index;
                refused.error_code = ResponseError::TopicAuthorizationFailed.code();
                refused.offset = -1;
                refused.timestamp = -1;
                topic_response.partitions.push(refused);
                continue;
            }
            let mut partition_response = ListOffsetsPartitionResponse::default();
            partition_response.partition_index = partition.partition_index;
            let result = broker
                .leader_partition(&metadata, topic.name.as_str(), partition.partition_index)
                .and_then(|(local, _)| {
                    check_leader_epoch(&local, partition.current_leader_epoch)?;
                    if from_replica && partition.timestamp == LATEST {
                        // A follower after OFFSET_OUT_OF_RANGE: Kafka answers replicas
                        // with the log end offset, not the high watermark.
                        let offsets = local.offsets();
                        return Ok(((offsets.log_end_offset, -1), local.leader_epoch()));
                    }
                    lookup(&local, partition.timestamp).map(|found| (found, local.leader_epoch()))
                });
            match result {
                Ok(((offset, timestamp), leader_epoch)) => {
                    partition_response.offset = offset;
                    partition_response.timestamp = timestamp;
                    partition_response.leader_epoch = leader_epoch;
                }
                Err(error) => partition_response.error_code = error.code(),
            }
            topic_response.partitions.push(partition_response);
        }
        response.topics.push(topic_response);
    }
    response
}

/// ListOffsets v0 (Burrow, 0.8-era consumers): segment-granular offsets, newest
/// first, at most `max_num_offsets` per partition.
pub fn handle_v0(
    broker: &Arc<Broker>,
    request: ListOffsetsRequest,
    max_num_offsets: &[Vec<i32>],
) -> ListOffsetsV0Response {
    let metadata = broker.metadata.current();
    let now_ms = broker.now_ms();
    let mut response = ListOffsetsV0Response::default();
    for (topic_index, topic) in request.topics.into_iter().enumerate() {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for (partition_index, partition) in topic.partitions.into_iter().enumerate() {
            let offsets_max = max_num_offsets
                .get(topic_index)
                .and_then(|maxima| maxima.get(partition_index))
                .copied()
                .unwrap_or(1)
                .max(0) as usize;
            let mut partition_response = ListOffsetsV0Partition {
                partition_index: partition.partition_index,
                ..Default::default()
            };
            match broker.leader_partition(&metadata, topic.name.as_str(), partition.partition_index)
            {
                Ok((local, _)) => {
                    partition_response.old_style_offsets =
                        local.legacy_offsets_before(partition.timestamp, offsets_max, now_ms);
                }
                Err(error) => partition_response.error_code = error.code(),
            }
            partitions.push(partition_response);
        }
        response
            .topics
            .push((topic.name.as_str().to_string(), partitions));
    }
    response
}

/// Kafka's epoch fencing: an older epoch than the leader's is fenced, a newer one
/// means this broker has not heard of the new leadership yet.
pub fn check_leader_epoch(
    partition: &Partition,
    requested_epoch: i32,
) -> Result<(), ResponseError> {
    if requested_epoch < 0 {
        return Ok(());
    }
    let current = partition.leader_epoch();
    if requested_epoch < current {
        Err(ResponseError::FencedLeaderEpoch)
    } else if requested_epoch > current {
        Err(ResponseError::UnknownLeaderEpoch)
    } else {
        Ok(())
    }
}

fn lookup(partition: &Partition, timestamp: i64) -> Result<(i64, i64), ResponseError> {
    let offsets = partition.offsets();
    let storage_error = |error: crate::kafka::replica::PartitionError| error.error;
    match timestamp {
        LATEST => Ok((offsets.high_watermark, -1)),
        EARLIEST | EARLIEST_LOCAL => Ok((offsets.log_start_offset, -1)),
        MAX_TIMESTAMP => Ok(partition
            .max_timestamp()
            .map_err(storage_error)?
            .unwrap_or((-1, -1))),
        timestamp if timestamp >= 0 => Ok(partition
            .offset_for_timestamp(timestamp)
            .map_err(storage_error)?
            .unwrap_or((-1, -1))),
        _ => Err(ResponseError::InvalidRequest),
    }
}
