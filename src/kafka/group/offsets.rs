//! Committed offsets: OffsetCommit, OffsetFetch, OffsetDelete, and retention.
//! Follows Kafka's OffsetMetadataManager and `ClassicGroup.validateOffsetCommit`.
//!
//! Offsets live apart from group membership: a consumer that assigns partitions
//! itself commits with generation -1 and no member id, which creates a "simple"
//! group (Empty, no protocol type) that only holds offsets.

use std::collections::BTreeMap;

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest, OffsetDeleteResponse,
    OffsetFetchRequest, OffsetFetchResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::appends::AfterAppend;
use super::classic::{ClassicGroup, GroupState};
use super::coordinator::{Effect, GroupCoordinator, RequestContext};
use super::ids::{AppendId, GroupId, GroupInstanceId, MemberId};
use super::records::{
    fits_record_string, CoordinatorRecord, GroupMetadataKey, OffsetCommitKey, OffsetCommitValue,
};
use super::responses::{code, str_bytes, Response};

/// The retention a commit gets when it does not ask for one (v2-v4 `-1`, and v5+).
const DEFAULT_RETENTION_TIME_MS: i64 = -1;

/// One committed position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetAndMetadata {
    pub committed_offset: i64,
    pub leader_epoch: Option<i32>,
    pub metadata: String,
    pub commit_timestamp_ms: i64,
    /// Set only by commits with an explicit retention (OffsetCommit v2-v4).
    pub expire_timestamp_ms: Option<i64>,
}

impl From<OffsetCommitValue> for OffsetAndMetadata {
    fn from(value: OffsetCommitValue) -> Self {
        Self {
            committed_offset: value.offset,
            leader_epoch: (value.leader_epoch != -1).then_some(value.leader_epoch),
            metadata: value.metadata,
            commit_timestamp_ms: value.commit_timestamp_ms,
            expire_timestamp_ms: (value.expire_timestamp_ms != -1)
                .then_some(value.expire_timestamp_ms),
        }
    }
}

impl OffsetAndMetadata {
    fn to_record(&self) -> OffsetCommitValue {
        OffsetCommitValue {
            offset: self.committed_offset,
            leader_epoch: self.leader_epoch.unwrap_or(-1),
            metadata: self.metadata.clone(),
            commit_timestamp_ms: self.commit_timestamp_ms,
            expire_timestamp_ms: self.expire_timestamp_ms.unwrap_or(-1),
        }
    }
}

/// Offsets by group, topic and partition.
#[derive(Debug, Default)]
pub struct OffsetStore {
    by_group: BTreeMap<GroupId, BTreeMap<String, BTreeMap<i32, OffsetAndMetadata>>>,
    /// The latest append that wrote (or, for a removal, fenced) each offset while
    /// appends are in flight: their completions may arrive out of log order, and
    /// an older one must not undo a newer write. Emptied when none is in flight.
    last_write: BTreeMap<(GroupId, String, i32), AppendId>,
}

impl OffsetStore {
    /// Applies a commit whose append `append` succeeded, unless a later append
    /// already wrote or removed the offset.
    pub fn put_appended(
        &mut self,
        group: &GroupId,
        topic: String,
        partition: i32,
        offset: OffsetAndMetadata,
        append: AppendId,
    ) {
        let key = (group.clone(), topic, partition);
        if self.last_write.get(&key).is_some_and(|last| *last > append) {
            return;
        }
        let (_, topic, _) = key.clone();
        self.last_write.insert(key, append);
        self.put(group, topic, partition, offset);
    }

    /// Removes an offset and keeps every append before `next_append` from
    /// bringing it back.
    pub fn remove_fenced(
        &mut self,
        group: &GroupId,
        topic: &str,
        partition: i32,
        next_append: AppendId,
    ) {
        self.remove(group, topic, partition);
        self.last_write
            .insert((group.clone(), topic.to_owned(), partition), next_append);
    }

    /// Groups with committed offsets, and the offsets they hold.
    pub fn counts(&self) -> (impl Iterator<Item = &GroupId>, usize) {
        let offsets = self
            .by_group
            .values()
            .flat_map(|topics| topics.values())
            .map(BTreeMap::len)
            .sum();
        (self.by_group.keys(), offsets)
    }

    pub fn clear_write_order(&mut self) {
        self.last_write.clear();
    }

    /// Forgets every offset of `group` (an unloaded partition's group).
    pub fn drop_group(&mut self, group: &GroupId) {
        self.by_group.remove(group);
        self.last_write.retain(|(g, _, _), _| g != group);
    }

    pub fn get(&self, group: &GroupId, topic: &str, partition: i32) -> Option<&OffsetAndMetadata> {
        self.by_group.get(group)?.get(topic)?.get(&partition)
    }

    pub fn put(
        &mut self,
        group: &GroupId,
        topic: String,
        partition: i32,
        offset: OffsetAndMetadata,
    ) {
        self.by_group
            .entry(group.clone())
            .or_default()
            .entry(topic)
            .or_default()
            .insert(partition, offset);
    }

    pub fn remove(&mut self, group: &GroupId, topic: &str, partition: i32) {
        let Some(topics) = self.by_group.get_mut(group) else {
            return;
        };
        if let Some(partitions) = topics.get_mut(topic) {
            partitions.remove(&partition);
            if partitions.is_empty() {
                topics.remove(topic);
            }
        }
        if topics.is_empty() {
            self.by_group.remove(group);
        }
    }

    pub fn group(
        &self,
        group: &GroupId,
    ) -> Option<&BTreeMap<String, BTreeMap<i32, OffsetAndMetadata>>> {
        self.by_group.get(group)
    }

    pub fn remove_group(&mut self, group: &GroupId) -> Vec<(String, i32)> {
        self.by_group
            .remove(group)
            .map(|topics| {
                topics
                    .into_iter()
                    .flat_map(|(topic, partitions)| {
                        partitions.into_keys().map(move |p| (topic.clone(), p))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub(super) fn offset_tombstone(group: &GroupId, topic: &str, partition: i32) -> CoordinatorRecord {
    CoordinatorRecord::OffsetCommit {
        key: OffsetCommitKey {
            group: group.0.clone(),
            topic: topic.to_owned(),
            partition,
        },
        value: None,
    }
}

impl GroupCoordinator {
    /// A committed offset, for inspection.
    pub fn committed_offset(
        &self,
        group_id: &str,
        topic: &str,
        partition: i32,
    ) -> Option<&OffsetAndMetadata> {
        self.offsets
            .get(&GroupId(group_id.to_owned()), topic, partition)
    }

    /// Handles an OffsetCommit (v1+; topics the caller found unknown or
    /// unauthorized are for it to answer). Answered at once, after the records.
    pub fn handle_offset_commit(
        &mut self,
        ctx: &RequestContext,
        request: &OffsetCommitRequest,
        now_ms: i64,
    ) -> Vec<Effect> {
        let group_fits = fits_record_string(request.group_id.0.as_str());
        let validated = if group_fits {
            self.check_coordinator(request.group_id.0.as_str())
                .and_then(|()| self.validate_offset_commit(ctx.api_version, request, now_ms))
        } else {
            Err(ResponseError::InvalidGroupId)
        };
        let response = match validated {
            Err(error) => commit_response_all(request, Some(error)),
            Ok(group_id) => match self.commit_offsets(ctx, &group_id, request, now_ms) {
                Some(response) => response,
                // Answered when the append completes.
                None => return self.take_effects(),
            },
        };
        self.respond_to(ctx.request_id, Response::OffsetCommit(response));
        self.take_effects()
    }

    fn validate_offset_commit(
        &mut self,
        version: i16,
        request: &OffsetCommitRequest,
        now_ms: i64,
    ) -> Result<GroupId, ResponseError> {
        let group_id = GroupId(request.group_id.0.as_str().to_owned());
        let generation = request.generation_id_or_member_epoch;
        let member_id = MemberId(request.member_id.as_str().to_owned());
        let instance = request
            .group_instance_id
            .as_ref()
            .map(|i| GroupInstanceId(i.as_str().to_owned()));

        if !self.groups.contains_key(&group_id) {
            if generation >= 0 {
                // Version 9 introduced GROUP_ID_NOT_FOUND; older clients expect
                // ILLEGAL_GENERATION.
                return Err(if version >= 9 {
                    ResponseError::GroupIdNotFound
                } else {
                    ResponseError::IllegalGeneration
                });
            }
            // A consumer without group management: create a simple group.
            self.groups.insert(
                group_id.clone(),
                ClassicGroup::new(group_id.clone(), now_ms),
            );
        }
        let group = &self.groups[&group_id];
        match group.state() {
            GroupState::Dead => return Err(ResponseError::CoordinatorNotAvailable),
            GroupState::Empty if generation < 0 => return Ok(group_id),
            _ => {}
        }
        if generation >= 0 || !member_id.0.is_empty() || instance.is_some() {
            group.validate_member(&member_id, instance.as_ref())?;
            if generation != group.generation().0 {
                return Err(ResponseError::IllegalGeneration);
            }
        } else if !group.is_in(GroupState::Empty) {
            // No member id and no generation: only an empty group takes it.
            return Err(ResponseError::UnknownMemberId);
        }
        if group.is_in(GroupState::CompletingRebalance) {
            // The member knows the new generation but has no assignment yet.
            return Err(ResponseError::RebalanceInProgress);
        }
        // A commit keeps the session alive like a heartbeat does.
        if matches!(
            group.state(),
            GroupState::Stable | GroupState::PreparingRebalance
        ) {
            if let Some(member) = group.member(&member_id) {
                let session_timeout_ms = member.session_timeout_ms;
                self.schedule_heartbeat(&group_id, &member_id, now_ms, session_timeout_ms);
            }
        }
        Ok(group_id)
    }

    /// Writes the commit's offsets; `None` when the answer waits for the append,
    /// the answer when there was nothing to write.
    fn commit_offsets(
        &mut self,
        ctx: &RequestContext,
        group_id: &GroupId,
        request: &OffsetCommitRequest,
        now_ms: i64,
    ) -> Option<OffsetCommitResponse> {
        let expire_timestamp_ms = (request.retention_time_ms != DEFAULT_RETENTION_TIME_MS)
            .then(|| now_ms.saturating_add(request.retention_time_ms));
        let mut records = Vec::new();
        let mut staged = Vec::new();
        let mut response = OffsetCommitResponse::default();
        for topic in &request.topics {
            let mut topic_response = OffsetCommitResponseTopic::default();
            topic_response.name = topic.name.clone();
            topic_response.topic_id = topic.topic_id;
            for partition in &topic.partitions {
                if !fits_record_string(topic.name.0.as_str()) {
                    // No topic has such a name; it could not be stored anyway.
                    let mut partition_response = OffsetCommitResponsePartition::default();
                    partition_response.partition_index = partition.partition_index;
                    partition_response.error_code = ResponseError::UnknownTopicOrPartition.code();
                    topic_response.partitions.push(partition_response);
                    continue;
                }
                let metadata = partition
                    .committed_metadata
                    .as_ref()
                    .map(|m| m.as_str().to_owned())
                    .unwrap_or_default();
                // Kafka measures String.length(), in UTF-16 units.
                let too_large = metadata.encode_utf16().count()
                    > self.config.offset_metadata_bytes_max
                    || !fits_record_string(&metadata);
                let error = too_large.then_some(ResponseError::OffsetMetadataTooLarge);
                if error.is_none() {
                    let offset = OffsetAndMetadata {
                        committed_offset: partition.committed_offset,
                        leader_epoch: (partition.committed_leader_epoch != -1)
                            .then_some(partition.committed_leader_epoch),
                        metadata,
                        commit_timestamp_ms: now_ms,
                        expire_timestamp_ms,
                    };
                    records.push(CoordinatorRecord::OffsetCommit {
                        key: OffsetCommitKey {
                            group: group_id.0.clone(),
                            topic: topic.name.0.as_str().to_owned(),
                            partition: partition.partition_index,
                        },
                        value: Some(offset.to_record()),
                    });
                    staged.push((
                        topic.name.0.as_str().to_owned(),
                        partition.partition_index,
                        offset,
                    ));
                }
                let mut partition_response = OffsetCommitResponsePartition::default();
                partition_response.partition_index = partition.partition_index;
                partition_response.error_code = code(error);
                topic_response.partitions.push(partition_response);
            }
            response.topics.push(topic_response);
        }
        if records.is_empty() {
            return Some(response);
        }
        self.persist_then(
            group_id,
            records,
            AfterAppend::OffsetCommit {
                request_id: ctx.request_id,
                group_id: group_id.clone(),
                response,
                offsets: staged,
            },
        );
        None
    }

    /// Removes an offset now; its tombstone follows. A commit still in flight
    /// must not bring it back when it completes.
    pub(super) fn forget_offset(&mut self, group_id: &GroupId, topic: &str, partition: i32) {
        if self.appends.is_empty() {
            self.offsets.remove(group_id, topic, partition);
        } else {
            let next = AppendId(self.next_append_id);
            self.offsets.remove_fenced(group_id, topic, partition, next);
        }
    }

    /// Handles an OffsetFetch, one group (v1-7) or several (v8+). Unknown groups
    /// and partitions answer offset -1; `topics: null` means every partition.
    pub fn handle_offset_fetch(
        &self,
        api_version: i16,
        request: &OffsetFetchRequest,
    ) -> OffsetFetchResponse {
        let mut response = OffsetFetchResponse::default();
        if api_version >= 8 {
            for group in &request.groups {
                let topics = group.topics.as_ref().map(|topics| {
                    topics
                        .iter()
                        .map(|t| (t.name.0.as_str().to_owned(), t.partition_indexes.clone()))
                        .collect::<Vec<_>>()
                });
                let mut group_response = OffsetFetchResponseGroup::default();
                group_response.group_id = group.group_id.clone();
                if let Err(error) = self.check_coordinator(group.group_id.0.as_str()) {
                    group_response.error_code = error.code();
                    response.groups.push(group_response);
                    continue;
                }
                let fetched = self.fetch_offsets(group.group_id.0.as_str(), topics.as_deref());
                group_response.topics = fetched
                    .into_iter()
                    .map(|(topic, partitions)| {
                        let mut t = OffsetFetchResponseTopics::default();
                        t.name = StrBytes::from_string(topic).into();
                        t.partitions = partitions
                            .into_iter()
                            .map(|(index, offset)| {
                                let mut p = OffsetFetchResponsePartitions::default();
                                p.partition_index = index;
                                p.committed_offset = offset.0;
                                p.committed_leader_epoch = offset.1;
                                p.metadata = Some(str_bytes(&offset.2));
                                p
                            })
                            .collect();
                        t
                    })
                    .collect();
                response.groups.push(group_response);
            }
        } else {
            let topics = request.topics.as_ref().map(|topics| {
                topics
                    .iter()
                    .map(|t| (t.name.0.as_str().to_owned(), t.partition_indexes.clone()))
                    .collect::<Vec<_>>()
            });
            if let Err(error) = self.check_coordinator(request.group_id.0.as_str()) {
                return offset_fetch_error(api_version, request, error);
            }
            let fetched = self.fetch_offsets(request.group_id.0.as_str(), topics.as_deref());
            response.topics = fetched
                .into_iter()
                .map(|(topic, partitions)| {
                    let mut t = OffsetFetchResponseTopic::default();
                    t.name = StrBytes::from_string(topic).into();
                    t.partitions = partitions
                        .into_iter()
                        .map(|(index, offset)| {
                            let mut p = OffsetFetchResponsePartition::default();
                            p.partition_index = index;
                            p.committed_offset = offset.0;
                            p.committed_leader_epoch = offset.1;
                            p.metadata = Some(str_bytes(&offset.2));
                            p
                        })
                        .collect();
                    t
                })
                .collect();
        }
        response
    }

    /// `(topic, [(partition, (offset, leader epoch, metadata))])` for one group.
    #[allow(clippy::type_complexity)]
    fn fetch_offsets(
        &self,
        group_id: &str,
        topics: Option<&[(String, Vec<i32>)]>,
    ) -> Vec<(String, Vec<(i32, (i64, i32, String))>)> {
        let group_id = GroupId(group_id.to_owned());
        // Offsets of a group that no longer exists are not shown, as in Kafka.
        let stored = self
            .groups
            .get(&group_id)
            .and_then(|_| self.offsets.group(&group_id));
        let entry = |offset: Option<&OffsetAndMetadata>| match offset {
            Some(o) => (
                o.committed_offset,
                o.leader_epoch.unwrap_or(-1),
                o.metadata.clone(),
            ),
            None => (-1, -1, String::new()),
        };
        match topics {
            Some(topics) => topics
                .iter()
                .map(|(topic, partitions)| {
                    let known = stored.and_then(|s| s.get(topic));
                    let partitions = partitions
                        .iter()
                        .map(|p| (*p, entry(known.and_then(|k| k.get(p)))))
                        .collect();
                    (topic.clone(), partitions)
                })
                .collect(),
            None => stored
                .into_iter()
                .flatten()
                .map(|(topic, partitions)| {
                    let partitions = partitions
                        .iter()
                        .map(|(p, offset)| (*p, entry(Some(offset))))
                        .collect();
                    (topic.clone(), partitions)
                })
                .collect(),
        }
    }

    /// Handles an OffsetDelete: removes a group's offsets for topics it no
    /// longer consumes.
    pub fn handle_offset_delete(
        &mut self,
        ctx: &RequestContext,
        request: &OffsetDeleteRequest,
        _now_ms: i64,
    ) -> Vec<Effect> {
        let response = self.delete_offsets(request);
        self.respond_to(ctx.request_id, Response::OffsetDelete(response));
        self.take_effects()
    }

    fn delete_offsets(&mut self, request: &OffsetDeleteRequest) -> OffsetDeleteResponse {
        let mut response = OffsetDeleteResponse::default();
        let group_id = GroupId(request.group_id.0.as_str().to_owned());
        if group_id.0.is_empty() {
            response.error_code = ResponseError::InvalidGroupId.code();
            return response;
        }
        if let Err(error) = self.check_coordinator(group_id.as_str()) {
            response.error_code = error.code();
            return response;
        }
        let Some(group) = self.groups.get(&group_id) else {
            response.error_code = ResponseError::GroupIdNotFound.code();
            return response;
        };
        match group.state() {
            GroupState::Dead => {
                response.error_code = ResponseError::GroupIdNotFound.code();
                return response;
            }
            // Only consumer groups say what they consume; others must be empty.
            GroupState::Stable
            | GroupState::PreparingRebalance
            | GroupState::CompletingRebalance
                if !group.uses_consumer_protocol() =>
            {
                response.error_code = ResponseError::NonEmptyGroup.code();
                return response;
            }
            _ => {}
        }
        let mut records = Vec::new();
        for topic in &request.topics {
            let name = topic.name.0.as_str();
            let subscribed = group.is_subscribed_to_topic(name);
            let mut topic_response = OffsetDeleteResponseTopic::default();
            topic_response.name = topic.name.clone();
            for partition in &topic.partitions {
                let mut partition_response = OffsetDeleteResponsePartition::default();
                partition_response.partition_index = partition.partition_index;
                if subscribed {
                    partition_response.error_code = ResponseError::GroupSubscribedToTopic.code();
                } else if self
                    .offsets
                    .get(&group_id, name, partition.partition_index)
                    .is_some()
                {
                    records.push(offset_tombstone(&group_id, name, partition.partition_index));
                }
                topic_response.partitions.push(partition_response);
            }
            response.topics.push(topic_response);
        }
        for record in &records {
            if let CoordinatorRecord::OffsetCommit { key, .. } = record {
                self.forget_offset(&group_id, &key.topic, key.partition);
            }
        }
        self.persist(&group_id, records);
        response
    }

    /// Removes offsets past retention (`offsets.retention.minutes`, or the
    /// commit's own expire timestamp), then deletes empty groups left without
    /// offsets. Kafka's `cleanupGroupMetadata`.
    pub(super) fn cleanup_expired_offsets(&mut self, now_ms: i64) {
        let retention_ms = self.config.offsets_retention_ms;
        let group_ids: Vec<GroupId> = self.groups.keys().cloned().collect();
        for group_id in group_ids {
            let group = &self.groups[&group_id];
            let mut records = Vec::new();
            let mut all_expired = true;
            if let Some(topics) = self.offsets.group(&group_id) {
                // When an offset's retention clock starts; never, for groups
                // that are using their offsets.
                let base = match group.protocol_type() {
                    None => ExpiryBase::CommitTimestamp,
                    Some(_) if group.is_in(GroupState::Empty) => {
                        ExpiryBase::GroupEmptied(group.state_timestamp_ms())
                    }
                    Some(_)
                        if group.uses_consumer_protocol()
                            && group.subscribed_topics().is_some()
                            && group.is_in(GroupState::Stable) =>
                    {
                        ExpiryBase::CommitTimestamp
                    }
                    Some(_) => continue,
                };
                for (topic, partitions) in topics {
                    if group.is_subscribed_to_topic(topic) {
                        all_expired = false;
                        continue;
                    }
                    for (partition, offset) in partitions {
                        let expired = match offset.expire_timestamp_ms {
                            Some(expire_ms) => now_ms >= expire_ms,
                            None => now_ms.saturating_sub(base.start_ms(offset)) >= retention_ms,
                        };
                        if expired {
                            records.push(offset_tombstone(&group_id, topic, *partition));
                        } else {
                            all_expired = false;
                        }
                    }
                }
            }
            if all_expired && group.is_in(GroupState::Empty) {
                records.push(CoordinatorRecord::GroupMetadata {
                    key: GroupMetadataKey {
                        group: group_id.0.clone(),
                    },
                    value: None,
                });
                self.groups.remove(&group_id);
                self.cancel_group_timers(&group_id);
            }
            for record in &records {
                if let CoordinatorRecord::OffsetCommit { key, .. } = record {
                    self.forget_offset(&group_id, &key.topic, key.partition);
                }
            }
            self.persist(&group_id, records);
        }
    }
}

/// Where an offset's retention period is counted from (Kafka's
/// `OffsetExpirationCondition`).
enum ExpiryBase {
    /// Simple groups and stable consumer groups: since the last commit.
    CommitTimestamp,
    /// Empty groups: since the group became empty, when the record says.
    GroupEmptied(Option<i64>),
}

impl ExpiryBase {
    fn start_ms(&self, offset: &OffsetAndMetadata) -> i64 {
        match self {
            ExpiryBase::CommitTimestamp => offset.commit_timestamp_ms,
            ExpiryBase::GroupEmptied(emptied_ms) => {
                emptied_ms.unwrap_or(offset.commit_timestamp_ms)
            }
        }
    }
}

/// A single-group OffsetFetch (v0-7) answered with a coordinator error, shaped
/// as Kafka's `OffsetFetchRequest.getErrorResponse`: v0-1 have no top-level
/// error, so every requested partition carries it.
fn offset_fetch_error(
    api_version: i16,
    request: &OffsetFetchRequest,
    error: ResponseError,
) -> OffsetFetchResponse {
    let mut response = OffsetFetchResponse::default();
    if api_version >= 2 {
        response.error_code = error.code();
        return response;
    }
    response.topics = request
        .topics
        .iter()
        .flatten()
        .map(|topic| {
            let mut t = OffsetFetchResponseTopic::default();
            t.name = topic.name.clone();
            t.partitions = topic
                .partition_indexes
                .iter()
                .map(|index| {
                    let mut p = OffsetFetchResponsePartition::default();
                    p.partition_index = *index;
                    p.committed_offset = -1;
                    p.metadata = Some(str_bytes(""));
                    p.error_code = error.code();
                    p
                })
                .collect();
            t
        })
        .collect();
    response
}

/// An OffsetCommit answer with `error` for every partition.
fn commit_response_all(
    request: &OffsetCommitRequest,
    error: Option<ResponseError>,
) -> OffsetCommitResponse {
    let mut response = OffsetCommitResponse::default();
    for topic in &request.topics {
        let mut topic_response = OffsetCommitResponseTopic::default();
        topic_response.name = topic.name.clone();
        topic_response.topic_id = topic.topic_id;
        for partition in &topic.partitions {
            let mut partition_response = OffsetCommitResponsePartition::default();
            partition_response.partition_index = partition.partition_index;
            partition_response.error_code = code(error);
            topic_response.partitions.push(partition_response);
        }
        response.topics.push(topic_response);
    }
    response
}
