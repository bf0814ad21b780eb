//! The session tracker as a pure state machine, after Apache's
//! `SessionTrackerImpl` + `ExpiryQueue`: every session sits in the bucket of its
//! expiry time rounded up to the next multiple of tickTime, so expiry is checked
//! once per tick for whole buckets. Time is an input (`now_ms`, a monotonic
//! millisecond clock); nothing here reads a clock.

use std::collections::{BTreeMap, BTreeSet};

use crate::zookeeper::tree::{IdMap, SessionId};

/// Which connection currently owns a session (the server's connection id).
pub type ConnectionId = u64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub timeout_ms: i32,
    /// Set once a closeSession (from the client or from expiry) is prepared;
    /// a closing session is never touched back to life.
    pub closing: bool,
    pub owner: Option<ConnectionId>,
    expiry_ms: i64,
}

#[derive(Debug, Clone)]
pub struct SessionTracker {
    tick_ms: i64,
    next_session_id: i64,
    sessions: IdMap<SessionId, Session>,
    buckets: BTreeMap<i64, BTreeSet<SessionId>>,
}

impl SessionTracker {
    /// `first_session_id` comes from `SessionId::first_for_server`.
    pub fn new(tick_ms: u32, first_session_id: SessionId) -> SessionTracker {
        assert!(tick_ms > 0, "tickTime must be positive");
        SessionTracker {
            tick_ms: tick_ms as i64,
            next_session_id: first_session_id.0,
            sessions: IdMap::default(),
            buckets: BTreeMap::new(),
        }
    }

    /// `ExpiryQueue.roundToNextInterval`.
    fn round_up(&self, time_ms: i64) -> i64 {
        (time_ms / self.tick_ms + 1) * self.tick_ms
    }

    /// A new session with the next id.
    pub fn create(&mut self, timeout_ms: i32, now_ms: i64) -> SessionId {
        let id = SessionId(self.next_session_id);
        self.next_session_id += 1;
        self.track(id, timeout_ms, now_ms);
        id
    }

    /// Tracks a session (a recovered one, or one just created); true if new.
    pub fn track(&mut self, id: SessionId, timeout_ms: i32, now_ms: i64) -> bool {
        let added = !self.sessions.contains_key(&id);
        if added {
            self.sessions.insert(
                id,
                Session {
                    timeout_ms,
                    closing: false,
                    owner: None,
                    expiry_ms: 0,
                },
            );
        }
        self.update_expiry(id, timeout_ms, now_ms);
        added
    }

    fn update_expiry(&mut self, id: SessionId, timeout_ms: i32, now_ms: i64) {
        let expiry_ms = self.round_up(now_ms + timeout_ms as i64);
        let session = self.sessions.get_mut(&id).expect("tracked session");
        let previous = session.expiry_ms;
        if previous == expiry_ms {
            return;
        }
        session.expiry_ms = expiry_ms;
        if let Some(bucket) = self.buckets.get_mut(&previous) {
            bucket.remove(&id);
            if bucket.is_empty() {
                self.buckets.remove(&previous);
            }
        }
        self.buckets.entry(expiry_ms).or_default().insert(id);
    }

    /// `touchSession`: any packet from the client pushes expiry out. False for
    /// an unknown or closing session (the caller drops the packet).
    pub fn touch(&mut self, id: SessionId, timeout_ms: i32, now_ms: i64) -> bool {
        match self.sessions.get(&id) {
            Some(session) if !session.closing => {
                self.update_expiry(id, timeout_ms, now_ms);
                true
            }
            _ => false,
        }
    }

    pub fn set_closing(&mut self, id: SessionId) {
        if let Some(session) = self.sessions.get_mut(&id) {
            session.closing = true;
        }
    }

    pub fn remove(&mut self, id: SessionId) -> Option<Session> {
        let session = self.sessions.remove(&id)?;
        if let Some(bucket) = self.buckets.get_mut(&session.expiry_ms) {
            bucket.remove(&id);
            if bucket.is_empty() {
                self.buckets.remove(&session.expiry_ms);
            }
        }
        Some(session)
    }

    pub fn get(&self, id: SessionId) -> Option<&Session> {
        self.sessions.get(&id)
    }

    pub fn set_owner(&mut self, id: SessionId, owner: Option<ConnectionId>) {
        if let Some(session) = self.sessions.get_mut(&id) {
            session.owner = owner;
        }
    }

    /// The sessions whose bucket time has come, marked closing; the caller
    /// turns each into a closeSession txn.
    pub fn expire(&mut self, now_ms: i64) -> Vec<(SessionId, i32)> {
        let mut expired = Vec::new();
        while let Some((&time_ms, _)) = self.buckets.first_key_value() {
            if time_ms > now_ms {
                break;
            }
            let bucket = self.buckets.remove(&time_ms).expect("first bucket");
            for id in bucket {
                let session = self.sessions.get_mut(&id).expect("bucketed session");
                session.closing = true;
                // Out of every bucket: expiry happens once.
                session.expiry_ms = i64::MIN;
                expired.push((id, session.timeout_ms));
            }
        }
        expired
    }

    /// When the next bucket expires (`None`: no session is tracked).
    pub fn next_expiry_ms(&self) -> Option<i64> {
        self.buckets.first_key_value().map(|(&time_ms, _)| time_ms)
    }

    /// Every tracked session with its timeout (what a snapshot records).
    pub fn timeouts(&self) -> BTreeMap<SessionId, i32> {
        self.sessions
            .iter()
            .map(|(id, session)| (*id, session.timeout_ms))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Bucket time -> sessions, for `dump` and the admin `dump` command.
    pub fn expiry_buckets(&self) -> &BTreeMap<i64, BTreeSet<SessionId>> {
        &self.buckets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK_MS: u32 = 2000;

    fn tracker() -> SessionTracker {
        SessionTracker::new(TICK_MS, SessionId(0x100))
    }

    #[test]
    fn ids_increase_and_expiry_rounds_up_to_the_tick() {
        let mut sessions = tracker();
        let first = sessions.create(4000, 1);
        let second = sessions.create(4000, 1);
        assert_eq!((first, second), (SessionId(0x100), SessionId(0x101)));
        // 1 + 4000 rounds up to the next multiple of 2000: 6000.
        assert_eq!(sessions.next_expiry_ms(), Some(6000));
        assert!(sessions.expire(5999).is_empty());
        let expired = sessions.expire(6000);
        assert_eq!(expired, vec![(first, 4000), (second, 4000)]);
        assert!(sessions.get(first).unwrap().closing);
        // Expired once only.
        assert!(sessions.expire(60_000).is_empty());
    }

    #[test]
    fn touch_moves_the_session_to_a_later_bucket() {
        let mut sessions = tracker();
        let id = sessions.create(4000, 0);
        assert!(sessions.touch(id, 4000, 3000));
        assert!(sessions.expire(4000).is_empty());
        assert_eq!(sessions.next_expiry_ms(), Some(8000));
        assert_eq!(sessions.expire(8000), vec![(id, 4000)]);
    }

    #[test]
    fn closing_and_unknown_sessions_are_not_touched() {
        let mut sessions = tracker();
        let id = sessions.create(4000, 0);
        sessions.set_closing(id);
        assert!(!sessions.touch(id, 4000, 10));
        assert!(!sessions.touch(SessionId(7), 4000, 10));
        sessions.remove(id);
        assert!(sessions.is_empty());
        assert_eq!(sessions.next_expiry_ms(), None);
    }

    #[test]
    fn recovered_sessions_expire_unless_touched() {
        let mut sessions = tracker();
        assert!(sessions.track(SessionId(42), 6000, 0));
        assert!(!sessions.track(SessionId(42), 6000, 0));
        assert_eq!(sessions.timeouts().get(&SessionId(42)), Some(&6000));
        assert!(sessions.expire(6000).is_empty(), "6000 rounds up to 8000");
        assert_eq!(sessions.expire(8000), vec![(SessionId(42), 6000)]);
    }
}
