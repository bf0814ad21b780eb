//! The sparse `.index` and `.timeindex` files of a segment, in Kafka's layout.
//!
//! `.index`: 8-byte entries (offset relative to the segment's base as i32, byte
//! position in the `.log` as i32). `.timeindex`: 12-byte entries (timestamp i64,
//! relative offset i32). Both big-endian, both strictly increasing. Kafka
//! pre-allocates these files and trims them when a segment is closed; keel writes
//! them at their exact size, which Kafka reads the same way.

/// Bytes per `.index` entry.
pub const OFFSET_ENTRY_BYTES: usize = 8;
/// Bytes per `.timeindex` entry.
pub const TIME_ENTRY_BYTES: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetEntry {
    pub relative_offset: u32,
    pub position: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEntry {
    pub timestamp_ms: i64,
    pub relative_offset: u32,
}

/// The offset index of one segment, held in memory and mirrored to its file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OffsetIndex {
    entries: Vec<OffsetEntry>,
}

impl OffsetIndex {
    /// Reads an index file's bytes. Trailing zero entries (Kafka's pre-allocation)
    /// and entries that do not increase end the index: they cannot be real.
    pub fn from_bytes(bytes: &[u8]) -> OffsetIndex {
        let mut index = OffsetIndex::default();
        for chunk in bytes.chunks_exact(OFFSET_ENTRY_BYTES) {
            let entry = OffsetEntry {
                relative_offset: u32::from_be_bytes(chunk[0..4].try_into().expect("4 bytes")),
                position: u32::from_be_bytes(chunk[4..8].try_into().expect("4 bytes")),
            };
            if !index.accepts(entry) {
                break;
            }
            index.entries.push(entry);
        }
        index
    }

    fn accepts(&self, entry: OffsetEntry) -> bool {
        match self.entries.last() {
            None => entry.relative_offset != 0 || entry.position == 0,
            Some(last) => {
                entry.relative_offset > last.relative_offset && entry.position > last.position
            }
        }
    }

    /// Adds an entry; returns its encoding to append to the file, or `None` when the
    /// entry would not increase the index (then nothing is written).
    pub fn append(&mut self, entry: OffsetEntry) -> Option<[u8; OFFSET_ENTRY_BYTES]> {
        if !self.entries.is_empty() && !self.accepts(entry) {
            return None;
        }
        self.entries.push(entry);
        let mut bytes = [0u8; OFFSET_ENTRY_BYTES];
        bytes[0..4].copy_from_slice(&entry.relative_offset.to_be_bytes());
        bytes[4..8].copy_from_slice(&entry.position.to_be_bytes());
        Some(bytes)
    }

    /// The byte position to start scanning from to find `relative_offset`: the
    /// position of the last entry at or below it, or 0.
    pub fn lookup(&self, relative_offset: u32) -> u32 {
        let at = self
            .entries
            .partition_point(|entry| entry.relative_offset <= relative_offset);
        if at == 0 {
            0
        } else {
            self.entries[at - 1].position
        }
    }

    /// Drops entries at or past `position` (after a log truncation).
    pub fn truncate_to_position(&mut self, position: u32) {
        self.entries.retain(|entry| entry.position < position);
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * OFFSET_ENTRY_BYTES);
        for entry in &self.entries {
            out.extend_from_slice(&entry.relative_offset.to_be_bytes());
            out.extend_from_slice(&entry.position.to_be_bytes());
        }
        out
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The time index of one segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeIndex {
    entries: Vec<TimeEntry>,
}

impl TimeIndex {
    pub fn from_bytes(bytes: &[u8]) -> TimeIndex {
        let mut index = TimeIndex::default();
        for chunk in bytes.chunks_exact(TIME_ENTRY_BYTES) {
            let entry = TimeEntry {
                timestamp_ms: i64::from_be_bytes(chunk[0..8].try_into().expect("8 bytes")),
                relative_offset: u32::from_be_bytes(chunk[8..12].try_into().expect("4 bytes")),
            };
            if entry.timestamp_ms == 0 && entry.relative_offset == 0 {
                break;
            }
            if index
                .entries
                .last()
                .is_some_and(|last| entry.timestamp_ms <= last.timestamp_ms)
            {
                break;
            }
            index.entries.push(entry);
        }
        index
    }

    /// Adds an entry if its timestamp is newer than the last one (Kafka's
    /// `maybeAppend`); returns the bytes to append to the file.
    pub fn maybe_append(&mut self, entry: TimeEntry) -> Option<[u8; TIME_ENTRY_BYTES]> {
        if self.entries.last().is_some_and(|last| {
            entry.timestamp_ms <= last.timestamp_ms || entry.relative_offset < last.relative_offset
        }) {
            return None;
        }
        self.entries.push(entry);
        let mut bytes = [0u8; TIME_ENTRY_BYTES];
        bytes[0..8].copy_from_slice(&entry.timestamp_ms.to_be_bytes());
        bytes[8..12].copy_from_slice(&entry.relative_offset.to_be_bytes());
        Some(bytes)
    }

    /// The relative offset to start scanning from for the first record with a
    /// timestamp at or after `timestamp_ms`: the entry before the first entry at or
    /// past the target, or 0.
    pub fn lookup(&self, timestamp_ms: i64) -> u32 {
        let at = self
            .entries
            .partition_point(|entry| entry.timestamp_ms < timestamp_ms);
        if at == 0 {
            0
        } else {
            self.entries[at - 1].relative_offset
        }
    }

    pub fn last(&self) -> Option<TimeEntry> {
        self.entries.last().copied()
    }

    pub fn truncate_to_relative_offset(&mut self, relative_offset: u32) {
        self.entries
            .retain(|entry| entry.relative_offset < relative_offset);
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * TIME_ENTRY_BYTES);
        for entry in &self.entries {
            out.extend_from_slice(&entry.timestamp_ms.to_be_bytes());
            out.extend_from_slice(&entry.relative_offset.to_be_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_index_round_trip_and_lookup() {
        let mut index = OffsetIndex::default();
        index
            .append(OffsetEntry {
                relative_offset: 10,
                position: 4100,
            })
            .unwrap();
        index
            .append(OffsetEntry {
                relative_offset: 20,
                position: 8300,
            })
            .unwrap();
        assert!(index
            .append(OffsetEntry {
                relative_offset: 15,
                position: 9000
            })
            .is_none());
        assert_eq!(index.lookup(5), 0);
        assert_eq!(index.lookup(10), 4100);
        assert_eq!(index.lookup(19), 4100);
        assert_eq!(index.lookup(1000), 8300);
        let mut bytes = index.to_bytes();
        bytes.extend_from_slice(&[0; 64]); // Kafka's pre-allocated tail
        assert_eq!(OffsetIndex::from_bytes(&bytes), index);
        index.truncate_to_position(8300);
        assert_eq!(index.len(), 1);
    }

    #[test]
    fn time_index_only_grows() {
        let mut index = TimeIndex::default();
        index
            .maybe_append(TimeEntry {
                timestamp_ms: 100,
                relative_offset: 0,
            })
            .unwrap();
        assert!(index
            .maybe_append(TimeEntry {
                timestamp_ms: 100,
                relative_offset: 5
            })
            .is_none());
        index
            .maybe_append(TimeEntry {
                timestamp_ms: 200,
                relative_offset: 7,
            })
            .unwrap();
        assert_eq!(index.lookup(50), 0);
        assert_eq!(index.lookup(150), 0);
        assert_eq!(index.lookup(250), 7);
        let bytes = index.to_bytes();
        assert_eq!(TimeIndex::from_bytes(&bytes), index);
    }
}
