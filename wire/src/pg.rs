//! The Postgres listener: the wire protocol (pgwire) in front of Apache DataFusion.
//!
//! `serve_pg` accepts connections and gives each one a DataFusion `SessionContext` from a
//! `SessionFactory`. Both query protocols are served (simple, and extended with named
//! statements, portals, `$n` parameters and row limits), with text and binary formats,
//! cancel requests, `statement_timeout`, SQLSTATE error codes, and the session statements
//! and functions drivers use on connect (`SET`, `SHOW`, `BEGIN`, `current_setting()`, ...).
//!
//! ```no_run
//! use std::sync::Arc;
//! use datafusion::prelude::SessionContext;
//! use rusts_wire::{PgServerOptions, SessionFactory, serve_pg};
//!
//! struct Fresh;
//! impl SessionFactory for Fresh {
//!     fn new_session(&self, _database: &str, _user: &str) -> Result<SessionContext, String> {
//!         Ok(SessionContext::new())
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:5432").await?;
//! serve_pg(listener, Arc::new(Fresh), PgServerOptions::default(), std::future::pending()).await
//! # }
//! ```
//!
//! `COPY … FROM STDIN` / `TO STDOUT` in text and CSV (`copy.rs`). Not here (yet): TLS,
//! password authentication, `pg_catalog`. Limits are in
//! `limits.rs`; results stream batch by batch, so memory per portal is one record batch.

mod cancel;
mod column_names;
mod copy;
mod copy_handler;
mod encode;
mod error;
mod execute;
mod extended_query;
mod functions;
mod handlers;
mod limits;
mod params;
mod plan_cache;
mod protocol;
mod row_stream;
mod server;
mod session;
mod session_command;
mod settings;
mod simple_query;
mod sqlstate;
mod startup;
mod statement;
mod text_format;

pub use server::{PgServerOptions, SessionFactory, serve_pg};

/// The SQLSTATE and message a DataFusion error gets on the Postgres wire (the HTTP SQL
/// endpoint answers with the same).
pub(crate) fn sqlstate_and_message(
    error: &datafusion::error::DataFusionError,
) -> (&'static str, String) {
    sqlstate::datafusion_error_to_sqlstate(error)
}
