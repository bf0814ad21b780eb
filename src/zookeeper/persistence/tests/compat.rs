//! The Rust halves of the Apache compatibility check
//! (`compat-tests/suites/zk-disk-format.sh`). They do nothing unless the script
//! sets their variable, so a plain `cargo test` needs no Java:
//!
//! - `KEEL_ZK_DISK_WRITE_DIR`: write a data dir there the way a keel server
//!   would (snapshot.0, logs with a roll, a snapshot in between, live and
//!   closed sessions) and the dump of the tree it holds to `expected.dump`, for
//!   Apache 3.9 to start on.
//! - `KEEL_ZK_DISK_READ_DIR`: recover the data dir Apache wrote there and dump
//!   the tree to `keel.dump`, to compare with what Apache served.

use std::fs;
use std::path::PathBuf;

use super::txn_log::read_all;
use super::workload::{dump, Workload};
use crate::zookeeper::persistence::files::{list_zxid_files, LOG_PREFIX};
use crate::zookeeper::persistence::{recover, write_snapshot, TxnLog, PREALLOCATE_BYTES_DEFAULT};
use crate::zookeeper::tree::{SessionId, TreeConfig, Zxid};

/// Long enough that Apache still holds the live session when it is checked.
const LIVE_SESSION_TIMEOUT_MS: i32 = 120_000;
const LIVE_SESSION: SessionId = SessionId(0x0000_0192_0000_0001);
const CLOSED_SESSION: SessionId = SessionId(0x0000_0192_0000_0002);

fn dir_from(variable: &str) -> Option<PathBuf> {
    std::env::var_os(variable).map(PathBuf::from)
}

#[test]
fn compat_write_data_dir_for_apache() {
    let Some(dir) = dir_from("KEEL_ZK_DISK_WRITE_DIR") else {
        return;
    };
    let mut workload = Workload::new();
    write_snapshot(&dir, &workload.tree, &workload.sessions, Zxid(0)).unwrap();
    let mut log = TxnLog::open(&dir, PREALLOCATE_BYTES_DEFAULT).unwrap();
    let mut logged = 0;
    let mut flush = |workload: &Workload, log: &mut TxnLog| {
        for entry in &workload.entries[logged..] {
            log.append(entry).unwrap();
        }
        logged = workload.entries.len();
        log.commit(true).unwrap();
    };

    workload.open_session(LIVE_SESSION, LIVE_SESSION_TIMEOUT_MS);
    workload.open_session(CLOSED_SESSION, 10_000);
    workload.run_mixed(LIVE_SESSION, CLOSED_SESSION, 1);
    flush(&workload, &mut log);
    // As a server does at snapCount: roll the log, then snapshot.
    log.roll().unwrap();
    write_snapshot(
        &dir,
        &workload.tree,
        &workload.sessions,
        workload.last_zxid(),
    )
    .unwrap();

    workload.run_mixed(LIVE_SESSION, CLOSED_SESSION, 2);
    workload.delete(LIVE_SESSION, "/stage1/readonly");
    workload.set(LIVE_SESSION, "/stage1", b"set after the snapshot");
    workload.close_session(CLOSED_SESSION);
    flush(&workload, &mut log);
    drop(log);

    // keel reads back what it wrote before Apache is asked to.
    let recovered = recover(&dir, &dir, TreeConfig::default()).unwrap();
    assert_eq!(dump(&recovered.tree), dump(&workload.tree));
    assert_eq!(recovered.last_zxid, workload.last_zxid());
    fs::write(dir.join("expected.dump"), dump(&workload.tree)).unwrap();
    // How many txns each log holds, for Apache's TxnLogToolkit to confirm.
    let logs = list_zxid_files(&dir.join("version-2"), LOG_PREFIX).unwrap();
    let counts: String = logs
        .iter()
        .map(|log| format!("{} {}\n", log.name(), read_all(&log.path).len()))
        .collect();
    fs::write(dir.join("expected.log_counts"), counts).unwrap();
    fs::write(
        dir.join("expected.sessions"),
        format!("{:#x}\n", LIVE_SESSION.0),
    )
    .unwrap();
}

#[test]
fn compat_read_apache_data_dir() {
    let Some(dir) = dir_from("KEEL_ZK_DISK_READ_DIR") else {
        return;
    };
    let recovered = recover(&dir, &dir, TreeConfig::default()).unwrap();
    fs::write(dir.join("keel.dump"), dump(&recovered.tree)).unwrap();
    let sessions: String = recovered
        .sessions
        .iter()
        .map(|(session, timeout_ms)| format!("{:#x} {timeout_ms}\n", session.0))
        .collect();
    fs::write(dir.join("keel.sessions"), sessions).unwrap();
    fs::write(
        dir.join("keel.last_zxid"),
        format!("{:#x}\n", recovered.last_zxid.0),
    )
    .unwrap();
}
