//! The `currentEpoch` and `acceptedEpoch` files of an ensemble member
//! (`QuorumPeer.readLongFromFile` / `writeLongToFile`): in `dataDir/version-2`,
//! the decimal epoch in ASCII without a newline, replaced atomically (a temp
//! file fsynced, then renamed, then the directory fsynced) as Apache's
//! `AtomicFileWritingIdiom` does.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::files::{sync_dir, version_dir};
use super::PersistenceError;

pub const CURRENT_EPOCH_FILE: &str = "currentEpoch";
pub const ACCEPTED_EPOCH_FILE: &str = "acceptedEpoch";

/// The epoch in `dataDir/version-2/<name>`, `None` when the file is missing.
pub fn read_epoch(data_dir: &Path, name: &str) -> Result<Option<u32>, PersistenceError> {
    let path = version_dir(data_dir)?.join(name);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(PersistenceError::io(&path, source)),
    };
    let value: i64 = text
        .trim()
        .parse()
        .map_err(|_| PersistenceError::corrupt(&path, 0, format!("{text:?} is not an epoch")))?;
    u32::try_from(value)
        .map(Some)
        .map_err(|_| PersistenceError::corrupt(&path, 0, format!("epoch {value} out of range")))
}

/// Whether Apache's crash marker `<name>.tmp` exists (a write was interrupted).
pub fn epoch_write_interrupted(data_dir: &Path, name: &str) -> Result<bool, PersistenceError> {
    Ok(version_dir(data_dir)?.join(format!("{name}.tmp")).exists())
}

/// Replaces `dataDir/version-2/<name>` with `epoch`, durably.
pub fn write_epoch(data_dir: &Path, name: &str, epoch: u32) -> Result<(), PersistenceError> {
    let dir = version_dir(data_dir)?;
    fs::create_dir_all(&dir).map_err(|source| PersistenceError::io(&dir, source))?;
    let path = dir.join(name);
    let temp = dir.join(format!("{name}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut file = fs::File::create(&temp)?;
        file.write_all(epoch.to_string().as_bytes())?;
        file.sync_all()?;
        fs::rename(&temp, &path)
    };
    write().map_err(|source| PersistenceError::io(&path, source))?;
    sync_dir(&dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_round_trip_as_apache_writes_them() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_epoch(dir.path(), CURRENT_EPOCH_FILE).unwrap(), None);
        write_epoch(dir.path(), CURRENT_EPOCH_FILE, 7).unwrap();
        let path = dir.path().join("version-2").join(CURRENT_EPOCH_FILE);
        assert_eq!(fs::read_to_string(path).unwrap(), "7");
        assert_eq!(read_epoch(dir.path(), CURRENT_EPOCH_FILE).unwrap(), Some(7));
        assert!(!epoch_write_interrupted(dir.path(), CURRENT_EPOCH_FILE).unwrap());
        fs::write(dir.path().join("version-2").join(ACCEPTED_EPOCH_FILE), "x").unwrap();
        assert!(read_epoch(dir.path(), ACCEPTED_EPOCH_FILE).is_err());
    }
}
