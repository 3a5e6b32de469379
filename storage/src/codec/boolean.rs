//! Boolean column codec: one bit per value.
//!
//! Layout: `count: varint`, then one bit section with each value as a bit (`1` for true).

use super::bits::{BitWriter, ByteReader, reserve_decoded};
use super::varint::write_varint;
use super::{CodecError, all_or_nothing};
use crate::limits::CODEC_VALUES_MAX;

/// Appends the encoding of `values`.
pub(crate) fn encode(values: &[bool], out: &mut Vec<u8>) {
    assert!(
        values.len() <= CODEC_VALUES_MAX,
        "a codec stream holds at most CODEC_VALUES_MAX"
    );
    write_varint(out, values.len() as u64);
    let mut bits = BitWriter::new(out);
    for &value in values {
        bits.write_bit(value);
    }
    bits.finish();
}

/// Decodes values written by [`encode`] and appends them to `out`.
/// On error `out` is left as it was.
pub(crate) fn decode(input: &[u8], out: &mut Vec<bool>) -> Result<(), CodecError> {
    all_or_nothing(out, |out| decode_appending(input, out))
}

fn decode_appending(input: &[u8], out: &mut Vec<bool>) -> Result<(), CodecError> {
    let mut input = ByteReader::new(input);
    let count = input.read_count()?;
    input.bit_section(|bits| {
        reserve_decoded(out, count, bits.remaining_bits(), 1);
        for _ in 0..count {
            out.push(bits.read_bit()?);
        }
        Ok(())
    })?;
    input.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::test_support::{assert_appends, assert_exactly_framed};
    use proptest::prelude::*;

    fn encoded(values: &[bool]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(values, &mut out);
        assert_exactly_framed(&out, decode, |a, b| a == b, values);
        out
    }

    #[test]
    fn exact_encodings() {
        let cases: [(&[bool], &[u8]); 4] = [
            (&[], &[0]),
            (&[true], &[1, 0b1000_0000]),
            (&[false; 8], &[8, 0]),
            (
                &[true, false, true, true, false, false, false, false, true],
                &[9, 0b1011_0000, 0b1000_0000],
            ),
        ];
        for (values, expected) in cases {
            assert_eq!(encoded(values), expected, "{values:?}");
        }
        assert_eq!(encoded(&[true; 4096]).len(), 2 + 512);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            decode(&[9, 0], &mut Vec::new()),
            Err(CodecError::Truncated {
                available: 2,
                needed: 1
            })
        );
        assert_eq!(
            decode(&[1, 0b0100_0000], &mut Vec::new())
                .unwrap_err()
                .to_string(),
            "invalid bit padding: non-zero bits after the last value"
        );
        assert_appends(&encoded(&[false]), decode, true);
    }

    proptest! {
        #[test]
        fn round_trips_exactly_framed(values in prop::collection::vec(any::<bool>(), 0..100)) {
            encoded(&values);
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes, &mut Vec::new());
        }
    }
}
