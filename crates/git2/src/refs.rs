//! Refs: listing, reading, creating, and compare-and-swap updates under the ref lock.

use std::time::Duration;

use gitapi_core::reflog;
use gitapi_core::{
    CreateTag, Error, ListRefs, ObjectKind, Oid, Page, Ref, RefKind, RefName, RefUpdate, Result,
    Rev, TagObject,
};

use crate::convert::{git_oid, git_signature, map_err, oid};

/// The identity recorded in reflogs for changes made through the service.
pub(crate) fn reflog_identity() -> Result<git2::Signature<'static>> {
    let who = gitapi_core::reflog::IDENTITY;
    git2::Signature::now(who.name, who.email).map_err(map_err("building signature"))
}

pub(crate) fn resolve_object<'r>(r: &'r git2::Repository, rev: &Rev) -> Result<git2::Object<'r>> {
    r.revparse_single(rev.as_str()).map_err(|e| {
        // A `Rev` is already valid syntax for git, so what libgit2 cannot parse or peel
        // (`main~99999999999999999999`, `v1^{tag}` on a lightweight tag, a name too long for
        // a ref, a syntax it does not implement) is a revision git does not resolve either:
        // `NotFound`, as the CLI engine says. Only a failure to read the repository is the
        // server's.
        if e.class() == git2::ErrorClass::Os {
            map_err(format_args!("resolving {:?}", rev.as_str()))(e)
        } else {
            Error::not_found(format!("revision {:?} does not resolve", rev.as_str()))
        }
    })
}

pub(crate) fn resolve_commit<'r>(r: &'r git2::Repository, rev: &Rev) -> Result<git2::Commit<'r>> {
    let obj = resolve_object(r, rev)?;
    obj.peel_to_commit().map_err(|_| {
        Error::invalid(format!(
            "revision {:?} does not name a commit",
            rev.as_str()
        ))
    })
}

/// The current value of a ref, `None` when it does not exist.
pub(crate) fn current(r: &git2::Repository, name: &str) -> Result<Option<git2::Oid>> {
    match r.find_reference(name) {
        Ok(reference) => match reference.resolve() {
            Ok(resolved) => Ok(resolved.target()),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(map_err(format_args!("reading ref {name:?}"))(e)),
        },
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(map_err(format_args!("reading ref {name:?}"))(e)),
    }
}

fn to_ref(r: &git2::Repository, name: &str, target: git2::Oid) -> Result<Ref> {
    let peeled = match r.find_object(target, None) {
        Ok(obj) if obj.kind() == Some(git2::ObjectType::Tag) => {
            obj.peel(git2::ObjectType::Any).ok().and_then(|p| {
                // peel(Any) stops at the first non-tag object, as `^{}` does.
                (p.kind() != Some(git2::ObjectType::Tag)).then(|| oid(p.id()))
            })
        }
        _ => None,
    };
    Ok(Ref {
        name: RefName::new(name)?,
        target: oid(target),
        peeled,
    })
}

pub(crate) fn list(r: &git2::Repository, q: &ListRefs) -> Result<Page<Ref>> {
    let after = q
        .page
        .cursor
        .as_deref()
        .map(gitapi_core::cursor::decode_key)
        .transpose()?;
    let kind_prefix = match q.kind {
        RefKind::Branches => "refs/heads/",
        RefKind::Tags => "refs/tags/",
        RefKind::All => "refs/",
    };
    let mut names: Vec<(String, git2::Oid)> = Vec::new();
    let refs = r.references().map_err(map_err("listing refs"))?;
    for reference in refs {
        let reference = reference.map_err(map_err("listing refs"))?;
        let Ok(name) = reference.name() else { continue };
        if !name.starts_with(kind_prefix)
            || q.prefix.as_deref().is_some_and(|p| !name.starts_with(p))
            || after.as_deref().is_some_and(|a| name <= a)
        {
            continue;
        }
        let target = match reference.resolve() {
            Ok(resolved) => resolved.target(),
            Err(_) => None,
        };
        if let Some(t) = target {
            names.push((name.to_owned(), t));
        }
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    let limit = q.page.effective_limit();
    let more = names.len() > limit;
    names.truncate(limit);
    let next_cursor = more
        .then(|| {
            names
                .last()
                .map(|(n, _)| gitapi_core::cursor::encode_key(n))
        })
        .flatten();
    let items = names
        .into_iter()
        .filter_map(|(n, t)| to_ref(r, &n, t).ok())
        .collect();
    Ok(Page { items, next_cursor })
}

pub(crate) fn get(r: &git2::Repository, name: &RefName) -> Result<Ref> {
    let target = current(r, name.as_str())?
        .ok_or_else(|| Error::not_found(format!("ref {:?} does not exist", name.as_str())))?;
    to_ref(r, name.as_str(), target)
}

/// An annotated tag object by id, through libgit2's tag parser; the signature is split from
/// the message (libgit2 keeps it in the message) as git splits it.
pub(crate) fn read_tag(r: &git2::Repository, id: Oid) -> Result<TagObject> {
    let obj = match r.find_object(git_oid(id), None) {
        Ok(o) => o,
        Err(e) if e.code() == git2::ErrorCode::NotFound => {
            return Err(Error::not_found(format!("object {id} does not exist")));
        }
        Err(e) => return Err(map_err(format_args!("reading object {id}"))(e)),
    };
    let kind = obj.kind();
    let tag = obj.into_tag().map_err(|_| {
        let kind = kind.map_or("unknown", |k| k.str());
        Error::invalid(format!("object {id} is a {kind}, not a tag"))
    })?;
    let target_kind = match tag.target_type() {
        Some(git2::ObjectType::Blob) => ObjectKind::Blob,
        Some(git2::ObjectType::Tree) => ObjectKind::Tree,
        Some(git2::ObjectType::Commit) => ObjectKind::Commit,
        Some(git2::ObjectType::Tag) => ObjectKind::Tag,
        _ => return Err(Error::internal(format!("tag {id} tags an unknown type"))),
    };
    let text = String::from_utf8_lossy(tag.message_bytes().unwrap_or_default());
    let (message, signature) = gitapi_core::object::split_tag_signature(&text);
    Ok(TagObject {
        oid: id,
        name: String::from_utf8_lossy(tag.name_bytes()).into_owned(),
        target: oid(tag.target_id()),
        target_kind,
        tagger: tag.tagger().as_ref().map(crate::convert::signature),
        message: message.to_owned(),
        signature: signature.map(str::to_owned),
    })
}

pub(crate) fn create_branch(r: &git2::Repository, name: &RefName, target: &Rev) -> Result<Ref> {
    if !name.is_branch() {
        return Err(Error::invalid(format!(
            "{:?} is not a branch name",
            name.as_str()
        )));
    }
    let commit = resolve_commit(r, target)?;
    update(
        r,
        &[RefUpdate {
            name: name.clone(),
            new: oid(commit.id()),
            expected_old: Some(Oid::ZERO),
        }],
        &reflog::branch_create(target),
    )
    .map_err(exists_for_create(name))?;
    get(r, name)
}

/// A failed "must not exist" is `AlreadyExists` for a create, not a lost race.
fn exists_for_create(name: &RefName) -> impl FnOnce(Error) -> Error + '_ {
    move |e| {
        if e.kind() == gitapi_core::ErrorKind::Conflict {
            Error::already_exists(format!("ref {:?} already exists", name.as_str()))
        } else {
            e
        }
    }
}

pub(crate) fn create_tag(r: &git2::Repository, tag: &CreateTag) -> Result<Ref> {
    if !tag.name.is_tag() {
        return Err(Error::invalid(format!(
            "{:?} is not a tag name",
            tag.name.as_str()
        )));
    }
    let target = resolve_object(r, &tag.target)?;
    let new = match &tag.annotation {
        None => target.id(),
        Some(a) => {
            a.tagger.validate()?;
            let message = gitapi_core::object::normalize_message(&a.message)?;
            let tagger = git_signature(&a.tagger)?;
            if current(r, tag.name.as_str())?.is_some() {
                return Err(Error::already_exists(format!(
                    "ref {:?} already exists",
                    tag.name.as_str()
                )));
            }
            // Write only the tag object; the ref itself goes through the same CAS path as
            // every other ref write.
            r.tag_annotation_create(tag.name.short(), &target, &tagger, &message)
                .map_err(map_err("writing tag object"))?
        }
    };
    update(
        r,
        &[RefUpdate {
            name: tag.name.clone(),
            new: oid(new),
            expected_old: Some(Oid::ZERO),
        }],
        &reflog::tag_create(oid(new)),
    )
    .map_err(exists_for_create(&tag.name))?;
    get(r, &tag.name)
}

pub(crate) fn delete(r: &git2::Repository, name: &RefName, expected: Option<Oid>) -> Result<()> {
    if current(r, name.as_str())?.is_none() {
        return Err(Error::not_found(format!(
            "ref {:?} does not exist",
            name.as_str()
        )));
    }
    update(
        r,
        &[RefUpdate {
            name: name.clone(),
            new: Oid::ZERO,
            expected_old: expected,
        }],
        &reflog::ref_update_batch(),
    )
}

pub(crate) fn rename_branch(r: &git2::Repository, from: &RefName, to: &RefName) -> Result<Ref> {
    if !from.is_branch() || !to.is_branch() {
        return Err(Error::invalid("only branches can be renamed"));
    }
    let tip = current(r, from.as_str())?
        .ok_or_else(|| Error::not_found(format!("branch {:?} does not exist", from.as_str())))?;
    if current(r, to.as_str())?.is_some() {
        return Err(Error::already_exists(format!(
            "ref {:?} already exists",
            to.as_str()
        )));
    }
    // One compare-and-swap transaction creates the new name and deletes the old one, as the CLI
    // engine does, instead of git_branch_move: that one writes its own reflog message under the
    // repository's configured identity, not the shared `reflog::branch_rename` under
    // `reflog::IDENTITY`. The reflog is carried over first, so the new ref's log continues the
    // old one's history and ends with the rename.
    let logs = r.path().join("logs");
    let (old_log, new_log) = (logs.join(from.as_str()), logs.join(to.as_str()));
    if let Ok(history) = std::fs::read(&old_log) {
        if let Some(parent) = new_log.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::internal(format!("moving the reflog: {e}")))?;
        }
        std::fs::write(&new_log, history)
            .map_err(|e| Error::internal(format!("moving the reflog: {e}")))?;
    }
    let moved = update(
        r,
        &[
            RefUpdate {
                name: to.clone(),
                new: oid(tip),
                expected_old: Some(Oid::ZERO),
            },
            RefUpdate {
                name: from.clone(),
                new: Oid::ZERO,
                expected_old: Some(oid(tip)),
            },
        ],
        &reflog::branch_rename(from, to),
    );
    if let Err(e) = moved {
        // Best effort: the copied log of a name that was not created is only clutter.
        let _ = std::fs::remove_file(&new_log);
        return Err(exists_for_create(to)(e));
    }
    // HEAD follows the branch it named, as `git branch -m` does.
    let head_target = r
        .find_reference("HEAD")
        .ok()
        .and_then(|h| h.symbolic_target().ok().flatten().map(str::to_owned));
    if head_target.as_deref() == Some(from.as_str()) {
        r.reference_symbolic("HEAD", to.as_str(), true, &reflog::branch_rename(from, to))
            .map_err(map_err("pointing HEAD at the renamed branch"))?;
        gitapi_storage::sync_fs(r.path())?;
    }
    get(r, to)
}

/// Applies ref updates atomically: every ref is locked first, every expectation checked under
/// the locks, then all are written. A ref that another writer holds locked is retried for a
/// short while, since that writer's update is about to land and decides our compare.
pub(crate) fn update(r: &git2::Repository, updates: &[RefUpdate], message: &str) -> Result<()> {
    if updates.is_empty() {
        return Ok(());
    }
    let mut seen = std::collections::HashSet::new();
    for u in updates {
        if !seen.insert(u.name.as_str()) {
            return Err(Error::invalid(format!(
                "ref {:?} appears twice in one update",
                u.name.as_str()
            )));
        }
        if !u.new.is_zero() {
            let obj = r
                .find_object(git_oid(u.new), None)
                .map_err(|_| Error::not_found(format!("object {} does not exist", u.new)))?;
            // As git refuses: a branch always points at a commit.
            if u.name.is_branch() && obj.kind() != Some(git2::ObjectType::Commit) {
                return Err(Error::invalid(format!(
                    "branch {:?} can only point at a commit, {} is not one",
                    u.name.as_str(),
                    u.new
                )));
            }
        }
    }
    let identity = reflog_identity()?;
    // Objects the new values name are durable before any ref names them.
    gitapi_storage::sync_fs(r.path())?;
    // Every ref written gets a reflog, as `update-ref --create-reflog` gives on the CLI engine
    // (libgit2 would log only branches under `core.logAllRefUpdates=true`).
    for u in updates.iter().filter(|u| !u.new.is_zero()) {
        r.reference_ensure_log(u.name.as_str())
            .map_err(map_err(format_args!(
                "creating the reflog of {:?}",
                u.name.as_str()
            )))?;
    }
    let mut tx = lock_all(r, updates)?;
    for u in updates {
        let actual = current(r, u.name.as_str())?;
        if let Some(expected) = u.expected_old {
            let matches = match actual {
                None => expected.is_zero(),
                Some(a) => oid(a) == expected,
            };
            if !matches {
                return Err(Error::ref_mismatch(
                    u.name.as_str(),
                    (!expected.is_zero()).then_some(expected),
                    actual.map(oid),
                ));
            }
        }
        if u.new.is_zero() {
            if actual.is_none() {
                return Err(Error::not_found(format!(
                    "ref {:?} does not exist",
                    u.name.as_str()
                )));
            }
            tx.remove(u.name.as_str())
                .map_err(map_err(format_args!("deleting {:?}", u.name.as_str())))?;
        } else {
            tx.set_target(u.name.as_str(), git_oid(u.new), Some(&identity), message)
                .map_err(map_err(format_args!("updating {:?}", u.name.as_str())))?;
        }
    }
    // The point of no return: the last check of the caller's deadline. A timeout here drops
    // the transaction, releasing the locks with no ref moved; after it nothing is cut.
    gitapi_core::Deadline::current().check("the ref update")?;
    tx.commit().map_err(map_err("committing ref transaction"))?;
    // Landed: reading the result back must not answer `Timeout`.
    gitapi_core::Deadline::land();
    gitapi_storage::sync_fs(r.path())
}

fn lock_all<'r>(r: &'r git2::Repository, updates: &[RefUpdate]) -> Result<git2::Transaction<'r>> {
    let mut delay = Duration::from_millis(1);
    let mut waited = Duration::ZERO;
    loop {
        let mut tx = r
            .transaction()
            .map_err(map_err("starting ref transaction"))?;
        let mut locked_out = None;
        for u in updates {
            match tx.lock_ref(u.name.as_str()) {
                Ok(()) => {}
                Err(e) if e.code() == git2::ErrorCode::Locked => {
                    locked_out = Some(u.name.as_str().to_owned());
                    break;
                }
                Err(e) => return Err(map_err(format_args!("locking {:?}", u.name.as_str()))(e)),
            }
        }
        let Some(name) = locked_out else {
            return Ok(tx);
        };
        // Dropping the transaction releases the locks taken so far.
        drop(tx);
        if waited >= Duration::from_secs(5) {
            return Err(Error::new(
                gitapi_core::ErrorKind::Conflict,
                format!("ref {name:?} stayed locked by another writer"),
            ));
        }
        std::thread::sleep(delay);
        waited += delay;
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}
