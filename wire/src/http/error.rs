//! Error responses in InfluxDB's JSON shape, `{"error": "…"}` (plus `code` and `message`, which
//! the 2.x clients read). Internal failures get an id; their details go only to the log.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rusts_common::ErrorKind;

use crate::status::http_status;

/// An error answer.
#[derive(Debug)]
pub(crate) struct HttpError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

static ERROR_IDS: AtomicU64 = AtomicU64::new(1);

impl HttpError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// From an engine error: client errors keep their text; internal ones are logged under an
    /// id and the client gets only the id.
    pub(crate) fn from_engine(error: &rusts_planner::Error) -> Self {
        let kind = error.kind();
        let status = http_status(kind);
        if matches!(kind, ErrorKind::Internal | ErrorKind::DataCorrupted) {
            let id = ERROR_IDS.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error_id = id, error = %error, "internal error answering an HTTP request");
            return Self::new(
                status,
                format!("internal error (error id {id}; details in the server log)"),
            );
        }
        Self::new(status, error.to_string())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let code = match self.status.as_u16() {
            400 => "invalid",
            401 => "unauthorized",
            404 => "not found",
            413 => "request too large",
            422 => "unprocessable entity",
            503 => "unavailable",
            _ => "internal error",
        };
        let body =
            serde_json::json!({ "error": self.message, "code": code, "message": self.message });
        (self.status, Json(body)).into_response()
    }
}
