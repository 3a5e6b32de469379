//! LEB128 varints and zigzag, and the integer column codec built on them.
//!
//! Integer layout: `mode: u8`, `count: varint`, then by mode:
//! - [`MODE_RAW`]: each value as a varint (zigzag first for `i64`);
//! - [`MODE_DELTA_VARINT`]: the first value as in raw mode, then each wrapping delta to the
//!   previous value as a zigzag varint;
//! - [`MODE_DELTA_PACKED`]: the first value as in raw mode, then the deltas through the
//!   Rice / bit-pack back end ([`super::rice`]).
//!
//! The encoder sizes all three exactly and keeps the smallest (ties go to the lower mode).
//! Deltas are taken on the 64-bit patterns with wrapping arithmetic, so `u64` columns get
//! the same delta modes through an `i64` reinterpretation and any sequence round-trips.

use super::bits::{ByteReader, reserve_decoded};
use super::rice;
use super::{CodecError, all_or_nothing};
use crate::limits::CODEC_VALUES_MAX;

/// Values as varints.
const MODE_RAW: u8 = 0;
/// First value, then zigzag varint deltas.
const MODE_DELTA_VARINT: u8 = 1;
/// First value, then deltas through [`rice`].
const MODE_DELTA_PACKED: u8 = 2;

/// Appends `value` as an unsigned LEB128 varint (1 to 10 bytes).
pub(crate) fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(u8::try_from(value & 0x7f).expect("7 bits") | 0x80);
        value >>= 7;
    }
    out.push(u8::try_from(value).expect("below 0x80"));
}

/// Bytes [`write_varint`] writes for `value`.
pub(crate) fn varint_len(value: u64) -> usize {
    usize::try_from((64 - value.leading_zeros()).div_ceil(7).max(1)).expect("at most 10")
}

/// Maps signed to unsigned so that small magnitudes get small codes: 0, -1, 1, -2 → 0, 1, 2, 3.
pub(crate) fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// Inverse of [`zigzag`].
pub(crate) fn unzigzag(code: u64) -> i64 {
    ((code >> 1) as i64) ^ -((code & 1) as i64)
}

impl ByteReader<'_> {
    /// Reads an unsigned LEB128 varint (at most 10 bytes, at most 64 bits).
    pub(crate) fn read_varint(&mut self) -> Result<u64, CodecError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.read_u8()?;
            let payload = u64::from(byte & 0x7f);
            if shift == 63 && payload > 1 {
                return Err(CodecError::invalid("varint", "more than 64 bits"));
            }
            value |= payload << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CodecError::invalid("varint", "longer than 10 bytes"))
    }
}

/// Appends the encoding of a signed integer column.
pub(crate) fn encode_i64(values: &[i64], out: &mut Vec<u8>) {
    encode_words(values, zigzag, out);
}

/// Appends the encoding of an unsigned integer column.
pub(crate) fn encode_u64(values: &[u64], out: &mut Vec<u8>) {
    let patterns: Vec<i64> = values.iter().map(|&value| value as i64).collect();
    encode_words(&patterns, |pattern| pattern as u64, out);
}

/// Decodes a column written by [`encode_i64`] and appends its values to `out`.
/// On error `out` is left as it was.
pub(crate) fn decode_i64(input: &[u8], out: &mut Vec<i64>) -> Result<(), CodecError> {
    all_or_nothing(out, |out| decode_words(input, unzigzag, out))
}

/// Decodes a column written by [`encode_u64`] and appends its values to `out`. On error
/// `out` is left as it was.
pub(crate) fn decode_u64(input: &[u8], out: &mut Vec<u64>) -> Result<(), CodecError> {
    let mut patterns = Vec::new();
    decode_words(input, |word| word as i64, &mut patterns)?;
    out.extend(patterns.iter().map(|&pattern| pattern as u64));
    Ok(())
}

/// Encodes 64-bit patterns; `to_word` maps a value to its raw-mode varint payload.
fn encode_words(values: &[i64], to_word: impl Fn(i64) -> u64, out: &mut Vec<u8>) {
    assert!(
        values.len() <= CODEC_VALUES_MAX,
        "a codec stream holds at most CODEC_VALUES_MAX"
    );
    let deltas = wrapping_deltas(values);
    let first_len = values
        .first()
        .map_or(0, |&first| varint_len(to_word(first)));
    let raw_len: usize = values.iter().map(|&value| varint_len(to_word(value))).sum();
    let delta_len: usize = first_len
        + deltas
            .iter()
            .map(|&delta| varint_len(zigzag(delta)))
            .sum::<usize>();

    let start = out.len();
    write_header(out, MODE_DELTA_PACKED, values.len());
    if let Some(&first) = values.first() {
        write_varint(out, to_word(first));
    }
    rice::encode(&deltas, out);
    let packed_len = out.len() - start;
    let header_len = 1 + varint_len(values.len() as u64);
    if packed_len < header_len + raw_len.min(delta_len) {
        return;
    }
    out.truncate(start);
    if raw_len <= delta_len {
        write_header(out, MODE_RAW, values.len());
        values
            .iter()
            .for_each(|&value| write_varint(out, to_word(value)));
    } else {
        write_header(out, MODE_DELTA_VARINT, values.len());
        if let Some(&first) = values.first() {
            write_varint(out, to_word(first));
        }
        deltas
            .iter()
            .for_each(|&delta| write_varint(out, zigzag(delta)));
    }
}

fn write_header(out: &mut Vec<u8>, mode: u8, count: usize) {
    out.push(mode);
    write_varint(out, count as u64);
}

/// The wrapping difference of each value to the one before it (one fewer than `values`).
pub(crate) fn wrapping_deltas(values: &[i64]) -> Vec<i64> {
    values
        .iter()
        .zip(values.iter().skip(1))
        .map(|(previous, next)| next.wrapping_sub(*previous))
        .collect()
}

/// Decodes into 64-bit patterns; `from_word` inverts the raw-mode mapping.
fn decode_words(
    input: &[u8],
    from_word: impl Fn(u64) -> i64,
    out: &mut Vec<i64>,
) -> Result<(), CodecError> {
    let mut input = ByteReader::new(input);
    let mode = input.read_u8()?;
    let count = input.read_count()?;
    match mode {
        MODE_RAW => {
            reserve_decoded(out, count, input.rest().len(), 1);
            for _ in 0..count {
                out.push(from_word(input.read_varint()?));
            }
        }
        MODE_DELTA_VARINT => decode_delta_varint(&mut input, count, &from_word, out)?,
        MODE_DELTA_PACKED => decode_delta_packed(&mut input, count, &from_word, out)?,
        other => return Err(CodecError::invalid("integer mode", format!("{other}"))),
    }
    input.finish()
}

fn decode_delta_varint(
    input: &mut ByteReader<'_>,
    count: usize,
    from_word: &impl Fn(u64) -> i64,
    out: &mut Vec<i64>,
) -> Result<(), CodecError> {
    if count == 0 {
        return Ok(());
    }
    reserve_decoded(out, count, input.rest().len(), 1);
    let mut value = from_word(input.read_varint()?);
    out.push(value);
    for _ in 1..count {
        value = value.wrapping_add(unzigzag(input.read_varint()?));
        out.push(value);
    }
    Ok(())
}

fn decode_delta_packed(
    input: &mut ByteReader<'_>,
    count: usize,
    from_word: &impl Fn(u64) -> i64,
    out: &mut Vec<i64>,
) -> Result<(), CodecError> {
    let start = out.len();
    if count > 0 {
        out.push(from_word(input.read_varint()?));
    }
    rice::decode(input, count.saturating_sub(1), out)?;
    prefix_sum(out.get_mut(start..).unwrap_or_default());
    Ok(())
}

/// Turns `[first, delta, delta, …]` into the running (wrapping) sums in place.
pub(crate) fn prefix_sum(values: &mut [i64]) {
    let mut sum = 0i64;
    for value in values {
        sum = sum.wrapping_add(*value);
        *value = sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::test_support::{TestRng, assert_appends, assert_exactly_framed, corrupted};
    use proptest::prelude::*;

    fn encoded_i64(values: &[i64]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_i64(values, &mut out);
        assert_exactly_framed(&out, decode_i64, |a, b| a == b, values);
        out
    }

    fn encoded_u64(values: &[u64]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_u64(values, &mut out);
        assert_exactly_framed(&out, decode_u64, |a, b| a == b, values);
        out
    }

    /// A counter sampled every 10 s that grows by about 1200 per sample with some noise.
    pub(crate) fn counter(count: usize) -> Vec<i64> {
        let mut rng = TestRng::new(7);
        let mut total = 1_000_000_000i64;
        (0..count)
            .map(|_| {
                total += 1200 + i64::try_from(rng.next_u64() % 64).unwrap();
                total
            })
            .collect()
    }

    #[test]
    fn picks_the_smallest_mode() {
        // (values, mode, encoded bytes)
        let ramp: Vec<i64> = (0..1000).collect();
        let cases: [(&[i64], u8, usize); 7] = [
            (&[], MODE_RAW, 2),
            (&[5], MODE_RAW, 3),
            (&[i64::MIN, i64::MAX], MODE_DELTA_VARINT, 2 + 10 + 1),
            (&[i64::MIN, 0, i64::MAX], MODE_RAW, 2 + 10 + 1 + 10),
            (
                &[1_000_000, 1_000_001, 1_000_002],
                MODE_DELTA_VARINT,
                2 + 3 + 2,
            ),
            // Header, first value, back-end tag and minimum delta; the offsets pack in 0 bits.
            (&ramp, MODE_DELTA_PACKED, 3 + 1 + 1 + 1),
            (&[3, -3, 3, -3, 3], MODE_DELTA_PACKED, 2 + 1 + 1 + 2),
        ];
        for (values, mode, len) in cases {
            let encoded = encoded_i64(values);
            assert_eq!(
                (encoded.first(), encoded.len()),
                (Some(&mode), len),
                "{values:?}"
            );
        }
    }

    #[test]
    fn unsigned_extremes_and_wrapping_deltas() {
        encoded_u64(&[]);
        encoded_u64(&[u64::MAX, 0, u64::MAX, 1 << 63, (1 << 63) - 1]);
        let near_max: Vec<u64> = (0..100).map(|i| u64::MAX - i).collect();
        assert!(encoded_u64(&near_max).len() < 20);
    }

    #[test]
    fn counter_compresses_at_least_four_times() {
        let values = counter(4096);
        let bytes_per_value = encoded_i64(&values).len() as f64 / 4096.0;
        println!(
            "counter: {bytes_per_value:.3} bytes/value, {:.1}x",
            8.0 / bytes_per_value
        );
        assert!(bytes_per_value < 1.0, "{bytes_per_value}");
    }

    #[test]
    fn rejects_bad_headers() {
        assert_eq!(
            decode_i64(&[9, 0], &mut Vec::new())
                .unwrap_err()
                .to_string(),
            "invalid integer mode: 9"
        );
        assert_eq!(
            decode_i64(&[0, 0x80, 0x80, 0x80, 0x10], &mut Vec::new()),
            Err(CodecError::TooManyValues {
                count: 1 << 25,
                max: CODEC_VALUES_MAX
            })
        );
        assert_appends(&encoded_i64(&[1, 2]), decode_i64, 9);
    }

    #[test]
    fn varints_round_trip_and_reject_overflow() {
        let mut out = Vec::new();
        let values = [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX];
        for value in values {
            write_varint(&mut out, value);
        }
        let mut input = ByteReader::new(&out);
        for value in values {
            assert_eq!(input.read_varint().unwrap(), value);
        }
        input.finish().unwrap();
        assert_eq!(
            out.len(),
            values.iter().map(|&value| varint_len(value)).sum::<usize>()
        );
        let overflow = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(ByteReader::new(&overflow).read_varint().is_err());
        assert_eq!(
            ByteReader::new(&[0x80]).read_varint(),
            Err(CodecError::Truncated {
                available: 1,
                needed: 1
            })
        );
    }

    #[test]
    fn zigzag_maps_extremes() {
        let cases = [
            (0, 0),
            (-1, 1),
            (1, 2),
            (i64::MAX, u64::MAX - 1),
            (i64::MIN, u64::MAX),
        ];
        for (value, code) in cases {
            assert_eq!(zigzag(value), code);
            assert_eq!(unzigzag(code), value);
        }
    }

    fn integers() -> impl Strategy<Value = Vec<i64>> {
        prop_oneof![
            prop::collection::vec(any::<i64>(), 0..40),
            prop::collection::vec(-1000i64..1000, 0..40),
            (any::<i64>(), prop::collection::vec(-5i64..50, 0..40)).prop_map(|(start, steps)| {
                steps
                    .iter()
                    .scan(start, |acc, &step| {
                        *acc = acc.wrapping_add(step);
                        Some(*acc)
                    })
                    .collect()
            }),
        ]
    }

    proptest! {
        #[test]
        fn signed_round_trips_exactly_framed(values in integers()) {
            encoded_i64(&values);
        }

        #[test]
        fn unsigned_round_trips_exactly_framed(values in integers()) {
            let unsigned: Vec<u64> = values.iter().map(|&value| value as u64).collect();
            encoded_u64(&unsigned);
        }

        #[test]
        fn corrupted_encodings_never_panic(
            values in integers(),
            position in any::<usize>(),
            byte in any::<u8>(),
        ) {
            let mut encoded = Vec::new();
            encode_i64(&values, &mut encoded);
            let _ = decode_i64(&corrupted(&encoded, position, byte), &mut Vec::new());
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_i64(&bytes, &mut Vec::new());
            let _ = decode_u64(&bytes, &mut Vec::new());
        }
    }
}
