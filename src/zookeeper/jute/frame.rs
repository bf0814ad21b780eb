//! Framing: every packet is an `int` length followed by that many bytes.
//!
//! Two steps, as in mini-redis: `check` looks at the length prefix only (no
//! allocation) and says whether a whole frame is buffered, refusing lengths Apache
//! refuses (negative, or over `jute.maxbuffer`); the caller then decodes the body.

use super::codec::{write_i32, Decoder, Jute, JuteError, JuteResult};
use super::codes::{xids, EventType, KeeperState};
use super::proto::{ReplyHeader, WatcherEvent};
use super::response::Response;

/// The length prefix of every frame.
pub const FRAME_LENGTH_BYTES: usize = 4;

/// Says whether `buffer` starts with a complete frame. On success returns the
/// body length; the whole frame is `FRAME_LENGTH_BYTES + body length` bytes.
pub fn check(buffer: &[u8], frame_bytes_max: usize) -> JuteResult<usize> {
    if buffer.len() < FRAME_LENGTH_BYTES {
        return Err(JuteError::Incomplete {
            needed: FRAME_LENGTH_BYTES - buffer.len(),
        });
    }
    let length = i32::from_be_bytes([buffer[0], buffer[1], buffer[2], buffer[3]]);
    if length < 0 || length as usize > frame_bytes_max {
        return Err(JuteError::Malformed(format!(
            "frame length {length} is negative or over jute.maxbuffer={frame_bytes_max}"
        )));
    }
    let body_bytes = length as usize;
    let available = buffer.len() - FRAME_LENGTH_BYTES;
    if available < body_bytes {
        return Err(JuteError::Incomplete {
            needed: body_bytes - available,
        });
    }
    Ok(body_bytes)
}

/// Returns the body of the complete frame at the start of `buffer`, after
/// `check` said it is there.
pub fn body(buffer: &[u8], body_bytes: usize) -> &[u8] {
    &buffer[FRAME_LENGTH_BYTES..FRAME_LENGTH_BYTES + body_bytes]
}

/// Frames whatever `write_body` writes: reserves the length, writes, patches it.
pub fn write_frame(out: &mut Vec<u8>, write_body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    write_i32(out, 0);
    write_body(out);
    let length =
        i32::try_from(out.len() - start - FRAME_LENGTH_BYTES).expect("frame longer than i32::MAX");
    out[start..start + FRAME_LENGTH_BYTES].copy_from_slice(&length.to_be_bytes());
}

/// A complete reply frame: header, then the body if there is one.
pub fn reply_frame(header: &ReplyHeader, response: Option<&Response>) -> Vec<u8> {
    // Room for the header and a Stat, or for the data of a read, up front.
    let data_bytes = match response {
        Some(Response::GetData(get)) => get.data.as_ref().map_or(0, Vec::len),
        _ => 0,
    };
    let mut out = Vec::with_capacity(128 + data_bytes);
    write_frame(&mut out, |out| {
        header.write(out);
        if let Some(response) = response {
            response.write(out);
        }
    });
    out
}

/// A complete watch notification frame: xid -1, the triggering zxid (-1 for
/// events that setWatches generates), err 0, then the event with state
/// SyncConnected.
pub fn notification_frame(event_type: EventType, path: &str, zxid: i64) -> Vec<u8> {
    reply_frame(
        &ReplyHeader {
            xid: xids::NOTIFICATION,
            zxid,
            err: 0,
        },
        Some(&Response::Notification(WatcherEvent {
            event_type: event_type.as_i32(),
            state: KeeperState::SyncConnected.as_i32(),
            path: path.to_string(),
        })),
    )
}

/// Decodes a frame body as `T`, with the frame limit as the per-buffer limit
/// (nothing inside a frame can be longer than the frame).
pub fn decode_body<T: Jute>(body: &[u8], frame_bytes_max: usize) -> JuteResult<T> {
    T::read(&mut Decoder::new(body, frame_bytes_max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zookeeper::jute::codec::JUTE_MAX_BUFFER_DEFAULT;
    use crate::zookeeper::jute::data::Stat;

    #[test]
    fn check_waits_for_the_length_and_the_body() {
        assert_eq!(
            check(&[0, 0], 100),
            Err(JuteError::Incomplete { needed: 2 })
        );
        assert_eq!(
            check(&[0, 0, 0, 3, 1], 100),
            Err(JuteError::Incomplete { needed: 2 })
        );
        assert_eq!(check(&[0, 0, 0, 3, 1, 2, 3, 9], 100), Ok(3));
        assert_eq!(body(&[0, 0, 0, 3, 1, 2, 3, 9], 3), &[1, 2, 3]);
        assert_eq!(check(&[0, 0, 0, 0], 100), Ok(0));
    }

    #[test]
    fn check_refuses_negative_and_oversized_lengths() {
        assert!(matches!(
            check(&[0xff, 0xff, 0xff, 0xff], 100),
            Err(JuteError::Malformed(_))
        ));
        let over = (JUTE_MAX_BUFFER_DEFAULT as i32 + 1).to_be_bytes();
        assert!(matches!(
            check(&over, JUTE_MAX_BUFFER_DEFAULT),
            Err(JuteError::Malformed(_))
        ));
        let at_limit = (JUTE_MAX_BUFFER_DEFAULT as i32).to_be_bytes();
        assert!(matches!(
            check(&at_limit, JUTE_MAX_BUFFER_DEFAULT),
            Err(JuteError::Incomplete { .. })
        ));
    }

    #[test]
    fn ping_reply_frame_bytes() {
        let frame = reply_frame(
            &ReplyHeader {
                xid: -2,
                zxid: 5,
                err: 0,
            },
            None,
        );
        assert_eq!(
            frame,
            [0, 0, 0, 16, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0]
        );
    }

    #[test]
    fn notification_frame_bytes() {
        assert_eq!(
            notification_frame(EventType::NodeDeleted, "/a", 7),
            [
                0, 0, 0, 30, // length
                0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, // header
                0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 2, b'/', b'a', // event
            ]
        );
    }

    #[test]
    fn exists_reply_frame_carries_the_stat() {
        let frame = reply_frame(
            &ReplyHeader {
                xid: 1,
                zxid: 2,
                err: 0,
            },
            Some(&Response::Stat(Stat::default())),
        );
        assert_eq!(frame.len(), 4 + 16 + 68);
        assert_eq!(&frame[0..4], &[0, 0, 0, 84]);
    }
}
