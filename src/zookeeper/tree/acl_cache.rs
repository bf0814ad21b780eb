//! ACL lists interned by index, as Apache's `ReferenceCountedACLCache`: each
//! znode stores a `long`, snapshots store the map once. Index -1 is the open ACL
//! (`world:anyone` with all permissions), used by the built-in nodes.

use std::collections::HashMap;
use std::sync::Arc;

use thiserror::Error;

use super::ids::IdMap;
use crate::zookeeper::jute::Acl;

/// Why a snapshot's ACL map cannot be loaded as it stands. Apache's writer
/// never produces these (it writes a map); a damaged or forged file can, and
/// taking one in would give nodes the wrong ACL or panic a later lookup.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AclMapError {
    #[error("ACL index {index} appears twice in the ACL map")]
    DuplicateIndex { index: i64 },
    #[error("ACL index {index} is reserved for the open ACL and cannot be redefined")]
    ReservedIndex { index: i64 },
}

/// The index Apache reserves for `OPEN_ACL_UNSAFE`.
pub const OPEN_UNSAFE_ACL_INDEX: i64 = -1;

#[derive(Debug, Clone, Default)]
pub struct AclCache {
    /// Shared, so the pipeline's pending changes take a list without copying.
    acl_by_index: IdMap<i64, Arc<[Acl]>>,
    index_by_acl: HashMap<Arc<[Acl]>, i64>,
    references_by_index: IdMap<i64, u64>,
    last_index: i64,
    open_unsafe: Arc<[Acl]>,
    /// The list `intern` met last, with its index (checked against
    /// `acl_by_index` before use: the index may have been forgotten).
    last_interned: Option<(Arc<[Acl]>, i64)>,
}

impl AclCache {
    pub fn new() -> Self {
        AclCache {
            open_unsafe: Acl::open_unsafe().into(),
            ..Default::default()
        }
    }

    /// `convertAcls`: the index for this list (interning it if new), with one
    /// more reference counted.
    pub fn intern(&mut self, acl: &[Acl]) -> i64 {
        // Most trees use one or two lists: comparing with the last one is
        // cheaper than hashing the list.
        if let Some((last, index)) = &self.last_interned {
            if **last == *acl && self.acl_by_index.contains_key(index) {
                let index = *index;
                self.add_usage(index);
                return index;
            }
        }
        let index = match self.index_by_acl.get(acl) {
            Some(index) => *index,
            None => {
                self.last_index += 1;
                let index = self.last_index;
                let shared: Arc<[Acl]> = acl.into();
                self.acl_by_index.insert(index, shared.clone());
                self.index_by_acl.insert(shared, index);
                index
            }
        };
        self.last_interned = Some((self.acl_by_index[&index].clone(), index));
        self.add_usage(index);
        index
    }

    /// `convertLong`. Every node's index is known (the tree checks indexes it
    /// loads, see `DataTree::load_snapshot_node`), so an unknown one here is a
    /// bug in keel, and panics.
    pub fn get(&self, index: i64) -> &[Acl] {
        self.get_shared(index)
    }

    /// Whether `index` names a list (the open ACL's -1 always does).
    pub fn contains(&self, index: i64) -> bool {
        index == OPEN_UNSAFE_ACL_INDEX || self.acl_by_index.contains_key(&index)
    }

    /// `get`, as a shared list.
    pub fn get_shared(&self, index: i64) -> &Arc<[Acl]> {
        if index == OPEN_UNSAFE_ACL_INDEX {
            return &self.open_unsafe;
        }
        self.acl_by_index
            .get(&index)
            .unwrap_or_else(|| panic!("no ACL for index {index}"))
    }

    pub fn add_usage(&mut self, index: i64) {
        if index == OPEN_UNSAFE_ACL_INDEX || !self.acl_by_index.contains_key(&index) {
            return;
        }
        *self.references_by_index.entry(index).or_insert(0) += 1;
    }

    /// Drops one reference; the list is forgotten with its last reference.
    pub fn remove_usage(&mut self, index: i64) {
        if index == OPEN_UNSAFE_ACL_INDEX || !self.acl_by_index.contains_key(&index) {
            return;
        }
        let references = self.references_by_index.entry(index).or_insert(0);
        *references = references.saturating_sub(1);
        if *references == 0 {
            self.forget(index);
        }
    }

    fn forget(&mut self, index: i64) {
        self.references_by_index.remove(&index);
        if let Some(acl) = self.acl_by_index.remove(&index) {
            // A snapshot may hold one list under two indexes: the list then
            // maps to one of them, and forgetting the other leaves it be.
            if self.index_by_acl.get(&*acl) == Some(&index) {
                self.index_by_acl.remove(&*acl);
            }
        }
    }

    /// Loads one entry of a snapshot's ACL map (with no references yet; the
    /// nodes that follow add them). An index seen before, or the open ACL's
    /// reserved -1, is refused.
    pub fn insert_from_snapshot(&mut self, index: i64, acl: Vec<Acl>) -> Result<(), AclMapError> {
        if index == OPEN_UNSAFE_ACL_INDEX {
            return Err(AclMapError::ReservedIndex { index });
        }
        if self.acl_by_index.contains_key(&index) {
            return Err(AclMapError::DuplicateIndex { index });
        }
        self.last_index = self.last_index.max(index);
        let shared: Arc<[Acl]> = acl.into();
        self.index_by_acl.entry(shared.clone()).or_insert(index);
        self.acl_by_index.insert(index, shared);
        self.references_by_index.insert(index, 0);
        Ok(())
    }

    /// After a snapshot is loaded: forget lists no node uses.
    pub fn purge_unused(&mut self) {
        let unused: Vec<i64> = self
            .references_by_index
            .iter()
            .filter(|(_, references)| **references == 0)
            .map(|(index, _)| *index)
            .collect();
        for index in unused {
            self.forget(index);
        }
    }

    /// The map a snapshot stores, by index.
    pub fn entries(&self) -> Vec<(i64, &[Acl])> {
        let mut entries: Vec<(i64, &[Acl])> = self
            .acl_by_index
            .iter()
            .map(|(index, acl)| (*index, &**acl))
            .collect();
        entries.sort_by_key(|(index, _)| *index);
        entries
    }

    pub fn len(&self) -> usize {
        self.acl_by_index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.acl_by_index.is_empty()
    }

    pub fn references(&self, index: i64) -> u64 {
        self.references_by_index.get(&index).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zookeeper::jute::Id;

    #[test]
    fn interning_counts_references_and_forgets_at_zero() {
        let mut cache = AclCache::new();
        let acl = vec![Acl::new(1, Id::new("digest", "a:b"))];
        let first = cache.intern(&acl);
        let second = cache.intern(&acl);
        assert_eq!(first, 1);
        assert_eq!(first, second);
        assert_eq!(cache.references(first), 2);
        assert_eq!(cache.intern(&Acl::open_unsafe()), 2);
        cache.remove_usage(first);
        assert_eq!(cache.get(first), acl.as_slice());
        cache.remove_usage(first);
        assert_eq!(cache.len(), 1);
        // Indexes are never reused.
        assert_eq!(cache.intern(&acl), 3);
    }

    #[test]
    fn open_unsafe_index_is_built_in() {
        let mut cache = AclCache::new();
        assert_eq!(
            cache.get(OPEN_UNSAFE_ACL_INDEX),
            Acl::open_unsafe().as_slice()
        );
        cache.add_usage(OPEN_UNSAFE_ACL_INDEX);
        cache.remove_usage(OPEN_UNSAFE_ACL_INDEX);
        assert!(cache.is_empty());
    }

    #[test]
    fn snapshot_load_then_purge() {
        let mut cache = AclCache::new();
        cache.insert_from_snapshot(4, Acl::read_unsafe()).unwrap();
        cache.insert_from_snapshot(7, Acl::open_unsafe()).unwrap();
        cache.add_usage(7);
        cache.purge_unused();
        assert_eq!(cache.entries(), vec![(7, Acl::open_unsafe().as_slice())]);
        assert_eq!(cache.intern(&Acl::creator_all()), 8);
    }

    #[test]
    fn a_snapshot_map_that_would_garble_acls_is_refused() {
        let mut cache = AclCache::new();
        let alice = vec![Acl::new(31, Id::new("digest", "alice:x"))];
        cache.insert_from_snapshot(1, alice.clone()).unwrap();
        // Redefining an index would hand later creates of `alice` the other
        // list, then panic once that index is forgotten.
        assert_eq!(
            cache.insert_from_snapshot(1, Acl::read_unsafe()),
            Err(AclMapError::DuplicateIndex { index: 1 })
        );
        // -1 is always the open ACL: a list stored under it would be served
        // as open to anyone.
        assert_eq!(
            cache.insert_from_snapshot(-1, alice.clone()),
            Err(AclMapError::ReservedIndex { index: -1 })
        );
        assert_eq!(cache.get(1), alice.as_slice());
        assert!(cache.contains(1) && cache.contains(-1) && !cache.contains(2));
    }

    #[test]
    fn one_list_under_two_snapshot_indexes_survives_forgetting_either() {
        let mut cache = AclCache::new();
        let alice = vec![Acl::new(31, Id::new("digest", "alice:x"))];
        cache.insert_from_snapshot(3, alice.clone()).unwrap();
        cache.insert_from_snapshot(5, alice.clone()).unwrap();
        cache.add_usage(3);
        cache.add_usage(5);
        // Forgetting the index the list does not map to keeps the mapping.
        cache.remove_usage(5);
        assert_eq!(cache.intern(&alice), 3);
        cache.remove_usage(3);
        cache.remove_usage(3);
        assert!(cache.is_empty());
        // And with every index gone, the list is interned afresh.
        assert_eq!(cache.intern(&alice), 6);
        assert_eq!(cache.get(6), alice.as_slice());
    }
}
