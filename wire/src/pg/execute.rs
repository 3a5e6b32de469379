//! Running one statement, for either protocol, into a pgwire `Response`.
//!
//! Rows come back as a lazy `QueryResponse` (see `row_stream.rs`); commands come back as
//! their `CommandComplete` tag. The caller has already called `Session::begin_statement`,
//! so planning and execution here run under the statement's interrupt.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef, UInt64Type};
use datafusion::common::ParamValues;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;
use pgwire::api::portal::Format;
use pgwire::api::results::{CopyResponse, QueryResponse, Response, Tag};
use pgwire::messages::response::TransactionStatus;

use crate::pg::column_names::rename_columns;
use crate::pg::copy::{CopyCommand, copy_in, copy_out};
use crate::pg::encode::{field_infos, wire_schema};
use crate::pg::error::{Error, Result};
use crate::pg::plan_cache::CachedPlan;
use crate::pg::row_stream::data_rows;
use crate::pg::session::Session;
use crate::pg::session_command::{PreparedStore, SessionCommand, run_session_command};
use crate::pg::statement::{Completion, StatementKind, plan_statement};

/// How the result rows are to be encoded.
#[derive(Debug)]
pub(crate) struct ResultShape<'a> {
    /// Text/binary per column, from `Bind` (always text for simple queries).
    pub(crate) format: &'a Format,
    /// The columns `Describe` announced, which rows must match; `None` takes the plan's.
    pub(crate) described: Option<SchemaRef>,
    /// Postgres names for the plan's columns when nothing was described (simple protocol).
    pub(crate) column_names: Option<Vec<String>>,
    /// The statement's whole SQL text (a simple query of one statement, or a `Parse`
    /// without parameters): its plan is kept under it when reusable (see `plan_cache.rs`).
    pub(crate) cache_key: Option<&'a str>,
}

/// Runs `kind` with `parameters` bound. `status` is the transaction state before it.
pub(crate) async fn run_statement(
    session: &Arc<Session>,
    kind: &StatementKind,
    parameters: Option<ParamValues>,
    shape: ResultShape<'_>,
    store: &dyn PreparedStore,
    status: TransactionStatus,
) -> Result<Response> {
    let allowed_when_failed = matches!(
        kind,
        StatementKind::Session(SessionCommand::Commit | SessionCommand::Rollback)
    );
    if matches!(status, TransactionStatus::Error) && !allowed_when_failed {
        return Err(Error::TransactionAborted);
    }
    if !matches!(kind, StatementKind::Query { .. }) {
        // Settings shape plans, and other statements may change the catalog.
        session.clear_plans();
    }
    match kind {
        StatementKind::Session(command) => {
            run_session_command(session, command, shape, store, status).await
        }
        StatementKind::Copy(CopyCommand::Out { query, format }) => {
            let response = copy_out(session, query, format).await?;
            Ok(Response::CopyOut(response))
        }
        StatementKind::Copy(CopyCommand::In {
            table,
            columns,
            format,
        }) => {
            let (copy, count) = copy_in(session, table, columns, format).await?;
            session.put_copy_in(copy);
            let empty = futures::stream::empty();
            Ok(Response::CopyIn(CopyResponse::new(0, count, empty)))
        }
        StatementKind::Ddl(statement) => {
            let tag = rusts_planner::ddl::execute_blocking(session.context(), statement).await?;
            Ok(Response::Execution(Tag::new(tag)))
        }
        StatementKind::PlainDml(dml) => {
            let changed = session
                .interruptible(dml.execute(session.context(), parameters))
                .await??;
            let tag = Tag::new(dml.tag());
            Ok(Response::Execution(match changed {
                Some(rows) => tag.with_rows(usize::try_from(rows).unwrap_or(usize::MAX)),
                None => tag,
            }))
        }
        StatementKind::Query {
            statement,
            completion,
        } => {
            let mut shape = shape;
            if !parameters.as_ref().is_none_or(no_values) {
                shape.cache_key = None;
            }
            if let Some(cached) = shape.cache_key.and_then(|key| session.cached_plan(key)) {
                return run_cached_plan(session, cached, shape);
            }
            let (plan, reads_views) = session
                .interruptible(plan_statement(session, statement.clone()))
                .await??;
            if reads_views || !rusts_planner::reuse::is_deterministic(&plan) {
                shape.cache_key = None;
            }
            let plan = match parameters {
                Some(parameters) => plan.with_param_values(parameters)?,
                None => plan,
            };
            run_plan(session, plan, completion, shape).await
        }
    }
}

/// Executes a planned statement.
pub(crate) async fn run_plan(
    session: &Arc<Session>,
    plan: LogicalPlan,
    completion: &Completion,
    shape: ResultShape<'_>,
) -> Result<Response> {
    let frame = session
        .interruptible(session.context().execute_logical_plan(plan))
        .await??;
    match completion {
        Completion::Rows { tag, .. } => {
            let physical = session
                .interruptible(frame.create_physical_plan())
                .await??;
            if let Some(key) = shape.cache_key
                && rusts_planner::reuse::is_reusable(&physical)
            {
                let names = shape.column_names.clone();
                session.cache_plan(key, Arc::clone(&physical), tag, names);
            }
            let batches = execute_physical(session, physical)?;
            rows_response(session, batches, tag, shape)
        }
        Completion::Affected { tag } => {
            let batches = session.interruptible(frame.collect()).await??;
            let rows = affected_rows(&batches)?;
            let command = *tag;
            let tag = Tag::new(command).with_rows(rows);
            // `INSERT oid rows`: the oid is always 0 since Postgres 12.
            let tag = if command == "INSERT" {
                tag.with_oid(0)
            } else {
                tag
            };
            Ok(Response::Execution(tag))
        }
        Completion::Command { tag } => {
            session.interruptible(frame.collect()).await??;
            Ok(Response::Execution(Tag::new(tag)))
        }
    }
}

/// Runs a plan kept by the session's plan cache, on a fresh copy of its state, as the
/// first run of its text did; `shape.column_names` falls back to the kept names.
pub(crate) fn run_cached_plan(
    session: &Arc<Session>,
    cached: CachedPlan,
    shape: ResultShape<'_>,
) -> Result<Response> {
    let plan = rusts_planner::reuse::fresh_copy(&cached.plan)?;
    let batches = execute_physical(session, plan)?;
    let shape = ResultShape {
        column_names: shape.column_names.or(cached.column_names),
        cache_key: None,
        ..shape
    };
    rows_response(session, batches, cached.tag, shape)
}

/// Whether bound parameters hold no value (an extended-protocol statement without `$n`).
fn no_values(parameters: &ParamValues) -> bool {
    match parameters {
        ParamValues::List(values) => values.is_empty(),
        ParamValues::Map(values) => values.is_empty(),
    }
}

/// Starts `plan` on the session's task context, all partitions merged into one stream.
fn execute_physical(
    session: &Session,
    plan: Arc<dyn ExecutionPlan>,
) -> Result<SendableRecordBatchStream> {
    let context = session.context().task_ctx();
    Ok(datafusion::physical_plan::execute_stream(plan, context)?)
}

/// A lazy row response for `batches`, encoded for `shape`.
pub(crate) fn rows_response(
    session: &Arc<Session>,
    batches: SendableRecordBatchStream,
    tag: &str,
    shape: ResultShape<'_>,
) -> Result<Response> {
    let (time_zone, options) = {
        let settings = session.variables().settings();
        (settings.time_zone().to_owned(), settings.format_options())
    };
    let columns = match shape.described {
        Some(described) => described,
        None => rename_columns(&batches.schema(), shape.column_names.as_deref()),
    };
    let wire = wire_schema(&columns, &time_zone);
    if let Format::Individual(codes) = shape.format
        && codes.len() != wire.fields().len()
    {
        return Err(Error::NotSupported {
            what: format!(
                "{} result format codes for {} columns",
                codes.len(),
                wire.fields().len()
            ),
        });
    }
    let fields = field_infos(&wire, shape.format, options)
        .map_err(|error| DataFusionError::Execution(error.to_string()))?;
    let rows = data_rows(Arc::clone(session), batches, wire, Arc::clone(&fields));
    let mut response = QueryResponse::new(fields, rows);
    response.set_command_tag(tag);
    Ok(Response::Query(response))
}

/// Rows a DML statement reports: DataFusion's single `count` column, summed over batches.
fn affected_rows(batches: &[RecordBatch]) -> Result<usize> {
    let mut total: u64 = 0;
    for batch in batches.iter().filter(|batch| batch.num_columns() > 0) {
        let counts = cast(batch.column(0), &DataType::UInt64).map_err(DataFusionError::from)?;
        let counts = counts.as_primitive::<UInt64Type>();
        for index in 0..counts.len() {
            if counts.is_valid(index) {
                total = total.saturating_add(counts.value(index));
            }
        }
    }
    Ok(usize::try_from(total).unwrap_or(usize::MAX))
}
