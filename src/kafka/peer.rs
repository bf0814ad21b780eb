//! A connection from this broker to another broker, for the requests a broker sends
//! its peers: a follower's Fetch / ListOffsets / OffsetForLeaderEpoch to its leader
//! (the kafka-protocol crate's messages) and AlterPartition to the controller (the
//! inter-broker codecs). One request at a time, no ApiVersions first: Kafka's
//! replica fetcher and controller channels pin their versions from the
//! inter-broker protocol version rather than negotiate them.
//!
//! `PeerStream` is the byte stream of such a connection (and of the controller's
//! channels): TCP, or TLS over it when the inter-broker listener is SSL or SASL_SSL.

use std::io;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use crate::kafka::protocol::inter_broker::{self, InterBrokerRequest, InterBrokerResponse};
use crate::kafka::security::sasl::client_login;
use crate::kafka::security::{ClientLogin, InterBrokerClient};
use crate::tls::TlsClient;

/// Largest response frame accepted from a peer: a follower's Fetch is bounded by
/// `replica.fetch.response.max.bytes` (10 MiB by default) plus framing; anything
/// above this bound is a broken peer.
const RESPONSE_BYTES_MAX: usize = 256 * 1024 * 1024;

/// A connection to another broker: TCP, or TLS over TCP.
pub enum PeerStream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl PeerStream {
    /// Connects to `host:port` within `timeout_ms`, completing the TLS handshake
    /// when `tls` is given (the server's certificate checked against `host`, unless
    /// the client's settings turn host-name checks off).
    pub async fn connect(
        host: &str,
        port: u16,
        tls: Option<&TlsClient>,
        timeout_ms: u64,
    ) -> anyhow::Result<PeerStream> {
        let connecting = async {
            let stream = TcpStream::connect((host, port))
                .await
                .with_context(|| format!("connecting to {host}:{port}"))?;
            let _ = stream.set_nodelay(true);
            match tls {
                None => Ok(PeerStream::Plain(stream)),
                Some(tls) => {
                    let name = rustls::pki_types::ServerName::try_from(host.to_string())
                        .with_context(|| format!("{host} is not a host name TLS can check"))?;
                    let connector = tokio_rustls::TlsConnector::from(tls.0.clone());
                    let stream = connector
                        .connect(name, stream)
                        .await
                        .with_context(|| format!("TLS handshake with {host}:{port}"))?;
                    Ok(PeerStream::Tls(Box::new(stream)))
                }
            }
        };
        tokio::time::timeout(Duration::from_millis(timeout_ms), connecting)
            .await
            .map_err(|_| anyhow!("connecting to {host}:{port} timed out"))?
    }
}

impl AsyncRead for PeerStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PeerStream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            PeerStream::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PeerStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PeerStream::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            PeerStream::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PeerStream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            PeerStream::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PeerStream::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            PeerStream::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}

pub struct PeerConnection {
    stream: PeerStream,
    next_correlation_id: i32,
    client_id: String,
    /// The SASL login of a SASL inter-broker listener.
    login: Option<ClientLogin>,
    /// When to log in again (KIP-368): at 85% of the session the peer granted,
    /// as Kafka's clients do, before the peer closes an expired connection.
    reauthenticate_at: Option<Instant>,
}

/// When to re-authenticate a session of `lifetime_ms` that began `now`.
pub fn reauthentication_deadline(now: Instant, lifetime_ms: i64) -> Option<Instant> {
    (lifetime_ms > 0).then(|| now + Duration::from_millis((lifetime_ms as u64) * 85 / 100))
}

impl PeerConnection {
    /// Connects within `timeout_ms` (TLS and a SASL login as `client` says). `client_id` is
    /// what Kafka's brokers send: the sender's broker id (for the controller) or a
    /// fetcher name.
    pub async fn connect(
        host: &str,
        port: u16,
        client_id: String,
        client: &InterBrokerClient,
        timeout_ms: u64,
    ) -> anyhow::Result<PeerConnection> {
        let stream = PeerStream::connect(host, port, client.tls.as_ref(), timeout_ms).await?;
        let mut connection = PeerConnection {
            stream,
            next_correlation_id: 0,
            client_id,
            login: client.login.clone(),
            reauthenticate_at: None,
        };
        connection.log_in(timeout_ms).await?;
        Ok(connection)
    }

    /// Logs in (again) if the listener needs it.
    async fn log_in(&mut self, timeout_ms: u64) -> anyhow::Result<()> {
        let Some(login) = &self.login else {
            return Ok(());
        };
        let lifetime_ms = tokio::time::timeout(
            Duration::from_millis(timeout_ms),
            client_login(&mut self.stream, login, &self.client_id),
        )
        .await
        .map_err(|_| anyhow!("SASL login timed out after {timeout_ms} ms"))??;
        self.reauthenticate_at = reauthentication_deadline(Instant::now(), lifetime_ms);
        Ok(())
    }

    async fn reauthenticate_if_due(&mut self, timeout_ms: u64) -> anyhow::Result<()> {
        if self
            .reauthenticate_at
            .is_some_and(|due| Instant::now() >= due)
        {
            self.log_in(timeout_ms).await?;
        }
        Ok(())
    }

    fn correlation_id(&mut self) -> i32 {
        let id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        id
    }

    /// Sends one request of the crate's message types and reads its response.
    pub async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        request: &Req,
        timeout_ms: u64,
    ) -> anyhow::Result<Resp> {
        self.reauthenticate_if_due(timeout_ms).await?;
        let correlation_id = self.correlation_id();
        let mut header = RequestHeader::default();
        header.request_api_key = api_key as i16;
        header.request_api_version = version;
        header.correlation_id = correlation_id;
        header.client_id = Some(StrBytes::from_string(self.client_id.clone()));
        let mut frame = BytesMut::with_capacity(256);
        frame.put_i32(0);
        header.encode(&mut frame, api_key.request_header_version(version))?;
        request.encode(&mut frame, version)?;
        let mut body = self.round_trip(frame, timeout_ms).await?;
        let response_header =
            ResponseHeader::decode(&mut body, api_key.response_header_version(version))?;
        if response_header.correlation_id != correlation_id {
            bail!(
                "{api_key:?} response carries correlation id {} instead of {correlation_id}",
                response_header.correlation_id
            );
        }
        Resp::decode(&mut body, version)
    }

    /// Sends one request of the inter-broker codecs (AlterPartition,
    /// ControlledShutdown) and reads its response.
    pub async fn call_inter_broker(
        &mut self,
        version: i16,
        request: &InterBrokerRequest,
        timeout_ms: u64,
    ) -> anyhow::Result<InterBrokerResponse> {
        self.reauthenticate_if_due(timeout_ms).await?;
        let correlation_id = self.correlation_id();
        let api = request.api();
        let header = inter_broker::RequestHeader {
            request_api_key: api.key(),
            request_api_version: version,
            correlation_id,
            client_id: Some(self.client_id.clone()),
            unknown_tagged_fields: Vec::new(),
        };
        let mut frame = BytesMut::with_capacity(256);
        frame.put_i32(0);
        inter_broker::encode_request(&header, request, &mut frame)?;
        let body = self.round_trip(frame, timeout_ms).await?;
        let (response_header, response) = inter_broker::decode_response(api, version, &body)?;
        if response_header.correlation_id != correlation_id {
            bail!(
                "{api:?} response carries correlation id {} instead of {correlation_id}",
                response_header.correlation_id
            );
        }
        Ok(response)
    }

    /// Writes a frame whose first four bytes are a length placeholder and reads the
    /// response frame's body.
    async fn round_trip(&mut self, mut frame: BytesMut, timeout_ms: u64) -> anyhow::Result<Bytes> {
        let length = (frame.len() - 4) as i32;
        frame[..4].copy_from_slice(&length.to_be_bytes());
        let exchange = async {
            self.stream.write_all(&frame).await?;
            self.stream.flush().await?;
            let length = self.stream.read_i32().await?;
            if length < 0 || length as usize > RESPONSE_BYTES_MAX {
                bail!("peer sent a response frame of {length} bytes");
            }
            let mut body = vec![0u8; length as usize];
            self.stream.read_exact(&mut body).await?;
            Ok(Bytes::from(body))
        };
        match tokio::time::timeout(Duration::from_millis(timeout_ms), exchange).await {
            Ok(result) => result,
            Err(_) => bail!("no response within {timeout_ms} ms"),
        }
    }
}

/// Drops a trailing partial batch: a leader may cut the last batch of a Fetch at its
/// byte limit (Kafka's FileRecords slice does), which a follower must not append.
pub fn whole_batches(mut records: Bytes) -> Bytes {
    let mut position = 0usize;
    let mut cursor = &records[..];
    while cursor.remaining() >= 12 {
        let length = i32::from_be_bytes([cursor[8], cursor[9], cursor[10], cursor[11]]);
        if length < 0 {
            break;
        }
        let total = 12 + length as usize;
        if cursor.remaining() < total {
            break;
        }
        position += total;
        cursor.advance(total);
    }
    records.truncate(position);
    records
}
