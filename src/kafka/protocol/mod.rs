//! Kafka's wire framing and request/response codec, on top of the kafka-protocol
//! crate's message types. No sockets here: bytes in, typed requests out, and back.
//!
//! A frame is a 4-byte big-endian length and that many bytes. `check_frame` is the
//! cheap first step (no allocation, "incomplete" is a normal answer); `decode_request`
//! then reads the header (whose version depends on the API and its version) and body.
//!
//! Responses become `frame::ResponseFrame`s: every API but Fetch through
//! kafka-protocol's encoder into one buffer; Fetch through `fetch_response`, whose
//! record data stays in the segment files until the socket writer sends it.
//!
//! `inter_broker` holds hand-written codecs for the ZooKeeper-mode controller and
//! broker requests the crate no longer has (LeaderAndIsr, StopReplica,
//! UpdateMetadata, ControlledShutdown, AlterPartition v0-1).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable};

pub mod fetch_response;
pub mod frame;
pub mod inter_broker;
pub mod legacy;
pub mod versions;

use fetch_response::FetchReply;
use frame::ResponseFrame;

/// The length prefix of every frame.
pub const FRAME_LENGTH_BYTES: usize = 4;

/// What the bytes buffered so far hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameCheck {
    /// Not a whole frame yet: read more.
    Incomplete,
    /// A whole frame whose body is this many bytes follows the length prefix.
    Complete(usize),
    /// The announced length is negative or over `socket.request.max.bytes`: Kafka
    /// closes such a connection without reading the body.
    Invalid(i32),
}

pub fn check_frame(buffer: &[u8], frame_bytes_max: u32) -> FrameCheck {
    if buffer.len() < FRAME_LENGTH_BYTES {
        return FrameCheck::Incomplete;
    }
    let length = i32::from_be_bytes(buffer[..FRAME_LENGTH_BYTES].try_into().expect("4 bytes"));
    if length < 0 || length as u32 > frame_bytes_max {
        return FrameCheck::Invalid(length);
    }
    if buffer.len() < FRAME_LENGTH_BYTES + length as usize {
        FrameCheck::Incomplete
    } else {
        FrameCheck::Complete(length as usize)
    }
}

/// A decoded request.
#[derive(Debug)]
pub struct Request {
    pub api_key: ApiKey,
    pub header: RequestHeader,
    pub body: RequestKind,
    /// What a legacy version (`legacy`) carries beyond `body`.
    pub legacy: Option<legacy::LegacyRequest>,
    /// The request's size on the wire, without its length prefix (what Kafka's
    /// produce quota counts).
    pub size_bytes: usize,
}

/// Why a frame is not a request keel can serve. Every variant but `ApiVersionsFallback`
/// ends the connection, as Kafka's SocketServer does.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("frame too short for a request header ({0} bytes)")]
    TooShort(usize),
    #[error("unknown API key {0}")]
    UnknownApiKey(i16),
    #[error("unsupported version {version} of {api_key:?}")]
    UnsupportedVersion {
        api_key: ApiKey,
        version: i16,
        correlation_id: i32,
    },
    /// An ApiVersions request of a version keel does not know: answered with a v0
    /// response carrying UNSUPPORTED_VERSION and the supported ranges (KIP-511), so
    /// newer clients can fall back.
    #[error("ApiVersions version {version} is newer than supported")]
    ApiVersionsFallback { correlation_id: i32, version: i16 },
    #[error("malformed {api_key:?} v{version} request: {message}")]
    Malformed {
        api_key: ApiKey,
        version: i16,
        correlation_id: i32,
        message: String,
    },
}

/// Decodes one frame body (the bytes after the length prefix).
pub fn decode_request(mut frame: Bytes) -> Result<Request, DecodeError> {
    let size_bytes = frame.len();
    if frame.len() < 8 {
        return Err(DecodeError::TooShort(frame.len()));
    }
    let api_key_code = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let api_key =
        ApiKey::try_from(api_key_code).map_err(|_| DecodeError::UnknownApiKey(api_key_code))?;
    let Some(range) = versions::supported(api_key) else {
        return Err(DecodeError::UnknownApiKey(api_key_code));
    };
    if version < range.min || version > range.max {
        // Any ApiVersions version outside the range (newer, or nonsense such as -1)
        // gets Apache's v0 fallback answer rather than a closed connection.
        if api_key == ApiKey::ApiVersions {
            return Err(DecodeError::ApiVersionsFallback {
                correlation_id,
                version,
            });
        }
        return Err(DecodeError::UnsupportedVersion {
            api_key,
            version,
            correlation_id,
        });
    }
    let malformed = |message: String| DecodeError::Malformed {
        api_key,
        version,
        correlation_id,
        message,
    };
    let header = RequestHeader::decode(&mut frame, api_key.request_header_version(version))
        .map_err(|error| malformed(format!("header: {error}")))?;
    let (body, legacy) = if legacy::decodes(api_key, version) {
        legacy::decode_body(api_key, version, &mut frame).map_err(malformed)?
    } else {
        let body = RequestKind::decode(api_key, &mut frame, version)
            .map_err(|error| malformed(format!("{error}")))?;
        (body, None)
    };
    // CreateAclsRequest's constructor refuses UNKNOWN elements, so Kafka fails to
    // parse such a request and closes the connection.
    if let RequestKind::CreateAcls(request) = &body {
        if request.creations.iter().any(|creation| {
            creation.resource_type == 0
                || creation.resource_pattern_type == 0
                || creation.operation == 0
                || creation.permission_type == 0
        }) {
            return Err(malformed(
                "CreatableAcls contain unknown elements".to_string(),
            ));
        }
    }
    // Bytes after the body are ignored, as Kafka's RequestContext.parseRequest
    // ignores them: librdkafka's Metadata v12 "all topics" request carries three.
    if frame.has_remaining() {
        tracing::debug!(api = ?api_key, version, trailing_bytes = frame.remaining(), "bytes after the request body ignored");
    }
    Ok(Request {
        api_key,
        header,
        body,
        legacy,
        size_bytes,
    })
}

/// A handler's answer.
#[derive(Debug)]
pub enum Response {
    /// Any response, encoded by kafka-protocol.
    Message(ResponseKind),
    /// A FetchResponse whose record data may live in segment files.
    Fetch(FetchReply),
    /// ListOffsets v0, whose layout no newer version shares.
    ListOffsetsV0(legacy::ListOffsetsV0Response),
}

/// Encodes a response frame (length prefix included) for a request of `api_key` at
/// `version`: record data of a Fetch stays in its files.
pub fn encode_frame(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    response: &Response,
) -> anyhow::Result<ResponseFrame> {
    match response {
        Response::Message(message) => Ok(ResponseFrame::from_bytes(encode_response(
            api_key,
            version,
            correlation_id,
            message,
        )?)),
        Response::Fetch(reply) => {
            anyhow::ensure!(
                api_key == ApiKey::Fetch,
                "a FetchResponse for a {api_key:?} request"
            );
            if version < fetch_response::VERSION_MIN {
                // Fetch v0-v3: the record data down-converted in memory.
                return Ok(ResponseFrame::from_bytes(legacy::encode_fetch_response(
                    version,
                    correlation_id,
                    reply,
                )?));
            }
            fetch_response::encode(version, correlation_id, reply)
        }
        Response::ListOffsetsV0(reply) => {
            anyhow::ensure!(
                api_key == ApiKey::ListOffsets && version == 0,
                "a ListOffsets v0 response for {api_key:?} v{version}"
            );
            let mut buffer = BytesMut::with_capacity(128);
            buffer.put_i32(0); // length, patched below
            buffer.put_i32(correlation_id);
            legacy::encode_list_offsets_v0(reply, &mut buffer);
            Ok(ResponseFrame::from_bytes(finish_frame(buffer)))
        }
    }
}

/// Encodes a response frame (length prefix included) for a request of `api_key`
/// at `version`.
pub fn encode_response(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    response: &ResponseKind,
) -> anyhow::Result<Bytes> {
    let mut buffer = BytesMut::with_capacity(256);
    buffer.put_i32(0); // length, patched below
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    header.encode(&mut buffer, api_key.response_header_version(version))?;
    match (response, version) {
        (ResponseKind::Produce(produce), 0 | 1) => {
            legacy::encode_produce_response(produce, version, &mut buffer)
        }
        // ProduceResponse v2 is laid out as v3 (v3 changed the request only).
        (ResponseKind::Produce(produce), 2) => produce.encode(&mut buffer, 3)?,
        // DescribeLogDirsResponse v0 is laid out as v1 (v1 changed throttling only).
        (ResponseKind::DescribeLogDirs(log_dirs), 0) => log_dirs.encode(&mut buffer, 1)?,
        _ => match legacy::encode_admin_response(response, version, &mut buffer) {
            Some(result) => result?,
            None => response.encode(&mut buffer, version)?,
        },
    }
    Ok(finish_frame(buffer))
}

/// Patches the length prefix of a frame written after a 4-byte placeholder.
fn finish_frame(mut buffer: BytesMut) -> Bytes {
    let length = (buffer.len() - FRAME_LENGTH_BYTES) as i32;
    buffer[..FRAME_LENGTH_BYTES].copy_from_slice(&length.to_be_bytes());
    buffer.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::ApiVersionsRequest;
    use kafka_protocol::protocol::StrBytes;

    fn request_frame(api_key: ApiKey, version: i16, body: &impl Encodable) -> Bytes {
        let mut buffer = BytesMut::new();
        let mut header = RequestHeader::default();
        header.request_api_key = api_key as i16;
        header.request_api_version = version;
        header.correlation_id = 7;
        header.client_id = Some(StrBytes::from_static_str("test"));
        header
            .encode(&mut buffer, api_key.request_header_version(version))
            .unwrap();
        body.encode(&mut buffer, version).unwrap();
        buffer.freeze()
    }

    #[test]
    fn frames() {
        assert_eq!(check_frame(&[0, 0], 100), FrameCheck::Incomplete);
        assert_eq!(check_frame(&[0, 0, 0, 2, 1], 100), FrameCheck::Incomplete);
        assert_eq!(
            check_frame(&[0, 0, 0, 2, 1, 2, 3], 100),
            FrameCheck::Complete(2)
        );
        assert_eq!(check_frame(&[0, 0, 1, 0], 100), FrameCheck::Invalid(256));
        assert_eq!(
            check_frame(&[0xff, 0xff, 0xff, 0xff], 100),
            FrameCheck::Invalid(-1)
        );
    }

    #[test]
    fn decodes_api_versions_of_every_supported_version() {
        for version in 0..=3 {
            let mut body = ApiVersionsRequest::default();
            if version >= 3 {
                body.client_software_name = StrBytes::from_static_str("keel-test");
                body.client_software_version = StrBytes::from_static_str("1");
            }
            let request =
                decode_request(request_frame(ApiKey::ApiVersions, version, &body)).unwrap();
            assert_eq!(request.api_key, ApiKey::ApiVersions);
            assert_eq!(request.header.correlation_id, 7);
        }
    }

    #[test]
    fn newer_api_versions_asks_for_the_v0_fallback() {
        let frame = Bytes::from_static(&[0, 18, 0, 99, 0, 0, 0, 5, 0, 0]);
        assert!(matches!(
            decode_request(frame),
            Err(DecodeError::ApiVersionsFallback {
                correlation_id: 5,
                version: 99
            })
        ));
    }

    /// Found by fuzz/kafka_request: DeleteRecords v0 whose topic array claims
    /// 0x65656400 entries. kafka-protocol 0.18.0 reserves the whole count up front,
    /// and the failed multi-gigabyte allocation aborts the process (not a panic).
    /// Passes with the patched copy in vendor/kafka-protocol-0.18.0; un-ignore once
    /// the main Cargo.toml has `[patch.crates-io] kafka-protocol = { path =
    /// "vendor/kafka-protocol-0.18.0" }` (or a fixed release).
    #[test]
    fn hostile_array_count_is_an_error_not_an_abort() {
        let frame = Bytes::from_static(&[
            0, 21, 0, 0, 0, 0, 0, 1, 0, 4, b's', b'e', b'e', b's', b'e', b'e', b'd', 0, 0, 0, 0, 0,
        ]);
        assert!(matches!(
            decode_request(frame),
            Err(DecodeError::Malformed { .. })
        ));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            decode_request(Bytes::from_static(&[1, 2])),
            Err(DecodeError::TooShort(2))
        ));
        assert!(matches!(
            decode_request(Bytes::from_static(&[0x7f, 0, 0, 0, 0, 0, 0, 1])),
            Err(DecodeError::UnknownApiKey(0x7f00))
        ));
        // Metadata v1 with a topic array claiming 1000 entries and no bytes.
        let frame = Bytes::from_static(&[0, 3, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0, 0, 3, 0xe8]);
        assert!(matches!(
            decode_request(frame),
            Err(DecodeError::Malformed { .. })
        ));
        let mut state = 0x1234_5678u32;
        for length in 0..200 {
            let bytes: Vec<u8> = (0..length)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state as u8
                })
                .collect();
            let _ = decode_request(Bytes::from(bytes));
        }
    }
}
