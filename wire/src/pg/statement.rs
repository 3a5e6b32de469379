//! SQL text to statements: parsing with the Postgres dialect, telling session commands from
//! DataFusion statements, choosing the `CommandComplete` tag, and describing parameters and
//! result columns for the extended protocol.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::datatypes::{Field, FieldRef};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::logical_expr::expr::{Cast, Placeholder, TryCast};
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::sql::parser::{DFParserBuilder, Statement as DFStatement};
use datafusion::sql::sqlparser::ast::Statement;
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use pgwire::api::Type;

use crate::pg::column_names::{postgres_column_names, rename_columns};
use crate::pg::copy::CopyCommand;
use crate::pg::error::{Error, Result};
use crate::pg::limits::{SQL_BYTES_MAX, STATEMENTS_PER_QUERY_MAX};
use crate::pg::params::declared_data_type;
use crate::pg::session::Session;
use crate::pg::session_command::SessionCommand;

/// Parser nesting depth. Deeper input is refused (54001) rather than risking the stack on
/// hostile SQL. DataFusion's default, 50, refuses generated predicates PostgreSQL runs (the
/// SQLite corpus nests parentheses past 60); parsing, our rewrites and DataFusion's planning
/// grow the stack on demand (sqlparser's and DataFusion's `recursive` protection), so the
/// bound is about work, not the stack.
const PARSER_RECURSION_MAX: usize = 256;

/// Splits `sql` into statements, refusing more than `STATEMENTS_PER_QUERY_MAX`.
pub(crate) fn parse_statements(sql: &str) -> Result<Vec<DFStatement>> {
    if sql.len() > SQL_BYTES_MAX {
        return Err(Error::LimitExceeded {
            what: "SQL text bytes",
            limit: SQL_BYTES_MAX,
        });
    }
    let dialect = PostgreSqlDialect {};
    if starts_with_keyword(sql, "drop")
        && let Some(statement) = rusts_sql::parse_drop_database(sql)
    {
        let statement = statement.map_err(|error| {
            Error::Query(datafusion::error::DataFusionError::SQL(
                Box::new(error),
                None,
            ))
        })?;
        return Ok(vec![DFStatement::Statement(Box::new(statement))]);
    }
    if starts_with_keyword(sql, "copy") {
        // DataFusion's parser reads COPY as its own `COPY … TO 'file'`; Postgres's COPY
        // (FROM STDIN, TO STDOUT, options) is sqlparser's.
        let statements = Parser::new(&dialect)
            .with_recursion_limit(PARSER_RECURSION_MAX)
            .try_with_sql(sql)
            .and_then(|mut parser| parser.parse_statements())
            .map_err(|error| {
                Error::Query(datafusion::error::DataFusionError::SQL(
                    Box::new(error),
                    None,
                ))
            })?;
        if statements.len() > STATEMENTS_PER_QUERY_MAX {
            return Err(Error::LimitExceeded {
                what: "statements in one query",
                limit: STATEMENTS_PER_QUERY_MAX,
            });
        }
        return Ok(statements
            .into_iter()
            .map(|statement| DFStatement::Statement(Box::new(statement)))
            .collect());
    }
    let statements = DFParserBuilder::new(sql)
        .with_dialect(&dialect)
        .with_recursion_limit(PARSER_RECURSION_MAX)
        .build()?
        .parse_statements()?;
    if statements.len() > STATEMENTS_PER_QUERY_MAX {
        return Err(Error::LimitExceeded {
            what: "statements in one query",
            limit: STATEMENTS_PER_QUERY_MAX,
        });
    }
    Ok(statements.into())
}

/// Whether `sql` begins with `keyword` (lower case; after blanks and `--` comments).
fn starts_with_keyword(sql: &str, keyword: &str) -> bool {
    let mut rest = sql.trim_start();
    while let Some(comment) = rest.strip_prefix("--") {
        rest = comment
            .split_once('\n')
            .map_or("", |(_, after)| after)
            .trim_start();
    }
    rest.get(..keyword.len())
        .is_some_and(|word| word.eq_ignore_ascii_case(keyword))
        && !rest[keyword.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
}

/// How a DataFusion statement completes, which decides its `CommandComplete` tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Completion {
    /// Returns rows; `counted` tags append the row count (`SELECT 3`, not `EXPLAIN`).
    Rows { tag: &'static str, counted: bool },
    /// Returns DataFusion's one-row `count` batch: `INSERT 0 3`, `UPDATE 3`, `DELETE 3`.
    Affected { tag: &'static str },
    /// Returns nothing worth sending: `CREATE TABLE`, `DROP VIEW`.
    Command { tag: String },
}

impl Completion {
    pub(crate) fn returns_rows(&self) -> bool {
        matches!(self, Self::Rows { .. })
    }
}

/// The completion of a statement DataFusion runs, judged from its syntax.
pub(crate) fn completion_of(statement: &DFStatement) -> Completion {
    let rows = |tag| Completion::Rows {
        tag,
        counted: false,
    };
    let command = |tag: &str| Completion::Command {
        tag: tag.to_owned(),
    };
    let statement = match statement {
        DFStatement::Statement(statement) => statement.as_ref(),
        DFStatement::Explain(_) => return rows("EXPLAIN"),
        DFStatement::CreateExternalTable(_) => return command("CREATE EXTERNAL TABLE"),
        DFStatement::CopyTo(_) => return Completion::Affected { tag: "COPY" },
        DFStatement::Reset(_) => return command("RESET"),
    };
    match statement {
        Statement::Query(_) => Completion::Rows {
            tag: "SELECT",
            counted: true,
        },
        Statement::Insert(_) => Completion::Affected { tag: "INSERT" },
        Statement::Update(_) => Completion::Affected { tag: "UPDATE" },
        Statement::Delete(_) => Completion::Affected { tag: "DELETE" },
        Statement::Explain { .. } | Statement::ExplainTable { .. } => rows("EXPLAIN"),
        Statement::ShowTables { .. } | Statement::ShowColumns { .. } => rows("SHOW"),
        Statement::Execute { .. } => Completion::Rows {
            tag: "SELECT",
            counted: true,
        },
        Statement::CreateTable(_) => command("CREATE TABLE"),
        Statement::CreateView(_) => command("CREATE VIEW"),
        Statement::CreateSchema { .. } => command("CREATE SCHEMA"),
        Statement::CreateDatabase { .. } => command("CREATE DATABASE"),
        Statement::CreateFunction(_) => command("CREATE FUNCTION"),
        Statement::CreateIndex(_) => command("CREATE INDEX"),
        Statement::AlterTable(_) => command("ALTER TABLE"),
        Statement::Truncate(_) => command("TRUNCATE TABLE"),
        Statement::Prepare { .. } => command("PREPARE"),
        Statement::Drop { object_type, .. } => command(&format!("DROP {object_type}")),
        // Anything else takes its tag from its leading keyword, as Postgres tags do.
        other => command(&leading_keyword(&other.to_string())),
    }
}

fn leading_keyword(sql: &str) -> String {
    sql.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// What a `Parse` stores: the statement plus what `Describe` reports about it.
#[derive(Debug, Clone)]
pub(crate) struct PreparedStatement {
    pub(crate) kind: StatementKind,
    /// Parameter types, `$1` first: declared by the client, else inferred, else `text`.
    pub(crate) parameter_types: Vec<Type>,
    /// The type DataFusion inferred for each parameter; bound values are cast to it.
    pub(crate) parameter_data_types: Vec<Option<DataType>>,
    /// Result columns, or `None` when the statement returns no rows (`NoData`).
    pub(crate) columns: Option<SchemaRef>,
    /// The SQL text of a row-returning statement without parameters, under which the
    /// session may keep its plan (see `plan_cache.rs`).
    pub(crate) text: Option<Arc<str>>,
}

/// A statement for the session, DDL for the engine, or one for DataFusion (re-planned at
/// each execution, so a table created or dropped after `Parse` is seen).
#[derive(Debug, Clone)]
pub(crate) enum StatementKind {
    Session(SessionCommand),
    /// `CREATE TABLE`, `ALTER TABLE`, `DROP TABLE`: see `rusts_planner::ddl`.
    Ddl(Box<Statement>),
    /// `UPDATE`, `DELETE`, `TRUNCATE` of plain tables: see `rusts_planner::plain_dml`.
    PlainDml(Box<rusts_planner::plain_dml::PlainDml>),
    /// `COPY … FROM STDIN` / `TO STDOUT`: see `copy.rs`.
    Copy(CopyCommand),
    Query {
        statement: DFStatement,
        completion: Completion,
    },
}

impl StatementKind {
    /// Who runs `statement` in `session`.
    pub(crate) fn of(statement: DFStatement, session: &Session) -> Result<Self> {
        if let Some(command) = SessionCommand::from_statement(&statement)? {
            return Ok(Self::Session(command));
        }
        if let DFStatement::CopyTo(_) = &statement {
            return Err(Error::NotSupported {
                what: "COPY to a server file (use COPY … TO STDOUT, e.g. psql's \\copy)".to_owned(),
            });
        }
        if let DFStatement::Statement(inner) = &statement
            && let Some(copy) = CopyCommand::from_statement(inner)?
        {
            return Ok(Self::Copy(copy));
        }
        if let DFStatement::Statement(inner) = &statement
            && let Some(dml) =
                rusts_planner::plain_dml::PlainDml::recognize(session.context(), inner)?
        {
            return Ok(Self::PlainDml(Box::new(dml)));
        }
        if let DFStatement::Statement(inner) = &statement
            && rusts_planner::ddl::handles(session.context(), inner)
        {
            let DFStatement::Statement(inner) = statement else {
                unreachable!("matched above");
            };
            return Ok(Self::Ddl(inner));
        }
        Ok(Self::Query {
            completion: completion_of(&statement),
            statement,
        })
    }
}

/// Plans `statement` on the session's DataFusion context, after replacing the views it
/// names with their queries (`rusts_planner::views`) and rewriting the PostgreSQL syntax
/// DataFusion does not plan (`rusts_planner::pg_syntax`). Also returns whether it named a
/// view (its plan is then not kept for reuse: the view may change).
pub(crate) async fn plan_statement(
    session: &Session,
    mut statement: DFStatement,
) -> Result<(LogicalPlan, bool)> {
    let reads_views = rusts_planner::views::expand(session.context(), &mut statement)?;
    rusts_planner::pg_syntax::rewrite(&mut statement)?;
    let state = session.context().state();
    Ok((state.statement_to_plan(statement).await?, reads_views))
}

/// Parses one statement for the extended protocol (`Parse`), describing its parameters and
/// columns. `declared` are the parameter types the client sent (`None` for "infer").
pub(crate) async fn prepare(
    session: &Session,
    sql: &str,
    declared: &[Option<Type>],
) -> Result<Option<PreparedStatement>> {
    let mut statements = parse_statements(sql)?;
    if statements.len() > 1 {
        return Err(Error::MultipleStatements);
    }
    let Some(statement) = statements.pop() else {
        return Ok(None);
    };
    let (statement, completion) = match StatementKind::of(statement, session)? {
        StatementKind::Query {
            statement,
            completion,
        } => (statement, completion),
        StatementKind::PlainDml(dml) => {
            // Parameters are typed from the query that selects the rows to change.
            let (parameter_types, parameter_data_types) = match dml.query() {
                Some(query) => {
                    let (plan, _) = plan_statement(session, query.clone()).await?;
                    parameter_types_of(plan, declared)?
                }
                None => (Vec::new(), Vec::new()),
            };
            return Ok(Some(PreparedStatement {
                kind: StatementKind::PlainDml(dml),
                parameter_types,
                parameter_data_types,
                columns: None,
                text: None,
            }));
        }
        kind => {
            let columns = match &kind {
                StatementKind::Session(command) => command.columns()?,
                _ => None,
            };
            return Ok(Some(PreparedStatement {
                kind,
                parameter_types: Vec::new(),
                parameter_data_types: Vec::new(),
                columns,
                text: None,
            }));
        }
    };
    let (plan, _) = plan_statement(session, statement.clone()).await?;
    let (parameter_types, parameter_data_types, plan) = typed_parameters(plan, declared)?;
    let count = parameter_types.len();
    let names = postgres_column_names(&statement);
    let columns = completion.returns_rows().then(|| {
        let schema = Arc::new(plan.schema().as_arrow().clone());
        rename_columns(&schema, names.as_deref())
    });
    let text = (columns.is_some() && count == 0).then(|| Arc::from(sql));
    let kind = StatementKind::Query {
        statement,
        completion,
    };
    Ok(Some(PreparedStatement {
        kind,
        parameter_types,
        parameter_data_types,
        columns,
        text,
    }))
}

/// The parameters' Postgres types and DataFusion types for `plan` (declared at `Parse` or
/// inferred), and the plan with its placeholders typed.
fn typed_parameters(
    plan: LogicalPlan,
    declared: &[Option<Type>],
) -> Result<(Vec<Type>, Vec<Option<DataType>>, LogicalPlan)> {
    let declared_data_types: Vec<Option<DataType>> = declared
        .iter()
        .map(|declared| declared.as_ref().and_then(declared_data_type))
        .collect();
    let plan = type_placeholders(plan, &declared_data_types)?;
    let parameter_data_types = inferred_parameter_types(&plan)?;
    let count = parameter_data_types.len().max(declared.len());
    let parameter_types = (0..count)
        .map(|index| {
            let declared = declared.get(index).cloned().flatten();
            let inferred = parameter_data_types.get(index).cloned().flatten();
            declared
                .unwrap_or_else(|| inferred.map_or(Type::TEXT, |data_type| pg_type_of(&data_type)))
        })
        .collect();
    Ok((parameter_types, parameter_data_types, plan))
}

fn parameter_types_of(
    plan: LogicalPlan,
    declared: &[Option<Type>],
) -> Result<(Vec<Type>, Vec<Option<DataType>>)> {
    let (types, data_types, _) = typed_parameters(plan, declared)?;
    Ok((types, data_types))
}

/// Gives untyped placeholders a type, as Postgres would: the type the client declared at
/// `Parse`, else the target of a cast (`$1::int8`), else `int8` in `LIMIT` / `OFFSET`.
/// DataFusion infers types only from comparisons with columns, so without this `SELECT $1`
/// would be described as text whatever the client declared. Schemas are recomputed so the
/// result columns take the new types.
fn type_placeholders(plan: LogicalPlan, declared: &[Option<DataType>]) -> Result<LogicalPlan> {
    let typed = plan.transform_up_with_subqueries(|node| {
        let in_limit = matches!(node, LogicalPlan::Limit(_));
        let node = node.map_expressions(|expr| {
            expr.transform_up(|expr| Ok(type_placeholder(expr, declared, in_limit)))
        })?;
        if node.transformed {
            node.transform_data(|node| node.recompute_schema().map(Transformed::yes))
        } else {
            Ok(node)
        }
    })?;
    Ok(typed.data)
}

fn type_placeholder(
    expr: Expr,
    declared: &[Option<DataType>],
    in_limit: bool,
) -> Transformed<Expr> {
    let untyped = |expr: &Expr| matches!(expr, Expr::Placeholder(p) if p.field.is_none());
    match expr {
        Expr::Placeholder(placeholder) if placeholder.field.is_none() => {
            let position = placeholder
                .id
                .strip_prefix('$')
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| n.checked_sub(1));
            let data_type = position
                .and_then(|index| declared.get(index).cloned().flatten())
                .or_else(|| in_limit.then_some(DataType::Int64));
            match data_type {
                Some(data_type) => {
                    Transformed::yes(Expr::Placeholder(Placeholder::new_with_field(
                        placeholder.id,
                        Some(Arc::new(Field::new("", data_type, true))),
                    )))
                }
                None => Transformed::no(Expr::Placeholder(placeholder)),
            }
        }
        Expr::Cast(Cast { expr, field }) if untyped(&expr) => Transformed::yes(Expr::Cast(Cast {
            expr: Box::new(typed_like(*expr, &field)),
            field,
        })),
        Expr::TryCast(TryCast { expr, field }) if untyped(&expr) => {
            Transformed::yes(Expr::TryCast(TryCast {
                expr: Box::new(typed_like(*expr, &field)),
                field,
            }))
        }
        other => Transformed::no(other),
    }
}

/// A placeholder given the type of the cast around it.
fn typed_like(placeholder: Expr, field: &FieldRef) -> Expr {
    match placeholder {
        Expr::Placeholder(placeholder) => Expr::Placeholder(Placeholder::new_with_field(
            placeholder.id,
            Some(Arc::new(Field::new("", field.data_type().clone(), true))),
        )),
        other => other,
    }
}

/// DataFusion's inferred type for each `$n`, indexed `n - 1`; gaps are `None`.
fn inferred_parameter_types(plan: &LogicalPlan) -> Result<Vec<Option<DataType>>> {
    let by_name = plan.get_parameter_types()?;
    let mut by_position: Vec<Option<DataType>> = Vec::new();
    for (name, data_type) in by_name {
        let Some(position) = name.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) else {
            return Err(Error::NotSupported {
                what: format!("parameter name {name}"),
            });
        };
        if position == 0 || position > u16::MAX as usize {
            return Err(Error::NotSupported {
                what: format!("parameter {name}"),
            });
        }
        if by_position.len() < position {
            by_position.resize(position, None);
        }
        by_position[position - 1] = data_type;
    }
    Ok(by_position)
}

/// The Postgres type clients see for an inferred parameter type; text when we have no match.
fn pg_type_of(data_type: &DataType) -> Type {
    match data_type {
        // Postgres has no 1-byte integer; int2 is the smallest that round-trips.
        DataType::Int8 => Type::INT2,
        other if let Some(oid_type) = crate::pg::encode::oid_type(other) => oid_type,
        other => arrow_pg::datatypes::into_pg_type(other).unwrap_or(Type::TEXT),
    }
}
