//! Partition leadership as the ZooKeeper-mode controller decides it: a pure function
//! from (assignment, current leader/ISR, live brokers) to the next leader/ISR.
//!
//! This is the part of Kafka's PartitionStateMachine and ReplicaStateMachine that
//! touches `/brokers/topics/<t>/partitions/<p>/state`. The controller task calls it
//! on every change of `/brokers/ids` and writes whatever it returns; a multi-broker
//! cluster uses the same function with more brokers.

use std::collections::BTreeSet;

use crate::kafka::metadata::BrokerId;

/// Leader, epoch and ISR of one partition, without the znode's bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderAndIsr {
    pub leader: Option<BrokerId>,
    pub leader_epoch: i32,
    pub isr: Vec<BrokerId>,
}

/// A new partition (NewPartition -> OnlinePartition): the first live replica leads,
/// all live replicas are in sync, epoch 0. `None` while no replica is alive; Kafka
/// then leaves the partition without a state znode until one is.
pub fn initial(replicas: &[BrokerId], live: &BTreeSet<BrokerId>) -> Option<LeaderAndIsr> {
    let isr: Vec<BrokerId> = replicas
        .iter()
        .filter(|id| live.contains(id))
        .copied()
        .collect();
    let leader = *isr.first()?;
    Some(LeaderAndIsr {
        leader: Some(leader),
        leader_epoch: 0,
        isr,
    })
}

/// What the controller writes after brokers came or went, or `None` for no change.
///
/// - The leader is alive: dead followers leave the ISR (Kafka's removeReplicasFromIsr,
///   which never empties an ISR).
/// - The leader is dead or there is none: the first replica in assignment order that
///   is alive and in the ISR leads (OfflinePartitionLeaderElection, clean only); the
///   ISR keeps its live members. With no such replica, the partition goes leaderless
///   (-1) and the ISR keeps its last member, so the data's last holder can take over
///   when it returns.
///
/// Every change bumps the leader epoch by one, as `newLeaderAndIsr` does.
pub fn after_liveness_change(
    replicas: &[BrokerId],
    current: &LeaderAndIsr,
    live: &BTreeSet<BrokerId>,
) -> Option<LeaderAndIsr> {
    let leader_alive = current.leader.is_some_and(|leader| live.contains(&leader));
    let next = if leader_alive {
        let isr = shrink_isr(&current.isr, live);
        LeaderAndIsr {
            leader: current.leader,
            leader_epoch: current.leader_epoch,
            isr,
        }
    } else {
        let elected = replicas
            .iter()
            .find(|id| live.contains(id) && current.isr.contains(id))
            .copied();
        match elected {
            Some(leader) => LeaderAndIsr {
                leader: Some(leader),
                leader_epoch: current.leader_epoch,
                isr: current
                    .isr
                    .iter()
                    .filter(|id| live.contains(id))
                    .copied()
                    .collect(),
            },
            None => LeaderAndIsr {
                leader: None,
                leader_epoch: current.leader_epoch,
                isr: shrink_isr(&current.isr, live),
            },
        }
    };
    if next.leader == current.leader && next.isr == current.isr {
        return None;
    }
    Some(LeaderAndIsr {
        leader_epoch: current.leader_epoch + 1,
        ..next
    })
}

/// `after_liveness_change` with `unclean.leader.election.enable`: when no live ISR
/// member can lead, the first live replica in assignment order leads with an ISR of
/// itself (`PartitionLeaderElectionAlgorithms.offlinePartitionLeaderElection`). Data
/// only it lacks is lost; Kafka 3.2+ also marks the partition RECOVERING, which this
/// model does not carry.
pub fn after_liveness_change_unclean(
    replicas: &[BrokerId],
    current: &LeaderAndIsr,
    live: &BTreeSet<BrokerId>,
    unclean_enabled: bool,
) -> Option<LeaderAndIsr> {
    let clean = after_liveness_change(replicas, current, live);
    let leaderless = clean
        .as_ref()
        .map_or(current.leader.is_none(), |next| next.leader.is_none());
    if !unclean_enabled || !leaderless {
        return clean;
    }
    let Some(leader) = replicas.iter().find(|id| live.contains(id)).copied() else {
        return clean;
    };
    Some(LeaderAndIsr {
        leader: Some(leader),
        leader_epoch: current.leader_epoch + 1,
        isr: vec![leader],
    })
}

/// Preferred replica election: the first assigned replica leads if it is alive, in the
/// ISR and not already leading; the ISR is unchanged and the epoch bumped.
pub fn preferred_replica(
    replicas: &[BrokerId],
    current: &LeaderAndIsr,
    live: &BTreeSet<BrokerId>,
) -> Option<LeaderAndIsr> {
    let preferred = *replicas.first()?;
    if current.leader == Some(preferred)
        || !live.contains(&preferred)
        || !current.isr.contains(&preferred)
    {
        return None;
    }
    Some(LeaderAndIsr {
        leader: Some(preferred),
        leader_epoch: current.leader_epoch + 1,
        isr: current.isr.clone(),
    })
}

/// One partition as the leader-balance check reads it.
#[derive(Debug, Clone)]
pub struct Leadership<K> {
    pub key: K,
    /// Assigned replicas, preferred first.
    pub replicas: Vec<BrokerId>,
    /// `None` while the partition has no state znode yet.
    pub current: Option<LeaderAndIsr>,
}

/// `KafkaController.checkAndTriggerAutoLeaderRebalance`: for every preferred broker
/// (head of the assignment), the share of its partitions that someone else leads;
/// above `imbalance_percentage`, those of them whose preferred replica is online and
/// in the ISR are returned for a preferred election. Partitions without a state count
/// in the share's denominator only, as in Kafka.
pub fn imbalanced_partitions<K: Clone>(
    partitions: &[Leadership<K>],
    online: &BTreeSet<BrokerId>,
    imbalance_percentage: u32,
) -> Vec<K> {
    let mut by_preferred: std::collections::BTreeMap<BrokerId, Vec<&Leadership<K>>> =
        std::collections::BTreeMap::new();
    for partition in partitions {
        if let Some(preferred) = partition.replicas.first() {
            by_preferred.entry(*preferred).or_default().push(partition);
        }
    }
    let mut candidates = Vec::new();
    for (preferred, owned) in by_preferred {
        let misplaced: Vec<&&Leadership<K>> = owned
            .iter()
            .filter(|partition| {
                partition
                    .current
                    .as_ref()
                    .is_some_and(|current| current.leader != Some(preferred))
            })
            .collect();
        // ratio > percentage / 100, in integers: misplaced * 100 > percentage * total.
        if misplaced.len() as u64 * 100 <= u64::from(imbalance_percentage) * owned.len() as u64 {
            continue;
        }
        for partition in misplaced {
            let Some(current) = &partition.current else {
                continue;
            };
            if preferred_replica(&partition.replicas, current, online).is_some() {
                candidates.push(partition.key.clone());
            }
        }
    }
    candidates
}

/// ControlledShutdown of `shutting_down` brokers (`doControlledShutdown`): a partition
/// they lead moves to the first replica that is alive, in the ISR and not shutting
/// down, and they leave its ISR; a partition they follow loses them from its ISR
/// (never emptying it). `None` when nothing changes or no replica can take over (the
/// broker then keeps leading and reports the partition as remaining).
pub fn controlled_shutdown(
    replicas: &[BrokerId],
    current: &LeaderAndIsr,
    live: &BTreeSet<BrokerId>,
    shutting_down: &BTreeSet<BrokerId>,
) -> Option<LeaderAndIsr> {
    let leader_leaving = current
        .leader
        .is_some_and(|leader| shutting_down.contains(&leader));
    if leader_leaving {
        let leader = replicas
            .iter()
            .find(|id| live.contains(id) && current.isr.contains(id) && !shutting_down.contains(id))
            .copied()?;
        return Some(LeaderAndIsr {
            leader: Some(leader),
            leader_epoch: current.leader_epoch + 1,
            isr: current
                .isr
                .iter()
                .filter(|id| !shutting_down.contains(id))
                .copied()
                .collect(),
        });
    }
    let staying: BTreeSet<BrokerId> = live.difference(shutting_down).copied().collect();
    let isr = shrink_isr(&current.isr, &staying);
    (isr != current.isr).then(|| LeaderAndIsr {
        leader: current.leader,
        leader_epoch: current.leader_epoch + 1,
        isr,
    })
}

/// Removes dead members one at a time, never the last one (an ISR of one is kept).
fn shrink_isr(isr: &[BrokerId], live: &BTreeSet<BrokerId>) -> Vec<BrokerId> {
    let mut shrunk = isr.to_vec();
    for id in isr {
        if shrunk.len() > 1 && !live.contains(id) {
            shrunk.retain(|member| member != id);
        }
    }
    shrunk
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[i32]) -> Vec<BrokerId> {
        list.iter().map(|id| BrokerId(*id)).collect()
    }

    fn live(list: &[i32]) -> BTreeSet<BrokerId> {
        ids(list).into_iter().collect()
    }

    fn state(leader: i32, epoch: i32, isr: &[i32]) -> LeaderAndIsr {
        LeaderAndIsr {
            leader: (leader >= 0).then_some(BrokerId(leader)),
            leader_epoch: epoch,
            isr: ids(isr),
        }
    }

    #[test]
    fn new_partitions() {
        assert_eq!(
            initial(&ids(&[2, 1, 3]), &live(&[1, 3])),
            Some(state(1, 0, &[1, 3]))
        );
        assert_eq!(initial(&ids(&[2]), &live(&[1])), None);
    }

    #[test]
    fn single_broker_goes_and_returns() {
        let replicas = ids(&[1]);
        let online = state(1, 0, &[1]);
        // The broker dies: no leader, ISR keeps its last member, epoch + 1.
        let offline = after_liveness_change(&replicas, &online, &live(&[])).unwrap();
        assert_eq!(offline, state(-1, 1, &[1]));
        assert_eq!(after_liveness_change(&replicas, &offline, &live(&[])), None);
        // It returns: it leads again.
        let back = after_liveness_change(&replicas, &offline, &live(&[1])).unwrap();
        assert_eq!(back, state(1, 2, &[1]));
        assert_eq!(after_liveness_change(&replicas, &back, &live(&[1])), None);
    }

    #[test]
    fn leader_moves_to_a_live_in_sync_replica() {
        let replicas = ids(&[1, 2, 3]);
        let current = state(1, 4, &[1, 2, 3]);
        assert_eq!(
            after_liveness_change(&replicas, &current, &live(&[2, 3])),
            Some(state(2, 5, &[2, 3]))
        );
        // A live replica outside the ISR is not elected (no unclean election).
        let current = state(1, 4, &[1]);
        assert_eq!(
            after_liveness_change(&replicas, &current, &live(&[2, 3])),
            Some(state(-1, 5, &[1]))
        );
    }

    #[test]
    fn dead_followers_leave_the_isr() {
        let replicas = ids(&[1, 2, 3]);
        let current = state(1, 0, &[1, 2, 3]);
        assert_eq!(
            after_liveness_change(&replicas, &current, &live(&[1, 3])),
            Some(state(1, 1, &[1, 3]))
        );
        assert_eq!(
            after_liveness_change(&replicas, &current, &live(&[1, 2, 3])),
            None
        );
    }
    #[test]
    fn unclean_election_takes_the_first_live_replica() {
        let replicas = ids(&[1, 2, 3]);
        let current = state(1, 4, &[1]);
        assert_eq!(
            after_liveness_change_unclean(&replicas, &current, &live(&[2, 3]), false),
            Some(state(-1, 5, &[1]))
        );
        assert_eq!(
            after_liveness_change_unclean(&replicas, &current, &live(&[3, 2]), true),
            Some(state(2, 5, &[2]))
        );
        // A clean choice is still preferred when there is one.
        let current = state(1, 4, &[1, 3]);
        assert_eq!(
            after_liveness_change_unclean(&replicas, &current, &live(&[2, 3]), true),
            Some(state(3, 5, &[3]))
        );
        // Already leaderless, a replica returns: unclean picks it.
        let offline = state(-1, 5, &[1]);
        assert_eq!(
            after_liveness_change_unclean(&replicas, &offline, &live(&[3]), true),
            Some(state(3, 6, &[3]))
        );
    }

    #[test]
    fn rebalance_picks_brokers_above_the_imbalance_ratio() {
        let partition = |key: i32, replicas: &[i32], current: Option<LeaderAndIsr>| Leadership {
            key,
            replicas: ids(replicas),
            current,
        };
        let partitions = vec![
            // Broker 1 prefers 0..=2 and leads none of them (ratio 1.0).
            partition(0, &[1, 2, 3], Some(state(2, 3, &[1, 2, 3]))),
            partition(1, &[1, 3, 2], Some(state(3, 3, &[3, 2, 1]))),
            // Not electable: 1 is out of the ISR.
            partition(2, &[1, 2, 3], Some(state(2, 3, &[2, 3]))),
            // Broker 2 prefers 3..=12 and misses one of ten (ratio 0.1: not above 10%).
            partition(3, &[2, 1, 3], Some(state(1, 0, &[1, 2, 3]))),
        ]
        .into_iter()
        .chain((4..=12).map(|key| partition(key, &[2, 1, 3], Some(state(2, 0, &[2, 1, 3])))))
        .chain(std::iter::once(partition(13, &[3, 1, 2], None)))
        .collect::<Vec<_>>();
        assert_eq!(
            imbalanced_partitions(&partitions, &live(&[1, 2, 3]), 10),
            vec![0, 1]
        );
        // A lower threshold takes broker 2's misplaced partition too.
        assert_eq!(
            imbalanced_partitions(&partitions, &live(&[1, 2, 3]), 5),
            vec![0, 1, 3]
        );
        // A preferred broker that is offline is not elected.
        assert!(imbalanced_partitions(&partitions, &live(&[2, 3]), 10).is_empty());
    }

    #[test]
    fn preferred_and_controlled_shutdown() {
        let replicas = ids(&[1, 2, 3]);
        let current = state(2, 7, &[1, 2, 3]);
        assert_eq!(
            preferred_replica(&replicas, &current, &live(&[1, 2, 3])),
            Some(state(1, 8, &[1, 2, 3]))
        );
        assert_eq!(
            preferred_replica(&replicas, &state(2, 7, &[2, 3]), &live(&[1, 2, 3])),
            None
        );
        assert_eq!(
            preferred_replica(&replicas, &state(1, 7, &[1, 2]), &live(&[1, 2])),
            None
        );
        let shutting = live(&[2]);
        assert_eq!(
            controlled_shutdown(&replicas, &current, &live(&[1, 2, 3]), &shutting),
            Some(state(1, 8, &[1, 3]))
        );
        // A follower shutting down leaves the ISR.
        assert_eq!(
            controlled_shutdown(
                &replicas,
                &state(1, 7, &[1, 2]),
                &live(&[1, 2, 3]),
                &shutting
            ),
            Some(state(1, 8, &[1]))
        );
        // Nobody else in sync: the leader stays and the partition remains.
        assert_eq!(
            controlled_shutdown(&replicas, &state(2, 7, &[2]), &live(&[1, 2, 3]), &shutting),
            None
        );
    }
}
