//! The objects of the schema that need resolvers, each wrapping a core value: a field that
//! reaches further (a commit's parents, a tree entry's blob, a repository's refs) calls one
//! service method, or the commit loader.

use async_graphql::connection::{Connection, Edge};
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, InputObject, Object, OneofObject, Result, SimpleObject};
use base64::Engine as _;

use gitapi_core::{
    AheadBehind, BlameHunk, BlameQuery, Blob, BlobHeader, BlobRef, Commit, ConfigEntry, ConfigKey,
    Diff, DiffId, DiffOptions, DiffRequest, DiffSpec, DiffStats, Error, FileAction, FileDiff,
    FileMode, ListRefs, ListTree, LogQuery, ObjectKind, Oid, Page, PageRequest, Ref, RefKind,
    RefName, RepoInfo, RepoPath, Rev, RevRange, Signature, StashEntry, StatusEntry, Tag, TreeEntry,
    WorkspaceInfo, WorkspaceName, cursor,
};
use gitapi_service::{CallContext, ProtectionRule, Protections, RepoService, SwitchStatus};

use crate::caller::Caller;
use crate::error::Gql as _;
use crate::loader::CommitLoader;

/// The service and the authenticated call context of one resolver.
pub(crate) fn call<'a>(ctx: &Context<'a>) -> Result<(&'a RepoService, CallContext)> {
    let svc = ctx.data::<RepoService>()?;
    let caller = ctx.data::<Caller>()?;
    let cx = caller.context(svc).gql()?;
    Ok((svc, cx))
}

/// `HEAD`, the revision a read names when it names none.
pub(crate) fn head() -> Rev {
    Rev::new("HEAD").expect("HEAD is a valid revision")
}

/// A page request from Relay's `first` and `after`.
pub(crate) fn page(first: Option<i32>, after: Option<String>) -> Result<PageRequest> {
    let limit = match first {
        None => 0,
        Some(n) if n < 0 => {
            return Err(Error::invalid(format!("first {n} is negative"))).gql();
        }
        Some(n) => usize::try_from(n).unwrap_or(0).max(1),
    };
    Ok(PageRequest {
        limit,
        cursor: after,
    })
}

/// A connection over a key-paged service answer: each edge's cursor is the service's key
/// cursor of that item, so any edge's cursor continues after it.
fn keyed<T: async_graphql::OutputType, I>(
    page: Page<I>,
    after: bool,
    key: impl Fn(&I) -> String,
    node: impl Fn(I) -> T,
) -> Connection<String, T> {
    let mut conn = Connection::new(after, page.next_cursor.is_some());
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|i| Edge::new(cursor::encode_key(&key(&i)), node(i))),
    );
    conn
}

/// Loads commits by id through the request's loader, in the order asked.
pub(crate) async fn load_commits(
    ctx: &Context<'_>,
    repo: &gitapi_core::RepoName,
    oids: &[Oid],
) -> Result<Vec<CommitObj>> {
    let loader = ctx.data::<DataLoader<CommitLoader>>()?;
    let keys: Vec<_> = oids.iter().map(|o| (repo.clone(), *o)).collect();
    let mut found = loader.load_many(keys.iter().cloned()).await.gql()?;
    Ok(keys
        .iter()
        .filter_map(|k| found.remove(k))
        .map(|c| CommitObj::new(repo.clone(), c))
        .collect())
}

/// A repository: its settings, and every read of it as a field.
#[derive(Debug)]
pub(crate) struct Repository {
    pub(crate) info: RepoInfo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "camelCase")]
/// Which sides a diff compares (REST's `kind`).
pub(crate) enum DiffKind {
    /// Two tree-ishes (`from`, `to`).
    Commits,
    /// A tree-ish (`from`, the workspace base by default) vs the workspace's index.
    Index,
    /// A tree-ish (`from`, the workspace base by default) vs the workspace's work tree.
    TreeToWorktree,
    /// The workspace's index vs its work tree.
    Worktree,
}

#[Object]
impl Repository {
    /// The repository's name.
    async fn name(&self) -> &gitapi_core::RepoName {
        &self.info.name
    }

    /// The branch `HEAD` names (`None` when `HEAD` is detached).
    async fn default_branch(&self) -> Option<&RefName> {
        self.info.default_branch.as_ref()
    }

    /// Whether it has no commits yet.
    async fn empty(&self) -> bool {
        self.info.empty
    }

    /// Whether it is a mirror of a remote.
    async fn mirror(&self) -> bool {
        self.info.mirror
    }

    /// Every ref (under `prefix`), sorted by name.
    async fn refs(
        &self,
        ctx: &Context<'_>,
        prefix: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Ref>> {
        self.list_refs(ctx, RefKind::All, prefix, first, after)
            .await
    }

    /// The branches, sorted by name.
    async fn branches(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Ref>> {
        self.list_refs(ctx, RefKind::Branches, None, first, after)
            .await
    }

    /// The tags, sorted by name (annotated tags with `peeled`).
    async fn tags(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Ref>> {
        self.list_refs(ctx, RefKind::Tags, None, first, after).await
    }

    /// One ref by full name.
    #[graphql(name = "ref")]
    async fn get_ref(&self, ctx: &Context<'_>, name: RefName) -> Result<Ref> {
        let (svc, cx) = call(ctx)?;
        svc.get_ref(&cx, &self.info.name, &name).await.gql()
    }

    /// One tag by full name (`refs/tags/v1`), with its tag object when it is annotated
    /// (tagger, message, signature).
    async fn tag(&self, ctx: &Context<'_>, name: RefName) -> Result<Tag> {
        let (svc, cx) = call(ctx)?;
        svc.get_tag(&cx, &self.info.name, &name).await.gql()
    }

    /// The object a revision names: its id, and the commit when it is one.
    async fn object(&self, ctx: &Context<'_>, rev: Rev) -> Result<GitObject> {
        let (svc, cx) = call(ctx)?;
        let oid = svc.resolve(&cx, &self.info.name, &rev).await.gql()?;
        Ok(GitObject {
            repo: self.info.name.clone(),
            oid,
        })
    }

    /// One commit.
    async fn commit(&self, ctx: &Context<'_>, rev: Rev) -> Result<CommitObj> {
        let (svc, cx) = call(ctx)?;
        let c = svc.get_commit(&cx, &self.info.name, &rev).await.gql()?;
        Ok(CommitObj::new(self.info.name.clone(), c))
    }

    /// Commits by id in one batch, in the order asked (ids that are not commits are left out).
    async fn commits(&self, ctx: &Context<'_>, oids: Vec<Oid>) -> Result<Vec<CommitObj>> {
        let (svc, cx) = call(ctx)?;
        let found = svc.get_commits(&cx, &self.info.name, &oids).await.gql()?;
        Ok(found
            .into_iter()
            .flatten()
            .map(|c| CommitObj::new(self.info.name.clone(), c))
            .collect())
    }

    /// History in `git log` order: `rev` is a revision or a range (`A..B`, `A...B`).
    #[allow(clippy::too_many_arguments)]
    async fn history(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = "HEAD")] rev: String,
        path: Option<RepoPath>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default)] follow: bool,
        #[graphql(default)] first_parent: bool,
    ) -> Result<Connection<String, CommitObj>> {
        let (svc, cx) = call(ctx)?;
        let offset = match &after {
            Some(c) => cursor::decode_offset(c).gql()?,
            None => 0,
        };
        let limit = page(first, None)?.effective_limit();
        let query = LogQuery {
            range: RevRange::parse(&rev).gql()?,
            path,
            // One more than asked, to know whether there is a next page.
            limit: limit + 1,
            offset,
            first_parent,
            follow,
        };
        let mut commits = svc.log(&cx, &self.info.name, query).await.gql()?;
        let more = commits.len() > limit;
        commits.truncate(limit);
        let mut conn = Connection::new(offset > 0, more);
        conn.edges
            .extend(commits.into_iter().enumerate().map(|(i, c)| {
                Edge::new(
                    cursor::encode_offset(offset + i + 1),
                    CommitObj::new(self.info.name.clone(), c),
                )
            }));
        Ok(conn)
    }

    /// A directory of a tree-ish (`recursive`: every file below it, as `git ls-tree -r`).
    async fn tree(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "head()")] rev: Rev,
        path: Option<RepoPath>,
        #[graphql(default)] recursive: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Tree> {
        Tree::list(
            ctx,
            &self.info.name,
            rev,
            None,
            path,
            recursive,
            first,
            after,
        )
        .await
    }

    /// The entries of a directory as a connection (REST's `/files`).
    async fn files(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "head()")] rev: Rev,
        path: Option<RepoPath>,
        #[graphql(default)] recursive: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, TreeEntryObj>> {
        let (svc, cx) = call(ctx)?;
        // The service pages a listing by offset: each edge's cursor is the offset after it.
        let start = match &after {
            Some(c) => cursor::decode_offset(c).gql()?,
            None => 0,
        };
        let query = ListTree {
            rev,
            path,
            recursive,
        };
        let got = svc
            .list_tree(&cx, &self.info.name, query, &page(first, after)?)
            .await
            .gql()?;
        let mut conn = Connection::new(start > 0, got.next_cursor.is_some());
        conn.edges
            .extend(got.items.into_iter().enumerate().map(|(i, entry)| {
                Edge::new(
                    cursor::encode_offset(start + i + 1),
                    TreeEntryObj {
                        repo: self.info.name.clone(),
                        entry,
                    },
                )
            }));
        Ok(conn)
    }

    /// A file's content, by `rev` and `path` or by `oid`.
    async fn blob(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "head()")] rev: Rev,
        path: Option<RepoPath>,
        oid: Option<Oid>,
    ) -> Result<BlobObj> {
        let (svc, cx) = call(ctx)?;
        let b = svc
            .read_blob(&cx, &self.info.name, blob_ref(rev, path, oid)?)
            .await
            .gql()?;
        Ok(BlobObj(b))
    }

    /// A file's id, size and mode without its content.
    async fn blob_header(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "head()")] rev: Rev,
        path: Option<RepoPath>,
        oid: Option<Oid>,
    ) -> Result<BlobHeader> {
        let (svc, cx) = call(ctx)?;
        svc.blob_header(&cx, &self.info.name, blob_ref(rev, path, oid)?)
            .await
            .gql()
    }

    /// A diff: two tree-ishes (`from` absent: the first parent or the empty tree), or a
    /// workspace's index or work tree by `kind`.
    #[allow(clippy::too_many_arguments)]
    async fn diff(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "DiffKind::Commits")] kind: DiffKind,
        from: Option<Rev>,
        to: Option<Rev>,
        workspace: Option<WorkspaceName>,
        context_lines: Option<u32>,
        find_renames: Option<bool>,
        find_copies: Option<bool>,
        rename_threshold: Option<u8>,
        paths: Option<Vec<RepoPath>>,
    ) -> Result<DiffObj> {
        let (svc, cx) = call(ctx)?;
        let d = DiffOptions::default();
        let options = DiffOptions::new(
            context_lines.unwrap_or(d.context_lines),
            find_renames.unwrap_or(d.find_renames),
            find_copies.unwrap_or(d.find_copies),
            rename_threshold.unwrap_or(d.rename_threshold),
            paths.unwrap_or(d.paths),
        )
        .gql()?;
        let ws = || workspace.clone().unwrap_or_default();
        let spec = match kind {
            DiffKind::Commits => DiffSpec::Commits {
                from,
                to: to.unwrap_or_else(head),
            },
            DiffKind::Index => DiffSpec::Index {
                workspace: ws(),
                from,
            },
            DiffKind::TreeToWorktree => DiffSpec::TreeToWorktree {
                workspace: ws(),
                from,
            },
            DiffKind::Worktree => DiffSpec::Worktree { workspace: ws() },
        };
        let diff = svc
            .diff(&cx, &self.info.name, DiffRequest { spec, options })
            .await
            .gql()?;
        Ok(DiffObj(diff))
    }

    /// A diff again by the id of an earlier answer.
    async fn diff_by_id(&self, ctx: &Context<'_>, id: DiffId) -> Result<DiffObj> {
        let (svc, cx) = call(ctx)?;
        let diff = svc.diff_by_id(&cx, &self.info.name, &id).await.gql()?;
        Ok(DiffObj(diff))
    }

    /// Who last changed each line of a file (optionally lines `startLine..=endLine`).
    async fn blame(
        &self,
        ctx: &Context<'_>,
        path: RepoPath,
        #[graphql(default_with = "head()")] rev: Rev,
        start_line: Option<u32>,
        end_line: Option<u32>,
    ) -> Result<Vec<BlameHunkObj>> {
        let (svc, cx) = call(ctx)?;
        let lines = match (start_line, end_line) {
            (None, None) => None,
            (s, e) => Some((s.unwrap_or(1), e.unwrap_or(u32::MAX))),
        };
        let hunks = svc
            .blame(&cx, &self.info.name, BlameQuery { path, rev, lines })
            .await
            .gql()?;
        Ok(hunks
            .into_iter()
            .map(|hunk| BlameHunkObj {
                repo: self.info.name.clone(),
                hunk,
            })
            .collect())
    }

    /// The best common ancestor of two revisions (`None`: unrelated histories).
    async fn merge_base(&self, ctx: &Context<'_>, a: Rev, b: Rev) -> Result<Option<Oid>> {
        let (svc, cx) = call(ctx)?;
        svc.merge_base(&cx, &self.info.name, &a, &b).await.gql()
    }

    /// Whether `ancestor` is reachable from `descendant`.
    async fn is_ancestor(&self, ctx: &Context<'_>, ancestor: Rev, descendant: Rev) -> Result<bool> {
        let (svc, cx) = call(ctx)?;
        svc.is_ancestor(&cx, &self.info.name, &ancestor, &descendant)
            .await
            .gql()
    }

    /// Commits only in `a` (ahead) and only in `b` (behind).
    async fn ahead_behind(&self, ctx: &Context<'_>, a: Rev, b: Rev) -> Result<AheadBehind> {
        let (svc, cx) = call(ctx)?;
        svc.ahead_behind(&cx, &self.info.name, &a, &b).await.gql()
    }

    /// `head` compared with `base`: each field is one read.
    async fn compare(&self, base: Rev, head: Rev) -> Compare {
        Compare {
            repo: self.info.name.clone(),
            base,
            head,
        }
    }

    /// The workspaces.
    async fn workspaces(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Vec<WorkspaceInfo>> {
        let (svc, cx) = call(ctx)?;
        let got = svc
            .list_workspaces(&cx, &self.info.name, &page(first, after)?)
            .await
            .gql()?;
        Ok(got.items)
    }

    /// One workspace.
    async fn workspace(&self, ctx: &Context<'_>, name: WorkspaceName) -> Result<WorkspaceInfo> {
        let (svc, cx) = call(ctx)?;
        svc.workspace(&cx, &self.info.name, &name).await.gql()
    }

    /// A workspace's status (porcelain v2 semantics).
    async fn status(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] workspace: WorkspaceName,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Vec<StatusEntry>> {
        let (svc, cx) = call(ctx)?;
        let got = svc
            .status(&cx, &self.info.name, &workspace, &page(first, after)?)
            .await
            .gql()?;
        Ok(got.items)
    }

    /// The stash, newest first.
    async fn stashes(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] workspace: WorkspaceName,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Vec<StashEntry>> {
        let (svc, cx) = call(ctx)?;
        let got = svc
            .stash_list(&cx, &self.info.name, &workspace, &page(first, after)?)
            .await
            .gql()?;
        Ok(got.items)
    }

    /// One allow-listed config value.
    async fn config(&self, ctx: &Context<'_>, key: ConfigKey) -> Result<Option<String>> {
        let (svc, cx) = call(ctx)?;
        svc.config_get(&cx, &self.info.name, &key).await.gql()
    }

    /// The allow-listed config entries.
    async fn config_entries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Vec<ConfigEntry>> {
        let (svc, cx) = call(ctx)?;
        let got = svc
            .config_list(&cx, &self.info.name, &page(first, after)?)
            .await
            .gql()?;
        Ok(got.items)
    }

    /// The ref protection rules.
    async fn protections(&self, ctx: &Context<'_>) -> Result<Vec<ProtectionRuleObj>> {
        let (svc, cx) = call(ctx)?;
        let p = svc.protections(&cx, &self.info.name).await.gql()?;
        Ok(rules(p))
    }
}

impl Repository {
    async fn list_refs(
        &self,
        ctx: &Context<'_>,
        kind: RefKind,
        prefix: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Ref>> {
        let (svc, cx) = call(ctx)?;
        let had_cursor = after.is_some();
        let query = ListRefs {
            prefix,
            kind,
            page: page(first, after)?,
        };
        let got = svc.list_refs(&cx, &self.info.name, query).await.gql()?;
        Ok(keyed(got, had_cursor, |r| r.name.to_string(), |r| r))
    }
}

fn blob_ref(rev: Rev, path: Option<RepoPath>, oid: Option<Oid>) -> Result<BlobRef> {
    match (path, oid) {
        (Some(path), None) => Ok(BlobRef::ByPath { rev, path }),
        (None, Some(oid)) => Ok(BlobRef::ByOid(oid)),
        _ => Err(Error::invalid("give either path (with rev) or oid")).gql(),
    }
}

/// An object by id; `commit` when it is a commit.
#[derive(Debug)]
pub(crate) struct GitObject {
    repo: gitapi_core::RepoName,
    oid: Oid,
}

#[Object]
impl GitObject {
    /// The object's id.
    async fn oid(&self) -> Oid {
        self.oid
    }

    /// The commit, when the object is one (batched with other commit reads).
    async fn commit(&self, ctx: &Context<'_>) -> Result<Option<CommitObj>> {
        Ok(load_commits(ctx, &self.repo, &[self.oid]).await?.pop())
    }
}

/// A commit of a repository.
#[derive(Debug, Clone)]
pub(crate) struct CommitObj {
    repo: gitapi_core::RepoName,
    commit: Commit,
}

impl CommitObj {
    pub(crate) fn new(repo: gitapi_core::RepoName, commit: Commit) -> Self {
        Self { repo, commit }
    }
}

#[Object(name = "Commit")]
impl CommitObj {
    /// The commit's id.
    async fn oid(&self) -> Oid {
        self.commit.oid
    }

    /// The id of its tree (REST's `tree`).
    async fn tree_oid(&self) -> Oid {
        self.commit.tree
    }

    /// The ids of its parents, in order (REST's `parents`).
    async fn parent_oids(&self) -> &[Oid] {
        &self.commit.parents
    }

    /// Its parents as commits, in order (batched: one read for every commit of a level).
    async fn parents(&self, ctx: &Context<'_>) -> Result<Vec<CommitObj>> {
        load_commits(ctx, &self.repo, &self.commit.parents).await
    }

    /// The author.
    async fn author(&self) -> &Signature {
        &self.commit.author
    }

    /// The committer.
    async fn committer(&self) -> &Signature {
        &self.commit.committer
    }

    /// The message.
    async fn message(&self) -> &str {
        &self.commit.message
    }

    /// The `gpgsig` header (an armored signature), when signed.
    async fn signature(&self) -> Option<&str> {
        self.commit.signature.as_deref()
    }

    /// Its tree: a directory of it (the root by default).
    async fn tree(
        &self,
        ctx: &Context<'_>,
        path: Option<RepoPath>,
        #[graphql(default)] recursive: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Tree> {
        let rev = Rev::from(self.commit.oid);
        let oid = path.is_none().then_some(self.commit.tree);
        Tree::list(ctx, &self.repo, rev, oid, path, recursive, first, after).await
    }
}

/// A directory listing of a tree-ish.
#[derive(Debug)]
pub(crate) struct Tree {
    repo: gitapi_core::RepoName,
    oid: Option<Oid>,
    page: Page<TreeEntry>,
}

impl Tree {
    #[allow(clippy::too_many_arguments)]
    async fn list(
        ctx: &Context<'_>,
        repo: &gitapi_core::RepoName,
        rev: Rev,
        oid: Option<Oid>,
        path: Option<RepoPath>,
        recursive: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Tree> {
        let (svc, cx) = call(ctx)?;
        let query = ListTree {
            rev,
            path,
            recursive,
        };
        let page = svc
            .list_tree(&cx, repo, query, &page(first, after)?)
            .await
            .gql()?;
        Ok(Tree {
            repo: repo.clone(),
            oid,
            page,
        })
    }
}

#[Object]
impl Tree {
    /// The tree's id, when known (a commit's root tree).
    async fn oid(&self) -> Option<Oid> {
        self.oid
    }

    /// The entries, sorted as git sorts them.
    async fn entries(&self) -> Vec<TreeEntryObj> {
        self.page
            .items
            .iter()
            .map(|e| TreeEntryObj {
                repo: self.repo.clone(),
                entry: e.clone(),
            })
            .collect()
    }

    /// The cursor of the next page (`after`), when there is one.
    async fn next_cursor(&self) -> Option<&str> {
        self.page.next_cursor.as_deref()
    }
}

/// One entry of a tree.
#[derive(Debug)]
pub(crate) struct TreeEntryObj {
    repo: gitapi_core::RepoName,
    entry: TreeEntry,
}

#[Object(name = "TreeEntry")]
impl TreeEntryObj {
    /// The file name.
    async fn name(&self) -> &str {
        &self.entry.name
    }

    /// The path from the root.
    async fn path(&self) -> &str {
        &self.entry.path
    }

    /// The mode.
    async fn mode(&self) -> FileMode {
        self.entry.mode
    }

    /// The object kind.
    async fn kind(&self) -> ObjectKind {
        self.entry.kind
    }

    /// The object id.
    async fn oid(&self) -> Oid {
        self.entry.oid
    }

    /// The blob size, when the listing knows it.
    async fn size(&self) -> Option<u64> {
        self.entry.size
    }

    /// The blob, for a file (`None` for a directory or a submodule).
    async fn blob(&self, ctx: &Context<'_>) -> Result<Option<BlobObj>> {
        if self.entry.kind != ObjectKind::Blob {
            return Ok(None);
        }
        let (svc, cx) = call(ctx)?;
        let b = svc
            .read_blob(&cx, &self.repo, BlobRef::ByOid(self.entry.oid))
            .await
            .gql()?;
        Ok(Some(BlobObj(b)))
    }
}

/// A file's content.
#[derive(Debug)]
pub(crate) struct BlobObj(pub(crate) Blob);

/// Whether content is binary by git's rule: a NUL byte in its first 8000 bytes.
pub(crate) fn is_binary(content: &[u8]) -> bool {
    content.iter().take(8000).any(|b| *b == 0)
}

#[Object(name = "Blob")]
impl BlobObj {
    /// The blob's id.
    async fn oid(&self) -> Oid {
        self.0.oid
    }

    /// Its size in bytes.
    async fn size(&self) -> u64 {
        self.0.size
    }

    /// The mode of the file, when read by path.
    async fn mode(&self) -> Option<FileMode> {
        self.0.mode
    }

    /// Whether git would take it for binary (a NUL byte in the first 8000 bytes).
    async fn is_binary(&self) -> bool {
        is_binary(&self.0.content)
    }

    /// The content as text: `None` when binary or not UTF-8.
    async fn text(&self) -> Option<&str> {
        if is_binary(&self.0.content) {
            return None;
        }
        std::str::from_utf8(&self.0.content).ok()
    }

    /// The content, base64 (standard alphabet, padded).
    async fn bytes(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.0.content)
    }
}

/// A structured diff.
#[derive(Debug)]
pub(crate) struct DiffObj(pub(crate) Diff);

#[Object(name = "Diff")]
impl DiffObj {
    /// The id to render it again (`diffById`); `None` against a work tree.
    async fn id(&self) -> Option<&DiffId> {
        self.0.id.as_ref()
    }

    /// The files, sorted by path as git sorts them.
    async fn files(&self) -> &[FileDiff] {
        &self.0.files
    }

    /// Totals.
    async fn stats(&self) -> DiffStats {
        self.0.stats
    }

    /// The diff as `git diff` patch text.
    async fn patch(&self) -> String {
        self.0.to_patch()
    }
}

/// A run of lines last changed by one commit.
#[derive(Debug)]
pub(crate) struct BlameHunkObj {
    repo: gitapi_core::RepoName,
    hunk: BlameHunk,
}

impl BlameHunkObj {
    pub(crate) fn new(repo: gitapi_core::RepoName, hunk: BlameHunk) -> Self {
        Self { repo, hunk }
    }
}

#[Object(name = "BlameHunk")]
impl BlameHunkObj {
    /// The commit's id (REST's `commit`).
    async fn commit_oid(&self) -> Oid {
        self.hunk.commit
    }

    /// The commit (batched with every other hunk's).
    async fn commit(&self, ctx: &Context<'_>) -> Result<Option<CommitObj>> {
        Ok(load_commits(ctx, &self.repo, &[self.hunk.commit])
            .await?
            .pop())
    }

    /// The path in that commit.
    async fn orig_path(&self) -> &str {
        &self.hunk.orig_path
    }

    /// The first line in that commit (1-based).
    async fn orig_start(&self) -> u32 {
        self.hunk.orig_start
    }

    /// The first line in the blamed file (1-based).
    async fn final_start(&self) -> u32 {
        self.hunk.final_start
    }

    /// How many lines.
    async fn lines(&self) -> u32 {
        self.hunk.lines
    }
}

/// Two revisions compared; each field is one read.
#[derive(Debug)]
pub(crate) struct Compare {
    repo: gitapi_core::RepoName,
    base: Rev,
    head: Rev,
}

#[Object]
impl Compare {
    /// Their best common ancestor.
    async fn merge_base(&self, ctx: &Context<'_>) -> Result<Option<Oid>> {
        let (svc, cx) = call(ctx)?;
        svc.merge_base(&cx, &self.repo, &self.base, &self.head)
            .await
            .gql()
    }

    /// Commits only in `head` (ahead) and only in `base` (behind).
    async fn ahead_behind(&self, ctx: &Context<'_>) -> Result<AheadBehind> {
        let (svc, cx) = call(ctx)?;
        svc.ahead_behind(&cx, &self.repo, &self.head, &self.base)
            .await
            .gql()
    }

    /// The commits of `base...head` in `head` only, newest first (at most `first`).
    async fn commits(&self, ctx: &Context<'_>, first: Option<i32>) -> Result<Vec<CommitObj>> {
        let (svc, cx) = call(ctx)?;
        let query = LogQuery {
            range: RevRange::TwoDot(self.base.clone(), self.head.clone()),
            path: None,
            limit: page(first, None)?.effective_limit(),
            offset: 0,
            first_parent: false,
            follow: false,
        };
        let commits = svc.log(&cx, &self.repo, query).await.gql()?;
        Ok(commits
            .into_iter()
            .map(|c| CommitObj::new(self.repo.clone(), c))
            .collect())
    }

    /// The diff from `base` to `head`.
    async fn diff(&self, ctx: &Context<'_>) -> Result<DiffObj> {
        let (svc, cx) = call(ctx)?;
        let req = DiffRequest {
            spec: DiffSpec::Commits {
                from: Some(self.base.clone()),
                to: self.head.clone(),
            },
            options: DiffOptions::default(),
        };
        Ok(DiffObj(svc.diff(&cx, &self.repo, req).await.gql()?))
    }
}

/// A ref protection rule.
#[derive(Debug, SimpleObject)]
#[graphql(name = "ProtectionRule")]
pub(crate) struct ProtectionRuleObj {
    /// The refs it applies to (a full name, or a prefix ending in `*`).
    pattern: String,
    /// Refuse moves to a commit that does not descend from the current one.
    no_force_push: bool,
    /// Refuse deletion.
    no_deletion: bool,
    /// Refuse new commits without a signature.
    require_signed_commits: bool,
}

/// A protection rule as input.
#[derive(Debug, InputObject)]
pub(crate) struct ProtectionRuleInput {
    /// The refs it applies to (a full name, or a prefix ending in `*`).
    pub(crate) pattern: String,
    /// Refuse moves to a commit that does not descend from the current one.
    #[graphql(default)]
    pub(crate) no_force_push: bool,
    /// Refuse deletion.
    #[graphql(default)]
    pub(crate) no_deletion: bool,
    /// Refuse new commits without a signature.
    #[graphql(default)]
    pub(crate) require_signed_commits: bool,
}

impl ProtectionRuleInput {
    pub(crate) fn into_rule(self) -> Result<ProtectionRule> {
        Ok(ProtectionRule {
            pattern: gitapi_service::RefPattern::new(&self.pattern).gql()?,
            no_force_push: self.no_force_push,
            no_deletion: self.no_deletion,
            require_signed_commits: self.require_signed_commits,
        })
    }
}

pub(crate) fn rules(p: Protections) -> Vec<ProtectionRuleObj> {
    p.rules
        .into_iter()
        .map(|r| ProtectionRuleObj {
            pattern: r.pattern.as_str().to_owned(),
            no_force_push: r.no_force_push,
            no_deletion: r.no_deletion,
            require_signed_commits: r.require_signed_commits,
        })
        .collect()
}

/// The engines: which serves, and what each has served.
#[derive(Debug, SimpleObject)]
#[graphql(name = "Backend")]
pub(crate) struct BackendObj {
    /// The engine new requests go to (`libgit2` or `shell`).
    backend: String,
    /// How many switches since start.
    switches: u64,
    /// Requests served per engine since start.
    served: Vec<EngineCount>,
    /// Requests in flight per engine.
    in_flight: Vec<EngineCount>,
}

/// A count for one engine.
#[derive(Debug, SimpleObject)]
pub(crate) struct EngineCount {
    /// The engine.
    engine: String,
    /// The count.
    count: u64,
}

impl From<SwitchStatus> for BackendObj {
    fn from(s: SwitchStatus) -> Self {
        Self {
            backend: s.backend.as_str().to_owned(),
            switches: s.switches,
            served: s
                .served
                .into_iter()
                .map(|(k, n)| EngineCount {
                    engine: k.as_str().to_owned(),
                    count: n,
                })
                .collect(),
            in_flight: s
                .in_flight
                .into_iter()
                .map(|(k, n)| EngineCount {
                    engine: k.as_str().to_owned(),
                    count: n as u64,
                })
                .collect(),
        }
    }
}

/// One file change of `commitFiles` or `amend`: exactly one of its fields.
#[derive(Debug, OneofObject)]
pub(crate) enum FileActionInput {
    /// Create or replace a file.
    Put(PutFileInput),
    /// Remove a file or directory.
    Delete(PathInput),
    /// Move a file or directory.
    Move(MoveInput),
    /// Change a file's executable bit.
    Chmod(ChmodInput),
}

/// A file to write.
#[derive(Debug, InputObject)]
pub(crate) struct PutFileInput {
    /// Where.
    pub(crate) path: RepoPath,
    /// The content as text (UTF-8); give this or `base64`.
    pub(crate) text: Option<String>,
    /// The content, base64; give this or `text`.
    pub(crate) base64: Option<String>,
    /// The mode (regular by default for a new file).
    pub(crate) mode: Option<FileMode>,
}

/// A path.
#[derive(Debug, InputObject)]
pub(crate) struct PathInput {
    /// The path.
    pub(crate) path: RepoPath,
}

/// A move.
#[derive(Debug, InputObject)]
pub(crate) struct MoveInput {
    /// From.
    pub(crate) from: RepoPath,
    /// To (must not exist).
    pub(crate) to: RepoPath,
}

/// A change of the executable bit.
#[derive(Debug, InputObject)]
pub(crate) struct ChmodInput {
    /// The file.
    pub(crate) path: RepoPath,
    /// Executable or regular.
    pub(crate) executable: bool,
}

/// File content from `text` or `base64`.
pub(crate) fn content(text: Option<String>, b64: Option<String>) -> Result<bytes::Bytes> {
    match (text, b64) {
        (Some(t), None) => Ok(bytes::Bytes::from(t)),
        (None, Some(b)) => base64::engine::general_purpose::STANDARD
            .decode(b)
            .map(bytes::Bytes::from)
            .map_err(|e| Error::invalid(format!("content is not valid base64: {e}")))
            .gql(),
        _ => Err(Error::invalid("give exactly one of text and base64")).gql(),
    }
}

impl FileActionInput {
    pub(crate) fn into_action(self) -> Result<FileAction> {
        Ok(match self {
            Self::Put(p) => FileAction::Put {
                path: p.path,
                content: content(p.text, p.base64)?,
                mode: p.mode,
            },
            Self::Delete(p) => FileAction::Delete { path: p.path },
            Self::Move(m) => FileAction::Move {
                from: m.from,
                to: m.to,
            },
            Self::Chmod(c) => FileAction::Chmod {
                path: c.path,
                executable: c.executable,
            },
        })
    }
}
