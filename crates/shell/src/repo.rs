//! One open repository: where it is, and the reads every operation shares (revision lookup,
//! objects, refs), all through the warm `cat-file` processes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gitapi_core::{Commit, Error, ObjectKind, Oid, RepoName, Result, Rev};

use crate::Inner;
use crate::catfile::{CatFileError, Cmd, Reply};
use crate::parse::{self, RawEntry};
use gitapi_gitcmd::{Git, Output, Sub};

/// An object read whole: id, type, bytes.
pub(crate) type Object = (Oid, ObjectKind, Vec<u8>);

/// An open bare repository.
#[derive(Debug, Clone)]
pub(crate) struct Repo {
    pub(crate) name: RepoName,
    pub(crate) dir: PathBuf,
    pub(crate) inner: Arc<Inner>,
}

/// Maps an I/O error with `what` was attempted.
pub(crate) fn io_err(what: &'static str) -> impl Fn(std::io::Error) -> Error {
    move |e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::not_found(format!("{what}: {e}")),
        std::io::ErrorKind::AlreadyExists => Error::already_exists(format!("{what}: {e}")),
        _ => Error::internal(format!("{what}: {e}")),
    }
}

/// The `NotFound` of a missing repository.
pub(crate) fn repo_not_found(name: &RepoName) -> Error {
    Error::not_found(format!("repository {:?} does not exist", name.as_str()))
}

impl Repo {
    /// Opens an existing repository; `NotFound` when there is none.
    pub(crate) fn open(inner: &Arc<Inner>, name: &RepoName) -> Result<Self> {
        let dir = inner.layout.repo_dir(name);
        if !dir.join("HEAD").is_file() {
            return Err(repo_not_found(name));
        }
        Ok(Self {
            name: name.clone(),
            dir,
            inner: Arc::clone(inner),
        })
    }

    /// A git command in this repository.
    pub(crate) fn git(&self, sub: Sub) -> Git {
        Git::in_repo(&self.dir, sub)
    }

    /// Runs a command; the exit status is the caller's to judge.
    pub(crate) fn run(&self, g: Git) -> Result<Output> {
        g.run(&self.inner.dog)
    }

    /// Runs a command that must succeed; its stdout.
    pub(crate) fn ok(&self, g: Git) -> Result<Vec<u8>> {
        g.ok(&self.inner.dog)
    }

    /// The repository directory.
    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }

    fn batch(&self, cmds: &[Cmd<'_>]) -> std::result::Result<Vec<Reply>, CatFileError> {
        self.inner.pool.request(&self.inner.dog, &self.dir, cmds)
    }

    /// `info <rev>`: id and type, `None` when git finds nothing. cat-file dies on a few
    /// revisions it cannot answer (`main@{upstream}` without an upstream, `HEAD:./x` outside a
    /// work tree): those resolve to nothing too.
    pub(crate) fn info(&self, rev: &str) -> Result<Option<(Oid, ObjectKind, u64)>> {
        match self.batch(&[Cmd::Info(rev)]) {
            Ok(mut r) => match r.pop() {
                Some(Reply::Found {
                    oid, kind, size, ..
                }) => Ok(Some((oid, kind, size))),
                Some(Reply::Ambiguous) => {
                    Err(Error::invalid(format!("revision {rev:?} is ambiguous")))
                }
                _ => Ok(None),
            },
            Err(CatFileError::Died) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// `info` of many names in one round trip (names the caller built: object ids).
    pub(crate) fn info_many(
        &self,
        names: &[String],
    ) -> Result<Vec<Option<(Oid, ObjectKind, u64)>>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let cmds: Vec<Cmd<'_>> = names.iter().map(|n| Cmd::Info(n)).collect();
        Ok(self
            .batch(&cmds)?
            .into_iter()
            .map(|r| match r {
                Reply::Found {
                    oid, kind, size, ..
                } => Some((oid, kind, size)),
                _ => None,
            })
            .collect())
    }

    /// `contents <name>`: the object, `None` when missing.
    pub(crate) fn read(&self, name: &str) -> Result<Option<Object>> {
        Ok(self.read_many(&[name.to_owned()])?.pop().flatten())
    }

    /// `contents` of many names in one round trip.
    pub(crate) fn read_many(&self, names: &[String]) -> Result<Vec<Option<Object>>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let cmds: Vec<Cmd<'_>> = names.iter().map(|n| Cmd::Contents(n)).collect();
        let replies = match self.batch(&cmds) {
            Ok(r) => r,
            Err(CatFileError::Died) if names.len() == 1 => return Ok(vec![None]),
            Err(e) => return Err(e.into()),
        };
        Ok(replies
            .into_iter()
            .map(|r| match r {
                Reply::Found {
                    oid,
                    kind,
                    data: Some(d),
                    ..
                } => Some((oid, kind, d)),
                _ => None,
            })
            .collect())
    }

    /// Resolves a revision to an object; `NotFound` when it names nothing.
    pub(crate) fn resolve(&self, rev: &Rev) -> Result<(Oid, ObjectKind)> {
        self.info(rev.as_str())?
            .map(|(o, k, _)| (o, k))
            .ok_or_else(|| {
                Error::not_found(format!("revision {:?} does not resolve", rev.as_str()))
            })
    }

    /// Peels an object to `commit` or `tree` (`<oid>^{commit}`), `None` when it does not peel.
    pub(crate) fn peel(&self, oid: Oid, to: &str) -> Result<Option<Oid>> {
        Ok(self.info(&format!("{oid}^{{{to}}}"))?.map(|(o, _, _)| o))
    }

    /// The commit a revision names (tags peeled); `InvalidArgument` for other objects.
    pub(crate) fn resolve_commit(&self, rev: &Rev) -> Result<Oid> {
        let (oid, kind) = self.resolve(rev)?;
        let peeled = match kind {
            ObjectKind::Commit => Some(oid),
            ObjectKind::Tag => self.peel(oid, "commit")?,
            _ => None,
        };
        peeled.ok_or_else(|| {
            Error::invalid(format!(
                "revision {:?} does not name a commit",
                rev.as_str()
            ))
        })
    }

    /// The object a tree-ish revision names and its tree; `InvalidArgument` for blobs.
    pub(crate) fn resolve_tree(&self, rev: &Rev) -> Result<(Oid, Oid)> {
        let (oid, kind) = self.resolve(rev)?;
        let tree = match kind {
            ObjectKind::Tree => Some(oid),
            ObjectKind::Commit => Some(self.commit(oid)?.tree),
            ObjectKind::Tag => self.peel(oid, "tree")?,
            ObjectKind::Blob => None,
        };
        let tree = tree.ok_or_else(|| {
            Error::invalid(format!(
                "revision {:?} does not name a tree-ish",
                rev.as_str()
            ))
        })?;
        Ok((oid, tree))
    }

    /// A commit by id, `None` when the id is not a commit here.
    pub(crate) fn try_commit(&self, oid: Oid) -> Result<Option<Commit>> {
        match self.read(&oid.to_string())? {
            Some((o, ObjectKind::Commit, data)) => Ok(Some(parse::parse_commit(o, &data)?)),
            _ => Ok(None),
        }
    }

    /// A commit by id.
    pub(crate) fn commit(&self, oid: Oid) -> Result<Commit> {
        self.try_commit(oid)?
            .ok_or_else(|| Error::not_found(format!("commit {oid} does not exist")))
    }

    /// Many commits in one round trip, `None` where an id is not a commit.
    pub(crate) fn commits(&self, oids: &[Oid]) -> Result<Vec<Option<Commit>>> {
        let names: Vec<String> = oids.iter().map(Oid::to_string).collect();
        self.read_many(&names)?
            .into_iter()
            .map(|o| match o {
                Some((oid, ObjectKind::Commit, data)) => parse::parse_commit(oid, &data)
                    .map(Some)
                    .map_err(Error::from),
                _ => Ok(None),
            })
            .collect()
    }

    /// The entries of a tree object.
    pub(crate) fn tree(&self, oid: Oid) -> Result<Vec<RawEntry>> {
        Ok(self.cached_tree(oid)?.to_vec())
    }

    /// A parsed tree, from the cache when it was read before. Callers only ask for trees they
    /// reached from this repository's own commits and trees, so the cache can be shared.
    pub(crate) fn cached_tree(&self, oid: Oid) -> Result<Arc<[RawEntry]>> {
        if let Some(t) = self.inner.trees.get(&oid) {
            return Ok(t);
        }
        let parsed: Arc<[RawEntry]> = match self.read(&oid.to_string())? {
            Some((_, ObjectKind::Tree, data)) => parse::parse_tree(&data)?.into(),
            Some(_) => return Err(Error::invalid(format!("object {oid} is not a tree"))),
            None => return Err(Error::not_found(format!("tree {oid} does not exist"))),
        };
        self.inner.trees.insert(oid, Arc::clone(&parsed));
        Ok(parsed)
    }

    /// The entry at `path` under `tree`; `None` when a component is missing or runs through
    /// something that is not a directory.
    pub(crate) fn entry_at(&self, tree: Oid, path: &str) -> Result<Option<RawEntry>> {
        let mut at = tree;
        let comps: Vec<&str> = path.split('/').collect();
        for (i, c) in comps.iter().enumerate() {
            let entries = self.cached_tree(at)?;
            let Some(e) = entries.iter().find(|e| e.name == c.as_bytes()).cloned() else {
                return Ok(None);
            };
            if i + 1 == comps.len() {
                return Ok(Some(e));
            }
            if e.mode != 0o040000 {
                return Ok(None);
            }
            at = e.oid;
        }
        Ok(None)
    }

    /// The value of a ref (symbolic refs followed), `None` when it does not exist.
    pub(crate) fn current(&self, refname: &str) -> Result<Option<Oid>> {
        Ok(self.info(refname)?.map(|(o, _, _)| o))
    }

    /// Writes an object of `kind` (`blob`, `tree`, `commit`, `tag`) with exactly these bytes.
    pub(crate) fn write_object(&self, kind: ObjectKind, data: Vec<u8>) -> Result<Oid> {
        let g = self.git(Sub::HashObject).flag("-t").flag(match kind {
            ObjectKind::Blob => "blob",
            ObjectKind::Tree => "tree",
            ObjectKind::Commit => "commit",
            ObjectKind::Tag => "tag",
        });
        let out = self.ok(g.flag("-w").flag("--stdin").stdin(data))?;
        Oid::from_hex(String::from_utf8_lossy(&out).trim())
    }
}
