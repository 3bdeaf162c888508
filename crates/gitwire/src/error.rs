//! The error every public operation returns, and its kind.

use crate::oid::Oid;

/// What went wrong, coarsely: what a caller branches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A repository, ref, object or path does not exist.
    NotFound,
    /// The server wants (other) credentials.
    Unauthorized,
    /// The credentials do not allow this.
    PermissionDenied,
    /// A ref is not at the value the caller expected.
    RefConflict,
    /// The server refused a push.
    RemoteRejected,
    /// A response or object is over its size limit.
    TooLarge,
    /// The server is unavailable or overloaded; trying again later may work.
    Unavailable,
    /// The server said something gitwire cannot understand, or does not speak protocol v2.
    Protocol,
    /// The caller passed something invalid.
    InvalidArgument,
    /// Local I/O, network failure or signing failed.
    Io,
}

/// A gitwire error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Something does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// HTTP 401.
    #[error("unauthorized: {0} needs valid credentials")]
    Unauthorized(String),
    /// HTTP 403.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// A ref is not at the expected value (compare-and-swap lost).
    #[error("ref {refname:?} is at {} but {} was expected", show(.actual), show(.expected))]
    RefConflict {
        /// The ref.
        refname: String,
        /// What the caller expected (`None`: must not exist).
        expected: Option<Oid>,
        /// What the server has (`None`: does not exist; unknown after a lost race is reported
        /// as the server's value read again).
        actual: Option<Oid>,
    },
    /// The server refused the push; its messages are kept.
    #[error("remote rejected the push: {}", .messages.join("; "))]
    RemoteRejected {
        /// The server's reasons and progress messages, one per line.
        messages: Vec<String>,
    },
    /// A response or object went over its limit; reading stopped there.
    #[error("{what} exceeds the limit of {limit} bytes")]
    TooLarge {
        /// What was being read.
        what: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The server answered 5xx or 429, or could not be reached.
    #[error("server unavailable: {0}")]
    Unavailable(String),
    /// The server does not speak Smart HTTP protocol v2.
    #[error(
        "{0} does not speak git protocol v2 (it answered with protocol v0/v1); gitwire needs a v2 server"
    )]
    ProtocolV2Unsupported(String),
    /// Malformed or unexpected protocol data.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Invalid input from the caller.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// HTTP transport failure.
    #[error("http request to {url} failed: {source}")]
    Http {
        /// The URL requested.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// Local I/O failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// Signing a commit failed.
    #[error("signing failed: {0}")]
    Signing(String),
}

fn show(oid: &Option<Oid>) -> String {
    oid.map_or_else(|| "<none>".to_owned(), |o| o.to_string())
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Unauthorized(_) => ErrorKind::Unauthorized,
            Error::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Error::RefConflict { .. } => ErrorKind::RefConflict,
            Error::RemoteRejected { .. } => ErrorKind::RemoteRejected,
            Error::TooLarge { .. } => ErrorKind::TooLarge,
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::Http { source, .. } if source.is_connect() || source.is_timeout() => {
                ErrorKind::Unavailable
            }
            Error::ProtocolV2Unsupported(_) | Error::Protocol(_) => ErrorKind::Protocol,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::Http { .. } | Error::Io(_) | Error::Signing(_) => ErrorKind::Io,
        }
    }

    /// Whether trying the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind() == ErrorKind::Unavailable
    }
}

impl From<crate::pktline::Error> for Error {
    fn from(e: crate::pktline::Error) -> Self {
        Error::Protocol(e.to_string())
    }
}

impl From<crate::pack::Error> for Error {
    fn from(e: crate::pack::Error) -> Self {
        match e {
            crate::pack::Error::ObjectTooLarge(size, limit) => Error::TooLarge {
                what: format!("object of {size} bytes"),
                limit,
            },
            e => Error::Protocol(e.to_string()),
        }
    }
}

impl From<crate::object::Error> for Error {
    fn from(e: crate::object::Error) -> Self {
        Error::Protocol(e.to_string())
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
