//! The controller's side of partition reassignment (KIP-455), on the driver task:
//! the legacy `/admin/reassign_partitions` znode, AlterPartitionReassignments and
//! ListPartitionReassignments, and the two phases of `onPartitionReassignment`
//! (decided by the pure `reassignment` module; told to the brokers by
//! `channel::plan`, which sees the new replicas, AddingReplicas/RemovingReplicas
//! and the replicas that left).
//!
//! When it runs, as Apache's `KafkaController` runs it:
//! - on winning the election, `initializePartitionReassignments`: the znode's
//!   reassignments start (each replacing any in flight), then the reassignments
//!   the topic znodes still record (adding/removing maps) resume;
//! - when `/admin/reassign_partitions` is created (an existence watch, as Apache's
//!   `PartitionReassignmentHandler` reacts to creation only);
//! - on an AlterPartitionReassignments request;
//! - after every batch of events, command or tick (`reconcile`): a reassignment whose
//!   target replicas are all in the ISR completes (Apache checks after AlterPartition
//!   and ISR-change notifications; keel's reconcile follows both), and one whose
//!   target includes a broker that just registered is resumed (`onBrokerStartup`).

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::StrBytes;
use zookeeper_client as zk;

use super::super::election::LeaderAndIsr;
use super::super::reassignment::{self, errors as reassign_errors, Assignment, Step};
use super::super::rpcs::errors;
use super::super::session::{self, zk_error};
use super::super::zk_layout as layout;
use super::{
    state_znode, AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse,
    ControllerError, Driver, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
    Op, WatchKey,
};
use crate::kafka::metadata::BrokerId;

/// Apache's `Errors` default messages for the codes answered without one of their own.
const NOT_CONTROLLER_MESSAGE: &str = "This is not the correct controller for this cluster.";
const NO_REASSIGNMENT_MESSAGE: &str = "No partition reassignment is in progress.";
const UNKNOWN_PARTITION_MESSAGE: &str = "The partition does not exist.";
const UNKNOWN_SERVER_ERROR_MESSAGE: &str =
    "The server experienced an unexpected error when processing the request.";

/// The most partitions one AlterPartitionReassignments / ListPartitionReassignments
/// request is answered for (a request's partitions are also bounded by its bytes).
const REQUEST_PARTITIONS_MAX: usize = 100_000;

/// What reassignment remembers between runs of the driver loop.
#[derive(Debug, Default)]
pub(super) struct Progress {
    /// The controller epoch whose failover work (the znode, resumed reassignments)
    /// is done; `None` while not the controller.
    initialized_epoch: Option<i32>,
    /// Live brokers at the last run: a broker new since then resumes the
    /// reassignments that target it.
    live_seen: BTreeSet<BrokerId>,
    /// Partitions whose last step failed on a ZooKeeper error (it may have written
    /// the topic znode but not bumped the leader epoch): stepped again on the next run.
    retry: BTreeSet<TopicPartition>,
}

/// Why one partition's reassignment could not be started or moved on.
#[derive(Debug)]
enum Failure {
    /// Kafka's error code for the partition, with Apache's message.
    Partition(i16, &'static str),
    /// This broker lost `/controller` meanwhile.
    NotController,
}

type TopicPartition = (String, i32);

impl Driver {
    /// The partition's assignment as its topic znode records it.
    fn assignment_of(&self, topic: &str, partition: i32) -> Option<Assignment> {
        let znode = &self.cache.topics.get(topic)?.znode;
        Some(Assignment {
            replicas: znode.partitions.get(&partition)?.clone(),
            adding: znode
                .adding_replicas
                .get(&partition)
                .cloned()
                .unwrap_or_default(),
            removing: znode
                .removing_replicas
                .get(&partition)
                .cloned()
                .unwrap_or_default(),
        })
    }

    /// Partitions whose topic znode records a reassignment in flight
    /// (`partitionsBeingReassigned`), with their assignments.
    fn reassigning(&self) -> Vec<(TopicPartition, Assignment)> {
        let mut out = Vec::new();
        for name in self.cache.topics.keys() {
            let topic = &self.cache.topics[name];
            let partitions = topic
                .znode
                .adding_replicas
                .keys()
                .chain(topic.znode.removing_replicas.keys())
                .copied()
                .collect::<BTreeSet<i32>>();
            for partition in partitions {
                if let Some(assignment) = self.assignment_of(name, partition) {
                    if assignment.is_being_reassigned() {
                        out.push(((name.clone(), partition), assignment));
                    }
                }
            }
        }
        out
    }

    /// Run from `reconcile`: failover work once per controller epoch, then resumes
    /// for new brokers and completions.
    pub(super) async fn reassignment_duties(&mut self) {
        let Some(role) = self.role else {
            self.reassign = Progress::default();
            return;
        };
        let live: BTreeSet<BrokerId> = self.cache.live.keys().copied().collect();
        if self.reassign.initialized_epoch != Some(role.epoch) {
            self.reassign.initialized_epoch = Some(role.epoch);
            self.reassign.live_seen = live;
            // initializePartitionReassignments: the znode first (it supplants API
            // reassignments in flight), then whatever the topic znodes record.
            let from_znode = self.process_reassign_partitions_znode().await;
            for ((topic, partition), assignment) in self.reassigning() {
                if self.role.is_none() {
                    return;
                }
                if from_znode.contains(&(topic.clone(), partition)) {
                    continue;
                }
                tracing::info!(topic, partition, replicas = ?assignment.replicas, adding = ?assignment.adding, removing = ?assignment.removing, "resuming partition reassignment");
                self.move_partition(&topic, partition, assignment).await;
            }
            return;
        }
        let started: BTreeSet<BrokerId> =
            live.difference(&self.reassign.live_seen).copied().collect();
        self.reassign.live_seen = live;
        // Failures of this run queue themselves again for the next one.
        let retry = std::mem::take(&mut self.reassign.retry);
        for ((topic, partition), assignment) in self.reassigning() {
            if self.role.is_none() {
                return;
            }
            let isr = self
                .cache
                .topics
                .get(&topic)
                .and_then(|cached| cached.states.get(&partition))
                .map(|(znode, _)| znode.isr.clone());
            let complete = reassignment::is_complete(&assignment, isr.as_deref());
            let resumed = assignment.target().iter().any(|id| started.contains(id));
            let retried = retry.contains(&(topic.clone(), partition));
            if complete {
                tracing::info!(topic, partition, target = ?assignment.target(), "target replicas have all caught up with the leader of a reassigning partition");
            }
            if complete || resumed || retried {
                self.move_partition(&topic, partition, assignment).await;
            }
        }
    }

    /// `onPartitionReassignment` with its errors logged (the event paths).
    async fn move_partition(&mut self, topic: &str, partition: i32, next: Assignment) {
        if let Err(failure) = self.on_partition_reassignment(topic, partition, next).await {
            tracing::warn!(
                topic,
                partition,
                ?failure,
                "partition reassignment step failed; retrying on a later event"
            );
        }
    }

    /// `onPartitionReassignment`: U1 (the new RS/AR/RR in the topic znode), then one
    /// state znode write (U3's and phase B's ISR removals, the leader step and the
    /// epoch bumps together), then, once complete, B6 (RS = TRS) and B7 (out of
    /// `/admin/reassign_partitions`). The brokers hear of it from the next plan.
    async fn on_partition_reassignment(
        &mut self,
        topic: &str,
        partition: i32,
        next: Assignment,
    ) -> Result<(), Failure> {
        let result = self.step_partition(topic, partition, next).await;
        if let Err(Failure::Partition(errors::UNKNOWN_SERVER_ERROR, _)) = result {
            self.reassign.retry.insert((topic.to_string(), partition));
        }
        result
    }

    async fn step_partition(
        &mut self,
        topic: &str,
        partition: i32,
        next: Assignment,
    ) -> Result<(), Failure> {
        let Some(current) = self.assignment_of(topic, partition) else {
            return Err(Failure::Partition(
                errors::UNKNOWN_TOPIC_OR_PARTITION,
                UNKNOWN_PARTITION_MESSAGE,
            ));
        };
        let cached_state = self
            .cache
            .topics
            .get(topic)
            .and_then(|cached| cached.states.get(&partition))
            .cloned();
        let state = cached_state.as_ref().map(|(znode, _)| LeaderAndIsr {
            leader: (znode.leader >= 0).then_some(BrokerId(znode.leader)),
            leader_epoch: znode.leader_epoch,
            isr: znode.isr.clone(),
        });
        let online = self.online_brokers();
        let step = reassignment::step(&current, &next, state.as_ref(), &online);
        if current != next {
            self.write_assignment(topic, partition, &next).await?;
            tracing::info!(topic, partition, replicas = ?next.replicas, adding = ?next.adding, removing = ?next.removing, "updated assignment of a reassigning partition");
        }
        let (new_state, settled) = match &step {
            Step::Start { state, .. } => (state.clone(), None),
            Step::Complete {
                assignment, state, ..
            } => (state.clone(), Some(assignment.clone())),
        };
        if let (Some(new_state), Some((_, version))) = (new_state, cached_state) {
            if Some(&new_state) != state.as_ref() {
                self.write_reassignment_state(topic, partition, &new_state, version)
                    .await?;
            }
        }
        let Some(settled) = settled else {
            return Ok(());
        };
        if settled != next {
            self.write_assignment(topic, partition, &settled).await?;
        }
        tracing::info!(topic, partition, replicas = ?settled.replicas, "partition reassignment completed");
        // B7: the znode entry goes only if it asked for exactly this assignment.
        let done = (topic.to_string(), partition);
        let target = settled.replicas.clone();
        self.remove_from_reassign_partitions_znode(|tp, replicas| {
            *tp == done && *replicas == target
        })
        .await;
        Ok(())
    }

    /// The topic znode with `assignment` for `partition` (Apache's
    /// `setTopicAssignmentRaw`), behind the controller epoch check and the znode's
    /// version (Apache writes any version; keel checks it so that partitions a
    /// concurrent CreatePartitions added are never written away, and on a conflict
    /// reads the topic again and retries once); the cache follows at once.
    async fn write_assignment(
        &mut self,
        topic: &str,
        partition: i32,
        assignment: &Assignment,
    ) -> Result<(), Failure> {
        match self
            .write_assignment_once(topic, partition, assignment)
            .await
        {
            Err(zk::Error::BadVersion) => {
                if let Err(error) = self.reload_topic(topic).await {
                    tracing::warn!(%error, topic, "re-reading a topic after a conflicting write failed");
                }
                self.write_assignment_once(topic, partition, assignment)
                    .await
                    .map_err(|error| self.write_failure(topic, partition, error))
            }
            other => other.map_err(|error| self.write_failure(topic, partition, error)),
        }
    }

    async fn write_assignment_once(
        &mut self,
        topic: &str,
        partition: i32,
        assignment: &Assignment,
    ) -> Result<(), zk::Error> {
        let Some(cached) = self.cache.topics.get(topic) else {
            return Err(zk::Error::NoNode);
        };
        let mut znode = cached.znode.clone();
        let version = cached.zk_version;
        znode
            .partitions
            .insert(partition, assignment.replicas.clone());
        for (map, replicas) in [
            (&mut znode.adding_replicas, &assignment.adding),
            (&mut znode.removing_replicas, &assignment.removing),
        ] {
            if replicas.is_empty() {
                map.remove(&partition);
            } else {
                map.insert(partition, replicas.clone());
            }
        }
        let path = layout::topic_path(topic);
        match self
            .controller_set(
                "update assignment for reassignment",
                &path,
                znode.encode(),
                version,
            )
            .await
        {
            Ok(version_new) => {
                if let Some(cached) = self.cache.topics.get_mut(topic) {
                    cached.znode = znode;
                    cached.zk_version = version_new;
                }
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    async fn write_reassignment_state(
        &mut self,
        topic: &str,
        partition: i32,
        state: &LeaderAndIsr,
        version: i32,
    ) -> Result<(), Failure> {
        let Some(role) = self.role else {
            return Err(Failure::NotController);
        };
        let znode = state_znode(state, role.epoch);
        let path = layout::partition_state_path(topic, partition);
        match self
            .controller_set(
                "reassignment leader and ISR",
                &path,
                znode.encode(),
                version,
            )
            .await
        {
            Ok(version_new) => {
                tracing::info!(topic, partition, leader = ?state.leader, leader_epoch = state.leader_epoch, isr = ?state.isr, "partition state changed for a reassignment");
                self.cache_state(topic, partition, znode, version_new);
                Ok(())
            }
            Err(error) => Err(self.write_failure(topic, partition, error)),
        }
    }

    fn write_failure(&self, topic: &str, partition: i32, error: zk::Error) -> Failure {
        match error {
            zk::Error::RuntimeInconsistent => Failure::NotController,
            zk::Error::NoNode => Failure::Partition(
                errors::UNKNOWN_TOPIC_OR_PARTITION,
                UNKNOWN_PARTITION_MESSAGE,
            ),
            error => {
                tracing::warn!(%error, topic, partition, "reassignment write failed");
                Failure::Partition(errors::UNKNOWN_SERVER_ERROR, UNKNOWN_SERVER_ERROR_MESSAGE)
            }
        }
    }

    // -----------------------------------------------------------------------------
    // `/admin/reassign_partitions`

    /// The existence watch fired. Apache acts on creation only (its own rewrites of
    /// the znode are data changes); any other event just re-arms the watch.
    pub(super) async fn on_reassign_partitions_event(
        &mut self,
        event: zk::EventType,
    ) -> Result<(), ControllerError> {
        if self.role.is_none() {
            return Ok(());
        }
        if event == zk::EventType::NodeCreated {
            self.process_reassign_partitions_znode().await;
        } else {
            self.watch_reassign_partitions().await?;
        }
        Ok(())
    }

    /// Sets the existence watch; returns whether the znode exists.
    async fn watch_reassign_partitions(&mut self) -> Result<bool, ControllerError> {
        let path = reassignment::ZNODE_PATH;
        let client = self.client.clone();
        if self.armed.contains(&WatchKey::ReassignPartitions) {
            return Ok(session::get(&client, path).await?.is_some());
        }
        match session::retry("exists", path, || client.check_and_watch_stat(path)).await {
            Ok((stat, watcher)) => {
                self.arm(WatchKey::ReassignPartitions, watcher);
                Ok(stat.is_some())
            }
            Err(source) => Err(zk_error("exists", path, source)),
        }
    }

    /// `processZkPartitionReassignment`: every entry starts (replacing whatever is
    /// in flight for its partition); entries for unknown partitions or topics being
    /// deleted are dropped from the znode. Returns the partitions started.
    async fn process_reassign_partitions_znode(&mut self) -> BTreeSet<TopicPartition> {
        let mut started = BTreeSet::new();
        match self.watch_reassign_partitions().await {
            Ok(true) => {}
            Ok(false) => return started,
            Err(error) => {
                tracing::warn!(%error, "reading /admin/reassign_partitions failed; full reload on the next tick");
                self.dirty = true;
                return started;
            }
        }
        let entries = match self.read_reassign_partitions().await {
            Ok(Some(entries)) => entries,
            Ok(None) => return started,
            Err(error) => {
                tracing::warn!(%error, "reading /admin/reassign_partitions failed");
                return started;
            }
        };
        let mut failed: BTreeSet<TopicPartition> = BTreeSet::new();
        for ((topic, partition), target) in entries {
            if self.role.is_none() {
                return started;
            }
            let current = (!self.cache.deletions.contains(&topic))
                .then(|| self.assignment_of(&topic, partition))
                .flatten();
            let Some(current) = current else {
                tracing::warn!(
                    topic,
                    partition,
                    "skipping reassignment of an unknown partition or of a topic being deleted"
                );
                failed.insert((topic, partition));
                continue;
            };
            let next = current.reassign_to(&target);
            tracing::info!(topic, partition, target = ?target, "starting partition reassignment from /admin/reassign_partitions");
            match self
                .on_partition_reassignment(&topic, partition, next)
                .await
            {
                Ok(()) => {
                    started.insert((topic, partition));
                }
                Err(Failure::NotController) => return started,
                Err(failure) => {
                    tracing::warn!(
                        topic,
                        partition,
                        ?failure,
                        "reassignment through ZooKeeper failed"
                    );
                    failed.insert((topic, partition));
                }
            }
        }
        if !failed.is_empty() {
            self.remove_from_reassign_partitions_znode(|tp, _| failed.contains(tp))
                .await;
        }
        started
    }

    /// The znode's entries; `Ok(None)` when it is missing. Bytes Apache cannot read
    /// either count as no entries (its `getPartitionReassignment` logs and returns
    /// an empty map).
    async fn read_reassign_partitions(
        &self,
    ) -> Result<Option<reassignment::ZnodeReassignments>, ControllerError> {
        let Some((data, _)) = session::get(&self.client, reassignment::ZNODE_PATH).await? else {
            return Ok(None);
        };
        Ok(Some(reassignment::decode_znode(&data).unwrap_or_else(
            || {
                tracing::warn!("ignoring an unreadable /admin/reassign_partitions");
                BTreeMap::new()
            },
        )))
    }

    /// `maybeRemoveFromZkReassignment`: rewrite the znode without the entries
    /// `remove` picks, or delete it once empty (and watch for the next one).
    async fn remove_from_reassign_partitions_znode(
        &mut self,
        remove: impl Fn(&TopicPartition, &Vec<BrokerId>) -> bool,
    ) {
        let entries = match self.read_reassign_partitions().await {
            Ok(Some(entries)) => entries,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "reading /admin/reassign_partitions failed");
                return;
            }
        };
        let (removing, remaining): (BTreeMap<_, _>, BTreeMap<_, _>) = entries
            .into_iter()
            .partition(|(tp, replicas)| remove(tp, replicas));
        if removing.is_empty() && !remaining.is_empty() {
            return;
        }
        let path = reassignment::ZNODE_PATH.to_string();
        tracing::info!(partitions = ?removing.keys().collect::<Vec<_>>(), "removing partitions from the list of reassigned partitions in ZooKeeper");
        let result = if remaining.is_empty() {
            tracing::info!("no more partitions need to be reassigned; deleting {path}");
            self.controller_write(
                "delete reassign_partitions",
                &path,
                &[(Op::Delete, path.clone(), Vec::new())],
            )
            .await
        } else {
            self.controller_write(
                "update reassign_partitions",
                &path,
                &[(
                    Op::Set(-1),
                    path.clone(),
                    reassignment::encode_znode(&remaining),
                )],
            )
            .await
        };
        match result {
            Ok(_) | Err(zk::Error::NoNode) => {}
            Err(error) => tracing::warn!(%error, "updating /admin/reassign_partitions failed"),
        }
        if remaining.is_empty() {
            // Ensure a later znode is seen: the existence watch again.
            if let Err(error) = self.watch_reassign_partitions().await {
                tracing::warn!(%error, "watching /admin/reassign_partitions failed");
                self.dirty = true;
            }
        }
    }

    // -----------------------------------------------------------------------------
    // The APIs

    /// `processApiPartitionReassignment`: NOT_CONTROLLER off the controller; per
    /// partition `validateReplicas` (targets only), `maybeBuildReassignment`
    /// (a cancellation of nothing is NO_REASSIGNMENT_IN_PROGRESS), the znode's
    /// entries for these partitions dropped (the newest request wins), then each
    /// reassignment started.
    pub(super) async fn alter_partition_reassignments(
        &mut self,
        request: AlterPartitionReassignmentsRequest,
    ) -> AlterPartitionReassignmentsResponse {
        let top_level = |error_code: i16, message: &str| {
            AlterPartitionReassignmentsResponse::default()
                .with_error_code(error_code)
                .with_error_message(Some(StrBytes::from_string(message.to_string())))
        };
        if self.role.is_none() {
            return top_level(errors::NOT_CONTROLLER, NOT_CONTROLLER_MESSAGE);
        }
        // `liveBrokerIds`: brokers shutting down do not count as alive.
        let live = self.online_brokers();
        let mut results: BTreeMap<TopicPartition, (i16, Option<String>)> = BTreeMap::new();
        let mut to_start: BTreeMap<TopicPartition, Assignment> = BTreeMap::new();
        let requested = request
            .topics
            .iter()
            .flat_map(|topic| {
                topic.partitions.iter().map(move |partition| {
                    let target: Option<Vec<BrokerId>> = partition
                        .replicas
                        .as_ref()
                        .map(|ids| ids.iter().map(|id| BrokerId(id.0)).collect());
                    ((topic.name.to_string(), partition.partition_index), target)
                })
            })
            .take(REQUEST_PARTITIONS_MAX);
        for (tp, target) in requested {
            let current = self.assignment_of(&tp.0, tp.1).unwrap_or_default();
            if let Some(target) = &target {
                if let Err(refusal) = reassignment::validate_target(&current, target, &live) {
                    results.insert(tp, (refusal.error_code, refusal.message));
                    continue;
                }
            }
            match reassignment::build(&current, target.as_deref()) {
                Some(next) => {
                    to_start.insert(tp, next);
                }
                None => {
                    results.insert(
                        tp,
                        (
                            reassign_errors::NO_REASSIGNMENT_IN_PROGRESS,
                            Some(NO_REASSIGNMENT_MESSAGE.to_string()),
                        ),
                    );
                }
            }
        }
        self.remove_from_reassign_partitions_znode(|tp, _| to_start.contains_key(tp))
            .await;
        for (tp, next) in to_start {
            let (topic, partition) = &tp;
            let known = !self.cache.deletions.contains(topic)
                && self.assignment_of(topic, *partition).is_some();
            let outcome = if !known {
                Err(Failure::Partition(
                    errors::UNKNOWN_TOPIC_OR_PARTITION,
                    UNKNOWN_PARTITION_MESSAGE,
                ))
            } else {
                tracing::info!(topic, partition, replicas = ?next.replicas, adding = ?next.adding, removing = ?next.removing, "starting partition reassignment from AlterPartitionReassignments");
                self.on_partition_reassignment(topic, *partition, next)
                    .await
            };
            let result = match outcome {
                Ok(()) => (errors::NONE, None),
                Err(Failure::NotController) => {
                    return top_level(errors::NOT_CONTROLLER, NOT_CONTROLLER_MESSAGE)
                }
                Err(Failure::Partition(code, message)) => (code, Some(message.to_string())),
            };
            results.insert(tp, result);
        }
        let mut by_topic: BTreeMap<String, Vec<ReassignablePartitionResponse>> = BTreeMap::new();
        for ((topic, partition), (error_code, message)) in results {
            by_topic.entry(topic).or_default().push(
                ReassignablePartitionResponse::default()
                    .with_partition_index(partition)
                    .with_error_code(error_code)
                    .with_error_message(message.map(StrBytes::from_string)),
            );
        }
        AlterPartitionReassignmentsResponse::default().with_responses(
            by_topic
                .into_iter()
                .map(|(topic, partitions)| {
                    ReassignableTopicResponse::default()
                        .with_name(TopicName(StrBytes::from_string(topic)))
                        .with_partitions(partitions)
                })
                .collect(),
        )
    }

    /// `processListPartitionReassignments`: the named partitions (or all) that are
    /// being reassigned, with RS, AR and RR.
    pub(super) fn list_partition_reassignments(
        &self,
        request: ListPartitionReassignmentsRequest,
    ) -> ListPartitionReassignmentsResponse {
        if self.role.is_none() {
            return ListPartitionReassignmentsResponse::default()
                .with_error_code(errors::NOT_CONTROLLER)
                .with_error_message(Some(StrBytes::from_static_str(NOT_CONTROLLER_MESSAGE)));
        }
        let listed: Vec<(TopicPartition, Assignment)> = match &request.topics {
            None => self.reassigning(),
            Some(topics) => topics
                .iter()
                .flat_map(|topic| {
                    topic
                        .partition_indexes
                        .iter()
                        .map(move |partition| (topic.name.to_string(), *partition))
                })
                .take(REQUEST_PARTITIONS_MAX)
                .filter_map(|(topic, partition)| {
                    let assignment = self.assignment_of(&topic, partition)?;
                    assignment
                        .is_being_reassigned()
                        .then_some(((topic, partition), assignment))
                })
                .collect(),
        };
        let mut by_topic: BTreeMap<String, Vec<OngoingPartitionReassignment>> = BTreeMap::new();
        let wire = |ids: &[BrokerId]| -> Vec<kafka_protocol::messages::BrokerId> {
            ids.iter()
                .map(|id| kafka_protocol::messages::BrokerId(id.0))
                .collect()
        };
        for ((topic, partition), assignment) in listed {
            by_topic.entry(topic).or_default().push(
                OngoingPartitionReassignment::default()
                    .with_partition_index(partition)
                    .with_replicas(wire(&assignment.replicas))
                    .with_adding_replicas(wire(&assignment.adding))
                    .with_removing_replicas(wire(&assignment.removing)),
            );
        }
        ListPartitionReassignmentsResponse::default().with_topics(
            by_topic
                .into_iter()
                .map(|(topic, partitions)| {
                    OngoingTopicReassignment::default()
                        .with_name(TopicName(StrBytes::from_string(topic)))
                        .with_partitions(partitions)
                })
                .collect(),
        )
    }
}
