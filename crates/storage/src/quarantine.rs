//! Where a pushed pack waits until the push is accepted.
//!
//! git's own receive-pack writes what a client pushes into a temporary object directory inside
//! the repository's `objects/` and moves it in only after the hooks accept it; gitapi does the
//! same in its own code so the service decides. A [`Quarantine`] is that directory: `git
//! index-pack` writes into it with the repository's objects as its alternate, the service
//! checks the push against it, and then either [`Quarantine::migrate`] moves the pack into the
//! repository (durably, the index last, as git orders it) or dropping it deletes everything, so
//! a refused push leaves no object behind, loose or packed.

use std::fs;
use std::path::{Path, PathBuf};

use gitapi_core::{Error, Layout, RepoName, Result};

use crate::sync_dir;

/// A quarantine directory for one push; deleted with what is left in it when dropped.
#[derive(Debug)]
pub struct Quarantine {
    dir: tempfile::TempDir,
    objects: PathBuf,
}

impl Quarantine {
    /// A new, empty quarantine inside `repo`'s object directory (same file system, so the
    /// move in is a rename).
    pub fn create(layout: &Layout, repo: &RepoName) -> Result<Self> {
        let objects = layout.repo_dir(repo).join("objects");
        let dir = tempfile::Builder::new()
            .prefix("incoming-")
            .tempdir_in(&objects)
            .map_err(|e| Error::internal(format!("creating a quarantine for a push: {e}")))?;
        fs::create_dir(dir.path().join("pack"))
            .map_err(|e| Error::internal(format!("creating a quarantine for a push: {e}")))?;
        Ok(Self { dir, objects })
    }

    /// The quarantine's own object directory (`GIT_OBJECT_DIRECTORY` while it is used).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The repository's object directory (the quarantine's alternate).
    pub fn repo_objects(&self) -> &Path {
        &self.objects
    }

    /// Moves every object of the quarantine into the repository: packs with their `.pack`
    /// first and `.idx` last (git finds a pack by its index, so it is never seen half moved),
    /// loose objects by fan-out directory; then fsyncs the directories that changed, so the
    /// objects are durable before any ref names them.
    pub fn migrate(self) -> Result<()> {
        let io = |what: &str, e: std::io::Error| Error::internal(format!("{what}: {e}"));
        let pack_from = self.dir.path().join("pack");
        let pack_to = self.objects.join("pack");
        let mut packs: Vec<PathBuf> = fs::read_dir(&pack_from)
            .map_err(|e| io("reading the quarantine", e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        packs.sort_by_key(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            (priority(ext), p.clone())
        });
        if !packs.is_empty() {
            fs::create_dir_all(&pack_to).map_err(|e| io("creating objects/pack", e))?;
        }
        for p in &packs {
            let Some(name) = p.file_name() else { continue };
            fs::rename(p, pack_to.join(name)).map_err(|e| io("moving a pushed pack in", e))?;
        }
        if !packs.is_empty() {
            sync_dir(&pack_to);
        }
        for entry in fs::read_dir(self.dir.path()).map_err(|e| io("reading the quarantine", e))? {
            let entry = entry.map_err(|e| io("reading the quarantine", e))?;
            let name = entry.file_name();
            let fanout = name
                .to_str()
                .is_some_and(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_hexdigit()));
            if !fanout {
                continue;
            }
            let to = self.objects.join(&name);
            fs::create_dir_all(&to).map_err(|e| io("creating a loose object directory", e))?;
            for obj in fs::read_dir(entry.path()).map_err(|e| io("reading the quarantine", e))? {
                let obj = obj.map_err(|e| io("reading the quarantine", e))?;
                let target = to.join(obj.file_name());
                // An object already there is the same object (same name, same content).
                if !target.exists() {
                    fs::rename(obj.path(), target).map_err(|e| io("moving an object in", e))?;
                }
            }
            sync_dir(&to);
        }
        sync_dir(&self.objects);
        Ok(())
    }
}

/// The order files of a pack are moved in: data before the index that makes it visible.
fn priority(ext: &str) -> u8 {
    match ext {
        "pack" => 0,
        "idx" => 3,
        "keep" | "promisor" => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_quarantine_leaves_nothing_and_migrate_moves_index_last() -> Result<()> {
        let root = tempfile::tempdir().map_err(|e| Error::internal(e.to_string()))?;
        let layout = Layout::new(root.path());
        let repo = RepoName::new("r")?;
        let objects = layout.repo_dir(&repo).join("objects");
        fs::create_dir_all(objects.join("pack")).map_err(|e| Error::internal(e.to_string()))?;

        let q = Quarantine::create(&layout, &repo)?;
        let dir = q.dir().to_path_buf();
        fs::write(dir.join("pack/pack-1.pack"), b"x")
            .map_err(|e| Error::internal(e.to_string()))?;
        drop(q);
        assert!(!dir.exists(), "a dropped quarantine is deleted");
        assert!(!objects.join("pack/pack-1.pack").exists());

        let q = Quarantine::create(&layout, &repo)?;
        let dir = q.dir().to_path_buf();
        for f in ["pack/pack-2.idx", "pack/pack-2.pack", "pack/pack-2.rev"] {
            fs::write(dir.join(f), b"x").map_err(|e| Error::internal(e.to_string()))?;
        }
        fs::create_dir(dir.join("ab")).map_err(|e| Error::internal(e.to_string()))?;
        fs::write(dir.join("ab/cdef"), b"x").map_err(|e| Error::internal(e.to_string()))?;
        q.migrate()?;
        assert!(!dir.exists());
        for f in [
            "pack/pack-2.idx",
            "pack/pack-2.pack",
            "pack/pack-2.rev",
            "ab/cdef",
        ] {
            assert!(objects.join(f).exists(), "{f} moved in");
        }
        assert_eq!(
            priority("pack") < priority("rev"),
            priority("rev") < priority("idx")
        );
        Ok(())
    }
}
