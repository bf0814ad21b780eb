//! Unit tests of the replication core, including the regression scenarios of KIP-101
//! (truncating to the high watermark loses or forks data) and KIP-279 (fast leader
//! changes leave a follower with an epoch its new leader never saw).

use super::*;
use crate::kafka::replica::sim::log::{Batch, MemLog, Record};

struct Replica {
    core: PartitionReplica,
    log: MemLog,
}

fn id(n: i32) -> BrokerId {
    BrokerId(n)
}

fn config(n: i32, min_isr: usize) -> ReplicationConfig {
    let mut config = ReplicationConfig::new(id(n));
    config.min_insync_replicas = min_isr;
    config.replica_lag_time_max_ms = 1_000;
    config
}

fn replica(n: i32, min_isr: usize) -> Replica {
    let log = MemLog::default();
    Replica {
        core: PartitionReplica::open(config(n, min_isr), &[], 0, &log),
        log,
    }
}

fn state(leader: i32, epoch: i32, isr: &[i32], partition_epoch: i32) -> PartitionState {
    PartitionState {
        leader: Some(id(leader)),
        leader_epoch: epoch,
        isr: isr.iter().map(|n| id(*n)).collect(),
        partition_epoch,
        replicas: vec![id(1), id(2), id(3)],
    }
}

fn produce(
    leader: &mut Replica,
    now_ms: i64,
    value: u64,
    acks: Acks,
) -> Result<ProduceOutcome, ReplicaError> {
    let batch = Batch {
        base_offset: -1,
        records: vec![Record { epoch: -1, value }],
    };
    leader.core.append_as_leader(
        now_ms,
        &mut leader.log,
        batch,
        acks,
        ProduceId(value),
        10_000,
    )
}

/// One request/answer between a follower and its leader.
fn round(follower: &mut Replica, leader: &mut Replica, now_ms: i64) {
    let Some(request) = follower.core.next_follower_request(&follower.log) else {
        return;
    };
    match request {
        FollowerRequest::Fetch(fetch) => {
            let answer = leader.core.handle_fetch(now_ms, &leader.log, &fetch);
            follower
                .core
                .on_fetch_response(&mut follower.log, &fetch, answer)
                .unwrap();
        }
        FollowerRequest::OffsetForLeaderEpoch(ask) => {
            let answer = leader
                .core
                .handle_offset_for_leader_epoch(&leader.log, &ask);
            follower
                .core
                .on_offset_for_leader_epoch_response(&mut follower.log, &ask, answer)
                .unwrap();
        }
        FollowerRequest::ListOffsets(ask) => {
            let answer = leader.core.handle_list_offsets(&leader.log, &ask);
            follower
                .core
                .on_list_offsets_response(&mut follower.log, &ask, answer)
                .unwrap();
        }
    }
}

fn values(log: &MemLog) -> Vec<u64> {
    log.records().iter().map(|r| r.value).collect()
}

fn restart(replica: Replica) -> Replica {
    let epochs = replica.core.epoch_cache().entries().to_vec();
    let high_watermark = replica.core.high_watermark();
    let config = replica.core.config().clone();
    Replica {
        core: PartitionReplica::open(config, &epochs, high_watermark, &replica.log),
        log: replica.log,
    }
}

/// KIP-101 scenario 1: a follower whose high watermark lags restarts, becomes leader
/// before fetching again, and must still hold what the old leader committed.
fn kip_101_restart_then_lead(bug: Option<PlantedBug>) -> Vec<u64> {
    let mut a = replica(1, 1);
    let mut b = replica(2, 1);
    b.core.config.planted_bug = bug;
    a.core
        .become_leader(0, &a.log, &state(1, 0, &[1, 2], 0))
        .unwrap();
    b.core
        .become_follower(&mut b.log, &state(1, 0, &[1, 2], 0))
        .unwrap();
    produce(&mut a, 1, 10, Acks::Leader).unwrap();
    produce(&mut a, 1, 11, Acks::Leader).unwrap();
    round(&mut b, &mut a, 2); // b gets both records; the answer's HW is 0
    round(&mut b, &mut a, 3); // a's HW moves to 2, b is told 0 (taken before)
    assert_eq!(a.core.high_watermark(), 2, "committed on the leader");
    assert_eq!(
        b.core.high_watermark(),
        0,
        "the follower's HW lags one round"
    );
    // b restarts and rejoins as a follower of a, then a dies before b fetches.
    let mut b = restart(b);
    b.core.config.planted_bug = bug;
    b.core
        .become_follower(&mut b.log, &state(1, 0, &[1, 2], 0))
        .unwrap();
    b.core
        .become_leader(10, &b.log, &state(2, 1, &[2], 1))
        .unwrap();
    values(&b.log)
}

#[test]
fn kip_101_restarted_follower_keeps_committed_tail_and_leads() {
    assert_eq!(kip_101_restart_then_lead(None), vec![10, 11]);
    // Pre-KIP-101 (truncate to HW): the committed records are gone.
    assert_eq!(
        kip_101_restart_then_lead(Some(PlantedBug::FollowerTruncatesToHighWatermark)),
        Vec::<u64>::new()
    );
}

/// KIP-101 scenario 2: after both replicas lose their tails, the new leader writes a
/// different record at an offset the old leader still holds; epochs must make the old
/// leader drop it rather than keep a forked log.
fn kip_101_fork(truncation: TruncationMode) {
    let mut a = replica(1, 1);
    let mut b = replica(2, 1);
    a.core.config.truncation = truncation;
    b.core.config.truncation = truncation;
    a.core
        .become_leader(0, &a.log, &state(1, 0, &[1, 2], 0))
        .unwrap();
    b.core
        .become_follower(&mut b.log, &state(1, 0, &[1, 2], 0))
        .unwrap();
    produce(&mut a, 1, 10, Acks::Leader).unwrap();
    round(&mut b, &mut a, 2);
    produce(&mut a, 3, 11, Acks::Leader).unwrap(); // only a has offset 1
                                                   // Both restart; b comes back first and leads epoch 1 (ISR = b alone).
    let mut a = restart(a);
    let mut b = restart(b);
    b.core
        .become_leader(10, &b.log, &state(2, 1, &[2], 1))
        .unwrap();
    produce(&mut b, 11, 20, Acks::Leader).unwrap(); // offset 1 in epoch 1
    a.core
        .become_follower(&mut a.log, &state(2, 1, &[2], 1))
        .unwrap();
    for now in 12..20 {
        round(&mut a, &mut b, now);
    }
    assert_eq!(values(&a.log), vec![10, 20]);
    assert_eq!(values(&a.log), values(&b.log));
}

#[test]
fn kip_101_forked_tail_is_truncated_by_epoch() {
    kip_101_fork(TruncationMode::OnFetch);
    kip_101_fork(TruncationMode::OffsetForLeaderEpoch);
}

/// KIP-279: epoch 1 (A) wrote x0, x1; C got both, B only x0. B led epoch 2 and wrote
/// y1, y2 that nobody fetched. C leads epoch 3 and writes z2. B's latest epoch (2) is
/// unknown to C, whose answer (epoch 1 ends at 2) would leave y1 in place if B
/// trusted it in one round; B must first drop to its own end of epoch 1.
fn kip_279_fast_leader_changes(truncation: TruncationMode) {
    let mut a = replica(1, 1);
    let mut b = replica(2, 1);
    let mut c = replica(3, 1);
    for r in [&mut a, &mut b, &mut c] {
        r.core.config.truncation = truncation;
    }
    a.core
        .become_leader(0, &a.log, &state(1, 1, &[1, 2, 3], 0))
        .unwrap();
    b.core
        .become_follower(&mut b.log, &state(1, 1, &[1, 2, 3], 0))
        .unwrap();
    c.core
        .become_follower(&mut c.log, &state(1, 1, &[1, 2, 3], 0))
        .unwrap();
    produce(&mut a, 1, 100, Acks::Leader).unwrap();
    round(&mut b, &mut a, 2);
    produce(&mut a, 3, 101, Acks::Leader).unwrap();
    round(&mut c, &mut a, 4);
    assert_eq!(values(&b.log), vec![100]);
    assert_eq!(values(&c.log), vec![100, 101]);
    b.core
        .become_leader(5, &b.log, &state(2, 2, &[2, 3], 1))
        .unwrap();
    produce(&mut b, 6, 201, Acks::Leader).unwrap();
    produce(&mut b, 6, 202, Acks::Leader).unwrap();
    c.core
        .become_leader(7, &c.log, &state(3, 3, &[3], 2))
        .unwrap();
    produce(&mut c, 8, 302, Acks::Leader).unwrap();
    b.core
        .become_follower(&mut b.log, &state(3, 3, &[3], 2))
        .unwrap();
    for now in 10..30 {
        round(&mut b, &mut c, now);
    }
    assert_eq!(values(&c.log), vec![100, 101, 302]);
    assert_eq!(values(&b.log), values(&c.log), "no divergence");
    let epochs: Vec<(i32, i64)> = b
        .core
        .epoch_cache()
        .entries()
        .iter()
        .map(|e| (e.epoch, e.start_offset))
        .collect();
    assert_eq!(epochs, vec![(1, 0), (3, 2)]);
}

#[test]
fn kip_279_fast_leader_changes_converge() {
    kip_279_fast_leader_changes(TruncationMode::OnFetch);
    kip_279_fast_leader_changes(TruncationMode::OffsetForLeaderEpoch);
}

#[test]
fn high_watermark_waits_for_the_isr_and_min_isr() {
    let mut a = replica(1, 2);
    let mut b = replica(2, 2);
    a.core
        .become_leader(0, &a.log, &state(1, 0, &[1, 2], 0))
        .unwrap();
    b.core
        .become_follower(&mut b.log, &state(1, 0, &[1, 2], 0))
        .unwrap();
    let outcome = produce(&mut a, 1, 10, Acks::All).unwrap();
    assert!(matches!(outcome, ProduceOutcome::Waiting(_)));
    assert_eq!(a.core.high_watermark(), 0, "nobody fetched yet");
    // Replica 3 never fetched but is outside the ISR: it does not hold the HW back.
    round(&mut b, &mut a, 2);
    assert_eq!(
        a.core.high_watermark(),
        0,
        "b's fetch at 0 says nothing about 0"
    );
    round(&mut b, &mut a, 3);
    assert_eq!(a.core.high_watermark(), 1);
    let outputs = a.core.drain_outputs();
    assert!(outputs.contains(&ReplicaOutput::ProduceCompleted {
        id: ProduceId(10),
        range: AppendedRange {
            base_offset: 0,
            last_offset: 0
        },
        result: Ok(())
    }));
    // b's HW trails by a round.
    assert_eq!(b.core.high_watermark(), 0);
    round(&mut b, &mut a, 4);
    assert_eq!(b.core.high_watermark(), 1);
}

#[test]
fn isr_shrink_and_expand_go_through_alter_partition() {
    let mut a = replica(1, 2);
    let mut b = replica(2, 2);
    let mut c = replica(3, 2);
    let all = state(1, 0, &[1, 2, 3], 0);
    a.core.become_leader(0, &a.log, &all).unwrap();
    b.core.become_follower(&mut b.log, &all).unwrap();
    c.core.become_follower(&mut c.log, &all).unwrap();
    produce(&mut a, 1, 10, Acks::All).unwrap();
    round(&mut b, &mut a, 100);
    round(&mut b, &mut a, 200);
    // c never fetches: after replica.lag.time.max.ms it is proposed for removal.
    a.core.tick(900, &a.log);
    assert!(a
        .core
        .drain_outputs()
        .iter()
        .all(|o| !matches!(o, ReplicaOutput::AlterPartition(_))));
    a.core.tick(1_100, &a.log);
    let proposal = a
        .core
        .drain_outputs()
        .into_iter()
        .find_map(|o| match o {
            ReplicaOutput::AlterPartition(p) => Some(p),
            _ => None,
        })
        .expect("shrink proposed");
    assert_eq!(proposal.new_isr, vec![id(1), id(2)]);
    assert_eq!(proposal.partition_epoch, 0);
    // While the shrink is pending, c still counts (maximal ISR): HW stays at 0.
    assert!(a.core.isr_change_in_flight());
    assert_eq!(a.core.high_watermark(), 0);
    // A stale answer (older leader epoch) is ignored and the change stays pending.
    a.core.on_alter_partition_response(
        1_150,
        &a.log,
        proposal.proposal_id,
        AlterPartitionResult::Accepted {
            leader_epoch: -5,
            partition_epoch: 9,
            isr: vec![id(1)],
        },
    );
    assert!(a.core.isr_change_in_flight());
    a.core.on_alter_partition_response(
        1_200,
        &a.log,
        proposal.proposal_id,
        AlterPartitionResult::Accepted {
            leader_epoch: 0,
            partition_epoch: 1,
            isr: vec![id(1), id(2)],
        },
    );
    assert_eq!(a.core.isr(), vec![id(1), id(2)]);
    assert_eq!(a.core.partition_epoch(), 1);
    assert_eq!(
        a.core.high_watermark(),
        1,
        "KAFKA-13091: HW moves on the answer"
    );
    // c catches up and is proposed back; the pending addition counts at once.
    round(&mut c, &mut a, 1_300);
    round(&mut c, &mut a, 1_310);
    assert_eq!(a.core.maximal_isr(), vec![id(1), id(2), id(3)]);
    let expand = a
        .core
        .drain_outputs()
        .into_iter()
        .find_map(|o| match o {
            ReplicaOutput::AlterPartition(p) => Some(p),
            _ => None,
        })
        .expect("expand proposed");
    assert_eq!(expand.new_isr, vec![id(1), id(2), id(3)]);
    // INELIGIBLE_REPLICA reverts to the committed ISR.
    a.core.on_alter_partition_response(
        1_320,
        &a.log,
        expand.proposal_id,
        AlterPartitionResult::Rejected(AlterPartitionError::IneligibleReplica),
    );
    assert!(!a.core.isr_change_in_flight());
    assert_eq!(a.core.maximal_isr(), vec![id(1), id(2)]);
}

#[test]
fn acks_all_is_refused_below_min_isr_and_high_watermark_holds() {
    let mut a = replica(1, 2);
    a.core
        .become_leader(0, &a.log, &state(1, 0, &[1], 0))
        .unwrap();
    assert_eq!(
        produce(&mut a, 1, 10, Acks::All),
        Err(ReplicaError::NotEnoughReplicas)
    );
    assert!(matches!(
        produce(&mut a, 1, 11, Acks::Leader),
        Ok(ProduceOutcome::Completed(_))
    ));
    // KAFKA-15583: under min ISR the high watermark does not move.
    assert_eq!(a.core.high_watermark(), 0);
    a.core.tick(20_000, &a.log);
}

#[test]
fn leader_and_isr_fencing() {
    let mut a = replica(1, 1);
    a.core
        .become_leader(0, &a.log, &state(1, 3, &[1, 2], 5))
        .unwrap();
    assert_eq!(
        a.core.become_leader(0, &a.log, &state(1, 3, &[1], 6)),
        Err(TransitionRefused::StaleLeaderEpoch)
    );
    assert_eq!(
        a.core.become_follower(&mut a.log, &state(2, 4, &[2], 4)),
        Err(TransitionRefused::StalePartitionEpoch)
    );
    // Fetches carrying the wrong epoch are fenced or unknown (KIP-320).
    let mut fetch = FetchPartitionRequest {
        replica: id(2),
        current_leader_epoch: 2,
        fetch_offset: 0,
        last_fetched_epoch: None,
        log_start_offset: 0,
    };
    assert_eq!(
        a.core.handle_fetch(1, &a.log, &fetch).err(),
        Some(ReplicaError::FencedLeaderEpoch)
    );
    fetch.current_leader_epoch = 4;
    assert_eq!(
        a.core.handle_fetch(1, &a.log, &fetch).err(),
        Some(ReplicaError::UnknownLeaderEpoch)
    );
    // The new epoch is in the cache before any append (KAFKA-7415).
    assert_eq!(a.core.epoch_cache().latest_epoch(), Some(3));
}
