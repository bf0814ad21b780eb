//! One ZooKeeper session over a raw socket: the handshake, xid-pipelined
//! requests (up to a window of outstanding ones), pings while idle, and the
//! replies matched to requests in order (a ZooKeeper server answers a session's
//! requests in the order it sent them).
//!
//! Requests are encoded straight into the output buffer with keel's jute
//! primitives, so a request costs no allocation on the client.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;

use keel::zookeeper::jute::codec::{write_buffer, write_i32, write_ustring, Decoder, Jute};
use keel::zookeeper::jute::frame::{self, write_frame, FRAME_LENGTH_BYTES};
use keel::zookeeper::jute::proto::{ConnectRequest, ConnectResponse, MultiHeader, ReplyHeader};
use keel::zookeeper::jute::{Acl, MultiResponse, OpCode, OpResult};

const PING_XID: i32 = -2;
const NOTIFICATION_XID: i32 = -1;
const FRAME_BYTES_MAX: usize = 16 * 1024 * 1024;

/// What a request was, for error reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Create,
    GetData,
    SetData,
    Delete,
    Multi,
    Close,
}

/// A request on the wire, not yet answered.
struct InFlight {
    xid: i32,
    kind: Kind,
    sent: Instant,
}

/// A reply, as the phase loop sees it.
pub struct Reply {
    pub kind: Kind,
    pub sent: Instant,
    pub received: Instant,
    /// The reply header's error, or for a multi the first failing op's.
    pub err: i32,
}

pub struct Session {
    stream: TcpStream,
    pub session_id: i64,
    pub timeout: Duration,
    next_xid: i32,
    input: BytesMut,
    output: Vec<u8>,
    output_written: usize,
    in_flight: VecDeque<InFlight>,
    last_send: Instant,
    open_acl: Vec<Acl>,
}

impl Session {
    pub async fn connect(address: SocketAddr, timeout_ms: i32) -> io::Result<Session> {
        let mut stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let request = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: timeout_ms,
            session_id: 0,
            passwd: vec![0; 16],
            read_only: Some(false),
        };
        let mut out = Vec::new();
        write_frame(&mut out, |out| request.write(out));
        stream.write_all(&out).await?;
        let mut input = BytesMut::with_capacity(64 * 1024);
        let body_bytes = loop {
            match frame::check(&input, FRAME_BYTES_MAX) {
                Ok(body_bytes) => break body_bytes,
                Err(keel::zookeeper::jute::JuteError::Incomplete { .. }) => {
                    if stream.read_buf(&mut input).await? == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "server closed the connection during the handshake",
                        ));
                    }
                }
                Err(error) => return Err(io::Error::new(io::ErrorKind::InvalidData, error)),
            }
        };
        let response =
            frame::decode_body::<ConnectResponse>(frame::body(&input, body_bytes), FRAME_BYTES_MAX)
                .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
        input.advance(FRAME_LENGTH_BYTES + body_bytes);
        if response.session_id == 0 {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "the server refused the session",
            ));
        }
        Ok(Session {
            stream,
            session_id: response.session_id,
            timeout: Duration::from_millis(response.time_out.max(1) as u64),
            next_xid: 1,
            input,
            output: Vec::with_capacity(64 * 1024),
            output_written: 0,
            in_flight: VecDeque::new(),
            last_send: Instant::now(),
            open_acl: Acl::open_unsafe(),
        })
    }

    pub fn outstanding(&self) -> usize {
        self.in_flight.len()
    }

    fn begin(&mut self, op: OpCode, kind: Kind, now: Instant) -> (i32, usize) {
        let xid = self.next_xid;
        self.next_xid = self.next_xid.wrapping_add(1).max(1);
        self.in_flight.push_back(InFlight {
            xid,
            kind,
            sent: now,
        });
        let start = self.output.len();
        write_i32(&mut self.output, 0);
        write_i32(&mut self.output, xid);
        write_i32(&mut self.output, op.as_i32());
        (xid, start)
    }

    fn finish(&mut self, start: usize) {
        let length = (self.output.len() - start - FRAME_LENGTH_BYTES) as i32;
        self.output[start..start + FRAME_LENGTH_BYTES].copy_from_slice(&length.to_be_bytes());
    }

    fn write_create_body(out: &mut Vec<u8>, acl: &[Acl], path: &str, data: &[u8]) {
        write_ustring(out, Some(path));
        write_buffer(out, Some(data));
        write_i32(out, acl.len() as i32);
        for entry in acl {
            entry.write(out);
        }
        write_i32(out, 0); // persistent
    }

    pub fn create(&mut self, path: &str, data: &[u8], now: Instant) {
        let (_, start) = self.begin(OpCode::Create, Kind::Create, now);
        Self::write_create_body(&mut self.output, &self.open_acl, path, data);
        self.finish(start);
    }

    pub fn get_data(&mut self, path: &str, now: Instant) {
        let (_, start) = self.begin(OpCode::GetData, Kind::GetData, now);
        write_ustring(&mut self.output, Some(path));
        self.output.push(0); // no watch
        self.finish(start);
    }

    pub fn set_data(&mut self, path: &str, data: &[u8], version: i32, now: Instant) {
        let (_, start) = self.begin(OpCode::SetData, Kind::SetData, now);
        write_ustring(&mut self.output, Some(path));
        write_buffer(&mut self.output, Some(data));
        write_i32(&mut self.output, version);
        self.finish(start);
    }

    pub fn delete(&mut self, path: &str, version: i32, now: Instant) {
        let (_, start) = self.begin(OpCode::Delete, Kind::Delete, now);
        write_ustring(&mut self.output, Some(path));
        write_i32(&mut self.output, version);
        self.finish(start);
    }

    fn multi_header(out: &mut Vec<u8>, op: OpCode) {
        MultiHeader {
            op: op.as_i32(),
            done: false,
            err: -1,
        }
        .write(out);
    }

    fn multi_done(out: &mut Vec<u8>) {
        MultiHeader {
            op: -1,
            done: true,
            err: -1,
        }
        .write(out);
    }

    /// A multi of plain creates.
    pub fn multi_create(&mut self, paths: &[String], data: &[u8], now: Instant) {
        let (_, start) = self.begin(OpCode::Multi, Kind::Multi, now);
        for path in paths {
            Self::multi_header(&mut self.output, OpCode::Create);
            Self::write_create_body(&mut self.output, &self.open_acl, path, data);
        }
        Self::multi_done(&mut self.output);
        self.finish(start);
    }

    /// A multi of check(path, version) then setData(path, data, version).
    pub fn multi_check_set(&mut self, path: &str, version: i32, data: &[u8], now: Instant) {
        let (_, start) = self.begin(OpCode::Multi, Kind::Multi, now);
        Self::multi_header(&mut self.output, OpCode::Check);
        write_ustring(&mut self.output, Some(path));
        write_i32(&mut self.output, version);
        Self::multi_header(&mut self.output, OpCode::SetData);
        write_ustring(&mut self.output, Some(path));
        write_buffer(&mut self.output, Some(data));
        write_i32(&mut self.output, version);
        Self::multi_done(&mut self.output);
        self.finish(start);
    }

    pub fn close_session(&mut self, now: Instant) {
        let (_, start) = self.begin(OpCode::CloseSession, Kind::Close, now);
        self.finish(start);
    }

    fn ping(&mut self) {
        let start = self.output.len();
        write_i32(&mut self.output, 0);
        write_i32(&mut self.output, PING_XID);
        write_i32(&mut self.output, OpCode::Ping.as_i32());
        self.finish(start);
    }

    /// Sends a ping if nothing went out for a third of the session timeout (the
    /// Java client pings after half its read timeout, two thirds of it).
    pub fn ping_if_idle(&mut self, now: Instant) {
        if self.output.is_empty() && now.duration_since(self.last_send) >= self.timeout / 3 {
            self.ping();
        }
    }

    /// When `ping_if_idle` next has something to do.
    pub fn next_ping(&self) -> Instant {
        self.last_send + self.timeout / 3
    }

    /// Waits until the socket can make progress (or `until`), writes what is
    /// queued, reads what arrived and hands every reply to `on_reply`.
    pub async fn pump(
        &mut self,
        until: Option<Instant>,
        mut on_reply: impl FnMut(Reply),
    ) -> io::Result<()> {
        let interest = if self.output_written < self.output.len() {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        let ready = match until {
            Some(until) => {
                tokio::select! {
                    ready = self.stream.ready(interest) => ready?,
                    _ = tokio::time::sleep_until(until.into()) => return Ok(()),
                }
            }
            None => self.stream.ready(interest).await?,
        };
        if ready.is_writable() && self.output_written < self.output.len() {
            match self.stream.try_write(&self.output[self.output_written..]) {
                Ok(written) => {
                    self.output_written += written;
                    self.last_send = Instant::now();
                    if self.output_written == self.output.len() {
                        self.output.clear();
                        self.output_written = 0;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(error),
            }
        }
        if ready.is_readable() {
            self.input.reserve(64 * 1024);
            match self.stream.try_read_buf(&mut self.input) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "server closed the connection",
                    ))
                }
                Ok(_) => self.parse_replies(Instant::now(), &mut on_reply)?,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Writes queued bytes without waiting for the next readiness event first;
    /// called right after requests are queued.
    pub fn try_flush(&mut self) -> io::Result<()> {
        while self.output_written < self.output.len() {
            match self.stream.try_write(&self.output[self.output_written..]) {
                Ok(written) => {
                    self.output_written += written;
                    self.last_send = Instant::now();
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(error) => return Err(error),
            }
        }
        self.output.clear();
        self.output_written = 0;
        Ok(())
    }

    fn parse_replies(
        &mut self,
        received: Instant,
        on_reply: &mut impl FnMut(Reply),
    ) -> io::Result<()> {
        loop {
            let body_bytes = match frame::check(&self.input, FRAME_BYTES_MAX) {
                Ok(body_bytes) => body_bytes,
                Err(keel::zookeeper::jute::JuteError::Incomplete { .. }) => return Ok(()),
                Err(error) => return Err(io::Error::new(io::ErrorKind::InvalidData, error)),
            };
            let body = frame::body(&self.input, body_bytes);
            let mut decoder = Decoder::new(body, FRAME_BYTES_MAX);
            let header = ReplyHeader::read(&mut decoder)
                .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
            match header.xid {
                PING_XID | NOTIFICATION_XID => {}
                xid => {
                    let request = self.in_flight.pop_front().ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("a reply with xid {xid} to no request"),
                        )
                    })?;
                    if request.xid != xid {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("xid out of order: got {xid}, expected {}", request.xid),
                        ));
                    }
                    let mut err = header.err;
                    if err == 0 && request.kind == Kind::Multi {
                        // A failed multi answers Ok with an error result per
                        // op: Ok (0) before the failing one, its code, then
                        // RuntimeInconsistency.
                        let results = MultiResponse::read(&mut decoder)
                            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
                        err = results
                            .results
                            .iter()
                            .find_map(|result| match result {
                                OpResult::Error { err } if *err != 0 => Some(*err),
                                _ => None,
                            })
                            .unwrap_or(0);
                    }
                    on_reply(Reply {
                        kind: request.kind,
                        sent: request.sent,
                        received,
                        err,
                    });
                }
            }
            self.input.advance(FRAME_LENGTH_BYTES + body_bytes);
        }
    }
}
