//! Adler-32 (RFC 1950), the checksum Apache's txn log puts before every entry
//! and its snapshots seal their streams with (`java.util.zip.Adler32`).
//!
//! Written out here because it is a dozen lines fixed by its specification; the
//! tests pin it to published vectors.

/// The largest prime below 2^16.
const MODULUS: u32 = 65_521;

/// How many bytes can be summed before `b` might overflow a `u32` (zlib's
/// NMAX): deferring the modulo to once per block is what makes it fast.
const BLOCK_BYTES_MAX: usize = 5_552;

/// A running Adler-32, for streams written or read piece by piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adler32 {
    a: u32,
    b: u32,
}

impl Default for Adler32 {
    fn default() -> Self {
        Adler32 { a: 1, b: 0 }
    }
}

impl Adler32 {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        for block in bytes.chunks(BLOCK_BYTES_MAX) {
            for byte in block {
                self.a += u32::from(*byte);
                self.b += self.a;
            }
            self.a %= MODULUS;
            self.b %= MODULUS;
        }
    }

    /// The checksum so far, as Java's `Checksum.getValue()` returns it: an
    /// unsigned 32-bit value in a `long`, which is how Apache writes it.
    pub fn value(&self) -> i64 {
        i64::from((self.b << 16) | self.a)
    }
}

/// The Adler-32 of one byte slice.
pub fn adler32(bytes: &[u8]) -> i64 {
    let mut checksum = Adler32::new();
    checksum.update(bytes);
    checksum.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_test_vectors() {
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"a"), 0x0062_0062);
        assert_eq!(adler32(b"abc"), 0x024d_0127);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        assert_eq!(adler32(b"message digest"), 0x2975_0586);
        assert_eq!(adler32(b"abcdefghijklmnopqrstuvwxyz"), 0x9086_0b20);
    }

    #[test]
    fn long_input_matches_bytewise_definition() {
        // Long enough to cross several deferred-modulo blocks, with bytes of
        // 0xff to push the sums as high as they go.
        let bytes = vec![0xffu8; 3 * BLOCK_BYTES_MAX + 17];
        let (mut a, mut b) = (1u64, 0u64);
        for byte in &bytes {
            a = (a + u64::from(*byte)) % u64::from(MODULUS);
            b = (b + a) % u64::from(MODULUS);
        }
        assert_eq!(adler32(&bytes), ((b << 16) | a) as i64);
    }

    #[test]
    fn streaming_equals_one_shot() {
        let bytes: Vec<u8> = (0..20_000u32).map(|index| (index * 31) as u8).collect();
        let mut checksum = Adler32::new();
        for piece in bytes.chunks(777) {
            checksum.update(piece);
        }
        assert_eq!(checksum.value(), adler32(&bytes));
        // Never negative: Java reads it back as an unsigned 32-bit value.
        assert!(checksum.value() >= 0);
    }
}
