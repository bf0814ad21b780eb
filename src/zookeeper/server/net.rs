//! Client connections on tokio: the accept loop (with `maxClientCnxns` per IP),
//! one reader and one writer task per connection, and the four-letter words
//! (the first four bytes of a connection). Readers frame and decode; all
//! decisions are the pipeline's.
//!
//! The secure client port (`secureClientPort`) runs the same loop after a TLS
//! handshake, bounded by `nio.sessionlessCnxnTimeout` as the ConnectRequest is; a
//! failed handshake costs its connection, with one warning naming the peer.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use super::commands::{is_enabled, not_whitelisted, KNOWN_WORDS};
use super::core::Input;
use super::driver::{Message, Outbound};
use super::host::{needs_host_facts, HostFacts, HostProbe};
use super::sessions::ConnectionId;
use crate::zookeeper::jute::frame::{self, FRAME_LENGTH_BYTES};
use crate::zookeeper::jute::proto::ConnectRequest;
use crate::zookeeper::jute::{Decoder, JuteError, Request};

/// Apache's `zookeeper.nio.sessionlessCnxnTimeout` default: a connection that
/// has not sent its ConnectRequest by then is closed.
pub const SESSIONLESS_CONNECTION_TIMEOUT_DEFAULT: std::time::Duration =
    std::time::Duration::from_secs(10);

/// Bytes a writer gathers from its queue into one write.
const WRITE_BATCH_BYTES_MAX: usize = 64 * 1024;

/// What every connection task shares.
pub struct NetContext {
    pub messages: mpsc::Sender<Message>,
    /// Samples what monitoring words report of the host, off the pipeline.
    pub host_probe: HostProbe,
    /// `jute.maxbuffer`: the largest frame accepted.
    pub frame_bytes_max: usize,
    /// `4lw.commands.whitelist`.
    pub four_letter_words_allowed: Vec<String>,
    /// `maxClientCnxns` (0: no limit).
    pub connections_per_ip_max: u32,
    /// `maxCnxns` (0: no limit).
    pub connections_max: u32,
    /// `nio.sessionlessCnxnTimeout`.
    pub sessionless_timeout: std::time::Duration,
    connections_by_ip: Mutex<HashMap<IpAddr, u32>>,
    next_connection: AtomicU64,
}

impl NetContext {
    pub fn new(
        messages: mpsc::Sender<Message>,
        host_probe: HostProbe,
        frame_bytes_max: usize,
        four_letter_words_allowed: Vec<String>,
        connections_per_ip_max: u32,
        connections_max: u32,
        sessionless_timeout: std::time::Duration,
    ) -> NetContext {
        NetContext {
            messages,
            host_probe,
            frame_bytes_max,
            four_letter_words_allowed,
            connections_per_ip_max,
            connections_max,
            sessionless_timeout,
            connections_by_ip: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(1),
        }
    }

    /// Counts a connection from `ip`, or refuses it over the limits.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let mut counts = self.connections_by_ip.lock().expect("not poisoned");
        let total: u32 = counts.values().sum();
        if self.connections_max > 0 && total >= self.connections_max {
            if let Some(occurrences) =
                crate::warn_limit::occurrence("zk-connections-max", &ip.to_string())
            {
                tracing::warn!(%ip, occurrences, "Too many connections - max is {}", self.connections_max);
            }
            return None;
        }
        let count = counts.entry(ip).or_insert(0);
        if self.connections_per_ip_max > 0 && *count >= self.connections_per_ip_max {
            if let Some(occurrences) =
                crate::warn_limit::occurrence("zk-connections-per-ip", &ip.to_string())
            {
                tracing::warn!(%ip, occurrences, "Too many connections from {ip} - max is {}", self.connections_per_ip_max);
            }
            return None;
        }
        *count += 1;
        Some(IpSlot {
            context: self.clone(),
            ip,
        })
    }
}

/// Gives the per-IP slot back when the connection ends.
struct IpSlot {
    context: Arc<NetContext>,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self.context.connections_by_ip.lock().expect("not poisoned");
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Binds `secureClientPort` when the config has one and serves TLS clients there,
/// through the same context (limits, pipeline) as the plain port.
pub async fn serve_secure_client_port(
    config: &crate::zookeeper::config::ZooKeeperConfig,
    context: &Arc<NetContext>,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let (Some(address), Some(tls)) = (&config.secure_client_address, &config.secure_client_tls)
    else {
        return Ok(());
    };
    let listener = TcpListener::bind((address.host.as_str(), address.port))
        .await
        .with_context(|| format!("binding the secure client port {address}"))?;
    tracing::info!(address = %listener.local_addr()?, "serving TLS clients on secureClientPort");
    tokio::spawn(accept_loop(
        listener,
        context.clone(),
        stop.clone(),
        Some(tls.clone()),
    ));
    Ok(())
}

/// Accepts client connections until `stop`.
pub async fn accept_loop(
    listener: TcpListener,
    context: Arc<NetContext>,
    mut stop: watch::Receiver<bool>,
    tls: Option<crate::tls::TlsServer>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: keep serving the
                // connections we have.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let Some(slot) = context.admit(peer.ip()) else {
            drop(stream);
            continue;
        };
        let conn = context.next_connection.fetch_add(1, Ordering::Relaxed);
        let context = context.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, peer, conn, context).await,
                Some(tls) => serve_tls_connection(stream, peer, conn, context, tls).await,
            }
            drop(slot);
        });
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    conn: ConnectionId,
    context: Arc<NetContext>,
) {
    let _ = stream.set_nodelay(true);
    let handshake_deadline = tokio::time::Instant::now() + context.sessionless_timeout;
    let (reader, writer) = stream.into_split();
    serve_stream(
        reader,
        writer,
        peer,
        conn,
        context,
        handshake_deadline,
        None,
    )
    .await;
}

async fn serve_tls_connection(
    stream: TcpStream,
    peer: SocketAddr,
    conn: ConnectionId,
    context: Arc<NetContext>,
    tls: crate::tls::TlsServer,
) {
    let _ = stream.set_nodelay(true);
    let handshake_deadline = tokio::time::Instant::now() + context.sessionless_timeout;
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.0.clone());
    let handshake = crate::tls::accept(&acceptor, stream);
    let stream = match tokio::time::timeout_at(handshake_deadline, handshake).await {
        Ok(Ok(stream)) => stream,
        outcome => {
            let error = match outcome {
                Ok(Err(error)) => error.to_string(),
                _ => format!("no TLS handshake within {:?}", context.sessionless_timeout),
            };
            if let Some(occurrences) =
                crate::warn_limit::occurrence("zk-tls-handshake", &peer.ip().to_string())
            {
                tracing::warn!(%peer, %error, occurrences, "TLS handshake with {peer} on the secure client port failed; closing the connection");
            }
            return;
        }
    };
    // The x509 id: Apache's X509AuthenticationProvider names the client by its
    // certificate's subject.
    let subject = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|leaf| crate::tls::x509::subject_rfc2253(leaf.as_ref()));
    let (reader, writer) = tokio::io::split(stream);
    serve_stream(
        reader,
        writer,
        peer,
        conn,
        context,
        handshake_deadline,
        subject,
    )
    .await;
}

async fn serve_stream<R, W>(
    mut reader: R,
    mut writer: W,
    peer: SocketAddr,
    conn: ConnectionId,
    context: Arc<NetContext>,
    handshake_deadline: tokio::time::Instant,
    certificate_subject: Option<String>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let mut buffer = BytesMut::with_capacity(4096);
    while buffer.len() < FRAME_LENGTH_BYTES {
        match tokio::time::timeout_at(handshake_deadline, reader.read_buf(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return,
            Ok(Ok(_)) => {}
            Err(_) => {
                tracing::info!(%peer, "closing a connection that sent nothing for {:?}", context.sessionless_timeout);
                return;
            }
        }
    }
    // Apache looks for a four-letter word where the first length would be.
    if let Ok(word) = std::str::from_utf8(&buffer[..FRAME_LENGTH_BYTES]) {
        if KNOWN_WORDS.contains(&word) {
            let word = word.to_string();
            serve_four_letter_word(&word, peer, &mut writer, &context).await;
            return;
        }
    }

    let (outbound, outbound_receiver) = mpsc::unbounded_channel();
    let (closed, closed_receiver) = oneshot::channel();
    tokio::spawn(write_loop(writer, outbound_receiver, closed));
    if context
        .messages
        .send(Message::Register {
            conn,
            peer,
            outbound,
        })
        .await
        .is_err()
    {
        return;
    }
    if let Some(subject) = certificate_subject {
        let input = Input::CertificateSubject { conn, subject };
        if context.messages.send(Message::Input(input)).await.is_err() {
            return;
        }
    }
    read_loop(
        &mut reader,
        buffer,
        peer,
        conn,
        &context,
        closed_receiver,
        handshake_deadline,
    )
    .await;
    let _ = context
        .messages
        .send(Message::Input(Input::Closed { conn }))
        .await;
}

async fn serve_four_letter_word<W: AsyncWrite + Unpin>(
    word: &str,
    peer: SocketAddr,
    writer: &mut W,
    context: &NetContext,
) {
    let text = if !is_enabled(&context.four_letter_words_allowed, word) {
        tracing::debug!(%peer, "Command {word} is not executed because it is not in the whitelist.");
        not_whitelisted(word)
    } else {
        tracing::info!(%peer, "Processing {word} command from {peer}");
        let host = if needs_host_facts(word) {
            context.host_probe.sample().await
        } else {
            HostFacts::default()
        };
        let (reply, answer) = oneshot::channel();
        let message = Message::FourLetter {
            word: word.to_string(),
            peer,
            host,
            reply,
        };
        if context.messages.send(message).await.is_err() {
            return;
        }
        answer.await.unwrap_or_default()
    };
    let _ = writer.write_all(text.as_bytes()).await;
    let _ = writer.shutdown().await;
}

async fn read_loop<R: AsyncRead + Unpin>(
    reader: &mut R,
    mut buffer: BytesMut,
    peer: SocketAddr,
    conn: ConnectionId,
    context: &NetContext,
    mut closed: oneshot::Receiver<()>,
    handshake_deadline: tokio::time::Instant,
) {
    let frame_bytes_max = context.frame_bytes_max;
    let mut connected = false;
    loop {
        match frame::check(&buffer, frame_bytes_max) {
            Ok(body_bytes) => {
                let body = frame::body(&buffer, body_bytes);
                let input = if connected {
                    match Request::read_with_header(&mut Decoder::new(body, frame_bytes_max)) {
                        Ok((header, request)) => Input::Request {
                            conn,
                            header,
                            request,
                        },
                        Err(error) => {
                            if let Some(occurrences) = crate::warn_limit::occurrence(
                                "zk-bad-request",
                                &peer.ip().to_string(),
                            ) {
                                tracing::warn!(%peer, %error, occurrences, "Closing connection to {peer}: a request that does not decode");
                            }
                            return;
                        }
                    }
                } else {
                    match frame::decode_body::<ConnectRequest>(body, frame_bytes_max) {
                        Ok(request) => {
                            connected = true;
                            Input::Connect { conn, request }
                        }
                        Err(error) => {
                            if let Some(occurrences) = crate::warn_limit::occurrence(
                                "zk-bad-connect",
                                &peer.ip().to_string(),
                            ) {
                                tracing::warn!(%peer, %error, occurrences, "Closing connection to {peer}: a ConnectRequest that does not decode");
                            }
                            return;
                        }
                    }
                };
                buffer.advance(FRAME_LENGTH_BYTES + body_bytes);
                if context.messages.send(Message::Input(input)).await.is_err() {
                    return;
                }
            }
            Err(JuteError::Incomplete { .. }) => {
                // Only the handshake has a deadline; afterwards the session
                // timeout governs.
                tokio::select! {
                    _ = tokio::time::sleep_until(handshake_deadline), if !connected => {
                        tracing::info!(%peer, "closing a connection whose ConnectRequest did not come in {:?}", context.sessionless_timeout);
                        return;
                    }
                    read = reader.read_buf(&mut buffer) => match read {
                        Ok(0) => return,
                        Ok(_) => {}
                        Err(error) => {
                            tracing::debug!(%peer, %error, "read failed");
                            return;
                        }
                    },
                    _ = &mut closed => return,
                }
            }
            Err(_) => {
                let length = i32::from_be_bytes([buffer[0], buffer[1], buffer[2], buffer[3]]);
                let Some(occurrences) =
                    crate::warn_limit::occurrence("zk-frame-size", &peer.ip().to_string())
                else {
                    return;
                };
                tracing::warn!(
                    %peer,
                    length,
                    occurrences,
                    "Len error. A message from {peer} with advertised length of {length} is either a malformed message or too large to process (length is greater than jute.maxbuffer={frame_bytes_max})"
                );
                return;
            }
        }
    }
}

/// Writes what the pipeline queues, gathering queued frames into one write.
async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut outbound: mpsc::UnboundedReceiver<Outbound>,
    closed: oneshot::Sender<()>,
) {
    let mut batch = Vec::with_capacity(4096);
    'outer: while let Some(first) = outbound.recv().await {
        let mut next = Some(first);
        let mut close = false;
        while let Some(message) = next.take() {
            match message {
                Outbound::Frame(frame) => batch.extend_from_slice(&frame),
                Outbound::Close => {
                    close = true;
                    break;
                }
            }
            if batch.len() < WRITE_BATCH_BYTES_MAX {
                next = outbound.try_recv().ok();
            }
        }
        // flush: a no-op on TCP, the end of a record on TLS.
        if !batch.is_empty()
            && (writer.write_all(&batch).await.is_err() || writer.flush().await.is_err())
        {
            break 'outer;
        }
        batch.clear();
        if close {
            break;
        }
    }
    let _ = writer.shutdown().await;
    let _ = closed.send(());
}
