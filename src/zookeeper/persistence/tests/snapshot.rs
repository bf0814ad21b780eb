//! Snapshot files: layout, seals, round trips and refusals.

use std::collections::BTreeMap;
use std::fs;

use super::workload::{dump, Workload};
use crate::zookeeper::persistence::adler32::adler32;
use crate::zookeeper::persistence::snapshot::is_valid_snapshot;
use crate::zookeeper::persistence::{read_snapshot, write_snapshot, PersistenceError};
use crate::zookeeper::tree::{DataTree, SessionId, TreeConfig, Zxid};

const SESSION: SessionId = SessionId(0x0100_0000_0000_0001);
const OTHER: SessionId = SessionId(0x0100_0000_0000_0002);

/// Finds `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[test]
fn empty_tree_snapshot_layout() {
    let dir = tempfile::tempdir().unwrap();
    let tree = DataTree::new(TreeConfig::default());
    let path = write_snapshot(dir.path(), &tree, &BTreeMap::new(), Zxid(0)).unwrap();
    assert_eq!(path, dir.path().join("version-2/snapshot.0"));
    let bytes = fs::read(&path).unwrap();

    // Header: "ZKSN", version 2, dbid -1; then no sessions; then one ACL list
    // (the config node's world:anyone READ, index 1).
    assert_eq!(&bytes[0..8], b"ZKSN\0\0\0\x02");
    assert_eq!(&bytes[8..16], &[0xff; 8]);
    assert_eq!(&bytes[16..20], &[0, 0, 0, 0]);
    assert_eq!(&bytes[20..24], &[0, 0, 0, 1]);
    assert_eq!(&bytes[24..32], &1i64.to_be_bytes());
    // The root is written under the empty path, right after the ACL map.
    let acl_bytes = 4 + 4 + 4 + 5 + 4 + 6;
    let root = 32 + acl_bytes;
    assert_eq!(&bytes[root..root + 4], &[0, 0, 0, 0]);

    // Nodes end with "/", then the seal over everything before it.
    let end_of_nodes = find(&bytes, &[0, 0, 0, 1, b'/']).unwrap() + 5;
    let seal = &bytes[end_of_nodes..end_of_nodes + 13];
    assert_eq!(&seal[0..8], &adler32(&bytes[..end_of_nodes]).to_be_bytes());
    assert_eq!(&seal[8..13], &[0, 0, 0, 1, b'/']);
    // An empty digest (zxid 0, version 2, digest 0) and its seal, then the
    // last zxid and its seal; each seal covers the whole stream before it.
    let digest = end_of_nodes + 13;
    assert_eq!(
        &bytes[digest..digest + 20],
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    let second_seal = digest + 20;
    assert_eq!(
        &bytes[second_seal..second_seal + 8],
        &adler32(&bytes[..second_seal]).to_be_bytes()
    );
    let last_zxid = second_seal + 13;
    assert_eq!(&bytes[last_zxid..last_zxid + 8], &0i64.to_be_bytes());
    let third_seal = last_zxid + 8;
    assert_eq!(
        &bytes[third_seal..third_seal + 8],
        &adler32(&bytes[..third_seal]).to_be_bytes()
    );
    assert_eq!(bytes.len(), third_seal + 13);
    assert!(is_valid_snapshot(&path));
}

#[test]
fn round_trip_keeps_nodes_stats_acls_sessions_and_ephemerals() {
    let dir = tempfile::tempdir().unwrap();
    let mut workload = Workload::new();
    workload.open_session(SESSION, 30_000);
    workload.open_session(OTHER, 12_345);
    workload.run_mixed(SESSION, OTHER, 1);
    let zxid = workload.last_zxid();
    let path = write_snapshot(dir.path(), &workload.tree, &workload.sessions, zxid).unwrap();
    assert_eq!(
        path.file_name().unwrap().to_string_lossy(),
        format!("snapshot.{:x}", zxid.0)
    );

    let read = read_snapshot(&path, TreeConfig::default()).unwrap();
    assert_eq!(read.zxid, zxid);
    assert_eq!(read.sessions, workload.sessions);
    assert_eq!(dump(&read.tree), dump(&workload.tree));
    assert_eq!(read.tree.last_processed_zxid(), zxid);
    assert_eq!(
        read.tree.ephemerals(SESSION),
        workload.tree.ephemerals(SESSION)
    );
    assert_eq!(read.tree.ephemerals(OTHER), workload.tree.ephemerals(OTHER));
    assert_eq!(read.tree.containers(), workload.tree.containers());
    // Null data stays null, not empty.
    assert_eq!(read.tree.node("/stage1/null").unwrap().data, None);
}

#[test]
fn snapshots_without_the_newer_sections_still_read() {
    // A 3.5-era snapshot ends after the first seal.
    let dir = tempfile::tempdir().unwrap();
    let tree = DataTree::new(TreeConfig::default());
    let path = write_snapshot(dir.path(), &tree, &BTreeMap::new(), Zxid(0x42)).unwrap();
    let bytes = fs::read(&path).unwrap();
    let end_of_nodes = find(&bytes, &[0, 0, 0, 1, b'/']).unwrap() + 5;
    let old = dir.path().join("version-2/snapshot.43");
    fs::write(&old, &bytes[..end_of_nodes + 13]).unwrap();
    let read = read_snapshot(&old, TreeConfig::default()).unwrap();
    assert_eq!(read.zxid, Zxid(0x43));
    assert_eq!(dump(&read.tree), dump(&tree));
}

#[test]
fn damaged_snapshots_are_refused_with_their_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut workload = Workload::new();
    workload.open_session(SESSION, 30_000);
    workload.run_mixed(SESSION, SESSION, 1);
    let path = write_snapshot(dir.path(), &workload.tree, &workload.sessions, Zxid(9)).unwrap();
    let bytes = fs::read(&path).unwrap();

    // A flipped byte inside some node's data: the first seal catches it.
    let mut flipped = bytes.clone();
    let at = find(&flipped, b"changed again").unwrap();
    flipped[at] ^= 0x20;
    fs::write(&path, &flipped).unwrap();
    let error = read_snapshot(&path, TreeConfig::default()).unwrap_err();
    assert!(
        matches!(&error, PersistenceError::Corrupt { reason, .. } if reason.contains("checksum")),
        "{error}"
    );

    // Cut short: the tail check refuses it before reading anything.
    fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    assert!(!is_valid_snapshot(&path));
    assert!(matches!(
        read_snapshot(&path, TreeConfig::default()),
        Err(PersistenceError::Corrupt { .. })
    ));

    // Not a snapshot at all.
    let mut wrong_magic = bytes.clone();
    wrong_magic[0..4].copy_from_slice(b"ZKLG");
    fs::write(&path, &wrong_magic).unwrap();
    let error = read_snapshot(&path, TreeConfig::default()).unwrap_err();
    assert!(error.to_string().contains("magic"), "{error}");
}

#[test]
fn node_with_an_unknown_acl_index_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tree = DataTree::new(TreeConfig::default());
    let path = write_snapshot(dir.path(), &tree, &BTreeMap::new(), Zxid(0)).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    // The ACL map's only index (1, used by /zookeeper/config) becomes 7.
    assert_eq!(&bytes[24..32], &1i64.to_be_bytes());
    bytes[24..32].copy_from_slice(&7i64.to_be_bytes());
    fs::write(&path, &bytes).unwrap();
    let error = read_snapshot(&path, TreeConfig::default()).unwrap_err();
    // Named by file and by the offset of the node that uses it.
    let config_node = find(&bytes, b"\0\0\0\x11/zookeeper/config").unwrap() as u64;
    match &error {
        PersistenceError::Corrupt {
            path: file,
            offset,
            reason,
        } => {
            assert_eq!(file, &path);
            assert_eq!(*offset, config_node);
            assert!(reason.contains("uses ACL index 1"), "{reason}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn acl_maps_that_would_garble_acls_are_refused_with_their_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut workload = Workload::new();
    workload.open_session(SESSION, 30_000);
    workload.run_mixed(SESSION, SESSION, 1);
    let path = write_snapshot(dir.path(), &workload.tree, &workload.sessions, Zxid(9)).unwrap();
    let bytes = fs::read(&path).unwrap();
    // The map's entries start after the header, the sessions and its count.
    let sessions = i32::from_be_bytes(bytes[16..20].try_into().unwrap()) as usize;
    let map = 20 + sessions * 12;
    assert!(i32::from_be_bytes(bytes[map..map + 4].try_into().unwrap()) >= 2);
    let first = map + 4;
    let first_index = i64::from_be_bytes(bytes[first..first + 8].try_into().unwrap());
    let acl_length = |at: usize| -> usize {
        let mut at = at + 8;
        let entries = i32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        at += 4;
        for _ in 0..entries {
            at += 4;
            for _ in 0..2 {
                let length = i32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
                at += 4 + length;
            }
        }
        at
    };
    let second = acl_length(first);

    for (index, expected) in [(first_index, "appears twice"), (-1, "reserved")] {
        let mut damaged = bytes.clone();
        damaged[second..second + 8].copy_from_slice(&index.to_be_bytes());
        fs::write(&path, &damaged).unwrap();
        match read_snapshot(&path, TreeConfig::default()).unwrap_err() {
            PersistenceError::Corrupt { offset, reason, .. } => {
                assert_eq!(offset, second as u64);
                assert!(reason.contains(expected), "{reason}");
            }
            other => panic!("{other}"),
        }
    }
}

#[test]
fn with_digests_off_nothing_carries_one_and_snapshots_skip_the_section() {
    // zookeeper.digest.enabled=false: Apache writes no TxnDigest and no
    // ZxidDigest section (the lastProcessedZxid section follows the first
    // seal directly), and reads none.
    let off = TreeConfig {
        tree_digest_enabled: false,
        ..TreeConfig::default()
    };
    let mut workload = Workload::new();
    workload.tree = DataTree::new(off.clone());
    workload.open_session(SESSION, 30_000);
    workload.run_mixed(SESSION, SESSION, 1);
    assert!(workload.entries.iter().all(|entry| entry.digest.is_none()));
    let dir = tempfile::tempdir().unwrap();
    let zxid = workload.last_zxid();
    let path = write_snapshot(dir.path(), &workload.tree, &workload.sessions, zxid).unwrap();
    let bytes = fs::read(&path).unwrap();
    // The tail: seal, lastProcessedZxid, seal.
    let last_zxid = bytes.len() - 13 - 8;
    assert_eq!(&bytes[last_zxid..last_zxid + 8], &zxid.0.to_be_bytes());
    assert_eq!(&bytes[last_zxid - 5..last_zxid], &[0, 0, 0, 1, b'/']);
    assert_eq!(
        &bytes[last_zxid - 13 - 5..last_zxid - 13],
        &[0, 0, 0, 1, b'/'],
        "the node list's seal comes right before"
    );
    let read = read_snapshot(&path, off).unwrap();
    assert_eq!(dump(&read.tree), dump(&workload.tree));
    assert_eq!(read.tree.digest_mismatches_count(), 0);
}
