//! Idempotent-producer bookkeeping for one partition: the per-producer sequence
//! checks that make retried batches land once (Kafka's ProducerStateManager).
//!
//! Pure: batches' producer fields in, a verdict out. The partition rebuilds this
//! state from its log's batch headers on open, so a restart keeps deduplicating.

use std::collections::{HashMap, VecDeque};

/// Kafka remembers the last five batches per producer: a client never has more
/// than five in flight (`max.in.flight.requests.per.connection` <= 5 with idempotence).
const BATCHES_REMEMBERED: usize = 5;

/// A producer's fields of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerBatch {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub first_sequence: i32,
    /// Records in the batch minus one (`lastOffsetDelta`).
    pub last_offset_delta: i32,
}

impl ProducerBatch {
    fn last_sequence(&self) -> i32 {
        // Sequences wrap at i32::MAX, as in Kafka.
        ((self.first_sequence as i64 + self.last_offset_delta as i64) % (i32::MAX as i64 + 1))
            as i32
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RememberedBatch {
    first_sequence: i32,
    last_sequence: i32,
    first_offset: i64,
    last_offset: i64,
}

#[derive(Debug, Clone, Default)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<RememberedBatch>,
}

/// What to do with a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceVerdict {
    /// Append it.
    Append,
    /// Already appended at this first offset: acknowledge again, append nothing.
    Duplicate { first_offset: i64 },
    /// A gap or a step back: OUT_OF_ORDER_SEQUENCE_NUMBER.
    OutOfOrder,
    /// An older epoch than the producer's current one: INVALID_PRODUCER_EPOCH.
    FencedEpoch,
}

#[derive(Debug, Clone, Default)]
pub struct ProducerStates {
    producers: HashMap<i64, ProducerEntry>,
}

impl ProducerStates {
    /// Decides whether `batch` may be appended (no state changes).
    pub fn check(&self, batch: &ProducerBatch) -> SequenceVerdict {
        let Some(entry) = self.producers.get(&batch.producer_id) else {
            // A producer we have no record of (new, or its state aged out with the
            // log): accept, as Kafka does since KIP-360.
            return SequenceVerdict::Append;
        };
        if batch.producer_epoch < entry.epoch {
            return SequenceVerdict::FencedEpoch;
        }
        if batch.producer_epoch > entry.epoch {
            // A bumped epoch restarts sequences at 0.
            return if batch.first_sequence == 0 {
                SequenceVerdict::Append
            } else {
                SequenceVerdict::OutOfOrder
            };
        }
        if let Some(remembered) = entry.batches.iter().find(|r| {
            r.first_sequence == batch.first_sequence && r.last_sequence == batch.last_sequence()
        }) {
            return SequenceVerdict::Duplicate {
                first_offset: remembered.first_offset,
            };
        }
        let last = entry.batches.back().map_or(-1, |r| r.last_sequence);
        let expected = if last == i32::MAX { 0 } else { last + 1 };
        if batch.first_sequence == expected {
            SequenceVerdict::Append
        } else {
            SequenceVerdict::OutOfOrder
        }
    }

    /// Records an appended batch.
    pub fn record(&mut self, batch: &ProducerBatch, first_offset: i64) {
        let entry = self.producers.entry(batch.producer_id).or_default();
        if batch.producer_epoch != entry.epoch {
            entry.epoch = batch.producer_epoch;
            entry.batches.clear();
        }
        entry.batches.push_back(RememberedBatch {
            first_sequence: batch.first_sequence,
            last_sequence: batch.last_sequence(),
            first_offset,
            last_offset: first_offset + batch.last_offset_delta as i64,
        });
        while entry.batches.len() > BATCHES_REMEMBERED {
            entry.batches.pop_front();
        }
    }

    /// Producer id → last offset of its latest batch: the batches the log cleaner
    /// keeps so this state can be rebuilt from the log after compaction.
    pub fn last_batch_offsets(&self) -> HashMap<i64, i64> {
        self.producers
            .iter()
            .filter_map(|(id, entry)| Some((*id, entry.batches.back()?.last_offset)))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.producers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(epoch: i16, first_sequence: i32, records: i32) -> ProducerBatch {
        ProducerBatch {
            producer_id: 7,
            producer_epoch: epoch,
            first_sequence,
            last_offset_delta: records - 1,
        }
    }

    #[test]
    fn in_order_batches_append_and_retries_are_duplicates() {
        let mut states = ProducerStates::default();
        assert_eq!(states.check(&batch(0, 0, 3)), SequenceVerdict::Append);
        states.record(&batch(0, 0, 3), 100);
        assert_eq!(states.check(&batch(0, 3, 2)), SequenceVerdict::Append);
        states.record(&batch(0, 3, 2), 103);
        assert_eq!(
            states.check(&batch(0, 0, 3)),
            SequenceVerdict::Duplicate { first_offset: 100 }
        );
        assert_eq!(
            states.check(&batch(0, 3, 2)),
            SequenceVerdict::Duplicate { first_offset: 103 }
        );
        assert_eq!(states.check(&batch(0, 6, 1)), SequenceVerdict::OutOfOrder);
        assert_eq!(states.check(&batch(0, 4, 1)), SequenceVerdict::OutOfOrder);
    }

    #[test]
    fn epochs_fence_and_restart_sequences() {
        let mut states = ProducerStates::default();
        states.record(&batch(1, 0, 1), 0);
        assert_eq!(states.check(&batch(0, 1, 1)), SequenceVerdict::FencedEpoch);
        assert_eq!(states.check(&batch(2, 5, 1)), SequenceVerdict::OutOfOrder);
        assert_eq!(states.check(&batch(2, 0, 1)), SequenceVerdict::Append);
        states.record(&batch(2, 0, 1), 1);
        assert_eq!(states.check(&batch(2, 1, 1)), SequenceVerdict::Append);
    }

    #[test]
    fn only_five_batches_are_remembered() {
        let mut states = ProducerStates::default();
        for index in 0..7 {
            states.record(&batch(0, index, 1), index as i64);
        }
        assert_eq!(states.check(&batch(0, 1, 1)), SequenceVerdict::OutOfOrder);
        assert_eq!(
            states.check(&batch(0, 2, 1)),
            SequenceVerdict::Duplicate { first_offset: 2 }
        );
    }

    #[test]
    fn sequences_wrap() {
        let mut states = ProducerStates::default();
        states.record(&batch(0, i32::MAX - 1, 2), 0);
        assert_eq!(states.check(&batch(0, 0, 1)), SequenceVerdict::Append);
    }
}
