//! Apache ZooKeeper 3.9's bytes for the messages in `quorum::message`: the
//! leader-election port (`QuorumCnxManager`, `FastLeaderElection`) and the
//! learner port (`Leader`, `LearnerHandler`, `Learner`), sans-IO.
//!
//! Every decoder takes the bytes received so far and answers `Incomplete`
//! (read more, a normal answer), a value with the number of bytes it used, or a
//! `WireError`; none panics on hostile input, and every length a peer announces
//! is checked against a named bound before anything is allocated for it.
//! Encoders return the exact bytes Apache writes, null markers included
//! (`buffer` -1, `vector` -1); `tests/fixtures/quorum/golden.txt` holds what
//! Apache 3.9.4's own classes produce, and the tests re-encode it byte for byte.
//!
//! # Layout
//! - `election`: the connection header (`InitialMessage`), the `int length`
//!   framing and the notification body, every legacy size included.
//! - `learner`: `QuorumPacket`s (a raw stream of jute records, no length
//!   prefix) to and from `QuorumMessage`, with the payload of every type.
//! - `snapshot_stream`: what follows a SNAP packet: sessions, ACL map, nodes,
//!   "/" and the "BenWasHere" signature; an encoder from a `DataTree` and an
//!   incremental decoder that rebuilds one.
//! - `quorum_auth`: the SASL packets members exchange with `quorum.auth.enableSasl`.
//! - `config_string`: `QuorumMaj.toString()` from zoo.cfg's server list, the
//!   text notifications and NEWLEADER carry.
//!
//! Architecture invariant: nothing here touches a socket, a file or a clock.

pub mod config_string;
pub mod election;
pub mod learner;
pub mod quorum_auth;
pub mod snapshot_stream;

#[cfg(test)]
mod golden_tests;

use thiserror::Error;

use crate::zookeeper::jute::JuteError;

pub use config_string::{java_host_string, quorum_config_string};
pub use election::{
    check_election_frame, decode_initial_message, decode_notification, election_address_string,
    encode_election_frame, encode_initial_message, encode_notification, encode_notification_frame,
    ElectionFrame, ELECTION_ADDRESS_BYTES_MAX, ELECTION_MESSAGE_BYTES_MAX,
    NOTIFICATION_VERSION_CURRENT, PROTOCOL_VERSION_V1, PROTOCOL_VERSION_V2,
};
pub use learner::{
    decode_quorum_message, decode_quorum_packet, encode_quorum_message, encode_quorum_message_into,
    message_from_packet, packet_types, Direction, AUTH_INFO_BYTES_MAX, AUTH_INFO_IDS_MAX,
};
pub use snapshot_stream::{
    encode_snapshot_head, encode_snapshot_nodes, encode_snapshot_stream, encode_snapshot_tail,
    head_acl_indexes, NetworkSnapshot, SnapshotFeed, SnapshotStep, SnapshotStreamDecoder,
    SNAPSHOT_SIGNATURE,
};

/// What a decoder found in the bytes it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<T> {
    /// Not a whole message yet: read more bytes and call again with all of them.
    Incomplete,
    /// A message, made of the first `consumed` bytes.
    Complete { value: T, consumed: usize },
}

/// Why bytes are not a message keel can act on. Apache's reaction differs by
/// port: on the election port a bad notification body is skipped and the
/// connection kept (the driver should do the same), while a bad frame length
/// or connection header closes the connection; on the learner port every error
/// but `Unsupported` and `UnknownPacketType` (whose bytes are known, so the
/// stream can go on after `consumed` bytes) costs the connection.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// A length or count outside its bound (`what` names the field).
    #[error("{what} of {length} is out of bounds (limit {limit})")]
    BadLength {
        what: &'static str,
        length: i64,
        limit: usize,
    },
    /// Bytes Apache would also refuse (or fail on).
    #[error("malformed: {0}")]
    Malformed(String),
    /// A notification shorter than 28 bytes, which `WorkerReceiver` drops.
    #[error("notification of {length} bytes is too short (28 at least)")]
    NotificationTooShort { length: usize },
    /// A notification whose state is not a `ServerState` ordinal (dropped).
    #[error("unknown server state {0} in a notification")]
    UnknownServerState(i32),
    /// A learner packet keel decodes but does not act on: the reconfig packets
    /// COMMITANDACTIVATE (9) and INFORMANDACTIVATE (19). The packet took
    /// `consumed` bytes.
    #[error("quorum packet type {packet_type} (reconfig) is not supported")]
    Unsupported { packet_type: i32, consumed: usize },
    /// A learner packet type Apache does not define; Apache logs and skips
    /// such a packet. It took `consumed` bytes.
    #[error("unknown quorum packet type {packet_type}")]
    UnknownPacketType { packet_type: i32, consumed: usize },
}

impl WireError {
    fn malformed(reason: impl Into<String>) -> WireError {
        WireError::Malformed(reason.into())
    }
}

/// A jute error inside bytes known to be complete (a packet's data buffer):
/// running out there is a truncated record, not a reason to wait.
fn complete_record_error(what: &str, error: JuteError) -> WireError {
    match error {
        JuteError::Incomplete { needed } => {
            WireError::malformed(format!("{what} is truncated ({needed} bytes missing)"))
        }
        JuteError::Malformed(reason) => WireError::malformed(format!("{what}: {reason}")),
    }
}
