//! SyncGroup and Heartbeat: the leader hands in the assignment, everybody
//! collects theirs, and members keep their sessions alive. Follows Kafka's
//! `classicGroupSyncToClassicGroup` and `classicGroupHeartbeatToClassicGroup`.

use std::collections::BTreeMap;

use bytes::Bytes;
use kafka_protocol::messages::{HeartbeatRequest, SyncGroupRequest};
use kafka_protocol::ResponseError;

use super::appends::AfterAppend;
use super::classic::{GroupState, Pending};
use super::coordinator::{Effect, GroupCoordinator, RequestContext, TimerKey};
use super::ids::{GroupId, GroupInstanceId, MemberId};
use super::records::{CoordinatorRecord, GroupMetadataKey};
use super::responses::{heartbeat_response, sync_error, sync_response};

impl GroupCoordinator {
    /// Handles a SyncGroup. Followers that sync before the leader wait for its
    /// assignment; their answers come out of the leader's call.
    pub fn handle_sync_group(
        &mut self,
        ctx: &RequestContext,
        request: &SyncGroupRequest,
        now_ms: i64,
    ) -> Vec<Effect> {
        let pending = Pending {
            request_id: ctx.request_id,
            api_version: ctx.api_version,
        };
        if let Err(error) = self.sync_group(pending, request, now_ms) {
            self.respond(pending, sync_error(ctx.api_version, error));
        }
        self.take_effects()
    }

    fn sync_group(
        &mut self,
        pending: Pending,
        request: &SyncGroupRequest,
        now_ms: i64,
    ) -> Result<(), ResponseError> {
        let version = pending.api_version;
        // From version 5 both protocol fields are mandatory (KafkaApis checks
        // this before anything else).
        if version >= 5 && (request.protocol_type.is_none() || request.protocol_name.is_none()) {
            return Err(ResponseError::InconsistentGroupProtocol);
        }
        let group_id = GroupId(request.group_id.0.as_str().to_owned());
        if group_id.0.is_empty() {
            return Err(ResponseError::InvalidGroupId);
        }
        match self.check_coordinator(group_id.as_str()) {
            // A loading coordinator lost the rebalance in progress; Kafka sends the
            // member back to JoinGroup (old clients do not expect LOAD_IN_PROGRESS).
            Err(ResponseError::CoordinatorLoadInProgress) => {
                return Err(ResponseError::RebalanceInProgress)
            }
            Err(error) => return Err(error),
            Ok(()) => {}
        }
        let member_id = MemberId(request.member_id.as_str().to_owned());
        let instance = request
            .group_instance_id
            .as_ref()
            .map(|i| GroupInstanceId(i.as_str().to_owned()));

        let group = self
            .groups
            .get(&group_id)
            .filter(|g| !g.is_in(GroupState::Empty))
            .ok_or(ResponseError::UnknownMemberId)?;
        group.validate_member(&member_id, instance.as_ref())?;
        if request.generation_id != group.generation().0 {
            return Err(ResponseError::IllegalGeneration);
        }
        let inconsistent = |asked: Option<&str>, ours: Option<&str>| matches!((asked, ours), (Some(a), Some(o)) if a != o);
        if inconsistent(request.protocol_type.as_deref(), group.protocol_type())
            || inconsistent(request.protocol_name.as_deref(), group.protocol_name())
        {
            return Err(ResponseError::InconsistentGroupProtocol);
        }

        match group.state() {
            GroupState::PreparingRebalance => Err(ResponseError::RebalanceInProgress),
            GroupState::CompletingRebalance => {
                let is_leader = group.is_leader(&member_id);
                let member = self
                    .group_mut(&group_id)
                    .member_mut(&member_id)
                    .expect("validated");
                if let Some(superseded) = member.awaiting_sync.replace(pending) {
                    // A second SyncGroup from the same member: the first one will
                    // never be answered otherwise.
                    self.respond(
                        superseded,
                        sync_error(superseded.api_version, ResponseError::RebalanceInProgress),
                    );
                }
                self.remove_pending_sync_member(&group_id, &member_id);
                if is_leader {
                    self.apply_leader_assignment(&group_id, request, now_ms);
                }
                Ok(())
            }
            GroupState::Stable => {
                self.remove_pending_sync_member(&group_id, &member_id);
                let group = &self.groups[&group_id];
                let assignment = group
                    .member(&member_id)
                    .map(|m| m.assignment.clone())
                    .unwrap_or_default();
                let answer = sync_response(
                    version,
                    None,
                    group.protocol_type(),
                    group.protocol_name(),
                    assignment,
                );
                self.respond(pending, answer);
                Ok(())
            }
            GroupState::Empty | GroupState::Dead => Err(ResponseError::UnknownMemberId),
        }
    }

    /// Writes the group with the leader's assignment (members it left out get an
    /// empty one), still CompletingRebalance as Kafka writes it. The parked
    /// SyncGroups are answered and the group goes Stable once the record is
    /// written (`appends`).
    fn apply_leader_assignment(
        &mut self,
        group_id: &GroupId,
        request: &SyncGroupRequest,
        _now_ms: i64,
    ) {
        let requested: BTreeMap<&str, &Bytes> = request
            .assignments
            .iter()
            .map(|a| (a.member_id.as_str(), &a.assignment))
            .collect();
        let group = &self.groups[group_id];
        let assignments: BTreeMap<MemberId, Bytes> = group
            .member_ids()
            .into_iter()
            .map(|member_id| {
                let assignment = requested
                    .get(member_id.as_str())
                    .map(|b| (*b).clone())
                    .unwrap_or_default();
                (member_id, assignment)
            })
            .collect();
        let generation = group.generation();
        let mut value = group.to_record();
        for member in &mut value.members {
            member.assignment = assignments
                .get(&MemberId(member.member_id.clone()))
                .cloned()
                .unwrap_or_default();
        }
        let record = CoordinatorRecord::GroupMetadata {
            key: GroupMetadataKey {
                group: group_id.0.clone(),
            },
            value: Some(value),
        };
        self.persist_then(
            group_id,
            vec![record],
            AfterAppend::Assignment {
                group_id: group_id.clone(),
                generation,
                assignments,
            },
        );
    }

    fn remove_pending_sync_member(&mut self, group_id: &GroupId, member_id: &MemberId) {
        let group = self.group_mut(group_id);
        group.remove_pending_sync_member(member_id);
        if group.has_received_sync_from_all() {
            self.timers.cancel(&TimerKey::Sync(group_id.clone()));
        }
    }

    /// Handles a Heartbeat; always answered at once.
    pub fn handle_heartbeat(
        &mut self,
        ctx: &RequestContext,
        request: &HeartbeatRequest,
        now_ms: i64,
    ) -> Vec<Effect> {
        let error = self.heartbeat(request, now_ms).err();
        self.respond_to(ctx.request_id, heartbeat_response(error));
        self.take_effects()
    }

    fn heartbeat(&mut self, request: &HeartbeatRequest, now_ms: i64) -> Result<(), ResponseError> {
        let group_id = GroupId(request.group_id.0.as_str().to_owned());
        if group_id.0.is_empty() {
            return Err(ResponseError::InvalidGroupId);
        }
        self.check_coordinator(group_id.as_str())?;
        let member_id = MemberId(request.member_id.as_str().to_owned());
        let instance = request
            .group_instance_id
            .as_ref()
            .map(|i| GroupInstanceId(i.as_str().to_owned()));
        let group = self
            .groups
            .get(&group_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        group.validate_member(&member_id, instance.as_ref())?;
        if request.generation_id != group.generation().0 {
            return Err(ResponseError::IllegalGeneration);
        }
        let state = group.state();
        let session_timeout_ms = group
            .member(&member_id)
            .expect("validated")
            .session_timeout_ms;
        match state {
            GroupState::Empty | GroupState::Dead => Err(ResponseError::UnknownMemberId),
            GroupState::PreparingRebalance => {
                self.schedule_heartbeat(&group_id, &member_id, now_ms, session_timeout_ms);
                Err(ResponseError::RebalanceInProgress)
            }
            // Members may heartbeat between their JoinGroup answer and SyncGroup.
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.schedule_heartbeat(&group_id, &member_id, now_ms, session_timeout_ms);
                Ok(())
            }
        }
    }
}
