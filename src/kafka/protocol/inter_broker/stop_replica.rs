//! StopReplica (API key 5, v0-4, flexible from v2): the controller tells a broker
//! to stop replicating partitions, and possibly delete them. Mirrors Apache 3.9's
//! `StopReplicaRequest.json` / `StopReplicaResponse.json`. The partition list has
//! three shapes: v0 `ungrouped_partitions` (topic and partition per entry), v1-2
//! `topics` (name and partition indexes) with one request-wide `delete_partitions`,
//! v3+ `topic_states` with a leader epoch and a delete flag per partition.

use super::wire::{check_not_in_version, RawTaggedField, Reader, WireError, Writer};
use super::InterBrokerMessage;
use crate::kafka::config::BrokerId;

/// `LeaderEpoch` meaning "skip the epoch check" (`LeaderAndIsr.NoEpoch`).
pub const LEADER_EPOCH_NONE: i32 = -1;
/// `LeaderEpoch` sent while the topic is queued for deletion (`EpochDuringDelete`).
pub const LEADER_EPOCH_DURING_DELETE: i32 = -2;

/// A v0 partition: a topic name (one byte at least) and the index.
const PARTITION_V0_BYTES_MIN: usize = 5;
/// A v1-2 topic: a name and an index count.
const TOPIC_V1_BYTES_MIN: usize = 2;
/// A v3+ topic state: a name and a partition count.
const TOPIC_STATE_BYTES_MIN: usize = 2;
/// A v3+ partition state: index, leader epoch and delete flag.
const PARTITION_STATE_BYTES_MIN: usize = 9;
/// A response partition error: topic name, index and error code.
const PARTITION_ERROR_BYTES_MIN: usize = 7;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopReplicaRequest {
    /// `ControllerId`.
    pub controller_id: BrokerId,
    /// `isKRaftController`, v4+ (not ignorable; default false).
    pub is_kraft_controller: bool,
    /// `ControllerEpoch`.
    pub controller_epoch: i32,
    /// `BrokerEpoch`, v1+ (ignorable; default -1).
    pub broker_epoch: i64,
    /// `DeletePartitions`, v0-2 (not ignorable; default false).
    pub delete_partitions: bool,
    /// `UngroupedPartitions`, v0 (not ignorable).
    pub ungrouped_partitions: Vec<StopReplicaPartitionV0>,
    /// `Topics`, v1-2 (not ignorable).
    pub topics: Vec<StopReplicaTopicV1>,
    /// `TopicStates`, v3+ (not ignorable).
    pub topic_states: Vec<StopReplicaTopicState>,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for StopReplicaRequest {
    fn default() -> Self {
        StopReplicaRequest {
            controller_id: BrokerId(0),
            is_kraft_controller: false,
            controller_epoch: 0,
            broker_epoch: -1,
            delete_partitions: false,
            ungrouped_partitions: Vec::new(),
            topics: Vec::new(),
            topic_states: Vec::new(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// `StopReplicaPartitionV0` (v0; never flexible, so no tagged fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StopReplicaPartitionV0 {
    pub topic_name: String,
    pub partition_index: i32,
}

/// `StopReplicaTopicV1` (v1-2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StopReplicaTopicV1 {
    pub name: String,
    pub partition_indexes: Vec<i32>,
    /// Only v2 is flexible.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// `StopReplicaTopicState` (v3+).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StopReplicaTopicState {
    pub topic_name: String,
    pub partition_states: Vec<StopReplicaPartitionState>,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// `StopReplicaPartitionState` (v3+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopReplicaPartitionState {
    pub partition_index: i32,
    /// `LeaderEpoch` (default -1).
    pub leader_epoch: i32,
    pub delete_partition: bool,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for StopReplicaPartitionState {
    fn default() -> Self {
        StopReplicaPartitionState {
            partition_index: 0,
            leader_epoch: LEADER_EPOCH_NONE,
            delete_partition: false,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// One partition of a StopReplica request, in the v3+ shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopReplicaPartition<'a> {
    pub topic_name: &'a str,
    pub partition_index: i32,
    /// `LEADER_EPOCH_NONE` before v3.
    pub leader_epoch: i32,
    pub delete_partition: bool,
}

impl StopReplicaRequest {
    /// Every partition, whatever the version's shape, in wire order: before v3
    /// each takes the request-wide `delete_partitions` and no leader epoch, as
    /// Java's `StopReplicaRequest.topicStates()` fills them in.
    pub fn partitions(&self) -> impl Iterator<Item = StopReplicaPartition<'_>> + '_ {
        let delete_partition = self.delete_partitions;
        let v0 = self
            .ungrouped_partitions
            .iter()
            .map(move |partition| StopReplicaPartition {
                topic_name: &partition.topic_name,
                partition_index: partition.partition_index,
                leader_epoch: LEADER_EPOCH_NONE,
                delete_partition,
            });
        let v1 = self.topics.iter().flat_map(move |topic| {
            topic
                .partition_indexes
                .iter()
                .map(move |&partition_index| StopReplicaPartition {
                    topic_name: &topic.name,
                    partition_index,
                    leader_epoch: LEADER_EPOCH_NONE,
                    delete_partition,
                })
        });
        let v3 = self.topic_states.iter().flat_map(|topic| {
            topic
                .partition_states
                .iter()
                .map(move |state| StopReplicaPartition {
                    topic_name: &topic.topic_name,
                    partition_index: state.partition_index,
                    leader_epoch: state.leader_epoch,
                    delete_partition: state.delete_partition,
                })
        });
        v0.chain(v1).chain(v3)
    }
}

impl InterBrokerMessage for StopReplicaRequest {
    const NAME: &'static str = "StopReplicaRequest";
    const API_KEY: i16 = 5;
    const VERSION_MAX: i16 = 4;
    const FLEXIBLE_VERSION_MIN: i16 = 2;

    fn read(reader: &mut Reader<'_>, version: i16) -> Result<Self, WireError> {
        let mut request = StopReplicaRequest {
            controller_id: BrokerId(reader.i32("controller_id")?),
            ..Default::default()
        };
        if version >= 4 {
            request.is_kraft_controller = reader.bool("is_kraft_controller")?;
        }
        request.controller_epoch = reader.i32("controller_epoch")?;
        if version >= 1 {
            request.broker_epoch = reader.i64("broker_epoch")?;
        }
        if version <= 2 {
            request.delete_partitions = reader.bool("delete_partitions")?;
        }
        if version == 0 {
            request.ungrouped_partitions =
                reader.struct_array(PARTITION_V0_BYTES_MIN, "ungrouped_partitions", |reader| {
                    Ok(StopReplicaPartitionV0 {
                        topic_name: reader.string("ungrouped_partitions.topic_name")?,
                        partition_index: reader.i32("ungrouped_partitions.partition_index")?,
                    })
                })?;
        } else if version <= 2 {
            request.topics = reader.struct_array(TOPIC_V1_BYTES_MIN, "topics", |reader| {
                let mut topic = StopReplicaTopicV1 {
                    name: reader.string("topics.name")?,
                    partition_indexes: reader.i32_array("topics.partition_indexes")?,
                    unknown_tagged_fields: Vec::new(),
                };
                if reader.flexible() {
                    topic.unknown_tagged_fields =
                        reader.unknown_tagged_fields("StopReplicaTopicV1")?;
                }
                Ok(topic)
            })?;
        } else {
            request.topic_states =
                reader.struct_array(TOPIC_STATE_BYTES_MIN, "topic_states", |reader| {
                    let mut topic = StopReplicaTopicState {
                        topic_name: reader.string("topic_states.topic_name")?,
                        ..Default::default()
                    };
                    topic.partition_states = reader.struct_array(
                        PARTITION_STATE_BYTES_MIN,
                        "topic_states.partition_states",
                        |reader| {
                            let mut state = StopReplicaPartitionState {
                                partition_index: reader.i32("partition_states.partition_index")?,
                                leader_epoch: reader.i32("partition_states.leader_epoch")?,
                                delete_partition: reader
                                    .bool("partition_states.delete_partition")?,
                                unknown_tagged_fields: Vec::new(),
                            };
                            // v3+ is always flexible.
                            state.unknown_tagged_fields =
                                reader.unknown_tagged_fields("StopReplicaPartitionState")?;
                            Ok(state)
                        },
                    )?;
                    topic.unknown_tagged_fields =
                        reader.unknown_tagged_fields("StopReplicaTopicState")?;
                    Ok(topic)
                })?;
        }
        if reader.flexible() {
            request.unknown_tagged_fields = reader.unknown_tagged_fields("StopReplicaRequest")?;
        }
        Ok(request)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        writer.i32(self.controller_id.0);
        if version >= 4 {
            writer.bool(self.is_kraft_controller);
        } else {
            check_not_in_version(!self.is_kraft_controller, "is_kraft_controller", version)?;
        }
        writer.i32(self.controller_epoch);
        if version >= 1 {
            writer.i64(self.broker_epoch);
        }
        if version <= 2 {
            writer.bool(self.delete_partitions);
        } else {
            check_not_in_version(!self.delete_partitions, "delete_partitions", version)?;
        }
        if version == 0 {
            writer.struct_array(
                &self.ungrouped_partitions,
                "ungrouped_partitions",
                |writer, partition| {
                    writer.string(&partition.topic_name, "ungrouped_partitions.topic_name")?;
                    writer.i32(partition.partition_index);
                    Ok(())
                },
            )?;
        } else {
            check_not_in_version(
                self.ungrouped_partitions.is_empty(),
                "ungrouped_partitions",
                version,
            )?;
        }
        if (1..=2).contains(&version) {
            writer.struct_array(&self.topics, "topics", |writer, topic| {
                writer.string(&topic.name, "topics.name")?;
                writer.i32_array(&topic.partition_indexes, "topics.partition_indexes")?;
                writer.tagged_fields(&[], &topic.unknown_tagged_fields, version)
            })?;
        } else {
            check_not_in_version(self.topics.is_empty(), "topics", version)?;
        }
        if version >= 3 {
            writer.struct_array(&self.topic_states, "topic_states", |writer, topic| {
                writer.string(&topic.topic_name, "topic_states.topic_name")?;
                writer.struct_array(
                    &topic.partition_states,
                    "topic_states.partition_states",
                    |writer, state| {
                        writer.i32(state.partition_index);
                        writer.i32(state.leader_epoch);
                        writer.bool(state.delete_partition);
                        writer.tagged_fields(&[], &state.unknown_tagged_fields, version)
                    },
                )?;
                writer.tagged_fields(&[], &topic.unknown_tagged_fields, version)
            })?;
        } else {
            check_not_in_version(self.topic_states.is_empty(), "topic_states", version)?;
        }
        writer.tagged_fields(&[], &self.unknown_tagged_fields, version)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StopReplicaResponse {
    /// `ErrorCode`: the top-level error.
    pub error_code: i16,
    /// `PartitionErrors`.
    pub partition_errors: Vec<StopReplicaPartitionError>,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// `StopReplicaPartitionError`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StopReplicaPartitionError {
    pub topic_name: String,
    pub partition_index: i32,
    pub error_code: i16,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl InterBrokerMessage for StopReplicaResponse {
    const NAME: &'static str = "StopReplicaResponse";
    const API_KEY: i16 = 5;
    const VERSION_MAX: i16 = 4;
    const FLEXIBLE_VERSION_MIN: i16 = 2;

    fn read(reader: &mut Reader<'_>, _version: i16) -> Result<Self, WireError> {
        let mut response = StopReplicaResponse {
            error_code: reader.i16("error_code")?,
            ..Default::default()
        };
        response.partition_errors =
            reader.struct_array(PARTITION_ERROR_BYTES_MIN, "partition_errors", |reader| {
                let mut error = StopReplicaPartitionError {
                    topic_name: reader.string("partition_errors.topic_name")?,
                    partition_index: reader.i32("partition_errors.partition_index")?,
                    error_code: reader.i16("partition_errors.error_code")?,
                    unknown_tagged_fields: Vec::new(),
                };
                if reader.flexible() {
                    error.unknown_tagged_fields =
                        reader.unknown_tagged_fields("StopReplicaPartitionError")?;
                }
                Ok(error)
            })?;
        if reader.flexible() {
            response.unknown_tagged_fields = reader.unknown_tagged_fields("StopReplicaResponse")?;
        }
        Ok(response)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        writer.i16(self.error_code);
        writer.struct_array(
            &self.partition_errors,
            "partition_errors",
            |writer, error| {
                writer.string(&error.topic_name, "partition_errors.topic_name")?;
                writer.i32(error.partition_index);
                writer.i16(error.error_code);
                writer.tagged_fields(&[], &error.unknown_tagged_fields, version)
            },
        )?;
        writer.tagged_fields(&[], &self.unknown_tagged_fields, version)
    }
}
