//! The ensemble: leader election and Zab, speaking Apache 3.9's peer protocols.
//!
//! # Layout
//! - `message`: the typed messages election and Zab exchange (`Notification`,
//!   `QuorumMessage`, ids and epochs).
//! - `wire`: Apache 3.9's bytes for those messages on the election and learner
//!   ports, the SNAP stream and the config string, sans-IO.
//!
//! Being built (ARCHITECTURE.md, issue "ZooKeeper ensemble"): `election`
//! (FastLeaderElection as a pure state machine), `zab` (leader and learner as a
//! sans-IO core) and `sim` (a seeded deterministic simulation with a checker).

pub mod message;
pub mod wire;
