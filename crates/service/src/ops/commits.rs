//! Commits: read one or many, history (a page or a stream), and every operation that makes
//! commits on a branch: from file actions, from a workspace's index, cherry-pick, revert,
//! amend, reset.

use futures::stream::BoxStream;
use futures::{StreamExt as _, TryStreamExt};

use gitapi_core::*;

use crate::auth::Scope;
use crate::context::CallContext;
use crate::funnel::Op;
use crate::policy::{check_actions, check_batch, denied};
use crate::service::RepoService;

impl RepoService {
    /// One commit.
    pub async fn get_commit(&self, cx: &CallContext, repo: &RepoName, rev: &Rev) -> Result<Commit> {
        let op = self.read(cx, "get_commit", repo).await?;
        let out = self
            .cached(&op, repo, rev, &[rev], op.run(op.e.get_commit(repo, rev)))
            .await;
        op.finish(out)
    }

    /// Commits by id, `None` where an id is not a commit here.
    pub async fn get_commits(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        oids: &[Oid],
    ) -> Result<Vec<Option<Commit>>> {
        check_batch("commits", oids.len())?;
        let op = self.read(cx, "get_commits", repo).await?;
        let out = op.run(op.e.get_commits(repo, oids)).await;
        op.finish(out)
    }

    /// A page of history. The limit is capped at [`crate::Limits::max_log_page`] plus one (so
    /// a door can ask for one more than a page to learn whether another follows; 0 asks for
    /// the cap).
    pub async fn log(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        query: LogQuery,
    ) -> Result<Vec<Commit>> {
        let query = self.capped(query)?;
        let op = self.read(cx, "log", repo).await?;
        let revs: Vec<&Rev> = match &query.range {
            RevRange::Single(r) => vec![r],
            RevRange::TwoDot(a, b) | RevRange::ThreeDot(a, b) => vec![a, b],
        };
        let walk = op.run(async {
            match op.e.log(repo, query.clone()).await {
                Ok(commits) => commits.try_collect().await,
                Err(e) if unborn_log(&op, repo, &query, &e).await? => Ok(Vec::new()),
                Err(e) => Err(e),
            }
        });
        let out = self.cached(&op, repo, &query, &revs, walk).await;
        op.finish(out)
    }

    /// History as a stream, in `git log` order, capped like [`RepoService::log`]. The stream
    /// holds the repository's read lock and its engine lease until it ends or is dropped, and
    /// ends with a `Timeout` error at the request's deadline.
    pub async fn log_stream(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        query: LogQuery,
    ) -> Result<BoxStream<'static, Result<Commit>>> {
        let query = self.capped(query)?;
        let op = self.read(cx, "log_stream", repo).await?;
        let stream = op
            .run(async {
                match op.e.log(repo, query.clone()).await {
                    Err(e) if unborn_log(&op, repo, &query, &e).await? => {
                        Ok(futures::stream::empty().boxed())
                    }
                    other => other,
                }
            })
            .await?;
        Ok(op.hold(stream))
    }

    fn capped(&self, mut query: LogQuery) -> Result<LogQuery> {
        // git reads `--skip` as an int: a larger offset is refused, not passed on to fail
        // one engine and answer an empty page on the other.
        if query.offset > i32::MAX as usize {
            return Err(Error::invalid(format!(
                "offset {} is above {}",
                query.offset,
                i32::MAX
            )));
        }
        let cap = self.limits().max_log_page.saturating_add(1);
        if query.limit == 0 || query.limit > cap {
            query.limit = cap;
        }
        Ok(query)
    }

    /// The bytes a commit of `req` would hash, to be signed by the caller.
    ///
    /// Needs write scope although it moves no ref: the engines store the blobs and trees the
    /// payload names (a commit signed from it must find them), and a read-only token must not
    /// be able to fill the disk. It only makes sense before a signed commit, which needs write
    /// scope anyway.
    pub async fn commit_payload(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        req: CommitFiles,
    ) -> Result<String> {
        cx.principal().require(Scope::Write, repo)?;
        check_actions(&req.actions, self.limits())?;
        let op = self.read(cx, "commit_payload", repo).await?;
        let out = op.run(op.e.commit_payload(repo, req)).await;
        op.finish(out)
    }

    /// Commits a list of file actions onto a branch (compare-and-swap on its tip).
    pub async fn commit_files(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        req: CommitFiles,
    ) -> Result<Commit> {
        check_actions(&req.actions, self.limits())?;
        let op = self.write(cx, "commit_files", Scope::Write, repo).await?;
        let rules = self.rules(repo, &req.branch).await?;
        if rules.require_signed_commits && req.signing == Signing::None {
            return op.finish(Err(denied(&req.branch, "signed commits are required")));
        }
        let branch = req.branch.clone();
        let old = op.current(repo, &branch).await?;
        let c = op.commit(op.e.commit_files(repo, req)).await?;
        op.moved(&branch, old, Some(c.oid));
        op.finish(Ok(c))
    }

    /// Commits a workspace's index onto its branch.
    pub async fn commit_index(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        req: CommitIndex,
    ) -> Result<Commit> {
        let op = self.write(cx, "commit_index", Scope::Write, repo).await?;
        let ws = op.run(op.e.workspace(repo, &req.workspace)).await?;
        let rules = self.rules(repo, &ws.branch).await?;
        if req.amend && rules.no_force_push {
            return op.finish(Err(denied(
                &ws.branch,
                "amending rewrites it (force update)",
            )));
        }
        if rules.require_signed_commits && req.signing == Signing::None {
            return op.finish(Err(denied(&ws.branch, "signed commits are required")));
        }
        let old = op.current(repo, &ws.branch).await?;
        let c = op.commit(op.e.commit_index(repo, req)).await?;
        op.moved(&ws.branch, old, Some(c.oid));
        op.finish(Ok(c))
    }

    /// Cherry-picks a commit onto a branch.
    pub async fn cherry_pick(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        req: PickCommit,
    ) -> Result<Commit> {
        self.pick(cx, repo, req, false).await
    }

    /// Reverts a commit on a branch.
    pub async fn revert(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        req: PickCommit,
    ) -> Result<Commit> {
        self.pick(cx, repo, req, true).await
    }

    async fn pick(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        req: PickCommit,
        revert: bool,
    ) -> Result<Commit> {
        let name = if revert { "revert" } else { "cherry_pick" };
        let op = self.write(cx, name, Scope::Write, repo).await?;
        if self.rules(repo, &req.branch).await?.require_signed_commits {
            return op.finish(Err(denied(&req.branch, "signed commits are required")));
        }
        let branch = req.branch.clone();
        let old = op.current(repo, &branch).await?;
        let c = if revert {
            op.commit(op.e.revert(repo, req)).await?
        } else {
            op.commit(op.e.cherry_pick(repo, req)).await?
        };
        op.moved(&branch, old, Some(c.oid));
        op.finish(Ok(c))
    }

    /// Rewrites a branch's tip commit: a force update for the protection rules.
    pub async fn amend(&self, cx: &CallContext, repo: &RepoName, req: Amend) -> Result<Commit> {
        check_actions(&req.actions, self.limits())?;
        let op = self.write(cx, "amend", Scope::Write, repo).await?;
        let rules = self.rules(repo, &req.branch).await?;
        if rules.no_force_push {
            return op.finish(Err(denied(
                &req.branch,
                "amending rewrites it (force update)",
            )));
        }
        if rules.require_signed_commits {
            return op.finish(Err(denied(&req.branch, "signed commits are required")));
        }
        let branch = req.branch.clone();
        let old = op.current(repo, &branch).await?;
        let c = op.commit(op.e.amend(repo, req)).await?;
        op.moved(&branch, old, Some(c.oid));
        op.finish(Ok(c))
    }

    /// Resets a branch or a workspace (which moves the workspace's branch). A move to a
    /// commit that does not descend from the tip is a force update.
    pub async fn reset(&self, cx: &CallContext, repo: &RepoName, req: Reset) -> Result<Oid> {
        let op = self.write(cx, "reset", Scope::Write, repo).await?;
        let branch = match &req.target {
            ResetTarget::Branch { branch, .. } => branch.clone(),
            ResetTarget::Workspace { workspace } => {
                op.run(op.e.workspace(repo, workspace)).await?.branch
            }
        };
        let old = op.current(repo, &branch).await?;
        let to = op.run(op.e.resolve(repo, &req.to)).await?;
        self.check_move(&op, repo, &branch, old, Some(to)).await?;
        let out = op.commit(op.e.reset(repo, req)).await?;
        let new = op.current(repo, &branch).await?;
        op.moved(&branch, old, new);
        op.finish(Ok(out))
    }
}

/// Whether a log failed with `err` only because it walks `HEAD` alone and `HEAD` is unborn: the
/// history of an empty repository is empty ([`super::unborn_head`]).
async fn unborn_log(op: &Op, repo: &RepoName, query: &LogQuery, err: &Error) -> Result<bool> {
    match &query.range {
        RevRange::Single(rev) => super::unborn_head(op, repo, rev, err).await,
        _ => Ok(false),
    }
}
