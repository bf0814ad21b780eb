//! One handler module per API area; `dispatch` is the one match from a decoded
//! request to its handler.
//!
//! # Layout
//! - `api_versions`: ApiVersions, including the v0 fallback.
//! - `metadata`: Metadata, with topic auto-creation.
//! - `produce`: Produce (acks 0, 1, all).
//! - `fetch`: Fetch with long polling.
//! - `list_offsets`: ListOffsets (earliest, latest, max timestamp, by time).
//! - `admin`: CreateTopics, DeleteTopics, CreatePartitions, DescribeCluster,
//!   DescribeTopicPartitions, DeleteRecords, DescribeLogDirs.
//! - `configs`: DescribeConfigs, AlterConfigs, IncrementalAlterConfigs.
//! - `groups`: FindCoordinator and the classic group APIs (the coordinator's tokio shell).
//! - `versioning`: resets fields a response version does not carry.
//! - `producer_id`: InitProducerId and OffsetForLeaderEpoch.
//! - `client_quotas`: DescribeClientQuotas (read from `/config`; not enforced yet).
//! - `scram_users`: Describe/AlterUserScramCredentials, and SaslHandshake /
//!   SaslAuthenticate where no authentication is under way.
//! - `inter_broker`: LeaderAndIsr, UpdateMetadata, StopReplica (broker role),
//!   AlterPartition and ControlledShutdown (controller role).
//! - `controller_rpcs`: AllocateProducerIds, ElectLeaders,
//!   AlterPartitionReassignments and ListPartitionReassignments, answered by the
//!   active controller.

pub mod admin;
pub mod api_versions;
pub mod client_quotas;
pub mod configs;
pub mod controller_rpcs;
pub mod fetch;
pub mod groups;
pub mod inter_broker;
pub mod list_offsets;
pub mod metadata;
pub mod produce;
pub mod producer_id;
pub mod scram_users;
pub mod versioning;

use std::sync::Arc;

use kafka_protocol::messages::{RequestKind, ResponseKind};

use crate::kafka::broker::Broker;
use crate::kafka::protocol::legacy::LegacyRequest;
use crate::kafka::protocol::{Request, Response};

/// Answers one request, and counts it for `/metrics` (rate by version, time,
/// the errors of Produce and Fetch).
pub async fn dispatch(broker: &Arc<Broker>, request: Request) -> Option<Response> {
    let started = std::time::Instant::now();
    let version = request.header.request_api_version;
    let follower_fetch = match &request.body {
        RequestKind::Fetch(body) => {
            let replica_id = if version >= 15 {
                body.replica_state.replica_id.0
            } else {
                body.replica_id.0
            };
            replica_id >= 0
        }
        _ => false,
    };
    let name = crate::kafka::metrics::request_name(request.api_key, follower_fetch);
    let response = answer(broker, request).await;
    let errors = response.as_ref().map(response_errors).unwrap_or_default();
    if let Some(Response::Fetch(reply)) = &response {
        broker.metrics.record_fetch(broker, reply, follower_fetch);
    }
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    broker
        .metrics
        .record_request(&name, version, elapsed_ms, &errors);
    if name.starts_with("Fetch") {
        // Kafka times a fetch under its kind and under the API's own name too.
        broker
            .metrics
            .record_request("Fetch", version, elapsed_ms, &[]);
    }
    response
}

/// The error codes ErrorsPerSec counts for a response, as the responses'
/// `errorCounts` give them: a Produce's per partition, a Fetch's top-level code
/// plus one per partition (NONE included); none for the other APIs yet.
fn response_errors(response: &Response) -> Vec<i16> {
    match response {
        Response::Fetch(reply) => std::iter::once(reply.error_code)
            .chain(
                reply
                    .responses
                    .iter()
                    .flat_map(|topic| &topic.partitions)
                    .map(|partition| partition.error_code),
            )
            .collect(),
        Response::Message(ResponseKind::Produce(produce)) => produce
            .responses
            .iter()
            .flat_map(|topic| &topic.partition_responses)
            .map(|partition| partition.error_code)
            .collect(),
        _ => Vec::new(),
    }
}

async fn answer(broker: &Arc<Broker>, request: Request) -> Option<Response> {
    let version = request.header.request_api_version;
    if let (
        RequestKind::ListOffsets(body),
        Some(LegacyRequest::ListOffsetsV0 { max_num_offsets }),
    ) = (&request.body, &request.legacy)
    {
        return Some(Response::ListOffsetsV0(list_offsets::handle_v0(
            broker,
            body.clone(),
            max_num_offsets,
        )));
    }
    if let RequestKind::Fetch(body) = request.body {
        // Written by protocol::fetch_response, which writes only the fields the
        // version carries.
        return Some(Response::Fetch(fetch::handle(broker, version, body).await));
    }
    let mut response = route(broker, request).await?;
    versioning::fit(&mut response, version);
    Some(Response::Message(response))
}

async fn route(broker: &Arc<Broker>, request: Request) -> Option<ResponseKind> {
    let version = request.header.request_api_version;
    match request.body {
        RequestKind::ApiVersions(_) => Some(ResponseKind::ApiVersions(api_versions::handle())),
        RequestKind::Metadata(body) => Some(ResponseKind::Metadata(
            metadata::handle(broker, version, body).await,
        )),
        RequestKind::Produce(body) => produce::handle(broker, version, body)
            .await
            .map(ResponseKind::Produce),
        RequestKind::ListOffsets(body) => Some(ResponseKind::ListOffsets(list_offsets::handle(
            broker, version, body,
        ))),
        RequestKind::CreateTopics(body) => Some(ResponseKind::CreateTopics(
            admin::create_topics(broker, version, body).await,
        )),
        RequestKind::DeleteTopics(body) => Some(ResponseKind::DeleteTopics(
            admin::delete_topics(broker, version, body).await,
        )),
        RequestKind::CreatePartitions(body) => Some(ResponseKind::CreatePartitions(
            admin::create_partitions(broker, body).await,
        )),
        RequestKind::DescribeCluster(body) => Some(ResponseKind::DescribeCluster(
            admin::describe_cluster(broker, body),
        )),
        RequestKind::DescribeTopicPartitions(body) => Some(ResponseKind::DescribeTopicPartitions(
            admin::describe_topic_partitions(broker, body),
        )),
        RequestKind::DeleteRecords(body) => Some(ResponseKind::DeleteRecords(
            admin::delete_records(broker, body).await,
        )),
        RequestKind::DescribeLogDirs(body) => Some(ResponseKind::DescribeLogDirs(
            admin::describe_log_dirs(broker, body),
        )),
        RequestKind::DescribeConfigs(body) => Some(ResponseKind::DescribeConfigs(
            configs::describe(broker, version, body),
        )),
        RequestKind::AlterConfigs(body) => Some(ResponseKind::AlterConfigs(
            configs::alter(broker, body).await,
        )),
        RequestKind::IncrementalAlterConfigs(body) => Some(ResponseKind::IncrementalAlterConfigs(
            configs::incremental_alter(broker, body).await,
        )),
        RequestKind::InitProducerId(body) => Some(ResponseKind::InitProducerId(
            producer_id::init_producer_id(broker, body).await,
        )),
        RequestKind::OffsetForLeaderEpoch(body) => Some(ResponseKind::OffsetForLeaderEpoch(
            producer_id::offset_for_leader_epoch(broker, body),
        )),
        RequestKind::AllocateProducerIds(body) => Some(ResponseKind::AllocateProducerIds(
            controller_rpcs::allocate_producer_ids(broker, body).await,
        )),
        RequestKind::ElectLeaders(body) => Some(ResponseKind::ElectLeaders(
            controller_rpcs::elect_leaders(broker, version, body).await,
        )),
        RequestKind::AlterPartitionReassignments(body) => {
            Some(ResponseKind::AlterPartitionReassignments(
                controller_rpcs::alter_partition_reassignments(broker, body).await,
            ))
        }
        RequestKind::ListPartitionReassignments(body) => {
            Some(ResponseKind::ListPartitionReassignments(
                controller_rpcs::list_partition_reassignments(broker, body).await,
            ))
        }
        RequestKind::FindCoordinator(body) => Some(ResponseKind::FindCoordinator(
            groups::find_coordinator(broker, version, body).await,
        )),
        RequestKind::JoinGroup(body) => Some(ResponseKind::JoinGroup(
            groups::join_group(broker, &request.header, body).await,
        )),
        RequestKind::SyncGroup(body) => Some(ResponseKind::SyncGroup(
            groups::sync_group(broker, &request.header, body).await,
        )),
        RequestKind::Heartbeat(body) => Some(ResponseKind::Heartbeat(
            groups::heartbeat(broker, &request.header, body).await,
        )),
        RequestKind::LeaveGroup(body) => Some(ResponseKind::LeaveGroup(
            groups::leave_group(broker, &request.header, body).await,
        )),
        RequestKind::OffsetCommit(body) => Some(ResponseKind::OffsetCommit(
            groups::offset_commit(broker, &request.header, body).await,
        )),
        RequestKind::OffsetFetch(body) => Some(ResponseKind::OffsetFetch(
            groups::offset_fetch(broker, version, body).await,
        )),
        RequestKind::OffsetDelete(body) => Some(ResponseKind::OffsetDelete(
            groups::offset_delete(broker, &request.header, body).await,
        )),
        RequestKind::DeleteGroups(body) => Some(ResponseKind::DeleteGroups(
            groups::delete_groups(broker, &request.header, body).await,
        )),
        RequestKind::ListGroups(body) => Some(ResponseKind::ListGroups(
            groups::list_groups(broker, body).await,
        )),
        RequestKind::DescribeGroups(body) => Some(ResponseKind::DescribeGroups(
            groups::describe_groups(broker, version, body).await,
        )),
        RequestKind::SaslHandshake(_) => {
            Some(ResponseKind::SaslHandshake(scram_users::sasl_handshake()))
        }
        RequestKind::SaslAuthenticate(_) => Some(ResponseKind::SaslAuthenticate(
            scram_users::sasl_authenticate(),
        )),
        RequestKind::DescribeClientQuotas(body) => Some(ResponseKind::DescribeClientQuotas(
            client_quotas::describe(broker, body).await,
        )),
        RequestKind::DescribeUserScramCredentials(body) => Some(
            ResponseKind::DescribeUserScramCredentials(scram_users::describe(broker, body).await),
        ),
        RequestKind::AlterUserScramCredentials(body) => Some(
            ResponseKind::AlterUserScramCredentials(scram_users::alter(broker, body).await),
        ),
        other => {
            // The decoder only lets through APIs listed in protocol::versions, each
            // of which has a handler above; reaching here is a bug.
            tracing::error!(api = ?request.api_key, "no handler for a supported API");
            debug_assert!(false, "no handler for {other:?}");
            None
        }
    }
}

/// The operations Apache Kafka 3.9 reports as authorized on a resource when no
/// authorizer is configured, which keel never has (issue 13 adds ACLs): all the
/// operations the resource type supports (`AclEntry.supportedOperations`), as the
/// bit field of `AclOperation` codes the `*AuthorizedOperations` fields carry.
pub(crate) mod authorized_operations {
    const READ: i32 = 1 << 3;
    const WRITE: i32 = 1 << 4;
    const CREATE: i32 = 1 << 5;
    const DELETE: i32 = 1 << 6;
    const ALTER: i32 = 1 << 7;
    const DESCRIBE: i32 = 1 << 8;
    const CLUSTER_ACTION: i32 = 1 << 9;
    const DESCRIBE_CONFIGS: i32 = 1 << 10;
    const ALTER_CONFIGS: i32 = 1 << 11;
    const IDEMPOTENT_WRITE: i32 = 1 << 12;

    pub const TOPIC: i32 =
        READ | WRITE | CREATE | DESCRIBE | DELETE | ALTER | DESCRIBE_CONFIGS | ALTER_CONFIGS;
    /// 3.9's set (4.0 added the group configs' DESCRIBE_CONFIGS and ALTER_CONFIGS).
    pub const GROUP: i32 = READ | DESCRIBE | DELETE;
    pub const CLUSTER: i32 = CREATE
        | CLUSTER_ACTION
        | DESCRIBE_CONFIGS
        | ALTER_CONFIGS
        | IDEMPOTENT_WRITE
        | ALTER
        | DESCRIBE;
}

/// Strings in responses.
pub(crate) fn str_bytes(text: &str) -> kafka_protocol::protocol::StrBytes {
    kafka_protocol::protocol::StrBytes::from_string(text.to_string())
}
