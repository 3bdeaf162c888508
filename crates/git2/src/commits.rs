//! Commits: reading, the log walk, and every way of making a commit without a work tree.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};
use std::path::Path;

use gitapi_core::object::{
    check_message, commit_payload as payload_text, insert_signature, normalize_message,
};
use gitapi_core::porcelain::pick::{Pick, Picked};
use gitapi_core::reflog;
use gitapi_core::{
    Amend, Commit, CommitFiles, Error, ErrorKind, LogQuery, Oid, PickCommit, RefName, RefUpdate,
    Result, Rev, RevRange, Signature, Signing, SshSigner,
};

use crate::convert::{self, git_oid, map_err, oid};
use crate::refs::{self, current, resolve_commit};
use crate::tree_cache::TreeCache;
use gitapi_gitcmd::log::Walk;

/// Everything needed to write one commit object.
pub(crate) struct NewCommit<'a> {
    pub(crate) tree: git2::Oid,
    pub(crate) parents: Vec<git2::Oid>,
    pub(crate) author: &'a Signature,
    pub(crate) committer: &'a Signature,
    pub(crate) message: &'a str,
}

impl NewCommit<'_> {
    pub(crate) fn payload(&self) -> Result<String> {
        self.payload_as(false)
    }

    /// The payload, with the message stored as given (`verbatim`, as a pick copies a commit's
    /// message) or normalised to end in one newline.
    fn payload_as(&self, verbatim: bool) -> Result<String> {
        self.author.validate()?;
        self.committer.validate()?;
        let message = if verbatim {
            check_message(self.message)?;
            self.message.to_owned()
        } else {
            normalize_message(self.message)?
        };
        let parents: Vec<Oid> = self.parents.iter().map(|p| oid(*p)).collect();
        Ok(payload_text(
            oid(self.tree),
            &parents,
            self.author,
            self.committer,
            &message,
        ))
    }

    /// Writes the unsigned commit object with the message kept byte for byte (a cherry-pick or
    /// revert, as git's sequencer stores it) and returns its id.
    pub(crate) fn write_verbatim(&self, repo: &git2::Repository) -> Result<git2::Oid> {
        let payload = self.payload_as(true)?;
        let odb = repo.odb().map_err(map_err("opening object database"))?;
        odb.write(git2::ObjectType::Commit, payload.as_bytes())
            .map_err(map_err("writing commit"))
    }

    /// Writes the commit object (signed as asked) and returns its id.
    pub(crate) fn write(
        &self,
        repo: &git2::Repository,
        signing: &Signing,
        signer: Option<&SshSigner>,
    ) -> Result<git2::Oid> {
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
        // Write the exact bytes through the object database, so both engines hash the same
        // text for the same request.
        let odb = repo.odb().map_err(map_err("opening object database"))?;
        odb.write(git2::ObjectType::Commit, body.as_bytes())
            .map_err(map_err("writing commit"))
    }
}

pub(crate) fn get(repo: &git2::Repository, rev: &Rev) -> Result<Commit> {
    let c = resolve_commit(repo, rev)?;
    Ok(convert::commit(repo, &c))
}

pub(crate) fn get_many(repo: &git2::Repository, oids: &[Oid]) -> Result<Vec<Option<Commit>>> {
    if oids.len() > 1000 {
        return Err(Error::new(
            ErrorKind::TooLarge,
            "at most 1000 commits per batch",
        ));
    }
    Ok(oids
        .iter()
        .map(|o| {
            repo.find_commit(git_oid(*o))
                .ok()
                .map(|c| convert::commit(repo, &c))
        })
        .collect())
}

/// A commit in the walk queue, ordered as git's date-ordered walk orders it: newest committer
/// date first, and among equal dates the one queued first.
struct Queued {
    time: i64,
    seq: u64,
    oid: git2::Oid,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        self.time
            .cmp(&other.time)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// The walk of `git log [--first-parent] [--follow] RANGE [-- PATH]` with `--skip` and `-n`.
///
/// A log with a path in a repository whose commit-graph maintenance has written (with
/// changed-path Bloom filters, `gitcmd::maintenance::gc`) is git's `rev-list`
/// ([`gitapi_gitcmd::log`], the CLI engine's walk), each listed commit read here: libgit2
/// cannot read the Bloom filters, so its walk would diff a tree per commit where git skips
/// almost every commit without opening a tree. Without a commit-graph (a small or young
/// repository) git has no such advantage and starting it costs more than the walk, so
/// libgit2 walks in process with git's history simplification; the conformance suite checks
/// both paths against `git log`.
pub(crate) fn walk(
    dog: &gitapi_gitcmd::Watchdog,
    cache: &TreeCache,
    repo: &git2::Repository,
    q: &LogQuery,
    emit: impl FnMut(Commit) -> bool,
) -> Result<()> {
    if q.follow && q.path.is_none() {
        return Err(Error::invalid("follow needs a path"));
    }
    if q.path.is_some() && has_commit_graph(repo) {
        return walk_with_git(dog, repo, q, emit);
    }
    walk_in_process(cache, repo, q, emit)
}

/// Whether maintenance has written the repository's commit-graph (a single file or a chain).
fn has_commit_graph(repo: &git2::Repository) -> bool {
    let info = repo.path().join("objects/info");
    info.join("commit-graph").is_file() || info.join("commit-graphs/commit-graph-chain").is_file()
}

fn entry_at(
    cache: &TreeCache,
    repo: &git2::Repository,
    tree: git2::Oid,
    path: &str,
) -> Result<Option<(git2::Oid, i32)>> {
    Ok(cache
        .entry_at(repo, tree, path)?
        .map(|e| (e.oid, e.filemode)))
}

/// The walk of `git log [--first-parent] [--follow] RANGE [-- PATH]`: date order, git's default
/// history simplification when a path is given (a commit TREESAME to a parent is hidden and
/// only that parent is followed), then `--skip` and `-n`.
fn walk_in_process(
    cache: &TreeCache,
    repo: &git2::Repository,
    q: &LogQuery,
    mut emit: impl FnMut(Commit) -> bool,
) -> Result<()> {
    if q.follow && q.path.is_none() {
        return Err(Error::invalid("follow needs a path"));
    }
    let (tips, hide_tips): (Vec<git2::Oid>, Vec<git2::Oid>) = match &q.range {
        RevRange::Single(r) => (vec![resolve_commit(repo, r)?.id()], vec![]),
        RevRange::TwoDot(a, b) => (
            vec![resolve_commit(repo, b)?.id()],
            vec![resolve_commit(repo, a)?.id()],
        ),
        RevRange::ThreeDot(a, b) => {
            let (a, b) = (resolve_commit(repo, a)?.id(), resolve_commit(repo, b)?.id());
            let bases = match repo.merge_bases(a, b) {
                Ok(bases) => bases.iter().copied().collect(),
                Err(e) if e.code() == git2::ErrorCode::NotFound => vec![],
                Err(e) => return Err(map_err("finding merge bases")(e)),
            };
            (vec![a, b], bases)
        }
    };
    let hidden: HashSet<git2::Oid> = if hide_tips.is_empty() {
        HashSet::new()
    } else {
        let mut rw = repo.revwalk().map_err(map_err("walking history"))?;
        for h in &hide_tips {
            rw.push(*h).map_err(map_err("walking history"))?;
        }
        let deadline = gitapi_core::Deadline::current();
        let mut hidden = HashSet::new();
        for id in rw {
            deadline.check("the log walk")?;
            hidden.insert(id.map_err(map_err("walking history"))?);
        }
        hidden
    };
    let mut path = q.path.as_ref().map(|p| p.as_str().to_owned());
    let mut queue = BinaryHeap::new();
    let mut seen = HashSet::new();
    let mut seq = 0u64;
    let mut enqueue = |queue: &mut BinaryHeap<Queued>, id: git2::Oid| -> Result<()> {
        if hidden.contains(&id) || !seen.insert(id) {
            return Ok(());
        }
        let c = repo.find_commit(id).map_err(map_err("reading commit"))?;
        seq += 1;
        queue.push(Queued {
            time: c.time().seconds(),
            seq,
            oid: id,
        });
        Ok(())
    };
    for t in tips {
        enqueue(&mut queue, t)?;
    }
    let mut skipped = 0usize;
    let mut emitted = 0usize;
    let deadline = gitapi_core::Deadline::current();
    while let Some(Queued { oid: id, .. }) = queue.pop() {
        // A checkpoint per commit: a walk over a long history stops at the caller's deadline.
        deadline.check("the log walk")?;
        let c = repo.find_commit(id).map_err(map_err("reading commit"))?;
        let mut parents: Vec<git2::Commit<'_>> = c.parents().collect();
        if q.first_parent {
            parents.truncate(1);
        }
        let show = match path.clone() {
            None => true,
            Some(p) => {
                let mine = entry_at(cache, repo, c.tree_id(), &p)?;
                let mut treesame = None;
                for (i, parent) in parents.iter().enumerate() {
                    if entry_at(cache, repo, parent.tree_id(), &p)? == mine {
                        treesame = Some(i);
                        break;
                    }
                }
                match treesame {
                    Some(i) => {
                        // Follow only the TREESAME parent, as git's default simplification.
                        let keep = parents.swap_remove(i);
                        parents = vec![keep];
                        false
                    }
                    None if parents.is_empty() => mine.is_some(),
                    None => {
                        if q.follow
                            && parents.len() == 1
                            && let Some(old) = rename_source(repo, &parents[0], &c, &p)?
                        {
                            path = Some(old);
                        }
                        true
                    }
                }
            }
        };
        for p in &parents {
            enqueue(&mut queue, p.id())?;
        }
        if !show {
            continue;
        }
        if skipped < q.offset {
            skipped += 1;
            continue;
        }
        if !emit(convert::commit(repo, &c)) {
            return Ok(());
        }
        emitted += 1;
        if q.limit != 0 && emitted >= q.limit {
            return Ok(());
        }
    }
    Ok(())
}

/// For `--follow`: when `path` appears in `commit` but not in `parent`, the path it was renamed
/// from (git's default rename detection, 50 % similarity).
fn rename_source(
    repo: &git2::Repository,
    parent: &git2::Commit<'_>,
    commit: &git2::Commit<'_>,
    path: &str,
) -> Result<Option<String>> {
    let ptree = parent.tree().map_err(map_err("reading tree"))?;
    if ptree.get_path(Path::new(path)).is_ok() {
        return Ok(None);
    }
    let tree = commit.tree().map_err(map_err("reading tree"))?;
    let mut diff = repo
        .diff_tree_to_tree(Some(&ptree), Some(&tree), None)
        .map_err(map_err("diffing for renames"))?;
    let mut find = git2::DiffFindOptions::new();
    find.renames(true);
    diff.find_similar(Some(&mut find))
        .map_err(map_err("finding renames"))?;
    for delta in diff.deltas() {
        if delta.status() == git2::Delta::Renamed
            && delta.new_file().path().and_then(Path::to_str) == Some(path)
        {
            return Ok(delta
                .old_file()
                .path()
                .and_then(Path::to_str)
                .map(str::to_owned));
        }
    }
    Ok(None)
}

/// A log with a path: the ids from git's walk, each commit read through libgit2.
fn walk_with_git(
    dog: &gitapi_gitcmd::Watchdog,
    repo: &git2::Repository,
    q: &LogQuery,
    mut emit: impl FnMut(Commit) -> bool,
) -> Result<()> {
    // Resolved here, as for the walk above, so a bad revision fails the same way and git only
    // ever sees object ids.
    let id = |r: &Rev| -> Result<Oid> { Ok(oid(resolve_commit(repo, r)?.id())) };
    let range = match &q.range {
        RevRange::Single(r) => Walk::Single(id(r)?),
        RevRange::TwoDot(a, b) => Walk::TwoDot(id(a)?, id(b)?),
        RevRange::ThreeDot(a, b) => Walk::ThreeDot(id(a)?, id(b)?),
    };
    gitapi_gitcmd::log::walk_ids(dog, repo.path(), range, q, |o| {
        let c = repo
            .find_commit(git_oid(o))
            .map_err(map_err("reading commit"))?;
        Ok(emit(convert::commit(repo, &c)))
    })
}

/// The tip a write builds on, after checking the caller's expectation against it.
pub(crate) fn checked_tip(
    repo: &git2::Repository,
    branch: &RefName,
    expected: Option<Oid>,
) -> Result<Option<git2::Oid>> {
    let tip = current(repo, branch.as_str())?;
    if let Some(exp) = expected {
        let ok = match tip {
            None => exp.is_zero(),
            Some(t) => oid(t) == exp,
        };
        if !ok {
            return Err(Error::ref_mismatch(
                branch.as_str(),
                (!exp.is_zero()).then_some(exp),
                tip.map(oid),
            ));
        }
    }
    Ok(tip)
}

/// Moves `branch` from `old` (`None`: must not exist) to `new`, as a compare-and-swap.
pub(crate) fn advance(
    repo: &git2::Repository,
    branch: &RefName,
    old: Option<git2::Oid>,
    new: git2::Oid,
    reflog: &str,
) -> Result<()> {
    refs::update(
        repo,
        &[RefUpdate {
            name: branch.clone(),
            new: oid(new),
            expected_old: Some(old.map_or(Oid::ZERO, oid)),
        }],
        reflog,
    )
}

fn files_commit(
    cache: &TreeCache,
    repo: &git2::Repository,
    req: &CommitFiles,
) -> Result<(Option<git2::Oid>, NewCommitOwned)> {
    if !req.branch.is_branch() {
        return Err(Error::invalid(format!(
            "{:?} is not a branch",
            req.branch.as_str()
        )));
    }
    let tip = checked_tip(repo, &req.branch, req.expected_tip)?;
    if tip.is_none() && req.expected_tip != Some(Oid::ZERO) {
        // Creating a branch is explicit (expected tip = zero), so a typo is not a new branch.
        return Err(Error::not_found(format!(
            "branch {:?} does not exist",
            req.branch.as_str()
        )));
    }
    let parent = match (tip, &req.start_point) {
        (Some(t), _) => Some(t),
        (None, Some(start)) => Some(resolve_commit(repo, start)?.id()),
        (None, None) => None,
    };
    let base_tree = match parent {
        Some(p) => Some(
            repo.find_commit(p)
                .map_err(map_err("reading parent"))?
                .tree_id(),
        ),
        None => None,
    };
    let tree = crate::tree_edit::apply_actions(cache, repo, base_tree, &req.actions)?;
    let empty_tree = base_tree.is_none() && req.actions.is_empty();
    if !req.allow_empty && (Some(tree) == base_tree || empty_tree) {
        return Err(Error::precondition(
            "nothing to commit: the tree is unchanged",
        ));
    }
    Ok((
        tip,
        NewCommitOwned {
            tree,
            parents: parent.into_iter().collect(),
            author: req.author.clone(),
            committer: req.committer.clone().unwrap_or_else(|| req.author.clone()),
            message: req.message.clone(),
        },
    ))
}

pub(crate) struct NewCommitOwned {
    pub(crate) tree: git2::Oid,
    pub(crate) parents: Vec<git2::Oid>,
    pub(crate) author: Signature,
    pub(crate) committer: Signature,
    pub(crate) message: String,
}

impl NewCommitOwned {
    pub(crate) fn as_new(&self) -> NewCommit<'_> {
        NewCommit {
            tree: self.tree,
            parents: self.parents.clone(),
            author: &self.author,
            committer: &self.committer,
            message: &self.message,
        }
    }
}

pub(crate) fn commit_files(
    cache: &TreeCache,
    repo: &git2::Repository,
    req: &CommitFiles,
    signer: Option<&SshSigner>,
) -> Result<Commit> {
    let (tip, nc) = files_commit(cache, repo, req)?;
    let id = nc.as_new().write(repo, &req.signing, signer)?;
    advance(
        repo,
        &req.branch,
        tip,
        id,
        &reflog::commit_from_actions(&req.message, tip.is_none()),
    )?;
    get(repo, &Rev::from(oid(id)))
}

pub(crate) fn commit_payload(
    cache: &TreeCache,
    repo: &git2::Repository,
    req: &CommitFiles,
) -> Result<String> {
    let (_, nc) = files_commit(cache, repo, req)?;
    nc.as_new().payload()
}

/// What a pick or revert of `commit` onto `onto` gives, as a tree; `Conflict` with the paths
/// when it does not apply cleanly.
pub(crate) fn pick_tree(
    repo: &git2::Repository,
    commit: &git2::Commit<'_>,
    onto: &git2::Commit<'_>,
    mainline: Option<u32>,
    pick: Pick,
) -> Result<git2::Oid> {
    let what = pick.verb();
    let mainline = Pick::mainline(oid(commit.id()), commit.parent_count(), mainline)?.unwrap_or(0);
    let revert = pick == Pick::Revert;
    let mut index = if revert {
        repo.revert_commit(commit, onto, mainline, None)
    } else {
        repo.cherrypick_commit(commit, onto, mainline, None)
    }
    .map_err(map_err(what))?;
    if index.has_conflicts() {
        return Err(Error::merge_conflict(what, conflict_paths(&index)?));
    }
    // The three trees of the merge: the picked change is parent -> commit (reversed for a
    // revert), applied onto `onto`.
    let parent_tree = match commit.parent_count() {
        0 => None,
        _ => Some(
            commit
                .parent(mainline.saturating_sub(1) as usize)
                .map_err(map_err("reading parent"))?
                .tree_id(),
        ),
    };
    let (base, theirs) = if revert {
        (Some(commit.tree_id()), parent_tree)
    } else {
        (parent_tree, Some(commit.tree_id()))
    };
    let mode_clashes = add_add_mode_conflicts(repo, base, Some(onto.tree_id()), theirs)?;
    if !mode_clashes.is_empty() {
        return Err(Error::merge_conflict(what, mode_clashes));
    }
    index.write_tree_to(repo).map_err(map_err("writing tree"))
}

/// Paths both sides added (absent from `base`) with different modes. git's merge reports those
/// as add/add conflicts whatever their content; libgit2 merges them silently, so this engine
/// checks for them itself to give git's answer.
pub(crate) fn add_add_mode_conflicts(
    repo: &git2::Repository,
    base: Option<git2::Oid>,
    ours: Option<git2::Oid>,
    theirs: Option<git2::Oid>,
) -> Result<Vec<String>> {
    let tree = |id: Option<git2::Oid>| -> Result<Option<git2::Tree<'_>>> {
        id.map(|i| repo.find_tree(i).map_err(map_err("reading tree")))
            .transpose()
    };
    let base = tree(base)?;
    let added =
        |side: Option<git2::Oid>| -> Result<std::collections::HashMap<Vec<u8>, (git2::Oid, u32)>> {
            let side = tree(side)?;
            let diff = repo
                .diff_tree_to_tree(base.as_ref(), side.as_ref(), None)
                .map_err(map_err("diffing trees"))?;
            Ok(diff
                .deltas()
                .filter(|d| d.status() == git2::Delta::Added)
                .filter_map(|d| {
                    let f = d.new_file();
                    f.path_bytes()
                        .map(|p| (p.to_vec(), (f.id(), u32::from(f.mode()))))
                })
                .collect())
        };
    let (ours, theirs) = (added(ours)?, added(theirs)?);
    let mut clashes: Vec<String> = ours
        .iter()
        .filter_map(|(path, (_, mode))| match theirs.get(path) {
            Some((_, tmode)) if tmode != mode => Some(String::from_utf8_lossy(path).into_owned()),
            _ => None,
        })
        .collect();
    clashes.sort();
    Ok(clashes)
}

pub(crate) fn conflict_paths(index: &git2::Index) -> Result<Vec<String>> {
    let mut paths = Vec::new();
    for c in index.conflicts().map_err(map_err("reading conflicts"))? {
        let c = c.map_err(map_err("reading conflicts"))?;
        for side in [&c.ancestor, &c.our, &c.their].into_iter().flatten() {
            paths.push(String::from_utf8_lossy(&side.path).into_owned());
        }
    }
    Ok(paths)
}

pub(crate) fn pick(repo: &git2::Repository, req: &PickCommit, pick: Pick) -> Result<Commit> {
    let picked = resolve_commit(repo, &req.commit)?;
    let tip = checked_tip(repo, &req.branch, req.expected_tip)?.ok_or_else(|| {
        Error::not_found(format!("branch {:?} does not exist", req.branch.as_str()))
    })?;
    let onto = repo
        .find_commit(tip)
        .map_err(map_err("reading branch tip"))?;
    let tree = pick_tree(repo, &picked, &onto, req.mainline, pick)?;
    if tree == onto.tree_id() {
        return Err(pick.would_be_empty(oid(picked.id())));
    }
    let author = convert::signature(&picked.author());
    let parents: Vec<Oid> = picked.parent_ids().map(oid).collect();
    let message = String::from_utf8_lossy(picked.message_raw_bytes());
    let read = Picked {
        oid: oid(picked.id()),
        parents: &parents,
        author: &author,
        message: &message,
    };
    let (author, message) = pick.author_and_message(&read, req.mainline, &req.committer)?;
    let nc = NewCommit {
        tree,
        parents: vec![tip],
        author: &author,
        committer: &req.committer,
        message: &message,
    };
    let id = nc.write_verbatim(repo)?;
    advance(
        repo,
        &req.branch,
        Some(tip),
        id,
        &pick.reflog_message(&message),
    )?;
    get(repo, &Rev::from(oid(id)))
}

pub(crate) fn amend(cache: &TreeCache, repo: &git2::Repository, req: &Amend) -> Result<Commit> {
    let tip = checked_tip(repo, &req.branch, req.expected_tip)?.ok_or_else(|| {
        Error::not_found(format!("branch {:?} does not exist", req.branch.as_str()))
    })?;
    let old = repo
        .find_commit(tip)
        .map_err(map_err("reading branch tip"))?;
    let tree = crate::tree_edit::apply_actions(cache, repo, Some(old.tree_id()), &req.actions)?;
    let author = req
        .author
        .clone()
        .unwrap_or_else(|| convert::signature(&old.author()));
    let message = req
        .message
        .clone()
        .unwrap_or_else(|| String::from_utf8_lossy(old.message_raw_bytes()).into_owned());
    let nc = NewCommit {
        tree,
        parents: old.parent_ids().collect(),
        author: &author,
        committer: &req.committer,
        message: &message,
    };
    let id = nc.write(repo, &Signing::None, None)?;
    advance(repo, &req.branch, Some(tip), id, &reflog::amend(&message))?;
    get(repo, &Rev::from(oid(id)))
}

pub(crate) fn reset_branch(
    repo: &git2::Repository,
    branch: &RefName,
    expected: Option<Oid>,
    to: &Rev,
) -> Result<Oid> {
    let tip = checked_tip(repo, branch, expected)?
        .ok_or_else(|| Error::not_found(format!("branch {:?} does not exist", branch.as_str())))?;
    let target = resolve_commit(repo, to)?.id();
    if target != tip {
        advance(repo, branch, Some(tip), target, &reflog::reset(to))?;
    }
    Ok(oid(target))
}
