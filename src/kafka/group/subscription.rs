//! Reads the topic list out of a `consumer` protocol subscription.
//!
//! The broker otherwise treats subscriptions and assignments as opaque bytes, so
//! any assignor works. It only looks inside for one reason, as Kafka does: to know
//! which topics a group consumes, so OffsetDelete can refuse with
//! GROUP_SUBSCRIBED_TO_TOPIC and offset expiry can spare those topics. Every
//! `ConsumerProtocolSubscription` version starts with `int16 version` then
//! `[]string topics`, so only that prefix is read (Kafka parses it as version 0).

use std::collections::BTreeSet;

use super::wire::Reader;

/// The protocol type of Java-style consumers.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// The subscribed topics, or `None` when the bytes are not a consumer subscription.
pub fn subscribed_topics(subscription: &[u8]) -> Option<BTreeSet<String>> {
    let mut reader = Reader::new(subscription);
    let version = reader.i16().ok()?;
    if version < 0 {
        return None;
    }
    let count = reader.array_len(false).ok()?;
    let mut topics = BTreeSet::new();
    for _ in 0..count {
        topics.insert(reader.string(false).ok()?);
    }
    Some(topics)
}

/// Encodes a minimal version-0 subscription; tests use it to play consumers.
#[cfg(test)]
pub fn encode_subscription(topics: &[&str]) -> bytes::Bytes {
    let mut w = super::wire::Writer::default();
    w.i16(0);
    w.array_len(topics.len(), false);
    for topic in topics {
        w.string(topic, false);
    }
    // user_data: null bytes.
    w.i32(-1);
    bytes::Bytes::from(w.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_topics_and_rejects_garbage() {
        let bytes = encode_subscription(&["b", "a"]);
        let topics = subscribed_topics(&bytes).unwrap();
        assert_eq!(topics.into_iter().collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(subscribed_topics(&[0, 0, 0]), None);
        assert_eq!(subscribed_topics(&[]), None);
    }
}
