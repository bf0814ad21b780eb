//! One log segment: `<baseOffset>.log` with its `.index` and `.timeindex`, named and
//! laid out exactly as Apache Kafka does, so either server opens the other's files.
//!
//! The segment does plain positional file IO and keeps its indexes in memory,
//! mirrored to their files on every entry. Durability is the caller's call:
//! `flush` fsyncs, following Kafka's flush policy.

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::batch::{self, AssignedBatch, BatchHeader, BATCH_HEADER_BYTES};
use super::index::{OffsetEntry, OffsetIndex, TimeEntry, TimeIndex};

/// `write_all` for several slices: `write_vectored` until all are written (std
/// passes at most IOV_MAX slices per call; short writes resume where they stopped).
fn write_all_vectored(file: &File, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match (&*file).write_vectored(slices) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "failed to write whole batches",
                ))
            }
            Ok(written) => IoSlice::advance_slices(&mut slices, written),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Kafka's file name: the base offset as 20 digits, then the suffix.
pub fn file_name(base_offset: i64, suffix: &str) -> String {
    format!("{base_offset:020}{suffix}")
}

/// What recovery found in a segment's `.log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecoveryReport {
    pub valid_bytes: u64,
    pub truncated_bytes: u64,
    pub batches: u64,
}

/// A contiguous byte range of a segment file holding whole batches, ready to be sent
/// to a consumer as is.
#[derive(Debug, Clone)]
pub struct SegmentSlice {
    pub file: Arc<File>,
    pub position: u64,
    pub length: u64,
}

impl SegmentSlice {
    pub fn read_to_vec(&self) -> io::Result<Vec<u8>> {
        let mut bytes = vec![0u8; self.length as usize];
        self.file.read_exact_at(&mut bytes, self.position)?;
        Ok(bytes)
    }
}

#[derive(Debug)]
pub struct Segment {
    base_offset: i64,
    dir: PathBuf,
    /// Appended to every file name: empty for a live segment, `.cleaned` while the
    /// cleaner writes one, `.swap` while it replaces the segments it cleaned.
    suffix: String,
    log_file: Arc<File>,
    index_file: File,
    time_index_file: File,
    size_bytes: u64,
    /// One past the last offset stored here; `base_offset` when empty.
    next_offset: i64,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    index_interval_bytes: u64,
    bytes_since_last_index_entry: u64,
    max_timestamp_ms: i64,
    offset_of_max_timestamp: i64,
    /// The first batch's max timestamp: `segment.ms` rolls are measured from it, as in Kafka.
    first_batch_timestamp_ms: Option<i64>,
}

impl Segment {
    /// Opens (or creates) the segment with `base_offset` in `dir`.
    pub fn open(dir: &Path, base_offset: i64, index_interval_bytes: u64) -> io::Result<Segment> {
        Segment::open_with_suffix(dir, base_offset, index_interval_bytes, "")
    }

    /// Opens (or creates) a segment whose files carry `suffix` (see `Segment::suffix`).
    pub fn open_with_suffix(
        dir: &Path,
        base_offset: i64,
        index_interval_bytes: u64,
        suffix: &str,
    ) -> io::Result<Segment> {
        let path = |kind: &str| dir.join(format!("{}{suffix}", file_name(base_offset, kind)));
        let log_file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path(".log"))?;
        let index_path = path(".index");
        let time_index_path = path(".timeindex");
        let offset_index = OffsetIndex::from_bytes(&read_if_exists(&index_path)?);
        let time_index = TimeIndex::from_bytes(&read_if_exists(&time_index_path)?);
        let size_bytes = log_file.metadata()?.len();
        let mut segment = Segment {
            base_offset,
            dir: dir.to_path_buf(),
            suffix: suffix.to_string(),
            log_file: Arc::new(log_file),
            index_file: open_rewritten(&index_path, &offset_index.to_bytes())?,
            time_index_file: open_rewritten(&time_index_path, &time_index.to_bytes())?,
            size_bytes,
            next_offset: base_offset,
            offset_index,
            time_index,
            index_interval_bytes,
            bytes_since_last_index_entry: 0,
            max_timestamp_ms: -1,
            offset_of_max_timestamp: -1,
            first_batch_timestamp_ms: None,
        };
        segment.load_tail()?;
        Ok(segment)
    }

    /// Finds the end of a segment trusted to be whole (before the recovery point):
    /// scans batch headers from the last index entry only.
    fn load_tail(&mut self) -> io::Result<()> {
        let mut position = self.offset_index_last_position();
        if let Some(first) = self.header_at(0)? {
            self.first_batch_timestamp_ms = Some(first.max_timestamp);
        }
        while let Some(header) = self.header_at(position)? {
            self.note_batch_timestamps(&header);
            self.next_offset = header.last_offset() + 1;
            position += header.total_bytes() as u64;
        }
        if let Some(last) = self.time_index.last() {
            if last.timestamp_ms > self.max_timestamp_ms {
                self.max_timestamp_ms = last.timestamp_ms;
                self.offset_of_max_timestamp = self.base_offset + last.relative_offset as i64;
            }
        }
        Ok(())
    }

    fn offset_index_last_position(&self) -> u64 {
        self.offset_index.lookup(u32::MAX) as u64
    }

    /// Validates every batch (header and CRC), rebuilds both indexes, and truncates
    /// whatever follows the last whole valid batch (a torn write).
    pub fn recover(&mut self) -> io::Result<RecoveryReport> {
        let mut bytes = vec![0u8; self.size_bytes as usize];
        self.log_file.read_exact_at(&mut bytes, 0)?;
        self.offset_index = OffsetIndex::default();
        self.time_index = TimeIndex::default();
        self.bytes_since_last_index_entry = 0;
        self.max_timestamp_ms = -1;
        self.offset_of_max_timestamp = -1;
        self.first_batch_timestamp_ms = None;
        self.next_offset = self.base_offset;
        let mut report = RecoveryReport::default();
        let mut batches = batch::split_batches(&bytes);
        let mut valid_bytes = 0u64;
        for item in batches.by_ref() {
            let Ok((header, batch_bytes)) = item else {
                break;
            };
            if batch::verify_crc(batch_bytes).is_err() || header.base_offset < self.next_offset {
                break;
            }
            self.index_batch(&header, valid_bytes);
            self.next_offset = header.last_offset() + 1;
            valid_bytes += batch_bytes.len() as u64;
            report.batches += 1;
        }
        report.valid_bytes = valid_bytes;
        report.truncated_bytes = self.size_bytes - valid_bytes;
        if report.truncated_bytes > 0 {
            self.log_file.set_len(valid_bytes)?;
            self.size_bytes = valid_bytes;
        }
        self.rewrite_indexes()?;
        Ok(report)
    }

    fn rewrite_indexes(&mut self) -> io::Result<()> {
        self.index_file = open_rewritten(&self.path(".index"), &self.offset_index.to_bytes())?;
        self.time_index_file =
            open_rewritten(&self.path(".timeindex"), &self.time_index.to_bytes())?;
        Ok(())
    }

    /// The path of one of the segment's files (`.log`, `.index`, `.timeindex`).
    fn path(&self, kind: &str) -> PathBuf {
        self.dir.join(format!(
            "{}{}",
            file_name(self.base_offset, kind),
            self.suffix
        ))
    }

    /// Renames the segment's files to carry `suffix` instead: indexes first and the
    /// `.log` last, so a `.log` with the new suffix means all three were renamed.
    pub fn rename_suffix(&mut self, suffix: &str) -> io::Result<()> {
        for kind in [".index", ".timeindex", ".log"] {
            let from = self.path(kind);
            let to = self
                .dir
                .join(format!("{}{suffix}", file_name(self.base_offset, kind)));
            std::fs::rename(from, to)?;
        }
        self.suffix = suffix.to_string();
        Ok(())
    }

    /// The `.log` file, shared: readers keep it open across a delete or a swap.
    pub fn log_file(&self) -> Arc<File> {
        self.log_file.clone()
    }

    /// Appends batches whose offsets are already assigned (one or more, contiguous,
    /// all above this segment's last offset).
    pub fn append(&mut self, batches: &[u8]) -> io::Result<()> {
        let mut assigned = Vec::new();
        for item in batch::split_batches(batches) {
            let (_, batch_bytes) =
                item.map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
            let (header, rest) = batch_bytes.split_at(BATCH_HEADER_BYTES);
            assigned.push(AssignedBatch {
                header: header.try_into().expect("split at the header"),
                rest,
            });
        }
        self.append_assigned(&assigned)
    }

    /// As `append`, with each batch as its header and the rest: the batches go to
    /// the file in one vectored write, without first being copied together.
    pub fn append_assigned(&mut self, batches: &[AssignedBatch<'_>]) -> io::Result<()> {
        let size_before = self.size_bytes;
        let result = self.append_assigned_unchecked(batches);
        if result.is_err() {
            // A failed write (a full disk) must leave the segment as it was: the log end
            // offset and the indexes never claim records the file does not hold, or a
            // follower would report copies it does not have and a later append would
            // land past a hole. Cut the file back and rebuild the in-memory state.
            if let Err(error) = self.truncate_file_to(size_before) {
                tracing::error!(%error, base_offset = self.base_offset, "cannot undo a failed append");
            }
        }
        result
    }

    fn truncate_file_to(&mut self, size_bytes: u64) -> io::Result<()> {
        self.log_file.set_len(size_bytes)?;
        self.size_bytes = size_bytes;
        self.recover()?;
        Ok(())
    }

    fn append_assigned_unchecked(&mut self, batches: &[AssignedBatch<'_>]) -> io::Result<()> {
        let mut position = self.size_bytes;
        let mut offset_entries = Vec::new();
        let mut time_entries = Vec::new();
        let mut slices = Vec::with_capacity(batches.len() * 2);
        for assigned in batches {
            let header = BatchHeader::parse(&assigned.header)
                .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
            if header.total_bytes() != assigned.total_bytes() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "batch header says {} bytes, the batch has {}",
                        header.total_bytes(),
                        assigned.total_bytes()
                    ),
                ));
            }
            assert!(
                header.base_offset >= self.next_offset,
                "appends must move forward"
            );
            let writes = self.index_batch(&header, position);
            offset_entries.extend(writes.offset.into_iter().flatten());
            time_entries.extend(writes.time.into_iter().flatten());
            self.next_offset = header.last_offset() + 1;
            position += assigned.total_bytes() as u64;
            slices.push(IoSlice::new(&assigned.header));
            slices.push(IoSlice::new(assigned.rest));
        }
        // The log first, then its indexes: an index entry never points past the data.
        write_all_vectored(&self.log_file, &mut slices)?;
        self.size_bytes = position;
        if !offset_entries.is_empty() {
            self.index_file.write_all(&offset_entries)?;
        }
        if !time_entries.is_empty() {
            self.time_index_file.write_all(&time_entries)?;
        }
        Ok(())
    }

    fn note_batch_timestamps(&mut self, header: &BatchHeader) {
        if self.first_batch_timestamp_ms.is_none() {
            self.first_batch_timestamp_ms = Some(header.max_timestamp);
        }
        if header.max_timestamp > self.max_timestamp_ms {
            self.max_timestamp_ms = header.max_timestamp;
            self.offset_of_max_timestamp = header.last_offset();
        }
    }

    /// Updates the in-memory indexes for a batch at `position` and returns the
    /// entries added, for the caller to append to the index files.
    fn index_batch(&mut self, header: &BatchHeader, position: u64) -> IndexWrites {
        self.note_batch_timestamps(header);
        let mut writes = IndexWrites::default();
        if self.bytes_since_last_index_entry > self.index_interval_bytes {
            let relative_offset = (header.last_offset() - self.base_offset) as u32;
            writes.offset = self.offset_index.append(OffsetEntry {
                relative_offset,
                position: position as u32,
            });
            writes.time = self.time_index.maybe_append(TimeEntry {
                timestamp_ms: self.max_timestamp_ms,
                relative_offset: (self.offset_of_max_timestamp - self.base_offset) as u32,
            });
            self.bytes_since_last_index_entry = 0;
        }
        self.bytes_since_last_index_entry += header.total_bytes() as u64;
        writes
    }

    /// Reads the batch header at `position`, or `None` at the end of the data.
    fn header_at(&self, position: u64) -> io::Result<Option<BatchHeader>> {
        if position + BATCH_HEADER_BYTES as u64 > self.size_bytes {
            return Ok(None);
        }
        let mut bytes = [0u8; BATCH_HEADER_BYTES];
        self.log_file.read_exact_at(&mut bytes, position)?;
        match BatchHeader::parse(&bytes) {
            Ok(header) if position + header.total_bytes() as u64 <= self.size_bytes => {
                Ok(Some(header))
            }
            _ => Ok(None),
        }
    }

    /// Whole batches starting with the one that holds `offset`, at most `max_bytes`
    /// long but always at least that first batch (so a consumer can make progress
    /// past a batch larger than its fetch size, as Kafka allows since KIP-74).
    pub fn read(&self, offset: i64, max_bytes: u64) -> io::Result<Option<SegmentSlice>> {
        self.read_below(offset, max_bytes, i64::MAX)
    }

    /// As `read`, without any batch starting at or after `offset_limit` (the high
    /// watermark, for consumers: Kafka's `maxPosition`).
    pub fn read_below(
        &self,
        offset: i64,
        max_bytes: u64,
        offset_limit: i64,
    ) -> io::Result<Option<SegmentSlice>> {
        if offset >= self.next_offset || offset >= offset_limit {
            return Ok(None);
        }
        let relative = (offset - self.base_offset).max(0) as u32;
        let mut position = self.offset_index.lookup(relative) as u64;
        let start = loop {
            match self.header_at(position)? {
                None => return Ok(None),
                Some(header) if header.last_offset() >= offset => break position,
                Some(header) => position += header.total_bytes() as u64,
            }
        };
        let mut end = start;
        while let Some(header) = self.header_at(end)? {
            let next_end = end + header.total_bytes() as u64;
            if (end > start && next_end - start > max_bytes) || header.base_offset >= offset_limit {
                break;
            }
            end = next_end;
        }
        Ok(Some(SegmentSlice {
            file: self.log_file.clone(),
            position: start,
            length: end - start,
        }))
    }

    /// The first offset whose batch has a max timestamp at or after `timestamp_ms`.
    pub fn offset_for_timestamp(&self, timestamp_ms: i64) -> io::Result<Option<i64>> {
        if self.max_timestamp_ms < timestamp_ms {
            return Ok(None);
        }
        let start_relative = self.time_index.lookup(timestamp_ms);
        let mut position = self.offset_index.lookup(start_relative) as u64;
        while let Some(header) = self.header_at(position)? {
            if header.max_timestamp >= timestamp_ms {
                return Ok(Some(header.base_offset));
            }
            position += header.total_bytes() as u64;
        }
        Ok(None)
    }

    /// Removes everything from `offset` on (after a leader change, or recovery).
    pub fn truncate_to(&mut self, offset: i64) -> io::Result<()> {
        let mut position = 0;
        while let Some(header) = self.header_at(position)? {
            if header.last_offset() >= offset {
                break;
            }
            position += header.total_bytes() as u64;
        }
        self.log_file.set_len(position)?;
        self.size_bytes = position;
        self.recover()?;
        Ok(())
    }

    /// Forces the segment's data and indexes to disk.
    pub fn flush(&self) -> io::Result<()> {
        self.log_file.sync_data()?;
        self.index_file.sync_data()?;
        self.time_index_file.sync_data()
    }

    /// Deletes the segment's three files.
    pub fn delete(self) -> io::Result<()> {
        for kind in [".log", ".index", ".timeindex"] {
            match std::fs::remove_file(self.path(kind)) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
                _ => {}
            }
        }
        Ok(())
    }

    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    pub fn is_empty(&self) -> bool {
        self.size_bytes == 0
    }

    pub fn max_timestamp_ms(&self) -> i64 {
        self.max_timestamp_ms
    }

    pub fn first_batch_timestamp_ms(&self) -> Option<i64> {
        self.first_batch_timestamp_ms
    }
}

/// Index entries added by one batch, in their file encodings.
#[derive(Default)]
struct IndexWrites {
    offset: Option<[u8; 8]>,
    time: Option<[u8; 12]>,
}

fn read_if_exists(path: &Path) -> io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(error) => Err(error),
    }
}

/// Writes `bytes` as the whole file (dropping any pre-allocated tail) and returns
/// it opened for appending.
fn open_rewritten(path: &Path, bytes: &[u8]) -> io::Result<File> {
    std::fs::write(path, bytes)?;
    OpenOptions::new().append(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::log::batch::{assign_offsets, test_batch};

    fn batch_at(offset: i64, timestamp_ms: i64, value: &[u8]) -> Vec<u8> {
        let mut batch = test_batch(0, timestamp_ms, &[value, value]);
        assign_offsets(&mut batch, offset, 0, None);
        batch
    }

    #[test]
    fn file_names_are_twenty_digits() {
        assert_eq!(file_name(0, ".log"), "00000000000000000000.log");
        assert_eq!(
            file_name(1234, ".timeindex"),
            "00000000000000001234.timeindex"
        );
    }

    #[test]
    fn append_read_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut segment = Segment::open(dir.path(), 100, 64).unwrap();
        let value = vec![7u8; 50];
        for index in 0..20 {
            segment
                .append(&batch_at(100 + index * 2, 1000 + index, &value))
                .unwrap();
        }
        assert_eq!(segment.next_offset(), 140);
        let slice = segment.read(117, 1).unwrap().unwrap();
        let bytes = slice.read_to_vec().unwrap();
        let header = BatchHeader::parse(&bytes).unwrap();
        assert_eq!(
            (header.base_offset, header.total_bytes()),
            (116, bytes.len())
        );
        let all = segment.read(100, u64::MAX).unwrap().unwrap();
        assert_eq!(all.length, segment.size_bytes());
        assert_eq!(segment.offset_for_timestamp(1010).unwrap(), Some(120));
        assert!(segment.read(140, 1000).unwrap().is_none());
        assert!(
            segment.offset_index.len() > 3,
            "sparse index entries were written"
        );

        drop(segment);
        let reopened = Segment::open(dir.path(), 100, 64).unwrap();
        assert_eq!(reopened.next_offset(), 140);
        assert_eq!(reopened.max_timestamp_ms(), 1019);
        assert_eq!(
            reopened.read(117, 1).unwrap().unwrap().position,
            slice.position
        );
    }

    #[test]
    fn recovery_truncates_a_torn_tail_and_rebuilds_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let mut segment = Segment::open(dir.path(), 0, 64).unwrap();
        for index in 0..10 {
            segment.append(&batch_at(index * 2, 5, b"value")).unwrap();
        }
        let whole = segment.size_bytes();
        let index_before = segment.offset_index.clone();
        // A torn write: half a batch at the end.
        let torn = batch_at(20, 5, b"value");
        (&*segment.log_file).write_all(&torn[..30]).unwrap();
        drop(segment);
        std::fs::write(dir.path().join(file_name(0, ".index")), b"garbage!").unwrap();
        let mut segment = Segment::open(dir.path(), 0, 64).unwrap();
        let report = segment.recover().unwrap();
        assert_eq!(
            report,
            RecoveryReport {
                valid_bytes: whole,
                truncated_bytes: 30,
                batches: 10
            }
        );
        assert_eq!(segment.next_offset(), 20);
        assert_eq!(segment.offset_index, index_before);
        assert_eq!(
            std::fs::metadata(dir.path().join(file_name(0, ".log")))
                .unwrap()
                .len(),
            whole
        );
    }

    #[test]
    fn recovery_stops_at_a_corrupt_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut segment = Segment::open(dir.path(), 0, 4096).unwrap();
        segment.append(&batch_at(0, 5, b"good")).unwrap();
        let good = segment.size_bytes();
        let mut bad = batch_at(2, 5, b"bad!");
        let last = bad.len() - 3;
        bad[last] ^= 0xff;
        (&*segment.log_file).write_all(&bad).unwrap();
        drop(segment);
        let mut segment = Segment::open(dir.path(), 0, 4096).unwrap();
        let report = segment.recover().unwrap();
        assert_eq!(report.valid_bytes, good);
        assert_eq!(segment.next_offset(), 2);
    }

    #[test]
    fn truncate_to_an_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut segment = Segment::open(dir.path(), 0, 64).unwrap();
        for index in 0..10 {
            segment.append(&batch_at(index * 2, 5, b"v")).unwrap();
        }
        segment.truncate_to(9).unwrap();
        assert_eq!(segment.next_offset(), 8);
    }
}
