//! The primitive encodings Kafka's generated message classes use, in both flavours:
//! classic (int16-length strings, int32-count arrays) and flexible (KIP-482: compact
//! strings and arrays with unsigned-varint lengths plus one, and a tagged-field
//! section closing every struct).
//!
//! `Reader` never panics and never allocates more than the bytes left can justify:
//! every count is checked against the remaining input before anything is reserved.
//! The read rules follow the generated Java readers (`MessageDataGenerator`): a
//! negative length means null, which only nullable fields accept; strings over
//! 0x7fff bytes are refused; invalid UTF-8 is replaced, as `new String(bytes, UTF_8)`
//! does. Writers follow the generated Java writers, including the order and
//! collision checks of `RawTaggedFieldWriter`.

use bytes::{BufMut, Bytes, BytesMut};
use uuid::Uuid;

/// Kafka's longest string (`Short.MAX_VALUE` bytes), for both string flavours.
pub const STRING_BYTES_MAX: usize = 0x7fff;

/// An unsigned varint takes at most this many bytes (`ByteUtils.readUnsignedVarint`).
const UNSIGNED_VARINT_BYTES_MAX: usize = 5;

/// The smallest encoded tagged field: a one-byte tag and a one-byte size.
const TAGGED_FIELD_BYTES_MIN: usize = 2;

/// Why bytes are not a valid message, or a message cannot be written at a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("{field}: needs {needed} more bytes, {remaining} left")]
    Truncated {
        field: &'static str,
        needed: usize,
        remaining: usize,
    },
    #[error("{field}: unsigned varint longer than 5 bytes")]
    VarintTooLong { field: &'static str },
    #[error("non-nullable field {field} was serialized as null")]
    UnexpectedNull { field: &'static str },
    #[error("{field}: string of {length} bytes, over Kafka's 32767")]
    StringTooLong { field: &'static str, length: usize },
    #[error("{field}: {count} entries cannot fit in the {remaining} bytes left")]
    CountTooLarge {
        field: &'static str,
        count: i64,
        remaining: usize,
    },
    #[error("tagged field {tag} of {field} has {size} bytes, expected {expected}")]
    TaggedFieldSize {
        field: &'static str,
        tag: u32,
        size: usize,
        expected: usize,
    },
    #[error("{field}: tag {tag} is not valid for version {version}")]
    TagNotInVersion {
        field: &'static str,
        tag: u32,
        version: i16,
    },
    #[error("{message} has no version {version} in Kafka 3.9")]
    UnsupportedVersion { message: &'static str, version: i16 },
    #[error("{field} holds a non-default value, which version {version} cannot carry")]
    FieldNotInVersion { field: &'static str, version: i16 },
    #[error("unknown tagged fields are set, but version {version} is not flexible")]
    TaggedFieldsInClassicVersion { version: i16 },
    #[error("unknown tagged field {tag} is not above the tag before it or reuses a known tag")]
    TaggedFieldOrder { tag: u32 },
    #[error("{field}: {length} entries or bytes do not fit Kafka's length prefix")]
    TooLongToEncode { field: &'static str, length: usize },
    #[error("API key {0} is not an inter-broker API this module decodes")]
    UnknownApiKey(i16),
}

/// A tagged field this code has no name for, kept so re-encoding gives the same
/// bytes (Java's `RawTaggedField`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTaggedField {
    pub tag: u32,
    pub data: Bytes,
}

/// A bounds-checked cursor over one message's bytes.
pub struct Reader<'a> {
    bytes: &'a [u8],
    flexible: bool,
}

impl<'a> Reader<'a> {
    /// `flexible`: whether lengths are compact (the message version is flexible).
    pub fn new(bytes: &'a [u8], flexible: bool) -> Self {
        Reader { bytes, flexible }
    }

    pub fn flexible(&self) -> bool {
        self.flexible
    }

    /// Request header v2 is flexible but keeps a classic client id.
    pub fn set_flexible(&mut self, flexible: bool) {
        self.flexible = flexible;
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    fn take(&mut self, count: usize, field: &'static str) -> Result<&'a [u8], WireError> {
        if self.bytes.len() < count {
            return Err(WireError::Truncated {
                field,
                needed: count,
                remaining: self.bytes.len(),
            });
        }
        let (head, tail) = self.bytes.split_at(count);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], WireError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    pub fn i8(&mut self, field: &'static str) -> Result<i8, WireError> {
        Ok(i8::from_be_bytes(self.array(field)?))
    }

    /// Kafka reads any non-zero byte as true.
    pub fn bool(&mut self, field: &'static str) -> Result<bool, WireError> {
        Ok(self.i8(field)? != 0)
    }

    pub fn i16(&mut self, field: &'static str) -> Result<i16, WireError> {
        Ok(i16::from_be_bytes(self.array(field)?))
    }

    pub fn i32(&mut self, field: &'static str) -> Result<i32, WireError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    pub fn i64(&mut self, field: &'static str) -> Result<i64, WireError> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    /// Most significant 8 bytes first, as Java's `Uuid(msb, lsb)`.
    pub fn uuid(&mut self, field: &'static str) -> Result<Uuid, WireError> {
        Ok(Uuid::from_bytes(self.array(field)?))
    }

    /// `ByteUtils.readUnsignedVarint`: up to 5 bytes, bits past 32 dropped as Java's
    /// int arithmetic drops them.
    pub fn unsigned_varint(&mut self, field: &'static str) -> Result<u32, WireError> {
        let mut value: u32 = 0;
        for index in 0..UNSIGNED_VARINT_BYTES_MAX {
            let byte = self.take(1, field)?[0];
            value |= u32::from(byte & 0x7f).wrapping_shl(7 * index as u32);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WireError::VarintTooLong { field })
    }

    /// A length prefix as the generated code computes it: int16 for classic strings,
    /// int32 for classic arrays, `varint - 1` (in Java's wrapping int) for compact ones.
    fn length(&mut self, is_string: bool, field: &'static str) -> Result<i32, WireError> {
        if self.flexible {
            Ok((self.unsigned_varint(field)? as i32).wrapping_sub(1))
        } else if is_string {
            Ok(i32::from(self.i16(field)?))
        } else {
            self.i32(field)
        }
    }

    pub fn nullable_string(&mut self, field: &'static str) -> Result<Option<String>, WireError> {
        let length = self.length(true, field)?;
        if length < 0 {
            return Ok(None);
        }
        let length = length as usize;
        if length > STRING_BYTES_MAX {
            return Err(WireError::StringTooLong { field, length });
        }
        let bytes = self.take(length, field)?;
        Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
    }

    pub fn string(&mut self, field: &'static str) -> Result<String, WireError> {
        self.nullable_string(field)?
            .ok_or(WireError::UnexpectedNull { field })
    }

    /// A non-nullable array's entry count, refused when the bytes left cannot hold
    /// that many entries of at least `entry_bytes_min` bytes each, so a hostile count
    /// reserves nothing.
    pub fn count(
        &mut self,
        entry_bytes_min: usize,
        field: &'static str,
    ) -> Result<usize, WireError> {
        let count = self.length(false, field)?;
        if count < 0 {
            return Err(WireError::UnexpectedNull { field });
        }
        let count = count as usize;
        if count.saturating_mul(entry_bytes_min.max(1)) > self.remaining() {
            return Err(WireError::CountTooLarge {
                field,
                count: count as i64,
                remaining: self.remaining(),
            });
        }
        Ok(count)
    }

    /// A non-nullable `[]int32`.
    pub fn i32_array(&mut self, field: &'static str) -> Result<Vec<i32>, WireError> {
        let count = self.count(4, field)?;
        let mut values = Vec::with_capacity(count);
        for _ in 0..count {
            values.push(self.i32(field)?);
        }
        Ok(values)
    }

    /// Decodes each entry of a non-nullable struct array with `entry`.
    pub fn struct_array<T>(
        &mut self,
        entry_bytes_min: usize,
        field: &'static str,
        mut entry: impl FnMut(&mut Self) -> Result<T, WireError>,
    ) -> Result<Vec<T>, WireError> {
        let count = self.count(entry_bytes_min, field)?;
        let mut values = Vec::with_capacity(count);
        for _ in 0..count {
            values.push(entry(self)?);
        }
        Ok(values)
    }

    /// A tagged-field section. `known` is called with each tag and its bytes and
    /// answers whether it consumed them; the rest are kept, in read order.
    pub fn tagged_fields(
        &mut self,
        field: &'static str,
        mut known: impl FnMut(u32, &[u8]) -> Result<bool, WireError>,
    ) -> Result<Vec<RawTaggedField>, WireError> {
        let count = self.unsigned_varint(field)? as i32;
        if count < 0 || (count as usize).saturating_mul(TAGGED_FIELD_BYTES_MIN) > self.remaining() {
            return Err(WireError::CountTooLarge {
                field,
                count: i64::from(count),
                remaining: self.remaining(),
            });
        }
        let mut unknown = Vec::new();
        for _ in 0..count {
            let tag = self.unsigned_varint(field)?;
            let size = self.unsigned_varint(field)? as usize;
            let data = self.take(size, field)?;
            if !known(tag, data)? {
                unknown.push(RawTaggedField {
                    tag,
                    data: Bytes::copy_from_slice(data),
                });
            }
        }
        Ok(unknown)
    }

    /// A tagged-field section of a struct with no known tagged fields.
    pub fn unknown_tagged_fields(
        &mut self,
        field: &'static str,
    ) -> Result<Vec<RawTaggedField>, WireError> {
        self.tagged_fields(field, |_, _| Ok(false))
    }
}

/// Appends Kafka encodings to a buffer. On an error the buffer holds part of a
/// message; callers discard it.
pub struct Writer<'a> {
    out: &'a mut BytesMut,
    flexible: bool,
}

impl<'a> Writer<'a> {
    pub fn new(out: &'a mut BytesMut, flexible: bool) -> Self {
        Writer { out, flexible }
    }

    pub fn flexible(&self) -> bool {
        self.flexible
    }

    /// Request header v2 is flexible but keeps a classic client id.
    pub fn set_flexible(&mut self, flexible: bool) {
        self.flexible = flexible;
    }

    pub fn i8(&mut self, value: i8) {
        self.out.put_i8(value);
    }

    pub fn bool(&mut self, value: bool) {
        self.out.put_u8(u8::from(value));
    }

    pub fn i16(&mut self, value: i16) {
        self.out.put_i16(value);
    }

    pub fn i32(&mut self, value: i32) {
        self.out.put_i32(value);
    }

    pub fn i64(&mut self, value: i64) {
        self.out.put_i64(value);
    }

    pub fn uuid(&mut self, value: Uuid) {
        self.out.put_slice(value.as_bytes());
    }

    pub fn unsigned_varint(&mut self, mut value: u32) {
        while value >= 0x80 {
            self.out.put_u8((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.out.put_u8(value as u8);
    }

    pub fn nullable_string(
        &mut self,
        value: Option<&str>,
        field: &'static str,
    ) -> Result<(), WireError> {
        let Some(value) = value else {
            if self.flexible {
                self.unsigned_varint(0);
            } else {
                self.i16(-1);
            }
            return Ok(());
        };
        if value.len() > STRING_BYTES_MAX {
            return Err(WireError::StringTooLong {
                field,
                length: value.len(),
            });
        }
        if self.flexible {
            self.unsigned_varint(value.len() as u32 + 1);
        } else {
            self.i16(value.len() as i16);
        }
        self.out.put_slice(value.as_bytes());
        Ok(())
    }

    pub fn string(&mut self, value: &str, field: &'static str) -> Result<(), WireError> {
        self.nullable_string(Some(value), field)
    }

    /// An array's count prefix.
    pub fn count(&mut self, count: usize, field: &'static str) -> Result<(), WireError> {
        // Java's collections hold at most Integer.MAX_VALUE entries; compact counts
        // are that plus one in an unsigned varint, which still fits.
        if count > i32::MAX as usize {
            return Err(WireError::TooLongToEncode {
                field,
                length: count,
            });
        }
        if self.flexible {
            self.unsigned_varint(count as u32 + 1);
        } else {
            self.i32(count as i32);
        }
        Ok(())
    }

    pub fn i32_array(&mut self, values: &[i32], field: &'static str) -> Result<(), WireError> {
        self.count(values.len(), field)?;
        for &value in values {
            self.i32(value);
        }
        Ok(())
    }

    pub fn struct_array<T>(
        &mut self,
        values: &[T],
        field: &'static str,
        mut entry: impl FnMut(&mut Self, &T) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        self.count(values.len(), field)?;
        for value in values {
            entry(self, value)?;
        }
        Ok(())
    }

    /// Closes a struct: in flexible versions, its tagged-field section (`known`
    /// holds the non-default known tagged fields, by ascending tag, already
    /// encoded); in classic versions, nothing, and unknown fields are an error.
    /// `version` is only for the error.
    pub fn tagged_fields(
        &mut self,
        known: &[(u32, &[u8])],
        unknown: &[RawTaggedField],
        version: i16,
    ) -> Result<(), WireError> {
        if !self.flexible {
            if !unknown.is_empty() || !known.is_empty() {
                return Err(WireError::TaggedFieldsInClassicVersion { version });
            }
            return Ok(());
        }
        // RawTaggedFieldWriter: unknown tags strictly ascending (as Java ints) and
        // never equal to a known tag; they are interleaved with the known ones.
        let mut previous_tag: Option<i32> = None;
        for field in unknown {
            let tag = field.tag as i32;
            if previous_tag.is_some_and(|previous| tag <= previous)
                || known.iter().any(|(known_tag, _)| *known_tag == field.tag)
            {
                return Err(WireError::TaggedFieldOrder { tag: field.tag });
            }
            previous_tag = Some(tag);
        }
        self.unsigned_varint((known.len() + unknown.len()) as u32);
        let mut unknown = unknown.iter().peekable();
        for (tag, data) in known {
            while let Some(field) = unknown.next_if(|field| (field.tag as i32) < (*tag as i32)) {
                self.raw_tagged_field(field.tag, &field.data);
            }
            self.raw_tagged_field(*tag, data);
        }
        for field in unknown {
            self.raw_tagged_field(field.tag, &field.data);
        }
        Ok(())
    }

    fn raw_tagged_field(&mut self, tag: u32, data: &[u8]) {
        self.unsigned_varint(tag);
        self.unsigned_varint(data.len() as u32);
        self.out.put_slice(data);
    }
}

/// Refuses to write a non-ignorable field whose value differs from its default at
/// a version without it, as the generated writers throw `UnsupportedVersionException`.
pub fn check_not_in_version(
    is_default: bool,
    field: &'static str,
    version: i16,
) -> Result<(), WireError> {
    if is_default {
        Ok(())
    } else {
        Err(WireError::FieldNotInVersion { field, version })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_varint_round_trips_and_refuses_six_bytes() {
        for value in [0u32, 1, 127, 128, 300, 16_383, 16_384, u32::MAX] {
            let mut out = BytesMut::new();
            Writer::new(&mut out, true).unsigned_varint(value);
            let mut reader = Reader::new(&out, true);
            assert_eq!(reader.unsigned_varint("v").unwrap(), value);
            assert_eq!(reader.remaining(), 0);
        }
        let mut reader = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01], true);
        assert_eq!(
            reader.unsigned_varint("v"),
            Err(WireError::VarintTooLong { field: "v" })
        );
    }

    #[test]
    fn null_lengths_are_null_only_where_nullable() {
        let mut reader = Reader::new(&[0xff, 0xfe], false);
        assert_eq!(reader.nullable_string("s").unwrap(), None);
        let mut reader = Reader::new(&[0x00], true);
        assert_eq!(reader.nullable_string("s").unwrap(), None);
        let mut reader = Reader::new(&[0xff, 0xff], false);
        assert_eq!(
            reader.string("s"),
            Err(WireError::UnexpectedNull { field: "s" })
        );
        let mut reader = Reader::new(&[0xff, 0xff, 0xff, 0xff], false);
        assert_eq!(
            reader.i32_array("a"),
            Err(WireError::UnexpectedNull { field: "a" })
        );
    }

    #[test]
    fn hostile_counts_are_refused_before_reserving() {
        let mut reader = Reader::new(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1], false);
        assert!(matches!(
            reader.i32_array("a"),
            Err(WireError::CountTooLarge { .. })
        ));
        let mut reader = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x07], true);
        assert!(matches!(
            reader.unknown_tagged_fields("t"),
            Err(WireError::CountTooLarge { .. })
        ));
    }

    #[test]
    fn long_strings_are_refused_both_ways() {
        // A classic length below -1 is still null, as Java's `length < 0` test.
        let mut reader = Reader::new(&[0x80, 0x00], false);
        assert!(matches!(reader.nullable_string("s"), Ok(None)));
        let mut reader = Reader::new(&[0x81, 0x80, 0x02], true);
        assert!(matches!(
            reader.string("s"),
            Err(WireError::StringTooLong { length: 32_768, .. })
        ));
        let mut out = BytesMut::new();
        let long = "x".repeat(STRING_BYTES_MAX + 1);
        assert!(Writer::new(&mut out, true).string(&long, "s").is_err());
    }

    #[test]
    fn unknown_tags_must_ascend_and_avoid_known_tags() {
        let field = |tag| RawTaggedField {
            tag,
            data: Bytes::new(),
        };
        let mut out = BytesMut::new();
        let mut writer = Writer::new(&mut out, true);
        assert!(writer.tagged_fields(&[], &[field(2), field(1)], 8).is_err());
        assert!(writer.tagged_fields(&[(1, &[7])], &[field(1)], 8).is_err());
        let mut out = BytesMut::new();
        Writer::new(&mut out, true)
            .tagged_fields(&[(1, &[7])], &[field(0), field(3)], 8)
            .unwrap();
        assert_eq!(&out[..], &[3, 0, 0, 1, 1, 7, 3, 0]);
        let mut out = BytesMut::new();
        assert_eq!(
            Writer::new(&mut out, false).tagged_fields(&[], &[field(0)], 1),
            Err(WireError::TaggedFieldsInClassicVersion { version: 1 })
        );
    }
}
