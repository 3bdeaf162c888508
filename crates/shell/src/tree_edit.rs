//! The CLI side of tree edits: object I/O for [`gitapi_core::tree_edit`]. Trees are read
//! through the cat-file pool; changed trees are written bottom-up through one
//! `git mktree --batch -z` process, which answers each tree's id before its parent is sent.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

use gitapi_core::tree_edit::{StoreEntry, TreeStore};
use gitapi_core::{Error, FileAction, ObjectKind, Oid, Result};

use crate::cmd::Sub;
use crate::repo::Repo;

/// One `git mktree --batch -z` process.
struct TreeWriter {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    out: BufReader<std::process::ChildStdout>,
    guard: Option<crate::cmd::WatchGuard>,
}

impl TreeWriter {
    fn start(repo: &Repo) -> Result<Self> {
        let mut cmd = repo.git(Sub::Mktree).flag("--batch").flag("-z").command();
        cmd.stdin(Stdio::piped()).stderr(Stdio::null());
        let mut child = cmd.spawn().map_err(|e| {
            Error::new(
                gitapi_core::ErrorKind::Unavailable,
                format!("starting git mktree: {e}"),
            )
        })?;
        let guard = repo.inner.dog.watch(&child, Duration::from_secs(120));
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| Error::internal("mktree stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::internal("mktree stdout"))?;
        Ok(Self {
            child,
            stdin: Some(stdin),
            out: BufReader::new(stdout),
            guard: Some(guard),
        })
    }

    fn tree(&mut self, lines: &[(u32, &'static str, Oid, Vec<u8>)]) -> Result<Oid> {
        let mut buf = Vec::new();
        for (mode, kind, oid, name) in lines {
            buf.extend_from_slice(format!("{mode:o} {kind} {oid}\t").as_bytes());
            buf.extend_from_slice(name);
            buf.push(0);
        }
        buf.push(0);
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| Error::internal("git mktree is closed"))?;
        stdin
            .write_all(&buf)
            .and_then(|()| stdin.flush())
            .map_err(|e| Error::internal(format!("writing to git mktree: {e}")))?;
        let mut line = String::new();
        self.out
            .read_line(&mut line)
            .map_err(|e| Error::internal(format!("reading from git mktree: {e}")))?;
        Oid::from_hex(line.trim()).map_err(|_| Error::internal("git mktree failed to write a tree"))
    }

    fn finish(mut self) -> Result<()> {
        drop(self.stdin.take());
        let status = self
            .child
            .wait()
            .map_err(|e| Error::internal(format!("waiting for git mktree: {e}")))?;
        let fired = self
            .guard
            .take()
            .is_some_and(crate::cmd::WatchGuard::finish);
        if fired {
            return Err(Error::new(
                gitapi_core::ErrorKind::Timeout,
                "git mktree ran past its deadline",
            ));
        }
        if !status.success() {
            return Err(Error::internal("git mktree failed"));
        }
        Ok(())
    }
}

impl Drop for TreeWriter {
    fn drop(&mut self) {
        if self.stdin.take().is_some() {
            // Not finished: an error stopped the edit; end the process.
            crate::cmd::kill_group(i32::try_from(self.child.id()).unwrap_or(0));
            let _ = self.child.wait();
        }
    }
}

struct ShellStore<'r> {
    repo: &'r Repo,
    writer: RefCell<Option<TreeWriter>>,
}

impl TreeStore for ShellStore<'_> {
    fn read_tree(&self, id: Oid) -> Result<Vec<StoreEntry>> {
        self.repo
            .tree(id)?
            .into_iter()
            .map(|e| {
                let mode = e
                    .file_mode()
                    .ok_or_else(|| Error::internal("tree entry has an unknown mode"))?;
                Ok(StoreEntry {
                    name: e.name,
                    oid: e.oid,
                    mode,
                })
            })
            .collect()
    }

    fn write_tree(&self, entries: &[StoreEntry]) -> Result<Oid> {
        let lines: Vec<(u32, &'static str, Oid, Vec<u8>)> = entries
            .iter()
            .map(|e| {
                let kind = match e.mode.object_kind() {
                    ObjectKind::Tree => "tree",
                    ObjectKind::Commit => "commit",
                    _ => "blob",
                };
                (e.mode.bits(), kind, e.oid, e.name.clone())
            })
            .collect();
        let mut writer = self.writer.borrow_mut();
        if writer.is_none() {
            *writer = Some(TreeWriter::start(self.repo)?);
        }
        writer
            .as_mut()
            .expect("the writer was just started")
            .tree(&lines)
    }

    fn write_blob(&self, content: &[u8]) -> Result<Oid> {
        self.repo.write_object(ObjectKind::Blob, content.to_vec())
    }
}

/// Applies actions in order to `base` and returns the new root tree.
pub(crate) fn apply_actions(repo: &Repo, base: Option<Oid>, actions: &[FileAction]) -> Result<Oid> {
    let store = ShellStore {
        repo,
        writer: RefCell::new(None),
    };
    let root = gitapi_core::tree_edit::apply_actions(&store, base, actions)?;
    if let Some(w) = store.writer.into_inner() {
        w.finish()?;
    }
    Ok(root)
}
