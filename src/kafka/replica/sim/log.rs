//! An in-memory partition log for the simulation, with Kafka's default durability:
//! appends land in the page cache and only `flush` makes them survive a power loss.

use crate::kafka::replica::state::{AppendedRange, EpochEntry, LogFailure, ReplicaLog};

/// Records one fetch returns at most (the model of `replica.fetch.max.bytes`).
pub const FETCH_RECORDS_MAX: usize = 16;

/// One record: the leader epoch it was written in and a value unique in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub epoch: i32,
    pub value: u64,
}

/// Records with the offset of the first (ignored on a leader append).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub base_offset: i64,
    pub records: Vec<Record>,
}

#[derive(Debug, Clone, Default)]
pub struct MemLog {
    start_offset: i64,
    records: Vec<Record>,
    /// Everything below survives a power loss.
    flushed_offset: i64,
}

impl MemLog {
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    pub fn record_at(&self, offset: i64) -> Option<Record> {
        if offset < self.start_offset {
            return None;
        }
        self.records
            .get((offset - self.start_offset) as usize)
            .copied()
    }

    pub fn flush(&mut self) {
        self.flushed_offset = self.log_end_offset();
    }

    /// A power loss: the unflushed tail is gone. Returns how many records were lost.
    pub fn lose_unflushed(&mut self) -> usize {
        let keep = (self.flushed_offset - self.start_offset).max(0) as usize;
        let lost = self.records.len().saturating_sub(keep);
        self.records.truncate(keep);
        lost
    }
}

impl ReplicaLog for MemLog {
    type Records = Batch;

    fn log_start_offset(&self) -> i64 {
        self.start_offset
    }

    fn log_end_offset(&self) -> i64 {
        self.start_offset + self.records.len() as i64
    }

    fn append_as_leader(
        &mut self,
        records: Batch,
        leader_epoch: i32,
    ) -> Result<AppendedRange, LogFailure> {
        if records.records.is_empty() {
            return Err(LogFailure("empty batch".into()));
        }
        let base_offset = self.log_end_offset();
        for record in records.records {
            self.records.push(Record {
                epoch: leader_epoch,
                value: record.value,
            });
        }
        Ok(AppendedRange {
            base_offset,
            last_offset: self.log_end_offset() - 1,
        })
    }

    fn append_as_follower(&mut self, records: Batch) -> Result<Vec<EpochEntry>, LogFailure> {
        if records.base_offset != self.log_end_offset() {
            return Err(LogFailure(format!(
                "append at {} but the log ends at {}",
                records.base_offset,
                self.log_end_offset()
            )));
        }
        let mut starts = Vec::new();
        for record in records.records {
            let offset = self.log_end_offset();
            if starts
                .last()
                .is_none_or(|last: &EpochEntry| last.epoch != record.epoch)
            {
                starts.push(EpochEntry {
                    epoch: record.epoch,
                    start_offset: offset,
                });
            }
            self.records.push(record);
        }
        Ok(starts)
    }

    fn read(&self, offset: i64) -> Result<Option<Batch>, LogFailure> {
        let from = (offset - self.start_offset).max(0) as usize;
        if from >= self.records.len() {
            return Ok(None);
        }
        let to = (from + FETCH_RECORDS_MAX).min(self.records.len());
        Ok(Some(Batch {
            base_offset: offset,
            records: self.records[from..to].to_vec(),
        }))
    }

    fn truncate_to(&mut self, offset: i64) -> Result<(), LogFailure> {
        let keep = (offset - self.start_offset).max(0) as usize;
        self.records.truncate(keep);
        self.flushed_offset = self.flushed_offset.min(self.log_end_offset());
        Ok(())
    }

    fn truncate_fully_and_start_at(&mut self, offset: i64) -> Result<(), LogFailure> {
        self.records.clear();
        self.start_offset = offset;
        self.flushed_offset = offset;
        Ok(())
    }
}
