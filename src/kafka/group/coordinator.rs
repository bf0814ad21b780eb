//! The coordinator itself: all classic groups and committed offsets of this broker,
//! driven by requests and ticks, answering with [`Effect`]s.
//!
//! Nothing here touches a socket, a file or a clock. The caller passes `now_ms`
//! with every call and carries out the effects in order: a [`Effect::Persist`]
//! must be appended to `__consumer_offsets` before any [`Effect::Respond`] that
//! follows it is sent, because the responses promise what the records record.
//! Some requests are answered later (JoinGroup waits for the join phase, a
//! follower's SyncGroup for the leader): their `Respond` comes out of a later
//! `handle_*` or [`GroupCoordinator::tick`] call, tagged with the caller's
//! [`RequestId`].

use std::collections::BTreeMap;

use bytes::Bytes;

use super::classic::{ClassicGroup, GroupState, Pending};
use super::config::GroupConfig;
use super::ids::{
    partition_for_group, GenerationId, GroupId, MemberId, MemberIdSource, OffsetsPartition,
    RequestId,
};
use super::offsets::OffsetStore;
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
    /// Append `records` (in one batch) to `__consumer_offsets` partition `partition`.
    Persist {
        partition: OffsetsPartition,
        records: Vec<CoordinatorRecord>,
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
    /// A coordinator with no groups.
    pub fn new(config: GroupConfig, ids: Box<dyn MemberIdSource>, now_ms: i64) -> Self {
        assert!(config.offsets_topic_partitions > 0);
        assert!(config.session_timeout_ms_min <= config.session_timeout_ms_max);
        let mut coordinator = Self {
            config,
            ids,
            groups: BTreeMap::new(),
            offsets: OffsetStore::default(),
            timers: Timers::default(),
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

    fn replay(&mut self, record: CoordinatorRecord, now_ms: i64) {
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

    pub(super) fn persist(&mut self, group_id: &GroupId, records: Vec<CoordinatorRecord>) {
        if records.is_empty() {
            return;
        }
        let partition = self.partition_for(group_id.as_str());
        self.out.push(Effect::Persist { partition, records });
    }

    /// Writes the group's current metadata record.
    pub(super) fn persist_group(&mut self, group_id: &GroupId) {
        let value = self.groups[group_id].to_record();
        self.persist(
            group_id,
            vec![CoordinatorRecord::GroupMetadata {
                key: GroupMetadataKey {
                    group: group_id.0.clone(),
                },
                value: Some(value),
            }],
        );
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
