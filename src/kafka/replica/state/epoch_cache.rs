//! The leader epoch cache of one replica: which leader epoch started at which offset,
//! with the semantics of Kafka's `LeaderEpochFileCache` (the `leader-epoch-checkpoint`
//! file's contents). Pure: the caller persists `entries()` when `assign` or a
//! truncation reports a change.
//!
//! Rules kept from Kafka 3.9 (`storage/.../epoch/LeaderEpochFileCache.java`):
//! - `assign(epoch, start)` is a no-op when `epoch` is the latest epoch and `start` is
//!   not below its start; otherwise every entry from the end whose epoch is >= `epoch`
//!   or whose start is >= `start` is removed first, so entries stay strictly
//!   increasing in both epoch and start offset.
//! - `end_offset_for(requested, leo)` answers OffsetForLeaderEpoch and the fetch
//!   divergence check: the latest epoch ends at the log end offset; an older epoch ends
//!   where the next larger epoch starts and is reported as the largest epoch at or
//!   below the request; a request below every entry gets (requested, first start).
//! - `truncate_from_end(offset)` drops entries starting at or after `offset`;
//!   `truncate_from_start(offset)` drops entries wholly below it and moves the last
//!   dropped one's start to `offset`.

/// One `leader-epoch-checkpoint` line: `epoch` began at `start_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

/// The end of a leader epoch as a leader reports it (OffsetForLeaderEpoch's answer and
/// a fetch response's `DivergingEpoch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEndOffset {
    pub epoch: i32,
    pub end_offset: i64,
}

/// Leader epoch -> start offset, strictly increasing in both.
///
/// Bound: one entry per leader epoch that wrote to this log; leader epochs only grow
/// through controller elections, so the count is bounded by the partition's history
/// and shrinks with retention (`truncate_from_start`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaderEpochCache {
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    pub fn new() -> LeaderEpochCache {
        LeaderEpochCache::default()
    }

    /// Rebuilds a cache from a checkpoint file's entries, applying `assign`'s rules so
    /// that a damaged file still yields a monotonic cache.
    pub fn from_entries(entries: &[EpochEntry]) -> LeaderEpochCache {
        let mut cache = LeaderEpochCache::new();
        for entry in entries {
            cache.assign(entry.epoch, entry.start_offset);
        }
        cache
    }

    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn latest(&self) -> Option<EpochEntry> {
        self.entries.last().copied()
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|entry| entry.epoch)
    }

    /// Records that `epoch` starts at `start_offset`. Returns whether the cache changed
    /// (the caller then rewrites the checkpoint). Negative values are ignored: Kafka
    /// throws on them, and peer input must not panic here.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> bool {
        if epoch < 0 || start_offset < 0 {
            return false;
        }
        let update_needed = self
            .latest()
            .is_none_or(|latest| epoch != latest.epoch || start_offset < latest.start_offset);
        if !update_needed {
            return false;
        }
        while self
            .entries
            .last()
            .is_some_and(|last| last.epoch >= epoch || last.start_offset >= start_offset)
        {
            self.entries.pop();
        }
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
        true
    }

    /// Kafka's `endOffsetFor`: `None` is UNDEFINED (-1, -1), answered for an epoch
    /// above every entry that is not the latest, or when the cache is empty.
    pub fn end_offset_for(
        &self,
        requested_epoch: i32,
        log_end_offset: i64,
    ) -> Option<EpochEndOffset> {
        if requested_epoch < 0 {
            return None;
        }
        let latest = self.latest()?;
        if latest.epoch == requested_epoch {
            return Some(EpochEndOffset {
                epoch: requested_epoch,
                end_offset: log_end_offset,
            });
        }
        // The first entry with an epoch above the request.
        let higher = self
            .entries
            .partition_point(|entry| entry.epoch <= requested_epoch);
        let next = self.entries.get(higher)?;
        if higher == 0 {
            return Some(EpochEndOffset {
                epoch: requested_epoch,
                end_offset: next.start_offset,
            });
        }
        Some(EpochEndOffset {
            epoch: self.entries[higher - 1].epoch,
            end_offset: next.start_offset,
        })
    }

    /// Removes entries that start at or after `end_offset` (the log was truncated
    /// there). Returns whether the cache changed.
    pub fn truncate_from_end(&mut self, end_offset: i64) -> bool {
        if end_offset < 0 {
            return false;
        }
        let keep = self
            .entries
            .partition_point(|entry| entry.start_offset < end_offset);
        let changed = keep != self.entries.len();
        self.entries.truncate(keep);
        changed
    }

    /// Removes entries wholly below `start_offset` (retention or DeleteRecords); the
    /// epoch that covers `start_offset` now starts there. Returns whether it changed.
    pub fn truncate_from_start(&mut self, start_offset: i64) -> bool {
        let removed = self
            .entries
            .partition_point(|entry| entry.start_offset <= start_offset);
        if removed == 0 {
            return false;
        }
        let covering = self.entries[removed - 1].epoch;
        self.entries.drain(..removed);
        self.entries.insert(
            0,
            EpochEntry {
                epoch: covering,
                start_offset,
            },
        );
        true
    }

    /// The epoch of the record at `offset`, if the cache covers it.
    pub fn epoch_for_offset(&self, offset: i64) -> Option<i32> {
        let at = self
            .entries
            .partition_point(|entry| entry.start_offset <= offset);
        (at > 0).then(|| self.entries[at - 1].epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(pairs: &[(i32, i64)]) -> LeaderEpochCache {
        let mut cache = LeaderEpochCache::new();
        for (epoch, start) in pairs {
            cache.assign(*epoch, *start);
        }
        cache
    }

    fn pairs(cache: &LeaderEpochCache) -> Vec<(i32, i64)> {
        cache
            .entries()
            .iter()
            .map(|entry| (entry.epoch, entry.start_offset))
            .collect()
    }

    #[test]
    fn assign_keeps_both_columns_increasing() {
        let mut epochs = cache(&[(0, 0), (2, 5)]);
        // The same epoch at a later offset is not a new start.
        assert!(!epochs.assign(2, 9));
        // The same epoch at an earlier offset replaces it.
        assert!(epochs.assign(2, 3));
        assert_eq!(pairs(&epochs), vec![(0, 0), (2, 3)]);
        // A lower epoch removes the conflicting tail (Kafka's non-monotonic truncation).
        assert!(epochs.assign(1, 4));
        assert_eq!(pairs(&epochs), vec![(0, 0), (1, 4)]);
        // A higher epoch at a lower offset removes entries starting at or after it.
        assert!(epochs.assign(5, 0));
        assert_eq!(pairs(&epochs), vec![(5, 0)]);
        assert!(!epochs.assign(-1, 3));
        assert!(!epochs.assign(6, -1));
    }

    #[test]
    fn end_offset_for_matches_kafka() {
        let epochs = cache(&[(2, 10), (4, 20), (7, 35)]);
        // Latest epoch: the log end offset.
        assert_eq!(
            epochs.end_offset_for(7, 50),
            Some(EpochEndOffset {
                epoch: 7,
                end_offset: 50
            })
        );
        // Known older epoch: where the next one starts.
        assert_eq!(
            epochs.end_offset_for(4, 50),
            Some(EpochEndOffset {
                epoch: 4,
                end_offset: 35
            })
        );
        // Unknown epoch between two: the largest below it, ending at the next start.
        assert_eq!(
            epochs.end_offset_for(5, 50),
            Some(EpochEndOffset {
                epoch: 4,
                end_offset: 35
            })
        );
        // Below every entry: (requested, first start).
        assert_eq!(
            epochs.end_offset_for(1, 50),
            Some(EpochEndOffset {
                epoch: 1,
                end_offset: 10
            })
        );
        // Above the latest: undefined.
        assert_eq!(epochs.end_offset_for(8, 50), None);
        assert_eq!(epochs.end_offset_for(-1, 50), None);
        assert_eq!(LeaderEpochCache::new().end_offset_for(0, 0), None);
    }

    #[test]
    fn truncation_from_both_ends() {
        let mut epochs = cache(&[(2, 10), (4, 20), (7, 35)]);
        assert!(epochs.truncate_from_end(20));
        assert_eq!(pairs(&epochs), vec![(2, 10)]);
        assert!(!epochs.truncate_from_end(11));
        let mut epochs = cache(&[(2, 10), (4, 20), (7, 35)]);
        assert!(epochs.truncate_from_start(25));
        assert_eq!(pairs(&epochs), vec![(4, 25), (7, 35)]);
        // Exclusive: an entry starting exactly at the new start is kept (rewritten).
        assert!(epochs.truncate_from_start(35));
        assert_eq!(pairs(&epochs), vec![(7, 35)]);
        assert!(!epochs.truncate_from_start(3));
        assert_eq!(epochs.epoch_for_offset(40), Some(7));
        assert_eq!(epochs.epoch_for_offset(34), None);
    }

    #[test]
    fn from_entries_repairs_a_non_monotonic_file() {
        let epochs = LeaderEpochCache::from_entries(&[
            EpochEntry {
                epoch: 1,
                start_offset: 0,
            },
            EpochEntry {
                epoch: 3,
                start_offset: 8,
            },
            EpochEntry {
                epoch: 2,
                start_offset: 9,
            },
        ]);
        assert_eq!(pairs(&epochs), vec![(1, 0), (2, 9)]);
    }
}
