//! An ensemble member (Apache's `QuorumPeer`): the tokio shell that joins
//! leader election (`election`), Zab (`zab`) and the request pipeline
//! (`server::core`) and moves their bytes and time. Nothing here decides: each
//! core's outputs are carried out in order, and disk completions, peer
//! messages and ticks are fed back as inputs.
//!
//! # Layout
//! - `election_net`: the election port's connections (QuorumCnxManager).
//! - `learner_net`: the learner port's connections, leader and learner side.
//!
//! The server's life: LOOKING (election) -> the Zab core's discovery and sync
//! with the elected leader (the tree lives in `Database` here, not yet serving
//! clients) -> serving (the tree moves into a `Core` in the leader or learner
//! role) -> back to LOOKING when Zab gives up, closing every client connection
//! as Apache does.

mod election_net;
mod learner_net;
pub mod quorum_auth;
mod transport;

use std::any::Any;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use self::election_net::{ElectionNet, Received};
use self::learner_net::{LinkEvent, LinkId};
use crate::zookeeper::config::{PeerType, ZooKeeperConfig};
use crate::zookeeper::jute::{Decoder, OpCode, Request, TxnBody, TxnEntry};
use crate::zookeeper::persistence::epoch::{
    read_epoch, write_epoch, ACCEPTED_EPOCH_FILE, CURRENT_EPOCH_FILE,
};
use crate::zookeeper::persistence::{self, truncate::truncate_log};
use crate::zookeeper::quorum::election::{ElectionAction, ElectionConfig, FastLeaderElection};
use crate::zookeeper::quorum::message::{Epoch, QuorumMessage, ServerId, ServerState};
use crate::zookeeper::quorum::wire::{self, encode_quorum_message, NetworkSnapshot};
use crate::zookeeper::quorum::zab::{self, Decision, EpochFile, ServingRole, Zab, ZabConfig};
use crate::zookeeper::server::commands::{
    admin_command, four_letter_word, LeaderStats, ServerInfo,
};
use crate::zookeeper::server::core::{Core, CoreConfig, Effect, Input, Role};
use crate::zookeeper::server::driver::{
    snapshot_may_step, snapshot_writer_drained, Clocks, Message, Outbound, SnapshotWriter,
};
use crate::zookeeper::server::host::HostProbe;
use crate::zookeeper::server::net::{self, NetContext};
use crate::zookeeper::server::sessions::ConnectionId;
use crate::zookeeper::server::storage::{
    run_log_writer, LogCommand, LogReport, SnapshotSink, Storage,
};
use crate::zookeeper::server::{disk::DiskStorage, tree_config};
use crate::zookeeper::tree::{DataTree, IdMap, SessionId, SnapshotCursor, TreeConfig, Zxid};

/// Messages the client queue holds before connections wait.
const CLIENT_QUEUE_MESSAGES_MAX: usize = 4096;
/// Apache's `znode.container.checkIntervalMs` default.
const CONTAINER_CHECK_INTERVAL: Duration = Duration::from_secs(60);
/// Apache's `znode.container.maxPerMinute` default.
const CONTAINER_DELETIONS_PER_PASS_MAX: usize = 10_000;

/// The state while not serving: what Zab's sync phase reads and changes.
struct Database {
    tree: DataTree,
    sessions: BTreeMap<SessionId, i32>,
}

impl Database {
    /// Applies a committed txn during sync, keeping the session list as the
    /// pipeline would.
    fn apply(&mut self, txn: &TxnEntry) {
        let session = SessionId(txn.header.client_id);
        match &txn.body {
            TxnBody::CreateSession(create) => {
                self.sessions.insert(session, create.time_out);
            }
            _ if txn.op() == OpCode::CloseSession => {
                self.sessions.remove(&session);
            }
            _ => {}
        }
        let _ = self.tree.apply(txn);
    }
}

/// A snapshot received from the leader, handed through the Zab core (which
/// only passes it on) back to `LoadSnapshot`.
type SnapshotSlot = Mutex<Option<NetworkSnapshot>>;

/// What the tasks around the peer report.
enum Event {
    Election(Received),
    Link(LinkEvent),
    Log(LogReport),
    SnapshotDone(Option<String>),
}

/// Leader side: a learner's connection.
struct LearnerLink {
    link: LinkId,
    writer: mpsc::UnboundedSender<Vec<u8>>,
    /// Closes the connection when sent to or dropped.
    close: watch::Sender<bool>,
}

/// Bytes of node records one step of a learner's snapshot stream encodes
/// (as the pipeline's own snapshot steps: a fraction of a millisecond).
const SNAPSHOT_STREAM_STEP_BYTES: usize = 64 * 1024;

/// Leader side: the snapshot a learner is being sent after SNAP, encoded a
/// step at a time between other work so clients are served meanwhile (Apache's
/// LearnerHandler serialises it on the learner's own thread while commits go
/// on; the stream is as fuzzy as Apache's, and the learner replays every txn
/// after the SNAP packet's zxid over it). What the leader sends that learner
/// in the meantime waits behind the stream: the learner reads the snapshot
/// whole before the packets that follow it.
struct SnapshotStream {
    /// The learner connection it is written on; a newer connection ends it.
    link: LinkId,
    cursor: SnapshotCursor,
    head_acls: HashSet<i64>,
    held: Vec<Vec<u8>>,
}

/// The log writer thread of the current log session.
struct LogWriter {
    commands: std::sync::mpsc::Sender<LogCommand>,
    thread: std::thread::JoinHandle<()>,
}

struct Peer {
    config: ZooKeeperConfig,
    my_id: ServerId,
    tree_config: TreeConfig,
    clocks: Clocks,
    storage: DiskStorage,
    snapshots: Arc<dyn SnapshotSink>,
    election: FastLeaderElection,
    election_net: ElectionNet,
    zab: Zab,
    zab_inputs: VecDeque<zab::Input>,
    database: Option<Database>,
    core: Option<Core>,
    serving: Option<(ServingRole, Epoch)>,
    /// Monotonic milliseconds when this server last started serving.
    serving_since_ms: i64,
    /// Whether READY=1 went to the service manager (on the first serving).
    announced_ready: bool,
    info: ServerInfo,
    /// Leader side: each learner's current connection.
    learners: BTreeMap<ServerId, LearnerLink>,
    /// Leader side: snapshots being streamed to learners.
    snapshot_streams: BTreeMap<ServerId, SnapshotStream>,
    /// Learner side: the connection to the leader.
    leader_link: Option<(ServerId, LinkId, mpsc::UnboundedSender<Vec<u8>>)>,
    /// Stops the tasks of the current role (learner listener, leader link).
    role_stop: Option<watch::Sender<bool>>,
    log: Option<LogWriter>,
    snapshot_writer: Option<SnapshotWriter>,
    outbound: IdMap<ConnectionId, mpsc::UnboundedSender<Outbound>>,
    events: mpsc::UnboundedSender<Event>,
    link_events: mpsc::UnboundedSender<LinkEvent>,
    buffer_bytes_max: usize,
}

/// `keel zookeeper <zoo.cfg>` for an ensemble member: serves until `shutdown`
/// becomes true.
pub async fn run(config: ZooKeeperConfig, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let my_config_id = config.my_id.context("myid is not set")?;
    let my_id = ServerId(my_config_id.0 as i64);
    let me = config
        .servers
        .get(&my_config_id)
        .context("my id is not in the server list")?
        .clone();
    let clocks = Clocks::new();
    let tree_config = tree_config(&config);
    let mut storage = DiskStorage::from_config(&config);
    let recovered = storage.recover(tree_config.clone())?;
    let snapshots = storage.snapshots();
    let accepted_epoch = read_epoch(&config.data_dir, ACCEPTED_EPOCH_FILE)?.map(Epoch);
    let current_epoch = read_epoch(&config.data_dir, CURRENT_EPOCH_FILE)?.map(Epoch);

    let voters: Vec<ServerId> = config
        .servers
        .values()
        .filter(|server| server.peer_type == PeerType::Participant)
        .map(|server| ServerId(server.id.0 as i64))
        .collect();
    let observers: Vec<ServerId> = config
        .servers
        .values()
        .filter(|server| server.peer_type == PeerType::Observer)
        .map(|server| ServerId(server.id.0 as i64))
        .collect();
    let config_text: Arc<[u8]> = wire::quorum_config_string(&config.servers, 0)
        .into_bytes()
        .into();
    let mut zab_config = ZabConfig::new(my_id, voters.clone(), observers.clone());
    zab_config.tick_ms = config.tick_time_ms as u64;
    zab_config.init_limit_ticks = config.init_limit_ticks.unwrap_or(10) as u64;
    zab_config.sync_limit_ticks = config.sync_limit_ticks.unwrap_or(5) as u64;
    zab_config.quorum_verifier_text = Some(config_text.clone());
    let zab = Zab::new(
        zab_config,
        zab::Recovered {
            accepted_epoch,
            current_epoch,
            last_zxid: recovered.last_zxid,
            recent_txns: Vec::new(),
            // The log writer was stopped (everything fsynced) before reading.
            durable_zxid: None,
        },
    )
    .map_err(|error| anyhow::anyhow!("{error}"))?;
    let election = FastLeaderElection::new(
        ElectionConfig::new(my_id, voters, observers, config_text)
            .map_err(|error| anyhow::anyhow!("{error}"))?,
    );

    let (stop_sender, stop) = watch::channel(false);
    let (events, mut event_receiver) = mpsc::unbounded_channel();
    // Election notifications and link events reach the main loop as events.
    let (received_sender, mut received) = mpsc::unbounded_channel();
    let (link_events, mut link_receiver) = mpsc::unbounded_channel();
    {
        let election_events = events.clone();
        tokio::spawn(async move {
            while let Some(notification) = received.recv().await {
                if election_events.send(Event::Election(notification)).is_err() {
                    return;
                }
            }
        });
        let link_forward = events.clone();
        tokio::spawn(async move {
            while let Some(event) = link_receiver.recv().await {
                if link_forward.send(Event::Link(event)).is_err() {
                    return;
                }
            }
        });
    }

    let election_address = me
        .election_addresses
        .first()
        .context("no election address for this server")?
        .clone();
    let listen_host = if quorum_listen_on_all_ips(&config) {
        "0.0.0.0".to_string()
    } else {
        election_address.host.clone()
    };
    let election_listener = TcpListener::bind((listen_host.as_str(), election_address.port))
        .await
        .with_context(|| format!("binding the election port {election_address}"))?;
    let peers: BTreeMap<ServerId, Vec<_>> = config
        .servers
        .values()
        .map(|server| {
            (
                ServerId(server.id.0 as i64),
                server.election_addresses.clone(),
            )
        })
        .collect();
    let election_net = ElectionNet::start(
        my_id,
        &election_address,
        election_listener,
        peers,
        received_sender,
        stop.clone(),
        quorum_security(&config),
    );

    // The client port is bound from the start (Apache's connection factory
    // starts with the peer); connections are closed until the server serves.
    let client = config
        .client_address
        .as_ref()
        .context("clientPort is not set")?;
    let client_listener = TcpListener::bind((client.host.as_str(), client.port))
        .await
        .with_context(|| format!("binding the client port {client}"))?;
    let client_port = client_listener.local_addr()?.port();
    let (client_messages, mut client_receiver) = mpsc::channel(CLIENT_QUEUE_MESSAGES_MAX);
    let client_messages_for_admin = client_messages.clone();
    let host_probe = HostProbe {
        snapshot_dir: Some(config.data_dir.join("version-2")),
        log_dir: Some(config.data_log_dir.join("version-2")),
    };
    let context = Arc::new(NetContext::new(
        client_messages,
        host_probe.clone(),
        config.jute_max_buffer_bytes() as usize,
        config.four_letter_words_allowed(),
        config.client_connections_per_ip_max,
        config.client_connections_max,
        net::SESSIONLESS_CONNECTION_TIMEOUT_DEFAULT,
    ));
    net::serve_secure_client_port(&config, &context, &stop).await?;
    tokio::spawn(net::accept_loop(
        client_listener,
        context,
        stop.clone(),
        None,
    ));
    // The AdminServer and the metrics endpoint ask the same queue as clients'
    // four-letter words; answered "not currently serving" between elections.
    if config.admin_server_enabled() {
        let host = config
            .extra_properties
            .get("admin.serverAddress")
            .cloned()
            .unwrap_or_else(|| "0.0.0.0".to_string());
        let port = config.admin_server_port();
        // As QuorumPeer.start: an AdminServer that cannot bind (three servers of a
        // pseudo-cluster on the default 8080) is a warning, not a stop.
        match TcpListener::bind((host.as_str(), port)).await {
            Ok(admin) => {
                tracing::info!(
                    "Started AdminServer on address {host}, port {port} and command URL /commands"
                );
                tokio::spawn(crate::zookeeper::server::admin::admin_loop(
                    admin,
                    client_messages_for_admin.clone(),
                    host_probe.clone(),
                    stop.clone(),
                ));
            }
            Err(error) => {
                tracing::warn!(%error, "Problem starting AdminServer on {host}:{port}");
            }
        }
    }
    if let Some(endpoint) = crate::zookeeper::server::metrics::MetricsEndpoint::from_config(&config)
        .map_err(anyhow::Error::msg)?
    {
        crate::zookeeper::server::metrics::start(
            &endpoint,
            client_messages_for_admin.clone(),
            host_probe.clone(),
            stop.clone(),
        )
        .await?;
    }

    let started = clocks.now();
    let info = ServerInfo {
        client_port,
        snapshot_dir: Some(config.data_dir.join("version-2")),
        log_dir: Some(config.data_log_dir.join("version-2")),
        client_connections_per_ip_max: config.client_connections_per_ip_max,
        started_ms: started.now_ms,
        mode: "looking",
        server_id: my_id.0,
        leader: None,
        quorum_size: config
            .servers
            .values()
            .filter(|server| server.peer_type == crate::zookeeper::config::PeerType::Participant)
            .count(),
    };
    // jute.maxbuffer plus Apache's extrasize (which defaults to maxbuffer).
    let buffer_bytes_max = 2 * config.jute_max_buffer_bytes() as usize;
    let mut peer = Peer {
        my_id,
        tree_config,
        clocks,
        storage,
        snapshots,
        election,
        election_net,
        zab,
        zab_inputs: VecDeque::new(),
        database: Some(Database {
            tree: recovered.tree,
            sessions: recovered.sessions,
        }),
        core: None,
        serving: None,
        serving_since_ms: 0,
        announced_ready: false,
        info,
        learners: BTreeMap::new(),
        snapshot_streams: BTreeMap::new(),
        leader_link: None,
        role_stop: None,
        log: None,
        snapshot_writer: None,
        outbound: IdMap::default(),
        events,
        link_events,
        buffer_bytes_max,
        config,
    };
    peer.start_log_writer()?;
    tracing::info!(
        myid = my_id.0,
        client_port,
        "starting as an ensemble member; looking for a leader"
    );
    peer.start_looking();

    let tick_period = Duration::from_millis((peer.config.tick_time_ms as u64 / 2).max(1));
    let mut tick = tokio::time::interval(tick_period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut cleanup = tokio::time::interval(CONTAINER_CHECK_INTERVAL);
    cleanup.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutdown = shutdown;
    let result = loop {
        let election_deadline = peer.election.next_deadline_ms();
        let election_sleep = async {
            match election_deadline {
                Some(deadline_ms) => {
                    let now_ms = peer.now_ms();
                    tokio::time::sleep(Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
                        .await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            event = event_receiver.recv() => {
                let Some(event) = event else { break Ok(()) };
                if let Err(error) = peer.on_event(event) {
                    break Err(error);
                }
            }
            message = client_receiver.recv() => {
                let Some(message) = message else { break Ok(()) };
                peer.on_client_message(message);
            }
            _ = election_sleep => {
                let now_ms = peer.now_ms();
                let actions = peer.election.tick(now_ms);
                peer.on_election_actions(actions);
            }
            _ = tick.tick() => {
                peer.zab_inputs.push_back(zab::Input::Tick);
                if let Some(core) = peer.core.as_mut() {
                    core.handle(Input::Tick, peer.clocks.now());
                }
            }
            _ = cleanup.tick() => {
                if let Some(core) = peer.core.as_mut() {
                    core.handle(Input::CleanupContainers, peer.clocks.now());
                }
            }
            _ = std::future::ready(()), if snapshot_may_step(peer.core.as_ref(), peer.snapshot_writer.as_ref()) => {
                if let Some(core) = peer.core.as_mut() {
                    core.snapshot_step();
                }
            }
            _ = snapshot_writer_drained(peer.snapshot_writer.as_ref().map(SnapshotWriter::drained)),
                if peer.core.as_ref().is_some_and(Core::snapshot_pending)
                    && !snapshot_may_step(peer.core.as_ref(), peer.snapshot_writer.as_ref()) => {}
            _ = std::future::ready(()), if !peer.snapshot_streams.is_empty() => {
                peer.snapshot_stream_step();
            }
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break Ok(());
                }
            }
        }
        if let Err(error) = peer.pump() {
            break Err(error);
        }
    };
    let _ = stop_sender.send(true);
    peer.stop_serving();
    peer.stop_role_tasks();
    peer.stop_log_writer();
    result
}

/// `quorumListenOnAllIPs`.
fn quorum_listen_on_all_ips(config: &ZooKeeperConfig) -> bool {
    config
        .extra_properties
        .get("quorumListenOnAllIPs")
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
}

impl Peer {
    fn now_ms(&self) -> u64 {
        self.clocks.now().now_ms.max(0) as u64
    }

    // --- disk --------------------------------------------------------------------

    fn start_log_writer(&mut self) -> anyhow::Result<()> {
        let sink = self.storage.open_log()?;
        let (commands, receiver) = std::sync::mpsc::channel();
        let events = self.events.clone();
        let thread = std::thread::Builder::new()
            .name("zookeeper-log-writer".into())
            .spawn(move || {
                run_log_writer(sink, receiver, move |report| {
                    let _ = events.send(Event::Log(report));
                })
            })?;
        self.log = Some(LogWriter { commands, thread });
        Ok(())
    }

    /// Waits until everything appended is durable and the writer is gone.
    fn stop_log_writer(&mut self) {
        if let Some(writer) = self.log.take() {
            drop(writer.commands);
            let _ = writer.thread.join();
        }
    }

    fn append(&mut self, txn: Arc<TxnEntry>) {
        if let Some(writer) = &self.log {
            let _ = writer.commands.send(LogCommand::Append(txn));
        }
    }

    /// Rebuilds the tree from disk (after a truncation, or when Zab asks).
    fn reload_database(&mut self) -> anyhow::Result<zab::Recovered> {
        self.stop_log_writer();
        let recovered = self.storage.recover(self.tree_config.clone())?;
        let last_zxid = recovered.last_zxid;
        self.database = Some(Database {
            tree: recovered.tree,
            sessions: recovered.sessions,
        });
        self.start_log_writer()?;
        Ok(zab::Recovered {
            accepted_epoch: read_epoch(&self.config.data_dir, ACCEPTED_EPOCH_FILE)?.map(Epoch),
            current_epoch: read_epoch(&self.config.data_dir, CURRENT_EPOCH_FILE)?.map(Epoch),
            last_zxid,
            recent_txns: Vec::new(),
            // The log writer was stopped (everything fsynced) before reading.
            durable_zxid: None,
        })
    }

    /// The tree and sessions as they stand, serving or not.
    fn state_tree(&self) -> Option<&DataTree> {
        match (&self.core, &self.database) {
            (Some(core), _) => Some(core.tree()),
            (None, Some(database)) => Some(&database.tree),
            (None, None) => None,
        }
    }

    fn state(&self) -> Option<(&DataTree, BTreeMap<SessionId, i32>)> {
        if let Some(core) = &self.core {
            return Some((core.tree(), core.sessions().timeouts()));
        }
        self.database
            .as_ref()
            .map(|database| (&database.tree, database.sessions.clone()))
    }

    // --- events ------------------------------------------------------------------

    fn on_event(&mut self, event: Event) -> anyhow::Result<()> {
        match event {
            Event::Election(Received { from, notification }) => {
                let now_ms = self.now_ms();
                let actions = self.election.receive(now_ms, from, notification);
                self.on_election_actions(actions);
            }
            Event::Link(event) => self.on_link_event(event),
            Event::Log(LogReport::Durable(zxid)) => {
                self.zab_inputs.push_back(zab::Input::LogDurable { zxid });
            }
            Event::Log(LogReport::Failed(error)) => {
                tracing::error!(%error, "the transaction log cannot be written; stopping");
                anyhow::bail!("transaction log failed: {error}");
            }
            Event::SnapshotDone(error) => {
                if let Some(error) = error {
                    tracing::error!(%error, "snapshot failed");
                }
                if let Some(core) = self.core.as_mut() {
                    core.handle(Input::SnapshotDone, self.clocks.now());
                }
            }
        }
        Ok(())
    }

    fn on_link_event(&mut self, event: LinkEvent) {
        match event {
            LinkEvent::LearnerConnected {
                peer,
                link,
                writer,
                close,
            } => {
                let replaced = self.learners.insert(
                    peer,
                    LearnerLink {
                        link,
                        writer,
                        close,
                    },
                );
                if let Some(old) = replaced {
                    let _ = old.close.send(true);
                    self.zab_inputs
                        .push_back(zab::Input::LearnerDisconnected { peer });
                }
                self.zab_inputs
                    .push_back(zab::Input::LearnerConnected { peer });
            }
            LinkEvent::LeaderConnected {
                leader,
                link,
                writer,
            } => {
                self.leader_link = Some((leader, link, writer));
                self.zab_inputs
                    .push_back(zab::Input::LeaderConnected { leader });
            }
            LinkEvent::Message {
                peer,
                link,
                message,
            } => {
                if self.is_current_link(peer, link) {
                    self.zab_inputs.push_back(zab::Input::Message {
                        from: peer,
                        message,
                    });
                }
            }
            LinkEvent::Snapshot {
                peer,
                link,
                zxid,
                snapshot,
            } => {
                if self.is_current_link(peer, link) {
                    let slot: Arc<SnapshotSlot> = Arc::new(Mutex::new(Some(*snapshot)));
                    self.zab_inputs.push_back(zab::Input::SnapshotReceived {
                        from: peer,
                        zxid,
                        snapshot: slot,
                    });
                }
            }
            LinkEvent::Closed { peer, link } => {
                if self
                    .leader_link
                    .as_ref()
                    .is_some_and(|(leader, current, _)| *leader == peer && *current == link)
                {
                    self.leader_link = None;
                    self.zab_inputs
                        .push_back(zab::Input::LeaderDisconnected { leader: peer });
                } else if self
                    .learners
                    .get(&peer)
                    .is_some_and(|current| current.link == link)
                {
                    self.learners.remove(&peer);
                    self.zab_inputs
                        .push_back(zab::Input::LearnerDisconnected { peer });
                } else if self.leader_link.is_none()
                    && matches!(self.zab.leader(), Some(leader) if leader == peer)
                    && !self.zab.is_established_leader()
                {
                    // The leader could not be reached at all.
                    self.zab_inputs
                        .push_back(zab::Input::LeaderDisconnected { leader: peer });
                }
            }
        }
    }

    fn is_current_link(&self, peer: ServerId, link: LinkId) -> bool {
        self.learners
            .get(&peer)
            .is_some_and(|current| current.link == link)
            || self
                .leader_link
                .as_ref()
                .is_some_and(|(leader, current, _)| *leader == peer && *current == link)
    }

    fn on_election_actions(&mut self, actions: Vec<ElectionAction>) {
        for action in actions {
            match action {
                ElectionAction::Send { to, notification } => {
                    self.election_net.send(to, &notification)
                }
                ElectionAction::ReconnectAll => self.election_net.connect_all(),
                ElectionAction::Warning(warning) => {
                    tracing::warn!(?warning, "leader election")
                }
                ElectionAction::Decided { state, vote } => {
                    let decision = match state {
                        ServerState::Leading => Decision::Lead,
                        ServerState::Following => Decision::Follow {
                            leader: vote.leader,
                        },
                        ServerState::Observing => Decision::Observe {
                            leader: vote.leader,
                        },
                        ServerState::Looking => continue,
                    };
                    tracing::info!(?decision, leader = vote.leader.0, zxid = %vote.zxid, "leader election decided");
                    self.start_role_tasks(decision);
                    self.zab_inputs.push_back(zab::Input::Elected(decision));
                }
            }
        }
    }

    fn start_looking(&mut self) {
        self.info.mode = "looking";
        let (epoch, zxid) = self.zab.vote();
        let now_ms = self.now_ms();
        let actions = self.election.start_looking(now_ms, zxid, epoch);
        self.on_election_actions(actions);
    }

    /// Binds the learner port (leading) or connects to the leader (following).
    fn start_role_tasks(&mut self, decision: Decision) {
        self.stop_role_tasks();
        let (stop, stop_receiver) = watch::channel(false);
        self.role_stop = Some(stop);
        let buffer_bytes_max = self.buffer_bytes_max;
        let events = self.link_events.clone();
        match decision {
            Decision::Lead => {
                let config_id = crate::zookeeper::config::ServerId(self.my_id.0 as u64);
                let Some(address) = self
                    .config
                    .servers
                    .get(&config_id)
                    .and_then(|me| me.quorum_addresses.first())
                    .cloned()
                else {
                    return;
                };
                let host = if quorum_listen_on_all_ips(&self.config) {
                    "0.0.0.0".to_string()
                } else {
                    address.host.clone()
                };
                // Binding is synchronous here so a learner that dials at once
                // finds the port open; a failure sends Zab back to LOOKING.
                let bound = std::net::TcpListener::bind((host.as_str(), address.port)).and_then(
                    |listener| {
                        listener.set_nonblocking(true)?;
                        TcpListener::from_std(listener)
                    },
                );
                match bound {
                    Ok(listener) => {
                        tokio::spawn(learner_net::accept_learners(
                            listener,
                            buffer_bytes_max,
                            events,
                            stop_receiver,
                            quorum_security(&self.config),
                        ));
                    }
                    Err(error) => {
                        tracing::error!(%address, %error, "cannot bind the learner port");
                        self.zab_inputs.push_back(zab::Input::Abandon {
                            reason: format!("cannot bind the learner port {address}: {error}"),
                        });
                    }
                }
            }
            Decision::Follow { leader } | Decision::Observe { leader } => {
                let config_id = crate::zookeeper::config::ServerId(leader.0 as u64);
                let addresses = self
                    .config
                    .servers
                    .get(&config_id)
                    .map(|server| server.quorum_addresses.clone())
                    .unwrap_or_default();
                let connect_time_ms = self.config.tick_time_ms as u64
                    * self.config.init_limit_ticks.unwrap_or(10) as u64;
                tokio::spawn(learner_net::follow_leader(
                    leader,
                    addresses,
                    connect_time_ms,
                    buffer_bytes_max,
                    self.tree_config.clone(),
                    events,
                    stop_receiver,
                    quorum_security(&self.config),
                ));
            }
        }
    }

    fn stop_role_tasks(&mut self) {
        if let Some(stop) = self.role_stop.take() {
            let _ = stop.send(true);
        }
        self.learners.clear();
        self.snapshot_streams.clear();
        self.leader_link = None;
    }

    // --- Zab ---------------------------------------------------------------------

    /// Feeds queued inputs to Zab and carries out its outputs until both the
    /// queue and the pipeline's effects are drained.
    fn pump(&mut self) -> anyhow::Result<()> {
        loop {
            self.execute_core_effects()?;
            let Some(input) = self.zab_inputs.pop_front() else {
                return Ok(());
            };
            let now_ms = self.now_ms();
            self.zab.step(now_ms, input);
            self.execute_zab_outputs()?;
        }
    }

    fn execute_zab_outputs(&mut self) -> anyhow::Result<()> {
        for output in self.zab.take_outputs() {
            self.on_zab_output(output)?;
        }
        Ok(())
    }

    fn send_to(&mut self, to: ServerId, bytes: Vec<u8>) {
        if let Some(learner) = self.learners.get(&to) {
            if let Some(stream) = self.snapshot_streams.get_mut(&to) {
                if stream.link == learner.link {
                    stream.held.push(bytes);
                    return;
                }
                self.snapshot_streams.remove(&to);
            }
            let _ = learner.writer.send(bytes);
        } else if let Some((leader, _, writer)) = &self.leader_link {
            if *leader == to {
                let _ = writer.send(bytes);
            }
        } else {
            tracing::debug!(peer = to.0, "no learner-port connection to send on");
        }
    }

    /// SNAP: writes the stream's head (sessions and the ACL map) now; the nodes
    /// follow a step at a time (`snapshot_stream_step`).
    fn start_snapshot_stream(&mut self, to: ServerId, zxid: Zxid) {
        let Some(link) = self.learners.get(&to).map(|learner| learner.link) else {
            return;
        };
        let Some((tree, sessions)) = self.state() else {
            return;
        };
        let mut head = Vec::new();
        wire::encode_snapshot_head(&mut head, tree, &sessions);
        let stream = SnapshotStream {
            link,
            cursor: tree.snapshot_cursor(),
            head_acls: wire::head_acl_indexes(tree),
            held: Vec::new(),
        };
        tracing::info!(learner = to.0, %zxid, sessions = sessions.len(), "sending a snapshot");
        // Whatever an older stream to this learner held belonged to a closed link.
        self.snapshot_streams.remove(&to);
        self.send_to(to, head);
        self.snapshot_streams.insert(to, stream);
    }

    /// Encodes the next nodes of one learner's snapshot stream; at its end,
    /// sends what waited behind it.
    fn snapshot_stream_step(&mut self) {
        let Some((&to, _)) = self.snapshot_streams.iter().next() else {
            return;
        };
        let current_link = self.learners.get(&to).map(|learner| learner.link);
        let Some(mut stream) = self.snapshot_streams.remove(&to) else {
            return;
        };
        if current_link != Some(stream.link) {
            return;
        }
        let Some(tree) = self.state_tree() else {
            return;
        };
        let mut bytes = Vec::with_capacity(SNAPSHOT_STREAM_STEP_BYTES + 4096);
        let step = wire::encode_snapshot_nodes(
            tree,
            &mut stream.cursor,
            &mut bytes,
            SNAPSHOT_STREAM_STEP_BYTES,
            &stream.head_acls,
        );
        match step {
            wire::SnapshotStep::More => {
                self.send_to(to, bytes);
                self.snapshot_streams.insert(to, stream);
            }
            wire::SnapshotStep::Done => {
                self.send_to(to, bytes);
                tracing::info!(learner = to.0, held = stream.held.len(), "snapshot sent");
                for held in stream.held {
                    self.send_to(to, held);
                }
            }
            wire::SnapshotStep::UnknownAcl { path, acl } => {
                // The learner could not resolve the node's ACL: end its connection;
                // it reconnects and is sent a fresh snapshot.
                tracing::warn!(learner = to.0, %path, acl, "a node created during the snapshot stream uses an ACL its head does not list; closing the learner's connection so it syncs again");
                if let Some(learner) = self.learners.get(&to) {
                    let _ = learner.close.send(true);
                }
            }
        }
    }

    fn on_zab_output(&mut self, output: zab::Output) -> anyhow::Result<()> {
        use zab::Output as Out;
        match output {
            Out::Send { to, message } => self.send_to(to, encode_quorum_message(&message)),
            Out::ReplyPing { zxid } => {
                let touches = self
                    .core
                    .as_mut()
                    .map(Core::take_session_touches)
                    .unwrap_or_default();
                if let Some((leader, _, _)) = &self.leader_link {
                    let leader = *leader;
                    self.send_to(
                        leader,
                        encode_quorum_message(&QuorumMessage::PingFromLearner { zxid, touches }),
                    );
                }
            }
            Out::PersistAcceptedEpoch { epoch } => {
                write_epoch(&self.config.data_dir, ACCEPTED_EPOCH_FILE, epoch.0)?;
                self.zab_inputs.push_back(zab::Input::EpochPersisted {
                    file: EpochFile::Accepted,
                    epoch,
                });
            }
            Out::PersistCurrentEpoch { epoch } => {
                write_epoch(&self.config.data_dir, CURRENT_EPOCH_FILE, epoch.0)?;
                self.zab_inputs.push_back(zab::Input::EpochPersisted {
                    file: EpochFile::Current,
                    epoch,
                });
            }
            Out::AppendTxn { txn } => self.append(txn),
            Out::TruncateLog { zxid } => {
                self.stop_log_writer();
                let cut = truncate_log(
                    &self.config.data_dir,
                    &self.config.data_log_dir,
                    zxid,
                    self.buffer_bytes_max,
                )?;
                tracing::info!(%zxid, txns_removed = cut, "truncated the txn log at the leader's request");
                self.reload_database()?;
                self.zab_inputs.push_back(zab::Input::TruncateDone { zxid });
            }
            Out::TakeSnapshot { zxid } => {
                if let Some((tree, sessions)) = self.state() {
                    persistence::write_snapshot(&self.config.data_dir, tree, &sessions, zxid)?;
                }
                self.zab_inputs
                    .push_back(zab::Input::SnapshotDurable { zxid });
            }
            Out::SendSnapshot { to, zxid } => self.start_snapshot_stream(to, zxid),
            Out::LoadSnapshot { zxid, snapshot } => {
                let snapshot: Arc<dyn Any + Send + Sync> = snapshot;
                let Ok(slot) = snapshot.downcast::<SnapshotSlot>() else {
                    anyhow::bail!("a snapshot of an unknown kind reached LoadSnapshot");
                };
                let taken = slot.lock().map(|mut slot| slot.take()).ok().flatten();
                let Some(NetworkSnapshot { mut tree, sessions }) = taken else {
                    anyhow::bail!("the leader's snapshot was loaded twice");
                };
                tree.set_last_processed_zxid(zxid);
                tree.skip_txn_digests_of_sync();
                self.database = Some(Database { tree, sessions });
            }
            Out::Apply { txn } => self.apply(txn),
            Out::ReloadDatabase => {
                let recovered = self.reload_database()?;
                self.zab_inputs
                    .push_back(zab::Input::DatabaseLoaded(recovered));
            }
            Out::CloseLearner { peer } => {
                if let Some(learner) = self.learners.remove(&peer) {
                    let _ = learner.close.send(true);
                }
            }
            Out::CloseLeader { .. } => self.stop_role_tasks(),
            Out::ServeClients { role, epoch } => self.start_serving(role, epoch),
            Out::GoLooking { reason } => {
                tracing::warn!(?reason, "leaving the current role; looking for a leader");
                self.stop_serving();
                self.stop_role_tasks();
                self.start_looking();
            }
            Out::SyncReleased { learner } => {
                if learner.is_none() {
                    if let Some(core) = self.core.as_mut() {
                        core.handle(Input::SyncReleased, self.clocks.now());
                    }
                }
            }
            Out::Passthrough { from, message } => self.on_passthrough(from, message),
        }
        Ok(())
    }

    fn apply(&mut self, txn: Arc<TxnEntry>) {
        let clock = self.clocks.now();
        match (&mut self.core, self.serving) {
            (Some(core), Some((ServingRole::Leader, _))) => {
                core.handle(
                    Input::Durable {
                        zxid: Zxid(txn.header.zxid),
                    },
                    clock,
                );
            }
            (Some(core), _) => core.handle(Input::Committed { txn }, clock),
            (None, _) => {
                if let Some(database) = self.database.as_mut() {
                    database.apply(&txn);
                }
            }
        }
    }

    /// REQUEST, REVALIDATE and their answers: for the request pipeline.
    fn on_passthrough(&mut self, from: ServerId, message: QuorumMessage) {
        let clock = self.clocks.now();
        match message {
            QuorumMessage::Request(request) => {
                let op = OpCode::from_i32(request.op);
                if op == OpCode::Sync {
                    self.zab_inputs.push_back(zab::Input::SyncRequest { from });
                    return;
                }
                let Some(core) = self.core.as_mut() else {
                    return;
                };
                let session = request.session_id;
                if op == OpCode::CreateSession {
                    let timeout_ms = request.body.get(..4).map_or(0, |bytes| {
                        i32::from_be_bytes(bytes.try_into().expect("4 bytes"))
                    });
                    core.handle(
                        Input::LearnerCreateSession {
                            learner: from,
                            session,
                            timeout_ms,
                        },
                        clock,
                    );
                    return;
                }
                let mut decoder = Decoder::new(&request.body, self.buffer_bytes_max);
                match Request::read(op, &mut decoder) {
                    Ok(decoded) => core.handle(
                        Input::LearnerRequest {
                            learner: from,
                            session,
                            cxid: request.cxid,
                            request: decoded,
                            auth: request.auth_info.clone(),
                        },
                        clock,
                    ),
                    Err(error) => {
                        tracing::warn!(learner = from.0, op = request.op, %error, "a learner forwarded a request that does not decode; ignored");
                    }
                }
            }
            QuorumMessage::RevalidateRequest {
                session_id,
                timeout_ms,
            } => {
                if let Some(core) = self.core.as_mut() {
                    core.handle(
                        Input::Revalidate {
                            learner: from,
                            session: session_id,
                            timeout_ms,
                        },
                        clock,
                    );
                }
            }
            QuorumMessage::PingFromLearner { touches, .. } => {
                if let Some(core) = self.core.as_mut() {
                    core.handle(Input::TouchSessions { touches }, clock);
                }
            }
            QuorumMessage::RevalidateReply { session_id, valid } => {
                if let Some(core) = self.core.as_mut() {
                    core.handle(
                        Input::Revalidated {
                            session: session_id,
                            valid,
                        },
                        clock,
                    );
                }
            }
            other => {
                tracing::debug!(peer = from.0, message = %zab::message_name(&other), "unexpected passthrough");
            }
        }
    }

    // --- serving -----------------------------------------------------------------

    fn start_serving(&mut self, role: ServingRole, epoch: Epoch) {
        let Some(database) = self.database.take() else {
            return;
        };
        let core_role = match role {
            ServingRole::Leader => Role::Leader { epoch: epoch.0 },
            ServingRole::Follower | ServingRole::Observer => Role::Learner,
        };
        let core_config = CoreConfig {
            server_id: self.my_id.0,
            tick_ms: self.config.tick_time_ms,
            session_timeout_ms_min: self.config.session_timeout_ms_min.min(i32::MAX as u32) as i32,
            session_timeout_ms_max: self.config.session_timeout_ms_max.min(i32::MAX as u32) as i32,
            snapshot_interval_txns: self.config.snapshot_interval_txns().max(2),
            container_deletions_max: CONTAINER_DELETIONS_PER_PASS_MAX,
            tree: self.tree_config.clone(),
            role: core_role,
        };
        let clock = self.clocks.now();
        // As QuorumPeer.initConfigInZKDatabase (on start and after a learner's sync).
        let mut tree = database.tree;
        // After a streamed snapshot, txn digests are compared again from the
        // first txn after those this sync logged (UPTODATE logged them all).
        tree.bound_skipped_txn_digests(self.zab.vote().1);
        tree.init_config_node(
            self.config.quorum_verifier_text().into_bytes(),
            0,
            clock.wall_ms,
        );
        let core = Core::new(core_config, tree, &database.sessions, clock, clock.wall_ms);
        self.info.mode = match role {
            ServingRole::Leader => "leader",
            ServingRole::Follower => "follower",
            ServingRole::Observer => "observer",
        };
        tracing::info!(mode = self.info.mode, epoch = epoch.0, zxid = %core.tree().last_processed_zxid(), "serving clients");
        let status = format!("zookeeper: {}, serving clients", self.info.mode);
        if self.announced_ready {
            crate::notify::status(&status);
        } else {
            crate::notify::server_ready(&status);
            self.announced_ready = true;
        }
        self.core = Some(core);
        self.serving = Some((role, epoch));
        self.serving_since_ms = clock.now_ms;
        self.election.update_election_vote(epoch);
    }

    /// Leaves serving: every client connection is closed (Apache shuts its
    /// ZooKeeperServer down), and the tree goes back to the database.
    fn stop_serving(&mut self) {
        self.serving = None;
        self.info.mode = "looking";
        crate::notify::status("zookeeper: looking for a leader, not serving clients");
        for (_, sender) in self.outbound.drain() {
            let _ = sender.send(Outbound::Close);
        }
        self.snapshot_writer = None;
        if let Some(core) = self.core.take() {
            let sessions = core.sessions().timeouts();
            self.database = Some(Database {
                tree: core.into_tree(),
                sessions,
            });
        }
    }

    fn on_client_message(&mut self, message: Message) {
        let clock = self.clocks.now();
        if matches!(message, Message::FourLetter { .. } | Message::Admin { .. }) {
            let uptime_ms = clock.now_ms - self.serving_since_ms;
            self.info.leader = self.zab.leader_counts().map(|counts| LeaderStats {
                learners: counts.learners,
                synced_followers: counts.synced_followers,
                synced_observers: counts.synced_observers,
                pending_syncs: counts.pending_syncs,
                uptime_ms,
                proposal_sizes: counts.proposal_sizes,
            });
        }
        let Some(core) = self.core.as_mut() else {
            match message {
                Message::Register { outbound, .. } => {
                    let _ = outbound.send(Outbound::Close);
                }
                Message::FourLetter { reply, .. } => {
                    let _ = reply.send(
                        "This ZooKeeper instance is not currently serving requests\n".to_string(),
                    );
                }
                Message::Admin { reply, .. } => {
                    let _ = reply.send(serde_json::json!({
                        "error": "This ZooKeeper instance is not currently serving requests"
                    }));
                }
                Message::Input(_) => {}
            }
            return;
        };
        match message {
            Message::Register {
                conn,
                peer,
                outbound,
            } => {
                self.outbound.insert(conn, outbound);
                core.handle(Input::Accepted { conn, peer }, clock);
            }
            Message::Input(input) => {
                if let Input::Closed { conn } = input {
                    self.outbound.remove(&conn);
                }
                core.handle(input, clock);
            }
            Message::FourLetter {
                word,
                peer,
                host,
                reply,
            } => {
                if word == "srst" {
                    self.zab.reset_proposal_sizes();
                }
                let text =
                    four_letter_word(core, &self.info, &word, clock.now_ms, Some(peer), &host);
                let _ = reply.send(text);
            }
            Message::Admin { name, host, reply } => {
                let value = admin_command(core, &self.info, &name, clock.now_ms, &host);
                let _ = reply.send(value);
            }
        }
    }

    /// Carries out the pipeline's effects: frames to connections, proposals to
    /// Zab (leader), requests to the leader (learner), snapshots to disk.
    fn execute_core_effects(&mut self) -> anyhow::Result<()> {
        let Some(core) = self.core.as_mut() else {
            return Ok(());
        };
        let effects = core.take_effects();
        if effects.is_empty() {
            return Ok(());
        }
        let mut frames: Vec<(ConnectionId, Vec<u8>)> = Vec::new();
        let flush = |frames: &mut Vec<(ConnectionId, Vec<u8>)>,
                     outbound: &IdMap<ConnectionId, mpsc::UnboundedSender<Outbound>>,
                     only: Option<ConnectionId>| {
            frames.retain_mut(|(conn, bytes)| {
                if only.is_some_and(|only| only != *conn) {
                    return true;
                }
                if let Some(sender) = outbound.get(conn) {
                    let _ = sender.send(Outbound::Frame(std::mem::take(bytes)));
                }
                false
            });
        };
        for effect in effects {
            match effect {
                Effect::Send { conn, frame } => {
                    match frames.iter_mut().find(|(pending, _)| *pending == conn) {
                        Some((_, bytes)) => bytes.extend_from_slice(&frame),
                        None => frames.push((conn, frame)),
                    }
                }
                Effect::Close { conn } => {
                    flush(&mut frames, &self.outbound, Some(conn));
                    if let Some(sender) = self.outbound.remove(&conn) {
                        let _ = sender.send(Outbound::Close);
                    }
                }
                Effect::Append(entry) => {
                    let expected = Zxid(entry.header.zxid);
                    let now_ms = self.now_ms();
                    match self.zab.propose(now_ms, (*entry).clone()) {
                        Ok(proposed) if Zxid(proposed.header.zxid) == expected => {}
                        Ok(proposed) => {
                            tracing::error!(pipeline = %expected, zab = %Zxid(proposed.header.zxid), "the pipeline and Zab disagree on the next zxid; giving up leadership");
                            self.zab_inputs.push_back(zab::Input::Abandon {
                                reason: "zxid disagreement".into(),
                            });
                        }
                        Err(error) => {
                            tracing::warn!(%error, zxid = %expected, "proposal refused");
                        }
                    }
                    self.execute_zab_outputs()?;
                }
                Effect::RollLog => {
                    if let Some(writer) = &self.log {
                        let _ = writer.commands.send(LogCommand::Roll);
                    }
                }
                Effect::SnapshotBegin { zxid, head } => {
                    let events = self.events.clone();
                    self.snapshot_writer = Some(SnapshotWriter::start(
                        self.snapshots.clone(),
                        zxid,
                        head,
                        move |error| {
                            let _ = events.send(Event::SnapshotDone(error));
                        },
                    ));
                }
                Effect::SnapshotBytes(bytes) => {
                    if let Some(writer) = &self.snapshot_writer {
                        writer.send_bytes(bytes);
                    }
                }
                Effect::SnapshotEnd { digest } => {
                    if let Some(writer) = self.snapshot_writer.take() {
                        writer.end(digest);
                    }
                }
                Effect::SnapshotAbandon => self.snapshot_writer = None,
                Effect::Forward(request) => {
                    if let Some((leader, _, _)) = &self.leader_link {
                        let leader = *leader;
                        self.send_to(
                            leader,
                            encode_quorum_message(&QuorumMessage::Request(request)),
                        );
                    }
                }
                Effect::Revalidate {
                    session,
                    timeout_ms,
                } => {
                    if let Some((leader, _, _)) = &self.leader_link {
                        let leader = *leader;
                        self.send_to(
                            leader,
                            encode_quorum_message(&QuorumMessage::RevalidateRequest {
                                session_id: session,
                                timeout_ms,
                            }),
                        );
                    }
                }
                Effect::RevalidateReply {
                    learner,
                    session,
                    valid,
                } => self.send_to(
                    learner,
                    encode_quorum_message(&QuorumMessage::RevalidateReply {
                        session_id: session,
                        valid,
                    }),
                ),
                Effect::EpochExhausted => {
                    self.zab_inputs.push_back(zab::Input::Abandon {
                        reason: "zxid lower 32 bits have rolled over, forcing re-election".into(),
                    });
                }
            }
        }
        flush(&mut frames, &self.outbound, None);
        Ok(())
    }
}

fn quorum_security(config: &ZooKeeperConfig) -> transport::QuorumSecurity {
    transport::QuorumSecurity {
        tls: config.quorum_tls.clone(),
        sasl: config.quorum_sasl.clone(),
    }
}
