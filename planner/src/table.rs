//! A measurement as a DataFusion table: columns `time` (timestamptz), the tags (text, sorted
//! by name) and the fields (typed, in order of first write). Scans push time ranges and tag
//! predicates down to the storage engine (see [`crate::pushdown`]) and read only the
//! projected columns.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::Result;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use rusts_storage::ScanRequest;

use crate::pushdown::{self, ColumnRoles};
use crate::scan_exec::MeasurementScanExec;

/// One measurement of one database.
#[derive(Debug)]
pub(crate) struct MeasurementTable {
    storage: Arc<rusts_storage::Engine>,
    /// `<database>\0<measurement>`.
    storage_name: String,
    schema: SchemaRef,
    tags: Vec<String>,
}

impl MeasurementTable {
    /// The table of `storage_name` as it is now, or `None` if the measurement does not exist.
    pub(crate) fn open(storage: Arc<rusts_storage::Engine>, storage_name: String) -> Option<Self> {
        let measurement = storage.schema(&storage_name)?;
        let schema = measurement.arrow_schema();
        Some(Self {
            storage,
            storage_name,
            schema,
            tags: measurement.tag_keys,
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
                if pushdown::is_prunable(filter, self) {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let predicate = pushdown::predicate(filters, self);
        let schema = match projection {
            Some(indices) => Arc::new(self.schema.project(indices)?),
            None => Arc::clone(&self.schema),
        };
        let columns = schema.fields().iter().map(|f| f.name().clone()).collect();
        let request = ScanRequest {
            measurement: self.storage_name.clone(),
            predicate,
            projection: Some(columns),
            batch_rows: rusts_storage::SCAN_BATCH_ROWS_DEFAULT,
        };
        Ok(Arc::new(MeasurementScanExec::new(
            Arc::clone(&self.storage),
            request,
            schema,
            limit,
        )))
    }
}
