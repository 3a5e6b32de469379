//! The one place a neutral [`ErrorKind`] becomes an HTTP status or a SQLSTATE. No wildcard
//! arm: a new kind must be placed here deliberately.

use axum::http::StatusCode;
use rusts_common::ErrorKind;

pub(crate) fn http_status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Syntax
        | ErrorKind::InvalidValue
        | ErrorKind::InvalidTextRepresentation
        | ErrorKind::NotNullViolation
        | ErrorKind::CardinalityViolation
        | ErrorKind::DatatypeMismatch
        | ErrorKind::UndefinedColumn
        | ErrorKind::WrongObjectType
        | ErrorKind::InvalidObjectDefinition
        | ErrorKind::InvalidDefinition => StatusCode::BAD_REQUEST,
        ErrorKind::UndefinedTable | ErrorKind::UndefinedObject | ErrorKind::UndefinedDatabase => {
            StatusCode::NOT_FOUND
        }
        ErrorKind::DuplicateObject
        | ErrorKind::DuplicateTable
        | ErrorKind::DuplicateDatabase
        | ErrorKind::ObjectInUse
        | ErrorKind::DependentObjectsStillExist
        | ErrorKind::DuplicateColumn
        | ErrorKind::UniqueViolation => StatusCode::CONFLICT,
        ErrorKind::NotSupported => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::LimitExceeded => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::AuthFailed => StatusCode::UNAUTHORIZED,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::OutOfMemory | ErrorKind::Cancelled | ErrorKind::ShuttingDown => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        ErrorKind::DataCorrupted | ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The SQLSTATE of an engine error on the Postgres wire.
pub(crate) fn sqlstate(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Syntax => "42601",
        ErrorKind::InvalidValue => "22023",
        ErrorKind::InvalidTextRepresentation => "22P02",
        ErrorKind::DatatypeMismatch => "42804",
        ErrorKind::UndefinedTable => "42P01",
        ErrorKind::UndefinedColumn => "42703",
        ErrorKind::UndefinedObject => "42704",
        ErrorKind::DuplicateObject => "42710",
        ErrorKind::UniqueViolation => "23505",
        ErrorKind::NotNullViolation => "23502",
        ErrorKind::CardinalityViolation => "21000",
        ErrorKind::DuplicateTable => "42P07",
        ErrorKind::DuplicateDatabase => "42P04",
        ErrorKind::UndefinedDatabase => "3D000",
        ErrorKind::ObjectInUse => "55006",
        ErrorKind::DependentObjectsStillExist => "2BP01",
        ErrorKind::DuplicateColumn => "42701",
        ErrorKind::InvalidDefinition => "42P16",
        ErrorKind::WrongObjectType => "42809",
        ErrorKind::InvalidObjectDefinition => "42P17",
        ErrorKind::NotSupported => "0A000",
        ErrorKind::LimitExceeded => "54000",
        ErrorKind::OutOfMemory => "53200",
        ErrorKind::AuthFailed => "28P01",
        ErrorKind::PermissionDenied => "42501",
        ErrorKind::Cancelled => "57014",
        ErrorKind::ShuttingDown => "57P01",
        ErrorKind::DataCorrupted => "XX001",
        ErrorKind::Internal => "XX000",
    }
}
