//! Kafka request decoding: the length-prefix check, then the header and body of
//! any API at any version, on arbitrary bytes. Nothing may panic.
#![no_main]

use bytes::Bytes;
use keel::kafka::protocol::{check_frame, decode_request, FrameCheck, FRAME_LENGTH_BYTES};
use libfuzzer_sys::fuzz_target;

/// `socket.request.max.bytes`' default.
const FRAME_BYTES_MAX: u32 = 104_857_600;

fuzz_target!(|data: &[u8]| {
    // As the server sees a stream: a frame, if the prefix announces a whole one.
    if let FrameCheck::Complete(length) = check_frame(data, FRAME_BYTES_MAX) {
        let body = &data[FRAME_LENGTH_BYTES..FRAME_LENGTH_BYTES + length];
        let _ = decode_request(Bytes::copy_from_slice(body));
    }
    let _ = check_frame(data, 16);
    // And the whole input as a frame body, so the fuzzer need not get the prefix right.
    let _ = decode_request(Bytes::copy_from_slice(data));
});
