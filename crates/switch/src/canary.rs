//! The shadow canary: a [`GitBackend`] that answers from the serving engine and, for reads,
//! asks the other engine too, off the caller's path, and counts mismatches.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_trait::async_trait;
use futures::stream::BoxStream;
use gitapi_core::*;

use crate::CanaryStats;

/// Answers from `primary`; each read is also run on `shadow` in a background task and the two
/// answers are compared (equal values, or errors of the same kind). Writes and workspace
/// operations run on `primary` only: running a write twice would apply it twice.
#[derive(Debug)]
pub struct Canary {
    primary: Arc<dyn GitBackend>,
    shadow: Arc<dyn GitBackend>,
    stats: Arc<CanaryStats>,
}

fn same<T: PartialEq>(a: &Result<T>, b: &Result<T>) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => x == y,
        (Err(x), Err(y)) => x.kind() == y.kind(),
        _ => false,
    }
}

fn summary<T: std::fmt::Debug>(r: &Result<T>) -> String {
    let mut s = match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("error {}: {}", e.kind(), e.message()),
    };
    s.truncate(512);
    s
}

impl Canary {
    pub(crate) fn new(
        primary: Arc<dyn GitBackend>,
        shadow: Arc<dyn GitBackend>,
        stats: Arc<CanaryStats>,
    ) -> Self {
        Self {
            primary,
            shadow,
            stats,
        }
    }

    /// Compares `first` with the shadow engine's answer in a background task. On a mismatch the
    /// primary is asked again: if its own answer changed, a write raced the comparison and the
    /// sample is dropped as inconclusive.
    fn shadow<T, F, Fut>(&self, op: &'static str, inputs: String, first: &Result<T>, call: F)
    where
        T: PartialEq + Clone + std::fmt::Debug + Send + Sync + 'static,
        F: Fn(Arc<dyn GitBackend>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let (primary, shadow, stats) = (
            Arc::clone(&self.primary),
            Arc::clone(&self.shadow),
            Arc::clone(&self.stats),
        );
        let first = first.clone();
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        rt.spawn(async move {
            let other = call(Arc::clone(&shadow)).await;
            if same(&first, &other) {
                stats.count(op, false);
                return;
            }
            let again = call(Arc::clone(&primary)).await;
            if !same(&first, &again) {
                stats.inconclusive.fetch_add(1, Ordering::Relaxed);
                return;
            }
            stats.count(op, true);
            tracing::warn!(
                op,
                inputs = %inputs,
                serving = primary.name(),
                serving_answer = %summary(&first),
                other = shadow.name(),
                other_answer = %summary(&other),
                "canary mismatch"
            );
        });
    }
}

#[async_trait]
impl GitBackend for Canary {
    fn name(&self) -> &'static str {
        self.primary.name()
    }

    async fn init_repo(&self, repo: &RepoName, opts: InitOptions) -> Result<RepoInfo> {
        self.primary.init_repo(repo, opts).await
    }

    async fn repo_info(&self, repo: &RepoName) -> Result<RepoInfo> {
        let inputs = format!("{:?}", repo);
        let repo_o = repo.clone();
        let out = self.primary.repo_info(repo).await;
        self.shadow("repo_info", inputs, &out, move |e| {
            let repo_o = repo_o.clone();
            async move { e.repo_info(&repo_o).await }
        });
        out
    }

    async fn delete_repo(&self, repo: &RepoName) -> Result<()> {
        self.primary.delete_repo(repo).await
    }

    async fn clone_repo(&self, repo: &RepoName, opts: CloneOptions) -> Result<RepoInfo> {
        self.primary.clone_repo(repo, opts).await
    }

    async fn sync_mirror(&self, repo: &RepoName) -> Result<RepoInfo> {
        self.primary.sync_mirror(repo).await
    }

    async fn gc(&self, repo: &RepoName) -> Result<GcOutcome> {
        self.primary.gc(repo).await
    }

    async fn config_get(&self, repo: &RepoName, key: &ConfigKey) -> Result<Option<String>> {
        let inputs = format!("{:?} {:?}", repo, key);
        let repo_o = repo.clone();
        let key_o = key.clone();
        let out = self.primary.config_get(repo, key).await;
        self.shadow("config_get", inputs, &out, move |e| {
            let repo_o = repo_o.clone();
            let key_o = key_o.clone();
            async move { e.config_get(&repo_o, &key_o).await }
        });
        out
    }

    async fn config_set(&self, repo: &RepoName, key: &ConfigKey, value: &str) -> Result<()> {
        self.primary.config_set(repo, key, value).await
    }

    async fn config_list(&self, repo: &RepoName) -> Result<Vec<ConfigEntry>> {
        let inputs = format!("{:?}", repo);
        let repo_o = repo.clone();
        let out = self.primary.config_list(repo).await;
        self.shadow("config_list", inputs, &out, move |e| {
            let repo_o = repo_o.clone();
            async move { e.config_list(&repo_o).await }
        });
        out
    }

    async fn list_refs(&self, repo: &RepoName, query: ListRefs) -> Result<Page<Ref>> {
        let inputs = format!("{:?} {:?}", repo, query);
        let repo_o = repo.clone();
        let query_o = query.clone();
        let out = self.primary.list_refs(repo, query).await;
        self.shadow("list_refs", inputs, &out, move |e| {
            let repo_o = repo_o.clone();
            let query_o = query_o.clone();
            async move { e.list_refs(&repo_o, query_o.clone()).await }
        });
        out
    }

    async fn get_ref(&self, repo: &RepoName, name: &RefName) -> Result<Ref> {
        let inputs = format!("{:?} {:?}", repo, name);
        let repo_o = repo.clone();
        let name_o = name.clone();
        let out = self.primary.get_ref(repo, name).await;
        self.shadow("get_ref", inputs, &out, move |e| {
            let repo_o = repo_o.clone();
            let name_o = name_o.clone();
            async move { e.get_ref(&repo_o, &name_o).await }
        });
        out
    }

    async fn resolve(&self, repo: &RepoName, rev: &Rev) -> Result<Oid> {
        let inputs = format!("{:?} {:?}", repo, rev);
        let repo_o = repo.clone();
        let rev_o = rev.clone();
        let out = self.primary.resolve(repo, rev).await;
        self.shadow("resolve", inputs, &out, move |e| {
            let repo_o = repo_o.clone();
            let rev_o = rev_o.clone();
            async move { e.resolve(&repo_o, &rev_o).await }
        });
        out
    }

    async fn create_branch(&self, repo: &RepoName, name: &RefName, target: &Rev) -> Result<Ref> {
        self.primary.create_branch(repo, name, target).await
    }

    async fn create_tag(&self, repo: &RepoName, tag: CreateTag) -> Result<Ref> {
        self.primary.create_tag(repo, tag).await
    }

    async fn delete_ref(
        &self,
        repo: &RepoName,
        name: &RefName,
        expected: Option<Oid>,
    ) -> Result<()> {
        self.primary.delete_ref(repo, name, expected).await
    }

    async fn rename_branch(&self, repo: &RepoName, from: &RefName, to: &RefName) -> Result<Ref> {
        self.primary.rename_branch(repo, from, to).await
    }

    async fn update_refs(&self, repo: &RepoName, updates: Vec<RefUpdate>) -> Result<()> {
        self.primary.update_refs(repo, updates).await
    }

    async fn get_commit(&self, repo: &RepoName, rev: &Rev) -> Result<Commit> {
        let inputs = format!("{:?} {:?}", repo, rev);
        let repo_o = repo.clone();
        let rev_o = rev.clone();
        let out = self.primary.get_commit(repo, rev).await;
        self.shadow("get_commit", inputs, &out, move |e| {
            let repo_o = repo_o.clone();
            let rev_o = rev_o.clone();
            async move { e.get_commit(&repo_o, &rev_o).await }
        });
        out
    }

    async fn get_commits(&self, repo: &RepoName, oids: &[Oid]) -> Result<Vec<Option<Commit>>> {
        let inputs = format!("{:?} {:?}", repo, oids);
        let repo_o = repo.clone();
        let oids_o = oids.to_vec();
        let out = self.primary.get_commits(repo, oids).await;
        self.shadow("get_commits", inputs, &out, move |e| {
            let repo_o = repo_o.clone();
            let oids_o = oids_o.clone();
            async move { e.get_commits(&repo_o, &oids_o).await }
        });
        out
    }

    async fn log(
        &self,
        repo: &RepoName,
        query: LogQuery,
    ) -> Result<BoxStream<'static, Result<Commit>>> {
        self.primary.log(repo, query).await
    }

    async fn commit_files(&self, repo: &RepoName, req: CommitFiles) -> Result<Commit> {
        self.primary.commit_files(repo, req).await
    }

    async fn commit_payload(&self, repo: &RepoName, req: CommitFiles) -> Result<String> {
        self.primary.commit_payload(repo, req).await
    }

    async fn commit_index(&self, repo: &RepoName, req: CommitIndex) -> Result<Commit> {
        self.primary.commit_index(repo, req).await
    }

    async fn cherry_pick(&self, repo: &RepoName, req: PickCommit) -> Result<Commit> {
        self.primary.cherry_pick(repo, req).await
    }

    async fn revert(&self, repo: &RepoName, req: PickCommit) -> Result<Commit> {
        self.primary.revert(repo, req).await
    }

    async fn amend(&self, repo: &RepoName, req: Amend) -> Result<Commit> {
        self.primary.amend(repo, req).await
    }

    async fn reset(&self, repo: &RepoName, req: Reset) -> Result<Oid> {
        self.primary.reset(repo, req).await
    }

    async fn list_tree(&self, repo: &RepoName, query: ListTree) -> Result<Vec<TreeEntry>> {
        let inputs = format!("{:?} {:?}", repo, query);
        let repo_o = repo.clone();
        let query_o = query.clone();
        let out = self.primary.list_tree(repo, query).await;
        self.shadow("list_tree", inputs, &out, move |e| {
            let repo_o = repo_o.clone();
            let query_o = query_o.clone();
            async move { e.list_tree(&repo_o, query_o.clone()).await }
        });
        out
    }

    async fn read_blob(&self, repo: &RepoName, blob: BlobRef) -> Result<Blob> {
        let inputs = format!("{:?} {:?}", repo, blob);
        let repo_o = repo.clone();
        let blob_o = blob.clone();
        let out = self.primary.read_blob(repo, blob).await;
        self.shadow("read_blob", inputs, &out, move |e| {
            let repo_o = repo_o.clone();
            let blob_o = blob_o.clone();
            async move { e.read_blob(&repo_o, blob_o.clone()).await }
        });
        out
    }

    async fn stream_blob(&self, repo: &RepoName, blob: BlobRef) -> Result<BlobStream> {
        self.primary.stream_blob(repo, blob).await
    }

    async fn put_file(
        &self,
        repo: &RepoName,
        ws: &WorkspaceName,
        path: &RepoPath,
        content: bytes::Bytes,
        mode: Option<FileMode>,
    ) -> Result<()> {
        self.primary.put_file(repo, ws, path, content, mode).await
    }

    async fn delete_file(
        &self,
        repo: &RepoName,
        ws: &WorkspaceName,
        path: &RepoPath,
    ) -> Result<()> {
        self.primary.delete_file(repo, ws, path).await
    }

    async fn move_file(
        &self,
        repo: &RepoName,
        ws: &WorkspaceName,
        from: &RepoPath,
        to: &RepoPath,
    ) -> Result<()> {
        self.primary.move_file(repo, ws, from, to).await
    }

    async fn create_workspace(
        &self,
        repo: &RepoName,
        ws: &WorkspaceName,
        branch: Option<RefName>,
    ) -> Result<WorkspaceInfo> {
        self.primary.create_workspace(repo, ws, branch).await
    }

    async fn list_workspaces(&self, repo: &RepoName) -> Result<Vec<WorkspaceInfo>> {
        self.primary.list_workspaces(repo).await
    }

    async fn workspace(&self, repo: &RepoName, ws: &WorkspaceName) -> Result<WorkspaceInfo> {
        self.primary.workspace(repo, ws).await
    }

    async fn remove_workspace(&self, repo: &RepoName, ws: &WorkspaceName) -> Result<()> {
        self.primary.remove_workspace(repo, ws).await
    }

    async fn status(&self, repo: &RepoName, ws: &WorkspaceName) -> Result<Vec<StatusEntry>> {
        self.primary.status(repo, ws).await
    }

    async fn stage(&self, repo: &RepoName, ws: &WorkspaceName, path: &RepoPath) -> Result<()> {
        self.primary.stage(repo, ws, path).await
    }

    async fn unstage(&self, repo: &RepoName, ws: &WorkspaceName, path: &RepoPath) -> Result<()> {
        self.primary.unstage(repo, ws, path).await
    }

    async fn stage_patch(&self, repo: &RepoName, ws: &WorkspaceName, patch: &str) -> Result<()> {
        self.primary.stage_patch(repo, ws, patch).await
    }

    async fn discard(&self, repo: &RepoName, ws: &WorkspaceName, path: &RepoPath) -> Result<()> {
        self.primary.discard(repo, ws, path).await
    }

    async fn stash_list(&self, repo: &RepoName, ws: &WorkspaceName) -> Result<Vec<StashEntry>> {
        self.primary.stash_list(repo, ws).await
    }

    async fn stash_save(&self, repo: &RepoName, req: StashSave) -> Result<StashEntry> {
        self.primary.stash_save(repo, req).await
    }

    async fn stash_apply(&self, repo: &RepoName, ws: &WorkspaceName, index: usize) -> Result<()> {
        self.primary.stash_apply(repo, ws, index).await
    }

    async fn stash_drop(&self, repo: &RepoName, ws: &WorkspaceName, index: usize) -> Result<()> {
        self.primary.stash_drop(repo, ws, index).await
    }

    async fn diff(&self, repo: &RepoName, req: DiffRequest) -> Result<Diff> {
        self.primary.diff(repo, req).await
    }

    async fn diff_by_id(&self, repo: &RepoName, id: &DiffId) -> Result<Diff> {
        let inputs = format!("{:?} {:?}", repo, id);
        let repo_o = repo.clone();
        let id_o = id.clone();
        let out = self.primary.diff_by_id(repo, id).await;
        self.shadow("diff_by_id", inputs, &out, move |e| {
            let repo_o = repo_o.clone();
            let id_o = id_o.clone();
            async move { e.diff_by_id(&repo_o, &id_o).await }
        });
        out
    }

    async fn blame(&self, repo: &RepoName, query: BlameQuery) -> Result<Vec<BlameHunk>> {
        let inputs = format!("{:?} {:?}", repo, query);
        let repo_o = repo.clone();
        let query_o = query.clone();
        let out = self.primary.blame(repo, query).await;
        self.shadow("blame", inputs, &out, move |e| {
            let repo_o = repo_o.clone();
            let query_o = query_o.clone();
            async move { e.blame(&repo_o, query_o.clone()).await }
        });
        out
    }

    async fn merge(&self, repo: &RepoName, req: Merge) -> Result<MergeOutcome> {
        self.primary.merge(repo, req).await
    }

    async fn rebase(&self, repo: &RepoName, req: Rebase) -> Result<RebaseOutcome> {
        self.primary.rebase(repo, req).await
    }

    async fn merge_base(&self, repo: &RepoName, a: &Rev, b: &Rev) -> Result<Option<Oid>> {
        let inputs = format!("{:?} {:?} {:?}", repo, a, b);
        let repo_o = repo.clone();
        let a_o = a.clone();
        let b_o = b.clone();
        let out = self.primary.merge_base(repo, a, b).await;
        self.shadow("merge_base", inputs, &out, move |e| {
            let repo_o = repo_o.clone();
            let a_o = a_o.clone();
            let b_o = b_o.clone();
            async move { e.merge_base(&repo_o, &a_o, &b_o).await }
        });
        out
    }

    async fn is_ancestor(&self, repo: &RepoName, ancestor: &Rev, descendant: &Rev) -> Result<bool> {
        let inputs = format!("{:?} {:?} {:?}", repo, ancestor, descendant);
        let repo_o = repo.clone();
        let ancestor_o = ancestor.clone();
        let descendant_o = descendant.clone();
        let out = self.primary.is_ancestor(repo, ancestor, descendant).await;
        self.shadow("is_ancestor", inputs, &out, move |e| {
            let repo_o = repo_o.clone();
            let ancestor_o = ancestor_o.clone();
            let descendant_o = descendant_o.clone();
            async move { e.is_ancestor(&repo_o, &ancestor_o, &descendant_o).await }
        });
        out
    }

    async fn ahead_behind(&self, repo: &RepoName, a: &Rev, b: &Rev) -> Result<AheadBehind> {
        let inputs = format!("{:?} {:?} {:?}", repo, a, b);
        let repo_o = repo.clone();
        let a_o = a.clone();
        let b_o = b.clone();
        let out = self.primary.ahead_behind(repo, a, b).await;
        self.shadow("ahead_behind", inputs, &out, move |e| {
            let repo_o = repo_o.clone();
            let a_o = a_o.clone();
            let b_o = b_o.clone();
            async move { e.ahead_behind(&repo_o, &a_o, &b_o).await }
        });
        out
    }
}
