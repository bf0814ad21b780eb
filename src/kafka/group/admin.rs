//! ListGroups, DescribeGroups and DeleteGroups: what `kafka-consumer-groups`
//! uses to list, describe and delete groups.

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{
    DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    ListGroupsRequest, ListGroupsResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::classic::GroupState;
use super::coordinator::{Effect, GroupCoordinator, RequestContext};
use super::ids::GroupId;
use super::offsets::offset_tombstone;
use super::records::{CoordinatorRecord, GroupMetadataKey};
use super::responses::{str_bytes, Response};

/// Every group here is a classic group; Kafka lists the type from ListGroups v5.
const CLASSIC_GROUP_TYPE: &str = "classic";

impl GroupCoordinator {
    /// Handles a ListGroups; `states_filter` (v4+) and `types_filter` (v5+) match
    /// case-insensitively, empty means all.
    pub fn handle_list_groups(&self, request: &ListGroupsRequest) -> ListGroupsResponse {
        let states: Vec<String> = request
            .states_filter
            .iter()
            .map(|s| s.as_str().trim().to_lowercase())
            .collect();
        let types_match = request.types_filter.is_empty()
            || request
                .types_filter
                .iter()
                .any(|t| t.as_str().trim().eq_ignore_ascii_case(CLASSIC_GROUP_TYPE));
        let mut response = ListGroupsResponse::default();
        // Groups of partitions still loading are not listed yet; Kafka says so.
        if self.is_loading() {
            response.error_code = ResponseError::CoordinatorLoadInProgress.code();
        }
        if !types_match {
            return response;
        }
        response.groups = self
            .groups
            .values()
            .filter(|g| states.is_empty() || states.contains(&g.state().name().to_lowercase()))
            .map(|g| {
                let mut listed = ListedGroup::default();
                listed.group_id = StrBytes::from_string(g.id.0.clone()).into();
                listed.protocol_type = str_bytes(g.protocol_type().unwrap_or(""));
                listed.group_state = str_bytes(g.state().name());
                listed.group_type = str_bytes(CLASSIC_GROUP_TYPE);
                listed
            })
            .collect();
        response
    }

    /// Handles a DescribeGroups. An unknown group is described as Dead with no
    /// error, as Kafka does; member subscriptions are shown only when Stable.
    pub fn handle_describe_groups(
        &self,
        request: &DescribeGroupsRequest,
    ) -> DescribeGroupsResponse {
        let mut response = DescribeGroupsResponse::default();
        for requested in &request.groups {
            let mut described = DescribedGroup::default();
            described.group_id = requested.clone();
            if let Err(error) = self.check_coordinator(requested.0.as_str()) {
                // Kafka's EmptyGroup summary: no state, protocol or members.
                described.error_code = error.code();
                response.groups.push(described);
                continue;
            }
            match self.groups.get(&GroupId(requested.0.as_str().to_owned())) {
                None => described.group_state = str_bytes(GroupState::Dead.name()),
                Some(group) => {
                    let stable = group.is_in(GroupState::Stable);
                    let protocol = group.protocol_name().unwrap_or("");
                    described.group_state = str_bytes(group.state().name());
                    described.protocol_type = str_bytes(group.protocol_type().unwrap_or(""));
                    if stable {
                        described.protocol_data = str_bytes(protocol);
                    }
                    described.members = group
                        .members()
                        .map(|m| {
                            let mut member = DescribedGroupMember::default();
                            member.member_id = str_bytes(&m.id.0);
                            member.group_instance_id =
                                m.group_instance_id.as_ref().map(|i| str_bytes(&i.0));
                            member.client_id = str_bytes(&m.client_id);
                            member.client_host = str_bytes(&m.client_host);
                            if stable {
                                member.member_metadata = m.metadata(protocol);
                            }
                            member.member_assignment = m.assignment.clone();
                            member
                        })
                        .collect();
                }
            }
            response.groups.push(described);
        }
        response
    }

    /// Handles a DeleteGroups: empty groups go, with all their offsets.
    pub fn handle_delete_groups(
        &mut self,
        ctx: &RequestContext,
        request: &DeleteGroupsRequest,
        _now_ms: i64,
    ) -> Vec<Effect> {
        let mut response = DeleteGroupsResponse::default();
        let mut seen = std::collections::BTreeSet::new();
        for name in &request.groups_names {
            // Kafka answers each distinct group once.
            if !seen.insert(name.0.as_str()) {
                continue;
            }
            let group_id = GroupId(name.0.as_str().to_owned());
            let coordinator = self.check_coordinator(group_id.as_str());
            let error = match self.groups.get(&group_id).map(|g| g.state()) {
                _ if coordinator.is_err() => coordinator.err(),
                None | Some(GroupState::Dead) => Some(ResponseError::GroupIdNotFound),
                Some(GroupState::Stable)
                | Some(GroupState::PreparingRebalance)
                | Some(GroupState::CompletingRebalance) => Some(ResponseError::NonEmptyGroup),
                Some(GroupState::Empty) => {
                    self.delete_group(&group_id);
                    None
                }
            };
            let mut result = DeletableGroupResult::default();
            result.group_id = name.clone();
            result.error_code = error.map_or(0, |e| e.code());
            response.results.push(result);
        }
        self.respond_to(ctx.request_id, Response::DeleteGroups(response));
        self.take_effects()
    }

    fn delete_group(&mut self, group_id: &GroupId) {
        let removed = self.offsets.remove_group(group_id);
        for (topic, partition) in &removed {
            // Keeps a commit still in flight from bringing the offset back.
            self.forget_offset(group_id, topic, *partition);
        }
        let mut records: Vec<CoordinatorRecord> = removed
            .into_iter()
            .map(|(topic, partition)| offset_tombstone(group_id, &topic, partition))
            .collect();
        records.push(CoordinatorRecord::GroupMetadata {
            key: GroupMetadataKey {
                group: group_id.0.clone(),
            },
            value: None,
        });
        self.groups.remove(group_id);
        self.cancel_group_timers(group_id);
        self.persist(group_id, records);
    }
}
