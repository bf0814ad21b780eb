//! The bytes Apache ZooKeeper 3.9.4's own classes produce
//! (`tests/fixtures/quorum/golden.txt`, from
//! `compat-tests/java/quorum-golden/QuorumGolden.java`): each is decoded to
//! the values Apache put in and re-encoded byte for byte.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::config::Properties;
use crate::zookeeper::config::{HostPort, ZooKeeperConfig};
use crate::zookeeper::jute::codec::BUFFER_BYTES_MAX_DEFAULT;
use crate::zookeeper::jute::{Id, TxnBody};
use crate::zookeeper::quorum::message::{
    InitialMessage, QuorumMessage, ServerId, ServerState, SessionTouch,
};
use crate::zookeeper::tree::{SessionId, TreeConfig, Zxid};

const GOLDEN: &str = include_str!("../../../../tests/fixtures/quorum/golden.txt");
const SESSION: i64 = 0x0300_018b_2c4d_0000;

fn golden() -> BTreeMap<&'static str, Vec<u8>> {
    GOLDEN
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (name, hex) = line.split_once('=').expect("name=hex");
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).expect("hex"))
                .collect();
            (name, bytes)
        })
        .collect()
}

fn fixture(name: &str) -> Vec<u8> {
    golden()
        .remove(name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

#[test]
fn initial_messages_decode_and_reencode() {
    let v1 = fixture("initial_message_v1");
    let Ok(Decoded::Complete { value, consumed }) = decode_initial_message(&v1) else {
        panic!("v1 header did not decode");
    };
    assert_eq!(consumed, v1.len());
    assert_eq!(
        value,
        InitialMessage {
            protocol_version: Some(PROTOCOL_VERSION_V1),
            server_id: ServerId(3),
            election_addresses: vec!["127.0.0.3:3888".to_string()],
        }
    );
    assert_eq!(encode_initial_message(&value).unwrap(), v1);

    let v2 = fixture("initial_message_v2");
    let Ok(Decoded::Complete { value, .. }) = decode_initial_message(&v2) else {
        panic!("v2 header did not decode");
    };
    assert_eq!(value.protocol_version, Some(PROTOCOL_VERSION_V2));
    let ipv6 = HostPort {
        host: "::1".to_string(),
        port: 3889,
    };
    assert_eq!(value.election_addresses[1], election_address_string(&ipv6));
    assert_eq!(encode_initial_message(&value).unwrap(), v2);
}

#[test]
fn config_string_matches_quorum_maj_to_string() {
    let text = "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=/data\nclientPort=2181\n\
                server.1=127.0.0.1:2888:3888\n\
                server.2=127.0.0.2:2888:3888;2181\n\
                server.3=127.0.0.3:2888:3888:participant;127.0.0.3:2182\n\
                server.4=[::1]:2890:3890:observer\n";
    let properties = Properties::parse(Path::new("zoo.cfg"), text).unwrap();
    let config = ZooKeeperConfig::from_properties(&properties, &|_| Some("1".to_string())).unwrap();
    assert_eq!(
        quorum_config_string(&config.servers, 0).as_bytes(),
        fixture("config_string")
    );
    assert_eq!(
        quorum_config_string(&config.servers, 0x5_0000_0000).as_bytes(),
        fixture("config_string_versioned")
    );
}

#[test]
fn notifications_decode_and_reencode() {
    let bytes = fixture("notification");
    let notification = decode_notification(&bytes).unwrap();
    assert_eq!(notification.state, ServerState::Leading);
    assert_eq!(notification.vote.leader, ServerId(3));
    assert_eq!(notification.vote.zxid, Zxid(0x4_0000_0007));
    assert_eq!(
        (
            notification.vote.election_epoch,
            notification.vote.peer_epoch
        ),
        (9, 4)
    );
    assert_eq!(notification.version, NOTIFICATION_VERSION_CURRENT);
    assert_eq!(
        notification.config.as_deref(),
        Some(&fixture("config_string")[..])
    );
    assert_eq!(encode_notification(&notification), bytes);
    let framed = encode_notification_frame(&notification).unwrap();
    assert_eq!(
        check_election_frame(&framed),
        ElectionFrame::Complete(bytes.len())
    );

    let empty = fixture("notification_empty_config");
    let notification = decode_notification(&empty).unwrap();
    assert_eq!(notification.state, ServerState::Looking);
    assert_eq!(notification.config.as_deref(), Some(&[][..]));
    assert_eq!(encode_notification(&notification), empty);

    // 3.4's 40 bytes: a version 1 field that 3.9 does not read.
    let old = decode_notification(&fixture("notification_40")).unwrap();
    assert_eq!(old.state, ServerState::Following);
    assert_eq!((old.vote.peer_epoch, old.version, old.config), (3, 0, None));
}

fn decode_packet(name: &str, direction: Direction) -> QuorumMessage {
    let bytes = fixture(name);
    match decode_quorum_message(&bytes, direction, BUFFER_BYTES_MAX_DEFAULT) {
        Ok(Decoded::Complete { value, consumed }) => {
            assert_eq!(consumed, bytes.len(), "{name}");
            assert_eq!(encode_quorum_message(&value), bytes, "{name} re-encoded");
            value
        }
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn every_learner_packet_decodes_and_reencodes() {
    use Direction::{FromLeader, FromLearner};
    let QuorumMessage::Request(request) = decode_packet("packet_request", FromLearner) else {
        panic!("not a request");
    };
    assert_eq!(
        (request.session_id, request.cxid, request.op),
        (SessionId(SESSION), 7, 1)
    );
    assert_eq!(
        request.auth_info,
        [Id::new("ip", "127.0.0.1"), Id::new("digest", "u")]
    );
    let QuorumMessage::Request(create_session) =
        decode_packet("packet_request_create_session", FromLearner)
    else {
        panic!("not a request");
    };
    assert_eq!(create_session.op, -10);
    assert_eq!(&create_session.body[..], &30000i32.to_be_bytes());
    assert!(create_session.auth_info.is_empty());

    let QuorumMessage::Proposal { txn } = decode_packet("packet_proposal", FromLeader) else {
        panic!("not a proposal");
    };
    assert_eq!(txn.header.zxid, 0x5_0000_0001);
    assert!(matches!(txn.body, TxnBody::Create(_)));
    assert_eq!(txn.digest.as_ref().map(|digest| digest.version), Some(2));
    let QuorumMessage::Proposal { txn } = decode_packet("packet_proposal_set_data", FromLeader)
    else {
        panic!("not a proposal");
    };
    assert_eq!(txn.digest, None);
    decode_packet("packet_proposal_multi", FromLeader);
    let QuorumMessage::Inform { txn } = decode_packet("packet_inform", FromLeader) else {
        panic!("not an inform");
    };
    assert!(matches!(txn.body, TxnBody::CloseSession(Some(_))));

    let zxid = Zxid(0x5_0000_0001);
    assert_eq!(
        decode_packet("packet_ack", FromLearner),
        QuorumMessage::Ack { zxid }
    );
    assert_eq!(
        decode_packet("packet_commit", FromLeader),
        QuorumMessage::Commit { zxid }
    );
    assert_eq!(
        decode_packet("packet_ping_leader", FromLeader),
        QuorumMessage::PingFromLeader { zxid }
    );
    assert_eq!(
        decode_packet("packet_ping_learner", FromLearner),
        QuorumMessage::PingFromLearner {
            zxid,
            touches: vec![
                SessionTouch {
                    session_id: SessionId(SESSION),
                    timeout_ms: 30000
                },
                SessionTouch {
                    session_id: SessionId(SESSION + 1),
                    timeout_ms: 4000
                },
            ],
        }
    );
    assert_eq!(
        decode_packet("packet_ping_learner_empty", FromLearner),
        QuorumMessage::PingFromLearner {
            zxid,
            touches: vec![]
        }
    );
    assert_eq!(
        decode_packet("packet_revalidate_request", FromLearner),
        QuorumMessage::RevalidateRequest {
            session_id: SessionId(SESSION),
            timeout_ms: 30000
        }
    );
    assert_eq!(
        decode_packet("packet_revalidate_reply", FromLeader),
        QuorumMessage::RevalidateReply {
            session_id: SessionId(SESSION),
            valid: true
        }
    );
    assert_eq!(
        decode_packet("packet_sync", FromLeader),
        QuorumMessage::Sync
    );
    assert_eq!(
        decode_packet("packet_newleader", FromLeader),
        QuorumMessage::NewLeader {
            zxid: Zxid(0x5_0000_0000),
            config: Some(Arc::from(&fixture("config_string_versioned")[..])),
        }
    );
    let QuorumMessage::FollowerInfo { zxid, info } =
        decode_packet("packet_followerinfo", FromLearner)
    else {
        panic!("not a FOLLOWERINFO");
    };
    assert_eq!(zxid, Zxid(0x4_0000_0000));
    assert_eq!(
        (info.server_id, info.protocol_version, info.config_version),
        (ServerId(3), 0x10000, 0)
    );
    assert!(matches!(
        decode_packet("packet_observerinfo", FromLearner),
        QuorumMessage::ObserverInfo { .. }
    ));
    assert_eq!(
        decode_packet("packet_uptodate", FromLeader),
        QuorumMessage::UpToDate
    );
    assert_eq!(
        decode_packet("packet_diff", FromLeader),
        QuorumMessage::Diff {
            zxid: Zxid(0x4_0000_0007)
        }
    );
    assert_eq!(
        decode_packet("packet_trunc", FromLeader),
        QuorumMessage::Trunc {
            zxid: Zxid(0x4_0000_0005)
        }
    );
    assert_eq!(
        decode_packet("packet_snap", FromLeader),
        QuorumMessage::Snap {
            zxid: Zxid(0x4_0000_0007)
        }
    );
    assert_eq!(
        decode_packet("packet_leaderinfo", FromLeader),
        QuorumMessage::LeaderInfo {
            zxid: Zxid(0x5_0000_0000),
            protocol_version: 0x10000
        }
    );
    assert_eq!(
        decode_packet("packet_ackepoch", FromLearner),
        QuorumMessage::AckEpoch {
            last_zxid: Zxid(0x4_0000_0007),
            current_epoch: 4
        }
    );
    assert_eq!(
        decode_packet("packet_ackepoch_already", FromLearner),
        QuorumMessage::AckEpoch {
            last_zxid: Zxid(0x4_0000_0007),
            current_epoch: -1
        }
    );
}

#[test]
fn reconfig_packets_are_unsupported_and_skippable() {
    for (name, packet_type) in [
        ("packet_commitandactivate", 9),
        ("packet_informandactivate", 19),
    ] {
        let bytes = fixture(name);
        assert_eq!(
            decode_quorum_message(&bytes, Direction::FromLeader, BUFFER_BYTES_MAX_DEFAULT),
            Err(WireError::Unsupported {
                packet_type,
                consumed: bytes.len()
            })
        );
    }
}

#[test]
fn snapshot_stream_rebuilds_the_tree_and_reencodes() {
    let bytes = fixture("snapshot_stream");
    let mut decoder = SnapshotStreamDecoder::new(TreeConfig::default(), BUFFER_BYTES_MAX_DEFAULT);
    // In uneven chunks, as a socket would hand them over.
    let mut offset = 0;
    let mut chunk = 1;
    let snapshot_end = loop {
        let end = (offset + chunk).min(bytes.len());
        match decoder.feed(&bytes[offset..end]).unwrap() {
            SnapshotFeed::NeedMore => {
                assert!(end < bytes.len(), "stream not done at its end");
                offset = end;
                chunk = chunk * 3 % 97 + 1;
            }
            SnapshotFeed::Done { consumed } => break offset + consumed,
        }
    };
    assert_eq!(snapshot_end, bytes.len());
    let snapshot = decoder.finish().unwrap();
    assert_eq!(
        snapshot.sessions,
        BTreeMap::from([(SessionId(SESSION), 30000)])
    );
    let tree = &snapshot.tree;
    assert_eq!(tree.node_count(), 8);
    assert_eq!(
        tree.node("/a").unwrap().data.as_deref(),
        Some(&b"alpha2"[..])
    );
    assert_eq!(tree.stat("/a").unwrap().num_children, 2);
    assert_eq!(tree.node("/a/b").unwrap().data, None);
    assert_eq!(tree.acl_of_path("/a/b").unwrap()[0].id.scheme, "digest");
    assert_eq!(tree.ephemerals(SessionId(SESSION)).len(), 1);
    assert_eq!(encode_snapshot_stream(tree, &snapshot.sessions), bytes);
}

#[test]
fn a_snap_sync_stream_splits_into_packets_and_snapshot() {
    let mut stream = fixture("packet_snap");
    stream.extend(fixture("snapshot_stream"));
    stream.extend(fixture("packet_newleader"));
    stream.extend(fixture("packet_uptodate"));
    let limit = BUFFER_BYTES_MAX_DEFAULT;
    let Ok(Decoded::Complete { value, consumed }) =
        decode_quorum_message(&stream, Direction::FromLeader, limit)
    else {
        panic!("no SNAP");
    };
    assert!(matches!(value, QuorumMessage::Snap { .. }));
    let mut decoder = SnapshotStreamDecoder::new(TreeConfig::default(), limit);
    let SnapshotFeed::Done {
        consumed: snapshot_bytes,
    } = decoder.feed(&stream[consumed..]).unwrap()
    else {
        panic!("snapshot not done");
    };
    let rest = &stream[consumed + snapshot_bytes..];
    let Ok(Decoded::Complete { value, consumed }) =
        decode_quorum_message(rest, Direction::FromLeader, limit)
    else {
        panic!("no NEWLEADER");
    };
    assert!(matches!(value, QuorumMessage::NewLeader { .. }));
    assert!(matches!(
        decode_quorum_message(&rest[consumed..], Direction::FromLeader, limit),
        Ok(Decoded::Complete {
            value: QuorumMessage::UpToDate,
            ..
        })
    ));
}

#[test]
fn every_prefix_of_every_fixture_is_incomplete_or_an_error_never_a_panic() {
    for (name, bytes) in golden() {
        for cut in 0..bytes.len() {
            let prefix = &bytes[..cut];
            let _ = decode_initial_message(prefix);
            let _ = decode_notification(prefix);
            for direction in [Direction::FromLeader, Direction::FromLearner] {
                assert!(
                    !matches!(
                        decode_quorum_message(prefix, direction, BUFFER_BYTES_MAX_DEFAULT),
                        Ok(Decoded::Complete { .. })
                    ) || !name.starts_with("packet_"),
                    "{name} cut at {cut} decoded"
                );
            }
            let mut decoder = SnapshotStreamDecoder::new(TreeConfig::default(), 1 << 16);
            let _ = decoder.feed(prefix);
        }
    }
}

/// Every decoder over `bytes`: none may panic, and a decoded learner packet
/// must re-encode.
fn run_every_decoder(bytes: &[u8]) {
    let _ = decode_initial_message(bytes);
    let _ = check_election_frame(bytes);
    let _ = decode_notification(bytes);
    for limit in [BUFFER_BYTES_MAX_DEFAULT, 16] {
        for direction in [Direction::FromLeader, Direction::FromLearner] {
            if let Ok(Decoded::Complete { value, .. }) =
                decode_quorum_message(bytes, direction, limit)
            {
                let _ = encode_quorum_message(&value);
            }
        }
        let mut decoder = SnapshotStreamDecoder::new(TreeConfig::default(), limit);
        let _ = decoder.feed(bytes);
    }
}

#[test]
fn mutated_fixtures_and_garbage_never_panic() {
    for (_, bytes) in golden() {
        for at in 0..bytes.len() {
            for replacement in [0x00, 0xff, 0x7f, 0x80, bytes[at].wrapping_add(1)] {
                let mut mutated = bytes.clone();
                mutated[at] = replacement;
                run_every_decoder(&mutated);
            }
        }
    }
    // xorshift64: deterministic garbage of every short length.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for length in 0..600 {
        let garbage: Vec<u8> = (0..length)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        run_every_decoder(&garbage);
    }
}
