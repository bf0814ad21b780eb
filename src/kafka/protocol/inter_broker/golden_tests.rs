//! The inter-broker codecs against what Apache Kafka 3.9.1's own generated message
//! classes write (`tests/fixtures/kafka-inter-broker/golden.txt`, from
//! `compat-tests/java/inter-broker-golden/`): every line decodes to the values the
//! generator set, consumes all its bytes, and re-encodes byte for byte. Plus
//! truncation, mutation and encoder-refusal tests.

use std::collections::BTreeSet;

use bytes::BytesMut;
use uuid::Uuid;

use super::alter_partition::{AlterPartitionPartitionData, BrokerState};
use super::controlled_shutdown::RemainingPartition;
use super::leader_and_isr::{LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState};
use super::stop_replica::{StopReplicaPartitionV0, StopReplicaTopicV1};
use super::update_metadata::UpdateMetadataEndpoint;
use super::*;
use crate::kafka::metadata::TopicId;

const GOLDEN: &str = include_str!("../../../../tests/fixtures/kafka-inter-broker/golden.txt");

const ORDERS_ID: TopicId = TopicId(Uuid::from_u64_pair(0x0123456789abcdef, 0x1032547698badcfe));
const AUDIT_ID: TopicId = TopicId(Uuid::from_u64_pair(0x7e57ab1e00c0ffee, 0x00000000deadbeef));
const BROKER_EPOCH: i64 = 0x100000002a;
const CORRELATION_ID: i32 = 42;

fn unhex(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd hex length");
    (0..hex.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&hex[index..index + 2], 16).expect("hex"))
        .collect()
}

fn all_fixtures() -> Vec<(&'static str, Vec<u8>)> {
    GOLDEN
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (name, hex) = line.split_once('=').expect("name=hex");
            (name, unhex(hex))
        })
        .collect()
}

/// The fixtures of this module's APIs (not the `crate_*` ones the kafka-protocol
/// crate reads).
fn fixtures() -> Vec<(&'static str, Vec<u8>)> {
    all_fixtures()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("crate_"))
        .collect()
}

fn fixture(name: &str) -> Vec<u8> {
    all_fixtures()
        .into_iter()
        .find(|(fixture_name, _)| *fixture_name == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
        .1
}

/// What a fixture name says: `<api>_<request|response>[_header]_v<N>[_<variant>]`.
struct FixtureName {
    api: InterBrokerApi,
    is_request: bool,
    is_header: bool,
    version: i16,
}

fn parse_name(name: &str) -> FixtureName {
    let apis = [
        ("leader_and_isr_", InterBrokerApi::LeaderAndIsr),
        ("stop_replica_", InterBrokerApi::StopReplica),
        ("update_metadata_", InterBrokerApi::UpdateMetadata),
        ("controlled_shutdown_", InterBrokerApi::ControlledShutdown),
        ("alter_partition_", InterBrokerApi::AlterPartition),
    ];
    let (prefix, api) = apis
        .into_iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .unwrap_or_else(|| panic!("unknown api in {name}"));
    let rest = &name[prefix.len()..];
    let (is_request, rest) = if let Some(rest) = rest.strip_prefix("request_") {
        (true, rest)
    } else {
        (
            false,
            rest.strip_prefix("response_").expect("request or response"),
        )
    };
    let (is_header, rest) = match rest.strip_prefix("header_") {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let digits: String = rest
        .strip_prefix('v')
        .expect("v<N>")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    FixtureName {
        api,
        is_request,
        is_header,
        version: digits.parse().expect("version"),
    }
}

fn decode_body(name: &FixtureName, bytes: &[u8]) -> Result<BodyOf, WireError> {
    let mut input = bytes;
    let body = if name.is_request {
        BodyOf::Request(InterBrokerRequest::decode(
            name.api,
            &mut input,
            name.version,
        )?)
    } else {
        BodyOf::Response(InterBrokerResponse::decode(
            name.api,
            &mut input,
            name.version,
        )?)
    };
    assert!(input.is_empty(), "{} bytes left over", input.len());
    Ok(body)
}

#[derive(Debug, PartialEq)]
enum BodyOf {
    Request(InterBrokerRequest),
    Response(InterBrokerResponse),
}

fn encode_body(body: &BodyOf, version: i16) -> Result<BytesMut, WireError> {
    let mut out = BytesMut::new();
    match body {
        BodyOf::Request(request) => request.encode(&mut out, version)?,
        BodyOf::Response(response) => response.encode(&mut out, version)?,
    }
    Ok(out)
}

#[test]
fn every_golden_body_decodes_whole_and_reencodes_byte_for_byte() {
    let mut covered = BTreeSet::new();
    let mut bodies = 0;
    for (name, bytes) in fixtures() {
        let parsed = parse_name(name);
        if parsed.is_header {
            continue;
        }
        let body = decode_body(&parsed, &bytes).unwrap_or_else(|error| panic!("{name}: {error}"));
        let encoded = encode_body(&body, parsed.version).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&encoded[..], &bytes[..], "{name} re-encoded differently");
        covered.insert((parsed.api.key(), parsed.is_request, parsed.version));
        bodies += 1;
    }
    // Every version Apache 3.9 defines, request and response.
    for api in InterBrokerApi::ALL {
        let (min, max) = api.versions();
        for version in min..=max {
            for is_request in [true, false] {
                assert!(
                    covered.contains(&(api.key(), is_request, version)),
                    "{api:?} v{version} request={is_request} has no fixture"
                );
            }
        }
    }
    assert!(bodies > 100, "only {bodies} bodies");
}

#[test]
fn golden_headers_decode_and_reencode_at_the_version_the_api_calls_for() {
    let mut headers = 0;
    for (name, bytes) in fixtures() {
        let parsed = parse_name(name);
        if !parsed.is_header {
            continue;
        }
        headers += 1;
        let mut input = &bytes[..];
        if parsed.is_request {
            let header_version = parsed.api.request_header_version(parsed.version);
            let header = RequestHeader::decode(&mut input, header_version).unwrap();
            assert!(input.is_empty(), "{name}");
            assert_eq!(header.request_api_key, parsed.api.key(), "{name}");
            assert_eq!(header.request_api_version, parsed.version, "{name}");
            assert_eq!(header.correlation_id, CORRELATION_ID, "{name}");
            let expected_client_id = (header_version >= 1).then(|| "1".to_string());
            assert_eq!(header.client_id, expected_client_id, "{name}");
            let mut out = BytesMut::new();
            header.encode(&mut out, header_version).unwrap();
            assert_eq!(&out[..], &bytes[..], "{name}");
        } else {
            let header_version = parsed.api.response_header_version(parsed.version);
            let header = ResponseHeader::decode(&mut input, header_version).unwrap();
            assert!(input.is_empty(), "{name}");
            assert_eq!(header.correlation_id, CORRELATION_ID, "{name}");
            let mut out = BytesMut::new();
            header.encode(&mut out, header_version).unwrap();
            assert_eq!(&out[..], &bytes[..], "{name}");
        }
    }
    assert_eq!(headers, 2 * (8 + 5 + 9 + 4 + 4));
    // ControlledShutdown v0 is the one request whose header has no client id.
    assert_eq!(
        fixture("controlled_shutdown_request_header_v0"),
        unhex("000700000000002a")
    );
}

#[test]
fn whole_request_frames_decode_and_reencode() {
    for api in InterBrokerApi::ALL {
        let (min, max) = api.versions();
        let api_name = match api {
            InterBrokerApi::LeaderAndIsr => "leader_and_isr",
            InterBrokerApi::StopReplica => "stop_replica",
            InterBrokerApi::UpdateMetadata => "update_metadata",
            InterBrokerApi::ControlledShutdown => "controlled_shutdown",
            InterBrokerApi::AlterPartition => "alter_partition",
        };
        for version in min..=max {
            let mut frame = fixture(&format!("{api_name}_request_header_v{version}"));
            frame.extend(fixture(&format!("{api_name}_request_v{version}")));
            let (header, body) = decode_request(&frame).unwrap();
            assert_eq!(body.api(), api);
            assert_eq!(header.request_api_version, version);
            let mut out = BytesMut::new();
            encode_request(&header, &body, &mut out).unwrap();
            assert_eq!(&out[..], &frame[..], "{api_name} v{version}");

            let mut response = fixture(&format!("{api_name}_response_header_v{version}"));
            response.extend(fixture(&format!("{api_name}_response_v{version}")));
            let (header, body) = decode_response(api, version, &response).unwrap();
            assert_eq!(header.correlation_id, CORRELATION_ID);
            let mut out = BytesMut::new();
            encode_response(&header, &body, version, &mut out).unwrap();
            assert_eq!(&out[..], &response[..], "{api_name} response v{version}");
        }
    }
    assert_eq!(
        decode_request(&unhex("000300000000002a0001")).unwrap_err(),
        WireError::UnknownApiKey(3)
    );
    assert!(matches!(
        decode_request(&unhex("000400080000002a000131")),
        Err(WireError::UnsupportedVersion { version: 8, .. })
    ));
}

fn ids(values: &[i32]) -> Vec<BrokerId> {
    values.iter().copied().map(BrokerId).collect()
}

fn leader_and_isr(name: &str, version: i16) -> LeaderAndIsrRequest {
    LeaderAndIsrRequest::decode(&mut &fixture(name)[..], version).unwrap()
}

#[test]
fn leader_and_isr_requests_carry_what_apache_set() {
    for version in 0..=7 {
        let request = leader_and_isr(&format!("leader_and_isr_request_v{version}"), version);
        assert_eq!(request.controller_id, BrokerId(1));
        assert_eq!(request.controller_epoch, 5);
        assert!(!request.is_kraft_controller);
        assert_eq!(request.type_, 0);
        let expected_epoch = if version >= 2 { BROKER_EPOCH } else { -1 };
        assert_eq!(request.broker_epoch, expected_epoch, "v{version}");
        let partitions: Vec<(String, TopicId, LeaderAndIsrPartitionState)> = if version <= 1 {
            assert!(request.topic_states.is_empty());
            request
                .ungrouped_partition_states
                .iter()
                .map(|state| (state.topic_name.clone(), TopicId::ZERO, state.clone()))
                .collect()
        } else {
            assert!(request.ungrouped_partition_states.is_empty());
            assert_eq!(request.topic_states.len(), 2);
            request
                .topic_states
                .iter()
                .flat_map(|topic| {
                    topic.partition_states.iter().map(|state| {
                        // v2+ partition states leave TopicName at its default.
                        assert_eq!(state.topic_name, "");
                        (topic.topic_name.clone(), topic.topic_id, state.clone())
                    })
                })
                .collect()
        };
        assert_eq!(partitions.len(), 4, "v{version}");
        let (topic, topic_id, second) = &partitions[1];
        assert_eq!(topic, "orders");
        let expected_id = if version >= 5 {
            ORDERS_ID
        } else {
            TopicId::ZERO
        };
        assert_eq!(*topic_id, expected_id);
        assert_eq!(second.partition_index, 1);
        assert_eq!(second.controller_epoch, 4);
        assert_eq!(second.leader, BrokerId(2));
        assert_eq!(second.leader_epoch, 11);
        assert_eq!(second.isr, ids(&[2, 3]));
        assert_eq!(second.partition_epoch, 21);
        assert_eq!(second.replicas, ids(&[2, 3, 1, 4]));
        let (adding, removing) = if version >= 3 {
            (ids(&[4]), ids(&[3]))
        } else {
            (vec![], vec![])
        };
        assert_eq!(second.adding_replicas, adding);
        assert_eq!(second.removing_replicas, removing);
        assert!(!second.is_new);
        assert_eq!(partitions[2].2.is_new, version >= 1, "v{version}");
        let (topic, topic_id, recovering) = &partitions[3];
        assert_eq!(topic, "audit-log");
        let expected_id = if version >= 5 {
            AUDIT_ID
        } else {
            TopicId::ZERO
        };
        assert_eq!(*topic_id, expected_id);
        assert_eq!(
            recovering.leader_recovery_state,
            i8::from(version >= 6),
            "v{version}"
        );
        assert_eq!(
            request.live_leaders,
            vec![
                LeaderAndIsrLiveLeader {
                    broker_id: BrokerId(1),
                    host_name: "broker-1.example".into(),
                    port: 9092,
                    unknown_tagged_fields: vec![],
                },
                LeaderAndIsrLiveLeader {
                    broker_id: BrokerId(2),
                    host_name: "broker-2.example".into(),
                    port: 9093,
                    unknown_tagged_fields: vec![],
                },
                LeaderAndIsrLiveLeader {
                    broker_id: BrokerId(3),
                    host_name: String::new(),
                    port: 9094,
                    unknown_tagged_fields: vec![],
                },
            ]
        );

        let empty = leader_and_isr(&format!("leader_and_isr_request_v{version}_empty"), version);
        assert_eq!(empty.broker_epoch, -1);
        assert!(empty.topic_states.is_empty() && empty.live_leaders.is_empty());
    }

    let kraft = leader_and_isr("leader_and_isr_request_v7_kraft", 7);
    assert!(kraft.is_kraft_controller);
    assert_eq!(kraft.type_, 2);

    let tagged = leader_and_isr("leader_and_isr_request_v7_unknown_tags", 7);
    let tags = |fields: &[RawTaggedField]| -> Vec<(u32, Vec<u8>)> {
        fields
            .iter()
            .map(|field| (field.tag, field.data.to_vec()))
            .collect()
    };
    assert_eq!(
        tags(&tagged.unknown_tagged_fields),
        vec![(0, vec![0x0a, 0x0b]), (7, vec![])]
    );
    assert_eq!(
        tags(&tagged.topic_states[0].unknown_tagged_fields),
        vec![(3, vec![0x0a, 0x0b]), (10, vec![])]
    );
    assert_eq!(
        tags(&tagged.topic_states[0].partition_states[1].unknown_tagged_fields),
        vec![(1, vec![0x0a, 0x0b]), (8, vec![])]
    );
    assert_eq!(tagged.live_leaders[2].unknown_tagged_fields.len(), 2);
}

#[test]
fn leader_and_isr_responses_switch_from_names_to_ids_at_v5() {
    for version in 0..=7 {
        let bytes = fixture(&format!("leader_and_isr_response_v{version}"));
        let response = LeaderAndIsrResponse::decode(&mut &bytes[..], version).unwrap();
        assert_eq!(response.error_code, 0);
        if version <= 4 {
            assert!(response.topics.is_empty());
            let errors: Vec<_> = response
                .partition_errors
                .iter()
                .map(|error| {
                    (
                        error.topic_name.as_str(),
                        error.partition_index,
                        error.error_code,
                    )
                })
                .collect();
            assert_eq!(
                errors,
                vec![("orders", 0, 0), ("orders", 1, 11), ("audit-log", 0, 56)]
            );
        } else {
            assert!(response.partition_errors.is_empty());
            assert_eq!(response.topics.len(), 2);
            assert_eq!(response.topics[0].topic_id, ORDERS_ID);
            assert_eq!(response.topics[1].topic_id, AUDIT_ID);
            assert_eq!(response.topics[1].partition_errors[0].error_code, 56);
            assert_eq!(response.topics[1].partition_errors[0].topic_name, "");
        }
        let bytes = fixture(&format!("leader_and_isr_response_v{version}_error"));
        let response = LeaderAndIsrResponse::decode(&mut &bytes[..], version).unwrap();
        assert_eq!(response.error_code, 77);
    }
}

#[test]
fn stop_replica_requests_have_three_partition_shapes() {
    for version in 0..=4 {
        let bytes = fixture(&format!("stop_replica_request_v{version}"));
        let request = StopReplicaRequest::decode(&mut &bytes[..], version).unwrap();
        assert_eq!(request.controller_id, BrokerId(1));
        assert_eq!(request.controller_epoch, 5);
        let expected_epoch = if version >= 1 { BROKER_EPOCH } else { -1 };
        assert_eq!(request.broker_epoch, expected_epoch);
        assert_eq!(request.delete_partitions, version <= 2);
        match version {
            0 => assert_eq!(
                request.ungrouped_partitions,
                vec![
                    StopReplicaPartitionV0 {
                        topic_name: "orders".into(),
                        partition_index: 0
                    },
                    StopReplicaPartitionV0 {
                        topic_name: "orders".into(),
                        partition_index: 2
                    },
                    StopReplicaPartitionV0 {
                        topic_name: "audit-log".into(),
                        partition_index: 0
                    },
                ]
            ),
            1 | 2 => assert_eq!(
                request.topics,
                vec![
                    StopReplicaTopicV1 {
                        name: "orders".into(),
                        partition_indexes: vec![0, 2],
                        unknown_tagged_fields: vec![],
                    },
                    StopReplicaTopicV1 {
                        name: "audit-log".into(),
                        partition_indexes: vec![0],
                        unknown_tagged_fields: vec![],
                    },
                    StopReplicaTopicV1 {
                        name: "empty-topic".into(),
                        partition_indexes: vec![],
                        unknown_tagged_fields: vec![],
                    },
                ]
            ),
            _ => {
                let states: Vec<_> = request
                    .topic_states
                    .iter()
                    .flat_map(|topic| {
                        topic.partition_states.iter().map(|state| {
                            (
                                topic.topic_name.as_str(),
                                state.partition_index,
                                state.leader_epoch,
                                state.delete_partition,
                            )
                        })
                    })
                    .collect();
                assert_eq!(
                    states,
                    vec![
                        ("orders", 0, 12, false),
                        ("orders", 2, stop_replica::LEADER_EPOCH_NONE, true),
                        (
                            "audit-log",
                            0,
                            stop_replica::LEADER_EPOCH_DURING_DELETE,
                            true
                        ),
                    ]
                );
            }
        }
        let bytes = fixture(&format!("stop_replica_response_v{version}"));
        let response = StopReplicaResponse::decode(&mut &bytes[..], version).unwrap();
        assert_eq!(response.partition_errors.len(), 3);
        assert_eq!(response.partition_errors[1].topic_name, "orders");
        assert_eq!(response.partition_errors[1].partition_index, 2);
        assert_eq!(response.partition_errors[1].error_code, 74);
    }
    let bytes = fixture("stop_replica_request_v4_kraft");
    assert!(
        StopReplicaRequest::decode(&mut &bytes[..], 4)
            .unwrap()
            .is_kraft_controller
    );
}

#[test]
fn update_metadata_requests_carry_brokers_racks_and_topic_ids() {
    for version in 0..=8 {
        let bytes = fixture(&format!("update_metadata_request_v{version}"));
        let request = UpdateMetadataRequest::decode(&mut &bytes[..], version).unwrap();
        assert_eq!(request.controller_id, BrokerId(1));
        assert_eq!(request.type_, 0);
        let expected_epoch = if version >= 5 { BROKER_EPOCH } else { -1 };
        assert_eq!(request.broker_epoch, expected_epoch);
        let states: Vec<_> = if version <= 4 {
            request
                .ungrouped_partition_states
                .iter()
                .map(|state| (state.topic_name.clone(), TopicId::ZERO, state.clone()))
                .collect()
        } else {
            request
                .topic_states
                .iter()
                .flat_map(|topic| {
                    topic
                        .partition_states
                        .iter()
                        .map(|state| (topic.topic_name.clone(), topic.topic_id, state.clone()))
                })
                .collect()
        };
        assert_eq!(states.len(), 4);
        assert_eq!(states[0].0, "orders");
        let expected_id = if version >= 7 {
            ORDERS_ID
        } else {
            TopicId::ZERO
        };
        assert_eq!(states[0].1, expected_id);
        assert_eq!(states[2].2.zk_version, 22);
        let expected_offline = if version >= 4 { ids(&[1]) } else { vec![] };
        assert_eq!(states[2].2.offline_replicas, expected_offline);
        assert_eq!(states[3].0, "audit-log");
        assert_eq!(states[3].1, TopicId::ZERO);
        assert_eq!(
            states[3].2.leader,
            BrokerId(update_metadata::LEADER_DURING_DELETE)
        );

        assert_eq!(request.live_brokers.len(), 3);
        let first = &request.live_brokers[0];
        assert_eq!(first.id, BrokerId(1));
        if version == 0 {
            assert_eq!(first.v0_host, "broker-1.example");
            assert_eq!(first.v0_port, 9091);
            assert!(first.endpoints.is_empty());
        } else {
            assert_eq!(first.v0_host, "");
            let listener = |name: &str| {
                if version >= 3 {
                    name.to_string()
                } else {
                    String::new()
                }
            };
            assert_eq!(
                first.endpoints,
                vec![
                    UpdateMetadataEndpoint {
                        port: 9091,
                        host: "broker-1.example".into(),
                        listener: listener("PLAINTEXT"),
                        security_protocol: 0,
                        unknown_tagged_fields: vec![],
                    },
                    UpdateMetadataEndpoint {
                        port: 9191,
                        host: "broker-1.example".into(),
                        listener: listener("INTERNAL"),
                        security_protocol: 3,
                        unknown_tagged_fields: vec![],
                    },
                ]
            );
        }
        let racks: Vec<Option<&str>> = request
            .live_brokers
            .iter()
            .map(|broker| broker.rack.as_deref())
            .collect();
        if version >= 2 {
            assert_eq!(racks, vec![Some("rack-a"), None, Some("")]);
        } else {
            // Absent, so the schema default: the empty string, not null.
            assert_eq!(racks, vec![Some(""), Some(""), Some("")]);
        }
    }
    let bytes = fixture("update_metadata_request_v8_kraft");
    let kraft = UpdateMetadataRequest::decode(&mut &bytes[..], 8).unwrap();
    assert!(kraft.is_kraft_controller);
    assert_eq!(kraft.type_, 2);
    assert!(kraft.unknown_tagged_fields.is_empty());

    let bytes = fixture("update_metadata_request_v8_unknown_tags");
    let tagged = UpdateMetadataRequest::decode(&mut &bytes[..], 8).unwrap();
    assert_eq!(tagged.type_, 1);
    let tags: Vec<u32> = tagged
        .unknown_tagged_fields
        .iter()
        .map(|field| field.tag)
        .collect();
    assert_eq!(tags, vec![1, 8]);
    assert_eq!(
        tagged.live_brokers[0].endpoints[1].unknown_tagged_fields[0].tag,
        0
    );
}

#[test]
fn controlled_shutdown_and_alter_partition_carry_what_apache_set() {
    for version in 0..=3 {
        let bytes = fixture(&format!("controlled_shutdown_request_v{version}"));
        let request = ControlledShutdownRequest::decode(&mut &bytes[..], version).unwrap();
        assert_eq!(request.broker_id, BrokerId(2));
        let expected_epoch = if version >= 2 { BROKER_EPOCH } else { -1 };
        assert_eq!(request.broker_epoch, expected_epoch);
        let bytes = fixture(&format!("controlled_shutdown_response_v{version}"));
        let response = ControlledShutdownResponse::decode(&mut &bytes[..], version).unwrap();
        let remaining: Vec<_> = response
            .remaining_partitions
            .iter()
            .map(|partition| (partition.topic_name.as_str(), partition.partition_index))
            .collect();
        assert_eq!(
            remaining,
            vec![("orders", 1), ("orders", 0), ("audit-log", 0)]
        );
    }
    for version in 0..=3 {
        let bytes = fixture(&format!("alter_partition_request_v{version}"));
        let request = AlterPartitionRequest::decode(&mut &bytes[..], version).unwrap();
        assert_eq!(request.broker_id, BrokerId(2));
        assert_eq!(request.broker_epoch, BROKER_EPOCH);
        let topic = &request.topics[0];
        if version <= 1 {
            assert_eq!(
                (topic.topic_name.as_str(), topic.topic_id),
                ("orders", TopicId::ZERO)
            );
        } else {
            assert_eq!((topic.topic_name.as_str(), topic.topic_id), ("", ORDERS_ID));
        }
        let partition = &topic.partitions[1];
        assert_eq!(partition.leader_epoch, 11);
        assert_eq!(partition.partition_epoch, 21);
        assert_eq!(partition.leader_recovery_state, i8::from(version >= 1));
        if version <= 2 {
            assert_eq!(partition.new_isr, ids(&[2]));
        } else {
            assert_eq!(
                partition.new_isr_with_epochs,
                vec![BrokerState {
                    broker_id: BrokerId(2),
                    broker_epoch: 77,
                    unknown_tagged_fields: vec![],
                }]
            );
        }
        let bytes = fixture(&format!("alter_partition_response_v{version}"));
        let response = AlterPartitionResponse::decode(&mut &bytes[..], version).unwrap();
        let failed = &response.topics[0].partitions[1];
        assert_eq!(failed.error_code, 95);
        assert_eq!(failed.leader_id, BrokerId(-1));
        assert!(failed.isr.is_empty());
        assert_eq!(failed.leader_recovery_state, i8::from(version >= 1));
    }
}

#[test]
fn ignorable_fields_drop_silently_when_writing_older_versions() {
    // A v5 LeaderAndIsr written at v4 loses only the ignorable topic ids: Apache's
    // own v4 bytes.
    let v5 = leader_and_isr("leader_and_isr_request_v5", 5);
    assert_eq!(
        &v5.to_bytes(4).unwrap()[..],
        &fixture("leader_and_isr_request_v4")[..]
    );
    // An UpdateMetadata v8 (ZooKeeper controller: not KRaft, type 0) written at v6.
    let bytes = fixture("update_metadata_request_v8");
    let v8 = UpdateMetadataRequest::decode(&mut &bytes[..], 8).unwrap();
    assert_eq!(
        &v8.to_bytes(6).unwrap()[..],
        &fixture("update_metadata_request_v6")[..]
    );
    // ControlledShutdown v2 written at v1 drops the ignorable broker epoch.
    let bytes = fixture("controlled_shutdown_request_v2");
    let v2 = ControlledShutdownRequest::decode(&mut &bytes[..], 2).unwrap();
    assert_eq!(
        &v2.to_bytes(1).unwrap()[..],
        &fixture("controlled_shutdown_request_v1")[..]
    );
}

#[test]
fn non_ignorable_fields_refuse_versions_without_them() {
    let refused = |result: Result<BytesMut, WireError>, field: &str| match result {
        Err(WireError::FieldNotInVersion { field: got, .. }) => assert_eq!(got, field),
        other => panic!("expected {field} refused, got {other:?}"),
    };
    let kraft = leader_and_isr("leader_and_isr_request_v7_kraft", 7);
    refused(kraft.to_bytes(6), "is_kraft_controller");
    let typed = LeaderAndIsrRequest {
        type_: 1,
        ..Default::default()
    };
    refused(typed.to_bytes(4), "type");
    let v2 = leader_and_isr("leader_and_isr_request_v2", 2);
    refused(v2.to_bytes(1), "topic_states");
    let v1 = leader_and_isr("leader_and_isr_request_v1", 1);
    refused(v1.to_bytes(2), "ungrouped_partition_states");
    let v6 = leader_and_isr("leader_and_isr_request_v6", 6);
    refused(v6.to_bytes(5), "partition_states.leader_recovery_state");

    let bytes = fixture("update_metadata_request_v8_unknown_tags");
    let typed = UpdateMetadataRequest::decode(&mut &bytes[..], 8).unwrap();
    refused(
        UpdateMetadataRequest {
            unknown_tagged_fields: vec![],
            ..typed.clone()
        }
        .to_bytes(7),
        "type",
    );
    // Unknown tagged fields cannot go into a classic version.
    let classic = UpdateMetadataRequest {
        unknown_tagged_fields: typed.unknown_tagged_fields.clone(),
        ..Default::default()
    };
    assert_eq!(
        classic.to_bytes(5).unwrap_err(),
        WireError::TaggedFieldsInClassicVersion { version: 5 }
    );
    // An unknown field reusing the known Type tag.
    let colliding = UpdateMetadataRequest {
        type_: 1,
        unknown_tagged_fields: vec![RawTaggedField {
            tag: 0,
            data: bytes::Bytes::new(),
        }],
        ..Default::default()
    };
    assert_eq!(
        colliding.to_bytes(8).unwrap_err(),
        WireError::TaggedFieldOrder { tag: 0 }
    );

    let bytes = fixture("stop_replica_request_v2");
    let v2 = StopReplicaRequest::decode(&mut &bytes[..], 2).unwrap();
    refused(v2.to_bytes(3), "delete_partitions");
    let bytes = fixture("alter_partition_request_v2");
    let v2 = AlterPartitionRequest::decode(&mut &bytes[..], 2).unwrap();
    refused(v2.to_bytes(3), "partitions.new_isr");
    let recovering = AlterPartitionRequest {
        topics: vec![alter_partition::AlterPartitionTopicData {
            partitions: vec![AlterPartitionPartitionData {
                leader_recovery_state: 1,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    refused(recovering.to_bytes(0), "partitions.leader_recovery_state");
    // The response's LeaderRecoveryState is ignorable: v0 drops it.
    let bytes = fixture("alter_partition_response_v1");
    let v1 = AlterPartitionResponse::decode(&mut &bytes[..], 1).unwrap();
    assert_eq!(
        &v1.to_bytes(0).unwrap()[..],
        &fixture("alter_partition_response_v0")[..]
    );

    assert!(matches!(
        ControlledShutdownRequest::default().to_bytes(4),
        Err(WireError::UnsupportedVersion { version: 4, .. })
    ));
    let _ = RemainingPartition::default();
}

#[test]
fn every_truncation_of_every_golden_body_is_an_error() {
    for (name, bytes) in fixtures() {
        let parsed = parse_name(name);
        if parsed.is_header {
            continue;
        }
        for length in 0..bytes.len() {
            let result = decode_body_lenient(&parsed, &bytes[..length]);
            assert!(
                result.is_err(),
                "{name} cut to {length} of {} bytes decoded",
                bytes.len()
            );
        }
    }
}

/// Like `decode_body` but leftovers are not a failure (mutated inputs may leave some).
fn decode_body_lenient(name: &FixtureName, bytes: &[u8]) -> Result<BodyOf, WireError> {
    let mut input = bytes;
    if name.is_request {
        InterBrokerRequest::decode(name.api, &mut input, name.version).map(BodyOf::Request)
    } else {
        InterBrokerResponse::decode(name.api, &mut input, name.version).map(BodyOf::Response)
    }
}

#[test]
fn mutated_golden_bodies_never_panic_and_reencode_stably() {
    // xorshift64*: a fixed seed, so a failure reproduces.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut decoded = 0;
    for (name, bytes) in fixtures() {
        let parsed = parse_name(name);
        if parsed.is_header || bytes.is_empty() {
            continue;
        }
        for _ in 0..64 {
            let mut mutated = bytes.clone();
            for _ in 0..=(next() % 3) {
                let index = (next() as usize) % mutated.len();
                mutated[index] = next() as u8;
            }
            let Ok(body) = decode_body_lenient(&parsed, &mutated) else {
                continue;
            };
            decoded += 1;
            // Whatever decodes re-encodes (or is refused as Java would refuse it),
            // and what re-encodes decodes to the same value.
            if let Ok(encoded) = encode_body(&body, parsed.version) {
                let again = decode_body(&parsed, &encoded).expect("re-encoded bytes decode");
                assert_eq!(again, body, "{name}");
            }
        }
    }
    assert!(decoded > 0);
}

#[test]
fn hostile_counts_allocate_nothing_and_fail() {
    // LeaderAndIsr v7: controller id, is-kraft, epoch, broker epoch, type, then a
    // topic count of 2^28 as a compact varint with nothing behind it.
    let mut bytes = unhex(concat!(
        "00000001",
        "00",
        "00000005",
        "0000000000000001",
        "00"
    ));
    bytes.extend([0x80, 0x80, 0x80, 0x80, 0x01]);
    assert!(matches!(
        LeaderAndIsrRequest::decode(&mut &bytes[..], 7),
        Err(WireError::CountTooLarge {
            field: "topic_states",
            ..
        })
    ));
    // StopReplica v0: DeletePartitions, then a classic count of i32::MAX.
    let bytes = unhex("0000000100000005017fffffff");
    assert!(matches!(
        StopReplicaRequest::decode(&mut &bytes[..], 0),
        Err(WireError::CountTooLarge {
            field: "ungrouped_partitions",
            ..
        })
    ));
    // A null (-1) array where the schema allows none.
    let bytes = unhex("000000010000000501ffffffff");
    assert_eq!(
        StopReplicaRequest::decode(&mut &bytes[..], 0).unwrap_err(),
        WireError::UnexpectedNull {
            field: "ungrouped_partitions"
        }
    );
    // The known Type tag at v7, where Java throws "Tag 0 is not valid".
    let mut v7 = fixture("update_metadata_request_v7_empty");
    let last = v7.len() - 1;
    v7[last] = 1;
    v7.extend([0, 1, 2]);
    assert!(matches!(
        UpdateMetadataRequest::decode(&mut &v7[..], 7),
        Err(WireError::TagNotInVersion {
            tag: 0,
            version: 7,
            ..
        })
    ));
}

/// Decodes a `crate_*` fixture with the kafka-protocol crate and checks it
/// re-encodes byte for byte.
fn crate_round_trip<T>(name: &str, version: i16) -> T
where
    T: kafka_protocol::protocol::Decodable + kafka_protocol::protocol::Encodable,
{
    let bytes = fixture(name);
    let mut input = bytes::Bytes::from(bytes.clone());
    let message = T::decode(&mut input, version).unwrap_or_else(|error| panic!("{name}: {error}"));
    assert!(input.is_empty(), "{name}: bytes left over");
    let mut out = BytesMut::new();
    message.encode(&mut out, version).unwrap();
    assert_eq!(&out[..], &bytes[..], "{name} re-encoded differently");
    message
}

#[test]
fn the_crate_reads_the_inter_broker_messages_it_has_at_the_versions_3_9_pins() {
    use kafka_protocol::messages::{
        AllocateProducerIdsRequest, AllocateProducerIdsResponse, FetchRequest, FetchResponse,
        ListOffsetsRequest, ListOffsetsResponse, OffsetForLeaderEpochRequest,
        OffsetForLeaderEpochResponse,
    };
    let fetch: FetchRequest = crate_round_trip("crate_fetch_request_v17", 17);
    assert_eq!(fetch.replica_state.replica_id.0, 2);
    assert_eq!(fetch.replica_state.replica_epoch, BROKER_EPOCH);
    assert_eq!(fetch.replica_id.0, -1);
    assert_eq!(fetch.topics[0].topic_id, ORDERS_ID.0);
    assert_eq!(fetch.topics[0].partitions[0].last_fetched_epoch, 9);
    let fetch: FetchRequest = crate_round_trip("crate_fetch_request_v12", 12);
    assert_eq!(fetch.replica_id.0, 2);
    assert_eq!(fetch.topics[0].topic.0.as_str(), "orders");
    let response: FetchResponse = crate_round_trip("crate_fetch_response_v17", 17);
    let diverging = &response.responses[0].partitions[0].diverging_epoch;
    assert_eq!((diverging.epoch, diverging.end_offset), (8, 1100));

    let request: OffsetForLeaderEpochRequest =
        crate_round_trip("crate_offset_for_leader_epoch_request_v4", 4);
    assert_eq!(request.replica_id.0, 2);
    let response: OffsetForLeaderEpochResponse =
        crate_round_trip("crate_offset_for_leader_epoch_response_v4", 4);
    assert_eq!(response.topics[0].partitions[0].end_offset, 1100);

    let request: ListOffsetsRequest = crate_round_trip("crate_list_offsets_request_v9", 9);
    assert_eq!(request.replica_id.0, 2);
    let response: ListOffsetsResponse = crate_round_trip("crate_list_offsets_response_v9", 9);
    assert_eq!(response.topics[0].partitions[0].offset, 1234);

    let request: AllocateProducerIdsRequest =
        crate_round_trip("crate_allocate_producer_ids_request_v0", 0);
    assert_eq!(request.broker_epoch, BROKER_EPOCH);
    let response: AllocateProducerIdsResponse =
        crate_round_trip("crate_allocate_producer_ids_response_v0", 0);
    assert_eq!(
        (response.producer_id_start.0, response.producer_id_len),
        (3000, 1000)
    );

    // AlterPartition: the crate reads v2-3 (what this module's v2-3 fixtures hold)
    // and refuses v0-1, which is why this module has its own AlterPartition.
    for version in 2..=3 {
        let request: kafka_protocol::messages::AlterPartitionRequest =
            crate_round_trip(&format!("alter_partition_request_v{version}"), version);
        assert_eq!(request.topics[0].topic_id, ORDERS_ID.0);
        let _: kafka_protocol::messages::AlterPartitionResponse =
            crate_round_trip(&format!("alter_partition_response_v{version}"), version);
    }
    for version in 0..=1 {
        let bytes = fixture(&format!("alter_partition_request_v{version}"));
        let mut input = bytes::Bytes::from(bytes);
        assert!(
            <kafka_protocol::messages::AlterPartitionRequest as kafka_protocol::protocol::Decodable>::decode(&mut input, version).is_err()
        );
    }
}

#[test]
fn version_agnostic_views_match_javas_request_wrappers() {
    for version in 0..=7 {
        let request = leader_and_isr(&format!("leader_and_isr_request_v{version}"), version);
        let partitions: Vec<(&str, i32)> = request
            .partitions()
            .map(|(topic, _, state)| (topic, state.partition_index))
            .collect();
        assert_eq!(
            partitions,
            vec![
                ("orders", 0),
                ("orders", 1),
                ("orders", 2),
                ("audit-log", 0)
            ]
        );
    }
    for version in 0..=8 {
        let bytes = fixture(&format!("update_metadata_request_v{version}"));
        let request = UpdateMetadataRequest::decode(&mut &bytes[..], version).unwrap();
        assert_eq!(request.partitions().count(), 4);
        let endpoints = request.live_brokers[0].endpoints_any_version(version);
        assert_eq!(endpoints[0].host, "broker-1.example");
        assert_eq!(endpoints[0].port, 9091);
        assert_eq!(endpoints[0].listener, "PLAINTEXT", "v{version}");
        if version >= 1 {
            // Before v3 the listener of a SASL_SSL endpoint is the protocol's name.
            let expected = if version >= 3 { "INTERNAL" } else { "SASL_SSL" };
            assert_eq!(endpoints[1].listener, expected, "v{version}");
        }
    }
    for version in 0..=4 {
        let bytes = fixture(&format!("stop_replica_request_v{version}"));
        let request = StopReplicaRequest::decode(&mut &bytes[..], version).unwrap();
        let partitions: Vec<_> = request
            .partitions()
            .map(|p| {
                (
                    p.topic_name,
                    p.partition_index,
                    p.leader_epoch,
                    p.delete_partition,
                )
            })
            .collect();
        let expected = if version <= 2 {
            vec![
                ("orders", 0, -1, true),
                ("orders", 2, -1, true),
                ("audit-log", 0, -1, true),
            ]
        } else {
            vec![
                ("orders", 0, 12, false),
                ("orders", 2, -1, true),
                ("audit-log", 0, -2, true),
            ]
        };
        assert_eq!(partitions, expected, "v{version}");
    }
}
