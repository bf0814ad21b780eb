//! The controller's requests to brokers: which LeaderAndIsr, UpdateMetadata and
//! StopReplica go to which broker, and the tasks that deliver them.
//!
//! Apache 3.9 brokers in ZooKeeper mode learn their role only from these requests
//! (`KafkaController` + `ControllerChannelManager`), so the controller role must
//! send them. Two halves:
//! - `plan` (pure): given the controller context last acted on and the current one,
//!   the requests to send, in order. A change of leader epoch means the controller
//!   moved leadership or shrank the ISR itself (LeaderAndIsr to the live replicas,
//!   UpdateMetadata to every broker); a change without one is an AlterPartition
//!   (UpdateMetadata only); a new or re-registered broker gets the picture first and
//!   its replicas' states after (`onBrokerStartup`); a topic marked for deletion gets
//!   `Leader = -2` and StopReplica(delete).
//! - `ChannelManager`: one sender task per live broker, as `RequestSendThread`: a FIFO
//!   queue, one request in flight, no ApiVersions, the controller's id as clientId,
//!   retried forever (100 ms backoff, new connection) until the broker goes away.
//!   Responses go back to the driver, which needs StopReplica's for topic deletion.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::kafka::metadata::{BrokerId, Endpoint, TopicId};
use crate::kafka::peer::PeerStream;
use crate::kafka::protocol::inter_broker::leader_and_isr::{
    LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState, LeaderAndIsrTopicState,
};
use crate::kafka::protocol::inter_broker::stop_replica::{
    StopReplicaPartitionState, StopReplicaTopicState, LEADER_EPOCH_DURING_DELETE,
};
use crate::kafka::protocol::inter_broker::update_metadata::{
    UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataPartitionState,
    UpdateMetadataTopicState, LEADER_DURING_DELETE,
};
use crate::kafka::protocol::inter_broker::{
    decode_response, encode_request, InterBrokerApi, InterBrokerRequest, InterBrokerResponse,
    LeaderAndIsrRequest, RequestHeader, StopReplicaRequest, UpdateMetadataRequest,
};
use crate::kafka::security::sasl::client_login;
use crate::kafka::security::InterBrokerClient;

/// The versions an Apache 3.9 controller sends at IBP >= 3.4-IV0
/// (`ControllerChannelManager` L516-656); never negotiated.
pub const LEADER_AND_ISR_VERSION: i16 = 7;
pub const UPDATE_METADATA_VERSION: i16 = 8;
pub const STOP_REPLICA_VERSION: i16 = 4;

/// `LeaderAndIsr.NoEpoch`: a StopReplica for a partition without a state znode.
const NO_LEADER_EPOCH: i32 = -1;

/// `RequestSendThread`'s pause before it reconnects and resends.
const RETRY_BACKOFF_MS: u64 = 100;
/// Kafka's `controller.socket.timeout.ms` default: for connecting and for each
/// request's answer.
const SOCKET_TIMEOUT_MS: u64 = 30_000;
/// The largest response frame read (Kafka's `socket.request.max.bytes` default);
/// these responses are a few bytes per partition.
const RESPONSE_BYTES_MAX: usize = 100 * 1024 * 1024;

/// A live broker as the controller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveBroker {
    /// The czxid of its `/brokers/ids/<id>`: what requests carry as `BrokerEpoch`.
    pub epoch: i64,
    /// Endpoints with their security protocol name, as registered.
    pub endpoints: Vec<(Endpoint, String)>,
    pub rack: Option<String>,
}

/// A partition's state znode as last read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateView {
    /// -1 while no replica leads.
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<BrokerId>,
    /// The epoch of the controller that wrote the znode.
    pub controller_epoch: i32,
    /// The znode's version: the partition epoch.
    pub zk_version: i32,
    pub leader_recovery_state: i8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionView {
    pub replicas: Vec<BrokerId>,
    /// While the partition is being reassigned: the replicas joining (AR) and
    /// leaving (RR), as the topic znode lists them; LeaderAndIsr carries both.
    pub adding: Vec<BrokerId>,
    pub removing: Vec<BrokerId>,
    /// `None` until the controller has created the state znode.
    pub state: Option<StateView>,
}

/// Topic and partition index.
pub type TopicPartition = (String, i32);

/// What the planner compares: the controller's view of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerContext {
    pub controller_id: BrokerId,
    pub controller_epoch: i32,
    /// The listener brokers reach each other on (`inter.broker.listener.name`).
    pub listener: String,
    pub brokers: BTreeMap<BrokerId, LiveBroker>,
    /// Brokers that asked for a controlled shutdown: live, but no longer online
    /// replicas (`isReplicaOnline`).
    pub shutting_down: BTreeSet<BrokerId>,
    pub topic_ids: BTreeMap<String, TopicId>,
    pub partitions: BTreeMap<TopicPartition, PartitionView>,
    /// Topics queued for deletion (only with `delete.topic.enable`).
    pub deleting: BTreeSet<String>,
}

impl ControllerContext {
    /// A topic's id, zero while it has none (as the requests carry it).
    fn topic_id(&self, topic: &str) -> TopicId {
        self.topic_ids.get(topic).copied().unwrap_or(TopicId::ZERO)
    }

    fn is_online(&self, broker: BrokerId) -> bool {
        self.brokers.contains_key(&broker) && !self.shutting_down.contains(&broker)
    }
}

/// The requests one step sends, in order (each broker's queue is FIFO, so the
/// order per broker is the order here).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Plan {
    pub requests: Vec<(BrokerId, InterBrokerRequest)>,
    /// StopReplica(delete=true) sent: the driver deletes a topic's znodes once every
    /// one of these has been answered without error.
    pub deletions_started: Vec<(BrokerId, TopicPartition)>,
}

/// The requests that bring brokers from `previous` (what was last acted on; `None`
/// right after winning the election) to `next`.
pub fn plan(previous: Option<&ControllerContext>, next: &ControllerContext) -> Plan {
    let mut out = Plan::default();
    let live: Vec<BrokerId> = next.brokers.keys().copied().collect();
    // New brokers, and bounced ones (a new czxid: a new registration).
    let started: BTreeSet<BrokerId> = match previous {
        None => BTreeSet::new(),
        Some(previous) => next
            .brokers
            .iter()
            .filter(|(id, broker)| {
                previous
                    .brokers
                    .get(id)
                    .is_none_or(|old| old.epoch != broker.epoch)
            })
            .map(|(id, _)| *id)
            .collect(),
    };
    let membership_changed = previous.is_none_or(|previous| {
        !started.is_empty() || previous.brokers.keys().ne(next.brokers.keys())
    });

    // 1. The live-broker list to the brokers that already know the partitions
    //    (onControllerFailover step 5, onBrokerStartup step 1, and a broker's death).
    if membership_changed {
        for id in live.iter().filter(|id| !started.contains(id)) {
            let request = update_metadata(next, *id, &BTreeSet::new());
            out.requests
                .push((*id, InterBrokerRequest::UpdateMetadata(request)));
        }
    }
    // 2. A starting broker learns every partition that has a leader, before any
    //    LeaderAndIsr: an Apache follower takes its leader's address from there.
    if !started.is_empty() {
        let with_leader: BTreeSet<TopicPartition> = next
            .partitions
            .iter()
            .filter(|(_, view)| view.state.as_ref().is_some_and(|state| state.leader >= 0))
            .map(|(tp, _)| tp.clone())
            .collect();
        for id in &started {
            let request = update_metadata(next, *id, &with_leader);
            out.requests
                .push((*id, InterBrokerRequest::UpdateMetadata(request)));
        }
    }

    // 3. LeaderAndIsr, each partition of which also goes to every broker in an
    //    UpdateMetadata (`addLeaderAndIsrRequestForBrokers`).
    let mut leader_and_isr: BTreeMap<BrokerId, BTreeMap<TopicPartition, bool>> = BTreeMap::new();
    let mut metadata_partitions: BTreeSet<TopicPartition> = BTreeSet::new();
    for (tp, view) in &next.partitions {
        if next.deleting.contains(&tp.0) {
            continue;
        }
        let Some(state) = &view.state else { continue };
        // Shutting-down brokers still get LeaderAndIsr: a leader that asked to stop
        // learns this way that it no longer leads (`electLeaderForControlledShutdown`).
        let live_replicas = view
            .replicas
            .iter()
            .filter(|id| next.brokers.contains_key(id));
        let before = previous.map(|previous| {
            previous
                .partitions
                .get(tp)
                .and_then(|view| view.state.as_ref())
        });
        match before {
            // Failover: every online replica gets the current, unbumped state.
            None => {
                for id in live_replicas.clone() {
                    leader_and_isr
                        .entry(*id)
                        .or_default()
                        .insert(tp.clone(), false);
                }
                metadata_partitions.insert(tp.clone());
            }
            // Created since: IsNew, to its ISR (all live replicas at creation).
            Some(None) => {
                for id in state.isr.iter().filter(|id| next.brokers.contains_key(id)) {
                    leader_and_isr
                        .entry(*id)
                        .or_default()
                        .insert(tp.clone(), true);
                }
                metadata_partitions.insert(tp.clone());
            }
            // The controller moved the leader or shrank the ISR (the epoch went up).
            // Replicas a reassignment adds get IsNew, as `updateLeaderEpochAndSendRequest`
            // sends it to AR.
            Some(Some(old))
                if old.leader_epoch != state.leader_epoch || old.leader != state.leader =>
            {
                for id in live_replicas {
                    leader_and_isr
                        .entry(*id)
                        .or_default()
                        .insert(tp.clone(), view.adding.contains(id));
                }
                metadata_partitions.insert(tp.clone());
            }
            // An AlterPartition (same leader and epoch): metadata only.
            Some(Some(old)) if old != state => {
                metadata_partitions.insert(tp.clone());
            }
            Some(Some(_)) => {}
        }
        // A starting broker's own replicas (OnlineReplica transitions).
        for id in view.replicas.iter().filter(|id| started.contains(id)) {
            leader_and_isr
                .entry(*id)
                .or_default()
                .entry(tp.clone())
                .or_insert(false);
            metadata_partitions.insert(tp.clone());
        }
    }
    for (id, partitions) in &leader_and_isr {
        let request = leader_and_isr_request(next, *id, partitions);
        out.requests
            .push((*id, InterBrokerRequest::LeaderAndIsr(request)));
    }
    // Replicas a reassignment removed (or a replaced one no longer needs): after the
    // LeaderAndIsr that tells the others, StopReplica(delete=false) then
    // StopReplica(delete=true) with the current leader epoch (OfflineReplica, then
    // ReplicaDeletionStarted: `stopRemovedReplicasOfReassignedPartition`).
    if let Some(previous) = previous {
        let mut removed: BTreeMap<(BrokerId, &str), Vec<(i32, i32)>> = BTreeMap::new();
        for (tp, view) in &next.partitions {
            if next.deleting.contains(&tp.0) {
                continue;
            }
            let Some(before) = previous.partitions.get(tp) else {
                continue;
            };
            let epoch = view
                .state
                .as_ref()
                .map_or(NO_LEADER_EPOCH, |state| state.leader_epoch);
            for id in before
                .replicas
                .iter()
                .filter(|id| !view.replicas.contains(id) && next.brokers.contains_key(id))
            {
                removed
                    .entry((*id, tp.0.as_str()))
                    .or_default()
                    .push((tp.1, epoch));
            }
        }
        for ((id, topic), partitions) in removed {
            for delete in [false, true] {
                let request = stop_replica(next, id, topic, &partitions, delete);
                out.requests
                    .push((id, InterBrokerRequest::StopReplica(request)));
            }
        }
    }
    if !metadata_partitions.is_empty() {
        for id in &live {
            let request = update_metadata(next, *id, &metadata_partitions);
            out.requests
                .push((*id, InterBrokerRequest::UpdateMetadata(request)));
        }
    }

    // 4. Topic deletion (TopicDeletionManager): `Leader = -2` to everyone, then the
    //    replicas stop (OfflineReplica) and delete (ReplicaDeletionStarted).
    for topic in &next.deleting {
        let newly = previous.is_none_or(|previous| !previous.deleting.contains(topic));
        let partitions: Vec<(&TopicPartition, &PartitionView)> = next
            .partitions
            .iter()
            .filter(|(tp, _)| &tp.0 == topic)
            .collect();
        let recipients: BTreeSet<BrokerId> = if newly {
            live.iter().copied().collect()
        } else {
            started.clone()
        };
        if recipients.is_empty() {
            continue;
        }
        if newly {
            let all: BTreeSet<TopicPartition> =
                partitions.iter().map(|(tp, _)| (*tp).clone()).collect();
            for id in &live {
                let request = update_metadata(next, *id, &all);
                out.requests
                    .push((*id, InterBrokerRequest::UpdateMetadata(request)));
            }
        }
        let mut by_replica: BTreeMap<BrokerId, Vec<i32>> = BTreeMap::new();
        for (tp, view) in &partitions {
            for id in view.replicas.iter().filter(|id| recipients.contains(id)) {
                by_replica.entry(*id).or_default().push(tp.1);
            }
        }
        for (id, indexes) in by_replica {
            let during_delete: Vec<(i32, i32)> = indexes
                .iter()
                .map(|index| (*index, LEADER_EPOCH_DURING_DELETE))
                .collect();
            for delete in [false, true] {
                let request = stop_replica(next, id, topic, &during_delete, delete);
                out.requests
                    .push((id, InterBrokerRequest::StopReplica(request)));
            }
            for index in indexes {
                out.deletions_started.push((id, (topic.clone(), index)));
            }
        }
    }
    out
}

fn update_metadata(
    context: &ControllerContext,
    recipient: BrokerId,
    partitions: &BTreeSet<TopicPartition>,
) -> UpdateMetadataRequest {
    let mut topics: BTreeMap<&str, UpdateMetadataTopicState> = BTreeMap::new();
    for tp in partitions {
        let Some(view) = context.partitions.get(tp) else {
            continue;
        };
        // Apache skips partitions without a leader-and-ISR yet.
        let Some(state) = &view.state else { continue };
        let deleting = context.deleting.contains(&tp.0);
        let topic = topics
            .entry(tp.0.as_str())
            .or_insert_with(|| UpdateMetadataTopicState {
                topic_name: tp.0.clone(),
                topic_id: context.topic_id(&tp.0),
                ..Default::default()
            });
        topic.partition_states.push(UpdateMetadataPartitionState {
            partition_index: tp.1,
            controller_epoch: state.controller_epoch,
            leader: BrokerId(if deleting {
                LEADER_DURING_DELETE
            } else {
                state.leader
            }),
            leader_epoch: state.leader_epoch,
            isr: state.isr.clone(),
            zk_version: state.zk_version,
            replicas: view.replicas.clone(),
            offline_replicas: view
                .replicas
                .iter()
                .filter(|id| !context.is_online(**id))
                .copied()
                .collect(),
            ..Default::default()
        });
    }
    UpdateMetadataRequest {
        controller_id: context.controller_id,
        is_kraft_controller: false,
        controller_epoch: context.controller_epoch,
        broker_epoch: recipient_epoch(context, recipient),
        topic_states: topics.into_values().collect(),
        live_brokers: context
            .brokers
            .iter()
            .map(|(id, broker)| UpdateMetadataBroker {
                id: *id,
                endpoints: broker
                    .endpoints
                    .iter()
                    .map(|(endpoint, protocol)| UpdateMetadataEndpoint {
                        port: i32::from(endpoint.port),
                        host: endpoint.host.clone(),
                        listener: endpoint.listener.clone(),
                        security_protocol: security_protocol_id(protocol),
                        ..Default::default()
                    })
                    .collect(),
                rack: broker.rack.clone(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn leader_and_isr_request(
    context: &ControllerContext,
    recipient: BrokerId,
    partitions: &BTreeMap<TopicPartition, bool>,
) -> LeaderAndIsrRequest {
    let mut topics: BTreeMap<&str, LeaderAndIsrTopicState> = BTreeMap::new();
    let mut leaders: BTreeSet<BrokerId> = BTreeSet::new();
    for (tp, is_new) in partitions {
        let Some(view) = context.partitions.get(tp) else {
            continue;
        };
        let Some(state) = &view.state else { continue };
        leaders.insert(BrokerId(state.leader));
        let topic = topics
            .entry(tp.0.as_str())
            .or_insert_with(|| LeaderAndIsrTopicState {
                topic_name: tp.0.clone(),
                topic_id: context.topic_id(&tp.0),
                ..Default::default()
            });
        topic.partition_states.push(LeaderAndIsrPartitionState {
            partition_index: tp.1,
            controller_epoch: state.controller_epoch,
            leader: BrokerId(state.leader),
            leader_epoch: state.leader_epoch,
            isr: state.isr.clone(),
            partition_epoch: state.zk_version,
            replicas: view.replicas.clone(),
            adding_replicas: view.adding.clone(),
            removing_replicas: view.removing.clone(),
            is_new: *is_new,
            leader_recovery_state: state.leader_recovery_state,
            ..Default::default()
        });
    }
    // `LiveLeaders`: the live brokers leading these partitions, on the inter-broker
    // listener (never read by a 3.9 broker, but sent).
    let live_leaders = leaders
        .iter()
        .filter_map(|id| {
            let endpoint = inter_broker_endpoint(context, *id)?;
            Some(LeaderAndIsrLiveLeader {
                broker_id: *id,
                host_name: endpoint.host.clone(),
                port: i32::from(endpoint.port),
                ..Default::default()
            })
        })
        .collect();
    LeaderAndIsrRequest {
        controller_id: context.controller_id,
        is_kraft_controller: false,
        controller_epoch: context.controller_epoch,
        broker_epoch: recipient_epoch(context, recipient),
        type_: 0,
        topic_states: topics.into_values().collect(),
        live_leaders,
        ..Default::default()
    }
}

/// StopReplica(delete=true) again, for replicas of a topic being deleted whose
/// first answer was an error.
pub fn stop_replica_for_deletion(
    context: &ControllerContext,
    broker: BrokerId,
    topic: &str,
    indexes: &[i32],
) -> StopReplicaRequest {
    let partitions: Vec<(i32, i32)> = indexes
        .iter()
        .map(|index| (*index, LEADER_EPOCH_DURING_DELETE))
        .collect();
    stop_replica(context, broker, topic, &partitions, true)
}

/// StopReplica(delete=false) to a broker shutting down, for partitions it follows,
/// with their current leader epochs.
pub fn stop_replica_for_shutdown(
    context: &ControllerContext,
    broker: BrokerId,
    topic: &str,
    partitions: &[(i32, i32)],
) -> StopReplicaRequest {
    stop_replica(context, broker, topic, partitions, false)
}

/// `partitions`: (index, leader epoch).
fn stop_replica(
    context: &ControllerContext,
    recipient: BrokerId,
    topic: &str,
    partitions: &[(i32, i32)],
    delete: bool,
) -> StopReplicaRequest {
    StopReplicaRequest {
        controller_id: context.controller_id,
        is_kraft_controller: false,
        controller_epoch: context.controller_epoch,
        broker_epoch: recipient_epoch(context, recipient),
        topic_states: vec![StopReplicaTopicState {
            topic_name: topic.to_string(),
            partition_states: partitions
                .iter()
                .map(|(index, leader_epoch)| StopReplicaPartitionState {
                    partition_index: *index,
                    leader_epoch: *leader_epoch,
                    delete_partition: delete,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn recipient_epoch(context: &ControllerContext, recipient: BrokerId) -> i64 {
    context
        .brokers
        .get(&recipient)
        .map_or(-1, |broker| broker.epoch)
}

fn inter_broker_endpoint(context: &ControllerContext, broker: BrokerId) -> Option<&Endpoint> {
    context
        .brokers
        .get(&broker)?
        .endpoints
        .iter()
        .map(|(endpoint, _)| endpoint)
        .find(|endpoint| endpoint.listener == context.listener)
}

/// `SecurityProtocol.id`; an unknown name is sent as PLAINTEXT.
pub fn security_protocol_id(name: &str) -> i16 {
    match name {
        "SSL" => 1,
        "SASL_PLAINTEXT" => 2,
        "SASL_SSL" => 3,
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------
// Delivery

/// A broker's answer, handed back to the driver.
#[derive(Debug)]
pub struct Delivered {
    pub broker: BrokerId,
    /// The registration the request was addressed to.
    pub broker_epoch: i64,
    pub request: InterBrokerRequest,
    pub response: InterBrokerResponse,
}

struct Sender {
    epoch: i64,
    address: (String, u16),
    queue: mpsc::UnboundedSender<InterBrokerRequest>,
    task: JoinHandle<()>,
}

/// One sender task per live broker; dropping the manager stops them all
/// (`ControllerChannelManager.shutdown` on resignation).
pub struct ChannelManager {
    controller_id: BrokerId,
    listener: String,
    /// TLS and the SASL login of the inter-broker listener.
    client: InterBrokerClient,
    senders: BTreeMap<BrokerId, Sender>,
    delivered: mpsc::UnboundedSender<Delivered>,
}

impl ChannelManager {
    pub fn new(
        controller_id: BrokerId,
        listener: String,
        client: InterBrokerClient,
        delivered: mpsc::UnboundedSender<Delivered>,
    ) -> ChannelManager {
        ChannelManager {
            controller_id,
            listener,
            client,
            senders: BTreeMap::new(),
            delivered,
        }
    }

    /// Starts senders for new brokers, replaces those of re-registered ones (their
    /// queued requests carry the old epoch and are dropped, as Apache's
    /// removeBroker/addBroker does) and stops those of departed ones.
    pub fn sync(&mut self, brokers: &BTreeMap<BrokerId, LiveBroker>) {
        self.senders.retain(|id, sender| {
            let keep = brokers
                .get(id)
                .is_some_and(|broker| broker.epoch == sender.epoch);
            if !keep {
                sender.task.abort();
            }
            keep
        });
        for (id, broker) in brokers {
            if self.senders.contains_key(id) {
                continue;
            }
            let Some((endpoint, _)) = broker
                .endpoints
                .iter()
                .find(|(endpoint, _)| endpoint.listener == self.listener)
            else {
                tracing::warn!(broker = %id, listener = self.listener, "broker registered no endpoint on the inter-broker listener; the controller cannot reach it");
                continue;
            };
            let address = (endpoint.host.clone(), endpoint.port);
            let (queue, requests) = mpsc::unbounded_channel();
            let task = tokio::spawn(send_loop(
                self.controller_id,
                *id,
                broker.epoch,
                address.clone(),
                self.client.clone(),
                requests,
                self.delivered.clone(),
            ));
            tracing::info!(broker = %id, host = address.0, port = address.1, broker_epoch = broker.epoch, "controller channel to broker added");
            self.senders.insert(
                *id,
                Sender {
                    epoch: broker.epoch,
                    address,
                    queue,
                    task,
                },
            );
        }
    }

    /// Queues a request; one for a broker without a sender is dropped (it is gone).
    pub fn send(&self, broker: BrokerId, request: InterBrokerRequest) {
        match self.senders.get(&broker) {
            Some(sender) => {
                tracing::debug!(broker = %broker, api = ?request.api(), address = ?sender.address, "queueing controller request");
                let _ = sender.queue.send(request);
            }
            None => {
                tracing::debug!(broker = %broker, api = ?request.api(), "dropping a controller request to a broker without a channel")
            }
        }
    }
}

impl Drop for ChannelManager {
    fn drop(&mut self) {
        for sender in self.senders.values() {
            sender.task.abort();
        }
    }
}

fn version_of(api: InterBrokerApi) -> i16 {
    match api {
        InterBrokerApi::LeaderAndIsr => LEADER_AND_ISR_VERSION,
        InterBrokerApi::UpdateMetadata => UPDATE_METADATA_VERSION,
        InterBrokerApi::StopReplica => STOP_REPLICA_VERSION,
        // Not sent by the controller; the newest version serves as well as any.
        other => other.versions().1,
    }
}

/// Why one exchange failed (the request is then resent on a new connection).
#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("timed out after {SOCKET_TIMEOUT_MS} ms")]
    Timeout,
    #[error("SASL login: {0}")]
    Login(String),
    #[error("{0}")]
    Connect(String),
    #[error("codec: {0}")]
    Wire(#[from] crate::kafka::protocol::inter_broker::WireError),
    #[error("response frame of {0} bytes is over the bound")]
    FrameTooLarge(usize),
    #[error("response for correlation id {got}, expected {expected}")]
    Correlation { got: i32, expected: i32 },
}

async fn send_loop(
    controller_id: BrokerId,
    broker: BrokerId,
    broker_epoch: i64,
    address: (String, u16),
    client: InterBrokerClient,
    mut requests: mpsc::UnboundedReceiver<InterBrokerRequest>,
    delivered: mpsc::UnboundedSender<Delivered>,
) {
    let client_id = controller_id.0.to_string();
    let mut connection: Option<PeerStream> = None;
    // KIP-368: log in again before the session the broker granted runs out.
    let mut reauthenticate_at: Option<std::time::Instant> = None;
    let mut correlation_id: i32 = 0;
    while let Some(request) = requests.recv().await {
        let api = request.api();
        let version = version_of(api);
        let mut failures: u64 = 0;
        loop {
            correlation_id = correlation_id.wrapping_add(1);
            let header = RequestHeader {
                request_api_key: api.key(),
                request_api_version: version,
                correlation_id,
                client_id: Some(client_id.clone()),
                unknown_tagged_fields: Vec::new(),
            };
            let result = async {
                if connection.is_none() {
                    let stream = PeerStream::connect(
                        &address.0,
                        address.1,
                        client.tls.as_ref(),
                        SOCKET_TIMEOUT_MS,
                    )
                    .await
                    .map_err(|error| SendError::Connect(format!("{error:#}")))?;
                    connection = Some(stream);
                    reauthenticate_at = Some(std::time::Instant::now());
                }
                let stream = connection.as_mut().expect("connected above");
                if let Some(login) = &client.login {
                    if reauthenticate_at.is_some_and(|due| std::time::Instant::now() >= due) {
                        let lifetime_ms = tokio::time::timeout(
                            Duration::from_millis(SOCKET_TIMEOUT_MS),
                            client_login(stream, login, &client_id),
                        )
                        .await
                        .map_err(|_| SendError::Timeout)?
                        .map_err(|error| SendError::Login(error.to_string()))?;
                        reauthenticate_at = crate::kafka::peer::reauthentication_deadline(
                            std::time::Instant::now(),
                            lifetime_ms,
                        );
                    }
                }
                tokio::time::timeout(
                    Duration::from_millis(SOCKET_TIMEOUT_MS),
                    exchange(stream, &header, &request, api, version),
                )
                .await
                .map_err(|_| SendError::Timeout)?
            }
            .await;
            match result {
                Ok(response) => {
                    let _ = delivered.send(Delivered {
                        broker,
                        broker_epoch,
                        request,
                        response,
                    });
                    break;
                }
                Err(error) => {
                    connection = None;
                    failures += 1;
                    // The first failure of a streak is worth a warning; the
                    // retries every 100 ms are not.
                    if failures == 1 {
                        tracing::warn!(broker = %broker, %error, ?api, "controller request failed; retrying until the broker answers or goes away");
                    } else {
                        tracing::debug!(broker = %broker, %error, ?api, failures, "controller request failed again");
                    }
                    tokio::time::sleep(Duration::from_millis(RETRY_BACKOFF_MS)).await;
                }
            }
        }
    }
}

async fn exchange(
    stream: &mut PeerStream,
    header: &RequestHeader,
    request: &InterBrokerRequest,
    api: InterBrokerApi,
    version: i16,
) -> Result<InterBrokerResponse, SendError> {
    let mut body = BytesMut::new();
    encode_request(header, request, &mut body)?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    stream.write_all(&frame).await?;
    stream.flush().await?;
    let mut length = [0u8; 4];
    stream.read_exact(&mut length).await?;
    let length = u32::from_be_bytes(length) as usize;
    if length > RESPONSE_BYTES_MAX {
        return Err(SendError::FrameTooLarge(length));
    }
    let mut response = vec![0u8; length];
    stream.read_exact(&mut response).await?;
    let (response_header, body) = decode_response(api, version, &response)?;
    if response_header.correlation_id != header.correlation_id {
        return Err(SendError::Correlation {
            got: response_header.correlation_id,
            expected: header.correlation_id,
        });
    }
    Ok(body)
}

#[cfg(test)]
#[path = "channel_tests.rs"]
mod tests;
