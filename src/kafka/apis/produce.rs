//! Produce: validate each partition's batches and append them on the leader.
//!
//! Produce v0-v2 (message formats v0 and v1) are converted to v2 first (`log::legacy`).
//!
//! acks=1 answers once the batch is in the leader's log; acks=all once the high
//! watermark passed it (every ISR member has it), refused before the append with
//! NOT_ENOUGH_REPLICAS while the ISR is below `min.insync.replicas`; acks=0 gets no
//! response at all, as in Kafka.

use crate::kafka::security::acl::{AclOperation, ResourceType};
use std::sync::Arc;

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::ResponseError;

use super::str_bytes;
use crate::kafka::broker::Broker;
use crate::kafka::log::batch::BatchError;
use crate::kafka::log::legacy;
use crate::kafka::replica::state::Acks;

/// Margin past a produce's `timeout_ms` after which a wait for the ISR is given up
/// even if the replication core never answered it.
const WAIT_GUARD_MS: u64 = 5_000;

/// Produce v0-v2 carry message formats v0/v1: converted to one v2 batch, as Kafka
/// 3.9 converts them for a v2 log. Newer versions must send v2 batches.
fn upgrade_legacy_records(
    version: i16,
    records: &[u8],
) -> Result<Option<Vec<u8>>, (ResponseError, String)> {
    if version > 2 || !matches!(legacy::magic(records), Some(0 | 1)) {
        return Ok(None);
    }
    legacy::convert_to_v2(records).map(Some).map_err(|error| {
        let code = match error {
            BatchError::CrcMismatch { .. } => ResponseError::CorruptMessage,
            _ => ResponseError::InvalidRecord,
        };
        (code, format!("v0/v1 message set: {error}"))
    })
}

/// Records in v2 batches (each batch's last offset delta + 1), as
/// MessagesInPerSec counts them.
fn record_count(records: &[u8]) -> u64 {
    crate::kafka::log::batch::split_batches(records)
        .map_while(Result::ok)
        .map(|(header, _)| header.last_offset_delta.max(0) as u64 + 1)
        .sum()
}

pub async fn handle(
    broker: &Arc<Broker>,
    version: i16,
    request: ProduceRequest,
) -> Option<ProduceResponse> {
    let metadata = broker.metadata.current();
    let now_ms = broker.now_ms();
    let acks_valid = matches!(request.acks, -1..=1);
    let transactional = request.transactional_id.is_some();
    let mut appended = false;
    let acks = if request.acks == -1 {
        Acks::All
    } else {
        Acks::Leader
    };
    let mut waits = Vec::new();
    let mut response = ProduceResponse::default();
    for topic in request.topic_data {
        let name = topic.name.as_str().to_string();
        let mut topic_response = TopicProduceResponse::default();
        topic_response.name = topic.name.clone();
        // Kafka checks WRITE on the topic before anything else about it.
        let topic_allowed = broker.authorize(AclOperation::Write, ResourceType::Topic, &name);
        for partition in topic.partition_data {
            let mut partition_response = PartitionProduceResponse::default();
            partition_response.index = partition.index;
            // (records, bytes) of what was appended, v0/v1 message sets counted
            // after their upgrade to v2 batches.
            let mut counted = (0, 0);
            let outcome = if !acks_valid {
                Err((ResponseError::InvalidRequiredAcks, String::new()))
            } else if !topic_allowed {
                Err((ResponseError::TopicAuthorizationFailed, String::new()))
            } else if transactional {
                Err((
                    ResponseError::TransactionalIdAuthorizationFailed,
                    "transactions are not supported by keel yet".to_string(),
                ))
            } else {
                broker
                    .leader_partition(&metadata, &name, partition.index)
                    .map_err(|error| (error, String::new()))
                    .and_then(|(local, limits)| {
                        let records = partition.records.as_deref().unwrap_or(&[]);
                        let converted = upgrade_legacy_records(version, records)?;
                        let records = converted.as_deref().unwrap_or(records);
                        counted = (record_count(records), records.len() as u64);
                        let may_block = local.append_may_block(records.len() as u64, now_ms);
                        crate::kafka::disk::blocking_if(may_block, || {
                            local.append_from_client_with_acks(
                                records,
                                limits,
                                now_ms,
                                acks,
                                request.timeout_ms.max(0) as i64,
                            )
                        })
                        .map_err(|error| (error.error, error.message))
                    })
            };
            broker
                .metrics
                .record_produce(&name, outcome.is_ok().then_some(counted));
            match outcome {
                Ok((outcome, wait)) => {
                    appended = true;
                    if let Some(wait) = wait {
                        waits.push((
                            response.responses.len(),
                            topic_response.partition_responses.len(),
                            wait,
                        ));
                    }
                    partition_response.base_offset = outcome.base_offset;
                    partition_response.log_append_time_ms = outcome.log_append_time_ms;
                    partition_response.log_start_offset = outcome.log_start_offset;
                }
                Err((error, message)) => {
                    if !message.is_empty() {
                        tracing::debug!(topic = %name, partition = partition.index, %message, "produce refused");
                    }
                    partition_response.error_code = error.code();
                    partition_response.base_offset = -1;
                    partition_response.log_start_offset = -1;
                    if version >= 8 && !message.is_empty() {
                        partition_response.error_message = Some(str_bytes(&message));
                    }
                }
            }
            topic_response.partition_responses.push(partition_response);
        }
        response.responses.push(topic_response);
    }
    if appended {
        broker.notify_append();
    }
    // acks=all: answer once the ISR has every batch (Kafka's DelayedProduce). The
    // replication core completes or times out each wait; the extra margin only
    // guards against a partition dropped meanwhile.
    let guard_ms = request.timeout_ms.max(0) as u64 + WAIT_GUARD_MS;
    for (topic_index, partition_index, wait) in waits {
        let result = tokio::time::timeout(std::time::Duration::from_millis(guard_ms), wait).await;
        let error = match result {
            Ok(Ok(Ok(()))) => continue,
            Ok(Ok(Err(error))) => error.response_error(),
            Ok(Err(_)) => ResponseError::NotLeaderOrFollower,
            Err(_) => ResponseError::RequestTimedOut,
        };
        let partition_response =
            &mut response.responses[topic_index].partition_responses[partition_index];
        partition_response.error_code = error.code();
        if error != ResponseError::NotEnoughReplicasAfterAppend {
            partition_response.base_offset = -1;
            partition_response.log_start_offset = -1;
        }
    }
    (request.acks != 0).then_some(response)
}
