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

use crate::batch::FieldRef;
use crate::predicate::TimeRange;
use crate::run::{Column, Run};
use crate::schema::{FieldIndex, FieldType};
use crate::series::{SeriesId, SeriesKey};
use crate::version::partition_start;
use crate::wal::WalSequence;

/// Rows per chunk of a series. The first chunk grows by doubling up to this size; later
/// chunks are allocated at exactly this size, so a growing series never reallocates (and
/// copies, and frees) its history, and the blocks a flushed memtable frees are the size the
/// next one asks for. Slack is at most one chunk per column per series.
const CHUNK_ROWS: usize = 1024;

/// Up to [`CHUNK_ROWS`] rows of a series: timestamps and one column per field.
#[derive(Debug, Clone, Default)]
struct Chunk {
    timestamps: Vec<i64>,
    /// `columns[i]` is field `i` of the measurement, `None` until a row of the chunk sets it.
    columns: Vec<Option<Column>>,
    /// Capacity to give columns created in this chunk (0: grow as needed).
    capacity: usize,
}

impl Chunk {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            timestamps: Vec::with_capacity(capacity),
            columns: Vec::new(),
            capacity,
        }
    }

    fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// Bytes of the chunk's vectors (capacities), without string contents.
    fn allocated_bytes(&self) -> usize {
        let columns: usize = self
            .columns
            .iter()
            .flatten()
            .map(Column::capacity_bytes)
            .sum();
        let column_slots = self.columns.capacity() * std::mem::size_of::<Option<Column>>();
        self.timestamps.capacity() * std::mem::size_of::<i64>() + column_slots + columns
    }

    /// Appends a row; returns the bytes of string contents it added.
    fn push<'v>(
        &mut self,
        timestamp_ns: i64,
        fields: impl IntoIterator<Item = (FieldIndex, FieldRef<'v>)>,
    ) -> usize {
        let row = self.len();
        let mut string_bytes = 0;
        self.timestamps.push(timestamp_ns);
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
                let mut column =
                    Column::with_capacity(value.field_type(), self.capacity.max(row + 1));
                (0..row).for_each(|_| column.push_null());
                column
            });
            // A field twice in one row is refused by validation; keep the first.
            debug_assert_eq!(column.len(), row, "field {field} twice in one row");
            if column.len() == row {
                column.push_ref(value);
                if let FieldRef::String(text) = value {
                    string_bytes += text.len();
                }
            }
        }
        for column in self.columns.iter_mut().flatten() {
            if column.len() == row {
                column.push_null();
            }
        }
        string_bytes
    }

    fn column(&self, field: FieldIndex, field_type: FieldType) -> Option<&Column> {
        let column = self.columns.get(usize::try_from(field).ok()?)?.as_ref()?;
        (column.field_type() == field_type).then_some(column)
    }
}

/// The rows of one series, columnar, in arrival order, in chunks of [`CHUNK_ROWS`]: every
/// chunk but the last is full, so row `i` is row `i % CHUNK_ROWS` of chunk `i / CHUNK_ROWS`.
#[derive(Debug, Clone)]
pub(crate) struct SeriesRows {
    pub(crate) key: Arc<SeriesKey>,
    chunks: Vec<Chunk>,
    rows: usize,
    /// True while every row's time is greater than the previous row's (no sort, no merge).
    strictly_increasing: bool,
    /// Bytes of string field contents held.
    string_bytes: usize,
}

impl SeriesRows {
    fn new(key: Arc<SeriesKey>) -> Self {
        Self {
            key,
            chunks: Vec::new(),
            rows: 0,
            strictly_increasing: true,
            string_bytes: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.rows
    }

    /// The first and last time of the rows, `None` without rows.
    pub(crate) fn span(&self) -> Option<(i64, i64)> {
        if self.strictly_increasing {
            let first = self.chunks.first()?.timestamps.first()?;
            let last = self.chunks.last()?.timestamps.last()?;
            return Some((*first, *last));
        }
        self.timestamps().fold(None, |span, ts| match span {
            None => Some((ts, ts)),
            Some((min, max)) => Some((ts.min(min), ts.max(max))),
        })
    }

    /// Bytes allocated for the rows: vector capacities (growth slack included, so the
    /// memtable limit bounds real memory) and string contents.
    fn allocated_bytes(&self) -> u64 {
        let chunks: usize = self.chunks.iter().map(Chunk::allocated_bytes).sum();
        let slots = self.chunks.capacity() * std::mem::size_of::<Chunk>();
        (chunks + slots + self.string_bytes) as u64
    }

    fn timestamp(&self, row: usize) -> Option<i64> {
        let chunk = self.chunks.get(row / CHUNK_ROWS)?;
        chunk.timestamps.get(row % CHUNK_ROWS).copied()
    }

    fn timestamps(&self) -> impl Iterator<Item = i64> + '_ {
        self.chunks
            .iter()
            .flat_map(|chunk| chunk.timestamps.iter().copied())
    }

    /// Appends a row; returns the bytes it added to [`Self::allocated_bytes`]. A field
    /// whose column has another type (which the schema check prevents) is stored as null.
    fn push<'v>(
        &mut self,
        timestamp_ns: i64,
        fields: impl IntoIterator<Item = (FieldIndex, FieldRef<'v>)>,
    ) -> u64 {
        if self
            .timestamp(self.rows.wrapping_sub(1))
            .is_some_and(|last| last >= timestamp_ns)
        {
            self.strictly_increasing = false;
        }
        let mut added = 0;
        if self
            .chunks
            .last()
            .is_none_or(|chunk| chunk.len() >= CHUNK_ROWS)
        {
            let capacity = if self.chunks.is_empty() {
                0
            } else {
                CHUNK_ROWS
            };
            let slots = self.chunks.capacity();
            let chunk = Chunk::with_capacity(capacity);
            added += chunk.allocated_bytes();
            self.chunks.push(chunk);
            added += (self.chunks.capacity() - slots) * std::mem::size_of::<Chunk>();
        }
        let Some(chunk) = self.chunks.last_mut() else {
            return 0;
        };
        let before = chunk.allocated_bytes();
        let strings = chunk.push(timestamp_ns, fields);
        added += chunk.allocated_bytes().saturating_sub(before) + strings;
        self.string_bytes += strings;
        self.rows += 1;
        added as u64
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
        if self.strictly_increasing {
            return self.slice_run(range, projection, width);
        }
        // Stable, so rows of equal time stay in arrival order: the last of a group is newest.
        let mut order: Vec<(i64, usize)> = self
            .timestamps()
            .enumerate()
            .filter(|(_, ts)| range.contains(*ts))
            .map(|(row, ts)| (ts, row))
            .collect();
        order.sort_by_key(|(ts, _)| *ts);
        let groups: Vec<&[(i64, usize)]> = order.chunk_by(|a, b| a.0 == b.0).collect();
        let mut columns: Vec<Option<Column>> = vec![None; width];
        for (field, field_type) in projection {
            let mut column = Column::with_capacity(*field_type, groups.len());
            for group in &groups {
                let newest = group.iter().rev().find_map(|(_, row)| {
                    let source = self
                        .chunks
                        .get(row / CHUNK_ROWS)?
                        .column(*field, *field_type)?;
                    let row = row % CHUNK_ROWS;
                    source.is_valid(row).then_some((source, row))
                });
                match newest {
                    Some((source, row)) => column.push_from(source, row),
                    None => column.push_null(),
                }
            }
            put(&mut columns, *field, column);
        }
        let timestamps = groups
            .iter()
            .filter_map(|group| group.first().map(|(ts, _)| *ts))
            .collect();
        Run {
            timestamps,
            columns,
        }
    }

    /// [`Self::to_run`] for rows in strictly increasing time: a copy of the rows in range.
    fn slice_run(
        &self,
        range: &TimeRange,
        projection: &[(FieldIndex, FieldType)],
        width: usize,
    ) -> Run {
        let pieces: Vec<(&Chunk, usize, usize)> = self
            .chunks
            .iter()
            .filter_map(|chunk| {
                let start = chunk.timestamps.partition_point(|ts| *ts < range.min_ns);
                let end = chunk.timestamps.partition_point(|ts| *ts <= range.max_ns);
                (end > start).then_some((chunk, start, end))
            })
            .collect();
        let rows: usize = pieces.iter().map(|(_, start, end)| end - start).sum();
        let mut timestamps = Vec::with_capacity(rows);
        for (chunk, start, end) in &pieces {
            timestamps.extend_from_slice(chunk.timestamps.get(*start..*end).unwrap_or_default());
        }
        let mut columns: Vec<Option<Column>> = vec![None; width];
        for (field, field_type) in projection {
            let mut column = Column::with_capacity(*field_type, rows);
            for (chunk, start, end) in &pieces {
                match chunk.column(*field, *field_type) {
                    Some(source) => column.extend_from(source, *start, *end),
                    None => (*start..*end).for_each(|_| column.push_null()),
                }
            }
            put(&mut columns, *field, column);
        }
        Run {
            timestamps,
            columns,
        }
    }

    /// Starts of the time partitions (of `duration_ns`) this series has rows in, ascending.
    pub(crate) fn partition_starts(&self, duration_ns: i64) -> Vec<i64> {
        let mut starts: Vec<i64> = Vec::new();
        for ts in self.timestamps() {
            let start = partition_start(ts, duration_ns);
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

    /// Removes rows in `range`; returns how many. Rare (SQL DELETE), so it rebuilds the
    /// series from the rows it keeps.
    fn delete(&mut self, range: &TimeRange) -> u64 {
        let removed = self.timestamps().filter(|ts| range.contains(*ts)).count();
        if removed == 0 {
            return 0;
        }
        let mut kept = Self::new(Arc::clone(&self.key));
        for chunk in &self.chunks {
            for (row, ts) in chunk.timestamps.iter().enumerate() {
                if range.contains(*ts) {
                    continue;
                }
                let fields = chunk
                    .columns
                    .iter()
                    .enumerate()
                    .filter_map(|(index, column)| {
                        let value = column.as_ref()?.get_ref(row)?;
                        Some((FieldIndex::try_from(index).ok()?, value))
                    });
                kept.push(*ts, fields);
            }
        }
        *self = kept;
        removed as u64
    }
}

fn put(columns: &mut [Option<Column>], field: FieldIndex, column: Column) {
    if let Some(slot) = usize::try_from(field).ok().and_then(|i| columns.get_mut(i)) {
        *slot = Some(column);
    }
}

/// Bytes counted per series beyond its rows: the map entry and the series' own struct.
const SERIES_OVERHEAD_BYTES: u64 = (std::mem::size_of::<SeriesRows>() + 64) as u64;

/// Writes since the last flush.
#[derive(Debug, Default)]
pub(crate) struct Memtable {
    series: HashMap<SeriesId, SeriesRows>,
    points: u64,
    bytes: u64,
    first_write: Option<Instant>,
    max_sequence: WalSequence,
    /// WAL records that are not points (plain-table changes) since the memtable began.
    other_writes: u64,
}

impl Memtable {
    /// Appends a row of series `id` (`fields`: index in the measurement and value).
    pub(crate) fn insert<'v>(
        &mut self,
        id: SeriesId,
        key: &Arc<SeriesKey>,
        timestamp_ns: i64,
        fields: impl IntoIterator<Item = (FieldIndex, FieldRef<'v>)>,
        sequence: WalSequence,
    ) {
        self.first_write.get_or_insert_with(Instant::now);
        self.max_sequence = self.max_sequence.max(sequence);
        self.points += 1;
        let series = self.series.entry(id).or_insert_with(|| {
            self.bytes += SERIES_OVERHEAD_BYTES;
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
            let before = rows.allocated_bytes();
            removed += rows.delete(range);
            let after = rows.allocated_bytes();
            self.bytes = (self.bytes + after).saturating_sub(before);
            if rows.len() == 0 {
                self.series.remove(id);
                self.bytes = self.bytes.saturating_sub(SERIES_OVERHEAD_BYTES + after);
            }
        }
        self.points -= removed;
        removed
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.series.is_empty() && self.other_writes == 0
    }

    /// Records a WAL record that is not points (a plain-table change): the memtable is no
    /// longer empty, so the age trigger and `flush` freeze it and its WAL can be truncated.
    pub(crate) fn note_other_write(&mut self, bytes: u64) {
        self.other_writes += 1;
        self.bytes += bytes;
        self.first_write.get_or_insert_with(Instant::now);
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
    use crate::schema::FieldValue;

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
            values.iter().map(|(i, v)| (*i, v.as_ref())),
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
    fn bytes_count_allocated_capacity() {
        let mut memtable = Memtable::default();
        let fields: Vec<(FieldIndex, f64)> = (0..10).map(|i| (i, 1.0)).collect();
        for ts in 0..1000 {
            insert(&mut memtable, ts, &fields, 1);
        }
        // Ten floats with validity and a timestamp: 98 bytes a row, plus growth slack.
        let bytes = memtable.bytes();
        assert!((98_000..=2 * 98_000 + 4096).contains(&bytes), "{bytes}");
        let rows = memtable.series(SeriesId(1)).unwrap();
        assert_eq!(bytes, SERIES_OVERHEAD_BYTES + rows.allocated_bytes());
        memtable.delete(&[SeriesId(1)], &TimeRange::new(0, 499));
        let rows = memtable.series(SeriesId(1)).unwrap();
        assert_eq!(
            memtable.bytes(),
            SERIES_OVERHEAD_BYTES + rows.allocated_bytes()
        );
        memtable.delete(&[SeriesId(1)], &TimeRange::ALL);
        assert_eq!(memtable.bytes(), 0);
    }

    /// Rows across several chunks, in order and out of order, against a BTreeMap model
    /// (newest value wins per field and timestamp).
    #[test]
    fn rows_across_chunks_match_a_model() {
        use std::collections::BTreeMap;
        let total = 3 * CHUNK_ROWS + 17;
        for in_order in [true, false] {
            let mut memtable = Memtable::default();
            let mut model: BTreeMap<i64, [Option<f64>; 2]> = BTreeMap::new();
            for i in 0..total {
                // Out of order: descending times with every third time written twice.
                let ts = if in_order {
                    i as i64
                } else {
                    (total - i / 3 * 3) as i64
                };
                // Field 1 appears only in the second half, so late chunks create it.
                let mut fields = vec![(0, i as f64)];
                if i > total / 2 {
                    fields.push((1, -(i as f64)));
                }
                insert(&mut memtable, ts, &fields, 1);
                let entry = model.entry(ts).or_default();
                for (field, value) in &fields {
                    entry[*field as usize] = Some(*value);
                }
            }
            let rows = memtable.series(SeriesId(1)).unwrap();
            assert_eq!(rows.len(), total);
            for range in [
                TimeRange::ALL,
                TimeRange::new(CHUNK_ROWS as i64 - 3, 2 * CHUNK_ROWS as i64 + 5),
                TimeRange::new(5, 5),
            ] {
                let run = rows.to_run(&range, &BOTH, 2);
                let expected: Vec<(i64, [Option<f64>; 2])> = model
                    .range(range.min_ns..=range.max_ns)
                    .map(|(ts, values)| (*ts, *values))
                    .collect();
                let got: Vec<(i64, [Option<f64>; 2])> = (0..run.len())
                    .map(|row| {
                        let value = |f: usize| run.columns[f].as_ref().unwrap().float(row);
                        (run.timestamps[row], [value(0), value(1)])
                    })
                    .collect();
                assert_eq!(got, expected, "in_order={in_order} range={range:?}");
            }
            // Deleting across chunk boundaries keeps the rest intact and the bytes honest.
            let middle = TimeRange::new(CHUNK_ROWS as i64, 2 * CHUNK_ROWS as i64);
            let removed = memtable.delete(&[SeriesId(1)], &middle);
            let before = model.len();
            model.retain(|ts, _| !middle.contains(*ts));
            let rows = memtable.series(SeriesId(1)).unwrap();
            assert_eq!(
                rows.to_run(&TimeRange::ALL, &BOTH, 2).len(),
                model.len(),
                "in_order={in_order}"
            );
            assert!(removed as usize >= before - model.len());
            assert_eq!(
                memtable.bytes(),
                SERIES_OVERHEAD_BYTES + rows.allocated_bytes()
            );
        }
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
