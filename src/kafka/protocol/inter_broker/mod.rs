//! Byte-exact codecs for the inter-broker requests of a ZooKeeper-mode Kafka 3.9
//! cluster that the kafka-protocol crate (generated from Kafka 4.1, which dropped
//! them) cannot read: the controller-to-broker LeaderAndIsr (key 4, v0-7),
//! StopReplica (5, v0-4), UpdateMetadata (6, v0-8), the broker-to-controller
//! ControlledShutdown (7, v0-3), and AlterPartition (56) at v0-1 (the crate reads
//! only v2-3; this module covers v0-3 so one type serves every version a 3.9
//! controller accepts). Requests and responses, every version Apache 3.9 defines.
//!
//! Each message type mirrors its JSON schema in Apache's
//! `clients/src/main/resources/common/message/`: field order, the versions holding
//! each field, defaults for absent fields, nullability, flexible versions (compact
//! encodings and tagged fields, unknown ones kept so re-encoding is byte-exact).
//! Encoding a non-ignorable field holding a non-default value at a version without
//! it fails, as Apache's generated writers throw `UnsupportedVersionException`.
//! `tests/fixtures/kafka-inter-broker/golden.txt` holds what Apache's own classes
//! write (see `compat-tests/java/inter-broker-golden/`); `golden_tests` decodes and
//! re-encodes every line.
//!
//! No sockets, no dispatch: bytes in, typed messages out, and back.
//!
//! # Layout
//! - `wire`: primitive encodings (classic and compact), `WireError`, `RawTaggedField`.
//! - `leader_and_isr`, `stop_replica`, `update_metadata`, `controlled_shutdown`,
//!   `alter_partition`: one module per API, request and response.
//! - this file: the `InterBrokerMessage` trait, request and response headers, and
//!   whole-request decoding for the APIs above.

use bytes::BytesMut;

pub mod alter_partition;
pub mod controlled_shutdown;
pub mod leader_and_isr;
pub mod stop_replica;
pub mod update_metadata;
pub mod wire;

#[cfg(test)]
mod golden_tests;

pub use alter_partition::{AlterPartitionRequest, AlterPartitionResponse};
pub use controlled_shutdown::{ControlledShutdownRequest, ControlledShutdownResponse};
pub use leader_and_isr::{LeaderAndIsrRequest, LeaderAndIsrResponse};
pub use stop_replica::{StopReplicaRequest, StopReplicaResponse};
pub use update_metadata::{UpdateMetadataRequest, UpdateMetadataResponse};
pub use wire::{RawTaggedField, WireError};

use crate::kafka::config::BrokerId;
use wire::{Reader, Writer};

/// One request or response body type, at the versions Apache 3.9 defines.
pub trait InterBrokerMessage: Sized {
    /// The schema's name, for errors.
    const NAME: &'static str;
    const API_KEY: i16;
    const VERSION_MIN: i16 = 0;
    const VERSION_MAX: i16;
    /// The first flexible version (KIP-482).
    const FLEXIBLE_VERSION_MIN: i16;

    /// Reads the body at a version already checked to be valid.
    fn read(reader: &mut Reader<'_>, version: i16) -> Result<Self, WireError>;

    /// Writes the body at a version already checked to be valid.
    fn write(&self, writer: &mut Writer<'_>, version: i16) -> Result<(), WireError>;

    fn is_flexible(version: i16) -> bool {
        version >= Self::FLEXIBLE_VERSION_MIN
    }

    fn check_version(version: i16) -> Result<(), WireError> {
        if (Self::VERSION_MIN..=Self::VERSION_MAX).contains(&version) {
            Ok(())
        } else {
            Err(WireError::UnsupportedVersion {
                message: Self::NAME,
                version,
            })
        }
    }

    /// Decodes one body from the front of `input`, advancing it past the bytes read
    /// (whatever follows is left for the caller, as Kafka ignores it).
    fn decode(input: &mut &[u8], version: i16) -> Result<Self, WireError> {
        Self::check_version(version)?;
        let mut reader = Reader::new(input, Self::is_flexible(version));
        let message = Self::read(&mut reader, version)?;
        *input = reader.rest();
        Ok(message)
    }

    /// Appends the body at `version`. On an error `out` holds part of a message.
    fn encode(&self, out: &mut BytesMut, version: i16) -> Result<(), WireError> {
        Self::check_version(version)?;
        let mut writer = Writer::new(out, Self::is_flexible(version));
        self.write(&mut writer, version)
    }

    /// `encode` into a fresh buffer.
    fn to_bytes(&self, version: i16) -> Result<BytesMut, WireError> {
        let mut out = BytesMut::new();
        self.encode(&mut out, version)?;
        Ok(out)
    }
}

/// The APIs this module decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InterBrokerApi {
    LeaderAndIsr,
    StopReplica,
    UpdateMetadata,
    ControlledShutdown,
    AlterPartition,
}

impl InterBrokerApi {
    pub const ALL: [InterBrokerApi; 5] = [
        InterBrokerApi::LeaderAndIsr,
        InterBrokerApi::StopReplica,
        InterBrokerApi::UpdateMetadata,
        InterBrokerApi::ControlledShutdown,
        InterBrokerApi::AlterPartition,
    ];

    pub fn from_key(api_key: i16) -> Option<Self> {
        Self::ALL.into_iter().find(|api| api.key() == api_key)
    }

    pub fn key(self) -> i16 {
        match self {
            InterBrokerApi::LeaderAndIsr => LeaderAndIsrRequest::API_KEY,
            InterBrokerApi::StopReplica => StopReplicaRequest::API_KEY,
            InterBrokerApi::UpdateMetadata => UpdateMetadataRequest::API_KEY,
            InterBrokerApi::ControlledShutdown => ControlledShutdownRequest::API_KEY,
            InterBrokerApi::AlterPartition => AlterPartitionRequest::API_KEY,
        }
    }

    /// The oldest and newest versions Apache 3.9 defines.
    pub fn versions(self) -> (i16, i16) {
        match self {
            InterBrokerApi::LeaderAndIsr => (0, LeaderAndIsrRequest::VERSION_MAX),
            InterBrokerApi::StopReplica => (0, StopReplicaRequest::VERSION_MAX),
            InterBrokerApi::UpdateMetadata => (0, UpdateMetadataRequest::VERSION_MAX),
            InterBrokerApi::ControlledShutdown => (0, ControlledShutdownRequest::VERSION_MAX),
            InterBrokerApi::AlterPartition => (0, AlterPartitionRequest::VERSION_MAX),
        }
    }

    pub fn is_flexible(self, version: i16) -> bool {
        version
            >= match self {
                InterBrokerApi::LeaderAndIsr => LeaderAndIsrRequest::FLEXIBLE_VERSION_MIN,
                InterBrokerApi::StopReplica => StopReplicaRequest::FLEXIBLE_VERSION_MIN,
                InterBrokerApi::UpdateMetadata => UpdateMetadataRequest::FLEXIBLE_VERSION_MIN,
                InterBrokerApi::ControlledShutdown => {
                    ControlledShutdownRequest::FLEXIBLE_VERSION_MIN
                }
                InterBrokerApi::AlterPartition => AlterPartitionRequest::FLEXIBLE_VERSION_MIN,
            }
    }

    /// `ApiKeys.requestHeaderVersion`: 2 for flexible versions, else 1, except
    /// ControlledShutdown v0, whose header has no client id (version 0).
    pub fn request_header_version(self, version: i16) -> i16 {
        if self == InterBrokerApi::ControlledShutdown && version == 0 {
            0
        } else if self.is_flexible(version) {
            2
        } else {
            1
        }
    }

    /// `ApiKeys.responseHeaderVersion`: 1 for flexible versions, else 0.
    pub fn response_header_version(self, version: i16) -> i16 {
        i16::from(self.is_flexible(version))
    }
}

/// `RequestHeader.json`, versions 0-2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    pub request_api_key: i16,
    pub request_api_version: i16,
    pub correlation_id: i32,
    /// `ClientId`, v1+ (nullable; always a classic string, even in v2). The ZooKeeper
    /// controller sends its broker id.
    pub client_id: Option<String>,
    /// v2 only.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The fixed part of every request header: key, version and correlation id.
const REQUEST_HEADER_BYTES_MIN: usize = 8;

impl RequestHeader {
    pub fn decode(input: &mut &[u8], header_version: i16) -> Result<Self, WireError> {
        if !(0..=2).contains(&header_version) {
            return Err(WireError::UnsupportedVersion {
                message: "RequestHeader",
                version: header_version,
            });
        }
        let mut reader = Reader::new(input, false);
        let mut header = RequestHeader {
            request_api_key: reader.i16("request_api_key")?,
            request_api_version: reader.i16("request_api_version")?,
            correlation_id: reader.i32("correlation_id")?,
            client_id: None,
            unknown_tagged_fields: Vec::new(),
        };
        if header_version >= 1 {
            header.client_id = reader.nullable_string("client_id")?;
        }
        if header_version >= 2 {
            header.unknown_tagged_fields = reader.unknown_tagged_fields("RequestHeader")?;
        }
        *input = reader.rest();
        Ok(header)
    }

    pub fn encode(&self, out: &mut BytesMut, header_version: i16) -> Result<(), WireError> {
        if !(0..=2).contains(&header_version) {
            return Err(WireError::UnsupportedVersion {
                message: "RequestHeader",
                version: header_version,
            });
        }
        let mut writer = Writer::new(out, false);
        writer.i16(self.request_api_key);
        writer.i16(self.request_api_version);
        writer.i32(self.correlation_id);
        // ClientId is ignorable: header v0 silently drops it, as Java does.
        if header_version >= 1 {
            writer.nullable_string(self.client_id.as_deref(), "client_id")?;
        }
        writer.set_flexible(header_version >= 2);
        writer.tagged_fields(&[], &self.unknown_tagged_fields, header_version)
    }
}

/// `ResponseHeader.json`, versions 0-1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseHeader {
    pub correlation_id: i32,
    /// v1 only.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl ResponseHeader {
    pub fn decode(input: &mut &[u8], header_version: i16) -> Result<Self, WireError> {
        if !(0..=1).contains(&header_version) {
            return Err(WireError::UnsupportedVersion {
                message: "ResponseHeader",
                version: header_version,
            });
        }
        let mut reader = Reader::new(input, header_version >= 1);
        let mut header = ResponseHeader {
            correlation_id: reader.i32("correlation_id")?,
            unknown_tagged_fields: Vec::new(),
        };
        if header_version >= 1 {
            header.unknown_tagged_fields = reader.unknown_tagged_fields("ResponseHeader")?;
        }
        *input = reader.rest();
        Ok(header)
    }

    pub fn encode(&self, out: &mut BytesMut, header_version: i16) -> Result<(), WireError> {
        if !(0..=1).contains(&header_version) {
            return Err(WireError::UnsupportedVersion {
                message: "ResponseHeader",
                version: header_version,
            });
        }
        let mut writer = Writer::new(out, header_version >= 1);
        writer.i32(self.correlation_id);
        writer.tagged_fields(&[], &self.unknown_tagged_fields, header_version)
    }
}

/// A request body of one of the APIs here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterBrokerRequest {
    LeaderAndIsr(LeaderAndIsrRequest),
    StopReplica(StopReplicaRequest),
    UpdateMetadata(UpdateMetadataRequest),
    ControlledShutdown(ControlledShutdownRequest),
    AlterPartition(AlterPartitionRequest),
}

/// A response body of one of the APIs here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterBrokerResponse {
    LeaderAndIsr(LeaderAndIsrResponse),
    StopReplica(StopReplicaResponse),
    UpdateMetadata(UpdateMetadataResponse),
    ControlledShutdown(ControlledShutdownResponse),
    AlterPartition(AlterPartitionResponse),
}

impl InterBrokerRequest {
    pub fn api(&self) -> InterBrokerApi {
        match self {
            InterBrokerRequest::LeaderAndIsr(_) => InterBrokerApi::LeaderAndIsr,
            InterBrokerRequest::StopReplica(_) => InterBrokerApi::StopReplica,
            InterBrokerRequest::UpdateMetadata(_) => InterBrokerApi::UpdateMetadata,
            InterBrokerRequest::ControlledShutdown(_) => InterBrokerApi::ControlledShutdown,
            InterBrokerRequest::AlterPartition(_) => InterBrokerApi::AlterPartition,
        }
    }

    /// Decodes a body of `api` at `version` from the front of `input`.
    pub fn decode(api: InterBrokerApi, input: &mut &[u8], version: i16) -> Result<Self, WireError> {
        Ok(match api {
            InterBrokerApi::LeaderAndIsr => {
                InterBrokerRequest::LeaderAndIsr(LeaderAndIsrRequest::decode(input, version)?)
            }
            InterBrokerApi::StopReplica => {
                InterBrokerRequest::StopReplica(StopReplicaRequest::decode(input, version)?)
            }
            InterBrokerApi::UpdateMetadata => {
                InterBrokerRequest::UpdateMetadata(UpdateMetadataRequest::decode(input, version)?)
            }
            InterBrokerApi::ControlledShutdown => InterBrokerRequest::ControlledShutdown(
                ControlledShutdownRequest::decode(input, version)?,
            ),
            InterBrokerApi::AlterPartition => {
                InterBrokerRequest::AlterPartition(AlterPartitionRequest::decode(input, version)?)
            }
        })
    }

    pub fn encode(&self, out: &mut BytesMut, version: i16) -> Result<(), WireError> {
        match self {
            InterBrokerRequest::LeaderAndIsr(body) => body.encode(out, version),
            InterBrokerRequest::StopReplica(body) => body.encode(out, version),
            InterBrokerRequest::UpdateMetadata(body) => body.encode(out, version),
            InterBrokerRequest::ControlledShutdown(body) => body.encode(out, version),
            InterBrokerRequest::AlterPartition(body) => body.encode(out, version),
        }
    }
}

impl InterBrokerResponse {
    pub fn api(&self) -> InterBrokerApi {
        match self {
            InterBrokerResponse::LeaderAndIsr(_) => InterBrokerApi::LeaderAndIsr,
            InterBrokerResponse::StopReplica(_) => InterBrokerApi::StopReplica,
            InterBrokerResponse::UpdateMetadata(_) => InterBrokerApi::UpdateMetadata,
            InterBrokerResponse::ControlledShutdown(_) => InterBrokerApi::ControlledShutdown,
            InterBrokerResponse::AlterPartition(_) => InterBrokerApi::AlterPartition,
        }
    }

    /// Decodes a body of `api` at `version` from the front of `input`.
    pub fn decode(api: InterBrokerApi, input: &mut &[u8], version: i16) -> Result<Self, WireError> {
        Ok(match api {
            InterBrokerApi::LeaderAndIsr => {
                InterBrokerResponse::LeaderAndIsr(LeaderAndIsrResponse::decode(input, version)?)
            }
            InterBrokerApi::StopReplica => {
                InterBrokerResponse::StopReplica(StopReplicaResponse::decode(input, version)?)
            }
            InterBrokerApi::UpdateMetadata => {
                InterBrokerResponse::UpdateMetadata(UpdateMetadataResponse::decode(input, version)?)
            }
            InterBrokerApi::ControlledShutdown => InterBrokerResponse::ControlledShutdown(
                ControlledShutdownResponse::decode(input, version)?,
            ),
            InterBrokerApi::AlterPartition => {
                InterBrokerResponse::AlterPartition(AlterPartitionResponse::decode(input, version)?)
            }
        })
    }

    pub fn encode(&self, out: &mut BytesMut, version: i16) -> Result<(), WireError> {
        match self {
            InterBrokerResponse::LeaderAndIsr(body) => body.encode(out, version),
            InterBrokerResponse::StopReplica(body) => body.encode(out, version),
            InterBrokerResponse::UpdateMetadata(body) => body.encode(out, version),
            InterBrokerResponse::ControlledShutdown(body) => body.encode(out, version),
            InterBrokerResponse::AlterPartition(body) => body.encode(out, version),
        }
    }
}

/// Decodes a whole request frame body (after the 4-byte length): the header, whose
/// version depends on the API and version it names, then the body. Bytes after
/// the body are ignored, as Kafka ignores them.
pub fn decode_request(frame: &[u8]) -> Result<(RequestHeader, InterBrokerRequest), WireError> {
    if frame.len() < REQUEST_HEADER_BYTES_MIN {
        return Err(WireError::Truncated {
            field: "request header",
            needed: REQUEST_HEADER_BYTES_MIN,
            remaining: frame.len(),
        });
    }
    let api_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let api = InterBrokerApi::from_key(api_key).ok_or(WireError::UnknownApiKey(api_key))?;
    let (version_min, version_max) = api.versions();
    if !(version_min..=version_max).contains(&version) {
        return Err(WireError::UnsupportedVersion {
            message: "request",
            version,
        });
    }
    let mut input = frame;
    let header = RequestHeader::decode(&mut input, api.request_header_version(version))?;
    let body = InterBrokerRequest::decode(api, &mut input, version)?;
    Ok((header, body))
}

/// Appends a request frame body: `header` at the header version its API and
/// version call for, then `body` at `header.request_api_version`. The header's API
/// key must be the body's.
pub fn encode_request(
    header: &RequestHeader,
    body: &InterBrokerRequest,
    out: &mut BytesMut,
) -> Result<(), WireError> {
    let api = body.api();
    if header.request_api_key != api.key() {
        return Err(WireError::UnknownApiKey(header.request_api_key));
    }
    let version = header.request_api_version;
    header.encode(out, api.request_header_version(version))?;
    body.encode(out, version)
}

/// Decodes a whole response frame body for a request of `api` at `version`.
pub fn decode_response(
    api: InterBrokerApi,
    version: i16,
    frame: &[u8],
) -> Result<(ResponseHeader, InterBrokerResponse), WireError> {
    let mut input = frame;
    let header = ResponseHeader::decode(&mut input, api.response_header_version(version))?;
    let body = InterBrokerResponse::decode(api, &mut input, version)?;
    Ok((header, body))
}

/// Appends a response frame body for a request at `version`.
pub fn encode_response(
    header: &ResponseHeader,
    body: &InterBrokerResponse,
    version: i16,
    out: &mut BytesMut,
) -> Result<(), WireError> {
    header.encode(out, body.api().response_header_version(version))?;
    body.encode(out, version)
}

/// A non-nullable `[]int32` of broker ids.
pub(crate) fn read_broker_ids(
    reader: &mut Reader<'_>,
    field: &'static str,
) -> Result<Vec<BrokerId>, WireError> {
    Ok(reader.i32_array(field)?.into_iter().map(BrokerId).collect())
}

pub(crate) fn write_broker_ids(
    writer: &mut Writer<'_>,
    ids: &[BrokerId],
    field: &'static str,
) -> Result<(), WireError> {
    writer.count(ids.len(), field)?;
    for id in ids {
        writer.i32(id.0);
    }
    Ok(())
}
