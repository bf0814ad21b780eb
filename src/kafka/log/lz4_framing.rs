//! The LZ4 frame header checksum of magic-0 messages (KAFKA-3160).
//!
//! An LZ4 frame starts with a 4-byte magic number, a frame descriptor and one
//! header-checksum byte (HC): the second byte of the XXH32 (seed 0) of the
//! descriptor. Kafka before 0.10 computed HC over the magic number *and* the
//! descriptor, and message format v0 kept that mistake for compatibility: Kafka's
//! `KafkaLZ4BlockInputStream` ignores HC when reading magic 0, and its output
//! stream writes the broken HC when writing magic 0, so 0.8-0.9 clients read what
//! they wrote. keel's LZ4 library checks HC, so a magic-0 frame gets a correct HC
//! before it is decompressed, and a down-converted magic-0 frame gets the broken
//! one, as Kafka writes it.

use std::borrow::Cow;

const FRAME_MAGIC: [u8; 4] = [0x04, 0x22, 0x4d, 0x18];
/// FLG bits that add bytes to the descriptor: content size (8), dictionary id (4).
const FLAG_CONTENT_SIZE: u8 = 0x08;
const FLAG_DICTIONARY_ID: u8 = 0x01;

/// Which header checksum a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderChecksum {
    /// Over the descriptor, as the LZ4 frame format defines it.
    Standard,
    /// Over the magic number and the descriptor, as Kafka writes magic 0.
    Kafka08,
}

/// `frame` with its header checksum recomputed the `wanted` way; unchanged (and
/// not copied) when it is not an LZ4 frame or already right.
pub fn with_header_checksum(frame: &[u8], wanted: HeaderChecksum) -> Cow<'_, [u8]> {
    let Some(checksum_at) = header_checksum_position(frame) else {
        return Cow::Borrowed(frame);
    };
    let covered = match wanted {
        HeaderChecksum::Standard => &frame[FRAME_MAGIC.len()..checksum_at],
        HeaderChecksum::Kafka08 => &frame[..checksum_at],
    };
    let checksum = (xxh32(covered, 0) >> 8) as u8;
    if frame[checksum_at] == checksum {
        return Cow::Borrowed(frame);
    }
    let mut fixed = frame.to_vec();
    fixed[checksum_at] = checksum;
    Cow::Owned(fixed)
}

/// Where HC sits: after the magic number, FLG, BD and the optional fields.
fn header_checksum_position(frame: &[u8]) -> Option<usize> {
    if frame.get(..FRAME_MAGIC.len())? != FRAME_MAGIC {
        return None;
    }
    let flags = *frame.get(FRAME_MAGIC.len())?;
    let mut at = FRAME_MAGIC.len() + 2;
    if flags & FLAG_CONTENT_SIZE != 0 {
        at += 8;
    }
    if flags & FLAG_DICTIONARY_ID != 0 {
        at += 4;
    }
    (at < frame.len()).then_some(at)
}

const PRIME_1: u32 = 0x9e37_79b1;
const PRIME_2: u32 = 0x85eb_ca77;
const PRIME_3: u32 = 0xc2b2_ae3d;
const PRIME_4: u32 = 0x27d4_eb2f;
const PRIME_5: u32 = 0x1656_67b1;

/// XXH32 of `input` (the frame header is a few bytes; no streaming needed).
fn xxh32(input: &[u8], seed: u32) -> u32 {
    let lane = |bytes: &[u8]| u32::from_le_bytes(bytes.try_into().expect("4 bytes"));
    let round = |accumulator: u32, value: u32| {
        accumulator
            .wrapping_add(value.wrapping_mul(PRIME_2))
            .rotate_left(13)
            .wrapping_mul(PRIME_1)
    };
    let mut stripes = input.chunks_exact(16);
    let mut hash = if input.len() >= 16 {
        let mut accumulators = [
            seed.wrapping_add(PRIME_1).wrapping_add(PRIME_2),
            seed.wrapping_add(PRIME_2),
            seed,
            seed.wrapping_sub(PRIME_1),
        ];
        for stripe in &mut stripes {
            for (index, accumulator) in accumulators.iter_mut().enumerate() {
                *accumulator = round(*accumulator, lane(&stripe[index * 4..index * 4 + 4]));
            }
        }
        accumulators[0]
            .rotate_left(1)
            .wrapping_add(accumulators[1].rotate_left(7))
            .wrapping_add(accumulators[2].rotate_left(12))
            .wrapping_add(accumulators[3].rotate_left(18))
    } else {
        seed.wrapping_add(PRIME_5)
    };
    hash = hash.wrapping_add(input.len() as u32);
    let mut rest = stripes.remainder();
    while rest.len() >= 4 {
        hash = hash
            .wrapping_add(lane(&rest[..4]).wrapping_mul(PRIME_3))
            .rotate_left(17)
            .wrapping_mul(PRIME_4);
        rest = &rest[4..];
    }
    for byte in rest {
        hash = hash
            .wrapping_add((*byte as u32).wrapping_mul(PRIME_5))
            .rotate_left(11)
            .wrapping_mul(PRIME_1);
    }
    hash ^= hash >> 15;
    hash = hash.wrapping_mul(PRIME_2);
    hash ^= hash >> 13;
    hash = hash.wrapping_mul(PRIME_3);
    hash ^ (hash >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::log::batch::Compression;
    use crate::kafka::log::records;

    #[test]
    fn xxh32_reference_values() {
        assert_eq!(xxh32(b"", 0), 0x02cc_5d05);
        assert_eq!(xxh32(b"abc", 0), 0x32d1_53ff);
        assert_eq!(
            xxh32(b"Nobody inspects the spammish repetition", 0),
            0xe229_3b2f
        );
    }

    #[test]
    fn a_kafka_08_frame_decompresses_once_fixed_and_round_trips() {
        let plain = b"magic zero lz4 from a 0.8 producer".repeat(20);
        let frame = records::compress(Compression::Lz4, &plain).unwrap();
        // The library writes the standard checksum: nothing to fix.
        assert!(matches!(
            with_header_checksum(&frame, HeaderChecksum::Standard),
            Cow::Borrowed(_)
        ));
        let broken = with_header_checksum(&frame, HeaderChecksum::Kafka08).into_owned();
        assert_ne!(broken, frame);
        assert!(records::decompress(Compression::Lz4, &broken).is_err());
        let fixed = with_header_checksum(&broken, HeaderChecksum::Standard);
        assert_eq!(
            records::decompress(Compression::Lz4, &fixed).unwrap(),
            plain
        );
    }

    #[test]
    fn other_bytes_pass_through() {
        assert!(matches!(
            with_header_checksum(b"not a frame", HeaderChecksum::Standard),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            with_header_checksum(&FRAME_MAGIC, HeaderChecksum::Standard),
            Cow::Borrowed(_)
        ));
    }
}
