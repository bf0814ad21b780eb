//! A running broker: binds the listeners, joins the cluster through ZooKeeper,
//! opens the logs, serves, and keeps the periodic duties (checkpoints, retention,
//! time-based flushes) until shutdown, when it flushes and checkpoints everything.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::kafka::broker::{system_clock, Broker};
use crate::kafka::config::KafkaConfig;
use crate::kafka::controller::ZkMetadataStore;
use crate::kafka::log::cleaner;
use crate::kafka::log::manager::LogManager;
use crate::kafka::metadata::{Endpoint, MetadataStore};
use crate::kafka::replica::state::ReplicationConfig;
use crate::kafka::server;

/// Kafka's `log.flush.offset.checkpoint.interval.ms` default.
const CHECKPOINT_INTERVAL_MS: u64 = 60_000;
/// Kafka's `replica.high.watermark.checkpoint.interval.ms` default.
const HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS: u64 = 5_000;
/// Kafka's `log.retention.check.interval.ms` default.
const RETENTION_CHECK_INTERVAL_MS: u64 = 300_000;
/// Connections served at once per listener (Kafka's `max.connections` is unbounded
/// by default; the bound here only keeps a flood from exhausting file descriptors).
const CONNECTIONS_MAX: usize = 20_000;

/// Runs the broker until `shutdown` turns true.
pub async fn run(config: KafkaConfig, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let metrics = match config.metrics_port {
        Some(port) => Some(
            crate::kafka::metrics::Endpoint::start(&config.metrics_host, port, shutdown.clone())
                .await?
                .0,
        ),
        None => None,
    };
    let mut bound = Vec::new();
    for listener in &config.listeners {
        let host = if listener.host.is_empty() {
            "0.0.0.0"
        } else {
            listener.host.as_str()
        };
        let socket = TcpListener::bind((host, listener.port))
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {}://{}:{}",
                    listener.name, listener.host, listener.port
                )
            })?;
        bound.push(socket);
    }
    let advertised: Vec<Endpoint> = config
        .advertised_listeners
        .iter()
        .map(|listener| Endpoint {
            listener: listener.name.clone(),
            // Kafka advertises the machine's canonical host name for an empty host.
            host: if listener.host.is_empty() {
                local_host_name()
            } else {
                listener.host.clone()
            },
            port: listener.port,
        })
        .collect();

    let (store, broker_id) = ZkMetadataStore::start(&config, &advertised)
        .await
        .with_context(|| {
            format!(
                "cannot join the cluster through ZooKeeper {:?}",
                config.zookeeper_connect
            )
        })?;
    let cluster_id = store.current().cluster_id.clone();
    crate::kafka::replica::set_halt_on_storage_failure(true);
    let mut replication = ReplicationConfig::new(broker_id);
    replication.replica_lag_time_max_ms = config.replica_lag_time_max_ms;
    replication.min_insync_replicas = config.min_insync_replicas as usize;
    let logs = LogManager::new(&config.log_dirs)?.with_replication(replication);
    logs.ensure_meta_properties(broker_id.0, &cluster_id)?;
    let store = Arc::new(store);
    let broker = Broker::new(
        config.clone(),
        broker_id,
        store.clone(),
        logs,
        system_clock(),
    );

    broker.follow_metadata();
    tokio::spawn(crate::kafka::replica::manager::run_ticker(broker.clone()));
    tokio::spawn(periodic_duties(broker.clone(), shutdown.clone()));
    if config.log_cleaner_enable {
        tokio::spawn(log_cleaner(broker.clone(), shutdown.clone()));
    }
    for (socket, listener) in bound.into_iter().zip(&config.listeners) {
        tokio::spawn(server::serve(
            socket,
            broker.clone(),
            shutdown.clone(),
            CONNECTIONS_MAX,
            listener.name.clone(),
            config
                .security
                .listener(&listener.name.to_ascii_uppercase()),
        ));
    }
    tracing::info!(broker = %broker_id, cluster_id, listeners = ?config.listeners.iter().map(|l| format!("{}://{}:{}", l.name, l.host, l.port)).collect::<Vec<_>>(), "kafka broker started");
    crate::notify::server_ready(&format!("kafka: broker {broker_id} registered and serving"));
    if let Some(metrics) = &metrics {
        metrics.set_serving(&broker, true);
    }

    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            break;
        }
    }
    crate::notify::stopping();
    if let Some(metrics) = &metrics {
        metrics.set_serving(&broker, false);
    }
    if config.controlled_shutdown_enable {
        crate::kafka::replica::manager::controlled_shutdown(&broker).await;
    }
    tracing::info!(broker = %broker_id, "shutting down: flushing logs");
    broker
        .logs
        .flush_and_checkpoint()
        .context("flushing logs at shutdown")?;
    store.close().await;
    tracing::info!(broker = %broker_id, "kafka broker shut down");
    Ok(())
}

async fn periodic_duties(broker: Arc<Broker>, mut shutdown: watch::Receiver<bool>) {
    let mut checkpoint = tokio::time::interval(Duration::from_millis(CHECKPOINT_INTERVAL_MS));
    let mut high_watermark_checkpoint =
        tokio::time::interval(Duration::from_millis(HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS));
    let mut retention = tokio::time::interval(Duration::from_millis(RETENTION_CHECK_INTERVAL_MS));
    let flush_interval_ms = broker
        .config
        .log_flush_interval_ms
        .filter(|ms| *ms > 0 && *ms < i64::MAX);
    let mut flush = tokio::time::interval(Duration::from_millis(
        flush_interval_ms.unwrap_or(i64::MAX / 4) as u64,
    ));
    loop {
        tokio::select! {
            // Each duty fsyncs or deletes files: it runs on a blocking thread, never on
            // a runtime worker that requests are waiting for.
            _ = checkpoint.tick() => {
                let broker = broker.clone();
                run_blocking(move || {
                    if let Err(error) = broker.logs.checkpoint() {
                        tracing::warn!(%error, "writing log checkpoints failed");
                    }
                })
                .await;
            }
            _ = high_watermark_checkpoint.tick() => {
                let broker = broker.clone();
                run_blocking(move || {
                    if let Err(error) = broker.logs.checkpoint_high_watermarks() {
                        tracing::warn!(%error, "writing replication-offset-checkpoint failed");
                    }
                })
                .await;
            }
            _ = retention.tick() => {
                let broker = broker.clone();
                run_blocking(move || {
                    let now_ms = broker.now_ms();
                    for partition in broker.logs.all() {
                        match partition.apply_retention(now_ms) {
                            Ok(0) => {}
                            Ok(deleted) => tracing::info!(partition = %partition.topic_partition.dir_name(), deleted, "deleted segments past retention"),
                            Err(error) => tracing::warn!(partition = %partition.topic_partition.dir_name(), %error, "retention failed"),
                        }
                    }
                })
                .await;
            }
            _ = flush.tick(), if flush_interval_ms.is_some() => {
                let broker = broker.clone();
                run_blocking(move || {
                    for partition in broker.logs.all() {
                        if let Err(error) = partition.flush() {
                            tracing::warn!(partition = %partition.topic_partition.dir_name(), %error, "flush failed");
                        }
                    }
                })
                .await;
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Runs a periodic duty on tokio's blocking pool and waits for it (a panic in it is
/// logged, not propagated: the duty runs again at its next tick).
async fn run_blocking(duty: impl FnOnce() + Send + 'static) {
    if let Err(error) = tokio::task::spawn_blocking(duty).await {
        tracing::error!(%error, "a periodic log duty failed");
    }
}

/// Kafka's LogCleaner thread: every `log.cleaner.backoff.ms`, clean the dirtiest
/// compacted logs until none is dirty enough. The IO runs on a blocking thread.
async fn log_cleaner(broker: Arc<Broker>, mut shutdown: watch::Receiver<bool>) {
    let number = |key: &str, default: i64| {
        broker
            .config
            .properties
            .get(key)
            .and_then(|value| value.trim().parse::<i64>().ok())
            .unwrap_or(default)
    };
    let backoff_ms = number("log.cleaner.backoff.ms", 15_000).max(1) as u64;
    let map_capacity = cleaner::map_capacity(
        number(
            "log.cleaner.dedupe.buffer.size",
            cleaner::DEDUPE_BUFFER_BYTES_DEFAULT as i64,
        )
        .max(1) as u64,
    );
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(backoff_ms)) => {}
            _ = shutdown.changed() => return,
        }
        // Bounded so a pass that keeps losing its swap to retention cannot spin.
        for _ in 0..64 {
            if *shutdown.borrow() {
                return;
            }
            let pass_broker = broker.clone();
            let now_ms = broker.now_ms();
            let pass = tokio::task::spawn_blocking(move || {
                pass_broker.logs.clean_dirtiest(now_ms, map_capacity)
            })
            .await;
            match pass {
                Ok(Ok(Some(pass))) => tracing::info!(
                    partition = %pass.partition.dir_name(),
                    dirty_ratio = format!("{:.2}", pass.dirty_ratio),
                    bytes_read = pass.stats.bytes_read,
                    bytes_written = pass.stats.bytes_written,
                    records_kept = pass.stats.records_kept,
                    records_read = pass.stats.records_read,
                    tombstones_dropped = pass.stats.tombstones_dropped,
                    next_dirty_offset = pass.next_dirty_offset,
                    "log cleaner compacted a log"
                ),
                Ok(Ok(None)) => break,
                Ok(Err(error)) => {
                    tracing::warn!(%error, "log cleaner pass failed");
                    break;
                }
                Err(error) => {
                    tracing::error!(%error, "log cleaner pass panicked");
                    break;
                }
            }
        }
    }
}

fn local_host_name() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into the buffer we own.
    let result =
        unsafe { libc::gethostname(buffer.as_mut_ptr() as *mut libc::c_char, buffer.len()) };
    if result != 0 {
        return "localhost".to_string();
    }
    let end = buffer
        .iter()
        .position(|&byte| byte == 0)
        .unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}
