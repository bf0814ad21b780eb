//! A server's write path without the server: requests prepared against a tree,
//! applied to it, and kept as the txns a log would hold. Plus `dump`, the text
//! form of a tree that the compat check compares with what Apache serves.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::zookeeper::jute::proto::{CreateRequest, DeleteRequest, SetAclRequest, SetDataRequest};
use crate::zookeeper::jute::{
    perms, Acl, CreateMode, Id, MultiOp, MultiRequest, OpCode, Request, Stat, TxnEntry,
};
use crate::zookeeper::tree::digest::generate_digest;
use crate::zookeeper::tree::{
    DataTree, PendingChanges, RequestContext, SessionId, TreeConfig, Zxid,
};

pub const START_TIME_MS: i64 = 1_700_000_000_000;
/// The digest identity the compat check's Java client authenticates as.
pub const DIGEST_USER_PASSWORD: &str = "keel:secret";

pub struct Workload {
    pub tree: DataTree,
    pub pending: PendingChanges,
    pub sessions: BTreeMap<SessionId, i32>,
    pub next_zxid: Zxid,
    pub time_ms: i64,
    /// Every txn so far, in zxid order.
    pub entries: Vec<TxnEntry>,
}

impl Workload {
    pub fn new() -> Workload {
        Workload {
            tree: DataTree::new(TreeConfig::default()),
            pending: PendingChanges::default(),
            sessions: BTreeMap::new(),
            next_zxid: Zxid(1),
            time_ms: START_TIME_MS,
            entries: Vec::new(),
        }
    }

    pub fn last_zxid(&self) -> Zxid {
        Zxid(self.next_zxid.0 - 1)
    }

    fn context<'a>(&self, session: SessionId, auth: &'a [Id]) -> RequestContext<'a> {
        RequestContext {
            session,
            cxid: self.entries.len() as i32,
            auth,
            zxid: self.next_zxid,
            time_ms: self.time_ms,
        }
    }

    fn apply(&mut self, entry: TxnEntry) -> TxnEntry {
        let _notifications = self.tree.apply(&entry);
        self.pending.applied(Zxid(entry.header.zxid));
        match entry.op() {
            OpCode::CreateSession => {
                if let crate::zookeeper::jute::TxnBody::CreateSession(txn) = &entry.body {
                    self.sessions
                        .insert(SessionId(entry.header.client_id), txn.time_out);
                }
            }
            OpCode::CloseSession => {
                self.sessions.remove(&SessionId(entry.header.client_id));
            }
            _ => {}
        }
        self.next_zxid = self.next_zxid.next();
        self.time_ms += 7;
        self.entries.push(entry.clone());
        entry
    }

    pub fn open_session(&mut self, session: SessionId, timeout_ms: i32) -> TxnEntry {
        let entry =
            self.tree
                .prepare_create_session(&self.pending, self.context(session, &[]), timeout_ms);
        self.apply(entry)
    }

    pub fn request(&mut self, session: SessionId, request: Request) -> TxnEntry {
        let auth = [Id::new("ip", "127.0.0.1")];
        let context = self.context(session, &auth);
        let entry = self
            .tree
            .prepare(&mut self.pending, context, &request)
            .expect("a write request");
        self.apply(entry)
    }

    pub fn create(
        &mut self,
        session: SessionId,
        path: &str,
        data: Option<&[u8]>,
        mode: CreateMode,
        acl: Vec<Acl>,
    ) -> TxnEntry {
        let entry = self.request(
            session,
            Request::Create(CreateRequest {
                path: path.to_string(),
                data: data.map(<[u8]>::to_vec),
                acl,
                flags: mode.flag(),
            }),
        );
        assert_ne!(entry.op(), OpCode::Error, "create {path}: {:?}", entry.body);
        entry
    }

    pub fn set(&mut self, session: SessionId, path: &str, data: &[u8]) -> TxnEntry {
        self.request(
            session,
            Request::SetData(SetDataRequest {
                path: path.to_string(),
                data: Some(data.to_vec()),
                version: -1,
            }),
        )
    }

    pub fn delete(&mut self, session: SessionId, path: &str) -> TxnEntry {
        self.request(
            session,
            Request::Delete(DeleteRequest {
                path: path.to_string(),
                version: -1,
            }),
        )
    }

    pub fn close_session(&mut self, session: SessionId) -> TxnEntry {
        self.request(session, Request::CloseSession)
    }

    /// A bit of everything the log and snapshot must carry: persistent,
    /// ephemeral (of a live and of a closed session), sequential and container
    /// nodes, null and binary data, sets, deletes, digest / ip / read-only
    /// ACLs, an ACL change, a multi and a failed request.
    pub fn run_mixed(&mut self, first: SessionId, second: SessionId, stage: u32) {
        let open = Acl::open_unsafe();
        let prefix = format!("/stage{stage}");
        self.create(
            first,
            &prefix,
            Some(b"stage"),
            CreateMode::Persistent,
            open.clone(),
        );
        self.create(
            first,
            &format!("{prefix}/null"),
            None,
            CreateMode::Persistent,
            open.clone(),
        );
        self.create(
            first,
            &format!("{prefix}/binary"),
            Some(&[0, 1, 2, 0xfe, 0xff]),
            CreateMode::Persistent,
            open.clone(),
        );
        for _ in 0..3 {
            self.create(
                first,
                &format!("{prefix}/seq-"),
                Some(b"s"),
                CreateMode::PersistentSequential,
                open.clone(),
            );
        }
        self.delete(first, &format!("{prefix}/seq-0000000001"));
        self.set(first, &format!("{prefix}/binary"), b"changed");
        self.set(first, &format!("{prefix}/binary"), b"changed again");
        self.create(
            first,
            &format!("{prefix}/ephemeral"),
            Some(b"mine"),
            CreateMode::Ephemeral,
            open.clone(),
        );
        self.create(
            second,
            &format!("{prefix}/ephemeral-seq-"),
            Some(b"theirs"),
            CreateMode::EphemeralSequential,
            open.clone(),
        );
        let digest_acl = vec![
            Acl::new(
                perms::ALL,
                Id::new("digest", &generate_digest(DIGEST_USER_PASSWORD)),
            ),
            Acl::new(perms::READ, Id::new("ip", "127.0.0.1")),
        ];
        self.create(
            first,
            &format!("{prefix}/digest"),
            Some(b"d"),
            CreateMode::Persistent,
            digest_acl,
        );
        self.create(
            first,
            &format!("{prefix}/readonly"),
            Some(b"r"),
            CreateMode::Persistent,
            Acl::read_unsafe(),
        );
        self.create(
            first,
            &format!("{prefix}/container"),
            None,
            CreateMode::Container,
            open.clone(),
        );
        self.create(
            first,
            &format!("{prefix}/container/child"),
            None,
            CreateMode::Persistent,
            open.clone(),
        );
        self.request(
            first,
            Request::SetAcl(SetAclRequest {
                path: format!("{prefix}/null"),
                acl: vec![Acl::new(perms::READ | perms::WRITE, Id::anyone())],
                version: -1,
            }),
        );
        let multi = self.request(
            first,
            Request::Multi(MultiRequest {
                ops: vec![
                    MultiOp::Create {
                        op: OpCode::Create,
                        request: CreateRequest {
                            path: format!("{prefix}/multi"),
                            data: Some(b"m".to_vec()),
                            acl: open.clone(),
                            flags: 0,
                        },
                    },
                    MultiOp::SetData(SetDataRequest {
                        path: prefix.clone(),
                        data: Some(b"stage after multi".to_vec()),
                        version: -1,
                    }),
                ],
            }),
        );
        assert_eq!(multi.op(), OpCode::Multi);
        // A failed request is logged too (as an error txn) and changes nothing.
        let failed = self.delete(first, "/does-not-exist");
        assert_eq!(failed.op(), OpCode::Error);
    }
}

/// One line per node, sorted by path: data in hex ("null" for null data), the
/// client Stat and the ACL. The Java side of the compat check prints the same.
pub fn dump(tree: &DataTree) -> String {
    let mut paths: Vec<String> = tree
        .nodes_in_snapshot_order()
        .into_iter()
        .map(|(path, _)| {
            if path.is_empty() {
                "/".to_string()
            } else {
                path
            }
        })
        .collect();
    paths.sort();
    let mut out = String::new();
    for path in paths {
        let node = tree.node(&path).expect("listed node");
        let stat = tree.stat(&path).expect("listed node");
        let acl = tree.acl(node);
        writeln!(
            out,
            "{}",
            dump_line(&path, node.data.as_deref(), &stat, acl)
        )
        .unwrap();
    }
    out
}

pub fn dump_line(path: &str, data: Option<&[u8]>, stat: &Stat, acl: &[Acl]) -> String {
    let data = match data {
        None => "null".to_string(),
        Some(bytes) => bytes.iter().map(|byte| format!("{byte:02x}")).collect(),
    };
    let acl: Vec<String> = acl
        .iter()
        .map(|entry| format!("{}:{}:{}", entry.perms, entry.id.scheme, entry.id.id))
        .collect();
    format!(
        "{path} data={data} stat={},{},{},{},{},{},{},{},{},{},{} acl={}",
        stat.czxid,
        stat.mzxid,
        stat.ctime,
        stat.mtime,
        stat.version,
        stat.cversion,
        stat.aversion,
        stat.ephemeral_owner,
        stat.data_length,
        stat.num_children,
        stat.pzxid,
        acl.join(";")
    )
}
