//! The REST door's one error type and its JSON body:
//! `{"error": {"code": "...", "message": "...", "details": {...}}}`.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use gitapi_core::{Error, ErrorKind};

/// An error answered by the REST door. The status comes from [`ErrorKind::http_status`]
/// unless the HTTP layer itself decided (405, 415).
#[derive(Debug)]
pub struct ApiError {
    status: Option<StatusCode>,
    error: Error,
}

impl ApiError {
    /// An error with a status of its own (a protocol-level refusal such as 405).
    pub fn with_status(status: StatusCode, error: Error) -> Self {
        Self {
            status: Some(status),
            error,
        }
    }

    /// The error.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The HTTP status it answers with.
    pub fn status(&self) -> StatusCode {
        self.status.unwrap_or_else(|| {
            StatusCode::from_u16(self.error.kind().http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        })
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        Self {
            status: None,
            error,
        }
    }
}

/// The JSON body of every error.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorBody<'a> {
    error: ErrorObject<'a>,
}

#[derive(Debug, Serialize)]
struct ErrorObject<'a> {
    code: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a gitapi_core::ErrorDetails>,
}

/// What a client sees of a 5xx: the kind's meaning, never the internals.
fn public_message(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Timeout => "the operation ran past its deadline and was stopped",
        ErrorKind::Unavailable => "a dependency is unavailable; retry later",
        ErrorKind::Unimplemented => "the operation is not supported by this engine",
        _ => "internal error",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let kind = self.error.kind();
        let (message, details) = if status.is_server_error() {
            tracing::error!(code = kind.code(), error = %self.error, details = ?self.error.details(), "request failed");
            (public_message(kind), None)
        } else {
            (self.error.message(), self.error.details())
        };
        let body = ErrorBody {
            error: ErrorObject {
                code: kind.code(),
                message,
                details,
            },
        };
        (status, axum::Json(body)).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let kind = if status == StatusCode::PAYLOAD_TOO_LARGE {
            ErrorKind::TooLarge
        } else {
            ErrorKind::InvalidArgument
        };
        let err = Error::new(
            kind,
            format!("request body is not valid: {}", r.body_text()),
        );
        if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            Self::with_status(status, err)
        } else {
            err.into()
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Error::invalid(format!("query is not valid: {}", r.body_text())).into()
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Error::invalid(format!("path is not valid: {}", r.body_text())).into()
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
