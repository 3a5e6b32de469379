//! Filters DataFusion offers a measurement scan, turned into the storage engine's
//! [`Predicate`]: a time range (partition, segment and chunk pruning) and tag predicates
//! (the inverted index), plus, for scans, [`FieldFilter`]s (`field <op> constant`, which skip
//! rows before columns are built and chunks by their statistics). DELETE takes only the
//! predicate. Every filter the storage can use is reported `Inexact`, so
//! DataFusion still evaluates it on the rows returned: pruning can only drop data that the
//! filter would drop anyway, and the SQL result never depends on how much was pruned.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator, expr::InList};
use rusts_storage::{
    Comparison, FieldFilter, FieldType, FieldValue, Predicate, TagPredicate, TimeRange,
};

/// What the scan knows about its columns.
pub(crate) trait ColumnRoles {
    fn is_time(&self, column: &str) -> bool;
    fn is_tag(&self, column: &str) -> bool;
    /// The storage type of a field column; `None` for other columns.
    fn field_type(&self, column: &str) -> Option<FieldType>;
}

/// What the storage takes from a query's filters.
#[derive(Debug, Default)]
pub(crate) struct Pushed {
    pub(crate) predicate: Predicate,
    /// Field comparisons, used only when `with_fields` was asked for.
    pub(crate) filters: Vec<FieldFilter>,
    with_fields: bool,
}

/// Whether a scan can use `filter` to prune (the filter is kept above the scan anyway).
pub(crate) fn is_prunable(filter: &Expr, columns: &dyn ColumnRoles) -> bool {
    apply(filter, columns, &mut Pushed::scan())
}

/// What a scan takes from all of `filters` (their conjunction).
pub(crate) fn scan_pushdown(filters: &[Expr], columns: &dyn ColumnRoles) -> Pushed {
    let mut pushed = Pushed::scan();
    for filter in filters {
        apply(filter, columns, &mut pushed);
    }
    pushed
}

impl Pushed {
    fn scan() -> Self {
        Self {
            with_fields: true,
            ..Self::default()
        }
    }
}

/// Whether the storage selects exactly the rows `filter` keeps (every part of it is a time
/// bound or a tag predicate), so a DELETE may hand it over whole.
pub(crate) fn is_exact(filter: &Expr, columns: &dyn ColumnRoles) -> bool {
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) if *op == Operator::And => {
            is_exact(left, columns) && is_exact(right, columns)
        }
        other => apply(other, columns, &mut Pushed::default()),
    }
}

/// The storage predicate (time range and tags, no field filters) implied by all of
/// `filters` (their conjunction).
pub(crate) fn predicate(filters: &[Expr], columns: &dyn ColumnRoles) -> Predicate {
    let mut pushed = Pushed::default();
    for filter in filters {
        apply(filter, columns, &mut pushed);
    }
    pushed.predicate
}

/// Narrows `pushed` by `filter` where it can; returns whether it could.
fn apply(filter: &Expr, columns: &dyn ColumnRoles, pushed: &mut Pushed) -> bool {
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) if *op == Operator::And => {
            // Each side narrows on its own; a side the storage cannot use is left to
            // DataFusion.
            let left = apply(left, columns, pushed);
            let right = apply(right, columns, pushed);
            left || right
        }
        Expr::BinaryExpr(BinaryExpr { op, .. }) if *op == Operator::Or => {
            // DataFusion rewrites a short `tag IN (…)` into `tag = … OR tag = …`.
            let Some((column, values)) = equality_alternatives(filter) else {
                return false;
            };
            if !columns.is_tag(column) {
                return false;
            }
            pushed.predicate.tags.push(TagPredicate::In {
                key: column.to_owned(),
                values,
            });
            true
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            match (
                column_name(left),
                literal(right),
                column_name(right),
                literal(left),
            ) {
                (Some(column), Some(value), _, _) => compare(column, *op, value, columns, pushed),
                (_, _, Some(column), Some(value)) => match op.swap() {
                    Some(swapped) => compare(column, swapped, value, columns, pushed),
                    None => false,
                },
                _ => false,
            }
        }
        // `WHERE flag` and `WHERE NOT flag` on a boolean field.
        Expr::Column(_) => boolean_field(filter, true, columns, pushed),
        Expr::Not(inner) => boolean_field(inner, false, columns, pushed),
        Expr::Between(between) => apply_between(between, columns, &mut pushed.predicate),
        Expr::InList(in_list) => apply_in_list(in_list, columns, &mut pushed.predicate),
        Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
            let Some(column) = column_name(inner).filter(|c| columns.is_tag(c)) else {
                return false;
            };
            let key = column.to_owned();
            pushed
                .predicate
                .tags
                .push(if matches!(filter, Expr::IsNull(_)) {
                    TagPredicate::IsNull { key }
                } else {
                    TagPredicate::IsNotNull { key }
                });
            true
        }
        _ => false,
    }
}

/// `c = 'x' OR c = 'y' OR …` on one column: the column and the values.
fn equality_alternatives(expr: &Expr) -> Option<(&str, Vec<String>)> {
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) if *op == Operator::Or => {
            let (column, mut values) = equality_alternatives(left)?;
            let (other, more) = equality_alternatives(right)?;
            if column != other {
                return None;
            }
            values.extend(more);
            Some((column, values))
        }
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        }) => match (
            column_name(left),
            literal(right),
            column_name(right),
            literal(left),
        ) {
            (Some(column), Some(value), _, _) | (_, _, Some(column), Some(value)) => {
                Some((column, vec![text(value)?]))
            }
            _ => None,
        },
        _ => None,
    }
}

/// `time BETWEEN low AND high`.
fn apply_between(between: &Between, columns: &dyn ColumnRoles, predicate: &mut Predicate) -> bool {
    let Between {
        expr,
        negated,
        low,
        high,
    } = between;
    let (Some(column), Some(low), Some(high)) = (column_name(expr), literal(low), literal(high))
    else {
        return false;
    };
    if *negated || !columns.is_time(column) {
        return false;
    }
    match (timestamp_ns(low), timestamp_ns(high)) {
        (Some(low), Some(high)) => {
            narrow(predicate, TimeRange::new(low, high));
            true
        }
        _ => false,
    }
}

/// `tag [NOT] IN (values)`.
fn apply_in_list(in_list: &InList, columns: &dyn ColumnRoles, predicate: &mut Predicate) -> bool {
    let InList {
        expr,
        list,
        negated,
    } = in_list;
    let Some(column) = column_name(expr).filter(|c| columns.is_tag(c)) else {
        return false;
    };
    let values: Option<Vec<String>> = list.iter().map(|e| text(literal(e)?)).collect();
    let Some(values) = values else {
        return false;
    };
    let key = column.to_owned();
    predicate.tags.push(if *negated {
        TagPredicate::NotIn { key, values }
    } else {
        TagPredicate::In { key, values }
    });
    true
}

/// `column op value`.
fn compare(
    column: &str,
    op: Operator,
    value: &ScalarValue,
    columns: &dyn ColumnRoles,
    pushed: &mut Pushed,
) -> bool {
    if columns.is_time(column) {
        let Some(ns) = timestamp_ns(value) else {
            return false;
        };
        let range = match op {
            Operator::Eq => TimeRange::new(ns, ns),
            Operator::Gt => TimeRange::new(ns.saturating_add(1), i64::MAX),
            Operator::GtEq => TimeRange::new(ns, i64::MAX),
            Operator::Lt => TimeRange::new(i64::MIN, ns.saturating_sub(1)),
            Operator::LtEq => TimeRange::new(i64::MIN, ns),
            _ => return false,
        };
        narrow(&mut pushed.predicate, range);
        return true;
    }
    if let Some(field_type) = columns.field_type(column) {
        return pushed.with_fields && compare_field(column, field_type, op, value, pushed);
    }
    if !columns.is_tag(column) {
        return false;
    }
    let key = column.to_owned();
    let tag = match (op, text(value)) {
        (Operator::Eq, Some(value)) => TagPredicate::Eq { key, value },
        (Operator::NotEq, Some(value)) => TagPredicate::NotEq { key, value },
        (Operator::RegexMatch | Operator::RegexNotMatch, Some(pattern)) => TagPredicate::Regex {
            key,
            pattern,
            negated: op == Operator::RegexNotMatch,
        },
        _ => return false,
    };
    pushed.predicate.tags.push(tag);
    true
}

/// A boolean field used as a condition: `flag` is `flag = true`, `NOT flag` is
/// `flag = false`.
fn boolean_field(expr: &Expr, value: bool, columns: &dyn ColumnRoles, pushed: &mut Pushed) -> bool {
    match column_name(expr) {
        Some(column) if columns.field_type(column) == Some(FieldType::Boolean) => compare(
            column,
            Operator::Eq,
            &ScalarValue::Boolean(Some(value)),
            columns,
            pushed,
        ),
        _ => false,
    }
}

/// `field op constant`, when the constant (after DataFusion's coercion) has the field's
/// type exactly; NULL constants and other types are left to DataFusion.
fn compare_field(
    column: &str,
    field_type: FieldType,
    op: Operator,
    value: &ScalarValue,
    pushed: &mut Pushed,
) -> bool {
    let op = match op {
        Operator::Eq => Comparison::Eq,
        Operator::NotEq => Comparison::NotEq,
        Operator::Lt => Comparison::Lt,
        Operator::LtEq => Comparison::LtEq,
        Operator::Gt => Comparison::Gt,
        Operator::GtEq => Comparison::GtEq,
        _ => return false,
    };
    let value = match (field_type, value) {
        (FieldType::Float, ScalarValue::Float64(Some(v))) => FieldValue::Float(*v),
        (FieldType::Integer, ScalarValue::Int64(Some(v))) => FieldValue::Integer(*v),
        (FieldType::Unsigned, ScalarValue::UInt64(Some(v))) => FieldValue::Unsigned(*v),
        (FieldType::Boolean, ScalarValue::Boolean(Some(v))) => FieldValue::Boolean(*v),
        (FieldType::String, value) => match text(value) {
            Some(v) => FieldValue::String(v),
            None => return false,
        },
        _ => return false,
    };
    pushed.filters.push(FieldFilter {
        field: column.to_owned(),
        op,
        value,
    });
    true
}

fn narrow(predicate: &mut Predicate, range: TimeRange) {
    predicate.time_range = predicate.time_range.intersect(&range);
}

/// The column an expression reads, looking through casts DataFusion adds for coercion.
fn column_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Column(column) => Some(column.name.as_str()),
        _ => None,
    }
}

fn literal(expr: &Expr) -> Option<&ScalarValue> {
    match expr {
        Expr::Literal(value, _) => Some(value),
        _ => None,
    }
}

/// A literal as text, for tag comparisons; NULL and other types are not usable.
fn text(value: &ScalarValue) -> Option<String> {
    match value {
        ScalarValue::Utf8(Some(v))
        | ScalarValue::LargeUtf8(Some(v))
        | ScalarValue::Utf8View(Some(v)) => Some(v.clone()),
        _ => None,
    }
}

/// A timestamp literal in nanoseconds since the epoch (any unit; time zones do not change
/// the instant).
fn timestamp_ns(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::TimestampNanosecond(Some(v), _) => Some(*v),
        ScalarValue::TimestampMicrosecond(Some(v), _) => v.checked_mul(1_000),
        ScalarValue::TimestampMillisecond(Some(v), _) => v.checked_mul(1_000_000),
        ScalarValue::TimestampSecond(Some(v), _) => v.checked_mul(1_000_000_000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    struct Roles;

    impl ColumnRoles for Roles {
        fn is_time(&self, column: &str) -> bool {
            column == "time"
        }
        fn is_tag(&self, column: &str) -> bool {
            column == "host" || column == "region"
        }
        fn field_type(&self, column: &str) -> Option<FieldType> {
            match column {
                "usage" => Some(FieldType::Float),
                "count" => Some(FieldType::Integer),
                _ => None,
            }
        }
    }

    fn ts(ns: i64) -> Expr {
        lit(ScalarValue::TimestampNanosecond(
            Some(ns),
            Some("UTC".into()),
        ))
    }

    #[test]
    fn time_bounds_intersect_and_flip_when_the_literal_is_on_the_left() {
        let filters = vec![
            col("time").gt_eq(ts(100)),
            ts(200).gt(col("time")),
            col("usage").gt(lit(5.0)),
        ];
        let predicate = predicate(&filters, &Roles);
        assert_eq!(predicate.time_range, TimeRange::new(100, 199));
        assert!(predicate.tags.is_empty());
        assert!(is_prunable(&filters[0], &Roles));
        assert!(is_prunable(&filters[1], &Roles));
    }

    #[test]
    fn field_comparisons_become_scan_filters_but_never_delete_predicates() {
        let filters = vec![
            col("usage").gt(lit(5.0)),
            lit(10_i64).lt_eq(col("count")),
            // A constant of another type than the field (not coerced here) is not used.
            col("usage").gt(lit(5_i64)),
            col("count").eq(lit(ScalarValue::Int64(None))),
        ];
        let pushed = scan_pushdown(&filters, &Roles);
        let shown: Vec<String> = pushed
            .filters
            .iter()
            .map(|f| format!("{} {} {:?}", f.field, f.op.symbol(), f.value))
            .collect();
        assert_eq!(shown, ["usage > Float(5.0)", "count >= Integer(10)"]);
        assert!(is_prunable(&filters[0], &Roles) && is_prunable(&filters[1], &Roles));
        assert!(!is_prunable(&filters[2], &Roles) && !is_prunable(&filters[3], &Roles));
        // DELETE takes time and tags only: a field comparison is not exact.
        assert!(!is_exact(&filters[0], &Roles));
        let mixed = col("host").eq(lit("a")).and(col("usage").gt(lit(1.0)));
        assert!(!is_exact(&mixed, &Roles));
        assert_eq!(predicate(&filters, &Roles).time_range, TimeRange::ALL);
    }

    #[test]
    fn between_and_microsecond_literals_convert_to_nanoseconds() {
        let filter = col("time").between(
            lit(ScalarValue::TimestampMicrosecond(Some(1), None)),
            lit(ScalarValue::TimestampMicrosecond(Some(3), None)),
        );
        assert_eq!(
            predicate(&[filter], &Roles).time_range,
            TimeRange::new(1_000, 3_000)
        );
    }

    #[test]
    fn tag_predicates_cover_equality_lists_nulls_and_regexes() {
        let filters = vec![
            col("host")
                .eq(lit("a"))
                .and(col("region").not_eq(lit("eu"))),
            col("region").in_list(vec![lit("us"), lit("ap")], false),
            col("host").is_not_null(),
            Expr::BinaryExpr(BinaryExpr::new(
                Box::new(col("host")),
                Operator::RegexMatch,
                Box::new(lit("^a")),
            )),
        ];
        let tags = predicate(&filters, &Roles).tags;
        let shown: Vec<String> = tags.iter().map(|t| format!("{t:?}")).collect();
        assert_eq!(shown.len(), 5, "{shown:?}");
        assert!(
            matches!(&tags[0], TagPredicate::Eq { key, value } if key == "host" && value == "a")
        );
        assert!(matches!(&tags[1], TagPredicate::NotEq { key, .. } if key == "region"));
        assert!(matches!(&tags[2], TagPredicate::In { values, .. } if values.len() == 2));
        assert!(matches!(&tags[3], TagPredicate::IsNotNull { .. }));
        assert!(matches!(
            &tags[4],
            TagPredicate::Regex { negated: false, .. }
        ));
    }

    #[test]
    fn alternatives_of_one_tag_become_an_in_list() {
        let filter = col("region")
            .eq(lit("eu"))
            .or(col("region").eq(lit("ap")))
            .or(lit("us").eq(col("region")));
        let tags = predicate(&[filter], &Roles).tags;
        assert!(
            matches!(&tags[..], [TagPredicate::In { key, values }]
                if key == "region" && values == &["eu", "ap", "us"]),
            "{tags:?}"
        );
    }

    #[test]
    fn what_the_storage_cannot_use_is_left_alone() {
        let unusable = vec![
            // OR across columns, or with a non-equality, cannot narrow the scan.
            col("host").eq(lit("a")).or(col("region").eq(lit("b"))),
            col("host").eq(lit("a")).or(col("host").gt(lit("b"))),
            // A field compared with a constant of another type.
            col("usage").eq(lit("a")),
            // A tag compared with a non-text value or NULL.
            col("host").eq(lit(1)),
            col("host").eq(lit(ScalarValue::Utf8(None))),
            // Ordering comparisons on tags.
            col("host").gt(lit("a")),
            // NOT BETWEEN.
            col("time").not_between(ts(1), ts(2)),
        ];
        for filter in &unusable {
            assert!(!is_prunable(filter, &Roles), "{filter}");
            assert!(!is_exact(filter, &Roles), "{filter}");
        }
        // A conjunction is exact only if every part is.
        let mixed = col("host").eq(lit("a")).and(col("usage").gt(lit(1.0)));
        assert!(is_prunable(&mixed, &Roles));
        assert!(!is_exact(&mixed, &Roles));
        let both = col("host").eq(lit("a")).and(col("time").lt(ts(5)));
        assert!(is_exact(&both, &Roles));
        let predicate = predicate(&unusable, &Roles);
        assert_eq!(predicate.time_range, TimeRange::ALL);
        assert!(predicate.tags.is_empty());
    }
}
