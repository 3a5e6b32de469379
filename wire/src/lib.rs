//! `rusts_wire`: the protocol listeners. Protocol code only decodes requests, calls
//! `rusts_planner::Engine` and encodes answers; it maps `ErrorKind` to HTTP status (and, with
//! the Postgres listener, to SQLSTATE) in [`status`].
//!
//! Today: the HTTP listener for InfluxDB line protocol (`/write`, `/api/v2/write`) and
//! monitoring (`/ping`, `/health`, `/ready`, `/metrics`, `/stats`). The Postgres listener
//! arrives with its issue.
#![forbid(unsafe_code)]

pub mod http;
pub mod line_protocol;
mod status;

pub use http::{HttpOptions, serve_http};
