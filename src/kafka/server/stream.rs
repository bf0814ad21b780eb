//! A client connection's byte stream: the TCP socket itself, or TLS over it for
//! SSL and SASL_SSL listeners. Frames are read the same way from both; written with
//! `sendfile(2)` on plain sockets and copied through the cipher on TLS.

use std::io;

use bytes::BytesMut;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use super::writer::{write_frame, write_frame_copying, FileSend};
use crate::kafka::protocol::frame::ResponseFrame;

pub enum ClientStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl ClientStream {
    pub async fn read_buf(&mut self, buffer: &mut BytesMut) -> io::Result<usize> {
        match self {
            ClientStream::Plain(stream) => stream.read_buf(buffer).await,
            ClientStream::Tls(stream) => stream.read_buf(buffer).await,
        }
    }

    /// The client certificate's subject (RFC 2253, as Java names it), on TLS when
    /// the client presented one.
    pub fn peer_subject(&self) -> Option<String> {
        match self {
            ClientStream::Plain(_) => None,
            ClientStream::Tls(stream) => stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| crate::tls::x509::subject_rfc2253(leaf.as_ref())),
        }
    }

    pub async fn write_frame(
        &mut self,
        frame: &ResponseFrame,
        file_send: &mut FileSend,
    ) -> io::Result<()> {
        match self {
            ClientStream::Plain(stream) => write_frame(stream, frame, file_send).await,
            ClientStream::Tls(stream) => write_frame_copying(stream.as_mut(), frame).await,
        }
    }
}
