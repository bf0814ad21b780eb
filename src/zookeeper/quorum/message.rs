//! The messages leader election and Zab exchange, as typed values. The core
//! (`election`, `zab`) produces and consumes these; `wire` turns them into
//! Apache 3.9's bytes and back. Nothing here knows about sockets.
//!
//! Names follow Apache's (`FastLeaderElection.Notification`, `Leader.PROPOSAL`,
//! ...) so a reader can put this beside the Java source. Layouts are in
//! `../shared/research/zookeeper-quorum-protocol.md` §1-§2 and in `wire`.

use std::fmt;
use std::sync::Arc;

use crate::zookeeper::jute::{Id, TxnEntry};
use crate::zookeeper::tree::{SessionId, Zxid};

/// A server's `myid` (Apache's `sid`, a Java long on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerId(pub i64);

impl fmt::Display for ServerId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

/// A leader epoch: the high 32 bits of every zxid it mints, and the value of the
/// `currentEpoch` / `acceptedEpoch` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Epoch(pub u32);

impl Epoch {
    /// The zxid with this epoch and counter 0 (NEWLEADER, FOLLOWERINFO, ...).
    pub fn zxid_base(self) -> Zxid {
        Zxid::new(self.0, 0)
    }
}

/// `QuorumPeer.ServerState`; the ordinal is what a notification carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerState {
    Looking = 0,
    Following = 1,
    Leading = 2,
    Observing = 3,
}

impl ServerState {
    pub fn from_i32(value: i32) -> Option<ServerState> {
        match value {
            0 => Some(ServerState::Looking),
            1 => Some(ServerState::Following),
            2 => Some(ServerState::Leading),
            3 => Some(ServerState::Observing),
            _ => None,
        }
    }
}

/// `Vote`: who a server proposes as leader, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vote {
    /// The proposed leader.
    pub leader: ServerId,
    /// The proposed leader's last logged zxid.
    pub zxid: Zxid,
    /// The sender's election round (`logicalclock`).
    pub election_epoch: i64,
    /// The proposed leader's `currentEpoch`.
    pub peer_epoch: i64,
}

/// `FastLeaderElection.Notification` as it travels (`buildMsg`, version 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub state: ServerState,
    pub vote: Vote,
    /// 0x2 when sent by 3.5+; older layouts decode as 0 or 1.
    pub version: i32,
    /// UTF-8 of the sender's `QuorumVerifier.toString()`; `None` in pre-v2 layouts.
    pub config: Option<Arc<[u8]>>,
}

/// The header an election connection's initiator sends (`QuorumCnxManager.InitialMessage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialMessage {
    /// `PROTOCOL_VERSION_V1` (-65536) or `_V2` (-65535); `None` for a pre-3.5 bare sid.
    pub protocol_version: Option<i64>,
    pub server_id: ServerId,
    /// `host:port` entries (one for V1, `|`-separated for V2).
    pub election_addresses: Vec<String>,
}

/// `LearnerInfo` carried by FOLLOWERINFO / OBSERVERINFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearnerInfo {
    pub server_id: ServerId,
    /// 0x10000 in every 3.4+ server.
    pub protocol_version: i32,
    pub config_version: i64,
}

/// One `(sessionId, timeout)` pair of a learner's PING (session touches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTouch {
    pub session_id: SessionId,
    pub timeout_ms: i32,
}

/// A client request a learner forwards to the leader (REQUEST).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedRequest {
    pub session_id: SessionId,
    pub cxid: i32,
    /// The client op code (`OpCode`), -10 createSession, -11 closeSession included.
    pub op: i32,
    /// The request record's jute bytes exactly as the client sent them
    /// (for createSession: `int timeout`).
    pub body: Arc<[u8]>,
    /// The client's authenticated ids.
    pub auth_info: Vec<Id>,
}

/// A QuorumPacket on the learner port, by type (`Leader.java` constants in
/// parentheses). `txn` payloads are whole log entries: header, record, digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuorumMessage {
    /// Learner -> leader (1).
    Request(ForwardedRequest),
    /// Leader -> follower (2): zxid is `txn.header.zxid`.
    Proposal { txn: Arc<TxnEntry> },
    /// Follower -> leader (3).
    Ack { zxid: Zxid },
    /// Leader -> follower (4).
    Commit { zxid: Zxid },
    /// Leader -> learner (5): no data; zxid is the leader's last proposed.
    PingFromLeader { zxid: Zxid },
    /// Learner -> leader (5): the session touches since the last ping.
    PingFromLearner {
        zxid: Zxid,
        touches: Vec<SessionTouch>,
    },
    /// Learner -> leader (6).
    RevalidateRequest {
        session_id: SessionId,
        timeout_ms: i32,
    },
    /// Leader -> learner (6).
    RevalidateReply { session_id: SessionId, valid: bool },
    /// Leader -> learner (7): a forwarded sync is ordered after every prior commit.
    Sync,
    /// Leader -> observer (8).
    Inform { txn: Arc<TxnEntry> },
    /// Leader -> learner (10): zxid is `newEpoch << 32`.
    NewLeader {
        zxid: Zxid,
        config: Option<Arc<[u8]>>,
    },
    /// Follower -> leader (11): zxid is `acceptedEpoch << 32`.
    FollowerInfo { zxid: Zxid, info: LearnerInfo },
    /// Leader -> learner (12).
    UpToDate,
    /// Leader -> learner (13): proposals and commits up to `zxid` follow.
    Diff { zxid: Zxid },
    /// Leader -> learner (14): truncate the log to `zxid`.
    Trunc { zxid: Zxid },
    /// Leader -> learner (15): the snapshot stream (state up to `zxid`) follows
    /// on the wire; `wire` reads and writes it separately.
    Snap { zxid: Zxid },
    /// Observer -> leader (16).
    ObserverInfo { zxid: Zxid, info: LearnerInfo },
    /// Leader -> learner (17): zxid is `newEpoch << 32`.
    LeaderInfo { zxid: Zxid, protocol_version: i32 },
    /// Learner -> leader (18): `current_epoch` is -1 when the learner had already
    /// accepted the proposed epoch.
    AckEpoch { last_zxid: Zxid, current_epoch: i32 },
}
