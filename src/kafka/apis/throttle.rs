//! Client byte-rate quotas applied to answers, as KafkaApis applies them: a
//! Produce counts its request size against `producer_byte_rate`, a consumer's Fetch
//! its response size against `consumer_byte_rate` (follower fetches are not client
//! traffic). The quota that applies is chosen by user (the request's principal,
//! sanitized) and client id (`kafka::quota`). Over the quota, the answer carries
//! the throttle time; a throttled Fetch goes out empty, its bytes taken back, as
//! Kafka's `getThrottledResponse`; and `kafka::server` reads nothing more from the
//! connection for that long (KIP-219's muted channel).

use kafka_protocol::messages::ResponseKind;

use crate::kafka::authz::current_session;
use crate::kafka::broker::Broker;
use crate::kafka::controller::zk_layout::sanitize;
use crate::kafka::fetch_session::INVALID_SESSION_ID;
use crate::kafka::protocol::Response;
use crate::kafka::quota::QuotaKind;

/// What the quotas need to know of a request besides its answer.
pub struct Metered<'a> {
    pub client_id: &'a str,
    pub request_bytes: usize,
    pub follower_fetch: bool,
    /// A Fetch inside an incremental fetch session keeps its session id when
    /// emptied; a full one is answered without a session, as Kafka's contexts do.
    pub incremental_fetch: bool,
}

/// Counts the request against its quota and returns the throttle time (0 when
/// within it, or when no quota applies), set into the response.
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
    match response {
        Some(Response::Message(ResponseKind::Produce(produce))) => {
            let Some((key, bound)) =
                metadata
                    .quotas
                    .resolve(QuotaKind::Produce, &user, request.client_id)
            else {
                return 0;
            };
            let throttle_ms =
                clamp(sensors.record(&key, bound, request.request_bytes as f64, now_ms));
            produce.throttle_time_ms = produce.throttle_time_ms.max(throttle_ms);
            throttle_ms
        }
        // acks=0: no answer, but the bytes count and the connection is muted.
        None if request.request_bytes > 0 && !request.follower_fetch => {
            let Some((key, bound)) =
                metadata
                    .quotas
                    .resolve(QuotaKind::Produce, &user, request.client_id)
            else {
                return 0;
            };
            clamp(sensors.record(&key, bound, request.request_bytes as f64, now_ms))
        }
        Some(Response::Fetch(reply)) if !request.follower_fetch => {
            let Some((key, bound)) =
                metadata
                    .quotas
                    .resolve(QuotaKind::Fetch, &user, request.client_id)
            else {
                return 0;
            };
            let size = fetch_response_bytes(reply);
            let throttle_ms = clamp(sensors.record(&key, bound, size, now_ms));
            if throttle_ms > 0 {
                sensors.unrecord(&key, size, now_ms);
                reply.responses.clear();
                reply.node_endpoints.clear();
                if !request.incremental_fetch {
                    reply.session_id = INVALID_SESSION_ID;
                }
                reply.throttle_time_ms = throttle_ms;
            }
            throttle_ms
        }
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
