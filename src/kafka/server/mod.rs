//! The broker's network front end: accepts connections on a listener and moves
//! frames between sockets and `Broker::handle`.
//!
//! Requests on one connection are answered one at a time, in order, as Kafka does
//! (a client may pipeline; the next request waits for the previous response). A bad
//! frame costs its own connection only, with a warning naming the peer.
//!
//! # Layout
//! - `writer`: response frames to the socket, record data with `sendfile(2)`.

mod writer;

pub use writer::{write_frame, FileSend};

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use kafka_protocol::messages::{ApiKey, ResponseKind};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tracing::Instrument;

use crate::kafka::apis::api_versions;
use crate::kafka::broker::Broker;
use crate::kafka::protocol::{self, DecodeError, FrameCheck, Response, FRAME_LENGTH_BYTES};

/// Read buffer grown per read; a frame larger than this is read in several reads.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Accepts connections until `shutdown` turns true. `connections_max` bounds the
/// connections served at once; further ones wait in the kernel's backlog.
pub async fn serve(
    listener: TcpListener,
    broker: Arc<Broker>,
    mut shutdown: watch::Receiver<bool>,
    connections_max: usize,
) {
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
        let broker = broker.clone();
        let span = tracing::info_span!("kafka_connection", %peer);
        tokio::spawn(
            async move {
                serve_connection(stream, peer, broker).await;
                drop(permit);
            }
            .instrument(span),
        );
    }
}

async fn serve_connection(mut stream: TcpStream, peer: SocketAddr, broker: Arc<Broker>) {
    let _ = stream.set_nodelay(true);
    let frame_bytes_max = broker.config.socket_request_bytes_max;
    let mut buffer = BytesMut::with_capacity(READ_CHUNK_BYTES);
    let mut file_send = FileSend::Sendfile;
    loop {
        match protocol::check_frame(&buffer, frame_bytes_max) {
            FrameCheck::Incomplete => {
                buffer.reserve(READ_CHUNK_BYTES);
                match stream.read_buf(&mut buffer).await {
                    Ok(0) => return,
                    Ok(_) => continue,
                    Err(error) => {
                        tracing::debug!(%error, "connection read failed");
                        return;
                    }
                }
            }
            FrameCheck::Invalid(length) => {
                tracing::warn!(%peer, length, frame_bytes_max, "request size is negative or over socket.request.max.bytes; closing the connection");
                return;
            }
            FrameCheck::Complete(length) => {
                let frame = buffer
                    .split_to(FRAME_LENGTH_BYTES + length)
                    .freeze()
                    .slice(FRAME_LENGTH_BYTES..);
                let reply = match protocol::decode_request(frame) {
                    Ok(request) => {
                        let (api_key, version, correlation_id) = (
                            request.api_key,
                            request.header.request_api_version,
                            request.header.correlation_id,
                        );
                        match broker.handle(request).await {
                            Some(response) => {
                                protocol::encode_frame(api_key, version, correlation_id, &response)
                            }
                            None => continue,
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
                        tracing::warn!(%peer, %error, "invalid request; closing the connection");
                        return;
                    }
                };
                match reply {
                    Ok(frame) => {
                        if let Err(error) = write_frame(&mut stream, &frame, &mut file_send).await {
                            tracing::debug!(%error, "connection write failed");
                            return;
                        }
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
