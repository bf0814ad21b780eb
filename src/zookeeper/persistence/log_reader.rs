//! Reads one txn log file entry by entry, checking each entry's checksum and
//! end-of-record marker as `FileTxnLog.FileTxnIterator` does, and telling the
//! two kinds of damage apart:
//!
//! - a **torn tail**: the last entry was being written when the server died.
//!   Whatever of it reached the disk (in any order: the kernel writes pages
//!   back as it likes) is followed by nothing but zeros (the pre-allocated
//!   tail) or the end of the file, spans no more than one entry can, and holds
//!   no complete entry. Those txns were never acknowledged; the caller cuts
//!   the file before the entry (`truncate_file`) with a warning, provided no
//!   later log holds txns.
//! - **corruption**: anything else, that is a bad entry with more data, or a
//!   valid entry, after it. Acknowledged txns are at stake, so start-up stops
//!   with the file and the byte offset.
//!
//! A zero length followed only by zeros is the end of the entries (the
//! pre-allocated tail), as in Apache.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::adler32::adler32;
use super::log_format::{
    read_file_header, END_OF_RECORD, ENTRY_OVERHEAD_BYTES, FILE_HEADER_BYTES, LOG_MAGIC,
};
use super::PersistenceError;
use crate::zookeeper::jute::codec::BUFFER_BYTES_MAX_DEFAULT;
use crate::zookeeper::jute::TxnEntry;

/// The largest txn an entry may hold: Apache's reader refuses lengths over
/// `jute.maxbuffer` + `zookeeper.jute.maxbuffer.extrasize`, by default twice
/// 0xfffff.
pub const ENTRY_BYTES_MAX_DEFAULT: usize = BUFFER_BYTES_MAX_DEFAULT;

const READ_BUFFER_BYTES: usize = 256 * 1024;
/// A chunk of zeros to compare read chunks against.
static ZEROS: [u8; READ_BUFFER_BYTES] = [0; READ_BUFFER_BYTES];

/// What the next read found.
#[derive(Debug)]
pub enum LogRead {
    Entry {
        entry: TxnEntry,
        offset: u64,
    },
    /// No more entries: the end of the file or the zero-filled tail.
    End,
    /// The last entry was torn while being written (see the module notes);
    /// the entries before `offset` are good.
    TornTail {
        offset: u64,
        reason: String,
    },
}

/// An entry that failed a check, before deciding whether it is a torn tail.
#[derive(Debug)]
struct Damage {
    offset: u64,
    reason: String,
}

/// A log file opened for reading past its header.
pub struct LogFileReader {
    path: PathBuf,
    reader: BufReader<File>,
    position: u64,
    length: u64,
    entry_bytes_max: usize,
}

/// What opening a log file found.
pub enum Opened {
    Reader(LogFileReader),
    /// Shorter than a file header: the server died right after creating it.
    HeaderMissing {
        length: u64,
    },
}

impl LogFileReader {
    pub fn open(path: &Path, entry_bytes_max: usize) -> Result<Opened, PersistenceError> {
        let io_error = |source| PersistenceError::io(path, source);
        let file = File::open(path).map_err(io_error)?;
        let length = file.metadata().map_err(io_error)?.len();
        if length < FILE_HEADER_BYTES {
            return Ok(Opened::HeaderMissing { length });
        }
        let mut reader = LogFileReader {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(READ_BUFFER_BYTES, file),
            position: 0,
            length,
            entry_bytes_max,
        };
        let mut header_bytes = [0u8; FILE_HEADER_BYTES as usize];
        reader.fill(&mut header_bytes)?;
        let header = read_file_header(&header_bytes).expect("16 header bytes read");
        if header.magic != LOG_MAGIC {
            return Err(PersistenceError::corrupt(
                path,
                0,
                format!(
                    "invalid magic number {:#x} (expected {LOG_MAGIC:#x}); not a txn log",
                    header.magic
                ),
            ));
        }
        Ok(Opened::Reader(reader))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next entry, the end, or a torn tail; corruption is an error naming
    /// the file and the entry's offset.
    pub fn next_entry(&mut self) -> Result<LogRead, PersistenceError> {
        let damage = match self.try_next()? {
            Ok(read) => return Ok(read),
            Err(damage) => damage,
        };
        if self.is_torn_tail(damage.offset)? {
            Ok(LogRead::TornTail {
                offset: damage.offset,
                reason: damage.reason,
            })
        } else {
            Err(PersistenceError::corrupt(
                &self.path,
                damage.offset,
                format!("{}, and more data follows it", damage.reason),
            ))
        }
    }

    /// Reads one entry; the inner `Err` is damage still to be classified.
    fn try_next(&mut self) -> Result<Result<LogRead, Damage>, PersistenceError> {
        let offset = self.position;
        let damage = |reason: &str| {
            Ok(Err(Damage {
                offset,
                reason: reason.to_string(),
            }))
        };
        let mut prefix = [0u8; 12];
        let read = self.fill(&mut prefix)?;
        if read == 0 {
            return Ok(Ok(LogRead::End));
        }
        if read < prefix.len() {
            return damage("entry checksum and length cut short");
        }
        let checksum = i64::from_be_bytes(prefix[0..8].try_into().expect("8 bytes"));
        let length = i32::from_be_bytes(prefix[8..12].try_into().expect("4 bytes"));
        if length == 0 {
            // The zero-filled tail, unless something follows: then this is a
            // torn entry whose length never reached the disk, or corruption.
            if self.last_nonzero_end(offset)?.is_none() {
                return Ok(Ok(LogRead::End));
            }
            return damage("entry of length zero");
        }
        if length < 0 || length as usize > self.entry_bytes_max {
            return damage(&format!(
                "unreasonable entry length {length} (limit {})",
                self.entry_bytes_max
            ));
        }
        let mut payload = vec![0u8; length as usize];
        if self.fill(&mut payload)? < payload.len() {
            return damage("entry cut short by the end of the file");
        }
        let mut marker = [0u8; 1];
        if self.fill(&mut marker)? == 0 || marker[0] != END_OF_RECORD {
            return damage("entry lacks its end-of-record marker 'B'");
        }
        if adler32(&payload) != checksum {
            return damage("entry checksum mismatch");
        }
        match TxnEntry::from_bytes(&payload, self.entry_bytes_max) {
            Ok(entry) => Ok(Ok(LogRead::Entry { entry, offset })),
            Err(error) => damage(&format!("undecodable txn: {error}")),
        }
    }

    /// Whether the damaged entry at `offset` is a torn last write: the
    /// non-zero bytes from there on fit in one entry and contain no complete
    /// entry.
    fn is_torn_tail(&mut self, offset: u64) -> Result<bool, PersistenceError> {
        let span_max = self.entry_bytes_max as u64 + ENTRY_OVERHEAD_BYTES;
        let Some(end) = self.last_nonzero_end(offset)? else {
            return Ok(true);
        };
        if end - offset > span_max {
            return Ok(false);
        }
        self.reader
            .seek(SeekFrom::Start(offset))
            .map_err(|source| PersistenceError::io(&self.path, source))?;
        self.position = offset;
        let mut region = vec![0u8; (end - offset) as usize];
        self.fill(&mut region)?;
        Ok(!holds_complete_entry(&region[1..], self.entry_bytes_max))
    }

    /// One past the last non-zero byte at or after `from`; `None` if only
    /// zeros follow. Leaves the reader at the end of the file.
    fn last_nonzero_end(&mut self, from: u64) -> Result<Option<u64>, PersistenceError> {
        if from >= self.length {
            return Ok(None);
        }
        self.reader
            .seek(SeekFrom::Start(from))
            .map_err(|source| PersistenceError::io(&self.path, source))?;
        self.position = from;
        let mut chunk = vec![0u8; READ_BUFFER_BYTES];
        let mut end = None;
        loop {
            let chunk_start = self.position;
            let read = self.fill(&mut chunk)?;
            if read == 0 {
                return Ok(end);
            }
            // Preallocated tails are tens of megabytes of zeros: compare whole chunks
            // (a memcmp, fast even in debug builds) before looking for the last byte.
            if chunk[..read] == ZEROS[..read] {
                continue;
            }
            if let Some(index) = chunk[..read].iter().rposition(|byte| *byte != 0) {
                end = Some(chunk_start + index as u64 + 1);
            }
        }
    }

    /// Reads until `buffer` is full or the file ends; returns the bytes read.
    fn fill(&mut self, buffer: &mut [u8]) -> Result<usize, PersistenceError> {
        let mut filled = 0;
        while filled < buffer.len() {
            match self.reader.read(&mut buffer[filled..]) {
                Ok(0) => break,
                Ok(read) => filled += read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(PersistenceError::io(&self.path, source)),
            }
        }
        self.position += filled as u64;
        Ok(filled)
    }
}

/// Whether a complete, valid entry (length, 'B', checksum and a decodable
/// txn) starts anywhere in `bytes`.
fn holds_complete_entry(bytes: &[u8], entry_bytes_max: usize) -> bool {
    (0..bytes.len()).any(|start| {
        let rest = &bytes[start..];
        if rest.len() < ENTRY_OVERHEAD_BYTES as usize {
            return false;
        }
        let length = i32::from_be_bytes(rest[8..12].try_into().expect("4 bytes"));
        if length <= 0 || length as usize > entry_bytes_max {
            return false;
        }
        let end = 12 + length as usize;
        if end >= rest.len() || rest[end] != END_OF_RECORD {
            return false;
        }
        let payload = &rest[12..end];
        let checksum = i64::from_be_bytes(rest[0..8].try_into().expect("8 bytes"));
        adler32(payload) == checksum && TxnEntry::from_bytes(payload, entry_bytes_max).is_ok()
    })
}

/// Cuts a file to `length` bytes and makes that durable.
pub fn truncate_file(path: &Path, length: u64) -> Result<(), PersistenceError> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|source| PersistenceError::io(path, source))?;
    file.set_len(length)
        .and_then(|()| file.sync_all())
        .map_err(|source| PersistenceError::io(path, source))
}
