//! `rusts_catalog`: databases, tables (measurements and plain tables), columns and their role
//! (time, tag, field), users, views and policies, and the rows of `pg_catalog` and
//! `information_schema`.
//!
//! Empty until the SQL issues: today the only schema RusTs keeps is the per-measurement schema
//! of the storage engine (`rusts_storage::MeasurementSchema`). This crate must not depend on
//! `rusts_storage`; the planner joins the two.
