//! Turns runs into Arrow: the output schema of a scan and the builder that fills a batch.
//! `time` is `Timestamp(Nanosecond, "UTC")` and never null; tags are nullable `Utf8` (a series
//! without the tag gives null); fields map to `Float64`, `Int64`, `UInt64`, `Boolean`, `Utf8`.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampNanosecondBuilder,
    UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::run::{Column, ColumnValues, Run};
use crate::schema::{FieldIndex, FieldType, MeasurementSchema};
use crate::series::SeriesKey;

/// One column of a scan's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OutputColumn {
    Time,
    Tag(String),
    Field(FieldIndex, FieldType),
}

/// The Arrow type of the time column.
pub fn time_data_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// The Arrow type a field type is returned as.
pub fn field_data_type(field_type: FieldType) -> DataType {
    match field_type {
        FieldType::Float => DataType::Float64,
        FieldType::Integer => DataType::Int64,
        FieldType::Unsigned => DataType::UInt64,
        FieldType::Boolean => DataType::Boolean,
        FieldType::String => DataType::Utf8,
    }
}

pub(crate) fn arrow_schema(schema: &MeasurementSchema, columns: &[OutputColumn]) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .map(|column| match column {
            OutputColumn::Time => Field::new("time", time_data_type(), false),
            OutputColumn::Tag(key) => Field::new(key, DataType::Utf8, true),
            OutputColumn::Field(index, field_type) => {
                let name = usize::try_from(*index)
                    .ok()
                    .and_then(|i| schema.fields.get(i))
                    .map_or("", |f| f.name.as_str());
                Field::new(name, field_data_type(*field_type), true)
            }
        })
        .collect();
    Arc::new(Schema::new(fields))
}

#[derive(Debug)]
enum ColumnBuilder {
    Time(TimestampNanosecondBuilder),
    Tag(String, StringBuilder),
    Float(FieldIndex, Float64Builder),
    Integer(FieldIndex, Int64Builder),
    Unsigned(FieldIndex, UInt64Builder),
    Boolean(FieldIndex, BooleanBuilder),
    String(FieldIndex, StringBuilder),
}

/// Accumulates rows of several series into one batch.
#[derive(Debug)]
pub(crate) struct BatchBuilder {
    builders: Vec<ColumnBuilder>,
    rows: usize,
}

impl BatchBuilder {
    pub(crate) fn new(columns: &[OutputColumn], capacity: usize) -> Self {
        let builders = columns
            .iter()
            .map(|column| match column {
                OutputColumn::Time => ColumnBuilder::Time(
                    TimestampNanosecondBuilder::with_capacity(capacity).with_timezone("UTC"),
                ),
                OutputColumn::Tag(key) => ColumnBuilder::Tag(key.clone(), StringBuilder::new()),
                OutputColumn::Field(index, field_type) => match field_type {
                    FieldType::Float => {
                        ColumnBuilder::Float(*index, Float64Builder::with_capacity(capacity))
                    }
                    FieldType::Integer => {
                        ColumnBuilder::Integer(*index, Int64Builder::with_capacity(capacity))
                    }
                    FieldType::Unsigned => {
                        ColumnBuilder::Unsigned(*index, UInt64Builder::with_capacity(capacity))
                    }
                    FieldType::Boolean => {
                        ColumnBuilder::Boolean(*index, BooleanBuilder::with_capacity(capacity))
                    }
                    FieldType::String => ColumnBuilder::String(*index, StringBuilder::new()),
                },
            })
            .collect();
        Self { builders, rows: 0 }
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Appends rows `start..end` of `run`, a run of the series `key`.
    pub(crate) fn append(&mut self, key: &SeriesKey, run: &Run, start: usize, end: usize) {
        let count = end - start;
        for builder in &mut self.builders {
            match builder {
                ColumnBuilder::Time(b) => {
                    b.append_slice(run.timestamps.get(start..end).unwrap_or_default());
                }
                ColumnBuilder::Tag(tag, b) => match key.tag(tag) {
                    Some(value) => (0..count).for_each(|_| b.append_value(value)),
                    None => (0..count).for_each(|_| b.append_null()),
                },
                // Numbers are copied in bulk: values and validity are dense by row.
                ColumnBuilder::Float(i, b) => match column(run, *i) {
                    Some(Column {
                        values: ColumnValues::Float(values),
                        valid,
                    }) => append_dense(b, values, valid, start, end),
                    _ => b.append_nulls(count),
                },
                ColumnBuilder::Integer(i, b) => match column(run, *i) {
                    Some(Column {
                        values: ColumnValues::Integer(values),
                        valid,
                    }) => append_dense(b, values, valid, start, end),
                    _ => b.append_nulls(count),
                },
                ColumnBuilder::Unsigned(i, b) => match column(run, *i) {
                    Some(Column {
                        values: ColumnValues::Unsigned(values),
                        valid,
                    }) => append_dense(b, values, valid, start, end),
                    _ => b.append_nulls(count),
                },
                ColumnBuilder::Boolean(i, b) => {
                    let c = column(run, *i);
                    (start..end).for_each(|row| b.append_option(c.and_then(|c| c.boolean(row))));
                }
                ColumnBuilder::String(i, b) => {
                    let c = column(run, *i);
                    (start..end).for_each(|row| b.append_option(c.and_then(|c| c.string(row))));
                }
            }
        }
        self.rows += count;
    }

    /// The batch; with no columns projected (`SELECT count(*)`) it still carries its row
    /// count.
    pub(crate) fn finish(self, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
        let rows = self.rows;
        let arrays: Vec<ArrayRef> = self
            .builders
            .into_iter()
            .map(|builder| -> ArrayRef {
                match builder {
                    ColumnBuilder::Time(mut b) => Arc::new(b.finish()),
                    ColumnBuilder::Tag(_, mut b) | ColumnBuilder::String(_, mut b) => {
                        Arc::new(b.finish())
                    }
                    ColumnBuilder::Float(_, mut b) => Arc::new(b.finish()),
                    ColumnBuilder::Integer(_, mut b) => Arc::new(b.finish()),
                    ColumnBuilder::Unsigned(_, mut b) => Arc::new(b.finish()),
                    ColumnBuilder::Boolean(_, mut b) => Arc::new(b.finish()),
                }
            })
            .collect();
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(Arc::clone(schema), arrays, &options)
    }
}

/// Appends rows `start..end` of a dense column (a value slot for every row, `valid` saying
/// which hold one).
fn append_dense<T: arrow_array::ArrowPrimitiveType>(
    builder: &mut arrow_array::builder::PrimitiveBuilder<T>,
    values: &[T::Native],
    valid: &[bool],
    start: usize,
    end: usize,
) {
    match (values.get(start..end), valid.get(start..end)) {
        (Some(values), Some(valid)) if valid.iter().all(|v| *v) => builder.append_slice(values),
        (Some(values), Some(valid)) => builder.append_values(values, valid),
        _ => builder.append_nulls(end - start),
    }
}

fn column(run: &Run, index: FieldIndex) -> Option<&Column> {
    run.columns.get(usize::try_from(index).ok()?)?.as_ref()
}
