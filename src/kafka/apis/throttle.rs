//! Client quotas applied to answers, as KafkaApis applies them: a Produce counts
//! its request size against `producer_byte_rate`, a consumer's Fetch its response
//! size against `consumer_byte_rate` (follower fetches are not client traffic), and
//! every request but the inter-broker ones its handler time against
//! `request_percentage`. The quota that applies is chosen by user (the request's
//! principal, sanitized) and client id (`kafka::quota`). Over a quota, the answer
//! carries the throttle time (the larger of the byte-rate and request throttles); a
//! throttled Fetch goes out empty, its bytes taken back, as Kafka's
//! `getThrottledResponse`; and `kafka::server` reads nothing more from the connection
//! for that long (KIP-219's muted channel).
//!
//! Handler time is the time the request's future spent being polled, not the time
//! it waited (a long-polling Fetch, a Produce waiting for its replicas): what
//! Kafka's `requestThreadTimeNanos` counts of a request-handler thread. The network
//! threads' share that Kafka adds (reading and writing the bytes) is not counted.

use kafka_protocol::messages::{ApiKey, ResponseKind};

use crate::kafka::authz::current_session;
use crate::kafka::broker::Broker;
use crate::kafka::controller::zk_layout::sanitize;
use crate::kafka::fetch_session::INVALID_SESSION_ID;
use crate::kafka::protocol::Response;
use crate::kafka::quota::{nanos_to_percentage, QuotaKind, SensorKey};

/// What the quotas need to know of a request besides its answer.
pub struct Metered<'a> {
    pub api_key: ApiKey,
    pub client_id: &'a str,
    pub request_bytes: usize,
    pub follower_fetch: bool,
    /// A Fetch inside an incremental fetch session keeps its session id when
    /// emptied; a full one is answered without a session, as Kafka's contexts do.
    pub incremental_fetch: bool,
    /// The time the request's handling spent running (not waiting).
    pub handler_nanos: u64,
}

impl Metered<'_> {
    /// Requests Kafka answers with `sendResponseExemptThrottle`: other brokers'
    /// (replication, partition state, transaction markers; LeaderAndIsr,
    /// UpdateMetadata, StopReplica and ControlledShutdown never reach `dispatch`,
    /// `kafka::server` answers them), and acks=0 Produces
    /// (`sendNoOpResponseExemptThrottle`), which have no answer to carry a throttle.
    fn exempt_from_request_quota(&self, response: Option<&Response>) -> bool {
        self.follower_fetch
            || matches!(
                self.api_key,
                ApiKey::WriteTxnMarkers | ApiKey::AlterPartition
            )
            || (self.api_key == ApiKey::Produce && response.is_none())
    }
}

/// Counts the request against its quotas and returns the throttle time (0 when
/// within them, or when no quota applies), set into the response.
pub fn apply(broker: &Broker, request: &Metered<'_>, response: Option<&mut Response>) -> i32 {
    let metadata = broker.metadata.current();
    if metadata.quotas.is_empty() {
        return 0;
    }
    let Some(session) = current_session() else {
        return 0;
    };
    let name = session
        .requester
        .principal
        .split_once(':')
        .map_or(session.requester.principal.as_str(), |(_, name)| name);
    let user = sanitize(name);
    let now_ms = broker.now_ms();
    let mut sensors = broker
        .quota_sensors
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut record = |kind: QuotaKind, value: f64| -> Option<(SensorKey, f64, i32)> {
        let (key, bound) = metadata.quotas.resolve(kind, &user, request.client_id)?;
        let throttle_ms = clamp(sensors.record(&key, bound, value, now_ms));
        Some((key, value, throttle_ms))
    };
    let request_throttle_ms = if request.exempt_from_request_quota(response.as_deref()) {
        0
    } else {
        record(
            QuotaKind::Request,
            nanos_to_percentage(request.handler_nanos),
        )
        .map_or(0, |(_, _, throttle_ms)| throttle_ms)
    };
    match response {
        Some(Response::Message(ResponseKind::Produce(produce))) => {
            let bandwidth_ms = record(QuotaKind::Produce, request.request_bytes as f64)
                .map_or(0, |(_, _, throttle_ms)| throttle_ms);
            let throttle_ms = bandwidth_ms.max(request_throttle_ms);
            produce.throttle_time_ms = produce.throttle_time_ms.max(throttle_ms);
            throttle_ms
        }
        // acks=0: no answer, but the bytes count and the connection is muted.
        None if request.request_bytes > 0 && !request.follower_fetch => {
            record(QuotaKind::Produce, request.request_bytes as f64)
                .map_or(0, |(_, _, throttle_ms)| throttle_ms)
        }
        Some(Response::Fetch(reply)) if !request.follower_fetch => {
            let bandwidth = record(QuotaKind::Fetch, fetch_response_bytes(reply));
            let bandwidth_ms = bandwidth.as_ref().map_or(0, |(_, _, ms)| *ms);
            let throttle_ms = bandwidth_ms.max(request_throttle_ms);
            if throttle_ms > 0 {
                // Empty, whichever quota was violated: the bytes it would have
                // carried are taken back.
                if let Some((key, size, _)) = bandwidth {
                    sensors.unrecord(&key, size, now_ms);
                }
                reply.responses.clear();
                reply.node_endpoints.clear();
                if !request.incremental_fetch {
                    reply.session_id = INVALID_SESSION_ID;
                }
                reply.throttle_time_ms = throttle_ms;
            }
            throttle_ms
        }
        Some(Response::Message(message)) if request_throttle_ms > 0 => {
            set_throttle_time(message, request_throttle_ms);
            request_throttle_ms
        }
        Some(Response::ListOffsetsV0(_)) => request_throttle_ms,
        _ => 0,
    }
}

/// The most a consumer's Fetch may return under its `consumer_byte_rate`: the
/// quota over the window's whole samples (`getMaxValueInQuotaWindow`); `None`
/// without a fetch quota.
pub fn fetch_bytes_cap(broker: &Broker, client_id: &str) -> Option<i32> {
    let metadata = broker.metadata.current();
    if metadata.quotas.is_empty() {
        return None;
    }
    let session = current_session()?;
    let name = session
        .requester
        .principal
        .split_once(':')
        .map_or(session.requester.principal.as_str(), |(_, name)| name);
    let (_, bound) = metadata
        .quotas
        .resolve(QuotaKind::Fetch, &sanitize(name), client_id)?;
    let window = broker.config.quota_window;
    let seconds = (i64::from(window.samples) - 1).max(1) as f64 * window.sample_ms as f64 / 1000.0;
    Some((bound * seconds).clamp(1.0, f64::from(i32::MAX)) as i32)
}

/// Sets `throttle_time_ms` in any answer that has the field (Kafka's
/// `maybeSetThrottleTimeMs`); kafka-protocol writes it only in the versions that
/// carry it.
fn set_throttle_time(response: &mut ResponseKind, throttle_ms: i32) {
    macro_rules! with_throttle_field {
        ($($variant:ident)*) => {
            match response {
                $(ResponseKind::$variant(body) => body.throttle_time_ms = throttle_ms,)*
                _ => {}
            }
        };
    }
    with_throttle_field! {
            AddOffsetsToTxn
            AddPartitionsToTxn
            AddRaftVoter
            AllocateProducerIds
            AlterClientQuotas
            AlterConfigs
            AlterPartitionReassignments
            AlterPartition
            AlterReplicaLogDirs
            AlterShareGroupOffsets
            AlterUserScramCredentials
            ApiVersions
            AssignReplicasToDirs
            BrokerHeartbeat
            BrokerRegistration
            ConsumerGroupDescribe
            ConsumerGroupHeartbeat
            ControllerRegistration
            CreateAcls
            CreateDelegationToken
            CreatePartitions
            CreateTopics
            DeleteAcls
            DeleteGroups
            DeleteRecords
            DeleteShareGroupOffsets
            DeleteTopics
            DescribeAcls
            DescribeClientQuotas
            DescribeCluster
            DescribeConfigs
            DescribeDelegationToken
            DescribeGroups
            DescribeLogDirs
            DescribeProducers
            DescribeShareGroupOffsets
            DescribeTopicPartitions
            DescribeTransactions
            DescribeUserScramCredentials
            ElectLeaders
            EndTxn
            ExpireDelegationToken
            Fetch
            FetchSnapshot
            FindCoordinator
            GetTelemetrySubscriptions
            Heartbeat
            IncrementalAlterConfigs
            InitProducerId
            JoinGroup
            LeaveGroup
            ListConfigResources
            ListGroups
            ListOffsets
            ListPartitionReassignments
            ListTransactions
            Metadata
            OffsetCommit
            OffsetDelete
            OffsetFetch
            OffsetForLeaderEpoch
            Produce
            PushTelemetry
            RemoveRaftVoter
            RenewDelegationToken
            ShareAcknowledge
            ShareFetch
            ShareGroupDescribe
            ShareGroupHeartbeat
            SyncGroup
            TxnOffsetCommit
            UnregisterBroker
            UpdateFeatures
            UpdateRaftVoter
    }
}

fn clamp(throttle_ms: i64) -> i32 {
    throttle_ms.clamp(0, i64::from(i32::MAX)) as i32
}

/// A Fetch response's size as Kafka counts it for the quota: its records plus the
/// fixed fields of each topic and partition (close to `FetchResponse.sizeOf`).
fn fetch_response_bytes(reply: &crate::kafka::protocol::fetch_response::FetchReply) -> f64 {
    let mut bytes = 16 + reply.records_bytes();
    for topic in &reply.responses {
        bytes += 2 + topic.topic.len() as u64 + 16 + 4;
        bytes += topic.partitions.len() as u64 * 50;
    }
    bytes as f64
}
