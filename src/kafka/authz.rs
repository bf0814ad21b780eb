//! Who is asking, and may they: the session of the connection whose request is
//! being handled (listener, principal, client address), set by `kafka::server`
//! around each request, and the broker's authorization checks handlers call, as
//! Kafka's `AuthHelper` offers them (one action, a filter over many resources, the
//! `*AuthorizedOperations` bit fields, a check by resource type).
//!
//! Without `authorizer.class.name` every check allows, as Kafka without an
//! authorizer. A denied check that a client asked for explicitly is logged at INFO
//! with Kafka's authorizer-log sentence (rate-limited per principal); checks made
//! only to filter or to fill in authorized operations are not.

use std::sync::Arc;

use crate::kafka::broker::Broker;
use crate::kafka::security::acl::{AclOperation, Requester, ResourceType, CLUSTER_NAME};

/// The connection a request came in on.
#[derive(Debug, Clone)]
pub struct RequestSession {
    /// The listener's name: Metadata, FindCoordinator and DescribeCluster answer
    /// with that listener's endpoints.
    pub listener: Arc<str>,
    /// `User:ANONYMOUS` on PLAINTEXT; the SASL user; on SSL the certificate's
    /// subject as Kafka's default principal builder names it.
    pub requester: Requester,
}

/// Kafka's principal for a connection that did not authenticate.
pub const ANONYMOUS: &str = "User:ANONYMOUS";

tokio::task_local! {
    pub static REQUEST_SESSION: Arc<RequestSession>;
    /// The API of the request being handled, for the authorizer's log lines.
    pub static REQUEST_API: kafka_protocol::messages::ApiKey;
}

/// The current request's session; `None` outside a request (a broker's own work).
pub fn current_session() -> Option<Arc<RequestSession>> {
    REQUEST_SESSION.try_with(|session| session.clone()).ok()
}

impl Broker {
    /// May the current request do `operation` on this resource? Logs a denial.
    pub fn authorize(
        &self,
        operation: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        self.check(operation, resource_type, name, true)
    }

    /// As `authorize`, without logging a denial: for filters and optional checks
    /// (Kafka's `logIfDenied = false`).
    pub fn authorize_quietly(
        &self,
        operation: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        self.check(operation, resource_type, name, false)
    }

    /// `operation` on the cluster resource.
    pub fn authorize_cluster(&self, operation: AclOperation) -> bool {
        self.authorize(operation, ResourceType::Cluster, CLUSTER_NAME)
    }

    /// `Authorizer.authorizeByResourceType`: `operation` on at least one resource of
    /// the type.
    pub fn authorize_by_resource_type(
        &self,
        operation: AclOperation,
        resource_type: ResourceType,
    ) -> bool {
        let (Some(config), Some(session)) = (&self.config.security.authorizer, current_session())
        else {
            return true;
        };
        let allowed = self.metadata.current().acls.authorize_by_resource_type(
            config,
            &session.requester,
            operation,
            resource_type,
        );
        if !allowed {
            log_denial(&session, operation, resource_type, "UNKNOWN", "NONE", 0);
        }
        allowed
    }

    /// The `*AuthorizedOperations` bit field of a resource for the current request;
    /// without an authorizer every operation the resource type supports.
    pub fn authorized_operations(&self, resource_type: ResourceType, name: &str) -> i32 {
        let (Some(config), Some(session)) = (&self.config.security.authorizer, current_session())
        else {
            return resource_type
                .supported_operations()
                .iter()
                .fold(0, |bits, op| bits | op.bit());
        };
        self.metadata.current().acls.authorized_operations(
            config,
            &session.requester,
            resource_type,
            name,
        )
    }

    fn check(
        &self,
        operation: AclOperation,
        resource_type: ResourceType,
        name: &str,
        log_if_denied: bool,
    ) -> bool {
        let (Some(config), Some(session)) = (&self.config.security.authorizer, current_session())
        else {
            return true;
        };
        let allowed = self.metadata.current().acls.authorize(
            config,
            &session.requester,
            operation,
            resource_type,
            name,
        );
        if !allowed && log_if_denied {
            log_denial(&session, operation, resource_type, "LITERAL", name, 1);
        }
        allowed
    }
}

/// Kafka's `kafka.authorizer.logger` line for a denial, at most a few times per
/// principal, operation, resource and API (`warn_limit`).
fn log_denial(
    session: &RequestSession,
    operation: AclOperation,
    resource_type: ResourceType,
    pattern_type: &str,
    name: &str,
    reference_count: u32,
) {
    let api = REQUEST_API
        .try_with(|api| format!("{api:?}"))
        .unwrap_or_else(|_| "-".to_string());
    // Per request kind too: CreateAcls and DeleteAcls refused for the same
    // operation are two facts for the operator.
    let key = format!(
        "{} {} {}:{name} {api}",
        session.requester.principal,
        operation.name(),
        resource_type.name()
    );
    if let Some(occurrences) = crate::warn_limit::occurrence("kafka-authorizer-denied", &key) {
        tracing::info!(
            target: "kafka.authorizer.logger",
            occurrences,
            "Principal = {} is Denied Operation = {} from host = {} on resource = {}:{pattern_type}:{name} for request = {api} with resourceRefCount = {reference_count}",
            session.requester.principal,
            operation.name(),
            session.requester.host,
            resource_type.name(),
        );
    }
}
