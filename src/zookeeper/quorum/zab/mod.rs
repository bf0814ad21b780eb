//! Zab (ZooKeeper Atomic Broadcast) as a sans-IO state machine: the leader,
//! follower and observer roles of Apache 3.9's `Leader`, `LearnerHandler`,
//! `Learner`, `Follower` and `Observer`, without sockets, files or clocks.
//!
//! The shape is etcd-raft's: the driver calls [`Zab::step`] with the time and one
//! [`Input`] (a peer message, a disk completion, a tick, the election's decision)
//! and then drains [`Zab::take_outputs`], executing every [`Output`] in order.
//! Whatever must be durable before a message may be sent is gated inside the core
//! on the matching completion input (`LogDurable`, `EpochPersisted`,
//! `SnapshotDurable`, `TruncateDone`), so the driver may send as soon as it sees a
//! `Send`. A leader's local writes enter through [`Zab::propose`], which mints the
//! zxid.
//!
//! Peer input never panics the core: a protocol violation is logged, the
//! connection is closed or the role is abandoned (`GoLooking`), as Apache does,
//! except that Apache's `System.exit` cases become a return to LOOKING.
//!
//! # Layout
//! - `log`: the bounded in-memory window of committed txns the leader syncs
//!   learners from (Apache's `ZKDatabase.committedLog`).
//! - `leader`: discovery, synchronization and broadcast on the leader.
//! - `learner`: the same phases on a follower or an observer.

mod leader;
mod learner;
pub mod log;

use std::sync::Arc;

use crate::zookeeper::jute::TxnEntry;
use crate::zookeeper::quorum::message::{Epoch, QuorumMessage, ServerId};
use crate::zookeeper::tree::Zxid;

use leader::Leader;
pub use leader::{LeaderCounts, ProposalSizes};
use learner::Learner;
use log::CommittedLog;

/// Apache's default `zookeeper.commitLogCount`: how many committed txns the leader
/// keeps in memory to sync learners with DIFF. Older learners get SNAP.
pub const COMMITTED_LOG_ENTRIES_DEFAULT: usize = 500;

/// The protocol version LEADERINFO and LearnerInfo carry (Zab 1.0, 3.4+).
pub const ZAB_PROTOCOL_VERSION: i32 = 0x10000;

/// Bound on outstanding (proposed, uncommitted) txns on the leader; a driver that
/// proposes beyond it gets [`ProposeError::TooManyOutstanding`] (Apache throttles
/// earlier, at `globalOutstandingLimit`).
pub const OUTSTANDING_PROPOSALS_MAX: usize = 100_000;

/// Bound on txns a learner buffers during synchronization before NEWLEADER.
pub const SYNC_BUFFER_ENTRIES_MAX: usize = 1_000_000;

/// How the ensemble is configured; the ticks follow `zoo.cfg`.
#[derive(Debug, Clone)]
pub struct ZabConfig {
    pub my_id: ServerId,
    /// Participants (voters), this server included if it is one.
    pub voters: Vec<ServerId>,
    /// Observers (non-voting learners).
    pub observers: Vec<ServerId>,
    /// `tickTime`.
    pub tick_ms: u64,
    /// `initLimit`: ticks allowed for discovery and synchronization.
    pub init_limit_ticks: u64,
    /// `syncLimit`: ticks a synced peer may stay silent.
    pub sync_limit_ticks: u64,
    /// Committed txns kept in memory for DIFF ([`COMMITTED_LOG_ENTRIES_DEFAULT`]).
    pub committed_log_entries_max: usize,
    /// The `QuorumVerifier.toString()` bytes NEWLEADER carries (`None`: empty).
    pub quorum_verifier_text: Option<Arc<[u8]>>,
    /// Deliberate protocol bugs, so tests can prove the checker catches them.
    #[cfg(test)]
    pub planted_bug: Option<PlantedBug>,
}

impl ZabConfig {
    /// Apache's defaults for the limits (`tickTime=2000`, `initLimit=10`,
    /// `syncLimit=5`, `commitLogCount=500`).
    pub fn new(my_id: ServerId, voters: Vec<ServerId>, observers: Vec<ServerId>) -> ZabConfig {
        ZabConfig {
            my_id,
            voters,
            observers,
            tick_ms: 2000,
            init_limit_ticks: 10,
            sync_limit_ticks: 5,
            committed_log_entries_max: COMMITTED_LOG_ENTRIES_DEFAULT,
            quorum_verifier_text: None,
            #[cfg(test)]
            planted_bug: None,
        }
    }

    pub fn is_voter(&self, id: ServerId) -> bool {
        self.voters.contains(&id)
    }

    pub fn is_observer(&self, id: ServerId) -> bool {
        self.observers.contains(&id)
    }

    /// A strict majority of the voters (`QuorumMaj.containsQuorum`).
    pub fn is_quorum<'a>(&self, ids: impl IntoIterator<Item = &'a ServerId>) -> bool {
        let mut counted: Vec<ServerId> = ids
            .into_iter()
            .copied()
            .filter(|id| self.is_voter(*id))
            .collect();
        counted.sort();
        counted.dedup();
        counted.len() * 2 > self.voters.len()
    }

    fn init_limit_ms(&self) -> u64 {
        self.tick_ms * self.init_limit_ticks
    }

    fn sync_limit_ms(&self) -> u64 {
        self.tick_ms * self.sync_limit_ticks
    }

    #[cfg(test)]
    fn has_bug(&self, bug: PlantedBug) -> bool {
        self.planted_bug == Some(bug)
    }

    #[cfg(not(test))]
    fn has_bug(&self, _bug: PlantedBug) -> bool {
        false
    }
}

/// Known-wrong behaviours the simulation must detect (test builds only act on them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlantedBug {
    /// A learner ACKs NEWLEADER before its sync-phase txns are durable
    /// (ZOOKEEPER-3911 / 4646 / 4785).
    AckNewLeaderBeforeSyncDurable,
    /// The leader counts its own ACK of a proposal before its own fsync.
    LeaderSelfAckBeforeFsync,
    /// A learner writes currentEpoch before logging the sync txns (ZOOKEEPER-4643).
    CurrentEpochBeforeSyncTxns,
}

/// What the driver recovered from disk at startup (or after `ReloadDatabase`):
/// snapshot plus log replay, as `QuorumPeer.loadDataBase` does.
#[derive(Debug, Clone, Default)]
pub struct Recovered {
    /// The `acceptedEpoch` file; `None` if missing.
    pub accepted_epoch: Option<Epoch>,
    /// The `currentEpoch` file; `None` if missing.
    pub current_epoch: Option<Epoch>,
    /// The last zxid of the state rebuilt from snapshot and log
    /// (`dataTree.lastProcessedZxid`).
    pub last_zxid: Zxid,
    /// The newest replayed txns (at most `committed_log_entries_max`, oldest
    /// first), which seed the leader's DIFF window.
    pub recent_txns: Vec<Arc<TxnEntry>>,
    /// The last zxid known fsynced, when the replay read unsynced writes (a
    /// reload in a running process); `None`: all of it is durable (a restart).
    pub durable_zxid: Option<Zxid>,
}

/// Why the core could not start from the recovered state (`loadDataBase`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartupError {
    #[error("the accepted epoch {accepted} is less than the current epoch {current}")]
    AcceptedEpochBelowCurrent { accepted: u32, current: u32 },
}

/// Why a local proposal was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposeError {
    #[error("not an established leader")]
    NotLeader,
    #[error("zxid counter rolled over; leadership given up")]
    ZxidRollover,
    #[error("too many outstanding proposals")]
    TooManyOutstanding,
}

/// Which epoch file a persistence request or completion is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochFile {
    Accepted,
    Current,
}

/// A snapshot as the driver represents it (a serialized tree, a file handle, or in
/// the simulation a list). The core only passes it through.
pub type SnapshotData = Arc<dyn std::any::Any + Send + Sync>;

/// The election's decision for this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Lead,
    Follow { leader: ServerId },
    Observe { leader: ServerId },
}

/// Everything the driver feeds the core.
#[derive(Clone)]
pub enum Input {
    /// A Zab message from a peer on the learner connection.
    Message {
        from: ServerId,
        message: QuorumMessage,
    },
    /// The snapshot stream that followed a SNAP from the leader, fully read.
    SnapshotReceived {
        from: ServerId,
        zxid: Zxid,
        snapshot: SnapshotData,
    },
    /// Leader side: a learner connected (its first message must be
    /// FOLLOWERINFO/OBSERVERINFO).
    LearnerConnected { peer: ServerId },
    /// Leader side: a learner's connection closed.
    LearnerDisconnected { peer: ServerId },
    /// Learner side: the connection to the leader is up.
    LeaderConnected { leader: ServerId },
    /// Learner side: the connection to the leader failed or closed.
    LeaderDisconnected { leader: ServerId },
    /// Time passed; call at least every `tick_ms / 2`.
    Tick,
    /// Every appended txn up to and including `zxid` is fsynced.
    LogDurable { zxid: Zxid },
    /// An epoch file write requested by `PersistAcceptedEpoch` /
    /// `PersistCurrentEpoch` is durable.
    EpochPersisted { file: EpochFile, epoch: Epoch },
    /// The snapshot requested by `TakeSnapshot` is durable.
    SnapshotDurable { zxid: Zxid },
    /// The truncation requested by `TruncateLog` is done (log and state).
    TruncateDone { zxid: Zxid },
    /// The state was rebuilt from disk after `ReloadDatabase`.
    DatabaseLoaded(Recovered),
    /// Leader side: a learner's forwarded `sync` must be answered with SYNC once
    /// every earlier proposal has committed (`Leader.processSync`).
    SyncRequest { from: ServerId },
    /// The election decided this server's role.
    Elected(Decision),
    /// Leave the current role (shutdown, or an outside reason) and go LOOKING.
    Abandon { reason: String },
}

/// Why the server left its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookingReason {
    LeaderLost,
    QuorumLost,
    InitLimitExpired,
    ProtocolError(String),
    EpochRejected,
    ZxidRollover,
    Requested(String),
}

/// The role a serving server plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServingRole {
    Leader,
    Follower,
    Observer,
}

/// Everything the core asks the driver to do, in order.
#[derive(Clone)]
pub enum Output {
    /// Send on the connection to `to`.
    Send {
        to: ServerId,
        message: QuorumMessage,
    },
    /// Answer a leader's PING with this zxid, adding the session touches.
    ReplyPing { zxid: Zxid },
    /// Atomically write and fsync the acceptedEpoch file, then report
    /// `EpochPersisted`.
    PersistAcceptedEpoch { epoch: Epoch },
    /// Atomically write and fsync the currentEpoch file, then report
    /// `EpochPersisted`.
    PersistCurrentEpoch { epoch: Epoch },
    /// Append to the txn log; report `LogDurable` once fsynced.
    AppendTxn { txn: Arc<TxnEntry> },
    /// Truncate the log to `zxid` (entries above it dropped) and rebuild the
    /// in-memory state to match; report `TruncateDone`.
    TruncateLog { zxid: Zxid },
    /// Write a snapshot of the current state (which ends at `zxid`) and fsync
    /// it; report `SnapshotDurable`.
    TakeSnapshot { zxid: Zxid },
    /// Stream a snapshot of the current state (fuzzy is fine: txns after `zxid`
    /// are replayed idempotently) to learner `to`, right after the SNAP just sent.
    SendSnapshot { to: ServerId, zxid: Zxid },
    /// Replace the in-memory state with this snapshot (not yet durable).
    LoadSnapshot { zxid: Zxid, snapshot: SnapshotData },
    /// Apply this txn to the state: strictly increasing zxids.
    Apply { txn: Arc<TxnEntry> },
    /// Discard the in-memory state and rebuild it from disk, then report
    /// `DatabaseLoaded` (ZOOKEEPER-3642).
    ReloadDatabase,
    /// Close the connection to a learner.
    CloseLearner { peer: ServerId },
    /// Close the connection to the leader (the driver also reconnects nothing).
    CloseLeader { leader: ServerId },
    /// Start serving clients in this role (after UPTODATE, or as an established
    /// leader).
    ServeClients { role: ServingRole, epoch: Epoch },
    /// Stop serving and start an election with [`Zab::vote`].
    GoLooking { reason: LookingReason },
    /// A leader released the forwarded sync (leader: the SYNC already sent to a
    /// learner; learner: SYNC received, answer the oldest pending client sync).
    SyncReleased { learner: Option<ServerId> },
    /// A message the core does not interpret (REQUEST, REVALIDATE, a learner's
    /// PING session touches): for the driver's request pipeline.
    Passthrough {
        from: ServerId,
        message: QuorumMessage,
    },
}

impl std::fmt::Debug for Output {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Send { to, message } => {
                write!(formatter, "Send({to}, {})", message_name(message))
            }
            Output::AppendTxn { txn } => write!(formatter, "AppendTxn({})", Zxid(txn.header.zxid)),
            Output::Apply { txn } => write!(formatter, "Apply({})", Zxid(txn.header.zxid)),
            Output::LoadSnapshot { zxid, .. } => write!(formatter, "LoadSnapshot({zxid})"),
            Output::ReplyPing { zxid } => write!(formatter, "ReplyPing({zxid})"),
            Output::PersistAcceptedEpoch { epoch } => {
                write!(formatter, "PersistAcceptedEpoch({})", epoch.0)
            }
            Output::PersistCurrentEpoch { epoch } => {
                write!(formatter, "PersistCurrentEpoch({})", epoch.0)
            }
            Output::TruncateLog { zxid } => write!(formatter, "TruncateLog({zxid})"),
            Output::TakeSnapshot { zxid } => write!(formatter, "TakeSnapshot({zxid})"),
            Output::SendSnapshot { to, zxid } => write!(formatter, "SendSnapshot({to}, {zxid})"),
            Output::ReloadDatabase => write!(formatter, "ReloadDatabase"),
            Output::CloseLearner { peer } => write!(formatter, "CloseLearner({peer})"),
            Output::CloseLeader { leader } => write!(formatter, "CloseLeader({leader})"),
            Output::ServeClients { role, epoch } => {
                write!(formatter, "ServeClients({role:?}, {})", epoch.0)
            }
            Output::GoLooking { reason } => write!(formatter, "GoLooking({reason:?})"),
            Output::SyncReleased { learner } => write!(formatter, "SyncReleased({learner:?})"),
            Output::Passthrough { from, message } => {
                write!(formatter, "Passthrough({from}, {})", message_name(message))
            }
        }
    }
}

/// A short name for traces (the txn bodies are not printed).
pub fn message_name(message: &QuorumMessage) -> String {
    match message {
        QuorumMessage::Request(_) => "REQUEST".into(),
        QuorumMessage::Proposal { txn } => format!("PROPOSAL {}", Zxid(txn.header.zxid)),
        QuorumMessage::Ack { zxid } => format!("ACK {zxid}"),
        QuorumMessage::Commit { zxid } => format!("COMMIT {zxid}"),
        QuorumMessage::PingFromLeader { zxid } => format!("PING {zxid}"),
        QuorumMessage::PingFromLearner { zxid, .. } => format!("PING-REPLY {zxid}"),
        QuorumMessage::RevalidateRequest { .. } | QuorumMessage::RevalidateReply { .. } => {
            "REVALIDATE".into()
        }
        QuorumMessage::Sync => "SYNC".into(),
        QuorumMessage::Inform { txn } => format!("INFORM {}", Zxid(txn.header.zxid)),
        QuorumMessage::NewLeader { zxid, .. } => format!("NEWLEADER {zxid}"),
        QuorumMessage::FollowerInfo { zxid, .. } => format!("FOLLOWERINFO {zxid}"),
        QuorumMessage::UpToDate => "UPTODATE".into(),
        QuorumMessage::Diff { zxid } => format!("DIFF {zxid}"),
        QuorumMessage::Trunc { zxid } => format!("TRUNC {zxid}"),
        QuorumMessage::Snap { zxid } => format!("SNAP {zxid}"),
        QuorumMessage::ObserverInfo { zxid, .. } => format!("OBSERVERINFO {zxid}"),
        QuorumMessage::LeaderInfo { zxid, .. } => format!("LEADERINFO {zxid}"),
        QuorumMessage::AckEpoch {
            last_zxid,
            current_epoch,
        } => format!("ACKEPOCH {last_zxid} {current_epoch}"),
    }
}

/// The zxid a txn carries.
pub fn txn_zxid(txn: &TxnEntry) -> Zxid {
    Zxid(txn.header.zxid)
}

/// The role the core is in.
enum Role {
    Looking,
    /// Waiting for `DatabaseLoaded` after `ReloadDatabase`, or first for a
    /// snapshot write still in flight (`ReloadDatabase` follows its
    /// `SnapshotDurable`, so the reload reads the disk as it will stay).
    Reloading {
        snapshot_pending: bool,
    },
    Leading(Box<Leader>),
    Learning(Box<Learner>),
}

/// What the server persisted and holds in memory, shared by every role.
struct Store {
    accepted_epoch: Epoch,
    current_epoch: Epoch,
    /// The last zxid appended to the log or loaded (durable or not).
    last_logged: Zxid,
    /// The highest zxid reported by `LogDurable`.
    last_durable: Zxid,
    /// The last zxid handed to the state (`Apply`, snapshot, truncation).
    last_applied: Zxid,
    /// Txns appended but not applied (a learner's pending proposals, a leader's
    /// outstanding ones), oldest first: applied when the role ends, as Apache's
    /// `fastForwardDataBase` replays the log.
    unapplied: std::collections::VecDeque<Arc<TxnEntry>>,
    committed_log: CommittedLog,
}

/// The Zab core of one server.
pub struct Zab {
    config: ZabConfig,
    store: Store,
    role: Role,
    outputs: Vec<Output>,
    now_ms: u64,
}

impl Zab {
    /// Starts from the recovered state (LOOKING), with `QuorumPeer.loadDataBase`'s
    /// checks. Missing epoch files default to the epoch of the last zxid and are
    /// written (the requests are the first outputs).
    pub fn new(config: ZabConfig, recovered: Recovered) -> Result<Zab, StartupError> {
        let mut outputs = Vec::new();
        let store = Self::store_from(&config, recovered, &mut outputs)?;
        Ok(Zab {
            config,
            store,
            role: Role::Looking,
            outputs,
            now_ms: 0,
        })
    }

    fn store_from(
        config: &ZabConfig,
        recovered: Recovered,
        outputs: &mut Vec<Output>,
    ) -> Result<Store, StartupError> {
        let epoch_of_zxid = Epoch(recovered.last_zxid.epoch());
        let current_epoch = recovered.current_epoch.unwrap_or_else(|| {
            outputs.push(Output::PersistCurrentEpoch {
                epoch: epoch_of_zxid,
            });
            epoch_of_zxid
        });
        // Apache refuses to start here unless `currentEpoch.tmp` shows an
        // interrupted write (ZOOKEEPER-1653). A SNAP sync from an established
        // leader leaves exactly this state when the server dies between the
        // fsynced snapshot and the currentEpoch write (Learner.syncWithLeader's
        // order). Txns of epoch e exist only once e's leader was established, and
        // then the state holds e's whole initial history plus a prefix of its
        // epoch-e txns: the state of any lagging follower of e. So the epoch is
        // adopted instead of bricking the server.
        let current_epoch = if epoch_of_zxid > current_epoch {
            tracing::warn!(
                current = current_epoch.0,
                last_zxid = %recovered.last_zxid,
                "currentEpoch is older than the last zxid; adopting the zxid's epoch"
            );
            outputs.push(Output::PersistCurrentEpoch {
                epoch: epoch_of_zxid,
            });
            epoch_of_zxid
        } else {
            current_epoch
        };
        let accepted_epoch = recovered.accepted_epoch.unwrap_or_else(|| {
            outputs.push(Output::PersistAcceptedEpoch {
                epoch: epoch_of_zxid,
            });
            epoch_of_zxid
        });
        if accepted_epoch < current_epoch {
            return Err(StartupError::AcceptedEpochBelowCurrent {
                accepted: accepted_epoch.0,
                current: current_epoch.0,
            });
        }
        let mut committed_log = CommittedLog::new(config.committed_log_entries_max);
        for txn in recovered.recent_txns {
            if txn_zxid(&txn) <= recovered.last_zxid {
                committed_log.push(txn);
            }
        }
        Ok(Store {
            accepted_epoch,
            current_epoch,
            last_logged: recovered.last_zxid,
            last_durable: recovered
                .durable_zxid
                .unwrap_or(recovered.last_zxid)
                .min(recovered.last_zxid),
            last_applied: recovered.last_zxid,
            unapplied: Default::default(),
            committed_log,
        })
    }

    pub fn config(&self) -> &ZabConfig {
        &self.config
    }

    /// The outputs produced since the last call, in the order they must run.
    pub fn take_outputs(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.outputs)
    }

    /// This server's vote for FastLeaderElection: `(currentEpoch, lastLoggedZxid)`.
    pub fn vote(&self) -> (Epoch, Zxid) {
        (self.store.current_epoch, self.store.last_logged)
    }

    pub fn accepted_epoch(&self) -> Epoch {
        self.store.accepted_epoch
    }

    pub fn current_epoch(&self) -> Epoch {
        self.store.current_epoch
    }

    pub fn last_applied(&self) -> Zxid {
        self.store.last_applied
    }

    pub fn is_looking(&self) -> bool {
        matches!(self.role, Role::Looking)
    }

    /// `Some(epoch)` while leading (established or not).
    pub fn leading_epoch(&self) -> Option<Option<Epoch>> {
        match &self.role {
            Role::Leading(leader) => Some(leader.epoch()),
            _ => None,
        }
    }

    /// True once this leader's NEWLEADER reached a quorum.
    pub fn is_established_leader(&self) -> bool {
        matches!(&self.role, Role::Leading(leader) if leader.is_established())
    }

    /// The leader this learner follows or observes.
    /// The leader's learner figures (`mntr`); `None` unless leading.
    pub fn leader_counts(&self) -> Option<LeaderCounts> {
        match &self.role {
            Role::Leading(leader) => Some(leader.counts()),
            _ => None,
        }
    }

    /// `srst`: a leader's proposal sizes start again.
    pub fn reset_proposal_sizes(&mut self) {
        if let Role::Leading(leader) = &mut self.role {
            leader.reset_proposal_sizes();
        }
    }

    pub fn leader(&self) -> Option<ServerId> {
        match &self.role {
            Role::Learning(learner) => Some(learner.leader()),
            _ => None,
        }
    }

    /// Feeds one input at time `now_ms` (monotonic milliseconds).
    pub fn step(&mut self, now_ms: u64, input: Input) {
        self.now_ms = self.now_ms.max(now_ms);
        match input {
            Input::Elected(decision) => self.elected(decision),
            Input::Abandon { reason } => {
                if !matches!(self.role, Role::Looking | Role::Reloading { .. }) {
                    self.go_looking(LookingReason::Requested(reason));
                }
            }
            Input::DatabaseLoaded(recovered) => {
                if !matches!(
                    self.role,
                    Role::Reloading {
                        snapshot_pending: false
                    }
                ) {
                    tracing::warn!("DatabaseLoaded without a reload request; ignored");
                    return;
                }
                let mut outputs = Vec::new();
                match Self::store_from(&self.config, recovered, &mut outputs) {
                    Ok(store) => {
                        self.store = store;
                        self.outputs.extend(outputs);
                        self.role = Role::Looking;
                    }
                    Err(error) => {
                        // The state on disk was valid when the process started, and
                        // only this core wrote to it since; a failure is a bug.
                        panic!("reloaded state fails the startup checks: {error}");
                    }
                }
            }
            other => self.step_role(other),
        }
    }

    /// Leader only: proposes a txn, overwriting its `header.zxid` with the next
    /// zxid of this epoch. Returns the txn as proposed.
    pub fn propose(&mut self, now_ms: u64, txn: TxnEntry) -> Result<Arc<TxnEntry>, ProposeError> {
        self.now_ms = self.now_ms.max(now_ms);
        let Role::Leading(leader) = &mut self.role else {
            return Err(ProposeError::NotLeader);
        };
        let mut context = Context {
            config: &self.config,
            store: &mut self.store,
            outputs: &mut self.outputs,
            now_ms: self.now_ms,
        };
        let result = leader.propose(&mut context, txn);
        if result == Err(ProposeError::ZxidRollover) {
            self.go_looking(LookingReason::ZxidRollover);
        }
        result
    }

    fn elected(&mut self, decision: Decision) {
        if !matches!(self.role, Role::Looking) {
            tracing::warn!(?decision, "election decision while not LOOKING; ignored");
            return;
        }
        let mut context = Context {
            config: &self.config,
            store: &mut self.store,
            outputs: &mut self.outputs,
            now_ms: self.now_ms,
        };
        self.role = match decision {
            Decision::Lead => Role::Leading(Box::new(Leader::new(&mut context))),
            Decision::Follow { leader } => {
                Role::Learning(Box::new(Learner::new(&mut context, leader, false)))
            }
            Decision::Observe { leader } => {
                Role::Learning(Box::new(Learner::new(&mut context, leader, true)))
            }
        };
    }

    fn step_role(&mut self, input: Input) {
        if let (Role::Reloading { snapshot_pending }, Input::SnapshotDurable { .. }) =
            (&mut self.role, &input)
        {
            if *snapshot_pending {
                *snapshot_pending = false;
                self.outputs.push(Output::ReloadDatabase);
                return;
            }
        }
        let mut context = Context {
            config: &self.config,
            store: &mut self.store,
            outputs: &mut self.outputs,
            now_ms: self.now_ms,
        };
        let verdict = match &mut self.role {
            Role::Looking | Role::Reloading { .. } => {
                match &input {
                    Input::LogDurable { zxid } => {
                        context.store.last_durable = context.store.last_durable.max(*zxid)
                    }
                    // A write requested before the role ended still landed on disk.
                    Input::EpochPersisted {
                        file: EpochFile::Accepted,
                        epoch,
                    } => context.store.accepted_epoch = context.store.accepted_epoch.max(*epoch),
                    Input::EpochPersisted {
                        file: EpochFile::Current,
                        epoch,
                    } => context.store.current_epoch = context.store.current_epoch.max(*epoch),
                    Input::SnapshotDurable { zxid } => {
                        context.store.last_durable = context.store.last_durable.max(*zxid)
                    }
                    Input::TruncateDone { .. } | Input::Tick => {}
                    Input::LearnerConnected { peer } => {
                        context.outputs.push(Output::CloseLearner { peer: *peer })
                    }
                    _ => {}
                }
                Verdict::Stay
            }
            Role::Leading(leader) => leader.step(&mut context, input),
            Role::Learning(learner) => learner.step(&mut context, input),
        };
        if let Verdict::Leave(reason) = verdict {
            self.go_looking(reason);
        }
    }

    /// Leaves the role: closes connections, brings the state up to the log
    /// (Apache's `fastForwardDataBase`) or, after an unfinished SNAP sync, asks
    /// for a reload from disk (ZOOKEEPER-3642).
    fn go_looking(&mut self, reason: LookingReason) {
        tracing::info!(server = %self.config.my_id, ?reason, "going LOOKING");
        let role = std::mem::replace(&mut self.role, Role::Looking);
        let mut reload = None;
        match role {
            Role::Leading(leader) => {
                for peer in leader.learner_ids() {
                    self.outputs.push(Output::CloseLearner { peer });
                }
            }
            Role::Learning(learner) => {
                self.outputs.push(Output::CloseLeader {
                    leader: learner.leader(),
                });
                reload = learner.needs_reload().then(|| learner.snapshot_pending());
            }
            Role::Looking | Role::Reloading { .. } => {}
        }
        if let Some(snapshot_pending) = reload {
            self.store.unapplied.clear();
            self.outputs.push(Output::GoLooking { reason });
            if !snapshot_pending {
                self.outputs.push(Output::ReloadDatabase);
            }
            self.role = Role::Reloading { snapshot_pending };
            return;
        }
        // Stop serving first: the txns below were never committed as far as
        // this server knows.
        self.outputs.push(Output::GoLooking { reason });
        while let Some(txn) = self.store.unapplied.pop_front() {
            let zxid = txn_zxid(&txn);
            if zxid > self.store.last_applied {
                self.store.last_applied = zxid;
                self.store.committed_log.push(txn.clone());
                self.outputs.push(Output::Apply { txn });
            }
        }
    }
}

/// What a role handler tells the dispatcher.
enum Verdict {
    Stay,
    Leave(LookingReason),
}

/// The borrowed pieces a role handler works with.
struct Context<'a> {
    config: &'a ZabConfig,
    store: &'a mut Store,
    outputs: &'a mut Vec<Output>,
    now_ms: u64,
}

impl Context<'_> {
    fn config_text(&self) -> Option<Arc<[u8]>> {
        self.config.quorum_verifier_text.clone()
    }

    fn send(&mut self, to: ServerId, message: QuorumMessage) {
        self.outputs.push(Output::Send { to, message });
    }

    /// Appends a txn to the log (durable later).
    fn append(&mut self, txn: Arc<TxnEntry>) {
        let zxid = txn_zxid(&txn);
        debug_assert!(zxid > self.store.last_logged, "appends are in zxid order");
        self.store.last_logged = zxid;
        if zxid > self.store.last_applied {
            self.store.unapplied.push_back(txn.clone());
        }
        self.outputs.push(Output::AppendTxn { txn });
    }

    /// Applies a committed txn to the state.
    fn apply(&mut self, txn: Arc<TxnEntry>) {
        let zxid = txn_zxid(&txn);
        if zxid <= self.store.last_applied {
            // A fuzzy snapshot already holds it, or a duplicate.
            return;
        }
        self.store.last_applied = zxid;
        while self
            .store
            .unapplied
            .front()
            .is_some_and(|pending| txn_zxid(pending) <= zxid)
        {
            self.store.unapplied.pop_front();
        }
        self.store.committed_log.push(txn.clone());
        self.outputs.push(Output::Apply { txn });
    }
}

#[cfg(test)]
mod tests;
