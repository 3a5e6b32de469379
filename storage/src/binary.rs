//! Little-endian, length-prefixed encoding for the engine's own structures (WAL record
//! payloads, segment footers, the manifest, the series log). Column data uses the codecs
//! instead. Readers never panic and never allocate more than the input can hold.

/// Appends primitive values to a byte vector.
#[derive(Debug, Default)]
pub(crate) struct ByteWriter {
    bytes: Vec<u8>,
}

impl ByteWriter {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    pub(crate) fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn i64(&mut self, value: i64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn f64(&mut self, value: f64) {
        self.u64(value.to_bits());
    }

    /// Unsigned LEB128.
    pub(crate) fn var(&mut self, value: u64) {
        let mut value = value;
        while value >= 0x80 {
            self.bytes.push(low_seven_bits(value) | 0x80);
            value >>= 7;
        }
        self.bytes.push(low_seven_bits(value));
    }

    /// A `usize` as unsigned LEB128 (lengths and counts).
    pub(crate) fn len_var(&mut self, value: usize) {
        self.var(value as u64);
    }

    pub(crate) fn bytes(&mut self, value: &[u8]) {
        self.len_var(value.len());
        self.bytes.extend_from_slice(value);
    }

    pub(crate) fn str(&mut self, value: &str) {
        self.bytes(value.as_bytes());
    }

    pub(crate) fn raw(&mut self, value: &[u8]) {
        self.bytes.extend_from_slice(value);
    }
}

fn low_seven_bits(value: u64) -> u8 {
    u8::try_from(value & 0x7f).expect("masked to seven bits")
}

/// Why a structure failed to decode; the caller adds the file and offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError(pub(crate) String);

pub(crate) type DecodeResult<T> = std::result::Result<T, DecodeError>;

/// Reads what [`ByteWriter`] wrote.
#[derive(Debug)]
pub(crate) struct ByteReader<'a> {
    input: &'a [u8],
    position: usize,
}

impl<'a> ByteReader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { input, position: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.position
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.position >= self.input.len()
    }

    pub(crate) fn remaining(&self) -> usize {
        self.input.len().saturating_sub(self.position)
    }

    pub(crate) fn take(&mut self, count: usize) -> DecodeResult<&'a [u8]> {
        let end = self
            .position
            .checked_add(count)
            .filter(|end| *end <= self.input.len());
        let Some(end) = end else {
            return Err(DecodeError(format!(
                "needs {count} bytes at offset {}, {} left",
                self.position,
                self.remaining()
            )));
        };
        let slice = self
            .input
            .get(self.position..end)
            .expect("bounds checked above");
        self.position = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> DecodeResult<[u8; N]> {
        let slice = self.take(N)?;
        Ok(slice.try_into().expect("take returned N bytes"))
    }

    pub(crate) fn u8(&mut self) -> DecodeResult<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> DecodeResult<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> DecodeResult<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> DecodeResult<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    pub(crate) fn f64(&mut self) -> DecodeResult<f64> {
        Ok(f64::from_bits(self.u64()?))
    }

    pub(crate) fn var(&mut self) -> DecodeResult<u64> {
        let start = self.position;
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self
                .u8()
                .map_err(|_| DecodeError(format!("truncated varint at {start}")))?;
            let low = u64::from(byte & 0x7f);
            if shift == 63 && low > 1 {
                break;
            }
            value |= low << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError(format!(
            "varint longer than 64 bits at offset {start}"
        )))
    }

    /// A length or count, refused when larger than the bytes left could hold at
    /// `bytes_per_item_min` bytes each (so garbage cannot cause a huge allocation).
    pub(crate) fn len_var(&mut self, bytes_per_item_min: usize) -> DecodeResult<usize> {
        let value = self.var()?;
        let value = usize::try_from(value)
            .map_err(|_| DecodeError(format!("length {value} does not fit in memory")))?;
        if value.saturating_mul(bytes_per_item_min) > self.remaining() {
            return Err(DecodeError(format!(
                "declares {value} items at offset {}, only {} bytes left",
                self.position,
                self.remaining()
            )));
        }
        Ok(value)
    }

    pub(crate) fn bytes(&mut self) -> DecodeResult<&'a [u8]> {
        let length = self.len_var(1)?;
        self.take(length)
    }

    pub(crate) fn str(&mut self) -> DecodeResult<&'a str> {
        let offset = self.position;
        std::str::from_utf8(self.bytes()?)
            .map_err(|_| DecodeError(format!("invalid UTF-8 string at offset {offset}")))
    }

    pub(crate) fn string(&mut self) -> DecodeResult<String> {
        self.str().map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_primitive() {
        let mut writer = ByteWriter::new();
        writer.u8(7);
        writer.u32(u32::MAX);
        writer.u64(u64::MAX);
        writer.i64(i64::MIN);
        writer.f64(-0.0);
        writer.var(300);
        writer.str("héllo");
        let bytes = writer.into_bytes();
        let mut reader = ByteReader::new(&bytes);
        assert_eq!(reader.u8().unwrap(), 7);
        assert_eq!(reader.u32().unwrap(), u32::MAX);
        assert_eq!(reader.u64().unwrap(), u64::MAX);
        assert_eq!(reader.i64().unwrap(), i64::MIN);
        assert_eq!(reader.f64().unwrap().to_bits(), (-0.0f64).to_bits());
        assert_eq!(reader.var().unwrap(), 300);
        assert_eq!(reader.str().unwrap(), "héllo");
        assert!(reader.is_empty());
    }

    #[test]
    fn refuses_lengths_beyond_the_input() {
        let mut writer = ByteWriter::new();
        writer.var(u64::MAX / 2);
        let bytes = writer.into_bytes();
        assert!(ByteReader::new(&bytes).bytes().is_err());
        assert!(ByteReader::new(&[0xff, 0xff]).var().is_err());
        assert!(ByteReader::new(&[1, 0xff]).str().is_err());
    }
}
