//! The leader: discovery (`Leader.getEpochToPropose`, `waitForEpochAck`),
//! synchronization of each learner (`LearnerHandler.syncFollower`,
//! `Leader.startForwarding`, `waitForNewLeaderAck`) and broadcast
//! (`Leader.propose`, `processAck`, `tryToCommit`, `processSync`, the ping and
//! quorum checks of `Leader.lead`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::zookeeper::jute::TxnEntry;
use crate::zookeeper::quorum::message::{Epoch, QuorumMessage, ServerId};
use crate::zookeeper::tree::Zxid;

use super::log::CommittedLog;
use super::{
    message_name, txn_zxid, Context, EpochFile, Input, LookingReason, Output, PlantedBug,
    ProposeError, ServingRole, Verdict, OUTSTANDING_PROPOSALS_MAX, ZAB_PROTOCOL_VERSION,
};

/// The highest zxid counter Apache lets a leader use: a request that would get
/// counter 0xffffffff forces a new election instead (ZOOKEEPER-1277).
const ZXID_COUNTER_LIMIT: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Collecting FOLLOWERINFO from a quorum to choose the epoch.
    Discovering,
    /// acceptedEpoch := new epoch is being written.
    PersistingAcceptedEpoch,
    /// Waiting for a quorum of ACKEPOCH.
    AwaitingEpochAcks,
    /// currentEpoch := new epoch is being written.
    PersistingCurrentEpoch,
    /// Learners sync; waiting for a quorum of NEWLEADER ACKs.
    AwaitingNewLeaderAcks,
    /// Broadcast.
    Established,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HandlerPhase {
    AwaitingInfo,
    /// Info received; LEADERINFO waits for the epoch.
    AwaitingEpoch,
    AwaitingAckEpoch,
    /// ACKEPOCH received; sync waits for the leader's currentEpoch.
    AwaitingSync,
    AwaitingNewLeaderAck,
    /// NEWLEADER acked; UPTODATE waits for the quorum.
    AwaitingUpToDate,
    Broadcasting,
}

/// The leader's view of one learner connection (`LearnerHandler`).
struct LearnerHandle {
    observer: bool,
    phase: HandlerPhase,
    peer_last_zxid: Zxid,
    /// Silent past this, the learner is dropped.
    deadline_ms: u64,
    /// Gets live PROPOSAL/COMMIT (participants) or INFORM (observers).
    forwarding: bool,
    /// NEWLEADER is queued, so PINGs may flow (`sendingThreadStarted`).
    pings_allowed: bool,
}

struct Outstanding {
    txn: Arc<TxnEntry>,
    acks: BTreeSet<ServerId>,
    proposed_ms: u64,
}

/// A leader's figures for monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeaderCounts {
    pub learners: usize,
    pub synced_followers: usize,
    pub synced_observers: usize,
    pub pending_syncs: usize,
    pub proposal_sizes: ProposalSizes,
}

/// Serialized sizes of the proposals sent (Apache's `BufferStats` in
/// `Leader.propose`): the last, the smallest and the largest, -1 before the first
/// and after `srst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProposalSizes {
    pub last_bytes: i64,
    pub min_bytes: i64,
    pub max_bytes: i64,
}

impl Default for ProposalSizes {
    fn default() -> Self {
        ProposalSizes {
            last_bytes: -1,
            min_bytes: -1,
            max_bytes: -1,
        }
    }
}

impl ProposalSizes {
    fn record(&mut self, bytes: i64) {
        self.last_bytes = bytes;
        if self.min_bytes == -1 || bytes < self.min_bytes {
            self.min_bytes = bytes;
        }
        self.max_bytes = self.max_bytes.max(bytes);
    }
}

/// The leader role.
pub(super) struct Leader {
    phase: Phase,
    epoch: Option<Epoch>,
    phase_deadline_ms: u64,
    /// `(currentEpoch, lastProcessedZxid)` when leading began (`leaderStateSummary`).
    summary: (Epoch, Zxid),
    connecting_voters: BTreeSet<ServerId>,
    max_accepted_epoch: Epoch,
    epoch_ackers: BTreeSet<ServerId>,
    newleader_ackers: BTreeSet<ServerId>,
    learners: BTreeMap<ServerId, LearnerHandle>,
    outstanding: BTreeMap<Zxid, Outstanding>,
    last_proposed: Zxid,
    /// Forwarded syncs parked until the commit of the zxid they wait on.
    pending_syncs: BTreeMap<Zxid, Vec<ServerId>>,
    next_ping_ms: u64,
    proposal_sizes: ProposalSizes,
}

impl Leader {
    /// Learners connected, those synced (broadcasting), and parked syncs.
    pub(super) fn counts(&self) -> LeaderCounts {
        let synced = |observer: bool| {
            self.learners
                .values()
                .filter(|handle| {
                    handle.observer == observer && handle.phase == HandlerPhase::Broadcasting
                })
                .count()
        };
        LeaderCounts {
            learners: self.learners.len(),
            synced_followers: synced(false),
            synced_observers: synced(true),
            pending_syncs: self.pending_syncs.values().map(Vec::len).sum(),
            proposal_sizes: self.proposal_sizes,
        }
    }

    /// `srst` on a leader also resets its proposal sizes.
    pub(super) fn reset_proposal_sizes(&mut self) {
        self.proposal_sizes = ProposalSizes::default();
    }

    pub(super) fn new(context: &mut Context<'_>) -> Leader {
        let my_id = context.config.my_id;
        let mut leader = Leader {
            phase: Phase::Discovering,
            epoch: None,
            phase_deadline_ms: context.now_ms + context.config.init_limit_ms(),
            summary: (context.store.current_epoch, context.store.last_applied),
            connecting_voters: BTreeSet::from([my_id]),
            max_accepted_epoch: context.store.accepted_epoch,
            epoch_ackers: BTreeSet::new(),
            newleader_ackers: BTreeSet::new(),
            learners: BTreeMap::new(),
            outstanding: BTreeMap::new(),
            last_proposed: context.store.last_logged,
            pending_syncs: BTreeMap::new(),
            next_ping_ms: context.now_ms,
            proposal_sizes: ProposalSizes::default(),
        };
        leader.maybe_choose_epoch(context);
        leader
    }

    pub(super) fn epoch(&self) -> Option<Epoch> {
        self.epoch
    }

    pub(super) fn is_established(&self) -> bool {
        self.phase == Phase::Established
    }

    pub(super) fn learner_ids(&self) -> Vec<ServerId> {
        self.learners.keys().copied().collect()
    }

    pub(super) fn step(&mut self, context: &mut Context<'_>, input: Input) -> Verdict {
        match input {
            Input::Message { from, message } => self.on_message(context, from, message),
            Input::LearnerConnected { peer } => {
                if !context.config.is_voter(peer) && !context.config.is_observer(peer)
                    || peer == context.config.my_id
                {
                    tracing::warn!(%peer, "connection from a server outside the configuration");
                    context.outputs.push(Output::CloseLearner { peer });
                } else {
                    let handle = LearnerHandle {
                        observer: context.config.is_observer(peer),
                        phase: HandlerPhase::AwaitingInfo,
                        peer_last_zxid: Zxid(0),
                        deadline_ms: context.now_ms
                            + context.config.init_limit_ms()
                            + context.config.sync_limit_ms(),
                        forwarding: false,
                        pings_allowed: false,
                    };
                    self.learners.insert(peer, handle);
                }
                Verdict::Stay
            }
            Input::LearnerDisconnected { peer } => {
                self.learners.remove(&peer);
                Verdict::Stay
            }
            Input::EpochPersisted {
                file: EpochFile::Accepted,
                epoch,
            } => {
                context.store.accepted_epoch = context.store.accepted_epoch.max(epoch);
                if self.phase == Phase::PersistingAcceptedEpoch && Some(epoch) == self.epoch {
                    self.phase = Phase::AwaitingEpochAcks;
                    self.epoch_ackers.insert(context.config.my_id);
                    let waiting: Vec<ServerId> = self
                        .learners
                        .iter()
                        .filter(|(_, handle)| handle.phase == HandlerPhase::AwaitingEpoch)
                        .map(|(id, _)| *id)
                        .collect();
                    for peer in waiting {
                        self.send_leader_info(context, peer);
                    }
                    self.maybe_finish_epoch_acks(context);
                }
                Verdict::Stay
            }
            Input::EpochPersisted {
                file: EpochFile::Current,
                epoch,
            } => {
                context.store.current_epoch = context.store.current_epoch.max(epoch);
                if self.phase == Phase::PersistingCurrentEpoch && Some(epoch) == self.epoch {
                    self.phase = Phase::AwaitingNewLeaderAcks;
                    self.phase_deadline_ms = context.now_ms + context.config.init_limit_ms();
                    let waiting: Vec<ServerId> = self
                        .learners
                        .iter()
                        .filter(|(_, handle)| handle.phase == HandlerPhase::AwaitingSync)
                        .map(|(id, _)| *id)
                        .collect();
                    for peer in waiting {
                        self.sync_learner(context, peer);
                    }
                    self.maybe_establish(context);
                }
                Verdict::Stay
            }
            Input::LogDurable { zxid } => {
                context.store.last_durable = context.store.last_durable.max(zxid);
                let my_id = context.config.my_id;
                for (_, proposal) in self.outstanding.range_mut(..=zxid) {
                    proposal.acks.insert(my_id);
                }
                self.try_commit(context);
                self.maybe_finish_epoch_acks(context);
                self.maybe_establish(context);
                Verdict::Stay
            }
            Input::SyncRequest { from } => {
                if self.outstanding.is_empty() {
                    self.release_sync(context, from);
                } else {
                    self.pending_syncs
                        .entry(self.last_proposed)
                        .or_default()
                        .push(from);
                }
                Verdict::Stay
            }
            Input::Tick => self.on_tick(context),
            Input::SnapshotDurable { zxid } => {
                context.store.last_durable = context.store.last_durable.max(zxid);
                self.maybe_finish_epoch_acks(context);
                self.maybe_establish(context);
                Verdict::Stay
            }
            Input::TruncateDone { .. } => Verdict::Stay,
            Input::SnapshotReceived { from, .. } => {
                tracing::warn!(%from, "snapshot received while leading; ignored");
                Verdict::Stay
            }
            Input::LeaderConnected { .. } | Input::LeaderDisconnected { .. } => Verdict::Stay,
            Input::Elected(_) | Input::Abandon { .. } | Input::DatabaseLoaded(_) => Verdict::Stay,
        }
    }

    /// Mints the next zxid and broadcasts the proposal (`Leader.propose`).
    pub(super) fn propose(
        &mut self,
        context: &mut Context<'_>,
        mut txn: TxnEntry,
    ) -> Result<Arc<TxnEntry>, ProposeError> {
        let Some(epoch) = self.epoch.filter(|_| self.phase == Phase::Established) else {
            return Err(ProposeError::NotLeader);
        };
        if self.outstanding.len() >= OUTSTANDING_PROPOSALS_MAX {
            return Err(ProposeError::TooManyOutstanding);
        }
        let counter = if self.last_proposed.epoch() == epoch.0 {
            self.last_proposed
                .counter()
                .checked_add(1)
                .unwrap_or(ZXID_COUNTER_LIMIT)
        } else {
            1
        };
        if counter == ZXID_COUNTER_LIMIT {
            return Err(ProposeError::ZxidRollover);
        }
        let zxid = Zxid::new(epoch.0, counter);
        txn.header.zxid = zxid.0;
        // Apache measures the request's serialized txn (header, body, digest).
        self.proposal_sizes.record(txn.to_bytes().len() as i64);
        let txn = Arc::new(txn);
        self.last_proposed = zxid;
        context.append(txn.clone());
        let mut acks = BTreeSet::new();
        if context.config.has_bug(PlantedBug::LeaderSelfAckBeforeFsync) {
            acks.insert(context.config.my_id);
        }
        self.outstanding.insert(
            zxid,
            Outstanding {
                txn: txn.clone(),
                acks,
                proposed_ms: context.now_ms,
            },
        );
        let followers: Vec<ServerId> = self
            .learners
            .iter()
            .filter(|(_, handle)| handle.forwarding && !handle.observer)
            .map(|(id, _)| *id)
            .collect();
        for peer in followers {
            context.send(peer, QuorumMessage::Proposal { txn: txn.clone() });
        }
        Ok(txn)
    }

    fn on_message(
        &mut self,
        context: &mut Context<'_>,
        from: ServerId,
        message: QuorumMessage,
    ) -> Verdict {
        let Some(handle) = self.learners.get_mut(&from) else {
            tracing::debug!(%from, message = %message_name(&message), "message from an unknown learner; ignored");
            return Verdict::Stay;
        };
        if matches!(
            handle.phase,
            HandlerPhase::Broadcasting | HandlerPhase::AwaitingUpToDate
        ) {
            handle.deadline_ms = context.now_ms + context.config.sync_limit_ms();
        }
        let observer = handle.observer;
        match (handle.phase, message) {
            (HandlerPhase::AwaitingInfo, QuorumMessage::FollowerInfo { zxid, info })
            | (HandlerPhase::AwaitingInfo, QuorumMessage::ObserverInfo { zxid, info }) => {
                if info.server_id != from {
                    tracing::warn!(%from, claimed = %info.server_id, "learner info names another server");
                    return self.drop_learner(context, from);
                }
                let accepted_epoch = Epoch(zxid.epoch());
                handle.phase = HandlerPhase::AwaitingEpoch;
                if !observer && self.phase == Phase::Discovering {
                    self.connecting_voters.insert(from);
                    self.max_accepted_epoch = self.max_accepted_epoch.max(accepted_epoch);
                }
                if self.phase >= Phase::AwaitingEpochAcks {
                    self.send_leader_info(context, from);
                } else {
                    self.maybe_choose_epoch(context);
                }
                Verdict::Stay
            }
            (
                HandlerPhase::AwaitingAckEpoch,
                QuorumMessage::AckEpoch {
                    last_zxid,
                    current_epoch,
                },
            ) => {
                handle.peer_last_zxid = last_zxid;
                // Apache's waitForEpochAck compares summaries only while the epoch is
                // being established (`electionFinished` returns at once after): a
                // learner joining later with uncommitted txns of its own (a leader
                // that was paused past its quorum, say) is synced down by TRUNC or
                // SNAP instead of being turned away until initLimit runs out.
                if current_epoch != -1 && self.phase <= Phase::AwaitingEpochAcks {
                    let peer_summary = (Epoch(current_epoch as u32), last_zxid);
                    if current_epoch < 0 || peer_summary > self.summary {
                        tracing::warn!(%from, ?peer_summary, leader_summary = ?self.summary, "follower is ahead of the leader");
                        return self.drop_learner(context, from);
                    }
                    if !observer && self.phase <= Phase::AwaitingEpochAcks {
                        self.epoch_ackers.insert(from);
                    }
                }
                let handle = self.learners.get_mut(&from).expect("present");
                handle.phase = HandlerPhase::AwaitingSync;
                if self.phase >= Phase::AwaitingNewLeaderAcks {
                    self.sync_learner(context, from);
                } else {
                    self.maybe_finish_epoch_acks(context);
                }
                Verdict::Stay
            }
            (HandlerPhase::AwaitingNewLeaderAck, QuorumMessage::Ack { zxid }) => {
                let epoch = self.epoch.expect("epoch chosen before NEWLEADER");
                if zxid != epoch.zxid_base() {
                    tracing::warn!(%from, %zxid, "first ACK after NEWLEADER is not the NEWLEADER ACK");
                    return self.drop_learner(context, from);
                }
                handle.phase = HandlerPhase::AwaitingUpToDate;
                handle.deadline_ms = context.now_ms + context.config.sync_limit_ms();
                if !observer {
                    self.newleader_ackers.insert(from);
                }
                if self.phase == Phase::Established {
                    self.send_up_to_date(context, from);
                } else {
                    self.maybe_establish(context);
                }
                Verdict::Stay
            }
            (HandlerPhase::AwaitingNewLeaderAck, message) => {
                tracing::warn!(%from, message = %message_name(&message), "expected the NEWLEADER ACK");
                self.drop_learner(context, from)
            }
            (
                HandlerPhase::AwaitingUpToDate | HandlerPhase::Broadcasting,
                QuorumMessage::Ack { zxid },
            ) => {
                if zxid.counter() == 0 {
                    // The ACK of UPTODATE (`processAck` ignores counter 0).
                    return Verdict::Stay;
                }
                if context.config.is_voter(from) {
                    if let Some(proposal) = self.outstanding.get_mut(&zxid) {
                        proposal.acks.insert(from);
                        self.try_commit(context);
                    }
                }
                Verdict::Stay
            }
            (
                HandlerPhase::AwaitingUpToDate | HandlerPhase::Broadcasting,
                message @ QuorumMessage::PingFromLearner { .. },
            ) => {
                // The deadline was refreshed above; the session touches are the
                // request pipeline's (only the leader expires sessions, so a
                // follower's clients live on these).
                if matches!(&message, QuorumMessage::PingFromLearner { touches, .. } if !touches.is_empty())
                {
                    context.outputs.push(Output::Passthrough { from, message });
                }
                Verdict::Stay
            }
            (
                _,
                message @ (QuorumMessage::Request(_) | QuorumMessage::RevalidateRequest { .. }),
            ) => {
                context.outputs.push(Output::Passthrough { from, message });
                Verdict::Stay
            }
            (phase, message) => {
                tracing::warn!(%from, ?phase, message = %message_name(&message), "unexpected message from a learner");
                if matches!(
                    phase,
                    HandlerPhase::Broadcasting | HandlerPhase::AwaitingUpToDate
                ) {
                    Verdict::Stay
                } else {
                    self.drop_learner(context, from)
                }
            }
        }
    }

    fn drop_learner(&mut self, context: &mut Context<'_>, peer: ServerId) -> Verdict {
        self.learners.remove(&peer);
        context.outputs.push(Output::CloseLearner { peer });
        Verdict::Stay
    }

    /// `getEpochToPropose`: once a quorum of voters (the leader included) has
    /// reported its acceptedEpoch, the new epoch is one past the highest, and is
    /// persisted as acceptedEpoch before any LEADERINFO goes out (ZOOKEEPER-1282).
    fn maybe_choose_epoch(&mut self, context: &mut Context<'_>) {
        if self.phase != Phase::Discovering || !context.config.is_quorum(&self.connecting_voters) {
            return;
        }
        let epoch = Epoch(self.max_accepted_epoch.0 + 1);
        self.epoch = Some(epoch);
        self.phase = Phase::PersistingAcceptedEpoch;
        self.phase_deadline_ms = context.now_ms + context.config.init_limit_ms();
        context.outputs.push(Output::PersistAcceptedEpoch { epoch });
    }

    fn send_leader_info(&mut self, context: &mut Context<'_>, peer: ServerId) {
        let epoch = self.epoch.expect("epoch chosen");
        if let Some(handle) = self.learners.get_mut(&peer) {
            handle.phase = HandlerPhase::AwaitingAckEpoch;
            context.send(
                peer,
                QuorumMessage::LeaderInfo {
                    zxid: epoch.zxid_base(),
                    protocol_version: ZAB_PROTOCOL_VERSION,
                },
            );
        }
    }

    /// `waitForEpochAck` done: a quorum (the leader included) acked the epoch, so
    /// currentEpoch is persisted (lead():711) once the leader's log is durable.
    fn maybe_finish_epoch_acks(&mut self, context: &mut Context<'_>) {
        if self.phase != Phase::AwaitingEpochAcks || !context.config.is_quorum(&self.epoch_ackers) {
            return;
        }
        // currentEpoch ranks this server's history in elections, so the history
        // must be durable first (the leader's side of ZOOKEEPER-4643): a leader
        // that crashed with currentEpoch written and its log tail lost would win
        // the next election with less than what was committed.
        if context.store.last_durable < context.store.last_logged {
            return;
        }
        self.phase = Phase::PersistingCurrentEpoch;
        let epoch = self.epoch.expect("epoch chosen");
        context.outputs.push(Output::PersistCurrentEpoch { epoch });
    }

    /// `waitForNewLeaderAck` done: the leader counts itself once its currentEpoch
    /// and its whole log are durable.
    fn maybe_establish(&mut self, context: &mut Context<'_>) {
        if self.phase != Phase::AwaitingNewLeaderAcks
            || context.store.last_durable < context.store.last_logged
        {
            return;
        }
        let my_id = context.config.my_id;
        let ackers: Vec<ServerId> = self
            .newleader_ackers
            .iter()
            .copied()
            .chain([my_id])
            .collect();
        if !context.config.is_quorum(&ackers) {
            return;
        }
        let epoch = self.epoch.expect("epoch chosen");
        self.phase = Phase::Established;
        self.last_proposed = epoch.zxid_base().max(self.last_proposed);
        context.outputs.push(Output::ServeClients {
            role: ServingRole::Leader,
            epoch,
        });
        let waiting: Vec<ServerId> = self
            .learners
            .iter()
            .filter(|(_, handle)| handle.phase == HandlerPhase::AwaitingUpToDate)
            .map(|(id, _)| *id)
            .collect();
        for peer in waiting {
            self.send_up_to_date(context, peer);
        }
    }

    fn send_up_to_date(&mut self, context: &mut Context<'_>, peer: ServerId) {
        if let Some(handle) = self.learners.get_mut(&peer) {
            handle.phase = HandlerPhase::Broadcasting;
            context.send(peer, QuorumMessage::UpToDate);
        }
    }

    /// `syncFollower` + `startForwarding` + NEWLEADER, in Apache's queue order.
    fn sync_learner(&mut self, context: &mut Context<'_>, peer: ServerId) {
        let epoch = self.epoch.expect("epoch chosen");
        let Some(handle) = self.learners.get_mut(&peer) else {
            return;
        };
        let last_processed = context.store.last_applied;
        let plan = plan_sync(
            &context.store.committed_log,
            last_processed,
            handle.peer_last_zxid,
        );
        tracing::debug!(%peer, peer_zxid = %handle.peer_last_zxid, ?plan, "sync plan");
        let forward_from = match plan {
            SyncPlan::Diff { zxid, txns_after } => {
                context.send(peer, QuorumMessage::Diff { zxid });
                let log = context.store.committed_log.clone();
                Self::queue_committed(context, peer, &log, txns_after)
            }
            SyncPlan::Trunc { zxid, txns_after } => {
                context.send(peer, QuorumMessage::Trunc { zxid });
                match txns_after {
                    Some(after) => {
                        let log = context.store.committed_log.clone();
                        Self::queue_committed(context, peer, &log, Some(after))
                    }
                    None => zxid,
                }
            }
            SyncPlan::Snap => {
                context.send(
                    peer,
                    QuorumMessage::Snap {
                        zxid: last_processed,
                    },
                );
                context.outputs.push(Output::SendSnapshot {
                    to: peer,
                    zxid: last_processed,
                });
                last_processed
            }
        };
        // startForwarding: outstanding proposals without COMMIT, participants only.
        if !handle.observer {
            for (zxid, proposal) in self.outstanding.range(forward_from.next_or_self()..) {
                if *zxid > forward_from {
                    context.send(
                        peer,
                        QuorumMessage::Proposal {
                            txn: proposal.txn.clone(),
                        },
                    );
                }
            }
        }
        handle.forwarding = true;
        context.send(
            peer,
            QuorumMessage::NewLeader {
                zxid: epoch.zxid_base(),
                config: context.config_text(),
            },
        );
        handle.pings_allowed = true;
        handle.phase = HandlerPhase::AwaitingNewLeaderAck;
        handle.deadline_ms = context.now_ms + context.config.init_limit_ms();
    }

    /// Queues PROPOSAL + COMMIT for every committed txn after `after`; returns the
    /// last zxid queued.
    fn queue_committed(
        context: &mut Context<'_>,
        peer: ServerId,
        log: &CommittedLog,
        after: Option<Zxid>,
    ) -> Zxid {
        let Some(after) = after else {
            return context.store.last_applied;
        };
        let mut queued = after;
        for txn in log.iter() {
            let zxid = txn_zxid(txn);
            if zxid <= queued {
                continue;
            }
            context.send(peer, QuorumMessage::Proposal { txn: txn.clone() });
            context.send(peer, QuorumMessage::Commit { zxid });
            queued = zxid;
        }
        queued
    }

    /// `tryToCommit`, in zxid order: a quorum of ACKs that includes the leader's
    /// own (after its fsync).
    fn try_commit(&mut self, context: &mut Context<'_>) {
        let my_id = context.config.my_id;
        while let Some(entry) = self.outstanding.first_entry() {
            let acks = &entry.get().acks;
            if !acks.contains(&my_id) || !context.config.is_quorum(acks) {
                break;
            }
            let zxid = *entry.key();
            let proposal = entry.remove();
            context.apply(proposal.txn.clone());
            let forwarding: Vec<(ServerId, bool)> = self
                .learners
                .iter()
                .filter(|(_, handle)| handle.forwarding)
                .map(|(id, handle)| (*id, handle.observer))
                .collect();
            for (peer, observer) in forwarding {
                if observer {
                    context.send(
                        peer,
                        QuorumMessage::Inform {
                            txn: proposal.txn.clone(),
                        },
                    );
                } else {
                    context.send(peer, QuorumMessage::Commit { zxid });
                }
            }
            let released: Vec<Zxid> = self
                .pending_syncs
                .range(..=zxid)
                .map(|(zxid, _)| *zxid)
                .collect();
            for waited in released {
                for learner in self.pending_syncs.remove(&waited).unwrap_or_default() {
                    self.release_sync(context, learner);
                }
            }
        }
    }

    fn release_sync(&mut self, context: &mut Context<'_>, learner: ServerId) {
        if self.learners.contains_key(&learner) {
            context.send(learner, QuorumMessage::Sync);
        }
        context.outputs.push(Output::SyncReleased {
            learner: Some(learner),
        });
    }

    /// The `lead()` loop body: PING every half tick, drop silent or lagging
    /// learners, give up without a synced quorum, and time out discovery.
    fn on_tick(&mut self, context: &mut Context<'_>) -> Verdict {
        let now_ms = context.now_ms;
        if self.phase != Phase::Established && now_ms >= self.phase_deadline_ms {
            return Verdict::Leave(LookingReason::InitLimitExpired);
        }
        if now_ms < self.next_ping_ms {
            return Verdict::Stay;
        }
        self.next_ping_ms = now_ms + (context.config.tick_ms / 2).max(1);
        let sync_limit_ms = context.config.sync_limit_ms();
        let oldest_outstanding = self.outstanding.values().next();
        let mut dropped = Vec::new();
        for (peer, handle) in &self.learners {
            let lagging = handle.forwarding
                && !handle.observer
                && oldest_outstanding.is_some_and(|proposal| {
                    !proposal.acks.contains(peer) && proposal.proposed_ms + sync_limit_ms < now_ms
                });
            if now_ms > handle.deadline_ms || lagging {
                dropped.push(*peer);
            }
        }
        for peer in dropped {
            tracing::info!(%peer, "learner silent or lagging past syncLimit; closing");
            self.drop_learner(context, peer);
        }
        for (peer, handle) in &self.learners {
            if handle.pings_allowed {
                context.send(
                    *peer,
                    QuorumMessage::PingFromLeader {
                        zxid: self.last_proposed,
                    },
                );
            }
        }
        if self.phase == Phase::Established {
            let my_id = context.config.my_id;
            let synced: Vec<ServerId> = self
                .learners
                .iter()
                .filter(|(_, handle)| {
                    !handle.observer && handle.phase == HandlerPhase::Broadcasting
                })
                .map(|(id, _)| *id)
                .chain([my_id])
                .collect();
            if !context.config.is_quorum(&synced) {
                return Verdict::Leave(LookingReason::QuorumLost);
            }
        }
        Verdict::Stay
    }
}

/// How a learner is brought up to date (`LearnerHandler.syncFollower`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SyncPlan {
    /// DIFF(zxid), then PROPOSAL+COMMIT for every committed txn after
    /// `txns_after` (`None`: nothing to send).
    Diff {
        zxid: Zxid,
        txns_after: Option<Zxid>,
    },
    /// TRUNC(zxid), then PROPOSAL+COMMIT after `txns_after` if set.
    Trunc {
        zxid: Zxid,
        txns_after: Option<Zxid>,
    },
    Snap,
}

/// Apache's decision table over the committed-log window: empty DIFF when in
/// sync; TRUNC to the window's end for a peer ahead of it (unless its zxid is a
/// new-epoch zxid); inside the window DIFF, or TRUNC to the leader's previous zxid
/// when the peer has txns the leader lacks, but never TRUNC across epochs (SNAP
/// instead); older than the window SNAP (the on-disk txn-log sync of
/// `snapshotSizeFactor` is not modelled).
pub(super) fn plan_sync(log: &CommittedLog, last_processed: Zxid, peer_last: Zxid) -> SyncPlan {
    let peer_is_new_epoch_zxid = peer_last.counter() == 0;
    let (min, max) = match (log.min_zxid(), log.max_zxid()) {
        (Some(min), Some(max)) => (min, max),
        _ => (last_processed, last_processed),
    };
    if last_processed == peer_last {
        return SyncPlan::Diff {
            zxid: peer_last,
            txns_after: None,
        };
    }
    if peer_last > max && !peer_is_new_epoch_zxid {
        return SyncPlan::Trunc {
            zxid: max,
            txns_after: None,
        };
    }
    if min <= peer_last && peer_last <= max {
        // queueCommittedProposals
        let mut previous: Option<Zxid> = None;
        for txn in log.iter() {
            let zxid = txn_zxid(txn);
            if zxid < peer_last {
                previous = Some(zxid);
                continue;
            }
            if zxid == peer_last || peer_is_new_epoch_zxid {
                return SyncPlan::Diff {
                    zxid: max,
                    txns_after: Some(peer_last),
                };
            }
            // zxid > peer_last: the peer has txns this leader lacks.
            if zxid.epoch() != peer_last.epoch() {
                return SyncPlan::Snap;
            }
            return match previous {
                Some(previous) => SyncPlan::Trunc {
                    zxid: previous,
                    txns_after: Some(peer_last),
                },
                None => SyncPlan::Snap,
            };
        }
        if peer_is_new_epoch_zxid {
            return SyncPlan::Diff {
                zxid: max,
                txns_after: Some(peer_last),
            };
        }
        return SyncPlan::Snap;
    }
    SyncPlan::Snap
}

trait NextOrSelf {
    fn next_or_self(self) -> Zxid;
}

impl NextOrSelf for Zxid {
    fn next_or_self(self) -> Zxid {
        if self.counter() < u32::MAX {
            self.next()
        } else {
            self
        }
    }
}

#[cfg(test)]
mod proposal_sizes_tests {
    use super::ProposalSizes;

    #[test]
    fn last_min_max_as_apache_buffer_stats() {
        let mut sizes = ProposalSizes::default();
        assert_eq!(
            (sizes.last_bytes, sizes.min_bytes, sizes.max_bytes),
            (-1, -1, -1)
        );
        for bytes in [120, 80, 300, 90] {
            sizes.record(bytes);
        }
        assert_eq!(
            (sizes.last_bytes, sizes.min_bytes, sizes.max_bytes),
            (90, 80, 300)
        );
    }
}
