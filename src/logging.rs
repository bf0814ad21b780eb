//! Log levels per module, at start (`KEEL_LOG`, tracing's filter syntax) and at
//! run time, named as Kafka names its loggers for `kafka-configs
//! --entity-type broker-loggers` (KIP-412): `root`, and keel's modules written
//! with dots (`keel.kafka.replica` is the tracing target `keel::kafka::replica`
//! and everything below it). `KEEL_LOG_FORMAT=json` writes one JSON object per
//! line for log shippers.
//!
//! The levels are a small state (root level, per-logger levels) from which the
//! tracing filter is rebuilt and swapped in on every change.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// Kafka's name for the root logger.
pub const ROOT_LOGGER: &str = "root";

/// Levels Kafka accepts (`LogLevelConfig.VALID_LOG_LEVELS`), sorted as its
/// error message lists them.
pub const VALID_LEVELS: &[&str] = &["DEBUG", "ERROR", "FATAL", "INFO", "TRACE", "WARN"];

/// keel's modules, as loggers: the ones `--describe` lists. A name below one of
/// them (`keel.kafka.replica.fetcher`) exists too, as a child logger does.
pub const MODULE_LOGGERS: &[&str] = &[
    "keel",
    "keel.cli",
    "keel.kafka",
    "keel.kafka.apis",
    "keel.kafka.broker",
    "keel.kafka.controller",
    "keel.kafka.group",
    "keel.kafka.log",
    "keel.kafka.metadata",
    "keel.kafka.metrics",
    "keel.kafka.node",
    "keel.kafka.peer",
    "keel.kafka.protocol",
    "keel.kafka.replica",
    "keel.kafka.server",
    "keel.zookeeper",
    "keel.zookeeper.persistence",
    "keel.zookeeper.quorum",
    "keel.zookeeper.server",
    "keel.zookeeper.tree",
];

/// The levels in force.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Levels {
    root: String,
    /// By logger name (dotted), upper-case levels.
    loggers: BTreeMap<String, String>,
    /// `KEEL_LOG` directives that name spans or fields: kept as written.
    verbatim: Vec<String>,
}

impl Levels {
    /// From `KEEL_LOG` (`info,keel::kafka=debug`); `info` when unset.
    fn parse(spec: Option<&str>) -> Levels {
        let mut levels = Levels {
            root: "INFO".to_string(),
            loggers: BTreeMap::new(),
            verbatim: Vec::new(),
        };
        for directive in spec
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|directive| !directive.is_empty())
        {
            match directive.split_once('=') {
                None if is_level(directive) => levels.root = directive.to_ascii_uppercase(),
                Some((target, level))
                    if is_level(level) && !target.contains(['[', '{']) && !target.is_empty() =>
                {
                    levels
                        .loggers
                        .insert(target.replace("::", "."), level.to_ascii_uppercase());
                }
                _ => levels.verbatim.push(directive.to_string()),
            }
        }
        levels
    }

    /// The tracing filter: the root level, then one directive per logger.
    fn filter(&self) -> String {
        let mut directives = vec![tracing_level(&self.root).to_string()];
        for (logger, level) in &self.loggers {
            directives.push(format!(
                "{}={}",
                logger.replace('.', "::"),
                tracing_level(level)
            ));
        }
        directives.extend(self.verbatim.iter().cloned());
        directives.join(",")
    }

    /// A logger's effective level: its own, else its nearest ancestor's, else root.
    fn effective(&self, logger: &str) -> String {
        let mut name = logger;
        loop {
            if let Some(level) = self.loggers.get(name) {
                return level.clone();
            }
            match name.rsplit_once('.') {
                Some((parent, _)) => name = parent,
                None => return self.root.clone(),
            }
        }
    }
}

fn is_level(text: &str) -> bool {
    matches!(
        text.to_ascii_lowercase().as_str(),
        "trace" | "debug" | "info" | "warn" | "error" | "off"
    )
}

/// tracing has no FATAL: it is ERROR.
fn tracing_level(level: &str) -> &'static str {
    match level {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        "OFF" => "off",
        _ => "info",
    }
}

struct Control {
    levels: Levels,
    reload: Option<reload::Handle<EnvFilter, Registry>>,
}

static CONTROL: OnceLock<Mutex<Control>> = OnceLock::new();

fn control() -> std::sync::MutexGuard<'static, Control> {
    CONTROL
        .get_or_init(|| {
            Mutex::new(Control {
                levels: Levels::parse(None),
                reload: None,
            })
        })
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Installs the subscriber: levels from `KEEL_LOG`, text (coloured only on a
/// terminal) or JSON by `KEEL_LOG_FORMAT`, on stderr.
pub fn init() {
    let levels = Levels::parse(std::env::var("KEEL_LOG").ok().as_deref());
    let filter = EnvFilter::try_new(levels.filter()).unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let json =
        std::env::var("KEEL_LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let installed = if json {
        tracing_subscriber::registry()
            .with(filter)
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(false)
                    .with_writer(std::io::stderr),
            )
            .try_init()
    } else {
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
        tracing_subscriber::registry()
            .with(filter)
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(ansi)
                    .with_writer(std::io::stderr),
            )
            .try_init()
    };
    let mut control = control();
    control.levels = levels;
    if installed.is_ok() {
        control.reload = Some(handle);
    }
}

/// Every logger `describe` reports: root first, then keel's modules and any
/// logger given a level, each with its effective level (as Kafka's
/// `Log4jController.loggers`).
pub fn loggers() -> Vec<(String, String)> {
    let control = control();
    let levels = &control.levels;
    let mut names: Vec<String> = MODULE_LOGGERS.iter().map(ToString::to_string).collect();
    names.extend(levels.loggers.keys().cloned());
    names.sort();
    names.dedup();
    let mut out = vec![(ROOT_LOGGER.to_string(), levels.root.clone())];
    out.extend(names.into_iter().map(|name| {
        let level = levels.effective(&name);
        (name, level)
    }));
    out
}

/// Whether Kafka would find the logger: root, a module of keel, or a name
/// below one.
pub fn logger_exists(name: &str) -> bool {
    name == ROOT_LOGGER
        || !name.split('.').any(str::is_empty)
            && MODULE_LOGGERS.iter().any(|module| {
                name == *module
                    || name
                        .strip_prefix(module)
                        .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1)
            })
}

/// SET: `level` must be one of `VALID_LEVELS` (checked by the caller).
pub fn set_level(logger: &str, level: &str) {
    let mut control = control();
    if logger == ROOT_LOGGER {
        control.levels.root = level.to_string();
    } else {
        control
            .levels
            .loggers
            .insert(logger.to_string(), level.to_string());
    }
    apply(&control);
}

/// DELETE: the logger inherits again (not for root).
pub fn unset_level(logger: &str) {
    let mut control = control();
    control.levels.loggers.remove(logger);
    apply(&control);
}

fn apply(control: &Control) {
    let Some(reload) = &control.reload else {
        return;
    };
    match EnvFilter::try_new(control.levels.filter()) {
        Ok(filter) => {
            if let Err(error) = reload.reload(filter) {
                tracing::error!(%error, "cannot change the log levels");
            }
        }
        Err(error) => tracing::error!(%error, "cannot build the log filter"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keel_log_reads_as_loggers_and_back() {
        let levels = Levels::parse(Some("warn,keel::kafka=debug,keel::kafka::replica=trace"));
        assert_eq!(levels.root, "WARN");
        assert_eq!(levels.effective("keel.kafka.replica.fetcher"), "TRACE");
        assert_eq!(levels.effective("keel.kafka.group"), "DEBUG");
        assert_eq!(levels.effective("keel.zookeeper"), "WARN");
        assert_eq!(
            levels.filter(),
            "warn,keel::kafka=debug,keel::kafka::replica=trace"
        );
        assert_eq!(Levels::parse(None).filter(), "info");
        let kept = Levels::parse(Some("info,[conn]=debug"));
        assert_eq!(kept.filter(), "info,[conn]=debug");
    }

    #[test]
    fn fatal_is_error_for_tracing() {
        let mut levels = Levels::parse(None);
        levels
            .loggers
            .insert("keel.kafka".to_string(), "FATAL".to_string());
        assert_eq!(levels.filter(), "info,keel::kafka=error");
    }

    #[test]
    fn loggers_exist_as_modules_and_below() {
        assert!(logger_exists("root"));
        assert!(logger_exists("keel.kafka.replica"));
        assert!(logger_exists("keel.kafka.replica.fetcher"));
        assert!(!logger_exists("keelx.kafka"));
        assert!(!logger_exists("kafka.server.ReplicaManager"));
        assert!(!logger_exists("keel.kafka."));
    }
}
