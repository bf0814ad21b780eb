//! Where the pipeline's txns and snapshots go. The driver talks to a `Storage`;
//! `DiskStorage` is Apache's on-disk format (`zookeeper::persistence`),
//! `MemoryStorage` keeps nothing (tests that need no disk).
//!
//! The log is written by two OS threads, pipelined group commit: the writer
//! appends every txn as it comes and hands the bytes to the OS; the syncer
//! fsyncs, each time covering everything the writer handed over while the
//! previous fsync ran, then reports the last durable zxid. Appending never
//! waits for the disk (Apache's SyncRequestProcessor appends and flushes in
//! one thread, so its appends do).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use crate::zookeeper::jute::TxnEntry;
use crate::zookeeper::tree::{DataTree, SessionId, TreeConfig, Zxid, ZxidDigest};

/// Commands one log writer batch can hold before it commits anyway (Apache's
/// `zookeeper.maxBatchSize` default).
pub const LOG_BATCH_TXNS_MAX: usize = 1000;

/// What start-up recovers.
pub struct Recovered {
    pub tree: DataTree,
    pub sessions: BTreeMap<SessionId, i32>,
    pub last_zxid: Zxid,
}

/// The transaction log, as the log writer thread uses it.
pub trait TxnSink: Send + 'static {
    fn append(&mut self, entry: &TxnEntry) -> anyhow::Result<()>;
    /// Hands what was appended to the OS and returns what makes it durable
    /// (`None`: nothing was appended since the last flush).
    fn flush(&mut self) -> anyhow::Result<Option<Arc<dyn Durability>>>;
    /// Makes everything appended durable and closes the file; the next append
    /// starts a new one.
    fn roll(&mut self) -> anyhow::Result<()>;
}

/// Makes what a `flush` handed to the OS durable (fdatasync of one log file);
/// called on the syncer thread.
pub trait Durability: Send + Sync + 'static {
    fn sync(&self) -> anyhow::Result<()>;
    /// Names the file this syncs: consecutive requests naming the same file
    /// share one fsync.
    fn file_id(&self) -> usize;
}

/// Snapshots and purging, called from blocking threads.
pub trait SnapshotSink: Send + Sync + 'static {
    /// A whole snapshot at once (start-up, when nothing else runs).
    fn write_snapshot(
        &self,
        tree: &DataTree,
        sessions: &BTreeMap<SessionId, i32>,
        zxid: Zxid,
    ) -> anyhow::Result<()>;
    /// A snapshot streamed while the server runs: the pipeline encodes it a
    /// few nodes at a time and this writes the bytes.
    fn create(&self, zxid: Zxid) -> anyhow::Result<Box<dyn SnapshotOutput>>;
    fn purge(&self, snapshots_retained: u32) -> anyhow::Result<()>;
}

/// A snapshot file being streamed (see `persistence::SnapshotFile`).
pub trait SnapshotOutput: Send {
    fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()>;
    /// Seals, fsyncs and publishes the snapshot, ending it with `digest`
    /// (see `persistence::snapshot::snapshot_digest`).
    fn finish(self: Box<Self>, digest: Option<ZxidDigest>) -> anyhow::Result<()>;
    /// Discards it.
    fn abandon(self: Box<Self>);
}

/// Everything the server needs from storage.
pub trait Storage: Send + 'static {
    fn recover(&mut self, config: TreeConfig) -> anyhow::Result<Recovered>;
    fn open_log(&mut self) -> anyhow::Result<Box<dyn TxnSink>>;
    fn snapshots(&self) -> std::sync::Arc<dyn SnapshotSink>;
    /// `dataDir` and `dataLogDir`, for `conf` and `dirs` (None in memory).
    fn dirs(&self) -> Option<(PathBuf, PathBuf)>;
}

/// Keeps nothing: a fresh tree on every start.
#[derive(Debug, Default)]
pub struct MemoryStorage;

struct NullSink;

impl TxnSink for NullSink {
    fn append(&mut self, _entry: &TxnEntry) -> anyhow::Result<()> {
        Ok(())
    }
    fn flush(&mut self) -> anyhow::Result<Option<Arc<dyn Durability>>> {
        Ok(Some(Arc::new(NullSink)))
    }
    fn roll(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

impl Durability for NullSink {
    fn sync(&self) -> anyhow::Result<()> {
        Ok(())
    }
    fn file_id(&self) -> usize {
        0
    }
}

impl SnapshotSink for NullSink {
    fn write_snapshot(
        &self,
        _tree: &DataTree,
        _sessions: &BTreeMap<SessionId, i32>,
        _zxid: Zxid,
    ) -> anyhow::Result<()> {
        Ok(())
    }
    fn create(&self, _zxid: Zxid) -> anyhow::Result<Box<dyn SnapshotOutput>> {
        Ok(Box::new(NullSink))
    }
    fn purge(&self, _snapshots_retained: u32) -> anyhow::Result<()> {
        Ok(())
    }
}

impl SnapshotOutput for NullSink {
    fn write(&mut self, _bytes: &[u8]) -> anyhow::Result<()> {
        Ok(())
    }
    fn finish(self: Box<Self>, _digest: Option<ZxidDigest>) -> anyhow::Result<()> {
        Ok(())
    }
    fn abandon(self: Box<Self>) {}
}

impl Storage for MemoryStorage {
    fn recover(&mut self, config: TreeConfig) -> anyhow::Result<Recovered> {
        Ok(Recovered {
            tree: DataTree::new(config),
            sessions: BTreeMap::new(),
            last_zxid: Zxid(0),
        })
    }
    fn open_log(&mut self) -> anyhow::Result<Box<dyn TxnSink>> {
        Ok(Box::new(NullSink))
    }
    fn snapshots(&self) -> std::sync::Arc<dyn SnapshotSink> {
        std::sync::Arc::new(NullSink)
    }
    fn dirs(&self) -> Option<(PathBuf, PathBuf)> {
        None
    }
}

/// A command for the log writer.
#[derive(Debug)]
pub enum LogCommand {
    Append(std::sync::Arc<TxnEntry>),
    Roll,
}

/// What the log writer reports back.
#[derive(Debug)]
pub enum LogReport {
    Durable(Zxid),
    /// The log cannot be written: the server must stop, as Apache's does.
    Failed(String),
}

/// What the writer hands the syncer: a file to fsync and the last zxid in it.
type SyncRequest = (Arc<dyn Durability>, Zxid);

/// The log writer thread's body: runs until the command channel closes, then
/// waits for the syncer to make everything durable. `report` is called from
/// the syncer thread (and from the writer's for a failure).
pub fn run_log_writer(
    mut sink: Box<dyn TxnSink>,
    commands: Receiver<LogCommand>,
    report: impl Fn(LogReport) + Send + Sync + 'static,
) {
    let report = Arc::new(report);
    let (sync_requests, sync_receiver) = std::sync::mpsc::channel::<SyncRequest>();
    let syncer_report = report.clone();
    let syncer = std::thread::Builder::new()
        .name("zookeeper-log-sync".into())
        .spawn(move || run_syncer(sync_receiver, |r| syncer_report(r)));
    let syncer = match syncer {
        Ok(syncer) => syncer,
        Err(error) => {
            report(LogReport::Failed(format!(
                "starting the log syncer: {error}"
            )));
            return;
        }
    };
    while let Ok(first) = commands.recv() {
        let mut last_zxid = None;
        let mut next = Some(first);
        let mut batch_txns = 0;
        let outcome: anyhow::Result<()> = (|| {
            while let Some(command) = next.take() {
                match command {
                    LogCommand::Append(entry) => {
                        sink.append(&entry)?;
                        last_zxid = Some(Zxid(entry.header.zxid));
                        batch_txns += 1;
                    }
                    LogCommand::Roll => {
                        // What went into the old file is made durable there.
                        if let Some(zxid) = last_zxid.take() {
                            if let Some(durability) = sink.flush()? {
                                let _ = sync_requests.send((durability, zxid));
                            }
                        }
                        sink.roll()?;
                    }
                }
                if batch_txns < LOG_BATCH_TXNS_MAX {
                    next = commands.try_recv().ok();
                }
            }
            if let Some(zxid) = last_zxid {
                if let Some(durability) = sink.flush()? {
                    let _ = sync_requests.send((durability, zxid));
                }
            }
            Ok(())
        })();
        if let Err(error) = outcome {
            report(LogReport::Failed(format!("{error:#}")));
            break;
        }
    }
    drop(sync_requests);
    let _ = syncer.join();
}

/// The syncer thread's body: fsyncs what the writer flushed, as much at once
/// as has come in, and reports the last durable zxid after each round.
fn run_syncer(requests: Receiver<SyncRequest>, report: impl Fn(LogReport)) {
    let mut round: Vec<SyncRequest> = Vec::new();
    while let Ok(first) = requests.recv() {
        round.clear();
        round.push(first);
        while let Ok(more) = requests.try_recv() {
            round.push(more);
        }
        let mut durable = None;
        for (index, (durability, zxid)) in round.iter().enumerate() {
            // Consecutive requests for one file share its fsync.
            let last_of_file = round
                .get(index + 1)
                .is_none_or(|(next, _)| next.file_id() != durability.file_id());
            if last_of_file {
                if let Err(error) = durability.sync() {
                    report(LogReport::Failed(format!("{error:#}")));
                    return;
                }
            }
            durable = Some(*zxid);
        }
        if let Some(zxid) = durable {
            report(LogReport::Durable(zxid));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zookeeper::jute::txn::{TxnBody, TxnHeader};
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Recording(Arc<Mutex<Vec<String>>>);

    impl TxnSink for Recording {
        fn append(&mut self, entry: &TxnEntry) -> anyhow::Result<()> {
            self.0
                .lock()
                .unwrap()
                .push(format!("append {}", entry.header.zxid));
            Ok(())
        }
        fn flush(&mut self) -> anyhow::Result<Option<Arc<dyn Durability>>> {
            self.0.lock().unwrap().push("flush".into());
            Ok(Some(Arc::new(self.clone())))
        }
        fn roll(&mut self) -> anyhow::Result<()> {
            self.0.lock().unwrap().push("roll".into());
            Ok(())
        }
    }

    impl Durability for Recording {
        fn sync(&self) -> anyhow::Result<()> {
            Ok(())
        }
        fn file_id(&self) -> usize {
            0
        }
    }

    fn entry(zxid: i64) -> TxnEntry {
        TxnEntry {
            header: TxnHeader {
                client_id: 1,
                cxid: 1,
                zxid,
                time: 0,
                op: -10,
            },
            body: TxnBody::CreateSession(crate::zookeeper::jute::txn::CreateSessionTxn {
                time_out: 1,
            }),
            digest: None,
        }
    }

    #[test]
    fn queued_appends_share_one_flush_and_durability_is_reported_in_order() {
        let (sender, receiver) = std::sync::mpsc::channel();
        for zxid in 1..=3 {
            sender
                .send(LogCommand::Append(Arc::new(entry(zxid))))
                .unwrap();
        }
        sender.send(LogCommand::Roll).unwrap();
        sender.send(LogCommand::Append(Arc::new(entry(4)))).unwrap();
        drop(sender);
        let recording = Recording::default();
        let reports = Arc::new(Mutex::new(Vec::new()));
        let seen = reports.clone();
        run_log_writer(Box::new(recording.clone()), receiver, move |report| {
            if let LogReport::Durable(zxid) = report {
                seen.lock().unwrap().push(zxid.0);
            }
        });
        assert_eq!(
            *recording.0.lock().unwrap(),
            ["append 1", "append 2", "append 3", "flush", "roll", "append 4", "flush"]
        );
        // The syncer may have reported zxid 3 on its own before 4 came in.
        let reports = reports.lock().unwrap().clone();
        assert!(reports == [4] || reports == [3, 4], "{reports:?}");
    }

    #[test]
    fn a_failed_sync_is_reported() {
        struct Failing;
        impl TxnSink for Failing {
            fn append(&mut self, _entry: &TxnEntry) -> anyhow::Result<()> {
                Ok(())
            }
            fn flush(&mut self) -> anyhow::Result<Option<Arc<dyn Durability>>> {
                Ok(Some(Arc::new(FailingSync)))
            }
            fn roll(&mut self) -> anyhow::Result<()> {
                Ok(())
            }
        }
        struct FailingSync;
        impl Durability for FailingSync {
            fn sync(&self) -> anyhow::Result<()> {
                anyhow::bail!("disk gone")
            }
            fn file_id(&self) -> usize {
                0
            }
        }
        let (sender, receiver) = std::sync::mpsc::channel();
        sender.send(LogCommand::Append(Arc::new(entry(1)))).unwrap();
        drop(sender);
        let reports = Arc::new(Mutex::new(Vec::new()));
        let seen = reports.clone();
        run_log_writer(Box::new(Failing), receiver, move |report| {
            seen.lock().unwrap().push(format!("{report:?}"));
        });
        let reports = reports.lock().unwrap().clone();
        assert_eq!(reports.len(), 1);
        assert!(reports[0].contains("disk gone"), "{reports:?}");
    }
}
