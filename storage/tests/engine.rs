//! The storage engine through its public API: writes, overwrites, deletes, flushes,
//! compaction, restarts and pruning, each checked against what was written.

mod common;

use common::{Rows, options, point, scan_all};
use rusts_storage::{
    Engine, FieldValue, Predicate, ScanRequest, TagPredicate, TimeRange, WalDurability,
};

const DAY: i64 = 86_400_000_000_000;

fn f(value: f64) -> FieldValue {
    FieldValue::Float(value)
}

type Entry<'a> = (&'a str, i64, &'a [(&'a str, &'a str)]);

fn expected(entries: &[Entry<'_>]) -> Rows {
    entries
        .iter()
        .map(|(host, ts, fields)| {
            let fields = fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            ((host.to_string(), *ts), fields)
        })
        .collect()
}

#[test]
fn overwrites_merge_newest_wins_in_memtable_across_segments_and_after_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(options(dir.path(), WalDurability::None)).unwrap();
    engine
        .write(&[point("a", 10, &[("x", f(1.0)), ("y", f(2.0))])])
        .unwrap();
    engine.flush().unwrap();
    engine.write(&[point("a", 10, &[("x", f(1.5))])]).unwrap();
    let want = expected(&[("a", 10, &[("x", "1.5"), ("y", "2")])]);
    assert_eq!(scan_all(&engine, "cpu"), want, "memtable over segment");
    engine.flush().unwrap();
    assert_eq!(engine.stats().segments, 2);
    assert_eq!(scan_all(&engine, "cpu"), want, "segment over segment");
    let summary = engine.compact().unwrap();
    assert_eq!(
        (summary.segments_in, summary.rows_in, summary.rows_out),
        (2, 2, 1)
    );
    assert_eq!(engine.stats().segments, 1);
    assert_eq!(scan_all(&engine, "cpu"), want, "after compaction");
}

#[test]
fn data_and_deletes_survive_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(options(dir.path(), WalDurability::EveryWrite)).unwrap();
    let points: Vec<_> = (0..100)
        .map(|i| point("a", i * DAY / 10, &[("x", f(i as f64))]))
        .collect();
    engine.write(&points).unwrap();
    engine.flush().unwrap();
    let predicate = Predicate {
        time_range: TimeRange::new(0, DAY - 1),
        tags: vec![],
    };
    engine.delete("cpu", &predicate).unwrap();
    assert_eq!(scan_all(&engine, "cpu").len(), 90);
    engine.close().unwrap();
    let engine = Engine::open(options(dir.path(), WalDurability::EveryWrite)).unwrap();
    assert_eq!(
        scan_all(&engine, "cpu").len(),
        90,
        "delete survives a clean restart"
    );
    engine.compact().unwrap();
    drop(engine);
    let engine = Engine::open(options(dir.path(), WalDurability::EveryWrite)).unwrap();
    let rows = scan_all(&engine, "cpu");
    assert_eq!(rows.len(), 90, "delete survives compaction and a restart");
    assert!(rows.keys().all(|(_, ts)| *ts >= DAY));
    assert_eq!(
        engine.stats().tombstones,
        0,
        "tombstone collected once applied everywhere"
    );
}

#[test]
fn unflushed_writes_replay_from_the_wal_after_drop() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(options(dir.path(), WalDurability::EveryWrite)).unwrap();
    engine.write(&[point("a", 1, &[("x", f(1.0))])]).unwrap();
    engine.flush().unwrap();
    engine.write(&[point("b", 2, &[("x", f(2.0))])]).unwrap();
    let delete = Predicate {
        time_range: TimeRange::ALL,
        tags: vec![TagPredicate::Eq {
            key: "host".into(),
            value: "a".into(),
        }],
    };
    engine.delete("cpu", &delete).unwrap();
    drop(engine);
    let engine = Engine::open(options(dir.path(), WalDurability::EveryWrite)).unwrap();
    assert_eq!(
        scan_all(&engine, "cpu"),
        expected(&[("b", 2, &[("x", "2")])])
    );
}

#[test]
fn field_type_conflicts_refuse_the_whole_batch() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(options(dir.path(), WalDurability::None)).unwrap();
    engine.write(&[point("a", 1, &[("x", f(1.0))])]).unwrap();
    let batch = [
        point("b", 2, &[("x", f(2.0))]),
        point("c", 3, &[("x", FieldValue::Integer(3))]),
    ];
    let error = engine.write(&batch).unwrap_err();
    assert_eq!(
        error.to_string(),
        "field type conflict: measurement cpu, field x is float, the write offers integer"
    );
    let within = [
        point("d", 4, &[("y", f(1.0))]),
        point("e", 5, &[("y", FieldValue::Boolean(true))]),
    ];
    assert!(
        engine
            .write(&within)
            .unwrap_err()
            .to_string()
            .contains("field y is float")
    );
    assert_eq!(
        scan_all(&engine, "cpu").len(),
        1,
        "nothing of a refused batch is written"
    );
}

#[test]
fn scans_prune_by_time_tags_and_bloom_and_report_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(options(dir.path(), WalDurability::None)).unwrap();
    for day in 0..5 {
        let points: Vec<_> = ["a", "b", "c"]
            .iter()
            .flat_map(|host| (0..10).map(move |i| point(host, day * DAY + i, &[("x", f(1.0))])))
            .collect();
        engine.write(&points).unwrap();
        engine.flush().unwrap();
    }
    engine
        .write(&[point("z", 6 * DAY, &[("x", f(1.0))])])
        .unwrap();
    engine.flush().unwrap();
    let mut request = ScanRequest::new("cpu");
    request.predicate = Predicate {
        time_range: TimeRange::new(DAY, 2 * DAY - 1),
        tags: vec![TagPredicate::Eq {
            key: "host".into(),
            value: "b".into(),
        }],
    };
    let mut scan = engine.scan(&request).unwrap();
    let rows: usize = scan.by_ref().map(|batch| batch.unwrap().num_rows()).sum();
    assert_eq!(rows, 10);
    let stats = scan.stats();
    assert_eq!(stats.series_total, 4);
    assert_eq!(stats.series_matched, 1);
    assert_eq!(stats.partitions_total, 6);
    assert_eq!(stats.partitions_pruned_by_time, 5);
    assert_eq!(stats.segments_scanned, 1);
    let mut request = ScanRequest::new("cpu");
    request.predicate.tags = vec![TagPredicate::Eq {
        key: "host".into(),
        value: "z".into(),
    }];
    let mut scan = engine.scan(&request).unwrap();
    assert_eq!(
        scan.by_ref().map(|b| b.unwrap().num_rows()).sum::<usize>(),
        1
    );
    let stats = scan.stats();
    assert!(stats.partitions_pruned_by_bloom >= 4, "{stats:?}");
    assert_eq!(stats.segments_scanned, 1, "{stats:?}");
}

#[test]
fn projection_unknown_names_and_second_open_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(options(dir.path(), WalDurability::None)).unwrap();
    engine
        .write(&[point(
            "a",
            1,
            &[("x", f(1.0)), ("y", FieldValue::Integer(7))],
        )])
        .unwrap();
    let mut request = ScanRequest::new("cpu");
    request.projection = Some(vec!["y".into(), "time".into()]);
    let batch = engine.scan(&request).unwrap().next().unwrap().unwrap();
    assert_eq!(batch.schema().field(0).name(), "y");
    assert_eq!(batch.num_columns(), 2);
    request.projection = Some(vec!["nope".into()]);
    assert_eq!(
        engine.scan(&request).unwrap_err().to_string(),
        "measurement cpu has no column nope"
    );
    assert!(
        engine
            .scan(&ScanRequest::new("mem"))
            .unwrap_err()
            .to_string()
            .contains("mem does not exist")
    );
    let second = Engine::open(options(dir.path(), WalDurability::None)).unwrap_err();
    assert!(
        second.to_string().contains("locked by another process"),
        "{second}"
    );
}

#[test]
fn partial_write_keeps_good_points_and_names_each_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(options(dir.path(), WalDurability::None)).unwrap();
    engine.write(&[point("a", 1, &[("x", f(1.0))])]).unwrap();
    let batch = [
        point("b", 2, &[("x", FieldValue::Integer(2))]), // conflicts with the schema
        point("c", 3, &[("y", f(3.0))]),                 // new field y: float
        point("d", 4, &[("y", FieldValue::Boolean(true))]), // conflicts with point 1
        point("e", 5, &[]),                              // no fields
        point("f", 6, &[("x", f(6.0)), ("y", f(6.5))]),
    ];
    let result = engine.write_partial(&batch).unwrap();
    assert_eq!(result.summary.points, 2);
    let rejected: Vec<(usize, String)> = result
        .rejected
        .iter()
        .map(|(i, e)| (*i, e.to_string()))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (
                0,
                "field type conflict: measurement cpu, field x is float, the write offers integer"
                    .into()
            ),
            (
                2,
                "field type conflict: measurement cpu, field y is float, the write offers boolean"
                    .into()
            ),
            (3, "invalid write: point of cpu has no fields".into()),
        ]
    );
    let rows = scan_all(&engine, "cpu");
    let hosts: Vec<&str> = rows.keys().map(|(host, _)| host.as_str()).collect();
    assert_eq!(hosts, vec!["a", "c", "f"]);
}

#[test]
fn segments_survive_close_then_unflushed_write_then_drop() {
    let dir = tempfile::tempdir().unwrap();
    let open = || Engine::open(options(dir.path(), WalDurability::EveryWrite)).unwrap();
    let engine = open();
    engine.write(&[point("a", 1, &[("x", f(1.0))])]).unwrap();
    engine.close().unwrap();
    let engine = open();
    engine.write(&[point("b", 2, &[("x", f(2.0))])]).unwrap();
    drop(engine);
    let engine = open();
    engine.close().unwrap();
    let engine = open();
    assert_eq!(scan_all(&engine, "cpu").len(), 2, "{:?}", engine.stats());
}

/// The newest row per series reads backwards through chunks and memtable blocks until a row
/// survives tombstones, filters and the time range.
#[test]
fn latest_rows_step_back_past_deleted_chunks_and_memtable_blocks() {
    use common::scan_with;
    use rusts_storage::{Comparison, FieldFilter};
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(options(dir.path(), WalDurability::None)).unwrap();
    let rows = |host: &'static str, range: std::ops::Range<i64>| -> Vec<_> {
        range
            .map(|i| point(host, i * 1_000, &[("x", f(i as f64))]))
            .collect()
    };
    // 10,000 rows (three chunks) in a segment, 9,000 newer rows in the memtable.
    engine.write(&rows("a", 0..10_000)).unwrap();
    engine.write(&rows("b", 0..10)).unwrap();
    engine.flush().unwrap();
    engine.write(&rows("a", 10_000..19_000)).unwrap();
    let latest = |range: TimeRange, filters: Vec<FieldFilter>| -> Vec<(String, i64)> {
        let request = ScanRequest {
            predicate: Predicate {
                time_range: range,
                tags: Vec::new(),
            },
            filters,
            latest: true,
            ..ScanRequest::new("cpu")
        };
        scan_with(&engine, request).into_keys().collect()
    };
    let all = TimeRange::ALL;
    assert_eq!(
        latest(all, vec![]),
        [("a".into(), 18_999_000), ("b".into(), 9_000)]
    );
    // Delete every memtable row and the newest segment chunk and a half of a.
    let deleted = TimeRange::new(5_500_000, 19_000_000);
    let only_a = vec![TagPredicate::Eq {
        key: "host".into(),
        value: "a".into(),
    }];
    engine
        .delete(
            "cpu",
            &Predicate {
                time_range: deleted,
                tags: only_a,
            },
        )
        .unwrap();
    assert_eq!(
        latest(all, vec![]),
        [("a".into(), 5_499_000), ("b".into(), 9_000)]
    );
    // A time range ending earlier, and a filter the newest rows fail.
    assert_eq!(
        latest(TimeRange::new(0, 1_234_000), vec![])[0],
        ("a".into(), 1_234_000)
    );
    let below = FieldFilter {
        field: "x".into(),
        op: Comparison::Lt,
        value: f(1_000.5),
    };
    assert_eq!(
        latest(all, vec![below]),
        [("a".into(), 1_000_000), ("b".into(), 9_000)]
    );
    // A range holding only deleted rows has no newest row.
    assert!(latest(TimeRange::new(6_000_000, i64::MAX), vec![]).is_empty());
}

#[test]
fn estimates_count_selected_series_and_rows_in_range_from_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(options(dir.path(), WalDurability::None)).unwrap();
    let hour = DAY / 24;
    // Two hosts, one row every 10 seconds over two hours, the first hour flushed.
    let step = hour / 360;
    let rows = |host: &'static str, from: i64, to: i64| {
        (from..to)
            .map(move |i| point(host, i * step, &[("x", f(i as f64))]))
            .collect::<Vec<_>>()
    };
    for host in ["a", "b"] {
        engine.write(&rows(host, 0, 360)).unwrap();
    }
    engine.flush().unwrap();
    for host in ["a", "b"] {
        engine.write(&rows(host, 360, 720)).unwrap();
    }
    let host_a = vec![TagPredicate::Eq {
        key: "host".into(),
        value: "a".into(),
    }];
    let estimate = |tags: &[TagPredicate], range: TimeRange| {
        let predicate = Predicate {
            time_range: range,
            tags: tags.to_vec(),
        };
        engine.estimate("cpu", &predicate).unwrap()
    };
    let all = estimate(&[], TimeRange::ALL);
    assert_eq!((all.series, all.rows), (2, 1440));
    let one = estimate(&host_a, TimeRange::ALL);
    assert_eq!((one.series, one.rows), (1, 720));
    // A quarter of the flushed hour: its chunk is scaled, the memtable counts whole.
    let quarter = estimate(&host_a, TimeRange::new(0, hour / 4 - 1));
    assert_eq!(quarter.series, 1);
    assert!(
        (90 + 360..=92 + 360).contains(&quarter.rows),
        "{quarter:?} counts the in-range quarter of the segment chunk and the memtable"
    );
    let none = estimate(
        &[TagPredicate::Eq {
            key: "host".into(),
            value: "z".into(),
        }],
        TimeRange::ALL,
    );
    assert_eq!((none.series, none.rows), (0, 0));
    let unknown = engine.estimate("nothing", &Predicate::default()).unwrap();
    assert_eq!((unknown.series, unknown.rows), (0, 0));
}
