//! One enum for every client request, decoded from a frame body by its op code.
//! An op code keel does not know is a value (`Unknown`), so the server can answer
//! it with the protocol's own error instead of dropping the connection.

use super::codec::{Decoder, Jute, JuteResult};
use super::codes::OpCode;
use super::multi::MultiRequest;
use super::proto::{
    AddWatchRequest, AuthPacket, CheckVersionRequest, CheckWatchesRequest, CreateRequest,
    CreateTtlRequest, DeleteContainerRequest, DeleteRequest, ExistsRequest, GetAclRequest,
    GetAllChildrenNumberRequest, GetChildren2Request, GetChildrenRequest, GetDataRequest,
    GetEphemeralsRequest, GetSaslRequest, ReconfigRequest, RemoveWatchesRequest, RequestHeader,
    SetAclRequest, SetDataRequest, SetWatches, SetWatches2, SyncRequest,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Create(CreateRequest),
    Create2(CreateRequest),
    CreateContainer(CreateRequest),
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    DeleteContainer(DeleteContainerRequest),
    Exists(ExistsRequest),
    GetData(GetDataRequest),
    SetData(SetDataRequest),
    GetAcl(GetAclRequest),
    SetAcl(SetAclRequest),
    GetChildren(GetChildrenRequest),
    GetChildren2(GetChildren2Request),
    Sync(SyncRequest),
    Ping,
    Check(CheckVersionRequest),
    Multi(MultiRequest),
    MultiRead(MultiRequest),
    Reconfig(ReconfigRequest),
    CheckWatches(CheckWatchesRequest),
    RemoveWatches(RemoveWatchesRequest),
    Auth(AuthPacket),
    SetWatches(SetWatches),
    SetWatches2(SetWatches2),
    Sasl(GetSaslRequest),
    GetEphemerals(GetEphemeralsRequest),
    GetAllChildrenNumber(GetAllChildrenNumberRequest),
    AddWatch(AddWatchRequest),
    WhoAmI,
    CloseSession,
    /// An op code that is not a client request (including createSession, error
    /// and notification, which only the server itself produces).
    Unknown(i32),
}

impl Request {
    /// Decodes a request body. Trailing bytes are ignored, as in Apache.
    pub fn read(op: OpCode, input: &mut Decoder<'_>) -> JuteResult<Request> {
        Ok(match op {
            OpCode::Create => Request::Create(CreateRequest::read(input)?),
            OpCode::Create2 => Request::Create2(CreateRequest::read(input)?),
            OpCode::CreateContainer => Request::CreateContainer(CreateRequest::read(input)?),
            OpCode::CreateTtl => Request::CreateTtl(CreateTtlRequest::read(input)?),
            OpCode::Delete => Request::Delete(DeleteRequest::read(input)?),
            OpCode::DeleteContainer => {
                Request::DeleteContainer(DeleteContainerRequest::read(input)?)
            }
            OpCode::Exists => Request::Exists(ExistsRequest::read(input)?),
            OpCode::GetData => Request::GetData(GetDataRequest::read(input)?),
            OpCode::SetData => Request::SetData(SetDataRequest::read(input)?),
            OpCode::GetAcl => Request::GetAcl(GetAclRequest::read(input)?),
            OpCode::SetAcl => Request::SetAcl(SetAclRequest::read(input)?),
            OpCode::GetChildren => Request::GetChildren(GetChildrenRequest::read(input)?),
            OpCode::GetChildren2 => Request::GetChildren2(GetChildren2Request::read(input)?),
            OpCode::Sync => Request::Sync(SyncRequest::read(input)?),
            OpCode::Ping => Request::Ping,
            OpCode::Check => Request::Check(CheckVersionRequest::read(input)?),
            OpCode::Multi => Request::Multi(MultiRequest::read(input)?),
            OpCode::MultiRead => Request::MultiRead(MultiRequest::read(input)?),
            OpCode::Reconfig => Request::Reconfig(ReconfigRequest::read(input)?),
            OpCode::CheckWatches => Request::CheckWatches(CheckWatchesRequest::read(input)?),
            OpCode::RemoveWatches => Request::RemoveWatches(RemoveWatchesRequest::read(input)?),
            OpCode::Auth => Request::Auth(AuthPacket::read(input)?),
            OpCode::SetWatches => Request::SetWatches(SetWatches::read(input)?),
            OpCode::SetWatches2 => Request::SetWatches2(SetWatches2::read(input)?),
            OpCode::Sasl => Request::Sasl(GetSaslRequest::read(input)?),
            OpCode::GetEphemerals => Request::GetEphemerals(GetEphemeralsRequest::read(input)?),
            OpCode::GetAllChildrenNumber => {
                Request::GetAllChildrenNumber(GetAllChildrenNumberRequest::read(input)?)
            }
            OpCode::AddWatch => Request::AddWatch(AddWatchRequest::read(input)?),
            OpCode::WhoAmI => Request::WhoAmI,
            OpCode::CloseSession => Request::CloseSession,
            other => Request::Unknown(other.as_i32()),
        })
    }

    /// Decodes a whole request frame body: header, then the record.
    pub fn read_with_header(input: &mut Decoder<'_>) -> JuteResult<(RequestHeader, Request)> {
        let header = RequestHeader::read(input)?;
        let request = Request::read(OpCode::from_i32(header.op), input)?;
        Ok((header, request))
    }

    pub fn op(&self) -> OpCode {
        match self {
            Request::Create(_) => OpCode::Create,
            Request::Create2(_) => OpCode::Create2,
            Request::CreateContainer(_) => OpCode::CreateContainer,
            Request::CreateTtl(_) => OpCode::CreateTtl,
            Request::Delete(_) => OpCode::Delete,
            Request::DeleteContainer(_) => OpCode::DeleteContainer,
            Request::Exists(_) => OpCode::Exists,
            Request::GetData(_) => OpCode::GetData,
            Request::SetData(_) => OpCode::SetData,
            Request::GetAcl(_) => OpCode::GetAcl,
            Request::SetAcl(_) => OpCode::SetAcl,
            Request::GetChildren(_) => OpCode::GetChildren,
            Request::GetChildren2(_) => OpCode::GetChildren2,
            Request::Sync(_) => OpCode::Sync,
            Request::Ping => OpCode::Ping,
            Request::Check(_) => OpCode::Check,
            Request::Multi(_) => OpCode::Multi,
            Request::MultiRead(_) => OpCode::MultiRead,
            Request::Reconfig(_) => OpCode::Reconfig,
            Request::CheckWatches(_) => OpCode::CheckWatches,
            Request::RemoveWatches(_) => OpCode::RemoveWatches,
            Request::Auth(_) => OpCode::Auth,
            Request::SetWatches(_) => OpCode::SetWatches,
            Request::SetWatches2(_) => OpCode::SetWatches2,
            Request::Sasl(_) => OpCode::Sasl,
            Request::GetEphemerals(_) => OpCode::GetEphemerals,
            Request::GetAllChildrenNumber(_) => OpCode::GetAllChildrenNumber,
            Request::AddWatch(_) => OpCode::AddWatch,
            Request::WhoAmI => OpCode::WhoAmI,
            Request::CloseSession => OpCode::CloseSession,
            Request::Unknown(op) => OpCode::from_i32(*op),
        }
    }

    /// Encodes the record (without the header); a client or a test uses this.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Request::Create(r) | Request::Create2(r) | Request::CreateContainer(r) => r.write(out),
            Request::CreateTtl(r) => r.write(out),
            Request::Delete(r) => r.write(out),
            Request::DeleteContainer(r) => r.write(out),
            Request::Exists(r) => r.write(out),
            Request::GetData(r) => r.write(out),
            Request::SetData(r) => r.write(out),
            Request::GetAcl(r) => r.write(out),
            Request::SetAcl(r) => r.write(out),
            Request::GetChildren(r) => r.write(out),
            Request::GetChildren2(r) => r.write(out),
            Request::Sync(r) => r.write(out),
            Request::Check(r) => r.write(out),
            Request::Multi(r) | Request::MultiRead(r) => r.write(out),
            Request::Reconfig(r) => r.write(out),
            Request::CheckWatches(r) => r.write(out),
            Request::RemoveWatches(r) => r.write(out),
            Request::Auth(r) => r.write(out),
            Request::SetWatches(r) => r.write(out),
            Request::SetWatches2(r) => r.write(out),
            Request::Sasl(r) => r.write(out),
            Request::GetEphemerals(r) => r.write(out),
            Request::GetAllChildrenNumber(r) => r.write(out),
            Request::AddWatch(r) => r.write(out),
            Request::Ping | Request::WhoAmI | Request::CloseSession | Request::Unknown(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zookeeper::jute::codec::{to_bytes, JuteError};

    fn frame_body(xid: i32, op: i32, record: &[u8]) -> Vec<u8> {
        let mut body = to_bytes(&RequestHeader { xid, op });
        body.extend_from_slice(record);
        body
    }

    #[test]
    fn get_data_request_decodes_from_raw_bytes() {
        let body = frame_body(7, 4, &[0, 0, 0, 2, b'/', b'a', 1]);
        let (header, request) =
            Request::read_with_header(&mut Decoder::with_default_limit(&body)).unwrap();
        assert_eq!(header, RequestHeader { xid: 7, op: 4 });
        assert_eq!(
            request,
            Request::GetData(GetDataRequest {
                path: "/a".into(),
                watch: true
            })
        );
    }

    #[test]
    fn unknown_op_codes_are_values() {
        for op in [10, 99, -10, 0, 12345] {
            let body = frame_body(1, op, &[1, 2, 3]);
            let (_, request) =
                Request::read_with_header(&mut Decoder::with_default_limit(&body)).unwrap();
            assert_eq!(request, Request::Unknown(op));
            assert_eq!(request.op().as_i32(), op);
        }
    }

    #[test]
    fn bodiless_requests() {
        for (op, expected) in [
            (11, Request::Ping),
            (107, Request::WhoAmI),
            (-11, Request::CloseSession),
        ] {
            let body = frame_body(-2, op, &[]);
            let (_, request) =
                Request::read_with_header(&mut Decoder::with_default_limit(&body)).unwrap();
            assert_eq!(request, expected);
        }
    }

    #[test]
    fn truncated_record_is_incomplete() {
        let body = frame_body(1, 5, &[0, 0, 0, 2, b'/']);
        assert!(matches!(
            Request::read_with_header(&mut Decoder::with_default_limit(&body)),
            Err(JuteError::Incomplete { .. })
        ));
    }

    #[test]
    fn every_request_round_trips() {
        let requests = vec![
            Request::Create2(CreateRequest {
                path: "/x".into(),
                data: None,
                acl: vec![],
                flags: 1,
            }),
            Request::CreateTtl(CreateTtlRequest {
                path: "/t".into(),
                data: Some(vec![1]),
                acl: vec![],
                flags: 5,
                ttl: 100,
            }),
            Request::SetAcl(SetAclRequest {
                path: "/x".into(),
                acl: vec![],
                version: 3,
            }),
            Request::AddWatch(AddWatchRequest {
                path: "/".into(),
                mode: 1,
            }),
            Request::SetWatches2(SetWatches2 {
                relative_zxid: 9,
                data_watches: vec!["/a".into()],
                persistent_recursive_watches: vec!["/b".into()],
                ..Default::default()
            }),
            Request::Auth(AuthPacket {
                auth_type: 0,
                scheme: "digest".into(),
                auth: b"u:p".to_vec(),
            }),
            Request::DeleteContainer(DeleteContainerRequest { path: "/c".into() }),
        ];
        for request in requests {
            let mut record = Vec::new();
            request.write(&mut record);
            let decoded =
                Request::read(request.op(), &mut Decoder::with_default_limit(&record)).unwrap();
            assert_eq!(decoded, request);
        }
    }
}

/// Hostile input: random bytes and every truncation of valid frames must decode
/// to a value or an error, never a panic or a huge allocation.
#[cfg(test)]
mod hostile_input_tests {
    use super::*;
    use crate::zookeeper::jute::codec::to_bytes;
    use crate::zookeeper::jute::multi::{MultiOp, MultiResponse};
    use crate::zookeeper::jute::proto::ConnectRequest;
    use crate::zookeeper::jute::txn::TxnEntry;

    /// xorshift64*: deterministic, so a failure reproduces.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
    }

    fn decode_everything(bytes: &[u8]) {
        let limit = 4096;
        let _ = Request::read_with_header(&mut Decoder::new(bytes, limit));
        for op in [1, 5, 7, 14, 22, 101, 105, 106] {
            let _ = Request::read(OpCode::from_i32(op), &mut Decoder::new(bytes, limit));
        }
        let _ = MultiResponse::read(&mut Decoder::new(bytes, limit));
        let _ = ConnectRequest::read(&mut Decoder::new(bytes, limit));
        let _ = TxnEntry::from_bytes(bytes, limit);
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut random = Random(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let length = (random.next() % 64) as usize;
            let mut bytes: Vec<u8> = (0..length).map(|_| random.next() as u8).collect();
            // Bias some lengths towards small, plausible values so decoding
            // gets past the first field.
            if bytes.len() >= 8 && random.next().is_multiple_of(2) {
                bytes[4..8].copy_from_slice(&((random.next() % 16) as i32).to_be_bytes());
            }
            decode_everything(&bytes);
        }
    }

    #[test]
    fn every_truncation_of_valid_frames_is_an_error_not_a_panic() {
        let multi = Request::Multi(crate::zookeeper::jute::MultiRequest {
            ops: vec![
                MultiOp::Create {
                    op: OpCode::Create,
                    request: CreateRequest {
                        path: "/a".into(),
                        data: Some(vec![1, 2, 3]),
                        acl: crate::zookeeper::jute::Acl::open_unsafe(),
                        flags: 2,
                    },
                },
                MultiOp::Delete(DeleteRequest {
                    path: "/b".into(),
                    version: 4,
                }),
            ],
        });
        let mut frame = to_bytes(&RequestHeader { xid: 9, op: 14 });
        multi.write(&mut frame);
        for end in 0..frame.len() {
            assert!(Request::read_with_header(&mut Decoder::new(&frame[..end], 4096)).is_err());
        }
        let (_, decoded) = Request::read_with_header(&mut Decoder::new(&frame, 4096)).unwrap();
        assert_eq!(decoded, multi);
    }
}
