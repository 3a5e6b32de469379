//! Column codec throughput, one 4096-row block (`BLOCK_ROWS_MAX`) per iteration.
//!
//! Scenarios (seeded, so every run encodes the same bytes):
//! - `codec/timestamp_{encode,decode}`: `regular_10s` (nanosecond times at a fixed 10 s
//!   interval) and `jittered_10s` (the same with up to 1 ms of jitter);
//! - `codec/float_{encode,decode}`: `decimal_walk` (a 2-decimal gauge, the decimal codec's
//!   case) and `random_bits` (arbitrary bit patterns, Gorilla's worst case); encoding runs
//!   both codecs and keeps the smaller, so it costs about their sum;
//! - `codec/integer_{encode,decode}`: `counter` (a counter growing ~1200 per sample);
//! - `codec/string_{encode,decode}`: `hosts_8` (8 distinct host names);
//! - `codec/boolean_{encode,decode}`: `random`.
//!
//! The number to watch is elements per second (`Throughput::Elements`), compared as a ratio
//! against `main` on the same machine. Before measuring, the bench prints each scenario's
//! encoded size in bytes per value and its ratio against the raw in-memory size (8 bytes per
//! timestamp, float or integer, 1 per boolean, the UTF-8 bytes of strings).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rusts_storage::bench_api as codec;

/// Rows per block, as `BLOCK_ROWS_MAX`.
const ROWS: usize = 4096;

/// xorshift64*: seeded test data without a `rand` dependency.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn next_normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

fn timestamps(jitter_ns: u64) -> Vec<i64> {
    let mut rng = Rng(1);
    let start = 1_700_000_000_000_000_000i64;
    (0..ROWS as i64)
        .map(|i| start + i * 10_000_000_000 + (rng.next_u64() % jitter_ns.max(1)) as i64)
        .collect()
}

fn decimal_walk() -> Vec<f64> {
    let mut rng = Rng(2);
    let mut level = 50.0f64;
    (0..ROWS)
        .map(|_| {
            level = (level + rng.next_normal()).clamp(0.0, 100.0);
            (level * 100.0).round() / 100.0
        })
        .collect()
}

fn random_bits() -> Vec<f64> {
    let mut rng = Rng(3);
    (0..ROWS).map(|_| f64::from_bits(rng.next_u64())).collect()
}

fn counter() -> Vec<i64> {
    let mut rng = Rng(4);
    let mut total = 1_000_000_000i64;
    (0..ROWS)
        .map(|_| {
            total += 1200 + (rng.next_u64() % 64) as i64;
            total
        })
        .collect()
}

fn hosts() -> Vec<String> {
    let mut rng = Rng(5);
    (0..ROWS)
        .map(|_| format!("server-{:02}.eu-west-1", rng.next_u64() % 8))
        .collect()
}

fn booleans() -> Vec<bool> {
    let mut rng = Rng(6);
    (0..ROWS).map(|_| rng.next_u64() & 1 == 1).collect()
}

/// Benches one scenario's encode and decode; `raw_bytes` is the size the ratio compares to.
fn bench_column<T: Clone>(
    c: &mut Criterion,
    column: &str,
    scenario: &str,
    values: &[T],
    raw_bytes: usize,
    encode: impl Fn(&[T], &mut Vec<u8>),
    decode: impl Fn(&[u8], &mut Vec<T>) -> Result<(), codec::CodecError>,
) {
    let mut encoded = Vec::new();
    encode(values, &mut encoded);
    println!(
        "{column}/{scenario}: {:.3} bytes/value, {:.1}x vs raw",
        encoded.len() as f64 / values.len() as f64,
        raw_bytes as f64 / encoded.len() as f64
    );
    let elements = Throughput::Elements(values.len() as u64);
    let mut group = c.benchmark_group(format!("codec/{column}_encode"));
    group.throughput(elements.clone());
    group.bench_function(BenchmarkId::from_parameter(scenario), |b| {
        let mut out = Vec::with_capacity(encoded.len());
        b.iter(|| {
            out.clear();
            encode(black_box(values), &mut out);
            black_box(&out);
        });
    });
    group.finish();
    let mut group = c.benchmark_group(format!("codec/{column}_decode"));
    group.throughput(elements);
    group.bench_function(BenchmarkId::from_parameter(scenario), |b| {
        let mut out = Vec::with_capacity(values.len());
        b.iter(|| {
            out.clear();
            decode(black_box(&encoded), &mut out).expect("the bench's own encoding");
            black_box(&out);
        });
    });
    group.finish();
}

fn codecs(c: &mut Criterion) {
    let raw = ROWS * 8;
    for (scenario, jitter_ns) in [("regular_10s", 0), ("jittered_10s", 1_000_000)] {
        let values = timestamps(jitter_ns);
        let (encode, decode) = (codec::timestamp_encode, codec::timestamp_decode);
        bench_column(c, "timestamp", scenario, &values, raw, encode, decode);
    }
    for (scenario, values) in [
        ("decimal_walk", decimal_walk()),
        ("random_bits", random_bits()),
    ] {
        let (encode, decode) = (codec::float_encode, codec::float_decode);
        bench_column(c, "float", scenario, &values, raw, encode, decode);
    }
    let (encode, decode) = (codec::integer_encode, codec::integer_decode);
    bench_column(c, "integer", "counter", &counter(), raw, encode, decode);
    let values = hosts();
    let raw_strings = values.iter().map(String::len).sum();
    let (encode, decode) = (codec::string_encode::<String>, codec::string_decode);
    bench_column(c, "string", "hosts_8", &values, raw_strings, encode, decode);
    let (encode, decode) = (codec::boolean_encode, codec::boolean_decode);
    bench_column(c, "boolean", "random", &booleans(), ROWS, encode, decode);
}

criterion_group!(benches, codecs);
criterion_main!(benches);
