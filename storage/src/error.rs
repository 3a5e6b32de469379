//! The storage crate's one error type. Variants name the problem in domain terms and carry
//! what explains it (which file, which measurement); `kind()` maps each onto the neutral
//! [`ErrorKind`] with an exhaustive match.

use std::path::PathBuf;

use rusts_common::ErrorKind;

use crate::codec::CodecError;
use crate::schema::FieldType;

/// Result with the storage [`Error`] as default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the storage engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- bad input from a client (the write or scan request) ----
    /// A field's type differs from the type the measurement already has.
    #[error(
        "field type conflict: measurement {measurement}, field {field} is {existing}, \
         the write offers {offered}"
    )]
    FieldTypeConflict {
        /// The measurement written to.
        measurement: String,
        /// The field whose type conflicts.
        field: String,
        /// The type the measurement already has for the field.
        existing: FieldType,
        /// The type the write offered.
        offered: FieldType,
    },
    /// A point, name or request is malformed.
    #[error("invalid write: {reason}")]
    InvalidWrite {
        /// What is wrong, naming the measurement, tag or field concerned.
        reason: String,
    },
    /// A measurement definition (SQL `CREATE TABLE`, `ALTER TABLE … ADD COLUMN`) is invalid.
    #[error("invalid definition of measurement {measurement}: {reason}")]
    InvalidSchema {
        /// The measurement defined.
        measurement: String,
        /// What is wrong, naming the column.
        reason: String,
    },
    /// A scan or delete names a measurement the engine has never seen.
    #[error("measurement {measurement} does not exist")]
    UnknownMeasurement {
        /// The measurement asked for.
        measurement: String,
    },
    /// A scan projects a column the measurement does not have.
    #[error("measurement {measurement} has no column {column}")]
    UnknownColumn {
        /// The measurement scanned.
        measurement: String,
        /// The column asked for.
        column: String,
    },
    /// A scan's field filter compares a field with a constant of another type.
    #[error("filter on {measurement}.{field} compares a {existing} field with a {offered} value")]
    FilterTypeMismatch {
        /// The measurement scanned.
        measurement: String,
        /// The field filtered.
        field: String,
        /// The field's type.
        existing: FieldType,
        /// The constant's type.
        offered: FieldType,
    },
    /// A tag predicate's regular expression does not compile.
    #[error("invalid regular expression for tag {tag}: {pattern}")]
    InvalidRegex {
        /// The tag key the predicate applies to.
        tag: String,
        /// The pattern as given.
        pattern: String,
        /// Why it does not compile.
        #[source]
        source: regex::Error,
    },
    /// A scan request combines options that do not go together.
    #[error("invalid scan of {measurement}: {reason}")]
    InvalidScan {
        /// The measurement.
        measurement: String,
        /// What does not go together.
        reason: &'static str,
    },
    /// A plain table that does not exist (dropped, or never created).
    #[error("table {table} does not exist")]
    UnknownTable {
        /// The table's id.
        table: u64,
    },
    /// A row or change a plain table cannot take (wrong width or type, a missing row).
    #[error("invalid change to table {table}: {reason}")]
    InvalidTableRow {
        /// The table's id.
        table: u64,
        /// What is wrong.
        reason: String,
    },
    /// A row would repeat a unique key (primary key, unique constraint or index).
    #[error(
        "duplicate key value violates unique constraint \"{constraint}\": Key {key} already exists."
    )]
    UniqueViolation {
        /// The key's name.
        constraint: String,
        /// The key's columns and the repeated values: `(id)=(7)`.
        key: String,
    },
    /// A limit that protects the engine was reached.
    #[error("{what} limit reached: {value} exceeds {limit}")]
    LimitExceeded {
        /// Which limit (for example "tags per point").
        what: &'static str,
        /// The offending size.
        value: u64,
        /// The limit.
        limit: u64,
    },
    /// The options passed to [`crate::Engine::open`] are inconsistent.
    #[error("invalid storage option {option}: {reason}")]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// Why the value is refused.
        reason: String,
    },

    // ---- the engine's own state ----
    /// The engine is closed or closing; the write was not accepted.
    #[error("storage engine is shutting down")]
    ShuttingDown,
    /// Another process holds the data directory.
    #[error("data directory {path} is locked by another process")]
    DirectoryLocked {
        /// The lock file.
        path: PathBuf,
    },
    /// A background task failed earlier and the engine refuses further writes.
    #[error("storage engine stopped after a background failure: {reason}")]
    Poisoned {
        /// The failure that stopped it.
        reason: String,
    },
    /// Flushing a memtable failed; the flusher retries and the data stays in the WAL.
    #[error("memtable flush failed (retrying; the data is safe in the WAL): {reason}")]
    FlushFailed {
        /// The last failure.
        reason: String,
    },

    // ---- files ----
    /// An I/O operation on a file or directory failed.
    #[error("{operation} {path}")]
    Io {
        /// What was being done ("opening WAL segment", "renaming segment", …).
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A stored file failed a checksum or structural check.
    #[error("corrupt {what} in {path} at byte {offset}: {reason}")]
    Corrupt {
        /// What was being read ("segment footer", "WAL record", …).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Byte offset of the damaged part.
        offset: u64,
        /// What failed.
        reason: String,
    },
    /// An encoded block failed to decode.
    #[error("corrupt {what} block in {path} at byte {offset}")]
    CorruptBlock {
        /// Which column or structure.
        what: String,
        /// The file.
        path: PathBuf,
        /// Byte offset of the block.
        offset: u64,
        /// The decoder's complaint.
        #[source]
        source: CodecError,
    },
    /// Building an Arrow batch failed (a bug: the engine produced inconsistent columns).
    #[error("building Arrow batch for {measurement}")]
    Arrow {
        /// The measurement scanned.
        measurement: String,
        /// Arrow's complaint.
        #[source]
        source: arrow_schema::ArrowError,
    },
}

impl Error {
    /// The neutral kind of this error, for SQLSTATE and HTTP mapping in the wire crate.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::FieldTypeConflict { .. } | Self::FilterTypeMismatch { .. } => {
                ErrorKind::DatatypeMismatch
            }
            Self::InvalidWrite { .. } | Self::InvalidRegex { .. } => ErrorKind::InvalidValue,
            Self::InvalidOption { .. } | Self::InvalidScan { .. } => ErrorKind::InvalidValue,
            Self::InvalidSchema { .. } => ErrorKind::InvalidDefinition,
            Self::UnknownMeasurement { .. } => ErrorKind::UndefinedTable,
            Self::UnknownColumn { .. } => ErrorKind::UndefinedColumn,
            Self::UnknownTable { .. } => ErrorKind::UndefinedTable,
            Self::InvalidTableRow { .. } => ErrorKind::InvalidValue,
            Self::UniqueViolation { .. } => ErrorKind::UniqueViolation,
            Self::LimitExceeded { .. } => ErrorKind::LimitExceeded,
            Self::ShuttingDown => ErrorKind::ShuttingDown,
            Self::DirectoryLocked { .. }
            | Self::Poisoned { .. }
            | Self::FlushFailed { .. }
            | Self::Io { .. } => ErrorKind::Internal,
            Self::Arrow { .. } => ErrorKind::Internal,
            Self::Corrupt { .. } | Self::CorruptBlock { .. } => ErrorKind::DataCorrupted,
        }
    }

    /// Wraps an I/O error with the operation and path it concerns.
    pub(crate) fn io(
        operation: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            operation,
            path,
            source,
        }
    }
}
