//! The memtable: writes acknowledged since the last flush, per series, in arrival order.
//! Rows of a series are kept as written (appends in time order are the common case and cost
//! nothing extra); readers and the flush sort them and merge duplicate timestamps with
//! newest-wins per field. A full memtable is frozen (made immutable and shared behind an
//! `Arc`) and flushed in the background while a fresh one takes new writes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::predicate::TimeRange;
use crate::run::{Column, Run};
use crate::schema::{FieldIndex, FieldType, FieldValue};
use crate::series::{SeriesId, SeriesKey};
use crate::wal::WalSequence;

/// One written row: its time and the fields it set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MemRow {
    pub(crate) timestamp_ns: i64,
    pub(crate) fields: Vec<(FieldIndex, FieldValue)>,
}

impl MemRow {
    fn size_bytes(&self) -> u64 {
        let fields: usize = self
            .fields
            .iter()
            .map(|(_, value)| value.size_bytes() + std::mem::size_of::<FieldIndex>())
            .sum();
        (std::mem::size_of::<Self>() + fields) as u64
    }
}

/// The rows of one series.
#[derive(Debug, Clone)]
pub(crate) struct SeriesRows {
    pub(crate) key: Arc<SeriesKey>,
    rows: Vec<MemRow>,
    /// True while every row's time is >= the previous row's.
    sorted: bool,
}

impl SeriesRows {
    /// Rows in `range`, sorted by time, duplicates merged newest-wins.
    pub(crate) fn normalized(&self, range: &TimeRange) -> Vec<MemRow> {
        let mut rows: Vec<MemRow> = self
            .rows
            .iter()
            .filter(|row| range.contains(row.timestamp_ns))
            .cloned()
            .collect();
        if !self.sorted {
            // Stable, so rows of equal time stay in arrival order for the merge below.
            rows.sort_by_key(|row| row.timestamp_ns);
        }
        merge_equal_times(rows)
    }
}

impl SeriesRows {
    /// All rows, sorted and merged: borrowed when they already are (the common case of
    /// appends in time order), copied and normalized otherwise.
    pub(crate) fn normalized_all(&self) -> std::borrow::Cow<'_, [MemRow]> {
        let strictly_increasing = self
            .rows
            .windows(2)
            .all(|pair| pair.first().map(|r| r.timestamp_ns) < pair.last().map(|r| r.timestamp_ns));
        if strictly_increasing {
            return std::borrow::Cow::Borrowed(&self.rows);
        }
        std::borrow::Cow::Owned(self.normalized(&TimeRange::ALL))
    }
}

fn merge_equal_times(rows: Vec<MemRow>) -> Vec<MemRow> {
    let mut merged: Vec<MemRow> = Vec::with_capacity(rows.len());
    for row in rows {
        match merged.last_mut() {
            Some(last) if last.timestamp_ns == row.timestamp_ns => {
                for (field, value) in row.fields {
                    match last
                        .fields
                        .iter_mut()
                        .find(|(existing, _)| *existing == field)
                    {
                        Some(slot) => slot.1 = value,
                        None => last.fields.push((field, value)),
                    }
                }
            }
            _ => merged.push(row),
        }
    }
    merged
}

/// Converts normalized rows into a run holding the fields in `projection` (field index and
/// type); `width` is the measurement's field count.
pub(crate) fn rows_to_run(
    rows: &[MemRow],
    projection: &[(FieldIndex, FieldType)],
    width: usize,
) -> Run {
    let mut columns: Vec<Option<Column>> = vec![None; width];
    for (field, field_type) in projection {
        let mut column = Column::with_capacity(*field_type, rows.len());
        for row in rows {
            match row.fields.iter().find(|(index, _)| index == field) {
                Some((_, value)) => column.push_value(value),
                None => column.push_null(),
            }
        }
        if let Some(slot) = usize::try_from(*field)
            .ok()
            .and_then(|i| columns.get_mut(i))
        {
            *slot = Some(column);
        }
    }
    Run {
        timestamps: rows.iter().map(|row| row.timestamp_ns).collect(),
        columns,
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
    pub(crate) fn insert(
        &mut self,
        id: SeriesId,
        key: &Arc<SeriesKey>,
        row: MemRow,
        sequence: WalSequence,
    ) {
        self.first_write.get_or_insert_with(Instant::now);
        self.max_sequence = self.max_sequence.max(sequence);
        self.points += 1;
        self.bytes += row.size_bytes();
        let series = self.series.entry(id).or_insert_with(|| {
            self.bytes += (std::mem::size_of::<SeriesRows>() + 64) as u64;
            SeriesRows {
                key: Arc::clone(key),
                rows: Vec::new(),
                sorted: true,
            }
        });
        if series
            .rows
            .last()
            .is_some_and(|last| last.timestamp_ns > row.timestamp_ns)
        {
            series.sorted = false;
        }
        series.rows.push(row);
    }

    /// Removes rows of the given series within `range`; returns how many were removed.
    pub(crate) fn delete(&mut self, series: &[SeriesId], range: &TimeRange) -> u64 {
        let mut removed = 0;
        for id in series {
            let Some(rows) = self.series.get_mut(id) else {
                continue;
            };
            let before = rows.rows.len();
            rows.rows.retain(|row| !range.contains(row.timestamp_ns));
            removed += (before - rows.rows.len()) as u64;
            if rows.rows.is_empty() {
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

    fn row(timestamp_ns: i64, fields: &[(FieldIndex, f64)]) -> MemRow {
        let fields = fields
            .iter()
            .map(|(i, v)| (*i, FieldValue::Float(*v)))
            .collect();
        MemRow {
            timestamp_ns,
            fields,
        }
    }

    #[test]
    fn out_of_order_and_duplicate_writes_normalize_newest_wins() {
        let key = Arc::new(SeriesKey::new("cpu", &[]));
        let mut memtable = Memtable::default();
        let id = SeriesId(1);
        memtable.insert(id, &key, row(20, &[(0, 2.0)]), WalSequence(1));
        memtable.insert(id, &key, row(10, &[(0, 1.0), (1, 9.0)]), WalSequence(2));
        memtable.insert(id, &key, row(10, &[(0, 1.5)]), WalSequence(3));
        assert_eq!(memtable.points(), 3);
        assert_eq!(memtable.max_sequence(), WalSequence(3));
        let rows = memtable.series(id).unwrap().normalized(&TimeRange::ALL);
        assert_eq!(
            rows,
            vec![row(10, &[(0, 1.5), (1, 9.0)]), row(20, &[(0, 2.0)])]
        );
        let run = rows_to_run(&rows, &[(1, FieldType::Float)], 2);
        assert_eq!(run.timestamps, vec![10, 20]);
        assert!(run.columns[0].is_none());
        let column = run.columns[1].as_ref().unwrap();
        assert_eq!(column.value(0), Some(FieldValue::Float(9.0)));
        assert_eq!(column.value(1), None);
    }

    #[test]
    fn delete_removes_rows_in_range_only() {
        let key = Arc::new(SeriesKey::new("cpu", &[]));
        let mut memtable = Memtable::default();
        for ts in 0..10 {
            memtable.insert(
                SeriesId(1),
                &key,
                row(ts, &[(0, ts as f64)]),
                WalSequence(1),
            );
        }
        assert_eq!(
            memtable.delete(&[SeriesId(1), SeriesId(2)], &TimeRange::new(3, 5)),
            3
        );
        let rows = memtable
            .series(SeriesId(1))
            .unwrap()
            .normalized(&TimeRange::ALL);
        let times: Vec<i64> = rows.iter().map(|r| r.timestamp_ns).collect();
        assert_eq!(times, vec![0, 1, 2, 6, 7, 8, 9]);
        assert_eq!(memtable.delete(&[SeriesId(1)], &TimeRange::ALL), 7);
        assert!(memtable.is_empty());
    }
}
