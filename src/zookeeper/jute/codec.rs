//! Jute primitives: the big-endian binary encoding under every ZooKeeper record.
//!
//! `int` is 4 bytes, `long` 8, `boolean` 1 (any non-zero byte reads as true, as
//! Java's `DataInput.readBoolean` does), `buffer` and `ustring` are an `int` length
//! followed by that many bytes (-1 means null), and `vector` is an `int` count
//! followed by the elements (-1 means null). The decoder never panics: every length
//! is checked against the bytes that remain and against `buffer_bytes_max`.

use thiserror::Error;

/// Apache's `jute.maxbuffer` default: the largest frame a server accepts.
pub const JUTE_MAX_BUFFER_DEFAULT: usize = 0xfffff;

/// Apache accepts a single buffer or string of up to `jute.maxbuffer` plus
/// `zookeeper.jute.maxbuffer.extrasize` (which defaults to `jute.maxbuffer`).
pub const BUFFER_BYTES_MAX_DEFAULT: usize = 2 * JUTE_MAX_BUFFER_DEFAULT;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JuteError {
    /// The input ended early. For a stream this means "wait for more bytes"; inside
    /// a complete frame it means the record was truncated.
    #[error("incomplete input: {needed} more bytes needed")]
    Incomplete { needed: usize },
    /// The bytes can never decode: a negative or oversized length, an unknown
    /// discriminant, or a structure Apache would also refuse.
    #[error("malformed input: {0}")]
    Malformed(String),
}

pub type JuteResult<T> = Result<T, JuteError>;

/// Reads jute primitives from a byte slice.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
    position: usize,
    buffer_bytes_max: usize,
}

impl<'a> Decoder<'a> {
    /// A decoder that refuses any single buffer, string or vector longer than
    /// `buffer_bytes_max`.
    pub fn new(bytes: &'a [u8], buffer_bytes_max: usize) -> Self {
        Decoder {
            bytes,
            position: 0,
            buffer_bytes_max,
        }
    }

    /// A decoder with Apache's default limits.
    pub fn with_default_limit(bytes: &'a [u8]) -> Self {
        Self::new(bytes, BUFFER_BYTES_MAX_DEFAULT)
    }

    pub fn position(&self) -> usize {
        self.position
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    pub fn is_at_end(&self) -> bool {
        self.remaining() == 0
    }

    /// The bytes not yet read.
    pub fn rest(&self) -> &'a [u8] {
        &self.bytes[self.position..]
    }

    fn take(&mut self, count: usize) -> JuteResult<&'a [u8]> {
        if count > self.remaining() {
            return Err(JuteError::Incomplete {
                needed: count - self.remaining(),
            });
        }
        let slice = &self.bytes[self.position..self.position + count];
        self.position += count;
        Ok(slice)
    }

    pub fn read_u8(&mut self) -> JuteResult<u8> {
        Ok(self.take(1)?[0])
    }

    pub fn read_bool(&mut self) -> JuteResult<bool> {
        Ok(self.read_u8()? != 0)
    }

    pub fn read_i32(&mut self) -> JuteResult<i32> {
        let bytes = self.take(4)?;
        Ok(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    pub fn read_i64(&mut self) -> JuteResult<i64> {
        let bytes = self.take(8)?;
        let mut array = [0u8; 8];
        array.copy_from_slice(bytes);
        Ok(i64::from_be_bytes(array))
    }

    /// Reads a length prefix: `None` for -1 (null), an error for any other negative
    /// value or one over the limit.
    fn read_length(&mut self, what: &str) -> JuteResult<Option<usize>> {
        let length = self.read_i32()?;
        if length == -1 {
            return Ok(None);
        }
        if length < 0 || length as usize > self.buffer_bytes_max {
            return Err(JuteError::Malformed(format!(
                "unreasonable {what} length {length} (limit {})",
                self.buffer_bytes_max
            )));
        }
        Ok(Some(length as usize))
    }

    /// A `buffer`; `None` is the null buffer (length -1).
    pub fn read_buffer(&mut self) -> JuteResult<Option<Vec<u8>>> {
        match self.read_length("buffer")? {
            None => Ok(None),
            Some(length) => Ok(Some(self.take(length)?.to_vec())),
        }
    }

    /// A `ustring`; `None` is the null string. Invalid UTF-8 is replaced with
    /// U+FFFD, as Java's `new String(bytes, UTF_8)` does.
    pub fn read_ustring(&mut self) -> JuteResult<Option<String>> {
        match self.read_length("string")? {
            None => Ok(None),
            Some(length) => Ok(Some(
                String::from_utf8_lossy(self.take(length)?).into_owned(),
            )),
        }
    }

    /// A `vector` count; `None` is the null vector. The count is not trusted for
    /// allocation: callers grow their vectors as elements actually decode.
    pub fn read_vector_length(&mut self) -> JuteResult<Option<usize>> {
        let count = self.read_i32()?;
        if count == -1 {
            return Ok(None);
        }
        if count < 0 {
            return Err(JuteError::Malformed(format!(
                "negative vector length {count}"
            )));
        }
        Ok(Some(count as usize))
    }
}

/// Writes jute primitives.
pub fn write_i32(out: &mut Vec<u8>, value: i32) {
    out.extend_from_slice(&value.to_be_bytes());
}

pub fn write_i64(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(&value.to_be_bytes());
}

pub fn write_bool(out: &mut Vec<u8>, value: bool) {
    out.push(u8::from(value));
}

pub fn write_buffer(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => write_i32(out, -1),
        Some(bytes) => {
            write_i32(out, length_as_i32(bytes.len()));
            out.extend_from_slice(bytes);
        }
    }
}

pub fn write_ustring(out: &mut Vec<u8>, value: Option<&str>) {
    write_buffer(out, value.map(str::as_bytes));
}

/// Jute lengths are `int`s; anything bigger is a programmer error, since every
/// input was bounded by `jute.maxbuffer` long before it got here.
fn length_as_i32(length: usize) -> i32 {
    i32::try_from(length).expect("jute length exceeds i32::MAX")
}

/// Something with a jute encoding: a primitive, a record, or a vector of them.
pub trait Jute: Sized {
    fn write(&self, out: &mut Vec<u8>);
    fn read(input: &mut Decoder<'_>) -> JuteResult<Self>;
}

impl Jute for i32 {
    fn write(&self, out: &mut Vec<u8>) {
        write_i32(out, *self);
    }
    fn read(input: &mut Decoder<'_>) -> JuteResult<Self> {
        input.read_i32()
    }
}

impl Jute for i64 {
    fn write(&self, out: &mut Vec<u8>) {
        write_i64(out, *self);
    }
    fn read(input: &mut Decoder<'_>) -> JuteResult<Self> {
        input.read_i64()
    }
}

impl Jute for bool {
    fn write(&self, out: &mut Vec<u8>) {
        write_bool(out, *self);
    }
    fn read(input: &mut Decoder<'_>) -> JuteResult<Self> {
        input.read_bool()
    }
}

/// A `ustring` that is never meaningfully null: null decodes as "" (Apache would
/// fail later with a NullPointerException on such a field).
impl Jute for String {
    fn write(&self, out: &mut Vec<u8>) {
        write_ustring(out, Some(self));
    }
    fn read(input: &mut Decoder<'_>) -> JuteResult<Self> {
        Ok(input.read_ustring()?.unwrap_or_default())
    }
}

/// A `ustring` where null carries meaning (reconfig's member lists).
impl Jute for Option<String> {
    fn write(&self, out: &mut Vec<u8>) {
        write_ustring(out, self.as_deref());
    }
    fn read(input: &mut Decoder<'_>) -> JuteResult<Self> {
        input.read_ustring()
    }
}

/// A `buffer` where null carries meaning: znode data created as null is returned
/// as null (-1), not as an empty buffer.
impl Jute for Option<Vec<u8>> {
    fn write(&self, out: &mut Vec<u8>) {
        write_buffer(out, self.as_deref());
    }
    fn read(input: &mut Decoder<'_>) -> JuteResult<Self> {
        input.read_buffer()
    }
}

/// A `buffer` that is never meaningfully null (passwords, auth tokens).
impl Jute for Vec<u8> {
    fn write(&self, out: &mut Vec<u8>) {
        write_buffer(out, Some(self));
    }
    fn read(input: &mut Decoder<'_>) -> JuteResult<Self> {
        Ok(input.read_buffer()?.unwrap_or_default())
    }
}

/// A `vector`; null decodes as empty, which is how every Apache consumer of a
/// vector treats it.
impl<T: Jute + Element> Jute for Vec<T> {
    fn write(&self, out: &mut Vec<u8>) {
        write_i32(out, length_as_i32(self.len()));
        for element in self {
            element.write(out);
        }
    }
    fn read(input: &mut Decoder<'_>) -> JuteResult<Self> {
        let count = input.read_vector_length()?.unwrap_or(0);
        // Every element takes at least one byte, so the remaining input bounds a
        // hostile count before anything is allocated for it.
        let mut elements = Vec::with_capacity(count.min(input.remaining()));
        for _ in 0..count {
            elements.push(T::read(input)?);
        }
        Ok(elements)
    }
}

/// Marks the types that may be vector elements, so that `Vec<u8>` stays a buffer.
pub trait Element {}
impl Element for String {}
impl Element for i32 {}
impl Element for i64 {}

/// Encodes a value into a fresh byte vector.
pub fn to_bytes<T: Jute>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.write(&mut out);
    out
}

/// Decodes one value from the front of `bytes`; trailing bytes are ignored, as
/// Apache ignores them.
pub fn from_bytes<T: Jute>(bytes: &[u8], buffer_bytes_max: usize) -> JuteResult<T> {
    T::read(&mut Decoder::new(bytes, buffer_bytes_max))
}

/// Declares jute records: a struct with public fields, written and read in
/// declaration order, exactly as zookeeper.jute lists them.
macro_rules! jute_records {
    ($(
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* pub $field:ident : $type:ty ),* $(,)?
        }
    )*) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $type, )*
        }

        impl $crate::zookeeper::jute::codec::Jute for $name {
            #[allow(unused_variables)]
            fn write(&self, out: &mut Vec<u8>) {
                $( $crate::zookeeper::jute::codec::Jute::write(&self.$field, out); )*
            }
            #[allow(unused_variables)]
            fn read(
                input: &mut $crate::zookeeper::jute::codec::Decoder<'_>,
            ) -> $crate::zookeeper::jute::codec::JuteResult<Self> {
                Ok($name {
                    $( $field: <$type as $crate::zookeeper::jute::codec::Jute>::read(input)?, )*
                })
            }
        }

        impl $crate::zookeeper::jute::codec::Element for $name {}
    )*};
}
pub(crate) use jute_records;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_are_big_endian() {
        let mut out = Vec::new();
        write_i32(&mut out, 0x01020304);
        write_i64(&mut out, -2);
        write_bool(&mut out, true);
        assert_eq!(
            out,
            [1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 1]
        );
        let mut input = Decoder::with_default_limit(&out);
        assert_eq!(input.read_i32(), Ok(0x01020304));
        assert_eq!(input.read_i64(), Ok(-2));
        assert_eq!(input.read_bool(), Ok(true));
        assert!(input.is_at_end());
    }

    #[test]
    fn any_nonzero_byte_is_true() {
        assert_eq!(from_bytes::<bool>(&[7], 16), Ok(true));
        assert_eq!(from_bytes::<bool>(&[0], 16), Ok(false));
    }

    #[test]
    fn null_and_empty_buffers_differ() {
        assert_eq!(to_bytes(&None::<Vec<u8>>), [0xff, 0xff, 0xff, 0xff]);
        assert_eq!(to_bytes(&Some(Vec::<u8>::new())), [0, 0, 0, 0]);
        assert_eq!(to_bytes(&Some(b"ab".to_vec())), [0, 0, 0, 2, b'a', b'b']);
        assert_eq!(
            from_bytes::<Option<Vec<u8>>>(&[0xff, 0xff, 0xff, 0xff], 16),
            Ok(None)
        );
        // A never-null buffer reads null as empty.
        assert_eq!(
            from_bytes::<Vec<u8>>(&[0xff, 0xff, 0xff, 0xff], 16),
            Ok(vec![])
        );
    }

    #[test]
    fn strings_are_utf8_with_java_replacement() {
        assert_eq!(to_bytes(&"é".to_string()), [0, 0, 0, 2, 0xc3, 0xa9]);
        assert_eq!(
            from_bytes::<String>(&[0, 0, 0, 1, 0xff], 16),
            Ok("\u{fffd}".to_string())
        );
        assert_eq!(from_bytes::<Option<String>>(&[0xff; 4], 16), Ok(None));
    }

    #[test]
    fn truncated_input_is_incomplete() {
        assert_eq!(
            from_bytes::<i64>(&[0, 0, 0], 16),
            Err(JuteError::Incomplete { needed: 5 })
        );
        assert_eq!(
            from_bytes::<String>(&[0, 0, 0, 5, b'a'], 16),
            Err(JuteError::Incomplete { needed: 4 })
        );
    }

    #[test]
    fn hostile_lengths_are_malformed() {
        assert!(matches!(
            from_bytes::<String>(&[0xff, 0xff, 0xff, 0xfe], 16),
            Err(JuteError::Malformed(_))
        ));
        assert!(matches!(
            from_bytes::<Vec<u8>>(&[0, 0, 0, 17], 16),
            Err(JuteError::Malformed(_))
        ));
        assert!(matches!(
            from_bytes::<Vec<String>>(&[0x80, 0, 0, 0], 16),
            Err(JuteError::Malformed(_))
        ));
        // A huge vector count with no elements behind it allocates nothing and
        // reports the truncation.
        assert!(matches!(
            from_bytes::<Vec<String>>(&[0x7f, 0xff, 0xff, 0xff], 16),
            Err(JuteError::Incomplete { .. })
        ));
    }

    #[test]
    fn vectors_round_trip_and_null_reads_empty() {
        let names = vec!["a".to_string(), "bc".to_string()];
        let bytes = to_bytes(&names);
        assert_eq!(
            bytes,
            [0, 0, 0, 2, 0, 0, 0, 1, b'a', 0, 0, 0, 2, b'b', b'c']
        );
        assert_eq!(from_bytes::<Vec<String>>(&bytes, 16), Ok(names));
        assert_eq!(from_bytes::<Vec<String>>(&[0xff; 4], 16), Ok(vec![]));
    }
}
