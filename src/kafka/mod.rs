//! The Kafka broker: a drop-in for an Apache Kafka broker in ZooKeeper mode.
//!
//! # Layout
//! - `apis`: one handler module per API area, and the dispatch match.
//! - `authz`: the request's session (principal, address) and the authorization checks.
//! - `broker`: what handlers share (config, metadata, logs, append signal).
//! - `config`: `server.properties` with Kafka's defaults and type checks.
//! - `controller`: cluster metadata kept in ZooKeeper, in Kafka's own znode layout.
//! - `disk`: running blocking disk work from request handlers.
//! - `fetch_session`: incremental fetch sessions (KIP-227), a pure state machine.
//! - `group`: the consumer group coordinator (classic protocol) and its records.
//! - `log`: segments, indexes and recovery in Kafka's own file format.
//! - `metadata`: the in-memory cluster picture and the `MetadataStore` handle handlers use.
//! - `node`: a running broker: listeners, cluster membership, periodic duties, shutdown.
//! - `peer`: connections to other brokers (follower fetches, AlterPartition).
//! - `protocol`: framing and request/response codec (kafka-protocol message types).
//! - `quota`: client quotas (byte rates) as Kafka's ClientQuotaManager, pure.
//! - `replica`: partition state on this broker: log, replication (leader/follower,
//!   ISR, high watermark), producer sequences; the broker role (`manager`, `fetcher`).
//! - `security`: listener security protocols, SASL (PLAIN, SCRAM) and the settings
//!   keel refuses to start with because it cannot enforce them yet.
//! - `topic_config`: topic config names, types, defaults and their resolution order.
//! - `server`: listeners and connections: frames in, responses out.
//!
//! `kafka` never imports `zookeeper`: the broker reaches ZooKeeper over the wire.

pub mod apis;
pub mod authz;
pub mod broker;
pub mod config;
pub mod controller;
pub mod disk;
pub mod fetch_session;
pub mod group;
pub mod log;
pub mod metadata;
pub mod metrics;
pub mod node;
pub mod peer;
pub mod protocol;
pub mod quota;
pub mod replica;
pub mod security;
pub mod server;
pub mod topic_config;
