//! Errors as HTTP responses with the Publisher's body, `{"code": <status>,
//! "message": <text>}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::sandbox::CompileError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    pub status: StatusCode,
    pub message: String,
}

impl AppError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> AppError {
        AppError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, message)
    }

    /// Returns a 424 for a model, or the package around it, that failed to
    /// compile or load.
    pub fn failed_dependency(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::FAILED_DEPENDENCY, message)
    }

    pub fn internal(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// Returns the 501 reply to any non-empty `versionId`.
    pub fn version_id() -> AppError {
        AppError::new(StatusCode::NOT_IMPLEMENTED, "Version IDs not implemented.")
    }

    /// Maps a failed query compilation: problems are the client's (400),
    /// sandbox limits and crashes are the server's.
    pub fn from_query_compile(error: CompileError) -> AppError {
        let status = match &error {
            CompileError::Problems(_) => StatusCode::BAD_REQUEST,
            CompileError::DeadlineExceeded { .. } => StatusCode::GATEWAY_TIMEOUT,
            CompileError::OutOfMemory { .. } | CompileError::Crashed(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        AppError::new(status, error.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.status.as_u16(), "message": self.message });
        (self.status, axum::Json(body)).into_response()
    }
}
