//! Plain tables in SQL: relational tables without a `time` column (reference data such as
//! devices and sites, scratch tables of tools, conformance suites).
//!
//! The catalog (`rusts_catalog::tables`) describes them in SQL terms (PostgreSQL types,
//! `NOT NULL`, `DEFAULT`, keys); the storage engine keeps their rows in memory, durable
//! through the WAL, and enforces their unique keys (`rusts_storage::TableRows`). The two
//! change together: a DDL statement hands the engine the catalog's new bytes and the table
//! changes in one call ([`CatalogHandle::change`]).
//!
//! Reads scan a snapshot of the rows taken when the statement is planned. `INSERT` goes
//! through a DataFusion [`DataSink`]: DataFusion fills omitted columns with their `DEFAULT`
//! ([`PlainTable::get_column_default`]), the sink refuses NULL in a `NOT NULL` column
//! (23502) and the engine refuses a repeated key (23505); a statement's rows are written
//! all or none.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, RecordBatch, StringArray,
};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Field, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Schema, SchemaRef, TimestampMicrosecondType,
};
use datafusion::catalog::Session;
use datafusion::common::{DFSchema, DataFusionError, Result};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::sink::{DataSink, DataSinkExec};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan};
use futures::StreamExt;
use rusts_catalog::tables::{Catalog, PlainTable as TableDefinition};
use rusts_storage::{ColumnType, TableChange, TableId, TableRows, Value};
use std::sync::Mutex;

use crate::error::{Error, Result as EngineResult};

/// Catalog bytes and what they parse to.
type ParsedCatalog = (Arc<[u8]>, Arc<Catalog>);

/// The catalog as the storage engine keeps it, parsed once per change, and the lock that
/// makes catalog changes one at a time (each reads the catalog, changes it and writes it).
/// It holds no reference to the storage engine (which [`crate::Engine::close`] must be the
/// last to hold); each call is given it.
#[derive(Debug, Default)]
pub(crate) struct CatalogHandle {
    changes: Mutex<()>,
    parsed: Mutex<Option<ParsedCatalog>>,
    /// A session without tables that plans `DEFAULT` expressions.
    expressions: std::sync::OnceLock<datafusion::execution::SessionState>,
}

impl CatalogHandle {
    /// The plain table `name` of `database` as a table provider, if there is one.
    /// With `with_row_id`, the table has a last column of row ids (for `UPDATE` and
    /// `DELETE`, see [`crate::plain_dml`]).
    pub(crate) fn open_table(
        &self,
        storage: &Arc<rusts_storage::Engine>,
        database: &str,
        name: &str,
        with_row_id: bool,
    ) -> Result<Option<PlainTable>> {
        let catalog = self
            .current(storage)
            .map_err(|error| DataFusionError::External(Box::new(error)))?;
        let Some(definition) = catalog.table(database, name) else {
            return Ok(None);
        };
        let defaults = plan_defaults(self.expression_state(), definition)?;
        Ok(PlainTable::open(
            Arc::clone(storage),
            definition.clone(),
            defaults,
            with_row_id,
        ))
    }

    /// A session without tables that plans `DEFAULT` expressions.
    fn expression_state(&self) -> &datafusion::execution::SessionState {
        self.expressions.get_or_init(|| {
            let state = datafusion::execution::SessionStateBuilder::new()
                .with_default_features()
                .build();
            let context = datafusion::prelude::SessionContext::new_with_state(state);
            for function in crate::functions::all() {
                context.register_udf(function);
            }
            context.state()
        })
    }

    /// The catalog as it is now.
    pub(crate) fn current(&self, storage: &rusts_storage::Engine) -> EngineResult<Arc<Catalog>> {
        let bytes = Arc::clone(storage.tables().catalog());
        let mut parsed = self
            .parsed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((cached, catalog)) = parsed.as_ref()
            && Arc::ptr_eq(cached, &bytes)
        {
            return Ok(Arc::clone(catalog));
        }
        let catalog = Arc::new(
            Catalog::from_bytes(&bytes).map_err(|error| Error::Internal {
                what: error.to_string(),
            })?,
        );
        *parsed = Some((bytes, Arc::clone(&catalog)));
        Ok(catalog)
    }

    /// Changes the catalog with `change`, which also returns the table changes that go with
    /// it; both are written in one WAL record, or neither when `change` or the engine fails.
    pub(crate) fn change<T>(
        &self,
        storage: &rusts_storage::Engine,
        change: impl FnOnce(&mut Catalog) -> EngineResult<(Vec<TableChange>, T)>,
    ) -> EngineResult<T> {
        let _one_at_a_time = self
            .changes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut catalog = (*self.current(storage)?).clone();
        let (table_changes, result) = change(&mut catalog)?;
        storage.change_tables(catalog.to_bytes(), table_changes)?;
        Ok(result)
    }
}

/// How a PostgreSQL type is stored, for the types plain tables take.
pub(crate) fn storage_type(type_oid: u32, type_modifier: i32) -> Option<ColumnType> {
    Some(match type_oid {
        16 => ColumnType::Boolean,
        21 => ColumnType::Int16,
        23 => ColumnType::Int32,
        20 => ColumnType::Int64,
        700 => ColumnType::Float32,
        701 => ColumnType::Float64,
        1700 => {
            // numeric(p, s) packs both in the modifier; plain numeric is DataFusion's default
            // decimal, (38, 10).
            let (precision, scale) = if type_modifier >= 4 {
                let packed = type_modifier - 4;
                (
                    u8::try_from((packed >> 16) & 0xffff).ok()?,
                    i8::try_from(packed & 0xffff).ok()?,
                )
            } else {
                (38, 10)
            };
            if precision == 0 || precision > 38 || scale < 0 || scale > precision as i8 {
                return None;
            }
            ColumnType::Decimal { precision, scale }
        }
        25 | 1043 | 1042 | 19 => ColumnType::Text,
        17 => ColumnType::Binary,
        1082 => ColumnType::Date,
        1114 => ColumnType::Timestamp,
        1184 => ColumnType::TimestampTz,
        _ => return None,
    })
}

/// The Arrow schema SQL sees for a plain table: a field per column, non-nullable for
/// `NOT NULL` columns.
pub(crate) fn arrow_schema(definition: &TableDefinition) -> SchemaRef {
    let fields: Vec<Field> = definition
        .columns
        .iter()
        .map(|column| {
            let data_type = storage_type(column.type_oid, column.type_modifier)
                .map_or(DataType::Utf8, ColumnType::arrow_type);
            Field::new(&column.name, data_type, !column.not_null)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// A plain table for one statement: its definition and its rows when the statement was
/// planned.
#[derive(Debug)]
pub(crate) struct PlainTable {
    storage: Arc<rusts_storage::Engine>,
    definition: TableDefinition,
    rows: Arc<TableRows>,
    schema: SchemaRef,
    defaults: HashMap<String, Expr>,
    with_row_id: bool,
}

impl PlainTable {
    /// The table `definition` describes, if the engine has it; `defaults` are its columns'
    /// `DEFAULT` expressions, planned.
    pub(crate) fn open(
        storage: Arc<rusts_storage::Engine>,
        definition: TableDefinition,
        defaults: HashMap<String, Expr>,
        with_row_id: bool,
    ) -> Option<Self> {
        let rows = storage.table(TableId(u64::from(definition.oid)))?;
        let mut schema = arrow_schema(&definition);
        if with_row_id {
            let mut fields: Vec<Field> =
                schema.fields().iter().map(|f| f.as_ref().clone()).collect();
            fields.push(Field::new(
                rusts_storage::ROW_ID_COLUMN,
                DataType::UInt64,
                false,
            ));
            schema = Arc::new(Schema::new(fields));
        }
        Some(Self {
            schema,
            storage,
            definition,
            rows,
            defaults,
            with_row_id,
        })
    }
}

#[async_trait]
impl TableProvider for PlainTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn get_column_default(&self, column: &str) -> Option<&Expr> {
        self.defaults.get(column)
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![
            TableProviderFilterPushDown::Unsupported;
            filters.len()
        ])
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let batch = self.rows.record_batch(None, self.with_row_id)?;
        // The engine's batch has every column nullable; the table's schema says which are
        // not (the engine never holds NULL there).
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), batch.columns().to_vec())?;
        let source = MemorySourceConfig::try_new(
            &[vec![batch]],
            Arc::clone(&self.schema),
            projection.cloned(),
        )?
        .with_limit(limit);
        Ok(DataSourceExec::from_data_source(source))
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if insert_op != InsertOp::Append || self.with_row_id {
            return Err(DataFusionError::NotImplemented(format!(
                "{insert_op} on table {}: only INSERT INTO is supported",
                self.definition.name
            )));
        }
        // Every column nullable, so that NULL in a NOT NULL column reaches the sink and is
        // refused with PostgreSQL's wording and SQLSTATE.
        let fields: Vec<Field> = self
            .schema
            .fields()
            .iter()
            .map(|field| field.as_ref().clone().with_nullable(true))
            .collect();
        let sink = PlainSink {
            storage: Arc::clone(&self.storage),
            definition: self.definition.clone(),
            schema: Arc::new(Schema::new(fields)),
        };
        Ok(Arc::new(DataSinkExec::new(input, Arc::new(sink), None)))
    }
}

/// Where an `INSERT` into a plain table goes.
#[derive(Debug)]
struct PlainSink {
    storage: Arc<rusts_storage::Engine>,
    definition: TableDefinition,
    schema: SchemaRef,
}

impl DisplayAs for PlainSink {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlainTableSink: table={}", self.definition.name)
    }
}

#[async_trait]
impl DataSink for PlainSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        mut data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> Result<u64> {
        let mut rows = Vec::new();
        while let Some(batch) = data.next().await {
            rows.extend(engine_rows(&self.definition, &batch?)?);
        }
        let count = rows.len() as u64;
        let storage = Arc::clone(&self.storage);
        let id = TableId(u64::from(self.definition.oid));
        // The insert may wait for an fsync: keep it off the async workers.
        tokio::task::spawn_blocking(move || storage.insert_rows(id, rows))
            .await
            .map_err(|error| DataFusionError::External(Box::new(error)))?
            .map_err(|error| DataFusionError::External(Box::new(Error::from(error))))?;
        Ok(count)
    }
}

/// The rows of `batch` (a column per column of `definition`, in order) as engine values,
/// refusing NULL in `NOT NULL` columns (23502) and values that do not fit (22P02, 22003).
pub(crate) fn engine_rows(
    definition: &TableDefinition,
    batch: &RecordBatch,
) -> Result<Vec<Vec<Value>>> {
    let mut rows: Vec<Vec<Value>> = (0..batch.num_rows())
        .map(|_| Vec::with_capacity(definition.columns.len()))
        .collect();
    for (position, column) in definition.columns.iter().enumerate() {
        let column_type = storage_type(column.type_oid, column.type_modifier)
            .ok_or_else(|| DataFusionError::Internal(format!("column {}", column.name)))?;
        let array = batch.columns().get(position).ok_or_else(|| {
            DataFusionError::Internal(format!("no value for column {}", column.name))
        })?;
        let array = cast_with_options(
            array,
            &column_type.arrow_type(),
            &CastOptions {
                safe: false,
                ..CastOptions::default()
            },
        )?;
        if column.not_null && array.null_count() > 0 {
            return Err(DataFusionError::External(Box::new(
                Error::NotNullViolation {
                    table: definition.name.clone(),
                    column: column.name.clone(),
                },
            )));
        }
        for (row, values) in rows.iter_mut().enumerate() {
            values.push(value_at(&array, row, column_type));
        }
    }
    Ok(rows)
}

/// The engine value of `array[row]` (already cast to `column_type`'s Arrow type).
fn value_at(array: &ArrayRef, row: usize, column_type: ColumnType) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    let int = |value: i64| Value::Int(value);
    match column_type {
        ColumnType::Boolean => array
            .as_any()
            .downcast_ref::<BooleanArray>()
            .map_or(Value::Null, |values| Value::Boolean(values.value(row))),
        ColumnType::Int16 => int(i64::from(array.as_primitive::<Int16Type>().value(row))),
        ColumnType::Int32 => int(i64::from(array.as_primitive::<Int32Type>().value(row))),
        ColumnType::Int64 => int(array.as_primitive::<Int64Type>().value(row)),
        ColumnType::Float32 => {
            Value::Float(f64::from(array.as_primitive::<Float32Type>().value(row)))
        }
        ColumnType::Float64 => Value::Float(array.as_primitive::<Float64Type>().value(row)),
        ColumnType::Decimal { .. } => {
            Value::Decimal(array.as_primitive::<Decimal128Type>().value(row))
        }
        ColumnType::Text => array
            .as_any()
            .downcast_ref::<StringArray>()
            .map_or(Value::Null, |values| Value::Text(values.value(row).into())),
        ColumnType::Binary => array
            .as_any()
            .downcast_ref::<BinaryArray>()
            .map_or(Value::Null, |values| {
                Value::Binary(values.value(row).into())
            }),
        ColumnType::Date => int(i64::from(array.as_primitive::<Date32Type>().value(row))),
        ColumnType::Timestamp | ColumnType::TimestampTz => {
            int(array.as_primitive::<TimestampMicrosecondType>().value(row))
        }
    }
}

/// Plans each column's `DEFAULT` text of `definition` into an expression, with `state`.
pub(crate) fn plan_defaults(
    state: &datafusion::execution::SessionState,
    definition: &TableDefinition,
) -> Result<HashMap<String, Expr>> {
    let schema = DFSchema::empty();
    definition
        .columns
        .iter()
        .filter_map(|column| {
            column.default.as_ref().map(|text| {
                let expr = state.create_logical_expr(text, &schema)?;
                Ok((column.name.clone(), expr))
            })
        })
        .collect()
}

/// The value of the `DEFAULT` expression `text` for a column of `column_type`, evaluated
/// once (for the rows a column added by `ALTER TABLE` finds): a constant, or an expression
/// that folds to one such as `now()`.
pub(crate) fn constant_value(
    target: &crate::ddl::SessionTarget,
    table: &str,
    text: &str,
    column_type: ColumnType,
) -> EngineResult<Value> {
    use datafusion::logical_expr::simplify::SimplifyContext;
    use datafusion::optimizer::simplify_expressions::ExprSimplifier;
    let state = target.catalog.expression_state();
    let query_error = |error: DataFusionError| Error::InvalidDefinition {
        table: table.to_owned(),
        reason: format!("DEFAULT {text}: {error}"),
    };
    let expr = state
        .create_logical_expr(text, &DFSchema::empty())
        .map_err(query_error)?;
    let context = SimplifyContext::builder()
        .with_schema(Arc::new(DFSchema::empty()))
        .with_current_time()
        .build();
    let folded = ExprSimplifier::new(context)
        .simplify(expr)
        .map_err(query_error)?;
    let Expr::Literal(scalar, _) = folded else {
        return Err(Error::NotSupported {
            what: format!("DEFAULT {text} for an added column: it must be a constant"),
        });
    };
    let array = scalar.to_array_of_size(1).map_err(query_error)?;
    let array = cast_with_options(
        &array,
        &column_type.arrow_type(),
        &CastOptions {
            safe: false,
            ..CastOptions::default()
        },
    )
    .map_err(|error| query_error(error.into()))?;
    Ok(value_at(&array, 0, column_type))
}
