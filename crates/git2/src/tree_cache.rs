//! Parsed trees, cached by object id.
//!
//! A tree id names its content forever, so a parsed tree never goes stale (design §6). Packed
//! trees are usually deltas, and libgit2's own object cache skips trees over 4 KiB, so without
//! this every path lookup under a large directory resolves a delta chain again: 250 µs for a
//! blob read by path in a 5,000-file repository, most of it in the root tree.

use std::sync::Arc;

use gitapi_core::{Error, Result};

use crate::convert::map_err;

/// One entry of a parsed tree.
#[derive(Debug, Clone)]
pub(crate) struct CachedEntry {
    pub(crate) name: Vec<u8>,
    pub(crate) oid: git2::Oid,
    pub(crate) filemode: i32,
}

impl CachedEntry {
    pub(crate) fn is_tree(&self) -> bool {
        self.filemode == 0o040000
    }
}

/// A parsed tree: entries in git's tree order.
pub(crate) type Tree = Arc<[CachedEntry]>;

/// A bounded cache of parsed trees, weighed by entry count.
#[derive(Clone)]
pub(crate) struct TreeCache {
    trees: moka::sync::Cache<git2::Oid, Tree>,
}

impl std::fmt::Debug for TreeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeCache")
            .field("entries", &self.trees.entry_count())
            .finish()
    }
}

impl TreeCache {
    /// A cache of at most `max_entries` tree entries in all.
    pub(crate) fn new(max_entries: u64) -> Self {
        Self {
            trees: moka::sync::Cache::builder()
                .max_capacity(max_entries)
                .weigher(|_, t: &Tree| u32::try_from(t.len()).unwrap_or(u32::MAX).max(1))
                .build(),
        }
    }

    /// The parsed tree `id` of `repo`.
    ///
    /// The cache is keyed by id alone and shared by repositories: callers only ask for trees
    /// they reached from a commit or tree of `repo` itself, so a hit never reveals an object
    /// the repository does not have.
    pub(crate) fn get(&self, repo: &git2::Repository, id: git2::Oid) -> Result<Tree> {
        if let Some(t) = self.trees.get(&id) {
            return Ok(t);
        }
        let tree = repo.find_tree(id).map_err(map_err("reading tree"))?;
        let parsed: Tree = tree
            .iter()
            .map(|e| CachedEntry {
                name: e.name_bytes().to_vec(),
                oid: e.id(),
                filemode: e.filemode(),
            })
            .collect();
        self.trees.insert(id, Arc::clone(&parsed));
        Ok(parsed)
    }

    /// The entry at `path` under tree `root`, `None` when a component is missing.
    pub(crate) fn entry_at(
        &self,
        repo: &git2::Repository,
        root: git2::Oid,
        path: &str,
    ) -> Result<Option<CachedEntry>> {
        let mut dir = root;
        let mut components = path.split('/').peekable();
        while let Some(name) = components.next() {
            let tree = self.get(repo, dir)?;
            let Some(e) = find(&tree, name.as_bytes()) else {
                return Ok(None);
            };
            if components.peek().is_none() {
                return Ok(Some(e.clone()));
            }
            if !e.is_tree() {
                return Ok(None);
            }
            dir = e.oid;
        }
        Ok(None)
    }
}

/// Entries are in git's order (directories sort as if followed by `/`), which is not plain
/// byte order, so a linear scan is the simple correct lookup; directories hold hundreds of
/// entries at most in practice.
fn find<'t>(tree: &'t [CachedEntry], name: &[u8]) -> Option<&'t CachedEntry> {
    tree.iter().find(|e| e.name == name)
}

/// The id of the tree at `path` of `root`, or an error saying why there is none.
pub(crate) fn dir_at(
    cache: &TreeCache,
    repo: &git2::Repository,
    root: git2::Oid,
    path: &str,
) -> Result<git2::Oid> {
    match cache.entry_at(repo, root, path)? {
        Some(e) if e.is_tree() => Ok(e.oid),
        Some(_) => Err(Error::invalid(format!("path {path:?} is not a directory"))),
        None => Err(Error::not_found(format!("path {path:?} does not exist"))),
    }
}
