//! The checks and replica placement of Kafka's AdminZkClient / ZkAdminManager, as
//! pure functions: topic names, replica assignment, partition growth, config names.
//!
//! Every refusal is a [`MetadataError`] carrying the Kafka error code and the message
//! Kafka puts in its exception, so clients print the same text against keel.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::ResponseError;

use crate::kafka::metadata::{BrokerId, MetadataError};

/// `Topic.MAX_NAME_LENGTH`.
pub const TOPIC_NAME_LENGTH_MAX: usize = 249;

pub fn error(code: ResponseError, message: impl Into<String>) -> MetadataError {
    MetadataError {
        code: code.code(),
        message: message.into(),
    }
}

/// `Topic.validate`: INVALID_TOPIC_EXCEPTION with Kafka's reason.
pub fn validate_topic_name(name: &str) -> Result<(), MetadataError> {
    let reason = if name.is_empty() {
        Some("the empty string is not allowed".to_string())
    } else if name == "." {
        Some("'.' is not allowed".to_string())
    } else if name == ".." {
        Some("'..' is not allowed".to_string())
    } else if name.chars().count() > TOPIC_NAME_LENGTH_MAX {
        Some(format!(
            "the length of '{name}' is longer than the max allowed length {TOPIC_NAME_LENGTH_MAX}"
        ))
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Some(format!(
            "'{name}' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'"
        ))
    } else {
        None
    };
    match reason {
        Some(reason) => Err(error(
            ResponseError::InvalidTopicException,
            format!("Topic name is invalid: {reason}"),
        )),
        None => Ok(()),
    }
}

/// `Topic.hasCollision`: '.' and '_' map to the same metric name.
pub fn topics_collide(a: &str, b: &str) -> bool {
    a.replace('.', "_") == b.replace('.', "_")
}

/// The existence and collision checks of `AdminZkClient.validateTopicCreate`.
pub fn validate_topic_is_new(
    name: &str,
    existing: &BTreeSet<String>,
    marked_for_deletion: bool,
) -> Result<(), MetadataError> {
    if marked_for_deletion {
        return Err(error(
            ResponseError::TopicAlreadyExists,
            format!("Topic '{name}' is marked for deletion."),
        ));
    }
    if existing.contains(name) {
        return Err(error(
            ResponseError::TopicAlreadyExists,
            format!("Topic '{name}' already exists."),
        ));
    }
    if name.contains(['.', '_']) {
        let colliding: Vec<&str> = existing
            .iter()
            .filter(|other| topics_collide(name, other))
            .map(String::as_str)
            .collect();
        if !colliding.is_empty() {
            return Err(error(
                ResponseError::InvalidTopicException,
                format!(
                    "Topic '{name}' collides with existing topics: {}",
                    colliding.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Randomness for replica placement, injected so tests are deterministic.
pub trait StartIndex {
    /// A value in `0..bound` (Kafka's `RAND.nextInt(bound)`).
    fn next(&mut self, bound: usize) -> usize;
}

/// The thread-local RNG behind `uuid`'s v4 ids is the only randomness at hand; a
/// UUID's random bits are plenty for picking a starting broker.
pub struct RandomStart;

impl StartIndex for RandomStart {
    fn next(&mut self, bound: usize) -> usize {
        (uuid::Uuid::new_v4().as_u128() % bound.max(1) as u128) as usize
    }
}

/// A fixed start, as `createNewPartitionsAssignment` passes.
pub struct FixedStart(pub usize);

impl StartIndex for FixedStart {
    fn next(&mut self, _bound: usize) -> usize {
        self.0
    }
}

/// `AdminUtils.assignReplicasToBrokers` without racks: round-robin first replicas
/// from a random start, followers shifted so replica sets spread evenly.
/// `brokers` must be sorted by id, as `getBrokerMetadatas` returns them.
pub fn assign_replicas(
    brokers: &[BrokerId],
    partitions: i32,
    replication_factor: i32,
    start: &mut dyn StartIndex,
    start_partition: i32,
) -> Result<BTreeMap<i32, Vec<BrokerId>>, MetadataError> {
    if partitions <= 0 {
        return Err(error(
            ResponseError::InvalidPartitions,
            "Number of partitions must be larger than 0.",
        ));
    }
    if replication_factor <= 0 {
        return Err(error(
            ResponseError::InvalidReplicationFactor,
            "Replication factor must be larger than 0.",
        ));
    }
    if replication_factor as usize > brokers.len() {
        return Err(error(
            ResponseError::InvalidReplicationFactor,
            format!(
                "Replication factor: {replication_factor} larger than available brokers: {}.",
                brokers.len()
            ),
        ));
    }
    let count = brokers.len();
    let start_index = start.next(count);
    let mut next_replica_shift = start.next(count);
    let first_partition = start_partition.max(0) as usize;
    let mut assignment = BTreeMap::new();
    for current_partition in first_partition..first_partition + partitions as usize {
        if current_partition > 0 && current_partition.is_multiple_of(count) {
            next_replica_shift += 1;
        }
        let first = (current_partition + start_index) % count;
        let mut replicas = vec![brokers[first]];
        for j in 0..(replication_factor as usize - 1) {
            let shift = 1 + (next_replica_shift + j) % (count - 1);
            replicas.push(brokers[(first + shift) % count]);
        }
        assignment.insert(current_partition as i32, replicas);
    }
    Ok(assignment)
}

/// The explicit-assignment checks of `validateTopicCreate`.
pub fn validate_explicit_assignment(
    assignment: &BTreeMap<i32, Vec<BrokerId>>,
) -> Result<(), MetadataError> {
    let sizes: BTreeSet<usize> = assignment.values().map(Vec::len).collect();
    if sizes.len() != 1 {
        return Err(error(
            ResponseError::InvalidReplicaAssignment,
            "All partitions should have the same number of replicas",
        ));
    }
    for replicas in assignment.values() {
        let unique: BTreeSet<&BrokerId> = replicas.iter().collect();
        if unique.len() != replicas.len() {
            return Err(error(
                ResponseError::InvalidReplicaAssignment,
                format!(
                    "Duplicate replica assignment found: {}",
                    describe_assignment(assignment)
                ),
            ));
        }
    }
    let count = assignment.len() as i64;
    let sum: i64 = assignment
        .keys()
        .filter(|partition| **partition >= 0)
        .map(|partition| *partition as i64)
        .sum();
    if sum != count * (count - 1) / 2 {
        return Err(error(
            ResponseError::InvalidReplicaAssignment,
            "partitions should be a consecutive 0-based integer sequence",
        ));
    }
    Ok(())
}

/// Scala's `Map(0 -> List(1, 2), ...)` rendering, for messages.
fn describe_assignment(assignment: &BTreeMap<i32, Vec<BrokerId>>) -> String {
    let parts: Vec<String> = assignment
        .iter()
        .map(|(partition, replicas)| {
            let ids: Vec<String> = replicas.iter().map(|id| id.0.to_string()).collect();
            format!("{partition} -> List({})", ids.join(", "))
        })
        .collect();
    format!("Map({})", parts.join(", "))
}

/// `ZkAdminManager.createPartitions` plus `AdminZkClient.createNewPartitionsAssignment`:
/// the assignment of the partitions to add. `brokers` are all registered brokers,
/// sorted by id.
pub fn new_partitions_assignment(
    topic: &str,
    existing: &BTreeMap<i32, Vec<BrokerId>>,
    reassigning: bool,
    brokers: &[BrokerId],
    total: i32,
    explicit: Option<&[Vec<BrokerId>]>,
) -> Result<BTreeMap<i32, Vec<BrokerId>>, MetadataError> {
    if existing.is_empty() {
        return Err(error(
            ResponseError::UnknownTopicOrPartition,
            format!("The topic '{topic}' does not exist."),
        ));
    }
    if reassigning {
        return Err(error(
            ResponseError::ReassignmentInProgress,
            format!("A partition reassignment is in progress for the topic '{topic}'."),
        ));
    }
    let old_count = existing.len() as i32;
    let increment = total - old_count;
    if increment < 0 {
        return Err(error(
            ResponseError::InvalidPartitions,
            format!(
                "Topic currently has {old_count} partitions, which is higher than the requested {total}."
            ),
        ));
    }
    if increment == 0 {
        return Err(error(
            ResponseError::InvalidPartitions,
            format!("Topic already has {old_count} partitions."),
        ));
    }
    let partition_0 = existing.get(&0).ok_or_else(|| {
        error(
            ResponseError::UnknownServerError,
            format!(
                "Unexpected existing replica assignment for topic '{topic}', partition id 0 is missing."
            ),
        )
    })?;
    let available: BTreeSet<BrokerId> = brokers.iter().copied().collect();
    match explicit {
        Some(assignments) => {
            let unknown: BTreeSet<BrokerId> = assignments
                .iter()
                .flatten()
                .filter(|id| !available.contains(id))
                .copied()
                .collect();
            if !unknown.is_empty() {
                let ids: Vec<String> = unknown.iter().map(|id| id.0.to_string()).collect();
                return Err(error(
                    ResponseError::InvalidReplicaAssignment,
                    format!(
                        "Unknown broker(s) in replica assignment: {}.",
                        ids.join(", ")
                    ),
                ));
            }
            if assignments.len() as i32 != increment {
                return Err(error(
                    ResponseError::InvalidReplicaAssignment,
                    format!(
                        "Increasing the number of partitions by {increment} but {} assignments provided.",
                        assignments.len()
                    ),
                ));
            }
            let mut proposed = BTreeMap::new();
            for (index, replicas) in assignments.iter().enumerate() {
                let partition = old_count + index as i32;
                if replicas.is_empty() {
                    return Err(error(
                        ResponseError::InvalidReplicaAssignment,
                        format!(
                            "Cannot have replication factor of 0 for partition id {partition}."
                        ),
                    ));
                }
                let unique: BTreeSet<&BrokerId> = replicas.iter().collect();
                if unique.len() != replicas.len() {
                    let ids: Vec<String> = replicas.iter().map(|id| id.0.to_string()).collect();
                    return Err(error(
                        ResponseError::InvalidReplicaAssignment,
                        format!(
                            "Duplicate brokers not allowed in replica assignment: {} for partition id {partition}.",
                            ids.join(", ")
                        ),
                    ));
                }
                proposed.insert(partition, replicas.clone());
            }
            let bad: Vec<(i32, usize)> = proposed
                .iter()
                .filter(|(_, replicas)| replicas.len() != partition_0.len())
                .map(|(partition, replicas)| (*partition, replicas.len()))
                .collect();
            if !bad.is_empty() {
                let partitions: Vec<String> = bad.iter().map(|(p, _)| p.to_string()).collect();
                let factors: Vec<String> = bad.iter().map(|(_, rf)| rf.to_string()).collect();
                return Err(error(
                    ResponseError::InvalidReplicaAssignment,
                    format!(
                        "Inconsistent replication factor between partitions, partition 0 has {} while partitions [{}] have replication factors [{}], respectively.",
                        partition_0.len(),
                        partitions.join(", "),
                        factors.join(", ")
                    ),
                ));
            }
            Ok(proposed)
        }
        None => {
            // Kafka starts the new partitions where partition 0's preferred leader sits.
            let start_index = brokers
                .iter()
                .position(|id| *id >= partition_0[0])
                .unwrap_or(0);
            assign_replicas(
                brokers,
                increment,
                partition_0.len() as i32,
                &mut FixedStart(start_index),
                old_count,
            )
        }
    }
}

/// Topic-level config names (`TopicConfig` / `LogConfig`, Kafka 3.9). Anything else
/// is refused as `LogConfig.validateNames` does.
pub const TOPIC_CONFIG_NAMES: &[&str] = &[
    "cleanup.policy",
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.type",
    "compression.zstd.level",
    "delete.retention.ms",
    "file.delete.delay.ms",
    "flush.messages",
    "flush.ms",
    "follower.replication.throttled.replicas",
    "index.interval.bytes",
    "leader.replication.throttled.replicas",
    "local.retention.bytes",
    "local.retention.ms",
    "max.compaction.lag.ms",
    "max.message.bytes",
    "message.downconversion.enable",
    "message.format.version",
    "message.timestamp.after.max.ms",
    "message.timestamp.before.max.ms",
    "message.timestamp.difference.max.ms",
    "message.timestamp.type",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "preallocate",
    "remote.log.copy.disable",
    "remote.log.delete.on.disable",
    "remote.storage.enable",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.index.bytes",
    "segment.jitter.ms",
    "segment.ms",
    "unclean.leader.election.enable",
];

/// `LogConfig.validateNames`: INVALID_CONFIG for a name no topic config has.
pub fn validate_topic_config_names(
    configs: &BTreeMap<String, String>,
) -> Result<(), MetadataError> {
    for name in configs.keys() {
        if !TOPIC_CONFIG_NAMES.contains(&name.as_str()) {
            return Err(error(
                ResponseError::InvalidConfig,
                format!("Unknown topic config name: {name}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[i32]) -> Vec<BrokerId> {
        list.iter().map(|id| BrokerId(*id)).collect()
    }

    #[test]
    fn topic_names() {
        assert!(validate_topic_name("test").is_ok());
        assert!(validate_topic_name("a.b_c-D9").is_ok());
        assert!(validate_topic_name(&"x".repeat(249)).is_ok());
        let long = validate_topic_name(&"x".repeat(250)).unwrap_err();
        assert_eq!(long.code, 17);
        assert!(long
            .message
            .contains("longer than the max allowed length 249"));
        assert_eq!(
            validate_topic_name(".").unwrap_err().message,
            "Topic name is invalid: '.' is not allowed"
        );
        assert_eq!(
            validate_topic_name("..").unwrap_err().message,
            "Topic name is invalid: '..' is not allowed"
        );
        assert_eq!(
            validate_topic_name("").unwrap_err().message,
            "Topic name is invalid: the empty string is not allowed"
        );
        assert_eq!(
            validate_topic_name("a b").unwrap_err().message,
            "Topic name is invalid: 'a b' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'"
        );
        assert!(validate_topic_name("é").is_err());
    }

    #[test]
    fn existence_and_collisions() {
        let existing: BTreeSet<String> = ["a.b".to_string(), "t".to_string()].into();
        // The message kafka-topics 2.2.1 printed for exactly this case.
        let collision = validate_topic_is_new("a_b", &existing, false).unwrap_err();
        assert_eq!(collision.code, 17);
        assert_eq!(
            collision.message,
            "Topic 'a_b' collides with existing topics: a.b"
        );
        let exists = validate_topic_is_new("t", &existing, false).unwrap_err();
        assert_eq!(
            (exists.code, exists.message.as_str()),
            (36, "Topic 't' already exists.")
        );
        let marked = validate_topic_is_new("u", &existing, true).unwrap_err();
        assert_eq!(marked.message, "Topic 'u' is marked for deletion.");
        assert!(validate_topic_is_new("u", &existing, false).is_ok());
    }

    #[test]
    fn round_robin_like_kafka() {
        // Kafka's AdminUtilsTest.testReplicaAssignment: brokers 0..4, 10 partitions,
        // rf 3, fixed start index 0.
        let brokers = ids(&[0, 1, 2, 3, 4]);
        let assignment = assign_replicas(&brokers, 10, 3, &mut FixedStart(0), 0).unwrap();
        let expected: BTreeMap<i32, Vec<BrokerId>> = [
            (0, ids(&[0, 1, 2])),
            (1, ids(&[1, 2, 3])),
            (2, ids(&[2, 3, 4])),
            (3, ids(&[3, 4, 0])),
            (4, ids(&[4, 0, 1])),
            (5, ids(&[0, 2, 3])),
            (6, ids(&[1, 3, 4])),
            (7, ids(&[2, 4, 0])),
            (8, ids(&[3, 0, 1])),
            (9, ids(&[4, 1, 2])),
        ]
        .into();
        assert_eq!(assignment, expected);
        let single = assign_replicas(&ids(&[1]), 3, 1, &mut RandomStart, 0).unwrap();
        assert_eq!(single.len(), 3);
        assert!(single.values().all(|replicas| replicas == &ids(&[1])));
    }

    #[test]
    fn counts_are_checked() {
        let brokers = ids(&[1]);
        let rf = assign_replicas(&brokers, 1, 3, &mut RandomStart, 0).unwrap_err();
        assert_eq!(rf.code, 38);
        assert_eq!(
            rf.message,
            "Replication factor: 3 larger than available brokers: 1."
        );
        assert_eq!(
            assign_replicas(&brokers, 0, 1, &mut RandomStart, 0)
                .unwrap_err()
                .code,
            37
        );
        assert_eq!(
            assign_replicas(&brokers, 1, 0, &mut RandomStart, 0)
                .unwrap_err()
                .code,
            38
        );
    }

    #[test]
    fn explicit_assignments() {
        let good: BTreeMap<i32, Vec<BrokerId>> = [(0, ids(&[1, 2])), (1, ids(&[2, 1]))].into();
        assert!(validate_explicit_assignment(&good).is_ok());
        let uneven: BTreeMap<i32, Vec<BrokerId>> = [(0, ids(&[1, 2])), (1, ids(&[2]))].into();
        assert_eq!(validate_explicit_assignment(&uneven).unwrap_err().code, 39);
        let duplicate: BTreeMap<i32, Vec<BrokerId>> = [(0, ids(&[1, 1]))].into();
        assert_eq!(
            validate_explicit_assignment(&duplicate)
                .unwrap_err()
                .message,
            "Duplicate replica assignment found: Map(0 -> List(1, 1))"
        );
        let gap: BTreeMap<i32, Vec<BrokerId>> = [(0, ids(&[1])), (2, ids(&[1]))].into();
        assert_eq!(
            validate_explicit_assignment(&gap).unwrap_err().message,
            "partitions should be a consecutive 0-based integer sequence"
        );
    }

    #[test]
    fn growing_partitions() {
        let existing: BTreeMap<i32, Vec<BrokerId>> = [(0, ids(&[2, 1])), (1, ids(&[1, 2]))].into();
        let brokers = ids(&[1, 2, 3]);
        let added = new_partitions_assignment("t", &existing, false, &brokers, 4, None).unwrap();
        assert_eq!(added.keys().copied().collect::<Vec<_>>(), vec![2, 3]);
        assert!(added.values().all(|replicas| replicas.len() == 2));
        let same = new_partitions_assignment("t", &existing, false, &brokers, 2, None).unwrap_err();
        assert_eq!(
            (same.code, same.message.as_str()),
            (37, "Topic already has 2 partitions.")
        );
        let fewer =
            new_partitions_assignment("t", &existing, false, &brokers, 1, None).unwrap_err();
        assert_eq!(
            fewer.message,
            "Topic currently has 2 partitions, which is higher than the requested 1."
        );
        let missing =
            new_partitions_assignment("t", &BTreeMap::new(), false, &brokers, 3, None).unwrap_err();
        assert_eq!(missing.code, 3);
        let moving =
            new_partitions_assignment("t", &existing, true, &brokers, 3, None).unwrap_err();
        assert_eq!(moving.code, 60);
        let explicit = [ids(&[3, 1])];
        let added =
            new_partitions_assignment("t", &existing, false, &brokers, 3, Some(&explicit)).unwrap();
        assert_eq!(added[&2], ids(&[3, 1]));
        let unknown = [ids(&[9, 1])];
        assert_eq!(
            new_partitions_assignment("t", &existing, false, &brokers, 3, Some(&unknown))
                .unwrap_err()
                .message,
            "Unknown broker(s) in replica assignment: 9."
        );
        let too_many = [ids(&[3, 1]), ids(&[1, 3])];
        assert_eq!(
            new_partitions_assignment("t", &existing, false, &brokers, 3, Some(&too_many))
                .unwrap_err()
                .message,
            "Increasing the number of partitions by 1 but 2 assignments provided."
        );
        let wrong_rf = [ids(&[3])];
        assert!(
            new_partitions_assignment("t", &existing, false, &brokers, 3, Some(&wrong_rf))
                .unwrap_err()
                .message
                .starts_with(
                    "Inconsistent replication factor between partitions, partition 0 has 2"
                )
        );
    }

    #[test]
    fn config_names() {
        let good: BTreeMap<String, String> = [("retention.ms".to_string(), "1".to_string())].into();
        assert!(validate_topic_config_names(&good).is_ok());
        let bad: BTreeMap<String, String> =
            [("retention.hours".to_string(), "1".to_string())].into();
        let refused = validate_topic_config_names(&bad).unwrap_err();
        assert_eq!(refused.code, 40);
        assert_eq!(
            refused.message,
            "Unknown topic config name: retention.hours"
        );
    }
}
