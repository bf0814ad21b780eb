//! Configuration file syntax shared by both halves.
//!
//! `zoo.cfg` and `server.properties` are both read by Apache with
//! `java.util.Properties.load`, so one parser serves both; the meaning of the keys
//! lives with each half (`zookeeper::config`, `kafka::config`).

pub mod properties;

pub use properties::{ConfigError, Entry, Properties};
