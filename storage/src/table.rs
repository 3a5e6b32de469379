//! Plain tables: relational tables without a `time` column (reference data such as devices
//! and sites, and any ordinary table), kept whole in memory and made durable by the same WAL
//! as measurements.
//!
//! A table is a set of rows addressed by a [`RowId`] that is never reused, each a value per
//! column in the table's column order. Unique keys (a primary key, a unique index) are
//! enforced here, where a statement's rows are checked and applied under the engine lock, so
//! two sessions cannot both insert the same key. Every change is a WAL record
//! (`wal_record.rs`); a flush writes the tables as they were at the flushed WAL position
//! (`tables_snapshot.rs`), and replay applies the records after it, so the two always agree.
//!
//! The storage engine knows column types, not SQL: defaults, `NOT NULL`, names in the SQL
//! sense and views belong to the catalog, whose bytes the engine keeps for it alongside the
//! tables ([`Tables::catalog`]) so that a DDL statement changes both in one WAL record.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema, TimeUnit};
use hashbrown::HashMap;

use crate::binary::{ByteReader, ByteWriter, DecodeError, DecodeResult};
use crate::error::{Error, Result};

/// A plain table's identity, given by the catalog (its OID); never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableId(pub u64);

/// A row's identity within its table, assigned at insert and never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowId(pub u64);

/// The name of the row-id column a [`TableRows::record_batch`] can add, for `UPDATE` and
/// `DELETE` to address rows.
pub const ROW_ID_COLUMN: &str = "__rusts_row_id";

/// How a column's values are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// `bool`.
    Boolean,
    /// `int2`.
    Int16,
    /// `int4`.
    Int32,
    /// `int8`.
    Int64,
    /// `float4`.
    Float32,
    /// `float8`.
    Float64,
    /// A decimal with `precision` digits, `scale` of them after the point.
    Decimal {
        /// Total digits.
        precision: u8,
        /// Digits after the point.
        scale: i8,
    },
    /// UTF-8 text.
    Text,
    /// Bytes.
    Binary,
    /// Days since 1970-01-01.
    Date,
    /// Microseconds since 1970-01-01, without a zone.
    Timestamp,
    /// Microseconds since 1970-01-01 UTC.
    TimestampTz,
}

impl ColumnType {
    /// The Arrow type scans produce for the column.
    pub fn arrow_type(self) -> DataType {
        match self {
            Self::Boolean => DataType::Boolean,
            Self::Int16 => DataType::Int16,
            Self::Int32 => DataType::Int32,
            Self::Int64 => DataType::Int64,
            Self::Float32 => DataType::Float32,
            Self::Float64 => DataType::Float64,
            Self::Decimal { precision, scale } => DataType::Decimal128(precision, scale),
            Self::Text => DataType::Utf8,
            Self::Binary => DataType::Binary,
            Self::Date => DataType::Date32,
            Self::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Self::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        }
    }

    fn code(self) -> (u8, u8, i8) {
        match self {
            Self::Boolean => (1, 0, 0),
            Self::Int16 => (2, 0, 0),
            Self::Int32 => (3, 0, 0),
            Self::Int64 => (4, 0, 0),
            Self::Float32 => (5, 0, 0),
            Self::Float64 => (6, 0, 0),
            Self::Decimal { precision, scale } => (7, precision, scale),
            Self::Text => (8, 0, 0),
            Self::Binary => (9, 0, 0),
            Self::Date => (10, 0, 0),
            Self::Timestamp => (11, 0, 0),
            Self::TimestampTz => (12, 0, 0),
        }
    }

    fn from_code(code: u8, precision: u8, scale: i8) -> DecodeResult<Self> {
        Ok(match code {
            1 => Self::Boolean,
            2 => Self::Int16,
            3 => Self::Int32,
            4 => Self::Int64,
            5 => Self::Float32,
            6 => Self::Float64,
            7 => Self::Decimal { precision, scale },
            8 => Self::Text,
            9 => Self::Binary,
            10 => Self::Date,
            11 => Self::Timestamp,
            12 => Self::TimestampTz,
            other => return Err(DecodeError(format!("unknown column type {other}"))),
        })
    }
}

/// One value of a row. Integers, dates and timestamps are held as `Int`; the column's type
/// says which.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL, in a column of any type.
    Null,
    /// A `Boolean` column's value.
    Boolean(bool),
    /// An integer, date (days) or timestamp (microseconds) column's value.
    Int(i64),
    /// A `Float32` or `Float64` column's value.
    Float(f64),
    /// The unscaled value; the column's scale places the point.
    Decimal(i128),
    /// A `Text` column's value.
    Text(Box<str>),
    /// A `Binary` column's value.
    Binary(Box<[u8]>),
}

impl Value {
    /// Whether the value can be stored in a column of `column_type`.
    fn fits(&self, column_type: ColumnType) -> bool {
        match (self, column_type) {
            (Self::Null, _) | (Self::Boolean(_), ColumnType::Boolean) => true,
            (Self::Int(value), ColumnType::Int16) => i16::try_from(*value).is_ok(),
            (Self::Int(value), ColumnType::Int32 | ColumnType::Date) => {
                i32::try_from(*value).is_ok()
            }
            (Self::Int(_), ColumnType::Int64 | ColumnType::Timestamp | ColumnType::TimestampTz) => {
                true
            }
            (Self::Float(_), ColumnType::Float32 | ColumnType::Float64)
            | (Self::Decimal(_), ColumnType::Decimal { .. })
            | (Self::Text(_), ColumnType::Text)
            | (Self::Binary(_), ColumnType::Binary) => true,
            _ => false,
        }
    }

    fn write(&self, writer: &mut ByteWriter) {
        match self {
            Self::Null => writer.u8(0),
            Self::Boolean(value) => {
                writer.u8(1);
                writer.u8(u8::from(*value));
            }
            Self::Int(value) => {
                writer.u8(2);
                writer.i64(*value);
            }
            Self::Float(value) => {
                writer.u8(3);
                writer.f64(*value);
            }
            Self::Decimal(value) => {
                writer.u8(4);
                writer.raw(&value.to_le_bytes());
            }
            Self::Text(value) => {
                writer.u8(5);
                writer.str(value);
            }
            Self::Binary(value) => {
                writer.u8(6);
                writer.bytes(value);
            }
        }
    }

    fn read(reader: &mut ByteReader<'_>) -> DecodeResult<Self> {
        Ok(match reader.u8()? {
            0 => Self::Null,
            1 => Self::Boolean(reader.u8()? != 0),
            2 => Self::Int(reader.i64()?),
            3 => Self::Float(reader.f64()?),
            4 => {
                let bytes: [u8; 16] = reader
                    .take(16)?
                    .try_into()
                    .map_err(|_| DecodeError("short decimal".to_owned()))?;
                Self::Decimal(i128::from_le_bytes(bytes))
            }
            5 => Self::Text(reader.string()?.into_boxed_str()),
            6 => Self::Binary(reader.bytes()?.into()),
            other => return Err(DecodeError(format!("unknown value tag {other}"))),
        })
    }

    /// Bytes that are equal exactly when two non-NULL values of one column are equal.
    fn key_bytes(&self, out: &mut Vec<u8>) {
        match self {
            Self::Null => out.push(0),
            Self::Boolean(value) => out.extend([1, u8::from(*value)]),
            Self::Int(value) => {
                out.push(2);
                out.extend(value.to_le_bytes());
            }
            Self::Float(value) => {
                out.push(3);
                // -0.0 equals 0.0 and every NaN equals every other, as SQL compares them.
                let canonical = if *value == 0.0 {
                    0.0
                } else if value.is_nan() {
                    f64::NAN
                } else {
                    *value
                };
                out.extend(canonical.to_bits().to_le_bytes());
            }
            Self::Decimal(value) => {
                out.push(4);
                out.extend(value.to_le_bytes());
            }
            Self::Text(value) => {
                out.push(5);
                out.extend((value.len() as u64).to_le_bytes());
                out.extend(value.as_bytes());
            }
            Self::Binary(value) => {
                out.push(6);
                out.extend((value.len() as u64).to_le_bytes());
                out.extend(value.iter());
            }
        }
    }
}

/// A column of a plain table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableColumn {
    /// The column's name.
    pub name: String,
    /// How its values are stored.
    pub column_type: ColumnType,
}

/// A set of columns whose values must be unique among rows where none of them is NULL (a
/// primary key, a unique constraint or index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueKey {
    /// The constraint's or index's name, for errors.
    pub name: String,
    /// Positions of the key's columns in the table.
    pub columns: Vec<usize>,
}

/// A change to the tables, applied with a catalog change in one WAL record.
#[derive(Debug, Clone, PartialEq)]
pub enum TableChange {
    /// A new, empty table.
    Create {
        /// Its id, new.
        id: TableId,
        /// Its columns.
        columns: Vec<TableColumn>,
        /// Its unique keys.
        unique: Vec<UniqueKey>,
    },
    /// Removes a table and its rows.
    Drop {
        /// The table.
        id: TableId,
    },
    /// Appends a column, `fill` in every existing row.
    AddColumn {
        /// The table.
        id: TableId,
        /// The new column.
        column: TableColumn,
        /// Its value in existing rows.
        fill: Value,
    },
    /// Removes the column at `position`; unique keys over it must have been dropped first.
    DropColumn {
        /// The table.
        id: TableId,
        /// The column's position.
        position: usize,
    },
    /// Renames the column at `position`.
    RenameColumn {
        /// The table.
        id: TableId,
        /// The column's position.
        position: usize,
        /// Its new name.
        name: String,
    },
    /// Adds a unique key, failing if existing rows break it.
    AddUnique {
        /// The table.
        id: TableId,
        /// The key.
        key: UniqueKey,
    },
    /// Removes the unique key named `name`.
    DropUnique {
        /// The table.
        id: TableId,
        /// The key's name.
        name: String,
    },
}

/// One plain table's definition and rows.
#[derive(Debug, Clone)]
pub struct TableRows {
    columns: Vec<TableColumn>,
    unique: Vec<UniqueKey>,
    rows: BTreeMap<RowId, Arc<[Value]>>,
    next_row: u64,
    /// Per unique key: key bytes to the row holding them.
    indexes: Vec<HashMap<Vec<u8>, RowId>>,
    /// Bytes of values held, approximately (for the memory limit).
    bytes: u64,
}

impl TableRows {
    fn new(columns: Vec<TableColumn>, unique: Vec<UniqueKey>) -> Self {
        let indexes = unique.iter().map(|_| HashMap::new()).collect();
        Self {
            columns,
            unique,
            rows: BTreeMap::new(),
            next_row: 1,
            indexes,
            bytes: 0,
        }
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[TableColumn] {
        &self.columns
    }

    /// The unique keys.
    pub fn unique_keys(&self) -> &[UniqueKey] {
        &self.unique
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Approximate bytes of the values held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The rows with their ids, in insertion order.
    pub fn rows(&self) -> impl Iterator<Item = (RowId, &[Value])> {
        self.rows.iter().map(|(id, row)| (*id, &**row))
    }

    /// The Arrow schema of `record_batch(projection, with_row_id)`.
    /// Positions past the last column are left out.
    pub fn arrow_schema(&self, projection: Option<&[usize]>, with_row_id: bool) -> Arc<Schema> {
        let positions = self.positions(projection);
        let mut fields: Vec<Field> = positions
            .iter()
            .filter_map(|&position| self.columns.get(position))
            .map(|column| Field::new(&column.name, column.column_type.arrow_type(), true))
            .collect();
        if with_row_id {
            fields.push(Field::new(ROW_ID_COLUMN, DataType::UInt64, false));
        }
        Arc::new(Schema::new(fields))
    }

    fn positions(&self, projection: Option<&[usize]>) -> Vec<usize> {
        projection.map_or_else(
            || (0..self.columns.len()).collect(),
            |positions| {
                positions
                    .iter()
                    .copied()
                    .filter(|&position| position < self.columns.len())
                    .collect()
            },
        )
    }

    /// The rows as one batch: the `projection` columns (all when `None`), then the row ids
    /// when `with_row_id`.
    pub fn record_batch(
        &self,
        projection: Option<&[usize]>,
        with_row_id: bool,
    ) -> std::result::Result<RecordBatch, ArrowError> {
        let positions = self.positions(projection);
        let schema = self.arrow_schema(Some(&positions), with_row_id);
        let mut columns: Vec<ArrayRef> = positions
            .iter()
            .map(|&position| self.column_array(position))
            .collect::<std::result::Result<_, _>>()?;
        if with_row_id {
            let mut ids = UInt64Builder::with_capacity(self.rows.len());
            for id in self.rows.keys() {
                ids.append_value(id.0);
            }
            columns.push(Arc::new(ids.finish()));
        }
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(self.rows.len()));
        RecordBatch::try_new_with_options(schema, columns, &options)
    }

    fn column_array(&self, position: usize) -> std::result::Result<ArrayRef, ArrowError> {
        let column_type = self
            .columns
            .get(position)
            .ok_or_else(|| ArrowError::InvalidArgumentError(format!("no column {position}")))?
            .column_type;
        let values = self
            .rows
            .values()
            .map(|row| row.get(position).unwrap_or(&Value::Null));
        let capacity = self.rows.len();
        // Appends each value matching `pattern` as `value`, anything else (NULL) as null.
        macro_rules! build {
            ($builder:expr, $pattern:pat => $value:expr) => {{
                let mut builder = $builder;
                for value in values {
                    match value {
                        $pattern => builder.append_value($value),
                        _ => builder.append_null(),
                    }
                }
                builder.finish()
            }};
        }
        let narrow = |value: i64| i32::try_from(value).unwrap_or_default();
        Ok(match column_type {
            ColumnType::Boolean => Arc::new(build!(BooleanBuilder::with_capacity(capacity),
                Value::Boolean(v) => *v)),
            ColumnType::Int16 => Arc::new(build!(Int16Builder::with_capacity(capacity),
                Value::Int(v) => i16::try_from(*v).unwrap_or_default())),
            ColumnType::Int32 => Arc::new(build!(Int32Builder::with_capacity(capacity),
                Value::Int(v) => narrow(*v))),
            ColumnType::Int64 => Arc::new(build!(Int64Builder::with_capacity(capacity),
                Value::Int(v) => *v)),
            // A float4 column holds values that came from f32.
            #[allow(clippy::cast_possible_truncation)]
            ColumnType::Float32 => Arc::new(build!(Float32Builder::with_capacity(capacity),
                Value::Float(v) => *v as f32)),
            ColumnType::Float64 => Arc::new(build!(Float64Builder::with_capacity(capacity),
                Value::Float(v) => *v)),
            ColumnType::Decimal { precision, scale } => Arc::new(
                build!(Decimal128Builder::with_capacity(capacity), Value::Decimal(v) => *v)
                    .with_precision_and_scale(precision, scale)?,
            ),
            ColumnType::Text => Arc::new(build!(StringBuilder::with_capacity(capacity, 0),
                Value::Text(v) => &**v)),
            ColumnType::Binary => Arc::new(build!(BinaryBuilder::with_capacity(capacity, 0),
                Value::Binary(v) => &**v)),
            ColumnType::Date => Arc::new(build!(Date32Builder::with_capacity(capacity),
                Value::Int(v) => narrow(*v))),
            ColumnType::Timestamp => Arc::new(build!(
                TimestampMicrosecondBuilder::with_capacity(capacity), Value::Int(v) => *v)),
            ColumnType::TimestampTz => Arc::new(build!(
                TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"),
                Value::Int(v) => *v)),
        })
    }

    /// The key bytes of `row` for `key`, or `None` when a key column is NULL.
    fn key_of(key: &UniqueKey, row: &[Value]) -> Option<Vec<u8>> {
        let mut bytes = Vec::new();
        for &position in &key.columns {
            match row.get(position) {
                None | Some(Value::Null) => return None,
                Some(value) => value.key_bytes(&mut bytes),
            }
        }
        Some(bytes)
    }

    fn check_row(&self, table: TableId, row: &[Value]) -> Result<()> {
        if row.len() != self.columns.len() {
            return Err(Error::InvalidTableRow {
                table: table.0,
                reason: format!("{} values for {} columns", row.len(), self.columns.len()),
            });
        }
        for (value, column) in row.iter().zip(&self.columns) {
            if !value.fits(column.column_type) {
                return Err(Error::InvalidTableRow {
                    table: table.0,
                    reason: format!(
                        "value {value:?} does not fit column \"{}\" ({:?})",
                        column.name, column.column_type
                    ),
                });
            }
        }
        Ok(())
    }

    fn duplicate(&self, unique: &UniqueKey, row: &[Value]) -> Error {
        let names: Vec<&str> = unique
            .columns
            .iter()
            .filter_map(|&position| self.columns.get(position))
            .map(|column| column.name.as_str())
            .collect();
        let values: Vec<String> = unique
            .columns
            .iter()
            .map(|&position| row.get(position).map_or_else(String::new, display))
            .collect();
        Error::UniqueViolation {
            constraint: unique.name.clone(),
            key: format!("({})=({})", names.join(", "), values.join(", ")),
        }
    }

    /// Checks `rows` for insertion: types, and unique keys against the table and each other.
    pub(crate) fn check_insert(&self, table: TableId, rows: &[Vec<Value>]) -> Result<()> {
        for row in rows {
            self.check_row(table, row)?;
        }
        for (key, index) in self.unique.iter().zip(&self.indexes) {
            let mut seen = hashbrown::HashSet::new();
            for row in rows {
                if let Some(bytes) = Self::key_of(key, row)
                    && (index.contains_key(&bytes) || !seen.insert(bytes))
                {
                    return Err(self.duplicate(key, row));
                }
            }
        }
        Ok(())
    }

    /// Appends `rows` (checked) with ids from `first`.
    pub(crate) fn insert(&mut self, first: RowId, rows: Vec<Vec<Value>>) {
        let mut id = first.0;
        for row in rows {
            self.put(RowId(id), row.into());
            id += 1;
        }
        self.next_row = self.next_row.max(id);
    }

    /// The id the next inserted row gets.
    pub(crate) fn next_row(&self) -> RowId {
        RowId(self.next_row)
    }

    fn put(&mut self, id: RowId, row: Arc<[Value]>) {
        for (key, index) in self.unique.iter().zip(&mut self.indexes) {
            if let Some(bytes) = Self::key_of(key, &row) {
                index.insert(bytes, id);
            }
        }
        self.bytes += row_bytes(&row);
        self.rows.insert(id, row);
    }

    fn remove(&mut self, id: RowId) -> Option<Arc<[Value]>> {
        let row = self.rows.remove(&id)?;
        for (key, index) in self.unique.iter().zip(&mut self.indexes) {
            if let Some(bytes) = Self::key_of(key, &row)
                && index.get(&bytes) == Some(&id)
            {
                index.remove(&bytes);
            }
        }
        self.bytes = self.bytes.saturating_sub(row_bytes(&row));
        Some(row)
    }

    /// Checks replacing rows with `updates`: the rows exist, the values fit, and the unique
    /// keys hold among the new rows and the rows not updated.
    pub(crate) fn check_update(
        &self,
        table: TableId,
        updates: &[(RowId, Vec<Value>)],
    ) -> Result<()> {
        let updated: hashbrown::HashSet<RowId> = updates.iter().map(|(id, _)| *id).collect();
        if updated.len() != updates.len() {
            return Err(Error::InvalidTableRow {
                table: table.0,
                reason: "a row is updated twice by one statement".to_owned(),
            });
        }
        for (id, row) in updates {
            if !self.rows.contains_key(id) {
                return Err(Error::InvalidTableRow {
                    table: table.0,
                    reason: format!("row {} does not exist", id.0),
                });
            }
            self.check_row(table, row)?;
        }
        for (key, index) in self.unique.iter().zip(&self.indexes) {
            let mut seen = hashbrown::HashSet::new();
            for (_, row) in updates {
                let Some(bytes) = Self::key_of(key, row) else {
                    continue;
                };
                let held_by_other = index
                    .get(&bytes)
                    .is_some_and(|holder| !updated.contains(holder));
                if held_by_other || !seen.insert(bytes) {
                    return Err(self.duplicate(key, row));
                }
            }
        }
        Ok(())
    }

    /// Replaces rows (checked).
    pub(crate) fn update(&mut self, updates: Vec<(RowId, Vec<Value>)>) {
        for (id, _) in &updates {
            self.remove(*id);
        }
        for (id, row) in updates {
            self.put(id, row.into());
        }
    }

    /// Removes rows; ids that do not exist are skipped. Returns how many were removed.
    pub(crate) fn delete(&mut self, ids: &[RowId]) -> usize {
        ids.iter().filter(|id| self.remove(**id).is_some()).count()
    }

    /// Removes every row.
    pub(crate) fn truncate(&mut self) {
        self.rows.clear();
        for index in &mut self.indexes {
            index.clear();
        }
        self.bytes = 0;
    }
}

impl TableRows {
    fn add_column(&mut self, id: TableId, column: TableColumn, fill: Value) -> Result<()> {
        if !fill.fits(column.column_type) {
            return Err(Error::InvalidTableRow {
                table: id.0,
                reason: format!("default {fill:?} does not fit column \"{}\"", column.name),
            });
        }
        self.columns.push(column);
        self.rewrite_rows(|values| values.push(fill.clone()));
        Ok(())
    }

    fn drop_column(&mut self, id: TableId, position: usize) -> Result<()> {
        if position >= self.columns.len()
            || self
                .unique
                .iter()
                .any(|key| key.columns.contains(&position))
        {
            return Err(Error::InvalidTableRow {
                table: id.0,
                reason: format!("cannot drop column {position}"),
            });
        }
        self.columns.remove(position);
        for key in &mut self.unique {
            for column in &mut key.columns {
                if *column > position {
                    *column -= 1;
                }
            }
        }
        self.rewrite_rows(|values| {
            values.remove(position);
        });
        Ok(())
    }

    /// Rewrites every row with `change` (keys are unaffected: their columns keep values).
    fn rewrite_rows(&mut self, mut change: impl FnMut(&mut Vec<Value>)) {
        let rows = std::mem::take(&mut self.rows);
        self.bytes = 0;
        for (row_id, row) in rows {
            let mut values = row.to_vec();
            change(&mut values);
            let values: Arc<[Value]> = values.into();
            self.bytes += row_bytes(&values);
            self.rows.insert(row_id, values);
        }
    }

    /// A copy with `key` added, or the duplicate that prevents it.
    fn with_unique(&self, id: TableId, key: UniqueKey) -> Result<Self> {
        let mut keys = self.unique.clone();
        keys.push(key.clone());
        check_keys(id, &self.columns, &keys)?;
        let mut rebuilt = Self::new(self.columns.clone(), keys);
        rebuilt.next_row = self.next_row;
        let mut seen = hashbrown::HashSet::new();
        for (row_id, row) in &self.rows {
            if let Some(bytes) = Self::key_of(&key, row)
                && !seen.insert(bytes)
            {
                return Err(rebuilt.duplicate(&key, row));
            }
            rebuilt.put(*row_id, Arc::clone(row));
        }
        Ok(rebuilt)
    }
}

/// Approximate bytes a row holds in memory.
pub(crate) fn row_bytes(row: &[Value]) -> u64 {
    row.iter()
        .map(|value| match value {
            Value::Text(text) => 24 + text.len() as u64,
            Value::Binary(bytes) => 24 + bytes.len() as u64,
            _ => 24,
        })
        .sum::<u64>()
        + 16
}

fn display(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Boolean(value) => if *value { "t" } else { "f" }.to_owned(),
        Value::Int(value) => value.to_string(),
        Value::Float(value) => value.to_string(),
        Value::Decimal(value) => value.to_string(),
        Value::Text(value) => value.to_string(),
        Value::Binary(value) => value.iter().map(|byte| format!("{byte:02x}")).collect(),
    }
}

/// Every plain table, and the catalog's bytes.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    /// What the catalog keeps through the engine (opaque here).
    pub(crate) catalog: Arc<[u8]>,
    pub(crate) tables: BTreeMap<TableId, Arc<TableRows>>,
}

impl Tables {
    /// The catalog's bytes, as last set.
    pub fn catalog(&self) -> &Arc<[u8]> {
        &self.catalog
    }

    /// The table `id`.
    pub fn table(&self, id: TableId) -> Option<&Arc<TableRows>> {
        self.tables.get(&id)
    }

    /// Whether anything is held (a catalog or a table).
    pub(crate) fn is_empty(&self) -> bool {
        self.catalog.is_empty() && self.tables.is_empty()
    }

    /// Checks `changes` against the tables as they are.
    pub(crate) fn check_changes(&self, changes: &[TableChange]) -> Result<()> {
        let mut scratch = self.clone();
        for change in changes {
            scratch.apply_change(change.clone())?;
        }
        Ok(())
    }

    /// Applies one change; an error leaves the tables unchanged.
    pub(crate) fn apply_change(&mut self, change: TableChange) -> Result<()> {
        let missing = |id: TableId| Error::UnknownTable { table: id.0 };
        match change {
            TableChange::Create {
                id,
                columns,
                unique,
            } => {
                if self.tables.contains_key(&id) {
                    return Err(Error::InvalidTableRow {
                        table: id.0,
                        reason: "the table exists already".to_owned(),
                    });
                }
                check_keys(id, &columns, &unique)?;
                self.tables
                    .insert(id, Arc::new(TableRows::new(columns, unique)));
            }
            TableChange::Drop { id } => {
                self.tables.remove(&id).ok_or_else(|| missing(id))?;
            }
            TableChange::AddColumn { id, column, fill } => {
                let table = Arc::make_mut(self.tables.get_mut(&id).ok_or_else(|| missing(id))?);
                table.add_column(id, column, fill)?;
            }
            TableChange::DropColumn { id, position } => {
                let table = Arc::make_mut(self.tables.get_mut(&id).ok_or_else(|| missing(id))?);
                table.drop_column(id, position)?;
            }
            TableChange::RenameColumn { id, position, name } => {
                let table = Arc::make_mut(self.tables.get_mut(&id).ok_or_else(|| missing(id))?);
                let column =
                    table
                        .columns
                        .get_mut(position)
                        .ok_or_else(|| Error::InvalidTableRow {
                            table: id.0,
                            reason: format!("no column {position}"),
                        })?;
                column.name = name;
            }
            TableChange::AddUnique { id, key } => {
                let table = self.tables.get(&id).ok_or_else(|| missing(id))?;
                let rebuilt = table.with_unique(id, key)?;
                self.tables.insert(id, Arc::new(rebuilt));
            }
            TableChange::DropUnique { id, name } => {
                let table = Arc::make_mut(self.tables.get_mut(&id).ok_or_else(|| missing(id))?);
                let position = table
                    .unique
                    .iter()
                    .position(|key| key.name == name)
                    .ok_or_else(|| Error::InvalidTableRow {
                        table: id.0,
                        reason: format!("no unique key \"{name}\""),
                    })?;
                table.unique.remove(position);
                table.indexes.remove(position);
            }
        }
        Ok(())
    }

    pub(crate) fn table_mut(&mut self, id: TableId) -> Result<&mut TableRows> {
        self.tables
            .get_mut(&id)
            .map(Arc::make_mut)
            .ok_or(Error::UnknownTable { table: id.0 })
    }

    /// Writes everything (the snapshot a flush persists).
    pub(crate) fn write(&self, writer: &mut ByteWriter) {
        writer.bytes(&self.catalog);
        writer.len_var(self.tables.len());
        for (id, table) in &self.tables {
            writer.u64(id.0);
            write_columns(writer, &table.columns);
            write_keys(writer, &table.unique);
            writer.u64(table.next_row);
            writer.len_var(table.rows.len());
            for (row_id, row) in &table.rows {
                writer.u64(row_id.0);
                for value in row.iter() {
                    value.write(writer);
                }
            }
        }
    }

    /// Reads what [`Tables::write`] wrote.
    pub(crate) fn read(reader: &mut ByteReader<'_>) -> DecodeResult<Self> {
        let catalog: Arc<[u8]> = reader.bytes()?.into();
        let count = reader.len_var(8)?;
        let mut tables = BTreeMap::new();
        for _ in 0..count {
            let id = TableId(reader.u64()?);
            let columns = read_columns(reader)?;
            let unique = read_keys(reader, columns.len())?;
            let mut table = TableRows::new(columns, unique);
            table.next_row = reader.u64()?;
            let rows = reader.len_var(8)?;
            for _ in 0..rows {
                let row_id = RowId(reader.u64()?);
                let row = read_row(reader, table.columns.len())?;
                table.put(row_id, row.into());
            }
            tables.insert(id, Arc::new(table));
        }
        Ok(Self { catalog, tables })
    }
}

fn check_keys(id: TableId, columns: &[TableColumn], keys: &[UniqueKey]) -> Result<()> {
    for key in keys {
        if key.columns.is_empty() || key.columns.iter().any(|&column| column >= columns.len()) {
            return Err(Error::InvalidTableRow {
                table: id.0,
                reason: format!("unique key \"{}\" names no valid columns", key.name),
            });
        }
        if keys.iter().filter(|other| other.name == key.name).count() > 1 {
            return Err(Error::InvalidTableRow {
                table: id.0,
                reason: format!("unique key \"{}\" defined twice", key.name),
            });
        }
    }
    Ok(())
}

pub(crate) fn write_columns(writer: &mut ByteWriter, columns: &[TableColumn]) {
    writer.len_var(columns.len());
    for column in columns {
        writer.str(&column.name);
        let (code, precision, scale) = column.column_type.code();
        writer.u8(code);
        writer.u8(precision);
        writer.u8(scale.to_le_bytes()[0]);
    }
}

pub(crate) fn read_columns(reader: &mut ByteReader<'_>) -> DecodeResult<Vec<TableColumn>> {
    let count = reader.len_var(4)?;
    (0..count)
        .map(|_| {
            let name = reader.string()?;
            let code = reader.u8()?;
            let precision = reader.u8()?;
            let scale = i8::from_le_bytes([reader.u8()?]);
            Ok(TableColumn {
                name,
                column_type: ColumnType::from_code(code, precision, scale)?,
            })
        })
        .collect()
}

pub(crate) fn write_keys(writer: &mut ByteWriter, keys: &[UniqueKey]) {
    writer.len_var(keys.len());
    for key in keys {
        writer.str(&key.name);
        writer.len_var(key.columns.len());
        for column in &key.columns {
            writer.len_var(*column);
        }
    }
}

pub(crate) fn read_keys(
    reader: &mut ByteReader<'_>,
    columns: usize,
) -> DecodeResult<Vec<UniqueKey>> {
    let count = reader.len_var(2)?;
    (0..count)
        .map(|_| {
            let name = reader.string()?;
            let width = reader.len_var(1)?;
            let positions = (0..width)
                .map(|_| {
                    let position = reader.len_var(0)?;
                    if position >= columns {
                        return Err(DecodeError(format!("key column {position} out of range")));
                    }
                    Ok(position)
                })
                .collect::<DecodeResult<Vec<usize>>>()?;
            Ok(UniqueKey {
                name,
                columns: positions,
            })
        })
        .collect()
}

pub(crate) fn write_value(writer: &mut ByteWriter, value: &Value) {
    value.write(writer);
}

pub(crate) fn read_value(reader: &mut ByteReader<'_>) -> DecodeResult<Value> {
    Value::read(reader)
}

pub(crate) fn read_row(reader: &mut ByteReader<'_>, width: usize) -> DecodeResult<Vec<Value>> {
    (0..width).map(|_| Value::read(reader)).collect()
}
