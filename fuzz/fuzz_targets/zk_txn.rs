//! ZooKeeper txn entries (the payload of a transaction log entry or a proposal):
//! header, body by op code, the optional digest, and the sub-txns of a multi.
#![no_main]

use keel::zookeeper::jute::codec::BUFFER_BYTES_MAX_DEFAULT;
use keel::zookeeper::jute::{TxnBody, TxnEntry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for limit in [BUFFER_BYTES_MAX_DEFAULT, 16] {
        let Ok(entry) = TxnEntry::from_bytes(data, limit) else {
            continue;
        };
        let _ = entry.op();
        let _ = entry.to_bytes();
        if let TxnBody::Multi(multi) = &entry.body {
            for txn in &multi.txns {
                if let Ok(body) = TxnBody::read_multi_entry(txn, limit) {
                    let _ = body.to_bytes();
                }
            }
        }
    }
});
