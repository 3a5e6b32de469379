//! The names PostgreSQL gives result columns (its `FigureColname`): the function or column
//! name of an unaliased expression, a type name for casts of literals, `?column?` otherwise.
//! The wire names result columns with them, and a view names its columns with them.

use datafusion::sql::sqlparser::ast::{DataType, Expr, Ident, SelectItem, SetExpr};

/// Name Postgres gives an expression it cannot name.
pub const UNNAMED: &str = "?column?";

/// An identifier as it resolves: unquoted ones fold to lower case.
pub fn identifier(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

/// Postgres's `FigureColname` for one expression.
pub fn expression_name(expr: &Expr) -> String {
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
        // A scalar subquery is named after its (first) column.
        Expr::Subquery(query) => return first_column_name(&query.body),
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

/// The name of the first column of a query body, as PostgreSQL names a scalar subquery.
fn first_column_name(body: &SetExpr) -> String {
    match body {
        SetExpr::Select(select) => match select.projection.first() {
            Some(SelectItem::UnnamedExpr(expr)) => expression_name(expr),
            Some(SelectItem::ExprWithAlias { alias, .. }) => identifier(alias),
            _ => UNNAMED.to_owned(),
        },
        SetExpr::Query(query) => first_column_name(&query.body),
        SetExpr::SetOperation { left, .. } => first_column_name(left),
        _ => UNNAMED.to_owned(),
    }
}
