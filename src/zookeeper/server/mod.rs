//! The standalone ZooKeeper server: connections, sessions, the request
//! pipeline, four-letter words and the AdminServer.
//!
//! # Layout
//! - `core`: the pipeline as a pure state machine (prepare -> log -> apply ->
//!   reply), inputs and time in, effects out.
//! - `sessions`: the session tracker (tick-rounded expiry buckets).
//! - `java_random`: `java.util.Random`, for Apache's session passwords.
//! - `stats`: latency and packet counters.
//! - `commands`: four-letter words and AdminServer commands (pure formatting).
//! - `host`: directory sizes, file descriptors and the host name, sampled on
//!   a blocking thread by whoever asks, never on the pipeline.
//! - `storage`: the storage traits, the in-memory storage and the pipelined
//!   group commit (a log writer thread and a log syncer thread).
//! - `disk`: `Storage` on Apache's on-disk format (`zookeeper::persistence`).
//! - `driver`: the pipeline task that executes the core's effects.
//! - `net`: accept loop, connection reader/writer tasks, four-letter words.
//! - `admin`: the AdminServer's minimal HTTP.
//! - `metrics`: `/metrics` for Prometheus, as Apache's PrometheusMetricsProvider.
//! - `sasl_digest`: SASL DIGEST-MD5 for clients (the JAAS `Server` section's users).
//!
//! Architecture invariant: only `driver`, `net`, `admin`, `metrics`, `host` and `mod`
//! touch sockets, threads, files or clocks; `core` and `sessions` are deterministic
//! (but for the random nonce of a SASL exchange, which no replicated state sees).

pub mod admin;
pub mod commands;
pub mod core;
#[cfg(test)]
mod core_tests;
pub mod disk;
pub mod driver;
pub mod host;
pub mod java_random;
pub mod metrics;
pub mod net;
pub mod sasl_digest;
pub mod sessions;
pub mod stats;
pub mod storage;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use self::commands::ServerInfo;
use self::core::{Core, CoreConfig, Role};
use self::driver::{Clocks, Pipeline, Report};
use self::host::HostProbe;
use self::net::NetContext;
use self::storage::{LogReport, Storage};
use crate::zookeeper::config::ZooKeeperConfig;
use crate::zookeeper::tree::{AuthConfig, TreeConfig};

/// Messages the pipeline queue holds before connections wait (backpressure
/// instead of unbounded memory).
const PIPELINE_QUEUE_MESSAGES_MAX: usize = 4096;
/// Apache's `znode.container.maxPerMinute` default.
const CONTAINER_DELETIONS_PER_PASS_MAX: usize = 10_000;

/// The tree settings zoo.cfg controls.
pub fn tree_config(config: &ZooKeeperConfig) -> TreeConfig {
    let extra = |key: &str| config.extra_properties.get(key).map(String::as_str);
    TreeConfig {
        extended_types_enabled: config.extended_types_enabled(),
        reconfig_enabled: config.reconfig_enabled,
        close_session_txn_enabled: extra("closeSessionTxn.enabled")
            .is_none_or(|value| !value.eq_ignore_ascii_case("false")),
        // Boolean.parseBoolean: anything but "true" is false.
        tree_digest_enabled: extra("digest.enabled")
            .is_none_or(|value| value.trim().eq_ignore_ascii_case("true")),
        auth: AuthConfig {
            skip_acl: extra("skipACL").is_some_and(|value| value.eq_ignore_ascii_case("yes")),
            digest_enabled: extra("DigestAuthenticationProvider.enabled")
                .is_none_or(|value| !value.eq_ignore_ascii_case("false")),
            super_digest: config.super_digest().map(str::to_string),
            sasl_enabled: config.sasl_provider_registered(),
            sasl_users: config
                .sasl_users
                .clone()
                .map(crate::zookeeper::tree::auth::SaslUsers),
            sasl_super_user: config.system_property("superUser").map(str::to_string),
            // Apache registers X509AuthenticationProvider with the secure port.
            x509_enabled: config.secure_client_address.is_some(),
            x509_super_user: config
                .system_property("X509AuthenticationProvider.superUser")
                .map(str::to_string),
            // Checked by ZooKeeperConfig::load.
            enforced_schemes: config.enforced_auth_schemes().ok().flatten(),
        },
    }
}

/// A running server.
pub struct Server {
    pub client_address: SocketAddr,
    pub admin_address: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    pipeline: JoinHandle<anyhow::Result<()>>,
    log_writer: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Recovers from `storage`, binds the client port (and the admin port when
    /// enabled) and starts serving.
    pub async fn start(
        config: &ZooKeeperConfig,
        mut storage: Box<dyn Storage>,
    ) -> anyhow::Result<Server> {
        let clocks = Clocks::new();
        let started = clocks.now();
        let tree_config = tree_config(config);
        let recovered = storage.recover(tree_config.clone())?;
        let snapshots = storage.snapshots();
        let txn_sink = storage.open_log()?;

        let client = config
            .client_address
            .as_ref()
            .context("clientPort is not set")?;
        let listener = TcpListener::bind((client.host.as_str(), client.port))
            .await
            .with_context(|| format!("binding the client port {client}"))?;
        let client_address = listener.local_addr()?;

        let dirs = storage.dirs();
        let host_probe = HostProbe {
            snapshot_dir: dirs.as_ref().map(|(data, _)| data.join("version-2")),
            log_dir: dirs.as_ref().map(|(_, log)| log.join("version-2")),
        };

        let (stop, stop_receiver) = watch::channel(false);
        let (messages, message_receiver) = mpsc::channel(PIPELINE_QUEUE_MESSAGES_MAX);
        let (report_sender, reports) = mpsc::unbounded_channel();

        let admin_address = if config.admin_server_enabled() {
            let host = config
                .extra_properties
                .get("admin.serverAddress")
                .cloned()
                .unwrap_or_else(|| "0.0.0.0".to_string());
            let port = config.admin_server_port();
            let admin = TcpListener::bind((host.as_str(), port))
                .await
                .with_context(|| format!("Unable to start AdminServer on {host}:{port}"))?;
            let address = admin.local_addr()?;
            tokio::spawn(admin::admin_loop(
                admin,
                messages.clone(),
                host_probe.clone(),
                stop_receiver.clone(),
            ));
            tracing::info!(%address, "Started AdminServer on address {address}, port {port} and command URL /commands");
            Some(address)
        } else {
            None
        };

        if let Some(endpoint) =
            metrics::MetricsEndpoint::from_config(config).map_err(anyhow::Error::msg)?
        {
            metrics::start(
                &endpoint,
                messages.clone(),
                host_probe.clone(),
                stop_receiver.clone(),
            )
            .await?;
        }

        let (log, log_commands) = std::sync::mpsc::channel();
        let log_reports = report_sender.clone();
        let log_writer = std::thread::Builder::new()
            .name("zookeeper-log-writer".into())
            .spawn(move || {
                storage::run_log_writer(txn_sink, log_commands, move |report: LogReport| {
                    let _ = log_reports.send(Report::Log(report));
                })
            })?;

        let core_config = CoreConfig {
            // Apache's standalone ZooKeeperServer hands its session tracker
            // server id 1 (`createSessionTrackerServerId`), whatever myid says.
            server_id: 1,
            tick_ms: config.tick_time_ms,
            session_timeout_ms_min: config.session_timeout_ms_min.min(i32::MAX as u32) as i32,
            session_timeout_ms_max: config.session_timeout_ms_max.min(i32::MAX as u32) as i32,
            snapshot_interval_txns: config.snapshot_interval_txns().max(2),
            container_deletions_max: CONTAINER_DELETIONS_PER_PASS_MAX,
            tree: tree_config,
            role: Role::Standalone,
        };
        let core = Core::new(
            core_config,
            recovered.tree,
            &recovered.sessions,
            started,
            started.wall_ms,
        );
        // Apache's `loadData` snapshots right after dropping the ephemerals of
        // dead sessions, so start-up never replays the same log twice.
        snapshots
            .write_snapshot(
                core.tree(),
                &recovered.sessions,
                core.tree().last_processed_zxid(),
            )
            .context("writing the start-up snapshot")?;
        let info = ServerInfo {
            client_port: client_address.port(),
            snapshot_dir: host_probe.snapshot_dir.clone(),
            log_dir: host_probe.log_dir.clone(),
            client_connections_per_ip_max: config.client_connections_per_ip_max,
            started_ms: started.now_ms,
            mode: "standalone",
            leader: None,
            server_id: 0,
            quorum_size: 0,
        };
        let pipeline = Pipeline {
            core,
            info,
            clocks,
            messages: message_receiver,
            reports,
            report_sender,
            log,
            snapshots: snapshots.clone(),
            stop: stop_receiver.clone(),
            snapshot_writer: None,
        };
        let pipeline = tokio::spawn(pipeline.run());

        let context = Arc::new(NetContext::new(
            messages.clone(),
            host_probe,
            config.jute_max_buffer_bytes() as usize,
            config.four_letter_words_allowed(),
            config.client_connections_per_ip_max,
            config.client_connections_max,
            config
                .extra_properties
                .get("nio.sessionlessCnxnTimeout")
                .and_then(|value| value.parse::<u64>().ok())
                .map_or(
                    net::SESSIONLESS_CONNECTION_TIMEOUT_DEFAULT,
                    std::time::Duration::from_millis,
                ),
        ));
        net::serve_secure_client_port(config, &context, &stop_receiver).await?;
        tokio::spawn(net::accept_loop(
            listener,
            context,
            stop_receiver.clone(),
            None,
        ));

        if config.autopurge_interval_hours > 0 {
            let interval =
                std::time::Duration::from_secs(config.autopurge_interval_hours as u64 * 3600);
            let retained = config.autopurge_snapshots_retained;
            let mut stop = stop_receiver.clone();
            tokio::spawn(async move {
                let mut timer = tokio::time::interval(interval);
                loop {
                    tokio::select! {
                        _ = timer.tick() => {}
                        _ = stop.changed() => return,
                    }
                    let sink = snapshots.clone();
                    let outcome = tokio::task::spawn_blocking(move || sink.purge(retained)).await;
                    match outcome {
                        Ok(Ok(())) => tracing::info!(retained, "Purge task completed."),
                        Ok(Err(error)) => tracing::warn!("purge failed: {error:#}"),
                        Err(error) => tracing::warn!(%error, "purge task panicked"),
                    }
                }
            });
        }
        drop(messages);
        tracing::info!(%client_address, "binding to port {client_address}; serving as a standalone ZooKeeper server");
        Ok(Server {
            client_address,
            admin_address,
            stop,
            pipeline,
            log_writer: Some(log_writer),
        })
    }

    /// Stops serving and waits for the log writer to commit what it has.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        let result = (&mut self.pipeline).await.context("pipeline task")?;
        self.join_log_writer().await;
        result
    }

    async fn join_log_writer(&mut self) {
        if let Some(handle) = self.log_writer.take() {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }

    /// Runs until `shutdown` turns true (or its sender goes), or the server
    /// fails.
    pub async fn serve_until(mut self, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        loop {
            if *shutdown.borrow() {
                return self.stop().await;
            }
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        return self.stop().await;
                    }
                }
                finished = &mut self.pipeline => {
                    let _ = self.stop.send(true);
                    self.join_log_writer().await;
                    return finished.context("pipeline task")?;
                }
            }
        }
    }
}

/// The storage `run` uses for a configuration.
pub fn storage_for(config: &ZooKeeperConfig) -> Box<dyn Storage> {
    Box::new(disk::DiskStorage::from_config(config))
}

/// `keel zookeeper <zoo.cfg>` for a standalone configuration: serves until
/// `shutdown` becomes true.
pub async fn run(config: ZooKeeperConfig, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let server = Server::start(&config, storage_for(&config)).await?;
    crate::notify::server_ready("zookeeper: standalone, serving clients");
    let result = server.serve_until(shutdown).await;
    crate::notify::stopping();
    result
}
