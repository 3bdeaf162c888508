//! The engine trait: every Git operation of the product, grouped by area.

use async_trait::async_trait;
use futures::TryStreamExt;
use futures::stream::BoxStream;

use crate::diff::{Diff, DiffId};
use crate::error::Result;
use crate::model::*;
use crate::names::{ConfigKey, RefName, RepoName, RepoPath, Rev, WorkspaceName};
use crate::oid::Oid;
use crate::porcelain::workspace_edit::WorkspaceEdit;

/// A Git engine. Object-safe (`Arc<dyn GitBackend>`), so the service can swap engines while it
/// serves.
///
/// Contract shared by every implementation, and checked by the conformance suite in
/// `gitapi-testkit`:
/// - Same input, same answer, same [`crate::ErrorKind`].
/// - Ref writes are compare-and-swap under the ref lock; a lost race is `Conflict` with
///   [`crate::ErrorDetails::RefMismatch`], never a silent overwrite.
/// - Merge, cherry-pick, revert and rebase never touch a work tree; a conflict changes nothing
///   and is `Conflict` with [`crate::ErrorDetails::MergeConflict`].
/// - A write that returned `Ok` is durable (objects and refs are fsynced).
/// - The `default` workspace is created on first use by any workspace operation, on the
///   repository's default branch; named workspaces are created by
///   [`GitBackend::create_workspace`] and are `NotFound` before that (so a typo does not make a
///   new one). A workspace is pinned to its base commit (its HEAD is detached there): a commit
///   from it is a compare-and-swap of its branch from that base, so if the branch moved
///   underneath (a push, an API commit), the commit is `Conflict` and nothing changes; a hard
///   reset of the workspace to its branch brings it up to date. Untracked files are listed one
///   by one (`git status -uall`). The stash is shared by all workspaces of a repository, as git
///   keeps `refs/stash` shared across worktrees.
/// - A patch that does not apply (`stage_patch`) or a stash that conflicts is `Conflict`; text
///   that is not a patch is `InvalidArgument`.
/// - Missing things are `NotFound`; things of the wrong kind (a directory where a file is
///   wanted, a tree where a commit or blob is wanted, a branch pointed at a non-commit) are
///   `InvalidArgument`. A ref pointed at a missing object is `NotFound`.
/// - A lost compare-and-swap whose expectation was "must not exist" reports `expected: None`.
/// - `commit_files` creates a branch only when `expected_tip` is [`Oid::ZERO`];
///   `create_workspace` on a branch that does not exist is `NotFound` (except the repository's
///   own unborn default branch). Resetting a workspace moves its branch too.
/// - A blame range ending past the last line is clamped, as `git blame -L` does; line 0, a
///   start past the end or a reversed range is `InvalidArgument`.
/// - A rebase plan must name each commit of `upstream..branch` exactly once and may not start
///   with squash or fixup (`InvalidArgument`).
#[async_trait]
pub trait GitBackend: Send + Sync + std::fmt::Debug {
    /// A short name for logs and metrics (`libgit2`, `shell`).
    fn name(&self) -> &'static str;

    // --- Repository ---

    /// Creates an empty bare repository.
    async fn init_repo(&self, repo: &RepoName, opts: InitOptions) -> Result<RepoInfo>;
    /// Facts about a repository.
    async fn repo_info(&self, repo: &RepoName) -> Result<RepoInfo>;
    /// Deletes a repository and its workspaces.
    async fn delete_repo(&self, repo: &RepoName) -> Result<()>;
    /// Clones (bare) or mirrors a remote into a new repository.
    async fn clone_repo(&self, repo: &RepoName, opts: CloneOptions) -> Result<RepoInfo>;
    /// Fetches a mirror again, pruning refs gone from the remote.
    async fn sync_mirror(&self, repo: &RepoName) -> Result<RepoInfo>;
    /// Packs objects and prunes what is unreachable and old (the git CLI's `gc`).
    async fn gc(&self, repo: &RepoName) -> Result<GcOutcome>;
    /// Reads an allow-listed config key of the repository.
    async fn config_get(&self, repo: &RepoName, key: &ConfigKey) -> Result<Option<String>>;
    /// Sets an allow-listed config key of the repository.
    async fn config_set(&self, repo: &RepoName, key: &ConfigKey, value: &str) -> Result<()>;
    /// Lists the allow-listed keys set in the repository's own config.
    async fn config_list(&self, repo: &RepoName) -> Result<Vec<ConfigEntry>>;

    // --- Refs ---

    /// Lists refs sorted by name, annotated tags peeled.
    async fn list_refs(&self, repo: &RepoName, query: ListRefs) -> Result<Page<Ref>>;
    /// One ref.
    async fn get_ref(&self, repo: &RepoName, name: &RefName) -> Result<Ref>;
    /// Resolves a revision to an object id (`git rev-parse --verify`).
    async fn resolve(&self, repo: &RepoName, rev: &Rev) -> Result<Oid>;
    /// An annotated tag object by id (`git cat-file tag`), its signature split from its message
    /// ([`crate::object::split_tag_signature`]); `NotFound` when no object has the id,
    /// `InvalidArgument` when the object is not a tag.
    async fn read_tag(&self, repo: &RepoName, oid: Oid) -> Result<TagObject>;
    /// Creates a branch at a commit; `AlreadyExists` when it exists.
    async fn create_branch(&self, repo: &RepoName, name: &RefName, target: &Rev) -> Result<Ref>;
    /// Creates a lightweight or annotated tag; `AlreadyExists` when it exists.
    async fn create_tag(&self, repo: &RepoName, tag: CreateTag) -> Result<Ref>;
    /// Deletes a ref, optionally only if it is at `expected`.
    async fn delete_ref(
        &self,
        repo: &RepoName,
        name: &RefName,
        expected: Option<Oid>,
    ) -> Result<()>;
    /// Renames a branch with its reflog; `AlreadyExists` when the new name exists.
    async fn rename_branch(&self, repo: &RepoName, from: &RefName, to: &RefName) -> Result<Ref>;
    /// Applies ref updates atomically: all or nothing, each a compare-and-swap.
    async fn update_refs(&self, repo: &RepoName, updates: Vec<RefUpdate>) -> Result<()>;

    // --- Commits ---

    /// One commit.
    async fn get_commit(&self, repo: &RepoName, rev: &Rev) -> Result<Commit>;
    /// Commits by id, in the order asked; `None` where an id is not a commit of the repository.
    async fn get_commits(&self, repo: &RepoName, oids: &[Oid]) -> Result<Vec<Option<Commit>>>;
    /// Walks history in `git log` order (reverse chronological, as git's default walk).
    async fn log(
        &self,
        repo: &RepoName,
        query: LogQuery,
    ) -> Result<BoxStream<'static, Result<Commit>>>;
    /// Commits a list of file actions onto a branch tip, without a work tree.
    async fn commit_files(&self, repo: &RepoName, req: CommitFiles) -> Result<Commit>;
    /// The exact bytes that [`GitBackend::commit_files`] would hash for `req` (without a
    /// signature), so a caller can sign them and send the signature with the same request.
    async fn commit_payload(&self, repo: &RepoName, req: CommitFiles) -> Result<String>;
    /// Commits a workspace's index onto its branch.
    async fn commit_index(&self, repo: &RepoName, req: CommitIndex) -> Result<Commit>;
    /// Applies a commit's change onto a branch as a new commit.
    async fn cherry_pick(&self, repo: &RepoName, req: PickCommit) -> Result<Commit>;
    /// Applies the inverse of a commit's change onto a branch as a new commit.
    async fn revert(&self, repo: &RepoName, req: PickCommit) -> Result<Commit>;
    /// Rewrites a branch's tip commit.
    async fn amend(&self, repo: &RepoName, req: Amend) -> Result<Commit>;
    /// Resets a branch or a workspace.
    async fn reset(&self, repo: &RepoName, req: Reset) -> Result<Oid>;

    // --- Trees and files ---

    /// Lists a directory of a tree-ish, sorted by path as git sorts them.
    async fn list_tree(&self, repo: &RepoName, query: ListTree) -> Result<Vec<TreeEntry>>;
    /// Reads a blob whole.
    async fn read_blob(&self, repo: &RepoName, blob: BlobRef) -> Result<Blob>;
    /// A blob's id, size and mode without reading its content.
    async fn blob_header(&self, repo: &RepoName, blob: BlobRef) -> Result<BlobHeader> {
        // Engines override this with a read of the object header only; this fallback is
        // only correct, not cheap.
        let b = self.stream_blob(repo, blob).await?;
        Ok(BlobHeader {
            oid: b.oid,
            size: b.size,
            mode: b.mode,
        })
    }
    /// Reads a blob as a stream of chunks.
    async fn stream_blob(&self, repo: &RepoName, blob: BlobRef) -> Result<BlobStream> {
        let b = self.read_blob(repo, blob).await?;
        let header = BlobHeader {
            oid: b.oid,
            size: b.size,
            mode: b.mode,
        };
        Ok(BlobStream::from_bytes(header, b.content))
    }
    /// Applies one edit to a workspace (a work-tree file write, or an index change) under the
    /// workspace's lock. The seven edit operations below are this one call with a
    /// [`WorkspaceEdit`]; an engine implements only this, and applies the edit with
    /// [`WorkspaceEdit::apply`] over its own workspace type.
    async fn edit_workspace(
        &self,
        repo: &RepoName,
        ws: &WorkspaceName,
        edit: WorkspaceEdit,
    ) -> Result<()>;
    /// Writes a file into a workspace's work tree (not staged).
    async fn put_file(
        &self,
        repo: &RepoName,
        ws: &WorkspaceName,
        path: &RepoPath,
        content: bytes::Bytes,
        mode: Option<FileMode>,
    ) -> Result<()> {
        let path = path.clone();
        let edit = WorkspaceEdit::Put {
            path,
            content,
            mode,
        };
        self.edit_workspace(repo, ws, edit).await
    }
    /// Removes a file from a workspace's work tree (not staged).
    async fn delete_file(
        &self,
        repo: &RepoName,
        ws: &WorkspaceName,
        path: &RepoPath,
    ) -> Result<()> {
        self.edit_workspace(repo, ws, WorkspaceEdit::Delete(path.clone()))
            .await
    }
    /// Moves a file in a workspace's work tree (not staged).
    async fn move_file(
        &self,
        repo: &RepoName,
        ws: &WorkspaceName,
        from: &RepoPath,
        to: &RepoPath,
    ) -> Result<()> {
        let (from, to) = (from.clone(), to.clone());
        self.edit_workspace(repo, ws, WorkspaceEdit::Move { from, to })
            .await
    }

    // --- Workspaces ---

    /// Creates a workspace on a branch (the repository's default branch when `None`).
    async fn create_workspace(
        &self,
        repo: &RepoName,
        ws: &WorkspaceName,
        branch: Option<RefName>,
    ) -> Result<WorkspaceInfo>;
    /// Lists workspaces that exist.
    async fn list_workspaces(&self, repo: &RepoName) -> Result<Vec<WorkspaceInfo>>;
    /// Facts about one workspace (created on first use).
    async fn workspace(&self, repo: &RepoName, ws: &WorkspaceName) -> Result<WorkspaceInfo>;
    /// Removes a workspace, its index and work tree.
    async fn remove_workspace(&self, repo: &RepoName, ws: &WorkspaceName) -> Result<()>;

    // --- Index ---

    /// Staged, unstaged and untracked paths, sorted by path.
    async fn status(&self, repo: &RepoName, ws: &WorkspaceName) -> Result<Vec<StatusEntry>>;
    /// Stages a path's work-tree state (addition, change or removal).
    async fn stage(&self, repo: &RepoName, ws: &WorkspaceName, path: &RepoPath) -> Result<()> {
        self.edit_workspace(repo, ws, WorkspaceEdit::Stage(path.clone()))
            .await
    }
    /// Puts a path's index entry back to the base commit's.
    async fn unstage(&self, repo: &RepoName, ws: &WorkspaceName, path: &RepoPath) -> Result<()> {
        self.edit_workspace(repo, ws, WorkspaceEdit::Unstage(path.clone()))
            .await
    }
    /// Applies unified diff text to the index only (`git apply --cached`).
    async fn stage_patch(&self, repo: &RepoName, ws: &WorkspaceName, patch: &str) -> Result<()> {
        self.edit_workspace(repo, ws, WorkspaceEdit::StagePatch(patch.to_owned()))
            .await
    }
    /// Puts a path's work-tree state back to the index's (`git checkout -- path`).
    async fn discard(&self, repo: &RepoName, ws: &WorkspaceName, path: &RepoPath) -> Result<()> {
        self.edit_workspace(repo, ws, WorkspaceEdit::Discard(path.clone()))
            .await
    }

    // --- Stash ---

    /// The stash of a workspace, newest first.
    async fn stash_list(&self, repo: &RepoName, ws: &WorkspaceName) -> Result<Vec<StashEntry>>;
    /// Stashes index and work-tree changes; `FailedPrecondition` when there is nothing.
    async fn stash_save(&self, repo: &RepoName, req: StashSave) -> Result<StashEntry>;
    /// Applies a stash entry, keeping it; a conflict changes nothing.
    async fn stash_apply(&self, repo: &RepoName, ws: &WorkspaceName, index: usize) -> Result<()>;
    /// Drops a stash entry.
    async fn stash_drop(&self, repo: &RepoName, ws: &WorkspaceName, index: usize) -> Result<()>;

    // --- Diff ---

    /// A structured diff.
    async fn diff(&self, repo: &RepoName, req: DiffRequest) -> Result<Diff>;
    /// The diff an id names, computed again.
    async fn diff_by_id(&self, repo: &RepoName, id: &DiffId) -> Result<Diff> {
        let key = id.decode()?;
        self.diff(
            repo,
            DiffRequest {
                spec: DiffSpec::Commits {
                    from: Some(Rev::from(key.from)),
                    to: Rev::from(key.to),
                },
                options: key.options,
            },
        )
        .await
    }

    // --- Log and blame ---

    /// Who last changed each line.
    async fn blame(&self, repo: &RepoName, query: BlameQuery) -> Result<Vec<BlameHunk>>;

    // --- Merge and rebase ---

    /// Merges a revision into a branch.
    async fn merge(&self, repo: &RepoName, req: Merge) -> Result<MergeOutcome>;
    /// Rebases a branch, optionally following an interactive plan.
    async fn rebase(&self, repo: &RepoName, req: Rebase) -> Result<RebaseOutcome>;
    /// The best common ancestor of two commits, `None` when they share no history.
    async fn merge_base(&self, repo: &RepoName, a: &Rev, b: &Rev) -> Result<Option<Oid>>;
    /// Whether `ancestor` is reachable from `descendant` (a commit is its own ancestor).
    async fn is_ancestor(&self, repo: &RepoName, ancestor: &Rev, descendant: &Rev) -> Result<bool>;
    /// Commits in `a` not in `b` (ahead) and in `b` not in `a` (behind).
    async fn ahead_behind(&self, repo: &RepoName, a: &Rev, b: &Rev) -> Result<AheadBehind>;
}

/// Collects a log stream into a vector.
pub async fn collect_log(
    backend: &dyn GitBackend,
    repo: &RepoName,
    query: LogQuery,
) -> Result<Vec<Commit>> {
    backend.log(repo, query).await?.try_collect().await
}
