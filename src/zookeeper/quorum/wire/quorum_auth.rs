//! `QuorumAuthPacket`, the record ensemble members exchange SASL tokens in when
//! `quorum.auth.enableSasl` is on (Apache's `QuorumAuth`, `SaslQuorumAuthServer`,
//! `SaslQuorumAuthLearner`): `long magic`, `int status`, `buffer token`, with no
//! length prefix. It follows the election connection's header, and precedes
//! FOLLOWERINFO / OBSERVERINFO on the learner port. The accepting side tells an
//! authenticating peer from one that is not by the first 8 bytes: as an int, the
//! magic's first half is far beyond any notification's length or packet type.

use super::{Decoded, WireError};

/// `QuorumAuth.QUORUM_AUTH_MAGIC_NUMBER`, written `-0xa0dbcafecafe1234L` in Java,
/// where the literal itself is already negative: the value is positive,
/// 0x5f2435013501edcc, despite the comment beside it there.
pub const QUORUM_AUTH_MAGIC: i64 = (0xa0db_cafe_cafe_1234u64 as i64).wrapping_neg();

/// A token bigger than this is refused (DIGEST-MD5's are a few hundred bytes).
pub const TOKEN_BYTES_MAX: usize = 64 * 1024;

/// `QuorumAuth.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStatus {
    InProgress,
    Success,
    /// -1, and what Apache makes of any other value.
    Error,
}

impl AuthStatus {
    fn code(self) -> i32 {
        match self {
            AuthStatus::InProgress => 0,
            AuthStatus::Success => 1,
            AuthStatus::Error => -1,
        }
    }

    fn from_code(code: i32) -> AuthStatus {
        match code {
            0 => AuthStatus::InProgress,
            1 => AuthStatus::Success,
            _ => AuthStatus::Error,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumAuthPacket {
    pub status: AuthStatus,
    /// `None` is jute's null buffer (length -1).
    pub token: Option<Vec<u8>>,
}

pub fn encode_quorum_auth(packet: &QuorumAuthPacket) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(16 + packet.token.as_ref().map_or(0, Vec::len));
    bytes.extend_from_slice(&QUORUM_AUTH_MAGIC.to_be_bytes());
    bytes.extend_from_slice(&packet.status.code().to_be_bytes());
    match &packet.token {
        None => bytes.extend_from_slice(&(-1i32).to_be_bytes()),
        Some(token) => {
            bytes.extend_from_slice(&(token.len() as i32).to_be_bytes());
            bytes.extend_from_slice(token);
        }
    }
    bytes
}

/// Whether `bytes` start with a QuorumAuthPacket; `None` until 8 bytes are there.
pub fn starts_with_quorum_auth(bytes: &[u8]) -> Option<bool> {
    let magic: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    Some(i64::from_be_bytes(magic) == QUORUM_AUTH_MAGIC)
}

pub fn decode_quorum_auth(bytes: &[u8]) -> Result<Decoded<QuorumAuthPacket>, WireError> {
    if bytes.len() < 16 {
        return Ok(Decoded::Incomplete);
    }
    if starts_with_quorum_auth(bytes) != Some(true) {
        return Err(WireError::Malformed(
            "a quorum authentication packet without its magic number".to_string(),
        ));
    }
    let status = AuthStatus::from_code(i32::from_be_bytes(bytes[8..12].try_into().unwrap()));
    let length = i32::from_be_bytes(bytes[12..16].try_into().unwrap());
    if length == -1 {
        return Ok(Decoded::Complete {
            value: QuorumAuthPacket {
                status,
                token: None,
            },
            consumed: 16,
        });
    }
    if length < 0 || length as usize > TOKEN_BYTES_MAX {
        return Err(WireError::BadLength {
            what: "quorum authentication token",
            length: length.into(),
            limit: TOKEN_BYTES_MAX,
        });
    }
    let end = 16 + length as usize;
    if bytes.len() < end {
        return Ok(Decoded::Incomplete);
    }
    Ok(Decoded::Complete {
        value: QuorumAuthPacket {
            status,
            token: Some(bytes[16..end].to_vec()),
        },
        consumed: end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_round_trip_and_are_told_from_other_first_bytes() {
        for packet in [
            QuorumAuthPacket {
                status: AuthStatus::InProgress,
                token: Some(Vec::new()),
            },
            QuorumAuthPacket {
                status: AuthStatus::Success,
                token: Some(b"rspauth=0123".to_vec()),
            },
            QuorumAuthPacket {
                status: AuthStatus::Error,
                token: None,
            },
        ] {
            let bytes = encode_quorum_auth(&packet);
            assert_eq!(starts_with_quorum_auth(&bytes), Some(true));
            for cut in 0..bytes.len() {
                assert_eq!(decode_quorum_auth(&bytes[..cut]), Ok(Decoded::Incomplete));
            }
            let mut more = bytes.clone();
            more.extend_from_slice(b"next");
            assert_eq!(
                decode_quorum_auth(&more),
                Ok(Decoded::Complete {
                    value: packet,
                    consumed: bytes.len()
                })
            );
        }
        // Apache's bytes: magic 5f 24 35 01 35 01 ed cc, status 0, empty token.
        assert_eq!(
            encode_quorum_auth(&QuorumAuthPacket {
                status: AuthStatus::InProgress,
                token: Some(Vec::new())
            }),
            [0x5f, 0x24, 0x35, 0x01, 0x35, 0x01, 0xed, 0xcc, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        // A notification frame's length and FOLLOWERINFO's type are not the magic.
        assert_eq!(
            starts_with_quorum_auth(&[0, 0, 0, 44, 0, 0, 0, 0]),
            Some(false)
        );
        assert_eq!(
            starts_with_quorum_auth(&[0, 0, 0, 11, 0, 0, 0, 0]),
            Some(false)
        );
        assert_eq!(starts_with_quorum_auth(&[0xff; 7]), None);
        let mut huge = encode_quorum_auth(&QuorumAuthPacket {
            status: AuthStatus::InProgress,
            token: None,
        });
        huge[12..16].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(decode_quorum_auth(&huge).is_err());
        // Unknown statuses read as ERROR, as Apache's getStatus does.
        let mut odd = encode_quorum_auth(&QuorumAuthPacket {
            status: AuthStatus::InProgress,
            token: None,
        });
        odd[8..12].copy_from_slice(&7i32.to_be_bytes());
        let Ok(Decoded::Complete { value, .. }) = decode_quorum_auth(&odd) else {
            panic!("decodes")
        };
        assert_eq!(value.status, AuthStatus::Error);
    }
}
