//! The broker: what every request handler shares (config, metadata, logs, the
//! append signal for long polls) and the dispatch from a decoded request to its
//! handler in `apis`.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use kafka_protocol::ResponseError;
use tokio::sync::watch;

use crate::kafka::apis;
use crate::kafka::config::{BrokerId, KafkaConfig};
use crate::kafka::fetch_session::{FetchSessionCache, SessionCacheConfig};
use crate::kafka::log::checkpoint::TopicPartition;
use crate::kafka::log::manager::LogManager;
use crate::kafka::log::partition::LogSettings;
use crate::kafka::metadata::{
    BrokerRegistration, ClusterMetadata, Endpoint, MetadataStore, TopicMetadata,
};
use crate::kafka::metadata::{PartitionState as MetadataPartitionState, TopicId};
use crate::kafka::protocol::{Request, Response};
use crate::kafka::replica::manager::ReplicaManager;
use crate::kafka::replica::state::PartitionState as CorePartitionState;
use crate::kafka::replica::{Partition, ProduceLimits, ReplicaRole};
use crate::kafka::topic_config;

/// Milliseconds since the Unix epoch; injected so tests control time.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as i64)
            .unwrap_or(0)
    })
}

pub struct Broker {
    pub config: KafkaConfig,
    pub id: BrokerId,
    pub metadata: Arc<dyn MetadataStore>,
    pub logs: LogManager,
    clock: Clock,
    /// Bumped on every append, so waiting fetches re-check their partitions.
    appends: watch::Sender<u64>,
    /// Topics this broker has seen in metadata: a topic that leaves this set was
    /// deleted and its local logs go too.
    known_topics: Mutex<BTreeSet<String>>,
    /// Partitions the controller deleted here with StopReplica(delete=true) while
    /// their topic lives on (a reassignment moved them away): `reconcile` must not
    /// reopen them from a metadata picture older than the move. A LeaderAndIsr
    /// naming this broker again takes one out.
    deleted_by_controller: Mutex<BTreeSet<TopicPartition>>,
    /// The block of producer ids InitProducerId hands out from.
    pub producer_ids: Mutex<apis::producer_id::ProducerIdBlock>,
    /// The consumer group coordinator's shell.
    pub groups: apis::groups::GroupService,
    /// Incremental fetch sessions (KIP-227).
    pub fetch_sessions: Mutex<FetchSessionCache>,
    /// `topic_settings` per topic, resolved against the current metadata.
    settings_cache: Mutex<TopicSettingsCache>,
    /// The broker role towards the controller: epochs, live brokers, fetchers.
    pub replicas: ReplicaManager,
    /// Connections per client address, across listeners (`server::quotas`).
    pub connection_quotas: Arc<crate::kafka::server::quotas::ConnectionQuotas>,
    /// What the request path counts for `/metrics` (`kafka::metrics`).
    pub metrics: crate::kafka::metrics::BrokerMetrics,
    /// The client quota sensors (`kafka::quota`, `apis::throttle`).
    pub quota_sensors: Mutex<crate::kafka::quota::QuotaSensors>,
    /// This broker's own `Arc`, for the tasks it starts (fetchers) from `&self`.
    this: std::sync::Weak<Broker>,
}

/// Topic settings resolved against one metadata snapshot. Resolving them takes a
/// dozen config lookups and parses, and every produce and fetch needs them for each
/// partition; they change only with the metadata (topic overrides, dynamic broker
/// configs), which is replaced as a whole `Arc` on every change. Holding that `Arc`
/// keeps its address from being reused, so pointer equality says "same snapshot".
/// Bounded by the snapshot's topics; emptied when the snapshot changes.
#[derive(Debug, Default)]
struct TopicSettingsCache {
    metadata: Option<Arc<ClusterMetadata>>,
    topics: HashMap<String, (LogSettings, ProduceLimits)>,
}

impl Broker {
    pub fn new(
        config: KafkaConfig,
        id: BrokerId,
        metadata: Arc<dyn MetadataStore>,
        mut logs: LogManager,
        clock: Clock,
    ) -> Arc<Broker> {
        logs.set_local_broker(id);
        let (appends, _) = watch::channel(0);
        let fetch_sessions = FetchSessionCache::new(
            SessionCacheConfig {
                slots_max: config.fetch_session_cache_slots as usize,
                eviction_ms: config.fetch_session_eviction_ms,
            },
            uuid::Uuid::new_v4().as_u128() as u64,
        );
        let metrics = crate::kafka::metrics::BrokerMetrics::new(
            crate::kafka::protocol::versions::SUPPORTED
                .iter()
                .map(|(api_key, _, _)| *api_key),
        );
        for api in crate::kafka::protocol::inter_broker::InterBrokerApi::ALL {
            metrics.track_request(&format!("{api:?}"));
        }
        let connection_quotas = Arc::new(crate::kafka::server::quotas::ConnectionQuotas::new(
            config.connection_limits.clone(),
        ));
        let quota_sensors = Mutex::new(crate::kafka::quota::QuotaSensors::new(config.quota_window));
        Arc::new_cyclic(|this| Broker {
            this: this.clone(),
            config,
            id,
            metadata,
            logs,
            clock,
            appends,
            known_topics: Mutex::new(BTreeSet::new()),
            deleted_by_controller: Mutex::new(BTreeSet::new()),
            producer_ids: Mutex::new(apis::producer_id::ProducerIdBlock::empty()),
            groups: apis::groups::GroupService::default(),
            fetch_sessions: Mutex::new(fetch_sessions),
            settings_cache: Mutex::new(TopicSettingsCache::default()),
            replicas: ReplicaManager::default(),
            connection_quotas,
            metrics,
            quota_sensors,
        })
    }

    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    pub fn notify_append(&self) {
        self.appends
            .send_modify(|count| *count = count.wrapping_add(1));
    }

    pub fn subscribe_appends(&self) -> watch::Receiver<u64> {
        self.appends.subscribe()
    }

    /// A topic config's effective value (topic override, dynamic broker config,
    /// server.properties, Kafka's default).
    pub fn topic_config(&self, topic: &TopicMetadata, key: &str) -> Option<String> {
        let metadata = self.metadata.current();
        topic_config::resolve(key, &topic.configs, &metadata, self.id, &self.config)
            .map(|(value, _)| value)
    }

    /// The log settings and produce limits of a topic.
    pub fn topic_settings(&self, topic: &TopicMetadata) -> (LogSettings, ProduceLimits) {
        let number = |key: &str| {
            self.topic_config(topic, key)
                .and_then(|value| value.trim().parse::<i64>().ok())
        };
        let defaults = LogSettings::default();
        let policy: Vec<String> = self
            .topic_config(topic, "cleanup.policy")
            .unwrap_or_else(|| "delete".to_string())
            .split(',')
            .map(|policy| policy.trim().to_string())
            .collect();
        let settings = LogSettings {
            segment_bytes: number("segment.bytes")
                .map_or(self.config.log_segment_bytes as u64, |value| {
                    value.max(1) as u64
                }),
            segment_ms: number("segment.ms").unwrap_or(self.config.log_roll_ms),
            index_interval_bytes: number("index.interval.bytes")
                .map_or(defaults.index_interval_bytes, |value| value.max(0) as u64),
            retention_ms: number("retention.ms").unwrap_or(self.config.log_retention_ms),
            retention_bytes: number("retention.bytes").unwrap_or(self.config.log_retention_bytes),
            flush_interval_messages: number("flush.messages")
                .unwrap_or(self.config.log_flush_interval_messages),
            cleanup_delete: policy.iter().any(|p| p == "delete"),
            cleanup_compact: policy.iter().any(|p| p == "compact"),
            min_cleanable_dirty_ratio: self
                .topic_config(topic, "min.cleanable.dirty.ratio")
                .and_then(|value| value.trim().parse::<f64>().ok())
                .unwrap_or(defaults.min_cleanable_dirty_ratio),
            min_compaction_lag_ms: number("min.compaction.lag.ms")
                .unwrap_or(defaults.min_compaction_lag_ms),
            max_compaction_lag_ms: number("max.compaction.lag.ms")
                .unwrap_or(defaults.max_compaction_lag_ms),
            delete_retention_ms: number("delete.retention.ms")
                .unwrap_or(defaults.delete_retention_ms),
        };
        let limits = ProduceLimits {
            batch_bytes_max: number("max.message.bytes")
                .map_or(self.config.message_bytes_max, |value| {
                    value.clamp(0, u32::MAX as i64) as u32
                }),
            log_append_time: self
                .topic_config(topic, "message.timestamp.type")
                .is_some_and(|value| value.trim() == "LogAppendTime"),
            compacted: settings.cleanup_compact,
        };
        (settings, limits)
    }

    /// `topic_settings`, from the cache when `metadata` is the current snapshot (what
    /// `topic_settings` reads its broker configs from). A request that still holds an
    /// older snapshot gets them resolved afresh, exactly as before.
    fn topic_settings_cached(
        &self,
        metadata: &ClusterMetadata,
        topic: &TopicMetadata,
    ) -> (LogSettings, ProduceLimits) {
        let current = self.metadata.current();
        if !std::ptr::eq(Arc::as_ptr(&current), metadata) {
            return self.topic_settings(topic);
        }
        let mut cache = self
            .settings_cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !cache
            .metadata
            .as_ref()
            .is_some_and(|cached| Arc::ptr_eq(cached, &current))
        {
            cache.topics.clear();
            cache.metadata = Some(current);
        }
        if let Some(found) = cache.topics.get(&topic.name) {
            return found.clone();
        }
        let resolved = self.topic_settings(topic);
        cache.topics.insert(topic.name.clone(), resolved.clone());
        resolved
    }

    /// The local partition for a request that must go to the leader: this broker
    /// must lead it, as the last LeaderAndIsr (or, before a controller sent one, the
    /// partition's state znode) made it.
    pub fn leader_partition(
        &self,
        metadata: &ClusterMetadata,
        topic: &str,
        partition: i32,
    ) -> Result<(Arc<Partition>, ProduceLimits), ResponseError> {
        let topic = metadata
            .topics
            .get(topic)
            .filter(|topic| !topic.marked_for_deletion)
            .ok_or(ResponseError::UnknownTopicOrPartition)?;
        let state = topic
            .partitions
            .get(&partition)
            .ok_or(ResponseError::UnknownTopicOrPartition)?;
        let (settings, limits) = self.topic_settings_cached(metadata, topic);
        let tp = TopicPartition::new(&topic.name, partition);
        let local = match self.logs.get(&tp) {
            Some(local) => local,
            None if !self.replicas.driven_by_controller() && state.leader == Some(self.id) => {
                self.logs
                    .open_or_create(&tp, topic.id, settings)
                    .map_err(|error| {
                        tracing::error!(partition = %tp.dir_name(), %error, "cannot open partition log");
                        ResponseError::KafkaStorageError
                    })?
            }
            None => return Err(ResponseError::NotLeaderOrFollower),
        };
        if !local.is_leader() && !self.replicas.driven_by_controller() {
            self.apply_znode_state(&local, topic, state);
        }
        if !local.is_leader() {
            return Err(ResponseError::NotLeaderOrFollower);
        }
        Ok((local, limits))
    }

    /// `min.insync.replicas` of a topic (its override, else the broker's).
    pub fn min_insync_replicas(&self, topic: &TopicMetadata) -> usize {
        self.topic_config(topic, "min.insync.replicas")
            .and_then(|value| value.trim().parse::<usize>().ok())
            .unwrap_or(self.config.min_insync_replicas as usize)
            .max(1)
    }

    /// Opens (or creates) a partition a LeaderAndIsr names, with its topic's settings
    /// if the topic is known yet, else the broker's defaults (`reconcile` applies the
    /// topic's once its znodes are read). Returns it with its `min.insync.replicas`.
    pub fn open_partition(
        &self,
        tp: &TopicPartition,
        topic_id: TopicId,
    ) -> Option<(Arc<Partition>, usize)> {
        let metadata = self.metadata.current();
        let topic = metadata
            .topics
            .get(&tp.topic)
            .cloned()
            .unwrap_or_else(|| TopicMetadata {
                name: tp.topic.clone(),
                id: topic_id,
                partitions: Default::default(),
                configs: Default::default(),
                marked_for_deletion: false,
            });
        let (settings, _) = self.topic_settings(&topic);
        let min_isr = self.min_insync_replicas(&topic);
        let id = if topic_id != TopicId::ZERO {
            topic_id
        } else {
            topic.id
        };
        self.logs
            .open_or_create(tp, id, settings)
            .map(|partition| (partition, min_isr))
            .map_err(|error| {
                tracing::error!(partition = %tp.dir_name(), %error, "cannot open partition log");
            })
            .ok()
    }

    /// Applies a partition's state znode as if a LeaderAndIsr had carried it: the
    /// path for a controller that writes partition state without sending LeaderAndIsr.
    /// Fenced by epochs like a LeaderAndIsr, so applying it twice changes nothing.
    fn apply_znode_state(
        &self,
        partition: &Arc<Partition>,
        topic: &TopicMetadata,
        state: &MetadataPartitionState,
    ) {
        let core = CorePartitionState {
            leader: state.leader,
            leader_epoch: state.leader_epoch,
            isr: state.isr.clone(),
            partition_epoch: state.zk_version,
            replicas: state.replicas.clone(),
        };
        let live = Some(self.metadata.current().brokers.keys().copied().collect());
        if partition
            .apply_leader_and_isr(self.now_ms(), &core, self.min_insync_replicas(topic), live)
            .is_ok()
        {
            if let ReplicaRole::Follower { leader, .. } = partition.role() {
                if let Some(broker) = self.this.upgrade() {
                    self.replicas.ensure_fetcher(&broker, leader);
                }
            }
        }
    }

    /// Brings local logs in line with the metadata: opens the partitions this broker
    /// hosts, applies changed topic settings, deletes logs of deleted topics; and,
    /// until a controller sends LeaderAndIsr, applies the state znodes.
    pub fn reconcile(&self, metadata: &ClusterMetadata) {
        let driven = self.replicas.driven_by_controller();
        let deleted_by_controller = self
            .deleted_by_controller
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        for topic in metadata.topics.values() {
            if topic.marked_for_deletion {
                continue;
            }
            let (settings, _) = self.topic_settings(topic);
            let min_isr = self.min_insync_replicas(topic);
            for (index, state) in &topic.partitions {
                if !state.replicas.contains(&self.id) {
                    continue;
                }
                let tp = TopicPartition::new(&topic.name, *index);
                if deleted_by_controller.contains(&tp) {
                    continue;
                }
                match self.logs.open_or_create(&tp, topic.id, settings.clone()) {
                    Ok(partition) => {
                        partition.set_log_settings(settings.clone());
                        partition.set_min_insync_replicas(min_isr);
                        if !driven {
                            self.apply_znode_state(&partition, topic, state);
                        }
                    }
                    Err(error) => {
                        tracing::error!(partition = %tp.dir_name(), %error, "cannot open partition log")
                    }
                }
            }
        }
        let mut known = self
            .known_topics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let live: BTreeSet<String> = metadata
            .topics
            .values()
            .filter(|topic| !topic.marked_for_deletion)
            .map(|topic| topic.name.clone())
            .collect();
        for gone in known.difference(&live) {
            for partition in self
                .logs
                .all()
                .into_iter()
                .filter(|partition| &partition.topic_partition.topic == gone)
            {
                let tp = partition.topic_partition.clone();
                partition.stop_replica();
                drop(partition);
                if let Err(error) = self.logs.delete(&tp) {
                    tracing::warn!(partition = %tp.dir_name(), %error, "cannot delete partition log");
                } else {
                    tracing::info!(partition = %tp.dir_name(), "deleted the log of a deleted topic");
                }
            }
        }
        self.deleted_by_controller
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|tp| live.contains(&tp.topic));
        *known = live;
    }

    /// StopReplica(delete=true) removed this partition's log (see
    /// `deleted_by_controller`); `deleted = false` undoes it when a LeaderAndIsr names this
    /// broker as a replica again.
    pub fn mark_deleted_by_controller(&self, tp: &TopicPartition, deleted: bool) {
        let mut set = self
            .deleted_by_controller
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if deleted {
            set.insert(tp.clone());
        } else {
            set.remove(tp);
        }
    }

    /// The endpoint clients should use for a broker: the one on the listener the
    /// request came in on (`authz::REQUEST_SESSION`), as Kafka answers, so a client of a
    /// SASL listener is never sent to a plaintext one; `None` when that broker has no
    /// such listener. Outside a request, the listener this broker advertises first.
    pub fn client_endpoint<'a>(
        &self,
        registration: &'a BrokerRegistration,
    ) -> Option<&'a Endpoint> {
        if let Some(session) = crate::kafka::authz::current_session() {
            let listener = &session.listener;
            return registration
                .endpoints
                .iter()
                .find(|endpoint| endpoint.listener.eq_ignore_ascii_case(listener));
        }
        let listener = self
            .config
            .advertised_listeners
            .first()
            .map(|listener| listener.name.as_str());
        registration
            .endpoints
            .iter()
            .find(|endpoint| Some(endpoint.listener.as_str()) == listener)
            .or_else(|| registration.endpoints.first())
    }

    /// Opens the partitions this broker hosts as the metadata changes (and drops
    /// deleted topics' logs), for as long as the metadata store lives.
    pub fn follow_metadata(self: &Arc<Self>) {
        let broker = self.clone();
        let mut changes = self.metadata.subscribe();
        tokio::spawn(async move {
            loop {
                let current = changes.borrow_and_update().clone();
                broker.reconcile(&current);
                if changes.changed().await.is_err() {
                    return;
                }
            }
        });
    }

    /// Waits until `done` holds for the metadata or `timeout_ms` passes; returns
    /// whether it held.
    pub async fn wait_for_metadata(
        &self,
        timeout_ms: i32,
        done: impl Fn(&ClusterMetadata) -> bool,
    ) -> bool {
        let mut changes = self.metadata.subscribe();
        let deadline = tokio::time::Instant::now()
            + std::time::Duration::from_millis(timeout_ms.max(0) as u64);
        loop {
            if done(&changes.borrow_and_update()) {
                return true;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => continue,
                _ => return done(&self.metadata.current()),
            }
        }
    }

    /// Answers one request; `None` when the protocol wants no response (acks=0).
    /// With it, the milliseconds a client quota mutes the connection for.
    pub async fn handle(self: &Arc<Self>, request: Request) -> (Option<Response>, i32) {
        apis::dispatch(self, request).await
    }
}
