//! The ZooKeeper-mode inter-broker codecs (`keel::kafka::protocol::inter_broker`):
//! LeaderAndIsr, StopReplica, UpdateMetadata, ControlledShutdown and AlterPartition
//! bodies at every version, and whole request frames. None may panic; whatever
//! decodes and re-encodes must decode to the same value.
//!
//! Input layout: byte 0 picks the API (low 3 bits, modulo 5) and request or
//! response (bit 3); byte 1 is the version (modulo 16, so invalid versions are
//! exercised too); the rest is the body. The whole input is also fed to
//! `decode_request` as a frame.
#![no_main]

use bytes::BytesMut;
use keel::kafka::protocol::inter_broker::{
    decode_request, encode_request, InterBrokerApi, InterBrokerRequest, InterBrokerResponse,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((header, request)) = decode_request(data) {
        let mut out = BytesMut::new();
        if encode_request(&header, &request, &mut out).is_ok() {
            let (header_again, request_again) =
                decode_request(&out).expect("an encoded request decodes");
            assert_eq!(header_again, header);
            assert_eq!(request_again, request);
        }
    }
    let [selector, version, body @ ..] = data else {
        return;
    };
    let api = InterBrokerApi::ALL[usize::from(selector & 0x07) % InterBrokerApi::ALL.len()];
    let version = i16::from(version % 16);
    if selector & 0x08 == 0 {
        let mut input = body;
        if let Ok(request) = InterBrokerRequest::decode(api, &mut input, version) {
            let mut out = BytesMut::new();
            if request.encode(&mut out, version).is_ok() {
                let again = InterBrokerRequest::decode(api, &mut &out[..], version)
                    .expect("an encoded request body decodes");
                assert_eq!(again, request);
            }
        }
    } else {
        let mut input = body;
        if let Ok(response) = InterBrokerResponse::decode(api, &mut input, version) {
            let mut out = BytesMut::new();
            if response.encode(&mut out, version).is_ok() {
                let again = InterBrokerResponse::decode(api, &mut &out[..], version)
                    .expect("an encoded response body decodes");
                assert_eq!(again, response);
            }
        }
    }
});
