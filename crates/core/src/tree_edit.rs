//! Applies file actions to a tree without a work tree or an index, for every engine.
//!
//! Only the directories along changed paths are loaded and rewritten; every other subtree keeps
//! its id, so a one-file commit in a repository of 50,000 files writes a handful of trees. The
//! engine supplies the object I/O through [`TreeStore`]; the editing rules (what a put over a
//! directory, a move onto an existing path or a chmod of a symlink does) live here once, so both
//! engines answer the same.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::model::{FileAction, FileMode};
use crate::names::RepoPath;
use crate::oid::Oid;

/// One entry of a tree, as a [`TreeStore`] reads and writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreEntry {
    /// The name (bytes: git allows any but `/` and NUL).
    pub name: Vec<u8>,
    /// The object.
    pub oid: Oid,
    /// The mode.
    pub mode: FileMode,
}

/// The object I/O a tree edit needs from an engine.
pub trait TreeStore {
    /// The entries of tree `id`.
    fn read_tree(&self, id: Oid) -> Result<Vec<StoreEntry>>;
    /// Writes a tree of these entries (in any order: the store sorts them as git does) and
    /// returns its id; no entries is the empty tree.
    fn write_tree(&self, entries: &[StoreEntry]) -> Result<Oid>;
    /// Writes a blob and returns its id.
    fn write_blob(&self, content: &[u8]) -> Result<Oid>;
}

#[derive(Debug)]
enum Entry {
    Leaf { oid: Oid, mode: FileMode },
    Dir(Dir),
}

/// A directory: its original tree (if any), loaded lazily, and its edited entries.
#[derive(Debug, Default)]
struct Dir {
    base: Option<Oid>,
    entries: Option<BTreeMap<Vec<u8>, Entry>>,
}

impl Dir {
    fn loaded(&mut self, store: &dyn TreeStore) -> Result<&mut BTreeMap<Vec<u8>, Entry>> {
        if self.entries.is_none() {
            let mut map = BTreeMap::new();
            if let Some(base) = self.base {
                for e in store.read_tree(base)? {
                    let entry = if e.mode == FileMode::Tree {
                        Entry::Dir(Dir {
                            base: Some(e.oid),
                            entries: None,
                        })
                    } else {
                        Entry::Leaf {
                            oid: e.oid,
                            mode: e.mode,
                        }
                    };
                    map.insert(e.name, entry);
                }
            }
            self.entries = Some(map);
        }
        Ok(self.entries.get_or_insert_with(BTreeMap::new))
    }

    /// The directory at `components`, created when `create` is set.
    fn dir_mut(
        &mut self,
        store: &dyn TreeStore,
        components: &[&str],
        create: bool,
        path: &RepoPath,
    ) -> Result<Option<&mut Dir>> {
        let Some((first, rest)) = components.split_first() else {
            return Ok(Some(self));
        };
        let entries = self.loaded(store)?;
        let key = first.as_bytes().to_vec();
        if !entries.contains_key(&key) {
            if !create {
                return Ok(None);
            }
            entries.insert(key.clone(), Entry::Dir(Dir::default()));
        }
        match entries.get_mut(&key) {
            Some(Entry::Dir(d)) => d.dir_mut(store, rest, create, path),
            Some(Entry::Leaf { .. }) => Err(Error::invalid(format!(
                "path {:?} runs through a file",
                path.as_str()
            ))),
            None => Ok(None),
        }
    }

    fn write(&mut self, store: &dyn TreeStore) -> Result<Option<Oid>> {
        let Some(entries) = self.entries.as_mut() else {
            // Never loaded: unchanged, keep its id.
            return Ok(self.base);
        };
        let mut out = Vec::with_capacity(entries.len());
        for (name, entry) in entries.iter_mut() {
            let (oid, mode) = match entry {
                Entry::Leaf { oid, mode } => (*oid, *mode),
                Entry::Dir(d) => match d.write(store)? {
                    Some(oid) => (oid, FileMode::Tree),
                    // git stores no empty directories.
                    None => continue,
                },
            };
            out.push(StoreEntry {
                name: name.clone(),
                oid,
                mode,
            });
        }
        if out.is_empty() {
            return Ok(None);
        }
        store.write_tree(&out).map(Some)
    }
}

fn split(path: &RepoPath) -> (Vec<&str>, &str) {
    let mut parts: Vec<&str> = path.components().collect();
    let last = parts.pop().unwrap_or("");
    (parts, last)
}

/// An editable tree.
pub struct TreeEdit<'s> {
    store: &'s dyn TreeStore,
    root: Dir,
}

impl std::fmt::Debug for TreeEdit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeEdit")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl<'s> TreeEdit<'s> {
    /// Starts from `base` (the empty tree when `None`).
    pub fn new(store: &'s dyn TreeStore, base: Option<Oid>) -> Self {
        Self {
            store,
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
            .dir_mut(self.store, &dirs, false, path)?
            .ok_or_else(missing)?;
        dir.loaded(self.store)?
            .remove(name.as_bytes())
            .ok_or_else(missing)
    }

    fn insert(&mut self, path: &RepoPath, entry: Entry, replace: bool) -> Result<()> {
        let (dirs, name) = split(path);
        let dir = self
            .root
            .dir_mut(self.store, &dirs, true, path)?
            .ok_or_else(|| Error::internal("directory was not created"))?;
        let entries = dir.loaded(self.store)?;
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
        let Some(dir) = self.root.dir_mut(self.store, &dirs, false, path)? else {
            return Ok(None);
        };
        Ok(match dir.loaded(self.store)?.get(name.as_bytes()) {
            Some(Entry::Leaf { mode, .. }) => Some(*mode),
            _ => None,
        })
    }

    /// Applies one action.
    pub fn apply(&mut self, action: &FileAction) -> Result<()> {
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
                    Oid::from_hex(text.trim())?
                } else {
                    // Check the path before writing the blob, so a bad path writes nothing.
                    let (dirs, _) = split(path);
                    self.root.dir_mut(self.store, &dirs, false, path)?;
                    self.store.write_blob(content)?
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
        let Some(dir) = self.root.dir_mut(self.store, &dirs, false, path)? else {
            return Ok(false);
        };
        Ok(dir.loaded(self.store)?.contains_key(name.as_bytes()))
    }

    /// Writes the changed trees and returns the root tree's id.
    pub fn write(mut self) -> Result<Oid> {
        match self.root.write(self.store)? {
            Some(oid) => Ok(oid),
            None => self.store.write_tree(&[]),
        }
    }
}

/// Applies actions in order to `base` and returns the new root tree.
pub fn apply_actions(
    store: &dyn TreeStore,
    base: Option<Oid>,
    actions: &[FileAction],
) -> Result<Oid> {
    let mut edit = TreeEdit::new(store, base);
    for a in actions {
        edit.apply(a)?;
    }
    edit.write()
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use bytes::Bytes;
    use sha2::Digest;

    use super::*;
    use crate::ErrorKind;

    /// Objects in a map, ids from the content (the first 20 bytes of SHA-256: only equality
    /// matters here).
    #[derive(Default)]
    struct MemStore {
        trees: RefCell<HashMap<Oid, Vec<StoreEntry>>>,
        writes: RefCell<usize>,
    }

    fn id_of(bytes: &[u8]) -> Oid {
        let d = sha2::Sha256::digest(bytes);
        Oid::from_slice(&d[..20]).expect("20 bytes")
    }

    impl TreeStore for MemStore {
        fn read_tree(&self, id: Oid) -> Result<Vec<StoreEntry>> {
            self.trees
                .borrow()
                .get(&id)
                .cloned()
                .ok_or_else(|| Error::not_found("no such tree"))
        }
        fn write_tree(&self, entries: &[StoreEntry]) -> Result<Oid> {
            let mut sorted = entries.to_vec();
            sorted.sort_by(|a, b| a.name.cmp(&b.name));
            let text = format!("{sorted:?}");
            let id = id_of(text.as_bytes());
            self.trees.borrow_mut().insert(id, sorted);
            *self.writes.borrow_mut() += 1;
            Ok(id)
        }
        fn write_blob(&self, content: &[u8]) -> Result<Oid> {
            Ok(id_of(content))
        }
    }

    fn path(p: &str) -> RepoPath {
        RepoPath::new(p).expect("valid path")
    }

    fn put(p: &str, text: &str) -> FileAction {
        FileAction::Put {
            path: path(p),
            content: Bytes::from(text.to_owned()),
            mode: None,
        }
    }

    fn names(store: &MemStore, tree: Oid) -> Vec<String> {
        store
            .read_tree(tree)
            .expect("tree exists")
            .iter()
            .map(|e| String::from_utf8_lossy(&e.name).into_owned())
            .collect()
    }

    #[test]
    fn edits_only_along_changed_paths_and_drops_empty_dirs() {
        let store = MemStore::default();
        let base = apply_actions(
            &store,
            None,
            &[
                put("a/b/c.txt", "1"),
                put("a/d.txt", "2"),
                put("e.txt", "3"),
            ],
        )
        .expect("builds");
        assert_eq!(names(&store, base), ["a", "e.txt"]);
        *store.writes.borrow_mut() = 0;
        let next = apply_actions(&store, Some(base), &[put("e.txt", "changed")]).expect("edits");
        assert_eq!(*store.writes.borrow(), 1, "only the root is rewritten");
        assert_ne!(next, base);
        let gone = apply_actions(
            &store,
            Some(base),
            &[FileAction::Delete {
                path: path("a/b/c.txt"),
            }],
        )
        .expect("deletes");
        let a = store.read_tree(gone).expect("root")[0].oid;
        assert_eq!(names(&store, a), ["d.txt"], "the emptied directory is gone");
    }

    #[test]
    fn refuses_what_git_cannot_store() {
        let store = MemStore::default();
        let base =
            apply_actions(&store, None, &[put("dir/f", "x"), put("g", "y")]).expect("builds");
        let kind = |actions: &[FileAction]| {
            apply_actions(&store, Some(base), actions)
                .expect_err("refused")
                .kind()
        };
        assert_eq!(
            kind(&[put("g/h", "z")]),
            ErrorKind::InvalidArgument,
            "through a file"
        );
        assert_eq!(
            kind(&[put("dir", "z")]),
            ErrorKind::InvalidArgument,
            "over a directory"
        );
        assert_eq!(
            kind(&[FileAction::Delete { path: path("nope") }]),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(&[FileAction::Move {
                from: path("g"),
                to: path("dir/f")
            }]),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            kind(&[FileAction::Move {
                from: path("dir"),
                to: path("dir/sub")
            }]),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            kind(&[FileAction::Chmod {
                path: path("dir"),
                executable: true
            }]),
            ErrorKind::InvalidArgument
        );
        let moved = apply_actions(
            &store,
            Some(base),
            &[FileAction::Move {
                from: path("dir"),
                to: path("new/place"),
            }],
        )
        .expect("moves a directory");
        assert_eq!(names(&store, moved), ["g", "new"]);
    }
}
