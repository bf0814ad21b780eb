//! Writes response frames to a connection: memory pieces with ordinary writes, file
//! ranges with `sendfile(2)` from the segment file straight to the socket, as
//! Kafka's broker does with `FileChannel.transferTo`.
//!
//! The socket is non-blocking (tokio's): a `sendfile` that would block reports
//! EAGAIN, and the writer waits for writability and goes on from where the kernel
//! stopped (partial transfers move the offset). Where `sendfile` is refused (EINVAL,
//! ENOSYS: a file system or socket type that cannot splice), the connection falls
//! back to reading the range and writing it. A frame with file ranges is written
//! under TCP_CORK so its small header pieces and the data share packets.
//!
//! The frame's length was announced in its first bytes, so a range that comes up
//! short (a file truncated under the response) cannot be patched: that is an error
//! and costs the connection, as in Kafka.
//!
//! A TLS connection cannot splice: its frames are copied through the cipher
//! (`write_frame_copying`), as Kafka's SslTransportLayer copies too.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

use tokio::io::{AsyncWrite, AsyncWriteExt, Interest};
use tokio::net::TcpStream;

use crate::kafka::protocol::frame::{FileRange, Piece, ResponseFrame};

/// How file ranges reach the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileSend {
    /// `sendfile(2)`; switches to `Copy` for good when the kernel refuses it.
    Sendfile,
    /// Read into memory, then write.
    Copy,
}

/// The most one `sendfile` call moves on Linux.
const SENDFILE_CHUNK_MAX: u64 = 0x7fff_f000;
/// The buffer of the copying fallback.
const COPY_CHUNK_BYTES: usize = 256 * 1024;

/// Writes one whole frame. `mode` is the connection's, and changes to `Copy` if the
/// kernel refuses `sendfile`.
pub async fn write_frame(
    stream: &mut TcpStream,
    frame: &ResponseFrame,
    mode: &mut FileSend,
) -> io::Result<()> {
    let pieces = frame.pieces();
    if let [Piece::Memory(bytes)] = pieces {
        return stream.write_all(bytes).await;
    }
    let corked = set_cork(stream, true).is_ok();
    let result = write_pieces(stream, pieces, mode).await;
    if corked {
        // Uncorking pushes out the last partial packet.
        let uncorked = set_cork(stream, false);
        result?;
        uncorked
    } else {
        result
    }
}

async fn write_pieces(
    stream: &mut TcpStream,
    pieces: &[Piece],
    mode: &mut FileSend,
) -> io::Result<()> {
    for piece in pieces {
        match piece {
            Piece::Memory(bytes) => stream.write_all(bytes).await?,
            Piece::File(range) => {
                let mut sent = 0;
                if *mode == FileSend::Sendfile {
                    match send_file(stream, range).await? {
                        SendfileOutcome::Done => continue,
                        SendfileOutcome::Refused { sent: so_far } => {
                            tracing::debug!(
                                "sendfile refused on this connection; copying record data"
                            );
                            *mode = FileSend::Copy;
                            sent = so_far;
                        }
                    }
                }
                copy_file(stream, range, sent).await?;
            }
        }
    }
    Ok(())
}

enum SendfileOutcome {
    Done,
    /// The kernel cannot sendfile here; `sent` bytes of the range went out before.
    Refused {
        sent: u64,
    },
}

#[cfg(target_os = "linux")]
async fn send_file(stream: &TcpStream, range: &FileRange) -> io::Result<SendfileOutcome> {
    let socket_fd = stream.as_raw_fd();
    let file_fd = range.file.as_raw_fd();
    let end = range.position + range.length;
    let mut offset = range.position;
    while offset < end {
        let count = (end - offset).min(SENDFILE_CHUNK_MAX) as usize;
        let mut file_offset = offset as libc::off_t;
        let result = stream.try_io(Interest::WRITABLE, || {
            // SAFETY: both descriptors are open for the duration of the call (the
            // stream and the Arc<File> are borrowed), and `file_offset` is a valid
            // off_t the kernel advances by the bytes it sent.
            let sent = unsafe { libc::sendfile(socket_fd, file_fd, &mut file_offset, count) };
            if sent < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(sent as u64)
            }
        });
        match result {
            Ok(0) => return Err(truncated(range, offset)),
            Ok(sent) => offset += sent,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                stream.writable().await?;
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error)
                if matches!(
                    error.raw_os_error(),
                    Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
                ) =>
            {
                return Ok(SendfileOutcome::Refused {
                    sent: offset - range.position,
                });
            }
            Err(error) => return Err(error),
        }
    }
    Ok(SendfileOutcome::Done)
}

#[cfg(not(target_os = "linux"))]
async fn send_file(_stream: &TcpStream, _range: &FileRange) -> io::Result<SendfileOutcome> {
    Ok(SendfileOutcome::Refused { sent: 0 })
}

/// Writes one whole frame to a stream that cannot take `sendfile` (a TLS stream:
/// record data has to pass through the cipher), then flushes it.
pub async fn write_frame_copying<W: AsyncWrite + Unpin>(
    stream: &mut W,
    frame: &ResponseFrame,
) -> io::Result<()> {
    for piece in frame.pieces() {
        match piece {
            Piece::Memory(bytes) => stream.write_all(bytes).await?,
            Piece::File(range) => copy_file(stream, range, 0).await?,
        }
    }
    stream.flush().await
}

/// Reads the range from `skip` on and writes it.
async fn copy_file<W: AsyncWrite + Unpin>(
    stream: &mut W,
    range: &FileRange,
    skip: u64,
) -> io::Result<()> {
    let mut buffer = vec![0u8; (range.length - skip).min(COPY_CHUNK_BYTES as u64) as usize];
    let mut offset = range.position + skip;
    let end = range.position + range.length;
    while offset < end {
        let want = (end - offset).min(buffer.len() as u64) as usize;
        let read = range.file.read_at(&mut buffer[..want], offset)?;
        if read == 0 {
            return Err(truncated(range, offset));
        }
        stream.write_all(&buffer[..read]).await?;
        offset += read as u64;
    }
    Ok(())
}

fn truncated(range: &FileRange, offset: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!(
            "segment file ends at {offset}, inside the range {}+{} already announced in the frame",
            range.position, range.length
        ),
    )
}

#[cfg(target_os = "linux")]
fn set_cork(stream: &TcpStream, on: bool) -> io::Result<()> {
    let value: libc::c_int = on.into();
    // SAFETY: a valid socket descriptor and a c_int option value of the right size.
    let result = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CORK,
            &value as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn set_cork(_stream: &TcpStream, _on: bool) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::Write;
    use std::sync::Arc;

    use bytes::BufMut;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    use crate::kafka::protocol::frame::FrameBuilder;

    fn pattern(length: usize, seed: u8) -> Vec<u8> {
        (0..length)
            .map(|index| (index as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    fn file_with(bytes: &[u8]) -> Arc<File> {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        Arc::new(file)
    }

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (client, server) = tokio::join!(TcpStream::connect(address), listener.accept());
        (server.unwrap().0, client.unwrap())
    }

    /// A frame bigger than the socket buffers, with memory pieces between file
    /// ranges, read by a slow reader: partial transfers and EAGAIN on the way.
    fn big_frame() -> ResponseFrame {
        let first = file_with(&pattern(6 << 20, 1));
        let second = file_with(&pattern(100_000, 2));
        let mut builder = FrameBuilder::new();
        builder.buffer().put_slice(b"header");
        builder.put_file(FileRange {
            file: first.clone(),
            position: 3,
            length: (6 << 20) - 10,
        });
        builder.buffer().put_slice(b"between");
        builder.put_file(FileRange {
            file: second,
            position: 0,
            length: 100_000,
        });
        builder.put_file(FileRange {
            file: first,
            position: 0,
            length: 1,
        });
        builder.buffer().put_slice(b"tail");
        builder.finish().unwrap()
    }

    async fn send_and_receive(frame: &ResponseFrame, mut mode: FileSend) -> Vec<u8> {
        let (mut server, mut client) = pair().await;
        let expected_length = frame.len() as usize;
        let reader = tokio::spawn(async move {
            let mut received = Vec::new();
            let mut chunk = vec![0u8; 64 * 1024];
            while received.len() < expected_length {
                let read = client.read(&mut chunk).await.unwrap();
                assert!(read > 0, "connection closed early");
                received.extend_from_slice(&chunk[..read]);
                if received.len() < 1 << 20 {
                    // Slow at first, so the writer meets a full socket buffer.
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            }
            received
        });
        let asked = mode;
        write_frame(&mut server, frame, &mut mode).await.unwrap();
        assert_eq!(mode, asked, "sendfile was refused on loopback TCP");
        reader.await.unwrap()
    }

    #[tokio::test]
    async fn sendfile_writes_the_frame_exactly() {
        let frame = big_frame();
        let received = send_and_receive(&frame, FileSend::Sendfile).await;
        assert_eq!(received.len() as u64, frame.len());
        assert!(received == frame.to_vec().unwrap(), "bytes differ");
    }

    #[tokio::test]
    async fn the_copying_fallback_writes_the_same_bytes() {
        let frame = big_frame();
        let received = send_and_receive(&frame, FileSend::Copy).await;
        assert!(received == frame.to_vec().unwrap(), "bytes differ");
    }

    #[tokio::test]
    async fn a_deleted_segment_is_still_sent_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.log");
        std::fs::write(&path, pattern(300_000, 9)).unwrap();
        let file = Arc::new(File::open(&path).unwrap());
        let mut builder = FrameBuilder::new();
        builder.put_file(FileRange {
            file,
            position: 0,
            length: 300_000,
        });
        let frame = builder.finish().unwrap();
        std::fs::remove_file(&path).unwrap(); // retention, while the response is in flight
        let received = send_and_receive(&frame, FileSend::Sendfile).await;
        assert_eq!(&received[4..], &pattern(300_000, 9)[..]);
    }

    #[tokio::test]
    async fn a_range_past_the_end_of_its_file_is_an_error() {
        for mode in [FileSend::Sendfile, FileSend::Copy] {
            let (mut server, _client) = pair().await;
            let mut builder = FrameBuilder::new();
            builder.put_file(FileRange {
                file: file_with(b"short"),
                position: 2,
                length: 10,
            });
            let frame = builder.finish().unwrap();
            let mut mode = mode;
            let error = write_frame(&mut server, &frame, &mut mode)
                .await
                .unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof, "{mode:?}");
        }
    }
}
