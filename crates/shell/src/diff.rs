//! Diffs (`diff-tree`, `diff-index`, `diff-files` with `--raw -z -p`) parsed into the shared
//! structured model, and blame (`blame --porcelain`).

use std::path::Path;

use gitapi_core::diff::EMPTY_TREE;
use gitapi_core::porcelain;
use gitapi_core::{
    BlameHunk, BlameQuery, Diff, DiffId, DiffKey, DiffOptions, DiffSpec, DiffStatus, Error,
    FileDiff, FileMode, LineOrigin, ObjectKind, Oid, Result, Rev,
};

use crate::parse::{self, FilePatch, RawDiff};
use crate::repo::Repo;
use gitapi_gitcmd::{Git, Sub, Value};

/// The options every diff command gets: no external tools, full ids, context, renames.
fn with_options(mut g: Git, o: &DiffOptions) -> Git {
    g = g
        .flag("-r")
        .flag("-p")
        .flag("--raw")
        .flag("-z")
        .flag("--no-ext-diff")
        .flag("--no-textconv")
        .flag("--no-color")
        .flag("--full-index")
        .flag("--no-prefix")
        .opt("-U", Value::Num(u64::from(o.context_lines)));
    let t = o.rename_threshold.min(100);
    if o.find_renames || o.find_copies {
        g = g.opt("-M", Value::Percent(t));
    } else {
        g = g.flag("--no-renames");
    }
    if o.find_copies {
        g = g.opt("-C", Value::Percent(t));
    }
    g
}

fn with_paths(mut g: Git, o: &DiffOptions) -> Git {
    for p in &o.paths {
        g = g.path(p.as_str());
    }
    g
}

fn mode_of(bits: u32) -> Option<FileMode> {
    FileMode::from_bits(bits)
}

/// Joins raw entries with their patches into the model, sorted by path as the libgit2 engine
/// sorts. A typechange has one raw entry and two patches (git splits it into the deletion of
/// the old side and the addition of the new one); they become one file with both halves'
/// hunks. A pair whose content did not change (an exact rename, a mode change) has no content
/// in the patch, so whether git takes it for binary is read from the blob, as git does for
/// `--numstat`.
pub(crate) fn to_model(repo: &Repo, out: &[u8], id: Option<DiffId>) -> Result<Diff> {
    let (raws, patch) = parse::split_raw_and_patch(out)?;
    let patches = parse::parse_patch(patch)?;
    let wanted = raws.len() + raws.iter().filter(|r| is_typechange(r)).count();
    if patches.len() != wanted {
        return Err(Error::internal(format!(
            "diff printed {} raw entries ({wanted} patches expected) but {} patches",
            raws.len(),
            patches.len()
        )));
    }
    let mut patches = patches.into_iter();
    let mut files: Vec<FileDiff> = Vec::with_capacity(raws.len());
    let mut unchanged: Vec<(usize, Oid)> = Vec::new();
    for r in raws {
        let mut p = patches.next().unwrap_or_default();
        if is_typechange(&r) {
            let second = patches.next().unwrap_or_default();
            p.binary |= second.binary;
            p.hunks.extend(second.hunks);
        } else if !p.binary
            && p.hunks.is_empty()
            && r.old_oid == r.new_oid
            && !r.old_oid.is_zero()
            && matches!(
                r.status,
                DiffStatus::Modified | DiffStatus::Renamed | DiffStatus::Copied
            )
        {
            unchanged.push((files.len(), r.old_oid));
        }
        files.push(file_diff(r, p));
    }
    if !unchanged.is_empty() {
        let names: Vec<String> = unchanged.iter().map(|(_, o)| o.to_string()).collect();
        for ((i, _), obj) in unchanged.iter().zip(repo.read_many(&names)?) {
            if let Some((_, _, data)) = obj {
                files[*i].binary = gitapi_core::diff::buffer_is_binary(&data);
            }
        }
    }
    files.sort_by(|a, b| a.path().cmp(b.path()));
    Ok(Diff::new(id, files))
}

/// A typechange pair, which git prints as two patches.
fn is_typechange(r: &RawDiff) -> bool {
    r.status == DiffStatus::TypeChanged
}

fn file_diff(r: RawDiff, p: FilePatch) -> FileDiff {
    let old_present = r.status != DiffStatus::Added;
    let new_present = r.status != DiffStatus::Deleted;
    let count = |o: LineOrigin| -> u32 {
        let n: usize = p
            .hunks
            .iter()
            .map(|h| h.lines.iter().filter(|l| l.origin == o).count())
            .sum();
        u32::try_from(n).unwrap_or(u32::MAX)
    };
    let typechange = r.status == DiffStatus::TypeChanged;
    let (additions, deletions) = if p.binary {
        (0, 0)
    } else if typechange {
        gitapi_core::diff::typechange_counts(&p.hunks)
    } else {
        (count(LineOrigin::Addition), count(LineOrigin::Deletion))
    };
    let similarity = match r.status {
        DiffStatus::Renamed | DiffStatus::Copied => Some(r.score.unwrap_or(100)),
        _ => None,
    };
    FileDiff {
        status: r.status,
        old_path: old_present.then(|| r.old_path.clone()),
        new_path: new_present.then(|| r.new_path.clone()),
        old_mode: if old_present {
            mode_of(r.old_mode)
        } else {
            None
        },
        new_mode: if new_present {
            mode_of(r.new_mode)
        } else {
            None
        },
        old_oid: if old_present { r.old_oid } else { Oid::ZERO },
        new_oid: if new_present { r.new_oid } else { Oid::ZERO },
        similarity,
        binary: p.binary,
        additions,
        deletions,
        hunks: if p.binary && !typechange {
            Vec::new()
        } else {
            p.hunks
        },
    }
}

/// Commit-to-commit (or tree-to-tree) diffs, which have an id.
pub(crate) fn diff_commits(
    repo: &Repo,
    from: Option<&Rev>,
    to: &Rev,
    o: &DiffOptions,
) -> Result<Diff> {
    let (new_id, new_tree) = repo.resolve_tree(to)?;
    let (old_id, old_tree) = match from {
        Some(f) => repo.resolve_tree(f)?,
        None => {
            let empty = Oid::from_hex(EMPTY_TREE)?;
            let (obj, kind) = repo.resolve(to)?;
            let commit = match kind {
                ObjectKind::Commit => Some(obj),
                ObjectKind::Tag => repo.peel(obj, "commit")?,
                _ => None,
            };
            match commit.map(|c| repo.commit(c)).transpose()? {
                Some(c) if c.parents.len() == 1 => {
                    let parent = c.parents[0];
                    (parent, repo.commit(parent)?.tree)
                }
                _ => (empty, empty),
            }
        }
    };
    let g = with_paths(
        with_options(repo.git(Sub::DiffTree), o)
            .arg(old_tree.to_string())
            .arg(new_tree.to_string()),
        o,
    );
    let out = repo.ok(g)?;
    let id = DiffId::encode(&DiffKey {
        from: old_id,
        to: new_id,
        options: o.clone(),
    });
    to_model(repo, &out, Some(id))
}

/// Diffs that involve a workspace's index or work tree (`dir` is its work tree, `base` its
/// base commit).
pub(crate) fn diff_workspace(
    repo: &Repo,
    dir: &Path,
    base: Option<Oid>,
    spec: &DiffSpec,
    o: &DiffOptions,
) -> Result<Diff> {
    let old_side = |from: &Option<Rev>| -> Result<(Oid, Oid)> {
        match from {
            Some(rev) => repo.resolve_tree(rev),
            None => match base {
                Some(c) => Ok((c, repo.commit(c)?.tree)),
                None => {
                    let e = Oid::from_hex(EMPTY_TREE)?;
                    Ok((e, e))
                }
            },
        }
    };
    let ws = |sub| Git::in_worktree(dir, sub);
    let run = |g: Git| -> Result<Vec<u8>> { repo.ok(g) };
    match spec {
        DiffSpec::Index { from, .. } => {
            let (old_id, old_tree) = old_side(from)?;
            // The index as a tree names this diff by object ids alone, so it gets an id too.
            let index_tree = run(ws(Sub::WriteTree))?;
            let index_tree = Oid::from_hex(String::from_utf8_lossy(&index_tree).trim())?;
            let g = with_options(ws(Sub::DiffIndex), o)
                .flag("--cached")
                .arg(old_tree.to_string());
            let out = run(with_paths(g, o))?;
            let id = DiffId::encode(&DiffKey {
                from: old_id,
                to: index_tree,
                options: o.clone(),
            });
            to_model(repo, &out, Some(id))
        }
        DiffSpec::TreeToWorktree { from, .. } => {
            let (_, old_tree) = old_side(from)?;
            refresh(repo, dir)?;
            let g = with_options(ws(Sub::DiffIndex), o).arg(old_tree.to_string());
            to_model(repo, &run(with_paths(g, o))?, None)
        }
        DiffSpec::Worktree { .. } => {
            refresh(repo, dir)?;
            let g = with_options(ws(Sub::DiffFiles), o);
            to_model(repo, &run(with_paths(g, o))?, None)
        }
        DiffSpec::Commits { .. } => Err(Error::internal("commit diffs do not run in a workspace")),
    }
}

/// Refreshes the index's stat data, so plumbing diffs do not report files whose content did
/// not change (as `git diff` and `git status` refresh first).
pub(crate) fn refresh(repo: &Repo, dir: &Path) -> Result<()> {
    let out = repo.run(
        Git::in_worktree(dir, Sub::UpdateIndex)
            .flag("-q")
            .flag("--refresh")
            .flag("--unmerged"),
    )?;
    // Exit 1 means "needs update" for some paths: that is what the diff will show.
    if out.code > 1 {
        return Err(out.error());
    }
    Ok(())
}

pub(crate) fn blame(repo: &Repo, q: &BlameQuery) -> Result<Vec<BlameHunk>> {
    let commit = repo.resolve_commit(&q.rev)?;
    let tree = repo.commit(commit)?.tree;
    let entry = repo.entry_at(tree, q.path.as_str())?.ok_or_else(|| {
        Error::not_found(format!(
            "path {:?} does not exist at {:?}",
            q.path.as_str(),
            q.rev.as_str()
        ))
    })?;
    if !matches!(
        entry.file_mode(),
        Some(FileMode::Regular | FileMode::Executable | FileMode::Symlink)
    ) {
        return Err(Error::invalid(format!(
            "path {:?} is not a file",
            q.path.as_str()
        )));
    }
    let lines = match q.lines {
        None => None,
        Some(_) => {
            let data = repo
                .read(&entry.oid.to_string())?
                .map(|(_, _, d)| d)
                .ok_or_else(|| Error::internal("blob vanished"))?;
            porcelain::blame::line_range(q.lines, porcelain::blame::line_count(&data))?
        }
    };
    gitapi_gitcmd::blame::run(&repo.inner.dog, &repo.dir, commit, &q.path, lines)
}
