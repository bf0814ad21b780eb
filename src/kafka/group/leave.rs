//! LeaveGroup, versions 0..5: one member (v0-2, the `member_id` field) or a batch
//! of members by member id and/or `group.instance.id` (v3+, also how admins remove
//! static members). Follows Kafka's `classicGroupLeaveToClassicGroup`.

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};
use kafka_protocol::ResponseError;

use super::classic::GroupState;
use super::coordinator::{Effect, GroupCoordinator, RequestContext};
use super::ids::{GroupId, GroupInstanceId, MemberId};
use super::responses::{code, Response};

impl GroupCoordinator {
    /// Handles a LeaveGroup; answered at once, the rebalance follows.
    pub fn handle_leave_group(
        &mut self,
        ctx: &RequestContext,
        request: &LeaveGroupRequest,
        now_ms: i64,
    ) -> Vec<Effect> {
        let version = ctx.api_version;
        // Versions before 3 name a single member; Kafka normalizes to the batch form.
        let leaving: Vec<(MemberId, Option<GroupInstanceId>)> = if version >= 3 {
            request
                .members
                .iter()
                .map(|m| {
                    (
                        MemberId(m.member_id.as_str().to_owned()),
                        m.group_instance_id
                            .as_ref()
                            .map(|i| GroupInstanceId(i.as_str().to_owned())),
                    )
                })
                .collect()
        } else {
            vec![(MemberId(request.member_id.as_str().to_owned()), None)]
        };
        let group_id = GroupId(request.group_id.0.as_str().to_owned());

        let mut response = LeaveGroupResponse::default();
        if group_id.0.is_empty() {
            response.error_code = ResponseError::InvalidGroupId.code();
        } else if let Err(error) = self.check_coordinator(group_id.as_str()) {
            response.error_code = error.code();
        } else if !self.groups.contains_key(&group_id) {
            response.members = leaving
                .iter()
                .map(|(member_id, instance)| {
                    member_response(member_id, instance, Some(ResponseError::UnknownMemberId))
                })
                .collect();
        } else {
            response.members = self.leave_members(&group_id, &leaving, now_ms);
        }

        if version < 3 {
            // Old versions carry one error: the group's, else the member's.
            if response.error_code == 0 {
                response.error_code = response
                    .members
                    .iter()
                    .map(|m| m.error_code)
                    .find(|c| *c != 0)
                    .unwrap_or(0);
            }
            response.members.clear();
        }
        self.respond_to(ctx.request_id, Response::LeaveGroup(response));
        self.take_effects()
    }

    fn leave_members(
        &mut self,
        group_id: &GroupId,
        leaving: &[(MemberId, Option<GroupInstanceId>)],
        now_ms: i64,
    ) -> Vec<MemberResponse> {
        let mut responses = Vec::with_capacity(leaving.len());
        let mut anyone_left = false;
        for (member_id, instance) in leaving {
            let group = &self.groups[group_id];
            let result = if member_id.0.is_empty() {
                // An admin removing a static member by instance id alone.
                match instance
                    .as_ref()
                    .and_then(|i| group.static_member_id(i))
                    .cloned()
                {
                    Some(current) => {
                        self.drop_member(group_id, &current);
                        Ok(())
                    }
                    None => Err(ResponseError::UnknownMemberId),
                }
            } else if group.is_pending_member(member_id) {
                self.drop_member(group_id, member_id);
                Ok(())
            } else {
                match group.validate_member(member_id, instance.as_ref()) {
                    Ok(()) => {
                        self.drop_member(group_id, member_id);
                        Ok(())
                    }
                    Err(error) => Err(error),
                }
            };
            anyone_left |= result.is_ok();
            responses.push(member_response(member_id, instance, result.err()));
        }

        if anyone_left {
            match self.groups[group_id].state() {
                GroupState::Stable | GroupState::CompletingRebalance => {
                    self.maybe_prepare_rebalance_or_complete_join(group_id, now_ms)
                }
                GroupState::PreparingRebalance => self.maybe_complete_join_phase(group_id, now_ms),
                GroupState::Empty | GroupState::Dead => {}
            }
        }
        responses
    }
}

fn member_response(
    member_id: &MemberId,
    instance: &Option<GroupInstanceId>,
    error: Option<ResponseError>,
) -> MemberResponse {
    let mut response = MemberResponse::default();
    response.member_id = kafka_protocol::protocol::StrBytes::from_string(member_id.0.clone());
    response.group_instance_id = instance
        .as_ref()
        .map(|i| kafka_protocol::protocol::StrBytes::from_string(i.0.clone()));
    response.error_code = code(error);
    response
}
