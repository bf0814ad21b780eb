//! Consumer groups: FindCoordinator and the classic group APIs, served by the sans-IO
//! `group::GroupCoordinator`. This module is its tokio shell: it creates
//! `__consumer_offsets`, names each group's coordinator (the leader of the group's
//! offsets partition), loads and unloads partitions as this broker's leadership of
//! them comes and goes, appends the coordinator's records with acks=all and reports
//! each append's outcome back, parks requests until the coordinator answers them,
//! and ticks its timers.
//!
//! One background task (`drive`) owns the slow work: it completes appends as the
//! ISR acknowledges them, fires timers, and every `PLACEMENT_POLL_MS` compares the
//! offsets partitions this broker leads with those the coordinator serves (Kafka's
//! `onElection` / `onResignation`). A request for a group whose partition changed
//! hands runs that comparison itself first, so it does not wait for the next poll.
//! The coordinator's mutex is never held across an await on replication.

use crate::kafka::security::acl::{AclOperation, ResourceType, CLUSTER_NAME};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::*;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use kafka_protocol::ResponseError;
use tokio::sync::{mpsc, oneshot, Notify};

use super::str_bytes;
use crate::kafka::broker::Broker;
use crate::kafka::group::{
    partition_for_group, AppendId, CoordinatorRecord, Effect, GroupConfig, GroupCoordinator,
    OffsetsPartition, RequestContext, RequestId, Response, SeededUuids,
};
use crate::kafka::metadata::{ClusterMetadata, NewTopic};
use crate::kafka::replica::state::Acks;
use crate::kafka::replica::ReplicationWait;

pub const OFFSETS_TOPIC: &str = "__consumer_offsets";
/// How long FindCoordinator waits for a just-created offsets topic to get leaders
/// before answering COORDINATOR_NOT_AVAILABLE (the client then retries).
const OFFSETS_TOPIC_READY_WAIT_MS: i32 = 10_000;
/// Records read per step while loading a partition.
const LOAD_READ_BYTES: u64 = 1 << 20;
/// How often the driver compares led offsets partitions with served ones.
const PLACEMENT_POLL_MS: u64 = 250;
/// Kafka's `offsets.commit.timeout.ms` default: how long an append waits for the ISR.
const OFFSETS_COMMIT_TIMEOUT_MS_DEFAULT: i64 = 5_000;
/// Margin past the commit timeout after which a wait for the ISR is given up even
/// if the replication core never answered it (a partition dropped meanwhile).
const REPLICATION_WAIT_GUARD_MS: u64 = 5_000;
/// The longest the driver sleeps when no timer is due.
const IDLE_WAKE_MS: i64 = 1_000;

/// How an append ended, reported back to the driver.
type AppendOutcome = (AppendId, Result<(), ResponseError>);

/// Shared state of the group shell.
pub struct GroupService {
    /// Created on first use, once `__consumer_offsets` exists (its partition
    /// count is the topic's).
    coordinator: tokio::sync::Mutex<Option<GroupCoordinator>>,
    parked: Mutex<HashMap<RequestId, oneshot::Sender<Response>>>,
    next_request_id: AtomicU64,
    timers_changed: Arc<Notify>,
    /// One placement pass at a time; holds the partitions whose load failed, not
    /// retried until this broker stops leading them.
    placement: tokio::sync::Mutex<BTreeSet<i32>>,
    driver_started: AtomicBool,
    completions_sender: mpsc::UnboundedSender<AppendOutcome>,
    completions: Mutex<Option<mpsc::UnboundedReceiver<AppendOutcome>>>,
}

impl Default for GroupService {
    fn default() -> Self {
        let (completions_sender, completions) = mpsc::unbounded_channel();
        GroupService {
            coordinator: tokio::sync::Mutex::new(None),
            parked: Mutex::new(HashMap::new()),
            next_request_id: AtomicU64::new(1),
            timers_changed: Arc::new(Notify::new()),
            placement: tokio::sync::Mutex::new(BTreeSet::new()),
            driver_started: AtomicBool::new(false),
            completions_sender,
            completions: Mutex::new(Some(completions)),
        }
    }
}

impl GroupService {
    /// (NumGroups, NumOffsets) for the broker's metrics; zeros before the
    /// coordinator exists.
    pub async fn metrics_counts(&self) -> (usize, usize) {
        self.coordinator
            .lock()
            .await
            .as_ref()
            .map_or((0, 0), GroupCoordinator::metrics_counts)
    }
}

fn group_config(broker: &Broker, offsets_topic_partitions: i32) -> GroupConfig {
    let number = |key: &str| {
        broker
            .config
            .properties
            .get(key)
            .and_then(|value| value.trim().parse::<i64>().ok())
    };
    let defaults = GroupConfig::default();
    GroupConfig {
        offsets_topic_partitions,
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

fn offsets_commit_timeout_ms(broker: &Broker) -> i64 {
    broker
        .config
        .properties
        .get("offsets.commit.timeout.ms")
        .and_then(|value| value.trim().parse::<i64>().ok())
        .filter(|value| *value > 0)
        .unwrap_or(OFFSETS_COMMIT_TIMEOUT_MS_DEFAULT)
}

/// The number of partitions of `__consumer_offsets`, once it exists with leaders
/// for all of them.
fn offsets_topic_partitions(metadata: &ClusterMetadata) -> Option<i32> {
    let topic = metadata.topics.get(OFFSETS_TOPIC)?;
    let ready =
        !topic.partitions.is_empty() && topic.partitions.values().all(|p| p.leader.is_some());
    ready.then_some(topic.partitions.len() as i32)
}

/// `__consumer_offsets` as Kafka creates it: `offsets.topic.num.partitions` and
/// `offsets.topic.replication.factor`, compacted, 100 MiB segments.
pub(crate) fn offsets_topic_spec(broker: &Broker) -> NewTopic {
    NewTopic {
        name: OFFSETS_TOPIC.to_string(),
        partitions: broker.config.offsets_topic_num_partitions as i32,
        replication_factor: broker.config.offsets_topic_replication_factor as i16,
        assignments: BTreeMap::new(),
        configs: [
            ("cleanup.policy".to_string(), "compact".to_string()),
            ("compression.type".to_string(), "producer".to_string()),
            ("segment.bytes".to_string(), "104857600".to_string()),
        ]
        .into(),
    }
}

/// Makes sure `__consumer_offsets` exists (creating it as Kafka's
/// auto-creation does) and has leaders; the error is what Kafka answers meanwhile.
async fn ensure_offsets_topic(broker: &Arc<Broker>) -> Result<i32, ResponseError> {
    if let Some(partitions) = offsets_topic_partitions(&broker.metadata.current()) {
        return Ok(partitions);
    }
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
        let partitions = broker.config.offsets_topic_num_partitions as i32;
        match broker
            .metadata
            .create_topic(offsets_topic_spec(broker), false)
            .await
        {
            Ok(()) => tracing::info!(partitions, "created {OFFSETS_TOPIC}"),
            Err(error) if error.code == ResponseError::TopicAlreadyExists.code() => {}
            Err(error) => {
                tracing::warn!(%error, "cannot create {OFFSETS_TOPIC}");
                return Err(ResponseError::CoordinatorNotAvailable);
            }
        }
    }
    let ready = broker
        .wait_for_metadata(OFFSETS_TOPIC_READY_WAIT_MS, |metadata| {
            offsets_topic_partitions(metadata).is_some()
        })
        .await;
    if !ready {
        return Err(ResponseError::CoordinatorNotAvailable);
    }
    offsets_topic_partitions(&broker.metadata.current())
        .ok_or(ResponseError::CoordinatorNotAvailable)
}

/// Makes sure the coordinator exists and the driver runs; the error is what
/// Kafka answers while the offsets topic cannot be had.
async fn ensure_started(broker: &Arc<Broker>) -> Result<(), ResponseError> {
    let service = &broker.groups;
    if service.driver_started.load(Ordering::Acquire) {
        return Ok(());
    }
    let partitions = ensure_offsets_topic(broker).await?;
    {
        let mut guard = service.coordinator.lock().await;
        if guard.is_none() {
            let seed = uuid::Uuid::new_v4().as_u64_pair().0;
            *guard = Some(GroupCoordinator::without_partitions(
                group_config(broker, partitions),
                Box::new(SeededUuids::new(seed)),
                broker.now_ms(),
            ));
        }
    }
    place(broker).await;
    if !service.driver_started.swap(true, Ordering::AcqRel) {
        let completions = service
            .completions
            .lock()
            .expect("completions receiver")
            .take()
            .expect("the driver starts once");
        tokio::spawn(drive(Arc::downgrade(broker), completions));
    }
    Ok(())
}

/// The offsets partitions this broker leads now.
fn led_partitions(broker: &Broker, partitions: i32) -> BTreeSet<i32> {
    let metadata = broker.metadata.current();
    (0..partitions)
        .filter(|p| {
            broker
                .leader_partition(&metadata, OFFSETS_TOPIC, *p)
                .is_ok()
        })
        .collect()
}

/// Brings the partitions the coordinator serves in line with those this broker
/// leads: unloads the ones it lost, loads the ones it gained.
async fn place(broker: &Arc<Broker>) {
    let service = &broker.groups;
    let mut failed = service.placement.lock().await;
    let (partitions, owned) = {
        let guard = service.coordinator.lock().await;
        let Some(coordinator) = guard.as_ref() else {
            return;
        };
        let owned: BTreeSet<i32> = coordinator.owned_partitions().map(|p| p.0).collect();
        (coordinator.config().offsets_topic_partitions, owned)
    };
    let led = led_partitions(broker, partitions);
    failed.retain(|p| led.contains(p));
    for partition in owned.difference(&led) {
        tracing::info!(
            partition,
            "no longer leading {OFFSETS_TOPIC}; unloading its groups"
        );
        let mut guard = service.coordinator.lock().await;
        let coordinator = guard.as_mut().expect("created");
        let effects = coordinator.unload_partition(OffsetsPartition(*partition));
        run_effects(broker, coordinator, effects);
    }
    for partition in led.difference(&owned) {
        if failed.contains(partition) {
            continue;
        }
        let partition = OffsetsPartition(*partition);
        service
            .coordinator
            .lock()
            .await
            .as_mut()
            .expect("created")
            .begin_load(partition);
        // Read without the coordinator's lock: the partition's groups are answered
        // COORDINATOR_LOAD_IN_PROGRESS meanwhile, the others are served.
        let records = read_partition(broker, partition);
        let mut guard = service.coordinator.lock().await;
        let coordinator = guard.as_mut().expect("created");
        let loaded = match records {
            Ok(records) => coordinator
                .complete_load_from_bytes(partition, records, broker.now_ms())
                .map_err(|error| error.to_string()),
            Err(error) => {
                coordinator.abort_load(partition);
                Err(error)
            }
        };
        match loaded {
            Ok(effects) => run_effects(broker, coordinator, effects),
            Err(error) => {
                tracing::error!(partition = partition.0, %error, "cannot load {OFFSETS_TOPIC} partition");
                failed.insert(partition.0);
            }
        }
    }
}

/// Every keyed record of an offsets partition, in log order.
#[allow(clippy::type_complexity)]
fn read_partition(
    broker: &Broker,
    partition: OffsetsPartition,
) -> Result<Vec<(bytes::Bytes, Option<bytes::Bytes>)>, String> {
    let metadata = broker.metadata.current();
    let (local, _) = broker
        .leader_partition(&metadata, OFFSETS_TOPIC, partition.0)
        .map_err(|error| error.to_string())?;
    let mut records = Vec::new();
    let mut offset = local.offsets().log_start_offset;
    loop {
        let data = local
            .read_to_log_end(offset, LOAD_READ_BYTES, true)
            .map_err(|error| error.message)?;
        if data.records.is_empty() {
            break;
        }
        let mut bytes = data.records.clone();
        let last = crate::kafka::log::batch::split_batches(&data.records)
            .filter_map(Result::ok)
            .map(|(header, _)| header.last_offset())
            .last();
        for set in RecordBatchDecoder::decode_all(&mut bytes).map_err(|error| error.to_string())? {
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
    Ok(records)
}

/// Runs a placement pass when `group_id`'s partition changed hands since the last
/// one, so a request right after a leadership change is not misdirected.
async fn place_if_moved(broker: &Arc<Broker>, group_ids: &[&str]) {
    let moved = {
        let guard = broker.groups.coordinator.lock().await;
        let Some(coordinator) = guard.as_ref() else {
            return;
        };
        let partitions = coordinator.config().offsets_topic_partitions;
        let metadata = broker.metadata.current();
        group_ids.iter().any(|group_id| {
            let partition = partition_for_group(group_id, partitions);
            let leads = broker
                .leader_partition(&metadata, OFFSETS_TOPIC, partition)
                .is_ok();
            leads != coordinator.owns(OffsetsPartition(partition))
        })
    };
    if moved {
        place(broker).await;
    }
}

/// Completes appends, fires timers and follows leadership, until the broker goes.
async fn drive(broker: Weak<Broker>, mut completions: mpsc::UnboundedReceiver<AppendOutcome>) {
    let mut next_placement_ms = 0;
    loop {
        let Some(broker) = broker.upgrade() else {
            return;
        };
        let service = &broker.groups;
        let now_ms = broker.now_ms();
        let next_deadline_ms = service
            .coordinator
            .lock()
            .await
            .as_ref()
            .and_then(GroupCoordinator::next_deadline_ms);
        let wake_ms = next_deadline_ms
            .unwrap_or(now_ms + IDLE_WAKE_MS)
            .min(next_placement_ms)
            .min(now_ms + IDLE_WAKE_MS);
        let wait_ms = (wake_ms - now_ms).max(0) as u64;
        let timers_changed = service.timers_changed.clone();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait_ms)) => {}
            _ = timers_changed.notified() => continue,
            completion = completions.recv() => {
                let Some((append, result)) = completion else {
                    return;
                };
                let mut guard = service.coordinator.lock().await;
                if let Some(coordinator) = guard.as_mut() {
                    let effects = coordinator.complete_append(append, result, broker.now_ms());
                    run_effects(&broker, coordinator, effects);
                }
                continue;
            }
        }
        {
            let mut guard = service.coordinator.lock().await;
            if let Some(coordinator) = guard.as_mut() {
                let effects = coordinator.tick(broker.now_ms());
                run_effects(&broker, coordinator, effects);
            }
        }
        if broker.now_ms() >= next_placement_ms {
            place(&broker).await;
            next_placement_ms = broker.now_ms() + PLACEMENT_POLL_MS as i64;
        }
    }
}

/// Carries out effects in order. Records are appended with acks=all; an append
/// that fails or completes at once is reported back right here, one that waits
/// for the ISR is reported by the driver when the wait ends.
fn run_effects(broker: &Arc<Broker>, coordinator: &mut GroupCoordinator, effects: Vec<Effect>) {
    let mut queue: VecDeque<Effect> = effects.into();
    while let Some(effect) = queue.pop_front() {
        match effect {
            Effect::Persist {
                partition,
                records,
                append,
            } => match crate::kafka::disk::blocking(|| start_append(broker, partition, &records)) {
                Ok(Some(wait)) => {
                    let sender = broker.groups.completions_sender.clone();
                    let guard_ms =
                        offsets_commit_timeout_ms(broker) as u64 + REPLICATION_WAIT_GUARD_MS;
                    tokio::spawn(await_replication(sender, append, wait, guard_ms));
                }
                Ok(None) => {
                    queue.extend(coordinator.complete_append(append, Ok(()), broker.now_ms()))
                }
                Err(error) => {
                    queue.extend(coordinator.complete_append(append, Err(error), broker.now_ms()))
                }
            },
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

/// Appends one batch of coordinator records to the leader's log with acks=all;
/// the error is what a produce would have been answered.
fn start_append(
    broker: &Broker,
    partition: OffsetsPartition,
    records: &[CoordinatorRecord],
) -> Result<Option<ReplicationWait>, ResponseError> {
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
    RecordBatchEncoder::encode(
        &mut batch,
        &encoded,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .map_err(|error| {
        tracing::error!(%error, "cannot encode group records");
        ResponseError::UnknownServerError
    })?;
    let metadata = broker.metadata.current();
    let (local, limits) = broker.leader_partition(&metadata, OFFSETS_TOPIC, partition.0)?;
    let (_, wait) = local
        .append_from_client_with_acks(
            &batch,
            limits,
            now_ms,
            Acks::All,
            offsets_commit_timeout_ms(broker),
        )
        .map_err(|error| {
            tracing::debug!(partition = partition.0, message = %error.message, "group records refused");
            error.error
        })?;
    broker
        .metrics
        .record_internal_append(OFFSETS_TOPIC, encoded.len() as u64, batch.len() as u64);
    broker.notify_append();
    Ok(wait)
}

/// Waits for the ISR to have an append and reports the outcome to the driver.
async fn await_replication(
    completions: mpsc::UnboundedSender<AppendOutcome>,
    append: AppendId,
    wait: ReplicationWait,
    guard_ms: u64,
) {
    let result = match tokio::time::timeout(Duration::from_millis(guard_ms), wait).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(error))) => Err(error.response_error()),
        // The partition went away with the wait: no longer its leader.
        Ok(Err(_)) => Err(ResponseError::NotLeaderOrFollower),
        Err(_) => Err(ResponseError::RequestTimedOut),
    };
    let _ = completions.send((append, result));
}

/// Runs one coordinator call for a request about `group_ids` and waits for its
/// answer (which may come later: from another member's request, a timer, or the
/// completion of the append it wrote).
async fn call(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    group_ids: &[&str],
    handle: impl FnOnce(&mut GroupCoordinator, &RequestContext, i64) -> Vec<Effect>,
) -> Result<Response, ResponseError> {
    ensure_started(broker).await?;
    place_if_moved(broker, group_ids).await;
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
        let coordinator = guard.as_mut().expect("started above");
        let effects = handle(coordinator, &context, broker.now_ms());
        run_effects(broker, coordinator, effects);
    }
    service.timers_changed.notify_one();
    receiver
        .await
        .map_err(|_| ResponseError::UnknownServerError)
}

/// Reads that the coordinator answers at once.
async fn read<T>(
    broker: &Arc<Broker>,
    group_ids: &[&str],
    read: impl FnOnce(&GroupCoordinator) -> T,
) -> Result<T, ResponseError> {
    ensure_started(broker).await?;
    place_if_moved(broker, group_ids).await;
    let guard = broker.groups.coordinator.lock().await;
    Ok(read(guard.as_ref().expect("started above")))
}

/// FindCoordinator: a group's coordinator is the leader of its offsets partition
/// (`Utils.abs(groupId.hashCode) % partitions`), from the metadata; v4+ batches keys
/// (v5 only adds an error code clients may get, v6 the share-group key type, which
/// is answered COORDINATOR_NOT_AVAILABLE as the transaction type is).
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
        // Starting the service also loads the partitions this broker leads, as
        // Kafka does on election, so the coordinator named is ready sooner.
        ensure_started(broker).await
    } else {
        // Transaction coordinators come with transactions.
        Err(ResponseError::CoordinatorNotAvailable)
    };
    let metadata = broker.metadata.current();
    let mut response = FindCoordinatorResponse::default();
    for key in &keys {
        let mut coordinator = Coordinator::default();
        coordinator.key = str_bytes(key);
        let authorized = if request.key_type == 0 {
            broker
                .authorize(AclOperation::Describe, ResourceType::Group, key)
                .then_some(())
                .ok_or(ResponseError::GroupAuthorizationFailed)
        } else {
            broker
                .authorize(AclOperation::Describe, ResourceType::TransactionalId, key)
                .then_some(())
                .ok_or(ResponseError::TransactionalIdAuthorizationFailed)
        };
        let found = authorized
            .and(outcome)
            .and_then(|()| group_coordinator(broker, &metadata, key));
        match found {
            Ok((node_id, host, port)) => {
                coordinator.node_id = node_id.into();
                coordinator.host = str_bytes(&host);
                coordinator.port = port;
            }
            Err(error) => {
                coordinator.error_code = error.code();
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
        // Kafka's `Errors.message()`: "NONE" on success.
        response.error_message = Some(str_bytes(&if first.error_code == 0 {
            "NONE".to_string()
        } else {
            match ResponseError::try_from_code(first.error_code) {
                // Kafka's `Errors` messages.
                Some(ResponseError::GroupAuthorizationFailed) => {
                    "Group authorization failed.".to_string()
                }
                Some(ResponseError::TransactionalIdAuthorizationFailed) => {
                    "Transactional Id authorization failed.".to_string()
                }
                Some(ResponseError::CoordinatorNotAvailable) => {
                    "The coordinator is not available.".to_string()
                }
                other => other.map(|e| e.to_string()).unwrap_or_default(),
            }
        }));
    }
    response
}

/// The leader of `group_id`'s offsets partition and its client endpoint.
fn group_coordinator(
    broker: &Broker,
    metadata: &ClusterMetadata,
    group_id: &str,
) -> Result<(i32, String, i32), ResponseError> {
    let topic = metadata
        .topics
        .get(OFFSETS_TOPIC)
        .filter(|topic| !topic.partitions.is_empty())
        .ok_or(ResponseError::CoordinatorNotAvailable)?;
    let partition = partition_for_group(group_id, topic.partitions.len() as i32);
    let leader = topic
        .partitions
        .get(&partition)
        .and_then(|state| state.leader)
        .ok_or(ResponseError::CoordinatorNotAvailable)?;
    let endpoint = metadata
        .brokers
        .get(&leader)
        .and_then(|registration| broker.client_endpoint(registration))
        .ok_or(ResponseError::CoordinatorNotAvailable)?;
    Ok((leader.0, endpoint.host.clone(), endpoint.port as i32))
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
    if !broker.authorize(
        AclOperation::Read,
        ResourceType::Group,
        request.group_id.0.as_str(),
    ) {
        let mut response = JoinGroupResponse::default();
        response.error_code = ResponseError::GroupAuthorizationFailed.code();
        response.generation_id = -1;
        return response;
    }
    let result = call(
        broker,
        header,
        &[request.group_id.0.as_str()],
        |c, ctx, now| c.handle_join_group(ctx, &request, now),
    )
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
    if !broker.authorize(
        AclOperation::Read,
        ResourceType::Group,
        request.group_id.0.as_str(),
    ) {
        let mut response = SyncGroupResponse::default();
        response.error_code = ResponseError::GroupAuthorizationFailed.code();
        return response;
    }
    let result = call(
        broker,
        header,
        &[request.group_id.0.as_str()],
        |c, ctx, now| c.handle_sync_group(ctx, &request, now),
    )
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
    if !broker.authorize(
        AclOperation::Read,
        ResourceType::Group,
        request.group_id.0.as_str(),
    ) {
        let mut response = HeartbeatResponse::default();
        response.error_code = ResponseError::GroupAuthorizationFailed.code();
        return response;
    }
    let result = call(
        broker,
        header,
        &[request.group_id.0.as_str()],
        |c, ctx, now| c.handle_heartbeat(ctx, &request, now),
    )
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
    if !broker.authorize(
        AclOperation::Read,
        ResourceType::Group,
        request.group_id.0.as_str(),
    ) {
        let mut response = LeaveGroupResponse::default();
        response.error_code = ResponseError::GroupAuthorizationFailed.code();
        return response;
    }
    let result = call(
        broker,
        header,
        &[request.group_id.0.as_str()],
        |c, ctx, now| c.handle_leave_group(ctx, &request, now),
    )
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
    // As KafkaApis.handleOffsetCommitRequest: READ on the group, then READ on each
    // topic (refused topics answered TOPIC_AUTHORIZATION_FAILED per partition).
    if !broker.authorize(
        AclOperation::Read,
        ResourceType::Group,
        request.group_id.0.as_str(),
    ) {
        let (_, refused) = split_partitions(
            request,
            |_, _| false,
            ResponseError::GroupAuthorizationFailed,
        );
        return refused;
    }
    let (request, mut refused) = split_partitions(
        request,
        |topic, _| broker.authorize(AclOperation::Read, ResourceType::Topic, topic),
        ResponseError::TopicAuthorizationFailed,
    );
    let mut response = offset_commit_authorized(broker, header, request).await;
    response.topics.append(&mut refused.topics);
    response
}

async fn offset_commit_authorized(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    request: OffsetCommitRequest,
) -> OffsetCommitResponse {
    if header.request_api_version == 0 {
        return offset_commit_to_zookeeper(broker, request).await;
    }
    // As KafkaApis.handleOffsetCommitRequest: unknown topics and partitions are
    // answered UNKNOWN_TOPIC_OR_PARTITION before the group is looked at, and only
    // the rest goes to the coordinator.
    let (request, unknown) = split_unknown_partitions(&broker.metadata.current(), request);
    if request.topics.is_empty() {
        return unknown;
    }
    let mut response = offset_commit_to_coordinator(broker, header, request).await;
    response.topics.extend(unknown.topics);
    response
}

/// Moves the partitions of `request` whose topic or partition the metadata does not
/// know into an OffsetCommit answer of their own.
fn split_unknown_partitions(
    metadata: &ClusterMetadata,
    request: OffsetCommitRequest,
) -> (OffsetCommitRequest, OffsetCommitResponse) {
    split_partitions(
        request,
        |topic, partition| {
            metadata
                .topics
                .get(topic)
                .is_some_and(|known| known.partitions.contains_key(&partition))
        },
        ResponseError::UnknownTopicOrPartition,
    )
}

/// Moves the partitions of `request` that `keep` (topic, partition) refuses into
/// an OffsetCommit answer of their own, each with `error`.
fn split_partitions(
    mut request: OffsetCommitRequest,
    mut keep: impl FnMut(&str, i32) -> bool,
    error: ResponseError,
) -> (OffsetCommitRequest, OffsetCommitResponse) {
    use offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
    let mut unknown = OffsetCommitResponse::default();
    for topic in &mut request.topics {
        let name = topic.name.0.as_str().to_string();
        let (kept, refused): (Vec<_>, Vec<_>) = std::mem::take(&mut topic.partitions)
            .into_iter()
            .partition(|partition| keep(&name, partition.partition_index));
        topic.partitions = kept;
        if !refused.is_empty() {
            let mut answer = OffsetCommitResponseTopic::default();
            answer.name = topic.name.clone();
            answer.topic_id = topic.topic_id;
            for partition in refused {
                let mut refused_answer = OffsetCommitResponsePartition::default();
                refused_answer.partition_index = partition.partition_index;
                refused_answer.error_code = error.code();
                answer.partitions.push(refused_answer);
            }
            unknown.topics.push(answer);
        }
    }
    request.topics.retain(|topic| !topic.partitions.is_empty());
    (request, unknown)
}

async fn offset_commit_to_coordinator(
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
    let result = call(
        broker,
        header,
        &[request.group_id.0.as_str()],
        |c, ctx, now| c.handle_offset_commit(ctx, &request, now),
    )
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
    mut request: OffsetFetchRequest,
) -> OffsetFetchResponse {
    // DESCRIBE on each group, then on each topic: refused requested topics are
    // answered TOPIC_AUTHORIZATION_FAILED, refused ones in an all-topics answer
    // are left out (KafkaApis.handleOffsetFetchRequest).
    let describe_topic =
        |name: &str| broker.authorize(AclOperation::Describe, ResourceType::Topic, name);
    if version < 8 {
        if !broker.authorize(
            AclOperation::Describe,
            ResourceType::Group,
            request.group_id.0.as_str(),
        ) {
            let mut response = OffsetFetchResponse::default();
            response.error_code = ResponseError::GroupAuthorizationFailed.code();
            return response;
        }
        let mut refused = Vec::new();
        if let Some(topics) = request.topics.as_mut() {
            let (kept, denied): (Vec<_>, Vec<_>) = std::mem::take(topics)
                .into_iter()
                .partition(|topic| describe_topic(topic.name.0.as_str()));
            *topics = kept;
            refused = denied
                .into_iter()
                .map(|topic| {
                    let mut answer = offset_fetch_response::OffsetFetchResponseTopic::default();
                    answer.name = topic.name;
                    answer.partitions = topic
                        .partition_indexes
                        .into_iter()
                        .map(|index| {
                            let mut partition =
                                offset_fetch_response::OffsetFetchResponsePartition::default();
                            partition.partition_index = index;
                            partition.committed_offset = -1;
                            partition.metadata = Some(Default::default());
                            partition.error_code = ResponseError::TopicAuthorizationFailed.code();
                            partition
                        })
                        .collect();
                    answer
                })
                .collect();
        }
        let all_topics = request.topics.is_none();
        let mut response = offset_fetch_authorized(broker, version, request).await;
        if all_topics {
            response.topics.retain(|topic| {
                broker.authorize_quietly(
                    AclOperation::Describe,
                    ResourceType::Topic,
                    topic.name.0.as_str(),
                )
            });
        }
        response.topics.extend(refused);
        return response;
    }
    let mut refused_groups = Vec::new();
    let mut refused_topics: BTreeMap<
        String,
        Vec<offset_fetch_response::OffsetFetchResponseTopics>,
    > = BTreeMap::new();
    let mut all_topics_groups = BTreeSet::new();
    let (kept, denied): (Vec<_>, Vec<_>) = std::mem::take(&mut request.groups)
        .into_iter()
        .partition(|group| {
            broker.authorize(
                AclOperation::Describe,
                ResourceType::Group,
                group.group_id.0.as_str(),
            )
        });
    request.groups = kept;
    for group in denied {
        let mut answer = offset_fetch_response::OffsetFetchResponseGroup::default();
        answer.group_id = group.group_id;
        answer.error_code = ResponseError::GroupAuthorizationFailed.code();
        refused_groups.push(answer);
    }
    for group in &mut request.groups {
        let id = group.group_id.0.as_str().to_string();
        let Some(topics) = group.topics.as_mut() else {
            all_topics_groups.insert(id);
            continue;
        };
        let (kept, denied): (Vec<_>, Vec<_>) = std::mem::take(topics)
            .into_iter()
            .partition(|topic| describe_topic(topic.name.0.as_str()));
        *topics = kept;
        let answers = refused_topics.entry(id).or_default();
        for topic in denied {
            let mut answer = offset_fetch_response::OffsetFetchResponseTopics::default();
            answer.name = topic.name;
            answer.partitions = topic
                .partition_indexes
                .into_iter()
                .map(|index| {
                    let mut partition =
                        offset_fetch_response::OffsetFetchResponsePartitions::default();
                    partition.partition_index = index;
                    partition.committed_offset = -1;
                    partition.metadata = Some(Default::default());
                    partition.error_code = ResponseError::TopicAuthorizationFailed.code();
                    partition
                })
                .collect();
            answers.push(answer);
        }
    }
    let mut response = if request.groups.is_empty() {
        OffsetFetchResponse::default()
    } else {
        offset_fetch_authorized(broker, version, request).await
    };
    for group in &mut response.groups {
        let id = group.group_id.0.as_str();
        if all_topics_groups.contains(id) {
            group.topics.retain(|topic| {
                broker.authorize_quietly(
                    AclOperation::Describe,
                    ResourceType::Topic,
                    topic.name.0.as_str(),
                )
            });
        }
        if let Some(mut refused) = refused_topics.remove(id) {
            group.topics.append(&mut refused);
        }
    }
    response.groups.extend(refused_groups);
    response
}

async fn offset_fetch_authorized(
    broker: &Arc<Broker>,
    version: i16,
    request: OffsetFetchRequest,
) -> OffsetFetchResponse {
    if version == 0 {
        return offset_fetch_from_zookeeper(broker, request).await;
    }
    let groups: Vec<GroupId> = request
        .groups
        .iter()
        .map(|group| group.group_id.clone())
        .collect();
    let group_ids: Vec<&str> = if version >= 8 {
        groups.iter().map(|group| group.0.as_str()).collect()
    } else {
        vec![request.group_id.0.as_str()]
    };
    match read(broker, &group_ids, |c| {
        c.handle_offset_fetch(version, &request)
    })
    .await
    {
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

/// OffsetCommit v0, as Kafka 3.9 in ZooKeeper mode answers it
/// (`KafkaApis.commitOffsetsToZookeeper`): any broker takes it, without a group
/// coordinator or membership, and writes each offset to ZooKeeper; unknown topics
/// and partitions are refused per partition (`split_unknown_partitions`, as for
/// v1+), metadata over
/// `offset.metadata.max.bytes` too.
async fn offset_commit_to_zookeeper(
    broker: &Arc<Broker>,
    request: OffsetCommitRequest,
) -> OffsetCommitResponse {
    use offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
    let metadata_bytes_max = group_config(broker, 1).offset_metadata_bytes_max;
    let group = request.group_id.0.as_str().to_string();
    let (request, unknown) = split_unknown_partitions(&broker.metadata.current(), request);
    let mut response = OffsetCommitResponse::default();
    for topic in &request.topics {
        let mut topic_response = OffsetCommitResponseTopic::default();
        topic_response.name = topic.name.clone();
        for partition in &topic.partitions {
            let too_large = partition
                .committed_metadata
                .as_ref()
                .is_some_and(|text| text.as_str().encode_utf16().count() > metadata_bytes_max);
            let error = if too_large {
                ResponseError::OffsetMetadataTooLarge.code()
            } else {
                match broker
                    .metadata
                    .set_zk_consumer_offset(
                        group.clone(),
                        topic.name.0.as_str().to_string(),
                        partition.partition_index,
                        partition.committed_offset,
                    )
                    .await
                {
                    Ok(()) => 0,
                    Err(error) => error.code,
                }
            };
            let mut partition_response = OffsetCommitResponsePartition::default();
            partition_response.partition_index = partition.partition_index;
            partition_response.error_code = error;
            topic_response.partitions.push(partition_response);
        }
        response.topics.push(topic_response);
    }
    response.topics.extend(unknown.topics);
    response
}

/// OffsetFetch v0 (`KafkaApis.handleOffsetFetchRequestFromZookeeper`): the offsets
/// OffsetCommit v0 wrote, read from ZooKeeper by any broker; a partition without
/// one, or of an unknown topic, answers offset -1 with UNKNOWN_TOPIC_OR_PARTITION
/// (Kafka's `OffsetFetchResponse.UNKNOWN_PARTITION`).
async fn offset_fetch_from_zookeeper(
    broker: &Arc<Broker>,
    request: OffsetFetchRequest,
) -> OffsetFetchResponse {
    use offset_fetch_response::{OffsetFetchResponsePartition, OffsetFetchResponseTopic};
    let metadata = broker.metadata.current();
    let group = request.group_id.0.as_str().to_string();
    let mut response = OffsetFetchResponse::default();
    for topic in request.topics.iter().flatten() {
        let mut topic_response = OffsetFetchResponseTopic::default();
        topic_response.name = topic.name.clone();
        let known = metadata.topics.get(topic.name.0.as_str());
        for &index in &topic.partition_indexes {
            let mut partition = OffsetFetchResponsePartition::default();
            partition.partition_index = index;
            partition.committed_offset = -1;
            partition.metadata = Some(Default::default());
            partition.error_code = ResponseError::UnknownTopicOrPartition.code();
            if known.is_some_and(|known| known.partitions.contains_key(&index)) {
                match broker
                    .metadata
                    .zk_consumer_offset(group.clone(), topic.name.0.as_str().to_string(), index)
                    .await
                {
                    Ok(Some(offset)) => {
                        partition.committed_offset = offset;
                        partition.error_code = 0;
                    }
                    Ok(None) => {}
                    Err(error) => partition.error_code = error.code,
                }
            }
            topic_response.partitions.push(partition);
        }
        response.topics.push(topic_response);
    }
    response
}

pub async fn offset_delete(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    request: OffsetDeleteRequest,
) -> OffsetDeleteResponse {
    if !broker.authorize(
        AclOperation::Delete,
        ResourceType::Group,
        request.group_id.0.as_str(),
    ) {
        let mut response = OffsetDeleteResponse::default();
        response.error_code = ResponseError::GroupAuthorizationFailed.code();
        return response;
    }
    let result = call(
        broker,
        header,
        &[request.group_id.0.as_str()],
        |c, ctx, now| c.handle_offset_delete(ctx, &request, now),
    )
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
    mut request: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let (kept, denied): (Vec<_>, Vec<_>) = std::mem::take(&mut request.groups_names)
        .into_iter()
        .partition(|name| {
            broker.authorize(AclOperation::Delete, ResourceType::Group, name.0.as_str())
        });
    request.groups_names = kept;
    let refused: Vec<_> = denied
        .into_iter()
        .map(|name| {
            let mut result = delete_groups_response::DeletableGroupResult::default();
            result.group_id = name;
            result.error_code = ResponseError::GroupAuthorizationFailed.code();
            result
        })
        .collect();
    let mut response = if request.groups_names.is_empty() {
        DeleteGroupsResponse::default()
    } else {
        delete_groups_authorized(broker, header, request).await
    };
    response.results.extend(refused);
    response
}

async fn delete_groups_authorized(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    request: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let names = request.groups_names.clone();
    let group_ids: Vec<&str> = names.iter().map(|name| name.0.as_str()).collect();
    let result = call(broker, header, &group_ids, |c, ctx, now| {
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
    // ListGroups covers every partition: follow leadership changes first.
    if ensure_started(broker).await.is_ok() {
        place(broker).await;
    }
    match read(broker, &[], |c| c.handle_list_groups(&request)).await {
        Ok(mut response) => {
            // DESCRIBE on the cluster lists every group, else the groups one may
            // describe (unlogged).
            if !broker.authorize_quietly(
                AclOperation::Describe,
                ResourceType::Cluster,
                CLUSTER_NAME,
            ) {
                response.groups.retain(|group| {
                    broker.authorize_quietly(
                        AclOperation::Describe,
                        ResourceType::Group,
                        group.group_id.0.as_str(),
                    )
                });
            }
            response
        }
        Err(error) => {
            let mut response = ListGroupsResponse::default();
            response.error_code = error.code();
            response
        }
    }
}

pub async fn describe_groups(
    broker: &Arc<Broker>,
    version: i16,
    mut request: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let (kept, denied): (Vec<_>, Vec<_>) = std::mem::take(&mut request.groups)
        .into_iter()
        .partition(|name| {
            broker.authorize(AclOperation::Describe, ResourceType::Group, name.0.as_str())
        });
    request.groups = kept;
    let refused: Vec<_> = denied
        .into_iter()
        .map(|name| {
            let mut group = describe_groups_response::DescribedGroup::default();
            group.group_id = name;
            group.error_code = ResponseError::GroupAuthorizationFailed.code();
            group.authorized_operations = i32::MIN;
            group
        })
        .collect();
    let mut response = if request.groups.is_empty() {
        DescribeGroupsResponse::default()
    } else {
        describe_groups_authorized(broker, version, request).await
    };
    response.groups.extend(refused);
    response
}

async fn describe_groups_authorized(
    broker: &Arc<Broker>,
    version: i16,
    request: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let names = request.groups.clone();
    let group_ids: Vec<&str> = names.iter().map(|name| name.0.as_str()).collect();
    match read(broker, &group_ids, |c| c.handle_describe_groups(&request)).await {
        Ok(mut response) => {
            // As KafkaApis.handleDescribeGroupsRequest: v3+, when asked, for the
            // groups described without an error.
            if version >= 3 && request.include_authorized_operations {
                for group in response.groups.iter_mut().filter(|g| g.error_code == 0) {
                    group.authorized_operations = broker
                        .authorized_operations(ResourceType::Group, group.group_id.0.as_str());
                }
            }
            response
        }
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
