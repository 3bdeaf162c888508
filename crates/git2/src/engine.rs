//! `impl GitBackend for Git2Backend`: each operation moves its inputs onto the blocking pool and
//! calls the module that does the work.

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use gitapi_core::porcelain::pick::Pick;
use gitapi_core::porcelain::workspace_edit::WorkspaceEdit;
use gitapi_core::*;

use crate::workspace::{self, Workspace};
use crate::{Git2Backend, Inner, commits, diff, merge, refs, repo};

impl Git2Backend {
    async fn with_workspace<T, F>(&self, repo: &RepoName, ws: &WorkspaceName, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner, &mut Workspace) -> Result<T> + Send + 'static,
    {
        let (repo, ws) = (repo.clone(), ws.clone());
        self.run(move |inner| {
            let lock = inner.workspace_lock(&repo, &ws);
            let _guard = lock.lock();
            let mut w = workspace::open(&inner.layout, &repo, &ws)?;
            f(inner, &mut w)
        })
        .await
    }

    /// A workspace operation that writes: the index, work tree or HEAD it changed are on
    /// stable storage before it answers.
    async fn with_workspace_mut<T, F>(&self, repo: &RepoName, ws: &WorkspaceName, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner, &mut Workspace) -> Result<T> + Send + 'static,
    {
        self.with_workspace(repo, ws, move |inner, w| {
            let out = f(inner, w)?;
            gitapi_storage::sync_fs(&w.dir)?;
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl GitBackend for Git2Backend {
    fn name(&self) -> &'static str {
        "libgit2"
    }

    async fn init_repo(&self, r: &RepoName, opts: InitOptions) -> Result<RepoInfo> {
        let r = r.clone();
        self.run(move |inner| repo::init(&inner.layout, &r, &opts))
            .await
    }

    async fn repo_info(&self, r: &RepoName) -> Result<RepoInfo> {
        let name = r.clone();
        self.with_repo(r, move |_, g| repo::info(g, &name)).await
    }

    async fn delete_repo(&self, r: &RepoName) -> Result<()> {
        let r = r.clone();
        self.run(move |inner| {
            inner.forget_handles(&r);
            gitapi_storage::delete_repo(&inner.layout, &r)?;
            inner.forget_handles(&r);
            Ok(())
        })
        .await
    }

    // Clone, mirror sync and gc are the git CLI's (libgit2 is built here without an HTTPS
    // stack and has no gc): the maintenance code of `gitapi-gitcmd`, the same the CLI engine
    // runs, which also checks the clone policy again.
    async fn clone_repo(&self, r: &RepoName, opts: CloneOptions) -> Result<RepoInfo> {
        let name = r.clone();
        self.run(move |inner| {
            gitapi_gitcmd::maintenance::clone(
                &inner.dog,
                &inner.layout,
                inner.config.clone_policy,
                &name,
                &opts,
            )
        })
        .await?;
        self.repo_info(r).await
    }

    async fn sync_mirror(&self, r: &RepoName) -> Result<RepoInfo> {
        let name = r.clone();
        let out = self
            .run(move |inner| {
                gitapi_gitcmd::maintenance::sync_mirror(
                    &inner.dog,
                    &inner.layout,
                    inner.config.clone_policy,
                    &name,
                )
            })
            .await;
        // Refs and packs changed under the warm handles.
        self.inner.forget_handles(r);
        out?;
        self.repo_info(r).await
    }

    async fn gc(&self, r: &RepoName) -> Result<GcOutcome> {
        let name = r.clone();
        let out = self
            .run(move |inner| gitapi_gitcmd::maintenance::gc(&inner.dog, &inner.layout, &name))
            .await;
        self.inner.forget_handles(r);
        out
    }

    async fn config_get(&self, r: &RepoName, key: &ConfigKey) -> Result<Option<String>> {
        let key = key.clone();
        self.with_repo(r, move |_, g| repo::config_get(g, &key))
            .await
    }

    async fn config_set(&self, r: &RepoName, key: &ConfigKey, value: &str) -> Result<()> {
        let (key, value) = (key.clone(), value.to_owned());
        self.with_repo(r, move |_, g| repo::config_set(g, &key, &value))
            .await
    }

    async fn config_list(&self, r: &RepoName) -> Result<Vec<ConfigEntry>> {
        self.with_repo(r, |_, g| repo::config_list(g)).await
    }

    async fn list_refs(&self, r: &RepoName, query: ListRefs) -> Result<Page<Ref>> {
        self.with_repo(r, move |_, g| refs::list(g, &query)).await
    }

    async fn get_ref(&self, r: &RepoName, name: &RefName) -> Result<Ref> {
        let name = name.clone();
        self.with_repo(r, move |_, g| refs::get(g, &name)).await
    }

    async fn resolve(&self, r: &RepoName, rev: &Rev) -> Result<Oid> {
        let rev = rev.clone();
        self.with_repo(r, move |_, g| {
            Ok(convert_oid(refs::resolve_object(g, &rev)?.id()))
        })
        .await
    }

    async fn read_tag(&self, r: &RepoName, oid: Oid) -> Result<TagObject> {
        self.with_repo(r, move |_, g| refs::read_tag(g, oid)).await
    }

    async fn create_branch(&self, r: &RepoName, name: &RefName, target: &Rev) -> Result<Ref> {
        let (name, target) = (name.clone(), target.clone());
        self.with_repo(r, move |_, g| refs::create_branch(g, &name, &target))
            .await
    }

    async fn create_tag(&self, r: &RepoName, tag: CreateTag) -> Result<Ref> {
        self.with_repo(r, move |_, g| refs::create_tag(g, &tag))
            .await
    }

    async fn delete_ref(&self, r: &RepoName, name: &RefName, expected: Option<Oid>) -> Result<()> {
        let name = name.clone();
        self.with_repo(r, move |_, g| refs::delete(g, &name, expected))
            .await
    }

    async fn rename_branch(&self, r: &RepoName, from: &RefName, to: &RefName) -> Result<Ref> {
        let (from, to) = (from.clone(), to.clone());
        self.with_repo(r, move |_, g| refs::rename_branch(g, &from, &to))
            .await
    }

    async fn update_refs(&self, r: &RepoName, updates: Vec<RefUpdate>) -> Result<()> {
        self.with_repo(r, move |_, g| {
            refs::update(g, &updates, &gitapi_core::reflog::ref_update_batch())
        })
        .await
    }

    async fn get_commit(&self, r: &RepoName, rev: &Rev) -> Result<Commit> {
        let rev = rev.clone();
        self.with_repo(r, move |_, g| commits::get(g, &rev)).await
    }

    async fn get_commits(&self, r: &RepoName, oids: &[Oid]) -> Result<Vec<Option<Commit>>> {
        let oids = oids.to_vec();
        self.with_repo(r, move |_, g| commits::get_many(g, &oids))
            .await
    }

    async fn log(
        &self,
        r: &RepoName,
        query: LogQuery,
    ) -> Result<BoxStream<'static, Result<Commit>>> {
        // The walk runs on the blocking pool and hands commits over a bounded channel, so a
        // long history streams with back-pressure instead of being collected first. The first
        // result (or error) is awaited here so that a bad revision fails the call itself.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Commit>>(256);
        let (first_tx, first_rx) = tokio::sync::oneshot::channel::<Result<()>>();
        // Whoever fails first (opening the repository or the walk) answers the caller.
        let first_tx = std::sync::Arc::new(parking_lot::Mutex::new(Some(first_tx)));
        let first_for_walk = std::sync::Arc::clone(&first_tx);
        let name = r.clone();
        let engine = self.clone();
        // The walk's task must see the caller's deadline: task-locals do not follow spawn.
        let deadline = Deadline::current();
        tokio::spawn(deadline.scope(async move {
            let res = engine
                .with_repo(&name, move |inner, g| {
                    let answer =
                        |r: Result<()>| first_for_walk.lock().take().map(|f| f.send(r)).is_some();
                    let out = commits::walk(&inner.dog, &inner.trees, g, &query, |c| {
                        answer(Ok(()));
                        tx.blocking_send(Ok(c)).is_ok()
                    });
                    match out {
                        Err(e) if !answer(Err(e.clone())) => {
                            let _ = tx.blocking_send(Err(e));
                        }
                        Err(_) => {}
                        Ok(()) => {
                            answer(Ok(()));
                        }
                    }
                    Ok(())
                })
                .await;
            if let (Err(e), Some(f)) = (res, first_tx.lock().take()) {
                let _ = f.send(Err(e));
            }
        }));
        first_rx
            .await
            .map_err(|_| Error::internal("log walk ended early"))??;
        Ok(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed())
    }

    async fn commit_files(&self, r: &RepoName, req: CommitFiles) -> Result<Commit> {
        self.with_repo(r, move |inner, g| {
            commits::commit_files(&inner.trees, g, &req, inner.config.signer.as_deref())
        })
        .await
    }

    async fn commit_payload(&self, r: &RepoName, req: CommitFiles) -> Result<String> {
        self.with_repo(r, move |inner, g| {
            commits::commit_payload(&inner.trees, g, &req)
        })
        .await
    }

    async fn commit_index(&self, r: &RepoName, req: CommitIndex) -> Result<Commit> {
        let ws = req.workspace.clone();
        self.with_workspace_mut(r, &ws, move |inner, w| {
            w.commit_index(&req, inner.config.signer.as_deref())
        })
        .await
    }

    async fn cherry_pick(&self, r: &RepoName, req: PickCommit) -> Result<Commit> {
        self.with_repo(r, move |_, g| commits::pick(g, &req, Pick::CherryPick))
            .await
    }

    async fn revert(&self, r: &RepoName, req: PickCommit) -> Result<Commit> {
        self.with_repo(r, move |_, g| commits::pick(g, &req, Pick::Revert))
            .await
    }

    async fn amend(&self, r: &RepoName, req: Amend) -> Result<Commit> {
        self.with_repo(r, move |inner, g| commits::amend(&inner.trees, g, &req))
            .await
    }

    async fn reset(&self, r: &RepoName, req: Reset) -> Result<Oid> {
        match req.target {
            ResetTarget::Branch {
                branch,
                expected_tip,
            } => {
                let to = req.to;
                self.with_repo(r, move |_, g| {
                    commits::reset_branch(g, &branch, expected_tip, &to)
                })
                .await
            }
            ResetTarget::Workspace { workspace } => {
                let (to, mode) = (req.to, req.mode);
                self.with_workspace_mut(r, &workspace, move |_, w| w.reset(&to, mode))
                    .await
            }
        }
    }

    async fn list_tree(&self, r: &RepoName, query: ListTree) -> Result<Vec<TreeEntry>> {
        self.with_repo(r, move |inner, g| {
            crate::tree::list(&inner.trees, g, &query)
        })
        .await
    }

    async fn read_blob(&self, r: &RepoName, blob: BlobRef) -> Result<Blob> {
        self.with_repo(r, move |inner, g| {
            crate::tree::read_blob(&inner.trees, g, &blob)
        })
        .await
    }

    async fn blob_header(&self, r: &RepoName, blob: BlobRef) -> Result<BlobHeader> {
        self.with_repo(r, move |inner, g| {
            crate::tree::blob_header(&inner.trees, g, &blob)
        })
        .await
    }

    async fn stream_blob(&self, r: &RepoName, blob: BlobRef) -> Result<BlobStream> {
        crate::blob_stream::stream_blob(self, r, blob).await
    }

    async fn edit_workspace(
        &self,
        repo: &RepoName,
        ws: &WorkspaceName,
        edit: WorkspaceEdit,
    ) -> Result<()> {
        self.with_workspace_mut(repo, ws, move |_, w| edit.apply(&*w))
            .await
    }

    async fn create_workspace(
        &self,
        r: &RepoName,
        ws: &WorkspaceName,
        branch: Option<RefName>,
    ) -> Result<WorkspaceInfo> {
        let (r, ws) = (r.clone(), ws.clone());
        self.run(move |inner| {
            let lock = inner.workspace_lock(&r, &ws);
            let _guard = lock.lock();
            let info = workspace::create(&inner.layout, &r, &ws, branch)?;
            gitapi_storage::sync_fs(inner.layout.root())?;
            Ok(info)
        })
        .await
    }

    async fn list_workspaces(&self, r: &RepoName) -> Result<Vec<WorkspaceInfo>> {
        let r = r.clone();
        self.run(move |inner| workspace::list(&inner.layout, &r))
            .await
    }

    async fn workspace(&self, r: &RepoName, ws: &WorkspaceName) -> Result<WorkspaceInfo> {
        self.with_workspace(r, ws, |_, w| w.info()).await
    }

    async fn remove_workspace(&self, r: &RepoName, ws: &WorkspaceName) -> Result<()> {
        let (r, ws) = (r.clone(), ws.clone());
        self.run(move |inner| {
            let lock = inner.workspace_lock(&r, &ws);
            let _guard = lock.lock();
            workspace::remove(&inner.layout, &r, &ws)
        })
        .await
    }

    async fn status(&self, r: &RepoName, ws: &WorkspaceName) -> Result<Vec<StatusEntry>> {
        self.with_workspace(r, ws, |_, w| w.status()).await
    }

    async fn stash_list(&self, r: &RepoName, ws: &WorkspaceName) -> Result<Vec<StashEntry>> {
        self.with_workspace(r, ws, |_, w| w.stash_list()).await
    }

    async fn stash_save(&self, r: &RepoName, req: StashSave) -> Result<StashEntry> {
        let ws = req.workspace.clone();
        self.with_workspace_mut(r, &ws, move |_, w| w.stash_save(&req))
            .await
    }

    async fn stash_apply(&self, r: &RepoName, ws: &WorkspaceName, index: usize) -> Result<()> {
        self.with_workspace_mut(r, ws, move |_, w| w.stash_apply(index))
            .await
    }

    async fn stash_drop(&self, r: &RepoName, ws: &WorkspaceName, index: usize) -> Result<()> {
        self.with_workspace_mut(r, ws, move |_, w| w.stash_drop(index))
            .await
    }

    async fn diff(&self, r: &RepoName, req: DiffRequest) -> Result<Diff> {
        let ws = match &req.spec {
            DiffSpec::Commits { .. } => None,
            DiffSpec::Index { workspace, .. }
            | DiffSpec::TreeToWorktree { workspace, .. }
            | DiffSpec::Worktree { workspace } => Some(workspace.clone()),
        };
        match ws {
            None => self.with_repo(r, move |_, g| diff::diff(g, &req)).await,
            Some(ws) => {
                self.with_workspace(r, &ws, move |_, w| {
                    diff::diff_workspace(w, &req.spec, &req.options)
                })
                .await
            }
        }
    }

    async fn blame(&self, r: &RepoName, query: BlameQuery) -> Result<Vec<BlameHunk>> {
        self.with_repo(r, move |inner, g| diff::blame(&inner.dog, g, &query))
            .await
    }

    async fn merge(&self, r: &RepoName, req: Merge) -> Result<MergeOutcome> {
        self.with_repo(r, move |_, g| merge::merge(g, &req)).await
    }

    async fn rebase(&self, r: &RepoName, req: Rebase) -> Result<RebaseOutcome> {
        self.with_repo(r, move |_, g| merge::rebase(g, &req)).await
    }

    async fn merge_base(&self, r: &RepoName, a: &Rev, b: &Rev) -> Result<Option<Oid>> {
        let (a, b) = (a.clone(), b.clone());
        self.with_repo(r, move |_, g| merge::merge_base(g, &a, &b))
            .await
    }

    async fn is_ancestor(&self, r: &RepoName, ancestor: &Rev, descendant: &Rev) -> Result<bool> {
        let (a, d) = (ancestor.clone(), descendant.clone());
        self.with_repo(r, move |_, g| merge::is_ancestor(g, &a, &d))
            .await
    }

    async fn ahead_behind(&self, r: &RepoName, a: &Rev, b: &Rev) -> Result<AheadBehind> {
        let (a, b) = (a.clone(), b.clone());
        self.with_repo(r, move |_, g| merge::ahead_behind(g, &a, &b))
            .await
    }
}

fn convert_oid(o: git2::Oid) -> Oid {
    crate::convert::oid(o)
}
