//! What a znode's `ephemeralOwner` encodes (Apache's `EphemeralType`): 0 for a
//! persistent node, a session id for an ephemeral, `i64::MIN` for a container,
//! and, when extended types are enabled, `0xff` in the top byte plus a TTL in
//! milliseconds for a TTL node.

/// `EphemeralType.CONTAINER_EPHEMERAL_OWNER`.
pub const CONTAINER_OWNER: i64 = i64::MIN;

const EXTENDED_MASK: i64 = 0xff00_0000_0000_0000_u64 as i64;
const RESERVED_BITS_MASK: i64 = 0x00ff_ff00_0000_0000;
const EXTENDED_FEATURE_VALUE_MASK: i64 = !(EXTENDED_MASK | RESERVED_BITS_MASK);
const EXTENDED_BIT_TTL: i64 = 0;

/// The longest TTL Apache accepts: about 34 years in milliseconds.
pub const TTL_MS_MAX: i64 = EXTENDED_FEATURE_VALUE_MASK;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EphemeralType {
    /// Persistent (owner 0).
    Void,
    /// An ephemeral owned by a session.
    Normal,
    Container,
    Ttl,
}

impl EphemeralType {
    /// `EphemeralType.get`. With extended types disabled a TTL owner reads as a
    /// session id, exactly as in Apache.
    pub fn of(owner: i64, extended_types_enabled: bool) -> EphemeralType {
        if extended_types_enabled && owner & EXTENDED_MASK == EXTENDED_MASK {
            // Apache throws for an extended feature other than TTL; no such owner
            // can be created, so treat it as the only feature there is.
            let _feature = (owner & RESERVED_BITS_MASK) >> 40;
            return EphemeralType::Ttl;
        }
        if owner == CONTAINER_OWNER {
            EphemeralType::Container
        } else if owner == 0 {
            EphemeralType::Void
        } else {
            EphemeralType::Normal
        }
    }
}

/// `EphemeralType.TTL.toEphemeralOwner`: `None` unless 0 < ttl <= TTL_MS_MAX.
pub fn ttl_owner(ttl_ms: i64) -> Option<i64> {
    if ttl_ms <= 0 || ttl_ms > TTL_MS_MAX {
        return None;
    }
    Some(EXTENDED_MASK | (EXTENDED_BIT_TTL << 40) | ttl_ms)
}

/// The TTL carried by a TTL owner.
pub fn ttl_of(owner: i64) -> i64 {
    owner & EXTENDED_FEATURE_VALUE_MASK
}

/// The iteration order of a session's ephemerals in Apache: `DataTree` keeps
/// them in a `java.util.HashSet`, and closeSession deletes them (and fires
/// their watches) in the order of a `clone()` of that set. This records what
/// that order depends on: each path's insertion sequence and the set's table
/// capacity (16 on first insert, doubled past a 0.75 load factor, never shrunk).
/// Not modelled: HashMap's treeified bins and its resize on a chain of 8 in a
/// table under 64 (8 of one session's paths in one bucket).
#[derive(Debug, Clone, Default)]
pub struct JavaSetOrder {
    next_seq: u64,
    seq: std::collections::HashMap<String, u64>,
    capacity: usize,
}

/// `String.hashCode()` spread as `HashMap.hash` does.
fn java_spread_hash(s: &str) -> u32 {
    let mut h: i32 = 0;
    for unit in s.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(unit as i32);
    }
    let h = h as u32;
    h ^ (h >> 16)
}

/// `HashMap.tableSizeFor`.
fn table_size_for(c: usize) -> usize {
    c.max(1).next_power_of_two()
}

impl JavaSetOrder {
    pub fn insert(&mut self, path: &str) {
        if self.seq.contains_key(path) {
            return;
        }
        self.seq.insert(path.to_string(), self.next_seq);
        self.next_seq += 1;
        if self.capacity == 0 {
            self.capacity = 16;
        }
        while self.seq.len() * 4 > self.capacity * 3 {
            self.capacity *= 2;
        }
    }

    pub fn remove(&mut self, path: &str) {
        self.seq.remove(path);
    }

    /// `paths` in the iteration order of a clone of the set (paths the set
    /// does not hold go last).
    pub fn order(&self, paths: impl IntoIterator<Item = String>) -> Vec<String> {
        let n = self.seq.len();
        let clone_cap = table_size_for((n as f32 / 0.75f32 + 1.0f32) as usize);
        let cap = self.capacity.max(1);
        let mut keyed: Vec<((u32, u32, u64), String)> = paths
            .into_iter()
            .map(|p| {
                let h = java_spread_hash(&p);
                let key = match self.seq.get(&p) {
                    Some(&seq) => (h & (clone_cap as u32 - 1), h & (cap as u32 - 1), seq),
                    None => (u32::MAX, u32::MAX, u64::MAX),
                };
                (key, p)
            })
            .collect();
        keyed.sort();
        keyed.into_iter().map(|(_, p)| p).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_classify_as_apache() {
        assert_eq!(EphemeralType::of(0, true), EphemeralType::Void);
        assert_eq!(EphemeralType::of(0x1234, true), EphemeralType::Normal);
        assert_eq!(
            EphemeralType::of(CONTAINER_OWNER, true),
            EphemeralType::Container
        );
        assert_eq!(
            EphemeralType::of(CONTAINER_OWNER, false),
            EphemeralType::Container
        );
        let owner = ttl_owner(5000).unwrap();
        assert_eq!(owner as u64, 0xff00_0000_0000_1388);
        assert_eq!(EphemeralType::of(owner, true), EphemeralType::Ttl);
        assert_eq!(EphemeralType::of(owner, false), EphemeralType::Normal);
        assert_eq!(ttl_of(owner), 5000);
    }

    #[test]
    fn java_hash_set_order() {
        assert_eq!(java_spread_hash("a"), 97);
        // "Aa" and "BB" share String.hashCode 2112.
        assert_eq!(java_spread_hash("Aa"), java_spread_hash("BB"));
        let mut set = JavaSetOrder::default();
        for p in ["/d/c/b", "/d/a/s-0000000002", "BB", "Aa"] {
            set.insert(p);
        }
        // What java.util.HashSet.clone() iterates for these insertions
        // (clone capacity 8; "BB" before "Aa": same bucket, insertion order).
        let all = ["Aa", "BB", "/d/a/s-0000000002", "/d/c/b"].map(String::from);
        let order = set.order(all);
        let bucket = |p: &str| java_spread_hash(p) & 7;
        for w in order.windows(2) {
            assert!(bucket(&w[0]) <= bucket(&w[1]), "{order:?}");
        }
        let bb = order.iter().position(|p| p == "BB").unwrap();
        let aa = order.iter().position(|p| p == "Aa").unwrap();
        assert!(bb < aa);
        set.remove("BB");
        set.insert("BB");
        let order = set.order(["Aa".to_string(), "BB".to_string()]);
        assert_eq!(order, ["Aa", "BB"]);
    }

    #[test]
    fn java_hash_set_order_after_growth_and_removals() {
        // Inserts and removals replayed in java.util.HashSet (29 left, table
        // grown to 64); the expected order is what its clone() iterated.
        let ops = "-/diff-1/c/s-0000000022,+/diff-1/c/s-0000000006,+/diff-1/b/s-0000000011,+/diff-1/a/s-0000000011,+/diff-1/b/s-0000000000,+/diff-1/b/s-0000000018,+/diff-1/c/s-0000000027,+/diff-1/c/s-0000000018,+/diff-1/b/s-0000000022,+/diff-1/a/s-0000000015,+/diff-1/b/s-0000000002,+/diff-1/b/s-0000000007,+/diff-1/b/s-0000000003,+/diff-1/b/s-0000000024,-/diff-1/a/s-0000000027,+/diff-1/c/s-0000000022,+/diff-1/c/s-0000000015,+/diff-1/c/s-0000000022,+/diff-1/c/s-0000000012,+/diff-1/b/s-0000000027,-/diff-1/c/s-0000000021,-/diff-1/c/s-0000000028,-/diff-1/a/s-0000000017,+/diff-1/a/s-0000000019,+/diff-1/b/s-0000000000,+/diff-1/b/s-0000000019,+/diff-1/a/s-0000000029,+/diff-1/b/s-0000000004,+/diff-1/a/s-0000000001,+/diff-1/a/s-0000000021,+/diff-1/b/s-0000000021,+/diff-1/a/s-0000000010,-/diff-1/b/s-0000000009,+/diff-1/c/s-0000000005,+/diff-1/b/s-0000000018,+/diff-1/b/s-0000000023,+/diff-1/b/s-0000000029,+/diff-1/c/s-0000000003,-/diff-1/a/s-0000000024,-/diff-1/b/s-0000000013";
        let expected = "/diff-1/a/s-0000000010,/diff-1/a/s-0000000011,/diff-1/b/s-0000000011,/diff-1/c/s-0000000012,/diff-1/c/s-0000000027,/diff-1/c/s-0000000005,/diff-1/c/s-0000000006,/diff-1/c/s-0000000003,/diff-1/b/s-0000000002,/diff-1/b/s-0000000024,/diff-1/b/s-0000000003,/diff-1/b/s-0000000004,/diff-1/a/s-0000000001,/diff-1/b/s-0000000027,/diff-1/a/s-0000000029,/diff-1/b/s-0000000007,/diff-1/b/s-0000000029,/diff-1/a/s-0000000021,/diff-1/b/s-0000000021,/diff-1/b/s-0000000000,/diff-1/b/s-0000000022,/diff-1/b/s-0000000023,/diff-1/c/s-0000000022,/diff-1/c/s-0000000018,/diff-1/c/s-0000000015,/diff-1/a/s-0000000015,/diff-1/b/s-0000000018,/diff-1/a/s-0000000019,/diff-1/b/s-0000000019";
        let mut set = JavaSetOrder::default();
        let mut live = std::collections::BTreeSet::new();
        for op in ops.split(',') {
            let (sign, path) = op.split_at(1);
            if sign == "+" {
                set.insert(path);
                live.insert(path.to_string());
            } else {
                set.remove(path);
                live.remove(path);
            }
        }
        assert_eq!(set.order(live).join(","), expected);
    }

    #[test]
    fn ttl_bounds() {
        assert_eq!(ttl_owner(0), None);
        assert_eq!(ttl_owner(-1), None);
        assert!(ttl_owner(TTL_MS_MAX).is_some());
        assert_eq!(ttl_owner(TTL_MS_MAX + 1), None);
        assert_eq!(TTL_MS_MAX, 0x0000_00ff_ffff_ffff);
    }
}
