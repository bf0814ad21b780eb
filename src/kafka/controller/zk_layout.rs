//! Kafka's znode layout in ZooKeeper: paths, and the bytes of every znode a broker
//! or controller in ZooKeeper mode reads or writes.
//!
//! Pure encode/decode, no IO. Encoders reproduce the bytes Apache Kafka 3.9 writes,
//! including the key order of its JSON objects: Kafka builds most of them from Scala
//! `mutable.HashMap`s, whose iteration order is a function of the keys' Java hash codes
//! (see [`scala_hash_map_order`]), so tools that compare or grep the raw JSON see the
//! same text from keel as from Kafka. Decoders accept every version Kafka itself reads:
//! topics written by Kafka 2.2's `kafka-topics --zookeeper` (version 1, no topic id),
//! broker registrations from version 1 to 5, controller znodes version 1 and 2.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;
use uuid::Uuid;

use crate::kafka::metadata::{BrokerId, Endpoint, TopicId};

// ---------------------------------------------------------------------------------
// Paths

pub const BROKER_IDS_PATH: &str = "/brokers/ids";
pub const TOPICS_PATH: &str = "/brokers/topics";
pub const BROKER_SEQUENCE_ID_PATH: &str = "/brokers/seqid";
pub const CONTROLLER_PATH: &str = "/controller";
pub const CONTROLLER_EPOCH_PATH: &str = "/controller_epoch";
pub const CLUSTER_ID_PATH: &str = "/cluster/id";
pub const CONFIG_CHANGES_PATH: &str = "/config/changes";
pub const CONFIG_CHANGE_PREFIX: &str = "config_change_";
pub const DELETE_TOPICS_PATH: &str = "/admin/delete_topics";
/// Written by `kafka-preferred-replica-election --zookeeper` (Kafka 2.x tools) and
/// deleted by the controller once it has run the elections it lists.
pub const PREFERRED_REPLICA_ELECTION_PATH: &str = "/admin/preferred_replica_election";
pub const PRODUCER_ID_BLOCK_PATH: &str = "/latest_producer_id_block";
pub const FEATURE_PATH: &str = "/feature";

/// The config entity types of Kafka's `ConfigType.ALL`, each a child of `/config`.
pub const CONFIG_ENTITY_TYPES: [&str; 5] = ["topics", "clients", "users", "brokers", "ips"];

/// `ZkData.PersistentZkPaths`: created (empty) by every broker at start-up.
pub const PERSISTENT_PATHS: [&str; 14] = [
    "/consumers",
    BROKER_IDS_PATH,
    TOPICS_PATH,
    CONFIG_CHANGES_PATH,
    DELETE_TOPICS_PATH,
    BROKER_SEQUENCE_ID_PATH,
    "/isr_change_notification",
    PRODUCER_ID_BLOCK_PATH,
    "/log_dir_event_notification",
    "/config/topics",
    "/config/clients",
    "/config/users",
    "/config/brokers",
    "/config/ips",
];

/// The entity name of the cluster-wide broker default (`ZooKeeperInternals.DEFAULT_STRING`).
pub const DEFAULT_ENTITY: &str = "<default>";

pub fn broker_path(id: BrokerId) -> String {
    format!("{BROKER_IDS_PATH}/{}", id.0)
}

pub fn topic_path(topic: &str) -> String {
    format!("{TOPICS_PATH}/{topic}")
}

pub fn partitions_path(topic: &str) -> String {
    format!("{TOPICS_PATH}/{topic}/partitions")
}

pub fn partition_path(topic: &str, partition: i32) -> String {
    format!("{TOPICS_PATH}/{topic}/partitions/{partition}")
}

pub fn partition_state_path(topic: &str, partition: i32) -> String {
    format!("{TOPICS_PATH}/{topic}/partitions/{partition}/state")
}

/// `/consumers/<group>/offsets/<topic>/<partition>`: a group offset committed
/// with OffsetCommit v0 (Kafka's `ConsumerOffset` znode).
pub fn consumer_offset_path(group: &str, topic: &str, partition: i32) -> String {
    format!("/consumers/{group}/offsets/{topic}/{partition}")
}

pub fn topic_config_path(topic: &str) -> String {
    format!("/config/topics/{topic}")
}

/// `/config/brokers/<id>`, or `/config/brokers/<default>` for `None`.
pub fn broker_config_path(broker: Option<BrokerId>) -> String {
    format!("/config/{}", broker_config_entity_path(broker))
}

/// The `entity_path` of a change notification for a broker config.
pub fn broker_config_entity_path(broker: Option<BrokerId>) -> String {
    match broker {
        Some(id) => format!("brokers/{}", id.0),
        None => format!("brokers/{DEFAULT_ENTITY}"),
    }
}

/// The root of users' entity configs (SCRAM credentials, quotas).
pub const USER_CONFIGS_PATH: &str = "/config/users";

/// `/config/users/<sanitized user>`.
pub fn user_config_path(user: &str) -> String {
    format!("{USER_CONFIGS_PATH}/{}", sanitize(user))
}

/// The `entity_path` of a change notification for a user's config.
pub fn user_config_entity_path(user: &str) -> String {
    format!("users/{}", sanitize(user))
}

/// Kafka's `Sanitizer.sanitize`: URL-encoding of the UTF-8 bytes, with only
/// `[A-Za-z0-9._-]` left as they are (Java's URLEncoder, `+` as `%20`, `*` as `%2A`).
pub fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"._-".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Kafka's `Sanitizer.desanitize` (URL decoding; a bad escape is kept as it is).
pub fn desanitize(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let decoded = (bytes[index] == b'%')
            .then(|| name.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(if bytes[index] == b'+' {
                    b' '
                } else {
                    bytes[index]
                });
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn topic_config_entity_path(topic: &str) -> String {
    format!("topics/{topic}")
}

pub fn delete_topic_path(topic: &str) -> String {
    format!("{DELETE_TOPICS_PATH}/{topic}")
}

/// The sequence number of a `/config/changes/config_change_<seq>` child.
pub fn config_change_sequence(child: &str) -> Option<i64> {
    child.strip_prefix(CONFIG_CHANGE_PREFIX)?.parse().ok()
}

// ---------------------------------------------------------------------------------
// Errors

/// A znode whose bytes Kafka's own decoder would also refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode {what}: {reason}: {text:?}")]
pub struct LayoutError {
    pub what: &'static str,
    pub reason: String,
    /// The znode's bytes, lossily as text, for the log line.
    pub text: String,
}

fn layout_error(what: &'static str, reason: impl Into<String>, bytes: &[u8]) -> LayoutError {
    LayoutError {
        what,
        reason: reason.into(),
        text: String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn parse_object<'a>(
    what: &'static str,
    bytes: &[u8],
    value: &'a Value,
) -> Result<&'a serde_json::Map<String, Value>, LayoutError> {
    value
        .as_object()
        .ok_or_else(|| layout_error(what, "not a JSON object", bytes))
}

fn parse_json(what: &'static str, bytes: &[u8]) -> Result<Value, LayoutError> {
    serde_json::from_slice(bytes).map_err(|error| layout_error(what, error.to_string(), bytes))
}

/// Kafka's `JsonValue.to[Int]` accepts JSON numbers only.
fn field_i32(
    what: &'static str,
    bytes: &[u8],
    object: &serde_json::Map<String, Value>,
    key: &str,
) -> Result<i32, LayoutError> {
    object
        .get(key)
        .and_then(Value::as_i64)
        .and_then(|value| i32::try_from(value).ok())
        .ok_or_else(|| layout_error(what, format!("missing or non-integer {key:?}"), bytes))
}

fn broker_list(
    what: &'static str,
    bytes: &[u8],
    value: &Value,
) -> Result<Vec<BrokerId>, LayoutError> {
    let items = value
        .as_array()
        .ok_or_else(|| layout_error(what, "replica list is not an array", bytes))?;
    items
        .iter()
        .map(|item| {
            item.as_i64()
                .and_then(|id| i32::try_from(id).ok())
                .map(BrokerId)
                .ok_or_else(|| layout_error(what, "replica id is not an integer", bytes))
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// JSON writing with Kafka's key order

/// A JSON string literal; Jackson and serde_json escape the same characters.
fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("serializing a str cannot fail")
}

fn json_broker_list(ids: &[BrokerId]) -> String {
    let items: Vec<String> = ids.iter().map(|id| id.0.to_string()).collect();
    format!("[{}]", items.join(","))
}

/// Writes `{"k":v,...}` with the pairs in the given order (values already JSON).
fn json_object(pairs: &[(&str, String)]) -> String {
    let mut out = String::from("{");
    for (index, (key, value)) in pairs.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}:{}", json_string(key), value);
    }
    out.push('}');
    out
}

/// Orders `pairs` as a Scala 2.13 `mutable.HashMap` holding them would iterate.
fn json_object_scala_order(pairs: Vec<(&str, String)>, table_len_initial: usize) -> String {
    let keys: Vec<&str> = pairs.iter().map(|(key, _)| *key).collect();
    let order = scala_hash_map_order(&keys, table_len_initial);
    let mut ordered = Vec::with_capacity(pairs.len());
    for key in order {
        let pair = pairs
            .iter()
            .find(|(candidate, _)| *candidate == key)
            .expect("order is a permutation of the keys");
        ordered.push((pair.0, pair.1.clone()));
    }
    json_object(&ordered)
}

/// `java.lang.String.hashCode` (UTF-16 code units).
pub fn java_string_hash(text: &str) -> i32 {
    text.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(unit as i32)
    })
}

/// The iteration order of a Scala 2.13 `mutable.HashMap` with String keys.
///
/// Its table has a power-of-two length (16 by default, or sized from the element
/// count when built by `Map(...)`) and doubles whenever an insertion would reach
/// three quarters of it. A key's bucket is its improved hash (`h ^ (h >>> 16)`)
/// masked by the table length; within a bucket nodes stay sorted by improved hash
/// as a signed int. Iteration walks the buckets in order. Insertion order therefore
/// never matters, only the keys and the final table length. Checked against
/// Kafka 3.9.1's own `/brokers/ids` and `/brokers/topics` znodes (1 to 30 partitions).
pub fn scala_hash_map_order<'a>(keys: &[&'a str], table_len_initial: usize) -> Vec<&'a str> {
    let mut table_len = table_len_initial.max(1).next_power_of_two();
    // Scala grows before inserting when `size + 1 >= threshold` (0.75 of the length).
    while keys.len() * 4 >= table_len * 3 {
        table_len *= 2;
    }
    let mut entries: Vec<(usize, i32, &'a str)> = keys
        .iter()
        .map(|key| {
            let hash = java_string_hash(key);
            let improved = hash ^ ((hash as u32) >> 16) as i32;
            (improved as u32 as usize & (table_len - 1), improved, *key)
        })
        .collect();
    entries.sort();
    entries.into_iter().map(|(_, _, key)| key).collect()
}

/// The table length Scala's `mutable.HashMap.from` starts with for `count` elements.
fn scala_table_len_for(count: usize) -> usize {
    let capacity = ((count + 1) as f64 / 0.75) as usize;
    capacity.max(1).next_power_of_two()
}

// ---------------------------------------------------------------------------------
// Topic ids: Kafka's Uuid.toString

/// Kafka's `Uuid.toString`: the 16 bytes, URL-safe base64 without padding (22 chars).
pub fn uuid_to_kafka_string(uuid: Uuid) -> String {
    base64_url_encode(uuid.as_bytes())
}

/// Kafka's `Uuid.fromString`.
pub fn uuid_from_kafka_string(text: &str) -> Option<Uuid> {
    if text.len() != 22 {
        return None;
    }
    let bytes = base64_url_decode(text)?;
    let bytes: [u8; 16] = bytes.try_into().ok()?;
    Some(Uuid::from_bytes(bytes))
}

/// Kafka's `Uuid.randomUuid`: never the reserved zero and metadata-topic ids, never a
/// string starting with '-' (it would read as a command-line option).
pub fn random_kafka_uuid() -> Uuid {
    let metadata_topic_id = Uuid::from_u128(1);
    loop {
        let uuid = Uuid::new_v4();
        if uuid != Uuid::nil()
            && uuid != metadata_topic_id
            && !uuid_to_kafka_string(uuid).starts_with('-')
        {
            return uuid;
        }
    }
}

const BASE64_URL_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64_url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let word = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        let symbols = chunk.len() + 1;
        for index in 0..symbols {
            let six = (word >> (18 - 6 * index)) & 0x3f;
            out.push(BASE64_URL_ALPHABET[six as usize] as char);
        }
    }
    out
}

fn base64_url_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut word: u32 = 0;
    let mut bits = 0;
    for byte in text.bytes() {
        let six = BASE64_URL_ALPHABET
            .iter()
            .position(|symbol| *symbol == byte)? as u32;
        word = word << 6 | six;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((word >> bits) as u8);
            word &= (1 << bits) - 1;
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------
// /brokers/ids/<id>

/// A broker registration as Kafka writes it (version 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerZnode {
    /// Advertised endpoints with their security protocol, in `advertised.listeners` order.
    pub endpoints: Vec<(Endpoint, String)>,
    pub rack: Option<String>,
    /// -1 when JMX is off, as in every keel broker.
    pub jmx_port: i32,
    pub timestamp_ms: i64,
    pub version: i32,
}

impl BrokerZnode {
    pub const VERSION: i32 = 5;

    pub fn encode(&self) -> Vec<u8> {
        // Older clients read the top-level host/port: the first PLAINTEXT endpoint,
        // or null and -1 when there is none (BrokerIdZNode.encode).
        let plaintext = self
            .endpoints
            .iter()
            .find(|(_, protocol)| protocol == "PLAINTEXT")
            .map(|(endpoint, _)| endpoint);
        let host = plaintext.map_or("null".to_string(), |endpoint| json_string(&endpoint.host));
        let port = plaintext.map_or(-1, |endpoint| i32::from(endpoint.port));
        let endpoints: Vec<String> = self
            .endpoints
            .iter()
            .map(|(endpoint, _)| json_string(&endpoint_connection_string(endpoint)))
            .collect();
        // The protocol map is a Scala immutable Map (`.toMap`): up to four entries
        // keep insertion order; beyond that keel writes them sorted.
        let mut protocol_pairs: Vec<(&str, String)> = Vec::new();
        for (endpoint, protocol) in &self.endpoints {
            if !protocol_pairs
                .iter()
                .any(|(name, _)| *name == endpoint.listener)
            {
                protocol_pairs.push((&endpoint.listener, json_string(protocol)));
            }
        }
        if protocol_pairs.len() > 4 {
            protocol_pairs.sort();
        }
        let mut pairs = vec![
            ("version", self.version.to_string()),
            ("host", host),
            ("port", port.to_string()),
            ("endpoints", format!("[{}]", endpoints.join(","))),
            ("jmx_port", self.jmx_port.to_string()),
            ("timestamp", json_string(&self.timestamp_ms.to_string())),
        ];
        if let Some(rack) = &self.rack {
            pairs.push(("rack", json_string(rack)));
        }
        pairs.push((
            "listener_security_protocol_map",
            json_object(&protocol_pairs),
        ));
        pairs.push(("features", "{}".to_string()));
        // `collection.mutable.Map(six pairs)` starts with a 16-slot table.
        json_object_scala_order(pairs, scala_table_len_for(6)).into_bytes()
    }

    /// Decodes versions 1..5 as `BrokerIdZNode.decode` does.
    pub fn decode(bytes: &[u8]) -> Result<BrokerZnode, LayoutError> {
        const WHAT: &str = "broker registration";
        let value = parse_json(WHAT, bytes)?;
        let object = parse_object(WHAT, bytes, &value)?;
        let version = field_i32(WHAT, bytes, object, "version")?;
        let jmx_port = object.get("jmx_port").and_then(Value::as_i64).unwrap_or(-1) as i32;
        let timestamp_ms = object
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(|text| text.parse().ok())
            .unwrap_or(0);
        let rack = object
            .get("rack")
            .and_then(Value::as_str)
            .map(str::to_string);
        let endpoints = if version < 1 {
            return Err(layout_error(WHAT, "unsupported version", bytes));
        } else if version == 1 {
            let host = object
                .get("host")
                .and_then(Value::as_str)
                .ok_or_else(|| layout_error(WHAT, "no host", bytes))?;
            let port = field_i32(WHAT, bytes, object, "port")?;
            vec![(
                Endpoint {
                    listener: "PLAINTEXT".to_string(),
                    host: host.to_string(),
                    port: u16::try_from(port).map_err(|_| layout_error(WHAT, "bad port", bytes))?,
                },
                "PLAINTEXT".to_string(),
            )]
        } else {
            let protocols: BTreeMap<String, String> = match object
                .get("listener_security_protocol_map")
                .and_then(Value::as_object)
            {
                Some(map) => map
                    .iter()
                    .filter_map(|(name, protocol)| {
                        Some((name.clone(), protocol.as_str()?.to_string()))
                    })
                    .collect(),
                None => BTreeMap::new(),
            };
            let items = object
                .get("endpoints")
                .and_then(Value::as_array)
                .ok_or_else(|| layout_error(WHAT, "no endpoints", bytes))?;
            let mut endpoints = Vec::with_capacity(items.len());
            for item in items {
                let text = item
                    .as_str()
                    .ok_or_else(|| layout_error(WHAT, "endpoint is not a string", bytes))?;
                let endpoint = parse_endpoint(text)
                    .ok_or_else(|| layout_error(WHAT, format!("bad endpoint {text:?}"), bytes))?;
                // Without a map (version 2/3), the listener name is the protocol.
                let protocol = protocols
                    .get(&endpoint.listener)
                    .cloned()
                    .unwrap_or_else(|| endpoint.listener.clone());
                endpoints.push((endpoint, protocol));
            }
            endpoints
        };
        Ok(BrokerZnode {
            endpoints,
            rack,
            jmx_port,
            timestamp_ms,
            version,
        })
    }
}

/// `EndPoint.connectionString`: `NAME://host:port`, IPv6 hosts in brackets.
pub fn endpoint_connection_string(endpoint: &Endpoint) -> String {
    if endpoint.host.contains(':') {
        format!(
            "{}://[{}]:{}",
            endpoint.listener, endpoint.host, endpoint.port
        )
    } else {
        format!(
            "{}://{}:{}",
            endpoint.listener, endpoint.host, endpoint.port
        )
    }
}

fn parse_endpoint(text: &str) -> Option<Endpoint> {
    let (listener, address) = text.split_once("://")?;
    let (host, port) = match address.strip_prefix('[') {
        Some(rest) => {
            let (host, rest) = rest.split_once(']')?;
            (host, rest.strip_prefix(':')?)
        }
        None => address.rsplit_once(':')?,
    };
    Some(Endpoint {
        listener: listener.to_string(),
        host: host.to_string(),
        port: port.parse().ok()?,
    })
}

// ---------------------------------------------------------------------------------
// /brokers/topics/<topic>

/// A topic's replica assignment and id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicZnode {
    /// `None` for topics written by tools before Kafka 2.8 (version 1 and 2 JSON).
    pub topic_id: Option<TopicId>,
    /// Replicas by partition, preferred leader first.
    pub partitions: BTreeMap<i32, Vec<BrokerId>>,
    pub adding_replicas: BTreeMap<i32, Vec<BrokerId>>,
    pub removing_replicas: BTreeMap<i32, Vec<BrokerId>>,
}

impl TopicZnode {
    pub fn encode(&self) -> Vec<u8> {
        fn replica_map(map: &BTreeMap<i32, Vec<BrokerId>>) -> String {
            let keys: Vec<String> = map.keys().map(i32::to_string).collect();
            let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            let pairs: Vec<(&str, String)> = key_refs
                .iter()
                .zip(map.values())
                .map(|(key, replicas)| (*key, json_broker_list(replicas)))
                .collect();
            // `mutable.Map[String, List]()`: a default 16-slot table that grows.
            json_object_scala_order(pairs, 16)
        }
        let mut pairs = vec![
            ("version", "3".to_string()),
            ("partitions", replica_map(&self.partitions)),
            ("adding_replicas", replica_map(&self.adding_replicas)),
            ("removing_replicas", replica_map(&self.removing_replicas)),
        ];
        if let Some(id) = self.topic_id {
            pairs.push(("topic_id", json_string(&uuid_to_kafka_string(id.0))));
        }
        json_object_scala_order(pairs, scala_table_len_for(4)).into_bytes()
    }

    /// Decodes versions 1..3 as `TopicZNode.decode` does.
    pub fn decode(bytes: &[u8]) -> Result<TopicZnode, LayoutError> {
        const WHAT: &str = "topic assignment";
        let value = parse_json(WHAT, bytes)?;
        let object = parse_object(WHAT, bytes, &value)?;
        let topic_id = match object.get("topic_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(TopicId(
                uuid_from_kafka_string(text)
                    .ok_or_else(|| layout_error(WHAT, "bad topic_id", bytes))?,
            )),
            Some(_) => return Err(layout_error(WHAT, "topic_id is not a string", bytes)),
        };
        let replica_map = |key: &str| -> Result<BTreeMap<i32, Vec<BrokerId>>, LayoutError> {
            let mut out = BTreeMap::new();
            if let Some(map) = object.get(key).and_then(Value::as_object) {
                for (partition, replicas) in map {
                    let partition: i32 = partition
                        .parse()
                        .map_err(|_| layout_error(WHAT, "partition is not a number", bytes))?;
                    out.insert(partition, broker_list(WHAT, bytes, replicas)?);
                }
            }
            Ok(out)
        };
        Ok(TopicZnode {
            topic_id,
            partitions: replica_map("partitions")?,
            adding_replicas: replica_map("adding_replicas")?,
            removing_replicas: replica_map("removing_replicas")?,
        })
    }
}

// ---------------------------------------------------------------------------------
// /brokers/topics/<topic>/partitions/<p>/state

/// Leader, ISR and epochs of one partition (`LeaderIsrAndControllerEpoch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionStateZnode {
    /// -1 (`LeaderAndIsr.NoLeader`) while no replica leads.
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<BrokerId>,
    pub controller_epoch: i32,
    /// KIP-704 `leader_recovery_state`; absent (0, RECOVERED) in nearly every znode.
    pub leader_recovery_state: Option<i32>,
}

impl PartitionStateZnode {
    pub const NO_LEADER: i32 = -1;

    pub fn encode(&self) -> Vec<u8> {
        // An immutable Scala Map of five entries is a HashMap whose order for these
        // keys is fixed; this is the text Kafka 3.9 writes.
        let mut pairs = vec![
            ("controller_epoch", self.controller_epoch.to_string()),
            ("leader", self.leader.to_string()),
            ("version", "1".to_string()),
            ("leader_epoch", self.leader_epoch.to_string()),
            ("isr", json_broker_list(&self.isr)),
        ];
        if let Some(state) = self.leader_recovery_state.filter(|state| *state != 0) {
            pairs.push(("leader_recovery_state", state.to_string()));
        }
        json_object(&pairs).into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<PartitionStateZnode, LayoutError> {
        const WHAT: &str = "partition state";
        let value = parse_json(WHAT, bytes)?;
        let object = parse_object(WHAT, bytes, &value)?;
        Ok(PartitionStateZnode {
            leader: field_i32(WHAT, bytes, object, "leader")?,
            leader_epoch: field_i32(WHAT, bytes, object, "leader_epoch")?,
            isr: broker_list(
                WHAT,
                bytes,
                object
                    .get("isr")
                    .ok_or_else(|| layout_error(WHAT, "no isr", bytes))?,
            )?,
            controller_epoch: field_i32(WHAT, bytes, object, "controller_epoch")?,
            leader_recovery_state: object
                .get("leader_recovery_state")
                .and_then(Value::as_i64)
                .map(|state| state as i32),
        })
    }
}

// ---------------------------------------------------------------------------------
// /config/<type>/<name> and /config/changes

/// `{"version":1,"config":{...}}`. Kafka writes a `java.util.Properties`, whose
/// order is a Hashtable's; keel writes the keys sorted (readers never depend on it).
pub fn encode_entity_config(configs: &BTreeMap<String, String>) -> Vec<u8> {
    let pairs: Vec<(&str, String)> = configs
        .iter()
        .map(|(key, value)| (key.as_str(), json_string(value)))
        .collect();
    json_object(&[
        ("version", "1".to_string()),
        ("config", json_object(&pairs)),
    ])
    .into_bytes()
}

/// `ConfigEntityZNode.decode`: tolerant, as Kafka is (empty or odd data is no config).
pub fn decode_entity_config(bytes: &[u8]) -> BTreeMap<String, String> {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return BTreeMap::new();
    };
    let Some(config) = value.get("config").and_then(Value::as_object) else {
        return BTreeMap::new();
    };
    config
        .iter()
        .filter_map(|(key, value)| {
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Null => return None,
                other => other.to_string(),
            };
            Some((key.clone(), text))
        })
        .collect()
}

/// `{"version":2,"entity_path":"topics/<t>"}`.
pub fn encode_config_change(entity_path: &str) -> Vec<u8> {
    json_object(&[
        ("version", "2".to_string()),
        ("entity_path", json_string(entity_path)),
    ])
    .into_bytes()
}

/// What a config change notification names: (entity type, entity name).
/// Version 1 notifications (`{"version":1,"entity_type":"topics","entity_name":"t"}`)
/// are still read, as Kafka's ConfigChangedNotificationHandler does.
pub fn decode_config_change(bytes: &[u8]) -> Result<(String, String), LayoutError> {
    const WHAT: &str = "config change notification";
    let value = parse_json(WHAT, bytes)?;
    let object = parse_object(WHAT, bytes, &value)?;
    let version = field_i32(WHAT, bytes, object, "version")?;
    let text_field = |key: &str| {
        object
            .get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| layout_error(WHAT, format!("no {key}"), bytes))
    };
    match version {
        1 => Ok((
            text_field("entity_type")?.to_string(),
            text_field("entity_name")?.to_string(),
        )),
        2 => {
            let path = text_field("entity_path")?;
            let (entity_type, name) = path
                .split_once('/')
                .ok_or_else(|| layout_error(WHAT, "entity_path has no '/'", bytes))?;
            Ok((entity_type.to_string(), name.to_string()))
        }
        _ => Err(layout_error(WHAT, "unsupported version", bytes)),
    }
}

// ---------------------------------------------------------------------------------
// /controller, /controller_epoch, /cluster/id, /feature

/// `/controller` as Kafka 3.9 writes it (version 2, `kraftControllerEpoch` -1 for a
/// ZooKeeper-mode controller). Kafka 2.x wrote version 1 without the last field;
/// every version reads both, since all they need is `brokerid`.
pub fn encode_controller(broker: BrokerId, timestamp_ms: i64) -> Vec<u8> {
    json_object(&[
        ("version", "2".to_string()),
        ("brokerid", broker.0.to_string()),
        ("timestamp", json_string(&timestamp_ms.to_string())),
        ("kraftControllerEpoch", "-1".to_string()),
    ])
    .into_bytes()
}

/// The controller's broker id, and its KRaft epoch if a KRaft controller wrote it.
pub fn decode_controller(bytes: &[u8]) -> Result<(BrokerId, Option<i32>), LayoutError> {
    const WHAT: &str = "controller registration";
    let value = parse_json(WHAT, bytes)?;
    let object = parse_object(WHAT, bytes, &value)?;
    let broker = BrokerId(field_i32(WHAT, bytes, object, "brokerid")?);
    let kraft_epoch = object
        .get("kraftControllerEpoch")
        .and_then(Value::as_i64)
        .map(|epoch| epoch as i32);
    Ok((broker, kraft_epoch))
}

/// `/controller_epoch` holds the epoch as plain decimal text.
pub fn encode_controller_epoch(epoch: i32) -> Vec<u8> {
    epoch.to_string().into_bytes()
}

pub fn decode_controller_epoch(bytes: &[u8]) -> Result<i32, LayoutError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .ok_or_else(|| layout_error("controller epoch", "not an integer", bytes))
}

/// `{"version":"1","id":"<id>"}`: note the version is a string here.
pub fn encode_cluster_id(id: &str) -> Vec<u8> {
    json_object(&[("version", json_string("1")), ("id", json_string(id))]).into_bytes()
}

pub fn decode_cluster_id(bytes: &[u8]) -> Result<String, LayoutError> {
    const WHAT: &str = "cluster id";
    let value = parse_json(WHAT, bytes)?;
    value
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| layout_error(WHAT, "no id", bytes))
}

// ---------------------------------------------------------------------------------
// /admin/preferred_replica_election

/// The partitions of `{"version":1,"partitions":[{"topic":"t","partition":0},..]}`
/// (`PreferredReplicaElectionZNode.decode`), duplicates folded as Kafka's Set does.
pub fn decode_preferred_replica_election(
    bytes: &[u8],
) -> Result<std::collections::BTreeSet<(String, i32)>, LayoutError> {
    const WHAT: &str = "preferred replica election";
    let value = parse_json(WHAT, bytes)?;
    let object = parse_object(WHAT, bytes, &value)?;
    let entries = object
        .get("partitions")
        .and_then(Value::as_array)
        .ok_or_else(|| layout_error(WHAT, "no partitions array", bytes))?;
    let mut partitions = std::collections::BTreeSet::new();
    for entry in entries {
        let entry = parse_object(WHAT, bytes, entry)?;
        let topic = entry
            .get("topic")
            .and_then(Value::as_str)
            .ok_or_else(|| layout_error(WHAT, "an entry without a topic", bytes))?;
        let partition = field_i32(WHAT, bytes, entry, "partition")?;
        partitions.insert((topic.to_string(), partition));
    }
    Ok(partitions)
}

/// `/feature` as a Kafka 3.x ZooKeeper-mode controller creates it: versioning
/// enabled (status 1) with no finalized features.
pub fn encode_feature_enabled() -> Vec<u8> {
    b"{\"features\":{},\"version\":2,\"status\":1}".to_vec()
}

// ---------------------------------------------------------------------------------
// /latest_producer_id_block

/// A block of producer ids claimed by one broker (`ProducerIdsBlock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerIdBlock {
    pub broker: BrokerId,
    pub first: i64,
    pub last: i64,
}

impl ProducerIdBlock {
    /// `ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE`.
    pub const SIZE: i64 = 1000;

    /// The block after `current` (or the first block, 0..999), for `broker`.
    /// `None` once the ids are exhausted, which Kafka treats as fatal.
    pub fn next(current: Option<&ProducerIdBlock>, broker: BrokerId) -> Option<ProducerIdBlock> {
        let first = match current {
            Some(block) if block.last > i64::MAX - Self::SIZE => return None,
            Some(block) => block.last + 1,
            None => 0,
        };
        Some(ProducerIdBlock {
            broker,
            first,
            last: first + Self::SIZE - 1,
        })
    }

    /// The placeholder keel writes when it creates the znode itself. Kafka creates it
    /// with null data, which the ZooKeeper client keel uses cannot send (it would be
    /// empty data, which Kafka's parser rejects); this block, ending at -1, makes
    /// Kafka's and keel's next block the same first block, 0..999.
    pub const PLACEHOLDER: ProducerIdBlock = ProducerIdBlock {
        broker: BrokerId(-1),
        first: -Self::SIZE,
        last: -1,
    };

    pub fn encode(&self) -> Vec<u8> {
        json_object(&[
            ("version", "1".to_string()),
            ("broker", self.broker.0.to_string()),
            ("block_start", json_string(&self.first.to_string())),
            ("block_end", json_string(&self.last.to_string())),
        ])
        .into_bytes()
    }

    /// `None` for the null/empty data of a freshly created znode.
    pub fn decode(bytes: &[u8]) -> Result<Option<ProducerIdBlock>, LayoutError> {
        const WHAT: &str = "producer id block";
        if bytes.is_empty() {
            return Ok(None);
        }
        let value = parse_json(WHAT, bytes)?;
        let object = parse_object(WHAT, bytes, &value)?;
        let long_text = |key: &str| -> Result<i64, LayoutError> {
            match object.get(key) {
                Some(Value::String(text)) => text.parse().ok(),
                Some(Value::Number(number)) => number.as_i64(),
                _ => None,
            }
            .ok_or_else(|| layout_error(WHAT, format!("bad {key}"), bytes))
        };
        Ok(Some(ProducerIdBlock {
            broker: BrokerId(field_i32(WHAT, bytes, object, "broker")?),
            first: long_text("block_start")?,
            last: long_text("block_end")?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_sanitized_as_kafka_does() {
        assert_eq!(sanitize("alice"), "alice");
        assert_eq!(sanitize("CN=a b,O=*"), "CN%3Da%20b%2CO%3D%2A");
        assert_eq!(sanitize("é"), "%C3%A9");
        for name in ["alice", "CN=a b,O=*", "é", "100%"] {
            assert_eq!(desanitize(&sanitize(name)), name);
        }
    }

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    fn plaintext(host: &str, port: u16) -> (Endpoint, String) {
        (
            Endpoint {
                listener: "PLAINTEXT".into(),
                host: host.into(),
                port,
            },
            "PLAINTEXT".into(),
        )
    }

    #[test]
    fn java_hash_matches_java() {
        // Values from `"…".hashCode()` on a JVM.
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("10"), 1567);
        assert_eq!(java_string_hash("features") as u32, 0xeeac_e43d);
    }

    // Captured from Apache Kafka 3.9.1 on Apache ZooKeeper 3.9.4.
    const KAFKA_BROKER: &str = r#"{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://127.0.0.1:60179"],"jmx_port":-1,"port":60179,"host":"127.0.0.1","version":5,"timestamp":"1795640242516"}"#;

    #[test]
    fn broker_registration_is_kafkas_bytes() {
        let broker = BrokerZnode {
            endpoints: vec![plaintext("127.0.0.1", 60179)],
            rack: None,
            jmx_port: -1,
            timestamp_ms: 1795640242516,
            version: 5,
        };
        assert_eq!(text(broker.encode()), KAFKA_BROKER);
        assert_eq!(
            BrokerZnode::decode(KAFKA_BROKER.as_bytes()).unwrap(),
            broker
        );
    }

    #[test]
    fn broker_registration_with_rack_and_two_listeners() {
        let broker = BrokerZnode {
            endpoints: vec![
                (
                    Endpoint {
                        listener: "INTERNAL".into(),
                        host: "::1".into(),
                        port: 9093,
                    },
                    "SSL".into(),
                ),
                plaintext("h", 9092),
            ],
            rack: Some("r1".into()),
            jmx_port: -1,
            timestamp_ms: 7,
            version: 5,
        };
        // Key order from the Scala HashMap model; rack falls between endpoints and jmx_port.
        assert_eq!(
            text(broker.encode()),
            r#"{"features":{},"listener_security_protocol_map":{"INTERNAL":"SSL","PLAINTEXT":"PLAINTEXT"},"endpoints":["INTERNAL://[::1]:9093","PLAINTEXT://h:9092"],"rack":"r1","jmx_port":-1,"port":9092,"host":"h","version":5,"timestamp":"7"}"#
        );
        assert_eq!(BrokerZnode::decode(&broker.encode()).unwrap(), broker);
    }

    #[test]
    fn broker_registration_without_plaintext_has_null_host() {
        let broker = BrokerZnode {
            endpoints: vec![(
                Endpoint {
                    listener: "SSL".into(),
                    host: "h".into(),
                    port: 1,
                },
                "SSL".into(),
            )],
            rack: None,
            jmx_port: -1,
            timestamp_ms: 1,
            version: 5,
        };
        let encoded = text(broker.encode());
        assert!(encoded.contains(r#""port":-1,"host":null"#), "{encoded}");
    }

    #[test]
    fn old_broker_registrations_decode() {
        let v1 = br#"{"version":1,"host":"localhost","port":9092,"jmx_port":9999,"timestamp":"2233345666"}"#;
        let broker = BrokerZnode::decode(v1).unwrap();
        assert_eq!(broker.endpoints, vec![plaintext("localhost", 9092)]);
        assert_eq!(broker.jmx_port, 9999);
        let v3 = br#"{"version":3,"host":"localhost","port":9092,"jmx_port":9999,"timestamp":"2233345666","endpoints":["PLAINTEXT://host1:9092","SSL://host1:9093"],"rack":"dc1"}"#;
        let broker = BrokerZnode::decode(v3).unwrap();
        assert_eq!(broker.endpoints[1].1, "SSL");
        assert_eq!(broker.rack.as_deref(), Some("dc1"));
        assert!(BrokerZnode::decode(b"{\"version\":0,\"jmx_port\":1}").is_err());
        assert!(BrokerZnode::decode(b"not json").is_err());
    }

    const KAFKA_TOPIC_V3: &str = r#"{"partitions":{"0":[1],"1":[1],"2":[1],"3":[1]},"topic_id":"kbZflAaERQ-0QzCq2NPzsw","adding_replicas":{},"removing_replicas":{},"version":3}"#;

    #[test]
    fn topic_assignment_is_kafkas_bytes() {
        let topic = TopicZnode::decode(KAFKA_TOPIC_V3.as_bytes()).unwrap();
        assert_eq!(topic.partitions.len(), 4);
        let id = topic.topic_id.unwrap();
        assert_eq!(uuid_to_kafka_string(id.0), "kbZflAaERQ-0QzCq2NPzsw");
        assert_eq!(text(topic.encode()), KAFKA_TOPIC_V3);
    }

    #[test]
    fn topic_partition_order_follows_kafkas_hash_map() {
        // Kafka 3.9.1 wrote these for topics of 12 and 30 partitions.
        let expected_12 = r#"{"partitions":{"11":[1],"0":[1],"1":[1],"2":[1],"3":[1],"4":[1],"5":[1],"6":[1],"7":[1],"8":[1],"9":[1],"10":[1]},"topic_id":"OnGgUFd1SnKXdncRTKGmgw","adding_replicas":{},"removing_replicas":{},"version":3}"#;
        let expected_30 = r#"{"partitions":{"22":[1],"23":[1],"24":[1],"25":[1],"26":[1],"27":[1],"28":[1],"29":[1],"10":[1],"11":[1],"12":[1],"13":[1],"14":[1],"15":[1],"16":[1],"17":[1],"18":[1],"19":[1],"0":[1],"1":[1],"2":[1],"3":[1],"4":[1],"5":[1],"6":[1],"7":[1],"8":[1],"9":[1],"20":[1],"21":[1]},"topic_id":"Fe9YHUCSQGKfj5MbfGT4FA","adding_replicas":{},"removing_replicas":{},"version":3}"#;
        for expected in [expected_12, expected_30] {
            let topic = TopicZnode::decode(expected.as_bytes()).unwrap();
            assert_eq!(text(topic.encode()), expected);
        }
    }

    #[test]
    fn kafka_2_2_topics_decode_without_id() {
        // Written by kafka-topics.sh 2.2.1 --zookeeper (--partitions 3, --replication-factor 2).
        let written = br#"{"version":1,"partitions":{"2":[1,2],"1":[2,1],"0":[1,2]}}"#;
        let topic = TopicZnode::decode(written).unwrap();
        assert_eq!(topic.topic_id, None);
        assert_eq!(topic.partitions[&1], vec![BrokerId(2), BrokerId(1)]);
        assert!(topic.adding_replicas.is_empty());
        // Re-encoded without an id, as Kafka's setTopicAssignment would before one is assigned.
        assert_eq!(
            text(topic.encode()),
            r#"{"partitions":{"0":[1,2],"1":[2,1],"2":[1,2]},"adding_replicas":{},"removing_replicas":{},"version":3}"#
        );
    }

    #[test]
    fn topic_with_reassignment_in_progress() {
        let mut topic = TopicZnode::default();
        topic.partitions.insert(0, vec![BrokerId(1), BrokerId(2)]);
        topic.adding_replicas.insert(0, vec![BrokerId(2)]);
        let encoded = topic.encode();
        assert_eq!(TopicZnode::decode(&encoded).unwrap(), topic);
        assert!(text(encoded).contains(r#""adding_replicas":{"0":[2]}"#));
    }

    #[test]
    fn partition_state_is_kafkas_bytes() {
        let kafka = r#"{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1]}"#;
        let state = PartitionStateZnode::decode(kafka.as_bytes()).unwrap();
        assert_eq!(
            state,
            PartitionStateZnode {
                leader: 1,
                leader_epoch: 0,
                isr: vec![BrokerId(1)],
                controller_epoch: 1,
                leader_recovery_state: None,
            }
        );
        assert_eq!(text(state.encode()), kafka);
        let offline = PartitionStateZnode {
            leader: PartitionStateZnode::NO_LEADER,
            leader_epoch: 3,
            isr: vec![BrokerId(1), BrokerId(2)],
            controller_epoch: 2,
            leader_recovery_state: None,
        };
        assert_eq!(
            text(offline.encode()),
            r#"{"controller_epoch":2,"leader":-1,"version":1,"leader_epoch":3,"isr":[1,2]}"#
        );
    }

    #[test]
    fn configs_and_notifications() {
        let mut configs = BTreeMap::new();
        assert_eq!(
            text(encode_entity_config(&configs)),
            r#"{"version":1,"config":{}}"#
        );
        configs.insert("retention.ms".to_string(), "1000".to_string());
        configs.insert("cleanup.policy".to_string(), "compact".to_string());
        let kafka = r#"{"version":1,"config":{"cleanup.policy":"compact","retention.ms":"1000"}}"#;
        assert_eq!(text(encode_entity_config(&configs)), kafka);
        assert_eq!(decode_entity_config(kafka.as_bytes()), configs);
        assert!(decode_entity_config(b"").is_empty());

        let change = r#"{"version":2,"entity_path":"topics/new39"}"#;
        assert_eq!(text(encode_config_change("topics/new39")), change);
        assert_eq!(
            decode_config_change(change.as_bytes()).unwrap(),
            ("topics".to_string(), "new39".to_string())
        );
        assert_eq!(
            decode_config_change(br#"{"version":2,"entity_path":"brokers/<default>"}"#).unwrap(),
            ("brokers".to_string(), "<default>".to_string())
        );
        assert_eq!(
            decode_config_change(br#"{"version":1,"entity_type":"topics","entity_name":"t"}"#)
                .unwrap(),
            ("topics".to_string(), "t".to_string())
        );
        assert_eq!(config_change_sequence("config_change_0000000012"), Some(12));
        assert_eq!(config_change_sequence("other"), None);
    }

    #[test]
    fn controller_epoch_cluster_id_and_feature() {
        let controller =
            r#"{"version":2,"brokerid":1,"timestamp":"1795640242977","kraftControllerEpoch":-1}"#;
        assert_eq!(
            text(encode_controller(BrokerId(1), 1795640242977)),
            controller
        );
        assert_eq!(
            decode_controller(controller.as_bytes()).unwrap(),
            (BrokerId(1), Some(-1))
        );
        // Kafka 2.x's version 1.
        assert_eq!(
            decode_controller(br#"{"version":1,"brokerid":0,"timestamp":"1"}"#).unwrap(),
            (BrokerId(0), None)
        );
        assert_eq!(encode_controller_epoch(12), b"12");
        assert_eq!(decode_controller_epoch(b"1").unwrap(), 1);
        assert!(decode_controller_epoch(b"x").is_err());

        let cluster = r#"{"version":"1","id":"2K1vObNJT--LHw7NFWIv8A"}"#;
        assert_eq!(text(encode_cluster_id("2K1vObNJT--LHw7NFWIv8A")), cluster);
        assert_eq!(
            decode_cluster_id(cluster.as_bytes()).unwrap(),
            "2K1vObNJT--LHw7NFWIv8A"
        );
        assert_eq!(
            text(encode_feature_enabled()),
            r#"{"features":{},"version":2,"status":1}"#
        );
    }

    #[test]
    fn producer_id_blocks() {
        let kafka = r#"{"version":1,"broker":1,"block_start":"0","block_end":"999"}"#;
        let first = ProducerIdBlock::next(None, BrokerId(1)).unwrap();
        assert_eq!(text(first.encode()), kafka);
        assert_eq!(
            ProducerIdBlock::decode(kafka.as_bytes()).unwrap(),
            Some(first)
        );
        let second = ProducerIdBlock::next(Some(&first), BrokerId(2)).unwrap();
        assert_eq!((second.first, second.last), (1000, 1999));
        assert_eq!(
            ProducerIdBlock::next(Some(&ProducerIdBlock::PLACEHOLDER), BrokerId(1)),
            Some(first)
        );
        assert_eq!(ProducerIdBlock::decode(b"").unwrap(), None);
        let exhausted = ProducerIdBlock {
            broker: BrokerId(1),
            first: i64::MAX - 1500,
            last: i64::MAX - 501,
        };
        assert_eq!(ProducerIdBlock::next(Some(&exhausted), BrokerId(1)), None);
    }

    #[test]
    fn kafka_uuid_strings() {
        for text in [
            "kbZflAaERQ-0QzCq2NPzsw",
            "2K1vObNJT--LHw7NFWIv8A",
            "AAAAAAAAAAAAAAAAAAAAAA",
        ] {
            let uuid = uuid_from_kafka_string(text).unwrap();
            assert_eq!(uuid_to_kafka_string(uuid), text);
        }
        assert_eq!(
            uuid_to_kafka_string(Uuid::from_u128(1)),
            "AAAAAAAAAAAAAAAAAAAAAQ"
        );
        assert_eq!(uuid_from_kafka_string("short"), None);
        assert_eq!(uuid_from_kafka_string("kbZflAaERQ-0QzCq2NPzs!"), None);
        for _ in 0..100 {
            let uuid = random_kafka_uuid();
            assert!(!uuid_to_kafka_string(uuid).starts_with('-'));
            assert_eq!(
                uuid_from_kafka_string(&uuid_to_kafka_string(uuid)),
                Some(uuid)
            );
        }
    }

    #[test]
    fn paths() {
        assert_eq!(
            partition_state_path("t", 3),
            "/brokers/topics/t/partitions/3/state"
        );
        assert_eq!(broker_config_path(None), "/config/brokers/<default>");
        assert_eq!(broker_config_path(Some(BrokerId(2))), "/config/brokers/2");
    }

    #[test]
    fn preferred_replica_election_request() {
        // What kafka-preferred-replica-election --zookeeper of Kafka 2.2.1 writes.
        let written = br#"{"version":1,"partitions":[{"topic":"logs","partition":1},{"topic":"logs","partition":0},{"topic":"logs","partition":1}]}"#;
        let partitions = decode_preferred_replica_election(written).unwrap();
        assert_eq!(
            partitions.into_iter().collect::<Vec<_>>(),
            vec![("logs".to_string(), 0), ("logs".to_string(), 1)]
        );
        assert!(decode_preferred_replica_election(b"{\"version\":1}").is_err());
        assert!(decode_preferred_replica_election(b"not json").is_err());
    }
}
