//! `rusts_wire`: the protocol listeners. Protocol code only decodes requests, calls
//! `rusts_planner::Engine` and encodes answers; it maps `ErrorKind` to HTTP status (and, with
//! the Postgres listener, to SQLSTATE) in [`status`].
//!
//! The HTTP listener for InfluxDB line protocol (`/write`, `/api/v2/write`) and monitoring
//! (`/ping`, `/health`, `/ready`, `/metrics`, `/stats`), and the Postgres listener ([`pg`]:
//! simple and extended query protocols over DataFusion sessions the planner provides).
#![forbid(unsafe_code)]

pub mod http;
pub mod line_protocol;
pub mod pg;
mod pg_sessions;
mod status;

pub use http::{HttpOptions, serve_http};
pub use pg::{PgServerOptions, SessionFactory, serve_pg};
