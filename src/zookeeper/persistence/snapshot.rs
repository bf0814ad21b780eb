//! Snapshot files as Apache 3.9 writes and reads them (`FileSnap`, `SnapStream`,
//! `SerializeUtils.serializeSnapshot`, `DataTree.serialize`), uncompressed as
//! 3.9's default `zookeeper.snapshot.compression.method` leaves them:
//!
//! ```text
//! FileHeader            magic "ZKSN", version 2, dbid -1
//! int count             sessions, then count x (long id, int timeout_ms)
//! int count             ACL cache, then count x (long index, vector<ACL>)
//! (ustring path, DataNode)*   depth first from the root, written as ""
//!                       DataNode = buffer data, long acl index, StatPersisted
//! ustring "/"           end of nodes
//! long adler32, ustring "/"   the seal: checksum of every byte before it
//! ZxidDigest            long zxid, int version, long digest (3.6+)
//! long adler32, ustring "/"
//! long lastProcessedZxid      (3.9.3+, zookeeper.serializeLastProcessedZxid.enabled)
//! long adler32, ustring "/"
//! ```
//!
//! Each seal's checksum covers the whole stream up to it, earlier seals
//! included. The ZxidDigest is the tree digest when the last node was written
//! and the zxid of the last txn applied by then (a fuzzy snapshot's nodes are
//! older or newer than that; replay up to that zxid must reach the digest);
//! zxid 0 means none. With `zookeeper.digest.enabled=false` the section is
//! neither written nor read, as in Apache. Readers of older snapshots meet the
//! end of the file where a later section would start; that is accepted, as
//! Apache accepts it.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tracing::info;

use super::adler32::Adler32;
use super::files::{snapshot_file_name, sync_dir, version_dir, zxid_from_name, SNAPSHOT_PREFIX};
use super::log_format::{snapshot_header_bytes, FILE_HEADER_BYTES, SNAPSHOT_MAGIC};
use super::PersistenceError;
use crate::zookeeper::jute::codec::{write_buffer, write_i32, write_i64, write_ustring, Jute};
use crate::zookeeper::jute::{Acl, Id, StatPersisted};
use crate::zookeeper::tree::{DataTree, SessionId, TreeConfig, Znode, Zxid, ZxidDigest};

/// `ZxidDigest.deserialize`: versions before 2 wrote the digest as a hex
/// string; this bounds its length.
const OLD_DIGEST_STRING_BYTES_MAX: usize = 64;
/// The path that ends the node list and every seal.
const END_PATH: &str = "/";
/// `SnapStream.isValidCheckedStream`: header plus seal is at least this long.
const SNAPSHOT_BYTES_MIN: u64 = 10;
const IO_BUFFER_BYTES: usize = 256 * 1024;
/// A durable snapshot being written is fsynced every this many bytes, so its
/// final fsync never has to push hundreds of megabytes at once: the txn log's
/// fsyncs on the same disk would wait behind it.
const SYNC_EVERY_BYTES: u64 = 4 * 1024 * 1024;

/// A snapshot read back.
#[derive(Debug)]
pub struct SnapshotContents {
    pub tree: DataTree,
    pub sessions: BTreeMap<SessionId, i32>,
    /// The zxid in the file name: the tree holds every txn up to it (Apache
    /// takes the name, not the optional `lastProcessedZxid` section).
    pub zxid: Zxid,
}

/// Writes `snapshot.<hex last_zxid>` into `<data_dir>/version-2` and returns its
/// path, in one go (start-up, tests); a running server streams its snapshots
/// through `SnapshotFile` with the `encode_*` pieces instead.
pub fn write_snapshot(
    data_dir: &Path,
    tree: &DataTree,
    sessions: &BTreeMap<SessionId, i32>,
    last_zxid: Zxid,
) -> Result<PathBuf, PersistenceError> {
    let mut file = SnapshotFile::create(data_dir, last_zxid, true)?;
    let mut record = Vec::new();
    encode_head(&mut record, sessions, &tree.acl_cache().entries());
    file.write(&record)?;
    let mut cursor = tree.snapshot_cursor();
    let mut failed = None;
    while !cursor.is_done() {
        tree.snapshot_step(&mut cursor, |path, node| {
            record.clear();
            encode_node(&mut record, path, node);
            if let Err(error) = file.write(&record) {
                failed = Some(error);
                return false;
            }
            true
        });
        if let Some(error) = failed.take() {
            file.abandon();
            return Err(error);
        }
    }
    record.clear();
    encode_end_of_nodes(&mut record);
    file.write(&record)?;
    let path = file.finish(snapshot_digest(tree))?;
    info!(path = %path.display(), zxid = %last_zxid, nodes = tree.node_count(), "wrote snapshot");
    Ok(path)
}

/// The digest section a snapshot of `tree`, written up to now, ends with
/// (none when digests are off).
pub fn snapshot_digest(tree: &DataTree) -> Option<ZxidDigest> {
    tree.config()
        .tree_digest_enabled
        .then(|| tree.zxid_digest())
}

/// The head of a snapshot stream: the file header, the sessions and the ACL map.
pub fn encode_head(
    out: &mut Vec<u8>,
    sessions: &BTreeMap<SessionId, i32>,
    acl_entries: &[(i64, &[Acl])],
) {
    out.extend_from_slice(&snapshot_header_bytes());
    encode_sessions_and_acls(out, sessions, acl_entries);
}

/// The sessions and the ACL map: how both a snapshot file (after its header)
/// and a leader's SNAP stream (`quorum::wire::snapshot_stream`) begin.
pub fn encode_sessions_and_acls(
    out: &mut Vec<u8>,
    sessions: &BTreeMap<SessionId, i32>,
    acl_entries: &[(i64, &[Acl])],
) {
    write_i32(out, count_as_i32(sessions.len()));
    for (session, timeout_ms) in sessions {
        write_i64(out, session.0);
        write_i32(out, *timeout_ms);
    }
    write_i32(out, count_as_i32(acl_entries.len()));
    for (index, acl) in acl_entries {
        write_i64(out, *index);
        write_i32(out, count_as_i32(acl.len()));
        for entry in acl.iter() {
            entry.write(out);
        }
    }
}

/// One node of the node list (`path` as written: "" for the root).
pub fn encode_node(out: &mut Vec<u8>, path: &str, node: &Znode) {
    write_ustring(out, Some(path));
    write_buffer(out, node.data.as_deref());
    write_i64(out, node.acl);
    node.stat.write(out);
}

/// The "/" that ends the node list.
pub fn encode_end_of_nodes(out: &mut Vec<u8>) {
    write_ustring(out, Some(END_PATH));
}

/// A snapshot file being written: under a name no reader takes for a snapshot
/// (a leading dot: `Util.getZxidFromName` sees no "snapshot" prefix, so neither
/// Apache nor keel ever mistakes a half-written file for one), sealed and
/// renamed by `finish`, so it appears complete or not at all.
///
/// A `durable` snapshot is fsynced (with its directory) before `finish`
/// returns. The snapshots a running server takes every `snapCount` txns are
/// not, exactly as Apache's (`takeSnapshot(false)`: a plain
/// `FileOutputStream`): acknowledged writes are durable in the txn log, and
/// start-up falls back to an older snapshot, with the logs after it, should the
/// newest not read back whole. Forcing them out would make every txn log fsync
/// on the same disk wait behind tens of megabytes of snapshot.
pub struct SnapshotFile {
    snapshot_dir: PathBuf,
    path: PathBuf,
    temporary: PathBuf,
    last_zxid: Zxid,
    out: SealedWriter<BufWriter<File>>,
    durable: bool,
    unsynced_bytes: u64,
}

impl SnapshotFile {
    pub fn create(
        data_dir: &Path,
        last_zxid: Zxid,
        durable: bool,
    ) -> Result<SnapshotFile, PersistenceError> {
        let snapshot_dir = version_dir(data_dir)?;
        let name = snapshot_file_name(last_zxid);
        let path = snapshot_dir.join(&name);
        let temporary = snapshot_dir.join(format!(".{name}.tmp"));
        let file =
            File::create(&temporary).map_err(|source| PersistenceError::io(&temporary, source))?;
        Ok(SnapshotFile {
            snapshot_dir,
            path,
            temporary,
            last_zxid,
            out: SealedWriter::new(BufWriter::with_capacity(IO_BUFFER_BYTES, file)),
            durable,
            unsynced_bytes: 0,
        })
    }

    /// Appends stream bytes (`encode_head`, then `encode_node`s, then
    /// `encode_end_of_nodes`).
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), PersistenceError> {
        self.out
            .write(bytes)
            .map_err(|source| PersistenceError::io(&self.temporary, source))?;
        self.unsynced_bytes += bytes.len() as u64;
        if self.durable && self.unsynced_bytes >= SYNC_EVERY_BYTES {
            self.unsynced_bytes = 0;
            self.out
                .inner
                .flush()
                .and_then(|()| self.out.inner.get_ref().sync_data())
                .map_err(|source| PersistenceError::io(&self.temporary, source))?;
        }
        Ok(())
    }

    /// Seals the node list, writes the digest section (when `digest` is
    /// given: `snapshot_digest` of the tree once the last node is encoded) and
    /// the lastProcessedZxid section (each sealed), fsyncs, renames to
    /// `snapshot.<zxid>` and fsyncs the directory. Returns the snapshot's path.
    pub fn finish(mut self, digest: Option<ZxidDigest>) -> Result<PathBuf, PersistenceError> {
        let last_zxid = self.last_zxid;
        let written = (|| {
            let out = &mut self.out;
            out.seal()?;
            let mut record = Vec::new();
            if let Some(digest) = digest {
                write_i64(&mut record, digest.zxid.0);
                write_i32(&mut record, digest.version);
                write_i64(&mut record, digest.digest);
                out.write(&record)?;
                out.seal()?;
                record.clear();
            }
            write_i64(&mut record, last_zxid.0);
            out.write(&record)?;
            out.seal()
        })();
        let temporary = self.temporary.clone();
        let durable = self.durable;
        let written = written.and_then(|()| self.out.finish()).and_then(|file| {
            if durable {
                file.sync_all()
            } else {
                Ok(())
            }
        });
        if let Err(source) = written {
            let _ = fs::remove_file(&temporary);
            return Err(PersistenceError::io(&temporary, source));
        }
        fs::rename(&temporary, &self.path)
            .map_err(|source| PersistenceError::io(&self.path, source))?;
        if durable {
            sync_dir(&self.snapshot_dir)?;
        }
        Ok(self.path)
    }

    /// Gives up: the temporary file goes.
    pub fn abandon(self) {
        drop(self.out);
        let _ = fs::remove_file(&self.temporary);
    }
}

fn count_as_i32(count: usize) -> i32 {
    i32::try_from(count).expect("fewer than 2^31 sessions, ACLs and nodes")
}

/// Writes bytes while keeping the Adler-32 of everything written
/// (`CheckedOutputStream`), and seals with it (`SnapStream.sealStream`).
struct SealedWriter<W: Write> {
    inner: W,
    checksum: Adler32,
}

impl<W: Write> SealedWriter<W> {
    fn new(inner: W) -> Self {
        SealedWriter {
            inner,
            checksum: Adler32::new(),
        }
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.checksum.update(bytes);
        self.inner.write_all(bytes)
    }

    fn seal(&mut self) -> io::Result<()> {
        let mut seal = Vec::with_capacity(13);
        write_i64(&mut seal, self.checksum.value());
        write_ustring(&mut seal, Some(END_PATH));
        self.write(&seal)
    }
}

impl SealedWriter<BufWriter<File>> {
    fn finish(self) -> io::Result<File> {
        self.inner.into_inner().map_err(|error| error.into_error())
    }
}

/// Reads and checks one snapshot file: the cheap tail check Apache makes
/// first (`isValidCheckedStream`), then every record and every seal.
pub fn read_snapshot(
    path: &Path,
    tree_config: TreeConfig,
) -> Result<SnapshotContents, PersistenceError> {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let zxid = zxid_from_name(&name, SNAPSHOT_PREFIX)
        .ok_or_else(|| PersistenceError::corrupt(path, 0, "not a snapshot file name"))?;
    if name.ends_with(".gz") || name.ends_with(".snappy") {
        return Err(PersistenceError::corrupt(
            path,
            0,
            "compressed snapshots (gz, snappy) are not supported; \
             set zookeeper.snapshot.compression.method empty on Apache",
        ));
    }
    let mut file = File::open(path).map_err(|source| PersistenceError::io(path, source))?;
    let file_length = check_tail(path, &mut file)?;
    let mut input = SnapshotInput {
        path: path.to_path_buf(),
        reader: BufReader::with_capacity(IO_BUFFER_BYTES, file),
        position: 0,
        checksum: Adler32::new(),
        reached_end: false,
        file_length,
    };
    let digest_enabled = tree_config.tree_digest_enabled;
    let (mut tree, sessions) = read_contents(&mut input, tree_config)?;
    input.check_seal()?;
    let digest = read_optional_sections(&mut input, digest_enabled)?;
    tree.set_last_processed_zxid(zxid);
    if let Some(digest) = digest {
        // Compared at once if it names the snapshot's own zxid, else once
        // replay reaches its zxid.
        tree.expect_snapshot_digest(digest);
    }
    Ok(SnapshotContents {
        tree,
        sessions,
        zxid,
    })
}

/// `SnapStream.isValidSnapshot` for uncompressed snapshots: a snapshot name and
/// a complete final seal. Cheap; `read_snapshot` checks everything else.
pub fn is_valid_snapshot(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    if zxid_from_name(&name, SNAPSHOT_PREFIX).is_none() {
        return false;
    }
    File::open(path)
        .map_err(|source| PersistenceError::io(path, source))
        .and_then(|mut file| check_tail(path, &mut file))
        .is_ok()
}

/// The last five bytes of an uncompressed snapshot are the seal's "/" (int 1,
/// byte '/'); a snapshot cut short anywhere fails this without a full read.
/// Returns the file's length.
fn check_tail(path: &Path, file: &mut File) -> Result<u64, PersistenceError> {
    let io_error = |source| PersistenceError::io(path, source);
    let length = file.metadata().map_err(io_error)?.len();
    if length < SNAPSHOT_BYTES_MIN.max(FILE_HEADER_BYTES) {
        return Err(PersistenceError::corrupt(
            path,
            0,
            format!("only {length} bytes long"),
        ));
    }
    let mut tail = [0u8; 5];
    file.seek(SeekFrom::Start(length - 5))
        .and_then(|_| file.read_exact(&mut tail))
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .map_err(io_error)?;
    if tail != [0, 0, 0, 1, b'/'] {
        return Err(PersistenceError::corrupt(
            path,
            length - 5,
            "does not end with a seal (incomplete snapshot)",
        ));
    }
    Ok(length)
}

fn read_contents(
    input: &mut SnapshotInput,
    tree_config: TreeConfig,
) -> Result<(DataTree, BTreeMap<SessionId, i32>), PersistenceError> {
    let magic = input.read_i32()?;
    let _version = input.read_i32()?;
    let _dbid = input.read_i64()?;
    if magic != SNAPSHOT_MAGIC {
        return Err(input.corrupt_at(
            0,
            format!("mismatching magic header {magic:#x} (expected {SNAPSHOT_MAGIC:#x})"),
        ));
    }

    let mut sessions = BTreeMap::new();
    let session_count = input.read_count("session count")?;
    for _ in 0..session_count {
        let id = input.read_i64()?;
        let timeout_ms = input.read_i32()?;
        sessions.insert(SessionId(id), timeout_ms);
    }

    let mut tree = DataTree::empty_for_snapshot(tree_config);
    let acl_count = input.read_count("ACL map size")?;
    for _ in 0..acl_count {
        let offset = input.position;
        let index = input.read_i64()?;
        let entries = input.read_count("ACL list length")?;
        let mut acl = Vec::new();
        for _ in 0..entries {
            let perms = input.read_i32()?;
            let scheme = input.read_string()?;
            let id = input.read_string()?;
            acl.push(Acl::new(perms, Id { scheme, id }));
        }
        tree.load_snapshot_acl(index, acl)
            .map_err(|error| input.corrupt_at(offset, error.to_string()))?;
    }

    let mut saw_root = false;
    loop {
        let offset = input.position;
        let path = input.read_string()?;
        if path == END_PATH {
            break;
        }
        let data = input.read_buffer()?;
        let acl = input.read_i64()?;
        let stat = input.read_stat()?;
        saw_root |= path.is_empty();
        // A node whose ACL index the map lacks is refused here rather than
        // served (Apache would fail the first read of it).
        tree.load_snapshot_node(&path, Znode::new(data, acl, stat))
            .map_err(|error| input.corrupt_at(offset, error.to_string()))?;
    }
    if !saw_root {
        return Err(input.corrupt_at(input.position, "snapshot holds no root node"));
    }
    tree.finish_snapshot_load();
    Ok((tree, sessions))
}

/// The digest and lastProcessedZxid sections of 3.6+ and 3.9.3+: absent in
/// older snapshots (the file ends), and each followed by its own seal. The
/// digest section is only looked for with digests on, as Apache looks.
/// Returns the digest read.
fn read_optional_sections(
    input: &mut SnapshotInput,
    digest_enabled: bool,
) -> Result<Option<ZxidDigest>, PersistenceError> {
    let mut digest = None;
    if digest_enabled {
        let digest_read = input.optional(|input| {
            let zxid = Zxid(input.read_i64()?);
            let version = input.read_i32()?;
            let value = if version < 2 {
                // Digest versions before 2 stored the digest as a hex string.
                let offset = input.position;
                let text = input.read_string()?;
                if text.len() > OLD_DIGEST_STRING_BYTES_MAX {
                    return Err(input.corrupt_at(offset, "overlong digest string"));
                }
                i64::from_str_radix(&text, 16).unwrap_or_default()
            } else {
                input.read_i64()?
            };
            digest = Some(ZxidDigest {
                zxid,
                version,
                digest: value,
            });
            Ok(())
        })?;
        if !digest_read {
            return Ok(None);
        }
        input.check_seal()?;
    }
    if input.optional(|input| input.read_i64().map(|_| ()))? {
        input.check_seal()?;
    }
    Ok(digest)
}

/// Reads jute primitives from a snapshot, keeping the Adler-32 of every byte
/// consumed (`CheckedInputStream`) and the offset for error messages.
struct SnapshotInput {
    path: PathBuf,
    reader: BufReader<File>,
    position: u64,
    checksum: Adler32,
    /// Set once a read met the end of the file.
    reached_end: bool,
    file_length: u64,
}

impl SnapshotInput {
    fn corrupt_at(&self, offset: u64, reason: impl Into<String>) -> PersistenceError {
        PersistenceError::corrupt(&self.path, offset, reason)
    }

    fn read_exact(&mut self, buffer: &mut [u8]) -> Result<(), PersistenceError> {
        match self.reader.read_exact(buffer) {
            Ok(()) => {
                self.checksum.update(buffer);
                self.position += buffer.len() as u64;
                Ok(())
            }
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                self.reached_end = true;
                Err(self.corrupt_at(self.position, "unexpected end of file"))
            }
            Err(source) => Err(PersistenceError::io(&self.path, source)),
        }
    }

    fn read_i32(&mut self) -> Result<i32, PersistenceError> {
        let mut bytes = [0u8; 4];
        self.read_exact(&mut bytes)?;
        Ok(i32::from_be_bytes(bytes))
    }

    fn read_i64(&mut self) -> Result<i64, PersistenceError> {
        let mut bytes = [0u8; 8];
        self.read_exact(&mut bytes)?;
        Ok(i64::from_be_bytes(bytes))
    }

    fn read_count(&mut self, what: &str) -> Result<usize, PersistenceError> {
        let offset = self.position;
        let count = self.read_i32()?;
        usize::try_from(count)
            .map_err(|_| self.corrupt_at(offset, format!("negative {what} {count}")))
    }

    /// A jute buffer; `None` for length -1 (null data).
    fn read_buffer(&mut self) -> Result<Option<Vec<u8>>, PersistenceError> {
        let offset = self.position;
        let length = self.read_i32()?;
        if length == -1 {
            return Ok(None);
        }
        // Bounded by what the file still holds rather than by jute.maxbuffer,
        // so a snapshot Apache wrote under a raised limit still reads, and a
        // garbled length allocates nothing.
        if length < 0 || length as u64 > self.file_length - self.position {
            return Err(self.corrupt_at(offset, format!("unreasonable length {length}")));
        }
        let mut bytes = vec![0u8; length as usize];
        self.read_exact(&mut bytes)?;
        Ok(Some(bytes))
    }

    /// A jute ustring. Null cannot be a path or an ACL part Apache wrote.
    fn read_string(&mut self) -> Result<String, PersistenceError> {
        let offset = self.position;
        match self.read_buffer()? {
            Some(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            None => Err(self.corrupt_at(offset, "null string")),
        }
    }

    fn read_stat(&mut self) -> Result<StatPersisted, PersistenceError> {
        Ok(StatPersisted {
            czxid: self.read_i64()?,
            mzxid: self.read_i64()?,
            ctime: self.read_i64()?,
            mtime: self.read_i64()?,
            version: self.read_i32()?,
            cversion: self.read_i32()?,
            aversion: self.read_i32()?,
            ephemeral_owner: self.read_i64()?,
            pzxid: self.read_i64()?,
        })
    }

    /// `SnapStream.checkSealIntegrity`: the checksum of everything read so far,
    /// then "/".
    fn check_seal(&mut self) -> Result<(), PersistenceError> {
        let offset = self.position;
        let expected = self.checksum.value();
        let stored = self.read_i64()?;
        let _end_path = self.read_string()?;
        if stored != expected {
            return Err(self.corrupt_at(
                offset,
                format!("checksum mismatch: stored {stored:#x}, computed {expected:#x}"),
            ));
        }
        Ok(())
    }

    /// Runs `read` for a section that may be absent: false if the file ends
    /// right where it would start (or inside it, as Apache's EOF handling
    /// allows), true once it was read.
    fn optional(
        &mut self,
        read: impl FnOnce(&mut SnapshotInput) -> Result<(), PersistenceError>,
    ) -> Result<bool, PersistenceError> {
        match read(self) {
            Ok(()) => Ok(true),
            Err(_) if self.reached_end => Ok(false),
            Err(other) => Err(other),
        }
    }
}
