//! Partition reassignment (KIP-455) as Apache 3.9's ZooKeeper-mode controller runs
//! it (`KafkaController.onPartitionReassignment` and its helpers), as pure
//! decisions: the driver (`driver::reassign`) reads ZooKeeper, calls these, writes
//! what they return and lets `channel::plan` tell the brokers.
//!
//! Names follow Apache's comment: ORS the original replicas, TRS the target
//! replicas, RS = ORS + TRS (target first), AR = TRS - ORS (adding), RR = ORS - TRS
//! (removing). The topic znode (v3) keeps RS, AR and RR, so ORS = RS - AR and
//! TRS = RS - RR can always be recovered, which is how a new controller resumes a
//! reassignment its predecessor started.
//!
//! Also here: the legacy `/admin/reassign_partitions` znode of Kafka <= 2.4's
//! `kafka-reassign-partitions --zookeeper` (`ReassignPartitionsZNode`). Its codec
//! lives here rather than in `zk_layout` because only reassignment reads it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::election::LeaderAndIsr;
use crate::kafka::metadata::BrokerId;

/// Kafka's error codes of the reassignment APIs.
pub mod errors {
    pub const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
    pub const NO_REASSIGNMENT_IN_PROGRESS: i16 = 85;
}

/// The most partitions one `/admin/reassign_partitions` znode is read for. The znode
/// is bounded by `jute.maxbuffer` (1 MiB) anyway; this bounds the work per event.
pub const ZNODE_PARTITIONS_MAX: usize = 100_000;

/// Apache's `ReplicaAssignment`: a partition's replicas and, while it is being
/// reassigned, which of them are joining and which are leaving.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assignment {
    /// RS, in the order the topic znode lists them (TRS first while reassigning).
    pub replicas: Vec<BrokerId>,
    /// AR.
    pub adding: Vec<BrokerId>,
    /// RR.
    pub removing: Vec<BrokerId>,
}

impl Assignment {
    /// An assignment with no reassignment in flight.
    pub fn settled(replicas: Vec<BrokerId>) -> Assignment {
        Assignment {
            replicas,
            adding: Vec::new(),
            removing: Vec::new(),
        }
    }

    /// ORS = RS - AR.
    pub fn origin(&self) -> Vec<BrokerId> {
        without(&self.replicas, &self.adding)
    }

    /// TRS = RS - RR.
    pub fn target(&self) -> Vec<BrokerId> {
        without(&self.replicas, &self.removing)
    }

    pub fn is_being_reassigned(&self) -> bool {
        !self.adding.is_empty() || !self.removing.is_empty()
    }

    /// `ReplicaAssignment.reassignTo`: RS = (target ++ ORS) without duplicates, so a
    /// reassignment that replaces one in flight still counts from the original
    /// replicas.
    pub fn reassign_to(&self, target: &[BrokerId]) -> Assignment {
        let origin = self.origin();
        let mut replicas: Vec<BrokerId> = Vec::with_capacity(target.len() + origin.len());
        for id in target.iter().chain(&origin) {
            if !replicas.contains(id) {
                replicas.push(*id);
            }
        }
        Assignment {
            adding: without(&replicas, &origin),
            removing: without(&replicas, target),
            replicas,
        }
    }
}

/// `Seq.diff` for replica lists (ids are distinct within each list).
fn without(from: &[BrokerId], remove: &[BrokerId]) -> Vec<BrokerId> {
    from.iter()
        .filter(|id| !remove.contains(id))
        .copied()
        .collect()
}

/// Why the controller refused a partition's reassignment: Kafka's error code and
/// the message Apache puts next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub error_code: i16,
    pub message: Option<String>,
}

impl Refusal {
    fn new(error_code: i16, message: String) -> Refusal {
        Refusal {
            error_code,
            message: Some(message),
        }
    }
}

/// `KafkaController.validateReplicas`, run for AlterPartitionReassignments only
/// (the znode path skips it, as Apache's does): a non-empty list of distinct,
/// non-negative ids whose new members are live brokers.
pub fn validate_target(
    current: &Assignment,
    target: &[BrokerId],
    live: &BTreeSet<BrokerId>,
) -> Result<(), Refusal> {
    let distinct: BTreeSet<BrokerId> = target.iter().copied().collect();
    if target.is_empty() {
        return Err(Refusal::new(
            errors::INVALID_REPLICA_ASSIGNMENT,
            "Empty replica list specified in partition reassignment.".to_string(),
        ));
    }
    if distinct.len() != target.len() {
        return Err(Refusal::new(
            errors::INVALID_REPLICA_ASSIGNMENT,
            format!(
                "Duplicate replica ids in partition reassignment replica list: {}",
                scala_list(target)
            ),
        ));
    }
    if target.iter().any(|id| id.0 < 0) {
        return Err(Refusal::new(
            errors::INVALID_REPLICA_ASSIGNMENT,
            format!("Invalid broker id in replica list: {}", scala_list(target)),
        ));
    }
    let adding = current.reassign_to(target).adding;
    if !adding.iter().all(|id| live.contains(id)) {
        return Err(Refusal::new(
            errors::INVALID_REPLICA_ASSIGNMENT,
            format!(
                "Replica assignment has brokers that are not alive. Replica list: {}, live broker list: {}",
                scala_list(&adding),
                scala_set(live)
            ),
        ));
    }
    Ok(())
}

/// How Scala prints a `Seq[Int]` (`ArrayBuffer(1, 2)`) in Apache's messages.
fn scala_list(ids: &[BrokerId]) -> String {
    let inner: Vec<String> = ids.iter().map(|id| id.0.to_string()).collect();
    format!("ArrayBuffer({})", inner.join(", "))
}

fn scala_set(ids: &BTreeSet<BrokerId>) -> String {
    let inner: Vec<String> = ids.iter().map(|id| id.0.to_string()).collect();
    format!("Set({})", inner.join(", "))
}

/// `maybeBuildReassignment`: the assignment to move to. `target = None` cancels:
/// back to the original replicas, or `None` (NO_REASSIGNMENT_IN_PROGRESS) when
/// nothing is in flight.
pub fn build(current: &Assignment, target: Option<&[BrokerId]>) -> Option<Assignment> {
    match target {
        Some(target) => Some(current.reassign_to(target)),
        None if current.is_being_reassigned() => Some(current.reassign_to(&current.origin())),
        None => None,
    }
}

/// `isReassignmentComplete`: nothing in flight, or every target replica is in the
/// ISR. A partition without a state znode is never complete while reassigning.
pub fn is_complete(assignment: &Assignment, isr: Option<&[BrokerId]>) -> bool {
    if !assignment.is_being_reassigned() {
        return true;
    }
    isr.is_some_and(|isr| assignment.target().iter().all(|id| isr.contains(id)))
}

/// What `onPartitionReassignment` does to one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Phase A (TRS not yet in the ISR): write RS/AR/RR to the topic znode and bump
    /// the leader epoch, so every replica of RS gets a LeaderAndIsr naming AR and RR
    /// and the new replicas start fetching. `state` is `None` when the partition
    /// has no state znode (Apache then logs and sends nothing). `removed`: adding
    /// replicas of a replaced or cancelled reassignment that the new RS drops (U3).
    Start {
        assignment: Assignment,
        state: Option<LeaderAndIsr>,
        removed: Vec<BrokerId>,
    },
    /// Phase B (TRS in the ISR): a leader from TRS if needed (B3), RR out of the
    /// ISR (B4), RR's replicas deleted (B5), the topic znode back to RS = TRS (B6).
    /// `state` is `None` when there is no state znode to change. `removed`: the
    /// unneeded replicas of U3, then RR.
    Complete {
        assignment: Assignment,
        state: Option<LeaderAndIsr>,
        removed: Vec<BrokerId>,
    },
}

/// `OfflineReplica`'s `removeReplicasFromIsr` for each of `replicas`: out of the
/// ISR (never its last member) and out of the leadership, one epoch bump each.
fn remove_from_isr(state: &mut LeaderAndIsr, replicas: &[BrokerId]) {
    for id in replicas {
        if !state.isr.contains(id) {
            continue;
        }
        if state.leader == Some(*id) {
            state.leader = None;
        }
        if state.isr.len() > 1 {
            state.isr.retain(|member| member != id);
        }
        state.leader_epoch += 1;
    }
}

/// `onPartitionReassignment` moving a partition from `current` to `next` (built by
/// `build` against `current`), given its leader and ISR and the online brokers (live
/// and not shutting down). Leader epochs move as Apache moves them: one bump per
/// unneeded replica taken out of the ISR (U3), then one in phase A; in phase B one
/// for the leader step (B3) and one per removed replica taken out of the ISR (B4).
pub fn step(
    current: &Assignment,
    next: &Assignment,
    state: Option<&LeaderAndIsr>,
    online: &BTreeSet<BrokerId>,
) -> Step {
    let mut removed = unneeded(current, next);
    let mut state = state.cloned();
    if let Some(state) = state.as_mut() {
        remove_from_isr(state, &removed);
    }
    if !is_complete(next, state.as_ref().map(|state| state.isr.as_slice())) {
        return Step::Start {
            assignment: next.clone(),
            state: state.map(|state| LeaderAndIsr {
                leader_epoch: state.leader_epoch + 1,
                ..state
            }),
            removed,
        };
    }
    let target = next.target();
    let state = state.map(|mut state| {
        // B3: keep a live leader that stays; otherwise the first live target replica
        // in the ISR (`reassignPartitionLeaderElection`). When none qualifies the
        // election fails and the partition keeps its leader for now, as Apache's.
        let keep = state
            .leader
            .is_some_and(|leader| target.contains(&leader) && online.contains(&leader));
        if keep {
            state.leader_epoch += 1;
        } else if let Some(leader) = target
            .iter()
            .find(|id| online.contains(id) && state.isr.contains(id))
        {
            state.leader = Some(*leader);
            state.leader_epoch += 1;
        }
        // B4.
        remove_from_isr(&mut state, &next.removing);
        state
    });
    removed.extend(next.removing.iter().copied());
    Step::Complete {
        assignment: Assignment::settled(target),
        state,
        removed,
    }
}

/// Replicas the new assignment no longer has while the old one did: when a
/// reassignment replaces or cancels one in flight, its adding replicas that are not
/// in the new RS are stopped and deleted at once (`updateCurrentReassignment`, U3).
pub fn unneeded(current: &Assignment, next: &Assignment) -> Vec<BrokerId> {
    without(&current.replicas, &next.replicas)
}

// ---------------------------------------------------------------------------------
// `/admin/reassign_partitions`

pub const ZNODE_PATH: &str = "/admin/reassign_partitions";

/// One entry of the znode. Kafka 2.2's tool also writes `log_dirs` into its JSON
/// file but not into the znode; an entry carrying it is read all the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ZnodeEntry {
    topic: String,
    partition: i32,
    replicas: Vec<i32>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ZnodeJson {
    version: i32,
    partitions: Vec<ZnodeEntry>,
}

/// Target replicas by topic and partition.
pub type ZnodeReassignments = BTreeMap<(String, i32), Vec<BrokerId>>;

/// `ReassignPartitionsZNode.decode`; `None` for bytes Apache cannot read either
/// (its `getPartitionReassignment` then logs and sees no reassignment).
pub fn decode_znode(bytes: &[u8]) -> Option<ZnodeReassignments> {
    let json: ZnodeJson = serde_json::from_slice(bytes).ok()?;
    if json.partitions.len() > ZNODE_PARTITIONS_MAX {
        return None;
    }
    Some(
        json.partitions
            .into_iter()
            .map(|entry| {
                let replicas = entry.replicas.into_iter().map(BrokerId).collect();
                ((entry.topic, entry.partition), replicas)
            })
            .collect(),
    )
}

/// `ReassignPartitionsZNode.encode`: `{"version":1,"partitions":[...]}`.
pub fn encode_znode(reassignments: &ZnodeReassignments) -> Vec<u8> {
    let json = ZnodeJson {
        version: 1,
        partitions: reassignments
            .iter()
            .map(|((topic, partition), replicas)| ZnodeEntry {
                topic: topic.clone(),
                partition: *partition,
                replicas: replicas.iter().map(|id| id.0).collect(),
            })
            .collect(),
    };
    serde_json::to_vec(&json).expect("plain structs always serialize")
}

#[cfg(test)]
mod tests;
