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

/// The exponent byte and the exception count of an encoding with fewer than 128 values.
fn header(encoded: &[u8]) -> (u8, u8) {
    (encoded[1], encoded[2])
}

#[test]
fn exact_sizes_and_exponents() {
    // (values, exponent, exceptions, encoded bytes)
    let cases: [(&[f64], u8, u8, usize); 8] = [
        (&[1.5], 1, 0, 3 + 1),
        (&[42.0, 42.0, 42.0], 0, 0, 3 + 1 + 1),
        (&[0.25, 0.5, 0.75], 2, 0, 3 + 1 + 1 + 1),
        (&[0.1, 0.2, 0.3], 1, 0, 3 + 1 + 2),
        (&[f64::NAN], 0, 1, 3 + 1 + 8),
        (&[-0.0, 1.0], 0, 1, 3 + 1 + 8 + 1),
        (
            &[1.0, f64::INFINITY, 2.0, f64::NEG_INFINITY],
            0,
            2,
            3 + 2 + 16 + 1 + 2,
        ),
        (&[0.1 + 0.2, 0.3], 1, 1, 3 + 1 + 8 + 1),
    ];
    for (values, exponent, exceptions, len) in cases {
        let encoded = encoded(values);
        assert_eq!(header(&encoded), (exponent, exceptions), "{values:?}");
        assert_eq!(encoded.len(), len, "{values:?}");
    }
    assert_eq!(encoded(&[]), [0]);
}

#[test]
fn extremes_round_trip() {
    let values = [
        9_007_199_254_740_992.0,
        -9_007_199_254_740_992.0,
        9_007_199_254_740_994.0,
        123_456_789_012.5,
        1e-18,
        1e300,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
        -0.001,
    ];
    encoded(&values);
}

#[test]
fn two_decimal_walk_meets_the_size_target() {
    for seed in [1, 2, 3] {
        let values = two_decimal_walk(4096, seed);
        let encoded = encoded(&values);
        let bytes_per_value = encoded.len() as f64 / 4096.0;
        println!(
            "decimal on a 2-decimal walk (seed {seed}): {bytes_per_value:.4} bytes/value, \
             {:.1}x vs 8 bytes",
            8.0 / bytes_per_value
        );
        assert_eq!(encoded[2], 2, "exponent (after a two-byte count)");
        assert!(bytes_per_value < 1.25, "{bytes_per_value}");
    }
}

#[test]
fn few_odd_values_stay_exceptions() {
    let mut values = two_decimal_walk(4096, 4);
    values[10] = f64::NAN;
    values[20] = 1.0 / 3.0;
    values[4095] = -0.0;
    let encoded = encoded(&values);
    assert_eq!(encoded[2], 2, "exponent");
    assert_eq!(encoded[3], 3, "exceptions");
    assert!(encoded.len() as f64 / 4096.0 < 1.25);
}

#[test]
fn rejects_bad_fields() {
    let cases: [(&[u8], &str); 4] = [
        (&[1, 19, 0, 0], "invalid decimal exponent: 19, at most 18"),
        (&[1, 0, 2], "invalid exception count: 2, at most 1"),
        (&[2, 0, 1, 2], "invalid exception position: gap 2 passes 2"),
        (
            &[2, 0, 2, 1, 0],
            "invalid exception position: gap 0 passes 2",
        ),
    ];
    for (input, message) in cases {
        let err = decode(input, &mut Vec::new()).unwrap_err();
        assert_eq!(err.to_string(), message, "{input:?}");
    }
    assert_appends(&encoded(&[2.5, f64::NAN]), decode, 0.5);
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
