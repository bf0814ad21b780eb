//! Records of `module org.apache.zookeeper.txn`: what prepare produces, the log
//! stores and apply consumes. `TxnBody` pairs each op code with its record, the
//! way Apache's `SerializeUtils.deserializeTxn` does, including its two fallbacks
//! for old logs (a V0 create and a bodiless closeSession).

use super::codec::{jute_records, to_bytes, Decoder, Jute, JuteError, JuteResult};
use super::codes::OpCode;
use super::data::Acl;

jute_records! {
    pub struct TxnDigest {
        pub version: i32,
        pub tree_digest: i64,
    }

    pub struct TxnHeader {
        pub client_id: i64,
        pub cxid: i32,
        pub zxid: i64,
        pub time: i64,
        pub op: i32,
    }

    /// A create from logs written before parentCVersion existed.
    pub struct CreateTxnV0 {
        pub path: String,
        pub data: Option<Vec<u8>>,
        pub acl: Vec<Acl>,
        pub ephemeral: bool,
    }

    /// create (1) and create2 (15). A `parent_c_version` of -1 asks apply to
    /// bump the parent's cversion itself.
    pub struct CreateTxn {
        pub path: String,
        pub data: Option<Vec<u8>>,
        pub acl: Vec<Acl>,
        pub ephemeral: bool,
        pub parent_c_version: i32,
    }

    pub struct CreateTtlTxn {
        pub path: String,
        pub data: Option<Vec<u8>>,
        pub acl: Vec<Acl>,
        pub parent_c_version: i32,
        pub ttl: i64,
    }

    pub struct CreateContainerTxn {
        pub path: String,
        pub data: Option<Vec<u8>>,
        pub acl: Vec<Acl>,
        pub parent_c_version: i32,
    }

    pub struct DeleteTxn {
        pub path: String,
    }

    /// `version` is the node's new version, already incremented by prepare.
    pub struct SetDataTxn {
        pub path: String,
        pub data: Option<Vec<u8>>,
        pub version: i32,
    }

    pub struct CheckVersionTxn {
        pub path: String,
        pub version: i32,
    }

    /// `version` is the node's new aversion.
    pub struct SetAclTxn {
        pub path: String,
        pub acl: Vec<Acl>,
        pub version: i32,
    }

    pub struct SetMaxChildrenTxn {
        pub path: String,
        pub max: i32,
    }

    pub struct CreateSessionTxn {
        pub time_out: i32,
    }

    pub struct CloseSessionTxn {
        pub paths_to_delete: Vec<String>,
    }

    pub struct ErrorTxn {
        pub err: i32,
    }

    /// One entry of a MultiTxn: an op code and that op's txn record, serialized.
    pub struct Txn {
        pub op: i32,
        pub data: Vec<u8>,
    }

    pub struct MultiTxn {
        pub txns: Vec<Txn>,
    }
}

/// A txn record, typed by the op code in its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnBody {
    /// create (1) and create2 (15).
    Create(CreateTxn),
    CreateTtl(CreateTtlTxn),
    CreateContainer(CreateContainerTxn),
    /// delete (2) and deleteContainer (20).
    Delete(DeleteTxn),
    /// setData (5) and reconfig (16).
    SetData(SetDataTxn),
    SetAcl(SetAclTxn),
    Check(CheckVersionTxn),
    CreateSession(CreateSessionTxn),
    /// `None` for logs written before CloseSessionTxn existed (or with
    /// `zookeeper.closeSessionTxn.enabled=false`): apply then deletes every
    /// ephemeral the session owns.
    CloseSession(Option<CloseSessionTxn>),
    Error(ErrorTxn),
    Multi(MultiTxn),
}

impl TxnBody {
    /// Decodes the record that follows a TxnHeader of type `op`.
    pub fn read(op: OpCode, input: &mut Decoder<'_>) -> JuteResult<TxnBody> {
        let start = input.clone();
        Ok(match op {
            OpCode::CreateSession => TxnBody::CreateSession(CreateSessionTxn::read(input)?),
            OpCode::CloseSession => match CloseSessionTxn::read(input) {
                Ok(txn) => TxnBody::CloseSession(Some(txn)),
                Err(JuteError::Incomplete { .. }) => {
                    *input = start;
                    TxnBody::CloseSession(None)
                }
                Err(other) => return Err(other),
            },
            OpCode::Create | OpCode::Create2 => match CreateTxn::read(input) {
                Ok(txn) => TxnBody::Create(txn),
                Err(JuteError::Incomplete { .. }) if op == OpCode::Create => {
                    *input = start;
                    let old = CreateTxnV0::read(input)?;
                    TxnBody::Create(CreateTxn {
                        path: old.path,
                        data: old.data,
                        acl: old.acl,
                        ephemeral: old.ephemeral,
                        parent_c_version: -1,
                    })
                }
                Err(other) => return Err(other),
            },
            OpCode::CreateTtl => TxnBody::CreateTtl(CreateTtlTxn::read(input)?),
            OpCode::CreateContainer => TxnBody::CreateContainer(CreateContainerTxn::read(input)?),
            OpCode::Delete | OpCode::DeleteContainer => TxnBody::Delete(DeleteTxn::read(input)?),
            OpCode::SetData | OpCode::Reconfig => TxnBody::SetData(SetDataTxn::read(input)?),
            OpCode::SetAcl => TxnBody::SetAcl(SetAclTxn::read(input)?),
            OpCode::Check => TxnBody::Check(CheckVersionTxn::read(input)?),
            OpCode::Error => TxnBody::Error(ErrorTxn::read(input)?),
            OpCode::Multi => TxnBody::Multi(MultiTxn::read(input)?),
            other => {
                return Err(JuteError::Malformed(format!(
                    "unsupported txn type {}",
                    other.as_i32()
                )))
            }
        })
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            TxnBody::Create(txn) => txn.write(out),
            TxnBody::CreateTtl(txn) => txn.write(out),
            TxnBody::CreateContainer(txn) => txn.write(out),
            TxnBody::Delete(txn) => txn.write(out),
            TxnBody::SetData(txn) => txn.write(out),
            TxnBody::SetAcl(txn) => txn.write(out),
            TxnBody::Check(txn) => txn.write(out),
            TxnBody::CreateSession(txn) => txn.write(out),
            TxnBody::CloseSession(Some(txn)) => txn.write(out),
            TxnBody::CloseSession(None) => {}
            TxnBody::Error(txn) => txn.write(out),
            TxnBody::Multi(txn) => txn.write(out),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // Room for a create of a short path with a small value and one ACL,
        // so most bodies encode without growing the buffer.
        let mut out = Vec::with_capacity(256);
        self.write(&mut out);
        out
    }

    /// Wraps a sub-txn of a multi as a `Txn` entry.
    pub fn to_multi_entry(op: OpCode, body: &TxnBody) -> Txn {
        Txn {
            op: op.as_i32(),
            data: body.to_bytes(),
        }
    }

    /// Decodes the sub-txns of a multi. Only the op codes Apache allows inside a
    /// multi are accepted.
    pub fn read_multi_entry(entry: &Txn, buffer_bytes_max: usize) -> JuteResult<TxnBody> {
        let op = OpCode::from_i32(entry.op);
        match op {
            OpCode::Create
            | OpCode::Create2
            | OpCode::CreateTtl
            | OpCode::CreateContainer
            | OpCode::Delete
            | OpCode::DeleteContainer
            | OpCode::SetData
            | OpCode::Error
            | OpCode::Check => TxnBody::read(op, &mut Decoder::new(&entry.data, buffer_bytes_max)),
            other => Err(JuteError::Malformed(format!(
                "invalid type of op in multi txn: {}",
                other.as_i32()
            ))),
        }
    }
}

/// A complete txn as prepare produces it and the log stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnEntry {
    pub header: TxnHeader,
    pub body: TxnBody,
    /// The tree digest after this txn; Apache writes it when
    /// `zookeeper.digest.enabled` (the default) and tolerates its absence.
    pub digest: Option<TxnDigest>,
}

impl TxnEntry {
    pub fn op(&self) -> OpCode {
        OpCode::from_i32(self.header.op)
    }

    /// The bytes of one log entry's payload: header, body, optional digest.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = to_bytes(&self.header);
        self.body.write(&mut out);
        if let Some(digest) = &self.digest {
            digest.write(&mut out);
        }
        out
    }

    /// Decodes a log entry's payload.
    pub fn from_bytes(bytes: &[u8], buffer_bytes_max: usize) -> JuteResult<TxnEntry> {
        let mut input = Decoder::new(bytes, buffer_bytes_max);
        let header = TxnHeader::read(&mut input)?;
        let body = TxnBody::read(OpCode::from_i32(header.op), &mut input)?;
        let digest = if input.is_at_end() {
            None
        } else {
            match TxnDigest::read(&mut input) {
                Ok(digest) => Some(digest),
                Err(JuteError::Incomplete { .. }) => None,
                Err(other) => return Err(other),
            }
        };
        Ok(TxnEntry {
            header,
            body,
            digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zookeeper::jute::codec::BUFFER_BYTES_MAX_DEFAULT;
    use crate::zookeeper::jute::data::Id;

    fn header(op: OpCode) -> TxnHeader {
        TxnHeader {
            client_id: 0x10,
            cxid: 3,
            zxid: 0x100000005,
            time: 1_700_000_000_000,
            op: op.as_i32(),
        }
    }

    #[test]
    fn txn_header_bytes() {
        let bytes = to_bytes(&header(OpCode::Delete));
        assert_eq!(bytes.len(), 8 + 4 + 8 + 8 + 4);
        assert_eq!(&bytes[28..32], &[0, 0, 0, 2]);
    }

    #[test]
    fn create_entry_round_trips_with_and_without_digest() {
        let body = TxnBody::Create(CreateTxn {
            path: "/a".into(),
            data: Some(b"v".to_vec()),
            acl: vec![Acl::new(31, Id::anyone())],
            ephemeral: true,
            parent_c_version: 4,
        });
        for digest in [
            None,
            Some(TxnDigest {
                version: 2,
                tree_digest: 99,
            }),
        ] {
            let entry = TxnEntry {
                header: header(OpCode::Create),
                body: body.clone(),
                digest,
            };
            let bytes = entry.to_bytes();
            assert_eq!(
                TxnEntry::from_bytes(&bytes, BUFFER_BYTES_MAX_DEFAULT),
                Ok(entry)
            );
        }
    }

    #[test]
    fn v0_create_becomes_create_with_unknown_parent_cversion() {
        let old = CreateTxnV0 {
            path: "/old".into(),
            data: None,
            acl: vec![],
            ephemeral: false,
        };
        let mut bytes = to_bytes(&header(OpCode::Create));
        old.write(&mut bytes);
        let entry = TxnEntry::from_bytes(&bytes, BUFFER_BYTES_MAX_DEFAULT).unwrap();
        assert_eq!(
            entry.body,
            TxnBody::Create(CreateTxn {
                path: "/old".into(),
                data: None,
                acl: vec![],
                ephemeral: false,
                parent_c_version: -1,
            })
        );
    }

    #[test]
    fn bodiless_close_session_is_accepted() {
        let bytes = to_bytes(&header(OpCode::CloseSession));
        let entry = TxnEntry::from_bytes(&bytes, BUFFER_BYTES_MAX_DEFAULT).unwrap();
        assert_eq!(entry.body, TxnBody::CloseSession(None));
        assert_eq!(entry.digest, None);
    }

    #[test]
    fn multi_txn_nests_serialized_sub_txns() {
        let delete = TxnBody::Delete(DeleteTxn { path: "/x".into() });
        let error = TxnBody::Error(ErrorTxn { err: -2 });
        let multi = TxnBody::Multi(MultiTxn {
            txns: vec![
                TxnBody::to_multi_entry(OpCode::Delete, &delete),
                TxnBody::to_multi_entry(OpCode::Error, &error),
            ],
        });
        let bytes = multi.to_bytes();
        assert_eq!(
            bytes,
            [
                0, 0, 0, 2, // two entries
                0, 0, 0, 2, 0, 0, 0, 6, 0, 0, 0, 2, b'/', b'x', // delete "/x"
                0xff, 0xff, 0xff, 0xff, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xfe, // error -2
            ]
        );
        let TxnBody::Multi(decoded) =
            TxnBody::read(OpCode::Multi, &mut Decoder::with_default_limit(&bytes)).unwrap()
        else {
            panic!("not a multi");
        };
        assert_eq!(
            TxnBody::read_multi_entry(&decoded.txns[0], 1024),
            Ok(delete)
        );
        assert_eq!(TxnBody::read_multi_entry(&decoded.txns[1], 1024), Ok(error));
    }

    #[test]
    fn unsupported_txn_types_are_malformed() {
        let bytes = to_bytes(&header(OpCode::GetData));
        assert!(matches!(
            TxnEntry::from_bytes(&bytes, 1024),
            Err(JuteError::Malformed(_))
        ));
    }
}
