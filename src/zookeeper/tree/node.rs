//! One znode: data, ACL index, the persisted Stat and the child names. The
//! client's Stat is derived from it the way Apache's `DataNode.copyStat` does.

use std::sync::Arc;

use super::ephemeral::EphemeralType;
use crate::zookeeper::jute::{Stat, StatPersisted};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Znode {
    /// `None` when the node was created with null data; it is returned as null.
    /// A boxed slice: no spare capacity, and 8 bytes less than a `Vec`.
    pub data: Option<Box<[u8]>>,
    /// Index into the tree's `AclCache`.
    pub acl: i64,
    pub stat: StatPersisted,
    /// Sorted, so replies and snapshots are deterministic (Apache's order is a
    /// HashSet's, which no client may rely on).
    pub children: Children,
    /// This node's share of the tree digest (`tree_digest::node_digest` of its
    /// path, data and Stat), kept by the tree as Apache's `DataNode` caches
    /// it: a Stat change then costs a CRC of 60 bytes, not of the data.
    pub(super) digest: u32,
}

impl Znode {
    pub fn new(data: Option<Vec<u8>>, acl: i64, stat: StatPersisted) -> Self {
        Znode {
            data: data.map(Vec::into_boxed_slice),
            acl,
            stat,
            children: Children::default(),
            digest: 0,
        }
    }

    /// This node's share of the tree digest (0 until the tree stores it).
    pub fn digest(&self) -> u32 {
        self.digest
    }

    /// The data as the protocol carries it.
    pub fn data_vec(&self) -> Option<Vec<u8>> {
        self.data.as_deref().map(<[u8]>::to_vec)
    }

    pub fn data_length(&self) -> i32 {
        self.data.as_ref().map_or(0, |data| data.len() as i32)
    }

    /// The Stat a client sees. The persisted cversion counts child creations
    /// only; clients see creations plus deletions, which is `2 * creations -
    /// children still present`. Container and TTL owners are hidden (0).
    pub fn client_stat(&self, extended_types_enabled: bool) -> Stat {
        let num_children = self.children.len() as i32;
        let owner = self.stat.ephemeral_owner;
        Stat {
            czxid: self.stat.czxid,
            mzxid: self.stat.mzxid,
            ctime: self.stat.ctime,
            mtime: self.stat.mtime,
            version: self.stat.version,
            cversion: self
                .stat
                .cversion
                .wrapping_mul(2)
                .wrapping_sub(num_children),
            aversion: self.stat.aversion,
            ephemeral_owner: match EphemeralType::of(owner, extended_types_enabled) {
                EphemeralType::Normal => owner,
                _ => 0,
            },
            data_length: self.data_length(),
            num_children,
            pzxid: self.stat.pzxid,
        }
    }
}

/// A child, by the full path its node is stored under (shared with the tree's
/// index, so a name costs no allocation of its own). Within one parent every
/// child path is "<parent>/<name>", so ordering full paths orders names, and
/// no comparison has to look for the last '/'.
#[derive(Debug, Clone)]
struct ChildName(Arc<str>);

impl ChildName {
    fn name(&self) -> &str {
        let path: &str = &self.0;
        path.rfind('/').map_or(path, |slash| &path[slash + 1..])
    }
}

impl PartialEq for ChildName {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for ChildName {}

impl PartialOrd for ChildName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ChildName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

/// A node's children, in name order. Most nodes are leaves: they pay one
/// pointer for an empty set. Children are named by their full paths.
///
/// Sorted chunks of at most `CHUNK_CHILDREN` paths rather than a B-tree: a
/// child costs its 16-byte pointer and little more (a `BTreeSet` leaf is half
/// empty after in-order inserts, the usual way children come), and inserting
/// or removing moves at most one chunk.
#[derive(Debug, Clone, Default)]
pub struct Children(Option<Box<ChildChunks>>);

#[derive(Debug, Clone, Default)]
struct ChildChunks {
    /// Non-empty, sorted, and every path of a chunk sorts before the next
    /// chunk's.
    chunks: Vec<Vec<ChildName>>,
    len: usize,
}

const CHUNK_CHILDREN: usize = 64;

impl ChildChunks {
    /// The chunk where `path` is or would go: the first whose last path is not
    /// below it (the last chunk for a path beyond them all).
    fn chunk_for(&self, path: &str) -> usize {
        let index = self
            .chunks
            .partition_point(|chunk| chunk.last().is_some_and(|last| &*last.0 < path));
        index.min(self.chunks.len() - 1)
    }

    fn insert(&mut self, child: ChildName) {
        let index = self.chunk_for(&child.0);
        let last_chunk = index + 1 == self.chunks.len();
        let chunk = &mut self.chunks[index];
        let Err(position) = chunk.binary_search(&child) else {
            return;
        };
        if chunk.len() < CHUNK_CHILDREN {
            chunk.insert(position, child);
        } else if position == chunk.len() && last_chunk {
            // Appending past the end (children created in name order): a new
            // chunk, leaving this one full.
            let mut next = Vec::with_capacity(4);
            next.push(child);
            self.chunks.push(next);
        } else {
            let mut right = Vec::with_capacity(CHUNK_CHILDREN);
            right.extend(chunk.drain(CHUNK_CHILDREN / 2..));
            if position <= chunk.len() {
                chunk.insert(position, child);
            } else {
                right.insert(position - chunk.len(), child);
            }
            self.chunks.insert(index + 1, right);
        }
        self.len += 1;
    }

    fn remove(&mut self, path: &str) -> bool {
        let index = self.chunk_for(path);
        let chunk = &mut self.chunks[index];
        let Ok(position) = chunk.binary_search_by(|child| (*child.0).cmp(path)) else {
            return false;
        };
        chunk.remove(position);
        if chunk.is_empty() {
            self.chunks.remove(index);
        } else if chunk.capacity() > 2 * chunk.len() + 4 {
            chunk.shrink_to(chunk.len() + chunk.len() / 2);
        }
        self.len -= 1;
        true
    }

    fn contains(&self, path: &str) -> bool {
        self.chunks[self.chunk_for(path)]
            .binary_search_by(|child| (*child.0).cmp(path))
            .is_ok()
    }

    /// The children after `last` (all when `None`), in order.
    fn after(&self, last: Option<&str>) -> impl Iterator<Item = &ChildName> {
        let (index, position) = match last {
            None => (0, 0),
            Some(last) => {
                let index = self.chunk_for(last);
                let position = self.chunks[index].partition_point(|child| &*child.0 <= last);
                (index, position)
            }
        };
        self.chunks[index..]
            .iter()
            .enumerate()
            .flat_map(move |(offset, chunk)| {
                let start = if offset == 0 { position } else { 0 };
                chunk[start..].iter()
            })
    }
}

impl Children {
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |set| set.len)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The names, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .flat_map(|set| set.after(None).map(ChildName::name))
    }

    /// Whether the child at `path` is listed.
    pub fn contains(&self, path: &str) -> bool {
        self.0.as_ref().is_some_and(|set| set.contains(path))
    }

    /// The children's full paths after `last` (all of them when `None`), in
    /// name order.
    pub fn paths_after<'a>(&'a self, last: Option<&str>) -> impl Iterator<Item = &'a str> {
        let children = self.0.as_ref().map(|set| set.after(last));
        children.into_iter().flatten().map(|child| &*child.0)
    }

    /// Adds the child stored at `path`.
    pub fn insert(&mut self, path: Arc<str>) {
        match self.0.as_mut() {
            Some(set) => set.insert(ChildName(path)),
            None => {
                self.0 = Some(Box::new(ChildChunks {
                    chunks: vec![vec![ChildName(path)]],
                    len: 1,
                }))
            }
        }
    }

    /// Removes the child stored at `path`.
    pub fn remove(&mut self, path: &str) {
        if let Some(set) = self.0.as_mut() {
            if set.remove(path) && set.len == 0 {
                self.0 = None;
            }
        }
    }

    pub fn clear(&mut self) {
        self.0 = None;
    }
}

impl PartialEq for Children {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Children {}

/// `DataTree.createStat`: a new node's persisted Stat.
pub fn new_stat(zxid: i64, time: i64, ephemeral_owner: i64) -> StatPersisted {
    StatPersisted {
        czxid: zxid,
        mzxid: zxid,
        ctime: time,
        mtime: time,
        version: 0,
        cversion: 0,
        aversion: 0,
        ephemeral_owner,
        pzxid: zxid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zookeeper::tree::ephemeral::{ttl_owner, CONTAINER_OWNER};

    #[test]
    fn client_cversion_counts_creates_and_deletes() {
        let mut node = Znode::new(Some(b"abc".to_vec()), -1, new_stat(5, 10, 0));
        // Three children created, one of them deleted since.
        node.stat.cversion = 3;
        node.children.insert("/p/a".into());
        node.children.insert("/p/b".into());
        let stat = node.client_stat(false);
        assert_eq!(stat.cversion, 4);
        assert_eq!(stat.num_children, 2);
        assert_eq!(stat.data_length, 3);
        assert_eq!((stat.czxid, stat.mzxid, stat.pzxid), (5, 5, 5));
        assert_eq!((stat.ctime, stat.mtime), (10, 10));
    }

    #[test]
    fn children_are_ordered_by_name() {
        let mut children = Children::default();
        assert!(children.is_empty());
        children.insert("/x/b".into());
        children.insert("/x/a".into());
        children.insert("/x/c".into());
        assert_eq!(children.iter().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(children.contains("/x/b"));
        assert!(!children.contains("b"));
        assert_eq!(
            children.paths_after(None).collect::<Vec<_>>(),
            ["/x/a", "/x/b", "/x/c"]
        );
        assert_eq!(
            children.paths_after(Some("/x/a")).collect::<Vec<_>>(),
            ["/x/b", "/x/c"]
        );
        assert_eq!(children.paths_after(Some("/x/aa")).next(), Some("/x/b"));
        assert_eq!(children.paths_after(Some("/x/c")).next(), None);
        children.remove("/x/b");
        children.remove("/x/a");
        children.remove("/x/c");
        assert!(children.is_empty());
        assert_eq!(children, Children::default());
    }

    #[test]
    fn chunked_children_agree_with_a_sorted_set() {
        // xorshift, deterministic.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut children = Children::default();
        let mut model = std::collections::BTreeSet::new();
        for round in 0..20_000 {
            let name = format!("/p/n{:05}", next() % 3000);
            if round % 3 == 2 {
                children.remove(&name);
                model.remove(&name);
            } else if round % 500 < 250 {
                children.insert(name.clone().into());
                model.insert(name);
            } else {
                // In-order appends, the common case.
                let name = format!("/p/z{round:06}");
                children.insert(name.clone().into());
                model.insert(name);
            }
            assert_eq!(children.len(), model.len());
        }
        let paths: Vec<&str> = children.paths_after(None).collect();
        let expected: Vec<&str> = model.iter().map(String::as_str).collect();
        assert_eq!(paths, expected);
        for probe in ["/p/n00000", "/p/n01500", "/p/n02999", "/p/z", "/p/zz"] {
            let after: Vec<&str> = children.paths_after(Some(probe)).collect();
            let expected: Vec<&str> = model
                .range::<str, _>((std::ops::Bound::Excluded(probe), std::ops::Bound::Unbounded))
                .map(String::as_str)
                .collect();
            assert_eq!(after, expected, "after {probe}");
            assert_eq!(children.contains(probe), model.contains(probe));
        }
        for name in model.iter() {
            children.remove(name);
        }
        assert!(children.is_empty());
    }

    #[test]
    fn container_and_ttl_owners_are_hidden() {
        let container = Znode::new(None, -1, new_stat(1, 1, CONTAINER_OWNER));
        assert_eq!(container.client_stat(false).ephemeral_owner, 0);
        assert_eq!(container.client_stat(false).data_length, 0);
        let ttl = Znode::new(None, -1, new_stat(1, 1, ttl_owner(100).unwrap()));
        assert_eq!(ttl.client_stat(true).ephemeral_owner, 0);
        let ephemeral = Znode::new(None, -1, new_stat(1, 1, 0x55));
        assert_eq!(ephemeral.client_stat(true).ephemeral_owner, 0x55);
    }
}
