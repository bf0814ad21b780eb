//! A response frame as it goes to the socket: in-memory pieces (the length prefix,
//! headers, every field) and byte ranges of segment files (record data), in order.
//!
//! Record data never passes through user space on the way out: the connection
//! writer hands file ranges to `sendfile(2)`, as Kafka's broker does with
//! `FileChannel.transferTo`. A range holds its file open (`Arc<File>`), so a segment
//! that retention or a cleaner deletes while a response is in flight is still read
//! whole: unlinking a file does not free it while a descriptor is open.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use super::FRAME_LENGTH_BYTES;

/// A byte range of an open file.
#[derive(Debug, Clone)]
pub struct FileRange {
    pub file: Arc<File>,
    pub position: u64,
    pub length: u64,
}

impl FileRange {
    /// Reads the range into memory (tests, and the copying fallback).
    pub fn read_to_vec(&self) -> io::Result<Vec<u8>> {
        let mut bytes = vec![0u8; self.length as usize];
        self.file.read_exact_at(&mut bytes, self.position)?;
        Ok(bytes)
    }
}

/// One piece of a frame.
#[derive(Debug, Clone)]
pub enum Piece {
    Memory(Bytes),
    File(FileRange),
}

impl Piece {
    pub fn len(&self) -> u64 {
        match self {
            Piece::Memory(bytes) => bytes.len() as u64,
            Piece::File(range) => range.length,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A whole response frame, length prefix included.
#[derive(Debug, Clone)]
pub struct ResponseFrame {
    pieces: Vec<Piece>,
    length: u64,
}

impl ResponseFrame {
    /// A frame held entirely in memory (length prefix included).
    pub fn from_bytes(bytes: Bytes) -> ResponseFrame {
        ResponseFrame {
            length: bytes.len() as u64,
            pieces: vec![Piece::Memory(bytes)],
        }
    }

    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// Total bytes on the wire, length prefix included.
    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    pub fn has_file_ranges(&self) -> bool {
        self.pieces
            .iter()
            .any(|piece| matches!(piece, Piece::File(_)))
    }

    /// The frame's bytes, file ranges read into memory.
    pub fn to_vec(&self) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.length as usize);
        for piece in &self.pieces {
            match piece {
                Piece::Memory(bytes) => out.extend_from_slice(bytes),
                Piece::File(range) => out.extend_from_slice(&range.read_to_vec()?),
            }
        }
        Ok(out)
    }
}

/// Builds a frame: bytes are written into a buffer, file ranges cut it into pieces.
/// The length prefix is reserved at the start and filled in by `finish` from the
/// exact sum of the pieces.
#[derive(Debug)]
pub struct FrameBuilder {
    buffer: BytesMut,
    pieces: Vec<PieceMut>,
}

#[derive(Debug)]
enum PieceMut {
    Memory(BytesMut),
    File(FileRange),
}

impl Default for FrameBuilder {
    fn default() -> FrameBuilder {
        FrameBuilder::new()
    }
}

impl FrameBuilder {
    pub fn new() -> FrameBuilder {
        let mut buffer = BytesMut::with_capacity(256);
        buffer.put_i32(0); // the length, filled in by finish
        FrameBuilder {
            buffer,
            pieces: Vec::new(),
        }
    }

    /// The in-memory buffer the next bytes go to.
    pub fn buffer(&mut self) -> &mut BytesMut {
        &mut self.buffer
    }

    /// Appends a file range; an empty one adds nothing.
    pub fn put_file(&mut self, range: FileRange) {
        if range.length == 0 {
            return;
        }
        if !self.buffer.is_empty() {
            self.pieces.push(PieceMut::Memory(self.buffer.split()));
        }
        self.pieces.push(PieceMut::File(range));
    }

    /// Fills in the length prefix. Fails when the frame would not fit Kafka's i32
    /// frame length.
    pub fn finish(mut self) -> io::Result<ResponseFrame> {
        if !self.buffer.is_empty() {
            self.pieces.push(PieceMut::Memory(self.buffer));
        }
        let length: u64 = self
            .pieces
            .iter()
            .map(|piece| match piece {
                PieceMut::Memory(bytes) => bytes.len() as u64,
                PieceMut::File(range) => range.length,
            })
            .sum();
        let body = length - FRAME_LENGTH_BYTES as u64;
        let body = i32::try_from(body).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a response of {body} bytes does not fit a Kafka frame"),
            )
        })?;
        let Some(PieceMut::Memory(first)) = self.pieces.first_mut() else {
            unreachable!("the length prefix is the first memory piece");
        };
        first[..FRAME_LENGTH_BYTES].copy_from_slice(&body.to_be_bytes());
        let pieces = self
            .pieces
            .into_iter()
            .map(|piece| match piece {
                PieceMut::Memory(bytes) => Piece::Memory(bytes.freeze()),
                PieceMut::File(range) => Piece::File(range),
            })
            .collect();
        Ok(ResponseFrame { pieces, length })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn builder_cuts_pieces_and_fills_the_length() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"0123456789").unwrap();
        let file = Arc::new(file);
        let mut builder = FrameBuilder::new();
        builder.buffer().put_slice(b"head");
        builder.put_file(FileRange {
            file: file.clone(),
            position: 2,
            length: 3,
        });
        builder.put_file(FileRange {
            file: file.clone(),
            position: 0,
            length: 0,
        });
        builder.buffer().put_slice(b"mid");
        builder.put_file(FileRange {
            file,
            position: 7,
            length: 3,
        });
        let frame = builder.finish().unwrap();
        assert_eq!(frame.pieces().len(), 4, "{frame:?}");
        assert!(frame.has_file_ranges());
        assert_eq!(frame.len(), 4 + 4 + 3 + 3 + 3);
        assert_eq!(frame.to_vec().unwrap(), b"\0\0\0\x0dhead234mid789");
    }

    #[test]
    fn a_memory_only_frame_is_one_piece() {
        let mut builder = FrameBuilder::new();
        builder.buffer().put_slice(b"ab");
        let frame = builder.finish().unwrap();
        assert_eq!(frame.pieces().len(), 1);
        assert!(!frame.has_file_ranges());
        assert_eq!(frame.to_vec().unwrap(), b"\0\0\0\x02ab");
    }
}
