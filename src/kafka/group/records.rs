//! The keys and values the group coordinator stores in `__consumer_offsets`,
//! encoded exactly as Apache Kafka stores them (schemas in Kafka's
//! `group-coordinator/src/main/resources/common/message/*.json`).
//!
//! Every key and value starts with an `int16` version. The key version is also the
//! record type: 0 and 1 are `OffsetCommitKey`, 2 is `GroupMetadataKey`; higher
//! types belong to the new consumer and share group protocols, which keel does not
//! model, so they decode to `None` and are skipped on load. A null value is a
//! tombstone: the offset or the group is gone.
//!
//! Written versions follow Kafka 3.x/4.x (`MetadataVersion.offsetCommitValueVersion`
//! and `groupMetadataValueVersion`): `OffsetCommitValue` v3, or v1 when the commit
//! carried an explicit retention (an expire timestamp); `GroupMetadataValue` v3.
//! Versions 0..4 of both values are read.

use bytes::Bytes;

use super::wire::{Reader, Writer};

/// Why a stored key or value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record ends before its last field")]
    Truncated,
    #[error("malformed record: {0}")]
    Malformed(&'static str),
    #[error("unknown {what} version {version}")]
    UnknownVersion { what: &'static str, version: i16 },
}

/// Key type of committed offsets, as Kafka writes it.
const OFFSET_COMMIT_KEY_VERSION: i16 = 1;
/// Key type of group metadata.
const GROUP_METADATA_KEY_VERSION: i16 = 2;
/// `OffsetCommitValue` version without an expire timestamp.
const OFFSET_COMMIT_VALUE_VERSION: i16 = 3;
/// `OffsetCommitValue` version whose schema still carries `expireTimestamp`.
const OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY: i16 = 1;
/// The highest non-flexible `GroupMetadataValue` version, which Kafka writes.
const GROUP_METADATA_VALUE_VERSION: i16 = 3;

/// The longest string the non-flexible record versions can hold (`int16` length).
/// Flexible request versions can carry longer strings, so the coordinator checks
/// what it would store against this before accepting it.
pub const RECORD_STRING_BYTES_MAX: usize = i16::MAX as usize;

/// Whether `s` can be stored in a key or value Kafka's way.
pub fn fits_record_string(s: &str) -> bool {
    s.len() <= RECORD_STRING_BYTES_MAX
}

/// `OffsetCommitKey`: which group's offset for which partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitKey {
    pub group: String,
    pub topic: String,
    pub partition: i32,
}

/// `OffsetCommitValue`: the committed position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitValue {
    pub offset: i64,
    /// -1 when unknown (versions before 3 have no field).
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp_ms: i64,
    /// -1 unless the commit asked for an explicit retention (only version 1 stores it).
    pub expire_timestamp_ms: i64,
}

/// `GroupMetadataKey`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMetadataKey {
    pub group: String,
}

/// `GroupMetadataValue`: a classic group after a rebalance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMetadataValue {
    /// "" for a group without members' protocol type.
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    /// -1 when unknown (versions before 2 have no field).
    pub current_state_timestamp_ms: i64,
    pub members: Vec<MemberMetadata>,
}

/// `GroupMetadataValue.MemberMetadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberMetadata {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// -1 when unknown (version 0 has no field).
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub subscription: Bytes,
    pub assignment: Bytes,
}

/// One `__consumer_offsets` record; `value: None` is a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoordinatorRecord {
    OffsetCommit {
        key: OffsetCommitKey,
        value: Option<OffsetCommitValue>,
    },
    GroupMetadata {
        key: GroupMetadataKey,
        value: Option<GroupMetadataValue>,
    },
}

impl CoordinatorRecord {
    /// The group this record belongs to.
    pub fn group(&self) -> &str {
        match self {
            CoordinatorRecord::OffsetCommit { key, .. } => &key.group,
            CoordinatorRecord::GroupMetadata { key, .. } => &key.group,
        }
    }

    /// The record key as Kafka stores it.
    pub fn key_bytes(&self) -> Bytes {
        match self {
            CoordinatorRecord::OffsetCommit { key, .. } => key.encode(),
            CoordinatorRecord::GroupMetadata { key, .. } => key.encode(),
        }
    }

    /// The record value as Kafka stores it, `None` for a tombstone.
    pub fn value_bytes(&self) -> Option<Bytes> {
        match self {
            CoordinatorRecord::OffsetCommit { value, .. } => value.as_ref().map(|v| {
                let version = if v.expire_timestamp_ms == -1 {
                    OFFSET_COMMIT_VALUE_VERSION
                } else {
                    OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY
                };
                v.encode(version)
            }),
            CoordinatorRecord::GroupMetadata { value, .. } => value
                .as_ref()
                .map(|v| v.encode(GROUP_METADATA_VALUE_VERSION)),
        }
    }

    /// Reads a stored record. `Ok(None)` is a record type keel does not model
    /// (the new consumer / share group protocols), which loading skips.
    pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Option<Self>, RecordError> {
        let mut reader = Reader::new(key);
        let key_version = reader.i16()?;
        match key_version {
            0 | 1 => {
                let key = OffsetCommitKey {
                    group: reader.string(false)?,
                    topic: reader.string(false)?,
                    partition: reader.i32()?,
                };
                let value = value.map(OffsetCommitValue::decode).transpose()?;
                Ok(Some(CoordinatorRecord::OffsetCommit { key, value }))
            }
            2 => {
                let key = GroupMetadataKey {
                    group: reader.string(false)?,
                };
                let value = value.map(GroupMetadataValue::decode).transpose()?;
                Ok(Some(CoordinatorRecord::GroupMetadata { key, value }))
            }
            version if version > 2 => Ok(None),
            version => Err(RecordError::UnknownVersion {
                what: "key",
                version,
            }),
        }
    }
}

impl OffsetCommitKey {
    pub fn encode(&self) -> Bytes {
        let mut w = Writer::default();
        w.i16(OFFSET_COMMIT_KEY_VERSION);
        w.string(&self.group, false);
        w.string(&self.topic, false);
        w.i32(self.partition);
        Bytes::from(w.bytes)
    }
}

impl GroupMetadataKey {
    pub fn encode(&self) -> Bytes {
        let mut w = Writer::default();
        w.i16(GROUP_METADATA_KEY_VERSION);
        w.string(&self.group, false);
        Bytes::from(w.bytes)
    }
}

impl OffsetCommitValue {
    /// Encodes with the version prefix; fields absent from `version` are dropped.
    pub fn encode(&self, version: i16) -> Bytes {
        assert!((0..=4).contains(&version), "OffsetCommitValue v{version}");
        let flexible = version >= 4;
        let mut w = Writer::default();
        w.i16(version);
        w.i64(self.offset);
        if version >= 3 {
            w.i32(self.leader_epoch);
        }
        w.string(&self.metadata, flexible);
        w.i64(self.commit_timestamp_ms);
        if version == 1 {
            w.i64(self.expire_timestamp_ms);
        }
        if flexible {
            w.no_tagged_fields();
        }
        Bytes::from(w.bytes)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let mut r = Reader::new(bytes);
        let version = r.i16()?;
        if !(0..=4).contains(&version) {
            return Err(RecordError::UnknownVersion {
                what: "OffsetCommitValue",
                version,
            });
        }
        let flexible = version >= 4;
        let offset = r.i64()?;
        let leader_epoch = if version >= 3 { r.i32()? } else { -1 };
        let metadata = r.string(flexible)?;
        let commit_timestamp_ms = r.i64()?;
        let expire_timestamp_ms = if version == 1 { r.i64()? } else { -1 };
        if flexible {
            r.skip_tagged_fields()?;
        }
        Ok(Self {
            offset,
            leader_epoch,
            metadata,
            commit_timestamp_ms,
            expire_timestamp_ms,
        })
    }
}

impl GroupMetadataValue {
    /// Encodes with the version prefix; fields absent from `version` are dropped.
    pub fn encode(&self, version: i16) -> Bytes {
        assert!((0..=4).contains(&version), "GroupMetadataValue v{version}");
        let flexible = version >= 4;
        let mut w = Writer::default();
        w.i16(version);
        w.string(&self.protocol_type, flexible);
        w.i32(self.generation);
        w.nullable_string(self.protocol.as_deref(), flexible);
        w.nullable_string(self.leader.as_deref(), flexible);
        if version >= 2 {
            w.i64(self.current_state_timestamp_ms);
        }
        w.array_len(self.members.len(), flexible);
        for member in &self.members {
            w.string(&member.member_id, flexible);
            if version >= 3 {
                w.nullable_string(member.group_instance_id.as_deref(), flexible);
            }
            w.string(&member.client_id, flexible);
            w.string(&member.client_host, flexible);
            if version >= 1 {
                w.i32(member.rebalance_timeout_ms);
            }
            w.i32(member.session_timeout_ms);
            w.bytes(&member.subscription, flexible);
            w.bytes(&member.assignment, flexible);
            if flexible {
                w.no_tagged_fields();
            }
        }
        if flexible {
            w.no_tagged_fields();
        }
        Bytes::from(w.bytes)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let mut r = Reader::new(bytes);
        let version = r.i16()?;
        if !(0..=4).contains(&version) {
            return Err(RecordError::UnknownVersion {
                what: "GroupMetadataValue",
                version,
            });
        }
        let flexible = version >= 4;
        let protocol_type = r.string(flexible)?;
        let generation = r.i32()?;
        let protocol = r.nullable_string(flexible)?;
        let leader = r.nullable_string(flexible)?;
        let current_state_timestamp_ms = if version >= 2 { r.i64()? } else { -1 };
        let count = r.array_len(flexible)?;
        let mut members = Vec::with_capacity(count);
        for _ in 0..count {
            let member_id = r.string(flexible)?;
            let group_instance_id = if version >= 3 {
                r.nullable_string(flexible)?
            } else {
                None
            };
            let client_id = r.string(flexible)?;
            let client_host = r.string(flexible)?;
            let rebalance_timeout_ms = if version >= 1 { r.i32()? } else { -1 };
            let session_timeout_ms = r.i32()?;
            let subscription = Bytes::from(r.bytes(flexible)?);
            let assignment = Bytes::from(r.bytes(flexible)?);
            if flexible {
                r.skip_tagged_fields()?;
            }
            members.push(MemberMetadata {
                member_id,
                group_instance_id,
                client_id,
                client_host,
                rebalance_timeout_ms,
                session_timeout_ms,
                subscription,
                assignment,
            });
        }
        if flexible {
            r.skip_tagged_fields()?;
        }
        Ok(Self {
            protocol_type,
            generation,
            protocol,
            leader,
            current_state_timestamp_ms,
            members,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hex with spaces and newlines allowed, for readable vectors.
    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    fn offset_value() -> OffsetCommitValue {
        OffsetCommitValue {
            offset: 42,
            leader_epoch: 5,
            metadata: "m".into(),
            commit_timestamp_ms: 1000,
            expire_timestamp_ms: -1,
        }
    }

    #[test]
    fn offset_commit_key_v1_bytes() {
        let key = OffsetCommitKey {
            group: "g".into(),
            topic: "t".into(),
            partition: 3,
        };
        // version 1 | "g" | "t" | partition 3
        assert_eq!(key.encode().as_ref(), hex("0001 0001 67 0001 74 00000003"));
    }

    #[test]
    fn group_metadata_key_v2_bytes() {
        let key = GroupMetadataKey {
            group: "grp".into(),
        };
        assert_eq!(key.encode().as_ref(), hex("0002 0003 677270"));
    }

    #[test]
    fn offset_commit_value_v3_bytes() {
        let bytes = offset_value().encode(3);
        // version 3 | offset 42 | leader epoch 5 | "m" | commit ts 1000
        let expected = hex("0003 000000000000002a 00000005 0001 6d 00000000000003e8");
        assert_eq!(bytes.as_ref(), expected);
        assert_eq!(
            OffsetCommitValue::decode(&expected).unwrap(),
            offset_value()
        );
    }

    #[test]
    fn offset_commit_value_v1_carries_expire_timestamp() {
        let mut value = offset_value();
        value.expire_timestamp_ms = 2000;
        let record = CoordinatorRecord::OffsetCommit {
            key: OffsetCommitKey {
                group: "g".into(),
                topic: "t".into(),
                partition: 0,
            },
            value: Some(value.clone()),
        };
        let expected = hex("0001 000000000000002a 0001 6d 00000000000003e8 00000000000007d0");
        assert_eq!(record.value_bytes().unwrap().as_ref(), expected);
        // Version 1 has no leader epoch, so it reads back as unknown.
        let back = OffsetCommitValue::decode(&expected).unwrap();
        assert_eq!(back.leader_epoch, -1);
        assert_eq!(back.expire_timestamp_ms, 2000);
    }

    #[test]
    fn offset_commit_value_old_and_flexible_versions() {
        let v0 = hex("0000 000000000000002a 0001 6d 00000000000003e8");
        let v2 = hex("0002 000000000000002a 0001 6d 00000000000003e8");
        for bytes in [&v0, &v2] {
            let value = OffsetCommitValue::decode(bytes).unwrap();
            assert_eq!((value.offset, value.leader_epoch), (42, -1));
            assert_eq!(value.metadata, "m");
        }
        // Version 4: compact string (length + 1) and an empty tagged-field section.
        let v4 = hex("0004 000000000000002a 00000005 02 6d 00000000000003e8 00");
        assert_eq!(offset_value().encode(4).as_ref(), v4);
        assert_eq!(OffsetCommitValue::decode(&v4).unwrap(), offset_value());
        // Unknown tagged fields are skipped.
        let v4_tagged = hex("0004 000000000000002a 00000005 02 6d 00000000000003e8 01 07 02 abcd");
        assert_eq!(
            OffsetCommitValue::decode(&v4_tagged).unwrap(),
            offset_value()
        );
    }

    fn group_value() -> GroupMetadataValue {
        GroupMetadataValue {
            protocol_type: "consumer".into(),
            generation: 1,
            protocol: Some("range".into()),
            leader: Some("m1".into()),
            current_state_timestamp_ms: 5,
            members: vec![MemberMetadata {
                member_id: "m1".into(),
                group_instance_id: Some("i".into()),
                client_id: "c".into(),
                client_host: "/h".into(),
                rebalance_timeout_ms: 300_000,
                session_timeout_ms: 45_000,
                subscription: Bytes::from_static(&[1, 2]),
                assignment: Bytes::from_static(&[3]),
            }],
        }
    }

    #[test]
    fn group_metadata_value_v3_bytes() {
        let expected = hex("0003
             0008 636f6e73756d6572
             00000001
             0005 72616e6765
             0002 6d31
             0000000000000005
             00000001
               0002 6d31
               0001 69
               0001 63
               0002 2f68
               000493e0
               0000afc8
               00000002 0102
               00000001 03");
        assert_eq!(group_value().encode(3).as_ref(), expected);
        assert_eq!(
            GroupMetadataValue::decode(&expected).unwrap(),
            group_value()
        );
    }

    #[test]
    fn group_metadata_value_v0_v1_v2_v4() {
        let v0 = hex(
            "0000 0008 636f6e73756d6572 00000001 0005 72616e6765 0002 6d31
             00000001 0002 6d31 0001 63 0002 2f68 0000afc8 00000002 0102 00000001 03",
        );
        let decoded = GroupMetadataValue::decode(&v0).unwrap();
        assert_eq!(decoded.members[0].rebalance_timeout_ms, -1);
        assert_eq!(decoded.members[0].group_instance_id, None);
        assert_eq!(decoded.current_state_timestamp_ms, -1);
        assert_eq!(decoded.encode(0).as_ref(), v0);

        let v1 = hex(
            "0001 0008 636f6e73756d6572 00000001 0005 72616e6765 0002 6d31
             00000001 0002 6d31 0001 63 0002 2f68 000493e0 0000afc8 00000002 0102 00000001 03",
        );
        assert_eq!(
            GroupMetadataValue::decode(&v1).unwrap().members[0].rebalance_timeout_ms,
            300_000
        );

        let v2 = hex(
            "0002 0008 636f6e73756d6572 00000001 0005 72616e6765 0002 6d31 0000000000000005
             00000001 0002 6d31 0001 63 0002 2f68 000493e0 0000afc8 00000002 0102 00000001 03",
        );
        assert_eq!(
            GroupMetadataValue::decode(&v2)
                .unwrap()
                .current_state_timestamp_ms,
            5
        );

        let v4 = hex(
            "0004 09 636f6e73756d6572 00000001 06 72616e6765 03 6d31 0000000000000005
             02 03 6d31 02 69 02 63 03 2f68 000493e0 0000afc8 03 0102 02 03 00
             00",
        );
        assert_eq!(group_value().encode(4).as_ref(), v4);
        assert_eq!(GroupMetadataValue::decode(&v4).unwrap(), group_value());
    }

    #[test]
    fn empty_group_value_has_null_protocol_and_leader() {
        let value = GroupMetadataValue {
            protocol_type: String::new(),
            generation: 0,
            protocol: None,
            leader: None,
            current_state_timestamp_ms: -1,
            members: vec![],
        };
        let expected = hex("0003 0000 00000000 ffff ffff ffffffffffffffff 00000000");
        assert_eq!(value.encode(3).as_ref(), expected);
        assert_eq!(GroupMetadataValue::decode(&expected).unwrap(), value);
    }

    #[test]
    fn records_decode_by_key_type_and_tombstones() {
        let record = CoordinatorRecord::OffsetCommit {
            key: OffsetCommitKey {
                group: "g".into(),
                topic: "t".into(),
                partition: 1,
            },
            value: Some(offset_value()),
        };
        let key = record.key_bytes();
        let value = record.value_bytes().unwrap();
        assert_eq!(
            CoordinatorRecord::decode(&key, Some(&value)).unwrap(),
            Some(record.clone())
        );

        let tombstone = CoordinatorRecord::GroupMetadata {
            key: GroupMetadataKey { group: "g".into() },
            value: None,
        };
        assert_eq!(tombstone.value_bytes(), None);
        assert_eq!(
            CoordinatorRecord::decode(&tombstone.key_bytes(), None).unwrap(),
            Some(tombstone)
        );

        // Key version 0 is an OffsetCommitKey too.
        let v0_key = hex("0000 0001 67 0001 74 00000001");
        assert!(matches!(
            CoordinatorRecord::decode(&v0_key, None).unwrap(),
            Some(CoordinatorRecord::OffsetCommit { value: None, .. })
        ));
        // Key type 3 (ConsumerGroupMetadataKey) is not modelled: skipped.
        assert_eq!(
            CoordinatorRecord::decode(&hex("0003 0001 67"), None).unwrap(),
            None
        );
    }

    #[test]
    fn malformed_records_are_errors_not_panics() {
        assert_eq!(
            CoordinatorRecord::decode(&[0], None),
            Err(RecordError::Truncated)
        );
        assert_eq!(
            CoordinatorRecord::decode(&hex("0001 0005 67"), None),
            Err(RecordError::Truncated)
        );
        assert!(CoordinatorRecord::decode(&hex("ffff"), None).is_err());
        assert!(OffsetCommitValue::decode(&hex("0009 00")).is_err());
        // A member count far beyond the bytes present must not allocate or panic.
        let lying = hex("0003 0000 00000000 ffff ffff ffffffffffffffff 7fffffff");
        assert_eq!(
            GroupMetadataValue::decode(&lying),
            Err(RecordError::Truncated)
        );
        // Every prefix of a valid value fails cleanly.
        let full = group_value().encode(3);
        for len in 0..full.len() {
            assert!(GroupMetadataValue::decode(&full[..len]).is_err());
        }
    }
}
