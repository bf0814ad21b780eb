//! Apache's tree digest (3.6+, on by default in 3.9): one CRC-32 per znode,
//! summed into a wrapping 64-bit value for the whole tree and kept up to date
//! on every change, so that replicas (and a server replaying its own log) can
//! tell after each txn whether their trees agree. Every txn carries the digest
//! its tree should have once the txn is applied; snapshots end with one.
//!
//! Per node, `DigestCalculator.calculateDigest` (digest version 2): the IEEE
//! CRC-32 (`java.util.zip.CRC32`) of the path (the root as ""), the data (null
//! and empty alike add nothing) and 60 bytes of Stat, big-endian, in this
//! order: czxid, mzxid, pzxid, ctime, mtime (longs), version, cversion,
//! aversion (ints), ephemeralOwner (long). Nodes under "/zookeeper/" count 0
//! ("/zookeeper" itself counts). The tree's digest is the wrapping sum of its
//! nodes' (`AdHash` in `NodeHashMapImpl`).
//!
//! A Stat change need not read the data again: CRC-32 is affine, so two
//! messages of one length have `crc(a) ^ crc(b) == crc(a ^ b) ^ crc(zeros)`,
//! and a node's new digest is its old one with the CRC of the Stat bytes that
//! changed folded in.

use super::ids::Zxid;
use crate::zookeeper::jute::txn::TxnDigest;
use crate::zookeeper::jute::StatPersisted;

/// `DigestCalculator.DIGEST_VERSION`: the version every TxnDigest and
/// snapshot digest keel writes carries, and the only one it compares.
pub const TREE_DIGEST_VERSION: i32 = 2;

/// Bytes of Stat a node digest covers.
pub const DIGEST_STAT_BYTES: usize = 60;

/// `ZooDefs.ZOOKEEPER_NODE_SUBTREE`: Apache leaves the nodes below it out (the
/// quota nodes are updated locally on each server).
const UNDIGESTED_SUBTREE: &str = "/zookeeper/";

/// The CRC-32 of `DIGEST_STAT_BYTES` zero bytes (checked by a test).
const ZERO_STAT_CRC: u32 = 0x0412_8908;

/// Whether a node at `path` counts towards the tree digest.
pub fn is_digested(path: &str) -> bool {
    !path.starts_with(UNDIGESTED_SUBTREE)
}

/// The Stat bytes a node digest covers, in Apache's order (not StatPersisted's:
/// pzxid comes third).
pub fn digest_stat_bytes(stat: &StatPersisted) -> [u8; DIGEST_STAT_BYTES] {
    let mut bytes = [0u8; DIGEST_STAT_BYTES];
    let longs = [stat.czxid, stat.mzxid, stat.pzxid, stat.ctime, stat.mtime];
    for (index, value) in longs.iter().enumerate() {
        bytes[index * 8..index * 8 + 8].copy_from_slice(&value.to_be_bytes());
    }
    let ints = [stat.version, stat.cversion, stat.aversion];
    for (index, value) in ints.iter().enumerate() {
        bytes[40 + index * 4..44 + index * 4].copy_from_slice(&value.to_be_bytes());
    }
    bytes[52..60].copy_from_slice(&stat.ephemeral_owner.to_be_bytes());
    bytes
}

/// `DigestCalculator.calculateDigest(path, data, stat)`. `path` is the node's
/// path, "/" or "" for the root.
pub fn node_digest(path: &str, data: Option<&[u8]>, stat: &StatPersisted) -> u32 {
    if !is_digested(path) {
        return 0;
    }
    let path = if path == "/" { "" } else { path };
    let mut crc = crc32fast::Hasher::new();
    crc.update(path.as_bytes());
    if let Some(data) = data {
        crc.update(data);
    }
    crc.update(&digest_stat_bytes(stat));
    crc.finalize()
}

/// The digest of the node at `path` whose digest was `digest` with Stat
/// `before`, once its Stat is `after` (data unchanged). Costs one CRC of 60
/// bytes whatever the data's size.
pub fn node_digest_after_stat_change(
    path: &str,
    digest: u32,
    before: &StatPersisted,
    after: &StatPersisted,
) -> u32 {
    if !is_digested(path) {
        return 0;
    }
    let before = digest_stat_bytes(before);
    let mut changed = digest_stat_bytes(after);
    for (byte, old) in changed.iter_mut().zip(before) {
        *byte ^= old;
    }
    digest ^ crc32fast::hash(&changed) ^ ZERO_STAT_CRC
}

/// The tree digest with one node's digest replaced: Apache's
/// `preChange`/`postChange` pair (remove the old digest, add the new).
pub fn replace_node_digest(tree_digest: i64, old: u32, new: u32) -> i64 {
    tree_digest
        .wrapping_sub(i64::from(old))
        .wrapping_add(i64::from(new))
}

/// `DataTree.ZxidDigest`: a tree digest and the zxid of the last txn the tree
/// had applied when it was taken. Snapshots end with one; zxid 0 means none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZxidDigest {
    pub zxid: Zxid,
    pub version: i32,
    pub digest: i64,
}

impl ZxidDigest {
    /// What Apache writes when it has no digest yet (a fresh tree).
    pub fn empty() -> ZxidDigest {
        ZxidDigest {
            zxid: Zxid(0),
            version: TREE_DIGEST_VERSION,
            digest: 0,
        }
    }
}

/// Apache's `DataTree.compareDigest` and `compareSnapshotDigests`: what is
/// compared after each txn, and what a mismatch costs. A mismatch is counted
/// and logged, never more: Apache neither stops nor resyncs on one.
#[derive(Debug, Clone, Default)]
pub struct DigestAudit {
    /// `digestFromLoadedSnapshot`: set while the tree is a fuzzy snapshot
    /// plus part of the replay; txn digests are not compared meanwhile.
    snapshot_digest: Option<ZxidDigest>,
    mismatches: u64,
    /// Txns seen past the snapshot digest's zxid without meeting it.
    snapshot_txn_missing: u64,
    /// Txns whose digest had a version other than ours.
    version_skipped: u64,
    /// After a streamed (fuzzy) snapshot: txns through this zxid are replays
    /// over a tree that may already hold their effects; not compared.
    fuzzy_txns_through: Option<Zxid>,
}

/// The bound of `fuzzy_txns_through` before the learner knows the real one.
const FUZZY_UNBOUNDED: Zxid = Zxid(i64::MAX);

/// Logs a recurring condition on its 1st, 2nd, 4th, 8th... occurrence: a
/// rate limit that needs no clock (Apache's `RateLogger` uses one).
fn worth_logging(occurrences: u64) -> bool {
    occurrences.is_power_of_two()
}

impl DigestAudit {
    pub fn mismatches_count(&self) -> u64 {
        self.mismatches
    }

    /// Whether a loaded snapshot's digest still waits for its txn.
    pub fn awaits_snapshot_digest(&self) -> bool {
        self.snapshot_digest.is_some()
    }

    /// `deserializeZxidDigest`: a snapshot named `snapshot_zxid` recorded
    /// `recorded`. Zxid 0 is no digest; one older than the snapshot itself
    /// cannot be checked (a new leader's snapshot at epoch<<32) and is
    /// dropped, as Apache drops it.
    pub fn expect_snapshot_digest(&mut self, recorded: ZxidDigest, snapshot_zxid: Zxid) {
        self.snapshot_digest = None;
        if recorded.zxid.0 <= 0 {
            tracing::info!("The digest value is empty in snapshot");
            return;
        }
        if recorded.zxid < snapshot_zxid {
            tracing::info!(
                digest_zxid = %recorded.zxid,
                %snapshot_zxid,
                "The zxid of the snapshot digest is smaller than the snapshot's; not comparing it"
            );
            return;
        }
        self.snapshot_digest = Some(recorded);
    }

    pub fn skip_txn_digests_through(&mut self, zxid: Zxid) {
        self.fuzzy_txns_through = Some(zxid);
    }

    pub fn skips_txn_digests_unbounded(&self) -> bool {
        self.fuzzy_txns_through == Some(FUZZY_UNBOUNDED)
    }

    /// `compareSnapshotDigests`, once the txn `zxid` is applied (or the
    /// snapshot loaded, when its digest names its own zxid).
    pub fn snapshot_txn_applied(&mut self, zxid: Zxid, tree_digest: i64) {
        let Some(recorded) = self.snapshot_digest else {
            return;
        };
        if zxid == recorded.zxid {
            self.snapshot_digest = None;
            if recorded.version != TREE_DIGEST_VERSION {
                tracing::info!(
                    version = recorded.version,
                    "Digest version changed, skip comparing the snapshot digest"
                );
            } else if recorded.digest != tree_digest {
                self.mismatch(zxid, recorded.digest, tree_digest, "snapshot");
            }
        } else if zxid > recorded.zxid {
            self.snapshot_txn_missing += 1;
            if worth_logging(self.snapshot_txn_missing) {
                tracing::warn!(digest_zxid = %recorded.zxid, "The txn of the snapshot digest does not exist; txn digests stay unchecked");
            }
        }
    }

    /// `processTxn(hdr, txn, digest)` after the txn `zxid` is applied: the
    /// snapshot digest first, then the txn's own digest unless the tree is
    /// still fuzzy. Returns false on a mismatch.
    pub fn txn_applied(
        &mut self,
        zxid: Zxid,
        tree_digest: i64,
        txn_digest: Option<&TxnDigest>,
    ) -> bool {
        self.snapshot_txn_applied(zxid, tree_digest);
        let Some(txn_digest) = txn_digest else {
            return true;
        };
        if self.snapshot_digest.is_some() {
            return true;
        }
        if let Some(through) = self.fuzzy_txns_through {
            if zxid <= through {
                return true;
            }
            self.fuzzy_txns_through = None;
        }
        if txn_digest.version != TREE_DIGEST_VERSION {
            self.version_skipped += 1;
            if worth_logging(self.version_skipped) {
                tracing::warn!(%zxid, version = txn_digest.version, "Digest version not the same on zxid; not compared");
            }
            return true;
        }
        if txn_digest.tree_digest == tree_digest {
            return true;
        }
        self.mismatch(zxid, txn_digest.tree_digest, tree_digest, "txn");
        false
    }

    fn mismatch(&mut self, zxid: Zxid, expected: i64, actual: i64, source: &'static str) {
        self.mismatches += 1;
        if self.mismatches == 1 {
            tracing::error!(%zxid, expected, actual, source, "First digest mismatch on txn {zxid}: expected digest is {expected}, actual digest is {actual}");
        } else if worth_logging(self.mismatches) {
            tracing::warn!(%zxid, expected, actual, source, mismatches = self.mismatches, "Digests are not matching");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(seed: i64) -> StatPersisted {
        StatPersisted {
            czxid: seed,
            mzxid: seed + 1,
            ctime: seed * 1000,
            mtime: seed * 1000 + 7,
            version: (seed % 5) as i32,
            cversion: (seed % 11) as i32,
            aversion: -1,
            ephemeral_owner: seed << 40,
            pzxid: seed + 2,
        }
    }

    #[test]
    fn zero_stat_crc_is_the_crc_of_sixty_zero_bytes() {
        assert_eq!(crc32fast::hash(&[0u8; DIGEST_STAT_BYTES]), ZERO_STAT_CRC);
    }

    #[test]
    fn crc_is_java_util_zip_crc32() {
        // The standard check value of CRC-32/ISO-HDLC, which java.util.zip.CRC32 is.
        assert_eq!(crc32fast::hash(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn stat_bytes_follow_apaches_order() {
        let bytes = digest_stat_bytes(&stat(3));
        assert_eq!(&bytes[0..8], &3i64.to_be_bytes());
        assert_eq!(&bytes[8..16], &4i64.to_be_bytes());
        assert_eq!(&bytes[16..24], &5i64.to_be_bytes(), "pzxid third");
        assert_eq!(&bytes[24..32], &3000i64.to_be_bytes());
        assert_eq!(&bytes[32..40], &3007i64.to_be_bytes());
        assert_eq!(&bytes[40..44], &3i32.to_be_bytes());
        assert_eq!(&bytes[44..48], &3i32.to_be_bytes());
        assert_eq!(&bytes[48..52], &(-1i32).to_be_bytes());
        assert_eq!(&bytes[52..60], &(3i64 << 40).to_be_bytes());
    }

    #[test]
    fn built_in_nodes_match_apaches_fresh_tree_arithmetic() {
        // A fresh Apache tree's digest is crc("" + 60 zero bytes) +
        // crc("/zookeeper" + 60 zero bytes); its children count nothing.
        let zero = StatPersisted::default();
        let empty = Some(&[][..]);
        let mut root = vec![];
        root.extend_from_slice(&[0u8; 60]);
        assert_eq!(node_digest("/", empty, &zero), crc32fast::hash(&root));
        assert_eq!(node_digest("", None, &zero), crc32fast::hash(&root));
        let mut zookeeper = b"/zookeeper".to_vec();
        zookeeper.extend_from_slice(&[0u8; 60]);
        assert_eq!(
            node_digest("/zookeeper", empty, &zero),
            crc32fast::hash(&zookeeper)
        );
        assert_eq!(node_digest("/zookeeper/quota", empty, &zero), 0);
        assert_eq!(node_digest("/zookeeper/config", empty, &zero), 0);
        assert_ne!(node_digest("/zookeeperx", empty, &zero), 0);
    }

    #[test]
    fn stat_change_shortcut_equals_a_full_recomputation() {
        let data: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        for seed in 0..200i64 {
            let path = format!("/node/{seed}");
            let data = Some(&data[..(seed as usize * 37) % data.len()]);
            let before = stat(seed);
            let mut after = before.clone();
            after.pzxid = seed * 31 + 9;
            after.cversion = after.cversion.wrapping_add(seed as i32 * 3);
            if seed % 3 == 0 {
                after.aversion = seed as i32;
            }
            let old = node_digest(&path, data, &before);
            assert_eq!(
                node_digest_after_stat_change(&path, old, &before, &after),
                node_digest(&path, data, &after),
                "seed {seed}"
            );
        }
        let zero = StatPersisted::default();
        assert_eq!(
            node_digest_after_stat_change("/zookeeper/quota", 0, &zero, &stat(1)),
            0
        );
    }

    fn txn_digest(tree_digest: i64) -> TxnDigest {
        TxnDigest {
            version: TREE_DIGEST_VERSION,
            tree_digest,
        }
    }

    #[test]
    fn audit_counts_mismatches_and_skips_what_apache_skips() {
        let mut audit = DigestAudit::default();
        assert!(audit.txn_applied(Zxid(1), 5, Some(&txn_digest(5))));
        assert!(audit.txn_applied(Zxid(2), 5, None));
        assert!(!audit.txn_applied(Zxid(3), 5, Some(&txn_digest(6))));
        // Another digest version is not ours to compare.
        let other = TxnDigest {
            version: 1,
            tree_digest: 99,
        };
        assert!(audit.txn_applied(Zxid(4), 5, Some(&other)));
        assert_eq!(audit.mismatches_count(), 1);
    }

    #[test]
    fn audit_waits_for_the_snapshot_digest_zxid() {
        let mut audit = DigestAudit::default();
        let recorded = ZxidDigest {
            zxid: Zxid(12),
            digest: 77,
            ..ZxidDigest::empty()
        };
        audit.expect_snapshot_digest(recorded, Zxid(10));
        // Fuzzy until zxid 12: txn digests are not compared.
        assert!(audit.txn_applied(Zxid(11), 1, Some(&txn_digest(2))));
        assert!(audit.awaits_snapshot_digest());
        // At 12 the snapshot's digest is compared, then the txn's.
        assert!(!audit.txn_applied(Zxid(12), 70, Some(&txn_digest(70 + 1))));
        assert_eq!(audit.mismatches_count(), 2);
        assert!(!audit.awaits_snapshot_digest());

        // A digest older than its snapshot, or empty, is dropped.
        audit.expect_snapshot_digest(recorded, Zxid(13));
        assert!(!audit.awaits_snapshot_digest());
        audit.expect_snapshot_digest(ZxidDigest::empty(), Zxid(0));
        assert!(!audit.awaits_snapshot_digest());
    }

    #[test]
    fn tree_sum_wraps() {
        assert_eq!(replace_node_digest(i64::MAX, 0, 1), i64::MIN);
        assert_eq!(replace_node_digest(i64::MIN, 1, 0), i64::MAX);
        assert_eq!(replace_node_digest(10, 4, 4), 10);
    }
}
