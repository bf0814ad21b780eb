//! Durability in Apache ZooKeeper's own on-disk format, so that Apache 3.9 starts
//! on a data dir keel wrote and keel starts on one Apache wrote.
//!
//! - `<dataLogDir>/version-2/log.<hex zxid of its first txn>`: a file header, then
//!   per txn its Adler-32, the length-prefixed txn bytes and an end-of-record
//!   byte; pre-allocated with zeros in 64 MB steps.
//! - `<dataDir>/version-2/snapshot.<hex last zxid>`: a file header, sessions, the
//!   ACL cache and every node, sealed with an Adler-32 of the stream.
//!
//! Recovery loads the newest valid snapshot and replays the logs after it; the
//! server appends and commits (the group fsync) through `TxnLog`, snapshots every
//! `snapCount` txns with `write_snapshot` and purges with `purge`.
//!
//! # Layout
//! - `adler32`: the checksum of log entries and snapshot seals.
//! - `files`: file names, the version-2 directory, listing and ordering.
//! - `log_format`: the file header and one entry's framing, as bytes.
//! - `txn_log`: `TxnLog`, the appending writer with pre-allocation.
//! - `log_reader`: reads one log file, telling a torn tail from corruption.
//! - `snapshot`: writes and reads snapshot files.
//! - `recover`: snapshot + log replay at start-up (`recover`, `Recovered`).
//! - `purge`: `autopurge` / `PurgeTxnLog`.
//!
//! Architecture invariant: this module decides nothing about the tree; it
//! stores txns and trees and hands them back, applying txns only through
//! `DataTree::apply`.

pub mod adler32;
pub mod epoch;
pub mod files;
pub mod log_format;
pub mod log_reader;
pub mod purge;
pub mod recover;
pub mod snapshot;
pub mod truncate;
pub mod txn_log;

#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use purge::purge;
pub use recover::{recover, Recovered};
pub use snapshot::{read_snapshot, write_snapshot, SnapshotContents, SnapshotFile};
pub use txn_log::{LogFileHandle, TxnLog, PREALLOCATE_BYTES_DEFAULT};

/// Why the txn log or a snapshot could not be written or read.
#[derive(Debug, Error)]
pub enum PersistenceError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Bytes that cannot be what Apache or keel wrote, at a known place: start-up
    /// stops here rather than serve a tree that lost or garbled txns.
    #[error("{path} is corrupt at byte offset {offset}: {reason}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    /// Snapshots exist but none of them reads back (Apache: "Not able to find
    /// valid snapshots").
    #[error("no valid snapshot in {dir} (tried {tried})")]
    NoValidSnapshot { dir: PathBuf, tried: usize },
    /// Logs without any snapshot: Apache refuses to start on these too, since
    /// the txns before the oldest log are lost ("No snapshot found, but there
    /// are log entries. Something is broken!").
    #[error("no snapshot in {snapshot_dir}, but there are txn logs in {log_dir}")]
    LogsWithoutSnapshot {
        snapshot_dir: PathBuf,
        log_dir: PathBuf,
    },
    /// `dataDir` and `dataLogDir` differ and one holds the other's files
    /// (Apache's ZOOKEEPER-2967 check).
    #[error("{dir} holds {found} files; check dataDir and dataLogDir")]
    MisplacedFiles { dir: PathBuf, found: &'static str },
}

impl PersistenceError {
    pub(crate) fn io(path: impl AsRef<Path>, source: io::Error) -> PersistenceError {
        PersistenceError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub(crate) fn corrupt(
        path: impl AsRef<Path>,
        offset: u64,
        reason: impl Into<String>,
    ) -> PersistenceError {
        PersistenceError::Corrupt {
            path: path.as_ref().to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}
