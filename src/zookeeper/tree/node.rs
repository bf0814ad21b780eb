//! One znode: data, ACL index, the persisted Stat and the child names. The
//! client's Stat is derived from it the way Apache's `DataNode.copyStat` does.

use std::collections::BTreeSet;

use super::ephemeral::EphemeralType;
use crate::zookeeper::jute::{Stat, StatPersisted};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Znode {
    /// `None` when the node was created with null data; it is returned as null.
    pub data: Option<Vec<u8>>,
    /// Index into the tree's `AclCache`.
    pub acl: i64,
    pub stat: StatPersisted,
    /// Sorted, so replies and snapshots are deterministic (Apache's order is a
    /// HashSet's, which no client may rely on).
    pub children: BTreeSet<String>,
}

impl Znode {
    pub fn new(data: Option<Vec<u8>>, acl: i64, stat: StatPersisted) -> Self {
        Znode {
            data,
            acl,
            stat,
            children: BTreeSet::new(),
        }
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
        node.children.insert("a".into());
        node.children.insert("b".into());
        let stat = node.client_stat(false);
        assert_eq!(stat.cversion, 4);
        assert_eq!(stat.num_children, 2);
        assert_eq!(stat.data_length, 3);
        assert_eq!((stat.czxid, stat.mzxid, stat.pzxid), (5, 5, 5));
        assert_eq!((stat.ctime, stat.mtime), (10, 10));
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
