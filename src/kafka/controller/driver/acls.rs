//! Kafka's ACLs in ZooKeeper, mirrored on the driver task for the authorizer (only
//! when `authorizer.class.name` is set, as only Apache brokers with an authorizer
//! read them): the resource znodes under `/kafka-acl` and
//! `/kafka-acl-extended/prefixed` are read in full at start and after every new
//! session, then one resource at a time as `/kafka-acl-changes` and
//! `/kafka-acl-extended-changes` notifications name it (AclAuthorizer's
//! `ZkNodeChangeNotificationListener`). Old notifications are purged after
//! Kafka's 15 minutes by whichever broker sees them.

use std::sync::Arc;

use zookeeper_client as zk;

use super::{session, Driver, WatchKey};
use crate::kafka::controller::session::retry;
use crate::kafka::controller::ControllerError;
use crate::kafka::security::acl::{self, PatternType, ResourcePattern, VersionedAcls};

/// The two notification stores: literal patterns, then the extended (prefixed) ones.
const CHANGE_STORES: [(bool, &str); 2] = [
    (true, acl::LITERAL_CHANGES_PATH),
    (false, acl::EXTENDED_CHANGES_PATH),
];

impl Driver {
    pub(super) fn acls_enabled(&self) -> bool {
        self.shared.settings.acls_enabled
    }

    /// `KafkaZkClient.createAclPaths`: the stores, one child per resource type,
    /// and the two notification roots.
    pub(super) async fn create_acl_paths(&mut self) -> Result<(), ControllerError> {
        for store in [acl::LITERAL_ACL_PATH, acl::PREFIXED_ACL_PATH] {
            for resource_type in acl::STORED_RESOURCE_TYPES {
                session::ensure_path(&self.client, &format!("{store}/{}", resource_type.name()))
                    .await?;
            }
        }
        for (_, path) in CHANGE_STORES {
            session::ensure_path(&self.client, path).await?;
        }
        Ok(())
    }

    /// Reads every resource's ACLs afresh, then arms the notification watches.
    pub(super) async fn reload_all_acls(&mut self) -> Result<(), ControllerError> {
        if !self.acls_enabled() {
            return Ok(());
        }
        let mut table = acl::AclTable::default();
        for (pattern_type, store) in [
            (PatternType::Literal, acl::LITERAL_ACL_PATH),
            (PatternType::Prefixed, acl::PREFIXED_ACL_PATH),
        ] {
            for type_name in self.list(store).await? {
                let resource_type = acl::ResourceType::from_name(&type_name);
                if !acl::STORED_RESOURCE_TYPES.contains(&resource_type) {
                    tracing::warn!(path = store, type_name, "Ignoring unknown ResourceType");
                    continue;
                }
                for name in self.list(&format!("{store}/{type_name}")).await? {
                    let pattern = ResourcePattern {
                        resource_type,
                        name,
                        pattern_type,
                    };
                    let acls = self.read_resource_acls(&pattern).await?;
                    table.set(pattern, acls);
                }
            }
        }
        self.cache.acls = Arc::new(table);
        // Everything is read fresh, so only notifications written from now on matter.
        self.acl_change_last = [-1, -1];
        for (literal, _) in CHANGE_STORES {
            self.process_acl_changes(literal).await?;
        }
        Ok(())
    }

    async fn list(&mut self, path: &str) -> Result<Vec<String>, ControllerError> {
        let client = self.client.clone();
        match retry("list", path, || client.list_children(path)).await {
            Ok(children) => Ok(children),
            Err(zk::Error::NoNode) => Ok(Vec::new()),
            Err(source) => Err(session::zk_error("list", path, source)),
        }
    }

    /// One resource's znode; unreadable data counts as no ACLs, with a warning
    /// naming the znode (Kafka would fail the whole load).
    async fn read_resource_acls(
        &mut self,
        pattern: &ResourcePattern,
    ) -> Result<VersionedAcls, ControllerError> {
        let path = acl::resource_path(pattern);
        Ok(match session::get(&self.client, &path).await? {
            None => VersionedAcls::default(),
            Some((data, stat)) => match acl::decode_acls(&data) {
                Ok(entries) => VersionedAcls {
                    entries,
                    zk_version: stat.version,
                },
                Err(error) => {
                    tracing::warn!(path, %error, "ignoring unreadable ACLs");
                    VersionedAcls::default()
                }
            },
        })
    }

    /// Applies the notifications of one store newer than the last one seen.
    pub(super) async fn process_acl_changes(
        &mut self,
        literal: bool,
    ) -> Result<(), ControllerError> {
        if !self.acls_enabled() {
            return Ok(());
        }
        let (key, path) = if literal {
            (WatchKey::AclChanges, acl::LITERAL_CHANGES_PATH)
        } else {
            (WatchKey::ExtendedAclChanges, acl::EXTENDED_CHANGES_PATH)
        };
        let slot = usize::from(!literal);
        let children = self.children_watched(key, path).await?.unwrap_or_default();
        let mut sequences: Vec<(i64, String)> = children
            .into_iter()
            .filter_map(|child| {
                let sequence = child.strip_prefix(acl::CHANGE_PREFIX)?.parse().ok()?;
                Some((sequence, child))
            })
            .collect();
        sequences.sort();
        for (sequence, child) in sequences {
            if sequence <= self.acl_change_last[slot] {
                continue;
            }
            let child_path = format!("{path}/{child}");
            if let Some((data, _)) = session::get(&self.client, &child_path).await? {
                match acl::decode_change(literal, &data) {
                    Ok(pattern) => {
                        let acls = self.read_resource_acls(&pattern).await?;
                        tracing::info!(resource = %pattern, acls = acls.entries.len(), zk_version = acls.zk_version, "Processing Acl change notification");
                        Arc::make_mut(&mut self.cache.acls).set(pattern, acls);
                    }
                    Err(error) => {
                        tracing::warn!(%error, path = child_path, "ignoring an unreadable ACL change notification")
                    }
                }
            }
            self.acl_change_last[slot] = sequence;
        }
        Ok(())
    }

    /// Deletes ACL change notifications older than Kafka's 15 minutes.
    pub(super) async fn purge_acl_changes(&mut self) {
        if !self.acls_enabled() {
            return;
        }
        for (_, path) in CHANGE_STORES {
            self.purge_notifications(path).await;
        }
    }
}
