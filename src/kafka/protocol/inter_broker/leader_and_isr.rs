//! LeaderAndIsr (API key 4, v0-7, flexible from v4): the controller tells a broker
//! which partitions it leads or follows. Mirrors Apache 3.9's
//! `LeaderAndIsrRequest.json` / `LeaderAndIsrResponse.json` field for field: v0-1
//! list partitions with their topic name (`ungrouped_partition_states`), v2+ group
//! them by topic (`topic_states`); the response switches from topic names (v0-4) to
//! topic ids (v5+).

use super::wire::{check_not_in_version, RawTaggedField, Reader, WireError, Writer};
use super::{read_broker_ids, write_broker_ids, InterBrokerMessage};
use crate::kafka::config::BrokerId;
use crate::kafka::metadata::TopicId;

/// `LeaderRecoveryState` (KIP-704): the leader was elected cleanly.
pub const LEADER_RECOVERY_STATE_RECOVERED: i8 = 0;
/// `LeaderRecoveryState` (KIP-704): the partition is recovering from an unclean election.
pub const LEADER_RECOVERY_STATE_RECOVERING: i8 = 1;

/// A partition state takes at least its four int32s, two array counts and the
/// partition epoch on the wire (22 bytes, compact counts of one byte).
const PARTITION_STATE_BYTES_MIN: usize = 22;
/// A topic state: a name and a partition count, at least one byte each.
const TOPIC_STATE_BYTES_MIN: usize = 2;
/// A live leader: broker id, host name (one byte at least) and port.
const LIVE_LEADER_BYTES_MIN: usize = 9;
/// A partition error: partition index and error code.
const PARTITION_ERROR_BYTES_MIN: usize = 6;
/// A topic error: topic id and a partition count.
const TOPIC_ERROR_BYTES_MIN: usize = 17;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderAndIsrRequest {
    /// `ControllerId`.
    pub controller_id: BrokerId,
    /// `isKRaftController`, v7+ (not ignorable; default false).
    pub is_kraft_controller: bool,
    /// `ControllerEpoch`.
    pub controller_epoch: i32,
    /// `BrokerEpoch`, v2+ (ignorable; default -1): the recipient's epoch.
    pub broker_epoch: i64,
    /// `Type`, v5+ (not ignorable; default 0): 0 unknown, 1 incremental, 2 full.
    pub type_: i8,
    /// `UngroupedPartitionStates`, v0-1 (not ignorable).
    pub ungrouped_partition_states: Vec<LeaderAndIsrPartitionState>,
    /// `TopicStates`, v2+ (not ignorable).
    pub topic_states: Vec<LeaderAndIsrTopicState>,
    /// `LiveLeaders`.
    pub live_leaders: Vec<LeaderAndIsrLiveLeader>,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for LeaderAndIsrRequest {
    fn default() -> Self {
        LeaderAndIsrRequest {
            controller_id: BrokerId(0),
            is_kraft_controller: false,
            controller_epoch: 0,
            broker_epoch: -1,
            type_: 0,
            ungrouped_partition_states: Vec::new(),
            topic_states: Vec::new(),
            live_leaders: Vec::new(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// `LeaderAndIsrTopicState` (v2+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderAndIsrTopicState {
    /// `TopicName`.
    pub topic_name: String,
    /// `TopicId`, v5+ (ignorable; default zero).
    pub topic_id: TopicId,
    /// `PartitionStates`.
    pub partition_states: Vec<LeaderAndIsrPartitionState>,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for LeaderAndIsrTopicState {
    fn default() -> Self {
        LeaderAndIsrTopicState {
            topic_name: String::new(),
            topic_id: TopicId::ZERO,
            partition_states: Vec::new(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// The common struct `LeaderAndIsrPartitionState`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderAndIsrPartitionState {
    /// `TopicName`, v0-1 only (ignorable): in v2+ the topic state names the topic
    /// and this stays empty.
    pub topic_name: String,
    /// `PartitionIndex`.
    pub partition_index: i32,
    /// `ControllerEpoch`: the epoch of the controller that made this decision.
    pub controller_epoch: i32,
    /// `Leader`.
    pub leader: BrokerId,
    /// `LeaderEpoch`.
    pub leader_epoch: i32,
    /// `Isr`.
    pub isr: Vec<BrokerId>,
    /// `PartitionEpoch`: the state znode's zkVersion.
    pub partition_epoch: i32,
    /// `Replicas`.
    pub replicas: Vec<BrokerId>,
    /// `AddingReplicas`, v3+ (ignorable).
    pub adding_replicas: Vec<BrokerId>,
    /// `RemovingReplicas`, v3+ (ignorable).
    pub removing_replicas: Vec<BrokerId>,
    /// `IsNew`, v1+ (ignorable; default false).
    pub is_new: bool,
    /// `LeaderRecoveryState`, v6+ (not ignorable; default 0).
    pub leader_recovery_state: i8,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for LeaderAndIsrPartitionState {
    fn default() -> Self {
        LeaderAndIsrPartitionState {
            topic_name: String::new(),
            partition_index: 0,
            controller_epoch: 0,
            leader: BrokerId(0),
            leader_epoch: 0,
            isr: Vec::new(),
            partition_epoch: 0,
            replicas: Vec::new(),
            adding_replicas: Vec::new(),
            removing_replicas: Vec::new(),
            is_new: false,
            leader_recovery_state: LEADER_RECOVERY_STATE_RECOVERED,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// `LeaderAndIsrLiveLeader`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderAndIsrLiveLeader {
    /// `BrokerId`.
    pub broker_id: BrokerId,
    /// `HostName`.
    pub host_name: String,
    /// `Port`.
    pub port: i32,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for LeaderAndIsrLiveLeader {
    fn default() -> Self {
        LeaderAndIsrLiveLeader {
            broker_id: BrokerId(0),
            host_name: String::new(),
            port: 0,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl LeaderAndIsrRequest {
    /// Every partition state with its topic name and id, whatever the version's
    /// shape (v0-1 ungrouped, v2+ by topic; the id is zero before v5), in wire order,
    /// as Java's `LeaderAndIsrRequest.partitionStates()`.
    pub fn partitions(
        &self,
    ) -> impl Iterator<Item = (&str, TopicId, &LeaderAndIsrPartitionState)> + '_ {
        let ungrouped = self
            .ungrouped_partition_states
            .iter()
            .map(|state| (state.topic_name.as_str(), TopicId::ZERO, state));
        let grouped = self.topic_states.iter().flat_map(|topic| {
            topic
                .partition_states
                .iter()
                .map(move |state| (topic.topic_name.as_str(), topic.topic_id, state))
        });
        ungrouped.chain(grouped)
    }
}

impl InterBrokerMessage for LeaderAndIsrRequest {
    const NAME: &'static str = "LeaderAndIsrRequest";
    const API_KEY: i16 = 4;
    const VERSION_MAX: i16 = 7;
    const FLEXIBLE_VERSION_MIN: i16 = 4;

    fn read(reader: &mut Reader<'_>, version: i16) -> Result<Self, WireError> {
        let mut request = LeaderAndIsrRequest {
            controller_id: BrokerId(reader.i32("controller_id")?),
            ..Default::default()
        };
        if version >= 7 {
            request.is_kraft_controller = reader.bool("is_kraft_controller")?;
        }
        request.controller_epoch = reader.i32("controller_epoch")?;
        if version >= 2 {
            request.broker_epoch = reader.i64("broker_epoch")?;
        }
        if version >= 5 {
            request.type_ = reader.i8("type")?;
        }
        if version <= 1 {
            request.ungrouped_partition_states = reader.struct_array(
                PARTITION_STATE_BYTES_MIN,
                "ungrouped_partition_states",
                |reader| LeaderAndIsrPartitionState::read(reader, version),
            )?;
        } else {
            request.topic_states =
                reader.struct_array(TOPIC_STATE_BYTES_MIN, "topic_states", |reader| {
                    LeaderAndIsrTopicState::read(reader, version)
                })?;
        }
        request.live_leaders =
            reader.struct_array(LIVE_LEADER_BYTES_MIN, "live_leaders", |reader| {
                LeaderAndIsrLiveLeader::read(reader)
            })?;
        if reader.flexible() {
            request.unknown_tagged_fields = reader.unknown_tagged_fields("LeaderAndIsrRequest")?;
        }
        Ok(request)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        writer.i32(self.controller_id.0);
        if version >= 7 {
            writer.bool(self.is_kraft_controller);
        } else {
            check_not_in_version(!self.is_kraft_controller, "is_kraft_controller", version)?;
        }
        writer.i32(self.controller_epoch);
        if version >= 2 {
            writer.i64(self.broker_epoch);
        }
        if version >= 5 {
            writer.i8(self.type_);
        } else {
            check_not_in_version(self.type_ == 0, "type", version)?;
        }
        if version <= 1 {
            writer.struct_array(
                &self.ungrouped_partition_states,
                "ungrouped_partition_states",
                |writer, state| state.write(writer, version),
            )?;
        } else {
            check_not_in_version(
                self.ungrouped_partition_states.is_empty(),
                "ungrouped_partition_states",
                version,
            )?;
        }
        if version >= 2 {
            writer.struct_array(&self.topic_states, "topic_states", |writer, topic| {
                topic.write(writer, version)
            })?;
        } else {
            check_not_in_version(self.topic_states.is_empty(), "topic_states", version)?;
        }
        writer.struct_array(&self.live_leaders, "live_leaders", |writer, leader| {
            leader.write(writer, version)
        })?;
        writer.tagged_fields(&[], &self.unknown_tagged_fields, version)
    }
}

impl LeaderAndIsrTopicState {
    fn read(reader: &mut Reader<'_>, version: i16) -> Result<Self, WireError> {
        let mut topic = LeaderAndIsrTopicState {
            topic_name: reader.string("topic_states.topic_name")?,
            ..Default::default()
        };
        if version >= 5 {
            topic.topic_id = TopicId(reader.uuid("topic_states.topic_id")?);
        }
        topic.partition_states = reader.struct_array(
            PARTITION_STATE_BYTES_MIN,
            "topic_states.partition_states",
            |reader| LeaderAndIsrPartitionState::read(reader, version),
        )?;
        if reader.flexible() {
            topic.unknown_tagged_fields = reader.unknown_tagged_fields("LeaderAndIsrTopicState")?;
        }
        Ok(topic)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        writer.string(&self.topic_name, "topic_states.topic_name")?;
        if version >= 5 {
            writer.uuid(self.topic_id.0);
        }
        writer.struct_array(
            &self.partition_states,
            "topic_states.partition_states",
            |writer, state| state.write(writer, version),
        )?;
        writer.tagged_fields(&[], &self.unknown_tagged_fields, version)
    }
}

impl LeaderAndIsrPartitionState {
    fn read(reader: &mut Reader<'_>, version: i16) -> Result<Self, WireError> {
        let mut state = LeaderAndIsrPartitionState::default();
        if version <= 1 {
            state.topic_name = reader.string("partition_states.topic_name")?;
        }
        state.partition_index = reader.i32("partition_states.partition_index")?;
        state.controller_epoch = reader.i32("partition_states.controller_epoch")?;
        state.leader = BrokerId(reader.i32("partition_states.leader")?);
        state.leader_epoch = reader.i32("partition_states.leader_epoch")?;
        state.isr = read_broker_ids(reader, "partition_states.isr")?;
        state.partition_epoch = reader.i32("partition_states.partition_epoch")?;
        state.replicas = read_broker_ids(reader, "partition_states.replicas")?;
        if version >= 3 {
            state.adding_replicas = read_broker_ids(reader, "partition_states.adding_replicas")?;
            state.removing_replicas =
                read_broker_ids(reader, "partition_states.removing_replicas")?;
        }
        if version >= 1 {
            state.is_new = reader.bool("partition_states.is_new")?;
        }
        if version >= 6 {
            state.leader_recovery_state = reader.i8("partition_states.leader_recovery_state")?;
        }
        if reader.flexible() {
            state.unknown_tagged_fields =
                reader.unknown_tagged_fields("LeaderAndIsrPartitionState")?;
        }
        Ok(state)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        if version <= 1 {
            writer.string(&self.topic_name, "partition_states.topic_name")?;
        }
        writer.i32(self.partition_index);
        writer.i32(self.controller_epoch);
        writer.i32(self.leader.0);
        writer.i32(self.leader_epoch);
        write_broker_ids(writer, &self.isr, "partition_states.isr")?;
        writer.i32(self.partition_epoch);
        write_broker_ids(writer, &self.replicas, "partition_states.replicas")?;
        if version >= 3 {
            write_broker_ids(
                writer,
                &self.adding_replicas,
                "partition_states.adding_replicas",
            )?;
            write_broker_ids(
                writer,
                &self.removing_replicas,
                "partition_states.removing_replicas",
            )?;
        }
        if version >= 1 {
            writer.bool(self.is_new);
        }
        if version >= 6 {
            writer.i8(self.leader_recovery_state);
        } else {
            check_not_in_version(
                self.leader_recovery_state == LEADER_RECOVERY_STATE_RECOVERED,
                "partition_states.leader_recovery_state",
                version,
            )?;
        }
        writer.tagged_fields(&[], &self.unknown_tagged_fields, version)
    }
}

impl LeaderAndIsrLiveLeader {
    fn read(reader: &mut Reader<'_>) -> Result<Self, WireError> {
        let mut leader = LeaderAndIsrLiveLeader {
            broker_id: BrokerId(reader.i32("live_leaders.broker_id")?),
            host_name: reader.string("live_leaders.host_name")?,
            port: reader.i32("live_leaders.port")?,
            unknown_tagged_fields: Vec::new(),
        };
        if reader.flexible() {
            leader.unknown_tagged_fields =
                reader.unknown_tagged_fields("LeaderAndIsrLiveLeader")?;
        }
        Ok(leader)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        writer.i32(self.broker_id.0);
        writer.string(&self.host_name, "live_leaders.host_name")?;
        writer.i32(self.port);
        writer.tagged_fields(&[], &self.unknown_tagged_fields, version)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaderAndIsrResponse {
    /// `ErrorCode`.
    pub error_code: i16,
    /// `PartitionErrors`, v0-4 (not ignorable).
    pub partition_errors: Vec<LeaderAndIsrPartitionError>,
    /// `Topics`, v5+ (not ignorable).
    pub topics: Vec<LeaderAndIsrTopicError>,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// `LeaderAndIsrTopicError` (v5+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderAndIsrTopicError {
    /// `TopicId` (the map key in Java; duplicates are kept here as there).
    pub topic_id: TopicId,
    /// `PartitionErrors`.
    pub partition_errors: Vec<LeaderAndIsrPartitionError>,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for LeaderAndIsrTopicError {
    fn default() -> Self {
        LeaderAndIsrTopicError {
            topic_id: TopicId::ZERO,
            partition_errors: Vec::new(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// The common struct `LeaderAndIsrPartitionError`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaderAndIsrPartitionError {
    /// `TopicName`, v0-4 only (ignorable).
    pub topic_name: String,
    /// `PartitionIndex`.
    pub partition_index: i32,
    /// `ErrorCode`.
    pub error_code: i16,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl InterBrokerMessage for LeaderAndIsrResponse {
    const NAME: &'static str = "LeaderAndIsrResponse";
    const API_KEY: i16 = 4;
    const VERSION_MAX: i16 = 7;
    const FLEXIBLE_VERSION_MIN: i16 = 4;

    fn read(reader: &mut Reader<'_>, version: i16) -> Result<Self, WireError> {
        let mut response = LeaderAndIsrResponse {
            error_code: reader.i16("error_code")?,
            ..Default::default()
        };
        if version <= 4 {
            response.partition_errors =
                reader.struct_array(PARTITION_ERROR_BYTES_MIN, "partition_errors", |reader| {
                    LeaderAndIsrPartitionError::read(reader, version)
                })?;
        } else {
            response.topics = reader.struct_array(TOPIC_ERROR_BYTES_MIN, "topics", |reader| {
                let mut topic = LeaderAndIsrTopicError {
                    topic_id: TopicId(reader.uuid("topics.topic_id")?),
                    ..Default::default()
                };
                topic.partition_errors = reader.struct_array(
                    PARTITION_ERROR_BYTES_MIN,
                    "topics.partition_errors",
                    |reader| LeaderAndIsrPartitionError::read(reader, version),
                )?;
                if reader.flexible() {
                    topic.unknown_tagged_fields =
                        reader.unknown_tagged_fields("LeaderAndIsrTopicError")?;
                }
                Ok(topic)
            })?;
        }
        if reader.flexible() {
            response.unknown_tagged_fields =
                reader.unknown_tagged_fields("LeaderAndIsrResponse")?;
        }
        Ok(response)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        writer.i16(self.error_code);
        if version <= 4 {
            writer.struct_array(
                &self.partition_errors,
                "partition_errors",
                |writer, error| error.write(writer, version),
            )?;
        } else {
            check_not_in_version(
                self.partition_errors.is_empty(),
                "partition_errors",
                version,
            )?;
        }
        if version >= 5 {
            writer.struct_array(&self.topics, "topics", |writer, topic| {
                writer.uuid(topic.topic_id.0);
                writer.struct_array(
                    &topic.partition_errors,
                    "topics.partition_errors",
                    |writer, error| error.write(writer, version),
                )?;
                writer.tagged_fields(&[], &topic.unknown_tagged_fields, version)
            })?;
        } else {
            check_not_in_version(self.topics.is_empty(), "topics", version)?;
        }
        writer.tagged_fields(&[], &self.unknown_tagged_fields, version)
    }
}

impl LeaderAndIsrPartitionError {
    fn read(reader: &mut Reader<'_>, version: i16) -> Result<Self, WireError> {
        let mut error = LeaderAndIsrPartitionError::default();
        if version <= 4 {
            error.topic_name = reader.string("partition_errors.topic_name")?;
        }
        error.partition_index = reader.i32("partition_errors.partition_index")?;
        error.error_code = reader.i16("partition_errors.error_code")?;
        if reader.flexible() {
            error.unknown_tagged_fields =
                reader.unknown_tagged_fields("LeaderAndIsrPartitionError")?;
        }
        Ok(error)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        if version <= 4 {
            writer.string(&self.topic_name, "partition_errors.topic_name")?;
        }
        writer.i32(self.partition_index);
        writer.i16(self.error_code);
        writer.tagged_fields(&[], &self.unknown_tagged_fields, version)
    }
}
