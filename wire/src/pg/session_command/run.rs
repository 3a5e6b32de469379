//! Executing session commands against the session and pgwire's statement store.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{Deallocate, LogicalPlan, Statement as PlanStatement};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use pgwire::api::results::{Response, Tag};
use pgwire::api::store::PortalStore;
use pgwire::messages::response::TransactionStatus;

use crate::pg::error::{Error, Result};
use crate::pg::execute::{ResultShape, rows_response};
use crate::pg::session::Session;
use crate::pg::session_command::SessionCommand;

/// The part of pgwire's statement/portal store session commands need, object-safe so
/// statement execution does not carry the store's generic type.
pub(crate) trait PreparedStore: Send + Sync {
    fn remove_statement(&self, name: &str);
    fn remove_portals(&self);
}

impl<P: PortalStore> PreparedStore for P {
    fn remove_statement(&self, name: &str) {
        self.rm_statement(name);
    }

    fn remove_portals(&self) {
        self.clear_portals();
    }
}

/// Runs `command`; `status` is the transaction state before it.
pub(crate) async fn run_session_command(
    session: &Arc<Session>,
    command: &SessionCommand,
    shape: ResultShape<'_>,
    store: &dyn PreparedStore,
    status: TransactionStatus,
) -> Result<Response> {
    let variables = session.variables();
    match command {
        SessionCommand::Set {
            name,
            value: Some(value),
        } => variables.set(name, value)?,
        SessionCommand::Set { name, value: None } | SessionCommand::Reset { name } => {
            let report = variables.settings().reset(name)?;
            variables.queue_reports(report);
        }
        SessionCommand::ResetAll => {
            let reports = variables.settings().reset_all();
            variables.queue_reports(reports);
        }
        SessionCommand::SetTransaction => {}
        SessionCommand::Show { name } => {
            let value = variables.settings().get(name)?.to_owned();
            return show_rows(session, command, vec![vec![value]], shape);
        }
        SessionCommand::ShowAll => {
            let rows = variables
                .settings()
                .show_all()
                .into_iter()
                .map(Vec::from)
                .collect();
            return show_rows(session, command, rows, shape);
        }
        SessionCommand::Begin => return Ok(Response::TransactionStart(Tag::new("BEGIN"))),
        // Writes already applied statement by statement; ending the block only resets the
        // status. COMMIT of a failed block reports ROLLBACK, as Postgres does.
        SessionCommand::Commit if matches!(status, TransactionStatus::Error) => {
            return Ok(Response::TransactionEnd(Tag::new("ROLLBACK")));
        }
        SessionCommand::Commit | SessionCommand::Rollback => {
            return Ok(Response::TransactionEnd(Tag::new(command.tag())));
        }
        SessionCommand::Discard { all: true } => {
            for name in session.take_prepared() {
                store.remove_statement(&name);
            }
            store.remove_portals();
            let reports = variables.settings().reset_all();
            variables.queue_reports(reports);
        }
        SessionCommand::Discard { all: false }
        | SessionCommand::CloseAll
        | SessionCommand::Unlisten => {}
        SessionCommand::Deallocate { name: None } => {
            for name in session.take_prepared() {
                store.remove_statement(&name);
            }
        }
        SessionCommand::Deallocate { name: Some(name) } => deallocate(session, name, store).await?,
    }
    session.apply_to_datafusion().await?;
    Ok(Response::Execution(Tag::new(command.tag())))
}

/// Drops a prepared statement made by `Parse` or by SQL `PREPARE` (DataFusion keeps those).
async fn deallocate(session: &Session, name: &str, store: &dyn PreparedStore) -> Result<()> {
    let from_protocol = session.remove_prepared(name);
    store.remove_statement(name);
    let plan = LogicalPlan::Statement(PlanStatement::Deallocate(Deallocate {
        name: name.to_owned(),
    }));
    let from_sql = session.context().execute_logical_plan(plan).await.is_ok();
    if from_protocol || from_sql {
        Ok(())
    } else {
        Err(Error::UnknownStatement {
            name: name.to_owned(),
        })
    }
}

/// `SHOW` output as a one-batch row response, so it is encoded like any query result.
fn show_rows(
    session: &Arc<Session>,
    command: &SessionCommand,
    rows: Vec<Vec<String>>,
    shape: ResultShape<'_>,
) -> Result<Response> {
    let schema = command
        .columns()?
        .ok_or_else(|| DataFusionError::Internal(format!("{} has no columns", command.tag())))?;
    let columns: Vec<ArrayRef> = (0..schema.fields().len())
        .map(|column| {
            let values = rows.iter().map(|row| row.get(column).map(String::as_str));
            Arc::new(values.collect::<StringArray>()) as ArrayRef
        })
        .collect();
    let batch =
        RecordBatch::try_new(Arc::clone(&schema), columns).map_err(DataFusionError::from)?;
    let batches = futures::stream::iter([Ok::<_, DataFusionError>(batch)]);
    let stream = Box::pin(RecordBatchStreamAdapter::new(Arc::clone(&schema), batches));
    let shape = ResultShape {
        format: shape.format,
        described: Some(schema),
        column_names: None,
        cache_key: None,
    };
    rows_response(session, stream, "SHOW", shape)
}
