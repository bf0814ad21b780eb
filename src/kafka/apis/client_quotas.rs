//! DescribeClientQuotas (KIP-546) as a ZooKeeper-mode Kafka 3.9 answers it
//! (`ZkAdminManager.describeClientQuotas`): the quota keys of the user, client-id,
//! user/client-id and IP entity configs in `/config`, filtered as Kafka filters them.
//!
//! AlterClientQuotas writes them as ZkAdminManager does; `kafka::quota` enforces the
//! byte rates. `kafka-configs --describe --entity-type users` (3.x, which asks for
//! quotas before SCRAM credentials) needs the describe answer.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::describe_client_quotas_response::{EntityData, EntryData, ValueData};
use kafka_protocol::messages::{DescribeClientQuotasRequest, DescribeClientQuotasResponse};
use kafka_protocol::ResponseError;

use super::str_bytes;
use crate::kafka::broker::Broker;
use crate::kafka::controller::zk_layout::desanitize;

/// `QuotaConfig.isClientOrUserQuotaConfig`.
const CLIENT_OR_USER_QUOTA_KEYS: &[&str] = &[
    "producer_byte_rate",
    "consumer_byte_rate",
    "request_percentage",
    "controller_mutation_rate",
];
/// `DynamicConfig.Ip.names`.
const IP_QUOTA_KEYS: &[&str] = &["connection_creation_rate"];
/// The znode of a default entity (`ZooKeeperInternals.DEFAULT_STRING`).
const DEFAULT_ENTITY: &str = "<default>";

/// A filter component's match (`ClientQuotaFilterComponent`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Match {
    Exact(String),
    Default,
    Any,
}

/// An entity name: `None` is the default entity.
type Name = Option<String>;

fn entity_name(sanitized: &str) -> Name {
    (sanitized != DEFAULT_ENTITY).then(|| desanitize(sanitized))
}

/// `matches` of ZkAdminManager: a component's match against an entity's name
/// (`None`: the entity has no such part).
fn matches(component: Option<&Match>, name: Option<&Name>, strict: bool) -> bool {
    match component {
        Some(Match::Exact(wanted)) => name == Some(&Some(wanted.clone())),
        Some(Match::Default) => name == Some(&None),
        Some(Match::Any) => name.is_some(),
        None => name.is_none() || !strict,
    }
}

fn quota_values(config: &BTreeMap<String, String>, keys: &[&str]) -> Vec<ValueData> {
    config
        .iter()
        .filter(|(key, _)| keys.contains(&key.as_str()))
        .filter_map(|(key, value)| {
            Some(
                ValueData::default()
                    .with_key(str_bytes(key))
                    .with_value(value.trim().parse::<f64>().ok()?),
            )
        })
        .collect()
}

fn entity(parts: &[(&str, &Name)]) -> Vec<EntityData> {
    parts
        .iter()
        .map(|(kind, name)| {
            EntityData::default()
                .with_entity_type(str_bytes(kind))
                .with_entity_name(name.as_deref().map(str_bytes))
        })
        .collect()
}

fn refused(code: ResponseError, message: String) -> DescribeClientQuotasResponse {
    DescribeClientQuotasResponse::default()
        .with_error_code(code.code())
        .with_error_message(Some(str_bytes(&message)))
        .with_entries(None)
}

pub async fn describe(
    broker: &Arc<Broker>,
    request: DescribeClientQuotasRequest,
) -> DescribeClientQuotasResponse {
    let (mut user, mut client_id, mut ip) = (None, None, None);
    for component in &request.components {
        // Kafka's filter constructors throw on these: UNKNOWN_SERVER_ERROR, no message.
        let matched = match (component.match_type, component._match.as_deref()) {
            (0, Some(name)) => Match::Exact(name.to_string()),
            (1, _) => Match::Default,
            (2, _) => Match::Any,
            _ => {
                return DescribeClientQuotasResponse::default()
                    .with_error_code(ResponseError::UnknownServerError.code())
                    .with_error_message(None)
                    .with_entries(None)
            }
        };
        let (slot, what) = match component.entity_type.as_str() {
            "user" => (&mut user, "user"),
            "client-id" => (&mut client_id, "client"),
            "ip" => (&mut ip, "ip"),
            "" => {
                return refused(
                    ResponseError::InvalidRequest,
                    "Unexpected empty filter component entity type".to_string(),
                )
            }
            other => {
                return refused(
                    ResponseError::UnsupportedVersion,
                    format!("Custom entity type '{other}' not supported"),
                )
            }
        };
        if slot.is_some() {
            return refused(
                ResponseError::InvalidRequest,
                format!("Duplicate {what} filter component entity type"),
            );
        }
        *slot = Some(matched);
    }
    if (user.is_some() || client_id.is_some()) && ip.is_some() {
        return refused(
            ResponseError::InvalidRequest,
            "Invalid entity filter component combination, IP filter component should not be used with user or clientId filter component.".to_string(),
        );
    }
    let strict = request.strict;
    let mut entries = Vec::new();
    let mut failure = None;
    if ip.is_none() {
        for kind in ["users", "clients"] {
            match broker.metadata.config_entities(kind).await {
                Ok(entities) => {
                    for (name, config) in &entities {
                        let (user_name, client_name): (Option<Name>, Option<Name>) =
                            match (kind, name.split_once("/clients/")) {
                                ("users", Some((u, c))) => {
                                    (Some(entity_name(u)), Some(entity_name(c)))
                                }
                                ("users", None) => (Some(entity_name(name)), None),
                                _ => (None, Some(entity_name(name))),
                            };
                        let values = quota_values(config, CLIENT_OR_USER_QUOTA_KEYS);
                        if values.is_empty()
                            || !matches(user.as_ref(), user_name.as_ref(), strict)
                            || !matches(client_id.as_ref(), client_name.as_ref(), strict)
                        {
                            continue;
                        }
                        let mut parts = Vec::new();
                        if let Some(name) = &user_name {
                            parts.push(("user", name));
                        }
                        if let Some(name) = &client_name {
                            parts.push(("client-id", name));
                        }
                        entries.push(
                            EntryData::default()
                                .with_entity(entity(&parts))
                                .with_values(values),
                        );
                    }
                }
                Err(error) => failure = Some(error.message),
            }
        }
    }
    if user.is_none() && client_id.is_none() {
        let all_ips = ip == Some(Match::Any) || (ip.is_none() && !strict);
        if all_ips || matches!(ip, Some(Match::Exact(_)) | Some(Match::Default)) {
            match broker.metadata.config_entities("ips").await {
                Ok(entities) => {
                    for (name, config) in &entities {
                        let ip_name = entity_name(name);
                        let wanted = match &ip {
                            Some(Match::Exact(wanted)) => {
                                ip_name.as_deref() == Some(wanted.as_str())
                            }
                            Some(Match::Default) => ip_name.is_none(),
                            _ => true,
                        };
                        let values = quota_values(config, IP_QUOTA_KEYS);
                        if wanted && !values.is_empty() {
                            entries.push(
                                EntryData::default()
                                    .with_entity(entity(&[("ip", &ip_name)]))
                                    .with_values(values),
                            );
                        }
                    }
                }
                Err(error) => failure = Some(error.message),
            }
        }
    }
    if let Some(message) = failure {
        return refused(ResponseError::UnknownServerError, message);
    }
    DescribeClientQuotasResponse::default().with_entries(Some(entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_as_java_prints_them() {
        assert_eq!(java_double(200.0), "200.0");
        assert_eq!(java_double(12.5), "12.5");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(1.5e7), "1.5E7");
        assert_eq!(java_double(0.0005), "5.0E-4");
        assert_eq!(java_double(0.0), "0.0");
    }

    #[test]
    fn alteration_targets_follow_zk_admin_manager() {
        use kafka_protocol::messages::alter_client_quotas_request::EntityData;
        let part = |kind: &str, name: Option<&str>| {
            EntityData::default()
                .with_entity_type(str_bytes(kind))
                .with_entity_name(name.map(str_bytes))
        };
        assert_eq!(
            alteration_target(&[part("user", Some("a b")), part("client-id", None)]),
            Ok(("users", "a%20b/clients/<default>".to_string()))
        );
        assert_eq!(
            alteration_target(&[part("client-id", Some("c"))]),
            Ok(("clients", "c".to_string()))
        );
        assert_eq!(
            alteration_target(&[part("user", Some(""))]),
            Err("Empty user not supported".to_string())
        );
        assert!(alteration_target(&[part("ip", Some("1.2.3.4")), part("user", None)]).is_err());
        assert_eq!(
            alteration_target(&[]),
            Err("Invalid empty client quota entity".to_string())
        );
    }

    #[test]
    fn components_match_as_kafkas_filter() {
        let alice: Name = Some("alice".to_string());
        let exact = Match::Exact("alice".to_string());
        assert!(matches(Some(&exact), Some(&alice), false));
        assert!(!matches(Some(&exact), Some(&None), false));
        assert!(matches(Some(&Match::Default), Some(&None), true));
        assert!(matches(Some(&Match::Any), Some(&alice), true));
        assert!(!matches(Some(&Match::Any), None, false));
        assert!(matches(None, Some(&alice), false));
        assert!(!matches(None, Some(&alice), true));
        assert_eq!(entity_name("<default>"), None);
        assert_eq!(entity_name("CN%3Da"), Some("CN=a".to_string()));
    }
}

/// A quota key's type (`QuotaConfigs` / `DynamicConfig`): whole numbers are
/// written as integers, rates as Java prints a double.
#[derive(Clone, Copy, PartialEq)]
enum KeyType {
    Long,
    Int,
    Double,
    /// The SCRAM keys of a user's config: not settable as quotas.
    Password,
}

fn key_type(config_type: &str, key: &str) -> Option<KeyType> {
    match (config_type, key) {
        ("users" | "clients", "producer_byte_rate" | "consumer_byte_rate") => Some(KeyType::Long),
        ("users" | "clients", "request_percentage" | "controller_mutation_rate") => {
            Some(KeyType::Double)
        }
        ("users", "SCRAM-SHA-256" | "SCRAM-SHA-512") => Some(KeyType::Password),
        ("ips", "connection_creation_rate") => Some(KeyType::Int),
        _ => None,
    }
}

/// Java's `Double.toString`: plain between 10^-3 and 10^7, else `1.0E7` style.
fn java_double(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        let text = format!("{value}");
        if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        }
    } else {
        let text = format!("{value:E}");
        match text.split_once('E') {
            Some((mantissa, exponent)) if !mantissa.contains('.') => {
                format!("{mantissa}.0E{exponent}")
            }
            _ => text,
        }
    }
}

/// One AlterClientQuotas entry's target: the config type and the sanitized path
/// under it (`ZkAdminManager.alterClientQuotas`).
fn alteration_target(
    entity: &[kafka_protocol::messages::alter_client_quotas_request::EntityData],
) -> Result<(&'static str, String), String> {
    use crate::kafka::controller::zk_layout::sanitize;
    if entity.is_empty() {
        return Err("Invalid empty client quota entity".to_string());
    }
    let (mut user, mut client_id, mut ip) = (None, None, None);
    for part in entity {
        let name = part
            .entity_name
            .as_deref()
            .map_or_else(|| DEFAULT_ENTITY.to_string(), sanitize);
        match part.entity_type.as_str() {
            "user" => user = Some(name),
            "client-id" => client_id = Some(name),
            "ip" => ip = Some(name),
            other => return Err(format!("Unhandled client quota entity type: {other}")),
        }
        if part.entity_name.as_deref() == Some("") {
            return Err(format!("Empty {} not supported", part.entity_type.as_str()));
        }
    }
    match (user, client_id, ip) {
        (Some(user), Some(client_id), None) => Ok(("users", format!("{user}/clients/{client_id}"))),
        (Some(user), None, None) => Ok(("users", user)),
        (None, Some(client_id), None) => Ok(("clients", client_id)),
        (None, None, Some(ip)) => {
            let valid = ip == DEFAULT_ENTITY || ip.parse::<std::net::IpAddr>().is_ok();
            if !valid {
                return Err(format!("{ip} is not a valid IP or resolvable host."));
            }
            Ok(("ips", ip))
        }
        (_, _, Some(_)) => Err("Invalid quota entity combination, IP entity should not be used with user/client ID entity.".to_string()),
        _ => Err("Invalid client quota entity".to_string()),
    }
}

/// An entity as AlterClientQuotas keys it: type to name (`None`: the default).
type EntityKey = BTreeMap<String, Option<String>>;
/// One entry's outcome: Kafka's error code and message.
type Outcome = Result<(), (ResponseError, String)>;

/// AlterClientQuotas (KIP-546) as a ZooKeeper-mode Kafka 3.9 answers it: each
/// entry's operations applied to its entity config in `/config` (a removal of a
/// key, or a value checked against the key's type), written with a change
/// notification unless `validate_only`; errors per entry.
pub async fn alter(
    broker: &Arc<Broker>,
    request: kafka_protocol::messages::AlterClientQuotasRequest,
) -> kafka_protocol::messages::AlterClientQuotasResponse {
    use kafka_protocol::messages::alter_client_quotas_request::EntityData;
    use kafka_protocol::messages::alter_client_quotas_response::{
        EntityData as ResponseEntity, EntryData as ResponseEntry,
    };
    // Each entry is applied on its own (two for one entity write twice); the answer
    // has one result per entity, the last one's.
    let mut results: Vec<(EntityKey, Outcome)> = Vec::new();
    let mut response = kafka_protocol::messages::AlterClientQuotasResponse::default();
    for entry in &request.entries {
        let key: BTreeMap<String, Option<String>> = entry
            .entity
            .iter()
            .map(|part| {
                (
                    part.entity_type.to_string(),
                    part.entity_name.as_ref().map(|name| name.to_string()),
                )
            })
            .collect();
        let entity: Vec<EntityData> = key
            .iter()
            .map(|(kind, name)| {
                EntityData::default()
                    .with_entity_type(str_bytes(kind))
                    .with_entity_name(name.as_deref().map(str_bytes))
            })
            .collect();
        let entry = kafka_protocol::messages::alter_client_quotas_request::EntryData::default()
            .with_entity(entity)
            .with_ops(entry.ops.clone());
        let entry = &entry;
        let outcome: Result<(), (ResponseError, String)> = async {
            let (config_type, path) = alteration_target(&entry.entity)
                .map_err(|message| (ResponseError::InvalidRequest, message))?;
            let mut config = broker
                .metadata
                .entity_config(config_type, path.clone())
                .await
                .map_err(|error| {
                    (
                        ResponseError::try_from_code(error.code)
                            .unwrap_or(ResponseError::UnknownServerError),
                        error.message,
                    )
                })?;
            for op in &entry.ops {
                let key = op.key.as_str();
                if op.remove {
                    config.remove(key);
                    continue;
                }
                let value = match key_type(config_type, key) {
                    None => {
                        return Err((
                            ResponseError::InvalidRequest,
                            format!("Invalid configuration key {key}"),
                        ))
                    }
                    Some(KeyType::Double) => java_double(op.value),
                    Some(kind @ (KeyType::Long | KeyType::Int)) => {
                        // Java's `(value + epsilon).toLong` / `.toInt`: truncating,
                        // saturating, NaN to 0 (so -1024 and infinity fail, NaN passes).
                        const EPSILON: f64 = 1e-6;
                        let whole = if kind == KeyType::Long {
                            (op.value + EPSILON) as i64
                        } else {
                            i64::from((op.value + EPSILON) as i32)
                        };
                        if (whole as f64 - op.value).abs() > EPSILON {
                            let type_name = if kind == KeyType::Long { "LONG" } else { "INT" };
                            return Err((
                                ResponseError::InvalidRequest,
                                format!("Configuration {key} must be a {type_name} value"),
                            ));
                        }
                        whole.to_string()
                    }
                    // Kafka throws an IllegalStateException: no message reaches the client.
                    Some(KeyType::Password) => {
                        return Err((ResponseError::UnknownServerError, String::new()))
                    }
                };
                config.insert(key.to_string(), value);
            }
            if request.validate_only {
                return Ok(());
            }
            broker
                .metadata
                .set_entity_config(config_type, path, config)
                .await
                .map_err(|error| {
                    (
                        ResponseError::try_from_code(error.code)
                            .unwrap_or(ResponseError::UnknownServerError),
                        error.message,
                    )
                })
        }
        .await;
        match results.iter_mut().find(|(known, _)| *known == key) {
            Some((_, previous)) => *previous = outcome,
            None => results.push((key, outcome)),
        }
    }
    for (key, outcome) in results {
        let mut answer = ResponseEntry::default().with_entity(
            key.iter()
                .map(|(kind, name)| {
                    ResponseEntity::default()
                        .with_entity_type(str_bytes(kind))
                        .with_entity_name(name.as_deref().map(str_bytes))
                })
                .collect(),
        );
        answer.error_message = None;
        if let Err((code, message)) = outcome {
            answer.error_code = code.code();
            answer.error_message = (!message.is_empty()).then(|| str_bytes(&message));
        }
        response.entries.push(answer);
    }
    response
}
