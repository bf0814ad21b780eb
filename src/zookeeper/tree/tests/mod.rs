//! Scenario tests: requests through prepare and apply (or read) on a real tree,
//! checking replies, Stat fields, multi results and watch events against what
//! Apache's server does for the same sequence.

mod acl;
mod create;
mod delete_and_set;
mod multi;
mod reads;
mod sessions;
mod watches;

use super::*;
use crate::zookeeper::jute::proto::{
    CreateRequest, CreateTtlRequest, DeleteRequest, ExistsRequest, GetChildrenRequest,
    GetDataRequest, SetDataRequest,
};
use crate::zookeeper::jute::{
    Acl, CreateMode, ErrorCode, EventType, Id, OpCode, Request, Response, Stat, TxnEntry,
};

pub(super) const SESSION: SessionId = SessionId(0x0100_0000_0000_0001);
pub(super) const OTHER_SESSION: SessionId = SessionId(0x0100_0000_0000_0002);
pub(super) const WATCHER: WatcherId = WatcherId(1);
pub(super) const OTHER_WATCHER: WatcherId = WatcherId(2);
/// Zxids start in epoch 1, as after a first election.
pub(super) const FIRST_ZXID: i64 = 0x1_0000_0001;
pub(super) const START_TIME_MS: i64 = 1_700_000_000_000;

/// What a write produced.
#[derive(Debug)]
pub(super) struct Written {
    pub entry: TxnEntry,
    pub err: ErrorCode,
    pub response: Option<Response>,
    pub notifications: Vec<Notification>,
}

impl Written {
    pub fn stat(&self) -> Stat {
        match &self.response {
            Some(Response::Stat(stat)) => stat.clone(),
            Some(Response::Create2(create)) => create.stat.clone(),
            other => panic!("no stat in {other:?}"),
        }
    }

    pub fn path(&self) -> String {
        match &self.response {
            Some(Response::Create(create)) => create.path.clone(),
            Some(Response::Create2(create)) => create.path.clone(),
            other => panic!("no path in {other:?}"),
        }
    }
}

/// A tree plus a server's bookkeeping: one zxid per write, a clock that ticks
/// one millisecond per write, a session with its auth ids.
pub(super) struct Harness {
    pub tree: DataTree,
    pub pending: PendingChanges,
    pub next_zxid: Zxid,
    pub time_ms: i64,
    pub auth: Vec<Id>,
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_config(TreeConfig::default())
    }

    pub fn with_config(config: TreeConfig) -> Harness {
        Harness {
            tree: DataTree::new(config),
            pending: PendingChanges::default(),
            next_zxid: Zxid(FIRST_ZXID),
            time_ms: START_TIME_MS,
            auth: vec![Id::new("ip", "127.0.0.1")],
        }
    }

    /// Prepares without applying, as the pipeline does while the log is busy.
    pub fn prepare_as(&mut self, session: SessionId, request: &Request) -> TxnEntry {
        let context = RequestContext {
            session,
            cxid: 1,
            auth: &self.auth,
            zxid: self.next_zxid,
            time_ms: self.time_ms,
        };
        let entry = self
            .tree
            .prepare(&mut self.pending, context, request)
            .expect("a write request");
        self.next_zxid = self.next_zxid.next();
        self.time_ms += 1;
        entry
    }

    /// Applies `entry`, checking the tree digest on the way: the digest
    /// prepare attached is the tree's once applied, and the digest kept
    /// incrementally is the one computed from scratch.
    pub fn apply(&mut self, entry: TxnEntry, request_op: OpCode) -> Written {
        let applied = self.tree.apply(&entry);
        self.pending.applied(Zxid(entry.header.zxid));
        assert_eq!(
            self.tree.digest(),
            self.tree.digest_from_scratch(),
            "incremental digest after {entry:?}"
        );
        if let Some(digest) = &entry.digest {
            assert_eq!(digest.tree_digest, self.tree.digest(), "{entry:?}");
        }
        assert_eq!(self.tree.digest_mismatches_count(), 0);
        let (err, response) = applied.result.reply(request_op);
        Written {
            entry,
            err,
            response,
            notifications: applied.notifications,
        }
    }

    pub fn write_as(&mut self, session: SessionId, request: Request) -> Written {
        let entry = self.prepare_as(session, &request);
        self.apply(entry, request.op())
    }

    pub fn write(&mut self, request: Request) -> Written {
        self.write_as(SESSION, request)
    }

    pub fn read_as(
        &mut self,
        session: SessionId,
        watcher: WatcherId,
        request: Request,
    ) -> ReadOutcome {
        let context = ReadContext {
            session,
            auth: &self.auth,
            watcher,
        };
        self.tree.read(context, &request).expect("a read request")
    }

    pub fn read(&mut self, request: Request) -> ReadOutcome {
        self.read_as(SESSION, WATCHER, request)
    }

    pub fn create_with(
        &mut self,
        path: &str,
        data: &[u8],
        mode: CreateMode,
        acl: Vec<Acl>,
    ) -> Written {
        self.write(Request::Create2(CreateRequest {
            path: path.to_string(),
            data: Some(data.to_vec()),
            acl,
            flags: mode.flag(),
        }))
    }

    pub fn create(&mut self, path: &str, mode: CreateMode) -> Written {
        self.create_with(path, b"", mode, Acl::open_unsafe())
    }

    pub fn create_ok(&mut self, path: &str) -> Written {
        let written = self.create(path, CreateMode::Persistent);
        assert_eq!(written.err, ErrorCode::Ok, "create {path}");
        written
    }

    pub fn create_ttl(&mut self, path: &str, mode: CreateMode, ttl: i64) -> Written {
        self.write(Request::CreateTtl(CreateTtlRequest {
            path: path.to_string(),
            data: Some(Vec::new()),
            acl: Acl::open_unsafe(),
            flags: mode.flag(),
            ttl,
        }))
    }

    pub fn delete(&mut self, path: &str, version: i32) -> Written {
        self.write(Request::Delete(DeleteRequest {
            path: path.to_string(),
            version,
        }))
    }

    pub fn set_data(&mut self, path: &str, data: &[u8], version: i32) -> Written {
        self.write(Request::SetData(SetDataRequest {
            path: path.to_string(),
            data: Some(data.to_vec()),
            version,
        }))
    }

    pub fn stat(&self, path: &str) -> Stat {
        self.tree
            .stat(path)
            .unwrap_or_else(|| panic!("no node {path}"))
    }

    pub fn get_data_watch(&mut self, watcher: WatcherId, path: &str) -> ReadOutcome {
        self.read_as(
            SESSION,
            watcher,
            Request::GetData(GetDataRequest {
                path: path.to_string(),
                watch: true,
            }),
        )
    }

    pub fn exists_watch(&mut self, watcher: WatcherId, path: &str) -> ReadOutcome {
        self.read_as(
            SESSION,
            watcher,
            Request::Exists(ExistsRequest {
                path: path.to_string(),
                watch: true,
            }),
        )
    }

    pub fn children_watch(&mut self, watcher: WatcherId, path: &str) -> ReadOutcome {
        self.read_as(
            SESSION,
            watcher,
            Request::GetChildren(GetChildrenRequest {
                path: path.to_string(),
                watch: true,
            }),
        )
    }
}

/// (event, path, watchers) triples, for compact assertions.
pub(super) fn events(notifications: &[Notification]) -> Vec<(EventType, String, Vec<WatcherId>)> {
    notifications
        .iter()
        .map(|notification| {
            (
                notification.event_type,
                notification.path.clone(),
                notification.watchers.clone(),
            )
        })
        .collect()
}
