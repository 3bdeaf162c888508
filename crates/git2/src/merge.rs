//! Merge and rebase without a work tree, and the ancestry reads.

use gitapi_core::porcelain::pick::Pick;
use gitapi_core::reflog;
use gitapi_core::{
    AheadBehind, Error, FastForward, Merge, MergeKind, MergeOutcome, Oid, Rebase, RebaseOutcome,
    RebaseStep, Result, Rev, Signing,
};

use crate::commits::{
    NewCommit, add_add_mode_conflicts, advance, checked_tip, conflict_paths, pick_tree,
};
use crate::convert::{self, git_oid, map_err, oid};
use crate::refs::resolve_commit;

pub(crate) fn merge_base(repo: &git2::Repository, a: &Rev, b: &Rev) -> Result<Option<Oid>> {
    let (a, b) = (resolve_commit(repo, a)?.id(), resolve_commit(repo, b)?.id());
    match repo.merge_base(a, b) {
        Ok(base) => Ok(Some(oid(base))),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(map_err("finding merge base")(e)),
    }
}

pub(crate) fn is_ancestor(
    repo: &git2::Repository,
    ancestor: &Rev,
    descendant: &Rev,
) -> Result<bool> {
    let a = resolve_commit(repo, ancestor)?.id();
    let d = resolve_commit(repo, descendant)?.id();
    Ok(a == d
        || repo
            .graph_descendant_of(d, a)
            .map_err(map_err("checking ancestry"))?)
}

pub(crate) fn ahead_behind(repo: &git2::Repository, a: &Rev, b: &Rev) -> Result<AheadBehind> {
    let (a, b) = (resolve_commit(repo, a)?.id(), resolve_commit(repo, b)?.id());
    // Two walks instead of `graph_ahead_behind`, which has no checkpoint: each commit counted
    // is a check of the caller's deadline.
    Ok(AheadBehind {
        ahead: count_only_in(repo, a, b)?,
        behind: count_only_in(repo, b, a)?,
    })
}

/// The number of commits `hide..tip`, checking the caller's deadline at each.
fn count_only_in(repo: &git2::Repository, tip: git2::Oid, hide: git2::Oid) -> Result<usize> {
    let deadline = gitapi_core::Deadline::current();
    let mut walk = repo.revwalk().map_err(map_err("walking history"))?;
    walk.push(tip).map_err(map_err("walking history"))?;
    walk.hide(hide).map_err(map_err("walking history"))?;
    let mut n = 0;
    for id in walk {
        deadline.check("counting ahead and behind")?;
        id.map_err(map_err("walking history"))?;
        n += 1;
    }
    Ok(n)
}

fn merge_options() -> git2::MergeOptions {
    let mut opts = git2::MergeOptions::new();
    // As `git merge` with the ort strategy: rename detection on, no fail-on-conflict shortcut,
    // so the conflicting paths can be reported.
    opts.find_renames(true);
    opts
}

pub(crate) fn merge(repo: &git2::Repository, req: &Merge) -> Result<MergeOutcome> {
    if !req.target.is_branch() {
        return Err(Error::invalid(format!(
            "{:?} is not a branch",
            req.target.as_str()
        )));
    }
    let source = resolve_commit(repo, &req.source)?;
    let tip = checked_tip(repo, &req.target, req.expected_tip)?.ok_or_else(|| {
        Error::not_found(format!("branch {:?} does not exist", req.target.as_str()))
    })?;
    let target = repo.find_commit(tip).map_err(map_err("reading target"))?;
    let src = source.id();
    if src == tip
        || repo
            .graph_descendant_of(tip, src)
            .map_err(map_err("checking ancestry"))?
    {
        return Ok(MergeOutcome {
            kind: MergeKind::UpToDate,
            tip: oid(tip),
        });
    }
    let can_ff = repo
        .graph_descendant_of(src, tip)
        .map_err(map_err("checking ancestry"))?;
    if can_ff && req.fast_forward != FastForward::NoFf {
        advance(
            repo,
            &req.target,
            Some(tip),
            src,
            &reflog::merge_fast_forward(&req.source),
        )?;
        return Ok(MergeOutcome {
            kind: MergeKind::FastForward,
            tip: oid(src),
        });
    }
    if req.fast_forward == FastForward::FfOnly {
        return Err(Error::precondition(format!(
            "{:?} cannot be fast-forwarded to {:?}",
            req.target.as_str(),
            req.source.as_str()
        )));
    }
    let mut index = repo
        .merge_commits(&target, &source, Some(&merge_options()))
        .map_err(map_err("merging"))?;
    if index.has_conflicts() {
        return Err(Error::merge_conflict("merge", conflict_paths(&index)?));
    }
    let base = repo
        .merge_base(tip, src)
        .ok()
        .map(|b| repo.find_commit(b).map(|c| c.tree_id()))
        .transpose()
        .map_err(map_err("reading merge base"))?;
    let mode_clashes =
        add_add_mode_conflicts(repo, base, Some(target.tree_id()), Some(source.tree_id()))?;
    if !mode_clashes.is_empty() {
        return Err(Error::merge_conflict("merge", mode_clashes));
    }
    let tree = index
        .write_tree_to(repo)
        .map_err(map_err("writing merge tree"))?;
    let message = req.message.clone().unwrap_or_else(|| {
        format!(
            "Merge {} into {}\n",
            req.source.as_str(),
            req.target.short()
        )
    });
    let nc = NewCommit {
        tree,
        parents: vec![tip, src],
        author: &req.committer,
        committer: &req.committer,
        message: &message,
    };
    let id = nc.write(repo, &Signing::None, None)?;
    advance(
        repo,
        &req.target,
        Some(tip),
        id,
        &reflog::merge_commit(&req.source),
    )?;
    Ok(MergeOutcome {
        kind: MergeKind::Merged,
        tip: oid(id),
    })
}

/// The commits `upstream..branch` that a rebase replays, oldest first, merges left out (as
/// `git rebase` without `--rebase-merges`).
fn commits_to_replay(
    repo: &git2::Repository,
    upstream: git2::Oid,
    tip: git2::Oid,
) -> Result<Vec<git2::Oid>> {
    let mut walk = repo.revwalk().map_err(map_err("walking history"))?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
        .map_err(map_err("walking history"))?;
    walk.push(tip).map_err(map_err("walking history"))?;
    walk.hide(upstream).map_err(map_err("walking history"))?;
    let mut out = Vec::new();
    let deadline = gitapi_core::Deadline::current();
    for id in walk {
        deadline.check("listing the commits to rebase")?;
        let id = id.map_err(map_err("walking history"))?;
        let c = repo.find_commit(id).map_err(map_err("reading commit"))?;
        if c.parent_count() <= 1 {
            out.push(id);
        }
    }
    Ok(out)
}

fn step_commit(step: &RebaseStep) -> Oid {
    match step {
        RebaseStep::Pick { commit }
        | RebaseStep::Reword { commit, .. }
        | RebaseStep::Squash { commit, .. }
        | RebaseStep::Fixup { commit }
        | RebaseStep::Drop { commit } => *commit,
    }
}

/// The commit being built: its tree, parents, author and message; written when the next step
/// starts a new commit, so squash and fixup can still fold into it.
struct Pending {
    tree: git2::Oid,
    parents: Vec<git2::Oid>,
    author: gitapi_core::Signature,
    message: String,
    /// Whether the message is a picked commit's, stored byte for byte as git's sequencer
    /// stores it (a plain pick, maybe with fixups folded in); a reworded or squashed message
    /// is normalised.
    verbatim: bool,
}

pub(crate) fn rebase(repo: &git2::Repository, req: &Rebase) -> Result<RebaseOutcome> {
    if !req.branch.is_branch() {
        return Err(Error::invalid(format!(
            "{:?} is not a branch",
            req.branch.as_str()
        )));
    }
    let tip = checked_tip(repo, &req.branch, req.expected_tip)?.ok_or_else(|| {
        Error::not_found(format!("branch {:?} does not exist", req.branch.as_str()))
    })?;
    let onto = resolve_commit(repo, &req.onto)?;
    let upstream = match &req.upstream {
        Some(u) => resolve_commit(repo, u)?.id(),
        None => onto.id(),
    };
    let todo = commits_to_replay(repo, upstream, tip)?;
    let steps: Vec<RebaseStep> = match &req.plan {
        None => {
            // Already on top of onto: git says "up to date" and rewrites nothing.
            let base = repo.merge_base(onto.id(), tip).ok();
            if base == Some(onto.id()) && req.upstream.is_none() {
                return Ok(RebaseOutcome {
                    tip: oid(tip),
                    commits: vec![],
                });
            }
            todo.iter()
                .map(|c| RebaseStep::Pick { commit: oid(*c) })
                .collect()
        }
        Some(plan) => {
            let mut named: Vec<Oid> = plan.iter().map(step_commit).collect();
            let mut expected: Vec<Oid> = todo.iter().map(|c| oid(*c)).collect();
            named.sort();
            expected.sort();
            if named != expected {
                return Err(Error::invalid(
                    "the plan must name each commit of upstream..branch exactly once",
                ));
            }
            plan.clone()
        }
    };
    let mut head = onto.id();
    let mut pending: Option<Pending> = None;
    let mut written = Vec::new();
    let flush = |pending: &mut Option<Pending>,
                 head: &mut git2::Oid,
                 written: &mut Vec<Oid>|
     -> Result<()> {
        if let Some(p) = pending.take() {
            let nc = NewCommit {
                tree: p.tree,
                parents: p.parents,
                author: &p.author,
                committer: &req.committer,
                message: &p.message,
            };
            *head = if p.verbatim {
                nc.write_verbatim(repo)?
            } else {
                nc.write(repo, &Signing::None, None)?
            };
            written.push(oid(*head));
        }
        Ok(())
    };
    let deadline = gitapi_core::Deadline::current();
    for step in &steps {
        // A checkpoint per step; the ref moves only after the last one, in `refs::update`.
        deadline.check("the rebase")?;
        let commit = repo
            .find_commit(git_oid(step_commit(step)))
            .map_err(map_err("reading commit to replay"))?;
        if matches!(step, RebaseStep::Drop { .. }) {
            continue;
        }
        let folding = matches!(step, RebaseStep::Squash { .. } | RebaseStep::Fixup { .. });
        if folding && pending.is_none() {
            return Err(Error::invalid("squash and fixup need a previous commit"));
        }
        // The state the step applies onto: the pending commit's tree if any.
        let onto_commit_id = match &pending {
            Some(p) if folding => {
                // Apply onto a temporary commit of the pending state.
                let nc = NewCommit {
                    tree: p.tree,
                    parents: p.parents.clone(),
                    author: &p.author,
                    committer: &req.committer,
                    message: &p.message,
                };
                nc.write(repo, &Signing::None, None)?
            }
            _ => {
                flush(&mut pending, &mut head, &mut written)?;
                head
            }
        };
        let onto_commit = repo
            .find_commit(onto_commit_id)
            .map_err(map_err("reading rebase head"))?;
        let tree =
            pick_tree(repo, &commit, &onto_commit, None, Pick::CherryPick).map_err(|e| match e
                .conflict_paths()
            {
                Some(paths) => Error::merge_conflict("rebase", paths.to_vec()),
                None => e,
            })?;
        let message = String::from_utf8_lossy(commit.message_raw_bytes()).into_owned();
        match step {
            RebaseStep::Squash { .. } | RebaseStep::Fixup { .. } => {
                let Some(p) = pending.as_mut() else {
                    return Err(Error::invalid("squash and fixup need a previous commit"));
                };
                p.tree = tree;
                if let RebaseStep::Squash {
                    message: custom, ..
                } = step
                {
                    p.verbatim = false;
                    // What `git rebase -i` leaves once the editor's comment lines are stripped.
                    p.message = match custom {
                        Some(custom) => custom.clone(),
                        None => format!("{}\n\n{message}", p.message.trim_end_matches('\n')),
                    };
                }
            }
            _ => {
                if tree == onto_commit.tree_id() {
                    // A commit that became empty is dropped, as git rebase does by default.
                    continue;
                }
                let message = match step {
                    RebaseStep::Reword { message, .. } => message.clone(),
                    _ => message,
                };
                pending = Some(Pending {
                    tree,
                    parents: vec![onto_commit_id],
                    author: convert::signature(&commit.author()),
                    message,
                    verbatim: matches!(step, RebaseStep::Pick { .. }),
                });
            }
        }
    }
    flush(&mut pending, &mut head, &mut written)?;
    if head != tip {
        advance(
            repo,
            &req.branch,
            Some(tip),
            head,
            &reflog::rebase_finish(&req.branch, oid(onto.id())),
        )?;
    }
    Ok(RebaseOutcome {
        tip: oid(head),
        commits: written,
    })
}
