//! ZooKeeper request decoding: the jute frame check, the handshake
//! (ConnectRequest) and every request record behind its header, on arbitrary
//! bytes. Nothing may panic; whatever decodes must encode again.
#![no_main]

use keel::zookeeper::jute::codec::Decoder;
use keel::zookeeper::jute::frame;
use keel::zookeeper::jute::proto::ConnectRequest;
use keel::zookeeper::jute::{Jute, Request, JUTE_MAX_BUFFER_DEFAULT};
use libfuzzer_sys::fuzz_target;

fn decode_all(body: &[u8], limit: usize) {
    if let Ok(connect) = frame::decode_body::<ConnectRequest>(body, limit) {
        let mut out = Vec::new();
        connect.write(&mut out);
    }
    let mut input = Decoder::new(body, limit);
    if let Ok((header, request)) = Request::read_with_header(&mut input) {
        let _ = input.remaining();
        let _ = request.op();
        let mut out = Vec::new();
        header.write(&mut out);
        request.write(&mut out);
    }
}

fuzz_target!(|data: &[u8]| {
    // As the server sees a stream: a frame, if the prefix announces a whole one.
    if let Ok(length) = frame::check(data, JUTE_MAX_BUFFER_DEFAULT) {
        decode_all(frame::body(data, length), JUTE_MAX_BUFFER_DEFAULT);
    }
    let _ = frame::check(data, 8);
    // The whole input as a body, with the default limit and a tiny one.
    decode_all(data, JUTE_MAX_BUFFER_DEFAULT);
    decode_all(data, 16);
});
