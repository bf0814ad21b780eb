//! Reassignment decisions against Apache's examples (the comment above
//! `onPartitionReassignment`, `ReplicaAssignmentTest`) and seeded random schedules.

use std::collections::BTreeSet;

use super::*;

fn ids(list: &[i32]) -> Vec<BrokerId> {
    list.iter().copied().map(BrokerId).collect()
}

fn set(list: &[i32]) -> BTreeSet<BrokerId> {
    list.iter().copied().map(BrokerId).collect()
}

fn state(leader: i32, epoch: i32, isr: &[i32]) -> LeaderAndIsr {
    LeaderAndIsr {
        leader: (leader >= 0).then_some(BrokerId(leader)),
        leader_epoch: epoch,
        isr: ids(isr),
    }
}

#[test]
fn reassign_to_follows_replica_assignment() {
    // ReplicaAssignmentTest: [1,2,3] -> [4,5,6] gives RS [4,5,6,1,2,3].
    let current = Assignment::settled(ids(&[1, 2, 3]));
    let next = current.reassign_to(&ids(&[4, 5, 6]));
    assert_eq!(next.replicas, ids(&[4, 5, 6, 1, 2, 3]));
    assert_eq!(next.adding, ids(&[4, 5, 6]));
    assert_eq!(next.removing, ids(&[1, 2, 3]));
    assert_eq!(next.origin(), ids(&[1, 2, 3]));
    assert_eq!(next.target(), ids(&[4, 5, 6]));
    // Overlapping: [1,2,3] -> [3,4,2] is encoded [3,4,2,1].
    let overlap = current.reassign_to(&ids(&[3, 4, 2]));
    assert_eq!(overlap.replicas, ids(&[3, 4, 2, 1]));
    assert_eq!(overlap.adding, ids(&[4]));
    assert_eq!(overlap.removing, ids(&[1]));
    // A new reassignment over one in flight still counts from the original replicas.
    let replaced = next.reassign_to(&ids(&[1, 7]));
    assert_eq!(replaced.replicas, ids(&[1, 7, 2, 3]));
    assert_eq!(replaced.adding, ids(&[7]));
    assert_eq!(replaced.removing, ids(&[2, 3]));
    assert_eq!(unneeded(&next, &replaced), ids(&[4, 5, 6]));
}

#[test]
fn cancel_reverts_to_the_original_replicas_or_reports_nothing_in_flight() {
    let settled = Assignment::settled(ids(&[1, 2]));
    assert_eq!(build(&settled, None), None);
    let moving = settled.reassign_to(&ids(&[2, 4]));
    let cancelled = build(&moving, None).unwrap();
    // RS was [2,4,1] (target first): the original order cannot come back, as
    // Apache's `updateCurrentReassignment` comment says.
    assert_eq!(cancelled, Assignment::settled(ids(&[2, 1])));
    assert_eq!(unneeded(&moving, &cancelled), ids(&[4]));
    // A cancelled reassignment is complete at once: phase B with nothing removed.
    // The unneeded replica 4 had joined the ISR: out of it (one bump), then the
    // leader step (another).
    let step = step(
        &moving,
        &cancelled,
        Some(&state(1, 5, &[1, 2, 4])),
        &set(&[1, 2, 4]),
    );
    assert_eq!(
        step,
        Step::Complete {
            assignment: Assignment::settled(ids(&[2, 1])),
            state: Some(state(1, 7, &[1, 2])),
            removed: ids(&[4]),
        }
    );
}

#[test]
fn apaches_example_walks_through_both_phases() {
    // ORS {1,2,3}, TRS {4,5,6}, leader 1.
    let current = Assignment::settled(ids(&[1, 2, 3]));
    let next = build(&current, Some(&ids(&[4, 5, 6]))).unwrap();
    let online = set(&[1, 2, 3, 4, 5, 6]);
    let Step::Start {
        assignment,
        state: started,
        removed,
    } = step(&current, &next, Some(&state(1, 0, &[1, 2, 3])), &online)
    else {
        panic!("the new replicas are not in the ISR yet");
    };
    assert_eq!(assignment.replicas, ids(&[4, 5, 6, 1, 2, 3]));
    assert_eq!(started, Some(state(1, 1, &[1, 2, 3])));
    assert!(removed.is_empty());
    // The new replicas caught up: leader 4 (first of TRS in the ISR), RR out of the
    // ISR one at a time, RS = TRS.
    let caught_up = state(1, 1, &[1, 2, 3, 4, 5, 6]);
    assert_eq!(
        step(&assignment, &assignment, Some(&caught_up), &online),
        Step::Complete {
            assignment: Assignment::settled(ids(&[4, 5, 6])),
            state: Some(state(4, 5, &[4, 5, 6])),
            removed: ids(&[1, 2, 3]),
        }
    );
}

#[test]
fn a_staying_leader_keeps_leading_and_a_dead_one_is_replaced() {
    let current = Assignment::settled(ids(&[1, 2, 3]));
    let next = current.reassign_to(&ids(&[1, 2, 4]));
    let isr = [1, 2, 3, 4];
    match step(
        &current,
        &next,
        Some(&state(1, 3, &isr)),
        &set(&[1, 2, 3, 4]),
    ) {
        Step::Complete { state, removed, .. } => {
            assert_eq!(state, Some(state_of(1, 5, &[1, 2, 4])));
            assert_eq!(removed, ids(&[3]));
        }
        other => panic!("{other:?}"),
    }
    // Leader 1 stays in TRS but is dead: the first live TRS member in the ISR.
    match step(&current, &next, Some(&state(1, 3, &isr)), &set(&[2, 3, 4])) {
        Step::Complete { state, .. } => assert_eq!(state, Some(state_of(2, 5, &[1, 2, 4]))),
        other => panic!("{other:?}"),
    }
}

fn state_of(leader: i32, epoch: i32, isr: &[i32]) -> LeaderAndIsr {
    state(leader, epoch, isr)
}

#[test]
fn validation_matches_apaches_messages() {
    let current = Assignment::settled(ids(&[1, 2]));
    let live = set(&[1, 2, 3]);
    let refuse = |target: &[i32]| validate_target(&current, &ids(target), &live).unwrap_err();
    assert_eq!(refuse(&[]).error_code, errors::INVALID_REPLICA_ASSIGNMENT);
    assert_eq!(
        refuse(&[1, 1]).message.unwrap(),
        "Duplicate replica ids in partition reassignment replica list: ArrayBuffer(1, 1)"
    );
    assert_eq!(
        refuse(&[-1, 2]).error_code,
        errors::INVALID_REPLICA_ASSIGNMENT
    );
    assert!(refuse(&[1, 9])
        .message
        .unwrap()
        .starts_with("Replica assignment has brokers that are not alive."));
    // Dead brokers already among the replicas do not matter: only new ones must live.
    let with_dead = Assignment::settled(ids(&[1, 7]));
    assert!(validate_target(&with_dead, &ids(&[7, 3]), &live).is_ok());
}

#[test]
fn znode_round_trips_and_reads_the_221_tools_form() {
    let written = br#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[4,2],"log_dirs":["any","any"]},{"topic":"t","partition":1,"replicas":[3,4]}]}"#;
    let decoded = decode_znode(written).unwrap();
    assert_eq!(decoded.len(), 2);
    assert_eq!(decoded[&("t".to_string(), 0)], ids(&[4, 2]));
    let encoded = encode_znode(&decoded);
    assert_eq!(
        std::str::from_utf8(&encoded).unwrap(),
        r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[4,2]},{"topic":"t","partition":1,"replicas":[3,4]}]}"#
    );
    assert_eq!(decode_znode(&encoded).unwrap(), decoded);
    assert_eq!(decode_znode(b"not json"), None);
    assert_eq!(decode_znode(br#"{"version":1}"#), None);
}

/// A small deterministic generator (xorshift64*), so every schedule replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn replicas(&mut self, brokers: i32) -> Vec<BrokerId> {
        let count = 1 + self.below(3) as usize;
        let mut out = Vec::new();
        while out.len() < count {
            let id = BrokerId(1 + self.below(brokers as u64) as i32);
            if !out.contains(&id) {
                out.push(id);
            }
        }
        out
    }
}

/// Random schedules of reassignments, replacements, cancellations and ISR growth:
/// RS always covers ORS and TRS, epochs only go up, and once a reassignment
/// completes the replicas are its target and the ISR holds none of the removed.
#[test]
fn seeded_schedules_keep_the_invariants() {
    const SEEDS: u64 = 2_000;
    const STEPS_MAX: usize = 40;
    const BROKERS: i32 = 6;
    for seed in 1..=SEEDS {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let online: BTreeSet<BrokerId> = (1..=BROKERS).map(BrokerId).collect();
        let initial = rng.replicas(BROKERS);
        let mut assignment = Assignment::settled(initial.clone());
        let mut current = LeaderAndIsr {
            leader: Some(initial[0]),
            leader_epoch: 0,
            isr: initial.clone(),
        };
        for _ in 0..STEPS_MAX {
            let action = rng.below(4);
            let next = match action {
                0 => build(&assignment, Some(&rng.replicas(BROKERS))),
                1 => build(&assignment, None),
                _ => {
                    // A replica of RS catches up and joins the ISR.
                    let id =
                        assignment.replicas[rng.below(assignment.replicas.len() as u64) as usize];
                    if !current.isr.contains(&id) {
                        current.isr.push(id);
                    }
                    assignment.is_being_reassigned().then(|| assignment.clone())
                }
            };
            let Some(next) = next else { continue };
            let origin = assignment.origin();
            let as_set = |list: Vec<BrokerId>| list.into_iter().collect::<BTreeSet<_>>();
            assert_eq!(
                as_set(next.origin()),
                as_set(origin.clone()),
                "seed {seed}: ORS changed"
            );
            for id in next.target().iter().chain(&origin) {
                assert!(next.replicas.contains(id), "seed {seed}: RS misses {id:?}");
            }
            let epoch_before = current.leader_epoch;
            match step(&assignment, &next, Some(&current), &online) {
                Step::Start {
                    assignment: started,
                    state,
                    removed,
                } => {
                    assert!(started.is_being_reassigned(), "seed {seed}");
                    let state = state.unwrap();
                    assert!(state.leader_epoch > epoch_before, "seed {seed}");
                    for id in &removed {
                        assert!(!state.isr.contains(id), "seed {seed}: {id:?} left in ISR");
                    }
                    assignment = started;
                    current = state;
                }
                Step::Complete {
                    assignment: done,
                    state,
                    removed,
                } => {
                    let state = state.unwrap();
                    assert!(!done.is_being_reassigned(), "seed {seed}");
                    assert_eq!(done.replicas, next.target(), "seed {seed}");
                    assert!(state.leader_epoch > epoch_before, "seed {seed}");
                    for id in &removed {
                        assert!(!state.isr.contains(id), "seed {seed}: {id:?} left in ISR");
                    }
                    for id in &state.isr {
                        assert!(
                            done.replicas.contains(id),
                            "seed {seed}: {id:?} in ISR, not in RS"
                        );
                    }
                    let leader = state.leader.expect("every broker is online");
                    assert!(
                        done.replicas.contains(&leader),
                        "seed {seed}: leader outside TRS"
                    );
                    current = state;
                    assignment = done;
                }
            }
        }
    }
}
