//! The one place a neutral [`ErrorKind`] becomes an HTTP status. No wildcard arm: a new kind
//! must be placed here deliberately.

use axum::http::StatusCode;
use rusts_common::ErrorKind;

pub(crate) fn http_status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Syntax
        | ErrorKind::InvalidValue
        | ErrorKind::DatatypeMismatch
        | ErrorKind::UndefinedColumn => StatusCode::BAD_REQUEST,
        ErrorKind::UndefinedTable => StatusCode::NOT_FOUND,
        ErrorKind::DuplicateObject => StatusCode::CONFLICT,
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
