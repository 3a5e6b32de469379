//! `rusts_catalog`: databases, tables (measurements and plain tables), columns and their role
//! (time, tag, field), users, views and policies, and the rows of `pg_catalog` and
//! `information_schema`.
//!
//! Today it holds PostgreSQL's built-in types ([`pg_type`]) and the description of plain
//! tables ([`tables`]), which the storage engine keeps as opaque bytes; measurements are
//! described by the storage engine's own schemas (`rusts_storage::MeasurementSchema`). This
//! crate must not depend on `rusts_storage`; the planner joins the two.

mod builtin_types;
pub mod pg_type;
pub mod tables;
