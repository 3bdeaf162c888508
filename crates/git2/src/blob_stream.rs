//! Blob content as a stream of chunks of at most [`STREAM_CHUNK`] bytes, never the whole blob
//! in memory.
//!
//! - A loose object streams through libgit2's object database reader (`git_odb_open_rstream`):
//!   a blocking thread inflates one chunk at a time into a channel of two chunks, checking the
//!   caller's deadline before each, and stops when the consumer drops the stream.
//! - libgit2's loose reader maps the whole compressed file while it inflates (a 64 MiB blob of
//!   incompressible bytes raised the resident set by 65 MB, page-cache pages but resident all
//!   the same), so a blob over [`LOOSE_STREAM_MAX`] streams from git as below, whatever its
//!   storage.
//! - libgit2 cannot stream a packed object (its pack backend has no read stream; it would
//!   inflate the whole object), so a packed blob streams from `git cat-file blob <oid>`
//!   through `gitapi-gitcmd`, exactly as the CLI engine streams every blob; dropping the
//!   stream kills that process.

use std::io::Read;

use bytes::Bytes;
use futures::StreamExt;
use gitapi_core::{BlobStream, Deadline, Error, GitBackend, Oid, RepoName, Result};
use gitapi_gitcmd::{Git, STREAM_CHUNK, Sub};

use crate::Git2Backend;
use crate::convert::git_oid;

/// Chunks in flight between the reading thread and the consumer.
const IN_FLIGHT: usize = 2;

/// The largest blob streamed by libgit2's loose reader; larger ones stream from git.
const LOOSE_STREAM_MAX: u64 = 1024 * 1024;

pub(crate) async fn stream_blob(
    engine: &Git2Backend,
    repo: &RepoName,
    blob: gitapi_core::BlobRef,
) -> Result<BlobStream> {
    let header = engine.blob_header(repo, blob).await?;
    if header.size > LOOSE_STREAM_MAX {
        let chunks = Git::in_repo(&engine.inner.layout.repo_dir(repo), Sub::CatFile)
            .flag("blob")
            .oid(header.oid)
            .stream_stdout(&engine.inner.dog, STREAM_CHUNK, Some(header.size))?;
        return Ok(BlobStream {
            oid: header.oid,
            size: header.size,
            mode: header.mode,
            chunks,
        });
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes>>(IN_FLIGHT);
    let (loose_tx, loose_rx) = tokio::sync::oneshot::channel::<bool>();
    let inner = std::sync::Arc::clone(&engine.inner);
    let name = repo.clone();
    let deadline = Deadline::current();
    let (id, size) = (header.oid, header.size);
    // Not under the engine's permits: the thread lives as long as the consumer reads, which
    // may be long after this call returned.
    tokio::task::spawn_blocking(move || {
        deadline.sync_scope(|| {
            let Ok(handle) = crate::repo::open_bare(&inner.layout, &name) else {
                let _ = loose_tx.send(false);
                return;
            };
            read_loose(&handle, id, size, loose_tx, &tx);
        })
    });
    let chunks = if loose_rx.await.unwrap_or(false) {
        futures::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
    } else {
        Git::in_repo(&engine.inner.layout.repo_dir(repo), Sub::CatFile)
            .flag("blob")
            .oid(id)
            .stream_stdout(&engine.inner.dog, STREAM_CHUNK, Some(size))?
    };
    Ok(BlobStream {
        oid: header.oid,
        size: header.size,
        mode: header.mode,
        chunks,
    })
}

/// Streams a loose object into `tx`; answers `false` on `loose_tx` (and streams nothing) when
/// libgit2 has no read stream for it (a packed object).
fn read_loose(
    repo: &git2::Repository,
    id: Oid,
    size: u64,
    loose_tx: tokio::sync::oneshot::Sender<bool>,
    tx: &tokio::sync::mpsc::Sender<Result<Bytes>>,
) {
    let Ok(odb) = repo.odb() else {
        let _ = loose_tx.send(false);
        return;
    };
    let Ok((mut reader, _, _)) = odb.reader(git_oid(id)) else {
        let _ = loose_tx.send(false);
        return;
    };
    if loose_tx.send(true).is_err() {
        return;
    }
    let deadline = Deadline::current();
    let mut seen = 0u64;
    loop {
        if let Err(e) = deadline.check("the blob stream") {
            let _ = tx.blocking_send(Err(e));
            return;
        }
        let mut buf = vec![0u8; STREAM_CHUNK];
        match reader.read(&mut buf) {
            Ok(0) => {
                if seen != size {
                    let _ = tx.blocking_send(Err(Error::internal(format!(
                        "blob {id} streamed {seen} bytes of {size}"
                    ))));
                }
                return;
            }
            Ok(n) => {
                buf.truncate(n);
                seen += n as u64;
                // The consumer dropped the stream: stop reading.
                if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(Error::internal(format!("reading blob {id}: {e}"))));
                return;
            }
        }
    }
}
