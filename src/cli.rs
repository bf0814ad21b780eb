//! The `keel` command line: the three entry points users, scripts and tests rely on.
//!
//! - `keel zookeeper <zoo.cfg>`: like `QuorumPeerMain zoo.cfg`.
//! - `keel kafka <server.properties> [--override key=value]...`: like
//!   `kafka-server-start.sh`.
//! - `keel standalone [--data-dir DIR]`: ZooKeeper on 2181 and a Kafka broker on
//!   9092 in one process, data under `./keel-data` by default.
//!
//! Any failure ends the process with one line on stderr naming what went wrong (for
//! a configuration error: the file, line and key) and a non-zero exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{ConfigError, Properties};
use crate::kafka::config::KafkaConfig;
use crate::zookeeper::config::ZooKeeperConfig;

#[derive(Debug, Parser)]
#[command(
    name = "keel",
    version,
    about = "Apache ZooKeeper and Apache Kafka, spoken by one Rust program"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a ZooKeeper server from a zoo.cfg (standalone, or an ensemble member with myid).
    Zookeeper {
        /// Path to zoo.cfg.
        config: PathBuf,
    },
    /// Run a Kafka broker from a server.properties.
    Kafka {
        /// Path to server.properties.
        config: PathBuf,
        /// Override a property, as kafka-server-start.sh's --override does.
        #[arg(long = "override", value_name = "KEY=VALUE", value_parser = parse_override)]
        overrides: Vec<(String, String)>,
    },
    /// Run ZooKeeper (port 2181) and a Kafka broker (port 9092) in one process.
    Standalone {
        /// Where both keep their data.
        #[arg(long, default_value = "keel-data")]
        data_dir: PathBuf,
    },
}

fn parse_override(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not of the form key=value"))?;
    if key.trim().is_empty() {
        return Err(format!("{text:?} has an empty key"));
    }
    Ok((key.trim().to_string(), value.to_string()))
}

/// Why a command could not run.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    NotYetAvailable(String),
    #[error("{0:#}")]
    Server(#[from] anyhow::Error),
}

/// Parses the arguments and runs the chosen command; returns the process exit code.
pub fn main_with_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints usage errors (exit 2) and --help / --version (exit 0) itself.
            let _ = error.print();
            return ExitCode::from(error.exit_code().clamp(0, 255) as u8);
        }
    };
    crate::logging::init();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("keel: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Zookeeper { config } => {
            let config = ZooKeeperConfig::load(&config)?;
            log_zookeeper_config(&config);
            let runtime = tokio::runtime::Runtime::new().map_err(anyhow::Error::from)?;
            runtime.block_on(async {
                let shutdown = shutdown_on_signal();
                if config.is_distributed() {
                    crate::zookeeper::quorum::peer::run(config, shutdown).await
                } else {
                    crate::zookeeper::server::run(config, shutdown).await
                }
            })?;
            Ok(())
        }
        Command::Kafka { config, overrides } => {
            let config = KafkaConfig::load(&config, &overrides)?;
            log_kafka_config(&config);
            let runtime = tokio::runtime::Runtime::new().map_err(anyhow::Error::from)?;
            runtime.block_on(async {
                let shutdown = shutdown_on_signal();
                crate::kafka::node::run(config, shutdown).await
            })?;
            Ok(())
        }
        Command::Standalone { data_dir } => {
            let (zookeeper, kafka) = standalone_configs(&data_dir)?;
            log_zookeeper_config(&zookeeper);
            log_kafka_config(&kafka);
            let runtime = tokio::runtime::Runtime::new().map_err(anyhow::Error::from)?;
            runtime.block_on(run_standalone(zookeeper, kafka))?;
            Ok(())
        }
    }
}

/// A channel that turns true on SIGINT or SIGTERM, so servers stop cleanly (flush,
/// checkpoint, deregister) the way Apache's shutdown hooks do.
fn shutdown_on_signal() -> tokio::sync::watch::Receiver<bool> {
    let (sender, receiver) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM");
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
            _ = terminate.recv() => tracing::info!("SIGTERM received"),
        }
        let _ = sender.send(true);
    });
    receiver
}

/// ZooKeeper first, then the broker on it, as an operator would start them; on a
/// signal the broker stops first (it deregisters from ZooKeeper), then ZooKeeper.
async fn run_standalone(zookeeper: ZooKeeperConfig, kafka: KafkaConfig) -> anyhow::Result<()> {
    // Ready for a service manager once both serve.
    crate::notify::expect_servers(2);
    let shutdown = shutdown_on_signal();
    let (zookeeper_stop, zookeeper_stop_receiver) = tokio::sync::watch::channel(false);
    let zookeeper_port = zookeeper
        .client_address
        .as_ref()
        .map_or(2181, |address| address.port);
    let mut zookeeper_task = tokio::spawn(crate::zookeeper::server::run(
        zookeeper,
        zookeeper_stop_receiver,
    ));
    // The broker's ZooKeeper client retries until the server listens; waiting for the
    // port first only keeps the log free of connection errors.
    for _ in 0..100 {
        if zookeeper_task.is_finished()
            || tokio::net::TcpStream::connect(("127.0.0.1", zookeeper_port))
                .await
                .is_ok()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    if zookeeper_task.is_finished() {
        return zookeeper_task
            .await?
            .and(Err(anyhow::anyhow!("the ZooKeeper server stopped")));
    }
    let kafka_result = tokio::select! {
        result = crate::kafka::node::run(kafka, shutdown) => result,
        result = &mut zookeeper_task => {
            return result?.and(Err(anyhow::anyhow!("the ZooKeeper server stopped")));
        }
    };
    let _ = zookeeper_stop.send(true);
    let zookeeper_result = zookeeper_task.await?;
    kafka_result.and(zookeeper_result)
}

/// Where `keel standalone` serves the broker's `/metrics` and `/ready`.
pub const STANDALONE_METRICS_PORT: u16 = 9404;

/// The two configurations `keel standalone` runs with: Apache's sample zoo.cfg and
/// server.properties, with both data directories under `data_dir`.
pub fn standalone_configs(
    data_dir: &std::path::Path,
) -> Result<(ZooKeeperConfig, KafkaConfig), ConfigError> {
    let zookeeper_text = format!(
        "tickTime=2000\ninitLimit=10\nsyncLimit=5\nclientPort=2181\ndataDir={}\n",
        data_dir.join("zookeeper").display()
    );
    let zookeeper_properties =
        Properties::parse(&PathBuf::from("<standalone zoo.cfg>"), &zookeeper_text)?;
    let zookeeper = ZooKeeperConfig::from_properties(&zookeeper_properties, &|_| None)?;
    let mut kafka_properties =
        Properties::parse(&PathBuf::from("<standalone server.properties>"), "")?;
    kafka_properties.set("broker.id", "0");
    kafka_properties.set("listeners", "PLAINTEXT://:9092");
    kafka_properties.set("log.dirs", &data_dir.join("kafka").display().to_string());
    kafka_properties.set("zookeeper.connect", "127.0.0.1:2181");
    kafka_properties.set("offsets.topic.replication.factor", "1");
    kafka_properties.set("transaction.state.log.replication.factor", "1");
    kafka_properties.set("group.initial.rebalance.delay.ms", "0");
    // Prometheus metrics under the JMX exporter's names (`kafka::metrics`), on
    // the port the exporter's Kafka examples use.
    kafka_properties.set("keel.metrics.port", &STANDALONE_METRICS_PORT.to_string());
    let kafka = KafkaConfig::from_properties(&kafka_properties)?;
    Ok((zookeeper, kafka))
}

fn log_zookeeper_config(config: &ZooKeeperConfig) {
    tracing::info!(
        config = %config.config_path.display(),
        data_dir = %config.data_dir.display(),
        client_address = ?config.client_address.as_ref().map(ToString::to_string),
        distributed = config.is_distributed(),
        my_id = ?config.my_id.map(|id| id.0),
        servers = config.servers.len(),
        "zookeeper configuration read"
    );
}

fn log_kafka_config(config: &KafkaConfig) {
    tracing::info!(
        config = %config.config_path.display(),
        broker_id = ?config.broker_id.map(|id| id.0),
        listeners = ?config.listeners.iter().map(|listener| format!("{}://{}:{}", listener.name, listener.host, listener.port)).collect::<Vec<_>>(),
        log_dirs = ?config.log_dirs,
        zookeeper_connect = ?config.zookeeper_connect,
        "kafka configuration read"
    );
    for (key, line) in &config.unknown_keys {
        tracing::warn!(config = %config.config_path.display(), line, key = %key, "the configuration was supplied but is not known to keel; ignored");
    }
}
