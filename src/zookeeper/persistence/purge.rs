//! `autopurge` and Apache's `PurgeTxnLog`: keep the newest N valid snapshots,
//! and the logs needed to replay from the oldest of them; delete the rest.

use std::fs;
use std::path::Path;

use tracing::{info, warn};

use super::files::{list_zxid_files, logs_covering, version_dir, LOG_PREFIX, SNAPSHOT_PREFIX};
use super::snapshot::is_valid_snapshot;
use super::PersistenceError;

/// `PurgeTxnLog` refuses fewer, and `DatadirCleanupManager` raises a smaller
/// `autopurge.snapRetainCount` to this.
pub const SNAPSHOTS_RETAINED_MIN: u32 = 3;

/// Deletes what recovery can no longer need: every snapshot older than the
/// oldest of the newest `snapshots_retained` (at least 3) valid snapshots, and
/// every log holding only txns before it. With fewer valid snapshots the
/// oldest valid one bounds what goes, as in Apache.
pub fn purge(
    data_dir: &Path,
    data_log_dir: &Path,
    snapshots_retained: u32,
) -> Result<(), PersistenceError> {
    let snapshots_retained = snapshots_retained.max(SNAPSHOTS_RETAINED_MIN) as usize;
    let snapshot_dir = version_dir(data_dir)?;
    let log_dir = version_dir(data_log_dir)?;

    let snapshots = list_zxid_files(&snapshot_dir, SNAPSHOT_PREFIX)?;
    // `findNValidSnapshots`: newest first, and only complete ones (the tail
    // check), so a half-written snapshot never counts as one of the retained.
    let valid: Vec<_> = snapshots
        .iter()
        .rev()
        .filter(|snapshot| is_valid_snapshot(&snapshot.path))
        .take(snapshots_retained)
        .collect();
    let Some(oldest_retained) = valid.last() else {
        return Ok(());
    };
    let keep_from = oldest_retained.zxid;

    let logs = list_zxid_files(&log_dir, LOG_PREFIX)?;
    let retained_logs = logs_covering(&logs, keep_from);
    let doomed = logs
        .iter()
        .filter(|log| log.zxid < keep_from && !retained_logs.contains(log))
        .chain(
            snapshots
                .iter()
                .filter(|snapshot| snapshot.zxid < keep_from),
        );
    for file in doomed {
        info!(path = %file.path.display(), "purge: removing file");
        if let Err(error) = fs::remove_file(&file.path) {
            // Apache prints and carries on; the next purge tries again.
            warn!(path = %file.path.display(), %error, "purge: could not remove file");
        }
    }
    Ok(())
}
