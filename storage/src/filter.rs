//! Row filters a scan applies before it builds Arrow columns: `field <op> constant`
//! comparisons ([`FieldFilter`]), all of which must hold. The query layer still evaluates its
//! own filter on what the scan returns; these only let the scan skip rows (and, where no other
//! source overlaps, whole chunks) that cannot pass, so they must never drop a row that would.
//!
//! Semantics are those of Arrow's comparison kernels, which DataFusion evaluates: a null never
//! passes; floats compare by IEEE total order (NaN above every number and equal to itself,
//! -0.0 below 0.0).

use std::cmp::Ordering;

use crate::error::{Error, Result};
use crate::run::{Column, ColumnValues, Run};
use crate::schema::{FieldIndex, FieldType, FieldValue, MeasurementSchema};
use crate::segment::BlockStats;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `=`
    Eq,
    /// `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

impl Comparison {
    /// Whether `ordering` (of the row's value against the constant) satisfies the operator.
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Self::Eq => ordering == Ordering::Equal,
            Self::NotEq => ordering != Ordering::Equal,
            Self::Lt => ordering == Ordering::Less,
            Self::LtEq => ordering != Ordering::Greater,
            Self::Gt => ordering == Ordering::Greater,
            Self::GtEq => ordering != Ordering::Less,
        }
    }

    /// The SQL spelling.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::NotEq => "<>",
            Self::Lt => "<",
            Self::LtEq => "<=",
            Self::Gt => ">",
            Self::GtEq => ">=",
        }
    }
}

/// `field <op> value`; the value has the field's type.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldFilter {
    /// The field's name.
    pub field: String,
    /// The operator.
    pub op: Comparison,
    /// The constant, of the field's type.
    pub value: FieldValue,
}

/// A filter with its field resolved against the measurement's schema.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResolvedFilter {
    pub(crate) index: FieldIndex,
    pub(crate) name: String,
    pub(crate) field_type: FieldType,
    pub(crate) op: Comparison,
    pub(crate) value: FieldValue,
}

/// Resolves `filters` against `schema`: an unknown field or a constant of another type than
/// the field is the caller's error.
pub(crate) fn resolve(
    schema: &MeasurementSchema,
    filters: &[FieldFilter],
) -> Result<Vec<ResolvedFilter>> {
    filters
        .iter()
        .map(|filter| {
            let Some((index, field_type)) = schema.field(&filter.field) else {
                return Err(Error::UnknownColumn {
                    measurement: schema.name.clone(),
                    column: filter.field.clone(),
                });
            };
            if filter.value.field_type() != field_type {
                return Err(Error::FilterTypeMismatch {
                    measurement: schema.name.clone(),
                    field: filter.field.clone(),
                    existing: field_type,
                    offered: filter.value.field_type(),
                });
            }
            Ok(ResolvedFilter {
                index,
                name: filter.field.clone(),
                field_type,
                op: filter.op,
                value: filter.value.clone(),
            })
        })
        .collect()
}

impl ResolvedFilter {
    /// Whether row `row` of `column` (this filter's field) passes.
    pub(crate) fn passes(&self, column: &Column, row: usize) -> bool {
        if !column.is_valid(row) {
            return false;
        }
        let ordering = match (&column.values, &self.value) {
            (ColumnValues::Float(v), FieldValue::Float(c)) => v.get(row).map(|v| v.total_cmp(c)),
            (ColumnValues::Integer(v), FieldValue::Integer(c)) => v.get(row).map(|v| v.cmp(c)),
            (ColumnValues::Unsigned(v), FieldValue::Unsigned(c)) => v.get(row).map(|v| v.cmp(c)),
            (ColumnValues::Boolean(v), FieldValue::Boolean(c)) => v.get(row).map(|v| v.cmp(c)),
            (ColumnValues::String(v), FieldValue::String(c)) => {
                v.get(row).map(|v| v.as_str().cmp(c.as_str()))
            }
            // A column of another type cannot be this field's: keep the row, the query
            // layer decides.
            _ => return true,
        };
        ordering.is_some_and(|ordering| self.op.holds(ordering))
    }

    /// Whether no row of a block with these statistics, `present` values among `rows`, can
    /// pass. Conservative: bounds are compared strictly, so the signed zeros (equal to
    /// `min`/`max` but ordered by total order) never prune, and a block holding NaN (its sum
    /// is NaN; min and max leave NaN out) is never ruled out.
    pub(crate) fn rules_out_block(&self, stats: &BlockStats, present: u32) -> bool {
        if present == 0 {
            return true;
        }
        match (stats, &self.value) {
            (BlockStats::Float { min, max, sum }, FieldValue::Float(c)) => {
                !sum.is_nan() && bounds_rule_out(self.op, min.partial_cmp(c), max.partial_cmp(c))
            }
            (BlockStats::Integer { min, max, .. }, FieldValue::Integer(c)) => {
                bounds_rule_out(self.op, Some(min.cmp(c)), Some(max.cmp(c)))
            }
            (BlockStats::Unsigned { min, max, .. }, FieldValue::Unsigned(c)) => {
                bounds_rule_out(self.op, Some(min.cmp(c)), Some(max.cmp(c)))
            }
            _ => false,
        }
    }
}

/// Whether every value in `[min, max]` fails `op` against the constant, given how min and
/// max compare with it; strict comparisons only.
fn bounds_rule_out(op: Comparison, min: Option<Ordering>, max: Option<Ordering>) -> bool {
    let (Some(min), Some(max)) = (min, max) else {
        return false;
    };
    match op {
        Comparison::Eq => min == Ordering::Greater || max == Ordering::Less,
        Comparison::NotEq => false,
        Comparison::Lt | Comparison::LtEq => min == Ordering::Greater,
        Comparison::Gt | Comparison::GtEq => max == Ordering::Less,
    }
}

/// The rows of `run` that pass every filter, or `None` when all do.
pub(crate) fn passing_rows(run: &Run, filters: &[ResolvedFilter]) -> Option<Vec<usize>> {
    if filters.is_empty() {
        return None;
    }
    let columns: Vec<(&ResolvedFilter, Option<&Column>)> = filters
        .iter()
        .map(|filter| {
            let column = usize::try_from(filter.index)
                .ok()
                .and_then(|index| run.columns.get(index))
                .and_then(Option::as_ref);
            (filter, column)
        })
        .collect();
    let rows: Vec<usize> = (0..run.len())
        .filter(|row| {
            columns
                .iter()
                .all(|(filter, column)| column.is_some_and(|column| filter.passes(column, *row)))
        })
        .collect();
    (rows.len() < run.len()).then_some(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(op: Comparison, value: FieldValue) -> ResolvedFilter {
        ResolvedFilter {
            index: 0,
            name: "x".into(),
            field_type: value.field_type(),
            op,
            value,
        }
    }

    fn floats(values: &[Option<f64>]) -> Column {
        let mut column = Column::with_capacity(FieldType::Float, values.len());
        for value in values {
            match value {
                Some(v) => column.push_value(&FieldValue::Float(*v)),
                None => column.push_null(),
            }
        }
        column
    }

    #[test]
    fn rows_compare_like_arrow_and_nulls_never_pass() {
        let column = floats(&[Some(1.0), None, Some(f64::NAN), Some(-0.0), Some(95.5)]);
        let passing = |op, c: f64| -> Vec<usize> {
            let f = filter(op, FieldValue::Float(c));
            (0..column.len())
                .filter(|r| f.passes(&column, *r))
                .collect()
        };
        assert_eq!(passing(Comparison::Gt, 90.0), vec![2, 4]);
        assert_eq!(passing(Comparison::Lt, 0.0), vec![3]);
        assert_eq!(passing(Comparison::Eq, 0.0), Vec::<usize>::new());
        assert_eq!(passing(Comparison::Eq, f64::NAN), vec![2]);
        assert_eq!(passing(Comparison::NotEq, 1.0), vec![2, 3, 4]);
        assert_eq!(passing(Comparison::LtEq, 1.0), vec![0, 3]);
        assert_eq!(passing(Comparison::GtEq, 95.5), vec![2, 4]);
    }

    #[test]
    fn passing_rows_needs_every_filter_and_the_column() {
        let run = Run {
            timestamps: vec![1, 2, 3],
            columns: vec![Some(floats(&[Some(1.0), Some(50.0), Some(99.0)])), None],
        };
        let above = filter(Comparison::Gt, FieldValue::Float(10.0));
        let below = filter(Comparison::Lt, FieldValue::Float(60.0));
        assert_eq!(passing_rows(&run, &[above.clone(), below]), Some(vec![1]));
        assert_eq!(passing_rows(&run, &[]), None);
        let all = filter(Comparison::Gt, FieldValue::Float(0.0));
        assert_eq!(passing_rows(&run, &[all]), None);
        let absent = ResolvedFilter { index: 1, ..above };
        assert_eq!(passing_rows(&run, &[absent]), Some(vec![]));
    }

    #[test]
    fn block_statistics_prune_only_when_no_value_can_pass() {
        let stats = BlockStats::Float {
            min: 10.0,
            max: 90.0,
            sum: 500.0,
        };
        let rules_out = |op, c: f64| filter(op, FieldValue::Float(c)).rules_out_block(&stats, 10);
        assert!(rules_out(Comparison::Gt, 95.0));
        assert!(!rules_out(Comparison::Gt, 90.0), "equal bounds are kept");
        assert!(!rules_out(Comparison::Gt, 50.0));
        assert!(rules_out(Comparison::Lt, 5.0));
        assert!(!rules_out(Comparison::LtEq, 10.0));
        assert!(rules_out(Comparison::Eq, 95.0) && rules_out(Comparison::Eq, 5.0));
        assert!(!rules_out(Comparison::Eq, 50.0));
        assert!(!rules_out(Comparison::NotEq, 50.0));
        let with_nan = BlockStats::Float {
            min: 10.0,
            max: 90.0,
            sum: f64::NAN,
        };
        let above = filter(Comparison::Gt, FieldValue::Float(95.0));
        assert!(
            !above.rules_out_block(&with_nan, 10),
            "NaN is above every number"
        );
        assert!(
            above.rules_out_block(&stats, 0),
            "a block of nulls has no passing row"
        );
        let ints = BlockStats::Integer {
            min: -5,
            max: 5,
            sum: 0,
        };
        assert!(filter(Comparison::GtEq, FieldValue::Integer(6)).rules_out_block(&ints, 3));
        assert!(!filter(Comparison::GtEq, FieldValue::Integer(5)).rules_out_block(&ints, 3));
    }
}
