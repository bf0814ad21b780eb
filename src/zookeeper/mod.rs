//! The ZooKeeper server: a drop-in for Apache ZooKeeper 3.9.
//!
//! # Layout
//! - `config`: `zoo.cfg` and `myid`, with Apache's defaults.
//! - `jute`: wire records, op codes and error codes; pure encode/decode, no IO.
//! - `tree`: the data tree (znodes, Stat, ACLs, ephemerals, watches) as a pure
//!   state machine: prepare (request -> txn) and apply (txn -> reply + events).
//! - `server`: the standalone server: connections, sessions, the request
//!   pipeline, four-letter words and the AdminServer.
//! - `persistence`: the txn log and snapshots in Apache's on-disk format,
//!   recovery at start-up and purging.
//! - `quorum`: the ensemble (leader election and Zab on Apache's peer wire);
//!   being built, see ARCHITECTURE.md.

pub mod config;
pub mod jute;
pub mod persistence;
pub mod quorum;
pub mod server;
pub mod tls;
pub mod tree;
