//! A DataFusion batch stream turned into a lazy stream of `DataRow`s.
//!
//! Rows are encoded one batch at a time as the client takes them, so memory holds at most
//! one batch per open portal, never a whole result. Each batch is awaited under the
//! session's interrupt: a cancel request or `statement_timeout` ends the stream with 57014
//! and drops the DataFusion stream, which stops its tasks.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use futures::stream::BoxStream;
use pgwire::api::results::FieldInfo;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;

use crate::pg::encode::{BatchRows, conform_batch};
use crate::pg::error::Error;
use crate::pg::session::Session;

struct RowStreamState {
    session: Arc<Session>,
    batches: SendableRecordBatchStream,
    wire_schema: SchemaRef,
    fields: Arc<Vec<FieldInfo>>,
    current: Option<BatchRows>,
    /// Set after an error: the stream ends instead of pulling more batches.
    finished: bool,
}

/// Rows of `batches`, each batch cast to `wire_schema` and encoded as `fields` describe.
pub(crate) fn data_rows(
    session: Arc<Session>,
    batches: SendableRecordBatchStream,
    wire_schema: SchemaRef,
    fields: Arc<Vec<FieldInfo>>,
) -> BoxStream<'static, PgWireResult<DataRow>> {
    let state = RowStreamState {
        session,
        batches,
        wire_schema,
        fields,
        current: None,
        finished: false,
    };
    futures::stream::unfold(state, next_row).boxed()
}

async fn next_row(mut state: RowStreamState) -> Option<(PgWireResult<DataRow>, RowStreamState)> {
    loop {
        if state.finished {
            return None;
        }
        if let Some(row) = state.current.as_mut().and_then(BatchRows::next_row) {
            if row.is_err() {
                state.finished = true;
            }
            return Some((row, state));
        }
        state.current = None;
        let next = state.session.interruptible(state.batches.next()).await;
        let batch = match next {
            Ok(None) => return None,
            Ok(Some(Ok(batch))) => batch,
            Ok(Some(Err(error))) => return Some((Err(fail(&mut state, error.into())), state)),
            Err(interrupt) => return Some((Err(fail(&mut state, interrupt)), state)),
        };
        match conform_batch(&batch, &state.wire_schema) {
            Ok(batch) => state.current = Some(BatchRows::new(batch, Arc::clone(&state.fields))),
            Err(error) => return Some((Err(fail(&mut state, error)), state)),
        }
    }
}

fn fail(state: &mut RowStreamState, error: Error) -> PgWireError {
    state.finished = true;
    error.into()
}
