//! Test helpers shared by the codec tests: a seeded generator (no `rand` dependency, so the
//! sizes the tests assert are the same on every machine), the float strategy, and the
//! framing checks every codec must pass.

use std::fmt::Debug;

use proptest::prelude::*;

use super::CodecError;

/// xorshift64* with Box-Muller normals: small, seeded, good enough for test data.
#[derive(Debug)]
pub(crate) struct TestRng(u64);

impl TestRng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal.
    pub(crate) fn next_normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// The gauge of the size targets: a random walk with standard normal steps, clamped to
/// [0, 100] and rounded to two decimals (like a CPU percentage).
pub(crate) fn two_decimal_walk(count: usize, seed: u64) -> Vec<f64> {
    let mut rng = TestRng::new(seed);
    let mut level = 50.0f64;
    (0..count)
        .map(|_| {
            level = (level + rng.next_normal()).clamp(0.0, 100.0);
            (level * 100.0).round() / 100.0
        })
        .collect()
}

/// Floats that stress every codec path: arbitrary bit patterns (NaN payloads, subnormals,
/// infinities), short decimals, signed zeros and runs of repeats.
pub(crate) fn any_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<u64>().prop_map(f64::from_bits),
        4 => (-100_000i64..100_000, 0i32..4).prop_map(|(i, e)| i as f64 / 10f64.powi(e)),
        1 => prop::sample::select(vec![
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            5e-324,
            1e300,
        ]),
    ]
}

/// Float bit patterns, the unit of comparison for lossless float codecs.
pub(crate) fn bits_of(values: &[f64]) -> Vec<u64> {
    values.iter().map(|value| value.to_bits()).collect()
}

/// Checks that `decode` accepts `encoded` exactly: it decodes to `expected`, fails on every
/// strict prefix without appending anything, and fails with `TrailingBytes` on one extra byte.
pub(crate) fn assert_exactly_framed<T: Debug + Clone>(
    encoded: &[u8],
    decode: impl Fn(&[u8], &mut Vec<T>) -> Result<(), CodecError>,
    same: impl Fn(&[T], &[T]) -> bool,
    expected: &[T],
) {
    let mut decoded = Vec::new();
    decode(encoded, &mut decoded).unwrap();
    assert!(
        same(&decoded, expected),
        "decoded {decoded:?}, expected {expected:?}"
    );
    for end in 0..encoded.len() {
        let prefix = encoded.get(..end).unwrap();
        let result = decode(prefix, &mut Vec::new());
        assert!(
            result.is_err(),
            "prefix of {end} / {} bytes decoded",
            encoded.len()
        );
    }
    let mut longer = encoded.to_vec();
    longer.push(0);
    assert_eq!(
        decode(&longer, &mut Vec::new()),
        Err(CodecError::TrailingBytes { extra: 1 })
    );
}

/// Checks that `decode` appends rather than overwrites.
pub(crate) fn assert_appends<T: Debug + Clone + PartialEq>(
    encoded: &[u8],
    decode: impl Fn(&[u8], &mut Vec<T>) -> Result<(), CodecError>,
    sentinel: T,
) {
    let mut out = vec![sentinel.clone()];
    decode(encoded, &mut out).unwrap();
    assert_eq!(out.first(), Some(&sentinel));
}

/// `encoded` with the byte at `position` (modulo its length) replaced by `byte`, to feed
/// decoders almost-valid input.
pub(crate) fn corrupted(encoded: &[u8], position: usize, byte: u8) -> Vec<u8> {
    let mut corrupted = encoded.to_vec();
    let length = corrupted.len();
    if let Some(slot) = corrupted.get_mut(position % length.max(1)) {
        *slot = byte;
    }
    corrupted
}
