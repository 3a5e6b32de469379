//! Message-level helpers both query protocols share: finding the session, streaming a row
//! response with an optional row limit, and sending tags and parameter changes.

use std::fmt::Debug;
use std::sync::Arc;

use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::results::{QueryResponse, Response, Tag};
use pgwire::api::{ClientInfo, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::RowDescription;
use pgwire::messages::extendedquery::PortalSuspended;
use pgwire::messages::response::{EmptyQueryResponse, TransactionStatus};
use pgwire::messages::startup::ParameterStatus;

use crate::pg::error::Error;
use crate::pg::session::Session;
use crate::pg::sqlstate::code;

/// The session the startup handler stored for this connection.
pub(crate) fn session_of<C: ClientInfo + ?Sized>(client: &C) -> PgWireResult<Arc<Session>> {
    let session = client
        .session_extensions()
        .get::<Arc<Session>>()
        .ok_or_else(|| {
            let message = "query before session start".to_owned();
            PgWireError::UserError(Box::new(ErrorInfo::new(
                "FATAL".to_owned(),
                code::PROTOCOL_VIOLATION.to_owned(),
                message,
            )))
        })?;
    Ok(Arc::clone(&session))
}

/// Socket failures end the connection; everything else is reported and the session goes on.
pub(crate) fn is_connection_error(error: &PgWireError) -> bool {
    matches!(error, PgWireError::IoError(_))
}

/// `SELECT n` counts rows; `SHOW`, `EXPLAIN` and other row-returning tags do not.
fn completion_tag(command: &str, rows: usize) -> Tag {
    if command == "SELECT" {
        Tag::new(command).with_rows(rows)
    } else {
        Tag::new(command)
    }
}

/// Sends rows until `max_rows` (`None`: all). Returns true when the portal was suspended
/// with rows left; the caller keeps the response to resume it.
pub(crate) async fn send_rows<C>(
    client: &mut C,
    response: &mut QueryResponse,
    max_rows: Option<usize>,
) -> PgWireResult<bool>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let mut sent = 0usize;
    while max_rows.is_none_or(|max_rows| sent < max_rows) {
        match response.data_rows().next().await {
            Some(row) => client.feed(PgWireBackendMessage::DataRow(row?)).await?,
            None => {
                let tag = completion_tag(response.command_tag(), sent);
                client
                    .feed(PgWireBackendMessage::CommandComplete(tag.into()))
                    .await?;
                return Ok(false);
            }
        }
        sent += 1;
    }
    client
        .feed(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
        .await?;
    Ok(true)
}

/// Sends a complete response: row description (simple protocol only), rows, and tag.
/// Updates `status` for transaction control.
pub(crate) async fn send_response<C>(
    client: &mut C,
    response: Response,
    describe: bool,
    status: &mut TransactionStatus,
) -> PgWireResult<()>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let message = match response {
        Response::Query(mut rows) => {
            if describe {
                let fields = rows.row_schema().iter().map(Into::into).collect();
                client
                    .feed(PgWireBackendMessage::RowDescription(RowDescription::new(
                        fields,
                    )))
                    .await?;
            }
            send_rows(client, &mut rows, None).await?;
            return Ok(());
        }
        Response::Execution(tag) => PgWireBackendMessage::CommandComplete(tag.into()),
        Response::TransactionStart(tag) => {
            *status = status.to_in_transaction_state();
            PgWireBackendMessage::CommandComplete(tag.into())
        }
        Response::TransactionEnd(tag) => {
            *status = status.to_idle_state();
            PgWireBackendMessage::CommandComplete(tag.into())
        }
        Response::EmptyQuery => PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new()),
        Response::Error(info) => return Err(PgWireError::UserError(info)),
        Response::CopyOut(copy) => {
            return crate::pg::copy::send_copy_out(client, copy).await;
        }
        Response::CopyIn(copy) => {
            pgwire::api::copy::send_copy_in_response(client, copy).await?;
            client.set_state(PgWireConnectionState::CopyInProgress(!describe));
            return Ok(());
        }
        Response::CopyBoth(_) => {
            return Err(Error::NotSupported {
                what: "COPY BOTH (replication)".to_owned(),
            }
            .into());
        }
    };
    client.feed(message).await?;
    Ok(())
}

/// Sends the `ParameterStatus` changes the last statement made (`SET TimeZone`, ...).
pub(crate) async fn send_parameter_changes<C>(client: &mut C, session: &Session) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    for (name, value) in session.variables().take_reports() {
        let status = ParameterStatus::new(name, value);
        client
            .feed(PgWireBackendMessage::ParameterStatus(status))
            .await?;
    }
    Ok(())
}
