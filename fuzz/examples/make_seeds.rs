//! Writes the seed corpora under `fuzz/corpus/<target>/seed-*`: a few valid inputs
//! per target, built with keel's own encoders and the kafka-protocol crate, so
//! the fuzzer starts from real frames. Re-run after a format change:
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --example make_seeds -- fuzz/corpus

use std::fs;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, GroupId, JoinGroupRequest, MetadataRequest, ProduceRequest, RequestKind, TopicName,
};
use kafka_protocol::protocol::{Encodable, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use keel::kafka::group::{
    CoordinatorRecord, GroupMetadataKey, GroupMetadataValue, MemberMetadata, OffsetCommitKey,
    OffsetCommitValue,
};
use keel::kafka::protocol::versions::SUPPORTED;
use keel::zookeeper::jute::codec::to_bytes;
use keel::zookeeper::jute::data::{Acl, Id};
use keel::zookeeper::jute::frame::write_frame;
use keel::zookeeper::jute::multi::{MultiOp, MultiRequest};
use keel::zookeeper::jute::proto::{
    AddWatchRequest, AuthPacket, CheckVersionRequest, ConnectRequest, CreateRequest,
    CreateTtlRequest, DeleteRequest, GetChildrenRequest, GetDataRequest, RequestHeader,
    SetAclRequest, SetDataRequest, SetWatches2,
};
use keel::zookeeper::jute::txn::*;
use keel::zookeeper::jute::{Jute, OpCode, Request};

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
}

fn target_dir(root: &Path, target: &str) -> PathBuf {
    let dir = root.join(target);
    fs::create_dir_all(&dir).expect("create corpus dir");
    // Replace the previous seeds, keep whatever the fuzzer found.
    for entry in fs::read_dir(&dir).expect("read corpus dir") {
        let path = entry.expect("dir entry").path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
        {
            fs::remove_file(path).expect("remove old seed");
        }
    }
    dir
}

fn record(offset: i64, key: Option<&'static [u8]>, value: &'static [u8]) -> Record {
    let mut headers = kafka_protocol::indexmap::IndexMap::new();
    if offset == 1 {
        headers.insert(
            StrBytes::from_static_str("h"),
            Some(Bytes::from_static(b"v")),
        );
    }
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset,
        sequence: -1,
        timestamp: 1_700_000_000_000 + offset,
        key: key.map(Bytes::from_static),
        value: Some(Bytes::from_static(value)),
        headers,
    }
}

/// A valid uncompressed v2 batch as a Java producer would send it.
fn batch(idempotent: bool) -> Vec<u8> {
    let mut records = vec![
        record(0, None, b"one"),
        record(1, Some(b"k"), b"two"),
        record(2, None, b"three"),
    ];
    if idempotent {
        for (sequence, record) in records.iter_mut().enumerate() {
            record.producer_id = 42;
            record.producer_epoch = 0;
            record.sequence = sequence as i32;
        }
    }
    let mut out = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut out,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode batch");
    out.to_vec()
}

fn kafka_frame(api_key: ApiKey, version: i16, body: &RequestKind) -> Option<Vec<u8>> {
    let mut out = BytesMut::new();
    let mut header = kafka_protocol::messages::RequestHeader::default();
    header.request_api_key = api_key as i16;
    header.request_api_version = version;
    header.correlation_id = 1;
    header.client_id = Some(StrBytes::from_static_str("seed"));
    header
        .encode(&mut out, api_key.request_header_version(version))
        .ok()?;
    body.encode(&mut out, version).ok()?;
    let mut frame = (out.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&out);
    Some(frame)
}

fn default_request(api_key: ApiKey) -> Option<RequestKind> {
    Some(match api_key {
        ApiKey::Produce => RequestKind::Produce(Default::default()),
        ApiKey::Fetch => RequestKind::Fetch(Default::default()),
        ApiKey::ListOffsets => RequestKind::ListOffsets(Default::default()),
        ApiKey::Metadata => RequestKind::Metadata(Default::default()),
        ApiKey::ApiVersions => RequestKind::ApiVersions(Default::default()),
        ApiKey::CreateTopics => RequestKind::CreateTopics(Default::default()),
        ApiKey::DeleteTopics => RequestKind::DeleteTopics(Default::default()),
        ApiKey::DeleteRecords => RequestKind::DeleteRecords(Default::default()),
        ApiKey::InitProducerId => RequestKind::InitProducerId(Default::default()),
        ApiKey::OffsetForLeaderEpoch => RequestKind::OffsetForLeaderEpoch(Default::default()),
        ApiKey::DescribeConfigs => RequestKind::DescribeConfigs(Default::default()),
        ApiKey::AlterConfigs => RequestKind::AlterConfigs(Default::default()),
        ApiKey::DescribeLogDirs => RequestKind::DescribeLogDirs(Default::default()),
        ApiKey::CreatePartitions => RequestKind::CreatePartitions(Default::default()),
        ApiKey::IncrementalAlterConfigs => RequestKind::IncrementalAlterConfigs(Default::default()),
        ApiKey::DescribeCluster => RequestKind::DescribeCluster(Default::default()),
        ApiKey::DescribeTopicPartitions => RequestKind::DescribeTopicPartitions(Default::default()),
        ApiKey::FindCoordinator => RequestKind::FindCoordinator(Default::default()),
        ApiKey::JoinGroup => RequestKind::JoinGroup(Default::default()),
        ApiKey::SyncGroup => RequestKind::SyncGroup(Default::default()),
        ApiKey::Heartbeat => RequestKind::Heartbeat(Default::default()),
        ApiKey::LeaveGroup => RequestKind::LeaveGroup(Default::default()),
        ApiKey::OffsetCommit => RequestKind::OffsetCommit(Default::default()),
        ApiKey::OffsetFetch => RequestKind::OffsetFetch(Default::default()),
        ApiKey::ListGroups => RequestKind::ListGroups(Default::default()),
        ApiKey::DescribeGroups => RequestKind::DescribeGroups(Default::default()),
        ApiKey::DeleteGroups => RequestKind::DeleteGroups(Default::default()),
        ApiKey::OffsetDelete => RequestKind::OffsetDelete(Default::default()),
        _ => return None,
    })
}

fn kafka_request_seeds(root: &Path) {
    let dir = target_dir(root, "kafka_request");
    // Every supported API at its lowest and highest version, with default fields.
    for (api_key, min, max) in SUPPORTED {
        let Some(body) = default_request(*api_key) else {
            continue;
        };
        for version in [*min, *max] {
            if let Some(frame) = kafka_frame(*api_key, version, &body) {
                write(&dir, &format!("{api_key:?}-v{version}"), &frame);
            }
        }
    }
    // A few with content: produce (sarama's v3, a 3.x client's v9), metadata for a
    // topic, a consumer's join.
    let mut partition = PartitionProduceData::default();
    partition.index = 0;
    partition.records = Some(Bytes::from(batch(false)));
    let mut topic = TopicProduceData::default();
    topic.name = TopicName(StrBytes::from_static_str("test"));
    topic.partition_data = vec![partition];
    let mut produce = ProduceRequest::default();
    produce.acks = -1;
    produce.timeout_ms = 30_000;
    produce.topic_data = vec![topic];
    let produce = RequestKind::Produce(produce);
    for version in [3, 9] {
        if let Some(frame) = kafka_frame(ApiKey::Produce, version, &produce) {
            write(&dir, &format!("Produce-v{version}-records"), &frame);
        }
    }
    let mut metadata_topic = MetadataRequestTopic::default();
    metadata_topic.name = Some(TopicName(StrBytes::from_static_str("test")));
    let mut metadata = MetadataRequest::default();
    metadata.topics = Some(vec![metadata_topic]);
    metadata.allow_auto_topic_creation = true;
    let metadata = RequestKind::Metadata(metadata);
    for version in [5, 12] {
        if let Some(frame) = kafka_frame(ApiKey::Metadata, version, &metadata) {
            write(&dir, &format!("Metadata-v{version}-topic"), &frame);
        }
    }
    let mut protocol = JoinGroupRequestProtocol::default();
    protocol.name = StrBytes::from_static_str("range");
    protocol.metadata = Bytes::from_static(&[
        0, 1, 0, 0, 0, 1, 0, 4, b't', b'e', b's', b't', 0xff, 0xff, 0xff, 0xff,
    ]);
    let mut join = JoinGroupRequest::default();
    join.group_id = GroupId(StrBytes::from_static_str("g"));
    join.session_timeout_ms = 10_000;
    join.rebalance_timeout_ms = 30_000;
    join.protocol_type = StrBytes::from_static_str("consumer");
    join.protocols = vec![protocol];
    let join = RequestKind::JoinGroup(join);
    for version in [5, 9] {
        if let Some(frame) = kafka_frame(ApiKey::JoinGroup, version, &join) {
            write(&dir, &format!("JoinGroup-v{version}-consumer"), &frame);
        }
    }
}

fn kafka_record_batch_seeds(root: &Path) {
    let dir = target_dir(root, "kafka_record_batch");
    // Byte 0 is the target's control byte (bit 0: fix CRCs, bit 1: LogAppendTime).
    let mut plain = vec![0u8];
    plain.extend(batch(false));
    write(&dir, "plain", &plain);
    let mut idempotent = vec![0u8];
    idempotent.extend(batch(true));
    write(&dir, "idempotent", &idempotent);
    let mut two = vec![2u8];
    two.extend(batch(false));
    two.extend(batch(false));
    write(&dir, "two-batches-log-append-time", &two);
    let mut gzip_flagged = vec![1u8];
    let mut gzip = batch(false);
    gzip[22] |= 1; // attributes: codec gzip, body not compressed
    gzip_flagged.extend(gzip);
    write(&dir, "gzip-attribute-fixed-crc", &gzip_flagged);
}

fn zk_frame(xid: i32, request: &Request) -> Vec<u8> {
    let mut out = Vec::new();
    write_frame(&mut out, |out| {
        RequestHeader {
            xid,
            op: request.op().as_i32(),
        }
        .write(out);
        request.write(out);
    });
    out
}

fn zk_request_seeds(root: &Path) {
    let dir = target_dir(root, "zk_request");
    for (name, read_only) in [("connect", Some(false)), ("connect-3.3", None)] {
        let mut out = Vec::new();
        write_frame(&mut out, |out| {
            ConnectRequest {
                protocol_version: 0,
                last_zxid_seen: 0,
                time_out: 30_000,
                session_id: 0,
                passwd: vec![0; 16],
                read_only,
            }
            .write(out)
        });
        write(&dir, name, &out);
    }
    let acl = vec![Acl {
        perms: 31,
        id: Id::new("world", "anyone"),
    }];
    let create = CreateRequest {
        path: "/a".into(),
        data: Some(b"x".to_vec()),
        acl: acl.clone(),
        flags: 3,
    };
    let requests = [
        ("create", Request::Create(create.clone())),
        ("create2", Request::Create2(create.clone())),
        (
            "create-ttl",
            Request::CreateTtl(CreateTtlRequest {
                path: "/t".into(),
                data: None,
                acl: acl.clone(),
                flags: 5,
                ttl: 1000,
            }),
        ),
        (
            "get-data",
            Request::GetData(GetDataRequest {
                path: "/a".into(),
                watch: true,
            }),
        ),
        (
            "set-acl",
            Request::SetAcl(SetAclRequest {
                path: "/a".into(),
                acl: acl.clone(),
                version: -1,
            }),
        ),
        (
            "multi",
            Request::Multi(MultiRequest {
                ops: vec![
                    MultiOp::Create {
                        op: OpCode::Create,
                        request: create.clone(),
                    },
                    MultiOp::SetData(SetDataRequest {
                        path: "/a".into(),
                        data: Some(b"y".to_vec()),
                        version: 0,
                    }),
                    MultiOp::Check(CheckVersionRequest {
                        path: "/a".into(),
                        version: 1,
                    }),
                    MultiOp::Delete(DeleteRequest {
                        path: "/a".into(),
                        version: -1,
                    }),
                ],
            }),
        ),
        (
            "multi-read",
            Request::MultiRead(MultiRequest {
                ops: vec![MultiOp::GetChildren(GetChildrenRequest {
                    path: "/".into(),
                    watch: false,
                })],
            }),
        ),
        (
            "set-watches2",
            Request::SetWatches2(SetWatches2 {
                relative_zxid: 5,
                data_watches: vec!["/a".into()],
                exist_watches: vec!["/b".into()],
                child_watches: vec!["/".into()],
                persistent_watches: vec![],
                persistent_recursive_watches: vec!["/r".into()],
            }),
        ),
        (
            "auth",
            Request::Auth(AuthPacket {
                auth_type: 0,
                scheme: "digest".into(),
                auth: b"user:pass".to_vec(),
            }),
        ),
        (
            "add-watch",
            Request::AddWatch(AddWatchRequest {
                path: "/a".into(),
                mode: 1,
            }),
        ),
        ("ping", Request::Ping),
    ];
    for (index, (name, request)) in requests.iter().enumerate() {
        let xid = if matches!(request, Request::Ping) {
            -2
        } else {
            index as i32 + 1
        };
        write(&dir, name, &zk_frame(xid, request));
    }
}

fn zk_txn_seeds(root: &Path) {
    let dir = target_dir(root, "zk_txn");
    let header = |op: OpCode| TxnHeader {
        client_id: 0x100,
        cxid: 1,
        zxid: 0x1_0000_0002,
        time: 1_700_000_000_000,
        op: op.as_i32(),
    };
    let acl = vec![Acl {
        perms: 31,
        id: Id::new("world", "anyone"),
    }];
    let create = TxnBody::Create(CreateTxn {
        path: "/a".into(),
        data: Some(b"x".to_vec()),
        acl,
        ephemeral: false,
        parent_c_version: 1,
    });
    let set_data = TxnBody::SetData(SetDataTxn {
        path: "/a".into(),
        data: Some(b"y".to_vec()),
        version: 1,
    });
    let entries = [
        ("create-digest", OpCode::Create, create.clone(), true),
        ("create", OpCode::Create, create.clone(), false),
        ("set-data", OpCode::SetData, set_data.clone(), true),
        (
            "delete",
            OpCode::Delete,
            TxnBody::Delete(DeleteTxn { path: "/a".into() }),
            true,
        ),
        (
            "create-session",
            OpCode::CreateSession,
            TxnBody::CreateSession(CreateSessionTxn { time_out: 30_000 }),
            true,
        ),
        (
            "close-session",
            OpCode::CloseSession,
            TxnBody::CloseSession(Some(CloseSessionTxn {
                paths_to_delete: vec!["/e".into()],
            })),
            true,
        ),
        (
            "multi",
            OpCode::Multi,
            TxnBody::Multi(MultiTxn {
                txns: vec![
                    TxnBody::to_multi_entry(OpCode::Create, &create),
                    TxnBody::to_multi_entry(OpCode::SetData, &set_data),
                    TxnBody::to_multi_entry(OpCode::Error, &TxnBody::Error(ErrorTxn { err: -101 })),
                ],
            }),
            true,
        ),
    ];
    for (name, op, body, digest) in entries {
        let entry = TxnEntry {
            header: header(op),
            body,
            digest: digest.then_some(TxnDigest {
                version: 2,
                tree_digest: 0x1234_5678,
            }),
        };
        write(&dir, name, &entry.to_bytes());
    }
    // The V0 create (no parentCVersion) an old log holds.
    let mut v0 = to_bytes(&header(OpCode::Create));
    CreateTxnV0 {
        path: "/old".into(),
        data: None,
        acl: vec![],
        ephemeral: true,
    }
    .write(&mut v0);
    write(&dir, "create-v0", &v0);
}

fn group_record_bytes(out: &mut Vec<u8>, record: &CoordinatorRecord) {
    let key = record.key_bytes();
    out.extend_from_slice(&(key.len() as u16).to_be_bytes());
    out.extend_from_slice(&key);
    match record.value_bytes() {
        Some(value) => {
            out.extend_from_slice(&(value.len() as i32).to_be_bytes());
            out.extend_from_slice(&value);
        }
        None => out.extend_from_slice(&(-1i32).to_be_bytes()),
    }
}

fn group_records_seeds(root: &Path) {
    let dir = target_dir(root, "group_records");
    let offset = |expire: i64| CoordinatorRecord::OffsetCommit {
        key: OffsetCommitKey {
            group: "g".into(),
            topic: "test".into(),
            partition: 0,
        },
        value: Some(OffsetCommitValue {
            offset: 42,
            leader_epoch: 0,
            metadata: String::new(),
            commit_timestamp_ms: 1_700_000_000_000,
            expire_timestamp_ms: expire,
        }),
    };
    // A `consumer` protocol subscription (v1: topics, user data, owned partitions)
    // and assignment.
    let subscription: &[u8] = &[
        0, 1, 0, 0, 0, 1, 0, 4, b't', b'e', b's', b't', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
    ];
    let assignment: &[u8] = &[
        0, 1, 0, 0, 0, 1, 0, 4, b't', b'e', b's', b't', 0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff,
        0xff,
    ];
    let group = CoordinatorRecord::GroupMetadata {
        key: GroupMetadataKey { group: "g".into() },
        value: Some(GroupMetadataValue {
            protocol_type: "consumer".into(),
            generation: 3,
            protocol: Some("range".into()),
            leader: Some("m-1".into()),
            current_state_timestamp_ms: 1_700_000_000_000,
            members: vec![MemberMetadata {
                member_id: "m-1".into(),
                group_instance_id: Some("i-1".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout_ms: 30_000,
                session_timeout_ms: 10_000,
                subscription: Bytes::from_static(subscription),
                assignment: Bytes::from_static(assignment),
            }],
        }),
    };
    let mut out = Vec::new();
    group_record_bytes(&mut out, &offset(-1));
    write(&dir, "offset-commit", &out);
    let mut out = Vec::new();
    group_record_bytes(&mut out, &offset(1_800_000_000_000));
    write(&dir, "offset-commit-v1-expiry", &out);
    let mut out = Vec::new();
    group_record_bytes(&mut out, &group);
    group_record_bytes(&mut out, &offset(-1));
    write(&dir, "group-and-offset", &out);
    let mut out = Vec::new();
    group_record_bytes(&mut out, &group);
    group_record_bytes(
        &mut out,
        &CoordinatorRecord::GroupMetadata {
            key: GroupMetadataKey { group: "g".into() },
            value: None,
        },
    );
    write(&dir, "group-tombstone", &out);
}

fn main() {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    kafka_request_seeds(&root);
    kafka_record_batch_seeds(&root);
    zk_request_seeds(&root);
    zk_txn_seeds(&root);
    group_records_seeds(&root);
    println!("seeds written under {}", root.display());
}
