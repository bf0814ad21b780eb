//! The ensemble: leader election and Zab, speaking Apache 3.9's peer protocols.
//!
//! # Layout
//! - `message`: the typed messages election and Zab exchange (`Notification`,
//!   `QuorumMessage`, ids and epochs).
//! - `zab`: Zab (leader, follower, observer) as a sans-IO core: `step(now, Input)`
//!   in, `Output`s (sends, appends, epoch writes, snapshots, applies) out.
//! - `sim` (tests only): a seeded deterministic simulation of an ensemble around
//!   `zab`, with an election oracle and a safety checker; `scripts/sim-long` runs
//!   it at length.
//!
//! Being built on other branches (ARCHITECTURE.md, issue "ZooKeeper ensemble"):
//! `wire` (Apache's bytes for those messages) and `election` (FastLeaderElection
//! as a pure state machine, to replace the simulation's oracle).

pub mod message;
#[cfg(test)]
pub mod sim;
pub mod zab;
