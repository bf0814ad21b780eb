//! DescribeClientQuotas (KIP-546) as a ZooKeeper-mode Kafka 3.9 answers it
//! (`ZkAdminManager.describeClientQuotas`): the quota keys of the user, client-id,
//! user/client-id and IP entity configs in `/config`, filtered as Kafka filters them.
//!
//! keel reads and reports these quotas but does not enforce them yet (issue 13);
//! `kafka-configs --describe --entity-type users` (3.x, which asks for quotas before
//! SCRAM credentials) needs the answer.

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
        let matched = match component.match_type {
            0 => Match::Exact(component._match.as_deref().unwrap_or_default().to_string()),
            1 => Match::Default,
            2 => Match::Any,
            other => {
                return refused(
                    ResponseError::InvalidRequest,
                    format!("Unexpected match type: {other}"),
                )
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
