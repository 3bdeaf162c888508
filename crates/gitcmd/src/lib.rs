//! The only way gitapi starts `git`: both engines (the git CLI engine for everything, the
//! libgit2 engine for clone, mirror sync, gc and streaming packed blobs) go through this crate.
//!
//! - [`Git`] builds a command safely: the subcommand comes from an allow-list ([`Sub`]), options
//!   are `&'static str` or a static name glued to a typed [`Value`], caller values go after
//!   `--end-of-options`, after `--` as literal pathspecs, or on stdin; the environment is
//!   cleared to a hermetic set and hooks are off.
//! - Every process leads its own process group and has a deadline: the earlier of its own
//!   limit and the caller's [`Deadline`](gitapi_core::Deadline) (read with
//!   `Deadline::current()` when the command is built). The [`Watchdog`] kills the whole group
//!   when it passes and the call answers [`ErrorKind::Timeout`](gitapi_core::ErrorKind).
//!   Commands that take a lock ([`Sub::takes_locks`], e.g. `update-ref`) are only checked
//!   against the caller's deadline before they start, never cut by it.
//! - Ways to run: to completion ([`Git::run`], [`Git::ok`]), line by line
//!   ([`Git::stream_lines`]), as a process to talk to ([`Git::spawn`], [`Git::spawn_server`],
//!   [`Process`]), or as an async stream of stdout chunks ([`Git::stream_stdout`]) that kills
//!   the process when dropped.
//! - [`maintenance`]: clone, mirror sync and gc, written once for both engines.
//! - [`log`]: the log walk (`rev-list`, `log --follow`) and its output, for both engines (the
//!   libgit2 engine for logs with a path, which git answers from the commit-graph's Bloom
//!   filters).
//! - [`blame`]: `git blame --porcelain` and its parser, for both engines (a blame that can be
//!   stopped at the deadline).
//!
//! ```no_run
//! use gitapi_gitcmd::{Git, Sub, Watchdog};
//! # fn demo() -> gitapi_core::Result<()> {
//! let dog = Watchdog::new();
//! let out = Git::in_repo(std::path::Path::new("/srv/r.git"), Sub::RevList)
//!     .flag("--count")
//!     .arg("main")
//!     .ok(&dog)?;
//! # let _ = out; Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod blame;
mod command;
pub mod log;
pub mod maintenance;
mod orphans;
mod process;
mod stream;
mod watchdog;

pub use command::{DEFAULT_LIMIT, EnvVar, Git, Output, Sub, Value};
pub use orphans::{PARENT_ENV, reap_orphans};
pub use process::Process;
pub use watchdog::{Tick, WatchGuard, Watchdog};

/// The largest chunk a blob stream hands out.
pub const STREAM_CHUNK: usize = gitapi_core::BlobStream::CHUNK;

/// Streams a blob's content from `git cat-file blob <oid>` in the repository at `git_dir`:
/// chunks of at most [`STREAM_CHUNK`] bytes, the process under the caller's deadline and
/// killed when the stream is dropped early, a short output an error. How both engines stream
/// a blob too large to hold.
pub fn stream_blob(
    dog: &Watchdog,
    git_dir: &std::path::Path,
    header: gitapi_core::BlobHeader,
) -> gitapi_core::Result<gitapi_core::BlobStream> {
    let chunks = Git::in_repo(git_dir, Sub::CatFile)
        .flag("blob")
        .oid(header.oid)
        .stream_stdout(dog, STREAM_CHUNK, Some(header.size))?;
    Ok(gitapi_core::BlobStream {
        oid: header.oid,
        size: header.size,
        mode: header.mode,
        chunks,
    })
}
