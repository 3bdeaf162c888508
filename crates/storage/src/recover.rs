//! Owning the data directory, and cleaning up after a process that died in it.
//!
//! git and libgit2 guard every ref, the index and the config with a `<file>.lock` created with
//! `O_EXCL` and renamed over the file when the write commits. A process killed between the two
//! leaves the lock behind, and every later writer of that file is refused: git never removes
//! a lock it did not create, because it cannot know whether the creator is still alive.
//! gitapi can know: the server takes an exclusive lock on its data directory
//! ([`DataDirLock`]), so once it holds it no other gitapi works there, and any lock file or
//! scratch directory it finds was left by a process that is gone ([`sweep`]). git processes a
//! dead server started may still run; the server stops them first
//! (`gitapi_gitcmd::reap_orphans`).

use std::fs;
use std::io::{self, Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

use gitapi_core::Layout;

/// The prefix of every temporary file gitapi writes beside its destination (a work-tree file,
/// a reflog rewritten by hand), so that [`sweep`] can tell its own leftovers from user files.
pub const TMP_PREFIX: &str = ".gitapi-tmp-";

/// The file in the data directory that the serving process holds an exclusive lock on.
pub const LOCK_FILE: &str = "gitapi.lock";

const CLEAN: &str = "clean\n";

/// The exclusive hold of one process on a data directory, released when dropped (or when the
/// process dies: the kernel drops `flock` locks with the last descriptor).
#[derive(Debug)]
pub struct DataDirLock {
    file: fs::File,
    path: PathBuf,
    unclean: bool,
}

impl DataDirLock {
    /// Takes the lock on `root` (created if missing). Fails with
    /// [`io::ErrorKind::WouldBlock`] while another process holds it.
    pub fn acquire(root: &Path) -> io::Result<Self> {
        Self::acquire_file(root, LOCK_FILE)
    }

    /// Takes the lock of one node of several sharing `root` (`gitapi-NODE.lock`): a node
    /// cannot start twice, while other nodes serve beside it.
    pub fn acquire_node(root: &Path, node: &str) -> io::Result<Self> {
        Self::acquire_file(root, &format!("gitapi-{node}.lock"))
    }

    fn acquire_file(root: &Path, name: &str) -> io::Result<Self> {
        fs::create_dir_all(root)?;
        let path = root.join(name);
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        file.try_lock().map_err(|e| match e {
            fs::TryLockError::WouldBlock => io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "{} is locked: another gitapi process serves this data directory",
                    path.display()
                ),
            ),
            fs::TryLockError::Error(e) => e,
        })?;
        let mut before = String::new();
        file.read_to_string(&mut before)?;
        // A file left by a process that did not end cleanly says which process it was; a new
        // data directory has an empty file.
        let unclean = !before.is_empty() && before != CLEAN;
        Self::write(&mut file, &format!("pid {}\n", std::process::id()))?;
        Ok(Self {
            file,
            path,
            unclean,
        })
    }

    /// Whether the previous process in this data directory died without a clean shutdown
    /// (and [`sweep`] should look into the work trees too).
    pub fn unclean(&self) -> bool {
        self.unclean
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records a clean shutdown and releases the lock.
    pub fn release_clean(mut self) -> io::Result<()> {
        Self::write(&mut self.file, CLEAN)
    }

    fn write(file: &mut fs::File, text: &str) -> io::Result<()> {
        file.set_len(0)?;
        file.rewind()?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    }
}

/// What [`sweep`] removed, one path each.
#[derive(Debug, Default)]
pub struct Swept {
    /// Every lock file, temporary file and scratch directory removed.
    pub removed: Vec<PathBuf>,
    /// Paths that could not be removed, with the reason.
    pub failed: Vec<(PathBuf, io::Error)>,
}

impl Swept {
    fn remove(&mut self, path: PathBuf, dir: bool) {
        let done = if dir {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        match done {
            Ok(()) => self.removed.push(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => self.failed.push((path, e)),
        }
    }
}

/// Removes what dead processes left in the data directory: every `*.lock` file of every
/// repository (refs, `packed-refs`, `HEAD`, `config`, each workspace's `index` and `HEAD`),
/// `gc.pid`, push quarantines and git's temporary packs and objects, everything in the scratch space
/// (half-made clones, repositories being deleted), temporary files of the service's state, and
/// (with `work_trees`, after an unclean shutdown) gitapi's temporary files in work trees and
/// git's temporary loose objects.
///
/// Only call it while holding the [`DataDirLock`]: it assumes no other process is writing.
pub fn sweep(layout: &Layout, work_trees: bool) -> Swept {
    let mut swept = Swept::default();
    for entry in entries(&layout.tmp_dir()) {
        swept.remove(entry.0, entry.1);
    }
    for (repo, is_dir) in entries(&layout.repos_dir()) {
        if is_dir && repo.extension().is_some_and(|e| e == "git") {
            sweep_repo(&repo, work_trees, &mut swept);
        }
    }
    walk(&layout.root().join("state"), &mut swept, &|name| {
        name.ends_with(".tmp")
    });
    if work_trees {
        for (repo, is_dir) in entries(&layout.root().join("workspaces")) {
            if is_dir {
                walk(&repo, &mut swept, &|name| name.starts_with(TMP_PREFIX));
            }
        }
    }
    swept
}

fn sweep_repo(repo: &Path, deep: bool, swept: &mut Swept) {
    for (path, is_dir) in entries(repo) {
        let name = file_name(&path);
        if name == "objects" {
            continue;
        }
        if is_dir {
            walk(&path, swept, &is_leftover);
        } else if is_leftover(&name) || name == "gc.pid" {
            // `gc.pid` names the gc that wrote it; git refuses every later gc while a process
            // of that pid lives, and a killed gc's pid can stay alive as a zombie or be
            // reused, so a dead server's gc.pid blocked gc for good.
            swept.remove(path, false);
        }
    }
    let objects = repo.join("objects");
    for (path, is_dir) in entries(&objects) {
        let name = file_name(&path);
        // `incoming-*`: a push's quarantine (gitapi's and git's own receive-pack);
        // `tmp_*`: git's temporary loose objects.
        if name.starts_with("incoming-") || name.starts_with("tmp_") {
            swept.remove(path, is_dir);
        } else if deep && is_dir && name.len() == 2 {
            // git writes a loose object as `xx/tmp_obj_*` and renames it into place; 256
            // directories per repository, so only after an unclean stop.
            walk(&path, swept, &|n| n.starts_with("tmp_"));
        }
    }
    for (path, is_dir) in entries(&objects.join("pack")) {
        let name = file_name(&path);
        // `tmp_pack_*`/`tmp_idx_*` from index-pack and pack-objects, `.tmp-*` from repack,
        // `multi-pack-index.lock`.
        if name.starts_with("tmp_") || name.starts_with(".tmp-") || name.ends_with(".lock") {
            swept.remove(path, is_dir);
        }
    }
    // gc's `commit-graph.lock` (and the split graph's under `commit-graphs/`): a stale one
    // fails every later gc. No object or pack file ends in `.lock`.
    walk(&objects.join("info"), swept, &|n| n.ends_with(".lock"));
}

/// A lock file (no ref, index or config name may end in `.lock`) or gitapi's own temporary.
fn is_leftover(name: &str) -> bool {
    name.ends_with(".lock") || name.starts_with(TMP_PREFIX)
}

/// Removes the files under `dir` whose name `matches`, without following symlinks.
fn walk(dir: &Path, swept: &mut Swept, matches: &dyn Fn(&str) -> bool) {
    for (path, is_dir) in entries(dir) {
        if is_dir {
            walk(&path, swept, matches);
        } else if matches(&file_name(&path)) {
            swept.remove(path, false);
        }
    }
}

/// The entries of `dir` with whether each is a real directory (a symlink is not); nothing if
/// `dir` cannot be read.
fn entries(dir: &Path) -> Vec<(PathBuf, bool)> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    read.filter_map(|e| {
        let e = e.ok()?;
        let is_dir = e.file_type().ok()?.is_dir();
        Some((e.path(), is_dir))
    })
    .collect()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, b"").expect("write");
    }

    #[test]
    fn a_second_holder_is_refused_and_a_dead_holder_is_seen_as_unclean() {
        let root = tempfile::tempdir().expect("tempdir");
        let first = DataDirLock::acquire(root.path()).expect("first lock");
        assert!(!first.unclean(), "a new data directory is not unclean");
        let err = DataDirLock::acquire(root.path()).expect_err("second lock");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        // Dropped without release_clean: what a killed process leaves.
        drop(first);
        let second = DataDirLock::acquire(root.path()).expect("lock after a crash");
        assert!(second.unclean());
        second.release_clean().expect("release");
        let third = DataDirLock::acquire(root.path()).expect("lock after a clean stop");
        assert!(!third.unclean());
    }

    #[test]
    fn sweep_removes_leftovers_and_nothing_else() {
        let root = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(root.path());
        let repo = layout.repos_dir().join("r.git");
        let keep = [
            repo.join("HEAD"),
            repo.join("refs/heads/main"),
            repo.join("objects/ab/cdef"),
            repo.join("objects/pack/pack-1.pack"),
            repo.join("objects/info/commit-graph"),
            repo.join("objects/info/packs"),
            repo.join("worktrees/ws/index"),
            root.path().join("state/protections/r.json"),
            root.path().join("workspaces/r/ws/notes.lock.txt"),
            root.path().join("workspaces/r/ws/x.lock"),
        ];
        let gone = [
            repo.join("refs/heads/main.lock"),
            repo.join("refs/heads/a/b.lock"),
            repo.join("packed-refs.lock"),
            repo.join("gc.pid"),
            repo.join("objects/info/commit-graph.lock"),
            repo.join("objects/info/commit-graphs/commit-graph-chain.lock"),
            repo.join("objects/pack/multi-pack-index.lock"),
            repo.join("HEAD.lock"),
            repo.join("config.lock"),
            repo.join("refs/stash.lock"),
            repo.join("worktrees/ws/index.lock"),
            repo.join("logs/refs/.gitapi-tmp-abc"),
            repo.join("objects/incoming-x/pack/p.pack"),
            repo.join("objects/tmp_obj_1"),
            repo.join("objects/ab/tmp_obj_2"),
            repo.join("objects/pack/tmp_pack_1"),
            root.path().join("tmp/new-1/HEAD"),
            root.path().join("state/protections/r.json.tmp"),
            root.path().join("workspaces/r/ws/dir/.gitapi-tmp-1"),
        ];
        for p in keep.iter().chain(gone.iter()) {
            touch(p);
        }
        let swept = sweep(&layout, true);
        assert!(swept.failed.is_empty(), "{:?}", swept.failed);
        for p in &keep {
            assert!(p.exists(), "kept {}", p.display());
        }
        for p in &gone {
            assert!(!p.exists(), "removed {}", p.display());
        }
        assert!(!repo.join("objects/incoming-x").exists());
        assert!(!root.path().join("tmp/new-1").exists());
        // Work trees and object fan-out directories are only walked after an unclean stop.
        touch(&root.path().join("workspaces/r/ws/.gitapi-tmp-2"));
        sweep(&layout, false);
        assert!(root.path().join("workspaces/r/ws/.gitapi-tmp-2").exists());
    }
}
