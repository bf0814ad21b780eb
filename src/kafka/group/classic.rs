//! One classic consumer group: its members, state, generation and leader, with
//! the bookkeeping rules of Kafka's `ClassicGroup` (protocol vote, leader
//! re-election, static member mapping). Pure data: no timers, no responses; the
//! coordinator decides when to call what.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use kafka_protocol::ResponseError;

use super::ids::{GenerationId, GroupId, GroupInstanceId, MemberId, RequestId};
use super::records::{GroupMetadataValue, MemberMetadata};
use super::subscription::{subscribed_topics, CONSUMER_PROTOCOL_TYPE};

/// The classic group states, named as Kafka prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// The name Kafka shows in ListGroups / DescribeGroups.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }

    /// Kafka's transition table: the states each state may be entered from.
    fn may_follow(self, previous: GroupState) -> bool {
        use GroupState::*;
        match self {
            Empty => previous == PreparingRebalance,
            PreparingRebalance => matches!(previous, Stable | CompletingRebalance | Empty),
            CompletingRebalance => previous == PreparingRebalance,
            Stable => previous == CompletingRebalance,
            Dead => true,
        }
    }
}

/// A request the coordinator holds open: its answer comes later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub request_id: RequestId,
    pub api_version: i16,
}

/// One `(name, metadata)` pair from a JoinGroup, in the member's preference order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocol {
    pub name: String,
    pub metadata: Bytes,
}

/// A member of a classic group.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: MemberId,
    pub group_instance_id: Option<GroupInstanceId>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<Protocol>,
    pub assignment: Bytes,
    /// A JoinGroup parked until the join phase completes.
    pub awaiting_join: Option<Pending>,
    /// A SyncGroup parked until the leader's assignment arrives.
    pub awaiting_sync: Option<Pending>,
    /// Joined in the current rebalance; such members may expire while parked.
    pub is_new: bool,
}

impl Member {
    pub fn is_static(&self) -> bool {
        self.group_instance_id.is_some()
    }

    /// The subscription for `protocol`, empty when the member does not speak it.
    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|p| p.name == protocol)
            .map(|p| p.metadata.clone())
            .unwrap_or_default()
    }

    /// Whether a heartbeat expiry should spare this member: members parked in a
    /// JoinGroup or SyncGroup are waiting on the coordinator, not failing,
    /// unless they are new (they may have given up on the parked request).
    pub fn has_satisfied_heartbeat(&self) -> bool {
        !self.is_new && (self.awaiting_join.is_some() || self.awaiting_sync.is_some())
    }

    /// This member's first choice among `candidates`.
    fn vote<'a>(&'a self, candidates: &BTreeSet<&str>) -> Option<&'a str> {
        self.protocols
            .iter()
            .map(|p| p.name.as_str())
            .find(|name| candidates.contains(name))
    }
}

/// A classic group and its members.
#[derive(Debug, Clone)]
pub struct ClassicGroup {
    pub id: GroupId,
    state: GroupState,
    previous_state: GroupState,
    state_timestamp_ms: Option<i64>,
    protocol_type: Option<String>,
    protocol_name: Option<String>,
    generation: GenerationId,
    leader: Option<MemberId>,
    members: BTreeMap<MemberId, Member>,
    static_members: BTreeMap<GroupInstanceId, MemberId>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, not yet joined.
    pending_join_members: BTreeSet<MemberId>,
    /// Members that received their JoinGroup answer but have not synced yet.
    pending_sync_members: BTreeSet<MemberId>,
    /// A member joined during the initial delayed rebalance, which extends the delay.
    pub new_member_added: bool,
    /// Topics of a `consumer` group's members, when their subscriptions parse.
    subscribed_topics: Option<BTreeSet<String>>,
}

impl ClassicGroup {
    pub fn new(id: GroupId, now_ms: i64) -> Self {
        Self {
            id,
            state: GroupState::Empty,
            previous_state: GroupState::Dead,
            state_timestamp_ms: Some(now_ms),
            protocol_type: None,
            protocol_name: None,
            generation: GenerationId(0),
            leader: None,
            members: BTreeMap::new(),
            static_members: BTreeMap::new(),
            pending_join_members: BTreeSet::new(),
            pending_sync_members: BTreeSet::new(),
            new_member_added: false,
            subscribed_topics: None,
        }
    }

    pub fn state(&self) -> GroupState {
        self.state
    }

    pub fn previous_state(&self) -> GroupState {
        self.previous_state
    }

    pub fn generation(&self) -> GenerationId {
        self.generation
    }

    pub fn protocol_type(&self) -> Option<&str> {
        self.protocol_type.as_deref()
    }

    pub fn protocol_name(&self) -> Option<&str> {
        self.protocol_name.as_deref()
    }

    pub fn leader(&self) -> Option<&MemberId> {
        self.leader.as_ref()
    }

    pub fn state_timestamp_ms(&self) -> Option<i64> {
        self.state_timestamp_ms
    }

    pub fn is_leader(&self, member_id: &MemberId) -> bool {
        self.leader.as_ref() == Some(member_id)
    }

    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    pub fn member_ids(&self) -> Vec<MemberId> {
        self.members.keys().cloned().collect()
    }

    pub fn member(&self, member_id: &MemberId) -> Option<&Member> {
        self.members.get(member_id)
    }

    pub fn member_mut(&mut self, member_id: &MemberId) -> Option<&mut Member> {
        self.members.get_mut(member_id)
    }

    pub fn has_member(&self, member_id: &MemberId) -> bool {
        self.members.contains_key(member_id)
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn is_in(&self, state: GroupState) -> bool {
        self.state == state
    }

    pub fn static_member_id(&self, instance: &GroupInstanceId) -> Option<&MemberId> {
        self.static_members.get(instance)
    }

    pub fn transition_to(&mut self, state: GroupState, now_ms: i64) {
        assert!(
            state.may_follow(self.state),
            "group {} cannot go from {:?} to {:?}",
            self.id,
            self.state,
            state
        );
        self.previous_state = self.state;
        self.state = state;
        self.state_timestamp_ms = Some(now_ms);
    }

    /// Whether a rebalance may start from the current state.
    pub fn can_rebalance(&self) -> bool {
        GroupState::PreparingRebalance.may_follow(self.state)
    }

    /// Adds a member; the first one fixes the group's protocol type and leads.
    pub fn add(&mut self, member: Member) {
        if let Some(instance) = &member.group_instance_id {
            let previous = self
                .static_members
                .insert(instance.clone(), member.id.clone());
            assert!(previous.is_none(), "static member {instance:?} added twice");
        }
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        assert_eq!(
            self.protocol_type.as_deref(),
            Some(member.protocol_type.as_str()),
            "member protocol type differs from the group's"
        );
        if self.leader.is_none() {
            self.leader = Some(member.id.clone());
        }
        self.pending_join_members.remove(&member.id);
        self.members.insert(member.id.clone(), member);
    }

    /// Removes a member (or a pending member id); a departing leader hands over
    /// to the first remaining member.
    pub fn remove(&mut self, member_id: &MemberId) -> Option<Member> {
        let removed = self.members.remove(member_id);
        if let Some(member) = &removed {
            if let Some(instance) = &member.group_instance_id {
                self.static_members.remove(instance);
            }
        }
        if self.is_leader(member_id) {
            self.leader = self.members.keys().next().cloned();
        }
        self.pending_join_members.remove(member_id);
        self.pending_sync_members.remove(member_id);
        removed
    }

    /// Gives a static member's slot to a new member id, keeping its assignment
    /// and leadership. Returns the old member so its parked requests can be fenced.
    pub fn replace_static_member(
        &mut self,
        instance: &GroupInstanceId,
        old_id: &MemberId,
        new_id: MemberId,
    ) -> Member {
        let old = self
            .members
            .remove(old_id)
            .expect("replacing a member that does not exist");
        let mut replacement = old.clone();
        replacement.id = new_id.clone();
        replacement.awaiting_join = None;
        replacement.awaiting_sync = None;
        self.members.insert(new_id.clone(), replacement);
        if self.is_leader(old_id) {
            self.leader = Some(new_id.clone());
        }
        self.static_members.insert(instance.clone(), new_id);
        old
    }

    pub fn is_pending_member(&self, member_id: &MemberId) -> bool {
        self.pending_join_members.contains(member_id)
    }

    pub fn add_pending_member(&mut self, member_id: MemberId) {
        assert!(
            !self.has_member(&member_id),
            "pending member already joined"
        );
        self.pending_join_members.insert(member_id);
    }

    pub fn add_pending_sync_member(&mut self, member_id: MemberId) {
        self.pending_sync_members.insert(member_id);
    }

    pub fn remove_pending_sync_member(&mut self, member_id: &MemberId) {
        self.pending_sync_members.remove(member_id);
    }

    pub fn pending_sync_members(&self) -> Vec<MemberId> {
        self.pending_sync_members.iter().cloned().collect()
    }

    pub fn clear_pending_sync_members(&mut self) {
        self.pending_sync_members.clear();
    }

    pub fn has_received_sync_from_all(&self) -> bool {
        self.pending_sync_members.is_empty()
    }

    pub fn awaiting_join_count(&self) -> usize {
        self.members
            .values()
            .filter(|m| m.awaiting_join.is_some())
            .count()
    }

    /// Every member is parked in a JoinGroup and no MEMBER_ID_REQUIRED join is outstanding.
    pub fn has_all_members_joined(&self) -> bool {
        self.members.len() == self.awaiting_join_count() && self.pending_join_members.is_empty()
    }

    pub fn not_yet_rejoined_dynamic_members(&self) -> Vec<MemberId> {
        self.members
            .values()
            .filter(|m| m.awaiting_join.is_none() && !m.is_static())
            .map(|m| m.id.clone())
            .collect()
    }

    /// Keeps the leader if it rejoined, otherwise promotes a member that did.
    /// False when no member rejoined at all.
    pub fn maybe_elect_new_joined_leader(&mut self) -> bool {
        let Some(leader) = self.leader.clone() else {
            return false;
        };
        let leader_joined = self
            .members
            .get(&leader)
            .is_some_and(|m| m.awaiting_join.is_some());
        if leader_joined {
            return true;
        }
        match self.members.values().find(|m| m.awaiting_join.is_some()) {
            Some(member) => {
                self.leader = Some(member.id.clone());
                true
            }
            None => false,
        }
    }

    /// The longest rebalance timeout among members: how long a join phase may take.
    pub fn rebalance_timeout_ms(&self) -> i32 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    /// Whether a member speaking `protocol_type` with `protocols` fits the group.
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[Protocol]) -> bool {
        if self.is_in(GroupState::Empty) {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols.iter().any(|p| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|q| q.name == p.name))
            })
    }

    /// The protocols every member supports.
    fn candidate_protocols(&self) -> BTreeSet<&str> {
        let Some(first) = self.members.values().next() else {
            return BTreeSet::new();
        };
        first
            .protocols
            .iter()
            .map(|p| p.name.as_str())
            .filter(|name| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|q| q.name == *name))
            })
            .collect()
    }

    /// Kafka's protocol vote: each member votes for its most preferred protocol
    /// that all members support; most votes wins. Ties go to the protocol voted
    /// first (in member id order) so the choice is deterministic.
    pub fn select_protocol(&self) -> String {
        let candidates = self.candidate_protocols();
        let mut votes: Vec<(&str, usize)> = Vec::new();
        for member in self.members.values() {
            let choice = member
                .vote(&candidates)
                .expect("member supports no candidate protocol");
            match votes.iter_mut().find(|(name, _)| *name == choice) {
                Some((_, count)) => *count += 1,
                None => votes.push((choice, 1)),
            }
        }
        let mut best: Option<(&str, usize)> = None;
        for (name, count) in votes {
            if best.is_none_or(|(_, best_count)| count > best_count) {
                best = Some((name, count));
            }
        }
        best.expect("cannot select a protocol for an empty group")
            .0
            .to_owned()
    }

    /// Checks the ids a member sent: a static member must present the member id
    /// currently mapped to its instance id.
    pub fn validate_member(
        &self,
        member_id: &MemberId,
        instance: Option<&GroupInstanceId>,
    ) -> Result<(), ResponseError> {
        if let Some(instance) = instance {
            match self.static_members.get(instance) {
                None => return Err(ResponseError::UnknownMemberId),
                Some(existing) if existing != member_id => {
                    return Err(ResponseError::FencedInstanceId)
                }
                Some(_) => {}
            }
        }
        if !self.has_member(member_id) {
            return Err(ResponseError::UnknownMemberId);
        }
        Ok(())
    }

    /// Ends a join phase: bumps the generation and picks the protocol.
    pub fn init_next_generation(&mut self, now_ms: i64) {
        // Wraps like Java's int would, rather than panic on a hand-made record.
        self.generation = GenerationId(self.generation.0.wrapping_add(1));
        if self.members.is_empty() {
            self.protocol_name = None;
            self.subscribed_topics = self.compute_subscribed_topics();
            self.transition_to(GroupState::Empty, now_ms);
        } else {
            self.protocol_name = Some(self.select_protocol());
            self.subscribed_topics = self.compute_subscribed_topics();
            self.transition_to(GroupState::CompletingRebalance, now_ms);
        }
        self.pending_sync_members.clear();
    }

    pub fn uses_consumer_protocol(&self) -> bool {
        self.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL_TYPE)
    }

    /// The union of members' subscribed topics for `consumer` groups; `None`
    /// when unknown (another protocol type, or a subscription that does not parse).
    pub fn compute_subscribed_topics(&self) -> Option<BTreeSet<String>> {
        if !self.uses_consumer_protocol() {
            return None;
        }
        if self.members.is_empty() {
            return Some(BTreeSet::new());
        }
        let protocol = self.protocol_name.as_deref()?;
        let mut all = BTreeSet::new();
        for member in self.members.values() {
            all.extend(subscribed_topics(&member.metadata(protocol))?);
        }
        Some(all)
    }

    /// Whether the group consumes `topic`; when unknown, a consumer group is
    /// assumed to, so its offsets are never deleted from under it.
    pub fn is_subscribed_to_topic(&self, topic: &str) -> bool {
        match &self.subscribed_topics {
            Some(topics) => topics.contains(topic),
            None => self.uses_consumer_protocol(),
        }
    }

    pub fn subscribed_topics(&self) -> Option<&BTreeSet<String>> {
        self.subscribed_topics.as_ref()
    }

    /// Replaces the subscription set; used after loading from records.
    pub fn refresh_subscribed_topics(&mut self) {
        self.subscribed_topics = self.compute_subscribed_topics();
    }

    /// The `GroupMetadataValue` Kafka writes for this group.
    pub fn to_record(&self) -> GroupMetadataValue {
        let protocol = self.protocol_name.clone();
        GroupMetadataValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation.0,
            protocol: protocol.clone(),
            leader: self.leader.as_ref().map(|l| l.0.clone()),
            current_state_timestamp_ms: self.state_timestamp_ms.unwrap_or(-1),
            members: self
                .members
                .values()
                .map(|m| MemberMetadata {
                    member_id: m.id.0.clone(),
                    group_instance_id: m.group_instance_id.as_ref().map(|i| i.0.clone()),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    session_timeout_ms: m.session_timeout_ms,
                    subscription: protocol
                        .as_deref()
                        .map(|p| m.metadata(p))
                        .unwrap_or_default(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    /// Rebuilds a group from its stored record: Stable with members, else Empty.
    pub fn from_record(id: GroupId, value: &GroupMetadataValue) -> Self {
        let state = if value.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
        let mut group = ClassicGroup {
            state,
            previous_state: GroupState::Dead,
            state_timestamp_ms: (value.current_state_timestamp_ms != -1)
                .then_some(value.current_state_timestamp_ms),
            protocol_type: (!value.protocol_type.is_empty()).then(|| value.protocol_type.clone()),
            protocol_name: value.protocol.clone(),
            generation: GenerationId(value.generation),
            leader: value.leader.clone().map(MemberId),
            ..ClassicGroup::new(id, 0)
        };
        for stored in &value.members {
            let member = Member {
                id: MemberId(stored.member_id.clone()),
                group_instance_id: stored.group_instance_id.clone().map(GroupInstanceId),
                client_id: stored.client_id.clone(),
                client_host: stored.client_host.clone(),
                // Version 0 records have no rebalance timeout; Kafka falls back to the session timeout.
                rebalance_timeout_ms: if stored.rebalance_timeout_ms == -1 {
                    stored.session_timeout_ms
                } else {
                    stored.rebalance_timeout_ms
                },
                session_timeout_ms: stored.session_timeout_ms,
                protocol_type: value.protocol_type.clone(),
                protocols: vec![Protocol {
                    name: value.protocol.clone().unwrap_or_default(),
                    metadata: stored.subscription.clone(),
                }],
                assignment: stored.assignment.clone(),
                awaiting_join: None,
                awaiting_sync: None,
                is_new: false,
            };
            if let Some(instance) = &member.group_instance_id {
                group
                    .static_members
                    .insert(instance.clone(), member.id.clone());
            }
            group.members.insert(member.id.clone(), member);
        }
        if group.leader.is_none() {
            group.leader = group.members.keys().next().cloned();
        }
        group.subscribed_topics = group.compute_subscribed_topics();
        group
    }
}
