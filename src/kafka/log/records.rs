//! The records inside a v2 batch: decompression, the per-record layout, and
//! rebuilding a batch from a subset of its records (what the log cleaner writes).
//!
//! The broker leaves batches alone on the append path; it looks inside only where
//! Kafka does: the cleaner (keys, tombstones), key checks for compacted topics, and
//! ListOffsets by timestamp (record-level answers). Decompression is bounded, so a
//! hostile batch that inflates without limit is refused rather than exhausting memory.

use std::io::{Read, Write};

use super::batch::{self, BatchError, BatchHeader, Compression, BATCH_HEADER_BYTES};

/// Largest decompressed records section looked at: well past anything a producer
/// sends under `max.message.bytes`, small enough that a compression bomb is refused.
pub const DECOMPRESSED_BYTES_MAX: usize = 256 << 20;

/// Attribute bit for KIP-534's delete horizon: `baseTimestamp` then holds the time
/// after which the cleaner may drop the batch's tombstones.
pub const DELETE_HORIZON_FLAG: i16 = 0x40;

/// One record of a batch, borrowing from the decompressed records section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub attributes: i8,
    pub offset: i64,
    pub timestamp_ms: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    /// The header section as stored (count, then entries), copied as is on rewrite.
    pub headers_raw: &'a [u8],
}

impl Record<'_> {
    pub fn is_tombstone(&self) -> bool {
        self.value.is_none()
    }
}

/// The delete horizon of a batch (KIP-534), if the cleaner has set one.
pub fn delete_horizon_ms(header: &BatchHeader) -> Option<i64> {
    (header.attributes & DELETE_HORIZON_FLAG != 0).then_some(header.base_timestamp)
}

/// The records section of `batch` (a whole v2 batch), decompressed.
pub fn records_section(header: &BatchHeader, batch: &[u8]) -> Result<Vec<u8>, BatchError> {
    let body =
        batch
            .get(BATCH_HEADER_BYTES..header.total_bytes())
            .ok_or(BatchError::Truncated {
                needed: header.total_bytes(),
                available: batch.len(),
            })?;
    decompress(header.compression()?, body)
}

/// Decodes every record of `section` (from `records_section`).
pub fn decode<'a>(header: &BatchHeader, section: &'a [u8]) -> Result<Vec<Record<'a>>, BatchError> {
    let mut reader = Reader {
        bytes: section,
        at: 0,
    };
    // Bounded by the bytes present: every record takes at least 7 bytes.
    let count = (header.records_count.max(0) as usize).min(section.len() / 7 + 1);
    let mut records = Vec::with_capacity(count);
    for _ in 0..header.records_count {
        let length = reader.varint()?;
        if length < 0 {
            return Err(BatchError::Corrupt("negative record length"));
        }
        let end = reader
            .at
            .checked_add(length as usize)
            .filter(|end| *end <= section.len())
            .ok_or(BatchError::Corrupt("record overruns its batch"))?;
        let mut record = Reader {
            bytes: &section[..end],
            at: reader.at,
        };
        let attributes = record.byte()? as i8;
        let timestamp_delta = record.varlong()?;
        let offset_delta = record.varint()?;
        let key = record.nullable_bytes()?;
        let value = record.nullable_bytes()?;
        let headers_raw = &section[record.at..end];
        records.push(Record {
            attributes,
            offset: header.base_offset.wrapping_add(offset_delta as i64),
            timestamp_ms: header.base_timestamp.wrapping_add(timestamp_delta),
            key,
            value,
            headers_raw,
        });
        reader.at = end;
    }
    if reader.at != section.len() {
        return Err(BatchError::Corrupt("bytes after the last record"));
    }
    Ok(records)
}

/// Rebuilds `original` keeping only `records` (a subset of its own, in order):
/// base offset, last offset delta, producer fields, leader epoch and codec stay, as
/// in Kafka's `MemoryRecords.filterTo`; `delete_horizon_ms` sets KIP-534's horizon.
pub fn rebuild(
    original: &BatchHeader,
    records: &[Record<'_>],
    delete_horizon_ms: Option<i64>,
) -> Result<Vec<u8>, BatchError> {
    let log_append_time = original.is_log_append_time();
    let base_timestamp = match delete_horizon_ms {
        Some(horizon) => horizon,
        None if log_append_time => original.base_timestamp,
        None => records
            .iter()
            .map(|record| record.timestamp_ms)
            .min()
            .unwrap_or(original.base_timestamp),
    };
    let max_timestamp = if log_append_time {
        original.max_timestamp
    } else {
        records
            .iter()
            .map(|record| record.timestamp_ms)
            .max()
            .unwrap_or(original.max_timestamp)
    };
    let mut section = Vec::new();
    for record in records {
        let mut body = Vec::with_capacity(
            16 + record.key.map_or(0, <[u8]>::len)
                + record.value.map_or(0, <[u8]>::len)
                + record.headers_raw.len(),
        );
        body.push(record.attributes as u8);
        put_varlong(&mut body, record.timestamp_ms.wrapping_sub(base_timestamp));
        put_varint(
            &mut body,
            record.offset.wrapping_sub(original.base_offset) as i32,
        );
        put_nullable_bytes(&mut body, record.key);
        put_nullable_bytes(&mut body, record.value);
        body.extend_from_slice(record.headers_raw);
        put_varint(&mut section, body.len() as i32);
        section.extend_from_slice(&body);
    }
    let compressed = compress(original.compression()?, &section)?;
    let mut attributes = original.attributes & !DELETE_HORIZON_FLAG;
    if delete_horizon_ms.is_some() {
        attributes |= DELETE_HORIZON_FLAG;
    }
    let mut out = Vec::with_capacity(BATCH_HEADER_BYTES + compressed.len());
    out.extend_from_slice(&original.base_offset.to_be_bytes());
    let batch_length = (BATCH_HEADER_BYTES - batch::LOG_OVERHEAD_BYTES + compressed.len()) as i32;
    out.extend_from_slice(&batch_length.to_be_bytes());
    out.extend_from_slice(&original.partition_leader_epoch.to_be_bytes());
    out.push(2);
    out.extend_from_slice(&[0; 4]); // CRC, filled below
    out.extend_from_slice(&attributes.to_be_bytes());
    out.extend_from_slice(&original.last_offset_delta.to_be_bytes());
    out.extend_from_slice(&base_timestamp.to_be_bytes());
    out.extend_from_slice(&max_timestamp.to_be_bytes());
    out.extend_from_slice(&original.producer_id.to_be_bytes());
    out.extend_from_slice(&original.producer_epoch.to_be_bytes());
    out.extend_from_slice(&original.base_sequence.to_be_bytes());
    out.extend_from_slice(&(records.len() as i32).to_be_bytes());
    out.extend_from_slice(&compressed);
    batch::update_crc(&mut out);
    Ok(out)
}

pub(crate) fn decompress(codec: Compression, body: &[u8]) -> Result<Vec<u8>, BatchError> {
    const FAILED: BatchError = BatchError::Corrupt("records do not decompress");
    let mut out = Vec::new();
    let limit = DECOMPRESSED_BYTES_MAX as u64 + 1;
    match codec {
        Compression::None => return Ok(body.to_vec()),
        Compression::Gzip => {
            flate2::read::MultiGzDecoder::new(body)
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|_| FAILED)?;
        }
        Compression::Lz4 => {
            lz4::Decoder::new(body)
                .map_err(|_| FAILED)?
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|_| FAILED)?;
        }
        Compression::Zstd => {
            zstd::stream::read::Decoder::new(body)
                .map_err(|_| FAILED)?
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|_| FAILED)?;
        }
        Compression::Snappy => out = snappy_decompress(body)?,
    }
    if out.len() > DECOMPRESSED_BYTES_MAX {
        return Err(BatchError::Corrupt(
            "records decompress past the size limit",
        ));
    }
    Ok(out)
}

/// xerial-snappy framing (what the Java clients write): a magic header, then blocks
/// of `[u32 length][raw snappy]`. A section without the header is one raw block, as
/// snappy-java also accepts.
const SNAPPY_XERIAL_MAGIC: &[u8; 16] = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01";
const SNAPPY_BLOCK_BYTES: usize = 32 * 1024;

fn snappy_decompress(body: &[u8]) -> Result<Vec<u8>, BatchError> {
    const FAILED: BatchError = BatchError::Corrupt("records do not decompress");
    let mut out = Vec::new();
    let raw_block = |block: &[u8], out: &mut Vec<u8>| -> Result<(), BatchError> {
        let length = snap::raw::decompress_len(block).map_err(|_| FAILED)?;
        if out.len() + length > DECOMPRESSED_BYTES_MAX {
            return Err(BatchError::Corrupt(
                "records decompress past the size limit",
            ));
        }
        let start = out.len();
        out.resize(start + length, 0);
        snap::raw::Decoder::new()
            .decompress(block, &mut out[start..])
            .map_err(|_| FAILED)?;
        Ok(())
    };
    let Some(mut rest) = body.strip_prefix(SNAPPY_XERIAL_MAGIC.as_slice()) else {
        raw_block(body, &mut out)?;
        return Ok(out);
    };
    while !rest.is_empty() {
        let length_bytes: [u8; 4] = rest.get(..4).ok_or(FAILED)?.try_into().expect("4 bytes");
        let length = u32::from_be_bytes(length_bytes) as usize;
        let block = rest.get(4..4 + length).ok_or(FAILED)?;
        raw_block(block, &mut out)?;
        rest = &rest[4 + length..];
    }
    Ok(out)
}

pub(crate) fn compress(codec: Compression, section: &[u8]) -> Result<Vec<u8>, BatchError> {
    const FAILED: BatchError = BatchError::Corrupt("records do not compress");
    Ok(match codec {
        Compression::None => section.to_vec(),
        Compression::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(section).map_err(|_| FAILED)?;
            encoder.finish().map_err(|_| FAILED)?
        }
        Compression::Snappy => {
            let mut out = SNAPPY_XERIAL_MAGIC.to_vec();
            let mut encoder = snap::raw::Encoder::new();
            for block in section.chunks(SNAPPY_BLOCK_BYTES) {
                let compressed = encoder.compress_vec(block).map_err(|_| FAILED)?;
                out.extend_from_slice(&(compressed.len() as u32).to_be_bytes());
                out.extend_from_slice(&compressed);
            }
            out
        }
        Compression::Lz4 => {
            // The frame Kafka's producer writes: 64 KiB independent blocks, no checksums.
            let mut encoder = lz4::EncoderBuilder::new()
                .block_size(lz4::BlockSize::Max64KB)
                .block_mode(lz4::BlockMode::Independent)
                .checksum(lz4::ContentChecksum::NoChecksum)
                .build(Vec::new())
                .map_err(|_| FAILED)?;
            encoder.write_all(section).map_err(|_| FAILED)?;
            let (out, result) = encoder.finish();
            result.map_err(|_| FAILED)?;
            out
        }
        // Level 3 is zstd-jni's default, what the Java producer uses.
        Compression::Zstd => zstd::stream::encode_all(section, 3).map_err(|_| FAILED)?,
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, BatchError> {
        let byte = *self
            .bytes
            .get(self.at)
            .ok_or(BatchError::Corrupt("record is truncated"))?;
        self.at += 1;
        Ok(byte)
    }

    /// An unsigned LEB128 of at most `max_bytes` bytes.
    fn unsigned(&mut self, max_bytes: u32) -> Result<u64, BatchError> {
        let mut value = 0u64;
        for index in 0..max_bytes {
            let byte = self.byte()?;
            value |= ((byte & 0x7f) as u64) << (7 * index);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(BatchError::Corrupt("varint is too long"))
    }

    fn varint(&mut self) -> Result<i32, BatchError> {
        let raw = self.unsigned(5)? as u32;
        Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
    }

    fn varlong(&mut self) -> Result<i64, BatchError> {
        let raw = self.unsigned(10)?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    fn nullable_bytes(&mut self) -> Result<Option<&'a [u8]>, BatchError> {
        let length = self.varint()?;
        if length < 0 {
            return Ok(None);
        }
        let end = self
            .at
            .checked_add(length as usize)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(BatchError::Corrupt("record field overruns the record"))?;
        let bytes = &self.bytes[self.at..end];
        self.at = end;
        Ok(Some(bytes))
    }
}

fn put_unsigned(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_varint(out: &mut Vec<u8>, value: i32) {
    put_unsigned(out, ((value << 1) ^ (value >> 31)) as u32 as u64);
}

fn put_varlong(out: &mut Vec<u8>, value: i64) {
    put_unsigned(out, ((value << 1) ^ (value >> 63)) as u64);
}

fn put_nullable_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => put_varint(out, -1),
        Some(bytes) => {
            put_varint(out, bytes.len() as i32);
            out.extend_from_slice(bytes);
        }
    }
}

/// Test support: a record's key and value (`None` value: a tombstone).
#[cfg(test)]
pub(crate) type TestEntry<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// Test support: one batch of keyed records (a `None` value is a tombstone) at
/// offsets from 0, timestamps from `timestamp_ms`, in `codec`.
#[cfg(test)]
pub(crate) fn keyed_test_batch(
    codec: Compression,
    timestamp_ms: i64,
    entries: &[TestEntry],
) -> Vec<u8> {
    let values: Vec<&[u8]> = entries.iter().map(|_| &b""[..]).collect();
    let mut header = BatchHeader::parse(&batch::test_batch(0, timestamp_ms, &values))
        .expect("a test batch parses");
    header.attributes = match codec {
        Compression::None => 0,
        Compression::Gzip => 1,
        Compression::Snappy => 2,
        Compression::Lz4 => 3,
        Compression::Zstd => 4,
    };
    let records: Vec<Record> = entries
        .iter()
        .enumerate()
        .map(|(index, (key, value))| Record {
            attributes: 0,
            offset: index as i64,
            timestamp_ms: timestamp_ms + index as i64,
            key: *key,
            value: *value,
            headers_raw: &[0],
        })
        .collect();
    rebuild(&header, &records, None).expect("test records encode")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::log::batch::{assign_offsets, test_batch, verify_crc};

    fn keyed_batch(codec: Compression, entries: &[TestEntry]) -> Vec<u8> {
        keyed_test_batch(codec, 1_000, entries)
    }

    #[test]
    fn uncompressed_rebuilds_decode_with_kafka_protocol() {
        use kafka_protocol::records::RecordBatchDecoder;
        let batch = keyed_batch(
            Compression::None,
            &[
                (Some(b"k"), Some(b"v")),
                (Some(b"t"), None),
                (None, Some(b"w")),
            ],
        );
        let decoded = RecordBatchDecoder::decode(&mut bytes::Bytes::from(batch)).unwrap();
        let records = decoded.records;
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(records[1].value, None);
        assert_eq!(records[2].key, None);
        assert_eq!((records[2].offset, records[2].timestamp), (2, 1_002));
    }

    #[test]
    fn every_codec_round_trips_records() {
        let entries: Vec<TestEntry> = vec![
            (Some(b"k1"), Some(b"v1")),
            (Some(b"k2"), None),
            (None, Some(&[7u8; 70_000])),
        ];
        for codec in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let batch = keyed_batch(codec, &entries);
            verify_crc(&batch).unwrap();
            let header = BatchHeader::parse(&batch).unwrap();
            assert_eq!(header.compression().unwrap(), codec);
            let section = records_section(&header, &batch).unwrap();
            let records = decode(&header, &section).unwrap();
            assert_eq!(records.len(), 3, "{codec:?}");
            assert_eq!(records[0].key, Some(&b"k1"[..]));
            assert!(records[1].is_tombstone());
            assert_eq!(records[2].value.unwrap().len(), 70_000);
            assert_eq!(records[2].offset, 2);
            assert_eq!(records[2].timestamp_ms, 1_002);
        }
    }

    #[test]
    fn rebuilding_a_subset_keeps_offsets_and_the_batch_frame() {
        let mut batch = keyed_batch(
            Compression::Gzip,
            &[
                (Some(b"a"), Some(b"1")),
                (Some(b"b"), Some(b"2")),
                (Some(b"a"), Some(b"3")),
            ],
        );
        assign_offsets(&mut batch, 40, 5, None);
        let header = BatchHeader::parse(&batch).unwrap();
        let section = records_section(&header, &batch).unwrap();
        let records = decode(&header, &section).unwrap();
        let kept = [records[1], records[2]];
        let rebuilt = rebuild(&header, &kept, Some(99_999)).unwrap();
        verify_crc(&rebuilt).unwrap();
        let new_header = BatchHeader::parse(&rebuilt).unwrap();
        assert_eq!(new_header.base_offset, 40);
        assert_eq!(new_header.last_offset(), 42);
        assert_eq!(new_header.records_count, 2);
        assert_eq!(new_header.partition_leader_epoch, 5);
        assert_eq!(delete_horizon_ms(&new_header), Some(99_999));
        assert_eq!(new_header.max_timestamp, 1_002);
        let section = records_section(&new_header, &rebuilt).unwrap();
        let decoded = decode(&new_header, &section).unwrap();
        assert_eq!(
            decoded
                .iter()
                .map(|record| (record.offset, record.timestamp_ms, record.value))
                .collect::<Vec<_>>(),
            vec![(41, 1_001, Some(&b"2"[..])), (42, 1_002, Some(&b"3"[..]))]
        );
    }

    #[test]
    fn an_empty_rebuild_keeps_the_offset_range() {
        let mut batch = test_batch(0, 5, &[b"x", b"y"]);
        assign_offsets(&mut batch, 10, 0, None);
        let header = BatchHeader::parse(&batch).unwrap();
        let empty = rebuild(&header, &[], None).unwrap();
        let parsed = BatchHeader::parse(&empty).unwrap();
        assert_eq!(
            (
                parsed.base_offset,
                parsed.last_offset(),
                parsed.records_count
            ),
            (10, 11, 0)
        );
        assert_eq!(empty.len(), BATCH_HEADER_BYTES);
        verify_crc(&empty).unwrap();
    }

    #[test]
    fn a_compression_bomb_is_refused() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..(DECOMPRESSED_BYTES_MAX >> 20) + 1 {
            encoder.write_all(&zeros).unwrap();
        }
        let body = encoder.finish().unwrap();
        assert!(matches!(
            decompress(Compression::Gzip, &body),
            Err(BatchError::Corrupt(_))
        ));
    }

    #[test]
    fn garbage_records_are_corrupt_not_a_panic() {
        let mut batch = test_batch(0, 5, &[b"x"]);
        let header = BatchHeader::parse(&batch).unwrap();
        let last = batch.len() - 1;
        batch[BATCH_HEADER_BYTES] = 0x7f; // a record length past the batch
        batch[last] = 0xff;
        let section = records_section(&header, &batch).unwrap();
        assert!(decode(&header, &section).is_err());
    }
}
