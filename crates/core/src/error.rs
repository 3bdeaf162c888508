//! The one error type every engine returns, and the kinds that doors map to protocol codes.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::oid::Oid;

/// What went wrong, independent of the engine that noticed it.
///
/// Both engines must return the same kind for the same situation; tests assert kinds, never
/// message text. What a kind means in each door (its stable code, HTTP status, gRPC code and
/// GraphQL `extensions.code`) is data: one row per kind in [`ErrorKind::codes`], read through
/// [`ErrorKind::code`], [`ErrorKind::http_status`], [`ErrorKind::grpc_code`] and
/// [`ErrorKind::graphql_code`]. Doors map errors only through that table.
///
/// The serde name of a kind is its [`ErrorKind::code`] (a unit test holds them together), so
/// the kind itself can be the `code` field of an error body and its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A repository, ref, object, path or workspace does not exist.
    NotFound,
    /// Something to be created exists already.
    AlreadyExists,
    /// The input is malformed or refers to something of the wrong kind.
    InvalidArgument,
    /// A compare-and-swap was lost, or a merge, rebase or cherry-pick conflicts.
    Conflict,
    /// The repository is not in a state that allows the operation (nothing to commit, empty
    /// repository, a dirty workspace where a clean one is needed).
    FailedPrecondition,
    /// The caller is known but may not do this, or a policy forbids it.
    PermissionDenied,
    /// The caller is not known.
    Unauthenticated,
    /// An input or an answer is over a configured size limit.
    TooLarge,
    /// The operation ran past its deadline and was stopped.
    Timeout,
    /// A dependency (a remote, a process) is not reachable now; retrying may help.
    Unavailable,
    /// The operation is not supported by this engine or in this configuration.
    Unimplemented,
    /// A bug or an unexpected failure below us; details are logged, not shown.
    Internal,
}

/// A gRPC status code: the number and name of `google.rpc.Code`, so the gRPC door can map
/// errors without this crate depending on a gRPC library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GrpcCode {
    /// The number on the wire (`grpc-status`).
    pub number: i32,
    /// The name in `google/rpc/code.proto`.
    pub name: &'static str,
}

impl GrpcCode {
    /// `INVALID_ARGUMENT` (3).
    pub const INVALID_ARGUMENT: Self = Self::new(3, "INVALID_ARGUMENT");
    /// `DEADLINE_EXCEEDED` (4).
    pub const DEADLINE_EXCEEDED: Self = Self::new(4, "DEADLINE_EXCEEDED");
    /// `NOT_FOUND` (5).
    pub const NOT_FOUND: Self = Self::new(5, "NOT_FOUND");
    /// `ALREADY_EXISTS` (6).
    pub const ALREADY_EXISTS: Self = Self::new(6, "ALREADY_EXISTS");
    /// `PERMISSION_DENIED` (7).
    pub const PERMISSION_DENIED: Self = Self::new(7, "PERMISSION_DENIED");
    /// `RESOURCE_EXHAUSTED` (8).
    pub const RESOURCE_EXHAUSTED: Self = Self::new(8, "RESOURCE_EXHAUSTED");
    /// `FAILED_PRECONDITION` (9).
    pub const FAILED_PRECONDITION: Self = Self::new(9, "FAILED_PRECONDITION");
    /// `ABORTED` (10).
    pub const ABORTED: Self = Self::new(10, "ABORTED");
    /// `UNIMPLEMENTED` (12).
    pub const UNIMPLEMENTED: Self = Self::new(12, "UNIMPLEMENTED");
    /// `INTERNAL` (13).
    pub const INTERNAL: Self = Self::new(13, "INTERNAL");
    /// `UNAVAILABLE` (14).
    pub const UNAVAILABLE: Self = Self::new(14, "UNAVAILABLE");
    /// `UNAUTHENTICATED` (16).
    pub const UNAUTHENTICATED: Self = Self::new(16, "UNAUTHENTICATED");

    const fn new(number: i32, name: &'static str) -> Self {
        Self { number, name }
    }
}

/// One row of the error table: what an [`ErrorKind`] is called and answered with in every door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCodes {
    /// The stable machine-readable code of every door's error body (`not_found`).
    pub code: &'static str,
    /// The HTTP status of the REST door.
    pub http_status: u16,
    /// The gRPC status of the gRPC door.
    pub grpc: GrpcCode,
    /// The GraphQL `extensions.code` (`NOT_FOUND`).
    pub graphql: &'static str,
    /// What the kind means, in words safe to show anyone: API documentation, and the message a
    /// client gets instead of the real one when the error is a server error (5xx).
    pub summary: &'static str,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 12] = [
        Self::NotFound,
        Self::AlreadyExists,
        Self::InvalidArgument,
        Self::Conflict,
        Self::FailedPrecondition,
        Self::PermissionDenied,
        Self::Unauthenticated,
        Self::TooLarge,
        Self::Timeout,
        Self::Unavailable,
        Self::Unimplemented,
        Self::Internal,
    ];

    /// The error table: this kind's row. The one place where kinds meet protocol codes.
    ///
    /// A lost compare-and-swap or a merge conflict (`Conflict`) is gRPC `ABORTED`, as Google's
    /// API guidelines prescribe for concurrency conflicts; a size limit (`TooLarge`) is
    /// `RESOURCE_EXHAUSTED`, what gRPC itself answers for an oversized message.
    pub const fn codes(self) -> ErrorCodes {
        const fn row(
            code: &'static str,
            http_status: u16,
            grpc: GrpcCode,
            graphql: &'static str,
            summary: &'static str,
        ) -> ErrorCodes {
            ErrorCodes {
                code,
                http_status,
                grpc,
                graphql,
                summary,
            }
        }
        match self {
            Self::NotFound => row(
                "not_found",
                404,
                GrpcCode::NOT_FOUND,
                "NOT_FOUND",
                "the repository, ref, object, path or workspace does not exist",
            ),
            Self::AlreadyExists => row(
                "already_exists",
                409,
                GrpcCode::ALREADY_EXISTS,
                "ALREADY_EXISTS",
                "what was to be created exists already",
            ),
            Self::InvalidArgument => row(
                "invalid_argument",
                400,
                GrpcCode::INVALID_ARGUMENT,
                "INVALID_ARGUMENT",
                "the input is malformed or names something of the wrong kind",
            ),
            Self::Conflict => row(
                "conflict",
                409,
                GrpcCode::ABORTED,
                "CONFLICT",
                "a lost compare-and-swap (details: refMismatch) or a merge conflict \
                 (details: mergeConflict); nothing changed",
            ),
            Self::FailedPrecondition => row(
                "failed_precondition",
                422,
                GrpcCode::FAILED_PRECONDITION,
                "FAILED_PRECONDITION",
                "the repository's state does not allow the operation",
            ),
            Self::PermissionDenied => row(
                "permission_denied",
                403,
                GrpcCode::PERMISSION_DENIED,
                "PERMISSION_DENIED",
                "the caller may not do this: a missing scope, a protected ref or a policy",
            ),
            Self::Unauthenticated => row(
                "unauthenticated",
                401,
                GrpcCode::UNAUTHENTICATED,
                "UNAUTHENTICATED",
                "no or an unknown bearer token",
            ),
            Self::TooLarge => row(
                "too_large",
                413,
                GrpcCode::RESOURCE_EXHAUSTED,
                "TOO_LARGE",
                "an input or an answer is over its size limit",
            ),
            Self::Timeout => row(
                "timeout",
                504,
                GrpcCode::DEADLINE_EXCEEDED,
                "TIMEOUT",
                "the operation ran past its deadline and was stopped",
            ),
            Self::Unavailable => row(
                "unavailable",
                503,
                GrpcCode::UNAVAILABLE,
                "UNAVAILABLE",
                "a dependency is unavailable; retry later",
            ),
            Self::Unimplemented => row(
                "unimplemented",
                501,
                GrpcCode::UNIMPLEMENTED,
                "UNIMPLEMENTED",
                "the operation is not supported by this engine",
            ),
            Self::Internal => row(
                "internal",
                500,
                GrpcCode::INTERNAL,
                "INTERNAL",
                "internal error",
            ),
        }
    }

    /// The stable machine-readable code used in every door's error body.
    pub const fn code(self) -> &'static str {
        self.codes().code
    }

    /// The HTTP status a REST door answers with for this kind.
    pub const fn http_status(self) -> u16 {
        self.codes().http_status
    }

    /// The gRPC status a gRPC door answers with for this kind.
    pub const fn grpc_code(self) -> GrpcCode {
        self.codes().grpc
    }

    /// The GraphQL `extensions.code` of this kind.
    pub const fn graphql_code(self) -> &'static str {
        self.codes().graphql
    }

    /// What the kind means, safe to show anyone (see [`ErrorCodes::summary`]).
    pub const fn summary(self) -> &'static str {
        self.codes().summary
    }

    /// Whether a door treats this kind as the server's fault (HTTP 5xx): the message and
    /// details are logged and hidden from the client.
    pub const fn is_server_error(self) -> bool {
        self.http_status() >= 500
    }

    /// The kind whose [`ErrorKind::code`] is `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Structured context that a door passes on to the client (for example as `details` in JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ErrorDetails {
    /// A compare-and-swap on a ref was lost.
    #[serde(rename_all = "camelCase")]
    RefMismatch {
        /// The ref that was to be updated.
        refname: String,
        /// What the caller expected (`None`: "must not exist" was expected and it exists).
        expected: Option<Oid>,
        /// What the ref points at now (`None`: it does not exist).
        actual: Option<Oid>,
    },
    /// A merge, cherry-pick, revert or rebase stopped on conflicting paths; nothing changed.
    #[serde(rename_all = "camelCase")]
    MergeConflict {
        /// Conflicting paths, sorted.
        paths: Vec<String>,
    },
}

/// The error of every engine operation: a kind, a lowercase message, optional details and an
/// optional source.
///
/// The kind, message and details are what a client may see. The source is the lower-level
/// error that caused this one (an I/O error, a libgit2 error): it is for the logs, reachable
/// through [`std::error::Error::source`], and never shown to a client. Two errors are equal
/// when kind, message and details are equal; the source is not compared.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    details: Option<Box<ErrorDetails>>,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message && self.details == other.details
    }
}

impl Eq for Error {}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl Error {
    /// A new error of `kind`; `message` says what was attempted, lowercase, no trailing period.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            details: None,
            source: None,
        }
    }

    /// Attaches the error that caused this one, for the logs (see [`Error::chain`]).
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.source = Some(Arc::from(source.into()));
        self
    }

    /// This error's message followed by the messages of its sources, joined by `": "`: what a
    /// log line shows.
    pub fn chain(&self) -> String {
        let mut out = self.message.clone();
        let mut next = std::error::Error::source(self);
        while let Some(e) = next {
            out.push_str(": ");
            out.push_str(&e.to_string());
            next = e.source();
        }
        out
    }

    /// Attaches structured details.
    pub fn with_details(mut self, details: ErrorDetails) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The structured details, if any.
    pub fn details(&self) -> Option<&ErrorDetails> {
        self.details.as_deref()
    }

    /// `NotFound` with a message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// `InvalidArgument` with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// `AlreadyExists` with a message.
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::AlreadyExists, message)
    }

    /// `FailedPrecondition` with a message.
    pub fn precondition(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::FailedPrecondition, message)
    }

    /// `Internal` with a message.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// A lost compare-and-swap on `refname`.
    pub fn ref_mismatch(refname: &str, expected: Option<Oid>, actual: Option<Oid>) -> Self {
        let show = |o: Option<Oid>| o.map_or_else(|| "nothing".to_owned(), |o| o.to_string());
        Self::new(
            ErrorKind::Conflict,
            format!(
                "ref {refname:?} is at {}, expected {}",
                show(actual),
                show(expected)
            ),
        )
        .with_details(ErrorDetails::RefMismatch {
            refname: refname.to_owned(),
            expected,
            actual,
        })
    }

    /// A merge-like operation stopped on conflicts in `paths`.
    pub fn merge_conflict(what: &str, mut paths: Vec<String>) -> Self {
        paths.sort();
        paths.dedup();
        Self::new(
            ErrorKind::Conflict,
            format!("{what} stopped on conflicts in {} path(s)", paths.len()),
        )
        .with_details(ErrorDetails::MergeConflict { paths })
    }

    /// The conflicting paths when this is a merge conflict.
    pub fn conflict_paths(&self) -> Option<&[String]> {
        match self.details() {
            Some(ErrorDetails::MergeConflict { paths }) => Some(paths),
            _ => None,
        }
    }
}

/// The result type of every engine operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// The position of a kind in [`ErrorKind::ALL`]. Exhaustive, so a new kind does not compile
    /// until it is placed here and, through the test below, in `ALL`.
    fn position(kind: ErrorKind) -> usize {
        match kind {
            ErrorKind::NotFound => 0,
            ErrorKind::AlreadyExists => 1,
            ErrorKind::InvalidArgument => 2,
            ErrorKind::Conflict => 3,
            ErrorKind::FailedPrecondition => 4,
            ErrorKind::PermissionDenied => 5,
            ErrorKind::Unauthenticated => 6,
            ErrorKind::TooLarge => 7,
            ErrorKind::Timeout => 8,
            ErrorKind::Unavailable => 9,
            ErrorKind::Unimplemented => 10,
            ErrorKind::Internal => 11,
        }
    }

    #[test]
    fn every_kind_is_in_the_table_once_with_unique_codes() {
        for (i, kind) in ErrorKind::ALL.into_iter().enumerate() {
            assert_eq!(position(kind), i, "{kind:?} is out of place in ALL");
        }
        let unique = |f: fn(ErrorKind) -> String| {
            ErrorKind::ALL
                .into_iter()
                .map(f)
                .collect::<HashSet<_>>()
                .len()
        };
        let n = ErrorKind::ALL.len();
        assert_eq!(unique(|k| format!("{k:?}")), n, "a kind is listed twice");
        assert_eq!(unique(|k| k.code().to_owned()), n, "codes are not unique");
        assert_eq!(unique(|k| k.graphql_code().to_owned()), n);
        assert_eq!(unique(|k| k.grpc_code().name.to_owned()), n);
        assert_eq!(unique(|k| k.grpc_code().number.to_string()), n);
    }

    #[test]
    fn table_rows_are_consistent_with_each_protocol() {
        // google.rpc.Code, from google/rpc/code.proto.
        let grpc_names = [
            "OK",
            "CANCELLED",
            "UNKNOWN",
            "INVALID_ARGUMENT",
            "DEADLINE_EXCEEDED",
            "NOT_FOUND",
            "ALREADY_EXISTS",
            "PERMISSION_DENIED",
            "RESOURCE_EXHAUSTED",
            "FAILED_PRECONDITION",
            "ABORTED",
            "OUT_OF_RANGE",
            "UNIMPLEMENTED",
            "INTERNAL",
            "UNAVAILABLE",
            "DATA_LOSS",
            "UNAUTHENTICATED",
        ];
        for kind in ErrorKind::ALL {
            let row = kind.codes();
            let grpc = usize::try_from(row.grpc.number).expect("a non-negative gRPC code");
            assert_eq!(grpc_names.get(grpc), Some(&row.grpc.name), "{kind:?}");
            assert_ne!(row.grpc.number, 0, "{kind:?} maps to OK");
            assert!((400..600).contains(&row.http_status), "{kind:?}");
            assert_eq!(row.graphql, row.code.to_uppercase(), "{kind:?}");
            assert!(!row.summary.is_empty());
            // The serde name is the code, so a kind can be the `code` of an error body.
            let json = serde_json::to_string(&kind).expect("a kind serialises");
            assert_eq!(json, format!("{:?}", row.code));
            assert_eq!(ErrorKind::from_code(row.code), Some(kind));
            assert_eq!(kind.to_string(), row.code);
        }
        assert_eq!(ErrorKind::from_code("nope"), None);
        assert!(ErrorKind::Internal.is_server_error());
        assert!(!ErrorKind::NotFound.is_server_error());
    }

    #[test]
    fn source_is_kept_for_the_logs_and_ignored_by_equality() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "disk says no");
        let err = Error::internal("writing the ref failed").with_source(io);
        let source = std::error::Error::source(&err).expect("a source");
        assert_eq!(source.to_string(), "disk says no");
        assert_eq!(err.to_string(), "writing the ref failed");
        assert_eq!(err.chain(), "writing the ref failed: disk says no");
        assert_eq!(err, Error::internal("writing the ref failed"));
        assert_eq!(err.clone().chain(), err.chain());
        assert!(std::error::Error::source(&Error::internal("x")).is_none());
    }
}
