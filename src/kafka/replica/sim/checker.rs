//! The simulation's safety checker. It watches acknowledgements, elections and every
//! leader's state, and records violations of:
//! 1. an acks=all record, once acknowledged, stays at its offset with its value: every
//!    elected leader holds it (checked at election and when the leader takes over)
//!    and every replica holds it after healing;
//! 2. every ISR member's log equals the leader's below the high watermark, and reaches
//!    it (unless that member lost its unflushed tail and has not rejoined the ISR);
//! 3. at most one broker leads a given leader epoch;
//! 4. a leader's high watermark never goes backwards within its epoch;
//!
//! (5, liveness after healing, is checked by `Cluster::final_checks`.)
//!
//! The one excuse: Kafka does not fsync appends, so if the only replicas holding a
//! record lose their unflushed tail together, the record is gone. A partition is
//! "voided" when the controller elects a leader that lacks an acknowledged record
//! *and* lost unflushed data in a power loss without rejoining the ISR since (or
//! when unclean election is on). Voided partitions skip checks 1 and 2; the run
//! reports how many there were.

use std::collections::{BTreeMap, BTreeSet};

use super::log::MemLog;
use crate::kafka::replica::state::PartitionReplica;

/// Violations kept per run (the first one is what matters).
pub const VIOLATIONS_MAX: usize = 16;

pub struct Checker {
    /// Per partition: offset -> value of acknowledged acks=all records.
    acked: Vec<BTreeMap<i64, u64>>,
    acked_values: Vec<BTreeSet<u64>>,
    /// (broker, partition) that lost unflushed records and has not rejoined the ISR.
    amnesiac: BTreeSet<(usize, usize)>,
    voided: Vec<bool>,
    /// (partition, leader epoch) -> the broker that led it.
    epoch_leaders: BTreeMap<(usize, i32), usize>,
    /// (broker, incarnation, partition, epoch) -> last high watermark seen.
    leader_high_watermarks: BTreeMap<(usize, u32, usize, i32), i64>,
    pub unclean_election: bool,
    pub violations: Vec<String>,
}

impl Checker {
    pub fn new(partitions: usize) -> Checker {
        Checker {
            acked: vec![BTreeMap::new(); partitions],
            acked_values: vec![BTreeSet::new(); partitions],
            amnesiac: BTreeSet::new(),
            voided: vec![false; partitions],
            epoch_leaders: BTreeMap::new(),
            leader_high_watermarks: BTreeMap::new(),
            unclean_election: false,
            violations: Vec::new(),
        }
    }

    pub fn violation(&mut self, at_ms: i64, what: String) {
        if self.violations.len() < VIOLATIONS_MAX {
            self.violations.push(format!("t={at_ms}ms: {what}"));
        }
    }

    pub fn voided_partitions(&self) -> usize {
        self.voided.iter().filter(|v| **v).count()
    }

    pub fn acked_count(&self) -> usize {
        self.acked.iter().map(|a| a.len()).sum()
    }

    pub fn is_acked(&self, partition: usize, value: u64) -> bool {
        self.acked_values[partition].contains(&value)
    }

    pub fn acked(&mut self, partition: usize, offset: i64, value: u64) {
        if let Some(previous) = self.acked[partition].insert(offset, value) {
            if previous != value && !self.voided[partition] {
                self.violation(
                    -1,
                    format!(
                        "p{partition}: offset {offset} acknowledged twice, for {previous} and {value}"
                    ),
                );
            }
        }
        self.acked_values[partition].insert(value);
    }

    pub fn lost_unflushed(&mut self, broker: usize, partition: usize) {
        self.amnesiac.insert((broker, partition));
    }

    /// AlterPartition added `broker` to the ISR: if its log holds every acknowledged
    /// record, its earlier power loss no longer matters.
    pub fn rejoined_isr(&mut self, broker: usize, partition: usize, log: &MemLog) {
        if self.first_missing(partition, log).is_none() {
            self.amnesiac.remove(&(broker, partition));
        }
    }

    /// The first acknowledged record `log` lacks or holds differently.
    fn first_missing(&self, partition: usize, log: &MemLog) -> Option<(i64, u64)> {
        self.acked[partition]
            .iter()
            .find(|(offset, value)| log.record_at(**offset).map(|r| r.value) != Some(**value))
            .map(|(offset, value)| (*offset, *value))
    }

    /// The controller elected `leader`. Returns true if this voids the partition's
    /// guarantee; records a violation if the leader lacks acknowledged data without
    /// an excuse.
    pub fn elected_leader_lacks_acked(
        &mut self,
        at_ms: i64,
        leader: usize,
        partition: usize,
        log: &MemLog,
    ) -> bool {
        if self.voided[partition] {
            return false;
        }
        let Some((offset, value)) = self.first_missing(partition, log) else {
            return false;
        };
        if self.unclean_election || self.amnesiac.contains(&(leader, partition)) {
            self.voided[partition] = true;
            return true;
        }
        self.violation(
            at_ms,
            format!(
                "p{partition}: controller elected broker {leader}, which lacks acknowledged \
                 value {value} at offset {offset} (log end {})",
                log.records().len()
            ),
        );
        false
    }

    pub fn became_leader(
        &mut self,
        at_ms: i64,
        broker: usize,
        _incarnation: u32,
        partition: usize,
        leader_epoch: i32,
        log: &MemLog,
    ) {
        if let Some(previous) = self.epoch_leaders.insert((partition, leader_epoch), broker) {
            if previous != broker {
                self.violation(
                    at_ms,
                    format!(
                        "p{partition}: brokers {previous} and {broker} both led epoch {leader_epoch}"
                    ),
                );
            }
        }
        if self.voided[partition] || self.amnesiac.contains(&(broker, partition)) {
            return;
        }
        if let Some((offset, value)) = self.first_missing(partition, log) {
            self.violation(
                at_ms,
                format!(
                    "p{partition}: broker {broker} leads epoch {leader_epoch} without acknowledged \
                     value {value} at offset {offset} (log end {})",
                    log.records().len()
                ),
            );
        }
    }

    /// Check 4 on every call into a leader.
    pub fn observe_leader(
        &mut self,
        at_ms: i64,
        broker: usize,
        incarnation: u32,
        partition: usize,
        core: &PartitionReplica,
        _log: &MemLog,
    ) {
        if !core.is_leader() {
            return;
        }
        let key = (broker, incarnation, partition, core.leader_epoch());
        let high_watermark = core.high_watermark();
        if let Some(previous) = self.leader_high_watermarks.insert(key, high_watermark) {
            if high_watermark < previous {
                self.violation(
                    at_ms,
                    format!(
                        "p{partition}: leader {broker}'s high watermark went back from {previous} \
                         to {high_watermark} in epoch {}",
                        core.leader_epoch()
                    ),
                );
            }
        }
    }

    /// Check 2 for one ISR member of a live leader.
    pub fn isr_member_agrees(
        &mut self,
        at_ms: i64,
        partition: usize,
        (leader, leader_log): (usize, &MemLog),
        (member, member_log): (usize, &MemLog),
        high_watermark: i64,
    ) {
        if self.voided[partition] {
            return;
        }
        let leader_records = leader_log.records();
        let member_records = member_log.records();
        let common = (high_watermark as usize)
            .min(member_records.len())
            .min(leader_records.len());
        if let Some(offset) = (0..common).find(|i| leader_records[*i] != member_records[*i]) {
            self.violation(
                at_ms,
                format!(
                    "p{partition}: ISR member {member} differs from leader {leader} at offset \
                     {offset} below the high watermark {high_watermark}"
                ),
            );
            return;
        }
        if (member_records.len() as i64) < high_watermark
            && !self.amnesiac.contains(&(member, partition))
        {
            self.violation(
                at_ms,
                format!(
                    "p{partition}: ISR member {member}'s log ends at {} below leader {leader}'s \
                     high watermark {high_watermark}",
                    member_records.len()
                ),
            );
        }
    }

    /// Check 1 after healing.
    pub fn final_log_has_acked(
        &mut self,
        at_ms: i64,
        partition: usize,
        broker: usize,
        log: &MemLog,
    ) {
        if self.voided[partition] {
            return;
        }
        if let Some((offset, value)) = self.first_missing(partition, log) {
            self.violation(
                at_ms,
                format!(
                    "p{partition}: acknowledged value {value} at offset {offset} is missing \
                     from broker {broker} after healing"
                ),
            );
        }
    }
}
