//! The CLI side of tree edits: object I/O for [`gitapi_core::tree_edit`]. Trees are read
//! through the cat-file pool; changed trees are written bottom-up through one
//! `git mktree --batch -z` process, which answers each tree's id before its parent is sent.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write};

use gitapi_core::tree_edit::{StoreEntry, TreeStore};
use gitapi_core::{Error, FileAction, ObjectKind, Oid, Result};

use crate::repo::Repo;
use gitapi_gitcmd::{Process, Sub};

/// One `git mktree --batch -z` process, under the request's deadline.
struct TreeWriter {
    // Declared first so the pipes close before the process is reaped.
    stdin: Option<std::process::ChildStdin>,
    out: BufReader<std::process::ChildStdout>,
    process: Process,
}

impl TreeWriter {
    fn start(repo: &Repo) -> Result<Self> {
        let mut process = repo
            .git(Sub::Mktree)
            .flag("--batch")
            .flag("-z")
            .spawn(&repo.inner.dog)?;
        let stdin = process.take_stdin()?;
        let stdout = process.take_stdout()?;
        Ok(Self {
            stdin: Some(stdin),
            out: BufReader::new(stdout),
            process,
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
            .map_err(|e| {
                self.process
                    .explain(Error::internal(format!("writing to git mktree: {e}")))
            })?;
        let mut line = String::new();
        self.out
            .read_line(&mut line)
            .map_err(|e| Error::internal(format!("reading from git mktree: {e}")))?;
        Oid::from_hex(line.trim()).map_err(|_| {
            self.process
                .explain(Error::internal("git mktree failed to write a tree"))
        })
    }

    /// Closes stdin and waits: `Timeout` when the deadline killed git.
    fn finish(mut self) -> Result<()> {
        drop(self.stdin.take());
        if !self.process.finish()?.success() {
            return Err(Error::internal("git mktree failed"));
        }
        Ok(())
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
