//! Writing a commit's files into a directory, without a `.git`.

use std::collections::HashMap;
use std::path::Path;

use futures::StreamExt;
use serde::Serialize;

use crate::client::{Client, FlatEntry};
use crate::error::{Error, Result};
use crate::glob::PathFilter;
use crate::oid::Oid;

/// Options of [`Client::clone_into`].
#[derive(Debug, Clone)]
pub struct CloneOptions {
    /// Keep only paths matching one of these globs (all paths if empty).
    pub include: Vec<String>,
    /// Drop paths matching any of these globs (exclude wins over include).
    pub exclude: Vec<String>,
    /// Blobs per fetch request.
    pub batch_size: usize,
    /// Fetch requests in flight at once.
    pub concurrency: usize,
}

impl Default for CloneOptions {
    fn default() -> Self {
        CloneOptions {
            include: Vec::new(),
            exclude: Vec::new(),
            batch_size: 100,
            concurrency: 4,
        }
    }
}

/// What a clone wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CloneOutcome {
    /// Files and symlinks written.
    pub files: usize,
    /// Bytes of content written.
    pub bytes: u64,
    /// Submodule directories created (empty, as git leaves them before `submodule update`).
    pub submodules: usize,
}

/// Refuses tree entries that could escape the target directory or write into a `.git`.
fn check_path(path: &str) -> Result<()> {
    for comp in path.split('/') {
        if comp.is_empty()
            || comp == "."
            || comp == ".."
            || comp.eq_ignore_ascii_case(".git")
            || comp.contains('\\')
        {
            return Err(Error::Protocol(format!(
                "refusing unsafe path {path:?} from the server"
            )));
        }
    }
    Ok(())
}

impl Client {
    /// Writes the files of `commit` that pass the include/exclude globs into `dir`, fetching
    /// blobs in concurrent batches; executable bits and symlinks are kept.
    pub async fn clone_into(
        &self,
        commit: Oid,
        dir: &Path,
        opt: &CloneOptions,
    ) -> Result<CloneOutcome> {
        let c = self.get_commit(commit).await?;
        let filter = PathFilter::new(&opt.include, &opt.exclude);
        let entries: Vec<FlatEntry> = self
            .list_tree(c.tree, true)
            .await?
            .into_iter()
            .filter(|e| filter.accepts(&e.path))
            .collect();
        let mut outcome = CloneOutcome::default();
        tokio::fs::create_dir_all(dir).await?;
        let mut by_oid: HashMap<Oid, Vec<&FlatEntry>> = HashMap::new();
        for e in &entries {
            check_path(&e.path)?;
            if e.mode.is_submodule() {
                tokio::fs::create_dir_all(dir.join(&e.path)).await?;
                outcome.submodules += 1;
            } else {
                by_oid.entry(e.oid).or_default().push(e);
            }
        }
        let oids: Vec<Oid> = by_oid.keys().copied().collect();
        let batches: Vec<Vec<Oid>> = oids
            .chunks(opt.batch_size.max(1))
            .map(<[Oid]>::to_vec)
            .collect();
        let mut results = futures::stream::iter(batches)
            .map(|batch| async move { self.get_blobs(&batch).await })
            .buffer_unordered(opt.concurrency.max(1));
        while let Some(blobs) = results.next().await {
            for (oid, data) in blobs? {
                for e in by_oid.get(&oid).into_iter().flatten() {
                    write_entry(dir, e, &data).await?;
                    outcome.files += 1;
                    outcome.bytes += data.len() as u64;
                }
            }
        }
        Ok(outcome)
    }
}

async fn write_entry(dir: &Path, e: &FlatEntry, data: &[u8]) -> Result<()> {
    let path = dir.join(&e.path);
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    if e.mode.is_symlink() {
        let target = String::from_utf8_lossy(data).into_owned();
        let _ = tokio::fs::remove_file(&path).await;
        tokio::fs::symlink(target, &path).await?;
        return Ok(());
    }
    tokio::fs::write(&path, data).await?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if e.mode.is_executable() { 0o755 } else { 0o644 };
        tokio::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).await?;
    }
    Ok(())
}
