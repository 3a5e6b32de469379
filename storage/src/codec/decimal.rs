//! Decimal-aware float codec, in the spirit of ALP (Afroozeh, Kuffó, Boncz, SIGMOD 2023).
//!
//! Metrics are mostly short decimals (`37.25` percent, `0.3` load). Such a value `v` is
//! stored as the integer `i = round(v · 10^e)` for a block-wide exponent `e`, provided
//! `i / 10^e` (an `i64` to `f64` conversion, exact below 2^53, then one correctly rounded
//! division by an exactly representable power of ten) gives back `v` bit for bit. Any value
//! parsed from a decimal string with at most `e` fraction digits passes. The others (NaN,
//! infinities, `-0.0`, values with more digits) are *exceptions*, stored raw, so the codec
//! is lossless for every `f64`; [`super::float`] falls back to Gorilla when they dominate.
//!
//! Layout: `count: varint`; if `count ≥ 1`: `exponent: u8` (0..=18), `exceptions: varint`,
//! the exception positions as varint gaps (the first position, then each position minus the
//! previous one minus one), their bit patterns as `u64` little-endian, then the integers of
//! the other values: the first as a zigzag varint, the wrapping deltas through [`rice`].

use super::CodecError;
use super::bits::ByteReader;
use super::rice;
use super::varint::{prefix_sum, unzigzag, wrapping_deltas, write_varint, zigzag};
use crate::limits::CODEC_VALUES_MAX;

/// Powers of ten, written as literals so each is the exact `f64` (all are below 2^63).
const POW10: [f64; 19] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];
/// Scaled integers stay within ±2^53, where `i64 -> f64` is exact and deltas cannot wrap.
const INTEGER_ABS_MAX: f64 = 9_007_199_254_740_992.0;
/// Values the exponent choice looks at; spread evenly over the block.
const SAMPLE_SIZE: usize = 128;
/// Estimated cost of one exception in bits: 8 raw bytes and a position gap.
const EXCEPTION_BITS: f64 = 80.0;

/// Appends the encoding of `values`.
pub(crate) fn encode(values: &[f64], out: &mut Vec<u8>) {
    assert!(
        values.len() <= CODEC_VALUES_MAX,
        "a codec stream holds at most CODEC_VALUES_MAX"
    );
    write_varint(out, values.len() as u64);
    if values.is_empty() {
        return;
    }
    let exponent = choose_exponent(values);
    let mut integers = Vec::with_capacity(values.len());
    let mut exceptions = Vec::new();
    for (position, &value) in values.iter().enumerate() {
        match to_integer(value, exponent) {
            Some(integer) => integers.push(integer),
            None => exceptions.push((position, value.to_bits())),
        }
    }
    out.push(u8::try_from(exponent).expect("at most 18"));
    write_exceptions(&exceptions, out);
    if let Some((&first, rest)) = integers.split_first() {
        write_varint(out, zigzag(first));
        if !rest.is_empty() {
            rice::encode(&wrapping_deltas(&integers), out);
        }
    }
}

/// `value · 10^exponent` as an integer if dividing it back gives the same bits.
fn to_integer(value: f64, exponent: usize) -> Option<i64> {
    let power = *POW10.get(exponent)?;
    let scaled = (value * power).round();
    if scaled.is_nan() || scaled.abs() > INTEGER_ABS_MAX {
        return None;
    }
    #[allow(
        clippy::cast_possible_truncation,
        reason = "an integral value within ±2^53 is exact"
    )]
    let integer = scaled as i64;
    ((integer as f64 / power).to_bits() == value.to_bits()).then_some(integer)
}

/// The exponent with the smallest estimated size on a sample: exceptions cost
/// [`EXCEPTION_BITS`], and each step of the exponent widens every delta by log2(10) bits.
fn choose_exponent(values: &[f64]) -> usize {
    let stride = values.len().div_ceil(SAMPLE_SIZE).max(1);
    let sample: Vec<f64> = values.iter().step_by(stride).copied().collect();
    let mut best = (0, f64::INFINITY);
    for exponent in 0..POW10.len() {
        let fits = sample
            .iter()
            .filter(|&&v| to_integer(v, exponent).is_some())
            .count();
        let exceptions = sample.len() - fits;
        let cost = exceptions as f64 * EXCEPTION_BITS
            + fits as f64 * exponent as f64 * std::f64::consts::LOG2_10;
        if cost < best.1 {
            best = (exponent, cost);
        }
        if exceptions == 0 {
            // A larger exponent only widens the integers.
            break;
        }
    }
    best.0
}

fn write_exceptions(exceptions: &[(usize, u64)], out: &mut Vec<u8>) {
    write_varint(out, exceptions.len() as u64);
    let mut next_free = 0;
    for &(position, _) in exceptions {
        write_varint(out, (position - next_free) as u64);
        next_free = position + 1;
    }
    for &(_, bits) in exceptions {
        out.extend_from_slice(&bits.to_le_bytes());
    }
}

/// Decodes values written by [`encode`] and appends them to `out`. On error `out`
/// is left as it was.
pub(crate) fn decode(input: &[u8], out: &mut Vec<f64>) -> Result<(), CodecError> {
    let mut input = ByteReader::new(input);
    let count = input.read_count()?;
    if count == 0 {
        return input.finish();
    }
    let exponent = input.read_u8()?;
    let power = *POW10.get(usize::from(exponent)).ok_or_else(|| {
        CodecError::invalid("decimal exponent", format!("{exponent}, at most 18"))
    })?;
    let exceptions = read_exceptions(&mut input, count)?;
    let mut integers = Vec::new();
    let integer_count = count - exceptions.len();
    if integer_count > 0 {
        integers.push(unzigzag(input.read_varint()?));
        if integer_count > 1 {
            rice::decode(&mut input, integer_count - 1, &mut integers)?;
        }
        prefix_sum(&mut integers);
    }
    input.finish()?;
    out.reserve(count);
    if exceptions.is_empty() {
        out.extend(integers.iter().map(|integer| *integer as f64 / power));
        return Ok(());
    }
    let mut integers = integers.iter();
    let mut exceptions = exceptions.iter().peekable();
    for position in 0..count {
        match exceptions.next_if(|exception| exception.0 == position) {
            Some(&(_, bits)) => out.push(f64::from_bits(bits)),
            None => {
                let integer = integers
                    .next()
                    .expect("count minus exceptions integers decoded");
                out.push(*integer as f64 / power);
            }
        }
    }
    Ok(())
}

/// Reads the exception positions (strictly increasing, below `count`) and bit patterns.
fn read_exceptions(
    input: &mut ByteReader<'_>,
    count: usize,
) -> Result<Vec<(usize, u64)>, CodecError> {
    let declared = input.read_varint()?;
    let exception_count = usize::try_from(declared)
        .ok()
        .filter(|&exceptions| exceptions <= count)
        .ok_or_else(|| {
            CodecError::invalid("exception count", format!("{declared}, at most {count}"))
        })?;
    // Each exception takes at least nine bytes, which bounds the reservation.
    let mut exceptions = Vec::with_capacity(exception_count.min(input.rest().len() / 9));
    let mut next_free = 0usize;
    for _ in 0..exception_count {
        let gap = input.read_varint()?;
        let position = usize::try_from(gap)
            .ok()
            .and_then(|gap| next_free.checked_add(gap))
            .filter(|&position| position < count)
            .ok_or_else(|| {
                CodecError::invalid("exception position", format!("gap {gap} passes {count}"))
            })?;
        exceptions.push((position, 0));
        next_free = position + 1;
    }
    for exception in &mut exceptions {
        exception.1 = input.read_u64_le()?;
    }
    Ok(exceptions)
}

#[cfg(test)]
mod tests;
