//! The snapshot a leader streams after a SNAP packet (`LearnerHandler.run`:
//! `ZKDatabase.serializeSnapshot`, then the signature):
//!
//! ```text
//! int count       sessions, then count x (long id, int timeout_ms)
//! int count       ACL map, then count x (long index, vector<ACL>)
//! (ustring path, buffer data, long acl index, StatPersisted)*
//!                 pre-order from the root, written as ""; parents first
//! ustring "/"     end of nodes
//! ustring "BenWasHere"
//! ```
//!
//! It is a snapshot file's body (`persistence::snapshot`) without the file
//! header and seals, whose encoding pieces this reuses. The learner rebuilds
//! parents from paths and refuses a node whose parent or ACL is unknown, as
//! Apache's `DataTree.deserialize` fails on a missing parent; Apache would
//! only log an unknown ACL and fail later, keel refuses it up front.
//!
//! Apache iterates hash sets (sessions, the ACL map, a node's children), keel
//! writes each in ascending order: the bytes can differ in order from
//! Apache's, never in content.

use std::collections::{BTreeMap, HashSet};

use super::{Decoded, WireError};
use crate::zookeeper::jute::codec::{write_ustring, Decoder, JuteError};
use crate::zookeeper::jute::{Acl, Id, Jute, StatPersisted};
use crate::zookeeper::persistence::snapshot::{
    encode_end_of_nodes, encode_node, encode_sessions_and_acls,
};
use crate::zookeeper::tree::acl_cache::OPEN_UNSAFE_ACL_INDEX;
use crate::zookeeper::tree::{DataTree, SessionId, SnapshotCursor, TreeConfig, Znode};

/// What LearnerHandler writes after the tree and Learner checks.
pub const SNAPSHOT_SIGNATURE: &str = "BenWasHere";
const END_OF_NODES_PATH: &str = "/";
/// Room for a record's fixed fields (lengths, ACL index, Stat) beside its
/// bounded strings and buffers.
const RECORD_OVERHEAD_BYTES: usize = 1024;

/// The sessions and ACL map that open the stream.
pub fn encode_snapshot_head(
    out: &mut Vec<u8>,
    tree: &DataTree,
    sessions: &BTreeMap<SessionId, i32>,
) {
    encode_sessions_and_acls(out, sessions, &tree.acl_cache().entries());
}

/// The ACL indexes a stream's head listed: a node the walk meets later may
/// only use one of these (or the open ACL), since the learner resolves each
/// node's index against the head's map.
pub fn head_acl_indexes(tree: &DataTree) -> HashSet<i64> {
    tree.acl_cache()
        .entries()
        .iter()
        .map(|(index, _)| *index)
        .collect()
}

/// What one step of a snapshot stream did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotStep {
    /// `out` grew by the bytes asked for; the walk goes on.
    More,
    /// The walk ended: the end marker and the signature are written too.
    Done,
    /// A node uses an ACL interned after the head was written (the tree
    /// changed during the walk): the stream cannot be finished readably.
    UnknownAcl { path: String, acl: i64 },
}

/// Appends nodes from where `cursor` is until `out` has grown by at least
/// `bytes_min` or the walk ends (then the end marker and the signature too),
/// so a leader can interleave the dump with other work, as the on-disk
/// snapshot writer does. The tree may change between steps (Apache's
/// LearnerHandler streams as fuzzily): the learner replays every txn after
/// the SNAP packet's zxid over it.
pub fn encode_snapshot_nodes(
    tree: &DataTree,
    cursor: &mut SnapshotCursor,
    out: &mut Vec<u8>,
    bytes_min: usize,
    head_acls: &HashSet<i64>,
) -> SnapshotStep {
    let stop_at = out.len().saturating_add(bytes_min);
    let mut unknown_acl = None;
    while !cursor.is_done() {
        tree.snapshot_step(cursor, |path, node| {
            if node.acl != OPEN_UNSAFE_ACL_INDEX && !head_acls.contains(&node.acl) {
                unknown_acl = Some((path.to_string(), node.acl));
                return false;
            }
            encode_node(out, path, node);
            out.len() < stop_at
        });
        if let Some((path, acl)) = unknown_acl {
            return SnapshotStep::UnknownAcl { path, acl };
        }
        if out.len() >= stop_at && !cursor.is_done() {
            return SnapshotStep::More;
        }
    }
    encode_snapshot_tail(out);
    SnapshotStep::Done
}

/// The "/" that ends the nodes, then the signature.
pub fn encode_snapshot_tail(out: &mut Vec<u8>) {
    encode_end_of_nodes(out);
    write_ustring(out, Some(SNAPSHOT_SIGNATURE));
}

/// The whole stream in one buffer (small trees, tests).
pub fn encode_snapshot_stream(tree: &DataTree, sessions: &BTreeMap<SessionId, i32>) -> Vec<u8> {
    let mut out = Vec::new();
    encode_snapshot_head(&mut out, tree, sessions);
    let mut cursor = tree.snapshot_cursor();
    let step = encode_snapshot_nodes(
        tree,
        &mut cursor,
        &mut out,
        usize::MAX,
        &head_acl_indexes(tree),
    );
    debug_assert_eq!(step, SnapshotStep::Done, "one walk over an unchanging tree");
    out
}

/// A snapshot received whole. The caller sets the tree's last processed zxid
/// from the SNAP packet (`Learner.syncWithLeader`) and, with reconfig off,
/// rewrites `/zookeeper/config` from its own config (ZOOKEEPER-2819).
#[derive(Debug)]
pub struct NetworkSnapshot {
    pub tree: DataTree,
    pub sessions: BTreeMap<SessionId, i32>,
}

/// Where the decoder is in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    SessionCount,
    Sessions { remaining: usize },
    AclCount,
    AclLists { remaining: usize },
    Nodes,
    Signature,
    Done,
}

/// What `SnapshotStreamDecoder::feed` did with a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotFeed {
    /// Every byte was taken; the stream goes on.
    NeedMore,
    /// The stream ended inside this chunk: its first `consumed` bytes were
    /// the snapshot's, the rest are the packets that follow.
    Done { consumed: usize },
}

/// Rebuilds a `DataTree` and the session list from a SNAP stream given in
/// pieces. Either call `decode` with everything buffered so far (it takes
/// whole records from the front and says how many bytes), or `feed` chunks
/// and let the decoder keep a partial record itself. Every string and buffer
/// is bounded by `buffer_bytes_max` (jute.maxbuffer + extrasize), and a whole
/// record (a node: path and data; an ACL list, which reached Apache in one
/// request) by twice that plus `RECORD_OVERHEAD_BYTES`, so a partial record
/// never holds more.
#[derive(Debug)]
pub struct SnapshotStreamDecoder {
    stage: Stage,
    tree: DataTree,
    sessions: BTreeMap<SessionId, i32>,
    acl_indexes: HashSet<i64>,
    saw_root: bool,
    buffer_bytes_max: usize,
    /// `feed`'s partial record.
    pending: Vec<u8>,
}

impl SnapshotStreamDecoder {
    pub fn new(tree_config: TreeConfig, buffer_bytes_max: usize) -> Self {
        SnapshotStreamDecoder {
            stage: Stage::SessionCount,
            tree: DataTree::empty_for_snapshot(tree_config),
            sessions: BTreeMap::new(),
            acl_indexes: HashSet::from([OPEN_UNSAFE_ACL_INDEX]),
            saw_root: false,
            buffer_bytes_max,
            pending: Vec::new(),
        }
    }

    /// True once the signature was read.
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Decodes whole records from the front of `buffer`; returns how many
    /// bytes they took (drop those, append more, call again). Stops after the
    /// signature: bytes after it are not looked at.
    pub fn decode(&mut self, buffer: &[u8]) -> Result<usize, WireError> {
        let mut consumed = 0;
        while self.stage != Stage::Done {
            match self.step(&buffer[consumed..])? {
                Decoded::Incomplete => break,
                Decoded::Complete { consumed: used, .. } => consumed += used,
            }
        }
        Ok(consumed)
    }

    /// Takes the next chunk of the stream.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<SnapshotFeed, WireError> {
        if self.stage == Stage::Done {
            return Ok(SnapshotFeed::Done { consumed: 0 });
        }
        if self.pending.is_empty() {
            let consumed = self.decode(chunk)?;
            if self.is_done() {
                return Ok(SnapshotFeed::Done { consumed });
            }
            self.pending.extend_from_slice(&chunk[consumed..]);
            return Ok(SnapshotFeed::NeedMore);
        }
        let held = self.pending.len();
        self.pending.extend_from_slice(chunk);
        let pending = std::mem::take(&mut self.pending);
        let consumed = self.decode(&pending)?;
        if self.is_done() {
            return Ok(SnapshotFeed::Done {
                consumed: consumed - held,
            });
        }
        self.pending = pending;
        self.pending.drain(..consumed);
        Ok(SnapshotFeed::NeedMore)
    }

    /// The tree and sessions, once the stream is done.
    pub fn finish(self) -> Result<NetworkSnapshot, WireError> {
        if !self.is_done() {
            return Err(WireError::malformed(
                "snapshot stream ended before its signature",
            ));
        }
        Ok(NetworkSnapshot {
            tree: self.tree,
            sessions: self.sessions,
        })
    }

    /// One record (a count, a session, an ACL list, a node, the signature).
    fn step(&mut self, buffer: &[u8]) -> Result<Decoded<()>, WireError> {
        let mut input = Decoder::new(buffer, self.buffer_bytes_max);
        match self.read_record(&mut input) {
            Ok(()) => Ok(Decoded::Complete {
                value: (),
                consumed: input.position(),
            }),
            Err(StepError::Jute(JuteError::Incomplete { needed })) => {
                let record_bytes_max = self
                    .buffer_bytes_max
                    .saturating_mul(2)
                    .saturating_add(RECORD_OVERHEAD_BYTES);
                let announced = buffer.len().saturating_add(needed);
                if announced > record_bytes_max {
                    return Err(WireError::BadLength {
                        what: "snapshot stream record",
                        length: announced as i64,
                        limit: record_bytes_max,
                    });
                }
                Ok(Decoded::Incomplete)
            }
            Err(StepError::Jute(JuteError::Malformed(reason))) => {
                Err(WireError::malformed(format!("snapshot stream: {reason}")))
            }
            Err(StepError::Wire(error)) => Err(error),
        }
    }

    /// Reads one record and applies it; on `Incomplete` nothing was applied.
    fn read_record(&mut self, input: &mut Decoder<'_>) -> Result<(), StepError> {
        match self.stage {
            Stage::SessionCount => {
                let remaining = read_count(input, "session count")?;
                self.stage = Stage::Sessions { remaining };
            }
            Stage::Sessions { remaining: 0 } => self.stage = Stage::AclCount,
            Stage::Sessions { remaining } => {
                let id = input.read_i64()?;
                let timeout_ms = input.read_i32()?;
                self.sessions.insert(SessionId(id), timeout_ms);
                self.stage = Stage::Sessions {
                    remaining: remaining - 1,
                };
            }
            Stage::AclCount => {
                let remaining = read_count(input, "ACL map size")?;
                self.stage = Stage::AclLists { remaining };
            }
            Stage::AclLists { remaining: 0 } => self.stage = Stage::Nodes,
            Stage::AclLists { remaining } => {
                let index = input.read_i64()?;
                // ReferenceCountedACLCache refuses a null list.
                let count = match input.read_vector_length()? {
                    Some(count) => count,
                    None => return Err(malformed(format!("ACL list {index} is null"))),
                };
                let mut acl = Vec::new();
                for _ in 0..count {
                    acl.push(Acl {
                        perms: input.read_i32()?,
                        id: Id::read(input)?,
                    });
                }
                self.tree
                    .load_snapshot_acl(index, acl)
                    .map_err(|error| malformed(error.to_string()))?;
                self.acl_indexes.insert(index);
                self.stage = Stage::AclLists {
                    remaining: remaining - 1,
                };
            }
            Stage::Nodes => {
                let path = input
                    .read_ustring()?
                    .ok_or_else(|| malformed("null node path"))?;
                if path == END_OF_NODES_PATH {
                    if !self.saw_root {
                        return Err(malformed("snapshot holds no root node"));
                    }
                    self.stage = Stage::Signature;
                    return Ok(());
                }
                let data = input.read_buffer()?;
                let acl = input.read_i64()?;
                let stat = StatPersisted::read(input)?;
                if !self.acl_indexes.contains(&acl) {
                    return Err(malformed(format!("node {path:?} uses unknown ACL {acl}")));
                }
                self.tree
                    .load_snapshot_node(&path, Znode::new(data, acl, stat))
                    .map_err(|error| malformed(error.to_string()))?;
                self.saw_root |= path.is_empty();
            }
            Stage::Signature => {
                let signature = input.read_ustring()?;
                if signature.as_deref() != Some(SNAPSHOT_SIGNATURE) {
                    return Err(malformed(format!(
                        "missing signature: got {signature:?} after the nodes"
                    )));
                }
                self.tree.finish_snapshot_load();
                self.stage = Stage::Done;
            }
            Stage::Done => {}
        }
        Ok(())
    }
}

/// A record that could not be read: out of bytes (wait), or refused.
enum StepError {
    Jute(JuteError),
    Wire(WireError),
}

impl From<JuteError> for StepError {
    fn from(error: JuteError) -> Self {
        StepError::Jute(error)
    }
}

fn malformed(reason: impl Into<String>) -> StepError {
    StepError::Wire(WireError::malformed(format!(
        "snapshot stream: {}",
        reason.into()
    )))
}

/// A count Apache writes from a collection's size: never negative.
fn read_count(input: &mut Decoder<'_>, what: &str) -> Result<usize, StepError> {
    let count = input.read_i32()?;
    usize::try_from(count).map_err(|_| malformed(format!("negative {what} {count}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zookeeper::jute::codec::{write_i32, write_i64, BUFFER_BYTES_MAX_DEFAULT};
    use crate::zookeeper::jute::{
        txn::{CreateTxn, DeleteTxn, SetDataTxn},
        OpCode, TxnBody, TxnEntry, TxnHeader,
    };

    fn sample_tree() -> (DataTree, BTreeMap<SessionId, i32>) {
        let mut tree = DataTree::new(TreeConfig::default());
        let mut notifications = Vec::new();
        tree.create_node(
            "/app",
            Some(b"v".to_vec()),
            &Acl::read_unsafe(),
            0,
            -1,
            crate::zookeeper::tree::Zxid(1),
            5,
            &mut notifications,
        )
        .unwrap();
        tree.create_node(
            "/app/eph",
            None,
            &Acl::open_unsafe(),
            0x77,
            -1,
            crate::zookeeper::tree::Zxid(2),
            6,
            &mut notifications,
        )
        .unwrap();
        let sessions = BTreeMap::from([(SessionId(0x77), 30_000), (SessionId(0x78), 4000)]);
        (tree, sessions)
    }

    fn decoder() -> SnapshotStreamDecoder {
        SnapshotStreamDecoder::new(TreeConfig::default(), BUFFER_BYTES_MAX_DEFAULT)
    }

    #[test]
    fn stream_round_trips_fed_a_byte_at_a_time() {
        let (tree, sessions) = sample_tree();
        let bytes = encode_snapshot_stream(&tree, &sessions);
        let mut decoder = decoder();
        let mut stream = bytes.clone();
        stream.extend_from_slice(b"next packet");
        let mut done_at = None;
        for (offset, byte) in stream.iter().enumerate() {
            if let SnapshotFeed::Done { consumed } = decoder.feed(&[*byte]).unwrap() {
                assert_eq!(consumed, 1);
                done_at = Some(offset + 1);
                break;
            }
        }
        assert_eq!(done_at, Some(bytes.len()));
        let snapshot = decoder.finish().unwrap();
        assert_eq!(snapshot.sessions, sessions);
        assert_eq!(snapshot.tree.node_count(), tree.node_count());
        assert_eq!(snapshot.tree.stat("/app/eph"), tree.stat("/app/eph"));
        assert_eq!(snapshot.tree.ephemerals(SessionId(0x77)).len(), 1);
        assert_eq!(
            encode_snapshot_stream(&snapshot.tree, &snapshot.sessions),
            bytes
        );
    }

    #[test]
    fn feed_reports_where_the_stream_ends_in_a_chunk() {
        let (tree, sessions) = sample_tree();
        let bytes = encode_snapshot_stream(&tree, &sessions);
        let mut stream = bytes.clone();
        stream.extend_from_slice(&[9; 20]);
        let mut decoder = decoder();
        let split = 37;
        assert_eq!(decoder.feed(&stream[..split]), Ok(SnapshotFeed::NeedMore));
        assert_eq!(
            decoder.feed(&stream[split..]),
            Ok(SnapshotFeed::Done {
                consumed: bytes.len() - split
            })
        );
    }

    #[test]
    fn stepwise_encoding_matches_one_shot() {
        let (tree, sessions) = sample_tree();
        let mut out = Vec::new();
        encode_snapshot_head(&mut out, &tree, &sessions);
        let mut cursor = tree.snapshot_cursor();
        let acls = head_acl_indexes(&tree);
        let mut rounds = 0;
        while encode_snapshot_nodes(&tree, &mut cursor, &mut out, 1, &acls) == SnapshotStep::More {
            rounds += 1;
        }
        assert!(rounds > 2);
        assert_eq!(out, encode_snapshot_stream(&tree, &sessions));
    }

    fn txn(zxid: i64, op: OpCode, body: TxnBody) -> TxnEntry {
        TxnEntry {
            header: TxnHeader {
                client_id: 0,
                cxid: 0,
                zxid,
                time: zxid,
                op: op.as_i32(),
            },
            body,
            digest: None,
        }
    }

    /// What the leader's prepare would log next for `/n<i>`: a create below
    /// it, a setData of it or its delete (with the parent's next cversion, as
    /// prepare fills it in).
    fn next_txn(leader: &DataTree, zxid: i64, i: usize) -> TxnEntry {
        let path = format!("/n{}", i % 40);
        let Some(stat) = leader.stat(&path) else {
            let parent_c_version = leader.stat("/").expect("root").cversion + 1;
            return txn(
                zxid,
                OpCode::Create,
                TxnBody::Create(CreateTxn {
                    path,
                    data: Some(vec![i as u8; 30]),
                    acl: Acl::open_unsafe(),
                    ephemeral: false,
                    parent_c_version,
                }),
            );
        };
        match i % 3 {
            0 if stat.num_children == 0 => {
                txn(zxid, OpCode::Delete, TxnBody::Delete(DeleteTxn { path }))
            }
            1 => {
                let child = format!("{path}/c{zxid}");
                txn(
                    zxid,
                    OpCode::Create,
                    TxnBody::Create(CreateTxn {
                        path: child,
                        data: None,
                        acl: Acl::open_unsafe(),
                        ephemeral: false,
                        parent_c_version: stat.cversion + 1,
                    }),
                )
            }
            _ => txn(
                zxid,
                OpCode::SetData,
                TxnBody::SetData(SetDataTxn {
                    path,
                    data: Some(vec![zxid as u8; 12]),
                    version: stat.version + 1,
                }),
            ),
        }
    }

    /// A leader streams a snapshot a step at a time while txns keep applying
    /// (the stream is fuzzy, as Apache's LearnerHandler's); the learner loads
    /// it at the SNAP zxid and replays every txn after it: both trees end equal.
    #[test]
    fn a_stream_walked_while_txns_apply_converges_after_replay() {
        let mut leader = DataTree::new(TreeConfig::default());
        let mut zxid = 0;
        for i in 0..40 {
            zxid += 1;
            let entry = next_txn(&leader, zxid, i);
            leader.apply(&entry);
        }
        let snap_zxid = leader.last_processed_zxid();
        let mut stream = Vec::new();
        encode_snapshot_head(&mut stream, &leader, &BTreeMap::new());
        let acls = head_acl_indexes(&leader);
        let mut cursor = leader.snapshot_cursor();
        let mut after_snap = Vec::new();
        let mut i = 7;
        while encode_snapshot_nodes(&leader, &mut cursor, &mut stream, 40, &acls)
            == SnapshotStep::More
        {
            for _ in 0..3 {
                zxid += 1;
                i += 5;
                let entry = next_txn(&leader, zxid, i);
                leader.apply(&entry);
                after_snap.push(entry);
            }
        }
        assert!(after_snap.len() > 30, "txns ran during the walk");
        let mut decoder = decoder();
        assert_eq!(
            decoder.feed(&stream),
            Ok(SnapshotFeed::Done {
                consumed: stream.len()
            })
        );
        let mut learner = decoder.finish().expect("a whole stream").tree;
        learner.set_last_processed_zxid(snap_zxid);
        learner.skip_txn_digests_of_sync();
        for entry in &after_snap {
            learner.apply(entry);
        }
        assert_eq!(learner.digest(), leader.digest());
        assert_eq!(learner.digest(), learner.digest_from_scratch());
        let paths = |tree: &DataTree| {
            tree.nodes_in_snapshot_order()
                .into_iter()
                .map(|(path, node)| (path, node.stat.clone(), node.data.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(paths(&learner), paths(&leader));
        assert_eq!(learner.digest_mismatches_count(), 0);
    }

    #[test]
    fn a_node_with_an_acl_newer_than_the_head_stops_the_stream() {
        let (mut tree, sessions) = sample_tree();
        let mut out = Vec::new();
        encode_snapshot_head(&mut out, &tree, &sessions);
        let acls = head_acl_indexes(&tree);
        let mut cursor = tree.snapshot_cursor();
        let mut notifications = Vec::new();
        tree.create_node(
            "/b",
            None,
            &Acl::creator_all(),
            0,
            -1,
            crate::zookeeper::tree::Zxid(9),
            9,
            &mut notifications,
        )
        .unwrap();
        let step = encode_snapshot_nodes(&tree, &mut cursor, &mut out, usize::MAX, &acls);
        assert!(
            matches!(&step, SnapshotStep::UnknownAcl { path, .. } if path == "/b"),
            "{step:?}"
        );
    }

    fn head(sessions: i32, acl_lists: i32) -> Vec<u8> {
        let mut out = Vec::new();
        write_i32(&mut out, sessions);
        write_i32(&mut out, acl_lists);
        out
    }

    fn node(out: &mut Vec<u8>, path: &str, acl: i64) {
        write_ustring(out, Some(path));
        write_i32(out, -1);
        write_i64(out, acl);
        StatPersisted::default().write(out);
    }

    fn decode_all(bytes: &[u8]) -> Result<usize, WireError> {
        decoder().decode(bytes)
    }

    #[test]
    fn bad_streams_are_refused() {
        // Missing parent.
        let mut bytes = head(0, 0);
        node(&mut bytes, "", -1);
        node(&mut bytes, "/a/b", -1);
        assert!(matches!(decode_all(&bytes), Err(WireError::Malformed(_))));
        // Unknown ACL index.
        let mut bytes = head(0, 0);
        node(&mut bytes, "", 5);
        assert!(decode_all(&bytes).is_err());
        // No root before the end marker.
        let mut bytes = head(0, 0);
        write_ustring(&mut bytes, Some("/"));
        assert!(decode_all(&bytes).is_err());
        // A wrong signature.
        let mut bytes = head(0, 0);
        node(&mut bytes, "", -1);
        write_ustring(&mut bytes, Some("/"));
        write_ustring(&mut bytes, Some("BenWasNotHere"));
        assert!(decode_all(&bytes).is_err());
        // Negative counts and a null ACL list.
        assert!(decode_all(&head(-1, 0)).is_err());
        assert!(decode_all(&head(0, -1)).is_err());
        let mut bytes = head(0, 1);
        write_i64(&mut bytes, 1);
        write_i32(&mut bytes, -1);
        assert!(decode_all(&bytes).is_err());
        // An over-long path is refused from its length alone.
        let mut bytes = head(0, 0);
        write_i32(&mut bytes, BUFFER_BYTES_MAX_DEFAULT as i32 + 1);
        assert!(decode_all(&bytes).is_err());
    }

    #[test]
    fn finish_before_the_signature_is_an_error() {
        let mut decoder = decoder();
        let mut bytes = head(0, 0);
        node(&mut bytes, "", -1);
        write_ustring(&mut bytes, Some("/"));
        assert_eq!(decoder.decode(&bytes), Ok(bytes.len()));
        assert!(!decoder.is_done());
        assert!(decoder.finish().is_err());
    }

    #[test]
    fn huge_counts_allocate_nothing_up_front() {
        // Two billion sessions announced, none sent: waits, holding nothing.
        let mut decoder = decoder();
        assert_eq!(decoder.decode(&head(i32::MAX, 0)[..4]), Ok(4));
        assert!(!decoder.is_done());
        let mut bytes = head(0, 1);
        write_i64(&mut bytes, 1);
        write_i32(&mut bytes, i32::MAX);
        assert_eq!(decoder_decode_fresh(&bytes), Ok(8));
    }

    fn decoder_decode_fresh(bytes: &[u8]) -> Result<usize, WireError> {
        decoder().decode(bytes)
    }

    #[test]
    fn an_endless_acl_list_is_cut_off() {
        let mut bytes = head(0, 1);
        write_i64(&mut bytes, 1);
        write_i32(&mut bytes, i32::MAX);
        for _ in 0..200 {
            Acl::new(1, Id::anyone()).write(&mut bytes);
        }
        let mut decoder = SnapshotStreamDecoder::new(TreeConfig::default(), 64);
        assert!(matches!(
            decoder.feed(&bytes),
            Err(WireError::BadLength { .. })
        ));
    }
}
