//! Tree listings and blob reads, all through cat-file (no process spawned per read).

use bytes::Bytes;
use gitapi_core::{
    Blob, BlobHeader, BlobRef, Error, FileMode, ListTree, ObjectKind, Oid, Result, TreeEntry,
};

use crate::parse::RawEntry;
use crate::repo::Repo;

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// Builds entries, asking cat-file for the sizes of all blobs of the list in one round trip.
fn entries(repo: &Repo, items: Vec<(String, RawEntry)>) -> Result<Vec<TreeEntry>> {
    let blob_ids: Vec<String> = items
        .iter()
        .filter(|(_, e)| e.file_mode().map(FileMode::object_kind) == Some(ObjectKind::Blob))
        .map(|(_, e)| e.oid.to_string())
        .collect();
    let mut sizes = repo.info_many(&blob_ids)?.into_iter();
    let mut out = Vec::with_capacity(items.len());
    for (dir, e) in items {
        let name = String::from_utf8_lossy(&e.name).into_owned();
        let mode = e
            .file_mode()
            .ok_or_else(|| Error::internal(format!("tree entry {name:?} has an unknown mode")))?;
        let kind = mode.object_kind();
        let size = if kind == ObjectKind::Blob {
            sizes.next().flatten().map(|(_, _, s)| s)
        } else {
            None
        };
        out.push(TreeEntry {
            path: join(&dir, &name),
            name,
            mode,
            kind,
            oid: e.oid,
            size,
        });
    }
    Ok(out)
}

pub(crate) fn list(repo: &Repo, q: &ListTree) -> Result<Vec<TreeEntry>> {
    let (_, root) = repo.resolve_tree(&q.rev)?;
    let (tree, dir) = match &q.path {
        None => (root, String::new()),
        Some(p) => {
            let e = repo
                .entry_at(root, p.as_str())?
                .ok_or_else(|| Error::not_found(format!("path {:?} does not exist", p.as_str())))?;
            if e.file_mode() != Some(FileMode::Tree) {
                return Err(Error::invalid(format!(
                    "path {:?} is not a directory",
                    p.as_str()
                )));
            }
            (e.oid, p.as_str().to_owned())
        }
    };
    let mut items: Vec<(String, RawEntry)> = Vec::new();
    if q.recursive {
        walk(repo, tree, &dir, &mut items)?;
    } else {
        items = repo
            .tree(tree)?
            .into_iter()
            .map(|e| (dir.clone(), e))
            .collect();
    }
    entries(repo, items)
}

/// `git ls-tree -r`: blobs and submodules in tree order, depth first.
fn walk(repo: &Repo, tree: Oid, dir: &str, out: &mut Vec<(String, RawEntry)>) -> Result<()> {
    for e in repo.tree(tree)? {
        if e.file_mode() == Some(FileMode::Tree) {
            let sub = join(dir, &String::from_utf8_lossy(&e.name));
            walk(repo, e.oid, &sub, out)?;
        } else {
            out.push((dir.to_owned(), e));
        }
    }
    Ok(())
}

/// The blob a reference names and, by path, the mode of its tree entry; nothing is read of
/// the blob itself.
fn locate_blob(repo: &Repo, b: &BlobRef) -> Result<(Oid, Option<FileMode>)> {
    Ok(match b {
        BlobRef::ByOid(o) => (*o, None),
        BlobRef::ByPath { rev, path } => {
            let (_, tree) = repo.resolve_tree(rev)?;
            let e = repo.entry_at(tree, path.as_str())?.ok_or_else(|| {
                Error::not_found(format!(
                    "path {:?} does not exist at {:?}",
                    path.as_str(),
                    rev.as_str()
                ))
            })?;
            let mode = e.file_mode();
            if mode.map(FileMode::object_kind) != Some(ObjectKind::Blob) {
                return Err(Error::invalid(format!(
                    "path {:?} is not a file",
                    path.as_str()
                )));
            }
            (e.oid, mode)
        }
    })
}

/// A blob's id, size and mode from cat-file's `info` (the object header only).
pub(crate) fn blob_header(repo: &Repo, b: &BlobRef) -> Result<BlobHeader> {
    let (id, mode) = locate_blob(repo, b)?;
    match repo.info(&id.to_string())? {
        Some((oid, ObjectKind::Blob, size)) => Ok(BlobHeader { oid, size, mode }),
        Some(_) => Err(Error::invalid(format!("object {id} is not a blob"))),
        None => Err(Error::not_found(format!("blob {id} does not exist"))),
    }
}

pub(crate) fn read_blob(repo: &Repo, b: &BlobRef) -> Result<Blob> {
    let (id, mode) = locate_blob(repo, b)?;
    match repo.read(&id.to_string())? {
        Some((oid, ObjectKind::Blob, data)) => Ok(Blob {
            oid,
            size: data.len() as u64,
            mode,
            content: Bytes::from(data),
        }),
        Some(_) => Err(Error::invalid(format!("object {id} is not a blob"))),
        None => Err(Error::not_found(format!("blob {id} does not exist"))),
    }
}
