//! Bytes Apache ZooKeeper 3.9.4 wrote (captured by
//! `compat-tests/suites/zk-disk-format.sh`), checked against keel without Java:
//! keel must write the same bytes and read them back.

use std::collections::BTreeMap;
use std::fs;

use super::workload::dump;
use crate::zookeeper::jute::{OpCode, TxnBody};
use crate::zookeeper::persistence::log_format::entry_bytes;
use crate::zookeeper::persistence::log_reader::{
    LogFileReader, LogRead, Opened, ENTRY_BYTES_MAX_DEFAULT,
};
use crate::zookeeper::persistence::{read_snapshot, write_snapshot};
use crate::zookeeper::tree::{DataTree, TreeConfig, Zxid};

/// `snapshot.0` of a fresh Apache 3.9.4 standalone server.
const APACHE_EMPTY_SNAPSHOT_HEX: &[&str] = &[
    "5a4b534e00000002ffffffffffffffff000000000000000100000000000000010000000100000001",
    "00000005776f726c6400000006616e796f6e650000000000000000ffffffffffffffff0000000000",
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000a2f7a6f6f6b656570657200000000ffffffffffffff",
    "ff000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000112f7a6f6f6b65657065722f636f6e66",
    "69670000000000000000000000010000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000ffffffff00000000000000000000000000000000000000102f7a",
    "6f6f6b65657065722f71756f746100000000ffffffffffffffff0000000000000000000000000000",
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000012f00000000b8a23b49000000012f00000000000000000000000200000000",
    "000000000000000095b93d59000000012f000000000000000000000000bde83f6d000000012f",
];

/// The header and first four entries of that server's `log.1`: a session,
/// `create /zkcli hello` (by zkCli), a second session and a sequential
/// create; every entry carries Apache's TxnDigest.
const APACHE_LOG_PREFIX_HEX: &[&str] = &[
    "5a4b4c4700000002000000000000000000000000cd490ad20000003001000030f829000000000000",
    "0000000000000001000001a2149eca78fffffff600007530000000020000000051c6d66042000000",
    "009d150fc00000005f01000030f8290000000000010000000000000002000001a2149eca92000000",
    "01000000062f7a6b636c690000000568656c6c6f000000010000001f00000005776f726c64000000",
    "06616e796f6e6500000000010000000200000000e1bdbe114200000000d9180b6c00000030010000",
    "30f8290001000000000000000000000003000001a2149ecdecfffffff60000753000000002000000",
    "00e1bdbe114200000000474c11f80000006801000030f82900010000000100000000000000040000",
    "01a2149ecdff00000001000000132f7a6b636c692f732d3030303030303030303000000001780000",
    "00010000001f00000005776f726c6400000006616e796f6e6500000000010000000200000001dbe1",
    "60f942",
];

fn unhex(parts: &[&str]) -> Vec<u8> {
    let hex: String = parts.concat();
    (0..hex.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&hex[index..index + 2], 16).unwrap())
        .collect()
}

#[test]
fn keel_writes_apaches_empty_snapshot_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let tree = DataTree::new(TreeConfig::default());
    let path = write_snapshot(dir.path(), &tree, &BTreeMap::new(), Zxid(0)).unwrap();
    assert_eq!(fs::read(&path).unwrap(), unhex(APACHE_EMPTY_SNAPSHOT_HEX));
}

#[test]
fn keel_reads_apaches_empty_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapshot.0");
    fs::write(&path, unhex(APACHE_EMPTY_SNAPSHOT_HEX)).unwrap();
    let read = read_snapshot(&path, TreeConfig::default()).unwrap();
    assert_eq!(
        dump(&read.tree),
        dump(&DataTree::new(TreeConfig::default()))
    );
    assert!(read.sessions.is_empty());
}

#[test]
fn keel_reads_apaches_log_entries_and_writes_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.1");
    let bytes = unhex(APACHE_LOG_PREFIX_HEX);
    fs::write(&path, &bytes).unwrap();
    let Opened::Reader(mut reader) = LogFileReader::open(&path, ENTRY_BYTES_MAX_DEFAULT).unwrap()
    else {
        panic!("no header");
    };
    let mut rewritten = bytes[..16].to_vec();
    let mut ops = Vec::new();
    while let LogRead::Entry { entry, .. } = reader.next_entry().unwrap() {
        let digest = entry.digest.clone().expect("Apache 3.9 logs carry digests");
        assert_eq!(digest.version, 2);
        rewritten.extend_from_slice(&entry_bytes(&entry));
        ops.push(entry.op());
        if let TxnBody::Create(create) = &entry.body {
            assert!(create.path.starts_with("/zkcli"), "{create:?}");
        }
    }
    assert_eq!(
        ops,
        [
            OpCode::CreateSession,
            OpCode::Create,
            OpCode::CreateSession,
            OpCode::Create
        ]
    );
    assert_eq!(rewritten, bytes);
}

/// Replays Apache's log entries into a fresh tree: after each, keel's tree
/// digest must be the one Apache recorded in the entry.
fn assert_digests_match_apache(log_bytes: &[u8]) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.1");
    fs::write(&path, log_bytes).unwrap();
    let Opened::Reader(mut reader) = LogFileReader::open(&path, ENTRY_BYTES_MAX_DEFAULT).unwrap()
    else {
        panic!("no header");
    };
    let mut tree = DataTree::new(TreeConfig::default());
    let mut checked = 0;
    while let LogRead::Entry { entry, .. } = reader.next_entry().unwrap() {
        let recorded = entry.digest.clone().expect("Apache 3.9 logs carry digests");
        tree.apply(&entry);
        assert_eq!(
            tree.digest(),
            recorded.tree_digest,
            "after zxid {:#x} ({:?})",
            entry.header.zxid,
            entry.op()
        );
        assert_eq!(tree.digest(), tree.digest_from_scratch());
        checked += 1;
    }
    assert_eq!(tree.digest_mismatches_count(), 0);
    checked
}

#[test]
fn keel_computes_apaches_tree_digests() {
    assert_eq!(assert_digests_match_apache(&unhex(APACHE_LOG_PREFIX_HEX)), 4);
}
