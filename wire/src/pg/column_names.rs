//! Result column names as Postgres gives them to unaliased expressions.
//!
//! DataFusion names a column after its whole expression (`count(*)`, `Int64(1)`,
//! `cpu.host`); Postgres uses the function or column name, a type name for casts of
//! literals, and `?column?` otherwise (its `FigureColname`). Clients show these names and
//! ORMs map rows by them, so the row description uses the Postgres name. Only the wire
//! names change: DataFusion's own schema, which must keep names unique, is untouched.

use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{DataType, Expr, Ident, SelectItem, SetExpr, Statement};

/// Name Postgres gives an expression it cannot name.
const UNNAMED: &str = "?column?";

/// Postgres names for each output column of a plain query, `None` where the select list
/// has a wildcard (its columns cannot be matched to positions without planning).
pub(crate) fn postgres_column_names(statement: &DFStatement) -> Option<Vec<String>> {
    let DFStatement::Statement(statement) = statement else {
        return None;
    };
    let Statement::Query(query) = statement.as_ref() else {
        return None;
    };
    set_expression_names(&query.body)
}

fn set_expression_names(body: &SetExpr) -> Option<Vec<String>> {
    match body {
        SetExpr::Select(select) => select
            .projection
            .iter()
            .map(|item| match item {
                SelectItem::UnnamedExpr(expr) => Some(expression_name(expr)),
                SelectItem::ExprWithAlias { alias, .. } => Some(identifier(alias)),
                _ => None,
            })
            .collect(),
        SetExpr::Query(query) => set_expression_names(&query.body),
        // The left side names a UNION's columns, in Postgres as in DataFusion.
        SetExpr::SetOperation { left, .. } => set_expression_names(left),
        _ => None,
    }
}

/// An identifier as it resolves: unquoted ones fold to lower case.
fn identifier(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

/// Postgres's `FigureColname` for one expression.
fn expression_name(expr: &Expr) -> String {
    let name = match expr {
        Expr::Identifier(ident) => Some(identifier(ident)),
        Expr::CompoundIdentifier(parts) => parts.last().map(identifier),
        Expr::Function(function) => function
            .name
            .0
            .last()
            .and_then(|part| part.as_ident())
            .map(identifier),
        Expr::Nested(inner) => return expression_name(inner),
        Expr::Cast {
            expr, data_type, ..
        } => {
            let inner = expression_name(expr);
            return if inner == UNNAMED {
                type_name(data_type)
            } else {
                inner
            };
        }
        Expr::TypedString(typed) => Some(type_name(&typed.data_type)),
        Expr::Interval(_) => Some("interval".to_owned()),
        Expr::Case { .. } => Some("case".to_owned()),
        Expr::Array(_) => Some("array".to_owned()),
        Expr::Extract { .. } => Some("extract".to_owned()),
        Expr::Ceil { .. } => Some("ceil".to_owned()),
        Expr::Floor { .. } => Some("floor".to_owned()),
        Expr::Position { .. } => Some("position".to_owned()),
        Expr::Substring { .. } => Some("substring".to_owned()),
        Expr::Trim { .. } => Some("btrim".to_owned()),
        Expr::Exists { .. } => Some("exists".to_owned()),
        _ => None,
    };
    name.unwrap_or_else(|| UNNAMED.to_owned())
}

/// The Postgres internal name of a cast's target type (`'1'::int` is named `int4`).
fn type_name(data_type: &DataType) -> String {
    let name = match data_type {
        DataType::SmallInt(_) | DataType::Int2(_) => "int2",
        DataType::Int(_) | DataType::Integer(_) | DataType::Int4(_) => "int4",
        DataType::BigInt(_) | DataType::Int8(_) => "int8",
        DataType::Real | DataType::Float4 => "float4",
        DataType::Double(_) | DataType::DoublePrecision | DataType::Float8 => "float8",
        DataType::Boolean | DataType::Bool => "bool",
        DataType::Numeric(_) | DataType::Decimal(_) => "numeric",
        DataType::Varchar(_) | DataType::CharacterVarying(_) => "varchar",
        DataType::Char(_) | DataType::Character(_) => "bpchar",
        DataType::Timestamp(_, time_zone) => match time_zone {
            datafusion::sql::sqlparser::ast::TimezoneInfo::WithTimeZone
            | datafusion::sql::sqlparser::ast::TimezoneInfo::Tz => "timestamptz",
            _ => "timestamp",
        },
        other => {
            let shown = other.to_string().to_lowercase();
            return shown.split('(').next().unwrap_or(UNNAMED).trim().to_owned();
        }
    };
    name.to_owned()
}

/// `schema` with its columns renamed to `names`, when there is one name per column.
pub(crate) fn rename_columns(schema: &SchemaRef, names: Option<&[String]>) -> SchemaRef {
    let Some(names) = names.filter(|names| names.len() == schema.fields().len()) else {
        return Arc::clone(schema);
    };
    let fields = schema
        .fields()
        .iter()
        .zip(names)
        .map(|(field, name)| Field::clone(field).with_name(name))
        .collect::<Vec<_>>();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::statement::parse_statements;

    fn names(sql: &str) -> Option<Vec<String>> {
        postgres_column_names(&parse_statements(sql).unwrap()[0])
    }

    #[test]
    fn names_follow_postgres_figure_colname() {
        let sql = "SELECT 1, count(*), cpu.Host, \"Mixed\", '1'::int, x::int, now(), \
                   CASE WHEN true THEN 1 END, a + b, v AS Total, DATE '2024-01-01', \
                   CAST(1.5 AS DOUBLE PRECISION), (usage) FROM cpu";
        let expected = [
            "?column?", "count", "host", "Mixed", "int4", "x", "now", "case", "?column?", "total",
            "date", "float8", "usage",
        ];
        assert_eq!(names(sql).unwrap(), expected);
    }

    #[test]
    fn wildcards_and_non_queries_keep_datafusion_names() {
        assert_eq!(names("SELECT * FROM cpu"), None);
        assert_eq!(names("SELECT host, cpu.* FROM cpu"), None);
        assert_eq!(names("INSERT INTO cpu VALUES (1)"), None);
        assert_eq!(names("VALUES (1, 2)"), None);
        assert_eq!(names("SELECT 1 AS a UNION SELECT 2").unwrap(), ["a"]);
    }

    #[test]
    fn renaming_needs_one_name_per_column() {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "Int64(1)",
            datafusion::arrow::datatypes::DataType::Int64,
            false,
        )]));
        let renamed = rename_columns(&schema, Some(&["?column?".to_owned()]));
        assert_eq!(renamed.field(0).name(), "?column?");
        let unchanged = rename_columns(&schema, Some(&[]));
        assert_eq!(unchanged.field(0).name(), "Int64(1)");
    }
}
