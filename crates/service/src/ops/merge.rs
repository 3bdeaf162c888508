//! Merge and rebase of branches, without a work tree.

use gitapi_core::*;

use crate::auth::Scope;
use crate::context::CallContext;
use crate::policy::denied;
use crate::service::RepoService;

impl RepoService {
    /// Merges a revision into a branch. On a branch that requires signed commits only a
    /// fast-forward to signed commits is allowed (a merge commit made here is not signed).
    pub async fn merge(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        req: Merge,
    ) -> Result<MergeOutcome> {
        let op = self.write(cx, "merge", Scope::Write, repo).await?;
        let old = op.current(repo, &req.target).await?;
        if self.rules(repo, &req.target).await?.require_signed_commits {
            let source = op.run(op.e.resolve(repo, &req.source)).await?;
            let ff = match old {
                Some(tip) => {
                    op.run(op.e.is_ancestor(repo, &Rev::from(tip), &Rev::from(source)))
                        .await?
                }
                None => true,
            };
            if !ff || req.fast_forward == FastForward::NoFf {
                return op.finish(Err(denied(
                    &req.target,
                    "signed commits are required and a merge commit would not be signed",
                )));
            }
            self.check_signed(&op, repo, &req.target, old, source)
                .await?;
        }
        let target = req.target.clone();
        let out = op.commit(op.e.merge(repo, req)).await?;
        op.moved(&target, old, Some(out.tip));
        op.finish(Ok(out))
    }

    /// Rebases a branch: a rewrite, so a force update for the protection rules.
    pub async fn rebase(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        req: Rebase,
    ) -> Result<RebaseOutcome> {
        let op = self.write(cx, "rebase", Scope::Write, repo).await?;
        let rules = self.rules(repo, &req.branch).await?;
        if rules.no_force_push {
            return op.finish(Err(denied(
                &req.branch,
                "rebasing rewrites it (force update)",
            )));
        }
        if rules.require_signed_commits {
            return op.finish(Err(denied(&req.branch, "signed commits are required")));
        }
        let branch = req.branch.clone();
        let max = self.limits().max_rebase_steps;
        let steps = match &req.plan {
            Some(plan) => plan.len(),
            None => {
                let upstream = req.upstream.as_ref().unwrap_or(&req.onto);
                op.run(op.e.ahead_behind(repo, &Rev::from(&branch), upstream))
                    .await?
                    .ahead
            }
        };
        if steps > max {
            return op.finish(Err(Error::new(
                ErrorKind::TooLarge,
                format!("a rebase of {steps} commits is over the limit of {max}"),
            )));
        }
        let old = op.current(repo, &branch).await?;
        let out = op.commit(op.e.rebase(repo, req)).await?;
        op.moved(&branch, old, Some(out.tip));
        op.finish(Ok(out))
    }
}
