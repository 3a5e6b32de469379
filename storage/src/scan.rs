//! The scan API the query layer calls: a measurement, a [`Predicate`] (time range and tag
//! predicates) and a column projection in; Arrow [`RecordBatch`]es out, ordered by (series id,
//! time), with overwrites merged newest-wins and deletes applied.
//!
//! Pruning, in order: tag predicates resolve to series through the inverted index; segments
//! outside the time range are skipped (partition pruning); segments whose bloom filter holds
//! none of the selected series are skipped; inside a segment, chunks outside the time range are
//! skipped; only projected columns are decoded. [`ScanStats`] counts each step for `EXPLAIN`.

use std::collections::{BTreeSet, VecDeque};

use hashbrown::HashMap;
use std::sync::Arc;

use arrow_array::{RecordBatch, UInt32Array};
use arrow_schema::SchemaRef;
use arrow_select::take::take_record_batch;

use crate::error::{Error, Result};
use crate::filter::{FieldFilter, ResolvedFilter, passing_rows};
use crate::memtable::Memtable;
use crate::predicate::{Predicate, TagPredicate, TimeRange};
use crate::run::{Run, merge_runs};
use crate::scan_output::{BatchBuilder, OutputColumn, arrow_schema};
use crate::schema::{FieldIndex, FieldType, MeasurementSchema};
use crate::segment::SegmentReader;
use crate::segment::{ChunkCounts, ChunkFilter};
use crate::series::{SeriesId, SeriesKey};
use crate::time_order::{TimeWindows, WINDOW_ROWS_MAX};
use crate::version::{Tombstone, apply_tombstones};

/// Rows per batch when the request does not say.
pub const SCAN_BATCH_ROWS_DEFAULT: usize = 8192;

/// What to read.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    /// The measurement.
    pub measurement: String,
    /// Time range and tag predicates.
    pub predicate: Predicate,
    /// Columns to return, by name (`time`, tag keys, field names), in this order; `None` for
    /// all columns: time, tags (sorted), fields (in order of first write).
    pub projection: Option<Vec<String>>,
    /// Rows per batch, at least 1.
    pub batch_rows: usize,
    /// Which share of the selected series to read: series `i` (in id order) belongs to
    /// shard `i % count`. Parallel scans of one query each take one shard.
    pub shard: Shard,
    /// Field comparisons every returned row satisfies (see [`FieldFilter`]); rows and chunks
    /// that fail are skipped before columns are built.
    pub filters: Vec<FieldFilter>,
    /// Only each series' newest row in the time range that passes the filters (the scan
    /// under `DISTINCT ON (tags) … ORDER BY …, time DESC` and `last(…, time)` per tags):
    /// reads backwards from each series' newest chunk and stops at the first row found.
    pub latest: bool,
    /// The order of the rows (see [`ScanOrder`]); a time order needs the whole scan
    /// ([`Shard::ALL`]) and is not combined with `latest`.
    pub order: ScanOrder,
}

/// The order of a scan's rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ScanOrder {
    /// By series (id order), then by time: the cheapest, read one series at a time.
    #[default]
    Series,
    /// By time across series, oldest first; rows of equal time in series order. Read in
    /// time windows (see `time_order.rs`), so a consumer that stops early reads little.
    TimeAscending,
    /// By time across series, newest first; rows of equal time in series order.
    TimeDescending,
}

/// One of `count` disjoint shares of a scan's series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This share, `0..count`.
    pub index: u32,
    /// How many shares, at least 1.
    pub count: u32,
}

impl Shard {
    /// The whole scan.
    pub const ALL: Self = Self { index: 0, count: 1 };

    /// Whether the series at `position` (in id order) is this shard's.
    pub(crate) fn holds(self, position: usize) -> bool {
        let count = usize::try_from(self.count.max(1)).unwrap_or(1);
        position % count == usize::try_from(self.index).unwrap_or(0)
    }
}

impl ScanRequest {
    /// Every column and row of `measurement`.
    pub fn new(measurement: &str) -> Self {
        Self {
            measurement: measurement.to_owned(),
            predicate: Predicate::default(),
            projection: None,
            batch_rows: SCAN_BATCH_ROWS_DEFAULT,
            shard: Shard::ALL,
            filters: Vec::new(),
            latest: false,
            order: ScanOrder::Series,
        }
    }
}

/// What a scan touched and what it pruned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Series of the measurement.
    pub series_total: u64,
    /// Series left after the tag predicates (inverted index).
    pub series_matched: u64,
    /// Partitions holding segments.
    pub partitions_total: u64,
    /// Partitions skipped because they lie outside the time range.
    pub partitions_pruned_by_time: u64,
    /// Partitions skipped because their bloom filters rule out every selected series.
    pub partitions_pruned_by_bloom: u64,
    /// Segments read.
    pub segments_scanned: u64,
    /// Segments skipped by time range.
    pub segments_pruned_by_time: u64,
    /// Segments skipped by bloom filter.
    pub segments_pruned_by_bloom: u64,
    /// Chunks (blocks of a series) decoded.
    pub chunks_read: u64,
    /// Chunks skipped by their min/max time.
    pub chunks_pruned_by_time: u64,
    /// Chunks skipped because no row could pass the field filters (by the chunk's column
    /// statistics, or by its filtered columns once decoded).
    pub chunks_pruned_by_filter: u64,
    /// Rows of the selected series and time range that failed the field filters.
    pub rows_filtered: u64,
    /// Rows returned.
    pub rows: u64,
}

impl ScanStats {
    /// What was counted after `earlier` (a snapshot of the same scan's stats).
    #[must_use]
    pub fn since(&self, earlier: &Self) -> Self {
        let minus = |now: u64, then: u64| now.saturating_sub(then);
        Self {
            series_total: minus(self.series_total, earlier.series_total),
            series_matched: minus(self.series_matched, earlier.series_matched),
            partitions_total: minus(self.partitions_total, earlier.partitions_total),
            partitions_pruned_by_time: minus(
                self.partitions_pruned_by_time,
                earlier.partitions_pruned_by_time,
            ),
            partitions_pruned_by_bloom: minus(
                self.partitions_pruned_by_bloom,
                earlier.partitions_pruned_by_bloom,
            ),
            segments_scanned: minus(self.segments_scanned, earlier.segments_scanned),
            segments_pruned_by_time: minus(
                self.segments_pruned_by_time,
                earlier.segments_pruned_by_time,
            ),
            segments_pruned_by_bloom: minus(
                self.segments_pruned_by_bloom,
                earlier.segments_pruned_by_bloom,
            ),
            chunks_read: minus(self.chunks_read, earlier.chunks_read),
            chunks_pruned_by_time: minus(self.chunks_pruned_by_time, earlier.chunks_pruned_by_time),
            chunks_pruned_by_filter: minus(
                self.chunks_pruned_by_filter,
                earlier.chunks_pruned_by_filter,
            ),
            rows_filtered: minus(self.rows_filtered, earlier.rows_filtered),
            rows: minus(self.rows, earlier.rows),
        }
    }
}

/// A memtable source: frozen ones hold their data's newest WAL sequence, for tombstones.
#[derive(Debug)]
pub(crate) struct MemtableSource {
    pub(crate) memtable: Arc<Memtable>,
    pub(crate) max_sequence: u64,
}

/// Everything a scan needs, captured under the engine lock and then read without it.
#[derive(Debug)]
pub(crate) struct ScanSnapshot {
    pub(crate) schema: MeasurementSchema,
    pub(crate) series: Vec<(SeriesId, Arc<SeriesKey>)>,
    pub(crate) series_total: u64,
    pub(crate) segments: Vec<Arc<SegmentReader>>,
    pub(crate) frozen: Vec<MemtableSource>,
    pub(crate) active_runs: HashMap<SeriesId, Run>,
    pub(crate) tombstones: Vec<Arc<Tombstone>>,
}

/// An iterator of record batches.
#[derive(Debug)]
pub struct Scan {
    schema: SchemaRef,
    columns: Vec<OutputColumn>,
    projection: Vec<(FieldIndex, FieldType)>,
    names: Vec<String>,
    width: usize,
    range: TimeRange,
    filters: Vec<ResolvedFilter>,
    latest: bool,
    /// For a time-ordered scan: the windows still to read and the sorted batches of the
    /// last one.
    windows: Option<TimeWindows>,
    ready: VecDeque<RecordBatch>,
    snapshot: ScanSnapshot,
    next_series: usize,
    pending: Option<(usize, Run, usize)>,
    batch_rows: usize,
    stats: ScanStats,
}

impl Scan {
    pub(crate) fn new(request: &ScanRequest, mut snapshot: ScanSnapshot) -> Result<Self> {
        let columns = resolve_columns(&snapshot.schema, request.projection.as_deref())?;
        let schema = arrow_schema(&snapshot.schema, &columns);
        let mut projection = Vec::new();
        let mut names = Vec::new();
        for column in &columns {
            if let OutputColumn::Field(index, field_type) = column {
                projection.push((*index, *field_type));
                let name = &snapshot
                    .schema
                    .fields
                    .get(usize::try_from(*index).unwrap_or(usize::MAX));
                names.push(name.map(|f| f.name.clone()).unwrap_or_default());
            }
        }
        // Filtered fields are read even when not returned.
        let filters = crate::filter::resolve(&snapshot.schema, &request.filters)?;
        for filter in &filters {
            if !projection.iter().any(|(index, _)| *index == filter.index) {
                projection.push((filter.index, filter.field_type));
                names.push(filter.name.clone());
            }
        }
        let range = request.predicate.time_range;
        if request.order != ScanOrder::Series && (request.latest || request.shard != Shard::ALL) {
            return Err(Error::InvalidScan {
                measurement: snapshot.schema.name.clone(),
                reason: "a time-ordered scan reads every selected series and all their rows",
            });
        }
        let mut stats = ScanStats {
            series_total: snapshot.series_total,
            series_matched: snapshot.series.len() as u64,
            ..ScanStats::default()
        };
        prune_segments(&mut snapshot, &request.predicate, &mut stats);
        let windows = match request.order {
            ScanOrder::Series => None,
            order => Some(TimeWindows::new(
                data_span(&snapshot, &range),
                order == ScanOrder::TimeDescending,
            )),
        };
        Ok(Self {
            schema,
            width: snapshot.schema.fields.len(),
            columns,
            projection,
            names,
            range,
            filters,
            latest: request.latest,
            windows,
            ready: VecDeque::new(),
            snapshot,
            next_series: 0,
            pending: None,
            batch_rows: request.batch_rows.max(1),
            stats,
        })
    }

    /// The Arrow schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// What the scan has touched and pruned so far (complete once the iterator is done).
    pub fn stats(&self) -> ScanStats {
        self.stats
    }

    fn series_run(&mut self, position: usize) -> Result<Run> {
        let Some((id, _)) = self.snapshot.series.get(position) else {
            return Ok(Run::default());
        };
        let id = *id;
        let newer = self.memtable_runs(id);
        if self.latest {
            self.latest_run(id, &newer)
        } else {
            self.merged_run(id, self.range, newer)
        }
    }

    /// The series' rows within `window` in the frozen and active memtables (oldest first),
    /// tombstones applied; unlike [`Self::memtable_runs`], the active rows stay for the
    /// next window.
    fn memtable_runs_in(&self, id: SeriesId, window: &TimeRange) -> Vec<Run> {
        let mut newer = Vec::new();
        for source in &self.snapshot.frozen {
            let Some(rows) = source.memtable.series(id) else {
                continue;
            };
            let mut run = rows.to_run(window, &self.projection, self.width);
            apply_tombstones(&mut run, id, source.max_sequence, &self.snapshot.tombstones);
            newer.push(run);
        }
        if let Some(run) = self.snapshot.active_runs.get(&id) {
            newer.push(run.time_slice(window));
        }
        newer
    }

    /// Reads `window` of every series into time-sorted batches (see `time_order.rs`); `false`
    /// when the window held too many rows and is to be read again narrower.
    fn read_window(&mut self, window: TimeRange, descending: bool) -> Result<bool> {
        let mut runs: Vec<(usize, Run)> = Vec::new();
        let mut rows = 0;
        for position in 0..self.snapshot.series.len() {
            let Some((id, _)) = self.snapshot.series.get(position) else {
                break;
            };
            let id = *id;
            let newer = self.memtable_runs_in(id, &window);
            let run = self.merged_run(id, window, newer)?;
            if run.is_empty() {
                continue;
            }
            rows += run.len();
            if rows > WINDOW_ROWS_MAX && TimeWindows::can_split(&window) {
                return Ok(false);
            }
            runs.push((position, run));
        }
        if rows == 0 {
            return Ok(true);
        }
        let columns = self.columns.clone();
        let mut builder = BatchBuilder::new(&columns, rows);
        let mut order: Vec<(i64, u32)> = Vec::with_capacity(rows);
        for (position, run) in &runs {
            let Some((_, key)) = self.snapshot.series.get(*position) else {
                continue;
            };
            let start = builder.rows();
            builder.append(key, run, 0, run.len());
            for (offset, ts) in run.timestamps.iter().enumerate() {
                order.push((*ts, u32::try_from(start + offset).unwrap_or(u32::MAX)));
            }
        }
        if descending {
            order.sort_unstable_by_key(|(ts, row)| (std::cmp::Reverse(*ts), *row));
        } else {
            order.sort_unstable();
        }
        let arrow_error = |source| Error::Arrow {
            measurement: self.snapshot.schema.name.clone(),
            source,
        };
        let batch = builder.finish(&self.schema).map_err(arrow_error)?;
        let indices = UInt32Array::from_iter_values(order.into_iter().map(|(_, row)| row));
        let sorted = take_record_batch(&batch, &indices).map_err(arrow_error)?;
        let mut offset = 0;
        while offset < sorted.num_rows() {
            let length = self.batch_rows.min(sorted.num_rows() - offset);
            self.ready.push_back(sorted.slice(offset, length));
            offset += length;
        }
        Ok(true)
    }

    /// The next batch of a time-ordered scan.
    fn next_in_time_order(&mut self) -> Option<Result<RecordBatch>> {
        loop {
            if let Some(batch) = self.ready.pop_front() {
                self.stats.rows += batch.num_rows() as u64;
                return Some(Ok(batch));
            }
            let windows = self.windows.as_ref()?;
            let window = windows.peek()?;
            let descending = windows.is_descending();
            match self.read_window(window, descending) {
                Ok(true) => {
                    let rows = self.ready.iter().map(RecordBatch::num_rows).sum();
                    if let Some(windows) = self.windows.as_mut() {
                        windows.advance(&window, rows);
                    }
                }
                Ok(false) => {
                    if let Some(windows) = self.windows.as_mut() {
                        windows.narrow(&window);
                    }
                }
                Err(error) => {
                    if let Some(windows) = self.windows.as_mut() {
                        windows.finish();
                    }
                    return Some(Err(error));
                }
            }
        }
    }

    /// The series' rows in the frozen and active memtables (oldest first), tombstones
    /// applied.
    fn memtable_runs(&mut self, id: SeriesId) -> Vec<Run> {
        let mut newer = Vec::new();
        for source in &self.snapshot.frozen {
            let Some(rows) = source.memtable.series(id) else {
                continue;
            };
            let mut run = rows.to_run(&self.range, &self.projection, self.width);
            apply_tombstones(&mut run, id, source.max_sequence, &self.snapshot.tombstones);
            newer.push(run);
        }
        if let Some(run) = self.snapshot.active_runs.remove(&id) {
            newer.push(run);
        }
        newer
    }

    /// The series' rows in `range`: segments read, merged with the memtables' `newer` runs
    /// (already within `range`), field filters applied.
    fn merged_run(&mut self, id: SeriesId, range: TimeRange, newer: Vec<Run>) -> Result<Run> {
        let projected: Vec<(FieldIndex, &str, FieldType)> = self
            .projection
            .iter()
            .zip(&self.names)
            .map(|((index, field_type), name)| (*index, name.as_str(), *field_type))
            .collect();
        let segments: Vec<&Arc<SegmentReader>> = self
            .snapshot
            .segments
            .iter()
            .filter(|segment| segment.contains_series(id))
            .collect();
        // The sources' spans tell which segment chunks no other source overlaps.
        let (segment_spans, newer_spans): (Vec<_>, Vec<_>) = if self.filters.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let newer_spans = newer
                .iter()
                .filter_map(|run| Some((*run.timestamps.first()?, *run.timestamps.last()?)))
                .collect();
            (
                segments.iter().map(|s| s.series_span(id)).collect(),
                newer_spans,
            )
        };
        let mut runs = Vec::new();
        let mut counts = ChunkCounts::default();
        for (position, segment) in segments.iter().enumerate() {
            let other_spans: Vec<(i64, i64)> = segment_spans
                .iter()
                .enumerate()
                .filter(|(other, _)| *other != position)
                .filter_map(|(_, span)| *span)
                .chain(newer_spans.iter().copied())
                .collect();
            let filter = ChunkFilter {
                filters: &self.filters,
                other_spans: &other_spans,
            };
            let read =
                segment.read_series(id, &range, &projected, self.width, filter, &mut counts)?;
            if let Some(mut run) = read {
                let max_sequence = segment.footer().header.max_sequence;
                apply_tombstones(&mut run, id, max_sequence, &self.snapshot.tombstones);
                runs.push(run);
            }
        }
        self.stats.chunks_read += counts.read;
        self.stats.chunks_pruned_by_time += counts.skipped;
        self.stats.chunks_pruned_by_filter += counts.filtered;
        runs.extend(newer);
        let mut run = merge_runs(runs);
        if let Some(rows) = passing_rows(&run, &self.filters) {
            self.stats.rows_filtered += (run.len() - rows.len()) as u64;
            run = run.select_rows(&rows);
        }
        Ok(run)
    }

    /// The series' newest row in the range that passes the filters, reading backwards one
    /// window at a time. Each window `[lo, hi]` starts at the latest chunk start (or, in a
    /// memtable, block of rows) at or before `hi` over all sources, so it holds the newest
    /// stored row at or before `hi`; merged, with tombstones and filters applied, it either
    /// yields the answer or shows that nothing in `[lo, hi]` survives, and the next window
    /// ends at `lo - 1`.
    fn latest_run(&mut self, id: SeriesId, newer: &[Run]) -> Result<Run> {
        let starts: Vec<Vec<i64>> = self
            .snapshot
            .segments
            .iter()
            .filter_map(|segment| segment.chunk_starts(id))
            .collect();
        let mut hi = self.range.max_ns;
        loop {
            let segment_start = starts
                .iter()
                .flat_map(|chunks| chunks.iter().rev().find(|start| **start <= hi))
                .max();
            let memtable_start = newer.iter().filter_map(|run| run.block_start(hi)).max();
            let Some(lo) = segment_start.max(memtable_start).copied() else {
                return Ok(Run::default());
            };
            let lo = lo.max(self.range.min_ns);
            let window = TimeRange::new(lo, hi);
            let slices = newer.iter().map(|run| run.time_slice(&window)).collect();
            let run = self.merged_run(id, window, slices)?;
            if let Some(last) = run.len().checked_sub(1) {
                return Ok(run.select_rows(&[last]));
            }
            if lo <= self.range.min_ns {
                return Ok(Run::default());
            }
            hi = lo - 1;
        }
    }
}

impl Iterator for Scan {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.windows.is_some() {
            return self.next_in_time_order();
        }
        let mut builder = BatchBuilder::new(&self.columns, self.batch_rows);
        while builder.rows() < self.batch_rows {
            let (position, run, offset) = match self.pending.take() {
                Some(pending) => pending,
                None => {
                    let position = self.next_series;
                    if position >= self.snapshot.series.len() {
                        break;
                    }
                    self.next_series += 1;
                    match self.series_run(position) {
                        Ok(run) => (position, run, 0),
                        Err(error) => return Some(Err(error)),
                    }
                }
            };
            let take = (run.len() - offset).min(self.batch_rows - builder.rows());
            let key = self
                .snapshot
                .series
                .get(position)
                .map(|(_, key)| Arc::clone(key));
            if let Some(key) = key {
                builder.append(&key, &run, offset, offset + take);
            }
            if offset + take < run.len() {
                self.pending = Some((position, run, offset + take));
            }
        }
        if builder.rows() == 0 {
            return None;
        }
        self.stats.rows += builder.rows() as u64;
        Some(builder.finish(&self.schema).map_err(|source| Error::Arrow {
            measurement: self.snapshot.schema.name.clone(),
            source,
        }))
    }
}

/// The fields (index and type) a scan with `projection` reads.
pub(crate) fn field_projection(
    schema: &MeasurementSchema,
    projection: Option<&[String]>,
) -> Result<Vec<(FieldIndex, FieldType)>> {
    Ok(resolve_columns(schema, projection)?
        .into_iter()
        .filter_map(|column| match column {
            OutputColumn::Field(index, field_type) => Some((index, field_type)),
            _ => None,
        })
        .collect())
}

/// Every column of a measurement: time, the tags (sorted), the fields.
pub(crate) fn all_columns(schema: &MeasurementSchema) -> Vec<OutputColumn> {
    let mut columns = vec![OutputColumn::Time];
    columns.extend(
        schema
            .tag_keys
            .iter()
            .map(|key| OutputColumn::Tag(key.clone())),
    );
    columns.extend(schema.fields.iter().enumerate().map(|(index, field)| {
        OutputColumn::Field(
            FieldIndex::try_from(index).unwrap_or(FieldIndex::MAX),
            field.field_type,
        )
    }));
    columns
}

fn resolve_columns(
    schema: &MeasurementSchema,
    projection: Option<&[String]>,
) -> Result<Vec<OutputColumn>> {
    let Some(names) = projection else {
        return Ok(all_columns(schema));
    };
    names
        .iter()
        .map(|name| {
            if name == "time" {
                Ok(OutputColumn::Time)
            } else if schema.has_tag(name) {
                Ok(OutputColumn::Tag(name.clone()))
            } else if let Some((index, field_type)) = schema.field(name) {
                Ok(OutputColumn::Field(index, field_type))
            } else {
                Err(Error::UnknownColumn {
                    measurement: schema.name.clone(),
                    column: name.clone(),
                })
            }
        })
        .collect()
}

/// Whether the segment's bloom filter rules out the scan: an `=` or `IN` tag predicate none
/// of whose values it holds, or none of the selected series.
fn bloom_rules_out(
    segment: &SegmentReader,
    measurement: &str,
    predicate: &Predicate,
    series: &[SeriesId],
) -> bool {
    let tag_absent = predicate.tags.iter().any(|tag| match tag {
        TagPredicate::Eq { key, value } => !segment.bloom_may_contain_tag(measurement, key, value),
        TagPredicate::In { key, values } => !values
            .iter()
            .any(|value| segment.bloom_may_contain_tag(measurement, key, value)),
        _ => false,
    });
    tag_absent
        || !series
            .iter()
            .any(|id| segment.bloom_may_contain_series(*id))
}

/// Drops segments outside the time range or ruled out by their bloom filter, counting
/// partitions and segments pruned.
/// The first and last time of the selected series' stored rows within `range` (segments
/// counted by their whole span, memtables by the selected series' rows); empty when there
/// are none.
fn data_span(snapshot: &ScanSnapshot, range: &TimeRange) -> TimeRange {
    let segments = snapshot
        .segments
        .iter()
        .map(|segment| (segment.footer().min_ns, segment.footer().max_ns));
    let active = snapshot
        .active_runs
        .values()
        .filter_map(|run| Some((*run.timestamps.first()?, *run.timestamps.last()?)));
    let frozen = snapshot.frozen.iter().flat_map(|source| {
        snapshot
            .series
            .iter()
            .filter_map(|(id, _)| source.memtable.series(*id)?.span())
    });
    let (min, max) = segments
        .chain(active)
        .chain(frozen)
        .fold((i64::MAX, i64::MIN), |(min, max), (first, last)| {
            (min.min(first), max.max(last))
        });
    TimeRange::new(min.max(range.min_ns), max.min(range.max_ns))
}

fn prune_segments(snapshot: &mut ScanSnapshot, predicate: &Predicate, stats: &mut ScanStats) {
    let range = predicate.time_range;
    let measurement = snapshot.schema.name.clone();
    let partitions: BTreeSet<i64> = snapshot
        .segments
        .iter()
        .map(|s| s.footer().header.partition_start_ns)
        .collect();
    stats.partitions_total = partitions.len() as u64;
    let mut kept_partitions = BTreeSet::new();
    let mut time_partitions = BTreeSet::new();
    let series: Vec<SeriesId> = snapshot.series.iter().map(|(id, _)| *id).collect();
    snapshot.segments.retain(|segment| {
        let footer = segment.footer();
        let partition = footer.header.partition_start_ns;
        if footer.rows == 0 || !range.overlaps(footer.min_ns, footer.max_ns) {
            stats.segments_pruned_by_time += 1;
            return false;
        }
        time_partitions.insert(partition);
        if bloom_rules_out(segment, &measurement, predicate, &series) {
            stats.segments_pruned_by_bloom += 1;
            return false;
        }
        kept_partitions.insert(partition);
        stats.segments_scanned += 1;
        true
    });
    stats.partitions_pruned_by_time = (partitions.len() - time_partitions.len()) as u64;
    stats.partitions_pruned_by_bloom = (time_partitions.len() - kept_partitions.len()) as u64;
}
