//! Consumer groups: FindCoordinator and the classic group APIs, served by the sans-IO
//! `group::GroupCoordinator`. This module is its tokio shell: it creates and loads
//! `__consumer_offsets`, appends the coordinator's records to it, parks requests
//! until the coordinator answers them, and ticks its timers.
//!
//! One coordinator serves every `__consumer_offsets` partition this broker leads
//! (all of them on a single broker); moving coordination between brokers comes with
//! the multi-broker cluster.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::*;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use kafka_protocol::ResponseError;
use tokio::sync::{oneshot, Notify};

use super::str_bytes;
use crate::kafka::broker::Broker;
use crate::kafka::group::{
    Effect, GroupConfig, GroupCoordinator, RequestContext, RequestId, Response, SeededUuids,
};
use crate::kafka::metadata::NewTopic;

pub const OFFSETS_TOPIC: &str = "__consumer_offsets";
/// How long FindCoordinator waits for a just-created offsets topic to get leaders
/// before answering COORDINATOR_NOT_AVAILABLE (the client then retries).
const OFFSETS_TOPIC_READY_WAIT_MS: i32 = 10_000;
/// Records read per step while loading a partition.
const LOAD_READ_BYTES: u64 = 1 << 20;

/// Shared state of the group shell.
pub struct GroupService {
    coordinator: tokio::sync::Mutex<Option<GroupCoordinator>>,
    parked: Mutex<HashMap<RequestId, oneshot::Sender<Response>>>,
    next_request_id: AtomicU64,
    timers_changed: Arc<Notify>,
}

impl Default for GroupService {
    fn default() -> Self {
        GroupService {
            coordinator: tokio::sync::Mutex::new(None),
            parked: Mutex::new(HashMap::new()),
            next_request_id: AtomicU64::new(1),
            timers_changed: Arc::new(Notify::new()),
        }
    }
}

fn group_config(broker: &Broker) -> GroupConfig {
    let number = |key: &str| {
        broker
            .config
            .properties
            .get(key)
            .and_then(|value| value.trim().parse::<i64>().ok())
    };
    let defaults = GroupConfig::default();
    GroupConfig {
        offsets_topic_partitions: broker.config.offsets_topic_num_partitions as i32,
        session_timeout_ms_min: broker.config.group_session_timeout_ms_min as i32,
        session_timeout_ms_max: broker.config.group_session_timeout_ms_max as i32,
        initial_rebalance_delay_ms: broker.config.group_initial_rebalance_delay_ms as i32,
        group_size_max: number("group.max.size").map_or(defaults.group_size_max, |value| {
            value.clamp(1, u32::MAX as i64) as u32
        }),
        offset_metadata_bytes_max: number("offset.metadata.max.bytes")
            .map_or(defaults.offset_metadata_bytes_max, |value| {
                value.max(0) as usize
            }),
        offsets_retention_ms: number("offsets.retention.minutes")
            .map_or(defaults.offsets_retention_ms, |minutes| minutes * 60_000),
        offsets_retention_check_interval_ms: number("offsets.retention.check.interval.ms")
            .unwrap_or(defaults.offsets_retention_check_interval_ms),
        ..defaults
    }
}

/// Makes sure `__consumer_offsets` exists with leaders and the coordinator has
/// loaded it; the errors are what Kafka answers meanwhile.
async fn ensure_loaded(broker: &Arc<Broker>) -> Result<(), ResponseError> {
    let service = &broker.groups;
    let mut guard = service.coordinator.lock().await;
    if guard.is_some() {
        return Ok(());
    }
    let config = group_config(broker);
    let metadata = broker.metadata.current();
    if !metadata.topics.contains_key(OFFSETS_TOPIC) {
        let live = metadata.brokers.len();
        let replication_factor = broker.config.offsets_topic_replication_factor;
        if live < replication_factor as usize {
            tracing::warn!(
                live,
                replication_factor,
                "cannot create {OFFSETS_TOPIC}: fewer live brokers than offsets.topic.replication.factor"
            );
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        let topic = NewTopic {
            name: OFFSETS_TOPIC.to_string(),
            partitions: config.offsets_topic_partitions,
            replication_factor: replication_factor as i16,
            assignments: BTreeMap::new(),
            configs: [
                ("cleanup.policy".to_string(), "compact".to_string()),
                ("compression.type".to_string(), "producer".to_string()),
                ("segment.bytes".to_string(), "104857600".to_string()),
            ]
            .into(),
        };
        match broker.metadata.create_topic(topic, false).await {
            Ok(()) => tracing::info!(
                partitions = config.offsets_topic_partitions,
                "created {OFFSETS_TOPIC}"
            ),
            Err(error) if error.code == ResponseError::TopicAlreadyExists.code() => {}
            Err(error) => {
                tracing::warn!(%error, "cannot create {OFFSETS_TOPIC}");
                return Err(ResponseError::CoordinatorNotAvailable);
            }
        }
    }
    let partitions = config.offsets_topic_partitions;
    let ready = broker
        .wait_for_metadata(OFFSETS_TOPIC_READY_WAIT_MS, |metadata| {
            metadata.topics.get(OFFSETS_TOPIC).is_some_and(|topic| {
                topic.partitions.len() as i32 >= partitions
                    && topic.partitions.values().all(|p| p.leader.is_some())
            })
        })
        .await;
    if !ready {
        return Err(ResponseError::CoordinatorNotAvailable);
    }
    let metadata = broker.metadata.current();
    let mut records = Vec::new();
    for partition in 0..partitions {
        let Ok((local, _)) = broker.leader_partition(&metadata, OFFSETS_TOPIC, partition) else {
            continue;
        };
        let mut offset = local.offsets().log_start_offset;
        loop {
            let data = local
                .read(offset, LOAD_READ_BYTES, true)
                .map_err(|error| error.error)?;
            if data.records.is_empty() {
                break;
            }
            let mut bytes = data.records.clone();
            let last = crate::kafka::log::batch::split_batches(&data.records)
                .filter_map(Result::ok)
                .map(|(header, _)| header.last_offset())
                .last();
            for set in RecordBatchDecoder::decode_all(&mut bytes).map_err(|error| {
                tracing::error!(partition, %error, "cannot decode {OFFSETS_TOPIC} records");
                ResponseError::CoordinatorNotAvailable
            })? {
                for record in set.records {
                    if record.control {
                        continue;
                    }
                    if let Some(key) = record.key {
                        records.push((key, record.value));
                    }
                }
            }
            match last {
                Some(last) => offset = last + 1,
                None => break,
            }
        }
    }
    let loaded = records.len();
    let seed = uuid::Uuid::new_v4().as_u64_pair().0;
    let coordinator = GroupCoordinator::load_from_bytes(
        config,
        Box::new(SeededUuids::new(seed)),
        records,
        broker.now_ms(),
    )
    .map_err(|error| {
        tracing::error!(%error, "cannot load {OFFSETS_TOPIC}");
        ResponseError::CoordinatorNotAvailable
    })?;
    tracing::info!(
        records = loaded,
        "loaded group coordinator state from {OFFSETS_TOPIC}"
    );
    *guard = Some(coordinator);
    tokio::spawn(tick_forever(broker.clone()));
    Ok(())
}

/// Fires the coordinator's timers (session expiry, join and sync deadlines,
/// offset retention) when they fall due.
async fn tick_forever(broker: Arc<Broker>) {
    let service = &broker.groups;
    loop {
        let next_deadline_ms = {
            let guard = service.coordinator.lock().await;
            guard.as_ref().and_then(GroupCoordinator::next_deadline_ms)
        };
        let wait_ms =
            next_deadline_ms.map_or(1000, |deadline| (deadline - broker.now_ms()).clamp(0, 1000));
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait_ms as u64)) => {}
            _ = service.timers_changed.notified() => continue,
        }
        let mut guard = service.coordinator.lock().await;
        let Some(coordinator) = guard.as_mut() else {
            return;
        };
        let effects = coordinator.tick(broker.now_ms());
        run_effects(&broker, effects);
    }
}

/// Carries out effects in order: records are appended before any answer after
/// them is sent, so an acknowledged commit is in the log.
fn run_effects(broker: &Arc<Broker>, effects: Vec<Effect>) {
    for effect in effects {
        match effect {
            Effect::Persist { partition, records } => {
                let now_ms = broker.now_ms();
                let encoded: Vec<Record> = records
                    .iter()
                    .enumerate()
                    .map(|(index, record)| Record {
                        transactional: false,
                        control: false,
                        partition_leader_epoch: -1,
                        producer_id: -1,
                        producer_epoch: -1,
                        timestamp_type: TimestampType::Creation,
                        offset: index as i64,
                        sequence: -1,
                        timestamp: now_ms,
                        key: Some(record.key_bytes()),
                        value: record.value_bytes(),
                        headers: Default::default(),
                        delete_horizon: false,
                    })
                    .collect();
                let mut batch = BytesMut::new();
                if let Err(error) = RecordBatchEncoder::encode(
                    &mut batch,
                    &encoded,
                    &RecordEncodeOptions {
                        version: 2,
                        compression: Compression::None,
                    },
                ) {
                    tracing::error!(%error, "cannot encode group records");
                    continue;
                }
                let metadata = broker.metadata.current();
                let appended = broker
                    .leader_partition(&metadata, OFFSETS_TOPIC, partition.0)
                    .map_err(|error| error.to_string())
                    .and_then(|(local, limits)| {
                        local
                            .append_from_client(&batch, limits, now_ms)
                            .map_err(|error| error.message)
                    });
                match appended {
                    Ok(_) => broker.notify_append(),
                    Err(error) => {
                        tracing::error!(partition = partition.0, %error, "cannot append group records")
                    }
                }
            }
            Effect::Respond {
                request_id,
                response,
            } => {
                let parked = broker
                    .groups
                    .parked
                    .lock()
                    .expect("parked requests")
                    .remove(&request_id);
                if let Some(sender) = parked {
                    let _ = sender.send(response);
                }
            }
        }
    }
}

/// Runs one coordinator call for a request and waits for its answer (which may
/// come later, from another member's request or a timer).
async fn call(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    handle: impl FnOnce(&mut GroupCoordinator, &RequestContext, i64) -> Vec<Effect>,
) -> Result<Response, ResponseError> {
    ensure_loaded(broker).await?;
    let service = &broker.groups;
    let request_id = RequestId(service.next_request_id.fetch_add(1, Ordering::Relaxed));
    let (sender, receiver) = oneshot::channel();
    service
        .parked
        .lock()
        .expect("parked requests")
        .insert(request_id, sender);
    let context = RequestContext {
        request_id,
        api_version: header.request_api_version,
        client_id: header
            .client_id
            .as_ref()
            .map(|id| id.as_str().to_string())
            .unwrap_or_default(),
        client_host: "/127.0.0.1".to_string(),
    };
    {
        let mut guard = service.coordinator.lock().await;
        let coordinator = guard.as_mut().expect("loaded above");
        let effects = handle(coordinator, &context, broker.now_ms());
        run_effects(broker, effects);
    }
    service.timers_changed.notify_one();
    receiver
        .await
        .map_err(|_| ResponseError::UnknownServerError)
}

/// Reads that the coordinator answers at once.
async fn read<T>(
    broker: &Arc<Broker>,
    read: impl FnOnce(&GroupCoordinator) -> T,
) -> Result<T, ResponseError> {
    ensure_loaded(broker).await?;
    let guard = broker.groups.coordinator.lock().await;
    Ok(read(guard.as_ref().expect("loaded above")))
}

pub async fn find_coordinator(
    broker: &Arc<Broker>,
    version: i16,
    request: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let keys: Vec<String> = if version >= 4 {
        request
            .coordinator_keys
            .iter()
            .map(|key| key.as_str().to_string())
            .collect()
    } else {
        vec![request.key.as_str().to_string()]
    };
    let outcome = if request.key_type == 0 {
        ensure_loaded(broker).await
    } else {
        // Transaction coordinators come with transactions.
        Err(ResponseError::CoordinatorNotAvailable)
    };
    let metadata = broker.metadata.current();
    let endpoint = metadata
        .brokers
        .get(&broker.id)
        .and_then(|registration| broker.client_endpoint(registration))
        .cloned();
    let mut response = FindCoordinatorResponse::default();
    for key in &keys {
        let mut coordinator = Coordinator::default();
        coordinator.key = str_bytes(key);
        match (&outcome, &endpoint) {
            (Ok(()), Some(endpoint)) => {
                coordinator.node_id = broker.id.0.into();
                coordinator.host = str_bytes(&endpoint.host);
                coordinator.port = endpoint.port as i32;
            }
            (Err(error), _) => {
                coordinator.error_code = error.code();
                coordinator.node_id = (-1).into();
                coordinator.port = -1;
            }
            (Ok(()), None) => {
                coordinator.error_code = ResponseError::CoordinatorNotAvailable.code();
                coordinator.node_id = (-1).into();
                coordinator.port = -1;
            }
        }
        response.coordinators.push(coordinator);
    }
    if version < 4 {
        let first = response.coordinators.pop().expect("one key");
        response.error_code = first.error_code;
        response.node_id = first.node_id;
        response.host = first.host;
        response.port = first.port;
        if first.error_code != 0 {
            response.error_message = Some(str_bytes(
                &ResponseError::try_from_code(first.error_code)
                    .map(|e| e.to_string())
                    .unwrap_or_default(),
            ));
        }
    }
    response
}

macro_rules! expect_response {
    ($result:expr, $variant:ident, $error_response:expr) => {
        match $result {
            Ok(Response::$variant(response)) => response,
            Ok(other) => {
                tracing::error!(
                    ?other,
                    "the group coordinator answered with the wrong response type"
                );
                $error_response(ResponseError::UnknownServerError)
            }
            Err(error) => $error_response(error),
        }
    };
}

pub async fn join_group(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    request: JoinGroupRequest,
) -> JoinGroupResponse {
    let result = call(broker, header, |c, ctx, now| {
        c.handle_join_group(ctx, &request, now)
    })
    .await;
    expect_response!(result, JoinGroup, |error: ResponseError| {
        let mut response = JoinGroupResponse::default();
        response.error_code = error.code();
        response.generation_id = -1;
        response
    })
}

pub async fn sync_group(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    request: SyncGroupRequest,
) -> SyncGroupResponse {
    let result = call(broker, header, |c, ctx, now| {
        c.handle_sync_group(ctx, &request, now)
    })
    .await;
    expect_response!(result, SyncGroup, |error: ResponseError| {
        let mut response = SyncGroupResponse::default();
        response.error_code = error.code();
        response
    })
}

pub async fn heartbeat(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    request: HeartbeatRequest,
) -> HeartbeatResponse {
    let result = call(broker, header, |c, ctx, now| {
        c.handle_heartbeat(ctx, &request, now)
    })
    .await;
    expect_response!(result, Heartbeat, |error: ResponseError| {
        let mut response = HeartbeatResponse::default();
        response.error_code = error.code();
        response
    })
}

pub async fn leave_group(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    request: LeaveGroupRequest,
) -> LeaveGroupResponse {
    let result = call(broker, header, |c, ctx, now| {
        c.handle_leave_group(ctx, &request, now)
    })
    .await;
    expect_response!(result, LeaveGroup, |error: ResponseError| {
        let mut response = LeaveGroupResponse::default();
        response.error_code = error.code();
        response
    })
}

pub async fn offset_commit(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    request: OffsetCommitRequest,
) -> OffsetCommitResponse {
    let topics: Vec<(TopicName, Vec<i32>)> = request
        .topics
        .iter()
        .map(|topic| {
            (
                topic.name.clone(),
                topic.partitions.iter().map(|p| p.partition_index).collect(),
            )
        })
        .collect();
    let result = call(broker, header, |c, ctx, now| {
        c.handle_offset_commit(ctx, &request, now)
    })
    .await;
    expect_response!(result, OffsetCommit, |error: ResponseError| {
        let mut response = OffsetCommitResponse::default();
        for (name, partitions) in &topics {
            let mut topic = offset_commit_response::OffsetCommitResponseTopic::default();
            topic.name = name.clone();
            for index in partitions {
                let mut partition =
                    offset_commit_response::OffsetCommitResponsePartition::default();
                partition.partition_index = *index;
                partition.error_code = error.code();
                topic.partitions.push(partition);
            }
            response.topics.push(topic);
        }
        response
    })
}

pub async fn offset_fetch(
    broker: &Arc<Broker>,
    version: i16,
    request: OffsetFetchRequest,
) -> OffsetFetchResponse {
    let groups: Vec<GroupId> = request
        .groups
        .iter()
        .map(|group| group.group_id.clone())
        .collect();
    match read(broker, |c| c.handle_offset_fetch(version, &request)).await {
        Ok(response) => response,
        Err(error) => {
            let mut response = OffsetFetchResponse::default();
            response.error_code = error.code();
            for group_id in groups {
                let mut group = offset_fetch_response::OffsetFetchResponseGroup::default();
                group.group_id = group_id;
                group.error_code = error.code();
                response.groups.push(group);
            }
            response
        }
    }
}

pub async fn offset_delete(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    request: OffsetDeleteRequest,
) -> OffsetDeleteResponse {
    let result = call(broker, header, |c, ctx, now| {
        c.handle_offset_delete(ctx, &request, now)
    })
    .await;
    expect_response!(result, OffsetDelete, |error: ResponseError| {
        let mut response = OffsetDeleteResponse::default();
        response.error_code = error.code();
        response
    })
}

pub async fn delete_groups(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    request: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let names = request.groups_names.clone();
    let result = call(broker, header, |c, ctx, now| {
        c.handle_delete_groups(ctx, &request, now)
    })
    .await;
    expect_response!(result, DeleteGroups, |error: ResponseError| {
        let mut response = DeleteGroupsResponse::default();
        for name in &names {
            let mut result = delete_groups_response::DeletableGroupResult::default();
            result.group_id = name.clone();
            result.error_code = error.code();
            response.results.push(result);
        }
        response
    })
}

pub async fn list_groups(broker: &Arc<Broker>, request: ListGroupsRequest) -> ListGroupsResponse {
    match read(broker, |c| c.handle_list_groups(&request)).await {
        Ok(response) => response,
        Err(error) => {
            let mut response = ListGroupsResponse::default();
            response.error_code = error.code();
            response
        }
    }
}

pub async fn describe_groups(
    broker: &Arc<Broker>,
    request: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let names = request.groups.clone();
    match read(broker, |c| c.handle_describe_groups(&request)).await {
        Ok(response) => response,
        Err(error) => {
            let mut response = DescribeGroupsResponse::default();
            for name in names {
                let mut group = describe_groups_response::DescribedGroup::default();
                group.group_id = name;
                group.error_code = error.code();
                response.groups.push(group);
            }
            response
        }
    }
}
