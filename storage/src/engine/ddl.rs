//! Schema changes: defining a measurement before any point arrives (SQL `CREATE TABLE`),
//! adding fields (`ALTER TABLE … ADD COLUMN`) and dropping a measurement (`DROP TABLE`).
//!
//! A definition is a WAL record, so it is as durable as a write and replays after a crash;
//! the manifest carries the schema once a flush has passed it. A drop is a WAL record too. It
//! removes the schema and the measurement's series from the series and tag indexes, deletes
//! its rows from the active memtable, and leaves a tombstone over all time that hides its rows
//! in frozen memtables and segments until compaction rewrites them away. The series log is
//! rewritten without the dropped series before the manifest can move past the drop (both
//! happen under the manifest lock), so a restart does not bring them back; writing the same
//! measurement and tags again later creates new series, with the same ids, whose rows are
//! newer than the tombstone and stay visible.

use std::sync::Arc;

use super::Engine;
use crate::error::{Error, Result};
use crate::predicate::TimeRange;
use crate::schema::{FieldType, MeasurementSchema};
use crate::series::{SeriesId, SeriesKey};
use crate::version::{Tombstone, Version};
use crate::wal_record::{encode_define, encode_drop};

impl Engine {
    /// Creates an empty measurement with `tag_keys` and typed `fields`. Returns `false`, and
    /// changes nothing, when the measurement exists already (by definition or by a write).
    pub fn create_measurement(
        &self,
        measurement: &str,
        tag_keys: &[String],
        fields: &[(String, FieldType)],
    ) -> Result<bool> {
        self.check_open()?;
        check_definition(measurement, tag_keys, fields)?;
        let mut state = self.shared.state.lock();
        if state.schemas.contains_key(measurement) {
            return Ok(false);
        }
        let sequence = self
            .shared
            .wal
            .append(&encode_define(measurement, tag_keys, fields))?;
        let mut schema = MeasurementSchema::new(measurement);
        apply_definition(&mut schema, tag_keys, fields);
        state.schemas.insert(measurement.to_owned(), schema);
        drop(state);
        self.shared.wal.commit(sequence)?;
        Ok(true)
    }

    /// Adds a field to an existing measurement. Returns `false`, and changes nothing, when
    /// the measurement already has a column (tag or field) of that name.
    pub fn add_field(&self, measurement: &str, field: &str, field_type: FieldType) -> Result<bool> {
        self.check_open()?;
        let fields = [(field.to_owned(), field_type)];
        check_definition(measurement, &[], &fields)?;
        let mut state = self.shared.state.lock();
        let Some(schema) = state.schemas.get_mut(measurement) else {
            return Err(Error::UnknownMeasurement {
                measurement: measurement.to_owned(),
            });
        };
        if schema.has_tag(field) || schema.field(field).is_some() {
            return Ok(false);
        }
        let sequence = self
            .shared
            .wal
            .append(&encode_define(measurement, &[], &fields))?;
        apply_definition(schema, &[], &fields);
        drop(state);
        self.shared.wal.commit(sequence)?;
        Ok(true)
    }

    /// Drops a measurement: its schema, series and rows. Returns `false` when it does not
    /// exist.
    pub fn drop_measurement(&self, measurement: &str) -> Result<bool> {
        self.check_open()?;
        // Lock order: manifest, then state. Holding the manifest lock until the series log is
        // rewritten keeps any flush from recording a flushed sequence past the drop first.
        let mut manifest = self.shared.manifest.lock();
        let mut state = self.shared.state.lock();
        if !state.schemas.contains_key(measurement) {
            return Ok(false);
        }
        let ordinals = state.tags.remove_measurement(measurement);
        let mut series: Vec<SeriesId> = ordinals
            .iter()
            .filter_map(|ordinal| state.series.entry(ordinal).map(|entry| entry.id))
            .collect();
        series.sort_unstable();
        let sequence = self.shared.wal.append(&encode_drop(measurement, &series))?;
        forget_measurement(&mut state, measurement, &series);
        state
            .unpersisted_series
            .retain(|ordinal| !ordinals.contains(*ordinal));
        let mut tombstones = state.version.tombstones.clone();
        tombstones.push(Arc::new(Tombstone {
            sequence,
            measurement: measurement.to_owned(),
            series,
            range: TimeRange::ALL,
        }));
        state.version = Arc::new(Version::new(state.version.segments.clone(), tombstones));
        let live = state.series.live();
        state.unpersisted_series.clear();
        drop(state);
        self.shared.wal.commit(sequence)?;
        let refs: Vec<(SeriesId, &SeriesKey)> =
            live.iter().map(|(id, key)| (*id, key.as_ref())).collect();
        manifest.series_log.rewrite(&refs)?;
        Ok(true)
    }
}

/// Removes a dropped measurement's schema, series and active-memtable rows.
pub(super) fn forget_measurement(state: &mut super::State, measurement: &str, series: &[SeriesId]) {
    state.schemas.remove(measurement);
    state.tags.remove_measurement(measurement);
    for id in series {
        state.series.remove(*id);
    }
    state.active.delete(series, &TimeRange::ALL);
}

/// Adds tag keys and fields to a schema (checked by `check_definition` and against the
/// schema by the caller).
pub(super) fn apply_definition(
    schema: &mut MeasurementSchema,
    tag_keys: &[String],
    fields: &[(String, FieldType)],
) {
    tag_keys.iter().for_each(|key| schema.ensure_tag(key));
    for (name, field_type) in fields {
        if schema.field(name).is_none() && !schema.has_tag(name) {
            schema.ensure_field(name, *field_type);
        }
    }
}

/// Names must be valid and distinct, and not `time`.
fn check_definition(
    measurement: &str,
    tag_keys: &[String],
    fields: &[(String, FieldType)],
) -> Result<()> {
    let invalid = |reason: String| Error::InvalidSchema {
        measurement: measurement.to_owned(),
        reason,
    };
    if measurement.is_empty() {
        return Err(invalid("the name is empty".into()));
    }
    let mut names: Vec<&str> = tag_keys
        .iter()
        .map(String::as_str)
        .chain(fields.iter().map(|(name, _)| name.as_str()))
        .collect();
    for name in &names {
        if name.is_empty() {
            return Err(invalid("a column name is empty".into()));
        }
        if *name == "time" {
            return Err(invalid(
                "\"time\" is the time column, not a tag or field".into(),
            ));
        }
    }
    names.sort_unstable();
    if let Some(name) = names
        .iter()
        .zip(names.iter().skip(1))
        .find_map(|(left, right)| (left == right).then_some(left))
    {
        return Err(invalid(format!("column \"{name}\" is named twice")));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
