//! [`RepoService`]: authorization, locking, protection, limits and events around every engine
//! call.

use std::future::Future;
use std::sync::Arc;

use base64::Engine as _;
use futures::TryStreamExt;
use gitapi_switch::{CanaryConfig, EngineKind, EngineSwitch, Lease, SwitchStatus};
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, broadcast};

use gitapi_core::*;

use crate::auth::{Authenticator, Principal, Scope};
use crate::config::{Limits, ServiceConfig};
use crate::events::{EventBus, RefEvent};
use crate::locks::RepoLocks;
use crate::protect::{Effective, ProtectionRule, ProtectionStore, Protections, RefPattern};
use crate::remote::{Resolver, check_remote, system_resolver};

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

/// The one entry point every door calls.
///
/// Each operation: checks the caller's scope on the repository, takes the repository's lock
/// (shared for reads, exclusive for writes and maintenance), loads the engine once, checks
/// protection rules and limits, calls the engine (under a deadline for expensive operations),
/// and publishes an event for each ref it changed.
#[derive(Clone)]
pub struct RepoService {
    inner: Arc<Inner>,
}

struct Inner {
    switch: Arc<EngineSwitch>,
    layout: Layout,
    config: ServiceConfig,
    auth: Authenticator,
    locks: RepoLocks,
    events: EventBus,
    protections: ProtectionStore,
    resolver: Resolver,
}

impl std::fmt::Debug for RepoService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoService")
            .field("engine", &self.engine().name())
            .field("data_dir", &self.inner.layout.root())
            .field("open", &self.inner.auth.is_open())
            .finish_non_exhaustive()
    }
}

fn denied(name: &RefName, why: &str) -> Error {
    Error::new(
        ErrorKind::PermissionDenied,
        format!("ref {:?} is protected: {why}", name.as_str()),
    )
}

fn timeout_error(what: &str, limits: &Limits) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!("{what} ran past its deadline of {:?}", limits.deadline),
    )
}

fn too_large(what: &str, len: usize, max: usize) -> Error {
    Error::new(
        ErrorKind::TooLarge,
        format!("{what} of {len} bytes is over the limit of {max} bytes"),
    )
}

/// Where a ref points, `None` when it does not exist.
async fn current(e: &dyn GitBackend, repo: &RepoName, name: &RefName) -> Result<Option<Oid>> {
    match e.get_ref(repo, name).await {
        Ok(r) => Ok(Some(r.target)),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Every ref of a repository, all pages.
async fn all_refs(e: &dyn GitBackend, repo: &RepoName) -> Result<Vec<Ref>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = e
            .list_refs(
                repo,
                ListRefs {
                    prefix: None,
                    kind: RefKind::All,
                    page: PageRequest {
                        limit: PageRequest::MAX_LIMIT,
                        cursor,
                    },
                },
            )
            .await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

fn check_actions(actions: &[FileAction], limits: &Limits) -> Result<()> {
    for a in actions {
        if let FileAction::Put { content, .. } = a
            && content.len() > limits.max_blob_bytes
        {
            return Err(too_large(
                "file content",
                content.len(),
                limits.max_blob_bytes,
            ));
        }
    }
    Ok(())
}

/// The most commits a signing check walks; a longer new history is refused rather than
/// walked without bound.
const MAX_SIGNED_CHECK: usize = 1000;

/// Whether every file header of `patch` names `path` (or `/dev/null`).
fn patch_touches_only(patch: &str, path: &str) -> bool {
    let a = format!("a/{path}");
    let b = format!("b/{path}");
    let mut files = 0;
    for line in patch.lines() {
        if let Some(rest) = line.strip_prefix("diff --git ") {
            files += 1;
            if rest != format!("{a} {b}") {
                return false;
            }
        } else if let Some(name) = line.strip_prefix("--- ")
            && name != a
            && name != "/dev/null"
        {
            return false;
        } else if let Some(name) = line.strip_prefix("+++ ")
            && name != b
            && name != "/dev/null"
        {
            return false;
        }
    }
    files <= 1
}

impl RepoService {
    /// A service over the engines of `switch` with the system resolver for clone sources.
    pub fn new(config: ServiceConfig, switch: Arc<EngineSwitch>) -> Self {
        Self::with_resolver(config, switch, system_resolver())
    }

    /// A service with a given resolver for clone sources (tests use a fake one).
    pub fn with_resolver(
        config: ServiceConfig,
        switch: Arc<EngineSwitch>,
        resolver: Resolver,
    ) -> Self {
        let layout = Layout::new(config.data_dir.clone());
        let protections = ProtectionStore::new(layout.root().join("state").join("protections"));
        Self {
            inner: Arc::new(Inner {
                switch,
                auth: Authenticator::new(config.tokens.clone()),
                events: EventBus::new(config.event_capacity),
                locks: RepoLocks::default(),
                protections,
                resolver,
                layout,
                config,
            }),
        }
    }

    /// A lease on the engine now serving: a request takes one and finishes on that engine,
    /// whatever switches happen meanwhile (its in-flight count drains when it is dropped).
    pub fn engine(&self) -> Lease {
        self.inner.switch.lease()
    }

    /// The engine switch: which engine serves, switching it, the canary and their counts.
    pub fn engines(&self) -> &Arc<EngineSwitch> {
        &self.inner.switch
    }

    /// Which engine serves, since when, requests in flight per engine, and the canary's counts.
    pub fn backend_status(&self, who: &Principal) -> Result<SwitchStatus> {
        who.require_server_admin()?;
        Ok(self.inner.switch.status())
    }

    /// Switches the serving engine and/or changes the canary. Requests in flight finish on the
    /// engine they started on; new ones go to the new engine.
    pub fn set_backend(
        &self,
        who: &Principal,
        backend: Option<EngineKind>,
        canary: Option<CanaryConfig>,
    ) -> Result<SwitchStatus> {
        who.require_server_admin()?;
        if let Some(c) = canary {
            self.inner.switch.set_canary(c)?;
        }
        if let Some(kind) = backend
            && self.inner.switch.switch(kind)
        {
            tracing::info!(engine = kind.as_str(), by = who.name(), "switched engine");
        }
        Ok(self.inner.switch.status())
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.inner.config.limits
    }

    /// Whether no token is configured (open local mode).
    pub fn is_open(&self) -> bool {
        self.inner.auth.is_open()
    }

    /// Authenticates the value of an `Authorization` header.
    pub fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Principal> {
        self.inner.auth.authenticate(authorization)
    }

    /// `Ok` when the data directory is reachable (readiness).
    pub async fn ready(&self) -> Result<()> {
        let root = self.inner.layout.root().to_owned();
        tokio::fs::metadata(&root).await.map_err(|e| {
            Error::new(
                ErrorKind::Unavailable,
                format!("data directory {} is not reachable: {e}", root.display()),
            )
        })?;
        Ok(())
    }

    /// Subscribes to ref events.
    pub fn subscribe(&self) -> broadcast::Receiver<RefEvent> {
        self.inner.events.subscribe()
    }

    async fn shared(
        &self,
        who: &Principal,
        repo: &RepoName,
    ) -> Result<(OwnedRwLockReadGuard<()>, Lease)> {
        who.require(Scope::Read, repo)?;
        let guard = self.inner.locks.read(repo).await;
        Ok((guard, self.engine()))
    }

    async fn exclusive(
        &self,
        who: &Principal,
        repo: &RepoName,
        scope: Scope,
    ) -> Result<(OwnedRwLockWriteGuard<()>, Lease)> {
        who.require(scope, repo)?;
        let guard = self.inner.locks.write(repo).await;
        Ok((guard, self.engine()))
    }

    /// Runs a read under the deadline; at the deadline the future is dropped, which stops a
    /// log walk at its next commit (blame and diff finish their current step on the blocking
    /// pool and their answer is discarded).
    async fn deadline<T>(&self, what: &str, fut: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::time::timeout(self.limits().deadline, fut)
            .await
            .map_err(|_| timeout_error(what, self.limits()))?
    }

    /// Runs a write under the deadline. The write runs in its own task, which keeps the
    /// repository's exclusive lock until the engine has finished: an engine call on the
    /// blocking pool cannot be interrupted halfway, and releasing the lock early would let
    /// another write interleave. The caller gets `Timeout` at the deadline; the outcome is then
    /// unknown, and a retry with the same expected tip is safe (compare-and-swap).
    async fn deadline_write<T: Send + 'static>(
        &self,
        what: &'static str,
        fut: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        let task = tokio::spawn(async move {
            let out = fut.await;
            if let Err(e) = &out {
                tracing::debug!(op = what, error = %e, "write finished with an error");
            }
            out
        });
        match tokio::time::timeout(self.limits().deadline, task).await {
            Ok(Ok(out)) => out,
            Ok(Err(join)) => Err(Error::internal(format!("{what} task failed: {join}"))),
            Err(_) => Err(timeout_error(what, self.limits())),
        }
    }

    async fn rules(&self, repo: &RepoName, name: &RefName) -> Result<Effective> {
        Ok(self.inner.protections.get(repo).await?.for_ref(name))
    }

    /// Checks that commits new in `from..to` (all of `to`'s history when `from` is `None`,
    /// then only `to` itself) carry signatures.
    async fn check_signed(
        &self,
        e: &dyn GitBackend,
        repo: &RepoName,
        name: &RefName,
        from: Option<Oid>,
        to: Oid,
    ) -> Result<()> {
        let commits = match from {
            Some(from) => {
                let query = LogQuery {
                    limit: MAX_SIGNED_CHECK + 1,
                    ..LogQuery::of(Rev::from(to))
                };
                let query = LogQuery {
                    range: RevRange::TwoDot(Rev::from(from), Rev::from(to)),
                    ..query
                };
                collect_log(e, repo, query).await?
            }
            None => vec![e.get_commit(repo, &Rev::from(to)).await?],
        };
        if commits.len() > MAX_SIGNED_CHECK {
            return Err(denied(name, "too many new commits to check for signatures"));
        }
        if let Some(c) = commits.iter().find(|c| c.signature.is_none()) {
            return Err(denied(
                name,
                &format!("signed commits are required and {} is not signed", c.oid),
            ));
        }
        Ok(())
    }

    /// Checks one ref move from `current` to `new` (`None`: deletion) against the rules.
    async fn check_move(
        &self,
        e: &dyn GitBackend,
        repo: &RepoName,
        name: &RefName,
        rules: Effective,
        current: Option<Oid>,
        new: Option<Oid>,
    ) -> Result<()> {
        if !rules.any() || current == new {
            return Ok(());
        }
        match (current, new) {
            (Some(_), None) if rules.no_deletion => Err(denied(name, "deletion is not allowed")),
            (Some(cur), Some(new)) if rules.no_force_push => {
                let forward = e
                    .is_ancestor(repo, &Rev::from(cur), &Rev::from(new))
                    .await
                    .unwrap_or(false);
                if !forward {
                    return Err(denied(
                        name,
                        &format!("{new} does not descend from {cur} (force update)"),
                    ));
                }
                if rules.require_signed_commits {
                    self.check_signed(e, repo, name, Some(cur), new).await?;
                }
                Ok(())
            }
            (cur, Some(new)) if rules.require_signed_commits => {
                self.check_signed(e, repo, name, cur, new).await
            }
            _ => Ok(()),
        }
    }

    fn publish(&self, repo: &RepoName, name: &RefName, old: Option<Oid>, new: Option<Oid>) {
        self.inner.events.publish(repo, name, old, new);
    }

    fn publish_diff(&self, repo: &RepoName, before: &[Ref], after: &[Ref]) {
        for b in before {
            let new = after.iter().find(|a| a.name == b.name).map(|a| a.target);
            self.publish(repo, &b.name, Some(b.target), new);
        }
        for a in after {
            if !before.iter().any(|b| b.name == a.name) {
                self.publish(repo, &a.name, None, Some(a.target));
            }
        }
    }

    /// Refuses an operation that would move or delete refs protected against it wholesale.
    async fn refuse_if_protected(
        &self,
        e: &dyn GitBackend,
        repo: &RepoName,
        what: &str,
    ) -> Result<Vec<Ref>> {
        let refs = all_refs(e, repo).await?;
        let rules = self.inner.protections.get(repo).await?;
        if let Some(r) = refs.iter().find(|r| {
            let eff = rules.for_ref(&r.name);
            eff.no_deletion || eff.no_force_push
        }) {
            return Err(denied(
                &r.name,
                &format!("{what} could delete or rewrite it; remove the protection first"),
            ));
        }
        Ok(refs)
    }

    // --- Repositories ---

    /// Creates a repository: empty, a bare clone or a mirror. Needs `admin` on the name.
    pub async fn create_repo(
        &self,
        who: &Principal,
        repo: &RepoName,
        source: RepoSource,
    ) -> Result<RepoInfo> {
        who.require(Scope::Admin, repo)?;
        // Check the source before taking the lock: resolution may be slow.
        let remote = match &source {
            RepoSource::Empty(_) => None,
            RepoSource::Remote { url, mirror } => {
                let url = check_remote(
                    url,
                    self.inner.config.allow_local_clone,
                    &self.inner.resolver,
                )
                .await?;
                Some(CloneOptions {
                    url,
                    mirror: *mirror,
                })
            }
        };
        let (_guard, e) = self.exclusive(who, repo, Scope::Admin).await?;
        let info = match (source, remote) {
            (_, Some(opts)) => {
                let info = self.deadline("clone", e.clone_repo(repo, opts)).await?;
                let after = all_refs(&*e, repo).await?;
                self.publish_diff(repo, &[], &after);
                info
            }
            (RepoSource::Empty(opts), None) => e.init_repo(repo, opts).await?,
            (RepoSource::Remote { .. }, None) => {
                return Err(Error::internal("remote source without clone options"));
            }
        };
        // A repository of the same name deleted earlier may have left rules behind.
        self.inner
            .protections
            .put(repo, Protections::default())
            .await?;
        Ok(info)
    }

    /// Lists the repositories the caller may read, sorted by name.
    pub async fn list_repos(&self, who: &Principal, page: PageRequest) -> Result<Page<RepoInfo>> {
        let dir = self.inner.layout.repos_dir();
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
        names.retain(|n| who.allows(Scope::Read, n.as_str()));
        names.sort();
        let after = match &page.cursor {
            Some(c) => Some(decode_cursor(c)?),
            None => None,
        };
        let limit = page.effective_limit();
        let e = self.engine();
        let mut items = Vec::new();
        let mut more = false;
        for name in names
            .iter()
            .filter(|n| after.as_deref().is_none_or(|a| n.as_str() > a))
        {
            if items.len() == limit {
                more = true;
                break;
            }
            match e.repo_info(name).await {
                Ok(info) => items.push(info),
                // Deleted between the listing and now.
                Err(err) if err.kind() == ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
        let next_cursor = match (more, items.last()) {
            (true, Some(last)) => Some(encode_cursor(last.name.as_str())),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }

    /// Facts about a repository.
    pub async fn repo_info(&self, who: &Principal, repo: &RepoName) -> Result<RepoInfo> {
        let (_g, e) = self.shared(who, repo).await?;
        e.repo_info(repo).await
    }

    /// Deletes a repository; refused while protection rules against deletion or force cover
    /// any of its refs.
    pub async fn delete_repo(&self, who: &Principal, repo: &RepoName) -> Result<()> {
        let (_g, e) = self.exclusive(who, repo, Scope::Admin).await?;
        let before = self
            .refuse_if_protected(&*e, repo, "deleting the repository")
            .await?;
        e.delete_repo(repo).await?;
        self.inner
            .protections
            .put(repo, Protections::default())
            .await?;
        self.publish_diff(repo, &before, &[]);
        Ok(())
    }

    /// Fetches a mirror again with pruning; refused while protection rules cover its refs
    /// (the remote decides where they go).
    pub async fn sync_mirror(&self, who: &Principal, repo: &RepoName) -> Result<RepoInfo> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        let before = self
            .refuse_if_protected(&*e, repo, "syncing the mirror")
            .await?;
        let info = self.deadline("mirror sync", e.sync_mirror(repo)).await?;
        let after = all_refs(&*e, repo).await?;
        self.publish_diff(repo, &before, &after);
        Ok(info)
    }

    /// Packs and prunes (`git gc`), under the deadline. Needs `admin`.
    pub async fn gc(&self, who: &Principal, repo: &RepoName) -> Result<GcOutcome> {
        who.require(Scope::Admin, repo)?;
        let (svc, who, repo) = (self.clone(), who.clone(), repo.clone());
        self.deadline_write("gc", async move {
            let (_g, e) = svc.exclusive(&who, &repo, Scope::Admin).await?;
            e.gc(&repo).await
        })
        .await
    }

    /// Reads an allow-listed config key.
    pub async fn config_get(
        &self,
        who: &Principal,
        repo: &RepoName,
        key: &ConfigKey,
    ) -> Result<Option<String>> {
        let (_g, e) = self.shared(who, repo).await?;
        e.config_get(repo, key).await
    }

    /// Sets an allow-listed config key. Needs `admin`.
    pub async fn config_set(
        &self,
        who: &Principal,
        repo: &RepoName,
        key: &ConfigKey,
        value: &str,
    ) -> Result<()> {
        names::check_config_value(value)?;
        let (_g, e) = self.exclusive(who, repo, Scope::Admin).await?;
        e.config_set(repo, key, value).await
    }

    /// Lists the allow-listed keys set in the repository.
    pub async fn config_list(&self, who: &Principal, repo: &RepoName) -> Result<Vec<ConfigEntry>> {
        let (_g, e) = self.shared(who, repo).await?;
        e.config_list(repo).await
    }

    // --- Protection ---

    /// The protection rules of a repository.
    pub async fn protections(&self, who: &Principal, repo: &RepoName) -> Result<Protections> {
        let (_g, e) = self.shared(who, repo).await?;
        e.repo_info(repo).await?;
        Ok((*self.inner.protections.get(repo).await?).clone())
    }

    /// Adds a rule, or replaces the rule with the same pattern. Needs `admin`.
    pub async fn protect(
        &self,
        who: &Principal,
        repo: &RepoName,
        rule: ProtectionRule,
    ) -> Result<Protections> {
        let (_g, e) = self.exclusive(who, repo, Scope::Admin).await?;
        e.repo_info(repo).await?;
        let mut p = (*self.inner.protections.get(repo).await?).clone();
        p.rules.retain(|r| r.pattern != rule.pattern);
        p.rules.push(rule);
        p.rules
            .sort_by(|a, b| a.pattern.as_str().cmp(b.pattern.as_str()));
        self.inner.protections.put(repo, p.clone()).await?;
        Ok(p)
    }

    /// Removes the rule with this pattern (`NotFound` when there is none). Needs `admin`.
    pub async fn unprotect(
        &self,
        who: &Principal,
        repo: &RepoName,
        pattern: &RefPattern,
    ) -> Result<Protections> {
        let (_g, e) = self.exclusive(who, repo, Scope::Admin).await?;
        e.repo_info(repo).await?;
        let mut p = (*self.inner.protections.get(repo).await?).clone();
        let before = p.rules.len();
        p.rules.retain(|r| &r.pattern != pattern);
        if p.rules.len() == before {
            return Err(Error::not_found(format!(
                "no protection rule for {:?}",
                pattern.as_str()
            )));
        }
        self.inner.protections.put(repo, p.clone()).await?;
        Ok(p)
    }

    // --- Refs ---

    /// Lists refs.
    pub async fn list_refs(
        &self,
        who: &Principal,
        repo: &RepoName,
        query: ListRefs,
    ) -> Result<Page<Ref>> {
        let (_g, e) = self.shared(who, repo).await?;
        e.list_refs(repo, query).await
    }

    /// One ref.
    pub async fn get_ref(&self, who: &Principal, repo: &RepoName, name: &RefName) -> Result<Ref> {
        let (_g, e) = self.shared(who, repo).await?;
        e.get_ref(repo, name).await
    }

    /// Resolves a revision.
    pub async fn resolve(&self, who: &Principal, repo: &RepoName, rev: &Rev) -> Result<Oid> {
        let (_g, e) = self.shared(who, repo).await?;
        e.resolve(repo, rev).await
    }

    /// Creates a branch.
    pub async fn create_branch(
        &self,
        who: &Principal,
        repo: &RepoName,
        name: &RefName,
        target: &Rev,
    ) -> Result<Ref> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        let rules = self.rules(repo, name).await?;
        if rules.require_signed_commits {
            let oid = e.resolve(repo, target).await?;
            self.check_signed(&*e, repo, name, None, oid).await?;
        }
        let r = e.create_branch(repo, name, target).await?;
        self.publish(repo, &r.name, None, Some(r.target));
        Ok(r)
    }

    /// Creates a tag.
    pub async fn create_tag(
        &self,
        who: &Principal,
        repo: &RepoName,
        tag: CreateTag,
    ) -> Result<Ref> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        let rules = self.rules(repo, &tag.name).await?;
        if rules.require_signed_commits {
            let oid = e.resolve(repo, &tag.target).await?;
            self.check_signed(&*e, repo, &tag.name, None, oid).await?;
        }
        let r = e.create_tag(repo, tag).await?;
        self.publish(repo, &r.name, None, Some(r.target));
        Ok(r)
    }

    /// Deletes a ref (optionally only at `expected`).
    pub async fn delete_ref(
        &self,
        who: &Principal,
        repo: &RepoName,
        name: &RefName,
        expected: Option<Oid>,
    ) -> Result<()> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        let old = current(&*e, repo, name).await?;
        let rules = self.rules(repo, name).await?;
        self.check_move(&*e, repo, name, rules, old, None).await?;
        e.delete_ref(repo, name, expected).await?;
        self.publish(repo, name, old, None);
        Ok(())
    }

    /// Renames a branch; renaming a branch protected against deletion is refused.
    pub async fn rename_branch(
        &self,
        who: &Principal,
        repo: &RepoName,
        from: &RefName,
        to: &RefName,
    ) -> Result<Ref> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        let old = current(&*e, repo, from).await?;
        let from_rules = self.rules(repo, from).await?;
        self.check_move(&*e, repo, from, from_rules, old, None)
            .await?;
        let to_rules = self.rules(repo, to).await?;
        if let Some(oid) = old {
            self.check_move(&*e, repo, to, to_rules, None, Some(oid))
                .await?;
        }
        let r = e.rename_branch(repo, from, to).await?;
        self.publish(repo, from, old, None);
        self.publish(repo, &r.name, None, Some(r.target));
        Ok(r)
    }

    /// Applies ref updates atomically, each a compare-and-swap; every update is checked
    /// against the protection rules first (a move to a non-descendant is a force update).
    pub async fn update_refs(
        &self,
        who: &Principal,
        repo: &RepoName,
        updates: Vec<RefUpdate>,
    ) -> Result<()> {
        if updates.is_empty() {
            return Err(Error::invalid("no ref update given"));
        }
        if updates.len() > PageRequest::MAX_LIMIT {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!("{} ref updates is over the limit of 1000", updates.len()),
            ));
        }
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        self.apply_ref_updates(&*e, repo, updates).await
    }

    /// Points a ref at a revision, resolved under the same lock as the update, optionally as a
    /// compare-and-swap (zero: the ref must not exist), and returns the ref.
    pub async fn point_ref(
        &self,
        who: &Principal,
        repo: &RepoName,
        name: &RefName,
        target: &Rev,
        expected_old: Option<Oid>,
    ) -> Result<Ref> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        let new = e.resolve(repo, target).await?;
        let update = RefUpdate {
            name: name.clone(),
            new,
            expected_old,
        };
        self.apply_ref_updates(&*e, repo, vec![update]).await?;
        e.get_ref(repo, name).await
    }

    /// Checks protection for each update, applies them atomically and publishes the events;
    /// the caller holds the repository's exclusive lock.
    async fn apply_ref_updates(
        &self,
        e: &dyn GitBackend,
        repo: &RepoName,
        updates: Vec<RefUpdate>,
    ) -> Result<()> {
        let mut olds = Vec::with_capacity(updates.len());
        for u in &updates {
            let old = current(e, repo, &u.name).await?;
            let new = (!u.new.is_zero()).then_some(u.new);
            let rules = self.rules(repo, &u.name).await?;
            self.check_move(e, repo, &u.name, rules, old, new).await?;
            olds.push(old);
        }
        e.update_refs(repo, updates.clone()).await?;
        for (u, old) in updates.iter().zip(olds) {
            self.publish(repo, &u.name, old, (!u.new.is_zero()).then_some(u.new));
        }
        Ok(())
    }

    // --- Commits ---

    /// One commit.
    pub async fn get_commit(&self, who: &Principal, repo: &RepoName, rev: &Rev) -> Result<Commit> {
        let (_g, e) = self.shared(who, repo).await?;
        e.get_commit(repo, rev).await
    }

    /// Commits by id, `None` where an id is not a commit here.
    pub async fn get_commits(
        &self,
        who: &Principal,
        repo: &RepoName,
        oids: &[Oid],
    ) -> Result<Vec<Option<Commit>>> {
        if oids.len() > PageRequest::MAX_LIMIT {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "{} commits in one batch is over the limit of 1000",
                    oids.len()
                ),
            ));
        }
        let (_g, e) = self.shared(who, repo).await?;
        e.get_commits(repo, oids).await
    }

    /// A page of history. The limit is capped at [`Limits::max_log_page`] plus one (so a door
    /// can ask for one more than a page to learn whether another follows; 0 asks for the cap);
    /// a log restricted to a path runs under the deadline.
    pub async fn log(
        &self,
        who: &Principal,
        repo: &RepoName,
        mut query: LogQuery,
    ) -> Result<Vec<Commit>> {
        let cap = self.limits().max_log_page.saturating_add(1);
        if query.limit == 0 || query.limit > cap {
            query.limit = cap;
        }
        let (_g, e) = self.shared(who, repo).await?;
        let with_path = query.path.is_some();
        let walk = async { e.log(repo, query).await?.try_collect::<Vec<_>>().await };
        if with_path {
            self.deadline("log with a path", walk).await
        } else {
            walk.await
        }
    }

    /// The bytes a commit of `req` would hash, to be signed by the caller.
    pub async fn commit_payload(
        &self,
        who: &Principal,
        repo: &RepoName,
        req: CommitFiles,
    ) -> Result<String> {
        check_actions(&req.actions, self.limits())?;
        let (_g, e) = self.shared(who, repo).await?;
        e.commit_payload(repo, req).await
    }

    /// Commits a list of file actions onto a branch (compare-and-swap on its tip).
    pub async fn commit_files(
        &self,
        who: &Principal,
        repo: &RepoName,
        req: CommitFiles,
    ) -> Result<Commit> {
        check_actions(&req.actions, self.limits())?;
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        let rules = self.rules(repo, &req.branch).await?;
        if rules.require_signed_commits && req.signing == Signing::None {
            return Err(denied(&req.branch, "signed commits are required"));
        }
        let branch = req.branch.clone();
        let old = current(&*e, repo, &branch).await?;
        let c = e.commit_files(repo, req).await?;
        self.publish(repo, &branch, old, Some(c.oid));
        Ok(c)
    }

    /// Commits a workspace's index onto its branch.
    pub async fn commit_index(
        &self,
        who: &Principal,
        repo: &RepoName,
        req: CommitIndex,
    ) -> Result<Commit> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        let ws = e.workspace(repo, &req.workspace).await?;
        let rules = self.rules(repo, &ws.branch).await?;
        if req.amend && rules.no_force_push {
            return Err(denied(&ws.branch, "amending rewrites it (force update)"));
        }
        if rules.require_signed_commits && req.signing == Signing::None {
            return Err(denied(&ws.branch, "signed commits are required"));
        }
        let old = current(&*e, repo, &ws.branch).await?;
        let c = e.commit_index(repo, req).await?;
        self.publish(repo, &ws.branch, old, Some(c.oid));
        Ok(c)
    }

    async fn pick(
        &self,
        who: &Principal,
        repo: &RepoName,
        req: PickCommit,
        revert: bool,
    ) -> Result<Commit> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        let rules = self.rules(repo, &req.branch).await?;
        if rules.require_signed_commits {
            return Err(denied(&req.branch, "signed commits are required"));
        }
        let branch = req.branch.clone();
        let old = current(&*e, repo, &branch).await?;
        let what = if revert { "revert" } else { "cherry-pick" };
        let c = self
            .deadline(what, async {
                if revert {
                    e.revert(repo, req).await
                } else {
                    e.cherry_pick(repo, req).await
                }
            })
            .await?;
        self.publish(repo, &branch, old, Some(c.oid));
        Ok(c)
    }

    /// Cherry-picks a commit onto a branch.
    pub async fn cherry_pick(
        &self,
        who: &Principal,
        repo: &RepoName,
        req: PickCommit,
    ) -> Result<Commit> {
        self.pick(who, repo, req, false).await
    }

    /// Reverts a commit on a branch.
    pub async fn revert(
        &self,
        who: &Principal,
        repo: &RepoName,
        req: PickCommit,
    ) -> Result<Commit> {
        self.pick(who, repo, req, true).await
    }

    /// Rewrites a branch's tip commit: a force update for the protection rules.
    pub async fn amend(&self, who: &Principal, repo: &RepoName, req: Amend) -> Result<Commit> {
        check_actions(&req.actions, self.limits())?;
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        let rules = self.rules(repo, &req.branch).await?;
        if rules.no_force_push {
            return Err(denied(&req.branch, "amending rewrites it (force update)"));
        }
        if rules.require_signed_commits {
            return Err(denied(&req.branch, "signed commits are required"));
        }
        let branch = req.branch.clone();
        let old = current(&*e, repo, &branch).await?;
        let c = e.amend(repo, req).await?;
        self.publish(repo, &branch, old, Some(c.oid));
        Ok(c)
    }

    /// Resets a branch or a workspace (which moves the workspace's branch). A move to a
    /// commit that does not descend from the tip is a force update.
    pub async fn reset(&self, who: &Principal, repo: &RepoName, req: Reset) -> Result<Oid> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        let branch = match &req.target {
            ResetTarget::Branch { branch, .. } => branch.clone(),
            ResetTarget::Workspace { workspace } => e.workspace(repo, workspace).await?.branch,
        };
        let old = current(&*e, repo, &branch).await?;
        let to = e.resolve(repo, &req.to).await?;
        let rules = self.rules(repo, &branch).await?;
        self.check_move(&*e, repo, &branch, rules, old, Some(to))
            .await?;
        let out = e.reset(repo, req).await?;
        let new = current(&*e, repo, &branch).await?;
        self.publish(repo, &branch, old, new);
        Ok(out)
    }

    // --- Trees and files ---

    /// Lists a directory of a tree-ish.
    pub async fn list_tree(
        &self,
        who: &Principal,
        repo: &RepoName,
        query: ListTree,
    ) -> Result<Vec<TreeEntry>> {
        let (_g, e) = self.shared(who, repo).await?;
        e.list_tree(repo, query).await
    }

    /// Reads a blob whole.
    pub async fn read_blob(&self, who: &Principal, repo: &RepoName, blob: BlobRef) -> Result<Blob> {
        let (_g, e) = self.shared(who, repo).await?;
        e.read_blob(repo, blob).await
    }

    /// Opens a blob as a stream of chunks (objects are immutable, so the stream outlives the
    /// lock safely).
    pub async fn stream_blob(
        &self,
        who: &Principal,
        repo: &RepoName,
        blob: BlobRef,
    ) -> Result<BlobStream> {
        let (_g, e) = self.shared(who, repo).await?;
        e.stream_blob(repo, blob).await
    }

    /// Writes a file into a workspace's work tree.
    pub async fn put_file(
        &self,
        who: &Principal,
        repo: &RepoName,
        ws: &WorkspaceName,
        path: &RepoPath,
        content: bytes::Bytes,
        mode: Option<FileMode>,
    ) -> Result<()> {
        let max = self.limits().max_blob_bytes;
        if content.len() > max {
            return Err(too_large("file content", content.len(), max));
        }
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        e.put_file(repo, ws, path, content, mode).await
    }

    /// Removes a file from a workspace's work tree.
    pub async fn delete_file(
        &self,
        who: &Principal,
        repo: &RepoName,
        ws: &WorkspaceName,
        path: &RepoPath,
    ) -> Result<()> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        e.delete_file(repo, ws, path).await
    }

    /// Moves a file in a workspace's work tree.
    pub async fn move_file(
        &self,
        who: &Principal,
        repo: &RepoName,
        ws: &WorkspaceName,
        from: &RepoPath,
        to: &RepoPath,
    ) -> Result<()> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        e.move_file(repo, ws, from, to).await
    }

    // --- Workspaces ---

    /// Creates a workspace.
    pub async fn create_workspace(
        &self,
        who: &Principal,
        repo: &RepoName,
        ws: &WorkspaceName,
        branch: Option<RefName>,
    ) -> Result<WorkspaceInfo> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        e.create_workspace(repo, ws, branch).await
    }

    /// Lists workspaces.
    pub async fn list_workspaces(
        &self,
        who: &Principal,
        repo: &RepoName,
    ) -> Result<Vec<WorkspaceInfo>> {
        let (_g, e) = self.shared(who, repo).await?;
        e.list_workspaces(repo).await
    }

    /// One workspace (`default` is created on first use).
    pub async fn workspace(
        &self,
        who: &Principal,
        repo: &RepoName,
        ws: &WorkspaceName,
    ) -> Result<WorkspaceInfo> {
        let (_g, e) = self.shared(who, repo).await?;
        e.workspace(repo, ws).await
    }

    /// Removes a workspace.
    pub async fn remove_workspace(
        &self,
        who: &Principal,
        repo: &RepoName,
        ws: &WorkspaceName,
    ) -> Result<()> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        e.remove_workspace(repo, ws).await
    }

    // --- Index ---

    /// The status of a workspace.
    pub async fn status(
        &self,
        who: &Principal,
        repo: &RepoName,
        ws: &WorkspaceName,
    ) -> Result<Vec<StatusEntry>> {
        let (_g, e) = self.shared(who, repo).await?;
        e.status(repo, ws).await
    }

    /// Stages a path.
    pub async fn stage(
        &self,
        who: &Principal,
        repo: &RepoName,
        ws: &WorkspaceName,
        path: &RepoPath,
    ) -> Result<()> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        e.stage(repo, ws, path).await
    }

    /// Unstages a path.
    pub async fn unstage(
        &self,
        who: &Principal,
        repo: &RepoName,
        ws: &WorkspaceName,
        path: &RepoPath,
    ) -> Result<()> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        e.unstage(repo, ws, path).await
    }

    /// Applies patch text to a workspace's index; with `path`, the patch must touch only that
    /// file (staging part of one path's change).
    pub async fn stage_patch(
        &self,
        who: &Principal,
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
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        e.stage_patch(repo, ws, patch).await
    }

    /// Discards a path's work-tree changes.
    pub async fn discard(
        &self,
        who: &Principal,
        repo: &RepoName,
        ws: &WorkspaceName,
        path: &RepoPath,
    ) -> Result<()> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        e.discard(repo, ws, path).await
    }

    // --- Stash ---

    /// The stash, newest first.
    pub async fn stash_list(
        &self,
        who: &Principal,
        repo: &RepoName,
        ws: &WorkspaceName,
    ) -> Result<Vec<StashEntry>> {
        let (_g, e) = self.shared(who, repo).await?;
        e.stash_list(repo, ws).await
    }

    fn stash_ref() -> Result<RefName> {
        RefName::new("refs/stash")
    }

    /// Stashes a workspace's changes.
    pub async fn stash_save(
        &self,
        who: &Principal,
        repo: &RepoName,
        req: StashSave,
    ) -> Result<StashEntry> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        let stash = Self::stash_ref()?;
        let old = current(&*e, repo, &stash).await?;
        let entry = e.stash_save(repo, req).await?;
        self.publish(repo, &stash, old, Some(entry.oid));
        Ok(entry)
    }

    /// Applies a stash entry.
    pub async fn stash_apply(
        &self,
        who: &Principal,
        repo: &RepoName,
        ws: &WorkspaceName,
        index: usize,
    ) -> Result<()> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        e.stash_apply(repo, ws, index).await
    }

    /// Drops a stash entry.
    pub async fn stash_drop(
        &self,
        who: &Principal,
        repo: &RepoName,
        ws: &WorkspaceName,
        index: usize,
    ) -> Result<()> {
        let (_g, e) = self.exclusive(who, repo, Scope::Write).await?;
        let stash = Self::stash_ref()?;
        let old = current(&*e, repo, &stash).await?;
        e.stash_drop(repo, ws, index).await?;
        let new = current(&*e, repo, &stash).await?;
        self.publish(repo, &stash, old, new);
        Ok(())
    }

    // --- Diff, blame ---

    /// A structured diff, under the deadline.
    pub async fn diff(&self, who: &Principal, repo: &RepoName, req: DiffRequest) -> Result<Diff> {
        let (_g, e) = self.shared(who, repo).await?;
        self.deadline("diff", e.diff(repo, req)).await
    }

    /// The diff an id names, under the deadline.
    pub async fn diff_by_id(&self, who: &Principal, repo: &RepoName, id: &DiffId) -> Result<Diff> {
        id.decode()?;
        let (_g, e) = self.shared(who, repo).await?;
        self.deadline("diff", e.diff_by_id(repo, id)).await
    }

    /// Blame, under the deadline.
    pub async fn blame(
        &self,
        who: &Principal,
        repo: &RepoName,
        query: BlameQuery,
    ) -> Result<Vec<BlameHunk>> {
        let (_g, e) = self.shared(who, repo).await?;
        self.deadline("blame", e.blame(repo, query)).await
    }

    // --- Merge and rebase ---

    /// Merges a revision into a branch, under the deadline.
    pub async fn merge(
        &self,
        who: &Principal,
        repo: &RepoName,
        req: Merge,
    ) -> Result<MergeOutcome> {
        who.require(Scope::Write, repo)?;
        let (svc, who, repo) = (self.clone(), who.clone(), repo.clone());
        self.deadline_write("merge", async move {
            let (_g, e) = svc.exclusive(&who, &repo, Scope::Write).await?;
            let rules = svc.rules(&repo, &req.target).await?;
            let old = current(&*e, &repo, &req.target).await?;
            if rules.require_signed_commits {
                // Only a fast-forward adds no commit of ours; its commits must be signed.
                let source = e.resolve(&repo, &req.source).await?;
                let ff = match old {
                    Some(tip) => {
                        e.is_ancestor(&repo, &Rev::from(tip), &Rev::from(source))
                            .await?
                    }
                    None => true,
                };
                if !ff || req.fast_forward == FastForward::NoFf {
                    return Err(denied(
                        &req.target,
                        "signed commits are required and a merge commit would not be signed",
                    ));
                }
                svc.check_signed(&*e, &repo, &req.target, old, source)
                    .await?;
            }
            let target = req.target.clone();
            let out = e.merge(&repo, req).await?;
            svc.publish(&repo, &target, old, Some(out.tip));
            Ok(out)
        })
        .await
    }

    /// Rebases a branch: a rewrite, so a force update for the protection rules. Under the
    /// deadline.
    pub async fn rebase(
        &self,
        who: &Principal,
        repo: &RepoName,
        req: Rebase,
    ) -> Result<RebaseOutcome> {
        who.require(Scope::Write, repo)?;
        let (svc, who, repo) = (self.clone(), who.clone(), repo.clone());
        self.deadline_write("rebase", async move {
            let (_g, e) = svc.exclusive(&who, &repo, Scope::Write).await?;
            let rules = svc.rules(&repo, &req.branch).await?;
            if rules.no_force_push {
                return Err(denied(&req.branch, "rebasing rewrites it (force update)"));
            }
            if rules.require_signed_commits {
                return Err(denied(&req.branch, "signed commits are required"));
            }
            let branch = req.branch.clone();
            let old = current(&*e, &repo, &branch).await?;
            let out = e.rebase(&repo, req).await?;
            svc.publish(&repo, &branch, old, Some(out.tip));
            Ok(out)
        })
        .await
    }

    /// The merge base of two commits.
    pub async fn merge_base(
        &self,
        who: &Principal,
        repo: &RepoName,
        a: &Rev,
        b: &Rev,
    ) -> Result<Option<Oid>> {
        let (_g, e) = self.shared(who, repo).await?;
        e.merge_base(repo, a, b).await
    }

    /// Whether `ancestor` is reachable from `descendant`.
    pub async fn is_ancestor(
        &self,
        who: &Principal,
        repo: &RepoName,
        ancestor: &Rev,
        descendant: &Rev,
    ) -> Result<bool> {
        let (_g, e) = self.shared(who, repo).await?;
        e.is_ancestor(repo, ancestor, descendant).await
    }

    /// Ahead and behind counts.
    pub async fn ahead_behind(
        &self,
        who: &Principal,
        repo: &RepoName,
        a: &Rev,
        b: &Rev,
    ) -> Result<AheadBehind> {
        let (_g, e) = self.shared(who, repo).await?;
        e.ahead_behind(repo, a, b).await
    }
}

/// An opaque cursor over a name.
pub fn encode_cursor(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s.as_bytes())
}

/// Decodes a cursor made by [`encode_cursor`]; anything else is `InvalidArgument`.
pub fn decode_cursor(c: &str) -> Result<String> {
    let bad = || Error::invalid(format!("cursor {c:?} is not valid"));
    if c.len() > 2048 {
        return Err(bad());
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| bad())?;
    String::from_utf8(bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn patch_paths_are_checked() {
        let ok = "diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n";
        assert!(patch_touches_only(ok, "f"));
        assert!(!patch_touches_only(ok, "g"));
        let two = format!("{ok}diff --git a/g b/g\n--- a/g\n+++ b/g\n");
        assert!(!patch_touches_only(&two, "f"));
    }

    fn service(deadline: Duration) -> (RepoService, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = ServiceConfig::new(dir.path());
        config.limits.deadline = deadline;
        let switch = Arc::new(EngineSwitch::new(
            Arc::new(gitapi_git2::Git2Backend::new(gitapi_git2::Config::new(
                dir.path(),
            ))),
            Arc::new(gitapi_shell::ShellBackend::new(gitapi_shell::Config::new(
                dir.path(),
            ))),
            gitapi_switch::EngineKind::Libgit2,
            gitapi_switch::CanaryConfig::default(),
        ));
        (RepoService::new(config, switch), dir)
    }

    // Work that never finishes is cut off at the deadline with `Timeout`; no clock is read by
    // the test, the deadline is only the trigger.
    #[tokio::test]
    async fn work_past_the_deadline_answers_timeout() {
        let (svc, _dir) = service(Duration::from_millis(1));
        let read = svc
            .deadline("blame", futures::future::pending::<Result<()>>())
            .await;
        assert_eq!(read.err().map(|e| e.kind()), Some(ErrorKind::Timeout));
        let write = svc
            .deadline_write("merge", futures::future::pending::<Result<()>>())
            .await;
        assert_eq!(write.err().map(|e| e.kind()), Some(ErrorKind::Timeout));
        let done = svc.deadline("diff", async { Ok(7) }).await;
        assert_eq!(done.ok(), Some(7));
    }
}
