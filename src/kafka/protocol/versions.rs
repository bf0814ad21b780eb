//! The APIs keel serves and the version range of each: what ApiVersions announces
//! and what the decoder accepts. A row appears here only when its handler exists.
//!
//! Minimums follow Kafka 4's baseline (KIP-896), the oldest the kafka-protocol
//! crate decodes, except where Kafka 3.9 serves older versions that clients of the
//! seed's era still send: those are read by `legacy` (Produce v0-v2 from Filebeat
//! with `output.kafka.version` 0.10.x, Fetch v0-v3 from 0.10-era consumers and
//! Burrow, ListOffsets v0 from Burrow, CreateTopics v0-v1, DeleteTopics v0,
//! DescribeConfigs v0 and DescribeLogDirs v0 from 0.10-1.x admin clients,
//! OffsetCommit v0-v1 and OffsetFetch v0 from 0.8-0.9 consumers and Burrow's
//! ZooKeeper-offset era, OffsetForLeaderEpoch v0-v1 from 0.11-2.0 brokers, the ACL
//! APIs' v0 from 1.x admin clients). Maximums stop
//! where a newer version would need semantics keel does not have yet.

use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::VersionRange;

/// (api, min, max) for every API keel serves.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 0, 11),
    (ApiKey::Fetch, 0, 17),
    (ApiKey::ListOffsets, 0, 9),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 0, 7),
    (ApiKey::DeleteTopics, 0, 6),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::InitProducerId, 0, 5),
    (ApiKey::OffsetForLeaderEpoch, 0, 4),
    (ApiKey::DescribeConfigs, 0, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::DescribeLogDirs, 0, 4),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::DescribeCluster, 0, 1),
    (ApiKey::DescribeTopicPartitions, 0, 0),
    (ApiKey::FindCoordinator, 0, 6),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::OffsetCommit, 0, 9),
    (ApiKey::OffsetFetch, 0, 9),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
    // Answered by the active controller (NOT_CONTROLLER elsewhere), as Kafka 3.9.
    (ApiKey::ElectLeaders, 0, 2),
    // KIP-455, answered by the controller (Apache 3.9: v0 only).
    (ApiKey::AlterPartitionReassignments, 0, 0),
    (ApiKey::ListPartitionReassignments, 0, 0),
    // Authentication (SASL listeners, `security::sasl`); elsewhere answered
    // ILLEGAL_SASL_STATE as Kafka's KafkaApis answers them.
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
    // KIP-546, in `/config`; byte rates enforced (`kafka::quota`).
    (ApiKey::DescribeClientQuotas, 0, 1),
    (ApiKey::AlterClientQuotas, 0, 1),
    // KIP-554, credentials in `/config/users` (Alter answered by the controller).
    (ApiKey::DescribeUserScramCredentials, 0, 0),
    (ApiKey::AlterUserScramCredentials, 0, 0),
    // The ZooKeeper-mode authorizer's ACLs (`apis::acls`); v0 (1.x clients,
    // literal patterns only) through `legacy`.
    (ApiKey::DescribeAcls, 0, 3),
    (ApiKey::CreateAcls, 0, 3),
    (ApiKey::DeleteAcls, 0, 3),
    // Broker to controller (Apache brokers at IBP >= 3.0 in ZooKeeper mode).
    (ApiKey::AllocateProducerIds, 0, 0),
];

pub fn supported(api_key: ApiKey) -> Option<VersionRange> {
    SUPPORTED
        .iter()
        .find(|(key, _, _)| *key == api_key)
        .map(|(_, min, max)| VersionRange {
            min: *min,
            max: *max,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_range_is_one_the_codec_can_read() {
        for (api_key, min, max) in SUPPORTED {
            let codec = api_key.valid_versions();
            let readable_min = super::super::legacy::min_legacy_version(*api_key)
                .map_or(codec.min, |legacy| legacy.min(codec.min));
            assert!(
                readable_min <= *min && *max <= codec.max,
                "{api_key:?} {min}..{max} outside {codec}"
            );
        }
    }
}
