//! Workspaces, their index and the stash.

use gitapi_core::*;

use crate::auth::Scope;
use crate::context::CallContext;
use crate::policy::{patch_touches_only, too_large};
use crate::service::RepoService;

impl RepoService {
    /// Creates a workspace.
    pub async fn create_workspace(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        ws: &WorkspaceName,
        branch: Option<RefName>,
    ) -> Result<WorkspaceInfo> {
        let op = self
            .write(cx, "create_workspace", Scope::Write, repo)
            .await?;
        let out = op.commit(op.e.create_workspace(repo, ws, branch)).await;
        op.finish(out)
    }

    /// Lists workspaces, a page at a time.
    pub async fn list_workspaces(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        page: &PageRequest,
    ) -> Result<Page<WorkspaceInfo>> {
        let op = self.read(cx, "list_workspaces", repo).await?;
        let out = op.run(op.e.list_workspaces(repo)).await;
        op.finish(out.and_then(|all| cursor::page_by_offset(all, page)))
    }

    /// One workspace. `default` is made by its first write; until then it reads as the clean
    /// checkout of the default branch that write will make (a read never writes).
    pub async fn workspace(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        ws: &WorkspaceName,
    ) -> Result<WorkspaceInfo> {
        let op = self.read(cx, "workspace", repo).await?;
        if self.unmade_default(repo, ws)? {
            let out = self.unmade_default_info(&op, repo, ws).await;
            return op.finish(out);
        }
        let out = op.run(op.e.workspace(repo, ws)).await;
        op.finish(out)
    }

    /// Whether `ws` is the default workspace and its first write has not made it yet.
    pub(crate) fn unmade_default(&self, repo: &RepoName, ws: &WorkspaceName) -> Result<bool> {
        Ok(*ws == WorkspaceName::default_workspace()
            && gitapi_storage::branch_of(self.layout(), repo, ws)?.is_none())
    }

    /// What the default workspace will be when made: on the branch `HEAD` names, at its tip
    /// (answers `NotFound` for a repository that does not exist, as the engines do).
    pub(crate) async fn unmade_default_info(
        &self,
        op: &crate::funnel::Op,
        repo: &RepoName,
        ws: &WorkspaceName,
    ) -> Result<WorkspaceInfo> {
        let info = op.run(op.e.repo_info(repo)).await?;
        let branch = info
            .default_branch
            .ok_or_else(|| Error::precondition("repository HEAD names no branch"))?;
        let base = op.current(repo, &branch).await?;
        Ok(WorkspaceInfo {
            name: ws.clone(),
            branch,
            base,
        })
    }

    /// Removes a workspace.
    pub async fn remove_workspace(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        ws: &WorkspaceName,
    ) -> Result<()> {
        let op = self
            .write(cx, "remove_workspace", Scope::Write, repo)
            .await?;
        let out = op.commit(op.e.remove_workspace(repo, ws)).await;
        op.finish(out)
    }

    /// The status of a workspace, a page at a time (sorted by path).
    pub async fn status(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        ws: &WorkspaceName,
        page: &PageRequest,
    ) -> Result<Page<StatusEntry>> {
        let op = self.read(cx, "status", repo).await?;
        if self.unmade_default(repo, ws)? {
            // A fresh checkout is clean.
            let out = self.unmade_default_info(&op, repo, ws).await;
            return op.finish(out.and_then(|_| cursor::page_by_offset(Vec::new(), page)));
        }
        let out = op.run(op.e.status(repo, ws)).await;
        op.finish(out.and_then(|all| cursor::page_by_offset(all, page)))
    }

    /// Stages a path.
    pub async fn stage(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        ws: &WorkspaceName,
        path: &RepoPath,
    ) -> Result<()> {
        let op = self.write(cx, "stage", Scope::Write, repo).await?;
        let out = op.commit(op.e.stage(repo, ws, path)).await;
        op.finish(out)
    }

    /// Unstages a path.
    pub async fn unstage(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        ws: &WorkspaceName,
        path: &RepoPath,
    ) -> Result<()> {
        let op = self.write(cx, "unstage", Scope::Write, repo).await?;
        let out = op.commit(op.e.unstage(repo, ws, path)).await;
        op.finish(out)
    }

    /// Applies patch text to a workspace's index; with `path`, the patch must touch only that
    /// file (staging part of one path's change).
    pub async fn stage_patch(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        ws: &WorkspaceName,
        path: Option<&RepoPath>,
        patch: &str,
    ) -> Result<()> {
        if let Some(p) = path
            && !patch_touches_only(patch, p.as_str())
        {
            return Err(Error::invalid(format!(
                "patch touches files other than {:?}",
                p.as_str()
            )));
        }
        let max = self.limits().max_blob_bytes;
        if patch.len() > max {
            return Err(too_large("patch", patch.len(), max));
        }
        if crate::policy::patch_writes_gitmodules(patch) {
            return Err(Error::invalid(
                "a patch may not write .gitmodules: what it would produce cannot be checked \
                 before it reaches the index; write .gitmodules whole and stage it",
            ));
        }
        let op = self.write(cx, "stage_patch", Scope::Write, repo).await?;
        let out = op.commit(op.e.stage_patch(repo, ws, patch)).await;
        op.finish(out)
    }

    /// Discards a path's work-tree changes.
    pub async fn discard(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        ws: &WorkspaceName,
        path: &RepoPath,
    ) -> Result<()> {
        let op = self.write(cx, "discard", Scope::Write, repo).await?;
        let out = op.commit(op.e.discard(repo, ws, path)).await;
        op.finish(out)
    }

    /// The stash, newest first, a page at a time.
    pub async fn stash_list(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        ws: &WorkspaceName,
        page: &PageRequest,
    ) -> Result<Page<StashEntry>> {
        let op = self.read(cx, "stash_list", repo).await?;
        if self.unmade_default(repo, ws)? {
            // The stash belongs to the repository, not to one workspace (`refs/stash` is shared
            // by all work trees): read it through a workspace that exists. With none, there is
            // no stash unless one came with a mirror clone; only then is the default made to
            // read it.
            self.unmade_default_info(&op, repo, ws).await?;
            let other = gitapi_storage::names(self.layout(), repo)
                .into_iter()
                .find(|w| w != ws);
            let out = match other {
                Some(w) => op.run(op.e.stash_list(repo, &w)).await,
                None if op.current(repo, &stash_ref()?).await?.is_none() => Ok(Vec::new()),
                None => op.run(op.e.stash_list(repo, ws)).await,
            };
            return op.finish(out.and_then(|all| cursor::page_by_offset(all, page)));
        }
        let out = op.run(op.e.stash_list(repo, ws)).await;
        op.finish(out.and_then(|all| cursor::page_by_offset(all, page)))
    }

    /// Stashes a workspace's changes.
    pub async fn stash_save(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        req: StashSave,
    ) -> Result<StashEntry> {
        let op = self.write(cx, "stash_save", Scope::Write, repo).await?;
        let stash = stash_ref()?;
        let old = op.current(repo, &stash).await?;
        let entry = op.commit(op.e.stash_save(repo, req)).await?;
        op.moved(&stash, old, Some(entry.oid));
        op.finish(Ok(entry))
    }

    /// Applies a stash entry.
    pub async fn stash_apply(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        ws: &WorkspaceName,
        index: usize,
    ) -> Result<()> {
        let op = self.write(cx, "stash_apply", Scope::Write, repo).await?;
        let out = op.commit(op.e.stash_apply(repo, ws, index)).await;
        op.finish(out)
    }

    /// Drops a stash entry.
    pub async fn stash_drop(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        ws: &WorkspaceName,
        index: usize,
    ) -> Result<()> {
        let op = self.write(cx, "stash_drop", Scope::Write, repo).await?;
        let stash = stash_ref()?;
        let old = op.current(repo, &stash).await?;
        op.commit(op.e.stash_drop(repo, ws, index)).await?;
        let new = op.current(repo, &stash).await?;
        op.moved(&stash, old, new);
        op.finish(Ok(()))
    }
}

fn stash_ref() -> Result<RefName> {
    RefName::new("refs/stash")
}
