//! Record batches (magic v2) as Kafka stores them: the header, its checks, and the
//! one rewrite the broker does on append (assigning offsets).
//!
//! A batch is kept exactly as the producer sent it, compressed or not, so Apache's
//! tools read keel's segments and keel reads Apache's. Only `baseOffset` and
//! `partitionLeaderEpoch` change on append; neither is covered by the CRC, so
//! assigning offsets never re-checksums (log-append-time timestamps do, and are the
//! one case that rewrites covered bytes).

/// `baseOffset` (8) + `batchLength` (4): the part of every batch outside its length.
pub const LOG_OVERHEAD_BYTES: usize = 12;
/// The fixed header of a v2 batch, `LOG_OVERHEAD_BYTES` included.
pub const BATCH_HEADER_BYTES: usize = 61;
/// The first byte the CRC covers (`attributes`).
const CRC_COVERED_FROM: usize = 21;
const MAGIC_OFFSET: usize = 16;
const CRC_OFFSET: usize = 17;

/// Compression codec, from the low three bits of `attributes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

/// Why bytes are not an acceptable batch. Maps onto Kafka's errors: `Corrupt` is
/// CORRUPT_MESSAGE, `UnsupportedMagic` is UNSUPPORTED_FOR_MESSAGE_FORMAT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("record batch is truncated: {needed} bytes needed, {available} available")]
    Truncated { needed: usize, available: usize },
    #[error("record batch length {0} is invalid")]
    InvalidLength(i32),
    #[error("record batch magic {0} is not supported (only v2)")]
    UnsupportedMagic(i8),
    #[error("record batch CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch { stored: u32, computed: u32 },
    #[error("record batch is corrupt: {0}")]
    Corrupt(&'static str),
}

/// The v2 batch header, every field as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    /// Bytes after the length field: the whole batch is `batch_length + 12` bytes.
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

impl BatchHeader {
    /// Parses the header at the start of `bytes`; checks lengths and the magic byte,
    /// not the CRC (see `verify_crc`).
    pub fn parse(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
        if bytes.len() < LOG_OVERHEAD_BYTES + 5 {
            return Err(BatchError::Truncated {
                needed: LOG_OVERHEAD_BYTES + 5,
                available: bytes.len(),
            });
        }
        let batch_length = read_i32(bytes, 8);
        let magic = bytes[MAGIC_OFFSET] as i8;
        if magic != 2 {
            return Err(BatchError::UnsupportedMagic(magic));
        }
        if (batch_length as i64) < (BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES) as i64 {
            return Err(BatchError::InvalidLength(batch_length));
        }
        if bytes.len() < BATCH_HEADER_BYTES {
            return Err(BatchError::Truncated {
                needed: BATCH_HEADER_BYTES,
                available: bytes.len(),
            });
        }
        let header = BatchHeader {
            base_offset: read_i64(bytes, 0),
            batch_length,
            partition_leader_epoch: read_i32(bytes, 12),
            magic,
            crc: read_u32(bytes, CRC_OFFSET),
            attributes: read_i16(bytes, 21),
            last_offset_delta: read_i32(bytes, 23),
            base_timestamp: read_i64(bytes, 27),
            max_timestamp: read_i64(bytes, 35),
            producer_id: read_i64(bytes, 43),
            producer_epoch: read_i16(bytes, 51),
            base_sequence: read_i32(bytes, 53),
            records_count: read_i32(bytes, 57),
        };
        if header.last_offset_delta < 0 {
            return Err(BatchError::Corrupt("negative last offset delta"));
        }
        if header.records_count < 0 {
            return Err(BatchError::Corrupt("negative record count"));
        }
        Ok(header)
    }

    /// The whole batch's size on disk and on the wire.
    pub fn total_bytes(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD_BYTES
    }

    pub fn last_offset(&self) -> i64 {
        // Wrapping: a corrupt or hostile base offset near i64::MAX gives a
        // meaningless offset (as a release build always did), not a panic.
        self.base_offset.wrapping_add(self.last_offset_delta as i64)
    }

    pub fn compression(&self) -> Result<Compression, BatchError> {
        match self.attributes & 0x07 {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Gzip),
            2 => Ok(Compression::Snappy),
            3 => Ok(Compression::Lz4),
            4 => Ok(Compression::Zstd),
            _ => Err(BatchError::Corrupt("unknown compression codec")),
        }
    }

    /// Timestamps set by the broker on append (`message.timestamp.type=LogAppendTime`).
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & 0x08 != 0
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }

    /// Producer id -1 means the producer is not idempotent.
    pub fn has_producer_id(&self) -> bool {
        self.producer_id >= 0
    }
}

/// Checks the CRC-32C of a whole batch (`bytes` is exactly one batch).
pub fn verify_crc(bytes: &[u8]) -> Result<(), BatchError> {
    let header = BatchHeader::parse(bytes)?;
    if bytes.len() < header.total_bytes() {
        return Err(BatchError::Truncated {
            needed: header.total_bytes(),
            available: bytes.len(),
        });
    }
    let computed = crc32c::crc32c(&bytes[CRC_COVERED_FROM..header.total_bytes()]);
    if computed != header.crc {
        return Err(BatchError::CrcMismatch {
            stored: header.crc,
            computed,
        });
    }
    Ok(())
}

/// Splits concatenated batches (a produce request's records, a segment's bytes).
/// Stops at the first incomplete batch, which a caller reading a segment treats as
/// a torn tail and a caller reading a request treats as corrupt.
pub fn split_batches(bytes: &[u8]) -> BatchIter<'_> {
    BatchIter { bytes, position: 0 }
}

pub struct BatchIter<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> BatchIter<'a> {
    /// Where the next batch starts (after iteration: the end of the last whole batch).
    pub fn position(&self) -> usize {
        self.position
    }
}

impl<'a> Iterator for BatchIter<'a> {
    type Item = Result<(BatchHeader, &'a [u8]), BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.bytes[self.position..];
        if rest.is_empty() {
            return None;
        }
        let header = match BatchHeader::parse(rest) {
            Ok(header) => header,
            Err(error) => {
                // Poison the iterator: nothing after a bad header can be trusted.
                self.bytes = &self.bytes[..self.position];
                return Some(Err(error));
            }
        };
        let total = header.total_bytes();
        if rest.len() < total {
            self.bytes = &self.bytes[..self.position];
            return Some(Err(BatchError::Truncated {
                needed: total,
                available: rest.len(),
            }));
        }
        self.position += total;
        Some(Ok((header, &rest[..total])))
    }
}

/// Rewrites the fields the broker owns on append. With `log_append_time_ms`, the
/// batch's timestamps become the broker's clock and the CRC is recomputed, as Kafka
/// does for topics with `message.timestamp.type=LogAppendTime`.
pub fn assign_offsets(
    batch: &mut [u8],
    base_offset: i64,
    partition_leader_epoch: i32,
    log_append_time_ms: Option<i64>,
) {
    assert!(
        batch.len() >= BATCH_HEADER_BYTES,
        "assign_offsets needs a parsed batch"
    );
    let (header, rest) = batch.split_at_mut(BATCH_HEADER_BYTES);
    let header: &mut [u8; BATCH_HEADER_BYTES] = header.try_into().expect("split at the header");
    assign_offsets_in_header(
        header,
        rest,
        base_offset,
        partition_leader_epoch,
        log_append_time_ms,
    );
}

/// A batch ready to append, in two pieces so the client's bytes need not be copied:
/// its header with the broker's fields set (`assign_offsets` applied), and the rest
/// of the batch as the client sent it.
#[derive(Debug, Clone, Copy)]
pub struct AssignedBatch<'a> {
    pub header: [u8; BATCH_HEADER_BYTES],
    pub rest: &'a [u8],
}

impl<'a> AssignedBatch<'a> {
    /// `assign_offsets` without changing `batch` (exactly one whole batch): only the
    /// header is copied. The CRC, when LogAppendTime changes covered bytes, is
    /// computed over the new header and the untouched rest.
    pub fn new(
        batch: &'a [u8],
        base_offset: i64,
        partition_leader_epoch: i32,
        log_append_time_ms: Option<i64>,
    ) -> AssignedBatch<'a> {
        assert!(
            batch.len() >= BATCH_HEADER_BYTES,
            "AssignedBatch needs a parsed batch"
        );
        let (header, rest) = batch.split_at(BATCH_HEADER_BYTES);
        let mut header: [u8; BATCH_HEADER_BYTES] = header.try_into().expect("split at the header");
        assign_offsets_in_header(
            &mut header,
            rest,
            base_offset,
            partition_leader_epoch,
            log_append_time_ms,
        );
        AssignedBatch { header, rest }
    }

    /// The batch's whole size, header included.
    pub fn total_bytes(&self) -> usize {
        BATCH_HEADER_BYTES + self.rest.len()
    }
}

/// `assign_offsets` on a batch given as its header and the bytes after it.
fn assign_offsets_in_header(
    header: &mut [u8; BATCH_HEADER_BYTES],
    rest: &[u8],
    base_offset: i64,
    partition_leader_epoch: i32,
    log_append_time_ms: Option<i64>,
) {
    header[0..8].copy_from_slice(&base_offset.to_be_bytes());
    header[12..16].copy_from_slice(&partition_leader_epoch.to_be_bytes());
    if let Some(now_ms) = log_append_time_ms {
        let attributes = read_i16(header, 21) | 0x08;
        header[21..23].copy_from_slice(&attributes.to_be_bytes());
        header[35..43].copy_from_slice(&now_ms.to_be_bytes());
        let crc = crc32c::crc32c_append(crc32c::crc32c(&header[CRC_COVERED_FROM..]), rest);
        header[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    }
}

/// Recomputes the CRC of a whole batch after its covered bytes changed.
pub fn update_crc(batch: &mut [u8]) {
    let crc = crc32c::crc32c(&batch[CRC_COVERED_FROM..]);
    batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

fn read_i16(bytes: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([bytes[at], bytes[at + 1]])
}

fn read_i32(bytes: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn read_i64(bytes: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// Test support: builds an uncompressed v2 batch with `count` records whose values
/// are given, the way a Java producer lays it out.
#[cfg(test)]
pub(crate) fn test_batch(base_offset: i64, timestamp_ms: i64, values: &[&[u8]]) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, value: i64) {
        let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
        loop {
            if zigzag < 0x80 {
                out.push(zigzag as u8);
                return;
            }
            out.push((zigzag as u8 & 0x7f) | 0x80);
            zigzag >>= 7;
        }
    }
    let mut records = Vec::new();
    for (index, value) in values.iter().enumerate() {
        let mut body = vec![0u8]; // record attributes
        varint(&mut body, 0); // timestamp delta
        varint(&mut body, index as i64); // offset delta
        varint(&mut body, -1); // null key
        varint(&mut body, value.len() as i64);
        body.extend_from_slice(value);
        varint(&mut body, 0); // headers
        varint(&mut records, body.len() as i64);
        records.extend_from_slice(&body);
    }
    let mut batch = Vec::new();
    batch.extend_from_slice(&base_offset.to_be_bytes());
    let batch_length = (BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES + records.len()) as i32;
    batch.extend_from_slice(&batch_length.to_be_bytes());
    batch.extend_from_slice(&(-1i32).to_be_bytes()); // partition leader epoch
    batch.push(2); // magic
    batch.extend_from_slice(&[0; 4]); // crc, filled below
    batch.extend_from_slice(&0i16.to_be_bytes()); // attributes
    batch.extend_from_slice(&(values.len() as i32 - 1).to_be_bytes());
    batch.extend_from_slice(&timestamp_ms.to_be_bytes());
    batch.extend_from_slice(&timestamp_ms.to_be_bytes());
    batch.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
    batch.extend_from_slice(&(-1i16).to_be_bytes()); // producer epoch
    batch.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    batch.extend_from_slice(&(values.len() as i32).to_be_bytes());
    batch.extend_from_slice(&records);
    let crc = crc32c::crc32c(&batch[CRC_COVERED_FROM..]);
    batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_verifies_a_batch() {
        let batch = test_batch(0, 1_700_000_000_000, &[b"one", b"two", b"three"]);
        let header = BatchHeader::parse(&batch).unwrap();
        assert_eq!(header.records_count, 3);
        assert_eq!(header.last_offset_delta, 2);
        assert_eq!(header.total_bytes(), batch.len());
        assert_eq!(header.compression().unwrap(), Compression::None);
        assert!(!header.has_producer_id());
        verify_crc(&batch).unwrap();
    }

    #[test]
    fn offsets_are_assigned_without_breaking_the_crc() {
        let mut batch = test_batch(0, 5, &[b"a", b"b"]);
        assign_offsets(&mut batch, 42, 7, None);
        let header = BatchHeader::parse(&batch).unwrap();
        assert_eq!(
            (
                header.base_offset,
                header.last_offset(),
                header.partition_leader_epoch
            ),
            (42, 43, 7)
        );
        verify_crc(&batch).unwrap();
    }

    #[test]
    fn log_append_time_rewrites_timestamp_and_crc() {
        let mut batch = test_batch(0, 5, &[b"a"]);
        assign_offsets(&mut batch, 0, 0, Some(99));
        let header = BatchHeader::parse(&batch).unwrap();
        assert!(header.is_log_append_time());
        assert_eq!(header.max_timestamp, 99);
        verify_crc(&batch).unwrap();
    }

    #[test]
    fn assigned_batch_is_assign_offsets_without_touching_the_input() {
        let original = test_batch(0, 5, &[b"a", b"bb", b"ccc"]);
        for log_append_time_ms in [None, Some(1_700_000_000_123)] {
            let mut in_place = original.clone();
            assign_offsets(&mut in_place, 1234, 9, log_append_time_ms);
            let assigned = AssignedBatch::new(&original, 1234, 9, log_append_time_ms);
            let mut joined = assigned.header.to_vec();
            joined.extend_from_slice(assigned.rest);
            assert_eq!(joined, in_place, "{log_append_time_ms:?}");
            assert_eq!(assigned.total_bytes(), original.len());
            verify_crc(&joined).unwrap();
        }
        assert_eq!(original, test_batch(0, 5, &[b"a", b"bb", b"ccc"]));
    }

    #[test]
    fn flipped_bit_is_a_crc_mismatch() {
        let mut batch = test_batch(0, 5, &[b"payload"]);
        let last = batch.len() - 2;
        batch[last] ^= 1;
        assert!(matches!(
            verify_crc(&batch),
            Err(BatchError::CrcMismatch { .. })
        ));
    }

    #[test]
    fn split_stops_at_a_torn_tail() {
        let mut bytes = test_batch(0, 1, &[b"x"]);
        bytes.extend(test_batch(1, 1, &[b"y"]));
        let whole = bytes.len();
        bytes.extend_from_slice(&test_batch(2, 1, &[b"z"])[..20]);
        let mut iter = split_batches(&bytes);
        assert!(iter.next().unwrap().is_ok());
        assert!(iter.next().unwrap().is_ok());
        assert!(matches!(
            iter.next(),
            Some(Err(BatchError::Truncated { .. }))
        ));
        assert!(iter.next().is_none());
        assert_eq!(iter.position(), whole);
    }

    #[test]
    fn hostile_headers_are_errors_not_panics() {
        assert!(BatchHeader::parse(&[]).is_err());
        let mut batch = test_batch(0, 1, &[b"x"]);
        batch[16] = 1;
        assert_eq!(
            BatchHeader::parse(&batch),
            Err(BatchError::UnsupportedMagic(1))
        );
        let mut batch = test_batch(0, 1, &[b"x"]);
        batch[8..12].copy_from_slice(&(-5i32).to_be_bytes());
        assert_eq!(
            BatchHeader::parse(&batch),
            Err(BatchError::InvalidLength(-5))
        );
        for length in 0..BATCH_HEADER_BYTES {
            let _ = BatchHeader::parse(&test_batch(0, 1, &[b"x"])[..length]);
        }
    }

    #[test]
    fn last_offset_of_a_hostile_base_offset_does_not_overflow() {
        // Found by fuzz/kafka_record_batch: baseOffset is not covered by the CRC.
        let batch = test_batch(i64::MAX, 1, &[b"x", b"y"]);
        let header = BatchHeader::parse(&batch).unwrap();
        assert_eq!(header.last_offset(), i64::MIN);
    }
}
