//! Arrow record batches to Postgres `DataRow`s, text or binary per column.
//!
//! arrow-pg does the per-value encoding. Before it runs, each batch is cast to a *wire
//! schema*: Arrow types without a Postgres twin become ones with one (Int8 -> int2,
//! Null -> text, Float16 -> float4, decimals arrow-pg cannot encode -> text), and every
//! `timestamptz` column is relabelled with the session time zone, so text output follows
//! `SET TIME ZONE` while the instant (and the binary form, always UTC) stays the same.
//!
//! `UInt32` is PostgreSQL's `oid` (the `pg_catalog` tables and `::oid` casts produce it):
//! its columns are described as `oid` and `oid[]` and encoded here, as arrow-pg would send
//! them as `int8`.

use std::sync::Arc;

use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{Array, ArrayRef, RecordBatch};
use datafusion::arrow::array::{AsArray, Float32Array, Float64Array, TimestampMicrosecondArray};
use datafusion::arrow::compute::{can_cast_types, cast};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit, UInt32Type};
use datafusion::error::DataFusionError;
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::{DataRowEncoder, FieldFormat, FieldInfo};
use pgwire::error::PgWireResult;
use pgwire::messages::data::DataRow;
use pgwire::types::format::FormatOptions;

use crate::pg::error::Result;
use crate::pg::text_format::{float4_text, float8_text, formats_here, timestamp_text};

/// The schema rows are sent with: `schema` with every type mapped by `wire_type`.
pub(crate) fn wire_schema(schema: &Schema, time_zone: &str) -> SchemaRef {
    let fields = schema
        .fields()
        .iter()
        .map(|field| {
            let data_type = wire_type(field.data_type(), time_zone);
            Field::new(field.name(), data_type, true).with_metadata(field.metadata().clone())
        })
        .collect::<Vec<_>>();
    Arc::new(Schema::new(fields))
}

/// The Arrow type a column is cast to before encoding.
fn wire_type(data_type: &DataType, time_zone: &str) -> DataType {
    match data_type {
        DataType::Null => DataType::Utf8,
        DataType::Int8 => DataType::Int16,
        DataType::Float16 => DataType::Float32,
        DataType::FixedSizeBinary(_) => DataType::Binary,
        DataType::Dictionary(_, value_type) => wire_type(value_type, time_zone),
        // Postgres keeps microseconds; the session zone labels every timestamptz column.
        DataType::Timestamp(_, None) => DataType::Timestamp(TimeUnit::Microsecond, None),
        DataType::Timestamp(_, Some(_)) => {
            DataType::Timestamp(TimeUnit::Microsecond, Some(time_zone.into()))
        }
        DataType::List(element) => {
            let element_type = wire_type(element.data_type(), time_zone);
            DataType::List(Arc::new(Field::new(element.name(), element_type, true)))
        }
        other if arrow_pg::datatypes::into_pg_type(other).is_ok() => other.clone(),
        // No Postgres type for it (maps, unions, 256-bit decimals): send its text form.
        other if can_cast_types(other, &DataType::Utf8) => DataType::Utf8,
        other => other.clone(),
    }
}

/// RowDescription fields for `wire_schema`, each in the format the client asked for.
pub(crate) fn field_infos(
    wire_schema: &Schema,
    format: &Format,
    options: FormatOptions,
) -> PgWireResult<Arc<Vec<FieldInfo>>> {
    let fields = arrow_pg::datatypes::arrow_schema_to_pg_fields(
        wire_schema,
        format,
        Some(Arc::new(options)),
    )?;
    Ok(Arc::new(with_oid_types(wire_schema, fields)))
}

/// `fields` (arrow-pg's description of `wire_schema`) with `UInt32` columns described as
/// `oid` and lists of them as `oid[]`.
pub(crate) fn with_oid_types(wire_schema: &Schema, fields: Vec<FieldInfo>) -> Vec<FieldInfo> {
    fields
        .into_iter()
        .zip(wire_schema.fields())
        .map(|(info, field)| match oid_type(field.data_type()) {
            Some(oid_type) => {
                let size = if oid_type == Type::OID { 4 } else { -1 };
                FieldInfo::new(
                    info.name().to_owned(),
                    info.table_id(),
                    info.column_id(),
                    oid_type,
                    info.format(),
                )
                .with_format_options(Arc::clone(info.format_options()))
                .with_type_size(size)
            }
            None => info,
        })
        .collect()
}

/// `oid` for `UInt32`, `oid[]` for a list of it.
pub(crate) fn oid_type(data_type: &DataType) -> Option<Type> {
    match data_type {
        DataType::UInt32 => Some(Type::OID),
        DataType::List(element) if *element.data_type() == DataType::UInt32 => {
            Some(Type::OID_ARRAY)
        }
        _ => None,
    }
}

/// An `oid` or `oid[]` value, which arrow-pg cannot encode as such.
fn encode_oid(
    encoder: &mut DataRowEncoder,
    column: &ArrayRef,
    row: usize,
    pg_field: &FieldInfo,
) -> Option<PgWireResult<()>> {
    if let Some(values) = column.as_primitive_opt::<UInt32Type>() {
        return Some(encoder.encode_field_with_type_and_format(
            &values.value(row),
            pg_field.datatype(),
            pg_field.format(),
            pg_field.format_options(),
        ));
    }
    let lists = column.as_list_opt::<i32>()?;
    let list = lists.value(row);
    let values = list.as_primitive_opt::<UInt32Type>()?;
    let elements: Vec<Option<u32>> = values.iter().collect();
    Some(encoder.encode_field_with_type_and_format(
        &elements,
        pg_field.datatype(),
        pg_field.format(),
        pg_field.format_options(),
    ))
}

/// Casts `batch` to `wire_schema`; columns already of the right type are reused as is.
pub(crate) fn conform_batch(batch: &RecordBatch, wire_schema: &SchemaRef) -> Result<RecordBatch> {
    if batch.num_columns() != wire_schema.fields().len() {
        let message = format!(
            "statement returned {} columns where {} were described",
            batch.num_columns(),
            wire_schema.fields().len()
        );
        return Err(DataFusionError::Execution(message).into());
    }
    let columns = batch
        .columns()
        .iter()
        .zip(wire_schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(Arc::clone(column))
            } else {
                cast(column, field.data_type())
            }
        })
        .collect::<Result<Vec<ArrayRef>, _>>()
        .map_err(DataFusionError::from)?;
    let batch =
        RecordBatch::try_new(Arc::clone(wire_schema), columns).map_err(DataFusionError::from)?;
    Ok(batch)
}

/// How one column's text is produced: by arrow-pg, or by `text_format` where Postgres's
/// output differs from pgwire's (floats, ISO timestamps).
#[derive(Debug)]
enum TextStyle {
    Generic,
    Float,
    Timestamp(Option<Tz>),
}

impl TextStyle {
    fn of(data_type: &DataType, pg_field: &FieldInfo) -> Self {
        let options = pg_field.format_options();
        if pg_field.format() != FieldFormat::Text || !formats_here(data_type) {
            return Self::Generic;
        }
        match data_type {
            DataType::Float32 | DataType::Float64 if options.extra_float_digits > 0 => Self::Float,
            DataType::Timestamp(_, zone) if options.date_style.starts_with("ISO") => match zone {
                None => Self::Timestamp(None),
                Some(zone) => zone
                    .parse::<Tz>()
                    .map_or(Self::Generic, |zone| Self::Timestamp(Some(zone))),
            },
            _ => Self::Generic,
        }
    }

    /// The value's text, or `None` to leave it to arrow-pg.
    fn text(&self, column: &ArrayRef, row: usize) -> Option<String> {
        match self {
            Self::Generic => None,
            Self::Float => {
                if let Some(values) = column.as_any().downcast_ref::<Float64Array>() {
                    Some(float8_text(values.value(row)))
                } else {
                    let values: &Float32Array = column.as_primitive_opt()?;
                    Some(float4_text(values.value(row)))
                }
            }
            Self::Timestamp(zone) => {
                let values: &TimestampMicrosecondArray = column.as_primitive_opt()?;
                timestamp_text(values.value(row), zone.as_ref())
            }
        }
    }
}

/// Encodes one conformed batch row by row.
pub(crate) struct BatchRows {
    batch: RecordBatch,
    fields: Arc<Vec<FieldInfo>>,
    styles: Vec<TextStyle>,
    encoder: DataRowEncoder,
    row: usize,
}

impl std::fmt::Debug for BatchRows {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("BatchRows")
            .field("rows", &self.batch.num_rows())
            .field("row", &self.row)
            .finish()
    }
}

impl BatchRows {
    /// `fields` must describe `batch` column for column (both come from one wire schema).
    pub(crate) fn new(batch: RecordBatch, fields: Arc<Vec<FieldInfo>>) -> Self {
        assert_eq!(
            batch.num_columns(),
            fields.len(),
            "fields describe the batch"
        );
        let schema = batch.schema();
        let styles = schema
            .fields()
            .iter()
            .zip(fields.iter())
            .map(|(field, pg_field)| TextStyle::of(field.data_type(), pg_field))
            .collect();
        let encoder = DataRowEncoder::new(Arc::clone(&fields));
        Self {
            batch,
            fields,
            styles,
            encoder,
            row: 0,
        }
    }

    /// The next row, or `None` when the batch is done.
    pub(crate) fn next_row(&mut self) -> Option<PgWireResult<DataRow>> {
        if self.row >= self.batch.num_rows() {
            return None;
        }
        let schema = self.batch.schema();
        let columns = self.batch.columns().iter().zip(schema.fields());
        for (((column, arrow_field), pg_field), style) in
            columns.zip(self.fields.iter()).zip(&self.styles)
        {
            // Nulls are written here: arrow-pg reads interval values without checking
            // validity, so a null interval would otherwise go out as `00:00:00`.
            let encoded = if column.is_null(self.row) {
                self.encoder.encode_field_with_type_and_format(
                    &None::<i16>,
                    pg_field.datatype(),
                    pg_field.format(),
                    pg_field.format_options(),
                )
            } else if let Some(encoded) = oid_type(column.data_type())
                .and_then(|_| encode_oid(&mut self.encoder, column, self.row, pg_field))
            {
                encoded
            } else if let Some(text) = style.text(column, self.row) {
                self.encoder.encode_field_with_type_and_format(
                    &text.as_str(),
                    pg_field.datatype(),
                    pg_field.format(),
                    pg_field.format_options(),
                )
            } else {
                arrow_pg::encoder::encode_value(
                    &mut self.encoder,
                    column,
                    self.row,
                    arrow_field,
                    pg_field,
                )
            };
            if let Err(error) = encoded {
                self.row = self.batch.num_rows();
                return Some(Err(error));
            }
        }
        self.row += 1;
        Some(Ok(self.encoder.take_row()))
    }
}

#[cfg(test)]
mod tests;
