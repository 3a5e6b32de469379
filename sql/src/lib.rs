//! `rusts_sql`: the statements RusTs understands beyond what DataFusion plans (DDL with tags,
//! continuous aggregates, retention policies, `SET`/`SHOW`, transaction no-ops, `COPY`).
//!
//! Empty until the Postgres wire issue: it will parse with the `sqlparser` version DataFusion
//! re-exports, never a second one.
