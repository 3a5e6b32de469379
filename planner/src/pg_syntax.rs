//! PostgreSQL syntax DataFusion does not plan, rewritten into syntax it does, before planning.
//!
//! Drivers and tools send catalog queries written for PostgreSQL. This pass turns the parts
//! DataFusion cannot plan into equivalents over our `pg_catalog` ([`crate::pg_catalog`]):
//! - names of `pg_catalog` tables without a schema mean `pg_catalog.…`, as PostgreSQL's
//!   implicit `pg_catalog` at the head of every `search_path` (a CTE of that name still wins);
//! - `pg_catalog.f(…)` is `f(…)`, and `pg_catalog.int4` the type `int4`;
//! - the OID types: `oid` and the `reg*` aliases are `UInt32`, which the wire calls `oid`;
//!   `'int4'::regtype` and `'public'::regnamespace` are the OID they name; a
//!   `'array_in'::regproc` literal is the function's name, as `regproc` columns hold names;
//!   `x::regtype::text` is the type's name (`rusts_regtype_text`);
//! - `name` and `"char"` are text;
//! - a string literal cast to an array type (`'{1,2}'::int8[]`) is an `ARRAY` of its
//!   elements, parsed as PostgreSQL's array input does ([`array_elements`]);
//! - the correlated recursive subquery asyncpg (and others) use to find a domain's base type,
//!   `(WITH RECURSIVE b AS (SELECT t2.typbasetype … FROM pg_type t2 WHERE t2.oid = x UNION
//!   ALL …) SELECT oid FROM b ORDER BY depth DESC LIMIT 1)`, which DataFusion cannot
//!   decorrelate, is `rusts_domain_base_type(x)`, which walks the same chain.
//!
//! - `information_schema.views` is PostgreSQL's (`pg_catalog`'s hidden
//!   `rusts_information_schema_views`), not DataFusion's, which has other columns;
//! - a select list may repeat an output name (`SELECT 5 AS c, 42 AS c`, `SELECT 1, 1`), as
//!   PostgreSQL allows and DataFusion does not: a repeated item gets an internal alias
//!   ([`unique_output_names`]). The wire names columns from the statement as written, so
//!   clients still see the repeated name.
//!
//! Anything else is left as written, so DataFusion reports what it cannot do.

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{
    ArrayElemTypeDef, DataType, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList,
    FunctionArguments, Ident, ObjectName, ObjectNamePart, Query, Select, SelectItem, SetExpr,
    SetOperator, SetQuantifier, Statement, TableAlias, TableFactor, Value, VisitMut, VisitorMut,
};
use rusts_catalog::pg_type::{PG_CATALOG_NAMESPACE, builtin_type_named};

use crate::error::{Error, Result};
use crate::pg_catalog::{self, INFORMATION_SCHEMA_NAMESPACE, PG_CATALOG_SCHEMA, PUBLIC_NAMESPACE};

/// Rewrites `statement` in place (see the module documentation). Fails on a literal that
/// names no object (`'nope'::regtype`: 42704), as PostgreSQL does.
pub fn rewrite(statement: &mut DFStatement) -> Result<()> {
    match statement {
        DFStatement::Statement(inner) => rewrite_statement(inner),
        DFStatement::Explain(explain) => rewrite(&mut explain.statement),
        _ => Ok(()),
    }
}

fn rewrite_statement(statement: &mut Statement) -> Result<()> {
    let mut ctes = CteNames::default();
    let _ = statement.visit(&mut ctes);
    let mut rewriter = Rewriter { ctes: ctes.0 };
    match statement.visit(&mut rewriter) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(error) => Err(error),
    }
}

/// Names of every CTE in a statement; they shadow `pg_catalog` tables of the same name.
#[derive(Default)]
struct CteNames(HashSet<String>);

impl VisitorMut for CteNames {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.0.insert(cte.alias.name.value.to_ascii_lowercase());
            }
        }
        ControlFlow::Continue(())
    }
}

struct Rewriter {
    ctes: HashSet<String>,
}

impl VisitorMut for Rewriter {
    type Break = Error;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<Error> {
        unique_output_names(&mut query.body);
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<Error> {
        if let TableFactor::Table { name, alias, .. } = factor
            && let [
                ObjectNamePart::Identifier(schema),
                ObjectNamePart::Identifier(table),
            ] = name.0.as_slice()
            && fold(schema) == "information_schema"
            && fold(table) == "views"
        {
            *name = ObjectName::from(vec![
                Ident::new(PG_CATALOG_SCHEMA),
                Ident::new(pg_catalog::INFORMATION_SCHEMA_VIEWS),
            ]);
            alias.get_or_insert_with(|| TableAlias {
                explicit: true,
                name: Ident::new("views"),
                columns: Vec::new(),
                at: None,
            });
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &mut ObjectName) -> ControlFlow<Error> {
        if let [ObjectNamePart::Identifier(name)] = relation.0.as_slice()
            && pg_catalog::is_table(&name.value)
            && !self.ctes.contains(&name.value.to_ascii_lowercase())
        {
            relation
                .0
                .insert(0, ObjectNamePart::Identifier(Ident::new(PG_CATALOG_SCHEMA)));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Error> {
        match replacement(expr) {
            Ok(Some(replacement)) => *expr = replacement,
            Ok(None) => {}
            Err(error) => return ControlFlow::Break(error),
        }
        match expr {
            Expr::Function(function) => strip_pg_catalog(&mut function.name),
            Expr::Cast { data_type, .. } => {
                if let Some(substitute) = substitute_type(data_type) {
                    *data_type = substitute;
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// The start of the alias [`unique_output_names`] gives a repeated output name.
pub(crate) const REPEATED_NAME_PREFIX: &str = "__rusts_column_";

/// Gives each select item that repeats an earlier item's output name an alias of its own,
/// `__rusts_column_<position>` (from 1), in every `SELECT` of a query body (both sides of a set
/// operation). Names compare as DataFusion would make them collide: aliases and column
/// references by their (folded) name, scalar subqueries all alike, other expressions by text.
fn unique_output_names(body: &mut SetExpr) {
    match body {
        SetExpr::Select(select) => {
            let mut seen = HashSet::new();
            for (position, item) in select.projection.iter_mut().enumerate() {
                let name = match &*item {
                    SelectItem::ExprWithAlias { alias, .. } => fold(alias),
                    SelectItem::UnnamedExpr(Expr::Identifier(ident)) => fold(ident),
                    SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => {
                        parts.last().map(fold).unwrap_or_default()
                    }
                    SelectItem::UnnamedExpr(Expr::Subquery(_)) => "(<subquery>)".to_owned(),
                    SelectItem::UnnamedExpr(expr) => expr.to_string(),
                    _ => continue,
                };
                if seen.insert(name) {
                    continue;
                }
                let alias = Ident::new(format!("{REPEATED_NAME_PREFIX}{}", position + 1));
                match item {
                    SelectItem::ExprWithAlias { alias: named, .. } => *named = alias,
                    SelectItem::UnnamedExpr(expr) => {
                        let expr = std::mem::replace(expr, Expr::value(Value::Null));
                        *item = SelectItem::ExprWithAlias { expr, alias };
                    }
                    _ => {}
                }
            }
        }
        SetExpr::SetOperation { left, right, .. } => {
            unique_output_names(left);
            unique_output_names(right);
        }
        SetExpr::Query(query) => unique_output_names(&mut query.body),
        _ => {}
    }
}

/// An identifier as it resolves: unquoted ones fold to lower case.
fn fold(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

/// What `expr` becomes as a whole, when it is one of the forms rewritten as a whole.
fn replacement(expr: &Expr) -> Result<Option<Expr>> {
    Ok(match expr {
        Expr::Cast {
            expr: inner,
            data_type,
            ..
        } => {
            let target = oid_alias(data_type);
            if let Some(alias) = target
                && let Some(literal) = string_literal(inner)
            {
                return oid_alias_literal(alias, literal).map(Some);
            }
            // `'{1,2}'::int8[]`: PostgreSQL's array input, as an ARRAY of the elements' text.
            if let DataType::Array(_) = data_type
                && let Some(literal) = string_literal(inner)
            {
                let elements = array_elements(literal).map_err(|reason| Error::InvalidText {
                    reason: format!("malformed array literal: {reason}"),
                })?;
                let mut cast = expr.clone();
                if let Expr::Cast { expr: value, .. } = &mut cast {
                    **value = Expr::Array(datafusion::sql::sqlparser::ast::Array {
                        elem: elements
                            .into_iter()
                            .map(|element| {
                                Expr::value(element.map_or(Value::Null, Value::SingleQuotedString))
                            })
                            .collect(),
                        named: true,
                    });
                }
                return Ok(Some(cast));
            }
            // `x::regtype::text`: the type's name.
            if is_text_type(data_type)
                && let Expr::Cast {
                    expr: value,
                    data_type: inner_type,
                    ..
                } = inner.as_ref()
                && oid_alias(inner_type) == Some("regtype")
            {
                return Ok(Some(call("rusts_regtype_text", vec![(**value).clone()])));
            }
            None
        }
        Expr::Subquery(query) => domain_base_type(query).or_else(|| single_row(query)),
        _ => None,
    })
}

/// The OID alias a cast targets (`oid`, `regtype`, …), lowercase.
fn oid_alias(data_type: &DataType) -> Option<&'static str> {
    const ALIASES: &[&str] = &[
        "oid",
        "regclass",
        "regcollation",
        "regconfig",
        "regdictionary",
        "regnamespace",
        "regoper",
        "regoperator",
        "regproc",
        "regprocedure",
        "regrole",
        "regtype",
    ];
    let DataType::Custom(name, modifiers) = data_type else {
        return None;
    };
    let last = unqualified_type_name(name)?;
    if !modifiers.is_empty() {
        return None;
    }
    ALIASES
        .iter()
        .find(|alias| last.value.eq_ignore_ascii_case(alias))
        .copied()
}

/// The last part of a type name, when any qualifier is `pg_catalog`.
fn unqualified_type_name(name: &ObjectName) -> Option<&Ident> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(last)] => Some(last),
        [
            ObjectNamePart::Identifier(schema),
            ObjectNamePart::Identifier(last),
        ] if schema.value.eq_ignore_ascii_case(PG_CATALOG_SCHEMA) => Some(last),
        _ => None,
    }
}

/// A literal cast to an OID alias: the OID it names, or the name where RusTs stores names
/// (`regproc`). A number is an OID already; other aliases are left to the cast.
fn oid_alias_literal(alias: &str, literal: &str) -> Result<Expr> {
    let undefined = |what| Error::UndefinedObject {
        what,
        name: literal.to_owned(),
    };
    let trimmed = literal.trim();
    if let Ok(oid) = trimmed.parse::<u32>() {
        return Ok(oid_literal(oid));
    }
    let oid = match alias {
        "regtype" => {
            builtin_type_named(trimmed)
                .ok_or_else(|| undefined("type"))?
                .oid
        }
        "regnamespace" => match trimmed.trim_matches('"') {
            PG_CATALOG_SCHEMA => PG_CATALOG_NAMESPACE,
            crate::PUBLIC_SCHEMA => PUBLIC_NAMESPACE,
            "information_schema" => INFORMATION_SCHEMA_NAMESPACE,
            _ => return Err(undefined("schema")),
        },
        "regproc" | "regprocedure" => {
            let name = trimmed.strip_prefix("pg_catalog.").unwrap_or(trimmed);
            let name = name.split_once('(').map_or(name, |(name, _)| name);
            return Ok(Expr::value(Value::SingleQuotedString(name.to_owned())));
        }
        _ => {
            return Ok(Expr::Cast {
                kind: datafusion::sql::sqlparser::ast::CastKind::DoubleColon,
                expr: Box::new(Expr::value(Value::SingleQuotedString(literal.to_owned()))),
                data_type: DataType::IntUnsigned(None),
                array: false,
                format: None,
            });
        }
    };
    Ok(oid_literal(oid))
}

fn oid_literal(oid: u32) -> Expr {
    Expr::value(Value::Number(oid.to_string(), false))
}

fn string_literal(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Value(value) => match &value.value {
            Value::SingleQuotedString(text) | Value::EscapedStringLiteral(text) => Some(text),
            Value::DollarQuotedString(quoted) => Some(&quoted.value),
            _ => None,
        },
        Expr::Nested(inner) => string_literal(inner),
        _ => None,
    }
}

fn is_text_type(data_type: &DataType) -> bool {
    match data_type {
        DataType::Text | DataType::Varchar(_) | DataType::CharacterVarying(_) => true,
        DataType::Custom(name, modifiers) => {
            modifiers.is_empty()
                && unqualified_type_name(name).is_some_and(|last| {
                    last.value.eq_ignore_ascii_case("name")
                        || last.value.eq_ignore_ascii_case("text")
                })
        }
        _ => false,
    }
}

/// The type DataFusion plans in place of a PostgreSQL-only one, if `data_type` is one.
fn substitute_type(data_type: &DataType) -> Option<DataType> {
    match data_type {
        DataType::Array(ArrayElemTypeDef::SquareBracket(element, size)) => Some(DataType::Array(
            ArrayElemTypeDef::SquareBracket(Box::new(substitute_type(element)?), *size),
        )),
        DataType::Custom(name, modifiers) if modifiers.is_empty() => {
            if oid_alias(data_type).is_some() {
                return Some(DataType::IntUnsigned(None));
            }
            let last = unqualified_type_name(name)?;
            if last.value.eq_ignore_ascii_case("name")
                || (last.quote_style.is_some() && last.value == "char")
            {
                return Some(DataType::Text);
            }
            if name.0.len() == 2 {
                // `pg_catalog.int4`: the type as if written without its schema.
                return datafusion::sql::sqlparser::parser::Parser::new(
                    &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
                )
                .try_with_sql(&last.to_string())
                .and_then(|mut parser| parser.parse_data_type())
                .ok()
                .map(|parsed| substitute_type(&parsed).unwrap_or(parsed));
            }
            None
        }
        _ => None,
    }
}

/// `pg_catalog.f` → `f`: DataFusion's functions have no schema.
fn strip_pg_catalog(name: &mut ObjectName) {
    if let [
        ObjectNamePart::Identifier(schema),
        ObjectNamePart::Identifier(_),
    ] = name.0.as_slice()
        && schema.value.eq_ignore_ascii_case(PG_CATALOG_SCHEMA)
    {
        name.0.remove(0);
    }
}

/// A call of `name` with `args`.
fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|arg| FunctionArg::Unnamed(FunctionArgExpr::Expr(arg)))
                .collect(),
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

/// A scalar subquery that returns a column as it is (`(SELECT b FROM u WHERE u.a = t.a)`)
/// as `rusts_single_row((SELECT count(1) FROM u WHERE u.a = t.a), (SELECT max(b) FROM u
/// WHERE u.a = t.a))`. DataFusion
/// decorrelates a scalar subquery only when it aggregates; this one does, with PostgreSQL's
/// meaning: no row is NULL, one row is its value, more than one is an error (21000).
/// Only subqueries without aggregates, grouping, `DISTINCT`, ordering or limits, whose
/// column calls no function, are rewritten.
fn single_row(query: &Query) -> Option<Expr> {
    if query.with.is_some()
        || query.order_by.is_some()
        || query.limit_clause.is_some()
        || query.fetch.is_some()
    {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let grouped = match &select.group_by {
        datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(expressions, modifiers) => {
            !expressions.is_empty() || !modifiers.is_empty()
        }
        datafusion::sql::sqlparser::ast::GroupByExpr::All(_) => true,
    };
    if grouped
        || select.distinct.is_some()
        || select.having.is_some()
        || !select.named_window.is_empty()
        || select.qualify.is_some()
        || select.from.is_empty()
    {
        return None;
    }
    let [item] = select.projection.as_slice() else {
        return None;
    };
    let (value, alias) = match item {
        SelectItem::UnnamedExpr(expr) => (expr, None),
        SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.clone())),
        _ => return None,
    };
    let calls_a_function = datafusion::sql::sqlparser::ast::visit_expressions(value, |expr| {
        if matches!(expr, Expr::Function(_) | Expr::Subquery(_)) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break();
    if calls_a_function {
        return None;
    }
    let with_projection = |projected: Expr| {
        let mut rewritten = query.clone();
        if let SetExpr::Select(select) = rewritten.body.as_mut() {
            select.projection = vec![match &alias {
                Some(alias) => SelectItem::ExprWithAlias {
                    expr: projected,
                    alias: alias.clone(),
                },
                None => SelectItem::UnnamedExpr(projected),
            }];
        }
        Expr::Subquery(Box::new(rewritten))
    };
    let count = call(
        "count",
        vec![Expr::value(Value::Number("1".to_owned(), false))],
    );
    // Two subqueries, so that the check runs for the rows that use the value, not for
    // every group the decorrelated subquery computes.
    Some(call(
        "rusts_single_row",
        vec![
            with_projection(count),
            with_projection(call("max", vec![value.clone()])),
        ],
    ))
}

/// `rusts_domain_base_type(x)` for a subquery of the shape
/// `WITH RECURSIVE cte AS (SELECT a.typbasetype, … FROM pg_type a WHERE a.oid = x UNION ALL …)
/// SELECT … FROM cte … LIMIT 1`: the root of the chain of base types starting at `x`'s.
fn domain_base_type(query: &Query) -> Option<Expr> {
    let with = query.with.as_ref()?;
    let [cte] = with.cte_tables.as_slice() else {
        return None;
    };
    if !with.recursive || query.limit_clause.is_none() {
        return None;
    }
    let SetExpr::SetOperation {
        op: SetOperator::Union,
        set_quantifier: SetQuantifier::All,
        left,
        ..
    } = cte.query.body.as_ref()
    else {
        return None;
    };
    let SetExpr::Select(anchor) = left.as_ref() else {
        return None;
    };
    let alias = pg_type_alias(anchor)?;
    let first_column = match anchor.projection.first()? {
        SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => expr,
        _ => return None,
    };
    if !is_column(first_column, &alias, "typbasetype") {
        return None;
    }
    let Some(Expr::BinaryOp {
        left: key,
        op: datafusion::sql::sqlparser::ast::BinaryOperator::Eq,
        right: outer,
    }) = &anchor.selection
    else {
        return None;
    };
    if !is_column(key, &alias, "oid") {
        return None;
    }
    Some(call("rusts_domain_base_type", vec![(**outer).clone()]))
}

/// The name `pg_type` goes by in `select`, when it is the only table it reads.
fn pg_type_alias(select: &Select) -> Option<String> {
    let [from] = select.from.as_slice() else {
        return None;
    };
    if !from.joins.is_empty() {
        return None;
    }
    let TableFactor::Table { name, alias, .. } = &from.relation else {
        return None;
    };
    let table = match name.0.as_slice() {
        [ObjectNamePart::Identifier(table)] => table,
        [
            ObjectNamePart::Identifier(schema),
            ObjectNamePart::Identifier(table),
        ] if schema.value.eq_ignore_ascii_case(PG_CATALOG_SCHEMA) => table,
        _ => return None,
    };
    if !table.value.eq_ignore_ascii_case("pg_type") {
        return None;
    }
    Some(
        alias
            .as_ref()
            .map_or_else(|| table.value.clone(), |alias| alias.name.value.clone()),
    )
}

fn is_column(expr: &Expr, table: &str, column: &str) -> bool {
    match expr {
        Expr::CompoundIdentifier(parts) => matches!(
            parts.as_slice(),
            [qualifier, name] if qualifier.value.eq_ignore_ascii_case(table)
                && name.value.eq_ignore_ascii_case(column)
        ),
        _ => false,
    }
}

/// The elements of a text array (`{1,2,"a b",NULL}`): double quotes and backslashes quote,
/// an unquoted `NULL` is NULL. One dimension at most.
pub fn array_elements(value: &str) -> Result<Vec<Option<String>>, String> {
    let inner = value
        .trim()
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .ok_or_else(|| format!("\"{value}\" is not an array: it must be in braces"))?;
    let mut elements = Vec::new();
    if inner.trim().is_empty() {
        return Ok(elements);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut element = String::new();
        let mut quoted = false;
        if chars.next_if_eq(&'"').is_some() {
            quoted = true;
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => element.push(chars.next().ok_or("unterminated escape")?),
                    Some(c) => element.push(c),
                    None => return Err(format!("unterminated quote in \"{value}\"")),
                }
            }
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
        } else {
            while let Some(c) = chars.next_if(|&c| c != ',') {
                match c {
                    '{' | '}' => {
                        return Err(format!(
                            "\"{value}\": multi-dimensional arrays are not supported"
                        ));
                    }
                    '\\' => element.push(chars.next().ok_or("unterminated escape")?),
                    c => element.push(c),
                }
            }
            element.truncate(element.trim_end().len());
        }
        let is_null = !quoted && element.eq_ignore_ascii_case("null");
        elements.push((!is_null).then_some(element));
        match chars.next() {
            Some(',') => {}
            None => return Ok(elements),
            Some(other) => return Err(format!("unexpected {other:?} in \"{value}\"")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        let dialect = datafusion::sql::sqlparser::dialect::PostgreSqlDialect {};
        let mut statements = datafusion::sql::parser::DFParserBuilder::new(sql)
            .with_dialect(&dialect)
            .build()
            .and_then(|mut parser| parser.parse_statements())
            .expect("parses");
        let mut statement = statements.pop_front().expect("one statement");
        rewrite(&mut statement).expect("rewrites");
        statement.to_string()
    }

    #[test]
    fn unqualified_catalog_tables_are_qualified_unless_a_cte_shadows_them() {
        assert_eq!(
            rewritten(
                "SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
            ),
            "SELECT typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
        );
        assert_eq!(
            rewritten("WITH pg_type AS (SELECT 1 AS x) SELECT x FROM pg_type"),
            "WITH pg_type AS (SELECT 1 AS x) SELECT x FROM pg_type"
        );
        assert_eq!(rewritten("SELECT * FROM cpu"), "SELECT * FROM cpu");
        assert_eq!(
            rewritten("SELECT * FROM public.pg_type"),
            "SELECT * FROM public.pg_type"
        );
    }

    #[test]
    fn oid_types_and_literals() {
        assert_eq!(
            rewritten("SELECT 'int4'::regtype, 'pg_catalog.bigint[]'::regtype::oid"),
            "SELECT 23, 1016::INT UNSIGNED"
        );
        assert_eq!(
            rewritten("SELECT 'public'::regnamespace, 'pg_catalog.array_in'::regproc"),
            "SELECT 2200, 'array_in'"
        );
        assert_eq!(
            rewritten("SELECT x FROM t WHERE x = any($1::oid[])"),
            "SELECT x FROM t WHERE x = ANY($1::INT UNSIGNED[])"
        );
        assert_eq!(
            rewritten("SELECT elemtype::regtype::text, typname::name, typtype::\"char\" FROM t"),
            "SELECT rusts_regtype_text(elemtype), typname::TEXT, typtype::TEXT FROM t"
        );
        assert_eq!(
            rewritten("SELECT pg_catalog.format_type(1, NULL), 1::pg_catalog.int8"),
            "SELECT format_type(1, NULL), 1::INT8"
        );
        assert_eq!(rewritten("SELECT '23'::regtype"), "SELECT 23");
        let mut statement = datafusion::sql::parser::DFParserBuilder::new("SELECT 'nope'::regtype")
            .build()
            .and_then(|mut parser| parser.parse_statement())
            .expect("parses");
        let error = rewrite(&mut statement).expect_err("no such type");
        assert_eq!(error.to_string(), "type \"nope\" does not exist");
        assert_eq!(error.kind(), rusts_common::ErrorKind::UndefinedObject);
    }

    #[test]
    fn column_subqueries_become_single_row_checks() {
        assert_eq!(
            rewritten("SELECT (SELECT b FROM u WHERE u.a = t.a) FROM t"),
            "SELECT rusts_single_row((SELECT count(1) FROM u WHERE u.a = t.a), (SELECT max(b) FROM u WHERE u.a = t.a)) FROM t"
        );
        // Aggregated, grouped, limited or computed by a function: left as written.
        for sql in [
            "SELECT (SELECT max(b) FROM u WHERE u.a = t.a) FROM t",
            "SELECT (SELECT b FROM u WHERE u.a = t.a GROUP BY b) FROM t",
            "SELECT (SELECT b FROM u WHERE u.a = t.a LIMIT 1) FROM t",
            "SELECT (SELECT DISTINCT b FROM u WHERE u.a = t.a) FROM t",
            "SELECT (SELECT upper(b) FROM u WHERE u.a = t.a) FROM t",
            "SELECT (SELECT 1) FROM t",
        ] {
            assert_eq!(rewritten(sql), sql);
        }
    }

    #[test]
    fn the_domain_base_type_subquery_becomes_a_call() {
        let sql =
            "SELECT (CASE WHEN t.typtype = 'd' THEN (WITH RECURSIVE typebases(oid, depth) AS (
                SELECT t2.typbasetype AS oid, 0 AS depth FROM pg_type t2 WHERE t2.oid = t.oid
                UNION ALL
                SELECT t2.typbasetype AS oid, tb.depth + 1 AS depth FROM pg_type t2, typebases tb
                WHERE tb.oid = t2.oid AND t2.typbasetype != 0
            ) SELECT oid FROM typebases ORDER BY depth DESC LIMIT 1) ELSE NULL END) AS basetype
            FROM pg_catalog.pg_type AS t";
        assert_eq!(
            rewritten(sql),
            "SELECT (CASE WHEN t.typtype = 'd' THEN rusts_domain_base_type(t.oid) ELSE NULL END) AS basetype FROM pg_catalog.pg_type AS t"
        );
        // Not that shape (no LIMIT): left as written.
        let other = "SELECT (WITH RECURSIVE b(oid) AS (SELECT t2.typbasetype FROM pg_type t2 WHERE t2.oid = 1 UNION ALL SELECT oid FROM b) SELECT oid FROM b) AS x";
        assert!(rewritten(other).contains("WITH RECURSIVE"));
    }
}
