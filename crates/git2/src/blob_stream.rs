//! Blob content as a stream of chunks of at most [`gitapi_gitcmd::STREAM_CHUNK`] bytes, never more than
//! [`IN_PROCESS_MAX`] of a blob in memory.
//!
//! - A blob up to 1 MiB is read whole in process (libgit2 reads loose and packed objects
//!   alike) together with its header, in one trip to the blocking pool, and handed out in
//!   chunks: the common case costs no process and no thread hand-off.
//! - A larger blob streams from `git cat-file blob <oid>` through `gitapi-gitcmd`, exactly as
//!   the CLI engine streams every blob; dropping the stream kills that process. libgit2 cannot
//!   stream a packed object (its pack backend has no read stream), and its loose reader maps
//!   the whole compressed file while it inflates (a 64 MiB blob of incompressible bytes raised
//!   the resident set by 65 MB), so neither of its paths bounds memory for a large blob.

use gitapi_core::{BlobRef, BlobStream, RepoName, Result};

use crate::Git2Backend;

/// The largest blob read whole in process; larger ones stream from git.
const IN_PROCESS_MAX: u64 = 1024 * 1024;

pub(crate) async fn stream_blob(
    engine: &Git2Backend,
    repo: &RepoName,
    blob: gitapi_core::BlobRef,
) -> Result<BlobStream> {
    // One trip to the blocking pool: the header, and the content too when the blob is small
    // enough to hold (libgit2 reads loose and packed objects alike, in process).
    let (header, small) = engine
        .with_repo(repo, move |inner, g| {
            let header = crate::tree::blob_header(&inner.trees, g, &blob)?;
            if header.size > IN_PROCESS_MAX {
                return Ok((header, None));
            }
            let whole = crate::tree::read_blob(&inner.trees, g, &BlobRef::ByOid(header.oid))?;
            Ok((header, Some(whole.content)))
        })
        .await?;
    match small {
        Some(content) => Ok(BlobStream::from_bytes(header, content)),
        None => gitapi_gitcmd::stream_blob(
            &engine.inner.dog,
            &engine.inner.layout.repo_dir(repo),
            header,
        ),
    }
}
