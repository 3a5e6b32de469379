//! The handler set pgwire calls for each connection, and the `Parse`-time statement parser.

use std::sync::Arc;

use async_trait::async_trait;
use pgwire::api::portal::Format;
use pgwire::api::results::FieldInfo;
use pgwire::api::stmt::QueryParser;
use pgwire::api::{ClientInfo, PgWireServerHandlers, Type};
use pgwire::error::PgWireResult;

use crate::pg::cancel::RegistryCancelHandler;
use crate::pg::encode::wire_schema;
use crate::pg::error::Error;
use crate::pg::protocol::session_of;
use crate::pg::startup::SessionStartup;
use crate::pg::statement::{PreparedStatement, prepare};

/// Answers simple and extended queries (see `simple_query.rs`, `extended_query.rs`).
#[derive(Debug, Default)]
pub(crate) struct QueryHandler {
    pub(crate) parser: Arc<StatementParser>,
}

/// Parses, plans and describes statements at `Parse` time.
#[derive(Debug, Default)]
pub(crate) struct StatementParser;

#[async_trait]
impl QueryParser for StatementParser {
    type Statement = PreparedStatement;

    async fn parse_sql<C>(
        &self,
        client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<PreparedStatement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let session = session_of(client)?;
        tracing::debug!(pid = session.variables().identity.pid, query = %crate::pg::simple_query::truncated(sql), "parse");
        Ok(prepare(&session, sql, types).await?)
    }

    fn get_parameter_types(&self, statement: &PreparedStatement) -> PgWireResult<Vec<Type>> {
        Ok(statement.parameter_types.clone())
    }

    /// Row description fields; the time zone does not change a column's type, so any will do.
    fn get_result_schema(
        &self,
        statement: &PreparedStatement,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        let Some(columns) = &statement.columns else {
            return Ok(Vec::new());
        };
        let wire = wire_schema(columns, "UTC");
        let format = format.cloned().unwrap_or_default();
        if let Format::Individual(codes) = &format
            && codes.len() != wire.fields().len()
        {
            let what = format!(
                "{} result format codes for {} columns",
                codes.len(),
                wire.fields().len()
            );
            return Err(Error::NotSupported { what }.into());
        }
        let fields = arrow_pg::datatypes::arrow_schema_to_pg_fields(&wire, &format, None)?;
        Ok(crate::pg::encode::with_oid_types(&wire, fields))
    }
}

/// Everything pgwire needs to serve a connection.
#[derive(Debug)]
pub(crate) struct Handlers {
    pub(crate) startup: Arc<SessionStartup>,
    pub(crate) query: Arc<QueryHandler>,
    pub(crate) cancel: Arc<RegistryCancelHandler>,
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl pgwire::api::query::SimpleQueryHandler> {
        Arc::clone(&self.query)
    }

    fn extended_query_handler(&self) -> Arc<impl pgwire::api::query::ExtendedQueryHandler> {
        Arc::clone(&self.query)
    }

    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        Arc::clone(&self.startup)
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        Arc::clone(&self.cancel)
    }

    fn copy_handler(&self) -> Arc<impl pgwire::api::copy::CopyHandler> {
        Arc::clone(&self.query)
    }
}
