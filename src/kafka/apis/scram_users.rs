//! SCRAM credentials over the Kafka protocol (KIP-554): DescribeUserScramCredentials
//! and AlterUserScramCredentials, kept where a ZooKeeper-mode Kafka 3.9 keeps them
//! (`/config/users/<user>`, one key per mechanism), with `ZkAdminManager`'s checks,
//! error codes and messages. The SaslHandshake / SaslAuthenticate answers for a
//! connection that needs no authentication (or already has it) are here too.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::str_bytes;
use crate::kafka::broker::Broker;
use crate::kafka::security::scram::{
    ScramCredential, ScramMechanism, ITERATIONS_MAX, ITERATIONS_MIN,
};

const USERNAME_EMPTY: &str = "Username must not be empty";

/// `KafkaApis.handleSaslHandshakeRequest`: a handshake the listener does not expect.
pub fn sasl_handshake() -> SaslHandshakeResponse {
    SaslHandshakeResponse::default().with_error_code(ResponseError::IllegalSaslState.code())
}

/// `KafkaApis.handleSaslAuthenticateRequest`.
pub fn sasl_authenticate() -> SaslAuthenticateResponse {
    SaslAuthenticateResponse::default()
        .with_error_code(ResponseError::IllegalSaslState.code())
        .with_error_message(Some(str_bytes(
            "SaslAuthenticate request received after successful authentication",
        )))
}

fn describe_result(
    user: &str,
    code: ResponseError,
    message: String,
) -> DescribeUserScramCredentialsResult {
    DescribeUserScramCredentialsResult::default()
        .with_user(str_bytes(user))
        .with_error_code(code.code())
        .with_error_message(Some(str_bytes(&message)))
}

/// The credential infos of a user's config; `None` when it has no SCRAM key.
fn credential_infos(
    config: &BTreeMap<String, String>,
) -> Option<Result<Vec<CredentialInfo>, String>> {
    if !ScramMechanism::ALL
        .iter()
        .any(|m| config.contains_key(m.name()))
    {
        return None;
    }
    let mut infos = Vec::new();
    for mechanism in ScramMechanism::ALL {
        if let Some(text) = config.get(mechanism.name()) {
            match ScramCredential::from_zk_string(text) {
                Ok(credential) => infos.push(
                    CredentialInfo::default()
                        .with_mechanism(mechanism.wire_type())
                        .with_iterations(credential.iterations),
                ),
                Err(message) => return Some(Err(message)),
            }
        }
    }
    Some(Ok(infos))
}

fn described(
    user: &str,
    infos: Result<Vec<CredentialInfo>, String>,
) -> DescribeUserScramCredentialsResult {
    match infos {
        Ok(infos) => DescribeUserScramCredentialsResult::default()
            .with_user(str_bytes(user))
            .with_credential_infos(infos),
        Err(message) => describe_result(user, ResponseError::UnknownServerError, message),
    }
}

pub async fn describe(
    broker: &Arc<Broker>,
    request: DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    let mut response = DescribeUserScramCredentialsResponse::default();
    let names: Vec<String> = request
        .users
        .unwrap_or_default()
        .iter()
        .map(|user| user.name.as_str().to_string())
        .collect();
    if names.is_empty() {
        match broker.metadata.user_configs().await {
            Ok(users) => {
                for (user, config) in &users {
                    if let Some(infos) = credential_infos(config) {
                        response.results.push(described(user, infos));
                    }
                }
            }
            Err(error) => {
                response.error_code = ResponseError::UnknownServerError.code();
                response.error_message = Some(str_bytes(&error.message));
            }
        }
        return response;
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in &names {
        *counts.entry(name.as_str()).or_default() += 1;
    }
    let mut done = BTreeSet::new();
    for name in &names {
        if !done.insert(name.as_str()) {
            continue;
        }
        let result = if name.is_empty() {
            describe_result(
                name,
                ResponseError::ResourceNotFound,
                USERNAME_EMPTY.to_string(),
            )
        } else if counts[name.as_str()] > 1 {
            describe_result(
                name,
                ResponseError::DuplicateResource,
                format!("Cannot describe SCRAM credentials for the same user twice in a single request: {name}"),
            )
        } else {
            match broker.metadata.user_config(name.clone()).await {
                Ok(config) => match credential_infos(&config.unwrap_or_default()) {
                    Some(infos) => described(name, infos),
                    None => describe_result(
                        name,
                        ResponseError::ResourceNotFound,
                        format!(
                            "Attempt to describe a user credential that does not exist: {name}"
                        ),
                    ),
                },
                Err(error) => {
                    describe_result(name, ResponseError::UnknownServerError, error.message)
                }
            }
        };
        response.results.push(result);
    }
    response
}

fn alter_result(
    user: &str,
    code: ResponseError,
    message: Option<&str>,
) -> AlterUserScramCredentialsResult {
    AlterUserScramCredentialsResult::default()
        .with_user(str_bytes(user))
        .with_error_code(code.code())
        .with_error_message(message.map(str_bytes))
}

/// Pushes `user` onto `order` once, keeping first-seen order (Kafka's small sets).
fn remember(order: &mut Vec<String>, user: &str) {
    if !order.iter().any(|seen| seen == user) {
        order.push(user.to_string());
    }
}

pub async fn alter(
    broker: &Arc<Broker>,
    request: AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    let mut response = AlterUserScramCredentialsResponse::default();
    let metadata = broker.metadata.current();
    if metadata.controller_id != Some(broker.id) {
        let mut users = Vec::new();
        for name in request
            .deletions
            .iter()
            .map(|d| d.name.as_str())
            .chain(request.upsertions.iter().map(|u| u.name.as_str()))
        {
            remember(&mut users, name);
        }
        response.results = users
            .iter()
            .map(|user| {
                alter_result(
                    user,
                    ResponseError::NotController,
                    Some("This is not the correct controller for this cluster."),
                )
            })
            .collect();
        return response;
    }

    // Illegal entries: an empty name, an unknown mechanism, iterations out of bounds.
    let mut illegal: Vec<(String, &'static str)> = Vec::new();
    let mut mark =
        |user: &str, message: &'static str| match illegal.iter_mut().find(|(seen, _)| seen == user)
        {
            Some(entry) => entry.1 = message,
            None => illegal.push((user.to_string(), message)),
        };
    for deletion in &request.deletions {
        let name = deletion.name.as_str();
        if name.is_empty() {
            mark(name, USERNAME_EMPTY);
        } else if ScramMechanism::from_wire_type(deletion.mechanism).is_none() {
            mark(name, "Unknown SCRAM mechanism");
        }
    }
    for upsertion in &request.upsertions {
        let name = upsertion.name.as_str();
        if name.is_empty() {
            mark(name, USERNAME_EMPTY);
        } else if ScramMechanism::from_wire_type(upsertion.mechanism).is_none() {
            mark(name, "Unknown SCRAM mechanism");
        } else if upsertion.iterations > ITERATIONS_MAX {
            mark(name, "Too many iterations");
        } else if upsertion.iterations < ITERATIONS_MIN {
            mark(name, "Too few iterations");
        }
    }
    for (user, message) in &illegal {
        let code = if *message == "Unknown SCRAM mechanism" {
            ResponseError::UnsupportedSaslMechanism
        } else {
            ResponseError::UnacceptableCredential
        };
        response
            .results
            .push(alter_result(user, code, Some(message)));
    }
    let invalid: BTreeSet<&str> = illegal.iter().map(|(user, _)| user.as_str()).collect();

    // One change per (user, mechanism) per request.
    let pairs: Vec<(&str, i8)> = request
        .upsertions
        .iter()
        .map(|u| (u.name.as_str(), u.mechanism))
        .chain(
            request
                .deletions
                .iter()
                .map(|d| (d.name.as_str(), d.mechanism)),
        )
        .filter(|(user, _)| !invalid.contains(user))
        .collect();
    let mut duplicated: Vec<String> = Vec::new();
    for (index, pair) in pairs.iter().enumerate() {
        if pairs[..index].contains(pair) {
            remember(&mut duplicated, pair.0);
        }
    }
    for user in &duplicated {
        response.results.push(alter_result(
            user,
            ResponseError::DuplicateResource,
            Some("A user credential cannot be altered twice in the same request"),
        ));
    }
    let mut candidates: Vec<String> = Vec::new();
    for (user, _) in &pairs {
        if !duplicated.iter().any(|d| d == user) {
            remember(&mut candidates, user);
        }
    }

    let mut configs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut succeeded: Vec<String> = Vec::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    for user in &candidates {
        match broker.metadata.user_config(user.clone()).await {
            Ok(config) => {
                configs.insert(user.clone(), config.unwrap_or_default());
            }
            Err(error) => failed.push((user.clone(), error.message)),
        }
    }
    let mut missing_deletions: Vec<String> = Vec::new();
    for deletion in &request.deletions {
        let user = deletion.name.as_str();
        let Some(config) = configs.get(user) else {
            continue;
        };
        let mechanism = ScramMechanism::from_wire_type(deletion.mechanism).expect("checked above");
        if !config.contains_key(mechanism.name()) {
            remember(&mut missing_deletions, user);
        }
    }
    for user in &missing_deletions {
        response.results.push(alter_result(
            user,
            ResponseError::ResourceNotFound,
            Some("Attempt to delete a user credential that does not exist"),
        ));
    }

    for user in &candidates {
        if missing_deletions.contains(user) {
            continue;
        }
        let Some(config) = configs.get_mut(user) else {
            continue;
        };
        for deletion in request.deletions.iter().filter(|d| d.name.as_str() == user) {
            let mechanism =
                ScramMechanism::from_wire_type(deletion.mechanism).expect("checked above");
            config.remove(mechanism.name());
        }
        for upsertion in request
            .upsertions
            .iter()
            .filter(|u| u.name.as_str() == user)
        {
            let mechanism =
                ScramMechanism::from_wire_type(upsertion.mechanism).expect("checked above");
            let credential = ScramCredential::from_salted_password(
                mechanism,
                upsertion.salt.to_vec(),
                &upsertion.salted_password,
                upsertion.iterations,
            );
            config.insert(mechanism.name().to_string(), credential.to_zk_string());
        }
        match broker
            .metadata
            .set_user_config(user.clone(), config.clone())
            .await
        {
            Ok(()) => {
                tracing::info!(user = %user, "altered SCRAM credentials");
                succeeded.push(user.clone());
            }
            Err(error) => failed.push((user.clone(), error.message)),
        }
    }
    for (user, message) in failed {
        response.results.push(alter_result(
            &user,
            ResponseError::UnknownServerError,
            Some(&message),
        ));
    }
    // Kafka reports the failures first, then the successes.
    for user in succeeded {
        response
            .results
            .push(AlterUserScramCredentialsResult::default().with_user(str_bytes(&user)));
    }
    response
}
