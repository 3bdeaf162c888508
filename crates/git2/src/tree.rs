//! Tree listings and blob reads.

use std::path::Path;

use bytes::Bytes;
use gitapi_core::{Blob, BlobRef, Error, FileMode, ListTree, Result, TreeEntry};

use crate::convert::{file_mode, git_oid, map_err, object_kind, oid};
use crate::refs::resolve_object;

fn size_of(odb: &git2::Odb<'_>, id: git2::Oid, mode: FileMode) -> Option<u64> {
    if mode.object_kind() != gitapi_core::ObjectKind::Blob {
        return None;
    }
    // The header alone gives the size without inflating the blob.
    odb.read_header(id).ok().map(|(size, _)| size as u64)
}

fn entry(odb: &git2::Odb<'_>, e: &git2::TreeEntry<'_>, dir: &str) -> Result<TreeEntry> {
    let name = String::from_utf8_lossy(e.name_bytes()).into_owned();
    let mode = file_mode(e.filemode())
        .ok_or_else(|| Error::internal(format!("tree entry {name:?} has an unknown mode")))?;
    let path = if dir.is_empty() {
        name.clone()
    } else {
        format!("{dir}/{name}")
    };
    Ok(TreeEntry {
        size: size_of(odb, e.id(), mode),
        kind: object_kind(Some(mode.object_kind()).map(|k| match k {
            gitapi_core::ObjectKind::Tree => git2::ObjectType::Tree,
            gitapi_core::ObjectKind::Commit => git2::ObjectType::Commit,
            gitapi_core::ObjectKind::Tag => git2::ObjectType::Tag,
            gitapi_core::ObjectKind::Blob => git2::ObjectType::Blob,
        })),
        oid: oid(e.id()),
        mode,
        name,
        path,
    })
}

pub(crate) fn list(repo: &git2::Repository, q: &ListTree) -> Result<Vec<TreeEntry>> {
    let root = resolve_object(repo, &q.rev)?.peel_to_tree().map_err(|_| {
        Error::invalid(format!(
            "revision {:?} does not name a tree-ish",
            q.rev.as_str()
        ))
    })?;
    let (tree, dir) = match &q.path {
        None => (root, String::new()),
        Some(p) => {
            let e = root
                .get_path(Path::new(p.as_str()))
                .map_err(|_| Error::not_found(format!("path {:?} does not exist", p.as_str())))?;
            if e.kind() != Some(git2::ObjectType::Tree) {
                return Err(Error::invalid(format!(
                    "path {:?} is not a directory",
                    p.as_str()
                )));
            }
            let t = repo.find_tree(e.id()).map_err(map_err("reading tree"))?;
            (t, p.as_str().to_owned())
        }
    };
    let odb = repo.odb().map_err(map_err("opening object database"))?;
    let mut out = Vec::new();
    if q.recursive {
        walk(repo, &odb, &tree, &dir, &mut out)?;
    } else {
        for e in tree.iter() {
            out.push(entry(&odb, &e, &dir)?);
        }
    }
    Ok(out)
}

/// `git ls-tree -r`: blobs and submodules in tree order, depth first.
fn walk(
    repo: &git2::Repository,
    odb: &git2::Odb<'_>,
    tree: &git2::Tree<'_>,
    dir: &str,
    out: &mut Vec<TreeEntry>,
) -> Result<()> {
    for e in tree.iter() {
        if e.kind() == Some(git2::ObjectType::Tree) {
            let sub = repo.find_tree(e.id()).map_err(map_err("reading tree"))?;
            let name = String::from_utf8_lossy(e.name_bytes());
            let path = if dir.is_empty() {
                name.into_owned()
            } else {
                format!("{dir}/{name}")
            };
            walk(repo, odb, &sub, &path, out)?;
        } else {
            out.push(entry(odb, &e, dir)?);
        }
    }
    Ok(())
}

pub(crate) fn read_blob(repo: &git2::Repository, b: &BlobRef) -> Result<Blob> {
    let (id, mode) = match b {
        BlobRef::ByOid(o) => (git_oid(*o), None),
        BlobRef::ByPath { rev, path } => {
            let tree = resolve_object(repo, rev)?.peel_to_tree().map_err(|_| {
                Error::invalid(format!(
                    "revision {:?} does not name a tree-ish",
                    rev.as_str()
                ))
            })?;
            let e = tree.get_path(Path::new(path.as_str())).map_err(|_| {
                Error::not_found(format!(
                    "path {:?} does not exist at {:?}",
                    path.as_str(),
                    rev.as_str()
                ))
            })?;
            let mode = file_mode(e.filemode());
            if e.kind() != Some(git2::ObjectType::Blob) {
                return Err(Error::invalid(format!(
                    "path {:?} is not a file",
                    path.as_str()
                )));
            }
            (e.id(), mode)
        }
    };
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
