//! The election port's connections, as Apache's `QuorumCnxManager` keeps them:
//! one connection per pair of servers, the one the higher id initiated; a send
//! queue of one message per peer (only the newest notification matters), resent
//! whenever a connection (re)starts; frames of `int length` + notification.
//!
//! A server with the lower id that has something to say and no connection dials
//! the peer, sends its header and hangs up: the peer (as Apache's acceptor does)
//! closes that socket and dials back, and that connection carries both ways.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use super::quorum_auth::{self, QuorumSasl};
use super::transport::{self, QuorumSecurity, QuorumStream};
use crate::zookeeper::tls::QuorumTls;

use crate::zookeeper::config::HostPort;
use crate::zookeeper::quorum::message::{InitialMessage, Notification, ServerId};
use crate::zookeeper::quorum::wire::{
    check_election_frame, decode_initial_message, decode_notification, encode_initial_message,
    encode_notification_frame, Decoded, ElectionFrame, PROTOCOL_VERSION_V1,
};

/// Apache's `zookeeper.cnxTimeout` default: connect and handshake time limit.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Between two dials of the same peer while it stays unreachable.
const REDIAL_INTERVAL: Duration = Duration::from_millis(500);
/// Read buffer growth step.
const READ_CHUNK_BYTES: usize = 8 * 1024;

/// A notification that arrived, and from whom.
#[derive(Debug)]
pub struct Received {
    pub from: ServerId,
    pub notification: Notification,
}

/// What a peer's link task is told besides "send the newest".
enum LinkCommand {
    /// A connection the peer (with the higher id) initiated, and the bytes that
    /// came after its header in the same reads (the start of its first frame).
    Accepted(QuorumStream, Vec<u8>),
    /// The peer dialed us although it has the lower id: dial it back.
    DialBack,
}

/// The election connections of one server.
pub struct ElectionNet {
    outboxes: BTreeMap<ServerId, watch::Sender<Option<Arc<Vec<u8>>>>>,
    commands: BTreeMap<ServerId, mpsc::UnboundedSender<LinkCommand>>,
}

impl ElectionNet {
    /// Binds nothing: `listener` is the bound election port. Spawns the
    /// acceptor and one link task per peer; notifications go to `received`.
    pub fn start(
        my_id: ServerId,
        my_address: &HostPort,
        listener: TcpListener,
        peers: BTreeMap<ServerId, Vec<HostPort>>,
        received: mpsc::UnboundedSender<Received>,
        stop: watch::Receiver<bool>,
        security: QuorumSecurity,
    ) -> ElectionNet {
        let QuorumSecurity { tls, sasl } = security;
        let header = encode_initial_message(&InitialMessage {
            protocol_version: Some(PROTOCOL_VERSION_V1),
            server_id: my_id,
            election_addresses: vec![crate::zookeeper::quorum::wire::election_address_string(
                my_address,
            )],
        })
        .expect("our own address fits the header");
        let header = Arc::new(header);
        let mut outboxes = BTreeMap::new();
        let mut commands = BTreeMap::new();
        for (peer, addresses) in peers {
            if peer == my_id {
                continue;
            }
            let (outbox, latest) = watch::channel(None);
            let (command_sender, command_receiver) = mpsc::unbounded_channel();
            outboxes.insert(peer, outbox);
            commands.insert(peer, command_sender);
            let link = Link {
                my_id,
                peer,
                addresses,
                header: header.clone(),
                latest,
                commands: command_receiver,
                received: received.clone(),
                stop: stop.clone(),
                tls: tls.clone(),
                sasl: sasl.clone(),
            };
            tokio::spawn(link.run());
        }
        tokio::spawn(accept_loop(
            my_id,
            listener,
            commands.clone(),
            stop,
            QuorumSecurity { tls, sasl },
        ));
        ElectionNet { outboxes, commands }
    }

    /// Queues `notification` for `to`, replacing whatever was not sent yet.
    pub fn send(&self, to: ServerId, notification: &Notification) {
        let Some(outbox) = self.outboxes.get(&to) else {
            tracing::warn!(peer = %to, "no election link to a server outside the configuration");
            return;
        };
        match encode_notification_frame(notification) {
            Ok(frame) => {
                let _ = outbox.send(Some(Arc::new(frame)));
            }
            Err(error) => tracing::error!(%error, "cannot encode a notification"),
        }
    }

    /// Apache's `connectAll`: dial every peer we have no connection with.
    pub fn connect_all(&self) {
        for outbox in self.outboxes.values() {
            // Re-marking the newest message as changed makes an idle link resend
            // it, which dials when it has no connection.
            outbox.send_modify(|_| {});
        }
        let _ = &self.commands;
    }
}

async fn accept_loop(
    my_id: ServerId,
    listener: TcpListener,
    links: BTreeMap<ServerId, mpsc::UnboundedSender<LinkCommand>>,
    mut stop: watch::Receiver<bool>,
    security: QuorumSecurity,
) {
    let QuorumSecurity { tls, sasl } = security;
    loop {
        let (stream, address) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "election port accept failed");
                    tokio::time::sleep(REDIAL_INTERVAL).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let links = links.clone();
        let tls = tls.clone();
        let sasl = sasl.clone();
        tokio::spawn(async move {
            let mut stream =
                match transport::accept(tls.as_ref(), stream, address, CONNECT_TIMEOUT).await {
                    Ok(stream) => stream,
                    Err(error) => {
                        transport::warn_refused(
                            "zk-quorum-tls",
                            address,
                            "election connection refused: TLS",
                            &error,
                        );
                        return;
                    }
                };
            let (header, after_header) = match tokio::time::timeout(
                CONNECT_TIMEOUT,
                read_header(&mut stream),
            )
            .await
            {
                Ok(Ok(read)) => read,
                Ok(Err(error)) => {
                    tracing::warn!(peer = %address, %error, "election connection refused: bad header");
                    return;
                }
                Err(_) => {
                    tracing::warn!(peer = %address, "election connection refused: no header in time");
                    return;
                }
            };
            let mut after_header = after_header;
            if let Some(sasl) = &sasl {
                let exchange = quorum_auth::authenticate_peer_within(
                    &mut stream,
                    &mut after_header,
                    sasl,
                    CONNECT_TIMEOUT,
                );
                if let Err(error) = exchange.await {
                    transport::warn_refused(
                        "zk-quorum-sasl",
                        address,
                        "election connection refused: quorum SASL",
                        &error,
                    );
                    return;
                }
            }
            let sid = header.server_id;
            if sid == my_id {
                tracing::warn!(peer = %address, "an election connection claims our own id; ignored");
                return;
            }
            let Some(link) = links.get(&sid) else {
                tracing::warn!(peer = %address, sid = sid.0, "election connection from a server id outside the configuration; closed");
                return;
            };
            if sid < my_id {
                // Apache keeps the connection the higher id initiated: close this
                // one and dial back.
                drop(stream);
                let _ = link.send(LinkCommand::DialBack);
            } else {
                let _ = link.send(LinkCommand::Accepted(stream, after_header));
            }
        });
    }
}

/// The header, and whatever followed it in the bytes read: a peer may send its
/// first notification right behind the header, and one read can return both.
async fn read_header(stream: &mut QuorumStream) -> anyhow::Result<(InitialMessage, Vec<u8>)> {
    let mut buffer = Vec::with_capacity(64);
    loop {
        match decode_initial_message(&buffer)? {
            Decoded::Complete { value, consumed } => {
                return Ok((value, buffer.split_off(consumed)));
            }
            Decoded::Incomplete => {
                let mut chunk = [0u8; 512];
                let read = stream.read(&mut chunk).await?;
                if read == 0 {
                    anyhow::bail!("closed before the header was complete");
                }
                buffer.extend_from_slice(&chunk[..read]);
            }
        }
    }
}

struct Link {
    my_id: ServerId,
    peer: ServerId,
    addresses: Vec<HostPort>,
    header: Arc<Vec<u8>>,
    latest: watch::Receiver<Option<Arc<Vec<u8>>>>,
    commands: mpsc::UnboundedReceiver<LinkCommand>,
    received: mpsc::UnboundedSender<Received>,
    stop: watch::Receiver<bool>,
    tls: Option<QuorumTls>,
    sasl: Option<QuorumSasl>,
}

impl Link {
    async fn run(mut self) {
        let mut stream: Option<(QuorumStream, Vec<u8>)> = None;
        loop {
            if *self.stop.borrow() {
                return;
            }
            let Some(connected) = stream.take() else {
                // No connection: wait until there is something to say, or a
                // command.
                tokio::select! {
                    changed = self.latest.changed() => {
                        if changed.is_err() { return; }
                        stream = self.dial().await;
                        if stream.is_none() {
                            tokio::time::sleep(REDIAL_INTERVAL).await;
                            // Keep the wish to talk alive for the next round.
                            self.latest.mark_changed();
                        }
                    }
                    command = self.commands.recv() => match command {
                        Some(LinkCommand::Accepted(accepted, after_header)) => {
                            stream = Some((accepted, after_header));
                        }
                        Some(LinkCommand::DialBack) => stream = self.dial().await,
                        None => return,
                    },
                    _ = self.stop.changed() => return,
                }
                continue;
            };
            // A connection: send the newest message at once (Apache resends the
            // last one on every new connection), then whatever comes.
            let (connected, received) = connected;
            stream = self.serve(connected, received).await;
        }
    }

    /// Dials the peer. With the higher id we keep the connection; with the
    /// lower id we only say who we are and hang up, so the peer dials back.
    async fn dial(&mut self) -> Option<(QuorumStream, Vec<u8>)> {
        for address in &self.addresses {
            let connect = transport::connect(
                self.tls.as_ref(),
                &address.host,
                address.port,
                CONNECT_TIMEOUT,
            );
            let mut stream = match connect.await {
                Ok(stream) => stream,
                Err(error) => {
                    if self.tls.is_some() {
                        tracing::debug!(peer = self.peer.0, %error, "election dial failed");
                    }
                    continue;
                }
            };
            if stream.write_all(&self.header).await.is_err() {
                continue;
            }
            let mut after_auth = Vec::new();
            if let Some(sasl) = &self.sasl {
                let exchange = quorum_auth::authenticate_to_peer(&mut stream, sasl);
                match tokio::time::timeout(CONNECT_TIMEOUT, exchange).await {
                    Ok(Ok(rest)) => after_auth = rest,
                    outcome => {
                        let error = match outcome {
                            Ok(Err(error)) => error.to_string(),
                            _ => "no SASL exchange in time".to_string(),
                        };
                        if let Some(occurrences) = crate::warn_limit::occurrence(
                            "zk-quorum-sasl",
                            &format!("{}:{}", address.host, address.port),
                        ) {
                            tracing::warn!(peer = self.peer.0, %error, occurrences, "quorum SASL login to a peer failed");
                        }
                        continue;
                    }
                }
            }
            if self.peer > self.my_id {
                // The peer will close this and dial back (Apache's rule).
                let _ = stream.shutdown().await;
                return None;
            }
            return Some((stream, after_auth));
        }
        None
    }

    /// Hands on every whole frame at the front of `buffer`; `false` when a frame's
    /// length is out of bounds (the connection is then closed).
    fn deliver_frames(&self, buffer: &mut Vec<u8>) -> bool {
        loop {
            match check_election_frame(buffer) {
                ElectionFrame::Incomplete => return true,
                ElectionFrame::Invalid(length) => {
                    tracing::warn!(
                        peer = self.peer.0,
                        length,
                        "election frame length out of bounds; closing the connection"
                    );
                    return false;
                }
                ElectionFrame::Complete(length) => {
                    let body = buffer[4..4 + length].to_vec();
                    buffer.drain(..4 + length);
                    match decode_notification(&body) {
                        Ok(notification) => {
                            let _ = self.received.send(Received {
                                from: self.peer,
                                notification,
                            });
                        }
                        Err(error) => {
                            tracing::warn!(peer = self.peer.0, %error, "malformed notification skipped");
                        }
                    }
                }
            }
        }
    }

    /// Runs one connection until it fails or a newer one replaces it; returns
    /// the replacement, if any. `received`: bytes of the peer's first frame
    /// already read with its header.
    async fn serve(
        &mut self,
        stream: QuorumStream,
        received: Vec<u8>,
    ) -> Option<(QuorumStream, Vec<u8>)> {
        let (mut reader, mut writer) = tokio::io::split(stream);
        let first = self.latest.borrow_and_update().clone();
        if let Some(frame) = first {
            if writer.write_all(&frame).await.is_err() {
                return None;
            }
        }
        let mut buffer = received;
        if !self.deliver_frames(&mut buffer) {
            return None;
        }
        buffer.reserve(READ_CHUNK_BYTES);
        let mut chunk = vec![0u8; READ_CHUNK_BYTES];
        loop {
            tokio::select! {
                changed = self.latest.changed() => {
                    if changed.is_err() { return None; }
                    let frame = self.latest.borrow_and_update().clone();
                    if let Some(frame) = frame {
                        if writer.write_all(&frame).await.is_err() {
                            return None;
                        }
                    }
                }
                read = reader.read(&mut chunk) => {
                    let read = match read {
                        Ok(0) | Err(_) => return None,
                        Ok(read) => read,
                    };
                    buffer.extend_from_slice(&chunk[..read]);
                    if !self.deliver_frames(&mut buffer) {
                        return None;
                    }
                }
                command = self.commands.recv() => match command {
                    Some(LinkCommand::Accepted(accepted, after_header)) => {
                        return Some((accepted, after_header));
                    }
                    Some(LinkCommand::DialBack) => {}
                    None => return None,
                },
                _ = self.stop.changed() => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zookeeper::quorum::message::{ServerState, Vote};
    use crate::zookeeper::tree::Zxid;

    /// Apache's initiator may send its first notification right behind its header;
    /// one read then returns both, and the notification must not be lost.
    #[tokio::test]
    async fn a_notification_read_together_with_the_header_is_delivered() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let my_address = HostPort {
            host: "127.0.0.1".to_string(),
            port: listener.local_addr().unwrap().port(),
        };
        // Server 2 (the higher id) never listens: our links never dial it back.
        let unused = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer_address = HostPort {
            host: "127.0.0.1".to_string(),
            port: unused.local_addr().unwrap().port(),
        };
        drop(unused);
        let (received_sender, mut received) = mpsc::unbounded_channel();
        let (_stop_sender, stop) = watch::channel(false);
        let _net = ElectionNet::start(
            ServerId(1),
            &my_address,
            listener,
            [(ServerId(2), vec![peer_address])].into(),
            received_sender,
            stop,
            QuorumSecurity::default(),
        );
        let notification = Notification {
            state: ServerState::Looking,
            vote: Vote {
                leader: ServerId(2),
                zxid: Zxid(7),
                election_epoch: 1,
                peer_epoch: 1,
            },
            version: 2,
            config: Some(Arc::from(&b"version=0"[..])),
        };
        let mut bytes = encode_initial_message(&InitialMessage {
            protocol_version: Some(PROTOCOL_VERSION_V1),
            server_id: ServerId(2),
            election_addresses: vec!["127.0.0.1:1".to_string()],
        })
        .unwrap();
        bytes.extend_from_slice(&encode_notification_frame(&notification).unwrap());
        let mut peer = tokio::net::TcpStream::connect((my_address.host.as_str(), my_address.port))
            .await
            .unwrap();
        peer.write_all(&bytes).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(10), received.recv())
            .await
            .expect("the notification arrives")
            .unwrap();
        assert_eq!(got.from, ServerId(2));
        assert_eq!(got.notification, notification);
    }
}
