//! Which `__consumer_offsets` partitions this coordinator serves. Follows Kafka
//! 3.9's `GroupCoordinator.onElection` / `onResignation` and the loading and owned
//! partition sets of its GroupMetadataManager.
//!
//! When the broker becomes leader of an offsets partition the caller calls
//! [`GroupCoordinator::begin_load`], reads the partition, and hands its records to
//! [`GroupCoordinator::complete_load`]; meanwhile that partition's groups are
//! answered COORDINATOR_LOAD_IN_PROGRESS. When leadership leaves,
//! [`GroupCoordinator::unload_partition`] drops the partition's groups and offsets
//! and answers their parked requests NOT_COORDINATOR. A group of a partition not
//! served here is answered NOT_COORDINATOR.

use bytes::Bytes;
use kafka_protocol::ResponseError;

use super::coordinator::{Effect, GroupCoordinator};
use super::ids::{GroupId, OffsetsPartition};
use super::records::{CoordinatorRecord, RecordError};
use super::responses::{sync_error, JoinAnswer};

/// The state of a partition this coordinator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartitionLoad {
    /// Its records are being read; its groups wait.
    Loading,
    /// Its groups are served.
    Loaded,
}

impl GroupCoordinator {
    /// Whether this coordinator serves `group_id` now: NOT_COORDINATOR when its
    /// partition is not served here, COORDINATOR_LOAD_IN_PROGRESS while it loads
    /// (Kafka's `validateGroupStatus`, after the group id check).
    pub fn check_coordinator(&self, group_id: &str) -> Result<(), ResponseError> {
        match self.partitions.get(&self.partition_for(group_id)) {
            None => Err(ResponseError::NotCoordinator),
            Some(PartitionLoad::Loading) => Err(ResponseError::CoordinatorLoadInProgress),
            Some(PartitionLoad::Loaded) => Ok(()),
        }
    }

    /// Whether any partition is loading (ListGroups then says so).
    pub fn is_loading(&self) -> bool {
        self.partitions
            .values()
            .any(|load| *load == PartitionLoad::Loading)
    }

    /// The partitions served here, loaded or loading.
    pub fn owned_partitions(&self) -> impl Iterator<Item = OffsetsPartition> + '_ {
        self.partitions.keys().copied()
    }

    /// Whether `partition` is served here, loaded or loading.
    pub fn owns(&self, partition: OffsetsPartition) -> bool {
        self.partitions.contains_key(&partition)
    }

    /// This broker now leads `partition`: its groups wait until
    /// [`GroupCoordinator::complete_load`].
    pub fn begin_load(&mut self, partition: OffsetsPartition) {
        self.assert_partition(partition);
        let previous = self.partitions.insert(partition, PartitionLoad::Loading);
        assert!(
            previous.is_none(),
            "partition {} loaded twice without an unload",
            partition.0
        );
    }

    /// Installs `partition`'s groups and offsets from its records in log order
    /// (the last record per key wins, tombstones delete) and starts serving it.
    /// Members of loaded groups get a fresh session, as Kafka's `onGroupLoaded`
    /// gives them.
    pub fn complete_load(
        &mut self,
        partition: OffsetsPartition,
        records: impl IntoIterator<Item = CoordinatorRecord>,
        now_ms: i64,
    ) -> Vec<Effect> {
        assert_eq!(
            self.partitions.get(&partition),
            Some(&PartitionLoad::Loading),
            "completing a load that was not begun"
        );
        for record in records {
            if self.partition_for(record.group()) != partition {
                // Only a foreign writer could put it here; Kafka would serve it from
                // the wrong partition, keel leaves it out.
                tracing::warn!(
                    partition = partition.0,
                    group = record.group(),
                    "skipping a record of another partition's group"
                );
                continue;
            }
            self.replay(record, now_ms);
        }
        let loaded: Vec<GroupId> = self
            .groups
            .keys()
            .filter(|id| self.partition_for(id.as_str()) == partition)
            .cloned()
            .collect();
        tracing::info!(
            partition = partition.0,
            groups = loaded.len(),
            "loaded group coordinator partition"
        );
        self.start_loaded_groups(loaded, now_ms);
        self.partitions.insert(partition, PartitionLoad::Loaded);
        self.take_effects()
    }

    /// [`GroupCoordinator::complete_load`] from raw keys and values; record types
    /// keel does not model are skipped. A malformed record fails the load: the
    /// partition is then not served (its groups get NOT_COORDINATOR) until the
    /// caller begins a new load.
    pub fn complete_load_from_bytes(
        &mut self,
        partition: OffsetsPartition,
        records: impl IntoIterator<Item = (Bytes, Option<Bytes>)>,
        now_ms: i64,
    ) -> Result<Vec<Effect>, RecordError> {
        let mut decoded = Vec::new();
        for (key, value) in records {
            match CoordinatorRecord::decode(&key, value.as_deref()) {
                Ok(Some(record)) => decoded.push(record),
                Ok(None) => {}
                Err(error) => {
                    self.abort_load(partition);
                    return Err(error);
                }
            }
        }
        Ok(self.complete_load(partition, decoded, now_ms))
    }

    /// Gives up a load begun with [`GroupCoordinator::begin_load`].
    pub fn abort_load(&mut self, partition: OffsetsPartition) {
        if self.partitions.get(&partition) == Some(&PartitionLoad::Loading) {
            self.partitions.remove(&partition);
        }
    }

    /// This broker no longer leads `partition`: its groups, offsets and timers go,
    /// parked JoinGroups and SyncGroups are answered NOT_COORDINATOR (Kafka's
    /// `onGroupUnloaded`), and so are commits still waiting on their append.
    pub fn unload_partition(&mut self, partition: OffsetsPartition) -> Vec<Effect> {
        if self.partitions.remove(&partition).is_none() {
            return self.take_effects();
        }
        let unloaded: Vec<GroupId> = self
            .groups
            .keys()
            .filter(|id| self.partition_for(id.as_str()) == partition)
            .cloned()
            .collect();
        for group_id in &unloaded {
            let mut group = self.groups.remove(group_id).expect("listed");
            let previous = group.state();
            for member_id in group.member_ids() {
                let member = group.member_mut(&member_id).expect("listed");
                if let Some(pending) = member.awaiting_join.take() {
                    let answer = JoinAnswer::error(ResponseError::NotCoordinator, &member_id.0)
                        .build(pending.api_version);
                    self.respond(pending, answer);
                }
                if let Some(pending) = member.awaiting_sync.take() {
                    self.respond(
                        pending,
                        sync_error(pending.api_version, ResponseError::NotCoordinator),
                    );
                }
            }
            tracing::info!(
                group = %group_id,
                generation = group.generation().0,
                state = previous.name(),
                "unloaded group"
            );
            self.cancel_group_timers(group_id);
            self.offsets.drop_group(group_id);
        }
        self.abandon_appends(partition, ResponseError::NotCoordinator);
        self.take_effects()
    }

    fn assert_partition(&self, partition: OffsetsPartition) {
        assert!(
            (0..self.config.offsets_topic_partitions).contains(&partition.0),
            "offsets partition {} out of range",
            partition.0
        );
    }
}
