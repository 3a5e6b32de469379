//! The write path: validate the whole batch, then (under the state lock) assign series, append
//! one WAL record and insert into the memtable, then wait for the durability the WAL mode
//! promises before acknowledging. Nothing after the WAL append can fail, so a batch is either
//! wholly acknowledged or not at all.

use hashbrown::HashMap;
use std::sync::Arc;

use parking_lot::MutexGuard;

use super::{Engine, Frozen, Shared, State, select_series};
use crate::batch::{PointBatch, PointView};
use crate::error::{Error, Result};
use crate::limits::FROZEN_MEMTABLES_MAX;
use crate::point::{Point, validate};
use crate::predicate::Predicate;
use crate::schema::{FieldIndex, FieldType, MeasurementSchema};
use crate::series::{SeriesId, SeriesKey, SeriesKeyRef};
use crate::version::{Tombstone, Version};
use crate::wal::WalSequence;
use crate::wal_record::{WriteRecordEncoder, encode_delete};

/// What a write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Points written.
    pub points: u64,
    /// Series created by this write.
    pub new_series: u64,
    /// The WAL sequence of the batch.
    pub sequence: WalSequence,
}

/// What a delete did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeleteSummary {
    /// Series the predicate selected.
    pub series: u64,
    /// Rows removed from the memtable (rows in segments are hidden by a tombstone and
    /// removed by compaction).
    pub memtable_rows: u64,
    /// The WAL sequence of the delete.
    pub sequence: WalSequence,
}

impl Engine {
    /// Writes a batch of points. Every point is checked first (names, limits, field types
    /// against the measurement and within the batch); one bad point refuses the whole batch
    /// and nothing is written. Returns once the batch is as durable as the WAL mode promises.
    pub fn write(&self, points: &[Point]) -> Result<WriteSummary> {
        self.write_batch(&PointBatch::from_points(points)?)
    }

    /// [`Self::write`] for a packed batch.
    pub fn write_batch(&self, batch: &PointBatch) -> Result<WriteSummary> {
        self.check_open()?;
        if batch.is_empty() {
            return Ok(WriteSummary::default());
        }
        let mut names = Vec::new();
        let points: Vec<PointView<'_>> = batch.iter().collect();
        points
            .iter()
            .try_for_each(|point| validate(point, &mut names))?;
        let mut state = self.shared.lock_for_write()?;
        let mut batch_types = HashMap::new();
        points
            .iter()
            .try_for_each(|point| check_point_types(&state.schemas, &mut batch_types, point))?;
        let (summary, freeze) = apply_write(&self.shared, &mut state, &points)?;
        if freeze {
            self.shared.freeze(&mut state)?;
        }
        drop(state);
        self.shared.wal.commit(summary.sequence)?;
        Ok(summary)
    }

    /// Writes the valid points of a batch and reports the others (InfluxDB's partial write):
    /// each point is checked on its own (names, limits, field types against the measurement
    /// and against earlier points of the batch), under the same lock as the write, so a
    /// concurrent writer cannot make an accepted point conflict. Errors of the whole request
    /// (WAL failure, shutdown) are returned as `Err`.
    pub fn write_partial(&self, points: &[Point]) -> Result<PartialWrite> {
        self.write_batch_partial(&PointBatch::from_points(points)?)
    }

    /// [`Self::write_partial`] for a packed batch; refused points are named by their index
    /// in the batch.
    pub fn write_batch_partial(&self, batch: &PointBatch) -> Result<PartialWrite> {
        self.check_open()?;
        let mut rejected = Vec::new();
        let mut candidates = Vec::with_capacity(batch.len());
        let mut names = Vec::new();
        for (index, point) in batch.iter().enumerate() {
            match validate(&point, &mut names) {
                Ok(()) => candidates.push((index, point)),
                Err(error) => rejected.push((index, error)),
            }
        }
        let mut state = self.shared.lock_for_write()?;
        let mut batch_types: HashMap<(&str, &str), FieldType> = HashMap::new();
        let mut accepted = Vec::with_capacity(candidates.len());
        for (index, point) in candidates {
            match check_point_types(&state.schemas, &mut batch_types, &point) {
                Ok(()) => accepted.push(point),
                Err(error) => rejected.push((index, error)),
            }
        }
        rejected.sort_by_key(|(index, _)| *index);
        if accepted.is_empty() {
            return Ok(PartialWrite {
                summary: WriteSummary::default(),
                rejected,
            });
        }
        let (summary, freeze) = apply_write(&self.shared, &mut state, &accepted)?;
        if freeze {
            self.shared.freeze(&mut state)?;
        }
        drop(state);
        self.shared.wal.commit(summary.sequence)?;
        Ok(PartialWrite { summary, rejected })
    }

    /// Deletes the rows of `measurement` selected by `predicate` (time range and tags). Rows in
    /// the memtable go at once; rows in segments are hidden by a tombstone, persisted in the
    /// manifest, until compaction removes them.
    pub fn delete(&self, measurement: &str, predicate: &Predicate) -> Result<DeleteSummary> {
        self.check_open()?;
        let mut state = self.shared.state.lock();
        if !state.schemas.contains_key(measurement) {
            return Err(Error::UnknownMeasurement {
                measurement: measurement.to_owned(),
            });
        }
        let series: Vec<SeriesId> = select_series(&state, measurement, predicate)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let range = predicate.time_range;
        if series.is_empty() || range.is_empty() {
            return Ok(DeleteSummary::default());
        }
        let sequence = self
            .shared
            .wal
            .append(&encode_delete(measurement, &series, &range))?;
        let memtable_rows = state.active.delete(&series, &range);
        let tombstone = Tombstone {
            sequence,
            measurement: measurement.to_owned(),
            series,
            range,
        };
        let series_count = tombstone.series.len() as u64;
        let mut tombstones = state.version.tombstones.clone();
        tombstones.push(Arc::new(tombstone));
        state.version = Arc::new(Version::new(state.version.segments.clone(), tombstones));
        drop(state);
        self.shared.wal.commit(sequence)?;
        Ok(DeleteSummary {
            series: series_count,
            memtable_rows,
            sequence,
        })
    }
}

/// What a partial write did: the accepted points' summary and each refused point's index
/// in the request with the reason.
#[derive(Debug)]
pub struct PartialWrite {
    /// The points written.
    pub summary: WriteSummary,
    /// Refused points, by index in the request, in order.
    pub rejected: Vec<(usize, Error)>,
}

/// Checks one point's field types against the schema and against `batch_types`, the types
/// earlier points of the batch gave to fields the schema does not have yet. Records this
/// point's new fields only when the whole point passes.
fn check_point_types<'a>(
    schemas: &HashMap<String, MeasurementSchema>,
    batch_types: &mut HashMap<(&'a str, &'a str), FieldType>,
    point: &PointView<'a>,
) -> Result<()> {
    let measurement = point.measurement();
    let schema = schemas.get(measurement);
    let mut new_fields = Vec::new();
    for (name, value) in point.fields() {
        let offered = value.field_type();
        if let Some(schema) = schema.filter(|s| s.field(name).is_some()) {
            schema.check_field(name, offered)?;
            continue;
        }
        let key = (measurement, name);
        match batch_types.get(&key) {
            Some(existing) if *existing != offered => {
                return Err(Error::FieldTypeConflict {
                    measurement: measurement.to_owned(),
                    field: name.to_owned(),
                    existing: *existing,
                    offered,
                });
            }
            Some(_) => {}
            None => new_fields.push((key, offered)),
        }
    }
    batch_types.extend(new_fields);
    Ok(())
}

/// Assigns series, appends the WAL record and fills the memtable. Returns whether the
/// memtable reached a flush trigger. Series that exist already (the common case) are found
/// through a borrowed key, so a point costs no key allocation; schema tags are added only
/// when a series is new (an existing series' tags are in its schema since it was registered).
fn apply_write(
    shared: &Shared,
    state: &mut State,
    points: &[PointView<'_>],
) -> Result<(WriteSummary, bool)> {
    let mut resolved = Vec::with_capacity(points.len());
    let mut created: Vec<(SeriesId, Arc<SeriesKey>)> = Vec::new();
    let mut sorted_tags: Vec<(&str, &str)> = Vec::new();
    // Every point's field indexes, back to back (one allocation per batch, not per point).
    let mut field_indexes: Vec<FieldIndex> = Vec::new();
    for point in points {
        let measurement = point.measurement();
        sorted_tags.clear();
        sorted_tags.extend(point.tags());
        // Keys are distinct (validated), so an unstable sort orders them as SeriesKey::new does.
        sorted_tags.sort_unstable_by(|left, right| left.0.cmp(right.0));
        let key_ref = SeriesKeyRef::new(measurement, &sorted_tags);
        let (ordinal, id, new) = match state.series.lookup_ref(&key_ref) {
            Some((ordinal, id)) => (ordinal, id, false),
            None => state.series.get_or_assign(&key_ref.to_owned_key()),
        };
        let entry_key = Arc::clone(&state.series.entry(ordinal).expect("assigned").key);
        let schema = state
            .schemas
            .entry_ref(measurement)
            .or_insert_with(|| MeasurementSchema::new(measurement));
        if new {
            state.tags.insert(ordinal, &entry_key);
            state.unpersisted_series.push(ordinal);
            created.push((id, Arc::clone(&entry_key)));
            point.tags().for_each(|(tag, _)| schema.ensure_tag(tag));
        }
        let first = field_indexes.len();
        field_indexes.extend(
            point
                .fields()
                .map(|(name, value)| schema.ensure_field(name, value.field_type())),
        );
        resolved.push((id, entry_key, first..field_indexes.len()));
    }
    let new_series: Vec<(SeriesId, &SeriesKey)> = created
        .iter()
        .map(|(id, key)| (*id, key.as_ref()))
        .collect();
    let mut encoder = WriteRecordEncoder::new(&new_series);
    for ((id, _, _), point) in resolved.iter().zip(points) {
        encoder.point(*id, point.timestamp_ns(), point.fields());
    }
    let sequence = shared.wal.append(&encoder.finish())?;
    for ((id, key, indexes), point) in resolved.into_iter().zip(points) {
        let indexes = field_indexes.get(indexes).unwrap_or_default();
        let fields = indexes
            .iter()
            .zip(point.fields())
            .map(|(index, (_, value))| (*index, value));
        state
            .active
            .insert(id, &key, point.timestamp_ns(), fields, sequence);
    }
    let summary = WriteSummary {
        points: points.len() as u64,
        new_series: created.len() as u64,
        sequence,
    };
    Ok((summary, shared.memtable_full(state)))
}

impl Shared {
    pub(crate) fn memtable_full(&self, state: &State) -> bool {
        state.active.points() >= self.options.memtable_points_max
            || state.active.bytes() >= self.options.memtable_bytes_max
    }

    /// Locks the state for a write, waiting while the memtable is full and the flush queue is
    /// at its limit (backpressure instead of unbounded memory).
    pub(crate) fn lock_for_write(&self) -> Result<MutexGuard<'_, State>> {
        let mut state = self.state.lock();
        loop {
            if self.shutting_down.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(Error::ShuttingDown);
            }
            if !(self.memtable_full(&state) && state.frozen.len() >= FROZEN_MEMTABLES_MAX) {
                break;
            }
            self.changed.wait(&mut state);
        }
        if self.memtable_full(&state) {
            self.freeze(&mut state)?;
        }
        Ok(state)
    }

    /// Makes the active memtable immutable and queues it for the flusher.
    pub(crate) fn freeze(&self, state: &mut State) -> Result<()> {
        if state.active.is_empty() {
            return Ok(());
        }
        let boundary = self.wal.rotate()?;
        let memtable = Arc::new(std::mem::take(&mut state.active));
        tracing::debug!(
            points = memtable.points(),
            boundary = boundary.0,
            "memtable frozen"
        );
        let tables = state.tables.clone();
        state.frozen.push_back(Frozen {
            memtable,
            boundary,
            tables,
        });
        self.changed.notify_all();
        Ok(())
    }
}
