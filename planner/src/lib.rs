//! `rusts_planner`: the engine facade the wire crate calls (`authenticate`, `execute`,
//! `describe`, `ingest`), DataFusion sessions, table providers that push predicates down to
//! `rusts_storage::ScanRequest`, and the time-series UDFs.
//!
//! Empty until the Postgres wire issue.
