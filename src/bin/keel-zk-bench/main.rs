//! keel-zk-bench: a ZooKeeper load generator speaking the real protocol (in the
//! spirit of zk-smoketest and brownsys' zookeeper-benchmark), for comparing keel
//! with Apache ZooKeeper under identical load.
//!
//! ```text
//! keel-zk-bench run      --server 127.0.0.1:2181 --label keel --rep 1 \
//!                        --sessions 1,32 --values 100,1024 --outstanding 16 --seconds 2
//! keel-zk-bench populate --server 127.0.0.1:2181 --label keel --count 1000000
//! keel-zk-bench fsync    --dir /path/on/the/disk --count 1000
//! ```
//!
//! `run` connects the given number of sessions (each with up to `--outstanding`
//! xid-pipelined requests in flight, pinging while idle) and runs, per session
//! count and value size, these phases back to back on the same sessions:
//! create (timed), getData, setData, multi(check+setData) and multi(3 creates)
//! on the nodes the create phase made (timed), then delete of every node the
//! create phase made (counted, so it is as long as create). Every phase reports
//! ops/s and the latency p50/p99/p99.9 of the ops that completed in its measured
//! window, as JSON lines of the bench result contract (one per metric) on
//! stdout. A warm-up (unreported, same phases) runs first, so the JVM's JIT is
//! warm for Apache as a long-running server's would be.
//!
//! `populate` creates `--count` znodes (1000 per parent) as fast as the server
//! takes them, for the memory test; `fsync` measures the disk the servers log
//! to (4 KiB append + fdatasync), the physical bound of every acknowledged
//! write.

mod client;
mod stats;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use client::{Kind, Reply, Session};
use stats::{Latencies, Reporter};

#[derive(Parser)]
#[command(name = "keel-zk-bench", about = "ZooKeeper protocol load generator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Timed workloads: create, getData, setData, multi, delete.
    Run(RunArgs),
    /// Creates N znodes (1000 per parent) as fast as the server takes them.
    Populate(PopulateArgs),
    /// The disk's fsync latency: 4 KiB append + fdatasync, N times.
    Fsync(FsyncArgs),
}

#[derive(Parser, Clone)]
struct Common {
    /// host:port of the ZooKeeper server.
    #[arg(long, default_value = "127.0.0.1:2181")]
    server: SocketAddr,
    /// The "server" field of the result lines (keel, apache).
    #[arg(long, default_value = "unknown")]
    label: String,
    /// The "rep" field of the result lines.
    #[arg(long, default_value_t = 1)]
    rep: u32,
    /// Session timeout asked for, in ms.
    #[arg(long, default_value_t = 30_000)]
    session_timeout_ms: i32,
}

#[derive(Parser)]
struct RunArgs {
    #[command(flatten)]
    common: Common,
    /// Session counts to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,32")]
    sessions: Vec<usize>,
    /// Value sizes in bytes, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100,1024")]
    values: Vec<usize>,
    /// Requests in flight per session.
    #[arg(long, default_value_t = 16)]
    outstanding: usize,
    /// Measured seconds per timed phase.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Unmeasured seconds at the start of each timed phase.
    #[arg(long, default_value_t = 0.25)]
    ramp_seconds: f64,
    /// Seconds of unreported warm-up load before the first measurement.
    #[arg(long, default_value_t = 3.0)]
    warmup_seconds: f64,
    /// Phases to run, comma-separated, in this order: create, getData, setData,
    /// multi-check-set, multi-create3, delete (delete and the reads need create).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "create,getData,setData,multi-check-set,multi-create3,delete"
    )]
    phases: Vec<String>,
    /// The parent of every node the run creates.
    #[arg(long, default_value = "/keel-bench")]
    root: String,
    /// Session count from which the issue's targets apply (>= 2x ops/s, <= 0.5x p99).
    #[arg(long, default_value_t = 32)]
    target_sessions: usize,
}

#[derive(Parser)]
struct PopulateArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, default_value_t = 1_000_000)]
    count: usize,
    #[arg(long, default_value_t = 100)]
    value_bytes: usize,
    #[arg(long, default_value_t = 4)]
    sessions: usize,
    #[arg(long, default_value_t = 250)]
    outstanding: usize,
    #[arg(long, default_value = "/keel-populate")]
    root: String,
}

#[derive(Parser)]
struct FsyncArgs {
    /// A directory on the disk to measure (a scratch file is created and removed).
    #[arg(long)]
    dir: PathBuf,
    #[arg(long, default_value_t = 1000)]
    count: usize,
    #[arg(long, default_value = "machine")]
    label: String,
    #[arg(long, default_value_t = 1)]
    rep: u32,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Fsync(args) => fsync(args),
        command => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                match command {
                    Command::Run(args) => run(args).await,
                    Command::Populate(args) => populate(args).await,
                    Command::Fsync(_) => unreachable!(),
                }
            })
        }
    }
}

/// "100B", "1KB".
fn size_label(bytes: usize) -> String {
    if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{}KB", bytes / 1024)
    } else {
        format!("{bytes}B")
    }
}

fn value_of(bytes: usize) -> Vec<u8> {
    (0..bytes).map(|i| b'a' + (i % 26) as u8).collect()
}

/// What one phase asks of each session.
#[derive(Debug, Clone)]
enum Phase {
    /// New nodes `<prefix>/c<session>-<n>`, remembered for the later phases.
    Create {
        prefix: String,
    },
    GetData,
    /// setData with version -1 on the created nodes, round robin.
    SetData,
    /// multi(check(version), setData(version)) on the created nodes.
    MultiCheckSet,
    /// multi of three creates `<prefix>/m<session>-<n>-{a,b,c}`.
    MultiCreate3 {
        prefix: String,
    },
    /// Deletes every created node, then the phase ends.
    Delete,
    /// Nodes `<root>/p<i / 1000>` for i < count, striped over sessions.
    PopulateParents {
        root: String,
        count: usize,
    },
    /// Nodes `<root>/p<i / 1000>/n<i % 1000>` for i < count, striped.
    Populate {
        root: String,
        count: usize,
    },
}

impl Phase {
    fn name(&self) -> &'static str {
        match self {
            Phase::Create { .. } => "create",
            Phase::GetData => "getData",
            Phase::SetData => "setData",
            Phase::MultiCheckSet => "multi(check+setData)",
            Phase::MultiCreate3 { .. } => "multi(3 creates)",
            Phase::Delete => "delete",
            Phase::PopulateParents { .. } | Phase::Populate { .. } => "populate",
        }
    }
}

/// A session and what the phases remember about it.
struct Worker {
    index: usize,
    sessions: usize,
    session: Session,
    created: Vec<String>,
    versions: Vec<i32>,
    cursor: usize,
    sequence: u64,
    multi_paths: Vec<String>,
}

impl Worker {
    /// Queues the next request of `phase`; false once the phase has no more.
    fn queue_next(&mut self, phase: &Phase, data: &[u8], now: Instant) -> bool {
        match phase {
            Phase::Create { prefix } => {
                let path = format!("{prefix}/c{:02}-{:08}", self.index, self.sequence);
                self.sequence += 1;
                self.session.create(&path, data, now);
                self.created.push(path);
                self.versions.push(0);
            }
            Phase::GetData => {
                if self.created.is_empty() {
                    return false;
                }
                let key = self.cursor % self.created.len();
                self.cursor += 1;
                self.session.get_data(&self.created[key], now);
            }
            Phase::SetData => {
                if self.created.is_empty() {
                    return false;
                }
                let key = self.cursor % self.created.len();
                self.cursor += 1;
                self.session.set_data(&self.created[key], data, -1, now);
                self.versions[key] += 1;
            }
            Phase::MultiCheckSet => {
                if self.created.is_empty() {
                    return false;
                }
                let key = self.cursor % self.created.len();
                self.cursor += 1;
                self.session
                    .multi_check_set(&self.created[key], self.versions[key], data, now);
                self.versions[key] += 1;
            }
            Phase::MultiCreate3 { prefix } => {
                self.multi_paths.clear();
                for suffix in ["a", "b", "c"] {
                    self.multi_paths.push(format!(
                        "{prefix}/m{:02}-{:08}-{suffix}",
                        self.index, self.sequence
                    ));
                }
                self.sequence += 1;
                self.session.multi_create(&self.multi_paths, data, now);
            }
            Phase::Delete => {
                if self.cursor >= self.created.len() {
                    return false;
                }
                self.session.delete(&self.created[self.cursor], -1, now);
                self.cursor += 1;
            }
            Phase::PopulateParents { root, count } => {
                let parent = self.index + self.sessions * self.cursor;
                if parent >= count.div_ceil(1000) {
                    return false;
                }
                self.cursor += 1;
                self.session
                    .create(&format!("{root}/p{parent:04}"), &[], now);
            }
            Phase::Populate { root, count } => {
                let node = self.index + self.sessions * self.cursor;
                if node >= *count {
                    return false;
                }
                self.cursor += 1;
                let path = format!("{root}/p{:04}/n{:04}", node / 1000, node % 1000);
                self.session.create(&path, data, now);
            }
        }
        true
    }
}

/// When a phase sends and which completions it counts.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// Completions before this are not measured (ramp).
    measure_from: Instant,
    /// No request is sent after this (None: until the phase runs out).
    stop_sending: Option<Instant>,
}

#[derive(Debug, Default)]
struct PhaseResult {
    measured: u64,
    latencies: Latencies,
    completed: u64,
    errors: BTreeMap<(Kind, i32), u64>,
    last_completion: Option<Instant>,
}

impl PhaseResult {
    fn merge(&mut self, other: PhaseResult) {
        self.measured += other.measured;
        self.latencies.extend(other.latencies);
        self.completed += other.completed;
        for (key, count) in other.errors {
            *self.errors.entry(key).or_default() += count;
        }
        self.last_completion = self.last_completion.max(other.last_completion);
    }

    fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Runs one phase on one session: keeps `outstanding` requests in flight until
/// the window closes or the phase runs out, then waits for every reply.
async fn drive(
    worker: &mut Worker,
    phase: &Phase,
    window: Window,
    outstanding: usize,
    data: &[u8],
) -> anyhow::Result<PhaseResult> {
    let mut result = PhaseResult::default();
    let mut exhausted = false;
    worker.cursor = 0;
    loop {
        let now = Instant::now();
        let sending = !exhausted && window.stop_sending.is_none_or(|stop| now < stop);
        if sending {
            while worker.session.outstanding() < outstanding {
                if !worker.queue_next(phase, data, now) {
                    exhausted = true;
                    break;
                }
            }
        }
        if (!sending || exhausted) && worker.session.outstanding() == 0 {
            worker.session.try_flush()?;
            break;
        }
        worker.session.ping_if_idle(now);
        worker.session.try_flush()?;
        let mut wake = worker.session.next_ping();
        if sending {
            if let Some(stop) = window.stop_sending {
                wake = wake.min(stop);
            }
        }
        worker
            .session
            .pump(Some(wake), |reply: Reply| {
                result.completed += 1;
                result.last_completion = Some(reply.received);
                if reply.err != 0 {
                    *result.errors.entry((reply.kind, reply.err)).or_default() += 1;
                    return;
                }
                let in_window = reply.received >= window.measure_from
                    && window
                        .stop_sending
                        .is_none_or(|stop| reply.received <= stop);
                if in_window {
                    result.measured += 1;
                    result
                        .latencies
                        .push_micros(reply.received.duration_since(reply.sent).as_micros() as u64);
                }
            })
            .await
            .with_context(|| format!("session 0x{:x}", worker.session.session_id))?;
    }
    Ok(result)
}

/// Runs a phase on every worker at once; returns the workers and the merged
/// result.
async fn run_phase(
    workers: Vec<Worker>,
    phase: &Phase,
    window: Window,
    outstanding: usize,
    data: &[u8],
) -> anyhow::Result<(Vec<Worker>, PhaseResult)> {
    let mut tasks = Vec::with_capacity(workers.len());
    for mut worker in workers {
        let phase = phase.clone();
        let data = data.to_vec();
        tasks.push(tokio::spawn(async move {
            let result = drive(&mut worker, &phase, window, outstanding, &data).await;
            (worker, result)
        }));
    }
    let mut workers = Vec::with_capacity(tasks.len());
    let mut merged = PhaseResult::default();
    for task in tasks {
        let (worker, result) = task.await?;
        merged.merge(result?);
        workers.push(worker);
    }
    workers.sort_by_key(|worker| worker.index);
    Ok((workers, merged))
}

async fn connect_workers(common: &Common, count: usize) -> anyhow::Result<Vec<Worker>> {
    let mut workers = Vec::with_capacity(count);
    for index in 0..count {
        let session = Session::connect(common.server, common.session_timeout_ms)
            .await
            .with_context(|| format!("connecting session {index} to {}", common.server))?;
        workers.push(Worker {
            index,
            sessions: count,
            session,
            created: Vec::new(),
            versions: Vec::new(),
            cursor: 0,
            sequence: 0,
            multi_paths: Vec::new(),
        });
    }
    Ok(workers)
}

async fn close_workers(workers: Vec<Worker>) {
    let mut tasks = Vec::new();
    for mut worker in workers {
        tasks.push(tokio::spawn(async move {
            worker.session.close_session(Instant::now());
            let deadline = Instant::now() + Duration::from_secs(5);
            while worker.session.outstanding() > 0 && Instant::now() < deadline {
                if worker.session.try_flush().is_err()
                    || worker.session.pump(Some(deadline), |_| {}).await.is_err()
                {
                    break;
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
}

/// Creates `path` and its ancestors on one session, ignoring NodeExists.
async fn ensure_path(worker: &mut Worker, path: &str) -> anyhow::Result<()> {
    let mut prefix = String::new();
    for part in path.split('/').filter(|part| !part.is_empty()) {
        prefix.push('/');
        prefix.push_str(part);
        worker.session.create(&prefix, &[], Instant::now());
        worker.session.try_flush()?;
        let mut err = None;
        while err.is_none() {
            worker
                .session
                .pump(None, |reply| err = Some(reply.err))
                .await?;
        }
        match err {
            Some(0) | Some(-110) => {}
            Some(code) => bail!("creating {prefix}: error {code}"),
            None => unreachable!(),
        }
    }
    Ok(())
}

fn report_errors(phase: &str, result: &PhaseResult) {
    if result.error_count() > 0 {
        eprintln!(
            "keel-zk-bench: {phase}: {} of {} requests failed: {:?}",
            result.error_count(),
            result.completed,
            result.errors
        );
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let reporter = Reporter {
        server: args.common.label.clone(),
        rep: args.common.rep,
    };
    let measured = Duration::from_secs_f64(args.seconds);
    let ramp = Duration::from_secs_f64(args.ramp_seconds);
    let mut failed = false;

    if args.warmup_seconds > 0.0 {
        let sessions = *args.sessions.iter().max().unwrap_or(&1);
        let value = *args.values.first().unwrap_or(&100);
        let third = Duration::from_secs_f64(args.warmup_seconds / 3.0);
        let prefix = format!("{}/warmup", args.root);
        let mut workers = connect_workers(&args.common, sessions).await?;
        ensure_path(&mut workers[0], &prefix).await?;
        let data = value_of(value);
        for phase in [
            Phase::Create {
                prefix: prefix.clone(),
            },
            Phase::GetData,
            Phase::SetData,
        ] {
            let now = Instant::now();
            let window = Window {
                measure_from: now,
                stop_sending: Some(now + third),
            };
            let (back, result) =
                run_phase(workers, &phase, window, args.outstanding, &data).await?;
            workers = back;
            report_errors(&format!("warm-up {}", phase.name()), &result);
        }
        close_workers(workers).await;
    }

    for &sessions in &args.sessions {
        for &value in &args.values {
            let data = value_of(value);
            let prefix = format!("{}/v{value}-s{sessions}", args.root);
            let mut workers = connect_workers(&args.common, sessions).await?;
            ensure_path(&mut workers[0], &prefix).await?;
            for name in &args.phases {
                let phase = match name.as_str() {
                    "create" => Phase::Create {
                        prefix: prefix.clone(),
                    },
                    "getData" => Phase::GetData,
                    "setData" => Phase::SetData,
                    "multi-check-set" => Phase::MultiCheckSet,
                    "multi-create3" => Phase::MultiCreate3 {
                        prefix: prefix.clone(),
                    },
                    "delete" => Phase::Delete,
                    other => bail!("unknown phase {other}"),
                };
                let start = Instant::now();
                let counted = matches!(phase, Phase::Delete);
                let window = if counted {
                    Window {
                        measure_from: start,
                        stop_sending: None,
                    }
                } else {
                    Window {
                        measure_from: start + ramp,
                        stop_sending: Some(start + ramp + measured),
                    }
                };
                let (back, mut result) =
                    run_phase(workers, &phase, window, args.outstanding, &data).await?;
                workers = back;
                if counted {
                    for worker in &mut workers {
                        worker.created.clear();
                        worker.versions.clear();
                    }
                }
                let test = format!(
                    "{} {} {sessions} session{}",
                    phase.name(),
                    size_label(value),
                    if sessions == 1 { "" } else { "s" }
                );
                report_errors(&test, &result);
                if result.error_count() > 0 {
                    failed = true;
                }
                let seconds = if counted {
                    result
                        .last_completion
                        .map_or(0.0, |last| last.duration_since(start).as_secs_f64())
                } else {
                    measured.as_secs_f64()
                };
                let ops = if seconds > 0.0 {
                    result.measured as f64 / seconds
                } else {
                    0.0
                };
                let targeted = sessions >= args.target_sessions;
                reporter.line(
                    &test,
                    "ops/s",
                    "ops/s",
                    ops,
                    "higher",
                    targeted.then_some(">= 2.0x"),
                );
                for (metric, q, target) in [
                    ("p50 latency", 0.5, None),
                    ("p99 latency", 0.99, targeted.then_some("<= 0.5x")),
                    ("p99.9 latency", 0.999, None),
                ] {
                    if let Some(ms) = result.latencies.quantile_ms(q) {
                        reporter.line(&test, metric, "ms", ms, "lower", target);
                    }
                }
                eprintln!(
                    "keel-zk-bench: {} {test}: {ops:.0} ops/s, p50 {:.3} ms, p99 {:.3} ms ({} ops measured)",
                    args.common.label,
                    result.latencies.quantile_ms(0.5).unwrap_or(0.0),
                    result.latencies.quantile_ms(0.99).unwrap_or(0.0),
                    result.latencies.len(),
                );
                std::io::stdout().flush()?;
            }
            close_workers(workers).await;
        }
    }
    if failed {
        bail!("some requests failed (see above)");
    }
    Ok(())
}

async fn populate(args: PopulateArgs) -> anyhow::Result<()> {
    let reporter = Reporter {
        server: args.common.label.clone(),
        rep: args.common.rep,
    };
    let data = value_of(args.value_bytes);
    let mut workers = connect_workers(&args.common, args.sessions.max(1)).await?;
    ensure_path(&mut workers[0], &args.root).await?;
    let unbounded = Window {
        measure_from: Instant::now(),
        stop_sending: None,
    };
    let parents = Phase::PopulateParents {
        root: args.root.clone(),
        count: args.count,
    };
    let (back, result) = run_phase(workers, &parents, unbounded, args.outstanding, &[]).await?;
    workers = back;
    report_errors("populate parents", &result);
    let start = Instant::now();
    let window = Window {
        measure_from: start,
        stop_sending: None,
    };
    let phase = Phase::Populate {
        root: args.root.clone(),
        count: args.count,
    };
    let (workers, result) = run_phase(workers, &phase, window, args.outstanding, &data).await?;
    let seconds = start.elapsed().as_secs_f64();
    report_errors("populate", &result);
    close_workers(workers).await;
    let ops = result.measured as f64 / seconds;
    reporter.line(
        &format!(
            "populate {} znodes {}",
            args.count,
            size_label(args.value_bytes)
        ),
        "ops/s",
        "ops/s",
        ops,
        "higher",
        None,
    );
    eprintln!(
        "keel-zk-bench: {} populated {} znodes in {seconds:.1} s ({ops:.0} creates/s)",
        args.common.label, result.measured
    );
    if result.error_count() > 0 {
        bail!("some creates failed");
    }
    Ok(())
}

/// 4 KiB written and fdatasync'ed, `count` times, one after the other in a
/// fresh file extended (sparse) to 64 MiB first, as a ZooKeeper txn log is
/// pre-allocated: what one log commit costs at least on this disk.
fn fsync(args: FsyncArgs) -> anyhow::Result<()> {
    let path = args
        .dir
        .join(format!("keel-zk-bench-fsync.{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.set_len(64 * 1024 * 1024)?;
    let block = vec![0x5au8; 4096];
    let mut latencies = Latencies::default();
    let started = Instant::now();
    for _ in 0..args.count {
        let before = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        latencies.push_micros(before.elapsed().as_micros() as u64);
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(file);
    let _ = std::fs::remove_file(&path);
    let reporter = Reporter {
        server: args.label,
        rep: args.rep,
    };
    let test = "fsync 4KiB write+fdatasync";
    for (metric, q) in [("p50 latency", 0.5), ("p99 latency", 0.99)] {
        if let Some(ms) = latencies.quantile_ms(q) {
            reporter.line(test, metric, "ms", ms, "lower", None);
        }
    }
    reporter.line(
        test,
        "fsyncs/s",
        "ops/s",
        args.count as f64 / seconds,
        "higher",
        None,
    );
    Ok(())
}
