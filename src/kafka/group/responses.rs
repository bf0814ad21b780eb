//! The answers the coordinator produces, as `kafka-protocol` message types ready
//! to encode at the request's version, and builders that keep each one valid for
//! that version (fields a version lacks are left at their defaults, or the
//! encoder would refuse them).

use bytes::Bytes;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{
    DeleteGroupsResponse, HeartbeatResponse, JoinGroupResponse, LeaveGroupResponse,
    OffsetCommitResponse, OffsetDeleteResponse, OffsetFetchResponse, SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

/// One coordinator answer; the caller encodes it at the request's version.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    JoinGroup(JoinGroupResponse),
    SyncGroup(SyncGroupResponse),
    Heartbeat(HeartbeatResponse),
    LeaveGroup(LeaveGroupResponse),
    OffsetCommit(OffsetCommitResponse),
    OffsetFetch(OffsetFetchResponse),
    OffsetDelete(OffsetDeleteResponse),
    DeleteGroups(DeleteGroupsResponse),
}

pub(super) fn code(error: Option<ResponseError>) -> i16 {
    error.map_or(0, |e| e.code())
}

pub(super) fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}

/// The fields of a JoinGroup answer that vary.
#[derive(Debug, Default)]
pub(super) struct JoinAnswer<'a> {
    pub error: Option<ResponseError>,
    /// -1 when the member has no generation.
    pub generation: i32,
    pub protocol_type: Option<&'a str>,
    pub protocol_name: Option<&'a str>,
    pub leader: &'a str,
    pub member_id: &'a str,
    pub skip_assignment: bool,
    /// `(member id, group instance id, metadata)`; only the leader gets them.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

impl JoinAnswer<'_> {
    /// An error answer carrying only the member id, as Kafka sends it.
    pub fn error(error: ResponseError, member_id: &str) -> JoinAnswer<'_> {
        JoinAnswer {
            error: Some(error),
            generation: -1,
            member_id,
            ..JoinAnswer::default()
        }
    }

    pub fn build(self, version: i16) -> Response {
        let mut response = JoinGroupResponse::default();
        response.error_code = code(self.error);
        response.generation_id = self.generation;
        // Before version 7 the protocol name cannot be null: Kafka sends "".
        // From version 7 it is nullable and Kafka turns "" into null.
        response.protocol_name = match (version >= 7, self.protocol_name) {
            (false, name) => Some(str_bytes(name.unwrap_or(""))),
            (true, Some("")) | (true, None) => None,
            (true, Some(name)) => Some(str_bytes(name)),
        };
        if version >= 7 {
            response.protocol_type = self.protocol_type.map(str_bytes);
        }
        response.leader = str_bytes(self.leader);
        // The field only exists from version 9; older encoders refuse it set.
        response.skip_assignment = self.skip_assignment && version >= 9;
        response.member_id = str_bytes(self.member_id);
        response.members = self
            .members
            .into_iter()
            .map(|(member_id, instance, metadata)| {
                let mut member = JoinGroupResponseMember::default();
                member.member_id = StrBytes::from_string(member_id);
                if version >= 5 {
                    member.group_instance_id = instance.map(StrBytes::from_string);
                }
                member.metadata = metadata;
                member
            })
            .collect();
        Response::JoinGroup(response)
    }
}

/// A SyncGroup answer; protocol fields only exist from version 5.
pub(super) fn sync_response(
    version: i16,
    error: Option<ResponseError>,
    protocol_type: Option<&str>,
    protocol_name: Option<&str>,
    assignment: Bytes,
) -> Response {
    let mut response = SyncGroupResponse::default();
    response.error_code = code(error);
    if version >= 5 {
        response.protocol_type = protocol_type.map(str_bytes);
        response.protocol_name = protocol_name.map(str_bytes);
    }
    response.assignment = assignment;
    Response::SyncGroup(response)
}

pub(super) fn sync_error(version: i16, error: ResponseError) -> Response {
    sync_response(version, Some(error), None, None, Bytes::new())
}

pub(super) fn heartbeat_response(error: Option<ResponseError>) -> Response {
    let mut response = HeartbeatResponse::default();
    response.error_code = code(error);
    Response::Heartbeat(response)
}
