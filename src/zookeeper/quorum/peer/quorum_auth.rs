//! SASL between ensemble members (`quorum.auth.enableSasl`), as Apache's
//! `SaslQuorumAuthLearner` and `SaslQuorumAuthServer` run it: after the election
//! header and before FOLLOWERINFO, the dialling member (the "learner" of the
//! exchange) sends QuorumAuthPackets with DIGEST-MD5 tokens for its JAAS
//! `QuorumLearner` login, and the accepting member checks them against the
//! `user_<name>` entries of its `QuorumServer` section. The dialler authenticates
//! only with `quorum.auth.learnerRequireSasl`; the acceptor answers whoever starts
//! an exchange and, with `quorum.auth.serverRequireSasl`, refuses whoever does not
//! or fails (without it a failed peer is let through, as Apache does).

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::transport::QuorumStream;
use crate::zookeeper::quorum::wire::quorum_auth::{
    decode_quorum_auth, encode_quorum_auth, starts_with_quorum_auth, AuthStatus, QuorumAuthPacket,
};
use crate::zookeeper::quorum::wire::Decoded;
use crate::zookeeper::server::sasl_digest::{
    self, DigestMd5Client, DigestMd5Server, Outcome, SaslUsers,
};

/// `SaslQuorumAuthServer.MAX_RETRIES`: challenges before the exchange is given up.
const CHALLENGES_MAX: usize = 5;

/// A member's quorum SASL set-up, from zoo.cfg and the JAAS file.
#[derive(Clone)]
pub struct QuorumSasl {
    /// The `QuorumLearner` section's DIGEST-MD5 login.
    pub learner_username: String,
    pub learner_password: String,
    /// The `QuorumServer` section's users.
    pub server_users: SaslUsers,
    pub learner_require: bool,
    pub server_require: bool,
}

impl std::fmt::Debug for QuorumSasl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuorumSasl")
            .field("learner_username", &self.learner_username)
            .field("learner_require", &self.learner_require)
            .field("server_require", &self.server_require)
            .finish_non_exhaustive()
    }
}

fn refused(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, message.into())
}

async fn write_packet(
    stream: &mut QuorumStream,
    status: AuthStatus,
    token: Vec<u8>,
) -> io::Result<()> {
    let bytes = encode_quorum_auth(&QuorumAuthPacket {
        status,
        token: Some(token),
    });
    stream.write_all(&bytes).await?;
    stream.flush().await
}

/// Reads until `buffered` holds `bytes` bytes; `false` at the end of the stream.
async fn fill(stream: &mut QuorumStream, buffered: &mut Vec<u8>, bytes: usize) -> io::Result<bool> {
    let mut chunk = [0u8; 1024];
    while buffered.len() < bytes {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(false);
        }
        buffered.extend_from_slice(&chunk[..read]);
    }
    Ok(true)
}

async fn read_packet(
    stream: &mut QuorumStream,
    buffered: &mut Vec<u8>,
) -> io::Result<QuorumAuthPacket> {
    loop {
        match decode_quorum_auth(buffered)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error.to_string()))?
        {
            Decoded::Complete { value, consumed } => {
                buffered.drain(..consumed);
                return Ok(value);
            }
            Decoded::Incomplete => {
                let wanted = buffered.len() + 1;
                if !fill(stream, buffered, wanted).await? {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "closed during the quorum SASL exchange",
                    ));
                }
            }
        }
    }
}

/// The dialling side. Returns the bytes read past the last auth packet (the
/// peer may send its own first message right behind it).
pub async fn authenticate_to_peer(
    stream: &mut QuorumStream,
    sasl: &QuorumSasl,
) -> io::Result<Vec<u8>> {
    let mut buffered = Vec::new();
    if !sasl.learner_require {
        return Ok(buffered);
    }
    let mut client = DigestMd5Client::new(
        sasl_digest::QUORUM,
        &sasl.learner_username,
        &sasl.learner_password,
    );
    // DIGEST-MD5 has no initial response: an empty token opens the exchange.
    write_packet(stream, AuthStatus::InProgress, Vec::new()).await?;
    loop {
        let packet = read_packet(stream, &mut buffered).await?;
        let token = packet.token.unwrap_or_default();
        match packet.status {
            AuthStatus::Error => {
                return Err(refused("the peer refused this member's quorum SASL login"))
            }
            AuthStatus::Success => {
                return match client.evaluate(&token, &sasl_digest::random_nonce()) {
                    Ok(None) => Ok(buffered),
                    Ok(Some(_)) => Err(refused(
                        "protocol error: the peer said SUCCESS before the exchange completed",
                    )),
                    Err(error) => Err(refused(error)),
                };
            }
            AuthStatus::InProgress => {
                if client.is_complete() {
                    return Err(refused(
                        "the peer kept the exchange going after it completed",
                    ));
                }
                match client.evaluate(&token, &sasl_digest::random_nonce()) {
                    Ok(Some(response)) => {
                        write_packet(stream, AuthStatus::InProgress, response).await?
                    }
                    Ok(None) => {
                        return Err(refused(
                            "the peer's status is IN_PROGRESS after the exchange completed",
                        ))
                    }
                    Err(error) => return Err(refused(error)),
                }
            }
        }
    }
}

/// What the accepting side learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerAuth {
    /// The peer proved this `QuorumServer` user.
    Authenticated(String),
    /// The peer did not try, or failed, and SASL is not required.
    LetThrough,
}

/// `authenticate_peer` within `timeout`; the error says why the peer is refused.
pub async fn authenticate_peer_within(
    stream: &mut QuorumStream,
    buffered: &mut Vec<u8>,
    sasl: &QuorumSasl,
    timeout: std::time::Duration,
) -> Result<PeerAuth, String> {
    match tokio::time::timeout(timeout, authenticate_peer(stream, buffered, sasl)).await {
        Ok(Ok(auth)) => Ok(auth),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("no SASL exchange in time".to_string()),
    }
}

/// The accepting side. `buffered` holds bytes already read after the header and
/// keeps whatever follows the exchange.
pub async fn authenticate_peer(
    stream: &mut QuorumStream,
    buffered: &mut Vec<u8>,
    sasl: &QuorumSasl,
) -> io::Result<PeerAuth> {
    let complete = fill(stream, buffered, 8).await?;
    if !complete || starts_with_quorum_auth(buffered) != Some(true) {
        return if sasl.server_require {
            Err(refused(
                "Learner not trying to authenticate and authentication is required",
            ))
        } else {
            Ok(PeerAuth::LetThrough)
        };
    }
    let mut server = DigestMd5Server::for_service(sasl_digest::QUORUM);
    let mut challenges = 0;
    let outcome = loop {
        let packet = read_packet(stream, buffered).await?;
        let token = packet.token.unwrap_or_default();
        match server.evaluate(&token, &sasl.server_users, &sasl_digest::random_nonce()) {
            Ok(Outcome::Continue(challenge)) => {
                challenges += 1;
                if challenges > CHALLENGES_MAX {
                    write_packet(stream, AuthStatus::Error, challenge).await?;
                    break Err("too many rounds".to_string());
                }
                write_packet(stream, AuthStatus::InProgress, challenge).await?;
            }
            Ok(Outcome::Complete {
                authorization_id,
                reply,
            }) => {
                write_packet(stream, AuthStatus::Success, reply).await?;
                break Ok(authorization_id);
            }
            Err(error) => {
                write_packet(stream, AuthStatus::Error, Vec::new()).await?;
                break Err(error);
            }
        }
    };
    match outcome {
        Ok(user) => Ok(PeerAuth::Authenticated(user)),
        Err(error) if sasl.server_require => Err(refused(format!(
            "Failed to authenticate using SASL: {error}"
        ))),
        Err(error) => {
            tracing::warn!(%error, "Maintaining learner connection despite SASL authentication failure (quorum.auth.serverRequireSasl=false)");
            Ok(PeerAuth::LetThrough)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sasl(password: &str, learner_require: bool, server_require: bool) -> QuorumSasl {
        QuorumSasl {
            learner_username: "test".to_string(),
            learner_password: password.to_string(),
            server_users: SaslUsers([("test".to_string(), "test-secret".to_string())].into()),
            learner_require,
            server_require,
        }
    }

    async fn pair() -> (QuorumStream, QuorumStream) {
        let (a, b) = tokio::io::duplex(64 * 1024);
        (Box::new(a), Box::new(b))
    }

    #[tokio::test]
    async fn members_authenticate_and_keep_what_follows() {
        let (mut learner, mut server) = pair().await;
        let learner_side = tokio::spawn(async move {
            let after = authenticate_to_peer(&mut learner, &sasl("test-secret", true, true)).await;
            (learner, after)
        });
        let mut buffered = Vec::new();
        let outcome = authenticate_peer(&mut server, &mut buffered, &sasl("x", true, true))
            .await
            .unwrap();
        assert_eq!(outcome, PeerAuth::Authenticated("test".to_string()));
        // The acceptor's first message right behind SUCCESS stays for the caller.
        server.write_all(b"first").await.unwrap();
        let (_learner, after) = learner_side.await.unwrap();
        let after = after.unwrap();
        assert!(after.is_empty() || b"first".starts_with(&after));
    }

    #[tokio::test]
    async fn a_wrong_password_is_refused_on_both_sides_when_required() {
        let (mut learner, mut server) = pair().await;
        let learner_side = tokio::spawn(async move {
            authenticate_to_peer(&mut learner, &sasl("wrong", true, true)).await
        });
        let mut buffered = Vec::new();
        assert!(
            authenticate_peer(&mut server, &mut buffered, &sasl("x", true, true))
                .await
                .is_err()
        );
        assert!(learner_side.await.unwrap().is_err());
        // Not required: the acceptor lets it through (the learner still refuses).
        let (mut learner, mut server) = pair().await;
        let learner_side = tokio::spawn(async move {
            authenticate_to_peer(&mut learner, &sasl("wrong", true, false)).await
        });
        let mut buffered = Vec::new();
        assert_eq!(
            authenticate_peer(&mut server, &mut buffered, &sasl("x", true, false))
                .await
                .unwrap(),
            PeerAuth::LetThrough
        );
        assert!(learner_side.await.unwrap().is_err());
    }

    #[tokio::test]
    async fn a_peer_without_sasl_is_let_through_unless_required() {
        // A FOLLOWERINFO-like start (type 11) instead of an auth packet.
        for (required, allowed) in [(false, true), (true, false)] {
            let (mut learner, mut server) = pair().await;
            learner
                .write_all(&[0, 0, 0, 11, 0, 0, 0, 0, 0, 1])
                .await
                .unwrap();
            let mut buffered = Vec::new();
            let outcome =
                authenticate_peer(&mut server, &mut buffered, &sasl("x", required, required)).await;
            assert_eq!(outcome.is_ok(), allowed, "required {required}");
            if allowed {
                assert_eq!(
                    buffered,
                    [0, 0, 0, 11, 0, 0, 0, 0, 0, 1],
                    "nothing consumed"
                );
            }
        }
        // A learner that does not require SASL sends nothing.
        let (mut learner, _server) = pair().await;
        assert_eq!(
            authenticate_to_peer(&mut learner, &sasl("x", false, false))
                .await
                .unwrap(),
            Vec::<u8>::new()
        );
    }
}
