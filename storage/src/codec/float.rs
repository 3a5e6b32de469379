//! Float column codec: per block, the smaller of [`decimal`] and [`gorilla`].
//!
//! Both encodings are produced and the shorter kept (ties go to decimal), so the choice is
//! exact rather than estimated; a block costs one encoding pass of each. Decimal wins on
//! short decimals (gauges, percentages), Gorilla on values with full-precision mantissas
//! that repeat or change slowly in their high bits.
//!
//! Layout: `tag: u8` ([`TAG_GORILLA`] or [`TAG_DECIMAL`]), then that codec's encoding.

use super::bits::ByteReader;
use super::{CodecError, decimal, gorilla};

/// The block is a [`gorilla`] encoding.
const TAG_GORILLA: u8 = 0;
/// The block is a [`decimal`] encoding.
const TAG_DECIMAL: u8 = 1;

/// Appends the encoding of `values`; every `f64` round-trips bit for bit.
pub(crate) fn encode(values: &[f64], out: &mut Vec<u8>) {
    let start = out.len();
    out.push(TAG_DECIMAL);
    decimal::encode(values, out);
    let decimal_len = out.len() - start - 1;
    let mut gorilla_bytes = Vec::new();
    gorilla::encode(values, &mut gorilla_bytes);
    if gorilla_bytes.len() < decimal_len {
        out.truncate(start);
        out.push(TAG_GORILLA);
        out.extend_from_slice(&gorilla_bytes);
    }
}

/// Decodes values written by [`encode`] and appends them to `out`. On error `out`
/// is left as it was.
pub(crate) fn decode(input: &[u8], out: &mut Vec<f64>) -> Result<(), CodecError> {
    let mut reader = ByteReader::new(input);
    let tag = reader.read_u8()?;
    let body = reader.rest();
    match tag {
        TAG_GORILLA => gorilla::decode(body, out),
        TAG_DECIMAL => decimal::decode(body, out),
        other => Err(CodecError::invalid("float codec tag", format!("{other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::test_support::{
        TestRng, any_float, assert_appends, assert_exactly_framed, bits_of, corrupted,
        two_decimal_walk,
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
    fn picks_the_smaller_codec() {
        let walk = two_decimal_walk(4096, 5);
        let mut rng = TestRng::new(9);
        let noise: Vec<f64> = (0..1000).map(|_| rng.next_normal()).collect();
        let random_bits: Vec<f64> = (0..1000).map(|_| f64::from_bits(rng.next_u64())).collect();
        let constant = vec![0.1; 1000];
        // (name, values, tag if it is clear-cut, bytes per value at most)
        let cases: [(&str, &[f64], Option<u8>, f64); 5] = [
            ("empty", &[], Some(TAG_DECIMAL), f64::INFINITY),
            ("2-decimal walk", &walk, Some(TAG_DECIMAL), 1.25),
            // Below 0.9 in magnitude, 16 significant digits often round-trip at e = 16, so
            // decimal can edge out Gorilla on full-precision values.
            ("full-precision noise", &noise, None, 8.3),
            ("random bits", &random_bits, Some(TAG_GORILLA), 8.3),
            // Decimal packs the zero deltas in zero bits; Gorilla needs one bit each.
            ("constant", &constant, Some(TAG_DECIMAL), 0.01),
        ];
        for (name, values, tag, bytes_per_value_max) in cases {
            let encoded = encoded(values);
            let bytes_per_value = encoded.len() as f64 / values.len() as f64;
            println!(
                "float chooser, {name}: tag {:?}, {bytes_per_value:.3} bytes/value",
                encoded[0]
            );
            if let Some(tag) = tag {
                assert_eq!(encoded[0], tag, "{name}");
            }
            assert!(
                bytes_per_value <= bytes_per_value_max,
                "{name}: {bytes_per_value}"
            );
        }
        assert_eq!(encoded(&[]), [TAG_DECIMAL, 0]);
    }

    #[test]
    fn rejects_unknown_tag() {
        assert_eq!(
            decode(&[7, 0], &mut Vec::new()).unwrap_err().to_string(),
            "invalid float codec tag: 7"
        );
        assert_appends(&encoded(&[1.5, f64::NAN]), decode, 0.5);
    }

    proptest! {
        #[test]
        fn round_trips_exactly_framed(values in prop::collection::vec(any_float(), 0..40)) {
            encoded(&values);
        }

        #[test]
        fn corrupted_encodings_never_panic(
            values in prop::collection::vec(any_float(), 0..40),
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
