//! The tokio shell around `Core`: one task owns the pipeline and turns its
//! effects into IO (frames to connection writers, txns to the log writer
//! thread, snapshots to blocking threads). Nothing here decides anything.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::commands::{admin_command, four_letter_word, ServerInfo};
use super::core::{Clock, Core, Effect, Input};
use super::host::HostFacts;
use super::sessions::ConnectionId;
use super::storage::{LogCommand, LogReport, SnapshotSink};
use crate::zookeeper::tree::IdMap;

/// What a connection writer is told.
#[derive(Debug)]
pub enum Outbound {
    Frame(Vec<u8>),
    /// Flush and close.
    Close,
}

/// What the pipeline task receives from connections and the admin server.
#[derive(Debug)]
pub enum Message {
    Register {
        conn: ConnectionId,
        peer: std::net::SocketAddr,
        outbound: mpsc::UnboundedSender<Outbound>,
    },
    Input(Input),
    /// `host` was sampled by the asker, off the pipeline.
    FourLetter {
        word: String,
        peer: std::net::SocketAddr,
        host: HostFacts,
        reply: oneshot::Sender<String>,
    },
    Admin {
        name: String,
        host: HostFacts,
        reply: oneshot::Sender<serde_json::Value>,
    },
}

/// Reports from the log writer thread and snapshot threads.
#[derive(Debug)]
pub enum Report {
    Log(LogReport),
    SnapshotDone(Option<String>),
}

/// Monotonic and wall clocks for the core.
#[derive(Debug, Clone, Copy)]
pub struct Clocks {
    epoch: tokio::time::Instant,
}

impl Clocks {
    pub fn new() -> Clocks {
        Clocks {
            epoch: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> Clock {
        let wall_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as i64)
            .unwrap_or(0);
        Clock {
            now_ms: self.epoch.elapsed().as_millis() as i64,
            wall_ms,
        }
    }
}

impl Default for Clocks {
    fn default() -> Self {
        Clocks::new()
    }
}

/// Txns waiting for their fsync before the pipeline stops taking client
/// messages: beyond it, connections wait on the bounded queue and then on
/// TCP, instead of memory growing without bound (Apache throttles at its
/// `globalOutstandingLimit` in the same spirit).
const TXNS_IN_FLIGHT_MAX: usize = 10_000;

/// Requests the pipeline takes from its queue in one round before it acts on
/// their effects.
const MESSAGES_PER_ROUND_MAX: usize = 256;

/// Apache's `znode.container.checkIntervalMs` default.
const CONTAINER_CHECK_INTERVAL: Duration = Duration::from_secs(60);

pub struct Pipeline {
    pub core: Core,
    pub info: ServerInfo,
    pub clocks: Clocks,
    pub messages: mpsc::Receiver<Message>,
    pub reports: mpsc::UnboundedReceiver<Report>,
    pub report_sender: mpsc::UnboundedSender<Report>,
    pub log: std::sync::mpsc::Sender<LogCommand>,
    pub snapshots: Arc<dyn SnapshotSink>,
    pub stop: watch::Receiver<bool>,
    /// The thread writing the snapshot being streamed, if any.
    pub snapshot_writer: Option<SnapshotWriter>,
}

/// Snapshot chunks (about `SNAPSHOT_STEP_BYTES` each) queued for the writer
/// thread at most: the pipeline stops encoding while the disk is behind,
/// instead of queueing the whole tree in memory.
const SNAPSHOT_CHUNKS_QUEUED_MAX: usize = 16;

/// The thread writing a streamed snapshot, and how far behind it is.
pub struct SnapshotWriter {
    commands: std::sync::mpsc::Sender<SnapshotCommand>,
    /// Chunks sent and not yet written.
    queued: Arc<std::sync::atomic::AtomicUsize>,
    /// Signalled whenever the thread has written a chunk.
    drained: Arc<tokio::sync::Notify>,
}

impl SnapshotWriter {
    /// Starts the writer thread (tokio's blocking pool): it writes `head`,
    /// then the chunks, and calls `done` with the error, if any.
    pub fn start(
        sink: Arc<dyn SnapshotSink>,
        zxid: crate::zookeeper::tree::Zxid,
        head: Vec<u8>,
        done: impl FnOnce(Option<String>) + Send + 'static,
    ) -> SnapshotWriter {
        let (commands, receiver) = std::sync::mpsc::channel();
        let queued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let drained = Arc::new(tokio::sync::Notify::new());
        let progress = WriteProgress {
            queued: queued.clone(),
            drained: drained.clone(),
        };
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let outcome = write_streamed_snapshot(&*sink, zxid, &head, receiver, &progress);
            match &outcome {
                Ok(true) => {
                    tracing::info!(%zxid, elapsed_ms = started.elapsed().as_millis() as u64, "snapshot written")
                }
                Ok(false) => tracing::info!(%zxid, "snapshot abandoned"),
                Err(error) => tracing::error!(%zxid, "snapshot failed: {error:#}"),
            }
            done(outcome.err().map(|error| format!("{error:#}")));
        });
        SnapshotWriter {
            commands,
            queued,
            drained,
        }
    }

    /// Whether another chunk may be encoded now.
    pub fn has_room(&self) -> bool {
        self.queued.load(std::sync::atomic::Ordering::Acquire) < SNAPSHOT_CHUNKS_QUEUED_MAX
    }

    /// What to await, while there is no room, for the thread to catch up.
    pub fn drained(&self) -> Arc<tokio::sync::Notify> {
        self.drained.clone()
    }

    pub fn send_bytes(&self, bytes: Vec<u8>) {
        self.queued
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let _ = self.commands.send(SnapshotCommand::Bytes(bytes));
    }

    /// Every chunk is sent: seal, fsync and publish. (Dropping the writer
    /// without this abandons the file.)
    pub fn end(self, digest: Option<crate::zookeeper::tree::ZxidDigest>) {
        let _ = self.commands.send(SnapshotCommand::End(digest));
    }
}

/// Whether a snapshot may be stepped now: one is pending and its writer (if
/// started) has room for another chunk.
pub fn snapshot_may_step(core: Option<&Core>, writer: Option<&SnapshotWriter>) -> bool {
    core.is_some_and(Core::snapshot_pending) && writer.is_none_or(SnapshotWriter::has_room)
}

/// Waits until the writer has written a chunk (forever when there is none to
/// wait for: the select branch is then disabled anyway).
pub async fn snapshot_writer_drained(drained: Option<Arc<tokio::sync::Notify>>) {
    match drained {
        Some(drained) => drained.notified().await,
        None => std::future::pending().await,
    }
}

/// The writer thread's side of the queue bound.
struct WriteProgress {
    queued: Arc<std::sync::atomic::AtomicUsize>,
    drained: Arc<tokio::sync::Notify>,
}

impl WriteProgress {
    fn chunk_written(&self) {
        self.queued
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        self.drained.notify_one();
    }
}

/// What the pipeline tells the thread writing a streamed snapshot.
#[derive(Debug)]
enum SnapshotCommand {
    Bytes(Vec<u8>),
    /// Every byte is sent: seal, end with this digest, fsync, publish.
    End(Option<crate::zookeeper::tree::ZxidDigest>),
}

/// The body of a snapshot writer thread: Ok(true) once published, Ok(false)
/// when the pipeline gave up on it (its sender dropped first).
fn write_streamed_snapshot(
    sink: &dyn SnapshotSink,
    zxid: crate::zookeeper::tree::Zxid,
    head: &[u8],
    commands: std::sync::mpsc::Receiver<SnapshotCommand>,
    progress: &WriteProgress,
) -> anyhow::Result<bool> {
    let mut output = sink.create(zxid)?;
    if let Err(error) = output.write(head) {
        output.abandon();
        return Err(error);
    }
    loop {
        match commands.recv() {
            Ok(SnapshotCommand::Bytes(bytes)) => {
                let written = output.write(&bytes);
                progress.chunk_written();
                if let Err(error) = written {
                    output.abandon();
                    return Err(error);
                }
            }
            Ok(SnapshotCommand::End(digest)) => {
                output.finish(digest)?;
                return Ok(true);
            }
            Err(_) => {
                output.abandon();
                return Ok(false);
            }
        }
    }
}

impl Pipeline {
    /// Runs until stopped, or until the log fails (then the error).
    pub async fn run(mut self) -> anyhow::Result<()> {
        let mut outbound: IdMap<ConnectionId, mpsc::UnboundedSender<Outbound>> = IdMap::default();
        // Expiry buckets are multiples of tickTime; looking twice per tick
        // keeps the lag under half a tick.
        let tick_period = Duration::from_millis((self.core.config().tick_ms as u64 / 2).max(1));
        let mut tick = tokio::time::interval(tick_period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut cleanup = tokio::time::interval(CONTAINER_CHECK_INTERVAL);
        cleanup.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let result = loop {
            tokio::select! {
                message = self.messages.recv(), if self.core.txns_in_flight() < TXNS_IN_FLIGHT_MAX => {
                    let Some(message) = message else { break Ok(()) };
                    let clock = self.clocks.now();
                    self.on_message(message, &mut outbound, clock);
                    // Requests that queued meanwhile share this round: one
                    // hand-off to the log writer, one frame batch per
                    // connection, fewer wake-ups.
                    let mut handled = 1;
                    while handled < MESSAGES_PER_ROUND_MAX
                        && self.core.txns_in_flight() < TXNS_IN_FLIGHT_MAX
                    {
                        let Ok(message) = self.messages.try_recv() else { break };
                        if !matches!(message, Message::Input(Input::Request { .. })) {
                            // Anything else sees the effects before it done,
                            // as when every message was a round of its own.
                            self.execute(&mut outbound);
                        }
                        self.on_message(message, &mut outbound, clock);
                        handled += 1;
                    }
                }
                report = self.reports.recv() => {
                    let clock = self.clocks.now();
                    match report {
                        Some(Report::Log(LogReport::Durable(zxid))) => {
                            self.core.handle(Input::Durable { zxid }, clock);
                        }
                        Some(Report::Log(LogReport::Failed(error))) => {
                            tracing::error!(%error, "the transaction log cannot be written; stopping");
                            break Err(anyhow::anyhow!("transaction log failed: {error}"));
                        }
                        Some(Report::SnapshotDone(error)) => {
                            if let Some(error) = error {
                                tracing::error!(%error, "snapshot failed");
                            }
                            self.core.handle(Input::SnapshotDone, clock);
                        }
                        None => break Ok(()),
                    }
                }
                _ = tick.tick() => {
                    let clock = self.clocks.now();
                    self.core.handle(Input::Tick, clock);
                }
                _ = cleanup.tick() => {
                    let clock = self.clocks.now();
                    self.core.handle(Input::CleanupContainers, clock);
                }
                _ = std::future::ready(()), if snapshot_may_step(Some(&self.core), self.snapshot_writer.as_ref()) => {
                    self.core.snapshot_step();
                }
                _ = snapshot_writer_drained(self.snapshot_writer.as_ref().map(SnapshotWriter::drained)),
                    if self.core.snapshot_pending() && !snapshot_may_step(Some(&self.core), self.snapshot_writer.as_ref()) => {}
                _ = self.stop.changed() => break Ok(()),
            }
            self.execute(&mut outbound);
        };
        for (_, sender) in outbound.drain() {
            let _ = sender.send(Outbound::Close);
        }
        result
    }

    fn on_message(
        &mut self,
        message: Message,
        outbound: &mut IdMap<ConnectionId, mpsc::UnboundedSender<Outbound>>,
        clock: Clock,
    ) {
        match message {
            Message::Register {
                conn,
                peer,
                outbound: sender,
            } => {
                outbound.insert(conn, sender);
                self.core.handle(Input::Accepted { conn, peer }, clock);
            }
            Message::Input(input) => {
                if let Input::Closed { conn } = input {
                    outbound.remove(&conn);
                }
                self.core.handle(input, clock);
            }
            Message::FourLetter {
                word,
                peer,
                host,
                reply,
            } => {
                let text = four_letter_word(
                    &mut self.core,
                    &self.info,
                    &word,
                    clock.now_ms,
                    Some(peer),
                    &host,
                );
                let _ = reply.send(text);
            }
            Message::Admin { name, host, reply } => {
                let value = admin_command(&mut self.core, &self.info, &name, clock.now_ms, &host);
                let _ = reply.send(value);
            }
        }
    }

    fn execute(&mut self, outbound: &mut IdMap<ConnectionId, mpsc::UnboundedSender<Outbound>>) {
        // A round's frames for one connection go to its writer together, in
        // order, before anything else for that connection.
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
        for effect in self.core.take_effects() {
            match effect {
                Effect::Send { conn, frame } => {
                    match frames.iter_mut().find(|(pending, _)| *pending == conn) {
                        Some((_, bytes)) => bytes.extend_from_slice(&frame),
                        None => frames.push((conn, frame)),
                    }
                }
                Effect::Close { conn } => {
                    flush(&mut frames, outbound, Some(conn));
                    if let Some(sender) = outbound.remove(&conn) {
                        let _ = sender.send(Outbound::Close);
                    }
                }
                Effect::Append(entry) => {
                    let _ = self.log.send(LogCommand::Append(entry));
                }
                Effect::RollLog => {
                    let _ = self.log.send(LogCommand::Roll);
                }
                Effect::SnapshotBegin { zxid, head } => {
                    // A previous writer still open can only be one whose
                    // snapshot the core dropped: dropping it abandons it.
                    let reports = self.report_sender.clone();
                    self.snapshot_writer = Some(SnapshotWriter::start(
                        self.snapshots.clone(),
                        zxid,
                        head,
                        move |error| {
                            let _ = reports.send(Report::SnapshotDone(error));
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
                Effect::SnapshotAbandon => {
                    // Dropping the sender tells the writer to give up.
                    self.snapshot_writer = None;
                }
                Effect::Forward(_)
                | Effect::Revalidate { .. }
                | Effect::RevalidateReply { .. }
                | Effect::EpochExhausted => {
                    // Ensemble effects: a standalone pipeline never makes them.
                    debug_assert!(false, "ensemble effect from a standalone pipeline");
                }
            }
        }
        flush(&mut frames, outbound, None);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::mpsc as std_mpsc;
    use std::sync::Mutex;

    use super::*;
    use crate::zookeeper::server::storage::SnapshotOutput;
    use crate::zookeeper::tree::{DataTree, SessionId, Zxid, ZxidDigest};

    /// A disk that writes a chunk only when the test says so.
    struct GatedSink {
        gate: Mutex<Option<std_mpsc::Receiver<()>>>,
        written: std_mpsc::Sender<usize>,
    }

    struct GatedOutput {
        gate: std_mpsc::Receiver<()>,
        written: std_mpsc::Sender<usize>,
    }

    impl SnapshotSink for GatedSink {
        fn write_snapshot(
            &self,
            _: &DataTree,
            _: &BTreeMap<SessionId, i32>,
            _: Zxid,
        ) -> anyhow::Result<()> {
            Ok(())
        }
        fn create(&self, _: Zxid) -> anyhow::Result<Box<dyn SnapshotOutput>> {
            let gate = self.gate.lock().unwrap().take().expect("one snapshot");
            Ok(Box::new(GatedOutput {
                gate,
                written: self.written.clone(),
            }))
        }
        fn purge(&self, _: u32) -> anyhow::Result<()> {
            Ok(())
        }
    }

    impl SnapshotOutput for GatedOutput {
        fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
            if !bytes.is_empty() && bytes != b"head" {
                let _ = self.gate.recv();
            }
            let _ = self.written.send(bytes.len());
            Ok(())
        }
        fn finish(self: Box<Self>, _: Option<ZxidDigest>) -> anyhow::Result<()> {
            Ok(())
        }
        fn abandon(self: Box<Self>) {}
    }

    /// A slow disk stops the encoding after SNAPSHOT_CHUNKS_QUEUED_MAX chunks
    /// instead of letting the whole tree queue in memory, and each chunk it
    /// writes makes room again (and wakes whoever waits for it).
    #[tokio::test]
    async fn a_slow_disk_bounds_the_chunks_queued_for_it() {
        let (open_gate, gate) = std_mpsc::channel();
        let (written_sender, written) = std_mpsc::channel();
        let sink = Arc::new(GatedSink {
            gate: Mutex::new(Some(gate)),
            written: written_sender,
        });
        let (done_sender, done) = std_mpsc::channel();
        let writer = SnapshotWriter::start(sink, Zxid(5), b"head".to_vec(), move |error| {
            let _ = done_sender.send(error);
        });
        let mut sent = 0;
        while writer.has_room() {
            writer.send_bytes(vec![1; 10]);
            sent += 1;
        }
        assert_eq!(sent, SNAPSHOT_CHUNKS_QUEUED_MAX);
        let drained = writer.drained();
        open_gate.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), drained.notified())
            .await
            .expect("the writer reports a written chunk");
        assert!(writer.has_room());
        for _ in 1..sent {
            open_gate.send(()).unwrap();
        }
        writer.end(None);
        assert_eq!(
            done.recv_timeout(Duration::from_secs(10)).unwrap(),
            None,
            "published"
        );
        // The head, then every chunk.
        assert_eq!(written.try_iter().count(), 1 + SNAPSHOT_CHUNKS_QUEUED_MAX);
    }
}
