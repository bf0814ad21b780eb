//! The bytes of a txn log: `FileHeader` (magic "ZKLG", version 2, dbid 0), then
//! per txn `long checksum` (Adler-32 of the txn bytes), `int length`, the txn
//! bytes (TxnHeader, record, optional TxnDigest) and the end-of-record byte 'B'
//! (`Util.writeTxnBytes`). Snapshots share the header shape with magic "ZKSN".

use super::adler32::adler32;
use crate::zookeeper::jute::codec::{to_bytes, Decoder, Jute};
use crate::zookeeper::jute::quorum::FileHeader;
use crate::zookeeper::jute::TxnEntry;

/// `FileTxnLog.TXNLOG_MAGIC`: "ZKLG" read as a big-endian int.
pub const LOG_MAGIC: i32 = i32::from_be_bytes(*b"ZKLG");
/// `FileSnap.SNAP_MAGIC`: "ZKSN".
pub const SNAPSHOT_MAGIC: i32 = i32::from_be_bytes(*b"ZKSN");
/// `FileTxnLog.VERSION` and `FileSnap.VERSION`.
pub const FORMAT_VERSION: i32 = 2;
/// `FileTxnLog.dbId` is never set, so logs carry 0.
pub const LOG_DBID: i64 = 0;
/// `FileSnap.dbId`.
pub const SNAPSHOT_DBID: i64 = -1;
/// Encoded `FileHeader`: int + int + long.
pub const FILE_HEADER_BYTES: u64 = 16;
/// Checksum (8) + length (4) before the txn bytes, end-of-record (1) after.
pub const ENTRY_OVERHEAD_BYTES: u64 = 13;
/// `Util.writeTxnBytes`' end-of-record marker.
pub const END_OF_RECORD: u8 = b'B';

pub fn log_header_bytes() -> Vec<u8> {
    to_bytes(&FileHeader {
        magic: LOG_MAGIC,
        version: FORMAT_VERSION,
        dbid: LOG_DBID,
    })
}

pub fn snapshot_header_bytes() -> Vec<u8> {
    to_bytes(&FileHeader {
        magic: SNAPSHOT_MAGIC,
        version: FORMAT_VERSION,
        dbid: SNAPSHOT_DBID,
    })
}

/// Decodes a file header; `None` if fewer than 16 bytes are given.
pub fn read_file_header(bytes: &[u8]) -> Option<FileHeader> {
    FileHeader::read(&mut Decoder::with_default_limit(bytes)).ok()
}

/// One entry exactly as `FileTxnLog.append` writes it.
pub fn entry_bytes(entry: &TxnEntry) -> Vec<u8> {
    let mut out = Vec::new();
    encode_entry(&mut out, entry);
    out
}

/// Appends one log entry to `out`: Adler-32 of the txn bytes, their length,
/// the bytes, the end-of-record byte (the txn is encoded in place).
pub fn encode_entry(out: &mut Vec<u8>, entry: &TxnEntry) {
    let start = out.len();
    out.extend_from_slice(&[0; 12]);
    entry.header.write(out);
    entry.body.write(out);
    if let Some(digest) = &entry.digest {
        digest.write(out);
    }
    let payload = &out[start + 12..];
    // prepare never produces an empty txn (a header alone is 28 bytes), and an
    // empty one would read back as the pre-allocated tail.
    assert!(
        !payload.is_empty(),
        "a txn serializes to at least its header"
    );
    let length = i32::try_from(payload.len()).expect("txn bounded by jute.maxbuffer");
    let checksum = adler32(payload);
    out[start..start + 8].copy_from_slice(&checksum.to_be_bytes());
    out[start + 8..start + 12].copy_from_slice(&length.to_be_bytes());
    out.push(END_OF_RECORD);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zookeeper::jute::txn::{CreateSessionTxn, TxnHeader};
    use crate::zookeeper::jute::{OpCode, TxnBody};

    #[test]
    fn magics_spell_their_names() {
        assert_eq!(LOG_MAGIC, 0x5a4b_4c47);
        assert_eq!(SNAPSHOT_MAGIC, 0x5a4b_534e);
        assert_eq!(
            log_header_bytes(),
            [b'Z', b'K', b'L', b'G', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(&snapshot_header_bytes()[8..], &[0xff; 8]);
        assert_eq!(log_header_bytes().len() as u64, FILE_HEADER_BYTES);
    }

    #[test]
    fn entry_is_checksum_length_payload_marker() {
        let entry = TxnEntry {
            header: TxnHeader {
                client_id: 1,
                cxid: 0,
                zxid: 1,
                time: 2,
                op: OpCode::CreateSession.as_i32(),
            },
            body: TxnBody::CreateSession(CreateSessionTxn { time_out: 30_000 }),
            digest: None,
        };
        let payload = entry.to_bytes();
        let bytes = entry_bytes(&entry);
        assert_eq!(bytes.len(), payload.len() + ENTRY_OVERHEAD_BYTES as usize);
        assert_eq!(&bytes[0..8], &adler32(&payload).to_be_bytes());
        assert_eq!(&bytes[8..12], &(payload.len() as i32).to_be_bytes());
        assert_eq!(&bytes[12..12 + payload.len()], payload.as_slice());
        assert_eq!(*bytes.last().unwrap(), b'B');
    }
}
