//! The log writer and reader: exact bytes, pre-allocation, rolling, and the
//! end of a log.

use std::fs;

use super::workload::Workload;
use crate::zookeeper::jute::TxnEntry;
use crate::zookeeper::persistence::adler32::adler32;
use crate::zookeeper::persistence::files::{list_zxid_files, LOG_PREFIX};
use crate::zookeeper::persistence::log_format::{entry_bytes, log_header_bytes};
use crate::zookeeper::persistence::log_reader::{
    LogFileReader, LogRead, Opened, ENTRY_BYTES_MAX_DEFAULT,
};
use crate::zookeeper::persistence::TxnLog;
use crate::zookeeper::tree::SessionId;

const SESSION: SessionId = SessionId(0x0100_0000_0000_0001);
const OTHER: SessionId = SessionId(0x0100_0000_0000_0002);

fn workload() -> Workload {
    let mut workload = Workload::new();
    workload.open_session(SESSION, 30_000);
    workload.open_session(OTHER, 10_000);
    workload.run_mixed(SESSION, OTHER, 1);
    workload
}

pub fn read_all(path: &std::path::Path) -> Vec<TxnEntry> {
    let Opened::Reader(mut reader) = LogFileReader::open(path, ENTRY_BYTES_MAX_DEFAULT).unwrap()
    else {
        panic!("log without header");
    };
    let mut entries = Vec::new();
    while let LogRead::Entry { entry, .. } = reader.next_entry().unwrap() {
        entries.push(entry);
    }
    entries
}

#[test]
fn file_is_header_then_entries_then_preallocated_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let workload = workload();
    let mut log = TxnLog::open(dir.path(), 16 * 1024).unwrap();
    for entry in &workload.entries {
        log.append(entry).unwrap();
    }
    log.commit(true).unwrap();

    let path = dir.path().join("version-2/log.1");
    assert_eq!(log.current_path(), Some(path.as_path()));
    let bytes = fs::read(&path).unwrap();
    let mut expected = log_header_bytes();
    for entry in &workload.entries {
        expected.extend_from_slice(&entry_bytes(entry));
    }
    assert_eq!(&bytes[..expected.len()], expected.as_slice());
    assert_eq!(log.current_size_bytes(), expected.len() as u64);
    assert!(bytes[expected.len()..].iter().all(|byte| *byte == 0));
    // Apache's steps: header + 16 KB first, then 16 KB more whenever the
    // position comes within 4 KB of the end.
    assert_eq!(
        (bytes.len() - 16) % (16 * 1024),
        0,
        "grown in whole pre-allocation steps"
    );
    assert!(
        bytes.len() >= expected.len(),
        "entries never spill past the allocation here"
    );

    // The first entry's checksum is the Adler-32 of its txn bytes.
    let first = workload.entries[0].to_bytes();
    assert_eq!(&bytes[16..24], &adler32(&first).to_be_bytes());
    assert_eq!(read_all(&path), workload.entries);
}

#[test]
fn default_preallocation_is_64_mb() {
    let dir = tempfile::tempdir().unwrap();
    let workload = workload();
    let mut log = TxnLog::open(
        dir.path(),
        crate::zookeeper::persistence::PREALLOCATE_BYTES_DEFAULT,
    )
    .unwrap();
    log.append(&workload.entries[0]).unwrap();
    log.commit(false).unwrap();
    let length = fs::metadata(dir.path().join("version-2/log.1"))
        .unwrap()
        .len();
    // Exactly the size of Apache's fresh log files.
    assert_eq!(length, 64 * 1024 * 1024 + 16);
}

#[test]
fn without_preallocation_the_file_ends_with_the_last_entry() {
    let dir = tempfile::tempdir().unwrap();
    let workload = workload();
    let mut log = TxnLog::open(dir.path(), 0).unwrap();
    for entry in &workload.entries {
        log.append(entry).unwrap();
    }
    log.commit(true).unwrap();
    let length = fs::metadata(dir.path().join("version-2/log.1"))
        .unwrap()
        .len();
    assert_eq!(length, log.current_size_bytes());
    assert_eq!(
        read_all(&dir.path().join("version-2/log.1")),
        workload.entries
    );
}

#[test]
fn roll_starts_a_file_named_after_the_next_zxid() {
    let dir = tempfile::tempdir().unwrap();
    let workload = workload();
    let mut log = TxnLog::open(dir.path(), 4096).unwrap();
    let (first, second) = workload.entries.split_at(5);
    for entry in first {
        log.append(entry).unwrap();
    }
    log.roll().unwrap();
    // Rolling twice in a row is harmless.
    log.roll().unwrap();
    for entry in second {
        log.append(entry).unwrap();
    }
    log.commit(true).unwrap();
    let files = list_zxid_files(&dir.path().join("version-2"), LOG_PREFIX).unwrap();
    let names: Vec<String> = files.iter().map(|file| file.name()).collect();
    assert_eq!(
        names,
        [
            "log.1".to_string(),
            format!("log.{:x}", second[0].header.zxid)
        ]
    );
    assert_eq!(read_all(&files[0].path), first);
    assert_eq!(read_all(&files[1].path), second);
}

#[test]
fn appends_are_invisible_until_commit() {
    let dir = tempfile::tempdir().unwrap();
    let workload = workload();
    let mut log = TxnLog::open(dir.path(), 0).unwrap();
    log.append(&workload.entries[0]).unwrap();
    let path = dir.path().join("version-2/log.1");
    // Only the header has reached the file: it is flushed on creation.
    assert_eq!(fs::metadata(&path).unwrap().len(), 16);
    log.commit(false).unwrap();
    assert_eq!(read_all(&path), &workload.entries[..1]);
}

#[test]
fn preallocation_steps_follow_apache_across_many_entries() {
    let dir = tempfile::tempdir().unwrap();
    let mut workload = Workload::new();
    workload.open_session(SESSION, 30_000);
    workload.open_session(OTHER, 10_000);
    for stage in 1..=12 {
        workload.run_mixed(SESSION, OTHER, stage);
    }
    let step = 8 * 1024;
    let mut log = TxnLog::open(dir.path(), step).unwrap();
    let path = dir.path().join("version-2/log.1");
    let mut sizes = Vec::new();
    for entry in &workload.entries {
        log.append(entry).unwrap();
        log.commit(false).unwrap();
        let length = fs::metadata(&path).unwrap().len();
        // Small entries never outrun the 4 KB margin, so the file is always
        // the header plus whole steps.
        assert!(length >= log.current_size_bytes());
        assert_eq!((length - 16) % step, 0);
        sizes.push(length);
    }
    assert!(
        sizes.last().unwrap() > &(3 * step),
        "grew several times: {sizes:?}"
    );
    assert!(sizes.windows(2).all(|pair| pair[0] <= pair[1]));
    assert_eq!(read_all(&path), workload.entries);
}
