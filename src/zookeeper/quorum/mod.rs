//! The ensemble: leader election and Zab, speaking Apache 3.9's peer protocols.
//!
//! # Layout
//! - `message`: the typed messages election and Zab exchange (`Notification`,
//!   `QuorumMessage`, ids and epochs).
//! - `wire`: Apache 3.9's bytes for those messages on the election and learner
//!   ports, the SNAP stream and the config string, sans-IO.
//! - `election`: FastLeaderElection as a pure state machine (notifications and
//!   time in, sends and the decision out).
//! - `zab`: the leader, follower and observer roles as a sans-IO core.
//! - `peer`: the tokio shell of an ensemble member (Apache's QuorumPeer):
//!   sockets, disk and time around election, Zab and the request pipeline.
//! - `sim` (tests): a seeded deterministic simulation of an ensemble with a
//!   safety checker.

pub mod election;
pub mod message;
pub mod peer;
#[cfg(test)]
pub mod sim;
pub mod wire;
pub mod zab;
