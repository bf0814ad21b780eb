//! `TxnLog`: appends txns to `<dataLogDir>/version-2/log.<zxid>` as Apache's
//! `FileTxnLog` does. `append` only buffers; `commit` is the group-commit point
//! (flush, then fsync unless `forceSync=no`); `roll` makes the next append open
//! a new file, named after that append's zxid.
//!
//! Files are pre-allocated with zeros, `preallocate_bytes` at a time (Apache's
//! `zookeeper.preAllocSize`, 64 MB), whenever the write position comes within
//! 4 KB of the allocated end, so fsync rarely has to update the file size. A
//! reader takes the first zero length as the end of the log.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing::{info, warn};

use super::files::{log_file_name, sync_dir, version_dir};
use super::log_format::{encode_entry, log_header_bytes, FILE_HEADER_BYTES};
use super::PersistenceError;
use crate::zookeeper::jute::TxnEntry;
use crate::zookeeper::tree::Zxid;

/// `FilePadding.preAllocSize`: 65536 KB.
pub const PREALLOCATE_BYTES_DEFAULT: u64 = 64 * 1024 * 1024;

/// `FilePadding.calculateFileSizeWithPadding` extends the file once the write
/// position is this close to its allocated end.
const PREALLOCATE_MARGIN_BYTES: u64 = 4096;

/// Writes go to the OS in pieces of this size between commits.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// A log file, for making what was flushed to it durable from another thread
/// (`TxnLog::flush`): fdatasync covers every byte written before it starts,
/// through any descriptor of the file.
#[derive(Debug)]
pub struct LogFileHandle {
    file: File,
    path: PathBuf,
}

impl LogFileHandle {
    /// fdatasync, as Apache's `FileChannel.force(false)`.
    pub fn sync_data(&self) -> Result<(), PersistenceError> {
        self.file
            .sync_data()
            .map_err(|source| PersistenceError::io(&self.path, source))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The log file being appended to.
#[derive(Debug)]
struct OpenLog {
    path: PathBuf,
    writer: BufWriter<File>,
    /// The same file, for `flush`'s callers to fsync.
    handle: Arc<LogFileHandle>,
    /// `position_bytes` at the last flush.
    flushed_bytes: u64,
    /// Bytes written so far (header and entries, buffered or not).
    position_bytes: u64,
    /// The file's length including pre-allocated zeros.
    allocated_bytes: u64,
}

/// The txn log of one server.
#[derive(Debug)]
pub struct TxnLog {
    log_dir: PathBuf,
    preallocate_bytes: u64,
    current: Option<OpenLog>,
    last_zxid_appended: Option<Zxid>,
    /// Where each entry is encoded before it is written (reused).
    scratch: Vec<u8>,
}

impl TxnLog {
    /// Opens the log directory `<data_log_dir>/version-2` (creating it). No file
    /// is opened until the first append, as in Apache: a log file is named
    /// after its first txn. `preallocate_bytes` of 0 turns pre-allocation off.
    pub fn open(data_log_dir: &Path, preallocate_bytes: u64) -> Result<TxnLog, PersistenceError> {
        Ok(TxnLog {
            log_dir: version_dir(data_log_dir)?,
            preallocate_bytes,
            current: None,
            last_zxid_appended: None,
            scratch: Vec::new(),
        })
    }

    /// Buffers one txn. Nothing is durable until `commit`.
    pub fn append(&mut self, entry: &TxnEntry) -> Result<(), PersistenceError> {
        let zxid = Zxid(entry.header.zxid);
        match self.last_zxid_appended {
            // Apache only warns too: replaying a leader's proposals can repeat one.
            Some(last) if zxid <= last => {
                warn!(%zxid, %last, "txn log append does not advance the zxid");
            }
            _ => self.last_zxid_appended = Some(zxid),
        }
        if self.current.is_none() {
            self.current = Some(self.create_file(zxid)?);
        }
        let preallocate_bytes = self.preallocate_bytes;
        let log = self.current.as_mut().expect("opened above");
        self.scratch.clear();
        encode_entry(&mut self.scratch, entry);
        log.preallocate(preallocate_bytes)?;
        log.writer
            .write_all(&self.scratch)
            .map_err(|source| PersistenceError::io(&log.path, source))?;
        log.position_bytes += self.scratch.len() as u64;
        Ok(())
    }

    /// Makes every appended txn durable: flushes the buffer and, with
    /// `force_sync` (Apache's `forceSync`, default yes), fsyncs the file. Only
    /// after this returns may the server acknowledge those writes.
    pub fn commit(&mut self, force_sync: bool) -> Result<(), PersistenceError> {
        let Some(log) = self.current.as_mut() else {
            return Ok(());
        };
        log.writer
            .flush()
            .map_err(|source| PersistenceError::io(&log.path, source))?;
        log.flushed_bytes = log.position_bytes;
        if force_sync {
            // fdatasync, as Apache's `FileChannel.force(false)`; the length
            // changes pre-allocation makes are covered because data past the
            // old length depends on them.
            log.writer
                .get_ref()
                .sync_data()
                .map_err(|source| PersistenceError::io(&log.path, source))?;
        }
        Ok(())
    }

    /// Hands every appended txn to the OS, without waiting for the disk, and
    /// returns the file to fdatasync to make them durable (`None` when nothing
    /// was appended since the last flush). Pipelined group commit: appends
    /// go on while another thread syncs.
    pub fn flush(&mut self) -> Result<Option<Arc<LogFileHandle>>, PersistenceError> {
        let Some(log) = self.current.as_mut() else {
            return Ok(None);
        };
        if log.flushed_bytes == log.position_bytes {
            return Ok(None);
        }
        log.writer
            .flush()
            .map_err(|source| PersistenceError::io(&log.path, source))?;
        log.flushed_bytes = log.position_bytes;
        Ok(Some(log.handle.clone()))
    }

    /// Closes the current file (flushed and fsynced, so a roll never loses
    /// what was appended before it); the next append opens `log.<its zxid>`.
    pub fn roll(&mut self) -> Result<(), PersistenceError> {
        if let Some(mut log) = self.current.take() {
            log.writer
                .flush()
                .map_err(|source| PersistenceError::io(&log.path, source))?;
            log.writer
                .get_ref()
                .sync_data()
                .map_err(|source| PersistenceError::io(&log.path, source))?;
            info!(path = %log.path.display(), bytes = log.position_bytes, "rolled txn log");
        }
        Ok(())
    }

    /// The file being appended to, if any.
    pub fn current_path(&self) -> Option<&Path> {
        self.current.as_ref().map(|log| log.path.as_path())
    }

    /// Bytes of header and entries in the current file (pre-allocation excluded).
    pub fn current_size_bytes(&self) -> u64 {
        self.current.as_ref().map_or(0, |log| log.position_bytes)
    }

    fn create_file(&self, first_zxid: Zxid) -> Result<OpenLog, PersistenceError> {
        let path = self.log_dir.join(log_file_name(first_zxid));
        info!(path = %path.display(), "creating new txn log file");
        // Truncating, as Apache's `new FileOutputStream(file)`: a file of this
        // name can only be one whose txns were never acknowledged (recovery
        // truncated its torn tail down to the header).
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|source| PersistenceError::io(&path, source))?;
        let handle = Arc::new(LogFileHandle {
            file: file
                .try_clone()
                .map_err(|source| PersistenceError::io(&path, source))?,
            path: path.clone(),
        });
        let mut writer = BufWriter::with_capacity(WRITE_BUFFER_BYTES, file);
        writer
            .write_all(&log_header_bytes())
            .and_then(|()| writer.flush())
            .map_err(|source| PersistenceError::io(&path, source))?;
        // The new name must survive a crash as surely as the txns in it.
        sync_dir(&self.log_dir)?;
        Ok(OpenLog {
            path,
            writer,
            handle,
            flushed_bytes: FILE_HEADER_BYTES,
            position_bytes: FILE_HEADER_BYTES,
            allocated_bytes: FILE_HEADER_BYTES,
        })
    }
}

impl OpenLog {
    /// Grows the file with zeros before an entry is written, exactly as
    /// `FilePadding.calculateFileSizeWithPadding` does, so keel's files have
    /// Apache's sizes (64 MB + 16 for the first step): once the write position
    /// is within 4 KB of the allocated end, extend by `preallocate_bytes`, or,
    /// when writes already ran past the allocation, to the next multiple of it
    /// beyond the position.
    fn preallocate(&mut self, preallocate_bytes: u64) -> Result<(), PersistenceError> {
        if preallocate_bytes == 0
            || self.position_bytes + PREALLOCATE_MARGIN_BYTES < self.allocated_bytes
        {
            return Ok(());
        }
        let allocated = if self.position_bytes > self.allocated_bytes {
            let grown = self.position_bytes + preallocate_bytes;
            grown - grown % preallocate_bytes
        } else {
            self.allocated_bytes + preallocate_bytes
        };
        // A sparse extension reads back as zeros, as Apache's single byte
        // written at the new end does.
        self.writer
            .get_ref()
            .set_len(allocated)
            .map_err(|source| PersistenceError::io(&self.path, source))?;
        self.allocated_bytes = allocated;
        Ok(())
    }
}

impl Drop for TxnLog {
    fn drop(&mut self) {
        // Best effort: a server shutting down cleanly should have committed.
        if let Some(log) = self.current.as_mut() {
            if let Err(error) = log.writer.flush() {
                warn!(path = %log.path.display(), %error, "could not flush txn log on close");
            }
        }
    }
}
