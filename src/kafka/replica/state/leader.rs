//! The leader side of one partition: followers' fetch state, the ISR with at most one
//! AlterPartition in flight, the high watermark, and acks=all completion.
//!
//! Kafka 3.9 rules kept here (`core/src/main/scala/kafka/cluster/Partition.scala`,
//! `Replica.scala`):
//! - A follower's log end offset is the `FetchOffset` of its last fetch that did not
//!   diverge; `lastCaughtUpTime` moves to this fetch's time if it reached the leader's
//!   log end offset, else to the previous fetch's time if it reached the leader's log
//!   end offset as of that fetch (`Replica.updateFetchStateOrThrow`).
//! - A follower is caught up if its log end offset equals the leader's or it caught up
//!   within `replica.lag.time.max.ms`; ISR members that are not are proposed for
//!   removal (`maybeShrinkIsr`).
//! - A follower joins once its log end offset is >= the high watermark and >= the
//!   start offset of the current leader epoch (KAFKA-7128), it is alive, and no change
//!   is in flight (`maybeExpandIsr`).
//! - The high watermark is the minimum log end offset over the maximal ISR (committed
//!   ISR plus a pending addition; a pending removal still counts, KIP-497) and every
//!   caught-up eligible follower; it only moves forward, and not at all while the
//!   committed ISR is smaller than the effective `min.insync.replicas` (KAFKA-15583).
//! - acks=all: refused before the append with NOT_ENOUGH_REPLICAS when the ISR is
//!   below min ISR; completed once the high watermark passes the last offset, with
//!   NOT_ENOUGH_REPLICAS_AFTER_APPEND if the maximal ISR is then below min ISR.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    Acks, AlterPartitionError, AlterPartitionProposal, AlterPartitionResult, AppendedRange,
    BrokerId, FetchPartitionRequest, FetchPartitionResponse, LeaderOffsets, ListOffsetsRequest,
    OffsetForLeaderEpochRequest, PartitionReplica, PartitionState, PlantedBug, ProduceId,
    ProduceOutcome, ReplicaError, ReplicaLog, ReplicaOutput, Role, TransitionRefused,
    PENDING_PRODUCES_MAX,
};
use crate::kafka::replica::state::epoch_cache::EpochEndOffset;

/// Backoff before resending an AlterPartition the controller asked to retry
/// (Kafka's AlterPartitionManager waits 50 ms).
pub const ALTER_PARTITION_RETRY_BACKOFF_MS: i64 = 50;

/// What the leader knows of one follower (Kafka's `ReplicaState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FollowerFetchState {
    /// `None` until the follower fetched from this leader.
    pub log_end_offset: Option<i64>,
    pub log_start_offset: Option<i64>,
    pub last_fetch_leader_log_end_offset: Option<i64>,
    pub last_fetch_time_ms: Option<i64>,
    pub last_caught_up_time_ms: Option<i64>,
}

impl FollowerFetchState {
    /// `ReplicaState.isCaughtUp`.
    pub fn is_caught_up(&self, leader_log_end_offset: i64, now_ms: i64, lag_max_ms: i64) -> bool {
        self.log_end_offset == Some(leader_log_end_offset)
            || self
                .last_caught_up_time_ms
                .is_some_and(|caught_up| now_ms.saturating_sub(caught_up) <= lag_max_ms)
    }

    fn record_fetch(
        &mut self,
        fetch_offset: i64,
        log_start_offset: i64,
        now_ms: i64,
        leader_leo: i64,
    ) {
        let caught_up = if fetch_offset >= leader_leo {
            Some(
                self.last_caught_up_time_ms
                    .map_or(now_ms, |t| t.max(now_ms)),
            )
        } else if self
            .last_fetch_leader_log_end_offset
            .is_none_or(|previous| fetch_offset >= previous)
        {
            // Kafka's unknown previous leader end offset is -1, which every fetch reaches.
            match (self.last_caught_up_time_ms, self.last_fetch_time_ms) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            }
        } else {
            self.last_caught_up_time_ms
        };
        *self = FollowerFetchState {
            log_end_offset: Some(fetch_offset),
            log_start_offset: Some(log_start_offset),
            last_fetch_leader_log_end_offset: Some(
                self.last_fetch_leader_log_end_offset
                    .map_or(leader_leo, |previous| previous.max(leader_leo)),
            ),
            last_fetch_time_ms: Some(now_ms),
            last_caught_up_time_ms: caught_up,
        };
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum IsrChange {
    Expand(BrokerId),
    Shrink(BTreeSet<BrokerId>),
}

#[derive(Debug, Clone)]
struct PendingIsrChange {
    change: IsrChange,
    proposal: AlterPartitionProposal,
    /// When to send the proposal again; `None` once the controller gave an answer that
    /// leaves it pending until the next LeaderAndIsr.
    resend_at_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct WaitingProduce {
    pub id: ProduceId,
    pub range: AppendedRange,
    pub deadline_ms: i64,
}

/// Leader-only state; lives in `Role::Leader`.
#[derive(Debug)]
pub(super) struct LeaderState {
    committed_isr: BTreeSet<BrokerId>,
    pending: Option<PendingIsrChange>,
    followers: BTreeMap<BrokerId, FollowerFetchState>,
    epoch_start_offset: i64,
    waiting: Vec<WaitingProduce>,
    next_proposal_id: u64,
}

impl LeaderState {
    pub(super) fn isr(&self) -> &BTreeSet<BrokerId> {
        &self.committed_isr
    }

    pub(super) fn maximal_isr(&self) -> BTreeSet<BrokerId> {
        let mut maximal = self.committed_isr.clone();
        if let Some(PendingIsrChange {
            change: IsrChange::Expand(adding),
            ..
        }) = &self.pending
        {
            maximal.insert(*adding);
        }
        maximal
    }

    pub(super) fn take_waiting_produces(&mut self) -> Vec<WaitingProduce> {
        std::mem::take(&mut self.waiting)
    }
}

impl PartitionReplica {
    /// LeaderAndIsr naming this broker the leader (`Partition.makeLeader`). The new
    /// epoch starts at the log end offset and is put in the epoch cache before any
    /// append (KAFKA-7415).
    pub fn become_leader<L: ReplicaLog>(
        &mut self,
        now_ms: i64,
        log: &L,
        state: &PartitionState,
    ) -> Result<(), TransitionRefused> {
        self.check_transition(state)?;
        if state.leader != Some(self.config.local_broker) {
            return Err(TransitionRefused::WrongRole);
        }
        let log_end_offset = log.log_end_offset();
        if self.epochs.assign(state.leader_epoch, log_end_offset) {
            self.epochs_changed = true;
        }
        let isr: BTreeSet<BrokerId> = state.isr.iter().copied().collect();
        let previous = match std::mem::replace(&mut self.role, Role::Offline) {
            Role::Leader(leader) => Some(leader),
            _ => None,
        };
        let mut followers = BTreeMap::new();
        for replica in state
            .replicas
            .iter()
            .filter(|r| **r != self.config.local_broker)
        {
            let in_sync = isr.contains(replica);
            let caught_up = in_sync.then_some(now_ms);
            // `Replica.resetReplicaState`: a re-elected leader keeps what it knew.
            let known = previous
                .as_ref()
                .and_then(|leader| leader.followers.get(replica).copied());
            let follower = match known {
                Some(known) => FollowerFetchState {
                    last_fetch_leader_log_end_offset: Some(log_end_offset),
                    last_fetch_time_ms: caught_up,
                    last_caught_up_time_ms: caught_up,
                    ..known
                },
                None => FollowerFetchState {
                    last_caught_up_time_ms: caught_up,
                    ..FollowerFetchState::default()
                },
            };
            followers.insert(*replica, follower);
        }
        let (waiting, next_proposal_id) = previous
            .map(|leader| (leader.waiting, leader.next_proposal_id))
            .unwrap_or_default();
        self.role = Role::Leader(Box::new(LeaderState {
            committed_isr: isr,
            pending: None,
            followers,
            epoch_start_offset: log_end_offset,
            waiting,
            next_proposal_id,
        }));
        self.leader_epoch = state.leader_epoch;
        self.partition_epoch = state.partition_epoch;
        self.replicas = state.replicas.clone();
        // The ISR may be down to the leader alone.
        self.maybe_increment_high_watermark(now_ms, log_end_offset);
        Ok(())
    }

    fn leader_state(&self) -> Option<&LeaderState> {
        match &self.role {
            Role::Leader(leader) => Some(leader),
            _ => None,
        }
    }

    fn leader_state_mut(&mut self) -> Option<&mut LeaderState> {
        match &mut self.role {
            Role::Leader(leader) => Some(leader),
            _ => None,
        }
    }

    /// What the leader knows of a follower (for tests and metrics).
    pub fn follower_state(&self, follower: BrokerId) -> Option<FollowerFetchState> {
        self.leader_state()?.followers.get(&follower).copied()
    }

    /// Whether an ISR change is waiting for the controller.
    pub fn isr_change_in_flight(&self) -> bool {
        self.leader_state()
            .is_some_and(|leader| leader.pending.is_some())
    }

    /// Appends a produce (`Partition.appendRecordsToLeader`). acks=all is refused
    /// before the append when the ISR is below the effective min ISR.
    pub fn append_as_leader<L: ReplicaLog>(
        &mut self,
        now_ms: i64,
        log: &mut L,
        records: L::Records,
        acks: Acks,
        id: ProduceId,
        timeout_ms: i64,
    ) -> Result<ProduceOutcome, ReplicaError> {
        let min_isr = self.effective_min_isr();
        let leader = self
            .leader_state()
            .ok_or(ReplicaError::NotLeaderOrFollower)?;
        if acks == Acks::All && leader.committed_isr.len() < min_isr {
            return Err(ReplicaError::NotEnoughReplicas);
        }
        if acks == Acks::All && leader.waiting.len() >= PENDING_PRODUCES_MAX {
            return Err(ReplicaError::RequestTimedOut);
        }
        let range = log
            .append_as_leader(records, self.leader_epoch)
            .map_err(|_| ReplicaError::KafkaStorageError)?;
        if self.epochs.assign(self.leader_epoch, range.base_offset) {
            self.epochs_changed = true;
        }
        self.maybe_increment_high_watermark(now_ms, log.log_end_offset());
        if acks == Acks::Leader || self.config.has_bug(PlantedBug::AcksAllAnsweredAtAppend) {
            return Ok(ProduceOutcome::Completed(range));
        }
        if self.high_watermark > range.last_offset {
            return match self.replicated_result() {
                Ok(()) => Ok(ProduceOutcome::Completed(range)),
                Err(error) => Err(error),
            };
        }
        let leader = self.leader_state_mut().expect("checked above");
        leader.waiting.push(WaitingProduce {
            id,
            range,
            deadline_ms: now_ms.saturating_add(timeout_ms),
        });
        Ok(ProduceOutcome::Waiting(range))
    }

    /// `checkEnoughReplicasReachOffset` once the high watermark passed a produce.
    fn replicated_result(&self) -> Result<(), ReplicaError> {
        let maximal = self
            .leader_state()
            .map_or(0, |leader| leader.maximal_isr().len());
        if self.effective_min_isr() <= maximal {
            Ok(())
        } else {
            Err(ReplicaError::NotEnoughReplicasAfterAppend)
        }
    }

    /// Recomputes the high watermark (`maybeIncrementLeaderHW`); returns whether it
    /// moved. Completes the produces it passed.
    fn maybe_increment_high_watermark(&mut self, now_ms: i64, log_end_offset: i64) -> bool {
        let min_isr = self.effective_min_isr();
        let lag_max_ms = self.config.replica_lag_time_max_ms;
        let Some(leader) = self.leader_state() else {
            return false;
        };
        let candidate = if self
            .config
            .has_bug(PlantedBug::HighWatermarkBeforeFollowersFetch)
        {
            log_end_offset
        } else {
            if leader.committed_isr.len() < min_isr {
                return false;
            }
            let maximal = leader.maximal_isr();
            let mut candidate = log_end_offset;
            for (id, follower) in &leader.followers {
                let holds_back = maximal.contains(id)
                    || (follower.is_caught_up(log_end_offset, now_ms, lag_max_ms)
                        && self.is_eligible(*id));
                if holds_back {
                    match follower.log_end_offset {
                        // Kafka's unknown offset is -1: the high watermark cannot move.
                        None => return false,
                        Some(offset) => candidate = candidate.min(offset),
                    }
                }
            }
            candidate
        };
        if candidate <= self.high_watermark {
            return false;
        }
        self.high_watermark = candidate;
        self.complete_replicated_produces();
        true
    }

    fn complete_replicated_produces(&mut self) {
        let high_watermark = self.high_watermark;
        let result = self.replicated_result();
        let Some(leader) = self.leader_state_mut() else {
            return;
        };
        let (done, still_waiting): (Vec<WaitingProduce>, Vec<WaitingProduce>) = leader
            .waiting
            .drain(..)
            .partition(|waiting| high_watermark > waiting.range.last_offset);
        leader.waiting = still_waiting;
        for waiting in done {
            self.outputs.push(ReplicaOutput::ProduceCompleted {
                id: waiting.id,
                range: waiting.range,
                result,
            });
        }
    }

    /// Answers one partition of a follower's Fetch (`Partition.fetchRecords`), and
    /// records the follower's position unless its epochs diverge.
    pub fn handle_fetch<L: ReplicaLog>(
        &mut self,
        now_ms: i64,
        log: &L,
        request: &FetchPartitionRequest,
    ) -> Result<FetchPartitionResponse<L::Records>, ReplicaError> {
        self.check_leader_epoch(request.current_leader_epoch)?;
        let known_follower = self
            .leader_state()
            .is_some_and(|leader| leader.followers.contains_key(&request.replica));
        if !known_follower {
            return Err(ReplicaError::UnknownLeaderEpoch);
        }
        let high_watermark = self.high_watermark;
        let log_start_offset = log.log_start_offset();
        let log_end_offset = log.log_end_offset();
        if let Some(last_fetched_epoch) = request.last_fetched_epoch {
            let end = self
                .epochs
                .end_offset_for(last_fetched_epoch, log_end_offset)
                .ok_or(ReplicaError::OffsetOutOfRange)?;
            if request.fetch_offset < log_start_offset {
                return Err(ReplicaError::OffsetOutOfRange);
            }
            if end.epoch < last_fetched_epoch || end.end_offset < request.fetch_offset {
                return Ok(FetchPartitionResponse {
                    high_watermark,
                    log_start_offset,
                    records: None,
                    diverging_epoch: Some(end),
                });
            }
        }
        if request.fetch_offset < log_start_offset || request.fetch_offset > log_end_offset {
            return Err(ReplicaError::OffsetOutOfRange);
        }
        let records = log
            .read(request.fetch_offset)
            .map_err(|_| ReplicaError::KafkaStorageError)?;
        self.record_follower_fetch(now_ms, request, log_end_offset);
        Ok(FetchPartitionResponse {
            high_watermark,
            log_start_offset,
            records,
            diverging_epoch: None,
        })
    }

    /// `Partition.updateFollowerFetchState`: position, ISR expansion, high watermark.
    fn record_follower_fetch(
        &mut self,
        now_ms: i64,
        request: &FetchPartitionRequest,
        log_end_offset: i64,
    ) {
        let Some(leader) = self.leader_state_mut() else {
            return;
        };
        let Some(follower) = leader.followers.get_mut(&request.replica) else {
            return;
        };
        let previous_end = follower.log_end_offset;
        follower.record_fetch(
            request.fetch_offset,
            request.log_start_offset,
            now_ms,
            log_end_offset,
        );
        self.maybe_expand_isr(now_ms, request.replica);
        if previous_end != Some(request.fetch_offset) {
            self.maybe_increment_high_watermark(now_ms, log_end_offset);
        }
    }

    fn maybe_expand_isr(&mut self, now_ms: i64, follower_id: BrokerId) {
        let high_watermark = self.high_watermark;
        let eligible = self.is_eligible(follower_id);
        let Some(leader) = self.leader_state() else {
            return;
        };
        if leader.pending.is_some() || leader.committed_isr.contains(&follower_id) || !eligible {
            return;
        }
        let in_sync = leader
            .followers
            .get(&follower_id)
            .and_then(|follower| follower.log_end_offset)
            .is_some_and(|end| end >= high_watermark && end >= leader.epoch_start_offset);
        if in_sync {
            let mut new_isr = leader.committed_isr.clone();
            new_isr.insert(follower_id);
            self.propose_isr(now_ms, IsrChange::Expand(follower_id), new_isr);
        }
    }

    fn propose_isr(&mut self, now_ms: i64, change: IsrChange, new_isr: BTreeSet<BrokerId>) {
        let retry_ms = self.config.alter_partition_retry_ms;
        let local = self.config.local_broker;
        let leader_epoch = self.leader_epoch;
        let partition_epoch = self.partition_epoch;
        let Some(leader) = self.leader_state_mut() else {
            return;
        };
        let proposal = AlterPartitionProposal {
            proposal_id: leader.next_proposal_id,
            leader: local,
            leader_epoch,
            partition_epoch,
            new_isr: new_isr.into_iter().collect(),
        };
        leader.next_proposal_id += 1;
        leader.pending = Some(PendingIsrChange {
            change,
            proposal: proposal.clone(),
            // Sent again if no answer comes (the controller channel's retry).
            resend_at_ms: Some(now_ms + retry_ms),
        });
        self.outputs.push(ReplicaOutput::AlterPartition(proposal));
    }

    /// Periodic work: ISR shrink (Kafka's `isr-expiration` task), produce timeouts and
    /// AlterPartition resends. Call it at least every `replica_lag_time_max_ms / 2`.
    pub fn tick<L: ReplicaLog>(&mut self, now_ms: i64, log: &L) {
        let log_end_offset = log.log_end_offset();
        let lag_max_ms = self.config.replica_lag_time_max_ms;
        let retry_ms = self.config.alter_partition_retry_ms;
        let local = self.config.local_broker;
        let Some(leader) = self.leader_state_mut() else {
            return;
        };
        // Produces past their deadline time out.
        let (expired, waiting): (Vec<WaitingProduce>, Vec<WaitingProduce>) = leader
            .waiting
            .drain(..)
            .partition(|waiting| now_ms >= waiting.deadline_ms);
        leader.waiting = waiting;
        let mut resend = None;
        if let Some(pending) = &mut leader.pending {
            if let Some(at) = pending.resend_at_ms {
                if now_ms >= at {
                    pending.resend_at_ms = Some(now_ms + retry_ms);
                    resend = Some(pending.proposal.clone());
                }
            }
        }
        let out_of_sync: BTreeSet<BrokerId> = if leader.pending.is_none() {
            leader
                .committed_isr
                .iter()
                .filter(|id| **id != local)
                .filter(|id| {
                    leader.followers.get(id).is_none_or(|follower| {
                        !follower.is_caught_up(log_end_offset, now_ms, lag_max_ms)
                    })
                })
                .copied()
                .collect()
        } else {
            BTreeSet::new()
        };
        let shrunk: BTreeSet<BrokerId> = leader
            .committed_isr
            .difference(&out_of_sync)
            .copied()
            .collect();
        for waiting in expired {
            self.outputs.push(ReplicaOutput::ProduceCompleted {
                id: waiting.id,
                range: waiting.range,
                result: Err(ReplicaError::RequestTimedOut),
            });
        }
        if let Some(proposal) = resend {
            self.outputs.push(ReplicaOutput::AlterPartition(proposal));
        }
        if !out_of_sync.is_empty() {
            self.propose_isr(now_ms, IsrChange::Shrink(out_of_sync), shrunk);
        }
    }

    /// The controller's answer to an AlterPartition (`Partition.submitAlterPartition`'s
    /// completion). Answers to anything but the pending proposal are ignored.
    pub fn on_alter_partition_response<L: ReplicaLog>(
        &mut self,
        now_ms: i64,
        log: &L,
        proposal_id: u64,
        result: AlterPartitionResult,
    ) {
        let leader_epoch = self.leader_epoch;
        let partition_epoch = self.partition_epoch;
        let Some(leader) = self.leader_state_mut() else {
            return;
        };
        let Some(pending) = &mut leader.pending else {
            return;
        };
        if pending.proposal.proposal_id != proposal_id {
            return;
        }
        match result {
            AlterPartitionResult::Accepted {
                leader_epoch: answered_leader_epoch,
                partition_epoch: answered_partition_epoch,
                isr,
            } => {
                if answered_leader_epoch != leader_epoch
                    || answered_partition_epoch < partition_epoch
                {
                    // Stale: stay pending until LeaderAndIsr brings the truth.
                    pending.resend_at_ms = None;
                    return;
                }
                leader.committed_isr = isr.into_iter().collect();
                leader.pending = None;
                self.partition_epoch = answered_partition_epoch;
                // KAFKA-13091: a smaller ISR may let the high watermark move.
                self.maybe_increment_high_watermark(now_ms, log.log_end_offset());
            }
            AlterPartitionResult::Rejected(
                AlterPartitionError::OperationNotAttempted | AlterPartitionError::IneligibleReplica,
            ) => {
                leader.pending = None;
            }
            AlterPartitionResult::Rejected(AlterPartitionError::Retriable) => {
                pending.resend_at_ms = Some(now_ms + ALTER_PARTITION_RETRY_BACKOFF_MS);
            }
            AlterPartitionResult::Rejected(_) => {
                pending.resend_at_ms = None;
            }
        }
    }

    /// OffsetForLeaderEpoch from a follower: the largest epoch at or below the
    /// requested one and where it ends; `Ok(None)` is UNDEFINED (-1, -1).
    pub fn handle_offset_for_leader_epoch<L: ReplicaLog>(
        &self,
        log: &L,
        request: &OffsetForLeaderEpochRequest,
    ) -> Result<Option<EpochEndOffset>, ReplicaError> {
        self.check_leader_epoch(request.current_leader_epoch)?;
        Ok(self
            .epochs
            .end_offset_for(request.leader_epoch, log.log_end_offset()))
    }

    /// ListOffsets EARLIEST/LATEST from a follower (the leader answers a replica's
    /// LATEST with its log end offset).
    pub fn handle_list_offsets<L: ReplicaLog>(
        &self,
        log: &L,
        request: &ListOffsetsRequest,
    ) -> Result<LeaderOffsets, ReplicaError> {
        self.check_leader_epoch(request.current_leader_epoch)?;
        Ok(LeaderOffsets {
            log_start_offset: log.log_start_offset(),
            log_end_offset: log.log_end_offset(),
        })
    }
}
