//! `Storage` on Apache's on-disk format (`zookeeper::persistence`): the txn log
//! in `dataLogDir/version-2`, snapshots in `dataDir/version-2`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::storage::{Durability, Recovered, SnapshotOutput, SnapshotSink, Storage, TxnSink};
use crate::zookeeper::jute::TxnEntry;
use crate::zookeeper::persistence::{
    self, LogFileHandle, SnapshotFile, TxnLog, PREALLOCATE_BYTES_DEFAULT,
};
use crate::zookeeper::tree::{DataTree, SessionId, TreeConfig, Zxid, ZxidDigest};

#[derive(Debug, Clone)]
pub struct DiskStorage {
    pub data_dir: PathBuf,
    pub data_log_dir: PathBuf,
    /// `forceSync`: fsync on commit (Apache default yes).
    pub force_sync: bool,
    /// `preAllocSize` (in KB in zoo.cfg): the log's pre-allocation step.
    pub preallocate_bytes: u64,
}

impl DiskStorage {
    pub fn from_config(config: &crate::zookeeper::config::ZooKeeperConfig) -> DiskStorage {
        let preallocate_bytes = config
            .extra_properties
            .get("preAllocSize")
            .and_then(|value| value.parse::<u64>().ok())
            .map_or(PREALLOCATE_BYTES_DEFAULT, |kilobytes| kilobytes * 1024);
        DiskStorage {
            data_dir: config.data_dir.clone(),
            data_log_dir: config.data_log_dir.clone(),
            force_sync: config.force_sync(),
            preallocate_bytes,
        }
    }
}

struct LogSink {
    log: TxnLog,
    force_sync: bool,
}

impl TxnSink for LogSink {
    fn append(&mut self, entry: &TxnEntry) -> anyhow::Result<()> {
        Ok(self.log.append(entry)?)
    }
    fn flush(&mut self) -> anyhow::Result<Option<Arc<dyn Durability>>> {
        let force_sync = self.force_sync;
        Ok(self
            .log
            .flush()?
            .map(|handle| Arc::new(LogFileSync { handle, force_sync }) as Arc<dyn Durability>))
    }
    fn roll(&mut self) -> anyhow::Result<()> {
        Ok(self.log.roll()?)
    }
}

/// fdatasync of a log file (nothing with `forceSync=no`, as Apache).
struct LogFileSync {
    handle: Arc<LogFileHandle>,
    force_sync: bool,
}

impl Durability for LogFileSync {
    fn sync(&self) -> anyhow::Result<()> {
        if self.force_sync {
            self.handle.sync_data()?;
        }
        Ok(())
    }
    fn file_id(&self) -> usize {
        Arc::as_ptr(&self.handle) as usize
    }
}

impl SnapshotOutput for SnapshotFile {
    fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        Ok(SnapshotFile::write(self, bytes)?)
    }
    fn finish(self: Box<Self>, digest: Option<ZxidDigest>) -> anyhow::Result<()> {
        let path = SnapshotFile::finish(*self, digest)?;
        tracing::info!(path = %path.display(), "wrote snapshot");
        Ok(())
    }
    fn abandon(self: Box<Self>) {
        SnapshotFile::abandon(*self)
    }
}

impl SnapshotSink for DiskStorage {
    fn write_snapshot(
        &self,
        tree: &DataTree,
        sessions: &BTreeMap<SessionId, i32>,
        zxid: Zxid,
    ) -> anyhow::Result<()> {
        persistence::write_snapshot(&self.data_dir, tree, sessions, zxid)?;
        Ok(())
    }
    fn create(&self, zxid: Zxid) -> anyhow::Result<Box<dyn SnapshotOutput>> {
        // Not fsynced, as Apache's running snapshots (see `SnapshotFile`).
        Ok(Box::new(SnapshotFile::create(&self.data_dir, zxid, false)?))
    }
    fn purge(&self, snapshots_retained: u32) -> anyhow::Result<()> {
        Ok(persistence::purge(
            &self.data_dir,
            &self.data_log_dir,
            snapshots_retained,
        )?)
    }
}

impl Storage for DiskStorage {
    fn recover(&mut self, config: TreeConfig) -> anyhow::Result<Recovered> {
        let recovered = persistence::recover(&self.data_dir, &self.data_log_dir, config)?;
        let mut tree = recovered.tree;
        if tree.last_processed_zxid() < recovered.last_zxid {
            tree.set_last_processed_zxid(recovered.last_zxid);
        }
        Ok(Recovered {
            tree,
            sessions: recovered.sessions,
            last_zxid: recovered.last_zxid,
        })
    }
    fn open_log(&mut self) -> anyhow::Result<Box<dyn TxnSink>> {
        Ok(Box::new(LogSink {
            log: TxnLog::open(&self.data_log_dir, self.preallocate_bytes)?,
            force_sync: self.force_sync,
        }))
    }
    fn snapshots(&self) -> Arc<dyn SnapshotSink> {
        Arc::new(self.clone())
    }
    fn dirs(&self) -> Option<(PathBuf, PathBuf)> {
        Some((self.data_dir.clone(), self.data_log_dir.clone()))
    }
}
