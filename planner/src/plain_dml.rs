//! `UPDATE`, `DELETE` and `TRUNCATE` on plain tables ([`crate::plain`]).
//!
//! DataFusion's own `UPDATE` and `DELETE` hand a table only the conditions on the table
//! itself, so a subquery in `WHERE` or in `SET` would be lost. Here the statement becomes
//! a query DataFusion plans in full: `UPDATE t SET b = e WHERE c` is
//! `SELECT row_id, a, e AS b FROM t WHERE c`, over the table with its row ids exposed
//! (schema [`ROW_ID_SCHEMA`]); `DELETE FROM t WHERE c` is `SELECT row_id FROM t WHERE c`.
//! The rows the query returns are then replaced or removed in the storage engine, all in
//! one call: a statement's changes are applied whole or not at all (a repeated key fails
//! the whole `UPDATE`, 23505; NULL in a `NOT NULL` column, 23502).
//!
//! There are no transactions: between the query and the change, another session's change
//! to the same rows may be overwritten (the last writer wins), and a row the query saw but
//! another session deleted is refused.

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::UInt64Type;
use datafusion::common::{DataFusionError, ParamValues, Result as DFResult};
use datafusion::dataframe::DataFrame;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{
    AssignmentTarget, Delete, FromTable, ObjectName, Statement, TableFactor, TableWithJoins,
    Truncate, Update,
};
use rusts_catalog::tables::PlainTable as TableDefinition;
use rusts_storage::{RowId, TableId};

use crate::ddl::{SessionTarget, normalize};
use crate::error::{Error, Result};

/// The schema under which a plain table also shows its row ids, for these statements.
pub(crate) const ROW_ID_SCHEMA: &str = "__rusts_rows";

/// An `UPDATE`, `DELETE` or `TRUNCATE` of plain tables, ready to run.
#[derive(Debug, Clone)]
pub struct PlainDml {
    action: Action,
}

#[derive(Debug, Clone)]
enum Action {
    /// Replace the rows the query returns (row id, then every column).
    Update {
        table: TableDefinition,
        query: DFStatement,
    },
    /// Remove the rows the query returns (row id).
    Delete {
        table: TableDefinition,
        query: DFStatement,
    },
    Truncate {
        tables: Vec<TableDefinition>,
    },
}

impl PlainDml {
    /// The statement as a `PlainDml`, if it changes plain tables of the session's database
    /// (otherwise DataFusion plans it, measurements included).
    pub fn recognize(context: &SessionContext, statement: &Statement) -> Result<Option<Self>> {
        let state = context.state();
        let Some(target) = state.config().get_extension::<SessionTarget>() else {
            return Ok(None);
        };
        let action = match statement {
            Statement::Update(update) => {
                let Some(table) = plain_table(&target, &update.table)? else {
                    return Ok(None);
                };
                let query = update_query(&table, update)?;
                Action::Update { table, query }
            }
            Statement::Delete(delete) => {
                let tables = match &delete.from {
                    FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables) => {
                        tables
                    }
                };
                let [from] = tables.as_slice() else {
                    return Ok(None);
                };
                let Some(table) = plain_table(&target, from)? else {
                    return Ok(None);
                };
                let query = delete_query(&table, from, delete)?;
                Action::Delete { table, query }
            }
            Statement::Truncate(truncate) => match truncate_tables(&target, truncate)? {
                Some(tables) => Action::Truncate { tables },
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        Ok(Some(Self { action }))
    }

    /// The query that selects the rows to change, for describing parameters.
    pub fn query(&self) -> Option<&DFStatement> {
        match &self.action {
            Action::Update { query, .. } | Action::Delete { query, .. } => Some(query),
            Action::Truncate { .. } => None,
        }
    }

    /// The `CommandComplete` tag's word(s): `UPDATE`, `DELETE`, `TRUNCATE TABLE`.
    pub fn tag(&self) -> &'static str {
        match self.action {
            Action::Update { .. } => "UPDATE",
            Action::Delete { .. } => "DELETE",
            Action::Truncate { .. } => "TRUNCATE TABLE",
        }
    }

    /// Runs the statement with `parameters` bound; returns the rows changed (`None` for
    /// `TRUNCATE`, whose tag has no count). Engine errors arrive wrapped in
    /// `DataFusionError::External`, as from any other statement.
    pub async fn execute(
        &self,
        context: &SessionContext,
        parameters: Option<ParamValues>,
    ) -> DFResult<Option<u64>> {
        let state = context.state();
        let target = state
            .config()
            .get_extension::<SessionTarget>()
            .ok_or_else(|| {
                external(Error::Internal {
                    what: "plain-table DML outside a RusTs session".to_owned(),
                })
            })?;
        let storage = Arc::clone(&target.storage);
        match &self.action {
            Action::Truncate { tables } => {
                let ids: Vec<TableId> = tables.iter().map(table_id).collect();
                blocking(move || {
                    ids.into_iter()
                        .try_for_each(|id| storage.truncate_table(id))
                        .map_err(Error::from)
                })
                .await?;
                Ok(None)
            }
            Action::Delete { table, query } => {
                let batches = run_query(context, query, parameters).await?;
                let ids: Vec<RowId> = batches.iter().flat_map(row_ids).collect();
                let id = table_id(table);
                let removed =
                    blocking(move || storage.delete_rows(id, &ids).map_err(Error::from)).await?;
                Ok(Some(removed))
            }
            Action::Update { table, query } => {
                let batches = run_query(context, query, parameters).await?;
                let mut updates = Vec::new();
                for batch in &batches {
                    let values = batch.project(&(1..batch.num_columns()).collect::<Vec<_>>())?;
                    let rows = crate::plain::engine_rows(table, &values)?;
                    updates.extend(row_ids(batch).into_iter().zip(rows));
                }
                let id = table_id(table);
                let changed =
                    blocking(move || storage.update_rows(id, updates).map_err(Error::from)).await?;
                Ok(Some(changed))
            }
        }
    }
}

fn table_id(table: &TableDefinition) -> TableId {
    TableId(u64::from(table.oid))
}

fn row_ids(batch: &RecordBatch) -> Vec<RowId> {
    batch
        .column(0)
        .as_primitive_opt::<UInt64Type>()
        .map(|ids| ids.iter().flatten().map(RowId).collect())
        .unwrap_or_default()
}

async fn run_query(
    context: &SessionContext,
    query: &DFStatement,
    parameters: Option<ParamValues>,
) -> DFResult<Vec<RecordBatch>> {
    let state = context.state();
    let mut query = query.clone();
    crate::views::expand(context, &mut query).map_err(external)?;
    crate::pg_syntax::rewrite(&mut query).map_err(external)?;
    let plan = state.statement_to_plan(query).await?;
    let plan = match parameters {
        Some(parameters) => plan.with_param_values(parameters)?,
        None => plan,
    };
    DataFrame::new(state, plan).collect().await
}

/// Runs an engine change off the async workers (it may wait for an fsync).
async fn blocking<T: Send + 'static>(
    change: impl FnOnce() -> Result<T> + Send + 'static,
) -> DFResult<T> {
    tokio::task::spawn_blocking(change)
        .await
        .map_err(|error| DataFusionError::External(Box::new(error)))?
        .map_err(external)
}

fn external(error: Error) -> DataFusionError {
    DataFusionError::External(Box::new(error))
}

/// The plain table `from` names, when it is a plain table of the session's database.
fn plain_table(target: &SessionTarget, from: &TableWithJoins) -> Result<Option<TableDefinition>> {
    let TableFactor::Table { name, .. } = &from.relation else {
        return Ok(None);
    };
    let Some(table) = table_name(target, name) else {
        return Ok(None);
    };
    Ok(target
        .catalog
        .current(&target.storage)?
        .table(&target.database, &table)
        .cloned())
}

/// `t`, `public.t` or `<database>.public.t` in the session's database.
fn table_name(target: &SessionTarget, name: &ObjectName) -> Option<String> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|part| part.as_ident().map(normalize))
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [table] => Some(table.clone()),
        [schema, table] if schema == crate::PUBLIC_SCHEMA => Some(table.clone()),
        [database, schema, table]
            if schema == crate::PUBLIC_SCHEMA && *database == target.database =>
        {
            Some(table.clone())
        }
        _ => None,
    }
}

/// `FROM __rusts_rows."t" AS alias`, the alias being the statement's or the table's name.
fn from_clause(table: &TableDefinition, from: &TableWithJoins) -> Result<String> {
    if !from.joins.is_empty() {
        return Err(Error::NotSupported {
            what: "joins in the target of UPDATE or DELETE".to_owned(),
        });
    }
    let alias = match &from.relation {
        TableFactor::Table {
            alias: Some(alias), ..
        } => alias.name.to_string(),
        _ => quote(&table.name),
    };
    Ok(format!(
        "FROM {ROW_ID_SCHEMA}.{} AS {alias}",
        quote(&table.name)
    ))
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn parse_query(sql: &str) -> Result<DFStatement> {
    let dialect = datafusion::sql::sqlparser::dialect::PostgreSqlDialect {};
    let mut statements = datafusion::sql::parser::DFParserBuilder::new(sql)
        .with_dialect(&dialect)
        .build()
        .and_then(|mut parser| parser.parse_statements())
        .map_err(|error| Error::Internal {
            what: format!("rewriting to {sql}: {error}"),
        })?;
    statements.pop_front().ok_or_else(|| Error::Internal {
        what: format!("no statement in {sql}"),
    })
}

fn update_query(table: &TableDefinition, update: &Update) -> Result<DFStatement> {
    let refused = if update.from.is_some() {
        Some("UPDATE … FROM")
    } else if update.returning.is_some() {
        Some("UPDATE … RETURNING")
    } else if update.limit.is_some() || !update.order_by.is_empty() {
        Some("UPDATE … ORDER BY / LIMIT")
    } else {
        None
    };
    if let Some(what) = refused {
        return Err(Error::NotSupported {
            what: what.to_owned(),
        });
    }
    let mut values: Vec<Option<String>> = vec![None; table.columns.len()];
    for assignment in &update.assignments {
        let AssignmentTarget::ColumnName(name) = &assignment.target else {
            return Err(Error::NotSupported {
                what: "UPDATE … SET (a, b) = (…)".to_owned(),
            });
        };
        let column = name
            .0
            .last()
            .and_then(|part| part.as_ident())
            .map(normalize)
            .unwrap_or_default();
        let position = table
            .column(&column)
            .ok_or_else(|| Error::UndefinedColumn {
                table: table.name.clone(),
                column: column.clone(),
            })?;
        let slot = values.get_mut(position).ok_or_else(|| Error::Internal {
            what: format!("column {position}"),
        })?;
        if slot.is_some() {
            return Err(Error::DuplicateAssignment { column });
        }
        *slot = Some(assignment.value.to_string());
    }
    let columns: Vec<String> = table
        .columns
        .iter()
        .zip(values)
        .map(|(column, value)| match value {
            Some(value) => format!("{value} AS {}", quote(&column.name)),
            None => quote(&column.name),
        })
        .collect();
    let selection = update
        .selection
        .as_ref()
        .map_or_else(String::new, |selection| format!(" WHERE {selection}"));
    parse_query(&format!(
        "SELECT {}, {} {}{selection}",
        quote(rusts_storage::ROW_ID_COLUMN),
        columns.join(", "),
        from_clause(table, &update.table)?
    ))
}

fn delete_query(
    table: &TableDefinition,
    from: &TableWithJoins,
    delete: &Delete,
) -> Result<DFStatement> {
    let refused = if delete.using.is_some() {
        Some("DELETE … USING")
    } else if delete.returning.is_some() {
        Some("DELETE … RETURNING")
    } else if delete.limit.is_some() || !delete.order_by.is_empty() {
        Some("DELETE … ORDER BY / LIMIT")
    } else {
        None
    };
    if let Some(what) = refused {
        return Err(Error::NotSupported {
            what: what.to_owned(),
        });
    }
    let selection = delete
        .selection
        .as_ref()
        .map_or_else(String::new, |selection| format!(" WHERE {selection}"));
    parse_query(&format!(
        "SELECT {} {}{selection}",
        quote(rusts_storage::ROW_ID_COLUMN),
        from_clause(table, from)?
    ))
}

/// The plain tables a `TRUNCATE` names; `None` when none is a plain table (DataFusion then
/// reports what it makes of it). Mixing plain tables with others is refused.
fn truncate_tables(
    target: &SessionTarget,
    truncate: &Truncate,
) -> Result<Option<Vec<TableDefinition>>> {
    let catalog = target.catalog.current(&target.storage)?;
    let mut tables = Vec::new();
    let mut others = Vec::new();
    for name in &truncate.table_names {
        match table_name(target, &name.name)
            .and_then(|table| catalog.table(&target.database, &table).cloned())
        {
            Some(table) => tables.push(table),
            None => others.push(name.name.to_string()),
        }
    }
    if tables.is_empty() {
        return Ok(None);
    }
    if let Some(other) = others.first() {
        return Err(Error::NotSupported {
            what: format!("TRUNCATE of {other}, which is not a plain table"),
        });
    }
    Ok(Some(tables))
}
