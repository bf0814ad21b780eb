//! Identifiers of the group coordinator: newtypes for ids, the member id source,
//! and the mapping from a group id to its `__consumer_offsets` partition.
//!
//! Member ids must be fresh and unpredictable in production (Kafka appends a random
//! UUID) but reproducible in tests, so the coordinator takes them from an injected
//! [`MemberIdSource`] instead of drawing randomness itself.

use std::fmt;

/// A consumer group id (`group.id`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupId(pub String);

/// A member id handed out by the coordinator (`<client.id or group.instance.id>-<uuid>`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MemberId(pub String);

/// A static member's `group.instance.id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupInstanceId(pub String);

/// The generation of a classic group; bumped at the end of every join phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GenerationId(pub i32);

/// Chosen by the caller for every request; the coordinator hands it back in
/// [`Effect::Respond`](super::Effect::Respond) so the caller can route the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// Names one [`Effect::Persist`](super::Effect::Persist): the caller reports how
/// its append ended with [`GroupCoordinator::complete_append`](super::GroupCoordinator::complete_append).
/// Handed out in increasing order, which is the order the appends reach the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AppendId(pub u64);

/// A partition of the `__consumer_offsets` topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OffsetsPartition(pub i32);

impl GroupId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl MemberId {
    /// The empty member id a client sends before the coordinator gave it one.
    pub const UNKNOWN: &'static str = "";

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl GroupInstanceId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Java's `String.hashCode()`: `h = 31 * h + c` over UTF-16 code units, wrapping.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(unit as i32))
}

/// The `__consumer_offsets` partition that owns `group_id`:
/// `Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions`, where Kafka's
/// `Utils.abs` maps `i32::MIN` to 0 rather than overflowing.
pub fn partition_for_group(group_id: &str, offsets_topic_partitions: i32) -> i32 {
    assert!(
        offsets_topic_partitions > 0,
        "offsets topic needs partitions"
    );
    let hash = java_string_hash(group_id);
    let positive = if hash == i32::MIN { 0 } else { hash.abs() };
    positive % offsets_topic_partitions
}

/// Where member ids get their unique suffix. Kafka uses `UUID.randomUUID()`.
pub trait MemberIdSource: Send {
    /// A fresh suffix in Java's UUID text form (`8-4-4-4-12` lowercase hex).
    fn next_uuid(&mut self) -> String;
}

/// Version-4 UUIDs from a xorshift generator: deterministic for a given seed, so a
/// test or simulation replays exactly; the server seeds it from the OS or the clock.
#[derive(Debug, Clone)]
pub struct SeededUuids {
    state: u64,
}

impl SeededUuids {
    pub fn new(seed: u64) -> Self {
        // xorshift must never hold zero, or it stays zero forever.
        Self {
            state: seed ^ 0x9E37_79B9_7F4A_7C15 | 1,
        }
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*: small, fast, good enough for unique ids (not for secrets).
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

impl MemberIdSource for SeededUuids {
    fn next_uuid(&mut self) -> String {
        let high = self.next_u64();
        let low = self.next_u64();
        // Stamp version 4 and the IETF variant, as UUID.randomUUID() does.
        let high = (high & !0xF000) | 0x4000;
        let low = (low & !(0xC000u64 << 48)) | (0x8000u64 << 48);
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            high >> 32,
            (high >> 16) & 0xFFFF,
            high & 0xFFFF,
            low >> 48,
            low & 0xFFFF_FFFF_FFFF
        )
    }
}

/// Ids `00000000-0000-0000-0000-000000000001`, `...002`, ...: readable in test traces.
#[derive(Debug, Clone, Default)]
pub struct CountingUuids {
    next: u64,
}

impl MemberIdSource for CountingUuids {
    fn next_uuid(&mut self) -> String {
        self.next += 1;
        format!("00000000-0000-0000-0000-{:012x}", self.next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_matches_known_values() {
        // Values computed by Java's String.hashCode().
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("console-consumer-12345"), 158_455_506);
        // Characters outside the BMP hash as two UTF-16 surrogates.
        assert_eq!(java_string_hash("\u{1F600}"), 1_772_899);
    }

    #[test]
    fn partition_uses_kafka_abs() {
        assert_eq!(partition_for_group("hello", 50), 99_162_322 % 50);
        assert_eq!(partition_for_group("console-consumer-12345", 50), 6);
        // "polygenelubricants" hashes to i32::MIN; Utils.abs maps it to 0.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(partition_for_group("polygenelubricants", 50), 0);
    }

    #[test]
    fn partitions_match_java_for_negative_and_non_ascii_names() {
        // (name, String.hashCode(), Utils.abs(hash) % 50, % 3), printed by
        // OpenJDK for each name.
        for (name, hash, of_50, of_3) in [
            ("my-group", -1_906_497_762, 12, 0),
            ("console-consumer-42", 1_109_249_087, 37, 2),
            ("grüße", 98_768_023, 23, 1),
            ("消费者组", 871_131_088, 38, 1),
            ("группа", 1_749_938_458, 8, 1),
            ("\u{1F600}-group", -1_198_440_043, 43, 1),
            ("polygenelubricants", i32::MIN, 0, 0),
        ] {
            assert_eq!(java_string_hash(name), hash, "{name}");
            assert_eq!(partition_for_group(name, 50), of_50, "{name}");
            assert_eq!(partition_for_group(name, 3), of_3, "{name}");
        }
        // Kafka's Utils.abs is Math.abs (i32::MIN -> 0), not `hash & 0x7fffffff`:
        // the mask would put "my-group" in partition 36 of 50.
        assert_ne!((-1_906_497_762i32 & 0x7fff_ffff) % 50, 12);
    }

    #[test]
    fn seeded_uuids_look_like_java_uuids_and_repeat_per_seed() {
        let mut a = SeededUuids::new(7);
        let mut b = SeededUuids::new(7);
        let first = a.next_uuid();
        assert_eq!(first, b.next_uuid());
        assert_ne!(first, a.next_uuid());
        assert_eq!(first.len(), 36);
        assert_eq!(&first[14..15], "4");
        assert!(matches!(&first[19..20], "8" | "9" | "a" | "b"));
    }
}
