//! Merge and rebase without a work tree (`merge-tree --write-tree`), and the ancestry reads.

use gitapi_core::porcelain::pick::Pick;
use gitapi_core::reflog;
use gitapi_core::{
    AheadBehind, Error, FastForward, Merge, MergeKind, MergeOutcome, Oid, Rebase, RebaseOutcome,
    RebaseStep, Result, Rev, Signing,
};

use crate::commits::{NewCommit, advance, existing_tip, merge_trees, pick_tree};
use crate::repo::Repo;
use gitapi_gitcmd::Sub;

fn base_of(repo: &Repo, a: Oid, b: Oid) -> Result<Option<Oid>> {
    let out = repo.run(
        repo.git(Sub::MergeBase)
            .arg(a.to_string())
            .arg(b.to_string()),
    )?;
    match out.code {
        0 => Ok(Some(Oid::from_hex(
            String::from_utf8_lossy(&out.stdout).trim(),
        )?)),
        1 => Ok(None),
        _ => Err(out.error()),
    }
}

pub(crate) fn merge_base(repo: &Repo, a: &Rev, b: &Rev) -> Result<Option<Oid>> {
    let (a, b) = (repo.resolve_commit(a)?, repo.resolve_commit(b)?);
    base_of(repo, a, b)
}

/// Whether `a` is reachable from `d` (a commit is its own ancestor).
pub(crate) fn ancestor(repo: &Repo, a: Oid, d: Oid) -> Result<bool> {
    if a == d {
        return Ok(true);
    }
    let out = repo.run(
        repo.git(Sub::MergeBase)
            .flag("--is-ancestor")
            .arg(a.to_string())
            .arg(d.to_string()),
    )?;
    match out.code {
        0 => Ok(true),
        1 => Ok(false),
        _ => Err(out.error()),
    }
}

pub(crate) fn is_ancestor(repo: &Repo, ancestor_rev: &Rev, descendant: &Rev) -> Result<bool> {
    let a = repo.resolve_commit(ancestor_rev)?;
    let d = repo.resolve_commit(descendant)?;
    ancestor(repo, a, d)
}

pub(crate) fn ahead_behind(repo: &Repo, a: &Rev, b: &Rev) -> Result<AheadBehind> {
    let (a, b) = (repo.resolve_commit(a)?, repo.resolve_commit(b)?);
    let out = repo.ok(repo
        .git(Sub::RevList)
        .flag("--left-right")
        .flag("--count")
        .arg(format!("{a}...{b}")))?;
    let text = String::from_utf8_lossy(&out);
    let (ahead, behind) = text
        .trim()
        .split_once('\t')
        .ok_or_else(|| Error::internal(format!("rev-list --count printed {text:?}")))?;
    let num = |s: &str| {
        s.parse::<usize>()
            .map_err(|_| Error::internal(format!("rev-list --count printed {text:?}")))
    };
    Ok(AheadBehind {
        ahead: num(ahead)?,
        behind: num(behind)?,
    })
}

pub(crate) fn merge(repo: &Repo, req: &Merge) -> Result<MergeOutcome> {
    if !req.target.is_branch() {
        return Err(Error::invalid(format!(
            "{:?} is not a branch",
            req.target.as_str()
        )));
    }
    let src = repo.resolve_commit(&req.source)?;
    let tip = existing_tip(repo, &req.target, req.expected_tip)?;
    if ancestor(repo, src, tip)? {
        return Ok(MergeOutcome {
            kind: MergeKind::UpToDate,
            tip,
        });
    }
    let can_ff = ancestor(repo, tip, src)?;
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
            tip: src,
        });
    }
    if req.fast_forward == FastForward::FfOnly {
        return Err(Error::precondition(format!(
            "{:?} cannot be fast-forwarded to {:?}",
            req.target.as_str(),
            req.source.as_str()
        )));
    }
    let tree = merge_trees(repo, None, tip, src, "merge")?;
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
        author: req.committer.clone(),
        committer: req.committer.clone(),
        message,
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
        tip: id,
    })
}

/// The commits `upstream..tip` a rebase replays, oldest first, merges left out.
fn commits_to_replay(repo: &Repo, upstream: Oid, tip: Oid) -> Result<Vec<Oid>> {
    let out = repo.ok(repo
        .git(Sub::RevList)
        .flag("--topo-order")
        .flag("--reverse")
        .flag("--no-merges")
        .arg(tip.to_string())
        .arg(format!("^{upstream}")))?;
    String::from_utf8_lossy(&out)
        .lines()
        .filter(|l| !l.is_empty())
        .map(Oid::from_hex)
        .collect()
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

/// The commit being built; written when the next step starts a new commit, so squash and
/// fixup can still fold into it.
struct Pending {
    tree: Oid,
    parents: Vec<Oid>,
    author: gitapi_core::Signature,
    message: String,
    /// Whether the message is a picked commit's, stored byte for byte as git's sequencer
    /// stores it (a plain pick, maybe with fixups folded in); a reworded or squashed message
    /// is normalised.
    verbatim: bool,
}

pub(crate) fn rebase(repo: &Repo, req: &Rebase) -> Result<RebaseOutcome> {
    if !req.branch.is_branch() {
        return Err(Error::invalid(format!(
            "{:?} is not a branch",
            req.branch.as_str()
        )));
    }
    let tip = existing_tip(repo, &req.branch, req.expected_tip)?;
    let onto = repo.resolve_commit(&req.onto)?;
    let upstream = match &req.upstream {
        Some(u) => repo.resolve_commit(u)?,
        None => onto,
    };
    let todo = commits_to_replay(repo, upstream, tip)?;
    let steps: Vec<RebaseStep> = match &req.plan {
        None => {
            // Already on top of onto: git says "up to date" and rewrites nothing.
            if req.upstream.is_none() && base_of(repo, onto, tip)? == Some(onto) {
                return Ok(RebaseOutcome {
                    tip,
                    commits: vec![],
                });
            }
            todo.iter()
                .map(|c| RebaseStep::Pick { commit: *c })
                .collect()
        }
        Some(plan) => {
            let mut named: Vec<Oid> = plan.iter().map(step_commit).collect();
            let mut expected = todo.clone();
            named.sort();
            expected.sort();
            if named != expected {
                return Err(Error::invalid(
                    "the plan must name each commit of upstream..branch exactly once",
                ));
            }
            if matches!(
                plan.first(),
                Some(RebaseStep::Squash { .. } | RebaseStep::Fixup { .. })
            ) {
                return Err(Error::invalid("squash and fixup need a previous commit"));
            }
            plan.clone()
        }
    };
    let write = |p: &Pending| -> Result<Oid> {
        let nc = NewCommit {
            tree: p.tree,
            parents: p.parents.clone(),
            author: p.author.clone(),
            committer: req.committer.clone(),
            message: p.message.clone(),
        };
        if p.verbatim {
            nc.write_verbatim(repo)
        } else {
            nc.write(repo, &Signing::None, None)
        }
    };
    let mut head = onto;
    let mut pending: Option<Pending> = None;
    let mut written = Vec::new();
    for step in &steps {
        if matches!(step, RebaseStep::Drop { .. }) {
            continue;
        }
        let commit = repo.commit(step_commit(step))?;
        let folding = matches!(step, RebaseStep::Squash { .. } | RebaseStep::Fixup { .. });
        let onto_commit = match &pending {
            // Apply onto a temporary commit of the pending state.
            Some(p) if folding => write(p)?,
            _ => {
                if let Some(p) = pending.take() {
                    head = write(&p)?;
                    written.push(head);
                }
                head
            }
        };
        let onto_tree = repo.commit(onto_commit)?.tree;
        let tree = pick_tree(repo, &commit, onto_commit, None, Pick::CherryPick).map_err(|e| {
            match e.conflict_paths() {
                Some(paths) => Error::merge_conflict("rebase", paths.to_vec()),
                None => e,
            }
        })?;
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
                        None => {
                            format!("{}\n\n{}", p.message.trim_end_matches('\n'), commit.message)
                        }
                    };
                }
            }
            _ => {
                if tree == onto_tree {
                    // A commit that became empty is dropped, as git rebase does by default.
                    continue;
                }
                let message = match step {
                    RebaseStep::Reword { message, .. } => message.clone(),
                    _ => commit.message.clone(),
                };
                pending = Some(Pending {
                    tree,
                    parents: vec![onto_commit],
                    author: commit.author.clone(),
                    message,
                    verbatim: matches!(step, RebaseStep::Pick { .. }),
                });
            }
        }
    }
    if let Some(p) = pending.take() {
        head = write(&p)?;
        written.push(head);
    }
    if head != tip {
        advance(
            repo,
            &req.branch,
            Some(tip),
            head,
            &reflog::rebase_finish(&req.branch, onto),
        )?;
    }
    Ok(RebaseOutcome {
        tip: head,
        commits: written,
    })
}
