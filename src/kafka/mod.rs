//! The Kafka broker: a drop-in for an Apache Kafka broker in ZooKeeper mode.
//!
//! # Layout
//! - `config`: `server.properties` with Kafka's defaults and type checks.
//!
//! Still to come (see ARCHITECTURE.md): `protocol`, `apis`, `log`, `replica`,
//! `group` and `controller`.

pub mod config;
