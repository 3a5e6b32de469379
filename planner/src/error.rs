//! The planner's error type.

use rusts_common::ErrorKind;

/// Result with the planner [`Error`] as default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the facade can refuse or fail at.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A database or measurement name is not allowed.
    #[error("invalid {what} name {name:?}: it must be 1 to 255 bytes without NUL")]
    InvalidName {
        /// "database" or "measurement".
        what: &'static str,
        /// The name as given.
        name: String,
    },
    /// A table of that name exists already (`CREATE TABLE` without `IF NOT EXISTS`).
    #[error("relation \"{table}\" already exists")]
    TableExists {
        /// The table.
        table: String,
    },
    /// `CREATE DATABASE` of a database that exists.
    #[error("database \"{database}\" already exists")]
    DatabaseExists {
        /// The database.
        database: String,
    },
    /// `DROP DATABASE` of a database that does not exist.
    #[error("database \"{database}\" does not exist")]
    UndefinedDatabase {
        /// The database.
        database: String,
    },
    /// An object others depend on (`DROP INDEX` of a constraint's index).
    #[error("{reason}")]
    DependentObjects {
        /// What depends on it.
        reason: String,
    },
    /// An object that cannot be dropped while it is in use.
    #[error("{reason}")]
    ObjectInUse {
        /// What is in use, and by what.
        reason: String,
    },
    /// The table does not exist (`DROP TABLE`, `ALTER TABLE` without `IF EXISTS`).
    #[error("table \"{table}\" does not exist")]
    UndefinedTable {
        /// The table.
        table: String,
    },
    /// The view does not exist (`DROP VIEW` without `IF EXISTS`).
    #[error("view \"{view}\" does not exist")]
    UndefinedView {
        /// The view.
        view: String,
    },
    /// The statement names an object of another kind (`DROP VIEW` of a table).
    #[error("{reason}")]
    WrongObjectType {
        /// What the object is and what was expected.
        reason: String,
    },
    /// A view definition PostgreSQL refuses: one that would refer to itself (42P17), one
    /// whose replacement drops, renames or retypes a column (42P16), one that names a
    /// column twice (42701), more column names than columns (42601).
    #[error("{reason}")]
    InvalidView {
        /// What is wrong, naming the view or column.
        reason: String,
        /// Which of the cases above.
        kind: ErrorKind,
    },
    /// A literal that is not a value of its type (`'{1,2'::int8[]`).
    #[error("{reason}")]
    InvalidText {
        /// What is wrong, naming the literal.
        reason: String,
    },
    /// NULL for a `NOT NULL` column of a plain table.
    #[error(
        "null value in column \"{column}\" of relation \"{table}\" violates not-null constraint"
    )]
    NotNullViolation {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// `ALTER TABLE … ADD COLUMN … NOT NULL` without a default, on a table with rows.
    #[error("column \"{column}\" of relation \"{table}\" contains null values")]
    ColumnContainsNulls {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A column a statement names that the table does not have.
    #[error("column \"{column}\" of relation \"{table}\" does not exist")]
    UndefinedColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A scalar subquery returned more than one row.
    #[error("more than one row returned by a subquery used as an expression")]
    CardinalityViolation,
    /// `UPDATE … SET a = 1, a = 2`.
    #[error("multiple assignments to same column \"{column}\"")]
    DuplicateAssignment {
        /// The column.
        column: String,
    },
    /// A name that denotes no type, schema, … (`'nope'::regtype`).
    #[error("{what} \"{name}\" does not exist")]
    UndefinedObject {
        /// "type", "schema", …
        what: &'static str,
        /// The name as given.
        name: String,
    },
    /// The table already has the column (`ALTER TABLE … ADD COLUMN`).
    #[error("column \"{column}\" of relation \"{table}\" already exists")]
    DuplicateColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A table definition breaks the measurement model.
    #[error("invalid definition of table \"{table}\": {reason}")]
    InvalidDefinition {
        /// The table.
        table: String,
        /// What is wrong, naming the column.
        reason: String,
    },
    /// Valid SQL that RusTs does not support.
    #[error("not supported: {what}")]
    NotSupported {
        /// What, precisely.
        what: String,
    },
    /// A failure the client cannot fix (a panicked task).
    #[error("internal error: {what}")]
    Internal {
        /// What failed.
        what: String,
    },
    /// The engine cannot close while SQL sessions still use it.
    #[error("the engine is still in use by SQL sessions; the WAL keeps acknowledged writes")]
    InUse,
    /// DataFusion could not plan a query the statement holds (a view's).
    #[error(transparent)]
    Plan {
        /// DataFusion's error.
        source: datafusion::error::DataFusionError,
    },
    /// The storage engine refused or failed.
    #[error(transparent)]
    Storage {
        /// The storage error.
        #[from]
        source: rusts_storage::Error,
    },
}

impl Error {
    /// The neutral kind, for SQLSTATE and HTTP mapping in the wire crate.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidName { .. } => ErrorKind::InvalidValue,
            Self::InUse | Self::Internal { .. } => ErrorKind::Internal,
            Self::TableExists { .. } => ErrorKind::DuplicateTable,
            Self::DatabaseExists { .. } => ErrorKind::DuplicateDatabase,
            Self::UndefinedDatabase { .. } => ErrorKind::UndefinedDatabase,
            Self::ObjectInUse { .. } => ErrorKind::ObjectInUse,
            Self::DependentObjects { .. } => ErrorKind::DependentObjectsStillExist,
            Self::UndefinedTable { .. } | Self::UndefinedView { .. } => ErrorKind::UndefinedTable,
            Self::WrongObjectType { .. } => ErrorKind::WrongObjectType,
            Self::InvalidView { kind, .. } => *kind,
            Self::UndefinedObject { .. } => ErrorKind::UndefinedObject,
            Self::InvalidText { .. } => ErrorKind::InvalidTextRepresentation,
            Self::NotNullViolation { .. } | Self::ColumnContainsNulls { .. } => {
                ErrorKind::NotNullViolation
            }
            Self::UndefinedColumn { .. } => ErrorKind::UndefinedColumn,
            Self::DuplicateAssignment { .. } => ErrorKind::Syntax,
            Self::CardinalityViolation => ErrorKind::CardinalityViolation,
            Self::DuplicateColumn { .. } => ErrorKind::DuplicateColumn,
            Self::InvalidDefinition { .. } => ErrorKind::InvalidDefinition,
            Self::NotSupported { .. } => ErrorKind::NotSupported,
            Self::Storage { source } => source.kind(),
            // The wire maps DataFusion's errors itself; this is the HTTP status's kind.
            Self::Plan { .. } => ErrorKind::Syntax,
        }
    }

    /// Storage names measurements `<database>\0<measurement>`; users see the measurement.
    pub(crate) fn unqualified(self, database: &str) -> Self {
        let prefix = format!("{database}\0");
        let Self::Storage { source } = self else {
            return self;
        };
        let source = match source {
            rusts_storage::Error::FieldTypeConflict {
                measurement,
                field,
                existing,
                offered,
            } => rusts_storage::Error::FieldTypeConflict {
                measurement: measurement.replacen(&prefix, "", 1),
                field,
                existing,
                offered,
            },
            rusts_storage::Error::InvalidWrite { reason } => rusts_storage::Error::InvalidWrite {
                reason: reason.replace(&prefix, ""),
            },
            rusts_storage::Error::InvalidSchema {
                measurement,
                reason,
            } => rusts_storage::Error::InvalidSchema {
                measurement: measurement.replacen(&prefix, "", 1),
                reason,
            },
            other => other,
        };
        Self::Storage { source }
    }
}
