//! A follower or observer: registration (`Learner.registerWithLeader`),
//! synchronization (`Learner.syncWithLeader`) with 3.9's persistence order, and
//! broadcast (`Follower.processPacket`, `Observer.processPacket`,
//! `FollowerZooKeeperServer.commit`).

use std::collections::VecDeque;
use std::sync::Arc;

use crate::zookeeper::jute::TxnEntry;
use crate::zookeeper::quorum::message::{Epoch, LearnerInfo, QuorumMessage, ServerId};
use crate::zookeeper::tree::Zxid;

use super::{
    message_name, txn_zxid, Context, EpochFile, Input, LookingReason, Output, PlantedBug,
    ServingRole, Verdict, SYNC_BUFFER_ENTRIES_MAX, ZAB_PROTOCOL_VERSION,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Connecting,
    AwaitingLeaderInfo,
    PersistingAcceptedEpoch,
    AwaitingSyncStart,
    AwaitingSnapshot,
    Syncing,
    /// NEWLEADER received; persisting before the ACK.
    PersistingNewLeader,
    AwaitingUpToDate,
    Broadcasting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SyncMode {
    Diff,
    Trunc,
    Snap,
}

/// Where the NEWLEADER persistence sequence stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NewLeaderStep {
    /// Waiting for the snapshot, the truncation and the first txns to be durable.
    FirstDurable,
    /// currentEpoch is being written.
    PersistingEpoch,
    /// Waiting for the txns logged after currentEpoch to be durable.
    SecondDurable,
}

/// The learner role.
pub(super) struct Learner {
    leader: ServerId,
    observer: bool,
    phase: Phase,
    new_epoch: Epoch,
    /// The currentEpoch ACKEPOCH reports when acceptedEpoch had to be raised.
    reply_current_epoch: i32,
    sync_mode: Option<SyncMode>,
    /// The in-memory state was replaced by the leader's snapshot (ZOOKEEPER-3642).
    state_replaced: bool,
    snapshot_pending: bool,
    truncate_pending: bool,
    /// The last zxid buffered during sync (`enforceContinuousProposal`); 0: none.
    last_queued: Zxid,
    /// Sync-phase proposals not yet logged (`packetsNotLogged`).
    sync_proposals: VecDeque<Arc<TxnEntry>>,
    /// Sync-phase commits not yet applied (`packetsCommitted`).
    sync_commits: VecDeque<Zxid>,
    new_leader_step: NewLeaderStep,
    /// Txns to log once currentEpoch is durable.
    after_epoch_txns: Vec<Arc<TxnEntry>>,
    /// The last zxid that must be durable before the current step moves on.
    durable_wait: Zxid,
    /// Logged proposals to ACK once durable (followers).
    unacked: VecDeque<Zxid>,
    last_heard_ms: u64,
}

impl Learner {
    pub(super) fn new(context: &mut Context<'_>, leader: ServerId, observer: bool) -> Learner {
        Learner {
            leader,
            observer,
            phase: Phase::Connecting,
            new_epoch: Epoch(0),
            reply_current_epoch: -1,
            sync_mode: None,
            state_replaced: false,
            snapshot_pending: false,
            truncate_pending: false,
            last_queued: Zxid(0),
            sync_proposals: VecDeque::new(),
            sync_commits: VecDeque::new(),
            new_leader_step: NewLeaderStep::FirstDurable,
            after_epoch_txns: Vec::new(),
            durable_wait: Zxid(0),
            unacked: VecDeque::new(),
            last_heard_ms: context.now_ms,
        }
    }

    pub(super) fn leader(&self) -> ServerId {
        self.leader
    }

    /// An interrupted SNAP sync leaves a state that is not on disk: discard it.
    pub(super) fn needs_reload(&self) -> bool {
        self.sync_mode == Some(SyncMode::Snap)
            && self.state_replaced
            && self.phase < Phase::AwaitingUpToDate
    }

    /// A snapshot write requested at NEWLEADER has not completed.
    pub(super) fn snapshot_pending(&self) -> bool {
        self.snapshot_pending
    }

    fn serving_role(&self) -> ServingRole {
        if self.observer {
            ServingRole::Observer
        } else {
            ServingRole::Follower
        }
    }

    pub(super) fn step(&mut self, context: &mut Context<'_>, input: Input) -> Verdict {
        match input {
            Input::LeaderConnected { leader }
                if leader == self.leader && self.phase == Phase::Connecting =>
            {
                self.last_heard_ms = context.now_ms;
                let zxid = context.store.accepted_epoch.zxid_base();
                let info = LearnerInfo {
                    server_id: context.config.my_id,
                    protocol_version: ZAB_PROTOCOL_VERSION,
                    config_version: 0,
                };
                let message = if self.observer {
                    QuorumMessage::ObserverInfo { zxid, info }
                } else {
                    QuorumMessage::FollowerInfo { zxid, info }
                };
                context.send(leader, message);
                self.phase = Phase::AwaitingLeaderInfo;
                Verdict::Stay
            }
            Input::LeaderConnected { .. } => Verdict::Stay,
            Input::LeaderDisconnected { leader } if leader == self.leader => {
                Verdict::Leave(LookingReason::LeaderLost)
            }
            Input::LeaderDisconnected { .. } => Verdict::Stay,
            Input::Message { from, message } if from == self.leader => {
                self.last_heard_ms = context.now_ms;
                self.on_message(context, message)
            }
            Input::Message { from, message } => {
                tracing::debug!(%from, message = %message_name(&message), "message from a server that is not my leader");
                Verdict::Stay
            }
            Input::SnapshotReceived {
                from,
                zxid,
                snapshot,
            } if from == self.leader => {
                if self.phase != Phase::AwaitingSnapshot {
                    return protocol_error("snapshot outside a SNAP sync");
                }
                self.last_heard_ms = context.now_ms;
                context
                    .outputs
                    .push(Output::LoadSnapshot { zxid, snapshot });
                self.state_replaced = true;
                let store = &mut *context.store;
                store.last_logged = zxid;
                store.last_applied = zxid;
                store.last_durable = zxid;
                store.unapplied.clear();
                store.committed_log.clear();
                self.phase = Phase::Syncing;
                Verdict::Stay
            }
            Input::SnapshotReceived { .. } => Verdict::Stay,
            Input::LogDurable { zxid } => {
                context.store.last_durable = context.store.last_durable.max(zxid);
                if self.phase == Phase::Broadcasting && !self.observer {
                    while let Some(&next) = self.unacked.front() {
                        if next > zxid {
                            break;
                        }
                        self.unacked.pop_front();
                        context.send(self.leader, QuorumMessage::Ack { zxid: next });
                    }
                }
                self.advance_new_leader(context);
                Verdict::Stay
            }
            Input::EpochPersisted {
                file: EpochFile::Accepted,
                epoch,
            } => {
                context.store.accepted_epoch = context.store.accepted_epoch.max(epoch);
                if self.phase == Phase::PersistingAcceptedEpoch && epoch == self.new_epoch {
                    self.send_ack_epoch(context, self.reply_current_epoch);
                }
                Verdict::Stay
            }
            Input::EpochPersisted {
                file: EpochFile::Current,
                epoch,
            } => {
                context.store.current_epoch = context.store.current_epoch.max(epoch);
                self.advance_new_leader(context);
                Verdict::Stay
            }
            Input::SnapshotDurable { zxid } => {
                // Everything up to the snapshot's zxid is now on disk in it.
                context.store.last_durable = context.store.last_durable.max(zxid);
                self.snapshot_pending = false;
                self.advance_new_leader(context);
                Verdict::Stay
            }
            Input::TruncateDone { .. } => {
                self.truncate_pending = false;
                self.advance_new_leader(context);
                Verdict::Stay
            }
            Input::Tick => {
                let limit_ms = if self.phase >= Phase::AwaitingUpToDate {
                    context.config.sync_limit_ms()
                } else {
                    context.config.init_limit_ms()
                };
                if context.now_ms > self.last_heard_ms + limit_ms {
                    Verdict::Leave(LookingReason::LeaderLost)
                } else {
                    Verdict::Stay
                }
            }
            Input::LearnerConnected { peer } => {
                context.outputs.push(Output::CloseLearner { peer });
                Verdict::Stay
            }
            Input::LearnerDisconnected { .. } | Input::SyncRequest { .. } => Verdict::Stay,
            Input::Elected(_) | Input::Abandon { .. } | Input::DatabaseLoaded(_) => Verdict::Stay,
        }
    }

    fn send_ack_epoch(&mut self, context: &mut Context<'_>, current_epoch: i32) {
        let last_zxid = context.store.last_logged;
        context.send(
            self.leader,
            QuorumMessage::AckEpoch {
                last_zxid,
                current_epoch,
            },
        );
        self.phase = Phase::AwaitingSyncStart;
    }

    fn on_message(&mut self, context: &mut Context<'_>, message: QuorumMessage) -> Verdict {
        match (self.phase, message) {
            (Phase::AwaitingLeaderInfo, QuorumMessage::LeaderInfo { zxid, .. }) => {
                let new_epoch = Epoch(zxid.epoch());
                self.new_epoch = new_epoch;
                let accepted = context.store.accepted_epoch;
                if new_epoch > accepted {
                    self.reply_current_epoch = context.store.current_epoch.0 as i32;
                    self.phase = Phase::PersistingAcceptedEpoch;
                    context
                        .outputs
                        .push(Output::PersistAcceptedEpoch { epoch: new_epoch });
                } else if new_epoch == accepted {
                    self.send_ack_epoch(context, -1);
                } else {
                    tracing::warn!(
                        leader_epoch = new_epoch.0,
                        accepted = accepted.0,
                        "leader's epoch is below my accepted epoch"
                    );
                    return Verdict::Leave(LookingReason::EpochRejected);
                }
                Verdict::Stay
            }
            (Phase::AwaitingSyncStart, QuorumMessage::Diff { .. }) => {
                self.sync_mode = Some(SyncMode::Diff);
                self.phase = Phase::Syncing;
                Verdict::Stay
            }
            (Phase::AwaitingSyncStart, QuorumMessage::Trunc { zxid }) => {
                self.sync_mode = Some(SyncMode::Trunc);
                self.truncate_pending = true;
                context.outputs.push(Output::TruncateLog { zxid });
                let store = &mut *context.store;
                store.last_logged = zxid;
                store.last_applied = store.last_applied.min(zxid);
                store.last_durable = store.last_durable.min(zxid);
                store.unapplied.retain(|txn| txn_zxid(txn) <= zxid);
                store.committed_log.truncate_after(zxid);
                self.phase = Phase::Syncing;
                Verdict::Stay
            }
            (Phase::AwaitingSyncStart, QuorumMessage::Snap { .. }) => {
                self.sync_mode = Some(SyncMode::Snap);
                self.phase = Phase::AwaitingSnapshot;
                Verdict::Stay
            }
            (Phase::AwaitingSyncStart, message) => protocol_error(&format!(
                "first sync packet is {}, not DIFF/TRUNC/SNAP",
                message_name(&message)
            )),
            (
                Phase::Syncing | Phase::PersistingNewLeader | Phase::AwaitingUpToDate,
                QuorumMessage::Proposal { txn },
            ) => self.buffer_sync_txn(txn),
            (
                Phase::Syncing | Phase::PersistingNewLeader | Phase::AwaitingUpToDate,
                QuorumMessage::Inform { txn },
            ) => {
                // An INFORM is a proposal and its commit in one.
                let zxid = txn_zxid(&txn);
                let verdict = self.buffer_sync_txn(txn);
                self.sync_commits.push_back(zxid);
                verdict
            }
            (
                Phase::Syncing | Phase::PersistingNewLeader | Phase::AwaitingUpToDate,
                QuorumMessage::Commit { zxid },
            ) => {
                if self.sync_commits.len() >= SYNC_BUFFER_ENTRIES_MAX {
                    return protocol_error("too many commits during sync");
                }
                self.sync_commits.push_back(zxid);
                Verdict::Stay
            }
            (Phase::Syncing, QuorumMessage::NewLeader { zxid, .. }) => {
                if zxid != self.new_epoch.zxid_base() {
                    return protocol_error("NEWLEADER for another epoch");
                }
                self.on_new_leader(context);
                Verdict::Stay
            }
            (Phase::AwaitingUpToDate, QuorumMessage::UpToDate) => self.on_up_to_date(context),
            (
                Phase::Syncing | Phase::PersistingNewLeader | Phase::AwaitingUpToDate,
                QuorumMessage::PingFromLeader { .. },
            ) => Verdict::Stay,
            (Phase::Broadcasting, message) => self.on_broadcast(context, message),
            (phase, message) => {
                protocol_error(&format!("{} in phase {phase:?}", message_name(&message)))
            }
        }
    }

    /// Buffers a sync-phase txn; an INFORM counts as proposal and commit.
    fn buffer_sync_txn(&mut self, txn: Arc<TxnEntry>) -> Verdict {
        let zxid = txn_zxid(&txn);
        // ZOOKEEPER-4925: a gap inside one epoch means the leader's history has a
        // hole; only a new epoch may skip counters.
        if self.last_queued != Zxid(0)
            && zxid != Zxid(self.last_queued.0 + 1)
            && zxid.epoch() <= self.last_queued.epoch()
        {
            return protocol_error(&format!(
                "sync proposal {zxid} after {}: not contiguous",
                self.last_queued
            ));
        }
        if self.sync_proposals.len() >= SYNC_BUFFER_ENTRIES_MAX {
            return protocol_error("too many proposals during sync");
        }
        self.last_queued = zxid;
        self.sync_proposals.push_back(txn);
        Verdict::Stay
    }

    /// NEWLEADER: the committed sync txns are logged, applied and fsynced, a SNAP
    /// or TRUNC sync also takes and fsyncs a snapshot, and only then is
    /// currentEpoch written and NEWLEADER acked (ZOOKEEPER-1282, 3911, 4394, 4643,
    /// 4646, 4785). Txns of the new epoch itself (a learner joining an established
    /// leader) are logged after currentEpoch, so a crash in between cannot leave
    /// a log ahead of currentEpoch, which `loadDataBase` refuses to start from.
    fn on_new_leader(&mut self, context: &mut Context<'_>) {
        self.phase = Phase::PersistingNewLeader;
        let mut committed = Vec::new();
        while let Some(zxid) = self.sync_commits.pop_front() {
            match self.sync_proposals.front() {
                Some(head) if txn_zxid(head) == zxid => {
                    committed.push(self.sync_proposals.pop_front().expect("head"))
                }
                Some(head) => {
                    tracing::warn!(%zxid, head = %txn_zxid(head), "sync commit does not match the next proposal")
                }
                None => tracing::warn!(%zxid, "sync commit without a proposal"),
            }
        }
        let epoch_first = context
            .config
            .has_bug(PlantedBug::CurrentEpochBeforeSyncTxns);
        let (before_epoch, after_epoch): (Vec<_>, Vec<_>) = if epoch_first {
            (Vec::new(), committed)
        } else {
            committed
                .into_iter()
                .partition(|txn| txn_zxid(txn).epoch() < self.new_epoch.0)
        };
        for txn in before_epoch {
            self.log_and_apply(context, txn);
        }
        if matches!(self.sync_mode, Some(SyncMode::Snap | SyncMode::Trunc)) {
            self.snapshot_pending = true;
            context.outputs.push(Output::TakeSnapshot {
                zxid: context.store.last_applied,
            });
        }
        self.durable_wait = context.store.last_logged;
        self.after_epoch_txns = after_epoch;
        self.new_leader_step = NewLeaderStep::FirstDurable;
        self.advance_new_leader(context);
    }

    fn log_and_apply(&mut self, context: &mut Context<'_>, txn: Arc<TxnEntry>) {
        if txn_zxid(&txn) > context.store.last_logged {
            context.append(txn.clone());
        }
        context.apply(txn);
    }

    fn advance_new_leader(&mut self, context: &mut Context<'_>) {
        if self.phase != Phase::PersistingNewLeader {
            return;
        }
        let skip_durability = context
            .config
            .has_bug(PlantedBug::AckNewLeaderBeforeSyncDurable);
        loop {
            match self.new_leader_step {
                NewLeaderStep::FirstDurable => {
                    let waiting = self.snapshot_pending
                        || self.truncate_pending
                        || context.store.last_durable < self.durable_wait;
                    if waiting && !skip_durability {
                        return;
                    }
                    self.new_leader_step = NewLeaderStep::PersistingEpoch;
                    context.outputs.push(Output::PersistCurrentEpoch {
                        epoch: self.new_epoch,
                    });
                    return;
                }
                NewLeaderStep::PersistingEpoch => {
                    if context.store.current_epoch < self.new_epoch {
                        return;
                    }
                    for txn in std::mem::take(&mut self.after_epoch_txns) {
                        self.log_and_apply(context, txn);
                    }
                    self.durable_wait = context.store.last_logged;
                    self.new_leader_step = NewLeaderStep::SecondDurable;
                }
                NewLeaderStep::SecondDurable => {
                    let waiting = self.snapshot_pending
                        || self.truncate_pending
                        || context.store.last_durable < self.durable_wait;
                    if waiting && !skip_durability {
                        return;
                    }
                    self.phase = Phase::AwaitingUpToDate;
                    context.send(
                        self.leader,
                        QuorumMessage::Ack {
                            zxid: self.new_epoch.zxid_base(),
                        },
                    );
                    return;
                }
            }
        }
    }

    /// UPTODATE: serve, ACK, then log what arrived meanwhile and apply the
    /// commits that match (Learner.syncWithLeader's tail).
    fn on_up_to_date(&mut self, context: &mut Context<'_>) -> Verdict {
        self.phase = Phase::Broadcasting;
        self.sync_mode = None;
        context.outputs.push(Output::ServeClients {
            role: self.serving_role(),
            epoch: self.new_epoch,
        });
        context.send(
            self.leader,
            QuorumMessage::Ack {
                zxid: self.new_epoch.zxid_base(),
            },
        );
        for txn in std::mem::take(&mut self.sync_proposals) {
            let zxid = txn_zxid(&txn);
            if zxid <= context.store.last_logged {
                continue;
            }
            context.append(txn);
            if !self.observer {
                self.unacked.push_back(zxid);
            }
        }
        for zxid in std::mem::take(&mut self.sync_commits) {
            if let Verdict::Leave(reason) = self.commit(context, zxid) {
                return Verdict::Leave(reason);
            }
        }
        Verdict::Stay
    }

    /// `FollowerZooKeeperServer.commit`: the COMMIT must name the oldest pending
    /// proposal (Apache exits with UNMATCHED_TXN_COMMIT; here: LOOKING).
    fn commit(&mut self, context: &mut Context<'_>, zxid: Zxid) -> Verdict {
        let Some(head) = context.store.unapplied.front() else {
            tracing::warn!(%zxid, "commit without a pending proposal");
            return Verdict::Stay;
        };
        if txn_zxid(head) != zxid {
            return protocol_error(&format!(
                "commit {zxid} does not match the pending proposal {}",
                txn_zxid(head)
            ));
        }
        let txn = head.clone();
        context.apply(txn);
        Verdict::Stay
    }

    fn on_broadcast(&mut self, context: &mut Context<'_>, message: QuorumMessage) -> Verdict {
        match message {
            QuorumMessage::Proposal { txn } if !self.observer => {
                let zxid = txn_zxid(&txn);
                if zxid <= context.store.last_logged {
                    tracing::warn!(%zxid, "duplicate proposal; ignored");
                    return Verdict::Stay;
                }
                context.append(txn);
                self.unacked.push_back(zxid);
                Verdict::Stay
            }
            QuorumMessage::Commit { zxid } if !self.observer => self.commit(context, zxid),
            QuorumMessage::Proposal { .. } | QuorumMessage::Commit { .. } => Verdict::Stay,
            QuorumMessage::Inform { txn } if self.observer => {
                let zxid = txn_zxid(&txn);
                if zxid <= context.store.last_logged {
                    return Verdict::Stay;
                }
                context.append(txn.clone());
                context.apply(txn);
                Verdict::Stay
            }
            QuorumMessage::PingFromLeader { zxid } => {
                context.outputs.push(Output::ReplyPing { zxid });
                Verdict::Stay
            }
            QuorumMessage::Sync => {
                context.outputs.push(Output::SyncReleased { learner: None });
                Verdict::Stay
            }
            message @ QuorumMessage::RevalidateReply { .. } => {
                context.outputs.push(Output::Passthrough {
                    from: self.leader,
                    message,
                });
                Verdict::Stay
            }
            other => {
                tracing::warn!(message = %message_name(&other), "unexpected message while following");
                Verdict::Stay
            }
        }
    }
}

fn protocol_error(what: &str) -> Verdict {
    tracing::warn!(what, "protocol error from the leader");
    Verdict::Leave(LookingReason::ProtocolError(what.to_string()))
}
