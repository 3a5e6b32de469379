//! A measurement as a DataFusion table: columns `time` (timestamptz), the tags (text, sorted
//! by name) and the fields (typed, in order of first write). Scans push time ranges, tag
//! predicates and field comparisons down to the storage engine (see [`crate::pushdown`]) and
//! read only the projected columns.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::sink::DataSinkExec;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use rusts_storage::{FieldType, ScanRequest};

use crate::dml::{DeleteExec, MeasurementSink, engine_error};
use crate::pushdown::{self, ColumnRoles};
use crate::scan_exec::{MeasurementScanExec, ScanShape};

/// One measurement of one database.
#[derive(Debug)]
pub(crate) struct MeasurementTable {
    storage: Arc<rusts_storage::Engine>,
    /// `<database>\0<measurement>`.
    storage_name: String,
    schema: SchemaRef,
    tags: Arc<[String]>,
    fields: Vec<(String, FieldType)>,
}

impl MeasurementTable {
    /// The table of `storage_name` as it is now, or `None` if the measurement does not exist.
    pub(crate) fn open(storage: Arc<rusts_storage::Engine>, storage_name: String) -> Option<Self> {
        let measurement = storage.schema(&storage_name)?;
        let schema = measurement.arrow_schema();
        let fields = measurement
            .fields
            .iter()
            .map(|field| (field.name.clone(), field.field_type))
            .collect();
        Some(Self {
            storage,
            storage_name,
            schema,
            tags: measurement.tag_keys.into(),
            fields,
        })
    }
}

impl ColumnRoles for MeasurementTable {
    fn is_time(&self, column: &str) -> bool {
        column == "time"
    }

    fn is_tag(&self, column: &str) -> bool {
        self.tags
            .binary_search_by(|tag| tag.as_str().cmp(column))
            .is_ok()
    }

    fn field_type(&self, column: &str) -> Option<FieldType> {
        self.fields
            .iter()
            .find(|(name, _)| name == column)
            .map(|(_, field_type)| *field_type)
    }
}

impl MeasurementTable {
    fn measurement(&self) -> &str {
        crate::dml::display_name(&self.storage_name)
    }
}

#[async_trait]
impl TableProvider for MeasurementTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|filter| {
                // Time ranges and tag predicates select exactly the rows they keep; field
                // filters are re-evaluated above the scan.
                if pushdown::is_exact(filter, self) {
                    TableProviderFilterPushDown::Exact
                } else if pushdown::is_prunable(filter, self) {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if insert_op != InsertOp::Append {
            return Err(DataFusionError::NotImplemented(format!(
                "{insert_op} on measurement {}: only INSERT INTO is supported",
                self.measurement()
            )));
        }
        // The sink declares every column nullable so that a row without `time` reaches it
        // and is refused with Postgres's wording, naming the column, rather than
        // DataFusion's generic constraint message naming a column index.
        let fields: Vec<_> = self
            .schema
            .fields()
            .iter()
            .map(|field| field.as_ref().clone().with_nullable(true))
            .collect();
        let sink = MeasurementSink::new(
            Arc::clone(&self.storage),
            self.storage_name.clone(),
            Arc::new(datafusion::arrow::datatypes::Schema::new(fields)),
            self.tags.to_vec(),
        );
        Ok(Arc::new(DataSinkExec::new(input, Arc::new(sink), None)))
    }

    async fn delete_from(
        &self,
        _state: &dyn Session,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if let Some(filter) = filters.iter().find(|f| !pushdown::is_exact(f, self)) {
            return Err(DataFusionError::NotImplemented(format!(
                "DELETE on measurement {} takes only time ranges and tag comparisons \
                 (=, <>, IN, ~, IS NULL) joined by AND; {filter} is not one",
                self.measurement()
            )));
        }
        let predicate = pushdown::predicate(&filters, self);
        Ok(Arc::new(DeleteExec::new(
            Arc::clone(&self.storage),
            self.storage_name.clone(),
            predicate,
        )))
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let pushed = pushdown::scan_pushdown(filters, self);
        let schema = match projection {
            Some(indices) => Arc::new(self.schema.project(indices)?),
            None => Arc::clone(&self.schema),
        };
        let columns = schema.fields().iter().map(|f| f.name().clone()).collect();
        let request = ScanRequest {
            predicate: pushed.predicate,
            filters: pushed.filters,
            projection: Some(columns),
            ..ScanRequest::new(&self.storage_name)
        };
        // One partition per target partition (cores), each reading a share of the series,
        // but no more partitions than series: a partition without a series is an empty
        // task, and a single small input then plans without repartitioning.
        let estimate = self
            .storage
            .estimate(&self.storage_name, &request.predicate)
            .map_err(|error| engine_error(error, &self.storage_name))?;
        let series = usize::try_from(estimate.series).unwrap_or(usize::MAX);
        let partitions = state.config().target_partitions().clamp(1, series.max(1));
        Ok(Arc::new(MeasurementScanExec::new(
            Arc::clone(&self.storage),
            request,
            Arc::clone(&self.tags),
            schema,
            ScanShape {
                limit,
                partitions,
                estimate,
                table_schema: Arc::clone(&self.schema),
            },
        )))
    }
}
