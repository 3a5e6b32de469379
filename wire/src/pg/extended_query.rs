//! The extended query protocol: Parse, Bind, Describe, Execute, Close, Sync.
//!
//! pgwire keeps statements and portals and skips to Sync after an error. We override
//! `Parse` (duplicate names, the per-session limit), `Describe` (Postgres answers `NoData`,
//! not an empty row description, for statements without rows), `Execute` (rows stream to
//! the socket, where pgwire would first collect a whole fetch into a `Vec`) and `Close`.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::portal::{Portal, PortalExecutionState};
use pgwire::api::query::ExtendedQueryHandler;
use pgwire::api::results::{FieldInfo, Response};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::{NoData, ParameterDescription, RowDescription};
use pgwire::messages::extendedquery::{
    Close, CloseComplete, Describe, Execute, Parse, ParseComplete, TARGET_TYPE_BYTE_PORTAL,
    TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{EmptyQueryResponse, TransactionStatus};

use crate::pg::column_names::postgres_column_names;
use crate::pg::execute::{ResultShape, run_statement};
use crate::pg::handlers::{QueryHandler, StatementParser};
use crate::pg::params::decode_parameters;
use crate::pg::protocol::{send_parameter_changes, send_response, send_rows, session_of};
use crate::pg::sqlstate::code;
use crate::pg::statement::{PreparedStatement, StatementKind};

fn duplicate_statement(name: &str) -> PgWireError {
    let message = format!("prepared statement \"{name}\" already exists");
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        code::DUPLICATE_PREPARED_STATEMENT.to_owned(),
        message,
    )))
}

impl QueryHandler {
    /// Runs (on first Execute) and streams a portal, at most `max_rows` rows per Execute.
    async fn execute_portal<C>(
        &self,
        client: &mut C,
        portal: &Arc<Portal<PreparedStatement>>,
        max_rows: Option<usize>,
        status: &mut TransactionStatus,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = PreparedStatement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let state = portal.state();
        let mut state = state.lock().await;
        if matches!(*state, PortalExecutionState::Initial) {
            match self.do_query(client, portal, max_rows.unwrap_or(0)).await? {
                Response::Query(rows) => *state = PortalExecutionState::Suspended(rows),
                response => {
                    *state = PortalExecutionState::Finished;
                    return send_response(client, response, false, status).await;
                }
            }
        }
        match &mut *state {
            PortalExecutionState::Suspended(rows) => {
                if !send_rows(client, rows, max_rows).await? {
                    *state = PortalExecutionState::Finished;
                }
            }
            // Executing a finished portal again returns no rows, as in Postgres.
            PortalExecutionState::Finished | PortalExecutionState::Initial => {
                let tag = pgwire::api::results::Tag::new("SELECT").with_rows(0);
                client
                    .feed(PgWireBackendMessage::CommandComplete(tag.into()))
                    .await?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ExtendedQueryHandler for QueryHandler {
    type Statement = PreparedStatement;
    type QueryParser = StatementParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::clone(&self.parser)
    }

    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = session_of(client)?;
        let name = message
            .name
            .clone()
            .unwrap_or_else(|| DEFAULT_NAME.to_owned());
        let named = name != DEFAULT_NAME;
        // Postgres refuses to redefine a named statement; only the unnamed one is replaced.
        if named && client.portal_store().get_statement(&name).is_some() {
            return Err(duplicate_statement(&name));
        }
        let parsed = StoredStatement::parse(client, &message, self.query_parser()).await?;
        if named {
            session.add_prepared(&name)?;
        }
        match parsed {
            Some(statement) => client.portal_store().put_statement(Arc::new(statement)),
            None => client.portal_store().put_empty_statement(&name),
        }
        client
            .send(PgWireBackendMessage::ParseComplete(ParseComplete::new()))
            .await?;
        Ok(())
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let portal_name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal = match client.portal_store().get_portal(portal_name) {
            Some(Entry::Value(portal)) => portal,
            Some(Entry::Empty) => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
                return Ok(());
            }
            None => return Err(PgWireError::PortalNotFound(portal_name.to_owned())),
        };
        let session = session_of(client)?;
        // Postgres treats a row limit of 0 (or less) as "all rows".
        let max_rows = usize::try_from(message.max_rows)
            .ok()
            .filter(|rows| *rows > 0);
        client.set_state(PgWireConnectionState::QueryInProgress);
        session.begin_statement();
        let mut status = client.transaction_status();
        let result = self
            .execute_portal(client, &portal, max_rows, &mut status)
            .await;
        send_parameter_changes(client, &session).await?;
        session.apply_to_datafusion().await?;
        // A COPY FROM STDIN leaves the connection in copy mode until CopyDone / CopyFail.
        if !matches!(client.state(), PgWireConnectionState::CopyInProgress(_)) {
            client.set_state(PgWireConnectionState::ReadyForQuery);
        }
        client.set_transaction_status(status);
        result
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let (parameters, fields) = match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => match client.portal_store().get_statement(name) {
                Some(Entry::Value(statement)) => {
                    let fields = self.parser.get_result_schema(&statement.statement, None)?;
                    (Some(statement.statement.parameter_types.clone()), fields)
                }
                Some(Entry::Empty) => (Some(Vec::new()), Vec::new()),
                None => return Err(PgWireError::StatementNotFound(name.to_owned())),
            },
            TARGET_TYPE_BYTE_PORTAL => match client.portal_store().get_portal(name) {
                Some(Entry::Value(portal)) => {
                    let format = Some(&portal.result_column_format);
                    (
                        None,
                        self.parser
                            .get_result_schema(&portal.statement.statement, format)?,
                    )
                }
                Some(Entry::Empty) => (None, Vec::new()),
                None => return Err(PgWireError::PortalNotFound(name.to_owned())),
            },
            other => return Err(PgWireError::InvalidTargetType(other)),
        };
        send_description(client, parameters, &fields).await
    }

    async fn on_close<C>(&self, client: &mut C, message: Close) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => {
                client.portal_store().rm_statement(name);
                session_of(client)?.remove_prepared(name);
            }
            TARGET_TYPE_BYTE_PORTAL => client.portal_store().rm_portal(name),
            other => return Err(PgWireError::InvalidTargetType(other)),
        }
        client
            .send(PgWireBackendMessage::CloseComplete(CloseComplete::new()))
            .await?;
        Ok(())
    }

    /// Decodes the portal's parameters and runs its statement.
    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = session_of(client)?;
        let statement = &portal.statement.statement;
        let parameters = decode_parameters(portal, statement)?;
        // The names a simple query of the same text would give, for a plan kept under it.
        let column_names = match (&statement.text, &statement.kind) {
            (Some(_), StatementKind::Query { statement, .. }) => postgres_column_names(statement),
            _ => None,
        };
        let shape = ResultShape {
            format: &portal.result_column_format,
            described: statement.columns.clone(),
            column_names,
            cache_key: statement.text.as_deref(),
        };
        let status = client.transaction_status();
        let store = client.portal_store();
        Ok(run_statement(
            &session,
            &statement.kind,
            Some(parameters),
            shape,
            store,
            status,
        )
        .await?)
    }
}

/// `ParameterDescription` (statements only), then `RowDescription` or `NoData`.
async fn send_description<C>(
    client: &mut C,
    parameters: Option<Vec<Type>>,
    fields: &[FieldInfo],
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    if let Some(parameters) = parameters {
        let oids = parameters.iter().map(Type::oid).collect();
        client
            .feed(PgWireBackendMessage::ParameterDescription(
                ParameterDescription::new(oids),
            ))
            .await?;
    }
    let message = if fields.is_empty() {
        PgWireBackendMessage::NoData(NoData::new())
    } else {
        let fields = fields.iter().map(Into::into).collect();
        PgWireBackendMessage::RowDescription(RowDescription::new(fields))
    };
    client.send(message).await?;
    Ok(())
}
