//! Multi requests and responses: a sequence of (MultiHeader, record) pairs closed
//! by a header with `done = true` (op -1, err -1), as Apache's
//! `MultiOperationRecord` and `MultiResponse` write them.

use super::codec::{Decoder, Jute, JuteError, JuteResult};
use super::codes::{CreateMode, OpCode};
use super::data::Stat;
use super::proto::{
    CheckVersionRequest, Create2Response, CreateRequest, CreateResponse, CreateTtlRequest,
    DeleteRequest, ErrorResponse, GetChildrenRequest, GetChildrenResponse, GetDataRequest,
    GetDataResponse, MultiHeader, SetDataRequest, SetDataResponse,
};

/// One op of a multi (14) or multiRead (22).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    /// `op` is create (1), create2 (15) or createContainer (19).
    Create {
        op: OpCode,
        request: CreateRequest,
    },
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    SetData(SetDataRequest),
    Check(CheckVersionRequest),
    GetChildren(GetChildrenRequest),
    GetData(GetDataRequest),
}

impl MultiOp {
    pub fn op(&self) -> OpCode {
        match self {
            MultiOp::Create { op, .. } => *op,
            MultiOp::CreateTtl(_) => OpCode::CreateTtl,
            MultiOp::Delete(_) => OpCode::Delete,
            MultiOp::SetData(_) => OpCode::SetData,
            MultiOp::Check(_) => OpCode::Check,
            MultiOp::GetChildren(_) => OpCode::GetChildren,
            MultiOp::GetData(_) => OpCode::GetData,
        }
    }

    pub fn path(&self) -> &str {
        match self {
            MultiOp::Create { request, .. } => &request.path,
            MultiOp::CreateTtl(request) => &request.path,
            MultiOp::Delete(request) => &request.path,
            MultiOp::SetData(request) => &request.path,
            MultiOp::Check(request) => &request.path,
            MultiOp::GetChildren(request) => &request.path,
            MultiOp::GetData(request) => &request.path,
        }
    }

    /// Apache's `Op.OpKind`: a multi may not mix reads and writes.
    pub fn is_read(&self) -> bool {
        matches!(self, MultiOp::GetChildren(_) | MultiOp::GetData(_))
    }

    fn write_body(&self, out: &mut Vec<u8>) {
        match self {
            MultiOp::Create { request, .. } => request.write(out),
            MultiOp::CreateTtl(request) => request.write(out),
            MultiOp::Delete(request) => request.write(out),
            MultiOp::SetData(request) => request.write(out),
            MultiOp::Check(request) => request.write(out),
            MultiOp::GetChildren(request) => request.write(out),
            MultiOp::GetData(request) => request.write(out),
        }
    }
}

/// The body of a multi (14) or multiRead (22) request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiRequest {
    pub ops: Vec<MultiOp>,
}

fn done_header() -> MultiHeader {
    MultiHeader {
        op: -1,
        done: true,
        err: -1,
    }
}

impl Jute for MultiRequest {
    fn write(&self, out: &mut Vec<u8>) {
        for op in &self.ops {
            MultiHeader {
                op: op.op().as_i32(),
                done: false,
                err: -1,
            }
            .write(out);
            op.write_body(out);
        }
        done_header().write(out);
    }

    /// Refuses what Apache's deserializer refuses: an op code that cannot appear
    /// in a multi, a create flag that is no CreateMode, and reads mixed with
    /// writes.
    fn read(input: &mut Decoder<'_>) -> JuteResult<Self> {
        let mut ops = Vec::new();
        let mut header = MultiHeader::read(input)?;
        while !header.done {
            let op = match OpCode::from_i32(header.op) {
                code @ (OpCode::Create | OpCode::Create2 | OpCode::CreateContainer) => {
                    let request = CreateRequest::read(input)?;
                    if CreateMode::from_flag(request.flags).is_none() {
                        return Err(JuteError::Malformed(format!(
                            "invalid flag {} for create mode",
                            request.flags
                        )));
                    }
                    MultiOp::Create { op: code, request }
                }
                OpCode::CreateTtl => MultiOp::CreateTtl(CreateTtlRequest::read(input)?),
                OpCode::Delete => MultiOp::Delete(DeleteRequest::read(input)?),
                OpCode::SetData => MultiOp::SetData(SetDataRequest::read(input)?),
                OpCode::Check => MultiOp::Check(CheckVersionRequest::read(input)?),
                OpCode::GetChildren => MultiOp::GetChildren(GetChildrenRequest::read(input)?),
                OpCode::GetData => MultiOp::GetData(GetDataRequest::read(input)?),
                other => {
                    return Err(JuteError::Malformed(format!(
                        "invalid type of op in multi: {}",
                        other.as_i32()
                    )))
                }
            };
            if let Some(first) = ops.first() {
                if MultiOp::is_read(first) != op.is_read() {
                    return Err(JuteError::Malformed(
                        "mixing different kind of ops".to_string(),
                    ));
                }
            }
            ops.push(op);
            header = MultiHeader::read(input)?;
        }
        Ok(MultiRequest { ops })
    }
}

/// One result of a multi response (Apache's `OpResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    /// The result of a plain create (1): written with op 1.
    Create {
        path: String,
    },
    /// The result of create2, createTTL and createContainer: written with op 15.
    Create2 {
        path: String,
        stat: Stat,
    },
    Delete,
    SetData {
        stat: Stat,
    },
    Check,
    GetChildren {
        children: Vec<String>,
    },
    GetData {
        data: Option<Vec<u8>>,
        stat: Stat,
    },
    Error {
        err: i32,
    },
}

impl OpResult {
    pub fn op(&self) -> OpCode {
        match self {
            OpResult::Create { .. } => OpCode::Create,
            OpResult::Create2 { .. } => OpCode::Create2,
            OpResult::Delete => OpCode::Delete,
            OpResult::SetData { .. } => OpCode::SetData,
            OpResult::Check => OpCode::Check,
            OpResult::GetChildren { .. } => OpCode::GetChildren,
            OpResult::GetData { .. } => OpCode::GetData,
            OpResult::Error { .. } => OpCode::Error,
        }
    }
}

/// The body of a multi or multiRead reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiResponse {
    pub results: Vec<OpResult>,
}

impl Jute for MultiResponse {
    fn write(&self, out: &mut Vec<u8>) {
        for result in &self.results {
            let err = match result {
                OpResult::Error { err } => *err,
                _ => 0,
            };
            MultiHeader {
                op: result.op().as_i32(),
                done: false,
                err,
            }
            .write(out);
            match result {
                OpResult::Create { path } => CreateResponse { path: path.clone() }.write(out),
                OpResult::Create2 { path, stat } => Create2Response {
                    path: path.clone(),
                    stat: stat.clone(),
                }
                .write(out),
                OpResult::Delete | OpResult::Check => {}
                OpResult::SetData { stat } => SetDataResponse { stat: stat.clone() }.write(out),
                OpResult::GetChildren { children } => GetChildrenResponse {
                    children: children.clone(),
                }
                .write(out),
                OpResult::GetData { data, stat } => GetDataResponse {
                    data: data.clone(),
                    stat: stat.clone(),
                }
                .write(out),
                OpResult::Error { err } => ErrorResponse { err: *err }.write(out),
            }
        }
        done_header().write(out);
    }

    fn read(input: &mut Decoder<'_>) -> JuteResult<Self> {
        let mut results = Vec::new();
        let mut header = MultiHeader::read(input)?;
        while !header.done {
            let result = match OpCode::from_i32(header.op) {
                OpCode::Create => OpResult::Create {
                    path: CreateResponse::read(input)?.path,
                },
                OpCode::Create2 => {
                    let response = Create2Response::read(input)?;
                    OpResult::Create2 {
                        path: response.path,
                        stat: response.stat,
                    }
                }
                OpCode::Delete => OpResult::Delete,
                OpCode::SetData => OpResult::SetData {
                    stat: SetDataResponse::read(input)?.stat,
                },
                OpCode::Check => OpResult::Check,
                OpCode::GetChildren => OpResult::GetChildren {
                    children: GetChildrenResponse::read(input)?.children,
                },
                OpCode::GetData => {
                    let response = GetDataResponse::read(input)?;
                    OpResult::GetData {
                        data: response.data,
                        stat: response.stat,
                    }
                }
                OpCode::Error => OpResult::Error {
                    err: ErrorResponse::read(input)?.err,
                },
                other => {
                    return Err(JuteError::Malformed(format!(
                        "invalid type {} in multi response",
                        other.as_i32()
                    )))
                }
            };
            results.push(result);
            header = MultiHeader::read(input)?;
        }
        Ok(MultiResponse { results })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zookeeper::jute::codec::{from_bytes, to_bytes};

    const DONE: [u8; 9] = [0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff];

    #[test]
    fn empty_multi_is_just_the_done_header() {
        assert_eq!(to_bytes(&MultiRequest::default()), DONE);
        assert_eq!(
            from_bytes::<MultiRequest>(&DONE, 64),
            Ok(MultiRequest::default())
        );
    }

    #[test]
    fn multi_request_bytes() {
        let request = MultiRequest {
            ops: vec![
                MultiOp::Check(CheckVersionRequest {
                    path: "/a".into(),
                    version: 1,
                }),
                MultiOp::Delete(DeleteRequest {
                    path: "/a".into(),
                    version: -1,
                }),
            ],
        };
        let bytes = to_bytes(&request);
        let mut expected = vec![0, 0, 0, 13, 0, 0xff, 0xff, 0xff, 0xff];
        expected.extend_from_slice(&[0, 0, 0, 2, b'/', b'a', 0, 0, 0, 1]);
        expected.extend_from_slice(&[0, 0, 0, 2, 0, 0xff, 0xff, 0xff, 0xff]);
        expected.extend_from_slice(&[0, 0, 0, 2, b'/', b'a', 0xff, 0xff, 0xff, 0xff]);
        expected.extend_from_slice(&DONE);
        assert_eq!(bytes, expected);
        assert_eq!(from_bytes::<MultiRequest>(&bytes, 1024), Ok(request));
    }

    #[test]
    fn multi_refuses_bad_create_flags_unknown_ops_and_mixing() {
        let bad_flag = MultiRequest {
            ops: vec![MultiOp::Create {
                op: OpCode::Create,
                request: CreateRequest {
                    path: "/a".into(),
                    flags: 9,
                    ..Default::default()
                },
            }],
        };
        assert!(matches!(
            from_bytes::<MultiRequest>(&to_bytes(&bad_flag), 1024),
            Err(JuteError::Malformed(_))
        ));

        let mut unknown = vec![0, 0, 0, 3, 0, 0xff, 0xff, 0xff, 0xff];
        unknown.extend_from_slice(&[0, 0, 0, 2, b'/', b'a', 0]);
        unknown.extend_from_slice(&DONE);
        assert!(matches!(
            from_bytes::<MultiRequest>(&unknown, 1024),
            Err(JuteError::Malformed(_))
        ));

        let mixed = MultiRequest {
            ops: vec![
                MultiOp::GetData(GetDataRequest {
                    path: "/a".into(),
                    watch: false,
                }),
                MultiOp::Delete(DeleteRequest {
                    path: "/a".into(),
                    version: -1,
                }),
            ],
        };
        assert!(matches!(
            from_bytes::<MultiRequest>(&to_bytes(&mixed), 1024),
            Err(JuteError::Malformed(_))
        ));
    }

    #[test]
    fn multi_without_done_header_is_incomplete() {
        let bytes = [
            0, 0, 0, 2, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, b'/', b'a', 0, 0, 0, 0,
        ];
        assert!(matches!(
            from_bytes::<MultiRequest>(&bytes, 1024),
            Err(JuteError::Incomplete { .. })
        ));
    }

    #[test]
    fn multi_response_bytes_and_error_results() {
        let response = MultiResponse {
            results: vec![
                OpResult::Error { err: 0 },
                OpResult::Error { err: -101 },
                OpResult::Error { err: -2 },
            ],
        };
        let bytes = to_bytes(&response);
        let mut expected = Vec::new();
        for err in [0i32, -101, -2] {
            expected.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0]);
            expected.extend_from_slice(&err.to_be_bytes());
            expected.extend_from_slice(&err.to_be_bytes());
        }
        expected.extend_from_slice(&DONE);
        assert_eq!(bytes, expected);
        assert_eq!(from_bytes::<MultiResponse>(&bytes, 1024), Ok(response));
    }

    #[test]
    fn create_results_use_op_1_or_15() {
        let response = MultiResponse {
            results: vec![
                OpResult::Create { path: "/a".into() },
                OpResult::Create2 {
                    path: "/b".into(),
                    stat: Stat::default(),
                },
                OpResult::Delete,
                OpResult::Check,
            ],
        };
        let bytes = to_bytes(&response);
        assert_eq!(&bytes[0..4], &[0, 0, 0, 1]);
        assert_eq!(&bytes[15..19], &[0, 0, 0, 15]);
        assert_eq!(from_bytes::<MultiResponse>(&bytes, 1024), Ok(response));
    }
}
