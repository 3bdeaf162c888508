//! Refs: listing, reading, creating, and compare-and-swap updates through `update-ref --stdin`
//! transactions (git takes every ref lock, checks every old value under the locks, then
//! commits, or changes nothing).

use gitapi_core::object::normalize_message;
use gitapi_core::reflog;
use gitapi_core::{
    CreateTag, Error, ErrorKind, ListRefs, ObjectKind, Oid, Page, Ref, RefKind, RefName, RefUpdate,
    Result, Rev, TagObject,
};

use crate::parse;
use crate::repo::{Repo, io_err};
use gitapi_gitcmd::Sub;

/// `for-each-ref` of a static prefix: name, target and fully peeled value.
fn for_each_ref(repo: &Repo, prefix: &'static str) -> Result<Vec<parse::RefLine>> {
    let out = repo.ok(repo
        .git(Sub::ForEachRef)
        .flag("--format=%(refname)%00%(objectname)%00%(*objectname)")
        .arg(prefix))?;
    Ok(parse::parse_for_each_ref(&out)?)
}

pub(crate) fn list(repo: &Repo, q: &ListRefs) -> Result<Page<Ref>> {
    let after = q
        .page
        .cursor
        .as_deref()
        .map(gitapi_core::cursor::decode_key)
        .transpose()?;
    let prefix = match q.kind {
        RefKind::Branches => "refs/heads/",
        RefKind::Tags => "refs/tags/",
        RefKind::All => "refs/",
    };
    let mut refs: Vec<parse::RefLine> = for_each_ref(repo, prefix)?
        .into_iter()
        .filter(|r| {
            q.prefix.as_deref().is_none_or(|p| r.name.starts_with(p))
                && after.as_deref().is_none_or(|a| r.name.as_str() > a)
        })
        .collect();
    refs.sort_by(|a, b| a.name.cmp(&b.name));
    let limit = q.page.effective_limit();
    let more = refs.len() > limit;
    refs.truncate(limit);
    let next_cursor = more
        .then(|| {
            refs.last()
                .map(|r| gitapi_core::cursor::encode_key(r.name.as_str()))
        })
        .flatten();
    let items = refs
        .into_iter()
        .filter_map(|r| {
            Some(Ref {
                name: RefName::new(r.name).ok()?,
                target: r.target,
                peeled: r.peeled,
            })
        })
        .collect();
    Ok(Page { items, next_cursor })
}

/// A ref with its peeled value.
fn to_ref(repo: &Repo, name: &RefName, target: Oid) -> Result<Ref> {
    let peeled = match repo.info(&target.to_string())? {
        Some((_, ObjectKind::Tag, _)) => repo.info(&format!("{target}^{{}}"))?.map(|(o, _, _)| o),
        _ => None,
    };
    Ok(Ref {
        name: name.clone(),
        target,
        peeled,
    })
}

pub(crate) fn get(repo: &Repo, name: &RefName) -> Result<Ref> {
    let target = repo
        .current(name.as_str())?
        .ok_or_else(|| Error::not_found(format!("ref {:?} does not exist", name.as_str())))?;
    to_ref(repo, name, target)
}

/// An annotated tag object by id, read through the warm `cat-file` pool.
pub(crate) fn read_tag(repo: &Repo, oid: Oid) -> Result<TagObject> {
    match repo.read(&oid.to_string())? {
        Some((o, ObjectKind::Tag, data)) => Ok(parse::parse_tag(o, &data)?),
        Some((_, kind, _)) => Err(Error::invalid(format!(
            "object {oid} is a {}, not a tag",
            format!("{kind:?}").to_lowercase()
        ))),
        None => Err(Error::not_found(format!("object {oid} does not exist"))),
    }
}

/// A failed "must not exist" is `AlreadyExists` for a create, not a lost race.
fn exists_for_create(name: &RefName) -> impl FnOnce(Error) -> Error + '_ {
    move |e| {
        if e.kind() == ErrorKind::Conflict {
            Error::already_exists(format!("ref {:?} already exists", name.as_str()))
        } else {
            e
        }
    }
}

pub(crate) fn create_branch(repo: &Repo, name: &RefName, target: &Rev) -> Result<Ref> {
    if !name.is_branch() {
        return Err(Error::invalid(format!(
            "{:?} is not a branch name",
            name.as_str()
        )));
    }
    let commit = repo.resolve_commit(target)?;
    update(
        repo,
        &[RefUpdate {
            name: name.clone(),
            new: commit,
            expected_old: Some(Oid::ZERO),
        }],
        &reflog::branch_create(target),
    )
    .map_err(exists_for_create(name))?;
    get(repo, name)
}

pub(crate) fn create_tag(repo: &Repo, tag: &CreateTag) -> Result<Ref> {
    if !tag.name.is_tag() {
        return Err(Error::invalid(format!(
            "{:?} is not a tag name",
            tag.name.as_str()
        )));
    }
    let (target, kind) = repo.resolve(&tag.target)?;
    let new = match &tag.annotation {
        None => target,
        Some(a) => {
            a.tagger.validate()?;
            let message = normalize_message(&a.message)?;
            if repo.current(tag.name.as_str())?.is_some() {
                return Err(Error::already_exists(format!(
                    "ref {:?} already exists",
                    tag.name.as_str()
                )));
            }
            let kind_name = match kind {
                ObjectKind::Blob => "blob",
                ObjectKind::Tree => "tree",
                ObjectKind::Commit => "commit",
                ObjectKind::Tag => "tag",
            };
            // The text libgit2 and `git tag -a` write.
            let body = format!(
                "object {target}\ntype {kind_name}\ntag {}\ntagger {}\n\n{message}",
                tag.name.short(),
                a.tagger.to_header()
            );
            repo.write_object(ObjectKind::Tag, body.into_bytes())?
        }
    };
    update(
        repo,
        &[RefUpdate {
            name: tag.name.clone(),
            new,
            expected_old: Some(Oid::ZERO),
        }],
        &reflog::tag_create(new),
    )
    .map_err(exists_for_create(&tag.name))?;
    get(repo, &tag.name)
}

pub(crate) fn delete(repo: &Repo, name: &RefName, expected: Option<Oid>) -> Result<()> {
    if repo.current(name.as_str())?.is_none() {
        return Err(Error::not_found(format!(
            "ref {:?} does not exist",
            name.as_str()
        )));
    }
    update(
        repo,
        &[RefUpdate {
            name: name.clone(),
            new: Oid::ZERO,
            expected_old: expected,
        }],
        &reflog::ref_update_batch(),
    )
}

pub(crate) fn rename_branch(repo: &Repo, from: &RefName, to: &RefName) -> Result<Ref> {
    if !from.is_branch() || !to.is_branch() {
        return Err(Error::invalid("only branches can be renamed"));
    }
    if repo.current(from.as_str())?.is_none() {
        return Err(Error::not_found(format!(
            "branch {:?} does not exist",
            from.as_str()
        )));
    }
    if repo.current(to.as_str())?.is_some() {
        return Err(Error::already_exists(format!(
            "ref {:?} already exists",
            to.as_str()
        )));
    }
    // One transaction creates the new name and deletes the old one (`git branch -m` would
    // refuse names that libgit2 accepts, such as `-h`). The reflog is carried over first, so
    // the new ref's log continues the old one's history.
    let tip = repo
        .current(from.as_str())?
        .ok_or_else(|| Error::not_found(format!("branch {:?} does not exist", from.as_str())))?;
    let logs = repo.path().join("logs");
    let (old_log, new_log) = (logs.join(from.as_str()), logs.join(to.as_str()));
    if let Ok(history) = std::fs::read(&old_log) {
        if let Some(parent) = new_log.parent() {
            std::fs::create_dir_all(parent).map_err(io_err("moving the reflog"))?;
        }
        std::fs::write(&new_log, history).map_err(io_err("moving the reflog"))?;
    }
    let moved = update(
        repo,
        &[
            RefUpdate {
                name: to.clone(),
                new: tip,
                expected_old: Some(Oid::ZERO),
            },
            RefUpdate {
                name: from.clone(),
                new: Oid::ZERO,
                expected_old: Some(tip),
            },
        ],
        &reflog::branch_rename(from, to),
    );
    if let Err(e) = moved {
        let _ = std::fs::remove_file(&new_log);
        return Err(exists_for_create(to)(e));
    }
    // HEAD follows the branch it named, as `git branch -m` does.
    let head = std::fs::read_to_string(repo.path().join("HEAD")).unwrap_or_default();
    if head.trim().strip_prefix("ref: ") == Some(from.as_str()) {
        repo.ok(repo.git(Sub::SymbolicRef).arg("HEAD").arg(to.as_str()))?;
    }
    get(repo, to)
}

/// Applies ref updates atomically, each a compare-and-swap: git locks every ref, checks each
/// old value under the locks, and writes all or none. A lost race is `Conflict` with
/// `RefMismatch` (the actual value read again after the failure).
pub(crate) fn update(repo: &Repo, updates: &[RefUpdate], reflog: &str) -> Result<()> {
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
            let Some((_, kind, _)) = repo.info(&u.new.to_string())? else {
                return Err(Error::not_found(format!("object {} does not exist", u.new)));
            };
            if u.name.is_branch() && kind != ObjectKind::Commit {
                return Err(Error::invalid(format!(
                    "a branch must point at a commit, {} is a {kind:?}",
                    u.new
                )));
            }
        }
    }
    // Checked before taking the locks too: most lost races and missing refs are answered
    // without starting a transaction.
    for u in updates {
        let actual = repo.current(u.name.as_str())?;
        check_expected(u, actual)?;
        if u.new.is_zero() && actual.is_none() {
            return Err(Error::not_found(format!(
                "ref {:?} does not exist",
                u.name.as_str()
            )));
        }
    }
    let mut stdin = String::from("start\n");
    for u in updates {
        // An absent old value is "whatever it is"; a zero one is "must not exist".
        let old = u.expected_old.map(|o| format!(" {o}")).unwrap_or_default();
        if u.new.is_zero() {
            stdin.push_str(&format!("delete {}{old}\n", u.name.as_str()));
        } else {
            stdin.push_str(&format!("update {} {}{old}\n", u.name.as_str(), u.new));
        }
    }
    stdin.push_str("prepare\ncommit\n");
    let out = repo.run(
        repo.git(Sub::UpdateRef)
            .reflog_message(reflog)
            .flag("--create-reflog")
            .flag("--stdin")
            .stdin(stdin.into_bytes()),
    )?;
    if out.code == 0 {
        return Ok(());
    }
    // Lost under the locks: find which expectation no longer holds.
    for u in updates {
        let actual = repo.current(u.name.as_str())?;
        check_expected(u, actual)?;
    }
    let msg = out.stderr_text();
    if msg.contains("unable to create") && msg.contains(".lock") {
        return Err(Error::new(
            ErrorKind::Conflict,
            format!("a ref stayed locked by another writer: {msg}"),
        ));
    }
    Err(out.error())
}

fn check_expected(u: &RefUpdate, actual: Option<Oid>) -> Result<()> {
    if let Some(expected) = u.expected_old {
        let matches = match actual {
            None => expected.is_zero(),
            Some(a) => a == expected,
        };
        if !matches {
            return Err(Error::ref_mismatch(
                u.name.as_str(),
                (!expected.is_zero()).then_some(expected),
                actual,
            ));
        }
    }
    Ok(())
}
