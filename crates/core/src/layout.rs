//! Where repositories and workspaces live under the data directory.
//!
//! Every path is derived from validated names, each a single path component, so no name can
//! point outside the data directory.

use std::path::{Path, PathBuf};

use crate::names::{RepoName, WorkspaceName};

/// The data directory's layout:
///
/// ```text
/// <root>/repos/<repo>.git             bare repository
/// <root>/workspaces/<repo>/<ws>/      linked work tree of workspace <ws>
/// <root>/tmp/                         scratch space on the same file system (atomic renames)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// A layout rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where bare repositories live.
    pub fn repos_dir(&self) -> PathBuf {
        self.root.join("repos")
    }

    /// A repository's git directory.
    pub fn repo_dir(&self, repo: &RepoName) -> PathBuf {
        self.repos_dir().join(format!("{}.git", repo.as_str()))
    }

    /// The folder of a repository's workspaces.
    pub fn workspaces_dir(&self, repo: &RepoName) -> PathBuf {
        self.root.join("workspaces").join(repo.as_str())
    }

    /// A workspace's work tree.
    pub fn workspace_dir(&self, repo: &RepoName, ws: &WorkspaceName) -> PathBuf {
        self.workspaces_dir(repo).join(ws.as_str())
    }

    /// Scratch space on the same file system.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }
}
