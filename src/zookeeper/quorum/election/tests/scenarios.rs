//! Several servers wired together by a hand-driven, in-order network: cold starts
//! (table-driven), restarts and rejoins (FLERestartTest), and the split a late
//! better vote can cause, which only Zab's epoch handshake resolves.

use std::collections::{BTreeMap, VecDeque};

use crate::zookeeper::quorum::election::{
    ElectionAction, ElectionConfig, FastLeaderElection, FINALIZE_WAIT_MS,
};
use crate::zookeeper::quorum::message::{Epoch, Notification, ServerId, ServerState, Vote};
use crate::zookeeper::tree::Zxid;

use super::script::config_text;

/// Deliveries one `deliver_all` may make before the test calls it a livelock.
const MAX_DELIVERIES: usize = 10_000;

struct Ensemble {
    voters: Vec<ServerId>,
    observers: Vec<ServerId>,
    servers: BTreeMap<ServerId, FastLeaderElection>,
    /// (from, to, notification), delivered in order.
    in_flight: VecDeque<(ServerId, ServerId, Notification)>,
    /// The last decision of each server.
    decisions: BTreeMap<ServerId, (ServerState, Vote)>,
    now_ms: u64,
    /// Messages to this server are set aside in `held` instead of delivered.
    blocked: Option<ServerId>,
    held: Vec<(ServerId, ServerId, Notification)>,
    /// Messages to a server whose election has not started yet: a connection
    /// manager keeps its last message for a peer until the peer connects, so
    /// they are delivered when it starts.
    waiting_for_start: Vec<(ServerId, ServerId, Notification)>,
}

impl Ensemble {
    fn new(voters: &[i64], observers: &[i64]) -> Ensemble {
        let mut ensemble = Ensemble {
            voters: voters.iter().map(|id| ServerId(*id)).collect(),
            observers: observers.iter().map(|id| ServerId(*id)).collect(),
            servers: BTreeMap::new(),
            in_flight: VecDeque::new(),
            decisions: BTreeMap::new(),
            now_ms: 0,
            blocked: None,
            held: Vec::new(),
            waiting_for_start: Vec::new(),
        };
        for id in voters.iter().chain(observers) {
            ensemble.boot(ServerId(*id));
        }
        ensemble
    }

    /// A fresh process for `id` (logical clock 0), as after a restart.
    fn boot(&mut self, id: ServerId) {
        let config = ElectionConfig::new(
            id,
            self.voters.iter().copied(),
            self.observers.iter().copied(),
            config_text(0),
        )
        .expect("ensemble config");
        self.servers.insert(id, FastLeaderElection::new(config));
        self.decisions.remove(&id);
    }

    fn absorb(&mut self, from: ServerId, actions: Vec<ElectionAction>) {
        for action in actions {
            match action {
                ElectionAction::Send { to, notification } => {
                    self.in_flight.push_back((from, to, notification))
                }
                ElectionAction::Decided { state, vote } => {
                    self.decisions.insert(from, (state, vote));
                }
                ElectionAction::ReconnectAll | ElectionAction::Warning(_) => {}
            }
        }
    }

    fn start(&mut self, id: i64, zxid: Zxid, epoch: u32) {
        let now_ms = self.now_ms;
        let server = self.servers.get_mut(&ServerId(id)).expect("server");
        let actions = server.start_looking(now_ms, zxid, Epoch(epoch));
        self.absorb(ServerId(id), actions);
        let (waiting, others): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting_for_start)
            .into_iter()
            .partition(|(_, to, _)| *to == ServerId(id));
        self.waiting_for_start = others;
        self.in_flight.extend(waiting);
    }

    /// Delivers one message (the oldest); returns false when none is left.
    fn deliver_one(&mut self) -> bool {
        let Some((from, to, notification)) = self.in_flight.pop_front() else {
            return false;
        };
        if self.blocked == Some(to) {
            self.held.push((from, to, notification));
            return true;
        }
        if self
            .servers
            .get(&to)
            .is_some_and(|server| server.logical_clock() == 0)
        {
            self.waiting_for_start.push((from, to, notification));
            return true;
        }
        let now_ms = self.now_ms;
        if let Some(server) = self.servers.get_mut(&to) {
            let actions = server.receive(now_ms, from, notification);
            self.absorb(to, actions);
        }
        true
    }

    fn deliver_all(&mut self) {
        for _ in 0..MAX_DELIVERIES {
            if !self.deliver_one() {
                return;
            }
        }
        panic!("messages still flowing after {MAX_DELIVERIES} deliveries");
    }

    /// Moves time forward, ticking every server and delivering what follows.
    fn advance(&mut self, elapsed_ms: u64) {
        self.now_ms += elapsed_ms;
        let now_ms = self.now_ms;
        let ids: Vec<ServerId> = self.servers.keys().copied().collect();
        for id in ids {
            let actions = self.servers.get_mut(&id).expect("server").tick(now_ms);
            self.absorb(id, actions);
        }
        self.deliver_all();
    }

    fn run_until_all_decided(&mut self, limit_ms: u64) {
        let deadline_ms = self.now_ms + limit_ms;
        self.deliver_all();
        while self.decisions.len() < self.servers.len() {
            assert!(self.now_ms < deadline_ms, "undecided: {:?}", self.decisions);
            self.advance(10);
        }
    }

    fn decision(&self, id: i64) -> (ServerState, Vote) {
        self.decisions[&ServerId(id)]
    }

    /// Every server has synced with its leader in `new_epoch`.
    fn sync_all(&mut self, new_epoch: u32) {
        for server in self.servers.values_mut() {
            server.update_election_vote(Epoch(new_epoch));
        }
    }
}

/// `Zxid::new` for constant tables.
const fn zxid(epoch: u32, counter: u32) -> Zxid {
    Zxid(((epoch as i64) << 32) | counter as i64)
}

struct ColdStart {
    name: &'static str,
    /// (sid, last logged zxid, currentEpoch) of each voter.
    voters: &'static [(i64, Zxid, u32)],
    observers: &'static [i64],
    expected_leader: i64,
}

const COLD_STARTS: &[ColdStart] = &[
    ColdStart {
        name: "empty ensemble: highest sid",
        voters: &[(1, Zxid(0), 0), (2, Zxid(0), 0), (3, Zxid(0), 0)],
        observers: &[],
        expected_leader: 3,
    },
    ColdStart {
        name: "highest zxid beats highest sid",
        voters: &[(1, zxid(1, 9), 1), (2, zxid(1, 3), 1), (3, zxid(1, 3), 1)],
        observers: &[],
        expected_leader: 1,
    },
    ColdStart {
        name: "highest currentEpoch beats highest zxid",
        voters: &[(1, zxid(1, 9), 1), (2, zxid(1, 7), 2), (3, zxid(1, 8), 1)],
        observers: &[],
        expected_leader: 2,
    },
    ColdStart {
        name: "five voters and an observer",
        voters: &[
            (1, zxid(3, 1), 3),
            (2, zxid(3, 4), 3),
            (3, zxid(3, 4), 3),
            (4, zxid(2, 9), 2),
            (5, zxid(3, 2), 3),
        ],
        observers: &[9],
        expected_leader: 3,
    },
];

/// A cold start (FLETest's basic case): when every server starts within the
/// finalize wait, everyone decides the voter with the highest (peerEpoch, zxid,
/// sid), whatever order the servers start in.
#[test]
fn cold_start_elects_the_best_vote() {
    for case in COLD_STARTS {
        for stagger_ms in [0, 30, 60] {
            for reverse in [false, true] {
                let context = format!("{} (stagger {stagger_ms} ms, reverse {reverse})", case.name);
                let ensemble = run_cold_start(case, stagger_ms, reverse);
                for (id, (state, vote)) in &ensemble.decisions {
                    assert_eq!(vote.leader, ServerId(case.expected_leader), "{context}");
                    let expected_state = if id.0 == case.expected_leader {
                        ServerState::Leading
                    } else if case.observers.contains(&id.0) {
                        ServerState::Observing
                    } else {
                        ServerState::Following
                    };
                    assert_eq!(*state, expected_state, "{context}: server {id}");
                }
                let (_, leader_vote) = ensemble.decision(case.expected_leader);
                let &(_, best_zxid, best_epoch) = case
                    .voters
                    .iter()
                    .find(|voter| voter.0 == case.expected_leader)
                    .expect("expected leader is a voter");
                assert_eq!(leader_vote.zxid, best_zxid, "{context}");
                assert_eq!(leader_vote.peer_epoch, i64::from(best_epoch), "{context}");
            }
        }
    }
}

/// Servers that start after a quorum has already decided join the leader that
/// quorum chose, even if their own vote is better: everyone still agrees.
#[test]
fn late_starters_join_the_decided_leader() {
    for case in COLD_STARTS {
        for reverse in [false, true] {
            let ensemble = run_cold_start(case, 250, reverse);
            let leaders: Vec<ServerId> = ensemble
                .decisions
                .values()
                .map(|(_, vote)| vote.leader)
                .collect();
            assert!(
                leaders.windows(2).all(|pair| pair[0] == pair[1]),
                "{}: {leaders:?}",
                case.name
            );
        }
    }
}

fn run_cold_start(case: &ColdStart, stagger_ms: u64, reverse: bool) -> Ensemble {
    let voter_ids: Vec<i64> = case.voters.iter().map(|voter| voter.0).collect();
    let mut ensemble = Ensemble::new(&voter_ids, case.observers);
    let mut order: Vec<(i64, Zxid, u32)> = case.voters.to_vec();
    order.extend(case.observers.iter().map(|id| (*id, Zxid(0), 0)));
    if reverse {
        order.reverse();
    }
    for (sid, zxid, epoch) in order {
        ensemble.start(sid, zxid, epoch);
        ensemble.deliver_all();
        if stagger_ms > 0 {
            ensemble.advance(stagger_ms);
        }
    }
    ensemble.run_until_all_decided(5_000);
    ensemble
}

/// FLERestartTest: the elected leader restarts (a new process, round 1 again) and
/// rejoins as leader, because its followers answer with FOLLOWING votes naming it
/// in its own round; a restarted follower rejoins as follower.
#[test]
fn fle_restart() {
    let mut ensemble = Ensemble::new(&[1, 2, 3], &[]);
    for id in [1, 2, 3] {
        ensemble.start(id, Zxid::new(1, 5), 1);
    }
    ensemble.run_until_all_decided(5_000);
    assert_eq!(ensemble.decision(3).0, ServerState::Leading);
    ensemble.sync_all(2);

    ensemble.boot(ServerId(3));
    ensemble.start(3, Zxid::new(2, 0), 2);
    ensemble.run_until_all_decided(5_000);
    let (state, vote) = ensemble.decision(3);
    assert_eq!(state, ServerState::Leading);
    assert_eq!(vote.leader, ServerId(3));

    ensemble.boot(ServerId(1));
    ensemble.start(1, Zxid::new(2, 0), 2);
    ensemble.run_until_all_decided(5_000);
    let (state, vote) = ensemble.decision(1);
    assert_eq!(state, ServerState::Following);
    assert_eq!((vote.leader, vote.peer_epoch), (ServerId(3), 2));
}

/// The leader crashes; the two followers elect a new one in round 2; the old
/// leader restarts in round 1 and follows the new leader from the FOLLOWING and
/// LEADING replies of a later round (out-of-election).
#[test]
fn crashed_leader_rejoins_as_follower() {
    let mut ensemble = Ensemble::new(&[1, 2, 3], &[]);
    for id in [1, 2, 3] {
        ensemble.start(id, Zxid::new(1, 5), 1);
    }
    ensemble.run_until_all_decided(5_000);
    ensemble.sync_all(2);

    ensemble.servers.remove(&ServerId(3));
    ensemble.decisions.clear();
    ensemble.start(1, Zxid::new(2, 3), 2);
    ensemble.start(2, Zxid::new(2, 3), 2);
    ensemble.run_until_all_decided(5_000);
    assert_eq!(ensemble.decision(2).0, ServerState::Leading);
    assert_eq!(ensemble.decision(2).1.election_epoch, 2);
    ensemble.sync_all(3);

    ensemble.boot(ServerId(3));
    ensemble.start(3, Zxid::new(2, 3), 2);
    ensemble.run_until_all_decided(5_000);
    let (state, vote) = ensemble.decision(3);
    assert_eq!(state, ServerState::Following);
    assert_eq!(
        (vote.leader, vote.election_epoch, vote.peer_epoch),
        (ServerId(2), 2, 3)
    );
    assert_eq!(ensemble.servers[&ServerId(3)].logical_clock(), 2);
}

/// FLE alone does not promise one leader per round: servers 1 and 2 agree on 2; a
/// better vote from late server 3 reaches 1 inside its finalize wait but reaches
/// 2 only after 2 has decided. 1 and 3 then elect 3 in the same round, so two
/// servers lead in round 1. Apache relies on Zab: 2 never gathers a quorum of
/// followers, gives up, and rejoins 3 from the out-of-election replies.
#[test]
fn late_better_vote_can_split_a_round_until_zab_resolves_it() {
    let mut ensemble = Ensemble::new(&[1, 2, 3], &[]);
    ensemble.start(1, Zxid::new(1, 1), 1);
    ensemble.start(2, Zxid::new(1, 1), 1);
    ensemble.deliver_all();
    assert!(ensemble.decisions.is_empty());

    // 3 starts just before 1 and 2 end their finalize wait; nothing reaches 2.
    ensemble.now_ms = FINALIZE_WAIT_MS - 10;
    ensemble.blocked = Some(ServerId(2));
    ensemble.start(3, Zxid::new(1, 1), 1);
    ensemble.deliver_all();
    ensemble.advance(10);
    assert_eq!(ensemble.decision(2).0, ServerState::Leading);
    assert!(!ensemble.decisions.contains_key(&ServerId(1)));
    ensemble.advance(FINALIZE_WAIT_MS);
    let (state_1, vote_1) = ensemble.decision(1);
    let (state_3, vote_3) = ensemble.decision(3);
    let (_, vote_2) = ensemble.decision(2);
    assert_eq!(
        (state_1, vote_1.leader, state_3),
        (ServerState::Following, ServerId(3), ServerState::Leading)
    );
    assert_eq!(vote_2.election_epoch, vote_3.election_epoch);
    assert_ne!(vote_2.leader, vote_3.leader);

    // The late copies change nothing for 2 (it answers with its own vote).
    ensemble.blocked = None;
    ensemble
        .in_flight
        .extend(std::mem::take(&mut ensemble.held));
    ensemble.deliver_all();
    assert_eq!(ensemble.decision(2).0, ServerState::Leading);

    // 1 and 3 sync in epoch 2; 2's Zab leader times out without followers and
    // looks again, and joins 3.
    ensemble.sync_all(2);
    ensemble.decisions.remove(&ServerId(2));
    ensemble.start(2, Zxid::new(1, 1), 1);
    ensemble.run_until_all_decided(5_000);
    assert_eq!(ensemble.decision(2).0, ServerState::Following);
    assert_eq!(ensemble.decision(2).1.leader, ServerId(3));
}
