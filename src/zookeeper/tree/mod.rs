//! The data tree as a pure state machine: znodes, Stat, ACLs, ephemerals,
//! containers, TTLs and watches. Two stages, as Apache's pipeline has them:
//!
//! - **prepare** (`DataTree::prepare`): request + session + auth ids + tree +
//!   pending changes -> one txn (an error txn when the request fails).
//! - **apply** (`DataTree::apply`): txn -> result + watch notifications; the
//!   reply comes from `TxnResult::reply`.
//!
//! Reads (`DataTree::read`) are answered from the tree directly. Time and zxids
//! are inputs; nothing here reads a clock or touches a socket or a file.
//!
//! # Layout
//! - `ids`: `Zxid`, `SessionId`, `WatcherId`.
//! - `path`: Apache's path validation and parent/child split.
//! - `ephemeral`: what `ephemeralOwner` encodes (session, container, TTL).
//! - `digest`: SHA-1, base64 and the `digest` scheme's `user:hash`.
//! - `tree_digest`: Apache's tree digest (a CRC-32 per node, summed), carried
//!   by txns and snapshots and compared after every applied txn.
//! - `auth`: ACL checks, ACL fixup, ip matching, whoAmI.
//! - `acl_cache`: ACL lists interned by index (snapshot format).
//! - `node`: `Znode` and the client Stat derived from it.
//! - `watch`: the watch registry (standard, persistent, persistent-recursive).
//! - `store`: `NodeStore`, the znodes by path in a compact slab and index.
//! - `data_tree`: `DataTree`, its built-in nodes and primitive mutations.
//! - `prepare`: request -> txn, with `PendingChanges`.
//! - `apply`: txn -> `TxnResult` + notifications.
//! - `read`: reads, watch requests, whoAmI, sync, ping.
//! - `cleanup`: container and TTL deletion candidates.

pub mod acl_cache;
pub mod apply;
pub mod auth;
pub mod cleanup;
pub mod data_tree;
pub mod digest;
pub mod ephemeral;
pub mod ids;
pub mod node;
pub mod path;
pub mod prepare;
pub mod read;
pub mod store;
pub mod tree_digest;
pub mod watch;

#[cfg(test)]
mod tests;

pub use apply::{Applied, TxnResult};
pub use auth::AuthConfig;
pub use data_tree::{DataTree, SnapshotCursor, SnapshotLoadError, TreeConfig};
pub use ids::{IdHasher, IdMap, IdSet, SessionId, WatcherId, Zxid};
pub use node::Znode;
pub use prepare::{PendingChanges, RequestContext};
pub use read::{ReadContext, ReadOutcome};
pub use tree_digest::{ZxidDigest, TREE_DIGEST_VERSION};
pub use watch::{Notification, WatchMode};
