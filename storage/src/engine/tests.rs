//! Engine tests that need the crate's internals (a forced hash collision).

use super::*;
use crate::options::WalDurability;
use crate::point::Point;
use crate::scan::ScanRequest;
use crate::schema::FieldValue;
use crate::series::SeriesIndex;

fn options(dir: &std::path::Path) -> StorageOptions {
    StorageOptions {
        data_dir: dir.to_owned(),
        wal_durability: WalDurability::EveryWrite,
        ..StorageOptions::default()
    }
}

fn point(host: &str, value: f64) -> Point {
    Point {
        measurement: "cpu".into(),
        tags: vec![("host".into(), host.into())],
        fields: vec![("x".into(), FieldValue::Float(value))],
        timestamp_ns: 1_000,
    }
}

fn values_by_host(engine: &Engine) -> Vec<(String, f64)> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    let mut out = Vec::new();
    for batch in engine.scan(&ScanRequest::new("cpu")).unwrap() {
        let batch = batch.unwrap();
        let hosts = batch.column(1).as_string::<i32>();
        let values = batch
            .column(2)
            .as_primitive::<arrow_array::types::Float64Type>();
        for row in 0..batch.num_rows() {
            assert!(!values.is_null(row));
            out.push((hosts.value(row).to_owned(), values.value(row)));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn colliding_series_keep_their_own_data_across_flush_and_restart() {
    fn colliding(bytes: &[u8], seed: u64) -> u64 {
        if seed == 0 {
            7
        } else {
            xxhash_rust::xxh3::xxh3_64_with_seed(bytes, seed)
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(options(dir.path())).unwrap();
    engine.shared.state.lock().series = SeriesIndex::with_hasher(colliding);
    // Same time, same field: if the two series shared an id, one value would overwrite the other.
    engine.write(&[point("a", 1.0)]).unwrap();
    engine.write(&[point("b", 2.0)]).unwrap();
    assert_eq!(engine.stats().series_collisions_resolved, 1);
    let expected = vec![("a".to_owned(), 1.0), ("b".to_owned(), 2.0)];
    assert_eq!(values_by_host(&engine), expected, "in the memtable");
    engine.flush().unwrap();
    assert_eq!(values_by_host(&engine), expected, "in a segment");
    engine.write(&[point("b", 3.0)]).unwrap();
    drop(engine);
    // The reopened engine hashes normally; the ids come from the series log and the WAL.
    let engine = Engine::open(options(dir.path())).unwrap();
    let expected = vec![("a".to_owned(), 1.0), ("b".to_owned(), 3.0)];
    assert_eq!(
        values_by_host(&engine),
        expected,
        "after restart and replay"
    );
}

#[test]
fn point_and_age_triggers_flush_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(StorageOptions {
        memtable_points_max: 10,
        memtable_age_max: std::time::Duration::from_millis(50),
        maintenance_interval: std::time::Duration::from_millis(10),
        ..options(dir.path())
    })
    .unwrap();
    let points: Vec<Point> = (0..10)
        .map(|i| Point {
            timestamp_ns: i,
            ..point("a", 1.0)
        })
        .collect();
    engine.write(&points).unwrap();
    let wait_for_segments = |count: u64| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while engine.stats().segments < count {
            assert!(
                std::time::Instant::now() < deadline,
                "no flush: {:?}",
                engine.stats()
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    };
    wait_for_segments(1);
    assert_eq!(
        engine.stats().memtable_points,
        0,
        "max_points froze the memtable"
    );
    engine
        .write(&[Point {
            timestamp_ns: 100,
            ..point("a", 1.0)
        }])
        .unwrap();
    wait_for_segments(2);
    assert_eq!(
        engine.stats().memtable_points,
        0,
        "max_age flushed the single point"
    );
}

#[test]
fn a_failing_flush_is_reported_retried_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(options(dir.path())).unwrap();
    engine.write(&[point("a", 1.0)]).unwrap();
    // A file where the segments directory should be makes every flush fail.
    let segments = dir.path().join("segments");
    std::fs::remove_dir_all(&segments).unwrap();
    std::fs::write(&segments, b"not a directory").unwrap();
    let error = engine.flush().unwrap_err();
    assert!(
        error.to_string().starts_with("memtable flush failed"),
        "{error}"
    );
    assert_eq!(
        values_by_host(&engine),
        vec![("a".to_owned(), 1.0)],
        "still readable"
    );
    std::fs::remove_file(&segments).unwrap();
    std::fs::create_dir(&segments).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while engine.stats().frozen_memtables > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "retry never succeeded"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(engine.stats().segments, 1);
    assert_eq!(engine.stats().background_error, None);
    engine.close().unwrap();
    let engine = Engine::open(options(dir.path())).unwrap();
    assert_eq!(
        values_by_host(&engine),
        vec![("a".to_owned(), 1.0)],
        "after restart"
    );
}

#[test]
fn shards_split_the_series_disjointly_and_cover_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(options(dir.path())).unwrap();
    let points: Vec<Point> = (0..7)
        .map(|host| point(&format!("h{host}"), f64::from(host)))
        .collect();
    engine.write(&points).unwrap();
    engine.flush().unwrap();
    let hosts = |shard: crate::scan::Shard| -> Vec<String> {
        let request = ScanRequest {
            shard,
            ..ScanRequest::new("cpu")
        };
        let mut hosts = Vec::new();
        for batch in engine.scan(&request).unwrap() {
            use arrow_array::cast::AsArray;
            let batch = batch.unwrap();
            let column = batch.column(1).as_string::<i32>();
            hosts.extend((0..batch.num_rows()).map(|row| column.value(row).to_owned()));
        }
        hosts.sort();
        hosts
    };
    let all = hosts(crate::scan::Shard::ALL);
    assert_eq!(all.len(), 7);
    let first = hosts(crate::scan::Shard { index: 0, count: 2 });
    let second = hosts(crate::scan::Shard { index: 1, count: 2 });
    assert_eq!(first.len() + second.len(), 7);
    assert!(
        first.len() >= 3 && second.len() >= 3,
        "{first:?} {second:?}"
    );
    let mut union = [first, second].concat();
    union.sort();
    assert_eq!(union, all);
}
