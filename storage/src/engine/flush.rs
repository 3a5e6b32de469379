//! The flusher and maintenance threads.
//!
//! Flush of the oldest frozen memtable: persist new series to the series log → write one
//! segment per time partition (temporary name, fsync, rename) → write the manifest naming them
//! with the memtable's WAL boundary as the flushed sequence → swap the version in memory and
//! drop the frozen memtable → remove WAL files up to the boundary. A crash between any two
//! steps leaves either the old manifest (segments are leftovers, the WAL replays) or the new
//! one (the WAL records up to the boundary are skipped on replay).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Frozen, Shared};
use crate::error::{Error, Result};
use crate::manifest::{Manifest, SegmentEntry};
use crate::memtable::{Memtable, SeriesRows};
use crate::predicate::TimeRange;
use crate::schema::{FieldIndex, FieldType, MeasurementSchema};
use crate::segment::{SegmentHeader, SegmentReader, SegmentWriter};
use crate::series::{SeriesId, SeriesKey};
use crate::version::Version;
use crate::wal::WalSequence;

/// A series with rows in a partition: its id and its position in the flush's series list.
type PartitionMember = (SeriesId, usize);

/// Wait between retries of a failed flush (the data is safe in the WAL meanwhile).
const FLUSH_RETRY_DELAY: Duration = Duration::from_secs(1);

pub(crate) fn flusher_loop(shared: Arc<Shared>) {
    loop {
        let job = {
            let mut state = shared.state.lock();
            loop {
                if shared.shutting_down.load(Ordering::SeqCst) {
                    return;
                }
                if let Some(frozen) = state.frozen.front() {
                    break frozen.clone();
                }
                shared.changed.wait(&mut state);
            }
        };
        if let Err(error) = shared.flush_frozen(&job) {
            tracing::error!(error = %error, "memtable flush failed; retrying");
            {
                let mut state = shared.state.lock();
                state.background_error = Some(error.to_string());
                state.flush_error = Some(error.to_string());
                shared.changed.notify_all();
            }
            std::thread::sleep(FLUSH_RETRY_DELAY);
        }
    }
}

pub(crate) fn maintenance_loop(shared: Arc<Shared>) {
    let interval = shared.options.maintenance_interval;
    loop {
        {
            let mut state = shared.state.lock();
            if !shared.shutting_down.load(Ordering::SeqCst) {
                shared.changed.wait_for(&mut state, interval);
            }
            if shared.shutting_down.load(Ordering::SeqCst) {
                return;
            }
            let aged = state
                .active
                .first_write()
                .is_some_and(|first| first.elapsed() >= shared.options.memtable_age_max);
            if aged && let Err(error) = shared.freeze(&mut state) {
                tracing::error!(error = %error, "freezing aged memtable failed");
            }
        }
        if let Err(error) = shared.compact_due_partitions() {
            tracing::error!(error = %error, "compaction failed");
            shared.state.lock().background_error = Some(error.to_string());
        }
    }
}

impl Shared {
    /// Blocks until no frozen memtable is waiting, or reports the flush failure that keeps
    /// one waiting (so `close` cannot hang on a full disk).
    pub(crate) fn wait_for_flushes(&self) -> Result<()> {
        let mut state = self.state.lock();
        state.flush_error = None;
        while !state.frozen.is_empty() {
            if self.shutting_down.load(Ordering::SeqCst) {
                return Err(Error::ShuttingDown);
            }
            if let Some(reason) = state.flush_error.take() {
                return Err(Error::FlushFailed { reason });
            }
            self.changed.wait(&mut state);
        }
        Ok(())
    }

    fn flush_frozen(&self, frozen: &Frozen) -> Result<()> {
        let started = Instant::now();
        let mut manifest_guard = self.manifest.lock();
        self.persist_new_series(&mut manifest_guard)?;
        let schemas = self.state.lock().schemas.clone();
        let segments = self.write_memtable(&frozen.memtable, &schemas)?;
        let rows: u64 = segments.iter().map(|s| s.footer().rows).sum();
        let count = segments.len();
        self.write_tables_snapshot(frozen.boundary, &frozen.tables)?;
        self.install(
            &manifest_guard,
            segments,
            &[],
            Some((frozen.boundary, true)),
        )?;
        drop(manifest_guard);
        self.remove_old_snapshots(frozen.boundary);
        self.flushes.fetch_add(1, Ordering::Relaxed);
        let removed = self.wal.remove_through(frozen.boundary)?;
        tracing::info!(
            rows,
            segments = count,
            wal_files_removed = removed,
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "memtable flushed"
        );
        Ok(())
    }

    /// Appends series created since the last call to the series log (fsynced). Must run
    /// before the flushed sequence advances past the WAL records that define them.
    pub(crate) fn persist_new_series(&self, manifest: &mut super::ManifestState) -> Result<()> {
        let pending: Vec<(SeriesId, Arc<SeriesKey>)> = {
            let state = self.state.lock();
            state
                .unpersisted_series
                .iter()
                .filter_map(|ordinal| state.series.entry(*ordinal))
                .map(|entry| (entry.id, Arc::clone(&entry.key)))
                .collect()
        };
        let refs: Vec<(SeriesId, &SeriesKey)> = pending
            .iter()
            .map(|(id, key)| (*id, key.as_ref()))
            .collect();
        manifest.series_log.append(&refs)?;
        // Only this function drains, under the manifest lock, so the first entries are ours.
        self.state.lock().unpersisted_series.drain(..pending.len());
        Ok(())
    }

    fn write_memtable(
        &self,
        memtable: &Memtable,
        schemas: &hashbrown::HashMap<String, MeasurementSchema>,
    ) -> Result<Vec<Arc<SegmentReader>>> {
        let duration_ns =
            i64::try_from(self.options.partition_duration.as_nanos()).expect("validated at open");
        // Each series is cut into partitions by slicing (or, for rows written out of order,
        // sorting) its columns one partition at a time, so the flush holds at most one
        // series-partition's copy beyond the frozen memtable itself.
        let series: Vec<(SeriesId, &SeriesRows)> = memtable
            .all_series()
            .map(|(id, rows)| (*id, rows))
            .collect();
        let mut partitions: BTreeMap<i64, Vec<PartitionMember>> = BTreeMap::new();
        for (position, (id, rows)) in series.iter().enumerate() {
            for start in rows.partition_starts(duration_ns) {
                partitions.entry(start).or_default().push((*id, position));
            }
        }
        let sequence = memtable.max_sequence().0;
        let mut segments = Vec::with_capacity(partitions.len());
        for (start, mut members) in partitions {
            members.sort_unstable_by_key(|(id, _)| *id);
            let header = SegmentHeader {
                partition_start_ns: start,
                min_sequence: sequence,
                max_sequence: sequence,
            };
            let id = self.next_segment_id.fetch_add(1, Ordering::SeqCst);
            let path = self.paths.segment(start, id);
            let dir = self.paths.partition_dir(start);
            std::fs::create_dir_all(&dir)
                .map_err(Error::io("creating partition directory", &dir))?;
            crate::fs::sync_parent(&dir)?;
            let mut writer = SegmentWriter::create(&path, header)?;
            let range = TimeRange::new(start, start.saturating_add(duration_ns - 1));
            for (series_id, position) in &members {
                let Some((_, rows)) = series.get(*position) else {
                    continue;
                };
                let Some(schema) = schemas.get(&rows.key.measurement) else {
                    continue;
                };
                let run = rows.to_run(&range, &all_fields(schema), schema.fields.len());
                writer.add_series(schema, *series_id, &rows.key, &run)?;
            }
            writer.finish()?;
            segments.push(Arc::new(SegmentReader::open(&path, id)?));
        }
        Ok(segments)
    }

    /// Writes a manifest with `added` segments in and `removed` ones out, then swaps the
    /// in-memory version. `flushed` advances the flushed sequence; its flag says the added
    /// segments hold the oldest frozen memtable, which is then dropped. The caller holds the
    /// manifest lock.
    pub(crate) fn install(
        &self,
        _manifest_guard: &super::ManifestState,
        added: Vec<Arc<SegmentReader>>,
        removed: &[u64],
        flushed: Option<(WalSequence, bool)>,
    ) -> Result<()> {
        let pop_frozen = flushed.is_some_and(|(_, pop)| pop);
        let flushed = flushed.map(|(boundary, _)| boundary);
        let (manifest, dropped_tombstones) = {
            let state = self.state.lock();
            self.next_manifest(&state, &added, removed, flushed, pop_frozen)
        };
        manifest.store(&self.paths.manifest)?;
        let mut state = self.state.lock();
        let segments = surviving_segments(&state.version, removed)
            .chain(added)
            .collect();
        let tombstones = state
            .version
            .tombstones
            .iter()
            .filter(|t| !dropped_tombstones.contains(&t.sequence))
            .map(Arc::clone)
            .collect();
        state.version = Arc::new(Version::new(segments, tombstones));
        if let Some(boundary) = flushed {
            if pop_frozen {
                state.flush_error = None;
                let front = state.frozen.pop_front();
                debug_assert!(front.is_some_and(|f| f.boundary == boundary));
            }
            state.flushed = state.flushed.max(boundary);
        }
        state.background_error = None;
        self.changed.notify_all();
        Ok(())
    }

    /// The manifest after a change, and the tombstones it no longer needs.
    fn next_manifest(
        &self,
        state: &super::State,
        added: &[Arc<SegmentReader>],
        removed: &[u64],
        flushed: Option<WalSequence>,
        pop_frozen: bool,
    ) -> (Manifest, HashSet<WalSequence>) {
        let segments = surviving_segments(&state.version, removed)
            .chain(added.iter().map(Arc::clone))
            .collect();
        let flushed_sequence = flushed.unwrap_or(state.flushed).max(state.flushed);
        let candidate = Version::new(segments, state.version.tombstones.clone());
        // The frozen memtable a flush wrote (the front) is gone once its segments are in.
        let frozen: Vec<u64> = state
            .frozen
            .iter()
            .skip(usize::from(pop_frozen))
            .map(|f| f.memtable.max_sequence().0)
            .collect();
        let live = candidate.live_tombstones(&frozen);
        let live_sequences: HashSet<WalSequence> = live.iter().map(|t| t.sequence).collect();
        let dropped = state
            .version
            .tombstones
            .iter()
            .map(|t| t.sequence)
            .filter(|s| !live_sequences.contains(s))
            .collect();
        let mut schemas: Vec<MeasurementSchema> = state.schemas.values().cloned().collect();
        schemas.sort_by(|a, b| a.name.cmp(&b.name));
        let entries = candidate
            .segments
            .iter()
            .map(|s| SegmentEntry {
                id: s.id(),
                partition_start_ns: s.footer().header.partition_start_ns,
            })
            .collect();
        let manifest = Manifest {
            next_segment_id: self.next_segment_id.load(Ordering::SeqCst),
            flushed_sequence,
            schemas,
            segments: entries,
            tombstones: live,
        };
        (manifest, dropped)
    }
}

fn surviving_segments<'a>(
    version: &'a Version,
    removed: &'a [u64],
) -> impl Iterator<Item = Arc<SegmentReader>> + 'a {
    version
        .segments
        .iter()
        .filter(move |s| !removed.contains(&s.id()))
        .map(Arc::clone)
}

/// Every field of a measurement, for flush and compaction.
pub(crate) fn all_fields(schema: &MeasurementSchema) -> Vec<(FieldIndex, FieldType)> {
    schema
        .fields
        .iter()
        .enumerate()
        .map(|(index, field)| {
            (
                FieldIndex::try_from(index).unwrap_or(FieldIndex::MAX),
                field.field_type,
            )
        })
        .collect()
}
