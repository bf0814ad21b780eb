//! Nodes the server should delete on its own (Apache's `ContainerManager`):
//! empty containers that once had children, and expired TTL nodes. The server
//! deletes each with a deleteContainer (20) request, which re-checks emptiness.

use super::data_tree::DataTree;
use super::ephemeral::{ttl_of, EphemeralType};

impl DataTree {
    /// Paths to delete now. `max_never_used_interval_ms` is Apache's
    /// `znode.container.maxNeverUsedIntervalMs` (0: a container that never had a
    /// child is kept forever).
    pub fn cleanup_candidates(&self, now_ms: i64, max_never_used_interval_ms: i64) -> Vec<String> {
        let mut candidates = Vec::new();
        for path in &self.containers {
            let Some(node) = self.node(path) else {
                continue;
            };
            if !node.children.is_empty() {
                continue;
            }
            // The persisted cversion counts child creations: > 0 means the
            // container has been used.
            let elapsed_ms = now_ms - node.stat.mtime;
            if node.stat.cversion > 0
                || (max_never_used_interval_ms != 0 && elapsed_ms > max_never_used_interval_ms)
            {
                candidates.push(path.clone());
            }
        }
        for path in &self.ttls {
            let Some(node) = self.node(path) else {
                continue;
            };
            if !node.children.is_empty()
                || self.ephemeral_type(node.stat.ephemeral_owner) != EphemeralType::Ttl
            {
                continue;
            }
            let ttl_ms = ttl_of(node.stat.ephemeral_owner);
            if ttl_ms != 0 && now_ms - node.stat.mtime > ttl_ms {
                candidates.push(path.clone());
            }
        }
        candidates
    }
}
