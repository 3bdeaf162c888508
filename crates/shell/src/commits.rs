//! Commits: reading, the log walk (`rev-list`), and every way of making a commit without a
//! work tree.

use gitapi_core::object::{
    check_message, commit_payload as payload_text, insert_signature, normalize_message,
};
use gitapi_core::porcelain::pick::{Pick, Picked};
use gitapi_core::reflog;
use gitapi_core::{
    Amend, Commit, CommitFiles, Error, ErrorKind, LogQuery, ObjectKind, Oid, PickCommit, RefName,
    RefUpdate, Result, Rev, RevRange, Signature, Signing, SshSigner,
};

use crate::refs;
use crate::repo::Repo;
use gitapi_gitcmd::log::Walk;
use gitapi_gitcmd::{Sub, Value};

/// Everything needed to write one commit object.
#[derive(Debug, Clone)]
pub(crate) struct NewCommit {
    pub(crate) tree: Oid,
    pub(crate) parents: Vec<Oid>,
    pub(crate) author: Signature,
    pub(crate) committer: Signature,
    pub(crate) message: String,
}

impl NewCommit {
    /// The bytes hashed (before signing): the same function the libgit2 engine uses.
    pub(crate) fn payload(&self) -> Result<String> {
        self.payload_as(false)
    }

    /// The payload, with the message stored as given (`verbatim`, as a pick copies a commit's
    /// message) or normalised to end in one newline.
    fn payload_as(&self, verbatim: bool) -> Result<String> {
        self.author.validate()?;
        self.committer.validate()?;
        let message = if verbatim {
            check_message(&self.message)?;
            self.message.clone()
        } else {
            normalize_message(&self.message)?
        };
        Ok(payload_text(
            self.tree,
            &self.parents,
            &self.author,
            &self.committer,
            &message,
        ))
    }

    /// Writes the unsigned commit object with the message kept byte for byte (a cherry-pick or
    /// revert, as git's sequencer stores it) and returns its id.
    pub(crate) fn write_verbatim(&self, repo: &Repo) -> Result<Oid> {
        repo.write_object(ObjectKind::Commit, self.payload_as(true)?.into_bytes())
    }

    /// Writes the commit object (signed as asked) and returns its id.
    pub(crate) fn write(
        &self,
        repo: &Repo,
        signing: &Signing,
        signer: Option<&SshSigner>,
    ) -> Result<Oid> {
        let payload = self.payload()?;
        let body = match signing {
            Signing::None => payload,
            Signing::Operator => {
                let signer = signer
                    .ok_or_else(|| Error::precondition("no operator signing key is configured"))?;
                let sig = signer.sign(payload.as_bytes())?;
                insert_signature(&payload, &sig)?
            }
            Signing::Provided { signature } => insert_signature(&payload, signature)?,
        };
        repo.write_object(ObjectKind::Commit, body.into_bytes())
    }
}

pub(crate) fn get(repo: &Repo, rev: &Rev) -> Result<Commit> {
    let oid = repo.resolve_commit(rev)?;
    repo.commit(oid)
}

pub(crate) fn get_many(repo: &Repo, oids: &[Oid]) -> Result<Vec<Option<Commit>>> {
    if oids.len() > 1000 {
        return Err(Error::new(
            ErrorKind::TooLarge,
            "at most 1000 commits per batch",
        ));
    }
    repo.commits(oids)
}

/// The walk of `git log [--first-parent] [--follow] RANGE [-- PATH]` with `--skip` and `-n`:
/// `rev-list` (or `log --follow`) prints ids as it walks ([`gitapi_gitcmd::log`], shared with
/// the libgit2 engine); commits are read in batches through cat-file and handed to `emit`
/// until it returns `false`.
pub(crate) fn walk(repo: &Repo, q: &LogQuery, mut emit: impl FnMut(Commit) -> bool) -> Result<()> {
    if q.follow && q.path.is_none() {
        return Err(Error::invalid("follow needs a path"));
    }
    // Revisions are resolved here, so git only ever sees object ids.
    let range = match &q.range {
        RevRange::Single(r) => Walk::Single(repo.resolve_commit(r)?),
        RevRange::TwoDot(a, b) => Walk::TwoDot(repo.resolve_commit(a)?, repo.resolve_commit(b)?),
        RevRange::ThreeDot(a, b) => {
            Walk::ThreeDot(repo.resolve_commit(a)?, repo.resolve_commit(b)?)
        }
    };
    let mut pending: Vec<Oid> = Vec::new();
    let mut stopped = false;
    let mut flush = |pending: &mut Vec<Oid>, stopped: &mut bool| -> Result<()> {
        if *stopped || pending.is_empty() {
            pending.clear();
            return Ok(());
        }
        for c in repo.commits(pending)? {
            let c = c.ok_or_else(|| Error::internal("a listed commit cannot be read"))?;
            if !emit(c) {
                *stopped = true;
                break;
            }
        }
        pending.clear();
        Ok(())
    };
    let mut first = true;
    gitapi_gitcmd::log::walk_ids(&repo.inner.dog, &repo.dir, range, q, |oid| {
        pending.push(oid);
        // The first commit goes out at once; then batches amortise the round trips.
        if first || pending.len() >= 64 {
            first = false;
            flush(&mut pending, &mut stopped)?;
        }
        Ok(!stopped)
    })?;
    flush(&mut pending, &mut stopped)
}

/// The tip a write builds on, after checking the caller's expectation against it.
pub(crate) fn checked_tip(
    repo: &Repo,
    branch: &RefName,
    expected: Option<Oid>,
) -> Result<Option<Oid>> {
    let tip = repo.current(branch.as_str())?;
    if let Some(exp) = expected {
        let ok = match tip {
            None => exp.is_zero(),
            Some(t) => t == exp,
        };
        if !ok {
            return Err(Error::ref_mismatch(
                branch.as_str(),
                (!exp.is_zero()).then_some(exp),
                tip,
            ));
        }
    }
    Ok(tip)
}

/// A branch tip that must exist.
pub(crate) fn existing_tip(repo: &Repo, branch: &RefName, expected: Option<Oid>) -> Result<Oid> {
    checked_tip(repo, branch, expected)?
        .ok_or_else(|| Error::not_found(format!("branch {:?} does not exist", branch.as_str())))
}

/// Moves `branch` from `old` (`None`: must not exist) to `new`, as a compare-and-swap.
pub(crate) fn advance(
    repo: &Repo,
    branch: &RefName,
    old: Option<Oid>,
    new: Oid,
    reflog: &str,
) -> Result<()> {
    refs::update(
        repo,
        &[RefUpdate {
            name: branch.clone(),
            new,
            expected_old: Some(old.unwrap_or(Oid::ZERO)),
        }],
        reflog,
    )
}

fn files_commit(repo: &Repo, req: &CommitFiles) -> Result<(Option<Oid>, NewCommit)> {
    if !req.branch.is_branch() {
        return Err(Error::invalid(format!(
            "{:?} is not a branch",
            req.branch.as_str()
        )));
    }
    let tip = checked_tip(repo, &req.branch, req.expected_tip)?;
    if tip.is_none() && req.expected_tip.is_none() {
        // "Whatever the tip is" needs a tip; a new branch is asked for with expected zero.
        return Err(Error::not_found(format!(
            "branch {:?} does not exist",
            req.branch.as_str()
        )));
    }
    let parent = match (tip, &req.start_point) {
        (Some(t), _) => Some(t),
        (None, Some(start)) => Some(repo.resolve_commit(start)?),
        (None, None) => None,
    };
    let base_tree = match parent {
        Some(p) => Some(repo.commit(p)?.tree),
        None => None,
    };
    // Validate what is cheap before writing any object.
    req.author.validate()?;
    normalize_message(&req.message)?;
    let tree = crate::tree_edit::apply_actions(repo, base_tree, &req.actions)?;
    let empty_tree = base_tree.is_none() && req.actions.is_empty();
    if !req.allow_empty && (Some(tree) == base_tree || empty_tree) {
        return Err(Error::precondition(
            "nothing to commit: the tree is unchanged",
        ));
    }
    Ok((
        tip,
        NewCommit {
            tree,
            parents: parent.into_iter().collect(),
            author: req.author.clone(),
            committer: req.committer.clone().unwrap_or_else(|| req.author.clone()),
            message: req.message.clone(),
        },
    ))
}

pub(crate) fn commit_files(
    repo: &Repo,
    req: &CommitFiles,
    signer: Option<&SshSigner>,
) -> Result<Commit> {
    let (tip, nc) = files_commit(repo, req)?;
    let nc_initial = nc.parents.is_empty();
    let id = nc.write(repo, &req.signing, signer)?;
    advance(
        repo,
        &req.branch,
        tip,
        id,
        &reflog::commit_from_actions(&req.message, nc_initial),
    )?;
    repo.commit(id)
}

pub(crate) fn commit_payload(repo: &Repo, req: &CommitFiles) -> Result<String> {
    let (_, nc) = files_commit(repo, req)?;
    nc.payload()
}

/// `git merge-tree --write-tree` of `ours` and `theirs` (with an explicit merge base for picks):
/// the tree, or `Conflict` with the conflicting paths.
pub(crate) fn merge_trees(
    repo: &Repo,
    base: Option<Oid>,
    ours: Oid,
    theirs: Oid,
    what: &str,
) -> Result<Oid> {
    let mut g = repo
        .git(Sub::MergeTree)
        .flag("--write-tree")
        .flag("--name-only")
        .flag("--no-messages")
        .flag("-z");
    if let Some(b) = base {
        g = g.opt("--merge-base=", Value::Oid(b));
    }
    let out = repo.run(g.arg(ours.to_string()).arg(theirs.to_string()))?;
    let mut fields = out.stdout.split(|b| *b == 0);
    let tree = fields
        .next()
        .map(|f| String::from_utf8_lossy(f).trim().to_owned())
        .unwrap_or_default();
    match out.code {
        0 => Oid::from_hex(&tree),
        1 => {
            let paths: Vec<String> = fields
                .take_while(|f| !f.is_empty())
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            Err(Error::merge_conflict(what, paths))
        }
        _ => Err(out.error()),
    }
}

/// The tree a pick or revert of `commit` onto `onto` gives.
pub(crate) fn pick_tree(
    repo: &Repo,
    commit: &Commit,
    onto: Oid,
    mainline: Option<u32>,
    pick: Pick,
) -> Result<Oid> {
    let what = pick.verb();
    let index =
        Pick::mainline(commit.oid, commit.parents.len(), mainline)?.unwrap_or(1) as usize - 1;
    let parent = match commit.parents.get(index) {
        Some(p) => *p,
        None => Oid::from_hex(gitapi_core::diff::EMPTY_TREE)?,
    };
    if pick == Pick::Revert {
        merge_trees(repo, Some(commit.oid), onto, parent, what)
    } else {
        merge_trees(repo, Some(parent), onto, commit.oid, what)
    }
}

pub(crate) fn pick(repo: &Repo, req: &PickCommit, pick: Pick) -> Result<Commit> {
    let picked = repo.commit(repo.resolve_commit(&req.commit)?)?;
    let tip = existing_tip(repo, &req.branch, req.expected_tip)?;
    let onto = repo.commit(tip)?;
    let tree = pick_tree(repo, &picked, tip, req.mainline, pick)?;
    if tree == onto.tree {
        return Err(pick.would_be_empty(picked.oid));
    }
    let read = Picked {
        oid: picked.oid,
        parents: &picked.parents,
        author: &picked.author,
        message: &picked.message,
    };
    let (author, message) = pick.author_and_message(&read, req.mainline, &req.committer)?;
    let nc = NewCommit {
        tree,
        parents: vec![tip],
        author,
        committer: req.committer.clone(),
        message,
    };
    let reflog_message = pick.reflog_message(&nc.message);
    let id = nc.write_verbatim(repo)?;
    advance(repo, &req.branch, Some(tip), id, &reflog_message)?;
    repo.commit(id)
}

pub(crate) fn amend(repo: &Repo, req: &Amend) -> Result<Commit> {
    let tip = existing_tip(repo, &req.branch, req.expected_tip)?;
    let old = repo.commit(tip)?;
    let tree = crate::tree_edit::apply_actions(repo, Some(old.tree), &req.actions)?;
    let nc = NewCommit {
        tree,
        parents: old.parents.clone(),
        author: req.author.clone().unwrap_or_else(|| old.author.clone()),
        committer: req.committer.clone(),
        message: req.message.clone().unwrap_or_else(|| old.message.clone()),
    };
    let reflog_message = reflog::amend(&nc.message);
    let id = nc.write(repo, &Signing::None, None)?;
    advance(repo, &req.branch, Some(tip), id, &reflog_message)?;
    repo.commit(id)
}

pub(crate) fn reset_branch(
    repo: &Repo,
    branch: &RefName,
    expected: Option<Oid>,
    to: &Rev,
) -> Result<Oid> {
    let tip = existing_tip(repo, branch, expected)?;
    let target = repo.resolve_commit(to)?;
    if target != tip {
        advance(repo, branch, Some(tip), target, &reflog::reset(to))?;
    }
    Ok(target)
}
