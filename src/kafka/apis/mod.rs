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
//! - `throttle`: client quotas (byte rates, request time) applied to answers.
//! - `versioning`: resets fields a response version does not carry.
//! - `producer_id`: InitProducerId and OffsetForLeaderEpoch.
//! - `acls`: DescribeAcls, CreateAcls, DeleteAcls (the ZooKeeper-mode authorizer's).
//! - `client_quotas`: DescribeClientQuotas and AlterClientQuotas (entity configs in `/config`).
//! - `scram_users`: Describe/AlterUserScramCredentials, and SaslHandshake /
//!   SaslAuthenticate where no authentication is under way.
//! - `inter_broker`: LeaderAndIsr, UpdateMetadata, StopReplica (broker role),
//!   AlterPartition and ControlledShutdown (controller role).
//! - `controller_rpcs`: AllocateProducerIds, ElectLeaders,
//!   AlterPartitionReassignments and ListPartitionReassignments, answered by the
//!   active controller.

pub mod acls;
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
pub mod throttle;
pub mod versioning;

use std::sync::Arc;

use kafka_protocol::messages::{RequestKind, ResponseKind};

use crate::kafka::broker::Broker;
use crate::kafka::protocol::legacy::LegacyRequest;
use crate::kafka::protocol::{Request, Response};

/// Answers one request, and counts it for `/metrics` (rate by version, time,
/// the errors of Produce and Fetch) and against the client's quotas: returns the
/// answer and the time to mute the connection for (`throttle`).
pub async fn dispatch(broker: &Arc<Broker>, request: Request) -> (Option<Response>, i32) {
    let started = std::time::Instant::now();
    let version = request.header.request_api_version;
    let (follower_fetch, incremental_fetch) = match &request.body {
        RequestKind::Fetch(body) => {
            let replica_id = if version >= 15 {
                body.replica_state.replica_id.0
            } else {
                body.replica_id.0
            };
            (replica_id >= 0, body.session_epoch > 0)
        }
        _ => (false, false),
    };
    let api_key = request.api_key;
    let client_id = request
        .header
        .client_id
        .as_ref()
        .map(|id| id.to_string())
        .unwrap_or_default();
    let request_bytes = if request.api_key == kafka_protocol::messages::ApiKey::Produce {
        request.size_bytes
    } else {
        0
    };
    let name = crate::kafka::metrics::request_name(request.api_key, follower_fetch);
    let (mut response, handler_nanos) = polled_time(
        crate::kafka::authz::REQUEST_API.scope(request.api_key, answer(broker, request)),
    )
    .await;
    let metering = throttle::Metered {
        api_key,
        client_id: &client_id,
        request_bytes,
        follower_fetch,
        incremental_fetch,
        handler_nanos,
    };
    let throttle_ms = throttle::apply(broker, &metering, response.as_mut());
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
    (response, throttle_ms)
}

/// Runs `future` to its end and returns its output with the time it spent being
/// polled, in nanoseconds: the work of a request without its waits (the request
/// quota's handler time).
async fn polled_time<F: std::future::Future>(future: F) -> (F::Output, u64) {
    let mut future = std::pin::pin!(future);
    let mut polled = std::time::Duration::ZERO;
    let output = std::future::poll_fn(|context| {
        let started = std::time::Instant::now();
        let poll = future.as_mut().poll(context);
        polled += started.elapsed();
        poll
    })
    .await;
    (output, polled.as_nanos().min(u128::from(u64::MAX)) as u64)
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
    if let RequestKind::Fetch(mut body) = request.body {
        // A consumer under a fetch quota gets at most what the quota allows in a
        // window (KafkaApis' `maxQuotaWindowBytes`).
        // Not a follower's fetch: replication is not client traffic.
        let follower = body.replica_id.0 >= 0 || body.replica_state.replica_id.0 >= 0;
        let cap = if follower {
            None
        } else {
            throttle::fetch_bytes_cap(broker, request.header.client_id.as_deref().unwrap_or(""))
        };
        if let Some(cap) = cap {
            body.max_bytes = if body.max_bytes > 0 {
                body.max_bytes.min(cap)
            } else {
                cap
            };
        }
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
    if let Some(refusal) = refuse_cluster_operation(broker, &request.body) {
        return Some(refusal);
    }
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
        RequestKind::AlterClientQuotas(body) => Some(ResponseKind::AlterClientQuotas(
            client_quotas::alter(broker, body).await,
        )),
        RequestKind::DescribeAcls(body) => Some(ResponseKind::DescribeAcls(
            acls::describe(broker, body).await,
        )),
        RequestKind::CreateAcls(body) => {
            Some(ResponseKind::CreateAcls(acls::create(broker, body).await))
        }
        RequestKind::DeleteAcls(body) => {
            Some(ResponseKind::DeleteAcls(acls::delete(broker, body).await))
        }
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

/// The APIs Kafka authorizes as a whole by one operation on the cluster
/// (`authorizeClusterOperation` and its inline equivalents): answered
/// CLUSTER_AUTHORIZATION_FAILED here, before their handlers, when the requester
/// may not. (The ACL APIs check inside `acls`, inter-broker requests in
/// `inter_broker`.)
fn refuse_cluster_operation(broker: &Broker, body: &RequestKind) -> Option<ResponseKind> {
    use crate::kafka::security::acl::AclOperation;
    let operation = match body {
        RequestKind::DescribeLogDirs(_)
        | RequestKind::ListPartitionReassignments(_)
        | RequestKind::DescribeUserScramCredentials(_) => AclOperation::Describe,
        RequestKind::ElectLeaders(_)
        | RequestKind::AlterPartitionReassignments(_)
        | RequestKind::AlterUserScramCredentials(_) => AclOperation::Alter,
        RequestKind::DescribeClientQuotas(_) => AclOperation::DescribeConfigs,
        RequestKind::AlterClientQuotas(_) => AclOperation::AlterConfigs,
        RequestKind::AllocateProducerIds(_) => AclOperation::ClusterAction,
        _ => return None,
    };
    if broker.authorize_cluster(operation) {
        return None;
    }
    let code = kafka_protocol::ResponseError::ClusterAuthorizationFailed.code();
    let message = Some(str_bytes("Cluster authorization failed."));
    use kafka_protocol::messages::*;
    Some(match body {
        RequestKind::DescribeLogDirs(_) => {
            ResponseKind::DescribeLogDirs(DescribeLogDirsResponse::default().with_error_code(code))
        }
        RequestKind::ListPartitionReassignments(_) => ResponseKind::ListPartitionReassignments(
            ListPartitionReassignmentsResponse::default()
                .with_error_code(code)
                .with_error_message(message),
        ),
        RequestKind::DescribeUserScramCredentials(_) => ResponseKind::DescribeUserScramCredentials(
            DescribeUserScramCredentialsResponse::default()
                .with_error_code(code)
                .with_error_message(message),
        ),
        RequestKind::ElectLeaders(_) => {
            ResponseKind::ElectLeaders(ElectLeadersResponse::default().with_error_code(code))
        }
        RequestKind::AlterPartitionReassignments(_) => ResponseKind::AlterPartitionReassignments(
            AlterPartitionReassignmentsResponse::default()
                .with_error_code(code)
                .with_error_message(message),
        ),
        RequestKind::AlterUserScramCredentials(request) => {
            use alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
            let users = request
                .deletions
                .iter()
                .map(|deletion| deletion.name.clone())
                .chain(
                    request
                        .upsertions
                        .iter()
                        .map(|upsertion| upsertion.name.clone()),
                );
            ResponseKind::AlterUserScramCredentials(
                AlterUserScramCredentialsResponse::default().with_results(
                    users
                        .map(|user| {
                            AlterUserScramCredentialsResult::default()
                                .with_user(user)
                                .with_error_code(code)
                                .with_error_message(message.clone())
                        })
                        .collect(),
                ),
            )
        }
        RequestKind::AlterClientQuotas(request) => {
            use alter_client_quotas_response::{EntityData, EntryData};
            ResponseKind::AlterClientQuotas(
                AlterClientQuotasResponse::default().with_entries(
                    request
                        .entries
                        .iter()
                        .map(|entry| {
                            EntryData::default()
                                .with_error_code(code)
                                .with_error_message(message.clone())
                                .with_entity(
                                    entry
                                        .entity
                                        .iter()
                                        .map(|part| {
                                            EntityData::default()
                                                .with_entity_type(part.entity_type.clone())
                                                .with_entity_name(part.entity_name.clone())
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                ),
            )
        }
        RequestKind::DescribeClientQuotas(_) => ResponseKind::DescribeClientQuotas(
            DescribeClientQuotasResponse::default()
                .with_error_code(code)
                .with_error_message(message),
        ),
        _ => ResponseKind::AllocateProducerIds(
            AllocateProducerIdsResponse::default().with_error_code(code),
        ),
    })
}

/// Strings in responses.
pub(crate) fn str_bytes(text: &str) -> kafka_protocol::protocol::StrBytes {
    kafka_protocol::protocol::StrBytes::from_string(text.to_string())
}
