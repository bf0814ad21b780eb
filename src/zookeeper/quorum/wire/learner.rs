//! The learner (Zab) port's bytes: a raw stream of jute `QuorumPacket`s
//! `{int type; long zxid; buffer data; vector<Id> authinfo}`, no length prefix,
//! and what each type carries in `data` (research §2.2):
//!
//! ```text
//!  1 REQUEST        L->ldr  zxid -1   long session, int cxid, int op, body; authinfo = client ids
//!  2 PROPOSAL       ldr->F  txn zxid  TxnHeader + record [+ TxnDigest]
//!  3 ACK            F->ldr  zxid      null
//!  4 COMMIT         ldr->F  zxid      null
//!  5 PING           ldr->L  zxid      null
//!  5 PING           L->ldr  echoed    (long session, int timeout)*, never null
//!  6 REVALIDATE     L->ldr  -1        long session, int timeout
//!  6 REVALIDATE     ldr->L  -1        long session, boolean valid (the request, answered)
//!  7 SYNC           ldr->L  0         null
//!  8 INFORM         ldr->O  txn zxid  as PROPOSAL
//! 10 NEWLEADER      ldr->L  epoch<<32 config string, or null
//! 11 FOLLOWERINFO   F->ldr  epoch<<32 LearnerInfo (long sid, int 0x10000, long configVersion)
//! 12 UPTODATE       ldr->L  -1        null
//! 13 DIFF, 14 TRUNC, 15 SNAP  ldr->L  zxid  null (SNAP: the snapshot stream follows)
//! 16 OBSERVERINFO   O->ldr  epoch<<32 LearnerInfo
//! 17 LEADERINFO     ldr->L  epoch<<32 int 0x10000
//! 18 ACKEPOCH       L->ldr  last zxid int currentEpoch, or -1
//! ```
//!
//! Apache writes authinfo as null (-1) on every packet but REQUEST, and so
//! does keel. PING and REVALIDATE share a type in both directions, so the
//! decoder is told which way the bytes travel. Fields Apache ignores on
//! receipt (a PROPOSAL's packet zxid beside its header's, ACK data, extra
//! bytes after a payload) are ignored here too; what Apache would fail on
//! (a missing or short payload) is `Malformed`.

use std::sync::Arc;

use super::{complete_record_error, Decoded, WireError};
use crate::zookeeper::jute::codec::{
    write_buffer, write_i32, write_i64, Decoder, JuteError, JuteResult,
};
use crate::zookeeper::jute::quorum::QuorumPacket;
use crate::zookeeper::jute::{Id, Jute, TxnEntry};
use crate::zookeeper::quorum::message::{
    ForwardedRequest, LearnerInfo, QuorumMessage, ServerId, SessionTouch,
};
use crate::zookeeper::tree::{SessionId, Zxid};

/// `Leader`'s packet type constants.
pub mod packet_types {
    pub const REQUEST: i32 = 1;
    pub const PROPOSAL: i32 = 2;
    pub const ACK: i32 = 3;
    pub const COMMIT: i32 = 4;
    pub const PING: i32 = 5;
    pub const REVALIDATE: i32 = 6;
    pub const SYNC: i32 = 7;
    pub const INFORM: i32 = 8;
    pub const COMMITANDACTIVATE: i32 = 9;
    pub const NEWLEADER: i32 = 10;
    pub const FOLLOWERINFO: i32 = 11;
    pub const UPTODATE: i32 = 12;
    pub const DIFF: i32 = 13;
    pub const TRUNC: i32 = 14;
    pub const SNAP: i32 = 15;
    pub const OBSERVERINFO: i32 = 16;
    pub const LEADERINFO: i32 = 17;
    pub const ACKEPOCH: i32 = 18;
    pub const INFORMANDACTIVATE: i32 = 19;
}

use packet_types::*;

/// Which way a packet travels: PING and REVALIDATE carry different payloads
/// each way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Read by a follower or observer.
    FromLeader,
    /// Read by the leader (`LearnerHandler`).
    FromLearner,
}

/// keel's bound on a packet's authinfo entries. Apache has none (each string is
/// bounded by jute.maxbuffer only); a client's ids are its `addAuth` calls plus
/// its address, a handful.
pub const AUTH_INFO_IDS_MAX: usize = 1024;
/// keel's bound on the bytes of a packet's authinfo vector, so a packet being
/// buffered never exceeds data (`buffer_bytes_max`) plus this.
pub const AUTH_INFO_BYTES_MAX: usize = 64 * 1024;

/// `LearnerHandler.version`'s value before a LearnerInfo says otherwise.
const LEARNER_PROTOCOL_VERSION_UNSET: i32 = 0x1;
/// The zxid Apache puts on packets that name none (REQUEST, REVALIDATE, UPTODATE).
const ZXID_NONE: i64 = -1;
/// SYNC's zxid (`Leader.sendSync`).
const ZXID_SYNC: i64 = 0;
const SESSION_TOUCH_BYTES: usize = 12;
const REQUEST_HEADER_BYTES: usize = 16;

/// Reads one raw packet from the front of `buffer`. `buffer_bytes_max` bounds
/// the data buffer as jute.maxbuffer (+ extrasize) does Apache's
/// (`BUFFER_BYTES_MAX_DEFAULT` for Apache's defaults); a null authinfo reads
/// as an empty list.
pub fn decode_quorum_packet(
    buffer: &[u8],
    buffer_bytes_max: usize,
) -> Result<Decoded<QuorumPacket>, WireError> {
    let mut input = Decoder::new(buffer, buffer_bytes_max);
    let head = (|| -> JuteResult<(i32, i64, Option<Vec<u8>>)> {
        Ok((input.read_i32()?, input.read_i64()?, input.read_buffer()?))
    })();
    let (packet_type, zxid, data) = match head {
        Ok(head) => head,
        Err(JuteError::Incomplete { .. }) => return Ok(Decoded::Incomplete),
        Err(JuteError::Malformed(_)) => {
            let length = i32::from_be_bytes(buffer[12..16].try_into().expect("4 bytes"));
            return Err(WireError::BadLength {
                what: "quorum packet data",
                length: length.into(),
                limit: buffer_bytes_max,
            });
        }
    };
    let auth_start = input.position();
    let mut auth_input = Decoder::new(&buffer[auth_start..], AUTH_INFO_BYTES_MAX);
    let auth_info = match read_auth_info(&mut auth_input) {
        Ok(auth_info) => auth_info,
        Err(JuteError::Incomplete { needed }) => {
            let announced = buffer.len() - auth_start + needed;
            if announced > AUTH_INFO_BYTES_MAX {
                return Err(WireError::BadLength {
                    what: "quorum packet authinfo bytes",
                    length: announced as i64,
                    limit: AUTH_INFO_BYTES_MAX,
                });
            }
            return Ok(Decoded::Incomplete);
        }
        Err(error) => return Err(complete_record_error("quorum packet authinfo", error)),
    };
    if auth_input.position() > AUTH_INFO_BYTES_MAX {
        return Err(WireError::BadLength {
            what: "quorum packet authinfo bytes",
            length: auth_input.position() as i64,
            limit: AUTH_INFO_BYTES_MAX,
        });
    }
    Ok(Decoded::Complete {
        value: QuorumPacket {
            packet_type,
            zxid,
            data,
            auth_info,
        },
        consumed: auth_start + auth_input.position(),
    })
}

fn read_auth_info(input: &mut Decoder<'_>) -> JuteResult<Vec<Id>> {
    let Some(count) = input.read_vector_length()? else {
        return Ok(Vec::new());
    };
    if count > AUTH_INFO_IDS_MAX {
        return Err(JuteError::Malformed(format!(
            "{count} authinfo ids (limit {AUTH_INFO_IDS_MAX})"
        )));
    }
    let mut ids = Vec::new();
    for _ in 0..count {
        ids.push(Id::read(input)?);
    }
    Ok(ids)
}

/// Reads one packet from the front of `buffer` and types it. `Unsupported`
/// and `UnknownPacketType` say how many bytes the packet took, so a caller
/// may skip it as Apache does with unknown types.
pub fn decode_quorum_message(
    buffer: &[u8],
    direction: Direction,
    buffer_bytes_max: usize,
) -> Result<Decoded<QuorumMessage>, WireError> {
    match decode_quorum_packet(buffer, buffer_bytes_max)? {
        Decoded::Incomplete => Ok(Decoded::Incomplete),
        Decoded::Complete { value, consumed } => {
            match message_from_packet(value, direction, buffer_bytes_max) {
                Ok(message) => Ok(Decoded::Complete {
                    value: message,
                    consumed,
                }),
                Err(WireError::Unsupported { packet_type, .. }) => Err(WireError::Unsupported {
                    packet_type,
                    consumed,
                }),
                Err(WireError::UnknownPacketType { packet_type, .. }) => {
                    Err(WireError::UnknownPacketType {
                        packet_type,
                        consumed,
                    })
                }
                Err(other) => Err(other),
            }
        }
    }
}

/// Types a raw packet (`consumed` in the errors it returns is 0: the caller
/// knows the packet's size). `buffer_bytes_max` bounds the strings inside a
/// txn payload.
pub fn message_from_packet(
    packet: QuorumPacket,
    direction: Direction,
    buffer_bytes_max: usize,
) -> Result<QuorumMessage, WireError> {
    let zxid = Zxid(packet.zxid);
    let data = packet.data;
    let payload = |what: &str| -> Result<&[u8], WireError> {
        data.as_deref()
            .ok_or_else(|| WireError::malformed(format!("{what} without data")))
    };
    Ok(match packet.packet_type {
        REQUEST => {
            let bytes = payload("REQUEST")?;
            if bytes.len() < REQUEST_HEADER_BYTES {
                return Err(WireError::malformed(format!(
                    "REQUEST data of {} bytes (16 at least)",
                    bytes.len()
                )));
            }
            QuorumMessage::Request(ForwardedRequest {
                session_id: SessionId(be_i64(&bytes[0..8])),
                cxid: be_i32(&bytes[8..12]),
                op: be_i32(&bytes[12..16]),
                body: Arc::from(&bytes[REQUEST_HEADER_BYTES..]),
                auth_info: packet.auth_info,
            })
        }
        PROPOSAL => QuorumMessage::Proposal {
            txn: Arc::new(read_txn(
                "PROPOSAL",
                payload("PROPOSAL")?,
                buffer_bytes_max,
            )?),
        },
        INFORM => QuorumMessage::Inform {
            txn: Arc::new(read_txn("INFORM", payload("INFORM")?, buffer_bytes_max)?),
        },
        ACK => QuorumMessage::Ack { zxid },
        COMMIT => QuorumMessage::Commit { zxid },
        PING => match direction {
            Direction::FromLeader => QuorumMessage::PingFromLeader { zxid },
            Direction::FromLearner => {
                let bytes = payload("learner PING")?;
                // LearnerHandler reads pairs while bytes remain: a partial
                // pair is an EOFException there.
                if bytes.len() % SESSION_TOUCH_BYTES != 0 {
                    return Err(WireError::malformed(format!(
                        "PING data of {} bytes is not whole (session, timeout) pairs",
                        bytes.len()
                    )));
                }
                let touches = bytes
                    .chunks_exact(SESSION_TOUCH_BYTES)
                    .map(|pair| SessionTouch {
                        session_id: SessionId(be_i64(&pair[0..8])),
                        timeout_ms: be_i32(&pair[8..12]),
                    })
                    .collect();
                QuorumMessage::PingFromLearner { zxid, touches }
            }
        },
        REVALIDATE => {
            let bytes = payload("REVALIDATE")?;
            match direction {
                Direction::FromLearner => {
                    let bytes = bytes.get(..12).ok_or_else(|| {
                        WireError::malformed("REVALIDATE request shorter than 12 bytes")
                    })?;
                    QuorumMessage::RevalidateRequest {
                        session_id: SessionId(be_i64(&bytes[0..8])),
                        timeout_ms: be_i32(&bytes[8..12]),
                    }
                }
                Direction::FromLeader => {
                    let bytes = bytes.get(..9).ok_or_else(|| {
                        WireError::malformed("REVALIDATE reply shorter than 9 bytes")
                    })?;
                    QuorumMessage::RevalidateReply {
                        session_id: SessionId(be_i64(&bytes[0..8])),
                        valid: bytes[8] != 0,
                    }
                }
            }
        }
        SYNC => QuorumMessage::Sync,
        NEWLEADER => QuorumMessage::NewLeader {
            zxid,
            config: data.as_deref().map(Arc::from),
        },
        FOLLOWERINFO => QuorumMessage::FollowerInfo {
            zxid,
            info: read_learner_info(data.as_deref())?,
        },
        OBSERVERINFO => QuorumMessage::ObserverInfo {
            zxid,
            info: read_learner_info(data.as_deref())?,
        },
        UPTODATE => QuorumMessage::UpToDate,
        DIFF => QuorumMessage::Diff { zxid },
        TRUNC => QuorumMessage::Trunc { zxid },
        SNAP => QuorumMessage::Snap { zxid },
        LEADERINFO => QuorumMessage::LeaderInfo {
            zxid,
            protocol_version: read_leading_int("LEADERINFO", data.as_deref())?,
        },
        ACKEPOCH => QuorumMessage::AckEpoch {
            last_zxid: zxid,
            current_epoch: read_leading_int("ACKEPOCH", data.as_deref())?,
        },
        COMMITANDACTIVATE | INFORMANDACTIVATE => {
            return Err(WireError::Unsupported {
                packet_type: packet.packet_type,
                consumed: 0,
            })
        }
        other => {
            return Err(WireError::UnknownPacketType {
                packet_type: other,
                consumed: 0,
            })
        }
    })
}

/// `SerializeUtils.deserializeTxn` of a proposal's data.
fn read_txn(what: &str, bytes: &[u8], buffer_bytes_max: usize) -> Result<TxnEntry, WireError> {
    TxnEntry::from_bytes(bytes, buffer_bytes_max)
        .map_err(|error| complete_record_error(&format!("{what} txn"), error))
}

/// LearnerInfo read positionally, as `LearnerHandler.run` reads it: the sid
/// needs 8 bytes, the protocol version 12 (0x1 without), the config version 20
/// (0, which is never ahead of the leader, without). Data shorter than a sid
/// is a pre-3.4 learner, which Apache numbers itself and keel does not serve.
fn read_learner_info(data: Option<&[u8]>) -> Result<LearnerInfo, WireError> {
    let bytes = data.unwrap_or_default();
    if bytes.len() < 8 {
        return Err(WireError::malformed(format!(
            "LearnerInfo of {} bytes has no server id (pre-3.4 learner)",
            bytes.len()
        )));
    }
    Ok(LearnerInfo {
        server_id: ServerId(be_i64(&bytes[0..8])),
        protocol_version: bytes
            .get(8..12)
            .map(be_i32)
            .unwrap_or(LEARNER_PROTOCOL_VERSION_UNSET),
        config_version: bytes.get(12..20).map(be_i64).unwrap_or(0),
    })
}

/// LEADERINFO and ACKEPOCH: `ByteBuffer.wrap(data).getInt()`.
fn read_leading_int(what: &str, data: Option<&[u8]>) -> Result<i32, WireError> {
    data.and_then(|bytes| bytes.get(..4))
        .map(be_i32)
        .ok_or_else(|| WireError::malformed(format!("{what} data shorter than an int")))
}

/// The packet Apache sends for `message`, as bytes.
pub fn encode_quorum_message(message: &QuorumMessage) -> Vec<u8> {
    let mut out = Vec::new();
    encode_quorum_message_into(&mut out, message);
    out
}

/// Appends the packet Apache sends for `message` (type, zxid, data and
/// authinfo exactly as Leader, LearnerHandler and Learner build them).
pub fn encode_quorum_message_into(out: &mut Vec<u8>, message: &QuorumMessage) {
    let mut data = Vec::new();
    let (packet_type, zxid, has_data): (i32, i64, bool) = match message {
        QuorumMessage::Request(request) => {
            write_i64(&mut data, request.session_id.0);
            write_i32(&mut data, request.cxid);
            write_i32(&mut data, request.op);
            data.extend_from_slice(&request.body);
            (REQUEST, ZXID_NONE, true)
        }
        QuorumMessage::Proposal { txn } => {
            data = txn.to_bytes();
            (PROPOSAL, txn.header.zxid, true)
        }
        QuorumMessage::Inform { txn } => {
            data = txn.to_bytes();
            (INFORM, txn.header.zxid, true)
        }
        QuorumMessage::Ack { zxid } => (ACK, zxid.0, false),
        QuorumMessage::Commit { zxid } => (COMMIT, zxid.0, false),
        QuorumMessage::PingFromLeader { zxid } => (PING, zxid.0, false),
        QuorumMessage::PingFromLearner { zxid, touches } => {
            // Learner.ping writes its (possibly empty) touch table: data is
            // never null.
            for touch in touches {
                write_i64(&mut data, touch.session_id.0);
                write_i32(&mut data, touch.timeout_ms);
            }
            (PING, zxid.0, true)
        }
        QuorumMessage::RevalidateRequest {
            session_id,
            timeout_ms,
        } => {
            write_i64(&mut data, session_id.0);
            write_i32(&mut data, *timeout_ms);
            (REVALIDATE, ZXID_NONE, true)
        }
        QuorumMessage::RevalidateReply { session_id, valid } => {
            write_i64(&mut data, session_id.0);
            data.push(u8::from(*valid));
            (REVALIDATE, ZXID_NONE, true)
        }
        QuorumMessage::Sync => (SYNC, ZXID_SYNC, false),
        QuorumMessage::NewLeader { zxid, config } => {
            if let Some(config) = config {
                data.extend_from_slice(config);
            }
            (NEWLEADER, zxid.0, config.is_some())
        }
        QuorumMessage::FollowerInfo { zxid, info } => {
            write_learner_info(&mut data, info);
            (FOLLOWERINFO, zxid.0, true)
        }
        QuorumMessage::ObserverInfo { zxid, info } => {
            write_learner_info(&mut data, info);
            (OBSERVERINFO, zxid.0, true)
        }
        QuorumMessage::UpToDate => (UPTODATE, ZXID_NONE, false),
        QuorumMessage::Diff { zxid } => (DIFF, zxid.0, false),
        QuorumMessage::Trunc { zxid } => (TRUNC, zxid.0, false),
        QuorumMessage::Snap { zxid } => (SNAP, zxid.0, false),
        QuorumMessage::LeaderInfo {
            zxid,
            protocol_version,
        } => {
            write_i32(&mut data, *protocol_version);
            (LEADERINFO, zxid.0, true)
        }
        QuorumMessage::AckEpoch {
            last_zxid,
            current_epoch,
        } => {
            write_i32(&mut data, *current_epoch);
            (ACKEPOCH, last_zxid.0, true)
        }
    };
    write_i32(out, packet_type);
    write_i64(out, zxid);
    write_buffer(out, has_data.then_some(data.as_slice()));
    match message {
        QuorumMessage::Request(request) => request.auth_info.write(out),
        _ => write_i32(out, -1),
    }
}

fn write_learner_info(out: &mut Vec<u8>, info: &LearnerInfo) {
    write_i64(out, info.server_id.0);
    write_i32(out, info.protocol_version);
    write_i64(out, info.config_version);
}

fn be_i32(bytes: &[u8]) -> i32 {
    i32::from_be_bytes(bytes.try_into().expect("4 bytes"))
}

fn be_i64(bytes: &[u8]) -> i64 {
    i64::from_be_bytes(bytes.try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zookeeper::jute::codec::BUFFER_BYTES_MAX_DEFAULT;

    fn decode(bytes: &[u8], direction: Direction) -> Result<Decoded<QuorumMessage>, WireError> {
        decode_quorum_message(bytes, direction, BUFFER_BYTES_MAX_DEFAULT)
    }

    fn round_trip(message: QuorumMessage, direction: Direction) {
        let bytes = encode_quorum_message(&message);
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut], direction), Ok(Decoded::Incomplete));
        }
        let mut stream = bytes.clone();
        stream.extend_from_slice(&[0, 0]);
        assert_eq!(
            decode(&stream, direction),
            Ok(Decoded::Complete {
                value: message,
                consumed: bytes.len()
            })
        );
    }

    #[test]
    fn every_simple_message_round_trips() {
        use QuorumMessage::*;
        let zxid = Zxid(0x5_0000_0003);
        let info = LearnerInfo {
            server_id: ServerId(2),
            protocol_version: 0x10000,
            config_version: 0,
        };
        let from_leader = [
            Commit { zxid },
            PingFromLeader { zxid },
            RevalidateReply {
                session_id: SessionId(9),
                valid: false,
            },
            Sync,
            NewLeader { zxid, config: None },
            NewLeader {
                zxid,
                config: Some(Arc::from(&b"version=0"[..])),
            },
            UpToDate,
            Diff { zxid },
            Trunc { zxid },
            Snap { zxid },
            LeaderInfo {
                zxid,
                protocol_version: 0x10000,
            },
        ];
        for message in from_leader {
            round_trip(message, Direction::FromLeader);
        }
        let from_learner = [
            Ack { zxid },
            PingFromLearner {
                zxid,
                touches: vec![],
            },
            RevalidateRequest {
                session_id: SessionId(9),
                timeout_ms: 4000,
            },
            FollowerInfo { zxid, info },
            ObserverInfo { zxid, info },
            AckEpoch {
                last_zxid: zxid,
                current_epoch: -1,
            },
        ];
        for message in from_learner {
            round_trip(message, Direction::FromLearner);
        }
    }

    fn packet(packet_type: i32, data: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::new();
        QuorumPacket {
            packet_type,
            zxid: 1,
            data: data.map(<[u8]>::to_vec),
            auth_info: vec![],
        }
        .write(&mut out);
        out
    }

    #[test]
    fn short_payloads_are_malformed() {
        let cases: [(i32, Option<&[u8]>, Direction); 9] = [
            (REQUEST, Some(&[0; 15]), Direction::FromLearner),
            (PROPOSAL, None, Direction::FromLeader),
            (PROPOSAL, Some(&[0; 10]), Direction::FromLeader),
            (PING, Some(&[0; 13]), Direction::FromLearner),
            (PING, None, Direction::FromLearner),
            (REVALIDATE, Some(&[0; 11]), Direction::FromLearner),
            (REVALIDATE, Some(&[0; 8]), Direction::FromLeader),
            (FOLLOWERINFO, Some(&[0; 7]), Direction::FromLearner),
            (ACKEPOCH, Some(&[0; 3]), Direction::FromLearner),
        ];
        for (packet_type, data, direction) in cases {
            assert!(
                matches!(
                    decode(&packet(packet_type, data), direction),
                    Err(WireError::Malformed(_))
                ),
                "type {packet_type} data {data:?}"
            );
        }
        assert!(decode(&packet(LEADERINFO, None), Direction::FromLeader).is_err());
    }

    #[test]
    fn learner_info_is_read_positionally() {
        let mut data = 7i64.to_be_bytes().to_vec();
        let read =
            |data: &[u8]| match decode(&packet(FOLLOWERINFO, Some(data)), Direction::FromLearner) {
                Ok(Decoded::Complete {
                    value: QuorumMessage::FollowerInfo { info, .. },
                    ..
                }) => info,
                other => panic!("{other:?}"),
            };
        assert_eq!(
            (
                read(&data).server_id,
                read(&data).protocol_version,
                read(&data).config_version
            ),
            (ServerId(7), 1, 0)
        );
        data.extend_from_slice(&0x10000i32.to_be_bytes());
        data.extend_from_slice(&[0, 0, 0]);
        assert_eq!(
            (read(&data).protocol_version, read(&data).config_version),
            (0x10000, 0)
        );
    }

    #[test]
    fn reconfig_and_unknown_types_say_how_long_they_are() {
        let bytes = packet(COMMITANDACTIVATE, Some(&[0; 8]));
        assert_eq!(
            decode(&bytes, Direction::FromLeader),
            Err(WireError::Unsupported {
                packet_type: 9,
                consumed: bytes.len()
            })
        );
        let bytes = packet(42, None);
        assert_eq!(
            decode(&bytes, Direction::FromLeader),
            Err(WireError::UnknownPacketType {
                packet_type: 42,
                consumed: bytes.len()
            })
        );
    }

    #[test]
    fn hostile_lengths_are_refused_before_buffering() {
        // Data longer than the limit: refused from its length alone.
        let mut bytes = packet(ACK, None);
        bytes[12..16].copy_from_slice(&i32::MAX.to_be_bytes());
        bytes.truncate(16);
        assert!(matches!(
            decode(&bytes, Direction::FromLearner),
            Err(WireError::BadLength { .. })
        ));
        bytes[12..16].copy_from_slice(&(-2i32).to_be_bytes());
        assert!(decode(&bytes, Direction::FromLearner).is_err());
        // Too many authinfo ids, or one too long.
        let mut bytes = packet(REQUEST, Some(&[0; 16]));
        let auth_at = bytes.len() - 4;
        bytes[auth_at..].copy_from_slice(&(AUTH_INFO_IDS_MAX as i32 + 1).to_be_bytes());
        assert!(decode(&bytes, Direction::FromLearner).is_err());
        bytes[auth_at..].copy_from_slice(&1i32.to_be_bytes());
        bytes.extend_from_slice(&(AUTH_INFO_BYTES_MAX as i32).to_be_bytes());
        assert!(matches!(
            decode(&bytes, Direction::FromLearner),
            Err(WireError::BadLength { .. })
        ));
        // Many small ids adding up past the bound while still incomplete.
        let mut bytes = packet(REQUEST, Some(&[0; 16]));
        bytes.truncate(auth_at);
        bytes.extend_from_slice(&1000i32.to_be_bytes());
        for _ in 0..1000 {
            bytes.extend_from_slice(&60i32.to_be_bytes());
            bytes.extend_from_slice(&[b'x'; 60]);
            bytes.extend_from_slice(&2i32.to_be_bytes());
            bytes.extend_from_slice(b"id");
        }
        assert!(matches!(
            decode(&bytes, Direction::FromLearner),
            Err(WireError::BadLength { .. })
        ));
    }
}
