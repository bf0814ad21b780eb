//! The ZooKeeper wire format: jute records, op codes and error codes. Pure
//! encode/decode, no IO.
//!
//! # Layout
//! - `codec`: primitives (`int`, `long`, `boolean`, `buffer`, `ustring`,
//!   `vector`), the never-panicking `Decoder`, the `Jute` trait and `JuteError`.
//! - `frame`: length-prefixed framing: a cheap `check`, then decode.
//! - `codes`: `OpCode`, `ErrorCode`, `EventType`, `KeeperState`, `CreateMode`,
//!   `WatcherType`, `AddWatchMode`, permission bits, reserved xids.
//! - `data`: `Id`, `Acl`, `Stat`, `StatPersisted`, `ClientInfo`.
//! - `proto`: the handshake, headers and every request/response record.
//! - `multi`: multi requests and responses (`MultiOp`, `OpResult`).
//! - `request`: `Request`, one variant per client op code, `Unknown` for the rest.
//! - `response`: `Response`, one variant per reply body shape.
//! - `txn`: the txn records of the log and of quorum proposals (`TxnEntry`).
//! - `quorum`: the few records peers and the log file header use.
//!
//! Architecture invariant: nothing here touches a socket, a file or a clock.

pub mod codec;
pub mod codes;
pub mod data;
pub mod frame;
pub mod multi;
pub mod proto;
pub mod quorum;
pub mod request;
pub mod response;
pub mod txn;

pub use codec::{Decoder, Jute, JuteError, JuteResult, JUTE_MAX_BUFFER_DEFAULT};
pub use codes::{
    perms, xids, AddWatchMode, CreateMode, ErrorCode, EventType, KeeperState, OpCode, WatcherType,
};
pub use data::{Acl, ClientInfo, Id, Stat, StatPersisted};
pub use multi::{MultiOp, MultiRequest, MultiResponse, OpResult};
pub use request::Request;
pub use response::Response;
pub use txn::{TxnBody, TxnEntry, TxnHeader};
