//! Tree listings and blob reads.

use bytes::Bytes;
use gitapi_core::{Blob, BlobHeader, BlobRef, Error, FileMode, ListTree, Result, TreeEntry};

use crate::convert::{file_mode, git_oid, map_err, oid};
use crate::refs::resolve_object;
use crate::tree_cache::{CachedEntry, TreeCache, dir_at};

fn size_of(odb: &git2::Odb<'_>, id: git2::Oid, mode: FileMode) -> Option<u64> {
    if mode.object_kind() != gitapi_core::ObjectKind::Blob {
        return None;
    }
    // The header alone gives the size without inflating the blob.
    odb.read_header(id).ok().map(|(size, _)| size as u64)
}

fn entry(odb: &git2::Odb<'_>, e: &CachedEntry, dir: &str) -> Result<TreeEntry> {
    let name = String::from_utf8_lossy(&e.name).into_owned();
    let mode = file_mode(e.filemode)
        .ok_or_else(|| Error::internal(format!("tree entry {name:?} has an unknown mode")))?;
    let path = if dir.is_empty() {
        name.clone()
    } else {
        format!("{dir}/{name}")
    };
    Ok(TreeEntry {
        size: size_of(odb, e.oid, mode),
        kind: mode.object_kind(),
        oid: oid(e.oid),
        mode,
        name,
        path,
    })
}

fn root_tree(repo: &git2::Repository, rev: &gitapi_core::Rev) -> Result<git2::Oid> {
    let obj = resolve_object(repo, rev)?;
    match obj.kind() {
        Some(git2::ObjectType::Commit) => Ok(obj
            .as_commit()
            .map(git2::Commit::tree_id)
            .ok_or_else(|| Error::internal("commit object is not a commit"))?),
        Some(git2::ObjectType::Tree) => Ok(obj.id()),
        _ => obj.peel_to_tree().map(|t| t.id()).map_err(|_| {
            Error::invalid(format!(
                "revision {:?} does not name a tree-ish",
                rev.as_str()
            ))
        }),
    }
}

pub(crate) fn list(
    cache: &TreeCache,
    repo: &git2::Repository,
    q: &ListTree,
) -> Result<Vec<TreeEntry>> {
    let root = root_tree(repo, &q.rev)?;
    let (tree, dir) = match &q.path {
        None => (root, String::new()),
        Some(p) => (
            dir_at(cache, repo, root, p.as_str())?,
            p.as_str().to_owned(),
        ),
    };
    let odb = repo.odb().map_err(map_err("opening object database"))?;
    let mut out = Vec::new();
    if q.recursive {
        walk(cache, repo, &odb, tree, &dir, &mut out)?;
    } else {
        for e in cache.get(repo, tree)?.iter() {
            out.push(entry(&odb, e, &dir)?);
        }
    }
    Ok(out)
}

/// `git ls-tree -r`: blobs and submodules in tree order, depth first.
fn walk(
    cache: &TreeCache,
    repo: &git2::Repository,
    odb: &git2::Odb<'_>,
    tree: git2::Oid,
    dir: &str,
    out: &mut Vec<TreeEntry>,
) -> Result<()> {
    for e in cache.get(repo, tree)?.iter() {
        if e.is_tree() {
            let name = String::from_utf8_lossy(&e.name);
            let path = if dir.is_empty() {
                name.into_owned()
            } else {
                format!("{dir}/{name}")
            };
            walk(cache, repo, odb, e.oid, &path, out)?;
        } else {
            out.push(entry(odb, e, dir)?);
        }
    }
    Ok(())
}

/// The blob a reference names and, by path, the mode of its tree entry; nothing is read of
/// the blob itself.
fn locate_blob(
    cache: &TreeCache,
    repo: &git2::Repository,
    b: &BlobRef,
) -> Result<(git2::Oid, Option<FileMode>)> {
    Ok(match b {
        BlobRef::ByOid(o) => (git_oid(*o), None),
        BlobRef::ByPath { rev, path } => {
            let root = root_tree(repo, rev)?;
            let e = cache.entry_at(repo, root, path.as_str())?.ok_or_else(|| {
                Error::not_found(format!(
                    "path {:?} does not exist at {:?}",
                    path.as_str(),
                    rev.as_str()
                ))
            })?;
            let mode = file_mode(e.filemode);
            if mode.map(FileMode::object_kind) != Some(gitapi_core::ObjectKind::Blob) {
                return Err(Error::invalid(format!(
                    "path {:?} is not a file",
                    path.as_str()
                )));
            }
            (e.oid, mode)
        }
    })
}

/// A blob's id, size and mode from the object header only (`git_odb_read_header`): for a
/// loose object the first bytes inflated, for a packed one the pack entry's header.
pub(crate) fn blob_header(
    cache: &TreeCache,
    repo: &git2::Repository,
    b: &BlobRef,
) -> Result<BlobHeader> {
    let (id, mode) = locate_blob(cache, repo, b)?;
    let odb = repo.odb().map_err(map_err("opening the object database"))?;
    let (size, kind) = odb
        .read_header(id)
        .map_err(|_| Error::not_found(format!("object {id} does not exist")))?;
    if kind != git2::ObjectType::Blob {
        return Err(Error::invalid(format!("object {id} is not a blob")));
    }
    Ok(BlobHeader {
        oid: oid(id),
        size: size as u64,
        mode,
    })
}

pub(crate) fn read_blob(cache: &TreeCache, repo: &git2::Repository, b: &BlobRef) -> Result<Blob> {
    let (id, mode) = locate_blob(cache, repo, b)?;
    let obj = repo
        .find_object(id, None)
        .map_err(|_| Error::not_found(format!("object {id} does not exist")))?;
    let blob = obj
        .into_blob()
        .map_err(|_| Error::invalid(format!("object {id} is not a blob")))?;
    Ok(Blob {
        oid: oid(id),
        size: blob.size() as u64,
        mode,
        content: Bytes::copy_from_slice(blob.content()),
    })
}
