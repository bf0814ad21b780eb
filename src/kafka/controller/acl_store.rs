//! CreateAcls and DeleteAcls written to ZooKeeper as AclAuthorizer writes them: a
//! resource's whole ACL set in its znode, changed only against the version read
//! (retried when another broker or `kafka-acls --authorizer-properties` got there
//! first), the znode deleted when its last ACL goes, and a change notification so
//! every broker re-reads that resource. Writes from this broker are serialized, as
//! Kafka's authorizer lock serializes them, and a call returns once this broker's
//! own picture shows the change (so a DescribeAcls right after sees it).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kafka_protocol::ResponseError;
use zookeeper_client as zk;

use super::admin::error;
use super::session::{self, retry};
use super::{zk_failure, ZkMetadataStore};
use crate::kafka::metadata::MetadataError;
use crate::kafka::security::acl::{
    self, AccessControlEntry, AclBinding, AclBindingFilter, ResourcePattern,
};

/// Kafka's `maxUpdateRetries`.
const UPDATE_ROUNDS_MAX: u32 = 10;
/// How long a write waits for this broker's picture to catch up with it.
const OWN_PICTURE_WAIT_MS: u64 = 10_000;

pub use crate::kafka::metadata::DeletedAcl as DeletedBinding;

impl ZkMetadataStore {
    /// Adds the bindings, one result per binding in request order.
    pub(super) async fn create_acls_inner(
        &self,
        bindings: Vec<AclBinding>,
    ) -> Vec<Result<(), MetadataError>> {
        let _writing = self.acl_writes.lock().await;
        let mut by_pattern: BTreeMap<ResourcePattern, Vec<usize>> = BTreeMap::new();
        for (index, binding) in bindings.iter().enumerate() {
            by_pattern
                .entry(binding.pattern.clone())
                .or_default()
                .push(index);
        }
        let mut results: Vec<Result<(), MetadataError>> = vec![Ok(()); bindings.len()];
        for (pattern, indexes) in by_pattern {
            let added: Vec<AccessControlEntry> = indexes
                .iter()
                .map(|index| bindings[*index].entry.clone())
                .collect();
            let outcome = self
                .update_resource_acls(&pattern, |current| {
                    let mut next = current.clone();
                    next.extend(added.iter().cloned());
                    next
                })
                .await;
            if let Err(error) = outcome {
                for index in indexes {
                    results[index] = Err(error.clone());
                }
            }
        }
        results
    }

    /// Removes what each filter matches; per filter, the bindings it removed (a
    /// binding two filters match counts for the first).
    pub(super) async fn delete_acls_inner(
        &self,
        filters: Vec<AclBindingFilter>,
    ) -> Vec<Vec<DeletedBinding>> {
        let _writing = self.acl_writes.lock().await;
        let picture = self.metadata.borrow().acls.clone();
        let mut patterns: BTreeSet<ResourcePattern> = picture.patterns().cloned().collect();
        for filter in &filters {
            patterns.extend(filter.named_patterns());
        }
        let mut results: Vec<Vec<DeletedBinding>> = vec![Vec::new(); filters.len()];
        for pattern in patterns {
            let matching: Vec<usize> = (0..filters.len())
                .filter(|index| filters[*index].matches_pattern(&pattern))
                .collect();
            if matching.is_empty() {
                continue;
            }
            let mut removed: BTreeMap<AccessControlEntry, usize> = BTreeMap::new();
            let outcome = self
                .update_resource_acls(&pattern, |current| {
                    removed.clear();
                    let mut next = current.clone();
                    for entry in current {
                        if let Some(index) = matching
                            .iter()
                            .find(|index| filters[**index].matches_entry(entry))
                        {
                            removed.insert(entry.clone(), *index);
                            next.remove(entry);
                        }
                    }
                    next
                })
                .await;
            for (entry, index) in removed {
                results[index].push((
                    AclBinding {
                        pattern: pattern.clone(),
                        entry,
                    },
                    outcome.as_ref().err().cloned(),
                ));
            }
        }
        results
    }

    /// `AclAuthorizer.updateResourceAcls`: read, change, write against the version
    /// read; on a conflict read again. A real change gets a notification.
    async fn update_resource_acls<F>(
        &self,
        pattern: &ResourcePattern,
        mut change: F,
    ) -> Result<(), MetadataError>
    where
        F: FnMut(&BTreeSet<AccessControlEntry>) -> BTreeSet<AccessControlEntry>,
    {
        let client = self.shared.client()?;
        let path = acl::resource_path(pattern);
        for _ in 0..=UPDATE_ROUNDS_MAX {
            let (current, version) = match session::get(&client, &path)
                .await
                .map_err(super::into_metadata_error)?
            {
                Some((data, stat)) => (
                    acl::decode_acls(&data).map_err(|message| {
                        error(
                            ResponseError::UnknownServerError,
                            format!("unreadable ACLs in {path}: {message}"),
                        )
                    })?,
                    Some(stat.version),
                ),
                None => (BTreeSet::new(), None),
            };
            let next = change(&current);
            let written = match (next.is_empty(), version) {
                (true, None) => Ok(()),
                (true, Some(version)) => client.delete(&path, Some(version)).await,
                (false, Some(version)) => client
                    .set_data(&path, &acl::encode_acls(&next), Some(version))
                    .await
                    .map(drop),
                (false, None) => {
                    let options = session::persistent(&path);
                    client
                        .create(&path, &acl::encode_acls(&next), &options)
                        .await
                        .map(drop)
                }
            };
            match written {
                Ok(()) => {
                    if next != current {
                        tracing::info!(resource = %pattern, acls = next.len(), "Updated ACLs");
                        self.notify_acl_change(&client, pattern).await?;
                        self.wait_for_own_picture(pattern, &next).await;
                    }
                    return Ok(());
                }
                Err(zk::Error::BadVersion | zk::Error::NodeExists | zk::Error::NoNode) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(source) => return Err(zk_failure("write", &path, source)),
            }
        }
        Err(error(
            ResponseError::UnknownServerError,
            format!(
                "Failed to update ACLs for {pattern} after trying a maximum of {UPDATE_ROUNDS_MAX} times"
            ),
        ))
    }

    async fn notify_acl_change(
        &self,
        client: &zk::Client,
        pattern: &ResourcePattern,
    ) -> Result<(), MetadataError> {
        let prefix = format!(
            "{}/{}",
            acl::changes_path(pattern.pattern_type),
            acl::CHANGE_PREFIX
        );
        let data = acl::encode_change(pattern);
        let options = session::persistent_sequential(&prefix);
        retry("create", &prefix, || {
            client.create(&prefix, &data, &options)
        })
        .await
        .map(drop)
        .map_err(|source| zk_failure("create", &prefix, source))
    }

    /// Waits (bounded) until the driver has applied this broker's own write.
    async fn wait_for_own_picture(
        &self,
        pattern: &ResourcePattern,
        entries: &BTreeSet<AccessControlEntry>,
    ) {
        let mut pictures = self.metadata.clone();
        let caught_up = pictures.wait_for(|picture| {
            picture
                .acls
                .get(pattern)
                .map_or(entries.is_empty(), |acls| acls.entries == *entries)
        });
        if tokio::time::timeout(Duration::from_millis(OWN_PICTURE_WAIT_MS), caught_up)
            .await
            .is_err()
        {
            tracing::warn!(resource = %pattern, "ACL change written but not yet seen through its notification");
        }
    }
}
