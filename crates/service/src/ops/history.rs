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
        let workspace = match &req.spec {
            DiffSpec::Commits { .. } => None,
            DiffSpec::Index { workspace, .. }
            | DiffSpec::TreeToWorktree { workspace, .. }
            | DiffSpec::Worktree { workspace } => Some(workspace.clone()),
        };
        if let Some(ws) = workspace
            && self.unmade_default(repo, &ws)?
        {
            // Before its first write the default workspace is a clean checkout of its base:
            // its index and work tree are the base's tree. Answered without making it.
            let out = self.unmade_default_diff(&op, repo, &ws, req).await;
            return op.finish(out);
        }
        let DiffSpec::Commits { from, to } = &req.spec else {
            let out = op.run(op.e.diff(repo, req)).await;
            return op.finish(out);
        };
        // Between two tree-ishes: fixed by the ids they resolve to.
        let mut revs = vec![to];
        revs.extend(from.as_ref());
        let out = self
            .cached(&op, repo, &req, &revs, op.run(op.e.diff(repo, req.clone())))
            .await;
        op.finish(out)
    }

    /// A workspace diff of the default workspace not made yet, as the engine would answer it
    /// once made: the index (and the work tree) hold the base's tree, so a diff against either
    /// is a diff against that tree. An index diff keeps the id the engine gives it (its new
    /// side is the index's tree); a diff against the work tree has none.
    async fn unmade_default_diff(
        &self,
        op: &crate::funnel::Op,
        repo: &RepoName,
        ws: &WorkspaceName,
        req: DiffRequest,
    ) -> Result<Diff> {
        let (from, keep_id) = match &req.spec {
            DiffSpec::Index { from, .. } => (from.clone(), true),
            DiffSpec::TreeToWorktree { from, .. } => (from.clone(), false),
            // The index against the work tree of a clean checkout.
            DiffSpec::Worktree { .. } | DiffSpec::Commits { .. } => {
                return Ok(Diff::new(None, Vec::new()));
            }
        };
        let info = self.unmade_default_info(op, repo, ws).await?;
        let Some(base) = info.base else {
            // An unborn branch's empty checkout: rare enough to let the engine make the
            // workspace and answer.
            return op.run(op.e.diff(repo, req)).await;
        };
        let base_rev = Rev::new(base.to_string())?;
        let tree = op.run(op.e.get_commit(repo, &base_rev)).await?.tree;
        let spec = DiffSpec::Commits {
            from: Some(from.unwrap_or(base_rev)),
            to: Rev::new(tree.to_string())?,
        };
        let options = req.options;
        let mut diff = op
            .run(op.e.diff(repo, DiffRequest { spec, options }))
            .await?;
        if !keep_id {
            diff.id = None;
        }
        Ok(diff)
    }

    /// The diff an id names. The id is decoded (and its options checked like any diff
    /// request's) before anything else, so a forged id is `InvalidArgument`.
    pub async fn diff_by_id(&self, cx: &CallContext, repo: &RepoName, id: &DiffId) -> Result<Diff> {
        id.decode()?;
        let op = self.read(cx, "diff_by_id", repo).await?;
        // The id holds object ids only: nothing to resolve.
        let out = self
            .cached(&op, repo, id, &[], op.run(op.e.diff_by_id(repo, id)))
            .await;
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
        let out = self
            .cached(
                &op,
                repo,
                &query,
                &[&query.rev],
                op.run(op.e.blame(repo, query.clone())),
            )
            .await;
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
