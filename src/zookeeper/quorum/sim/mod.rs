//! A seeded, deterministic simulation of a Zab ensemble around the sans-IO core:
//! simulated time, a FIFO network per learner connection with random delays,
//! breaks and partitions, disks whose unsynced log tail is lost on a crash,
//! crashes and restarts with recovery, and clients whose acknowledged writes are
//! recorded. Roles come from the real FastLeaderElection of each server, whose
//! notifications travel the same simulated network on their own connections
//! (see `fle`). Everything the servers do is reported to the [`checker`]. No
//! wall clock, threads or sleeps: one seed reproduces one run exactly.
//!
//! # A run
//! Faults for 3 to 8 s, then every partition healed and every server restarted;
//! within the liveness bound ([`LIVENESS_BOUND_MS_FLE`]) the ensemble must
//! converge (one established leader, everyone serving the same state) and a
//! final write must commit everywhere. Two things the protocol itself allows are
//! handled like a client or an operator would: a final write that a leader
//! change lost before it was acknowledged is retried at the new leader, and a
//! server locked out by an acceptedEpoch above the established epoch (Apache
//! 3.9 does the same; see [`Sim::epoch_locked_out`]) is let in by restarting the
//! leader once the bound has passed, counted in [`SimReport::epoch_lockouts`].
//!
//! # Layout
//! - `fle`: the real FastLeaderElection per server, its notifications over a
//!   model of Apache's election connection manager (the default).
//! - `election`: the election oracle, behind [`ElectionMode::Oracle`]
//!   (`SIM_ELECTION=oracle`), to bisect a failure to election or Zab.
//! - `checker`: the safety and liveness properties.
//! - `tests`: the seed sweep, the planted bugs and the ZOOKEEPER-* regressions.

pub mod checker;
pub mod election;
pub mod fle;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;

use crate::zookeeper::jute::txn::ErrorTxn;
use crate::zookeeper::jute::{TxnBody, TxnEntry, TxnHeader};
use crate::zookeeper::quorum::message::{Epoch, QuorumMessage, ServerId};
use crate::zookeeper::quorum::zab::{
    txn_zxid, Decision, EpochFile, Input, Output, PlantedBug, Recovered, ServingRole, SnapshotData,
    Zab, ZabConfig,
};
use crate::zookeeper::tree::Zxid;

use crate::zookeeper::quorum::message::Notification;
use checker::{Applied, Checker};
use election::{Candidate, ElectionOracle, MajorityOracle};
pub use fle::ElectionMode;
use fle::{ElectionConn, ElectionPort};

/// splitmix64: small, fast, good enough for schedules.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5eed_2ab0_c0de_1234)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low + 1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn pick(&mut self, count: usize) -> usize {
        (self.next_u64() % count as u64) as usize
    }
}

/// The knobs of one schedule.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub voters: usize,
    pub observers: usize,
    /// Faults happen during this much simulated time.
    pub fault_phase_ms: u64,
    /// After healing, the ensemble must converge and commit a final write within
    /// this (see [`LIVENESS_BOUND_MS_FLE`]).
    pub liveness_bound_ms: u64,
    /// Mean time between injected faults.
    pub fault_interval_ms: u64,
    /// Mean time between client writes.
    pub write_interval_ms: u64,
    /// Events processed at most (a runaway schedule fails instead of hanging).
    pub step_budget: u64,
    pub planted_bug: Option<PlantedBug>,
    /// The leader's DIFF window (small, so SNAP syncs happen).
    pub committed_log_entries_max: usize,
    /// The real FLE (default) or the oracle.
    pub election: ElectionMode,
    /// After the heal, end an acceptedEpoch lockout by restarting the leader
    /// (see [`Sim::epoch_locked_out`]); off, the lockout fails liveness.
    pub restart_leader_on_epoch_lockout: bool,
}

/// The liveness bound under the oracle: elections take one oracle pass, so this
/// is Zab's time to sync and a few rounds of give-ups.
pub const LIVENESS_BOUND_MS_ORACLE: u64 = 30_000;
/// The liveness bound under the real FLE: the oracle's 30 s plus one maximum
/// notification interval (60 s). A server that was LOOKING through the faults
/// has backed off (200 ms doubling, capped at 60 s) and neither re-sends nor
/// redials a peer whose dial failed until its timeout fires, so the first round
/// after the heal can wait that long; the 200 ms finalize waits and the rounds
/// Zab's give-ups cause fit in the oracle's 30 s.
pub const LIVENESS_BOUND_MS_FLE: u64 =
    LIVENESS_BOUND_MS_ORACLE + crate::zookeeper::quorum::election::MAX_NOTIFICATION_INTERVAL_MS;

impl SimConfig {
    /// A schedule drawn from the seed: 3 or 5 voters, sometimes an observer.
    pub fn from_seed(seed: u64) -> SimConfig {
        let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(7));
        SimConfig {
            seed,
            voters: if rng.chance(70) { 3 } else { 5 },
            observers: if rng.chance(25) { 1 } else { 0 },
            fault_phase_ms: rng.range(3_000, 8_000),
            liveness_bound_ms: LIVENESS_BOUND_MS_FLE,
            fault_interval_ms: rng.range(150, 600),
            write_interval_ms: rng.range(15, 80),
            step_budget: 400_000,
            planted_bug: None,
            committed_log_entries_max: rng.range(5, 40) as usize,
            election: ElectionMode::Fle,
            restart_leader_on_epoch_lockout: true,
        }
    }

    /// The same schedule decided by the oracle instead of FLE.
    pub fn with_election(mut self, election: ElectionMode) -> SimConfig {
        self.election = election;
        if election == ElectionMode::Oracle {
            self.liveness_bound_ms = LIVENESS_BOUND_MS_ORACLE;
        }
        self
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct SimReport {
    pub seed: u64,
    pub violations: Vec<String>,
    pub faults: u64,
    pub acknowledged_writes: usize,
    pub steps: u64,
    pub simulated_ms: u64,
    /// How long after the heal the ensemble converged (`None`: it did not).
    pub converged_after_heal_ms: Option<u64>,
    /// Times the run restarted a leader to end an acceptedEpoch lockout.
    pub epoch_lockouts: u64,
    /// What the election port carried (FLE mode).
    pub election: fle::ElectionCounts,
}

const TICK_INTERVAL_MS: u64 = 50;
/// How often the oracle runs, and how often `settle` checks for convergence.
const ELECTION_INTERVAL_MS: u64 = 100;
/// Apache's `Learner.connectToLeader`: up to 5 dials, 100 ms apart
/// (`leaderConnectDelayDuringRetryMs`), before the learner gives up. Under FLE
/// a follower often decides before its leader finishes the 200 ms finalize wait
/// and listens on the quorum port.
const LEADER_CONNECT_TRIES_MAX: u32 = 5;
const LEADER_CONNECT_RETRY_MS: u64 = 100;
/// The final write and its retries after leader changes.
const FINAL_WRITE_TRIES_MAX: usize = 5;
const NETWORK_DELAY_MS_MAX: u64 = 20;
const DISK_DELAY_MS_MAX: u64 = 15;
/// One fsync in `DISK_STALL_ONE_IN` stalls for up to this long (fsync latency is
/// heavy-tailed on real disks, and the stalls widen every crash window).
const DISK_STALL_MS_MAX: u64 = 400;
const DISK_STALL_ONE_IN: u64 = 10;
/// How often a currentEpoch write is followed by a crash of its writer.
const CRASH_NEAR_EPOCH_WRITE_PERCENT: u64 = 15;

enum Payload {
    Zab(QuorumMessage),
    Snapshot {
        zxid: Zxid,
        state: Arc<Vec<Applied>>,
    },
}

enum Event {
    Deliver {
        conn: u64,
        to: usize,
        from: usize,
        payload: Payload,
    },
    Connect {
        learner: usize,
        leader: usize,
        incarnation: u64,
        tries: u32,
    },
    Closed {
        conn: u64,
        to: usize,
        from: usize,
    },
    Fsync {
        server: usize,
        incarnation: u64,
        upto_seq: u64,
    },
    EpochWritten {
        server: usize,
        incarnation: u64,
        file: EpochFile,
        epoch: Epoch,
    },
    SnapshotWritten {
        server: usize,
        incarnation: u64,
        zxid: Zxid,
        state: Arc<Vec<Applied>>,
    },
    TruncateDone {
        server: usize,
        incarnation: u64,
        zxid: Zxid,
    },
    Tick,
    Election,
    /// FLE's deadline for one server (stale when the deadline moved).
    FleTick {
        server: usize,
        incarnation: u64,
        deadline_ms: u64,
    },
    /// A dial of the election connection of `pair` completes (or retries).
    ElectionDial {
        pair: (usize, usize),
        attempt: u64,
    },
    ElectionDeliver {
        conn: u64,
        from: usize,
        to: usize,
        notification: Notification,
    },
    Fault,
    Heal,
    ClientWrite,
    Crash {
        server: usize,
    },
    Restart {
        server: usize,
    },
    EndFaults,
}

struct Scheduled {
    at_ms: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at_ms, self.seq) == (other.at_ms, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at_ms, self.seq).cmp(&(other.at_ms, other.seq))
    }
}

struct LogRecord {
    txn: Arc<TxnEntry>,
    seq: u64,
    durable: bool,
}

/// One server's files.
#[derive(Default)]
struct Disk {
    log: Vec<LogRecord>,
    snapshot: Option<(Zxid, Arc<Vec<Applied>>)>,
    accepted_epoch: Option<Epoch>,
    current_epoch: Option<Epoch>,
}

struct Conn {
    learner: usize,
    leader: usize,
    open: bool,
    /// Last delivery time per direction (0: to the leader, 1: to the learner),
    /// so delivery stays FIFO.
    last_delivery_ms: [u64; 2],
}

struct Server {
    id: ServerId,
    observer: bool,
    alive: bool,
    incarnation: u64,
    zab: Option<Zab>,
    disk: Disk,
    state: Vec<Applied>,
    serving: bool,
    next_seq: u64,
    fsync_in_flight: bool,
    /// Learner side: the connection to the leader.
    leader_conn: Option<u64>,
    /// Leader side: connections by learner index.
    learner_conns: BTreeMap<usize, u64>,
    /// Client writes this incarnation proposed, by zxid.
    proposed_writes: BTreeMap<Zxid, u64>,
    /// Epoch files are written one at a time per file, in request order.
    epoch_write_last_ms: [u64; 2],
    /// The election port (FLE mode).
    election: ElectionPort,
}

pub struct Sim {
    config: SimConfig,
    rng: Rng,
    now_ms: u64,
    seq: u64,
    events: BinaryHeap<Reverse<Scheduled>>,
    servers: Vec<Server>,
    conns: BTreeMap<u64, Conn>,
    next_conn: u64,
    groups: Vec<u32>,
    oracle: Box<dyn ElectionOracle>,
    /// Election connections by (lower index, higher index).
    election_conns: BTreeMap<(usize, usize), ElectionConn>,
    /// Names dial attempts and election connections.
    next_election_attempt: u64,
    /// When the faults stopped and everything was healed.
    healed_at_ms: Option<u64>,
    pub checker: Checker,
    next_value: u64,
    faults_active: bool,
    faults: u64,
    steps: u64,
    /// A scripted test can stop random faults and writes entirely.
    scripted: bool,
    converged_after_heal_ms: Option<u64>,
    epoch_lockouts: u64,
    election_counts: fle::ElectionCounts,
    /// Print every output and input (`SIM_TRACE=1`).
    pub trace: bool,
}

/// The txn a client write becomes: opaque to Zab except its zxid; the value
/// rides in `clientId`.
pub fn make_txn(value: u64, zxid: Zxid) -> TxnEntry {
    TxnEntry {
        header: TxnHeader {
            client_id: value as i64,
            cxid: 0,
            zxid: zxid.0,
            time: 0,
            op: -1,
        },
        body: TxnBody::Error(ErrorTxn { err: 0 }),
        digest: None,
    }
}

fn applied_of(txn: &TxnEntry) -> Applied {
    (txn_zxid(txn), txn.header.client_id as u64)
}

impl Sim {
    pub fn new(config: SimConfig) -> Sim {
        let total = config.voters + config.observers;
        let voters: Vec<ServerId> = (1..=config.voters as i64).map(ServerId).collect();
        let observers: Vec<ServerId> = (config.voters as i64 + 1..=total as i64)
            .map(ServerId)
            .collect();
        let mut sim = Sim {
            rng: Rng::new(config.seed),
            now_ms: 0,
            seq: 0,
            events: BinaryHeap::new(),
            servers: Vec::new(),
            conns: BTreeMap::new(),
            next_conn: 1,
            groups: vec![0; total],
            oracle: Box::new(MajorityOracle),
            election_conns: BTreeMap::new(),
            next_election_attempt: 0,
            healed_at_ms: None,
            checker: Checker::default(),
            next_value: 1,
            faults_active: true,
            faults: 0,
            steps: 0,
            scripted: false,
            converged_after_heal_ms: None,
            epoch_lockouts: 0,
            election_counts: fle::ElectionCounts::default(),
            trace: std::env::var_os("SIM_TRACE").is_some(),
            config,
        };
        for index in 0..total {
            let id = ServerId(index as i64 + 1);
            sim.servers.push(Server {
                id,
                observer: observers.contains(&id),
                alive: false,
                incarnation: 0,
                zab: None,
                disk: Disk::default(),
                state: Vec::new(),
                serving: false,
                next_seq: 1,
                fsync_in_flight: false,
                leader_conn: None,
                learner_conns: BTreeMap::new(),
                proposed_writes: BTreeMap::new(),
                epoch_write_last_ms: [0, 0],
                election: ElectionPort::default(),
            });
        }
        let _ = voters;
        for index in 0..total {
            sim.start_server(index);
        }
        sim.schedule(0, Event::Tick);
        if sim.config.election == ElectionMode::Oracle {
            sim.schedule(0, Event::Election);
        }
        sim
    }

    /// A simulation with no random faults or writes: tests drive it by hand.
    pub fn scripted(config: SimConfig) -> Sim {
        let mut sim = Sim::new(config);
        sim.scripted = true;
        sim.faults_active = false;
        sim
    }

    fn zab_config(&self, index: usize) -> ZabConfig {
        let voters: Vec<ServerId> = (1..=self.config.voters as i64).map(ServerId).collect();
        let observers: Vec<ServerId> = (self.config.voters as i64 + 1
            ..=(self.config.voters + self.config.observers) as i64)
            .map(ServerId)
            .collect();
        let mut config = ZabConfig::new(ServerId(index as i64 + 1), voters, observers);
        config.tick_ms = 100;
        config.init_limit_ticks = 10;
        config.sync_limit_ticks = 5;
        config.committed_log_entries_max = self.config.committed_log_entries_max;
        config.planted_bug = self.config.planted_bug;
        config
    }

    fn schedule(&mut self, delay_ms: u64, event: Event) {
        self.seq += 1;
        self.events.push(Reverse(Scheduled {
            at_ms: self.now_ms + delay_ms,
            seq: self.seq,
            event,
        }));
    }

    /// Runs a whole random schedule: faults, then healing, convergence and a
    /// final write, then the end-state checks.
    pub fn run(config: SimConfig) -> SimReport {
        let mut sim = Sim::new(config);
        let fault_delay = sim.rng.range(0, sim.config.fault_interval_ms);
        sim.schedule(fault_delay, Event::Fault);
        let write_delay = sim.rng.range(0, sim.config.write_interval_ms);
        sim.schedule(write_delay, Event::ClientWrite);
        sim.schedule(sim.config.fault_phase_ms, Event::EndFaults);
        sim.run_until(sim.config.fault_phase_ms);
        sim.heal_all();
        let mut deadline_ms = sim.now_ms + sim.config.liveness_bound_ms;
        let mut converged = sim.settle(deadline_ms);
        if !converged && sim.config.restart_leader_on_epoch_lockout {
            converged = sim.resolve_epoch_lockout(&mut deadline_ms);
        }
        sim.converged_after_heal_ms =
            converged.then(|| sim.now_ms - sim.healed_at_ms.unwrap_or(sim.now_ms));
        if !converged {
            let status = sim.status();
            sim.checker.violations.push(format!(
                "liveness: no convergence within the bound after healing; {status}"
            ));
        } else if let Err(why) = sim.final_write(deadline_ms) {
            sim.checker
                .violations
                .push(format!("liveness: final write: {why}"));
        }
        sim.final_check();
        sim.report()
    }

    /// If the only servers left out are locked out by their acceptedEpoch (see
    /// [`Sim::epoch_locked_out`]), does what an operator would: restarts the
    /// leader, so a new epoch above every acceptedEpoch is established, and
    /// settles again within a fresh bound. Counted in `SimReport::epoch_lockouts`.
    fn resolve_epoch_lockout(&mut self, deadline_ms: &mut u64) -> bool {
        let locked_out = self.epoch_locked_out();
        let Some(leader) = self.established_leader() else {
            return false;
        };
        let left_out = self
            .servers
            .iter()
            .enumerate()
            .filter(|(index, s)| *index != leader && !(s.alive && s.serving))
            .count();
        if locked_out.is_empty() || locked_out.len() != left_out {
            return false;
        }
        self.epoch_lockouts += 1;
        if self.trace {
            eprintln!(
                "{:>6} epoch lockout of {locked_out:?}: restarting leader s{}",
                self.now_ms,
                leader + 1
            );
        }
        self.crash(leader);
        self.start_server(leader);
        *deadline_ms = self.now_ms + self.config.liveness_bound_ms;
        self.settle(*deadline_ms)
    }

    pub fn report(&self) -> SimReport {
        SimReport {
            seed: self.config.seed,
            violations: self.checker.violations.clone(),
            faults: self.faults,
            acknowledged_writes: self.checker.acknowledged_count(),
            steps: self.steps,
            simulated_ms: self.now_ms,
            converged_after_heal_ms: self.converged_after_heal_ms,
            epoch_lockouts: self.epoch_lockouts,
            election: self.election_counts,
        }
    }

    pub fn final_check(&mut self) {
        let states: Vec<(ServerId, Vec<Applied>)> = self
            .servers
            .iter()
            .filter(|s| s.alive)
            .map(|s| (s.id, s.state.clone()))
            .collect();
        let now_ms = self.now_ms;
        self.checker.final_states(now_ms, &states);
    }

    /// Processes events up to `until_ms`.
    pub fn run_until(&mut self, until_ms: u64) {
        while let Some(Reverse(next)) = self.events.peek() {
            if next.at_ms > until_ms {
                break;
            }
            if self.steps >= self.config.step_budget {
                if !self
                    .checker
                    .violations
                    .iter()
                    .any(|v| v.contains("step budget"))
                {
                    self.checker
                        .violations
                        .push("step budget exhausted".to_string());
                }
                return;
            }
            let Reverse(Scheduled { at_ms, event, .. }) = self.events.pop().expect("peeked");
            self.now_ms = at_ms;
            self.steps += 1;
            self.handle(event);
        }
        self.now_ms = self.now_ms.max(until_ms);
    }

    /// Heals partitions, restarts every crashed server, stops faults.
    pub fn heal_all(&mut self) {
        self.faults_active = false;
        self.healed_at_ms = Some(self.now_ms);
        self.groups.iter_mut().for_each(|group| *group = 0);
        for index in 0..self.servers.len() {
            if !self.servers[index].alive {
                self.start_server(index);
            }
        }
    }

    /// Runs until one established leader serves every other server with equal
    /// states, or the deadline.
    pub fn settle(&mut self, deadline_ms: u64) -> bool {
        while self.now_ms < deadline_ms {
            let until = self.now_ms + ELECTION_INTERVAL_MS;
            self.run_until(until);
            if self.is_converged() {
                return true;
            }
            if self.steps >= self.config.step_budget {
                return false;
            }
        }
        false
    }

    fn is_converged(&self) -> bool {
        let Some(leader) = self.established_leader() else {
            return false;
        };
        let leader_state = &self.servers[leader].state;
        self.servers
            .iter()
            .all(|s| s.alive && s.serving && s.state == *leader_state)
            && self.servers.iter().enumerate().all(|(index, s)| {
                index == leader
                    || s.zab.as_ref().and_then(|zab| zab.leader()) == Some(self.servers[leader].id)
            })
    }

    pub fn established_leader(&self) -> Option<usize> {
        self.servers.iter().position(|s| {
            s.alive
                && s.zab
                    .as_ref()
                    .is_some_and(|zab| zab.is_established_leader())
        })
    }

    /// Submits one write at the established leader and runs until every server
    /// applied it.
    ///
    /// A write the leader never acknowledged may be lost when leadership changes
    /// (connections that died silently during the faults are only found out by
    /// timeouts after the heal); like a client, the run then retries it at the
    /// new leader, at most `FINAL_WRITE_TRIES_MAX` times in all.
    pub fn final_write(&mut self, deadline_ms: u64) -> Result<(), String> {
        let mut leader = self.established_leader().ok_or("no leader")?;
        let mut leader_epoch = self.leading_epoch_of(leader);
        let mut values = vec![self
            .client_write_at(leader)
            .ok_or("the leader refused the write")?];
        while self.now_ms < deadline_ms + 10_000 {
            let until = self.now_ms + ELECTION_INTERVAL_MS;
            self.run_until(until);
            let everywhere = values.iter().any(|value| {
                self.servers
                    .iter()
                    .all(|s| s.state.iter().any(|(_, v)| v == value))
            });
            if everywhere && self.is_converged() {
                return Ok(());
            }
            if self.steps >= self.config.step_budget {
                break;
            }
            if let Some(current) = self.established_leader() {
                let current_epoch = self.leading_epoch_of(current);
                let written_here = values
                    .iter()
                    .any(|value| self.servers[current].state.iter().any(|(_, v)| v == value));
                if (current, current_epoch) != (leader, leader_epoch)
                    && !written_here
                    && values.len() < FINAL_WRITE_TRIES_MAX
                {
                    if let Some(value) = self.client_write_at(current) {
                        values.push(value);
                        (leader, leader_epoch) = (current, current_epoch);
                    }
                }
            }
        }
        Err(format!(
            "values {values:?} not everywhere; {}",
            self.status()
        ))
    }

    fn leading_epoch_of(&self, index: usize) -> Option<Epoch> {
        self.servers[index]
            .zab
            .as_ref()
            .and_then(|zab| zab.leading_epoch())
            .flatten()
    }

    /// Servers an established leader cannot take: alive, not serving, with an
    /// acceptedEpoch above the leader's epoch. Apache's learner refuses a
    /// LEADERINFO below its acceptedEpoch (`Learner.registerWithLeader`: "Leaders
    /// epoch ... is less than accepted epoch") and goes LOOKING, and FLE sends it
    /// straight back to the same leader; only a leader change ends it.
    pub fn epoch_locked_out(&self) -> Vec<usize> {
        let Some(leader) = self.established_leader() else {
            return Vec::new();
        };
        let Some(epoch) = self.leading_epoch_of(leader) else {
            return Vec::new();
        };
        self.servers
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.alive
                    && !s.serving
                    && s.zab
                        .as_ref()
                        .is_some_and(|zab| zab.accepted_epoch() > epoch)
            })
            .map(|(index, _)| index)
            .collect()
    }

    pub fn status(&self) -> String {
        let mut out = String::new();
        for s in &self.servers {
            let role = match &s.zab {
                None => "down".to_string(),
                Some(zab) if zab.is_established_leader() => "LEADER".to_string(),
                Some(zab) if zab.leading_epoch().is_some() => "leading(unestablished)".to_string(),
                Some(zab) if zab.is_looking() => "looking".to_string(),
                Some(zab) => format!("learner of {:?}", zab.leader().map(|l| l.0)),
            };
            let vote = s.zab.as_ref().map(|zab| zab.vote());
            let index = s.id.0 as usize - 1;
            let election = if self.config.election == ElectionMode::Fle {
                format!(" {}", self.election_status(index))
            } else {
                String::new()
            };
            out.push_str(&format!(
                "[{} {role} serving={} applied={} vote={:?} group={}{election}] ",
                s.id,
                s.serving,
                s.state.len(),
                vote.map(|(e, z)| (e.0, z.to_string())),
                self.groups[index]
            ));
        }
        out
    }

    /// A client write at server `index` if it is an established leader.
    pub fn client_write_at(&mut self, index: usize) -> Option<u64> {
        let value = self.next_value;
        let now_ms = self.now_ms;
        let server = &mut self.servers[index];
        let zab = server.zab.as_mut()?;
        let txn = zab.propose(now_ms, make_txn(value, Zxid(0))).ok()?;
        if self.trace {
            eprintln!(
                "{now_ms:>6} s{} client write {value} proposed as {}",
                index + 1,
                txn_zxid(&txn)
            );
        }
        self.next_value += 1;
        server.proposed_writes.insert(txn_zxid(&txn), value);
        self.drain(index);
        Some(value)
    }

    fn start_server(&mut self, index: usize) {
        let config = self.zab_config(index);
        let server = &mut self.servers[index];
        server.incarnation += 1;
        server.alive = true;
        server.serving = false;
        server.leader_conn = None;
        server.learner_conns.clear();
        server.proposed_writes.clear();
        server.fsync_in_flight = false;
        let recovered = Self::recover(server, self.config.committed_log_entries_max);
        if self.config.election == ElectionMode::Fle {
            self.election_start_process(index);
        }
        let server = &mut self.servers[index];
        match Zab::new(config, recovered) {
            Ok(zab) => server.zab = Some(zab),
            Err(error) => {
                let id = server.id;
                server.zab = None;
                server.alive = false;
                let now_ms = self.now_ms;
                self.checker
                    .violations
                    .push(format!("t={now_ms}ms: server {id} cannot start: {error}"));
                return;
            }
        }
        self.drain(index);
    }

    /// Snapshot + log replay (everything in the log: after a crash only the
    /// durable part is left; a reload reads the page cache too).
    fn recover(server: &mut Server, recent_max: usize) -> Recovered {
        let mut state: Vec<Applied> = match &server.disk.snapshot {
            Some((_, snapshot)) => snapshot.as_ref().clone(),
            None => Vec::new(),
        };
        for record in &server.disk.log {
            let applied = applied_of(&record.txn);
            if state.last().is_none_or(|last| applied.0 > last.0) {
                state.push(applied);
            }
        }
        let last_zxid = state.last().map(|(zxid, _)| *zxid).unwrap_or(Zxid(0));
        // After a crash only durable records are left; a reload also reads the
        // unsynced ones, so it says how far the disk really is.
        let durable_zxid = server
            .disk
            .log
            .iter()
            .position(|record| !record.durable)
            .map(|first_unsynced| {
                let snapshot_zxid = server
                    .disk
                    .snapshot
                    .as_ref()
                    .map(|(zxid, _)| *zxid)
                    .unwrap_or(Zxid(0));
                server.disk.log[..first_unsynced]
                    .iter()
                    .map(|record| txn_zxid(&record.txn))
                    .fold(snapshot_zxid, Zxid::max)
            });
        let recent_txns = state[state.len().saturating_sub(recent_max)..]
            .iter()
            .map(|(zxid, value)| Arc::new(make_txn(*value, *zxid)))
            .collect();
        server.state = state;
        Recovered {
            accepted_epoch: server.disk.accepted_epoch,
            current_epoch: server.disk.current_epoch,
            last_zxid,
            recent_txns,
            durable_zxid,
        }
    }

    fn crash(&mut self, index: usize) {
        if self.trace {
            eprintln!("{:>6} s{} CRASH", self.now_ms, index + 1);
        }
        let server = &mut self.servers[index];
        if !server.alive {
            return;
        }
        server.alive = false;
        server.serving = false;
        server.zab = None;
        server.state.clear();
        server.disk.log.retain(|record| record.durable);
        server.fsync_in_flight = false;
        let conns: Vec<u64> = server
            .leader_conn
            .take()
            .into_iter()
            .chain(server.learner_conns.values().copied())
            .collect();
        server.learner_conns.clear();
        for conn in conns {
            self.close_conn(conn, index);
        }
        self.election_crash(index);
    }

    /// Closes a connection from `closer`'s side; the other side hears of it
    /// shortly (queued messages are lost).
    fn close_conn(&mut self, conn_id: u64, closer: usize) {
        let Some(conn) = self.conns.get_mut(&conn_id) else {
            return;
        };
        if !conn.open {
            return;
        }
        conn.open = false;
        let other = if conn.learner == closer {
            conn.leader
        } else {
            conn.learner
        };
        let delay = self.rng.range(1, NETWORK_DELAY_MS_MAX);
        self.schedule(
            delay,
            Event::Closed {
                conn: conn_id,
                to: other,
                from: closer,
            },
        );
    }

    fn step(&mut self, index: usize, input: Input) {
        let now_ms = self.now_ms;
        let server = &mut self.servers[index];
        if !server.alive {
            return;
        }
        let Some(zab) = server.zab.as_mut() else {
            return;
        };
        if self.trace && !matches!(input, Input::Tick) {
            eprintln!("{now_ms:>6} s{} <- {}", index + 1, describe_input(&input));
        }
        zab.step(now_ms, input);
        self.drain(index);
    }

    /// Executes a server's outputs in order, then starts the election Zab asked
    /// for once Zab is LOOKING.
    fn drain(&mut self, index: usize) {
        self.drain_outputs(index);
        self.election_maybe_start(index);
    }

    fn drain_outputs(&mut self, index: usize) {
        loop {
            let outputs = match self.servers[index].zab.as_mut() {
                Some(zab) => zab.take_outputs(),
                None => return,
            };
            if outputs.is_empty() {
                return;
            }
            for output in outputs {
                self.execute(index, output);
            }
        }
    }

    fn send(&mut self, from: usize, to_id: ServerId, payload: Payload) {
        let to = to_id.0 as usize - 1;
        let server = &self.servers[from];
        let conn_id = if server
            .leader_conn
            .is_some_and(|c| self.conns.get(&c).is_some_and(|conn| conn.leader == to))
        {
            server.leader_conn
        } else {
            server.learner_conns.get(&to).copied()
        };
        let Some(conn_id) = conn_id else { return };
        let delay = self.rng.range(1, NETWORK_DELAY_MS_MAX);
        let Some(conn) = self.conns.get_mut(&conn_id) else {
            return;
        };
        if !conn.open {
            return;
        }
        let direction = if conn.leader == to { 0 } else { 1 };
        let at_ms = (self.now_ms + delay).max(conn.last_delivery_ms[direction]);
        conn.last_delivery_ms[direction] = at_ms;
        let delay = at_ms - self.now_ms;
        self.schedule(
            delay,
            Event::Deliver {
                conn: conn_id,
                to,
                from,
                payload,
            },
        );
    }

    /// Crashes land near epoch writes more often than chance would put them
    /// there (FoundationDB's "buggify"): that is where persistence order matters.
    fn maybe_crash_soon(&mut self, index: usize) {
        if self.faults_active && self.rng.chance(CRASH_NEAR_EPOCH_WRITE_PERCENT) {
            let delay = self.rng.range(0, DISK_DELAY_MS_MAX * 2);
            self.schedule(delay, Event::Crash { server: index });
        }
    }

    fn fsync_delay_ms(&mut self) -> u64 {
        if self.rng.range(1, DISK_STALL_ONE_IN) == 1 {
            self.rng.range(DISK_DELAY_MS_MAX, DISK_STALL_MS_MAX)
        } else {
            self.rng.range(1, DISK_DELAY_MS_MAX)
        }
    }

    fn write_epoch(&mut self, index: usize, file: EpochFile, epoch: Epoch) {
        let incarnation = self.servers[index].incarnation;
        let slot = if file == EpochFile::Accepted { 0 } else { 1 };
        let at_ms = (self.now_ms + self.rng.range(1, DISK_DELAY_MS_MAX))
            .max(self.servers[index].epoch_write_last_ms[slot]);
        self.servers[index].epoch_write_last_ms[slot] = at_ms;
        let delay = at_ms - self.now_ms;
        self.schedule(
            delay,
            Event::EpochWritten {
                server: index,
                incarnation,
                file,
                epoch,
            },
        );
    }

    fn execute(&mut self, index: usize, output: Output) {
        if self.trace {
            eprintln!("{:>6} s{} {:?}", self.now_ms, index + 1, output);
        }
        let now_ms = self.now_ms;
        let incarnation = self.servers[index].incarnation;
        let id = self.servers[index].id;
        match output {
            Output::Send { to, message } => self.send(index, to, Payload::Zab(message)),
            Output::ReplyPing { zxid } => {
                if let Some(leader) = self.servers[index]
                    .zab
                    .as_ref()
                    .and_then(|zab| zab.leader())
                {
                    self.send(
                        index,
                        leader,
                        Payload::Zab(QuorumMessage::PingFromLearner {
                            zxid,
                            touches: Vec::new(),
                        }),
                    );
                }
            }
            Output::PersistAcceptedEpoch { epoch } => {
                self.write_epoch(index, EpochFile::Accepted, epoch)
            }
            Output::PersistCurrentEpoch { epoch } => {
                self.write_epoch(index, EpochFile::Current, epoch);
                self.maybe_crash_soon(index);
            }
            Output::AppendTxn { txn } => {
                let server = &mut self.servers[index];
                let seq = server.next_seq;
                server.next_seq += 1;
                server.disk.log.push(LogRecord {
                    txn,
                    seq,
                    durable: false,
                });
                if !server.fsync_in_flight {
                    server.fsync_in_flight = true;
                    let delay = self.fsync_delay_ms();
                    self.schedule(
                        delay,
                        Event::Fsync {
                            server: index,
                            incarnation,
                            upto_seq: seq,
                        },
                    );
                }
            }
            Output::TruncateLog { zxid } => {
                let server = &mut self.servers[index];
                server
                    .disk
                    .log
                    .retain(|record| txn_zxid(&record.txn) <= zxid);
                if let Some((snapshot_zxid, snapshot)) = &mut server.disk.snapshot {
                    if *snapshot_zxid > zxid {
                        // The model keeps whole histories in snapshots, so it can cut
                        // one back; a real server falls back to an older snapshot.
                        let kept: Vec<Applied> = snapshot
                            .iter()
                            .copied()
                            .filter(|(z, _)| *z <= zxid)
                            .collect();
                        *snapshot_zxid = kept.last().map(|(z, _)| *z).unwrap_or(Zxid(0));
                        *snapshot = Arc::new(kept);
                    }
                }
                server.state.retain(|(z, _)| *z <= zxid);
                let delay = self.rng.range(1, DISK_DELAY_MS_MAX);
                self.schedule(
                    delay,
                    Event::TruncateDone {
                        server: index,
                        incarnation,
                        zxid,
                    },
                );
            }
            Output::TakeSnapshot { zxid } => {
                let state = Arc::new(self.servers[index].state.clone());
                let last = state.last().map(|(z, _)| *z).unwrap_or(Zxid(0));
                if last != zxid {
                    self.checker.violations.push(format!(
                        "t={now_ms}ms: {id} snapshot at {zxid} but state ends at {last}"
                    ));
                }
                let delay = self.rng.range(1, DISK_DELAY_MS_MAX * 2);
                self.schedule(
                    delay,
                    Event::SnapshotWritten {
                        server: index,
                        incarnation,
                        zxid,
                        state,
                    },
                );
            }
            Output::SendSnapshot { to, zxid } => {
                let state = Arc::new(self.servers[index].state.clone());
                let last = state.last().map(|(z, _)| *z).unwrap_or(Zxid(0));
                if last != zxid {
                    self.checker.violations.push(format!(
                        "t={now_ms}ms: {id} sends snapshot {zxid}, state ends at {last}"
                    ));
                }
                self.send(index, to, Payload::Snapshot { zxid, state });
            }
            Output::LoadSnapshot { snapshot, .. } => {
                match snapshot.downcast_ref::<Vec<Applied>>() {
                    Some(state) => self.servers[index].state = state.clone(),
                    None => self
                        .checker
                        .violations
                        .push("snapshot of the wrong type".into()),
                }
            }
            Output::Apply { txn } => {
                let applied = applied_of(&txn);
                let server = &mut self.servers[index];
                let previous = server.state.last().map(|(z, _)| *z);
                server.state.push(applied);
                let position = server.state.len() - 1;
                let serving = server.serving;
                let acknowledged = server.proposed_writes.remove(&applied.0) == Some(applied.1);
                self.checker.apply_order(now_ms, id, previous, applied.0);
                if serving {
                    self.checker.serving_apply(now_ms, id, position, applied);
                }
                if acknowledged {
                    self.checker.acknowledged(applied);
                }
            }
            Output::ReloadDatabase => {
                let recent_max = self.config.committed_log_entries_max;
                let recovered = Self::recover(&mut self.servers[index], recent_max);
                self.step(index, Input::DatabaseLoaded(recovered));
            }
            Output::CloseLearner { peer } => {
                let peer_index = peer.0 as usize - 1;
                if let Some(conn) = self.servers[index].learner_conns.remove(&peer_index) {
                    self.close_conn(conn, index);
                }
            }
            Output::CloseLeader { .. } => {
                if let Some(conn) = self.servers[index].leader_conn.take() {
                    self.close_conn(conn, index);
                }
            }
            Output::ServeClients { role, epoch } => {
                let server = &mut self.servers[index];
                server.serving = true;
                let state = server.state.clone();
                if role == ServingRole::Leader {
                    self.checker.leader_established(now_ms, epoch.0, id);
                }
                self.checker.serving_state(now_ms, id, &state);
                self.election_serving(index, epoch);
            }
            Output::GoLooking { .. } => {
                let server = &mut self.servers[index];
                server.serving = false;
                server.proposed_writes.clear();
                server.election.pending = true;
            }
            Output::SyncReleased { .. } | Output::Passthrough { .. } => {}
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Deliver {
                conn,
                to,
                from,
                payload,
            } => {
                if !self.conns.get(&conn).is_some_and(|c| c.open)
                    || self.groups[to] != self.groups[from]
                {
                    return;
                }
                let from_id = self.servers[from].id;
                let input = match payload {
                    Payload::Zab(message) => Input::Message {
                        from: from_id,
                        message,
                    },
                    Payload::Snapshot { zxid, state } => {
                        let snapshot: SnapshotData = state;
                        Input::SnapshotReceived {
                            from: from_id,
                            zxid,
                            snapshot,
                        }
                    }
                };
                self.step(to, input);
            }
            Event::Connect {
                learner,
                leader,
                incarnation,
                tries,
            } => {
                if self.servers[learner].incarnation != incarnation || !self.servers[learner].alive
                {
                    return;
                }
                let leader_id = self.servers[leader].id;
                let learner_id = self.servers[learner].id;
                let still_wanted = self.servers[learner]
                    .zab
                    .as_ref()
                    .and_then(|zab| zab.leader())
                    == Some(leader_id);
                if !still_wanted {
                    return;
                }
                let reachable = self.servers[leader].alive
                    && self.groups[leader] == self.groups[learner]
                    && self.servers[leader]
                        .zab
                        .as_ref()
                        .is_some_and(|zab| zab.leading_epoch().is_some());
                if !reachable {
                    if tries + 1 < LEADER_CONNECT_TRIES_MAX {
                        self.schedule(
                            LEADER_CONNECT_RETRY_MS,
                            Event::Connect {
                                learner,
                                leader,
                                incarnation,
                                tries: tries + 1,
                            },
                        );
                    } else {
                        self.step(learner, Input::LeaderDisconnected { leader: leader_id });
                    }
                    return;
                }
                let conn_id = self.next_conn;
                self.next_conn += 1;
                self.conns.insert(
                    conn_id,
                    Conn {
                        learner,
                        leader,
                        open: true,
                        last_delivery_ms: [0, 0],
                    },
                );
                if let Some(old) = self.servers[leader].learner_conns.insert(learner, conn_id) {
                    self.close_conn(old, leader);
                }
                if let Some(old) = self.servers[learner].leader_conn.replace(conn_id) {
                    self.close_conn(old, learner);
                }
                self.step(leader, Input::LearnerConnected { peer: learner_id });
                self.step(learner, Input::LeaderConnected { leader: leader_id });
            }
            Event::Closed { conn, to, from } => {
                let from_id = self.servers[from].id;
                let server = &mut self.servers[to];
                if server.leader_conn == Some(conn) {
                    server.leader_conn = None;
                    self.step(to, Input::LeaderDisconnected { leader: from_id });
                } else if server.learner_conns.get(&from) == Some(&conn) {
                    server.learner_conns.remove(&from);
                    self.step(to, Input::LearnerDisconnected { peer: from_id });
                }
            }
            Event::Fsync {
                server,
                incarnation,
                upto_seq,
            } => {
                let record = &mut self.servers[server];
                if record.incarnation != incarnation || !record.alive {
                    return;
                }
                record.fsync_in_flight = false;
                for entry in record.disk.log.iter_mut() {
                    if entry.seq <= upto_seq {
                        entry.durable = true;
                    }
                }
                let durable_prefix = record
                    .disk
                    .log
                    .iter()
                    .take_while(|entry| entry.durable)
                    .last();
                let zxid = durable_prefix.map(|entry| txn_zxid(&entry.txn));
                if let Some(pending) = record
                    .disk
                    .log
                    .iter()
                    .find(|entry| !entry.durable)
                    .map(|_| record.next_seq - 1)
                {
                    record.fsync_in_flight = true;
                    let delay = self.fsync_delay_ms();
                    self.schedule(
                        delay,
                        Event::Fsync {
                            server,
                            incarnation,
                            upto_seq: pending,
                        },
                    );
                }
                if let Some(zxid) = zxid {
                    self.step(server, Input::LogDurable { zxid });
                }
            }
            Event::EpochWritten {
                server,
                incarnation,
                file,
                epoch,
            } => {
                let record = &mut self.servers[server];
                if record.incarnation != incarnation || !record.alive {
                    return;
                }
                match file {
                    EpochFile::Accepted => record.disk.accepted_epoch = Some(epoch),
                    EpochFile::Current => record.disk.current_epoch = Some(epoch),
                }
                self.step(server, Input::EpochPersisted { file, epoch });
            }
            Event::SnapshotWritten {
                server,
                incarnation,
                zxid,
                state,
            } => {
                let record = &mut self.servers[server];
                if record.incarnation != incarnation || !record.alive {
                    return;
                }
                record.disk.snapshot = Some((zxid, state));
                // The snapshot covers the log up to its zxid (Apache purges such logs).
                record.disk.log.retain(|entry| txn_zxid(&entry.txn) > zxid);
                self.step(server, Input::SnapshotDurable { zxid });
            }
            Event::TruncateDone {
                server,
                incarnation,
                zxid,
            } => {
                if self.servers[server].incarnation == incarnation {
                    self.step(server, Input::TruncateDone { zxid });
                }
            }
            Event::Tick => {
                for index in 0..self.servers.len() {
                    self.step(index, Input::Tick);
                }
                self.schedule(TICK_INTERVAL_MS, Event::Tick);
            }
            Event::FleTick {
                server,
                incarnation,
                deadline_ms,
            } => self.election_tick(server, incarnation, deadline_ms),
            Event::ElectionDial { pair, attempt } => self.election_dial_done(pair, attempt),
            Event::ElectionDeliver {
                conn,
                from,
                to,
                notification,
            } => self.election_deliver(conn, from, to, notification),
            Event::Election => {
                self.run_election();
                let delay = ELECTION_INTERVAL_MS + self.rng.range(0, ELECTION_INTERVAL_MS);
                self.schedule(delay, Event::Election);
            }
            Event::Fault => {
                if !self.faults_active {
                    return;
                }
                self.inject_fault();
                let delay = self.rng.range(1, self.config.fault_interval_ms * 2);
                self.schedule(delay, Event::Fault);
            }
            Event::Heal => {
                if self.faults_active {
                    self.groups.iter_mut().for_each(|group| *group = 0);
                }
            }
            Event::ClientWrite => {
                if self.scripted || !self.faults_active {
                    return;
                }
                if let Some(leader) = self.established_leader() {
                    self.client_write_at(leader);
                }
                let delay = self.rng.range(1, self.config.write_interval_ms * 2);
                self.schedule(delay, Event::ClientWrite);
            }
            Event::Restart { server } => {
                if !self.servers[server].alive {
                    self.start_server(server);
                }
            }
            Event::EndFaults => self.faults_active = false,
            Event::Crash { server } => {
                if self.faults_active && self.servers[server].alive {
                    self.faults += 1;
                    self.crash(server);
                    let downtime = self.rng.range(50, 2_000);
                    self.schedule(downtime, Event::Restart { server });
                }
            }
        }
    }

    /// The one place the election is consulted; the real FLE replaces the oracle.
    pub fn run_election(&mut self) {
        let candidates: Vec<Candidate> = self
            .servers
            .iter()
            .enumerate()
            .map(|(index, s)| Candidate {
                index,
                id: s.id,
                voter: !s.observer,
                alive: s.alive && s.zab.is_some(),
                looking: s.zab.as_ref().is_some_and(|zab| zab.is_looking()),
                leading: s.zab.as_ref().and_then(|zab| zab.leading_epoch()),
                vote: s.zab.as_ref().map(|zab| zab.vote()).unwrap_or_default(),
                group: self.groups[index],
            })
            .collect();
        let decisions = self.oracle.decide(&candidates, self.config.voters);
        for (index, decision) in decisions {
            self.deliver_decision(index, decision);
        }
    }

    /// An election decided server `index`'s role: Zab takes it, and a learner
    /// dials its leader.
    fn deliver_decision(&mut self, index: usize, decision: Decision) {
        self.step(index, Input::Elected(decision));
        if let Decision::Follow { leader } | Decision::Observe { leader } = decision {
            let incarnation = self.servers[index].incarnation;
            let delay = self.rng.range(1, NETWORK_DELAY_MS_MAX);
            self.schedule(
                delay,
                Event::Connect {
                    learner: index,
                    leader: leader.0 as usize - 1,
                    incarnation,
                    tries: 0,
                },
            );
        }
    }

    fn inject_fault(&mut self) {
        self.faults += 1;
        let total = self.servers.len();
        match self.rng.pick(10) {
            0..=3 => {
                let index = self.rng.pick(total);
                self.crash(index);
                let downtime = self.rng.range(50, 2_000);
                self.schedule(downtime, Event::Restart { server: index });
            }
            4..=5 => {
                for group in self.groups.iter_mut() {
                    *group = (self.rng.next_u64() % 2) as u32;
                }
                // Connections across the cut die silently; timeouts find out.
                for conn in self.conns.values_mut() {
                    if conn.open && self.groups[conn.learner] != self.groups[conn.leader] {
                        conn.open = false;
                    }
                }
                self.election_partition();
                let duration = self.rng.range(200, 3_000);
                self.schedule(duration, Event::Heal);
            }
            6..=7 if self.config.election == ElectionMode::Fle && self.rng.chance(30) => {
                self.election_break_one();
            }
            6..=7 => {
                let open: Vec<(u64, usize)> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.open)
                    .map(|(id, c)| (*id, c.learner))
                    .collect();
                if !open.is_empty() {
                    let (conn, learner) = open[self.rng.pick(open.len())];
                    self.close_conn(conn, learner);
                    // Both ends hear of it.
                    let leader = self.conns[&conn].leader;
                    self.schedule(
                        1,
                        Event::Closed {
                            conn,
                            to: learner,
                            from: leader,
                        },
                    );
                }
            }
            _ => {
                // The leader crashes: the most interesting single fault.
                if let Some(leader) = self.established_leader() {
                    self.crash(leader);
                    let downtime = self.rng.range(50, 2_000);
                    self.schedule(downtime, Event::Restart { server: leader });
                }
            }
        }
    }

    // Accessors for scripted tests.

    pub fn server_state(&self, index: usize) -> &[Applied] {
        &self.servers[index].state
    }

    pub fn crash_server(&mut self, index: usize) {
        self.crash(index);
    }

    pub fn restart_server(&mut self, index: usize) {
        if !self.servers[index].alive {
            self.start_server(index);
        }
    }

    pub fn set_groups(&mut self, groups: &[u32]) {
        self.groups.copy_from_slice(groups);
        for conn in self.conns.values_mut() {
            if conn.open && self.groups[conn.learner] != self.groups[conn.leader] {
                conn.open = false;
            }
        }
    }

    pub fn zab(&self, index: usize) -> Option<&Zab> {
        self.servers[index].zab.as_ref()
    }

    pub fn durable_log(&self, index: usize) -> Vec<Zxid> {
        self.servers[index]
            .disk
            .log
            .iter()
            .filter(|r| r.durable)
            .map(|r| txn_zxid(&r.txn))
            .collect()
    }

    pub fn disk_current_epoch(&self, index: usize) -> Option<Epoch> {
        self.servers[index].disk.current_epoch
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }
}

fn describe_input(input: &Input) -> String {
    match input {
        Input::Message { from, message } => format!(
            "{from}: {}",
            crate::zookeeper::quorum::zab::message_name(message)
        ),
        Input::SnapshotReceived { from, zxid, .. } => format!("{from}: snapshot {zxid}"),
        Input::LearnerConnected { peer } => format!("learner {peer} connected"),
        Input::LearnerDisconnected { peer } => format!("learner {peer} disconnected"),
        Input::LeaderConnected { leader } => format!("leader {leader} connected"),
        Input::LeaderDisconnected { leader } => format!("leader {leader} disconnected"),
        Input::Tick => "tick".into(),
        Input::LogDurable { zxid } => format!("log durable {zxid}"),
        Input::EpochPersisted { file, epoch } => format!("{file:?} epoch {} persisted", epoch.0),
        Input::SnapshotDurable { zxid } => format!("snapshot durable {zxid}"),
        Input::TruncateDone { zxid } => format!("truncated {zxid}"),
        Input::DatabaseLoaded(recovered) => format!("database loaded {}", recovered.last_zxid),
        Input::SyncRequest { from } => format!("sync from {from}"),
        Input::Elected(decision) => format!("elected {decision:?}"),
        Input::Abandon { reason } => format!("abandon {reason}"),
    }
}
