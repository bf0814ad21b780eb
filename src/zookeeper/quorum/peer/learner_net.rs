//! The learner port's connections: a leader accepts one connection per learner
//! (whose first packet, FOLLOWERINFO or OBSERVERINFO, names it); a learner
//! keeps one to its leader. Both carry QuorumPackets back to back with no
//! framing; after a SNAP the leader's side carries the snapshot stream inline.
//! Tasks here only move bytes: every decision is the Zab core's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use super::quorum_auth;
use super::transport::{self, QuorumSecurity, QuorumWriter};

use crate::zookeeper::config::HostPort;
use crate::zookeeper::quorum::message::{QuorumMessage, ServerId};
use crate::zookeeper::quorum::wire::{
    decode_quorum_message, Decoded, Direction, NetworkSnapshot, SnapshotFeed,
    SnapshotStreamDecoder, WireError,
};
use crate::zookeeper::tree::{TreeConfig, Zxid};

const READ_CHUNK_BYTES: usize = 64 * 1024;
/// Between two dials of a leader not yet listening.
const LEADER_CONNECT_RETRY_MS: u64 = 100;
/// A learner's TLS handshake on the leader's port: a peer that stalls in it holds
/// only its own task, and not for longer than this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection's id: events of a replaced connection are told apart by it.
pub type LinkId = u64;

static NEXT_LINK_ID: AtomicU64 = AtomicU64::new(1);

/// What the learner-port tasks report to the peer's main loop.
#[derive(Debug)]
pub enum LinkEvent {
    /// Leader side: a learner introduced itself (its first packet follows as a
    /// `Message`).
    LearnerConnected {
        peer: ServerId,
        link: LinkId,
        writer: mpsc::UnboundedSender<Vec<u8>>,
        /// Sending `true` (or dropping it) closes the connection: the learner
        /// sees the close at once, as Apache's LearnerHandler.shutdown gives it.
        close: watch::Sender<bool>,
    },
    /// Learner side: connected to the leader.
    LeaderConnected {
        leader: ServerId,
        link: LinkId,
        writer: mpsc::UnboundedSender<Vec<u8>>,
    },
    Message {
        peer: ServerId,
        link: LinkId,
        message: QuorumMessage,
    },
    /// Learner side: the snapshot stream after a SNAP, fully read.
    Snapshot {
        peer: ServerId,
        link: LinkId,
        zxid: Zxid,
        snapshot: Box<NetworkSnapshot>,
    },
    Closed {
        peer: ServerId,
        link: LinkId,
    },
}

/// Leader side: accepts learners until `stop` turns true.
pub async fn accept_learners(
    listener: TcpListener,
    buffer_bytes_max: usize,
    events: mpsc::UnboundedSender<LinkEvent>,
    mut stop: watch::Receiver<bool>,
    security: QuorumSecurity,
) {
    let QuorumSecurity { tls, sasl } = security;
    loop {
        let (stream, address) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "learner port accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let events = events.clone();
        let stop = stop.clone();
        let tls = tls.clone();
        let sasl = sasl.clone();
        tokio::spawn(async move {
            let mut stream =
                match transport::accept(tls.as_ref(), stream, address, HANDSHAKE_TIMEOUT).await {
                    Ok(stream) => stream,
                    Err(error) => {
                        transport::warn_refused(
                            "zk-quorum-tls",
                            address,
                            "learner connection refused: TLS",
                            &error,
                        );
                        return;
                    }
                };
            let mut buffered = Vec::new();
            if let Some(sasl) = &sasl {
                let exchange = quorum_auth::authenticate_peer_within(
                    &mut stream,
                    &mut buffered,
                    sasl,
                    HANDSHAKE_TIMEOUT,
                );
                if let Err(error) = exchange.await {
                    transport::warn_refused(
                        "zk-quorum-sasl",
                        address,
                        "learner connection refused: quorum SASL",
                        &error,
                    );
                    return;
                }
            }
            let link = NEXT_LINK_ID.fetch_add(1, Ordering::Relaxed);
            let (reader, writer) = tokio::io::split(stream);
            let (writer_sender, writer_receiver) = mpsc::unbounded_channel();
            tokio::spawn(write_loop(writer, writer_receiver));
            buffered.reserve(READ_CHUNK_BYTES);
            let mut connection = Reader {
                reader,
                buffer: buffered,
                direction: Direction::FromLearner,
                buffer_bytes_max,
            };
            let mut peer = None;
            let mut stop = stop;
            let (close, mut closed) = watch::channel(false);
            let mut close = Some(close);
            loop {
                let message = tokio::select! {
                    message = connection.next_message() => message,
                    _ = stop.changed() => break,
                    _ = closed.changed(), if close.is_none() => break,
                };
                let message = match message {
                    Ok(Some(message)) => message,
                    Ok(None) => break,
                    Err(error) => {
                        tracing::warn!(peer = %address, %error, "learner connection closed: bad packet");
                        break;
                    }
                };
                let from = match (peer, &message) {
                    (Some(peer), _) => peer,
                    (
                        None,
                        QuorumMessage::FollowerInfo { info, .. }
                        | QuorumMessage::ObserverInfo { info, .. },
                    ) => {
                        let from = info.server_id;
                        peer = Some(from);
                        let _ = events.send(LinkEvent::LearnerConnected {
                            peer: from,
                            link,
                            writer: writer_sender.clone(),
                            close: close.take().expect("the first packet is seen once"),
                        });
                        from
                    }
                    (None, _) => {
                        tracing::warn!(peer = %address, "learner connection closed: the first packet must be FOLLOWERINFO or OBSERVERINFO");
                        break;
                    }
                };
                let _ = events.send(LinkEvent::Message {
                    peer: from,
                    link,
                    message,
                });
            }
            // Dropping the last writer ends the write loop, which shuts the socket.
            drop(writer_sender);
            if let Some(peer) = peer {
                let _ = events.send(LinkEvent::Closed { peer, link });
            }
        });
    }
}

/// Learner side: connects to the leader (retrying for `connect_time_ms`),
/// then reads until the connection ends or `stop` turns true.
// Each argument is a separate input of the learner's link (who, where, how long,
// how big, how to rebuild a snapshot, where to report, when to stop, how to protect
// it); a struct for them would only be unpacked again here.
#[allow(clippy::too_many_arguments)]
pub async fn follow_leader(
    leader: ServerId,
    addresses: Vec<HostPort>,
    connect_time_ms: u64,
    buffer_bytes_max: usize,
    tree_config: TreeConfig,
    events: mpsc::UnboundedSender<LinkEvent>,
    mut stop: watch::Receiver<bool>,
    security: QuorumSecurity,
) {
    let QuorumSecurity { tls, sasl } = security;
    let link = NEXT_LINK_ID.fetch_add(1, Ordering::Relaxed);
    let deadline = tokio::time::Instant::now() + Duration::from_millis(connect_time_ms);
    let stream = loop {
        let mut connected = None;
        for address in &addresses {
            match transport::connect(
                tls.as_ref(),
                &address.host,
                address.port,
                Duration::from_millis(connect_time_ms.max(1000)),
            )
            .await
            {
                Ok(stream) => {
                    connected = Some(stream);
                    break;
                }
                // A refused handshake is worth a line: it will not heal by retrying.
                Err(error)
                    if tls.is_some() && error.kind() != std::io::ErrorKind::ConnectionRefused =>
                {
                    tracing::warn!(leader = leader.0, %error, "TLS connection to the leader failed");
                }
                Err(_) => {}
            }
        }
        if let Some(stream) = connected {
            break stream;
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(leader = leader.0, "could not connect to the leader");
            let _ = events.send(LinkEvent::Closed { peer: leader, link });
            return;
        }
        // Apache's zookeeper.leaderConnectDelayDuringRetryMs default: a new
        // leader is often a moment from listening when its followers first dial.
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(LEADER_CONNECT_RETRY_MS)) => {}
            _ = stop.changed() => return,
        }
    };
    let mut stream = stream;
    let mut buffered = Vec::new();
    if let Some(sasl) = &sasl {
        let exchange = quorum_auth::authenticate_to_peer(&mut stream, sasl);
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, exchange).await {
            Ok(Ok(rest)) => buffered = rest,
            outcome => {
                let error = match outcome {
                    Ok(Err(error)) => error.to_string(),
                    _ => "no SASL exchange in time".to_string(),
                };
                tracing::warn!(leader = leader.0, %error, "quorum SASL login to the leader failed");
                let _ = events.send(LinkEvent::Closed { peer: leader, link });
                return;
            }
        }
    }
    let (reader, writer) = tokio::io::split(stream);
    let (writer_sender, writer_receiver) = mpsc::unbounded_channel();
    tokio::spawn(write_loop(writer, writer_receiver));
    let _ = events.send(LinkEvent::LeaderConnected {
        leader,
        link,
        writer: writer_sender,
    });
    buffered.reserve(READ_CHUNK_BYTES);
    let mut connection = Reader {
        reader,
        buffer: buffered,
        direction: Direction::FromLeader,
        buffer_bytes_max,
    };
    loop {
        let message = tokio::select! {
            message = connection.next_message() => message,
            _ = stop.changed() => break,
        };
        match message {
            Ok(Some(QuorumMessage::Snap { zxid })) => {
                let _ = events.send(LinkEvent::Message {
                    peer: leader,
                    link,
                    message: QuorumMessage::Snap { zxid },
                });
                let snapshot = tokio::select! {
                    snapshot = connection.read_snapshot(tree_config.clone()) => snapshot,
                    _ = stop.changed() => break,
                };
                match snapshot {
                    Ok(snapshot) => {
                        let _ = events.send(LinkEvent::Snapshot {
                            peer: leader,
                            link,
                            zxid,
                            snapshot: Box::new(snapshot),
                        });
                    }
                    Err(error) => {
                        tracing::warn!(leader = leader.0, %error, "the leader's snapshot stream is broken; closing");
                        break;
                    }
                }
            }
            Ok(Some(message)) => {
                let _ = events.send(LinkEvent::Message {
                    peer: leader,
                    link,
                    message,
                });
            }
            Ok(None) => break,
            Err(error) => {
                tracing::warn!(leader = leader.0, %error, "leader connection closed: bad packet");
                break;
            }
        }
    }
    let _ = events.send(LinkEvent::Closed { peer: leader, link });
}

async fn write_loop(mut writer: QuorumWriter, mut packets: mpsc::UnboundedReceiver<Vec<u8>>) {
    while let Some(mut bytes) = packets.recv().await {
        // Packets queued meanwhile go out in the same write.
        while let Ok(more) = packets.try_recv() {
            bytes.extend_from_slice(&more);
            if bytes.len() > READ_CHUNK_BYTES * 4 {
                break;
            }
        }
        if writer.write_all(&bytes).await.is_err() {
            return;
        }
    }
    let _ = writer.shutdown().await;
}

struct Reader {
    reader: transport::QuorumReader,
    buffer: Vec<u8>,
    direction: Direction,
    buffer_bytes_max: usize,
}

impl Reader {
    /// The next message; `None` at a clean end of stream. Packet types keel
    /// does not handle (reconfig) are skipped, as Apache logs and skips
    /// unknown ones.
    async fn next_message(&mut self) -> Result<Option<QuorumMessage>, WireError> {
        loop {
            match decode_quorum_message(&self.buffer, self.direction, self.buffer_bytes_max) {
                Ok(Decoded::Complete { value, consumed }) => {
                    self.buffer.drain(..consumed);
                    return Ok(Some(value));
                }
                Ok(Decoded::Incomplete) => {}
                Err(WireError::Unsupported {
                    packet_type,
                    consumed,
                })
                | Err(WireError::UnknownPacketType {
                    packet_type,
                    consumed,
                }) => {
                    tracing::warn!(
                        packet_type,
                        "skipping a learner-port packet keel does not handle"
                    );
                    self.buffer.drain(..consumed);
                    continue;
                }
                Err(error) => return Err(error),
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Reads more bytes; false at the end of the stream.
    async fn fill(&mut self) -> Result<bool, WireError> {
        let start = self.buffer.len();
        self.buffer.resize(start + READ_CHUNK_BYTES, 0);
        let read = self.reader.read(&mut self.buffer[start..]).await;
        match read {
            Ok(read) => {
                self.buffer.truncate(start + read);
                Ok(read > 0)
            }
            Err(error) => {
                self.buffer.truncate(start);
                Err(WireError::Malformed(format!("read failed: {error}")))
            }
        }
    }

    async fn read_snapshot(
        &mut self,
        tree_config: TreeConfig,
    ) -> Result<NetworkSnapshot, WireError> {
        let mut decoder = SnapshotStreamDecoder::new(tree_config, self.buffer_bytes_max);
        loop {
            if !self.buffer.is_empty() {
                let chunk = std::mem::take(&mut self.buffer);
                match decoder.feed(&chunk)? {
                    SnapshotFeed::Done { consumed } => {
                        self.buffer = chunk[consumed..].to_vec();
                        return decoder.finish();
                    }
                    SnapshotFeed::NeedMore => {}
                }
            }
            if !self.fill().await? {
                return Err(WireError::Malformed(
                    "the snapshot stream ended early".into(),
                ));
            }
        }
    }
}
