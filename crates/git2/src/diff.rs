//! Diffs in every form, converted to the shared structured model, and blame.

use std::path::Path;

use gitapi_core::diff::EMPTY_TREE;
use gitapi_core::porcelain;
use gitapi_core::{
    BlameHunk, BlameQuery, Diff, DiffId, DiffKey, DiffLine, DiffOptions, DiffRequest, DiffSpec,
    DiffStatus, Error, FileDiff, Hunk, LineOrigin, Oid, Result, Rev,
};

use crate::convert::{file_mode, map_err, oid};
use crate::refs::{resolve_commit, resolve_object};

fn git_options(o: &DiffOptions) -> git2::DiffOptions {
    let mut opts = git2::DiffOptions::new();
    opts.context_lines(o.context_lines)
        .interhunk_lines(0)
        .id_abbrev(7)
        .disable_pathspec_match(true)
        // A file turned into a symlink (or back) is one typechange, as git reports it, not a
        // deletion and an addition that rename detection may pair with other files.
        .include_typechange(true);
    for p in &o.paths {
        opts.pathspec(p.as_str());
    }
    opts
}

fn find_similar(diff: &mut git2::Diff<'_>, o: &DiffOptions) -> Result<()> {
    if !o.find_renames && !o.find_copies {
        return Ok(());
    }
    let threshold = u16::from(o.rename_threshold.min(100));
    let mut find = git2::DiffFindOptions::new();
    find.renames(o.find_renames || o.find_copies)
        .copies(o.find_copies)
        .rename_threshold(threshold)
        .copy_threshold(threshold);
    diff.find_similar(Some(&mut find))
        .map_err(map_err("detecting renames"))
}

/// A tree-ish's tree, and the id a diff key records for it.
fn tree_of<'r>(repo: &'r git2::Repository, rev: &Rev) -> Result<(git2::Tree<'r>, Oid)> {
    let obj = resolve_object(repo, rev)?;
    let tree = obj.peel_to_tree().map_err(|_| {
        Error::invalid(format!(
            "revision {:?} does not name a tree-ish",
            rev.as_str()
        ))
    })?;
    Ok((tree, oid(obj.id())))
}

fn empty_tree(repo: &git2::Repository) -> Result<git2::Tree<'_>> {
    let id = git2::Oid::from_str(EMPTY_TREE).map_err(map_err("empty tree id"))?;
    // The empty tree needs to exist as an object for libgit2 to load it.
    let written = repo
        .treebuilder(None)
        .and_then(|b| b.write())
        .map_err(map_err("writing empty tree"))?;
    debug_assert_eq!(written, id);
    repo.find_tree(id).map_err(map_err("reading empty tree"))
}

/// Commit-to-commit (or tree-to-tree) diffs, which have an id.
pub(crate) fn diff_commits(
    repo: &git2::Repository,
    from: Option<&Rev>,
    to: &Rev,
    o: &DiffOptions,
) -> Result<Diff> {
    let (new_tree, new_id) = tree_of(repo, to)?;
    let (old_tree, old_id) = match from {
        Some(f) => tree_of(repo, f)?,
        None => {
            let obj = resolve_object(repo, to)?;
            // `git show` semantics for one parent; merges and roots diff against nothing.
            match obj
                .as_commit()
                .filter(|c| c.parent_count() == 1)
                .and_then(|c| c.parent(0).ok())
            {
                Some(parent) => (
                    parent.tree().map_err(map_err("reading parent tree"))?,
                    oid(parent.id()),
                ),
                None => {
                    let t = empty_tree(repo)?;
                    let id = oid(t.id());
                    (t, id)
                }
            }
        }
    };
    let mut opts = git_options(o);
    let mut diff = repo
        .diff_tree_to_tree(Some(&old_tree), Some(&new_tree), Some(&mut opts))
        .map_err(map_err("diffing trees"))?;
    find_similar(&mut diff, o)?;
    let id = DiffId::encode(&DiffKey {
        from: old_id,
        to: new_id,
        options: o.clone(),
    });
    to_model(repo, &diff, Some(id))
}

/// Diffs that involve a workspace's index or work tree.
pub(crate) fn diff_workspace(
    ws: &crate::workspace::Workspace,
    spec: &DiffSpec,
    o: &DiffOptions,
) -> Result<Diff> {
    let repo = &ws.repo;
    let old_side = |from: &Option<Rev>| -> Result<(git2::Tree<'_>, Oid)> {
        match from {
            Some(rev) => tree_of(repo, rev),
            None => match ws.base_commit()? {
                Some(c) => Ok((c.tree().map_err(map_err("reading base tree"))?, oid(c.id()))),
                None => {
                    let t = empty_tree(repo)?;
                    let id = oid(t.id());
                    Ok((t, id))
                }
            },
        }
    };
    let mut opts = git_options(o);
    let mut index = repo.index().map_err(map_err("reading index"))?;
    let (mut diff, id) = match spec {
        DiffSpec::Index { from, .. } => {
            let (tree, old_id) = old_side(from)?;
            // The index as a tree names this diff by object ids alone, so it gets an id too.
            let index_tree = index
                .write_tree_to(repo)
                .map_err(map_err("writing index tree"))?;
            let d = repo
                .diff_tree_to_index(Some(&tree), Some(&index), Some(&mut opts))
                .map_err(map_err("diffing index"))?;
            let id = DiffId::encode(&DiffKey {
                from: old_id,
                to: oid(index_tree),
                options: o.clone(),
            });
            (d, Some(id))
        }
        DiffSpec::TreeToWorktree { from, .. } => {
            let (tree, _) = old_side(from)?;
            let d = repo
                .diff_tree_to_workdir_with_index(Some(&tree), Some(&mut opts))
                .map_err(map_err("diffing work tree"))?;
            (d, None)
        }
        DiffSpec::Worktree { .. } => {
            let d = repo
                .diff_index_to_workdir(Some(&index), Some(&mut opts))
                .map_err(map_err("diffing work tree"))?;
            (d, None)
        }
        DiffSpec::Commits { .. } => {
            return Err(Error::internal("commit diffs do not run in a workspace"));
        }
    };
    find_similar(&mut diff, o)?;
    let mut out = to_model(repo, &diff, id)?;
    if matches!(
        spec,
        DiffSpec::Worktree { .. } | DiffSpec::TreeToWorktree { .. }
    ) {
        // A work-tree file that differs from its index entry is not an object yet: git
        // (`diff --raw`, and so the CLI engine) reports the zero id for it, and the index's id
        // when the file matches the index. libgit2 hashes the file; found by the strict canary.
        for f in &mut out.files {
            let Some(path) = f.new_path.as_deref() else {
                continue;
            };
            let staged = index
                .get_path(std::path::Path::new(path), 0)
                .map(|e| oid(e.id));
            if staged != Some(f.new_oid) {
                f.new_oid = Oid::ZERO;
            }
        }
    }
    Ok(out)
}

fn status(d: git2::Delta) -> Option<DiffStatus> {
    Some(match d {
        git2::Delta::Added | git2::Delta::Untracked => DiffStatus::Added,
        git2::Delta::Deleted => DiffStatus::Deleted,
        git2::Delta::Modified => DiffStatus::Modified,
        git2::Delta::Renamed => DiffStatus::Renamed,
        git2::Delta::Copied => DiffStatus::Copied,
        git2::Delta::Typechange => DiffStatus::TypeChanged,
        _ => return None,
    })
}

fn path_of(f: &git2::DiffFile<'_>) -> Option<String> {
    f.path_bytes()
        .map(|p| String::from_utf8_lossy(p).into_owned())
}

fn to_model(repo: &git2::Repository, diff: &git2::Diff<'_>, id: Option<DiffId>) -> Result<Diff> {
    let mut files = Vec::new();
    let deadline = gitapi_core::Deadline::current();
    for idx in 0..diff.deltas().len() {
        // A checkpoint per file: a diff of a huge change stops at the caller's deadline.
        deadline.check("the diff")?;
        let Some(delta) = diff.get_delta(idx) else {
            continue;
        };
        let Some(st) = status(delta.status()) else {
            continue;
        };
        let mut patch = git2::Patch::from_diff(diff, idx).map_err(map_err("building patch"))?;
        let similarity_index = match (st, patch.as_mut()) {
            (DiffStatus::Renamed | DiffStatus::Copied, p) => {
                let libgit2 = p.and_then(similarity).unwrap_or(100);
                // libgit2 estimates similarity its own way; report git's number whenever both
                // sides are in the object database (a work-tree side may not be).
                Some(if libgit2 == 100 {
                    100
                } else {
                    git_similarity(repo, &delta).unwrap_or(libgit2)
                })
            }
            _ => None,
        };
        let (old, new) = (delta.old_file(), delta.new_file());
        let mut binary = delta.flags().is_binary() || old.is_binary() || new.is_binary();
        let mut hunks = Vec::new();
        let (mut additions, mut deletions) = (0u32, 0u32);
        if st == DiffStatus::TypeChanged {
            // git prints a typechange as the whole old side deleted and the whole new side
            // added, and counts a line diff of the two sides; libgit2 diffs the two contents.
            let old_bytes = side_content(repo, &old)?;
            let new_bytes = side_content(repo, &new)?;
            binary = gitapi_core::diff::buffer_is_binary(&old_bytes)
                || gitapi_core::diff::buffer_is_binary(&new_bytes);
            hunks.extend(gitapi_core::diff::whole_file_hunk(&old_bytes, true));
            hunks.extend(gitapi_core::diff::whole_file_hunk(&new_bytes, false));
            if !binary {
                (additions, deletions) = gitapi_core::diff::typechange_counts(&hunks);
            }
        } else if !binary && old.id() == new.id() && !old.id().is_zero() {
            // Content unchanged (an exact rename, a mode change): libgit2 loads no content, so
            // it cannot know the blob is binary; git checks the blob for `--numstat`.
            if let Ok(blob) = repo.find_blob(old.id()) {
                binary = gitapi_core::diff::buffer_is_binary(blob.content());
            }
        }
        if let Some(patch) = patch
            .as_ref()
            .filter(|_| !binary && st != DiffStatus::TypeChanged)
        {
            for h in 0..patch.num_hunks() {
                let (hunk, n) = patch.hunk(h).map_err(map_err("reading hunk"))?;
                let header = String::from_utf8_lossy(hunk.header()).into_owned();
                let heading = header
                    .trim_end_matches(['\n', '\r'])
                    .splitn(3, "@@")
                    .nth(2)
                    .map(|s| s.strip_prefix(' ').unwrap_or(s).to_owned())
                    .unwrap_or_default();
                let mut lines: Vec<DiffLine> = Vec::with_capacity(n);
                for l in 0..n {
                    let line = patch
                        .line_in_hunk(h, l)
                        .map_err(map_err("reading diff line"))?;
                    let origin = match line.origin_value() {
                        git2::DiffLineType::Context => LineOrigin::Context,
                        git2::DiffLineType::Addition => {
                            additions += 1;
                            LineOrigin::Addition
                        }
                        git2::DiffLineType::Deletion => {
                            deletions += 1;
                            LineOrigin::Deletion
                        }
                        git2::DiffLineType::ContextEOFNL
                        | git2::DiffLineType::AddEOFNL
                        | git2::DiffLineType::DeleteEOFNL => {
                            if let Some(last) = lines.last_mut() {
                                last.no_newline = true;
                            }
                            continue;
                        }
                        _ => continue,
                    };
                    let content = String::from_utf8_lossy(line.content());
                    let content = content.strip_suffix('\n').unwrap_or(&content);
                    lines.push(DiffLine {
                        origin,
                        content: content.to_owned(),
                        old_lineno: line.old_lineno(),
                        new_lineno: line.new_lineno(),
                        no_newline: false,
                    });
                }
                hunks.push(Hunk {
                    old_start: hunk.old_start(),
                    old_lines: hunk.old_lines(),
                    new_start: hunk.new_start(),
                    new_lines: hunk.new_lines(),
                    heading,
                    lines,
                });
            }
        }
        let present = |f: &git2::DiffFile<'_>| f.exists() || !f.id().is_zero();
        let old_present = st != DiffStatus::Added && present(&old);
        let new_present = st != DiffStatus::Deleted;
        files.push(FileDiff {
            status: st,
            old_path: old_present.then(|| path_of(&old)).flatten(),
            new_path: new_present.then(|| path_of(&new)).flatten(),
            old_mode: old_present
                .then(|| file_mode(i32::try_from(u32::from(old.mode())).unwrap_or(0)))
                .flatten(),
            new_mode: new_present
                .then(|| file_mode(i32::try_from(u32::from(new.mode())).unwrap_or(0)))
                .flatten(),
            old_oid: if old_present {
                oid(old.id())
            } else {
                Oid::ZERO
            },
            new_oid: if new_present {
                oid(new.id())
            } else {
                Oid::ZERO
            },
            similarity: similarity_index,
            binary,
            additions,
            deletions,
            hunks,
        });
    }
    files.sort_by(|a, b| a.path().cmp(b.path()));
    Ok(Diff::new(id, files))
}

/// The content of one side of a delta: its blob, or for a work-tree side that is not an
/// object yet, the file (a symlink's target) in the work tree.
fn side_content(repo: &git2::Repository, f: &git2::DiffFile<'_>) -> Result<Vec<u8>> {
    if !f.id().is_zero()
        && let Ok(blob) = repo.find_blob(f.id())
    {
        return Ok(blob.content().to_vec());
    }
    let (Some(dir), Some(path)) = (repo.workdir(), f.path()) else {
        return Ok(Vec::new());
    };
    let full = dir.join(path);
    match std::fs::symlink_metadata(&full) {
        Ok(m) if m.file_type().is_symlink() => {
            let target = std::fs::read_link(&full)
                .map_err(|e| Error::internal(format!("reading symlink {}: {e}", full.display())))?;
            Ok(target.into_os_string().into_encoded_bytes())
        }
        Ok(_) => std::fs::read(&full)
            .map_err(|e| Error::internal(format!("reading {}: {e}", full.display()))),
        Err(_) => Ok(Vec::new()),
    }
}

/// Git's similarity index of a rename or copy, from both blobs' content.
fn git_similarity(repo: &git2::Repository, delta: &git2::DiffDelta<'_>) -> Option<u8> {
    let old = repo.find_blob(delta.old_file().id()).ok()?;
    let new = repo.find_blob(delta.new_file().id()).ok()?;
    Some(gitapi_core::similarity::similarity_index(
        old.content(),
        new.content(),
    ))
}

/// The similarity index of a rename or copy, read from libgit2's patch header (the `git2`
/// crate does not expose the delta's field).
fn similarity(patch: &mut git2::Patch<'_>) -> Option<u8> {
    let buf = patch.to_buf().ok()?;
    let text = String::from_utf8_lossy(&buf);
    text.lines()
        .take_while(|l| !l.starts_with("---") && !l.starts_with("@@"))
        .find_map(|l| l.strip_prefix("similarity index "))
        .and_then(|v| v.trim_end_matches('%').parse().ok())
}

pub(crate) fn diff(repo: &git2::Repository, req: &DiffRequest) -> Result<Diff> {
    match &req.spec {
        DiffSpec::Commits { from, to } => diff_commits(repo, from.as_ref(), to, &req.options),
        _ => Err(Error::internal("workspace diffs need a workspace")),
    }
}

pub(crate) fn blame(
    dog: &gitapi_gitcmd::Watchdog,
    repo: &git2::Repository,
    q: &BlameQuery,
) -> Result<Vec<BlameHunk>> {
    let commit = resolve_commit(repo, &q.rev)?;
    let tree = commit.tree().map_err(map_err("reading tree"))?;
    let entry = tree.get_path(Path::new(q.path.as_str())).map_err(|_| {
        Error::not_found(format!(
            "path {:?} does not exist at {:?}",
            q.path.as_str(),
            q.rev.as_str()
        ))
    })?;
    if entry.kind() != Some(git2::ObjectType::Blob) {
        return Err(Error::invalid(format!(
            "path {:?} is not a file",
            q.path.as_str()
        )));
    }
    let blob = repo
        .find_blob(entry.id())
        .map_err(map_err("reading blob"))?;
    let lines =
        porcelain::blame::line_range(q.lines, porcelain::blame::line_count(blob.content()))?;
    // `git_blame_file` has no callback, so a libgit2 blame could not be stopped at the
    // deadline: its blocking thread would work on after the answer `Timeout`. `git blame` runs
    // instead, as on the CLI engine, and its process group is killed at the deadline.
    gitapi_gitcmd::blame::run(dog, repo.path(), oid(commit.id()), &q.path, lines)
}
