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
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

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
#[derive(Debug)]
enum LinkCommand {
    /// A connection the peer (with the higher id) initiated.
    Accepted(TcpStream),
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
    ) -> ElectionNet {
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
            };
            tokio::spawn(link.run());
        }
        tokio::spawn(accept_loop(my_id, listener, commands.clone(), stop));
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
) {
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
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let mut stream = stream;
            let header = match tokio::time::timeout(CONNECT_TIMEOUT, read_header(&mut stream)).await
            {
                Ok(Ok(header)) => header,
                Ok(Err(error)) => {
                    tracing::warn!(peer = %address, %error, "election connection refused: bad header");
                    return;
                }
                Err(_) => {
                    tracing::warn!(peer = %address, "election connection refused: no header in time");
                    return;
                }
            };
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
                let _ = link.send(LinkCommand::Accepted(stream));
            }
        });
    }
}

async fn read_header(stream: &mut TcpStream) -> anyhow::Result<InitialMessage> {
    let mut buffer = Vec::with_capacity(64);
    loop {
        match decode_initial_message(&buffer)? {
            Decoded::Complete { value, .. } => return Ok(value),
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
}

impl Link {
    async fn run(mut self) {
        let mut stream: Option<TcpStream> = None;
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
                        Some(LinkCommand::Accepted(accepted)) => stream = Some(accepted),
                        Some(LinkCommand::DialBack) => stream = self.dial().await,
                        None => return,
                    },
                    _ = self.stop.changed() => return,
                }
                continue;
            };
            // A connection: send the newest message at once (Apache resends the
            // last one on every new connection), then whatever comes.
            stream = self.serve(connected).await;
        }
    }

    /// Dials the peer. With the higher id we keep the connection; with the
    /// lower id we only say who we are and hang up, so the peer dials back.
    async fn dial(&mut self) -> Option<TcpStream> {
        for address in &self.addresses {
            let connect = TcpStream::connect((address.host.as_str(), address.port));
            let Ok(Ok(mut stream)) = tokio::time::timeout(CONNECT_TIMEOUT, connect).await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            if stream.write_all(&self.header).await.is_err() {
                continue;
            }
            if self.peer > self.my_id {
                // The peer will close this and dial back (Apache's rule).
                let _ = stream.shutdown().await;
                return None;
            }
            return Some(stream);
        }
        None
    }

    /// Runs one connection until it fails or a newer one replaces it; returns
    /// the replacement, if any.
    async fn serve(&mut self, stream: TcpStream) -> Option<TcpStream> {
        let (mut reader, mut writer) = stream.into_split();
        let first = self.latest.borrow_and_update().clone();
        if let Some(frame) = first {
            if writer.write_all(&frame).await.is_err() {
                return None;
            }
        }
        let mut buffer = Vec::with_capacity(READ_CHUNK_BYTES);
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
                    loop {
                        match check_election_frame(&buffer) {
                            ElectionFrame::Incomplete => break,
                            ElectionFrame::Invalid(length) => {
                                tracing::warn!(peer = self.peer.0, length, "election frame length out of bounds; closing the connection");
                                return None;
                            }
                            ElectionFrame::Complete(length) => {
                                let body = buffer[4..4 + length].to_vec();
                                buffer.drain(..4 + length);
                                match decode_notification(&body) {
                                    Ok(notification) => {
                                        let _ = self.received.send(Received { from: self.peer, notification });
                                    }
                                    Err(error) => {
                                        tracing::warn!(peer = self.peer.0, %error, "malformed notification skipped");
                                    }
                                }
                            }
                        }
                    }
                }
                command = self.commands.recv() => match command {
                    Some(LinkCommand::Accepted(accepted)) => return Some(accepted),
                    Some(LinkCommand::DialBack) => {}
                    None => return None,
                },
                _ = self.stop.changed() => return None,
            }
        }
    }
}
