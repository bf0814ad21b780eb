//! The cluster metadata the broker serves from: brokers, topics, partitions, configs.
//!
//! Its source of truth is ZooKeeper, in Kafka's own znode layout (see
//! `controller`); this module is only the in-memory picture and the handle through
//! which request handlers read it and ask for changes. A handler never talks to
//! ZooKeeper itself.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::kafka::protocol::inter_broker::{
    AlterPartitionRequest, AlterPartitionResponse, ControlledShutdownRequest,
    ControlledShutdownResponse,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
};
use uuid::Uuid;

pub use crate::kafka::config::BrokerId;

/// A topic's id (KIP-516), stored as `topic_id` in `/brokers/topics/<topic>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicId(pub Uuid);

impl TopicId {
    pub const ZERO: TopicId = TopicId(Uuid::nil());
}

impl std::fmt::Display for TopicId {
    /// Kafka's `Uuid.toString`: URL-safe base64 without padding, as in znodes and
    /// `partition.metadata`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::kafka::controller::zk_layout::uuid_to_kafka_string(
            self.0,
        ))
    }
}

/// A listener as a broker registered it in `/brokers/ids/<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub listener: String,
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRegistration {
    pub id: BrokerId,
    pub endpoints: Vec<Endpoint>,
    pub rack: Option<String>,
}

/// `/brokers/topics/<topic>/partitions/<p>/state` plus the assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    /// Assigned replicas, preferred leader first.
    pub replicas: Vec<BrokerId>,
    /// `None` while no replica can lead (Kafka's leader -1).
    pub leader: Option<BrokerId>,
    pub leader_epoch: i32,
    pub isr: Vec<BrokerId>,
    /// The znode's version: the partition epoch a leader must present to change it.
    pub zk_version: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    pub name: String,
    pub id: TopicId,
    /// By partition index, 0..n.
    pub partitions: BTreeMap<i32, PartitionState>,
    /// Topic-level overrides from `/config/topics/<topic>` (broker defaults apply to the rest).
    pub configs: BTreeMap<String, String>,
    /// Listed under `/admin/delete_topics`: no longer served, about to go.
    pub marked_for_deletion: bool,
}

/// One consistent picture of the cluster, replaced whole on every change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterMetadata {
    pub cluster_id: String,
    pub controller_id: Option<BrokerId>,
    pub brokers: BTreeMap<BrokerId, BrokerRegistration>,
    pub topics: BTreeMap<String, TopicMetadata>,
    /// Dynamic broker configs: key `None` for cluster-wide defaults (`/config/brokers/<default>`).
    pub broker_configs: BTreeMap<Option<BrokerId>, BTreeMap<String, String>>,
    /// Kafka's ACLs (`/kafka-acl*`), read only when this broker has an authorizer.
    pub acls: Arc<crate::kafka::security::acl::AclTable>,
    /// User and client-id byte-rate quotas (`/config/users`, `/config/clients`).
    pub quotas: Arc<crate::kafka::quota::QuotaTable>,
}

impl ClusterMetadata {
    pub fn topic_by_id(&self, id: TopicId) -> Option<&TopicMetadata> {
        self.topics.values().find(|topic| topic.id == id)
    }
}

/// An error a metadata change is refused with, as a Kafka error code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (error code {code})")]
pub struct MetadataError {
    pub code: i16,
    pub message: String,
}

/// What a CreateTopics (or an auto-create) asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    pub name: String,
    /// -1: the broker's `num.partitions`.
    pub partitions: i32,
    /// -1: the broker's `default.replication.factor`.
    pub replication_factor: i16,
    /// Explicit replica assignment by partition, instead of counts.
    pub assignments: BTreeMap<i32, Vec<BrokerId>>,
    pub configs: BTreeMap<String, String>,
}

/// How handlers read the metadata and ask for changes. Implemented by the
/// ZooKeeper-backed controller; cheap to clone.
pub trait MetadataStore: Send + Sync + 'static {
    /// The latest picture.
    fn current(&self) -> Arc<ClusterMetadata>;

    /// A receiver woken on every change (for handlers that wait, e.g. CreateTopics
    /// waiting for leaders).
    fn subscribe(&self) -> tokio::sync::watch::Receiver<Arc<ClusterMetadata>>;

    /// Validates (and unless `validate_only`, writes) a new topic, as AdminZkClient
    /// does; returns once it is written, not once it has leaders.
    fn create_topic(
        &self,
        topic: NewTopic,
        validate_only: bool,
    ) -> BoxFuture<Result<(), MetadataError>>;

    /// Marks a topic for deletion (`/admin/delete_topics/<topic>`).
    fn delete_topic(&self, name: String) -> BoxFuture<Result<(), MetadataError>>;

    /// Grows a topic to `total` partitions.
    fn create_partitions(
        &self,
        name: String,
        total: i32,
        assignments: Option<Vec<Vec<BrokerId>>>,
        validate_only: bool,
    ) -> BoxFuture<Result<(), MetadataError>>;

    /// Replaces a topic's config overrides and notifies every broker
    /// (`/config/topics/<topic>` and a `/config/changes` notification).
    fn set_topic_configs(
        &self,
        name: String,
        configs: BTreeMap<String, String>,
    ) -> BoxFuture<Result<(), MetadataError>>;

    /// Replaces dynamic broker configs (`None`: the cluster-wide default).
    fn set_broker_configs(
        &self,
        broker: Option<BrokerId>,
        configs: BTreeMap<String, String>,
    ) -> BoxFuture<Result<(), MetadataError>>;

    /// Claims the next block of producer ids (`/latest_producer_id_block`): returns
    /// the first and last id of the block.
    fn allocate_producer_ids(&self) -> BoxFuture<Result<(i64, i64), MetadataError>>;

    /// OffsetCommit v0's store (`KafkaZkClient.setOrCreateConsumerOffset`): the
    /// offset as decimal text at `/consumers/<group>/offsets/<topic>/<partition>`,
    /// where 0.8-era consumers and their monitors (Burrow's `kafka_zk`) read it.
    fn set_zk_consumer_offset(
        &self,
        _group: String,
        _topic: String,
        _partition: i32,
        _offset: i64,
    ) -> BoxFuture<Result<(), MetadataError>> {
        Box::pin(async move { Err(no_zookeeper_offsets()) })
    }

    /// OffsetFetch v0's read of what `set_zk_consumer_offset` wrote; `None` when no
    /// offset is stored.
    fn zk_consumer_offset(
        &self,
        _group: String,
        _topic: String,
        _partition: i32,
    ) -> BoxFuture<Result<Option<i64>, MetadataError>> {
        Box::pin(async move { Err(no_zookeeper_offsets()) })
    }

    /// A user's entity config (`/config/users/<sanitized user>`), where Kafka keeps
    /// SCRAM credentials; `None` when the user has none.
    fn user_config(
        &self,
        _user: String,
    ) -> BoxFuture<Result<Option<BTreeMap<String, String>>, MetadataError>> {
        Box::pin(async move { Ok(None) })
    }

    /// Every user with an entity config, by user name (desanitized).
    fn user_configs(&self) -> BoxFuture<Result<EntityConfigs, MetadataError>> {
        Box::pin(async move { Ok(BTreeMap::new()) })
    }

    /// The entity configs under `/config/<kind>` (`users`, `clients`, `ips`) by their
    /// sanitized names; for `users` also each user's `<user>/clients/<client>`.
    fn config_entities(
        &self,
        _kind: &'static str,
    ) -> BoxFuture<Result<EntityConfigs, MetadataError>> {
        Box::pin(async move { Ok(BTreeMap::new()) })
    }

    /// One entity config (`/config/<config_type>/<sanitized path>`), empty when it
    /// has none.
    fn entity_config(
        &self,
        _config_type: &'static str,
        _path: String,
    ) -> BoxFuture<Result<BTreeMap<String, String>, MetadataError>> {
        Box::pin(async move { Ok(BTreeMap::new()) })
    }

    /// Replaces an entity config and notifies every broker (`<config_type>/<path>`).
    fn set_entity_config(
        &self,
        _config_type: &'static str,
        _path: String,
        _configs: BTreeMap<String, String>,
    ) -> BoxFuture<Result<(), MetadataError>> {
        Box::pin(async move { Err(no_zookeeper_offsets()) })
    }

    /// Replaces a user's entity config and notifies every broker (`users/<user>`).
    fn set_user_config(
        &self,
        _user: String,
        _configs: BTreeMap<String, String>,
    ) -> BoxFuture<Result<(), MetadataError>> {
        Box::pin(async move { Err(no_zookeeper_offsets()) })
    }

    /// CreateAcls: adds each binding to its resource's znode (AclAuthorizer's
    /// layout), one result per binding.
    fn create_acls(
        &self,
        bindings: Vec<crate::kafka::security::acl::AclBinding>,
    ) -> BoxFuture<Vec<Result<(), MetadataError>>> {
        let count = bindings.len();
        Box::pin(async move { vec![Err(no_zookeeper_offsets()); count] })
    }

    /// DeleteAcls: per filter, the bindings it removed (with the error that kept
    /// one, if its write failed).
    fn delete_acls(
        &self,
        filters: Vec<crate::kafka::security::acl::AclBindingFilter>,
    ) -> BoxFuture<Vec<Vec<DeletedAcl>>> {
        let count = filters.len();
        Box::pin(async move { vec![Vec::new(); count] })
    }

    /// This broker's epoch: the czxid of its `/brokers/ids/<id>` registration (what
    /// controllers put in LeaderAndIsr / UpdateMetadata / StopReplica and followers in
    /// Fetch's `ReplicaState.ReplicaEpoch`); -1 while unregistered or without ZooKeeper.
    fn broker_epoch(&self) -> i64 {
        -1
    }

    /// AlterPartition from a partition leader, answered by the controller role
    /// (`KafkaController.tryProcessAlterPartition`): NOT_CONTROLLER unless this broker
    /// is the active controller.
    fn alter_partition(&self, request: AlterPartitionRequest) -> BoxFuture<AlterPartitionResponse> {
        Box::pin(async move { not_controller_alter_partition(&request) })
    }

    /// ElectLeaders for `partitions`, answered by the controller role
    /// (`KafkaController.processReplicaLeaderElection`, AdminClientTriggered): returns
    /// once the new states are written, one outcome per partition.
    fn elect_leaders(
        &self,
        _election_type: ElectionType,
        partitions: Vec<PartitionName>,
    ) -> BoxFuture<Vec<ElectionOutcome>> {
        Box::pin(async move { not_controller_elections(partitions) })
    }

    /// ControlledShutdown from a broker that is stopping, answered by the controller
    /// role (`KafkaController.doControlledShutdown`).
    fn controlled_shutdown(
        &self,
        _request: ControlledShutdownRequest,
    ) -> BoxFuture<ControlledShutdownResponse> {
        Box::pin(async move {
            ControlledShutdownResponse {
                error_code: NOT_CONTROLLER_CODE,
                ..Default::default()
            }
        })
    }

    /// AlterPartitionReassignments, answered by the controller role
    /// (`KafkaController.processApiPartitionReassignment`): NOT_CONTROLLER unless
    /// this broker is the active controller, as Apache 3.9 in ZooKeeper mode.
    fn alter_partition_reassignments(
        &self,
        _request: AlterPartitionReassignmentsRequest,
    ) -> BoxFuture<AlterPartitionReassignmentsResponse> {
        Box::pin(async move {
            AlterPartitionReassignmentsResponse::default().with_error_code(NOT_CONTROLLER_CODE)
        })
    }

    /// ListPartitionReassignments, answered by the controller role
    /// (`KafkaController.processListPartitionReassignments`).
    fn list_partition_reassignments(
        &self,
        _request: ListPartitionReassignmentsRequest,
    ) -> BoxFuture<ListPartitionReassignmentsResponse> {
        Box::pin(async move {
            ListPartitionReassignmentsResponse::default().with_error_code(NOT_CONTROLLER_CODE)
        })
    }
}

fn no_zookeeper_offsets() -> MetadataError {
    MetadataError {
        code: kafka_protocol::ResponseError::UnknownServerError.code(),
        message: "this metadata store keeps no consumer offsets in ZooKeeper".to_string(),
    }
}

/// ElectLeaders' election types (Kafka's `ElectionType`: 0 and 1 on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionType {
    /// Move leadership to the head of the assignment.
    Preferred,
    /// Elect a leader for a leaderless partition, from outside the ISR if need be.
    Unclean,
}

impl ElectionType {
    pub fn from_wire(value: i8) -> Option<ElectionType> {
        match value {
            0 => Some(ElectionType::Preferred),
            1 => Some(ElectionType::Unclean),
            _ => None,
        }
    }
}

/// A topic partition by name and index.
pub type PartitionName = (String, i32);

/// One partition's election outcome: its leader, or Kafka's error code and message.
pub type ElectionOutcome = (PartitionName, Result<BrokerId, (i16, Option<String>)>);

/// The answer of a broker that is not the controller to ElectLeaders.
pub fn not_controller_elections(partitions: Vec<PartitionName>) -> Vec<ElectionOutcome> {
    partitions
        .into_iter()
        .map(|partition| (partition, Err((NOT_CONTROLLER_CODE, None))))
        .collect()
}

/// Kafka's NOT_CONTROLLER (41).
pub const NOT_CONTROLLER_CODE: i16 = 41;

/// The answer of a broker that is not the controller to AlterPartition.
pub fn not_controller_alter_partition(_request: &AlterPartitionRequest) -> AlterPartitionResponse {
    AlterPartitionResponse {
        error_code: NOT_CONTROLLER_CODE,
        ..Default::default()
    }
}

/// One ACL a DeleteAcls filter removed, or the error that kept it.
pub type DeletedAcl = (
    crate::kafka::security::acl::AclBinding,
    Option<MetadataError>,
);

/// Entity configs (users, clients, ips) by name: each a key/value map.
pub type EntityConfigs = BTreeMap<String, BTreeMap<String, String>>;

pub type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'static>>;

/// Kafka's topic name rules (`Topic.validate`): 1..=249 characters of
/// `[a-zA-Z0-9._-]`, and not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Topic name is illegal, it can't be empty".to_string());
    }
    if name == "." || name == ".." {
        return Err("Topic name cannot be \".\" or \"..\"".to_string());
    }
    if name.len() > 249 {
        return Err(format!(
            "Topic name is illegal, it can't be longer than 249 characters, topic name: {name}"
        ));
    }
    if !name
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
    {
        return Err(format!(
            "Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// Topics Kafka itself owns.
pub fn is_internal_topic(name: &str) -> bool {
    name == "__consumer_offsets" || name == "__transaction_state"
}
