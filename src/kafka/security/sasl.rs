//! A connection's SASL server, as Kafka's `SaslServerAuthenticator` runs it, and the
//! client login a keel broker performs on another broker's SASL listener.
//!
//! Server states: an optional ApiVersions, then SaslHandshake (v0: the tokens that
//! follow are bare length-prefixed frames; v1: they come in SaslAuthenticate
//! requests), then the mechanism's exchange. Anything else before the exchange ends
//! closes the connection, as in Kafka. Once complete, a SaslHandshake starts a
//! re-authentication (KIP-368) when the session has an expiry, at most once a second;
//! past the expiry any other request closes the connection.
//!
//! The frames are decoded here, but the socket stays with `kafka::server`: this
//! module answers "reply with these bytes, then continue / close / serve".

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::metadata_response::MetadataResponseTopic;
use kafka_protocol::messages::{
    ApiKey, MetadataResponse, RequestHeader, RequestKind, ResponseHeader, ResponseKind,
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::ResponseError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::scram::{
    self, ClientExchange, ClientFirst, ScramCredential, ScramError, ScramMechanism, ServerExchange,
};
use super::{ClientLogin, ListenerSasl, SaslMechanism};
use crate::kafka::metadata::BoxFuture;
use crate::kafka::protocol;

/// Where SCRAM credentials come from (ZooKeeper's `/config/users/<user>` on a broker).
pub trait CredentialStore: Send + Sync {
    fn scram_credential(
        &self,
        user: &str,
        mechanism: ScramMechanism,
    ) -> BoxFuture<Result<Option<ScramCredential>, String>>;
}

/// Kafka's minimum time between two re-authentications of one connection.
const REAUTH_INTERVAL_MIN: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    HandshakeOrVersions,
    Handshake,
    Authenticate,
    /// A re-authentication asked for another mechanism: the next token fails.
    ReauthBadMechanism,
    Complete,
}

/// What the connection does after a frame went through the server.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Continue,
    /// Authentication (or re-authentication) completed: serve requests.
    Authenticated,
    /// Close after writing the reply, if any; the reason is for the log.
    Close(String),
    /// An ApiVersions before the handshake: serve it as any request, then continue.
    ServeApiVersions,
}

#[derive(Debug)]
pub struct Step {
    pub reply: Option<Bytes>,
    pub next: Next,
}

impl Step {
    fn close(reason: impl Into<String>) -> Step {
        Step {
            reply: None,
            next: Next::Close(reason.into()),
        }
    }
}

enum Exchange {
    None,
    ScramFirst(ScramMechanism),
    ScramFinal(Box<ServerExchange>),
}

/// One connection's SASL server.
pub struct SaslServer {
    listener: ListenerSasl,
    state: State,
    /// SaslHandshake v0: tokens are bare frames, failures close without an answer.
    unframed: bool,
    mechanism: Option<SaslMechanism>,
    exchange: Exchange,
    principal: Option<String>,
    /// During a re-authentication: the mechanism and principal that must not change.
    reauthenticating: Option<(SaslMechanism, String)>,
    bad_mechanism_message: String,
    session_expires_at: Option<Instant>,
    last_reauth_started: Option<Instant>,
}

fn frame_header(frame: &[u8]) -> Option<(ApiKey, i16, i32)> {
    if frame.len() < 8 {
        return None;
    }
    let api_key = ApiKey::try_from(i16::from_be_bytes([frame[0], frame[1]])).ok()?;
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    Some((api_key, version, correlation_id))
}

/// True when the frame is a SaslHandshake request (a re-authentication may start).
pub fn is_handshake(frame: &[u8]) -> bool {
    matches!(frame_header(frame), Some((ApiKey::SaslHandshake, _, _)))
}

fn respond(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    response: ResponseKind,
) -> Option<Bytes> {
    protocol::encode_response(api_key, version, correlation_id, &response).ok()
}

impl SaslServer {
    pub fn new(listener: ListenerSasl) -> SaslServer {
        SaslServer {
            listener,
            state: State::HandshakeOrVersions,
            unframed: false,
            mechanism: None,
            exchange: Exchange::None,
            principal: None,
            reauthenticating: None,
            bad_mechanism_message: String::new(),
            session_expires_at: None,
            last_reauth_started: None,
        }
    }

    pub fn is_authenticated(&self) -> bool {
        self.state == State::Complete
    }

    /// `User:<name>` once authenticated.
    pub fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }

    pub fn mechanism(&self) -> Option<SaslMechanism> {
        self.mechanism
    }

    /// After the session's expiry every request but a re-authentication closes.
    pub fn session_expired(&self, now: Instant) -> bool {
        self.session_expires_at.is_some_and(|expiry| now > expiry)
    }

    /// `KafkaChannel.maybeBeginServerReauthentication`: an authenticated connection's
    /// SaslHandshake starts a re-authentication if sessions expire here and the last
    /// one started at least a second ago; otherwise it is served as a request (and
    /// answered ILLEGAL_SASL_STATE).
    pub fn begin_reauthentication(&mut self, now: Instant) -> bool {
        if self.state != State::Complete || self.session_expires_at.is_none() {
            return false;
        }
        if self
            .last_reauth_started
            .is_some_and(|started| now.duration_since(started) < REAUTH_INTERVAL_MIN)
        {
            return false;
        }
        self.last_reauth_started = Some(now);
        self.reauthenticating = Some((
            self.mechanism.expect("a complete exchange has a mechanism"),
            self.principal
                .clone()
                .expect("a complete exchange has a principal"),
        ));
        self.state = State::Handshake;
        self.exchange = Exchange::None;
        true
    }

    fn what(&self) -> &'static str {
        if self.reauthenticating.is_some() {
            "re-authentication"
        } else {
            "authentication"
        }
    }

    /// Handles one frame (length prefix removed) of an unauthenticated connection or
    /// of a re-authentication in progress.
    pub async fn handle(
        &mut self,
        frame: Bytes,
        store: &dyn CredentialStore,
        now: Instant,
    ) -> Step {
        match self.state {
            State::HandshakeOrVersions | State::Handshake => self.handle_handshake(frame),
            State::ReauthBadMechanism => Step::close(self.bad_mechanism_message.clone()),
            State::Authenticate if self.unframed => match self.evaluate(&frame, store, now).await {
                Ok(token) => {
                    let mut reply = BytesMut::with_capacity(4 + token.len());
                    reply.put_i32(token.len() as i32);
                    reply.put_slice(&token);
                    Step {
                        reply: Some(reply.freeze()),
                        next: self.next_after_token(),
                    }
                }
                Err((_, reason)) => Step::close(reason),
            },
            State::Authenticate => self.handle_authenticate(frame, store, now).await,
            State::Complete => Step::close("a SASL frame after authentication completed"),
        }
    }

    fn next_after_token(&self) -> Next {
        if self.state == State::Complete {
            Next::Authenticated
        } else {
            Next::Continue
        }
    }

    fn handle_handshake(&mut self, frame: Bytes) -> Step {
        let Some((api_key, version, correlation_id)) = frame_header(&frame) else {
            // Kafka reads a first packet that is no Kafka request as a GSSAPI token.
            return Step::close(
                "Exception handling first SASL packet from client, GSSAPI is not supported by server",
            );
        };
        match api_key {
            ApiKey::ApiVersions if self.state == State::HandshakeOrVersions => {
                // Kafka moves on to the handshake only after an ApiVersions it
                // answered in full: one of a version it does not serve gets
                // UNSUPPORTED_VERSION, and the client (franz-go starts at v5) asks
                // again, lower, on the same connection.
                let served =
                    crate::kafka::protocol::versions::SUPPORTED
                        .iter()
                        .any(|(key, min, max)| {
                            *key == ApiKey::ApiVersions && (*min..=*max).contains(&version)
                        });
                if served {
                    self.state = State::Handshake;
                }
                Step {
                    reply: None,
                    next: Next::ServeApiVersions,
                }
            }
            ApiKey::SaslHandshake => {
                let request = match protocol::decode_request(frame) {
                    Ok(protocol::Request {
                        body: RequestKind::SaslHandshake(request),
                        ..
                    }) => request,
                    _ => return Step::close("a SaslHandshake that does not decode"),
                };
                self.handshake(request, version, correlation_id)
            }
            other => Step::close(format!(
                "Unexpected Kafka request of type {} during SASL handshake.",
                api_name(other)
            )),
        }
    }

    fn handshake(
        &mut self,
        request: SaslHandshakeRequest,
        version: i16,
        correlation_id: i32,
    ) -> Step {
        let names: Vec<&str> = self.listener.mechanisms.iter().map(|m| m.name()).collect();
        let mechanisms: Vec<StrBytes> = java_hash_set_order(&names)
            .into_iter()
            .map(StrBytes::from_static_str)
            .collect();
        let wanted = request.mechanism.as_str();
        let Some(mechanism) = self
            .listener
            .mechanisms
            .iter()
            .copied()
            .find(|mechanism| mechanism.name() == wanted)
        else {
            let response = SaslHandshakeResponse::default()
                .with_error_code(ResponseError::UnsupportedSaslMechanism.code())
                .with_mechanisms(mechanisms);
            return Step {
                reply: respond(
                    ApiKey::SaslHandshake,
                    version,
                    correlation_id,
                    ResponseKind::SaslHandshake(response),
                ),
                next: Next::Close(format!("Unsupported SASL mechanism {wanted}")),
            };
        };
        self.unframed = version == 0;
        self.state = State::Authenticate;
        if let Some((previous, _)) = &self.reauthenticating {
            if *previous != mechanism {
                self.bad_mechanism_message = format!(
                    "SASL mechanism '{}' requested by client is not supported for re-authentication of mechanism '{}'",
                    mechanism.name(),
                    previous.name()
                );
                self.state = State::ReauthBadMechanism;
            }
        }
        self.mechanism = Some(mechanism);
        self.exchange = match mechanism {
            SaslMechanism::Plain => Exchange::None,
            SaslMechanism::Scram(scram) => Exchange::ScramFirst(scram),
        };
        let response = SaslHandshakeResponse::default().with_mechanisms(mechanisms);
        Step {
            reply: respond(
                ApiKey::SaslHandshake,
                version,
                correlation_id,
                ResponseKind::SaslHandshake(response),
            ),
            next: Next::Continue,
        }
    }

    async fn handle_authenticate(
        &mut self,
        frame: Bytes,
        store: &dyn CredentialStore,
        now: Instant,
    ) -> Step {
        let Some((api_key, version, correlation_id)) = frame_header(&frame) else {
            return Step::close(
                "a frame too short for a request header during SASL authentication",
            );
        };
        if api_key != ApiKey::SaslAuthenticate {
            let reason = format!(
                "Unexpected Kafka request of type {} during SASL authentication.",
                api_name(api_key)
            );
            // Kafka answers such a request with its error response before closing;
            // built here for Metadata (an empty answer, each asked topic failed with
            // ILLEGAL_SASL_STATE), the one a confused client sends.
            let reply = match protocol::decode_request(frame) {
                Ok(protocol::Request {
                    body: RequestKind::Metadata(request),
                    ..
                }) => {
                    let mut response = MetadataResponse::default();
                    for topic in request.topics.unwrap_or_default() {
                        let mut failed = MetadataResponseTopic::default();
                        failed.name = Some(topic.name.unwrap_or_default());
                        failed.topic_id = topic.topic_id;
                        failed.error_code = ResponseError::IllegalSaslState.code();
                        response.topics.push(failed);
                    }
                    respond(
                        api_key,
                        version,
                        correlation_id,
                        ResponseKind::Metadata(response),
                    )
                }
                _ => None,
            };
            return Step {
                reply,
                next: Next::Close(reason),
            };
        }
        let request: SaslAuthenticateRequest = match protocol::decode_request(frame) {
            Ok(protocol::Request {
                body: RequestKind::SaslAuthenticate(request),
                ..
            }) => request,
            _ => {
                return Step::close(format!(
                    "Version {version} is not supported for apiKey SASL_AUTHENTICATE, or the request does not decode"
                ))
            }
        };
        let reply = |response: SaslAuthenticateResponse| {
            respond(
                ApiKey::SaslAuthenticate,
                version,
                correlation_id,
                ResponseKind::SaslAuthenticate(response),
            )
        };
        match self.evaluate(&request.auth_bytes, store, now).await {
            Ok(token) => {
                let lifetime_ms = if self.state == State::Complete {
                    self.session_lifetime_ms(now)
                } else {
                    0
                };
                Step {
                    reply: reply(
                        SaslAuthenticateResponse::default()
                            .with_auth_bytes(Bytes::from(token))
                            .with_session_lifetime_ms(lifetime_ms),
                    ),
                    next: self.next_after_token(),
                }
            }
            Err((message, reason)) => Step {
                reply: reply(
                    SaslAuthenticateResponse::default()
                        .with_error_code(ResponseError::SaslAuthenticationFailed.code())
                        .with_error_message(Some(StrBytes::from_string(message))),
                ),
                next: Next::Close(reason),
            },
        }
    }

    /// `calcCompletionTimesAndReturnSessionLifetimeMs`: the mechanism's
    /// `connections.max.reauth.ms`, 0 when sessions do not expire.
    fn session_lifetime_ms(&mut self, now: Instant) -> i64 {
        let mechanism = self.mechanism.expect("complete");
        match self.listener.reauth_ms.get(&mechanism) {
            Some(&lifetime_ms) if lifetime_ms > 0 => {
                self.session_expires_at = Some(now + Duration::from_millis(lifetime_ms as u64));
                lifetime_ms
            }
            _ => {
                self.session_expires_at = None;
                0
            }
        }
    }

    /// Runs one token through the mechanism. Errors carry the message the client is
    /// told and the reason logged.
    async fn evaluate(
        &mut self,
        token: &[u8],
        store: &dyn CredentialStore,
        now: Instant,
    ) -> Result<Vec<u8>, (String, String)> {
        let mechanism = self.mechanism.expect("a handshake chose the mechanism");
        let invalid = |this: &SaslServer, reason: String| {
            (
                format!(
                    "Authentication failed during {} due to invalid credentials with SASL mechanism {}",
                    this.what(),
                    mechanism.name()
                ),
                reason,
            )
        };
        let outcome = match std::mem::replace(&mut self.exchange, Exchange::None) {
            Exchange::None => match plain_check(token, &self.listener) {
                Ok(user) => Ok((Some(user), Vec::new())),
                Err(message) => Err(ScramError::Refused(message)),
            },
            Exchange::ScramFirst(scram) => match ClientFirst::parse(token) {
                Ok(first) => {
                    let credential = match store.scram_credential(&first.username, scram).await {
                        Ok(credential) => credential,
                        Err(error) => {
                            return Err(invalid(
                                self,
                                format!("Authentication failed: Credentials could not be obtained ({error})"),
                            ))
                        }
                    };
                    let nonce = scram::random_nonce();
                    ServerExchange::start(scram, first, credential, &nonce).map(
                        |(exchange, reply)| {
                            self.exchange = Exchange::ScramFinal(Box::new(exchange));
                            (None, reply)
                        },
                    )
                }
                Err(error) => Err(error),
            },
            Exchange::ScramFinal(exchange) => exchange
                .finish(token)
                .map(|(user, reply)| (Some(user), reply)),
        };
        match outcome {
            Ok((None, reply)) => Ok(reply),
            Ok((Some(user), reply)) => {
                let principal = format!("User:{user}");
                if let Some((_, previous)) = &self.reauthenticating {
                    if *previous != principal {
                        let message = format!(
                            "Cannot change principals during re-authentication from {}: {}",
                            previous.replacen(':', ".", 1),
                            principal.replacen(':', ".", 1)
                        );
                        return Err((message.clone(), message));
                    }
                }
                self.principal = Some(principal);
                self.state = State::Complete;
                self.reauthenticating = None;
                if self.unframed {
                    self.session_lifetime_ms(now);
                }
                Ok(reply)
            }
            Err(ScramError::Refused(message)) => Err((message.clone(), message)),
            Err(ScramError::Invalid(reason)) => Err(invalid(self, reason)),
        }
    }
}

/// The order Kafka lists enabled mechanisms in: `new ArrayList<>(new HashSet<>(list))`,
/// so Java's HashSet iteration order (16 buckets for a handful of names, by the spread
/// String.hashCode, insertion order within a bucket).
fn java_hash_set_order(names: &[&'static str]) -> Vec<&'static str> {
    let bucket = |name: &str| {
        let hash = name.encode_utf16().fold(0i32, |hash, unit| {
            hash.wrapping_mul(31).wrapping_add(i32::from(unit as i16))
        });
        let spread = hash ^ ((hash as u32) >> 16) as i32;
        (spread & 15) as usize
    };
    let mut ordered: Vec<(usize, usize, &'static str)> = names
        .iter()
        .enumerate()
        .map(|(index, name)| (bucket(name), index, *name))
        .collect();
    ordered.sort();
    ordered.into_iter().map(|(_, _, name)| name).collect()
}

/// Kafka's name of an API (`ApiKeys.name`: METADATA, SASL_HANDSHAKE, ...).
fn api_name(api_key: ApiKey) -> String {
    let debug = format!("{api_key:?}");
    let mut name = String::new();
    for (index, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

/// PLAIN (RFC 4616) as `PlainSaslServer` checks it: `[authzid] NUL authcid NUL
/// passwd` against the JAAS `user_<name>` options. Returns the user.
fn plain_check(token: &[u8], listener: &ListenerSasl) -> Result<String, String> {
    let text = String::from_utf8_lossy(token);
    let mut tokens: Vec<&str> = Vec::new();
    let mut rest: &str = &text;
    for _ in 0..4 {
        match rest.find('\0') {
            Some(end) => {
                tokens.push(&rest[..end]);
                rest = &rest[end + 1..];
            }
            None => {
                tokens.push(rest);
                break;
            }
        }
    }
    if tokens.len() != 3 {
        return Err(format!(
            "Invalid SASL/PLAIN response: expected 3 tokens, got {}",
            tokens.len()
        ));
    }
    let (authorization_id, username, password) = (tokens[0], tokens[1], tokens[2]);
    if username.is_empty() {
        return Err("Authentication failed: username not specified".to_string());
    }
    if password.is_empty() {
        return Err("Authentication failed: password not specified".to_string());
    }
    let matches = listener.plain_users.get(username).is_some_and(|expected| {
        let (a, b) = (expected.0.as_bytes(), password.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    });
    if !matches {
        return Err("Authentication failed: Invalid username or password".to_string());
    }
    if !authorization_id.is_empty() && authorization_id != username {
        return Err(
            "Authentication failed: Client requested an authorization id that is different from username"
                .to_string(),
        );
    }
    Ok(username.to_string())
}

/// Logs in on a peer's SASL listener as `login` (SaslHandshake v1, SaslAuthenticate
/// v1). Returns the session lifetime the peer granted (0: none).
pub async fn client_login<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    login: &ClientLogin,
    client_id: &str,
) -> anyhow::Result<i64> {
    let mut correlation_id = 0;
    let mut call = |api_key: ApiKey, version: i16, body: RequestKind| {
        correlation_id += 1;
        let mut header = RequestHeader::default();
        header.request_api_key = api_key as i16;
        header.request_api_version = version;
        header.correlation_id = correlation_id;
        header.client_id = Some(StrBytes::from_string(client_id.to_string()));
        let mut frame = BytesMut::with_capacity(128);
        frame.put_i32(0);
        header
            .encode(&mut frame, api_key.request_header_version(version))
            .and_then(|_| body.encode(&mut frame, version))
            .map(|_| {
                let length = (frame.len() - 4) as i32;
                frame[..4].copy_from_slice(&length.to_be_bytes());
                (frame.freeze(), api_key, version)
            })
    };
    async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(
        stream: &mut S,
        (frame, api_key, version): (Bytes, ApiKey, i16),
    ) -> anyhow::Result<Bytes> {
        stream.write_all(&frame).await?;
        stream.flush().await?;
        let length = stream.read_i32().await?;
        if !(0..=1024 * 1024).contains(&length) {
            anyhow::bail!("peer sent a SASL response frame of {length} bytes");
        }
        let mut body = vec![0u8; length as usize];
        stream.read_exact(&mut body).await?;
        let mut body = Bytes::from(body);
        ResponseHeader::decode(&mut body, api_key.response_header_version(version))?;
        Ok(body)
    }
    let mut handshake = SaslHandshakeRequest::default();
    handshake.mechanism = StrBytes::from_static_str(login.mechanism.name());
    let mut body = round_trip(
        stream,
        call(
            ApiKey::SaslHandshake,
            1,
            RequestKind::SaslHandshake(handshake),
        )?,
    )
    .await?;
    let response = SaslHandshakeResponse::decode(&mut body, 1)?;
    if response.error_code != 0 {
        anyhow::bail!(
            "the peer does not enable SASL mechanism {} (error {})",
            login.mechanism.name(),
            response.error_code
        );
    }
    let mut authenticate = |token: Vec<u8>| {
        let mut request = SaslAuthenticateRequest::default();
        request.auth_bytes = Bytes::from(token);
        call(
            ApiKey::SaslAuthenticate,
            1,
            RequestKind::SaslAuthenticate(request),
        )
    };
    let check = |body: &mut Bytes| -> anyhow::Result<SaslAuthenticateResponse> {
        let response = SaslAuthenticateResponse::decode(body, 1)?;
        if response.error_code != 0 {
            anyhow::bail!(
                "SASL {} login as {} refused: {}",
                login.mechanism.name(),
                login.username,
                response.error_message.as_deref().unwrap_or("-")
            );
        }
        Ok(response)
    };
    match login.mechanism {
        SaslMechanism::Plain => {
            let token = format!("\0{}\0{}", login.username, login.password.0).into_bytes();
            let mut body = round_trip(stream, authenticate(token)?).await?;
            Ok(check(&mut body)?.session_lifetime_ms)
        }
        SaslMechanism::Scram(mechanism) => {
            let nonce = scram::random_nonce();
            let (client, first) =
                ClientExchange::start(mechanism, &login.username, &login.password.0, &nonce);
            let mut body = round_trip(stream, authenticate(first)?).await?;
            let server_first = check(&mut body)?.auth_bytes;
            let (client_final, expected) =
                client.respond(&server_first).map_err(anyhow::Error::msg)?;
            let mut body = round_trip(stream, authenticate(client_final)?).await?;
            let response = check(&mut body)?;
            ClientExchange::verify(&response.auth_bytes, &expected).map_err(anyhow::Error::msg)?;
            Ok(response.session_lifetime_ms)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::security::Secret;
    use std::collections::BTreeMap;

    struct Users(BTreeMap<String, ScramCredential>);

    impl CredentialStore for Users {
        fn scram_credential(
            &self,
            user: &str,
            _mechanism: ScramMechanism,
        ) -> BoxFuture<Result<Option<ScramCredential>, String>> {
            let found = self.0.get(user).cloned();
            Box::pin(async move { Ok(found) })
        }
    }

    fn listener(reauth_ms: i64) -> ListenerSasl {
        let mechanisms = vec![
            SaslMechanism::Plain,
            SaslMechanism::Scram(ScramMechanism::Sha256),
        ];
        ListenerSasl {
            reauth_ms: mechanisms.iter().map(|m| (*m, reauth_ms)).collect(),
            mechanisms,
            plain_users: [("alice".to_string(), Secret("pw".to_string()))].into(),
        }
    }

    fn users() -> Users {
        // PBKDF2's 4096 rounds are slow in a debug build: derived once.
        static BOB: std::sync::OnceLock<ScramCredential> = std::sync::OnceLock::new();
        let bob = BOB.get_or_init(|| {
            ScramCredential::derive(ScramMechanism::Sha256, b"bob-pw", b"salt", 4096)
        });
        Users([("bob".to_string(), bob.clone())].into())
    }

    fn request(api_key: ApiKey, version: i16, body: RequestKind) -> Bytes {
        let mut header = RequestHeader::default();
        header.request_api_key = api_key as i16;
        header.request_api_version = version;
        header.correlation_id = 7;
        let mut frame = BytesMut::new();
        header
            .encode(&mut frame, api_key.request_header_version(version))
            .unwrap();
        body.encode(&mut frame, version).unwrap();
        frame.freeze()
    }

    fn handshake(mechanism: &str, version: i16) -> Bytes {
        let mut request = SaslHandshakeRequest::default();
        request.mechanism = StrBytes::from_string(mechanism.to_string());
        self::request(
            ApiKey::SaslHandshake,
            version,
            RequestKind::SaslHandshake(request),
        )
    }

    fn authenticate(token: &[u8]) -> Bytes {
        let mut request = SaslAuthenticateRequest::default();
        request.auth_bytes = Bytes::copy_from_slice(token);
        self::request(
            ApiKey::SaslAuthenticate,
            1,
            RequestKind::SaslAuthenticate(request),
        )
    }

    fn authenticate_response(step: &Step) -> SaslAuthenticateResponse {
        let mut body = step.reply.clone().unwrap().slice(4..);
        ResponseHeader::decode(&mut body, 0).unwrap();
        SaslAuthenticateResponse::decode(&mut body, 1).unwrap()
    }

    #[tokio::test]
    async fn an_unsupported_api_versions_may_be_retried_before_the_handshake() {
        let now = Instant::now();
        // A v5 frame is read only as far as its header: keel serves up to v4.
        let versions = |version: i16| {
            let mut header = RequestHeader::default();
            header.request_api_key = ApiKey::ApiVersions as i16;
            header.request_api_version = version;
            header.correlation_id = 7;
            let mut frame = BytesMut::new();
            header.encode(&mut frame, 2).unwrap();
            frame.extend_from_slice(&[0, 0, 0]);
            frame.freeze()
        };
        let mut server = SaslServer::new(listener(0));
        // franz-go asks v5 first (answered UNSUPPORTED_VERSION), then v3.
        for version in [5, 3] {
            let step = server.handle(versions(version), &users(), now).await;
            assert_eq!(step.next, Next::ServeApiVersions, "v{version}");
        }
        // After one answered in full, another ApiVersions is out of place (Kafka).
        let step = server.handle(versions(3), &users(), now).await;
        assert!(matches!(step.next, Next::Close(_)), "{:?}", step.next);
        let mut server = SaslServer::new(listener(0));
        server.handle(versions(3), &users(), now).await;
        let step = server.handle(handshake("PLAIN", 1), &users(), now).await;
        assert_eq!(step.next, Next::Continue);
    }

    #[tokio::test]
    async fn plain_accepts_a_jaas_user_and_refuses_a_wrong_password_with_kafkas_message() {
        let now = Instant::now();
        for (password, ok) in [("pw", true), ("nope", false)] {
            let mut server = SaslServer::new(listener(0));
            let step = server.handle(handshake("PLAIN", 1), &users(), now).await;
            assert_eq!(step.next, Next::Continue);
            let token = format!("\0alice\0{password}");
            let step = server
                .handle(authenticate(token.as_bytes()), &users(), now)
                .await;
            let response = authenticate_response(&step);
            if ok {
                assert_eq!(step.next, Next::Authenticated);
                assert_eq!(server.principal(), Some("User:alice"));
                assert_eq!(response.session_lifetime_ms, 0);
            } else {
                assert_eq!(response.error_code, 58);
                assert_eq!(
                    response.error_message.as_deref(),
                    Some("Authentication failed: Invalid username or password")
                );
                assert!(matches!(step.next, Next::Close(_)));
            }
        }
    }

    #[tokio::test]
    async fn scram_over_framed_and_unframed_tokens_with_reauthentication() {
        let login = ClientLogin {
            mechanism: SaslMechanism::Scram(ScramMechanism::Sha256),
            username: "bob".to_string(),
            password: Secret("bob-pw".to_string()),
        };
        // The client half talks to the server half over an in-memory pipe.
        let (mut client, mut server_side) = tokio::io::duplex(64 * 1024);
        let now = Instant::now();
        let serve = async move {
            let mut server = SaslServer::new(listener(4000));
            loop {
                let length = server_side.read_i32().await.unwrap();
                let mut frame = vec![0; length as usize];
                server_side.read_exact(&mut frame).await.unwrap();
                let step = server.handle(Bytes::from(frame), &users(), now).await;
                if let Some(reply) = step.reply {
                    server_side.write_all(&reply).await.unwrap();
                }
                if step.next == Next::Authenticated {
                    return server;
                }
                assert_eq!(step.next, Next::Continue);
            }
        };
        let (lifetime, mut server) = tokio::join!(client_login(&mut client, &login, "test"), serve);
        assert_eq!(lifetime.unwrap(), 4000);
        assert_eq!(server.principal(), Some("User:bob"));
        assert!(!server.session_expired(now + Duration::from_millis(3999)));
        assert!(server.session_expired(now + Duration::from_millis(4001)));
        // Re-authentication: not within a second of the last, and as the same user only.
        let later = now + Duration::from_secs(2);
        assert!(server.begin_reauthentication(later));
        let step = server.handle(handshake("PLAIN", 1), &users(), later).await;
        assert_eq!(step.next, Next::Continue);
        let step = server
            .handle(authenticate(b"\0alice\0pw"), &users(), later)
            .await;
        assert!(
            matches!(step.next, Next::Close(ref reason) if reason.contains("not supported for re-authentication")),
            "{step:?}"
        );

        // v0: bare tokens, and an unknown user fails without an answer.
        let mut server = SaslServer::new(listener(0));
        let step = server
            .handle(handshake("SCRAM-SHA-256", 0), &users(), now)
            .await;
        assert_eq!(step.next, Next::Continue);
        let step = server
            .handle(Bytes::from_static(b"n,,n=nobody,r=abc"), &users(), now)
            .await;
        assert!(step.reply.is_none());
        assert!(matches!(step.next, Next::Close(_)));
    }

    /// Hostile bytes at every stage (handshake, PLAIN token, SCRAM first and final
    /// messages, framed and unframed) end in an answer or a close, never a panic.
    #[tokio::test]
    async fn random_frames_never_panic_the_server() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let now = Instant::now();
        for round in 0..3000 {
            let length = (next() % 96) as usize;
            let mut noise: Vec<u8> = (0..length).map(|_| next() as u8).collect();
            // Bias towards printable SCRAM-ish text half of the time.
            if round % 2 == 0 {
                for byte in noise.iter_mut() {
                    *byte = b"n,=ra-zAZ09+/p,ciwsv"[(*byte as usize) % 20];
                }
            }
            let mut server = SaslServer::new(listener(1000));
            let stage = round % 5;
            if stage >= 1 {
                let mechanism = if stage % 2 == 1 {
                    "PLAIN"
                } else {
                    "SCRAM-SHA-256"
                };
                let version = if stage >= 3 { 0 } else { 1 };
                server
                    .handle(handshake(mechanism, version), &users(), now)
                    .await;
            }
            let frame = if stage == 1 || stage == 2 {
                authenticate(&noise)
            } else {
                Bytes::from(noise.clone())
            };
            let step = server.handle(frame, &users(), now).await;
            if step.next == Next::Continue && stage == 4 {
                server.handle(Bytes::from(noise), &users(), now).await;
            }
        }
        for text in ["", "{", "M required a=", "S { M r; ", "\"\\", "/* x"] {
            let _ = crate::config::jaas::parse_property(text);
            let _ = crate::config::jaas::parse_file(text);
        }
    }

    #[tokio::test]
    async fn requests_before_authentication_close_and_unknown_mechanisms_are_listed() {
        let now = Instant::now();
        let mut server = SaslServer::new(listener(0));
        let metadata = request(
            ApiKey::Metadata,
            9,
            RequestKind::Metadata(Default::default()),
        );
        let step = server.handle(metadata, &users(), now).await;
        assert_eq!(
            step.next,
            Next::Close(
                "Unexpected Kafka request of type METADATA during SASL handshake.".to_string()
            )
        );
        let mut server = SaslServer::new(listener(0));
        let step = server.handle(handshake("GSSAPI", 1), &users(), now).await;
        let mut body = step.reply.unwrap().slice(4..);
        ResponseHeader::decode(&mut body, 0).unwrap();
        let response = SaslHandshakeResponse::decode(&mut body, 1).unwrap();
        assert_eq!(response.error_code, 33);
        let names: Vec<&str> = response.mechanisms.iter().map(|m| m.as_str()).collect();
        assert_eq!(names, java_hash_set_order(&["PLAIN", "SCRAM-SHA-256"]));
        assert!(matches!(step.next, Next::Close(_)));
        // PLAIN's token rules, with Kafka's messages.
        let listener = listener(0);
        assert_eq!(
            plain_check(b"alice\0pw", &listener).unwrap_err(),
            "Invalid SASL/PLAIN response: expected 3 tokens, got 2"
        );
        assert_eq!(
            plain_check(b"bob\0alice\0pw", &listener).unwrap_err(),
            "Authentication failed: Client requested an authorization id that is different from username"
        );
        assert_eq!(
            plain_check(b"\0alice\0", &listener).unwrap_err(),
            "Authentication failed: password not specified"
        );
        assert_eq!(api_name(ApiKey::SaslHandshake), "SASL_HANDSHAKE");
        // As Apache 3.9.1 answered for PLAIN,SCRAM-SHA-256,SCRAM-SHA-512 (kafka-sasl).
        assert_eq!(
            java_hash_set_order(&["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]),
            ["PLAIN", "SCRAM-SHA-512", "SCRAM-SHA-256"]
        );
    }
}
