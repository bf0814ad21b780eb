//! Topic configs: Kafka's names, types, defaults and the broker settings they fall
//! back to, and the resolution order DescribeConfigs reports as each value's source.

use std::collections::BTreeMap;

use crate::kafka::config::{BrokerId, KafkaConfig};
use crate::kafka::metadata::ClusterMetadata;

/// DescribeConfigs' `config_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i8)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    Double = 6,
    List = 7,
}

/// DescribeConfigs' `config_source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i8)]
pub enum ConfigSource {
    TopicConfig = 1,
    DynamicBrokerConfig = 2,
    DynamicDefaultBrokerConfig = 3,
    StaticBrokerConfig = 4,
    DefaultConfig = 5,
    /// A logger's level (`broker-loggers`, KIP-412).
    DynamicBrokerLoggerConfig = 6,
}

pub struct TopicConfigDef {
    pub name: &'static str,
    /// The broker setting that supplies the default (Kafka's "synonym"); empty for
    /// the topic-only configs (the remote-log switches, the throttled replica lists).
    pub broker_name: &'static str,
    pub default: &'static str,
    pub config_type: ConfigType,
}

const fn def(
    name: &'static str,
    broker_name: &'static str,
    default: &'static str,
    config_type: ConfigType,
) -> TopicConfigDef {
    TopicConfigDef {
        name,
        broker_name,
        default,
        config_type,
    }
}

/// Every topic config Kafka 3.9 defines (4.x removed message.downconversion.enable,
/// message.format.version and message.timestamp.difference.max.ms; 3.9, the
/// reference, still reports them).
pub const TOPIC_CONFIGS: &[TopicConfigDef] = &[
    def(
        "cleanup.policy",
        "log.cleanup.policy",
        "delete",
        ConfigType::List,
    ),
    def(
        "compression.type",
        "compression.type",
        "producer",
        ConfigType::String,
    ),
    def(
        "compression.gzip.level",
        "compression.gzip.level",
        "-1",
        ConfigType::Int,
    ),
    def(
        "compression.lz4.level",
        "compression.lz4.level",
        "9",
        ConfigType::Int,
    ),
    def(
        "compression.zstd.level",
        "compression.zstd.level",
        "3",
        ConfigType::Int,
    ),
    def(
        "delete.retention.ms",
        "log.cleaner.delete.retention.ms",
        "86400000",
        ConfigType::Long,
    ),
    def(
        "file.delete.delay.ms",
        "log.segment.delete.delay.ms",
        "60000",
        ConfigType::Long,
    ),
    def(
        "follower.replication.throttled.replicas",
        "",
        "",
        ConfigType::List,
    ),
    def(
        "flush.messages",
        "log.flush.interval.messages",
        "9223372036854775807",
        ConfigType::Long,
    ),
    def(
        "flush.ms",
        "log.flush.interval.ms",
        "9223372036854775807",
        ConfigType::Long,
    ),
    def(
        "index.interval.bytes",
        "log.index.interval.bytes",
        "4096",
        ConfigType::Int,
    ),
    def(
        "leader.replication.throttled.replicas",
        "",
        "",
        ConfigType::List,
    ),
    def(
        "local.retention.bytes",
        "log.local.retention.bytes",
        "-2",
        ConfigType::Long,
    ),
    def(
        "local.retention.ms",
        "log.local.retention.ms",
        "-2",
        ConfigType::Long,
    ),
    def(
        "max.compaction.lag.ms",
        "log.cleaner.max.compaction.lag.ms",
        "9223372036854775807",
        ConfigType::Long,
    ),
    def(
        "max.message.bytes",
        "message.max.bytes",
        "1048588",
        ConfigType::Int,
    ),
    def(
        "message.downconversion.enable",
        "log.message.downconversion.enable",
        "true",
        ConfigType::Boolean,
    ),
    def(
        "message.format.version",
        "log.message.format.version",
        "3.0-IV1",
        ConfigType::String,
    ),
    def(
        "message.timestamp.after.max.ms",
        "log.message.timestamp.after.max.ms",
        "9223372036854775807",
        ConfigType::Long,
    ),
    def(
        "message.timestamp.before.max.ms",
        "log.message.timestamp.before.max.ms",
        "9223372036854775807",
        ConfigType::Long,
    ),
    def(
        "message.timestamp.difference.max.ms",
        "log.message.timestamp.difference.max.ms",
        "9223372036854775807",
        ConfigType::Long,
    ),
    def(
        "message.timestamp.type",
        "log.message.timestamp.type",
        "CreateTime",
        ConfigType::String,
    ),
    def(
        "min.cleanable.dirty.ratio",
        "log.cleaner.min.cleanable.ratio",
        "0.5",
        ConfigType::Double,
    ),
    def(
        "min.compaction.lag.ms",
        "log.cleaner.min.compaction.lag.ms",
        "0",
        ConfigType::Long,
    ),
    def(
        "min.insync.replicas",
        "min.insync.replicas",
        "1",
        ConfigType::Int,
    ),
    def(
        "preallocate",
        "log.preallocate",
        "false",
        ConfigType::Boolean,
    ),
    def("remote.log.copy.disable", "", "false", ConfigType::Boolean),
    def(
        "remote.log.delete.on.disable",
        "",
        "false",
        ConfigType::Boolean,
    ),
    def("remote.storage.enable", "", "false", ConfigType::Boolean),
    def(
        "retention.bytes",
        "log.retention.bytes",
        "-1",
        ConfigType::Long,
    ),
    def(
        "retention.ms",
        "log.retention.ms",
        "604800000",
        ConfigType::Long,
    ),
    def(
        "segment.bytes",
        "log.segment.bytes",
        "1073741824",
        ConfigType::Int,
    ),
    def(
        "segment.index.bytes",
        "log.index.size.max.bytes",
        "10485760",
        ConfigType::Int,
    ),
    def(
        "segment.jitter.ms",
        "log.roll.jitter.ms",
        "0",
        ConfigType::Long,
    ),
    def("segment.ms", "log.roll.ms", "604800000", ConfigType::Long),
    def(
        "unclean.leader.election.enable",
        "unclean.leader.election.enable",
        "false",
        ConfigType::Boolean,
    ),
];

pub fn find(name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|def| def.name == name)
}

/// Checks a value against its config's type, as Kafka's ConfigDef does; the
/// message is what INVALID_CONFIG carries.
pub fn validate(name: &str, value: &str) -> Result<(), String> {
    let def = find(name).ok_or_else(|| format!("Unknown topic config name: {name}"))?;
    let value = value.trim();
    let ok = match def.config_type {
        ConfigType::Boolean => {
            value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")
        }
        ConfigType::Int => value.parse::<i32>().is_ok(),
        ConfigType::Long => value.parse::<i64>().is_ok(),
        ConfigType::Double => value.parse::<f64>().is_ok(),
        ConfigType::String | ConfigType::List => true,
    };
    if !ok {
        return Err(format!("Invalid value {value} for configuration {name}"));
    }
    match name {
        "cleanup.policy" => {
            for policy in value.split(',').map(str::trim) {
                if policy != "delete" && policy != "compact" {
                    return Err(format!("Invalid value {policy} for configuration cleanup.policy: String must be one of: compact, delete"));
                }
            }
        }
        "message.timestamp.type" if value != "CreateTime" && value != "LogAppendTime" => {
            return Err(format!("Invalid value {value} for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime"));
        }
        _ => {}
    }
    Ok(())
}

/// A topic config's effective value and where it came from, in Kafka's order:
/// topic override, this broker's dynamic config, the cluster's dynamic default,
/// server.properties, Kafka's default.
pub fn resolve(
    name: &str,
    overrides: &BTreeMap<String, String>,
    metadata: &ClusterMetadata,
    broker_id: BrokerId,
    config: &KafkaConfig,
) -> Option<(String, ConfigSource)> {
    let def = find(name)?;
    if let Some(value) = overrides.get(name) {
        return Some((value.clone(), ConfigSource::TopicConfig));
    }
    let broker_value = |key: &str| -> Option<(String, ConfigSource)> {
        if let Some(value) = metadata
            .broker_configs
            .get(&Some(broker_id))
            .and_then(|configs| configs.get(key))
        {
            return Some((value.clone(), ConfigSource::DynamicBrokerConfig));
        }
        if let Some(value) = metadata
            .broker_configs
            .get(&None)
            .and_then(|configs| configs.get(key))
        {
            return Some((value.clone(), ConfigSource::DynamicDefaultBrokerConfig));
        }
        config
            .properties
            .get(key)
            .map(|value| (value.clone(), ConfigSource::StaticBrokerConfig))
    };
    if let Some(found) = (!def.broker_name.is_empty())
        .then(|| broker_value(def.broker_name))
        .flatten()
    {
        return Some(found);
    }
    // Retention and roll also have hours/minutes forms on the broker.
    let derived = match name {
        "retention.ms" => Some(config.log_retention_ms.to_string()),
        "segment.ms" => Some(config.log_roll_ms.to_string()),
        _ => None,
    };
    if let Some(value) = derived.filter(|value| value != def.default) {
        return Some((value, ConfigSource::StaticBrokerConfig));
    }
    Some((def.default.to_string(), ConfigSource::DefaultConfig))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Properties;

    #[test]
    fn resolution_order_and_validation() {
        let properties = Properties::parse(
            std::path::Path::new("s"),
            "log.retention.hours=1\nlog.segment.bytes=1000\n",
        )
        .unwrap();
        let config = KafkaConfig::from_properties(&properties).unwrap();
        let mut metadata = ClusterMetadata::default();
        let overrides: BTreeMap<String, String> =
            [("max.message.bytes".to_string(), "5".to_string())].into();
        let broker = BrokerId(1);
        assert_eq!(
            resolve("max.message.bytes", &overrides, &metadata, broker, &config),
            Some(("5".into(), ConfigSource::TopicConfig))
        );
        assert_eq!(
            resolve("segment.bytes", &overrides, &metadata, broker, &config),
            Some(("1000".into(), ConfigSource::StaticBrokerConfig))
        );
        assert_eq!(
            resolve("retention.ms", &overrides, &metadata, broker, &config),
            Some(("3600000".into(), ConfigSource::StaticBrokerConfig))
        );
        assert_eq!(
            resolve("cleanup.policy", &overrides, &metadata, broker, &config),
            Some(("delete".into(), ConfigSource::DefaultConfig))
        );
        metadata.broker_configs.insert(
            None,
            [("log.segment.bytes".to_string(), "2000".to_string())].into(),
        );
        assert_eq!(
            resolve("segment.bytes", &overrides, &metadata, broker, &config),
            Some(("2000".into(), ConfigSource::DynamicDefaultBrokerConfig))
        );
        assert!(resolve("no.such", &overrides, &metadata, broker, &config).is_none());
        assert!(validate("retention.ms", "12").is_ok());
        assert!(validate("retention.ms", "soon").is_err());
        assert!(validate("cleanup.policy", "compact,delete").is_ok());
        assert!(validate("cleanup.policy", "keep").is_err());
        assert!(validate("bogus", "1").is_err());
    }
}
