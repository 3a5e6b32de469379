//! The physical scan of a measurement, in one partition per target partition (core), each
//! reading a disjoint share of the selected series: runs the storage engine's (blocking)
//! [`Scan`] on a blocking thread and streams its record batches through a bounded channel, so a slow
//! client holds at most [`SCAN_CHANNEL_BATCHES`] batches in memory and a dropped query stops
//! the read. `EXPLAIN` shows the pushed-down predicate; `EXPLAIN ANALYZE` shows what the
//! storage pruned (series, partitions, segments, chunks).
//!
//! [`Scan`]: rusts_storage::Scan

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result, Statistics};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{
    Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream, StatisticsArgs,
};
use rusts_storage::{
    FieldFilter, FieldValue, ScanEstimate, ScanOrder, ScanRequest, ScanStats, Shard, TagPredicate,
    TimeRange,
};

use crate::dml::{display_name, engine_error};
use tokio::sync::mpsc;

/// Batches buffered between the storage thread and the query.
const SCAN_CHANNEL_BATCHES: usize = 2;

/// Scan of one measurement; see the module documentation.
#[derive(Debug)]
pub(crate) struct MeasurementScanExec {
    storage: Arc<rusts_storage::Engine>,
    request: ScanRequest,
    /// The measurement's tag keys, sorted.
    tags: Arc<[String]>,
    limit: Option<usize>,
    /// Rows the scan is expected to return (see [`ScanEstimate`]).
    estimated_rows: u64,
    /// Every column of the table when the scan was planned (see [`crate::reuse`]).
    table_schema: SchemaRef,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

/// How a scan is cut and sized, decided when it is planned.
#[derive(Debug, Clone)]
pub(crate) struct ScanShape {
    /// Rows to stop after, if any.
    pub(crate) limit: Option<usize>,
    /// Partitions, each reading a disjoint share of the series.
    pub(crate) partitions: usize,
    /// The storage's estimate of what the scan reads.
    pub(crate) estimate: ScanEstimate,
    /// Every column of the table as planned.
    pub(crate) table_schema: SchemaRef,
}

impl MeasurementScanExec {
    pub(crate) fn new(
        storage: Arc<rusts_storage::Engine>,
        request: ScanRequest,
        tags: Arc<[String]>,
        schema: SchemaRef,
        shape: ScanShape,
    ) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema),
            Partitioning::UnknownPartitioning(shape.partitions.max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        let limit = shape.limit.map_or(u64::MAX, |rows| rows as u64);
        Self {
            storage,
            request,
            tags,
            limit: shape.limit,
            estimated_rows: shape.estimate.rows.min(limit),
            table_schema: shape.table_schema,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    /// Whether `column` is one of the measurement's tags.
    pub(crate) fn is_tag(&self, column: &str) -> bool {
        self.tags
            .binary_search_by(|tag| tag.as_str().cmp(column))
            .is_ok()
    }

    /// Whether the scan returns only each series' newest row.
    pub(crate) fn is_latest(&self) -> bool {
        self.request.latest
    }

    /// Whether rows are dropped by field filters or cut by a limit (the newest row of a
    /// series must be chosen among all of its rows in the range).
    pub(crate) fn has_filters_or_limit(&self) -> bool {
        !self.request.filters.is_empty() || self.limit.is_some()
    }

    /// The same scan in one partition, in time order across series (see
    /// [`crate::time_order`]); `None` when the scan cannot be ordered (no `time` column,
    /// latest rows only, or a limit).
    pub(crate) fn time_ordered(&self, descending: bool) -> Option<Self> {
        if self.request.latest || self.limit.is_some() {
            return None;
        }
        let schema = Arc::clone(self.properties.eq_properties.schema());
        let ordering = crate::time_order::time_ordering(&schema, descending)?;
        let properties = PlanProperties::new(
            EquivalenceProperties::new_with_orderings(schema, [[ordering]]),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        let mut scan = self.fresh();
        scan.request.order = if descending {
            ScanOrder::TimeDescending
        } else {
            ScanOrder::TimeAscending
        };
        scan.properties = Arc::new(properties);
        Some(scan)
    }

    /// Whether the measurement still has the columns the scan was planned with.
    pub(crate) fn table_is_unchanged(&self) -> bool {
        self.storage
            .schema(&self.request.measurement)
            .is_some_and(|measurement| *measurement.arrow_schema() == *self.table_schema)
    }

    /// The same scan with fresh metrics, to run again.
    fn fresh(&self) -> Self {
        Self {
            storage: Arc::clone(&self.storage),
            request: self.request.clone(),
            tags: Arc::clone(&self.tags),
            limit: self.limit,
            estimated_rows: self.estimated_rows,
            table_schema: Arc::clone(&self.table_schema),
            properties: Arc::clone(&self.properties),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    /// The same scan returning only each series' newest row (see [`crate::latest`]). The
    /// row estimate is kept: at most one row per series, and the series count is not kept.
    pub(crate) fn latest(&self) -> Self {
        let mut scan = self.fresh();
        scan.request.latest = true;
        scan
    }
}

impl DisplayAs for MeasurementScanExec {
    fn fmt_as(&self, format: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = display_name(&self.request.measurement);
        match format {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(f, "MeasurementScanExec: measurement={name}")?;
                let range = self.request.predicate.time_range;
                if range != TimeRange::ALL {
                    write!(f, ", time=[{}, {}]", range.min_ns, range.max_ns)?;
                }
                if !self.request.predicate.tags.is_empty() {
                    let tags: Vec<String> =
                        self.request.predicate.tags.iter().map(show_tag).collect();
                    write!(f, ", tags=[{}]", tags.join(" AND "))?;
                }
                if !self.request.filters.is_empty() {
                    let filters: Vec<String> =
                        self.request.filters.iter().map(show_filter).collect();
                    write!(f, ", filters=[{}]", filters.join(" AND "))?;
                }
                if let Some(columns) = &self.request.projection {
                    write!(f, ", projection=[{}]", columns.join(", "))?;
                }
                if let Some(limit) = self.limit {
                    write!(f, ", limit={limit}")?;
                }
                if self.request.latest {
                    write!(f, ", latest row per series")?;
                }
                match self.request.order {
                    ScanOrder::Series => {}
                    ScanOrder::TimeAscending => write!(f, ", order=time")?,
                    ScanOrder::TimeDescending => write!(f, ", order=time DESC")?,
                }
                Ok(())
            }
            DisplayFormatType::TreeRender => writeln!(f, "measurement={name}"),
        }
    }
}

fn show_filter(filter: &FieldFilter) -> String {
    let value = match &filter.value {
        FieldValue::Float(v) => v.to_string(),
        FieldValue::Integer(v) => v.to_string(),
        FieldValue::Unsigned(v) => v.to_string(),
        FieldValue::Boolean(v) => v.to_string(),
        FieldValue::String(v) => format!("'{v}'"),
    };
    format!("{} {} {value}", filter.field, filter.op.symbol())
}

fn show_tag(predicate: &TagPredicate) -> String {
    match predicate {
        TagPredicate::Eq { key, value } => format!("{key} = '{value}'"),
        TagPredicate::NotEq { key, value } => format!("{key} != '{value}'"),
        TagPredicate::In { key, values } => format!("{key} IN ('{}')", values.join("', '")),
        TagPredicate::NotIn { key, values } => {
            format!("{key} NOT IN ('{}')", values.join("', '"))
        }
        TagPredicate::Regex {
            key,
            pattern,
            negated,
        } => format!("{key} {} '{pattern}'", if *negated { "!~" } else { "~" }),
        TagPredicate::IsNull { key } => format!("{key} IS NULL"),
        TagPredicate::IsNotNull { key } => format!("{key} IS NOT NULL"),
    }
}

/// Counters of what the storage pruned, registered as plan metrics.
struct PruningMetrics {
    series_total: Count,
    series_matched: Count,
    partitions_total: Count,
    partitions_pruned: Count,
    segments_scanned: Count,
    segments_pruned: Count,
    chunks_read: Count,
    chunks_pruned: Count,
    chunks_filtered: Count,
    rows_filtered: Count,
}

impl PruningMetrics {
    fn new(metrics: &ExecutionPlanMetricsSet, partition: usize) -> Self {
        let counter = |name: &'static str| MetricBuilder::new(metrics).counter(name, partition);
        Self {
            series_total: counter("series_total"),
            series_matched: counter("series_matched"),
            partitions_total: counter("partitions_total"),
            partitions_pruned: counter("partitions_pruned"),
            segments_scanned: counter("segments_scanned"),
            segments_pruned: counter("segments_pruned"),
            chunks_read: counter("chunks_read"),
            chunks_pruned: counter("chunks_pruned"),
            chunks_filtered: counter("chunks_filtered"),
            rows_filtered: counter("rows_filtered"),
        }
    }

    /// Adds what the scan did since `previous` (its stats when last recorded). Series and
    /// chunks add up over the shards; totals and partition and segment counts are the same
    /// in every shard, so only the first one reports them.
    fn record(&self, stats: &ScanStats, previous: &ScanStats, first_shard: bool) {
        let stats = &stats.since(previous);
        let add =
            |count: &Count, value: u64| count.add(usize::try_from(value).unwrap_or(usize::MAX));
        if first_shard {
            add(&self.series_total, stats.series_total);
            add(&self.partitions_total, stats.partitions_total);
            add(
                &self.partitions_pruned,
                stats.partitions_pruned_by_time + stats.partitions_pruned_by_bloom,
            );
            add(&self.segments_scanned, stats.segments_scanned);
            add(
                &self.segments_pruned,
                stats.segments_pruned_by_time + stats.segments_pruned_by_bloom,
            );
        }
        add(&self.series_matched, stats.series_matched);
        add(&self.chunks_read, stats.chunks_read);
        add(&self.chunks_pruned, stats.chunks_pruned_by_time);
        add(&self.chunks_filtered, stats.chunks_pruned_by_filter);
        add(&self.rows_filtered, stats.rows_filtered);
    }
}

impl ExecutionPlan for MeasurementScanExec {
    fn name(&self) -> &'static str {
        "MeasurementScanExec"
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
        leaf_with_new_children(self, &children)
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    /// A reused plan (see [`crate::reuse`]) counts each run's pruning afresh.
    fn reset_state(self: Arc<Self>) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(self.fresh()))
    }

    /// The estimated row count, inexact (overwrites and deletes are not subtracted), split
    /// evenly over the partitions.
    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        let partitions = self.properties.partitioning.partition_count().max(1);
        let rows = usize::try_from(self.estimated_rows).unwrap_or(usize::MAX);
        let rows = match args.partition() {
            Some(_) => rows.div_ceil(partitions),
            None => rows,
        };
        let schema = self.properties.eq_properties.schema();
        let mut statistics = Statistics::new_unknown(schema);
        statistics.num_rows = Precision::Inexact(rows);
        Ok(Arc::new(statistics))
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let schema = Arc::clone(self.properties.eq_properties.schema());
        let capacity = if self.request.order == ScanOrder::Series {
            SCAN_CHANNEL_BATCHES
        } else {
            1
        };
        let (sender, receiver) = mpsc::channel::<Result<RecordBatch>>(capacity);
        let storage = Arc::clone(&self.storage);
        let count = self.properties.partitioning.partition_count();
        let mut request = self.request.clone();
        request.shard = Shard {
            index: u32::try_from(partition).unwrap_or(0),
            count: u32::try_from(count).unwrap_or(1),
        };
        let limit = self.limit;
        let pruning = PruningMetrics::new(&self.metrics, partition);
        tokio::task::spawn_blocking(move || {
            read(&storage, &request, limit, &sender, &pruning);
        });
        let stream = futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|batch| (batch, receiver))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// `with_new_children` of a plan without children (our scans and `DeleteExec`): the plan
/// itself, or an internal error if children are offered.
pub(crate) fn leaf_with_new_children<T: ExecutionPlan + 'static>(
    plan: Arc<T>,
    children: &[Arc<dyn ExecutionPlan>],
) -> Result<Arc<dyn ExecutionPlan>> {
    if children.is_empty() {
        Ok(plan)
    } else {
        Err(DataFusionError::Internal(format!(
            "{} has no children",
            plan.name()
        )))
    }
}

/// Runs the scan on the current (blocking) thread, sending batches until the scan ends, the
/// limit is reached or the receiver is gone.
fn read(
    storage: &rusts_storage::Engine,
    request: &ScanRequest,
    limit: Option<usize>,
    sender: &mpsc::Sender<Result<RecordBatch>>,
    pruning: &PruningMetrics,
) {
    let mut scan = match storage.scan(request) {
        Ok(scan) => scan,
        Err(error) => {
            let _ = sender.blocking_send(Err(engine_error(error, &request.measurement)));
            return;
        }
    };
    let mut remaining = limit.unwrap_or(usize::MAX);
    let first_shard = request.shard.index == 0;
    // Recorded before each batch is sent, so that the counts are complete when a consumer
    // that stops early (a limit) finishes: it never waits for this thread.
    let mut recorded = ScanStats::default();
    // A time-ordered scan is read by consumers that stop early (a top-k): it reads its next
    // batch (and so its next window) only once the channel has room, which with its one
    // slot means once the consumer took the previous batch.
    let on_demand = request.order != ScanOrder::Series;
    while remaining > 0 {
        if on_demand && futures::executor::block_on(sender.reserve()).is_err() {
            break;
        }
        let next = scan.next();
        pruning.record(&scan.stats(), &recorded, first_shard);
        recorded = scan.stats();
        let Some(batch) = next else { break };
        let batch = batch
            .map_err(|error| engine_error(error, &request.measurement))
            .map(|batch| {
                let rows = batch.num_rows().min(remaining);
                remaining -= rows;
                batch.slice(0, rows)
            });
        let failed = batch.is_err();
        if sender.blocking_send(batch).is_err() || failed {
            break;
        }
    }
    pruning.record(&scan.stats(), &recorded, first_shard);
}
