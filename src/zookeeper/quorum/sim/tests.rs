//! The seed sweep, the planted-bug detection tests, the scripted ZOOKEEPER-*
//! regressions and the long run behind `scripts/sim-long`.

use super::*;

/// Runs `count` seeds from `first`; returns the failing reports.
fn sweep(first: u64, count: u64, bug: Option<PlantedBug>) -> Vec<SimReport> {
    let mut failures = Vec::new();
    for seed in first..first + count {
        let mut config = SimConfig::from_seed(seed);
        config.planted_bug = bug;
        let report = Sim::run(config);
        if !report.violations.is_empty() {
            failures.push(report);
        }
    }
    failures
}

fn assert_sweep_clean(first: u64, count: u64) {
    let failures = sweep(first, count, None);
    for report in &failures {
        eprintln!(
            "FAILING SEED {} (reproduce: Sim::run(SimConfig::from_seed({}))): {:#?}",
            report.seed, report.seed, report.violations
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {count} seeds failed: {:?}",
        failures.len(),
        failures.iter().map(|r| r.seed).collect::<Vec<_>>()
    );
}

#[test]
fn quiet_ensemble_commits_and_converges() {
    let mut config = SimConfig::from_seed(1);
    config.voters = 3;
    config.observers = 1;
    let mut sim = Sim::scripted(config);
    assert!(sim.settle(20_000), "an ensemble without faults converges");
    for _ in 0..20 {
        let leader = sim.established_leader().expect("leader");
        sim.client_write_at(leader).expect("write accepted");
        let until = sim.now_ms() + 5;
        sim.run_until(until);
    }
    sim.final_write(sim.now_ms() + 5_000).expect("final write");
    sim.final_check();
    assert!(
        sim.checker.violations.is_empty(),
        "{:?}",
        sim.checker.violations
    );
    assert_eq!(sim.server_state(0).len(), 21);
    assert_eq!(
        sim.server_state(3),
        sim.server_state(0),
        "the observer applies INFORMs"
    );
}

/// The seed sweep, split so the test harness runs the parts in parallel.
const SWEEP_SEEDS_PER_PART: u64 = 700;

#[test]
fn seed_sweep_part_0() {
    assert_sweep_clean(0, SWEEP_SEEDS_PER_PART);
}

#[test]
fn seed_sweep_part_1() {
    assert_sweep_clean(SWEEP_SEEDS_PER_PART, SWEEP_SEEDS_PER_PART);
}

#[test]
fn seed_sweep_part_2() {
    assert_sweep_clean(2 * SWEEP_SEEDS_PER_PART, SWEEP_SEEDS_PER_PART);
}

/// How many seeds a planted bug may take to be caught.
const PLANTED_BUG_SEED_BUDGET: u64 = 1500;

fn assert_bug_caught(bug: PlantedBug) {
    for seed in 0..PLANTED_BUG_SEED_BUDGET {
        let mut config = SimConfig::from_seed(seed);
        config.planted_bug = Some(bug);
        let report = Sim::run(config);
        if !report.violations.is_empty() {
            eprintln!(
                "{bug:?} caught by seed {seed}: {:?}",
                report.violations.first()
            );
            return;
        }
    }
    panic!("{bug:?} survived {PLANTED_BUG_SEED_BUDGET} seeds: the checker or the schedules are too weak");
}

#[test]
fn planted_bug_ack_newleader_before_sync_durable_is_caught() {
    assert_bug_caught(PlantedBug::AckNewLeaderBeforeSyncDurable);
}

#[test]
fn planted_bug_leader_self_ack_before_fsync_is_caught() {
    assert_bug_caught(PlantedBug::LeaderSelfAckBeforeFsync);
}

#[test]
fn planted_bug_current_epoch_before_sync_txns_is_caught() {
    assert_bug_caught(PlantedBug::CurrentEpochBeforeSyncTxns);
}

/// `SIM_SEED=n cargo test --lib sim::tests::one_seed -- --nocapture` (with
/// `SIM_TRACE=1` for a full trace).
#[test]
fn one_seed() {
    let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) else {
        return;
    };
    let report = Sim::run(SimConfig::from_seed(seed));
    assert!(
        report.violations.is_empty(),
        "seed {seed}: {:#?}",
        report.violations
    );
}

#[test]
fn print_some_reports() {
    if std::env::var_os("SIM_STATS").is_none() {
        return;
    }
    for seed in 0..10 {
        let report = Sim::run(SimConfig::from_seed(seed));
        eprintln!(
            "{seed}: steps={} faults={} acked={} ms={} violations={}",
            report.steps,
            report.faults,
            report.acknowledged_writes,
            report.simulated_ms,
            report.violations.len()
        );
    }
}

/// The long run behind `scripts/sim-long`: `SIM_LONG_SCHEDULES` seeds (default
/// 100000) from `SIM_SEED_OFFSET` (default 1000000, past the sweep's seeds).
/// Prints one `SIM-LONG` summary line for the script.
#[test]
#[ignore]
fn long_run() {
    let schedules: u64 = std::env::var("SIM_LONG_SCHEDULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let offset: u64 = std::env::var("SIM_SEED_OFFSET")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let (mut faults, mut writes, mut failures) = (0u64, 0u64, Vec::new());
    for seed in offset..offset + schedules {
        let report = Sim::run(SimConfig::from_seed(seed));
        faults += report.faults;
        writes += report.acknowledged_writes as u64;
        if !report.violations.is_empty() {
            eprintln!("FAILING SEED {seed}: {:#?}", report.violations);
            failures.push(seed);
        }
    }
    println!(
        "SIM-LONG schedules={schedules} seed_offset={offset} faults={faults} acknowledged_writes={writes} failures={} failing_seeds={:?}",
        failures.len(),
        &failures[..failures.len().min(20)]
    );
    assert!(failures.is_empty(), "failing seeds: {failures:?}");
}
