//! Compaction: when a partition has collected `compaction_segments_min` segments, merge them
//! into one. Each input's rows pass through the tombstones newer than that input, then all
//! inputs merge newest-wins, so overwrites and deletes become physical and reads of the
//! partition decode one run per series instead of several. The output replaces the inputs in
//! one manifest write; the inputs' files are removed only after that write is durable, and
//! scans that started earlier keep reading them through their open handles.

use std::collections::BTreeMap;

use hashbrown::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::flush::all_fields;
use super::{Engine, Shared};
use crate::error::{Error, Result};
use crate::predicate::TimeRange;
use crate::run::merge_runs;
use crate::schema::MeasurementSchema;
use crate::segment::{ChunkCounts, ChunkFilter, SegmentHeader, SegmentReader, SegmentWriter};
use crate::series::{SeriesId, SeriesKey};
use crate::version::{Tombstone, apply_tombstones};

/// What a compaction pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionSummary {
    /// Partitions compacted.
    pub partitions: u64,
    /// Segments merged away.
    pub segments_in: u64,
    /// Segments written.
    pub segments_out: u64,
    /// Rows before merging (overwritten and deleted rows included).
    pub rows_in: u64,
    /// Rows after.
    pub rows_out: u64,
}

impl Engine {
    /// Compacts every partition that has two or more segments, now.
    pub fn compact(&self) -> Result<CompactionSummary> {
        self.check_open()?;
        self.shared.compact_partitions(2)
    }
}

impl Shared {
    pub(crate) fn compact_due_partitions(&self) -> Result<CompactionSummary> {
        self.compact_partitions(self.options.compaction_segments_min)
    }

    fn compact_partitions(&self, segments_min: usize) -> Result<CompactionSummary> {
        // One pass at a time: two passes over the same inputs would both install an output.
        // The snapshot is taken under the lock, so only this pass removes its inputs.
        let _pass = self.compaction.lock();
        let mut summary = CompactionSummary::default();
        let version = Arc::clone(&self.state.lock().version);
        for partition in version.partitions() {
            if self.shutting_down.load(Ordering::SeqCst) {
                break;
            }
            let inputs = version.partition_segments(partition);
            let tombstoned = inputs
                .iter()
                .any(|segment| version.has_tombstoned_rows(segment));
            if inputs.len() < segments_min && !tombstoned {
                continue;
            }
            let (rows_in, rows_out) = self.compact_partition(partition, &inputs)?;
            summary.partitions += 1;
            summary.segments_in += inputs.len() as u64;
            summary.segments_out += u64::from(rows_out > 0);
            summary.rows_in += rows_in;
            summary.rows_out += rows_out;
        }
        Ok(summary)
    }

    /// Merges `inputs` (one partition, oldest first) into one segment and installs it.
    fn compact_partition(
        &self,
        partition: i64,
        inputs: &[Arc<SegmentReader>],
    ) -> Result<(u64, u64)> {
        let started = Instant::now();
        let manifest_guard = self.manifest.lock();
        let (schemas, tombstones, keys) = self.compaction_inputs(inputs);
        let header = SegmentHeader {
            partition_start_ns: partition,
            min_sequence: inputs
                .iter()
                .map(|s| s.footer().header.min_sequence)
                .min()
                .unwrap_or(0),
            max_sequence: inputs
                .iter()
                .map(|s| s.footer().header.max_sequence)
                .max()
                .unwrap_or(0),
        };
        let id = self.next_segment_id.fetch_add(1, Ordering::SeqCst);
        let path = self.paths.segment(partition, id);
        let mut writer = SegmentWriter::create(&path, header)?;
        for (series, measurement) in series_of(inputs) {
            let (Some(schema), Some(key)) = (schemas.get(&measurement), keys.get(&series)) else {
                if dropped(&tombstones, &measurement, series) {
                    continue; // its measurement was dropped: nothing of it survives
                }
                return Err(Error::Corrupt {
                    what: "segment",
                    path: path.clone(),
                    offset: 0,
                    reason: format!("series {series} of {measurement} is not in the series index"),
                });
            };
            let run = merged_series(inputs, series, schema, &tombstones)?;
            writer.add_series(schema, series, key, &run)?;
        }
        let footer = writer.finish()?;
        let rows_in: u64 = inputs.iter().map(|s| s.footer().rows).sum();
        let rows_out = footer.rows;
        let added = if rows_out == 0 {
            // Everything was deleted: the partition simply loses its segments.
            std::fs::remove_file(&path).map_err(Error::io("removing empty segment", &path))?;
            Vec::new()
        } else {
            vec![Arc::new(SegmentReader::open(&path, id)?)]
        };
        let removed: Vec<u64> = inputs.iter().map(|s| s.id()).collect();
        self.install(&manifest_guard, added, &removed, None)?;
        drop(manifest_guard);
        for input in inputs {
            if let Err(error) = std::fs::remove_file(input.path()) {
                tracing::warn!(path = %input.path().display(), %error, "removing compacted segment");
            }
        }
        tracing::info!(
            partition,
            segments_in = inputs.len(),
            rows_in,
            rows_out,
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "partition compacted"
        );
        Ok((rows_in, rows_out))
    }

    #[allow(clippy::type_complexity)]
    fn compaction_inputs(
        &self,
        inputs: &[Arc<SegmentReader>],
    ) -> (
        HashMap<String, MeasurementSchema>,
        Vec<Arc<Tombstone>>,
        HashMap<SeriesId, Arc<SeriesKey>>,
    ) {
        let state = self.state.lock();
        let mut keys = HashMap::new();
        for input in inputs {
            for (id, _) in input.series() {
                if let Some(entry) = state
                    .series
                    .ordinal_of(id)
                    .and_then(|o| state.series.entry(o))
                {
                    keys.insert(id, Arc::clone(&entry.key));
                }
            }
        }
        (
            state.schemas.clone(),
            state.version.tombstones.clone(),
            keys,
        )
    }
}

/// Whether a `DROP` of `measurement` hides every row of `series` (a tombstone over all time).
fn dropped(tombstones: &[Arc<Tombstone>], measurement: &str, series: SeriesId) -> bool {
    tombstones.iter().any(|tombstone| {
        tombstone.range == TimeRange::ALL
            && tombstone.measurement == measurement
            && tombstone.series.binary_search(&series).is_ok()
    })
}

/// Every series in the inputs with its measurement, in id order.
fn series_of(inputs: &[Arc<SegmentReader>]) -> BTreeMap<SeriesId, String> {
    inputs
        .iter()
        .flat_map(|input| {
            input
                .series()
                .map(|(id, m)| (id, m.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn merged_series(
    inputs: &[Arc<SegmentReader>],
    series: SeriesId,
    schema: &MeasurementSchema,
    tombstones: &[Arc<Tombstone>],
) -> Result<crate::run::Run> {
    let fields = all_fields(schema);
    let projection: Vec<_> = fields
        .iter()
        .zip(&schema.fields)
        .map(|((index, field_type), field)| (*index, field.name.as_str(), *field_type))
        .collect();
    let mut runs = Vec::with_capacity(inputs.len());
    let mut counts = ChunkCounts::default();
    for input in inputs {
        let read = input.read_series(
            series,
            &TimeRange::ALL,
            &projection,
            schema.fields.len(),
            ChunkFilter::default(),
            &mut counts,
        )?;
        if let Some(mut run) = read {
            apply_tombstones(
                &mut run,
                series,
                input.footer().header.max_sequence,
                tombstones,
            );
            runs.push(run);
        }
    }
    Ok(merge_runs(runs))
}
