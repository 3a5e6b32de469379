//! The whole engine against a model: random writes (with overwrites of some fields), deletes by
//! time range and tag, drops of the measurement (after which field `x` comes back with the
//! other type), flushes, compactions and reopens, compared after every step with a `BTreeMap`
//! of what must be visible (redb's fuzzer, applied to a time-series store).

mod common;

use common::{Rows, options, point, scan_all, scan_filtered, scan_in_order, scan_with};
use proptest::prelude::*;
use rusts_storage::{
    Comparison, Engine, FieldFilter, FieldValue, Predicate, ScanOrder, ScanRequest, TagPredicate,
    TimeRange, WalDurability,
};

const HOSTS: [&str; 3] = ["a", "b", "c"];
const DAY: i64 = 86_400_000_000_000;

#[derive(Debug, Clone)]
enum Op {
    /// host, time slot, which fields, value
    Write(usize, i64, u8, i64),
    /// host (None = all), first and last time slot
    Delete(Option<usize>, i64, i64),
    /// `DROP TABLE cpu`: every row goes; `x` is written with the other type afterwards.
    Drop,
    Flush,
    Compact,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3usize, 0..12i64, 1..4u8, -50..50i64).prop_map(|(h, t, f, v)| Op::Write(h, t, f, v)),
        1 => (proptest::option::of(0..3usize), 0..12i64, 0..6i64)
            .prop_map(|(h, t, len)| Op::Delete(h, t, t + len)),
        1 => Just(Op::Drop),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

/// Slots spread over several days, so partitions differ; some before 1970.
fn time(slot: i64) -> i64 {
    (slot - 4) * DAY / 2 + slot
}

/// What must be visible, and whether `x` is an integer in this generation of the table.
#[derive(Debug, Default)]
struct Model {
    rows: Rows,
    x_is_integer: bool,
}

impl Model {
    /// The rows whose integer field `field` compares with `value` as `op` asks.
    fn matching(&self, field: &str, op: Comparison, value: i64) -> Rows {
        let passes = |v: i64| match op {
            Comparison::Eq => v == value,
            Comparison::NotEq => v != value,
            Comparison::Lt => v < value,
            Comparison::LtEq => v <= value,
            Comparison::Gt => v > value,
            Comparison::GtEq => v >= value,
        };
        self.rows
            .iter()
            .filter(|(_, fields)| {
                fields
                    .get(field)
                    .is_some_and(|v| passes(v.parse::<i64>().unwrap()))
            })
            .map(|(key, fields)| (key.clone(), fields.clone()))
            .collect()
    }
}

/// Each host's newest row of `rows`.
fn newest_per_host(rows: &Rows) -> Rows {
    let mut newest = Rows::new();
    for ((host, time), fields) in rows {
        newest.retain(|(h, _), _| h != host);
        newest.insert((host.clone(), *time), fields.clone());
    }
    newest
}

fn apply(engine: &Engine, model: &mut Model, op: &Op) {
    match *op {
        Op::Write(host, slot, which, value) => {
            let mut fields = Vec::new();
            if which & 1 != 0 && model.x_is_integer {
                fields.push(("x", FieldValue::Integer(value * 3)));
            } else if which & 1 != 0 {
                fields.push(("x", FieldValue::Float(value as f64 / 4.0)));
            }
            if which & 2 != 0 {
                fields.push(("y", FieldValue::Integer(value)));
            }
            engine
                .write(&[point(HOSTS[host], time(slot), &fields)])
                .unwrap();
            let row = model
                .rows
                .entry((HOSTS[host].to_owned(), time(slot)))
                .or_default();
            for (name, value) in fields {
                let text = match value {
                    FieldValue::Float(v) => format!("{v}"),
                    FieldValue::Integer(v) => format!("{v}"),
                    _ => unreachable!(),
                };
                row.insert(name.to_owned(), text);
            }
        }
        Op::Delete(host, first, last) => {
            let tags = host
                .map(|h| {
                    vec![TagPredicate::Eq {
                        key: "host".into(),
                        value: HOSTS[h].into(),
                    }]
                })
                .unwrap_or_default();
            let range = TimeRange::new(time(first), time(last));
            let predicate = Predicate {
                time_range: range,
                tags,
            };
            // A delete before the first write names an unknown measurement: nothing to do.
            let _ = engine.delete("cpu", &predicate);
            model.rows.retain(|(h, ts), _| {
                !(range.contains(*ts) && host.is_none_or(|x| HOSTS[x] == h.as_str()))
            });
        }
        Op::Drop => {
            let existed = engine.drop_measurement("cpu").unwrap();
            assert_eq!(existed, engine.schema("cpu").is_none() && existed);
            model.rows.clear();
            model.x_is_integer = !model.x_is_integer;
        }
        Op::Flush => engine.flush().unwrap(),
        Op::Compact => {
            engine.compact().unwrap();
        }
        Op::Reopen => unreachable!("handled by the caller"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let open = || Engine::open(options(dir.path(), WalDurability::OsDefault)).unwrap();
        let mut engine = open();
        let mut model = Model::default();
        for (step, op) in ops.iter().enumerate() {
            if let Op::Reopen = op {
                drop(engine);
                engine = open();
            } else {
                apply(&engine, &mut model, op);
            }
            let stored = scan_all(&engine, "cpu");
            prop_assert_eq!(&stored, &model.rows, "after step {} ({:?})", step, op);
            // A time-ordered scan over part of the span.
            let range = TimeRange::new(time(3), time(8));
            let request = ScanRequest {
                predicate: Predicate { time_range: range, tags: vec![] },
                order: ScanOrder::TimeDescending,
                ..ScanRequest::new("cpu")
            };
            let in_range: Rows = model
                .rows
                .iter()
                .filter(|((_, t), _)| range.contains(*t))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            prop_assert_eq!(&scan_in_order(&engine, request).0, &in_range, "range after step {}", step);
            // Field filters skip rows and chunks; overwrites must still merge first.
            for (op, value) in [(Comparison::Gt, 10), (Comparison::LtEq, -20), (Comparison::Eq, 7)] {
                let filter = FieldFilter { field: "y".into(), op, value: FieldValue::Integer(value) };
                let filtered = scan_filtered(&engine, "cpu", vec![filter]);
                let expected = model.matching("y", op, value);
                prop_assert_eq!(&filtered, &expected, "y {:?} {} after step {}", op, value, step);
                // The newest row per series, among those passing the filter (or all).
                let filter = FieldFilter { field: "y".into(), op, value: FieldValue::Integer(value) };
                for (filters, rows) in [(vec![filter], &expected), (vec![], &model.rows)] {
                    let request = ScanRequest {
                        filters: filters.clone(),
                        latest: true,
                        ..ScanRequest::new("cpu")
                    };
                    let latest = scan_with(&engine, request);
                    prop_assert_eq!(&latest, &newest_per_host(rows), "latest after step {}", step);
                    // Time order across series, in small batches: the same rows, sorted.
                    for order in [ScanOrder::TimeAscending, ScanOrder::TimeDescending] {
                        let request = ScanRequest {
                            filters: filters.clone(),
                            order,
                            batch_rows: 2,
                            ..ScanRequest::new("cpu")
                        };
                        let (ordered, sequence) = scan_in_order(&engine, request);
                        prop_assert_eq!(&ordered, rows, "{:?} after step {}", order, step);
                        let mut sorted = sequence.clone();
                        sorted.sort_by_key(|(time, _)| *time);
                        if order == ScanOrder::TimeDescending {
                            sorted.reverse();
                        }
                        let times = |s: &[(i64, String)]| s.iter().map(|(t, _)| *t).collect::<Vec<_>>();
                        prop_assert_eq!(times(&sequence), times(&sorted), "{:?} after step {}", order, step);
                    }
                }
            }
        }
    }
}

/// Found by `engine_matches_model`: an explicit compaction raced the maintenance thread's
/// compaction of the same partition, both installed an output and deleted rows came back.
#[test]
fn regression_concurrent_compactions_do_not_revive_deleted_rows() {
    use Op::*;
    let ops = [
        Flush,
        Write(0, 3, 2, -9),
        Write(1, 9, 3, -24),
        Write(2, 6, 1, -46),
        Flush,
        Compact,
        Write(2, 7, 2, 31),
        Reopen,
        Write(2, 7, 2, -44),
        Write(0, 2, 3, -24),
        Write(1, 2, 3, -25),
        Write(2, 3, 3, -26),
        Flush,
        Delete(None, 5, 9),
        Delete(None, 9, 11),
        Compact,
    ];
    let (_dir, engine) = check(&ops);
    assert_eq!(engine.stats().segments, 1, "{:?}", engine.stats());
}

/// Runs `ops` and compares with the model after each step; returns the engine and its
/// directory (dropped after the engine).
fn check(ops: &[Op]) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let open = || Engine::open(options(dir.path(), WalDurability::OsDefault)).unwrap();
    let mut engine = open();
    let mut model = Model::default();
    for (step, op) in ops.iter().enumerate() {
        if let Op::Reopen = op {
            drop(engine);
            engine = open();
        } else {
            apply(&engine, &mut model, op);
        }
        assert_eq!(
            scan_all(&engine, "cpu"),
            model.rows,
            "after step {step} ({op:?})"
        );
    }
    (dir, engine)
}

/// Found by `engine_matches_model` when drops were added: the drop rewrote the series log
/// without the series while an unflushed WAL record before the drop still held its points;
/// replay met a point of an unknown series.
#[test]
fn regression_points_before_a_drop_of_a_series_the_log_no_longer_has() {
    use Op::*;
    check(&[Write(1, 0, 1, 0), Flush, Write(1, 0, 1, 0), Drop, Reopen]);
}

/// Found by `engine_matches_model`: compaction wrote the manifest with the schema of the
/// recreated table (x integer) while WAL records of the dropped one (x float) were still to
/// replay; replay saw a type conflict.
#[test]
fn regression_replay_before_a_drop_meets_the_recreated_schema() {
    use Op::*;
    check(&[
        Write(0, 0, 1, 0),
        Flush,
        Write(1, 0, 3, 0),
        Drop,
        Write(0, 0, 1, 0),
        Compact,
        Reopen,
    ]);
}
