//! Request versions Kafka 3.9 still serves but the kafka-protocol crate no longer
//! reads (Kafka 4 removed them, KIP-896): Produce v0-v2, Fetch v0-v3, ListOffsets
//! v0, and the admin requests of 0.10-1.x AdminClients and tools: CreateTopics
//! v0-v1, DeleteTopics v0, DescribeConfigs v0 and DescribeLogDirs v0; the group
//! offsets of 0.8-0.9 consumers, OffsetCommit v0-v1 and OffsetFetch v0 (v0 keeps
//! the offsets in ZooKeeper); OffsetForLeaderEpoch v0-v1 (brokers before 2.1).
//! Their clients are the seed's era: Filebeat with `output.kafka.version: 0.10.x`,
//! Burrow, 0.10 producers.
//!
//! Requests decode into the typed structs of the nearest version the crate reads,
//! so handlers stay version-agnostic; what that struct cannot hold
//! (ListOffsets v0's `max_num_offsets`) travels in `LegacyRequest`. Responses are
//! written by hand where their layout differs from every version the crate writes.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    ApiKey, CreateAclsRequest, CreateTopicsRequest, CreateTopicsResponse, DeleteAclsRequest,
    DeleteAclsResponse, DeleteTopicsRequest, DescribeAclsRequest, DescribeAclsResponse,
    DescribeConfigsRequest, DescribeConfigsResponse, DescribeLogDirsRequest, FetchRequest,
    ListOffsetsRequest, OffsetCommitRequest, OffsetFetchRequest, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse, ProduceRequest, ProduceResponse, RequestKind, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

/// The oldest version keel reads of each API that has legacy versions here.
pub fn min_legacy_version(api_key: ApiKey) -> Option<i16> {
    match api_key {
        ApiKey::Produce => Some(0),
        ApiKey::Fetch => Some(0),
        ApiKey::ListOffsets => Some(0),
        ApiKey::CreateTopics | ApiKey::DeleteTopics => Some(0),
        ApiKey::DescribeConfigs | ApiKey::DescribeLogDirs => Some(0),
        ApiKey::OffsetCommit | ApiKey::OffsetFetch | ApiKey::OffsetForLeaderEpoch => Some(0),
        ApiKey::DescribeAcls | ApiKey::CreateAcls | ApiKey::DeleteAcls => Some(0),
        _ => None,
    }
}

/// Whether this module, not the crate, decodes `api_key` at `version`.
pub fn decodes(api_key: ApiKey, version: i16) -> bool {
    match api_key {
        ApiKey::Produce => (0..=2).contains(&version),
        ApiKey::Fetch => (0..=3).contains(&version),
        ApiKey::ListOffsets => version == 0,
        ApiKey::CreateTopics => (0..=1).contains(&version),
        ApiKey::DeleteTopics | ApiKey::DescribeConfigs | ApiKey::DescribeLogDirs => version == 0,
        ApiKey::OffsetCommit | ApiKey::OffsetForLeaderEpoch => (0..=1).contains(&version),
        ApiKey::OffsetFetch => version == 0,
        ApiKey::DescribeAcls | ApiKey::CreateAcls | ApiKey::DeleteAcls => version == 0,
        _ => false,
    }
}

/// What a legacy request carries beyond its typed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyRequest {
    /// ListOffsets v0: `max_num_offsets` for each partition, in request order
    /// (topics, then partitions).
    ListOffsetsV0 { max_num_offsets: Vec<Vec<i32>> },
}

/// ListOffsets v0's answer: up to `max_num_offsets` offsets per partition, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOffsetsV0Response {
    pub topics: Vec<(String, Vec<ListOffsetsV0Partition>)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOffsetsV0Partition {
    pub partition_index: i32,
    pub error_code: i16,
    pub old_style_offsets: Vec<i64>,
}

/// Decodes a legacy request body (the bytes after the header).
pub fn decode_body(
    api_key: ApiKey,
    version: i16,
    body: &mut Bytes,
) -> Result<(RequestKind, Option<LegacyRequest>), String> {
    match api_key {
        ApiKey::Produce => {
            // v0-v2 are v3 without the leading nullable transactional id.
            let mut as_v3 = BytesMut::with_capacity(2 + body.len());
            as_v3.put_i16(-1);
            as_v3.put_slice(body);
            body.advance(body.len());
            let mut as_v3 = as_v3.freeze();
            let request =
                ProduceRequest::decode(&mut as_v3, 3).map_err(|error| error.to_string())?;
            // Bytes left over were left over in the original body too; the caller
            // ignores them as Kafka does.
            let _ = version;
            Ok((RequestKind::Produce(request), None))
        }
        ApiKey::ListOffsets => decode_list_offsets_v0(body),
        ApiKey::Fetch => decode_fetch_v0_to_v3(body, version),
        // v0 is v1 without the trailing `validateOnly`; v1 is laid out as v2.
        ApiKey::CreateTopics => decode_as::<CreateTopicsRequest>(body, 2, version == 0)
            .map(|request| (RequestKind::CreateTopics(request), None)),
        // v0 is laid out as v1 (v1 changed throttling only).
        ApiKey::DeleteTopics => decode_as::<DeleteTopicsRequest>(body, 1, false)
            .map(|request| (RequestKind::DeleteTopics(request), None)),
        ApiKey::DescribeLogDirs => decode_as::<DescribeLogDirsRequest>(body, 1, false)
            .map(|request| (RequestKind::DescribeLogDirs(request), None)),
        // v0 is v1 without the trailing `IncludeSynonyms`.
        ApiKey::DescribeConfigs => decode_as::<DescribeConfigsRequest>(body, 1, true)
            .map(|request| (RequestKind::DescribeConfigs(request), None)),
        ApiKey::OffsetCommit => decode_offset_commit_v0_v1(body, version)
            .map(|request| (RequestKind::OffsetCommit(request), None)),
        // v0 is laid out as v1 (v1 moved the offsets from ZooKeeper to the group
        // coordinator; the handler tells them apart by the header's version).
        ApiKey::OffsetFetch => decode_as::<OffsetFetchRequest>(body, 1, false)
            .map(|request| (RequestKind::OffsetFetch(request), None)),
        ApiKey::OffsetForLeaderEpoch => decode_offset_for_leader_epoch_v0_v1(body)
            .map(|request| (RequestKind::OffsetForLeaderEpoch(request), None)),
        ApiKey::DescribeAcls => {
            decode_describe_acls_v0(body).map(|request| (RequestKind::DescribeAcls(request), None))
        }
        ApiKey::CreateAcls => {
            decode_create_acls_v0(body).map(|request| (RequestKind::CreateAcls(request), None))
        }
        ApiKey::DeleteAcls => {
            decode_delete_acls_v0(body).map(|request| (RequestKind::DeleteAcls(request), None))
        }
        other => Err(format!("{other:?} v{version} is not a legacy request")),
    }
}

/// Decodes `body` as version `as_version` of the same request, whose layout it
/// shares; with `add_false`, a `false` is appended first for a bool the newer
/// version adds at the end (with bytes trailing the body, Kafka would ignore them
/// and this reads the first as that bool: no client sends such a thing).
fn decode_as<T: Decodable>(
    body: &mut Bytes,
    as_version: i16,
    add_false: bool,
) -> Result<T, String> {
    let mut bytes = BytesMut::with_capacity(body.len() + 1);
    bytes.put_slice(body);
    body.advance(body.len());
    if add_false {
        bytes.put_u8(0);
    }
    let mut bytes = bytes.freeze();
    T::decode(&mut bytes, as_version).map_err(|error| error.to_string())
}

fn decode_list_offsets_v0(
    body: &mut Bytes,
) -> Result<(RequestKind, Option<LegacyRequest>), String> {
    let mut reader = Reader { bytes: body };
    let mut request = ListOffsetsRequest::default();
    request.replica_id = reader.i32()?.into();
    let mut max_num_offsets = Vec::new();
    let topic_count = reader.count(2 + 4)?;
    for _ in 0..topic_count {
        let mut topic = ListOffsetsTopic::default();
        topic.name = TopicName(StrBytes::from_string(reader.string()?));
        let partition_count = reader.count(4 + 8 + 4)?;
        let mut maxima = Vec::with_capacity(partition_count);
        for _ in 0..partition_count {
            let mut partition = ListOffsetsPartition::default();
            partition.partition_index = reader.i32()?;
            partition.current_leader_epoch = -1;
            partition.timestamp = reader.i64()?;
            maxima.push(reader.i32()?);
            topic.partitions.push(partition);
        }
        max_num_offsets.push(maxima);
        request.topics.push(topic);
    }
    Ok((
        RequestKind::ListOffsets(request),
        Some(LegacyRequest::ListOffsetsV0 { max_num_offsets }),
    ))
}

/// Fetch v0-v3 as the v4 request they mean: no isolation (read uncommitted), no
/// fetch session, `max_bytes` unlimited before v3 (Kafka's default for them).
fn decode_fetch_v0_to_v3(
    body: &mut Bytes,
    version: i16,
) -> Result<(RequestKind, Option<LegacyRequest>), String> {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    let mut reader = Reader { bytes: body };
    let mut request = FetchRequest::default();
    request.replica_id = reader.i32()?.into();
    request.max_wait_ms = reader.i32()?;
    request.min_bytes = reader.i32()?;
    request.max_bytes = if version >= 3 {
        reader.i32()?
    } else {
        i32::MAX
    };
    request.isolation_level = 0;
    request.session_id = 0;
    request.session_epoch = -1;
    let topic_count = reader.count(2 + 4)?;
    for _ in 0..topic_count {
        let mut topic = FetchTopic::default();
        topic.topic = TopicName(StrBytes::from_string(reader.string()?));
        let partition_count = reader.count(4 + 8 + 4)?;
        for _ in 0..partition_count {
            let mut partition = FetchPartition::default();
            partition.partition = reader.i32()?;
            partition.current_leader_epoch = -1;
            partition.fetch_offset = reader.i64()?;
            partition.log_start_offset = -1;
            partition.partition_max_bytes = reader.i32()?;
            topic.partitions.push(partition);
        }
        request.topics.push(topic);
    }
    Ok((RequestKind::Fetch(request), None))
}

/// OffsetCommit v0 (group and offsets only) and v1 (with the generation, the
/// member id and a commit timestamp per partition) as the v2 request they mean:
/// no retention time (the broker's `offsets.retention.minutes`). v1's commit
/// timestamp is not kept: keel stamps every commit with the time it arrives, as
/// Kafka does for the `-1` that clients send (an explicit timestamp would only
/// move the offset's expiry).
fn decode_offset_commit_v0_v1(
    body: &mut Bytes,
    version: i16,
) -> Result<OffsetCommitRequest, String> {
    use kafka_protocol::messages::offset_commit_request::{
        OffsetCommitRequestPartition, OffsetCommitRequestTopic,
    };
    use kafka_protocol::messages::GroupId;
    let mut reader = Reader { bytes: body };
    let mut request = OffsetCommitRequest::default();
    request.group_id = GroupId(StrBytes::from_string(reader.string()?));
    if version >= 1 {
        request.generation_id_or_member_epoch = reader.i32()?;
        request.member_id = StrBytes::from_string(reader.string()?);
    } else {
        request.generation_id_or_member_epoch = -1;
        request.member_id = StrBytes::default();
    }
    request.retention_time_ms = -1;
    let partition_bytes_min = if version >= 1 {
        4 + 8 + 8 + 2
    } else {
        4 + 8 + 2
    };
    let topic_count = reader.count(2 + 4)?;
    for _ in 0..topic_count {
        let mut topic = OffsetCommitRequestTopic::default();
        topic.name = TopicName(StrBytes::from_string(reader.string()?));
        for _ in 0..reader.count(partition_bytes_min)? {
            let mut partition = OffsetCommitRequestPartition::default();
            partition.partition_index = reader.i32()?;
            partition.committed_offset = reader.i64()?;
            partition.committed_leader_epoch = -1;
            if version >= 1 {
                let _commit_timestamp_ms = reader.i64()?;
            }
            partition.committed_metadata = reader.nullable_string()?.map(StrBytes::from_string);
            topic.partitions.push(partition);
        }
        request.topics.push(topic);
    }
    Ok(request)
}

/// OffsetForLeaderEpoch v0-v1 (one layout) as the v2 request without a current
/// leader epoch to fence with; the replica id is v3's default for older versions.
fn decode_offset_for_leader_epoch_v0_v1(
    body: &mut Bytes,
) -> Result<OffsetForLeaderEpochRequest, String> {
    use kafka_protocol::messages::offset_for_leader_epoch_request::{
        OffsetForLeaderPartition, OffsetForLeaderTopic,
    };
    let mut reader = Reader { bytes: body };
    let mut request = OffsetForLeaderEpochRequest::default();
    request.replica_id = (-2).into();
    let topic_count = reader.count(2 + 4)?;
    for _ in 0..topic_count {
        let mut topic = OffsetForLeaderTopic::default();
        topic.topic = TopicName(StrBytes::from_string(reader.string()?));
        for _ in 0..reader.count(4 + 4)? {
            let mut partition = OffsetForLeaderPartition::default();
            partition.partition = reader.i32()?;
            partition.current_leader_epoch = -1;
            partition.leader_epoch = reader.i32()?;
            topic.partitions.push(partition);
        }
        request.topics.push(topic);
    }
    Ok(request)
}

/// The message format a Fetch v0-v3 client reads: v0 for Fetch v0-v1, v1 for v2-v3.
pub fn fetch_magic(version: i16) -> i8 {
    if version >= 2 {
        1
    } else {
        0
    }
}

/// Writes a whole FetchResponse v0-v3 frame (length prefix included), the record
/// data down-converted to the client's message format as Kafka does.
pub fn encode_fetch_response(
    version: i16,
    correlation_id: i32,
    reply: &super::fetch_response::FetchReply,
) -> anyhow::Result<Bytes> {
    use crate::kafka::log::legacy::{down_convert, DownConvertError};
    let magic = fetch_magic(version);
    let mut out = BytesMut::with_capacity(256);
    out.put_i32(0); // length, patched below
    out.put_i32(correlation_id);
    if version >= 1 {
        out.put_i32(reply.throttle_time_ms);
    }
    out.put_i32(reply.responses.len() as i32);
    for topic in &reply.responses {
        put_string(&mut out, topic.topic.as_str());
        out.put_i32(topic.partitions.len() as i32);
        for partition in &topic.partitions {
            let stored = partition.records.to_bytes()?.unwrap_or_default();
            let (error_code, records) = match down_convert(&stored, magic) {
                Ok(records) => (partition.error_code, records),
                Err(DownConvertError::Unsupported) => (
                    kafka_protocol::ResponseError::UnsupportedCompressionType.code(),
                    Vec::new(),
                ),
                Err(DownConvertError::Corrupt(error)) => {
                    tracing::warn!(topic = %topic.topic.as_str(), partition = partition.partition_index, %error, "cannot down-convert stored batches for a Fetch v{version} client");
                    (
                        kafka_protocol::ResponseError::CorruptMessage.code(),
                        Vec::new(),
                    )
                }
            };
            out.put_i32(partition.partition_index);
            out.put_i16(error_code);
            out.put_i64(partition.high_watermark);
            out.put_i32(records.len() as i32);
            out.put_slice(&records);
        }
    }
    let length = (out.len() - 4) as i32;
    out[..4].copy_from_slice(&length.to_be_bytes());
    Ok(out.freeze())
}

/// The pattern type every ACL of the v0 ACL APIs has (they predate KIP-290's
/// prefixed patterns): LITERAL.
const ACL_PATTERN_LITERAL: i8 = 3;

/// DescribeAcls v0: v1's filter without its pattern type.
fn decode_describe_acls_v0(body: &mut Bytes) -> Result<DescribeAclsRequest, String> {
    let mut reader = Reader { bytes: body };
    let mut request = DescribeAclsRequest::default();
    request.resource_type_filter = reader.i8()?;
    request.resource_name_filter = reader.nullable_string()?.map(StrBytes::from_string);
    request.pattern_type_filter = ACL_PATTERN_LITERAL;
    request.principal_filter = reader.nullable_string()?.map(StrBytes::from_string);
    request.host_filter = reader.nullable_string()?.map(StrBytes::from_string);
    request.operation = reader.i8()?;
    request.permission_type = reader.i8()?;
    Ok(request)
}

/// CreateAcls v0: v1's creations without their pattern types.
fn decode_create_acls_v0(body: &mut Bytes) -> Result<CreateAclsRequest, String> {
    use kafka_protocol::messages::create_acls_request::AclCreation;
    let mut reader = Reader { bytes: body };
    let mut request = CreateAclsRequest::default();
    let count = reader.count(1 + 2 + 2 + 2 + 1 + 1)?;
    for _ in 0..count {
        let mut creation = AclCreation::default();
        creation.resource_type = reader.i8()?;
        creation.resource_name = StrBytes::from_string(reader.string()?);
        creation.resource_pattern_type = ACL_PATTERN_LITERAL;
        creation.principal = StrBytes::from_string(reader.string()?);
        creation.host = StrBytes::from_string(reader.string()?);
        creation.operation = reader.i8()?;
        creation.permission_type = reader.i8()?;
        request.creations.push(creation);
    }
    Ok(request)
}

/// DeleteAcls v0: v1's filters without their pattern types.
fn decode_delete_acls_v0(body: &mut Bytes) -> Result<DeleteAclsRequest, String> {
    use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
    let mut reader = Reader { bytes: body };
    let mut request = DeleteAclsRequest::default();
    let count = reader.count(1 + 2 + 2 + 2 + 1 + 1)?;
    for _ in 0..count {
        let mut filter = DeleteAclsFilter::default();
        filter.resource_type_filter = reader.i8()?;
        filter.resource_name_filter = reader.nullable_string()?.map(StrBytes::from_string);
        filter.pattern_type_filter = ACL_PATTERN_LITERAL;
        filter.principal_filter = reader.nullable_string()?.map(StrBytes::from_string);
        filter.host_filter = reader.nullable_string()?.map(StrBytes::from_string);
        filter.operation = reader.i8()?;
        filter.permission_type = reader.i8()?;
        request.filters.push(filter);
    }
    Ok(request)
}

/// A bounds-checked reader of the classic (non-flexible) encodings.
struct Reader<'a> {
    bytes: &'a mut Bytes,
}

impl Reader<'_> {
    fn need(&self, bytes: usize) -> Result<(), String> {
        if self.bytes.remaining() < bytes {
            return Err(format!(
                "needs {bytes} more bytes, {} left",
                self.bytes.remaining()
            ));
        }
        Ok(())
    }

    fn i8(&mut self) -> Result<i8, String> {
        self.need(1)?;
        Ok(self.bytes.get_i8())
    }

    fn i16(&mut self) -> Result<i16, String> {
        self.need(2)?;
        Ok(self.bytes.get_i16())
    }

    fn i32(&mut self) -> Result<i32, String> {
        self.need(4)?;
        Ok(self.bytes.get_i32())
    }

    fn i64(&mut self) -> Result<i64, String> {
        self.need(8)?;
        Ok(self.bytes.get_i64())
    }

    /// An array count, refused when the bytes left cannot hold that many entries of
    /// at least `entry_bytes_min` bytes (so a hostile count allocates nothing).
    fn count(&mut self, entry_bytes_min: usize) -> Result<usize, String> {
        let count = self.i32()?;
        if count < 0 {
            return Ok(0);
        }
        let count = count as usize;
        if count.saturating_mul(entry_bytes_min) > self.bytes.remaining() {
            return Err(format!("array of {count} entries does not fit the request"));
        }
        Ok(count)
    }

    fn string(&mut self) -> Result<String, String> {
        let length = self.i16()?;
        if length < 0 {
            return Err("null string where a topic name belongs".to_string());
        }
        self.need(length as usize)?;
        let bytes = self.bytes.split_to(length as usize);
        String::from_utf8(bytes.to_vec()).map_err(|_| "string is not UTF-8".to_string())
    }

    fn nullable_string(&mut self) -> Result<Option<String>, String> {
        let length = self.i16()?;
        if length < 0 {
            return Ok(None);
        }
        self.need(length as usize)?;
        let bytes = self.bytes.split_to(length as usize);
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|_| "string is not UTF-8".to_string())
    }
}

/// Writes the body of a ProduceResponse v0 or v1 (v2 is v3's layout).
pub fn encode_produce_response(response: &ProduceResponse, version: i16, out: &mut BytesMut) {
    out.put_i32(response.responses.len() as i32);
    for topic in &response.responses {
        put_string(out, topic.name.as_str());
        out.put_i32(topic.partition_responses.len() as i32);
        for partition in &topic.partition_responses {
            out.put_i32(partition.index);
            out.put_i16(partition.error_code);
            out.put_i64(partition.base_offset);
        }
    }
    if version >= 1 {
        out.put_i32(response.throttle_time_ms);
    }
}

/// Writes the body of a ListOffsetsResponse v0.
pub fn encode_list_offsets_v0(response: &ListOffsetsV0Response, out: &mut BytesMut) {
    out.put_i32(response.topics.len() as i32);
    for (name, partitions) in &response.topics {
        put_string(out, name);
        out.put_i32(partitions.len() as i32);
        for partition in partitions {
            out.put_i32(partition.partition_index);
            out.put_i16(partition.error_code);
            out.put_i32(partition.old_style_offsets.len() as i32);
            for offset in &partition.old_style_offsets {
                out.put_i64(*offset);
            }
        }
    }
}

/// Writes the body of an admin response at a version the crate no longer writes:
/// CreateTopics v0-v1, DeleteTopics v0, DescribeConfigs v0 (DescribeLogDirs v0 is
/// v1's layout and goes through the crate). `None` for anything else.
pub fn encode_admin_response(
    response: &kafka_protocol::messages::ResponseKind,
    version: i16,
    out: &mut BytesMut,
) -> Option<anyhow::Result<()>> {
    use kafka_protocol::messages::ResponseKind;
    match (response, version) {
        (ResponseKind::CreateTopics(response), 0) => {
            encode_create_topics_v0(response, out);
            Some(Ok(()))
        }
        // v1 is v2 without the leading ThrottleTimeMs; DeleteTopics v0 is v1 without it.
        (ResponseKind::CreateTopics(response), 1) => {
            Some(encode_without_throttle(response, 2, out))
        }
        (ResponseKind::DeleteTopics(response), 0) => {
            Some(encode_without_throttle(response, 1, out))
        }
        (ResponseKind::DescribeConfigs(response), 0) => {
            encode_describe_configs_v0(response, out);
            Some(Ok(()))
        }
        // OffsetCommit v0-v1 answer as v2 (v3 added the throttle time); OffsetFetch
        // v0 as v1.
        (ResponseKind::OffsetCommit(response), 0 | 1) => Some(response.encode(out, 2)),
        (ResponseKind::OffsetFetch(response), 0) => Some(response.encode(out, 1)),
        (ResponseKind::OffsetForLeaderEpoch(response), 0) => {
            encode_offset_for_leader_epoch_v0(response, out);
            Some(Ok(()))
        }
        // v1 is v2 without the leading ThrottleTimeMs.
        (ResponseKind::OffsetForLeaderEpoch(response), 1) => {
            Some(encode_without_throttle(response, 2, out))
        }
        (ResponseKind::DescribeAcls(response), 0) => {
            encode_describe_acls_v0(response, out);
            Some(Ok(()))
        }
        // v0 and v1 share a layout (v1 added prefixed patterns to the request).
        (ResponseKind::CreateAcls(response), 0) => Some(response.encode(out, 1)),
        (ResponseKind::DeleteAcls(response), 0) => {
            encode_delete_acls_v0(response, out);
            Some(Ok(()))
        }
        _ => None,
    }
}

/// Encodes `response` at `as_version`, whose body starts with the 4-byte
/// ThrottleTimeMs the wanted version lacks, and writes the rest.
fn encode_without_throttle<T: Encodable>(
    response: &T,
    as_version: i16,
    out: &mut BytesMut,
) -> anyhow::Result<()> {
    let mut body = BytesMut::with_capacity(64);
    response.encode(&mut body, as_version)?;
    anyhow::ensure!(body.len() >= 4, "a response body without its throttle time");
    out.put_slice(&body[4..]);
    Ok(())
}

/// DescribeAcls v0: v1 without each resource's pattern type.
fn encode_describe_acls_v0(response: &DescribeAclsResponse, out: &mut BytesMut) {
    out.put_i32(response.throttle_time_ms);
    out.put_i16(response.error_code);
    put_nullable_string(out, response.error_message.as_deref());
    out.put_i32(response.resources.len() as i32);
    for resource in &response.resources {
        out.put_i8(resource.resource_type);
        put_string(out, &resource.resource_name);
        out.put_i32(resource.acls.len() as i32);
        for acl in &resource.acls {
            put_string(out, &acl.principal);
            put_string(out, &acl.host);
            out.put_i8(acl.operation);
            out.put_i8(acl.permission_type);
        }
    }
}

/// DeleteAcls v0: v1 without each matched ACL's pattern type.
fn encode_delete_acls_v0(response: &DeleteAclsResponse, out: &mut BytesMut) {
    out.put_i32(response.throttle_time_ms);
    out.put_i32(response.filter_results.len() as i32);
    for result in &response.filter_results {
        out.put_i16(result.error_code);
        put_nullable_string(out, result.error_message.as_deref());
        out.put_i32(result.matching_acls.len() as i32);
        for acl in &result.matching_acls {
            out.put_i16(acl.error_code);
            put_nullable_string(out, acl.error_message.as_deref());
            out.put_i8(acl.resource_type);
            put_string(out, &acl.resource_name);
            put_string(out, &acl.principal);
            put_string(out, &acl.host);
            out.put_i8(acl.operation);
            out.put_i8(acl.permission_type);
        }
    }
}

fn encode_create_topics_v0(response: &CreateTopicsResponse, out: &mut BytesMut) {
    out.put_i32(response.topics.len() as i32);
    for topic in &response.topics {
        put_string(out, topic.name.as_str());
        out.put_i16(topic.error_code);
    }
}

/// DescribeConfigs v0: `IsDefault` where v1+ has `ConfigSource` and synonyms.
/// Apache 3.9's broker never sets `IsDefault` (ConfigHelper fills `ConfigSource`
/// only, which v0 does not carry), so every entry goes out with `false`; keel
/// answers the same.
fn encode_describe_configs_v0(response: &DescribeConfigsResponse, out: &mut BytesMut) {
    out.put_i32(response.throttle_time_ms);
    out.put_i32(response.results.len() as i32);
    for result in &response.results {
        out.put_i16(result.error_code);
        put_nullable_string(out, result.error_message.as_ref().map(|text| text.as_str()));
        out.put_i8(result.resource_type);
        put_string(out, result.resource_name.as_str());
        out.put_i32(result.configs.len() as i32);
        for config in &result.configs {
            put_string(out, config.name.as_str());
            put_nullable_string(out, config.value.as_ref().map(|text| text.as_str()));
            out.put_u8(u8::from(config.read_only));
            out.put_u8(0); // IsDefault
            out.put_u8(u8::from(config.is_sensitive));
        }
    }
}

/// OffsetForLeaderEpoch v0: error, partition and end offset, without the leader
/// epoch v1 added.
fn encode_offset_for_leader_epoch_v0(response: &OffsetForLeaderEpochResponse, out: &mut BytesMut) {
    out.put_i32(response.topics.len() as i32);
    for topic in &response.topics {
        put_string(out, topic.topic.as_str());
        out.put_i32(topic.partitions.len() as i32);
        for partition in &topic.partitions {
            out.put_i16(partition.error_code);
            out.put_i32(partition.partition);
            out.put_i64(partition.end_offset);
        }
    }
}

fn put_nullable_string(out: &mut BytesMut, text: Option<&str>) {
    match text {
        Some(text) => put_string(out, text),
        None => out.put_i16(-1),
    }
}

fn put_string(out: &mut BytesMut, text: &str) {
    out.put_i16(text.len() as i16);
    out.put_slice(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::produce_response::{
        PartitionProduceResponse, TopicProduceResponse,
    };

    #[test]
    fn produce_v2_body_decodes_as_v3_without_transactional_id() {
        // acks=-1, timeout 1000, one topic "t" with partition 0 and 3 record bytes.
        let mut body = BytesMut::new();
        body.put_i16(-1);
        body.put_i32(1000);
        body.put_i32(1);
        put_string(&mut body, "t");
        body.put_i32(1);
        body.put_i32(0);
        body.put_i32(3);
        body.put_slice(b"abc");
        let mut body = body.freeze();
        let (request, legacy) = decode_body(ApiKey::Produce, 2, &mut body).unwrap();
        assert!(legacy.is_none());
        let RequestKind::Produce(request) = request else {
            panic!("not a produce request");
        };
        assert_eq!(request.acks, -1);
        assert_eq!(request.timeout_ms, 1000);
        assert!(request.transactional_id.is_none());
        assert_eq!(request.topic_data[0].name.as_str(), "t");
        assert_eq!(
            request.topic_data[0].partition_data[0].records.as_deref(),
            Some(&b"abc"[..])
        );
    }

    #[test]
    fn list_offsets_v0_keeps_max_num_offsets() {
        let mut body = BytesMut::new();
        body.put_i32(-1);
        body.put_i32(1);
        put_string(&mut body, "logs");
        body.put_i32(2);
        for (partition, max) in [(0, 1), (1, 5)] {
            body.put_i32(partition);
            body.put_i64(-1);
            body.put_i32(max);
        }
        let mut body = body.freeze();
        let (request, legacy) = decode_body(ApiKey::ListOffsets, 0, &mut body).unwrap();
        let RequestKind::ListOffsets(request) = request else {
            panic!("not a list offsets request");
        };
        assert_eq!(request.topics[0].partitions[1].partition_index, 1);
        assert_eq!(request.topics[0].partitions[1].timestamp, -1);
        assert_eq!(
            legacy,
            Some(LegacyRequest::ListOffsetsV0 {
                max_num_offsets: vec![vec![1, 5]]
            })
        );
    }

    #[test]
    fn offset_commit_v0_and_v1_decode_as_v2() {
        for version in [0, 1] {
            let mut body = BytesMut::new();
            put_string(&mut body, "g");
            if version == 1 {
                body.put_i32(7);
                put_string(&mut body, "member");
            }
            body.put_i32(1);
            put_string(&mut body, "t");
            body.put_i32(2);
            for (partition, offset) in [(0, 10i64), (1, 20)] {
                body.put_i32(partition);
                body.put_i64(offset);
                if version == 1 {
                    body.put_i64(-1);
                }
                if partition == 0 {
                    put_string(&mut body, "meta");
                } else {
                    body.put_i16(-1);
                }
            }
            let (request, _) =
                decode_body(ApiKey::OffsetCommit, version, &mut body.freeze()).unwrap();
            let RequestKind::OffsetCommit(request) = request else {
                panic!("not an offset commit");
            };
            assert_eq!(request.group_id.0.as_str(), "g");
            let (generation, member) = if version == 1 {
                (7, "member")
            } else {
                (-1, "")
            };
            assert_eq!(request.generation_id_or_member_epoch, generation);
            assert_eq!(request.member_id.as_str(), member);
            assert_eq!(request.retention_time_ms, -1);
            let partitions = &request.topics[0].partitions;
            assert_eq!(partitions[1].committed_offset, 20);
            assert_eq!(partitions[0].committed_metadata.as_deref(), Some("meta"));
            assert_eq!(partitions[1].committed_metadata, None);
        }
    }

    #[test]
    fn offset_for_leader_epoch_v0_and_v1() {
        let mut body = BytesMut::new();
        body.put_i32(1);
        put_string(&mut body, "t");
        body.put_i32(1);
        body.put_i32(3);
        body.put_i32(5);
        let (request, _) =
            decode_body(ApiKey::OffsetForLeaderEpoch, 1, &mut body.freeze()).unwrap();
        let RequestKind::OffsetForLeaderEpoch(request) = request else {
            panic!("not an offset for leader epoch");
        };
        let partition = &request.topics[0].partitions[0];
        assert_eq!((partition.partition, partition.leader_epoch), (3, 5));
        assert_eq!(partition.current_leader_epoch, -1);

        use kafka_protocol::messages::offset_for_leader_epoch_response::{
            EpochEndOffset, OffsetForLeaderTopicResult,
        };
        let mut result = EpochEndOffset::default();
        result.partition = 3;
        result.leader_epoch = 5;
        result.end_offset = 99;
        let mut topic = OffsetForLeaderTopicResult::default();
        topic.topic = TopicName(StrBytes::from_static_str("t"));
        topic.partitions.push(result);
        let mut response = OffsetForLeaderEpochResponse::default();
        response.topics.push(topic);
        response.throttle_time_ms = 9;
        let kind = kafka_protocol::messages::ResponseKind::OffsetForLeaderEpoch(response);
        let mut v0 = BytesMut::new();
        encode_admin_response(&kind, 0, &mut v0).unwrap().unwrap();
        assert_eq!(
            &v0[..],
            &[0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 99]
        );
        let mut v1 = BytesMut::new();
        encode_admin_response(&kind, 1, &mut v1).unwrap().unwrap();
        assert_eq!(
            &v1[..],
            &[
                0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 0, 0, 3, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0,
                0, 99
            ]
        );
    }

    #[test]
    fn hostile_counts_are_errors() {
        let mut body = BytesMut::new();
        body.put_i32(-1);
        body.put_i32(i32::MAX);
        assert!(decode_body(ApiKey::ListOffsets, 0, &mut body.freeze()).is_err());
        assert!(decode_body(ApiKey::ListOffsets, 0, &mut Bytes::from_static(&[1])).is_err());
    }

    #[test]
    fn produce_v0_and_v1_responses() {
        let mut partition = PartitionProduceResponse::default();
        partition.index = 2;
        partition.base_offset = 42;
        let mut topic = TopicProduceResponse::default();
        topic.name = TopicName(StrBytes::from_static_str("t"));
        topic.partition_responses.push(partition);
        let mut response = ProduceResponse::default();
        response.responses.push(topic);
        response.throttle_time_ms = 7;
        let mut v0 = BytesMut::new();
        encode_produce_response(&response, 0, &mut v0);
        assert_eq!(
            &v0[..],
            &[
                0, 0, 0, 1, // one topic
                0, 1, b't', // its name
                0, 0, 0, 1, // one partition
                0, 0, 0, 2, // index
                0, 0, // error code
                0, 0, 0, 0, 0, 0, 0, 42, // base offset
            ]
        );
        let mut v1 = BytesMut::new();
        encode_produce_response(&response, 1, &mut v1);
        assert_eq!(&v1[v0.len()..], &[0, 0, 0, 7]);
    }
}
