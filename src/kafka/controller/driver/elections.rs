//! The controller's leader elections other than failover, on the driver task:
//! preferred elections (asked for by `/admin/preferred_replica_election`, by
//! ElectLeaders, and by the periodic leader balance of `auto.leader.rebalance.enable`)
//! and unclean ones (ElectLeaders UNCLEAN; `unclean.leader.election.enable` for
//! offline partitions, which `maintain_topic` reads through `unclean_enabled`).
//!
//! As Kafka's `processReplicaLeaderElection` / `onReplicaElection`: each partition is
//! decided by `election` (pure), written behind the `/controller_epoch` check with
//! its state znode's version, and the brokers hear of it through the next plan.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;
use zookeeper_client as zk;

use super::{state_znode, Driver, Op, WatchKey, CONFLICT_ROUNDS_MAX};
use crate::kafka::controller::election::{self, LeaderAndIsr, Leadership};
use crate::kafka::controller::rpcs::errors;
use crate::kafka::controller::zk_layout::{self as layout, PartitionStateZnode};
use crate::kafka::controller::ControllerError;
use crate::kafka::metadata::{
    not_controller_elections, BrokerId, ElectionOutcome, ElectionType, PartitionName,
};
use crate::kafka::protocol::inter_broker::leader_and_isr::LEADER_RECOVERY_STATE_RECOVERING;

/// Kafka schedules the first leader balance check 5 s after a controller takes office.
const AUTO_REBALANCE_FIRST_DELAY_MS: u64 = 5_000;

impl Driver {
    /// Reads `/admin/preferred_replica_election` (watching it). Every broker reads it;
    /// only the controller acts on it (`run_elections`).
    pub(super) async fn reload_preferred_election(&mut self) -> Result<(), ControllerError> {
        let path = layout::PREFERRED_REPLICA_ELECTION_PATH;
        let found = self
            .get_watched(WatchKey::PreferredReplicaElection, path)
            .await?;
        self.preferred_requested = match found {
            None => None,
            Some((data, _)) => match layout::decode_preferred_replica_election(&data) {
                Ok(partitions) => Some(partitions),
                Err(error) => {
                    // Kafka would fail on it and leave it, which blocks every later
                    // request of the tools; keel drops it instead.
                    tracing::warn!(%error, path, "removing an unreadable preferred replica election request");
                    Some(BTreeSet::new())
                }
            },
        };
        Ok(())
    }

    /// The elections due after the latest events, while controller: the znode's
    /// (then deleted, as `removePartitionsFromPreferredReplicaElection` does), and
    /// the leader balance check when its time has come.
    pub(super) async fn run_elections(&mut self) {
        if self.role.is_none() {
            self.rebalance_due = None;
            return;
        }
        if let Some(requested) = self.preferred_requested.take() {
            let partitions: Vec<PartitionName> = requested.into_iter().collect();
            tracing::info!(
                count = partitions.len(),
                "preferred replica election requested through ZooKeeper"
            );
            let outcomes = self
                .elect_partition_leaders(ElectionType::Preferred, partitions)
                .await;
            log_outcomes("ZooKeeper request", &outcomes);
            if self.role.is_none() {
                return;
            }
            let path = layout::PREFERRED_REPLICA_ELECTION_PATH.to_string();
            match self
                .controller_write(
                    "delete preferred replica election",
                    &path,
                    &[(Op::Delete, path.clone(), Vec::new())],
                )
                .await
            {
                Ok(_) | Err(zk::Error::NoNode) => {}
                Err(error) => {
                    tracing::warn!(%error, "removing /admin/preferred_replica_election failed")
                }
            }
        }
        if !self.shared.settings.auto_leader_rebalance_enable {
            return;
        }
        let now = Instant::now();
        match self.rebalance_due {
            None => {
                self.rebalance_due =
                    Some(now + Duration::from_millis(AUTO_REBALANCE_FIRST_DELAY_MS));
            }
            Some(due) if due <= now => {
                self.rebalance_due = Some(
                    now + Duration::from_millis(
                        self.shared.settings.leader_imbalance_check_interval_ms,
                    ),
                );
                self.check_leader_balance().await;
            }
            Some(_) => {}
        }
    }

    /// `checkAndTriggerAutoLeaderRebalance` (`election::imbalanced_partitions`).
    async fn check_leader_balance(&mut self) {
        let mut partitions = Vec::new();
        for (name, topic) in &self.cache.topics {
            if self.cache.deletions.contains(name) {
                continue;
            }
            for (partition, replicas) in &topic.znode.partitions {
                partitions.push(Leadership {
                    key: (name.clone(), *partition),
                    replicas: replicas.clone(),
                    current: topic
                        .states
                        .get(partition)
                        .map(|(znode, _)| current_of(znode)),
                });
            }
        }
        let candidates = election::imbalanced_partitions(
            &partitions,
            &self.online_brokers(),
            self.shared.settings.leader_imbalance_per_broker_percentage,
        );
        if candidates.is_empty() {
            return;
        }
        tracing::info!(
            count = candidates.len(),
            "leader imbalance above leader.imbalance.per.broker.percentage; running preferred replica elections"
        );
        let outcomes = self
            .elect_partition_leaders(ElectionType::Preferred, candidates)
            .await;
        log_outcomes("automatic leader balance", &outcomes);
    }

    /// Live brokers not shutting down (`isReplicaOnline`); reassignment uses it too.
    pub(super) fn online_brokers(&self) -> BTreeSet<BrokerId> {
        self.cache
            .live
            .keys()
            .filter(|id| !self.shutting_down.contains(id))
            .copied()
            .collect()
    }

    /// `unclean.leader.election.enable` for a topic: its override, else this broker's
    /// dynamic config, else the cluster default, else the file (Kafka reads the
    /// controller's own config under the topic's).
    pub(super) fn unclean_enabled(&self, topic: &str) -> bool {
        const KEY: &str = "unclean.leader.election.enable";
        let parse = |value: &String| value.trim().eq_ignore_ascii_case("true");
        self.cache
            .topics
            .get(topic)
            .and_then(|cached| cached.configs.get(KEY))
            .or_else(|| {
                self.cache
                    .broker_configs
                    .get(&Some(self.me()))
                    .and_then(|configs| configs.get(KEY))
            })
            .or_else(|| {
                self.cache
                    .broker_configs
                    .get(&None)
                    .and_then(|configs| configs.get(KEY))
            })
            .map_or(self.shared.settings.unclean_leader_election_enable, parse)
    }

    /// One election per partition, in order; NOT_CONTROLLER for all unless this
    /// broker is the controller.
    pub(super) async fn elect_partition_leaders(
        &mut self,
        election_type: ElectionType,
        partitions: Vec<PartitionName>,
    ) -> Vec<ElectionOutcome> {
        if self.role.is_none() {
            return not_controller_elections(partitions);
        }
        let mut outcomes = Vec::with_capacity(partitions.len());
        for (name, partition) in partitions {
            let outcome = self.elect_one(election_type, &name, partition).await;
            outcomes.push(((name, partition), outcome));
        }
        outcomes
    }

    /// `processReplicaLeaderElection` for one partition: unknown, being deleted,
    /// already led as asked (ELECTION_NOT_NEEDED), no eligible replica, or written.
    /// A concurrent change of the state znode is read again and decided again.
    async fn elect_one(
        &mut self,
        election_type: ElectionType,
        name: &str,
        partition: i32,
    ) -> Result<BrokerId, (i16, Option<String>)> {
        let unknown = || {
            Err((
                errors::UNKNOWN_TOPIC_OR_PARTITION,
                Some("The partition does not exist.".to_string()),
            ))
        };
        for _ in 0..CONFLICT_ROUNDS_MAX {
            let Some(role) = self.role else {
                return Err((errors::NOT_CONTROLLER, None));
            };
            let Some(topic) = self.cache.topics.get(name) else {
                return unknown();
            };
            let (Some(replicas), Some((znode, version))) = (
                topic.znode.partitions.get(&partition),
                topic.states.get(&partition),
            ) else {
                return unknown();
            };
            if self.cache.deletions.contains(name) && self.shared.settings.delete_topic_enable {
                return Err((
                    errors::INVALID_TOPIC_EXCEPTION,
                    Some("The topic is being deleted".to_string()),
                ));
            }
            let (replicas, version) = (replicas.clone(), *version);
            let current = current_of(znode);
            let online = self.online_brokers();
            let (next, strategy, unavailable) = match election_type {
                ElectionType::Preferred => {
                    if current.leader == replicas.first().copied() {
                        return Err((errors::ELECTION_NOT_NEEDED, None));
                    }
                    (
                        election::preferred_replica(&replicas, &current, &online),
                        "PreferredReplicaPartitionLeaderElectionStrategy",
                        errors::PREFERRED_LEADER_NOT_AVAILABLE,
                    )
                }
                ElectionType::Unclean => {
                    if current
                        .leader
                        .is_some_and(|leader| self.cache.live.contains_key(&leader))
                    {
                        return Err((errors::ELECTION_NOT_NEEDED, None));
                    }
                    (
                        election::after_liveness_change_unclean(&replicas, &current, &online, true)
                            .filter(|next| next.leader.is_some()),
                        "OfflinePartitionLeaderElectionStrategy(true)",
                        errors::ELIGIBLE_LEADERS_NOT_AVAILABLE,
                    )
                }
            };
            let Some(next) = next else {
                return Err((
                    unavailable,
                    Some(format!(
                        "Failed to elect leader for partition {name}-{partition} under strategy {strategy}"
                    )),
                ));
            };
            let leader = next.leader.expect("elections above always name a leader");
            match self
                .write_partition_state(
                    "replica leader election",
                    name,
                    partition,
                    &current,
                    &next,
                    version,
                    role.epoch,
                )
                .await
            {
                Ok(()) => return Ok(leader),
                Err(zk::Error::BadVersion) => {
                    if let Err(error) = self.reload_partition_state(name, partition).await {
                        tracing::warn!(%error, topic = name, partition, "re-reading a partition state failed");
                        self.dirty = true;
                        return Err((errors::UNKNOWN_SERVER_ERROR, Some(error.to_string())));
                    }
                }
                Err(zk::Error::NoNode) => return unknown(),
                Err(zk::Error::RuntimeInconsistent) => return Err((errors::NOT_CONTROLLER, None)),
                Err(error) => {
                    return Err((errors::UNKNOWN_SERVER_ERROR, Some(error.to_string())));
                }
            }
        }
        Err((
            errors::UNKNOWN_SERVER_ERROR,
            Some(format!(
                "the state of {name}-{partition} kept changing during the election"
            )),
        ))
    }

    /// Writes the state znode for `next` (RECOVERING when its leader was not in the
    /// ISR: an unclean election, KIP-704) behind the controller epoch check and the
    /// znode's `version`, and caches it.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn write_partition_state(
        &mut self,
        what: &'static str,
        name: &str,
        partition: i32,
        current: &LeaderAndIsr,
        next: &LeaderAndIsr,
        version: i32,
        controller_epoch: i32,
    ) -> Result<(), zk::Error> {
        let znode = election_znode(current, next, controller_epoch);
        let path = layout::partition_state_path(name, partition);
        let version_new = self
            .controller_set(what, &path, znode.encode(), version)
            .await?;
        tracing::info!(topic = name, partition, leader = ?next.leader, leader_epoch = next.leader_epoch, isr = ?next.isr, recovering = znode.leader_recovery_state.is_some(), "{what}: partition state written");
        self.cache_state(name, partition, znode, version_new);
        Ok(())
    }
}

/// The state znode for an election from `current` to `next`: RECOVERING (KIP-704,
/// IBP >= 3.2) when the new leader was not in the ISR, as Kafka's `leaderForOffline`.
pub(super) fn election_znode(
    current: &LeaderAndIsr,
    next: &LeaderAndIsr,
    controller_epoch: i32,
) -> PartitionStateZnode {
    let mut znode = state_znode(next, controller_epoch);
    if next
        .leader
        .is_some_and(|leader| !current.isr.contains(&leader))
    {
        znode.leader_recovery_state = Some(i32::from(LEADER_RECOVERY_STATE_RECOVERING));
    }
    znode
}

/// Leader, epoch and ISR of a state znode.
pub(super) fn current_of(znode: &PartitionStateZnode) -> LeaderAndIsr {
    LeaderAndIsr {
        leader: (znode.leader >= 0).then_some(BrokerId(znode.leader)),
        leader_epoch: znode.leader_epoch,
        isr: znode.isr.clone(),
    }
}

/// One line per partition that failed for a reason other than "already done".
fn log_outcomes(trigger: &str, outcomes: &[ElectionOutcome]) {
    for ((topic, partition), outcome) in outcomes {
        match outcome {
            Ok(leader) => {
                tracing::info!(trigger, topic, partition, leader = %leader, "replica leader election done")
            }
            Err((errors::ELECTION_NOT_NEEDED, _)) => {}
            Err((code, message)) => {
                tracing::warn!(
                    trigger,
                    topic,
                    partition,
                    error = code,
                    message = message.as_deref().unwrap_or(""),
                    "replica leader election failed"
                )
            }
        }
    }
}
