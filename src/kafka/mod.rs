//! The Kafka broker: a drop-in for an Apache Kafka broker in ZooKeeper mode.
//!
//! # Layout
//! - `config`: `server.properties` with Kafka's defaults and type checks.
//! - `log`: segments, indexes and recovery in Kafka's own file format.
//!
//! Still to come (see ARCHITECTURE.md): `protocol`, `apis`, `replica`,
//! `group` and `controller`.

pub mod config;
pub mod log;
