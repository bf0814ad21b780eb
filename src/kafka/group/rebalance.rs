//! The rebalance machinery shared by the membership requests and the timers:
//! starting a rebalance, ending the join phase (new generation, answers to every
//! parked JoinGroup), handing out the leader's assignment, and dropping members
//! whose session or sync deadline passed. Follows Kafka's GroupMetadataManager
//! (`prepareRebalance`, `completeClassicGroupJoin`, `expireClassicGroupMemberHeartbeat`,
//! `expirePendingSync`, `propagateAssignment`).

use bytes::Bytes;
use kafka_protocol::ResponseError;

use super::classic::{ClassicGroup, GroupState, Member};
use super::coordinator::{GroupCoordinator, TimerAction, TimerKey};
use super::ids::{GenerationId, GroupId, MemberId};
use super::responses::{sync_response, JoinAnswer};

impl GroupCoordinator {
    pub(super) fn group_mut(&mut self, group_id: &GroupId) -> &mut ClassicGroup {
        self.groups
            .get_mut(group_id)
            .expect("rebalance step on a group that does not exist")
    }

    /// Starts a rebalance if the state allows one, else tries to end the join phase.
    pub(super) fn maybe_prepare_rebalance_or_complete_join(
        &mut self,
        group_id: &GroupId,
        now_ms: i64,
    ) {
        if self.groups[group_id].can_rebalance() {
            self.prepare_rebalance(group_id, now_ms);
        } else {
            self.maybe_complete_join_phase(group_id, now_ms);
        }
    }

    /// Moves the group to PreparingRebalance. Members parked in SyncGroup are told
    /// to rejoin. A group that was Empty waits `group.initial.rebalance.delay.ms`
    /// for more members before completing, so a fleet of consumers starting
    /// together gets one rebalance instead of one per member.
    pub(super) fn prepare_rebalance(&mut self, group_id: &GroupId, now_ms: i64) {
        if self.groups[group_id].is_in(GroupState::CompletingRebalance) {
            self.reset_and_propagate_assignment_with_error(
                group_id,
                ResponseError::RebalanceInProgress,
                now_ms,
            );
        }
        self.group_mut(group_id).clear_pending_sync_members();
        self.timers.cancel(&TimerKey::Sync(group_id.clone()));

        let delay_ms = self.config.initial_rebalance_delay_ms;
        let group = self.group_mut(group_id);
        let is_initial = group.is_in(GroupState::Empty);
        tracing::info!(
            group = %group_id,
            state = group.state().name(),
            generation = group.generation().0,
            members = group.len(),
            "preparing to rebalance"
        );
        // Rebalance timeouts come from clients: no overflow on odd values.
        let remaining_ms = group.rebalance_timeout_ms().saturating_sub(delay_ms).max(0);
        group.transition_to(GroupState::PreparingRebalance, now_ms);
        if is_initial {
            self.timers.schedule(
                TimerKey::Join(group_id.clone()),
                now_ms + i64::from(delay_ms),
                TimerAction::InitialJoin {
                    delay_ms,
                    remaining_ms,
                },
            );
        } else if self.groups[group_id].has_all_members_joined() {
            self.complete_join(group_id, now_ms);
        } else {
            let timeout_ms = self.groups[group_id].rebalance_timeout_ms();
            self.schedule_join_deadline(group_id, now_ms, timeout_ms);
        }
    }

    fn schedule_join_deadline(&mut self, group_id: &GroupId, now_ms: i64, timeout_ms: i32) {
        self.timers.schedule(
            TimerKey::Join(group_id.clone()),
            now_ms + i64::from(timeout_ms),
            TimerAction::CompleteJoin,
        );
    }

    /// Ends the join phase early when every member has rejoined, except during
    /// the initial delayed rebalance, which always waits out its delay.
    pub(super) fn maybe_complete_join_phase(&mut self, group_id: &GroupId, now_ms: i64) {
        let group = &self.groups[group_id];
        if group.is_in(GroupState::PreparingRebalance)
            && group.previous_state() != GroupState::Empty
            && group.has_all_members_joined()
        {
            self.complete_join(group_id, now_ms);
        }
    }

    /// The initial delay ran out: extend it if members kept arriving (up to the
    /// rebalance timeout), else end the join phase.
    pub(super) fn initial_join_expired(
        &mut self,
        group_id: &GroupId,
        delay_ms: i32,
        remaining_ms: i32,
        now_ms: i64,
    ) {
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        if !group.is_in(GroupState::PreparingRebalance) {
            return;
        }
        if group.new_member_added && remaining_ms != 0 {
            group.new_member_added = false;
            let next_delay_ms = self.config.initial_rebalance_delay_ms.min(remaining_ms);
            let next_remaining_ms = remaining_ms.saturating_sub(delay_ms).max(0);
            self.timers.schedule(
                TimerKey::Join(group_id.clone()),
                now_ms + i64::from(next_delay_ms),
                TimerAction::InitialJoin {
                    delay_ms: next_delay_ms,
                    remaining_ms: next_remaining_ms,
                },
            );
        } else {
            self.complete_join(group_id, now_ms);
        }
    }

    /// Ends the join phase: dynamic members that did not rejoin are dropped, the
    /// generation advances, and every parked JoinGroup is answered (the leader's
    /// answer lists all members with their subscriptions).
    pub(super) fn complete_join(&mut self, group_id: &GroupId, now_ms: i64) {
        self.timers.cancel(&TimerKey::Join(group_id.clone()));
        for member_id in self.groups[group_id].not_yet_rejoined_dynamic_members() {
            self.drop_member(group_id, &member_id);
        }

        let group = self.group_mut(group_id);
        if !group.maybe_elect_new_joined_leader() && !group.is_empty() {
            // Only static members remain and none rejoined: wait another round
            // for them (or for their sessions to expire).
            let timeout_ms = group.rebalance_timeout_ms();
            self.schedule_join_deadline(group_id, now_ms, timeout_ms);
            return;
        }

        group.init_next_generation(now_ms);
        tracing::info!(
            group = %group_id,
            generation = group.generation().0,
            members = group.len(),
            protocol = group.protocol_name().unwrap_or(""),
            "join phase complete"
        );
        if group.is_in(GroupState::Empty) {
            self.persist_group(group_id);
            return;
        }

        let group = &self.groups[group_id];
        let generation = group.generation().0;
        let leader = group.leader().map(|l| l.0.clone()).unwrap_or_default();
        let protocol_type = group.protocol_type().map(str::to_owned);
        let protocol_name = group.protocol_name().map(str::to_owned);
        let roster = leader_roster(group);
        let rebalance_timeout_ms = group.rebalance_timeout_ms();

        for member_id in group.member_ids() {
            let member = self
                .group_mut(group_id)
                .member_mut(&member_id)
                .expect("member listed a moment ago");
            let parked = member.awaiting_join.take();
            member.is_new = false;
            let session_timeout_ms = member.session_timeout_ms;
            if let Some(pending) = parked {
                let is_leader = member_id.0 == leader;
                let answer = JoinAnswer {
                    generation,
                    protocol_type: protocol_type.as_deref(),
                    protocol_name: protocol_name.as_deref(),
                    leader: &leader,
                    member_id: &member_id.0,
                    members: if is_leader {
                        roster.clone()
                    } else {
                        Vec::new()
                    },
                    ..JoinAnswer::default()
                };
                self.respond(pending, answer.build(pending.api_version));
            }
            self.schedule_heartbeat(group_id, &member_id, now_ms, session_timeout_ms);
            self.group_mut(group_id).add_pending_sync_member(member_id);
        }
        self.timers.schedule(
            TimerKey::Sync(group_id.clone()),
            now_ms + i64::from(rebalance_timeout_ms),
            TimerAction::ExpireSync {
                generation: GenerationId(generation),
            },
        );
    }

    /// A session (or a pending member id, or a new member's parked join) ran out.
    pub(super) fn expire_heartbeat(
        &mut self,
        group_id: &GroupId,
        member_id: &MemberId,
        now_ms: i64,
    ) {
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        if group.is_pending_member(member_id) {
            group.remove(member_id);
            if group.is_in(GroupState::PreparingRebalance) && group.has_all_members_joined() {
                self.complete_join(group_id, now_ms);
            }
            return;
        }
        let expired = group
            .member(member_id)
            .is_some_and(|m| !m.has_satisfied_heartbeat());
        if expired {
            tracing::info!(group = %group_id, member = %member_id, "session expired, removing member");
            self.remove_member_and_update_group(group_id, member_id, now_ms);
        }
    }

    /// Removes a member that failed or left, then rebalances the rest.
    pub(super) fn remove_member_and_update_group(
        &mut self,
        group_id: &GroupId,
        member_id: &MemberId,
        now_ms: i64,
    ) {
        self.drop_member(group_id, member_id);
        match self.groups[group_id].state() {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.maybe_prepare_rebalance_or_complete_join(group_id, now_ms)
            }
            GroupState::PreparingRebalance if self.groups[group_id].has_all_members_joined() => {
                self.complete_join(group_id, now_ms)
            }
            _ => {}
        }
    }

    /// Takes a member out of the group and its session timer out of the queue.
    /// A parked JoinGroup is answered UNKNOWN_MEMBER_ID so a still-living client
    /// rejoins, as Kafka does. A parked SyncGroup gets the same answer: Kafka
    /// leaves it to the client's request timeout, keel does not hold requests
    /// nobody will answer.
    pub(super) fn drop_member(
        &mut self,
        group_id: &GroupId,
        member_id: &MemberId,
    ) -> Option<Member> {
        self.cancel_heartbeat(group_id, member_id);
        let member = self.group_mut(group_id).remove(member_id)?;
        if let Some(pending) = member.awaiting_join {
            let answer = JoinAnswer::error(ResponseError::UnknownMemberId, MemberId::UNKNOWN);
            self.respond(pending, answer.build(pending.api_version));
        }
        if let Some(pending) = member.awaiting_sync {
            let answer =
                super::responses::sync_error(pending.api_version, ResponseError::UnknownMemberId);
            self.respond(pending, answer);
        }
        Some(member)
    }

    /// Members that got their JoinGroup answer but never sent SyncGroup in time
    /// are removed and the group rebalances without them.
    pub(super) fn expire_sync(
        &mut self,
        group_id: &GroupId,
        generation: GenerationId,
        now_ms: i64,
    ) {
        let Some(group) = self.groups.get(group_id) else {
            return;
        };
        if group.generation() != generation
            || !matches!(
                group.state(),
                GroupState::CompletingRebalance | GroupState::Stable
            )
            || group.has_received_sync_from_all()
        {
            return;
        }
        for member_id in group.pending_sync_members() {
            tracing::info!(group = %group_id, member = %member_id, "no SyncGroup in time, removing member");
            self.drop_member(group_id, &member_id);
        }
        self.prepare_rebalance(group_id, now_ms);
    }

    /// Answers every parked SyncGroup with its member's assignment (or `error`)
    /// and restarts those members' sessions.
    pub(super) fn propagate_assignment(
        &mut self,
        group_id: &GroupId,
        error: Option<ResponseError>,
        now_ms: i64,
    ) {
        let group = &self.groups[group_id];
        let (protocol_type, protocol_name) = if error.is_none() {
            (
                group.protocol_type().map(str::to_owned),
                group.protocol_name().map(str::to_owned),
            )
        } else {
            (None, None)
        };
        for member_id in group.member_ids() {
            let member = self
                .group_mut(group_id)
                .member_mut(&member_id)
                .expect("member listed a moment ago");
            let Some(pending) = member.awaiting_sync.take() else {
                continue;
            };
            let assignment = member.assignment.clone();
            let session_timeout_ms = member.session_timeout_ms;
            let answer = sync_response(
                pending.api_version,
                error,
                protocol_type.as_deref(),
                protocol_name.as_deref(),
                assignment,
            );
            self.respond(pending, answer);
            // A session that ran out while the member waited on us was spared;
            // start it again now that the member is back in its own hands.
            self.schedule_heartbeat(group_id, &member_id, now_ms, session_timeout_ms);
        }
    }

    pub(super) fn reset_and_propagate_assignment_with_error(
        &mut self,
        group_id: &GroupId,
        error: ResponseError,
        now_ms: i64,
    ) {
        let group = self.group_mut(group_id);
        assert!(group.is_in(GroupState::CompletingRebalance));
        for member_id in group.member_ids() {
            if let Some(member) = group.member_mut(&member_id) {
                member.assignment = Bytes::new();
            }
        }
        self.propagate_assignment(group_id, Some(error), now_ms);
    }
}

/// What the leader's JoinGroup answer lists: every member and its subscription
/// for the chosen protocol.
pub(super) fn leader_roster(group: &ClassicGroup) -> Vec<(String, Option<String>, Bytes)> {
    let protocol = group.protocol_name().unwrap_or_default();
    group
        .members()
        .map(|m| {
            (
                m.id.0.clone(),
                m.group_instance_id.as_ref().map(|i| i.0.clone()),
                m.metadata(protocol),
            )
        })
        .collect()
}
