//! FetchResponse written by hand, so record data can stay in the segment files:
//! the encoder produces a `ResponseFrame` whose record fields are file ranges, sent
//! with `sendfile(2)` by the connection writer.
//!
//! The layout follows Kafka's `FetchResponse.json` (and the kafka-protocol crate's
//! generated encoder, which the tests compare against byte for byte, for every
//! version): v7+ carry the error code and session id, v11+ the preferred read
//! replica, v12+ are flexible (compact arrays, strings and bytes, tagged fields,
//! response header v1), v13+ name topics by id, v16+ carry node endpoints as tag 0.
//! `records` is nullable bytes: its length prefix is written, then the range.
//!
//! The encoder writes only the fields a version carries; values of fields a version
//! lacks are ignored (where kafka-protocol's encoder would refuse them).

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, EpochEndOffset, FetchableTopicResponse, LeaderIdAndEpoch, NodeEndpoint,
    PartitionData, SnapshotId,
};
use kafka_protocol::messages::{FetchResponse, TopicName};
use uuid::Uuid;

use super::frame::{FileRange, FrameBuilder, ResponseFrame};

/// The versions this encoder writes (kafka-protocol 0.18's range).
pub const VERSION_MIN: i16 = 4;
pub const VERSION_MAX: i16 = 18;
/// The first flexible version (compact encodings, tagged fields, header v1).
const FLEXIBLE: i16 = 12;

/// A partition's record data.
#[derive(Debug, Clone)]
pub enum Records {
    /// A null `records` field.
    Null,
    Memory(Bytes),
    /// Whole batches in a segment file, sent from the file.
    File(FileRange),
}

impl Records {
    pub fn len(&self) -> u64 {
        match self {
            Records::Null => 0,
            Records::Memory(bytes) => bytes.len() as u64,
            Records::File(range) => range.length,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, read from the file if they live there.
    pub fn to_bytes(&self) -> std::io::Result<Option<Bytes>> {
        Ok(match self {
            Records::Null => None,
            Records::Memory(bytes) => Some(bytes.clone()),
            Records::File(range) => Some(Bytes::from(range.read_to_vec()?)),
        })
    }
}

impl Default for Records {
    fn default() -> Records {
        Records::Memory(Bytes::new())
    }
}

/// One partition of a FetchResponse; defaults as Kafka's schema.
#[derive(Debug, Clone)]
pub struct PartitionReply {
    pub partition_index: i32,
    pub error_code: i16,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    pub diverging_epoch: EpochEndOffset,
    pub current_leader: LeaderIdAndEpoch,
    pub snapshot_id: SnapshotId,
    pub aborted_transactions: Option<Vec<AbortedTransaction>>,
    pub preferred_read_replica: i32,
    pub records: Records,
}

impl Default for PartitionReply {
    fn default() -> PartitionReply {
        PartitionReply {
            partition_index: 0,
            error_code: 0,
            high_watermark: 0,
            last_stable_offset: -1,
            log_start_offset: -1,
            diverging_epoch: EpochEndOffset::default(),
            current_leader: LeaderIdAndEpoch::default(),
            snapshot_id: SnapshotId::default(),
            // Empty, as Kafka's generated default (what partitions refused before
            // any read carry); `apis::fetch` sets what a read answers.
            aborted_transactions: Some(Vec::new()),
            preferred_read_replica: -1,
            records: Records::default(),
        }
    }
}

/// One topic of a FetchResponse: named up to v12, by id from v13.
#[derive(Debug, Clone, Default)]
pub struct TopicReply {
    pub topic: TopicName,
    pub topic_id: Uuid,
    pub partitions: Vec<PartitionReply>,
}

#[derive(Debug, Clone, Default)]
pub struct FetchReply {
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub session_id: i32,
    pub responses: Vec<TopicReply>,
    pub node_endpoints: Vec<NodeEndpoint>,
}

impl FetchReply {
    /// Bytes of record data in the reply.
    pub fn records_bytes(&self) -> u64 {
        self.responses
            .iter()
            .flat_map(|topic| &topic.partitions)
            .map(|partition| partition.records.len())
            .sum()
    }

    /// The same response as kafka-protocol's message, record data read into memory.
    pub fn to_message(&self) -> std::io::Result<FetchResponse> {
        let mut response = FetchResponse::default();
        response.throttle_time_ms = self.throttle_time_ms;
        response.error_code = self.error_code;
        response.session_id = self.session_id;
        response.node_endpoints = self.node_endpoints.clone();
        for topic in &self.responses {
            let mut out = FetchableTopicResponse::default();
            out.topic = topic.topic.clone();
            out.topic_id = topic.topic_id;
            for partition in &topic.partitions {
                let mut data = PartitionData::default();
                data.partition_index = partition.partition_index;
                data.error_code = partition.error_code;
                data.high_watermark = partition.high_watermark;
                data.last_stable_offset = partition.last_stable_offset;
                data.log_start_offset = partition.log_start_offset;
                data.diverging_epoch = partition.diverging_epoch.clone();
                data.current_leader = partition.current_leader.clone();
                data.snapshot_id = partition.snapshot_id.clone();
                data.aborted_transactions = partition.aborted_transactions.clone();
                data.preferred_read_replica = partition.preferred_read_replica.into();
                data.records = partition.records.to_bytes()?;
                out.partitions.push(data);
            }
            response.responses.push(out);
        }
        Ok(response)
    }
}

/// Encodes the whole frame: length prefix, response header, body.
pub fn encode(
    version: i16,
    correlation_id: i32,
    reply: &FetchReply,
) -> anyhow::Result<ResponseFrame> {
    if !(VERSION_MIN..=VERSION_MAX).contains(&version) {
        anyhow::bail!("FetchResponse v{version} is not supported");
    }
    let flexible = version >= FLEXIBLE;
    let mut frame = FrameBuilder::new();
    let buf = frame.buffer();
    buf.put_i32(correlation_id);
    if flexible {
        put_uvarint(buf, 0); // response header v1: no tagged fields
    }
    buf.put_i32(reply.throttle_time_ms);
    if version >= 7 {
        buf.put_i16(reply.error_code);
        buf.put_i32(reply.session_id);
    }
    put_array_len(buf, flexible, reply.responses.len())?;
    for topic in &reply.responses {
        let buf = frame.buffer();
        if version <= 12 {
            put_string(buf, flexible, topic.topic.0.as_bytes())?;
        }
        if version >= 13 {
            buf.put_slice(topic.topic_id.as_bytes());
        }
        put_array_len(buf, flexible, topic.partitions.len())?;
        for partition in &topic.partitions {
            encode_partition(&mut frame, version, partition)?;
        }
        if flexible {
            put_uvarint(frame.buffer(), 0); // topic tagged fields
        }
    }
    if flexible {
        let buf = frame.buffer();
        if version >= 16 && !reply.node_endpoints.is_empty() {
            put_uvarint(buf, 1);
            let mut field = BytesMut::new();
            put_array_len(&mut field, true, reply.node_endpoints.len())?;
            for endpoint in &reply.node_endpoints {
                field.put_i32(endpoint.node_id.0);
                put_string(&mut field, true, endpoint.host.as_bytes())?;
                field.put_i32(endpoint.port);
                match &endpoint.rack {
                    None => put_uvarint(&mut field, 0),
                    Some(rack) => put_string(&mut field, true, rack.as_bytes())?,
                }
                put_uvarint(&mut field, 0);
            }
            put_tagged_field(buf, 0, &field)?;
        } else {
            put_uvarint(buf, 0);
        }
    }
    Ok(frame.finish()?)
}

fn encode_partition(
    frame: &mut FrameBuilder,
    version: i16,
    partition: &PartitionReply,
) -> anyhow::Result<()> {
    let flexible = version >= FLEXIBLE;
    let buf = frame.buffer();
    buf.put_i32(partition.partition_index);
    buf.put_i16(partition.error_code);
    buf.put_i64(partition.high_watermark);
    buf.put_i64(partition.last_stable_offset);
    if version >= 5 {
        buf.put_i64(partition.log_start_offset);
    }
    match &partition.aborted_transactions {
        None => put_null_array(buf, flexible),
        Some(aborted) => {
            put_array_len(buf, flexible, aborted.len())?;
            for transaction in aborted {
                buf.put_i64(transaction.producer_id.0);
                buf.put_i64(transaction.first_offset);
                if flexible {
                    put_uvarint(buf, 0);
                }
            }
        }
    }
    if version >= 11 {
        buf.put_i32(partition.preferred_read_replica);
    }
    match &partition.records {
        Records::Null => put_null_array(buf, flexible),
        Records::Memory(bytes) => {
            put_bytes_len(buf, flexible, bytes.len() as u64)?;
            buf.put_slice(bytes);
        }
        Records::File(range) => {
            put_bytes_len(buf, flexible, range.length)?;
            frame.put_file(range.clone());
        }
    }
    if flexible {
        let buf = frame.buffer();
        let mut tags: Vec<(u32, BytesMut)> = Vec::new();
        if partition.diverging_epoch != EpochEndOffset::default() {
            let mut field = BytesMut::new();
            field.put_i32(partition.diverging_epoch.epoch);
            field.put_i64(partition.diverging_epoch.end_offset);
            put_uvarint(&mut field, 0);
            tags.push((0, field));
        }
        if partition.current_leader != LeaderIdAndEpoch::default() {
            let mut field = BytesMut::new();
            field.put_i32(partition.current_leader.leader_id.0);
            field.put_i32(partition.current_leader.leader_epoch);
            put_uvarint(&mut field, 0);
            tags.push((1, field));
        }
        if partition.snapshot_id != SnapshotId::default() {
            let mut field = BytesMut::new();
            field.put_i64(partition.snapshot_id.end_offset);
            field.put_i32(partition.snapshot_id.epoch);
            put_uvarint(&mut field, 0);
            tags.push((2, field));
        }
        put_uvarint(buf, tags.len() as u32);
        for (tag, field) in &tags {
            put_tagged_field(buf, *tag, field)?;
        }
    }
    Ok(())
}

fn put_uvarint(buf: &mut BytesMut, mut value: u32) {
    while value >= 0x80 {
        buf.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    buf.put_u8(value as u8);
}

fn put_array_len(buf: &mut BytesMut, flexible: bool, len: usize) -> anyhow::Result<()> {
    if flexible {
        let len = u32::try_from(len)
            .ok()
            .and_then(|len| len.checked_add(1))
            .ok_or_else(|| anyhow::anyhow!("array of {len} entries is too long"))?;
        put_uvarint(buf, len);
    } else {
        buf.put_i32(
            i32::try_from(len)
                .map_err(|_| anyhow::anyhow!("array of {len} entries is too long"))?,
        );
    }
    Ok(())
}

/// A null array or null bytes: the encodings agree (-1, or compact 0).
fn put_null_array(buf: &mut BytesMut, flexible: bool) {
    if flexible {
        put_uvarint(buf, 0);
    } else {
        buf.put_i32(-1);
    }
}

fn put_bytes_len(buf: &mut BytesMut, flexible: bool, len: u64) -> anyhow::Result<()> {
    let too_long = || anyhow::anyhow!("{len} bytes of records is too long for one field");
    if flexible {
        let len = u32::try_from(len)
            .ok()
            .and_then(|len| len.checked_add(1))
            .ok_or_else(too_long)?;
        put_uvarint(buf, len);
    } else {
        buf.put_i32(i32::try_from(len).map_err(|_| too_long())?);
    }
    Ok(())
}

fn put_string(buf: &mut BytesMut, flexible: bool, bytes: &[u8]) -> anyhow::Result<()> {
    if flexible {
        put_array_len(buf, true, bytes.len())?;
    } else {
        buf.put_i16(
            i16::try_from(bytes.len())
                .map_err(|_| anyhow::anyhow!("string of {} bytes is too long", bytes.len()))?,
        );
    }
    buf.put_slice(bytes);
    Ok(())
}

fn put_tagged_field(buf: &mut BytesMut, tag: u32, field: &[u8]) -> anyhow::Result<()> {
    put_uvarint(buf, tag);
    put_uvarint(
        buf,
        u32::try_from(field.len()).map_err(|_| anyhow::anyhow!("tagged field is too long"))?,
    );
    buf.put_slice(field);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::Write;
    use std::sync::Arc;

    use kafka_protocol::messages::{ApiKey, ResponseKind};
    use kafka_protocol::protocol::StrBytes;

    use crate::kafka::apis::versioning;
    use crate::kafka::protocol::encode_response;

    fn file_with(bytes: &[u8]) -> Arc<File> {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        Arc::new(file)
    }

    /// kafka-protocol's encoding of the same logical response, after the same
    /// per-version field resets the broker applies to every response.
    fn reference(version: i16, correlation_id: i32, reply: &FetchReply) -> Vec<u8> {
        let mut message = ResponseKind::Fetch(reply.to_message().unwrap());
        versioning::fit(&mut message, version);
        if let ResponseKind::Fetch(fetch) = &mut message {
            for topic in &mut fetch.responses {
                for partition in &mut topic.partitions {
                    // Fields kafka-protocol refuses below their first version.
                    if version < FLEXIBLE {
                        partition.diverging_epoch = Default::default();
                        partition.current_leader = Default::default();
                        partition.snapshot_id = Default::default();
                    }
                }
            }
            if version < 16 {
                fetch.node_endpoints.clear();
            }
        }
        encode_response(ApiKey::Fetch, version, correlation_id, &message)
            .unwrap()
            .to_vec()
    }

    fn check_every_version(reply: &FetchReply) {
        for version in VERSION_MIN..=VERSION_MAX {
            let ours = encode(version, 0x0102_0304, reply).unwrap();
            let bytes = ours.to_vec().unwrap();
            assert_eq!(
                bytes.len() as u64,
                ours.len(),
                "v{version}: announced length"
            );
            let expected = reference(version, 0x0102_0304, reply);
            if bytes != expected {
                let at = bytes
                    .iter()
                    .zip(&expected)
                    .position(|(ours, theirs)| ours != theirs)
                    .unwrap_or(bytes.len().min(expected.len()));
                let window = |bytes: &[u8]| bytes[at..bytes.len().min(at + 16)].to_vec();
                panic!(
                    "v{version}: {} bytes, kafka-protocol {}; first difference at {at}: {:?} vs {:?}",
                    bytes.len(),
                    expected.len(),
                    window(&bytes),
                    window(&expected)
                );
            }
            // The decoder agrees with the length prefix too.
            let announced = i32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
            assert_eq!(announced, bytes.len() - 4, "v{version}: length prefix");
        }
    }

    fn topic(name: &str, id: u128, partitions: Vec<PartitionReply>) -> TopicReply {
        TopicReply {
            topic: TopicName(StrBytes::from_string(name.to_string())),
            topic_id: Uuid::from_u128(id),
            partitions,
        }
    }

    #[test]
    fn empty_response_matches_kafka_protocol() {
        check_every_version(&FetchReply::default());
        check_every_version(&FetchReply {
            throttle_time_ms: 17,
            error_code: 70,
            session_id: 0,
            ..FetchReply::default()
        });
    }

    #[test]
    fn records_from_files_match_kafka_protocol() {
        let segment = file_with(&(0..=255u8).cycle().take(70_000).collect::<Vec<u8>>());
        let other = file_with(b"another segment's batches");
        let partitions = vec![
            PartitionReply {
                partition_index: 0,
                high_watermark: 1000,
                last_stable_offset: 1000,
                log_start_offset: 3,
                records: Records::File(FileRange {
                    file: segment.clone(),
                    position: 100,
                    length: 65_000, // a compact length of three varint bytes
                }),
                ..PartitionReply::default()
            },
            PartitionReply {
                partition_index: 1,
                error_code: 1,
                high_watermark: -1,
                ..PartitionReply::default()
            },
            PartitionReply {
                partition_index: 2,
                records: Records::File(FileRange {
                    file: other,
                    position: 8,
                    length: 10,
                }),
                ..PartitionReply::default()
            },
            PartitionReply {
                partition_index: 3,
                records: Records::Memory(Bytes::from_static(b"in memory")),
                ..PartitionReply::default()
            },
            PartitionReply {
                partition_index: 4,
                records: Records::Null,
                aborted_transactions: None,
                ..PartitionReply::default()
            },
        ];
        let reply = FetchReply {
            throttle_time_ms: 5,
            error_code: 0,
            session_id: 0,
            responses: vec![
                topic("events", 7, partitions),
                topic("", 0, vec![]),
                topic(
                    "ünïcode-topic",
                    u128::MAX,
                    vec![PartitionReply {
                        partition_index: 9,
                        records: Records::File(FileRange {
                            file: segment,
                            position: 0,
                            length: 127, // the largest one-byte compact length ...
                        }),
                        ..PartitionReply::default()
                    }],
                ),
            ],
            node_endpoints: vec![],
        };
        check_every_version(&reply);
        let frame = encode(16, 1, &reply).unwrap();
        assert_eq!(
            frame
                .pieces()
                .iter()
                .filter(|piece| matches!(piece, super::super::frame::Piece::File(_)))
                .count(),
            3,
            "record data stays in the files"
        );
    }

    #[test]
    fn boundary_lengths_match_kafka_protocol() {
        // ... and lengths around every varint and i16 boundary.
        let segment = file_with(&vec![0x5a; 1 << 17]);
        for length in [0u64, 1, 126, 127, 128, 16_382, 16_383, 16_384, 100_000] {
            let reply = FetchReply {
                responses: vec![topic(
                    &"t".repeat(length.min(300) as usize),
                    1,
                    vec![PartitionReply {
                        records: Records::File(FileRange {
                            file: segment.clone(),
                            position: 1,
                            length,
                        }),
                        ..PartitionReply::default()
                    }],
                )],
                ..FetchReply::default()
            };
            check_every_version(&reply);
        }
        // Many topics and partitions: array counts past one varint byte.
        let many = FetchReply {
            responses: (0..130)
                .map(|index| {
                    topic(
                        &format!("topic-{index}"),
                        index,
                        (0..130)
                            .map(|partition| PartitionReply {
                                partition_index: partition,
                                records: Records::File(FileRange {
                                    file: segment.clone(),
                                    position: partition as u64,
                                    length: 3,
                                }),
                                ..PartitionReply::default()
                            })
                            .collect(),
                    )
                })
                .collect(),
            ..FetchReply::default()
        };
        check_every_version(&many);
    }

    #[test]
    fn tagged_fields_and_node_endpoints_match_kafka_protocol() {
        let segment = file_with(b"0123456789abcdef");
        let mut diverging = PartitionReply {
            partition_index: 1,
            error_code: 6,
            diverging_epoch: EpochEndOffset::default().with_epoch(3).with_end_offset(42),
            snapshot_id: SnapshotId::default().with_end_offset(9).with_epoch(2),
            aborted_transactions: Some(vec![
                AbortedTransaction::default()
                    .with_producer_id(77.into())
                    .with_first_offset(5),
                AbortedTransaction::default()
                    .with_producer_id((-1).into())
                    .with_first_offset(i64::MAX),
            ]),
            preferred_read_replica: 2,
            records: Records::File(FileRange {
                file: segment.clone(),
                position: 4,
                length: 12,
            }),
            ..PartitionReply::default()
        };
        diverging.current_leader = LeaderIdAndEpoch::default()
            .with_leader_id(3.into())
            .with_leader_epoch(8);
        let leader_only = PartitionReply {
            partition_index: 2,
            current_leader: LeaderIdAndEpoch::default()
                .with_leader_id(1.into())
                .with_leader_epoch(0),
            records: Records::File(FileRange {
                file: segment,
                position: 0,
                length: 4,
            }),
            ..PartitionReply::default()
        };
        let reply = FetchReply {
            throttle_time_ms: 0,
            error_code: 0,
            session_id: 123_456,
            responses: vec![topic("t", 5, vec![diverging, leader_only])],
            node_endpoints: vec![
                NodeEndpoint::default()
                    .with_node_id(3.into())
                    .with_host(StrBytes::from_static_str("broker-3.example"))
                    .with_port(9092)
                    .with_rack(Some(StrBytes::from_static_str("rack-a"))),
                NodeEndpoint::default()
                    .with_node_id(1.into())
                    .with_host(StrBytes::from_static_str("h"))
                    .with_port(19092),
            ],
        };
        check_every_version(&reply);
    }

    #[test]
    fn versions_outside_the_schema_are_refused() {
        assert!(encode(3, 0, &FetchReply::default()).is_err());
        assert!(encode(19, 0, &FetchReply::default()).is_err());
    }
}
