//! Applies file actions to a tree without a work tree or an index.
//!
//! Only the directories along changed paths are loaded and rewritten; every other subtree keeps
//! its id, so a one-file commit in a repository of 50,000 files writes a handful of trees.

use std::collections::BTreeMap;

use gitapi_core::{Error, FileAction, FileMode, RepoPath, Result};

use crate::convert::{file_mode, map_err, mode_bits};
use crate::tree_cache::TreeCache;

/// What loading and writing trees needs.
struct Ctx<'r> {
    repo: &'r git2::Repository,
    cache: &'r TreeCache,
}

#[derive(Debug)]
enum Entry {
    Leaf { oid: git2::Oid, mode: FileMode },
    Dir(Dir),
}

/// A directory: its original tree (if any), loaded lazily, and its edited entries.
#[derive(Debug, Default)]
struct Dir {
    base: Option<git2::Oid>,
    entries: Option<BTreeMap<Vec<u8>, Entry>>,
}

impl Dir {
    fn loaded(&mut self, ctx: &Ctx<'_>) -> Result<&mut BTreeMap<Vec<u8>, Entry>> {
        if self.entries.is_none() {
            let mut map = BTreeMap::new();
            if let Some(base) = self.base {
                for e in ctx.cache.get(ctx.repo, base)?.iter() {
                    let mode = file_mode(e.filemode)
                        .ok_or_else(|| Error::internal("tree entry has an unknown mode"))?;
                    let entry = if mode == FileMode::Tree {
                        Entry::Dir(Dir {
                            base: Some(e.oid),
                            entries: None,
                        })
                    } else {
                        Entry::Leaf { oid: e.oid, mode }
                    };
                    map.insert(e.name.clone(), entry);
                }
            }
            self.entries = Some(map);
        }
        Ok(self.entries.get_or_insert_with(BTreeMap::new))
    }

    /// The directory at `components`, created when `create` is set.
    fn dir_mut(
        &mut self,
        ctx: &Ctx<'_>,
        components: &[&str],
        create: bool,
        path: &RepoPath,
    ) -> Result<Option<&mut Dir>> {
        let Some((first, rest)) = components.split_first() else {
            return Ok(Some(self));
        };
        let entries = self.loaded(ctx)?;
        let key = first.as_bytes().to_vec();
        if !entries.contains_key(&key) {
            if !create {
                return Ok(None);
            }
            entries.insert(key.clone(), Entry::Dir(Dir::default()));
        }
        match entries.get_mut(&key) {
            Some(Entry::Dir(d)) => d.dir_mut(ctx, rest, create, path),
            Some(Entry::Leaf { .. }) => Err(Error::invalid(format!(
                "path {:?} runs through a file",
                path.as_str()
            ))),
            None => Ok(None),
        }
    }

    fn write(&mut self, repo: &git2::Repository) -> Result<Option<git2::Oid>> {
        let Some(entries) = self.entries.as_mut() else {
            // Never loaded: unchanged, keep its id.
            return Ok(self.base);
        };
        let mut builder = repo.treebuilder(None).map_err(map_err("building tree"))?;
        for (name, entry) in entries.iter_mut() {
            let (oid, mode) = match entry {
                Entry::Leaf { oid, mode } => (*oid, *mode),
                Entry::Dir(d) => match d.write(repo)? {
                    Some(oid) => (oid, FileMode::Tree),
                    // git stores no empty directories.
                    None => continue,
                },
            };
            builder
                .insert(name.as_slice(), oid, mode_bits(mode))
                .map_err(map_err("building tree"))?;
        }
        if builder.is_empty() {
            return Ok(None);
        }
        builder.write().map(Some).map_err(map_err("writing tree"))
    }
}

fn split(path: &RepoPath) -> (Vec<&str>, &str) {
    let mut parts: Vec<&str> = path.components().collect();
    let last = parts.pop().unwrap_or("");
    (parts, last)
}

/// An editable tree.
pub(crate) struct TreeEdit<'r> {
    ctx: Ctx<'r>,
    root: Dir,
}

impl<'r> TreeEdit<'r> {
    /// Starts from `base` (the empty tree when `None`).
    pub(crate) fn new(
        cache: &'r TreeCache,
        repo: &'r git2::Repository,
        base: Option<git2::Oid>,
    ) -> Self {
        Self {
            ctx: Ctx { repo, cache },
            root: Dir {
                base,
                entries: None,
            },
        }
    }

    fn take(&mut self, path: &RepoPath) -> Result<Entry> {
        let (dirs, name) = split(path);
        let missing = || Error::not_found(format!("path {:?} does not exist", path.as_str()));
        let dir = self
            .root
            .dir_mut(&self.ctx, &dirs, false, path)?
            .ok_or_else(missing)?;
        dir.loaded(&self.ctx)?
            .remove(name.as_bytes())
            .ok_or_else(missing)
    }

    fn insert(&mut self, path: &RepoPath, entry: Entry, replace: bool) -> Result<()> {
        let (dirs, name) = split(path);
        let dir = self
            .root
            .dir_mut(&self.ctx, &dirs, true, path)?
            .ok_or_else(|| Error::internal("directory was not created"))?;
        let entries = dir.loaded(&self.ctx)?;
        match entries.get(name.as_bytes()) {
            Some(Entry::Dir(_)) => {
                return Err(Error::invalid(format!(
                    "path {:?} is a directory",
                    path.as_str()
                )));
            }
            Some(Entry::Leaf { .. }) if !replace => {
                return Err(Error::already_exists(format!(
                    "path {:?} already exists",
                    path.as_str()
                )));
            }
            _ => {}
        }
        entries.insert(name.as_bytes().to_vec(), entry);
        Ok(())
    }

    fn leaf_mode(&mut self, path: &RepoPath) -> Result<Option<FileMode>> {
        let (dirs, name) = split(path);
        let Some(dir) = self.root.dir_mut(&self.ctx, &dirs, false, path)? else {
            return Ok(None);
        };
        Ok(match dir.loaded(&self.ctx)?.get(name.as_bytes()) {
            Some(Entry::Leaf { mode, .. }) => Some(*mode),
            _ => None,
        })
    }

    /// Applies one action.
    pub(crate) fn apply(&mut self, action: &FileAction) -> Result<()> {
        match action {
            FileAction::Put {
                path,
                content,
                mode,
            } => {
                let mode = match mode {
                    Some(FileMode::Tree) => {
                        return Err(Error::invalid("a file cannot be put with mode tree"));
                    }
                    Some(m) => *m,
                    None => match self.leaf_mode(path)? {
                        Some(
                            m @ (FileMode::Regular | FileMode::Executable | FileMode::Symlink),
                        ) => m,
                        _ => FileMode::Regular,
                    },
                };
                let oid = if mode == FileMode::Submodule {
                    let text = std::str::from_utf8(content).map_err(|_| {
                        Error::invalid("a submodule entry's content is its commit id")
                    })?;
                    crate::convert::git_oid(gitapi_core::Oid::from_hex(text.trim())?)
                } else {
                    self.ctx
                        .repo
                        .blob(content)
                        .map_err(map_err("writing blob"))?
                };
                self.insert(path, Entry::Leaf { oid, mode }, true)
            }
            FileAction::Delete { path } => self.take(path).map(drop),
            FileAction::Move { from, to } => {
                if from == to {
                    return Err(Error::invalid("move source and destination are the same"));
                }
                if to.as_str().starts_with(&format!("{}/", from.as_str())) {
                    return Err(Error::invalid("cannot move a directory into itself"));
                }
                let entry = self.take(from)?;
                if self.exists(to)? {
                    return Err(Error::already_exists(format!(
                        "path {:?} already exists",
                        to.as_str()
                    )));
                }
                self.insert(to, entry, false)
            }
            FileAction::Chmod { path, executable } => match self.leaf_mode(path)? {
                Some(FileMode::Regular | FileMode::Executable) => {
                    let entry = self.take(path)?;
                    let Entry::Leaf { oid, .. } = entry else {
                        return Err(Error::internal("leaf turned into a directory"));
                    };
                    let mode = if *executable {
                        FileMode::Executable
                    } else {
                        FileMode::Regular
                    };
                    self.insert(path, Entry::Leaf { oid, mode }, true)
                }
                Some(_) => Err(Error::invalid(format!(
                    "path {:?} is not a regular file",
                    path.as_str()
                ))),
                None if self.exists(path)? => Err(Error::invalid(format!(
                    "path {:?} is a directory",
                    path.as_str()
                ))),
                None => Err(Error::not_found(format!(
                    "path {:?} does not exist",
                    path.as_str()
                ))),
            },
        }
    }

    fn exists(&mut self, path: &RepoPath) -> Result<bool> {
        let (dirs, name) = split(path);
        let Some(dir) = self.root.dir_mut(&self.ctx, &dirs, false, path)? else {
            return Ok(false);
        };
        Ok(dir.loaded(&self.ctx)?.contains_key(name.as_bytes()))
    }

    /// Writes the changed trees and returns the root tree's id.
    pub(crate) fn write(mut self) -> Result<git2::Oid> {
        match self.root.write(self.ctx.repo)? {
            Some(oid) => Ok(oid),
            None => self
                .ctx
                .repo
                .treebuilder(None)
                .and_then(|b| b.write())
                .map_err(map_err("writing empty tree")),
        }
    }
}

/// Applies actions in order to `base` and returns the new root tree.
pub(crate) fn apply_actions(
    cache: &TreeCache,
    repo: &git2::Repository,
    base: Option<git2::Oid>,
    actions: &[FileAction],
) -> Result<git2::Oid> {
    let mut edit = TreeEdit::new(cache, repo, base);
    for a in actions {
        edit.apply(a)?;
    }
    edit.write()
}
