//! `rusts_catalog`: databases, tables (measurements and plain tables), columns and their role
//! (time, tag, field), users, views and policies, and the rows of `pg_catalog` and
//! `information_schema`.
//!
//! Today it holds PostgreSQL's built-in types ([`pg_type`]); the only schema RusTs keeps is
//! the per-measurement schema of the storage engine (`rusts_storage::MeasurementSchema`).
//! This crate must not depend on `rusts_storage`; the planner joins the two.

mod builtin_types;
pub mod pg_type;
