//! Requests the controller role answers over the Kafka protocol's own codec:
//! AllocateProducerIds (key 67), which Apache brokers at IBP >= 3.0 send to the
//! active controller for blocks of producer ids
//! (`KafkaController.processAllocateProducerIds`), ElectLeaders (key 43), which
//! the admin client (`kafka-leader-election`) sends to the controller, and
//! AlterPartitionReassignments (key 45) / ListPartitionReassignments (key 46)
//! (KIP-455; other brokers answer NOT_CONTROLLER, as Apache 3.9 in ZooKeeper mode
//! does). AlterPartition and ControlledShutdown use the inter-broker codecs and
//! `MetadataStore` directly.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{
    AllocateProducerIdsRequest, AllocateProducerIdsResponse, AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse, ElectLeadersRequest, ElectLeadersResponse,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, ProducerId, TopicName,
};

use super::str_bytes;
use crate::kafka::broker::Broker;
use crate::kafka::controller::rpcs::errors;
use crate::kafka::metadata::{BrokerId, ElectionOutcome, ElectionType, PartitionName};

/// Kafka's REQUEST_TIMED_OUT, for elections written but not yet seen in the metadata.
const REQUEST_TIMED_OUT: i16 = 7;
/// Kafka's INVALID_REQUEST, for an election type it does not know.
const INVALID_REQUEST: i16 = 42;
/// The longest wait for elected leaders to show in this broker's metadata, whatever
/// the request's `TimeoutMs` says.
const ELECTION_WAIT_MS_MAX: u64 = 300_000;

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

/// `KafkaApis.handleElectLeaders` (ZooKeeper mode): a null partition list means every
/// partition this broker knows, and then only partitions that needed an election are
/// reported; the controller decides (`MetadataStore::elect_leaders`), and the answer
/// waits, up to the request's timeout, until this broker's metadata shows the new
/// leaders (`DelayedElectLeader`); those still missing get REQUEST_TIMED_OUT.
pub async fn elect_leaders(
    broker: &Arc<Broker>,
    version: i16,
    request: ElectLeadersRequest,
) -> ElectLeadersResponse {
    // v0 has no election type: always preferred.
    let election_type = if version == 0 {
        Some(ElectionType::Preferred)
    } else {
        ElectionType::from_wire(request.election_type)
    };
    let all = request.topic_partitions.is_none();
    let partitions: Vec<PartitionName> = match &request.topic_partitions {
        Some(topics) => topics
            .iter()
            .flat_map(|topic| {
                topic
                    .partitions
                    .iter()
                    .map(|partition| (topic.topic.to_string(), *partition))
            })
            .collect(),
        None => broker
            .metadata
            .current()
            .topics
            .values()
            .flat_map(|topic| {
                topic
                    .partitions
                    .keys()
                    .map(|partition| (topic.name.clone(), *partition))
            })
            .collect(),
    };
    let Some(election_type) = election_type else {
        let outcomes = partitions
            .into_iter()
            .map(|partition| {
                let message = format!("unknown election type {}", request.election_type);
                (partition, Err((INVALID_REQUEST, Some(message))))
            })
            .collect();
        return election_response(outcomes, all);
    };
    let mut outcomes = broker
        .metadata
        .elect_leaders(election_type, partitions)
        .await;
    let timeout_ms = u64::try_from(request.timeout_ms)
        .unwrap_or(0)
        .min(ELECTION_WAIT_MS_MAX);
    let mut metadata = broker.metadata.subscribe();
    let shown = |outcomes: &[ElectionOutcome]| {
        let current = broker.metadata.current();
        outcomes
            .iter()
            .all(|((topic, partition), outcome)| match outcome {
                Ok(leader) => current
                    .topics
                    .get(topic)
                    .and_then(|topic| topic.partitions.get(partition))
                    .is_some_and(|state| state.leader == Some(*leader)),
                Err(_) => true,
            })
    };
    let waited = tokio::time::timeout(Duration::from_millis(timeout_ms), async {
        while !shown(&outcomes) {
            if metadata.changed().await.is_err() {
                break;
            }
        }
    })
    .await;
    if waited.is_err() {
        let current = broker.metadata.current();
        for ((topic, partition), outcome) in &mut outcomes {
            if let Ok(leader) = outcome {
                let seen = current
                    .topics
                    .get(topic.as_str())
                    .and_then(|topic| topic.partitions.get(partition))
                    .is_some_and(|state| state.leader == Some(*leader));
                if !seen {
                    *outcome = Err((REQUEST_TIMED_OUT, None));
                }
            }
        }
    }
    election_response(outcomes, all)
}

/// Groups the outcomes by topic, leaving out ELECTION_NOT_NEEDED when every partition
/// was asked for, as Kafka does.
fn election_response(outcomes: Vec<ElectionOutcome>, all: bool) -> ElectLeadersResponse {
    let mut by_topic: BTreeMap<String, Vec<PartitionResult>> = BTreeMap::new();
    for ((topic, partition), outcome) in outcomes {
        let (error_code, error_message) = match outcome {
            Ok(_) => (errors::NONE, None),
            Err((code, message)) => (code, message),
        };
        if all && error_code == errors::ELECTION_NOT_NEEDED {
            continue;
        }
        by_topic.entry(topic).or_default().push(
            PartitionResult::default()
                .with_partition_id(partition)
                .with_error_code(error_code)
                .with_error_message(error_message.as_deref().map(str_bytes)),
        );
    }
    ElectLeadersResponse::default()
        .with_error_code(errors::NONE)
        .with_replica_election_results(
            by_topic
                .into_iter()
                .map(|(topic, partition_result)| {
                    ReplicaElectionResult::default()
                        .with_topic(TopicName(str_bytes(&topic)))
                        .with_partition_result(partition_result)
                })
                .collect(),
        )
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
