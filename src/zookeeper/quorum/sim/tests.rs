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
    sim.settle(20_000)
        .expect("an ensemble without faults converges");
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

#[test]
fn seed_sweep_0() {
    assert_sweep_clean(0, 50);
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
