//! One partition's log: its directory of segments, rolled, read, recovered and
//! trimmed as Kafka's UnifiedLog does.
//!
//! The log assigns offsets and keeps the leader-epoch history; what may be appended
//! (CRC, sizes, producer sequences) is decided before, by the produce path. Time is
//! an input (`now_ms`), never read from a clock here.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use super::batch::{self, BatchError};
use super::checkpoint;
use super::cleaner::{CleanOutcome, CleanPlan, CleanableSegment, DirtyStats};
use super::segment::{RecoveryReport, Segment, SegmentSlice};

const LEADER_EPOCH_CHECKPOINT: &str = "leader-epoch-checkpoint";

/// The per-topic log settings (Kafka's topic configs with broker defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct LogSettings {
    pub segment_bytes: u64,
    pub segment_ms: i64,
    pub index_interval_bytes: u64,
    /// -1 keeps data forever.
    pub retention_ms: i64,
    /// -1 means no size limit.
    pub retention_bytes: i64,
    pub flush_interval_messages: i64,
    /// `cleanup.policy` holds `delete`: retention by time and size applies.
    pub cleanup_delete: bool,
    /// `cleanup.policy` holds `compact`: the log cleaner keeps the latest per key.
    pub cleanup_compact: bool,
    pub min_cleanable_dirty_ratio: f64,
    pub min_compaction_lag_ms: i64,
    pub max_compaction_lag_ms: i64,
    /// How long tombstones survive compaction (`delete.retention.ms`).
    pub delete_retention_ms: i64,
}

impl Default for LogSettings {
    /// Kafka's defaults.
    fn default() -> LogSettings {
        LogSettings {
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 3600 * 1000,
            index_interval_bytes: 4096,
            retention_ms: 7 * 24 * 3600 * 1000,
            retention_bytes: -1,
            flush_interval_messages: i64::MAX,
            cleanup_delete: true,
            cleanup_compact: false,
            min_cleanable_dirty_ratio: 0.5,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
            delete_retention_ms: 24 * 3600 * 1000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("offset {offset} is out of range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start_offset: i64,
        log_end_offset: i64,
    },
    #[error("invalid record batch: {0}")]
    InvalidBatch(#[from] BatchError),
    #[error("storage error: {0}")]
    Io(#[from] io::Error),
}

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    pub base_offset: i64,
    pub last_offset: i64,
    pub records: i64,
}

#[derive(Debug)]
pub struct PartitionLog {
    dir: PathBuf,
    settings: LogSettings,
    /// Keyed by base offset; never empty: the last one is the active segment.
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    /// Every offset below this is fsynced.
    recovery_point: i64,
    /// (epoch, first offset of that epoch), increasing.
    leader_epochs: Vec<(i32, i64)>,
    unflushed_records: i64,
}

impl PartitionLog {
    /// Opens the log in `dir` (creating it), recovering every segment that holds data
    /// past `recovery_point`.
    pub fn open(
        dir: &Path,
        settings: LogSettings,
        recovery_point: i64,
        log_start_offset: i64,
    ) -> Result<(PartitionLog, RecoveryReport), LogError> {
        std::fs::create_dir_all(dir)?;
        let mut base_offsets = Vec::new();
        let mut swaps = Vec::new();
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        for name in &names {
            if let Some(stem) = name.strip_suffix(".log") {
                if let Ok(base_offset) = stem.parse::<i64>() {
                    base_offsets.push(base_offset);
                }
            } else if let Some(stem) = name.strip_suffix(".log.swap") {
                if let Ok(base_offset) = stem.parse::<i64>() {
                    swaps.push(base_offset);
                }
            } else if name.ends_with(".deleted") || name.ends_with(".cleaned") {
                // Leftovers of an interrupted delete or clean, as Kafka removes them.
                std::fs::remove_file(dir.join(name))?;
            }
        }
        for name in &names {
            // Index `.swap` files without their `.log.swap`: the swap never started.
            if let Some(stem) = name
                .strip_suffix(".index.swap")
                .or_else(|| name.strip_suffix(".timeindex.swap"))
            {
                if stem.parse::<i64>().is_ok_and(|base| !swaps.contains(&base)) {
                    std::fs::remove_file(dir.join(name))?;
                }
            }
        }
        swaps.sort_unstable();
        for swap_base in swaps {
            // A cleaner swap was interrupted after the cleaned segment was complete:
            // finish it. The cleaned segment covers its group's whole offset range,
            // so every live segment starting inside that range is one it replaces.
            let mut swapped =
                Segment::open_with_suffix(dir, swap_base, settings.index_interval_bytes, ".swap")?;
            swapped.recover()?;
            let end = swapped.next_offset();
            let mut kept = Vec::new();
            for base_offset in base_offsets {
                if base_offset >= swap_base && base_offset < end {
                    Segment::open(dir, base_offset, settings.index_interval_bytes)?.delete()?;
                } else {
                    kept.push(base_offset);
                }
            }
            swapped.rename_suffix("")?;
            kept.push(swap_base);
            base_offsets = kept;
        }
        base_offsets.sort_unstable();
        base_offsets.dedup();
        let mut segments = BTreeMap::new();
        let mut report = RecoveryReport::default();
        let mut truncated = false;
        for base_offset in base_offsets {
            let mut segment = Segment::open(dir, base_offset, settings.index_interval_bytes)?;
            if truncated {
                // Everything after a torn segment is unreachable: Kafka deletes it.
                segment.delete()?;
                continue;
            }
            if segment.next_offset() > recovery_point || segment.base_offset() >= recovery_point {
                let segment_report = segment.recover()?;
                report.valid_bytes += segment_report.valid_bytes;
                report.truncated_bytes += segment_report.truncated_bytes;
                report.batches += segment_report.batches;
                truncated = segment_report.truncated_bytes > 0;
            }
            segments.insert(base_offset, segment);
        }
        if segments.is_empty() {
            let base_offset = log_start_offset.max(0);
            segments.insert(
                base_offset,
                Segment::open(dir, base_offset, settings.index_interval_bytes)?,
            );
        }
        let mut log = PartitionLog {
            dir: dir.to_path_buf(),
            settings,
            segments,
            log_start_offset: 0,
            recovery_point: 0,
            leader_epochs: checkpoint::read_leader_epochs(&dir.join(LEADER_EPOCH_CHECKPOINT))
                .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error.to_string()))?,
            unflushed_records: 0,
        };
        let first_base = *log.segments.keys().next().expect("at least one segment");
        log.log_start_offset = log_start_offset.max(first_base).min(log.log_end_offset());
        log.recovery_point = recovery_point.min(log.log_end_offset());
        let log_end_offset = log.log_end_offset();
        let epochs_before = log.leader_epochs.len();
        log.leader_epochs
            .retain(|(_, start)| *start < log_end_offset);
        if log.leader_epochs.len() != epochs_before {
            log.write_leader_epochs()?;
        }
        Ok((log, report))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn settings(&self) -> &LogSettings {
        &self.settings
    }

    pub fn set_settings(&mut self, settings: LogSettings) {
        self.settings = settings;
    }

    /// One past the last offset written (Kafka's log end offset, LEO).
    pub fn log_end_offset(&self) -> i64 {
        self.active_segment().next_offset()
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    pub fn recovery_point(&self) -> i64 {
        self.recovery_point
    }

    pub fn size_bytes(&self) -> u64 {
        self.segments.values().map(Segment::size_bytes).sum()
    }

    /// ListOffsets v0, as Kafka's `legacyFetchOffsetsBefore`: the candidates are
    /// each segment's base offset (at least the log start) stamped with its file's
    /// last modification, plus the log end stamped `now_ms` when the active segment
    /// holds data. LATEST (-1) starts from the last candidate, EARLIEST (-2) from the
    /// first, a timestamp from the last candidate modified at or before it; up to
    /// `offsets_max` offsets are returned from there backwards, newest first.
    pub fn legacy_offsets_before(
        &self,
        timestamp_ms: i64,
        offsets_max: usize,
        now_ms: i64,
    ) -> Vec<i64> {
        let mut candidates: Vec<(i64, i64)> = self
            .segments
            .values()
            .map(|segment| {
                let modified_ms = segment
                    .log_file()
                    .metadata()
                    .and_then(|metadata| metadata.modified())
                    .ok()
                    .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |since| since.as_millis() as i64);
                (
                    segment.base_offset().max(self.log_start_offset),
                    modified_ms,
                )
            })
            .collect();
        if !self.active_segment().is_empty() {
            candidates.push((self.log_end_offset(), now_ms));
        }
        let start = match timestamp_ms {
            -1 => candidates.len().checked_sub(1),
            -2 => (!candidates.is_empty()).then_some(0),
            _ => candidates
                .iter()
                .rposition(|(_, modified_ms)| *modified_ms <= timestamp_ms),
        };
        let Some(start) = start else {
            return Vec::new();
        };
        let mut offsets: Vec<i64> = candidates[..=start]
            .iter()
            .rev()
            .take(offsets_max)
            .map(|(offset, _)| *offset)
            .collect();
        offsets.sort_unstable_by(|a, b| b.cmp(a));
        offsets
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    fn active_segment(&self) -> &Segment {
        self.segments
            .values()
            .next_back()
            .expect("a log always has a segment")
    }

    fn active_segment_mut(&mut self) -> &mut Segment {
        self.segments
            .values_mut()
            .next_back()
            .expect("a log always has a segment")
    }

    /// Assigns offsets to `batches` (one or more whole v2 batches, already validated)
    /// and appends them. `batches` is not changed: each batch's header is rewritten in
    /// a copy and written with the rest of the batch in one vectored write.
    pub fn append(
        &mut self,
        batches: &[u8],
        leader_epoch: i32,
        now_ms: i64,
        log_append_time: bool,
    ) -> Result<AppendResult, LogError> {
        let base_offset = self.log_end_offset();
        let mut next_offset = base_offset;
        let mut records = 0i64;
        let mut incoming_timestamp_ms = -1i64;
        let mut position = 0usize;
        let mut assigned = Vec::new();
        while position < batches.len() {
            let header = batch::BatchHeader::parse(&batches[position..])?;
            let end = position + header.total_bytes();
            if end > batches.len() {
                return Err(BatchError::Truncated {
                    needed: end,
                    available: batches.len(),
                }
                .into());
            }
            assigned.push(batch::AssignedBatch::new(
                &batches[position..end],
                next_offset,
                leader_epoch,
                log_append_time.then_some(now_ms),
            ));
            next_offset += header.last_offset_delta as i64 + 1;
            records += header.records_count as i64;
            incoming_timestamp_ms = incoming_timestamp_ms.max(if log_append_time {
                now_ms
            } else {
                header.max_timestamp
            });
            position = end;
        }
        if position == 0 {
            return Err(BatchError::Truncated {
                needed: batch::BATCH_HEADER_BYTES,
                available: 0,
            }
            .into());
        }
        self.maybe_roll(batches.len() as u64, incoming_timestamp_ms)?;
        self.active_segment_mut().append_assigned(&assigned)?;
        if self
            .leader_epochs
            .last()
            .is_none_or(|(epoch, _)| leader_epoch > *epoch)
            && leader_epoch >= 0
        {
            self.leader_epochs.push((leader_epoch, base_offset));
            self.write_leader_epochs()?;
        }
        self.unflushed_records += records;
        if self.unflushed_records >= self.settings.flush_interval_messages {
            self.flush()?;
        }
        Ok(AppendResult {
            base_offset,
            last_offset: next_offset - 1,
            records,
        })
    }

    /// Whether appending `incoming_bytes` now would do more than copy them into the
    /// page cache: roll a segment (flush the old one, create files), write the epoch
    /// checkpoint, or reach `flush.messages`. A hint for the caller's choice of
    /// thread, read without appending; the append decides again for itself.
    pub fn append_may_block(&self, incoming_bytes: u64, leader_epoch: i32, now_ms: i64) -> bool {
        let active = self.active_segment();
        let roll = !active.is_empty()
            && (active.size_bytes() + incoming_bytes > self.settings.segment_bytes
                || active
                    .first_batch_timestamp_ms()
                    .is_some_and(|first| now_ms.saturating_sub(first) > self.settings.segment_ms));
        let new_epoch = leader_epoch >= 0
            && self
                .leader_epochs
                .last()
                .is_none_or(|(epoch, _)| leader_epoch > *epoch);
        // Any append adds at least one record.
        let flush =
            self.unflushed_records.saturating_add(1) >= self.settings.flush_interval_messages;
        roll || new_epoch || flush
    }

    /// Whether reading from `offset` leaves the active segment, whose pages the last
    /// appends just wrote: older segments may have to come from the disk.
    pub fn read_may_block(&self, offset: i64) -> bool {
        offset < self.active_segment().base_offset()
    }

    fn maybe_roll(&mut self, incoming_bytes: u64, now_ms: i64) -> Result<(), LogError> {
        let active = self.active_segment();
        if active.is_empty() {
            return Ok(());
        }
        let full = active.size_bytes() + incoming_bytes > self.settings.segment_bytes;
        let old = active
            .first_batch_timestamp_ms()
            // Saturating: both timestamps come from clients' batches.
            .is_some_and(|first| now_ms.saturating_sub(first) > self.settings.segment_ms);
        if full || old {
            let base_offset = self.log_end_offset();
            // The finished segment is flushed as Kafka does on roll.
            self.active_segment().flush()?;
            let segment =
                Segment::open(&self.dir, base_offset, self.settings.index_interval_bytes)?;
            self.segments.insert(base_offset, segment);
        }
        Ok(())
    }

    /// A follower's append (`Log.appendAsFollower`): whole v2 batches that already
    /// carry the leader's offsets and epochs, the first at this log's end. Offsets must
    /// run on without a gap and every CRC must hold; nothing is rewritten. Returns where
    /// the batches landed and each new epoch's first offset, for the epoch cache.
    pub fn append_as_follower(
        &mut self,
        batches: &[u8],
    ) -> Result<(AppendResult, Vec<(i32, i64)>), LogError> {
        let base_offset = self.log_end_offset();
        let mut next_offset = base_offset;
        let mut records = 0i64;
        let mut max_timestamp_ms = -1i64;
        let mut epochs: Vec<(i32, i64)> = Vec::new();
        let mut latest_epoch = self.latest_epoch();
        let mut iter = batch::split_batches(batches);
        for item in iter.by_ref() {
            let (header, bytes) = item?;
            batch::verify_crc(bytes)?;
            if header.base_offset != next_offset {
                return Err(BatchError::Corrupt(
                    "a follower batch does not start at the log end offset",
                )
                .into());
            }
            let epoch = header.partition_leader_epoch;
            if epoch >= 0 && latest_epoch.is_none_or(|latest| epoch > latest) {
                epochs.push((epoch, header.base_offset));
                latest_epoch = Some(epoch);
            }
            next_offset = header.last_offset() + 1;
            records += header.records_count as i64;
            max_timestamp_ms = max_timestamp_ms.max(header.max_timestamp);
        }
        if iter.position() != batches.len() || next_offset == base_offset {
            return Err(BatchError::Truncated {
                needed: batches.len().max(batch::BATCH_HEADER_BYTES),
                available: iter.position(),
            }
            .into());
        }
        self.maybe_roll(batches.len() as u64, max_timestamp_ms)?;
        self.active_segment_mut().append(batches)?;
        if !epochs.is_empty() {
            self.leader_epochs.extend(epochs.iter().copied());
            self.write_leader_epochs()?;
        }
        self.unflushed_records += records;
        if self.unflushed_records >= self.settings.flush_interval_messages {
            self.flush()?;
        }
        Ok((
            AppendResult {
                base_offset,
                last_offset: next_offset - 1,
                records,
            },
            epochs,
        ))
    }

    /// Removes every batch at or after `offset` (`Log.truncateTo`): segments wholly
    /// past it go, the one holding it is cut at the first batch reaching it. A batch
    /// that straddles `offset` goes whole, as Kafka truncates by batch. No-op at or past
    /// the log end. Below the log start offset the log is emptied and restarted there.
    pub fn truncate_to(&mut self, offset: i64) -> Result<(), LogError> {
        if offset >= self.log_end_offset() {
            return Ok(());
        }
        if offset < self.log_start_offset {
            return self.truncate_fully_and_start_at(offset.max(0));
        }
        let doomed: Vec<i64> = self
            .segments
            .range(offset..)
            .map(|(base, _)| *base)
            .filter(|base| *base > *self.segments.keys().next().expect("a segment"))
            .collect();
        for base in doomed {
            self.segments.remove(&base).expect("listed").delete()?;
        }
        self.active_segment_mut().truncate_to(offset)?;
        let log_end_offset = self.log_end_offset();
        self.recovery_point = self.recovery_point.min(log_end_offset);
        let epochs_before = self.leader_epochs.len();
        self.leader_epochs
            .retain(|(_, start)| *start < log_end_offset);
        if self.leader_epochs.len() != epochs_before {
            self.write_leader_epochs()?;
        }
        Ok(())
    }

    /// Empties the log and starts it again at `offset` (`Log.truncateFullyAndStartAt`):
    /// a follower whose log ends below the leader's log start offset.
    pub fn truncate_fully_and_start_at(&mut self, offset: i64) -> Result<(), LogError> {
        let offset = offset.max(0);
        for (_, segment) in std::mem::take(&mut self.segments) {
            segment.delete()?;
        }
        self.segments.insert(
            offset,
            Segment::open(&self.dir, offset, self.settings.index_interval_bytes)?,
        );
        self.log_start_offset = offset;
        self.recovery_point = offset;
        self.unflushed_records = 0;
        self.leader_epochs.clear();
        self.write_leader_epochs()?;
        Ok(())
    }

    /// The leader epoch history, oldest first.
    pub fn leader_epochs(&self) -> &[(i32, i64)] {
        &self.leader_epochs
    }

    /// Replaces the leader epoch history (the replication core's epoch cache is the
    /// authority: it also records an epoch assigned at the log end before any batch
    /// carries it) and rewrites `leader-epoch-checkpoint`.
    pub fn set_leader_epochs(&mut self, epochs: &[(i32, i64)]) -> Result<(), LogError> {
        if self.leader_epochs == epochs {
            return Ok(());
        }
        self.leader_epochs = epochs.to_vec();
        self.write_leader_epochs()
    }

    /// Whole batches from the one holding `offset`, up to `max_bytes` (at least one
    /// batch). `None` at the log end.
    pub fn read(&self, offset: i64, max_bytes: u64) -> Result<Option<SegmentSlice>, LogError> {
        self.read_below(offset, max_bytes, i64::MAX)
    }

    /// As `read`, stopping before the first batch at or after `offset_limit`.
    pub fn read_below(
        &self,
        offset: i64,
        max_bytes: u64,
        offset_limit: i64,
    ) -> Result<Option<SegmentSlice>, LogError> {
        let log_end_offset = self.log_end_offset();
        if offset < self.log_start_offset || offset > log_end_offset {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset,
            });
        }
        let first = self
            .segments
            .range(..=offset)
            .next_back()
            .map_or(self.log_start_offset, |(base, _)| *base);
        for (_, segment) in self.segments.range(first..) {
            if let Some(slice) = segment.read_below(offset, max_bytes, offset_limit)? {
                return Ok(Some(slice));
            }
        }
        Ok(None)
    }

    /// The first offset whose batch's max timestamp is at or after `timestamp_ms`.
    pub fn offset_for_timestamp(&self, timestamp_ms: i64) -> Result<Option<i64>, LogError> {
        for segment in self.segments.values() {
            if let Some(offset) = segment.offset_for_timestamp(timestamp_ms)? {
                return Ok(Some(offset.max(self.log_start_offset)));
            }
        }
        Ok(None)
    }

    /// The offset and timestamp of the record with the largest timestamp.
    pub fn max_timestamp_ms(&self) -> i64 {
        self.segments
            .values()
            .map(Segment::max_timestamp_ms)
            .max()
            .unwrap_or(-1)
    }

    /// fsyncs every segment holding unflushed data and moves the recovery point.
    pub fn flush(&mut self) -> Result<(), LogError> {
        let recovery_point = self.recovery_point;
        for segment in self.segments.values() {
            if segment.next_offset() > recovery_point {
                segment.flush()?;
            }
        }
        self.recovery_point = self.log_end_offset();
        self.unflushed_records = 0;
        Ok(())
    }

    /// Deletes whole segments past retention (time, then size); never the active
    /// segment. Returns how many were deleted.
    pub fn apply_retention(&mut self, now_ms: i64) -> Result<usize, LogError> {
        if !self.settings.cleanup_delete {
            return Ok(0);
        }
        let mut deleted = 0;
        let mut size = self.size_bytes() as i64;
        while self.segments.len() > 1 {
            let (&base_offset, oldest) =
                self.segments.iter().next().expect("more than one segment");
            let expired = self.settings.retention_ms >= 0
                && now_ms - oldest.max_timestamp_ms() > self.settings.retention_ms;
            let oversized = self.settings.retention_bytes >= 0
                && size - oldest.size_bytes() as i64 >= self.settings.retention_bytes;
            if !expired && !oversized {
                break;
            }
            size -= oldest.size_bytes() as i64;
            let segment = self.segments.remove(&base_offset).expect("present");
            segment.delete()?;
            deleted += 1;
        }
        let first_base = *self.segments.keys().next().expect("a segment remains");
        self.log_start_offset = self.log_start_offset.max(first_base);
        Ok(deleted)
    }

    /// Moves the log start offset forward (DeleteRecords) and drops segments wholly
    /// below it.
    pub fn delete_records_before(&mut self, offset: i64) -> Result<i64, LogError> {
        let log_end_offset = self.log_end_offset();
        if offset > log_end_offset || offset < 0 {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset,
            });
        }
        self.log_start_offset = self.log_start_offset.max(offset);
        while self.segments.len() > 1 {
            let (&base_offset, oldest) =
                self.segments.iter().next().expect("more than one segment");
            if oldest.next_offset() > self.log_start_offset {
                break;
            }
            self.segments
                .remove(&base_offset)
                .expect("present")
                .delete()?;
        }
        Ok(self.log_start_offset)
    }

    /// For OffsetForLeaderEpoch: the largest epoch at or below `epoch` and the offset
    /// where it ended (the next epoch's start, or the log end).
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        let at = self
            .leader_epochs
            .partition_point(|(known, _)| *known <= epoch);
        if at == 0 {
            return None;
        }
        let (found_epoch, _) = self.leader_epochs[at - 1];
        let end = self
            .leader_epochs
            .get(at)
            .map_or(self.log_end_offset(), |(_, start)| *start);
        Some((found_epoch, end))
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.leader_epochs.last().map(|(epoch, _)| *epoch)
    }

    fn write_leader_epochs(&self) -> Result<(), LogError> {
        checkpoint::write_leader_epochs(
            &self.dir.join(LEADER_EPOCH_CHECKPOINT),
            &self.leader_epochs,
        )
        .map_err(|error| LogError::Io(io::Error::other(error.to_string())))
    }

    /// Kafka's cleanable range from `first_dirty_offset` (the cleaner checkpoint):
    /// up to the active segment, or to the first segment younger than
    /// `min.compaction.lag.ms`.
    pub fn dirty_stats(&self, first_dirty_offset: i64, now_ms: i64) -> DirtyStats {
        let log_end_offset = self.log_end_offset();
        let first_dirty_offset =
            if first_dirty_offset < self.log_start_offset || first_dirty_offset > log_end_offset {
                self.log_start_offset
            } else {
                first_dirty_offset
            };
        let active_base = self.active_segment().base_offset();
        let mut stats = DirtyStats {
            first_dirty_offset,
            first_uncleanable_offset: active_base,
            clean_bytes: 0,
            dirty_bytes: 0,
            dirty_first_timestamp_ms: None,
        };
        for segment in self.segments.values() {
            if segment.base_offset() >= active_base {
                break;
            }
            if segment.next_offset() <= first_dirty_offset {
                stats.clean_bytes += segment.size_bytes();
                continue;
            }
            let lag_ms = self.settings.min_compaction_lag_ms;
            if lag_ms > 0 && segment.max_timestamp_ms() > now_ms.saturating_sub(lag_ms) {
                stats.first_uncleanable_offset = segment.base_offset();
                break;
            }
            stats.dirty_bytes += segment.size_bytes();
            if stats.dirty_first_timestamp_ms.is_none() {
                stats.dirty_first_timestamp_ms = segment.first_batch_timestamp_ms();
            }
        }
        stats
    }

    /// Step 1 of a cleaner pass (see `cleaner`): the segments to clean, or `None`
    /// when nothing is dirty.
    pub fn clean_plan(
        &self,
        first_dirty_offset: i64,
        now_ms: i64,
        producer_last_offsets: std::collections::HashMap<i64, i64>,
    ) -> Option<CleanPlan> {
        let stats = self.dirty_stats(first_dirty_offset, now_ms);
        if stats.dirty_bytes == 0 {
            return None;
        }
        let segments = self
            .segments
            .values()
            .take_while(|segment| segment.base_offset() < stats.first_uncleanable_offset)
            .map(|segment| CleanableSegment {
                base_offset: segment.base_offset(),
                next_offset: segment.next_offset(),
                size_bytes: segment.size_bytes(),
                file: segment.log_file(),
            })
            .collect();
        Some(CleanPlan {
            dir: self.dir.clone(),
            segment_bytes: self.settings.segment_bytes,
            index_interval_bytes: self.settings.index_interval_bytes,
            delete_retention_ms: self.settings.delete_retention_ms,
            segments,
            first_dirty_offset: stats.first_dirty_offset,
            producer_last_offsets,
        })
    }

    /// Step 3 of a cleaner pass: swaps each cleaned group in for the segments it
    /// replaces, unless one of those changed since the plan (retention, DeleteRecords
    /// or a truncation removed it); such groups are discarded. Returns how many
    /// groups were installed.
    pub fn install_cleaned(&mut self, outcome: CleanOutcome) -> Result<usize, LogError> {
        let active_base = self.active_segment().base_offset();
        let mut installed = 0;
        for group in outcome.groups {
            let intact = group.replaced.iter().all(|(base_offset, size_bytes)| {
                *base_offset != active_base
                    && self
                        .segments
                        .get(base_offset)
                        .is_some_and(|segment| segment.size_bytes() == *size_bytes)
            });
            let mut cleaned = group.cleaned;
            if !intact {
                cleaned.delete()?;
                continue;
            }
            // `.cleaned` -> `.swap`, old segments deleted, `.swap` -> live: a crash
            // anywhere in between is finished or undone by `open`.
            cleaned.rename_suffix(".swap")?;
            for (base_offset, _) in &group.replaced {
                self.segments
                    .remove(base_offset)
                    .expect("checked above")
                    .delete()?;
            }
            cleaned.rename_suffix("")?;
            self.segments.insert(cleaned.base_offset(), cleaned);
            installed += 1;
        }
        if installed > 0 {
            File::open(&self.dir)?.sync_all()?;
        }
        Ok(installed)
    }

    /// Deletes the whole log directory (topic deletion).
    pub fn delete(self) -> Result<(), LogError> {
        std::fs::remove_dir_all(&self.dir)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::log::batch::test_batch;

    fn settings(segment_bytes: u64) -> LogSettings {
        LogSettings {
            segment_bytes,
            index_interval_bytes: 128,
            ..LogSettings::default()
        }
    }

    fn append_values(log: &mut PartitionLog, count: usize, now_ms: i64) -> AppendResult {
        let values: Vec<Vec<u8>> = (0..count)
            .map(|index| format!("record-{index}").into_bytes())
            .collect();
        let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        let batch = test_batch(0, now_ms, &refs);
        log.append(&batch, 0, now_ms, false).unwrap()
    }

    #[test]
    fn extreme_client_timestamps_do_not_overflow_the_roll_check() {
        // Found by fuzz/kafka_record_batch: segment.ms compares two timestamps
        // taken from clients' batches.
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = PartitionLog::open(dir.path(), settings(1 << 20), 0, 0).unwrap();
        append_values(&mut log, 1, -1);
        append_values(&mut log, 1, i64::MAX);
        append_values(&mut log, 1, i64::MIN);
        assert_eq!(log.log_end_offset(), 3);
        assert_eq!(
            log.segment_count(),
            2,
            "the i64::MAX batch is past segment.ms"
        );
    }

    #[test]
    fn offsets_continue_across_appends_rolls_and_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = PartitionLog::open(dir.path(), settings(1024), 0, 0).unwrap();
        for round in 0..50 {
            let result = append_values(&mut log, 3, 1000 + round);
            assert_eq!(result.base_offset, round * 3);
            assert_eq!(result.last_offset, round * 3 + 2);
        }
        assert!(log.segment_count() > 3, "segment.bytes rolls segments");
        assert_eq!(log.log_end_offset(), 150);
        let slice = log.read(77, 1).unwrap().unwrap();
        let header = batch::BatchHeader::parse(&slice.read_to_vec().unwrap()).unwrap();
        assert_eq!(header.base_offset, 75);
        log.flush().unwrap();
        drop(log);

        let (log, report) = PartitionLog::open(dir.path(), settings(1024), 150, 0).unwrap();
        assert_eq!(report.truncated_bytes, 0);
        assert_eq!(log.log_end_offset(), 150);
        assert_eq!(log.end_offset_for_epoch(0), Some((0, 150)));
        assert!(matches!(
            log.read(151, 100),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        assert!(log.read(150, 100).unwrap().is_none());
    }

    #[test]
    fn unflushed_tail_is_recovered_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = PartitionLog::open(dir.path(), settings(1 << 20), 0, 0).unwrap();
        for round in 0..10 {
            append_values(&mut log, 2, round);
        }
        let segment_path = dir.path().join("00000000000000000000.log");
        drop(log);
        // A torn last write.
        let length = std::fs::metadata(&segment_path).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&segment_path)
            .unwrap()
            .set_len(length - 5)
            .unwrap();
        let (log, report) = PartitionLog::open(dir.path(), settings(1 << 20), 0, 0).unwrap();
        assert!(report.truncated_bytes > 0);
        assert_eq!(log.log_end_offset(), 18);
    }

    #[test]
    fn retention_by_size_and_time_keeps_the_active_segment() {
        let dir = tempfile::tempdir().unwrap();
        let mut log_settings = settings(512);
        log_settings.retention_bytes = 1024;
        let (mut log, _) = PartitionLog::open(dir.path(), log_settings, 0, 0).unwrap();
        for round in 0..40 {
            append_values(&mut log, 2, round);
        }
        let deleted = log.apply_retention(100).unwrap();
        assert!(deleted > 0);
        assert!(log.size_bytes() <= 1024 + 512);
        assert!(log.log_start_offset() > 0);
        assert!(matches!(
            log.read(0, 10),
            Err(LogError::OffsetOutOfRange { .. })
        ));

        let mut time_settings = log.settings().clone();
        time_settings.retention_bytes = -1;
        time_settings.retention_ms = 10;
        log.set_settings(time_settings);
        log.apply_retention(1_000_000).unwrap();
        assert_eq!(log.segment_count(), 1);
        assert_eq!(log.log_end_offset(), 80);
    }

    #[test]
    fn delete_records_moves_the_start_offset() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = PartitionLog::open(dir.path(), settings(256), 0, 0).unwrap();
        for round in 0..20 {
            append_values(&mut log, 2, round);
        }
        assert_eq!(log.delete_records_before(21).unwrap(), 21);
        assert!(log.read(20, 10).is_err());
        assert!(log.read(21, 10).unwrap().is_some());
        drop(log);
        let (log, _) = PartitionLog::open(dir.path(), settings(256), 40, 21).unwrap();
        assert_eq!(log.log_start_offset(), 21);
    }

    #[test]
    fn a_follower_copies_the_leaders_batches_and_truncates_by_batch() {
        let leader_dir = tempfile::tempdir().unwrap();
        let follower_dir = tempfile::tempdir().unwrap();
        let (mut leader, _) = PartitionLog::open(leader_dir.path(), settings(300), 0, 0).unwrap();
        leader
            .append(&test_batch(0, 1, &[b"a"]), 0, 1, false)
            .unwrap();
        leader
            .append(&test_batch(0, 2, &[b"b", b"c"]), 3, 2, false)
            .unwrap();
        leader
            .append(&test_batch(0, 3, &[b"d"]), 3, 3, false)
            .unwrap();
        let slice = leader.read(0, u64::MAX).unwrap().unwrap();
        let mut all = Vec::new();
        for segment in leader.segments.values() {
            if let Some(slice) = segment.read(segment.base_offset(), u64::MAX).unwrap() {
                all.extend(slice.read_to_vec().unwrap());
            }
        }
        assert!(slice.length > 0);

        let (mut follower, _) =
            PartitionLog::open(follower_dir.path(), settings(300), 0, 0).unwrap();
        // Batches must start at the follower's log end.
        let (_, late) = batch::split_batches(&all).nth(1).unwrap().unwrap();
        assert!(follower.append_as_follower(late).is_err());
        let (appended, epochs) = follower.append_as_follower(&all).unwrap();
        assert_eq!((appended.base_offset, appended.last_offset), (0, 3));
        assert_eq!(epochs, vec![(0, 0), (3, 1)]);
        assert_eq!(follower.leader_epochs(), leader.leader_epochs());
        assert_eq!(follower.log_end_offset(), 4);
        // Offsets and epochs are kept: the follower's bytes are the leader's.
        let mut copied = Vec::new();
        for segment in follower.segments.values() {
            if let Some(slice) = segment.read(segment.base_offset(), u64::MAX).unwrap() {
                copied.extend(slice.read_to_vec().unwrap());
            }
        }
        assert_eq!(copied, all);

        // Truncation goes by whole batches: offset 2 is inside the batch [1, 2].
        follower.truncate_to(2).unwrap();
        assert_eq!(follower.log_end_offset(), 1);
        assert_eq!(follower.leader_epochs(), &[(0, 0)]);
        // Truncation past the end changes nothing; below the start empties the log.
        follower.truncate_to(10).unwrap();
        assert_eq!(follower.log_end_offset(), 1);
        follower.truncate_fully_and_start_at(7).unwrap();
        assert_eq!(
            (follower.log_start_offset(), follower.log_end_offset()),
            (7, 7)
        );
        assert!(follower.leader_epochs().is_empty());
        // Reopened, the follower's log is what it was left as.
        drop(follower);
        let (reopened, _) = PartitionLog::open(follower_dir.path(), settings(300), 7, 7).unwrap();
        assert_eq!(reopened.log_end_offset(), 7);
    }

    #[test]
    fn leader_epochs_are_checkpointed() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = PartitionLog::open(dir.path(), settings(1 << 20), 0, 0).unwrap();
        let batch = test_batch(0, 1, &[b"a"]);
        log.append(&batch, 0, 1, false).unwrap();
        let batch = test_batch(0, 1, &[b"b", b"c"]);
        log.append(&batch, 3, 1, false).unwrap();
        assert_eq!(log.end_offset_for_epoch(0), Some((0, 1)));
        assert_eq!(log.end_offset_for_epoch(2), Some((0, 1)));
        assert_eq!(log.end_offset_for_epoch(5), Some((3, 3)));
        assert_eq!(
            std::fs::read_to_string(dir.path().join(LEADER_EPOCH_CHECKPOINT)).unwrap(),
            "0\n2\n0 0\n3 1\n"
        );
    }
}
