//! `/metrics` in Prometheus text format, as Apache ZooKeeper 3.9's
//! `PrometheusMetricsProvider` serves it when zoo.cfg names it
//! (`metricsProvider.className`, `metricsProvider.httpHost` default 0.0.0.0,
//! `metricsProvider.httpPort` default 7000, `metricsProvider.exportJvmInfo`).
//!
//! The values are the server's monitor values (`mntr`), fetched through the
//! pipeline like an AdminServer command, under the metric names and types Apache's
//! provider uses for the same values; the `process_*` metrics (Apache's
//! `exportJvmInfo` part that is not about a JVM) are read from `/proc` on this
//! task, off the pipeline. `/ready` (keel's own) answers 200 while the server
//! serves clients, 503 otherwise, for orchestrators. Apache's other metrics (request-processor latencies and
//! queue sizes, the JVM's) are not produced; the README lists them.

use std::fmt::Write as _;

use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use super::driver::Message;
use super::host::{HostFacts, HostProbe};
use crate::http::{accept_each, read_get_path, respond};
use crate::zookeeper::config::ZooKeeperConfig;

/// The provider class zoo.cfg names to turn the endpoint on.
const PROMETHEUS_PROVIDER: &str =
    "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider";
const HTTP_HOST_DEFAULT: &str = "0.0.0.0";
const HTTP_PORT_DEFAULT: u16 = 7000;

/// Where to serve `/metrics`, when zoo.cfg asks for the Prometheus provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsEndpoint {
    pub host: String,
    pub port: u16,
    /// `metricsProvider.exportJvmInfo` (default true): the `process_*` metrics.
    pub process_metrics: bool,
}

impl MetricsEndpoint {
    /// `None` unless `metricsProvider.className` is Apache's Prometheus provider
    /// (any other class, Apache's default NullMetricsProvider included, exports
    /// nothing over HTTP).
    pub fn from_config(config: &ZooKeeperConfig) -> Result<Option<MetricsEndpoint>, String> {
        let property = |key: &str| config.extra_properties.get(key).map(|v| v.trim());
        match property("metricsProvider.className") {
            Some(PROMETHEUS_PROVIDER) => {}
            Some(other) if other.ends_with("NullMetricsProvider") || other.is_empty() => {
                return Ok(None)
            }
            Some(other) => {
                tracing::warn!(
                    class = other,
                    "metricsProvider.className names a provider keel does not have; no metrics endpoint"
                );
                return Ok(None);
            }
            None => return Ok(None),
        }
        let port = match property("metricsProvider.httpPort") {
            None => HTTP_PORT_DEFAULT,
            Some(text) => text
                .parse()
                .map_err(|_| format!("metricsProvider.httpPort: not a port: {text}"))?,
        };
        Ok(Some(MetricsEndpoint {
            host: property("metricsProvider.httpHost")
                .unwrap_or(HTTP_HOST_DEFAULT)
                .to_string(),
            port,
            process_metrics: property("metricsProvider.exportJvmInfo")
                .is_none_or(|value| !value.eq_ignore_ascii_case("false")),
        }))
    }
}

/// Binds the endpoint and serves it until `stop`.
pub async fn start(
    endpoint: &MetricsEndpoint,
    messages: mpsc::Sender<Message>,
    host_probe: HostProbe,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<std::net::SocketAddr> {
    use anyhow::Context;
    let listener = TcpListener::bind((endpoint.host.as_str(), endpoint.port))
        .await
        .with_context(|| {
            format!(
                "binding the metrics endpoint {}:{} (metricsProvider.httpHost/httpPort)",
                endpoint.host, endpoint.port
            )
        })?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "Prometheus metrics at http://{address}/metrics");
    tokio::spawn(serve_loop(
        listener,
        messages,
        host_probe,
        stop,
        endpoint.process_metrics,
    ));
    Ok(address)
}

async fn serve_loop(
    listener: TcpListener,
    messages: mpsc::Sender<Message>,
    host_probe: HostProbe,
    stop: watch::Receiver<bool>,
    process_metrics: bool,
) {
    accept_each(listener, stop, move |stream| {
        let messages = messages.clone();
        let host_probe = host_probe.clone();
        async move {
            let _ = serve(stream, messages, host_probe, process_metrics).await;
        }
    })
    .await
}

async fn serve(
    mut stream: TcpStream,
    messages: mpsc::Sender<Message>,
    host_probe: HostProbe,
    process_metrics: bool,
) -> std::io::Result<()> {
    let Some(path) = read_get_path(&mut stream).await? else {
        return Ok(());
    };
    if path != "/metrics" && path != READY_PATH {
        return respond(&mut stream, 404, "text/plain", "not found\n").await;
    }
    // Readiness asks the cheap `ruok`; only a scrape samples the host (directory
    // sizes, /proc) for the monitor values, on a blocking thread.
    let (command, host) = if path == READY_PATH {
        ("ruok", HostFacts::default())
    } else {
        ("monitor", host_probe.sample().await)
    };
    let (reply, answer) = oneshot::channel();
    let message = Message::Admin {
        name: command.to_string(),
        host,
        reply,
    };
    if messages.send(message).await.is_err() {
        return respond(&mut stream, 503, "text/plain", "server stopping\n").await;
    }
    let monitor = answer.await.unwrap_or_default();
    if path == READY_PATH {
        let (status, text) = readiness(&monitor);
        return respond(&mut stream, status, "text/plain", &text).await;
    }
    let mut text = render_monitor(&monitor);
    if process_metrics {
        let process = tokio::task::spawn_blocking(ProcessStats::read)
            .await
            .unwrap_or_default();
        text.push_str(&render_process(&process));
    }
    respond(&mut stream, 200, crate::http::PROMETHEUS_TEXT, &text).await
}

/// keel's readiness answer for orchestrators (Apache has none): 200 once the
/// server serves clients (standalone, or leading / following / observing after
/// its sync), 503 while it looks for a leader or stops.
pub const READY_PATH: &str = "/ready";

/// From an AdminServer command's answer: a server between elections answers every
/// command with an `error` text ("not currently serving requests").
fn readiness(answer: &Value) -> (u16, String) {
    match answer.get("error").and_then(Value::as_str) {
        None if answer.is_object() => (200, "ready\n".to_string()),
        _ => (503, "not serving clients\n".to_string()),
    }
}

/// The monitor values Apache's provider exports, with its types: the server's
/// gauges, the leader's (present only on a leader), and the digest counter.
const MONITOR_METRICS: &[(&str, &str)] = &[
    ("approximate_data_size", "gauge"),
    ("auth_failed_count", "gauge"),
    ("avg_latency", "gauge"),
    ("max_latency", "gauge"),
    ("min_latency", "gauge"),
    ("digest_mismatches_count", "counter"),
    ("ephemerals_count", "gauge"),
    ("global_sessions", "gauge"),
    ("local_sessions", "gauge"),
    ("last_client_response_size", "gauge"),
    ("max_client_response_size", "gauge"),
    ("min_client_response_size", "gauge"),
    ("max_file_descriptor_count", "gauge"),
    ("open_file_descriptor_count", "gauge"),
    ("num_alive_connections", "gauge"),
    ("outstanding_requests", "gauge"),
    ("packets_received", "gauge"),
    ("packets_sent", "gauge"),
    ("uptime", "gauge"),
    ("watch_count", "gauge"),
    ("znode_count", "gauge"),
    ("connection_drop_probability", "gauge"),
    ("quorum_size", "gauge"),
    ("learners", "gauge"),
    ("synced_followers", "gauge"),
    ("synced_non_voting_followers", "gauge"),
    ("synced_observers", "gauge"),
    ("pending_syncs", "gauge"),
    ("leader_uptime", "gauge"),
    ("last_proposal_size", "gauge"),
    ("max_proposal_size", "gauge"),
    ("min_proposal_size", "gauge"),
];

/// The monitor values as Prometheus text, `# HELP` and `# TYPE` as Apache's
/// simpleclient writes them (the help text is the name).
fn render_monitor(monitor: &Value) -> String {
    let mut text = String::new();
    for (name, kind) in MONITOR_METRICS {
        let Some(value) = monitor.get(*name).and_then(Value::as_f64) else {
            continue;
        };
        let _ = writeln!(text, "# HELP {name} {name}");
        let _ = writeln!(text, "# TYPE {name} {kind}");
        let _ = writeln!(text, "{name} {value:?}");
    }
    text
}

/// The process metrics simpleclient's `StandardExports` reads from `/proc`.
#[derive(Debug, Default, Clone, PartialEq)]
struct ProcessStats {
    cpu_seconds: Option<f64>,
    start_time_seconds: Option<f64>,
    open_fds: Option<f64>,
    max_fds: Option<f64>,
    virtual_memory_bytes: Option<f64>,
    resident_memory_bytes: Option<f64>,
}

impl ProcessStats {
    fn read() -> ProcessStats {
        let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let page_bytes = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as f64;
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the command name, which may hold spaces: field 3 onwards.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
        let field = |number: usize| -> Option<f64> { fields.get(number - 3)?.parse().ok() };
        let boot_seconds = std::fs::read_to_string("/proc/stat").ok().and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("btime "))
                .and_then(|value| value.trim().parse::<f64>().ok())
        });
        ProcessStats {
            cpu_seconds: field(14)
                .zip(field(15))
                .map(|(user, system)| (user + system) / ticks_per_second),
            start_time_seconds: field(22)
                .zip(boot_seconds)
                .map(|(start, boot)| boot + start / ticks_per_second),
            open_fds: super::host::open_file_descriptors().map(|count| count as f64),
            max_fds: super::host::max_file_descriptors().map(|count| count as f64),
            virtual_memory_bytes: field(23),
            resident_memory_bytes: field(24).map(|pages| pages * page_bytes),
        }
    }
}

fn render_process(stats: &ProcessStats) -> String {
    let rows = [
        (
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            stats.cpu_seconds,
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            stats.start_time_seconds,
        ),
        (
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            stats.open_fds,
        ),
        (
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            stats.max_fds,
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            stats.virtual_memory_bytes,
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            stats.resident_memory_bytes,
        ),
    ];
    let mut text = String::new();
    for (name, kind, help, value) in rows {
        let Some(value) = value else { continue };
        let _ = writeln!(text, "# HELP {name} {help}");
        let _ = writeln!(text, "# TYPE {name} {kind}");
        let _ = writeln!(text, "{name} {value:?}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_values_render_with_apache_names_and_types() {
        let monitor = serde_json::json!({
            "version": "3.9.4-keel",
            "server_state": "leader",
            "znode_count": 5,
            "avg_latency": 0.5,
            "digest_mismatches_count": 0,
            "learners": 2,
            "followers": 2,
            "data_dir_size": 100,
        });
        let text = render_monitor(&monitor);
        assert!(text.contains("# TYPE znode_count gauge\nznode_count 5.0\n"));
        assert!(text.contains("avg_latency 0.5\n"));
        assert!(text.contains("# TYPE digest_mismatches_count counter\n"));
        assert!(text.contains("learners 2.0\n"));
        // Strings, keel's 3.4-era alias and mntr-only values are not metrics.
        for absent in ["version", "server_state", "followers ", "data_dir_size"] {
            assert!(!text.contains(absent), "{absent} in\n{text}");
        }
    }

    #[test]
    fn ready_only_while_serving() {
        let serving = serde_json::json!({"server_state": "follower"});
        assert_eq!(readiness(&serving).0, 200);
        let looking = serde_json::json!({
            "error": "This ZooKeeper instance is not currently serving requests"
        });
        assert_eq!(readiness(&looking).0, 503);
    }

    #[test]
    fn process_stats_come_from_proc() {
        let stats = ProcessStats::read();
        assert!(stats.cpu_seconds.is_some());
        assert!(stats.open_fds.unwrap_or_default() >= 1.0);
        assert!(stats.resident_memory_bytes.unwrap_or_default() > 0.0);
        let start = stats.start_time_seconds.unwrap_or_default();
        assert!(start > 1.0e9, "start time {start}");
        let text = render_process(&stats);
        assert!(text.contains("# TYPE process_cpu_seconds_total counter\n"));
    }
}
