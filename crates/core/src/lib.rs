//! Domain types, input validation, errors and the [`GitBackend`] trait of gitapi.
//!
//! This crate does no I/O. Doors validate every user string into the types of [`names`] once;
//! engines implement [`GitBackend`]; the service calls engines through `Arc<dyn GitBackend>`.
//!
//! Order of operations for a request: parse input into [`RepoName`], [`RefName`], [`RepoPath`],
//! [`Rev`] (an [`Error`] of kind [`ErrorKind::InvalidArgument`] on bad input), call one
//! [`GitBackend`] method, map the [`Error`]'s [`ErrorKind`] to the door's status code.
//!
//! ```
//! use gitapi_core::{RefName, RepoPath, ErrorKind};
//! assert!(RefName::branch("main").is_ok());
//! let err = RepoPath::new("../etc/passwd").unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::InvalidArgument);
//! ```
#![deny(missing_docs)]

pub mod backend;
pub mod cursor;
pub mod deadline;
pub mod diff;
pub mod error;
#[cfg(feature = "graphql")]
mod graphql;
pub mod layout;
pub mod model;
pub mod names;
pub mod object;
pub mod oid;
#[cfg(feature = "openapi")]
mod openapi;
pub mod ops;
pub mod porcelain;
pub mod reflog;
pub mod similarity;
pub mod tree_edit;

pub use backend::{GitBackend, collect_log};
pub use deadline::Deadline;
pub use diff::{
    Diff, DiffId, DiffKey, DiffLine, DiffStats, DiffStatus, FileDiff, Hunk, LineOrigin,
};
pub use error::{Error, ErrorDetails, ErrorKind, Result};
pub use layout::Layout;
pub use model::*;
pub use names::{
    ClonePolicy, ConfigKey, RefName, RemoteUrl, RepoName, RepoPath, Rev, RevRange, WorkspaceName,
    redact_url, redact_urls_in,
};
pub use object::SshSigner;
pub use oid::Oid;
