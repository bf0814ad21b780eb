//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics and brokers,
//! with Kafka's sources (topic override, dynamic broker, static, default) and
//! validation; and for broker loggers (KIP-412: `kafka-configs --entity-type
//! broker-loggers`), whose levels live in `crate::logging`.

use crate::kafka::security::acl::{AclOperation, ResourceType};
use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::str_bytes;
use crate::kafka::broker::Broker;
use crate::kafka::config::BrokerId;
use crate::kafka::topic_config::{self, ConfigSource, ConfigType};

const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
const RESOURCE_BROKER_LOGGER: i8 = 8;

/// Broker configs that can change at run time (a subset of Kafka's dynamic ones that
/// keel honours: the log defaults its topics fall back to).
const DYNAMIC_BROKER_CONFIGS: &[&str] = &[
    "log.retention.ms",
    "log.retention.bytes",
    "log.segment.bytes",
    "log.roll.ms",
    "log.cleanup.policy",
    "log.flush.interval.messages",
    "log.flush.interval.ms",
    "log.index.interval.bytes",
    "log.message.timestamp.type",
    "message.max.bytes",
    "compression.type",
    "min.insync.replicas",
    "unclean.leader.election.enable",
];

/// Broker config keys that hold secrets: described with a null value.
fn is_sensitive(key: &str) -> bool {
    key.contains("password") || key.ends_with(".jaas.config") || key.contains("secret")
}

pub fn describe(
    broker: &Arc<Broker>,
    version: i16,
    request: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let metadata = broker.metadata.current();
    let mut response = DescribeConfigsResponse::default();
    for resource in request.resources {
        let mut result = DescribeConfigsResult::default();
        result.resource_type = resource.resource_type;
        result.resource_name = resource.resource_name.clone();
        let keys: Option<Vec<String>> = resource
            .configuration_keys
            .map(|keys| keys.iter().map(|key| key.as_str().to_string()).collect());
        let wanted = |key: &str| {
            keys.as_ref()
                .is_none_or(|keys| keys.iter().any(|wanted| wanted == key))
        };
        let name = resource.resource_name.as_str();
        if let Some(error) = denied(
            broker,
            AclOperation::DescribeConfigs,
            resource.resource_type,
            name,
        ) {
            result.error_code = error.code();
            result.error_message = None;
            response.results.push(result);
            continue;
        }
        match resource.resource_type {
            RESOURCE_TOPIC => match metadata
                .topics
                .get(name)
                .filter(|topic| !topic.marked_for_deletion)
            {
                None => {
                    result.error_code = ResponseError::UnknownTopicOrPartition.code();
                    result.error_message = Some(str_bytes(&format!("Topic {name} does not exist")));
                }
                Some(topic) => {
                    for def in topic_config::TOPIC_CONFIGS
                        .iter()
                        .filter(|def| wanted(def.name))
                    {
                        let Some((value, source)) = topic_config::resolve(
                            def.name,
                            &topic.configs,
                            &metadata,
                            broker.id,
                            &broker.config,
                        ) else {
                            continue;
                        };
                        result.configs.push(entry(
                            version,
                            def.name,
                            Some(&value),
                            source,
                            def.config_type,
                            false,
                        ));
                    }
                }
            },
            RESOURCE_BROKER => {
                let target = if name.is_empty() {
                    None
                } else {
                    name.parse::<i32>().ok().map(BrokerId)
                };
                if !name.is_empty() && target.is_none() {
                    result.error_code = ResponseError::InvalidRequest.code();
                    result.error_message = Some(str_bytes(&format!(
                        "Broker id must be an integer, but it is: {name}"
                    )));
                } else {
                    let mut values: BTreeMap<String, (String, ConfigSource)> = BTreeMap::new();
                    if target == Some(broker.id) {
                        for (key, value) in &broker.config.properties {
                            values.insert(
                                key.clone(),
                                (value.clone(), ConfigSource::StaticBrokerConfig),
                            );
                        }
                    }
                    for (key, value) in metadata.broker_configs.get(&None).into_iter().flatten() {
                        values.insert(
                            key.clone(),
                            (value.clone(), ConfigSource::DynamicDefaultBrokerConfig),
                        );
                    }
                    if let Some(id) = target {
                        for (key, value) in
                            metadata.broker_configs.get(&Some(id)).into_iter().flatten()
                        {
                            values.insert(
                                key.clone(),
                                (value.clone(), ConfigSource::DynamicBrokerConfig),
                            );
                        }
                    }
                    for (key, (value, source)) in values.iter().filter(|(key, _)| wanted(key)) {
                        let sensitive = is_sensitive(key);
                        let shown = (!sensitive).then_some(value.as_str());
                        result.configs.push(entry(
                            version,
                            key,
                            shown,
                            *source,
                            ConfigType::String,
                            sensitive,
                        ));
                    }
                }
            }
            RESOURCE_BROKER_LOGGER => match logger_resource_broker(broker, name) {
                Err(message) => {
                    result.error_code = ResponseError::InvalidRequest.code();
                    result.error_message = Some(str_bytes(&message));
                }
                Ok(()) => {
                    for (logger, level) in crate::logging::loggers() {
                        if !wanted(&logger) {
                            continue;
                        }
                        let mut config = entry(
                            version,
                            &logger,
                            Some(&level),
                            ConfigSource::DynamicBrokerLoggerConfig,
                            ConfigType::String,
                            false,
                        );
                        // Kafka leaves a logger's type unknown.
                        config.config_type = 0;
                        result.configs.push(config);
                    }
                }
            },
            other => {
                result.error_code = ResponseError::InvalidRequest.code();
                result.error_message =
                    Some(str_bytes(&format!("Unsupported resource type {other}")));
            }
        }
        response.results.push(result);
    }
    response
}

/// DescribeConfigs' check of a broker-logger resource's name (`ConfigHelper`).
fn logger_resource_broker(broker: &Broker, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Broker id must not be empty".to_string());
    }
    let id = name
        .parse::<i32>()
        .map_err(|_| format!("Broker id must be an integer, but it is: {name}"))?;
    if id != broker.id.0 {
        return Err(format!(
            "Unexpected broker id, expected {} but received {name}",
            broker.id.0
        ));
    }
    Ok(())
}

/// IncrementalAlterConfigs on a broker logger, checked and applied as Kafka's
/// `RuntimeLoggerManager` does (its messages included).
fn alter_loggers(
    broker: &Broker,
    resource: &incremental_alter_configs_request::AlterConfigsResource,
    validate_only: bool,
) -> Result<(), (ResponseError, String)> {
    let invalid_request = |message: String| (ResponseError::InvalidRequest, message);
    let names: Vec<&str> = resource
        .configs
        .iter()
        .map(|config| config.name.as_str())
        .collect();
    if names
        .iter()
        .enumerate()
        .any(|(index, name)| names[..index].contains(name))
    {
        return Err(invalid_request(
            "Error due to duplicate config keys".to_string(),
        ));
    }
    let null_updates: Vec<&str> = resource
        .configs
        .iter()
        .filter(|config| config.config_operation != OP_DELETE && config.value.is_none())
        .map(|config| config.name.as_str())
        .collect();
    if !null_updates.is_empty() {
        return Err(invalid_request(format!(
            "Null value not supported for : {}",
            null_updates.join(", ")
        )));
    }
    let name = resource.resource_name.as_str();
    let id = name
        .parse::<i32>()
        .map_err(|_| invalid_request(format!("Node id must be an integer, but it is: {name}")))?;
    if id != broker.id.0 {
        // Kafka's message prints its own id twice.
        return Err(invalid_request(format!(
            "Unexpected node id. Expected {}, but received {}",
            broker.id.0, broker.id.0
        )));
    }
    let missing = |logger: &str| {
        (
            ResponseError::InvalidConfig,
            format!("Logger {logger} does not exist!"),
        )
    };
    for config in &resource.configs {
        let logger = config.name.as_str();
        match config.config_operation {
            OP_SET => {
                if !crate::logging::logger_exists(logger) {
                    return Err(missing(logger));
                }
                let level = config.value.as_ref().map_or("", |value| value.as_str());
                if !crate::logging::VALID_LEVELS.contains(&level) {
                    return Err((
                        ResponseError::InvalidConfig,
                        format!(
                            "Cannot set the log level of {logger} to {level} as it is not a supported log level. Valid log levels are {}",
                            crate::logging::VALID_LEVELS.join(", ")
                        ),
                    ));
                }
            }
            OP_DELETE => {
                if !crate::logging::logger_exists(logger) {
                    return Err(missing(logger));
                }
                if logger == crate::logging::ROOT_LOGGER {
                    return Err(invalid_request(format!(
                        "Removing the log level of the {logger} logger is not allowed"
                    )));
                }
            }
            OP_APPEND => {
                return Err(invalid_request(
                    "APPEND operation is not allowed for the BROKER_LOGGER resource".to_string(),
                ))
            }
            OP_SUBTRACT => {
                return Err(invalid_request(
                    "SUBTRACT operation is not allowed for the BROKER_LOGGER resource".to_string(),
                ))
            }
            other => {
                return Err(invalid_request(format!(
                    "Unknown operation type {other} is not allowed for the BROKER_LOGGER resource"
                )))
            }
        }
    }
    if validate_only {
        return Ok(());
    }
    for config in &resource.configs {
        let logger = config.name.as_str();
        if config.config_operation == OP_SET {
            let level = config.value.as_ref().map_or("INFO", |value| value.as_str());
            crate::logging::set_level(logger, level);
            tracing::warn!(
                logger,
                level,
                "Updated the log level of {logger} to {level}"
            );
        } else {
            crate::logging::unset_level(logger);
            tracing::warn!(logger, "Unset the log level of {logger}");
        }
    }
    Ok(())
}

fn entry(
    version: i16,
    name: &str,
    value: Option<&str>,
    source: ConfigSource,
    config_type: ConfigType,
    sensitive: bool,
) -> DescribeConfigsResourceResult {
    let mut config = DescribeConfigsResourceResult::default();
    config.name = str_bytes(name);
    config.value = value.map(str_bytes);
    config.config_source = source as i8;
    config.is_sensitive = sensitive;
    config.read_only = false;
    // keel has no documentation text to give; Apache answers null unless asked.
    config.documentation = None;
    if version >= 3 {
        config.config_type = config_type as i8;
    }
    config
}

/// Validates and writes one resource's new full set of dynamic configs.
async fn apply(
    broker: &Arc<Broker>,
    resource_type: i8,
    name: &str,
    configs: BTreeMap<String, String>,
    validate_only: bool,
) -> Result<(), (ResponseError, String)> {
    match resource_type {
        RESOURCE_TOPIC => {
            let metadata = broker.metadata.current();
            if !metadata.topics.contains_key(name) {
                return Err((
                    ResponseError::UnknownTopicOrPartition,
                    format!("Topic {name} does not exist"),
                ));
            }
            for (key, value) in &configs {
                topic_config::validate(key, value)
                    .map_err(|message| (ResponseError::InvalidConfig, message))?;
            }
            if validate_only {
                return Ok(());
            }
            broker
                .metadata
                .set_topic_configs(name.to_string(), configs)
                .await
                .map_err(|error| {
                    (
                        ResponseError::try_from_code(error.code)
                            .unwrap_or(ResponseError::UnknownServerError),
                        error.message,
                    )
                })
        }
        RESOURCE_BROKER => {
            let target = if name.is_empty() {
                None
            } else {
                Some(name.parse::<i32>().map(BrokerId).map_err(|_| {
                    (
                        ResponseError::InvalidRequest,
                        format!("Broker id must be an integer, but it is: {name}"),
                    )
                })?)
            };
            for key in configs.keys() {
                if !DYNAMIC_BROKER_CONFIGS.contains(&key.as_str()) {
                    return Err((
                        ResponseError::InvalidConfig,
                        format!("Cannot update these configs dynamically: [{key}]"),
                    ));
                }
            }
            if validate_only {
                return Ok(());
            }
            broker
                .metadata
                .set_broker_configs(target, configs)
                .await
                .map_err(|error| {
                    (
                        ResponseError::try_from_code(error.code)
                            .unwrap_or(ResponseError::UnknownServerError),
                        error.message,
                    )
                })
        }
        other => Err((
            ResponseError::InvalidRequest,
            format!("Unsupported resource type {other}"),
        )),
    }
}

fn current_dynamic(broker: &Broker, resource_type: i8, name: &str) -> BTreeMap<String, String> {
    let metadata = broker.metadata.current();
    match resource_type {
        RESOURCE_TOPIC => metadata
            .topics
            .get(name)
            .map(|topic| topic.configs.clone())
            .unwrap_or_default(),
        RESOURCE_BROKER => {
            let key = if name.is_empty() {
                None
            } else {
                name.parse::<i32>().ok().map(BrokerId)
            };
            metadata
                .broker_configs
                .get(&key)
                .cloned()
                .unwrap_or_default()
        }
        _ => BTreeMap::new(),
    }
}

pub async fn alter(broker: &Arc<Broker>, request: AlterConfigsRequest) -> AlterConfigsResponse {
    let mut response = AlterConfigsResponse::default();
    for resource in request.resources {
        // AlterConfigs replaces the whole set of dynamic configs.
        let configs = resource
            .configs
            .iter()
            .filter_map(|config| {
                Some((
                    config.name.as_str().to_string(),
                    config.value.as_ref()?.as_str().to_string(),
                ))
            })
            .collect();
        let denial = denied(
            broker,
            AclOperation::AlterConfigs,
            resource.resource_type,
            resource.resource_name.as_str(),
        );
        let outcome = if let Some(error) = denial {
            Err((error, String::new()))
        } else if resource.resource_type == RESOURCE_BROKER_LOGGER {
            // What Apache 3.9 and 4.1 answer: a check ahead of their
            // "AlterConfigs is deprecated ..." refusal turns type 8 away first.
            Err((
                ResponseError::InvalidRequest,
                format!("Unknown resource type {RESOURCE_BROKER_LOGGER}"),
            ))
        } else {
            apply(
                broker,
                resource.resource_type,
                resource.resource_name.as_str(),
                configs,
                request.validate_only,
            )
            .await
        };
        let mut result = alter_configs_response::AlterConfigsResourceResponse::default();
        result.resource_type = resource.resource_type;
        result.resource_name = resource.resource_name;
        // Apache answers success with a null message (the crate's default is "").
        result.error_message = None;
        if let Err((error, message)) = outcome {
            result.error_code = error.code();
            // An authorization refusal carries no message, as Apache's.
            result.error_message = (!message.is_empty()).then(|| str_bytes(&message));
        }
        response.responses.push(result);
    }
    response
}

/// ConfigHelper's and KafkaApis' checks: `operation` on the topic for a topic,
/// on the cluster for a broker or its loggers; the error a refusal answers.
fn denied(
    broker: &Broker,
    operation: AclOperation,
    resource_type: i8,
    name: &str,
) -> Option<ResponseError> {
    match resource_type {
        RESOURCE_TOPIC => (!broker.authorize(operation, ResourceType::Topic, name))
            .then_some(ResponseError::TopicAuthorizationFailed),
        RESOURCE_BROKER | RESOURCE_BROKER_LOGGER => (!broker.authorize_cluster(operation))
            .then_some(ResponseError::ClusterAuthorizationFailed),
        _ => None,
    }
}

const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

pub async fn incremental_alter(
    broker: &Arc<Broker>,
    request: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut response = IncrementalAlterConfigsResponse::default();
    for resource in request.resources {
        let denial = denied(
            broker,
            AclOperation::AlterConfigs,
            resource.resource_type,
            resource.resource_name.as_str(),
        );
        let outcome = if let Some(error) = denial {
            Err((error, String::new()))
        } else if resource.resource_type == RESOURCE_BROKER_LOGGER {
            alter_loggers(broker, &resource, request.validate_only)
        } else {
            incremental_alter_resource(broker, &resource, request.validate_only).await
        };
        let mut result =
            incremental_alter_configs_response::AlterConfigsResourceResponse::default();
        result.resource_type = resource.resource_type;
        result.resource_name = resource.resource_name;
        // Apache answers success with a null message (the crate's default is "").
        result.error_message = None;
        if let Err((error, message)) = outcome {
            result.error_code = error.code();
            // An authorization refusal carries no message, as Apache's.
            result.error_message = (!message.is_empty()).then(|| str_bytes(&message));
        }
        response.responses.push(result);
    }
    response
}

/// IncrementalAlterConfigs on a topic or broker: the operations applied to its
/// current dynamic configs, then the whole set validated and written.
async fn incremental_alter_resource(
    broker: &Arc<Broker>,
    resource: &incremental_alter_configs_request::AlterConfigsResource,
    validate_only: bool,
) -> Result<(), (ResponseError, String)> {
    let name = resource.resource_name.as_str().to_string();
    let mut configs = current_dynamic(broker, resource.resource_type, &name);
    let mut invalid = None;
    for change in &resource.configs {
        let key = change.name.as_str().to_string();
        let value = change
            .value
            .as_ref()
            .map(|value| value.as_str().to_string());
        match change.config_operation {
            OP_SET => {
                configs.insert(key, value.unwrap_or_default());
            }
            OP_DELETE => {
                configs.remove(&key);
            }
            OP_APPEND | OP_SUBTRACT => {
                let is_list =
                    topic_config::find(&key).is_none_or(|def| def.config_type == ConfigType::List);
                if !is_list {
                    invalid = Some(format!(
                        "Config value append is not allowed for config key: {key}"
                    ));
                    break;
                }
                let current = configs.get(&key).cloned().or_else(|| {
                    let topic = broker.metadata.current().topics.get(&name).cloned()?;
                    broker.topic_config(&topic, &key)
                });
                let mut items: Vec<String> = current
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_string)
                    .collect();
                for item in value
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                {
                    if change.config_operation == OP_APPEND {
                        if !items.iter().any(|existing| existing == item) {
                            items.push(item.to_string());
                        }
                    } else {
                        items.retain(|existing| existing != item);
                    }
                }
                configs.insert(key, items.join(","));
            }
            other => {
                invalid = Some(format!("Unknown config operation {other}"));
                break;
            }
        }
    }
    match invalid {
        Some(message) => Err((ResponseError::InvalidConfig, message)),
        None => {
            apply(
                broker,
                resource.resource_type,
                &name,
                configs,
                validate_only,
            )
            .await
        }
    }
}
