//! One handler module per API area; `dispatch` is the one match from a decoded
//! request to its handler.
//!
//! # Layout
//! - `api_versions`: ApiVersions, including the v0 fallback.
//! - `metadata`: Metadata, with topic auto-creation.
//! - `produce`: Produce (acks 0, 1, all).
//! - `fetch`: Fetch with long polling.
//! - `list_offsets`: ListOffsets (earliest, latest, max timestamp, by time).
//! - `admin`: CreateTopics, DeleteTopics, CreatePartitions, DescribeCluster,
//!   DescribeTopicPartitions, DeleteRecords, DescribeLogDirs.
//! - `configs`: DescribeConfigs, AlterConfigs, IncrementalAlterConfigs.
//! - `producer_id`: InitProducerId and OffsetForLeaderEpoch.

pub mod admin;
pub mod api_versions;
pub mod configs;
pub mod fetch;
pub mod list_offsets;
pub mod metadata;
pub mod produce;
pub mod producer_id;

use std::sync::Arc;

use kafka_protocol::messages::{RequestKind, ResponseKind};

use crate::kafka::broker::Broker;
use crate::kafka::protocol::Request;

pub async fn dispatch(broker: &Arc<Broker>, request: Request) -> Option<ResponseKind> {
    let version = request.header.request_api_version;
    match request.body {
        RequestKind::ApiVersions(_) => Some(ResponseKind::ApiVersions(api_versions::handle())),
        RequestKind::Metadata(body) => Some(ResponseKind::Metadata(
            metadata::handle(broker, version, body).await,
        )),
        RequestKind::Produce(body) => produce::handle(broker, version, body)
            .await
            .map(ResponseKind::Produce),
        RequestKind::Fetch(body) => Some(ResponseKind::Fetch(
            fetch::handle(broker, version, body).await,
        )),
        RequestKind::ListOffsets(body) => Some(ResponseKind::ListOffsets(list_offsets::handle(
            broker, version, body,
        ))),
        other => {
            // The decoder only lets through APIs listed in protocol::versions, each
            // of which has a handler above; reaching here is a bug.
            tracing::error!(api = ?request.api_key, "no handler for a supported API");
            debug_assert!(false, "no handler for {other:?}");
            None
        }
    }
}

/// Strings in responses.
pub(crate) fn str_bytes(text: &str) -> kafka_protocol::protocol::StrBytes {
    kafka_protocol::protocol::StrBytes::from_string(text.to_string())
}
