//! One znode: data, ACL index, the persisted Stat and the child names. The
//! client's Stat is derived from it the way Apache's `DataNode.copyStat` does.

use std::borrow::Borrow;
use std::collections::BTreeSet;
use std::ops::Bound;
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
}

impl Znode {
    pub fn new(data: Option<Vec<u8>>, acl: i64, stat: StatPersisted) -> Self {
        Znode {
            data: data.map(Vec::into_boxed_slice),
            acl,
            stat,
            children: Children::default(),
        }
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

impl Borrow<str> for ChildName {
    fn borrow(&self) -> &str {
        &self.0
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
#[derive(Debug, Clone, Default)]
pub struct Children(Option<Box<BTreeSet<ChildName>>>);

impl Children {
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |set| set.len())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The names, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().flat_map(|set| set.iter().map(ChildName::name))
    }

    /// Whether the child at `path` is listed.
    pub fn contains(&self, path: &str) -> bool {
        self.0.as_ref().is_some_and(|set| set.contains(path))
    }

    /// The children's full paths after `last` (all of them when `None`), in
    /// name order.
    pub fn paths_after<'a>(&'a self, last: Option<&str>) -> impl Iterator<Item = &'a str> {
        let range = self.0.as_ref().map(|set| match last {
            None => set.range::<str, _>(..),
            Some(last) => set.range::<str, _>((Bound::Excluded(last), Bound::Unbounded)),
        });
        range.into_iter().flatten().map(|child| &*child.0)
    }

    /// Adds the child stored at `path`.
    pub fn insert(&mut self, path: Arc<str>) {
        self.0.get_or_insert_with(Default::default).insert(ChildName(path));
    }

    /// Removes the child stored at `path`.
    pub fn remove(&mut self, path: &str) {
        if let Some(set) = self.0.as_mut() {
            set.remove(path);
            if set.is_empty() {
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
