//! The coordinator itself: all classic groups and committed offsets of this broker,
//! driven by requests and ticks, answering with [`Effect`]s.
//!
//! Nothing here touches a socket, a file or a clock. The caller passes `now_ms`
//! with every call and carries out the effects in order, appending each
//! [`Effect::Persist`] to `__consumer_offsets` (with acks=all, as Kafka does) and
//! reporting how that append ended through [`GroupCoordinator::complete_append`].
//! An answer that promises what a record records (an offset commit, the leader's
//! assignment, a static member's new id) is only produced by that completion, as
//! Kafka answers from its append callbacks; the state it describes changes then too.
//! Some requests are answered later (JoinGroup waits for the join phase, a
//! follower's SyncGroup for the leader): their `Respond` comes out of a later
//! `handle_*`, [`GroupCoordinator::tick`] or `complete_append` call, tagged with
//! the caller's [`RequestId`].
//!
//! The coordinator serves the groups of the `__consumer_offsets` partitions it owns
//! (`ownership`); [`GroupCoordinator::new`] owns them all, as a single broker does.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::appends::{AfterAppend, PendingAppend};
use super::classic::{ClassicGroup, GroupState, Pending};
use super::config::GroupConfig;
use super::ids::{
    partition_for_group, AppendId, GenerationId, GroupId, MemberId, MemberIdSource,
    OffsetsPartition, RequestId,
};
use super::offsets::OffsetStore;
use super::ownership::PartitionLoad;
use super::records::{CoordinatorRecord, GroupMetadataKey, RecordError};
use super::responses::Response;
use super::timers::Timers;

/// What the caller knows about a request besides its body.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Echoed in the `Respond` effect that answers this request.
    pub request_id: RequestId,
    /// The request's API version; several answers depend on it.
    pub api_version: i16,
    /// The request header's client id.
    pub client_id: String,
    /// The client's address as Kafka prints it (`/127.0.0.1`).
    pub client_host: String,
}

/// What the caller must do after a coordinator call, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send `response` as the answer to request `request_id`.
    Respond {
        request_id: RequestId,
        response: Response,
    },
    /// Append `records` (in one batch) to `__consumer_offsets` partition
    /// `partition` with acks=all, then call
    /// [`GroupCoordinator::complete_append`] with `append` and the outcome.
    Persist {
        partition: OffsetsPartition,
        records: Vec<CoordinatorRecord>,
        append: AppendId,
    },
}

/// Timeouts the coordinator keeps, keyed as Kafka keys them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum TimerKey {
    /// A member's (or pending member's) session.
    Heartbeat(GroupId, MemberId),
    /// The end of a group's join phase.
    Join(GroupId),
    /// The deadline for members to send SyncGroup.
    Sync(GroupId),
    /// The periodic removal of expired offsets.
    OffsetsRetention,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TimerAction {
    ExpireHeartbeat,
    CompleteJoin,
    /// Kafka's InitialDelayedJoin: wait `delay_ms` more, up to `remaining_ms`.
    InitialJoin {
        delay_ms: i32,
        remaining_ms: i32,
    },
    ExpireSync {
        generation: GenerationId,
    },
    CleanupOffsets,
}

/// The group coordinator for every `__consumer_offsets` partition this broker leads.
pub struct GroupCoordinator {
    pub(super) config: GroupConfig,
    pub(super) ids: Box<dyn MemberIdSource>,
    pub(super) groups: BTreeMap<GroupId, ClassicGroup>,
    pub(super) offsets: OffsetStore,
    pub(super) timers: Timers<TimerKey, TimerAction>,
    /// The offsets partitions served here, loaded or loading.
    pub(super) partitions: BTreeMap<OffsetsPartition, PartitionLoad>,
    /// Appends handed out and not yet completed, with what their outcome does.
    pub(super) appends: BTreeMap<AppendId, PendingAppend>,
    /// The id the next `Persist` gets.
    pub(super) next_append_id: u64,
    /// Effects of the call in progress, handed back when it returns.
    pub(super) out: Vec<Effect>,
}

impl std::fmt::Debug for GroupCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCoordinator")
            .field("groups", &self.groups.len())
            .field("timers", &self.timers.len())
            .finish()
    }
}

impl GroupCoordinator {
    /// `GroupMetadataManager`'s NumGroups (every group known here: with members or
    /// only with committed offsets) and NumOffsets.
    pub fn metrics_counts(&self) -> (usize, usize) {
        let (with_offsets, offsets) = self.offsets.counts();
        let groups = with_offsets
            .filter(|group| !self.groups.contains_key(*group))
            .count()
            + self.groups.len();
        (groups, offsets)
    }

    /// A coordinator with no groups that serves every offsets partition (a
    /// single broker, or a test).
    pub fn new(config: GroupConfig, ids: Box<dyn MemberIdSource>, now_ms: i64) -> Self {
        let mut coordinator = Self::without_partitions(config, ids, now_ms);
        coordinator.partitions = (0..coordinator.config.offsets_topic_partitions)
            .map(|p| (OffsetsPartition(p), PartitionLoad::Loaded))
            .collect();
        coordinator
    }

    /// A coordinator that serves no offsets partition yet: each comes with
    /// [`GroupCoordinator::begin_load`] when this broker becomes its leader.
    pub fn without_partitions(
        config: GroupConfig,
        ids: Box<dyn MemberIdSource>,
        now_ms: i64,
    ) -> Self {
        assert!(config.offsets_topic_partitions > 0);
        assert!(config.session_timeout_ms_min <= config.session_timeout_ms_max);
        let mut coordinator = Self {
            config,
            ids,
            groups: BTreeMap::new(),
            offsets: OffsetStore::default(),
            timers: Timers::default(),
            partitions: BTreeMap::new(),
            appends: BTreeMap::new(),
            next_append_id: 1,
            out: Vec::new(),
        };
        coordinator.schedule_offsets_cleanup(now_ms);
        coordinator
    }

    /// Rebuilds the coordinator from `__consumer_offsets` records in log order:
    /// the last record per key wins, tombstones delete. Members of loaded groups
    /// get a fresh session, as Kafka gives them on load.
    pub fn load(
        config: GroupConfig,
        ids: Box<dyn MemberIdSource>,
        records: impl IntoIterator<Item = CoordinatorRecord>,
        now_ms: i64,
    ) -> Self {
        let mut coordinator = Self::new(config, ids, now_ms);
        for record in records {
            coordinator.replay(record, now_ms);
        }
        coordinator.finish_load(now_ms);
        coordinator
    }

    /// [`GroupCoordinator::load`] from raw keys and values; record types keel does
    /// not model are skipped, a malformed record fails the load.
    pub fn load_from_bytes(
        config: GroupConfig,
        ids: Box<dyn MemberIdSource>,
        records: impl IntoIterator<Item = (Bytes, Option<Bytes>)>,
        now_ms: i64,
    ) -> Result<Self, RecordError> {
        let mut decoded = Vec::new();
        for (key, value) in records {
            if let Some(record) = CoordinatorRecord::decode(&key, value.as_deref())? {
                decoded.push(record);
            }
        }
        Ok(Self::load(config, ids, decoded, now_ms))
    }

    pub(super) fn replay(&mut self, record: CoordinatorRecord, now_ms: i64) {
        match record {
            CoordinatorRecord::GroupMetadata { key, value } => {
                let id = GroupId(key.group);
                match value {
                    None => {
                        self.groups.remove(&id);
                    }
                    Some(value) => {
                        let group = ClassicGroup::from_record(id.clone(), &value);
                        self.groups.insert(id, group);
                    }
                }
            }
            CoordinatorRecord::OffsetCommit { key, value } => {
                let id = GroupId(key.group);
                match value {
                    None => self.offsets.remove(&id, &key.topic, key.partition),
                    Some(value) => {
                        // Offsets committed without group membership create a
                        // "simple" group, as Kafka's replay does.
                        self.groups
                            .entry(id.clone())
                            .or_insert_with(|| ClassicGroup::new(id.clone(), now_ms));
                        self.offsets
                            .put(&id, key.topic, key.partition, value.into());
                    }
                }
            }
        }
    }

    fn finish_load(&mut self, now_ms: i64) {
        let ids: Vec<GroupId> = self.groups.keys().cloned().collect();
        self.start_loaded_groups(ids, now_ms);
    }

    /// What Kafka's `onGroupLoaded` does for freshly loaded groups: fresh
    /// sessions, and a rebalance for groups over the size limit.
    pub(super) fn start_loaded_groups(&mut self, ids: Vec<GroupId>, now_ms: i64) {
        for id in ids {
            let group = &self.groups[&id];
            let sessions: Vec<(MemberId, i32)> = group
                .members()
                .map(|m| (m.id.clone(), m.session_timeout_ms))
                .collect();
            let over_capacity = group.len() > self.config.group_size_max as usize;
            for (member_id, session_timeout_ms) in sessions {
                self.schedule_heartbeat(&id, &member_id, now_ms, session_timeout_ms);
            }
            if over_capacity {
                // The size limit may have shrunk since the group was written; a
                // rebalance lets members commit before the extra ones are dropped.
                self.prepare_rebalance(&id, now_ms);
            }
        }
        // Loaded groups have no parked requests and a rebalance started here only
        // schedules its join deadline, so loading has nothing to answer or write.
        debug_assert!(self.out.is_empty(), "loading produced effects");
    }

    /// The `__consumer_offsets` partition that stores `group_id`.
    pub fn partition_for(&self, group_id: &str) -> OffsetsPartition {
        OffsetsPartition(partition_for_group(
            group_id,
            self.config.offsets_topic_partitions,
        ))
    }

    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    /// A group, for inspection.
    pub fn group(&self, group_id: &str) -> Option<&ClassicGroup> {
        self.groups.get(&GroupId(group_id.to_owned()))
    }

    /// When the caller should next call [`GroupCoordinator::tick`].
    pub fn next_deadline_ms(&self) -> Option<i64> {
        self.timers.next_deadline_ms()
    }

    /// Fires every timeout due at `now_ms`: session expiry, join and sync
    /// deadlines, the delayed initial rebalance, offset retention.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Effect> {
        while let Some((key, action)) = self.timers.pop_expired(now_ms) {
            match (key, action) {
                (TimerKey::Heartbeat(group, member), TimerAction::ExpireHeartbeat) => {
                    self.expire_heartbeat(&group, &member, now_ms)
                }
                (TimerKey::Join(group), TimerAction::CompleteJoin) => {
                    let rebalancing = self
                        .groups
                        .get(&group)
                        .is_some_and(|g| g.is_in(GroupState::PreparingRebalance));
                    if rebalancing {
                        self.complete_join(&group, now_ms)
                    }
                }
                (
                    TimerKey::Join(group),
                    TimerAction::InitialJoin {
                        delay_ms,
                        remaining_ms,
                    },
                ) => self.initial_join_expired(&group, delay_ms, remaining_ms, now_ms),
                (TimerKey::Sync(group), TimerAction::ExpireSync { generation }) => {
                    self.expire_sync(&group, generation, now_ms)
                }
                (TimerKey::OffsetsRetention, TimerAction::CleanupOffsets) => {
                    self.cleanup_expired_offsets(now_ms);
                    self.schedule_offsets_cleanup(now_ms);
                }
                (key, action) => unreachable!("timer {key:?} cannot carry {action:?}"),
            }
        }
        self.take_effects()
    }

    fn schedule_offsets_cleanup(&mut self, now_ms: i64) {
        self.timers.schedule(
            TimerKey::OffsetsRetention,
            now_ms + self.config.offsets_retention_check_interval_ms,
            TimerAction::CleanupOffsets,
        );
    }

    pub(super) fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.out)
    }

    pub(super) fn respond(&mut self, pending: Pending, response: Response) {
        self.out.push(Effect::Respond {
            request_id: pending.request_id,
            response,
        });
    }

    pub(super) fn respond_to(&mut self, request_id: RequestId, response: Response) {
        self.out.push(Effect::Respond {
            request_id,
            response,
        });
    }

    /// Writes records whose outcome changes nothing here (tombstones, an empty
    /// group's generation): a failure is only logged, as Kafka only logs it.
    pub(super) fn persist(&mut self, group_id: &GroupId, records: Vec<CoordinatorRecord>) {
        if records.is_empty() {
            return;
        }
        self.persist_then(group_id, records, AfterAppend::Nothing);
    }

    /// Writes records and keeps `then` until the append completes.
    pub(super) fn persist_then(
        &mut self,
        group_id: &GroupId,
        records: Vec<CoordinatorRecord>,
        then: AfterAppend,
    ) -> AppendId {
        assert!(!records.is_empty(), "an append without records");
        let partition = self.partition_for(group_id.as_str());
        let append = self.next_append(partition, then);
        self.out.push(Effect::Persist {
            partition,
            records,
            append,
        });
        append
    }

    /// Hands out the next append id and remembers what its completion does.
    pub(super) fn next_append(
        &mut self,
        partition: OffsetsPartition,
        then: AfterAppend,
    ) -> AppendId {
        let append = AppendId(self.next_append_id);
        self.next_append_id += 1;
        self.appends
            .insert(append, PendingAppend { partition, then });
        append
    }

    /// The group's current metadata record.
    pub(super) fn group_record(&self, group_id: &GroupId) -> CoordinatorRecord {
        CoordinatorRecord::GroupMetadata {
            key: GroupMetadataKey {
                group: group_id.0.clone(),
            },
            value: Some(self.groups[group_id].to_record()),
        }
    }

    /// Writes the group's current metadata record.
    pub(super) fn persist_group(&mut self, group_id: &GroupId) {
        let record = self.group_record(group_id);
        self.persist(group_id, vec![record]);
    }

    pub(super) fn schedule_heartbeat(
        &mut self,
        group_id: &GroupId,
        member_id: &MemberId,
        now_ms: i64,
        timeout_ms: i32,
    ) {
        self.timers.schedule(
            TimerKey::Heartbeat(group_id.clone(), member_id.clone()),
            now_ms + i64::from(timeout_ms),
            TimerAction::ExpireHeartbeat,
        );
    }

    /// Forgets a deleted group's timers, so none fires on a later group of the same name.
    pub(super) fn cancel_group_timers(&mut self, group_id: &GroupId) {
        self.timers.cancel_where(|key| match key {
            TimerKey::Heartbeat(group, _) | TimerKey::Join(group) | TimerKey::Sync(group) => {
                group == group_id
            }
            TimerKey::OffsetsRetention => false,
        });
    }

    pub(super) fn cancel_heartbeat(&mut self, group_id: &GroupId, member_id: &MemberId) {
        self.timers
            .cancel(&TimerKey::Heartbeat(group_id.clone(), member_id.clone()));
    }
}
