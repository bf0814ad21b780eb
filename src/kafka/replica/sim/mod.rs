//! A seeded, deterministic simulation of Kafka replication in ZooKeeper mode, built
//! on `replica::state`, with a safety checker (tests only).
//!
//! # Layout
//! - `rng`: splitmix64, the only randomness.
//! - `log`: an in-memory log with Kafka's default durability (flush is explicit).
//! - `cluster`: three brokers, the model ZooKeeper/controller, producers, faults.
//! - `checker`: the invariants and their one excuse.
//!
//! # The safety claim checked
//! With `unclean.leader.election.enable=false`, `min.insync.replicas=2` and RF 3, an
//! acks=all record, once acknowledged, stays at its offset with its value on every
//! replica, through any mix of process crashes, restarts, network partitions
//! (broker-broker, broker-ZooKeeper, one-way) and delays, *unless* the replicas that
//! hold it lose their unflushed log tail in power losses such that the controller
//! elects a leader that lost it (Kafka does not fsync appends by default; a power
//! loss keeps only what was flushed). The checker treats exactly that election as
//! voiding the partition's guarantee and counts it; everything else is a failure.

mod checker;
mod cluster;
pub(crate) mod log;
mod rng;
#[cfg(test)]
mod tests;

pub use cluster::{Cluster, SimConfig, SimStats};

/// What one schedule did.
#[derive(Debug, Clone)]
pub struct SimOutcome {
    pub seed: u64,
    pub stats: SimStats,
    pub acked_records: usize,
    pub violations: Vec<String>,
}

/// Runs one schedule to the end.
pub fn run(config: SimConfig) -> SimOutcome {
    let seed = config.seed;
    let mut cluster = Cluster::new(config);
    cluster.run();
    let mut stats = cluster.stats.clone();
    stats.voided_partitions = cluster.checker.voided_partitions() as u64;
    SimOutcome {
        seed,
        stats,
        acked_records: cluster.checker.acked_count(),
        violations: cluster.checker.violations.clone(),
    }
}
