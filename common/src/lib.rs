//! Leaf types shared by every RusTs crate: the neutral [`ErrorKind`] that each crate's
//! error maps onto. No logic lives here; only the wire crate turns a kind into a SQLSTATE
//! or an HTTP status, with an exhaustive match so a new kind forces a decision there.

/// What kind of failure an error is, independent of which crate raised it.
///
/// Each crate's `Error::kind()` answers with an exhaustive match over its own variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request text could not be parsed (SQLSTATE 42601, HTTP 400).
    Syntax,
    /// A value is malformed or out of range (SQLSTATE 22023 / 22P02, HTTP 400).
    InvalidValue,
    /// A literal's text is not a value of its type: a malformed array literal
    /// (SQLSTATE 22P02, HTTP 400).
    InvalidTextRepresentation,
    /// A value's type differs from the column's declared type (SQLSTATE 42804, HTTP 400).
    DatatypeMismatch,
    /// The named table or measurement does not exist (SQLSTATE 42P01, HTTP 404).
    UndefinedTable,
    /// The named column does not exist (SQLSTATE 42703, HTTP 400).
    UndefinedColumn,
    /// The named type, schema or other object does not exist (SQLSTATE 42704, HTTP 404).
    UndefinedObject,
    /// A scalar subquery returned more than one row (SQLSTATE 21000, HTTP 400).
    CardinalityViolation,
    /// NULL in a `NOT NULL` column (SQLSTATE 23502, HTTP 400).
    NotNullViolation,
    /// A row would repeat a unique key (SQLSTATE 23505, HTTP 409).
    UniqueViolation,
    /// The object already exists (SQLSTATE 42710, HTTP 409).
    DuplicateObject,
    /// The table already exists (SQLSTATE 42P07, HTTP 409).
    DuplicateTable,
    /// The database already exists (SQLSTATE 42P04, HTTP 409).
    DuplicateDatabase,
    /// The named database does not exist (SQLSTATE 3D000, HTTP 404).
    UndefinedDatabase,
    /// The object is in use and cannot be changed or dropped (SQLSTATE 55006, HTTP 409).
    ObjectInUse,
    /// Other objects depend on the object (SQLSTATE 2BP01, HTTP 409).
    DependentObjectsStillExist,
    /// The table already has a column of that name (SQLSTATE 42701, HTTP 409).
    DuplicateColumn,
    /// The object is of the wrong kind for the statement: `DROP VIEW` of a table
    /// (SQLSTATE 42809, HTTP 400).
    WrongObjectType,
    /// An object's definition is invalid: a view that would refer to itself
    /// (SQLSTATE 42P17, HTTP 400).
    InvalidObjectDefinition,
    /// A table definition is invalid: a column named twice, a misplaced `time` column
    /// (SQLSTATE 42P16, HTTP 400).
    InvalidDefinition,
    /// The request is valid but not supported (SQLSTATE 0A000, HTTP 501).
    NotSupported,
    /// A configured or format limit was reached (SQLSTATE 54000, HTTP 413 / 422).
    LimitExceeded,
    /// A memory budget was exhausted (SQLSTATE 53200, HTTP 503).
    OutOfMemory,
    /// Authentication failed (SQLSTATE 28P01, HTTP 401).
    AuthFailed,
    /// The user lacks a privilege (SQLSTATE 42501, HTTP 403).
    PermissionDenied,
    /// The request was cancelled (SQLSTATE 57014, HTTP 503).
    Cancelled,
    /// The server is shutting down (SQLSTATE 57P01, HTTP 503).
    ShuttingDown,
    /// Stored data failed a checksum or structural check (SQLSTATE XX001, HTTP 500).
    DataCorrupted,
    /// An I/O or internal failure the client cannot fix (SQLSTATE XX000, HTTP 500).
    Internal,
}
