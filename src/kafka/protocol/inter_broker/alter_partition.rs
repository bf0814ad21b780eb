//! AlterPartition (API key 56, v0-3, flexible at every version): a partition leader
//! asks the controller to change the ISR. Mirrors Apache 3.9's
//! `AlterPartitionRequest.json` / `AlterPartitionResponse.json`. The kafka-protocol
//! crate reads only v2-3 (topic ids); an Apache 3.9 broker sends v0-1 (topic names)
//! when its IBP is below 2.8-IV0 or a topic has no id, so this module covers all
//! four versions with one type.

use super::wire::{check_not_in_version, RawTaggedField, Reader, WireError, Writer};
use super::{read_broker_ids, write_broker_ids, InterBrokerMessage};
use crate::kafka::config::BrokerId;
use crate::kafka::metadata::TopicId;

/// A topic: a name (v0-1) or id (v2+), a partition count and tagged fields.
const TOPIC_BYTES_MIN: usize = 3;
/// A request partition: index, leader epoch, an ISR count, partition epoch and
/// tagged fields.
const REQUEST_PARTITION_BYTES_MIN: usize = 14;
/// A `BrokerState`: broker id, broker epoch and tagged fields.
const BROKER_STATE_BYTES_MIN: usize = 13;
/// A response partition: index, error code, leader id, leader epoch, an ISR count,
/// partition epoch and tagged fields.
const RESPONSE_PARTITION_BYTES_MIN: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterPartitionRequest {
    /// `BrokerId`: the requesting leader.
    pub broker_id: BrokerId,
    /// `BrokerEpoch` (default -1): the requester's epoch (its czxid in ZooKeeper mode).
    pub broker_epoch: i64,
    pub topics: Vec<AlterPartitionTopicData>,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for AlterPartitionRequest {
    fn default() -> Self {
        AlterPartitionRequest {
            broker_id: BrokerId(0),
            broker_epoch: -1,
            topics: Vec::new(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// The request's `TopicData`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterPartitionTopicData {
    /// `TopicName`, v0-1 (ignorable).
    pub topic_name: String,
    /// `TopicId`, v2+ (ignorable).
    pub topic_id: TopicId,
    pub partitions: Vec<AlterPartitionPartitionData>,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for AlterPartitionTopicData {
    fn default() -> Self {
        AlterPartitionTopicData {
            topic_name: String::new(),
            topic_id: TopicId::ZERO,
            partitions: Vec::new(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// The request's `PartitionData`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlterPartitionPartitionData {
    pub partition_index: i32,
    pub leader_epoch: i32,
    /// `NewIsr`, v0-2 (not ignorable).
    pub new_isr: Vec<BrokerId>,
    /// `NewIsrWithEpochs`, v3+ (not ignorable).
    pub new_isr_with_epochs: Vec<BrokerState>,
    /// `LeaderRecoveryState`, v1+ (not ignorable; default 0).
    pub leader_recovery_state: i8,
    /// `PartitionEpoch`: the expected zkVersion of the state znode.
    pub partition_epoch: i32,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// `BrokerState` (v3+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerState {
    pub broker_id: BrokerId,
    /// `BrokerEpoch` (default -1; -1 in ZooKeeper mode).
    pub broker_epoch: i64,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for BrokerState {
    fn default() -> Self {
        BrokerState {
            broker_id: BrokerId(0),
            broker_epoch: -1,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

fn read_topic_key(reader: &mut Reader<'_>, version: i16) -> Result<(String, TopicId), WireError> {
    if version <= 1 {
        Ok((reader.string("topics.topic_name")?, TopicId::ZERO))
    } else {
        Ok((String::new(), TopicId(reader.uuid("topics.topic_id")?)))
    }
}

fn write_topic_key(
    writer: &mut Writer<'_>,
    topic_name: &str,
    topic_id: TopicId,
    version: i16,
) -> Result<(), WireError> {
    if version <= 1 {
        writer.string(topic_name, "topics.topic_name")
    } else {
        writer.uuid(topic_id.0);
        Ok(())
    }
}

impl InterBrokerMessage for AlterPartitionRequest {
    const NAME: &'static str = "AlterPartitionRequest";
    const API_KEY: i16 = 56;
    const VERSION_MAX: i16 = 3;
    const FLEXIBLE_VERSION_MIN: i16 = 0;

    fn read(reader: &mut Reader<'_>, version: i16) -> Result<Self, WireError> {
        let mut request = AlterPartitionRequest {
            broker_id: BrokerId(reader.i32("broker_id")?),
            broker_epoch: reader.i64("broker_epoch")?,
            ..Default::default()
        };
        request.topics = reader.struct_array(TOPIC_BYTES_MIN, "topics", |reader| {
            let (topic_name, topic_id) = read_topic_key(reader, version)?;
            let partitions = reader.struct_array(
                REQUEST_PARTITION_BYTES_MIN,
                "topics.partitions",
                |reader| AlterPartitionPartitionData::read(reader, version),
            )?;
            Ok(AlterPartitionTopicData {
                topic_name,
                topic_id,
                partitions,
                unknown_tagged_fields: reader.unknown_tagged_fields("TopicData")?,
            })
        })?;
        request.unknown_tagged_fields = reader.unknown_tagged_fields("AlterPartitionRequest")?;
        Ok(request)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        writer.i32(self.broker_id.0);
        writer.i64(self.broker_epoch);
        writer.struct_array(&self.topics, "topics", |writer, topic| {
            write_topic_key(writer, &topic.topic_name, topic.topic_id, version)?;
            writer.struct_array(
                &topic.partitions,
                "topics.partitions",
                |writer, partition| partition.write(writer, version),
            )?;
            writer.tagged_fields(&[], &topic.unknown_tagged_fields, version)
        })?;
        writer.tagged_fields(&[], &self.unknown_tagged_fields, version)
    }
}

impl AlterPartitionPartitionData {
    fn read(reader: &mut Reader<'_>, version: i16) -> Result<Self, WireError> {
        let mut partition = AlterPartitionPartitionData {
            partition_index: reader.i32("partitions.partition_index")?,
            leader_epoch: reader.i32("partitions.leader_epoch")?,
            ..Default::default()
        };
        if version <= 2 {
            partition.new_isr = read_broker_ids(reader, "partitions.new_isr")?;
        } else {
            partition.new_isr_with_epochs = reader.struct_array(
                BROKER_STATE_BYTES_MIN,
                "partitions.new_isr_with_epochs",
                |reader| {
                    Ok(BrokerState {
                        broker_id: BrokerId(reader.i32("new_isr_with_epochs.broker_id")?),
                        broker_epoch: reader.i64("new_isr_with_epochs.broker_epoch")?,
                        unknown_tagged_fields: reader.unknown_tagged_fields("BrokerState")?,
                    })
                },
            )?;
        }
        if version >= 1 {
            partition.leader_recovery_state = reader.i8("partitions.leader_recovery_state")?;
        }
        partition.partition_epoch = reader.i32("partitions.partition_epoch")?;
        partition.unknown_tagged_fields = reader.unknown_tagged_fields("PartitionData")?;
        Ok(partition)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        writer.i32(self.partition_index);
        writer.i32(self.leader_epoch);
        if version <= 2 {
            write_broker_ids(writer, &self.new_isr, "partitions.new_isr")?;
        } else {
            check_not_in_version(self.new_isr.is_empty(), "partitions.new_isr", version)?;
        }
        if version >= 3 {
            writer.struct_array(
                &self.new_isr_with_epochs,
                "partitions.new_isr_with_epochs",
                |writer, state| {
                    writer.i32(state.broker_id.0);
                    writer.i64(state.broker_epoch);
                    writer.tagged_fields(&[], &state.unknown_tagged_fields, version)
                },
            )?;
        } else {
            check_not_in_version(
                self.new_isr_with_epochs.is_empty(),
                "partitions.new_isr_with_epochs",
                version,
            )?;
        }
        if version >= 1 {
            writer.i8(self.leader_recovery_state);
        } else {
            check_not_in_version(
                self.leader_recovery_state == 0,
                "partitions.leader_recovery_state",
                version,
            )?;
        }
        writer.i32(self.partition_epoch);
        writer.tagged_fields(&[], &self.unknown_tagged_fields, version)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlterPartitionResponse {
    pub throttle_time_ms: i32,
    /// `ErrorCode`: the top-level error.
    pub error_code: i16,
    pub topics: Vec<AlterPartitionTopicResult>,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The response's `TopicData`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterPartitionTopicResult {
    /// `TopicName`, v0-1 (ignorable).
    pub topic_name: String,
    /// `TopicId`, v2+ (ignorable).
    pub topic_id: TopicId,
    pub partitions: Vec<AlterPartitionPartitionResult>,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for AlterPartitionTopicResult {
    fn default() -> Self {
        AlterPartitionTopicResult {
            topic_name: String::new(),
            topic_id: TopicId::ZERO,
            partitions: Vec::new(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// The response's `PartitionData`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterPartitionPartitionResult {
    pub partition_index: i32,
    pub error_code: i16,
    /// `LeaderId`.
    pub leader_id: BrokerId,
    pub leader_epoch: i32,
    pub isr: Vec<BrokerId>,
    /// `LeaderRecoveryState`, v1+ (ignorable here, unlike the request; default 0).
    pub leader_recovery_state: i8,
    pub partition_epoch: i32,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for AlterPartitionPartitionResult {
    fn default() -> Self {
        AlterPartitionPartitionResult {
            partition_index: 0,
            error_code: 0,
            leader_id: BrokerId(0),
            leader_epoch: 0,
            isr: Vec::new(),
            leader_recovery_state: 0,
            partition_epoch: 0,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl InterBrokerMessage for AlterPartitionResponse {
    const NAME: &'static str = "AlterPartitionResponse";
    const API_KEY: i16 = 56;
    const VERSION_MAX: i16 = 3;
    const FLEXIBLE_VERSION_MIN: i16 = 0;

    fn read(reader: &mut Reader<'_>, version: i16) -> Result<Self, WireError> {
        let mut response = AlterPartitionResponse {
            throttle_time_ms: reader.i32("throttle_time_ms")?,
            error_code: reader.i16("error_code")?,
            ..Default::default()
        };
        response.topics = reader.struct_array(TOPIC_BYTES_MIN, "topics", |reader| {
            let (topic_name, topic_id) = read_topic_key(reader, version)?;
            let partitions = reader.struct_array(
                RESPONSE_PARTITION_BYTES_MIN,
                "topics.partitions",
                |reader| {
                    let mut partition = AlterPartitionPartitionResult {
                        partition_index: reader.i32("partitions.partition_index")?,
                        error_code: reader.i16("partitions.error_code")?,
                        leader_id: BrokerId(reader.i32("partitions.leader_id")?),
                        leader_epoch: reader.i32("partitions.leader_epoch")?,
                        isr: read_broker_ids(reader, "partitions.isr")?,
                        ..Default::default()
                    };
                    if version >= 1 {
                        partition.leader_recovery_state =
                            reader.i8("partitions.leader_recovery_state")?;
                    }
                    partition.partition_epoch = reader.i32("partitions.partition_epoch")?;
                    partition.unknown_tagged_fields =
                        reader.unknown_tagged_fields("PartitionData")?;
                    Ok(partition)
                },
            )?;
            Ok(AlterPartitionTopicResult {
                topic_name,
                topic_id,
                partitions,
                unknown_tagged_fields: reader.unknown_tagged_fields("TopicData")?,
            })
        })?;
        response.unknown_tagged_fields = reader.unknown_tagged_fields("AlterPartitionResponse")?;
        Ok(response)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        writer.i32(self.throttle_time_ms);
        writer.i16(self.error_code);
        writer.struct_array(&self.topics, "topics", |writer, topic| {
            write_topic_key(writer, &topic.topic_name, topic.topic_id, version)?;
            writer.struct_array(
                &topic.partitions,
                "topics.partitions",
                |writer, partition| {
                    writer.i32(partition.partition_index);
                    writer.i16(partition.error_code);
                    writer.i32(partition.leader_id.0);
                    writer.i32(partition.leader_epoch);
                    write_broker_ids(writer, &partition.isr, "partitions.isr")?;
                    if version >= 1 {
                        writer.i8(partition.leader_recovery_state);
                    }
                    writer.i32(partition.partition_epoch);
                    writer.tagged_fields(&[], &partition.unknown_tagged_fields, version)
                },
            )?;
            writer.tagged_fields(&[], &topic.unknown_tagged_fields, version)
        })?;
        writer.tagged_fields(&[], &self.unknown_tagged_fields, version)
    }
}
