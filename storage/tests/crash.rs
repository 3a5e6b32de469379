//! Crash tests with a real separate process. The test binary re-executes itself as a writer
//! (`crash_writer_child`, ignored in normal runs) that writes numbered batches and prints
//! `ACK <batch> <sequence> <synced>` after each acknowledged write. The parent kills it with
//! SIGKILL at a random moment, reopens the store and checks, against a model of every batch:
//! every acknowledged point is present with its newest acknowledged value, nothing is
//! duplicated, nothing was invented, and the batch in flight is all there or not at all.
//! Each round continues on the same directory, so recovery of recovered state is exercised
//! too, with small memtables so flushes, WAL truncation and compaction race the kill.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampNanosecondType};
use rusts_storage::{Engine, FieldValue, Point, ScanRequest, StorageOptions, WalDurability};

const POINTS_PER_BATCH: i64 = 40;
const OVERWRITES_PER_BATCH: i64 = 10;
const HOSTS: i64 = 13;

fn storage_options(dir: &Path, durability: WalDurability) -> StorageOptions {
    StorageOptions {
        data_dir: dir.to_owned(),
        wal_durability: durability,
        memtable_points_max: 1_500,
        partition_duration: Duration::from_secs(3600),
        compaction_segments_min: 3,
        maintenance_interval: Duration::from_millis(5),
        wal_file_bytes_max: 64 << 10,
        ..StorageOptions::default()
    }
}

fn durability(name: &str) -> WalDurability {
    match name {
        "every_write" => WalDurability::EveryWrite,
        "periodic" => WalDurability::Periodic {
            interval: Duration::from_millis(20),
        },
        other => panic!("unknown durability {other}"),
    }
}

/// The points of batch `b`: new points, plus overwrites of batch `b - 1`'s first points.
/// Field `batch` records which batch wrote a value last.
fn batch_points(b: i64) -> Vec<Point> {
    let point = |b_origin: i64, i: i64, writer: i64| Point {
        measurement: "m".into(),
        tags: vec![("host".into(), format!("h{}", (b_origin * 7 + i) % HOSTS))],
        fields: vec![
            ("batch".into(), FieldValue::Integer(writer)),
            (
                "value".into(),
                FieldValue::Float(writer as f64 * 0.5 + i as f64),
            ),
        ],
        // Spread over hours so several partitions exist; 1 s apart within a batch.
        timestamp_ns: (b_origin * 100 + i) * 60_000_000_000,
    };
    let mut points: Vec<Point> = (0..POINTS_PER_BATCH).map(|i| point(b, i, b)).collect();
    if b > 0 {
        points.extend((0..OVERWRITES_PER_BATCH).map(|i| point(b - 1, i, b)));
    }
    points
}

#[test]
#[ignore = "the writer process of the crash tests; run by them, not alone"]
fn crash_writer_child() {
    let dir = std::env::var("RUSTS_CRASH_DIR").expect("RUSTS_CRASH_DIR");
    let mode = std::env::var("RUSTS_CRASH_MODE").expect("RUSTS_CRASH_MODE");
    let first: i64 = std::env::var("RUSTS_CRASH_FIRST")
        .expect("first batch")
        .parse()
        .unwrap();
    let engine = Engine::open(storage_options(Path::new(&dir), durability(&mode))).unwrap();
    for b in first.. {
        let summary = engine.write(&batch_points(b)).unwrap();
        let synced = engine.stats().wal_synced_sequence;
        println!("ACK {b} {} {synced}", summary.sequence.0);
    }
}

/// (host, time) → (batch that wrote it last, value).
type Stored = BTreeMap<(String, i64), (i64, f64)>;

fn read_store(dir: &Path, mode: &str) -> Stored {
    let engine = Engine::open(storage_options(dir, durability(mode))).unwrap();
    let mut stored = Stored::new();
    let Ok(scan) = engine.scan(&ScanRequest::new("m")) else {
        return stored;
    };
    for batch in scan {
        let batch = batch.unwrap();
        let schema = batch.schema();
        let times = batch.column(0).as_primitive::<TimestampNanosecondType>();
        let hosts = batch
            .column(schema.index_of("host").unwrap())
            .as_string::<i32>();
        let writers = batch
            .column(schema.index_of("batch").unwrap())
            .as_primitive::<Int64Type>();
        let values = batch
            .column(schema.index_of("value").unwrap())
            .as_primitive::<arrow_array::types::Float64Type>();
        for row in 0..batch.num_rows() {
            let key = (hosts.value(row).to_owned(), times.value(row));
            let entry = (writers.value(row), values.value(row));
            assert!(
                stored.insert(key.clone(), entry).is_none(),
                "{key:?} returned twice"
            );
        }
    }
    stored
}

/// The store expected after `batches` (each present or not) were written, in order.
fn model(batches: &[(i64, bool)]) -> BTreeMap<(String, i64), (i64, f64)> {
    let mut rows = BTreeMap::new();
    for (b, present) in batches {
        if !present {
            continue;
        }
        for point in batch_points(*b) {
            let host = point.tags[0].1.clone();
            let FieldValue::Integer(writer) = point.fields[0].1 else {
                unreachable!()
            };
            let FieldValue::Float(value) = point.fields[1].1 else {
                unreachable!()
            };
            rows.insert((host, point.timestamp_ns), (writer, value));
        }
    }
    rows
}

struct Round {
    acknowledged: Vec<(i64, u64, u64)>,
}

fn run_child(dir: &Path, mode: &str, first: i64, kill_after: Duration) -> Round {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_writer_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RUSTS_CRASH_DIR", dir)
        .env("RUSTS_CRASH_MODE", mode)
        .env("RUSTS_CRASH_FIRST", first.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .filter_map(|line| {
                // The harness may print its own text before ours on the first line.
                let start = line.find("ACK ")?;
                let mut parts = line.get(start + 4..)?.split(' ');
                let b = parts.next()?.parse().ok()?;
                let sequence = parts.next()?.parse().ok()?;
                let synced = parts.next()?.parse().ok()?;
                Some((b, sequence, synced))
            })
            .collect::<Vec<(i64, u64, u64)>>()
    });
    let started = Instant::now();
    while started.elapsed() < kill_after {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("writer exited early with {status}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    Round {
        acknowledged: reader.join().unwrap(),
    }
}

fn crash_rounds(mode: &str, rounds: u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ rounds;
    let mut batches: Vec<(i64, bool)> = Vec::new();
    let mut next = 0;
    let mut acknowledged_total = 0;
    for round in 0..rounds {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_after = Duration::from_millis(150 + seed % 600);
        let result = run_child(dir.path(), mode, next, kill_after);
        let acked: Vec<i64> = result.acknowledged.iter().map(|(b, _, _)| *b).collect();
        assert!(
            acked.iter().copied().eq(next..next + acked.len() as i64),
            "acks out of order: {acked:?} from {next}"
        );
        acknowledged_total += acked.len();
        let in_flight = next + acked.len() as i64;
        batches.extend(acked.iter().map(|b| (*b, true)));
        let stored = read_store(dir.path(), mode);
        // The batch in flight may have landed; if any of its new points is there, all must be.
        let landed = batch_points(in_flight)
            .iter()
            .take(POINTS_PER_BATCH as usize)
            .any(|p| stored.contains_key(&(p.tags[0].1.clone(), p.timestamp_ns)));
        batches.push((in_flight, landed));
        let expected = model(&batches);
        assert_eq!(
            stored.len(),
            expected.len(),
            "round {round}: row count ({mode})"
        );
        for (key, value) in &expected {
            assert_eq!(
                stored.get(key),
                Some(value),
                "round {round}: {key:?} ({mode})"
            );
        }
        if mode == "periodic" {
            // Weaker promise of the periodic mode, checked on its own: everything up to the
            // last sequence reported synced is there even on power loss.
            let synced = result.acknowledged.last().map_or(0, |(_, _, s)| *s);
            for (b, sequence, _) in &result.acknowledged {
                if *sequence <= synced {
                    assert!(
                        expected_contains_batch(&stored, *b),
                        "synced batch {b} lost"
                    );
                }
            }
        }
        next = in_flight + 1;
    }
    eprintln!("{mode}: {rounds} kills, {acknowledged_total} acknowledged batches verified");
    assert!(
        acknowledged_total > rounds as usize,
        "the writer made progress"
    );
}

fn expected_contains_batch(stored: &Stored, b: i64) -> bool {
    batch_points(b)
        .iter()
        .all(|p| stored.contains_key(&(p.tags[0].1.clone(), p.timestamp_ns)))
}

#[test]
fn every_write_survives_repeated_sigkill() {
    crash_rounds("every_write", 12);
}

#[test]
fn periodic_survives_repeated_sigkill() {
    crash_rounds("periodic", 8);
}
