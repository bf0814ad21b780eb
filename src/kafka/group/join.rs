//! JoinGroup: new members, rejoining members, static members taking over their
//! slot, and the MEMBER_ID_REQUIRED handshake of version 4+. Follows Kafka's
//! `classicGroupJoinToClassicGroup` and the functions it calls.

use bytes::Bytes;
use kafka_protocol::messages::JoinGroupRequest;
use kafka_protocol::ResponseError;

use super::appends::AfterAppend;
use super::classic::{ClassicGroup, GroupState, Member, Pending, Protocol};
use super::coordinator::{Effect, GroupCoordinator, RequestContext};
use super::ids::{GroupId, GroupInstanceId, MemberId};
use super::rebalance::leader_roster;
use super::records::{
    fits_record_string, CoordinatorRecord, GroupMetadataKey, GroupMetadataValue,
    RECORD_STRING_BYTES_MAX,
};
use super::responses::{sync_error, JoinAnswer};

/// A JoinGroup's fields, decoded once.
struct Join {
    pending: Pending,
    member_id: MemberId,
    instance: Option<GroupInstanceId>,
    client_id: String,
    client_host: String,
    session_timeout_ms: i32,
    rebalance_timeout_ms: i32,
    protocol_type: String,
    protocols: Vec<Protocol>,
}

/// Length of the `-<uuid>` suffix of generated member ids.
const MEMBER_ID_SUFFIX_BYTES: usize = 37;

impl Join {
    /// Whether everything this join may store in the group record fits there.
    fn fits_records(&self) -> bool {
        let id_prefix = match &self.instance {
            Some(instance) => instance.0.len(),
            None => self.client_id.len(),
        };
        id_prefix + MEMBER_ID_SUFFIX_BYTES <= RECORD_STRING_BYTES_MAX
            && fits_record_string(&self.client_id)
            && fits_record_string(&self.client_host)
            && fits_record_string(&self.protocol_type)
            && self.protocols.iter().all(|p| fits_record_string(&p.name))
    }
}

impl GroupCoordinator {
    /// Handles a JoinGroup. The answer usually comes later, when the join phase
    /// completes; MEMBER_ID_REQUIRED and errors come at once.
    pub fn handle_join_group(
        &mut self,
        ctx: &RequestContext,
        request: &JoinGroupRequest,
        now_ms: i64,
    ) -> Vec<Effect> {
        self.join_group(ctx, request, now_ms);
        self.take_effects()
    }

    fn join_group(&mut self, ctx: &RequestContext, request: &JoinGroupRequest, now_ms: i64) {
        let version = ctx.api_version;
        let join = Join {
            pending: Pending {
                request_id: ctx.request_id,
                api_version: version,
            },
            member_id: MemberId(request.member_id.as_str().to_owned()),
            instance: request
                .group_instance_id
                .as_ref()
                .map(|i| GroupInstanceId(i.as_str().to_owned())),
            client_id: ctx.client_id.clone(),
            client_host: ctx.client_host.clone(),
            session_timeout_ms: request.session_timeout_ms,
            // Version 0 has no rebalance timeout; Kafka uses the session timeout.
            rebalance_timeout_ms: if version == 0 {
                request.session_timeout_ms
            } else {
                request.rebalance_timeout_ms
            },
            protocol_type: request.protocol_type.as_str().to_owned(),
            protocols: request
                .protocols
                .iter()
                .map(|p| Protocol {
                    name: p.name.as_str().to_owned(),
                    metadata: p.metadata.clone(),
                })
                .collect(),
        };
        let group_id = GroupId(request.group_id.0.as_str().to_owned());

        if group_id.0.is_empty() || !fits_record_string(&group_id.0) {
            return self.join_error(
                &join,
                ResponseError::InvalidGroupId,
                &join.member_id.0.clone(),
            );
        }
        if let Err(error) = self.check_coordinator(group_id.as_str()) {
            return self.join_error(&join, error, &join.member_id.0.clone());
        }
        if !join.fits_records() {
            // Flexible versions carry strings the group record could not store.
            return self.join_error(
                &join,
                ResponseError::InvalidRequest,
                &join.member_id.0.clone(),
            );
        }
        if join.session_timeout_ms < self.config.session_timeout_ms_min
            || join.session_timeout_ms > self.config.session_timeout_ms_max
        {
            return self.join_error(
                &join,
                ResponseError::InvalidSessionTimeout,
                &join.member_id.0.clone(),
            );
        }

        let is_unknown = join.member_id.0.is_empty();
        let is_new_group = !self.groups.contains_key(&group_id);
        if is_new_group {
            if !is_unknown {
                // A member id for a group we do not know: it must start over.
                return self.join_error(
                    &join,
                    ResponseError::UnknownMemberId,
                    &join.member_id.0.clone(),
                );
            }
            self.groups.insert(
                group_id.clone(),
                ClassicGroup::new(group_id.clone(), now_ms),
            );
        }
        let effects_before = self.out.len();

        if !self.accept_joining_member(&group_id, &join.member_id) {
            self.drop_member(&group_id, &join.member_id);
            self.join_error(&join, ResponseError::GroupMaxSizeReached, MemberId::UNKNOWN);
        } else if is_unknown {
            self.join_new_member(&group_id, join, now_ms);
        } else {
            self.join_existing_member(&group_id, join, now_ms);
        }

        let persisted = self.out[effects_before..]
            .iter()
            .any(|e| matches!(e, Effect::Persist { .. }));
        if is_new_group && !persisted {
            // Kafka commits a new group to the log even when the join wrote
            // nothing else, as an empty generation-0 group.
            let timestamp_ms = self.groups[&group_id].state_timestamp_ms().unwrap_or(-1);
            let record = CoordinatorRecord::GroupMetadata {
                key: GroupMetadataKey {
                    group: group_id.0.clone(),
                },
                value: Some(GroupMetadataValue {
                    protocol_type: String::new(),
                    generation: 0,
                    protocol: None,
                    leader: None,
                    current_state_timestamp_ms: timestamp_ms,
                    members: Vec::new(),
                }),
            };
            // The record goes before any answer of this call, as it would be
            // committed before Kafka released them.
            let partition = self.partition_for(group_id.as_str());
            let append = self.next_append(partition, AfterAppend::Nothing);
            self.out.insert(
                effects_before,
                Effect::Persist {
                    partition,
                    records: vec![record],
                    append,
                },
            );
        }
    }

    fn join_error(&mut self, join: &Join, error: ResponseError, member_id: &str) {
        let answer = JoinAnswer::error(error, member_id).build(join.pending.api_version);
        self.respond(join.pending, answer);
    }

    /// `group.max.size`: while rebalancing, members already parked in a join are
    /// kept and newcomers count against the parked ones; otherwise existing
    /// members are kept and newcomers count against the members.
    fn accept_joining_member(&self, group_id: &GroupId, member_id: &MemberId) -> bool {
        let group = &self.groups[group_id];
        let size_max = self.config.group_size_max as usize;
        match group.state() {
            GroupState::Empty | GroupState::Dead => true,
            GroupState::PreparingRebalance => {
                group
                    .member(member_id)
                    .is_some_and(|m| m.awaiting_join.is_some())
                    || group.awaiting_join_count() < size_max
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                group.has_member(member_id) || group.len() < size_max
            }
        }
    }

    fn join_new_member(&mut self, group_id: &GroupId, join: Join, now_ms: i64) {
        let group = &self.groups[group_id];
        if !group.supports_protocols(&join.protocol_type, &join.protocols) {
            return self.join_error(
                &join,
                ResponseError::InconsistentGroupProtocol,
                MemberId::UNKNOWN,
            );
        }
        // Static members are named after their instance id, others after their client id.
        let prefix = match &join.instance {
            Some(instance) => instance.0.clone(),
            None => join.client_id.clone(),
        };
        let new_member_id = MemberId(format!("{prefix}-{}", self.ids.next_uuid()));

        if let Some(instance) = &join.instance {
            match group.static_member_id(instance).cloned() {
                Some(existing) => {
                    self.replace_static_member(group_id, existing, new_member_id, join, now_ms)
                }
                None => self.add_member_and_rebalance(group_id, new_member_id, join, now_ms),
            }
        } else if join.pending.api_version >= 4 {
            // Since version 4 a new member first learns its id, then joins with
            // it, so a client that retries after a timeout does not leave a
            // trail of ghost members behind.
            self.group_mut(group_id)
                .add_pending_member(new_member_id.clone());
            self.schedule_heartbeat(group_id, &new_member_id, now_ms, join.session_timeout_ms);
            let new_id = new_member_id.0.clone();
            self.join_error(&join, ResponseError::MemberIdRequired, &new_id);
        } else {
            self.add_member_and_rebalance(group_id, new_member_id, join, now_ms);
        }
    }

    fn join_existing_member(&mut self, group_id: &GroupId, join: Join, now_ms: i64) {
        let group = &self.groups[group_id];
        let member_id = join.member_id.clone();
        if !group.supports_protocols(&join.protocol_type, &join.protocols) {
            return self.join_error(
                &join,
                ResponseError::InconsistentGroupProtocol,
                &member_id.0,
            );
        }
        if group.is_pending_member(&member_id) {
            if join.instance.is_some() {
                // Pending ids are only handed to dynamic members; Kafka fails
                // such a request with an internal error.
                return self.join_error(&join, ResponseError::UnknownServerError, &member_id.0);
            }
            return self.add_member_and_rebalance(group_id, member_id, join, now_ms);
        }
        if let Err(error) = group.validate_member(&member_id, join.instance.as_ref()) {
            return self.join_error(&join, error, &member_id.0);
        }

        let member = group.member(&member_id).expect("validated");
        let same_protocols = member.protocols == join.protocols;
        match group.state() {
            GroupState::PreparingRebalance => {
                self.update_member_and_rebalance(group_id, join, now_ms)
            }
            GroupState::CompletingRebalance if same_protocols => {
                // The member probably missed our answer: send it again.
                let is_leader = group.is_leader(&member_id);
                self.answer_current_generation(group_id, &join, is_leader)
            }
            GroupState::Stable if !group.is_leader(&member_id) && same_protocols => {
                // Nothing changed for a follower: hand back the generation so it can sync.
                self.answer_current_generation(group_id, &join, false)
            }
            // A changed subscription needs a rebalance; so does the leader
            // rejoining, which is how it asks for one after metadata changes.
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.update_member_and_rebalance(group_id, join, now_ms)
            }
            GroupState::Empty | GroupState::Dead => {
                self.join_error(&join, ResponseError::UnknownMemberId, &member_id.0)
            }
        }
    }

    fn answer_current_generation(&mut self, group_id: &GroupId, join: &Join, with_members: bool) {
        let group = &self.groups[group_id];
        let leader = group.leader().map(|l| l.0.clone()).unwrap_or_default();
        let answer = JoinAnswer {
            generation: group.generation().0,
            protocol_type: group.protocol_type(),
            protocol_name: group.protocol_name(),
            leader: &leader,
            member_id: &join.member_id.0,
            members: if with_members {
                leader_roster(group)
            } else {
                Vec::new()
            },
            ..JoinAnswer::default()
        }
        .build(join.pending.api_version);
        self.respond(join.pending, answer);
    }

    fn update_member_and_rebalance(&mut self, group_id: &GroupId, join: Join, now_ms: i64) {
        let member = self
            .group_mut(group_id)
            .member_mut(&join.member_id)
            .expect("validated member");
        member.protocols = join.protocols;
        member.rebalance_timeout_ms = join.rebalance_timeout_ms;
        member.session_timeout_ms = join.session_timeout_ms;
        if let Some(superseded) = member.awaiting_join.replace(join.pending) {
            // A second JoinGroup while the first is parked (a retry on a new
            // connection, say). Kafka drops the first silently; keel answers it
            // so no request is held forever, with an error that means "rejoin".
            let answer = JoinAnswer::error(ResponseError::RebalanceInProgress, &join.member_id.0)
                .build(superseded.api_version);
            self.respond(superseded, answer);
        }
        self.maybe_prepare_rebalance_or_complete_join(group_id, now_ms);
    }

    fn add_member_and_rebalance(
        &mut self,
        group_id: &GroupId,
        member_id: MemberId,
        join: Join,
        now_ms: i64,
    ) {
        let member = Member {
            id: member_id.clone(),
            group_instance_id: join.instance,
            client_id: join.client_id,
            client_host: join.client_host,
            rebalance_timeout_ms: join.rebalance_timeout_ms,
            session_timeout_ms: join.session_timeout_ms,
            protocol_type: join.protocol_type,
            protocols: join.protocols,
            assignment: Bytes::new(),
            awaiting_join: Some(join.pending),
            awaiting_sync: None,
            is_new: true,
        };
        let group = self.group_mut(group_id);
        if group.is_in(GroupState::PreparingRebalance)
            && group.previous_state() == GroupState::Empty
        {
            // Extends the initial delayed rebalance.
            group.new_member_added = true;
        }
        group.add(member);
        // A new member cannot heartbeat while its join is parked, and a client
        // that gave up would leave a ghost; bound the parked join instead.
        let timeout_ms = self.config.new_member_join_timeout_ms;
        self.schedule_heartbeat(group_id, &member_id, now_ms, timeout_ms);
        self.maybe_prepare_rebalance_or_complete_join(group_id, now_ms);
    }

    /// A static member rejoined without its member id (typically after a
    /// restart): it takes over the old member's slot, assignment and leadership.
    /// A stable group whose protocol choice does not change is not rebalanced.
    fn replace_static_member(
        &mut self,
        group_id: &GroupId,
        old_id: MemberId,
        new_id: MemberId,
        join: Join,
        now_ms: i64,
    ) {
        let instance = join.instance.clone().expect("static member");
        let group = self.group_mut(group_id);
        let leader_before = group.leader().map(|l| l.0.clone()).unwrap_or_default();
        let old = group.replace_static_member(&instance, &old_id, new_id.clone());
        let old_protocols = old.protocols.clone();
        let (old_rebalance_timeout_ms, old_session_timeout_ms) =
            (old.rebalance_timeout_ms, old.session_timeout_ms);

        // Whoever still holds the old id is a zombie: fence its parked requests.
        if let Some(pending) = old.awaiting_join {
            let answer = JoinAnswer::error(ResponseError::FencedInstanceId, &old_id.0)
                .build(pending.api_version);
            self.respond(pending, answer);
        }
        if let Some(pending) = old.awaiting_sync {
            self.respond(
                pending,
                sync_error(pending.api_version, ResponseError::FencedInstanceId),
            );
        }
        self.cancel_heartbeat(group_id, &old_id);
        self.schedule_heartbeat(group_id, &new_id, now_ms, old.session_timeout_ms);

        let member = self
            .group_mut(group_id)
            .member_mut(&new_id)
            .expect("just inserted");
        member.protocols = join.protocols;
        member.rebalance_timeout_ms = join.rebalance_timeout_ms;
        member.session_timeout_ms = join.session_timeout_ms;
        member.awaiting_join = Some(join.pending);

        let group = &self.groups[group_id];
        match group.state() {
            GroupState::Stable => {
                if group.protocol_name() == Some(group.select_protocol().as_str()) {
                    // The JoinGroup is answered once the new member id is written.
                    let record = self.group_record(group_id);
                    self.persist_then(
                        group_id,
                        vec![record],
                        AfterAppend::StaticMemberJoin {
                            group_id: group_id.clone(),
                            instance,
                            old_id,
                            new_id,
                            old_protocols,
                            old_rebalance_timeout_ms,
                            old_session_timeout_ms,
                            leader_before,
                        },
                    );
                } else {
                    self.maybe_prepare_rebalance_or_complete_join(group_id, now_ms);
                }
            }
            // The leader may already be computing an assignment for the old id,
            // which the new id would never receive: rebalance.
            GroupState::CompletingRebalance => self.prepare_rebalance(group_id, now_ms),
            GroupState::PreparingRebalance => self.maybe_complete_join_phase(group_id, now_ms),
            GroupState::Empty | GroupState::Dead => {
                unreachable!("a group with a static member is not {:?}", group.state())
            }
        }
    }

    /// The answer to a static member that took over its slot in a stable group.
    /// Before version 9 it is told the old leader id, so a returning leader does
    /// not run an assignment the stable group would ignore; from version 9 it
    /// learns it leads and is told to skip the assignment.
    pub(super) fn answer_replaced_static_member(
        &mut self,
        group_id: &GroupId,
        new_id: &MemberId,
        leader_before: &str,
    ) {
        let group = self.group_mut(group_id);
        let pending = group
            .member_mut(new_id)
            .and_then(|m| m.awaiting_join.take())
            .expect("parked a moment ago");
        let group = &self.groups[group_id];
        let version = pending.api_version;
        let current_leader = group.leader().map(|l| l.0.clone()).unwrap_or_default();
        let is_leader = group.is_leader(new_id);
        let answer = if version >= 9 {
            JoinAnswer {
                generation: group.generation().0,
                protocol_type: group.protocol_type(),
                protocol_name: group.protocol_name(),
                leader: &current_leader,
                member_id: &new_id.0,
                skip_assignment: is_leader,
                members: if is_leader {
                    leader_roster(group)
                } else {
                    Vec::new()
                },
                ..JoinAnswer::default()
            }
        } else {
            JoinAnswer {
                generation: group.generation().0,
                protocol_type: group.protocol_type(),
                protocol_name: group.protocol_name(),
                leader: leader_before,
                member_id: &new_id.0,
                ..JoinAnswer::default()
            }
        }
        .build(version);
        self.respond(pending, answer);
    }
}
