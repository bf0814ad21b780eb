//! The four-letter words and the AdminServer commands, in Apache's output
//! formats (`org.apache.zookeeper.server.command.*` for the words,
//! `admin.Commands` for the JSON). Pure: they read the pipeline's state and
//! the host facts sampled off the pipeline by whoever asked (`host`).

use crate::zookeeper::quorum::zab::ProposalSizes;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::{json, Map, Value};

use super::core::{Connection, Core};
use super::host::HostFacts;
use super::sessions::ConnectionId;

/// What `zkServer.sh status`, Curator and FourLetterWordMain read: Apache's
/// `Version.getFullVersion()` shape, `<version>-<revision>, built on <date>`.
pub const FULL_VERSION: &str = concat!(
    "3.9.4-keel-",
    env!("CARGO_PKG_VERSION"),
    ", built on 1970-01-01 00:00 UTC"
);

/// Every word Apache knows (`FourLetterCommands.cmd2String`), in its order.
pub const KNOWN_WORDS: &[&str] = &[
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk", "srst", "srvr", "stat",
    "wchc", "wchp", "wchs", "mntr", "isro", "hash",
];

/// Server facts that do not live in the pipeline.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub client_port: u16,
    /// `dataDir/version-2` and `dataLogDir/version-2`, as Apache prints them.
    pub snapshot_dir: Option<PathBuf>,
    pub log_dir: Option<PathBuf>,
    pub client_connections_per_ip_max: u32,
    /// Monotonic milliseconds at start, for `uptime`.
    pub started_ms: i64,
    /// What `srvr`'s `Mode:` line and mntr's `zk_server_state` say: `standalone`,
    /// or `leader` / `follower` / `observer` in an ensemble.
    pub mode: &'static str,
    /// This server's `myid` in an ensemble (`serverId` in `conf`), 0 standalone.
    pub server_id: i64,
    /// An ensemble leader's figures for `mntr` (`None` on any other server).
    pub leader: Option<LeaderStats>,
    /// Voting members of the ensemble (`QuorumZooKeeperServer`'s `quorum_size`
    /// gauge); 0 standalone.
    pub quorum_size: usize,
}

/// What an ensemble leader's `mntr` adds (`LeaderZooKeeperServer.registerMetrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeaderStats {
    /// Learners connected (followers and observers), synced or not.
    pub learners: usize,
    pub synced_followers: usize,
    pub synced_observers: usize,
    /// Forwarded syncs waiting for a commit.
    pub pending_syncs: usize,
    pub uptime_ms: i64,
    pub proposal_sizes: ProposalSizes,
}

/// `FourLetterCommands.isEnabled`: the whitelist, `*` for all, and `srvr`
/// always (zkServer.sh depends on it).
pub fn is_enabled(whitelist: &[String], word: &str) -> bool {
    word == "srvr"
        || whitelist
            .iter()
            .any(|allowed| allowed == "*" || allowed == word)
}

/// What a word the whitelist refuses answers.
pub fn not_whitelisted(word: &str) -> String {
    format!("{word} is not executed because it is not in the whitelist.\n")
}

fn peer_text(conn: &Connection) -> String {
    // Java's InetSocketAddress.toString(): "/<ip>:<port>".
    format!("/{}:{}", conn.peer.ip(), conn.peer.port())
}

/// `ServerCnxn.dumpConnectionInfo`.
fn connection_info(conn: &Connection, brief: bool) -> String {
    let stats = &conn.stats;
    let mut out = format!(
        " {}[1](queued={},recved={},sent={}",
        peer_text(conn),
        conn.outstanding,
        stats.packets_received,
        stats.packets_sent
    );
    if !brief {
        if let Some(session) = conn.session {
            out.push_str(&format!(
                ",sid=0x{:x},lop={},est={},to={}",
                session.0, stats.last_operation, conn.established_wall_ms, conn.timeout_ms
            ));
            if stats.last_cxid >= 0 {
                out.push_str(&format!(",lcxid=0x{:x}", stats.last_cxid));
            }
            out.push_str(&format!(
                ",lzxid=0x{:x},lresp={},llat={},minlat={},avglat={},maxlat={}",
                stats.last_zxid,
                stats.last_response_time_ms,
                stats.last_latency_ms,
                stats.latency.min_ms(),
                stats.latency.avg_ms_whole(),
                stats.latency.max_ms()
            ));
        }
    }
    out.push(')');
    out
}

/// `ServerStats.toString()` and the node count: the tail of `srvr` and `stat`.
fn server_stats_text(core: &Core, info: &ServerInfo, asker: Option<SocketAddr>) -> String {
    let stats = core.stats();
    // A leader's `StatCommand` adds its proposal sizes after the node count.
    let proposal_sizes = info
        .leader
        .map(|leader| {
            let sizes = leader.proposal_sizes;
            format!(
                "Proposal sizes last/min/max: {}/{}/{}\n",
                sizes.last_bytes, sizes.min_bytes, sizes.max_bytes
            )
        })
        .unwrap_or_default();
    format!(
        "Latency min/avg/max: {}/{:?}/{}\nReceived: {}\nSent: {}\nConnections: {}\nOutstanding: {}\nZxid: 0x{:x}\nMode: {}\nNode count: {}\n{}",
        stats.latency.min_ms(),
        stats.latency.avg_ms(),
        stats.latency.max_ms(),
        stats.packets_received,
        stats.packets_sent,
        core.connections().len() + usize::from(asker.is_some()),
        core.outstanding_requests(),
        core.tree().last_processed_zxid().0,
        info.mode,
        node_count(core),
        proposal_sizes
    )
}

/// Apache's `DataTree` keeps the root under both "" and "/", so its node
/// count is one more than the number of znodes; keel reports the same number.
fn node_count(core: &Core) -> usize {
    core.tree().node_count() + 1
}

/// `envi`: what Apache's `Environment.list()` reports, for a Rust process.
fn environment(host: &HostFacts) -> Vec<(String, String)> {
    let variable = |name: &str| std::env::var(name).unwrap_or_default();
    vec![
        ("zookeeper.version".into(), FULL_VERSION.into()),
        ("host.name".into(), host.host_name.clone()),
        ("java.version".into(), "keel (Rust, no JVM)".into()),
        ("java.vendor".into(), "keel".into()),
        ("os.name".into(), std::env::consts::OS.into()),
        ("os.arch".into(), std::env::consts::ARCH.into()),
        ("user.name".into(), variable("USER")),
        ("user.home".into(), variable("HOME")),
        ("user.dir".into(), host.user_dir.clone()),
    ]
}

/// The monitor values (`mntr`, admin `monitor`), in a fixed order.
fn monitor_values(
    core: &Core,
    info: &ServerInfo,
    now_ms: i64,
    asker: Option<SocketAddr>,
    host: &HostFacts,
) -> Vec<(&'static str, Value)> {
    let stats = core.stats();
    let tree = core.tree();
    let (_, _, _) = tree.watches().data.summary();
    let mut values = vec![
        ("version", json!(FULL_VERSION)),
        ("server_state", json!(info.mode)),
        ("avg_latency", json!(stats.latency.avg_ms())),
        ("max_latency", json!(stats.latency.max_ms())),
        ("min_latency", json!(stats.latency.min_ms())),
        ("packets_received", json!(stats.packets_received)),
        ("packets_sent", json!(stats.packets_sent)),
        (
            "num_alive_connections",
            json!(core.connections().len() + usize::from(asker.is_some())),
        ),
        ("outstanding_requests", json!(core.outstanding_requests())),
        ("znode_count", json!(node_count(core))),
        ("watch_count", json!(tree.watches().count())),
        ("ephemerals_count", json!(tree.ephemerals_count())),
        ("approximate_data_size", json!(tree.approximate_data_size())),
        ("global_sessions", json!(core.sessions().len())),
        ("local_sessions", json!(0)),
        ("auth_failed_count", json!(stats.auth_failed)),
        ("uptime", json!((now_ms - info.started_ms).max(0))),
        ("last_client_response_size", json!(-1)),
        ("max_client_response_size", json!(-1)),
        ("min_client_response_size", json!(-1)),
        ("data_dir_size", json!(host.data_dir_bytes)),
        ("log_dir_size", json!(host.log_dir_bytes)),
        (
            "open_file_descriptor_count",
            json!(host.open_file_descriptors),
        ),
        (
            "max_file_descriptor_count",
            json!(host.max_file_descriptors),
        ),
        ("connection_drop_probability", json!(0.0)),
        (
            "digest_mismatches_count",
            json!(tree.digest_mismatches_count()),
        ),
    ];
    if matches!(info.mode, "leader" | "follower" | "observer") && info.quorum_size > 0 {
        values.push(("quorum_size", json!(info.quorum_size)));
    }
    if info.mode == "follower" {
        // FollowerZooKeeperServer's gauge: observers synced through this follower
        // (observerMasterPort); keel's followers serve no observers.
        values.push(("synced_observers", json!(0)));
    }
    if let Some(leader) = info.leader {
        values.extend([
            ("learners", json!(leader.learners)),
            // 3.4's name for the learner count, still read by old monitoring.
            ("followers", json!(leader.learners)),
            ("synced_followers", json!(leader.synced_followers)),
            ("synced_non_voting_followers", json!(0)),
            ("synced_observers", json!(leader.synced_observers)),
            ("pending_syncs", json!(leader.pending_syncs)),
            ("leader_uptime", json!(leader.uptime_ms)),
            (
                "last_proposal_size",
                json!(leader.proposal_sizes.last_bytes),
            ),
            ("max_proposal_size", json!(leader.proposal_sizes.max_bytes)),
            ("min_proposal_size", json!(leader.proposal_sizes.min_bytes)),
        ]);
    }
    values
}

/// How Apache lists the four-letter-word connection itself: no session,
/// interest ops 0, the one packet it read.
fn asker_info(asker: Option<SocketAddr>) -> String {
    asker.map_or(String::new(), |peer| {
        format!(
            " /{}:{}[0](queued=0,recved=1,sent=0)\n",
            peer.ip(),
            peer.port()
        )
    })
}

/// `MonitorCommand.print`: integers as integers, other numbers as doubles.
fn monitor_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) if number.is_f64() => {
            format!("{:?}", number.as_f64().unwrap_or_default())
        }
        other => other.to_string(),
    }
}

/// Runs one four-letter word that is known and enabled. `srst` and `crst`
/// reset counters, hence `&mut`.
pub fn four_letter_word(
    core: &mut Core,
    info: &ServerInfo,
    word: &str,
    now_ms: i64,
    asker: Option<SocketAddr>,
    host: &HostFacts,
) -> String {
    if asker.is_some() {
        // Apache counts the word as one packet received.
        core.count_packet_received();
    }
    match word {
        "ruok" => "imok".to_string(),
        "isro" => "rw".to_string(),
        "gtmk" => "0".to_string(),
        "stmk" => "0".to_string(),
        "hash" => String::new(),
        "srvr" => format!(
            "Zookeeper version: {FULL_VERSION}\n{}",
            server_stats_text(core, info, asker)
        ),
        "stat" => {
            let mut out = format!("Zookeeper version: {FULL_VERSION}\nClients:\n");
            for conn in core.connections().values() {
                out.push_str(&connection_info(conn, true));
                out.push('\n');
            }
            out.push_str(&asker_info(asker));
            out.push('\n');
            out.push_str(&server_stats_text(core, info, asker));
            out
        }
        "cons" => {
            let mut out = String::new();
            for conn in core.connections().values() {
                out.push_str(&connection_info(conn, false));
                out.push('\n');
            }
            out.push_str(&asker_info(asker));
            out.push('\n');
            out
        }
        "crst" => {
            core.reset_connection_stats();
            "Connection stats reset.\n".to_string()
        }
        "srst" => {
            core.reset_server_stats();
            "Server stats reset.\n".to_string()
        }
        "conf" => conf_lines(core, info, host)
            .into_iter()
            .map(|(key, value)| format!("{key}={}\n", monitor_text(&value)))
            .collect(),
        "dirs" => format!(
            "datadir_size: {}\nlogdir_size: {}\n",
            host.data_dir_bytes, host.log_dir_bytes
        ),
        "envi" => {
            let mut out = "Environment:\n".to_string();
            for (key, value) in environment(host) {
                out.push_str(&format!("{key}={value}\n"));
            }
            out
        }
        "mntr" => monitor_values(core, info, now_ms, asker, host)
            .iter()
            .map(|(key, value)| format!("zk_{key}\t{}\n", monitor_text(value)))
            .collect(),
        "dump" => dump_text(core, now_ms),
        "wchs" => {
            // Apache summarises the data watch manager only.
            let (connections, paths, total) = core.tree().watches().data.summary();
            format!("{connections} connections watching {paths} paths\nTotal watches:{total}\n")
        }
        "wchc" => {
            let mut out = String::new();
            for (watcher, paths) in core.tree().watches().data.paths_by_watcher() {
                out.push_str(&format!("0x{:x}\n", session_of(core, watcher.0)));
                for path in paths {
                    out.push_str(&format!("\t{path}\n"));
                }
            }
            out.push('\n');
            out
        }
        "wchp" => {
            let mut out = String::new();
            for (path, watchers) in core.tree().watches().data.watchers_by_path() {
                out.push_str(&format!("{path}\n"));
                for watcher in watchers {
                    out.push_str(&format!("\t0x{:x}\n", session_of(core, watcher.0)));
                }
            }
            out.push('\n');
            out
        }
        _ => String::new(),
    }
}

fn session_of(core: &Core, conn: ConnectionId) -> i64 {
    core.connections()
        .get(&conn)
        .and_then(|conn| conn.session)
        .map_or(0, |session| session.0)
}

fn conf_lines(core: &Core, info: &ServerInfo, host: &HostFacts) -> Vec<(&'static str, Value)> {
    let config = core.config();
    let _ = config.server_id;
    let path = |dir: &Option<PathBuf>| {
        dir.as_ref()
            .map(|dir| dir.display().to_string())
            .unwrap_or_default()
    };
    vec![
        ("clientPort", json!(info.client_port)),
        ("secureClientPort", json!(-1)),
        ("dataDir", json!(path(&info.snapshot_dir))),
        ("dataDirSize", json!(host.data_dir_bytes)),
        ("dataLogDir", json!(path(&info.log_dir))),
        ("dataLogSize", json!(host.log_dir_bytes)),
        ("tickTime", json!(config.tick_ms)),
        ("maxClientCnxns", json!(info.client_connections_per_ip_max)),
        ("minSessionTimeout", json!(config.session_timeout_ms_min)),
        ("maxSessionTimeout", json!(config.session_timeout_ms_max)),
        ("clientPortListenBacklog", json!(-1)),
        // A standalone server reports id 0 (`ZooKeeperServer.getServerId`).
        ("serverId", json!(info.server_id)),
    ]
}

fn wall_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// `java.util.Date.toString()` in UTC: `Wed Nov 25 21:26:26 UTC 2026`.
pub fn java_date(wall_ms: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seconds = wall_ms.div_euclid(1000);
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let weekday = (days + 4).rem_euclid(7) as usize;
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[weekday],
        MONTHS[(month - 1) as usize],
        day,
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60,
        year
    )
}

fn dump_text(core: &Core, now_ms: i64) -> String {
    let mut out = "SessionTracker dump:\n".to_string();
    let buckets = core.sessions().expiry_buckets();
    out.push_str(&format!(
        "Session Sets ({})/({}):\n",
        buckets.len(),
        core.sessions().len()
    ));
    for (time_ms, sessions) in buckets {
        let wall_ms = time_ms - now_ms + wall_now_ms();
        out.push_str(&format!(
            "{} expire at {}:\n",
            sessions.len(),
            java_date(wall_ms)
        ));
        for session in sessions {
            out.push_str(&format!("\t0x{:x}\n", session.0));
        }
    }
    out.push_str("ephemeral nodes dump:\n");
    let tree = core.tree();
    let sessions = tree.sessions_with_ephemerals();
    out.push_str(&format!("Sessions with Ephemerals ({}):\n", sessions.len()));
    for session in sessions {
        out.push_str(&format!("0x{:x}:\n", session.0));
        for path in tree.ephemerals(session) {
            out.push_str(&format!("\t{path}\n"));
        }
    }
    out.push_str("Connections dump:\n");
    out
}

/// Admin command names: primary name first, then aliases (Apache's lists).
pub const ADMIN_COMMANDS: &[&[&str]] = &[
    &["configuration", "conf", "config"],
    &["connection_stat_reset", "crst"],
    &["connections", "cons"],
    &["dirs"],
    &["dump"],
    &["environment", "env", "envi"],
    &["is_read_only", "isro"],
    &["monitor", "mntr"],
    &["ruok"],
    &["server_stats", "srvr"],
    &["stat_reset", "srst"],
    &["stats", "stat"],
    &["watch_summary", "wchs"],
    &["watches", "wchc"],
    &["watches_by_path", "wchp"],
];

/// The primary name of an admin command, from any of its names.
pub fn admin_primary_name(name: &str) -> Option<&'static str> {
    ADMIN_COMMANDS
        .iter()
        .find(|names| names.contains(&name))
        .map(|names| names[0])
}

fn connection_json(conn: &Connection, brief: bool) -> Value {
    let stats = &conn.stats;
    let mut map = Map::new();
    map.insert(
        "remote_socket_address".into(),
        json!(format!("{}:{}", conn.peer.ip(), conn.peer.port())),
    );
    map.insert("interest_ops".into(), json!(1));
    map.insert("outstanding_requests".into(), json!(conn.outstanding));
    map.insert("packets_received".into(), json!(stats.packets_received));
    map.insert("packets_sent".into(), json!(stats.packets_sent));
    if !brief {
        map.insert(
            "session_id".into(),
            json!(conn.session.map_or(0, |session| session.0)),
        );
        map.insert("last_operation".into(), json!(stats.last_operation));
        map.insert("established".into(), json!(conn.established_wall_ms));
        map.insert("session_timeout".into(), json!(conn.timeout_ms));
        map.insert("last_cxid".into(), json!(stats.last_cxid));
        map.insert("last_zxid".into(), json!(stats.last_zxid));
        map.insert(
            "last_response_time".into(),
            json!(stats.last_response_time_ms),
        );
        map.insert("last_latency".into(), json!(stats.last_latency_ms));
        map.insert("min_latency".into(), json!(stats.latency.min_ms()));
        map.insert("avg_latency".into(), json!(stats.latency.avg_ms_whole()));
        map.insert("max_latency".into(), json!(stats.latency.max_ms()));
    }
    Value::Object(map)
}

fn server_stats_json(core: &Core, info: &ServerInfo, now_ms: i64, host: &HostFacts) -> Value {
    let stats = core.stats();
    json!({
        "packets_sent": stats.packets_sent,
        "packets_received": stats.packets_received,
        "fsync_threshold_exceed_count": 0,
        "client_response_stats": {
            "last_buffer_size": -1,
            "min_buffer_size": -1,
            "max_buffer_size": -1
        },
        "data_dir_size": host.data_dir_bytes,
        "log_dir_size": host.log_dir_bytes,
        "last_processed_zxid": core.tree().last_processed_zxid().0,
        "outstanding_requests": core.outstanding_requests(),
        "server_state": info.mode,
        "avg_latency": stats.latency.avg_ms(),
        "max_latency": stats.latency.max_ms(),
        "min_latency": stats.latency.min_ms(),
        "num_alive_client_connections": core.connections().len(),
        "auth_failed_count": stats.auth_failed,
        "uptime": (now_ms - info.started_ms).max(0),
    })
}

/// Runs an admin command by primary name; the response map Apache's
/// `CommandResponse` serialises: `command`, `error`, then the fields.
pub fn admin_command(
    core: &mut Core,
    info: &ServerInfo,
    name: &str,
    now_ms: i64,
    host: &HostFacts,
) -> Value {
    let mut map = Map::new();
    map.insert("command".into(), json!(name));
    map.insert("error".into(), Value::Null);
    let fields: Vec<(String, Value)> = match name {
        "ruok" => vec![],
        "is_read_only" => vec![("read_only".into(), json!(false))],
        "server_stats" | "stats" => {
            let mut fields = vec![
                ("version".into(), json!(FULL_VERSION)),
                ("read_only".into(), json!(false)),
                (
                    "server_stats".into(),
                    server_stats_json(core, info, now_ms, host),
                ),
                (
                    "client_response".into(),
                    json!({"last_buffer_size": -1, "min_buffer_size": -1, "max_buffer_size": -1}),
                ),
                ("node_count".into(), json!(node_count(core))),
            ];
            if name == "stats" {
                let connections: Vec<Value> = core
                    .connections()
                    .values()
                    .map(|conn| connection_json(conn, true))
                    .collect();
                fields.push(("connections".into(), json!(connections)));
                fields.push(("secure_connections".into(), json!([])));
            }
            fields
        }
        "monitor" => monitor_values(core, info, now_ms, None, host)
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect(),
        "configuration" => conf_lines(core, info, host)
            .into_iter()
            .map(|(key, value)| (camel_to_snake(key), value))
            .collect(),
        "connections" => {
            let connections: Vec<Value> = core
                .connections()
                .values()
                .map(|conn| connection_json(conn, false))
                .collect();
            vec![
                ("connections".into(), json!(connections)),
                ("secure_connections".into(), json!([])),
            ]
        }
        "dirs" => vec![
            ("datadir_size".into(), json!(host.data_dir_bytes)),
            ("logdir_size".into(), json!(host.log_dir_bytes)),
        ],
        "environment" => environment(host)
            .into_iter()
            .map(|(key, value)| (key, json!(value)))
            .collect(),
        "watch_summary" => {
            let (connections, paths, total) = core.tree().watches().data.summary();
            vec![
                ("num_connections".into(), json!(connections)),
                ("num_paths".into(), json!(paths)),
                ("num_total_watches".into(), json!(total)),
            ]
        }
        "watches" => {
            let mut by_session = Map::new();
            for (watcher, paths) in core.tree().watches().data.paths_by_watcher() {
                by_session.insert(session_of(core, watcher.0).to_string(), json!(paths));
            }
            vec![(
                "session_id_to_watched_paths".into(),
                Value::Object(by_session),
            )]
        }
        "watches_by_path" => {
            let mut by_path = Map::new();
            for (path, watchers) in core.tree().watches().data.watchers_by_path() {
                let sessions: Vec<i64> = watchers
                    .iter()
                    .map(|watcher| session_of(core, watcher.0))
                    .collect();
                by_path.insert(path, json!(sessions));
            }
            vec![("path_to_session_ids".into(), Value::Object(by_path))]
        }
        "dump" => {
            let mut expiry = Map::new();
            for (time_ms, sessions) in core.sessions().expiry_buckets() {
                let ids: Vec<i64> = sessions.iter().map(|session| session.0).collect();
                expiry.insert(time_ms.to_string(), json!(ids));
            }
            let mut ephemerals = Map::new();
            let tree = core.tree();
            for session in tree.sessions_with_ephemerals() {
                ephemerals.insert(session.0.to_string(), json!(tree.ephemerals(session)));
            }
            vec![
                ("expiry_time_to_session_ids".into(), Value::Object(expiry)),
                (
                    "session_id_to_ephemeral_paths".into(),
                    Value::Object(ephemerals),
                ),
            ]
        }
        "stat_reset" => {
            core.reset_server_stats();
            vec![]
        }
        "connection_stat_reset" => {
            core.reset_connection_stats();
            vec![]
        }
        _ => vec![],
    };
    for (key, value) in fields {
        map.insert(key, value);
    }
    Value::Object(map)
}

/// `ZooKeeperServerConf.toMap` uses snake_case keys.
fn camel_to_snake(name: &str) -> String {
    let mut out = String::new();
    for character in name.chars() {
        if character.is_ascii_uppercase() {
            out.push('_');
            out.push(character.to_ascii_lowercase());
        } else {
            out.push(character);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mntr_shows_digest_mismatches() {
        use super::super::core::{Clock, CoreConfig};
        use crate::zookeeper::tree::{DataTree, TreeConfig};
        let config = CoreConfig {
            server_id: 0,
            tick_ms: 2000,
            session_timeout_ms_min: 4000,
            session_timeout_ms_max: 40_000,
            snapshot_interval_txns: 100_000,
            container_deletions_max: 100,
            tree: TreeConfig::default(),
            role: super::super::core::Role::Standalone,
        };
        let tree = DataTree::new(TreeConfig::default());
        let mut core = Core::new(config, tree, &Default::default(), Clock::default(), 7);
        let info = ServerInfo {
            client_port: 2181,
            snapshot_dir: None,
            log_dir: None,
            client_connections_per_ip_max: 60,
            started_ms: 0,
            mode: "standalone",
            leader: None,
            server_id: 0,
            quorum_size: 0,
        };
        let mntr = four_letter_word(&mut core, &info, "mntr", 0, None, &HostFacts::default());
        assert!(mntr.contains("zk_digest_mismatches_count\t0\n"), "{mntr}");
    }

    #[test]
    fn whitelist_semantics() {
        let none: Vec<String> = vec![];
        assert!(is_enabled(&none, "srvr"));
        assert!(!is_enabled(&none, "ruok"));
        assert!(is_enabled(&["*".to_string()], "mntr"));
        assert!(is_enabled(&["ruok".to_string()], "ruok"));
        assert_eq!(
            not_whitelisted("ruok"),
            "ruok is not executed because it is not in the whitelist.\n"
        );
    }

    #[test]
    fn dates_print_as_java_does() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(java_date(1_795_641_986_000), "Wed Nov 25 21:26:26 UTC 2026");
        assert_eq!(java_date(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
    }

    #[test]
    fn admin_names_resolve_to_primary() {
        assert_eq!(admin_primary_name("mntr"), Some("monitor"));
        assert_eq!(admin_primary_name("server_stats"), Some("server_stats"));
        assert_eq!(admin_primary_name("nope"), None);
        assert_eq!(camel_to_snake("maxClientCnxns"), "max_client_cnxns");
    }
}
