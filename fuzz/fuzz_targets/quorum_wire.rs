//! The ensemble's wire decoders (`keel::zookeeper::quorum::wire`): the election
//! header, frames and notifications, learner packets both ways, and the SNAP
//! stream fed whole and in pieces. None may panic; whatever decodes must
//! re-encode.
#![no_main]

use keel::zookeeper::jute::codec::BUFFER_BYTES_MAX_DEFAULT;
use keel::zookeeper::quorum::wire::{
    check_election_frame, decode_initial_message, decode_notification, decode_quorum_message,
    encode_initial_message, encode_notification, encode_quorum_message, Decoded, Direction,
    ElectionFrame, SnapshotFeed, SnapshotStreamDecoder,
};
use keel::zookeeper::tree::TreeConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Decoded::Complete { value, .. }) = decode_initial_message(data) {
        let _ = encode_initial_message(&value);
    }
    if let ElectionFrame::Complete(length) = check_election_frame(data) {
        if let Ok(notification) = decode_notification(&data[4..4 + length]) {
            let _ = encode_notification(&notification);
        }
    }
    if let Ok(notification) = decode_notification(data) {
        let _ = encode_notification(&notification);
    }
    for limit in [BUFFER_BYTES_MAX_DEFAULT, 16] {
        for direction in [Direction::FromLeader, Direction::FromLearner] {
            let mut rest = data;
            while let Ok(Decoded::Complete { value, consumed }) =
                decode_quorum_message(rest, direction, limit)
            {
                let _ = encode_quorum_message(&value);
                rest = &rest[consumed..];
            }
        }
        let mut whole = SnapshotStreamDecoder::new(TreeConfig::default(), limit);
        if let Ok(SnapshotFeed::Done { .. }) = whole.feed(data) {
            let _ = whole.finish();
        }
        let mut pieces = SnapshotStreamDecoder::new(TreeConfig::default(), limit);
        for chunk in data.chunks(7) {
            match pieces.feed(chunk) {
                Ok(SnapshotFeed::NeedMore) => {}
                _ => break,
            }
        }
    }
});
