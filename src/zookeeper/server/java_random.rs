//! `java.util.Random`, bit for bit. Apache derives a session's password from its
//! id with it (`new Random(sessionId ^ superSecret).nextBytes(16 bytes)`), so a
//! client holding a password Apache handed out can re-attach to keel after a
//! restart on the same data, and the reverse.

/// Apache's `ZooKeeperServer.superSecret`.
const SUPER_SECRET: i64 = 0xB341_5C00;
/// The password length Apache hands out.
pub const PASSWORD_BYTES: usize = 16;

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const ADDEND: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;

/// The 48-bit linear congruential generator of `java.util.Random`.
#[derive(Debug, Clone)]
pub struct JavaRandom {
    seed: u64,
}

impl JavaRandom {
    pub fn new(seed: i64) -> JavaRandom {
        JavaRandom {
            seed: (seed as u64 ^ MULTIPLIER) & MASK,
        }
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.seed = self.seed.wrapping_mul(MULTIPLIER).wrapping_add(ADDEND) & MASK;
        (self.seed >> (48 - bits)) as i64 as i32
    }

    pub fn next_int(&mut self) -> i32 {
        self.next(32)
    }

    /// `nextInt(bound)` for a positive bound.
    pub fn next_int_bounded(&mut self, bound: i32) -> i32 {
        assert!(bound > 0, "bound must be positive");
        if bound & -bound == bound {
            return ((bound as i64 * self.next(31) as i64) >> 31) as i32;
        }
        loop {
            let bits = self.next(31);
            let value = bits % bound;
            if bits.wrapping_sub(value).wrapping_add(bound - 1) >= 0 {
                return value;
            }
        }
    }

    /// `nextBytes`: each int fills up to four bytes, low byte first.
    pub fn next_bytes(&mut self, bytes: &mut [u8]) {
        let mut index = 0;
        while index < bytes.len() {
            let mut random = self.next_int();
            let count = (bytes.len() - index).min(4);
            for _ in 0..count {
                bytes[index] = random as u8;
                random >>= 8;
                index += 1;
            }
        }
    }
}

/// The password of a session, exactly as Apache's `generatePasswd`.
pub fn session_password(session_id: i64) -> Vec<u8> {
    let mut password = vec![0; PASSWORD_BYTES];
    JavaRandom::new(session_id ^ SUPER_SECRET).next_bytes(&mut password);
    password
}

/// Apache's `checkPasswd`: session 0 never matches.
pub fn password_matches(session_id: i64, password: &[u8]) -> bool {
    session_id != 0 && password == session_password(session_id).as_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_java_util_random() {
        // Values printed by `new java.util.Random(42)`.
        let mut random = JavaRandom::new(42);
        assert_eq!(random.next_int(), -1_170_105_035);
        assert_eq!(random.next_int(), 234_785_527);
        let mut random = JavaRandom::new(42);
        assert_eq!(random.next_int_bounded(10), 0);
        assert_eq!(random.next_int_bounded(10), 3);
    }

    #[test]
    fn next_bytes_takes_low_bytes_first() {
        let mut random = JavaRandom::new(42);
        let mut bytes = [0u8; 5];
        random.next_bytes(&mut bytes);
        let first = (-1_170_105_035i32).to_le_bytes();
        assert_eq!(&bytes[..4], &first);
        assert_eq!(bytes[4], 234_785_527i32.to_le_bytes()[0]);
    }

    #[test]
    fn passwords_are_per_session_and_checked() {
        let password = session_password(0x0100_0000_0000_0001);
        assert_eq!(password.len(), 16);
        assert!(password_matches(0x0100_0000_0000_0001, &password));
        assert!(!password_matches(0x0100_0000_0000_0002, &password));
        assert!(!password_matches(0, &session_password(0)));
    }
}
