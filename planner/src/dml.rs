//! Writes in SQL on measurement tables. `INSERT … VALUES` and `INSERT … SELECT` go through a
//! DataFusion [`DataSink`] that turns each record batch into a storage write, the same path
//! line protocol takes, so rows written either way are the same data. `DELETE … WHERE`
//! accepts what the storage can delete exactly (a time range and tag predicates) and runs
//! when the plan executes, not when it is planned (so `EXPLAIN DELETE` deletes nothing).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{
    DataType, Field, Float64Type, Int64Type, Schema, SchemaRef, TimestampNanosecondType, UInt64Type,
};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::sink::DataSink;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use futures::StreamExt;
use rusts_storage::{FieldRef, PointBatch, Predicate, ScanRequest};

/// Where an insert goes: one measurement, with the table's columns and their roles.
#[derive(Debug)]
pub(crate) struct MeasurementSink {
    storage: Arc<rusts_storage::Engine>,
    storage_name: String,
    schema: SchemaRef,
    tags: Vec<String>,
}

impl MeasurementSink {
    pub(crate) fn new(
        storage: Arc<rusts_storage::Engine>,
        storage_name: String,
        schema: SchemaRef,
        tags: Vec<String>,
    ) -> Self {
        Self {
            storage,
            storage_name,
            schema,
            tags,
        }
    }

    /// Packs a batch of rows as points: `time` is required, NULL tags are absent tags, NULL
    /// fields are not written (a row needs at least one non-NULL field).
    fn pack(&self, batch: &RecordBatch) -> Result<PointBatch> {
        let time = batch
            .column_by_name("time")
            .and_then(|c| c.as_primitive_opt::<TimestampNanosecondType>())
            .ok_or_else(|| plan_error("an insert needs the time column"))?;
        let mut tags: Vec<(&str, &StringArray)> = Vec::new();
        let mut fields: Vec<(&str, &dyn Array)> = Vec::new();
        for (index, field) in batch.schema_ref().fields().iter().enumerate() {
            let name = field.name().as_str();
            let column = batch.column(index).as_ref();
            if name == "time" {
                continue;
            }
            if self.tags.iter().any(|tag| tag == name) {
                let values = column
                    .as_string_opt::<i32>()
                    .ok_or_else(|| plan_error(&format!("tag {name} must be text")))?;
                tags.push((name, values));
            } else {
                fields.push((name, column));
            }
        }
        let mut points = PointBatch::with_capacity(batch.num_rows(), 0);
        let mut row_fields: Vec<(&str, FieldRef<'_>)> = Vec::new();
        for row in 0..batch.num_rows() {
            if time.is_null(row) {
                return Err(DataFusionError::Execution(format!(
                    "null value in column \"time\" of relation \"{}\" violates not-null constraint",
                    display_name(&self.storage_name)
                )));
            }
            row_fields.clear();
            for (name, column) in &fields {
                if let Some(value) = field_value(*column, row)? {
                    row_fields.push((name, value));
                }
            }
            let row_tags = tags
                .iter()
                .filter(|(_, values)| values.is_valid(row))
                .map(|(name, values)| (*name, values.value(row)));
            points
                .push(
                    &self.storage_name,
                    row_tags,
                    row_fields.iter().copied(),
                    time.value(row),
                )
                .map_err(|error| engine_error(error, &self.storage_name))?;
        }
        Ok(points)
    }
}

fn field_value(column: &dyn Array, row: usize) -> Result<Option<FieldRef<'_>>> {
    if column.is_null(row) {
        return Ok(None);
    }
    let value = match column.data_type() {
        DataType::Float64 => FieldRef::Float(column.as_primitive::<Float64Type>().value(row)),
        DataType::Int64 => FieldRef::Integer(column.as_primitive::<Int64Type>().value(row)),
        DataType::UInt64 => FieldRef::Unsigned(column.as_primitive::<UInt64Type>().value(row)),
        DataType::Boolean => FieldRef::Boolean(column.as_boolean().value(row)),
        DataType::Utf8 => FieldRef::String(column.as_string::<i32>().value(row)),
        other => {
            return Err(plan_error(&format!(
                "cannot store a value of type {other} in a measurement field"
            )));
        }
    };
    Ok(Some(value))
}

fn plan_error(message: &str) -> DataFusionError {
    DataFusionError::Plan(message.to_owned())
}

/// A storage error as DataFusion carries it: wrapped in the planner's error (whose kind the
/// wire maps to a SQLSTATE), with measurement names shown without their database prefix.
pub(crate) fn engine_error(error: rusts_storage::Error, storage_name: &str) -> DataFusionError {
    let database = storage_name
        .split_once('\0')
        .map_or("", |(database, _)| database);
    DataFusionError::External(Box::new(crate::Error::from(error).unqualified(database)))
}

/// The measurement part of a storage name (`<database>\0<measurement>`).
pub(crate) fn display_name(storage_name: &str) -> &str {
    storage_name
        .split_once('\0')
        .map_or(storage_name, |(_, name)| name)
}

impl DisplayAs for MeasurementSink {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MeasurementSink: measurement={}",
            display_name(&self.storage_name)
        )
    }
}

#[async_trait]
impl DataSink for MeasurementSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        mut data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> Result<u64> {
        let mut written = 0;
        while let Some(batch) = data.next().await {
            let points = self.pack(&batch?)?;
            let storage = Arc::clone(&self.storage);
            // The write may wait for an fsync: keep it off the async workers.
            let summary = tokio::task::spawn_blocking(move || storage.write_batch(&points))
                .await
                .map_err(|error| DataFusionError::External(Box::new(error)))?
                .map_err(|error| engine_error(error, &self.storage_name))?;
            written += summary.points;
        }
        Ok(written)
    }
}

/// `DELETE FROM measurement WHERE …`: deletes when executed and returns the row count.
#[derive(Debug)]
pub(crate) struct DeleteExec {
    storage: Arc<rusts_storage::Engine>,
    storage_name: String,
    predicate: Predicate,
    properties: Arc<PlanProperties>,
}

impl DeleteExec {
    pub(crate) fn new(
        storage: Arc<rusts_storage::Engine>,
        storage_name: String,
        predicate: Predicate,
    ) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(count_schema()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Self {
            storage,
            storage_name,
            predicate,
            properties: Arc::new(properties),
        }
    }
}

fn count_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        "count",
        DataType::UInt64,
        false,
    )]))
}

impl DisplayAs for DeleteExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let range = self.predicate.time_range;
        write!(
            f,
            "DeleteExec: measurement={}, time=[{}, {}], tag_predicates={}",
            display_name(&self.storage_name),
            range.min_ns,
            range.max_ns,
            self.predicate.tags.len()
        )
    }
}

impl ExecutionPlan for DeleteExec {
    fn name(&self) -> &'static str {
        "DeleteExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        crate::scan_exec::leaf_with_new_children(self, &children)
    }

    fn execute(
        &self,
        _partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let storage = Arc::clone(&self.storage);
        let storage_name = self.storage_name.clone();
        let predicate = self.predicate.clone();
        let schema = count_schema();
        let output = Arc::clone(&schema);
        let name = self.storage_name.clone();
        let delete = async move {
            let rows = tokio::task::spawn_blocking(move || {
                count_and_delete(&storage, &storage_name, predicate)
            })
            .await
            .map_err(|error| DataFusionError::External(Box::new(error)))?
            .map_err(|error| engine_error(error, &name))?;
            RecordBatch::try_new(output, vec![Arc::new(UInt64Array::from(vec![rows]))])
                .map_err(DataFusionError::from)
        };
        let stream = futures::stream::once(delete);
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// Counts the rows the predicate selects (a scan that decodes no field), then deletes them.
/// Rows written between the two steps are deleted without being counted: writes are not
/// isolated from a running DELETE.
fn count_and_delete(
    storage: &rusts_storage::Engine,
    storage_name: &str,
    predicate: Predicate,
) -> rusts_storage::Result<u64> {
    let request = ScanRequest {
        predicate: predicate.clone(),
        projection: Some(Vec::new()),
        ..ScanRequest::new(storage_name)
    };
    let mut rows = 0;
    for batch in storage.scan(&request)? {
        rows += batch?.num_rows() as u64;
    }
    storage.delete(storage_name, &predicate)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        BooleanArray, Float64Array, Int64Array, TimestampNanosecondArray,
    };

    #[test]
    fn unsupported_field_types_are_named() {
        let column = TimestampNanosecondArray::from(vec![1]);
        let error = field_value(&column, 0).unwrap_err().to_string();
        assert!(
            error.contains("cannot store a value of type Timestamp"),
            "{error}"
        );
        let floats = Float64Array::from(vec![Some(1.5), None]);
        assert_eq!(field_value(&floats, 0).unwrap(), Some(FieldRef::Float(1.5)));
        assert_eq!(field_value(&floats, 1).unwrap(), None);
        let ints = Int64Array::from(vec![-3]);
        assert_eq!(field_value(&ints, 0).unwrap(), Some(FieldRef::Integer(-3)));
        let flags = BooleanArray::from(vec![true]);
        assert_eq!(
            field_value(&flags, 0).unwrap(),
            Some(FieldRef::Boolean(true))
        );
    }
}
