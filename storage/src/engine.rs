//! The [`Engine`]: the storage engine's one entry point. It owns the WAL, the memtables, the
//! live segments (a [`Version`]), the series and tag indexes, and two background threads: the
//! flusher (frozen memtable → segments → manifest → WAL truncation) and maintenance (age
//! trigger, compaction). See `wal/README.md` for the whole write path drawn out.
//!
//! Locking: `state` (a mutex) guards memory; writers hold it only to validate against the
//! schema, append to the WAL buffer and insert into the memtable, then wait for durability
//! outside it. `manifest` serialises the writers of the manifest (flush, compaction, close);
//! `compaction` serialises compaction passes. The order is `compaction`, `manifest`, `state`.

mod compaction;
mod ddl;
mod flush;
mod open;
mod tables;
mod write;

use std::collections::VecDeque;

use hashbrown::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};
use crate::estimate::{EstimateInput, ScanEstimate};
use crate::memtable::Memtable;
use crate::options::StorageOptions;
use crate::predicate::Predicate;
use crate::scan::{MemtableSource, Scan, ScanRequest, ScanSnapshot};
use crate::schema::MeasurementSchema;
use crate::series::{SeriesIndex, SeriesOrdinal};
use crate::series_log::SeriesLog;
use crate::table::Tables;
use crate::tag_index::TagIndex;
use crate::version::Version;
use crate::wal::{Wal, WalSequence};

pub use compaction::CompactionSummary;
pub use write::{DeleteSummary, PartialWrite, WriteSummary};

/// Where everything lives under the data directory.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub(crate) root: PathBuf,
    pub(crate) wal: PathBuf,
    pub(crate) segments: PathBuf,
    pub(crate) manifest: PathBuf,
    pub(crate) series_log: PathBuf,
    pub(crate) lock: PathBuf,
}

impl Paths {
    fn new(root: &std::path::Path) -> Self {
        Self {
            root: root.to_path_buf(),
            wal: root.join("wal"),
            segments: root.join("segments"),
            manifest: root.join("MANIFEST"),
            series_log: root.join("series.log"),
            lock: root.join("LOCK"),
        }
    }

    /// The plain-table snapshot of WAL position `sequence`.
    pub(crate) fn tables_snapshot(&self, sequence: WalSequence) -> PathBuf {
        self.root.join(format!("tables-{}.snap", sequence.0))
    }

    /// Every plain-table snapshot file, with its WAL position.
    pub(crate) fn tables_snapshots(&self) -> Vec<(WalSequence, PathBuf)> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        entries
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let name = entry.file_name();
                let sequence = name
                    .to_str()?
                    .strip_prefix("tables-")?
                    .strip_suffix(".snap")?
                    .parse::<u64>()
                    .ok()?;
                Some((WalSequence(sequence), entry.path()))
            })
            .collect()
    }

    pub(crate) fn partition_dir(&self, partition_start_ns: i64) -> PathBuf {
        self.segments.join(format!("p{partition_start_ns}"))
    }

    pub(crate) fn segment(&self, partition_start_ns: i64, id: u64) -> PathBuf {
        self.partition_dir(partition_start_ns)
            .join(crate::segment::file_name(id))
    }
}

/// A memtable waiting for its flush, with the WAL position that covers it.
#[derive(Debug, Clone)]
pub(crate) struct Frozen {
    pub(crate) memtable: Arc<Memtable>,
    /// Every record of this memtable (and older ones) has a sequence <= this.
    pub(crate) boundary: WalSequence,
    /// The plain tables as of `boundary`.
    pub(crate) tables: Tables,
}

/// Everything in memory, behind one mutex.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) schemas: HashMap<String, MeasurementSchema>,
    pub(crate) series: SeriesIndex,
    pub(crate) tags: TagIndex,
    /// Series created since the series log was last appended to.
    pub(crate) unpersisted_series: Vec<SeriesOrdinal>,
    pub(crate) active: Memtable,
    pub(crate) frozen: VecDeque<Frozen>,
    pub(crate) version: Arc<Version>,
    pub(crate) flushed: WalSequence,
    /// Plain tables and the catalog's bytes.
    pub(crate) tables: Tables,
    /// The last background failure, reported by `stats` and logged.
    pub(crate) background_error: Option<String>,
    /// Set while the oldest frozen memtable fails to flush; waiters report it.
    pub(crate) flush_error: Option<String>,
}

/// What the manifest writers share.
#[derive(Debug)]
pub(crate) struct ManifestState {
    pub(crate) series_log: SeriesLog,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) options: StorageOptions,
    pub(crate) paths: Paths,
    pub(crate) wal: Wal,
    pub(crate) state: Mutex<State>,
    /// Signalled when a memtable is frozen, a flush completes, or shutdown begins.
    pub(crate) changed: Condvar,
    pub(crate) manifest: Mutex<ManifestState>,
    /// Held for a whole compaction pass (maintenance thread or [`Engine::compact`]).
    pub(crate) compaction: Mutex<()>,
    pub(crate) next_segment_id: AtomicU64,
    /// Memtable flushes completed since open.
    pub(crate) flushes: AtomicU64,
    pub(crate) shutting_down: AtomicBool,
    /// Held (with an exclusive `flock`) for the engine's lifetime.
    pub(crate) _lock_file: File,
}

/// Counters describing the engine now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Distinct series.
    pub series: u64,
    /// Measurements.
    pub measurements: u64,
    /// Points in the active memtable.
    pub memtable_points: u64,
    /// Estimated bytes of the active memtable.
    pub memtable_bytes: u64,
    /// Memtables frozen and waiting for their flush.
    pub frozen_memtables: u64,
    /// Live segments.
    pub segments: u64,
    /// Bytes of live segment files.
    pub segment_bytes: u64,
    /// Rows in live segments (before read-time merging).
    pub segment_rows: u64,
    /// Time partitions with segments.
    pub partitions: u64,
    /// Tombstones still applied at read time.
    pub tombstones: u64,
    /// Every WAL record up to this sequence is in segments.
    pub flushed_sequence: u64,
    /// Highest WAL sequence known fsynced.
    pub wal_synced_sequence: u64,
    /// The sequence the next WAL record will get.
    pub wal_next_sequence: u64,
    /// WAL fsyncs since open.
    pub wal_syncs: u64,
    /// Memtable flushes since open.
    pub flushes: u64,
    /// Hash collisions resolved when assigning series ids.
    pub series_collisions_resolved: u64,
    /// The last background failure, if any.
    pub background_error: Option<String>,
}

/// The storage engine. Cheap to share behind an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct Engine {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Engine {
    /// Reads every column of `request.measurement` matching its predicate. The scan sees the
    /// data acknowledged before this call; it holds no lock while it is iterated.
    pub fn scan(&self, request: &ScanRequest) -> Result<Scan> {
        let snapshot = {
            let state = self.shared.state.lock();
            snapshot_for_scan(&state, request)?
        };
        Scan::new(request, snapshot)
    }

    /// How much a scan of `measurement` under `predicate` would read, from metadata only
    /// (see [`ScanEstimate`]); for the query planner.
    pub fn estimate(&self, measurement: &str, predicate: &Predicate) -> Result<ScanEstimate> {
        let input = {
            let state = self.shared.state.lock();
            EstimateInput::capture(&state, measurement, predicate)?
        };
        Ok(input.estimate(&predicate.time_range))
    }

    /// The schema of a measurement, if it exists.
    pub fn schema(&self, measurement: &str) -> Option<MeasurementSchema> {
        self.shared.state.lock().schemas.get(measurement).cloned()
    }

    /// Names of all measurements, sorted.
    pub fn measurements(&self) -> Vec<String> {
        let mut names: Vec<String> = self.shared.state.lock().schemas.keys().cloned().collect();
        names.sort_unstable();
        names
    }

    /// Distinct values of a tag of a measurement, sorted.
    pub fn tag_values(&self, measurement: &str, key: &str) -> Vec<String> {
        self.shared.state.lock().tags.tag_values(measurement, key)
    }

    /// Counters describing the engine now.
    pub fn stats(&self) -> EngineStats {
        let state = self.shared.state.lock();
        let version = &state.version;
        EngineStats {
            series: state.series.len() as u64,
            measurements: state.schemas.len() as u64,
            memtable_points: state.active.points(),
            memtable_bytes: state.active.bytes(),
            frozen_memtables: state.frozen.len() as u64,
            segments: version.segments.len() as u64,
            segment_bytes: version.segments.iter().map(|s| s.bytes()).sum(),
            segment_rows: version.segments.iter().map(|s| s.footer().rows).sum(),
            partitions: version.partitions().len() as u64,
            tombstones: version.tombstones.len() as u64,
            flushed_sequence: state.flushed.0,
            wal_synced_sequence: self.shared.wal.synced_sequence().0,
            wal_next_sequence: self.shared.wal.next_sequence().0,
            wal_syncs: self.shared.wal.fsyncs(),
            flushes: self.shared.flushes.load(Ordering::Relaxed),
            series_collisions_resolved: state.series.collisions_resolved(),
            background_error: state.background_error.clone(),
        }
    }

    /// Bytes on disk per measurement and column, over the live segments.
    pub fn disk_usage(&self) -> crate::disk_usage::DiskUsage {
        let version = Arc::clone(&self.shared.state.lock().version);
        crate::disk_usage::disk_usage(&version.segments)
    }

    /// Flushes everything in memory to segments, waits for it, and writes the manifest (so
    /// tombstones of deletes are persisted even when nothing else changed). Used by close,
    /// tests and tools; the engine flushes by itself when a trigger fires.
    pub fn flush(&self) -> Result<()> {
        self.check_open()?;
        {
            let mut state = self.shared.state.lock();
            self.shared.freeze(&mut state)?;
        }
        self.shared.wait_for_flushes()?;
        let mut manifest_guard = self.shared.manifest.lock();
        self.shared.persist_new_series(&mut manifest_guard)?;
        // With nothing in memory, every WAL record is in segments or the manifest (deletes):
        // advance the flushed sequence to the head so the WAL can be truncated.
        let idle_boundary = {
            let state = self.shared.state.lock();
            if state.active.is_empty() && state.frozen.is_empty() {
                Some((self.shared.wal.rotate()?, state.tables.clone()))
            } else {
                None
            }
        };
        if let Some((boundary, tables)) = &idle_boundary {
            self.shared.write_tables_snapshot(*boundary, tables)?;
        }
        let idle_boundary = idle_boundary.map(|(boundary, _)| boundary);
        self.shared.install(
            &manifest_guard,
            Vec::new(),
            &[],
            idle_boundary.map(|b| (b, false)),
        )?;
        drop(manifest_guard);
        if let Some(boundary) = idle_boundary {
            self.shared.remove_old_snapshots(boundary);
            self.shared.wal.remove_through(boundary)?;
        }
        Ok(())
    }

    /// Stops background work, flushes the memtable and closes the WAL. Data acknowledged
    /// before is durable; later calls fail with [`Error::ShuttingDown`].
    pub fn close(self) -> Result<()> {
        let flushed = self.flush();
        self.stop_threads();
        let closed = self.shared.wal.close();
        flushed.and(closed)
    }

    fn stop_threads(&self) {
        self.shared.shutting_down.store(true, Ordering::SeqCst);
        {
            let _state = self.shared.state.lock();
            self.shared.changed.notify_all();
        }
        for thread in self.threads.lock().drain(..) {
            if thread.join().is_err() {
                tracing::error!("a storage background thread panicked");
            }
        }
    }

    /// Resolves `predicate` for a delete or a scan: the series of `measurement` it selects.
    fn check_open(&self) -> Result<()> {
        if self.shared.shutting_down.load(Ordering::SeqCst) {
            return Err(Error::ShuttingDown);
        }
        Ok(())
    }
}

impl Drop for Engine {
    /// Stops the background threads without flushing: the WAL holds everything acknowledged.
    fn drop(&mut self) {
        self.stop_threads();
    }
}

fn snapshot_for_scan(state: &State, request: &ScanRequest) -> Result<ScanSnapshot> {
    let schema = state
        .schemas
        .get(&request.measurement)
        .cloned()
        .ok_or_else(|| Error::UnknownMeasurement {
            measurement: request.measurement.clone(),
        })?;
    let mut series = select_series(state, &request.measurement, &request.predicate)?;
    if request.shard != crate::scan::Shard::ALL {
        let mut position = 0;
        series.retain(|_| {
            position += 1;
            request.shard.holds(position - 1)
        });
    }
    let series_total = state.tags.select(&request.measurement, &[])?.len();
    let range = request.predicate.time_range;
    // The active memtable keeps changing after the lock is released: copy the selected
    // series' rows now, only the projected fields.
    let projection = crate::scan::field_projection(&schema, request.projection.as_deref())?;
    let width = schema.fields.len();
    let mut active_runs = HashMap::new();
    for (id, _) in &series {
        if let Some(rows) = state.active.series(*id) {
            let run = rows.to_run(&range, &projection, width);
            if !run.is_empty() {
                active_runs.insert(*id, run);
            }
        }
    }
    let frozen = state
        .frozen
        .iter()
        .map(|frozen| MemtableSource {
            memtable: Arc::clone(&frozen.memtable),
            max_sequence: frozen.memtable.max_sequence().0,
        })
        .collect();
    Ok(ScanSnapshot {
        schema,
        series,
        series_total,
        segments: state.version.segments.clone(),
        frozen,
        active_runs,
        tombstones: state.version.tombstones.clone(),
    })
}

/// The series of `measurement` selected by the tag predicates, in id order.
pub(crate) fn select_series(
    state: &State,
    measurement: &str,
    predicate: &Predicate,
) -> Result<Vec<(crate::series::SeriesId, Arc<crate::series::SeriesKey>)>> {
    let ordinals = state.tags.select(measurement, &predicate.tags)?;
    let mut series: Vec<_> = ordinals
        .iter()
        .filter_map(|ordinal| state.series.entry(ordinal))
        .map(|entry| (entry.id, Arc::clone(&entry.key)))
        .collect();
    series.sort_unstable_by_key(|(id, _)| *id);
    Ok(series)
}

#[cfg(test)]
mod tests;
