//! Durability: every write is on stable storage before the engine answers.
//!
//! libgit2's own switch (`core.fsyncObjectFiles`) fsyncs every loose object file and its
//! directory and then the ref: about eleven flushes for a one-file commit, 41 ms of a 45 ms
//! commit on this machine. What a crash needs is weaker and cheaper: objects durable before the
//! ref that names them, and everything durable before the answer. Two `syncfs(2)` calls give
//! exactly that ordering at the cost of two flushes, and concurrent writers share them (one
//! flush covers every write pending on the file system, a group commit).

use std::path::Path;

use gitapi_core::{Error, Result};

/// Flushes the file system holding `path` (any path inside the data directory).
pub(crate) fn sync_fs(path: &Path) -> Result<()> {
    let f = std::fs::File::open(path)
        .map_err(|e| Error::internal(format!("opening {} to sync: {e}", path.display())))?;
    rustix::fs::syncfs(&f).map_err(|e| Error::internal(format!("syncing file system: {e}")))
}
