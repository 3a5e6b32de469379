//! Storage-level ingest throughput in points per second, per WAL durability mode.
//!
//! Scenarios (each into a fresh engine in a temporary directory, memtable flushes included):
//! - `ingest/write_batch/<mode>`: one writer, batches of 1,000 points (100 series × 10
//!   timestamps, 10 float fields of 2-decimal gauges), for `none`, `os_default`, `periodic`,
//!   `every_write`.
//! - `ingest/concurrent_every_write/<writers>`: several writers in `every_write`, where group
//!   commit lets them share fsyncs; throughput counts all writers' points.
//!
//! The number to watch: points/s of each mode relative to `none` in the same run (the cost of
//! durability), and how `concurrent_every_write` scales with writers (group commit at work).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rusts_storage::{Engine, FieldValue, Point, StorageOptions, WalDurability};

const SERIES: i64 = 100;
const TIMESTAMPS: i64 = 10;
const BATCH_POINTS: u64 = (SERIES * TIMESTAMPS) as u64;

fn batch(step: i64, writer: i64) -> Vec<Point> {
    let mut points = Vec::with_capacity(BATCH_POINTS as usize);
    for t in 0..TIMESTAMPS {
        for s in 0..SERIES {
            let timestamp_ns = (step * TIMESTAMPS + t) * 10_000_000_000;
            let fields = (0..10)
                .map(|f| {
                    let value = ((s * 7 + f * 13 + step + t) % 10_000) as f64 / 100.0;
                    (format!("usage_{f}"), FieldValue::Float(value))
                })
                .collect();
            points.push(Point {
                measurement: "cpu".into(),
                tags: vec![
                    ("hostname".into(), format!("host_{s}")),
                    ("writer".into(), writer.to_string()),
                ],
                fields,
                timestamp_ns,
            });
        }
    }
    points
}

fn open(dir: &std::path::Path, durability: WalDurability) -> Engine {
    Engine::open(StorageOptions {
        data_dir: dir.to_owned(),
        wal_durability: durability,
        ..StorageOptions::default()
    })
    .expect("open engine")
}

fn write_batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("ingest/write_batch");
    group.throughput(Throughput::Elements(BATCH_POINTS));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    let modes = [
        ("none", WalDurability::None),
        ("os_default", WalDurability::OsDefault),
        ("periodic", WalDurability::default()),
        ("every_write", WalDurability::EveryWrite),
    ];
    for (name, durability) in modes {
        let dir = tempfile::tempdir().expect("temporary directory");
        let engine = open(dir.path(), durability);
        let mut step = 0;
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_batched(
                || {
                    step += 1;
                    batch(step, 0)
                },
                |points| engine.write(&points).expect("write"),
                criterion::BatchSize::SmallInput,
            );
        });
        engine.close().expect("close");
    }
    group.finish();
}

fn concurrent_every_write(c: &mut Criterion) {
    let mut group = c.benchmark_group("ingest/concurrent_every_write");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    for writers in [1i64, 4, 8] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let engine = Arc::new(open(dir.path(), WalDurability::EveryWrite));
        let step = Arc::new(AtomicI64::new(0));
        group.throughput(Throughput::Elements(BATCH_POINTS * writers as u64));
        group.bench_function(BenchmarkId::from_parameter(writers), |b| {
            b.iter_custom(|iterations| {
                let batches: Vec<Vec<Vec<Point>>> = (0..writers)
                    .map(|w| {
                        (0..iterations)
                            .map(|_| batch(step.fetch_add(1, Ordering::SeqCst), w))
                            .collect()
                    })
                    .collect();
                let started = Instant::now();
                let threads: Vec<_> = batches
                    .into_iter()
                    .map(|mine| {
                        let engine = Arc::clone(&engine);
                        std::thread::spawn(move || {
                            mine.iter().for_each(|points| {
                                engine.write(points).expect("write");
                            });
                        })
                    })
                    .collect();
                threads.into_iter().for_each(|t| t.join().expect("writer"));
                started.elapsed()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, write_batch, concurrent_every_write);
criterion_main!(benches);
