//! Replication of one partition on one broker as a sans-IO state machine: the leader's
//! ISR, high watermark and acks=all completion, the follower's fetch position and
//! truncation, and the leader epoch cache, with Kafka 3.9's ZooKeeper-mode rules.
//!
//! # Layout
//! - `epoch_cache`: `LeaderEpochCache` (`leader-epoch-checkpoint` semantics).
//! - `leader`: what a leader does: follower fetch state, ISR shrink/expand proposals
//!   (AlterPartition, KIP-497 maximal ISR), the high watermark, acks=all completion,
//!   answering Fetch, OffsetForLeaderEpoch and ListOffsets.
//! - `follower`: what a follower does: the next request to its leader and how each
//!   answer moves its log (truncation by diverging epoch, KIP-101/279/320/595), and
//!   its high watermark.
//!
//! # How a broker drives it
//! `PartitionReplica` never touches a socket, a file or a clock: time is an argument
//! (`now_ms`), the log is reached through the `ReplicaLog` trait (append, read,
//! truncate), and everything to send is queued as `ReplicaOutput` and taken with
//! `drain_outputs()`. The broker:
//! 1. applies LeaderAndIsr with `become_leader` / `become_follower` (stale leader
//!    epochs are refused, as ReplicaManager does);
//! 2. as leader: `append_as_leader` for produces, `handle_fetch` /
//!    `handle_offset_for_leader_epoch` / `handle_list_offsets` for followers,
//!    `on_alter_partition_response` for the controller's answers, and `tick` every
//!    few hundred ms (ISR shrink, produce timeouts, AlterPartition retries);
//! 3. as follower: sends `next_follower_request()` to the leader and feeds the answer
//!    to `on_fetch_response` / `on_offset_for_leader_epoch_response` /
//!    `on_list_offsets_response`;
//! 4. after each call, persists the epoch cache if `take_epoch_cache_changed()` says
//!    so (Kafka writes `leader-epoch-checkpoint` synchronously on assign), then sends
//!    the drained outputs.
//!
//! Architecture invariant: this module knows nothing about the wire format, the
//! records' bytes or the disk; `ReplicaLog::Records` is opaque to it.

pub mod epoch_cache;
pub mod follower;
pub mod leader;

use std::collections::BTreeSet;

pub use crate::kafka::metadata::BrokerId;
pub use epoch_cache::{EpochEndOffset, EpochEntry, LeaderEpochCache};
use follower::FollowerState;
use leader::LeaderState;

/// Kafka's `replica.lag.time.max.ms` default.
pub const REPLICA_LAG_TIME_MAX_MS_DEFAULT: i64 = 30_000;
/// How long the leader waits for an AlterPartition answer before sending it again
/// (Kafka's controller channel retries a request until it is answered).
pub const ALTER_PARTITION_RETRY_MS_DEFAULT: i64 = 1_000;
/// Bound on acks=all produces waiting in one partition's purgatory; more are refused
/// with `ReplicaError::RequestTimedOut` at once rather than queued without limit.
pub const PENDING_PRODUCES_MAX: usize = 4_096;

/// How a follower finds where its log diverges from the leader's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TruncationMode {
    /// IBP >= 2.7-IV1: fetches carry `LastFetchedEpoch` and the leader answers
    /// `DivergingEpoch` (KIP-595 style, KAFKA-10554).
    OnFetch,
    /// Older IBPs: a follower whose leader changed first asks OffsetForLeaderEpoch,
    /// truncates, then fetches without `LastFetchedEpoch`.
    OffsetForLeaderEpoch,
}

/// Deliberate bugs the simulation must catch. The switch (`ReplicationConfig::
/// planted_bug`) exists only in test builds, so production code can never enable one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlantedBug {
    /// The leader moves the high watermark to its log end offset at once.
    HighWatermarkBeforeFollowersFetch,
    /// Pre-KIP-101: a new follower truncates to its high watermark and never checks
    /// epochs.
    FollowerTruncatesToHighWatermark,
    /// acks=all is answered as soon as the leader appended.
    AcksAllAnsweredAtAppend,
}

/// Per-partition replication settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationConfig {
    pub local_broker: BrokerId,
    pub replica_lag_time_max_ms: i64,
    /// `min.insync.replicas` (topic or broker default).
    pub min_insync_replicas: usize,
    pub truncation: TruncationMode,
    pub alter_partition_retry_ms: i64,
    #[cfg(test)]
    pub planted_bug: Option<PlantedBug>,
}

impl ReplicationConfig {
    pub fn new(local_broker: BrokerId) -> ReplicationConfig {
        ReplicationConfig {
            local_broker,
            replica_lag_time_max_ms: REPLICA_LAG_TIME_MAX_MS_DEFAULT,
            min_insync_replicas: 1,
            truncation: TruncationMode::OnFetch,
            alter_partition_retry_ms: ALTER_PARTITION_RETRY_MS_DEFAULT,
            #[cfg(test)]
            planted_bug: None,
        }
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

/// One partition's entry of a LeaderAndIsr request, as the controller decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    pub leader: Option<BrokerId>,
    pub leader_epoch: i32,
    pub isr: Vec<BrokerId>,
    /// The state znode's version.
    pub partition_epoch: i32,
    pub replicas: Vec<BrokerId>,
}

/// Errors answered to peers and producers; each is a Kafka error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaError {
    NotLeaderOrFollower,
    FencedLeaderEpoch,
    UnknownLeaderEpoch,
    OffsetOutOfRange,
    NotEnoughReplicas,
    NotEnoughReplicasAfterAppend,
    RequestTimedOut,
    KafkaStorageError,
}

impl ReplicaError {
    pub fn response_error(self) -> kafka_protocol::ResponseError {
        use kafka_protocol::ResponseError;
        match self {
            ReplicaError::NotLeaderOrFollower => ResponseError::NotLeaderOrFollower,
            ReplicaError::FencedLeaderEpoch => ResponseError::FencedLeaderEpoch,
            ReplicaError::UnknownLeaderEpoch => ResponseError::UnknownLeaderEpoch,
            ReplicaError::OffsetOutOfRange => ResponseError::OffsetOutOfRange,
            ReplicaError::NotEnoughReplicas => ResponseError::NotEnoughReplicas,
            ReplicaError::NotEnoughReplicasAfterAppend => {
                ResponseError::NotEnoughReplicasAfterAppend
            }
            ReplicaError::RequestTimedOut => ResponseError::RequestTimedOut,
            ReplicaError::KafkaStorageError => ResponseError::KafkaStorageError,
        }
    }
}

/// A log operation failed (an I/O error); answered as KAFKA_STORAGE_ERROR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFailure(pub String);

/// Offsets an append was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendedRange {
    pub base_offset: i64,
    pub last_offset: i64,
}

/// The log under a replica. The real one is `kafka::log::partition::PartitionLog`
/// (it needs `truncate_to`); the simulation has an in-memory one.
pub trait ReplicaLog {
    /// Whole batches, opaque to the replication core.
    type Records;

    fn log_start_offset(&self) -> i64;
    fn log_end_offset(&self) -> i64;
    /// Assigns offsets from the log end and stamps every batch with `leader_epoch`.
    fn append_as_leader(
        &mut self,
        records: Self::Records,
        leader_epoch: i32,
    ) -> Result<AppendedRange, LogFailure>;
    /// Appends batches that carry their offsets and epochs (the first at the log end
    /// offset). Returns each batch's (epoch, base offset) for the epoch cache.
    fn append_as_follower(&mut self, records: Self::Records)
        -> Result<Vec<EpochEntry>, LogFailure>;
    /// Batches from `offset` up to the log end (the log bounds the size). `None` when
    /// there is nothing at or after `offset`.
    fn read(&self, offset: i64) -> Result<Option<Self::Records>, LogFailure>;
    /// Removes every record at or after `offset` (no-op at or past the end).
    fn truncate_to(&mut self, offset: i64) -> Result<(), LogFailure>;
    /// Empties the log and restarts it at `offset`.
    fn truncate_fully_and_start_at(&mut self, offset: i64) -> Result<(), LogFailure>;
}

/// acks of a produce, as far as replication cares (acks=0 behaves as 1 here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    Leader,
    All,
}

/// The caller's handle on a produce waiting for acks=all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProduceId(pub u64);

/// What `append_as_leader` did with a produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProduceOutcome {
    /// Answer the producer now (acks=1, or acks=all already replicated).
    Completed(AppendedRange),
    /// Appended; a `ReplicaOutput::ProduceCompleted` with this id follows.
    Waiting(AppendedRange),
}

/// AlterPartition for one partition, sent by its leader to the controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterPartitionProposal {
    /// Local counter matching the answer to the proposal still pending.
    pub proposal_id: u64,
    pub leader: BrokerId,
    pub leader_epoch: i32,
    pub partition_epoch: i32,
    pub new_isr: Vec<BrokerId>,
}

/// The controller's per-partition answer to AlterPartition (top-level errors such as
/// NOT_CONTROLLER or STALE_BROKER_EPOCH are given as `Rejected(Retriable)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterPartitionResult {
    Accepted {
        leader_epoch: i32,
        partition_epoch: i32,
        isr: Vec<BrokerId>,
    },
    Rejected(AlterPartitionError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlterPartitionError {
    /// The controller says the request was not applied: revert to the committed ISR.
    OperationNotAttempted,
    IneligibleReplica,
    /// Stay pending until the next LeaderAndIsr.
    FencedLeaderEpoch,
    InvalidUpdateVersion,
    UnknownTopicOrPartition,
    InvalidRequest,
    /// Anything else (NOT_CONTROLLER, STALE_BROKER_EPOCH, timeouts): send again.
    Retriable,
}

/// Things to send, in order, after a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicaOutput {
    AlterPartition(AlterPartitionProposal),
    ProduceCompleted {
        id: ProduceId,
        range: AppendedRange,
        result: Result<(), ReplicaError>,
    },
}

/// A follower's Fetch for one partition (`ReplicaState.ReplicaId` et al.).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchPartitionRequest {
    pub replica: BrokerId,
    pub current_leader_epoch: i32,
    pub fetch_offset: i64,
    pub last_fetched_epoch: Option<i32>,
    pub log_start_offset: i64,
}

/// The leader's answer to one partition of a follower Fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPartitionResponse<R> {
    /// Taken before the read, as Kafka does.
    pub high_watermark: i64,
    pub log_start_offset: i64,
    pub records: Option<R>,
    pub diverging_epoch: Option<EpochEndOffset>,
}

/// A follower's OffsetForLeaderEpoch for one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetForLeaderEpochRequest {
    pub replica: BrokerId,
    pub current_leader_epoch: i32,
    pub leader_epoch: i32,
}

/// ListOffsets (LATEST and EARLIEST together) from a follower after OFFSET_OUT_OF_RANGE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListOffsetsRequest {
    pub replica: BrokerId,
    pub current_leader_epoch: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaderOffsets {
    pub log_start_offset: i64,
    /// The leader's log end offset (what Kafka answers a replica's LATEST with).
    pub log_end_offset: i64,
}

/// What a follower sends next to its leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowerRequest {
    Fetch(FetchPartitionRequest),
    OffsetForLeaderEpoch(OffsetForLeaderEpochRequest),
    ListOffsets(ListOffsetsRequest),
}

/// Why a LeaderAndIsr entry was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionRefused {
    /// Its leader epoch is not above ours (Kafka: STALE_CONTROLLER_EPOCH).
    StaleLeaderEpoch,
    /// Its partition epoch is below ours (`makeLeader`/`makeFollower` skip it).
    StalePartitionEpoch,
    /// This broker is not in the assignment (UNKNOWN_TOPIC_OR_PARTITION).
    NotAReplica,
    /// The request names a leader that is not this broker / is this broker.
    WrongRole,
}

#[derive(Debug)]
enum Role {
    /// Not leading or following (new, or after StopReplica).
    Offline,
    Leader(Box<LeaderState>),
    Follower(FollowerState),
}

/// One partition's replication state on this broker.
#[derive(Debug)]
pub struct PartitionReplica {
    config: ReplicationConfig,
    /// -1 until the first LeaderAndIsr (a fresh Partition in Kafka).
    leader_epoch: i32,
    partition_epoch: i32,
    replicas: Vec<BrokerId>,
    high_watermark: i64,
    epochs: LeaderEpochCache,
    epochs_changed: bool,
    role: Role,
    outputs: Vec<ReplicaOutput>,
    /// Brokers the metadata cache holds as alive (ISR eligibility in ZooKeeper mode);
    /// `None` = every replica is eligible.
    live_brokers: Option<BTreeSet<BrokerId>>,
}

impl PartitionReplica {
    /// A replica opened from disk: `epochs` is the `leader-epoch-checkpoint`, and
    /// `high_watermark_checkpoint` the `replication-offset-checkpoint` value. As on log
    /// load, epochs past the log end are dropped and the high watermark is clamped.
    pub fn open<L: ReplicaLog>(
        config: ReplicationConfig,
        epochs: &[EpochEntry],
        high_watermark_checkpoint: i64,
        log: &L,
    ) -> PartitionReplica {
        let mut epochs = LeaderEpochCache::from_entries(epochs);
        let log_end_offset = log.log_end_offset();
        let epochs_changed = epochs.truncate_from_end(log_end_offset);
        let high_watermark = high_watermark_checkpoint.clamp(
            log.log_start_offset(),
            log_end_offset.max(log.log_start_offset()),
        );
        PartitionReplica {
            config,
            leader_epoch: -1,
            partition_epoch: -1,
            replicas: Vec::new(),
            high_watermark,
            epochs,
            epochs_changed,
            role: Role::Offline,
            outputs: Vec::new(),
            live_brokers: None,
        }
    }

    pub fn config(&self) -> &ReplicationConfig {
        &self.config
    }

    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }

    pub fn partition_epoch(&self) -> i32 {
        self.partition_epoch
    }

    pub fn high_watermark(&self) -> i64 {
        self.high_watermark
    }

    pub fn epoch_cache(&self) -> &LeaderEpochCache {
        &self.epochs
    }

    /// True once after the epoch cache changed: the caller rewrites the checkpoint.
    pub fn take_epoch_cache_changed(&mut self) -> bool {
        std::mem::take(&mut self.epochs_changed)
    }

    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    /// The leader this replica follows, if it is a follower.
    pub fn leader(&self) -> Option<BrokerId> {
        match &self.role {
            Role::Leader(_) => Some(self.config.local_broker),
            Role::Follower(follower) => Some(follower.leader()),
            Role::Offline => None,
        }
    }

    /// The committed ISR while leader (empty otherwise, as Kafka's follower keeps none).
    pub fn isr(&self) -> Vec<BrokerId> {
        match &self.role {
            Role::Leader(leader) => leader.isr().iter().copied().collect(),
            _ => Vec::new(),
        }
    }

    /// The ISR the high watermark waits for (committed plus a pending addition).
    pub fn maximal_isr(&self) -> Vec<BrokerId> {
        match &self.role {
            Role::Leader(leader) => leader.maximal_isr().into_iter().collect(),
            _ => Vec::new(),
        }
    }

    /// Kafka's `effectiveMinIsr`: `min.insync.replicas` capped by the replica count.
    fn effective_min_isr(&self) -> usize {
        self.config
            .min_insync_replicas
            .min(self.replicas.len().max(1))
    }

    /// The topic's `min.insync.replicas` (it may change while the partition lives).
    pub fn set_min_insync_replicas(&mut self, min_insync_replicas: usize) {
        self.config.min_insync_replicas = min_insync_replicas.max(1);
    }

    /// The metadata cache's live brokers changed (UpdateMetadata).
    pub fn set_live_brokers(&mut self, live: BTreeSet<BrokerId>) {
        self.live_brokers = Some(live);
    }

    fn is_eligible(&self, broker: BrokerId) -> bool {
        self.live_brokers
            .as_ref()
            .is_none_or(|live| live.contains(&broker))
    }

    /// Takes what must be sent, in order.
    pub fn drain_outputs(&mut self) -> Vec<ReplicaOutput> {
        std::mem::take(&mut self.outputs)
    }

    fn check_transition(&self, state: &PartitionState) -> Result<(), TransitionRefused> {
        if state.leader_epoch <= self.leader_epoch {
            return Err(TransitionRefused::StaleLeaderEpoch);
        }
        if state.partition_epoch < self.partition_epoch {
            return Err(TransitionRefused::StalePartitionEpoch);
        }
        if !state.replicas.contains(&self.config.local_broker) {
            return Err(TransitionRefused::NotAReplica);
        }
        Ok(())
    }

    /// StopReplica (delete=false) or the partition leaving this broker: waiting
    /// produces fail, fetching stops. Epochs are kept (the log stays).
    pub fn stop(&mut self) {
        self.fail_waiting_produces();
        self.role = Role::Offline;
    }

    fn fail_waiting_produces(&mut self) {
        if let Role::Leader(leader) = &mut self.role {
            for waiting in leader.take_waiting_produces() {
                self.outputs.push(ReplicaOutput::ProduceCompleted {
                    id: waiting.id,
                    range: waiting.range,
                    result: Err(ReplicaError::NotLeaderOrFollower),
                });
            }
        }
    }

    /// Checks a request's `CurrentLeaderEpoch` against ours (KIP-320).
    fn check_leader_epoch(&self, current_leader_epoch: i32) -> Result<(), ReplicaError> {
        if !self.is_leader() {
            return Err(ReplicaError::NotLeaderOrFollower);
        }
        match current_leader_epoch.cmp(&self.leader_epoch) {
            std::cmp::Ordering::Less => Err(ReplicaError::FencedLeaderEpoch),
            std::cmp::Ordering::Greater => Err(ReplicaError::UnknownLeaderEpoch),
            std::cmp::Ordering::Equal => Ok(()),
        }
    }

    /// Applies a truncation to the log, the epoch cache and the high watermark.
    fn truncate<L: ReplicaLog>(&mut self, log: &mut L, offset: i64) -> Result<(), LogFailure> {
        let log_end_offset = log.log_end_offset();
        if offset < log_end_offset {
            log.truncate_to(offset)?;
        }
        // Kafka truncates the cache even when the log is not (an epoch assigned at
        // the log end by a leader that never wrote in it).
        let end = offset.min(log_end_offset);
        if self.epochs.truncate_from_end(end) {
            self.epochs_changed = true;
        }
        self.high_watermark = self.high_watermark.min(log.log_end_offset());
        Ok(())
    }
}

#[cfg(test)]
mod tests;
