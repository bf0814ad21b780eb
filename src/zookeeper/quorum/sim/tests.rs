//! The seed sweep, the planted-bug detection tests, the scripted ZOOKEEPER-*
//! regressions and the long run behind `scripts/sim-long`.
//!
//! Every run uses the real FLE unless `SIM_ELECTION=oracle` is set (to bisect a
//! failing seed to election or Zab); `oracle_sweep_stays_clean` keeps the oracle
//! path working.

use super::*;

/// The schedule of `seed` with the election the environment asks for.
fn config_for(seed: u64) -> SimConfig {
    SimConfig::from_seed(seed).with_election(ElectionMode::from_env())
}

/// Runs `count` seeds from `first`; returns the failing reports.
fn sweep(first: u64, count: u64, bug: Option<PlantedBug>) -> Vec<SimReport> {
    let mut failures = Vec::new();
    for seed in first..first + count {
        let mut config = config_for(seed);
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
            "FAILING SEED {} (reproduce: SIM_SEED={} cargo test --lib sim::tests::one_seed; \
             SIM_ELECTION=oracle to bisect): {:#?}",
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

fn quiet_ensemble_commits_and_converges(election: ElectionMode) {
    let mut config = SimConfig::from_seed(1).with_election(election);
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

#[test]
fn quiet_ensemble_commits_and_converges_with_fle() {
    quiet_ensemble_commits_and_converges(ElectionMode::Fle);
}

#[test]
fn quiet_ensemble_commits_and_converges_with_the_oracle() {
    quiet_ensemble_commits_and_converges(ElectionMode::Oracle);
}

/// FLE picks the voter with the highest (currentEpoch, lastLoggedZxid, sid):
/// after the leader crashes, the survivors elect the one with the longer log,
/// and the old leader rejoins as a follower through FLE's out-of-election path.
#[test]
fn fle_elects_the_most_up_to_date_survivor_and_the_old_leader_rejoins() {
    let mut config = SimConfig::from_seed(2);
    config.voters = 3;
    config.observers = 0;
    let mut sim = Sim::scripted(config);
    assert!(sim.settle(20_000), "{}", sim.status());
    let first_leader = sim.established_leader().expect("leader");
    assert_eq!(first_leader, 2, "all logs empty: the highest sid leads");
    for _ in 0..5 {
        sim.client_write_at(first_leader).expect("write accepted");
        let until = sim.now_ms() + 50;
        sim.run_until(until);
    }
    // Cut server 2 (index 1) off, write more, so server 1 has the longer log
    // when the leader dies, though server 2 has the higher sid.
    sim.set_groups(&[0, 1, 0]);
    for _ in 0..3 {
        sim.client_write_at(first_leader);
        let until = sim.now_ms() + 50;
        sim.run_until(until);
    }
    sim.set_groups(&[0, 0, 0]);
    // FLE's vote: (currentEpoch, lastLoggedZxid), then the sid.
    let votes: Vec<(Epoch, Zxid)> = (0..2)
        .map(|index| sim.zab(index).expect("alive").vote())
        .collect();
    assert!(
        votes[0] > votes[1],
        "server 1 has the longer log: {votes:?}"
    );
    sim.crash_server(first_leader);
    let deadline = sim.now_ms() + 20_000;
    let until = sim.now_ms() + 100;
    sim.run_until(until);
    let mut leader = None;
    while sim.now_ms() < deadline && leader.is_none() {
        let until = sim.now_ms() + 100;
        sim.run_until(until);
        leader = sim.established_leader();
    }
    let leader = leader.expect("the survivors elect a leader");
    assert_eq!(leader, 0, "votes {votes:?}: {}", sim.status());
    sim.restart_server(first_leader);
    let settle_deadline = sim.now_ms() + 20_000;
    assert!(sim.settle(settle_deadline), "{}", sim.status());
    assert_eq!(sim.established_leader(), Some(leader));
    sim.final_write(sim.now_ms() + 5_000).expect("final write");
    sim.final_check();
    assert!(
        sim.checker.violations.is_empty(),
        "{:?}",
        sim.checker.violations
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

/// The oracle keeps working, so a failing seed can be bisected.
#[test]
fn oracle_sweep_stays_clean() {
    let failures: Vec<u64> = (0..ORACLE_SWEEP_SEEDS)
        .filter(|&seed| {
            let config = SimConfig::from_seed(seed).with_election(ElectionMode::Oracle);
            !Sim::run(config).violations.is_empty()
        })
        .collect();
    assert!(failures.is_empty(), "oracle seeds failed: {failures:?}");
}

const ORACLE_SWEEP_SEEDS: u64 = 200;

/// How many seeds a planted bug may take to be caught.
const PLANTED_BUG_SEED_BUDGET: u64 = 1500;

fn assert_bug_caught(bug: PlantedBug) {
    for seed in 0..PLANTED_BUG_SEED_BUDGET {
        let mut config = config_for(seed);
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

/// A server whose acceptedEpoch is above the established leader's epoch never
/// joins (Apache 3.9 behaves the same: `Learner.registerWithLeader` refuses a
/// LEADERINFO below its acceptedEpoch, and FLE sends it straight back to that
/// leader). Seed 1132 (at the commit that added this test) gets there: server 3
/// leads an election round with server 2, raises its acceptedEpoch to 7 on
/// server 2's FOLLOWERINFO, loses server 2 before LEADERINFO(7) arrives, and
/// servers 1 and 2 then establish epoch 6 without it. The sweep ends such a
/// lockout by restarting the leader (`restart_leader_on_epoch_lockout`); without
/// that the run fails liveness, which this test shows. Ignored: it documents a
/// protocol-level liveness gap that Zab's owner may decide to close.
#[test]
#[ignore]
fn epoch_lockout_keeps_a_server_out_until_the_leader_changes() {
    let mut config = SimConfig::from_seed(1132);
    config.restart_leader_on_epoch_lockout = false;
    let report = Sim::run(config);
    assert!(
        report.violations.is_empty(),
        "seed 1132 without the leader restart: {:#?}",
        report.violations
    );
}

/// `SIM_SEED=n cargo test --lib sim::tests::one_seed -- --nocapture` (with
/// `SIM_TRACE=1` for a full trace).
#[test]
fn one_seed() {
    let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) else {
        return;
    };
    let report = Sim::run(config_for(seed));
    eprintln!(
        "seed {seed}: steps={} faults={} acked={} ms={} converged_after_heal_ms={:?} epoch_lockouts={}",
        report.steps,
        report.faults,
        report.acknowledged_writes,
        report.simulated_ms,
        report.converged_after_heal_ms,
        report.epoch_lockouts
    );
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
    let count: u64 = std::env::var("SIM_STATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    for seed in 0..count {
        let report = Sim::run(config_for(seed));
        eprintln!(
            "{seed}: steps={} faults={} acked={} ms={} converged_after_heal_ms={:?} violations={}",
            report.steps,
            report.faults,
            report.acknowledged_writes,
            report.simulated_ms,
            report.converged_after_heal_ms,
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
    let election = ElectionMode::from_env();
    let (mut faults, mut writes, mut failures) = (0u64, 0u64, Vec::new());
    let mut slowest_convergence = (0u64, offset);
    let mut epoch_lockouts = 0u64;
    let mut election_counts = fle::ElectionCounts::default();
    for seed in offset..offset + schedules {
        let report = Sim::run(config_for(seed));
        faults += report.faults;
        writes += report.acknowledged_writes as u64;
        epoch_lockouts += report.epoch_lockouts;
        election_counts += report.election;
        // A lockout waits out the whole bound before the leader restart; it is
        // counted on its own.
        if let Some(ms) = report
            .converged_after_heal_ms
            .filter(|_| report.epoch_lockouts == 0)
        {
            if ms > slowest_convergence.0 {
                slowest_convergence = (ms, seed);
            }
        }
        if !report.violations.is_empty() {
            eprintln!("FAILING SEED {seed}: {:#?}", report.violations);
            failures.push(seed);
        }
    }
    let election = match election {
        ElectionMode::Fle => "fle",
        ElectionMode::Oracle => "oracle",
    };
    println!(
        "SIM-LONG schedules={schedules} seed_offset={offset} election={election} liveness_bound_ms={} faults={faults} acknowledged_writes={writes} slowest_convergence_ms={} slowest_convergence_seed={} epoch_lockouts={epoch_lockouts} fle_decisions={} notifications_sent={} notifications_dropped={} notifications_duplicated={} notifications_reordered={} failures={} failing_seeds={:?}",
        config_for(offset).liveness_bound_ms,
        slowest_convergence.0,
        slowest_convergence.1,
        election_counts.decisions,
        election_counts.sent,
        election_counts.dropped,
        election_counts.duplicated,
        election_counts.reordered,
        failures.len(),
        &failures[..failures.len().min(20)]
    );
    assert!(failures.is_empty(), "failing seeds: {failures:?}");
}
