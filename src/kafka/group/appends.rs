//! Records on their way to `__consumer_offsets`: what each append's outcome does
//! once the caller reports it. Follows the append callbacks of Kafka 3.9's
//! GroupMetadataManager (`storeOffsets`' and `storeGroup`'s `putCacheCallback`)
//! and the GroupCoordinator code that waits on them.
//!
//! A commit's offsets become visible to OffsetFetch only when their append
//! succeeded, and its answer is sent only then; a failed append leaves the
//! committed offsets as they were and answers with Kafka's mapped error. The
//! leader's assignment is handed out only once the group record carrying it is
//! written; a failed write sends the members back to JoinGroup.

use std::collections::BTreeMap;

use bytes::Bytes;
use kafka_protocol::messages::OffsetCommitResponse;
use kafka_protocol::ResponseError;

use super::classic::{GroupState, Protocol};
use super::coordinator::{Effect, GroupCoordinator};
use super::ids::{
    AppendId, GenerationId, GroupId, GroupInstanceId, MemberId, OffsetsPartition, RequestId,
};
use super::offsets::OffsetAndMetadata;
use super::responses::{JoinAnswer, Response};

/// An append handed out and not yet completed.
#[derive(Debug)]
pub(crate) struct PendingAppend {
    pub partition: OffsetsPartition,
    pub then: AfterAppend,
}

/// What an append's outcome does.
#[derive(Debug)]
pub(crate) enum AfterAppend {
    /// Nothing waits on it: a failure is logged (tombstones, an empty group's
    /// generation, a new group), as Kafka does.
    Nothing,
    /// An OffsetCommit: apply `offsets` and answer `response` on success; on
    /// failure answer with the mapped error on every partition that had none.
    OffsetCommit {
        request_id: RequestId,
        group_id: GroupId,
        response: OffsetCommitResponse,
        offsets: Vec<(String, i32, OffsetAndMetadata)>,
    },
    /// The leader's SyncGroup: hand out `assignments` and go Stable on success,
    /// if the group is still completing generation `generation`.
    Assignment {
        group_id: GroupId,
        generation: GenerationId,
        assignments: BTreeMap<MemberId, Bytes>,
    },
    /// A static member took over its slot in a Stable group: answer its
    /// JoinGroup on success, give the slot back to the old id on failure.
    StaticMemberJoin {
        group_id: GroupId,
        instance: GroupInstanceId,
        old_id: MemberId,
        new_id: MemberId,
        old_protocols: Vec<Protocol>,
        old_rebalance_timeout_ms: i32,
        old_session_timeout_ms: i32,
        /// The leader before the replacement (what clients before v9 are told).
        leader_before: String,
    },
}

/// How an OffsetCommit answers an append error (Kafka 3.9's
/// `GroupMetadataManager.maybeConvertOffsetCommitError`).
pub fn offset_commit_error(append_error: ResponseError) -> ResponseError {
    use ResponseError::*;
    match append_error {
        // Only transaction verification fails this way; retriable without a new
        // coordinator lookup.
        NetworkException => CoordinatorLoadInProgress,
        UnknownTopicOrPartition | NotEnoughReplicas | NotEnoughReplicasAfterAppend => {
            CoordinatorNotAvailable
        }
        NotLeaderOrFollower | KafkaStorageError => NotCoordinator,
        MessageTooLarge | RecordListTooLarge | InvalidFetchSize => InvalidCommitOffsetSize,
        other => other,
    }
}

/// How a group metadata write answers an append error (Kafka 3.9's
/// `GroupMetadataManager.storeGroup`).
pub fn group_write_error(append_error: ResponseError) -> ResponseError {
    use ResponseError::*;
    match append_error {
        UnknownTopicOrPartition | NotEnoughReplicas | NotEnoughReplicasAfterAppend => {
            CoordinatorNotAvailable
        }
        NotLeaderOrFollower | KafkaStorageError => NotCoordinator,
        RequestTimedOut => RebalanceInProgress,
        MessageTooLarge | RecordListTooLarge | InvalidFetchSize => UnknownServerError,
        other => other,
    }
}

impl GroupCoordinator {
    /// Reports how the append of `Effect::Persist { append, .. }` ended: `Ok`
    /// once the ISR has it, else the error the append failed with (as a produce
    /// would have been answered). An append whose partition was unloaded
    /// meanwhile was answered then; its completion does nothing.
    pub fn complete_append(
        &mut self,
        append: AppendId,
        result: Result<(), ResponseError>,
        now_ms: i64,
    ) -> Vec<Effect> {
        if let Some(pending) = self.appends.remove(&append) {
            match pending.then {
                AfterAppend::Nothing => {
                    if let Err(error) = result {
                        tracing::warn!(
                            partition = pending.partition.0,
                            %error,
                            "cannot write group coordinator records"
                        );
                    }
                }
                AfterAppend::OffsetCommit {
                    request_id,
                    group_id,
                    response,
                    offsets,
                } => self.offset_commit_appended(
                    append, request_id, &group_id, response, offsets, result,
                ),
                AfterAppend::Assignment {
                    group_id,
                    generation,
                    assignments,
                } => self.assignment_appended(&group_id, generation, assignments, result, now_ms),
                AfterAppend::StaticMemberJoin {
                    group_id,
                    instance,
                    old_id,
                    new_id,
                    old_protocols,
                    old_rebalance_timeout_ms,
                    old_session_timeout_ms,
                    leader_before,
                } => {
                    let member_still_new = self
                        .groups
                        .get(&group_id)
                        .and_then(|g| g.member(&new_id))
                        .is_some_and(|m| m.awaiting_join.is_some());
                    if member_still_new {
                        match result {
                            Ok(()) => self.answer_replaced_static_member(
                                &group_id,
                                &new_id,
                                &leader_before,
                            ),
                            Err(error) => self.revert_static_member(
                                &group_id,
                                &instance,
                                &new_id,
                                old_id,
                                (
                                    old_protocols,
                                    old_rebalance_timeout_ms,
                                    old_session_timeout_ms,
                                ),
                                group_write_error(error),
                                now_ms,
                            ),
                        }
                    }
                }
            }
        }
        if self.appends.is_empty() {
            // No older append is left to complete out of order.
            self.offsets.clear_write_order();
        }
        self.take_effects()
    }

    fn offset_commit_appended(
        &mut self,
        append: AppendId,
        request_id: RequestId,
        group_id: &GroupId,
        mut response: OffsetCommitResponse,
        offsets: Vec<(String, i32, OffsetAndMetadata)>,
        result: Result<(), ResponseError>,
    ) {
        match result {
            Ok(()) => {
                // A group deleted meanwhile keeps no offsets (Kafka skips Dead groups).
                if self.groups.contains_key(group_id) {
                    for (topic, partition, offset) in offsets {
                        self.offsets
                            .put_appended(group_id, topic, partition, offset, append);
                    }
                }
            }
            Err(error) => {
                let mapped = offset_commit_error(error);
                tracing::debug!(group = %group_id, %error, answer = %mapped, "offset commit not written");
                fail_commit_response(&mut response, mapped);
            }
        }
        self.respond_to(request_id, Response::OffsetCommit(response));
    }

    fn assignment_appended(
        &mut self,
        group_id: &GroupId,
        generation: GenerationId,
        assignments: BTreeMap<MemberId, Bytes>,
        result: Result<(), ResponseError>,
        now_ms: i64,
    ) {
        // Another member may have joined while the record was written: only the
        // generation the assignment was made for takes it.
        let current = self.groups.get(group_id).is_some_and(|g| {
            g.is_in(GroupState::CompletingRebalance) && g.generation() == generation
        });
        if !current {
            return;
        }
        match result {
            Ok(()) => {
                let group = self.group_mut(group_id);
                for member_id in group.member_ids() {
                    let assignment = assignments.get(&member_id).cloned().unwrap_or_default();
                    group.member_mut(&member_id).expect("listed").assignment = assignment;
                }
                self.propagate_assignment(group_id, None, now_ms);
                self.group_mut(group_id)
                    .transition_to(GroupState::Stable, now_ms);
            }
            Err(error) => {
                let mapped = group_write_error(error);
                tracing::warn!(group = %group_id, %error, "cannot write the group's assignment");
                self.reset_and_propagate_assignment_with_error(group_id, mapped, now_ms);
                self.prepare_rebalance(group_id, now_ms);
            }
        }
    }

    /// Kafka's answer to a static member whose new id could not be written: the
    /// old id gets its slot back and the member is told to join again.
    #[allow(clippy::too_many_arguments)]
    fn revert_static_member(
        &mut self,
        group_id: &GroupId,
        instance: &GroupInstanceId,
        new_id: &MemberId,
        old_id: MemberId,
        (old_protocols, old_rebalance_timeout_ms, old_session_timeout_ms): (
            Vec<Protocol>,
            i32,
            i32,
        ),
        error: ResponseError,
        now_ms: i64,
    ) {
        let group = self.group_mut(group_id);
        let replaced = group.replace_static_member(instance, new_id, old_id.clone());
        let restored = group.member_mut(&old_id).expect("just restored");
        restored.protocols = old_protocols;
        restored.rebalance_timeout_ms = old_rebalance_timeout_ms;
        restored.session_timeout_ms = old_session_timeout_ms;
        self.cancel_heartbeat(group_id, new_id);
        self.schedule_heartbeat(group_id, &old_id, now_ms, old_session_timeout_ms);
        let Some(pending) = replaced.awaiting_join else {
            return;
        };
        let group = &self.groups[group_id];
        let leader = group.leader().map(|l| l.0.clone()).unwrap_or_default();
        let answer = JoinAnswer {
            error: Some(error),
            generation: group.generation().0,
            protocol_type: group.protocol_type(),
            protocol_name: group.protocol_name(),
            leader: &leader,
            member_id: MemberId::UNKNOWN,
            ..JoinAnswer::default()
        }
        .build(pending.api_version);
        self.respond(pending, answer);
    }

    /// Answers every append of `partition` still waiting with `error`: the
    /// partition is being unloaded and its outcome will change nothing here.
    pub(super) fn abandon_appends(&mut self, partition: OffsetsPartition, error: ResponseError) {
        let abandoned: Vec<AppendId> = self
            .appends
            .iter()
            .filter(|(_, pending)| pending.partition == partition)
            .map(|(append, _)| *append)
            .collect();
        for append in abandoned {
            let pending = self.appends.remove(&append).expect("listed");
            if let AfterAppend::OffsetCommit {
                request_id,
                mut response,
                ..
            } = pending.then
            {
                fail_commit_response(&mut response, error);
                self.respond_to(request_id, Response::OffsetCommit(response));
            }
            // Parked JoinGroups and SyncGroups of the partition's groups are
            // answered by the unload itself.
        }
    }
}

/// Sets `error` on every partition of a commit answer that had none.
fn fail_commit_response(response: &mut OffsetCommitResponse, error: ResponseError) {
    for topic in &mut response.topics {
        for partition in &mut topic.partitions {
            if partition.error_code == 0 {
                partition.error_code = error.code();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_commit_errors_map_as_kafka_3_9() {
        use ResponseError::*;
        for (append, answer) in [
            (NetworkException, CoordinatorLoadInProgress),
            (UnknownTopicOrPartition, CoordinatorNotAvailable),
            (NotEnoughReplicas, CoordinatorNotAvailable),
            (NotEnoughReplicasAfterAppend, CoordinatorNotAvailable),
            (NotLeaderOrFollower, NotCoordinator),
            (KafkaStorageError, NotCoordinator),
            (MessageTooLarge, InvalidCommitOffsetSize),
            (RecordListTooLarge, InvalidCommitOffsetSize),
            (InvalidFetchSize, InvalidCommitOffsetSize),
            // Not in Kafka's table: passed through.
            (RequestTimedOut, RequestTimedOut),
            (CorruptMessage, CorruptMessage),
        ] {
            assert_eq!(offset_commit_error(append), answer, "{append:?}");
        }
    }

    #[test]
    fn group_write_errors_map_as_kafka_3_9() {
        use ResponseError::*;
        for (append, answer) in [
            (UnknownTopicOrPartition, CoordinatorNotAvailable),
            (NotEnoughReplicas, CoordinatorNotAvailable),
            (NotEnoughReplicasAfterAppend, CoordinatorNotAvailable),
            (NotLeaderOrFollower, NotCoordinator),
            (KafkaStorageError, NotCoordinator),
            (RequestTimedOut, RebalanceInProgress),
            (MessageTooLarge, UnknownServerError),
            (RecordListTooLarge, UnknownServerError),
            (InvalidFetchSize, UnknownServerError),
            (CorruptMessage, CorruptMessage),
        ] {
            assert_eq!(group_write_error(append), answer, "{append:?}");
        }
    }
}
