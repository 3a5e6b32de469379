//! A [`Run`]: one series' rows in a time range as columns: a sorted, duplicate-free
//! timestamp vector and one optional dense column per field of the measurement. Memtables and
//! segments both produce runs; [`merge_runs`] combines runs of the same series from several
//! sources with newest-wins per field, which is how overwrites become visible before
//! compaction rewrites them away.

use crate::batch::FieldRef;
use crate::limits::BLOCK_ROWS_MAX;
use crate::predicate::TimeRange;
use crate::schema::FieldType;
#[cfg(test)]
use crate::schema::FieldValue;

/// Dense values of one column; rows where the column is null hold a default value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ColumnValues {
    Float(Vec<f64>),
    Integer(Vec<i64>),
    Unsigned(Vec<u64>),
    Boolean(Vec<bool>),
    String(Vec<String>),
}

/// A column with its validity (true where the row has a value).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Column {
    pub(crate) values: ColumnValues,
    pub(crate) valid: Vec<bool>,
}

impl Column {
    pub(crate) fn with_capacity(field_type: FieldType, rows: usize) -> Self {
        let values = match field_type {
            FieldType::Float => ColumnValues::Float(Vec::with_capacity(rows)),
            FieldType::Integer => ColumnValues::Integer(Vec::with_capacity(rows)),
            FieldType::Unsigned => ColumnValues::Unsigned(Vec::with_capacity(rows)),
            FieldType::Boolean => ColumnValues::Boolean(Vec::with_capacity(rows)),
            FieldType::String => ColumnValues::String(Vec::with_capacity(rows)),
        };
        Self {
            values,
            valid: Vec::with_capacity(rows),
        }
    }

    pub(crate) fn push_null(&mut self) {
        match &mut self.values {
            ColumnValues::Float(values) => values.push(0.0),
            ColumnValues::Integer(values) => values.push(0),
            ColumnValues::Unsigned(values) => values.push(0),
            ColumnValues::Boolean(values) => values.push(false),
            ColumnValues::String(values) => values.push(String::new()),
        }
        self.valid.push(false);
    }

    /// Appends `count` nulls.
    pub(crate) fn push_nulls(&mut self, count: usize) {
        match &mut self.values {
            ColumnValues::Float(values) => values.resize(values.len() + count, 0.0),
            ColumnValues::Integer(values) => values.resize(values.len() + count, 0),
            ColumnValues::Unsigned(values) => values.resize(values.len() + count, 0),
            ColumnValues::Boolean(values) => values.resize(values.len() + count, false),
            ColumnValues::String(values) => values.resize(values.len() + count, String::new()),
        }
        self.valid.resize(self.valid.len() + count, false);
    }

    /// Appends a value; a value of another type than the column is a caller bug that the
    /// schema check prevents, and is stored as null in release builds.
    #[cfg(test)]
    pub(crate) fn push_value(&mut self, value: &FieldValue) {
        match (&mut self.values, value) {
            (ColumnValues::Float(values), FieldValue::Float(v)) => values.push(*v),
            (ColumnValues::Integer(values), FieldValue::Integer(v)) => values.push(*v),
            (ColumnValues::Unsigned(values), FieldValue::Unsigned(v)) => values.push(*v),
            (ColumnValues::Boolean(values), FieldValue::Boolean(v)) => values.push(*v),
            (ColumnValues::String(values), FieldValue::String(v)) => values.push(v.clone()),
            _ => {
                debug_assert!(false, "value type differs from column type");
                return self.push_null();
            }
        }
        self.valid.push(true);
    }

    /// Appends a borrowed value; like [`Self::push_value`].
    pub(crate) fn push_ref(&mut self, value: FieldRef<'_>) {
        match (&mut self.values, value) {
            (ColumnValues::Float(values), FieldRef::Float(v)) => values.push(v),
            (ColumnValues::Integer(values), FieldRef::Integer(v)) => values.push(v),
            (ColumnValues::Unsigned(values), FieldRef::Unsigned(v)) => values.push(v),
            (ColumnValues::Boolean(values), FieldRef::Boolean(v)) => values.push(v),
            (ColumnValues::String(values), FieldRef::String(v)) => values.push(v.to_owned()),
            _ => {
                debug_assert!(false, "value type differs from column type");
                return self.push_null();
            }
        }
        self.valid.push(true);
    }

    /// Appends row `row` of `source` (same type).
    pub(crate) fn push_from(&mut self, source: &Column, row: usize) {
        if !source.valid.get(row).copied().unwrap_or(false) {
            return self.push_null();
        }
        match (&mut self.values, &source.values) {
            (ColumnValues::Float(target), ColumnValues::Float(values)) => {
                target.push(values.get(row).copied().unwrap_or_default());
            }
            (ColumnValues::Integer(target), ColumnValues::Integer(values)) => {
                target.push(values.get(row).copied().unwrap_or_default());
            }
            (ColumnValues::Unsigned(target), ColumnValues::Unsigned(values)) => {
                target.push(values.get(row).copied().unwrap_or_default());
            }
            (ColumnValues::Boolean(target), ColumnValues::Boolean(values)) => {
                target.push(values.get(row).copied().unwrap_or_default());
            }
            (ColumnValues::String(target), ColumnValues::String(values)) => {
                target.push(values.get(row).cloned().unwrap_or_default());
            }
            _ => {
                debug_assert!(false, "merging columns of different types");
                return self.push_null();
            }
        }
        self.valid.push(true);
    }

    /// Rows held (values and validity have the same length).
    pub(crate) fn len(&self) -> usize {
        self.valid.len()
    }

    /// Bytes of the column's vectors (capacity, so growth slack counts), without the
    /// contents of strings (see [`Self::string_bytes`]).
    pub(crate) fn capacity_bytes(&self) -> usize {
        fn capacity<T>(values: &Vec<T>) -> usize {
            values.capacity() * std::mem::size_of::<T>()
        }
        let values = match &self.values {
            ColumnValues::Float(v) => capacity(v),
            ColumnValues::Integer(v) => capacity(v),
            ColumnValues::Unsigned(v) => capacity(v),
            ColumnValues::Boolean(v) => capacity(v),
            ColumnValues::String(v) => capacity(v),
        };
        values + capacity(&self.valid)
    }

    pub(crate) fn field_type(&self) -> FieldType {
        match self.values {
            ColumnValues::Float(_) => FieldType::Float,
            ColumnValues::Integer(_) => FieldType::Integer,
            ColumnValues::Unsigned(_) => FieldType::Unsigned,
            ColumnValues::Boolean(_) => FieldType::Boolean,
            ColumnValues::String(_) => FieldType::String,
        }
    }

    /// Appends rows `start..end` of `source` (same type; a different type appends nulls).
    pub(crate) fn extend_from(&mut self, source: &Column, start: usize, end: usize) {
        fn part<T: Clone>(values: &[T], start: usize, end: usize) -> &[T] {
            values.get(start..end).unwrap_or_default()
        }
        let before = self.len();
        match (&mut self.values, &source.values) {
            (ColumnValues::Float(target), ColumnValues::Float(v)) => {
                target.extend_from_slice(part(v, start, end));
            }
            (ColumnValues::Integer(target), ColumnValues::Integer(v)) => {
                target.extend_from_slice(part(v, start, end));
            }
            (ColumnValues::Unsigned(target), ColumnValues::Unsigned(v)) => {
                target.extend_from_slice(part(v, start, end));
            }
            (ColumnValues::Boolean(target), ColumnValues::Boolean(v)) => {
                target.extend_from_slice(part(v, start, end));
            }
            (ColumnValues::String(target), ColumnValues::String(v)) => {
                target.extend_from_slice(part(v, start, end));
            }
            _ => {
                debug_assert!(false, "extending a column from another type");
                (start..end).for_each(|_| self.push_null());
                return;
            }
        }
        self.valid
            .extend_from_slice(part(&source.valid, start, end));
        debug_assert_eq!(self.len(), before + end.saturating_sub(start));
    }

    /// Row `row` as a borrowed value; `None` when null or out of range.
    pub(crate) fn get_ref(&self, row: usize) -> Option<FieldRef<'_>> {
        if !self.is_valid(row) {
            return None;
        }
        Some(match &self.values {
            ColumnValues::Float(v) => FieldRef::Float(*v.get(row)?),
            ColumnValues::Integer(v) => FieldRef::Integer(*v.get(row)?),
            ColumnValues::Unsigned(v) => FieldRef::Unsigned(*v.get(row)?),
            ColumnValues::Boolean(v) => FieldRef::Boolean(*v.get(row)?),
            ColumnValues::String(v) => FieldRef::String(v.get(row)?),
        })
    }

    /// A copy of the given rows, in the given order.
    pub(crate) fn select(&self, rows: &[usize]) -> Self {
        fn pick<T: Clone + Default>(values: &[T], rows: &[usize]) -> Vec<T> {
            rows.iter()
                .map(|row| values.get(*row).cloned().unwrap_or_default())
                .collect()
        }
        let values = match &self.values {
            ColumnValues::Float(v) => ColumnValues::Float(pick(v, rows)),
            ColumnValues::Integer(v) => ColumnValues::Integer(pick(v, rows)),
            ColumnValues::Unsigned(v) => ColumnValues::Unsigned(pick(v, rows)),
            ColumnValues::Boolean(v) => ColumnValues::Boolean(pick(v, rows)),
            ColumnValues::String(v) => ColumnValues::String(pick(v, rows)),
        };
        Self {
            values,
            valid: pick(&self.valid, rows),
        }
    }

    pub(crate) fn is_valid(&self, row: usize) -> bool {
        self.valid.get(row).copied().unwrap_or(false)
    }

    #[cfg(test)]
    pub(crate) fn float(&self, row: usize) -> Option<f64> {
        match &self.values {
            ColumnValues::Float(values) if self.is_valid(row) => values.get(row).copied(),
            _ => None,
        }
    }

    pub(crate) fn boolean(&self, row: usize) -> Option<bool> {
        match &self.values {
            ColumnValues::Boolean(values) if self.is_valid(row) => values.get(row).copied(),
            _ => None,
        }
    }

    pub(crate) fn string(&self, row: usize) -> Option<&str> {
        match &self.values {
            ColumnValues::String(values) if self.is_valid(row) => {
                values.get(row).map(String::as_str)
            }
            _ => None,
        }
    }

    #[cfg(test)]
    pub(crate) fn value(&self, row: usize) -> Option<FieldValue> {
        if !self.is_valid(row) {
            return None;
        }
        Some(match &self.values {
            ColumnValues::Float(values) => FieldValue::Float(*values.get(row)?),
            ColumnValues::Integer(values) => FieldValue::Integer(*values.get(row)?),
            ColumnValues::Unsigned(values) => FieldValue::Unsigned(*values.get(row)?),
            ColumnValues::Boolean(values) => FieldValue::Boolean(*values.get(row)?),
            ColumnValues::String(values) => FieldValue::String(values.get(row)?.clone()),
        })
    }
}

/// Rows of one series, columnar: `columns[i]` is field `i` of the measurement, `None` when
/// the field was not asked for (or has no value in any row).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Run {
    pub(crate) timestamps: Vec<i64>,
    pub(crate) columns: Vec<Option<Column>>,
}

impl Run {
    pub(crate) fn len(&self) -> usize {
        self.timestamps.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// Keeps rows whose timestamp satisfies `keep`.
    pub(crate) fn retain_rows(&mut self, keep: impl Fn(i64) -> bool) {
        let rows: Vec<usize> = (0..self.len())
            .filter(|row| self.timestamps.get(*row).is_some_and(|ts| keep(*ts)))
            .collect();
        if rows.len() == self.len() {
            return;
        }
        *self = self.select_rows(&rows);
    }

    pub(crate) fn select_rows(&self, rows: &[usize]) -> Run {
        let timestamps = rows
            .iter()
            .filter_map(|row| self.timestamps.get(*row))
            .copied()
            .collect();
        let columns = self
            .columns
            .iter()
            .map(|column| column.as_ref().map(|column| column.select(rows)))
            .collect();
        Run {
            timestamps,
            columns,
        }
    }

    /// A copy of the rows within `range`.
    pub(crate) fn time_slice(&self, range: &TimeRange) -> Run {
        let start = self.timestamps.partition_point(|ts| *ts < range.min_ns);
        let end = self.timestamps.partition_point(|ts| *ts <= range.max_ns);
        if start == 0 && end == self.len() {
            return self.clone();
        }
        let end = end.max(start);
        let columns = self
            .columns
            .iter()
            .map(|column| {
                column.as_ref().map(|column| {
                    let mut part = empty_like(column, end - start);
                    part.extend_from(column, start, end);
                    part
                })
            })
            .collect();
        Run {
            timestamps: self.timestamps.get(start..end).unwrap_or_default().to_vec(),
            columns,
        }
    }

    /// The first timestamp of the block of (at most [`BLOCK_ROWS_MAX`]) rows that ends
    /// with the newest row at or before `hi`; `None` when no row is at or before `hi`.
    /// Backward reads step through memtable rows a block at a time, as through a segment's
    /// chunks.
    pub(crate) fn block_start(&self, hi: i64) -> Option<&i64> {
        let end = self.timestamps.partition_point(|ts| *ts <= hi);
        let last = end.checked_sub(1)?;
        self.timestamps.get(last.saturating_sub(BLOCK_ROWS_MAX - 1))
    }

    /// Appends `other`, whose rows all come after this run's rows.
    pub(crate) fn append(&mut self, other: Run) {
        debug_assert!(
            self.timestamps
                .last()
                .zip(other.timestamps.first())
                .is_none_or(|(a, b)| a < b)
        );
        let rows = other.len();
        let existing = self.len();
        if existing == 0 {
            *self = other;
            return;
        }
        let other_width = other.columns.len();
        if self.columns.len() < other_width {
            self.columns.resize(other_width, None);
        }
        for target in self.columns.iter_mut().skip(other_width).flatten() {
            target.push_nulls(rows);
        }
        for (index, column) in other.columns.into_iter().enumerate() {
            let Some(column) = column else {
                if let Some(Some(target)) = self.columns.get_mut(index) {
                    target.push_nulls(rows);
                }
                continue;
            };
            let slot = self.columns.get_mut(index).expect("resized above");
            let target = slot.get_or_insert_with(|| {
                let mut target = empty_like(&column, existing + rows);
                target.push_nulls(existing);
                target
            });
            target.extend_from(&column, 0, rows);
        }
        self.timestamps.extend(other.timestamps);
    }
}

fn empty_like(column: &Column, rows: usize) -> Column {
    Column::with_capacity(column.field_type(), rows)
}

/// Merges runs of one series given oldest first. Rows with the same timestamp combine field
/// by field, the newest non-null value winning (InfluxDB's overwrite semantics).
pub(crate) fn merge_runs(mut runs: Vec<Run>) -> Run {
    runs.retain(|run| !run.is_empty());
    match runs.len() {
        0 => return Run::default(),
        1 => return runs.pop().expect("one run"),
        _ => {}
    }
    // Runs that share no timestamp need no newest-wins merge, whatever their age order:
    // sources of different partitions come in sequence order, not time order.
    let mut by_time: Vec<usize> = (0..runs.len()).collect();
    by_time.sort_by_key(|run| runs.get(*run).and_then(|r| r.timestamps.first()).copied());
    let disjoint = by_time.windows(2).all(|pair| match pair {
        [left, right] => {
            let last = runs.get(*left).and_then(|r| r.timestamps.last());
            let first = runs.get(*right).and_then(|r| r.timestamps.first());
            last < first
        }
        _ => true,
    });
    if !disjoint {
        return merge_overlapping(&runs);
    }
    let mut slots: Vec<Option<Run>> = runs.into_iter().map(Some).collect();
    let mut merged = Run::default();
    for run in by_time {
        if let Some(run) = slots.get_mut(run).and_then(Option::take) {
            merged.append(run);
        }
    }
    merged
}

fn merge_overlapping(runs: &[Run]) -> Run {
    // (timestamp, run, row), sorted by time then by run age, so the last of a group is newest.
    let mut order: Vec<(i64, usize, usize)> = runs
        .iter()
        .enumerate()
        .flat_map(|(run, r)| {
            r.timestamps
                .iter()
                .enumerate()
                .map(move |(row, ts)| (*ts, run, row))
        })
        .collect();
    order.sort_unstable();
    let width = runs.iter().map(|run| run.columns.len()).max().unwrap_or(0);
    let mut merged = Run {
        timestamps: Vec::new(),
        columns: vec![None; width],
    };
    for group in order.chunk_by(|left, right| left.0 == right.0) {
        let Some((timestamp, _, _)) = group.first() else {
            continue;
        };
        merged.timestamps.push(*timestamp);
        for field in 0..width {
            merge_field(
                runs,
                group,
                field,
                &mut merged.columns,
                merged.timestamps.len() - 1,
            );
        }
    }
    merged
}

fn merge_field(
    runs: &[Run],
    group: &[(i64, usize, usize)],
    field: usize,
    columns: &mut [Option<Column>],
    existing_rows: usize,
) {
    let newest = group.iter().rev().find_map(|(_, run, row)| {
        let column = runs.get(*run)?.columns.get(field)?.as_ref()?;
        column.is_valid(*row).then_some((column, *row))
    });
    let Some(slot) = columns.get_mut(field) else {
        return;
    };
    match (newest, slot.as_mut()) {
        (Some((source, row)), Some(target)) => target.push_from(source, row),
        (Some((source, row)), None) => {
            let mut target = empty_like(source, existing_rows + 1);
            (0..existing_rows).for_each(|_| target.push_null());
            target.push_from(source, row);
            *slot = Some(target);
        }
        (None, Some(target)) => target.push_null(),
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rows: &[(i64, Option<f64>, Option<i64>)]) -> Run {
        let mut floats = Column::with_capacity(FieldType::Float, rows.len());
        let mut ints = Column::with_capacity(FieldType::Integer, rows.len());
        for (_, float, int) in rows {
            match float {
                Some(v) => floats.push_value(&FieldValue::Float(*v)),
                None => floats.push_null(),
            }
            match int {
                Some(v) => ints.push_value(&FieldValue::Integer(*v)),
                None => ints.push_null(),
            }
        }
        Run {
            timestamps: rows.iter().map(|(ts, _, _)| *ts).collect(),
            columns: vec![Some(floats), Some(ints)],
        }
    }

    fn rows(run: &Run) -> Vec<(i64, Option<FieldValue>, Option<FieldValue>)> {
        (0..run.len())
            .map(|row| {
                let value = |field: usize| {
                    run.columns
                        .get(field)
                        .and_then(|c| c.as_ref())
                        .and_then(|c| c.value(row))
                };
                (run.timestamps[row], value(0), value(1))
            })
            .collect()
    }

    #[test]
    fn newest_wins_per_field() {
        let old = run(&[(1, Some(1.0), Some(10)), (2, Some(2.0), Some(20))]);
        let new = run(&[(2, Some(2.5), None), (3, None, Some(30))]);
        let merged = merge_runs(vec![old, new]);
        assert_eq!(
            rows(&merged),
            vec![
                (
                    1,
                    Some(FieldValue::Float(1.0)),
                    Some(FieldValue::Integer(10))
                ),
                (
                    2,
                    Some(FieldValue::Float(2.5)),
                    Some(FieldValue::Integer(20))
                ),
                (3, None, Some(FieldValue::Integer(30))),
            ]
        );
    }

    #[test]
    fn disjoint_runs_concatenate_and_missing_columns_become_null() {
        let old = run(&[(1, Some(1.0), Some(10))]);
        let mut new = run(&[(5, Some(5.0), None)]);
        new.columns[1] = None;
        let merged = merge_runs(vec![old, new]);
        assert_eq!(
            rows(&merged),
            vec![
                (
                    1,
                    Some(FieldValue::Float(1.0)),
                    Some(FieldValue::Integer(10))
                ),
                (5, Some(FieldValue::Float(5.0)), None),
            ]
        );
    }

    #[test]
    fn disjoint_runs_out_of_time_order_concatenate_in_time_order() {
        // Sources come oldest-write first; a later partition's segment can precede an
        // earlier partition's compacted one.
        let later = run(&[(10, Some(10.0), None), (11, None, Some(11))]);
        let earlier = run(&[(1, Some(1.0), Some(1)), (2, Some(2.0), None)]);
        let middle = run(&[(5, None, Some(5))]);
        let merged = merge_runs(vec![later, earlier, middle]);
        assert_eq!(merged.timestamps, vec![1, 2, 5, 10, 11]);
        assert_eq!(
            rows(&merged),
            vec![
                (
                    1,
                    Some(FieldValue::Float(1.0)),
                    Some(FieldValue::Integer(1))
                ),
                (2, Some(FieldValue::Float(2.0)), None),
                (5, None, Some(FieldValue::Integer(5))),
                (10, Some(FieldValue::Float(10.0)), None),
                (11, None, Some(FieldValue::Integer(11))),
            ]
        );
    }

    #[test]
    fn retain_rows_filters_every_column() {
        let mut all = run(&[
            (1, Some(1.0), None),
            (2, None, Some(2)),
            (3, Some(3.0), Some(3)),
        ]);
        all.retain_rows(|ts| ts != 2);
        assert_eq!(
            rows(&all),
            vec![
                (1, Some(FieldValue::Float(1.0)), None),
                (
                    3,
                    Some(FieldValue::Float(3.0)),
                    Some(FieldValue::Integer(3))
                ),
            ]
        );
    }
}
