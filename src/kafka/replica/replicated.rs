//! The replication core (`state::PartitionReplica`) driven over a real partition:
//! the `ReplicaLog` adapter on `PartitionLog`, and the `Partition` methods a broker
//! calls for LeaderAndIsr / StopReplica, followers' fetches (as leader), its own
//! fetches (as follower), acks=all waits and the ISR's AlterPartition round trips.
//!
//! Every call runs under the partition lock and ends in `settle`, which carries the
//! core's side effects out: the epoch cache into `leader-epoch-checkpoint`, completed
//! acks=all produces to their waiters, AlterPartition proposals to the outbox.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use tokio::sync::oneshot;

use super::state::{
    Acks, AlterPartitionProposal, AlterPartitionResult, AppendedRange, EpochEndOffset, EpochEntry,
    FetchPartitionRequest, FetchPartitionResponse, FollowerRequest, LeaderOffsets,
    ListOffsetsRequest, LogFailure, OffsetForLeaderEpochRequest, PartitionState, ProduceId,
    ProduceOutcome as CoreOutcome, ReplicaError, ReplicaLog, ReplicaOutput, TransitionRefused,
};
use super::{
    producer_batch_of, rebuild_producer_states, FetchedSlice, Partition, PartitionError,
    PartitionInner,
};
use crate::kafka::log::batch;
use crate::kafka::log::partition::{AppendResult, LogError, PartitionLog};
use crate::kafka::metadata::BrokerId;

/// `PartitionLog` seen through the core's `ReplicaLog` trait. Records are whole
/// batches as bytes. `read` only says whether there is anything at an offset: the
/// broker reads the data itself afterwards, as file ranges bounded by the fetch's
/// byte limits.
pub(super) struct LogAdapter<'a> {
    log: &'a mut PartitionLog,
    now_ms: i64,
    log_append_time: bool,
    /// What the last leader append wrote (the core keeps only the offsets).
    appended: Option<AppendResult>,
}

impl<'a> LogAdapter<'a> {
    pub(super) fn new(log: &'a mut PartitionLog, now_ms: i64, log_append_time: bool) -> Self {
        LogAdapter {
            log,
            now_ms,
            log_append_time,
            appended: None,
        }
    }
}

fn failure(error: LogError) -> LogFailure {
    LogFailure(error.to_string())
}

impl ReplicaLog for LogAdapter<'_> {
    type Records = Bytes;

    fn log_start_offset(&self) -> i64 {
        self.log.log_start_offset()
    }

    fn log_end_offset(&self) -> i64 {
        self.log.log_end_offset()
    }

    fn append_as_leader(
        &mut self,
        records: Bytes,
        leader_epoch: i32,
    ) -> Result<AppendedRange, LogFailure> {
        let result = self
            .log
            .append(&records, leader_epoch, self.now_ms, self.log_append_time)
            .map_err(failure)?;
        self.appended = Some(result);
        Ok(AppendedRange {
            base_offset: result.base_offset,
            last_offset: result.last_offset,
        })
    }

    fn append_as_follower(&mut self, records: Bytes) -> Result<Vec<EpochEntry>, LogFailure> {
        let (_, epochs) = self.log.append_as_follower(&records).map_err(failure)?;
        Ok(epochs
            .into_iter()
            .map(|(epoch, start_offset)| EpochEntry {
                epoch,
                start_offset,
            })
            .collect())
    }

    fn read(&self, offset: i64) -> Result<Option<Bytes>, LogFailure> {
        Ok((offset < self.log.log_end_offset()).then(Bytes::new))
    }

    fn truncate_to(&mut self, offset: i64) -> Result<(), LogFailure> {
        self.log.truncate_to(offset).map_err(failure)
    }

    fn truncate_fully_and_start_at(&mut self, offset: i64) -> Result<(), LogFailure> {
        self.log
            .truncate_fully_and_start_at(offset)
            .map_err(failure)
    }
}

/// Whether a failed write to a log dir stops the process, as Kafka's
/// `LogDirFailureChannel` halts a broker whose log dirs have all failed. Off in
/// tests (they share the process); the broker turns it on at start.
static HALT_ON_STORAGE_FAILURE: AtomicBool = AtomicBool::new(false);

pub fn set_halt_on_storage_failure(halt: bool) {
    HALT_ON_STORAGE_FAILURE.store(halt, Ordering::Relaxed);
}

/// A write to the log failed (a full disk, an I/O error). A broker that kept
/// running would stay in ISRs it cannot serve (a follower whose log cannot grow but
/// still matches an idle leader) and keep answering for data it cannot store, so it
/// stops, as Apache Kafka does with its only log dir offline; the controller then
/// moves its partitions. Nothing acknowledged is lost: acknowledged data is on disk.
pub(super) fn storage_failed(partition: &Partition, error: &str) {
    tracing::error!(partition = %partition.topic_partition.dir_name(), error, "a write to the log dir failed");
    if HALT_ON_STORAGE_FAILURE.load(Ordering::Relaxed) {
        tracing::error!("halting: the log dir cannot be written (Kafka halts a broker whose log dirs have failed)");
        std::process::exit(1);
    }
}

/// A produce waiting for the ISR: resolves to the replication result.
pub type ReplicationWait = oneshot::Receiver<Result<(), ReplicaError>>;

/// What this broker is for a partition, as the last LeaderAndIsr made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicaRole {
    /// Not yet told, or stopped (StopReplica).
    Offline,
    Leader {
        leader_epoch: i32,
        isr: Vec<BrokerId>,
    },
    Follower {
        leader: BrokerId,
        leader_epoch: i32,
    },
}

/// Appends a client's batches through the core (`Partition.appendRecordsToLeader`).
pub(super) fn append_as_leader(
    inner: &mut PartitionInner,
    records: &[u8],
    now_ms: i64,
    log_append_time: bool,
    acks: Acks,
    timeout_ms: i64,
) -> Result<(AppendResult, Option<ReplicationWait>), PartitionError> {
    let id = ProduceId(inner.next_produce_id);
    inner.next_produce_id += 1;
    let mut adapter = LogAdapter::new(&mut inner.log, now_ms, log_append_time);
    let outcome = inner.replica.append_as_leader(
        now_ms,
        &mut adapter,
        Bytes::copy_from_slice(records),
        acks,
        id,
        timeout_ms,
    );
    let appended = adapter.appended;
    let wait = match outcome {
        Ok(CoreOutcome::Completed(_)) => None,
        Ok(CoreOutcome::Waiting(_)) => {
            let (sender, receiver) = oneshot::channel();
            inner.waiting_produces.insert(id, sender);
            Some(receiver)
        }
        Err(error) => {
            settle(inner);
            return Err(PartitionError::new(
                error.response_error(),
                format!("produce refused: {error:?}"),
            ));
        }
    };
    settle(inner);
    let appended = appended.ok_or_else(|| {
        PartitionError::new(
            kafka_protocol::ResponseError::KafkaStorageError,
            "append reported no result",
        )
    })?;
    Ok((appended, wait))
}

/// Carries the core's side effects out after a call (see the module header).
/// Returns whether the high watermark moved.
fn settle_from(inner: &mut PartitionInner, high_watermark_before: i64) -> bool {
    if inner.replica.take_epoch_cache_changed() {
        let entries: Vec<(i32, i64)> = inner
            .replica
            .epoch_cache()
            .entries()
            .iter()
            .map(|entry| (entry.epoch, entry.start_offset))
            .collect();
        if let Err(error) = inner.log.set_leader_epochs(&entries) {
            tracing::error!(%error, "cannot write leader-epoch-checkpoint");
        }
    }
    for output in inner.replica.drain_outputs() {
        match output {
            ReplicaOutput::ProduceCompleted { id, result, .. } => {
                if let Some(waiter) = inner.waiting_produces.remove(&id) {
                    // The producer's connection may be gone; nothing to tell then.
                    let _ = waiter.send(result);
                }
            }
            ReplicaOutput::AlterPartition(proposal) => {
                // Only the newest proposal matters: the core keeps one pending.
                inner.alter_partition_outbox.clear();
                inner.alter_partition_outbox.push(proposal);
            }
        }
    }
    inner.replica.high_watermark() != high_watermark_before
}

fn settle(inner: &mut PartitionInner) -> bool {
    let before = inner.replica.high_watermark();
    settle_from(inner, before)
}

impl Partition {
    /// This broker's role for the partition.
    pub fn role(&self) -> ReplicaRole {
        let inner = self.lock();
        let replica = &inner.replica;
        if replica.is_leader() {
            ReplicaRole::Leader {
                leader_epoch: replica.leader_epoch(),
                isr: replica.isr(),
            }
        } else if let Some(leader) = replica.leader() {
            ReplicaRole::Follower {
                leader,
                leader_epoch: replica.leader_epoch(),
            }
        } else {
            ReplicaRole::Offline
        }
    }

    pub fn is_leader(&self) -> bool {
        self.lock().replica.is_leader()
    }

    /// Applies one partition of a LeaderAndIsr (`Partition.makeLeader` /
    /// `makeFollower`). `live_brokers` is the metadata cache's live set (ISR
    /// eligibility). Refused transitions change nothing.
    pub fn apply_leader_and_isr(
        &self,
        now_ms: i64,
        state: &PartitionState,
        min_insync_replicas: usize,
        live_brokers: Option<BTreeSet<BrokerId>>,
    ) -> Result<(), TransitionRefused> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        inner.replica.set_min_insync_replicas(min_insync_replicas);
        if let Some(live) = live_brokers {
            inner.replica.set_live_brokers(live);
        }
        let before = inner.replica.high_watermark();
        let log_end_before = inner.log.log_end_offset();
        let mut adapter = LogAdapter::new(&mut inner.log, now_ms, false);
        let result = if state.leader == Some(inner.replica.config().local_broker) {
            inner.replica.become_leader(now_ms, &adapter, state)
        } else {
            inner.replica.become_follower(&mut adapter, state)
        };
        if inner.log.log_end_offset() < log_end_before {
            rebuild_producers(inner);
        }
        settle_from(inner, before);
        result
    }

    /// The metadata cache's live brokers changed (UpdateMetadata).
    pub fn set_live_brokers(&self, live: BTreeSet<BrokerId>) {
        self.lock().replica.set_live_brokers(live);
    }

    /// `min.insync.replicas` changed for the topic.
    pub fn set_min_insync_replicas(&self, min_insync_replicas: usize) {
        self.lock()
            .replica
            .set_min_insync_replicas(min_insync_replicas);
    }

    /// StopReplica: waiting produces fail, fetching stops; the log stays.
    pub fn stop_replica(&self) {
        let mut inner = self.lock();
        inner.replica.stop();
        settle(&mut inner);
    }

    /// A follower's Fetch for this partition, as its leader (`Partition.fetchRecords`
    /// with `FetchIsolation.LOG_END`): records the follower's position, may move the
    /// high watermark, and reads up to the log end. Returns the read and the
    /// `DivergingEpoch` to answer with, and whether the high watermark moved.
    pub fn fetch_for_follower(
        &self,
        now_ms: i64,
        request: &FetchPartitionRequest,
        max_bytes: u64,
        at_least_one_batch: bool,
    ) -> Result<(FetchedSlice, Option<EpochEndOffset>, bool), PartitionError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let before = inner.replica.high_watermark();
        let mut request = *request;
        if request.current_leader_epoch < 0 {
            // Followers before KIP-320 send no epoch: nothing to check.
            request.current_leader_epoch = inner.replica.leader_epoch();
        }
        let request = &request;
        let adapter = LogAdapter::new(&mut inner.log, now_ms, false);
        let answer = inner.replica.handle_fetch(now_ms, &adapter, request);
        let moved = settle_from(inner, before);
        let answer = answer
            .map_err(|error| PartitionError::new(error.response_error(), format!("{error:?}")))?;
        let log_end_offset = inner.log.log_end_offset();
        let mut slice = match answer.records {
            Some(_) => Self::read_slice_locked(
                inner,
                request.fetch_offset,
                max_bytes,
                at_least_one_batch,
                log_end_offset,
            )?,
            None => FetchedSlice {
                records: None,
                high_watermark: answer.high_watermark,
                log_start_offset: answer.log_start_offset,
            },
        };
        // Kafka answers the high watermark taken before the read.
        slice.high_watermark = answer.high_watermark;
        Ok((slice, answer.diverging_epoch, moved))
    }

    /// OffsetForLeaderEpoch from a follower (or a consumer): the leader's answer.
    pub fn offset_for_leader_epoch(
        &self,
        request: &OffsetForLeaderEpochRequest,
    ) -> Result<Option<EpochEndOffset>, ReplicaError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let adapter = LogAdapter::new(&mut inner.log, 0, false);
        inner
            .replica
            .handle_offset_for_leader_epoch(&adapter, request)
    }

    /// ListOffsets EARLIEST/LATEST from a follower.
    pub fn offsets_for_follower(
        &self,
        request: &ListOffsetsRequest,
    ) -> Result<LeaderOffsets, ReplicaError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let adapter = LogAdapter::new(&mut inner.log, 0, false);
        inner.replica.handle_list_offsets(&adapter, request)
    }

    /// As follower: what to ask the leader next (`None` while not following).
    pub fn next_follower_request(&self) -> Option<FollowerRequest> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let adapter = LogAdapter::new(&mut inner.log, 0, false);
        inner.replica.next_follower_request(&adapter)
    }

    /// As follower: the leader's answer to `request`. Batches are appended as the
    /// leader wrote them (CRC checked, offsets kept); idempotent producers' state
    /// follows, so this broker deduplicates retries once it leads.
    pub fn on_fetch_response(
        &self,
        now_ms: i64,
        request: &FetchPartitionRequest,
        response: Result<FetchPartitionResponse<Bytes>, ReplicaError>,
    ) -> Result<(), LogFailure> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let before = inner.replica.high_watermark();
        let log_end_before = inner.log.log_end_offset();
        let records = response
            .as_ref()
            .ok()
            .and_then(|answer| answer.records.clone());
        let mut adapter = LogAdapter::new(&mut inner.log, now_ms, false);
        let result = inner
            .replica
            .on_fetch_response(&mut adapter, request, response);
        let log_end_after = inner.log.log_end_offset();
        if log_end_after < log_end_before {
            rebuild_producers(inner);
        } else if log_end_after > log_end_before {
            if let Some(records) = records {
                record_producers(inner, &records);
            }
        }
        settle_from(inner, before);
        if let Err(failure) = &result {
            storage_failed(self, &failure.0);
        }
        result
    }

    pub fn on_offset_for_leader_epoch_response(
        &self,
        request: &OffsetForLeaderEpochRequest,
        response: Result<Option<EpochEndOffset>, ReplicaError>,
    ) -> Result<(), LogFailure> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let log_end_before = inner.log.log_end_offset();
        let mut adapter = LogAdapter::new(&mut inner.log, 0, false);
        let result =
            inner
                .replica
                .on_offset_for_leader_epoch_response(&mut adapter, request, response);
        if inner.log.log_end_offset() < log_end_before {
            rebuild_producers(inner);
        }
        settle(inner);
        if let Err(failure) = &result {
            storage_failed(self, &failure.0);
        }
        result
    }

    pub fn on_list_offsets_response(
        &self,
        request: &ListOffsetsRequest,
        response: Result<LeaderOffsets, ReplicaError>,
    ) -> Result<(), LogFailure> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let log_end_before = inner.log.log_end_offset();
        let mut adapter = LogAdapter::new(&mut inner.log, 0, false);
        let result = inner
            .replica
            .on_list_offsets_response(&mut adapter, request, response);
        if inner.log.log_end_offset() != log_end_before {
            rebuild_producers(inner);
        }
        settle(inner);
        if let Err(failure) = &result {
            storage_failed(self, &failure.0);
        }
        result
    }

    /// Periodic leader duties (ISR shrink, acks=all timeouts, AlterPartition
    /// resends). Returns the proposals to send to the controller and whether the high
    /// watermark moved.
    pub fn tick(&self, now_ms: i64) -> (Vec<AlterPartitionProposal>, bool) {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let before = inner.replica.high_watermark();
        let adapter = LogAdapter::new(&mut inner.log, now_ms, false);
        inner.replica.tick(now_ms, &adapter);
        let moved = settle_from(inner, before);
        (std::mem::take(&mut inner.alter_partition_outbox), moved)
    }

    /// Proposals made since the last call (by fetches or appends).
    pub fn take_alter_partition_proposals(&self) -> Vec<AlterPartitionProposal> {
        std::mem::take(&mut self.lock().alter_partition_outbox)
    }

    /// The controller's answer to an AlterPartition proposal. Returns whether the
    /// high watermark moved.
    pub fn on_alter_partition_response(
        &self,
        now_ms: i64,
        proposal_id: u64,
        result: AlterPartitionResult,
    ) -> bool {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let before = inner.replica.high_watermark();
        let adapter = LogAdapter::new(&mut inner.log, now_ms, false);
        inner
            .replica
            .on_alter_partition_response(now_ms, &adapter, proposal_id, result);
        settle_from(inner, before)
    }

    /// The ISR the leader holds (empty unless leading) and the partition epoch.
    pub fn isr_and_partition_epoch(&self) -> (Vec<BrokerId>, i32) {
        let inner = self.lock();
        (inner.replica.isr(), inner.replica.partition_epoch())
    }
}

/// After a truncation the producers' sequences are rebuilt from what is left, as
/// Kafka reloads producer state on truncation.
fn rebuild_producers(inner: &mut PartitionInner) {
    match rebuild_producer_states(&inner.log) {
        Ok(producers) => inner.producers = producers,
        Err(error) => tracing::error!(%error, "cannot rebuild producer state after truncation"),
    }
}

/// Records the producer fields of batches a follower appended.
fn record_producers(inner: &mut PartitionInner, records: &[u8]) {
    for (header, _) in batch::split_batches(records).flatten() {
        if header.has_producer_id() {
            inner
                .producers
                .record(&producer_batch_of(&header), header.base_offset);
        }
    }
}
