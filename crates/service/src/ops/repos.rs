//! Repositories: create (empty, clone, mirror), list, facts, delete, mirror sync, gc, config,
//! and protection rules.

use gitapi_core::*;

use crate::auth::Scope;
use crate::context::CallContext;
use crate::events::RepoChangeKind;
use crate::protect::{ProtectionRule, Protections, RefPattern};
use crate::remote::check_remote;
use crate::service::RepoService;

/// Where a new repository comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoSource {
    /// An empty repository.
    Empty(InitOptions),
    /// A bare clone or a mirror of a remote (checked against the clone policy here).
    Remote {
        /// The URL as the caller gave it.
        url: String,
        /// Mirror every ref, re-syncable with pruning.
        mirror: bool,
    },
}

/// Whether an error reading a repository says that its directory cannot be read (a repository
/// the engine cannot open: a half-made clone, a foreign object format, damage), rather than
/// that the call failed (its deadline, an engine not available) or the repository is gone.
fn unreadable(err: &Error) -> bool {
    matches!(
        err.kind(),
        ErrorKind::Internal
            | ErrorKind::InvalidArgument
            | ErrorKind::FailedPrecondition
            | ErrorKind::Unimplemented
    )
}

impl RepoService {
    /// Creates a repository: empty, a bare clone or a mirror. Needs `admin` on the name. A
    /// clone is maintenance: it runs under the maintenance deadline, not the request's.
    pub async fn create_repo(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        source: RepoSource,
    ) -> Result<RepoInfo> {
        cx.principal().require(Scope::Admin, repo)?;
        let info = match source {
            RepoSource::Empty(opts) => {
                let op = self.write(cx, "create_repo", Scope::Admin, repo).await?;
                let out = op.commit(op.e.init_repo(repo, opts)).await;
                if out.is_ok() {
                    op.repo_changed(RepoChangeKind::Created);
                }
                op.finish(out)?
            }
            RepoSource::Remote { url, mirror } => {
                // Check the source before taking the lock: resolution may be slow.
                let url =
                    check_remote(&url, self.config().allow_local_clone, self.resolver()).await?;
                let op = self.maintain(cx, "clone_repo", Scope::Admin, repo).await?;
                let info = op
                    .commit(op.e.clone_repo(repo, CloneOptions { url, mirror }))
                    .await?;
                op.repo_changed(RepoChangeKind::Created);
                let after = op.all_refs(repo).await?;
                op.moved_all(&[], &after);
                op.finish(Ok(info))?
            }
        };
        // A repository of the same name deleted earlier may have left rules behind.
        self.protection_store()
            .put(repo, Protections::default())
            .await?;
        Ok(info)
    }

    /// Lists the repositories the caller may read, sorted by name.
    pub async fn list_repos(&self, cx: &CallContext, page: PageRequest) -> Result<Page<RepoInfo>> {
        let dir = self.layout().repos_dir();
        let mut names = tokio::task::spawn_blocking(move || -> Result<Vec<RepoName>> {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(Error::internal(format!("listing repositories failed: {e}"))),
            };
            let mut names = Vec::new();
            for entry in entries.flatten() {
                let file_name = entry.file_name();
                let Some(stem) = file_name.to_str().and_then(|n| n.strip_suffix(".git")) else {
                    continue;
                };
                if let Ok(name) = RepoName::new(stem) {
                    names.push(name);
                }
            }
            Ok(names)
        })
        .await
        .map_err(|e| Error::internal(format!("listing task failed: {e}")))??;
        names.retain(|n| cx.principal().allows(Scope::Read, n.as_str()));
        names.sort();
        // Page the names first, then read facts only for the page.
        let names = cursor::page_by_key(names, |n| n.as_str(), &page)?;
        let mut items = Vec::with_capacity(names.items.len());
        for name in &names.items {
            match self.repo_info(cx, name).await {
                Ok(info) => items.push(info),
                // Deleted between the listing and now.
                Err(err) if err.kind() == ErrorKind::NotFound => {}
                // One repository directory the engine cannot read (a half-made clone, a
                // damaged or foreign repository) never breaks the listing of the others: it is
                // left out, and logged for the operator.
                Err(err) if unreadable(&err) => {
                    tracing::warn!(
                        repo = name.as_str(),
                        error = %err,
                        "a repository directory cannot be read; left out of the listing"
                    );
                }
                // The call's own failures (its deadline, an engine that is not available)
                // end the listing.
                Err(err) => return Err(err),
            }
        }
        Ok(Page {
            items,
            next_cursor: names.next_cursor,
        })
    }

    /// Facts about a repository.
    pub async fn repo_info(&self, cx: &CallContext, repo: &RepoName) -> Result<RepoInfo> {
        let op = self.read(cx, "repo_info", repo).await?;
        let out = self
            .cached_at_version(&op, repo, &(), op.run(op.e.repo_info(repo)))
            .await;
        op.finish(out)
    }

    /// Deletes a repository; refused while protection rules against deletion or force cover
    /// any of its refs.
    pub async fn delete_repo(&self, cx: &CallContext, repo: &RepoName) -> Result<()> {
        let op = self.write(cx, "delete_repo", Scope::Admin, repo).await?;
        let before = match self
            .refuse_if_protected(&op, repo, "deleting the repository")
            .await
        {
            Ok(refs) => refs,
            // A repository directory the engine cannot read (a half-made clone, a foreign
            // object format) can still be deleted when no protection rule could cover it:
            // without rules there is nothing its refs could be protected by.
            Err(err)
                if unreadable(&err)
                    && self.protection_store().get(repo).await?.rules.is_empty() =>
            {
                tracing::warn!(
                    repo = repo.as_str(),
                    error = %err,
                    "deleting a repository whose refs cannot be read"
                );
                Vec::new()
            }
            Err(err) => return Err(err),
        };
        op.commit(op.e.delete_repo(repo)).await?;
        self.protection_store()
            .put(repo, Protections::default())
            .await?;
        op.moved_all(&before, &[]);
        op.repo_changed(RepoChangeKind::Deleted);
        op.finish(Ok(()))
    }

    /// Fetches a mirror again with pruning; refused while protection rules cover its refs
    /// (the remote decides where they go). Maintenance: the maintenance deadline applies.
    pub async fn sync_mirror(&self, cx: &CallContext, repo: &RepoName) -> Result<RepoInfo> {
        let op = self.maintain(cx, "sync_mirror", Scope::Write, repo).await?;
        let before = self
            .refuse_if_protected(&op, repo, "syncing the mirror")
            .await?;
        let info = op.commit(op.e.sync_mirror(repo)).await?;
        let after = op.all_refs(repo).await?;
        op.moved_all(&before, &after);
        op.finish(Ok(info))
    }

    /// Packs and prunes (`git gc`). Needs `admin`; maintenance deadline.
    pub async fn gc(&self, cx: &CallContext, repo: &RepoName) -> Result<GcOutcome> {
        let op = self.maintain(cx, "gc", Scope::Admin, repo).await?;
        let out = op.commit(op.e.gc(repo)).await;
        op.finish(out)
    }

    /// Reads an allow-listed config key.
    pub async fn config_get(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        key: &ConfigKey,
    ) -> Result<Option<String>> {
        let op = self.read(cx, "config_get", repo).await?;
        let out = op.run(op.e.config_get(repo, key)).await;
        op.finish(out)
    }

    /// Sets an allow-listed config key. Needs `admin`.
    pub async fn config_set(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        key: &ConfigKey,
        value: &str,
    ) -> Result<()> {
        names::check_config_value(key, value)?;
        let op = self.write(cx, "config_set", Scope::Admin, repo).await?;
        let out = op.commit(op.e.config_set(repo, key, value)).await;
        op.finish(out)
    }

    /// Lists the allow-listed keys set in the repository, a page at a time.
    pub async fn config_list(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        page: &PageRequest,
    ) -> Result<Page<ConfigEntry>> {
        let op = self.read(cx, "config_list", repo).await?;
        let out = op.run(op.e.config_list(repo)).await;
        op.finish(out.and_then(|all| cursor::page_by_offset(all, page)))
    }

    /// The protection rules of a repository.
    pub async fn protections(&self, cx: &CallContext, repo: &RepoName) -> Result<Protections> {
        let op = self.read(cx, "protections", repo).await?;
        op.run(op.e.repo_info(repo)).await?;
        let out = self
            .protection_store()
            .get(repo)
            .await
            .map(|p| (*p).clone());
        op.finish(out)
    }

    /// Adds a rule, or replaces the rule with the same pattern. Needs `admin`.
    pub async fn protect(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        rule: ProtectionRule,
    ) -> Result<Protections> {
        let op = self.write(cx, "protect", Scope::Admin, repo).await?;
        op.run(op.e.repo_info(repo)).await?;
        let mut p = (*self.protection_store().get(repo).await?).clone();
        p.rules.retain(|r| r.pattern != rule.pattern);
        p.rules.push(rule);
        p.rules
            .sort_by(|a, b| a.pattern.as_str().cmp(b.pattern.as_str()));
        self.protection_store().put(repo, p.clone()).await?;
        op.finish(Ok(p))
    }

    /// Removes the rule with this pattern (`NotFound` when there is none). Needs `admin`.
    pub async fn unprotect(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        pattern: &RefPattern,
    ) -> Result<Protections> {
        let op = self.write(cx, "unprotect", Scope::Admin, repo).await?;
        op.run(op.e.repo_info(repo)).await?;
        let mut p = (*self.protection_store().get(repo).await?).clone();
        let before = p.rules.len();
        p.rules.retain(|r| &r.pattern != pattern);
        if p.rules.len() == before {
            return op.finish(Err(Error::not_found(format!(
                "no protection rule for {:?}",
                pattern.as_str()
            ))));
        }
        self.protection_store().put(repo, p.clone()).await?;
        op.finish(Ok(p))
    }
}
