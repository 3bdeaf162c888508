//! The small edits of a workspace (a file written, deleted or moved in its work tree; a path
//! staged, unstaged or discarded; a patch applied to its index) as data, applied in one place.
//!
//! An engine keeps only what is its own: how it opens a workspace under the workspace's lock
//! and how it changes the index (libgit2 calls or `git` commands). Which operation does what
//! is written here once, so the engine API's many one-line workspace methods do not become
//! two copies kept in step. Work-tree files are written by `gitapi-storage`'s `WorkTree`,
//! which implements [`WorkTreeFiles`], for every engine.

use bytes::Bytes;

use crate::error::Result;
use crate::model::FileMode;
use crate::names::RepoPath;

/// File operations inside one work tree (not staged). Implemented once, by
/// `gitapi_storage::WorkTree`, which refuses any path that runs through a symlink or a file.
pub trait WorkTreeFiles {
    /// Writes a file or symlink (`mode` defaults to a regular file), replacing what is there.
    fn put_file(&self, path: &RepoPath, content: &Bytes, mode: Option<FileMode>) -> Result<()>;
    /// Removes a file, symlink or whole directory.
    fn delete_file(&self, path: &RepoPath) -> Result<()>;
    /// Moves a file or directory; the destination must not exist.
    fn move_file(&self, from: &RepoPath, to: &RepoPath) -> Result<()>;
}

/// A workspace as an engine opened it: its work tree, and the index operations each engine
/// does its own way.
pub trait EditableWorkspace {
    /// The work tree's files.
    type Files: WorkTreeFiles;

    /// The work tree's files, for the file edits.
    fn files(&self) -> &Self::Files;
    /// Stages a path's work-tree state (addition, change or removal).
    fn stage(&self, path: &RepoPath) -> Result<()>;
    /// Puts a path's index entry back to the base commit's.
    fn unstage(&self, path: &RepoPath) -> Result<()>;
    /// Applies unified diff text to the index only (`git apply --cached`).
    fn stage_patch(&self, patch: &str) -> Result<()>;
    /// Puts a path's work-tree state back to its index entry.
    fn discard(&self, path: &RepoPath) -> Result<()>;
}

/// One edit of a workspace, as the engine API asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkspaceEdit {
    /// Write a file or symlink in the work tree.
    Put {
        /// Where.
        path: RepoPath,
        /// The file's content, or a symlink's target.
        content: Bytes,
        /// Regular (the default), executable or symlink.
        mode: Option<FileMode>,
    },
    /// Remove a file, symlink or directory from the work tree.
    Delete(RepoPath),
    /// Move a file or directory in the work tree.
    Move {
        /// The path moved.
        from: RepoPath,
        /// Its new path, which must not exist.
        to: RepoPath,
    },
    /// Stage a path.
    Stage(RepoPath),
    /// Unstage a path.
    Unstage(RepoPath),
    /// Apply a patch to the index.
    StagePatch(String),
    /// Discard a path's work-tree changes.
    Discard(RepoPath),
}

impl WorkspaceEdit {
    /// Applies the edit to `ws`. The caller holds the workspace's lock and makes the change
    /// durable afterwards.
    pub fn apply<W: EditableWorkspace>(&self, ws: &W) -> Result<()> {
        match self {
            Self::Put {
                path,
                content,
                mode,
            } => ws.files().put_file(path, content, *mode),
            Self::Delete(path) => ws.files().delete_file(path),
            Self::Move { from, to } => ws.files().move_file(from, to),
            Self::Stage(path) => ws.stage(path),
            Self::Unstage(path) => ws.unstage(path),
            Self::StagePatch(patch) => ws.stage_patch(patch),
            Self::Discard(path) => ws.discard(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::error::Error;

    /// Records the calls it gets; fails on a path named `fail`.
    #[derive(Default)]
    struct Recorder {
        calls: RefCell<Vec<String>>,
    }

    impl Recorder {
        fn record(&self, call: String, path: &str) -> Result<()> {
            self.calls.borrow_mut().push(call);
            if path == "fail" {
                return Err(Error::not_found("no such path"));
            }
            Ok(())
        }
    }

    impl WorkTreeFiles for Recorder {
        fn put_file(&self, path: &RepoPath, content: &Bytes, mode: Option<FileMode>) -> Result<()> {
            let call = format!("put {} {:?} {mode:?}", path.as_str(), content);
            self.record(call, path.as_str())
        }
        fn delete_file(&self, path: &RepoPath) -> Result<()> {
            self.record(format!("delete {}", path.as_str()), path.as_str())
        }
        fn move_file(&self, from: &RepoPath, to: &RepoPath) -> Result<()> {
            let call = format!("move {} {}", from.as_str(), to.as_str());
            self.record(call, from.as_str())
        }
    }

    impl EditableWorkspace for Recorder {
        type Files = Self;
        fn files(&self) -> &Self {
            self
        }
        fn stage(&self, path: &RepoPath) -> Result<()> {
            self.record(format!("stage {}", path.as_str()), path.as_str())
        }
        fn unstage(&self, path: &RepoPath) -> Result<()> {
            self.record(format!("unstage {}", path.as_str()), path.as_str())
        }
        fn stage_patch(&self, patch: &str) -> Result<()> {
            self.record(format!("patch {patch}"), patch)
        }
        fn discard(&self, path: &RepoPath) -> Result<()> {
            self.record(format!("discard {}", path.as_str()), path.as_str())
        }
    }

    fn path(p: &str) -> RepoPath {
        RepoPath::new(p).expect("valid path")
    }

    #[test]
    fn each_edit_calls_its_one_operation() {
        let ws = Recorder::default();
        let edits = [
            WorkspaceEdit::Put {
                path: path("a"),
                content: Bytes::from_static(b"x"),
                mode: Some(FileMode::Executable),
            },
            WorkspaceEdit::Delete(path("b")),
            WorkspaceEdit::Move {
                from: path("c"),
                to: path("d/e"),
            },
            WorkspaceEdit::Stage(path("f")),
            WorkspaceEdit::Unstage(path("g")),
            WorkspaceEdit::StagePatch("diff".to_owned()),
            WorkspaceEdit::Discard(path("h")),
        ];
        for edit in &edits {
            edit.apply(&ws).expect("recorded");
        }
        assert_eq!(
            ws.calls.into_inner(),
            [
                "put a b\"x\" Some(Executable)",
                "delete b",
                "move c d/e",
                "stage f",
                "unstage g",
                "patch diff",
                "discard h",
            ]
        );
    }

    #[test]
    fn an_edit_returns_the_operations_error() {
        let ws = Recorder::default();
        let err = WorkspaceEdit::Stage(path("fail"))
            .apply(&ws)
            .expect_err("refused");
        assert_eq!(err.kind(), crate::error::ErrorKind::NotFound);
    }
}
