//! Tests of the persistence layer on deterministic workloads: txns made by the
//! tree's own prepare, logged, snapshotted, damaged on purpose and recovered.
//!
//! - `workload`: the write path without a server, and the tree dump format.
//! - `txn_log`, `snapshot`, `recover`: the writer, the snapshot format, and
//!   recovery (torn tails, corruption, fallbacks, purge).
//! - `apache_vectors`: bytes Apache 3.9.4 wrote, which keel must reproduce.
//! - `compat`: the Rust halves of `compat-tests/suites/zk-disk-format.sh`, which
//!   do nothing unless that script sets their variables.

mod apache_vectors;
mod compat;
mod recover;
mod snapshot;
mod txn_log;
mod workload;
