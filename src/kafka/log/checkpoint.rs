//! Kafka's small checkpoint files, read and written atomically.
//!
//! Two shapes share one text format (version line, count line, then entries):
//! - per log dir, `recovery-point-offset-checkpoint`, `log-start-offset-checkpoint`
//!   and `replication-offset-checkpoint`: entries `<topic> <partition> <offset>`;
//! - per partition, `leader-epoch-checkpoint`: entries `<epoch> <startOffset>`.
//!
//! Writes go to `<file>.tmp`, are fsynced, then renamed over the file, as Kafka's
//! CheckpointFile does, so a crash leaves the old file or the new one, never half.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// The format version Kafka writes and accepts for all these files.
const CHECKPOINT_VERSION: u32 = 0;

/// A topic and partition, the key of per-directory checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.to_string(),
            partition,
        }
    }

    /// The partition's directory name: `<topic>-<partition>`.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }

    /// Parses a directory name; topics may contain `-`, so the partition is after the last one.
    pub fn from_dir_name(name: &str) -> Option<TopicPartition> {
        let (topic, partition) = name.rsplit_once('-')?;
        if topic.is_empty() {
            return None;
        }
        Some(TopicPartition {
            topic: topic.to_string(),
            partition: partition.parse().ok()?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}:{line}: {message}")]
    Malformed {
        path: String,
        line: usize,
        message: String,
    },
}

/// Reads `topic partition offset` entries; a missing file is empty.
pub fn read_offsets(path: &Path) -> Result<BTreeMap<TopicPartition, i64>, CheckpointError> {
    let mut offsets = BTreeMap::new();
    for (line, fields) in read_entries(path, 3)? {
        let partition = parse_field(path, line, &fields[1])?;
        let offset = parse_field(path, line, &fields[2])?;
        offsets.insert(
            TopicPartition {
                topic: fields[0].clone(),
                partition,
            },
            offset,
        );
    }
    Ok(offsets)
}

/// Writes `topic partition offset` entries atomically.
pub fn write_offsets(
    path: &Path,
    offsets: &BTreeMap<TopicPartition, i64>,
) -> Result<(), CheckpointError> {
    let lines = offsets
        .iter()
        .map(|(tp, offset)| format!("{} {} {}", tp.topic, tp.partition, offset))
        .collect::<Vec<_>>();
    write_entries(path, &lines)
}

/// Reads `epoch startOffset` entries of a leader-epoch checkpoint.
pub fn read_leader_epochs(path: &Path) -> Result<Vec<(i32, i64)>, CheckpointError> {
    read_entries(path, 2)?
        .into_iter()
        .map(|(line, fields)| {
            Ok((
                parse_field(path, line, &fields[0])?,
                parse_field(path, line, &fields[1])?,
            ))
        })
        .collect()
}

pub fn write_leader_epochs(path: &Path, epochs: &[(i32, i64)]) -> Result<(), CheckpointError> {
    let lines = epochs
        .iter()
        .map(|(epoch, offset)| format!("{epoch} {offset}"))
        .collect::<Vec<_>>();
    write_entries(path, &lines)
}

fn read_entries(
    path: &Path,
    fields_per_entry: usize,
) -> Result<Vec<(usize, Vec<String>)>, CheckpointError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(CheckpointError::Io {
                path: path.display().to_string(),
                source,
            })
        }
    };
    let malformed = |line: usize, message: &str| CheckpointError::Malformed {
        path: path.display().to_string(),
        line,
        message: message.to_string(),
    };
    let mut lines = text.lines();
    let version: u32 = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| malformed(1, "no version"))?;
    if version != CHECKPOINT_VERSION {
        return Err(malformed(1, &format!("unrecognised version {version}")));
    }
    let count: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| malformed(2, "no entry count"))?;
    let mut entries = Vec::with_capacity(count.min(1 << 16));
    for (index, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        if fields.len() != fields_per_entry {
            return Err(malformed(
                index + 3,
                &format!("expected {fields_per_entry} fields"),
            ));
        }
        entries.push((index + 3, fields));
    }
    if entries.len() != count {
        return Err(malformed(
            2,
            &format!("expected {count} entries, found {}", entries.len()),
        ));
    }
    Ok(entries)
}

fn parse_field<T: std::str::FromStr>(
    path: &Path,
    line: usize,
    field: &str,
) -> Result<T, CheckpointError> {
    field.parse().map_err(|_| CheckpointError::Malformed {
        path: path.display().to_string(),
        line,
        message: format!("{field:?} is not a number"),
    })
}

fn write_entries(path: &Path, lines: &[String]) -> Result<(), CheckpointError> {
    let io_error = |source| CheckpointError::Io {
        path: path.display().to_string(),
        source,
    };
    let temporary = path.with_extension("tmp");
    let mut text = format!("{CHECKPOINT_VERSION}\n{}\n", lines.len());
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    let mut file = File::create(&temporary).map_err(io_error)?;
    file.write_all(text.as_bytes()).map_err(io_error)?;
    file.sync_all().map_err(io_error)?;
    std::fs::rename(&temporary, path).map_err(io_error)?;
    if let Some(dir) = path.parent() {
        // The rename is durable only once the directory is.
        File::open(dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io_error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip_in_kafkas_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("recovery-point-offset-checkpoint");
        let mut offsets = BTreeMap::new();
        offsets.insert(TopicPartition::new("test", 0), 42);
        offsets.insert(TopicPartition::new("__consumer_offsets", 17), 7);
        write_offsets(&path, &offsets).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "0\n2\n__consumer_offsets 17 7\ntest 0 42\n"
        );
        assert_eq!(read_offsets(&path).unwrap(), offsets);
        assert!(read_offsets(&dir.path().join("missing"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn leader_epochs_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leader-epoch-checkpoint");
        write_leader_epochs(&path, &[(0, 0), (3, 120)]).unwrap();
        assert_eq!(read_leader_epochs(&path).unwrap(), vec![(0, 0), (3, 120)]);
    }

    #[test]
    fn malformed_files_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp");
        std::fs::write(&path, "0\n2\ntest 0 1\ntest x 2\n").unwrap();
        let error = read_offsets(&path).unwrap_err().to_string();
        assert!(error.ends_with(":4: \"x\" is not a number"), "{error}");
        std::fs::write(&path, "1\n0\n").unwrap();
        assert!(read_offsets(&path).is_err());
    }

    #[test]
    fn dir_names() {
        assert_eq!(TopicPartition::new("my-topic", 3).dir_name(), "my-topic-3");
        assert_eq!(
            TopicPartition::from_dir_name("my-topic-3"),
            Some(TopicPartition::new("my-topic", 3))
        );
        assert_eq!(TopicPartition::from_dir_name("nodash"), None);
    }
}
