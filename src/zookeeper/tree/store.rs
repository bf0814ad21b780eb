//! `NodeStore`: the znodes by path, compact. A million znodes is a normal
//! ZooKeeper, so the per-node overhead matters more than anything else here.
//!
//! Nodes live in a slab (`Vec<Option<Slot>>`, vacant slots reused), each slot
//! holding the node and its path as an `Arc<str>` that the parent's children
//! set shares (so a child's name costs no allocation of its own). The index is
//! a hash table of 4-byte slot numbers keyed by the hash of the path, compared
//! against the slot's path: a `HashMap<String, Znode>` would keep every node
//! (plus the table's slack, up to half of it empty) inline in the table.

use std::hash::BuildHasher;
use std::sync::{Arc, OnceLock};

use hashbrown::HashTable;

use super::node::Znode;

#[derive(Debug, Clone)]
struct Slot {
    path: Arc<str>,
    node: Znode,
}

/// The hash of a path, for the tree's index and the pipeline's pending
/// changes alike (one seeded foldhash per process, so a path hashed once
/// serves both; seeded so clients cannot aim paths at one bucket, several
/// times cheaper than SipHash on short paths).
pub fn path_hash(path: &str) -> u64 {
    static HASHER: OnceLock<foldhash::quality::RandomState> = OnceLock::new();
    HASHER
        .get_or_init(foldhash::quality::RandomState::default)
        .hash_one(path)
}

#[derive(Debug, Clone, Default)]
pub struct NodeStore {
    slots: Vec<Option<Slot>>,
    vacant: Vec<u32>,
    index: HashTable<u32>,
    len: usize,
}

impl NodeStore {
    pub fn new() -> NodeStore {
        NodeStore::default()
    }

    fn slot(&self, id: u32) -> &Slot {
        self.slots[id as usize]
            .as_ref()
            .expect("the index names occupied slots")
    }

    fn find(&self, path: &str) -> Option<u32> {
        self.find_hashed(path_hash(path), path)
    }

    /// `find` with `path_hash(path)` already at hand.
    fn find_hashed(&self, hash: u64, path: &str) -> Option<u32> {
        self.index
            .find(hash, |&id| &*self.slot(id).path == path)
            .copied()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn contains_key(&self, path: &str) -> bool {
        self.find(path).is_some()
    }

    pub fn get(&self, path: &str) -> Option<&Znode> {
        self.find(path).map(|id| &self.slot(id).node)
    }

    /// `get` with `path_hash(path)` already at hand.
    pub fn get_hashed(&self, hash: u64, path: &str) -> Option<&Znode> {
        self.find_hashed(hash, path).map(|id| &self.slot(id).node)
    }

    pub fn get_mut(&mut self, path: &str) -> Option<&mut Znode> {
        let id = self.find(path)?;
        self.slots[id as usize].as_mut().map(|slot| &mut slot.node)
    }

    /// The shared path of a stored node (what a parent's children set holds).
    pub fn shared_path(&self, path: &str) -> Option<Arc<str>> {
        self.find(path).map(|id| self.slot(id).path.clone())
    }

    /// Where the node at `path` is stored; valid until that node is removed.
    pub fn find_id(&self, path: &str) -> Option<u32> {
        self.find(path)
    }

    /// The node stored at `id` (from `find_id` or `insert_new`).
    pub fn by_id(&self, id: u32) -> &Znode {
        &self.slot(id).node
    }

    pub fn by_id_mut(&mut self, id: u32) -> &mut Znode {
        &mut self.slots[id as usize]
            .as_mut()
            .expect("the id of a stored node")
            .node
    }

    /// Stores `node` at `path` unless a node is there already (then the error
    /// is its id, with `node` handed back): one probe of the index either way.
    /// Returns the new node's id and its path as stored, for the parent's
    /// children set.
    pub fn insert_new(&mut self, path: &str, node: Znode) -> Result<(u32, Arc<str>), (u32, Znode)> {
        let hash = path_hash(path);
        let slots = &self.slots;
        let entry = self.index.entry(
            hash,
            |&id| &*slots[id as usize].as_ref().expect("occupied").path == path,
            |&id| path_hash(&slots[id as usize].as_ref().expect("occupied").path),
        );
        let vacant = match entry {
            hashbrown::hash_table::Entry::Occupied(occupied) => {
                return Err((*occupied.get(), node))
            }
            hashbrown::hash_table::Entry::Vacant(vacant) => vacant,
        };
        let shared: Arc<str> = Arc::from(path);
        let slot = Some(Slot {
            path: shared.clone(),
            node,
        });
        let id = match self.vacant.pop() {
            Some(id) => {
                self.slots[id as usize] = slot;
                id
            }
            None => {
                let id = u32::try_from(self.slots.len()).expect("fewer than 2^32 znodes");
                self.slots.push(slot);
                id
            }
        };
        vacant.insert(id);
        self.len += 1;
        Ok((id, shared))
    }

    /// Stores `node` at `path`, replacing any node there; returns the path as
    /// stored, for the parent's children set.
    pub fn insert(&mut self, path: &str, node: Znode) -> Arc<str> {
        match self.insert_new(path, node) {
            Ok((_, shared)) => shared,
            Err((id, node)) => {
                let slot = self.slots[id as usize].as_mut().expect("occupied");
                slot.node = node;
                slot.path.clone()
            }
        }
    }

    pub fn remove(&mut self, path: &str) -> Option<Znode> {
        let hash = path_hash(path);
        let slots = &self.slots;
        let entry = self
            .index
            .find_entry(hash, |&id| {
                &*slots[id as usize].as_ref().expect("occupied").path == path
            })
            .ok()?;
        let (id, _) = entry.remove();
        let slot = self.slots[id as usize].take().expect("occupied");
        self.vacant.push(id);
        self.len -= 1;
        if self.len == 0 {
            self.clear();
        }
        Some(slot.node)
    }

    pub fn clear(&mut self) {
        self.slots.clear();
        self.vacant.clear();
        self.index.clear();
        self.len = 0;
    }

    /// Every node with its path, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Znode)> {
        self.slots
            .iter()
            .flatten()
            .map(|slot| (&*slot.path, &slot.node))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(path, _)| path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove_and_reuse() {
        let mut store = NodeStore::new();
        let a = store.insert("/a", Znode::default());
        assert_eq!(&*a, "/a");
        store.insert("/b", Znode::default());
        assert_eq!(store.len(), 2);
        assert!(store.contains_key("/a"));
        assert!(store.get("/c").is_none());
        store.get_mut("/a").unwrap().acl = 7;
        assert_eq!(store.get("/a").unwrap().acl, 7);
        // Replacing keeps one entry.
        store.insert("/a", Znode::default());
        assert_eq!(store.len(), 2);
        assert_eq!(store.get("/a").unwrap().acl, 0);
        assert!(store.remove("/a").is_some());
        assert!(store.remove("/a").is_none());
        assert!(!store.contains_key("/a"));
        // The vacant slot is reused.
        store.insert("/c", Znode::default());
        assert_eq!(store.slots.len(), 2);
        let mut keys: Vec<&str> = store.keys().collect();
        keys.sort();
        assert_eq!(keys, ["/b", "/c"]);
        let clone = store.clone();
        assert!(clone.contains_key("/b") && clone.contains_key("/c"));
    }

    #[test]
    fn many_nodes() {
        let mut store = NodeStore::new();
        for i in 0..10_000 {
            store.insert(&format!("/n{i}"), Znode::default());
        }
        for i in (0..10_000).step_by(2) {
            assert!(store.remove(&format!("/n{i}")).is_some());
        }
        assert_eq!(store.len(), 5_000);
        for i in 0..10_000 {
            assert_eq!(store.contains_key(&format!("/n{i}")), i % 2 == 1);
        }
    }
}
