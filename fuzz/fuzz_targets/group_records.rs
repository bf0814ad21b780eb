//! `__consumer_offsets` keys and values: CoordinatorRecord::decode, and loading a
//! group coordinator from a sequence of decoded records (group metadata with
//! members and their subscriptions, committed offsets, tombstones).
//!
//! Input layout, repeated: `u16` key length, key, `i32` value length (negative:
//! tombstone), value. Lengths are clamped to what remains.
#![no_main]

use bytes::Bytes;
use keel::kafka::group::{CoordinatorRecord, GroupConfig, GroupCoordinator, SeededUuids};
use libfuzzer_sys::fuzz_target;

fn take<'a>(data: &mut &'a [u8], count: usize) -> &'a [u8] {
    let count = count.min(data.len());
    let (head, tail) = data.split_at(count);
    *data = tail;
    head
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let mut records = Vec::new();
    while rest.len() >= 2 {
        let key_length = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        rest = &rest[2..];
        let key = take(&mut rest, key_length);
        let value = if rest.len() >= 4 {
            let value_length = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
            rest = &rest[4..];
            (value_length >= 0).then(|| take(&mut rest, value_length as usize))
        } else {
            None
        };
        if let Ok(Some(record)) = CoordinatorRecord::decode(key, value) {
            let _ = record.group();
            let _ = record.key_bytes();
            let _ = record.value_bytes();
        }
        records.push((
            Bytes::copy_from_slice(key),
            value.map(Bytes::copy_from_slice),
        ));
    }
    let _ = GroupCoordinator::load_from_bytes(
        GroupConfig::default(),
        Box::new(SeededUuids::new(1)),
        records,
        1_700_000_000_000,
    );
});
