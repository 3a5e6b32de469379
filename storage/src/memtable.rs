//! The memtable: writes acknowledged since the last flush, per series, in arrival order and
//! columnar: a timestamp vector and one typed column per field (8 bytes and a validity flag
//! per float value instead of a boxed row), so a memtable holds about four times the points
//! a row layout did in the same memory. Appends in time order are the common case and cost
//! nothing extra; readers and the flush get [`Run`]s, sorted with duplicate timestamps merged
//! newest-wins per field. A full memtable is frozen (made immutable and shared behind an
//! `Arc`) and flushed in the background while a fresh one takes new writes.

use std::sync::Arc;
use std::time::Instant;

use hashbrown::HashMap;

use crate::predicate::TimeRange;
use crate::run::{Column, Run};
use crate::schema::{FieldIndex, FieldType, FieldValue};
use crate::series::{SeriesId, SeriesKey};
use crate::version::partition_start;
use crate::wal::WalSequence;

/// Estimated bytes of one value in a column: the value and its validity flag.
fn value_bytes(value: &FieldValue) -> u64 {
    let heap = match value {
        FieldValue::String(text) => text.len(),
        _ => 0,
    };
    (value_slot_bytes(value.field_type()) + heap) as u64
}

fn value_slot_bytes(field_type: FieldType) -> usize {
    1 + match field_type {
        FieldType::Float => std::mem::size_of::<f64>(),
        FieldType::Integer => std::mem::size_of::<i64>(),
        FieldType::Unsigned => std::mem::size_of::<u64>(),
        FieldType::Boolean => 1,
        FieldType::String => std::mem::size_of::<String>(),
    }
}

/// The rows of one series, columnar, in arrival order.
#[derive(Debug, Clone)]
pub(crate) struct SeriesRows {
    pub(crate) key: Arc<SeriesKey>,
    timestamps: Vec<i64>,
    /// `columns[i]` is field `i` of the measurement, `None` until a row sets it.
    columns: Vec<Option<Column>>,
    /// True while every row's time is greater than the previous row's (no sort, no merge).
    strictly_increasing: bool,
}

impl SeriesRows {
    fn new(key: Arc<SeriesKey>) -> Self {
        Self {
            key,
            timestamps: Vec::new(),
            columns: Vec::new(),
            strictly_increasing: true,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// Appends a row; returns its estimated bytes. A field whose column has another type
    /// (which the schema check prevents) is stored as null.
    fn push<'v>(
        &mut self,
        timestamp_ns: i64,
        fields: impl IntoIterator<Item = (FieldIndex, &'v FieldValue)>,
    ) -> u64 {
        let row = self.len();
        if self
            .timestamps
            .last()
            .is_some_and(|last| *last >= timestamp_ns)
        {
            self.strictly_increasing = false;
        }
        self.timestamps.push(timestamp_ns);
        let mut bytes = std::mem::size_of::<i64>() as u64;
        for (field, value) in fields {
            let Ok(index) = usize::try_from(field) else {
                continue;
            };
            if self.columns.len() <= index {
                self.columns.resize(index + 1, None);
            }
            let Some(slot) = self.columns.get_mut(index) else {
                continue;
            };
            let column = slot.get_or_insert_with(|| {
                bytes += (value_slot_bytes(value.field_type()) * row) as u64;
                Column::nulls(value.field_type(), row)
            });
            // A field twice in one row is refused by validation; keep the first.
            debug_assert_eq!(column.len(), row, "field {field} twice in one row");
            if column.len() == row {
                column.push_value(value);
                bytes += value_bytes(value);
            }
        }
        for column in self.columns.iter_mut().flatten() {
            if column.len() == row {
                column.push_null();
                bytes += value_slot_bytes(column.field_type()) as u64;
            }
        }
        bytes
    }

    /// Rows in `range` with the fields of `projection` (index and type), sorted by time and
    /// with equal times merged newest-wins per field; `width` is the measurement's field
    /// count. A projected field the series never set, or set with another type, is all null.
    pub(crate) fn to_run(
        &self,
        range: &TimeRange,
        projection: &[(FieldIndex, FieldType)],
        width: usize,
    ) -> Run {
        let mut columns: Vec<Option<Column>> = vec![None; width];
        if self.strictly_increasing {
            let start = self.timestamps.partition_point(|ts| *ts < range.min_ns);
            let end = self.timestamps.partition_point(|ts| *ts <= range.max_ns);
            let end = end.max(start);
            for (field, field_type) in projection {
                let column = match self.column(*field, *field_type) {
                    Some(column) => column.slice(start, end),
                    None => Column::nulls(*field_type, end - start),
                };
                put(&mut columns, *field, column);
            }
            let timestamps = self
                .timestamps
                .get(start..end)
                .map(<[i64]>::to_vec)
                .unwrap_or_default();
            return Run {
                timestamps,
                columns,
            };
        }
        // Stable, so rows of equal time stay in arrival order: the last of a group is newest.
        let mut order: Vec<usize> = (0..self.len())
            .filter(|row| {
                self.timestamps
                    .get(*row)
                    .is_some_and(|ts| range.contains(*ts))
            })
            .collect();
        order.sort_by_key(|row| self.timestamps.get(*row).copied().unwrap_or_default());
        let groups: Vec<&[usize]> = order
            .chunk_by(|a, b| self.timestamps.get(*a) == self.timestamps.get(*b))
            .collect();
        for (field, field_type) in projection {
            let column = match self.column(*field, *field_type) {
                Some(source) => {
                    let mut column = Column::with_capacity(*field_type, groups.len());
                    for group in &groups {
                        match group.iter().rev().find(|row| source.is_valid(**row)) {
                            Some(row) => column.push_from(source, *row),
                            None => column.push_null(),
                        }
                    }
                    column
                }
                None => Column::nulls(*field_type, groups.len()),
            };
            put(&mut columns, *field, column);
        }
        let timestamps = groups
            .iter()
            .filter_map(|group| group.first())
            .filter_map(|row| self.timestamps.get(*row).copied())
            .collect();
        Run {
            timestamps,
            columns,
        }
    }

    /// Starts of the time partitions (of `duration_ns`) this series has rows in, ascending.
    pub(crate) fn partition_starts(&self, duration_ns: i64) -> Vec<i64> {
        let mut starts: Vec<i64> = Vec::new();
        for ts in &self.timestamps {
            let start = partition_start(*ts, duration_ns);
            if starts.last() != Some(&start) {
                starts.push(start);
            }
        }
        if !self.strictly_increasing {
            starts.sort_unstable();
            starts.dedup();
        }
        starts
    }

    fn column(&self, field: FieldIndex, field_type: FieldType) -> Option<&Column> {
        let column = self.columns.get(usize::try_from(field).ok()?)?.as_ref()?;
        (column.field_type() == field_type).then_some(column)
    }

    /// Removes rows in `range`; returns how many.
    fn delete(&mut self, range: &TimeRange) -> u64 {
        let keep: Vec<usize> = (0..self.len())
            .filter(|row| {
                self.timestamps
                    .get(*row)
                    .is_some_and(|ts| !range.contains(*ts))
            })
            .collect();
        let removed = self.len() - keep.len();
        if removed == 0 {
            return 0;
        }
        self.timestamps = keep
            .iter()
            .filter_map(|row| self.timestamps.get(*row).copied())
            .collect();
        for column in self.columns.iter_mut().flatten() {
            *column = column.select(&keep);
        }
        removed as u64
    }
}

fn put(columns: &mut [Option<Column>], field: FieldIndex, column: Column) {
    if let Some(slot) = usize::try_from(field).ok().and_then(|i| columns.get_mut(i)) {
        *slot = Some(column);
    }
}

/// Writes since the last flush.
#[derive(Debug, Default)]
pub(crate) struct Memtable {
    series: HashMap<SeriesId, SeriesRows>,
    points: u64,
    bytes: u64,
    first_write: Option<Instant>,
    max_sequence: WalSequence,
}

impl Memtable {
    /// Appends a row of series `id` (`fields`: index in the measurement and value).
    pub(crate) fn insert<'v>(
        &mut self,
        id: SeriesId,
        key: &Arc<SeriesKey>,
        timestamp_ns: i64,
        fields: impl IntoIterator<Item = (FieldIndex, &'v FieldValue)>,
        sequence: WalSequence,
    ) {
        self.first_write.get_or_insert_with(Instant::now);
        self.max_sequence = self.max_sequence.max(sequence);
        self.points += 1;
        let series = self.series.entry(id).or_insert_with(|| {
            self.bytes += (std::mem::size_of::<SeriesRows>() + 64) as u64;
            SeriesRows::new(Arc::clone(key))
        });
        self.bytes += series.push(timestamp_ns, fields);
    }

    /// Removes rows of the given series within `range`; returns how many were removed.
    pub(crate) fn delete(&mut self, series: &[SeriesId], range: &TimeRange) -> u64 {
        let mut removed = 0;
        for id in series {
            let Some(rows) = self.series.get_mut(id) else {
                continue;
            };
            removed += rows.delete(range);
            if rows.len() == 0 {
                self.series.remove(id);
            }
        }
        self.points -= removed;
        removed
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    pub(crate) fn points(&self) -> u64 {
        self.points
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    pub(crate) fn first_write(&self) -> Option<Instant> {
        self.first_write
    }

    pub(crate) fn max_sequence(&self) -> WalSequence {
        self.max_sequence
    }

    pub(crate) fn series(&self, id: SeriesId) -> Option<&SeriesRows> {
        self.series.get(&id)
    }

    pub(crate) fn all_series(&self) -> impl Iterator<Item = (&SeriesId, &SeriesRows)> {
        self.series.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(memtable: &mut Memtable, ts: i64, fields: &[(FieldIndex, f64)], sequence: u64) {
        let key = Arc::new(SeriesKey::new("cpu", &[]));
        let values: Vec<(FieldIndex, FieldValue)> = fields
            .iter()
            .map(|(i, v)| (*i, FieldValue::Float(*v)))
            .collect();
        memtable.insert(
            SeriesId(1),
            &key,
            ts,
            values.iter().map(|(i, v)| (*i, v)),
            WalSequence(sequence),
        );
    }

    fn floats(run: &Run, field: usize) -> Vec<Option<f64>> {
        let column = run.columns[field].as_ref().unwrap();
        (0..run.len()).map(|row| column.float(row)).collect()
    }

    const BOTH: [(FieldIndex, FieldType); 2] = [(0, FieldType::Float), (1, FieldType::Float)];

    #[test]
    fn out_of_order_and_duplicate_writes_normalize_newest_wins() {
        let mut memtable = Memtable::default();
        insert(&mut memtable, 20, &[(0, 2.0)], 1);
        insert(&mut memtable, 10, &[(0, 1.0), (1, 9.0)], 2);
        insert(&mut memtable, 10, &[(0, 1.5)], 3);
        assert_eq!(memtable.points(), 3);
        assert_eq!(memtable.max_sequence(), WalSequence(3));
        let rows = memtable.series(SeriesId(1)).unwrap();
        let run = rows.to_run(&TimeRange::ALL, &BOTH, 2);
        assert_eq!(run.timestamps, vec![10, 20]);
        assert_eq!(floats(&run, 0), vec![Some(1.5), Some(2.0)]);
        assert_eq!(floats(&run, 1), vec![Some(9.0), None]);
        // Projection: only field 1; field 0 stays out of the run.
        let run = rows.to_run(&TimeRange::ALL, &[(1, FieldType::Float)], 2);
        assert!(run.columns[0].is_none());
        assert_eq!(floats(&run, 1), vec![Some(9.0), None]);
        // A range keeps only its rows.
        let run = rows.to_run(&TimeRange::new(15, 25), &BOTH, 2);
        assert_eq!(run.timestamps, vec![20]);
    }

    #[test]
    fn in_order_rows_slice_by_range_and_fill_late_columns_with_nulls() {
        let mut memtable = Memtable::default();
        for ts in 0..10 {
            insert(&mut memtable, ts, &[(0, ts as f64)], 1);
        }
        insert(&mut memtable, 10, &[(1, 7.0)], 1);
        let rows = memtable.series(SeriesId(1)).unwrap();
        let run = rows.to_run(&TimeRange::new(8, 100), &BOTH, 3);
        assert_eq!(run.timestamps, vec![8, 9, 10]);
        assert_eq!(floats(&run, 0), vec![Some(8.0), Some(9.0), None]);
        assert_eq!(floats(&run, 1), vec![None, None, Some(7.0)]);
        assert!(run.columns[2].is_none());
        // A field of another type than the series stored reads as nulls.
        let run = rows.to_run(&TimeRange::ALL, &[(0, FieldType::Integer)], 1);
        let column = run.columns[0].as_ref().unwrap();
        assert!((0..run.len()).all(|row| !column.is_valid(row)));
        assert!(rows.to_run(&TimeRange::new(20, 30), &BOTH, 2).is_empty());
    }

    #[test]
    fn bytes_grow_with_values_not_with_boxed_rows() {
        let mut memtable = Memtable::default();
        let fields: Vec<(FieldIndex, f64)> = (0..10).map(|i| (i, 1.0)).collect();
        insert(&mut memtable, 1, &fields, 1);
        let first = memtable.bytes();
        insert(&mut memtable, 2, &fields, 1);
        // Ten floats and a timestamp: 10 * (8 + 1) + 8 bytes per row.
        assert_eq!(memtable.bytes() - first, 98);
    }

    #[test]
    fn delete_removes_rows_in_range_only() {
        let mut memtable = Memtable::default();
        for ts in 0..10 {
            insert(&mut memtable, ts, &[(0, ts as f64)], 1);
        }
        assert_eq!(
            memtable.delete(&[SeriesId(1), SeriesId(2)], &TimeRange::new(3, 5)),
            3
        );
        let run = memtable
            .series(SeriesId(1))
            .unwrap()
            .to_run(&TimeRange::ALL, &BOTH[..1], 1);
        assert_eq!(run.timestamps, vec![0, 1, 2, 6, 7, 8, 9]);
        assert_eq!(floats(&run, 0)[3], Some(6.0));
        assert_eq!(memtable.delete(&[SeriesId(1)], &TimeRange::ALL), 7);
        assert!(memtable.is_empty());
    }
}
