//! Diff, blame and ancestry: reads that may be expensive, bounded by the request's deadline
//! like every read.

use gitapi_core::*;

use crate::context::CallContext;
use crate::service::RepoService;

impl RepoService {
    /// A structured diff; its options are checked first (every door gets the same bounds).
    pub async fn diff(&self, cx: &CallContext, repo: &RepoName, req: DiffRequest) -> Result<Diff> {
        req.validate()?;
        let op = self.read(cx, "diff", repo).await?;
        let out = op.run(op.e.diff(repo, req)).await;
        op.finish(out)
    }

    /// The diff an id names. The id is decoded (and its options checked like any diff
    /// request's) before anything else, so a forged id is `InvalidArgument`.
    pub async fn diff_by_id(&self, cx: &CallContext, repo: &RepoName, id: &DiffId) -> Result<Diff> {
        id.decode()?;
        let op = self.read(cx, "diff_by_id", repo).await?;
        let out = op.run(op.e.diff_by_id(repo, id)).await;
        op.finish(out)
    }

    /// Who last changed each line.
    pub async fn blame(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        query: BlameQuery,
    ) -> Result<Vec<BlameHunk>> {
        let op = self.read(cx, "blame", repo).await?;
        let out = op.run(op.e.blame(repo, query)).await;
        op.finish(out)
    }

    /// The merge base of two commits.
    pub async fn merge_base(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        a: &Rev,
        b: &Rev,
    ) -> Result<Option<Oid>> {
        let op = self.read(cx, "merge_base", repo).await?;
        let out = op.run(op.e.merge_base(repo, a, b)).await;
        op.finish(out)
    }

    /// Whether `ancestor` is reachable from `descendant`.
    pub async fn is_ancestor(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        ancestor: &Rev,
        descendant: &Rev,
    ) -> Result<bool> {
        let op = self.read(cx, "is_ancestor", repo).await?;
        let out = op.run(op.e.is_ancestor(repo, ancestor, descendant)).await;
        op.finish(out)
    }

    /// Ahead and behind counts.
    pub async fn ahead_behind(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        a: &Rev,
        b: &Rev,
    ) -> Result<AheadBehind> {
        let op = self.read(cx, "ahead_behind", repo).await?;
        let out = op.run(op.e.ahead_behind(repo, a, b)).await;
        op.finish(out)
    }
}
