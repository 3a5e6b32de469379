//! Timestamp codec: delta-of-delta in widening bit buckets, after the Gorilla paper
//! (Pelkonen et al., VLDB 2015, section 4.1.1), with buckets widened for nanosecond times.
//!
//! Layout: `count: varint`, then (if `count ≥ 1`) the first timestamp as a zigzag varint,
//! (if `count ≥ 2`) the first delta as a zigzag varint, then (if `count ≥ 3`) one bit
//! section with the zigzag code `z` of each further delta-of-delta, in the first bucket of
//! [`BUCKETS`] that holds it: `0` for `z = 0`, else a prefix of ones and the code in a fixed
//! width. A regular interval therefore costs one bit per timestamp.
//!
//! All arithmetic wraps, so unsorted, duplicate and extreme (`i64::MIN`/`MAX`) timestamps
//! round-trip; they just cost more bits.

use super::bits::{BitReader, BitWriter, ByteReader, reserve_decoded};
use super::varint::{unzigzag, write_varint, zigzag};
use super::{CodecError, all_or_nothing};
use crate::limits::CODEC_VALUES_MAX;

/// `(prefix, prefix bits, payload bits)` of each bucket after the one-bit `0` for `z = 0`.
/// The first two cover second- and millisecond-resolution jitter (the paper uses 7 / 9 /
/// 12); 24 bits hold ±8 ms of nanosecond jitter, 32 bits ±2 s, and the last is a full-width
/// escape.
const BUCKETS: [(u64, u32, u32); 5] = [
    (0b10, 2, 7),
    (0b110, 3, 12),
    (0b1110, 4, 24),
    (0b11110, 5, 32),
    (0b11111, 5, 64),
];

/// Appends the encoding of `values` (any `i64`s, in any order).
pub(crate) fn encode(values: &[i64], out: &mut Vec<u8>) {
    assert!(
        values.len() <= CODEC_VALUES_MAX,
        "a codec stream holds at most CODEC_VALUES_MAX"
    );
    write_varint(out, values.len() as u64);
    let (first, rest) = match values {
        [] => return,
        [first, rest @ ..] => (*first, rest),
    };
    write_varint(out, zigzag(first));
    let Some((&second, rest)) = rest.split_first() else {
        return;
    };
    let mut delta = second.wrapping_sub(first);
    write_varint(out, zigzag(delta));
    if rest.is_empty() {
        return;
    }
    let mut previous = second;
    let mut bits = BitWriter::new(out);
    for &value in rest {
        let next_delta = value.wrapping_sub(previous);
        write_delta_of_delta(&mut bits, zigzag(next_delta.wrapping_sub(delta)));
        delta = next_delta;
        previous = value;
    }
    bits.finish();
}

fn write_delta_of_delta(bits: &mut BitWriter<'_>, code: u64) {
    if code == 0 {
        bits.write_bit(false);
        return;
    }
    for (prefix, prefix_bits, payload_bits) in BUCKETS {
        if payload_bits == 64 {
            bits.write_bits(prefix, prefix_bits);
            bits.write_bits(code, 64);
            return;
        }
        if code >> payload_bits == 0 {
            bits.write_bits((prefix << payload_bits) | code, prefix_bits + payload_bits);
            return;
        }
    }
}

/// Decodes timestamps written by [`encode`] and appends them to `out`.
/// On error `out` is left as it was.
pub(crate) fn decode(input: &[u8], out: &mut Vec<i64>) -> Result<(), CodecError> {
    all_or_nothing(out, |out| decode_appending(input, out))
}

fn decode_appending(input: &[u8], out: &mut Vec<i64>) -> Result<(), CodecError> {
    let mut input = ByteReader::new(input);
    let count = input.read_count()?;
    if count >= 1 {
        out.push(unzigzag(input.read_varint()?));
    }
    if count >= 2 {
        let first = *out.last().expect("pushed above");
        let delta = unzigzag(input.read_varint()?);
        reserve_decoded(out, count - 2, input.rest().len() * 8, 1);
        out.push(first.wrapping_add(delta));
        if count >= 3 {
            input.bit_section(|bits| {
                read_rest(bits, first.wrapping_add(delta), delta, count, out)
            })?;
        }
    }
    input.finish()
}

fn read_rest(
    bits: &mut BitReader<'_>,
    mut previous: i64,
    mut delta: i64,
    count: usize,
    out: &mut Vec<i64>,
) -> Result<(), CodecError> {
    let mut left = count.saturating_sub(2);
    while left > 0 {
        // A zero bit is a zero delta-of-delta (regular intervals): take a run of them from
        // one peeked word.
        if let Some(word) = bits.peek_word() {
            let zeros = word.leading_zeros().min(57);
            let run = usize::try_from(zeros).unwrap_or(0).min(left);
            if run > 0 {
                for _ in 0..run {
                    previous = previous.wrapping_add(delta);
                    out.push(previous);
                }
                bits.skip_peeked(u32::try_from(run).unwrap_or(0));
                left -= run;
                continue;
            }
        }
        delta = delta.wrapping_add(unzigzag(read_delta_of_delta(bits)?));
        previous = previous.wrapping_add(delta);
        out.push(previous);
        left -= 1;
    }
    Ok(())
}

fn read_delta_of_delta(bits: &mut BitReader<'_>) -> Result<u64, CodecError> {
    if !bits.read_bit()? {
        return Ok(0);
    }
    // The prefix has one more one bit per bucket, up to the last two which share a length.
    let mut ones = 1;
    while ones < 4 && bits.read_bit()? {
        ones += 1;
    }
    let payload_bits = match ones {
        1..=3 => BUCKETS.get(ones - 1).map_or(0, |bucket| bucket.2),
        _ if bits.read_bit()? => 64,
        _ => 32,
    };
    bits.read_bits(payload_bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::test_support::{TestRng, assert_appends, assert_exactly_framed, corrupted};
    use proptest::prelude::*;

    fn encoded(values: &[i64]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(values, &mut out);
        assert_exactly_framed(&out, decode, |a, b| a == b, values);
        out
    }

    const START_NS: i64 = 1_700_000_000_000_000_000;
    const SECOND_NS: i64 = 1_000_000_000;

    #[test]
    fn exact_sizes() {
        let regular: Vec<i64> = (0..4096).map(|i| START_NS + i * 10 * SECOND_NS).collect();
        let regular_pre_1970: Vec<i64> = (0..100).map(|i| -START_NS + i * SECOND_NS).collect();
        let one_bucket_each = [0, 10, 20, 30 + 63, 40, 50 + 2047, 60];
        let extremes = [i64::MIN, i64::MAX, i64::MIN, 0, i64::MAX, i64::MAX];
        // (values, encoded bytes)
        let cases: [(&[i64], usize); 7] = [
            (&[], 1),
            (&[START_NS], 1 + 9),
            (&[START_NS, START_NS + 10 * SECOND_NS], 1 + 9 + 5),
            (&regular, 2 + 9 + 5 + 4094 / 8 + 1),
            (&regular_pre_1970, 1 + 9 + 5 + 98 / 8 + 1),
            // Delta-of-delta codes 0, 126, 251, 4220, 8187: 1 + 9 + 15 + 28 + 28 bits.
            (&one_bucket_each, 1 + 1 + 1 + 11),
            // First delta -1; codes 4, 2^64 - 2, 1, 2^64 - 3: 9 + 69 + 9 + 69 bits.
            (&extremes, 1 + 10 + 1 + 20),
        ];
        for (values, len) in cases {
            assert_eq!(encoded(values).len(), len, "{values:?}");
        }
    }

    #[test]
    fn regular_interval_costs_about_one_bit() {
        let values: Vec<i64> = (0..4096).map(|i| START_NS + i * 10 * SECOND_NS).collect();
        let bytes_per_value = encoded(&values).len() as f64 / 4096.0;
        println!("regular 10 s timestamps: {bytes_per_value:.4} bytes/value");
        assert!(bytes_per_value < 0.2, "{bytes_per_value}");
    }

    #[test]
    fn jittered_millisecond_interval_stays_small() {
        let mut rng = TestRng::new(3);
        let values: Vec<i64> = (0..4096)
            .map(|i| START_NS + i * 10 * SECOND_NS + i64::try_from(rng.next_u64() % 1000).unwrap())
            .collect();
        let bytes_per_value = encoded(&values).len() as f64 / 4096.0;
        assert!(bytes_per_value < 2.0, "{bytes_per_value}");
    }

    #[test]
    fn rejects_and_appends() {
        assert!(matches!(
            decode(&[0x80], &mut Vec::new()),
            Err(CodecError::Truncated { .. })
        ));
        assert_eq!(
            decode(&[0x81, 0x80, 0x80, 0x08], &mut Vec::new()),
            Err(CodecError::TooManyValues {
                count: (1 << 24) + 1,
                max: CODEC_VALUES_MAX
            })
        );
        assert_appends(&encoded(&[1, 2, 3, 5]), decode, -1);
    }

    fn timestamps() -> impl Strategy<Value = Vec<i64>> {
        prop_oneof![
            prop::collection::vec(any::<i64>(), 0..40),
            prop::collection::vec(prop::sample::select(vec![i64::MIN, i64::MAX, 0, -1]), 0..10),
            (any::<i64>(), prop::collection::vec(-5i64..100, 0..60)).prop_map(|(start, steps)| {
                steps
                    .iter()
                    .scan(start, |acc, &step| {
                        *acc = acc.wrapping_add(step * SECOND_NS);
                        Some(*acc)
                    })
                    .collect()
            }),
        ]
    }

    proptest! {
        #[test]
        fn round_trips_exactly_framed(values in timestamps()) {
            encoded(&values);
        }

        #[test]
        fn corrupted_encodings_never_panic(
            values in timestamps(),
            position in any::<usize>(),
            byte in any::<u8>(),
        ) {
            let mut encoded = Vec::new();
            encode(&values, &mut encoded);
            let _ = decode(&corrupted(&encoded, position, byte), &mut Vec::new());
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes, &mut Vec::new());
        }
    }
}
