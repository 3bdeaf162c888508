//! The read side: refs, objects by id and by path, tree listings, history.

use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;

use crate::cache::{MemoryCache, ObjectCache};
use crate::error::{Error, Result};
use crate::object::{Commit, Kind, Mode, Object, Tree, TreeEntry};
use crate::oid::Oid;
use crate::pack::PackReader;
use crate::protocol::{self, Capabilities, FetchRequest, Ref};
use crate::transport::{Transport, TransportOptions};

/// How a [`Client`] behaves.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Transport settings: auth, headers, timeouts, limits, retries.
    pub transport: TransportOptions,
    /// Object cache, shareable between clients.
    pub cache: Arc<dyn ObjectCache>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            transport: TransportOptions::default(),
            cache: Arc::new(MemoryCache::default()),
        }
    }
}

/// A stateless client of one remote repository.
#[derive(Debug)]
pub struct Client {
    pub(crate) transport: Transport,
    pub(crate) cache: Arc<dyn ObjectCache>,
    caps: tokio::sync::OnceCell<Capabilities>,
}

/// One entry of a flat tree listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlatEntry {
    /// Path from the listed tree, `/`-separated.
    pub path: String,
    /// Mode.
    pub mode: Mode,
    /// Object id.
    pub oid: Oid,
}

/// Options of [`Client::log`].
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// Only commits that change this path (file or directory), with git's default history
    /// simplification.
    pub path: Option<String>,
    /// Skip this many matching commits first (pagination).
    pub skip: usize,
    /// Return at most this many commits.
    pub limit: Option<usize>,
    /// Only commits whose committer time is at or after this (Unix seconds).
    pub since: Option<i64>,
    /// Only commits whose committer time is at or before this (Unix seconds).
    pub until: Option<i64>,
    /// Follow only first parents.
    pub first_parent: bool,
}

impl Client {
    /// A client of the repository at `url`.
    pub fn new(url: &str, options: ClientOptions) -> Result<Self> {
        Ok(Client {
            transport: Transport::new(url, options.transport)?,
            cache: options.cache,
            caps: tokio::sync::OnceCell::new(),
        })
    }

    /// The repository URL.
    pub fn url(&self) -> &str {
        self.transport.url()
    }

    pub(crate) fn agent(&self) -> &str {
        &self.transport.options().user_agent
    }

    /// The server's protocol v2 capabilities (fetched once per client).
    pub async fn capabilities(&self) -> Result<&Capabilities> {
        self.caps
            .get_or_try_init(|| async {
                let body = self.transport.info_refs("git-upload-pack", true).await?;
                Capabilities::parse(&body, self.url())
            })
            .await
    }

    /// Checks that the server speaks protocol v2 with `ls-refs` and `fetch`; a v0/v1-only
    /// server gives [`Error::ProtocolV2Unsupported`].
    pub async fn check_compatible(&self) -> Result<()> {
        let caps = self.capabilities().await?;
        for cmd in ["ls-refs", "fetch"] {
            if !caps.has(cmd) {
                return Err(Error::Protocol(format!(
                    "{} does not offer the v2 command {cmd:?}",
                    self.url()
                )));
            }
        }
        Ok(())
    }

    /// Whether these credentials may read the repository.
    pub async fn can_read(&self) -> Result<bool> {
        access(self.transport.info_refs("git-upload-pack", true).await)
    }

    /// Whether these credentials may push (the server lets them start a receive-pack).
    pub async fn can_write(&self) -> Result<bool> {
        access(self.transport.info_refs("git-receive-pack", false).await)
    }

    /// Lists refs, optionally only those starting with `prefix`; `HEAD` is included (with its
    /// symref target, or as unborn) when it matches the prefix.
    pub async fn ls_refs(&self, prefix: Option<&str>) -> Result<Vec<Ref>> {
        let prefixes: Vec<String> = prefix.map(|p| vec![p.to_owned()]).unwrap_or_default();
        self.ls_refs_prefixes(&prefixes).await
    }

    async fn ls_refs_prefixes(&self, prefixes: &[String]) -> Result<Vec<Ref>> {
        let caps = self.capabilities().await?;
        let body = protocol::ls_refs_request(caps, self.agent(), prefixes);
        let limit = self.transport.options().limits.ls_refs;
        let resp = self
            .transport
            .upload_pack(body.into(), "ls-refs", limit)
            .await?;
        let bytes = resp.into_bytes().await?;
        let mut refs = protocol::parse_ls_refs(&bytes)?;
        // Servers treat ref-prefix as a hint; filter exactly.
        if !prefixes.is_empty() {
            refs.retain(|r| prefixes.iter().any(|p| r.name.starts_with(p.as_str())));
        }
        Ok(refs)
    }

    /// The default branch: what `HEAD` points at, e.g. `refs/heads/main`.
    pub async fn default_branch(&self) -> Result<String> {
        let refs = self.ls_refs(Some("HEAD")).await?;
        refs.into_iter()
            .find(|r| r.name == "HEAD")
            .and_then(|r| r.symref_target)
            .ok_or_else(|| Error::NotFound("HEAD symref".into()))
    }

    /// Resolves a revision to a commit id: a full id, `HEAD`, a short or full ref name
    /// (`main`, `v1.0`, `refs/heads/x`, tags peeled), optionally followed by `~N`, `^` or `^N`.
    pub async fn resolve(&self, rev: &str) -> Result<Oid> {
        let (base, suffix) = split_rev_suffix(rev);
        if base.is_empty() || base.starts_with('-') {
            return Err(Error::InvalidArgument(format!("revision {rev:?}")));
        }
        let mut oid = if let Ok(oid) = base.parse::<Oid>() {
            oid
        } else {
            self.resolve_ref(base).await?
        };
        let mut rest = suffix;
        while !rest.is_empty() {
            let (op, n, next) = parse_suffix_step(rest)
                .ok_or_else(|| Error::InvalidArgument(format!("revision {rev:?}")))?;
            rest = next;
            match op {
                '~' => {
                    for _ in 0..n {
                        let c = self.get_commit(oid).await?;
                        oid = *c
                            .parents
                            .first()
                            .ok_or_else(|| Error::NotFound(format!("revision {rev:?}")))?;
                    }
                }
                _ => {
                    if n > 0 {
                        let c = self.get_commit(oid).await?;
                        oid = *c
                            .parents
                            .get(n - 1)
                            .ok_or_else(|| Error::NotFound(format!("revision {rev:?}")))?;
                    }
                }
            }
        }
        Ok(oid)
    }

    async fn resolve_ref(&self, name: &str) -> Result<Oid> {
        // git rev-parse's order of candidates (gitrevisions).
        let candidates = if name == "HEAD" {
            vec!["HEAD".to_owned()]
        } else {
            vec![
                name.to_owned(),
                format!("refs/{name}"),
                format!("refs/tags/{name}"),
                format!("refs/heads/{name}"),
                format!("refs/remotes/{name}"),
                format!("refs/remotes/{name}/HEAD"),
            ]
        };
        let refs = self.ls_refs_prefixes(&candidates).await?;
        for c in &candidates {
            if let Some(r) = refs.iter().find(|r| &r.name == c) {
                return match (r.peeled, r.oid) {
                    (Some(p), _) | (None, Some(p)) => Ok(p),
                    (None, None) => Err(Error::NotFound(format!("{name:?} is unborn"))),
                };
            }
        }
        Err(Error::NotFound(format!("revision {name:?}")))
    }

    /// Fetches objects and keeps them in the cache. With `stop_early`, reading stops as soon
    /// as every wanted object has arrived.
    pub async fn fetch(
        &self,
        req: &FetchRequest,
        stop_early: bool,
    ) -> Result<HashMap<Oid, Object>> {
        let caps = self.capabilities().await?;
        let body = protocol::fetch_request(caps, self.agent(), req);
        let limits = &self.transport.options().limits;
        let resp = self
            .transport
            .upload_pack(body.into(), "fetch", limits.fetch)
            .await?;
        let mut pack = PackReader::new(limits.object);
        let wanted: HashSet<Oid> = req.wants.iter().copied().collect();
        let complete =
            protocol::read_fetch_response(resp, &mut pack, stop_early.then_some(&wanted)).await?;
        let cache = &self.cache;
        let objects = if complete {
            pack.finish(|oid| cache.get(oid))?
        } else {
            pack.finish_early(|oid| cache.get(oid))?
        };
        for o in objects.values() {
            self.cache.put(o);
        }
        Ok(objects)
    }

    /// Any object by id (from the cache, or fetched alone).
    pub async fn get_object(&self, oid: Oid) -> Result<Object> {
        if let Some(o) = self.cache.get(&oid) {
            return Ok(o);
        }
        let req = FetchRequest {
            wants: vec![oid],
            filter: Some("tree:0".into()),
            deepen: Some(1),
        };
        let mut objects = self.fetch(&req, true).await?;
        objects
            .remove(&oid)
            .ok_or_else(|| Error::NotFound(format!("object {oid}")))
    }

    /// A commit by id.
    pub async fn get_commit(&self, oid: Oid) -> Result<Commit> {
        let obj = match self.cache.get(&oid) {
            Some(o) => o,
            None => {
                let req = FetchRequest {
                    wants: vec![oid],
                    filter: Some("tree:0".into()),
                    deepen: Some(1),
                };
                let mut objects = self.fetch(&req, true).await?;
                objects
                    .remove(&oid)
                    .ok_or_else(|| Error::NotFound(format!("commit {oid}")))?
            }
        };
        expect_kind(&obj, Kind::Commit)?;
        Ok(Commit::parse(oid, &obj.data)?)
    }

    /// A tree by id. A miss fetches the tree with every tree below it (`blob:none`), so
    /// walking down from it afterwards costs no more requests while the cache holds them.
    pub async fn get_tree(&self, oid: Oid) -> Result<Tree> {
        let obj = match self.cache.get(&oid) {
            Some(o) => o,
            None => {
                let mut objects = self.fetch_tree_recursive(oid).await?;
                objects
                    .remove(&oid)
                    .ok_or_else(|| Error::NotFound(format!("tree {oid}")))?
            }
        };
        expect_kind(&obj, Kind::Tree)?;
        Ok(Tree::parse(oid, &obj.data)?)
    }

    async fn fetch_tree_recursive(&self, oid: Oid) -> Result<HashMap<Oid, Object>> {
        let req = FetchRequest {
            wants: vec![oid],
            filter: Some("blob:none".into()),
            deepen: None,
        };
        self.fetch(&req, false).await
    }

    /// A blob's content by id.
    pub async fn get_blob(&self, oid: Oid) -> Result<Bytes> {
        let mut blobs = self.get_blobs(&[oid]).await?;
        blobs
            .remove(&oid)
            .ok_or_else(|| Error::NotFound(format!("blob {oid}")))
    }

    /// Fetches many blobs in one request (those not cached), returning all of them.
    pub async fn get_blobs(&self, oids: &[Oid]) -> Result<HashMap<Oid, Bytes>> {
        let mut out = HashMap::new();
        let mut missing = Vec::new();
        for oid in oids {
            match self.cache.get(oid) {
                Some(o) => {
                    out.insert(*oid, o.data);
                }
                None => missing.push(*oid),
            }
        }
        missing.sort();
        missing.dedup();
        if !missing.is_empty() {
            let req = FetchRequest {
                wants: missing.clone(),
                filter: None,
                deepen: None,
            };
            let mut objects = self.fetch(&req, true).await?;
            for oid in missing {
                let o = objects
                    .remove(&oid)
                    .ok_or_else(|| Error::NotFound(format!("blob {oid}")))?;
                expect_kind(&o, Kind::Blob)?;
                out.insert(oid, o.data);
            }
        }
        Ok(out)
    }

    /// The entry at `path` in `commit`'s tree; the empty path gives the root tree.
    pub async fn get_entry(&self, commit: Oid, path: &str) -> Result<TreeEntry> {
        let c = self.get_commit(commit).await?;
        self.entry_in_tree(c.tree, path).await
    }

    /// The entry at `path` below the tree `root`.
    pub async fn entry_in_tree(&self, root: Oid, path: &str) -> Result<TreeEntry> {
        let mut entry = TreeEntry {
            mode: Mode::TREE,
            name: String::new(),
            oid: root,
        };
        for comp in path.split('/').filter(|c| !c.is_empty()) {
            if !entry.mode.is_tree() {
                return Err(Error::NotFound(format!("path {path:?}")));
            }
            let tree = self.get_tree(entry.oid).await?;
            entry = tree
                .entries
                .into_iter()
                .find(|e| e.name == comp)
                .ok_or_else(|| Error::NotFound(format!("path {path:?}")))?;
        }
        Ok(entry)
    }

    /// The tree at `path` in `commit`.
    pub async fn get_tree_by_path(&self, commit: Oid, path: &str) -> Result<Tree> {
        let e = self.get_entry(commit, path).await?;
        if !e.mode.is_tree() {
            return Err(Error::InvalidArgument(format!(
                "{path:?} is not a directory"
            )));
        }
        self.get_tree(e.oid).await
    }

    /// The blob at `path` in `commit`.
    pub async fn get_blob_by_path(&self, commit: Oid, path: &str) -> Result<Bytes> {
        let e = self.get_entry(commit, path).await?;
        if !e.mode.is_blob() {
            return Err(Error::InvalidArgument(format!("{path:?} is not a file")));
        }
        self.get_blob(e.oid).await
    }

    /// Lists a tree: its direct entries, or with `recursive` every file, symlink and
    /// submodule below it (no tree entries), in git's order.
    pub async fn list_tree(&self, tree: Oid, recursive: bool) -> Result<Vec<FlatEntry>> {
        let trees = self.load_trees(tree).await?;
        let mut out = Vec::new();
        flatten(&trees, tree, "", recursive, &mut out)?;
        Ok(out)
    }

    /// Every tree below `root`, parsed, from the cache or with one fetch.
    pub(crate) async fn load_trees(&self, root: Oid) -> Result<HashMap<Oid, Tree>> {
        let mut trees = HashMap::new();
        let mut stack = vec![root];
        let mut fetched: Option<HashMap<Oid, Object>> = None;
        while let Some(oid) = stack.pop() {
            if trees.contains_key(&oid) {
                continue;
            }
            let obj = match fetched
                .as_ref()
                .and_then(|f| f.get(&oid))
                .cloned()
                .or_else(|| self.cache.get(&oid))
            {
                Some(o) => o,
                None if fetched.is_none() => {
                    // One request brings every tree below root; the cache may be too small to
                    // hold them, so keep this answer for the walk.
                    let f = self.fetch_tree_recursive(root).await?;
                    let o = f.get(&oid).cloned();
                    fetched = Some(f);
                    o.ok_or_else(|| Error::NotFound(format!("tree {oid}")))?
                }
                None => return Err(Error::Protocol(format!("server did not send tree {oid}"))),
            };
            expect_kind(&obj, Kind::Tree)?;
            let t = Tree::parse(oid, &obj.data)?;
            stack.extend(t.entries.iter().filter(|e| e.mode.is_tree()).map(|e| e.oid));
            trees.insert(oid, t);
        }
        Ok(trees)
    }

    /// Commit history from `start`, newest first (by committer date, like `git log`).
    pub async fn log(&self, start: Oid, opt: &LogOptions) -> Result<Vec<Commit>> {
        let mut walk = Walk::new(self, opt.path.is_some());
        let mut heap = BinaryHeap::new();
        let mut seen = HashSet::new();
        let mut counter = 0u64;
        let want = opt.limit.map(|l| l + opt.skip);
        let first = walk.commit(start, want).await?;
        seen.insert(start);
        heap.push(Queued {
            time: first.committer.time,
            order: std::cmp::Reverse(counter),
            commit: first,
        });
        let mut out = Vec::new();
        let mut matched = 0usize;
        while let Some(Queued { commit, .. }) = heap.pop() {
            if opt.limit.is_some_and(|l| out.len() >= l) {
                break;
            }
            let mut parents: Vec<Oid> = if opt.first_parent {
                commit.parents.iter().take(1).copied().collect()
            } else {
                commit.parents.clone()
            };
            let mut show = true;
            if let Some(path) = &opt.path {
                let mine = walk.entry_at(commit.tree, path).await?;
                if parents.is_empty() {
                    show = mine.is_some();
                } else {
                    let mut same = None;
                    for p in &parents {
                        let pc = walk.commit(*p, want).await?;
                        if walk.entry_at(pc.tree, path).await? == mine {
                            same = Some(*p);
                            break;
                        }
                    }
                    if let Some(p) = same {
                        // TREESAME to a parent: hide the commit and follow only that parent.
                        show = false;
                        parents = vec![p];
                    }
                }
            }
            let t = commit.committer.time;
            if show && opt.since.is_none_or(|s| t >= s) && opt.until.is_none_or(|u| t <= u) {
                if matched >= opt.skip {
                    out.push(commit.clone());
                }
                matched += 1;
            }
            if opt.since.is_some_and(|s| t < s) {
                // Older than --since: its ancestors are (nearly always) older too.
                continue;
            }
            for p in parents {
                if seen.insert(p) {
                    let pc = walk.commit(p, want).await?;
                    counter += 1;
                    heap.push(Queued {
                        time: pc.committer.time,
                        order: std::cmp::Reverse(counter),
                        commit: pc,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Treats "no access" answers as `false`.
fn access(result: Result<Bytes>) -> Result<bool> {
    match result {
        Ok(_) => Ok(true),
        Err(Error::Unauthorized(_) | Error::PermissionDenied(_) | Error::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

pub(crate) fn expect_kind(obj: &Object, kind: Kind) -> Result<()> {
    if obj.kind == kind {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "object {} is a {}, not a {kind}",
            obj.oid, obj.kind
        )))
    }
}

pub(crate) fn flatten(
    trees: &HashMap<Oid, Tree>,
    oid: Oid,
    prefix: &str,
    recursive: bool,
    out: &mut Vec<FlatEntry>,
) -> Result<()> {
    let tree = trees
        .get(&oid)
        .ok_or_else(|| Error::Protocol(format!("tree {oid} missing")))?;
    for e in &tree.entries {
        let path = if prefix.is_empty() {
            e.name.clone()
        } else {
            format!("{prefix}/{}", e.name)
        };
        if e.mode.is_tree() && recursive {
            flatten(trees, e.oid, &path, recursive, out)?;
        } else {
            out.push(FlatEntry {
                path,
                mode: e.mode,
                oid: e.oid,
            });
        }
    }
    Ok(())
}

struct Queued {
    time: i64,
    order: std::cmp::Reverse<u64>,
    commit: Commit,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.order) == (other.time, other.order)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    // Newest first; among equal dates, first queued first (git's prio_queue is stable).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.time, self.order).cmp(&(other.time, other.order))
    }
}

/// Commits (and, for path-limited logs, trees) fetched in batches of history.
struct Walk<'a> {
    client: &'a Client,
    with_trees: bool,
    objects: HashMap<Oid, Object>,
}

impl<'a> Walk<'a> {
    fn new(client: &'a Client, with_trees: bool) -> Self {
        Walk {
            client,
            with_trees,
            objects: HashMap::new(),
        }
    }

    fn lookup(&self, oid: &Oid) -> Option<Object> {
        self.objects
            .get(oid)
            .cloned()
            .or_else(|| self.client.cache.get(oid))
    }

    async fn commit(&mut self, oid: Oid, want: Option<usize>) -> Result<Commit> {
        let obj = match self.lookup(&oid) {
            Some(o) => o,
            None => {
                let depth = want.map_or(100, |w| w.clamp(2, 1000) + 1) as u32;
                let req = FetchRequest {
                    wants: vec![oid],
                    filter: Some(
                        if self.with_trees {
                            "blob:none"
                        } else {
                            "tree:0"
                        }
                        .into(),
                    ),
                    deepen: Some(depth),
                };
                let got = self.client.fetch(&req, false).await?;
                self.objects.extend(got);
                self.objects
                    .get(&oid)
                    .cloned()
                    .ok_or_else(|| Error::NotFound(format!("commit {oid}")))?
            }
        };
        expect_kind(&obj, Kind::Commit)?;
        Ok(Commit::parse(oid, &obj.data)?)
    }

    async fn entry_at(&mut self, root: Oid, path: &str) -> Result<Option<(Mode, Oid)>> {
        let mut cur = (Mode::TREE, root);
        for comp in path.split('/').filter(|c| !c.is_empty()) {
            if !cur.0.is_tree() {
                return Ok(None);
            }
            let tree = match self.lookup(&cur.1) {
                Some(o) => Tree::parse(cur.1, &o.data)?,
                None => self.client.get_tree(cur.1).await?,
            };
            match tree.entries.into_iter().find(|e| e.name == comp) {
                Some(e) => cur = (e.mode, e.oid),
                None => return Ok(None),
            }
        }
        Ok(Some(cur))
    }
}

fn split_rev_suffix(rev: &str) -> (&str, &str) {
    match rev.find(['~', '^']) {
        Some(i) => (&rev[..i], &rev[i..]),
        None => (rev, ""),
    }
}

/// One `~N` / `^N` step: operator, count, rest.
fn parse_suffix_step(s: &str) -> Option<(char, usize, &str)> {
    let mut chars = s.chars();
    let op = chars.next()?;
    let rest = chars.as_str();
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let n = if digits == 0 {
        1
    } else {
        rest[..digits].parse().ok()?
    };
    Some((op, n, &rest[digits..]))
}
