//! UpdateMetadata (API key 6, v0-8, flexible from v6): the controller pushes live
//! brokers and partition states into a broker's metadata cache. Mirrors Apache
//! 3.9's `UpdateMetadataRequest.json` / `UpdateMetadataResponse.json`: v0 carries
//! one host and port per broker, v1+ endpoints (v3+ with a listener name), v2+ a
//! nullable rack, v4+ offline replicas, v5+ the broker epoch and partitions grouped
//! by topic, v7+ topic ids, v8 `isKRaftController` and the tagged `Type` (tag 0).

use super::wire::{check_not_in_version, RawTaggedField, Reader, WireError, Writer};
use super::{read_broker_ids, write_broker_ids, InterBrokerMessage};
use crate::kafka::config::BrokerId;
use crate::kafka::metadata::TopicId;

/// `Leader` of a partition whose topic is being deleted (`LeaderDuringDelete`): the
/// broker drops the partition from its cache.
pub const LEADER_DURING_DELETE: i32 = -2;

/// `SecurityProtocol.PLAINTEXT.id`.
pub const SECURITY_PROTOCOL_PLAINTEXT: i16 = 0;

/// The tag of the request's `Type` field (v8+).
const TYPE_TAG: u32 = 0;

/// A partition state: index, controller epoch, leader, leader epoch, ISR count,
/// zk version and replica count (compact counts of one byte).
const PARTITION_STATE_BYTES_MIN: usize = 22;
/// A topic state: a name and a partition count.
const TOPIC_STATE_BYTES_MIN: usize = 2;
/// A broker: id and an endpoint count (v0: id, host, port).
const BROKER_BYTES_MIN: usize = 5;
/// An endpoint: port, host and security protocol.
const ENDPOINT_BYTES_MIN: usize = 7;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateMetadataRequest {
    /// `ControllerId`.
    pub controller_id: BrokerId,
    /// `isKRaftController`, v8+ (not ignorable; default false).
    pub is_kraft_controller: bool,
    /// `Type`, v8+, tagged (tag 0; not ignorable; default 0): 0 unknown,
    /// 1 incremental, 2 full snapshot. Written only when not 0.
    pub type_: i8,
    /// `ControllerEpoch`.
    pub controller_epoch: i32,
    /// `BrokerEpoch`, v5+ (ignorable; default -1).
    pub broker_epoch: i64,
    /// `UngroupedPartitionStates`, v0-4 (not ignorable).
    pub ungrouped_partition_states: Vec<UpdateMetadataPartitionState>,
    /// `TopicStates`, v5+ (not ignorable).
    pub topic_states: Vec<UpdateMetadataTopicState>,
    /// `LiveBrokers`.
    pub live_brokers: Vec<UpdateMetadataBroker>,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for UpdateMetadataRequest {
    fn default() -> Self {
        UpdateMetadataRequest {
            controller_id: BrokerId(0),
            is_kraft_controller: false,
            type_: 0,
            controller_epoch: 0,
            broker_epoch: -1,
            ungrouped_partition_states: Vec::new(),
            topic_states: Vec::new(),
            live_brokers: Vec::new(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// `UpdateMetadataTopicState` (v5+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateMetadataTopicState {
    pub topic_name: String,
    /// `TopicId`, v7+ (ignorable; default zero). Zero makes the broker drop the id.
    pub topic_id: TopicId,
    pub partition_states: Vec<UpdateMetadataPartitionState>,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for UpdateMetadataTopicState {
    fn default() -> Self {
        UpdateMetadataTopicState {
            topic_name: String::new(),
            topic_id: TopicId::ZERO,
            partition_states: Vec::new(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// `UpdateMetadataBroker`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateMetadataBroker {
    /// `Id`.
    pub id: BrokerId,
    /// `V0Host`, v0 only (ignorable).
    pub v0_host: String,
    /// `V0Port`, v0 only (ignorable).
    pub v0_port: i32,
    /// `Endpoints`, v1+ (ignorable).
    pub endpoints: Vec<UpdateMetadataEndpoint>,
    /// `Rack`, v2+ (ignorable; nullable; default the empty string, not null).
    pub rack: Option<String>,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for UpdateMetadataBroker {
    fn default() -> Self {
        UpdateMetadataBroker {
            id: BrokerId(0),
            v0_host: String::new(),
            v0_port: 0,
            endpoints: Vec::new(),
            rack: Some(String::new()),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// `UpdateMetadataEndpoint` (v1+).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateMetadataEndpoint {
    pub port: i32,
    pub host: String,
    /// `Listener`, v3+ (ignorable).
    pub listener: String,
    /// `SecurityProtocol`: Kafka's `SecurityProtocol.id` (0 PLAINTEXT, 1 SSL,
    /// 2 SASL_PLAINTEXT, 3 SASL_SSL).
    pub security_protocol: i16,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The common struct `UpdateMetadataPartitionState`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateMetadataPartitionState {
    /// `TopicName`, v0-4 only (ignorable).
    pub topic_name: String,
    pub partition_index: i32,
    pub controller_epoch: i32,
    /// `Leader`; `LEADER_DURING_DELETE` evicts the partition.
    pub leader: BrokerId,
    pub leader_epoch: i32,
    pub isr: Vec<BrokerId>,
    /// `ZkVersion`: the partition epoch.
    pub zk_version: i32,
    pub replicas: Vec<BrokerId>,
    /// `OfflineReplicas`, v4+ (ignorable).
    pub offline_replicas: Vec<BrokerId>,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for UpdateMetadataPartitionState {
    fn default() -> Self {
        UpdateMetadataPartitionState {
            topic_name: String::new(),
            partition_index: 0,
            controller_epoch: 0,
            leader: BrokerId(0),
            leader_epoch: 0,
            isr: Vec::new(),
            zk_version: 0,
            replicas: Vec::new(),
            offline_replicas: Vec::new(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl UpdateMetadataRequest {
    /// Every partition state with its topic name and id, whatever the version's
    /// shape (v0-4 ungrouped, v5+ by topic; the id is zero before v7), in wire order.
    pub fn partitions(
        &self,
    ) -> impl Iterator<Item = (&str, TopicId, &UpdateMetadataPartitionState)> + '_ {
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

impl UpdateMetadataBroker {
    /// The broker's endpoints whatever the version, as Java's `UpdateMetadataRequest`
    /// normalises them: v0's single host and port become one PLAINTEXT endpoint,
    /// and before v3 an empty listener name becomes the security protocol's name.
    pub fn endpoints_any_version(&self, version: i16) -> Vec<UpdateMetadataEndpoint> {
        let mut endpoints = if version == 0 && self.endpoints.is_empty() {
            vec![UpdateMetadataEndpoint {
                port: self.v0_port,
                host: self.v0_host.clone(),
                listener: String::new(),
                security_protocol: SECURITY_PROTOCOL_PLAINTEXT,
                unknown_tagged_fields: Vec::new(),
            }]
        } else {
            self.endpoints.clone()
        };
        if version < 3 {
            for endpoint in endpoints.iter_mut().filter(|e| e.listener.is_empty()) {
                if let Some(name) = security_protocol_name(endpoint.security_protocol) {
                    endpoint.listener = name.to_string();
                }
            }
        }
        endpoints
    }
}

/// `SecurityProtocol.forId(id).name`, the default listener name of a protocol.
pub fn security_protocol_name(id: i16) -> Option<&'static str> {
    match id {
        0 => Some("PLAINTEXT"),
        1 => Some("SSL"),
        2 => Some("SASL_PLAINTEXT"),
        3 => Some("SASL_SSL"),
        _ => None,
    }
}

impl InterBrokerMessage for UpdateMetadataRequest {
    const NAME: &'static str = "UpdateMetadataRequest";
    const API_KEY: i16 = 6;
    const VERSION_MAX: i16 = 8;
    const FLEXIBLE_VERSION_MIN: i16 = 6;

    fn read(reader: &mut Reader<'_>, version: i16) -> Result<Self, WireError> {
        let mut request = UpdateMetadataRequest {
            controller_id: BrokerId(reader.i32("controller_id")?),
            ..Default::default()
        };
        if version >= 8 {
            request.is_kraft_controller = reader.bool("is_kraft_controller")?;
        }
        request.controller_epoch = reader.i32("controller_epoch")?;
        if version >= 5 {
            request.broker_epoch = reader.i64("broker_epoch")?;
        }
        if version <= 4 {
            request.ungrouped_partition_states = reader.struct_array(
                PARTITION_STATE_BYTES_MIN,
                "ungrouped_partition_states",
                |reader| UpdateMetadataPartitionState::read(reader, version),
            )?;
        } else {
            request.topic_states =
                reader.struct_array(TOPIC_STATE_BYTES_MIN, "topic_states", |reader| {
                    UpdateMetadataTopicState::read(reader, version)
                })?;
        }
        request.live_brokers = reader.struct_array(BROKER_BYTES_MIN, "live_brokers", |reader| {
            UpdateMetadataBroker::read(reader, version)
        })?;
        if reader.flexible() {
            let mut type_ = request.type_;
            request.unknown_tagged_fields =
                reader.tagged_fields("UpdateMetadataRequest", |tag, data| {
                    if tag != TYPE_TAG {
                        return Ok(false);
                    }
                    if version < 8 {
                        return Err(WireError::TagNotInVersion {
                            field: "UpdateMetadataRequest",
                            tag,
                            version,
                        });
                    }
                    // Java reads one byte whatever the size says; a size other
                    // than 1 would desynchronise it, so it is refused here.
                    let [byte] = data else {
                        return Err(WireError::TaggedFieldSize {
                            field: "type",
                            tag,
                            size: data.len(),
                            expected: 1,
                        });
                    };
                    type_ = *byte as i8;
                    Ok(true)
                })?;
            request.type_ = type_;
        }
        Ok(request)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        writer.i32(self.controller_id.0);
        if version >= 8 {
            writer.bool(self.is_kraft_controller);
        } else {
            check_not_in_version(!self.is_kraft_controller, "is_kraft_controller", version)?;
            check_not_in_version(self.type_ == 0, "type", version)?;
        }
        writer.i32(self.controller_epoch);
        if version >= 5 {
            writer.i64(self.broker_epoch);
        }
        if version <= 4 {
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
        if version >= 5 {
            writer.struct_array(&self.topic_states, "topic_states", |writer, topic| {
                topic.write(writer, version)
            })?;
        } else {
            check_not_in_version(self.topic_states.is_empty(), "topic_states", version)?;
        }
        writer.struct_array(&self.live_brokers, "live_brokers", |writer, broker| {
            broker.write(writer, version)
        })?;
        let type_bytes = [self.type_ as u8];
        let known: &[(u32, &[u8])] = if version >= 8 && self.type_ != 0 {
            &[(TYPE_TAG, &type_bytes)]
        } else {
            &[]
        };
        writer.tagged_fields(known, &self.unknown_tagged_fields, version)
    }
}

impl UpdateMetadataTopicState {
    fn read(reader: &mut Reader<'_>, version: i16) -> Result<Self, WireError> {
        let mut topic = UpdateMetadataTopicState {
            topic_name: reader.string("topic_states.topic_name")?,
            ..Default::default()
        };
        if version >= 7 {
            topic.topic_id = TopicId(reader.uuid("topic_states.topic_id")?);
        }
        topic.partition_states = reader.struct_array(
            PARTITION_STATE_BYTES_MIN,
            "topic_states.partition_states",
            |reader| UpdateMetadataPartitionState::read(reader, version),
        )?;
        if reader.flexible() {
            topic.unknown_tagged_fields =
                reader.unknown_tagged_fields("UpdateMetadataTopicState")?;
        }
        Ok(topic)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        writer.string(&self.topic_name, "topic_states.topic_name")?;
        if version >= 7 {
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

impl UpdateMetadataBroker {
    fn read(reader: &mut Reader<'_>, version: i16) -> Result<Self, WireError> {
        let mut broker = UpdateMetadataBroker {
            id: BrokerId(reader.i32("live_brokers.id")?),
            ..Default::default()
        };
        if version == 0 {
            broker.v0_host = reader.string("live_brokers.v0_host")?;
            broker.v0_port = reader.i32("live_brokers.v0_port")?;
        }
        if version >= 1 {
            broker.endpoints =
                reader.struct_array(ENDPOINT_BYTES_MIN, "live_brokers.endpoints", |reader| {
                    UpdateMetadataEndpoint::read(reader, version)
                })?;
        }
        if version >= 2 {
            broker.rack = reader.nullable_string("live_brokers.rack")?;
        }
        if reader.flexible() {
            broker.unknown_tagged_fields = reader.unknown_tagged_fields("UpdateMetadataBroker")?;
        }
        Ok(broker)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        writer.i32(self.id.0);
        if version == 0 {
            writer.string(&self.v0_host, "live_brokers.v0_host")?;
            writer.i32(self.v0_port);
        }
        if version >= 1 {
            writer.struct_array(
                &self.endpoints,
                "live_brokers.endpoints",
                |writer, endpoint| endpoint.write(writer, version),
            )?;
        }
        if version >= 2 {
            writer.nullable_string(self.rack.as_deref(), "live_brokers.rack")?;
        }
        writer.tagged_fields(&[], &self.unknown_tagged_fields, version)
    }
}

impl UpdateMetadataEndpoint {
    fn read(reader: &mut Reader<'_>, version: i16) -> Result<Self, WireError> {
        let mut endpoint = UpdateMetadataEndpoint {
            port: reader.i32("endpoints.port")?,
            host: reader.string("endpoints.host")?,
            ..Default::default()
        };
        if version >= 3 {
            endpoint.listener = reader.string("endpoints.listener")?;
        }
        endpoint.security_protocol = reader.i16("endpoints.security_protocol")?;
        if reader.flexible() {
            endpoint.unknown_tagged_fields =
                reader.unknown_tagged_fields("UpdateMetadataEndpoint")?;
        }
        Ok(endpoint)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        writer.i32(self.port);
        writer.string(&self.host, "endpoints.host")?;
        if version >= 3 {
            writer.string(&self.listener, "endpoints.listener")?;
        }
        writer.i16(self.security_protocol);
        writer.tagged_fields(&[], &self.unknown_tagged_fields, version)
    }
}

impl UpdateMetadataPartitionState {
    fn read(reader: &mut Reader<'_>, version: i16) -> Result<Self, WireError> {
        let mut state = UpdateMetadataPartitionState::default();
        if version <= 4 {
            state.topic_name = reader.string("partition_states.topic_name")?;
        }
        state.partition_index = reader.i32("partition_states.partition_index")?;
        state.controller_epoch = reader.i32("partition_states.controller_epoch")?;
        state.leader = BrokerId(reader.i32("partition_states.leader")?);
        state.leader_epoch = reader.i32("partition_states.leader_epoch")?;
        state.isr = read_broker_ids(reader, "partition_states.isr")?;
        state.zk_version = reader.i32("partition_states.zk_version")?;
        state.replicas = read_broker_ids(reader, "partition_states.replicas")?;
        if version >= 4 {
            state.offline_replicas = read_broker_ids(reader, "partition_states.offline_replicas")?;
        }
        if reader.flexible() {
            state.unknown_tagged_fields =
                reader.unknown_tagged_fields("UpdateMetadataPartitionState")?;
        }
        Ok(state)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        if version <= 4 {
            writer.string(&self.topic_name, "partition_states.topic_name")?;
        }
        writer.i32(self.partition_index);
        writer.i32(self.controller_epoch);
        writer.i32(self.leader.0);
        writer.i32(self.leader_epoch);
        write_broker_ids(writer, &self.isr, "partition_states.isr")?;
        writer.i32(self.zk_version);
        write_broker_ids(writer, &self.replicas, "partition_states.replicas")?;
        if version >= 4 {
            write_broker_ids(
                writer,
                &self.offline_replicas,
                "partition_states.offline_replicas",
            )?;
        }
        writer.tagged_fields(&[], &self.unknown_tagged_fields, version)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateMetadataResponse {
    /// `ErrorCode`.
    pub error_code: i16,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl InterBrokerMessage for UpdateMetadataResponse {
    const NAME: &'static str = "UpdateMetadataResponse";
    const API_KEY: i16 = 6;
    const VERSION_MAX: i16 = 8;
    const FLEXIBLE_VERSION_MIN: i16 = 6;

    fn read(reader: &mut Reader<'_>, _version: i16) -> Result<Self, WireError> {
        let mut response = UpdateMetadataResponse {
            error_code: reader.i16("error_code")?,
            unknown_tagged_fields: Vec::new(),
        };
        if reader.flexible() {
            response.unknown_tagged_fields =
                reader.unknown_tagged_fields("UpdateMetadataResponse")?;
        }
        Ok(response)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        writer.i16(self.error_code);
        writer.tagged_fields(&[], &self.unknown_tagged_fields, version)
    }
}
