//! keel: Apache ZooKeeper and Apache Kafka, spoken by one Rust program.
//!
//! # Layout
//! - `config`: Java properties syntax, shared by `zoo.cfg` and `server.properties`.
//! - `zookeeper`: the ZooKeeper server (wire codec, data tree, persistence, quorum).
//! - `kafka`: the Kafka broker (protocol, log, groups, metadata kept in ZooKeeper).
//! - `cli`: the `keel` command line (`zookeeper`, `kafka`, `standalone`).
//! - `notify`: readiness for service managers (systemd's `NOTIFY_SOCKET`).
//!
//! The two halves never import each other: a keel broker reaches its metadata over
//! the ZooKeeper protocol, exactly as an Apache broker does, so it runs as well on an
//! Apache ensemble as on keel's. They meet only in `cli` (`keel standalone`).

pub mod cli;
pub mod config;
pub mod http;
pub mod kafka;
pub mod logging;
pub mod notify;
pub mod tls;
pub mod warn_limit;
pub mod zookeeper;
