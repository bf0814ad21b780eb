//! The leader-election port's bytes (`QuorumCnxManager`, `FastLeaderElection`).
//!
//! ```text
//! connection header   long protocolVersion (-65536 V1 | -65535 V2), long sid,
//!                     int addrLen (1..=2048), UTF-8 "host:port" (V2: '|'-joined)
//!                     -- or, from a pre-3.5 peer, a bare long sid >= 0
//! then each message   int length (1..=512 KiB), that many bytes
//! notification body   int state, long leader, long zxid, long electionEpoch,
//!                     long peerEpoch, int version (2), int configLength, config
//! ```
//!
//! A notification's body is decoded as `WorkerReceiver` decodes it, including
//! the layouts older servers send: 28 bytes (no peerEpoch: it is the zxid's
//! epoch), 40 bytes (no version: 0), and any version up to 1 (no config).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::{Decoded, WireError};
use crate::zookeeper::config::HostPort;
use crate::zookeeper::quorum::message::{
    InitialMessage, Notification, ServerId, ServerState, Vote,
};
use crate::zookeeper::quorum::wire::config_string::java_host_string;
use crate::zookeeper::tree::Zxid;

/// `QuorumCnxManager.PROTOCOL_VERSION_V1`: one election address; what 3.5+
/// sends unless `zookeeper.multiAddress.enabled` (ZOOKEEPER-3720).
pub const PROTOCOL_VERSION_V1: i64 = -65536;
/// `PROTOCOL_VERSION_V2` (3.6+): every election address, '|'-joined.
pub const PROTOCOL_VERSION_V2: i64 = -65535;
/// `QuorumCnxManager.maxBuffer`: the longest address list a header may carry.
pub const ELECTION_ADDRESS_BYTES_MAX: usize = 2048;
/// `QuorumCnxManager.PACKETMAXSIZE`: the longest message after the header.
pub const ELECTION_MESSAGE_BYTES_MAX: usize = 512 * 1024;
/// `Notification.CURRENTVERSION`: the layout with a config.
pub const NOTIFICATION_VERSION_CURRENT: i32 = 2;

/// Every notification layout starts with state, leader, zxid and round.
const NOTIFICATION_BYTES_MIN: usize = 28;
/// 3.4's layout, whose version field `WorkerReceiver` does not read.
const NOTIFICATION_BYTES_WITHOUT_VERSION: usize = 40;
/// The 3.9 layout before its config bytes.
const NOTIFICATION_HEADER_BYTES: usize = 44;
const LENGTH_PREFIX_BYTES: usize = 4;

/// The connection header as the initiator must send it: in one buffer, since
/// Apache's acceptor reads the address with a single `read` and refuses a
/// short one. `None` as protocol version writes the pre-3.5 bare sid. Fails on
/// an address list Apache's parser would refuse (empty or over 2048 bytes).
pub fn encode_initial_message(message: &InitialMessage) -> Result<Vec<u8>, WireError> {
    let Some(protocol_version) = message.protocol_version else {
        return Ok(message.server_id.0.to_be_bytes().to_vec());
    };
    let addresses = message.election_addresses.join("|");
    if addresses.is_empty() || addresses.len() > ELECTION_ADDRESS_BYTES_MAX {
        return Err(WireError::BadLength {
            what: "election address list",
            length: addresses.len() as i64,
            limit: ELECTION_ADDRESS_BYTES_MAX,
        });
    }
    let mut out = Vec::with_capacity(20 + addresses.len());
    out.extend_from_slice(&protocol_version.to_be_bytes());
    out.extend_from_slice(&message.server_id.0.to_be_bytes());
    out.extend_from_slice(&(addresses.len() as i32).to_be_bytes());
    out.extend_from_slice(addresses.as_bytes());
    Ok(out)
}

/// `NetUtils.formatInetAddr` of the address a config line names: how the
/// initiator writes its election address into the header (`host:port`,
/// `[v6]:port`, IP literals in Java's form).
pub fn election_address_string(address: &HostPort) -> String {
    let host = java_host_string(&address.host);
    if host.contains(':') {
        format!("[{host}]:{}", address.port)
    } else {
        format!("{host}:{}", address.port)
    }
}

/// Reads a connection header as `QuorumCnxManager.handleConnection` does: a
/// first long >= 0 is a pre-3.5 bare sid (no address follows); a negative one
/// must be V1 or V2 and is followed by the sid and the address list. Addresses
/// are kept as sent, except wildcard IP literals (0.0.0.0, ::), which Apache
/// drops. Unlike Apache, keel waits for an address split across reads.
pub fn decode_initial_message(buffer: &[u8]) -> Result<Decoded<InitialMessage>, WireError> {
    let Some(first) = read_i64(buffer, 0) else {
        return Ok(Decoded::Incomplete);
    };
    if first >= 0 {
        return Ok(Decoded::Complete {
            value: InitialMessage {
                protocol_version: None,
                server_id: ServerId(first),
                election_addresses: Vec::new(),
            },
            consumed: 8,
        });
    }
    if first != PROTOCOL_VERSION_V1 && first != PROTOCOL_VERSION_V2 {
        return Err(WireError::malformed(format!(
            "unrecognized election protocol version {first}"
        )));
    }
    let (Some(server_id), Some(length)) = (read_i64(buffer, 8), read_i32(buffer, 16)) else {
        return Ok(Decoded::Incomplete);
    };
    if length <= 0 || length as usize > ELECTION_ADDRESS_BYTES_MAX {
        return Err(WireError::BadLength {
            what: "election address list",
            length: length.into(),
            limit: ELECTION_ADDRESS_BYTES_MAX,
        });
    }
    let end = 20 + length as usize;
    let Some(address_bytes) = buffer.get(20..end) else {
        return Ok(Decoded::Incomplete);
    };
    let text = String::from_utf8_lossy(address_bytes);
    let mut election_addresses = Vec::new();
    for entry in java_split(&text, '|') {
        let host = parse_election_address(entry)?;
        if !is_wildcard_literal(&host) {
            election_addresses.push(entry.to_string());
        }
    }
    Ok(Decoded::Complete {
        value: InitialMessage {
            protocol_version: Some(first),
            server_id: ServerId(server_id),
            election_addresses,
        },
        consumed: end,
    })
}

/// Java's `String.split`: trailing empty pieces are dropped.
fn java_split(text: &str, separator: char) -> Vec<&str> {
    let mut pieces: Vec<&str> = text.split(separator).collect();
    while pieces.len() > 1 && pieces.last() == Some(&"") {
        pieces.pop();
    }
    pieces
}

/// `ConfigUtils.getHostAndPort` plus the checks `InitialMessage.parse` makes
/// (exactly host and port; `Integer.parseInt`; `InetSocketAddress`'s port
/// range). Returns the host.
fn parse_election_address(entry: &str) -> Result<String, WireError> {
    let bad = || WireError::malformed(format!("badly formed election address {entry:?}"));
    let parts: Vec<&str> = if let Some(after_bracket) = entry.strip_prefix('[') {
        let close = after_bracket.find(']').ok_or_else(bad)?;
        let host = &after_bracket[..close];
        let rest = &after_bracket[close + 1..];
        // "[host]" alone, or "[host]" followed by anything but ":port...".
        let Some(ports) = rest.get(1..).filter(|ports| !ports.is_empty()) else {
            return Err(bad());
        };
        let mut parts = vec![host];
        parts.extend(java_split(ports, ':'));
        parts
    } else {
        java_split(entry, ':')
    };
    let [host, port] = parts[..] else {
        return Err(bad());
    };
    let port: i32 = java_parse_int(port).ok_or_else(|| {
        WireError::malformed(format!("bad port number in election address {entry:?}"))
    })?;
    if !(0..=65535).contains(&port) {
        return Err(WireError::malformed(format!(
            "port out of range in election address {entry:?}"
        )));
    }
    Ok(host.to_string())
}

/// `Integer.parseInt`: an optional sign, then decimal digits.
fn java_parse_int(text: &str) -> Option<i32> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `InitialMessage.isWildcardAddress` for the literals it recognises without
/// a name lookup (keel does none: a name is never a wildcard).
fn is_wildcard_literal(host: &str) -> bool {
    host.parse::<Ipv4Addr>()
        .map(|address| address.is_unspecified())
        .or_else(|_| {
            host.parse::<Ipv6Addr>()
                .map(|address| address.is_unspecified())
        })
        .unwrap_or(false)
}

/// What the buffered bytes of the election port hold after the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionFrame {
    /// Not a whole message yet.
    Incomplete,
    /// A message of this many bytes follows the 4-byte length.
    Complete(usize),
    /// A length of 0 or less, or over 512 KiB: Apache's `RecvWorker` drops the
    /// connection.
    Invalid(i32),
}

/// The cheap first step of reading a message: no allocation.
pub fn check_election_frame(buffer: &[u8]) -> ElectionFrame {
    let Some(length) = read_i32(buffer, 0) else {
        return ElectionFrame::Incomplete;
    };
    if length <= 0 || length as usize > ELECTION_MESSAGE_BYTES_MAX {
        return ElectionFrame::Invalid(length);
    }
    if buffer.len() < LENGTH_PREFIX_BYTES + length as usize {
        ElectionFrame::Incomplete
    } else {
        ElectionFrame::Complete(length as usize)
    }
}

/// `SendWorker.send`: the length, then the message. Refuses what the receiver
/// would refuse.
pub fn encode_election_frame(message: &[u8]) -> Result<Vec<u8>, WireError> {
    if message.is_empty() || message.len() > ELECTION_MESSAGE_BYTES_MAX {
        return Err(WireError::BadLength {
            what: "election message",
            length: message.len() as i64,
            limit: ELECTION_MESSAGE_BYTES_MAX,
        });
    }
    let mut out = Vec::with_capacity(LENGTH_PREFIX_BYTES + message.len());
    out.extend_from_slice(&(message.len() as i32).to_be_bytes());
    out.extend_from_slice(message);
    Ok(out)
}

/// `FastLeaderElection.buildMsg`: the 3.9 layout, always version 2 (whatever
/// `notification.version` says), with the config (empty when `None`).
pub fn encode_notification(notification: &Notification) -> Vec<u8> {
    let config: &[u8] = notification.config.as_deref().unwrap_or_default();
    let mut out = Vec::with_capacity(NOTIFICATION_HEADER_BYTES + config.len());
    out.extend_from_slice(&(notification.state as i32).to_be_bytes());
    out.extend_from_slice(&notification.vote.leader.0.to_be_bytes());
    out.extend_from_slice(&notification.vote.zxid.0.to_be_bytes());
    out.extend_from_slice(&notification.vote.election_epoch.to_be_bytes());
    out.extend_from_slice(&notification.vote.peer_epoch.to_be_bytes());
    out.extend_from_slice(&NOTIFICATION_VERSION_CURRENT.to_be_bytes());
    out.extend_from_slice(&(config.len() as i32).to_be_bytes());
    out.extend_from_slice(config);
    out
}

/// A notification ready for the socket: framed.
pub fn encode_notification_frame(notification: &Notification) -> Result<Vec<u8>, WireError> {
    encode_election_frame(&encode_notification(notification))
}

/// A notification body (the bytes of one frame), read as `WorkerReceiver`
/// reads it. Every error means "skip this message": Apache drops short,
/// malformed and unknown-state notifications and keeps the connection. Bytes
/// after the config are ignored, as Apache ignores them. The config is handed
/// up as bytes: whether it parses is the election core's business.
pub fn decode_notification(body: &[u8]) -> Result<Notification, WireError> {
    let capacity = body.len();
    if capacity < NOTIFICATION_BYTES_MIN {
        return Err(WireError::NotificationTooShort { length: capacity });
    }
    let underflow = || {
        WireError::malformed(format!(
            "partial notification of {capacity} bytes (neither 28, 40 nor 44+)"
        ))
    };
    let state_ordinal = read_i32(body, 0).ok_or_else(underflow)?;
    let leader = read_i64(body, 4).ok_or_else(underflow)?;
    let zxid = read_i64(body, 12).ok_or_else(underflow)?;
    let election_epoch = read_i64(body, 20).ok_or_else(underflow)?;
    let mut version = 0;
    let mut config = None;
    let peer_epoch = if capacity == NOTIFICATION_BYTES_MIN {
        // Before ZOOKEEPER-107: the proposed leader's epoch is its zxid's.
        zxid >> 32
    } else {
        let peer_epoch = read_i64(body, 28).ok_or_else(underflow)?;
        if capacity != NOTIFICATION_BYTES_WITHOUT_VERSION {
            version = read_i32(body, 36).ok_or_else(underflow)?;
        }
        peer_epoch
    };
    if version > 1 {
        let config_length = read_i32(body, 40).ok_or_else(underflow)?;
        // ZOOKEEPER-3769: Apache checks against the capacity, then reads.
        if config_length < 0 || config_length as usize > capacity {
            return Err(WireError::BadLength {
                what: "notification config",
                length: config_length.into(),
                limit: capacity,
            });
        }
        let bytes = body
            .get(NOTIFICATION_HEADER_BYTES..NOTIFICATION_HEADER_BYTES + config_length as usize)
            .ok_or_else(underflow)?;
        config = Some(Arc::<[u8]>::from(bytes));
    }
    let state =
        ServerState::from_i32(state_ordinal).ok_or(WireError::UnknownServerState(state_ordinal))?;
    Ok(Notification {
        state,
        vote: Vote {
            leader: ServerId(leader),
            zxid: Zxid(zxid),
            election_epoch,
            peer_epoch,
        },
        version,
        config,
    })
}

fn read_i32(bytes: &[u8], offset: usize) -> Option<i32> {
    let slice = bytes.get(offset..offset + 4)?;
    Some(i32::from_be_bytes(slice.try_into().ok()?))
}

fn read_i64(bytes: &[u8], offset: usize) -> Option<i64> {
    let slice = bytes.get(offset..offset + 8)?;
    Some(i64::from_be_bytes(slice.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: i64, sid: i64, addresses: &str) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&sid.to_be_bytes());
        out.extend_from_slice(&(addresses.len() as i32).to_be_bytes());
        out.extend_from_slice(addresses.as_bytes());
        out
    }

    fn decoded_header(bytes: &[u8]) -> InitialMessage {
        match decode_initial_message(bytes) {
            Ok(Decoded::Complete { value, consumed }) => {
                assert_eq!(consumed, bytes.len());
                value
            }
            other => panic!("not a header: {other:?}"),
        }
    }

    #[test]
    fn legacy_header_is_a_bare_sid() {
        let message = decoded_header(&7i64.to_be_bytes());
        assert_eq!(message.protocol_version, None);
        assert_eq!(message.server_id, ServerId(7));
        assert!(message.election_addresses.is_empty());
        assert_eq!(
            encode_initial_message(&message).unwrap(),
            7i64.to_be_bytes()
        );
    }

    #[test]
    fn header_waits_for_every_byte() {
        let bytes = header(PROTOCOL_VERSION_V1, 2, "10.0.0.2:3888");
        for cut in 0..bytes.len() {
            assert_eq!(
                decode_initial_message(&bytes[..cut]),
                Ok(Decoded::Incomplete)
            );
        }
        let message = decoded_header(&bytes);
        assert_eq!(message.election_addresses, ["10.0.0.2:3888"]);
        assert_eq!(encode_initial_message(&message).unwrap(), bytes);
    }

    #[test]
    fn header_refuses_what_apache_refuses() {
        let refused = [
            header(-3, 1, "a:1"),
            header(PROTOCOL_VERSION_V1, 1, "a"),
            header(PROTOCOL_VERSION_V1, 1, "a:1:2"),
            header(PROTOCOL_VERSION_V1, 1, "a:x"),
            header(PROTOCOL_VERSION_V1, 1, "a:70000"),
            header(PROTOCOL_VERSION_V1, 1, "[::1]"),
            header(PROTOCOL_VERSION_V1, 1, "[::1:3888"),
            header(PROTOCOL_VERSION_V2, 1, "a:1||b:2"),
            header(PROTOCOL_VERSION_V1, 1, ""),
        ];
        for bytes in refused {
            assert!(decode_initial_message(&bytes).is_err(), "{bytes:?}");
        }
        // Over-long and negative lengths are refused before any address byte.
        let mut huge = header(PROTOCOL_VERSION_V1, 1, "");
        huge[16..20].copy_from_slice(&2049i32.to_be_bytes());
        assert!(matches!(
            decode_initial_message(&huge),
            Err(WireError::BadLength { .. })
        ));
        huge[16..20].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(decode_initial_message(&huge).is_err());
    }

    #[test]
    fn header_drops_wildcards_and_keeps_the_rest() {
        let message = decoded_header(&header(
            PROTOCOL_VERSION_V2,
            4,
            "0.0.0.0:3888|[::]:3888|[fe80::1]:3889|zk4:+3890|",
        ));
        assert_eq!(message.election_addresses, ["[fe80::1]:3889", "zk4:+3890"]);
    }

    #[test]
    fn frames_refuse_zero_negative_and_oversized_lengths() {
        assert_eq!(check_election_frame(&[0, 0, 0]), ElectionFrame::Incomplete);
        assert_eq!(
            check_election_frame(&[0, 0, 0, 0]),
            ElectionFrame::Invalid(0)
        );
        assert_eq!(check_election_frame(&[0xff; 4]), ElectionFrame::Invalid(-1));
        let over = (ELECTION_MESSAGE_BYTES_MAX as i32 + 1).to_be_bytes();
        assert!(matches!(
            check_election_frame(&over),
            ElectionFrame::Invalid(_)
        ));
        let frame = encode_election_frame(b"abc").unwrap();
        assert_eq!(check_election_frame(&frame[..6]), ElectionFrame::Incomplete);
        assert_eq!(check_election_frame(&frame), ElectionFrame::Complete(3));
        assert!(encode_election_frame(&[]).is_err());
        assert!(encode_election_frame(&vec![0; ELECTION_MESSAGE_BYTES_MAX + 1]).is_err());
    }

    fn body_28(state: i32, leader: i64, zxid: i64, round: i64) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&state.to_be_bytes());
        out.extend_from_slice(&leader.to_be_bytes());
        out.extend_from_slice(&zxid.to_be_bytes());
        out.extend_from_slice(&round.to_be_bytes());
        out
    }

    #[test]
    fn legacy_notification_sizes_decode_as_worker_receiver_does() {
        assert_eq!(
            decode_notification(&[0; 27]),
            Err(WireError::NotificationTooShort { length: 27 })
        );
        // 28 bytes: the peer epoch is the zxid's epoch.
        let old = decode_notification(&body_28(1, 3, 0x0000_0007_0000_0002, 4)).unwrap();
        assert_eq!(old.vote.peer_epoch, 7);
        assert_eq!((old.version, old.config.clone()), (0, None));
        assert_eq!(old.state, ServerState::Following);
        // 40 bytes: peer epoch, and a version field that is not read.
        let mut forty = body_28(2, 3, 5, 4);
        forty.extend_from_slice(&9i64.to_be_bytes());
        forty.extend_from_slice(&2i32.to_be_bytes());
        let read = decode_notification(&forty).unwrap();
        assert_eq!(
            (read.vote.peer_epoch, read.version, read.config),
            (9, 0, None)
        );
        // 29..39 bytes other than 28: a partial message.
        for length in [29, 36, 39] {
            let mut body = forty.clone();
            body.truncate(length);
            assert!(matches!(
                decode_notification(&body),
                Err(WireError::Malformed(_))
            ));
        }
        // Version 1 with trailing bytes: no config read.
        let mut version_one = forty.clone();
        version_one[36..40].copy_from_slice(&1i32.to_be_bytes());
        version_one.extend_from_slice(&[0xff; 8]);
        let read = decode_notification(&version_one).unwrap();
        assert_eq!((read.version, read.config), (1, None));
    }

    #[test]
    fn notification_config_lengths_are_checked() {
        let notification = Notification {
            state: ServerState::Looking,
            vote: Vote {
                leader: ServerId(1),
                zxid: Zxid(2),
                election_epoch: 3,
                peer_epoch: 4,
            },
            version: 2,
            config: Some(Arc::from(&b"version=0"[..])),
        };
        let body = encode_notification(&notification);
        assert_eq!(body.len(), 44 + 9);
        assert_eq!(decode_notification(&body), Ok(notification));
        // Version 2 without room for the config length.
        assert!(decode_notification(&body[..42]).is_err());
        for bad_length in [-1i32, 1000, 10] {
            let mut bad = body.clone();
            bad[40..44].copy_from_slice(&bad_length.to_be_bytes());
            assert!(decode_notification(&bad).is_err(), "{bad_length}");
        }
        let mut bad_state = body.clone();
        bad_state[0..4].copy_from_slice(&4i32.to_be_bytes());
        assert_eq!(
            decode_notification(&bad_state),
            Err(WireError::UnknownServerState(4))
        );
    }

    #[test]
    fn election_addresses_are_written_as_java_writes_them() {
        let address = |host: &str| HostPort {
            host: host.to_string(),
            port: 3888,
        };
        assert_eq!(election_address_string(&address("zk1")), "zk1:3888");
        assert_eq!(
            election_address_string(&address("10.0.0.1")),
            "10.0.0.1:3888"
        );
        assert_eq!(
            election_address_string(&address("::1")),
            "[0:0:0:0:0:0:0:1]:3888"
        );
    }
}
