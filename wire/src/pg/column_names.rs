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
use datafusion::sql::sqlparser::ast::{SelectItem, SetExpr, Statement};
use rusts_planner::output_names::{expression_name, identifier};

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
                   CAST(1.5 AS DOUBLE PRECISION), (usage), (SELECT max(x) AS best FROM t), \
                   (SELECT count(*) FROM t) FROM cpu";
        let expected = [
            "?column?", "count", "host", "Mixed", "int4", "x", "now", "case", "?column?", "total",
            "date", "float8", "usage", "best", "count",
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
