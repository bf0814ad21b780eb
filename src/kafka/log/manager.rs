//! The log directories of one broker: which partitions live where, their
//! checkpoints, and `meta.properties`, as Kafka's LogManager keeps them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::kafka::log::checkpoint::{self, TopicPartition};
use crate::kafka::log::partition::{LogError, LogSettings};
use crate::kafka::metadata::{BrokerId, TopicId};
use crate::kafka::replica::state::ReplicationConfig;
use crate::kafka::replica::{OpenOffsets, Partition};

const RECOVERY_POINT_CHECKPOINT: &str = "recovery-point-offset-checkpoint";
const LOG_START_OFFSET_CHECKPOINT: &str = "log-start-offset-checkpoint";
const META_PROPERTIES: &str = "meta.properties";
const REPLICATION_OFFSET_CHECKPOINT: &str = "replication-offset-checkpoint";
/// Per partition: where the part the log cleaner has not compacted yet starts.
const CLEANER_OFFSET_CHECKPOINT: &str = "cleaner-offset-checkpoint";
/// Written at a clean shutdown and removed at start, as Kafka 3.x does: without it,
/// Apache Kafka opening this directory treats the last stop as a crash.
const CLEAN_SHUTDOWN_FILE: &str = ".kafka_cleanshutdown";
/// Per partition: the topic id, which Kafka checks against the metadata on open.
const PARTITION_METADATA: &str = "partition.metadata";

#[derive(Debug, thiserror::Error)]
pub enum LogManagerError {
    #[error("{path}: {message}")]
    Dir { path: String, message: String },
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
}

#[derive(Debug)]
pub struct LogManager {
    dirs: Vec<PathBuf>,
    partitions: RwLock<BTreeMap<TopicPartition, (usize, Arc<Partition>)>>,
    /// Held while a partition is opened: two openers of one directory would both
    /// run recovery, and one truncating a torn tail under the other's open files
    /// corrupts the partition (a request and the metadata follower both open
    /// partitions right after a restart).
    opening: std::sync::Mutex<()>,
    /// The log cleaner's first dirty offsets, as in `cleaner-offset-checkpoint`.
    cleaner_offsets: std::sync::Mutex<BTreeMap<TopicPartition, i64>>,
    /// Replication settings every partition opens with (this broker's id,
    /// `replica.lag.time.max.ms`).
    replication: ReplicationConfig,
}

/// What one log-cleaner pass did, for the log line.
#[derive(Debug, Clone)]
pub struct CleanerPass {
    pub partition: TopicPartition,
    pub dirty_ratio: f64,
    pub stats: crate::kafka::log::cleaner::CleanStats,
    pub next_dirty_offset: i64,
}

impl LogManager {
    /// Creates missing log dirs. Partitions are opened by `open_existing` once the
    /// broker knows their topics' settings.
    pub fn new(dirs: &[PathBuf]) -> Result<LogManager, LogManagerError> {
        for dir in dirs {
            std::fs::create_dir_all(dir).map_err(|error| LogManagerError::Dir {
                path: dir.display().to_string(),
                message: format!("cannot create log dir: {error}"),
            })?;
        }
        for dir in dirs {
            // This run may crash; only a clean shutdown writes the marker again.
            match std::fs::remove_file(dir.join(CLEAN_SHUTDOWN_FILE)) {
                Ok(()) => tracing::info!(dir = %dir.display(), "the last shutdown was clean"),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    tracing::info!(dir = %dir.display(), "no clean-shutdown marker: segments after the recovery point will be checked as they open")
                }
                Err(error) => {
                    tracing::warn!(dir = %dir.display(), %error, "cannot remove the clean-shutdown marker")
                }
            }
        }
        let mut cleaner_offsets = BTreeMap::new();
        for dir in dirs {
            match checkpoint::read_offsets(&dir.join(CLEANER_OFFSET_CHECKPOINT)) {
                Ok(offsets) => cleaner_offsets.extend(offsets),
                // Only costs a full re-clean, as Kafka treats a bad checkpoint.
                Err(error) => {
                    tracing::warn!(dir = %dir.display(), %error, "ignoring an unreadable cleaner-offset-checkpoint")
                }
            }
        }
        Ok(LogManager {
            dirs: dirs.to_vec(),
            partitions: RwLock::new(BTreeMap::new()),
            opening: std::sync::Mutex::new(()),
            cleaner_offsets: std::sync::Mutex::new(cleaner_offsets),
            replication: ReplicationConfig::new(BrokerId(-1)),
        })
    }

    /// The broker id partitions open with (the broker sets it when it takes the
    /// manager, before any partition opens).
    pub fn set_local_broker(&mut self, id: BrokerId) {
        self.replication.local_broker = id;
    }

    /// Sets the replication settings partitions open with; call before opening any.
    pub fn with_replication(mut self, replication: ReplicationConfig) -> LogManager {
        self.replication = replication;
        self
    }

    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Checks or writes `meta.properties` in every dir (Kafka's ZooKeeper-mode
    /// version 0: `broker.id` and `cluster.id`), refusing a dir that belongs to
    /// another cluster or broker, as Kafka does.
    pub fn ensure_meta_properties(
        &self,
        broker_id: i32,
        cluster_id: &str,
    ) -> Result<(), LogManagerError> {
        for dir in &self.dirs {
            let path = dir.join(META_PROPERTIES);
            if let Ok(text) = std::fs::read_to_string(&path) {
                let properties =
                    crate::config::Properties::parse(&path, &text).map_err(|error| {
                        LogManagerError::Dir {
                            path: path.display().to_string(),
                            message: error.to_string(),
                        }
                    })?;
                if let Some(stored) = properties.get_trimmed("cluster.id") {
                    if stored != cluster_id {
                        return Err(LogManagerError::Dir {
                            path: path.display().to_string(),
                            message: format!("the Cluster ID {cluster_id} doesn't match stored clusterId {stored}"),
                        });
                    }
                }
                if let Some(stored) = properties.get_trimmed("broker.id") {
                    if stored != broker_id.to_string() {
                        return Err(LogManagerError::Dir {
                            path: path.display().to_string(),
                            message: format!("configured broker.id {broker_id} doesn't match stored broker.id {stored}"),
                        });
                    }
                }
                continue;
            }
            let text = format!(
                "#\n#written by keel\ncluster.id={cluster_id}\nversion=0\nbroker.id={broker_id}\n"
            );
            std::fs::write(&path, text).map_err(|error| LogManagerError::Dir {
                path: path.display().to_string(),
                message: error.to_string(),
            })?;
        }
        Ok(())
    }

    /// Partition directories found on disk, with the dir index that holds each.
    pub fn discover(&self) -> Vec<(usize, TopicPartition)> {
        let mut found = Vec::new();
        for (index, dir) in self.dirs.iter().enumerate() {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if !entry.path().is_dir() {
                    continue;
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                // `-delete` and `-future` dirs are Kafka's own bookkeeping; skip them.
                if name.contains('.') && (name.ends_with("-delete") || name.ends_with("-future")) {
                    continue;
                }
                if let Some(tp) = TopicPartition::from_dir_name(&name) {
                    found.push((index, tp));
                }
            }
        }
        found
    }

    /// The partition if this broker has it open.
    pub fn get(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        self.partitions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(tp)
            .map(|(_, partition)| partition.clone())
    }

    pub fn all(&self) -> Vec<Arc<Partition>> {
        self.partitions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .map(|(_, partition)| partition.clone())
            .collect()
    }

    /// Opens the partition (recovering from the dir's checkpoints) or creates it in
    /// the dir holding the fewest partitions.
    pub fn open_or_create(
        &self,
        tp: &TopicPartition,
        topic_id: TopicId,
        settings: LogSettings,
    ) -> Result<Arc<Partition>, LogManagerError> {
        if let Some(partition) = self.get(tp) {
            return Ok(partition);
        }
        let _opening = self
            .opening
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Another caller may have opened it while we waited.
        if let Some(partition) = self.get(tp) {
            return Ok(partition);
        }
        let existing = self
            .discover()
            .into_iter()
            .find(|(_, found)| found == tp)
            .map(|(index, _)| index);
        let dir_index = existing.unwrap_or_else(|| self.least_loaded_dir());
        let dir = &self.dirs[dir_index];
        let recovery_point = checkpoint::read_offsets(&dir.join(RECOVERY_POINT_CHECKPOINT))?
            .get(tp)
            .copied()
            .unwrap_or(0);
        let log_start_offset = checkpoint::read_offsets(&dir.join(LOG_START_OFFSET_CHECKPOINT))?
            .get(tp)
            .copied()
            .unwrap_or(0);
        let high_watermark = checkpoint::read_offsets(&dir.join(REPLICATION_OFFSET_CHECKPOINT))?
            .get(tp)
            .copied()
            .unwrap_or(0);
        let (partition, report) = Partition::open(
            dir,
            tp.clone(),
            topic_id,
            settings,
            OpenOffsets {
                recovery_point,
                log_start_offset,
                high_watermark,
            },
            self.replication.clone(),
        )?;
        if report.truncated_bytes > 0 {
            tracing::warn!(partition = %tp.dir_name(), truncated_bytes = report.truncated_bytes, "truncated a torn log tail during recovery");
        } else if report.batches > 0 {
            tracing::info!(partition = %tp.dir_name(), batches = report.batches, "recovered segments past the recovery point");
        }
        if topic_id != TopicId::ZERO {
            let path = dir.join(tp.dir_name()).join(PARTITION_METADATA);
            if !path.exists() {
                if let Err(error) =
                    std::fs::write(&path, format!("version: 0\ntopic_id: {topic_id}\n"))
                {
                    tracing::warn!(path = %path.display(), %error, "cannot write partition.metadata");
                }
            }
        }
        let partition = Arc::new(partition);
        let mut partitions = self
            .partitions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = partitions
            .entry(tp.clone())
            .or_insert((dir_index, partition));
        Ok(entry.1.clone())
    }

    fn least_loaded_dir(&self) -> usize {
        let partitions = self
            .partitions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (0..self.dirs.len())
            .min_by_key(|index| partitions.values().filter(|(dir, _)| dir == index).count())
            .unwrap_or(0)
    }

    /// One log-cleaner pass over the compacted log with the highest dirty ratio at
    /// or above its `min.cleanable.dirty.ratio` (or past `max.compaction.lag.ms`),
    /// as Kafka's LogCleanerManager picks. Blocking IO. `None`: nothing to clean.
    pub fn clean_dirtiest(
        &self,
        now_ms: i64,
        map_capacity: usize,
    ) -> Result<Option<CleanerPass>, LogManagerError> {
        let first_dirty = |tp: &TopicPartition| {
            self.cleaner_offsets
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(tp)
                .copied()
                .unwrap_or(0)
        };
        let mut dirtiest: Option<(f64, Arc<Partition>)> = None;
        for partition in self.all() {
            let tp = &partition.topic_partition;
            let Some((stats, settings)) = partition.dirty_stats(first_dirty(tp), now_ms) else {
                continue;
            };
            if stats.dirty_bytes == 0 {
                continue;
            }
            let ratio = stats.dirty_ratio();
            let overdue = stats.dirty_first_timestamp_ms.is_some_and(|first| {
                settings.max_compaction_lag_ms < i64::MAX
                    && now_ms.saturating_sub(first) > settings.max_compaction_lag_ms
            });
            if ratio < settings.min_cleanable_dirty_ratio && !overdue {
                continue;
            }
            if dirtiest.as_ref().is_none_or(|(best, _)| ratio > *best) {
                dirtiest = Some((ratio, partition));
            }
        }
        let Some((dirty_ratio, partition)) = dirtiest else {
            return Ok(None);
        };
        let tp = partition.topic_partition.clone();
        let Some((stats, next_dirty_offset)) =
            partition.clean(first_dirty(&tp), now_ms, map_capacity)?
        else {
            return Ok(None);
        };
        self.cleaner_offsets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(tp.clone(), next_dirty_offset);
        self.write_cleaner_checkpoints()?;
        Ok(Some(CleanerPass {
            partition: tp,
            dirty_ratio,
            stats,
            next_dirty_offset,
        }))
    }

    fn write_cleaner_checkpoints(&self) -> Result<(), LogManagerError> {
        let offsets = self
            .cleaner_offsets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let partitions = self
            .partitions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (index, dir) in self.dirs.iter().enumerate() {
            let in_dir: BTreeMap<TopicPartition, i64> = offsets
                .iter()
                .filter(|(tp, _)| match partitions.get(*tp) {
                    Some((dir_index, _)) => *dir_index == index,
                    // Not open (yet): keep its entry with its directory.
                    None => dir.join(tp.dir_name()).is_dir(),
                })
                .map(|(tp, offset)| (tp.clone(), *offset))
                .collect();
            checkpoint::write_offsets(&dir.join(CLEANER_OFFSET_CHECKPOINT), &in_dir)?;
        }
        Ok(())
    }

    /// Closes and deletes a partition's log (topic deletion).
    pub fn delete(&self, tp: &TopicPartition) -> Result<(), LogManagerError> {
        self.cleaner_offsets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(tp);
        let removed = self
            .partitions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(tp);
        if let Some((dir_index, partition)) = removed {
            match Arc::try_unwrap(partition) {
                Ok(partition) => partition.delete()?,
                // Still in use by an in-flight request: remove the files anyway; the
                // request finishes on its open handles.
                Err(partition) => {
                    let path = self.dirs[dir_index].join(partition.topic_partition.dir_name());
                    let _ = std::fs::remove_dir_all(path);
                }
            }
        }
        Ok(())
    }

    /// Writes both per-dir checkpoints (after flushing, for the recovery point).
    pub fn checkpoint(&self) -> Result<(), LogManagerError> {
        // The offsets are gathered under the partition map's lock; the files (each
        // fsynced, which can take long while the disk writes back a backlog) are
        // written after it is released, so nothing that needs the map waits on them.
        let mut per_dir =
            vec![(BTreeMap::new(), BTreeMap::new(), BTreeMap::new()); self.dirs.len()];
        {
            let partitions = self
                .partitions
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (tp, (dir_index, partition)) in partitions.iter() {
                let Some((recovery_points, log_start_offsets, high_watermarks)) =
                    per_dir.get_mut(*dir_index)
                else {
                    continue;
                };
                let offsets = partition.offsets();
                recovery_points.insert(tp.clone(), partition.recovery_point());
                high_watermarks.insert(tp.clone(), offsets.high_watermark);
                log_start_offsets.insert(tp.clone(), offsets.log_start_offset);
            }
        }
        for (dir, (recovery_points, log_start_offsets, high_watermarks)) in
            self.dirs.iter().zip(per_dir)
        {
            checkpoint::write_offsets(&dir.join(RECOVERY_POINT_CHECKPOINT), &recovery_points)?;
            checkpoint::write_offsets(&dir.join(LOG_START_OFFSET_CHECKPOINT), &log_start_offsets)?;
            checkpoint::write_offsets(&dir.join(REPLICATION_OFFSET_CHECKPOINT), &high_watermarks)?;
        }
        Ok(())
    }

    /// Writes `replication-offset-checkpoint` alone (Kafka's
    /// `replica.high.watermark.checkpoint.interval.ms`, every 5 s): a restarted broker
    /// starts from a recent high watermark. No flush needed: the file only bounds what
    /// consumers may read until the leader says more.
    pub fn checkpoint_high_watermarks(&self) -> Result<(), LogManagerError> {
        let mut per_dir = vec![BTreeMap::new(); self.dirs.len()];
        {
            let partitions = self
                .partitions
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (tp, (dir_index, partition)) in partitions.iter() {
                if let Some(high_watermarks) = per_dir.get_mut(*dir_index) {
                    high_watermarks.insert(tp.clone(), partition.offsets().high_watermark);
                }
            }
        }
        for (dir, high_watermarks) in self.dirs.iter().zip(per_dir) {
            checkpoint::write_offsets(&dir.join(REPLICATION_OFFSET_CHECKPOINT), &high_watermarks)?;
        }
        Ok(())
    }

    /// A clean shutdown: flush every partition, checkpoint, and leave Kafka's
    /// clean-shutdown marker so the next start (keel's or Apache's) trusts the logs.
    pub fn flush_and_checkpoint(&self) -> Result<(), LogManagerError> {
        for partition in self.all() {
            partition.flush()?;
        }
        self.checkpoint()?;
        for dir in &self.dirs {
            let path = dir.join(CLEAN_SHUTDOWN_FILE);
            std::fs::write(&path, "{\"version\":0,\"brokerEpoch\":-1}").map_err(|error| {
                LogManagerError::Dir {
                    path: path.display().to_string(),
                    message: error.to_string(),
                }
            })?;
        }
        Ok(())
    }

    pub fn dir_of(&self, tp: &TopicPartition) -> Option<&Path> {
        let partitions = self
            .partitions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        partitions
            .get(tp)
            .map(|(index, _)| *index)
            .map(|index| self.dirs[index].as_path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_opens_of_one_partition_share_one_log() {
        let dir = tempfile::tempdir().unwrap();
        let manager = Arc::new(LogManager::new(&[dir.path().to_path_buf()]).unwrap());
        let tp = TopicPartition::new("t", 0);
        let opened: Vec<Arc<Partition>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let manager = manager.clone();
                    let tp = tp.clone();
                    scope.spawn(move || {
                        manager
                            .open_or_create(&tp, TopicId::ZERO, LogSettings::default())
                            .unwrap()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap())
                .collect()
        });
        assert!(opened
            .iter()
            .all(|partition| Arc::ptr_eq(partition, &opened[0])));
    }

    #[test]
    fn the_high_watermark_checkpoint_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let mut manager = LogManager::new(&[dir.path().to_path_buf()]).unwrap();
        manager.set_local_broker(BrokerId(1));
        let tp = TopicPartition::new("t", 0);
        let partition = manager
            .open_or_create(&tp, TopicId::ZERO, LogSettings::default())
            .unwrap();
        let me = BrokerId(1);
        partition
            .apply_leader_and_isr(
                0,
                &crate::kafka::replica::state::PartitionState {
                    leader: Some(me),
                    leader_epoch: 0,
                    isr: vec![me],
                    partition_epoch: 0,
                    replicas: vec![me],
                },
                1,
                None,
            )
            .unwrap();
        let batch = crate::kafka::log::batch::test_batch(0, 1, &[b"a", b"b"]);
        let limits = crate::kafka::replica::ProduceLimits {
            batch_bytes_max: 1 << 20,
            log_append_time: false,
            compacted: false,
        };
        partition.append_from_client(&batch, limits, 1).unwrap();
        manager.checkpoint_high_watermarks().unwrap();
        let written =
            checkpoint::read_offsets(&dir.path().join(REPLICATION_OFFSET_CHECKPOINT)).unwrap();
        assert_eq!(written.get(&tp), Some(&2));
        // A reopened partition starts from it.
        drop(partition);
        let reopened = LogManager::new(&[dir.path().to_path_buf()]).unwrap();
        let partition = reopened
            .open_or_create(&tp, TopicId::ZERO, LogSettings::default())
            .unwrap();
        assert_eq!(partition.offsets().high_watermark, 2);
    }
}
