//! `server.properties`, read as Apache Kafka's KafkaConfig reads it.
//!
//! Known keys are type-checked (a bad value names the file, line and key, as a
//! ConfigException would) and the ones keel acts on become typed fields with Kafka's
//! defaults. Keys keel does not know are kept and reported once at start-up, the way
//! Kafka warns about configurations that were supplied but are not known.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::{ConfigError, Properties};

/// A broker's id (`broker.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BrokerId(pub i32);

impl fmt::Display for BrokerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One entry of `listeners` / `advertised.listeners`: `NAME://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub name: String,
    /// Empty means every interface (Kafka's `PLAINTEXT://:9092`).
    pub host: String,
    pub port: u16,
}

/// The broker configuration, Kafka's defaults applied.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    pub config_path: PathBuf,
    /// `None` when `broker.id` is -1 or absent: an id is then generated in ZooKeeper.
    pub broker_id: Option<BrokerId>,
    pub listeners: Vec<Listener>,
    pub advertised_listeners: Vec<Listener>,
    pub log_dirs: Vec<PathBuf>,
    pub zookeeper_connect: Option<String>,
    pub zookeeper_session_timeout_ms: u32,
    pub zookeeper_connection_timeout_ms: u32,
    pub num_partitions: u32,
    pub default_replication_factor: u16,
    pub auto_create_topics_enable: bool,
    pub delete_topic_enable: bool,
    pub message_bytes_max: u32,
    pub socket_request_bytes_max: u32,
    pub log_segment_bytes: u32,
    /// -1 keeps data forever.
    pub log_retention_ms: i64,
    pub log_retention_bytes: i64,
    pub log_roll_ms: i64,
    pub log_flush_interval_messages: i64,
    pub log_flush_interval_ms: Option<i64>,
    pub offsets_topic_num_partitions: u32,
    pub offsets_topic_replication_factor: u16,
    pub group_initial_rebalance_delay_ms: u32,
    pub group_session_timeout_ms_min: u32,
    pub group_session_timeout_ms_max: u32,
    pub log_cleaner_enable: bool,
    /// `max.incremental.fetch.session.cache.slots`: fetch sessions kept (KIP-227).
    pub fetch_session_cache_slots: u32,
    /// `min.incremental.fetch.session.eviction.ms`: how long a fetch session is
    /// safe from eviction by a newcomer.
    pub fetch_session_eviction_ms: i64,
    /// `replica.lag.time.max.ms`: how long a follower may lag before it leaves the ISR.
    pub replica_lag_time_max_ms: i64,
    /// `replica.fetch.wait.max.ms`: a follower's Fetch long poll.
    pub replica_fetch_wait_max_ms: i32,
    /// `replica.fetch.max.bytes`: per partition in a follower's Fetch.
    pub replica_fetch_max_bytes: i32,
    /// `replica.fetch.response.max.bytes`: a follower's whole Fetch.
    pub replica_fetch_response_max_bytes: i32,
    /// `replica.fetch.backoff.ms`: pause after a failed follower Fetch.
    pub replica_fetch_backoff_ms: u64,
    /// `min.insync.replicas`: the broker default of the topic config.
    pub min_insync_replicas: u32,
    /// `controlled.shutdown.enable`: ask the controller to move leadership away
    /// before stopping.
    pub controlled_shutdown_enable: bool,
    /// `inter.broker.listener.name`: the listener followers fetch on (the peer's
    /// endpoint of that name); `PLAINTEXT` by default, as Kafka's.
    pub inter_broker_listener_name: String,
    /// `keel.metrics.port`: where `/metrics` and `/ready` are served (`None`:
    /// unset or 0, off).
    pub metrics_port: Option<u16>,
    /// `keel.metrics.host`: the address that endpoint binds (default all).
    pub metrics_host: String,
    /// `quota.window.num` and `quota.window.size.seconds`: the client quota sensors'
    /// samples (`kafka::quota`).
    pub quota_window: crate::kafka::quota::QuotaWindow,
    /// `max.connections.per.ip` and its overrides (`server::quotas`).
    pub connection_limits: crate::kafka::server::quotas::ConnectionLimits,
    /// `connections.max.idle.ms`: a connection without a request for this long is
    /// closed (Kafka's default 10 minutes; -1 never).
    pub connections_max_idle_ms: i64,
    /// Each listener's security protocol and SASL set-up, and the inter-broker login
    /// (`kafka::security`).
    pub security: crate::kafka::security::BrokerSecurity,
    /// Keys not known to keel, with their lines, for the start-up report.
    pub unknown_keys: Vec<(String, usize)>,
    /// All properties, overrides applied, for DescribeConfigs.
    pub properties: BTreeMap<String, String>,
}

#[derive(Clone, Copy)]
enum Kind {
    Int,
    Long,
    Short,
    Bool,
    Text,
    List,
    Double,
}

/// Keys Kafka defines that appear in real server.properties files, with their types.
/// A known key with a value of the wrong type is an error, as in Kafka.
const KNOWN_KEYS: &[(&str, Kind)] = &[
    ("broker.id", Kind::Int),
    ("node.id", Kind::Int),
    ("listeners", Kind::List),
    ("advertised.listeners", Kind::List),
    ("listener.security.protocol.map", Kind::List),
    ("inter.broker.listener.name", Kind::Text),
    // keel's own: the Prometheus endpoint (`kafka::metrics`). Apache Kafka warns
    // about them as unknown and starts, so one file serves both.
    ("keel.metrics.port", Kind::Int),
    ("keel.metrics.host", Kind::Text),
    ("security.inter.broker.protocol", Kind::Text),
    ("host.name", Kind::Text),
    ("port", Kind::Int),
    ("advertised.host.name", Kind::Text),
    ("advertised.port", Kind::Int),
    ("log.dir", Kind::Text),
    ("log.dirs", Kind::List),
    ("zookeeper.connect", Kind::Text),
    ("zookeeper.connection.timeout.ms", Kind::Int),
    ("zookeeper.session.timeout.ms", Kind::Int),
    ("zookeeper.set.acl", Kind::Bool),
    ("num.network.threads", Kind::Int),
    ("num.io.threads", Kind::Int),
    ("num.replica.fetchers", Kind::Int),
    ("num.recovery.threads.per.data.dir", Kind::Int),
    ("background.threads", Kind::Int),
    ("socket.send.buffer.bytes", Kind::Int),
    ("socket.receive.buffer.bytes", Kind::Int),
    ("socket.request.max.bytes", Kind::Int),
    ("quota.window.num", Kind::Int),
    ("quota.window.size.seconds", Kind::Int),
    ("queued.max.requests", Kind::Int),
    ("num.partitions", Kind::Int),
    ("default.replication.factor", Kind::Int),
    ("min.insync.replicas", Kind::Int),
    ("auto.create.topics.enable", Kind::Bool),
    ("delete.topic.enable", Kind::Bool),
    ("auto.leader.rebalance.enable", Kind::Bool),
    ("unclean.leader.election.enable", Kind::Bool),
    ("leader.imbalance.check.interval.seconds", Kind::Long),
    ("leader.imbalance.per.broker.percentage", Kind::Int),
    ("message.max.bytes", Kind::Int),
    ("replica.fetch.max.bytes", Kind::Int),
    ("log.segment.bytes", Kind::Int),
    ("log.retention.hours", Kind::Int),
    ("log.retention.minutes", Kind::Int),
    ("log.retention.ms", Kind::Long),
    ("log.retention.bytes", Kind::Long),
    ("log.retention.check.interval.ms", Kind::Long),
    ("log.roll.hours", Kind::Int),
    ("log.roll.ms", Kind::Long),
    ("log.flush.interval.messages", Kind::Long),
    ("log.flush.interval.ms", Kind::Long),
    ("log.cleaner.enable", Kind::Bool),
    ("log.cleanup.policy", Kind::List),
    ("compression.type", Kind::Text),
    ("offsets.topic.num.partitions", Kind::Int),
    ("offsets.topic.replication.factor", Kind::Short),
    ("offsets.retention.minutes", Kind::Int),
    ("transaction.state.log.replication.factor", Kind::Short),
    ("transaction.state.log.min.isr", Kind::Int),
    ("group.initial.rebalance.delay.ms", Kind::Int),
    ("group.min.session.timeout.ms", Kind::Int),
    ("group.max.session.timeout.ms", Kind::Int),
    ("replica.lag.time.max.ms", Kind::Long),
    ("replica.fetch.wait.max.ms", Kind::Int),
    ("replica.fetch.response.max.bytes", Kind::Int),
    ("replica.fetch.backoff.ms", Kind::Int),
    ("replica.fetch.min.bytes", Kind::Int),
    ("replica.high.watermark.checkpoint.interval.ms", Kind::Long),
    ("controlled.shutdown.enable", Kind::Bool),
    ("log.message.timestamp.type", Kind::Text),
    ("log.index.interval.bytes", Kind::Int),
    ("log.index.size.max.bytes", Kind::Int),
    ("reserved.broker.max.id", Kind::Int),
    ("broker.id.generation.enable", Kind::Bool),
    ("broker.rack", Kind::Text),
    ("max.connections.per.ip", Kind::Int),
    ("connections.max.idle.ms", Kind::Long),
    ("max.connections.per.ip.overrides", Kind::Text),
    ("metric.reporters", Kind::List),
    ("process.roles", Kind::List),
    ("controller.quorum.voters", Kind::List),
    ("controller.listener.names", Kind::List),
    ("sample.ratio", Kind::Double),
    ("max.incremental.fetch.session.cache.slots", Kind::Int),
    ("min.incremental.fetch.session.eviction.ms", Kind::Int),
];

const HOUR_MS: i64 = 60 * 60 * 1000;

impl KafkaConfig {
    /// Reads `server.properties` and applies `--override key=value` pairs.
    pub fn load(path: &Path, overrides: &[(String, String)]) -> Result<KafkaConfig, ConfigError> {
        let mut properties = Properties::load(path)?;
        for (key, value) in overrides {
            properties.set(key, value);
        }
        KafkaConfig::from_properties_with_kafka_opts(
            &properties,
            std::env::var("KAFKA_OPTS").ok().as_deref(),
        )
    }

    pub fn from_properties(properties: &Properties) -> Result<KafkaConfig, ConfigError> {
        KafkaConfig::from_properties_with_kafka_opts(properties, None)
    }

    /// `from_properties` with the JVM options `kafka-server-start.sh` users pass in
    /// `KAFKA_OPTS`: the JAAS file SASL listeners read their logins from when
    /// server.properties has none, and the broker's own ZooKeeper login.
    pub fn from_properties_with_kafka_opts(
        properties: &Properties,
        kafka_opts: Option<&str>,
    ) -> Result<KafkaConfig, ConfigError> {
        let jaas_file = crate::kafka::security::jaas_file_from_kafka_opts(kafka_opts)
            .map_err(|message| properties.error("KAFKA_OPTS", message))?;
        let jaas_file = jaas_file.as_ref();
        let system_properties = kafka_opts
            .map(crate::config::jvm_system_properties)
            .unwrap_or_default();
        let mut unknown_keys = Vec::new();
        for (key, entry) in properties.iter() {
            match KNOWN_KEYS.iter().find(|(known, _)| *known == key) {
                Some((_, kind)) => check_kind(properties, key, *kind)?,
                None if crate::kafka::security::is_security_key(key) => {}
                None => unknown_keys.push((key.to_string(), entry.line)),
            }
        }
        if properties
            .get_trimmed("process.roles")
            .is_some_and(|roles| !roles.is_empty())
            && properties.get_trimmed("zookeeper.connect").is_none()
        {
            return Err(properties.error(
                "process.roles",
                "KRaft mode is not supported: keel keeps cluster metadata in ZooKeeper; set zookeeper.connect",
            ));
        }
        let broker_id = match properties.get_number::<i32>("broker.id")? {
            None | Some(-1) => None,
            Some(id) if id < 0 => {
                return Err(properties.error("broker.id", "broker.id must be -1 or at least 0"))
            }
            Some(id) => Some(BrokerId(id)),
        };
        let listeners = match properties.get_trimmed("listeners") {
            Some(text) if !text.is_empty() => parse_listeners(properties, "listeners", text)?,
            // Kafka 2.x honoured the old host.name / port pair when listeners was unset.
            _ => vec![Listener {
                name: "PLAINTEXT".to_string(),
                host: properties
                    .get_trimmed("host.name")
                    .unwrap_or("")
                    .to_string(),
                port: properties.get_number::<u16>("port")?.unwrap_or(9092),
            }],
        };
        let advertised_listeners = match properties.get_trimmed("advertised.listeners") {
            Some(text) if !text.is_empty() => {
                parse_listeners(properties, "advertised.listeners", text)?
            }
            _ => listeners.clone(),
        };
        let log_dirs_text = properties
            .get_trimmed("log.dirs")
            .or_else(|| properties.get_trimmed("log.dir"))
            .unwrap_or("/tmp/kafka-logs");
        let log_dirs = log_dirs_text
            .split(',')
            .map(str::trim)
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .collect::<Vec<_>>();
        if log_dirs.is_empty() {
            return Err(properties.error("log.dirs", "log.dirs is empty"));
        }
        // Kafka's precedence: log.retention.ms, then .minutes, then .hours (168).
        let log_retention_ms = match properties.get_number::<i64>("log.retention.ms")? {
            Some(ms) => ms,
            None => match properties.get_number::<i64>("log.retention.minutes")? {
                Some(minutes) => minutes * 60 * 1000,
                None => {
                    properties
                        .get_number::<i64>("log.retention.hours")?
                        .unwrap_or(168)
                        * HOUR_MS
                }
            },
        };
        let log_roll_ms = match properties.get_number::<i64>("log.roll.ms")? {
            Some(ms) => ms,
            None => {
                properties
                    .get_number::<i64>("log.roll.hours")?
                    .unwrap_or(168)
                    * HOUR_MS
            }
        };
        let inter_broker_listener_name = properties
            .get("inter.broker.listener.name")
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .or_else(|| {
                properties
                    .get("security.inter.broker.protocol")
                    .map(|protocol| protocol.trim().to_string())
            })
            .unwrap_or_else(|| "PLAINTEXT".to_string());
        let security = crate::kafka::security::resolve(
            properties,
            &listeners,
            &inter_broker_listener_name,
            jaas_file,
            &system_properties,
        )?;
        let config = KafkaConfig {
            config_path: properties.file.clone(),
            broker_id,
            listeners,
            advertised_listeners,
            log_dirs,
            zookeeper_connect: properties
                .get_trimmed("zookeeper.connect")
                .map(str::to_string),
            zookeeper_session_timeout_ms: properties
                .get_number("zookeeper.session.timeout.ms")?
                .unwrap_or(18000),
            zookeeper_connection_timeout_ms: match properties
                .get_number("zookeeper.connection.timeout.ms")?
            {
                Some(ms) => ms,
                None => properties
                    .get_number("zookeeper.session.timeout.ms")?
                    .unwrap_or(18000),
            },
            num_partitions: positive(properties, "num.partitions", 1)?,
            default_replication_factor: properties
                .get_number("default.replication.factor")?
                .unwrap_or(1),
            auto_create_topics_enable: properties
                .get_bool("auto.create.topics.enable")?
                .unwrap_or(true),
            delete_topic_enable: properties.get_bool("delete.topic.enable")?.unwrap_or(true),
            message_bytes_max: properties
                .get_number("message.max.bytes")?
                .unwrap_or(1_048_588),
            socket_request_bytes_max: properties
                .get_number("socket.request.max.bytes")?
                .unwrap_or(104_857_600),
            log_segment_bytes: properties
                .get_number("log.segment.bytes")?
                .unwrap_or(1_073_741_824),
            log_retention_ms,
            log_retention_bytes: properties.get_number("log.retention.bytes")?.unwrap_or(-1),
            log_roll_ms,
            log_flush_interval_messages: properties
                .get_number("log.flush.interval.messages")?
                .unwrap_or(i64::MAX),
            log_flush_interval_ms: properties.get_number("log.flush.interval.ms")?,
            offsets_topic_num_partitions: positive(properties, "offsets.topic.num.partitions", 50)?,
            offsets_topic_replication_factor: properties
                .get_number("offsets.topic.replication.factor")?
                .unwrap_or(3),
            group_initial_rebalance_delay_ms: properties
                .get_number("group.initial.rebalance.delay.ms")?
                .unwrap_or(3000),
            group_session_timeout_ms_min: properties
                .get_number("group.min.session.timeout.ms")?
                .unwrap_or(6000),
            group_session_timeout_ms_max: properties
                .get_number("group.max.session.timeout.ms")?
                .unwrap_or(1_800_000),
            log_cleaner_enable: properties.get_bool("log.cleaner.enable")?.unwrap_or(true),
            fetch_session_cache_slots: properties
                .get_number("max.incremental.fetch.session.cache.slots")?
                .unwrap_or(1000),
            fetch_session_eviction_ms: properties
                .get_number("min.incremental.fetch.session.eviction.ms")?
                .unwrap_or(120_000),
            replica_lag_time_max_ms: properties
                .get_number("replica.lag.time.max.ms")?
                .unwrap_or(30_000),
            replica_fetch_wait_max_ms: properties
                .get_number("replica.fetch.wait.max.ms")?
                .unwrap_or(500),
            replica_fetch_max_bytes: properties
                .get_number("replica.fetch.max.bytes")?
                .unwrap_or(1_048_576),
            replica_fetch_response_max_bytes: properties
                .get_number("replica.fetch.response.max.bytes")?
                .unwrap_or(10_485_760),
            replica_fetch_backoff_ms: properties
                .get_number("replica.fetch.backoff.ms")?
                .unwrap_or(1000),
            min_insync_replicas: positive(properties, "min.insync.replicas", 1)?,
            controlled_shutdown_enable: properties
                .get_bool("controlled.shutdown.enable")?
                .unwrap_or(true),
            inter_broker_listener_name,
            security,
            quota_window: crate::kafka::quota::QuotaWindow {
                samples: properties
                    .get_number::<u32>("quota.window.num")?
                    .unwrap_or(11)
                    .max(1),
                sample_ms: properties
                    .get_number::<i64>("quota.window.size.seconds")?
                    .unwrap_or(1)
                    .max(1)
                    * 1000,
            },
            connection_limits: crate::kafka::server::quotas::ConnectionLimits::from_properties(
                properties,
            )?,
            connections_max_idle_ms: properties
                .get_number("connections.max.idle.ms")?
                .unwrap_or(600_000),
            metrics_port: properties
                .get_number::<u16>("keel.metrics.port")?
                .filter(|port| *port != 0),
            metrics_host: properties
                .get("keel.metrics.host")
                .map(|host| host.trim().to_string())
                .filter(|host| !host.is_empty())
                .unwrap_or_else(|| "0.0.0.0".to_string()),
            unknown_keys,
            properties: properties
                .iter()
                .map(|(key, entry)| (key.to_string(), entry.value.trim().to_string()))
                .collect(),
        };
        Ok(config)
    }
}

fn positive(properties: &Properties, key: &str, default: u32) -> Result<u32, ConfigError> {
    match properties.get_number::<u32>(key)? {
        None => Ok(default),
        Some(0) => Err(properties.error(key, "must be at least 1")),
        Some(value) => Ok(value),
    }
}

fn check_kind(properties: &Properties, key: &str, kind: Kind) -> Result<(), ConfigError> {
    match kind {
        Kind::Int => properties.get_number::<i32>(key).map(drop),
        Kind::Long => properties.get_number::<i64>(key).map(drop),
        Kind::Short => properties.get_number::<i16>(key).map(drop),
        Kind::Double => properties.get_number::<f64>(key).map(drop),
        Kind::Bool => properties.get_bool(key).map(drop),
        Kind::Text | Kind::List => Ok(()),
    }
}

fn parse_listeners(
    properties: &Properties,
    key: &str,
    text: &str,
) -> Result<Vec<Listener>, ConfigError> {
    let mut listeners: Vec<Listener> = Vec::new();
    for item in text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let listener = parse_listener(item).map_err(|message| properties.error(key, message))?;
        if listeners
            .iter()
            .any(|existing| existing.name == listener.name)
        {
            return Err(properties.error(
                key,
                format!(
                    "each listener must have a different name: {}",
                    listener.name
                ),
            ));
        }
        listeners.push(listener);
    }
    Ok(listeners)
}

fn parse_listener(item: &str) -> Result<Listener, String> {
    let (name, address) = item
        .split_once("://")
        .ok_or_else(|| format!("{item}: a listener has the form NAME://host:port"))?;
    let (host, port) = if let Some(after_bracket) = address.strip_prefix('[') {
        let (host, rest) = after_bracket
            .split_once(']')
            .ok_or_else(|| format!("{item}: unterminated IPv6 address"))?;
        (
            host,
            rest.strip_prefix(':')
                .ok_or_else(|| format!("{item}: no port"))?,
        )
    } else {
        address
            .rsplit_once(':')
            .ok_or_else(|| format!("{item}: no port"))?
    };
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("{item}: {port:?} is not a port number"))?;
    Ok(Listener {
        name: name.to_ascii_uppercase(),
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Result<KafkaConfig, ConfigError> {
        KafkaConfig::from_properties(
            &Properties::parse(Path::new("server.properties"), text).unwrap(),
        )
    }

    #[test]
    fn defaults() {
        let config = config("zookeeper.connect=localhost:2181\n").unwrap();
        assert_eq!(config.broker_id, None);
        assert_eq!(
            config.listeners,
            vec![Listener {
                name: "PLAINTEXT".into(),
                host: "".into(),
                port: 9092
            }]
        );
        assert_eq!(config.log_dirs, vec![PathBuf::from("/tmp/kafka-logs")]);
        assert_eq!(config.num_partitions, 1);
        assert!(config.auto_create_topics_enable);
        assert_eq!(config.message_bytes_max, 1_048_588);
        assert_eq!(config.socket_request_bytes_max, 104_857_600);
        assert_eq!(config.log_retention_ms, 168 * HOUR_MS);
        assert_eq!(config.offsets_topic_num_partitions, 50);
        assert_eq!(config.group_initial_rebalance_delay_ms, 3000);
    }

    #[test]
    fn retention_precedence() {
        assert_eq!(
            config("log.retention.hours=1\nlog.retention.minutes=2\n")
                .unwrap()
                .log_retention_ms,
            120_000
        );
        assert_eq!(
            config("log.retention.minutes=2\nlog.retention.ms=5\n")
                .unwrap()
                .log_retention_ms,
            5
        );
    }

    #[test]
    fn listeners_and_ipv6() {
        let config =
            config("listeners=PLAINTEXT://127.0.0.1:9093,internal://[::1]:9094\nlistener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT\n").unwrap();
        assert_eq!(
            config.listeners[1],
            Listener {
                name: "INTERNAL".into(),
                host: "::1".into(),
                port: 9094
            }
        );
        assert_eq!(config.advertised_listeners, config.listeners);
    }

    #[test]
    fn type_errors_name_line_and_key() {
        let error = config("broker.id=1\nnum.partitions=three\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "server.properties:2: num.partitions: expected a number, found \"three\""
        );
        let error = config("auto.create.topics.enable=yes\n").unwrap_err();
        assert_eq!(error.key, "auto.create.topics.enable");
        let error = config("listeners=localhost:9092\n").unwrap_err();
        assert_eq!(error.key, "listeners");
    }

    #[test]
    fn kraft_only_config_is_refused_clearly() {
        let error = config("process.roles=broker,controller\nnode.id=1\n").unwrap_err();
        assert_eq!(error.key, "process.roles");
    }

    #[test]
    fn unknown_keys_are_reported() {
        let config = config("zookeeper.connect=z:2181\nsome.plugin.setting=1\n").unwrap();
        assert_eq!(
            config.unknown_keys,
            vec![("some.plugin.setting".to_string(), 2)]
        );
    }
}
