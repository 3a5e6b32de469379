//! Opening the engine: lock the directory, load the manifest, drop leftovers of interrupted
//! flushes, open segments, load the series log, replay the WAL past the flushed sequence, and
//! start the background threads.

use std::collections::HashSet;
use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::{Engine, ManifestState, Paths, Shared, State};
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::options::StorageOptions;
use crate::segment::SegmentReader;
use crate::series_log::SeriesLog;
use crate::version::{Tombstone, Version};
use crate::wal::{Wal, WalOptions, WalSequence};
use crate::wal_record::WalRecord;

impl Engine {
    /// Opens (or creates) the store in `options.data_dir`, recovering from the WAL whatever
    /// was acknowledged but not yet flushed.
    pub fn open(options: StorageOptions) -> Result<Self> {
        validate_options(&options)?;
        let root = options.data_dir.clone();
        let paths = Paths::new(&root);
        for dir in [&root, &paths.segments] {
            std::fs::create_dir_all(dir).map_err(Error::io("creating directory", dir))?;
        }
        let lock_file = lock_directory(&paths)?;
        let manifest = Manifest::load(&paths.manifest)?;
        remove_leftovers(&paths, &manifest)?;
        let mut state = load_state(&paths, &manifest)?;
        let (series_log, logged) = SeriesLog::open(&paths.series_log)?;
        // The manifest's schemas already hold every logged series' tags; WAL replay adds the
        // rest.
        for (id, key) in logged {
            register_series(&mut state, id, key, &paths, false)?;
        }
        let wal_options = WalOptions {
            dir: paths.wal.clone(),
            durability: options.wal_durability,
            file_bytes_max: options.wal_file_bytes_max,
            next_sequence_min: sequence_floor(&manifest, &state).next(),
        };
        let mut replayed = 0u64;
        let mut replay = Replay::default();
        let wal = Wal::open(wal_options, &mut |sequence, payload| {
            replayed += 1;
            replay_record(&mut state, &paths, sequence, payload, &mut replay)
        })?;
        let series_log = finish_replay(&mut state, &paths, &replay, series_log)?;
        tracing::info!(
            data_dir = %root.display(),
            segments = state.version.segments.len(),
            series = state.series.len(),
            wal_records_replayed = replayed,
            memtable_points = state.active.points(),
            "storage engine opened"
        );
        let shared = Arc::new(Shared {
            options,
            paths,
            wal,
            state: Mutex::new(state),
            changed: Condvar::new(),
            manifest: Mutex::new(ManifestState { series_log }),
            compaction: Mutex::new(()),
            next_segment_id: AtomicU64::new(manifest.next_segment_id.max(1)),
            flushes: AtomicU64::new(0),
            shutting_down: AtomicBool::new(false),
            _lock_file: lock_file,
        });
        let threads = vec![
            spawn(
                "rusts-flush",
                Arc::clone(&shared),
                super::flush::flusher_loop,
            )?,
            spawn(
                "rusts-maintenance",
                Arc::clone(&shared),
                super::flush::maintenance_loop,
            )?,
        ];
        Ok(Self {
            shared,
            threads: Mutex::new(threads),
        })
    }
}

/// The highest sequence anything persisted carries. New sequences must exceed it even when
/// the WAL kept nothing (mode `none`), or an old tombstone would hide new rows.
fn sequence_floor(manifest: &Manifest, state: &State) -> WalSequence {
    let tombstones = manifest.tombstones.iter().map(|t| t.sequence.0);
    let segments = state
        .version
        .segments
        .iter()
        .map(|s| s.footer().header.max_sequence);
    let highest = tombstones.chain(segments).max().unwrap_or(0);
    WalSequence(highest.max(manifest.flushed_sequence.0))
}

fn validate_options(options: &StorageOptions) -> Result<()> {
    let invalid = |option, reason: &str| {
        Err(Error::InvalidOption {
            option,
            reason: reason.into(),
        })
    };
    if options.partition_duration < Duration::from_secs(1) {
        return invalid("partition_duration", "must be at least 1 s");
    }
    if i64::try_from(options.partition_duration.as_nanos()).is_err() {
        return invalid("partition_duration", "must be below 292 years");
    }
    if options.memtable_points_max == 0 || options.memtable_bytes_max == 0 {
        return invalid("memtable", "max_points and max_size must be positive");
    }
    if options.compaction_segments_min < 2 {
        return invalid("compaction_segments_min", "must be at least 2");
    }
    if options.maintenance_interval.is_zero() {
        return invalid("maintenance_interval", "must be positive");
    }
    Ok(())
}

fn spawn(
    name: &str,
    shared: Arc<Shared>,
    body: fn(Arc<Shared>),
) -> Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || body(shared))
        .map_err(Error::io("starting background thread", name))
}

/// Takes an exclusive lock on `LOCK`, so two processes never open one directory.
fn lock_directory(paths: &Paths) -> Result<File> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&paths.lock)
        .map_err(Error::io("opening lock file", &paths.lock))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::DirectoryLocked {
            path: paths.lock.clone(),
        }),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(Error::io("locking data directory", &paths.lock)(error))
        }
    }
}

/// Removes segment files the manifest does not name (a flush or compaction interrupted
/// before its manifest was written) and temporary files.
fn remove_leftovers(paths: &Paths, manifest: &Manifest) -> Result<()> {
    let live: HashSet<String> = manifest
        .segments
        .iter()
        .map(|s| {
            paths
                .segment(s.partition_start_ns, s.id)
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let partitions = std::fs::read_dir(&paths.segments)
        .map_err(Error::io("listing segments", &paths.segments))?;
    for partition in partitions {
        let partition = partition
            .map_err(Error::io("listing segments", &paths.segments))?
            .path();
        if !partition.is_dir() {
            continue;
        }
        let entries = std::fs::read_dir(&partition).map_err(Error::io("listing", &partition))?;
        let mut remaining = 0;
        for entry in entries {
            let path = entry.map_err(Error::io("listing", &partition))?.path();
            if live.contains(path.to_string_lossy().as_ref()) {
                remaining += 1;
                continue;
            }
            tracing::warn!(path = %path.display(), "removing segment file the manifest does not name");
            std::fs::remove_file(&path).map_err(Error::io("removing leftover", &path))?;
        }
        if remaining == 0 {
            std::fs::remove_dir(&partition).map_err(Error::io("removing directory", &partition))?;
        }
    }
    Ok(())
}

fn load_state(paths: &Paths, manifest: &Manifest) -> Result<State> {
    let mut segments = Vec::with_capacity(manifest.segments.len());
    for entry in &manifest.segments {
        let path = paths.segment(entry.partition_start_ns, entry.id);
        segments.push(Arc::new(SegmentReader::open(&path, entry.id)?));
    }
    let schemas = manifest
        .schemas
        .iter()
        .map(|s| (s.name.clone(), s.clone()))
        .collect();
    Ok(State {
        schemas,
        version: Arc::new(Version::new(segments, manifest.tombstones.clone())),
        flushed: manifest.flushed_sequence,
        tables: super::tables::load_tables(paths, manifest.flushed_sequence)?,
        ..State::default()
    })
}

/// Adds a series to the series and tag indexes, and its tag keys to its measurement's schema
/// when `extend_schema` (WAL records newer than the manifest).
fn register_series(
    state: &mut State,
    id: crate::series::SeriesId,
    key: crate::series::SeriesKey,
    paths: &Paths,
    extend_schema: bool,
) -> Result<()> {
    let measurement = key.measurement.clone();
    let ordinal = state
        .series
        .insert_known(id, key)
        .map_err(|conflict| Error::Corrupt {
            what: "series index",
            path: paths.series_log.clone(),
            offset: 0,
            reason: format!(
                "series id {} belongs to {:?} and {:?}",
                conflict.id, conflict.existing, conflict.offered
            ),
        })?;
    let entry = state.series.entry(ordinal).expect("just inserted");
    let key = Arc::clone(&entry.key);
    state.tags.insert(ordinal, &key);
    if !extend_schema {
        return Ok(());
    }
    let schema = state
        .schemas
        .entry(measurement.clone())
        .or_insert_with(|| crate::schema::MeasurementSchema::new(&measurement));
    key.tags.iter().for_each(|(tag, _)| schema.ensure_tag(tag));
    Ok(())
}

/// After replay: parked points no drop removed are corruption; after a replayed drop the
/// series log is rewritten from the live series (it may still hold dropped ones).
fn finish_replay(
    state: &mut State,
    paths: &Paths,
    replay: &Replay,
    mut series_log: SeriesLog,
) -> Result<SeriesLog> {
    if let Some((series, sequence)) = replay.parked.iter().next() {
        let reason = replay
            .conflicts
            .get(series)
            .cloned()
            .unwrap_or_else(|| format!("point of unknown series {series}"));
        return Err(Error::Corrupt {
            what: "WAL record",
            path: paths.wal.clone(),
            offset: sequence.0,
            reason,
        });
    }
    if replay.dropped {
        let live = state.series.live();
        let refs: Vec<_> = live.iter().map(|(id, key)| (*id, key.as_ref())).collect();
        series_log.rewrite(&refs)?;
        state.unpersisted_series.clear();
    }
    Ok(series_log)
}

/// What replay carries from record to record.
#[derive(Debug, Default)]
struct Replay {
    /// A drop was replayed: the series log may hold dropped series.
    dropped: bool,
    /// Series whose points were replayed before they were known, with the first sequence. A
    /// drop rewrites the series log without its series while older WAL records may still
    /// hold their points; a later drop record in the WAL names them, and those points are
    /// gone with it. Any left at the end is corruption.
    parked: hashbrown::HashMap<crate::series::SeriesId, WalSequence>,
    /// For parked series whose point conflicted with the schema, the conflict.
    conflicts: hashbrown::HashMap<crate::series::SeriesId, String>,
}

/// Why a replayed point could not be applied.
enum PointProblem {
    TypeConflict(String),
    Other(String),
}

fn replay_record(
    state: &mut State,
    paths: &Paths,
    sequence: WalSequence,
    payload: &[u8],
    replay: &mut Replay,
) -> Result<()> {
    let corrupt = |reason: String| Error::Corrupt {
        what: "WAL record",
        path: paths.wal.clone(),
        offset: sequence.0,
        reason,
    };
    let record = WalRecord::decode(payload).map_err(|error| corrupt(error.0))?;
    match record {
        WalRecord::Write { new_series, points } => {
            for (id, key) in new_series {
                let known = state.series.ordinal_of(id).is_some();
                register_series(state, id, key, paths, sequence > state.flushed)?;
                if !known {
                    let ordinal = state.series.ordinal_of(id).expect("registered");
                    state.unpersisted_series.push(ordinal);
                }
            }
            if sequence <= state.flushed {
                return Ok(());
            }
            replay_points(state, sequence, points, replay).map_err(corrupt)?;
        }
        WalRecord::Delete {
            measurement,
            series,
            range,
        } => {
            if sequence <= state.flushed {
                return Ok(());
            }
            state.active.delete(&series, &range);
            replay_tombstone(state, sequence, measurement, series, range);
        }
        WalRecord::Define {
            measurement,
            tag_keys,
            fields,
        } => {
            if sequence > state.flushed {
                let schema = state
                    .schemas
                    .entry(measurement.clone())
                    .or_insert_with(|| crate::schema::MeasurementSchema::new(&measurement));
                super::ddl::apply_definition(schema, &tag_keys, &fields);
            }
        }
        WalRecord::Drop {
            measurement,
            series,
        } => {
            for id in &series {
                replay.parked.remove(id);
                replay.conflicts.remove(id);
            }
            replay.dropped = true;
            replay_drop(state, sequence, measurement, series);
        }
        WalRecord::Table(record) => {
            if sequence > state.flushed {
                super::tables::replay_table_record(state, record)
                    .map_err(|error| corrupt(error.to_string()))?;
            }
        }
    }
    Ok(())
}

/// Applies the points of a write record newer than the manifest, parking those a later drop
/// may explain (see [`Replay::parked`]).
fn replay_points(
    state: &mut State,
    sequence: WalSequence,
    points: Vec<crate::wal_record::WalPoint>,
    replay: &mut Replay,
) -> std::result::Result<(), String> {
    for point in points {
        let series = point.series;
        if state.series.ordinal_of(series).is_none() {
            replay.parked.entry(series).or_insert(sequence);
            continue;
        }
        match replay_point(state, sequence, point) {
            Ok(()) => {}
            // The manifest may already hold the schema of a later generation of the
            // measurement (written after a drop): a drop further on names this series, or
            // the conflict is real corruption.
            Err(PointProblem::TypeConflict(reason)) => {
                replay.parked.entry(series).or_insert(sequence);
                replay.conflicts.entry(series).or_insert(reason);
            }
            Err(PointProblem::Other(reason)) => return Err(reason),
        }
    }
    Ok(())
}

/// The dropped series leave the indexes whatever the sequence (they were registered again by
/// the series log or older WAL records); the schema, memtable rows and tombstone only when
/// the manifest predates the drop.
fn replay_drop(
    state: &mut State,
    sequence: WalSequence,
    measurement: String,
    series: Vec<crate::series::SeriesId>,
) {
    if sequence <= state.flushed {
        state.tags.remove_measurement(&measurement);
        for id in &series {
            state.series.remove(*id);
        }
        return;
    }
    super::ddl::forget_measurement(state, &measurement, &series);
    replay_tombstone(
        state,
        sequence,
        measurement,
        series,
        crate::predicate::TimeRange::ALL,
    );
}

/// Adds the tombstone of a replayed delete or drop, unless the manifest already has it.
fn replay_tombstone(
    state: &mut State,
    sequence: WalSequence,
    measurement: String,
    mut series: Vec<crate::series::SeriesId>,
    range: crate::predicate::TimeRange,
) {
    if state
        .version
        .tombstones
        .iter()
        .any(|t| t.sequence == sequence)
    {
        return;
    }
    series.sort_unstable();
    let mut tombstones = state.version.tombstones.clone();
    tombstones.push(Arc::new(Tombstone {
        sequence,
        measurement,
        series,
        range,
    }));
    state.version = Arc::new(Version::new(state.version.segments.clone(), tombstones));
}

fn replay_point(
    state: &mut State,
    sequence: WalSequence,
    point: crate::wal_record::WalPoint,
) -> std::result::Result<(), PointProblem> {
    let ordinal = state
        .series
        .ordinal_of(point.series)
        .ok_or_else(|| PointProblem::Other(format!("point of unknown series {}", point.series)))?;
    let key = Arc::clone(&state.series.entry(ordinal).expect("ordinal from index").key);
    let schema = state
        .schemas
        .entry(key.measurement.clone())
        .or_insert_with(|| crate::schema::MeasurementSchema::new(&key.measurement));
    let mut fields = Vec::with_capacity(point.fields.len());
    for (name, value) in point.fields {
        schema
            .check_field(&name, value.field_type())
            .map_err(|error| PointProblem::TypeConflict(error.to_string()))?;
        fields.push((schema.ensure_field(&name, value.field_type()), value));
    }
    state.active.insert(
        point.series,
        &key,
        point.timestamp_ns,
        fields.iter().map(|(index, value)| (*index, value.as_ref())),
        sequence,
    );
    Ok(())
}
