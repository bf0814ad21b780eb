//! Configuration file syntax shared by both halves.
//!
//! `zoo.cfg` and `server.properties` are both read by Apache with
//! `java.util.Properties.load`, so one parser serves both; the meaning of the keys
//! lives with each half (`zookeeper::config`, `kafka::config`). Both also read
//! JAAS login files (`jaas`), named by `-Djava.security.auth.login.config` in the
//! environment their start scripts pass (`KAFKA_OPTS`, `SERVER_JVMFLAGS`).

pub mod jaas;
pub mod properties;

pub use properties::{ConfigError, Entry, Properties};

/// The `-Dname=value` system properties in a JVM flags environment variable
/// (`KAFKA_OPTS`, `SERVER_JVMFLAGS`, `JVMFLAGS`), as the start scripts pass them.
pub fn jvm_system_properties(flags: &str) -> std::collections::BTreeMap<String, String> {
    flags
        .split_whitespace()
        .filter_map(|word| word.strip_prefix("-D"))
        .map(|definition| {
            let (name, value) = definition.split_once('=').unwrap_or((definition, ""));
            (name.to_string(), value.trim_matches('"').to_string())
        })
        .collect()
}
