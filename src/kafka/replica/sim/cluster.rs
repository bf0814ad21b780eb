//! The simulated cluster: three brokers running `PartitionReplica`, a model ZooKeeper
//! plus controller (partition state znodes with versions, broker sessions that
//! expire), producers, and a network with delays and cuts, all driven by one seeded
//! event queue. No threads, no wall clock.
//!
//! Model decisions (see `sim/mod.rs` for the safety claim they support):
//! - The controller lives with ZooKeeper and never fails; a cut between a broker and
//!   "ZooKeeper" also cuts it from the controller.
//! - A broker's session is refreshed by heartbeats while its ZooKeeper link is up and
//!   expires `SESSION_TIMEOUT_MS` after the last one. A restarted broker can register
//!   only after its old session expired (Kafka's `checkedEphemeralCreate`), so the
//!   controller always sees a bounce as a failure, removing it from ISRs.
//! - Controller→broker requests are retried until delivered (Kafka's
//!   RequestSendThread) and dropped when the broker's session expires; broker→broker
//!   and broker→controller messages are dropped on a cut link and retried by timers.
//!   Every directed link delivers in order (TCP).
//! - A crash is either a process crash (the page cache survives: nothing written is
//!   lost) or a power loss (the unflushed tail of every log is lost). Logs are
//!   flushed every `FLUSH_INTERVAL_MS` (a model of `log.flush.interval.ms`); the
//!   epoch cache is written synchronously, the high watermark checkpoint at flush.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use super::checker::Checker;
use super::log::{Batch, MemLog, Record};
use super::rng::SimRng;
use crate::kafka::controller::election::{self, LeaderAndIsr};
use crate::kafka::replica::state::{
    Acks, AlterPartitionError, AlterPartitionProposal, AlterPartitionResult, BrokerId, EpochEntry,
    FollowerRequest, PartitionReplica, PartitionState, ProduceId, ProduceOutcome, ReplicaError,
    ReplicaOutput, ReplicationConfig, TruncationMode,
};

pub const BROKERS: usize = 3;
pub const SESSION_TIMEOUT_MS: i64 = 1_500;
pub const HEARTBEAT_INTERVAL_MS: i64 = 150;
pub const BROKER_TICK_MS: i64 = 50;
pub const FETCH_TIMEOUT_MS: i64 = 400;
pub const FLUSH_INTERVAL_MS: i64 = 300;
pub const REPLICA_LAG_TIME_MAX_MS: i64 = 1_000;
pub const PRODUCE_TIMEOUT_MS: i64 = 2_000;
/// Bound on queued events; a run that needs more is reported as a failure.
pub const EVENTS_MAX: usize = 2_000_000;

/// What a run's schedule looks like.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub partitions: usize,
    pub fault_phase_ms: i64,
    pub heal_phase_ms: i64,
    pub delay_ms_max: i64,
    pub produce_interval_ms_max: i64,
    pub fault_interval_ms_max: i64,
    /// Percent of crashes that are power losses.
    pub power_loss_percent: u64,
    pub truncation: TruncationMode,
    pub unclean_election: bool,
    pub min_insync_replicas: usize,
    pub planted_bug: Option<crate::kafka::replica::state::PlantedBug>,
}

impl SimConfig {
    /// A random schedule shape drawn from the seed.
    pub fn from_seed(seed: u64) -> SimConfig {
        let mut rng = SimRng::new(seed ^ 0x5eed_c0de);
        SimConfig {
            seed,
            partitions: rng.range(1, 3) as usize,
            fault_phase_ms: rng.range(2_000, 5_000),
            heal_phase_ms: 6_000,
            delay_ms_max: rng.range(1, 40),
            produce_interval_ms_max: rng.range(5, 60),
            fault_interval_ms_max: rng.range(150, 900),
            power_loss_percent: rng.range(0, 30) as u64,
            truncation: if rng.chance(80) {
                TruncationMode::OnFetch
            } else {
                TruncationMode::OffsetForLeaderEpoch
            },
            unclean_election: false,
            min_insync_replicas: 2,
            planted_bug: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Node {
    Broker(usize),
    Controller,
}

#[derive(Debug, Clone)]
enum Message {
    Follower {
        from: usize,
        partition: usize,
        request: FollowerRequest,
    },
    FetchAnswer {
        partition: usize,
        request: FollowerRequest,
        answer: FollowerAnswer,
    },
    LeaderAndIsr {
        partition: usize,
        state: PartitionState,
        broker_epoch: i64,
    },
    AlterPartition {
        from: usize,
        broker_epoch: i64,
        partition: usize,
        proposal: AlterPartitionProposal,
    },
    AlterPartitionAnswer {
        partition: usize,
        proposal_id: u64,
        result: AlterPartitionResult,
    },
}

#[derive(Debug, Clone)]
enum FollowerAnswer {
    Fetch(Result<crate::kafka::replica::state::FetchPartitionResponse<Batch>, ReplicaError>),
    EpochEnd(Result<Option<crate::kafka::replica::state::EpochEndOffset>, ReplicaError>),
    Offsets(Result<crate::kafka::replica::state::LeaderOffsets, ReplicaError>),
}

#[derive(Debug, Clone)]
enum Event {
    Deliver {
        from: Node,
        to: Node,
        message: Message,
    },
    BrokerTick(usize),
    Heartbeats,
    SessionExpiry,
    Produce,
    Fault,
    Heal,
}

struct Hosted {
    core: PartitionReplica,
    log: MemLog,
    /// `leader-epoch-checkpoint` on disk.
    epochs_on_disk: Vec<EpochEntry>,
    /// `replication-offset-checkpoint` on disk.
    high_watermark_on_disk: i64,
    /// The follower request in flight and when it was sent.
    in_flight: Option<(FollowerRequest, i64)>,
}

struct Broker {
    alive: bool,
    incarnation: u32,
    /// The czxid of its registration, once registered in this incarnation.
    broker_epoch: Option<i64>,
    hosted: Vec<Hosted>,
    /// acks=all produces waiting: id -> (partition, value).
    waiting: BTreeMap<ProduceId, (usize, u64)>,
    last_flush_ms: i64,
}

struct ZkPartition {
    replicas: Vec<BrokerId>,
    state: LeaderAndIsr,
    version: i32,
}

struct Session {
    broker_epoch: i64,
    last_heard_ms: i64,
}

/// The model ZooKeeper and controller.
struct Controller {
    zxid: i64,
    sessions: BTreeMap<usize, Session>,
    partitions: Vec<ZkPartition>,
    /// Controller→broker requests waiting for a link (FIFO per broker).
    outbox: BTreeMap<usize, Vec<Message>>,
}

/// Counters for the run report.
#[derive(Debug, Default, Clone)]
pub struct SimStats {
    pub faults: u64,
    pub crashes: u64,
    pub power_losses: u64,
    pub elections: u64,
    pub acked_all: u64,
    pub acked_leader: u64,
    pub produce_errors: u64,
    pub events: u64,
    pub voided_partitions: u64,
}

pub struct Cluster {
    pub config: SimConfig,
    rng: SimRng,
    now_ms: i64,
    seq: u64,
    queue: BinaryHeap<Reverse<(i64, u64, usize)>>,
    events: BTreeMap<usize, Event>,
    next_event_slot: usize,
    brokers: Vec<Broker>,
    controller: Controller,
    /// Directed links that are cut.
    cut: BTreeSet<(Node, Node)>,
    /// Last delivery time per directed link (in-order delivery).
    link_clock: BTreeMap<(Node, Node), i64>,
    next_value: u64,
    next_produce_id: u64,
    faults_on: bool,
    pub checker: Checker,
    pub stats: SimStats,
    /// Prints every notable step (set `KAFKA_SIM_TRACE=1` in a test run of one seed).
    pub trace: bool,
}

fn broker_id(index: usize) -> BrokerId {
    BrokerId(index as i32 + 1)
}

fn broker_index(id: BrokerId) -> usize {
    (id.0 - 1) as usize
}

impl Cluster {
    pub fn new(config: SimConfig) -> Cluster {
        let rng = SimRng::new(config.seed);
        let partitions = config.partitions;
        let mut cluster = Cluster {
            rng,
            now_ms: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            next_event_slot: 0,
            brokers: Vec::new(),
            controller: Controller {
                zxid: 0,
                sessions: BTreeMap::new(),
                partitions: Vec::new(),
                outbox: BTreeMap::new(),
            },
            cut: BTreeSet::new(),
            link_clock: BTreeMap::new(),
            next_value: 1,
            next_produce_id: 1,
            faults_on: true,
            checker: {
                let mut checker = Checker::new(partitions);
                checker.unclean_election = config.unclean_election;
                checker
            },
            stats: SimStats::default(),
            trace: std::env::var_os("KAFKA_SIM_TRACE").is_some(),
            config,
        };
        for index in 0..BROKERS {
            let hosted = (0..partitions)
                .map(|_| cluster.open_hosted(index, MemLog::default(), &[], 0))
                .collect();
            cluster.brokers.push(Broker {
                alive: true,
                incarnation: 0,
                broker_epoch: None,
                hosted,
                waiting: BTreeMap::new(),
                last_flush_ms: 0,
            });
        }
        let all_live: BTreeSet<BrokerId> = (0..BROKERS).map(broker_id).collect();
        for partition in 0..partitions {
            let replicas: Vec<BrokerId> = (0..BROKERS)
                .map(|i| broker_id((partition + i) % BROKERS))
                .collect();
            let state = election::initial(&replicas, &all_live).expect("all brokers live");
            cluster.controller.partitions.push(ZkPartition {
                replicas,
                state,
                version: 0,
            });
        }
        // All brokers register before the controller sends the partitions' first
        // states (their registrations are one ZooKeeper watch batch).
        for index in 0..BROKERS {
            cluster.controller.zxid += 1;
            let broker_epoch = cluster.controller.zxid;
            cluster.controller.sessions.insert(
                index,
                Session {
                    broker_epoch,
                    last_heard_ms: 0,
                },
            );
            cluster.brokers[index].broker_epoch = Some(broker_epoch);
        }
        for partition in 0..partitions {
            cluster.send_leader_and_isr(partition, None);
        }
        for index in 0..BROKERS {
            let first_tick_ms = cluster.rng.range(1, BROKER_TICK_MS);
            cluster.schedule(first_tick_ms, Event::BrokerTick(index));
        }
        cluster.schedule(HEARTBEAT_INTERVAL_MS, Event::Heartbeats);
        cluster.schedule(100, Event::SessionExpiry);
        cluster.schedule(1, Event::Produce);
        cluster.schedule(200, Event::Fault);
        let heal_at = cluster.config.fault_phase_ms;
        cluster.schedule(heal_at, Event::Heal);
        cluster
    }

    fn note(&self, what: impl FnOnce() -> String) {
        if self.trace {
            eprintln!("t={} {}", self.now_ms, what());
        }
    }

    fn replication_config(&self, index: usize) -> ReplicationConfig {
        let mut config = ReplicationConfig::new(broker_id(index));
        config.replica_lag_time_max_ms = REPLICA_LAG_TIME_MAX_MS;
        config.min_insync_replicas = self.config.min_insync_replicas;
        config.truncation = self.config.truncation;
        config.alter_partition_retry_ms = 500;
        config.planted_bug = self.config.planted_bug;
        config
    }

    fn open_hosted(
        &self,
        index: usize,
        log: MemLog,
        epochs: &[EpochEntry],
        high_watermark: i64,
    ) -> Hosted {
        let mut core =
            PartitionReplica::open(self.replication_config(index), epochs, high_watermark, &log);
        core.take_epoch_cache_changed();
        Hosted {
            epochs_on_disk: core.epoch_cache().entries().to_vec(),
            high_watermark_on_disk: core.high_watermark(),
            core,
            log,
            in_flight: None,
        }
    }

    fn schedule(&mut self, after_ms: i64, event: Event) {
        let slot = self.next_event_slot;
        self.next_event_slot += 1;
        self.seq += 1;
        self.events.insert(slot, event);
        self.queue
            .push(Reverse((self.now_ms + after_ms.max(0), self.seq, slot)));
    }

    fn link_up(&self, from: Node, to: Node) -> bool {
        !self.cut.contains(&(from, to))
    }

    /// Sends over a link with a random delay, in order per directed link.
    fn send(&mut self, from: Node, to: Node, message: Message) {
        let delay = self.rng.range(1, self.config.delay_ms_max);
        let at = (self.now_ms + delay).max(*self.link_clock.get(&(from, to)).unwrap_or(&0));
        self.link_clock.insert((from, to), at);
        let after = at - self.now_ms;
        self.schedule(after, Event::Deliver { from, to, message });
    }

    /// Runs the whole schedule: faults, then healing, then the liveness check.
    pub fn run(&mut self) {
        let end = self.config.fault_phase_ms + self.config.heal_phase_ms;
        self.run_until(end);
        self.final_checks();
    }

    fn run_until(&mut self, end_ms: i64) {
        let mut since_check = 0u32;
        while let Some(Reverse((at, _, slot))) = self.queue.peek().copied() {
            if at > end_ms || !self.checker.violations.is_empty() {
                break;
            }
            self.queue.pop();
            let event = self.events.remove(&slot).expect("scheduled");
            self.now_ms = at;
            self.stats.events += 1;
            if self.events.len() > EVENTS_MAX {
                self.checker
                    .violation(at, "event queue bound exceeded".into());
                break;
            }
            self.handle(event);
            since_check += 1;
            if since_check >= 8 {
                since_check = 0;
                self.check_invariants();
            }
        }
        self.now_ms = self.now_ms.max(end_ms);
        self.check_invariants();
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Deliver { from, to, message } => self.deliver(from, to, message),
            Event::BrokerTick(index) => {
                self.broker_tick(index);
                self.schedule(BROKER_TICK_MS, Event::BrokerTick(index));
            }
            Event::Heartbeats => {
                self.heartbeats();
                self.schedule(HEARTBEAT_INTERVAL_MS, Event::Heartbeats);
            }
            Event::SessionExpiry => {
                self.expire_sessions();
                self.schedule(100, Event::SessionExpiry);
            }
            Event::Produce => {
                if self.faults_on {
                    self.produce_random();
                    let next = self.rng.range(1, self.config.produce_interval_ms_max);
                    self.schedule(next, Event::Produce);
                }
            }
            Event::Fault => {
                if self.faults_on {
                    self.inject_fault();
                    let next = self.rng.range(50, self.config.fault_interval_ms_max);
                    self.schedule(next, Event::Fault);
                }
            }
            Event::Heal => self.heal_everything(),
        }
    }

    // ---------------------------------------------------------------- faults

    fn inject_fault(&mut self) {
        self.stats.faults += 1;
        let alive: Vec<usize> = (0..BROKERS).filter(|i| self.brokers[*i].alive).collect();
        let dead: Vec<usize> = (0..BROKERS).filter(|i| !self.brokers[*i].alive).collect();
        match self.rng.range(0, 9) {
            0 | 1 => {
                if let Some(index) = self.rng.pick(&alive) {
                    let power_loss = self.rng.chance(self.config.power_loss_percent);
                    self.crash(index, power_loss);
                }
            }
            2 | 3 => {
                if let Some(index) = self.rng.pick(&dead) {
                    self.restart(index);
                }
            }
            4 => {
                let a = self.rng.range(0, BROKERS as i64 - 1) as usize;
                let b = (a + self.rng.range(1, BROKERS as i64 - 1) as usize) % BROKERS;
                self.note(|| format!("cut broker {a}<->{b}"));
                self.cut.insert((Node::Broker(a), Node::Broker(b)));
                self.cut.insert((Node::Broker(b), Node::Broker(a)));
            }
            5 => {
                let a = self.rng.range(0, BROKERS as i64 - 1) as usize;
                self.note(|| format!("cut broker {a}<->controller"));
                self.cut.insert((Node::Broker(a), Node::Controller));
                self.cut.insert((Node::Controller, Node::Broker(a)));
            }
            6 | 7 => {
                let links: Vec<(Node, Node)> = self.cut.iter().copied().collect();
                if let Some((a, b)) = self.rng.pick(&links) {
                    self.heal_link(a, b);
                }
            }
            8 => self.preferred_election(),
            _ => {
                // A one-way cut (asymmetric partitions happen).
                let a = self.rng.range(0, BROKERS as i64 - 1) as usize;
                let b = (a + 1) % BROKERS;
                self.note(|| format!("cut broker {a}->{b} one way"));
                self.cut.insert((Node::Broker(a), Node::Broker(b)));
            }
        }
    }

    fn heal_link(&mut self, a: Node, b: Node) {
        self.note(|| format!("heal {a:?}<->{b:?}"));
        self.cut.remove(&(a, b));
        self.cut.remove(&(b, a));
        for node in [a, b] {
            if let Node::Broker(index) = node {
                self.flush_outbox(index);
            }
        }
    }

    fn heal_everything(&mut self) {
        self.faults_on = false;
        let links: Vec<(Node, Node)> = self.cut.iter().copied().collect();
        for (a, b) in links {
            self.heal_link(a, b);
        }
        for index in 0..BROKERS {
            if !self.brokers[index].alive {
                self.restart(index);
            }
        }
    }

    fn crash(&mut self, index: usize, power_loss: bool) {
        self.stats.crashes += 1;
        self.note(|| format!("crash broker {index} power_loss={power_loss}"));
        if power_loss {
            self.stats.power_losses += 1;
        }
        let broker = &mut self.brokers[index];
        broker.alive = false;
        broker.broker_epoch = None;
        broker.waiting.clear();
        for (partition, hosted) in broker.hosted.iter_mut().enumerate() {
            if power_loss && hosted.log.lose_unflushed() > 0 {
                self.checker.lost_unflushed(index, partition);
            }
        }
    }

    fn restart(&mut self, index: usize) {
        self.note(|| format!("restart broker {index}"));
        let mut hosted = Vec::new();
        let old = std::mem::take(&mut self.brokers[index].hosted);
        for h in old {
            hosted.push(self.open_hosted(
                index,
                h.log,
                &h.epochs_on_disk,
                h.high_watermark_on_disk,
            ));
        }
        let broker = &mut self.brokers[index];
        broker.hosted = hosted;
        broker.alive = true;
        broker.incarnation += 1;
        broker.broker_epoch = None;
        broker.last_flush_ms = self.now_ms;
        self.try_register(index);
    }

    // ---------------------------------------------------- ZooKeeper sessions

    fn heartbeats(&mut self) {
        for index in 0..BROKERS {
            let broker = &self.brokers[index];
            if !broker.alive || !self.link_up(Node::Broker(index), Node::Controller) {
                continue;
            }
            let session_matches = match (self.controller.sessions.get(&index), broker.broker_epoch)
            {
                (Some(session), Some(epoch)) => session.broker_epoch == epoch,
                _ => false,
            };
            if session_matches {
                let now = self.now_ms;
                self.controller
                    .sessions
                    .get_mut(&index)
                    .expect("matched")
                    .last_heard_ms = now;
            } else {
                self.try_register(index);
            }
        }
    }

    /// Registers `/brokers/ids/N` if no session of an older incarnation still holds it.
    fn try_register(&mut self, index: usize) {
        if !self.brokers[index].alive
            || !self.link_up(Node::Broker(index), Node::Controller)
            || self.controller.sessions.contains_key(&index)
        {
            return;
        }
        self.controller.zxid += 1;
        let broker_epoch = self.controller.zxid;
        self.controller.sessions.insert(
            index,
            Session {
                broker_epoch,
                last_heard_ms: self.now_ms,
            },
        );
        self.brokers[index].broker_epoch = Some(broker_epoch);
        self.on_broker_startup(index);
    }

    fn expire_sessions(&mut self) {
        let now = self.now_ms;
        let expired: Vec<usize> = self
            .controller
            .sessions
            .iter()
            .filter(|(_, session)| now - session.last_heard_ms > SESSION_TIMEOUT_MS)
            .map(|(index, _)| *index)
            .collect();
        for index in expired {
            self.note(|| format!("session of broker {index} expired"));
            self.controller.sessions.remove(&index);
            self.controller.outbox.remove(&index);
            self.elect_after_liveness_change();
        }
    }

    fn live_brokers(&self) -> BTreeSet<BrokerId> {
        self.controller
            .sessions
            .keys()
            .map(|index| broker_id(*index))
            .collect()
    }

    // ------------------------------------------------------------ controller

    fn partition_state(&self, partition: usize) -> PartitionState {
        let zk = &self.controller.partitions[partition];
        PartitionState {
            leader: zk.state.leader,
            leader_epoch: zk.state.leader_epoch,
            isr: zk.state.isr.clone(),
            partition_epoch: zk.version,
            replicas: zk.replicas.clone(),
        }
    }

    /// Writes a new leader/ISR (version + 1) and sends LeaderAndIsr to live replicas.
    fn write_partition(&mut self, partition: usize, next: LeaderAndIsr) {
        let now = self.now_ms;
        let leader_changed = next.leader != self.controller.partitions[partition].state.leader;
        if let Some(leader) = next.leader {
            if leader_changed {
                self.stats.elections += 1;
                let leader_index = broker_index(leader);
                let log = &self.brokers[leader_index].hosted[partition].log;
                if self
                    .checker
                    .elected_leader_lacks_acked(now, leader_index, partition, log)
                {
                    self.stats.voided_partitions += 1;
                }
            }
        }
        self.note(|| format!("controller writes p{partition} {next:?}"));
        let zk = &mut self.controller.partitions[partition];
        zk.state = next;
        zk.version += 1;
        self.send_leader_and_isr(partition, None);
    }

    /// LeaderAndIsr for `partition` to its live replicas (or only `to`).
    fn send_leader_and_isr(&mut self, partition: usize, to: Option<usize>) {
        let state = self.partition_state(partition);
        for replica in state.replicas.clone() {
            let index = broker_index(replica);
            if to.is_some_and(|only| only != index) {
                continue;
            }
            let Some(session) = self.controller.sessions.get(&index) else {
                continue;
            };
            let message = Message::LeaderAndIsr {
                partition,
                state: state.clone(),
                broker_epoch: session.broker_epoch,
            };
            self.controller_send(index, message);
        }
    }

    fn controller_send(&mut self, index: usize, message: Message) {
        let outbox = self.controller.outbox.entry(index).or_default();
        outbox.push(message);
        self.flush_outbox(index);
    }

    fn flush_outbox(&mut self, index: usize) {
        if !self.link_up(Node::Controller, Node::Broker(index)) {
            return;
        }
        let pending = self.controller.outbox.remove(&index).unwrap_or_default();
        for message in pending {
            self.send(Node::Controller, Node::Broker(index), message);
        }
    }

    fn elect_after_liveness_change(&mut self) {
        let live = self.live_brokers();
        for partition in 0..self.controller.partitions.len() {
            let zk = &self.controller.partitions[partition];
            if let Some(next) = election::after_liveness_change_unclean(
                &zk.replicas,
                &zk.state,
                &live,
                self.config.unclean_election,
            ) {
                self.write_partition(partition, next);
            }
        }
    }

    fn on_broker_startup(&mut self, index: usize) {
        // The current state first (Kafka's OnlineReplica transition), then elections
        // for partitions that had no leader.
        for partition in 0..self.controller.partitions.len() {
            self.send_leader_and_isr(partition, Some(index));
        }
        self.elect_after_liveness_change();
    }

    fn preferred_election(&mut self) {
        let live = self.live_brokers();
        for partition in 0..self.controller.partitions.len() {
            let zk = &self.controller.partitions[partition];
            if let Some(next) = election::preferred_replica(&zk.replicas, &zk.state, &live) {
                self.write_partition(partition, next);
            }
        }
    }

    /// `KafkaController.tryProcessAlterPartition` for one partition.
    fn alter_partition(
        &mut self,
        from: usize,
        broker_epoch: i64,
        partition: usize,
        proposal: &AlterPartitionProposal,
    ) -> AlterPartitionResult {
        use AlterPartitionError as E;
        let session_epoch = self.controller.sessions.get(&from).map(|s| s.broker_epoch);
        if session_epoch != Some(broker_epoch) {
            // STALE_BROKER_EPOCH (top level): the sender retries.
            return AlterPartitionResult::Rejected(E::Retriable);
        }
        let live = self.live_brokers();
        let zk = &self.controller.partitions[partition];
        let current = &zk.state;
        if proposal.partition_epoch > zk.version || proposal.leader_epoch > current.leader_epoch {
            return AlterPartitionResult::Rejected(E::Retriable); // NOT_CONTROLLER
        }
        if proposal.leader_epoch < current.leader_epoch {
            return AlterPartitionResult::Rejected(E::FencedLeaderEpoch);
        }
        let proposed: BTreeSet<BrokerId> = proposal.new_isr.iter().copied().collect();
        let current_isr: BTreeSet<BrokerId> = current.isr.iter().copied().collect();
        if current.leader == Some(proposal.leader) && proposed == current_isr {
            return AlterPartitionResult::Accepted {
                leader_epoch: current.leader_epoch,
                partition_epoch: zk.version,
                isr: current.isr.clone(),
            };
        }
        if proposal.partition_epoch < zk.version {
            return AlterPartitionResult::Rejected(E::InvalidUpdateVersion);
        }
        // Kafka 3.9 checks the whole proposed ISR against the live brokers.
        if !proposed.is_subset(&live) {
            return AlterPartitionResult::Rejected(E::IneligibleReplica);
        }
        let added: Vec<BrokerId> = proposed.difference(&current_isr).copied().collect();
        let next = LeaderAndIsr {
            leader: current.leader,
            leader_epoch: current.leader_epoch,
            isr: proposal.new_isr.clone(),
        };
        let zk = &mut self.controller.partitions[partition];
        zk.state = next;
        zk.version += 1;
        // A member added on the strength of a fetch sent before a power loss is still
        // missing data: only a live member that holds every acknowledged record is
        // no longer "amnesiac".
        for member in added {
            let index = broker_index(member);
            let broker = &self.brokers[index];
            if broker.alive {
                self.checker
                    .rejoined_isr(index, partition, &broker.hosted[partition].log);
            }
        }
        AlterPartitionResult::Accepted {
            leader_epoch: self.controller.partitions[partition].state.leader_epoch,
            partition_epoch: self.controller.partitions[partition].version,
            isr: self.controller.partitions[partition].state.isr.clone(),
        }
    }

    // ------------------------------------------------------------- delivery

    fn deliver(&mut self, from: Node, to: Node, message: Message) {
        if !self.link_up(from, to) {
            // Controller requests wait for the link; everything else is lost.
            if let (Node::Controller, Node::Broker(index)) = (from, to) {
                if self.controller.sessions.contains_key(&index) {
                    self.controller
                        .outbox
                        .entry(index)
                        .or_default()
                        .push(message);
                }
            }
            return;
        }
        match to {
            Node::Controller => {
                if let Message::AlterPartition {
                    from: sender,
                    broker_epoch,
                    partition,
                    proposal,
                } = message
                {
                    let result = self.alter_partition(sender, broker_epoch, partition, &proposal);
                    self.note(|| {
                        format!(
                            "AlterPartition from {sender} p{partition} {proposal:?} -> {result:?}"
                        )
                    });
                    self.send(
                        Node::Controller,
                        Node::Broker(sender),
                        Message::AlterPartitionAnswer {
                            partition,
                            proposal_id: proposal.proposal_id,
                            result,
                        },
                    );
                }
            }
            Node::Broker(index) => {
                if !self.brokers[index].alive {
                    return;
                }
                self.broker_receive(index, from, message);
            }
        }
    }

    fn broker_receive(&mut self, index: usize, from: Node, message: Message) {
        let now = self.now_ms;
        match message {
            Message::LeaderAndIsr {
                partition,
                state,
                broker_epoch,
            } => {
                // ZkBrokerEpochManager: an epoch below ours is stale.
                if self.brokers[index]
                    .broker_epoch
                    .is_none_or(|own| broker_epoch < own)
                {
                    return;
                }
                let is_leader = state.leader == Some(broker_id(index));
                let hosted = &mut self.brokers[index].hosted[partition];
                let applied = if is_leader {
                    hosted.core.become_leader(now, &hosted.log, &state)
                } else {
                    hosted.core.become_follower(&mut hosted.log, &state)
                };
                let (log_end, high_watermark) =
                    (hosted.log.records().len(), hosted.core.high_watermark());
                self.note(|| format!("broker {index} p{partition} LeaderAndIsr {state:?}: {applied:?} (LEO {log_end}, HW {high_watermark})"));
                let hosted = &mut self.brokers[index].hosted[partition];
                if applied.is_ok() {
                    hosted.in_flight = None;
                    if is_leader {
                        let incarnation = self.brokers[index].incarnation;
                        let log = &self.brokers[index].hosted[partition].log;
                        self.checker.became_leader(
                            now,
                            index,
                            incarnation,
                            partition,
                            state.leader_epoch,
                            log,
                        );
                    }
                }
                self.after_core_call(index, partition);
                if !is_leader {
                    self.maybe_send_follower_request(index, partition);
                }
            }
            Message::Follower {
                from: follower,
                partition,
                request,
            } => {
                let hosted = &mut self.brokers[index].hosted[partition];
                let answer = match &request {
                    FollowerRequest::Fetch(fetch) => {
                        FollowerAnswer::Fetch(hosted.core.handle_fetch(now, &hosted.log, fetch))
                    }
                    FollowerRequest::OffsetForLeaderEpoch(ask) => FollowerAnswer::EpochEnd(
                        hosted.core.handle_offset_for_leader_epoch(&hosted.log, ask),
                    ),
                    FollowerRequest::ListOffsets(ask) => {
                        FollowerAnswer::Offsets(hosted.core.handle_list_offsets(&hosted.log, ask))
                    }
                };
                self.after_core_call(index, partition);
                self.send(
                    Node::Broker(index),
                    Node::Broker(follower),
                    Message::FetchAnswer {
                        partition,
                        request,
                        answer,
                    },
                );
            }
            Message::FetchAnswer {
                partition,
                request,
                answer,
            } => {
                let hosted = &mut self.brokers[index].hosted[partition];
                if hosted.in_flight.as_ref().map(|(r, _)| r) != Some(&request) {
                    return;
                }
                let leader = hosted.core.leader();
                if from != Node::Broker(leader.map_or(usize::MAX, broker_index)) {
                    return;
                }
                hosted.in_flight = None;
                let had_records = matches!(&answer, FollowerAnswer::Fetch(Ok(r)) if r.records.is_some() || r.diverging_epoch.is_some());
                let result = match (request, answer) {
                    (FollowerRequest::Fetch(req), FollowerAnswer::Fetch(resp)) => {
                        hosted.core.on_fetch_response(&mut hosted.log, &req, resp)
                    }
                    (
                        FollowerRequest::OffsetForLeaderEpoch(req),
                        FollowerAnswer::EpochEnd(resp),
                    ) => {
                        hosted
                            .core
                            .on_offset_for_leader_epoch_response(&mut hosted.log, &req, resp)
                    }
                    (FollowerRequest::ListOffsets(req), FollowerAnswer::Offsets(resp)) => hosted
                        .core
                        .on_list_offsets_response(&mut hosted.log, &req, resp),
                    _ => Ok(()),
                };
                if let Err(failure) = result {
                    self.checker.violation(
                        now,
                        format!("broker {index} p{partition}: log failure {failure:?}"),
                    );
                }
                self.after_core_call(index, partition);
                let non_fetch = !matches!(request, FollowerRequest::Fetch(_));
                if had_records || non_fetch {
                    self.maybe_send_follower_request(index, partition);
                }
            }
            Message::AlterPartitionAnswer {
                partition,
                proposal_id,
                result,
            } => {
                let hosted = &mut self.brokers[index].hosted[partition];
                hosted
                    .core
                    .on_alter_partition_response(now, &hosted.log, proposal_id, result);
                self.after_core_call(index, partition);
            }
            Message::AlterPartition { .. } => {}
        }
    }

    /// Persists the epoch cache and sends the core's outputs.
    fn after_core_call(&mut self, index: usize, partition: usize) {
        let now = self.now_ms;
        let broker_epoch = self.brokers[index].broker_epoch;
        let hosted = &mut self.brokers[index].hosted[partition];
        if hosted.core.take_epoch_cache_changed() {
            hosted.epochs_on_disk = hosted.core.epoch_cache().entries().to_vec();
        }
        let outputs = hosted.core.drain_outputs();
        let incarnation = self.brokers[index].incarnation;
        let core = &self.brokers[index].hosted[partition].core;
        let log = &self.brokers[index].hosted[partition].log;
        self.checker
            .observe_leader(now, index, incarnation, partition, core, log);
        for output in outputs {
            match output {
                ReplicaOutput::AlterPartition(proposal) => {
                    let Some(broker_epoch) = broker_epoch else {
                        continue;
                    };
                    self.send(
                        Node::Broker(index),
                        Node::Controller,
                        Message::AlterPartition {
                            from: index,
                            broker_epoch,
                            partition,
                            proposal,
                        },
                    );
                }
                ReplicaOutput::ProduceCompleted { id, range, result } => {
                    let Some((waiting_partition, value)) = self.brokers[index].waiting.remove(&id)
                    else {
                        continue;
                    };
                    debug_assert_eq!(waiting_partition, partition);
                    match result {
                        Ok(()) => {
                            self.stats.acked_all += 1;
                            self.checker.acked(partition, range.base_offset, value);
                        }
                        Err(_) => self.stats.produce_errors += 1,
                    }
                }
            }
        }
    }

    fn maybe_send_follower_request(&mut self, index: usize, partition: usize) {
        let now = self.now_ms;
        let hosted = &mut self.brokers[index].hosted[partition];
        if let Some((_, sent_at)) = hosted.in_flight {
            if now - sent_at < FETCH_TIMEOUT_MS {
                return;
            }
        }
        let Some(leader) = hosted.core.leader() else {
            return;
        };
        if hosted.core.is_leader() {
            return;
        }
        let Some(request) = hosted.core.next_follower_request(&hosted.log) else {
            return;
        };
        hosted.in_flight = Some((request, now));
        self.send(
            Node::Broker(index),
            Node::Broker(broker_index(leader)),
            Message::Follower {
                from: index,
                partition,
                request,
            },
        );
    }

    fn broker_tick(&mut self, index: usize) {
        if !self.brokers[index].alive {
            return;
        }
        let now = self.now_ms;
        let flush = now - self.brokers[index].last_flush_ms >= FLUSH_INTERVAL_MS;
        if flush {
            self.brokers[index].last_flush_ms = now;
        }
        for partition in 0..self.brokers[index].hosted.len() {
            let hosted = &mut self.brokers[index].hosted[partition];
            if flush {
                hosted.log.flush();
                hosted.high_watermark_on_disk = hosted.core.high_watermark();
            }
            hosted.core.tick(now, &hosted.log);
            self.after_core_call(index, partition);
            self.maybe_send_follower_request(index, partition);
        }
    }

    // ------------------------------------------------------------- producers

    fn produce_random(&mut self) {
        let partition = self.rng.range(0, self.config.partitions as i64 - 1) as usize;
        let acks = if self.rng.chance(70) {
            Acks::All
        } else {
            Acks::Leader
        };
        self.produce(partition, acks);
    }

    /// Sends one record to the broker the controller names as leader (clients learn
    /// leaders from metadata, which may be stale by the time the request lands).
    fn produce(&mut self, partition: usize, acks: Acks) -> Option<u64> {
        let leader = self.controller.partitions[partition].state.leader?;
        let index = broker_index(leader);
        if !self.brokers[index].alive {
            return None;
        }
        let value = self.next_value;
        self.next_value += 1;
        let id = ProduceId(self.next_produce_id);
        self.next_produce_id += 1;
        let now = self.now_ms;
        let hosted = &mut self.brokers[index].hosted[partition];
        let batch = Batch {
            base_offset: -1,
            records: vec![Record { epoch: -1, value }],
        };
        let outcome =
            hosted
                .core
                .append_as_leader(now, &mut hosted.log, batch, acks, id, PRODUCE_TIMEOUT_MS);
        match outcome {
            Ok(ProduceOutcome::Completed(range)) => {
                if acks == Acks::All {
                    self.stats.acked_all += 1;
                    self.checker.acked(partition, range.base_offset, value);
                } else {
                    self.stats.acked_leader += 1;
                }
            }
            Ok(ProduceOutcome::Waiting(_)) => {
                self.brokers[index].waiting.insert(id, (partition, value));
            }
            Err(_) => self.stats.produce_errors += 1,
        }
        self.after_core_call(index, partition);
        Some(value)
    }

    // ---------------------------------------------------------------- checks

    fn check_invariants(&mut self) {
        let now = self.now_ms;
        for partition in 0..self.config.partitions {
            for leader in 0..BROKERS {
                let broker = &self.brokers[leader];
                if !broker.alive || !broker.hosted[partition].core.is_leader() {
                    continue;
                }
                let core = &broker.hosted[partition].core;
                let high_watermark = core.high_watermark();
                for member in core.isr() {
                    let member_index = broker_index(member);
                    if member_index == leader || !self.brokers[member_index].alive {
                        continue;
                    }
                    self.checker.isr_member_agrees(
                        now,
                        partition,
                        (leader, &broker.hosted[partition].log),
                        (
                            member_index,
                            &self.brokers[member_index].hosted[partition].log,
                        ),
                        high_watermark,
                    );
                }
            }
        }
    }

    /// After healing: every replica converged, all in the ISR, and a last acks=all
    /// write on every partition succeeds.
    // Partitions are indexes into several parallel tables here.
    #[allow(clippy::needless_range_loop)]
    fn final_checks(&mut self) {
        if !self.checker.violations.is_empty() {
            return;
        }
        let mut final_values = Vec::new();
        for partition in 0..self.config.partitions {
            final_values.push(self.produce(partition, Acks::All));
        }
        let end = self.now_ms + 1_500;
        self.run_until(end);
        let now = self.now_ms;
        for partition in 0..self.config.partitions {
            let zk = &self.controller.partitions[partition];
            let Some(leader) = zk.state.leader else {
                self.checker
                    .violation(now, format!("p{partition}: no leader after healing"));
                continue;
            };
            let leader_index = broker_index(leader);
            let leader_core = &self.brokers[leader_index].hosted[partition].core;
            if !leader_core.is_leader() || leader_core.leader_epoch() != zk.state.leader_epoch {
                self.checker.violation(
                    now,
                    format!("p{partition}: broker {leader_index} does not lead as ZooKeeper says"),
                );
                continue;
            }
            if zk.state.isr.len() != BROKERS {
                self.checker.violation(
                    now,
                    format!("p{partition}: ISR {:?} after healing", zk.state.isr),
                );
            }
            let leader_log = self.brokers[leader_index].hosted[partition]
                .log
                .records()
                .to_vec();
            if leader_core.high_watermark() != leader_log.len() as i64 {
                self.checker.violation(
                    now,
                    format!(
                        "p{partition}: leader HW {} != LEO {} after healing",
                        leader_core.high_watermark(),
                        leader_log.len()
                    ),
                );
            }
            for index in 0..BROKERS {
                let log = self.brokers[index].hosted[partition].log.records();
                if log != leader_log.as_slice() {
                    self.checker.violation(
                        now,
                        format!("p{partition}: broker {index}'s log differs from the leader's after healing"),
                    );
                }
                self.checker.final_log_has_acked(
                    now,
                    partition,
                    index,
                    &self.brokers[index].hosted[partition].log,
                );
            }
            match final_values[partition] {
                Some(value) if self.checker.is_acked(partition, value) => {}
                _ => self.checker.violation(
                    now,
                    format!("p{partition}: the final acks=all write was not acknowledged"),
                ),
            }
        }
    }
}
