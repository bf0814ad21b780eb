//! Log compaction (`cleanup.policy=compact`), as Kafka's LogCleaner does it: keep
//! the latest record of every key, drop tombstones once their delete horizon has
//! passed, and never touch the active segment.
//!
//! A pass has three steps so the partition keeps serving while it runs:
//! 1. `PartitionLog::clean_plan`, under the partition lock: which segments are
//!    cleanable, with their open files.
//! 2. `clean`, without the lock (segments below the active one never change): build
//!    the key → latest offset map from the dirty segments, then rewrite every
//!    cleanable segment, grouped up to `segment.bytes`, into `<base>.log.cleaned`.
//! 3. `PartitionLog::install_cleaned`, under the lock: swap the new segments in
//!    (`.cleaned` → `.swap`, delete the old ones, `.swap` → live), unless retention
//!    or DeleteRecords removed a replaced segment meanwhile.
//!
//! Offsets never move: a rebuilt batch keeps its base offset and offset range, and
//! the last batch of every group is kept (empty if need be) so a cleaned segment
//! ends exactly where its group did; recovery of an interrupted swap relies on it.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use super::batch::{BatchHeader, BATCH_HEADER_BYTES};
use super::records::{self, Record};
use super::segment::Segment;

/// Kafka's `log.cleaner.dedupe.buffer.size` default.
pub const DEDUPE_BUFFER_BYTES_DEFAULT: u64 = 128 << 20;
/// Bytes Kafka's offset map spends per key (a 16-byte hash and an 8-byte offset);
/// keel's map is sized to hold as many keys as Kafka's would in the same buffer.
const MAP_ENTRY_BYTES: u64 = 24;
/// Kafka fills its map to this load factor.
const MAP_LOAD_FACTOR: f64 = 0.9;

/// How many keys a pass may map with `dedupe_buffer_bytes`.
pub fn map_capacity(dedupe_buffer_bytes: u64) -> usize {
    ((dedupe_buffer_bytes / MAP_ENTRY_BYTES) as f64 * MAP_LOAD_FACTOR).max(1.0) as usize
}

/// One segment below the first uncleanable offset, as the plan saw it.
#[derive(Debug, Clone)]
pub struct CleanableSegment {
    pub base_offset: i64,
    pub next_offset: i64,
    pub size_bytes: u64,
    pub file: Arc<File>,
}

/// What a pass will clean, taken under the partition lock.
#[derive(Debug, Clone)]
pub struct CleanPlan {
    pub dir: PathBuf,
    pub segment_bytes: u64,
    pub index_interval_bytes: u64,
    pub delete_retention_ms: i64,
    /// From the log start up to the first uncleanable offset.
    pub segments: Vec<CleanableSegment>,
    /// Where the dirty (not yet cleaned) part starts.
    pub first_dirty_offset: i64,
    /// Producer id → last offset of its last batch: those batches are kept (empty
    /// if need be) so producer state survives compaction, as in Kafka.
    pub producer_last_offsets: HashMap<i64, i64>,
}

/// The sizes a cleaner compares to pick a log: Kafka's dirty ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DirtyStats {
    pub first_dirty_offset: i64,
    pub first_uncleanable_offset: i64,
    pub clean_bytes: u64,
    pub dirty_bytes: u64,
    /// The oldest timestamp in the dirty part (for `max.compaction.lag.ms`).
    pub dirty_first_timestamp_ms: Option<i64>,
}

impl DirtyStats {
    pub fn dirty_ratio(&self) -> f64 {
        let total = self.clean_bytes + self.dirty_bytes;
        if total == 0 {
            0.0
        } else {
            self.dirty_bytes as f64 / total as f64
        }
    }
}

/// A rewritten group of segments, not yet swapped in.
#[derive(Debug)]
pub struct CleanedGroup {
    /// Base offset and size of every segment it replaces.
    pub replaced: Vec<(i64, u64)>,
    /// The new segment, files suffixed `.cleaned`.
    pub cleaned: Segment,
}

#[derive(Debug, Default)]
pub struct CleanOutcome {
    pub groups: Vec<CleanedGroup>,
    /// The next pass's first dirty offset: the end of what the map covered.
    pub next_dirty_offset: i64,
    pub stats: CleanStats,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CleanStats {
    /// Bytes of the segments rewritten (the map-building read is not counted).
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_read: u64,
    pub records_kept: u64,
    pub keys_mapped: u64,
    pub tombstones_dropped: u64,
    /// Batches kept as they were because their records could not be read (a warn
    /// names them) or they belong to transactions, which keel does not clean.
    pub batches_kept_unread: u64,
}

/// A 128-bit digest of a key: the offset map stores digests, not keys, as Kafka's
/// does (MD5 there); two 64-bit SipHashes over differently salted input.
fn key_digest(key: &[u8]) -> u128 {
    let mut low = DefaultHasher::new();
    0u8.hash(&mut low);
    key.hash(&mut low);
    let mut high = DefaultHasher::new();
    1u8.hash(&mut high);
    key.hash(&mut high);
    ((high.finish() as u128) << 64) | low.finish() as u128
}

/// Reads a segment file batch by batch.
struct BatchReader<'a> {
    file: &'a File,
    size_bytes: u64,
    position: u64,
    buffer: Vec<u8>,
}

impl<'a> BatchReader<'a> {
    fn new(segment: &'a CleanableSegment) -> BatchReader<'a> {
        BatchReader {
            file: &segment.file,
            size_bytes: segment.size_bytes,
            position: 0,
            buffer: Vec::new(),
        }
    }

    /// The next whole batch, or `None` at the end (or at bytes that are not a batch:
    /// recovery already truncated torn tails, so that does not happen below the
    /// active segment).
    fn next_batch(&mut self) -> io::Result<Option<(BatchHeader, &[u8])>> {
        if self.position + BATCH_HEADER_BYTES as u64 > self.size_bytes {
            return Ok(None);
        }
        let mut header_bytes = [0u8; BATCH_HEADER_BYTES];
        self.file.read_exact_at(&mut header_bytes, self.position)?;
        let Ok(header) = BatchHeader::parse(&header_bytes) else {
            return Ok(None);
        };
        let total = header.total_bytes() as u64;
        if self.position + total > self.size_bytes {
            return Ok(None);
        }
        self.buffer.resize(total as usize, 0);
        self.file.read_exact_at(&mut self.buffer, self.position)?;
        self.position += total;
        Ok(Some((header, &self.buffer)))
    }
}

/// Runs the IO of a pass (step 2). `now_ms` decides tombstone horizons.
pub fn clean(plan: &CleanPlan, now_ms: i64, map_capacity: usize) -> io::Result<CleanOutcome> {
    let mut outcome = CleanOutcome::default();
    let (map, map_end) = build_offset_map(plan, map_capacity)?;
    outcome.stats.keys_mapped = map.len() as u64;
    outcome.next_dirty_offset = map_end;
    let cleanable: Vec<&CleanableSegment> = plan
        .segments
        .iter()
        .filter(|segment| segment.next_offset <= map_end)
        .collect();
    for group in group_by_size(&cleanable, plan.segment_bytes) {
        let cleaned = clean_group(plan, &group, &map, now_ms, &mut outcome.stats)?;
        outcome.groups.push(CleanedGroup {
            replaced: group
                .iter()
                .map(|segment| (segment.base_offset, segment.size_bytes))
                .collect(),
            cleaned,
        });
    }
    Ok(outcome)
}

/// Maps every key in the dirty segments to its latest offset, whole segments at a
/// time until the map is full. Returns the map and the offset it covers up to.
fn build_offset_map(plan: &CleanPlan, capacity: usize) -> io::Result<(HashMap<u128, i64>, i64)> {
    let mut map: HashMap<u128, i64> = HashMap::new();
    let mut map_end = plan.first_dirty_offset;
    for segment in &plan.segments {
        if segment.next_offset <= plan.first_dirty_offset {
            continue;
        }
        // Whole segments only; the first dirty one is always mapped so a pass
        // makes progress even when one segment holds more keys than the map.
        if map.len() >= capacity && map_end > plan.first_dirty_offset {
            break;
        }
        let mut reader = BatchReader::new(segment);
        while let Some((header, bytes)) = reader.next_batch()? {
            if header.is_control() || header.is_transactional() {
                continue;
            }
            let Ok(section) = records::records_section(&header, bytes) else {
                continue;
            };
            let Ok(decoded) = records::decode(&header, &section) else {
                continue;
            };
            for record in decoded {
                if let Some(key) = record.key {
                    map.insert(key_digest(key), record.offset);
                }
            }
        }
        map_end = segment.next_offset;
    }
    Ok((map, map_end))
}

/// Consecutive segments whose sizes sum to at most `segment_bytes` (at least one
/// per group) and whose offsets fit a segment's 32-bit relative offsets.
fn group_by_size<'a>(
    segments: &[&'a CleanableSegment],
    segment_bytes: u64,
) -> Vec<Vec<&'a CleanableSegment>> {
    let mut groups: Vec<Vec<&CleanableSegment>> = Vec::new();
    let mut size = 0u64;
    for segment in segments {
        let fits = groups.last().is_some_and(|group| {
            size + segment.size_bytes <= segment_bytes
                && segment.next_offset - group[0].base_offset < i32::MAX as i64
        });
        if fits {
            groups.last_mut().expect("a group").push(segment);
            size += segment.size_bytes;
        } else {
            groups.push(vec![segment]);
            size = segment.size_bytes;
        }
    }
    groups
}

fn clean_group(
    plan: &CleanPlan,
    group: &[&CleanableSegment],
    map: &HashMap<u128, i64>,
    now_ms: i64,
    stats: &mut CleanStats,
) -> io::Result<Segment> {
    let base_offset = group[0].base_offset;
    // Leftovers of an interrupted pass.
    let mut stale = Segment::open_with_suffix(
        &plan.dir,
        base_offset,
        plan.index_interval_bytes,
        ".cleaned",
    )?;
    if !stale.is_empty() {
        stale.delete()?;
        stale = Segment::open_with_suffix(
            &plan.dir,
            base_offset,
            plan.index_interval_bytes,
            ".cleaned",
        )?;
    }
    let mut cleaned = stale;
    let group_end = group.last().expect("a group is never empty").next_offset;
    for segment in group {
        let mut reader = BatchReader::new(segment);
        while let Some((header, bytes)) = reader.next_batch()? {
            stats.bytes_read += bytes.len() as u64;
            let last_of_group = header.last_offset() + 1 == group_end;
            let kept = filter_batch(plan, &header, bytes, map, now_ms, last_of_group, stats);
            match kept {
                Kept::Whole => {
                    cleaned.append(bytes)?;
                    stats.bytes_written += bytes.len() as u64;
                }
                Kept::Rebuilt(rebuilt) => {
                    cleaned.append(&rebuilt)?;
                    stats.bytes_written += rebuilt.len() as u64;
                }
                Kept::Nothing => {}
            }
        }
    }
    cleaned.flush()?;
    Ok(cleaned)
}

enum Kept {
    Whole,
    Rebuilt(Vec<u8>),
    Nothing,
}

fn filter_batch(
    plan: &CleanPlan,
    header: &BatchHeader,
    bytes: &[u8],
    map: &HashMap<u128, i64>,
    now_ms: i64,
    last_of_group: bool,
    stats: &mut CleanStats,
) -> Kept {
    if header.is_control() || header.is_transactional() {
        // keel keeps no transaction index, so it cannot tell aborted data from
        // committed: such batches (only in logs Apache wrote) are kept as they are.
        stats.batches_kept_unread += 1;
        return Kept::Whole;
    }
    let section = match records::records_section(header, bytes) {
        Ok(section) => section,
        Err(error) => return keep_unread(plan, header, &error, stats),
    };
    let all = match records::decode(header, &section) {
        Ok(all) => all,
        Err(error) => return keep_unread(plan, header, &error, stats),
    };
    stats.records_read += all.len() as u64;
    let horizon = records::delete_horizon_ms(header);
    let mut kept: Vec<Record> = Vec::with_capacity(all.len());
    for record in &all {
        let Some(key) = record.key else {
            // Kafka's cleaner drops records without a key from compacted logs.
            continue;
        };
        let latest = map
            .get(&key_digest(key))
            .is_none_or(|latest| record.offset >= *latest);
        if !latest {
            continue;
        }
        if record.is_tombstone() && horizon.is_some_and(|horizon| now_ms >= horizon) {
            stats.tombstones_dropped += 1;
            continue;
        }
        kept.push(*record);
    }
    stats.records_kept += kept.len() as u64;
    // KIP-534: the first pass that keeps a tombstone starts its delete horizon.
    let new_horizon = (horizon.is_none() && kept.iter().any(Record::is_tombstone))
        .then(|| now_ms.saturating_add(plan.delete_retention_ms));
    if kept.len() == all.len() && new_horizon.is_none() {
        return Kept::Whole;
    }
    let producer_last = header.has_producer_id()
        && plan.producer_last_offsets.get(&header.producer_id) == Some(&header.last_offset());
    if kept.is_empty() && !last_of_group && !producer_last {
        return Kept::Nothing;
    }
    match records::rebuild(header, &kept, new_horizon.or(horizon)) {
        Ok(rebuilt) => Kept::Rebuilt(rebuilt),
        Err(error) => keep_unread(plan, header, &error, stats),
    }
}

fn keep_unread(
    plan: &CleanPlan,
    header: &BatchHeader,
    error: &dyn std::fmt::Display,
    stats: &mut CleanStats,
) -> Kept {
    tracing::warn!(dir = %plan.dir.display(), base_offset = header.base_offset, %error, "the cleaner keeps a batch it cannot read or rebuild as it is");
    stats.batches_kept_unread += 1;
    Kept::Whole
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::log::batch::Compression;
    use crate::kafka::log::partition::{LogSettings, PartitionLog};
    use crate::kafka::log::records::{keyed_test_batch, TestEntry as Entry};

    fn compacted(segment_bytes: u64) -> LogSettings {
        LogSettings {
            segment_bytes,
            index_interval_bytes: 64,
            cleanup_delete: false,
            cleanup_compact: true,
            delete_retention_ms: 1_000,
            ..LogSettings::default()
        }
    }

    fn append(log: &mut PartitionLog, codec: Compression, now_ms: i64, entries: &[Entry]) {
        let batch = keyed_test_batch(codec, now_ms, entries);
        log.append(&batch, 0, now_ms, false).unwrap();
    }

    /// Every record in the log: (offset, key, value).
    fn contents(log: &PartitionLog) -> Vec<(i64, Vec<u8>, Option<Vec<u8>>)> {
        let mut out = Vec::new();
        let mut offset = log.log_start_offset();
        while let Some(slice) = log.read(offset, u64::MAX).unwrap() {
            let bytes = slice.read_to_vec().unwrap();
            for item in crate::kafka::log::batch::split_batches(&bytes) {
                let (header, batch) = item.unwrap();
                crate::kafka::log::batch::verify_crc(batch).unwrap();
                let section = records::records_section(&header, batch).unwrap();
                for record in records::decode(&header, &section).unwrap() {
                    out.push((
                        record.offset,
                        record.key.unwrap_or_default().to_vec(),
                        record.value.map(<[u8]>::to_vec),
                    ));
                }
                offset = header.last_offset() + 1;
            }
        }
        out
    }

    fn pass(log: &mut PartitionLog, first_dirty: i64, now_ms: i64) -> (CleanStats, i64) {
        let plan = log
            .clean_plan(first_dirty, now_ms, HashMap::new())
            .expect("something is dirty");
        let outcome = clean(&plan, now_ms, map_capacity(DEDUPE_BUFFER_BYTES_DEFAULT)).unwrap();
        let result = (outcome.stats, outcome.next_dirty_offset);
        assert!(log.install_cleaned(outcome).unwrap() > 0);
        result
    }

    #[test]
    fn keeps_the_latest_value_of_every_key_at_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = PartitionLog::open(dir.path(), compacted(300), 0, 0).unwrap();
        for round in 0..6u8 {
            for codec in [Compression::None, Compression::Gzip, Compression::Zstd] {
                let value = [round, codec as u8];
                append(
                    &mut log,
                    codec,
                    100,
                    &[(Some(b"a"), Some(&value)), (Some(b"b"), Some(&value))],
                );
            }
        }
        append(
            &mut log,
            Compression::Lz4,
            100,
            &[(Some(b"c"), Some(b"active"))],
        );
        let end = log.log_end_offset();
        let size_before = log.size_bytes();
        assert!(log.segment_count() > 4);
        let stats = log.dirty_stats(0, 200);
        assert!(stats.dirty_ratio() > 0.99);

        let (pass_stats, next_dirty) = pass(&mut log, 0, 200);
        assert_eq!(next_dirty, stats.first_uncleanable_offset);
        assert!(pass_stats.bytes_written < pass_stats.bytes_read);
        assert!(log.size_bytes() < size_before);
        assert_eq!(log.log_end_offset(), end);
        let kept = contents(&log);
        let mut latest: Vec<_> = kept.iter().filter(|(_, key, _)| key != b"c").collect();
        latest.sort();
        // Only the newest a and b below the active segment, at their own offsets,
        // plus whatever the active segment holds.
        let keys: Vec<&[u8]> = latest.iter().map(|(_, key, _)| key.as_slice()).collect();
        assert!(keys.len() <= 4, "{kept:?}");
        assert_eq!(kept.last().unwrap().1, b"c");
        let last_a = kept.iter().rev().find(|(_, key, _)| key == b"a").unwrap();
        assert_eq!(
            last_a.2.as_deref(),
            Some(&[5u8, Compression::Zstd as u8][..])
        );
        assert_eq!(last_a.0, 34, "offsets never move");
        assert_eq!(log.dirty_stats(next_dirty, 300).dirty_bytes, 0);

        // The swapped-in segments reopen, with working indexes.
        drop(log);
        let (log, report) = PartitionLog::open(dir.path(), compacted(300), 0, 0).unwrap();
        assert_eq!(report.truncated_bytes, 0);
        assert_eq!(contents(&log), kept);
        assert_eq!(log.log_end_offset(), end);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names
                .iter()
                .all(|name| !name.ends_with(".cleaned") && !name.ends_with(".swap")),
            "{names:?}"
        );
    }

    #[test]
    fn tombstones_get_a_horizon_then_go() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = PartitionLog::open(dir.path(), compacted(120), 0, 0).unwrap();
        append(
            &mut log,
            Compression::None,
            10,
            &[(Some(b"k"), Some(b"v1"))],
        );
        append(&mut log, Compression::Snappy, 10, &[(Some(b"k"), None)]);
        append(&mut log, Compression::None, 10, &[(Some(b"x"), Some(b"y"))]);
        append(
            &mut log,
            Compression::None,
            10,
            &[(Some(b"z"), Some(b"roll"))],
        );
        assert!(log.segment_count() >= 3);
        let (_, dirty) = pass(&mut log, 0, 1_000);
        let kept = contents(&log);
        assert!(kept.contains(&(1, b"k".to_vec(), None)), "{kept:?}");
        assert!(!kept
            .iter()
            .any(|(_, _, value)| value.as_deref() == Some(b"v1")));

        // Not dirty by itself; more data makes it dirty, and past the horizon
        // (1_000 + delete.retention.ms) the tombstone goes.
        append(
            &mut log,
            Compression::None,
            10,
            &[(Some(b"x"), Some(b"y2"))],
        );
        append(
            &mut log,
            Compression::None,
            10,
            &[(Some(b"w"), Some(b"roll"))],
        );
        let (stats, _) = pass(&mut log, dirty, 2_001);
        assert_eq!(stats.tombstones_dropped, 1);
        assert!(!contents(&log).iter().any(|(_, key, _)| key == b"k"));
    }

    #[test]
    fn records_without_keys_are_dropped_but_offsets_stay_covered() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = PartitionLog::open(dir.path(), compacted(1 << 20), 0, 0).unwrap();
        append(
            &mut log,
            Compression::None,
            10,
            &[(None, Some(b"a")), (None, Some(b"b"))],
        );
        // Roll by hand: a second segment so the first is cleanable.
        let mut settings = compacted(1);
        settings.index_interval_bytes = 64;
        log.set_settings(settings);
        append(&mut log, Compression::None, 10, &[(Some(b"k"), Some(b"v"))]);
        assert_eq!(log.segment_count(), 2);
        pass(&mut log, 0, 100);
        assert_eq!(
            contents(&log),
            vec![(2, b"k".to_vec(), Some(b"v".to_vec()))]
        );
        // The emptied batch is kept as the group's last, so its offsets stay covered.
        let first = log
            .read(0, u64::MAX)
            .unwrap()
            .unwrap()
            .read_to_vec()
            .unwrap();
        let header = BatchHeader::parse(&first).unwrap();
        assert_eq!(
            (
                header.base_offset,
                header.last_offset(),
                header.records_count
            ),
            (0, 1, 0)
        );
        // kafka-protocol's decoder (the __consumer_offsets loader) reads it too.
        let sets =
            kafka_protocol::records::RecordBatchDecoder::decode_all(&mut bytes::Bytes::from(first))
                .unwrap();
        assert!(sets.iter().all(|set| set.records.is_empty()));
    }

    #[test]
    fn an_interrupted_swap_is_finished_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = PartitionLog::open(dir.path(), compacted(200), 0, 0).unwrap();
        for round in 0..8u8 {
            append(
                &mut log,
                Compression::None,
                10,
                &[(Some(b"k"), Some(&[round]))],
            );
        }
        let plan = log.clean_plan(0, 100, HashMap::new()).unwrap();
        let mut outcome = clean(&plan, 100, 1_000).unwrap();
        let expected_end = log.log_end_offset();
        // Crash after `.cleaned` -> `.swap` and after deleting one old segment.
        let group = &mut outcome.groups[0];
        group.cleaned.rename_suffix(".swap").unwrap();
        let (second_base, _) = group.replaced[group.replaced.len() - 1];
        drop(outcome);
        drop(log);
        for kind in [".log", ".index", ".timeindex"] {
            std::fs::remove_file(
                dir.path()
                    .join(crate::kafka::log::segment::file_name(second_base, kind)),
            )
            .unwrap();
        }
        let (log, _) = PartitionLog::open(dir.path(), compacted(200), 0, 0).unwrap();
        assert_eq!(log.log_end_offset(), expected_end);
        let values: Vec<_> = contents(&log)
            .into_iter()
            .map(|(_, _, value)| value)
            .collect();
        assert!(values.contains(&Some(vec![7u8])));
        assert!(!values.contains(&Some(vec![0u8])), "{values:?}");
    }

    #[test]
    fn retention_racing_a_pass_discards_the_cleaned_group() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = PartitionLog::open(dir.path(), compacted(200), 0, 0).unwrap();
        for round in 0..8u8 {
            append(
                &mut log,
                Compression::None,
                10,
                &[(Some(b"k"), Some(&[round]))],
            );
        }
        let plan = log.clean_plan(0, 100, HashMap::new()).unwrap();
        let outcome = clean(&plan, 100, 1_000).unwrap();
        let groups = outcome.groups.len();
        log.delete_records_before(3).unwrap();
        let installed = log.install_cleaned(outcome).unwrap();
        assert!(
            installed < groups,
            "the group holding offset 0 was deleted under the pass"
        );
        let after = contents(&log);
        assert!(after.iter().all(|(offset, _, _)| *offset >= 3), "{after:?}");
        assert_eq!(after.last().unwrap().2.as_deref(), Some(&[7u8][..]));
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !names.iter().any(|name| name.ends_with(".cleaned")),
            "{names:?}"
        );
    }
}
