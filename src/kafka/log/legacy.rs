//! Message formats v0 and v1 (magic 0 and 1), the record format of Produce v0-v2
//! (Kafka 0.8-0.10 clients, and Filebeat with `output.kafka.version` 0.10.x).
//! Kafka 3.9's LogValidator converts such a message set into one v2 batch on
//! append when the log's format is v2; keel stores only v2, so it does the same
//! here, before the usual append path sees the records.
//!
//! A message set is `[offset i64][size i32][message]...`; a message is
//! `crc u32 | magic i8 | attributes i8 | timestamp i64 (v1 only) | key | value`,
//! the CRC-32 (IEEE) covering everything after itself. A compressed message is a
//! wrapper whose value is a compressed inner message set.

use super::batch::{BatchError, BatchHeader};
use super::records::{self, Record};

/// The smallest message: crc, magic, attributes, null key, null value.
const MESSAGE_V0_BYTES_MIN: usize = 4 + 1 + 1 + 4 + 4;
/// Offset and size before every message.
const MESSAGE_OVERHEAD_BYTES: usize = 12;
/// The attribute bits naming the codec (0 none, 1 gzip, 2 snappy, 3 lz4).
const CODEC_MASK: i8 = 0x07;
/// Magic 1: the timestamp is the broker's append time (set by the broker only).
const LOG_APPEND_TIME_FLAG: i8 = 0x08;
/// Kafka's `RecordBatch.NO_TIMESTAMP`: what magic 0 messages carry once converted.
const NO_TIMESTAMP: i64 = -1;
/// The most messages one produce request may carry per partition, whatever their
/// size: bounds the record list built during conversion.
const MESSAGES_MAX: usize = 1 << 20;

/// The magic byte of the first entry of a produce request's records, when there
/// is one (the same position in a v2 batch and in a legacy message set).
pub fn magic(records: &[u8]) -> Option<i8> {
    records.get(16).map(|byte| *byte as i8)
}

/// One message, decoded (its value still compressed when it is a wrapper).
struct Message<'a> {
    magic: i8,
    attributes: i8,
    timestamp_ms: i64,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
}

/// A converted message: what a v2 record needs.
struct Converted {
    timestamp_ms: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
}

/// Converts a v0/v1 message set into one v2 batch (base offset 0, no producer id),
/// compressed with the codec the producer used, as Kafka does when the topic's
/// `compression.type` is `producer`. Offsets the producer wrote are ignored, as
/// the broker assigns them.
pub fn convert_to_v2(message_set: &[u8]) -> Result<Vec<u8>, BatchError> {
    let mut converted = Vec::new();
    let mut codec = records_codec(0)?;
    for message in messages(message_set) {
        let message = message?;
        let message_codec = message.attributes & CODEC_MASK;
        if message_codec == 0 {
            converted.push(converted_record(&message, None));
            continue;
        }
        codec = records_codec(message_codec)?;
        let compressed = message
            .value
            .ok_or(BatchError::Corrupt("compressed message without a value"))?;
        let inner_bytes = records::decompress(codec, compressed)?;
        // Magic 1 wrappers with LogAppendTime give every inner message their time.
        let wrapper_time = (message.magic == 1 && message.attributes & LOG_APPEND_TIME_FLAG != 0)
            .then_some(message.timestamp_ms);
        for inner in messages(&inner_bytes) {
            let inner = inner?;
            if inner.attributes & CODEC_MASK != 0 {
                return Err(BatchError::Corrupt("nested compressed message"));
            }
            converted.push(converted_record(&inner, wrapper_time));
        }
        if converted.len() > MESSAGES_MAX {
            return Err(BatchError::Corrupt("too many messages in one message set"));
        }
    }
    if converted.is_empty() {
        return Err(BatchError::Corrupt("empty message set"));
    }
    build_batch(codec, &converted)
}

fn converted_record(message: &Message<'_>, wrapper_time: Option<i64>) -> Converted {
    let timestamp_ms = match message.magic {
        0 => NO_TIMESTAMP,
        _ => wrapper_time.unwrap_or(message.timestamp_ms),
    };
    Converted {
        timestamp_ms,
        key: message.key.map(<[u8]>::to_vec),
        value: message.value.map(<[u8]>::to_vec),
    }
}

fn records_codec(codec: i8) -> Result<super::batch::Compression, BatchError> {
    use super::batch::Compression;
    match codec {
        0 => Ok(Compression::None),
        1 => Ok(Compression::Gzip),
        2 => Ok(Compression::Snappy),
        3 => Ok(Compression::Lz4),
        _ => Err(BatchError::Corrupt("unknown codec in a v0/v1 message")),
    }
}

fn build_batch(
    codec: super::batch::Compression,
    converted: &[Converted],
) -> Result<Vec<u8>, BatchError> {
    let last_offset_delta = (converted.len() - 1) as i32;
    let max_timestamp = converted
        .iter()
        .map(|record| record.timestamp_ms)
        .max()
        .unwrap_or(NO_TIMESTAMP);
    let header = BatchHeader {
        base_offset: 0,
        batch_length: 0,
        partition_leader_epoch: -1,
        magic: 2,
        crc: 0,
        attributes: codec_attribute(codec),
        last_offset_delta,
        base_timestamp: NO_TIMESTAMP,
        max_timestamp,
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
        records_count: converted.len() as i32,
    };
    // A v2 record's header section with no headers: a zero count.
    const NO_HEADERS: &[u8] = &[0];
    let records: Vec<Record<'_>> = converted
        .iter()
        .enumerate()
        .map(|(index, record)| Record {
            attributes: 0,
            offset: index as i64,
            timestamp_ms: record.timestamp_ms,
            key: record.key.as_deref(),
            value: record.value.as_deref(),
            headers_raw: NO_HEADERS,
        })
        .collect();
    records::rebuild(&header, &records, None)
}

/// The codec bits of a v2 batch's attributes.
fn codec_attribute(codec: super::batch::Compression) -> i16 {
    use super::batch::Compression;
    match codec {
        Compression::None => 0,
        Compression::Gzip => 1,
        Compression::Snappy => 2,
        Compression::Lz4 => 3,
        Compression::Zstd => 4,
    }
}

/// The messages of a set, each checked against its CRC. Unlike a fetch response,
/// a produce request may not end in a partial message.
fn messages(bytes: &[u8]) -> impl Iterator<Item = Result<Message<'_>, BatchError>> {
    let mut at = 0usize;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || at == bytes.len() {
            return None;
        }
        let result = message_at(bytes, at);
        match &result {
            Ok((_, next)) => at = *next,
            Err(_) => failed = true,
        }
        Some(result.map(|(message, _)| message))
    })
}

fn message_at(bytes: &[u8], at: usize) -> Result<(Message<'_>, usize), BatchError> {
    const TRUNCATED: BatchError = BatchError::Corrupt("v0/v1 message set is truncated");
    let overhead = bytes
        .get(at..at + MESSAGE_OVERHEAD_BYTES)
        .ok_or(TRUNCATED)?;
    let size = i32::from_be_bytes(overhead[8..12].try_into().expect("4 bytes"));
    if size < MESSAGE_V0_BYTES_MIN as i32 {
        return Err(BatchError::Corrupt(
            "v0/v1 message is shorter than its header",
        ));
    }
    let start = at + MESSAGE_OVERHEAD_BYTES;
    let end = start.checked_add(size as usize).ok_or(TRUNCATED)?;
    let message = bytes.get(start..end).ok_or(TRUNCATED)?;
    let stored_crc = u32::from_be_bytes(message[..4].try_into().expect("4 bytes"));
    let computed_crc = crc32fast::hash(&message[4..]);
    if stored_crc != computed_crc {
        return Err(BatchError::CrcMismatch {
            stored: stored_crc,
            computed: computed_crc,
        });
    }
    let magic = message[4] as i8;
    let attributes = message[5] as i8;
    let mut rest = &message[6..];
    let timestamp_ms = match magic {
        0 => NO_TIMESTAMP,
        1 => {
            let bytes: [u8; 8] = rest.get(..8).ok_or(TRUNCATED)?.try_into().expect("8 bytes");
            rest = &rest[8..];
            i64::from_be_bytes(bytes)
        }
        _ => return Err(BatchError::Corrupt("a v2 batch inside a v0/v1 message set")),
    };
    let key = nullable_bytes(&mut rest)?;
    let value = nullable_bytes(&mut rest)?;
    if !rest.is_empty() {
        return Err(BatchError::Corrupt("bytes after a v0/v1 message's value"));
    }
    Ok((
        Message {
            magic,
            attributes,
            timestamp_ms,
            key,
            value,
        },
        end,
    ))
}

fn nullable_bytes<'a>(rest: &mut &'a [u8]) -> Result<Option<&'a [u8]>, BatchError> {
    const TRUNCATED: BatchError = BatchError::Corrupt("v0/v1 message is truncated");
    let length_bytes: [u8; 4] = rest.get(..4).ok_or(TRUNCATED)?.try_into().expect("4 bytes");
    let length = i32::from_be_bytes(length_bytes);
    *rest = &rest[4..];
    if length < 0 {
        return Ok(None);
    }
    let value = rest.get(..length as usize).ok_or(TRUNCATED)?;
    *rest = &rest[length as usize..];
    Ok(Some(value))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::kafka::log::batch::{self, Compression};
    use std::io::Write;

    /// A message of `magic` with the given attributes, as a Kafka 0.10 producer writes it.
    pub(crate) fn message(
        magic: i8,
        attributes: i8,
        timestamp_ms: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut body = vec![magic as u8, attributes as u8];
        if magic == 1 {
            body.extend_from_slice(&timestamp_ms.to_be_bytes());
        }
        for field in [key, value] {
            match field {
                None => body.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(bytes) => {
                    body.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                    body.extend_from_slice(bytes);
                }
            }
        }
        let mut message = crc32fast::hash(&body).to_be_bytes().to_vec();
        message.extend_from_slice(&body);
        message
    }

    pub(crate) fn entry(offset: i64, message: &[u8]) -> Vec<u8> {
        let mut out = offset.to_be_bytes().to_vec();
        out.extend_from_slice(&(message.len() as i32).to_be_bytes());
        out.extend_from_slice(message);
        out
    }

    /// (offset, timestamp, key, value) of each record.
    type DecodedRecord = (i64, i64, Option<Vec<u8>>, Option<Vec<u8>>);

    fn decoded(batch_bytes: &[u8]) -> Vec<DecodedRecord> {
        let header = BatchHeader::parse(batch_bytes).unwrap();
        batch::verify_crc(batch_bytes).unwrap();
        let section = records::records_section(&header, batch_bytes).unwrap();
        records::decode(&header, &section)
            .unwrap()
            .into_iter()
            .map(|record| {
                (
                    record.offset,
                    record.timestamp_ms,
                    record.key.map(<[u8]>::to_vec),
                    record.value.map(<[u8]>::to_vec),
                )
            })
            .collect()
    }

    #[test]
    fn uncompressed_v1_messages_become_one_batch() {
        let mut set = entry(0, &message(1, 0, 1_000, Some(b"k1"), Some(b"v1")));
        set.extend(entry(1, &message(1, 0, 2_000, None, Some(b"v2"))));
        set.extend(entry(2, &message(1, 0, 1_500, Some(b"k3"), None)));
        let batch_bytes = convert_to_v2(&set).unwrap();
        let header = BatchHeader::parse(&batch_bytes).unwrap();
        assert_eq!(header.records_count, 3);
        assert_eq!(header.max_timestamp, 2_000);
        assert_eq!(header.producer_id, -1);
        assert_eq!(
            decoded(&batch_bytes),
            vec![
                (0, 1_000, Some(b"k1".to_vec()), Some(b"v1".to_vec())),
                (1, 2_000, None, Some(b"v2".to_vec())),
                (2, 1_500, Some(b"k3".to_vec()), None),
            ]
        );
    }

    #[test]
    fn v0_messages_have_no_timestamp() {
        let set = entry(0, &message(0, 0, 0, None, Some(b"old")));
        let batch_bytes = convert_to_v2(&set).unwrap();
        assert_eq!(
            decoded(&batch_bytes),
            vec![(0, -1, None, Some(b"old".to_vec()))]
        );
    }

    #[test]
    fn gzip_wrapper_keeps_its_codec_and_inner_messages() {
        let mut inner = entry(0, &message(1, 0, 10, None, Some(b"a")));
        inner.extend(entry(1, &message(1, 0, 20, None, Some(b"b"))));
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&inner).unwrap();
        let compressed = encoder.finish().unwrap();
        let set = entry(1, &message(1, 1, 20, None, Some(&compressed)));
        let batch_bytes = convert_to_v2(&set).unwrap();
        let header = BatchHeader::parse(&batch_bytes).unwrap();
        assert_eq!(header.compression().unwrap(), Compression::Gzip);
        assert_eq!(
            decoded(&batch_bytes),
            vec![
                (0, 10, None, Some(b"a".to_vec())),
                (1, 20, None, Some(b"b".to_vec()))
            ]
        );
    }

    #[test]
    fn bad_crc_truncation_and_garbage_are_refused() {
        let mut good = entry(0, &message(1, 0, 1, None, Some(b"v")));
        assert!(convert_to_v2(&good[..good.len() - 1]).is_err());
        let last = good.len() - 1;
        good[last] ^= 1;
        assert!(matches!(
            convert_to_v2(&good),
            Err(BatchError::CrcMismatch { .. })
        ));
        assert!(convert_to_v2(&[]).is_err());
        let mut state = 0x9e37_79b9u32;
        for length in 0..300 {
            let bytes: Vec<u8> = (0..length)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state as u8
                })
                .collect();
            let _ = convert_to_v2(&bytes);
        }
    }
}
