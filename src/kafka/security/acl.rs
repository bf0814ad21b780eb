//! Kafka's ACL model and the ZooKeeper-mode authorizer's decisions
//! (`kafka.security.authorizer.AclAuthorizer`, 2.2's `SimpleAclAuthorizer`), pure:
//! resource patterns, access control entries, the filters of Describe/DeleteAcls,
//! the znode bytes under `/kafka-acl` and `/kafka-acl-extended/prefixed` with their
//! change notifications, and `authorize` with Kafka's precedence rules (a super
//! user is always allowed; a matching DENY beats any ALLOW; READ, WRITE, DELETE and
//! ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS; a resource with no
//! matching ACL at all follows `allow.everyone.if.no.acl.found`).
//!
//! The table is an immutable value: the metadata task builds a new one when a
//! change notification names a resource, and request handlers read whichever one
//! was current when their request arrived.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use serde_json::{json, Value};

/// Kafka's `ResourceType` (codes as on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceType {
    Unknown = 0,
    Any = 1,
    Topic = 2,
    Group = 3,
    Cluster = 4,
    TransactionalId = 5,
    DelegationToken = 6,
    User = 7,
}

/// Kafka's `PatternType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PatternType {
    Unknown = 0,
    Any = 1,
    Match = 2,
    Literal = 3,
    Prefixed = 4,
}

/// Kafka's `AclOperation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AclOperation {
    Unknown = 0,
    Any = 1,
    All = 2,
    Read = 3,
    Write = 4,
    Create = 5,
    Delete = 6,
    Alter = 7,
    Describe = 8,
    ClusterAction = 9,
    DescribeConfigs = 10,
    AlterConfigs = 11,
    IdempotentWrite = 12,
    CreateTokens = 13,
    DescribeTokens = 14,
}

/// Kafka's `AclPermissionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PermissionType {
    Unknown = 0,
    Any = 1,
    Deny = 2,
    Allow = 3,
}

/// The one name a CLUSTER resource has.
pub const CLUSTER_NAME: &str = "kafka-cluster";
/// A literal resource name, principal or host matching every one.
pub const WILDCARD: &str = "*";
pub const WILDCARD_PRINCIPAL: &str = "User:*";

const RESOURCE_TYPES: [(ResourceType, &str); 8] = [
    (ResourceType::Unknown, "Unknown"),
    (ResourceType::Any, "Any"),
    (ResourceType::Topic, "Topic"),
    (ResourceType::Group, "Group"),
    (ResourceType::Cluster, "Cluster"),
    (ResourceType::TransactionalId, "TransactionalId"),
    (ResourceType::DelegationToken, "DelegationToken"),
    (ResourceType::User, "User"),
];

const PATTERN_TYPES: [(PatternType, &str); 5] = [
    (PatternType::Unknown, "UNKNOWN"),
    (PatternType::Any, "ANY"),
    (PatternType::Match, "MATCH"),
    (PatternType::Literal, "LITERAL"),
    (PatternType::Prefixed, "PREFIXED"),
];

const OPERATIONS: [(AclOperation, &str); 15] = [
    (AclOperation::Unknown, "Unknown"),
    (AclOperation::Any, "Any"),
    (AclOperation::All, "All"),
    (AclOperation::Read, "Read"),
    (AclOperation::Write, "Write"),
    (AclOperation::Create, "Create"),
    (AclOperation::Delete, "Delete"),
    (AclOperation::Alter, "Alter"),
    (AclOperation::Describe, "Describe"),
    (AclOperation::ClusterAction, "ClusterAction"),
    (AclOperation::DescribeConfigs, "DescribeConfigs"),
    (AclOperation::AlterConfigs, "AlterConfigs"),
    (AclOperation::IdempotentWrite, "IdempotentWrite"),
    (AclOperation::CreateTokens, "CreateTokens"),
    (AclOperation::DescribeTokens, "DescribeTokens"),
];

const PERMISSIONS: [(PermissionType, &str); 4] = [
    (PermissionType::Unknown, "Unknown"),
    (PermissionType::Any, "Any"),
    (PermissionType::Deny, "Deny"),
    (PermissionType::Allow, "Allow"),
];

/// Codes and names of a wire enum; an unknown code or name is its UNKNOWN value, as
/// Kafka's `fromCode` / `SecurityUtils` lookups answer.
macro_rules! wire_enum {
    ($type:ty, $table:ident) => {
        impl $type {
            pub fn from_code(code: i8) -> $type {
                $table
                    .iter()
                    .find(|(value, _)| *value as i8 == code)
                    .map_or($table[0].0, |(value, _)| *value)
            }

            pub fn code(self) -> i8 {
                self as i8
            }

            /// The name Kafka stores in znodes (`SecurityUtils`' Pascal case).
            pub fn name(self) -> &'static str {
                $table
                    .iter()
                    .find(|(value, _)| *value == self)
                    .map_or("Unknown", |(_, name)| name)
            }

            /// Pascal case or upper case (with or without underscores), as
            /// `SecurityUtils` and the enums' `fromString` accept.
            pub fn from_name(name: &str) -> $type {
                let wanted: String = name.chars().filter(|c| *c != '_').collect();
                $table
                    .iter()
                    .find(|(_, known)| known.eq_ignore_ascii_case(&wanted))
                    .map_or($table[0].0, |(value, _)| *value)
            }
        }
    };
}

wire_enum!(ResourceType, RESOURCE_TYPES);
wire_enum!(PatternType, PATTERN_TYPES);
wire_enum!(AclOperation, OPERATIONS);
wire_enum!(PermissionType, PERMISSIONS);

impl ResourceType {
    /// `AclEntry.supportedOperations` (Kafka 3.9).
    pub fn supported_operations(self) -> &'static [AclOperation] {
        use AclOperation::*;
        match self {
            ResourceType::Topic => &[
                Read,
                Write,
                Create,
                Describe,
                Delete,
                Alter,
                DescribeConfigs,
                AlterConfigs,
            ],
            ResourceType::Group => &[Read, Describe, Delete],
            ResourceType::Cluster => &[
                Create,
                ClusterAction,
                DescribeConfigs,
                AlterConfigs,
                IdempotentWrite,
                Alter,
                Describe,
            ],
            ResourceType::TransactionalId => &[Describe, Write],
            ResourceType::DelegationToken => &[Describe],
            ResourceType::User => &[CreateTokens, DescribeTokens],
            ResourceType::Unknown | ResourceType::Any => &[],
        }
    }

    /// Java's enum name (`ResourceType.toString`), used in literal change notifications.
    fn upper_name(self) -> String {
        let mut out = String::new();
        for (index, c) in self.name().chars().enumerate() {
            if c.is_ascii_uppercase() && index > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_uppercase());
        }
        out
    }
}

impl AclOperation {
    /// The bit of this operation in an `*AuthorizedOperations` field.
    pub fn bit(self) -> i32 {
        1 << (self as i32)
    }
}

/// A resource pattern an ACL is attached to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourcePattern {
    pub resource_type: ResourceType,
    pub name: String,
    pub pattern_type: PatternType,
}

impl fmt::Display for ResourcePattern {
    /// `ResourcePattern.toString`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ResourcePattern(resourceType={}, name={}, patternType={})",
            self.resource_type.upper_name(),
            self.name,
            PATTERN_TYPES
                .iter()
                .find(|(value, _)| *value == self.pattern_type)
                .map_or("UNKNOWN", |(_, name)| name)
        )
    }
}

/// Who may do what from where (`AccessControlEntry`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccessControlEntry {
    /// `Type:name`, e.g. `User:alice`.
    pub principal: String,
    pub host: String,
    pub operation: AclOperation,
    pub permission: PermissionType,
}

/// An ACL: an entry on a pattern.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AclBinding {
    pub pattern: ResourcePattern,
    pub entry: AccessControlEntry,
}

/// The filter of DescribeAcls and of each DeleteAcls filter (`AclBindingFilter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclBindingFilter {
    pub resource_type: ResourceType,
    pub name: Option<String>,
    pub pattern_type: PatternType,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: AclOperation,
    pub permission: PermissionType,
}

impl AclBindingFilter {
    /// `ResourcePatternFilter.matches`.
    pub fn matches_pattern(&self, pattern: &ResourcePattern) -> bool {
        if self.resource_type != ResourceType::Any && self.resource_type != pattern.resource_type {
            return false;
        }
        if !matches!(self.pattern_type, PatternType::Any | PatternType::Match)
            && self.pattern_type != pattern.pattern_type
        {
            return false;
        }
        let Some(name) = &self.name else {
            return true;
        };
        if self.pattern_type == PatternType::Any || self.pattern_type == pattern.pattern_type {
            return *name == pattern.name;
        }
        match pattern.pattern_type {
            PatternType::Literal => *name == pattern.name || pattern.name == WILDCARD,
            PatternType::Prefixed => name.starts_with(&pattern.name),
            _ => false,
        }
    }

    /// `AccessControlEntryFilter.matches`.
    pub fn matches_entry(&self, entry: &AccessControlEntry) -> bool {
        self.principal
            .as_ref()
            .is_none_or(|p| *p == entry.principal)
            && self.host.as_ref().is_none_or(|h| *h == entry.host)
            && (self.operation == AclOperation::Any || self.operation == entry.operation)
            && (self.permission == PermissionType::Any || self.permission == entry.permission)
    }

    /// `ResourcePatternFilter.findIndefiniteField`: why the pattern filter may match
    /// more than one pattern, `None` when it names exactly one (or two, for ANY).
    pub fn indefinite_pattern_field(&self) -> Option<&'static str> {
        match () {
            _ if self.resource_type == ResourceType::Any => Some("Resource type is ANY."),
            _ if self.resource_type == ResourceType::Unknown => Some("Resource type is UNKNOWN."),
            _ if self.name.is_none() => Some("Resource name is NULL."),
            _ if self.pattern_type == PatternType::Match => Some("Resource pattern type is MATCH."),
            _ if self.pattern_type == PatternType::Unknown => {
                Some("Resource pattern type is UNKNOWN.")
            }
            _ => None,
        }
    }

    /// The patterns a definite filter names (`AclAuthorizer.filterToResources`).
    pub fn named_patterns(&self) -> Vec<ResourcePattern> {
        if self.indefinite_pattern_field().is_some() {
            return Vec::new();
        }
        let name = self.name.clone().unwrap_or_default();
        let types: &[PatternType] = match self.pattern_type {
            PatternType::Any => &[PatternType::Literal, PatternType::Prefixed],
            PatternType::Literal => &[PatternType::Literal],
            PatternType::Prefixed => &[PatternType::Prefixed],
            _ => &[],
        };
        types
            .iter()
            .map(|pattern_type| ResourcePattern {
                resource_type: self.resource_type,
                name: name.clone(),
                pattern_type: *pattern_type,
            })
            .collect()
    }
}

/// `authorizer.class.name` and the settings the authorizer reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizerConfig {
    /// `super.users`: principals allowed everything.
    pub super_users: BTreeSet<String>,
    /// `allow.everyone.if.no.acl.found`.
    pub allow_everyone_if_no_acl_found: bool,
}

impl AuthorizerConfig {
    /// `super.users` as AclAuthorizer splits it: `;`-separated, trimmed, each a
    /// `Type:name` principal.
    pub fn parse_super_users(value: &str) -> Result<BTreeSet<String>, String> {
        let mut users = BTreeSet::new();
        for part in value.split(';') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            check_principal(part)?;
            users.insert(part.to_string());
        }
        Ok(users)
    }
}

/// `SecurityUtils.parseKafkaPrincipal`'s check.
pub fn check_principal(principal: &str) -> Result<(), String> {
    match principal.split_once(':') {
        Some((kind, name)) if !kind.is_empty() && !name.is_empty() => Ok(()),
        _ => Err(format!(
            "expected a string in format principalType:principalName but got {principal}"
        )),
    }
}

/// The client's address as Java's `InetAddress.getHostAddress` prints it, which is
/// what ACL hosts are compared with (IPv6 uncompressed, `0:0:0:0:0:0:0:1`).
pub fn java_host_address(address: IpAddr) -> String {
    match address.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => v6
            .segments()
            .iter()
            .map(|segment| format!("{segment:x}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

/// What a request is checked as: the connection's principal and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    pub principal: String,
    /// `java_host_address` of the client.
    pub host: String,
}

/// One resource's ACLs and the znode version they were read at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionedAcls {
    pub entries: BTreeSet<AccessControlEntry>,
    pub zk_version: i32,
}

/// Every ACL the cluster has, by pattern.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclTable {
    by_pattern: BTreeMap<ResourcePattern, VersionedAcls>,
}

impl AclTable {
    pub fn is_empty(&self) -> bool {
        self.by_pattern.is_empty()
    }

    pub fn get(&self, pattern: &ResourcePattern) -> Option<&VersionedAcls> {
        self.by_pattern.get(pattern)
    }

    /// Replaces one pattern's ACLs (an empty set removes it).
    pub fn set(&mut self, pattern: ResourcePattern, acls: VersionedAcls) {
        if acls.entries.is_empty() {
            self.by_pattern.remove(&pattern);
        } else {
            self.by_pattern.insert(pattern, acls);
        }
    }

    pub fn patterns(&self) -> impl Iterator<Item = &ResourcePattern> {
        self.by_pattern.keys()
    }

    /// Every binding the filter matches (`AclAuthorizer.acls`).
    pub fn bindings(&self, filter: &AclBindingFilter) -> Vec<AclBinding> {
        let mut out = Vec::new();
        for (pattern, acls) in &self.by_pattern {
            if !filter.matches_pattern(pattern) {
                continue;
            }
            for entry in &acls.entries {
                if filter.matches_entry(entry) {
                    out.push(AclBinding {
                        pattern: pattern.clone(),
                        entry: entry.clone(),
                    });
                }
            }
        }
        out
    }

    /// The entries that apply to a named resource: its literal pattern, the
    /// wildcard literal, and every prefixed pattern it starts with. Looked up, not
    /// scanned: a check costs a few map lookups per character of the name, however
    /// many ACLs the cluster has (one key, reused as it is shortened).
    fn matching_entries(
        &self,
        resource_type: ResourceType,
        name: &str,
    ) -> Vec<&AccessControlEntry> {
        let mut found = Vec::new();
        let mut key = ResourcePattern {
            resource_type,
            name: name.to_string(),
            pattern_type: PatternType::Literal,
        };
        let mut take = |key: &ResourcePattern| {
            if let Some(acls) = self.by_pattern.get(key) {
                found.extend(acls.entries.iter());
            }
        };
        take(&key);
        if name != WILDCARD {
            key.name.clear();
            key.name.push_str(WILDCARD);
            take(&key);
            key.name.clear();
            key.name.push_str(name);
        }
        key.pattern_type = PatternType::Prefixed;
        while !key.name.is_empty() {
            take(&key);
            key.name.pop();
        }
        found
    }

    /// `AclAuthorizer.authorizeAction` for one operation on one named resource.
    pub fn authorize(
        &self,
        config: &AuthorizerConfig,
        requester: &Requester,
        operation: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        if config.super_users.contains(&requester.principal) {
            return true;
        }
        let entries = self.matching_entries(resource_type, name);
        if entries.is_empty() {
            return config.allow_everyone_if_no_acl_found;
        }
        let applies = |entry: &&AccessControlEntry,
                       permission: PermissionType,
                       op: AclOperation| {
            entry.permission == permission
                && (entry.principal == requester.principal || entry.principal == WILDCARD_PRINCIPAL)
                && (entry.operation == op || entry.operation == AclOperation::All)
                && (entry.host == requester.host || entry.host == WILDCARD)
        };
        if entries
            .iter()
            .any(|entry| applies(entry, PermissionType::Deny, operation))
        {
            return false;
        }
        let implied: &[AclOperation] = match operation {
            AclOperation::Describe => &[
                AclOperation::Describe,
                AclOperation::Read,
                AclOperation::Write,
                AclOperation::Delete,
                AclOperation::Alter,
            ],
            AclOperation::DescribeConfigs => {
                &[AclOperation::DescribeConfigs, AclOperation::AlterConfigs]
            }
            _ => std::slice::from_ref(&operation),
        };
        implied.iter().any(|op| {
            entries
                .iter()
                .any(|entry| applies(entry, PermissionType::Allow, *op))
        })
    }

    /// `AclAuthorizer.authorizeByResourceType`: may the requester do `operation` on
    /// at least one resource of the type (KIP-679: an idempotent producer needs
    /// WRITE on some topic)?
    pub fn authorize_by_resource_type(
        &self,
        config: &AuthorizerConfig,
        requester: &Requester,
        operation: AclOperation,
        resource_type: ResourceType,
    ) -> bool {
        if config.super_users.contains(&requester.principal) {
            return true;
        }
        // Names of resources of this type and pattern kind with an entry matching
        // the requester, the operation (or ALL) and the permission.
        let names = |permission: PermissionType, pattern_type: PatternType| -> BTreeSet<&str> {
            self.by_pattern
                .iter()
                .filter(|(pattern, _)| {
                    pattern.resource_type == resource_type && pattern.pattern_type == pattern_type
                })
                .filter(|(_, acls)| {
                    acls.entries.iter().any(|entry| {
                        entry.permission == permission
                            && (entry.principal == requester.principal
                                || entry.principal == WILDCARD_PRINCIPAL)
                            && (entry.host == requester.host || entry.host == WILDCARD)
                            && (entry.operation == operation
                                || entry.operation == AclOperation::All)
                    })
                })
                .map(|(pattern, _)| pattern.name.as_str())
                .collect()
        };
        let deny_literals = names(PermissionType::Deny, PatternType::Literal);
        if deny_literals.contains(WILDCARD) {
            return false;
        }
        if config.allow_everyone_if_no_acl_found {
            return true;
        }
        let deny_prefixes = names(PermissionType::Deny, PatternType::Prefixed);
        let allow_literals = names(PermissionType::Allow, PatternType::Literal);
        let allow_prefixes = names(PermissionType::Allow, PatternType::Prefixed);
        let dominant_prefixed_deny = |name: &str| {
            name.char_indices()
                .map(|(index, c)| &name[..index + c.len_utf8()])
                .any(|prefix| deny_prefixes.contains(prefix))
        };
        allow_prefixes
            .iter()
            .any(|prefix| !dominant_prefixed_deny(prefix))
            || allow_literals.iter().any(|literal| {
                *literal == WILDCARD
                    || (!deny_literals.contains(literal) && !dominant_prefixed_deny(literal))
            })
    }

    /// The `*AuthorizedOperations` bit field of a resource for the requester.
    pub fn authorized_operations(
        &self,
        config: &AuthorizerConfig,
        requester: &Requester,
        resource_type: ResourceType,
        name: &str,
    ) -> i32 {
        resource_type
            .supported_operations()
            .iter()
            .filter(|op| self.authorize(config, requester, **op, resource_type, name))
            .fold(0, |bits, op| bits | op.bit())
    }
}

// ---------------------------------------------------------------------------------
// ZooKeeper layout (`ZkAclStore`, `ZkAclChangeStore`)

pub const LITERAL_ACL_PATH: &str = "/kafka-acl";
pub const EXTENDED_ACL_PATH: &str = "/kafka-acl-extended";
pub const PREFIXED_ACL_PATH: &str = "/kafka-acl-extended/prefixed";
pub const LITERAL_CHANGES_PATH: &str = "/kafka-acl-changes";
pub const EXTENDED_CHANGES_PATH: &str = "/kafka-acl-extended-changes";
pub const CHANGE_PREFIX: &str = "acl_changes_";

/// The resource types whose ACL znodes a broker loads.
pub const STORED_RESOURCE_TYPES: [ResourceType; 6] = [
    ResourceType::Topic,
    ResourceType::Group,
    ResourceType::Cluster,
    ResourceType::TransactionalId,
    ResourceType::DelegationToken,
    ResourceType::User,
];

/// The root of a pattern type's ACL znodes.
pub fn store_path(pattern_type: PatternType) -> &'static str {
    match pattern_type {
        PatternType::Prefixed => PREFIXED_ACL_PATH,
        _ => LITERAL_ACL_PATH,
    }
}

/// The change notification root of a pattern type.
pub fn changes_path(pattern_type: PatternType) -> &'static str {
    match pattern_type {
        PatternType::Literal => LITERAL_CHANGES_PATH,
        _ => EXTENDED_CHANGES_PATH,
    }
}

/// `/kafka-acl/Topic/<name>` or `/kafka-acl-extended/prefixed/Topic/<name>`.
pub fn resource_path(pattern: &ResourcePattern) -> String {
    format!(
        "{}/{}/{}",
        store_path(pattern.pattern_type),
        pattern.resource_type.name(),
        pattern.name
    )
}

/// A resource znode's JSON (`AclEntry.toJsonCompatibleMap`, keys in the order
/// Java's HashMap gives them).
pub fn encode_acls(entries: &BTreeSet<AccessControlEntry>) -> Vec<u8> {
    let acls: Vec<String> = entries
        .iter()
        .map(|entry| {
            format!(
                "{{\"principal\":{},\"permissionType\":{},\"host\":{},\"operation\":{}}}",
                json!(entry.principal),
                json!(entry.permission.name()),
                json!(entry.host),
                json!(entry.operation.name())
            )
        })
        .collect();
    format!("{{\"acls\":[{}],\"version\":1}}", acls.join(",")).into_bytes()
}

/// Reads a resource znode (`AclEntry.fromBytes`): empty data is no ACLs.
pub fn decode_acls(bytes: &[u8]) -> Result<BTreeSet<AccessControlEntry>, String> {
    if bytes.is_empty() {
        return Ok(BTreeSet::new());
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
    if value.get("version").and_then(Value::as_i64) != Some(1) {
        return Err("ACL znode version is not 1".to_string());
    }
    let acls = value
        .get("acls")
        .and_then(Value::as_array)
        .ok_or("ACL znode has no acls array")?;
    let mut entries = BTreeSet::new();
    for acl in acls {
        let field = |key: &str| {
            acl.get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("ACL entry without {key}"))
        };
        let principal = field("principal")?;
        check_principal(principal)?;
        entries.insert(AccessControlEntry {
            principal: principal.to_string(),
            host: field("host")?.to_string(),
            operation: AclOperation::from_name(field("operation")?),
            permission: PermissionType::from_name(field("permissionType")?),
        });
    }
    Ok(entries)
}

/// A change notification's data: `TOPIC:<name>` for a literal pattern (Java's
/// enum name), Kafka's `ExtendedAclChangeEvent` JSON for the others.
pub fn encode_change(pattern: &ResourcePattern) -> Vec<u8> {
    match pattern.pattern_type {
        PatternType::Literal => {
            format!("{}:{}", pattern.resource_type.upper_name(), pattern.name).into_bytes()
        }
        _ => format!(
            "{{\"version\":1,\"resourceType\":{},\"name\":{},\"patternType\":{}}}",
            json!(pattern.resource_type.upper_name()),
            json!(pattern.name),
            json!(PATTERN_TYPES
                .iter()
                .find(|(value, _)| *value == pattern.pattern_type)
                .map_or("UNKNOWN", |(_, name)| name))
        )
        .into_bytes(),
    }
}

/// Reads a notification from `/kafka-acl-changes` (`literal`) or
/// `/kafka-acl-extended-changes`.
pub fn decode_change(literal: bool, bytes: &[u8]) -> Result<ResourcePattern, String> {
    let text = std::str::from_utf8(bytes).map_err(|error| error.to_string())?;
    let pattern = if literal {
        let (kind, name) = text.split_once(':').ok_or_else(|| {
            format!("expected a string in format ResourceType:ResourceName but got {text}")
        })?;
        ResourcePattern {
            resource_type: ResourceType::from_name(kind),
            name: name.to_string(),
            pattern_type: PatternType::Literal,
        }
    } else {
        let value: Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
        if value.get("version").and_then(Value::as_i64).unwrap_or(0) > 1 {
            return Err(format!(
                "Acl change event received for unsupported version: {}",
                value["version"]
            ));
        }
        let field = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("ACL change event without {key}"))
        };
        ResourcePattern {
            resource_type: ResourceType::from_name(field("resourceType")?),
            name: field("name")?.to_string(),
            pattern_type: PatternType::from_name(field("patternType")?),
        }
    };
    if matches!(
        pattern.resource_type,
        ResourceType::Unknown | ResourceType::Any
    ) || !matches!(
        pattern.pattern_type,
        PatternType::Literal | PatternType::Prefixed
    ) {
        return Err(format!("ACL change names no concrete resource: {text}"));
    }
    Ok(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(principal: &str, op: AclOperation, permission: PermissionType) -> AccessControlEntry {
        AccessControlEntry {
            principal: principal.to_string(),
            host: WILDCARD.to_string(),
            operation: op,
            permission,
        }
    }

    fn pattern(
        resource_type: ResourceType,
        name: &str,
        pattern_type: PatternType,
    ) -> ResourcePattern {
        ResourcePattern {
            resource_type,
            name: name.to_string(),
            pattern_type,
        }
    }

    fn table(acls: &[(ResourcePattern, AccessControlEntry)]) -> AclTable {
        let mut table = AclTable::default();
        for (pattern, entry) in acls {
            let mut current = table.get(pattern).cloned().unwrap_or_default();
            current.entries.insert(entry.clone());
            table.set(pattern.clone(), current);
        }
        table
    }

    fn alice() -> Requester {
        Requester {
            principal: "User:alice".to_string(),
            host: "127.0.0.1".to_string(),
        }
    }

    const CONFIG: AuthorizerConfig = AuthorizerConfig {
        super_users: BTreeSet::new(),
        allow_everyone_if_no_acl_found: false,
    };

    #[test]
    fn deny_beats_allow_and_read_implies_describe() {
        use AclOperation::*;
        use PermissionType::*;
        let acls = table(&[
            (
                pattern(ResourceType::Topic, "logs-", PatternType::Prefixed),
                entry("User:alice", Read, Allow),
            ),
            (
                pattern(ResourceType::Topic, "logs-secret", PatternType::Literal),
                entry("User:alice", Read, Deny),
            ),
        ]);
        let t = ResourceType::Topic;
        assert!(acls.authorize(&CONFIG, &alice(), Read, t, "logs-app"));
        assert!(acls.authorize(&CONFIG, &alice(), Describe, t, "logs-app"));
        assert!(!acls.authorize(&CONFIG, &alice(), Write, t, "logs-app"));
        assert!(!acls.authorize(&CONFIG, &alice(), Read, t, "logs-secret"));
        assert!(!acls.authorize(&CONFIG, &alice(), Read, t, "other"));
        let open = AuthorizerConfig {
            allow_everyone_if_no_acl_found: true,
            ..CONFIG
        };
        assert!(acls.authorize(&open, &alice(), Read, t, "other"));
        // A resource with ACLs for someone else is not "no ACL found".
        let bob = Requester {
            principal: "User:bob".to_string(),
            ..alice()
        };
        assert!(!acls.authorize(&open, &bob, Read, t, "logs-app"));
        let supers = AuthorizerConfig {
            super_users: AuthorizerConfig::parse_super_users(" User:bob ; User:x").unwrap(),
            ..CONFIG
        };
        assert!(acls.authorize(&supers, &bob, Read, t, "logs-secret"));
    }

    #[test]
    fn wildcards_of_resource_principal_host_and_operation() {
        use AclOperation::*;
        use PermissionType::*;
        let acls = table(&[(
            pattern(ResourceType::Group, WILDCARD, PatternType::Literal),
            AccessControlEntry {
                principal: WILDCARD_PRINCIPAL.to_string(),
                host: "127.0.0.1".to_string(),
                operation: All,
                permission: Allow,
            },
        )]);
        assert!(acls.authorize(&CONFIG, &alice(), Delete, ResourceType::Group, "g"));
        let remote = Requester {
            host: "10.0.0.1".to_string(),
            ..alice()
        };
        assert!(!acls.authorize(&CONFIG, &remote, Read, ResourceType::Group, "g"));
        assert_eq!(
            acls.authorized_operations(&CONFIG, &alice(), ResourceType::Group, "g"),
            Read.bit() | Describe.bit() | Delete.bit()
        );
    }

    #[test]
    fn by_resource_type_follows_kip_679() {
        use AclOperation::*;
        use PermissionType::*;
        let t = ResourceType::Topic;
        let literal = table(&[(
            pattern(t, "a", PatternType::Literal),
            entry("User:alice", Write, Allow),
        )]);
        assert!(literal.authorize_by_resource_type(&CONFIG, &alice(), Write, t));
        assert!(!literal.authorize_by_resource_type(&CONFIG, &alice(), Read, t));
        let denied_by_prefix = table(&[
            (
                pattern(t, "abc", PatternType::Literal),
                entry("User:alice", Write, Allow),
            ),
            (
                pattern(t, "ab", PatternType::Prefixed),
                entry("User:alice", Write, Deny),
            ),
        ]);
        assert!(!denied_by_prefix.authorize_by_resource_type(&CONFIG, &alice(), Write, t));
        let denied_all = table(&[
            (
                pattern(t, "abc", PatternType::Literal),
                entry("User:alice", Write, Allow),
            ),
            (
                pattern(t, WILDCARD, PatternType::Literal),
                entry("User:*", All, Deny),
            ),
        ]);
        assert!(!denied_all.authorize_by_resource_type(&CONFIG, &alice(), Write, t));
    }

    #[test]
    fn filters_match_as_kafka_filters_do() {
        let filter = |name: Option<&str>, pattern_type| AclBindingFilter {
            resource_type: ResourceType::Topic,
            name: name.map(str::to_string),
            pattern_type,
            principal: None,
            host: None,
            operation: AclOperation::Any,
            permission: PermissionType::Any,
        };
        let prefixed = pattern(ResourceType::Topic, "logs-", PatternType::Prefixed);
        let wildcard = pattern(ResourceType::Topic, WILDCARD, PatternType::Literal);
        let literal = pattern(ResourceType::Topic, "logs-a", PatternType::Literal);
        let matching = filter(Some("logs-a"), PatternType::Match);
        assert!(matching.matches_pattern(&prefixed));
        assert!(matching.matches_pattern(&wildcard));
        assert!(matching.matches_pattern(&literal));
        assert!(!filter(Some("logs-a"), PatternType::Any).matches_pattern(&prefixed));
        assert!(filter(Some("logs-a"), PatternType::Any).matches_pattern(&literal));
        assert!(filter(None, PatternType::Prefixed).matches_pattern(&prefixed));
        assert!(!filter(None, PatternType::Prefixed).matches_pattern(&literal));
        assert_eq!(
            matching.indefinite_pattern_field(),
            Some("Resource pattern type is MATCH.")
        );
        assert_eq!(
            filter(Some("x"), PatternType::Any).named_patterns().len(),
            2
        );
    }

    #[test]
    fn znode_bytes_round_trip() {
        let entries: BTreeSet<_> = [
            entry("User:alice", AclOperation::Read, PermissionType::Allow),
            entry(
                "User:CN=a,O=b",
                AclOperation::IdempotentWrite,
                PermissionType::Deny,
            ),
        ]
        .into_iter()
        .collect();
        let bytes = encode_acls(&entries);
        assert!(bytes.starts_with(b"{\"acls\":[{\"principal\":"));
        assert_eq!(decode_acls(&bytes).unwrap(), entries);
        // Kafka's own layout, as ZkData documents it (whitespace and key order free).
        let kafka = br#"{"version": 1, "acls": [ { "host":"host1", "permissionType": "Allow","operation": "DescribeConfigs","principal": "User:alice"}]}"#;
        let decoded = decode_acls(kafka).unwrap();
        assert_eq!(
            decoded.iter().next().unwrap().operation,
            AclOperation::DescribeConfigs
        );
        assert!(decode_acls(b"").unwrap().is_empty());
        assert!(decode_acls(b"{\"version\":2,\"acls\":[]}").is_err());
        for pattern in [
            pattern(ResourceType::TransactionalId, "t:x", PatternType::Literal),
            pattern(ResourceType::Topic, "logs-", PatternType::Prefixed),
        ] {
            let literal = pattern.pattern_type == PatternType::Literal;
            assert_eq!(
                decode_change(literal, &encode_change(&pattern)).unwrap(),
                pattern
            );
        }
        assert_eq!(
            encode_change(&pattern(
                ResourceType::TransactionalId,
                "t",
                PatternType::Literal
            )),
            b"TRANSACTIONAL_ID:t"
        );
        // 2.2's SimpleAclAuthorizer wrote the Scala name.
        assert_eq!(
            decode_change(true, b"Topic:x").unwrap(),
            pattern(ResourceType::Topic, "x", PatternType::Literal)
        );
        assert_eq!(
            resource_path(&pattern(
                ResourceType::Topic,
                "logs-",
                PatternType::Prefixed
            )),
            "/kafka-acl-extended/prefixed/Topic/logs-"
        );
    }

    /// Znode and notification data come from anyone who can write ZooKeeper: a
    /// mutated or random value is an error, never a panic.
    #[test]
    fn mutated_znode_data_never_panics() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let entries: BTreeSet<_> = [entry(
            "User:alice",
            AclOperation::Read,
            PermissionType::Allow,
        )]
        .into_iter()
        .collect();
        let seeds = [
            encode_acls(&entries),
            encode_change(&pattern(
                ResourceType::Topic,
                "logs-",
                PatternType::Prefixed,
            )),
            b"TOPIC:x".to_vec(),
        ];
        for round in 0..400 {
            let mut data = seeds[round % seeds.len()].clone();
            if round % 5 == 0 {
                data = (0..(next() % 64)).map(|_| next() as u8).collect();
            } else {
                for _ in 0..=(next() % 4) {
                    let at = (next() as usize) % data.len().max(1);
                    match next() % 3 {
                        0 if !data.is_empty() => data[at] = next() as u8,
                        1 => data.insert(at.min(data.len()), next() as u8),
                        _ if !data.is_empty() => {
                            data.remove(at);
                        }
                        _ => {}
                    }
                }
            }
            let _ = decode_acls(&data);
            let _ = decode_change(true, &data);
            let _ = decode_change(false, &data);
        }
    }

    #[test]
    fn host_addresses_print_as_java_prints_them() {
        assert_eq!(java_host_address("::1".parse().unwrap()), "0:0:0:0:0:0:0:1");
        assert_eq!(
            java_host_address("::ffff:10.1.2.3".parse().unwrap()),
            "10.1.2.3"
        );
        assert_eq!(java_host_address("127.0.0.1".parse().unwrap()), "127.0.0.1");
    }
}
