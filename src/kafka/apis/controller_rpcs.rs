//! Broker-to-controller requests the controller role answers over the Kafka
//! protocol's own codec: AllocateProducerIds (key 67), which Apache brokers at
//! IBP >= 3.0 send to the active controller for blocks of producer ids
//! (`KafkaController.processAllocateProducerIds`); AlterPartitionReassignments
//! (key 45) and ListPartitionReassignments (key 46), which admin clients send to the
//! controller (KIP-455; other brokers answer NOT_CONTROLLER, as Apache 3.9 in
//! ZooKeeper mode does). AlterPartition and ControlledShutdown use the
//! inter-broker codecs and `MetadataStore` directly.

use std::sync::Arc;

use kafka_protocol::messages::{
    AllocateProducerIdsRequest, AllocateProducerIdsResponse, AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse, ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse, ProducerId,
};

use crate::kafka::broker::Broker;
use crate::kafka::controller::rpcs::errors;
use crate::kafka::metadata::BrokerId;

/// NOT_CONTROLLER unless this broker holds `/controller`; BROKER_ID_NOT_REGISTERED
/// for a broker without a registration; else a fresh block from
/// `/latest_producer_id_block`. Apache also requires the request's broker epoch to
/// equal the registration's czxid; the `MetadataStore` picture carries no epochs,
/// so that check is left out here.
pub async fn allocate_producer_ids(
    broker: &Arc<Broker>,
    request: AllocateProducerIdsRequest,
) -> AllocateProducerIdsResponse {
    let answer =
        |error_code: i16| AllocateProducerIdsResponse::default().with_error_code(error_code);
    let metadata = broker.metadata.current();
    if metadata.controller_id != Some(broker.id) {
        return answer(errors::NOT_CONTROLLER);
    }
    let requester = BrokerId(request.broker_id.0);
    if !metadata.brokers.contains_key(&requester) {
        tracing::warn!(broker = %requester, "ignoring AllocateProducerIds from an unregistered broker");
        return answer(errors::BROKER_ID_NOT_REGISTERED);
    }
    match broker.metadata.allocate_producer_ids().await {
        Ok((first, last)) => AllocateProducerIdsResponse::default()
            .with_producer_id_start(ProducerId(first))
            .with_producer_id_len((last - first + 1) as i32),
        Err(error) => {
            tracing::warn!(%error, broker = %requester, "allocating a producer id block failed");
            answer(error.code)
        }
    }
}

/// Answered by the controller role through the metadata store (the driver task
/// owns the assignments).
pub async fn alter_partition_reassignments(
    broker: &Arc<Broker>,
    request: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    broker.metadata.alter_partition_reassignments(request).await
}

pub async fn list_partition_reassignments(
    broker: &Arc<Broker>,
    request: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    broker.metadata.list_partition_reassignments(request).await
}
