//! The follower side of one partition: what to ask the leader next, and how each answer
//! moves the log, the epoch cache and the high watermark.
//!
//! Kafka 3.9 rules kept here (`AbstractFetcherThread.scala`, `ReplicaFetcherThread.scala`,
//! `ReplicaManager.initialFetchOffset`):
//! - A new follower with epochs in its cache fetches from its log end offset with
//!   `LastFetchedEpoch` = its latest epoch; without epochs it first truncates to its
//!   high watermark (the only place that fallback remains).
//! - `DivergingEpoch{E, end}` in a fetch answer: if the follower knows E, truncate to
//!   min(leader end, own end of E, LEO); if not, truncate to the end of its largest
//!   epoch below E and fetch again, which asks once more (KIP-279's multi-round).
//! - Records are appended only at the log end offset; each batch's epoch enters the
//!   cache; then HW = min(leader's HW, own LEO).
//! - FENCED_LEADER_EPOCH stops fetching until the next LeaderAndIsr;
//!   OFFSET_OUT_OF_RANGE asks the leader's offsets and truncates to its log end if
//!   that is below ours, or restarts at its log start if that is above ours.

use super::{
    BrokerId, EpochEndOffset, FetchPartitionRequest, FetchPartitionResponse, FollowerRequest,
    LeaderOffsets, ListOffsetsRequest, LogFailure, OffsetForLeaderEpochRequest, PartitionReplica,
    PartitionState, PlantedBug, ReplicaError, ReplicaLog, Role, TransitionRefused, TruncationMode,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchPhase {
    /// Fetching from the log end offset.
    Fetching,
    /// Waiting for OffsetForLeaderEpoch answers before fetching (older IBPs).
    TruncatingByEpoch,
    /// Waiting for the leader's log start/end offsets after OFFSET_OUT_OF_RANGE.
    ResettingOffset,
    /// Fenced by the leader; nothing is sent until the next LeaderAndIsr.
    Fenced,
}

/// Follower-only state; lives in `Role::Follower`.
#[derive(Debug, Clone)]
pub(super) struct FollowerState {
    leader: BrokerId,
    phase: FetchPhase,
}

impl FollowerState {
    pub(super) fn leader(&self) -> BrokerId {
        self.leader
    }
}

impl PartitionReplica {
    /// LeaderAndIsr naming another broker the leader (`Partition.makeFollower` plus the
    /// fetcher's initial state). A state without a leader is refused, as Kafka's
    /// `makeFollowers` skips it while the leader is not alive.
    pub fn become_follower<L: ReplicaLog>(
        &mut self,
        log: &mut L,
        state: &PartitionState,
    ) -> Result<(), TransitionRefused> {
        self.check_transition(state)?;
        let leader = match state.leader {
            Some(leader) if leader != self.config.local_broker => leader,
            _ => return Err(TransitionRefused::WrongRole),
        };
        self.fail_waiting_produces();
        self.leader_epoch = state.leader_epoch;
        self.partition_epoch = state.partition_epoch;
        self.replicas = state.replicas.clone();
        let truncate_to_high_watermark = self
            .config
            .has_bug(PlantedBug::FollowerTruncatesToHighWatermark)
            || self.epochs.is_empty();
        let phase = if truncate_to_high_watermark {
            let high_watermark = self.high_watermark;
            // A storage failure leaves the follower fenced until the next LeaderAndIsr,
            // as Kafka marks the partition failed.
            if self.truncate(log, high_watermark).is_err() {
                FetchPhase::Fenced
            } else {
                FetchPhase::Fetching
            }
        } else {
            match self.config.truncation {
                TruncationMode::OnFetch => FetchPhase::Fetching,
                TruncationMode::OffsetForLeaderEpoch => FetchPhase::TruncatingByEpoch,
            }
        };
        self.role = Role::Follower(FollowerState { leader, phase });
        Ok(())
    }

    pub fn follower_phase(&self) -> Option<FetchPhase> {
        match &self.role {
            Role::Follower(follower) => Some(follower.phase),
            _ => None,
        }
    }

    fn set_phase(&mut self, phase: FetchPhase) {
        if let Role::Follower(follower) = &mut self.role {
            follower.phase = phase;
        }
    }

    fn sends_last_fetched_epoch(&self) -> bool {
        self.config.truncation == TruncationMode::OnFetch
            && !self
                .config
                .has_bug(PlantedBug::FollowerTruncatesToHighWatermark)
    }

    /// The request to send to the leader next, or `None` when not following (or
    /// fenced). One request per partition should be in flight at a time.
    pub fn next_follower_request<L: ReplicaLog>(&self, log: &L) -> Option<FollowerRequest> {
        let Role::Follower(follower) = &self.role else {
            return None;
        };
        let replica = self.config.local_broker;
        let current_leader_epoch = self.leader_epoch;
        match follower.phase {
            FetchPhase::Fetching => Some(FollowerRequest::Fetch(FetchPartitionRequest {
                replica,
                current_leader_epoch,
                fetch_offset: log.log_end_offset(),
                last_fetched_epoch: if self.sends_last_fetched_epoch() {
                    self.epochs.latest_epoch()
                } else {
                    None
                },
                log_start_offset: log.log_start_offset(),
            })),
            FetchPhase::TruncatingByEpoch => match self.epochs.latest_epoch() {
                Some(leader_epoch) => Some(FollowerRequest::OffsetForLeaderEpoch(
                    OffsetForLeaderEpochRequest {
                        replica,
                        current_leader_epoch,
                        leader_epoch,
                    },
                )),
                // The cache emptied during truncation: fetch from where the log ends.
                None => Some(FollowerRequest::Fetch(FetchPartitionRequest {
                    replica,
                    current_leader_epoch,
                    fetch_offset: log.log_end_offset(),
                    last_fetched_epoch: None,
                    log_start_offset: log.log_start_offset(),
                })),
            },
            FetchPhase::ResettingOffset => Some(FollowerRequest::ListOffsets(ListOffsetsRequest {
                replica,
                current_leader_epoch,
            })),
            FetchPhase::Fenced => None,
        }
    }

    /// Is `request` still the one this follower would act on? Answers to requests from
    /// an older epoch, another phase or another offset are dropped, as Kafka does.
    fn answers_current_request(&self, current_leader_epoch: i32, phase: FetchPhase) -> bool {
        self.follower_phase() == Some(phase) && current_leader_epoch == self.leader_epoch
    }

    /// Where to truncate for the leader's end of an epoch
    /// (`AbstractFetcherThread.getOffsetTruncationState`); the flag says whether the
    /// truncation is final.
    fn truncation_target(
        &self,
        log_end_offset: i64,
        leader: Option<EpochEndOffset>,
    ) -> (i64, bool) {
        let Some(leader) = leader else {
            // UNDEFINED: Kafka falls back to the high watermark.
            return (self.high_watermark.min(log_end_offset), true);
        };
        match self.epochs.end_offset_for(leader.epoch, log_end_offset) {
            Some(own) if own.epoch != leader.epoch => (own.end_offset.min(log_end_offset), false),
            Some(own) => (
                own.end_offset.min(leader.end_offset).min(log_end_offset),
                true,
            ),
            None => (leader.end_offset.min(log_end_offset), true),
        }
    }

    /// Applies the leader's answer to `request` (a Fetch this follower sent).
    pub fn on_fetch_response<L: ReplicaLog>(
        &mut self,
        log: &mut L,
        request: &FetchPartitionRequest,
        response: Result<FetchPartitionResponse<L::Records>, ReplicaError>,
    ) -> Result<(), LogFailure> {
        let phase = self.follower_phase();
        let fetching = matches!(
            phase,
            Some(FetchPhase::Fetching) | Some(FetchPhase::TruncatingByEpoch)
        );
        if !fetching
            || request.current_leader_epoch != self.leader_epoch
            || request.fetch_offset != log.log_end_offset()
        {
            return Ok(());
        }
        let answer = match response {
            Ok(answer) => answer,
            Err(ReplicaError::FencedLeaderEpoch) => {
                self.set_phase(FetchPhase::Fenced);
                return Ok(());
            }
            Err(ReplicaError::OffsetOutOfRange) => {
                self.set_phase(FetchPhase::ResettingOffset);
                return Ok(());
            }
            // UNKNOWN_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER, ...: retry later.
            Err(_) => return Ok(()),
        };
        if let Some(diverging) = answer.diverging_epoch {
            if !self.sends_last_fetched_epoch() {
                // Only a request with LastFetchedEpoch can diverge; ignore nonsense.
                return Ok(());
            }
            let (offset, _final) = self.truncation_target(log.log_end_offset(), Some(diverging));
            // Not final: the next fetch carries the new latest epoch and asks again.
            return self.truncate(log, offset);
        }
        if let Some(records) = answer.records {
            let starts = log.append_as_follower(records)?;
            for start in starts {
                if self.epochs.assign(start.epoch, start.start_offset) {
                    self.epochs_changed = true;
                }
            }
        }
        // `UnifiedLog.updateHighWatermark`: bounded by the log start and end offsets;
        // a follower's may go down when a new leader's is behind.
        self.high_watermark = answer
            .high_watermark
            .min(log.log_end_offset())
            .max(log.log_start_offset());
        if phase == Some(FetchPhase::TruncatingByEpoch) {
            self.set_phase(FetchPhase::Fetching);
        }
        Ok(())
    }

    /// Applies the leader's OffsetForLeaderEpoch answer (`Ok(None)` is UNDEFINED).
    pub fn on_offset_for_leader_epoch_response<L: ReplicaLog>(
        &mut self,
        log: &mut L,
        request: &OffsetForLeaderEpochRequest,
        response: Result<Option<EpochEndOffset>, ReplicaError>,
    ) -> Result<(), LogFailure> {
        if !self
            .answers_current_request(request.current_leader_epoch, FetchPhase::TruncatingByEpoch)
            || self.epochs.latest_epoch() != Some(request.leader_epoch)
        {
            return Ok(());
        }
        let leader = match response {
            Ok(leader) => leader,
            Err(ReplicaError::FencedLeaderEpoch) => {
                self.set_phase(FetchPhase::Fenced);
                return Ok(());
            }
            Err(_) => return Ok(()),
        };
        let (offset, is_final) = self.truncation_target(log.log_end_offset(), leader);
        self.truncate(log, offset)?;
        if is_final {
            self.set_phase(FetchPhase::Fetching);
        }
        Ok(())
    }

    /// Applies the leader's offsets after OFFSET_OUT_OF_RANGE
    /// (`AbstractFetcherThread.fetchOffsetAndTruncate`).
    pub fn on_list_offsets_response<L: ReplicaLog>(
        &mut self,
        log: &mut L,
        request: &ListOffsetsRequest,
        response: Result<LeaderOffsets, ReplicaError>,
    ) -> Result<(), LogFailure> {
        if !self.answers_current_request(request.current_leader_epoch, FetchPhase::ResettingOffset)
        {
            return Ok(());
        }
        let leader = match response {
            Ok(leader) => leader,
            Err(ReplicaError::FencedLeaderEpoch) => {
                self.set_phase(FetchPhase::Fenced);
                return Ok(());
            }
            Err(_) => return Ok(()),
        };
        let log_end_offset = log.log_end_offset();
        if leader.log_end_offset < log_end_offset {
            // Kafka's comment: this path follows an unclean election and may leave
            // logs that differ; it is not an epoch-checked truncation.
            self.truncate(log, leader.log_end_offset)?;
        } else if leader.log_start_offset > log_end_offset {
            log.truncate_fully_and_start_at(leader.log_start_offset)?;
            self.epochs = super::LeaderEpochCache::new();
            self.epochs_changed = true;
            self.high_watermark = leader.log_start_offset;
        }
        self.set_phase(FetchPhase::Fetching);
        Ok(())
    }
}
