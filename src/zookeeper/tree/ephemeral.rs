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
    fn ttl_bounds() {
        assert_eq!(ttl_owner(0), None);
        assert_eq!(ttl_owner(-1), None);
        assert!(ttl_owner(TTL_MS_MAX).is_some());
        assert_eq!(ttl_owner(TTL_MS_MAX + 1), None);
        assert_eq!(TTL_MS_MAX, 0x0000_00ff_ffff_ffff);
    }
}
