//! Identifier newtypes: transaction ids, session ids and watcher ids.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

/// A ZooKeeper transaction id: the leader epoch in the high 32 bits, a counter in
/// the low 32 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Zxid(pub i64);

impl Zxid {
    pub fn new(epoch: u32, counter: u32) -> Zxid {
        Zxid(((epoch as i64) << 32) | counter as i64)
    }

    pub fn epoch(self) -> u32 {
        (self.0 >> 32) as u32
    }

    pub fn counter(self) -> u32 {
        self.0 as u32
    }

    /// The zxid after this one, as a standalone server takes it (Apache's
    /// `ZooKeeperServer.getNextZxid`: `hzxid.incrementAndGet()`): after
    /// counter 0xffffffff the counter carries into the epoch, so the server
    /// goes on from `(epoch + 1) << 32`. Never panics; past `i64::MAX` it
    /// wraps as Java's long does, 2^63 txns away.
    ///
    /// An ensemble leader must check `counter_would_roll_over` on the zxid
    /// it is about to propose instead of carrying.
    pub fn next(self) -> Zxid {
        Zxid(self.0.wrapping_add(1))
    }

    /// Whether this zxid's counter is 0xffffffff, one short of rolling over
    /// into the epoch. Apache's `Leader.propose` refuses to propose such a
    /// zxid: it shuts the leader down ("zxid lower 32 bits have rolled over,
    /// forcing re-election, and therefore new epoch start", ZOOKEEPER-1277),
    /// and the next leader's epoch starts the counter afresh. So the highest
    /// counter an ensemble uses is 0xfffffffe; followers do not check.
    pub fn counter_would_roll_over(self) -> bool {
        self.counter() == u32::MAX
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "0x{:x}", self.0)
    }
}

/// A client session id. The top byte is the id of the server that created it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SessionId(pub i64);

impl SessionId {
    /// The first session id a server hands out, as Apache's
    /// `SessionTrackerImpl.initializeNextSessionId`: the clock's milliseconds
    /// shifted into the middle bits, the server id in the top byte.
    pub fn first_for_server(server_id: i64, now_ms: i64) -> SessionId {
        let mut next = (((now_ms as u64) << 24) >> 8) as i64;
        next |= server_id << 56;
        // The container owner marker must never be a real session id.
        if next == i64::MIN {
            next += 1;
        }
        SessionId(next)
    }

    pub fn server_id(self) -> i64 {
        (self.0 as u64 >> 56) as i64
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "0x{:x}", self.0)
    }
}

/// Who registered a watch. Opaque to the tree; the server maps it to a
/// connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WatcherId(pub u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zxid_splits_epoch_and_counter() {
        let zxid = Zxid::new(3, 7);
        assert_eq!(zxid.0, 0x3_0000_0007);
        assert_eq!(zxid.epoch(), 3);
        assert_eq!(zxid.counter(), 7);
        assert_eq!(zxid.next(), Zxid::new(3, 8));
        assert_eq!(zxid.to_string(), "0x300000007");
    }

    #[test]
    fn a_standalone_counter_carries_into_the_epoch() {
        let last = Zxid::new(0, u32::MAX);
        assert_eq!(last.next(), Zxid::new(1, 0));
        assert_eq!(last.next().next(), Zxid::new(1, 1));
        assert_eq!(Zxid::new(7, u32::MAX).next(), Zxid::new(8, 0));
        // Java's long wraps; so does this, without a panic.
        assert_eq!(Zxid(i64::MAX).next(), Zxid(i64::MIN));
    }

    #[test]
    fn a_leader_sees_the_roll_over_coming() {
        assert!(!Zxid::new(3, u32::MAX - 1).counter_would_roll_over());
        assert!(Zxid::new(3, u32::MAX - 1).next().counter_would_roll_over());
        assert!(!Zxid::new(4, 0).counter_would_roll_over());
        assert!(!Zxid::new(4, 1).counter_would_roll_over());
    }

    #[test]
    fn first_session_id_carries_the_server_id() {
        let session = SessionId::first_for_server(5, 0x0123_4567_89ab);
        assert_eq!(session.server_id(), 5);
        // The clock's top bits fall off: only 40 bits of milliseconds survive.
        assert_eq!(session.0, 0x0523_4567_89ab_0000);
    }
}

/// A hasher for maps keyed by ids the server hands out itself (session,
/// connection and watcher ids, ACL indexes): FxHash's multiply-rotate, a few
/// instructions where SipHash takes dozens. Never for keys a client chooses
/// freely, such as paths.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(byte as u64);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_i64(&mut self, value: i64) {
        self.write_u64(value as u64);
    }

    fn write_u32(&mut self, value: u32) {
        self.write_u64(value as u64);
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap` keyed by server-assigned ids (see `IdHasher`).
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;
/// A `HashSet` of server-assigned ids (see `IdHasher`).
pub type IdSet<K> = HashSet<K, BuildHasherDefault<IdHasher>>;
