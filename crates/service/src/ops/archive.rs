//! Archives of a commit's tree (`git archive`), streamed as a fetch's pack is: no repository
//! lock, a transfer slot for as long as the stream lives.

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;

use gitapi_core::*;
use gitapi_gitcmd::{Git, Sub};

use crate::auth::Scope;
use crate::context::CallContext;
use crate::ops::transport::PACK_CHUNK;
use crate::service::RepoService;

/// The format of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// An uncompressed tar (`git archive --format=tar`).
    Tar,
    /// A gzipped tar (`git archive --format=tar.gz`, git's own gzip).
    TarGz,
    /// A zip (`git archive --format=zip`).
    Zip,
}

impl ArchiveFormat {
    /// Every format, with the file name suffix that names it.
    pub const ALL: [(ArchiveFormat, &'static str); 3] = [
        (ArchiveFormat::TarGz, ".tar.gz"),
        (ArchiveFormat::Tar, ".tar"),
        (ArchiveFormat::Zip, ".zip"),
    ];

    fn flag(self) -> &'static str {
        match self {
            Self::Tar => "--format=tar",
            Self::TarGz => "--format=tar.gz",
            Self::Zip => "--format=zip",
        }
    }
}

/// An archive being streamed: the commit it is of, and its bytes.
pub struct Archive {
    /// The commit whose tree it holds (the revision asked for, resolved).
    pub commit: Oid,
    /// The bytes, in chunks of at most 64 KiB, as `git archive` writes them.
    pub chunks: BoxStream<'static, Result<Bytes>>,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("commit", &self.commit)
            .finish_non_exhaustive()
    }
}

impl RepoService {
    /// An archive of the tree of the commit `rev` names, every entry under `prefix/` when
    /// given: `git archive` of the commit's id (the revision is resolved first, so git is never
    /// handed a caller's string), streamed as it writes. Needs read scope; holds a transfer
    /// slot, not the repository's lock, until the stream ends or is dropped.
    pub async fn archive(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        rev: &Rev,
        format: ArchiveFormat,
        prefix: Option<&RepoPath>,
    ) -> Result<Archive> {
        let op = self.transfer(cx, "archive", Scope::Read, repo).await?;
        let commit = op.run(op.e.get_commit(repo, rev)).await?.oid;
        let dir = self.existing_repo_dir(repo).await?;
        let permit = self.slots().acquire(repo, op.deadline()).await?;
        let mut git = Git::in_repo(&dir, Sub::Archive)
            .flag(format.flag())
            .within(op.deadline())
            .limit(self.limits().transfer_deadline);
        if let Some(p) = prefix {
            git = git.archive_prefix(p);
        }
        let out = git
            .arg(commit.to_string())
            .stream_stdout(self.watchdog(), PACK_CHUNK, None);
        let out = op.run(async { out }).await?;
        // The slot is held as long as the stream lives.
        let chunks = out
            .map(move |chunk| {
                let _slot = &permit;
                chunk
            })
            .boxed();
        Ok(Archive {
            commit,
            chunks: op.hold(chunks),
        })
    }
}
