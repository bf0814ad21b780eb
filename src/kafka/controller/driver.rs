//! The task behind a `ZkMetadataStore`: it keeps the broker registered, mirrors the
//! znodes into a `ClusterMetadata` (one-shot watches, re-armed on every read), takes
//! part in controller election, and, while this broker is the controller, does the
//! controller's ZooKeeper work (topic ids, partition states, leader moves, topic
//! deletion).
//!
//! All of it runs on one task, so the cache needs no locks: watch events, session
//! changes and a periodic tick are the only inputs. Every controller write goes out
//! in a multi-op guarded by a version check of `/controller_epoch`, as Kafka's
//! controller does, so a controller that lost its seat cannot overwrite its successor.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use zookeeper_client as zk;

mod acls;
mod elections;
mod quotas;

use super::channel::{self, ChannelManager, ControllerContext, Delivered, LiveBroker};
use super::election::{self, LeaderAndIsr};
use super::rpcs::{self, errors, AlterDecision, LeaderAndIsrState};
use super::session::{self, ensure_path, persistent, retry, zk_error};
use super::zk_layout::{self as layout, BrokerZnode, PartitionStateZnode, TopicZnode};
use super::{ControllerError, Shared};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
};

/// Partition reassignment (KIP-455): the znode, the APIs and the phases.
mod reassign;
use crate::kafka::metadata::{
    BrokerId, BrokerRegistration, ClusterMetadata, ElectionOutcome, ElectionType, PartitionName,
    PartitionState, TopicId, TopicMetadata,
};
use crate::kafka::protocol::inter_broker::alter_partition::{
    AlterPartitionPartitionResult, AlterPartitionTopicResult,
};
use crate::kafka::protocol::inter_broker::controlled_shutdown::RemainingPartition;
use crate::kafka::protocol::inter_broker::{
    AlterPartitionRequest, AlterPartitionResponse, ControlledShutdownRequest,
    ControlledShutdownResponse, InterBrokerRequest, InterBrokerResponse,
};

/// Requests the controller role answers, sent to the driver task by store handles.
pub enum Command {
    AlterPartition {
        request: AlterPartitionRequest,
        reply: oneshot::Sender<AlterPartitionResponse>,
    },
    ControlledShutdown {
        request: ControlledShutdownRequest,
        reply: oneshot::Sender<ControlledShutdownResponse>,
    },
    ElectLeaders {
        election_type: ElectionType,
        partitions: Vec<PartitionName>,
        reply: oneshot::Sender<Vec<ElectionOutcome>>,
    },
    AlterPartitionReassignments {
        request: AlterPartitionReassignmentsRequest,
        reply: oneshot::Sender<AlterPartitionReassignmentsResponse>,
    },
    ListPartitionReassignments {
        request: ListPartitionReassignmentsRequest,
        reply: oneshot::Sender<ListPartitionReassignmentsResponse>,
    },
}

/// How often the task re-runs the controller's duties and purges old config change
/// notifications, even without a watch firing (a write refused by a transient
/// error is retried here).
const TICK_MS: u64 = 10_000;

/// How often a conflicting broker registration is retried.
const REGISTRATION_RETRY_MS: u64 = 1_000;
/// Extra time past the session timeout before a conflicting registration is fatal.
const REGISTRATION_EXPIRY_MARGIN_MS: u64 = 5_000;
/// Kafka's `ZkNodeChangeNotificationListener.changeExpirationMs`: notifications
/// older than this are deleted by whichever broker sees them.
const CONFIG_CHANGE_EXPIRATION_MS: i64 = 15 * 60 * 1000;
/// Rounds of "someone else changed it, read again" before a write gives up until
/// the next event.
const CONFLICT_ROUNDS_MAX: u32 = 5;

/// What a one-shot watch was set on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WatchKey {
    BrokerIds,
    Broker(BrokerId),
    Topics,
    Topic(String),
    PartitionState(String, i32),
    DeleteTopics,
    ConfigChanges,
    /// `/kafka-acl-changes` and `/kafka-acl-extended-changes` (with an authorizer).
    AclChanges,
    ExtendedAclChanges,
    Controller,
    PreferredReplicaElection,
    /// An existence watch on `/admin/reassign_partitions` (controller only).
    ReassignPartitions,
}

struct Fired {
    /// Watches of an expired session are ignored.
    generation: u64,
    key: WatchKey,
    event: zk::WatchedEvent,
}

#[derive(Debug, Clone)]
struct CachedTopic {
    znode: TopicZnode,
    zk_version: i32,
    /// Partition state znodes and their versions, by partition.
    states: BTreeMap<i32, (PartitionStateZnode, i32)>,
    configs: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
struct Cache {
    cluster_id: String,
    controller: Option<BrokerId>,
    brokers: BTreeMap<BrokerId, BrokerRegistration>,
    /// The same brokers with their czxid (broker epoch) and security protocols.
    live: BTreeMap<BrokerId, LiveBroker>,
    topics: BTreeMap<String, CachedTopic>,
    deletions: BTreeSet<String>,
    broker_configs: BTreeMap<Option<BrokerId>, BTreeMap<String, String>>,
    /// Every ACL, when this broker has an authorizer (`acls`).
    acls: Arc<crate::kafka::security::acl::AclTable>,
    /// User and client-id quotas (`quotas`).
    quotas: Arc<crate::kafka::quota::QuotaTable>,
}

/// This broker's seat as controller.
#[derive(Debug, Clone, Copy)]
struct ControllerRole {
    epoch: i32,
    /// The version of `/controller_epoch` our election wrote: every controller
    /// write checks it.
    epoch_zk_version: i32,
}

pub struct Driver {
    shared: Arc<Shared>,
    client: zk::Client,
    generation: u64,
    /// Sessions this broker owned before, whose leftover ephemerals it may replace.
    sessions_previous: Vec<i64>,
    events_tx: mpsc::UnboundedSender<Fired>,
    events_rx: mpsc::UnboundedReceiver<Fired>,
    /// Keys with a watch outstanding; each produces at most one event, so this set
    /// bounds the event queue.
    armed: HashSet<WatchKey>,
    cache: Cache,
    role: Option<ControllerRole>,
    config_change_last: i64,
    /// The last ACL change notification applied: literal store, extended store.
    acl_change_last: [i64; 2],
    publish: watch::Sender<Arc<ClusterMetadata>>,
    /// A read failed: rebuild everything on the next tick.
    dirty: bool,
    commands_rx: mpsc::UnboundedReceiver<Command>,
    /// While controller: the senders to the brokers, and what they were last told.
    channels: Option<ChannelManager>,
    acted: Option<ControllerContext>,
    delivered_tx: mpsc::UnboundedSender<Delivered>,
    delivered_rx: mpsc::UnboundedReceiver<Delivered>,
    /// Brokers that asked for a controlled shutdown and are still registered.
    shutting_down: BTreeSet<BrokerId>,
    /// Topics being deleted: the (replica, partition) pairs whose StopReplica(delete)
    /// has not been answered without error yet. The znodes go once a set is empty.
    deletion_pending: BTreeMap<String, BTreeSet<(BrokerId, i32)>>,
    /// Replicas that answered StopReplica(delete) with an error: asked again on the tick.
    deletion_retry: BTreeSet<(BrokerId, String, i32)>,
    /// The partitions `/admin/preferred_replica_election` lists, until the controller
    /// has run their elections (`elections`).
    preferred_requested: Option<BTreeSet<PartitionName>>,
    /// While controller with `auto.leader.rebalance.enable`: the next balance check.
    rebalance_due: Option<tokio::time::Instant>,
    /// Partition reassignment's own bookkeeping (`reassign`).
    reassign: reassign::Progress,
}

impl Driver {
    pub fn new(
        shared: Arc<Shared>,
        client: zk::Client,
        publish: watch::Sender<Arc<ClusterMetadata>>,
        commands_rx: mpsc::UnboundedReceiver<Command>,
    ) -> Driver {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (delivered_tx, delivered_rx) = mpsc::unbounded_channel();
        Driver {
            shared,
            client,
            generation: 0,
            sessions_previous: Vec::new(),
            events_tx,
            events_rx,
            armed: HashSet::new(),
            cache: Cache::default(),
            role: None,
            config_change_last: -1,
            acl_change_last: [-1, -1],
            publish,
            dirty: false,
            commands_rx,
            channels: None,
            acted: None,
            delivered_tx,
            delivered_rx,
            shutting_down: BTreeSet::new(),
            deletion_pending: BTreeMap::new(),
            deletion_retry: BTreeSet::new(),
            preferred_requested: None,
            rebalance_due: None,
            reassign: reassign::Progress::default(),
        }
    }

    fn me(&self) -> BrokerId {
        self.shared.broker_id
    }

    /// Registration, first picture, election: what `start` waits for.
    pub async fn begin(&mut self) -> Result<(), ControllerError> {
        if self.acls_enabled() {
            self.create_acl_paths().await?;
        }
        self.register_broker().await?;
        self.full_reload().await?;
        self.reload_controller().await?;
        self.reconcile().await;
        self.run_elections().await;
        self.send_to_brokers();
        self.publish_now();
        Ok(())
    }

    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut state_watcher = self.client.state_watcher();
        let mut tick = tokio::time::interval(Duration::from_millis(TICK_MS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            let mut session_lost = false;
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break;
                    }
                }
                state = state_watcher.changed() => {
                    tracing::info!(?state, broker = %self.me(), "ZooKeeper session state changed");
                    if matches!(state, zk::SessionState::Expired | zk::SessionState::Closed | zk::SessionState::AuthFailed) {
                        session_lost = true;
                    }
                }
                Some(fired) = self.events_rx.recv() => {
                    session_lost |= self.on_fired(fired).await;
                    // Handle whatever else is queued before acting on the picture.
                    while let Ok(fired) = self.events_rx.try_recv() {
                        session_lost |= self.on_fired(fired).await;
                    }
                }
                Some(command) = self.commands_rx.recv() => {
                    self.on_command(command).await;
                }
                Some(delivered) = self.delivered_rx.recv() => {
                    self.on_delivered(delivered);
                    while let Ok(delivered) = self.delivered_rx.try_recv() {
                        self.on_delivered(delivered);
                    }
                }
                _ = tokio::time::sleep_until(self.rebalance_due.unwrap_or_else(tokio::time::Instant::now)), if self.rebalance_due.is_some() => {}
                _ = tick.tick() => {
                    self.retry_deletions();
                    if self.dirty {
                        self.dirty = false;
                        if let Err(error) = self.full_reload().await {
                            tracing::warn!(%error, "reloading cluster metadata from ZooKeeper failed");
                            self.dirty = true;
                        }
                    }
                    self.purge_config_changes().await;
                    self.purge_acl_changes().await;
                }
            }
            if session_lost || self.client.state() == zk::SessionState::Expired {
                if !self.renew_session(&mut stop).await {
                    break;
                }
                state_watcher = self.client.state_watcher();
            }
            if self.cache.controller.is_none() {
                if let Err(error) = self.reload_controller().await {
                    tracing::warn!(%error, "controller election failed; retrying on the next event");
                }
            }
            self.reconcile().await;
            self.run_elections().await;
            self.send_to_brokers();
            self.publish_now();
        }
        tracing::info!(broker = %self.me(), "metadata driver stopped; closing the ZooKeeper session");
    }

    // -----------------------------------------------------------------------------
    // Session

    /// Replaces an expired session: new client, re-registration, fresh watches, new
    /// election. Kafka retries this for as long as the broker runs; so does keel,
    /// until asked to stop. Returns false when stopped.
    async fn renew_session(&mut self, stop: &mut watch::Receiver<bool>) -> bool {
        tracing::warn!(broker = %self.me(), session_id = %self.client.session_id(), "ZooKeeper session expired; opening a new one");
        self.role = None;
        self.cache.controller = None;
        self.send_to_brokers();
        let shared = self.shared.clone();
        let settings = &shared.settings;
        let mut backoff_ms = 100;
        loop {
            if *stop.borrow() {
                return false;
            }
            let client = match session::connect(
                &settings.connect,
                settings.session_timeout_ms,
                settings.connection_timeout_ms,
                &settings.zookeeper_security,
            )
            .await
            {
                Ok(client) => client,
                Err(error) => {
                    tracing::warn!(%error, "reconnecting to ZooKeeper failed");
                    tokio::time::sleep(Duration::from_millis(backoff_ms)).await;
                    backoff_ms = (backoff_ms * 2).min(5_000);
                    continue;
                }
            };
            self.sessions_previous.push(self.client.session_id().0);
            self.generation += 1;
            self.armed.clear();
            self.client = client.clone();
            self.shared.replace_client(client);
            match self.begin().await {
                Ok(()) => return true,
                Err(error) => {
                    tracing::error!(%error, "re-registering after session expiry failed; retrying");
                    tokio::time::sleep(Duration::from_millis(backoff_ms)).await;
                    backoff_ms = (backoff_ms * 2).min(5_000);
                }
            }
        }
    }

    /// `/brokers/ids/<id>`, created empty and then set, in one multi-op, as Kafka's
    /// `CheckedEphemeral` does. A znode left by one of our own expired sessions is
    /// replaced. Anybody else's may be this broker's previous life (a `kill -9` and
    /// restart within the session timeout): as Kafka does since KAFKA-7165, keep
    /// trying until that session has had time to expire, then give up with Kafka's
    /// conflict error.
    async fn register_broker(&mut self) -> Result<(), ControllerError> {
        let wait_ms =
            self.shared.settings.session_timeout_ms as u64 + REGISTRATION_EXPIRY_MARGIN_MS;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(wait_ms);
        loop {
            match self.register_broker_once().await {
                Err(ControllerError::BrokerIdTaken { path, owner, .. })
                    if tokio::time::Instant::now() < deadline =>
                {
                    tracing::warn!(
                        path,
                        owner = format!("{owner:#x}"),
                        "broker id is registered by another session; waiting for it to expire"
                    );
                    tokio::time::sleep(Duration::from_millis(REGISTRATION_RETRY_MS)).await;
                }
                other => return other,
            }
        }
    }

    async fn register_broker_once(&mut self) -> Result<(), ControllerError> {
        let path = layout::broker_path(self.me());
        let registration = BrokerZnode {
            timestamp_ms: session::now_ms(),
            ..self.shared.settings.registration.clone()
        };
        let data = registration.encode();
        for _ in 0..CONFLICT_ROUNDS_MAX {
            let client = self.client.clone();
            let options = session::ephemeral(&path);
            let result = retry("register broker", &path, || {
                let mut writer = client.new_multi_writer();
                let added = writer
                    .add_create(&path, &[], &options)
                    .and_then(|_| writer.add_set_data(&path, &data, Some(0)));
                async move {
                    added?;
                    writer.commit().await.map_err(zk::Error::from)
                }
            })
            .await;
            match result {
                Ok(results) => {
                    let czxid = match results.get(1) {
                        Some(zk::MultiWriteResult::SetData { stat }) => stat.czxid,
                        _ => -1,
                    };
                    self.shared
                        .broker_epoch
                        .store(czxid, std::sync::atomic::Ordering::Release);
                    let endpoints: Vec<String> = registration
                        .endpoints
                        .iter()
                        .map(|(endpoint, _)| layout::endpoint_connection_string(endpoint))
                        .collect();
                    tracing::info!(
                        broker = %self.me(),
                        path,
                        endpoints = endpoints.join(","),
                        broker_epoch = czxid,
                        "registered broker"
                    );
                    return Ok(());
                }
                Err(zk::Error::NodeExists) => {
                    let Some((_, stat)) = session::get(&self.client, &path).await? else {
                        continue;
                    };
                    let current = self.client.session_id().0;
                    if stat.ephemeral_owner == current {
                        self.shared
                            .broker_epoch
                            .store(stat.czxid, std::sync::atomic::Ordering::Release);
                        return Ok(());
                    }
                    if self.sessions_previous.contains(&stat.ephemeral_owner) {
                        tracing::info!(
                            path,
                            owner = format!("{:#x}", stat.ephemeral_owner),
                            "replacing the registration of our expired session"
                        );
                        match retry("delete", &path, || {
                            self.client.delete(&path, Some(stat.version))
                        })
                        .await
                        {
                            Ok(()) | Err(zk::Error::NoNode) | Err(zk::Error::BadVersion) => {
                                continue
                            }
                            Err(source) => return Err(zk_error("delete", &path, source)),
                        }
                    }
                    return Err(ControllerError::BrokerIdTaken {
                        path,
                        owner: stat.ephemeral_owner,
                        session: current,
                    });
                }
                Err(source) => return Err(zk_error("register broker", &path, source)),
            }
        }
        Err(zk_error("register broker", &path, zk::Error::NodeExists))
    }

    // -----------------------------------------------------------------------------
    // Watched reads

    fn arm(&mut self, key: WatchKey, watcher: zk::OneshotWatcher) {
        self.armed.insert(key.clone());
        let events = self.events_tx.clone();
        let generation = self.generation;
        tokio::spawn(async move {
            let event = watcher.changed().await;
            let _ = events.send(Fired {
                generation,
                key,
                event,
            });
        });
    }

    /// Reads a znode and leaves a watch on it (an existence watch when it is
    /// missing), unless one is already outstanding for `key`.
    async fn get_watched(
        &mut self,
        key: WatchKey,
        path: &str,
    ) -> Result<Option<(Vec<u8>, zk::Stat)>, ControllerError> {
        let client = self.client.clone();
        if self.armed.contains(&key) {
            return session::get(&client, path).await;
        }
        match retry("get", path, || client.get_and_watch_data(path)).await {
            Ok((data, stat, watcher)) => {
                self.arm(key, watcher);
                return Ok(Some((data, stat)));
            }
            Err(zk::Error::NoNode) => {}
            Err(source) => return Err(zk_error("get", path, source)),
        }
        match retry("exists", path, || client.check_and_watch_stat(path)).await {
            Ok((stat, watcher)) => {
                self.arm(key, watcher);
                match stat {
                    // Created in between: the watch just set covers its changes.
                    Some(_) => session::get(&client, path).await,
                    None => Ok(None),
                }
            }
            Err(source) => Err(zk_error("exists", path, source)),
        }
    }

    /// Lists children with a watch (an existence watch when the znode is missing).
    async fn children_watched(
        &mut self,
        key: WatchKey,
        path: &str,
    ) -> Result<Option<Vec<String>>, ControllerError> {
        let client = self.client.clone();
        let plain = |client: zk::Client| async move {
            match retry("list", path, || client.list_children(path)).await {
                Ok(children) => Ok(Some(children)),
                Err(zk::Error::NoNode) => Ok(None),
                Err(source) => Err(zk_error("list", path, source)),
            }
        };
        if self.armed.contains(&key) {
            return plain(client).await;
        }
        match retry("list", path, || client.list_and_watch_children(path)).await {
            Ok((children, watcher)) => {
                self.arm(key, watcher);
                return Ok(Some(children));
            }
            Err(zk::Error::NoNode) => {}
            Err(source) => return Err(zk_error("list", path, source)),
        }
        match retry("exists", path, || client.check_and_watch_stat(path)).await {
            Ok((stat, watcher)) => {
                self.arm(key, watcher);
                match stat {
                    Some(_) => plain(client).await,
                    None => Ok(None),
                }
            }
            Err(source) => Err(zk_error("exists", path, source)),
        }
    }

    /// Returns true when the event says the session is gone.
    async fn on_fired(&mut self, fired: Fired) -> bool {
        if fired.generation != self.generation {
            return false;
        }
        self.armed.remove(&fired.key);
        if fired.event.event_type == zk::EventType::Session {
            return matches!(
                fired.event.session_state,
                zk::SessionState::Expired | zk::SessionState::Closed | zk::SessionState::AuthFailed
            );
        }
        tracing::debug!(key = ?fired.key, event = ?fired.event.event_type, "znode changed");
        let result = match fired.key {
            WatchKey::BrokerIds => self.reload_brokers().await,
            WatchKey::Broker(id) => self.reload_broker(id).await,
            WatchKey::Topics => self.reload_topics().await,
            WatchKey::Topic(name) => self.reload_topic(&name).await,
            WatchKey::PartitionState(name, partition) => {
                self.reload_partition_state(&name, partition).await
            }
            WatchKey::DeleteTopics => self.reload_deletions().await,
            WatchKey::ConfigChanges => self.process_config_changes().await,
            WatchKey::AclChanges => self.process_acl_changes(true).await,
            WatchKey::ExtendedAclChanges => self.process_acl_changes(false).await,
            WatchKey::Controller => self.reload_controller().await,
            WatchKey::PreferredReplicaElection => self.reload_preferred_election().await,
            WatchKey::ReassignPartitions => {
                self.on_reassign_partitions_event(fired.event.event_type)
                    .await
            }
        };
        if let Err(error) = result {
            if matches!(
                error,
                ControllerError::Zk {
                    source: zk::Error::SessionExpired,
                    ..
                }
            ) {
                return true;
            }
            tracing::warn!(%error, "reading ZooKeeper after a change failed; full reload on the next tick");
            self.dirty = true;
        }
        false
    }

    // -----------------------------------------------------------------------------
    // The picture

    async fn full_reload(&mut self) -> Result<(), ControllerError> {
        self.cache.cluster_id = self.read_cluster_id().await?;
        self.reload_brokers().await?;
        self.reload_topics().await?;
        let names: Vec<String> = self.cache.topics.keys().cloned().collect();
        for name in names {
            self.reload_topic(&name).await?;
        }
        self.reload_deletions().await?;
        self.reload_preferred_election().await?;
        self.cache.broker_configs.clear();
        let client = self.client.clone();
        let entities = match retry("list", "/config/brokers", || {
            client.list_children("/config/brokers")
        })
        .await
        {
            Ok(children) => children,
            Err(zk::Error::NoNode) => Vec::new(),
            Err(source) => return Err(zk_error("list", "/config/brokers", source)),
        };
        for entity in entities {
            self.reload_broker_config(&entity).await?;
        }
        // Everything is read fresh, so only notifications written from now on matter.
        self.config_change_last = -1;
        self.reload_all_quotas().await?;
        self.process_config_changes().await?;
        self.reload_all_acls().await?;
        Ok(())
    }

    async fn read_cluster_id(&mut self) -> Result<String, ControllerError> {
        match session::get(&self.client, layout::CLUSTER_ID_PATH).await? {
            Some((data, _)) => Ok(layout::decode_cluster_id(&data)?),
            None => Err(ControllerError::Config(format!(
                "{} is missing (it was deleted while the broker ran)",
                layout::CLUSTER_ID_PATH
            ))),
        }
    }

    async fn reload_brokers(&mut self) -> Result<(), ControllerError> {
        let children = self
            .children_watched(WatchKey::BrokerIds, layout::BROKER_IDS_PATH)
            .await?
            .unwrap_or_default();
        let ids: BTreeSet<BrokerId> = children
            .iter()
            .filter_map(|child| child.parse().ok().map(BrokerId))
            .collect();
        self.cache.brokers.retain(|id, _| ids.contains(id));
        self.cache.live.retain(|id, _| ids.contains(id));
        for id in ids {
            if !self.cache.brokers.contains_key(&id) || !self.armed.contains(&WatchKey::Broker(id))
            {
                self.reload_broker(id).await?;
            }
        }
        Ok(())
    }

    async fn reload_broker(&mut self, id: BrokerId) -> Result<(), ControllerError> {
        let path = layout::broker_path(id);
        match self.get_watched(WatchKey::Broker(id), &path).await? {
            None => {
                self.cache.brokers.remove(&id);
                self.cache.live.remove(&id);
            }
            // Created empty, data set in the same transaction: never seen empty.
            Some((data, _)) if data.is_empty() => {}
            Some((data, stat)) => match BrokerZnode::decode(&data) {
                Ok(znode) => {
                    self.cache.live.insert(
                        id,
                        LiveBroker {
                            epoch: stat.czxid,
                            endpoints: znode.endpoints.clone(),
                            rack: znode.rack.clone(),
                        },
                    );
                    let registration = BrokerRegistration {
                        id,
                        endpoints: znode
                            .endpoints
                            .into_iter()
                            .map(|(endpoint, _)| endpoint)
                            .collect(),
                        rack: znode.rack,
                    };
                    self.cache.brokers.insert(id, registration);
                }
                Err(error) => {
                    tracing::warn!(%error, path, "ignoring an unreadable broker registration")
                }
            },
        }
        Ok(())
    }

    async fn reload_topics(&mut self) -> Result<(), ControllerError> {
        let children = self
            .children_watched(WatchKey::Topics, layout::TOPICS_PATH)
            .await?
            .unwrap_or_default();
        let names: BTreeSet<String> = children.into_iter().collect();
        self.cache.topics.retain(|name, _| names.contains(name));
        for name in names {
            if !self.cache.topics.contains_key(&name) {
                self.reload_topic(&name).await?;
            }
        }
        Ok(())
    }

    async fn reload_topic(&mut self, name: &str) -> Result<(), ControllerError> {
        let path = layout::topic_path(name);
        let Some((data, stat)) = self
            .get_watched(WatchKey::Topic(name.to_string()), &path)
            .await?
        else {
            self.cache.topics.remove(name);
            return Ok(());
        };
        let znode = match TopicZnode::decode(&data) {
            Ok(znode) => znode,
            Err(error) => {
                tracing::warn!(%error, path, "ignoring an unreadable topic assignment");
                return Ok(());
            }
        };
        let configs = match session::get(&self.client, &layout::topic_config_path(name)).await? {
            Some((data, _)) => layout::decode_entity_config(&data),
            None => BTreeMap::new(),
        };
        let partitions: Vec<i32> = znode.partitions.keys().copied().collect();
        let mut topic = self.cache.topics.remove(name).unwrap_or(CachedTopic {
            znode: TopicZnode::default(),
            zk_version: -1,
            states: BTreeMap::new(),
            configs: BTreeMap::new(),
        });
        topic.znode = znode;
        topic.zk_version = stat.version;
        topic.configs = configs;
        topic
            .states
            .retain(|partition, _| partitions.contains(partition));
        self.cache.topics.insert(name.to_string(), topic);
        for partition in partitions {
            let known = self.cache.topics[name].states.contains_key(&partition);
            let watched = self
                .armed
                .contains(&WatchKey::PartitionState(name.to_string(), partition));
            if !known || !watched {
                self.reload_partition_state(name, partition).await?;
            }
        }
        Ok(())
    }

    async fn reload_partition_state(
        &mut self,
        name: &str,
        partition: i32,
    ) -> Result<(), ControllerError> {
        if !self.cache.topics.contains_key(name) {
            // The topic went away; its watches lapse with it.
            return Ok(());
        }
        let path = layout::partition_state_path(name, partition);
        let key = WatchKey::PartitionState(name.to_string(), partition);
        let found = self.get_watched(key, &path).await?;
        let Some(topic) = self.cache.topics.get_mut(name) else {
            return Ok(());
        };
        match found {
            None => {
                topic.states.remove(&partition);
            }
            Some((data, stat)) => match PartitionStateZnode::decode(&data) {
                Ok(state) => {
                    topic.states.insert(partition, (state, stat.version));
                }
                Err(error) => {
                    tracing::warn!(%error, path, "ignoring an unreadable partition state")
                }
            },
        }
        Ok(())
    }

    async fn reload_deletions(&mut self) -> Result<(), ControllerError> {
        let children = self
            .children_watched(WatchKey::DeleteTopics, layout::DELETE_TOPICS_PATH)
            .await?
            .unwrap_or_default();
        self.cache.deletions = children.into_iter().collect();
        Ok(())
    }

    async fn reload_topic_config(&mut self, name: &str) -> Result<(), ControllerError> {
        let configs = match session::get(&self.client, &layout::topic_config_path(name)).await? {
            Some((data, _)) => layout::decode_entity_config(&data),
            None => BTreeMap::new(),
        };
        if let Some(topic) = self.cache.topics.get_mut(name) {
            topic.configs = configs;
        }
        Ok(())
    }

    async fn reload_broker_config(&mut self, entity: &str) -> Result<(), ControllerError> {
        let broker = if entity == layout::DEFAULT_ENTITY {
            None
        } else {
            match entity.parse() {
                Ok(id) => Some(BrokerId(id)),
                Err(_) => {
                    tracing::warn!(entity, "ignoring broker config of a non-numeric entity");
                    return Ok(());
                }
            }
        };
        let path = layout::broker_config_path(broker);
        let configs = match session::get(&self.client, &path).await? {
            Some((data, _)) => layout::decode_entity_config(&data),
            None => BTreeMap::new(),
        };
        if configs.is_empty() {
            self.cache.broker_configs.remove(&broker);
        } else {
            self.cache.broker_configs.insert(broker, configs);
        }
        Ok(())
    }

    /// Applies `/config/changes/config_change_<seq>` notifications newer than the
    /// last one seen, as Kafka's ZkConfigManager does on every broker.
    async fn process_config_changes(&mut self) -> Result<(), ControllerError> {
        let children = self
            .children_watched(WatchKey::ConfigChanges, layout::CONFIG_CHANGES_PATH)
            .await?
            .unwrap_or_default();
        let mut sequences: Vec<(i64, String)> = children
            .into_iter()
            .filter_map(|child| Some((layout::config_change_sequence(&child)?, child)))
            .collect();
        sequences.sort();
        for (sequence, child) in sequences {
            if sequence <= self.config_change_last {
                continue;
            }
            let path = format!("{}/{child}", layout::CONFIG_CHANGES_PATH);
            if let Some((data, _)) = session::get(&self.client, &path).await? {
                match layout::decode_config_change(&data) {
                    Ok((entity_type, name)) => {
                        tracing::info!(
                            entity_type,
                            name,
                            sequence,
                            "processing config change notification"
                        );
                        match entity_type.as_str() {
                            "topics" => self.reload_topic_config(&name).await?,
                            "brokers" => self.reload_broker_config(&name).await?,
                            "users" | "clients" => {
                                self.reload_quota_entity(&format!("{entity_type}/{name}"))
                                    .await?
                            }
                            // IP connection-creation quotas are not enforced by keel.
                            _ => {}
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, path, "ignoring an unreadable config change")
                    }
                }
            }
            self.config_change_last = sequence;
        }
        Ok(())
    }

    /// Deletes notifications older than Kafka's 15 minutes (any broker may).
    async fn purge_config_changes(&mut self) {
        self.purge_notifications(layout::CONFIG_CHANGES_PATH).await;
    }

    /// Deletes the children of a notification root older than Kafka's 15 minutes.
    async fn purge_notifications(&mut self, path: &str) {
        let client = self.client.clone();
        let Ok(children) = retry("list", path, || client.list_children(path)).await else {
            return;
        };
        let now = session::now_ms();
        for child in children {
            let child_path = format!("{path}/{child}");
            let Ok(Some(stat)) =
                retry("exists", &child_path, || client.check_stat(&child_path)).await
            else {
                continue;
            };
            if now - stat.ctime > CONFIG_CHANGE_EXPIRATION_MS {
                match retry("delete", &child_path, || client.delete(&child_path, None)).await {
                    Ok(()) | Err(zk::Error::NoNode) => {
                        tracing::debug!(path = child_path, "purged an expired change notification")
                    }
                    Err(error) => {
                        tracing::warn!(%error, path = child_path, "purging a change notification failed")
                    }
                }
            }
        }
    }

    fn publish_now(&mut self) {
        let cache = &self.cache;
        let mut topics = BTreeMap::new();
        for (name, topic) in &cache.topics {
            let partitions = topic
                .znode
                .partitions
                .iter()
                .map(|(partition, replicas)| {
                    let state = match topic.states.get(partition) {
                        Some((state, zk_version)) => PartitionState {
                            replicas: replicas.clone(),
                            leader: (state.leader >= 0).then_some(BrokerId(state.leader)),
                            leader_epoch: state.leader_epoch,
                            isr: state.isr.clone(),
                            zk_version: *zk_version,
                        },
                        // Not yet given a leader by the controller.
                        None => PartitionState {
                            replicas: replicas.clone(),
                            leader: None,
                            leader_epoch: -1,
                            isr: Vec::new(),
                            zk_version: -1,
                        },
                    };
                    (*partition, state)
                })
                .collect();
            topics.insert(
                name.clone(),
                TopicMetadata {
                    name: name.clone(),
                    id: topic.znode.topic_id.unwrap_or(TopicId::ZERO),
                    partitions,
                    configs: topic.configs.clone(),
                    marked_for_deletion: cache.deletions.contains(name),
                },
            );
        }
        let metadata = ClusterMetadata {
            cluster_id: cache.cluster_id.clone(),
            controller_id: cache.controller,
            brokers: cache.brokers.clone(),
            topics,
            broker_configs: cache.broker_configs.clone(),
            acls: cache.acls.clone(),
            quotas: cache.quotas.clone(),
        };
        self.publish.send_if_modified(|current| {
            if **current == metadata {
                return false;
            }
            *current = Arc::new(metadata);
            true
        });
    }

    // -----------------------------------------------------------------------------
    // Controller election

    /// Reads `/controller` (watching it) and runs for controller when it is empty.
    async fn reload_controller(&mut self) -> Result<(), ControllerError> {
        for _ in 0..CONFLICT_ROUNDS_MAX {
            match self
                .get_watched(WatchKey::Controller, layout::CONTROLLER_PATH)
                .await?
            {
                Some((data, _)) => {
                    let (id, _) = layout::decode_controller(&data)?;
                    self.cache.controller = Some(id);
                    if id != self.me() && self.role.take().is_some() {
                        tracing::info!(broker = %self.me(), controller = %id, "controller moved to another broker; resigning");
                    }
                    return Ok(());
                }
                None => {
                    self.cache.controller = None;
                    if self.role.take().is_some() {
                        tracing::info!(broker = %self.me(), "controller znode went away; resigning");
                    }
                    if self.elect().await? {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// `registerControllerAndIncrementControllerEpoch`: create `/controller` and bump
    /// `/controller_epoch` in one transaction. True when this broker won.
    async fn elect(&mut self) -> Result<bool, ControllerError> {
        let client = self.client.clone();
        let epoch_path = layout::CONTROLLER_EPOCH_PATH;
        let (epoch, epoch_version) = match session::get(&client, epoch_path).await? {
            Some((data, stat)) => (layout::decode_controller_epoch(&data)?, stat.version),
            None => {
                // Kafka's maybeCreateControllerEpochZNode: epoch 0, version 0.
                let options = persistent(epoch_path);
                let initial = layout::encode_controller_epoch(0);
                match retry("create", epoch_path, || {
                    client.create(epoch_path, &initial, &options)
                })
                .await
                {
                    Ok(_) | Err(zk::Error::NodeExists) => {}
                    Err(source) => return Err(zk_error("create", epoch_path, source)),
                }
                return Ok(false);
            }
        };
        let epoch_new = epoch + 1;
        let data = layout::encode_controller(self.me(), session::now_ms());
        let epoch_data = layout::encode_controller_epoch(epoch_new);
        let options = session::ephemeral(layout::CONTROLLER_PATH);
        let result = retry("elect", layout::CONTROLLER_PATH, || {
            let mut writer = client.new_multi_writer();
            let added = writer
                .add_create(layout::CONTROLLER_PATH, &data, &options)
                .and_then(|_| writer.add_set_data(epoch_path, &epoch_data, Some(epoch_version)));
            async move {
                added?;
                writer.commit().await.map_err(zk::Error::from)
            }
        })
        .await;
        match result {
            Ok(results) => {
                let epoch_zk_version = match results.get(1) {
                    Some(zk::MultiWriteResult::SetData { stat }) => stat.version,
                    _ => epoch_version + 1,
                };
                self.role = Some(ControllerRole {
                    epoch: epoch_new,
                    epoch_zk_version,
                });
                self.cache.controller = Some(self.me());
                tracing::info!(broker = %self.me(), epoch = epoch_new, epoch_zk_version, "elected controller");
                self.on_become_controller().await;
                Ok(true)
            }
            // Another broker won, or the epoch moved: read again.
            Err(zk::Error::NodeExists | zk::Error::BadVersion) => Ok(false),
            Err(source) => Err(zk_error("elect", layout::CONTROLLER_PATH, source)),
        }
    }

    /// What a ZooKeeper-mode controller of Kafka 3.x sets up once: feature
    /// versioning enabled in `/feature`.
    async fn on_become_controller(&mut self) {
        let client = self.client.clone();
        let data = layout::encode_feature_enabled();
        let options = persistent(layout::FEATURE_PATH);
        match retry("create", layout::FEATURE_PATH, || {
            client.create(layout::FEATURE_PATH, &data, &options)
        })
        .await
        {
            Ok(_) | Err(zk::Error::NodeExists) => {}
            Err(error) => tracing::warn!(%error, "creating /feature failed"),
        }
    }

    // -----------------------------------------------------------------------------
    // Controller duties

    /// Runs `ops` in one multi-op behind a check of `/controller_epoch`'s version.
    /// On a failed check this broker is no longer the controller and resigns.
    async fn controller_write(
        &mut self,
        what: &'static str,
        path: &str,
        ops: &[(Op, String, Vec<u8>)],
    ) -> Result<Vec<zk::MultiWriteResult>, zk::Error> {
        let Some(role) = self.role else {
            return Err(zk::Error::RuntimeInconsistent);
        };
        let client = self.client.clone();
        let result = retry(what, path, || {
            let writer =
                client.new_check_writer(layout::CONTROLLER_EPOCH_PATH, Some(role.epoch_zk_version));
            let prepared = writer.and_then(|mut writer| {
                for (op, op_path, data) in ops {
                    match op {
                        Op::Create => writer.add_create(op_path, data, &persistent(op_path))?,
                        Op::Set(version) => writer.add_set_data(op_path, data, Some(*version))?,
                        Op::Delete => writer.add_delete(op_path, None)?,
                    }
                }
                Ok(writer)
            });
            async move {
                let writer = prepared?;
                writer.commit().await.map_err(|error| match error {
                    zk::CheckWriteError::CheckFailed { .. } => zk::Error::RuntimeInconsistent,
                    other => zk::Error::from(other),
                })
            }
        })
        .await;
        match result {
            Ok(results) => Ok(results),
            Err(zk::Error::RuntimeInconsistent) => {
                tracing::warn!(broker = %self.me(), epoch = role.epoch, "controller epoch moved on; resigning");
                self.role = None;
                self.cache.controller = None;
                Err(zk::Error::RuntimeInconsistent)
            }
            Err(error) => Err(error),
        }
    }

    /// One znode's data set behind its `version` (and the `/controller_epoch` check):
    /// the znode's new version.
    async fn controller_set(
        &mut self,
        what: &'static str,
        path: &str,
        data: Vec<u8>,
        version: i32,
    ) -> Result<i32, zk::Error> {
        let results = self
            .controller_write(what, path, &[(Op::Set(version), path.to_string(), data)])
            .await?;
        Ok(match results.first() {
            Some(zk::MultiWriteResult::SetData { stat }) => stat.version,
            _ => version + 1,
        })
    }

    /// Brings ZooKeeper in line with what a controller must maintain. Idempotent:
    /// run after every batch of events and on every tick.
    async fn reconcile(&mut self) {
        let Some(role) = self.role else {
            return;
        };
        // With deletion enabled, a topic's znodes go only once every live replica
        // has answered StopReplica(delete) without error (TopicDeletionManager).
        let deletions: Vec<String> = self
            .cache
            .deletions
            .iter()
            .filter(|name| {
                !self.shared.settings.delete_topic_enable
                    || self
                        .deletion_pending
                        .get(*name)
                        .is_some_and(|pending| pending.is_empty())
            })
            .cloned()
            .collect();
        for name in deletions {
            if let Err(error) = self.delete_topic(&name).await {
                tracing::warn!(%error, topic = name, "topic deletion failed; retrying later");
            }
            if self.role.is_none() {
                return;
            }
        }
        let live: BTreeSet<BrokerId> = self.cache.brokers.keys().copied().collect();
        let names: Vec<String> = self.cache.topics.keys().cloned().collect();
        for name in names {
            if self.cache.deletions.contains(&name) {
                continue;
            }
            let Some(topic) = self.cache.topics.get(&name).cloned() else {
                continue;
            };
            if let Err(error) = self.maintain_topic(&name, &topic, &live, role).await {
                if error == zk::Error::RuntimeInconsistent {
                    return;
                }
                tracing::warn!(%error, topic = name, "controller update of topic failed; retrying later");
            }
        }
        self.reassignment_duties().await;
    }

    async fn maintain_topic(
        &mut self,
        name: &str,
        topic: &CachedTopic,
        live: &BTreeSet<BrokerId>,
        role: ControllerRole,
    ) -> Result<(), zk::Error> {
        // Topics written before Kafka 2.8 (or by its 2.x tools) get an id, as the
        // controller's processTopicIds does.
        if topic.znode.topic_id.is_none() {
            let id = TopicId(layout::random_kafka_uuid());
            let znode = TopicZnode {
                topic_id: Some(id),
                ..topic.znode.clone()
            };
            let path = layout::topic_path(name);
            match self
                .controller_write(
                    "assign topic id",
                    &path,
                    &[(Op::Set(topic.zk_version), path.clone(), znode.encode())],
                )
                .await
            {
                Ok(_) => {
                    tracing::info!(
                        topic = name,
                        topic_id = layout::uuid_to_kafka_string(id.0),
                        "assigned topic id"
                    );
                    if let Some(cached) = self.cache.topics.get_mut(name) {
                        cached.znode.topic_id = Some(id);
                        cached.zk_version = topic.zk_version + 1;
                    }
                }
                // Changed meanwhile: the data watch brings the new version.
                Err(zk::Error::BadVersion | zk::Error::NoNode) => return Ok(()),
                Err(error) => return Err(error),
            }
        }
        let mut creates = Vec::new();
        let mut updates = Vec::new();
        for (partition, replicas) in &topic.znode.partitions {
            let path = layout::partition_state_path(name, *partition);
            match topic.states.get(partition) {
                None => {
                    if let Some(state) = election::initial(replicas, live) {
                        creates.push((*partition, path, state));
                    }
                }
                Some((znode, zk_version)) => {
                    let current = elections::current_of(znode);
                    if let Some(next) = election::after_liveness_change_unclean(
                        replicas,
                        &current,
                        live,
                        self.unclean_enabled(name),
                    ) {
                        let znode = elections::election_znode(&current, &next, role.epoch);
                        updates.push((*partition, path, znode, *zk_version));
                    }
                }
            }
        }
        let encode = |state: &LeaderAndIsr| state_znode(state, role.epoch).encode();
        if !creates.is_empty() {
            // Parents first, outside the transaction, as createTopicPartitionStatesRaw does.
            let client = self.client.clone();
            for (partition, _, _) in &creates {
                let parent = layout::partition_path(name, *partition);
                if let Err(error) = ensure_path(&client, &parent).await {
                    tracing::warn!(%error, "creating partition znodes failed");
                    return Ok(());
                }
            }
            let ops: Vec<(Op, String, Vec<u8>)> = creates
                .iter()
                .map(|(_, path, state)| (Op::Create, path.clone(), encode(state)))
                .collect();
            match self
                .controller_write("create partition states", &layout::topic_path(name), &ops)
                .await
            {
                Ok(_) => {
                    for (partition, _, state) in &creates {
                        tracing::info!(topic = name, partition, leader = ?state.leader, isr = ?state.isr, "partition online");
                        self.cache_state(name, *partition, state_znode(state, role.epoch), 0);
                    }
                }
                Err(zk::Error::NodeExists | zk::Error::NoNode) => {}
                Err(error) => return Err(error),
            }
        }
        if !updates.is_empty() {
            let ops: Vec<(Op, String, Vec<u8>)> = updates
                .iter()
                .map(|(_, path, znode, version)| (Op::Set(*version), path.clone(), znode.encode()))
                .collect();
            match self
                .controller_write("update partition states", &layout::topic_path(name), &ops)
                .await
            {
                Ok(results) => {
                    for ((partition, _, znode, version), result) in updates.iter().zip(&results) {
                        tracing::info!(topic = name, partition, leader = znode.leader, leader_epoch = znode.leader_epoch, isr = ?znode.isr, recovering = znode.leader_recovery_state.is_some(), "partition leadership changed");
                        let version_new = match result {
                            zk::MultiWriteResult::SetData { stat } => stat.version,
                            _ => version + 1,
                        };
                        self.cache_state(name, *partition, znode.clone(), version_new);
                    }
                }
                Err(zk::Error::BadVersion | zk::Error::NoNode) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// TopicDeletionManager's end state: the topic's znodes, then its config, then
    /// the marker. With `delete.topic.enable=false` only the marker goes, as Kafka
    /// does. Replicas drop their logs when the topic leaves the picture.
    async fn delete_topic(&mut self, name: &str) -> Result<(), zk::Error> {
        let marker = layout::delete_topic_path(name);
        if !self.shared.settings.delete_topic_enable {
            tracing::info!(
                topic = name,
                "removing deletion marker: topic deletion is disabled"
            );
            return self.delete_ignoring_missing(&marker).await;
        }
        let topic_path = layout::topic_path(name);
        let mut paths = Vec::new();
        self.collect_subtree(&topic_path, &mut paths, 0).await?;
        if !paths.is_empty() {
            // Children before parents.
            paths.reverse();
            let ops: Vec<(Op, String, Vec<u8>)> = paths
                .into_iter()
                .map(|path| (Op::Delete, path, Vec::new()))
                .collect();
            match self
                .controller_write("delete topic", &topic_path, &ops)
                .await
            {
                Ok(_) | Err(zk::Error::NoNode) => {}
                Err(error) => return Err(error),
            }
        }
        self.delete_ignoring_missing(&layout::topic_config_path(name))
            .await?;
        self.delete_ignoring_missing(&marker).await?;
        self.cache.topics.remove(name);
        self.cache.deletions.remove(name);
        self.deletion_pending.remove(name);
        tracing::info!(topic = name, "deletion of topic successfully completed");
        Ok(())
    }

    async fn delete_ignoring_missing(&mut self, path: &str) -> Result<(), zk::Error> {
        match self
            .controller_write(
                "delete",
                path,
                &[(Op::Delete, path.to_string(), Vec::new())],
            )
            .await
        {
            Ok(_) | Err(zk::Error::NoNode) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Pre-order list of a znode and its descendants (a topic is four levels deep).
    async fn collect_subtree(
        &self,
        path: &str,
        out: &mut Vec<String>,
        depth: usize,
    ) -> Result<(), zk::Error> {
        const DEPTH_MAX: usize = 8;
        if depth > DEPTH_MAX {
            return Ok(());
        }
        let client = self.client.clone();
        let children = match retry("list", path, || client.list_children(path)).await {
            Ok(children) => children,
            Err(zk::Error::NoNode) => return Ok(()),
            Err(error) => return Err(error),
        };
        out.push(path.to_string());
        for child in children {
            Box::pin(self.collect_subtree(&format!("{path}/{child}"), out, depth + 1)).await?;
        }
        Ok(())
    }
}

/// The state znode a controller writes for `state`.
fn state_znode(state: &LeaderAndIsr, controller_epoch: i32) -> PartitionStateZnode {
    PartitionStateZnode {
        leader: state
            .leader
            .map_or(PartitionStateZnode::NO_LEADER, |id| id.0),
        leader_epoch: state.leader_epoch,
        isr: state.isr.clone(),
        controller_epoch,
        leader_recovery_state: None,
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Create,
    Set(i32),
    Delete,
}

// ---------------------------------------------------------------------------------
// Controller to broker requests, and the controller's RPCs

impl Driver {
    /// Records a state znode this task just wrote, so the next plan and the next
    /// AlterPartition see it without waiting for the watch to fire.
    fn cache_state(
        &mut self,
        name: &str,
        partition: i32,
        znode: PartitionStateZnode,
        version: i32,
    ) {
        if let Some(topic) = self.cache.topics.get_mut(name) {
            topic.states.insert(partition, (znode, version));
        }
    }

    /// The controller's view for the planner.
    fn context(&self, role: ControllerRole) -> ControllerContext {
        let mut partitions = BTreeMap::new();
        let mut topic_ids = BTreeMap::new();
        for (name, topic) in &self.cache.topics {
            if let Some(id) = topic.znode.topic_id {
                topic_ids.insert(name.clone(), id);
            }
            for (partition, replicas) in &topic.znode.partitions {
                let state =
                    topic
                        .states
                        .get(partition)
                        .map(|(znode, version)| channel::StateView {
                            leader: znode.leader,
                            leader_epoch: znode.leader_epoch,
                            isr: znode.isr.clone(),
                            controller_epoch: znode.controller_epoch,
                            zk_version: *version,
                            leader_recovery_state: znode.leader_recovery_state.unwrap_or(0) as i8,
                        });
                partitions.insert(
                    (name.clone(), *partition),
                    channel::PartitionView {
                        replicas: replicas.clone(),
                        adding: topic
                            .znode
                            .adding_replicas
                            .get(partition)
                            .cloned()
                            .unwrap_or_default(),
                        removing: topic
                            .znode
                            .removing_replicas
                            .get(partition)
                            .cloned()
                            .unwrap_or_default(),
                        state,
                    },
                );
            }
        }
        let deleting = if self.shared.settings.delete_topic_enable {
            self.cache
                .deletions
                .iter()
                .filter(|name| self.cache.topics.contains_key(*name))
                .cloned()
                .collect()
        } else {
            BTreeSet::new()
        };
        ControllerContext {
            controller_id: self.me(),
            controller_epoch: role.epoch,
            listener: self.shared.settings.inter_broker_listener.clone(),
            brokers: self.cache.live.clone(),
            shutting_down: self.shutting_down.clone(),
            topic_ids,
            partitions,
            deleting,
        }
    }

    /// Tells the brokers what changed since they were last told (`channel::plan`).
    /// Not the controller: stops every sender (ControllerChannelManager.shutdown).
    fn send_to_brokers(&mut self) {
        let Some(role) = self.role else {
            if self.channels.take().is_some() {
                tracing::info!(broker = %self.me(), "controller channels closed");
            }
            self.acted = None;
            self.shutting_down.clear();
            self.deletion_pending.clear();
            self.deletion_retry.clear();
            return;
        };
        self.shutting_down
            .retain(|id| self.cache.live.contains_key(id));
        let context = self.context(role);
        let channels = self.channels.get_or_insert_with(|| {
            ChannelManager::new(
                context.controller_id,
                context.listener.clone(),
                self.shared.settings.inter_broker_client.clone(),
                self.delivered_tx.clone(),
            )
        });
        channels.sync(&context.brokers);
        let plan = channel::plan(self.acted.as_ref(), &context);
        for (broker, request) in plan.requests {
            channels.send(broker, request);
        }
        // Deletions: a replica whose broker went away no longer holds one up.
        for topic in &context.deleting {
            self.deletion_pending.entry(topic.clone()).or_default();
        }
        self.deletion_pending
            .retain(|topic, _| context.deleting.contains(topic));
        for (broker, (topic, partition)) in plan.deletions_started {
            if let Some(pending) = self.deletion_pending.get_mut(&topic) {
                pending.insert((broker, partition));
            }
        }
        for pending in self.deletion_pending.values_mut() {
            pending.retain(|(broker, _)| context.brokers.contains_key(broker));
        }
        self.deletion_retry
            .retain(|(broker, _, _)| context.brokers.contains_key(broker));
        self.acted = Some(context);
    }

    /// A broker's answer. Only StopReplica(delete) matters to the controller (topic
    /// deletion); errors elsewhere are logged, as Apache does.
    fn on_delivered(&mut self, delivered: Delivered) {
        let Delivered {
            broker,
            broker_epoch,
            request,
            response,
        } = delivered;
        if self.role.is_none()
            || self
                .cache
                .live
                .get(&broker)
                .is_none_or(|live| live.epoch != broker_epoch)
        {
            return;
        }
        match (request, response) {
            (
                InterBrokerRequest::StopReplica(request),
                InterBrokerResponse::StopReplica(response),
            ) => {
                for partition in request.partitions().filter(|p| p.delete_partition) {
                    let error = if response.error_code != errors::NONE {
                        response.error_code
                    } else {
                        response
                            .partition_errors
                            .iter()
                            .find(|e| {
                                e.topic_name == partition.topic_name
                                    && e.partition_index == partition.partition_index
                            })
                            .map_or(errors::NONE, |e| e.error_code)
                    };
                    let topic = partition.topic_name.to_string();
                    let Some(pending) = self.deletion_pending.get_mut(&topic) else {
                        continue;
                    };
                    if error == errors::NONE {
                        pending.remove(&(broker, partition.partition_index));
                    } else {
                        tracing::warn!(broker = %broker, topic, partition = partition.partition_index, error, "replica deletion failed; retrying");
                        self.deletion_retry
                            .insert((broker, topic, partition.partition_index));
                    }
                }
            }
            (_, InterBrokerResponse::LeaderAndIsr(response)) if response.error_code != 0 => {
                tracing::warn!(broker = %broker, error = response.error_code, "LeaderAndIsr answered with an error");
            }
            (_, InterBrokerResponse::UpdateMetadata(response)) if response.error_code != 0 => {
                tracing::warn!(broker = %broker, error = response.error_code, "UpdateMetadata answered with an error");
            }
            _ => {}
        }
    }

    /// Asks again the replicas that failed to delete (TopicDeletionManager retries
    /// ineligible replicas on later events).
    fn retry_deletions(&mut self) {
        let (Some(channels), Some(context)) = (&self.channels, &self.acted) else {
            return;
        };
        let retry = std::mem::take(&mut self.deletion_retry);
        let mut by_target: BTreeMap<(BrokerId, String), Vec<i32>> = BTreeMap::new();
        for (broker, topic, partition) in retry {
            by_target
                .entry((broker, topic))
                .or_default()
                .push(partition);
        }
        for ((broker, topic), indexes) in by_target {
            let request = channel::stop_replica_for_deletion(context, broker, &topic, &indexes);
            channels.send(broker, InterBrokerRequest::StopReplica(request));
        }
    }

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::AlterPartition { request, reply } => {
                let response = self.alter_partition(request).await;
                let _ = reply.send(response);
            }
            Command::ControlledShutdown { request, reply } => {
                let response = self.controlled_shutdown(request).await;
                let _ = reply.send(response);
            }
            Command::ElectLeaders {
                election_type,
                partitions,
                reply,
            } => {
                let outcomes = self
                    .elect_partition_leaders(election_type, partitions)
                    .await;
                let _ = reply.send(outcomes);
            }
            Command::AlterPartitionReassignments { request, reply } => {
                let response = self.alter_partition_reassignments(request).await;
                let _ = reply.send(response);
            }
            Command::ListPartitionReassignments { request, reply } => {
                let response = self.list_partition_reassignments(request);
                let _ = reply.send(response);
            }
        }
    }

    fn cached_leader_and_isr(&self, name: &str, partition: i32) -> Option<LeaderAndIsrState> {
        let (znode, version) = self.cache.topics.get(name)?.states.get(&partition)?;
        Some(LeaderAndIsrState {
            leader: BrokerId(znode.leader),
            leader_epoch: znode.leader_epoch,
            isr: znode.isr.clone(),
            leader_recovery_state: znode.leader_recovery_state.unwrap_or(0) as i8,
            partition_epoch: *version,
        })
    }

    /// `KafkaController.tryProcessAlterPartition`: checks (`rpcs`), one conditional
    /// write per accepted partition behind the `/controller_epoch` check, and the
    /// cache updated at once. The UpdateMetadata to every broker follows from the
    /// next plan (same leader epoch, new version: metadata only, no LeaderAndIsr).
    async fn alter_partition(&mut self, request: AlterPartitionRequest) -> AlterPartitionResponse {
        let not_controller = AlterPartitionResponse {
            error_code: errors::NOT_CONTROLLER,
            ..Default::default()
        };
        let Some(role) = self.role else {
            return not_controller;
        };
        let cached_epoch = self.cache.live.get(&request.broker_id).map(|b| b.epoch);
        if let Err(error_code) =
            rpcs::check_alter_partition_epoch(cached_epoch, request.broker_epoch)
        {
            tracing::info!(broker = %request.broker_id, broker_epoch = request.broker_epoch, ?cached_epoch, "ignoring AlterPartition with an unknown broker or stale broker epoch");
            return AlterPartitionResponse {
                error_code,
                ..Default::default()
            };
        }
        let eligible: BTreeSet<BrokerId> = self
            .cache
            .live
            .keys()
            .filter(|id| !self.shutting_down.contains(id))
            .copied()
            .collect();
        let mut response = AlterPartitionResponse::default();
        for topic in &request.topics {
            // v2+ name topics by id (and leave the name empty).
            let uses_topic_ids = topic.topic_name.is_empty();
            let name = if uses_topic_ids {
                self.cache
                    .topics
                    .iter()
                    .find(|(_, cached)| cached.znode.topic_id == Some(topic.topic_id))
                    .map(|(name, _)| name.clone())
            } else {
                Some(topic.topic_name.clone())
            };
            let mut result = AlterPartitionTopicResult {
                topic_name: if uses_topic_ids {
                    String::new()
                } else {
                    topic.topic_name.clone()
                },
                topic_id: topic.topic_id,
                ..Default::default()
            };
            for partition in &topic.partitions {
                let reject = |error_code| AlterPartitionPartitionResult {
                    partition_index: partition.partition_index,
                    error_code,
                    ..Default::default()
                };
                let Some(name) = &name else {
                    result.partitions.push(reject(errors::UNKNOWN_TOPIC_ID));
                    continue;
                };
                let current = self.cached_leader_and_isr(name, partition.partition_index);
                let decision = rpcs::decide_alter_partition(
                    request.broker_id,
                    partition,
                    current.as_ref(),
                    &eligible,
                    uses_topic_ids,
                );
                let accepted = match decision {
                    AlterDecision::Reject(error_code) => {
                        result.partitions.push(reject(error_code));
                        continue;
                    }
                    AlterDecision::AlreadyApplied(state) => state,
                    AlterDecision::Write(state) => {
                        match self
                            .write_alter_partition(name, partition.partition_index, &state, role)
                            .await
                        {
                            Ok(version) => LeaderAndIsrState {
                                partition_epoch: version,
                                ..state
                            },
                            Err(error_code) => {
                                result.partitions.push(reject(error_code));
                                continue;
                            }
                        }
                    }
                };
                result.partitions.push(AlterPartitionPartitionResult {
                    partition_index: partition.partition_index,
                    error_code: errors::NONE,
                    leader_id: accepted.leader,
                    leader_epoch: accepted.leader_epoch,
                    isr: accepted.isr,
                    leader_recovery_state: accepted.leader_recovery_state,
                    partition_epoch: accepted.partition_epoch,
                    ..Default::default()
                });
            }
            response.topics.push(result);
        }
        response
    }

    /// The state znode write of an accepted AlterPartition; the new version, or the
    /// partition's error code.
    async fn write_alter_partition(
        &mut self,
        name: &str,
        partition: i32,
        state: &LeaderAndIsrState,
        role: ControllerRole,
    ) -> Result<i32, i16> {
        let znode = PartitionStateZnode {
            leader: state.leader.0,
            leader_epoch: state.leader_epoch,
            isr: state.isr.clone(),
            controller_epoch: role.epoch,
            leader_recovery_state: (state.leader_recovery_state != 0)
                .then_some(i32::from(state.leader_recovery_state)),
        };
        let path = layout::partition_state_path(name, partition);
        match self
            .controller_set(
                "alter partition",
                &path,
                znode.encode(),
                state.partition_epoch,
            )
            .await
        {
            Ok(version) => {
                tracing::info!(topic = name, partition, isr = ?state.isr, leader_epoch = state.leader_epoch, partition_epoch = version, "ISR changed by AlterPartition");
                self.cache_state(name, partition, znode, version);
                Ok(version)
            }
            Err(zk::Error::BadVersion) => Err(errors::INVALID_UPDATE_VERSION),
            Err(zk::Error::NoNode) => Err(errors::UNKNOWN_TOPIC_OR_PARTITION),
            Err(zk::Error::RuntimeInconsistent) => Err(errors::NOT_CONTROLLER),
            Err(error) => {
                tracing::warn!(%error, topic = name, partition, "AlterPartition write failed");
                Err(errors::UNKNOWN_SERVER_ERROR)
            }
        }
    }

    /// `KafkaController.doControlledShutdown`: mark the broker shutting down, move
    /// the leadership of its partitions (RF > 1) to another in-sync replica, stop its
    /// followers (StopReplica delete=false) and take it out of their ISR, each change
    /// with a leader-epoch bump; answer with the partitions it still leads.
    async fn controlled_shutdown(
        &mut self,
        request: ControlledShutdownRequest,
    ) -> ControlledShutdownResponse {
        let Some(role) = self.role else {
            return ControlledShutdownResponse {
                error_code: errors::NOT_CONTROLLER,
                ..Default::default()
            };
        };
        let id = request.broker_id;
        let cached_epoch = self.cache.live.get(&id).map(|b| b.epoch);
        if let Err(error_code) =
            rpcs::check_controlled_shutdown_epoch(cached_epoch, request.broker_epoch)
        {
            return ControlledShutdownResponse {
                error_code,
                ..Default::default()
            };
        }
        tracing::info!(broker = %id, "shutting down broker (controlled shutdown)");
        self.shutting_down.insert(id);
        let live: BTreeSet<BrokerId> = self.cache.live.keys().copied().collect();
        let mut followed: BTreeMap<String, Vec<(i32, i32)>> = BTreeMap::new();
        let mut changes = Vec::new();
        for (name, topic) in &self.cache.topics {
            if self.cache.deletions.contains(name) {
                continue;
            }
            for (partition, replicas) in &topic.znode.partitions {
                if replicas.len() <= 1 || !replicas.contains(&id) {
                    continue;
                }
                let Some((znode, version)) = topic.states.get(partition) else {
                    continue;
                };
                if znode.leader != id.0 {
                    followed
                        .entry(name.clone())
                        .or_default()
                        .push((*partition, znode.leader_epoch));
                }
                let current = elections::current_of(znode);
                if let Some(next) =
                    election::controlled_shutdown(replicas, &current, &live, &self.shutting_down)
                {
                    changes.push((name.clone(), *partition, current, next, *version));
                }
            }
        }
        if let (Some(channels), Some(context)) = (&self.channels, &self.acted) {
            for (topic, partitions) in &followed {
                let request = channel::stop_replica_for_shutdown(context, id, topic, partitions);
                channels.send(id, InterBrokerRequest::StopReplica(request));
            }
        }
        for (name, partition, current, next, version) in changes {
            match self
                .write_partition_state(
                    "controlled shutdown",
                    &name,
                    partition,
                    &current,
                    &next,
                    version,
                    role.epoch,
                )
                .await
            {
                Ok(()) => {}
                Err(zk::Error::RuntimeInconsistent) => {
                    return ControlledShutdownResponse {
                        error_code: errors::NOT_CONTROLLER,
                        ..Default::default()
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, topic = name, partition, "controlled shutdown write failed")
                }
            }
        }
        let remaining_partitions = self
            .cache
            .topics
            .iter()
            .flat_map(|(name, topic)| {
                topic
                    .states
                    .iter()
                    .filter(|(_, (znode, _))| znode.leader == id.0)
                    .map(|(partition, _)| RemainingPartition {
                        topic_name: name.clone(),
                        partition_index: *partition,
                        ..Default::default()
                    })
            })
            .collect();
        ControlledShutdownResponse {
            error_code: errors::NONE,
            remaining_partitions,
            ..Default::default()
        }
    }
}
