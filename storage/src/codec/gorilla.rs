//! Gorilla XOR float codec (Pelkonen et al., VLDB 2015, section 4.1.2): each value is
//! XORed with the previous one and only the meaningful middle bits are written. It works on
//! bit patterns, so every `f64` (NaN payloads, `-0.0`, infinities, subnormals) round-trips.
//!
//! Layout: `count: varint`, then (if `count ≥ 1`) one bit section: the first value's 64
//! bits, then per value
//! - `0`: same bits as the previous value;
//! - `10` + bits: the XOR fits the current window (its leading and trailing zeros are at
//!   least the window's), so only the window's bits are written;
//! - `11` + 5 bits leading zeros (capped at 31) + 6 bits meaningful length (64 written as
//!   0) + the meaningful bits; this opens a new window.

use super::bits::{BitReader, BitWriter, ByteReader, reserve_decoded};
use super::varint::write_varint;
use super::{CodecError, all_or_nothing};
use crate::limits::CODEC_VALUES_MAX;

/// Leading zeros are written in 5 bits.
const LEADING_ZEROS_MAX: u32 = 31;

/// The meaningful bits of the last `11` XOR: `leading` zeros above, `trailing` below.
#[derive(Debug, Clone, Copy)]
struct Window {
    leading: u32,
    trailing: u32,
}

impl Window {
    fn length(self) -> u32 {
        64 - self.leading - self.trailing
    }
}

/// Appends the encoding of `values`.
pub(crate) fn encode(values: &[f64], out: &mut Vec<u8>) {
    assert!(
        values.len() <= CODEC_VALUES_MAX,
        "a codec stream holds at most CODEC_VALUES_MAX"
    );
    write_varint(out, values.len() as u64);
    let Some((first, rest)) = values.split_first() else {
        return;
    };
    let mut bits = BitWriter::new(out);
    let mut previous = first.to_bits();
    bits.write_bits(previous, 64);
    let mut window: Option<Window> = None;
    for value in rest {
        let xor = value.to_bits() ^ previous;
        previous = value.to_bits();
        if xor == 0 {
            bits.write_bit(false);
            continue;
        }
        let leading = xor.leading_zeros().min(LEADING_ZEROS_MAX);
        let trailing = xor.trailing_zeros();
        match window {
            Some(open) if leading >= open.leading && trailing >= open.trailing => {
                bits.write_bits(0b10, 2);
                bits.write_bits(xor >> open.trailing, open.length());
            }
            _ => {
                let new = Window { leading, trailing };
                let length_code = u64::from(new.length() % 64);
                let header = (0b11 << 11) | (u64::from(leading) << 6) | length_code;
                bits.write_bits(header, 13);
                bits.write_bits(xor >> trailing, new.length());
                window = Some(new);
            }
        }
    }
    bits.finish();
}

/// Decodes values written by [`encode`] and appends them to `out`.
/// On error `out` is left as it was.
pub(crate) fn decode(input: &[u8], out: &mut Vec<f64>) -> Result<(), CodecError> {
    all_or_nothing(out, |out| decode_appending(input, out))
}

fn decode_appending(input: &[u8], out: &mut Vec<f64>) -> Result<(), CodecError> {
    let mut input = ByteReader::new(input);
    let count = input.read_count()?;
    if count > 0 {
        reserve_decoded(out, count, input.rest().len() * 8, 1);
        input.bit_section(|bits| read_values(bits, count, out))?;
    }
    input.finish()
}

fn read_values(
    bits: &mut BitReader<'_>,
    count: usize,
    out: &mut Vec<f64>,
) -> Result<(), CodecError> {
    let mut previous = bits.read_bits(64)?;
    out.push(f64::from_bits(previous));
    let mut window: Option<Window> = None;
    for _ in 1..count {
        if bits.read_bit()? {
            let open = if bits.read_bit()? {
                let opened = read_window(bits)?;
                window = Some(opened);
                opened
            } else {
                window.ok_or_else(|| {
                    CodecError::invalid("Gorilla control bits", "window reused before opened")
                })?
            };
            previous ^= bits.read_bits(open.length())? << open.trailing;
        }
        out.push(f64::from_bits(previous));
    }
    Ok(())
}

fn read_window(bits: &mut BitReader<'_>) -> Result<Window, CodecError> {
    let header = bits.read_bits(11)?;
    let leading = u32::try_from(header >> 6).expect("5 bits");
    let length = match u32::try_from(header & 0x3f).expect("6 bits") {
        0 => 64,
        length => length,
    };
    if leading + length > 64 {
        let detail = format!("{leading} leading zeros and {length} meaningful bits");
        return Err(CodecError::invalid("Gorilla window", detail));
    }
    Ok(Window {
        leading,
        trailing: 64 - leading - length,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::test_support::{
        any_float, assert_appends, assert_exactly_framed, bits_of, two_decimal_walk,
    };
    use proptest::prelude::*;

    fn same_bits(a: &[f64], b: &[f64]) -> bool {
        bits_of(a) == bits_of(b)
    }

    fn encoded(values: &[f64]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(values, &mut out);
        assert_exactly_framed(&out, decode, same_bits, values);
        out
    }

    #[test]
    fn exact_sizes() {
        let constant = vec![21.5; 4096];
        // (values, encoded bytes)
        let cases: [(&[f64], usize); 6] = [
            (&[], 1),
            (&[1.0], 1 + 8),
            (&constant, 2 + (64 + 4095) / 8 + 1),
            // 1.0 ^ 2.0 opens a window of 11 bits (13 + 11); 2.0 ^ 3.0 has fewer trailing
            // zeros, so it opens a 1-bit window (13 + 1); 3.0 ^ 3.0 is one zero bit.
            (&[1.0, 2.0, 3.0, 3.0], 1 + 103_usize.div_ceil(8)),
            // A 13-bit window (13 + 13), then both XORs fit it (2 + 13 each).
            (
                &[f64::NAN, -0.0, 0.0, f64::INFINITY],
                1 + 120_usize.div_ceil(8),
            ),
            // The sign bit opens a 1-bit window (13 + 1), then reuses it (2 + 1).
            (&[0.0, -0.0, 0.0], 1 + 81_usize.div_ceil(8)),
        ];
        for (values, len) in cases {
            assert_eq!(encoded(values).len(), len, "{values:?}");
        }
    }

    #[test]
    fn decimal_walk_costs_about_six_bytes() {
        let values = two_decimal_walk(4096, 1);
        let bytes_per_value = encoded(&values).len() as f64 / 4096.0;
        println!("gorilla on a 2-decimal walk: {bytes_per_value:.3} bytes/value");
        assert!(bytes_per_value < 7.5, "{bytes_per_value}");
    }

    #[test]
    fn rejects_bad_control_bits() {
        // One value then a '10' with no window open.
        let mut input = vec![2];
        input.extend_from_slice(&[0; 8]);
        input.push(0b1000_0000);
        assert_eq!(
            decode(&input, &mut Vec::new()).unwrap_err().to_string(),
            "invalid Gorilla control bits: window reused before opened"
        );
        // '11', 31 leading zeros, length 63.
        input.pop();
        input.extend_from_slice(&[0b1111_1111, 0b1111_1000]);
        assert!(matches!(
            decode(&input, &mut Vec::new()),
            Err(CodecError::Invalid {
                what: "Gorilla window",
                ..
            })
        ));
        assert_appends(&encoded(&[1.5]), decode, 0.25);
    }

    proptest! {
        #[test]
        fn round_trips_exactly_framed(values in prop::collection::vec(any_float(), 0..40)) {
            encoded(&values);
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes, &mut Vec::new());
        }
    }
}
