//! DDL against the engine: definitions and drops survive restarts from the WAL and from the
//! manifest, and a dropped measurement's rows never come back, whatever holds them (active or
//! frozen memtable, segments, compaction) and whatever type its columns get when recreated.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};

use super::super::Engine;
use crate::error::Error;
use crate::options::{StorageOptions, WalDurability};
use crate::point::Point;
use crate::scan::ScanRequest;
use crate::schema::{FieldType, FieldValue};

fn open(dir: &std::path::Path) -> Engine {
    Engine::open(StorageOptions {
        data_dir: dir.to_owned(),
        wal_durability: WalDurability::EveryWrite,
        ..StorageOptions::default()
    })
    .unwrap()
}

fn point(host: &str, field: &str, value: FieldValue, timestamp_ns: i64) -> Point {
    Point {
        measurement: "cpu".into(),
        tags: vec![("host".into(), host.into())],
        fields: vec![(field.into(), value)],
        timestamp_ns,
    }
}

/// Column names of a full scan.
fn columns(engine: &Engine) -> Vec<String> {
    let schema = engine.schema("cpu").expect("cpu exists").arrow_schema();
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

/// Every row of `cpu` as text: `host value` with the value of `field`.
fn rows(engine: &Engine, field: &str) -> Vec<String> {
    let mut out = Vec::new();
    let batches: Vec<RecordBatch> = engine
        .scan(&ScanRequest::new("cpu"))
        .unwrap()
        .map(|batch| batch.unwrap())
        .collect();
    for batch in batches {
        let hosts = batch.column_by_name("host").unwrap().as_string::<i32>();
        let values = batch.column_by_name(field).unwrap();
        for row in 0..batch.num_rows() {
            let value = if values.is_null(row) {
                "null".to_owned()
            } else if let Some(floats) = values.as_primitive_opt::<Float64Type>() {
                floats.value(row).to_string()
            } else if let Some(ints) = values.as_primitive_opt::<Int64Type>() {
                format!("{}i", ints.value(row))
            } else {
                values.as_string::<i32>().value(row).to_owned()
            };
            out.push(format!("{} {value}", hosts.value(row)));
        }
    }
    out.sort();
    out
}

#[test]
fn a_defined_measurement_exists_empty_and_survives_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let fields = vec![
        ("usage".to_string(), FieldType::Float),
        ("note".to_string(), FieldType::String),
    ];
    {
        let engine = open(dir.path());
        assert!(
            engine
                .create_measurement("cpu", &["host".into(), "dc".into()], &fields)
                .unwrap()
        );
        assert!(!engine.create_measurement("cpu", &[], &[]).unwrap());
        assert_eq!(columns(&engine), ["time", "dc", "host", "usage", "note"]);
        assert!(rows(&engine, "usage").is_empty());
        // A write with the wrong type is refused by the declared type.
        let error = engine
            .write(&[point("a", "usage", FieldValue::Integer(1), 1)])
            .unwrap_err();
        assert!(matches!(error, Error::FieldTypeConflict { .. }), "{error}");
        assert!(engine.add_field("cpu", "load", FieldType::Integer).unwrap());
        assert!(!engine.add_field("cpu", "host", FieldType::Integer).unwrap());
        assert!(!engine.add_field("cpu", "usage", FieldType::Float).unwrap());
        assert!(matches!(
            engine.add_field("nope", "x", FieldType::Float),
            Err(Error::UnknownMeasurement { .. })
        ));
        // Dropped without close: the WAL alone holds the definitions.
    }
    {
        let engine = open(dir.path());
        assert_eq!(
            columns(&engine),
            ["time", "dc", "host", "usage", "note", "load"]
        );
        engine.close().unwrap(); // flushes: the manifest holds them now
    }
    let engine = open(dir.path());
    assert_eq!(
        columns(&engine),
        ["time", "dc", "host", "usage", "note", "load"]
    );
}

#[test]
fn definitions_name_their_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let twice = engine
        .create_measurement("cpu", &["a".into()], &[("a".into(), FieldType::Float)])
        .unwrap_err();
    assert_eq!(
        twice.to_string(),
        "invalid definition of measurement cpu: column \"a\" is named twice"
    );
    let time = engine
        .create_measurement("cpu", &["time".into()], &[])
        .unwrap_err();
    assert!(time.to_string().contains("\"time\" is the time column"));
    assert!(engine.schema("cpu").is_none());
}

/// Drop, then recreate with `usage` as an integer, with old rows in every kind of source.
fn drop_and_recreate(dir: &std::path::Path, flush_before_drop: bool) {
    let engine = open(dir);
    engine
        .write(&[
            point("a", "usage", FieldValue::Float(1.5), 1),
            point("b", "usage", FieldValue::Float(2.5), 1),
        ])
        .unwrap();
    if flush_before_drop {
        engine.flush().unwrap();
    }
    assert!(engine.drop_measurement("cpu").unwrap());
    assert!(!engine.drop_measurement("cpu").unwrap());
    assert!(engine.schema("cpu").is_none());
    assert_eq!(engine.stats().series, 0);
    engine
        .write(&[point("a", "usage", FieldValue::Integer(7), 2)])
        .unwrap();
    assert_eq!(columns(&engine), ["time", "host", "usage"]);
    assert_eq!(rows(&engine, "usage"), ["a 7i"]);
}

#[test]
fn dropped_rows_stay_gone_from_memtable_segments_compaction_and_restarts() {
    for flush_before_drop in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        drop_and_recreate(dir.path(), flush_before_drop);
        // Restart from the WAL (the drop and the rewrite unflushed).
        let engine = open(dir.path());
        assert_eq!(
            rows(&engine, "usage"),
            ["a 7i"],
            "flush {flush_before_drop}"
        );
        assert_eq!(engine.stats().series, 1);
        engine.flush().unwrap();
        engine.compact().unwrap();
        assert_eq!(rows(&engine, "usage"), ["a 7i"]);
        engine.close().unwrap();
        // Restart from the manifest and the rewritten series log.
        let engine = open(dir.path());
        assert_eq!(rows(&engine, "usage"), ["a 7i"]);
        assert_eq!(columns(&engine), ["time", "host", "usage"]);
        assert_eq!(engine.stats().series, 1);
        // The old host b is a new series again, with its tags.
        engine
            .write(&[point("b", "usage", FieldValue::Integer(8), 3)])
            .unwrap();
        assert_eq!(rows(&engine, "usage"), ["a 7i", "b 8i"]);
    }
}

#[test]
fn a_dropped_measurement_with_new_tags_does_not_keep_the_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    engine
        .write(&[point("a", "usage", FieldValue::Float(1.0), 1)])
        .unwrap();
    engine.flush().unwrap();
    engine.drop_measurement("cpu").unwrap();
    engine
        .create_measurement(
            "cpu",
            &["region".into()],
            &[("x".into(), FieldType::String)],
        )
        .unwrap();
    engine.close().unwrap();
    let engine = open(dir.path());
    let schema = engine.schema("cpu").unwrap();
    assert_eq!(schema.tag_keys, ["region"]);
    assert_eq!(schema.fields.len(), 1);
    assert_eq!(engine.stats().series, 0);
}
