//! The broker role of a ZooKeeper-mode cluster (Kafka's `ReplicaManager` and the
//! broker's view of its controller): what the controller told this broker
//! (controller id and epoch, the live brokers and their endpoints from
//! UpdateMetadata), the fencing of controller requests by controller epoch and
//! broker epoch, which leaders this broker fetches from, and the AlterPartition
//! proposals on their way to the controller.
//!
//! The tokio tasks it starts: one replica fetcher per leader broker
//! (`fetcher::run`) and one ticker (`run_ticker`) that runs the leaders' periodic
//! duties (ISR shrink, acks=all timeouts) and sends their AlterPartition requests.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::kafka::broker::Broker;
use crate::kafka::metadata::{BrokerId, Endpoint, TopicId};
use crate::kafka::peer::PeerConnection;
use crate::kafka::protocol::inter_broker::alter_partition::{
    AlterPartitionPartitionData, AlterPartitionTopicData,
};
use crate::kafka::protocol::inter_broker::{
    AlterPartitionRequest, InterBrokerRequest, InterBrokerResponse,
};
use crate::kafka::replica::state::{
    AlterPartitionError, AlterPartitionProposal, AlterPartitionResult,
};
use crate::kafka::replica::Partition;

/// How often leaders' periodic duties run: well under Kafka's
/// `replica.lag.time.max.ms / 2` ISR check, and the granularity of acks=all timeouts.
const TICK_MS: u64 = 100;
/// Timeout of one AlterPartition round trip to the controller.
const ALTER_PARTITION_TIMEOUT_MS: u64 = 10_000;
/// Connect timeout towards peers.
pub const PEER_CONNECT_TIMEOUT_MS: u64 = 5_000;

/// Why a controller request is refused as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlRefusal {
    /// STALE_CONTROLLER_EPOCH (11).
    StaleControllerEpoch,
    /// STALE_BROKER_EPOCH (77).
    StaleBrokerEpoch,
}

impl ControlRefusal {
    pub fn code(self) -> i16 {
        match self {
            ControlRefusal::StaleControllerEpoch => 11,
            ControlRefusal::StaleBrokerEpoch => 77,
        }
    }
}

#[derive(Debug)]
struct ControllerView {
    /// The highest controller epoch seen (Kafka's `ReplicaManager.controllerEpoch`,
    /// 0 at start).
    controller_epoch: i32,
    controller_id: Option<BrokerId>,
    /// From the last UpdateMetadata; `None` before the first.
    live_brokers: Option<BTreeMap<BrokerId, Vec<Endpoint>>>,
    /// A controller has sent LeaderAndIsr: partition roles come only from it from now
    /// on (before that, from the state znodes, for controllers that only write them).
    driven_by_controller: bool,
    /// The highest broker epoch a controller addressed this broker with (its czxid as
    /// the controller read it), for when the registration's own is not known.
    reported_broker_epoch: i64,
}

impl Default for ControllerView {
    fn default() -> ControllerView {
        ControllerView {
            controller_epoch: 0,
            controller_id: None,
            live_brokers: None,
            driven_by_controller: false,
            reported_broker_epoch: -1,
        }
    }
}

#[derive(Default)]
pub struct ReplicaManager {
    view: Mutex<ControllerView>,
    /// Leaders a fetcher task is running for.
    fetchers: Mutex<BTreeSet<BrokerId>>,
}

impl ReplicaManager {
    fn view(&self) -> std::sync::MutexGuard<'_, ControllerView> {
        self.view
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Kafka's checks on LeaderAndIsr / UpdateMetadata / StopReplica: a broker epoch
    /// older than this registration's is stale (-1 skips the check; a newer one is
    /// accepted, the controller may see a re-registration first); a controller epoch
    /// below the highest seen is stale. An accepted epoch becomes the highest seen.
    pub fn check_control_request(
        &self,
        controller_id: BrokerId,
        controller_epoch: i32,
        request_broker_epoch: i64,
        own_broker_epoch: i64,
    ) -> Result<(), ControlRefusal> {
        if request_broker_epoch != -1
            && own_broker_epoch >= 0
            && request_broker_epoch < own_broker_epoch
        {
            return Err(ControlRefusal::StaleBrokerEpoch);
        }
        let mut view = self.view();
        if controller_epoch < view.controller_epoch {
            return Err(ControlRefusal::StaleControllerEpoch);
        }
        view.controller_epoch = controller_epoch;
        view.controller_id = Some(controller_id);
        view.reported_broker_epoch = view.reported_broker_epoch.max(request_broker_epoch);
        Ok(())
    }

    /// This broker's epoch for the requests it sends (Fetch's `ReplicaEpoch`,
    /// AlterPartition's `BrokerEpoch`): its registration's czxid, or failing that the
    /// one controllers address it with.
    pub fn broker_epoch(&self, broker: &Broker) -> i64 {
        let own = broker.metadata.broker_epoch();
        if own >= 0 {
            own
        } else {
            self.view().reported_broker_epoch.max(-1)
        }
    }

    pub fn mark_driven_by_controller(&self) {
        self.view().driven_by_controller = true;
    }

    /// Whether partition roles come from LeaderAndIsr only.
    pub fn driven_by_controller(&self) -> bool {
        self.view().driven_by_controller
    }

    pub fn set_live_brokers(&self, live: BTreeMap<BrokerId, Vec<Endpoint>>) {
        self.view().live_brokers = Some(live);
    }

    /// The live brokers UpdateMetadata named, if one came.
    pub fn live_broker_ids(&self) -> Option<BTreeSet<BrokerId>> {
        self.view()
            .live_brokers
            .as_ref()
            .map(|live| live.keys().copied().collect())
    }

    pub fn controller_id(&self) -> Option<BrokerId> {
        self.view().controller_id
    }

    /// A peer's endpoint on `listener`: from UpdateMetadata if it came, else from the
    /// broker registrations in ZooKeeper.
    pub fn peer_endpoint(&self, broker: &Broker, peer: BrokerId) -> Option<(String, u16)> {
        let listener = &broker.config.inter_broker_listener_name;
        let pick = |endpoints: &[Endpoint]| {
            endpoints
                .iter()
                .find(|endpoint| &endpoint.listener == listener)
                .or_else(|| endpoints.first())
                .map(|endpoint| (endpoint.host.clone(), endpoint.port))
        };
        if let Some(live) = &self.view().live_brokers {
            if let Some(endpoints) = live.get(&peer) {
                return pick(endpoints);
            }
        }
        let metadata = broker.metadata.current();
        metadata
            .brokers
            .get(&peer)
            .and_then(|registration| pick(&registration.endpoints))
    }

    /// Makes sure a fetcher runs for `leader`.
    pub fn ensure_fetcher(&self, broker: &Arc<Broker>, leader: BrokerId) {
        let mut fetchers = self.fetchers.lock().unwrap_or_else(|p| p.into_inner());
        if fetchers.insert(leader) {
            // The task leaves the registry itself, through `fetcher_may_stop`.
            tokio::spawn(super::fetcher::run(broker.clone(), leader));
        }
    }

    /// Called by a fetcher that found nothing to fetch: it stops unless a partition
    /// started following `leader` meanwhile (checked under the registry lock, so a
    /// new follower is never left without a fetcher).
    pub fn fetcher_may_stop(&self, broker: &Broker, leader: BrokerId) -> bool {
        let mut fetchers = self.fetchers.lock().unwrap_or_else(|p| p.into_inner());
        if follower_partitions(broker, leader).is_empty() {
            fetchers.remove(&leader);
            true
        } else {
            false
        }
    }
}

/// The partitions following `leader` on this broker.
pub fn follower_partitions(broker: &Broker, leader: BrokerId) -> Vec<Arc<Partition>> {
    broker
        .logs
        .all()
        .into_iter()
        .filter(|partition| {
            matches!(partition.role(), super::ReplicaRole::Follower { leader: l, .. } if l == leader)
        })
        .collect()
}

/// Leaders' periodic duties and the AlterPartition channel to the controller, for as
/// long as the broker runs.
pub async fn run_ticker(broker: Arc<Broker>) {
    let mut interval = tokio::time::interval(Duration::from_millis(TICK_MS));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut controller: Option<(BrokerId, PeerConnection)> = None;
    loop {
        interval.tick().await;
        let now_ms = broker.now_ms();
        let mut proposals: Vec<(Arc<Partition>, AlterPartitionProposal)> = Vec::new();
        let mut moved = false;
        for partition in broker.logs.all() {
            let (made, hw_moved) = partition.tick(now_ms);
            moved |= hw_moved;
            proposals.extend(
                made.into_iter()
                    .map(|proposal| (partition.clone(), proposal)),
            );
        }
        if moved {
            broker.notify_append();
        }
        if proposals.is_empty() {
            continue;
        }
        let outcome = send_alter_partition(&broker, &mut controller, &proposals).await;
        let now_ms = broker.now_ms();
        let mut moved = false;
        match outcome {
            Ok(results) => {
                for ((partition, proposal), result) in proposals.iter().zip(results) {
                    if matches!(result, AlterPartitionResult::Rejected(_)) {
                        broker.metrics.record_failed_isr_update();
                    }
                    let isr_before = partition.isr_and_partition_epoch().0.len();
                    moved |=
                        partition.on_alter_partition_response(now_ms, proposal.proposal_id, result);
                    let isr_after = partition.isr_and_partition_epoch().0.len();
                    broker.metrics.record_isr_change(isr_before, isr_after);
                }
            }
            Err(error) => {
                tracing::debug!(%error, "AlterPartition not answered; the leaders send it again");
                controller = None;
                for (partition, proposal) in &proposals {
                    partition.on_alter_partition_response(
                        now_ms,
                        proposal.proposal_id,
                        AlterPartitionResult::Rejected(AlterPartitionError::Retriable),
                    );
                }
            }
        }
        if moved {
            broker.notify_append();
        }
    }
}

/// One AlterPartition request for every proposal, to the controller UpdateMetadata
/// named (or `/controller`). Returns each proposal's result, in order.
async fn send_alter_partition(
    broker: &Arc<Broker>,
    connection: &mut Option<(BrokerId, PeerConnection)>,
    proposals: &[(Arc<Partition>, AlterPartitionProposal)],
) -> anyhow::Result<Vec<AlterPartitionResult>> {
    let controller = broker
        .replicas
        .controller_id()
        .or(broker.metadata.current().controller_id)
        .ok_or_else(|| anyhow::anyhow!("no controller known"))?;
    if connection.as_ref().is_none_or(|(id, _)| *id != controller) {
        let (host, port) = broker
            .replicas
            .peer_endpoint(broker, controller)
            .ok_or_else(|| anyhow::anyhow!("no endpoint for controller {controller}"))?;
        let peer = PeerConnection::connect(
            &host,
            port,
            broker.id.0.to_string(),
            &broker.config.security.inter_broker,
            PEER_CONNECT_TIMEOUT_MS,
        )
        .await?;
        *connection = Some((controller, peer));
    }
    // v2 names topics by id; topics without one (written by old tools and not yet
    // given one) need v1, as Kafka's AlterPartitionManager caps the version.
    let by_id = proposals
        .iter()
        .all(|(partition, _)| partition.topic_id != TopicId::ZERO);
    let version = if by_id { 2 } else { 1 };
    let mut request = AlterPartitionRequest {
        broker_id: broker.id,
        broker_epoch: broker.replicas.broker_epoch(broker),
        ..Default::default()
    };
    for (partition, proposal) in proposals {
        let data = AlterPartitionPartitionData {
            partition_index: partition.topic_partition.partition,
            leader_epoch: proposal.leader_epoch,
            new_isr: proposal.new_isr.clone(),
            leader_recovery_state: 0,
            partition_epoch: proposal.partition_epoch,
            ..Default::default()
        };
        let same_topic = request.topics.last().is_some_and(|topic| {
            topic.topic_name == partition.topic_partition.topic
                && topic.topic_id == partition.topic_id
        });
        if !same_topic {
            request.topics.push(AlterPartitionTopicData {
                topic_name: if by_id {
                    String::new()
                } else {
                    partition.topic_partition.topic.clone()
                },
                topic_id: if by_id {
                    partition.topic_id
                } else {
                    TopicId::ZERO
                },
                partitions: Vec::new(),
                ..Default::default()
            });
        }
        request
            .topics
            .last_mut()
            .expect("pushed above")
            .partitions
            .push(data);
    }
    let (_, peer) = connection.as_mut().expect("connected above");
    let response = peer
        .call_inter_broker(
            version,
            &InterBrokerRequest::AlterPartition(request),
            ALTER_PARTITION_TIMEOUT_MS,
        )
        .await?;
    let InterBrokerResponse::AlterPartition(response) = response else {
        anyhow::bail!("the controller answered AlterPartition with another response");
    };
    if response.error_code != 0 {
        // NOT_CONTROLLER, STALE_BROKER_EPOCH, ...: find the controller again, retry.
        *connection = None;
        tracing::debug!(
            error_code = response.error_code,
            "AlterPartition refused as a whole"
        );
        return Ok(proposals
            .iter()
            .map(|_| AlterPartitionResult::Rejected(AlterPartitionError::Retriable))
            .collect());
    }
    let mut answers = BTreeMap::new();
    for topic in &response.topics {
        for partition in &topic.partitions {
            answers.insert(
                (
                    topic.topic_name.clone(),
                    topic.topic_id,
                    partition.partition_index,
                ),
                partition.clone(),
            );
        }
    }
    Ok(proposals
        .iter()
        .map(|(partition, _)| {
            let key = if by_id {
                (
                    String::new(),
                    partition.topic_id,
                    partition.topic_partition.partition,
                )
            } else {
                (
                    partition.topic_partition.topic.clone(),
                    TopicId::ZERO,
                    partition.topic_partition.partition,
                )
            };
            match answers.get(&key) {
                None => AlterPartitionResult::Rejected(AlterPartitionError::Retriable),
                Some(answer) => alter_partition_result(answer.error_code, answer),
            }
        })
        .collect())
}

fn alter_partition_result(
    error_code: i16,
    answer: &crate::kafka::protocol::inter_broker::alter_partition::AlterPartitionPartitionResult,
) -> AlterPartitionResult {
    let error = match error_code {
        0 => {
            return AlterPartitionResult::Accepted {
                leader_epoch: answer.leader_epoch,
                partition_epoch: answer.partition_epoch,
                isr: answer.isr.clone(),
            }
        }
        55 => AlterPartitionError::OperationNotAttempted,
        107 => AlterPartitionError::IneligibleReplica,
        74 => AlterPartitionError::FencedLeaderEpoch,
        95 => AlterPartitionError::InvalidUpdateVersion,
        3 | 100 => AlterPartitionError::UnknownTopicOrPartition,
        42 => AlterPartitionError::InvalidRequest,
        _ => AlterPartitionError::Retriable,
    };
    AlterPartitionResult::Rejected(error)
}

/// Kafka's `controlled.shutdown.max.retries`.
const CONTROLLED_SHUTDOWN_ATTEMPTS: u32 = 3;
/// Pause between attempts (Kafka's `controlled.shutdown.retry.backoff.ms` is 5000;
/// shorter here so a stop stays quick when the controller is gone).
const CONTROLLED_SHUTDOWN_BACKOFF_MS: u64 = 1_000;
const CONTROLLED_SHUTDOWN_TIMEOUT_MS: u64 = 30_000;

/// `KafkaServer.controlledShutdown`: asks the controller (ControlledShutdown v3) to
/// move this broker's leaderships to other replicas and take it out of the ISRs,
/// until it leads nothing that has another replica, or attempts run out. Skipped
/// when this broker is the controller itself or no other broker is alive.
pub async fn controlled_shutdown(broker: &Arc<Broker>) {
    use crate::kafka::protocol::inter_broker::ControlledShutdownRequest;
    let metadata = broker.metadata.current();
    if metadata.brokers.keys().all(|id| *id == broker.id) {
        return;
    }
    for attempt in 1..=CONTROLLED_SHUTDOWN_ATTEMPTS {
        let controller = broker
            .replicas
            .controller_id()
            .or(broker.metadata.current().controller_id);
        let Some(controller) = controller.filter(|id| *id != broker.id) else {
            return;
        };
        let Some((host, port)) = broker.replicas.peer_endpoint(broker, controller) else {
            return;
        };
        let request = InterBrokerRequest::ControlledShutdown(ControlledShutdownRequest {
            broker_id: broker.id,
            broker_epoch: broker.replicas.broker_epoch(broker),
            ..Default::default()
        });
        let answer = async {
            let mut peer = PeerConnection::connect(
                &host,
                port,
                broker.id.0.to_string(),
                &broker.config.security.inter_broker,
                PEER_CONNECT_TIMEOUT_MS,
            )
            .await?;
            peer.call_inter_broker(3, &request, CONTROLLED_SHUTDOWN_TIMEOUT_MS)
                .await
        }
        .await;
        match answer {
            Ok(InterBrokerResponse::ControlledShutdown(response))
                if response.error_code == 0 && response.remaining_partitions.is_empty() =>
            {
                tracing::info!(%controller, "controlled shutdown succeeded");
                return;
            }
            Ok(InterBrokerResponse::ControlledShutdown(response)) => {
                tracing::info!(%controller, attempt, error_code = response.error_code, remaining = response.remaining_partitions.len(), "controlled shutdown not complete yet");
            }
            Ok(_) => {
                tracing::warn!(%controller, "controlled shutdown answered with another response")
            }
            Err(error) => {
                tracing::info!(%controller, attempt, %error, "controlled shutdown request failed")
            }
        }
        tokio::time::sleep(Duration::from_millis(CONTROLLED_SHUTDOWN_BACKOFF_MS)).await;
    }
    tracing::warn!("controlled shutdown did not complete; stopping anyway");
}
