//! The real FastLeaderElection (`quorum::election`) inside the simulation: one
//! state machine per simulated server, its notifications carried over a model of
//! Apache's `QuorumCnxManager` on the simulated network.
//!
//! # The connection manager as modelled
//! Checked against branch-3.9 `QuorumCnxManager` (`toSend`, `connectOne`,
//! `connectAll`, `SendWorker.run`):
//! - One connection per pair of servers, whoever dials. A dial from the lower sid
//!   is closed by the higher one, which dials back, so it takes two network
//!   delays instead of one. While a dial is under way, further dials to the same
//!   peer are no-ops (`inprogressConnections`).
//! - Per peer, a send queue of capacity 1 that keeps the newest message
//!   (`CircularBlockingQueue(SEND_CAPACITY)`), and the last message sent
//!   (`lastMessageSent`). Both belong to the process, not to the connection: they
//!   survive a broken connection and die with a crash.
//! - Every send dials if there is no connection (`toSend` calls `connectOne`); a
//!   notification timeout dials every peer (`ReconnectAll`, `connectAll`).
//! - A new connection first sends the queued message, or if the queue is empty
//!   resends the last message sent: the peer may have lost it with the old
//!   connection, and the election port tolerates duplicates.
//! - A dial to a crashed peer is refused at once; a dial across a partition keeps
//!   retrying (SYN retransmission) until the partition heals or the 5 s connect
//!   timeout (`cnxTO`) gives up.
//!
//! # Faults on top of TCP
//! While faults are active, election messages are also dropped (as a connection
//! reset that loses the frame would), duplicated, and reordered (a delay that
//! ignores FIFO order: it stands for a message that crossed a reconnect). A
//! partition either resets the election connections across the cut (the messages
//! in flight are lost) or stalls them: TCP keeps retransmitting, so what was sent
//! arrives once the partition heals.
//!
//! # Driving FLE from Zab
//! A server starts looking (`start_looking` with [`Zab::vote`]) when it starts
//! and after Zab emits `GoLooking`, as soon as Zab is LOOKING again (an unfinished
//! SNAP sync first reloads the database from disk, as Apache's
//! `getLastLoggedZxid` does, so the vote is what the disk holds). `Decided` is fed
//! to Zab as `Input::Elected`; `ServeClients` calls `update_election_vote`. FLE
//! ticks at its `next_deadline_ms`.
//!
//! [`Zab::vote`]: crate::zookeeper::quorum::zab::Zab::vote

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::zookeeper::quorum::election::{ElectionAction, ElectionConfig, FastLeaderElection};
use crate::zookeeper::quorum::message::{Epoch, Notification, ServerId, ServerState};
use crate::zookeeper::quorum::zab::Decision;

use super::{Event, Sim, NETWORK_DELAY_MS_MAX};

/// `QuorumCnxManager`'s connect timeout (`zookeeper.cnxTimeout`, 5000 ms).
pub const ELECTION_CONNECT_TIMEOUT_MS: u64 = 5_000;
/// How often a dial across a partition is retried (SYN retransmission).
const ELECTION_CONNECT_RETRY_MS: u64 = 250;
/// While faults are active: chance an election message is lost, duplicated, or
/// delayed past FIFO order.
const ELECTION_DROP_PERCENT: u64 = 5;
const ELECTION_DUPLICATE_PERCENT: u64 = 5;
const ELECTION_REORDER_PERCENT: u64 = 10;
/// The most extra delay a reordered message gets.
const ELECTION_REORDER_DELAY_MS_MAX: u64 = 300;
/// How often a stalled connection retries a frame across a partition.
const ELECTION_STALL_RETRY_MS: u64 = 200;

/// Which election decides the servers' roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionMode {
    /// The real FastLeaderElection per server over the simulated network.
    Fle,
    /// The whole-ensemble oracle of `election.rs` (to bisect a failure to
    /// election or Zab).
    Oracle,
}

impl ElectionMode {
    /// `SIM_ELECTION=oracle` selects the oracle; anything else, or nothing, FLE.
    pub fn from_env() -> ElectionMode {
        match std::env::var("SIM_ELECTION").as_deref() {
            Ok("oracle") => ElectionMode::Oracle,
            _ => ElectionMode::Fle,
        }
    }
}

/// What the election port carried in one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ElectionCounts {
    /// Notifications put on a connection (resends on reconnect included).
    pub sent: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub reordered: u64,
    /// `Decided` actions fed to Zab.
    pub decisions: u64,
}

impl std::ops::AddAssign for ElectionCounts {
    fn add_assign(&mut self, other: ElectionCounts) {
        self.sent += other.sent;
        self.dropped += other.dropped;
        self.duplicated += other.duplicated;
        self.reordered += other.reordered;
        self.decisions += other.decisions;
    }
}

/// The state of the one election connection of a pair of servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ElectionLink {
    Down,
    /// A dial started at `started_ms`; `attempt` names it so a stale event is
    /// recognised.
    Dialing {
        attempt: u64,
        started_ms: u64,
    },
    /// Open; `conn` names it so frames of an older connection are dropped.
    Up {
        conn: u64,
    },
}

/// One pair's connection; the pair is keyed (lower index, higher index).
#[derive(Debug, Clone)]
pub(super) struct ElectionConn {
    pub(super) link: ElectionLink,
    /// Last delivery time per direction (0: low to high), for FIFO delivery.
    pub(super) last_delivery_ms: [u64; 2],
}

/// One server's side of the election port: its FLE and its connection
/// manager's per-peer queues. Everything here lives in memory and dies with a
/// crash.
#[derive(Default)]
pub(super) struct ElectionPort {
    pub(super) fle: Option<FastLeaderElection>,
    /// Zab asked for an election; it starts once Zab is LOOKING.
    pub(super) pending: bool,
    /// The send queue of capacity 1 per peer index.
    pub(super) send_queue: BTreeMap<usize, Notification>,
    /// `lastMessageSent` per peer index.
    pub(super) last_sent: BTreeMap<usize, Notification>,
    /// The deadline an `FleTick` is scheduled for (later events supersede it).
    pub(super) timer_ms: Option<u64>,
}

/// The bytes every notification carries: `QuorumMaj.toString()` of the sim's
/// ensemble, version 0 (static configuration).
pub fn quorum_verifier_text(voters: usize, observers: usize) -> Arc<[u8]> {
    let mut text = String::new();
    for index in 0..voters + observers {
        let id = index + 1;
        let role = if index < voters {
            "participant"
        } else {
            "observer"
        };
        text.push_str(&format!("server.{id}=127.0.0.{id}:2888:3888:{role}\n"));
    }
    text.push_str("version=0");
    Arc::from(text.as_bytes())
}

fn pair_key(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

impl Sim {
    fn election_config(&self, index: usize) -> ElectionConfig {
        let voters = (1..=self.config.voters as i64).map(ServerId);
        let observers = (self.config.voters as i64 + 1
            ..=(self.config.voters + self.config.observers) as i64)
            .map(ServerId);
        ElectionConfig::new(
            ServerId(index as i64 + 1),
            voters,
            observers,
            quorum_verifier_text(self.config.voters, self.config.observers),
        )
        .expect("the sim's ensemble is a valid election configuration")
    }

    /// A (re)started process: a fresh FLE (`logicalclock` lives in memory) that
    /// looks as soon as Zab is ready.
    pub(super) fn election_start_process(&mut self, index: usize) {
        let config = self.election_config(index);
        let port = &mut self.servers[index].election;
        *port = ElectionPort::default();
        port.fle = Some(FastLeaderElection::new(config));
        port.pending = true;
    }

    /// A crash: the election port's memory is gone, and every election
    /// connection of this server is reset (frames in flight are lost).
    pub(super) fn election_crash(&mut self, index: usize) {
        self.servers[index].election = ElectionPort::default();
        for ((low, high), conn) in self.election_conns.iter_mut() {
            if *low == index || *high == index {
                conn.link = ElectionLink::Down;
            }
        }
    }

    /// A partition was drawn: each election connection across the cut is reset
    /// or stalled (TCP retransmits until the partition heals).
    pub(super) fn election_partition(&mut self) {
        let keys: Vec<(usize, usize)> = self.election_conns.keys().copied().collect();
        for key in keys {
            if self.groups[key.0] != self.groups[key.1] && self.rng.chance(50) {
                self.election_conns.get_mut(&key).expect("key").link = ElectionLink::Down;
            }
        }
    }

    /// A connection-break fault: one open election connection is reset.
    pub(super) fn election_break_one(&mut self) -> bool {
        let open: Vec<(usize, usize)> = self
            .election_conns
            .iter()
            .filter(|(_, conn)| matches!(conn.link, ElectionLink::Up { .. }))
            .map(|(key, _)| *key)
            .collect();
        if open.is_empty() {
            return false;
        }
        let key = open[self.rng.pick(open.len())];
        self.election_conns.get_mut(&key).expect("key").link = ElectionLink::Down;
        true
    }

    /// Starts looking if Zab asked for it and is LOOKING (not reloading).
    pub(super) fn election_maybe_start(&mut self, index: usize) {
        if self.config.election != ElectionMode::Fle {
            return;
        }
        let server = &mut self.servers[index];
        if !server.alive || !server.election.pending {
            return;
        }
        let Some(zab) = server.zab.as_ref() else {
            return;
        };
        if !zab.is_looking() {
            return;
        }
        let (current_epoch, last_logged_zxid) = zab.vote();
        let Some(fle) = server.election.fle.as_mut() else {
            return;
        };
        server.election.pending = false;
        if self.trace {
            eprintln!(
                "{:>6} s{} FLE start_looking epoch={} zxid={}",
                self.now_ms,
                index + 1,
                current_epoch.0,
                last_logged_zxid
            );
        }
        let actions = fle.start_looking(self.now_ms, last_logged_zxid, current_epoch);
        self.election_apply(index, actions);
    }

    /// Zab started serving in `epoch`: LOOKING peers hear that epoch from now on.
    pub(super) fn election_serving(&mut self, index: usize, epoch: Epoch) {
        if let Some(fle) = self.servers[index].election.fle.as_mut() {
            fle.update_election_vote(epoch);
        }
    }

    /// Executes FLE's actions for server `index`, in order.
    fn election_apply(&mut self, index: usize, actions: Vec<ElectionAction>) {
        for action in actions {
            if !self.servers[index].alive {
                return;
            }
            match action {
                ElectionAction::Send { to, notification } => {
                    let to = to.0 as usize - 1;
                    self.election_send(index, to, notification);
                }
                ElectionAction::Decided { state, vote } => {
                    if self.trace {
                        eprintln!(
                            "{:>6} s{} FLE decided {state:?} {vote:?}",
                            self.now_ms,
                            index + 1
                        );
                    }
                    let decision = match state {
                        ServerState::Leading => Decision::Lead,
                        ServerState::Following => Decision::Follow {
                            leader: vote.leader,
                        },
                        ServerState::Observing => Decision::Observe {
                            leader: vote.leader,
                        },
                        ServerState::Looking => {
                            self.checker.violations.push(format!(
                                "t={}ms: s{} FLE decided LOOKING",
                                self.now_ms,
                                index + 1
                            ));
                            continue;
                        }
                    };
                    self.election_counts.decisions += 1;
                    self.deliver_decision(index, decision);
                }
                ElectionAction::ReconnectAll => {
                    for voter in 0..self.config.voters {
                        if voter != index {
                            self.election_dial(index, voter);
                        }
                    }
                }
                ElectionAction::Warning(warning) => {
                    // Every server runs the same configuration: a warning is a bug.
                    self.checker.violations.push(format!(
                        "t={}ms: s{} unexpected election warning {warning:?}",
                        self.now_ms,
                        index + 1
                    ));
                }
            }
        }
        self.election_arm_timer(index);
    }

    /// Schedules an `FleTick` at FLE's next deadline unless one is already set
    /// for exactly then.
    fn election_arm_timer(&mut self, index: usize) {
        let server = &mut self.servers[index];
        let Some(deadline_ms) = server
            .election
            .fle
            .as_ref()
            .and_then(|fle| fle.next_deadline_ms())
        else {
            server.election.timer_ms = None;
            return;
        };
        if server.election.timer_ms == Some(deadline_ms) {
            return;
        }
        server.election.timer_ms = Some(deadline_ms);
        let incarnation = server.incarnation;
        let delay = deadline_ms.saturating_sub(self.now_ms);
        self.schedule(
            delay,
            Event::FleTick {
                server: index,
                incarnation,
                deadline_ms,
            },
        );
    }

    pub(super) fn election_tick(&mut self, index: usize, incarnation: u64, deadline_ms: u64) {
        let server = &mut self.servers[index];
        if !server.alive
            || server.incarnation != incarnation
            || server.election.timer_ms != Some(deadline_ms)
        {
            return;
        }
        server.election.timer_ms = None;
        let Some(fle) = server.election.fle.as_mut() else {
            return;
        };
        let actions = fle.tick(self.now_ms);
        self.election_apply(index, actions);
    }

    /// `QuorumCnxManager.toSend`: queue (keeping the newest) and dial, or send on
    /// the open connection.
    fn election_send(&mut self, from: usize, to: usize, notification: Notification) {
        let key = pair_key(from, to);
        let link = self
            .election_conns
            .get(&key)
            .map(|conn| conn.link)
            .unwrap_or(ElectionLink::Down);
        match link {
            ElectionLink::Up { conn } => self.election_transmit(from, to, conn, notification),
            ElectionLink::Down | ElectionLink::Dialing { .. } => {
                self.servers[from]
                    .election
                    .send_queue
                    .insert(to, notification);
                self.election_dial(from, to);
            }
        }
    }

    /// `connectOne`: dial unless connected or already dialing.
    fn election_dial(&mut self, from: usize, to: usize) {
        let key = pair_key(from, to);
        let conn = self.election_conns.entry(key).or_insert(ElectionConn {
            link: ElectionLink::Down,
            last_delivery_ms: [0, 0],
        });
        if conn.link != ElectionLink::Down {
            return;
        }
        self.next_election_attempt += 1;
        let attempt = self.next_election_attempt;
        conn.link = ElectionLink::Dialing {
            attempt,
            started_ms: self.now_ms,
        };
        // The higher sid's connection survives: a dial from the lower one is
        // closed and dialled back, a second trip.
        let trips = if from > to { 1 } else { 2 };
        let delay = (0..trips)
            .map(|_| self.rng.range(1, NETWORK_DELAY_MS_MAX))
            .sum();
        self.schedule(delay, Event::ElectionDial { pair: key, attempt });
    }

    pub(super) fn election_dial_done(&mut self, pair: (usize, usize), attempt: u64) {
        let Some(conn) = self.election_conns.get_mut(&pair) else {
            return;
        };
        let ElectionLink::Dialing {
            attempt: current,
            started_ms,
        } = conn.link
        else {
            return;
        };
        if current != attempt {
            return;
        }
        let (a, b) = pair;
        if !self.servers[a].alive || !self.servers[b].alive {
            // Refused: no process listens there (or the dialler itself died).
            conn.link = ElectionLink::Down;
            return;
        }
        if self.groups[a] != self.groups[b] {
            if self.now_ms >= started_ms + ELECTION_CONNECT_TIMEOUT_MS {
                conn.link = ElectionLink::Down;
            } else {
                self.schedule(
                    ELECTION_CONNECT_RETRY_MS,
                    Event::ElectionDial { pair, attempt },
                );
            }
            return;
        }
        self.next_election_attempt += 1;
        let conn_id = self.next_election_attempt;
        conn.link = ElectionLink::Up { conn: conn_id };
        // Both SendWorkers start: the queued message, or else the last one again.
        for (from, to) in [(a, b), (b, a)] {
            let port = &mut self.servers[from].election;
            let message = port
                .send_queue
                .remove(&to)
                .or_else(|| port.last_sent.get(&to).cloned());
            if let Some(message) = message {
                self.election_transmit(from, to, conn_id, message);
            }
        }
    }

    /// One frame on an open connection, with the faults of the moment.
    fn election_transmit(&mut self, from: usize, to: usize, conn: u64, notification: Notification) {
        self.servers[from]
            .election
            .last_sent
            .insert(to, notification.clone());
        self.election_counts.sent += 1;
        let chaos = self.faults_active;
        if chaos && self.rng.chance(ELECTION_DROP_PERCENT) {
            self.election_counts.dropped += 1;
            return;
        }
        let copies = if chaos && self.rng.chance(ELECTION_DUPLICATE_PERCENT) {
            self.election_counts.duplicated += 1;
            2
        } else {
            1
        };
        let direction = usize::from(from > to);
        for _ in 0..copies {
            let delay = self.rng.range(1, NETWORK_DELAY_MS_MAX);
            let at_ms = if chaos && self.rng.chance(ELECTION_REORDER_PERCENT) {
                self.election_counts.reordered += 1;
                self.now_ms + delay + self.rng.range(1, ELECTION_REORDER_DELAY_MS_MAX)
            } else {
                let entry = self
                    .election_conns
                    .get_mut(&pair_key(from, to))
                    .expect("an open connection has an entry");
                let at_ms = (self.now_ms + delay).max(entry.last_delivery_ms[direction]);
                entry.last_delivery_ms[direction] = at_ms;
                at_ms
            };
            self.schedule(
                at_ms - self.now_ms,
                Event::ElectionDeliver {
                    conn,
                    from,
                    to,
                    notification: notification.clone(),
                },
            );
        }
    }

    pub(super) fn election_deliver(
        &mut self,
        conn: u64,
        from: usize,
        to: usize,
        notification: Notification,
    ) {
        let link = self.election_conns.get(&pair_key(from, to)).map(|c| c.link);
        if link != Some(ElectionLink::Up { conn }) || !self.servers[to].alive {
            return;
        }
        if self.groups[from] != self.groups[to] {
            // A stalled connection: TCP retransmits until the cut heals.
            let delay = self
                .rng
                .range(ELECTION_STALL_RETRY_MS / 2, ELECTION_STALL_RETRY_MS);
            self.schedule(
                delay,
                Event::ElectionDeliver {
                    conn,
                    from,
                    to,
                    notification,
                },
            );
            return;
        }
        let from_id = self.servers[from].id;
        let Some(fle) = self.servers[to].election.fle.as_mut() else {
            return;
        };
        let actions = fle.receive(self.now_ms, from_id, notification);
        self.election_apply(to, actions);
    }

    /// Describes each server's FLE for a liveness report.
    pub(super) fn election_status(&self, index: usize) -> String {
        match &self.servers[index].election.fle {
            None => "fle=-".to_string(),
            Some(fle) => format!(
                "fle={:?}/round{}{}",
                fle.state(),
                fle.logical_clock(),
                if self.servers[index].election.pending {
                    "/pending"
                } else {
                    ""
                }
            ),
        }
    }
}
