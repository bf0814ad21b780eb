//! A deterministic timer queue: keyed deadlines in, expired keys out.
//!
//! Kafka's coordinator schedules its timeouts by key ("heartbeat-<group>-<member>",
//! "join-<group>", ...): scheduling a key again replaces the old deadline, and
//! cancelling a key forgets it. This is the same contract without a clock: the
//! caller passes `now_ms`, and expired timers come out in deadline order, ties in
//! scheduling order, so a run is reproducible.

use std::collections::{BTreeMap, BTreeSet};

/// Pending timers keyed by `K`, each carrying a payload `A`.
#[derive(Debug)]
pub struct Timers<K: Ord + Clone, A> {
    by_key: BTreeMap<K, (i64, u64, A)>,
    by_deadline: BTreeSet<(i64, u64, K)>,
    /// Breaks ties between equal deadlines by scheduling order.
    sequence: u64,
}

impl<K: Ord + Clone, A> Default for Timers<K, A> {
    fn default() -> Self {
        Self {
            by_key: BTreeMap::new(),
            by_deadline: BTreeSet::new(),
            sequence: 0,
        }
    }
}

impl<K: Ord + Clone, A> Timers<K, A> {
    /// Sets (or replaces) the timer `key` to fire at `deadline_ms`.
    pub fn schedule(&mut self, key: K, deadline_ms: i64, action: A) {
        self.cancel(&key);
        self.sequence += 1;
        self.by_deadline
            .insert((deadline_ms, self.sequence, key.clone()));
        self.by_key
            .insert(key, (deadline_ms, self.sequence, action));
    }

    /// Forgets the timer `key`, if any.
    pub fn cancel(&mut self, key: &K) {
        if let Some((deadline_ms, sequence, _)) = self.by_key.remove(key) {
            let removed = self
                .by_deadline
                .remove(&(deadline_ms, sequence, key.clone()));
            debug_assert!(removed, "timer indexes out of step");
        }
    }

    /// Forgets every timer whose key matches `predicate`.
    pub fn cancel_where(&mut self, predicate: impl Fn(&K) -> bool) {
        let doomed: Vec<K> = self
            .by_key
            .keys()
            .filter(|k| predicate(k))
            .cloned()
            .collect();
        for key in doomed {
            self.cancel(&key);
        }
    }

    /// The earliest deadline, so the caller knows when to call back.
    pub fn next_deadline_ms(&self) -> Option<i64> {
        self.by_deadline
            .first()
            .map(|(deadline_ms, _, _)| *deadline_ms)
    }

    /// Removes and returns the earliest timer due at `now_ms`, if any.
    pub fn pop_expired(&mut self, now_ms: i64) -> Option<(K, A)> {
        let (deadline_ms, _, _) = self.by_deadline.first()?;
        if *deadline_ms > now_ms {
            return None;
        }
        let (_, _, key) = self.by_deadline.pop_first().expect("checked non-empty");
        let (_, _, action) = self.by_key.remove(&key).expect("timer indexes out of step");
        Some((key, action))
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_deadline_then_schedule_order() {
        let mut timers: Timers<&str, u8> = Timers::default();
        timers.schedule("b", 20, 2);
        timers.schedule("a", 10, 1);
        timers.schedule("c", 20, 3);
        assert_eq!(timers.next_deadline_ms(), Some(10));
        assert_eq!(timers.pop_expired(9), None);
        assert_eq!(timers.pop_expired(25), Some(("a", 1)));
        assert_eq!(timers.pop_expired(25), Some(("b", 2)));
        assert_eq!(timers.pop_expired(25), Some(("c", 3)));
        assert_eq!(timers.len(), 0);
    }

    #[test]
    fn rescheduling_replaces_and_cancel_forgets() {
        let mut timers: Timers<&str, u8> = Timers::default();
        timers.schedule("a", 10, 1);
        timers.schedule("a", 30, 2);
        timers.schedule("b", 20, 3);
        timers.cancel(&"b");
        assert_eq!(timers.len(), 1);
        assert_eq!(timers.pop_expired(25), None);
        assert_eq!(timers.pop_expired(30), Some(("a", 2)));
    }
}
