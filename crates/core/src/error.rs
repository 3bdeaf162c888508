//! The one error type every engine returns, and the kinds that doors map to protocol codes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::oid::Oid;

/// What went wrong, independent of the engine that noticed it.
///
/// Both engines must return the same kind for the same situation; tests assert kinds, never
/// message text. Doors map a kind to an HTTP status, a gRPC code and a GraphQL code through
/// [`ErrorKind::http_status`] and [`ErrorKind::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

impl ErrorKind {
    /// The stable machine-readable code used in every door's error body.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::AlreadyExists => "already_exists",
            Self::InvalidArgument => "invalid_argument",
            Self::Conflict => "conflict",
            Self::FailedPrecondition => "failed_precondition",
            Self::PermissionDenied => "permission_denied",
            Self::Unauthenticated => "unauthenticated",
            Self::TooLarge => "too_large",
            Self::Timeout => "timeout",
            Self::Unavailable => "unavailable",
            Self::Unimplemented => "unimplemented",
            Self::Internal => "internal",
        }
    }

    /// The HTTP status a REST door answers with for this kind.
    pub fn http_status(self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::AlreadyExists => 409,
            Self::InvalidArgument => 400,
            Self::Conflict => 409,
            Self::FailedPrecondition => 422,
            Self::PermissionDenied => 403,
            Self::Unauthenticated => 401,
            Self::TooLarge => 413,
            Self::Timeout => 504,
            Self::Unavailable => 503,
            Self::Unimplemented => 501,
            Self::Internal => 500,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Structured context that a door passes on to the client (for example as `details` in JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// The error of every engine operation: a kind, a lowercase message and optional details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    details: Option<Box<ErrorDetails>>,
}

impl Error {
    /// A new error of `kind`; `message` says what was attempted, lowercase, no trailing period.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            details: None,
        }
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
