//! One scanned row as text, `column=value` pairs for non-null columns: `time` in nanoseconds,
//! floats as Rust prints them, integers with `i`, unsigned with `u`, strings quoted. Shared by
//! the `dump` example and the root crate's integration tests (included with `#[path]`), so the
//! two read paths of the tests print rows the same way.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampNanosecondType, UInt64Type};
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch};

/// The non-null cells of row `row` of `batch`, joined by spaces.
pub(crate) fn row_text(batch: &RecordBatch, row: usize) -> String {
    let schema = batch.schema();
    let cells: Vec<String> = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .filter(|(_, column)| !column.is_null(row))
        .map(|(field, column)| format!("{}={}", field.name(), cell(column.as_ref(), row)))
        .collect();
    cells.join(" ")
}

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
