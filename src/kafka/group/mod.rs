//! The consumer group coordinator for the classic group protocol, and the
//! committed offsets it keeps in `__consumer_offsets`.
//!
//! A sans-IO core: requests (decoded `kafka-protocol` messages plus `now_ms`) and
//! ticks go in, [`Effect`]s come out (answers to send, records to append). The
//! server's tokio layer only moves bytes and time.
//!
//! # Layout
//! - `coordinator`: [`GroupCoordinator`], its effects, loading from records, timers.
//! - `join`: JoinGroup (MEMBER_ID_REQUIRED, static members, protocol choice).
//! - `sync`: SyncGroup and Heartbeat.
//! - `leave`: LeaveGroup, single member and batch.
//! - `rebalance`: join phase, generations, session and sync expiry.
//! - `offsets`: OffsetCommit, OffsetFetch, OffsetDelete, offset retention.
//! - `admin`: ListGroups, DescribeGroups, DeleteGroups.
//! - `appends`: records waiting for their append; what their success or failure
//!   does (Kafka's `putCacheCallback`s) and how append errors are answered.
//! - `ownership`: the `__consumer_offsets` partitions this coordinator serves,
//!   loaded when their leadership arrives and dropped when it leaves.
//! - `classic`: one classic group's members and state rules.
//! - `records`: `__consumer_offsets` keys and values in Kafka's byte format.
//! - `responses`: the answers, valid for the request's version.
//! - `ids`: id newtypes, member id source, group → offsets partition.
//! - `config`: settings with Kafka's defaults.
//! - `subscription`: topic list of a `consumer` protocol subscription.
//! - `timers`: deterministic keyed timer queue.
//! - `wire`: Kafka's primitive encodings for the records.
//!
//! Architecture invariant: nothing here reads a clock, draws randomness (member
//! ids come from an injected [`MemberIdSource`]), or does IO.

mod admin;
mod appends;
mod classic;
mod config;
mod coordinator;
mod ids;
mod join;
mod leave;
mod offsets;
mod ownership;
mod rebalance;
mod records;
mod responses;
mod subscription;
mod sync;
mod timers;
mod wire;

#[cfg(test)]
mod tests;

pub use classic::{ClassicGroup, GroupState, Member, Protocol};
pub use config::GroupConfig;
pub use coordinator::{Effect, GroupCoordinator, RequestContext};
pub use ids::{
    java_string_hash, partition_for_group, AppendId, CountingUuids, GenerationId, GroupId,
    GroupInstanceId, MemberId, MemberIdSource, OffsetsPartition, RequestId, SeededUuids,
};
pub use offsets::OffsetAndMetadata;
pub use records::{
    CoordinatorRecord, GroupMetadataKey, GroupMetadataValue, MemberMetadata, OffsetCommitKey,
    OffsetCommitValue, RecordError,
};
pub use responses::Response;
