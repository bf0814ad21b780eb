//! FastLeaderElection (Apache 3.9's only election algorithm) as a pure state
//! machine: notifications and time come in as arguments, and what Apache would
//! send, decide or ask its connection manager to do comes out as
//! [`ElectionAction`]s. No sockets, clocks or threads.
//!
//! It reproduces branch-3.9 `FastLeaderElection.lookForLeader` and its
//! `WorkerReceiver` thread (the replies sent straight from the receive path),
//! `Vote.equals`, `QuorumPeer.startLeaderElection` / `updateElectionVote` and
//! majority quorums (`QuorumMaj`). The rules for comparing and counting votes are
//! in `vote_set`.
//!
//! # How the Java loop maps onto calls
//! - `lookForLeader` starting: [`FastLeaderElection::start_looking`] (a new round,
//!   `logicalclock + 1`, and a broadcast of my initial vote).
//! - A notification arriving on the election port: [`FastLeaderElection::receive`].
//!   It does what `WorkerReceiver` does at once (replies), then what
//!   `lookForLeader` does when it dequeues the notification.
//! - `recvqueue.poll(timeout)` timing out: [`FastLeaderElection::tick`]. The two
//!   timers are the notification timeout (200 ms doubling to 60 s) and the
//!   finalize wait (200 ms after a quorum agrees). [`FastLeaderElection::next_deadline_ms`]
//!   says when the driver should tick next.
//! - The peer finishing its sync as leader or learner:
//!   [`FastLeaderElection::update_election_vote`].
//!
//! # Self-delivery
//! Apache sends every broadcast to every voter, itself included, and
//! `QuorumCnxManager` loops the copy for itself straight into its own receive
//! queue. Here that copy is an internal step: it is processed right after the input
//! that produced it, before the call returns, exactly as if it had been the next
//! message in the queue. No `Send` to myself is ever emitted, and a notification
//! the network claims came from my own id is dropped (Apache never keeps a
//! connection from its own sid, ZOOKEEPER-2164).
//!
//! # Not modelled
//! - Weighted (hierarchical) quorums: keel's configurations are majorities, where
//!   every voter's weight is 1, so `totalOrderPredicate`'s weight-0 check and
//!   `QuorumHierarchical` are absent.
//! - Reconfiguration: the config bytes given at construction are sent in every
//!   notification; received configs are only compared by version and reported
//!   (Apache would restart its election on a newer one, research notes §1.3).
//! - The two-node oracle (`QuorumOracleMaj`) and the leader's `reportLookingSid`
//!   bookkeeping that only the oracle uses.

mod vote_set;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use crate::zookeeper::quorum::message::{Epoch, Notification, ServerId, ServerState, Vote};
use crate::zookeeper::tree::Zxid;

use vote_set::{beats, has_quorum, leader_confirmed, TrackedVote};

/// `FastLeaderElection.finalizeWait`: how long a server keeps listening for a
/// better vote after a quorum agrees with it.
pub const FINALIZE_WAIT_MS: u64 = 200;
/// `minNotificationInterval` (defaults to `finalizeWait`): the first notification
/// timeout of a round.
pub const MIN_NOTIFICATION_INTERVAL_MS: u64 = FINALIZE_WAIT_MS;
/// `maxNotificationInterval`: the notification timeout doubles up to this.
pub const MAX_NOTIFICATION_INTERVAL_MS: u64 = 60_000;
/// `Notification.CURRENTVERSION`: every notification keel sends carries a config.
pub const NOTIFICATION_VERSION: i32 = 0x2;
/// The most servers (voters plus observers) one configuration may list. Apache has
/// no limit; this bounds every per-peer map and every broadcast.
pub const MAX_ENSEMBLE_MEMBERS: usize = 1024;
/// The vote of a server that is not a voter (`getInitId`, `getInitLastLoggedZxid`,
/// `getPeerEpoch` all return `Long.MIN_VALUE` for observers).
pub const NON_VOTER_VOTE_VALUE: i64 = i64::MIN;
/// A last logged zxid of -1 means "no data loaded"; Apache then ignores LOOKING
/// notifications, and ignores any that propose a zxid of -1.
pub const UNKNOWN_ZXID: Zxid = Zxid(-1);
/// Self-deliveries one input can cause: an input broadcasts at most once, and
/// processing my own notification never broadcasts again.
const MAX_SELF_DELIVERIES_PER_INPUT: usize = 2;

/// Who votes, who observes, and the config bytes this server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionConfig {
    my_id: ServerId,
    voters: BTreeSet<ServerId>,
    observers: BTreeSet<ServerId>,
    /// UTF-8 of Apache's `QuorumVerifier.toString()` for this ensemble, sent as is.
    config_bytes: Arc<[u8]>,
    /// The `version=<hex>` of `config_bytes` (0 when absent, as `QuorumMaj`).
    config_version: i64,
    min_notification_interval_ms: u64,
    max_notification_interval_ms: u64,
}

/// Why an [`ElectionConfig`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElectionConfigError {
    #[error("server {0} is neither a voter nor an observer of the configuration")]
    NotAMember(ServerId),
    #[error("server {0} is listed both as a voter and as an observer")]
    VoterAndObserver(ServerId),
    #[error("{count} servers configured, at most {max} supported")]
    TooManyMembers { count: usize, max: usize },
    #[error("the config bytes are not a QuorumVerifier string with a hex version")]
    UnreadableConfig,
    #[error("notification intervals must satisfy 0 < min ({min_ms} ms) <= max ({max_ms} ms)")]
    BadNotificationIntervals { min_ms: u64, max_ms: u64 },
}

impl ElectionConfig {
    /// A majority-quorum configuration. `config_bytes` is what every notification
    /// carries; its `version=` line is read so received configs can be compared.
    pub fn new(
        my_id: ServerId,
        voters: impl IntoIterator<Item = ServerId>,
        observers: impl IntoIterator<Item = ServerId>,
        config_bytes: Arc<[u8]>,
    ) -> Result<ElectionConfig, ElectionConfigError> {
        let voters: BTreeSet<ServerId> = voters.into_iter().collect();
        let observers: BTreeSet<ServerId> = observers.into_iter().collect();
        let count = voters.len() + observers.len();
        if count > MAX_ENSEMBLE_MEMBERS {
            return Err(ElectionConfigError::TooManyMembers {
                count,
                max: MAX_ENSEMBLE_MEMBERS,
            });
        }
        if let Some(both) = voters.intersection(&observers).next() {
            return Err(ElectionConfigError::VoterAndObserver(*both));
        }
        if !voters.contains(&my_id) && !observers.contains(&my_id) {
            return Err(ElectionConfigError::NotAMember(my_id));
        }
        let config_version =
            config_version(&config_bytes).ok_or(ElectionConfigError::UnreadableConfig)?;
        Ok(ElectionConfig {
            my_id,
            voters,
            observers,
            config_bytes,
            config_version,
            min_notification_interval_ms: MIN_NOTIFICATION_INTERVAL_MS,
            max_notification_interval_ms: MAX_NOTIFICATION_INTERVAL_MS,
        })
    }

    /// Apache's `zookeeper.fastleader.minNotificationInterval` /
    /// `maxNotificationInterval` system properties.
    pub fn with_notification_intervals(
        mut self,
        min_ms: u64,
        max_ms: u64,
    ) -> Result<ElectionConfig, ElectionConfigError> {
        if min_ms == 0 || min_ms > max_ms {
            return Err(ElectionConfigError::BadNotificationIntervals { min_ms, max_ms });
        }
        self.min_notification_interval_ms = min_ms;
        self.max_notification_interval_ms = max_ms;
        Ok(self)
    }

    pub fn my_id(&self) -> ServerId {
        self.my_id
    }

    pub fn voters(&self) -> &BTreeSet<ServerId> {
        &self.voters
    }

    pub fn observers(&self) -> &BTreeSet<ServerId> {
        &self.observers
    }

    /// The bytes every notification carries.
    pub fn config_bytes(&self) -> &Arc<[u8]> {
        &self.config_bytes
    }

    pub fn config_version(&self) -> i64 {
        self.config_version
    }

    pub fn is_voter(&self, server: ServerId) -> bool {
        self.voters.contains(&server)
    }
}

/// The `version=<hex>` line of a `QuorumVerifier.toString()` string: 0 when there
/// is none (`QuorumMaj`'s default), `None` when the bytes are not UTF-8 or the
/// version is not hex.
pub fn config_version(config_bytes: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(config_bytes).ok()?;
    match text
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("version="))
    {
        None => Some(0),
        Some(hex) => i64::from_str_radix(hex.trim(), 16).ok(),
    }
}

/// What the driver has to do after an input, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElectionAction {
    /// Queue this notification for `to` (never myself; see "Self-delivery").
    Send {
        to: ServerId,
        notification: Notification,
    },
    /// The election is over: become LEADING, FOLLOWING or OBSERVING behind
    /// `vote.leader`. Apache's `QuorumPeer` stores this vote as its current vote;
    /// so does this machine, which answers LOOKING peers with it from now on.
    Decided { state: ServerState, vote: Vote },
    /// A notification timeout expired: Apache either re-sends (which this machine
    /// does, as the `Send`s that follow) or calls `QuorumCnxManager.connectAll`
    /// when no send queue has drained. The driver should (re)connect to every
    /// voter it has no live connection to.
    ReconnectAll,
    /// Something worth logging; the election goes on.
    Warning(ElectionWarning),
}

/// A condition Apache would act on but keel only reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElectionWarning {
    /// A peer runs a configuration with another version. Apache restarts its
    /// election when a LOOKING server sees a newer one that differs from its own
    /// (research notes §1.3); with reconfig disabled keel keeps its own.
    ConfigVersionDiffers {
        from: ServerId,
        received_version: i64,
        my_version: i64,
    },
    /// A peer's config bytes are not UTF-8 or have an unreadable version (Apache
    /// logs "Something went wrong while processing config" and goes on).
    ConfigUnreadable { from: ServerId },
}

/// One `lookForLeader` call: the maps and timers that live only as long as it.
#[derive(Debug, Clone)]
struct Round {
    /// My vote when the round started (`getInitId` / `getInitLastLoggedZxid` /
    /// `getPeerEpoch`); a higher-round notification is compared against it.
    initial_vote: Vote,
    /// `recvset`: the latest vote of each voter in my current round.
    received_votes: BTreeMap<ServerId, TrackedVote>,
    /// `outofelection`: the latest FOLLOWING/LEADING vote of each voter, any round.
    out_of_election_votes: BTreeMap<ServerId, TrackedVote>,
    /// `notTimeout`: doubles on each timeout, up to the configured maximum.
    notification_interval_ms: u64,
    /// When the current `recvqueue.poll(notTimeout)` gives up.
    notification_deadline_ms: u64,
    /// Set while a quorum agrees with my proposal and I wait for a better vote.
    finalize_deadline_ms: Option<u64>,
}

#[derive(Debug, Clone)]
enum Phase {
    /// Constructed; `start_looking` not called yet.
    Idle,
    Looking(Round),
    /// Decided (`state` is LEADING, FOLLOWING or OBSERVING).
    Decided,
}

/// One server's FastLeaderElection, across all its rounds since the process
/// started (the `logicalclock` only lives in memory, so a restart is a new value
/// of this type).
#[derive(Debug, Clone)]
pub struct FastLeaderElection {
    config: ElectionConfig,
    /// `QuorumPeer.state`.
    state: ServerState,
    /// `logicalclock`: my election round.
    logical_clock: i64,
    /// `proposedLeader` / `proposedZxid` / `proposedEpoch`, with `election_epoch`
    /// kept equal to `logical_clock` when it is sent.
    proposal: Vote,
    /// `QuorumPeer.currentVote`: unset until the first `start_looking`, then my
    /// initial vote, then each decided vote (refreshed by `update_election_vote`).
    current_vote: Option<Vote>,
    phase: Phase,
    /// Notifications I sent to myself, waiting to be processed before the current
    /// input returns.
    self_deliveries: VecDeque<Notification>,
}

impl FastLeaderElection {
    pub fn new(config: ElectionConfig) -> FastLeaderElection {
        FastLeaderElection {
            config,
            state: ServerState::Looking,
            logical_clock: 0,
            proposal: Vote {
                leader: ServerId(-1),
                zxid: UNKNOWN_ZXID,
                election_epoch: 0,
                peer_epoch: -1,
            },
            current_vote: None,
            phase: Phase::Idle,
            self_deliveries: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &ElectionConfig {
        &self.config
    }

    /// `QuorumPeer.getPeerState()`.
    pub fn state(&self) -> ServerState {
        self.state
    }

    /// `logicalclock`: the round of the current or last election.
    pub fn logical_clock(&self) -> i64 {
        self.logical_clock
    }

    /// What I currently propose (`getVote()`), stamped with my round.
    pub fn proposal(&self) -> Vote {
        Vote {
            election_epoch: self.logical_clock,
            ..self.proposal
        }
    }

    /// `QuorumPeer.getCurrentVote()`: what I answer LOOKING peers with once decided.
    pub fn current_vote(&self) -> Option<Vote> {
        self.current_vote
    }

    /// Is an election running (started and not yet decided)?
    pub fn is_looking(&self) -> bool {
        matches!(self.phase, Phase::Looking(_))
    }

    /// When `tick` has something to do: the finalize deadline while a quorum
    /// agrees, else the notification timeout; `None` when not looking.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        match &self.phase {
            Phase::Looking(round) => Some(
                round
                    .finalize_deadline_ms
                    .unwrap_or(round.notification_deadline_ms),
            ),
            Phase::Idle | Phase::Decided => None,
        }
    }

    /// Start a new election round (`lookForLeader`), from a cold start or after
    /// the peer lost its leader or followers. `last_logged_zxid` and
    /// `current_epoch` are read from disk by the caller. Calling it while already
    /// looking abandons that round and starts the next.
    pub fn start_looking(
        &mut self,
        now_ms: u64,
        last_logged_zxid: Zxid,
        current_epoch: Epoch,
    ) -> Vec<ElectionAction> {
        let my_id = self.config.my_id;
        if self.current_vote.is_none() {
            // `QuorumPeer.startLeaderElection`: the vote a voter answers observers
            // with until it decides. Apache uses myid here even on an observer,
            // and `Vote(id, zxid, peerEpoch)` leaves electionEpoch at -1.
            self.current_vote = Some(Vote {
                leader: my_id,
                zxid: last_logged_zxid,
                election_epoch: -1,
                peer_epoch: i64::from(current_epoch.0),
            });
        }
        let initial_vote = if self.config.is_voter(my_id) {
            Vote {
                leader: my_id,
                zxid: last_logged_zxid,
                election_epoch: 0,
                peer_epoch: i64::from(current_epoch.0),
            }
        } else {
            Vote {
                leader: ServerId(NON_VOTER_VOTE_VALUE),
                zxid: Zxid(NON_VOTER_VOTE_VALUE),
                election_epoch: 0,
                peer_epoch: NON_VOTER_VOTE_VALUE,
            }
        };
        self.state = ServerState::Looking;
        self.logical_clock += 1;
        self.proposal = initial_vote;
        self.self_deliveries.clear();
        let interval_ms = self.config.min_notification_interval_ms;
        self.phase = Phase::Looking(Round {
            initial_vote,
            received_votes: BTreeMap::new(),
            out_of_election_votes: BTreeMap::new(),
            notification_interval_ms: interval_ms,
            notification_deadline_ms: now_ms.saturating_add(interval_ms),
            finalize_deadline_ms: None,
        });
        let mut actions = Vec::new();
        self.send_notifications(&mut actions);
        self.run_self_deliveries(now_ms, &mut actions);
        actions
    }

    /// A notification from `from` arrived on the election port (already decoded by
    /// `wire`; a malformed one never gets here).
    pub fn receive(
        &mut self,
        now_ms: u64,
        from: ServerId,
        notification: Notification,
    ) -> Vec<ElectionAction> {
        let mut actions = Vec::new();
        if from == self.config.my_id || matches!(self.phase, Phase::Idle) {
            return actions;
        }
        if let Some(config) = &notification.config {
            self.check_received_config(from, config, &mut actions);
        }
        // WorkerReceiver: a non-voter (an observer) is answered at once with my
        // current vote, my round and my state, and its notification goes no further.
        if !self.config.is_voter(from) {
            if let Some(current) = self.current_vote {
                let reply = Vote {
                    election_epoch: self.logical_clock,
                    ..current
                };
                actions.push(self.send_to(from, self.state, reply));
            }
            return actions;
        }
        if self.is_looking() {
            // A LOOKING peer behind my round is told my proposal right away, so it
            // catches up even if its own round would never hear from me again.
            if notification.state == ServerState::Looking
                && notification.vote.election_epoch < self.logical_clock
            {
                actions.push(self.send_to(from, ServerState::Looking, self.proposal()));
            }
            self.process_queued(now_ms, from, &notification, &mut actions);
            self.run_self_deliveries(now_ms, &mut actions);
        } else if notification.state == ServerState::Looking {
            // Decided: a LOOKING voter gets my current vote with the vote's own
            // election epoch and my state, so it can join the established leader.
            if let Some(current) = self.current_vote {
                actions.push(self.send_to(from, self.state, current));
            }
        }
        actions
    }

    /// Time passed: decide once the finalize wait is over, or handle a
    /// notification timeout (re-send, reconnect, back off).
    pub fn tick(&mut self, now_ms: u64) -> Vec<ElectionAction> {
        let mut actions = Vec::new();
        let Phase::Looking(round) = &mut self.phase else {
            return actions;
        };
        if let Some(finalize_deadline_ms) = round.finalize_deadline_ms {
            if now_ms >= finalize_deadline_ms {
                let vote = self.proposal();
                self.decide(vote, &mut actions);
            }
            return actions;
        }
        if now_ms < round.notification_deadline_ms {
            return actions;
        }
        round.notification_interval_ms = round
            .notification_interval_ms
            .saturating_mul(2)
            .min(self.config.max_notification_interval_ms);
        round.notification_deadline_ms = now_ms.saturating_add(round.notification_interval_ms);
        actions.push(ElectionAction::ReconnectAll);
        self.send_notifications(&mut actions);
        self.run_self_deliveries(now_ms, &mut actions);
        actions
    }

    /// `QuorumPeer.updateElectionVote`: the peer finished syncing as leader or
    /// learner in `new_epoch`; LOOKING peers are told that epoch from now on, so a
    /// rejoining server sees a quorum agree on (leader, peer epoch) with the
    /// leader's own LEADING vote (ZOOKEEPER-1732).
    pub fn update_election_vote(&mut self, new_epoch: Epoch) {
        if let Some(current) = &mut self.current_vote {
            current.peer_epoch = i64::from(new_epoch.0);
        }
    }

    fn check_received_config(
        &self,
        from: ServerId,
        config: &[u8],
        actions: &mut Vec<ElectionAction>,
    ) {
        match config_version(config) {
            None => actions.push(ElectionAction::Warning(ElectionWarning::ConfigUnreadable {
                from,
            })),
            Some(received_version) if received_version != self.config.config_version => actions
                .push(ElectionAction::Warning(
                    ElectionWarning::ConfigVersionDiffers {
                        from,
                        received_version,
                        my_version: self.config.config_version,
                    },
                )),
            Some(_) => {}
        }
    }

    fn send_to(&self, to: ServerId, state: ServerState, vote: Vote) -> ElectionAction {
        ElectionAction::Send {
            to,
            notification: Notification {
                state,
                vote,
                version: NOTIFICATION_VERSION,
                config: Some(self.config.config_bytes.clone()),
            },
        }
    }

    /// `sendNotifications`: my proposal, LOOKING, to every voter; my own copy is
    /// queued for self-delivery.
    fn send_notifications(&mut self, actions: &mut Vec<ElectionAction>) {
        let proposal = self.proposal();
        for voter in &self.config.voters {
            if *voter == self.config.my_id {
                continue;
            }
            actions.push(self.send_to(*voter, ServerState::Looking, proposal));
        }
        if self.config.is_voter(self.config.my_id) {
            self.self_deliveries.push_back(Notification {
                state: ServerState::Looking,
                vote: proposal,
                version: NOTIFICATION_VERSION,
                config: None,
            });
        }
    }

    fn run_self_deliveries(&mut self, now_ms: u64, actions: &mut Vec<ElectionAction>) {
        let my_id = self.config.my_id;
        for _ in 0..MAX_SELF_DELIVERIES_PER_INPUT {
            let Some(notification) = self.self_deliveries.pop_front() else {
                return;
            };
            if self.is_looking() {
                self.process_queued(now_ms, my_id, &notification, actions);
            }
        }
        // Processing my own notification never changes my proposal, so it never
        // broadcasts again; anything left here is a bug in this module.
        debug_assert!(self.self_deliveries.is_empty(), "self-delivery loop");
        self.self_deliveries.clear();
    }

    /// What `lookForLeader` does with a notification it dequeues from a voter.
    fn process_queued(
        &mut self,
        now_ms: u64,
        from: ServerId,
        notification: &Notification,
        actions: &mut Vec<ElectionAction>,
    ) {
        let Phase::Looking(round) = &mut self.phase else {
            return;
        };
        if round.finalize_deadline_ms.is_some() {
            // The finalize wait only looks for a better vote. Anything else is
            // consumed and dropped, and the 200 ms wait starts over (it is a
            // `poll(finalizeWait)` per message).
            if beats(&notification.vote, &self.proposal) {
                round.finalize_deadline_ms = None;
            } else {
                round.finalize_deadline_ms = Some(now_ms.saturating_add(FINALIZE_WAIT_MS));
                return;
            }
        }
        round.notification_deadline_ms = now_ms.saturating_add(round.notification_interval_ms);
        if !self.config.is_voter(notification.vote.leader) {
            return;
        }
        match notification.state {
            ServerState::Looking => self.looking_notification(now_ms, from, notification, actions),
            ServerState::Observing => {}
            ServerState::Following | ServerState::Leading => {
                self.out_of_election_notification(from, notification, actions)
            }
        }
    }

    /// The LOOKING case of `lookForLeader`.
    fn looking_notification(
        &mut self,
        now_ms: u64,
        from: ServerId,
        notification: &Notification,
        actions: &mut Vec<ElectionAction>,
    ) {
        let Phase::Looking(round) = &mut self.phase else {
            return;
        };
        if round.initial_vote.zxid == UNKNOWN_ZXID || notification.vote.zxid == UNKNOWN_ZXID {
            return;
        }
        let their_round = notification.vote.election_epoch;
        let mut proposal_changed = false;
        if their_round > self.logical_clock {
            // A newer round: join it, forget this round's votes, and pick between
            // their vote and my initial one (not my current proposal).
            self.logical_clock = their_round;
            round.received_votes.clear();
            self.proposal = if beats(&notification.vote, &round.initial_vote) {
                notification.vote
            } else {
                round.initial_vote
            };
            proposal_changed = true;
        } else if their_round < self.logical_clock {
            return;
        } else if beats(&notification.vote, &self.proposal) {
            self.proposal = notification.vote;
            proposal_changed = true;
        }
        round.received_votes.insert(
            from,
            TrackedVote {
                vote: notification.vote,
                state: ServerState::Looking,
                version: 0,
            },
        );
        let target = TrackedVote {
            vote: Vote {
                election_epoch: self.logical_clock,
                ..self.proposal
            },
            state: ServerState::Looking,
            version: 0,
        };
        if has_quorum(&self.config.voters, &round.received_votes, &target) {
            round.finalize_deadline_ms = Some(now_ms.saturating_add(FINALIZE_WAIT_MS));
        }
        if proposal_changed {
            self.send_notifications(actions);
        }
    }

    /// `receivedFollowingNotification` / `receivedLeadingNotification` (without
    /// the two-node oracle): join a leader a quorum already follows.
    fn out_of_election_notification(
        &mut self,
        from: ServerId,
        notification: &Notification,
        actions: &mut Vec<ElectionAction>,
    ) {
        let Phase::Looking(round) = &mut self.phase else {
            return;
        };
        let my_id = self.config.my_id;
        let vote = notification.vote;
        let target = TrackedVote {
            vote,
            state: notification.state,
            version: notification.version,
        };
        if vote.election_epoch == self.logical_clock {
            // Same round: it counts with the LOOKING votes of this round.
            round.received_votes.insert(
                from,
                TrackedVote {
                    vote,
                    state: notification.state,
                    version: 0,
                },
            );
            if has_quorum(&self.config.voters, &round.received_votes, &target)
                && leader_confirmed(
                    &round.received_votes,
                    vote.leader,
                    vote.election_epoch,
                    my_id,
                    self.logical_clock,
                )
            {
                self.decide(vote, actions);
                return;
            }
        }
        // Any round: before joining an established ensemble, a quorum must follow
        // the same leader and the leader must say it leads.
        round.out_of_election_votes.insert(from, target);
        if has_quorum(&self.config.voters, &round.out_of_election_votes, &target)
            && leader_confirmed(
                &round.out_of_election_votes,
                vote.leader,
                vote.election_epoch,
                my_id,
                self.logical_clock,
            )
        {
            self.logical_clock = vote.election_epoch;
            self.decide(vote, actions);
        }
    }

    /// `setPeerState` + `leaveInstance`, and `QuorumPeer.setCurrentVote(endVote)`.
    fn decide(&mut self, vote: Vote, actions: &mut Vec<ElectionAction>) {
        let my_id = self.config.my_id;
        self.state = if vote.leader == my_id {
            ServerState::Leading
        } else if self.config.is_voter(my_id) {
            ServerState::Following
        } else {
            ServerState::Observing
        };
        self.current_vote = Some(vote);
        self.phase = Phase::Decided;
        self.self_deliveries.clear();
        actions.push(ElectionAction::Decided {
            state: self.state,
            vote,
        });
    }
}
