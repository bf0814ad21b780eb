//! Where the pipeline's txns and snapshots go. The driver talks to a `Storage`;
//! `DiskStorage` is Apache's on-disk format (`zookeeper::persistence`),
//! `MemoryStorage` keeps nothing (tests that need no disk).
//!
//! The log writer is one OS thread: it takes every command queued while the
//! previous fsync ran, appends them all and commits once (group commit, as
//! Apache's SyncRequestProcessor), then reports the last durable zxid.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;

use crate::zookeeper::jute::TxnEntry;
use crate::zookeeper::tree::{DataTree, SessionId, TreeConfig, Zxid};

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
    fn commit(&mut self) -> anyhow::Result<()>;
    fn roll(&mut self) -> anyhow::Result<()>;
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
    /// Seals, fsyncs and publishes the snapshot.
    fn finish(self: Box<Self>) -> anyhow::Result<()>;
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
    fn commit(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
    fn roll(&mut self) -> anyhow::Result<()> {
        Ok(())
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
    fn finish(self: Box<Self>) -> anyhow::Result<()> {
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

/// The log writer thread's body: runs until the command channel closes.
pub fn run_log_writer(
    mut sink: Box<dyn TxnSink>,
    commands: Receiver<LogCommand>,
    report: impl Fn(LogReport),
) {
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
                        // Everything before the roll is made durable in the
                        // file it belongs to.
                        sink.commit()?;
                        sink.roll()?;
                    }
                }
                if batch_txns < LOG_BATCH_TXNS_MAX {
                    next = commands.try_recv().ok();
                }
            }
            sink.commit()
        })();
        match outcome {
            Ok(()) => {
                if let Some(zxid) = last_zxid {
                    report(LogReport::Durable(zxid));
                }
            }
            Err(error) => {
                report(LogReport::Failed(format!("{error:#}")));
                return;
            }
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
        fn commit(&mut self) -> anyhow::Result<()> {
            self.0.lock().unwrap().push("commit".into());
            Ok(())
        }
        fn roll(&mut self) -> anyhow::Result<()> {
            self.0.lock().unwrap().push("roll".into());
            Ok(())
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
    fn queued_appends_share_one_commit() {
        let (sender, receiver) = std::sync::mpsc::channel();
        for zxid in 1..=3 {
            sender.send(LogCommand::Append(Arc::new(entry(zxid)))).unwrap();
        }
        sender.send(LogCommand::Roll).unwrap();
        sender.send(LogCommand::Append(Arc::new(entry(4)))).unwrap();
        drop(sender);
        let recording = Recording::default();
        let reports = Mutex::new(Vec::new());
        run_log_writer(Box::new(recording.clone()), receiver, |report| {
            if let LogReport::Durable(zxid) = report {
                reports.lock().unwrap().push(zxid.0);
            }
        });
        assert_eq!(
            *recording.0.lock().unwrap(),
            ["append 1", "append 2", "append 3", "commit", "roll", "append 4", "commit"]
        );
        assert_eq!(*reports.lock().unwrap(), [4]);
    }
}
