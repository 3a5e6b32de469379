//! The simple query protocol: one `Query` message, any number of statements.
//!
//! We replace pgwire's `on_query` because its default runs every statement before sending
//! any result; here each statement runs and streams its rows before the next one starts, so
//! `SELECT ...; INSERT ...` reads before the insert and a large result is never buffered.
//! The first failing statement ends the message, as in Postgres.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::Statement;
use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::portal::Format;
use pgwire::api::query::{SimpleQueryHandler, send_ready_for_query};
use pgwire::api::results::{QueryResponse, Response};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::response::{EmptyQueryResponse, TransactionStatus};
use pgwire::messages::simplequery::Query;

use crate::pg::column_names::postgres_column_names;
use crate::pg::error::{Error, Result};
use crate::pg::execute::{ResultShape, run_cached_plan, run_statement};
use crate::pg::handlers::QueryHandler;
use crate::pg::protocol::{is_connection_error, send_parameter_changes, send_response, session_of};
use crate::pg::session::Session;
use crate::pg::session_command::PreparedStore;
use crate::pg::statement::{StatementKind, parse_statements};

/// Rows `do_query` may buffer for one statement; it is only reached if pgwire's default
/// `on_query` is used, which buffers by design.
const BUFFERED_ROWS_MAX: usize = 100_000;

/// Runs one parsed statement of a simple query; `cache_key` is the query text when the
/// statement is all of it.
async fn run_simple_statement(
    session: &Arc<Session>,
    statement: DFStatement,
    cache_key: Option<&str>,
    store: &dyn PreparedStore,
    status: TransactionStatus,
) -> Result<Response> {
    session.begin_statement();
    let column_names = postgres_column_names(&statement);
    let kind = StatementKind::of(statement, session)?;
    let shape = ResultShape {
        format: &Format::UnifiedText,
        described: None,
        column_names,
        cache_key,
    };
    run_statement(session, &kind, None, shape, store, status).await
}

impl QueryHandler {
    /// Runs and answers every statement of `sql`, stopping at the first error.
    async fn answer_query<C>(
        &self,
        client: &mut C,
        session: &Arc<Session>,
        sql: &str,
        status: &mut TransactionStatus,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Some(cached) = session.cached_plan(sql) {
            session.begin_statement();
            let response = if matches!(*status, TransactionStatus::Error) {
                Err(Error::TransactionAborted)
            } else {
                let shape = ResultShape {
                    format: &Format::UnifiedText,
                    described: None,
                    column_names: None,
                    cache_key: None,
                };
                run_cached_plan(session, cached, shape)
            };
            let sent = match response {
                Ok(response) => send_response(client, response, true, status).await,
                Err(error) => Err(error.into()),
            };
            send_parameter_changes(client, session).await?;
            session.apply_to_datafusion().await?;
            return sent;
        }
        let statements = parse_statements(sql)?;
        if statements.is_empty() {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
        }
        let count = statements.len();
        let cache_key = (count == 1).then_some(sql);
        for (index, statement) in statements.into_iter().enumerate() {
            if index + 1 < count && is_copy_from(&statement) {
                return Err(Error::NotSupported {
                    what: "COPY FROM STDIN before other statements in one query string".to_owned(),
                }
                .into());
            }
            let response = run_simple_statement(
                session,
                statement,
                cache_key,
                client.portal_store(),
                *status,
            )
            .await;
            let sent = match response {
                Ok(response) => send_response(client, response, true, status).await,
                Err(error) => Err(error.into()),
            };
            send_parameter_changes(client, session).await?;
            session.apply_to_datafusion().await?;
            sent?;
        }
        Ok(())
    }
}

#[async_trait]
impl SimpleQueryHandler for QueryHandler {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let session = session_of(client)?;
        tracing::debug!(pid = session.variables().identity.pid, query = %truncated(&query.query), "simple query");
        client.set_state(PgWireConnectionState::QueryInProgress);
        let mut status = client.transaction_status();
        if let Err(error) = self
            .answer_query(client, &session, &query.query, &mut status)
            .await
        {
            if is_connection_error(&error) {
                return Err(error);
            }
            let info = ErrorInfo::from(error);
            client
                .feed(PgWireBackendMessage::ErrorResponse(info.into()))
                .await?;
            status = status.to_error_state();
        }
        client.set_transaction_status(status);
        if matches!(client.state(), PgWireConnectionState::CopyInProgress(_)) {
            // The data follows; CopyDone or CopyFail ends the query (see `copy_handler.rs`).
            return Ok(());
        }
        client.set_state(PgWireConnectionState::ReadyForQuery);
        send_ready_for_query(client, status).await
    }

    /// The buffered form pgwire's default `on_query` would use: every statement's rows are
    /// collected (at most `BUFFERED_ROWS_MAX` each) before the next statement runs, so
    /// statement order is still respected. Our `on_query` streams instead.
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = session_of(client)?;
        let status = client.transaction_status();
        let mut responses = Vec::new();
        for statement in parse_statements(query)? {
            match run_simple_statement(&session, statement, None, client.portal_store(), status)
                .await
            {
                Ok(Response::Query(rows)) => responses.push(Response::Query(buffer(rows).await?)),
                Ok(response) => responses.push(response),
                Err(error) => {
                    responses.push(Response::Error(Box::new(error.to_error_info())));
                    break;
                }
            }
        }
        Ok(responses)
    }
}

async fn buffer(mut rows: QueryResponse) -> PgWireResult<QueryResponse> {
    let mut buffered = Vec::new();
    while let Some(row) = rows.data_rows().next().await {
        if buffered.len() == BUFFERED_ROWS_MAX {
            let limit = BUFFERED_ROWS_MAX;
            return Err(Error::LimitExceeded {
                what: "rows buffered for one statement",
                limit,
            }
            .into());
        }
        buffered.push(row);
    }
    let mut response = QueryResponse::new(rows.row_schema(), futures::stream::iter(buffered));
    response.set_command_tag(rows.command_tag());
    Ok(response)
}

fn is_copy_from(statement: &DFStatement) -> bool {
    matches!(statement, DFStatement::Statement(inner) if matches!(**inner, Statement::Copy { to: false, .. }))
}

/// Query text for debug logs, cut at 200 bytes on a character boundary.
pub(crate) fn truncated(sql: &str) -> &str {
    let mut end = sql.len().min(200);
    while !sql.is_char_boundary(end) {
        end -= 1;
    }
    &sql[..end]
}
