//! The crate's one error type: everything a statement can fail with, each with its SQLSTATE.
//!
//! Handlers return `Error`; the pgwire boundary turns it into an `ErrorResponse` through
//! `From<Error> for PgWireError`, so the code a client sees is decided here and in
//! `sqlstate.rs`, nowhere else.

use datafusion::error::DataFusionError;
use pgwire::error::{ErrorInfo, PgWireError};

use crate::pg::sqlstate::{code, datafusion_error_to_sqlstate};

/// Result of crate operations.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// A statement failed; the variant decides the SQLSTATE.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("unrecognized configuration parameter \"{name}\"")]
    UnknownSetting { name: String },
    #[error("invalid value for parameter \"{name}\": \"{value}\"{reason}")]
    InvalidSettingValue {
        name: String,
        value: String,
        reason: String,
    },
    #[error("parameter \"{name}\" cannot be changed")]
    ReadOnlySetting { name: String },
    #[error("{what} is not supported")]
    NotSupported { what: String },
    #[error("canceling statement due to user request")]
    Canceled,
    #[error("canceling statement due to statement timeout")]
    StatementTimeout,
    #[error("cannot insert multiple commands into a prepared statement")]
    MultipleStatements,
    #[error("current transaction is aborted, commands ignored until end of transaction block")]
    TransactionAborted,
    #[error("{what} exceeds the limit of {limit}")]
    LimitExceeded { what: &'static str, limit: usize },
    #[error("invalid input for parameter ${position} of type {type_name}: {reason}")]
    InvalidParameter {
        position: usize,
        type_name: String,
        reason: String,
    },
    #[error(
        "bind message supplies {supplied} parameters, but prepared statement requires {required}"
    )]
    ParameterCount { supplied: usize, required: usize },
    #[error("prepared statement \"{name}\" does not exist")]
    UnknownStatement { name: String },
    #[error("cursor \"{name}\" does not exist")]
    UnknownCursor { name: String },
    #[error("column \"{column}\" of relation \"{table}\" does not exist")]
    UnknownColumn { table: String, column: String },
    #[error("COPY {table}, line {line}: {reason} ({written} rows written before it)")]
    BadCopyData {
        table: String,
        line: u64,
        reason: String,
        written: u64,
    },
    #[error(
        "COPY {table}, line {line}, column {column}: invalid input \"{value}\": {reason} \
         ({written} rows written before it)"
    )]
    InvalidCopyValue {
        table: String,
        line: u64,
        column: String,
        value: String,
        reason: String,
        written: u64,
    },
    #[error("COPY {table}, batch from line {line}: {message} ({written} rows written before it)")]
    CopyFailed {
        table: String,
        line: u64,
        written: u64,
        code: &'static str,
        message: String,
    },
    #[error("COPY from stdin failed: {message}")]
    CopyAborted { message: String },
    #[error("{0}")]
    Query(#[from] DataFusionError),
    #[error("{0}")]
    Engine(#[from] rusts_planner::Error),
}

impl Error {
    /// SQLSTATE and message the client receives.
    pub(crate) fn sqlstate_and_message(&self) -> (&'static str, String) {
        let code = match self {
            Self::UnknownSetting { .. } => code::UNDEFINED_OBJECT,
            Self::InvalidSettingValue { .. } => code::INVALID_PARAMETER_VALUE,
            Self::ReadOnlySetting { .. } => code::CANT_CHANGE_RUNTIME_PARAM,
            Self::NotSupported { .. } => code::FEATURE_NOT_SUPPORTED,
            Self::Canceled | Self::StatementTimeout => code::QUERY_CANCELED,
            Self::MultipleStatements => code::SYNTAX_ERROR,
            Self::TransactionAborted => code::IN_FAILED_TRANSACTION,
            Self::LimitExceeded { .. } => code::PROGRAM_LIMIT_EXCEEDED,
            Self::InvalidParameter { .. } => code::INVALID_TEXT_REPRESENTATION,
            Self::ParameterCount { .. } => code::PROTOCOL_VIOLATION,
            Self::UnknownStatement { .. } => code::INVALID_SQL_STATEMENT_NAME,
            Self::UnknownCursor { .. } => code::INVALID_CURSOR_NAME,
            Self::UnknownColumn { .. } => code::UNDEFINED_COLUMN,
            Self::BadCopyData { .. } => code::BAD_COPY_FILE_FORMAT,
            Self::InvalidCopyValue { .. } => code::INVALID_TEXT_REPRESENTATION,
            Self::CopyFailed { code, .. } => code,
            Self::CopyAborted { .. } => code::QUERY_CANCELED,
            Self::Query(error) => return datafusion_error_to_sqlstate(error),
            Self::Engine(rusts_planner::Error::Plan { source }) => {
                return datafusion_error_to_sqlstate(source);
            }
            Self::Engine(error) => crate::status::sqlstate(error.kind()),
        };
        (code, self.to_string())
    }

    /// The `ErrorResponse` fields for this error.
    pub(crate) fn to_error_info(&self) -> ErrorInfo {
        let (code, message) = self.sqlstate_and_message();
        ErrorInfo::new("ERROR".to_owned(), code.to_owned(), message)
    }
}

impl From<Error> for PgWireError {
    fn from(error: Error) -> Self {
        PgWireError::UserError(Box::new(error.to_error_info()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_has_its_sqlstate_and_postgres_wording() {
        let cases = [
            (
                Error::UnknownSetting {
                    name: "nope".to_owned(),
                },
                "42704",
            ),
            (Error::Canceled, "57014"),
            (Error::StatementTimeout, "57014"),
            (Error::TransactionAborted, "25P02"),
            (Error::MultipleStatements, "42601"),
            (
                Error::LimitExceeded {
                    what: "statements",
                    limit: 3,
                },
                "54000",
            ),
            (
                Error::NotSupported {
                    what: "COPY".to_owned(),
                },
                "0A000",
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(error.sqlstate_and_message().0, expected, "{error}");
        }
        assert_eq!(
            Error::Canceled.to_string(),
            "canceling statement due to user request"
        );
    }
}
