//! The REST door's one error type and its JSON body:
//! `{"error": {"code": "...", "message": "...", "details": {...}}}`.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use gitapi_core::{Error, ErrorDetails, ErrorKind};

/// An error answered by the REST door. The status comes from the error table
/// ([`ErrorKind::http_status`]) unless the HTTP layer itself decided (405, 415).
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

/// The JSON body of every error: `{"error": {"code", "message", "details"}}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// The error.
    error: ErrorObject,
}

/// One error.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorObject {
    /// The stable code of the error's kind; the HTTP status follows from it.
    code: ErrorKind,
    /// What was attempted, for people; for a server error (5xx) only what its kind means.
    message: String,
    /// Structured context: a lost compare-and-swap or a merge conflict.
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<ErrorDetails>,
}

impl ApiError {
    /// The error body: for a server error (5xx) only what its kind means, the whole chain
    /// going to the log instead.
    pub(crate) fn body(&self) -> ErrorBody {
        let status = self.status();
        let kind = self.error.kind();
        let (message, details) = if status.is_server_error() {
            tracing::error!(
                code = kind.code(),
                status = status.as_u16(),
                error = %self.error.chain(),
                details = ?self.error.details(),
                "request failed"
            );
            (kind.summary().to_owned(), None)
        } else {
            (
                self.error.message().to_owned(),
                self.error.details().cloned(),
            )
        };
        ErrorBody {
            error: ErrorObject {
                code: kind,
                message,
                details,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = self.body();
        let mut res = crate::extract::json_response(&body);
        *res.status_mut() = status;
        res
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

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

    use super::*;

    async fn answer(err: Error) -> (StatusCode, serde_json::Value) {
        let res = ApiError::from(err).into_response();
        let status = res.status();
        let body = to_bytes(res.into_body(), 1 << 16).await.expect("a body");
        (status, serde_json::from_slice(&body).expect("a JSON body"))
    }

    #[tokio::test]
    async fn a_server_error_hides_its_message_and_source_from_the_client() {
        let io = std::io::Error::other("/srv/data/secret.git/HEAD: disk on fire");
        let err = Error::internal("writing HEAD of \"secret\" failed").with_source(io);
        let (status, body) = answer(err).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["code"], "internal");
        assert_eq!(body["error"]["message"], ErrorKind::Internal.summary());
        assert!(!body.to_string().contains("secret"), "{body}");
    }

    #[tokio::test]
    async fn every_kind_answers_with_its_table_status_and_code() {
        for kind in ErrorKind::ALL {
            let (status, body) = answer(Error::new(kind, "m")).await;
            assert_eq!(status.as_u16(), kind.http_status(), "{kind:?}");
            assert_eq!(body["error"]["code"], kind.code(), "{kind:?}");
            let shown = if kind.is_server_error() {
                kind.summary()
            } else {
                "m"
            };
            assert_eq!(body["error"]["message"], shown, "{kind:?}");
        }
    }
}
