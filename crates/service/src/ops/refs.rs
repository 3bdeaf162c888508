//! Refs: list, get, resolve, create branches and tags, delete, rename, and compare-and-swap
//! updates, each move checked against the protection rules.

use gitapi_core::*;

use crate::auth::Scope;
use crate::context::CallContext;
use crate::funnel::Op;
use crate::policy::check_batch;
use crate::service::RepoService;

impl RepoService {
    /// Lists refs, a page at a time.
    pub async fn list_refs(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        query: ListRefs,
    ) -> Result<Page<Ref>> {
        if let Some(p) = &query.prefix {
            check_ref_prefix(p)?;
        }
        let op = self.read(cx, "list_refs", repo).await?;
        let out = self
            .cached_at_version(
                &op,
                repo,
                &query,
                op.run(op.e.list_refs(repo, query.clone())),
            )
            .await;
        op.finish(out)
    }

    /// One ref.
    pub async fn get_ref(&self, cx: &CallContext, repo: &RepoName, name: &RefName) -> Result<Ref> {
        let op = self.read(cx, "get_ref", repo).await?;
        let out = self
            .cached_at_version(&op, repo, name, op.run(op.e.get_ref(repo, name)))
            .await;
        op.finish(out)
    }

    /// A tag: its ref and, for an annotated tag, the tag object (tagger, message, signature).
    /// `InvalidArgument` for a name outside `refs/tags/`.
    pub async fn get_tag(&self, cx: &CallContext, repo: &RepoName, name: &RefName) -> Result<Tag> {
        if !name.is_tag() {
            return Err(Error::invalid(format!(
                "ref {:?} is not a tag",
                name.as_str()
            )));
        }
        let op = self.read(cx, "get_tag", repo).await?;
        let out = async {
            let r = op.run(op.e.get_ref(repo, name)).await?;
            let object = match r.peeled {
                Some(_) => Some(op.run(op.e.read_tag(repo, r.target)).await?),
                None => None,
            };
            Ok(Tag {
                name: r.name,
                target: r.target,
                peeled: r.peeled,
                object,
            })
        }
        .await;
        op.finish(out)
    }

    /// Resolves a revision.
    pub async fn resolve(&self, cx: &CallContext, repo: &RepoName, rev: &Rev) -> Result<Oid> {
        let op = self.read(cx, "resolve", repo).await?;
        let out = op.run(op.e.resolve(repo, rev)).await;
        op.finish(out)
    }

    /// Creates a branch.
    pub async fn create_branch(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        name: &RefName,
        target: &Rev,
    ) -> Result<Ref> {
        crate::policy::check_writable(name, true)?;
        let op = self.write(cx, "create_branch", Scope::Write, repo).await?;
        op.check_no_df_conflict(repo, name).await?;
        if self.rules(repo, name).await?.require_signed_commits {
            let oid = op.run(op.e.resolve(repo, target)).await?;
            self.check_signed(&op, repo, name, None, oid).await?;
        }
        let r = op.commit(op.e.create_branch(repo, name, target)).await?;
        op.moved(&r.name, None, Some(r.target));
        op.finish(Ok(r))
    }

    /// Creates a tag.
    pub async fn create_tag(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        tag: CreateTag,
    ) -> Result<Ref> {
        crate::policy::check_writable(&tag.name, true)?;
        let op = self.write(cx, "create_tag", Scope::Write, repo).await?;
        op.check_no_df_conflict(repo, &tag.name).await?;
        if self.rules(repo, &tag.name).await?.require_signed_commits {
            let oid = op.run(op.e.resolve(repo, &tag.target)).await?;
            self.check_signed(&op, repo, &tag.name, None, oid).await?;
        }
        let r = op.commit(op.e.create_tag(repo, tag)).await?;
        op.moved(&r.name, None, Some(r.target));
        op.finish(Ok(r))
    }

    /// Deletes a ref (optionally only at `expected`).
    pub async fn delete_ref(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        name: &RefName,
        expected: Option<Oid>,
    ) -> Result<()> {
        let op = self.write(cx, "delete_ref", Scope::Write, repo).await?;
        let old = op.current(repo, name).await?;
        self.check_move(&op, repo, name, old, None).await?;
        op.commit(op.e.delete_ref(repo, name, expected)).await?;
        op.moved(name, old, None);
        op.finish(Ok(()))
    }

    /// Renames a branch; renaming a branch protected against deletion is refused.
    pub async fn rename_branch(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        from: &RefName,
        to: &RefName,
    ) -> Result<Ref> {
        let op = self.write(cx, "rename_branch", Scope::Write, repo).await?;
        op.check_no_df_conflict(repo, to).await?;
        let old = op.current(repo, from).await?;
        self.check_move(&op, repo, from, old, None).await?;
        if let Some(oid) = old {
            self.check_move(&op, repo, to, None, Some(oid)).await?;
        }
        let r = op.commit(op.e.rename_branch(repo, from, to)).await?;
        op.moved(from, old, None);
        op.moved(&r.name, None, Some(r.target));
        op.finish(Ok(r))
    }

    /// Applies ref updates atomically, each a compare-and-swap; every update is checked
    /// against the protection rules first (a move to a non-descendant is a force update).
    pub async fn update_refs(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        updates: Vec<RefUpdate>,
    ) -> Result<()> {
        if updates.is_empty() {
            return Err(Error::invalid("no ref update given"));
        }
        check_batch("ref updates", updates.len())?;
        let op = self.write(cx, "update_refs", Scope::Write, repo).await?;
        let out = self.apply_ref_updates(&op, repo, updates).await;
        op.finish(out)
    }

    /// Points a ref at a revision, resolved under the same lock as the update, optionally as a
    /// compare-and-swap (zero: the ref must not exist), and returns the ref.
    pub async fn point_ref(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        name: &RefName,
        target: &Rev,
        expected_old: Option<Oid>,
    ) -> Result<Ref> {
        let op = self.write(cx, "point_ref", Scope::Write, repo).await?;
        let new = op.run(op.e.resolve(repo, target)).await?;
        let update = RefUpdate {
            name: name.clone(),
            new,
            expected_old,
        };
        self.apply_ref_updates(&op, repo, vec![update]).await?;
        let out = op.run(op.e.get_ref(repo, name)).await;
        op.finish(out)
    }

    /// Checks protection for each update, applies them atomically and publishes the events.
    async fn apply_ref_updates(
        &self,
        op: &Op,
        repo: &RepoName,
        updates: Vec<RefUpdate>,
    ) -> Result<()> {
        let mut olds = Vec::with_capacity(updates.len());
        for u in &updates {
            let old = op.current(repo, &u.name).await?;
            let new = (!u.new.is_zero()).then_some(u.new);
            self.check_move(op, repo, &u.name, old, new).await?;
            if old.is_none() && new.is_some() {
                op.check_no_df_conflict(repo, &u.name).await?;
            }
            olds.push(old);
        }
        op.commit(op.e.update_refs(repo, updates.clone())).await?;
        for (u, old) in updates.iter().zip(olds) {
            op.moved(&u.name, old, (!u.new.is_zero()).then_some(u.new));
        }
        Ok(())
    }
}

/// A ref listing prefix: under `refs/`, printable, bounded.
fn check_ref_prefix(p: &str) -> Result<()> {
    if !p.starts_with("refs/") || p.len() > 1024 || p.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(Error::invalid(format!(
            "prefix {p:?} is not a ref name prefix"
        )));
    }
    Ok(())
}
