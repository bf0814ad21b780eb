//! The leader's in-memory window of the newest committed txns (Apache's
//! `ZKDatabase.committedLog`, bounded by `zookeeper.commitLogCount`), from which
//! `LearnerHandler.syncFollower` builds DIFF and TRUNC syncs.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::zookeeper::jute::TxnEntry;
use crate::zookeeper::tree::Zxid;

use super::txn_zxid;

/// Committed txns in zxid order, at most `entries_max` of them.
#[derive(Debug, Clone)]
pub struct CommittedLog {
    entries: VecDeque<Arc<TxnEntry>>,
    entries_max: usize,
}

impl CommittedLog {
    pub fn new(entries_max: usize) -> CommittedLog {
        CommittedLog {
            entries: VecDeque::new(),
            entries_max: entries_max.max(1),
        }
    }

    /// Adds the next committed txn; the oldest falls out past the bound.
    pub fn push(&mut self, txn: Arc<TxnEntry>) {
        if let Some(last) = self.entries.back() {
            if txn_zxid(last) >= txn_zxid(&txn) {
                return;
            }
        }
        if self.entries.len() == self.entries_max {
            self.entries.pop_front();
        }
        self.entries.push_back(txn);
    }

    /// Drops every entry above `zxid` (TRUNC, or a reload).
    pub fn truncate_after(&mut self, zxid: Zxid) {
        while self.entries.back().is_some_and(|txn| txn_zxid(txn) > zxid) {
            self.entries.pop_back();
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn min_zxid(&self) -> Option<Zxid> {
        self.entries.front().map(|txn| txn_zxid(txn))
    }

    pub fn max_zxid(&self) -> Option<Zxid> {
        self.entries.back().map(|txn| txn_zxid(txn))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<TxnEntry>> {
        self.entries.iter()
    }
}
