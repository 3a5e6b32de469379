//! Test-only read path: prints every row of one storage measurement, one row per line as
//! `column=value` pairs (`time` in nanoseconds, strings quoted, integers with `i`, unsigned
//! with `u`). The client-library checks in `.ci/run` verify what they wrote with it. It reads
//! a data directory no server holds; it is not a query interface.
//!
//! ```text
//! cargo run -p rusts_storage --example dump -- DATA_DIR DATABASE MEASUREMENT
//! ```

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampNanosecondType, UInt64Type};
use arrow_array::{Array, ArrowPrimitiveType};
use rusts_storage::{Engine, ScanRequest, StorageOptions, WalDurability};

fn cell(column: &dyn Array, row: usize) -> String {
    match column.data_type() {
        t if t.is_temporal() => column
            .as_primitive::<TimestampNanosecondType>()
            .value(row)
            .to_string(),
        t if *t == Float64Type::DATA_TYPE => {
            column.as_primitive::<Float64Type>().value(row).to_string()
        }
        t if *t == Int64Type::DATA_TYPE => {
            format!("{}i", column.as_primitive::<Int64Type>().value(row))
        }
        t if *t == UInt64Type::DATA_TYPE => {
            format!("{}u", column.as_primitive::<UInt64Type>().value(row))
        }
        _ => match column.as_boolean_opt() {
            Some(values) => values.value(row).to_string(),
            None => format!("{:?}", column.as_string::<i32>().value(row)),
        },
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data_dir, database, measurement] = args.as_slice() else {
        eprintln!("usage: dump DATA_DIR DATABASE MEASUREMENT");
        std::process::exit(2);
    };
    let options = StorageOptions {
        data_dir: data_dir.into(),
        wal_durability: WalDurability::None,
        ..StorageOptions::default()
    };
    let engine = Engine::open(options).expect("open the data directory");
    let scan = engine.scan(&ScanRequest::new(&format!("{database}\0{measurement}")));
    let scan = scan.unwrap_or_else(|error| {
        eprintln!("{error}");
        std::process::exit(1);
    });
    for batch in scan {
        let batch = batch.expect("scan");
        let schema = batch.schema();
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = schema
                .fields()
                .iter()
                .enumerate()
                .filter(|(index, _)| !batch.column(*index).is_null(row))
                .map(|(index, field)| {
                    format!(
                        "{}={}",
                        field.name(),
                        cell(batch.column(index).as_ref(), row)
                    )
                })
                .collect();
            println!("{}", cells.join(" "));
        }
    }
}
