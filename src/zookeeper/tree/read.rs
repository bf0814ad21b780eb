//! Requests answered from the local tree without a txn: reads, watch
//! management, whoAmI, sync and ping. Mirrors the read half of Apache's
//! `FinalRequestProcessor`, including which watches each read leaves behind.

use super::auth::mask_digests;
use super::data_tree::DataTree;
use super::ids::{SessionId, WatcherId};
use super::watch::{Notification, WatchMode};
use crate::zookeeper::jute::proto::{
    ErrorResponse, GetAclResponse, GetAllChildrenNumberResponse, GetChildren2Response,
    GetChildrenResponse, GetDataResponse, GetEphemeralsResponse, SetWatches2, SyncResponse,
    WhoAmIResponse,
};
use crate::zookeeper::jute::{
    perms, AddWatchMode, ErrorCode, EventType, Id, MultiOp, MultiRequest, MultiResponse, OpResult,
    Request, Response, WatcherType,
};

/// Who is reading.
#[derive(Debug, Clone, Copy)]
pub struct ReadContext<'a> {
    pub session: SessionId,
    pub auth: &'a [Id],
    /// The connection's watcher id: where watches set by this request go.
    pub watcher: WatcherId,
}

/// The answer to a read: the reply header's error code, the body (none on
/// error), and any events the request itself triggers (setWatches), which the
/// server sends before the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOutcome {
    pub err: ErrorCode,
    pub response: Option<Response>,
    pub notifications: Vec<Notification>,
}

impl ReadOutcome {
    fn ok(response: Option<Response>) -> Self {
        ReadOutcome {
            err: ErrorCode::Ok,
            response,
            notifications: Vec::new(),
        }
    }

    fn error(err: ErrorCode) -> Self {
        ReadOutcome {
            err,
            response: None,
            notifications: Vec::new(),
        }
    }
}

impl DataTree {
    /// Answers a request that does not go through prepare and the log. Returns
    /// `None` for requests this does not handle (writes, auth, sasl, unknown op
    /// codes), which the server answers itself.
    pub fn read(&mut self, context: ReadContext<'_>, request: &Request) -> Option<ReadOutcome> {
        let result = match request {
            Request::Exists(exists) => self.exists(context, &exists.path, exists.watch),
            Request::GetData(get) => self
                .get_data(context, &get.path, get.watch)
                .map(|(data, stat)| Some(Response::GetData(GetDataResponse { data, stat }))),
            Request::GetChildren(get) => self
                .get_children(context, &get.path, get.watch)
                .map(|children| Some(Response::GetChildren(GetChildrenResponse { children }))),
            Request::GetChildren2(get) => self.get_children2(context, &get.path, get.watch),
            Request::GetAcl(get) => self.get_acl(context, &get.path),
            Request::GetAllChildrenNumber(get) => self.all_children(context, &get.path),
            Request::GetEphemerals(get) => Ok(self.session_ephemerals(context, &get.prefix_path)),
            Request::Sync(sync) => Ok(Some(Response::Sync(SyncResponse {
                path: sync.path.clone(),
            }))),
            Request::Ping => Ok(None),
            Request::WhoAmI => Ok(Some(Response::WhoAmI(WhoAmIResponse {
                client_info: self.config.auth.client_infos(context.auth),
            }))),
            Request::MultiRead(multi) => self.multi_read(context, multi),
            Request::CheckWatches(check) => {
                self.check_watches(context, &check.path, check.watcher_type, false)
            }
            Request::RemoveWatches(remove) => {
                self.check_watches(context, &remove.path, remove.watcher_type, true)
            }
            Request::AddWatch(add) => self.add_watch(context, &add.path, add.mode),
            Request::SetWatches(set) => {
                let set = SetWatches2 {
                    relative_zxid: set.relative_zxid,
                    data_watches: set.data_watches.clone(),
                    exist_watches: set.exist_watches.clone(),
                    child_watches: set.child_watches.clone(),
                    persistent_watches: Vec::new(),
                    persistent_recursive_watches: Vec::new(),
                };
                return Some(self.set_watches(context.watcher, &set));
            }
            Request::SetWatches2(set) => return Some(self.set_watches(context.watcher, set)),
            _ => return None,
        };
        Some(match result {
            Ok(response) => ReadOutcome::ok(response),
            Err(code) => ReadOutcome::error(code),
        })
    }

    fn check_read(&self, context: ReadContext<'_>, path: &str, perm: i32) -> Result<(), ErrorCode> {
        let acl = self.acl_of_path(path).ok_or(ErrorCode::NoNode)?;
        self.config.auth.check(acl, perm, context.auth)
    }

    /// exists: the watch is set whether or not the node exists (an exist watch
    /// then waits for its creation). Only a NUL in the path is refused.
    fn exists(
        &mut self,
        context: ReadContext<'_>,
        path: &str,
        watch: bool,
    ) -> Result<Option<Response>, ErrorCode> {
        if path.contains('\0') {
            return Err(ErrorCode::BadArguments);
        }
        if self.node(path).is_some() {
            self.check_read(context, path, perms::READ)?;
        }
        if watch {
            self.watches
                .data
                .add(path, context.watcher, WatchMode::Standard);
        }
        let stat = self.stat(path).ok_or(ErrorCode::NoNode)?;
        Ok(Some(Response::Stat(stat)))
    }

    /// getData: NoNode and NoAuth leave no watch.
    pub fn get_data(
        &mut self,
        context: ReadContext<'_>,
        path: &str,
        watch: bool,
    ) -> Result<(Option<Vec<u8>>, crate::zookeeper::jute::Stat), ErrorCode> {
        self.check_read(context, path, perms::READ)?;
        if watch {
            self.watches
                .data
                .add(path, context.watcher, WatchMode::Standard);
        }
        let node = self.node(path).ok_or(ErrorCode::NoNode)?;
        Ok((
            node.data_vec(),
            node.client_stat(self.config.extended_types_enabled),
        ))
    }

    pub fn get_children(
        &mut self,
        context: ReadContext<'_>,
        path: &str,
        watch: bool,
    ) -> Result<Vec<String>, ErrorCode> {
        self.check_read(context, path, perms::READ)?;
        if watch {
            self.watches
                .child
                .add(path, context.watcher, WatchMode::Standard);
        }
        let node = self.node(path).ok_or(ErrorCode::NoNode)?;
        Ok(node.children.iter().map(str::to_string).collect())
    }

    fn get_children2(
        &mut self,
        context: ReadContext<'_>,
        path: &str,
        watch: bool,
    ) -> Result<Option<Response>, ErrorCode> {
        let children = self.get_children(context, path, watch)?;
        let stat = self.stat(path).ok_or(ErrorCode::NoNode)?;
        Ok(Some(Response::GetChildren2(GetChildren2Response {
            children,
            stat,
        })))
    }

    /// getACL needs READ or ADMIN; without ADMIN the digest hashes are masked.
    fn get_acl(&self, context: ReadContext<'_>, path: &str) -> Result<Option<Response>, ErrorCode> {
        self.check_read(context, path, perms::READ | perms::ADMIN)?;
        let acl = self.acl_of_path(path).ok_or(ErrorCode::NoNode)?;
        let acl = match self.config.auth.check(acl, perms::ADMIN, context.auth) {
            Ok(()) => acl.to_vec(),
            Err(_) => mask_digests(acl),
        };
        let stat = self.stat(path).ok_or(ErrorCode::NoNode)?;
        Ok(Some(Response::GetAcl(GetAclResponse { acl, stat })))
    }

    fn all_children(
        &self,
        context: ReadContext<'_>,
        path: &str,
    ) -> Result<Option<Response>, ErrorCode> {
        self.check_read(context, path, perms::READ)?;
        Ok(Some(Response::AllChildrenNumber(
            GetAllChildrenNumberResponse {
                total_number: self.all_children_number(path) as i32,
            },
        )))
    }

    /// getEphemerals: the caller's own ephemerals, filtered by a plain string
    /// prefix (an empty or "/" prefix means all).
    fn session_ephemerals(&self, context: ReadContext<'_>, prefix: &str) -> Option<Response> {
        let all = self.ephemerals(context.session);
        let trimmed = prefix.trim();
        let ephemerals = if trimmed.is_empty() || trimmed == "/" {
            all.into_iter().collect()
        } else {
            all.into_iter()
                .filter(|path| path.starts_with(prefix))
                .collect()
        };
        Some(Response::Ephemerals(GetEphemeralsResponse { ephemerals }))
    }

    /// multiRead: each op answers on its own (an ErrorResult for a failed one);
    /// a write op inside is a marshalling error for the whole request.
    fn multi_read(
        &mut self,
        context: ReadContext<'_>,
        multi: &MultiRequest,
    ) -> Result<Option<Response>, ErrorCode> {
        if multi.ops.iter().any(|op| !op.is_read()) {
            return Err(ErrorCode::MarshallingError);
        }
        let mut results = Vec::with_capacity(multi.ops.len());
        for op in &multi.ops {
            let result = match op {
                MultiOp::GetChildren(get) => self
                    .get_children(context, &get.path, get.watch)
                    .map(|children| OpResult::GetChildren { children }),
                MultiOp::GetData(get) => self
                    .get_data(context, &get.path, get.watch)
                    .map(|(data, stat)| OpResult::GetData { data, stat }),
                _ => unreachable!("checked above"),
            };
            results.push(result.unwrap_or_else(|code| OpResult::Error { err: code.as_i32() }));
        }
        Ok(Some(Response::Multi(MultiResponse { results })))
    }

    /// checkWatches (17) and removeWatches (18): NoWatcher when there is none;
    /// an unknown watcher type is a marshalling error, as Apache's
    /// `WatcherType.fromInt` throws.
    fn check_watches(
        &mut self,
        context: ReadContext<'_>,
        path: &str,
        watcher_type: i32,
        remove: bool,
    ) -> Result<Option<Response>, ErrorCode> {
        let watcher_type = WatcherType::from_i32(watcher_type);
        if let WatcherType::Unknown(_) = watcher_type {
            return Err(ErrorCode::MarshallingError);
        }
        let found = if remove {
            self.watches.remove(path, watcher_type, context.watcher)
        } else {
            self.watches.contains(path, watcher_type, context.watcher)
        };
        if found {
            Ok(None)
        } else {
            Err(ErrorCode::NoWatcher)
        }
    }

    /// addWatch (106): no path or ACL check, as in Apache; the reply body is an
    /// ErrorResponse carrying 0. An unknown mode is a marshalling error.
    fn add_watch(
        &mut self,
        context: ReadContext<'_>,
        path: &str,
        mode: i32,
    ) -> Result<Option<Response>, ErrorCode> {
        let mode: Option<WatchMode> = AddWatchMode::from_i32(mode).into();
        let mode = mode.ok_or(ErrorCode::MarshallingError)?;
        self.watches.add_persistent(path, context.watcher, mode);
        Ok(Some(Response::Error(ErrorResponse { err: 0 })))
    }

    /// setWatches / setWatches2 after a reconnect: for each watch, fire at once
    /// if the node changed after `relative_zxid` (or appeared / vanished),
    /// otherwise re-register it. Persistent watches are simply re-added.
    pub fn set_watches(&mut self, watcher: WatcherId, set: &SetWatches2) -> ReadOutcome {
        let mut notifications = Vec::new();
        let mut fire = |event_type: EventType, path: &str| {
            notifications.push(Notification {
                event_type,
                path: path.to_string(),
                zxid: -1,
                acl: None,
                watchers: vec![watcher],
            });
        };
        for path in &set.data_watches {
            match self.node(path) {
                None => fire(EventType::NodeDeleted, path),
                Some(node) if node.stat.mzxid > set.relative_zxid => {
                    fire(EventType::NodeDataChanged, path)
                }
                Some(_) => {
                    self.watches.data.add(path, watcher, WatchMode::Standard);
                }
            }
        }
        for path in &set.exist_watches {
            if self.node(path).is_some() {
                fire(EventType::NodeCreated, path);
            } else {
                self.watches.data.add(path, watcher, WatchMode::Standard);
            }
        }
        for path in &set.child_watches {
            match self.node(path) {
                None => fire(EventType::NodeDeleted, path),
                Some(node) if node.stat.pzxid > set.relative_zxid => {
                    fire(EventType::NodeChildrenChanged, path)
                }
                Some(_) => {
                    self.watches.child.add(path, watcher, WatchMode::Standard);
                }
            }
        }
        for path in &set.persistent_watches {
            self.watches.child.add(path, watcher, WatchMode::Persistent);
            self.watches.data.add(path, watcher, WatchMode::Persistent);
        }
        for path in &set.persistent_recursive_watches {
            self.watches
                .data
                .add(path, watcher, WatchMode::PersistentRecursive);
        }
        ReadOutcome {
            err: ErrorCode::Ok,
            response: None,
            notifications,
        }
    }

    /// A connection closed: forget its watches.
    pub fn remove_watcher(&mut self, watcher: WatcherId) {
        self.watches.remove_watcher(watcher);
    }
}
