//! Start-up: the newest snapshot that reads back whole, then every logged txn
//! after it, in zxid order, applied with `DataTree::apply`. Mirrors Apache's
//! `FileTxnSnapLog.restore` and `fastForwardFromEdits`, including its two
//! refusals: logs without any snapshot, and snapshots none of which is valid.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use tracing::{info, warn};

use super::files::{
    list_zxid_files, logs_covering, version_dir, ZxidFile, LOG_PREFIX, SNAPSHOT_PREFIX,
};
use super::log_reader::{truncate_file, LogFileReader, LogRead, Opened, ENTRY_BYTES_MAX_DEFAULT};
use super::snapshot::{read_snapshot, write_snapshot, SnapshotContents};
use super::PersistenceError;
use crate::zookeeper::jute::{TxnBody, TxnEntry};
use crate::zookeeper::tree::{DataTree, SessionId, TreeConfig, Zxid};

/// `FileSnap.deserialize` tries at most this many snapshots, newest first.
const SNAPSHOTS_TRIED_MAX: usize = 100;

/// The state a server starts from.
#[derive(Debug)]
pub struct Recovered {
    pub tree: DataTree,
    /// Sessions alive at the last txn, with their negotiated timeouts.
    pub sessions: BTreeMap<SessionId, i32>,
    /// The last txn in the tree; the server's next zxid follows it.
    pub last_zxid: Zxid,
}

/// Loads the newest valid snapshot from `<data_dir>/version-2` and replays the
/// logs of `<data_log_dir>/version-2` over it.
///
/// On an empty data dir this writes `snapshot.0` of a fresh tree, as Apache's
/// `restore` does, so that the logs written next always have a snapshot to
/// start from (Apache refuses logs without one).
///
/// Call it before `TxnLog::open`: it may cut a torn last entry off the newest
/// log (with a warning). A damaged entry with data after it is an error naming
/// the file and byte offset, and start-up should stop there.
///
/// The caller still owns what Apache's `ZooKeeperServer.loadData` does next:
/// deleting the ephemerals of sessions missing from `sessions`, and taking a
/// clean snapshot.
pub fn recover(
    data_dir: &Path,
    data_log_dir: &Path,
    tree_config: TreeConfig,
) -> Result<Recovered, PersistenceError> {
    let snapshot_dir = version_dir(data_dir)?;
    let log_dir = version_dir(data_log_dir)?;
    check_directories(&snapshot_dir, &log_dir)?;
    let logs = list_zxid_files(&log_dir, LOG_PREFIX)?;

    let Some(snapshot) = load_newest_valid_snapshot(&snapshot_dir, &tree_config)? else {
        if !logs.is_empty() {
            return Err(PersistenceError::LogsWithoutSnapshot {
                snapshot_dir,
                log_dir,
            });
        }
        let tree = DataTree::new(tree_config);
        let sessions = BTreeMap::new();
        write_snapshot(data_dir, &tree, &sessions, Zxid(0))?;
        info!(dir = %snapshot_dir.display(), "empty data dir: starting from an empty tree");
        return Ok(Recovered {
            tree,
            sessions,
            last_zxid: Zxid(0),
        });
    };

    let mut recovered = Recovered {
        tree: snapshot.tree,
        sessions: snapshot.sessions,
        last_zxid: snapshot.zxid,
    };
    let replayed = replay_logs(&logs_covering(&logs, snapshot.zxid), &mut recovered)?;
    recovered.tree.set_last_processed_zxid(recovered.last_zxid);
    info!(
        snapshot_zxid = %snapshot.zxid,
        replayed,
        last_zxid = %recovered.last_zxid,
        nodes = recovered.tree.node_count(),
        sessions = recovered.sessions.len(),
        "recovered data tree"
    );
    Ok(recovered)
}

/// With separate `dataDir` and `dataLogDir`, each must hold only its own kind
/// of file (Apache's ZOOKEEPER-2967 check).
fn check_directories(snapshot_dir: &Path, log_dir: &Path) -> Result<(), PersistenceError> {
    // Both exist by now; canonical forms make "data" and "./data/" one dir.
    let canonical = |dir: &Path| fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if canonical(snapshot_dir) == canonical(log_dir) {
        return Ok(());
    }
    if !list_zxid_files(log_dir, SNAPSHOT_PREFIX)?.is_empty() {
        return Err(PersistenceError::MisplacedFiles {
            dir: log_dir.to_path_buf(),
            found: "snapshot",
        });
    }
    if !list_zxid_files(snapshot_dir, LOG_PREFIX)?.is_empty() {
        return Err(PersistenceError::MisplacedFiles {
            dir: snapshot_dir.to_path_buf(),
            found: "txn log",
        });
    }
    Ok(())
}

/// The contents of the newest snapshot that reads back whole; broken ones are skipped with a warning, as Apache skips them.
fn load_newest_valid_snapshot(
    snapshot_dir: &Path,
    tree_config: &TreeConfig,
) -> Result<Option<SnapshotContents>, PersistenceError> {
    let snapshots = list_zxid_files(snapshot_dir, SNAPSHOT_PREFIX)?;
    if snapshots.is_empty() {
        return Ok(None);
    }
    let mut tried = 0;
    for snapshot in snapshots.iter().rev().take(SNAPSHOTS_TRIED_MAX) {
        tried += 1;
        match read_snapshot(&snapshot.path, tree_config.clone()) {
            Ok(contents) => {
                info!(path = %snapshot.path.display(), "loaded snapshot");
                return Ok(Some(contents));
            }
            Err(error) => warn!(%error, "skipping unusable snapshot"),
        }
    }
    Err(PersistenceError::NoValidSnapshot {
        dir: snapshot_dir.to_path_buf(),
        tried,
    })
}

/// Applies every txn newer than the tree, log by log; returns how many.
fn replay_logs(logs: &[ZxidFile], recovered: &mut Recovered) -> Result<u64, PersistenceError> {
    let mut replayed = 0;
    for (index, log) in logs.iter().enumerate() {
        let later_logs = &logs[index + 1..];
        let mut reader = match LogFileReader::open(&log.path, ENTRY_BYTES_MAX_DEFAULT)? {
            Opened::Reader(reader) => reader,
            Opened::HeaderMissing { length } => {
                remove_headless_log(&log.path, length, later_logs.is_empty())?;
                continue;
            }
        };
        loop {
            match reader.next_entry()? {
                LogRead::Entry { entry, .. } => {
                    let zxid = Zxid(entry.header.zxid);
                    // Already in the snapshot, or a txn repeated across logs.
                    if zxid > recovered.last_zxid {
                        apply(recovered, &entry);
                        recovered.last_zxid = zxid;
                        replayed += 1;
                    }
                }
                LogRead::End => break,
                LogRead::TornTail { offset, reason } => {
                    cut_torn_tail(&log.path, offset, &reason, later_logs)?;
                    break;
                }
            }
        }
    }
    Ok(replayed)
}

/// A torn entry is only the crash's last write if no later log holds txns:
/// those could only have been written after it was complete, so otherwise the
/// disk lost acknowledged data.
fn cut_torn_tail(
    path: &Path,
    offset: u64,
    reason: &str,
    later_logs: &[ZxidFile],
) -> Result<(), PersistenceError> {
    if let Some(later) = first_log_with_entries(later_logs)? {
        return Err(PersistenceError::corrupt(
            path,
            offset,
            format!("{reason}, and {} holds later txns", later.display()),
        ));
    }
    warn!(
        path = %path.display(),
        offset,
        reason,
        "truncating torn txn at the end of the log; it was never acknowledged"
    );
    truncate_file(path, offset)
}

fn first_log_with_entries(logs: &[ZxidFile]) -> Result<Option<&Path>, PersistenceError> {
    for log in logs {
        if let Opened::Reader(mut reader) = LogFileReader::open(&log.path, ENTRY_BYTES_MAX_DEFAULT)?
        {
            if let LogRead::Entry { .. } = reader.next_entry()? {
                return Ok(Some(&log.path));
            }
        }
    }
    Ok(None)
}

/// `FileTxnSnapLog.processTransaction`: sessions follow createSession and
/// closeSession; everything goes through the tree.
fn apply(recovered: &mut Recovered, entry: &TxnEntry) {
    let session = SessionId(entry.header.client_id);
    match &entry.body {
        TxnBody::CreateSession(txn) => {
            recovered.sessions.insert(session, txn.time_out);
        }
        TxnBody::CloseSession(_) => {
            recovered.sessions.remove(&session);
        }
        _ => {}
    }
    // Failed results (a create whose node exists, say) are expected when a
    // log overlaps a fuzzy snapshot; Apache ignores them too. Watch
    // notifications have nobody to go to yet.
    let _ = recovered.tree.apply(entry);
}

/// A log file shorter than its header: the server died right after creating
/// it. Apache deletes such a file when it is the last one; anywhere else it
/// means lost txns.
fn remove_headless_log(path: &Path, length: u64, is_last: bool) -> Result<(), PersistenceError> {
    if !is_last {
        return Err(PersistenceError::corrupt(
            path,
            0,
            format!("only {length} bytes, no file header, and later logs follow"),
        ));
    }
    warn!(path = %path.display(), length, "deleting txn log that has no header (torn at creation)");
    fs::remove_file(path).map_err(|source| PersistenceError::io(path, source))
}
