//! Partition logs in Kafka's on-disk format.
//!
//! # Layout
//! - `batch`: record batch (magic v2) headers, CRC checks, offset assignment.
//! - `cleaner`: log compaction (`cleanup.policy=compact`), as Kafka's LogCleaner.
//! - `checkpoint`: recovery-point, log-start-offset and leader-epoch checkpoint files.
//! - `index`: the sparse `.index` / `.timeindex` files.
//! - `legacy`: message formats v0/v1 (Produce v0-v2) converted to one v2 batch.
//! - `lz4_framing`: the LZ4 frame header checksum Kafka 0.8 wrote for magic 0.
//! - `manager`: the broker's log dirs: partitions, checkpoints, meta.properties.
//! - `partition`: one partition's segments: append, roll, read, retention, recovery.
//! - `records`: the records inside a batch: decompression, decoding, rebuilding.
//! - `segment`: one `<baseOffset>.log` with its indexes: append, read, recover.
//!
//! Stored batches are the client's bytes with offsets assigned, never re-compressed,
//! so Apache's `kafka-dump-log` reads keel's segments and keel opens Apache's.

pub mod batch;
pub mod checkpoint;
pub mod cleaner;
pub mod index;
pub mod legacy;
mod lz4_framing;
pub mod manager;
pub mod partition;
pub mod records;
pub mod segment;
