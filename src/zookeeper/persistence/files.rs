//! Where Apache keeps things: `<dir>/version-2/log.<hex zxid>` and
//! `<dir>/version-2/snapshot.<hex zxid>`, the zxid in lower-case hex without
//! leading zeros (`Long.toHexString`), and how those names sort.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::PersistenceError;
use crate::zookeeper::tree::Zxid;

/// `FileTxnSnapLog.version + VERSION`: the one on-disk format version there is.
pub const VERSION_DIR_NAME: &str = "version-2";
pub const LOG_PREFIX: &str = "log";
pub const SNAPSHOT_PREFIX: &str = "snapshot";

/// `<dir>/version-2`, created if missing (Apache's `zookeeper.datadir.autocreate`
/// defaults to true).
pub fn version_dir(dir: &Path) -> Result<PathBuf, PersistenceError> {
    let version_dir = dir.join(VERSION_DIR_NAME);
    fs::create_dir_all(&version_dir)
        .map_err(|source| PersistenceError::io(&version_dir, source))?;
    Ok(version_dir)
}

/// `Util.makeLogName`.
pub fn log_file_name(zxid: Zxid) -> String {
    format!("{LOG_PREFIX}.{:x}", zxid.0)
}

/// `Util.makeSnapshotName` for uncompressed snapshots (3.9's default
/// `zookeeper.snapshot.compression.method`).
pub fn snapshot_file_name(zxid: Zxid) -> String {
    format!("{SNAPSHOT_PREFIX}.{:x}", zxid.0)
}

/// `Util.getZxidFromName`: the second dot-separated part of a name whose first
/// part is `prefix`, parsed as hex. Like Java's `Long.parseLong(s, 16)` it takes
/// an optional sign, so a (never written) negative zxid still parses.
pub fn zxid_from_name(name: &str, prefix: &str) -> Option<Zxid> {
    let mut parts = name.split('.');
    if parts.next()? != prefix {
        return None;
    }
    let hex = parts.next()?;
    let (negative, digits) = match hex.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, hex.strip_prefix('+').unwrap_or(hex)),
    };
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let magnitude = i64::from_str_radix(digits, 16).ok()?;
    Some(Zxid(if negative { -magnitude } else { magnitude }))
}

/// A file in a version-2 directory whose name carries a zxid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZxidFile {
    pub zxid: Zxid,
    pub path: PathBuf,
}

impl ZxidFile {
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Every `<prefix>.<hex>...` file of `dir`, oldest zxid first (`Util.sortDataDir`
/// ascending). Names that do not parse are left alone, as Apache leaves them.
pub fn list_zxid_files(dir: &Path, prefix: &str) -> Result<Vec<ZxidFile>, PersistenceError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(PersistenceError::io(dir, source)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| PersistenceError::io(dir, source))?;
        let name = entry.file_name();
        let Some(zxid) = zxid_from_name(&name.to_string_lossy(), prefix) else {
            continue;
        };
        let is_file = entry
            .file_type()
            .map_err(|source| PersistenceError::io(entry.path(), source))?
            .is_file();
        if is_file {
            files.push(ZxidFile {
                zxid,
                path: entry.path(),
            });
        }
    }
    // Equal zxids (say `snapshot.5` and `snapshot.5.gz`) are ordered by name so
    // that listings are deterministic.
    files.sort_by(|left, right| {
        left.zxid
            .cmp(&right.zxid)
            .then_with(|| left.path.cmp(&right.path))
    });
    Ok(files)
}

/// `FileTxnLog.getLogFiles`: the newest log starting at or before `zxid`, and
/// every log after it, oldest first. The logs before that one hold only txns a
/// snapshot at `zxid` already contains.
pub fn logs_covering(logs: &[ZxidFile], zxid: Zxid) -> Vec<ZxidFile> {
    let start = logs
        .iter()
        .filter(|log| log.zxid <= zxid)
        .map(|log| log.zxid)
        .max()
        .unwrap_or(Zxid(0));
    logs.iter()
        .filter(|log| log.zxid >= start)
        .cloned()
        .collect()
}

/// Makes a rename or a new file in `dir` durable: on Linux a file's directory
/// entry is only on disk once the directory itself is synced.
pub fn sync_dir(dir: &Path) -> Result<(), PersistenceError> {
    let handle = fs::File::open(dir).map_err(|source| PersistenceError::io(dir, source))?;
    handle
        .sync_all()
        .map_err(|source| PersistenceError::io(dir, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_hex_without_padding() {
        assert_eq!(log_file_name(Zxid(0x1_0000_0001)), "log.100000001");
        assert_eq!(snapshot_file_name(Zxid(0)), "snapshot.0");
        assert_eq!(snapshot_file_name(Zxid(0xabc)), "snapshot.abc");
    }

    #[test]
    fn zxids_parse_like_apache() {
        assert_eq!(
            zxid_from_name("log.100000001", "log"),
            Some(Zxid(0x1_0000_0001))
        );
        assert_eq!(zxid_from_name("snapshot.1F", "snapshot"), Some(Zxid(0x1f)));
        assert_eq!(zxid_from_name("snapshot.a.gz", "snapshot"), Some(Zxid(10)));
        assert_eq!(zxid_from_name("snapshot.a.tmp", "snapshot"), Some(Zxid(10)));
        assert_eq!(zxid_from_name("snapshot.x", "snapshot"), None);
        assert_eq!(zxid_from_name("snapshot", "snapshot"), None);
        assert_eq!(zxid_from_name("logx.5", "log"), None);
        // Hidden temporary snapshots must never look like snapshots.
        assert_eq!(zxid_from_name(".snapshot.5.tmp", "snapshot"), None);
    }

    fn file(zxid: i64) -> ZxidFile {
        ZxidFile {
            zxid: Zxid(zxid),
            path: PathBuf::from(log_file_name(Zxid(zxid))),
        }
    }

    #[test]
    fn logs_covering_starts_at_the_log_holding_the_snapshot_zxid() {
        let logs = vec![file(1), file(10), file(20), file(30)];
        let zxids = |covering: Vec<ZxidFile>| -> Vec<i64> {
            covering.iter().map(|log| log.zxid.0).collect()
        };
        assert_eq!(zxids(logs_covering(&logs, Zxid(15))), [10, 20, 30]);
        assert_eq!(zxids(logs_covering(&logs, Zxid(20))), [20, 30]);
        assert_eq!(zxids(logs_covering(&logs, Zxid(0))), [1, 10, 20, 30]);
        assert_eq!(zxids(logs_covering(&logs, Zxid(99))), [30]);
    }

    #[test]
    fn listing_sorts_by_zxid_not_by_name() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["log.a", "log.9", "log.100", "snapshot.3", "log.zz", "other"] {
            fs::write(dir.path().join(name), b"").unwrap();
        }
        let names: Vec<String> = list_zxid_files(dir.path(), LOG_PREFIX)
            .unwrap()
            .iter()
            .map(ZxidFile::name)
            .collect();
        assert_eq!(names, ["log.9", "log.a", "log.100"]);
        assert!(list_zxid_files(&dir.path().join("missing"), LOG_PREFIX)
            .unwrap()
            .is_empty());
    }
}
