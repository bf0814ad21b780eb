//! Prepare: a write request, the caller's session and auth ids, the tree and the
//! changes already prepared but not yet applied in; one txn out. Mirrors Apache's
//! `PrepRequestProcessor.pRequest2Txn`, check for check, in Apache's order, so the
//! same request fails with the same code.
//!
//! A failed request still becomes a txn (type error, `ErrorTxn`), exactly as in
//! Apache: it takes a zxid and is logged. `PendingChanges` is Apache's
//! `outstandingChanges`: what later requests must see before the log catches up.
//!
//! Every txn but a failed single request carries the tree digest the tree
//! will have once it is applied (`PrepRequestProcessor.precalculateDigest`):
//! each change record holds its node's digest and the tree's digest after it,
//! so the digest after any pending txn is the last record's.

use std::collections::VecDeque;

use hashbrown::hash_table::{self, HashTable};
use std::sync::Arc;

use super::data_tree::DataTree;
use super::ephemeral::{ttl_owner, EphemeralType, CONTAINER_OWNER};
use super::ids::{SessionId, Zxid};
use super::node::new_stat;
use super::path::{split_parent, validate_path};
use super::store::path_hash;
use super::tree_digest::{
    node_digest, node_digest_after_stat_change, replace_node_digest, TREE_DIGEST_VERSION,
};
use crate::zookeeper::jute::proto::{
    CheckVersionRequest, CreateRequest, CreateTtlRequest, SetDataRequest,
};
use crate::zookeeper::jute::txn::{
    CheckVersionTxn, CloseSessionTxn, CreateContainerTxn, CreateSessionTxn, CreateTtlTxn,
    CreateTxn, DeleteTxn, ErrorTxn, MultiTxn, SetAclTxn, SetDataTxn, TxnDigest,
};
use crate::zookeeper::jute::{
    perms, Acl, CreateMode, ErrorCode, Id, MultiOp, MultiRequest, OpCode, Request, StatPersisted,
    TxnBody, TxnEntry, TxnHeader,
};

/// Who sent the request and what it is given.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    pub session: SessionId,
    pub cxid: i32,
    /// The connection's auth ids (ip, digest, super...).
    pub auth: &'a [Id],
    /// The zxid this txn gets; the server takes the next one for every write,
    /// failed or not.
    pub zxid: Zxid,
    /// Wall-clock milliseconds, stamped into the txn header.
    pub time_ms: i64,
}

/// A node as prepared-but-unapplied txns leave it (Apache's `ChangeRecord`).
/// `stat: None` means "deleted".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    pub zxid: Zxid,
    pub path: Arc<str>,
    /// `path_hash(path)`, computed once when the record is made.
    pub hash: u64,
    pub stat: Option<StatPersisted>,
    pub child_count: usize,
    /// Shared with the tree's ACL cache (or the txn) rather than copied: a
    /// record is made for every node a write touches.
    pub acl: Arc<[Acl]>,
    /// The node's digest in this state (0 once deleted): Apache's
    /// `PrecalculatedDigest.nodeDigest`.
    pub node_digest: u32,
    /// The tree's digest once this change (and every one before it) is
    /// applied: `PrecalculatedDigest.treeDigest`. Set when the record is
    /// added.
    pub tree_digest: i64,
}

/// Apache's `outstandingChanges` and `outstandingChangesForPath`. Keys are the
/// paths exactly as Apache uses them (the root's children name their parent "",
/// a request on the root names it "/"). Records are numbered as they come, and
/// the by-path index holds the number of each path's latest record (Apache
/// compares records by identity; numbers are identities), keyed by the hash
/// each record carries, so no path is hashed twice.
#[derive(Debug, Clone, Default)]
pub struct PendingChanges {
    records: VecDeque<ChangeRecord>,
    /// The number of `records[0]`.
    first_number: u64,
    latest_by_path: HashTable<u64>,
}

impl PendingChanges {
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    fn record_at(&self, number: u64) -> &ChangeRecord {
        &self.records[(number - self.first_number) as usize]
    }

    fn add(&mut self, record: ChangeRecord) {
        let number = self.first_number + self.records.len() as u64;
        let hash = record.hash;
        let path = record.path.clone();
        self.records.push_back(record);
        let (records, first) = (&self.records, self.first_number);
        let at = |number: u64| &records[(number - first) as usize];
        match self.latest_by_path.entry(
            hash,
            |&latest| at(latest).path == path,
            |&latest| at(latest).hash,
        ) {
            hash_table::Entry::Occupied(mut latest) => *latest.get_mut() = number,
            hash_table::Entry::Vacant(vacant) => {
                vacant.insert(number);
            }
        }
    }

    /// Forgets `number` as the latest record of its path, if it is.
    fn forget_latest(&mut self, hash: u64, number: u64) {
        if let Ok(latest) = self
            .latest_by_path
            .find_entry(hash, |&latest| latest == number)
        {
            latest.remove();
        }
    }

    /// Called once the txn with `zxid` has been applied to the tree: forgets the
    /// records it (and everything before it) made, as Apache's
    /// `ZooKeeperServer.processTxn` does.
    pub fn applied(&mut self, zxid: Zxid) {
        while let Some(record) = self.records.front() {
            if record.zxid > zxid {
                break;
            }
            let (number, hash) = (self.first_number, record.hash);
            self.forget_latest(hash, number);
            self.records.pop_front();
            self.first_number += 1;
        }
    }

    /// Undoes the records a failed multi added (all carry its zxid).
    fn roll_back(&mut self, zxid: Zxid) {
        while self
            .records
            .back()
            .is_some_and(|record| record.zxid == zxid)
        {
            let number = self.first_number + self.records.len() as u64 - 1;
            let hash = self.records.back().expect("checked above").hash;
            let was_latest = self
                .latest_by_path
                .find(hash, |&latest| latest == number)
                .is_some();
            self.forget_latest(hash, number);
            let record = self.records.pop_back().expect("checked above");
            if was_latest {
                if let Some(previous) = self
                    .records
                    .iter()
                    .rposition(|earlier| earlier.path == record.path)
                {
                    let (records, first) = (&self.records, self.first_number);
                    self.latest_by_path
                        .insert_unique(hash, first + previous as u64, |&latest| {
                            records[(latest - first) as usize].hash
                        });
                }
            }
        }
    }

    #[cfg(test)]
    fn get(&self, path: &str) -> Option<&ChangeRecord> {
        self.get_hashed(path_hash(path), path)
    }

    fn get_hashed(&self, hash: u64, path: &str) -> Option<&ChangeRecord> {
        let number = *self
            .latest_by_path
            .find(hash, |&latest| &*self.record_at(latest).path == path)?;
        Some(self.record_at(number))
    }

    fn records(&self) -> impl Iterator<Item = &ChangeRecord> {
        self.records.iter()
    }

    /// The tree digest once every pending change is applied (Apache's
    /// `getCurrentTreeDigest`): the last record's, or the tree's own when
    /// nothing is pending.
    pub fn tree_digest_after(&self, tree: &DataTree) -> i64 {
        self.records
            .back()
            .map_or(tree.digest(), |record| record.tree_digest)
    }
}

/// Prepares one request against the tree plus pending changes.
pub struct Preparer<'a> {
    tree: &'a DataTree,
    pending: &'a mut PendingChanges,
    context: RequestContext<'a>,
}

type Prepared = Result<(OpCode, TxnBody), ErrorCode>;

impl DataTree {
    /// Turns a write request into its txn. Returns `None` for requests that are
    /// not writes (reads, watches, auth, ping...), which skip the log.
    pub fn prepare(
        &self,
        pending: &mut PendingChanges,
        context: RequestContext<'_>,
        request: &Request,
    ) -> Option<TxnEntry> {
        if !request.op().is_write() {
            return None;
        }
        self.prepare_taking(pending, context, &mut request.clone())
    }

    /// `prepare`, moving the path and data of a create or setData out of the
    /// request into the txn instead of copying them (the server keeps only
    /// the request's op code after this).
    pub fn prepare_taking(
        &self,
        pending: &mut PendingChanges,
        context: RequestContext<'_>,
        request: &mut Request,
    ) -> Option<TxnEntry> {
        let op = request.op();
        if !op.is_write() || matches!(op, OpCode::CreateSession) {
            return None;
        }
        let mut preparer = Preparer {
            tree: self,
            pending,
            context,
        };
        let prepared = match request {
            Request::Multi(multi) => Ok((OpCode::Multi, preparer.multi(multi))),
            _ => preparer.single(request),
        };
        Some(preparer.entry(prepared))
    }

    /// The txn for a new session (the server issues createSession itself). It
    /// changes no node; its digest is the tree's after the pending changes.
    pub fn prepare_create_session(
        &self,
        pending: &PendingChanges,
        context: RequestContext<'_>,
        timeout_ms: i32,
    ) -> TxnEntry {
        TxnEntry {
            header: header(&context, OpCode::CreateSession),
            body: TxnBody::CreateSession(CreateSessionTxn {
                time_out: timeout_ms,
            }),
            digest: self.txn_digest(pending.tree_digest_after(self)),
        }
    }

    /// The TxnDigest a prepared txn carries, when digests are on.
    fn txn_digest(&self, tree_digest: i64) -> Option<TxnDigest> {
        self.config.tree_digest_enabled.then_some(TxnDigest {
            version: TREE_DIGEST_VERSION,
            tree_digest,
        })
    }
}

fn header(context: &RequestContext<'_>, op: OpCode) -> TxnHeader {
    TxnHeader {
        client_id: context.session.0,
        cxid: context.cxid,
        zxid: context.zxid.0,
        time: context.time_ms,
        op: op.as_i32(),
    }
}

/// `checkAndIncVersion`. Going from `i32::MAX` wraps to `i32::MIN`, and from
/// -2 to 0 rather than -1 (which means "any version"), see ZOOKEEPER-4743.
fn check_and_increment_version(current: i32, expected: i32) -> Result<i32, ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    let next = current.wrapping_add(1);
    Ok(if next == -1 { 0 } else { next })
}

fn bad_arguments_unless_valid(path: &str) -> Result<(), ErrorCode> {
    validate_path(path).map_err(|_| ErrorCode::BadArguments)
}

impl Preparer<'_> {
    /// The txn. A failed request carries no digest (Apache fails it before
    /// `setTxnDigest`); everything else, a failed multi included, carries the
    /// digest after the pending changes, its own among them.
    fn entry(self, prepared: Prepared) -> TxnEntry {
        let (op, body, digest) = match prepared {
            Ok((op, body)) => {
                let digest = self
                    .tree
                    .txn_digest(self.pending.tree_digest_after(self.tree));
                (op, body, digest)
            }
            Err(code) => (
                OpCode::Error,
                TxnBody::Error(ErrorTxn { err: code.as_i32() }),
                None,
            ),
        };
        TxnEntry {
            header: header(&self.context, op),
            body,
            digest,
        }
    }

    /// Adds a change record whose node's digest was `node_digest_before`
    /// (0 for a new node), setting the tree digest after it.
    fn add_change(&mut self, mut record: ChangeRecord, node_digest_before: u32) {
        let current = self.pending.tree_digest_after(self.tree);
        record.tree_digest = replace_node_digest(current, node_digest_before, record.node_digest);
        self.pending.add(record);
    }

    /// Adds `record` with the Stat `stat` gives it (its data unchanged).
    fn add_stat_change(&mut self, mut record: ChangeRecord, stat: impl FnOnce(&mut StatPersisted)) {
        let before_digest = record.node_digest;
        if let Some(current) = record.stat.as_mut() {
            let before = current.clone();
            stat(current);
            record.node_digest =
                node_digest_after_stat_change(&record.path, before_digest, &before, current);
        }
        self.add_change(record, before_digest);
    }

    /// Adds the deletion of the node `record` describes.
    fn add_deletion(&mut self, record: ChangeRecord) {
        let before_digest = record.node_digest;
        self.add_change(
            ChangeRecord {
                zxid: self.zxid(),
                stat: None,
                child_count: 0,
                acl: Arc::from([]),
                node_digest: 0,
                ..record
            },
            before_digest,
        );
    }

    fn zxid(&self) -> Zxid {
        self.context.zxid
    }

    /// `getRecordForPath`: the pending record, else the tree's node; NoNode if
    /// neither has it (or it is pending deletion).
    fn record(&self, path: &str) -> Result<ChangeRecord, ErrorCode> {
        let hash = path_hash(path);
        if let Some(record) = self.pending.get_hashed(hash, path) {
            return match record.stat {
                Some(_) => Ok(record.clone()),
                None => Err(ErrorCode::NoNode),
            };
        }
        let node = self.tree.node_hashed(hash, path).ok_or(ErrorCode::NoNode)?;
        Ok(ChangeRecord {
            zxid: Zxid(-1),
            path: Arc::from(path),
            hash,
            stat: Some(node.stat.clone()),
            child_count: node.children.len(),
            acl: self.tree.acl_cache.get_shared(node.acl).clone(),
            node_digest: node.digest,
            tree_digest: 0,
        })
    }

    /// `record(path).is_ok()`, without building the record.
    fn exists_hashed(&self, hash: u64, path: &str) -> bool {
        match self.pending.get_hashed(hash, path) {
            Some(record) => record.stat.is_some(),
            None => self.tree.node_hashed(hash, path).is_some(),
        }
    }

    fn check_acl(&self, acl: &[Acl], perm: i32) -> Result<(), ErrorCode> {
        self.tree.config.auth.check(acl, perm, self.context.auth)
    }

    fn fixup_acl(&self, acl: &[Acl]) -> Result<Vec<Acl>, ErrorCode> {
        self.tree.config.auth.fixup(acl, self.context.auth)
    }

    /// `getParentPathAndValidate`: the delete family refuses the built-in nodes.
    fn parent_for_delete(path: &str) -> Result<&str, ErrorCode> {
        match split_parent(path) {
            Some((parent, _)) if !path.contains('\0') && !DataTree::is_special_path(path) => {
                Ok(parent)
            }
            _ => Err(ErrorCode::BadArguments),
        }
    }

    fn single(&mut self, request: &mut Request) -> Prepared {
        self.op(request.op(), request)
    }

    /// `pRequest2Txn` for one op (also used for each op of a multi).
    fn op(&mut self, op: OpCode, request: &mut Request) -> Prepared {
        match request {
            Request::Create(create)
            | Request::Create2(create)
            | Request::CreateContainer(create) => self.create(op, create, None),
            Request::CreateTtl(create) => self.create_ttl(create),
            Request::Delete(delete) => self.delete(&delete.path, delete.version),
            Request::DeleteContainer(delete) => self.delete_container(&delete.path),
            Request::SetData(set) => self.set_data(set),
            Request::SetAcl(set) => self.set_acl(&set.path, &set.acl, set.version),
            Request::Check(check) => self.check(check),
            Request::Reconfig(_) => {
                // Standalone keel has no reconfiguration: Apache answers
                // ReconfigDisabled when it is off (the default) and
                // Unimplemented in standalone when it is on.
                if self.tree.config.reconfig_enabled {
                    Err(ErrorCode::Unimplemented)
                } else {
                    Err(ErrorCode::ReconfigDisabled)
                }
            }
            Request::CloseSession => Ok(self.close_session()),
            // Apache fails a non-write op inside a multi with a marshalling
            // error (its txn record is missing).
            _ => Err(ErrorCode::MarshallingError),
        }
    }

    fn create_ttl(&mut self, request: &mut CreateTtlRequest) -> Prepared {
        let mut create = CreateRequest {
            path: std::mem::take(&mut request.path),
            data: request.data.take(),
            acl: std::mem::take(&mut request.acl),
            flags: request.flags,
        };
        self.create(OpCode::CreateTtl, &mut create, Some(request.ttl))
    }

    /// `pRequest2TxnCreate`.
    fn create(&mut self, op: OpCode, request: &mut CreateRequest, ttl: Option<i64>) -> Prepared {
        let mode = CreateMode::from_flag(request.flags).ok_or(ErrorCode::BadArguments)?;
        let ttl = ttl.unwrap_or(-1);
        // validateCreateRequest
        if mode.is_ttl() && !self.tree.config.extended_types_enabled {
            return Err(ErrorCode::Unimplemented);
        }
        if mode.is_ttl() {
            ttl_owner(ttl).ok_or(ErrorCode::BadArguments)?;
        } else if ttl >= 0 {
            return Err(ErrorCode::BadArguments);
        }
        // validatePathForCreate
        let parent_path = match split_parent(&request.path) {
            Some((parent, _)) if !request.path.contains('\0') => parent,
            _ => return Err(ErrorCode::BadArguments),
        };
        let acl = self.fixup_acl(&request.acl)?;
        let parent = self.record(parent_path)?;
        self.check_acl(&parent.acl, perms::CREATE)?;
        let parent_stat = parent.stat.clone().expect("record() returns live nodes");
        let mut path = std::mem::take(&mut request.path);
        if mode.is_sequential() {
            path.push_str(&format!("{:010}", parent_stat.cversion));
        }
        bad_arguments_unless_valid(&path)?;
        let hash = path_hash(&path);
        if self.exists_hashed(hash, &path) {
            return Err(ErrorCode::NodeExists);
        }
        if self.tree.ephemeral_type(parent_stat.ephemeral_owner) == EphemeralType::Normal {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        let new_cversion = parent_stat.cversion + 1;
        let data = request.data.take();
        let owner = if mode.is_container() {
            CONTAINER_OWNER
        } else if mode.is_ttl() {
            ttl_owner(ttl).expect("checked above")
        } else if mode.is_ephemeral() {
            self.context.session.0
        } else {
            0
        };
        let zxid = self.zxid();
        let stat = new_stat(zxid.0, self.context.time_ms, owner);
        let digest = node_digest(&path, data.as_deref(), &stat);
        let body = match op {
            OpCode::CreateContainer => TxnBody::CreateContainer(CreateContainerTxn {
                path: path.clone(),
                data: data.clone(),
                acl: acl.clone(),
                parent_c_version: new_cversion,
            }),
            OpCode::CreateTtl => TxnBody::CreateTtl(CreateTtlTxn {
                path: path.clone(),
                data: data.clone(),
                acl: acl.clone(),
                parent_c_version: new_cversion,
                ttl,
            }),
            _ => TxnBody::Create(CreateTxn {
                path: path.clone(),
                data: data.clone(),
                acl: acl.clone(),
                ephemeral: mode.is_ephemeral(),
                parent_c_version: new_cversion,
            }),
        };
        let mut parent = parent;
        parent.zxid = zxid;
        parent.child_count += 1;
        self.add_stat_change(parent, |stat| {
            stat.cversion = new_cversion;
            stat.pzxid = zxid.0;
        });
        self.add_change(
            ChangeRecord {
                zxid,
                path: Arc::from(path),
                hash,
                stat: Some(stat),
                child_count: 0,
                acl: acl.into(),
                node_digest: digest,
                tree_digest: 0,
            },
            0,
        );
        Ok((op, body))
    }

    /// Records `node` deleted and its `parent` one child short.
    fn record_deletion(&mut self, parent: ChangeRecord, node: ChangeRecord) {
        let zxid = self.zxid();
        let mut parent = parent;
        parent.zxid = zxid;
        parent.child_count = parent.child_count.saturating_sub(1);
        self.add_stat_change(parent, |stat| stat.pzxid = zxid.0);
        self.add_deletion(node);
    }

    fn delete(&mut self, path: &str, version: i32) -> Prepared {
        let parent_path = Self::parent_for_delete(path)?;
        let parent = self.record(parent_path)?;
        self.check_acl(&parent.acl, perms::DELETE)?;
        let node = self.record(path)?;
        let node_stat = node.stat.as_ref().expect("record() returns live nodes");
        check_and_increment_version(node_stat.version, version)?;
        if node.child_count > 0 {
            return Err(ErrorCode::NotEmpty);
        }
        self.record_deletion(parent, node);
        Ok((
            OpCode::Delete,
            TxnBody::Delete(DeleteTxn {
                path: path.to_string(),
            }),
        ))
    }

    /// deleteContainer (20) checks no ACL and deletes any childless node that
    /// is not a session's ephemeral (a wrong type is BadVersion in Apache).
    fn delete_container(&mut self, path: &str) -> Prepared {
        let parent_path = Self::parent_for_delete(path)?;
        let node = self.record(path)?;
        if node.child_count > 0 {
            return Err(ErrorCode::NotEmpty);
        }
        let owner = node.stat.as_ref().map_or(0, |stat| stat.ephemeral_owner);
        if self.tree.ephemeral_type(owner) == EphemeralType::Normal {
            return Err(ErrorCode::BadVersion);
        }
        let parent = self.record(parent_path)?;
        self.record_deletion(parent, node);
        Ok((
            OpCode::DeleteContainer,
            TxnBody::Delete(DeleteTxn {
                path: path.to_string(),
            }),
        ))
    }

    fn set_data(&mut self, request: &mut SetDataRequest) -> Prepared {
        let path = request.path.as_str();
        let version = request.version;
        bad_arguments_unless_valid(path)?;
        let mut node = self.record(path)?;
        self.check_acl(&node.acl, perms::WRITE)?;
        let stat = node.stat.as_mut().expect("record() returns live nodes");
        let new_version = check_and_increment_version(stat.version, version)?;
        let zxid = self.zxid();
        stat.version = new_version;
        stat.mtime = self.context.time_ms;
        stat.mzxid = zxid.0;
        node.zxid = zxid;
        let before_digest = node.node_digest;
        node.node_digest = node_digest(path, request.data.as_deref(), stat);
        self.add_change(node, before_digest);
        Ok((
            OpCode::SetData,
            TxnBody::SetData(SetDataTxn {
                path: std::mem::take(&mut request.path),
                data: request.data.take(),
                version: new_version,
            }),
        ))
    }

    fn set_acl(&mut self, path: &str, acl: &[Acl], version: i32) -> Prepared {
        bad_arguments_unless_valid(path)?;
        let acl = self.fixup_acl(acl)?;
        let mut node = self.record(path)?;
        self.check_acl(&node.acl, perms::ADMIN)?;
        let stat = node.stat.as_ref().expect("record() returns live nodes");
        let new_version = check_and_increment_version(stat.aversion, version)?;
        // Apache's record keeps the old ACL until the txn is applied; later
        // pending requests are checked against it.
        node.zxid = self.zxid();
        self.add_stat_change(node, |stat| stat.aversion = new_version);
        Ok((
            OpCode::SetAcl,
            TxnBody::SetAcl(SetAclTxn {
                path: path.to_string(),
                acl,
                version: new_version,
            }),
        ))
    }

    fn check(&mut self, request: &CheckVersionRequest) -> Prepared {
        bad_arguments_unless_valid(&request.path)?;
        let node = self.record(&request.path)?;
        self.check_acl(&node.acl, perms::READ)?;
        let stat = node.stat.as_ref().expect("record() returns live nodes");
        let version = check_and_increment_version(stat.version, request.version)?;
        Ok((
            OpCode::Check,
            TxnBody::Check(CheckVersionTxn {
                path: request.path.clone(),
                version,
            }),
        ))
    }

    /// closeSession: the session's ephemerals, as the tree plus pending changes
    /// will have them, are deleted by the txn.
    fn close_session(&mut self) -> (OpCode, TxnBody) {
        let session = self.context.session;
        let mut paths = self.tree.ephemerals(session);
        for record in self.pending.records() {
            match &record.stat {
                None => {
                    paths.remove(&*record.path);
                }
                Some(stat) if stat.ephemeral_owner == session.0 => {
                    paths.insert(record.path.to_string());
                }
                Some(_) => {}
            }
        }
        let zxid = self.zxid();
        for path in &paths {
            // With digests enabled (Apache's default) the parent's pzxid is
            // recorded too; its child count is left alone, as in Apache.
            if let Ok(parent_path) = Self::parent_for_delete(path) {
                if let Ok(mut parent) = self.record(parent_path) {
                    parent.zxid = zxid;
                    self.add_stat_change(parent, |stat| stat.pzxid = zxid.0);
                }
            }
            // The node is live (the tree's or a pending create's): its digest
            // leaves the tree's.
            let node = self.record(path).unwrap_or_else(|_| ChangeRecord {
                zxid,
                path: Arc::from(path.as_str()),
                hash: path_hash(path),
                stat: None,
                child_count: 0,
                acl: Arc::from([]),
                node_digest: 0,
                tree_digest: 0,
            });
            self.add_deletion(node);
        }
        let body = if self.tree.config.close_session_txn_enabled {
            TxnBody::CloseSession(Some(CloseSessionTxn {
                paths_to_delete: self.tree.ephemerals_in_apache_order(session, paths),
            }))
        } else {
            TxnBody::CloseSession(None)
        };
        (OpCode::CloseSession, body)
    }

    /// A multi: every op prepared with the same zxid; after the first failure
    /// the rest become RuntimeInconsistency errors and the changes of the ops
    /// before it are rolled back.
    fn multi(&mut self, multi: &mut MultiRequest) -> TxnBody {
        let mut txns = Vec::with_capacity(multi.ops.len());
        let mut failed = false;
        for op in multi.ops.iter_mut() {
            let (op_code, body) = if failed {
                (
                    OpCode::Error,
                    TxnBody::Error(ErrorTxn {
                        err: ErrorCode::RuntimeInconsistency.as_i32(),
                    }),
                )
            } else {
                match self.op(op.op(), &mut take_multi_op(op)) {
                    Ok(prepared) => prepared,
                    Err(code) => {
                        failed = true;
                        self.pending.roll_back(self.zxid());
                        (
                            OpCode::Error,
                            TxnBody::Error(ErrorTxn { err: code.as_i32() }),
                        )
                    }
                }
            };
            txns.push(TxnBody::to_multi_entry(op_code, &body));
        }
        TxnBody::Multi(MultiTxn { txns })
    }
}

/// A multi op as the standalone request it stands for, its path and data
/// moved out (the multi keeps its op codes, all the server needs of it after
/// prepare).
fn take_multi_op(op: &mut MultiOp) -> Request {
    match op {
        MultiOp::Create { op, request } => {
            let request = std::mem::take(request);
            match op {
                OpCode::Create2 => Request::Create2(request),
                OpCode::CreateContainer => Request::CreateContainer(request),
                _ => Request::Create(request),
            }
        }
        MultiOp::CreateTtl(request) => Request::CreateTtl(std::mem::take(request)),
        MultiOp::Delete(request) => Request::Delete(std::mem::take(request)),
        MultiOp::SetData(request) => Request::SetData(std::mem::take(request)),
        MultiOp::Check(request) => Request::Check(std::mem::take(request)),
        MultiOp::GetChildren(request) => Request::GetChildren(std::mem::take(request)),
        MultiOp::GetData(request) => Request::GetData(std::mem::take(request)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_checks_and_wrap() {
        assert_eq!(check_and_increment_version(3, -1), Ok(4));
        assert_eq!(check_and_increment_version(3, 3), Ok(4));
        assert_eq!(
            check_and_increment_version(3, 2),
            Err(ErrorCode::BadVersion)
        );
        assert_eq!(check_and_increment_version(i32::MAX, -1), Ok(i32::MIN));
        assert_eq!(check_and_increment_version(-2, -1), Ok(0));
    }

    #[test]
    fn pending_changes_forget_applied_records() {
        let mut pending = PendingChanges::default();
        let record = |zxid: i64, path: &str| ChangeRecord {
            zxid: Zxid(zxid),
            path: Arc::from(path),
            hash: path_hash(path),
            stat: Some(StatPersisted::default()),
            child_count: 0,
            acl: Arc::from([]),
            node_digest: 0,
            tree_digest: 0,
        };
        pending.add(record(1, "/a"));
        pending.add(record(2, "/a"));
        pending.add(record(3, "/b"));
        pending.applied(Zxid(1));
        assert_eq!(pending.get("/a").unwrap().zxid, Zxid(2));
        pending.roll_back(Zxid(3));
        assert!(pending.get("/b").is_none());
        pending.applied(Zxid(2));
        assert!(pending.is_empty());
        assert!(pending.get("/a").is_none());
    }

    #[test]
    fn rolling_back_a_multi_restores_the_previous_record() {
        let mut pending = PendingChanges::default();
        let record = |zxid: i64, path: &str, version: i32| ChangeRecord {
            zxid: Zxid(zxid),
            path: Arc::from(path),
            hash: path_hash(path),
            stat: Some(StatPersisted {
                version,
                ..StatPersisted::default()
            }),
            child_count: 0,
            acl: Arc::from([]),
            node_digest: 0,
            tree_digest: 0,
        };
        pending.add(record(1, "/a", 1));
        pending.add(record(1, "/b", 1));
        pending.add(record(2, "/a", 2));
        pending.add(record(2, "/c", 2));
        pending.roll_back(Zxid(2));
        assert_eq!(pending.len(), 2);
        assert_eq!(pending.get("/a").unwrap().stat.as_ref().unwrap().version, 1);
        assert!(pending.get("/c").is_none());
        pending.applied(Zxid(1));
        assert!(pending.get("/a").is_none() && pending.get("/b").is_none());
        // Numbers keep counting after records go.
        pending.add(record(3, "/a", 3));
        assert_eq!(pending.get("/a").unwrap().zxid, Zxid(3));
    }
}
