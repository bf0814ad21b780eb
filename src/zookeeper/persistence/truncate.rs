//! Truncating the txn log to a zxid, as a learner does on the leader's TRUNC
//! (`FileTxnSnapLog.truncateLog`): entries after the zxid are cut from the log
//! that holds it, later logs are deleted, and so are snapshots newer than the
//! zxid (they would bring the cut txns back on the next start). The caller then
//! rebuilds its tree from disk.

use std::fs;
use std::path::Path;

use super::files::{list_zxid_files, sync_dir, version_dir, LOG_PREFIX, SNAPSHOT_PREFIX};
use super::log_reader::{truncate_file, LogFileReader, LogRead, Opened};
use super::PersistenceError;
use crate::zookeeper::tree::Zxid;

/// Cuts every txn after `zxid` from the logs in `data_log_dir` and removes the
/// snapshots of `data_dir` newer than it. Returns how many txns were removed
/// from the file that held `zxid` (whole files deleted are not counted).
pub fn truncate_log(
    data_dir: &Path,
    data_log_dir: &Path,
    zxid: Zxid,
    entry_bytes_max: usize,
) -> Result<usize, PersistenceError> {
    let log_dir = version_dir(data_log_dir)?;
    let logs = list_zxid_files(&log_dir, LOG_PREFIX)?;
    let mut cut = 0;
    for log in &logs {
        if log.zxid > zxid {
            fs::remove_file(&log.path).map_err(|source| PersistenceError::io(&log.path, source))?;
            continue;
        }
        // A log starting at or before `zxid`: cut it at the first later entry.
        let Opened::Reader(mut reader) = LogFileReader::open(&log.path, entry_bytes_max)? else {
            continue;
        };
        loop {
            match reader.next_entry()? {
                LogRead::Entry { entry, offset } if entry.header.zxid > zxid.0 => {
                    truncate_file(&log.path, offset)?;
                    cut += 1;
                    while let LogRead::Entry { .. } = reader.next_entry()? {
                        cut += 1;
                    }
                    break;
                }
                LogRead::Entry { .. } => {}
                LogRead::End => break,
                LogRead::TornTail { offset, .. } => {
                    truncate_file(&log.path, offset)?;
                    break;
                }
            }
        }
    }
    sync_dir(&log_dir)?;
    let snapshot_dir = version_dir(data_dir)?;
    for snapshot in list_zxid_files(&snapshot_dir, SNAPSHOT_PREFIX)? {
        if snapshot.zxid > zxid {
            fs::remove_file(&snapshot.path)
                .map_err(|source| PersistenceError::io(&snapshot.path, source))?;
        }
    }
    sync_dir(&snapshot_dir)?;
    Ok(cut)
}
