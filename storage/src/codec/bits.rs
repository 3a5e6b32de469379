//! Cursors shared by the codecs: [`ByteReader`] for byte-aligned fields (tags, varints, raw
//! words), [`BitWriter`] / [`BitReader`] for bit sections.
//!
//! Bits are written most significant first. A bit section always ends on a byte boundary,
//! padded with zero bits; [`ByteReader::bit_section`] refuses non-zero padding, so every
//! encoding has exactly one byte representation and its last byte always carries data.

use super::CodecError;
use crate::limits::CODEC_VALUES_MAX;

/// Appends a bit stream to a byte vector; call [`BitWriter::finish`] to flush the last byte.
#[derive(Debug)]
pub(crate) struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    /// Pending bits, right-aligned; only the low `pending_bits` bits are meaningful.
    pending: u64,
    /// Bits in `pending`, always below 64.
    pending_bits: u32,
}

impl<'a> BitWriter<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        Self {
            out,
            pending: 0,
            pending_bits: 0,
        }
    }

    /// Writes the low `count` bits of `value` (`count` ≤ 64; higher bits are ignored).
    pub(crate) fn write_bits(&mut self, value: u64, count: u32) {
        assert!(count <= 64, "at most 64 bits per write");
        if count == 0 {
            return;
        }
        let value = value & low_mask(count);
        let free = 64 - self.pending_bits;
        if count < free {
            self.pending = (self.pending << count) | value;
            self.pending_bits += count;
            return;
        }
        // The word fills up: emit it and keep the `spill` low bits of `value` pending.
        let spill = count - free;
        let high = value >> spill;
        let word = if free == 64 {
            high
        } else {
            (self.pending << free) | high
        };
        self.out.extend_from_slice(&word.to_be_bytes());
        self.pending = value & low_mask(spill);
        self.pending_bits = spill;
    }

    pub(crate) fn write_bit(&mut self, bit: bool) {
        self.write_bits(u64::from(bit), 1);
    }

    /// Writes `quotient` one bits and a closing zero bit.
    pub(crate) fn write_unary(&mut self, mut quotient: u64) {
        while quotient >= 32 {
            self.write_bits(u64::from(u32::MAX), 32);
            quotient -= 32;
        }
        // `quotient` < 32: ones followed by the terminating zero in one write.
        let ones = low_mask(u32::try_from(quotient).expect("below 32"));
        self.write_bits(ones << 1, u32::try_from(quotient).expect("below 32") + 1);
    }

    /// Pads the stream with zero bits to a whole byte and appends what is pending.
    pub(crate) fn finish(self) {
        if self.pending_bits == 0 {
            return;
        }
        let aligned = self.pending << (64 - self.pending_bits);
        let bytes = usize::try_from(self.pending_bits.div_ceil(8)).expect("at most 8");
        self.out.extend(aligned.to_be_bytes().iter().take(bytes));
    }
}

/// Reads a bit stream written by [`BitWriter`].
#[derive(Debug)]
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    /// Offset of `bytes` in the whole input, for error messages.
    base: usize,
    /// Next bit to read, counted from the start of `bytes`.
    position: usize,
}

impl<'a> BitReader<'a> {
    fn new(bytes: &'a [u8], base: usize) -> Self {
        Self {
            bytes,
            base,
            position: 0,
        }
    }

    /// Bits left before the end of the input.
    pub(crate) fn remaining_bits(&self) -> usize {
        self.bytes.len() * 8 - self.position
    }

    /// Reads `count` bits (≤ 64) as the low bits of the result.
    pub(crate) fn read_bits(&mut self, count: u32) -> Result<u64, CodecError> {
        assert!(count <= 64, "at most 64 bits per read");
        if count == 0 {
            return Ok(0);
        }
        let count_usize = usize::try_from(count).expect("at most 64");
        if count_usize > self.remaining_bits() {
            return Err(self.truncated(count_usize));
        }
        let first = self.position / 8;
        let offset = u32::try_from(self.position % 8).expect("below 8");
        let value = match self.bytes.get(first..first + 8) {
            Some(word) if offset + count <= 64 => {
                let word = u64::from_be_bytes(word.try_into().expect("8 bytes"));
                (word << offset) >> (64 - count)
            }
            _ => self.read_bits_slow(first, offset, count),
        };
        self.position += count_usize;
        Ok(value)
    }

    /// Near the end of the input, or for reads that straddle nine bytes.
    fn read_bits_slow(&self, first: usize, offset: u32, count: u32) -> u64 {
        let last = (self.position + usize::try_from(count).expect("at most 64") - 1) / 8;
        let mut window: u128 = 0;
        for &byte in self.bytes.get(first..=last).unwrap_or_default() {
            window = (window << 8) | u128::from(byte);
        }
        let window_bits = u32::try_from(last - first + 1).expect("at most 9") * 8;
        let shifted = window >> (window_bits - offset - count);
        u64::try_from(shifted & u128::from(low_mask(count))).expect("masked to 64 bits")
    }

    /// The next bits as the top of a word, at least 57 of them valid (the eight bytes from
    /// the cursor's byte, shifted past the bits already read); `None` within eight bytes of
    /// the end, where callers take the checked paths.
    #[inline]
    pub(crate) fn peek_word(&self) -> Option<u64> {
        let first = self.position / 8;
        let word: [u8; 8] = self.bytes.get(first..first + 8)?.try_into().ok()?;
        Some(u64::from_be_bytes(word) << (self.position % 8))
    }

    /// Skips `count` bits that [`Self::peek_word`] showed (`count` ≤ 57).
    #[inline]
    pub(crate) fn skip_peeked(&mut self, count: u32) {
        debug_assert!(count <= 57);
        self.position += count as usize;
    }

    /// Reads one Golomb-Rice code with parameter `k` (≤ 62): a unary quotient (at most
    /// `max`) then `k` remainder bits. One word load per code when it fits in the peeked
    /// bits, as nearly every code does; the checked reads otherwise.
    #[inline]
    pub(crate) fn read_rice(&mut self, k: u32, max: u64) -> Result<u64, CodecError> {
        if let Some(word) = self.peek_word() {
            let ones = word.leading_ones();
            if ones + 1 + k <= 57 {
                let quotient = u64::from(ones);
                if quotient > max {
                    return Err(CodecError::invalid("unary run", format!("above {max}")));
                }
                let remainder = match k {
                    0 => 0,
                    _ => (word << (ones + 1)) >> (64 - k),
                };
                self.skip_peeked(ones + 1 + k);
                return Ok((quotient << k) | remainder);
            }
        }
        let quotient = self.read_unary(max)?;
        let remainder = self.read_bits(k)?;
        Ok((quotient << k) | (remainder & low_mask(k)))
    }

    pub(crate) fn read_bit(&mut self) -> Result<bool, CodecError> {
        Ok(self.read_bits(1)? == 1)
    }

    /// Reads one bits up to and including a zero bit; returns how many ones there were.
    /// Refuses runs longer than `max` (a larger quotient cannot come from an encoder).
    pub(crate) fn read_unary(&mut self, max: u64) -> Result<u64, CodecError> {
        let mut ones = 0u64;
        loop {
            let available = u32::try_from(self.remaining_bits().min(32)).expect("at most 32");
            if available == 0 {
                return Err(self.truncated(1));
            }
            let chunk = self.read_bits(available)? << (64 - available);
            let run = chunk.leading_ones().min(available);
            ones += u64::from(run);
            if ones > max {
                return Err(CodecError::invalid("unary run", format!("above {max}")));
            }
            if run < available {
                // Give back the bits after the terminating zero.
                self.position -= usize::try_from(available - run - 1).expect("at most 32");
                return Ok(ones);
            }
        }
    }

    fn truncated(&self, bits_needed: usize) -> CodecError {
        let end_bit = self.position + bits_needed;
        CodecError::Truncated {
            available: self.base + self.bytes.len(),
            needed: end_bit.div_ceil(8) - self.bytes.len(),
        }
    }
}

/// Reads byte-aligned fields from the front of an encoding.
#[derive(Debug)]
pub(crate) struct ByteReader<'a> {
    input: &'a [u8],
    position: usize,
}

impl<'a> ByteReader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { input, position: 0 }
    }

    /// The bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.input.get(self.position..).unwrap_or_default()
    }

    pub(crate) fn read_u8(&mut self) -> Result<u8, CodecError> {
        let byte = *self.rest().first().ok_or_else(|| self.truncated(1))?;
        self.position += 1;
        Ok(byte)
    }

    pub(crate) fn read_bytes(&mut self, count: usize) -> Result<&'a [u8], CodecError> {
        let rest = self.rest();
        let bytes = rest
            .get(..count)
            .ok_or_else(|| self.truncated(count - rest.len()))?;
        self.position += count;
        Ok(bytes)
    }

    pub(crate) fn read_u64_le(&mut self) -> Result<u64, CodecError> {
        let bytes = self.read_bytes(8)?;
        Ok(u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    /// Reads a value count and refuses counts above [`CODEC_VALUES_MAX`].
    pub(crate) fn read_count(&mut self) -> Result<usize, CodecError> {
        let count = self.read_varint()?;
        match usize::try_from(count) {
            Ok(count) if count <= CODEC_VALUES_MAX => Ok(count),
            _ => Err(CodecError::TooManyValues {
                count,
                max: CODEC_VALUES_MAX,
            }),
        }
    }

    /// Runs `read` over a bit section starting here, then skips past its padded last byte.
    pub(crate) fn bit_section<T>(
        &mut self,
        read: impl FnOnce(&mut BitReader<'a>) -> Result<T, CodecError>,
    ) -> Result<T, CodecError> {
        let mut bits = BitReader::new(self.rest(), self.position);
        let value = read(&mut bits)?;
        let padding = u32::try_from((8 - bits.position % 8) % 8).expect("below 8");
        if bits.read_bits(padding)? != 0 {
            return Err(CodecError::invalid(
                "bit padding",
                "non-zero bits after the last value",
            ));
        }
        self.position += bits.position / 8;
        Ok(value)
    }

    /// Succeeds only when every byte has been read.
    pub(crate) fn finish(self) -> Result<(), CodecError> {
        match self.rest().len() {
            0 => Ok(()),
            extra => Err(CodecError::TrailingBytes { extra }),
        }
    }

    fn truncated(&self, needed: usize) -> CodecError {
        CodecError::Truncated {
            available: self.input.len(),
            needed,
        }
    }
}

/// Bits needed to write `value` (0 for 0).
pub(crate) fn bit_width(value: u64) -> u32 {
    64 - value.leading_zeros()
}

/// The low `count` bits set (`count` ≤ 64).
pub(crate) fn low_mask(count: u32) -> u64 {
    if count >= 64 {
        u64::MAX
    } else {
        (1u64 << count) - 1
    }
}

/// Reserves room for `count` decoded values, but never more than `bits_available` values
/// at `bits_per_value_min` bits each could fill (zero-bit values: the whole count, which
/// [`ByteReader::read_count`] has already capped).
pub(crate) fn reserve_decoded<T>(
    out: &mut Vec<T>,
    count: usize,
    bits_available: usize,
    bits_per_value_min: usize,
) {
    let fits = bits_available
        .checked_div(bits_per_value_min)
        .unwrap_or(count);
    out.reserve(count.min(fits));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(writes: &[(u64, u32)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut writer = BitWriter::new(&mut out);
        for &(value, count) in writes {
            writer.write_bits(value, count);
        }
        writer.finish();
        out
    }

    #[test]
    fn bits_round_trip_across_word_boundaries() {
        let writes: Vec<(u64, u32)> = (0..=64u32)
            .flat_map(|count| {
                [
                    (u64::MAX, count),
                    (0x5555_5555_5555_5555, count),
                    (1, count),
                ]
            })
            .collect();
        let bytes = written(&writes);
        let total: u32 = writes.iter().map(|&(_, c)| c).sum();
        assert_eq!(bytes.len(), usize::try_from(total.div_ceil(8)).unwrap());
        let mut input = ByteReader::new(&bytes);
        input
            .bit_section(|bits| {
                for &(value, count) in &writes {
                    assert_eq!(bits.read_bits(count)?, value & low_mask(count), "{count}");
                }
                Ok(())
            })
            .unwrap();
        input.finish().unwrap();
    }

    #[test]
    fn unary_round_trips_and_is_bounded() {
        let mut out = Vec::new();
        let mut writer = BitWriter::new(&mut out);
        for quotient in [0, 1, 31, 32, 33, 100] {
            writer.write_unary(quotient);
        }
        writer.finish();
        let mut input = ByteReader::new(&out);
        let read = input.bit_section(|bits| {
            (0..6)
                .map(|_| bits.read_unary(1000))
                .collect::<Result<Vec<_>, _>>()
        });
        assert_eq!(read.unwrap(), [0, 1, 31, 32, 33, 100]);
        let all_ones = [0xff; 20];
        let err = ByteReader::new(&all_ones).bit_section(|bits| bits.read_unary(100));
        assert!(matches!(
            err,
            Err(CodecError::Invalid {
                what: "unary run",
                ..
            })
        ));
        let err = ByteReader::new(&[0xff]).bit_section(|bits| bits.read_unary(100));
        assert!(matches!(err, Err(CodecError::Truncated { .. })));
    }

    #[test]
    fn padding_must_be_zero_and_counts_are_capped() {
        let err = ByteReader::new(&[0b1000_0001]).bit_section(|bits| bits.read_bit());
        assert!(matches!(
            err,
            Err(CodecError::Invalid {
                what: "bit padding",
                ..
            })
        ));
        let mut out = Vec::new();
        crate::codec::varint::write_varint(&mut out, u64::try_from(CODEC_VALUES_MAX).unwrap() + 1);
        assert_eq!(
            ByteReader::new(&out).read_count(),
            Err(CodecError::TooManyValues {
                count: 1 << 24 | 1,
                max: CODEC_VALUES_MAX
            })
        );
        assert_eq!(
            CodecError::Truncated {
                available: 3,
                needed: 2
            }
            .to_string(),
            "input ends after 3 bytes, 2 more needed"
        );
    }
}
