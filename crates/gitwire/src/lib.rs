//! gitwire: a stateless Git client over Smart HTTP protocol v2.
//!
//! It reads and writes repositories on any server that speaks protocol v2 (`git
//! http-backend`, GitHub, GitLab, Gitea, gitapi) without a clone and without a `.git`
//! directory: made for serverless functions, containers and services that touch a few files
//! of a big repository.
//!
//! Main types: [`Client`] (refs, objects, trees, history, compare, clone, ref updates),
//! [`StagedWriter`] (stage file changes, commit, push as one compare-and-swap),
//! [`ObjectCache`] with [`MemoryCache`] and [`DiskCache`], [`RetryPolicy`] with
//! [`ExponentialBackoff`], and [`Error`] with its [`ErrorKind`].
//!
//! Order of operations: a client first reads the capability advertisement
//! (`GET info/refs?service=git-upload-pack` with `Git-Protocol: version=2`; a v0/v1-only server
//! is an [`Error::ProtocolV2Unsupported`]), then sends `ls-refs` and `fetch` commands to
//! `git-upload-pack`. Fetches ask for `ofs-delta`, send no haves, use `filter blob:none` or
//! `tree:0` with `deepen` so only the needed objects come, and resolve the pack while it
//! streams in. Pushes go to `git-receive-pack` (protocol v0/v1 on every server) with a pack of
//! whole objects and a compare-and-swap per ref.
//!
//! ```no_run
//! # async fn demo() -> gitwire::Result<()> {
//! use gitwire::{Client, ClientOptions, StagedWriter, WriterOptions, Mode, Signature};
//! let client = Client::new("https://example.com/org/repo.git", ClientOptions::default())?;
//! let head = client.resolve("main").await?;
//! let readme = client.get_blob_by_path(head, "README.md").await?;
//! let mut w = StagedWriter::new(&client, "main", WriterOptions::default()).await?;
//! w.put_file("docs/new.md", readme, None)?;
//! let me = Signature::from_name_email("A U Thor <a@example.com>", 1_700_000_000).expect("valid");
//! w.commit("add docs", &me, None)?;
//! w.push().await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod cache;
pub mod client;
pub mod clone;
pub mod diff;
pub mod error;
pub mod glob;
pub mod object;
pub mod oid;
pub mod pack;
pub mod pktline;
pub mod protocol;
pub mod push;
pub mod retry;
pub mod sign;
pub mod transport;
pub mod writer;

pub use cache::{DiskCache, MemoryCache, NoCache, ObjectCache};
pub use client::{Client, ClientOptions, FlatEntry, LogOptions};
pub use clone::{CloneOptions, CloneOutcome};
pub use diff::{Change, ChangeStatus, CompareOptions};
pub use error::{Error, ErrorKind, Result};
pub use object::{Commit, Kind, Mode, Object, Signature, Tree, TreeEntry};
pub use oid::Oid;
pub use protocol::{FetchRequest, Ref, RefUpdate};
pub use retry::{ExponentialBackoff, NoRetry, RetryPolicy};
pub use sign::{CommitSigner, SshSigner};
pub use transport::{Auth, Limits, TransportOptions};
pub use writer::{StagedWriter, WriteMode, WriterOptions};
