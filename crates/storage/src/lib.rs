//! The storage layer of gitapi, shared by every engine so that they read and write the same
//! things on disk: the files that link a workspace to its repository, file writes inside a work
//! tree that can never escape it, and durability (`syncfs`).
//!
//! A workspace on disk is exactly what `git worktree add --detach` makes, plus one file of ours:
//!
//! ```text
//! <repo>.git/worktrees/<ws>/{HEAD,gitdir,commondir,gitapi-branch}
//! <data>/workspaces/<repo>/<ws>/.git      "gitdir: <repo>.git/worktrees/<ws>"
//! ```
#![deny(missing_docs)]

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

mod quarantine;
pub mod recover;

pub use quarantine::Quarantine;
pub use recover::TMP_PREFIX;

use bytes::Bytes;
use gitapi_core::porcelain::workspace_edit::WorkTreeFiles;
use gitapi_core::{
    Error, ErrorKind, FileMode, Layout, Oid, RefName, RepoName, RepoPath, Result, WorkspaceName,
};

/// Config every repository gets, whichever engine makes it: durable writes for the git CLI
/// (pushes, the CLI engine), reflogs for branches (renames keep history, refs can be audited),
/// no automatic gc behind the operator's back, and received objects checked.
pub const REPO_DEFAULTS: &[(&str, &str)] = &[
    ("core.fsync", "committed,index"),
    ("core.fsyncMethod", "batch"),
    ("core.logAllRefUpdates", "true"),
    ("gc.auto", "0"),
    ("receive.fsckObjects", "true"),
];

fn repo_exists(repo: &RepoName) -> Error {
    Error::already_exists(format!("repository {:?} already exists", repo.as_str()))
}

/// A fresh directory in the data directory's scratch space, on the same file system as the
/// repositories, where a new repository is built before [`move_into_place`].
pub fn scratch_dir(layout: &Layout) -> Result<tempfile::TempDir> {
    let tmp = layout.tmp_dir();
    fs::create_dir_all(&tmp).map_err(io_err("creating scratch directory"))?;
    tempfile::Builder::new()
        .prefix("new-")
        .tempdir_in(&tmp)
        .map_err(io_err("creating scratch directory"))
}

/// Moves a finished repository from scratch space to its name, atomically: rename(2) of a
/// directory onto an existing non-empty one fails, so of two concurrent creators one wins and
/// the other gets `AlreadyExists`. Flushed before it returns.
pub fn move_into_place(layout: &Layout, repo: &RepoName, built: &Path) -> Result<()> {
    let dest = layout.repo_dir(repo);
    fs::create_dir_all(layout.repos_dir()).map_err(io_err("creating repositories dir"))?;
    if dest.exists() {
        return Err(repo_exists(repo));
    }
    fs::rename(built, &dest).map_err(|e| {
        if dest.exists() {
            repo_exists(repo)
        } else {
            Error::internal(format!("moving new repository into place: {e}"))
        }
    })?;
    sync_dir(&layout.repos_dir());
    sync_fs(&layout.repos_dir())
}

/// Deletes a repository and its workspaces. Both are moved aside first, so the name is free at
/// once and a crash never leaves half a repository under the real name.
pub fn delete_repo(layout: &Layout, repo: &RepoName) -> Result<()> {
    let dir = layout.repo_dir(repo);
    if !dir.join("HEAD").is_file() {
        return Err(Error::not_found(format!(
            "repository {:?} does not exist",
            repo.as_str()
        )));
    }
    let tmp = layout.tmp_dir();
    fs::create_dir_all(&tmp).map_err(io_err("creating scratch directory"))?;
    let trash = tempfile::Builder::new()
        .prefix("deleted-")
        .tempdir_in(&tmp)
        .map_err(io_err("creating scratch directory"))?;
    fs::rename(&dir, trash.path().join("repo.git")).map_err(io_err("moving repository aside"))?;
    sync_dir(&layout.repos_dir());
    let ws = layout.workspaces_dir(repo);
    if ws.exists() {
        fs::rename(&ws, trash.path().join("workspaces"))
            .map_err(io_err("moving workspaces aside"))?;
    }
    trash.close().map_err(io_err("removing deleted repository"))
}

/// The file in a workspace's admin directory that names the branch its commits advance.
pub const BRANCH_FILE: &str = "gitapi-branch";

/// Maps an I/O error to the domain error, with `what` saying what was attempted.
pub fn io_err(what: &'static str) -> impl Fn(std::io::Error) -> Error {
    move |e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::not_found(format!("{what}: {e}")),
        std::io::ErrorKind::AlreadyExists => Error::already_exists(format!("{what}: {e}")),
        _ => Error::internal(format!("{what}: {e}")),
    }
}

/// Flushes the file system holding `path` (any path inside the data directory).
///
/// Engines call it twice per write: after the objects, before the ref that names them, and
/// after the ref, before the answer. That is the ordering a crash needs, at two flushes, where
/// fsyncing each file and its directory costs about eleven for a one-file commit; concurrent
/// writers share flushes.
pub fn sync_fs(path: &Path) -> Result<()> {
    let f = fs::File::open(path)
        .map_err(|e| Error::internal(format!("opening {} to sync: {e}", path.display())))?;
    rustix::fs::syncfs(&f).map_err(|e| Error::internal(format!("syncing file system: {e}")))
}

/// fsyncs a directory so that entries made in it survive a crash.
pub fn sync_dir(dir: &Path) {
    if let Ok(f) = fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

/// A workspace's admin directory inside its repository.
pub fn admin_dir(layout: &Layout, repo: &RepoName, ws: &WorkspaceName) -> PathBuf {
    layout.repo_dir(repo).join("worktrees").join(ws.as_str())
}

fn write_file(path: &Path, content: &str) -> Result<()> {
    let mut f = fs::File::create(path).map_err(io_err("writing workspace metadata"))?;
    f.write_all(content.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io_err("writing workspace metadata"))
}

/// Writes the files that make `<data>/workspaces/<repo>/<ws>` a linked work tree of `repo` on
/// `branch`, with HEAD detached at `base` (or naming the unborn branch). Returns the work
/// tree's absolute path; the caller fills the work tree and index.
pub fn link(
    layout: &Layout,
    repo: &RepoName,
    ws: &WorkspaceName,
    branch: &RefName,
    base: Option<Oid>,
) -> Result<PathBuf> {
    let admin = admin_dir(layout, repo, ws);
    if admin.exists() {
        return Err(Error::already_exists(format!(
            "workspace {:?} already exists",
            ws.as_str()
        )));
    }
    let dir = layout.workspace_dir(repo, ws);
    fs::create_dir_all(&dir).map_err(io_err("creating workspace"))?;
    fs::create_dir_all(&admin).map_err(io_err("creating workspace"))?;
    // git records absolute paths in worktree links (relative ones need git 2.48).
    let dir_abs = fs::canonicalize(&dir).map_err(io_err("resolving workspace path"))?;
    let admin_abs = fs::canonicalize(&admin).map_err(io_err("resolving workspace path"))?;
    let head = match base {
        Some(b) => format!("{b}\n"),
        None => format!("ref: {}\n", branch.as_str()),
    };
    write_file(&admin_abs.join("HEAD"), &head)?;
    write_file(&admin_abs.join("commondir"), "../..\n")?;
    write_file(
        &admin_abs.join("gitdir"),
        &format!("{}\n", dir_abs.join(".git").display()),
    )?;
    write_file(
        &admin_abs.join(BRANCH_FILE),
        &format!("{}\n", branch.as_str()),
    )?;
    write_file(
        &dir_abs.join(".git"),
        &format!("gitdir: {}\n", admin_abs.display()),
    )?;
    sync_dir(&admin_abs);
    Ok(dir_abs)
}

/// The branch of workspace `ws`, `None` when there is no such workspace.
pub fn branch_of(layout: &Layout, repo: &RepoName, ws: &WorkspaceName) -> Result<Option<RefName>> {
    let file = admin_dir(layout, repo, ws).join(BRANCH_FILE);
    match fs::read_to_string(&file) {
        Ok(text) => RefName::new(text.trim()).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("reading workspace")(e)),
    }
}

/// The workspaces of `repo`, sorted by name.
pub fn names(layout: &Layout, repo: &RepoName) -> Vec<WorkspaceName> {
    let dir = layout.repo_dir(repo).join("worktrees");
    let mut out: Vec<WorkspaceName> = fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join(BRANCH_FILE).is_file())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| WorkspaceName::new(n).ok())
        })
        .collect();
    out.sort();
    out
}

/// Removes a workspace's work tree and admin directory.
pub fn unlink(layout: &Layout, repo: &RepoName, ws: &WorkspaceName) -> Result<()> {
    let admin = admin_dir(layout, repo, ws);
    if !admin.exists() {
        return Err(Error::not_found(format!(
            "workspace {:?} does not exist",
            ws.as_str()
        )));
    }
    let dir = layout.workspace_dir(repo, ws);
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(io_err("removing workspace"))?;
    }
    fs::remove_dir_all(&admin).map_err(io_err("removing workspace"))
}

/// File operations inside one work tree. No operation follows a symlink or passes through a
/// file on the way to its target, so a committed symlink can never make a write land outside
/// the work tree; a refused operation changes nothing.
#[derive(Debug, Clone)]
pub struct WorkTree {
    dir: PathBuf,
}

impl WorkTree {
    /// The work tree at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The absolute path of `path`, after checking that no component on the way is a symlink
    /// or a file; missing parents are created when `create_parents` is set.
    pub fn safe_path(&self, path: &RepoPath, create_parents: bool) -> Result<PathBuf> {
        let mut at = self.dir.clone();
        let components: Vec<&str> = path.components().collect();
        let (last, parents) = components
            .split_last()
            .ok_or_else(|| Error::invalid("empty path"))?;
        for c in parents {
            at.push(c);
            match fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(Error::invalid(format!(
                        "path {:?} runs through a symlink",
                        path.as_str()
                    )));
                }
                Ok(m) if !m.is_dir() => {
                    return Err(Error::invalid(format!(
                        "path {:?} runs through a file",
                        path.as_str()
                    )));
                }
                Ok(_) => {}
                Err(_) if create_parents => {
                    fs::create_dir(&at).map_err(io_err("creating directory"))?;
                }
                Err(_) => {
                    return Err(Error::not_found(format!(
                        "path {:?} does not exist",
                        path.as_str()
                    )));
                }
            }
        }
        at.push(last);
        Ok(at)
    }

    /// Checks every parent of `path` without creating anything (missing parents are fine).
    pub fn check_parents(&self, path: &RepoPath) -> Result<()> {
        match self.safe_path(path, false) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether anything (file, directory, symlink) is at `path`.
    pub fn exists(&self, path: &RepoPath) -> bool {
        self.safe_path(path, false)
            .is_ok_and(|p| fs::symlink_metadata(p).is_ok())
    }
}

/// The work-tree file edits of the engine API (the `Put`, `Delete` and `Move` of
/// [`WorkspaceEdit`](gitapi_core::porcelain::workspace_edit::WorkspaceEdit)), for every engine.
impl WorkTreeFiles for WorkTree {
    /// Writes a file or symlink (atomically, fsynced), replacing what is there.
    fn put_file(&self, path: &RepoPath, content: &Bytes, mode: Option<FileMode>) -> Result<()> {
        // Refuse before creating any parent directory, so a failed put changes nothing.
        self.check_parents(path)?;
        let existing = self.dir.join(path.as_str());
        if let Ok(m) = fs::symlink_metadata(&existing)
            && m.is_dir()
        {
            return Err(Error::invalid(format!(
                "path {:?} is a directory",
                path.as_str()
            )));
        }
        let mode = mode.unwrap_or(FileMode::Regular);
        if !matches!(
            mode,
            FileMode::Symlink | FileMode::Regular | FileMode::Executable
        ) {
            return Err(Error::invalid("only files and symlinks can be written"));
        }
        let target = self.safe_path(path, true)?;
        if fs::symlink_metadata(&target).is_ok() {
            fs::remove_file(&target).map_err(io_err("replacing file"))?;
        }
        if mode == FileMode::Symlink {
            let link = std::str::from_utf8(content)
                .map_err(|_| Error::invalid("a symlink target must be UTF-8"))?;
            return std::os::unix::fs::symlink(link, &target).map_err(io_err("writing symlink"));
        }
        let parent = target.parent().unwrap_or(&self.dir);
        let mut tmp = tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempfile_in(parent)
            .map_err(io_err("writing file"))?;
        tmp.write_all(content)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(io_err("writing file"))?;
        let bits = if mode == FileMode::Executable {
            0o755
        } else {
            0o644
        };
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(bits))
            .map_err(io_err("writing file"))?;
        tmp.persist(&target)
            .map_err(|e| Error::internal(format!("writing file: {e}")))?;
        Ok(())
    }

    /// Removes a file, symlink or whole directory.
    fn delete_file(&self, path: &RepoPath) -> Result<()> {
        let target = self.safe_path(path, false)?;
        let m = fs::symlink_metadata(&target)
            .map_err(|_| Error::not_found(format!("path {:?} does not exist", path.as_str())))?;
        if m.is_dir() {
            fs::remove_dir_all(&target).map_err(io_err("removing directory"))
        } else {
            fs::remove_file(&target).map_err(io_err("removing file"))
        }
    }

    /// Moves a file or directory; the destination must not exist.
    fn move_file(&self, from: &RepoPath, to: &RepoPath) -> Result<()> {
        let src = self.safe_path(from, false)?;
        fs::symlink_metadata(&src)
            .map_err(|_| Error::not_found(format!("path {:?} does not exist", from.as_str())))?;
        self.check_parents(to)?;
        if fs::symlink_metadata(self.dir.join(to.as_str())).is_ok() {
            return Err(Error::already_exists(format!(
                "path {:?} already exists",
                to.as_str()
            )));
        }
        let dst = self.safe_path(to, true)?;
        fs::rename(&src, &dst).map_err(io_err("moving file"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> RepoPath {
        RepoPath::new(p).expect("valid path")
    }

    #[test]
    fn writes_never_follow_symlinks_out_of_the_tree() {
        let outside = tempfile::tempdir().expect("temp dir");
        let tree = tempfile::tempdir().expect("temp dir");
        std::os::unix::fs::symlink(outside.path(), tree.path().join("evil")).expect("symlink");
        let wt = WorkTree::new(tree.path());
        let err = wt
            .put_file(&path("evil/x"), &Bytes::from_static(b"x"), None)
            .expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(wt.delete_file(&path("evil/x")).is_err());
        assert!(wt.move_file(&path("evil"), &path("evil/y")).is_err());
        assert_eq!(fs::read_dir(outside.path()).expect("readable").count(), 0);
        // Replacing the symlink itself is fine: it is a file of the work tree.
        wt.put_file(&path("evil"), &Bytes::from_static(b"now a file"), None)
            .expect("replaces the link");
        assert!(fs::symlink_metadata(tree.path().join("evil")).is_ok_and(|m| m.is_file()));
    }

    #[test]
    fn refused_put_creates_no_directories() {
        let tree = tempfile::tempdir().expect("temp dir");
        fs::write(tree.path().join("file"), "x").expect("write");
        let wt = WorkTree::new(tree.path());
        assert!(
            wt.put_file(&path("a/b/file/c"), &Bytes::new(), None)
                .is_ok()
        );
        let err = wt
            .put_file(&path("file/c"), &Bytes::new(), None)
            .expect_err("through a file");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        let err = wt
            .put_file(&path("new/dir/x"), &Bytes::new(), Some(FileMode::Tree))
            .expect_err("not a file mode");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(!tree.path().join("new").exists());
    }
}
