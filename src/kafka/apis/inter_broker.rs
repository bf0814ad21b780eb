//! The requests brokers send each other in a ZooKeeper-mode cluster, as an Apache
//! 3.9 broker answers them: LeaderAndIsr, UpdateMetadata and StopReplica from the
//! controller (fenced by controller epoch and broker epoch, `KafkaApis` /
//! `ReplicaManager.becomeLeaderOrFollower` / `stopReplicas`), and AlterPartition and
//! ControlledShutdown for the controller role (`MetadataStore`).

use crate::kafka::security::acl::AclOperation;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::kafka::broker::Broker;
use crate::kafka::log::checkpoint::TopicPartition;
use crate::kafka::metadata::{BrokerId, Endpoint, TopicId};
use crate::kafka::protocol::inter_broker::leader_and_isr::{
    LeaderAndIsrPartitionError, LeaderAndIsrTopicError,
};
use crate::kafka::protocol::inter_broker::stop_replica::StopReplicaPartitionError;
use crate::kafka::protocol::inter_broker::{
    InterBrokerRequest, InterBrokerResponse, LeaderAndIsrRequest, LeaderAndIsrResponse,
    StopReplicaRequest, StopReplicaResponse, UpdateMetadataRequest, UpdateMetadataResponse,
};
use crate::kafka::replica::state::{PartitionState, TransitionRefused};
use crate::kafka::replica::ReplicaRole;

/// Kafka's error codes answered here.
const NONE: i16 = 0;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const STALE_CONTROLLER_EPOCH: i16 = 11;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const KAFKA_STORAGE_ERROR: i16 = 56;
const FENCED_LEADER_EPOCH: i16 = 74;
/// StopReplica's `LeaderEpoch` while the topic is being deleted / without a check.
const EPOCH_DURING_DELETE: i32 = -2;
const NO_EPOCH: i32 = -1;

pub async fn handle(
    broker: &Arc<Broker>,
    request: InterBrokerRequest,
    version: i16,
) -> InterBrokerResponse {
    // Kafka's `authorizeClusterOperation(CLUSTER_ACTION)`: only brokers (a super
    // user, or a principal granted ClusterAction) may drive replicas.
    if !broker.authorize_cluster(AclOperation::ClusterAction) {
        const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
        return match request {
            InterBrokerRequest::LeaderAndIsr(_) => {
                InterBrokerResponse::LeaderAndIsr(LeaderAndIsrResponse {
                    error_code: CLUSTER_AUTHORIZATION_FAILED,
                    ..Default::default()
                })
            }
            InterBrokerRequest::UpdateMetadata(_) => {
                InterBrokerResponse::UpdateMetadata(UpdateMetadataResponse {
                    error_code: CLUSTER_AUTHORIZATION_FAILED,
                    ..Default::default()
                })
            }
            InterBrokerRequest::StopReplica(_) => {
                InterBrokerResponse::StopReplica(StopReplicaResponse {
                    error_code: CLUSTER_AUTHORIZATION_FAILED,
                    ..Default::default()
                })
            }
            InterBrokerRequest::AlterPartition(_) => InterBrokerResponse::AlterPartition(
                crate::kafka::protocol::inter_broker::AlterPartitionResponse {
                    error_code: CLUSTER_AUTHORIZATION_FAILED,
                    ..Default::default()
                },
            ),
            InterBrokerRequest::ControlledShutdown(_) => InterBrokerResponse::ControlledShutdown(
                crate::kafka::protocol::inter_broker::ControlledShutdownResponse {
                    error_code: CLUSTER_AUTHORIZATION_FAILED,
                    ..Default::default()
                },
            ),
        };
    }
    match request {
        InterBrokerRequest::LeaderAndIsr(body) => {
            InterBrokerResponse::LeaderAndIsr(leader_and_isr(broker, body, version))
        }
        InterBrokerRequest::UpdateMetadata(body) => {
            InterBrokerResponse::UpdateMetadata(update_metadata(broker, body))
        }
        InterBrokerRequest::StopReplica(body) => {
            InterBrokerResponse::StopReplica(stop_replica(broker, body))
        }
        InterBrokerRequest::AlterPartition(body) => {
            InterBrokerResponse::AlterPartition(broker.metadata.alter_partition(body).await)
        }
        InterBrokerRequest::ControlledShutdown(body) => {
            InterBrokerResponse::ControlledShutdown(broker.metadata.controlled_shutdown(body).await)
        }
    }
}

fn leader_and_isr(
    broker: &Arc<Broker>,
    request: LeaderAndIsrRequest,
    version: i16,
) -> LeaderAndIsrResponse {
    let mut response = LeaderAndIsrResponse::default();
    if let Err(refusal) = broker.replicas.check_control_request(
        request.controller_id,
        request.controller_epoch,
        request.broker_epoch,
        broker.metadata.broker_epoch(),
    ) {
        tracing::warn!(controller = %request.controller_id, controller_epoch = request.controller_epoch, broker_epoch = request.broker_epoch, ?refusal, "LeaderAndIsr refused");
        response.error_code = refusal.code();
        return response;
    }
    broker.replicas.mark_driven_by_controller();
    let now_ms = broker.now_ms();
    let live = broker.replicas.live_broker_ids();
    let mut leaders_to_fetch = BTreeSet::new();
    let mut by_topic: BTreeMap<(String, TopicId), Vec<LeaderAndIsrPartitionError>> =
        BTreeMap::new();
    for (topic, topic_id, state) in request.partitions() {
        let tp = TopicPartition::new(topic, state.partition_index);
        let core_state = PartitionState {
            leader: (state.leader.0 >= 0).then_some(state.leader),
            leader_epoch: state.leader_epoch,
            isr: state.isr.clone(),
            partition_epoch: state.partition_epoch,
            replicas: state.replicas.clone(),
        };
        let error_code = if let Err(why) = crate::kafka::metadata::validate_topic_name(topic) {
            // The name becomes a directory name: a peer must not steer it out of the
            // log dir ("../x") or make a name Kafka itself would refuse.
            tracing::warn!(controller = %request.controller_id, %why, "LeaderAndIsr for an illegal topic name refused");
            INVALID_TOPIC_EXCEPTION
        } else if state.partition_index < 0 {
            tracing::warn!(controller = %request.controller_id, topic, partition = state.partition_index, "LeaderAndIsr for a negative partition refused");
            UNKNOWN_TOPIC_OR_PARTITION
        } else if !state.replicas.contains(&broker.id) {
            UNKNOWN_TOPIC_OR_PARTITION
        } else {
            // A replica added back (by a reassignment) after StopReplica(delete).
            broker.mark_deleted_by_controller(&tp, false);
            match broker.open_partition(&tp, topic_id) {
                None => KAFKA_STORAGE_ERROR,
                Some((partition, min_isr)) => {
                    let result =
                        partition.apply_leader_and_isr(now_ms, &core_state, min_isr, live.clone());
                    match result {
                        Ok(()) => {
                            match partition.role() {
                                ReplicaRole::Follower { leader, .. } => {
                                    leaders_to_fetch.insert(leader);
                                }
                                ReplicaRole::Leader { .. } => broker.notify_append(),
                                ReplicaRole::Offline => {}
                            }
                            tracing::info!(partition = %tp.dir_name(), leader = state.leader.0, leader_epoch = state.leader_epoch, isr = ?state.isr, "applied LeaderAndIsr");
                            NONE
                        }
                        Err(TransitionRefused::NotAReplica) => UNKNOWN_TOPIC_OR_PARTITION,
                        Err(TransitionRefused::StaleLeaderEpoch)
                        | Err(TransitionRefused::StalePartitionEpoch) => {
                            tracing::debug!(partition = %tp.dir_name(), leader_epoch = state.leader_epoch, "LeaderAndIsr with a leader epoch already applied; ignored");
                            STALE_CONTROLLER_EPOCH
                        }
                        // No live leader: the log exists, nothing to follow yet.
                        Err(TransitionRefused::WrongRole) => NONE,
                    }
                }
            }
        };
        by_topic
            .entry((topic.to_string(), topic_id))
            .or_default()
            .push(LeaderAndIsrPartitionError {
                topic_name: topic.to_string(),
                partition_index: state.partition_index,
                error_code,
                ..Default::default()
            });
    }
    for leader in leaders_to_fetch {
        broker.replicas.ensure_fetcher(broker, leader);
    }
    for ((_, topic_id), errors) in by_topic {
        if version >= 5 {
            response.topics.push(LeaderAndIsrTopicError {
                topic_id,
                partition_errors: errors,
                ..Default::default()
            });
        } else {
            response.partition_errors.extend(errors);
        }
    }
    response
}

fn update_metadata(broker: &Arc<Broker>, request: UpdateMetadataRequest) -> UpdateMetadataResponse {
    if let Err(refusal) = broker.replicas.check_control_request(
        request.controller_id,
        request.controller_epoch,
        request.broker_epoch,
        broker.metadata.broker_epoch(),
    ) {
        tracing::warn!(controller = %request.controller_id, controller_epoch = request.controller_epoch, ?refusal, "UpdateMetadata refused");
        return UpdateMetadataResponse {
            error_code: refusal.code(),
            ..Default::default()
        };
    }
    let live: BTreeMap<BrokerId, Vec<Endpoint>> = request
        .live_brokers
        .iter()
        .map(|live_broker| {
            let endpoints = live_broker
                .endpoints
                .iter()
                .map(|endpoint| Endpoint {
                    listener: endpoint.listener.clone(),
                    host: endpoint.host.clone(),
                    port: endpoint.port.clamp(0, u16::MAX as i32) as u16,
                })
                .collect();
            (live_broker.id, endpoints)
        })
        .collect();
    let ids: BTreeSet<BrokerId> = live.keys().copied().collect();
    broker.replicas.set_live_brokers(live);
    for partition in broker.logs.all() {
        partition.set_live_brokers(ids.clone());
    }
    UpdateMetadataResponse::default()
}

fn stop_replica(broker: &Arc<Broker>, request: StopReplicaRequest) -> StopReplicaResponse {
    let mut response = StopReplicaResponse::default();
    if let Err(refusal) = broker.replicas.check_control_request(
        request.controller_id,
        request.controller_epoch,
        request.broker_epoch,
        broker.metadata.broker_epoch(),
    ) {
        tracing::warn!(controller = %request.controller_id, controller_epoch = request.controller_epoch, ?refusal, "StopReplica refused");
        response.error_code = refusal.code();
        return response;
    }
    for stop in request.partitions() {
        let tp = TopicPartition::new(stop.topic_name, stop.partition_index);
        let mut error_code = NONE;
        if let Some(partition) = broker.logs.get(&tp) {
            let current = partition.leader_epoch();
            let accepted = stop.leader_epoch == EPOCH_DURING_DELETE
                || stop.leader_epoch == NO_EPOCH
                || stop.leader_epoch >= current;
            if !accepted {
                error_code = FENCED_LEADER_EPOCH;
            } else {
                partition.stop_replica();
                if stop.delete_partition {
                    drop(partition);
                    if let Err(error) = broker.logs.delete(&tp) {
                        tracing::warn!(partition = %tp.dir_name(), %error, "StopReplica could not delete the log");
                        error_code = KAFKA_STORAGE_ERROR;
                    } else {
                        broker.mark_deleted_by_controller(&tp, true);
                        tracing::info!(partition = %tp.dir_name(), "StopReplica deleted the partition");
                    }
                } else {
                    tracing::info!(partition = %tp.dir_name(), "StopReplica stopped the replica");
                }
            }
        }
        response.partition_errors.push(StopReplicaPartitionError {
            topic_name: stop.topic_name.to_string(),
            partition_index: stop.partition_index,
            error_code,
            ..Default::default()
        });
    }
    response
}
