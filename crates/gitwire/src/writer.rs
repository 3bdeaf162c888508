//! [`StagedWriter`]: stage file changes on a branch, make several commits, push them as one
//! compare-and-swap of the branch from the commit the writer started at.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use bytes::Bytes;

use crate::client::{Client, flatten};
use crate::error::{Error, Result};
use crate::object::{Commit, Kind, Mode, Signature, Tree, TreeEntry, encode_commit};
use crate::oid::Oid;
use crate::pack::PackWriter;
use crate::protocol::RefUpdate;
use crate::push::PackData;
use crate::sign::CommitSigner;

/// Where staged objects and the outgoing pack are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Everything in memory.
    Memory,
    /// Everything in temporary files.
    Disk,
    /// Memory until this many bytes are staged, then temporary files.
    Auto {
        /// Bytes kept in memory before spilling.
        max_memory_bytes: usize,
    },
}

impl Default for WriteMode {
    fn default() -> Self {
        WriteMode::Auto {
            max_memory_bytes: 32 << 20,
        }
    }
}

/// Options of a [`StagedWriter`].
#[derive(Debug, Clone, Default)]
pub struct WriterOptions {
    /// Memory, disk or auto.
    pub mode: WriteMode,
    /// Signs each commit when set.
    pub signer: Option<Arc<dyn CommitSigner>>,
}

/// Staged objects: content in memory or appended to a temporary file.
#[derive(Debug)]
struct ObjectStore {
    mode: WriteMode,
    memory: HashMap<Oid, (Kind, Bytes)>,
    memory_bytes: usize,
    file: Option<std::fs::File>,
    on_disk: HashMap<Oid, (Kind, u64, usize)>,
    file_len: u64,
}

impl ObjectStore {
    fn new(mode: WriteMode) -> Self {
        ObjectStore {
            mode,
            memory: HashMap::new(),
            memory_bytes: 0,
            file: None,
            on_disk: HashMap::new(),
            file_len: 0,
        }
    }

    fn contains(&self, oid: &Oid) -> bool {
        self.memory.contains_key(oid) || self.on_disk.contains_key(oid)
    }

    fn spill(&self, extra: usize) -> bool {
        match self.mode {
            WriteMode::Memory => false,
            WriteMode::Disk => true,
            WriteMode::Auto { max_memory_bytes } => self.memory_bytes + extra > max_memory_bytes,
        }
    }

    fn put(&mut self, kind: Kind, data: Bytes) -> Result<Oid> {
        let oid = Oid::hash_object(kind, &data);
        if self.contains(&oid) {
            return Ok(oid);
        }
        if self.spill(data.len()) {
            let file = match &mut self.file {
                Some(f) => f,
                None => self.file.insert(tempfile::tempfile()?),
            };
            file.seek(SeekFrom::Start(self.file_len))?;
            file.write_all(&data)?;
            self.on_disk.insert(oid, (kind, self.file_len, data.len()));
            self.file_len += data.len() as u64;
        } else {
            self.memory_bytes += data.len();
            self.memory.insert(oid, (kind, data));
        }
        Ok(oid)
    }

    fn get(&mut self, oid: &Oid) -> Result<Option<(Kind, Bytes)>> {
        if let Some(v) = self.memory.get(oid) {
            return Ok(Some(v.clone()));
        }
        let Some(&(kind, off, len)) = self.on_disk.get(oid) else {
            return Ok(None);
        };
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| Error::Io(std::io::Error::other("staged object file is gone")))?;
        file.seek(SeekFrom::Start(off))?;
        let mut buf = vec![0u8; len];
        file.read_exact(&mut buf)?;
        Ok(Some((kind, buf.into())))
    }

    fn on_disk(&self) -> bool {
        self.file.is_some()
    }
}

/// Stages changes to one branch and pushes them as one compare-and-swap.
///
/// Paths are `/`-separated and relative. A failed push keeps everything staged, so
/// [`StagedWriter::push`] can be called again.
#[derive(Debug)]
pub struct StagedWriter<'a> {
    client: &'a Client,
    refname: String,
    /// The value the branch must have when pushing (`None`: must not exist).
    base: Option<Oid>,
    /// The last commit: `base` or the newest staged commit.
    head: Option<Oid>,
    files: BTreeMap<String, (Mode, Oid)>,
    /// Trees the server has; they are never sent.
    remote_trees: HashSet<Oid>,
    store: ObjectStore,
    staged_commits: Vec<Oid>,
    options: WriterOptions,
}

fn check_path(path: &str) -> Result<()> {
    if path.is_empty() || path.starts_with('/') || path.ends_with('/') {
        return Err(Error::InvalidArgument(format!("path {path:?}")));
    }
    for comp in path.split('/') {
        if comp.is_empty()
            || comp == "."
            || comp == ".."
            || comp.eq_ignore_ascii_case(".git")
            || comp.contains('\0')
        {
            return Err(Error::InvalidArgument(format!("path {path:?}")));
        }
    }
    Ok(())
}

impl<'a> StagedWriter<'a> {
    /// Starts staging on `branch` (a short name like `main` or a full `refs/…` name). A branch
    /// that does not exist yet is created by the push.
    pub async fn new(client: &'a Client, branch: &str, options: WriterOptions) -> Result<Self> {
        let refname = if branch.starts_with("refs/") {
            branch.to_owned()
        } else {
            format!("refs/heads/{branch}")
        };
        let base = client
            .ls_refs(Some(&refname))
            .await?
            .into_iter()
            .find(|r| r.name == refname)
            .and_then(|r| r.oid);
        let mut writer = StagedWriter {
            client,
            refname,
            base,
            head: base,
            files: BTreeMap::new(),
            remote_trees: HashSet::new(),
            store: ObjectStore::new(options.mode),
            staged_commits: Vec::new(),
            options,
        };
        if let Some(b) = base {
            let commit = client.get_commit(b).await?;
            let trees = client.load_trees(commit.tree).await?;
            let mut flat = Vec::new();
            flatten(&trees, commit.tree, "", true, &mut flat)?;
            writer.files = flat
                .into_iter()
                .map(|e| (e.path, (e.mode, e.oid)))
                .collect();
            writer.remote_trees = trees.into_keys().collect();
        }
        Ok(writer)
    }

    /// The ref being written.
    pub fn refname(&self) -> &str {
        &self.refname
    }

    /// The commit the push will compare against.
    pub fn base(&self) -> Option<Oid> {
        self.base
    }

    /// The newest commit (staged or base).
    pub fn head(&self) -> Option<Oid> {
        self.head
    }

    /// Commits made and not yet pushed.
    pub fn staged_commits(&self) -> &[Oid] {
        &self.staged_commits
    }

    /// Whether a file, symlink or submodule is at `path`.
    pub fn exists(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// Mode and id of the entry at `path`.
    pub fn entry(&self, path: &str) -> Option<(Mode, Oid)> {
        self.files.get(path).copied()
    }

    /// Content of the file at `path` as staged.
    pub async fn read_file(&mut self, path: &str) -> Result<Bytes> {
        let (mode, oid) = self
            .entry(path)
            .ok_or_else(|| Error::NotFound(format!("path {path:?}")))?;
        if !mode.is_blob() {
            return Err(Error::InvalidArgument(format!("{path:?} is not a file")));
        }
        if let Some((_, data)) = self.store.get(&oid)? {
            return Ok(data);
        }
        self.client.get_blob(oid).await
    }

    fn dir_prefix(path: &str) -> String {
        format!("{path}/")
    }

    fn is_dir(&self, path: &str) -> bool {
        let prefix = Self::dir_prefix(path);
        self.files
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
    }

    fn check_free(&self, path: &str) -> Result<()> {
        check_path(path)?;
        if self.is_dir(path) {
            return Err(Error::InvalidArgument(format!("{path:?} is a directory")));
        }
        let mut cur = path;
        while let Some(i) = cur.rfind('/') {
            cur = &cur[..i];
            if self.files.contains_key(cur) {
                return Err(Error::InvalidArgument(format!(
                    "{cur:?} is a file, not a directory"
                )));
            }
        }
        Ok(())
    }

    /// Creates a file; fails if `path` exists.
    pub fn create_file(
        &mut self,
        path: &str,
        content: impl Into<Bytes>,
        mode: Mode,
    ) -> Result<Oid> {
        if self.exists(path) {
            return Err(Error::InvalidArgument(format!("{path:?} already exists")));
        }
        self.put_file(path, content, Some(mode))
    }

    /// Replaces a file's content, keeping its mode; fails if it does not exist.
    pub fn update_file(&mut self, path: &str, content: impl Into<Bytes>) -> Result<Oid> {
        match self.entry(path) {
            Some((m, _)) if m.is_blob() => self.put_file(path, content, None),
            _ => Err(Error::NotFound(format!("file {path:?}"))),
        }
    }

    /// Creates or replaces a file. `mode` `None` keeps an existing file's mode (or makes a
    /// regular file); use [`Mode::EXECUTABLE`] or [`Mode::SYMLINK`] (content = target) as needed.
    pub fn put_file(
        &mut self,
        path: &str,
        content: impl Into<Bytes>,
        mode: Option<Mode>,
    ) -> Result<Oid> {
        self.check_free(path)?;
        let mode = mode
            .or_else(|| self.entry(path).map(|(m, _)| m))
            .unwrap_or(Mode::FILE);
        if !mode.is_blob() {
            return Err(Error::InvalidArgument(format!(
                "mode {mode} is not a file mode"
            )));
        }
        let oid = self.store.put(Kind::Blob, content.into())?;
        self.files.insert(path.to_owned(), (mode, oid));
        Ok(oid)
    }

    /// Changes the mode of a file (e.g. to or from executable).
    pub fn set_mode(&mut self, path: &str, mode: Mode) -> Result<()> {
        let entry = self
            .files
            .get_mut(path)
            .ok_or_else(|| Error::NotFound(format!("file {path:?}")))?;
        if !entry.0.is_blob() || !mode.is_blob() {
            return Err(Error::InvalidArgument(format!(
                "cannot set mode {mode} on {path:?}"
            )));
        }
        entry.0 = mode;
        Ok(())
    }

    /// Deletes a file, symlink or submodule entry.
    pub fn delete_file(&mut self, path: &str) -> Result<()> {
        self.files
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| Error::NotFound(format!("file {path:?}")))
    }

    /// Moves a file, keeping mode and content; fails if `to` exists.
    pub fn move_file(&mut self, from: &str, to: &str) -> Result<()> {
        let entry = self
            .entry(from)
            .ok_or_else(|| Error::NotFound(format!("file {from:?}")))?;
        if self.exists(to) {
            return Err(Error::InvalidArgument(format!("{to:?} already exists")));
        }
        self.files.remove(from);
        if let Err(e) = self.check_free(to) {
            self.files.insert(from.to_owned(), entry);
            return Err(e);
        }
        self.files.insert(to.to_owned(), entry);
        Ok(())
    }

    fn take_dir(&mut self, path: &str) -> Result<Vec<(String, (Mode, Oid))>> {
        check_path(path)?;
        let prefix = Self::dir_prefix(path);
        let keys: Vec<String> = self
            .files
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        if keys.is_empty() {
            return Err(Error::NotFound(format!("directory {path:?}")));
        }
        Ok(keys
            .into_iter()
            .filter_map(|k| {
                self.files
                    .remove(&k)
                    .map(|v| (k[prefix.len()..].to_owned(), v))
            })
            .collect())
    }

    /// Deletes a directory and everything below it.
    pub fn delete_directory(&mut self, path: &str) -> Result<usize> {
        Ok(self.take_dir(path)?.len())
    }

    /// Moves a directory and everything below it; fails if `to` exists.
    pub fn move_directory(&mut self, from: &str, to: &str) -> Result<usize> {
        check_path(to)?;
        if to.starts_with(&Self::dir_prefix(from)) {
            return Err(Error::InvalidArgument(format!(
                "cannot move {from:?} into itself"
            )));
        }
        let moved = self.take_dir(from)?;
        let clash = self.exists(to) || self.is_dir(to) || self.check_free(to).is_err();
        if clash {
            for (rel, v) in moved {
                self.files.insert(format!("{from}/{rel}"), v);
            }
            return Err(Error::InvalidArgument(format!("{to:?} already exists")));
        }
        let n = moved.len();
        for (rel, v) in moved {
            self.files.insert(format!("{to}/{rel}"), v);
        }
        Ok(n)
    }

    /// Writes the trees of the staged state; returns the root tree id.
    fn write_trees(&mut self) -> Result<Oid> {
        #[derive(Default)]
        struct Dir {
            files: Vec<TreeEntry>,
            dirs: BTreeMap<String, Dir>,
        }
        let mut root = Dir::default();
        for (path, (mode, oid)) in &self.files {
            let mut dir = &mut root;
            let mut comps: Vec<&str> = path.split('/').collect();
            let name = comps.pop().unwrap_or_default();
            for c in comps {
                dir = dir.dirs.entry(c.to_owned()).or_default();
            }
            dir.files.push(TreeEntry {
                mode: *mode,
                name: name.to_owned(),
                oid: *oid,
            });
        }
        fn write(dir: Dir, store: &mut ObjectStore, remote: &HashSet<Oid>) -> Result<Oid> {
            let mut entries = dir.files;
            for (name, sub) in dir.dirs {
                let oid = write(sub, store, remote)?;
                entries.push(TreeEntry {
                    mode: Mode::TREE,
                    name,
                    oid,
                });
            }
            let data = Tree::encode(&mut entries);
            let oid = Oid::hash_object(Kind::Tree, &data);
            if !remote.contains(&oid) {
                store.put(Kind::Tree, data.into())?;
            }
            Ok(oid)
        }
        write(root, &mut self.store, &self.remote_trees)
    }

    /// Commits the staged state on top of the newest commit; `committer` defaults to the
    /// author.
    pub fn commit(
        &mut self,
        message: &str,
        author: &Signature,
        committer: Option<&Signature>,
    ) -> Result<Oid> {
        let tree = self.write_trees()?;
        let committer = committer.unwrap_or(author);
        let parents: Vec<Oid> = self.head.into_iter().collect();
        let signature = match &self.options.signer {
            Some(signer) => {
                let payload = encode_commit(tree, &parents, author, committer, message, None);
                Some(signer.sign(&payload)?)
            }
            None => None,
        };
        let data = encode_commit(
            tree,
            &parents,
            author,
            committer,
            message,
            signature.as_deref(),
        );
        let oid = self.store.put(Kind::Commit, data.into())?;
        self.head = Some(oid);
        self.staged_commits.push(oid);
        Ok(oid)
    }

    /// The objects the server lacks: staged commits and the new trees and blobs they reach.
    fn objects_to_send(&mut self) -> Result<Vec<Oid>> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for &c in &self.staged_commits {
            let (_, data) = self
                .store
                .get(&c)?
                .ok_or_else(|| Error::Io(std::io::Error::other("staged commit lost")))?;
            let commit = Commit::parse(c, &data)?;
            out.push(c);
            let mut stack = vec![commit.tree];
            while let Some(t) = stack.pop() {
                if !seen.insert(t) {
                    continue;
                }
                let Some((_, data)) = self.store.get(&t)? else {
                    continue;
                };
                out.push(t);
                for e in Tree::parse(t, &data)?.entries {
                    if e.mode.is_tree() {
                        stack.push(e.oid);
                    } else if e.mode.is_blob() && self.store.contains(&e.oid) && seen.insert(e.oid)
                    {
                        out.push(e.oid);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Pushes every staged commit: the branch moves from the base to the newest commit only if
    /// it is still at the base ([`Error::RefConflict`] otherwise). On failure nothing staged is
    /// lost. Returns the new tip.
    pub async fn push(&mut self) -> Result<Option<Oid>> {
        if self.staged_commits.is_empty() {
            return Ok(self.head);
        }
        let oids = self.objects_to_send()?;
        let count = u32::try_from(oids.len())
            .map_err(|_| Error::InvalidArgument("too many objects".into()))?;
        // Keep the pack on disk whenever the staged objects are.
        let (pack, _tmp) = if self.store.on_disk() {
            let tmp = tempfile::NamedTempFile::new()?;
            let mut w = PackWriter::new(std::io::BufWriter::new(tmp.reopen()?), count)?;
            for oid in &oids {
                let (kind, data) = self
                    .store
                    .get(oid)?
                    .ok_or_else(|| Error::Io(std::io::Error::other("staged object lost")))?;
                w.add(kind, &data)?;
            }
            w.finish()?.flush()?;
            (PackData::File(tmp.path().to_owned()), Some(tmp))
        } else {
            let mut w = PackWriter::new(Vec::new(), count)?;
            for oid in &oids {
                let (kind, data) = self
                    .store
                    .get(oid)?
                    .ok_or_else(|| Error::Io(std::io::Error::other("staged object lost")))?;
                w.add(kind, &data)?;
            }
            (PackData::Memory(w.finish()?.into()), None)
        };
        let update = RefUpdate {
            name: self.refname.clone(),
            old: self.base,
            new: self.head,
        };
        self.client
            .push(std::slice::from_ref(&update), pack, false)
            .await?;
        // The server has every object now: later pushes need not send them again.
        for oid in oids {
            if let Some((Kind::Tree, _)) = self.store.memory.get(&oid).map(|(k, d)| (*k, d)) {
                self.remote_trees.insert(oid);
            } else if let Some((Kind::Tree, _, _)) = self.store.on_disk.get(&oid) {
                self.remote_trees.insert(oid);
            }
        }
        self.base = self.head;
        self.staged_commits.clear();
        Ok(self.head)
    }
}
