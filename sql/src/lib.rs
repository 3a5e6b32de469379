//! `rusts_sql`: the statements RusTs understands beyond what DataFusion's parser reads.
//!
//! It parses with the `sqlparser` version DataFusion re-exports, never a second one, so what
//! it returns is the AST the planner takes.
#![forbid(unsafe_code)]

mod database;

pub use database::parse_drop_database;
