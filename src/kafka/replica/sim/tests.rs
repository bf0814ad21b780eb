//! Simulation runs: many seeds must pass, each planted bug must be caught, and an
//! ignored long run driven by `scripts/kafka-sim-long`.

use super::{run, SimConfig, SimOutcome};
use crate::kafka::replica::state::PlantedBug;

/// Seeds every `cargo test` run covers.
const SEEDS: u64 = 1_000;

fn run_seeds(
    seeds: std::ops::Range<u64>,
    configure: impl Fn(&mut SimConfig),
) -> (Vec<SimOutcome>, Vec<SimOutcome>) {
    let mut passed = Vec::new();
    let mut failed = Vec::new();
    for seed in seeds {
        let mut config = SimConfig::from_seed(seed);
        configure(&mut config);
        let outcome = run(config);
        if outcome.violations.is_empty() {
            passed.push(outcome);
        } else {
            failed.push(outcome);
        }
    }
    (passed, failed)
}

fn describe(failed: &[SimOutcome]) -> String {
    failed
        .iter()
        .take(10)
        .map(|outcome| format!("seed {}: {}", outcome.seed, outcome.violations.join(" | ")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn thousand_schedules_keep_acknowledged_data() {
    let (passed, failed) = run_seeds(0..SEEDS, |_| {});
    assert!(
        failed.is_empty(),
        "{} of {SEEDS} schedules failed:\n{}",
        failed.len(),
        describe(&failed)
    );
    let acked: usize = passed.iter().map(|o| o.acked_records).sum();
    let crashes: u64 = passed.iter().map(|o| o.stats.crashes).sum();
    let elections: u64 = passed.iter().map(|o| o.stats.elections).sum();
    let voided: u64 = passed.iter().map(|o| o.stats.voided_partitions).sum();
    eprintln!(
        "{SEEDS} schedules: {acked} acks=all records, {crashes} crashes, {elections} \
         elections, {voided} voided partitions"
    );
    // The schedules must actually exercise something.
    assert!(acked > 100 * SEEDS as usize, "only {acked} acks");
    assert!(crashes > SEEDS, "only {crashes} crashes");
    assert!(elections > SEEDS, "only {elections} elections");
    // Voided partitions are the documented excuse; they must stay rare or the
    // safety check means little.
    assert!(voided < SEEDS / 20, "{voided} voided partitions");
}

#[test]
fn a_seed_replays_exactly() {
    let first = run(SimConfig::from_seed(42));
    let second = run(SimConfig::from_seed(42));
    assert_eq!(first.stats.events, second.stats.events);
    assert_eq!(first.acked_records, second.acked_records);
}

/// Runs the test's seeds with `bug` planted until the checker catches it; returns the
/// number of seeds run and the catching outcome.
fn caught(bug: PlantedBug) -> (u64, Option<SimOutcome>) {
    for seed in 0..SEEDS {
        let mut config = SimConfig::from_seed(seed);
        config.planted_bug = Some(bug);
        let outcome = run(config);
        if !outcome.violations.is_empty() {
            return (seed + 1, Some(outcome));
        }
    }
    (SEEDS, None)
}

#[test]
fn planted_bug_high_watermark_before_fetch_is_caught() {
    let (seeds_run, catching) = caught(PlantedBug::HighWatermarkBeforeFollowersFetch);
    let catching = catching.unwrap_or_else(|| panic!("not caught in {SEEDS} seeds"));
    eprintln!(
        "caught after {seeds_run} seeds: seed {} {:?}",
        catching.seed, catching.violations
    );
}

#[test]
fn planted_bug_truncate_to_high_watermark_is_caught() {
    let (seeds_run, catching) = caught(PlantedBug::FollowerTruncatesToHighWatermark);
    let catching = catching.unwrap_or_else(|| panic!("not caught in {SEEDS} seeds"));
    eprintln!(
        "caught after {seeds_run} seeds: seed {} {:?}",
        catching.seed, catching.violations
    );
}

#[test]
fn planted_bug_acks_all_at_append_is_caught() {
    let (seeds_run, catching) = caught(PlantedBug::AcksAllAnsweredAtAppend);
    let catching = catching.unwrap_or_else(|| panic!("not caught in {SEEDS} seeds"));
    eprintln!(
        "caught after {seeds_run} seeds: seed {} {:?}",
        catching.seed, catching.violations
    );
}

/// `scripts/kafka-sim-long` runs this in release mode: KAFKA_SIM_SEEDS schedules from
/// KAFKA_SIM_FIRST_SEED, writing a summary to KAFKA_SIM_RESULT if set.
#[test]
#[ignore]
fn long_run() {
    let count: u64 = std::env::var("KAFKA_SIM_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let first: u64 = std::env::var("KAFKA_SIM_FIRST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let started = std::time::Instant::now();
    let mut failed = Vec::new();
    let mut faults = 0u64;
    let mut crashes = 0u64;
    let mut power_losses = 0u64;
    let mut elections = 0u64;
    let mut acked = 0u64;
    let mut voided = 0u64;
    for seed in first..first + count {
        let outcome = run(SimConfig::from_seed(seed));
        faults += outcome.stats.faults;
        crashes += outcome.stats.crashes;
        power_losses += outcome.stats.power_losses;
        elections += outcome.stats.elections;
        acked += outcome.acked_records as u64;
        voided += outcome.stats.voided_partitions;
        if !outcome.violations.is_empty() {
            eprintln!("FAILED seed {seed}: {}", outcome.violations.join(" | "));
            failed.push(seed);
        }
    }
    let summary = format!(
        "schedules: {count} (seeds {first}..{})\nfaults: {faults} (crashes {crashes}, power losses \
         {power_losses}), elections: {elections}\nacks=all records acknowledged: {acked}\nvoided \
         partitions (leader elected after losing unflushed acked data): {voided}\nfailures: {} {:?}\n\
         duration: {:.1} s\n",
        first + count,
        failed.len(),
        failed.iter().take(20).collect::<Vec<_>>(),
        started.elapsed().as_secs_f64()
    );
    eprint!("{summary}");
    if let Ok(path) = std::env::var("KAFKA_SIM_RESULT") {
        std::fs::write(&path, summary).expect("write the result file");
    }
    assert!(failed.is_empty(), "{} schedules failed", failed.len());
}

#[test]
#[ignore]
fn probe_few_seeds() {
    let started = std::time::Instant::now();
    let (passed, failed) = run_seeds(0..20, |_| {});
    eprintln!(
        "{} passed, {} failed in {:?}\n{}",
        passed.len(),
        failed.len(),
        started.elapsed(),
        describe(&failed)
    );
    for o in passed.iter().take(5) {
        eprintln!("{:?} acked {}", o.stats, o.acked_records);
    }
}

/// Replays one seed with the trace on: `KAFKA_SIM_SEED=505 KAFKA_SIM_TRACE=1 cargo
/// test --lib replay_one_seed -- --ignored --nocapture`.
#[test]
#[ignore]
fn replay_one_seed() {
    let seed = std::env::var("KAFKA_SIM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let outcome = run(SimConfig::from_seed(seed));
    eprintln!(
        "{:?}\n{:?}\n{:#?}",
        SimConfig::from_seed(seed),
        outcome.stats,
        outcome.violations
    );
}
