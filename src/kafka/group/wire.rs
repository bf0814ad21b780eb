//! Kafka's primitive encodings for the `__consumer_offsets` records: big-endian
//! integers, `int16`-length strings, `int32`-length bytes and arrays, and the
//! "compact" (unsigned varint length + 1) forms with tagged fields used by
//! flexible versions. Reading never panics: short or malformed input is an error.

use super::records::RecordError;

/// Appends encodings to a byte vector.
#[derive(Debug, Default)]
pub struct Writer {
    pub bytes: Vec<u8>,
}

impl Writer {
    pub fn i16(&mut self, v: i16) {
        self.bytes.extend_from_slice(&v.to_be_bytes());
    }

    pub fn i32(&mut self, v: i32) {
        self.bytes.extend_from_slice(&v.to_be_bytes());
    }

    pub fn i64(&mut self, v: i64) {
        self.bytes.extend_from_slice(&v.to_be_bytes());
    }

    pub fn uvarint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.bytes.push((v as u8 & 0x7F) | 0x80);
            v >>= 7;
        }
        self.bytes.push(v as u8);
    }

    /// A string, compact when `flexible`.
    pub fn string(&mut self, s: &str, flexible: bool) {
        self.nullable_string(Some(s), flexible);
    }

    pub fn nullable_string(&mut self, s: Option<&str>, flexible: bool) {
        match (s, flexible) {
            (None, false) => self.i16(-1),
            (None, true) => self.uvarint(0),
            (Some(s), false) => {
                let len = i16::try_from(s.len()).expect("string longer than i16::MAX bytes");
                self.i16(len);
                self.bytes.extend_from_slice(s.as_bytes());
            }
            (Some(s), true) => {
                self.uvarint(s.len() as u32 + 1);
                self.bytes.extend_from_slice(s.as_bytes());
            }
        }
    }

    pub fn bytes(&mut self, b: &[u8], flexible: bool) {
        if flexible {
            self.uvarint(b.len() as u32 + 1);
        } else {
            let len = i32::try_from(b.len()).expect("bytes longer than i32::MAX");
            self.i32(len);
        }
        self.bytes.extend_from_slice(b);
    }

    pub fn array_len(&mut self, len: usize, flexible: bool) {
        if flexible {
            self.uvarint(len as u32 + 1);
        } else {
            self.i32(i32::try_from(len).expect("array longer than i32::MAX"));
        }
    }

    /// An empty tagged-field section; keel writes no tagged fields.
    pub fn no_tagged_fields(&mut self) {
        self.uvarint(0);
    }
}

/// Reads encodings from a byte slice.
#[derive(Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        if self.rest.len() < n {
            return Err(RecordError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub fn i16(&mut self) -> Result<i16, RecordError> {
        Ok(i16::from_be_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }

    pub fn i32(&mut self) -> Result<i32, RecordError> {
        Ok(i32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    pub fn i64(&mut self) -> Result<i64, RecordError> {
        Ok(i64::from_be_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    pub fn uvarint(&mut self) -> Result<u32, RecordError> {
        let mut value: u32 = 0;
        // A u32 needs at most five 7-bit groups.
        for shift in (0..35).step_by(7) {
            let byte = self.take(1)?[0];
            value |= u32::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(RecordError::Malformed("varint longer than 5 bytes"))
    }

    /// The length of a string/bytes/array field, `None` when null.
    fn length(&mut self, flexible: bool, wide: bool) -> Result<Option<usize>, RecordError> {
        if flexible {
            let n = self.uvarint()?;
            Ok(if n == 0 { None } else { Some(n as usize - 1) })
        } else {
            let n = if wide {
                self.i32()?
            } else {
                i32::from(self.i16()?)
            };
            match n {
                -1 => Ok(None),
                n if n < 0 => Err(RecordError::Malformed("negative length")),
                n => Ok(Some(n as usize)),
            }
        }
    }

    pub fn nullable_string(&mut self, flexible: bool) -> Result<Option<String>, RecordError> {
        match self.length(flexible, false)? {
            None => Ok(None),
            Some(n) => {
                let raw = self.take(n)?;
                let s = std::str::from_utf8(raw)
                    .map_err(|_| RecordError::Malformed("string is not UTF-8"))?;
                Ok(Some(s.to_owned()))
            }
        }
    }

    pub fn string(&mut self, flexible: bool) -> Result<String, RecordError> {
        self.nullable_string(flexible)?
            .ok_or(RecordError::Malformed("null in a non-nullable string"))
    }

    pub fn bytes(&mut self, flexible: bool) -> Result<Vec<u8>, RecordError> {
        match self.length(flexible, true)? {
            None => Err(RecordError::Malformed("null in non-nullable bytes")),
            Some(n) => Ok(self.take(n)?.to_vec()),
        }
    }

    pub fn array_len(&mut self, flexible: bool) -> Result<usize, RecordError> {
        let n = self
            .length(flexible, true)?
            .ok_or(RecordError::Malformed("null in a non-nullable array"))?;
        // Every element takes at least one byte, so a longer count is a lie that
        // would otherwise make us reserve absurd amounts of memory.
        if n > self.rest.len() {
            return Err(RecordError::Truncated);
        }
        Ok(n)
    }

    /// Skips a tagged-field section; none of these records defines tags yet.
    pub fn skip_tagged_fields(&mut self) -> Result<(), RecordError> {
        let count = self.uvarint()?;
        for _ in 0..count {
            let _tag = self.uvarint()?;
            let size = self.uvarint()? as usize;
            self.take(size)?;
        }
        Ok(())
    }
}
