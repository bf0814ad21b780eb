//! The request pipeline as a pure state machine: Apache's Prep -> Sync -> Final
//! chain with the IO taken out. Inputs (a handshake, a request, "the log is
//! durable up to zxid", a tick, a closed connection) go in with the time; effects
//! (frames to send, connections to close, txns to append, a log roll, a
//! snapshot to write) come out. The tokio driver only moves bytes and time.
//!
//! Ordering, as Apache's pipeline gives it:
//! - every write is prepared at once (against the tree plus pending changes),
//!   gets the next zxid and is appended; it is applied and answered only once
//!   the log says it is durable, in zxid order;
//! - a read waits behind the writes its own session has in flight, so a
//!   session reads its own writes; other sessions' reads do not wait;
//! - watch notifications a txn triggers go out before its reply, and only to
//!   connections whose ids pass the node's READ ACL.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;

use super::java_random::{password_matches, session_password, JavaRandom, PASSWORD_BYTES};
use super::sessions::{ConnectionId, SessionTracker};
use super::stats::{last_operation_name, ConnectionStats, ServerStats};
use crate::zookeeper::jute::frame::{notification_frame, reply_frame, write_frame};
use crate::zookeeper::jute::proto::{
    AuthPacket, ConnectRequest, ConnectResponse, DeleteContainerRequest, ReplyHeader,
    RequestHeader, SetSaslResponse,
};
use crate::zookeeper::jute::{
    perms, ErrorCode, Id, Jute, OpCode, Request, Response, TxnBody, TxnEntry,
};
use crate::zookeeper::persistence::snapshot::{
    encode_end_of_nodes, encode_head, encode_node, snapshot_digest,
};
use crate::zookeeper::quorum::message::{ForwardedRequest, ServerId, SessionTouch};
use crate::zookeeper::tree::acl_cache::OPEN_UNSAFE_ACL_INDEX;
use crate::zookeeper::tree::{
    DataTree, IdMap, IdSet, Notification, PendingChanges, ReadContext, RequestContext, SessionId,
    SnapshotCursor, TreeConfig, WatcherId, Zxid, ZxidDigest,
};

/// The last zxid counter a leader uses in its epoch (0xffffffff is never proposed).
const ZXID_COUNTER_LAST: u32 = 0xffff_fffe;

/// A reply frame with a header only.
fn header_frame(xid: i32, zxid: i64, err: ErrorCode) -> Vec<u8> {
    reply_frame(
        &ReplyHeader {
            xid,
            zxid,
            err: err.as_i32(),
        },
        None,
    )
}

/// The knobs the pipeline needs, with zoo.cfg's names in the docs.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// `myid` (0 standalone): the top byte of every session id.
    pub server_id: i64,
    /// `tickTime`.
    pub tick_ms: u32,
    /// `minSessionTimeout` / `maxSessionTimeout`.
    pub session_timeout_ms_min: i32,
    pub session_timeout_ms_max: i32,
    /// `snapCount`: a snapshot after snapCount/2 + rand(snapCount/2) txns.
    pub snapshot_interval_txns: u64,
    /// `znode.container.maxPerMinute`: deletions one cleanup pass issues.
    pub container_deletions_max: usize,
    pub tree: TreeConfig,
    /// Standalone, or this server's part in an ensemble.
    pub role: Role,
}

/// The pipeline's part in the ensemble. The Zab core (`quorum::zab`) sits
/// between this pipeline and the disk; the pipeline only needs to know who
/// prepares writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Prepares and logs its own writes; a txn is committed once durable.
    Standalone,
    /// Prepares every write, its own clients' and its learners' (`LearnerRequest`);
    /// zxids continue from `epoch << 32`. `Effect::Append` goes to Zab as a
    /// proposal and `Input::Durable` reports the quorum's commits.
    Leader { epoch: u32 },
    /// A follower or an observer: writes, new sessions and syncs are forwarded to
    /// the leader (`Effect::Forward`), the leader's commits arrive as
    /// `Input::Committed`, and only the leader expires sessions.
    Learner,
}

/// The two clocks: `now_ms` is monotonic (expiry, latency), `wall_ms` is the
/// wall clock stamped into txns and shown by `cons`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    pub now_ms: i64,
    pub wall_ms: i64,
}

#[derive(Debug, Clone)]
pub enum Input {
    /// A client connection was accepted.
    Accepted {
        conn: ConnectionId,
        peer: SocketAddr,
    },
    /// The first frame of a connection.
    Connect {
        conn: ConnectionId,
        request: ConnectRequest,
    },
    Request {
        conn: ConnectionId,
        header: RequestHeader,
        request: Request,
    },
    /// A TLS client presented a certificate with this subject (RFC 2253): its
    /// `x509` id, and `super` too for `X509AuthenticationProvider.superUser`.
    CertificateSubject { conn: ConnectionId, subject: String },
    /// The socket is gone (EOF, error, or after a Close effect).
    Closed { conn: ConnectionId },
    /// The log has fsynced every appended txn up to `zxid`.
    Durable { zxid: Zxid },
    /// The background snapshot finished (or failed; the driver logs which).
    SnapshotDone,
    /// Expire sessions whose time has come.
    Tick,
    /// Delete empty containers and expired TTL nodes (Apache's ContainerManager).
    CleanupContainers,
    /// Learner: a txn the leader committed, in zxid order.
    Committed { txn: Arc<TxnEntry> },
    /// Learner: the leader's SYNC, releasing the oldest forwarded sync.
    SyncReleased,
    /// Learner: the leader's answer to `Effect::Revalidate`.
    Revalidated { session: SessionId, valid: bool },
    /// Leader: a request a learner forwarded (REQUEST), its body decoded.
    LearnerRequest {
        learner: ServerId,
        session: SessionId,
        cxid: i32,
        request: Request,
        auth: Vec<Id>,
    },
    /// Leader: a learner forwarded a new session (REQUEST of createSession).
    LearnerCreateSession {
        learner: ServerId,
        session: SessionId,
        timeout_ms: i32,
    },
    /// Leader: the sessions a learner's clients kept alive (PING touches).
    TouchSessions { touches: Vec<SessionTouch> },
    /// Leader: a learner asks whether a reconnecting client's session lives (REVALIDATE).
    Revalidate {
        learner: ServerId,
        session: SessionId,
        timeout_ms: i32,
    },
}

/// What the driver must do, in order.
#[derive(Debug, Clone)]
pub enum Effect {
    Send {
        conn: ConnectionId,
        frame: Vec<u8>,
    },
    /// Send what is queued, then close.
    Close {
        conn: ConnectionId,
    },
    /// Shared with the pipeline, which applies the txn once it is durable.
    Append(Arc<TxnEntry>),
    /// Start a new log file with the next append.
    RollLog,
    /// Open `snapshot.<zxid>` and write `head` (header, sessions, ACL map);
    /// `SnapshotBytes` follow as `snapshot_step` encodes nodes, then
    /// `SnapshotEnd` (seal, fsync, publish) or `SnapshotAbandon`. The driver
    /// reports `Input::SnapshotDone` once the file is finished or dropped.
    SnapshotBegin {
        zxid: Zxid,
        head: Vec<u8>,
    },
    SnapshotBytes(Vec<u8>),
    /// The last bytes are sent; the file ends with `digest`, the tree's as
    /// the walk finished (Apache's `lastProcessedZxidDigest`).
    SnapshotEnd {
        digest: Option<ZxidDigest>,
    },
    SnapshotAbandon,
    /// Learner: send this request to the leader (REQUEST).
    Forward(ForwardedRequest),
    /// Learner: ask the leader whether `session` lives (REVALIDATE).
    Revalidate {
        session: SessionId,
        timeout_ms: i32,
    },
    /// Leader: answer a learner's REVALIDATE.
    RevalidateReply {
        learner: ServerId,
        session: SessionId,
        valid: bool,
    },
    /// Leader: the zxid counter of this epoch is spent (Apache forces a new
    /// election rather than wrap it, ZOOKEEPER-1277); the driver gives up leadership.
    EpochExhausted,
}

/// Bytes of node records one `snapshot_step` encodes (a few hundred small
/// nodes, a fraction of a millisecond of pipeline time; below malloc's mmap
/// threshold).
const SNAPSHOT_STEP_BYTES: usize = 64 * 1024;

/// A snapshot being encoded (Apache's fuzzy snapshot: no copy of the tree; it
/// is walked a step at a time between requests, and replaying the log from
/// `zxid` on start-up repairs what changed during the walk).
#[derive(Debug)]
struct SnapshotProgress {
    cursor: SnapshotCursor,
    /// The ACL indexes the head's map holds: a node using another one (a list
    /// interned during the walk) cannot be written, and the snapshot is
    /// abandoned rather than written unreadable.
    acl_indexes: IdSet<i64>,
}

/// One client connection as the pipeline sees it.
#[derive(Debug, Clone)]
pub struct Connection {
    pub peer: SocketAddr,
    pub session: Option<SessionId>,
    pub timeout_ms: i32,
    /// The ids ACLs are checked against: `ip:<peer>` from the start, as in
    /// Apache, plus whatever auth packets added.
    pub auth: Vec<Id>,
    pub established_wall_ms: i64,
    pub stats: ConnectionStats,
    /// Requests received and not yet answered.
    pub outstanding: u64,
    /// `Some(false)` when the client sent the readOnly byte: the server echoes
    /// it only then.
    pub read_only: Option<bool>,
    /// The connection's SASL (DIGEST-MD5) exchange, from its first SASL request.
    pub sasl: Option<super::sasl_digest::DigestMd5Server>,
}

/// A request waiting for its reply.
#[derive(Debug, Clone)]
struct Pending {
    conn: ConnectionId,
    xid: i32,
    request: Request,
    received_ms: i64,
}

/// Who is waiting for a txn.
#[derive(Debug, Clone)]
enum Origin {
    /// A new session's createSession: the handshake answer waits for it.
    Connect {
        conn: ConnectionId,
    },
    Client(Pending),
    Expiry,
    Cleanup,
    /// A learner's request, or (on a learner) another server's txn: nobody
    /// here waits for it.
    Remote,
}

/// Leader: through which server a session's client is connected (Apache's
/// session owner): a write arriving through another one is refused with
/// SessionMoved, as after a client moved and its old server still forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionOwner {
    Local,
    Learner(ServerId),
}

/// Learner: what a session forwarded, oldest first, matched against the
/// leader's commits by (session, cxid).
#[derive(Debug, Clone)]
enum Forwarded {
    /// The createSession of a new connection.
    Connect {
        conn: ConnectionId,
    },
    Write(Pending),
}

#[derive(Debug, Clone)]
struct InFlight {
    entry: Arc<TxnEntry>,
    origin: Origin,
}

/// A session's queue: its writes in flight and what must follow them on the
/// wire.
#[derive(Debug, Clone)]
enum Deferred {
    Write(Zxid),
    /// A learner's forwarded write or sync: its zxid is the leader's to give.
    Forwarded,
    Read(Pending),
    /// A reply made at once (auth, refusals) that must not overtake what is
    /// queued before it, above all a new session's ConnectResponse.
    Frame {
        conn: ConnectionId,
        frame: Vec<u8>,
        close: bool,
    },
}

pub struct Core {
    config: CoreConfig,
    tree: DataTree,
    pending: PendingChanges,
    sessions: SessionTracker,
    connections: BTreeMap<ConnectionId, Connection>,
    owners: IdMap<SessionId, ConnectionId>,
    /// The last zxid handed out (appended, maybe not yet durable).
    last_zxid: Zxid,
    in_flight: VecDeque<InFlight>,
    deferred: IdMap<SessionId, VecDeque<Deferred>>,
    stats: ServerStats,
    txns_since_snapshot: u64,
    snapshot_roll: u64,
    /// From `SnapshotBegin` until the driver reports the file done.
    snapshot_running: bool,
    snapshot: Option<SnapshotProgress>,
    /// `SNAPSHOT_STEP_BYTES`, smaller in tests that interleave steps and writes.
    snapshot_step_bytes: usize,
    random: JavaRandom,
    effects: Vec<Effect>,
    /// Learner: per session, what was forwarded and awaits the leader.
    forwarded: IdMap<SessionId, VecDeque<Forwarded>>,
    /// Learner: forwarded syncs in the order sent; the leader answers them in order.
    pending_syncs: VecDeque<(SessionId, Pending)>,
    /// Learner: reconnects waiting for the leader's REVALIDATE answer.
    revalidating: IdMap<SessionId, ConnectionId>,
    /// Learner: sessions touched since the last PING, with their timeouts.
    touched: IdMap<SessionId, i32>,
    /// Leader: each global session's owner.
    session_owners: IdMap<SessionId, SessionOwner>,
}

impl Core {
    /// A pipeline over a recovered tree. `sessions` are the sessions the
    /// snapshot and log knew (tracked from `clock`, so they expire unless
    /// their clients come back); `random_seed` drives the snapshot jitter.
    pub fn new(
        config: CoreConfig,
        tree: DataTree,
        sessions: &BTreeMap<SessionId, i32>,
        clock: Clock,
        random_seed: i64,
    ) -> Core {
        let first_session = SessionId::first_for_server(config.server_id, clock.wall_ms);
        let mut tracker = SessionTracker::new(config.tick_ms, first_session);
        for (&session, &timeout_ms) in sessions {
            tracker.track(session, timeout_ms, clock.now_ms);
        }
        let last_zxid = tree.last_processed_zxid();
        let mut core = Core {
            config,
            tree,
            pending: PendingChanges::default(),
            sessions: tracker,
            connections: BTreeMap::new(),
            owners: IdMap::default(),
            last_zxid,
            in_flight: VecDeque::new(),
            deferred: IdMap::default(),
            stats: ServerStats::default(),
            txns_since_snapshot: 0,
            snapshot_roll: 0,
            snapshot_running: false,
            snapshot: None,
            snapshot_step_bytes: SNAPSHOT_STEP_BYTES,
            random: JavaRandom::new(random_seed),
            effects: Vec::new(),
            forwarded: IdMap::default(),
            pending_syncs: VecDeque::new(),
            revalidating: IdMap::default(),
            touched: IdMap::default(),
            session_owners: IdMap::default(),
        };
        if let Role::Leader { epoch } = core.config.role {
            core.last_zxid = core.last_zxid.max(Zxid::new(epoch, 0));
        }
        core.kill_dead_sessions(sessions);
        core.reset_snapshot_roll();
        core
    }

    /// Apache's `loadData`: ephemerals of sessions no longer known go at once,
    /// without a txn.
    fn kill_dead_sessions(&mut self, sessions: &BTreeMap<SessionId, i32>) {
        let zxid = self.tree.last_processed_zxid();
        for session in self.tree.sessions_with_ephemerals() {
            if !sessions.contains_key(&session) {
                let mut ignored = Vec::new();
                self.tree.kill_session(session, zxid, None, &mut ignored);
            }
        }
    }

    fn reset_snapshot_roll(&mut self) {
        let half = (self.config.snapshot_interval_txns.max(2) / 2).min(i32::MAX as u64) as i32;
        self.snapshot_roll = self.random.next_int_bounded(half) as u64;
    }

    /// The effects produced since the last call, in order.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    pub fn handle(&mut self, input: Input, clock: Clock) {
        match input {
            Input::Accepted { conn, peer } => self.on_accepted(conn, peer, clock),
            Input::Connect { conn, request } => self.on_connect(conn, request, clock),
            Input::Request {
                conn,
                header,
                request,
            } => self.on_request(conn, header, request, clock),
            Input::CertificateSubject { conn, subject } => {
                if let Some(connection) = self.connections.get_mut(&conn) {
                    let is_super = self.tree.config().auth.x509_super_user.as_deref()
                        == Some(subject.as_str());
                    connection.auth.push(Id::new("x509", &subject));
                    if is_super {
                        connection.auth.push(Id::new("super", &subject));
                    }
                }
            }
            Input::Closed { conn } => self.drop_connection(conn, false),
            Input::Durable { zxid } => self.on_durable(zxid, clock),
            Input::SnapshotDone => {
                // A writer that failed ends early: stop encoding for it.
                self.snapshot_running = false;
                self.snapshot = None;
            }
            Input::Tick => self.on_tick(clock),
            Input::CleanupContainers => self.on_cleanup(clock),
            Input::Committed { txn } => self.on_committed(txn, clock),
            Input::SyncReleased => self.on_sync_released(clock),
            Input::Revalidated { session, valid } => self.on_revalidated(session, valid, clock),
            Input::LearnerRequest {
                learner,
                session,
                cxid,
                request,
                auth,
            } => self.on_learner_request(learner, session, cxid, request, &auth, clock),
            Input::LearnerCreateSession {
                learner,
                session,
                timeout_ms,
            } => self.on_learner_create_session(learner, session, timeout_ms, clock),
            Input::TouchSessions { touches } => {
                for touch in touches {
                    self.sessions
                        .touch(touch.session_id, touch.timeout_ms, clock.now_ms);
                }
            }
            Input::Revalidate {
                learner,
                session,
                timeout_ms,
            } => {
                let valid = self.sessions.touch(session, timeout_ms, clock.now_ms);
                if valid {
                    self.set_session_owner(session, SessionOwner::Learner(learner));
                }
                self.effects.push(Effect::RevalidateReply {
                    learner,
                    session,
                    valid,
                });
            }
        }
    }

    fn is_learner(&self) -> bool {
        self.config.role == Role::Learner
    }

    fn is_leader(&self) -> bool {
        matches!(self.config.role, Role::Leader { .. })
    }

    /// Leader: records who owns a session now.
    fn set_session_owner(&mut self, session: SessionId, owner: SessionOwner) {
        if self.is_leader() {
            self.session_owners.insert(session, owner);
        }
    }

    /// Leader: SessionMoved when the session's client is now on another server.
    fn moved_elsewhere(&self, session: SessionId, via: SessionOwner) -> bool {
        self.is_leader()
            && self
                .session_owners
                .get(&session)
                .is_some_and(|owner| *owner != via)
    }

    /// The error txn Apache's PrepRequestProcessor logs for a refused request:
    /// it takes a zxid like any other, and the learner answers its client with it.
    fn error_txn(
        &mut self,
        session: SessionId,
        cxid: i32,
        code: ErrorCode,
        clock: Clock,
    ) -> TxnEntry {
        let zxid = self.next_zxid();
        TxnEntry {
            header: crate::zookeeper::jute::TxnHeader {
                client_id: session.0,
                cxid,
                zxid: zxid.0,
                time: clock.wall_ms,
                op: OpCode::Error.as_i32(),
            },
            body: TxnBody::Error(crate::zookeeper::jute::txn::ErrorTxn { err: code.as_i32() }),
            digest: None,
        }
    }

    /// Learner: the sessions this server's clients kept alive since the last
    /// call, for the next PING to the leader.
    pub fn take_session_touches(&mut self) -> Vec<SessionTouch> {
        std::mem::take(&mut self.touched)
            .into_iter()
            .map(|(session_id, timeout_ms)| SessionTouch {
                session_id,
                timeout_ms,
            })
            .collect()
    }

    /// Learner: remembers a session's activity for the next PING.
    fn note_touch(&mut self, session: SessionId, timeout_ms: i32) {
        if self.is_learner() {
            self.touched.insert(session, timeout_ms);
        }
    }

    fn on_accepted(&mut self, conn: ConnectionId, peer: SocketAddr, clock: Clock) {
        self.connections.insert(
            conn,
            Connection {
                peer,
                session: None,
                timeout_ms: 0,
                auth: vec![Id::new("ip", &peer.ip().to_string())],
                established_wall_ms: clock.wall_ms,
                stats: ConnectionStats::default(),
                outstanding: 0,
                read_only: None,
                sasl: None,
            },
        );
    }

    fn next_zxid(&mut self) -> Zxid {
        if matches!(self.config.role, Role::Leader { .. })
            && self.last_zxid.counter() == ZXID_COUNTER_LAST
        {
            // Apache's Leader.propose refuses counter 0xffffffff and forces a new
            // election; the driver abandons this leadership on this effect, before
            // anything with the next epoch's zxid could be proposed.
            self.effects.push(Effect::EpochExhausted);
        }
        self.last_zxid = self.last_zxid.next();
        self.last_zxid
    }

    /// `processConnectRequest` and `reopenSession`.
    fn on_connect(&mut self, conn_id: ConnectionId, request: ConnectRequest, clock: Clock) {
        let last_processed = self.tree.last_processed_zxid();
        let (min, max) = (
            self.config.session_timeout_ms_min,
            self.config.session_timeout_ms_max,
        );
        let Some(conn) = self.connections.get_mut(&conn_id) else {
            return;
        };
        conn.stats.packets_received += 1;
        self.stats.packets_received += 1;
        let peer = conn.peer;
        if request.last_zxid_seen > last_processed.0 {
            tracing::info!(
                %peer,
                "Refusing session(0x{:x}) request for client {peer} as it has seen zxid 0x{:x} our last zxid is {last_processed} client must try another server",
                request.session_id,
                request.last_zxid_seen,
            );
            self.drop_connection(conn_id, true);
            return;
        }
        let mut timeout_ms = request.time_out;
        if timeout_ms < min {
            timeout_ms = min;
        }
        if timeout_ms > max {
            timeout_ms = max;
        }
        conn.timeout_ms = timeout_ms;
        let read_only = request.read_only.map(|_| false);
        conn.read_only = read_only;

        if request.session_id == 0 {
            let session = self.sessions.create(timeout_ms, clock.now_ms);
            self.sessions.set_owner(session, Some(conn_id));
            self.owners.insert(session, conn_id);
            self.set_session_owner(session, SessionOwner::Local);
            let conn = self.connections.get_mut(&conn_id).expect("checked above");
            conn.session = Some(session);
            conn.stats.last_operation = "SESS";
            if self.is_learner() {
                // The session id is minted here (this server's id in its top
                // byte), the session itself created by the leader's txn.
                self.forward(
                    session,
                    0,
                    OpCode::CreateSession,
                    timeout_ms.to_be_bytes().to_vec(),
                    Vec::new(),
                );
                self.forwarded
                    .entry(session)
                    .or_default()
                    .push_back(Forwarded::Connect { conn: conn_id });
                self.deferred
                    .entry(session)
                    .or_default()
                    .push_back(Deferred::Forwarded);
                return;
            }
            let zxid = self.next_zxid();
            let entry = self.tree.prepare_create_session(
                &self.pending,
                RequestContext {
                    session,
                    cxid: 0,
                    auth: &[],
                    zxid,
                    time_ms: clock.wall_ms,
                },
                timeout_ms,
            );
            self.log_txn(
                entry,
                Origin::Connect { conn: conn_id },
                Some(session),
                clock,
            );
            return;
        }

        let session = SessionId(request.session_id);
        // Apache closes the session's other connection before it even checks
        // the password (CLIENT_RECONNECT).
        if let Some(&old) = self.owners.get(&session) {
            if old != conn_id {
                self.drop_connection(old, true);
            }
        }
        let password_ok = password_matches(session.0, &request.passwd);
        if password_ok && self.is_learner() {
            // Only the leader knows whether a global session lives (REVALIDATE).
            self.revalidating.insert(session, conn_id);
            self.effects.push(Effect::Revalidate {
                session,
                timeout_ms,
            });
            return;
        }
        let valid = if password_ok {
            self.sessions.touch(session, timeout_ms, clock.now_ms)
        } else {
            if let Some(occurrences) =
                crate::warn_limit::occurrence("zk-session-password", &peer.ip().to_string())
            {
                tracing::warn!(%peer, occurrences, "Incorrect password from {peer} for session {session}");
            }
            false
        };
        self.finish_reconnect(conn_id, session, valid);
    }

    /// The answer to a reconnect with an existing session, once its validity is known.
    fn finish_reconnect(&mut self, conn_id: ConnectionId, session: SessionId, valid: bool) {
        let Some(conn) = self.connections.get(&conn_id) else {
            return;
        };
        let (peer, timeout_ms, read_only) = (conn.peer, conn.timeout_ms, conn.read_only);
        let response = if valid {
            self.owners.insert(session, conn_id);
            self.set_session_owner(session, SessionOwner::Local);
            self.sessions.set_owner(session, Some(conn_id));
            let conn = self.connections.get_mut(&conn_id).expect("checked above");
            conn.session = Some(session);
            tracing::info!(%peer, %session, timeout_ms, "Re-established session {session} with negotiated timeout {timeout_ms} for client {peer}");
            ConnectResponse {
                protocol_version: 0,
                time_out: timeout_ms,
                session_id: session.0,
                passwd: session_password(session.0),
                read_only,
            }
        } else {
            tracing::info!(%peer, %session, "Invalid session {session} for client {peer}, probably expired");
            ConnectResponse {
                protocol_version: 0,
                time_out: 0,
                session_id: 0,
                passwd: vec![0; PASSWORD_BYTES],
                read_only,
            }
        };
        self.send_connect_response(conn_id, &response);
        if !valid {
            self.drop_connection(conn_id, true);
        }
    }

    fn send_connect_response(&mut self, conn_id: ConnectionId, response: &ConnectResponse) {
        let mut frame = Vec::new();
        write_frame(&mut frame, |out| response.write(out));
        self.send(conn_id, frame);
    }

    fn send(&mut self, conn_id: ConnectionId, frame: Vec<u8>) {
        if let Some(conn) = self.connections.get_mut(&conn_id) {
            conn.stats.packets_sent += 1;
            self.stats.packets_sent += 1;
            self.effects.push(Effect::Send {
                conn: conn_id,
                frame,
            });
        }
    }

    /// Forgets a connection: its watches go, its session stays (until it
    /// expires or another connection re-attaches).
    fn drop_connection(&mut self, conn_id: ConnectionId, close: bool) {
        let Some(conn) = self.connections.remove(&conn_id) else {
            return;
        };
        self.tree.remove_watcher(WatcherId(conn_id));
        if let Some(session) = conn.session {
            if self.owners.get(&session) == Some(&conn_id) {
                self.owners.remove(&session);
                self.sessions.set_owner(session, None);
            }
        }
        if close {
            self.effects.push(Effect::Close { conn: conn_id });
        }
    }

    fn on_request(
        &mut self,
        conn_id: ConnectionId,
        header: RequestHeader,
        request: Request,
        clock: Clock,
    ) {
        let Some(conn) = self.connections.get_mut(&conn_id) else {
            return;
        };
        let Some(session) = conn.session else {
            return;
        };
        conn.stats.packets_received += 1;
        self.stats.packets_received += 1;
        let (peer, timeout_ms) = (conn.peer, conn.timeout_ms);
        // Any packet keeps the session alive; one for a closing or unknown
        // session is dropped, as Apache's MissingSessionException does.
        if !self.sessions.touch(session, timeout_ms, clock.now_ms) {
            tracing::debug!(%peer, %session, "dropping a request of a closed session");
            return;
        }
        // Checked only when enforcement is on: no lookup on the hot path otherwise.
        let admitted = self.tree.config().auth.enforced_schemes.is_none()
            || matches!(request, Request::Auth(_) | Request::Sasl(_))
            || self
                .connections
                .get(&conn_id)
                .is_some_and(|conn| self.tree.config().auth.admits(&conn.auth));
        if !admitted {
            // Apache answers SESSIONCLOSEDREQUIRESASLAUTH and closes the connection
            // (the session is left to expire).
            if let Some(occurrences) =
                crate::warn_limit::occurrence("zk-auth-enforced", &peer.ip().to_string())
            {
                let schemes: Vec<String> = self
                    .connections
                    .get(&conn_id)
                    .map(|conn| conn.auth.iter().map(|id| id.scheme.clone()).collect())
                    .unwrap_or_default();
                // Java's List.toString: [ip, digest].
                let expected = self
                    .tree
                    .config()
                    .auth
                    .enforced_schemes
                    .as_deref()
                    .unwrap_or_default()
                    .join(", ");
                let schemes = schemes.join(", ");
                tracing::warn!(%peer, %session, occurrences, "Client authentication scheme(s) [{schemes}] does not match with any of the expected authentication scheme [{expected}], closing session.");
            }
            let frame = header_frame(header.xid, 0, ErrorCode::SessionClosedRequireSaslAuth);
            self.send_in_session_order(session, conn_id, frame, true);
            return;
        }
        match &request {
            Request::Auth(packet) => return self.on_auth(conn_id, session, header.xid, packet),
            Request::Sasl(sasl) => {
                let token = sasl.token.clone();
                return self.on_sasl(conn_id, session, header.xid, &token);
            }
            // Apache's `Request.isValid`: a bare check (13) is not a valid
            // request outside a multi, nor is any op code it does not know.
            Request::Unknown(_) | Request::Check(_) => {
                if let Some(occurrences) =
                    crate::warn_limit::occurrence("zk-unknown-packet", &peer.ip().to_string())
                {
                    tracing::warn!(%peer, op = header.op, occurrences, "Received packet at server of unknown type {}", header.op);
                }
                let frame = header_frame(header.xid, -1, ErrorCode::Unimplemented);
                self.send_in_session_order(session, conn_id, frame, true);
                return;
            }
            _ => {}
        }
        if let Some(conn) = self.connections.get_mut(&conn_id) {
            conn.outstanding += 1;
        }
        let pending = Pending {
            conn: conn_id,
            xid: header.xid,
            request,
            received_ms: clock.now_ms,
        };
        self.note_touch(session, timeout_ms);
        if self.is_learner()
            && (pending.request.op().is_write() || matches!(pending.request, Request::Sync(_)))
        {
            self.forward_request(session, pending);
        } else if pending.request.op().is_write() {
            self.submit_write(session, pending, clock);
        } else if self
            .deferred
            .get(&session)
            .is_some_and(|queue| !queue.is_empty())
        {
            self.deferred
                .get_mut(&session)
                .expect("checked above")
                .push_back(Deferred::Read(pending));
        } else {
            self.answer_read(session, pending, clock);
        }
    }

    /// Sends a frame after whatever the session has queued (at once when
    /// nothing is), then closes the connection if asked.
    fn send_in_session_order(
        &mut self,
        session: SessionId,
        conn_id: ConnectionId,
        frame: Vec<u8>,
        close: bool,
    ) {
        if let Some(queue) = self
            .deferred
            .get_mut(&session)
            .filter(|queue| !queue.is_empty())
        {
            queue.push_back(Deferred::Frame {
                conn: conn_id,
                frame,
                close,
            });
            return;
        }
        self.send(conn_id, frame);
        if close {
            self.drop_connection(conn_id, true);
        }
    }

    /// Learner: hands a write (or a sync) to the leader and holds the
    /// session's later reads behind it.
    fn forward_request(&mut self, session: SessionId, pending: Pending) {
        let auth = self
            .connections
            .get(&pending.conn)
            .map_or_else(Vec::new, |conn| conn.auth.clone());
        let mut body = Vec::new();
        pending.request.write(&mut body);
        self.forward(session, pending.xid, pending.request.op(), body, auth);
        if matches!(pending.request, Request::CloseSession) {
            self.sessions.set_closing(session);
        }
        self.deferred
            .entry(session)
            .or_default()
            .push_back(Deferred::Forwarded);
        if matches!(pending.request, Request::Sync(_)) {
            self.pending_syncs.push_back((session, pending));
        } else {
            self.forwarded
                .entry(session)
                .or_default()
                .push_back(Forwarded::Write(pending));
        }
    }

    fn forward(
        &mut self,
        session: SessionId,
        cxid: i32,
        op: OpCode,
        body: Vec<u8>,
        auth_info: Vec<Id>,
    ) {
        self.effects.push(Effect::Forward(ForwardedRequest {
            session_id: session,
            cxid,
            op: op.as_i32(),
            body: body.into(),
            auth_info,
        }));
    }

    /// Learner: the leader committed `txn`; apply it and answer whoever here
    /// waits for it (matched by session and cxid, as Apache's CommitProcessor).
    fn on_committed(&mut self, txn: Arc<TxnEntry>, clock: Clock) {
        let session = SessionId(txn.header.client_id);
        let mut origin = Origin::Remote;
        if let Some(queue) = self.forwarded.get_mut(&session) {
            let matches = match queue.front() {
                Some(Forwarded::Connect { .. }) => txn.op() == OpCode::CreateSession,
                Some(Forwarded::Write(pending)) => pending.xid == txn.header.cxid,
                None => false,
            };
            if matches {
                origin = match queue.pop_front().expect("front exists") {
                    Forwarded::Connect { conn } => Origin::Connect { conn },
                    Forwarded::Write(pending) => Origin::Client(pending),
                };
            }
            if queue.is_empty() {
                self.forwarded.remove(&session);
            }
        }
        if txn.op() == OpCode::CloseSession && matches!(origin, Origin::Remote) {
            // The leader closed (expired) a session whose client is here.
            origin = Origin::Expiry;
        }
        self.last_zxid = self.last_zxid.max(Zxid(txn.header.zxid));
        self.count_txn_for_snapshot();
        self.apply_txn(txn, origin, clock);
    }

    /// Learner: the leader's SYNC answers the oldest forwarded sync.
    fn on_sync_released(&mut self, clock: Clock) {
        let Some((session, pending)) = self.pending_syncs.pop_front() else {
            tracing::warn!("SYNC from the leader with no sync outstanding");
            return;
        };
        let Some(path) = (match &pending.request {
            Request::Sync(sync) => Some(sync.path.clone()),
            _ => None,
        }) else {
            return;
        };
        let response = Response::Sync(crate::zookeeper::jute::proto::SyncResponse { path });
        self.reply(pending, ErrorCode::Ok, Some(response), clock);
        self.release_front_write(session, clock);
    }

    /// Learner: the leader's answer to a reconnect's REVALIDATE.
    fn on_revalidated(&mut self, session: SessionId, valid: bool, clock: Clock) {
        let Some(conn_id) = self.revalidating.remove(&session) else {
            return;
        };
        if valid {
            let timeout_ms = self
                .connections
                .get(&conn_id)
                .map_or(0, |conn| conn.timeout_ms);
            self.sessions.track(session, timeout_ms, clock.now_ms);
        }
        self.finish_reconnect(conn_id, session, valid);
    }

    /// Leader: a learner's forwarded request, prepared as a local one but
    /// answered by the learner when it applies the commit.
    fn on_learner_request(
        &mut self,
        learner: ServerId,
        session: SessionId,
        cxid: i32,
        mut request: Request,
        auth: &[Id],
        clock: Clock,
    ) {
        if !request.op().is_write() {
            tracing::warn!(%learner, %session, op = ?request.op(), "a learner forwarded a request that is not a write; ignored");
            return;
        }
        let timeout_ms = self
            .sessions
            .get(session)
            .map_or(0, |tracked| tracked.timeout_ms);
        let refusal = if !self.sessions.touch(session, timeout_ms, clock.now_ms) {
            Some(ErrorCode::SessionExpired)
        } else if self.moved_elsewhere(session, SessionOwner::Learner(learner)) {
            Some(ErrorCode::SessionMoved)
        } else {
            None
        };
        if let Some(code) = refusal {
            tracing::debug!(%learner, %session, ?code, "a learner's request refused");
            let entry = self.error_txn(session, cxid, code, clock);
            self.log_txn(entry, Origin::Remote, None, clock);
            return;
        }
        if matches!(request, Request::CloseSession) {
            self.sessions.set_closing(session);
        }
        let zxid = self.next_zxid();
        let entry = self
            .tree
            .prepare_taking(
                &mut self.pending,
                RequestContext {
                    session,
                    cxid,
                    auth,
                    zxid,
                    time_ms: clock.wall_ms,
                },
                &mut request,
            )
            .expect("a write request prepares to a txn");
        self.log_txn(entry, Origin::Remote, None, clock);
    }

    /// Leader: a learner's new session, tracked here (only the leader expires
    /// sessions) and created by a txn every server applies.
    fn on_learner_create_session(
        &mut self,
        learner: ServerId,
        session: SessionId,
        timeout_ms: i32,
        clock: Clock,
    ) {
        // The learner negotiated the timeout with its client, as Apache's does.
        self.sessions.track(session, timeout_ms, clock.now_ms);
        self.set_session_owner(session, SessionOwner::Learner(learner));
        tracing::debug!(%learner, %session, timeout_ms, "session created through a learner");
        let zxid = self.next_zxid();
        let entry = self.tree.prepare_create_session(
            &self.pending,
            RequestContext {
                session,
                cxid: 0,
                auth: &[],
                zxid,
                time_ms: clock.wall_ms,
            },
            timeout_ms,
        );
        self.log_txn(entry, Origin::Remote, None, clock);
    }

    /// Auth packets take effect at once, outside the pipeline, as in Apache:
    /// every request after one sees its ids. Only the reply keeps its place
    /// in the session's queue (Apache reads nothing before the handshake is
    /// answered).
    fn on_auth(
        &mut self,
        conn_id: ConnectionId,
        session: SessionId,
        xid: i32,
        packet: &AuthPacket,
    ) {
        let Some(conn) = self.connections.get_mut(&conn_id) else {
            return;
        };
        let peer = conn.peer;
        let result = if packet.scheme == "ip" {
            Ok(vec![Id::new("ip", &peer.ip().to_string())])
        } else {
            self.tree
                .config()
                .auth
                .authenticate(&packet.scheme, &packet.auth)
        };
        match result {
            Ok(ids) => {
                for id in ids {
                    if !conn.auth.contains(&id) {
                        conn.auth.push(id);
                    }
                }
                tracing::info!(%peer, scheme = %packet.scheme, "auth success for scheme {} and address {peer}", packet.scheme);
                let frame = header_frame(xid, 0, ErrorCode::Ok);
                self.send_in_session_order(session, conn_id, frame, false);
            }
            Err(_) => {
                if let Some(occurrences) =
                    crate::warn_limit::occurrence("zk-auth-failed", &peer.ip().to_string())
                {
                    tracing::warn!(%peer, scheme = %packet.scheme, occurrences, "Authentication failed for scheme {} from {peer}", packet.scheme);
                }
                self.stats.auth_failed += 1;
                let frame = header_frame(xid, 0, ErrorCode::AuthFailed);
                self.send_in_session_order(session, conn_id, frame, true);
            }
        }
    }

    /// `ZooKeeperServer.processSasl`: one DIGEST-MD5 token. Success adds
    /// `sasl:<user>` (and `super` for `zookeeper.superUser`) to the connection's
    /// ids; a failure answers AUTHFAILED and closes the connection.
    fn on_sasl(&mut self, conn_id: ConnectionId, session: SessionId, xid: i32, token: &[u8]) {
        let auth = self.tree.config().auth.clone();
        let Some(conn) = self.connections.get_mut(&conn_id) else {
            return;
        };
        let peer = conn.peer;
        let outcome = match &auth.sasl_users {
            Some(users) => conn
                .sasl
                .get_or_insert_with(super::sasl_digest::DigestMd5Server::new)
                .evaluate(token, users, &super::sasl_digest::random_nonce()),
            None => Err("no SASL login: the JAAS file has no Server section".to_string()),
        };
        let reply = match outcome {
            Ok(super::sasl_digest::Outcome::Continue(reply)) => reply,
            Ok(super::sasl_digest::Outcome::Complete {
                authorization_id,
                reply,
            }) => {
                tracing::info!(%peer, %session, "adding SASL authorization for authorizationID: {authorization_id}");
                let id = Id::new("sasl", &authorization_id);
                if !conn.auth.contains(&id) {
                    conn.auth.push(id);
                }
                if auth.sasl_super_user.as_deref() == Some(authorization_id.as_str()) {
                    let id = Id::new("super", "");
                    if !conn.auth.contains(&id) {
                        conn.auth.push(id);
                    }
                }
                reply
            }
            Err(reason) => {
                if let Some(occurrences) =
                    crate::warn_limit::occurrence("zk-sasl-failed", &peer.ip().to_string())
                {
                    tracing::warn!(%peer, %reason, occurrences, "Client {peer} failed to SASL authenticate; closing the connection");
                }
                self.stats.auth_failed += 1;
                // Apache's reply carries a SetSASLResponse with a null token (-1):
                // Java clients read it before they see the error, which is
                // SESSIONCLOSEDREQUIRESASLAUTH when SASL is the enforced scheme.
                let sasl_required = self
                    .tree
                    .config()
                    .auth
                    .enforced_schemes
                    .as_ref()
                    .is_some_and(|schemes| schemes.iter().any(|scheme| scheme == "sasl"));
                let err = if sasl_required {
                    ErrorCode::SessionClosedRequireSaslAuth
                } else {
                    ErrorCode::AuthFailed
                };
                let mut frame = Vec::with_capacity(24);
                write_frame(&mut frame, |out| {
                    ReplyHeader {
                        xid,
                        zxid: 0,
                        err: err.as_i32(),
                    }
                    .write(out);
                    out.extend_from_slice(&(-1i32).to_be_bytes());
                });
                self.send_in_session_order(session, conn_id, frame, true);
                return;
            }
        };
        let mut frame = Vec::with_capacity(32 + reply.len());
        write_frame(&mut frame, |out| {
            ReplyHeader {
                xid,
                zxid: 0,
                err: ErrorCode::Ok.as_i32(),
            }
            .write(out);
            SetSaslResponse { token: reply }.write(out);
        });
        self.send_in_session_order(session, conn_id, frame, false);
    }

    fn submit_write(&mut self, session: SessionId, mut pending: Pending, clock: Clock) {
        if self.moved_elsewhere(session, SessionOwner::Local) {
            let entry = self.error_txn(session, pending.xid, ErrorCode::SessionMoved, clock);
            self.log_txn(entry, Origin::Client(pending), Some(session), clock);
            return;
        }
        if matches!(pending.request, Request::CloseSession) {
            self.sessions.set_closing(session);
        }
        let zxid = self.next_zxid();
        let auth = self
            .connections
            .get(&pending.conn)
            .map_or(&[][..], |conn| conn.auth.as_slice());
        // The request's path and data move into the txn; the pending
        // request keeps what the reply needs (its op code).
        let entry = self
            .tree
            .prepare_taking(
                &mut self.pending,
                RequestContext {
                    session,
                    cxid: pending.xid,
                    auth,
                    zxid,
                    time_ms: clock.wall_ms,
                },
                &mut pending.request,
            )
            .expect("a write request prepares to a txn");
        self.log_txn(entry, Origin::Client(pending), Some(session), clock);
    }

    fn log_txn(
        &mut self,
        entry: TxnEntry,
        origin: Origin,
        session: Option<SessionId>,
        _clock: Clock,
    ) {
        let zxid = Zxid(entry.header.zxid);
        let entry = Arc::new(entry);
        self.effects.push(Effect::Append(entry.clone()));
        self.in_flight.push_back(InFlight { entry, origin });
        if let Some(session) = session {
            self.deferred
                .entry(session)
                .or_default()
                .push_back(Deferred::Write(zxid));
        }
        self.count_txn_for_snapshot();
    }

    /// Counts a txn towards the next snapshot (`snapCount`), and starts one
    /// (with a new log file) when its time has come.
    fn count_txn_for_snapshot(&mut self) {
        self.txns_since_snapshot += 1;
        let threshold = self.config.snapshot_interval_txns.max(2) / 2 + self.snapshot_roll;
        if self.txns_since_snapshot > threshold {
            self.txns_since_snapshot = 0;
            self.reset_snapshot_roll();
            self.effects.push(Effect::RollLog);
            if self.snapshot_running {
                tracing::warn!("Too busy to snap, skipping");
            } else {
                self.begin_snapshot();
            }
        }
    }

    /// Starts a snapshot of the applied state: the head now, the nodes step
    /// by step (`snapshot_step`), with no copy of the tree.
    fn begin_snapshot(&mut self) {
        self.snapshot_running = true;
        let acl_entries = self.tree.acl_cache().entries();
        let mut head = Vec::new();
        encode_head(&mut head, &self.sessions.timeouts(), &acl_entries);
        let acl_indexes = acl_entries.iter().map(|(index, _)| *index).collect();
        self.snapshot = Some(SnapshotProgress {
            cursor: self.tree.snapshot_cursor(),
            acl_indexes,
        });
        self.effects.push(Effect::SnapshotBegin {
            zxid: self.tree.last_processed_zxid(),
            head,
        });
    }

    /// Starts a snapshot now, encoding about `step_bytes` per step.
    #[cfg(test)]
    pub fn begin_snapshot_for_test(&mut self, step_bytes: usize) {
        self.snapshot_step_bytes = step_bytes;
        self.begin_snapshot();
    }

    /// Whether a snapshot is being encoded (the driver then calls
    /// `snapshot_step` between inputs).
    pub fn snapshot_pending(&self) -> bool {
        self.snapshot.is_some()
    }

    /// Encodes the next nodes of the snapshot being written.
    pub fn snapshot_step(&mut self) {
        let Some(progress) = self.snapshot.as_mut() else {
            return;
        };
        let step_bytes = self.snapshot_step_bytes;
        let mut bytes = Vec::with_capacity(step_bytes + 4096);
        let mut unknown_acl = None;
        let acl_indexes = &progress.acl_indexes;
        self.tree.snapshot_step(&mut progress.cursor, |path, node| {
            if node.acl != OPEN_UNSAFE_ACL_INDEX && !acl_indexes.contains(&node.acl) {
                unknown_acl = Some((path.to_string(), node.acl));
                return false;
            }
            encode_node(&mut bytes, path, node);
            bytes.len() < step_bytes
        });
        if let Some((path, acl)) = unknown_acl {
            tracing::warn!(%path, acl, "abandoning a snapshot: a node uses an ACL created after it started; the next snapshot will be taken in due course");
            self.snapshot = None;
            self.effects.push(Effect::SnapshotAbandon);
            return;
        }
        let done = progress.cursor.is_done();
        if done {
            encode_end_of_nodes(&mut bytes);
            self.snapshot = None;
        }
        self.effects.push(Effect::SnapshotBytes(bytes));
        if done {
            self.effects.push(Effect::SnapshotEnd {
                digest: snapshot_digest(&self.tree),
            });
        }
    }

    fn on_durable(&mut self, durable: Zxid, clock: Clock) {
        while self
            .in_flight
            .front()
            .is_some_and(|front| front.entry.header.zxid <= durable.0)
        {
            let InFlight { entry, origin } = self.in_flight.pop_front().expect("front exists");
            self.apply_txn(entry, origin, clock);
        }
    }

    /// Applies a committed txn and answers whoever waits for it.
    fn apply_txn(&mut self, entry: Arc<TxnEntry>, origin: Origin, clock: Clock) {
        let zxid = Zxid(entry.header.zxid);
        let session = SessionId(entry.header.client_id);
        let applied = self.tree.apply(&entry);
        self.pending.applied(zxid);
        self.deliver(&applied.notifications);
        if let TxnBody::CreateSession(create) = &entry.body {
            // Sessions other servers created: every replica knows every global
            // session (snapshots list them), but only the leader expires them.
            if self.sessions.get(session).is_none() {
                self.sessions.track(session, create.time_out, clock.now_ms);
            }
        }
        let closes_session = entry.op() == OpCode::CloseSession;
        if closes_session {
            self.sessions.remove(session);
            self.session_owners.remove(&session);
        }
        match origin {
            Origin::Connect { conn } => {
                self.finish_session(conn, session);
                self.release(session, zxid, clock);
            }
            Origin::Client(pending) => {
                let op = pending.request.op();
                let (err, body) = applied.result.reply(op);
                let conn = pending.conn;
                self.reply(pending, err, body, clock);
                if closes_session {
                    if let Some(peer) = self.connections.get(&conn).map(|conn| conn.peer) {
                        tracing::info!(%peer, %session, "Closed session {session} for client {peer}");
                    }
                    self.owners.remove(&session);
                    self.deferred.remove(&session);
                    self.forwarded.remove(&session);
                    self.drop_connection(conn, true);
                } else {
                    self.release(session, zxid, clock);
                }
            }
            Origin::Expiry => {
                self.deferred.remove(&session);
                self.forwarded.remove(&session);
                if let Some(conn) = self.owners.remove(&session) {
                    self.drop_connection(conn, true);
                }
            }
            Origin::Cleanup | Origin::Remote => {}
        }
    }

    /// `finishSessionInit(valid = true)` for a new session.
    fn finish_session(&mut self, conn_id: ConnectionId, session: SessionId) {
        let Some(conn) = self.connections.get(&conn_id) else {
            return;
        };
        if conn.session != Some(session) {
            return;
        }
        let (peer, timeout_ms) = (conn.peer, conn.timeout_ms);
        tracing::info!(%peer, %session, timeout_ms, "Established session {session} with negotiated timeout {timeout_ms} for client {peer}");
        let response = ConnectResponse {
            protocol_version: 0,
            time_out: timeout_ms,
            session_id: session.0,
            passwd: session_password(session.0),
            read_only: conn.read_only,
        };
        self.send_connect_response(conn_id, &response);
    }

    /// The write `zxid` of `session` is answered: answer the reads queued
    /// behind it, up to the session's next write.
    fn release(&mut self, session: SessionId, zxid: Zxid, clock: Clock) {
        if let Some(Deferred::Write(front)) =
            self.deferred.get(&session).and_then(|queue| queue.front())
        {
            debug_assert_eq!(*front, zxid, "a session's writes apply in order");
        }
        self.release_front_write(session, clock);
    }

    /// The session's oldest write (local or forwarded) is answered: answer the
    /// reads queued behind it, up to the session's next write.
    fn release_front_write(&mut self, session: SessionId, clock: Clock) {
        let Some(queue) = self.deferred.get_mut(&session) else {
            return;
        };
        if matches!(
            queue.front(),
            Some(Deferred::Write(_) | Deferred::Forwarded)
        ) {
            queue.pop_front();
        }
        let mut ready = Vec::new();
        while queue
            .front()
            .is_some_and(|next| !matches!(next, Deferred::Write(_) | Deferred::Forwarded))
        {
            ready.push(queue.pop_front().expect("front exists"));
        }
        if queue.is_empty() {
            self.deferred.remove(&session);
        }
        for deferred in ready {
            match deferred {
                Deferred::Read(pending) => self.answer_read(session, pending, clock),
                Deferred::Frame { conn, frame, close } => {
                    self.send(conn, frame);
                    if close {
                        self.drop_connection(conn, true);
                    }
                }
                Deferred::Write(_) | Deferred::Forwarded => unreachable!("stopped before writes"),
            }
        }
    }

    fn answer_read(&mut self, session: SessionId, pending: Pending, clock: Clock) {
        let Some(conn) = self.connections.get(&pending.conn) else {
            return;
        };
        if conn.session != Some(session) {
            return;
        }
        if matches!(pending.request, Request::Ping) {
            self.reply(pending, ErrorCode::Ok, None, clock);
            return;
        }
        let auth = conn.auth.clone();
        let outcome = self.tree.read(
            ReadContext {
                session,
                auth: &auth,
                watcher: WatcherId(pending.conn),
            },
            &pending.request,
        );
        match outcome {
            Some(outcome) => {
                self.deliver(&outcome.notifications);
                self.reply(pending, outcome.err, outcome.response, clock);
            }
            None => self.reply(pending, ErrorCode::Unimplemented, None, clock),
        }
    }

    /// Sends the reply to a request and books its latency.
    fn reply(&mut self, pending: Pending, err: ErrorCode, body: Option<Response>, clock: Clock) {
        let zxid = self.tree.last_processed_zxid().0;
        let Some(conn) = self.connections.get_mut(&pending.conn) else {
            return;
        };
        let latency_ms = (clock.now_ms - pending.received_ms).max(0) as u64;
        conn.outstanding = conn.outstanding.saturating_sub(1);
        conn.stats.latency.add(latency_ms);
        conn.stats.last_latency_ms = latency_ms;
        conn.stats.last_cxid = pending.xid as i64;
        conn.stats.last_zxid = zxid;
        conn.stats.last_operation = last_operation_name(pending.request.op());
        conn.stats.last_response_time_ms = clock.wall_ms;
        self.stats.latency.add(latency_ms);
        let body = if err.is_ok() { body } else { None };
        let frame = reply_frame(
            &ReplyHeader {
                xid: pending.xid,
                zxid,
                err: err.as_i32(),
            },
            body.as_ref(),
        );
        self.send(pending.conn, frame);
    }

    /// Watch events, each to the watchers that may READ the node.
    fn deliver(&mut self, notifications: &[Notification]) {
        for notification in notifications {
            let frame = notification_frame(
                notification.event_type,
                &notification.path,
                notification.zxid,
            );
            for watcher in &notification.watchers {
                let conn_id = watcher.0;
                let Some(conn) = self.connections.get(&conn_id) else {
                    continue;
                };
                if let Some(acl) = &notification.acl {
                    if self
                        .tree
                        .config()
                        .auth
                        .check(acl, perms::READ, &conn.auth)
                        .is_err()
                    {
                        continue;
                    }
                }
                self.send(conn_id, frame.clone());
            }
        }
    }

    fn on_tick(&mut self, clock: Clock) {
        if self.is_learner() {
            // Only the leader expires sessions; learners report activity in PINGs.
            return;
        }
        for (session, timeout_ms) in self.sessions.expire(clock.now_ms) {
            tracing::info!(%session, timeout_ms, "Expiring session {session}, timeout of {timeout_ms}ms exceeded");
            let zxid = self.next_zxid();
            let entry = self
                .tree
                .prepare(
                    &mut self.pending,
                    RequestContext {
                        session,
                        cxid: 0,
                        auth: &[],
                        zxid,
                        time_ms: clock.wall_ms,
                    },
                    &Request::CloseSession,
                )
                .expect("closeSession prepares to a txn");
            self.log_txn(entry, Origin::Expiry, None, clock);
        }
    }

    fn on_cleanup(&mut self, clock: Clock) {
        let candidates = self.tree.cleanup_candidates(clock.wall_ms, 0);
        for path in candidates
            .into_iter()
            .take(self.config.container_deletions_max)
        {
            let zxid = self.next_zxid();
            let entry = self
                .tree
                .prepare(
                    &mut self.pending,
                    RequestContext {
                        session: SessionId(0),
                        cxid: 0,
                        auth: &[],
                        zxid,
                        time_ms: clock.wall_ms,
                    },
                    &Request::DeleteContainer(DeleteContainerRequest { path }),
                )
                .expect("deleteContainer prepares to a txn");
            self.log_txn(entry, Origin::Cleanup, None, clock);
        }
    }

    // Read access for the four-letter words and the AdminServer.

    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    /// The tree, when an ensemble member stops serving (its state goes back
    /// to Zab's sync phase).
    pub fn into_tree(self) -> DataTree {
        self.tree
    }

    pub fn sessions(&self) -> &SessionTracker {
        &self.sessions
    }

    pub fn connections(&self) -> &BTreeMap<ConnectionId, Connection> {
        &self.connections
    }

    pub fn stats(&self) -> &ServerStats {
        &self.stats
    }

    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    /// Requests received and not yet answered, over all connections.
    pub fn outstanding_requests(&self) -> u64 {
        self.connections.values().map(|conn| conn.outstanding).sum()
    }

    /// A packet that is not a request (a four-letter word).
    pub fn count_packet_received(&mut self) {
        self.stats.packets_received += 1;
    }

    /// `srst`.
    pub fn reset_server_stats(&mut self) {
        self.stats.reset();
    }

    /// `crst`.
    pub fn reset_connection_stats(&mut self) {
        for conn in self.connections.values_mut() {
            conn.stats.reset();
        }
    }

    /// Txns appended and not yet durable.
    pub fn txns_in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The next time `Tick` has work (`None`: no session is tracked).
    pub fn next_expiry_ms(&self) -> Option<i64> {
        self.sessions.next_expiry_ms()
    }
}
