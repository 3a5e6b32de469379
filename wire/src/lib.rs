//! `rusts_wire`: the Postgres listener (pgwire) and the HTTP line-protocol listener. Protocol
//! code only encodes and decodes, then calls `rusts_planner`; it maps `ErrorKind` to SQLSTATE
//! and HTTP status.
//!
//! Empty until the HTTP ingestion issue.
