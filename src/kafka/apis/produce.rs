//! Produce: validate each partition's batches and append them on the leader.
//!
//! Produce v0-v2 (message formats v0 and v1) are converted to v2 first (`log::legacy`).
//!
//! acks=1 and acks=all answer once the batch is in the leader's log (with one
//! replica, the whole ISR); acks=0 gets no response at all, as in Kafka.

use std::sync::Arc;

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::ResponseError;

use super::str_bytes;
use crate::kafka::broker::Broker;
use crate::kafka::log::batch::BatchError;
use crate::kafka::log::legacy;

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
    let mut response = ProduceResponse::default();
    for topic in request.topic_data {
        let name = topic.name.as_str().to_string();
        let mut topic_response = TopicProduceResponse::default();
        topic_response.name = topic.name.clone();
        for partition in topic.partition_data {
            let mut partition_response = PartitionProduceResponse::default();
            partition_response.index = partition.index;
            let outcome = if !acks_valid {
                Err((ResponseError::InvalidRequiredAcks, String::new()))
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
                        local
                            .append_from_client(
                                converted.as_deref().unwrap_or(records),
                                limits,
                                now_ms,
                            )
                            .map_err(|error| (error.error, error.message))
                    })
            };
            match outcome {
                Ok(outcome) => {
                    appended = true;
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
    (request.acks != 0).then_some(response)
}
