//! The libgit2 side of tree edits: object I/O for [`gitapi_core::tree_edit`], reading trees
//! through the parsed-tree cache.

use gitapi_core::tree_edit::{StoreEntry, TreeStore};
use gitapi_core::{Error, FileAction, Oid, Result};

use crate::convert::{file_mode, git_oid, map_err, mode_bits, oid};
use crate::tree_cache::TreeCache;

struct Git2Store<'r> {
    repo: &'r git2::Repository,
    cache: &'r TreeCache,
}

impl TreeStore for Git2Store<'_> {
    fn read_tree(&self, id: Oid) -> Result<Vec<StoreEntry>> {
        self.cache
            .get(self.repo, git_oid(id))?
            .iter()
            .map(|e| {
                Ok(StoreEntry {
                    name: e.name.clone(),
                    oid: oid(e.oid),
                    mode: file_mode(e.filemode)
                        .ok_or_else(|| Error::internal("tree entry has an unknown mode"))?,
                })
            })
            .collect()
    }

    fn write_tree(&self, entries: &[StoreEntry]) -> Result<Oid> {
        let mut builder = self
            .repo
            .treebuilder(None)
            .map_err(map_err("building tree"))?;
        for e in entries {
            builder
                .insert(e.name.as_slice(), git_oid(e.oid), mode_bits(e.mode))
                .map_err(map_err("building tree"))?;
        }
        builder.write().map(oid).map_err(map_err("writing tree"))
    }

    fn write_blob(&self, content: &[u8]) -> Result<Oid> {
        self.repo
            .blob(content)
            .map(oid)
            .map_err(map_err("writing blob"))
    }
}

/// Applies actions in order to `base` and returns the new root tree.
pub(crate) fn apply_actions(
    cache: &TreeCache,
    repo: &git2::Repository,
    base: Option<git2::Oid>,
    actions: &[FileAction],
) -> Result<git2::Oid> {
    let store = Git2Store { repo, cache };
    gitapi_core::tree_edit::apply_actions(&store, base.map(oid), actions).map(git_oid)
}
