//! ControlledShutdown (API key 7, v0-3, flexible from v3): a broker asks the
//! controller to move leadership away before it stops; the answer lists the
//! partitions it still leads. Mirrors Apache 3.9's `ControlledShutdownRequest.json`
//! / `ControlledShutdownResponse.json`. v0's request header has no client id
//! (`InterBrokerApi::request_header_version`).

use super::wire::{RawTaggedField, Reader, WireError, Writer};
use super::InterBrokerMessage;
use crate::kafka::config::BrokerId;

/// A remaining partition: a topic name and the index.
const REMAINING_PARTITION_BYTES_MIN: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlledShutdownRequest {
    /// `BrokerId`: the broker shutting down.
    pub broker_id: BrokerId,
    /// `BrokerEpoch`, v2+ (ignorable; default -1).
    pub broker_epoch: i64,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for ControlledShutdownRequest {
    fn default() -> Self {
        ControlledShutdownRequest {
            broker_id: BrokerId(0),
            broker_epoch: -1,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl InterBrokerMessage for ControlledShutdownRequest {
    const NAME: &'static str = "ControlledShutdownRequest";
    const API_KEY: i16 = 7;
    const VERSION_MAX: i16 = 3;
    const FLEXIBLE_VERSION_MIN: i16 = 3;

    fn read(reader: &mut Reader<'_>, version: i16) -> Result<Self, WireError> {
        let mut request = ControlledShutdownRequest {
            broker_id: BrokerId(reader.i32("broker_id")?),
            ..Default::default()
        };
        if version >= 2 {
            request.broker_epoch = reader.i64("broker_epoch")?;
        }
        if reader.flexible() {
            request.unknown_tagged_fields =
                reader.unknown_tagged_fields("ControlledShutdownRequest")?;
        }
        Ok(request)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        writer.i32(self.broker_id.0);
        if version >= 2 {
            writer.i64(self.broker_epoch);
        }
        writer.tagged_fields(&[], &self.unknown_tagged_fields, version)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControlledShutdownResponse {
    /// `ErrorCode`.
    pub error_code: i16,
    /// `RemainingPartitions`: the partitions the broker still leads (a map keyed by
    /// topic and partition in Java; kept in wire order here).
    pub remaining_partitions: Vec<RemainingPartition>,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// `RemainingPartition`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemainingPartition {
    pub topic_name: String,
    pub partition_index: i32,
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl InterBrokerMessage for ControlledShutdownResponse {
    const NAME: &'static str = "ControlledShutdownResponse";
    const API_KEY: i16 = 7;
    const VERSION_MAX: i16 = 3;
    const FLEXIBLE_VERSION_MIN: i16 = 3;

    fn read(reader: &mut Reader<'_>, _version: i16) -> Result<Self, WireError> {
        let mut response = ControlledShutdownResponse {
            error_code: reader.i16("error_code")?,
            ..Default::default()
        };
        response.remaining_partitions = reader.struct_array(
            REMAINING_PARTITION_BYTES_MIN,
            "remaining_partitions",
            |reader| {
                let mut partition = RemainingPartition {
                    topic_name: reader.string("remaining_partitions.topic_name")?,
                    partition_index: reader.i32("remaining_partitions.partition_index")?,
                    unknown_tagged_fields: Vec::new(),
                };
                if reader.flexible() {
                    partition.unknown_tagged_fields =
                        reader.unknown_tagged_fields("RemainingPartition")?;
                }
                Ok(partition)
            },
        )?;
        if reader.flexible() {
            response.unknown_tagged_fields =
                reader.unknown_tagged_fields("ControlledShutdownResponse")?;
        }
        Ok(response)
    }

    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError> {
        writer.i16(self.error_code);
        writer.struct_array(
            &self.remaining_partitions,
            "remaining_partitions",
            |writer, partition| {
                writer.string(&partition.topic_name, "remaining_partitions.topic_name")?;
                writer.i32(partition.partition_index);
                writer.tagged_fields(&[], &partition.unknown_tagged_fields, version)
            },
        )?;
        writer.tagged_fields(&[], &self.unknown_tagged_fields, version)
    }
}
