//! Helpers shared by the storage integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampNanosecondType};
use arrow_array::{Array, RecordBatch};
use rusts_storage::{
    Engine, FieldFilter, FieldValue, Point, ScanRequest, StorageOptions, WalDurability,
};

pub(crate) fn options(dir: &Path, durability: WalDurability) -> StorageOptions {
    StorageOptions {
        data_dir: dir.to_owned(),
        wal_durability: durability,
        maintenance_interval: Duration::from_millis(20),
        ..StorageOptions::default()
    }
}

pub(crate) fn point(host: &str, timestamp_ns: i64, fields: &[(&str, FieldValue)]) -> Point {
    Point {
        measurement: "cpu".into(),
        tags: vec![("host".into(), host.into())],
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        timestamp_ns,
    }
}

/// (host, time) → (field → value as text), from a full scan of `cpu`.
pub(crate) type Rows = BTreeMap<(String, i64), BTreeMap<String, String>>;

pub(crate) fn scan_all(engine: &Engine, measurement: &str) -> Rows {
    scan_filtered(engine, measurement, Vec::new())
}

/// Like [`scan_all`], with field filters pushed into the scan.
pub(crate) fn scan_filtered(engine: &Engine, measurement: &str, filters: Vec<FieldFilter>) -> Rows {
    scan_with(
        engine,
        ScanRequest {
            filters,
            ..ScanRequest::new(measurement)
        },
    )
}

/// The rows `request` returns.
pub(crate) fn scan_with(engine: &Engine, request: ScanRequest) -> Rows {
    let mut rows = Rows::new();
    let Ok(scan) = engine.scan(&request) else {
        return rows;
    };
    for batch in scan {
        collect(&batch.unwrap(), &mut rows);
    }
    rows
}

pub(crate) fn collect(batch: &RecordBatch, rows: &mut Rows) {
    let schema = batch.schema();
    let times = batch.column(0).as_primitive::<TimestampNanosecondType>();
    let host_index = schema.index_of("host").unwrap();
    let hosts = batch.column(host_index).as_string::<i32>();
    for row in 0..batch.num_rows() {
        let mut fields = BTreeMap::new();
        for (index, field) in schema.fields().iter().enumerate() {
            let name = field.name();
            if name == "time" || name == "host" {
                continue;
            }
            let column = batch.column(index);
            if column.is_null(row) {
                continue;
            }
            let text = match column.data_type() {
                t if *t == <Float64Type as arrow_array::ArrowPrimitiveType>::DATA_TYPE => {
                    format!("{}", column.as_primitive::<Float64Type>().value(row))
                }
                _ => format!("{}", column.as_primitive::<Int64Type>().value(row)),
            };
            fields.insert(name.clone(), text);
        }
        let key = (hosts.value(row).to_owned(), times.value(row));
        assert!(
            rows.insert(key.clone(), fields).is_none(),
            "row {key:?} returned twice"
        );
    }
}

/// The rows `request` returns and their (time, host) in the order returned.
pub(crate) fn scan_in_order(engine: &Engine, request: ScanRequest) -> (Rows, Vec<(i64, String)>) {
    let mut rows = Rows::new();
    let mut order = Vec::new();
    let Ok(scan) = engine.scan(&request) else {
        return (rows, order);
    };
    for batch in scan {
        let batch = batch.unwrap();
        assert!(
            batch.num_rows() <= request.batch_rows,
            "batches hold at most batch_rows"
        );
        let times = batch.column(0).as_primitive::<TimestampNanosecondType>();
        let hosts = batch
            .column(batch.schema().index_of("host").unwrap())
            .as_string::<i32>();
        for row in 0..batch.num_rows() {
            order.push((times.value(row), hosts.value(row).to_owned()));
        }
        collect(&batch, &mut rows);
    }
    (rows, order)
}
