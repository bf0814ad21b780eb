//! Message formats v0 and v1 (magic 0 and 1), the record format of Produce v0-v2
//! (Kafka 0.8-0.10 clients, and Filebeat with `output.kafka.version` 0.10.x).
//! Kafka 3.9's LogValidator converts such a message set into one v2 batch on
//! append when the log's format is v2; keel stores only v2, so it does the same
//! here, before the usual append path sees the records.
//!
//! The other way, Fetch v0-v3 clients read message formats v0 (Fetch v0-v1) and v1
//! (Fetch v2-v3): `down_convert` rewrites the stored v2 batches for them, as Kafka's
//! `RecordsUtil.downConvert` does (headers dropped, control batches skipped, a
//! compressed batch becomes one wrapper message in the same codec).
//!
//! A message set is `[offset i64][size i32][message]...`; a message is
//! `crc u32 | magic i8 | attributes i8 | timestamp i64 (v1 only) | key | value`,
//! the CRC-32 (IEEE) covering everything after itself. A compressed message is a
//! wrapper whose value is a compressed inner message set.

use std::borrow::Cow;

use super::batch::{BatchError, BatchHeader};
use super::lz4_framing::{with_header_checksum, HeaderChecksum};
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

/// Rewrites whole v2 batches as a message set of `magic` (0 or 1) for a Fetch
/// v0-v3 client. A partial batch at the end (a fetch range may end inside one) is
/// left out, as a legacy client would skip it. zstd has no legacy form: Kafka answers
/// UNSUPPORTED_COMPRESSION_TYPE, and so does the caller on `Err(Unsupported)`.
pub fn down_convert(batches: &[u8], magic: i8) -> Result<Vec<u8>, DownConvertError> {
    use super::batch::{self, Compression};
    let mut out = Vec::with_capacity(batches.len() + batches.len() / 4);
    for item in batch::split_batches(batches) {
        let Ok((header, bytes)) = item else {
            break;
        };
        if header.is_control() {
            continue;
        }
        let codec = header.compression().map_err(DownConvertError::Corrupt)?;
        if codec == Compression::Zstd {
            return Err(DownConvertError::Unsupported);
        }
        let section =
            records::records_section(&header, bytes).map_err(DownConvertError::Corrupt)?;
        let decoded = records::decode(&header, &section).map_err(DownConvertError::Corrupt)?;
        let Some(last) = decoded.last() else {
            continue;
        };
        let log_append_time = header.is_log_append_time();
        let timestamp_of = |record: &Record<'_>| {
            if log_append_time {
                header.max_timestamp
            } else {
                record.timestamp_ms
            }
        };
        let time_flag = if magic == 1 && log_append_time {
            LOG_APPEND_TIME_FLAG
        } else {
            0
        };
        if codec == Compression::None {
            for record in &decoded {
                let message = encode_message(
                    magic,
                    time_flag,
                    timestamp_of(record),
                    record.key,
                    record.value,
                );
                put_entry(&mut out, record.offset, &message);
            }
            continue;
        }
        // A wrapper: inner offsets are relative for magic 1 (the wrapper carries the
        // last absolute offset), absolute for magic 0.
        let mut inner = Vec::new();
        for (index, record) in decoded.iter().enumerate() {
            let message = encode_message(magic, 0, timestamp_of(record), record.key, record.value);
            let offset = if magic == 1 {
                index as i64
            } else {
                record.offset
            };
            put_entry(&mut inner, offset, &message);
        }
        let mut compressed = records::compress(codec, &inner).map_err(DownConvertError::Corrupt)?;
        if codec == Compression::Lz4 && magic == 0 {
            // What Kafka writes for magic 0 and 0.8-0.9 clients expect.
            compressed = with_header_checksum(&compressed, HeaderChecksum::Kafka08).into_owned();
        }
        let wrapper_attributes = codec_attribute(codec) as i8 | time_flag;
        let wrapper_time = decoded
            .iter()
            .map(timestamp_of)
            .max()
            .unwrap_or(NO_TIMESTAMP);
        let wrapper = encode_message(
            magic,
            wrapper_attributes,
            wrapper_time,
            None,
            Some(&compressed),
        );
        put_entry(&mut out, last.offset, &wrapper);
    }
    Ok(out)
}

/// Why a batch cannot be read as a legacy message set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DownConvertError {
    #[error("zstd batches have no v0/v1 form")]
    Unsupported,
    #[error(transparent)]
    Corrupt(BatchError),
}

/// One v0/v1 message with its CRC.
fn encode_message(
    magic: i8,
    attributes: i8,
    timestamp_ms: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Vec<u8> {
    let mut message = Vec::with_capacity(
        4 + 2 + 8 + 8 + key.map_or(0, <[u8]>::len) + value.map_or(0, <[u8]>::len),
    );
    message.extend_from_slice(&[0; 4]); // CRC, filled below
    message.push(magic as u8);
    message.push(attributes as u8);
    if magic == 1 {
        message.extend_from_slice(&timestamp_ms.to_be_bytes());
    }
    for field in [key, value] {
        match field {
            None => message.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(bytes) => {
                message.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                message.extend_from_slice(bytes);
            }
        }
    }
    let crc = crc32fast::hash(&message[4..]);
    message[..4].copy_from_slice(&crc.to_be_bytes());
    message
}

fn put_entry(out: &mut Vec<u8>, offset: i64, message: &[u8]) {
    out.extend_from_slice(&offset.to_be_bytes());
    out.extend_from_slice(&(message.len() as i32).to_be_bytes());
    out.extend_from_slice(message);
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
        // Magic 0 LZ4 carries Kafka 0.8's header checksum (see lz4_framing).
        let compressed = if codec == super::batch::Compression::Lz4 && message.magic == 0 {
            with_header_checksum(compressed, HeaderChecksum::Standard)
        } else {
            Cow::Borrowed(compressed)
        };
        let inner_bytes = records::decompress(codec, &compressed)?;
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
    fn down_conversion_round_trips_through_the_up_conversion() {
        use crate::kafka::log::batch::BatchHeader;
        for codec in [0i8, 1, 2, 3] {
            // Up: a legacy set (wrapped when compressed) to a v2 batch at offset 40.
            let mut plain = entry(0, &message(1, 0, 10, Some(b"k"), Some(b"a")));
            plain.extend(entry(1, &message(1, 0, 20, None, Some(b"b"))));
            let set = if codec == 0 {
                plain
            } else {
                let compressed = records::compress(records_codec(codec).unwrap(), &plain).unwrap();
                entry(1, &message(1, codec, 20, None, Some(&compressed)))
            };
            let mut batch_bytes = convert_to_v2(&set).unwrap();
            batch_bytes[..8].copy_from_slice(&40i64.to_be_bytes());
            crate::kafka::log::batch::update_crc(&mut batch_bytes);
            assert_eq!(BatchHeader::parse(&batch_bytes).unwrap().base_offset, 40);
            for magic in [0i8, 1] {
                let legacy = down_convert(&batch_bytes, magic).unwrap();
                let mut seen = Vec::new();
                for message in messages(&legacy) {
                    let message = message.unwrap();
                    assert_eq!(message.magic, magic);
                    if message.attributes & CODEC_MASK == 0 {
                        seen.push((message.timestamp_ms, message.value.map(<[u8]>::to_vec)));
                    } else {
                        // Magic-0 LZ4 goes out with Kafka 0.8's header checksum,
                        // which a reader of magic 0 expects (see lz4_framing).
                        let value = message.value.unwrap();
                        let value = if codec == 3 && magic == 0 {
                            assert!(records::decompress(Compression::Lz4, value).is_err());
                            with_header_checksum(value, HeaderChecksum::Standard)
                        } else {
                            Cow::Borrowed(value)
                        };
                        let inner =
                            records::decompress(records_codec(codec).unwrap(), &value).unwrap();
                        for inner in messages(&inner) {
                            let inner = inner.unwrap();
                            seen.push((inner.timestamp_ms, inner.value.map(<[u8]>::to_vec)));
                        }
                    }
                }
                let expected_times = if magic == 0 { [-1, -1] } else { [10, 20] };
                assert_eq!(
                    seen,
                    vec![
                        (expected_times[0], Some(b"a".to_vec())),
                        (expected_times[1], Some(b"b".to_vec()))
                    ],
                    "codec {codec} magic {magic}"
                );
                // Absolute offsets on the outer entries: the last one is 41.
                let outer_last = legacy.len();
                let _ = outer_last;
                let first_offset = i64::from_be_bytes(legacy[..8].try_into().unwrap());
                assert!(
                    first_offset == 40 || first_offset == 41,
                    "codec {codec}: {first_offset}"
                );
            }
        }
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
