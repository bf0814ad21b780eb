//! Partition state on this broker: the log, the high watermark, the leader epoch
//! and the idempotent producers' sequences.
//!
//! # Layout
//! - `producer_state`: per-producer sequence checks (pure).
//! - `state`: replication of one partition as a sans-IO state machine (ISR, high
//!   watermark, truncation, leader epoch cache).
//! - `sim` (tests only): a seeded cluster simulation with a safety checker.
//!
//! A single-replica partition's high watermark is its log end offset; the
//! multi-broker cluster will move it with follower fetches (ISR), behind the same
//! methods.

mod fetcher;
pub mod manager;
pub mod producer_state;
mod replicated;
#[cfg(test)]
mod sim;
pub mod state;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use tokio::sync::oneshot;

use bytes::Bytes;
use kafka_protocol::ResponseError;

use crate::kafka::log::batch::{self, BatchError, BatchHeader};
use crate::kafka::log::checkpoint::TopicPartition;
use crate::kafka::log::cleaner::{self, CleanStats, DirtyStats};
use crate::kafka::log::partition::{LogError, LogSettings, PartitionLog};
use crate::kafka::log::records;
use crate::kafka::log::segment::{RecoveryReport, SegmentSlice};
use crate::kafka::metadata::TopicId;
use producer_state::{ProducerBatch, ProducerStates, SequenceVerdict};
pub use replicated::{set_halt_on_storage_failure, ReplicaRole, ReplicationWait};
use state::{
    Acks, AlterPartitionProposal, EpochEntry, PartitionReplica, ProduceId, ReplicaError,
    ReplicationConfig,
};

/// The offsets a partition is opened with, from its log dir's checkpoint files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenOffsets {
    /// `recovery-point-offset-checkpoint`.
    pub recovery_point: i64,
    /// `log-start-offset-checkpoint`.
    pub log_start_offset: i64,
    /// `replication-offset-checkpoint` (the high watermark).
    pub high_watermark: i64,
}

/// A request-level failure for one partition: Kafka's error and a message for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionError {
    pub error: ResponseError,
    pub message: String,
}

impl PartitionError {
    fn new(error: ResponseError, message: impl Into<String>) -> PartitionError {
        PartitionError {
            error,
            message: message.into(),
        }
    }
}

impl From<LogError> for PartitionError {
    fn from(error: LogError) -> PartitionError {
        match error {
            LogError::OffsetOutOfRange { .. } => {
                PartitionError::new(ResponseError::OffsetOutOfRange, error.to_string())
            }
            LogError::InvalidBatch(_) => {
                PartitionError::new(ResponseError::CorruptMessage, error.to_string())
            }
            LogError::Io(_) => {
                PartitionError::new(ResponseError::KafkaStorageError, error.to_string())
            }
        }
    }
}

/// Where a produce landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProduceOutcome {
    pub base_offset: i64,
    pub log_start_offset: i64,
    /// The broker's timestamp when the topic uses LogAppendTime, else -1.
    pub log_append_time_ms: i64,
}

/// What a fetch read.
#[derive(Debug, Clone)]
pub struct FetchedData {
    pub records: Bytes,
    pub high_watermark: i64,
    pub log_start_offset: i64,
}

/// What a fetch found, the batches left in their segment file.
#[derive(Debug, Clone)]
pub struct FetchedSlice {
    /// `None` when there is nothing to return.
    pub records: Option<SegmentSlice>,
    pub high_watermark: i64,
    pub log_start_offset: i64,
}

impl FetchedSlice {
    pub fn records_bytes(&self) -> u64 {
        self.records.as_ref().map_or(0, |slice| slice.length)
    }
}

/// Offsets of a partition, read together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionOffsets {
    pub log_start_offset: i64,
    pub high_watermark: i64,
    pub log_end_offset: i64,
}

#[derive(Debug)]
struct PartitionInner {
    log: PartitionLog,
    producers: ProducerStates,
    /// Leader/follower state, ISR and high watermark (the sans-IO core).
    replica: PartitionReplica,
    /// acks=all produces waiting for the ISR, by the id the core knows them by.
    waiting_produces: HashMap<ProduceId, oneshot::Sender<Result<(), ReplicaError>>>,
    next_produce_id: u64,
    /// AlterPartition proposals the core made, for the broker to send.
    alter_partition_outbox: Vec<AlterPartitionProposal>,
}

/// One partition this broker hosts.
#[derive(Debug)]
pub struct Partition {
    pub topic_partition: TopicPartition,
    pub topic_id: TopicId,
    inner: Mutex<PartitionInner>,
}

/// A partition's figures for the broker's metrics (`kafka::metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionGauges {
    pub leader: bool,
    /// The leader it follows (itself when leading; `None` while offline).
    pub leader_id: Option<crate::kafka::metadata::BrokerId>,
    /// The committed ISR's size while leading (0 otherwise).
    pub isr: usize,
    pub min_insync_replicas: usize,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    pub size_bytes: u64,
    pub segments: usize,
}

/// Per-topic settings that decide what a produce may append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProduceLimits {
    /// `max.message.bytes`: the largest batch accepted.
    pub batch_bytes_max: u32,
    /// `message.timestamp.type=LogAppendTime`.
    pub log_append_time: bool,
    /// `cleanup.policy` holds `compact`: every record needs a key, as Kafka checks.
    pub compacted: bool,
}

impl Partition {
    /// Opens (recovering if needed) the partition's log under `log_dir` and rebuilds
    /// producer state from its batch headers.
    pub fn open(
        log_dir: &Path,
        topic_partition: TopicPartition,
        topic_id: TopicId,
        settings: LogSettings,
        offsets: OpenOffsets,
        replication: ReplicationConfig,
    ) -> Result<(Partition, RecoveryReport), LogError> {
        let dir = log_dir.join(topic_partition.dir_name());
        let (mut log, report) = PartitionLog::open(
            &dir,
            settings,
            offsets.recovery_point,
            offsets.log_start_offset,
        )?;
        let producers = rebuild_producer_states(&log)?;
        let epochs: Vec<EpochEntry> = log
            .leader_epochs()
            .iter()
            .map(|(epoch, start_offset)| EpochEntry {
                epoch: *epoch,
                start_offset: *start_offset,
            })
            .collect();
        let replica = {
            let adapter = replicated::LogAdapter::new(&mut log, 0, false);
            PartitionReplica::open(replication, &epochs, offsets.high_watermark, &adapter)
        };
        let partition = Partition {
            topic_partition,
            topic_id,
            inner: Mutex::new(PartitionInner {
                log,
                producers,
                replica,
                waiting_produces: HashMap::new(),
                next_produce_id: 0,
                alter_partition_outbox: Vec::new(),
            }),
        };
        Ok((partition, report))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PartitionInner> {
        // A panic while holding the lock is a bug; the state is still the last
        // whole append, so carry on with it rather than poisoning the partition.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What the broker's metrics read of the partition, under one lock.
    pub fn gauges(&self) -> PartitionGauges {
        let inner = self.lock();
        PartitionGauges {
            leader: inner.replica.is_leader(),
            leader_id: inner.replica.leader(),
            isr: inner.replica.isr().len(),
            min_insync_replicas: inner.replica.config().min_insync_replicas,
            log_start_offset: inner.log.log_start_offset(),
            log_end_offset: inner.log.log_end_offset(),
            size_bytes: inner.log.size_bytes(),
            segments: inner.log.segment_count(),
        }
    }

    /// The leader epoch of the last LeaderAndIsr applied (-1 before the first).
    pub fn leader_epoch(&self) -> i32 {
        self.lock().replica.leader_epoch()
    }

    /// `PartitionLog::append_may_block` for a leader's append of `incoming_bytes`.
    pub fn append_may_block(&self, incoming_bytes: u64, now_ms: i64) -> bool {
        let inner = self.lock();
        let epoch = inner.replica.leader_epoch();
        inner.log.append_may_block(incoming_bytes, epoch, now_ms)
    }

    /// `PartitionLog::append_may_block` for a follower's append of the leader's
    /// `batches` (their newest leader epoch decides the checkpoint write).
    pub fn follower_append_may_block(&self, batches: &[u8], now_ms: i64) -> bool {
        let newest_epoch = batch::split_batches(batches)
            .filter_map(|item| item.ok())
            .map(|(header, _)| header.partition_leader_epoch)
            .max()
            .unwrap_or(-1);
        self.lock()
            .log
            .append_may_block(batches.len() as u64, newest_epoch, now_ms)
    }

    /// `PartitionLog::read_may_block`.
    pub fn read_may_block(&self, offset: i64) -> bool {
        self.lock().log.read_may_block(offset)
    }

    pub fn set_log_settings(&self, settings: LogSettings) {
        self.lock().log.set_settings(settings);
    }

    /// Validates a produce request's records and appends them: Kafka's checks for
    /// magic, CRC, size and producer sequences, then offsets assigned.
    pub fn append_from_client(
        &self,
        records: &[u8],
        limits: ProduceLimits,
        now_ms: i64,
    ) -> Result<ProduceOutcome, PartitionError> {
        self.append_from_client_with_acks(records, limits, now_ms, Acks::Leader, 0)
            .map(|(outcome, _)| outcome)
    }

    /// As `append_from_client`, for a produce with `acks`: with acks=all the answer
    /// may have to wait for the ISR, and the receiver returned says when (the core
    /// times it out after `timeout_ms`).
    pub fn append_from_client_with_acks(
        &self,
        records: &[u8],
        limits: ProduceLimits,
        now_ms: i64,
        acks: Acks,
        timeout_ms: i64,
    ) -> Result<(ProduceOutcome, Option<ReplicationWait>), PartitionError> {
        let mut batches = Vec::new();
        let mut iter = batch::split_batches(records);
        for item in iter.by_ref() {
            let (header, bytes) = item.map_err(batch_error)?;
            if header.total_bytes() > limits.batch_bytes_max as usize {
                return Err(PartitionError::new(
                    ResponseError::MessageTooLarge,
                    format!(
                        "batch of {} bytes exceeds max.message.bytes {}",
                        header.total_bytes(),
                        limits.batch_bytes_max
                    ),
                ));
            }
            batch::verify_crc(bytes).map_err(batch_error)?;
            if limits.compacted {
                self.check_keys(&header, bytes)?;
            }
            if header.is_transactional() || header.is_control() {
                return Err(PartitionError::new(
                    ResponseError::InvalidRecord,
                    "transactional batches are not supported by keel yet",
                ));
            }
            batches.push(header);
        }
        if batches.is_empty() || iter.position() != records.len() {
            return Err(PartitionError::new(
                ResponseError::CorruptMessage,
                "records are empty or truncated",
            ));
        }
        // Kafka requires one batch per partition from idempotent producers; check
        // sequences batch by batch.
        let mut inner = self.lock();
        let mut producer_batches = Vec::new();
        for header in &batches {
            if !header.has_producer_id() {
                continue;
            }
            let producer_batch = producer_batch_of(header);
            match inner.producers.check(&producer_batch) {
                SequenceVerdict::Append => producer_batches.push(producer_batch),
                SequenceVerdict::Duplicate { first_offset } => {
                    return Ok((
                        ProduceOutcome {
                            base_offset: first_offset,
                            log_start_offset: inner.log.log_start_offset(),
                            log_append_time_ms: -1,
                        },
                        None,
                    ));
                }
                SequenceVerdict::OutOfOrder => {
                    return Err(PartitionError::new(
                        ResponseError::OutOfOrderSequenceNumber,
                        format!(
                            "producer {} sequence {} is out of order",
                            header.producer_id, header.base_sequence
                        ),
                    ));
                }
                SequenceVerdict::FencedEpoch => {
                    return Err(PartitionError::new(
                        ResponseError::InvalidProducerEpoch,
                        format!(
                            "producer {} epoch {} is fenced",
                            header.producer_id, header.producer_epoch
                        ),
                    ));
                }
            }
        }
        let (result, wait) = match replicated::append_as_leader(
            &mut inner,
            records,
            now_ms,
            limits.log_append_time,
            acks,
            timeout_ms,
        ) {
            Ok(appended) => appended,
            Err(error) => {
                if error.error == ResponseError::KafkaStorageError {
                    drop(inner);
                    replicated::storage_failed(self, &error.message);
                }
                return Err(error);
            }
        };
        // Record each batch at its own first offset.
        let mut offset = result.base_offset;
        let mut producer_iter = producer_batches.iter();
        for header in &batches {
            if header.has_producer_id() {
                if let Some(producer_batch) = producer_iter.next() {
                    inner.producers.record(producer_batch, offset);
                }
            }
            offset += header.last_offset_delta as i64 + 1;
        }
        Ok((
            ProduceOutcome {
                base_offset: result.base_offset,
                log_start_offset: inner.log.log_start_offset(),
                log_append_time_ms: if limits.log_append_time { now_ms } else { -1 },
            },
            wait,
        ))
    }

    /// Whole batches from `offset`, at most `max_bytes` (at least one batch when
    /// `at_least_one_batch`), never past the high watermark, read into memory.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: u64,
        at_least_one_batch: bool,
    ) -> Result<FetchedData, PartitionError> {
        let fetched = self.read_slice(offset, max_bytes, at_least_one_batch)?;
        into_memory(fetched)
    }

    /// As `read`, up to the log end rather than the high watermark: for this broker's
    /// own readers of a log it leads (the group coordinator loading
    /// `__consumer_offsets`, which reads to the log end as Kafka's
    /// GroupMetadataManager does: a new leader's high watermark may still trail
    /// records the ISR acknowledged).
    pub fn read_to_log_end(
        &self,
        offset: i64,
        max_bytes: u64,
        at_least_one_batch: bool,
    ) -> Result<FetchedData, PartitionError> {
        let fetched = {
            let inner = self.lock();
            let log_end_offset = inner.log.log_end_offset();
            Self::read_slice_locked(
                &inner,
                offset,
                max_bytes,
                at_least_one_batch,
                log_end_offset,
            )?
        };
        into_memory(fetched)
    }

    /// As `read`, but the batches stay in their segment file: the slice holds the
    /// file open, so it stays readable after retention deletes the segment.
    pub fn read_slice(
        &self,
        offset: i64,
        max_bytes: u64,
        at_least_one_batch: bool,
    ) -> Result<FetchedSlice, PartitionError> {
        let inner = self.lock();
        let high_watermark = inner.replica.high_watermark();
        Self::read_slice_locked(
            &inner,
            offset,
            max_bytes,
            at_least_one_batch,
            high_watermark,
        )
    }

    /// Reads up to `read_limit` (the high watermark for consumers, the log end offset
    /// for followers); the reply carries the high watermark.
    fn read_slice_locked(
        inner: &PartitionInner,
        offset: i64,
        max_bytes: u64,
        at_least_one_batch: bool,
        read_limit: i64,
    ) -> Result<FetchedSlice, PartitionError> {
        let high_watermark = inner.replica.high_watermark();
        let log_start_offset = inner.log.log_start_offset();
        if offset > read_limit && offset <= inner.log.log_end_offset() {
            // Between the high watermark and the log end: nothing yet, not an error
            // (a consumer of a new leader whose high watermark trails).
            return Ok(FetchedSlice {
                records: None,
                high_watermark,
                log_start_offset,
            });
        }
        if offset == read_limit || (max_bytes == 0 && !at_least_one_batch) {
            inner.log.read(offset, 0)?; // range check only
            return Ok(FetchedSlice {
                records: None,
                high_watermark,
                log_start_offset,
            });
        }
        let records = match inner.log.read_below(offset, max_bytes, read_limit)? {
            Some(slice) if !at_least_one_batch && slice.length > max_bytes => None,
            Some(slice) if slice.length == 0 => None,
            other => other,
        };
        Ok(FetchedSlice {
            records,
            high_watermark,
            log_start_offset,
        })
    }

    /// Kafka's LogValidator rule for compacted topics: a record without a key could
    /// never be compacted, so the batch is refused with INVALID_RECORD.
    fn check_keys(&self, header: &BatchHeader, bytes: &[u8]) -> Result<(), PartitionError> {
        let section = records::records_section(header, bytes).map_err(batch_error)?;
        let decoded = records::decode(header, &section).map_err(batch_error)?;
        if decoded.iter().any(|record| record.key.is_none()) {
            return Err(PartitionError::new(
                ResponseError::InvalidRecord,
                format!(
                    "Compacted topic cannot accept message without key in topic partition {}.",
                    self.topic_partition.dir_name()
                ),
            ));
        }
        Ok(())
    }

    pub fn offsets(&self) -> PartitionOffsets {
        let inner = self.lock();
        PartitionOffsets {
            log_start_offset: inner.log.log_start_offset(),
            high_watermark: inner.replica.high_watermark(),
            log_end_offset: inner.log.log_end_offset(),
        }
    }

    /// ListOffsets by timestamp: the first record whose timestamp reaches
    /// `timestamp_ms`, and that timestamp. The index finds the batch; its records
    /// are read for the exact record, as Kafka's `LogSegment.findOffsetByTimestamp`.
    pub fn offset_for_timestamp(
        &self,
        timestamp_ms: i64,
    ) -> Result<Option<(i64, i64)>, PartitionError> {
        let inner = self.lock();
        let Some(offset) = inner.log.offset_for_timestamp(timestamp_ms)? else {
            return Ok(None);
        };
        let Some(slice) = inner.log.read(offset, 1)? else {
            return Ok(Some((offset, -1)));
        };
        drop(inner);
        let bytes = slice.read_to_vec().map_err(LogError::from)?;
        let Ok(header) = BatchHeader::parse(&bytes) else {
            return Ok(Some((offset, -1)));
        };
        if header.is_log_append_time() {
            // Every record carries the batch's append time.
            return Ok(Some((offset, header.max_timestamp)));
        }
        let found = records::records_section(&header, &bytes)
            .ok()
            .and_then(|section| {
                records::decode(&header, &section)
                    .ok()?
                    .into_iter()
                    .find(|record| record.offset >= offset && record.timestamp_ms >= timestamp_ms)
                    .map(|record| (record.offset, record.timestamp_ms))
            });
        Ok(Some(found.unwrap_or((offset, header.max_timestamp))))
    }

    /// ListOffsets v0's segment-granular answer (`PartitionLog::legacy_offsets_before`).
    pub fn legacy_offsets_before(
        &self,
        timestamp_ms: i64,
        offsets_max: usize,
        now_ms: i64,
    ) -> Vec<i64> {
        self.lock()
            .log
            .legacy_offsets_before(timestamp_ms, offsets_max, now_ms)
    }

    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>, PartitionError> {
        let max_timestamp = self.lock().log.max_timestamp_ms();
        if max_timestamp < 0 {
            return Ok(None);
        }
        self.offset_for_timestamp(max_timestamp)
    }

    /// OffsetForLeaderEpoch: the largest epoch at or below `epoch` and where it ends,
    /// from the replication core's epoch cache.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        let inner = self.lock();
        inner
            .replica
            .epoch_cache()
            .end_offset_for(epoch, inner.log.log_end_offset())
            .map(|end| (end.epoch, end.end_offset))
    }

    pub fn delete_records_before(&self, offset: i64) -> Result<i64, PartitionError> {
        Ok(self.lock().log.delete_records_before(offset)?)
    }

    pub fn flush(&self) -> Result<(), LogError> {
        self.lock().log.flush()
    }

    pub fn recovery_point(&self) -> i64 {
        self.lock().log.recovery_point()
    }

    pub fn apply_retention(&self, now_ms: i64) -> Result<usize, LogError> {
        self.lock().log.apply_retention(now_ms)
    }

    /// The cleaner's view of this log, if its topic is compacted.
    pub fn dirty_stats(
        &self,
        first_dirty_offset: i64,
        now_ms: i64,
    ) -> Option<(DirtyStats, LogSettings)> {
        let inner = self.lock();
        let settings = inner.log.settings();
        settings.cleanup_compact.then(|| {
            (
                inner.log.dirty_stats(first_dirty_offset, now_ms),
                settings.clone(),
            )
        })
    }

    /// One log-cleaner pass (blocking IO; run it off the async workers). The lock is
    /// held only to plan and to swap segments in, so produce and fetch go on while
    /// segments are rewritten. Returns the pass's figures and the next first dirty
    /// offset, or `None` when nothing was dirty.
    pub fn clean(
        &self,
        first_dirty_offset: i64,
        now_ms: i64,
        map_capacity: usize,
    ) -> Result<Option<(CleanStats, i64)>, LogError> {
        let plan = {
            let inner = self.lock();
            let producer_last_offsets = inner.producers.last_batch_offsets();
            inner
                .log
                .clean_plan(first_dirty_offset, now_ms, producer_last_offsets)
        };
        let Some(plan) = plan else {
            return Ok(None);
        };
        let outcome = cleaner::clean(&plan, now_ms, map_capacity)?;
        let stats = outcome.stats;
        let next_dirty_offset = outcome.next_dirty_offset;
        let installed = self.lock().log.install_cleaned(outcome)?;
        if installed == 0 {
            // Retention or DeleteRecords moved under the pass: plan again next time.
            return Ok(Some((stats, first_dirty_offset)));
        }
        Ok(Some((stats, next_dirty_offset)))
    }

    pub fn size_bytes(&self) -> u64 {
        self.lock().log.size_bytes()
    }

    /// Deletes the partition's directory (topic deletion).
    pub fn delete(self) -> Result<(), LogError> {
        let inner = self
            .inner
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        inner.log.delete()
    }
}

/// A read's batches copied out of their segment file (after the partition lock).
fn into_memory(fetched: FetchedSlice) -> Result<FetchedData, PartitionError> {
    let records = match &fetched.records {
        None => Bytes::new(),
        Some(slice) => Bytes::from(slice.read_to_vec().map_err(LogError::from)?),
    };
    Ok(FetchedData {
        records,
        high_watermark: fetched.high_watermark,
        log_start_offset: fetched.log_start_offset,
    })
}

fn batch_error(error: BatchError) -> PartitionError {
    match error {
        BatchError::UnsupportedMagic(magic) => PartitionError::new(
            ResponseError::UnsupportedForMessageFormat,
            format!("record batch magic {magic}: only v2 batches are accepted"),
        ),
        other => PartitionError::new(ResponseError::CorruptMessage, other.to_string()),
    }
}

fn producer_batch_of(header: &BatchHeader) -> ProducerBatch {
    ProducerBatch {
        producer_id: header.producer_id,
        producer_epoch: header.producer_epoch,
        first_sequence: header.base_sequence,
        last_offset_delta: header.last_offset_delta,
    }
}

/// Replays the producer fields of every batch in the log.
fn rebuild_producer_states(log: &PartitionLog) -> Result<ProducerStates, LogError> {
    let mut states = ProducerStates::default();
    let mut offset = log.log_start_offset();
    // One bounded read at a time keeps memory flat however long the log is.
    const READ_BYTES: u64 = 1 << 20;
    while offset < log.log_end_offset() {
        let Some(slice) = log.read(offset, READ_BYTES)? else {
            break;
        };
        let bytes = slice.read_to_vec()?;
        let mut advanced = false;
        for item in batch::split_batches(&bytes) {
            let Ok((header, _)) = item else { break };
            if header.has_producer_id() {
                states.record(&producer_batch_of(&header), header.base_offset);
            }
            offset = header.last_offset() + 1;
            advanced = true;
        }
        if !advanced {
            break;
        }
    }
    Ok(states)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::log::batch::test_batch;

    const LIMITS: ProduceLimits = ProduceLimits {
        batch_bytes_max: 1_048_588,
        log_append_time: false,
        compacted: false,
    };

    fn idempotent_batch(sequence: i32, values: &[&[u8]]) -> Vec<u8> {
        let mut batch = test_batch(0, 10, values);
        batch[43..51].copy_from_slice(&42i64.to_be_bytes());
        batch[51..53].copy_from_slice(&0i16.to_be_bytes());
        batch[53..57].copy_from_slice(&sequence.to_be_bytes());
        let crc = crc32c::crc32c(&batch[21..]);
        batch[17..21].copy_from_slice(&crc.to_be_bytes());
        batch
    }

    /// Opens the partition as its only replica and leader (leader epoch 0).
    fn open(dir: &Path) -> Partition {
        let local = crate::kafka::metadata::BrokerId(1);
        let partition = Partition::open(
            dir,
            TopicPartition::new("t", 0),
            TopicId::ZERO,
            LogSettings::default(),
            OpenOffsets::default(),
            ReplicationConfig::new(local),
        )
        .unwrap()
        .0;
        let leader_epoch = partition.leader_epoch() + 1;
        partition
            .apply_leader_and_isr(
                0,
                &state::PartitionState {
                    leader: Some(local),
                    leader_epoch: leader_epoch.max(0),
                    isr: vec![local],
                    partition_epoch: 0,
                    replicas: vec![local],
                },
                1,
                None,
            )
            .unwrap();
        partition
    }

    #[test]
    fn produce_validates_and_deduplicates() {
        let dir = tempfile::tempdir().unwrap();
        let partition = open(dir.path());
        let first = idempotent_batch(0, &[b"a", b"b"]);
        assert_eq!(
            partition
                .append_from_client(&first, LIMITS, 0)
                .unwrap()
                .base_offset,
            0
        );
        assert_eq!(
            partition
                .append_from_client(&first, LIMITS, 0)
                .unwrap()
                .base_offset,
            0,
            "a retry is acknowledged"
        );
        assert_eq!(
            partition.offsets().log_end_offset,
            2,
            "and not appended twice"
        );
        let gap = idempotent_batch(5, &[b"c"]);
        assert_eq!(
            partition
                .append_from_client(&gap, LIMITS, 0)
                .unwrap_err()
                .error,
            ResponseError::OutOfOrderSequenceNumber
        );
        let next = idempotent_batch(2, &[b"c"]);
        assert_eq!(
            partition
                .append_from_client(&next, LIMITS, 0)
                .unwrap()
                .base_offset,
            2
        );

        let mut corrupt = test_batch(0, 1, &[b"x"]);
        let last = corrupt.len() - 1;
        corrupt[last] ^= 1;
        assert_eq!(
            partition
                .append_from_client(&corrupt, LIMITS, 0)
                .unwrap_err()
                .error,
            ResponseError::CorruptMessage
        );
        let small = ProduceLimits {
            batch_bytes_max: 10,
            ..LIMITS
        };
        assert_eq!(
            partition
                .append_from_client(&test_batch(0, 1, &[b"x"]), small, 0)
                .unwrap_err()
                .error,
            ResponseError::MessageTooLarge
        );
        assert_eq!(
            partition
                .append_from_client(&[1, 2, 3], LIMITS, 0)
                .unwrap_err()
                .error,
            ResponseError::CorruptMessage
        );
    }

    #[test]
    fn producer_state_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let partition = open(dir.path());
        partition
            .append_from_client(&idempotent_batch(0, &[b"a"]), LIMITS, 0)
            .unwrap();
        drop(partition);
        let partition = open(dir.path());
        assert_eq!(
            partition
                .append_from_client(&idempotent_batch(0, &[b"a"]), LIMITS, 0)
                .unwrap()
                .base_offset,
            0
        );
        assert_eq!(
            partition
                .append_from_client(&idempotent_batch(1, &[b"b"]), LIMITS, 0)
                .unwrap()
                .base_offset,
            1
        );
    }

    #[test]
    fn reads_stop_at_the_high_watermark_and_check_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let partition = open(dir.path());
        partition
            .append_from_client(&test_batch(0, 1, &[b"a", b"b"]), LIMITS, 0)
            .unwrap();
        let data = partition.read(0, 1 << 20, true).unwrap();
        assert_eq!(data.high_watermark, 2);
        assert_eq!(BatchHeader::parse(&data.records).unwrap().records_count, 2);
        assert!(partition.read(2, 100, true).unwrap().records.is_empty());
        assert_eq!(
            partition.read(3, 100, true).unwrap_err().error,
            ResponseError::OffsetOutOfRange
        );
        assert!(
            partition.read(0, 10, false).unwrap().records.is_empty(),
            "no partial batch without at_least_one"
        );
    }

    #[test]
    fn list_offsets_by_timestamp_finds_the_record_inside_a_compressed_batch() {
        use crate::kafka::log::batch::Compression;
        let dir = tempfile::tempdir().unwrap();
        let partition = open(dir.path());
        partition
            .append_from_client(&test_batch(0, 50, &[b"early"]), LIMITS, 0)
            .unwrap();
        let batch = records::keyed_test_batch(
            Compression::Gzip,
            100,
            &[
                (Some(b"a"), Some(b"1")),
                (Some(b"b"), Some(b"2")),
                (Some(b"c"), Some(b"3")),
            ],
        );
        partition.append_from_client(&batch, LIMITS, 0).unwrap();
        assert_eq!(partition.offset_for_timestamp(101).unwrap(), Some((2, 101)));
        assert_eq!(partition.offset_for_timestamp(100).unwrap(), Some((1, 100)));
        assert_eq!(partition.offset_for_timestamp(10).unwrap(), Some((0, 50)));
        assert_eq!(partition.offset_for_timestamp(103).unwrap(), None);
        assert_eq!(partition.max_timestamp().unwrap(), Some((3, 102)));
    }

    #[test]
    fn compacted_topics_refuse_records_without_keys() {
        use crate::kafka::log::batch::Compression;
        let dir = tempfile::tempdir().unwrap();
        let partition = open(dir.path());
        let compacted = ProduceLimits {
            compacted: true,
            ..LIMITS
        };
        let error = partition
            .append_from_client(&test_batch(0, 1, &[b"no key"]), compacted, 0)
            .unwrap_err();
        assert_eq!(error.error, ResponseError::InvalidRecord);
        let keyed = records::keyed_test_batch(Compression::Lz4, 1, &[(Some(b"k"), None)]);
        partition.append_from_client(&keyed, compacted, 0).unwrap();
    }
}
