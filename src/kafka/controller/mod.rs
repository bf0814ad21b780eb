//! Cluster metadata kept in ZooKeeper in Kafka's own znode layout: the
//! `MetadataStore` a keel broker serves from, and the controller duties it takes on
//! when it wins the election.
//!
//! # Layout
//! - `zk_layout`: znode paths and the exact bytes Kafka writes in each (pure).
//! - `admin`: AdminZkClient's checks and replica placement (pure).
//! - `election`: leader/ISR decisions of the controller's state machines (pure).
//! - `session`: connecting (chroot included), bounded retries, small znode helpers.
//! - `channel`: the controller's requests to brokers: `plan` (pure: which
//!   LeaderAndIsr / UpdateMetadata / StopReplica to which broker, from the context
//!   last acted on and the current one) and one sender task per live broker.
//! - `reassignment`: partition reassignment (KIP-455) decisions and the legacy
//!   `/admin/reassign_partitions` znode (pure).
//! - `rpcs`: the controller's checks of AlterPartition, ControlledShutdown and
//!   AllocateProducerIds (pure).
//! - `driver`: the one task that registers the broker, mirrors the znodes into a
//!   `ClusterMetadata`, runs for controller, does the controller's writes, tells the
//!   brokers (through `channel`) and answers AlterPartition / ControlledShutdown
//!   (commands sent to it by the store handles, since it owns the cache).
//!
//! Handlers never touch ZooKeeper: they read `current()` / `subscribe()` and ask for
//! changes through the `MetadataStore` methods, which write the znodes the way
//! Kafka's ZkAdminManager and AdminZkClient do. The controller (on whichever broker,
//! keel or Apache, holds `/controller`) then reacts to those znodes, so a topic
//! created by `kafka-topics --zookeeper` of Kafka 2.2 and one created over the Kafka
//! protocol take the same path.
//!
//! Architecture invariant: nothing here imports `crate::zookeeper`; keel's brokers
//! talk to any ZooKeeper ensemble (3.5 or later) over the wire.

mod acl_store;
pub mod admin;
pub mod channel;
mod driver;
pub mod election;
pub mod reassignment;
pub mod rpcs;
pub mod session;
pub mod zk_layout;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
};
use kafka_protocol::ResponseError;
use tokio::sync::{mpsc, oneshot, watch};
use zookeeper_client as zk;

use self::admin::{error, RandomStart};
use self::session::{persistent, retry, zk_error};
use self::zk_layout::{self as layout, BrokerZnode, ProducerIdBlock, TopicZnode};
use crate::kafka::config::KafkaConfig;
use crate::kafka::metadata::{
    not_controller_alter_partition, not_controller_elections, BoxFuture, BrokerId, ClusterMetadata,
    ElectionOutcome, ElectionType, Endpoint, MetadataError, MetadataStore, NewTopic, PartitionName,
    TopicId, NOT_CONTROLLER_CODE,
};
use crate::kafka::protocol::inter_broker::{
    AlterPartitionRequest, AlterPartitionResponse, ControlledShutdownRequest,
    ControlledShutdownResponse,
};

/// Why the store could not start (or a ZooKeeper operation failed).
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error("ZooKeeper {what} of {path} failed: {source}")]
    Zk {
        what: &'static str,
        path: String,
        source: zk::Error,
    },
    #[error("Timed out waiting for connection to ZooKeeper {connect} after {timeout_ms} ms")]
    ConnectTimeout { connect: String, timeout_ms: u32 },
    /// Kafka's message when another live broker holds this id.
    #[error("Error while creating ephemeral at {path}, node already exists and owner '{owner:#x}' does not match current session '{session:#x}'")]
    BrokerIdTaken {
        path: String,
        owner: i64,
        session: i64,
    },
    #[error(transparent)]
    Layout(#[from] zk_layout::LayoutError),
    #[error("{0}")]
    Config(String),
}

/// What the store needs from `server.properties`.
#[derive(Debug, Clone)]
struct Settings {
    connect: String,
    session_timeout_ms: u32,
    connection_timeout_ms: u32,
    /// The SASL login and TLS towards ZooKeeper, every reconnect too.
    zookeeper_security: crate::kafka::security::zookeeper_client::ZkClientSecurity,
    num_partitions: i32,
    default_replication_factor: i16,
    delete_topic_enable: bool,
    /// `inter.broker.listener.name`: where the controller reaches brokers.
    inter_broker_listener: String,
    /// TLS and the SASL login on that listener, if it uses them.
    inter_broker_client: crate::kafka::security::InterBrokerClient,
    /// `unclean.leader.election.enable` of this broker's file: the default for topics
    /// without an override (dynamic broker configs come on top).
    unclean_leader_election_enable: bool,
    /// `auto.leader.rebalance.enable` and its two knobs.
    auto_leader_rebalance_enable: bool,
    leader_imbalance_check_interval_ms: u64,
    leader_imbalance_per_broker_percentage: u32,
    /// This broker's registration; the timestamp is set when it is written.
    registration: BrokerZnode,
    /// `authorizer.class.name` is set: mirror and write Kafka's ACL znodes.
    acls_enabled: bool,
}

/// State shared by the store handles and the driver task.
struct Shared {
    broker_id: BrokerId,
    settings: Settings,
    /// The current session; replaced after an expiry, `None` once shut down.
    client: RwLock<Option<zk::Client>>,
    /// The czxid of this broker's current `/brokers/ids/<id>`; -1 until registered.
    broker_epoch: AtomicI64,
}

impl Shared {
    fn client(&self) -> Result<zk::Client, MetadataError> {
        self.client
            .read()
            .expect("client lock poisoned")
            .clone()
            .ok_or_else(|| {
                error(
                    ResponseError::UnknownServerError,
                    "the metadata store is shut down",
                )
            })
    }

    fn replace_client(&self, client: zk::Client) {
        *self.client.write().expect("client lock poisoned") = Some(client);
    }
}

/// The ZooKeeper-backed `MetadataStore`. Cheap to clone; the session closes (and the
/// broker's ephemeral registration goes) on `shutdown` or when the last clone drops.
#[derive(Clone)]
pub struct ZkMetadataStore {
    shared: Arc<Shared>,
    metadata: watch::Receiver<Arc<ClusterMetadata>>,
    stop: Arc<watch::Sender<bool>>,
    /// Requests the controller role answers on the driver task, which owns the cache.
    commands: mpsc::UnboundedSender<driver::Command>,
    /// Serializes this broker's ACL writes (`acl_store`).
    acl_writes: Arc<tokio::sync::Mutex<()>>,
}

/// How long a clean shutdown waits for ZooKeeper to confirm the session closed.
const SESSION_CLOSE_WAIT_MS: u64 = 3_000;

/// Kafka's `reserved.broker.max.id` default: generated ids start above it.
const RESERVED_BROKER_ID_MAX_DEFAULT: i32 = 1000;

impl ZkMetadataStore {
    /// Connects, creates Kafka's persistent paths and `/cluster/id`, registers this
    /// broker (generating its id from `/brokers/seqid` when `broker.id` is unset),
    /// takes part in controller election, and returns once the first picture of the
    /// cluster is published.
    pub async fn start(
        config: &KafkaConfig,
        advertised: &[Endpoint],
    ) -> Result<(ZkMetadataStore, BrokerId), ControllerError> {
        let connect = config
            .zookeeper_connect
            .clone()
            .filter(|connect| !connect.trim().is_empty())
            .ok_or_else(|| ControllerError::Config("zookeeper.connect is not set".to_string()))?;
        let registration = registration(config, advertised)?;
        let zookeeper_security = &config.security.zookeeper;
        if zookeeper_security.secure_acls {
            session::use_secure_acls();
        }
        if let Some(login) = &zookeeper_security.sasl_login {
            tracing::info!(
                username = login.username,
                section = login.section,
                secure_acls = zookeeper_security.secure_acls,
                "logging in to ZooKeeper with SASL DIGEST-MD5"
            );
        }
        if let Some(tls) = &zookeeper_security.tls {
            tracing::info!(
                client_certificate = tls.identity_pem.is_some(),
                verify_hostname = tls.verify_hostname,
                secure_acls = zookeeper_security.secure_acls,
                "connecting to ZooKeeper over TLS"
            );
        }
        let client = session::connect(
            &connect,
            config.zookeeper_session_timeout_ms,
            config.zookeeper_connection_timeout_ms,
            zookeeper_security,
        )
        .await?;
        for path in layout::PERSISTENT_PATHS {
            session::ensure_path(&client, path).await?;
        }
        ensure_producer_id_block(&client).await?;
        let cluster_id = create_or_get_cluster_id(&client).await?;
        let broker_id = match config.broker_id {
            Some(id) => id,
            None => generate_broker_id(config, &client).await?,
        };
        tracing::info!(broker = %broker_id, cluster_id, "joining cluster");
        let settings = Settings {
            connect,
            session_timeout_ms: config.zookeeper_session_timeout_ms,
            connection_timeout_ms: config.zookeeper_connection_timeout_ms,
            zookeeper_security: zookeeper_security.clone(),
            num_partitions: config.num_partitions as i32,
            default_replication_factor: config.default_replication_factor as i16,
            delete_topic_enable: config.delete_topic_enable,
            inter_broker_listener: inter_broker_listener(config),
            inter_broker_client: config.security.inter_broker.clone(),
            unclean_leader_election_enable: property_bool(
                config,
                "unclean.leader.election.enable",
                false,
            ),
            auto_leader_rebalance_enable: property_bool(
                config,
                "auto.leader.rebalance.enable",
                true,
            ),
            leader_imbalance_check_interval_ms: property_number(
                config,
                "leader.imbalance.check.interval.seconds",
                LEADER_IMBALANCE_CHECK_INTERVAL_S_DEFAULT,
            )
            .max(1)
                * 1000,
            leader_imbalance_per_broker_percentage: property_number(
                config,
                "leader.imbalance.per.broker.percentage",
                LEADER_IMBALANCE_PER_BROKER_PERCENTAGE_DEFAULT,
            ),
            registration,
            acls_enabled: config.security.authorizer.is_some(),
        };
        let shared = Arc::new(Shared {
            broker_id,
            settings,
            client: RwLock::new(Some(client.clone())),
            broker_epoch: AtomicI64::new(-1),
        });
        let (publish, metadata) = watch::channel(Arc::new(ClusterMetadata::default()));
        let (stop_tx, stop_rx) = watch::channel(false);
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let mut driver = driver::Driver::new(shared.clone(), client, publish, commands_rx);
        driver.begin().await?;
        tokio::spawn(driver.run(stop_rx));
        let store = ZkMetadataStore {
            shared,
            metadata,
            stop: Arc::new(stop_tx),
            commands,
            acl_writes: Arc::new(tokio::sync::Mutex::new(())),
        };
        Ok((store, broker_id))
    }

    pub fn broker_id(&self) -> BrokerId {
        self.shared.broker_id
    }

    /// Like `shutdown`, and waits (up to `SESSION_CLOSE_WAIT_MS`) until ZooKeeper has
    /// closed the session, so a broker restarted right after finds its id free, as
    /// after a clean shutdown of Apache Kafka.
    pub async fn close(&self) {
        let client = self
            .shared
            .client
            .read()
            .expect("client lock poisoned")
            .clone();
        let Some(client) = client else { return };
        let mut state = client.state_watcher();
        drop(client);
        self.shutdown();
        let closed = async {
            while !state.peek_state().is_terminated() {
                state.changed().await;
            }
        };
        if tokio::time::timeout(
            std::time::Duration::from_millis(SESSION_CLOSE_WAIT_MS),
            closed,
        )
        .await
        .is_err()
        {
            tracing::warn!(
                "the ZooKeeper session did not close in time; its ephemerals go when it expires"
            );
        }
    }

    /// Stops the driver and closes the session, so the broker's registration (and
    /// `/controller`, if held) go at once rather than after the session timeout.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
        self.shared
            .client
            .write()
            .expect("client lock poisoned")
            .take();
    }
}

/// Kafka's `leader.imbalance.check.interval.seconds` default.
const LEADER_IMBALANCE_CHECK_INTERVAL_S_DEFAULT: u64 = 300;
/// Kafka's `leader.imbalance.per.broker.percentage` default.
const LEADER_IMBALANCE_PER_BROKER_PERCENTAGE_DEFAULT: u32 = 10;

/// A boolean property (already checked by `KafkaConfig`), or its default.
fn property_bool(config: &KafkaConfig, key: &str, default: bool) -> bool {
    config
        .properties
        .get(key)
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(default)
}

/// A numeric property (already checked by `KafkaConfig`), or its default.
fn property_number<T: std::str::FromStr>(config: &KafkaConfig, key: &str, default: T) -> T {
    config
        .properties
        .get(key)
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(default)
}

/// The listener brokers talk to each other on: `inter.broker.listener.name`, else
/// the listener named after `security.inter.broker.protocol`, else PLAINTEXT
/// (`KafkaConfig.getInterBrokerListenerNameAndSecurityProtocol`).
fn inter_broker_listener(config: &KafkaConfig) -> String {
    let named = |key: &str| {
        config
            .properties
            .get(key)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    };
    named("inter.broker.listener.name")
        .or_else(|| named("security.inter.broker.protocol"))
        .unwrap_or_else(|| "PLAINTEXT".to_string())
}

/// This broker's `/brokers/ids/<id>` content from its config.
fn registration(
    config: &KafkaConfig,
    advertised: &[Endpoint],
) -> Result<BrokerZnode, ControllerError> {
    let mut protocols: BTreeMap<String, String> = BTreeMap::new();
    if let Some(map) = config.properties.get("listener.security.protocol.map") {
        for item in map
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let (name, protocol) = item.split_once(':').ok_or_else(|| {
                ControllerError::Config(format!(
                    "listener.security.protocol.map: bad entry {item:?}"
                ))
            })?;
            protocols.insert(
                name.trim().to_ascii_uppercase(),
                protocol.trim().to_ascii_uppercase(),
            );
        }
    }
    let mut endpoints = Vec::with_capacity(advertised.len());
    for endpoint in advertised {
        let protocol = match protocols.get(&endpoint.listener) {
            Some(protocol) => protocol.clone(),
            // Without a map, Kafka's default maps each protocol name to itself.
            None if ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
                .contains(&endpoint.listener.as_str()) =>
            {
                endpoint.listener.clone()
            }
            None => {
                return Err(ControllerError::Config(format!(
                    "No security protocol defined for listener {}",
                    endpoint.listener
                )))
            }
        };
        endpoints.push((endpoint.clone(), protocol));
    }
    Ok(BrokerZnode {
        endpoints,
        rack: config
            .properties
            .get("broker.rack")
            .filter(|rack| !rack.is_empty())
            .cloned(),
        jmx_port: -1,
        timestamp_ms: 0,
        version: BrokerZnode::VERSION,
    })
}

/// `createOrGetClusterId`: a new random id unless one is there.
async fn create_or_get_cluster_id(client: &zk::Client) -> Result<String, ControllerError> {
    let path = layout::CLUSTER_ID_PATH;
    if let Some((data, _)) = session::get(client, path).await? {
        return Ok(layout::decode_cluster_id(&data)?);
    }
    session::ensure_path(client, "/cluster").await?;
    let proposed = layout::uuid_to_kafka_string(layout::random_kafka_uuid());
    let data = layout::encode_cluster_id(&proposed);
    let options = persistent(path);
    match retry("create", path, || client.create(path, &data, &options)).await {
        Ok(_) => Ok(proposed),
        Err(zk::Error::NodeExists) => match session::get(client, path).await? {
            Some((data, _)) => Ok(layout::decode_cluster_id(&data)?),
            None => Err(ControllerError::Config(
                "Failed to get cluster id from Zookeeper. This can happen if /cluster/id is deleted from Zookeeper."
                    .to_string(),
            )),
        },
        Err(source) => Err(zk_error("create", path, source)),
    }
}

/// `generateBrokerId`: the new version of `/brokers/seqid` plus `reserved.broker.max.id`.
async fn generate_broker_id(
    config: &KafkaConfig,
    client: &zk::Client,
) -> Result<BrokerId, ControllerError> {
    let enabled = config
        .properties
        .get("broker.id.generation.enable")
        .is_none_or(|value| value.eq_ignore_ascii_case("true"));
    if !enabled {
        return Err(ControllerError::Config(
            "No broker ID found, and broker.id.generation.enable is disabled.".to_string(),
        ));
    }
    let reserved = config
        .properties
        .get("reserved.broker.max.id")
        .and_then(|value| value.parse().ok())
        .unwrap_or(RESERVED_BROKER_ID_MAX_DEFAULT);
    let path = layout::BROKER_SEQUENCE_ID_PATH;
    let stat = retry("set", path, || client.set_data(path, &[], None))
        .await
        .map_err(|source| zk_error("set", path, source))?;
    Ok(BrokerId(stat.version + reserved))
}

/// Makes sure `/latest_producer_id_block` holds a block Kafka can parse (see
/// `ProducerIdBlock::PLACEHOLDER`); a znode Kafka created with null data reads as
/// empty and is given the placeholder too.
async fn ensure_producer_id_block(client: &zk::Client) -> Result<(), ControllerError> {
    let path = layout::PRODUCER_ID_BLOCK_PATH;
    if let Some((data, stat)) = session::get(client, path).await? {
        if data.is_empty() {
            let placeholder = ProducerIdBlock::PLACEHOLDER.encode();
            match retry("set", path, || {
                client.set_data(path, &placeholder, Some(stat.version))
            })
            .await
            {
                Ok(_) | Err(zk::Error::BadVersion) => {}
                Err(source) => return Err(zk_error("set", path, source)),
            }
        }
    }
    Ok(())
}

fn zk_failure(what: &str, path: &str, source: zk::Error) -> MetadataError {
    tracing::warn!(what, path, %source, "ZooKeeper operation failed");
    error(
        ResponseError::UnknownServerError,
        format!("ZooKeeper {what} of {path} failed: {source}"),
    )
}

fn into_metadata_error(error_value: ControllerError) -> MetadataError {
    tracing::warn!(error = %error_value, "ZooKeeper operation failed");
    error(ResponseError::UnknownServerError, error_value.to_string())
}

async fn topic_names(client: &zk::Client) -> Result<BTreeSet<String>, MetadataError> {
    let path = layout::TOPICS_PATH;
    match retry("list", path, || client.list_children(path)).await {
        Ok(children) => Ok(children.into_iter().collect()),
        Err(zk::Error::NoNode) => Ok(BTreeSet::new()),
        Err(source) => Err(zk_failure("list", path, source)),
    }
}

/// Deletes an entity config znode; one with children is kept with an empty config.
async fn remove_empty_entity(client: &zk::Client, znode: &str) -> Result<(), MetadataError> {
    match client.delete(znode, None).await {
        Ok(()) | Err(zk::Error::NoNode) => Ok(()),
        Err(zk::Error::NotEmpty) => session::set_or_create(
            client,
            znode,
            &layout::encode_entity_config(&BTreeMap::new()),
        )
        .await
        .map_err(into_metadata_error),
        Err(source) => Err(zk_failure("delete", znode, source)),
    }
}

async fn exists(client: &zk::Client, path: &str) -> Result<bool, MetadataError> {
    retry("exists", path, || client.check_stat(path))
        .await
        .map(|stat| stat.is_some())
        .map_err(|source| zk_failure("exists", path, source))
}

async fn notify_config_change(client: &zk::Client, entity_path: &str) -> Result<(), MetadataError> {
    let prefix = format!(
        "{}/{}",
        layout::CONFIG_CHANGES_PATH,
        layout::CONFIG_CHANGE_PREFIX
    );
    let data = layout::encode_config_change(entity_path);
    let options = session::persistent_sequential(&prefix);
    retry("create", &prefix, || {
        client.create(&prefix, &data, &options)
    })
    .await
    .map(drop)
    .map_err(|source| zk_failure("create", &prefix, source))
}

impl ZkMetadataStore {
    async fn create_topic_inner(
        &self,
        topic: NewTopic,
        validate_only: bool,
    ) -> Result<(), MetadataError> {
        let settings = &self.shared.settings;
        let client = self.shared.client()?;
        let current = self.current();
        // ZkAdminManager.createTopics, in its order of checks.
        if current.topics.contains_key(&topic.name) {
            return Err(error(
                ResponseError::TopicAlreadyExists,
                format!("Topic '{}' already exists.", topic.name),
            ));
        }
        if (topic.partitions != -1 || topic.replication_factor != -1)
            && !topic.assignments.is_empty()
        {
            return Err(error(
                ResponseError::InvalidRequest,
                "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.",
            ));
        }
        let assignment = if topic.assignments.is_empty() {
            let partitions = if topic.partitions == -1 {
                settings.num_partitions
            } else {
                topic.partitions
            };
            let replication_factor = if topic.replication_factor == -1 {
                settings.default_replication_factor
            } else {
                topic.replication_factor
            };
            let live: Vec<BrokerId> = current.brokers.keys().copied().collect();
            admin::assign_replicas(
                &live,
                partitions,
                replication_factor.into(),
                &mut RandomStart,
                0,
            )?
        } else {
            topic.assignments.clone()
        };
        // AdminZkClient.validateTopicCreate.
        admin::validate_topic_name(&topic.name)?;
        let marked = exists(&client, &layout::delete_topic_path(&topic.name)).await?;
        let existing = topic_names(&client).await?;
        admin::validate_topic_is_new(&topic.name, &existing, marked)?;
        admin::validate_explicit_assignment(&assignment)?;
        admin::validate_topic_config_names(&topic.configs)?;
        if validate_only {
            return Ok(());
        }
        // createTopicWithAssignment: the config first (not transactional with the
        // assignment, as in Kafka), then the assignment with a fresh topic id.
        let config_path = layout::topic_config_path(&topic.name);
        session::set_or_create(
            &client,
            &config_path,
            &layout::encode_entity_config(&topic.configs),
        )
        .await
        .map_err(into_metadata_error)?;
        let id = TopicId(layout::random_kafka_uuid());
        let znode = TopicZnode {
            topic_id: Some(id),
            partitions: assignment,
            ..TopicZnode::default()
        };
        let path = layout::topic_path(&topic.name);
        let data = znode.encode();
        let options = persistent(&path);
        match retry("create", &path, || client.create(&path, &data, &options)).await {
            Ok(_) => {
                tracing::info!(
                    topic = topic.name,
                    topic_id = layout::uuid_to_kafka_string(id.0),
                    partitions = znode.partitions.len(),
                    configs = ?topic.configs,
                    "created topic"
                );
                Ok(())
            }
            Err(zk::Error::NodeExists) => Err(error(
                ResponseError::TopicAlreadyExists,
                format!("Topic '{}' already exists.", topic.name),
            )),
            Err(source) => Err(zk_failure("create", &path, source)),
        }
    }

    async fn delete_topic_inner(&self, name: String) -> Result<(), MetadataError> {
        if !self.shared.settings.delete_topic_enable {
            return Err(error(
                ResponseError::TopicDeletionDisabled,
                "Topic deletion is disabled.",
            ));
        }
        let client = self.shared.client()?;
        if !exists(&client, &layout::topic_path(&name)).await? {
            return Err(error(
                ResponseError::UnknownTopicOrPartition,
                format!("Topic `{name}` to delete does not exist"),
            ));
        }
        let marker = layout::delete_topic_path(&name);
        let options = persistent(&marker);
        match retry("create", &marker, || client.create(&marker, &[], &options)).await {
            // Already marked: Kafka swallows TopicAlreadyMarkedForDeletionException.
            Ok(_) | Err(zk::Error::NodeExists) => {
                tracing::info!(topic = name, "topic marked for deletion");
                Ok(())
            }
            Err(zk::Error::NoNode) => {
                session::ensure_path(&client, layout::DELETE_TOPICS_PATH)
                    .await
                    .map_err(into_metadata_error)?;
                match retry("create", &marker, || client.create(&marker, &[], &options)).await {
                    Ok(_) | Err(zk::Error::NodeExists) => Ok(()),
                    Err(source) => Err(zk_failure("create", &marker, source)),
                }
            }
            Err(source) => Err(zk_failure("create", &marker, source)),
        }
    }

    async fn create_partitions_inner(
        &self,
        name: String,
        total: i32,
        assignments: Option<Vec<Vec<BrokerId>>>,
        validate_only: bool,
    ) -> Result<(), MetadataError> {
        let client = self.shared.client()?;
        let path = layout::topic_path(&name);
        for _ in 0..session::ATTEMPTS_MAX {
            let (znode, version) = match session::get(&client, &path)
                .await
                .map_err(into_metadata_error)?
            {
                Some((data, stat)) => (
                    TopicZnode::decode(&data).map_err(|e| into_metadata_error(e.into()))?,
                    stat.version,
                ),
                None => (TopicZnode::default(), -1),
            };
            let reassigning =
                !znode.adding_replicas.is_empty() || !znode.removing_replicas.is_empty();
            let brokers: Vec<BrokerId> = self.current().brokers.keys().copied().collect();
            let added = admin::new_partitions_assignment(
                &name,
                &znode.partitions,
                reassigning,
                &brokers,
                total,
                assignments.as_deref(),
            )?;
            if validate_only {
                return Ok(());
            }
            let mut grown = znode.clone();
            grown.partitions.extend(added);
            let data = grown.encode();
            match retry("set", &path, || {
                client.set_data(&path, &data, Some(version))
            })
            .await
            {
                Ok(_) => {
                    tracing::info!(topic = name, partitions = total, "added partitions");
                    return Ok(());
                }
                // Changed under us: read again and re-check.
                Err(zk::Error::BadVersion) => continue,
                Err(source) => return Err(zk_failure("set", &path, source)),
            }
        }
        Err(error(
            ResponseError::UnknownServerError,
            format!("The assignment of topic '{name}' kept changing; try again."),
        ))
    }

    async fn set_topic_configs_inner(
        &self,
        name: String,
        configs: BTreeMap<String, String>,
    ) -> Result<(), MetadataError> {
        let client = self.shared.client()?;
        // AdminZkClient.changeTopicConfig.
        if !exists(&client, &layout::topic_path(&name)).await? {
            return Err(error(
                ResponseError::UnknownTopicOrPartition,
                format!("Topic '{name}' does not exist."),
            ));
        }
        admin::validate_topic_config_names(&configs)?;
        let path = layout::topic_config_path(&name);
        session::set_or_create(&client, &path, &layout::encode_entity_config(&configs))
            .await
            .map_err(into_metadata_error)?;
        notify_config_change(&client, &layout::topic_config_entity_path(&name)).await?;
        tracing::info!(topic = name, ?configs, "updated topic configs");
        Ok(())
    }

    async fn set_broker_configs_inner(
        &self,
        broker: Option<BrokerId>,
        configs: BTreeMap<String, String>,
    ) -> Result<(), MetadataError> {
        let client = self.shared.client()?;
        let path = layout::broker_config_path(broker);
        session::set_or_create(&client, &path, &layout::encode_entity_config(&configs))
            .await
            .map_err(into_metadata_error)?;
        notify_config_change(&client, &layout::broker_config_entity_path(broker)).await?;
        tracing::info!(
            entity = layout::broker_config_entity_path(broker),
            ?configs,
            "updated broker configs"
        );
        Ok(())
    }

    /// ZkProducerIdManager.getNewProducerIdBlock: read, compute the next block,
    /// conditional write; another broker winning the race means read again.
    async fn allocate_producer_ids_inner(&self) -> Result<(i64, i64), MetadataError> {
        let client = self.shared.client()?;
        let broker = self.shared.broker_id;
        let path = layout::PRODUCER_ID_BLOCK_PATH;
        for _ in 0..session::ATTEMPTS_MAX {
            let current = session::get(&client, path)
                .await
                .map_err(into_metadata_error)?;
            let (block, version) = match &current {
                Some((data, stat)) => (
                    ProducerIdBlock::decode(data).map_err(|e| into_metadata_error(e.into()))?,
                    Some(stat.version),
                ),
                None => (None, None),
            };
            let next = ProducerIdBlock::next(block.as_ref(), broker).ok_or_else(|| {
                error(
                    ResponseError::UnknownServerError,
                    "Have exhausted all producerIds.",
                )
            })?;
            let data = next.encode();
            let result = match version {
                Some(version) => retry("set", path, || client.set_data(path, &data, Some(version)))
                    .await
                    .map(drop),
                None => {
                    let options = persistent(path);
                    retry("create", path, || client.create(path, &data, &options))
                        .await
                        .map(drop)
                }
            };
            match result {
                Ok(()) => {
                    tracing::info!(broker = %broker, first = next.first, last = next.last, "acquired producer id block");
                    return Ok((next.first, next.last));
                }
                Err(zk::Error::BadVersion | zk::Error::NodeExists | zk::Error::NoNode) => continue,
                Err(source) => return Err(zk_failure("set", path, source)),
            }
        }
        Err(error(
            ResponseError::UnknownServerError,
            "Could not claim a producer id block: other brokers kept winning; try again.",
        ))
    }
}

impl MetadataStore for ZkMetadataStore {
    fn current(&self) -> Arc<ClusterMetadata> {
        self.metadata.borrow().clone()
    }

    fn subscribe(&self) -> watch::Receiver<Arc<ClusterMetadata>> {
        self.metadata.clone()
    }

    fn create_topic(
        &self,
        topic: NewTopic,
        validate_only: bool,
    ) -> BoxFuture<Result<(), MetadataError>> {
        let store = self.clone();
        Box::pin(async move { store.create_topic_inner(topic, validate_only).await })
    }

    fn delete_topic(&self, name: String) -> BoxFuture<Result<(), MetadataError>> {
        let store = self.clone();
        Box::pin(async move { store.delete_topic_inner(name).await })
    }

    fn create_partitions(
        &self,
        name: String,
        total: i32,
        assignments: Option<Vec<Vec<BrokerId>>>,
        validate_only: bool,
    ) -> BoxFuture<Result<(), MetadataError>> {
        let store = self.clone();
        Box::pin(async move {
            store
                .create_partitions_inner(name, total, assignments, validate_only)
                .await
        })
    }

    fn set_topic_configs(
        &self,
        name: String,
        configs: BTreeMap<String, String>,
    ) -> BoxFuture<Result<(), MetadataError>> {
        let store = self.clone();
        Box::pin(async move { store.set_topic_configs_inner(name, configs).await })
    }

    fn set_broker_configs(
        &self,
        broker: Option<BrokerId>,
        configs: BTreeMap<String, String>,
    ) -> BoxFuture<Result<(), MetadataError>> {
        let store = self.clone();
        Box::pin(async move { store.set_broker_configs_inner(broker, configs).await })
    }

    fn allocate_producer_ids(&self) -> BoxFuture<Result<(i64, i64), MetadataError>> {
        let store = self.clone();
        Box::pin(async move { store.allocate_producer_ids_inner().await })
    }

    fn user_config(
        &self,
        user: String,
    ) -> BoxFuture<Result<Option<BTreeMap<String, String>>, MetadataError>> {
        let store = self.clone();
        Box::pin(async move {
            let client = store.shared.client()?;
            let path = layout::user_config_path(&user);
            Ok(session::get(&client, &path)
                .await
                .map_err(into_metadata_error)?
                .map(|(data, _)| layout::decode_entity_config(&data)))
        })
    }

    fn user_configs(
        &self,
    ) -> BoxFuture<Result<crate::kafka::metadata::EntityConfigs, MetadataError>> {
        let store = self.clone();
        Box::pin(async move {
            let client = store.shared.client()?;
            let children = match client.list_children(layout::USER_CONFIGS_PATH).await {
                Ok(children) => children,
                Err(zk::Error::NoNode) => return Ok(BTreeMap::new()),
                Err(source) => {
                    return Err(into_metadata_error(zk_error(
                        "list",
                        layout::USER_CONFIGS_PATH,
                        source,
                    )))
                }
            };
            let mut users = BTreeMap::new();
            for child in children {
                let path = format!("{}/{child}", layout::USER_CONFIGS_PATH);
                if let Some((data, _)) = session::get(&client, &path)
                    .await
                    .map_err(into_metadata_error)?
                {
                    users.insert(
                        layout::desanitize(&child),
                        layout::decode_entity_config(&data),
                    );
                }
            }
            Ok(users)
        })
    }

    fn config_entities(
        &self,
        kind: &'static str,
    ) -> BoxFuture<Result<crate::kafka::metadata::EntityConfigs, MetadataError>> {
        let store = self.clone();
        Box::pin(async move {
            let client = store.shared.client()?;
            let root = format!("/config/{kind}");
            let list = |path: String| {
                let client = client.clone();
                async move {
                    match client.list_children(&path).await {
                        Ok(children) => Ok(children),
                        Err(zk::Error::NoNode) => Ok(Vec::new()),
                        Err(source) => Err(into_metadata_error(zk_error("list", &path, source))),
                    }
                }
            };
            let mut names = Vec::new();
            for child in list(root.clone()).await? {
                if kind == "users" {
                    for client_id in list(format!("{root}/{child}/clients")).await? {
                        names.push(format!("{child}/clients/{client_id}"));
                    }
                }
                names.push(child);
            }
            let mut entities = BTreeMap::new();
            for name in names {
                let path = format!("{root}/{name}");
                if let Some((data, _)) = session::get(&client, &path)
                    .await
                    .map_err(into_metadata_error)?
                {
                    entities.insert(name, layout::decode_entity_config(&data));
                }
            }
            Ok(entities)
        })
    }

    fn create_acls(
        &self,
        bindings: Vec<crate::kafka::security::acl::AclBinding>,
    ) -> BoxFuture<Vec<Result<(), MetadataError>>> {
        let store = self.clone();
        Box::pin(async move { store.create_acls_inner(bindings).await })
    }

    fn delete_acls(
        &self,
        filters: Vec<crate::kafka::security::acl::AclBindingFilter>,
    ) -> BoxFuture<Vec<Vec<acl_store::DeletedBinding>>> {
        let store = self.clone();
        Box::pin(async move { store.delete_acls_inner(filters).await })
    }

    fn entity_config(
        &self,
        config_type: &'static str,
        path: String,
    ) -> BoxFuture<Result<BTreeMap<String, String>, MetadataError>> {
        let store = self.clone();
        Box::pin(async move {
            let client = store.shared.client()?;
            let znode = format!("/config/{config_type}/{path}");
            Ok(session::get(&client, &znode)
                .await
                .map_err(into_metadata_error)?
                .map(|(data, _)| layout::decode_entity_config(&data))
                .unwrap_or_default())
        })
    }

    fn set_entity_config(
        &self,
        config_type: &'static str,
        path: String,
        configs: BTreeMap<String, String>,
    ) -> BoxFuture<Result<(), MetadataError>> {
        let store = self.clone();
        Box::pin(async move {
            let client = store.shared.client()?;
            let znode = format!("/config/{config_type}/{path}");
            if configs.is_empty() {
                // As Kafka 3.9: an entity without quotas loses its znode (kept as an
                // empty config while it has children), and a user's emptied
                // `clients` and empty config go with it.
                remove_empty_entity(&client, &znode).await?;
                if let Some((user, _)) = path.split_once("/clients/") {
                    let clients = format!("/config/{config_type}/{user}/clients");
                    match client.delete(&clients, None).await {
                        Ok(()) | Err(zk::Error::NoNode | zk::Error::NotEmpty) => {}
                        Err(source) => return Err(zk_failure("delete", &clients, source)),
                    }
                    let user_node = format!("/config/{config_type}/{user}");
                    if let Some((data, _)) = session::get(&client, &user_node)
                        .await
                        .map_err(into_metadata_error)?
                    {
                        if layout::decode_entity_config(&data).is_empty() {
                            match client.delete(&user_node, None).await {
                                Ok(()) | Err(zk::Error::NoNode | zk::Error::NotEmpty) => {}
                                Err(source) => {
                                    return Err(zk_failure("delete", &user_node, source))
                                }
                            }
                        }
                    }
                }
            } else {
                // A user/client-id config's parent (`/config/users/<u>/clients`) may
                // not exist yet; `set_or_create` makes the leaf only.
                if let Some((parent, _)) = znode.rsplit_once('/') {
                    session::ensure_path(&client, parent)
                        .await
                        .map_err(into_metadata_error)?;
                }
                session::set_or_create(&client, &znode, &layout::encode_entity_config(&configs))
                    .await
                    .map_err(into_metadata_error)?;
            }
            notify_config_change(&client, &format!("{config_type}/{path}")).await
        })
    }

    fn set_user_config(
        &self,
        user: String,
        configs: BTreeMap<String, String>,
    ) -> BoxFuture<Result<(), MetadataError>> {
        let store = self.clone();
        Box::pin(async move {
            let client = store.shared.client()?;
            let path = layout::user_config_path(&user);
            session::set_or_create(&client, &path, &layout::encode_entity_config(&configs))
                .await
                .map_err(into_metadata_error)?;
            notify_config_change(&client, &layout::user_config_entity_path(&user)).await
        })
    }

    fn set_zk_consumer_offset(
        &self,
        group: String,
        topic: String,
        partition: i32,
        offset: i64,
    ) -> BoxFuture<Result<(), MetadataError>> {
        let store = self.clone();
        Box::pin(async move {
            let client = store.shared.client()?;
            let path = layout::consumer_offset_path(&group, &topic, partition);
            session::set_or_create(&client, &path, offset.to_string().as_bytes())
                .await
                .map_err(into_metadata_error)
        })
    }

    fn zk_consumer_offset(
        &self,
        group: String,
        topic: String,
        partition: i32,
    ) -> BoxFuture<Result<Option<i64>, MetadataError>> {
        let store = self.clone();
        Box::pin(async move {
            let client = store.shared.client()?;
            let path = layout::consumer_offset_path(&group, &topic, partition);
            let Some((data, _)) = session::get(&client, &path)
                .await
                .map_err(into_metadata_error)?
            else {
                return Ok(None);
            };
            // Kafka parses the text with `toLong` and fails the partition on anything else.
            std::str::from_utf8(&data)
                .ok()
                .and_then(|text| text.parse::<i64>().ok())
                .map(Some)
                .ok_or_else(|| {
                    error(
                        ResponseError::UnknownServerError,
                        format!("{path} does not hold a decimal offset"),
                    )
                })
        })
    }

    fn broker_epoch(&self) -> i64 {
        self.shared.broker_epoch.load(Ordering::Acquire)
    }

    fn alter_partition(&self, request: AlterPartitionRequest) -> BoxFuture<AlterPartitionResponse> {
        let commands = self.commands.clone();
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            let fallback = not_controller_alter_partition(&request);
            if commands
                .send(driver::Command::AlterPartition { request, reply })
                .is_err()
            {
                return fallback;
            }
            answer.await.unwrap_or(fallback)
        })
    }

    fn elect_leaders(
        &self,
        election_type: ElectionType,
        partitions: Vec<PartitionName>,
    ) -> BoxFuture<Vec<ElectionOutcome>> {
        let commands = self.commands.clone();
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            let command = driver::Command::ElectLeaders {
                election_type,
                partitions: partitions.clone(),
                reply,
            };
            if commands.send(command).is_err() {
                return not_controller_elections(partitions);
            }
            answer
                .await
                .unwrap_or_else(|_| not_controller_elections(partitions))
        })
    }

    fn alter_partition_reassignments(
        &self,
        request: AlterPartitionReassignmentsRequest,
    ) -> BoxFuture<AlterPartitionReassignmentsResponse> {
        let commands = self.commands.clone();
        Box::pin(async move {
            let fallback =
                AlterPartitionReassignmentsResponse::default().with_error_code(NOT_CONTROLLER_CODE);
            let (reply, answer) = oneshot::channel();
            if commands
                .send(driver::Command::AlterPartitionReassignments { request, reply })
                .is_err()
            {
                return fallback;
            }
            answer.await.unwrap_or(fallback)
        })
    }

    fn list_partition_reassignments(
        &self,
        request: ListPartitionReassignmentsRequest,
    ) -> BoxFuture<ListPartitionReassignmentsResponse> {
        let commands = self.commands.clone();
        Box::pin(async move {
            let fallback =
                ListPartitionReassignmentsResponse::default().with_error_code(NOT_CONTROLLER_CODE);
            let (reply, answer) = oneshot::channel();
            if commands
                .send(driver::Command::ListPartitionReassignments { request, reply })
                .is_err()
            {
                return fallback;
            }
            answer.await.unwrap_or(fallback)
        })
    }

    fn controlled_shutdown(
        &self,
        request: ControlledShutdownRequest,
    ) -> BoxFuture<ControlledShutdownResponse> {
        let commands = self.commands.clone();
        Box::pin(async move {
            let fallback = ControlledShutdownResponse {
                error_code: NOT_CONTROLLER_CODE,
                ..Default::default()
            };
            let (reply, answer) = oneshot::channel();
            if commands
                .send(driver::Command::ControlledShutdown { request, reply })
                .is_err()
            {
                return fallback;
            }
            answer.await.unwrap_or(fallback)
        })
    }
}
