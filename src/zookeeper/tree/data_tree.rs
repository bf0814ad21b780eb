//! The tree itself: znodes by path, the ACL cache, ephemerals by session,
//! containers, TTL nodes and the watch registry, with the primitive mutations
//! Apache's `DataTree` applies (create, delete, set data, set ACL, kill session).
//!
//! Everything here assumes the txn was prepared against this tree; a primitive
//! that finds the tree disagreeing (a missing parent, say) reports the error code
//! Apache's would and changes nothing more than Apache's does.

use std::collections::{BTreeSet, HashMap};

use thiserror::Error;

use super::acl_cache::{AclCache, AclMapError, OPEN_UNSAFE_ACL_INDEX};
use super::auth::AuthConfig;
use super::ephemeral::{EphemeralType, JavaSetOrder};
use super::ids::{SessionId, WatcherId, Zxid};
use super::node::{new_stat, Znode};
use super::path::{join, normalize, split_parent};
use super::store::NodeStore;
use super::tree_digest::{
    node_digest, node_digest_after_stat_change, replace_node_digest, DigestAudit, ZxidDigest,
};
use super::watch::{Notification, WatchManager, WatchRegistry};
use crate::zookeeper::jute::{Acl, ErrorCode, EventType, Stat, StatPersisted};

pub const ROOT_PATH: &str = "/";
/// `Quotas.procZookeeper`.
pub const ZOOKEEPER_PATH: &str = "/zookeeper";
/// `Quotas.quotaZookeeper`.
pub const QUOTA_PATH: &str = "/zookeeper/quota";
/// `ZooDefs.CONFIG_NODE`.
pub const CONFIG_PATH: &str = "/zookeeper/config";

/// Server settings the tree's behaviour depends on, with Apache's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeConfig {
    /// `zookeeper.extendedTypesEnabled` (false): allows TTL nodes.
    pub extended_types_enabled: bool,
    /// `reconfigEnabled` (false).
    pub reconfig_enabled: bool,
    /// `zookeeper.closeSessionTxn.enabled` (true): closeSession txns list the
    /// ephemerals they delete.
    pub close_session_txn_enabled: bool,
    /// `zookeeper.digest.enabled` (true): txns and snapshots carry the tree
    /// digest, and applying a txn compares it. The tree keeps its digest either
    /// way (a few CRCs of 60 bytes per write).
    pub tree_digest_enabled: bool,
    pub auth: AuthConfig,
}

impl Default for TreeConfig {
    fn default() -> Self {
        TreeConfig {
            extended_types_enabled: false,
            reconfig_enabled: false,
            close_session_txn_enabled: true,
            tree_digest_enabled: true,
            auth: AuthConfig::default(),
        }
    }
}

/// Why a snapshot's contents cannot become a tree; the snapshot reader adds
/// the file and the offset.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SnapshotLoadError {
    #[error(transparent)]
    AclMap(#[from] AclMapError),
    #[error("node {path:?} uses ACL index {index}, which the snapshot's ACL map does not define")]
    UnknownAcl { path: String, index: i64 },
    #[error("invalid snapshot path {path:?}")]
    InvalidPath { path: String },
    #[error("unable to find parent {parent} of path {path}")]
    MissingParent { parent: String, path: String },
}

/// Where a snapshot walk is (see `DataTree::snapshot_cursor`).
#[derive(Debug, Clone)]
pub struct SnapshotCursor {
    started: bool,
    /// The nodes whose children are being walked, outermost first.
    stack: Vec<SnapshotFrame>,
}

#[derive(Debug, Clone)]
struct SnapshotFrame {
    /// As written in the snapshot ("" for the root).
    path: String,
    /// The path of the last child visited (children are walked in name
    /// order; "" means none yet).
    last_child: String,
}

impl SnapshotCursor {
    pub fn is_done(&self) -> bool {
        self.started && self.stack.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct DataTree {
    pub(super) nodes: NodeStore,
    pub(super) acl_cache: AclCache,
    pub(super) ephemerals: HashMap<SessionId, BTreeSet<String>>,
    /// Apache's iteration order of each session's ephemerals (closeSession).
    pub(super) ephemeral_order: HashMap<SessionId, JavaSetOrder>,
    pub(super) containers: BTreeSet<String>,
    pub(super) ttls: BTreeSet<String>,
    pub(super) watches: WatchRegistry,
    pub(super) config: TreeConfig,
    pub(super) last_processed_zxid: Zxid,
    /// The wrapping sum of every node's digest (Apache's `AdHash`).
    pub(super) digest: i64,
    /// Apache's `compareDigest` bookkeeping: mismatches seen, and the digest a
    /// loaded snapshot recorded until replay reaches its zxid.
    pub(super) digest_audit: DigestAudit,
}

/// Sets `node`'s digest after its Stat changed from `before` (data unchanged);
/// returns its digest before and after, for the tree's sum.
fn restat(path: &str, node: &mut Znode, before: &StatPersisted) -> (u32, u32) {
    let old = node.digest;
    if node.stat != *before {
        node.digest = node_digest_after_stat_change(path, old, before, &node.stat);
    }
    (old, node.digest)
}

/// Fires the watches an event triggers in one manager and records the
/// notification; returns every watcher that fired (for delete's suppression).
fn fire(
    manager: &mut WatchManager,
    out: &mut Vec<Notification>,
    event_type: EventType,
    path: &str,
    zxid: Zxid,
    acl: &[Acl],
    suppress: &BTreeSet<WatcherId>,
) -> BTreeSet<WatcherId> {
    let fired = manager.trigger(path, suppress);
    if !fired.is_empty() {
        out.push(Notification {
            event_type,
            path: path.to_string(),
            zxid: zxid.0,
            acl: Some(acl.to_vec()),
            watchers: fired.iter().copied().collect(),
        });
    }
    fired
}

impl DataTree {
    /// A fresh tree: "/", "/zookeeper", "/zookeeper/quota" and
    /// "/zookeeper/config" (readable by anyone, aversion -1), all with zeroed
    /// Stats and empty data, exactly as Apache builds it.
    pub fn new(config: TreeConfig) -> DataTree {
        let mut tree = DataTree {
            nodes: NodeStore::new(),
            acl_cache: AclCache::new(),
            ephemerals: HashMap::new(),
            ephemeral_order: HashMap::new(),
            containers: BTreeSet::new(),
            ttls: BTreeSet::new(),
            watches: WatchRegistry::default(),
            config,
            last_processed_zxid: Zxid(0),
            digest: 0,
            digest_audit: DigestAudit::default(),
        };
        let special = || {
            Znode::new(
                Some(Vec::new()),
                OPEN_UNSAFE_ACL_INDEX,
                StatPersisted::default(),
            )
        };
        tree.nodes.insert(ROOT_PATH, special());
        tree.nodes.insert(ZOOKEEPER_PATH, special());
        tree.nodes.insert(QUOTA_PATH, special());
        tree.add_child(ROOT_PATH, ZOOKEEPER_PATH);
        tree.add_child(ZOOKEEPER_PATH, QUOTA_PATH);
        tree.add_config_node();
        for path in [ROOT_PATH, ZOOKEEPER_PATH, QUOTA_PATH, CONFIG_PATH] {
            let node = tree.nodes.get_mut(path).expect("a built-in node");
            node.digest = node_digest(path, node.data.as_deref(), &node.stat);
            tree.digest = replace_node_digest(tree.digest, 0, node.digest);
        }
        tree
    }

    /// `DataTree.addConfigNode`: Apache sets its ACL with `setACL(..., -1)`,
    /// which leaves its aversion at -1.
    fn add_config_node(&mut self) {
        let stat = StatPersisted {
            aversion: -1,
            ..StatPersisted::default()
        };
        let acl = self.acl_cache.intern(&Acl::read_unsafe());
        self.nodes
            .insert(CONFIG_PATH, Znode::new(Some(Vec::new()), acl, stat));
        self.add_child(ZOOKEEPER_PATH, CONFIG_PATH);
    }

    /// `ZKDatabase.initConfigInZKDatabase`: an ensemble server writes its quorum
    /// configuration (`QuorumVerifier.toString()`) into `/zookeeper/config` through
    /// `DataTree.setData(path, data, -1, configVersion, now)`, so the node's data
    /// version is -1 and its mzxid the configuration's version. No txn: every
    /// server writes its own. The `/zookeeper` subtree is outside the digest.
    pub fn init_config_node(&mut self, data: Vec<u8>, config_version: i64, now_ms: i64) {
        if !self.nodes.contains_key(CONFIG_PATH) {
            self.add_config_node();
        }
        let node = self.nodes.get_mut(CONFIG_PATH).expect("added above");
        node.data = Some(data.into_boxed_slice());
        node.stat.mtime = now_ms;
        node.stat.mzxid = config_version;
        node.stat.version = -1;
    }

    /// Lists the built-in node at `child_path` among its parent's children.
    fn add_child(&mut self, parent: &str, child_path: &str) {
        let shared = self.nodes.shared_path(child_path).expect("a built-in node");
        self.nodes
            .get_mut(parent)
            .expect("parent of a built-in node")
            .children
            .insert(shared);
    }

    pub fn config(&self) -> &TreeConfig {
        &self.config
    }

    /// `isSpecialPath`: the nodes no client may delete.
    pub fn is_special_path(path: &str) -> bool {
        matches!(path, ROOT_PATH | ZOOKEEPER_PATH | QUOTA_PATH | CONFIG_PATH)
    }

    /// The node at `path` ("" is the root, as in Apache).
    pub fn node(&self, path: &str) -> Option<&Znode> {
        self.nodes.get(normalize(path))
    }

    /// `node` with `path_hash(path)` already at hand.
    pub fn node_hashed(&self, hash: u64, path: &str) -> Option<&Znode> {
        if path.is_empty() {
            return self.node(path);
        }
        self.nodes.get_hashed(hash, path)
    }

    pub fn acl(&self, node: &Znode) -> &[Acl] {
        self.acl_cache.get(node.acl)
    }

    pub fn acl_of_path(&self, path: &str) -> Option<&[Acl]> {
        self.node(path).map(|node| self.acl(node))
    }

    pub fn stat(&self, path: &str) -> Option<Stat> {
        self.node(path)
            .map(|node| node.client_stat(self.config.extended_types_enabled))
    }

    pub fn ephemeral_type(&self, owner: i64) -> EphemeralType {
        EphemeralType::of(owner, self.config.extended_types_enabled)
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Apache's `approximateDataSize`: path lengths plus data lengths.
    pub fn approximate_data_size(&self) -> u64 {
        self.nodes
            .iter()
            .map(|(path, node)| (path.len() + node.data_length() as usize) as u64)
            .sum()
    }

    pub fn ephemerals(&self, session: SessionId) -> BTreeSet<String> {
        self.ephemerals.get(&session).cloned().unwrap_or_default()
    }

    /// A session's ephemerals (plus any `extra`) in the order Apache's
    /// closeSession deletes them.
    pub fn ephemerals_in_apache_order(
        &self,
        session: SessionId,
        paths: impl IntoIterator<Item = String>,
    ) -> Vec<String> {
        match self.ephemeral_order.get(&session) {
            Some(order) => order.order(paths),
            None => paths.into_iter().collect(),
        }
    }

    pub fn sessions_with_ephemerals(&self) -> Vec<SessionId> {
        let mut sessions: Vec<SessionId> = self.ephemerals.keys().copied().collect();
        sessions.sort();
        sessions
    }

    pub fn ephemerals_count(&self) -> usize {
        self.ephemerals.values().map(BTreeSet::len).sum()
    }

    pub fn containers(&self) -> &BTreeSet<String> {
        &self.containers
    }

    pub fn ttls(&self) -> &BTreeSet<String> {
        &self.ttls
    }

    pub fn watches(&self) -> &WatchRegistry {
        &self.watches
    }

    pub fn watches_mut(&mut self) -> &mut WatchRegistry {
        &mut self.watches
    }

    pub fn acl_cache(&self) -> &AclCache {
        &self.acl_cache
    }

    pub fn last_processed_zxid(&self) -> Zxid {
        self.last_processed_zxid
    }

    /// For loading a snapshot: the zxid the loaded state corresponds to.
    pub fn set_last_processed_zxid(&mut self, zxid: Zxid) {
        self.last_processed_zxid = zxid;
    }

    /// The tree digest (Apache's `getTreeDigest`): the wrapping sum of every
    /// node's digest, kept up to date by every change.
    pub fn digest(&self) -> i64 {
        self.digest
    }

    /// The digest computed again from every node, for checks: always equal
    /// to `digest()`.
    pub fn digest_from_scratch(&self) -> i64 {
        self.nodes.iter().fold(0i64, |sum, (path, node)| {
            let digest = node_digest(path, node.data.as_deref(), &node.stat);
            sum.wrapping_add(i64::from(digest))
        })
    }

    /// The digest and zxid a snapshot of this tree ends with (Apache's
    /// `lastProcessedZxidDigest`); empty for a tree no txn reached yet, as
    /// Apache writes for a fresh tree.
    pub fn zxid_digest(&self) -> ZxidDigest {
        if self.last_processed_zxid.0 == 0 {
            return ZxidDigest::empty();
        }
        ZxidDigest {
            zxid: self.last_processed_zxid,
            digest: self.digest,
            ..ZxidDigest::empty()
        }
    }

    /// Txns whose digest disagreed with the tree after applying them, plus
    /// snapshots whose recorded digest disagreed once replay reached it
    /// (Apache's `digest_mismatches_count` metric).
    pub fn digest_mismatches_count(&self) -> u64 {
        self.digest_audit.mismatches_count()
    }

    /// For loading a snapshot, after `set_last_processed_zxid`: the digest
    /// its trailer recorded. Until replay reaches that zxid the tree is fuzzy
    /// and txn digests are not compared; at that zxid the tree must match it
    /// (at once, if that is the snapshot's own zxid). As Apache's
    /// `deserializeZxidDigest` and `FileSnap.deserialize`.
    pub fn expect_snapshot_digest(&mut self, recorded: ZxidDigest) {
        if !self.config.tree_digest_enabled {
            return;
        }
        self.digest_audit
            .expect_snapshot_digest(recorded, self.last_processed_zxid);
        if self.digest_audit.awaits_snapshot_digest() {
            self.digest_audit
                .snapshot_txn_applied(self.last_processed_zxid, self.digest);
        }
    }

    /// For a snapshot a leader streamed (no recorded digest, and as fuzzy as
    /// the leader's walk was long): txn digests are not compared while the
    /// txns of the sync are replayed, since the tree already holds some of
    /// their effects. Apache compares them and reports mismatches for a tree
    /// that converges; keel stays quiet until it can compare again, from the
    /// first txn after `bound_skipped_txn_digests`.
    pub fn skip_txn_digests_of_sync(&mut self) {
        self.digest_audit.skip_txn_digests_through(Zxid(i64::MAX));
    }

    /// The sync ended with txn `last_of_sync` (every txn the leader's walk
    /// could have caught is at or below it): digests are compared after it.
    pub fn bound_skipped_txn_digests(&mut self, last_of_sync: Zxid) {
        if self.digest_audit.skips_txn_digests_unbounded() {
            self.digest_audit.skip_txn_digests_through(last_of_sync);
        }
    }

    fn track_owner(&mut self, path: &str, owner: i64) {
        match self.ephemeral_type(owner) {
            EphemeralType::Container => {
                self.containers.insert(path.to_string());
            }
            EphemeralType::Ttl => {
                self.ttls.insert(path.to_string());
            }
            EphemeralType::Normal => {
                self.ephemerals
                    .entry(SessionId(owner))
                    .or_default()
                    .insert(path.to_string());
                self.ephemeral_order
                    .entry(SessionId(owner))
                    .or_default()
                    .insert(path);
            }
            EphemeralType::Void => {}
        }
    }

    fn untrack_owner(&mut self, path: &str, owner: i64) {
        match self.ephemeral_type(owner) {
            EphemeralType::Container => {
                self.containers.remove(path);
            }
            EphemeralType::Ttl => {
                self.ttls.remove(path);
            }
            EphemeralType::Normal => {
                // Apache keeps a session's set even once emptied; only a
                // closeSession removes it.
                if let Some(paths) = self.ephemerals.get_mut(&SessionId(owner)) {
                    paths.remove(path);
                }
                if let Some(order) = self.ephemeral_order.get_mut(&SessionId(owner)) {
                    order.remove(path);
                }
            }
            EphemeralType::Void => {}
        }
    }

    /// `DataTree.createNode`. A `parent_cversion` of -1 bumps the parent's own.
    #[allow(clippy::too_many_arguments)]
    pub fn create_node(
        &mut self,
        path: &str,
        data: Option<Vec<u8>>,
        acl: &[Acl],
        ephemeral_owner: i64,
        parent_cversion: i32,
        zxid: Zxid,
        time: i64,
        out: &mut Vec<Notification>,
    ) -> Result<Stat, ErrorCode> {
        let (parent_name, _) = split_parent(path).ok_or(ErrorCode::NoNode)?;
        let parent_key = normalize(parent_name);
        let Some(parent_id) = self.nodes.find_id(parent_key) else {
            return Err(ErrorCode::NoNode);
        };
        let parent_acl_index = self.nodes.by_id(parent_id).acl;
        // Apache interns the ACL before looking for an existing node, and on
        // replay gives an existing node the new ACL (see ZOOKEEPER-3145).
        let acl_index = self.acl_cache.intern(acl);
        let mut node = Znode::new(data, acl_index, new_stat(zxid.0, time, ephemeral_owner));
        node.digest = node_digest(path, node.data.as_deref(), &node.stat);
        let node_digest = node.digest;
        let stat = node.client_stat(self.config.extended_types_enabled);
        let shared = match self.nodes.insert_new(path, node) {
            Ok((_, shared)) => shared,
            Err((existing, _)) => {
                self.nodes.by_id_mut(existing).acl = acl_index;
                return Err(ErrorCode::NodeExists);
            }
        };
        let parent = self.nodes.by_id_mut(parent_id);
        let before = parent.stat.clone();
        let parent_cversion = if parent_cversion == -1 {
            parent.stat.cversion + 1
        } else {
            parent_cversion
        };
        // A replayed create must not move cversion and pzxid backwards.
        if parent_cversion > parent.stat.cversion {
            parent.stat.cversion = parent_cversion;
            parent.stat.pzxid = zxid.0;
        }
        parent.children.insert(shared);
        let (old, new) = restat(parent_key, parent, &before);
        self.digest = replace_node_digest(self.digest, old, new);
        self.digest = replace_node_digest(self.digest, 0, node_digest);
        self.track_owner(path, ephemeral_owner);

        let none = BTreeSet::new();
        fire(
            &mut self.watches.data,
            out,
            EventType::NodeCreated,
            path,
            zxid,
            acl,
            &none,
        );
        fire(
            &mut self.watches.child,
            out,
            EventType::NodeChildrenChanged,
            parent_key,
            zxid,
            self.acl_cache.get(parent_acl_index),
            &none,
        );
        Ok(stat)
    }

    /// `DataTree.deleteNode`. The parent's pzxid moves even if the child is
    /// already gone, as in Apache.
    pub fn delete_node(
        &mut self,
        path: &str,
        zxid: Zxid,
        out: &mut Vec<Notification>,
    ) -> Result<(), ErrorCode> {
        let (parent_name, _) = split_parent(path).ok_or(ErrorCode::NoNode)?;
        let parent_key = normalize(parent_name);
        let parent = self.nodes.get_mut(parent_key).ok_or(ErrorCode::NoNode)?;
        let before = parent.stat.clone();
        parent.children.remove(path);
        if zxid.0 > parent.stat.pzxid {
            parent.stat.pzxid = zxid.0;
        }
        let parent_acl_index = parent.acl;
        let (old, new) = restat(parent_key, parent, &before);
        self.digest = replace_node_digest(self.digest, old, new);
        let node = self.nodes.remove(path).ok_or(ErrorCode::NoNode)?;
        self.digest = replace_node_digest(self.digest, node.digest, 0);
        self.untrack_owner(path, node.stat.ephemeral_owner);

        // A watcher with both a data and a child watch on the node hears of
        // its deletion once.
        let none = BTreeSet::new();
        let acl = self.acl_cache.get(node.acl);
        let fired = fire(
            &mut self.watches.data,
            out,
            EventType::NodeDeleted,
            path,
            zxid,
            acl,
            &none,
        );
        fire(
            &mut self.watches.child,
            out,
            EventType::NodeDeleted,
            path,
            zxid,
            acl,
            &fired,
        );
        fire(
            &mut self.watches.child,
            out,
            EventType::NodeChildrenChanged,
            parent_key,
            zxid,
            self.acl_cache.get(parent_acl_index),
            &none,
        );
        // After the events: they carry the ACL this may forget.
        self.acl_cache.remove_usage(node.acl);
        Ok(())
    }

    /// `DataTree.setData`: `version` is the new version from the txn.
    pub fn set_data(
        &mut self,
        path: &str,
        data: Option<Vec<u8>>,
        version: i32,
        zxid: Zxid,
        time: i64,
        out: &mut Vec<Notification>,
    ) -> Result<Stat, ErrorCode> {
        let extended = self.config.extended_types_enabled;
        let key = normalize(path);
        let node = self.nodes.get_mut(key).ok_or(ErrorCode::NoNode)?;
        node.data = data.map(Vec::into_boxed_slice);
        node.stat.mtime = time;
        node.stat.mzxid = zxid.0;
        node.stat.version = version;
        let old_digest = node.digest;
        node.digest = node_digest(key, node.data.as_deref(), &node.stat);
        self.digest = replace_node_digest(self.digest, old_digest, node.digest);
        let stat = node.client_stat(extended);
        let acl_index = node.acl;
        fire(
            &mut self.watches.data,
            out,
            EventType::NodeDataChanged,
            path,
            zxid,
            self.acl_cache.get(acl_index),
            &BTreeSet::new(),
        );
        Ok(stat)
    }

    /// `DataTree.setACL`: `version` is the new aversion from the txn. No watch
    /// fires on an ACL change.
    pub fn set_acl(&mut self, path: &str, acl: &[Acl], version: i32) -> Result<Stat, ErrorCode> {
        let old_index = self.node(path).ok_or(ErrorCode::NoNode)?.acl;
        self.acl_cache.remove_usage(old_index);
        let new_index = self.acl_cache.intern(acl);
        let extended = self.config.extended_types_enabled;
        let key = normalize(path);
        let node = self.nodes.get_mut(key).expect("checked above");
        let before = node.stat.clone();
        node.stat.aversion = version;
        node.acl = new_index;
        let (old, new) = restat(key, node, &before);
        self.digest = replace_node_digest(self.digest, old, new);
        Ok(node.client_stat(extended))
    }

    /// `DataTree.killSession`: deletes the paths the closeSession txn lists,
    /// then any other ephemeral the session still owns here (Apache warns about
    /// those). Paths already gone are skipped.
    pub fn kill_session(
        &mut self,
        session: SessionId,
        zxid: Zxid,
        paths_in_txn: Option<&[String]>,
        out: &mut Vec<Notification>,
    ) {
        let order = self.ephemeral_order.remove(&session).unwrap_or_default();
        let mut local = self.ephemerals.remove(&session).unwrap_or_default();
        if let Some(paths) = paths_in_txn {
            for path in paths {
                let _ = self.delete_node(path, zxid, out);
                local.remove(path);
            }
        }
        for path in order.order(local) {
            let _ = self.delete_node(&path, zxid, out);
        }
        // Deleting re-creates nothing, but untrack_owner may have left an empty
        // set behind for this session.
        self.ephemerals.remove(&session);
        self.ephemeral_order.remove(&session);
    }

    /// `DataTree.setCversionPzxid`, used when a replayed create finds its node.
    pub fn set_cversion_pzxid(
        &mut self,
        path: &str,
        cversion: i32,
        zxid: Zxid,
    ) -> Result<(), ErrorCode> {
        let path = path.strip_suffix('/').unwrap_or(path);
        let key = normalize(path);
        let node = self.nodes.get_mut(key).ok_or(ErrorCode::NoNode)?;
        let before = node.stat.clone();
        let cversion = if cversion == -1 {
            node.stat.cversion + 1
        } else {
            cversion
        };
        if cversion > node.stat.cversion {
            node.stat.cversion = cversion;
            node.stat.pzxid = zxid.0;
        }
        let (old, new) = restat(key, node, &before);
        self.digest = replace_node_digest(self.digest, old, new);
        Ok(())
    }

    /// `getAllChildrenNumber`: all descendants (for "/", every node but the
    /// root).
    pub fn all_children_number(&self, path: &str) -> usize {
        if path == ROOT_PATH {
            return self.nodes.len() - 1;
        }
        let prefix = format!("{path}/");
        self.nodes
            .keys()
            .filter(|key| key.starts_with(&prefix))
            .count()
    }

    /// The nodes in the order Apache's snapshot writes them: depth first from
    /// the root, the root under the path "".
    pub fn nodes_in_snapshot_order(&self) -> Vec<(String, &Znode)> {
        let mut ordered = Vec::with_capacity(self.nodes.len());
        let mut cursor = self.snapshot_cursor();
        while !cursor.is_done() {
            self.snapshot_step(&mut cursor, |path, _| {
                ordered.push(path.to_string());
                true
            });
        }
        ordered
            .into_iter()
            .map(|path| {
                let node = self.node(&path).expect("visited just now");
                (path, node)
            })
            .collect()
    }

    /// A walk over the tree in snapshot order that may be interrupted and
    /// resumed while the tree changes in between (Apache's fuzzy snapshot):
    /// every node present from the start to the end of the walk is visited
    /// once, in the state it has when visited; nodes created behind the walk
    /// are missed and nodes deleted ahead of it skipped, which replaying the
    /// log from the snapshot's zxid repairs, as in Apache.
    pub fn snapshot_cursor(&self) -> SnapshotCursor {
        SnapshotCursor {
            started: false,
            stack: Vec::new(),
        }
    }

    /// Visits nodes in snapshot order (path as written: "" for the root) until
    /// `visit` returns false or the walk ends; `cursor.is_done()` tells which.
    pub fn snapshot_step(
        &self,
        cursor: &mut SnapshotCursor,
        mut visit: impl FnMut(&str, &Znode) -> bool,
    ) {
        if !cursor.started {
            cursor.started = true;
            let Some(root) = self.nodes.get(ROOT_PATH) else {
                return;
            };
            cursor.stack.push(SnapshotFrame {
                path: String::new(),
                last_child: String::new(),
            });
            if !visit("", root) {
                return;
            }
        }
        while let Some(frame) = cursor.stack.last_mut() {
            let key = if frame.path.is_empty() {
                ROOT_PATH
            } else {
                frame.path.as_str()
            };
            let Some(node) = self.nodes.get(key) else {
                cursor.stack.pop();
                continue;
            };
            // One range search per visit of a parent, then its leaves in a
            // row; a child with children of its own is walked first. A
            // child's path as written is its path (the root's children too:
            // "" + "/" + name).
            let last = (!frame.last_child.is_empty()).then_some(frame.last_child.as_str());
            let mut descend = None;
            let mut more = true;
            let mut visited = None;
            for child_path in node.children.paths_after(last) {
                visited = Some(child_path);
                let Some(child) = self.nodes.get(child_path) else {
                    continue;
                };
                more = visit(child_path, child);
                if !child.children.is_empty() {
                    descend = Some(child_path);
                    break;
                }
                if !more {
                    break;
                }
            }
            let Some(last_visited) = visited else {
                cursor.stack.pop();
                continue;
            };
            frame.last_child.clear();
            frame.last_child.push_str(last_visited);
            if let Some(path) = descend {
                cursor.stack.push(SnapshotFrame {
                    path: path.to_string(),
                    last_child: String::new(),
                });
            }
            if !more {
                return;
            }
        }
    }

    /// An empty tree for loading a snapshot into (no built-in nodes: the
    /// snapshot carries them).
    pub fn empty_for_snapshot(config: TreeConfig) -> DataTree {
        let mut tree = DataTree::new(config);
        tree.nodes.clear();
        tree.digest = 0;
        tree.acl_cache = AclCache::new();
        tree
    }

    /// Loads one ACL map entry of a snapshot (all of them come before the
    /// nodes).
    pub fn load_snapshot_acl(
        &mut self,
        index: i64,
        acl: Vec<Acl>,
    ) -> Result<(), SnapshotLoadError> {
        Ok(self.acl_cache.insert_from_snapshot(index, acl)?)
    }

    /// Loads one node of a snapshot, parents first, as Apache's `deserialize`.
    /// A node whose ACL index the map did not define is refused: serving it
    /// would panic the first lookup of its ACL.
    pub fn load_snapshot_node(
        &mut self,
        path: &str,
        mut node: Znode,
    ) -> Result<(), SnapshotLoadError> {
        if !self.acl_cache.contains(node.acl) {
            return Err(SnapshotLoadError::UnknownAcl {
                path: path.to_string(),
                index: node.acl,
            });
        }
        node.children.clear();
        let key = normalize(path);
        node.digest = node_digest(key, node.data.as_deref(), &node.stat);
        let parent_key = if key == ROOT_PATH {
            None
        } else {
            let (parent_name, _) =
                split_parent(path).ok_or_else(|| SnapshotLoadError::InvalidPath {
                    path: path.to_string(),
                })?;
            if !self.nodes.contains_key(normalize(parent_name)) {
                return Err(SnapshotLoadError::MissingParent {
                    parent: parent_name.to_string(),
                    path: path.to_string(),
                });
            }
            Some(normalize(parent_name))
        };
        self.acl_cache.add_usage(node.acl);
        let owner = node.stat.ephemeral_owner;
        let added = node.digest;
        // A path written twice replaces its node, as Apache's `nodes.put`.
        let shared = match self.nodes.insert_new(key, node) {
            Ok((_, shared)) => shared,
            Err((existing, node)) => {
                let replaced = std::mem::replace(self.nodes.by_id_mut(existing), node);
                self.digest = replace_node_digest(self.digest, replaced.digest, 0);
                self.nodes.shared_path(key).expect("stored just now")
            }
        };
        self.digest = replace_node_digest(self.digest, 0, added);
        if let Some(parent_key) = parent_key {
            self.nodes
                .get_mut(parent_key)
                .expect("checked above")
                .children
                .insert(shared);
            self.track_owner(path, owner);
        }
        Ok(())
    }

    /// After the last snapshot node: drop ACLs no node uses.
    pub fn finish_snapshot_load(&mut self) {
        self.acl_cache.purge_unused();
    }

    /// The path of a child, for callers building paths.
    pub fn child_path(parent: &str, child: &str) -> String {
        join(parent, child)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_tree_matches_apache() {
        let tree = DataTree::new(TreeConfig::default());
        assert_eq!(tree.node_count(), 4);
        let root = tree.stat("/").unwrap();
        // One child, no creations counted: Apache shows cversion -1 on "/".
        assert_eq!((root.cversion, root.num_children), (-1, 1));
        let zookeeper = tree.stat("/zookeeper").unwrap();
        assert_eq!((zookeeper.cversion, zookeeper.num_children), (-2, 2));
        let config = tree.stat("/zookeeper/config").unwrap();
        assert_eq!(config.aversion, -1);
        assert_eq!(
            tree.acl_of_path("/zookeeper/config").unwrap(),
            Acl::read_unsafe()
        );
        assert_eq!(tree.acl_of_path("/").unwrap(), Acl::open_unsafe());
        assert_eq!(tree.node("").unwrap().children.len(), 1);
        assert_eq!(tree.all_children_number("/"), 3);
        assert_eq!(tree.all_children_number("/zookeeper"), 2);
    }

    #[test]
    fn snapshot_order_is_depth_first_with_root_as_empty_path() {
        let tree = DataTree::new(TreeConfig::default());
        let paths: Vec<String> = tree
            .nodes_in_snapshot_order()
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        assert_eq!(
            paths,
            ["", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"]
        );
    }

    #[test]
    fn snapshot_round_trip_rebuilds_children_and_owners() {
        let mut tree = DataTree::new(TreeConfig::default());
        let mut out = Vec::new();
        tree.create_node("/e", None, &Acl::creator_all(), 7, -1, Zxid(1), 1, &mut out)
            .unwrap();
        let mut loaded = DataTree::empty_for_snapshot(TreeConfig::default());
        for (index, acl) in tree.acl_cache().entries() {
            loaded.load_snapshot_acl(index, acl.to_vec()).unwrap();
        }
        for (path, node) in tree.nodes_in_snapshot_order() {
            loaded.load_snapshot_node(&path, node.clone()).unwrap();
        }
        loaded.finish_snapshot_load();
        assert_eq!(loaded.node_count(), 5);
        assert_eq!(loaded.ephemerals(SessionId(7)), ["/e".to_string()].into());
        assert_eq!(loaded.stat("/e"), tree.stat("/e"));
        assert_eq!(loaded.acl_of_path("/e"), tree.acl_of_path("/e"));
        assert!(matches!(
            loaded.load_snapshot_node(
                "/missing/child",
                Znode::new(None, OPEN_UNSAFE_ACL_INDEX, StatPersisted::default())
            ),
            Err(SnapshotLoadError::MissingParent { .. })
        ));
        assert_eq!(loaded.digest(), tree.digest());
        assert_eq!(loaded.digest(), loaded.digest_from_scratch());
    }

    #[test]
    fn a_snapshot_node_with_an_undefined_acl_is_an_error_not_a_panic() {
        let mut loaded = DataTree::empty_for_snapshot(TreeConfig::default());
        loaded
            .load_snapshot_node("", Znode::new(None, 1, StatPersisted::default()))
            .unwrap_err();
        loaded
            .load_snapshot_node("", Znode::new(None, -1, StatPersisted::default()))
            .unwrap();
        assert_eq!(
            loaded.load_snapshot_node("/a", Znode::new(None, 9, StatPersisted::default())),
            Err(SnapshotLoadError::UnknownAcl {
                path: "/a".into(),
                index: 9
            })
        );
        assert!(loaded.node("/a").is_none());
    }

    #[test]
    fn fresh_tree_digest_is_the_root_and_zookeeper_nodes() {
        // Apache's fresh tree: crc("" + 60 zero bytes) + crc("/zookeeper" +
        // 60 zero bytes); the nodes below /zookeeper/ count nothing.
        let tree = DataTree::new(TreeConfig::default());
        let root = vec![0u8; 60];
        let mut zookeeper = b"/zookeeper".to_vec();
        zookeeper.extend_from_slice(&root);
        let expected = i64::from(crc32fast::hash(&root)) + i64::from(crc32fast::hash(&zookeeper));
        assert_eq!(tree.digest(), expected);
        assert_eq!(tree.digest_from_scratch(), expected);
        assert_eq!(tree.zxid_digest(), ZxidDigest::empty());
    }
}
