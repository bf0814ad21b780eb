//! Apply: a prepared txn, its zxid and its time in; the result and the watch
//! notifications out, and the txn's tree digest compared with the tree's.
//! Mirrors Apache's `DataTree.processTxn`, and
//! `TxnResult::reply` mirrors what `FinalRequestProcessor` answers for a write.

use super::data_tree::DataTree;
use super::ephemeral::{ttl_owner, CONTAINER_OWNER};
use super::ids::{SessionId, Zxid};
use super::path::split_parent;
use super::watch::Notification;
use crate::zookeeper::jute::codec::BUFFER_BYTES_MAX_DEFAULT;
use crate::zookeeper::jute::proto::{Create2Response, CreateResponse};
use crate::zookeeper::jute::txn::ErrorTxn;
use crate::zookeeper::jute::{
    ErrorCode, MultiResponse, OpCode, OpResult, Response, Stat, TxnBody, TxnEntry, TxnHeader,
};

/// What applying one txn did (Apache's `ProcessTxnResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnResult {
    pub client_id: SessionId,
    pub cxid: i32,
    pub zxid: Zxid,
    /// The op code of the txn (error (-1) for a failed request).
    pub op: OpCode,
    pub err: ErrorCode,
    pub path: Option<String>,
    pub stat: Option<Stat>,
    /// One result per sub-txn of a multi.
    pub multi: Vec<TxnResult>,
}

/// The outcome of `DataTree::apply`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub result: TxnResult,
    /// In the order Apache fires them; the server delivers them before the
    /// reply to the request that caused them.
    pub notifications: Vec<Notification>,
}

impl TxnResult {
    fn new(header: &TxnHeader) -> TxnResult {
        TxnResult {
            client_id: SessionId(header.client_id),
            cxid: header.cxid,
            zxid: Zxid(header.zxid),
            op: OpCode::from_i32(header.op),
            err: ErrorCode::Ok,
            path: None,
            stat: None,
            multi: Vec::new(),
        }
    }

    /// The reply to the client request `request_op` that produced this txn:
    /// the reply header's error code and the body, as `FinalRequestProcessor`
    /// builds them. A failed request (txn type error) answers with its code and
    /// no body; a multi always answers Ok with per-op results.
    pub fn reply(&self, request_op: OpCode) -> (ErrorCode, Option<Response>) {
        if self.op == OpCode::Error {
            return (self.err, None);
        }
        let stat = || self.stat.clone().unwrap_or_default();
        let path = || self.path.clone().unwrap_or_default();
        let body = match request_op {
            OpCode::Multi => {
                let results = self.multi.iter().map(TxnResult::op_result).collect();
                return (
                    ErrorCode::Ok,
                    Some(Response::Multi(MultiResponse { results })),
                );
            }
            OpCode::Create => Some(Response::Create(CreateResponse { path: path() })),
            OpCode::Create2 | OpCode::CreateTtl | OpCode::CreateContainer => {
                Some(Response::Create2(Create2Response {
                    path: path(),
                    stat: stat(),
                }))
            }
            OpCode::SetData | OpCode::SetAcl | OpCode::Check => Some(Response::Stat(stat())),
            _ => None,
        };
        if !self.err.is_ok() {
            return (self.err, None);
        }
        (ErrorCode::Ok, body)
    }

    fn op_result(&self) -> OpResult {
        match self.op {
            OpCode::Check => OpResult::Check,
            OpCode::Create => OpResult::Create {
                path: self.path.clone().unwrap_or_default(),
            },
            OpCode::Create2 | OpCode::CreateTtl | OpCode::CreateContainer => OpResult::Create2 {
                path: self.path.clone().unwrap_or_default(),
                stat: self.stat.clone().unwrap_or_default(),
            },
            OpCode::Delete | OpCode::DeleteContainer => OpResult::Delete,
            OpCode::SetData => OpResult::SetData {
                stat: self.stat.clone().unwrap_or_default(),
            },
            _ => OpResult::Error {
                err: self.err.as_i32(),
            },
        }
    }
}

impl DataTree {
    /// Applies a txn. Never fails: errors land in the result, as in Apache.
    pub fn apply(&mut self, entry: &TxnEntry) -> Applied {
        let mut notifications = Vec::new();
        let result = self.apply_one(&entry.header, &entry.body, &mut notifications);
        let zxid = Zxid(entry.header.zxid);
        if zxid > self.last_processed_zxid {
            self.last_processed_zxid = zxid;
        }
        // Apache's `processTxn(hdr, txn, digest)`: the digest the txn carries
        // (from this server's own prepare, the log, or a leader) is the one
        // the tree must have now. A mismatch is counted and logged only.
        if self.config.tree_digest_enabled {
            self.digest_audit
                .txn_applied(zxid, self.digest, entry.digest.as_ref());
        }
        Applied {
            result,
            notifications,
        }
    }

    fn apply_one(
        &mut self,
        header: &TxnHeader,
        body: &TxnBody,
        out: &mut Vec<Notification>,
    ) -> TxnResult {
        let mut result = TxnResult::new(header);
        let zxid = Zxid(header.zxid);
        let time = header.time;
        let outcome: Result<(), ErrorCode> = match body {
            TxnBody::Create(txn) => {
                result.path = Some(txn.path.clone());
                let owner = if txn.ephemeral { header.client_id } else { 0 };
                self.create_node(
                    &txn.path,
                    txn.data.clone(),
                    &txn.acl,
                    owner,
                    txn.parent_c_version,
                    zxid,
                    time,
                    out,
                )
                .map(|stat| {
                    // A plain create (1) reports no Stat.
                    if result.op != OpCode::Create {
                        result.stat = Some(stat);
                    }
                })
            }
            TxnBody::CreateTtl(txn) => {
                result.path = Some(txn.path.clone());
                // Prepare validated the TTL; a log entry with a bad one gets
                // Apache's exception turned into a failed result.
                match ttl_owner(txn.ttl) {
                    Some(owner) => self
                        .create_node(
                            &txn.path,
                            txn.data.clone(),
                            &txn.acl,
                            owner,
                            txn.parent_c_version,
                            zxid,
                            time,
                            out,
                        )
                        .map(|stat| result.stat = Some(stat)),
                    None => Err(ErrorCode::BadArguments),
                }
            }
            TxnBody::CreateContainer(txn) => {
                result.path = Some(txn.path.clone());
                self.create_node(
                    &txn.path,
                    txn.data.clone(),
                    &txn.acl,
                    CONTAINER_OWNER,
                    txn.parent_c_version,
                    zxid,
                    time,
                    out,
                )
                .map(|stat| result.stat = Some(stat))
            }
            TxnBody::Delete(txn) => {
                result.path = Some(txn.path.clone());
                self.delete_node(&txn.path, zxid, out)
            }
            TxnBody::SetData(txn) => {
                result.path = Some(txn.path.clone());
                self.set_data(&txn.path, txn.data.clone(), txn.version, zxid, time, out)
                    .map(|stat| result.stat = Some(stat))
            }
            TxnBody::SetAcl(txn) => {
                result.path = Some(txn.path.clone());
                self.set_acl(&txn.path, &txn.acl, txn.version)
                    .map(|stat| result.stat = Some(stat))
            }
            TxnBody::CloseSession(txn) => {
                let paths = txn.as_ref().map(|txn| txn.paths_to_delete.as_slice());
                self.kill_session(SessionId(header.client_id), zxid, paths, out);
                Ok(())
            }
            TxnBody::Error(txn) => Err(ErrorCode::from_i32(txn.err)),
            TxnBody::Check(txn) => {
                result.path = Some(txn.path.clone());
                Ok(())
            }
            TxnBody::CreateSession(_) => Ok(()),
            TxnBody::Multi(multi) => {
                self.apply_multi(header, multi, &mut result, out);
                Ok(())
            }
        };
        if let Err(code) = outcome {
            result.err = code;
        }

        // Replaying a create whose node a fuzzy snapshot already holds: Apache
        // still moves the parent's cversion and pzxid forward.
        if result.op == OpCode::Create && result.err == ErrorCode::NodeExists {
            if let TxnBody::Create(txn) = body {
                if let Some((parent, _)) = split_parent(&txn.path) {
                    if let Err(code) = self.set_cversion_pzxid(parent, txn.parent_c_version, zxid) {
                        result.err = code;
                    }
                }
            }
        }
        result
    }

    /// A multi's sub-txns all share its header. If any sub-txn is an error the
    /// whole multi failed in prepare: the sub-txns before the failing one report
    /// Ok (0), the failing one its code, the rest RuntimeInconsistency (-2).
    fn apply_multi(
        &mut self,
        header: &TxnHeader,
        multi: &crate::zookeeper::jute::txn::MultiTxn,
        result: &mut TxnResult,
        out: &mut Vec<Notification>,
    ) {
        let failed = multi
            .txns
            .iter()
            .any(|txn| OpCode::from_i32(txn.op) == OpCode::Error);
        let mut past_failure = false;
        for entry in &multi.txns {
            let mut op = OpCode::from_i32(entry.op);
            let body = if failed && op != OpCode::Error {
                let err = if past_failure {
                    ErrorCode::RuntimeInconsistency
                } else {
                    ErrorCode::Ok
                };
                op = OpCode::Error;
                TxnBody::Error(ErrorTxn { err: err.as_i32() })
            } else {
                if op == OpCode::Error {
                    past_failure = true;
                }
                match TxnBody::read_multi_entry(entry, BUFFER_BYTES_MAX_DEFAULT) {
                    Ok(body) => body,
                    // Apache stops processing the multi on an undecodable
                    // sub-txn; it cannot come from keel's own prepare.
                    Err(_) => break,
                }
            };
            let sub_header = TxnHeader {
                op: op.as_i32(),
                ..header.clone()
            };
            let sub_result = self.apply_one(&sub_header, &body, out);
            if !sub_result.err.is_ok() && result.err.is_ok() {
                result.err = sub_result.err;
            }
            result.multi.push(sub_result);
        }
    }
}
