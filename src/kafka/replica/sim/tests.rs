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

fn caught(bug: PlantedBug) -> (u64, Option<SimOutcome>) {
    let (_, failed) = run_seeds(0..SEEDS, |config| config.planted_bug = Some(bug));
    (failed.len() as u64, failed.into_iter().next())
}

#[test]
fn planted_bug_high_watermark_before_fetch_is_caught() {
    let (failures, first) = caught(PlantedBug::HighWatermarkBeforeFollowersFetch);
    assert!(failures > 0, "not caught in {SEEDS} seeds");
    eprintln!(
        "caught in {failures} of {SEEDS} seeds; first: {:?}",
        first.map(|o| (o.seed, o.violations))
    );
}

#[test]
fn planted_bug_truncate_to_high_watermark_is_caught() {
    let (failures, first) = caught(PlantedBug::FollowerTruncatesToHighWatermark);
    assert!(failures > 0, "not caught in {SEEDS} seeds");
    eprintln!(
        "caught in {failures} of {SEEDS} seeds; first: {:?}",
        first.map(|o| (o.seed, o.violations))
    );
}

#[test]
fn planted_bug_acks_all_at_append_is_caught() {
    let (failures, first) = caught(PlantedBug::AcksAllAnsweredAtAppend);
    assert!(failures > 0, "not caught in {SEEDS} seeds");
    eprintln!(
        "caught in {failures} of {SEEDS} seeds; first: {:?}",
        first.map(|o| (o.seed, o.violations))
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
