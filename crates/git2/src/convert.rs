//! Conversions between libgit2's types and the domain model, and the error mapping.

use gitapi_core::{Commit, Error, ErrorKind, FileMode, Oid, Signature};

/// Maps a libgit2 error to the domain error, with `what` saying what was attempted.
pub(crate) fn map_err(what: impl std::fmt::Display) -> impl FnOnce(git2::Error) -> Error {
    move |e| {
        use git2::ErrorCode as C;
        let kind = match e.code() {
            C::NotFound | C::UnbornBranch => ErrorKind::NotFound,
            C::Exists => ErrorKind::AlreadyExists,
            C::Ambiguous | C::InvalidSpec | C::Invalid | C::Peel => ErrorKind::InvalidArgument,
            C::Conflict | C::MergeConflict | C::Modified | C::Locked | C::NotFastForward => {
                ErrorKind::Conflict
            }
            C::BareRepo | C::Uncommitted | C::IndexDirty | C::Applied => {
                ErrorKind::FailedPrecondition
            }
            C::Auth | C::Certificate => ErrorKind::Unavailable,
            C::Timeout => ErrorKind::Timeout,
            _ => match e.class() {
                git2::ErrorClass::Odb | git2::ErrorClass::Reference
                    if e.message().contains("not found") =>
                {
                    ErrorKind::NotFound
                }
                // A tree entry git will not write to a work tree (`.git`, `..`, an NTFS or
                // HFS+ spelling of them): the content is the problem, not the server.
                _ if e.message().contains("invalid path") => ErrorKind::FailedPrecondition,
                _ => ErrorKind::Internal,
            },
        };
        Error::new(kind, format!("{what}: {}", e.message().to_lowercase()))
    }
}

pub(crate) fn oid(o: git2::Oid) -> Oid {
    Oid::from_slice(o.as_bytes()).expect("libgit2 is built for sha1: ids are 20 bytes")
}

pub(crate) fn git_oid(o: Oid) -> git2::Oid {
    git2::Oid::from_bytes(o.as_bytes()).expect("20 bytes are a valid sha1 id")
}

pub(crate) fn signature(s: &git2::Signature<'_>) -> Signature {
    Signature {
        name: String::from_utf8_lossy(s.name_bytes()).into_owned(),
        email: String::from_utf8_lossy(s.email_bytes()).into_owned(),
        time: s.when().seconds(),
        offset_minutes: s.when().offset_minutes(),
    }
}

pub(crate) fn git_signature(s: &Signature) -> Result<git2::Signature<'static>, Error> {
    git2::Signature::new(
        &s.name,
        &s.email,
        &git2::Time::new(s.time, s.offset_minutes),
    )
    .map_err(map_err("building signature"))
}

pub(crate) fn commit(repo: &git2::Repository, c: &git2::Commit<'_>) -> Commit {
    let gpgsig = repo
        .extract_signature(&c.id(), None)
        .ok()
        .map(|(sig, _)| String::from_utf8_lossy(&sig).into_owned());
    Commit {
        oid: oid(c.id()),
        tree: oid(c.tree_id()),
        parents: c.parent_ids().map(oid).collect(),
        author: signature(&c.author()),
        committer: signature(&c.committer()),
        message: String::from_utf8_lossy(c.message_raw_bytes()).into_owned(),
        signature: gpgsig,
    }
}

pub(crate) fn file_mode(filemode: i32) -> Option<FileMode> {
    u32::try_from(filemode).ok().and_then(FileMode::from_bits)
}

pub(crate) fn mode_bits(mode: FileMode) -> i32 {
    i32::try_from(mode.bits()).expect("git modes fit in i32")
}
