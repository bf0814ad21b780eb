//! The ensemble: leader election and Zab, speaking Apache 3.9's peer protocols.
//!
//! # Layout
//! - `message`: the typed messages election and Zab exchange (`Notification`,
//!   `QuorumMessage`, ids and epochs).
//!
//! Being built (ARCHITECTURE.md, issue "ZooKeeper ensemble"): `wire` (Apache's
//! bytes for those messages), `election` (FastLeaderElection as a pure state
//! machine), `zab` (leader and learner as a sans-IO core) and `sim` (a seeded
//! deterministic simulation with a checker).

pub mod message;
#[cfg(test)]
pub mod sim;
pub mod zab;
