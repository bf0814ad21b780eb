//! The broker's network front end: accepts connections on a listener and moves
//! frames between sockets and `Broker::handle`.
//!
//! Requests on one connection are answered one at a time, in order, as Kafka does
//! (a client may pipeline; the next request waits for the previous response). A bad
//! frame costs its own connection only, with one warning naming the peer, the client
//! id and the client software (name/version from its ApiVersions).
//!
//! Inter-broker requests (LeaderAndIsr, UpdateMetadata, StopReplica,
//! ControlledShutdown, AlterPartition) take their own decoder,
//! `protocol::inter_broker`, and `apis::inter_broker`.
//!
//! A SASL listener runs `security::sasl::SaslServer` on each connection first: until
//! it completes, frames go to it instead of the broker, and a re-authentication or an
//! expired session is decided before each request.
//!
//! An SSL or SASL_SSL listener completes the TLS handshake first (bounded by
//! `connections.max.idle.ms`, as Kafka's idle check covers handshaking channels); a
//! failed handshake costs that connection only, with one warning naming the peer.
//!
//! # Layout
//! - `quotas`: connections per client address (`max.connections.per.ip`).
//! - `stream`: a connection's plain or TLS byte stream.
//! - `writer`: response frames to the socket, record data with `sendfile(2)`.

pub mod quotas;
mod stream;
mod writer;

pub use writer::{write_frame, FileSend};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tracing::Instrument;

use crate::kafka::apis::{self, api_versions};
use crate::kafka::authz::{RequestSession, ANONYMOUS, REQUEST_SESSION};
use crate::kafka::broker::Broker;
use crate::kafka::metadata::{BoxFuture, MetadataStore};
use crate::kafka::protocol::frame::ResponseFrame;
use crate::kafka::protocol::inter_broker::{self, InterBrokerApi};
use crate::kafka::protocol::{self, DecodeError, FrameCheck, Response, FRAME_LENGTH_BYTES};
use crate::kafka::security::acl::{java_host_address, Requester};
use crate::kafka::security::sasl::{self, CredentialStore, Next, SaslServer};
use crate::kafka::security::scram::{ScramCredential, ScramMechanism};
use crate::kafka::security::ListenerSecurity;
use stream::ClientStream;

/// Kafka's `sasl.server.max.receive.size` default: the largest frame read before a
/// connection has authenticated.
const SASL_FRAME_BYTES_MAX: u32 = 524_288;

/// SCRAM credentials as Kafka keeps them: the mechanism's key in the user's entity
/// config in ZooKeeper, read at each login (so a credential changed with
/// kafka-configs applies at once, as Kafka's change notifications make it).
struct ZooKeeperCredentials(Arc<dyn MetadataStore>);

impl CredentialStore for ZooKeeperCredentials {
    fn scram_credential(
        &self,
        user: &str,
        mechanism: ScramMechanism,
    ) -> BoxFuture<Result<Option<ScramCredential>, String>> {
        let lookup = self.0.user_config(user.to_string());
        Box::pin(async move {
            let config = lookup.await.map_err(|error| error.message)?;
            match config
                .as_ref()
                .and_then(|config| config.get(mechanism.name()))
            {
                Some(text) => ScramCredential::from_zk_string(text).map(Some),
                None => Ok(None),
            }
        })
    }
}

/// Read buffer grown per read; a frame larger than this is read in several reads.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Accepts connections until `shutdown` turns true. `connections_max` bounds the
/// connections served at once; further ones wait in the kernel's backlog.
pub async fn serve(
    listener: TcpListener,
    broker: Arc<Broker>,
    mut shutdown: watch::Receiver<bool>,
    connections_max: usize,
    listener_name: String,
    security: ListenerSecurity,
) {
    let security = Arc::new(security);
    let listener_name: Arc<str> = Arc::from(listener_name);
    let permits = Arc::new(Semaphore::new(connections_max));
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            _ = shutdown.changed() => return,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                continue;
            }
        };
        let slot = match broker.connection_quotas.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(limit) => {
                if let Some(occurrences) = crate::warn_limit::occurrence(
                    "kafka-connections-per-ip",
                    &peer.ip().to_string(),
                ) {
                    tracing::warn!(%peer, limit, occurrences, "Rejected connection from {}, address already has the configured maximum of {limit} connections.", peer.ip());
                }
                continue;
            }
        };
        let broker = broker.clone();
        let security = security.clone();
        let listener_name = listener_name.clone();
        let span = tracing::info_span!("kafka_connection", %peer);
        tokio::spawn(
            async move {
                serve_connection(stream, peer, broker, &listener_name, &security).await;
                drop(slot);
                drop(permit);
            }
            .instrument(span),
        );
    }
}

async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    broker: Arc<Broker>,
    listener_name: &str,
    security: &ListenerSecurity,
) {
    let _ = tcp.set_nodelay(true);
    let idle_max = u64::try_from(broker.config.connections_max_idle_ms)
        .ok()
        .filter(|ms| *ms > 0)
        .map(std::time::Duration::from_millis);
    let mut stream = match &security.tls {
        None => ClientStream::Plain(tcp),
        Some(tls) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(tls.0.clone());
            let handshake = crate::tls::accept(&acceptor, tcp);
            let outcome = match idle_max {
                Some(idle_max) => tokio::time::timeout(idle_max, handshake)
                    .await
                    .unwrap_or_else(|_| {
                        Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "no TLS handshake within connections.max.idle.ms",
                        ))
                    }),
                None => handshake.await,
            };
            match outcome {
                Ok(tls_stream) => ClientStream::Tls(Box::new(tls_stream)),
                Err(error) => {
                    // Kafka: "Failed authentication with /peer (SSL handshake failed)".
                    if let Some(occurrences) =
                        crate::warn_limit::occurrence("kafka-tls-handshake", &peer.ip().to_string())
                    {
                        tracing::warn!(%peer, listener = listener_name, %error, occurrences, "Failed authentication (SSL handshake failed); closing the connection");
                    }
                    return;
                }
            }
        }
    };
    let mut sasl = security.sasl.clone().map(SaslServer::new);
    let listener_name: Arc<str> = Arc::from(listener_name);
    // Kafka's DefaultKafkaPrincipalBuilder: the SASL user once logged in (set below),
    // else the TLS client certificate's subject, else ANONYMOUS.
    let mut session = Arc::new(RequestSession {
        listener: listener_name.clone(),
        requester: Requester {
            principal: stream.peer_subject().map_or_else(
                || ANONYMOUS.to_string(),
                |subject| format!("User:{subject}"),
            ),
            host: java_host_address(peer.ip()),
        },
    });
    let credentials = ZooKeeperCredentials(broker.metadata.clone());
    let mut buffer = BytesMut::with_capacity(READ_CHUNK_BYTES);
    let mut file_send = FileSend::Sendfile;
    // "name/version" from the client's ApiVersions (v3+, KIP-511), for the one line
    // logged if the connection is closed over a request keel cannot serve.
    let mut client_software: Option<String> = None;
    let mut warned_bad_records = false;
    loop {
        let frame_bytes_max = match &sasl {
            Some(server) if !server.is_authenticated() => SASL_FRAME_BYTES_MAX,
            _ => broker.config.socket_request_bytes_max,
        };
        match protocol::check_frame(&buffer, frame_bytes_max) {
            FrameCheck::Incomplete => {
                buffer.reserve(READ_CHUNK_BYTES);
                // connections.max.idle.ms: requests are answered one at a time, so
                // waiting here is the connection's idle time.
                let read = stream.read_buf(&mut buffer);
                let read = match idle_max {
                    Some(idle_max) => match tokio::time::timeout(idle_max, read).await {
                        Ok(read) => read,
                        Err(_) => {
                            tracing::debug!(%peer, idle_ms = idle_max.as_millis() as u64, "connection idle over connections.max.idle.ms; closing");
                            return;
                        }
                    },
                    None => read.await,
                };
                match read {
                    Ok(0) => return,
                    Ok(_) => continue,
                    Err(error) => {
                        tracing::debug!(%error, "connection read failed");
                        return;
                    }
                }
            }
            FrameCheck::Invalid(length) => {
                if let Some(occurrences) =
                    crate::warn_limit::occurrence("kafka-frame-size", &peer.ip().to_string())
                {
                    tracing::warn!(%peer, length, frame_bytes_max, occurrences, "request size is negative or over socket.request.max.bytes; closing the connection");
                }
                return;
            }
            FrameCheck::Complete(length) => {
                let frame = buffer
                    .split_to(FRAME_LENGTH_BYTES + length)
                    .freeze()
                    .slice(FRAME_LENGTH_BYTES..);
                if let Some(server) = sasl.as_mut() {
                    let now = Instant::now();
                    let in_exchange = !server.is_authenticated()
                        || (sasl::is_handshake(&frame) && server.begin_reauthentication(now));
                    if in_exchange {
                        let step = server.handle(frame.clone(), &credentials, now).await;
                        if let Some(reply) = step.reply {
                            if !send(
                                &mut stream,
                                &ResponseFrame::from_bytes(reply),
                                &mut file_send,
                            )
                            .await
                            {
                                return;
                            }
                        }
                        match step.next {
                            Next::Continue => continue,
                            Next::Authenticated => {
                                if let Some(principal) = server.principal() {
                                    if principal != session.requester.principal {
                                        let mut changed = (*session).clone();
                                        changed.requester.principal = principal.to_string();
                                        session = Arc::new(changed);
                                    }
                                }
                                tracing::debug!(%peer, principal = server.principal().unwrap_or("-"), mechanism = server.mechanism().map_or("-", |m| m.name()), "SASL authentication complete");
                                continue;
                            }
                            Next::Close(reason) => {
                                if let Some(occurrences) = crate::warn_limit::occurrence(
                                    "kafka-sasl-failed",
                                    &peer.ip().to_string(),
                                ) {
                                    tracing::warn!(%peer, %reason, occurrences, "Failed authentication; closing the connection");
                                }
                                return;
                            }
                            Next::ServeApiVersions => {}
                        }
                    } else if server.session_expired(now) {
                        tracing::debug!(%peer, principal = server.principal().unwrap_or("-"), "SASL session expired without re-authentication; closing the connection");
                        return;
                    }
                }
                if let Some(api) = inter_broker_api(&frame) {
                    match REQUEST_SESSION
                        .scope(
                            session.clone(),
                            serve_inter_broker(&broker, api, &frame, peer),
                        )
                        .await
                    {
                        Some(reply) => {
                            if !send(
                                &mut stream,
                                &ResponseFrame::from_bytes(reply),
                                &mut file_send,
                            )
                            .await
                            {
                                return;
                            }
                            continue;
                        }
                        None => return,
                    }
                }
                // KIP-219: after an answer over a client quota, nothing more is read
                // from the connection for the throttle time.
                let mut mute_ms: i32 = 0;
                let reply = match protocol::decode_request(frame.clone()) {
                    Ok(request) => {
                        if let RequestKind::ApiVersions(body) = &request.body {
                            if !body.client_software_name.is_empty() {
                                client_software = Some(format!(
                                    "{}/{}",
                                    body.client_software_name.as_str(),
                                    body.client_software_version.as_str()
                                ));
                            }
                        }
                        let (api_key, version, correlation_id) = (
                            request.api_key,
                            request.header.request_api_version,
                            request.header.correlation_id,
                        );
                        let client_id = request.header.client_id.as_ref().map(|id| id.to_string());
                        let (response, throttle_ms) = REQUEST_SESSION
                            .scope(session.clone(), broker.handle(request))
                            .await;
                        mute_ms = throttle_ms;
                        match response {
                            Some(response) => {
                                if !warned_bad_records {
                                    if let Some(code) = refused_records(&response) {
                                        // Once per connection: the client gets the error in
                                        // every answer, the log names it once.
                                        warned_bad_records = true;
                                        let occurrences = crate::warn_limit::occurrence(
                                            "kafka-refused-records",
                                            &peer.ip().to_string(),
                                        );
                                        if occurrences.is_some() {
                                            tracing::warn!(
                                                %peer,
                                                client_id = client_id.as_deref().unwrap_or("-"),
                                                client_software = client_software.as_deref().unwrap_or("unknown (no ApiVersions v3+)"),
                                                version,
                                                error_code = code,
                                                occurrences,
                                                "produce refused: records that do not decode (CORRUPT_MESSAGE / INVALID_RECORD); further refusals on this connection are not logged"
                                            );
                                        }
                                    }
                                }
                                protocol::encode_frame(api_key, version, correlation_id, &response)
                            }
                            None => {
                                mute(mute_ms).await;
                                continue;
                            }
                        }
                    }
                    Err(DecodeError::ApiVersionsFallback {
                        correlation_id,
                        version,
                    }) => {
                        tracing::debug!(%peer, version, "ApiVersions newer than supported; answering with v0");
                        protocol::encode_frame(
                            ApiKey::ApiVersions,
                            0,
                            correlation_id,
                            &Response::Message(ResponseKind::ApiVersions(api_versions::fallback())),
                        )
                    }
                    Err(error) => {
                        // It closes here, as Apache's does; a client that reconnects
                        // and sends it again is named at each doubling.
                        if let Some(occurrences) = crate::warn_limit::occurrence(
                            "kafka-invalid-request",
                            &peer.ip().to_string(),
                        ) {
                            tracing::warn!(
                                %peer,
                                client_id = peek_client_id(&frame).as_deref().unwrap_or("-"),
                                client_software = client_software.as_deref().unwrap_or("unknown (no ApiVersions v3+)"),
                                %error,
                                occurrences,
                                "invalid request; closing the connection"
                            );
                        }
                        return;
                    }
                };
                match reply {
                    Ok(frame) => {
                        if !send(&mut stream, &frame, &mut file_send).await {
                            return;
                        }
                        mute(mute_ms).await;
                    }
                    Err(error) => {
                        tracing::error!(%peer, %error, "cannot encode a response; closing the connection");
                        return;
                    }
                }
            }
        }
    }
}

/// Holds the connection for a quota's throttle time (nothing is read meanwhile).
async fn mute(throttle_ms: i32) {
    if throttle_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(throttle_ms as u64)).await;
    }
}

/// Writes one response frame; `false` when the connection is gone (logged at debug:
/// a client closing its end is not news).
async fn send(stream: &mut ClientStream, frame: &ResponseFrame, file_send: &mut FileSend) -> bool {
    match stream.write_frame(frame, file_send).await {
        Ok(()) => true,
        Err(error) => {
            tracing::debug!(%error, "connection write failed");
            false
        }
    }
}

/// The client id of a request header (v1+: after api key, version and correlation
/// id, a nullable INT16-length string), read leniently for a log line about a frame
/// that did not decode.
fn peek_client_id(frame: &[u8]) -> Option<String> {
    let length = i16::from_be_bytes([*frame.get(8)?, *frame.get(9)?]);
    let length = usize::try_from(length).ok()?;
    let bytes = frame.get(10..10 + length)?;
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// The inter-broker API a frame carries, if any: LeaderAndIsr, StopReplica,
/// UpdateMetadata, ControlledShutdown and AlterPartition are read by
/// `protocol::inter_broker` (Kafka 4's message set, and so the crate, lacks them or
/// AlterPartition's v0-1).
fn inter_broker_api(frame: &[u8]) -> Option<InterBrokerApi> {
    let api_key = i16::from_be_bytes([*frame.first()?, *frame.get(1)?]);
    InterBrokerApi::from_key(api_key)
}

/// Decodes, handles and encodes one inter-broker request. `None` closes the
/// connection (a request that does not decode), as for any other malformed request.
async fn serve_inter_broker(
    broker: &Arc<Broker>,
    api: InterBrokerApi,
    frame: &[u8],
    peer: SocketAddr,
) -> Option<Bytes> {
    let (header, request) = match inter_broker::decode_request(frame) {
        Ok(decoded) => decoded,
        Err(error) => {
            tracing::warn!(%peer, ?api, %error, "invalid inter-broker request; closing the connection");
            return None;
        }
    };
    let version = header.request_api_version;
    let started = std::time::Instant::now();
    let response = apis::inter_broker::handle(broker, request, version).await;
    // Named as Kafka's ApiKeys name them (`LeaderAndIsr`, `UpdateMetadata`, ...).
    broker.metrics.record_request(
        &format!("{api:?}"),
        version,
        started.elapsed().as_secs_f64() * 1000.0,
        &[],
    );
    let mut out = BytesMut::with_capacity(256);
    out.put_i32(0);
    let response_header = inter_broker::ResponseHeader {
        correlation_id: header.correlation_id,
        ..Default::default()
    };
    if let Err(error) =
        inter_broker::encode_response(&response_header, &response, version, &mut out)
    {
        tracing::error!(%peer, ?api, %error, "cannot encode an inter-broker response; closing the connection");
        return None;
    }
    let length = (out.len() - 4) as i32;
    out[..4].copy_from_slice(&length.to_be_bytes());
    Some(out.freeze())
}

/// The error code of a Produce answer that refused records as undecodable
/// (CORRUPT_MESSAGE, INVALID_RECORD): a client bug or a codec keel lacks, worth one
/// warning per connection.
fn refused_records(response: &protocol::Response) -> Option<i16> {
    use kafka_protocol::messages::ResponseKind;
    const CORRUPT_MESSAGE: i16 = 2;
    const INVALID_RECORD: i16 = 87;
    let protocol::Response::Message(ResponseKind::Produce(produce)) = response else {
        return None;
    };
    produce
        .responses
        .iter()
        .flat_map(|topic| &topic.partition_responses)
        .map(|partition| partition.error_code)
        .find(|code| *code == CORRUPT_MESSAGE || *code == INVALID_RECORD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_is_read_from_a_header_whatever_follows() {
        let mut frame = vec![0, 0, 0, 12, 0, 0, 0, 7, 0, 5];
        frame.extend_from_slice(b"sarama");
        assert_eq!(peek_client_id(&frame).as_deref(), Some("saram"));
        // null client id, truncated header
        assert_eq!(peek_client_id(&[0, 0, 0, 12, 0, 0, 0, 7, 0xff, 0xff]), None);
        assert_eq!(peek_client_id(&[0, 0, 0, 12, 0, 0, 0, 7, 0, 9, b'x']), None);
        assert_eq!(peek_client_id(&[0, 0, 0]), None);
    }
}
