//! A seeded randomized network: 3 or 5 voters (and an observer) run the election
//! through links that delay, reorder, drop and duplicate notifications, break and
//! heal, while servers crash and restart. A small stand-in for Zab decides when a
//! leader is established (a quorum follows it) and when a leader or follower gives
//! up and looks again, because FLE alone never ends: it is restarted by Zab.
//!
//! Links behave like `QuorumCnxManager`: while a link (or its far end) is down,
//! the sender keeps only its newest message for that peer (send queue of capacity
//! 1), and on reconnect it sends that message, or else resends the last one it
//! sent.
//!
//! Checks:
//! - every decision is backed by notifications a quorum of voters actually sent
//!   (an exact LOOKING vote, or a FOLLOWING/LEADING vote for the same leader);
//! - no established epoch has two leaders;
//! - after the network heals with a quorum of voters up, everyone up ends
//!   following one established leader within `CONVERGENCE_BOUND_MS`.
//!
//! "No two servers decide different leaders in the same round" is not checked:
//! Apache's FLE does not promise it (see
//! `scenarios::late_better_vote_can_split_a_round_until_zab_resolves_it`), and
//! round numbers restart with each process anyway. Agreement is checked where it
//! holds: at the end, after the heal.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::zookeeper::quorum::election::{
    ElectionAction, ElectionConfig, FastLeaderElection, MAX_NOTIFICATION_INTERVAL_MS,
};
use crate::zookeeper::quorum::message::{Epoch, Notification, ServerId, ServerState, Vote};
use crate::zookeeper::tree::Zxid;

use super::script::config_text;

/// Seeds per ensemble size; the brief asks for at least 500 in all.
const SEEDS_PER_SIZE: u64 = 300;
/// How long a decided leader waits for a quorum of followers (Apache's
/// `initLimit * tickTime`), and a decided follower for its leader.
const INIT_LIMIT_MS: u64 = 2_000;
/// How long an established leader or follower tolerates losing its quorum or its
/// leader (`syncLimit * tickTime`).
const SYNC_LIMIT_MS: u64 = 1_000;
/// After the heal, everyone must agree within this: two maximum notification
/// timeouts, plus room for Zab's give-ups and a few rounds.
const CONVERGENCE_BOUND_MS: u64 = 2 * MAX_NOTIFICATION_INTERVAL_MS + 20_000;
/// The most events (deliveries, ticks, chaos) one run may take.
const MAX_EVENTS: usize = 200_000;
/// Network delay bounds, during the chaos and after the heal.
const CHAOS_DELAY_MS_MAX: u64 = 400;
const HEALED_DELAY_MS_MAX: u64 = 50;
const CHAOS_DROP_PERCENT: u64 = 10;
const DUPLICATE_PERCENT: u64 = 5;

/// SplitMix64: small, seedable, good enough to pick events.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    fn percent(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() {
            None
        } else {
            Some(items[(self.next() % items.len() as u64) as usize])
        }
    }
}

/// What the Zab stand-in thinks a server is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Looking,
    Leading {
        give_up_at_ms: u64,
        established_epoch: Option<u32>,
    },
    Following {
        leader: ServerId,
        give_up_at_ms: u64,
        synced_epoch: Option<u32>,
    },
}

struct Server {
    id: ServerId,
    up: bool,
    restart_at_ms: Option<u64>,
    /// Persistent state (the log and the `currentEpoch` file).
    last_zxid: Zxid,
    current_epoch: u32,
    election: FastLeaderElection,
    role: Role,
}

#[derive(Default)]
struct Link {
    up: bool,
    /// The newest message queued while the link or its far end was down.
    queued: Option<Notification>,
    /// The last message sent on the link (resent on reconnect).
    last_sent: Option<Notification>,
}

struct Sim {
    rng: Rng,
    now_ms: u64,
    chaos: bool,
    voters: BTreeSet<ServerId>,
    members: Vec<ServerId>,
    servers: BTreeMap<ServerId, Server>,
    /// Directed links, (from, to).
    links: HashMap<(ServerId, ServerId), Link>,
    /// (deliver at, sequence) -> (from, to, notification).
    in_flight: BTreeMap<(u64, u64), (ServerId, ServerId, Notification)>,
    sequence: u64,
    /// Every LOOKING vote each server sent, and every leader it named while
    /// FOLLOWING or LEADING: the evidence a decision must rest on.
    sent_looking: HashSet<(ServerId, Vote)>,
    sent_for_leader: HashSet<(ServerId, ServerId)>,
    /// Established epoch -> leader.
    established: BTreeMap<u32, ServerId>,
    context: String,
}

impl Sim {
    fn new(seed: u64, voter_count: i64, observer_count: i64) -> Sim {
        let mut rng = Rng(seed);
        let voters: Vec<ServerId> = (1..=voter_count).map(ServerId).collect();
        let observers: Vec<ServerId> = (voter_count + 1..=voter_count + observer_count)
            .map(ServerId)
            .collect();
        let members: Vec<ServerId> = voters.iter().chain(&observers).copied().collect();
        let mut servers = BTreeMap::new();
        for id in &members {
            let config =
                ElectionConfig::new(*id, voters.clone(), observers.clone(), config_text(0))
                    .expect("sim config");
            // Varied histories so the best vote is not always the highest sid.
            let current_epoch = rng.between(0, 2) as u32;
            let last_zxid = Zxid::new(current_epoch, rng.between(0, 3) as u32);
            servers.insert(
                *id,
                Server {
                    id: *id,
                    up: false,
                    restart_at_ms: Some(rng.between(0, 300)),
                    last_zxid,
                    current_epoch,
                    election: FastLeaderElection::new(config),
                    role: Role::Looking,
                },
            );
        }
        let mut links = HashMap::new();
        for from in &members {
            for to in &members {
                if from != to {
                    links.insert(
                        (*from, *to),
                        Link {
                            up: true,
                            ..Link::default()
                        },
                    );
                }
            }
        }
        Sim {
            rng,
            now_ms: 0,
            chaos: true,
            voters: voters.into_iter().collect(),
            members,
            servers,
            links,
            in_flight: BTreeMap::new(),
            sequence: 0,
            sent_looking: HashSet::new(),
            sent_for_leader: HashSet::new(),
            established: BTreeMap::new(),
            context: format!("seed {seed}, {voter_count} voters, {observer_count} observers"),
        }
    }

    fn quorum_of(&self, ids: impl Iterator<Item = ServerId>) -> bool {
        ids.filter(|id| self.voters.contains(id)).count() > self.voters.len() / 2
    }

    fn connected(&self, a: ServerId, b: ServerId) -> bool {
        self.servers[&a].up
            && self.servers[&b].up
            && self.links[&(a, b)].up
            && self.links[&(b, a)].up
    }

    fn transmit(&mut self, from: ServerId, to: ServerId, notification: Notification) {
        self.links.get_mut(&(from, to)).expect("link").last_sent = Some(notification.clone());
        if self.chaos && self.rng.percent(CHAOS_DROP_PERCENT) {
            return;
        }
        let delay_max_ms = if self.chaos {
            CHAOS_DELAY_MS_MAX
        } else {
            HEALED_DELAY_MS_MAX
        };
        let copies = if self.rng.percent(DUPLICATE_PERCENT) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let at_ms = self.now_ms + self.rng.between(1, delay_max_ms);
            self.sequence += 1;
            self.in_flight
                .insert((at_ms, self.sequence), (from, to, notification.clone()));
        }
    }

    fn send(&mut self, from: ServerId, to: ServerId, notification: Notification) {
        match notification.state {
            ServerState::Looking => {
                self.sent_looking.insert((from, notification.vote));
            }
            ServerState::Following | ServerState::Leading => {
                self.sent_for_leader
                    .insert((from, notification.vote.leader));
            }
            ServerState::Observing => {}
        }
        if self.connected(from, to) {
            self.transmit(from, to, notification);
        } else {
            self.links.get_mut(&(from, to)).expect("link").queued = Some(notification);
        }
    }

    /// A connection (re)established: send the queued message, or resend the last.
    fn reconnect(&mut self, from: ServerId, to: ServerId) {
        if !self.connected(from, to) {
            return;
        }
        let link = self.links.get_mut(&(from, to)).expect("link");
        if let Some(message) = link.queued.take().or_else(|| link.last_sent.clone()) {
            self.transmit(from, to, message);
        }
    }

    fn apply(&mut self, id: ServerId, actions: Vec<ElectionAction>) {
        for action in actions {
            match action {
                ElectionAction::Send { to, notification } => self.send(id, to, notification),
                ElectionAction::Decided { state, vote } => self.decided(id, state, vote),
                // Links reconnect by themselves in this network.
                ElectionAction::ReconnectAll => {}
                ElectionAction::Warning(warning) => {
                    panic!("{}: unexpected warning {warning:?}", self.context)
                }
            }
        }
    }

    fn decided(&mut self, id: ServerId, state: ServerState, vote: Vote) {
        let supporters = self
            .voters
            .iter()
            .filter(|voter| {
                **voter == id
                    || self.sent_looking.contains(&(**voter, vote))
                    || self.sent_for_leader.contains(&(**voter, vote.leader))
            })
            .count();
        assert!(
            supporters > self.voters.len() / 2,
            "{}: server {id} decided {vote:?} with {supporters} supporters",
            self.context
        );
        assert_eq!(
            state == ServerState::Leading,
            vote.leader == id,
            "{}: {id} decided {state:?} for {vote:?}",
            self.context
        );
        let give_up_at_ms = self.now_ms + INIT_LIMIT_MS;
        let server = self.servers.get_mut(&id).expect("server");
        server.role = if state == ServerState::Leading {
            Role::Leading {
                give_up_at_ms,
                established_epoch: None,
            }
        } else {
            Role::Following {
                leader: vote.leader,
                give_up_at_ms,
                synced_epoch: None,
            }
        };
    }

    fn start_looking(&mut self, id: ServerId) {
        let now_ms = self.now_ms;
        let server = self.servers.get_mut(&id).expect("server");
        server.role = Role::Looking;
        let actions =
            server
                .election
                .start_looking(now_ms, server.last_zxid, Epoch(server.current_epoch));
        self.apply(id, actions);
    }

    fn crash(&mut self, id: ServerId) {
        let server = self.servers.get_mut(&id).expect("server");
        server.up = false;
        server.role = Role::Looking;
        // The process's own send queues die with it.
        for other in &self.members {
            if *other != id {
                let link = self.links.get_mut(&(id, *other)).expect("link");
                link.queued = None;
                link.last_sent = None;
            }
        }
    }

    fn restart(&mut self, id: ServerId) {
        let server = self.servers.get_mut(&id).expect("server");
        server.up = true;
        server.restart_at_ms = None;
        server.election = FastLeaderElection::new(server.election.config().clone());
        self.start_looking(id);
        let members = self.members.clone();
        for other in members {
            if other != id {
                self.reconnect(other, id);
            }
        }
    }

    fn set_connection(&mut self, a: ServerId, b: ServerId, up: bool) {
        self.links.get_mut(&(a, b)).expect("link").up = up;
        self.links.get_mut(&(b, a)).expect("link").up = up;
        if up {
            self.reconnect(a, b);
            self.reconnect(b, a);
        }
    }

    /// A learner in sync with an established leader in `epoch`.
    fn sync_learner(&mut self, learner: ServerId, leader: ServerId, epoch: u32) {
        let leader_zxid = self.servers[&leader].last_zxid;
        let server = self.servers.get_mut(&learner).expect("server");
        server.current_epoch = epoch;
        server.last_zxid = leader_zxid;
        server.election.update_election_vote(Epoch(epoch));
        if let Role::Following {
            leader: followed,
            give_up_at_ms,
            ..
        } = server.role
        {
            server.role = Role::Following {
                leader: followed,
                give_up_at_ms,
                synced_epoch: Some(epoch),
            };
        }
    }

    /// The Zab stand-in: establish leaders, sync learners, give up on timeouts.
    fn run_zab(&mut self) {
        let now_ms = self.now_ms;
        let ids = self.members.clone();
        for id in ids.iter().copied() {
            if !self.servers[&id].up {
                continue;
            }
            match self.servers[&id].role {
                Role::Looking => {}
                Role::Leading {
                    give_up_at_ms,
                    established_epoch,
                } => {
                    let followers: Vec<ServerId> = ids
                        .iter()
                        .copied()
                        .filter(|other| {
                            *other != id
                                && self.connected(id, *other)
                                && matches!(self.servers[other].role,
                                    Role::Following { leader, synced_epoch, .. }
                                        if leader == id
                                            && (established_epoch.is_none()
                                                || synced_epoch == established_epoch))
                        })
                        .collect();
                    let has_quorum = self.quorum_of(followers.iter().copied().chain([id]));
                    match established_epoch {
                        None if has_quorum => {
                            let new_epoch = followers
                                .iter()
                                .chain([&id])
                                .map(|member| self.servers[member].current_epoch)
                                .max()
                                .expect("a quorum")
                                + 1;
                            if let Some(previous) = self.established.insert(new_epoch, id) {
                                assert_eq!(
                                    previous, id,
                                    "{}: epoch {new_epoch} established twice",
                                    self.context
                                );
                            }
                            let leader = self.servers.get_mut(&id).expect("server");
                            leader.current_epoch = new_epoch;
                            leader.last_zxid = Zxid::new(new_epoch, 0);
                            leader.election.update_election_vote(Epoch(new_epoch));
                            leader.role = Role::Leading {
                                give_up_at_ms: now_ms + SYNC_LIMIT_MS,
                                established_epoch: Some(new_epoch),
                            };
                            for follower in followers {
                                self.sync_learner(follower, id, new_epoch);
                            }
                        }
                        Some(epoch) if has_quorum => {
                            if let Role::Leading { give_up_at_ms, .. } =
                                &mut self.servers.get_mut(&id).expect("server").role
                            {
                                *give_up_at_ms = now_ms + SYNC_LIMIT_MS;
                            }
                            // Late learners join the running epoch; the leader
                            // commits now and then.
                            let late: Vec<ServerId> = ids
                                .iter()
                                .copied()
                                .filter(|other| {
                                    *other != id
                                        && self.connected(id, *other)
                                        && matches!(self.servers[other].role,
                                            Role::Following { leader, synced_epoch: None, .. }
                                                if leader == id)
                                })
                                .collect();
                            for learner in late {
                                if self.servers[&learner].current_epoch > epoch {
                                    self.start_looking(learner);
                                } else {
                                    self.sync_learner(learner, id, epoch);
                                }
                            }
                            if self.rng.percent(20) {
                                let leader = self.servers.get_mut(&id).expect("server");
                                leader.last_zxid = leader.last_zxid.next();
                            }
                        }
                        _ if now_ms >= give_up_at_ms => self.start_looking(id),
                        _ => {}
                    }
                }
                Role::Following {
                    leader,
                    give_up_at_ms,
                    synced_epoch,
                } => {
                    let healthy = self.connected(id, leader)
                        && match (self.servers[&leader].role, synced_epoch) {
                            (Role::Leading { .. }, None) => true,
                            (
                                Role::Leading {
                                    established_epoch, ..
                                },
                                Some(epoch),
                            ) => established_epoch == Some(epoch),
                            _ => false,
                        };
                    if healthy && synced_epoch.is_some() {
                        if let Role::Following { give_up_at_ms, .. } =
                            &mut self.servers.get_mut(&id).expect("server").role
                        {
                            *give_up_at_ms = now_ms + SYNC_LIMIT_MS;
                        }
                    } else if now_ms >= give_up_at_ms {
                        self.start_looking(id);
                    }
                }
            }
        }
    }

    fn chaos_event(&mut self) {
        let up: Vec<ServerId> = self
            .members
            .iter()
            .copied()
            .filter(|id| self.servers[id].up)
            .collect();
        match self.rng.between(0, 99) {
            0..=19 => {
                if let Some(victim) = self.rng.pick(&up) {
                    self.crash(victim);
                    let restart_at_ms = self.now_ms + self.rng.between(100, 3_000);
                    self.servers.get_mut(&victim).expect("server").restart_at_ms =
                        Some(restart_at_ms);
                }
            }
            20..=59 => {
                let a = self.rng.pick(&self.members.clone()).expect("members");
                let b = self.rng.pick(&self.members.clone()).expect("members");
                if a != b {
                    let up = !self.links[&(a, b)].up;
                    self.set_connection(a, b, up);
                }
            }
            60..=74 => {
                // Zab fails on one server (a lost session, a timeout): it looks again.
                let busy: Vec<ServerId> = up
                    .iter()
                    .copied()
                    .filter(|id| self.servers[id].role != Role::Looking)
                    .collect();
                if let Some(id) = self.rng.pick(&busy) {
                    self.start_looking(id);
                }
            }
            _ => {}
        }
    }

    fn heal(&mut self) {
        self.chaos = false;
        // A minority of voters may stay down; everyone else comes back.
        let minority = (self.voters.len() - 1) / 2;
        let stay_down_count = self.rng.between(0, minority as u64) as usize;
        let mut stay_down = BTreeSet::new();
        for _ in 0..stay_down_count {
            if let Some(id) = self
                .rng
                .pick(&self.voters.iter().copied().collect::<Vec<_>>())
            {
                stay_down.insert(id);
            }
        }
        for id in self.members.clone() {
            let server = &self.servers[&id];
            if stay_down.contains(&id) {
                if server.up {
                    self.crash(id);
                }
                self.servers.get_mut(&id).expect("server").restart_at_ms = None;
            } else if !server.up {
                self.restart(id);
            }
        }
        for a in self.members.clone() {
            for b in self.members.clone() {
                if a < b && !self.links[&(a, b)].up {
                    self.set_connection(a, b, true);
                }
            }
        }
    }

    fn converged(&self) -> bool {
        let up: Vec<&Server> = self.servers.values().filter(|server| server.up).collect();
        let Some(leader) = up.iter().find_map(|server| match server.role {
            Role::Leading {
                established_epoch: Some(epoch),
                ..
            } => Some((server.id, epoch)),
            _ => None,
        }) else {
            return false;
        };
        up.iter().all(|server| {
            server.id == leader.0
                || server.role
                    == Role::Following {
                        leader: leader.0,
                        give_up_at_ms: match server.role {
                            Role::Following { give_up_at_ms, .. } => give_up_at_ms,
                            _ => 0,
                        },
                        synced_epoch: Some(leader.1),
                    }
        })
    }

    fn next_event_ms(&self, chaos_at_ms: u64) -> u64 {
        let mut next = u64::MAX;
        if self.chaos {
            next = next.min(chaos_at_ms);
        }
        if let Some(((at_ms, _), _)) = self.in_flight.first_key_value() {
            next = next.min(*at_ms);
        }
        for server in self.servers.values() {
            if let Some(restart_at_ms) = server.restart_at_ms {
                next = next.min(restart_at_ms);
            }
            if !server.up {
                continue;
            }
            if let Some(deadline_ms) = server.election.next_deadline_ms() {
                next = next.min(deadline_ms);
            }
            match server.role {
                Role::Leading { give_up_at_ms, .. } | Role::Following { give_up_at_ms, .. } => {
                    next = next.min(give_up_at_ms)
                }
                Role::Looking => {}
            }
        }
        next.max(self.now_ms)
    }

    /// Runs the chaos until `heal_at_ms`, heals, and returns how long after the
    /// heal everyone agreed.
    fn run(&mut self, heal_at_ms: u64) -> u64 {
        let mut chaos_at_ms = self.rng.between(50, 500);
        let mut healed_at_ms = None;
        for _ in 0..MAX_EVENTS {
            if let Some(healed_at_ms) = healed_at_ms {
                if self.converged() {
                    return self.now_ms - healed_at_ms;
                }
                assert!(
                    self.now_ms <= healed_at_ms + CONVERGENCE_BOUND_MS,
                    "{}: no agreement {} ms after the heal: {:?}",
                    self.context,
                    CONVERGENCE_BOUND_MS,
                    self.servers
                        .values()
                        .map(|server| (server.id, server.up, server.role, server.election.state()))
                        .collect::<Vec<_>>()
                );
            }
            let next_ms = self.next_event_ms(chaos_at_ms);
            if self.chaos && next_ms >= heal_at_ms {
                self.now_ms = heal_at_ms;
                self.heal();
                healed_at_ms = Some(heal_at_ms);
                self.run_zab();
                continue;
            }
            self.now_ms = next_ms;
            if self.chaos && self.now_ms >= chaos_at_ms {
                self.chaos_event();
                chaos_at_ms = self.now_ms + self.rng.between(50, 500);
            }
            for id in self.members.clone() {
                if self.servers[&id]
                    .restart_at_ms
                    .is_some_and(|at_ms| at_ms <= self.now_ms)
                {
                    self.restart(id);
                }
            }
            while let Some(entry) = self.in_flight.first_entry() {
                if entry.key().0 > self.now_ms {
                    break;
                }
                let (from, to, notification) = entry.remove();
                // A message dies with its connection.
                if self.connected(from, to) {
                    let now_ms = self.now_ms;
                    let actions = self.servers.get_mut(&to).expect("server").election.receive(
                        now_ms,
                        from,
                        notification,
                    );
                    self.apply(to, actions);
                }
            }
            for id in self.members.clone() {
                let now_ms = self.now_ms;
                let server = self.servers.get_mut(&id).expect("server");
                if server.up
                    && server
                        .election
                        .next_deadline_ms()
                        .is_some_and(|deadline_ms| deadline_ms <= now_ms)
                {
                    let actions = server.election.tick(now_ms);
                    self.apply(id, actions);
                }
            }
            self.run_zab();
        }
        panic!("{}: more than {MAX_EVENTS} events", self.context);
    }
}

fn run_seeds(voter_count: i64, observer_count: i64, seed_base: u64) {
    let mut slowest_ms = 0;
    let mut establishments = 0;
    for seed in seed_base..seed_base + SEEDS_PER_SIZE {
        let mut sim = Sim::new(seed, voter_count, observer_count);
        let heal_at_ms = sim.rng.between(1_000, 15_000);
        slowest_ms = slowest_ms.max(sim.run(heal_at_ms));
        establishments += sim.established.len();
    }
    assert!(slowest_ms <= CONVERGENCE_BOUND_MS);
    // Visible with --nocapture.
    println!(
        "{voter_count} voters, {SEEDS_PER_SIZE} seeds: {establishments} epochs established, \
         slowest agreement {slowest_ms} ms after the heal"
    );
}

#[test]
fn sim_three_voters() {
    run_seeds(3, 0, 1_000);
}

#[test]
fn sim_five_voters_and_an_observer() {
    run_seeds(5, 1, 2_000);
}
