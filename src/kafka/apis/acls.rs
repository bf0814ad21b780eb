//! DescribeAcls, CreateAcls and DeleteAcls (Kafka's `AclApis`): answered from the
//! broker's ACL picture and written to ZooKeeper through the metadata store, with
//! the checks and messages of Apache 3.9 (DESCRIBE on the cluster to list, ALTER
//! to change; SECURITY_DISABLED without an authorizer).

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::str_bytes;
use crate::kafka::broker::Broker;
use crate::kafka::security::acl::{
    check_principal, AccessControlEntry, AclBinding, AclBindingFilter, AclOperation, PatternType,
    PermissionType, ResourcePattern, ResourceType, CLUSTER_NAME,
};

const NO_AUTHORIZER: &str = "No Authorizer is configured on the broker";

/// Kafka's message for a request refused by `authorizeClusterOperation`.
fn not_authorized(api: &str) -> String {
    format!("Request {api} is not authorized.")
}

fn filter(
    resource_type: i8,
    name: Option<&StrBytes>,
    pattern_type: i8,
    principal: Option<&StrBytes>,
    host: Option<&StrBytes>,
    operation: i8,
    permission: i8,
) -> AclBindingFilter {
    AclBindingFilter {
        resource_type: ResourceType::from_code(resource_type),
        name: name.map(|name| name.to_string()),
        pattern_type: PatternType::from_code(pattern_type),
        principal: principal.map(|principal| principal.to_string()),
        host: host.map(|host| host.to_string()),
        operation: AclOperation::from_code(operation),
        permission: PermissionType::from_code(permission),
    }
}

pub async fn describe(broker: &Arc<Broker>, request: DescribeAclsRequest) -> DescribeAclsResponse {
    let refused = |code: ResponseError, message: String| {
        DescribeAclsResponse::default()
            .with_error_code(code.code())
            .with_error_message(Some(str_bytes(&message)))
    };
    if !broker.authorize_cluster(AclOperation::Describe) {
        return refused(
            ResponseError::ClusterAuthorizationFailed,
            not_authorized("DescribeAcls"),
        );
    }
    if broker.config.security.authorizer.is_none() {
        return refused(ResponseError::SecurityDisabled, NO_AUTHORIZER.to_string());
    }
    let filter = filter(
        request.resource_type_filter,
        request.resource_name_filter.as_ref(),
        request.pattern_type_filter,
        request.principal_filter.as_ref(),
        request.host_filter.as_ref(),
        request.operation,
        request.permission_type,
    );
    if filter.resource_type == ResourceType::Unknown
        || filter.pattern_type == PatternType::Unknown
        || filter.operation == AclOperation::Unknown
        || filter.permission == PermissionType::Unknown
    {
        return refused(
            ResponseError::InvalidRequest,
            "Filter contain UNKNOWN elements".to_string(),
        );
    }
    let mut by_pattern: BTreeMap<ResourcePattern, Vec<AccessControlEntry>> = BTreeMap::new();
    for binding in broker.metadata.current().acls.bindings(&filter) {
        by_pattern
            .entry(binding.pattern)
            .or_default()
            .push(binding.entry);
    }
    let resources = by_pattern
        .into_iter()
        .map(|(pattern, entries)| {
            DescribeAclsResource::default()
                .with_resource_type(pattern.resource_type.code())
                .with_resource_name(str_bytes(&pattern.name))
                .with_pattern_type(pattern.pattern_type.code())
                .with_acls(
                    entries
                        .into_iter()
                        .map(|entry| {
                            AclDescription::default()
                                .with_principal(str_bytes(&entry.principal))
                                .with_host(str_bytes(&entry.host))
                                .with_operation(entry.operation.code())
                                .with_permission_type(entry.permission.code())
                        })
                        .collect(),
                )
        })
        .collect();
    DescribeAclsResponse::default()
        .with_error_message(Some(str_bytes("")))
        .with_resources(resources)
}

/// Why a creation is refused before anything is written (`AclApis` and
/// `AclAuthorizer.validateAclBinding`, and the checks of the ACL classes'
/// constructors).
fn invalid_creation(binding: &AclBinding) -> Option<String> {
    let pattern = &binding.pattern;
    let entry = &binding.entry;
    if pattern.resource_type == ResourceType::Cluster && pattern.name != CLUSTER_NAME {
        return Some(format!(
            "The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
        ));
    }
    if pattern.name.is_empty() {
        return Some("Invalid empty resource name".to_string());
    }
    if pattern.name.contains('/') {
        return Some("Failed to create ACL".to_string());
    }
    if matches!(pattern.pattern_type, PatternType::Unknown)
        || matches!(entry.operation, AclOperation::Unknown)
        || matches!(entry.permission, PermissionType::Unknown)
    {
        return Some("Failed to create ACL".to_string());
    }
    None
}

/// A creation Apache cannot even turn into an ACL binding (a resource pattern or
/// entry of ANY / MATCH): its handler throws, and every result of the request is
/// UNKNOWN_SERVER_ERROR without a message.
fn unbuildable(binding: &AclBinding) -> bool {
    matches!(binding.pattern.resource_type, ResourceType::Any)
        || matches!(
            binding.pattern.pattern_type,
            PatternType::Any | PatternType::Match
        )
        || matches!(binding.entry.operation, AclOperation::Any)
        || matches!(binding.entry.permission, PermissionType::Any)
}

pub async fn create(broker: &Arc<Broker>, request: CreateAclsRequest) -> CreateAclsResponse {
    let all_failed = |code: ResponseError, message: String| {
        CreateAclsResponse::default().with_results(
            request
                .creations
                .iter()
                .map(|_| {
                    AclCreationResult::default()
                        .with_error_code(code.code())
                        .with_error_message(Some(str_bytes(&message)))
                })
                .collect(),
        )
    };
    if !broker.authorize_cluster(AclOperation::Alter) {
        return all_failed(
            ResponseError::ClusterAuthorizationFailed,
            not_authorized("CreateAcls"),
        );
    }
    if broker.config.security.authorizer.is_none() {
        return all_failed(
            ResponseError::SecurityDisabled,
            "No Authorizer is configured.".to_string(),
        );
    }
    let bindings: Vec<AclBinding> = request
        .creations
        .iter()
        .map(|creation| AclBinding {
            pattern: ResourcePattern {
                resource_type: ResourceType::from_code(creation.resource_type),
                name: creation.resource_name.to_string(),
                pattern_type: PatternType::from_code(creation.resource_pattern_type),
            },
            entry: AccessControlEntry {
                principal: creation.principal.to_string(),
                host: creation.host.to_string(),
                operation: AclOperation::from_code(creation.operation),
                permission: PermissionType::from_code(creation.permission_type),
            },
        })
        .collect();
    if bindings.iter().any(unbuildable) {
        return CreateAclsResponse::default().with_results(
            bindings
                .iter()
                .map(|_| {
                    AclCreationResult::default()
                        .with_error_code(ResponseError::UnknownServerError.code())
                        .with_error_message(None)
                })
                .collect(),
        );
    }
    // A principal Kafka cannot parse fails the whole write of its resource.
    let bad_principal: std::collections::BTreeSet<ResourcePattern> = bindings
        .iter()
        .filter(|binding| check_principal(&binding.entry.principal).is_err())
        .map(|binding| binding.pattern.clone())
        .collect();
    let mut results: Vec<Option<Result<(), (ResponseError, String)>>> = bindings
        .iter()
        .map(|binding| {
            invalid_creation(binding).map(|message| Err((ResponseError::InvalidRequest, message)))
        })
        .collect();
    for (index, binding) in bindings.iter().enumerate() {
        if results[index].is_none() && bad_principal.contains(&binding.pattern) {
            results[index] = Some(Err((ResponseError::UnknownServerError, String::new())));
        }
    }
    let valid: Vec<(usize, AclBinding)> = bindings
        .into_iter()
        .enumerate()
        .filter(|(index, _)| results[*index].is_none())
        .collect();
    let written = broker
        .metadata
        .create_acls(valid.iter().map(|(_, binding)| binding.clone()).collect())
        .await;
    for ((index, _), outcome) in valid.iter().zip(written) {
        results[*index] = Some(outcome.map_err(|error| {
            (
                ResponseError::try_from_code(error.code)
                    .unwrap_or(ResponseError::UnknownServerError),
                error.message,
            )
        }));
    }
    CreateAclsResponse::default().with_results(
        results
            .into_iter()
            .map(|result| match result {
                Some(Err((code, message))) => AclCreationResult::default()
                    .with_error_code(code.code())
                    .with_error_message((!message.is_empty()).then(|| str_bytes(&message))),
                _ => AclCreationResult::default().with_error_message(Some(str_bytes(""))),
            })
            .collect(),
    )
}

pub async fn delete(broker: &Arc<Broker>, request: DeleteAclsRequest) -> DeleteAclsResponse {
    let all_failed = |code: ResponseError, message: &str| {
        DeleteAclsResponse::default().with_filter_results(
            request
                .filters
                .iter()
                .map(|_| {
                    DeleteAclsFilterResult::default()
                        .with_error_code(code.code())
                        .with_error_message(Some(str_bytes(message)))
                })
                .collect(),
        )
    };
    if !broker.authorize_cluster(AclOperation::Alter) {
        return all_failed(
            ResponseError::ClusterAuthorizationFailed,
            &not_authorized("DeleteAcls"),
        );
    }
    if broker.config.security.authorizer.is_none() {
        return all_failed(
            ResponseError::SecurityDisabled,
            "No Authorizer is configured.",
        );
    }
    let filters: Vec<AclBindingFilter> = request
        .filters
        .iter()
        .map(|wanted| {
            filter(
                wanted.resource_type_filter,
                wanted.resource_name_filter.as_ref(),
                wanted.pattern_type_filter,
                wanted.principal_filter.as_ref(),
                wanted.host_filter.as_ref(),
                wanted.operation,
                wanted.permission_type,
            )
        })
        .collect();
    let deleted = broker.metadata.delete_acls(filters).await;
    DeleteAclsResponse::default().with_filter_results(
        deleted
            .into_iter()
            .map(|bindings| {
                DeleteAclsFilterResult::default()
                    .with_error_message(None)
                    .with_matching_acls(
                        bindings
                            .into_iter()
                            .map(|(binding, error)| {
                                let matching = DeleteAclsMatchingAcl::default()
                                    .with_resource_type(binding.pattern.resource_type.code())
                                    .with_resource_name(str_bytes(&binding.pattern.name))
                                    .with_pattern_type(binding.pattern.pattern_type.code())
                                    .with_principal(str_bytes(&binding.entry.principal))
                                    .with_host(str_bytes(&binding.entry.host))
                                    .with_operation(binding.entry.operation.code())
                                    .with_permission_type(binding.entry.permission.code())
                                    .with_error_message(None);
                                match error {
                                    None => matching,
                                    Some(error) => matching
                                        .with_error_code(error.code)
                                        .with_error_message(Some(str_bytes(&error.message))),
                                }
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}
