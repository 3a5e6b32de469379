//! Bounds on what one client can make a connection hold, each with the reason for its value.
//!
//! Every limit is enforced at the protocol boundary and answered with SQLSTATE 54000
//! (`program_limit_exceeded`), so a misbehaving client gets an error, not the server's memory.

/// Statements in one simple-query message. psql scripts sent with `-c` rarely exceed a few
/// dozen; a bound stops a megabyte of `;` from queueing millions of plans.
pub(crate) const STATEMENTS_PER_QUERY_MAX: usize = 1_024;

/// Named prepared statements one session may hold. pgjdbc caches 256 per connection by
/// default; four times that leaves headroom while bounding plan memory per session.
pub(crate) const PREPARED_STATEMENTS_MAX: usize = 1_024;

/// Bytes of SQL text accepted in one statement. Generated `IN (...)` lists from ORMs reach
/// hundreds of kilobytes; beyond 1 MiB parsing cost and AST memory grow without benefit.
pub(crate) const SQL_BYTES_MAX: usize = 1 << 20;

/// Largest `statement_timeout`, in milliseconds: Postgres stores it as a C `int`, so values
/// above `INT_MAX` (about 24.8 days) are rejected there too.
pub(crate) const STATEMENT_TIMEOUT_MS_MAX: u64 = i32::MAX as u64;

const _: () = assert!(STATEMENTS_PER_QUERY_MAX > 0);
const _: () = assert!(PREPARED_STATEMENTS_MAX >= 256);
const _: () = assert!(SQL_BYTES_MAX >= 64 * 1024);
