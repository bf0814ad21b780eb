//! InitProducerId for idempotent producers (Java producers enable idempotence by
//! default since 3.0), and OffsetForLeaderEpoch, which consumers use to validate
//! their position after a leader change.
//!
//! Producer ids come in blocks claimed through the MetadataStore
//! (`/latest_producer_id_block`), so ids stay unique across brokers and restarts.
//! Transactions are not supported yet: a transactional id is refused.

use crate::kafka::security::acl::{AclOperation, ResourceType, CLUSTER_NAME};
use std::sync::Arc;

use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::list_offsets::check_leader_epoch;
use crate::kafka::broker::Broker;

/// The next unused producer id and the last id of the claimed block.
#[derive(Debug)]
pub struct ProducerIdBlock {
    next: i64,
    last: i64,
}

impl ProducerIdBlock {
    /// A fresh `ProducerIdBlock::default()` is empty (next 0 > last -1).
    pub fn empty() -> ProducerIdBlock {
        ProducerIdBlock { next: 0, last: -1 }
    }

    fn take(&mut self) -> Option<i64> {
        (self.next <= self.last).then(|| {
            let id = self.next;
            self.next += 1;
            id
        })
    }
}

pub async fn init_producer_id(
    broker: &Arc<Broker>,
    request: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let mut response = InitProducerIdResponse::default();
    match request.transactional_id.as_ref().map(|id| id.0.as_str()) {
        None => {}
        // Kafka refuses an empty transactional id outright.
        Some("") => {
            response.error_code = ResponseError::InvalidRequest.code();
            return response;
        }
        Some(_) => {
            response.error_code = ResponseError::TransactionalIdAuthorizationFailed.code();
            return response;
        }
    }
    // An idempotent producer needs IDEMPOTENT_WRITE on the cluster, or (KIP-679)
    // WRITE on some topic.
    if !broker.authorize_quietly(
        AclOperation::IdempotentWrite,
        ResourceType::Cluster,
        CLUSTER_NAME,
    ) && !broker.authorize_by_resource_type(AclOperation::Write, ResourceType::Topic)
    {
        response.error_code = ResponseError::ClusterAuthorizationFailed.code();
        response.producer_id = (-1).into();
        response.producer_epoch = -1;
        return response;
    }
    // KIP-360: an idempotent producer may ask to bump its epoch after an error.
    if request.producer_id.0 >= 0
        && request.producer_epoch >= 0
        && request.producer_epoch < i16::MAX - 1
    {
        response.producer_id = request.producer_id;
        response.producer_epoch = request.producer_epoch + 1;
        return response;
    }
    match next_producer_id(broker).await {
        Ok(id) => {
            response.producer_id = id.into();
            response.producer_epoch = 0;
        }
        Err(error) => {
            tracing::warn!(%error, "cannot allocate a producer id");
            response.error_code = ResponseError::CoordinatorNotAvailable.code();
            response.producer_id = (-1).into();
            response.producer_epoch = -1;
        }
    }
    response
}

async fn next_producer_id(
    broker: &Arc<Broker>,
) -> Result<i64, crate::kafka::metadata::MetadataError> {
    if let Some(id) = lock_block(broker).take() {
        return Ok(id);
    }
    let (first, last) = broker.metadata.allocate_producer_ids().await?;
    let mut block = lock_block(broker);
    // Another request may have refilled the block meanwhile: use what is there first
    // (never panic under the lock: a poisoned block would fail every later
    // InitProducerId on this broker).
    if let Some(id) = block.take() {
        return Ok(id);
    }
    *block = ProducerIdBlock { next: first, last };
    block
        .take()
        .ok_or_else(|| crate::kafka::metadata::MetadataError {
            code: ResponseError::CoordinatorNotAvailable.code(),
            message: format!(
                "the controller handed out an empty producer id block {first}..{last}"
            ),
        })
}

/// The broker's policy for its mutexes: every critical section leaves the data
/// consistent at each return, so a panic elsewhere does not make it unusable.
fn lock_block(broker: &Broker) -> std::sync::MutexGuard<'_, ProducerIdBlock> {
    broker
        .producer_ids
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn offset_for_leader_epoch(
    broker: &Arc<Broker>,
    request: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let metadata = broker.metadata.current();
    let mut response = OffsetForLeaderEpochResponse::default();
    // A broker (CLUSTER_ACTION) may ask about any topic; a client needs DESCRIBE.
    let cluster_action = broker.authorize_quietly(
        AclOperation::ClusterAction,
        ResourceType::Cluster,
        crate::kafka::security::acl::CLUSTER_NAME,
    );
    for topic in request.topics {
        let mut topic_result = OffsetForLeaderTopicResult::default();
        topic_result.topic = topic.topic.clone();
        let allowed = cluster_action
            || broker.authorize(
                AclOperation::Describe,
                ResourceType::Topic,
                topic.topic.as_str(),
            );
        for partition in topic.partitions {
            let mut result = EpochEndOffset::default();
            result.partition = partition.partition;
            let outcome = if !allowed {
                Err(ResponseError::TopicAuthorizationFailed)
            } else {
                broker
                    .leader_partition(&metadata, topic.topic.as_str(), partition.partition)
                    .and_then(|(local, _)| {
                        check_leader_epoch(&local, partition.current_leader_epoch)?;
                        Ok(local.end_offset_for_epoch(partition.leader_epoch))
                    })
            };
            match outcome {
                Ok(Some((epoch, end_offset))) => {
                    result.leader_epoch = epoch;
                    result.end_offset = end_offset;
                }
                Ok(None) => {
                    result.leader_epoch = -1;
                    result.end_offset = -1;
                }
                Err(error) => {
                    result.error_code = error.code();
                    result.leader_epoch = -1;
                    result.end_offset = -1;
                }
            }
            topic_result.partitions.push(result);
        }
        response.topics.push(topic_result);
    }
    response
}
