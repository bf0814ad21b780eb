//! Recovery: snapshot plus replay, torn tails, corruption, fallbacks, purge.

use std::fs;
use std::path::Path;

use super::txn_log::read_all;
use super::workload::{dump, Workload};
use crate::zookeeper::persistence::files::{list_zxid_files, LOG_PREFIX, SNAPSHOT_PREFIX};
use crate::zookeeper::persistence::log_format::entry_bytes;
use crate::zookeeper::persistence::{purge, recover, write_snapshot, PersistenceError, TxnLog};
use crate::zookeeper::tree::{SessionId, TreeConfig, Zxid};

const SESSION: SessionId = SessionId(0x0100_0000_0000_0001);
const OTHER: SessionId = SessionId(0x0100_0000_0000_0002);
const PREALLOCATE_BYTES: u64 = 64 * 1024;

/// A data dir as a server leaves it: snapshot.0, a log, a roll and a snapshot
/// at `stages` boundaries, with `OTHER` closed in the last stage.
fn write_data_dir(dir: &Path, stages: u32) -> Workload {
    let mut workload = Workload::new();
    write_snapshot(dir, &workload.tree, &workload.sessions, Zxid(0)).unwrap();
    let mut log = TxnLog::open(dir, PREALLOCATE_BYTES).unwrap();
    let mut logged = 0;
    let mut log_new = |workload: &Workload, log: &mut TxnLog| {
        for entry in &workload.entries[logged..] {
            log.append(entry).unwrap();
        }
        logged = workload.entries.len();
        log.commit(true).unwrap();
    };
    workload.open_session(SESSION, 30_000);
    workload.open_session(OTHER, 10_000);
    for stage in 1..=stages {
        workload.run_mixed(SESSION, OTHER, stage);
        if stage == stages {
            workload.close_session(OTHER);
        }
        log_new(&workload, &mut log);
        if stage < stages {
            log.roll().unwrap();
            write_snapshot(
                dir,
                &workload.tree,
                &workload.sessions,
                workload.last_zxid(),
            )
            .unwrap();
        }
    }
    workload
}

fn assert_recovered_matches(dir: &Path, workload: &Workload) {
    let recovered = recover(dir, dir, TreeConfig::default()).unwrap();
    assert_eq!(dump(&recovered.tree), dump(&workload.tree));
    assert_eq!(recovered.sessions, workload.sessions);
    assert_eq!(recovered.last_zxid, workload.last_zxid());
    assert_eq!(recovered.tree.last_processed_zxid(), workload.last_zxid());
    assert_eq!(
        recovered.tree.ephemerals(SESSION),
        workload.tree.ephemerals(SESSION)
    );
}

fn last_log(dir: &Path) -> std::path::PathBuf {
    list_zxid_files(&dir.join("version-2"), LOG_PREFIX)
        .unwrap()
        .pop()
        .unwrap()
        .path
}

/// The byte offset of each entry of `entries` in a log file that holds them.
fn entry_offsets(entries: &[crate::zookeeper::jute::TxnEntry]) -> Vec<u64> {
    let mut offset = 16;
    entries
        .iter()
        .map(|entry| {
            let at = offset;
            offset += entry_bytes(entry).len() as u64;
            at
        })
        .collect()
}

#[test]
fn empty_data_dir_starts_empty_and_writes_snapshot_zero() {
    let dir = tempfile::tempdir().unwrap();
    let recovered = recover(dir.path(), dir.path(), TreeConfig::default()).unwrap();
    assert_eq!(recovered.last_zxid, Zxid(0));
    assert!(recovered.sessions.is_empty());
    assert_eq!(recovered.tree.node_count(), 4);
    assert!(dir.path().join("version-2/snapshot.0").is_file());
    // And the next start reads that snapshot back.
    let again = recover(dir.path(), dir.path(), TreeConfig::default()).unwrap();
    assert_eq!(dump(&again.tree), dump(&recovered.tree));
}

#[test]
fn snapshot_plus_logs_rebuild_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let workload = write_data_dir(dir.path(), 3);
    let snapshots = list_zxid_files(&dir.path().join("version-2"), SNAPSHOT_PREFIX).unwrap();
    assert_eq!(snapshots.len(), 3);
    assert_recovered_matches(dir.path(), &workload);
    // The closed session's ephemerals are gone, the live one's remain.
    assert!(workload.tree.ephemerals(OTHER).is_empty());
    assert_eq!(workload.tree.ephemerals(SESSION).len(), 3);
}

#[test]
fn separate_log_dir_is_honoured() {
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let mut workload = Workload::new();
    recover(data.path(), logs.path(), TreeConfig::default()).unwrap();
    let mut log = TxnLog::open(logs.path(), PREALLOCATE_BYTES).unwrap();
    workload.open_session(SESSION, 30_000);
    workload.run_mixed(SESSION, SESSION, 1);
    for entry in &workload.entries {
        log.append(entry).unwrap();
    }
    log.commit(true).unwrap();
    assert_recovered_matches_split(data.path(), logs.path(), &workload);
    // A snapshot among the logs is a configuration mistake, refused as Apache does.
    fs::copy(
        data.path().join("version-2/snapshot.0"),
        logs.path().join("version-2/snapshot.0"),
    )
    .unwrap();
    assert!(matches!(
        recover(data.path(), logs.path(), TreeConfig::default()),
        Err(PersistenceError::MisplacedFiles { .. })
    ));
}

fn assert_recovered_matches_split(data: &Path, logs: &Path, workload: &Workload) {
    let recovered = recover(data, logs, TreeConfig::default()).unwrap();
    assert_eq!(dump(&recovered.tree), dump(&workload.tree));
    assert_eq!(recovered.last_zxid, workload.last_zxid());
}

#[test]
fn broken_newest_snapshot_falls_back_to_an_older_one() {
    let dir = tempfile::tempdir().unwrap();
    let workload = write_data_dir(dir.path(), 3);
    let newest = list_zxid_files(&dir.path().join("version-2"), SNAPSHOT_PREFIX)
        .unwrap()
        .pop()
        .unwrap();
    let mut bytes = fs::read(&newest.path).unwrap();
    bytes[40] ^= 0xff;
    fs::write(&newest.path, &bytes).unwrap();
    assert_recovered_matches(dir.path(), &workload);
}

#[test]
fn logs_without_a_snapshot_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_data_dir(dir.path(), 1);
    fs::remove_file(dir.path().join("version-2/snapshot.0")).unwrap();
    assert!(matches!(
        recover(dir.path(), dir.path(), TreeConfig::default()),
        Err(PersistenceError::LogsWithoutSnapshot { .. })
    ));
}

#[test]
fn no_valid_snapshot_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("version-2")).unwrap();
    fs::write(dir.path().join("version-2/snapshot.5"), b"garbage garbage").unwrap();
    assert!(matches!(
        recover(dir.path(), dir.path(), TreeConfig::default()),
        Err(PersistenceError::NoValidSnapshot { tried: 1, .. })
    ));
}

/// Each way the last entry can be torn: the txns before it survive, the file
/// is cut before it, and the server can go on appending and recover again.
#[test]
fn torn_last_entry_is_truncated_and_recovery_continues() {
    enum Tear {
        CutInsideLength,
        CutInsidePayload,
        MissingMarker,
        BadChecksum,
    }
    for (tear, preallocate) in [
        (Tear::CutInsideLength, 0),
        (Tear::CutInsidePayload, 0),
        (Tear::CutInsidePayload, PREALLOCATE_BYTES),
        (Tear::MissingMarker, PREALLOCATE_BYTES),
        (Tear::BadChecksum, PREALLOCATE_BYTES),
        (Tear::BadChecksum, 0),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut workload = Workload::new();
        write_snapshot(dir.path(), &workload.tree, &workload.sessions, Zxid(0)).unwrap();
        workload.open_session(SESSION, 30_000);
        workload.run_mixed(SESSION, SESSION, 1);
        let mut log = TxnLog::open(dir.path(), preallocate).unwrap();
        for entry in &workload.entries {
            log.append(entry).unwrap();
        }
        log.commit(true).unwrap();
        drop(log);

        let path = last_log(dir.path());
        let offsets = entry_offsets(&workload.entries);
        let last = *offsets.last().unwrap();
        let last_bytes = entry_bytes(workload.entries.last().unwrap());
        let mut bytes = fs::read(&path).unwrap();
        let end = last as usize + last_bytes.len();
        match tear {
            Tear::CutInsideLength => bytes.truncate(last as usize + 10),
            Tear::CutInsidePayload => {
                // Half the entry reached the disk; the rest stays as it was.
                let half = last as usize + last_bytes.len() / 2;
                if preallocate == 0 {
                    bytes.truncate(half);
                } else {
                    bytes[half..end].fill(0);
                }
            }
            Tear::MissingMarker => bytes[end - 1] = 0,
            Tear::BadChecksum => bytes[last as usize + 3] ^= 0x55,
        }
        fs::write(&path, &bytes).unwrap();

        // The torn txn was never acknowledged: the tree is the one before it.
        let mut expected = Workload::new();
        for entry in &workload.entries[..workload.entries.len() - 1] {
            expected.tree.apply(entry);
        }
        let recovered = recover(dir.path(), dir.path(), TreeConfig::default()).unwrap();
        assert_eq!(dump(&recovered.tree), dump(&expected.tree));
        let torn_zxid = Zxid(workload.entries.last().unwrap().header.zxid);
        assert_eq!(recovered.last_zxid, Zxid(torn_zxid.0 - 1));
        assert_eq!(fs::metadata(&path).unwrap().len(), last);

        // The server goes on: the torn zxid is used again, in a new log file.
        let mut log = TxnLog::open(dir.path(), preallocate).unwrap();
        let retry = workload.entries.last().unwrap().clone();
        log.append(&retry).unwrap();
        log.commit(true).unwrap();
        drop(log);
        assert_eq!(read_all(&last_log(dir.path())), [retry]);
        let recovered = recover(dir.path(), dir.path(), TreeConfig::default()).unwrap();
        assert_eq!(dump(&recovered.tree), dump(&workload.tree));
        assert_eq!(recovered.last_zxid, torn_zxid);
    }
}

/// Damages the log bytes around the entry at the given offset.
type Damage = fn(&mut Vec<u8>, usize);

#[test]
fn corruption_followed_by_valid_entries_stops_recovery_with_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut workload = Workload::new();
    write_snapshot(dir.path(), &workload.tree, &workload.sessions, Zxid(0)).unwrap();
    workload.open_session(SESSION, 30_000);
    workload.run_mixed(SESSION, SESSION, 1);
    let mut log = TxnLog::open(dir.path(), PREALLOCATE_BYTES).unwrap();
    for entry in &workload.entries {
        log.append(entry).unwrap();
    }
    log.commit(true).unwrap();
    drop(log);

    let path = last_log(dir.path());
    let offsets = entry_offsets(&workload.entries);
    let original = fs::read(&path).unwrap();
    let damages: [(&str, Damage); 4] = [
        ("checksum", |bytes, at| bytes[at + 20] ^= 0x01),
        ("end-of-record", |bytes, at| {
            let length = i32::from_be_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
            bytes[at + 12 + length] = b'X';
        }),
        ("unreasonable", |bytes, at| bytes[at + 8] = 0x7f),
        ("length zero", |bytes, at| bytes[at + 8..at + 12].fill(0)),
    ];
    for (expected_reason, damage) in damages {
        let victim = offsets[3];
        let mut bytes = original.clone();
        damage(&mut bytes, victim as usize);
        fs::write(&path, &bytes).unwrap();
        match recover(dir.path(), dir.path(), TreeConfig::default()) {
            Err(PersistenceError::Corrupt {
                path: at_path,
                offset,
                reason,
            }) => {
                assert_eq!(at_path, path);
                assert_eq!(offset, victim, "{reason}");
                assert!(reason.contains(expected_reason), "{reason}");
            }
            other => panic!("{expected_reason}: expected corruption, got {other:?}"),
        }
        // Nothing was cut off a file that recovery refused.
        assert_eq!(fs::read(&path).unwrap(), bytes);
    }
}

#[test]
fn headless_last_log_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let workload = write_data_dir(dir.path(), 1);
    let headless = dir
        .path()
        .join(format!("version-2/log.{:x}", workload.last_zxid().0 + 1));
    fs::write(&headless, b"ZKL").unwrap();
    assert_recovered_matches(dir.path(), &workload);
    assert!(!headless.exists());
}

#[test]
fn purge_keeps_the_newest_snapshots_and_the_logs_they_need() {
    let dir = tempfile::tempdir().unwrap();
    let workload = write_data_dir(dir.path(), 5);
    let version_dir = dir.path().join("version-2");
    let snapshots_before = list_zxid_files(&version_dir, SNAPSHOT_PREFIX).unwrap();
    let logs_before = list_zxid_files(&version_dir, LOG_PREFIX).unwrap();
    assert_eq!((snapshots_before.len(), logs_before.len()), (5, 5));

    // Fewer than three is raised to three, as Apache's cleanup manager does.
    purge(dir.path(), dir.path(), 1).unwrap();
    let snapshots = list_zxid_files(&version_dir, SNAPSHOT_PREFIX).unwrap();
    assert_eq!(snapshots, snapshots_before[2..]);
    let oldest_kept = snapshots[0].zxid;
    let logs = list_zxid_files(&version_dir, LOG_PREFIX).unwrap();
    // The newest log starting at or before the oldest kept snapshot stays (as
    // in Apache, even when that snapshot was taken right after a roll), and
    // every log after it.
    assert_eq!(logs, logs_before[1..]);
    assert!(logs[0].zxid <= oldest_kept && logs[1].zxid > oldest_kept);
    assert_recovered_matches(dir.path(), &workload);

    // Nothing more to do with everything already at the limit.
    purge(dir.path(), dir.path(), 3).unwrap();
    assert_eq!(
        list_zxid_files(&version_dir, SNAPSHOT_PREFIX).unwrap(),
        snapshots
    );
}

/// Writes snapshot.0 and one log of a small workload; returns the log's path,
/// its pristine bytes and where each entry starts.
fn single_log_dir(
    dir: &Path,
    preallocate: u64,
) -> (Workload, std::path::PathBuf, Vec<u8>, Vec<u64>) {
    let mut workload = Workload::new();
    write_snapshot(dir, &workload.tree, &workload.sessions, Zxid(0)).unwrap();
    workload.open_session(SESSION, 30_000);
    workload.run_mixed(SESSION, SESSION, 1);
    let mut log = TxnLog::open(dir, preallocate).unwrap();
    for entry in &workload.entries {
        log.append(entry).unwrap();
    }
    log.commit(true).unwrap();
    drop(log);
    let path = last_log(dir);
    let bytes = fs::read(&path).unwrap();
    let offsets = entry_offsets(&workload.entries);
    (workload, path, bytes, offsets)
}

/// A crash can cut the log anywhere: recovery always succeeds, with exactly
/// the entries that were complete.
#[test]
fn every_cut_point_recovers_the_complete_entries() {
    let dir = tempfile::tempdir().unwrap();
    let (workload, path, bytes, offsets) = single_log_dir(dir.path(), 0);
    let mut ends: Vec<u64> = offsets[1..].to_vec();
    ends.push(bytes.len() as u64);
    for cut in 16..=bytes.len() {
        fs::write(&path, &bytes[..cut]).unwrap();
        let complete = ends.iter().filter(|end| **end <= cut as u64).count();
        let recovered = recover(dir.path(), dir.path(), TreeConfig::default())
            .unwrap_or_else(|error| panic!("cut at {cut}: {error}"));
        let expected_zxid = if complete == 0 {
            0
        } else {
            workload.entries[complete - 1].header.zxid
        };
        assert_eq!(recovered.last_zxid, Zxid(expected_zxid), "cut at {cut}");
    }
}

/// A torn last write may leave any of its bytes unwritten (zero), in any
/// order; a single damaged byte inside an earlier entry is corruption, reported
/// at that entry. Checked with and without pre-allocation.
#[test]
fn every_damaged_byte_is_told_apart() {
    for preallocate in [0, PREALLOCATE_BYTES] {
        let dir = tempfile::tempdir().unwrap();
        let (workload, path, bytes, offsets) = single_log_dir(dir.path(), preallocate);
        let last = *offsets.last().unwrap();
        let end = last as usize + entry_bytes(workload.entries.last().unwrap()).len();
        // Every framing byte (checksum, length, marker) and every byte of the
        // last entry; every fifth payload byte elsewhere, to keep this fast.
        let framing = |at: usize| {
            let at = at as u64;
            let in_prefix = offsets
                .iter()
                .any(|offset| (*offset..offset + 12).contains(&at));
            let is_marker = offsets.contains(&(at + 1));
            in_prefix || is_marker
        };
        let checked = (16..end).filter(|at| *at >= last as usize || at % 5 == 0 || framing(*at));
        for at in checked {
            for damage in [0x00, 0xff] {
                let mut damaged = bytes.clone();
                if damaged[at] == damage {
                    continue;
                }
                damaged[at] = damage;
                fs::write(&path, &damaged).unwrap();
                let victim = *offsets
                    .iter()
                    .filter(|offset| **offset <= at as u64)
                    .max()
                    .unwrap();
                let outcome = recover(dir.path(), dir.path(), TreeConfig::default());
                if victim == last {
                    let recovered = outcome.unwrap_or_else(|error| panic!("byte {at}: {error}"));
                    assert_eq!(
                        recovered.last_zxid,
                        Zxid(workload.entries.last().unwrap().header.zxid - 1)
                    );
                    assert_eq!(fs::metadata(&path).unwrap().len(), last, "byte {at}");
                } else {
                    match outcome {
                        Err(PersistenceError::Corrupt { offset, .. }) => {
                            assert_eq!(offset, victim, "byte {at} set to {damage:#x}")
                        }
                        other => panic!("byte {at} set to {damage:#x}: {other:?}"),
                    }
                }
            }
        }
    }
}

/// A torn entry in a log that later logs follow cannot be the crash's last
/// write: the later txns were only written once it was complete.
#[test]
fn torn_entry_before_later_logs_is_corruption_unless_they_are_empty() {
    let dir = tempfile::tempdir().unwrap();
    let workload = write_data_dir(dir.path(), 2);
    let logs = list_zxid_files(&dir.path().join("version-2"), LOG_PREFIX).unwrap();
    assert_eq!(logs.len(), 2);
    let first_log_entries = read_all(&logs[0].path);
    let offsets = entry_offsets(&first_log_entries);
    let last = *offsets.last().unwrap();
    let mut bytes = fs::read(&logs[0].path).unwrap();
    bytes[last as usize + 20] ^= 0x40;
    fs::write(&logs[0].path, &bytes).unwrap();
    // The snapshot after the first log would hide the damage; without it the
    // first log must be replayed.
    for snapshot in list_zxid_files(&dir.path().join("version-2"), SNAPSHOT_PREFIX).unwrap() {
        if snapshot.zxid > Zxid(0) {
            fs::remove_file(&snapshot.path).unwrap();
        }
    }
    match recover(dir.path(), dir.path(), TreeConfig::default()) {
        Err(PersistenceError::Corrupt {
            path,
            offset,
            reason,
        }) => {
            assert_eq!((path, offset), (logs[0].path.clone(), last));
            assert!(reason.contains("later txns"), "{reason}");
        }
        other => panic!("expected corruption, got {other:?}"),
    }

    // A later log with no txns (created, then the crash) changes nothing.
    let header_only = &fs::read(&logs[1].path).unwrap()[..16];
    fs::write(&logs[1].path, header_only).unwrap();
    let recovered = recover(dir.path(), dir.path(), TreeConfig::default()).unwrap();
    let torn_zxid = first_log_entries.last().unwrap().header.zxid;
    assert_eq!(recovered.last_zxid, Zxid(torn_zxid - 1));
    assert_eq!(fs::metadata(&logs[0].path).unwrap().len(), last);
    assert!(workload.last_zxid() > recovered.last_zxid);
}

/// A standalone server's counter carries into the epoch after 0xffffffff, as
/// Apache's does; a restart replays logs across the carry and goes on.
#[test]
fn recovery_replays_logs_across_the_zxid_counter_carry() {
    let dir = tempfile::tempdir().unwrap();
    let mut workload = Workload::new();
    workload.next_zxid = Zxid::new(0, u32::MAX - 6);
    write_snapshot(
        dir.path(),
        &workload.tree,
        &workload.sessions,
        workload.last_zxid(),
    )
    .unwrap();
    let mut log = TxnLog::open(dir.path(), PREALLOCATE_BYTES).unwrap();
    workload.open_session(SESSION, 30_000);
    workload.open_session(OTHER, 10_000);
    workload.run_mixed(SESSION, OTHER, 1);
    let zxids: Vec<Zxid> = workload
        .entries
        .iter()
        .map(|entry| Zxid(entry.header.zxid))
        .collect();
    assert!(zxids.contains(&Zxid::new(0, u32::MAX)));
    assert!(zxids.contains(&Zxid::new(1, 0)));
    // One log holds the carry; a second starts after it.
    let split = workload.entries.len() - 3;
    for entry in &workload.entries[..split] {
        log.append(entry).unwrap();
    }
    log.roll().unwrap();
    for entry in &workload.entries[split..] {
        log.append(entry).unwrap();
    }
    log.commit(true).unwrap();
    drop(log);

    let recovered = recover(dir.path(), dir.path(), TreeConfig::default()).unwrap();
    assert_eq!(recovered.last_zxid.epoch(), 1);
    assert_eq!(recovered.last_zxid, workload.last_zxid());
    assert_eq!(dump(&recovered.tree), dump(&workload.tree));
    assert_eq!(recovered.tree.digest(), workload.tree.digest());
    // The mixed workload sends one Apache quirk (a plain create with the
    // container flag, see tree::tests::create): replay counts it as the
    // server did, and nothing else.
    assert_eq!(recovered.tree.digest_mismatches_count(), 1);
    assert_eq!(workload.tree.digest_mismatches_count(), 1);
    assert_eq!(recovered.last_zxid.next(), Zxid(workload.next_zxid.0));

    // And after a snapshot taken past the carry, again.
    write_snapshot(
        dir.path(),
        &recovered.tree,
        &recovered.sessions,
        recovered.last_zxid,
    )
    .unwrap();
    let again = recover(dir.path(), dir.path(), TreeConfig::default()).unwrap();
    assert_eq!(again.last_zxid, workload.last_zxid());
    assert_eq!(dump(&again.tree), dump(&workload.tree));
    // Loaded from a snapshot at the last txn: its digest is compared at once.
    assert_eq!(again.tree.digest_mismatches_count(), 0);
}
