//! Scenario tests: clients played by hand, time advanced by passing `now_ms`.
//!
//! Every answer the coordinator produces is also encoded at its request's
//! version, so a field set that the version cannot carry fails the test.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    DeleteGroupsRequest, DescribeGroupsRequest, HeartbeatRequest, JoinGroupRequest,
    JoinGroupResponse, LeaveGroupRequest, ListGroupsRequest, OffsetCommitRequest,
    OffsetDeleteRequest, OffsetFetchRequest, SyncGroupRequest,
};
use kafka_protocol::protocol::{Encodable, StrBytes};
use kafka_protocol::ResponseError;

use super::subscription::encode_subscription;
use super::*;

const SESSION_MS: i32 = 10_000;
const REBALANCE_MS: i32 = 30_000;

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

fn err(code: i16) -> Option<ResponseError> {
    ResponseError::try_from_code(code)
}

/// Drives one coordinator like a set of clients would.
struct Harness {
    coordinator: GroupCoordinator,
    now_ms: i64,
    next_request: u64,
    versions: BTreeMap<RequestId, i16>,
    /// Every answer so far, by request.
    answers: BTreeMap<RequestId, Response>,
    /// Every record persisted so far, in order, as stored bytes.
    log: Vec<(Bytes, Option<Bytes>)>,
    /// When set, appends wait in `held` until the test completes them; else
    /// each succeeds at once.
    hold_appends: bool,
    held: Vec<(AppendId, OffsetsPartition, Vec<CoordinatorRecord>)>,
}

impl Harness {
    fn new() -> Self {
        Self::with_config(GroupConfig::default())
    }

    fn with_config(config: GroupConfig) -> Self {
        Self {
            coordinator: GroupCoordinator::new(config, Box::new(CountingUuids::default()), 0),
            now_ms: 0,
            next_request: 0,
            versions: BTreeMap::new(),
            answers: BTreeMap::new(),
            log: Vec::new(),
            hold_appends: false,
            held: Vec::new(),
        }
    }

    /// Ends the held append `append` with `result`; a failed one leaves nothing
    /// in the log.
    fn finish_append(
        &mut self,
        append: AppendId,
        result: Result<(), ResponseError>,
    ) -> Vec<RequestId> {
        let index = self
            .held
            .iter()
            .position(|(id, _, _)| *id == append)
            .expect("a held append");
        let (_, _, records) = self.held.remove(index);
        if result.is_ok() {
            for record in records {
                self.log.push((record.key_bytes(), record.value_bytes()));
            }
        }
        let effects = self
            .coordinator
            .complete_append(append, result, self.now_ms);
        self.absorb(effects)
    }

    fn ctx(&mut self, version: i16, client_id: &str) -> RequestContext {
        self.next_request += 1;
        let request_id = RequestId(self.next_request);
        self.versions.insert(request_id, version);
        RequestContext {
            request_id,
            api_version: version,
            client_id: client_id.to_owned(),
            client_host: "/127.0.0.1".to_owned(),
        }
    }

    /// Records the effects: answers by request id (each encoded at its
    /// version), records into the log. Returns the ids answered.
    fn absorb(&mut self, effects: Vec<Effect>) -> Vec<RequestId> {
        let mut answered = Vec::new();
        for effect in effects {
            match effect {
                Effect::Persist {
                    partition,
                    records,
                    append,
                } => {
                    assert!(!records.is_empty(), "empty Persist effect");
                    for record in &records {
                        assert_eq!(partition, self.coordinator.partition_for(record.group()));
                    }
                    self.held.push((append, partition, records));
                    if !self.hold_appends {
                        answered.extend(self.finish_append(append, Ok(())));
                    }
                }
                Effect::Respond {
                    request_id,
                    response,
                } => {
                    let version = self.versions[&request_id];
                    encode(&response, version);
                    assert!(
                        self.answers.insert(request_id, response).is_none(),
                        "request {request_id:?} answered twice"
                    );
                    answered.push(request_id);
                }
            }
        }
        answered
    }

    fn advance_to(&mut self, now_ms: i64) -> Vec<RequestId> {
        assert!(now_ms >= self.now_ms);
        self.now_ms = now_ms;
        let effects = self.coordinator.tick(now_ms);
        self.absorb(effects)
    }

    fn join(
        &mut self,
        version: i16,
        member_id: &str,
        instance: Option<&str>,
        topics: &[&str],
    ) -> RequestId {
        self.join_with(version, "client", member_id, instance, &[("range", topics)])
    }

    fn join_with(
        &mut self,
        version: i16,
        client_id: &str,
        member_id: &str,
        instance: Option<&str>,
        protocols: &[(&str, &[&str])],
    ) -> RequestId {
        let ctx = self.ctx(version, client_id);
        let mut request = JoinGroupRequest::default();
        request.group_id = s("g").into();
        request.session_timeout_ms = SESSION_MS;
        request.rebalance_timeout_ms = REBALANCE_MS;
        request.member_id = s(member_id);
        request.group_instance_id = instance.map(s);
        request.protocol_type = s("consumer");
        request.protocols = protocols
            .iter()
            .map(|(name, topics)| {
                let mut p = JoinGroupRequestProtocol::default();
                p.name = s(name);
                p.metadata = encode_subscription(topics);
                p
            })
            .collect();
        let effects = self
            .coordinator
            .handle_join_group(&ctx, &request, self.now_ms);
        self.absorb(effects);
        ctx.request_id
    }

    /// A v5 client's whole MEMBER_ID_REQUIRED handshake; returns the parked second join.
    fn join_v5(&mut self, topics: &[&str]) -> (String, RequestId) {
        let first = self.join(5, "", None, topics);
        let answer = self.join_answer(first);
        assert_eq!(
            err(answer.error_code),
            Some(ResponseError::MemberIdRequired)
        );
        let member_id = answer.member_id.to_string();
        let second = self.join(5, &member_id, None, topics);
        (member_id, second)
    }

    fn join_answer(&self, request_id: RequestId) -> JoinGroupResponse {
        match self.answers.get(&request_id) {
            Some(Response::JoinGroup(r)) => r.clone(),
            other => panic!("no JoinGroup answer for {request_id:?}: {other:?}"),
        }
    }

    fn answered(&self, request_id: RequestId) -> bool {
        self.answers.contains_key(&request_id)
    }

    fn sync(
        &mut self,
        member_id: &str,
        instance: Option<&str>,
        generation: i32,
        assignments: &[(&str, &[u8])],
    ) -> RequestId {
        let ctx = self.ctx(5, "client");
        let mut request = SyncGroupRequest::default();
        request.group_id = s("g").into();
        request.generation_id = generation;
        request.member_id = s(member_id);
        request.group_instance_id = instance.map(s);
        request.protocol_type = Some(s("consumer"));
        request.protocol_name = Some(s("range"));
        request.assignments = assignments
            .iter()
            .map(|(member, bytes)| {
                let mut a = SyncGroupRequestAssignment::default();
                a.member_id = s(member);
                a.assignment = Bytes::copy_from_slice(bytes);
                a
            })
            .collect();
        let effects = self
            .coordinator
            .handle_sync_group(&ctx, &request, self.now_ms);
        self.absorb(effects);
        ctx.request_id
    }

    /// `(error, assignment)` of a SyncGroup answer.
    fn sync_answer(&self, request_id: RequestId) -> (Option<ResponseError>, Bytes) {
        match self.answers.get(&request_id) {
            Some(Response::SyncGroup(r)) => (err(r.error_code), r.assignment.clone()),
            other => panic!("no SyncGroup answer for {request_id:?}: {other:?}"),
        }
    }

    fn heartbeat(
        &mut self,
        member_id: &str,
        instance: Option<&str>,
        generation: i32,
    ) -> Option<ResponseError> {
        let ctx = self.ctx(4, "client");
        let mut request = HeartbeatRequest::default();
        request.group_id = s("g").into();
        request.generation_id = generation;
        request.member_id = s(member_id);
        request.group_instance_id = instance.map(s);
        let effects = self
            .coordinator
            .handle_heartbeat(&ctx, &request, self.now_ms);
        self.absorb(effects);
        match &self.answers[&ctx.request_id] {
            Response::Heartbeat(r) => err(r.error_code),
            other => panic!("not a heartbeat answer: {other:?}"),
        }
    }

    fn leave(&mut self, version: i16, members: &[(&str, Option<&str>)]) -> Response {
        let ctx = self.ctx(version, "client");
        let mut request = LeaveGroupRequest::default();
        request.group_id = s("g").into();
        if version >= 3 {
            request.members = members
                .iter()
                .map(|(member, instance)| {
                    let mut m = MemberIdentity::default();
                    m.member_id = s(member);
                    m.group_instance_id = instance.map(s);
                    m
                })
                .collect();
        } else {
            request.member_id = s(members[0].0);
        }
        let effects = self
            .coordinator
            .handle_leave_group(&ctx, &request, self.now_ms);
        self.absorb(effects);
        self.answers[&ctx.request_id].clone()
    }

    fn commit(
        &mut self,
        version: i16,
        group: &str,
        member_id: &str,
        generation: i32,
        offsets: &[(&str, i32, i64)],
    ) -> Vec<Option<ResponseError>> {
        let request_id = self.send_commit(version, group, member_id, generation, offsets);
        self.commit_errors(request_id)
    }

    /// The per-partition errors of an OffsetCommit answer.
    fn commit_errors(&self, request_id: RequestId) -> Vec<Option<ResponseError>> {
        match &self.answers[&request_id] {
            Response::OffsetCommit(r) => r
                .topics
                .iter()
                .flat_map(|t| t.partitions.iter().map(|p| err(p.error_code)))
                .collect(),
            other => panic!("not an OffsetCommit answer: {other:?}"),
        }
    }

    fn send_commit(
        &mut self,
        version: i16,
        group: &str,
        member_id: &str,
        generation: i32,
        offsets: &[(&str, i32, i64)],
    ) -> RequestId {
        let ctx = self.ctx(version, "client");
        let mut request = OffsetCommitRequest::default();
        request.group_id = s(group).into();
        request.generation_id_or_member_epoch = generation;
        request.member_id = s(member_id);
        let mut topics: BTreeMap<&str, Vec<(i32, i64)>> = BTreeMap::new();
        for (topic, partition, offset) in offsets {
            topics.entry(topic).or_default().push((*partition, *offset));
        }
        request.topics = topics
            .into_iter()
            .map(|(topic, partitions)| {
                let mut t = OffsetCommitRequestTopic::default();
                t.name = s(topic).into();
                t.partitions = partitions
                    .into_iter()
                    .map(|(index, offset)| {
                        let mut p = OffsetCommitRequestPartition::default();
                        p.partition_index = index;
                        p.committed_offset = offset;
                        p.committed_metadata = Some(s("meta"));
                        p
                    })
                    .collect();
                t
            })
            .collect();
        let effects = self
            .coordinator
            .handle_offset_commit(&ctx, &request, self.now_ms);
        self.absorb(effects);
        ctx.request_id
    }

    /// Committed offsets of one group through OffsetFetch v8 (`topics: None` = all).
    fn fetch(&self, group: &str, topics: Option<&[(&str, &[i32])]>) -> Vec<(String, i32, i64)> {
        let mut request = OffsetFetchRequest::default();
        let mut g = OffsetFetchRequestGroup::default();
        g.group_id = s(group).into();
        g.topics = topics.map(|topics| {
            topics
                .iter()
                .map(|(name, partitions)| {
                    let mut t = kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopics::default();
                    t.name = s(name).into();
                    t.partition_indexes = partitions.to_vec();
                    t
                })
                .collect()
        });
        request.groups.push(g);
        let response = self.coordinator.handle_offset_fetch(8, &request);
        encode(&Response::OffsetFetch(response.clone()), 8);
        response.groups[0]
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(|p| (t.name.0.to_string(), p.partition_index, p.committed_offset))
            })
            .collect()
    }

    fn state(&self) -> GroupState {
        self.coordinator.group("g").expect("group exists").state()
    }

    fn reload(&self) -> GroupCoordinator {
        GroupCoordinator::load_from_bytes(
            self.coordinator.config().clone(),
            Box::new(CountingUuids::default()),
            self.log.clone(),
            self.now_ms,
        )
        .expect("our own records load")
    }
}

fn encode(response: &Response, version: i16) {
    let mut buf = BytesMut::new();
    let result = match response {
        Response::JoinGroup(r) => r.encode(&mut buf, version),
        Response::SyncGroup(r) => r.encode(&mut buf, version),
        Response::Heartbeat(r) => r.encode(&mut buf, version),
        Response::LeaveGroup(r) => r.encode(&mut buf, version),
        Response::OffsetCommit(r) => r.encode(&mut buf, version),
        Response::OffsetFetch(r) => r.encode(&mut buf, version),
        Response::OffsetDelete(r) => r.encode(&mut buf, version),
        Response::DeleteGroups(r) => r.encode(&mut buf, version),
    };
    result.unwrap_or_else(|e| panic!("{response:?} does not encode at v{version}: {e}"));
}

/// Brings three v5 members into a Stable generation 1; returns their ids, leader first.
fn stable_group_of_three(h: &mut Harness) -> Vec<String> {
    let (a, join_a) = h.join_v5(&["t"]);
    let (b, join_b) = h.join_v5(&["t"]);
    let (c, join_c) = h.join_v5(&["t"]);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    // The initial delay (3 s) restarts while members keep arriving; all three
    // joined at t=0, so one extension happens.
    assert!(h.advance_to(3_000).is_empty());
    h.advance_to(6_000);
    for join in [join_a, join_b, join_c] {
        let answer = h.join_answer(join);
        assert_eq!(answer.error_code, 0);
        assert_eq!(answer.generation_id, 1);
        assert_eq!(answer.leader.as_str(), a);
    }
    assert_eq!(h.join_answer(join_a).members.len(), 3);
    assert!(h.join_answer(join_b).members.is_empty());
    assert_eq!(h.state(), GroupState::CompletingRebalance);

    // Followers sync first and wait for the leader.
    let sync_b = h.sync(&b, None, 1, &[]);
    let sync_c = h.sync(&c, None, 1, &[]);
    assert!(!h.answered(sync_b) && !h.answered(sync_c));
    let sync_a = h.sync(&a, None, 1, &[(&a, b"A"), (&b, b"B"), (&c, b"C")]);
    assert_eq!(h.sync_answer(sync_a), (None, Bytes::from_static(b"A")));
    assert_eq!(h.sync_answer(sync_b), (None, Bytes::from_static(b"B")));
    assert_eq!(h.sync_answer(sync_c), (None, Bytes::from_static(b"C")));
    assert_eq!(h.state(), GroupState::Stable);
    vec![a, b, c]
}

#[test]
fn member_id_required_then_join_after_initial_delay() {
    let mut h = Harness::new();
    let first = h.join(5, "", None, &["t"]);
    let answer = h.join_answer(first);
    assert_eq!(
        err(answer.error_code),
        Some(ResponseError::MemberIdRequired)
    );
    assert_eq!(
        answer.member_id.as_str(),
        "client-00000000-0000-0000-0000-000000000001"
    );
    assert_eq!(answer.generation_id, -1);
    // The new group was written as an empty generation-0 group.
    assert_eq!(h.log.len(), 1);
    assert_eq!(h.state(), GroupState::Empty);

    let member_id = answer.member_id.to_string();
    let second = h.join(5, &member_id, None, &["t"]);
    assert!(!h.answered(second), "parked during the initial delay");
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert_eq!(h.coordinator.next_deadline_ms(), Some(3_000));
    assert!(h.advance_to(2_999).is_empty());
    assert_eq!(h.advance_to(3_000), vec![second]);
    let answer = h.join_answer(second);
    assert_eq!(answer.error_code, 0);
    assert_eq!(answer.generation_id, 1);
    assert_eq!(answer.leader.as_str(), member_id);
    assert_eq!(
        answer.protocol_name.as_ref().map(|p| p.as_str()),
        Some("range")
    );
    assert_eq!(answer.members.len(), 1);
    assert_eq!(answer.members[0].metadata, encode_subscription(&["t"]));
}

#[test]
fn pending_member_id_expires_after_session_timeout() {
    let mut h = Harness::new();
    let first = h.join(5, "", None, &["t"]);
    let member_id = h.join_answer(first).member_id.to_string();
    h.advance_to(i64::from(SESSION_MS));
    // The id was never used; it is forgotten and a join with it is refused.
    let late = h.join(5, &member_id, None, &["t"]);
    assert_eq!(
        err(h.join_answer(late).error_code),
        Some(ResponseError::UnknownMemberId)
    );
}

#[test]
fn old_clients_join_without_member_id_handshake() {
    let mut h = Harness::new();
    let join = h.join(3, "", None, &["t"]);
    h.advance_to(3_000);
    let answer = h.join_answer(join);
    assert_eq!(answer.error_code, 0);
    assert_eq!(
        answer.member_id.as_str(),
        "client-00000000-0000-0000-0000-000000000001"
    );
    // Version 0 answers must still encode (protocol name "" not null, etc.).
    let v0 = h.join(0, &answer.member_id.to_string(), None, &["t"]);
    assert!(!h.answered(v0) || h.join_answer(v0).error_code == 0);
}

#[test]
fn three_members_one_leaves_the_others_rebalance() {
    let mut h = Harness::new();
    let ids = stable_group_of_three(&mut h);
    let (a, b, c) = (&ids[0], &ids[1], &ids[2]);

    // The leader leaves (batch form, v3+).
    let Response::LeaveGroup(left) = h.leave(4, &[(a, None)]) else {
        panic!("not a leave answer")
    };
    assert_eq!(left.members.len(), 1);
    assert_eq!(left.members[0].error_code, 0);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert_eq!(
        h.heartbeat(b, None, 1),
        Some(ResponseError::RebalanceInProgress)
    );
    assert_eq!(
        h.heartbeat(a, None, 1),
        Some(ResponseError::UnknownMemberId)
    );

    // Both survivors rejoin; the join phase ends as soon as both are in.
    let join_b = h.join(5, b, None, &["t"]);
    assert!(!h.answered(join_b));
    let join_c = h.join(5, c, None, &["t"]);
    assert!(h.answered(join_b) && h.answered(join_c));
    let answer_b = h.join_answer(join_b);
    assert_eq!(answer_b.generation_id, 2);
    // The leader left, so the first remaining member leads.
    assert_eq!(answer_b.leader.as_str(), b.as_str());
    assert_eq!(answer_b.members.len(), 2);

    let sync_c = h.sync(c, None, 2, &[]);
    let sync_b = h.sync(b, None, 2, &[(b, b"B2"), (c, b"C2")]);
    assert_eq!(h.sync_answer(sync_b), (None, Bytes::from_static(b"B2")));
    assert_eq!(h.sync_answer(sync_c), (None, Bytes::from_static(b"C2")));
    assert_eq!(h.state(), GroupState::Stable);
    assert_eq!(h.heartbeat(c, None, 2), None);
    assert_eq!(
        h.heartbeat(c, None, 1),
        Some(ResponseError::IllegalGeneration)
    );

    // A stale sync from the old generation is refused.
    let stale = h.sync(c, None, 1, &[]);
    assert_eq!(
        h.sync_answer(stale).0,
        Some(ResponseError::IllegalGeneration)
    );
}

#[test]
fn session_expiry_removes_member_and_rebalances() {
    let mut h = Harness::new();
    let ids = stable_group_of_three(&mut h);
    let (a, b, c) = (&ids[0], &ids[1], &ids[2]);
    // Sessions restarted when the assignment went out at t=6000.
    h.advance_to(12_000);
    assert_eq!(h.heartbeat(a, None, 1), None);
    assert_eq!(h.heartbeat(b, None, 1), None);
    // c went silent: its session ends at 16 000.
    h.advance_to(15_999);
    assert_eq!(h.state(), GroupState::Stable);
    h.advance_to(16_000);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert!(h
        .coordinator
        .group("g")
        .unwrap()
        .member(&MemberId(c.clone()))
        .is_none());
    assert_eq!(
        h.heartbeat(a, None, 1),
        Some(ResponseError::RebalanceInProgress)
    );

    let join_a = h.join(5, a, None, &["t"]);
    let join_b = h.join(5, b, None, &["t"]);
    assert_eq!(h.join_answer(join_a).generation_id, 2);
    assert_eq!(h.join_answer(join_b).leader.as_str(), a.as_str());
    assert_eq!(h.join_answer(join_a).members.len(), 2);
}

#[test]
fn member_that_never_rejoins_is_dropped_at_rebalance_timeout() {
    let mut h = Harness::new();
    let ids = stable_group_of_three(&mut h);
    let (a, b) = (&ids[0], &ids[1]);
    // The leader rejoins to force a rebalance; b keeps heartbeating but never rejoins.
    let join_a = h.join(5, a, None, &["t"]);
    assert!(!h.answered(join_a));
    let deadline = h.coordinator.next_deadline_ms().unwrap();
    assert!(deadline <= 6_000 + i64::from(REBALANCE_MS));
    let mut now = 6_000;
    while !h.answered(join_a) {
        now += 5_000;
        h.advance_to(now);
        h.heartbeat(b, None, 1);
    }
    let answer = h.join_answer(join_a);
    assert_eq!(answer.generation_id, 2);
    assert_eq!(answer.members.len(), 1, "b and c did not rejoin in time");
    assert_eq!(
        h.heartbeat(b, None, 1),
        Some(ResponseError::UnknownMemberId)
    );
}

#[test]
fn follower_that_never_syncs_is_removed() {
    let mut h = Harness::new();
    let (a, join_a) = h.join_v5(&["t"]);
    let (b, _join_b) = h.join_v5(&["t"]);
    h.advance_to(3_000);
    h.advance_to(6_000);
    assert!(h.answered(join_a));
    let sync_a = h.sync(&a, None, 1, &[(&a, b"A"), (&b, b"B")]);
    assert_eq!(h.sync_answer(sync_a).0, None);
    // b got its JoinGroup answer but never sends SyncGroup; a keeps heartbeating.
    let mut now = 6_000;
    while h.state() == GroupState::Stable {
        now += 2_000;
        h.advance_to(now);
        h.heartbeat(&a, None, 1);
    }
    assert!(now <= 6_000 + i64::from(REBALANCE_MS));
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert!(h
        .coordinator
        .group("g")
        .unwrap()
        .member(&MemberId(b))
        .is_none());
}

#[test]
fn static_member_rejoins_without_rebalance() {
    let mut h = Harness::new();
    let join_s = h.join(5, "", Some("instance-1"), &["t"]);
    let (d, join_d) = h.join_v5(&["t"]);
    h.advance_to(3_000);
    h.advance_to(6_000);
    let s_id = h.join_answer(join_s).member_id.to_string();
    assert_eq!(s_id, "instance-1-00000000-0000-0000-0000-000000000001");
    assert_eq!(h.join_answer(join_d).leader.as_str(), s_id);
    let sync_s = h.sync(&s_id, Some("instance-1"), 1, &[(&s_id, b"S"), (&d, b"D")]);
    let sync_d = h.sync(&d, None, 1, &[]);
    assert_eq!(h.sync_answer(sync_s).1, Bytes::from_static(b"S"));
    assert_eq!(h.sync_answer(sync_d).1, Bytes::from_static(b"D"));
    let records_before = h.log.len();

    // The static member restarts: same instance id, no member id.
    let rejoin = h.join(5, "", Some("instance-1"), &["t"]);
    let answer = h.join_answer(rejoin);
    assert_eq!(answer.error_code, 0);
    assert_eq!(answer.generation_id, 1, "no new generation");
    let new_id = answer.member_id.to_string();
    assert_ne!(new_id, s_id);
    // Before v9 the old leader id is returned, so it does not reassign.
    assert_eq!(answer.leader.as_str(), s_id);
    assert!(answer.members.is_empty());
    assert_eq!(h.state(), GroupState::Stable);
    assert_eq!(
        h.log.len(),
        records_before + 1,
        "the new member id is persisted"
    );

    // It keeps its assignment and leadership; the old id is fenced.
    let sync_new = h.sync(&new_id, Some("instance-1"), 1, &[]);
    assert_eq!(h.sync_answer(sync_new), (None, Bytes::from_static(b"S")));
    assert_eq!(
        h.heartbeat(&s_id, Some("instance-1"), 1),
        Some(ResponseError::FencedInstanceId)
    );
    assert_eq!(h.heartbeat(&new_id, Some("instance-1"), 1), None);
    assert!(h
        .coordinator
        .group("g")
        .unwrap()
        .is_leader(&MemberId(new_id.clone())));
    assert_eq!(h.heartbeat(&d, None, 1), None);

    // A v9 rejoin learns it leads and must skip the assignment.
    let rejoin9 = h.join(9, "", Some("instance-1"), &["t"]);
    let answer9 = h.join_answer(rejoin9);
    assert!(answer9.skip_assignment);
    assert_eq!(answer9.leader, answer9.member_id);
    assert_eq!(answer9.members.len(), 2);
    assert_eq!(h.state(), GroupState::Stable);
}

#[test]
fn static_member_removed_by_instance_id_and_old_leave_versions() {
    let mut h = Harness::new();
    let _ = h.join(5, "", Some("i1"), &["t"]);
    let (d, _) = h.join_v5(&["t"]);
    h.advance_to(3_000);
    h.advance_to(6_000);
    // An admin removes the static member by instance id only.
    let Response::LeaveGroup(left) = h.leave(5, &[("", Some("i1")), ("", Some("nobody"))]) else {
        panic!()
    };
    assert_eq!(left.members[0].error_code, 0);
    assert_eq!(
        err(left.members[1].error_code),
        Some(ResponseError::UnknownMemberId)
    );
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    // v0-2 carry one member id and one error.
    let Response::LeaveGroup(unknown) = h.leave(1, &[("ghost", None)]) else {
        panic!()
    };
    assert_eq!(
        err(unknown.error_code),
        Some(ResponseError::UnknownMemberId)
    );
    assert!(unknown.members.is_empty());
    let Response::LeaveGroup(ok) = h.leave(2, &[(&d, None)]) else {
        panic!()
    };
    assert_eq!(ok.error_code, 0);
    // Nobody left: the join phase ends with an empty group.
    assert_eq!(h.state(), GroupState::Empty);
}

#[test]
fn join_errors() {
    let mut h = Harness::new();
    // Session timeout outside group.min/max.session.timeout.ms.
    let ctx = h.ctx(5, "client");
    let mut request = JoinGroupRequest::default();
    request.group_id = s("g").into();
    request.session_timeout_ms = 1_000;
    request.protocol_type = s("consumer");
    let effects = h.coordinator.handle_join_group(&ctx, &request, 0);
    h.absorb(effects);
    assert_eq!(
        err(h.join_answer(ctx.request_id).error_code),
        Some(ResponseError::InvalidSessionTimeout)
    );
    // Empty group id.
    let ctx = h.ctx(5, "client");
    request.session_timeout_ms = SESSION_MS;
    request.group_id = s("").into();
    let effects = h.coordinator.handle_join_group(&ctx, &request, 0);
    h.absorb(effects);
    assert_eq!(
        err(h.join_answer(ctx.request_id).error_code),
        Some(ResponseError::InvalidGroupId)
    );
    // A member id for a group that does not exist.
    let join = h.join(5, "made-up", None, &["t"]);
    assert_eq!(
        err(h.join_answer(join).error_code),
        Some(ResponseError::UnknownMemberId)
    );
    assert!(h.coordinator.group("g").is_none());
    // The first member fixes the protocols; one with nothing in common is refused.
    let (_, _) = h.join_v5(&["t"]);
    let other = h.join_with(5, "client", "", None, &[("roundrobin", &["t"])]);
    h.advance_to(3_000);
    let other = h.join_with(
        5,
        "client",
        &h.join_answer(other).member_id.to_string(),
        None,
        &[("roundrobin", &["t"])],
    );
    assert_eq!(
        err(h.join_answer(other).error_code),
        Some(ResponseError::InconsistentGroupProtocol)
    );
}

#[test]
fn protocol_vote_picks_what_everyone_supports() {
    let mut h = Harness::new();
    let first = h.join_with(
        5,
        "a",
        "",
        None,
        &[("cooperative-sticky", &["t"]), ("range", &["t"])],
    );
    let a = h.join_answer(first).member_id.to_string();
    let join_a = h.join_with(
        5,
        "a",
        &a,
        None,
        &[("cooperative-sticky", &["t"]), ("range", &["t"])],
    );
    let first = h.join_with(5, "b", "", None, &[("range", &["t"])]);
    let b = h.join_answer(first).member_id.to_string();
    let join_b = h.join_with(5, "b", &b, None, &[("range", &["t"])]);
    h.advance_to(3_000);
    h.advance_to(6_000);
    for join in [join_a, join_b] {
        assert_eq!(
            h.join_answer(join)
                .protocol_name
                .as_ref()
                .map(|p| p.as_str()),
            Some("range")
        );
    }
}

#[test]
fn initial_delay_is_extended_up_to_the_rebalance_timeout() {
    let config = GroupConfig {
        initial_rebalance_delay_ms: 3_000,
        ..GroupConfig::default()
    };
    let mut h = Harness::with_config(config);
    let (_, join_a) = h.join_v5(&["t"]);
    // A new member every 2.5 s keeps extending the delay; time moves to each
    // timer deadline or arrival, whichever comes first, as a server's would.
    let mut next_arrival = 2_500;
    let mut joins = vec![join_a];
    while !h.answered(join_a) {
        let deadline = h.coordinator.next_deadline_ms().unwrap();
        if deadline < next_arrival {
            h.advance_to(deadline);
        } else {
            h.advance_to(next_arrival);
            if h.answered(join_a) {
                break;
            }
            joins.push(h.join_v5(&["t"]).1);
            next_arrival += 2_500;
        }
    }
    let now = h.now_ms;
    // ...but not beyond the rebalance timeout: 3 s plus nine 3 s extensions.
    assert_eq!(now, i64::from(REBALANCE_MS));
    assert!(joins.iter().all(|j| h.answered(*j)));
    assert_eq!(h.join_answer(join_a).members.len(), joins.len());
}

#[test]
fn offsets_survive_a_reload() {
    let mut h = Harness::new();
    let ids = stable_group_of_three(&mut h);
    let a = &ids[0];
    let errors = h.commit(8, "g", a, 1, &[("t", 0, 42), ("t", 1, 7), ("u", 0, 3)]);
    assert_eq!(errors, vec![None, None, None]);
    // A consumer without group management commits to its own simple group.
    let errors = h.commit(8, "simple", "", -1, &[("t", 0, 99)]);
    assert_eq!(errors, vec![None]);
    // A later commit replaces the earlier one.
    h.commit(8, "g", a, 1, &[("t", 0, 43)]);

    let reloaded = h.reload();
    let h2 = Harness {
        coordinator: reloaded,
        ..Harness::new()
    };
    assert_eq!(
        h2.fetch("g", None),
        vec![("t".into(), 0, 43), ("t".into(), 1, 7), ("u".into(), 0, 3)]
    );
    assert_eq!(
        h2.fetch("g", Some(&[("t", &[1, 5])])),
        vec![("t".into(), 1, 7), ("t".into(), 5, -1)]
    );
    assert_eq!(h2.fetch("simple", None), vec![("t".into(), 0, 99)]);
    assert_eq!(
        h2.fetch("nobody", Some(&[("t", &[0])])),
        vec![("t".into(), 0, -1)]
    );
    let offset = h2.coordinator.committed_offset("g", "t", 0).unwrap();
    assert_eq!(offset.metadata, "meta");
    // The group comes back Stable with its members and assignments.
    let group = h2.coordinator.group("g").unwrap();
    assert_eq!(group.state(), GroupState::Stable);
    assert_eq!(group.generation().0, 1);
    assert_eq!(group.len(), 3);
    assert_eq!(
        group.member(&MemberId(a.clone())).unwrap().assignment,
        Bytes::from_static(b"A")
    );
    assert!(group.is_leader(&MemberId(a.clone())));
    // And its members must keep heartbeating to stay.
    assert_eq!(
        h2.coordinator.next_deadline_ms(),
        Some(h.now_ms + i64::from(SESSION_MS))
    );
}

#[test]
fn offset_fetch_old_versions_use_top_level_topics() {
    let mut h = Harness::new();
    h.commit(2, "simple", "", -1, &[("t", 0, 5)]);
    let mut request = OffsetFetchRequest::default();
    request.group_id = s("simple").into();
    let mut topic = OffsetFetchRequestTopic::default();
    topic.name = s("t").into();
    topic.partition_indexes = vec![0, 1];
    request.topics = Some(vec![topic]);
    let response = h.coordinator.handle_offset_fetch(3, &request);
    encode(&Response::OffsetFetch(response.clone()), 3);
    let partitions = &response.topics[0].partitions;
    assert_eq!(
        (
            partitions[0].committed_offset,
            partitions[1].committed_offset
        ),
        (5, -1)
    );
    // topics: null fetches everything (v2+).
    request.topics = None;
    let response = h.coordinator.handle_offset_fetch(2, &request);
    assert_eq!(response.topics.len(), 1);
}

#[test]
fn offset_commit_validation() {
    let mut h = Harness::new();
    let ids = stable_group_of_three(&mut h);
    let a = &ids[0];
    assert_eq!(
        h.commit(8, "g", a, 7, &[("t", 0, 1)]),
        vec![Some(ResponseError::IllegalGeneration)]
    );
    assert_eq!(
        h.commit(8, "g", "stranger", 1, &[("t", 0, 1)]),
        vec![Some(ResponseError::UnknownMemberId)]
    );
    // No member id, no generation, but the group has members.
    assert_eq!(
        h.commit(8, "g", "", -1, &[("t", 0, 1)]),
        vec![Some(ResponseError::UnknownMemberId)]
    );
    // A generation for a group that does not exist: v9 says so, older versions
    // say ILLEGAL_GENERATION.
    assert_eq!(
        h.commit(9, "none", "m", 3, &[("t", 0, 1)]),
        vec![Some(ResponseError::GroupIdNotFound)]
    );
    assert_eq!(
        h.commit(8, "none", "m", 3, &[("t", 0, 1)]),
        vec![Some(ResponseError::IllegalGeneration)]
    );
    // Metadata longer than offset.metadata.max.bytes.
    let config = GroupConfig {
        offset_metadata_bytes_max: 2,
        ..GroupConfig::default()
    };
    let mut small = Harness::with_config(config);
    assert_eq!(
        small.commit(8, "s", "", -1, &[("t", 0, 1)]),
        vec![Some(ResponseError::OffsetMetadataTooLarge)]
    );
    // During CompletingRebalance commits are refused with REBALANCE_IN_PROGRESS.
    let join_a = h.join(5, a, None, &["t"]);
    let b = ids[1].clone();
    let c = ids[2].clone();
    h.join(5, &b, None, &["t"]);
    h.join(5, &c, None, &["t"]);
    assert!(h.answered(join_a));
    assert_eq!(h.state(), GroupState::CompletingRebalance);
    assert_eq!(
        h.commit(8, "g", a, 2, &[("t", 0, 1)]),
        vec![Some(ResponseError::RebalanceInProgress)]
    );
}

#[test]
fn offset_delete_respects_subscriptions() {
    let mut h = Harness::new();
    let ids = stable_group_of_three(&mut h);
    h.commit(8, "g", &ids[0], 1, &[("t", 0, 1), ("old", 0, 2)]);
    let ctx = h.ctx(0, "admin");
    let mut request = OffsetDeleteRequest::default();
    request.group_id = s("g").into();
    for name in ["t", "old"] {
        let mut topic = OffsetDeleteRequestTopic::default();
        topic.name = s(name).into();
        let mut partition = OffsetDeleteRequestPartition::default();
        partition.partition_index = 0;
        topic.partitions.push(partition);
        request.topics.push(topic);
    }
    let effects = h.coordinator.handle_offset_delete(&ctx, &request, h.now_ms);
    h.absorb(effects);
    let Response::OffsetDelete(response) = &h.answers[&ctx.request_id] else {
        panic!()
    };
    assert_eq!(response.error_code, 0);
    assert_eq!(
        err(response.topics[0].partitions[0].error_code),
        Some(ResponseError::GroupSubscribedToTopic)
    );
    assert_eq!(response.topics[1].partitions[0].error_code, 0);
    assert!(h.coordinator.committed_offset("g", "old", 0).is_none());
    assert!(h.coordinator.committed_offset("g", "t", 0).is_some());
    // The tombstone is in the log: a reload agrees.
    assert!(h.reload().committed_offset("g", "old", 0).is_none());
}

#[test]
fn list_describe_and_delete_groups() {
    let mut h = Harness::new();
    stable_group_of_three(&mut h);
    h.commit(8, "simple", "", -1, &[("t", 0, 1)]);

    let mut list = ListGroupsRequest::default();
    let all = h.coordinator.handle_list_groups(&list);
    let names: Vec<_> = all
        .groups
        .iter()
        .map(|g| (g.group_id.0.to_string(), g.group_state.to_string()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("g".into(), "Stable".into()),
            ("simple".into(), "Empty".into())
        ]
    );
    assert_eq!(all.groups[0].protocol_type.as_str(), "consumer");
    assert_eq!(all.groups[1].protocol_type.as_str(), "");
    list.states_filter = vec![s("stable")];
    assert_eq!(h.coordinator.handle_list_groups(&list).groups.len(), 1);
    list.states_filter.clear();
    list.types_filter = vec![s("consumer")];
    assert!(h.coordinator.handle_list_groups(&list).groups.is_empty());

    let mut describe = DescribeGroupsRequest::default();
    describe.groups = vec![s("g").into(), s("missing").into()];
    let described = h.coordinator.handle_describe_groups(&describe);
    assert_eq!(described.groups[0].group_state.as_str(), "Stable");
    assert_eq!(described.groups[0].protocol_data.as_str(), "range");
    assert_eq!(described.groups[0].members.len(), 3);
    assert_eq!(
        described.groups[0].members[0].client_host.as_str(),
        "/127.0.0.1"
    );
    assert!(!described.groups[0].members[0].member_metadata.is_empty());
    assert_eq!(described.groups[1].group_state.as_str(), "Dead");
    assert_eq!(described.groups[1].error_code, 0);

    let ctx = h.ctx(2, "admin");
    let mut delete = DeleteGroupsRequest::default();
    delete.groups_names = vec![
        s("g").into(),
        s("simple").into(),
        s("missing").into(),
        s("simple").into(),
    ];
    let effects = h.coordinator.handle_delete_groups(&ctx, &delete, h.now_ms);
    h.absorb(effects);
    let Response::DeleteGroups(deleted) = &h.answers[&ctx.request_id] else {
        panic!()
    };
    let results: Vec<_> = deleted
        .results
        .iter()
        .map(|r| (r.group_id.0.to_string(), err(r.error_code)))
        .collect();
    assert_eq!(
        results,
        vec![
            ("g".into(), Some(ResponseError::NonEmptyGroup)),
            ("simple".into(), None),
            ("missing".into(), Some(ResponseError::GroupIdNotFound)),
        ]
    );
    assert!(h.coordinator.group("simple").is_none());
    let reloaded = h.reload();
    assert!(reloaded.group("simple").is_none());
    assert!(reloaded.committed_offset("simple", "t", 0).is_none());
    assert!(reloaded.group("g").is_some());
}

#[test]
fn expired_offsets_of_a_simple_group_are_removed_with_the_group() {
    let config = GroupConfig {
        offsets_retention_ms: 60_000,
        offsets_retention_check_interval_ms: 10_000,
        ..GroupConfig::default()
    };
    let mut h = Harness::with_config(config);
    h.commit(8, "simple", "", -1, &[("t", 0, 1)]);
    h.advance_to(50_000);
    assert!(h.coordinator.committed_offset("simple", "t", 0).is_some());
    h.advance_to(60_000);
    assert!(h.coordinator.committed_offset("simple", "t", 0).is_none());
    assert!(h.coordinator.group("simple").is_none());
    let reloaded = h.reload();
    assert!(reloaded.group("simple").is_none());
}

#[test]
fn subscribed_offsets_of_a_stable_group_do_not_expire() {
    let config = GroupConfig {
        offsets_retention_ms: 60_000,
        offsets_retention_check_interval_ms: 10_000,
        ..GroupConfig::default()
    };
    let mut h = Harness::with_config(config);
    let ids = stable_group_of_three(&mut h);
    h.commit(8, "g", &ids[0], 1, &[("t", 0, 1), ("gone", 0, 1)]);
    let mut now = h.now_ms;
    while now < 100_000 {
        now += 5_000;
        h.advance_to(now);
        for id in &ids {
            h.heartbeat(id, None, 1);
        }
    }
    assert!(h.coordinator.committed_offset("g", "t", 0).is_some());
    assert!(h.coordinator.committed_offset("g", "gone", 0).is_none());
}

#[test]
fn heartbeat_and_sync_errors() {
    let mut h = Harness::new();
    assert_eq!(
        h.heartbeat("m", None, 0),
        Some(ResponseError::UnknownMemberId)
    );
    let sync = h.sync("m", None, 0, &[]);
    assert_eq!(h.sync_answer(sync).0, Some(ResponseError::UnknownMemberId));
    let ids = stable_group_of_three(&mut h);
    let sync = h.sync(&ids[1], None, 5, &[]);
    assert_eq!(
        h.sync_answer(sync).0,
        Some(ResponseError::IllegalGeneration)
    );
    // A static instance id that does not match the member.
    assert_eq!(
        h.heartbeat(&ids[1], Some("nope"), 1),
        Some(ResponseError::UnknownMemberId)
    );
    // v5 SyncGroup without protocol fields.
    let ctx = h.ctx(5, "client");
    let mut request = SyncGroupRequest::default();
    request.group_id = s("g").into();
    request.generation_id = 1;
    request.member_id = s(&ids[1]);
    let effects = h.coordinator.handle_sync_group(&ctx, &request, h.now_ms);
    h.absorb(effects);
    assert_eq!(
        h.sync_answer(ctx.request_id).0,
        Some(ResponseError::InconsistentGroupProtocol)
    );
    // A follower rejoining a stable group with unchanged metadata gets the
    // current generation back, without a rebalance.
    let rejoin = h.join(5, &ids[1], None, &["t"]);
    assert_eq!(h.join_answer(rejoin).generation_id, 1);
    assert_eq!(h.state(), GroupState::Stable);
}

#[test]
fn group_max_size_is_enforced() {
    let config = GroupConfig {
        group_size_max: 1,
        ..GroupConfig::default()
    };
    let mut h = Harness::with_config(config);
    let (_, join_a) = h.join_v5(&["t"]);
    // The group is rebalancing with one member parked: a newcomer is refused
    // before it even gets a member id.
    let join_b = h.join(5, "", None, &["t"]);
    assert!(!h.answered(join_a));
    let refused = h.join_answer(join_b);
    assert_eq!(
        err(refused.error_code),
        Some(ResponseError::GroupMaxSizeReached)
    );
    assert_eq!(refused.member_id.as_str(), "");
    h.advance_to(3_000);
    assert_eq!(h.join_answer(join_a).members.len(), 1);
}

#[test]
fn deterministic_replay() {
    // The same inputs give the same records, byte for byte.
    let run = || {
        let mut h = Harness::new();
        let ids = stable_group_of_three(&mut h);
        h.commit(8, "g", &ids[0], 1, &[("t", 0, 42)]);
        h.log
    };
    assert_eq!(run(), run());
}

#[test]
fn strings_too_long_for_the_records_are_refused() {
    let mut h = Harness::new();
    let long = "x".repeat(40_000);
    let ctx = h.ctx(6, "client");
    let mut request = JoinGroupRequest::default();
    request.group_id = s(&long).into();
    request.session_timeout_ms = SESSION_MS;
    request.protocol_type = s("consumer");
    let effects = h.coordinator.handle_join_group(&ctx, &request, 0);
    h.absorb(effects);
    assert_eq!(
        err(h.join_answer(ctx.request_id).error_code),
        Some(ResponseError::InvalidGroupId)
    );
    // A client id that would make a member id too long for the record.
    let join = h.join_with(6, &"c".repeat(32_760), "", None, &[("range", &["t"])]);
    assert_eq!(
        err(h.join_answer(join).error_code),
        Some(ResponseError::InvalidRequest)
    );
    assert_eq!(
        h.commit(8, "simple", "", -1, &[(long.as_str(), 0, 1)]),
        vec![Some(ResponseError::UnknownTopicOrPartition)]
    );
}

#[test]
fn static_member_replaced_while_completing_fences_the_old_sync() {
    let mut h = Harness::new();
    let join_s = h.join(5, "", Some("i1"), &["t"]);
    let (d, _) = h.join_v5(&["t"]);
    h.advance_to(3_000);
    h.advance_to(6_000);
    let s_id = h.join_answer(join_s).member_id.to_string();
    // d (a follower) parks its sync; then the static leader "restarts".
    let sync_d = h.sync(&d, None, 1, &[]);
    assert!(!h.answered(sync_d));
    let rejoin = h.join(5, "", Some("i1"), &["t"]);
    // The group rebalances; d's parked sync is told so.
    assert_eq!(
        h.sync_answer(sync_d).0,
        Some(ResponseError::RebalanceInProgress)
    );
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    let rejoin_d = h.join(5, &d, None, &["t"]);
    assert!(h.answered(rejoin) && h.answered(rejoin_d));
    let answer = h.join_answer(rejoin);
    assert_eq!(answer.generation_id, 2);
    assert_ne!(answer.member_id.as_str(), s_id);
    assert_eq!(
        h.heartbeat(&s_id, Some("i1"), 2),
        Some(ResponseError::FencedInstanceId)
    );
}

#[test]
fn leave_unknown_group_answers_every_member() {
    let mut h = Harness::new();
    let Response::LeaveGroup(left) = h.leave(3, &[("a", None), ("b", Some("i"))]) else {
        panic!()
    };
    assert_eq!(left.error_code, 0);
    assert!(left
        .members
        .iter()
        .all(|m| err(m.error_code) == Some(ResponseError::UnknownMemberId)));
}

/// A small deterministic PRNG for the randomized test (no dependency needed).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One simulated client: what it believes about its membership.
#[derive(Default, Clone)]
struct Client {
    member_id: String,
    generation: i32,
    instance: Option<String>,
    parked: Option<RequestId>,
}

/// Random clients doing random things: nothing panics, every answer encodes,
/// no request is answered twice, and once everyone stops, every parked
/// request gets its answer.
#[test]
fn random_clients_never_break_the_coordinator() {
    let mut outcomes: BTreeMap<(&str, i16), u32> = BTreeMap::new();
    for seed in 1..=150u64 {
        let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let config = GroupConfig {
            initial_rebalance_delay_ms: [0, 100, 3_000][rng.below(3) as usize],
            group_size_max: [2, 3, 100][rng.below(3) as usize],
            offsets_retention_ms: 120_000,
            offsets_retention_check_interval_ms: 20_000,
            ..GroupConfig::default()
        };
        let mut h = Harness::with_config(config);
        let mut clients: Vec<Client> = (0..4)
            .map(|i| Client {
                instance: (i % 2 == 0).then(|| format!("instance-{i}")),
                ..Client::default()
            })
            .collect();
        for _step in 0..250 {
            let c = rng.below(clients.len() as u64) as usize;
            // A parked client only learns its answer; real clients do not send
            // another JoinGroup or SyncGroup while one is outstanding.
            if let Some(parked) = clients[c].parked {
                if let Some(answer) = h.answers.get(&parked).cloned() {
                    clients[c].parked = None;
                    match answer {
                        Response::JoinGroup(r) => {
                            if r.error_code == 0
                                || err(r.error_code) == Some(ResponseError::MemberIdRequired)
                            {
                                clients[c].member_id = r.member_id.to_string();
                                clients[c].generation = r.generation_id;
                            } else if err(r.error_code) == Some(ResponseError::UnknownMemberId)
                                || err(r.error_code) == Some(ResponseError::FencedInstanceId)
                            {
                                clients[c].member_id.clear();
                            }
                        }
                        Response::SyncGroup(_) => {}
                        _ => unreachable!(),
                    }
                }
            }
            let client = clients[c].clone();
            let topics: &[&str] = if rng.below(4) == 0 {
                &["t", "u"]
            } else {
                &["t"]
            };
            match rng.below(12) {
                0..=2 if client.parked.is_none() => {
                    let version = [0, 3, 4, 5, 7, 9][rng.below(6) as usize];
                    let instance = if version >= 5 {
                        client.instance.as_deref()
                    } else {
                        None
                    };
                    let request = h.join_with(
                        version,
                        "client",
                        &client.member_id,
                        instance,
                        &[("range", topics)],
                    );
                    clients[c].parked = Some(request);
                }
                3 | 4 if client.parked.is_none() => {
                    let ids: Vec<String> = clients.iter().map(|c| c.member_id.clone()).collect();
                    let assignments: Vec<(&str, &[u8])> = ids
                        .iter()
                        .map(|id| (id.as_str(), b"x".as_slice()))
                        .collect();
                    let instance = client.instance.as_deref();
                    let request =
                        h.sync(&client.member_id, instance, client.generation, &assignments);
                    clients[c].parked = Some(request);
                }
                5 | 6 => {
                    h.heartbeat(
                        &client.member_id,
                        client.instance.as_deref(),
                        client.generation,
                    );
                }
                7 => {
                    let version = [1, 3, 5][rng.below(3) as usize];
                    h.leave(version, &[(client.member_id.as_str(), None)]);
                }
                8 => {
                    h.commit(
                        8,
                        "g",
                        &client.member_id,
                        client.generation,
                        &[("t", 0, rng.below(100) as i64)],
                    );
                }
                9 => {
                    let ctx = h.ctx(1, "admin");
                    let mut delete = DeleteGroupsRequest::default();
                    delete.groups_names = vec![s("g").into()];
                    let effects = h.coordinator.handle_delete_groups(&ctx, &delete, h.now_ms);
                    h.absorb(effects);
                    let _ = h
                        .coordinator
                        .handle_describe_groups(&DescribeGroupsRequest::default());
                    let _ = h
                        .coordinator
                        .handle_list_groups(&ListGroupsRequest::default());
                }
                _ => {
                    let step = [10, 1_000, 5_000, 20_000][rng.below(4) as usize];
                    let target = h.now_ms + step;
                    while let Some(deadline) =
                        h.coordinator.next_deadline_ms().filter(|d| *d <= target)
                    {
                        h.advance_to(deadline.max(h.now_ms));
                    }
                    h.advance_to(target);
                }
            }
        }
        for answer in h.answers.values() {
            let (kind, code) = match answer {
                Response::JoinGroup(r) => ("join", r.error_code),
                Response::SyncGroup(r) => ("sync", r.error_code),
                Response::Heartbeat(r) => ("heartbeat", r.error_code),
                Response::LeaveGroup(r) => ("leave", r.error_code),
                _ => continue,
            };
            *outcomes.entry((kind, code)).or_insert(0u32) += 1;
        }
        // Everyone stops; within a few rebalance timeouts every parked request
        // is answered (members that stopped are expired, which releases the rest).
        let end = h.now_ms + 10 * i64::from(REBALANCE_MS);
        while let Some(deadline) = h.coordinator.next_deadline_ms().filter(|d| *d <= end) {
            h.advance_to(deadline.max(h.now_ms));
        }
        for (i, client) in clients.iter().enumerate() {
            if let Some(parked) = client.parked {
                assert!(
                    h.answered(parked),
                    "seed {seed}: client {i} request {parked:?} never answered"
                );
            }
        }
        // Whatever happened, the log reloads to the same groups and offsets.
        let reloaded = h.reload();
        match (h.coordinator.group("g"), reloaded.group("g")) {
            (None, None) => {}
            (Some(live), Some(loaded)) => {
                if live.state() == GroupState::Stable {
                    assert_eq!(loaded.generation(), live.generation(), "seed {seed}");
                    assert_eq!(loaded.len(), live.len(), "seed {seed}");
                }
            }
            (live, loaded) => panic!(
                "seed {seed}: live {:?} vs loaded {:?}",
                live.map(|g| g.state()),
                loaded.map(|g| g.state())
            ),
        }
        assert_eq!(
            h.coordinator.committed_offset("g", "t", 0),
            reloaded.committed_offset("g", "t", 0),
            "seed {seed}"
        );
    }
    // The random walk must reach the interesting places, or it proves little.
    for wanted in [
        ("join", 0),
        ("join", 79),
        ("sync", 0),
        ("sync", 27),
        ("heartbeat", 0),
        ("heartbeat", 27),
        ("heartbeat", 22),
    ] {
        assert!(
            outcomes.contains_key(&wanted),
            "never saw {wanted:?}: {outcomes:?}"
        );
    }
}

#[test]
fn coordinator_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<GroupCoordinator>();
}

#[test]
fn load_fails_loudly_on_a_malformed_record_and_skips_unmodelled_types() {
    let good = CoordinatorRecord::GroupMetadata {
        key: GroupMetadataKey { group: "g".into() },
        value: None,
    };
    // Key type 5 belongs to the new consumer protocol: skipped.
    let unmodelled = (
        Bytes::from_static(&[0, 5, 0, 1, b'g']),
        Some(Bytes::from_static(&[0])),
    );
    let loaded = GroupCoordinator::load_from_bytes(
        GroupConfig::default(),
        Box::new(CountingUuids::default()),
        vec![(good.key_bytes(), None), unmodelled],
        0,
    );
    assert!(loaded.is_ok());
    let broken = (Bytes::from_static(&[0, 1, 0, 9]), None);
    let loaded = GroupCoordinator::load_from_bytes(
        GroupConfig::default(),
        Box::new(CountingUuids::default()),
        vec![broken],
        0,
    );
    assert_eq!(loaded.err(), Some(RecordError::Truncated));
}

#[test]
fn version_0_join_uses_the_session_timeout_as_rebalance_timeout() {
    let mut h = Harness::new();
    let join = h.join(0, "", None, &["t"]);
    let group = h.coordinator.group("g").unwrap();
    assert_eq!(group.rebalance_timeout_ms(), SESSION_MS);
    // The initial delay is capped by it: 3 s, then done (no one else came).
    h.advance_to(3_000);
    assert_eq!(h.join_answer(join).generation_id, 1);
    // v0 answers carry "" for the protocol name when there is an error.
    let bad = h.join(0, "nope", None, &["t"]);
    let answer = h.join_answer(bad);
    assert_eq!(answer.protocol_name.as_ref().map(|p| p.as_str()), Some(""));
}

#[test]
fn hostile_numbers_do_not_panic() {
    for rebalance_timeout_ms in [i32::MIN, -1, 0, i32::MAX] {
        let mut h = Harness::new();
        let ctx = h.ctx(3, "client");
        let mut request = JoinGroupRequest::default();
        request.group_id = s("g").into();
        request.session_timeout_ms = SESSION_MS;
        request.rebalance_timeout_ms = rebalance_timeout_ms;
        request.protocol_type = s("consumer");
        let mut protocol = JoinGroupRequestProtocol::default();
        protocol.name = s("range");
        request.protocols = vec![protocol];
        let effects = h.coordinator.handle_join_group(&ctx, &request, 0);
        h.absorb(effects);
        h.advance_to(3_000);
        h.advance_to(1_000_000);
    }
    // An explicit retention as long as it gets.
    let mut h = Harness::new();
    let ctx = h.ctx(2, "client");
    let mut request = OffsetCommitRequest::default();
    request.group_id = s("simple").into();
    request.retention_time_ms = i64::MAX;
    let mut topic = OffsetCommitRequestTopic::default();
    topic.name = s("t").into();
    topic
        .partitions
        .push(OffsetCommitRequestPartition::default());
    request.topics.push(topic);
    let effects = h.coordinator.handle_offset_commit(&ctx, &request, 0);
    h.absorb(effects);
    h.advance_to(700_000);
    assert!(h.coordinator.committed_offset("simple", "t", 0).is_some());
    // A stored group at the last generation, with odd timestamps.
    let record = CoordinatorRecord::GroupMetadata {
        key: GroupMetadataKey { group: "g".into() },
        value: Some(GroupMetadataValue {
            protocol_type: "consumer".into(),
            generation: i32::MAX,
            protocol: Some("range".into()),
            leader: Some("m".into()),
            current_state_timestamp_ms: i64::MIN,
            members: vec![MemberMetadata {
                member_id: "m".into(),
                group_instance_id: None,
                client_id: "c".into(),
                client_host: "/h".into(),
                rebalance_timeout_ms: -1,
                session_timeout_ms: 10_000,
                subscription: Bytes::from_static(b"garbage"),
                assignment: Bytes::new(),
            }],
        }),
    };
    let mut coordinator = GroupCoordinator::load(
        GroupConfig::default(),
        Box::new(CountingUuids::default()),
        vec![record],
        0,
    );
    coordinator.tick(10_000);
    assert_eq!(coordinator.group("g").unwrap().state(), GroupState::Empty);
    assert_eq!(coordinator.group("g").unwrap().generation().0, i32::MIN);
    coordinator.tick(i64::MAX / 2);
}

/// The error of a single-group OffsetFetch (v8) for `group`.
fn fetch_error(coordinator: &GroupCoordinator, group: &str) -> Option<ResponseError> {
    let mut request = OffsetFetchRequest::default();
    let mut g = OffsetFetchRequestGroup::default();
    g.group_id = s(group).into();
    g.topics = None;
    request.groups.push(g);
    let response = coordinator.handle_offset_fetch(8, &request);
    err(response.groups[0].error_code)
}

#[test]
fn commit_is_answered_and_visible_only_after_its_append() {
    let mut h = Harness::new();
    h.hold_appends = true;
    let commit = h.send_commit(8, "simple", "", -1, &[("t", 0, 10), ("t", 1, 11)]);
    assert!(!h.answered(commit), "answered before the append completed");
    assert!(
        h.fetch("simple", None).is_empty(),
        "visible before the append completed"
    );
    let (append, _, _) = h.held[0].clone();
    assert_eq!(h.finish_append(append, Ok(())), vec![commit]);
    assert_eq!(h.commit_errors(commit), vec![None, None]);
    assert_eq!(
        h.fetch("simple", None),
        vec![("t".to_owned(), 0, 10), ("t".to_owned(), 1, 11)]
    );
}

#[test]
fn failed_commit_appends_answer_kafkas_errors_and_change_nothing() {
    let mut h = Harness::new();
    assert_eq!(h.commit(8, "simple", "", -1, &[("t", 0, 5)]), vec![None]);
    h.hold_appends = true;
    for (append_error, answer) in [
        (
            ResponseError::NotLeaderOrFollower,
            ResponseError::NotCoordinator,
        ),
        (
            ResponseError::NotEnoughReplicas,
            ResponseError::CoordinatorNotAvailable,
        ),
        (
            ResponseError::MessageTooLarge,
            ResponseError::InvalidCommitOffsetSize,
        ),
        (
            ResponseError::RequestTimedOut,
            ResponseError::RequestTimedOut,
        ),
    ] {
        let commit = h.send_commit(8, "simple", "", -1, &[("t", 0, 99), ("t", 1, 7)]);
        let (append, _, _) = h.held[0].clone();
        assert_eq!(h.finish_append(append, Err(append_error)), vec![commit]);
        assert_eq!(h.commit_errors(commit), vec![Some(answer), Some(answer)]);
        assert_eq!(
            h.fetch("simple", Some(&[("t", &[0, 1])])),
            vec![("t".to_owned(), 0, 5), ("t".to_owned(), 1, -1)],
            "a failed commit changed what OffsetFetch returns"
        );
    }
    // Nothing of the failed commits reached the log: a reload agrees.
    assert_eq!(
        h.reload()
            .committed_offset("simple", "t", 0)
            .map(|o| o.committed_offset),
        Some(5)
    );
}

#[test]
fn commits_completing_out_of_order_keep_the_later_offset() {
    let mut h = Harness::new();
    h.hold_appends = true;
    let first = h.send_commit(8, "simple", "", -1, &[("t", 0, 1)]);
    let second = h.send_commit(8, "simple", "", -1, &[("t", 0, 2)]);
    let (first_append, _, _) = h.held[0].clone();
    let (second_append, _, _) = h.held[1].clone();
    h.finish_append(second_append, Ok(()));
    h.finish_append(first_append, Ok(()));
    assert!(h.answered(first) && h.answered(second));
    assert_eq!(h.fetch("simple", None), vec![("t".to_owned(), 0, 2)]);
}

#[test]
fn failed_assignment_write_sends_the_members_back_to_join() {
    let mut h = Harness::new();
    let (a, join_a) = h.join_v5(&["t"]);
    h.advance_to(3_000);
    assert_eq!(h.join_answer(join_a).generation_id, 1);
    h.hold_appends = true;
    let sync = h.sync(&a, None, 1, &[(&a, b"A")]);
    assert!(
        !h.answered(sync),
        "assignment handed out before it was written"
    );
    assert_eq!(h.state(), GroupState::CompletingRebalance);
    let (append, _, _) = h.held[0].clone();
    h.finish_append(append, Err(ResponseError::NotLeaderOrFollower));
    assert_eq!(
        h.sync_answer(sync),
        (Some(ResponseError::NotCoordinator), Bytes::new())
    );
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert!(h
        .coordinator
        .group("g")
        .unwrap()
        .member(&MemberId(a.clone()))
        .unwrap()
        .assignment
        .is_empty());
}

#[test]
fn partitions_not_served_or_loading_are_refused() {
    let config = GroupConfig {
        offsets_topic_partitions: 3,
        ..GroupConfig::default()
    };
    let mut coordinator =
        GroupCoordinator::without_partitions(config, Box::new(CountingUuids::default()), 0);
    let partition = coordinator.partition_for("g");
    assert_eq!(
        coordinator.check_coordinator("g"),
        Err(ResponseError::NotCoordinator)
    );
    assert_eq!(
        fetch_error(&coordinator, "g"),
        Some(ResponseError::NotCoordinator)
    );

    coordinator.begin_load(partition);
    assert_eq!(
        coordinator.check_coordinator("g"),
        Err(ResponseError::CoordinatorLoadInProgress)
    );
    assert!(coordinator.is_loading());
    let list = coordinator.handle_list_groups(&ListGroupsRequest::default());
    assert_eq!(
        err(list.error_code),
        Some(ResponseError::CoordinatorLoadInProgress)
    );
    // A SyncGroup meanwhile is sent back to JoinGroup, as Kafka does.
    let ctx = RequestContext {
        request_id: RequestId(1),
        api_version: 5,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
    };
    let mut sync = SyncGroupRequest::default();
    sync.group_id = s("g").into();
    sync.member_id = s("m");
    sync.protocol_type = Some(s("consumer"));
    sync.protocol_name = Some(s("range"));
    match &coordinator.handle_sync_group(&ctx, &sync, 0)[..] {
        [Effect::Respond {
            response: Response::SyncGroup(r),
            ..
        }] => {
            assert_eq!(err(r.error_code), Some(ResponseError::RebalanceInProgress))
        }
        other => panic!("{other:?}"),
    }

    // The partition's log held a commit of "g" and one of a group of another
    // partition, which is left out.
    let other = (0..100)
        .map(|n| format!("other-{n}"))
        .find(|name| coordinator.partition_for(name) != partition)
        .unwrap();
    let commit = |group: &str, offset: i64| CoordinatorRecord::OffsetCommit {
        key: OffsetCommitKey {
            group: group.to_owned(),
            topic: "t".to_owned(),
            partition: 0,
        },
        value: Some(OffsetCommitValue {
            offset,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp_ms: 0,
            expire_timestamp_ms: -1,
        }),
    };
    let effects = coordinator.complete_load(partition, vec![commit("g", 42), commit(&other, 7)], 0);
    assert!(effects.is_empty());
    assert_eq!(coordinator.check_coordinator("g"), Ok(()));
    assert_eq!(
        coordinator
            .committed_offset("g", "t", 0)
            .map(|o| o.committed_offset),
        Some(42)
    );
    assert!(coordinator.group(&other).is_none());
    assert_eq!(
        coordinator.check_coordinator(&other),
        Err(ResponseError::NotCoordinator)
    );
    assert_eq!(
        coordinator.owned_partitions().collect::<Vec<_>>(),
        vec![partition]
    );
}

#[test]
fn unloading_a_partition_answers_its_parked_requests_and_forgets_its_groups() {
    let mut h = Harness::new();
    let (_, parked_join) = h.join_v5(&["t"]);
    assert!(!h.answered(parked_join));
    // A commit of another group on the same partition, waiting for its append.
    h.hold_appends = true;
    let same_partition = (0..1000)
        .map(|n| format!("same-{n}"))
        .find(|name| h.coordinator.partition_for(name) == h.coordinator.partition_for("g"))
        .unwrap();
    let pending_commit = h.send_commit(8, &same_partition, "", -1, &[("t", 0, 3)]);
    h.hold_appends = false;
    // And a group elsewhere, which stays.
    let elsewhere = (0..1000)
        .map(|n| format!("else-{n}"))
        .find(|name| h.coordinator.partition_for(name) != h.coordinator.partition_for("g"))
        .unwrap();
    assert_eq!(h.commit(8, &elsewhere, "", -1, &[("t", 0, 8)]), vec![None]);

    let partition = h.coordinator.partition_for("g");
    let effects = h.coordinator.unload_partition(partition);
    let answered = h.absorb(effects);
    assert!(answered.contains(&parked_join) && answered.contains(&pending_commit));
    assert_eq!(
        err(h.join_answer(parked_join).error_code),
        Some(ResponseError::NotCoordinator)
    );
    assert_eq!(
        h.commit_errors(pending_commit),
        vec![Some(ResponseError::NotCoordinator)]
    );
    assert!(h.coordinator.group("g").is_none());
    assert_eq!(
        fetch_error(&h.coordinator, "g"),
        Some(ResponseError::NotCoordinator)
    );
    assert_eq!(h.fetch(&elsewhere, None), vec![("t".to_owned(), 0, 8)]);
    // The late completion of the abandoned append does nothing.
    let (append, _, _) = h.held[0].clone();
    assert!(h.finish_append(append, Ok(())).is_empty());
    // No timer of the unloaded group fires later.
    assert!(h.advance_to(100_000).is_empty());

    // Leadership comes back: the partition's log is read again.
    h.coordinator.begin_load(partition);
    let log = h.log.clone();
    let partitions = h.coordinator.config().offsets_topic_partitions;
    let effects = h
        .coordinator
        .complete_load_from_bytes(
            partition,
            log.into_iter().filter(|(key, value)| {
                CoordinatorRecord::decode(key, value.as_deref())
                    .ok()
                    .flatten()
                    .is_some_and(|r| partition_for_group(r.group(), partitions) == partition.0)
            }),
            h.now_ms,
        )
        .unwrap();
    assert!(effects.is_empty());
    assert_eq!(h.coordinator.check_coordinator("g"), Ok(()));
    // The abandoned commit's records did reach the log; Kafka serves them too
    // once it loads the partition again.
    assert_eq!(h.fetch(&same_partition, None), vec![("t".to_owned(), 0, 3)]);
}
