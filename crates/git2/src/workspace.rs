//! Workspaces: linked work trees with their own HEAD and index, and everything that needs them
//! (work-tree files, index, stash, commits from the index, reset).
//!
//! On disk a workspace is what `gitapi_storage::link` writes (what `git worktree add --detach`
//! makes), so the git CLI and the CLI engine see the same thing. HEAD is detached at the workspace's base commit; `gitapi-branch` names the branch that its
//! commits advance (compare-and-swap from the base).

use std::path::{Path, PathBuf};

use gitapi_core::reflog;
use gitapi_core::{
    Commit, CommitIndex, Error, FileStatus, Layout, RefName, RepoName, RepoPath, ResetMode, Result,
    Rev, StashEntry, StashSave, StatusEntry, WorkspaceInfo, WorkspaceName,
};

use crate::commits::{NewCommit, advance};
use crate::convert::{git_signature, map_err, oid};
use crate::refs::{current, resolve_commit};
use gitapi_core::porcelain::workspace_edit::EditableWorkspace;
use gitapi_storage::WorkTree;

use crate::repo::open_bare;

/// An open workspace.
pub(crate) struct Workspace {
    pub(crate) name: WorkspaceName,
    pub(crate) repo: git2::Repository,
    pub(crate) branch: RefName,
    pub(crate) dir: PathBuf,
    files: WorkTree,
}

/// Creates a workspace on `branch` (the repository's default branch when `None`).
pub(crate) fn create(
    layout: &Layout,
    repo: &RepoName,
    ws: &WorkspaceName,
    branch: Option<RefName>,
) -> Result<WorkspaceInfo> {
    let bare = open_bare(layout, repo)?;
    let head_branch = crate::repo::info(&bare, repo)?.default_branch;
    let branch = match branch {
        Some(b) if b.is_branch() => b,
        Some(b) => return Err(Error::invalid(format!("{:?} is not a branch", b.as_str()))),
        None => head_branch
            .clone()
            .ok_or_else(|| Error::precondition("repository HEAD names no branch"))?,
    };
    let base = current(&bare, branch.as_str())?;
    if base.is_none() && head_branch.as_ref() != Some(&branch) {
        // Only the repository's own unborn default branch may be empty; any other branch must
        // exist, so a typo does not make a workspace on nothing.
        return Err(Error::not_found(format!(
            "branch {:?} does not exist",
            branch.as_str()
        )));
    }
    let dir = gitapi_storage::link(layout, repo, ws, &branch, base.map(oid))?;
    let checked_out = git2::Repository::open(&dir)
        .map_err(map_err("opening workspace"))
        .and_then(|wt| {
            if base.is_some() {
                let mut co = git2::build::CheckoutBuilder::new();
                co.force();
                wt.checkout_head(Some(&mut co))
                    .map_err(map_err("checking out workspace"))?;
            }
            Ok(wt)
        });
    let wt = match checked_out {
        Ok(wt) => wt,
        Err(e) => {
            // A refused checkout (a tree git would not write) leaves no half-made workspace.
            let _ = gitapi_storage::unlink(layout, repo, ws);
            return Err(e);
        }
    };
    let w = Workspace {
        name: ws.clone(),
        repo: wt,
        branch,
        files: WorkTree::new(&dir),
        dir,
    };
    w.info()
}

/// Opens a workspace; `default` is created on first use.
pub(crate) fn open(layout: &Layout, repo: &RepoName, ws: &WorkspaceName) -> Result<Workspace> {
    let branch = match gitapi_storage::branch_of(layout, repo, ws)? {
        Some(b) => b,
        None => {
            open_bare(layout, repo)?;
            if *ws != WorkspaceName::default_workspace() {
                return Err(Error::not_found(format!(
                    "workspace {:?} does not exist",
                    ws.as_str()
                )));
            }
            create(layout, repo, ws, None)?.branch
        }
    };
    let dir = layout.workspace_dir(repo, ws);
    let wt = git2::Repository::open(&dir).map_err(map_err("opening workspace"))?;
    let w = Workspace {
        name: ws.clone(),
        repo: wt,
        branch,
        files: WorkTree::new(&dir),
        dir,
    };
    w.adopt_born_branch()?;
    Ok(w)
}

pub(crate) fn list(layout: &Layout, repo: &RepoName) -> Result<Vec<WorkspaceInfo>> {
    open_bare(layout, repo)?;
    gitapi_storage::names(layout, repo)
        .iter()
        .map(|name| open(layout, repo, name)?.info())
        .collect()
}

pub(crate) fn remove(layout: &Layout, repo: &RepoName, ws: &WorkspaceName) -> Result<()> {
    open_bare(layout, repo)?;
    gitapi_storage::unlink(layout, repo, ws)
}

fn status_of(s: git2::Status, staged: bool) -> FileStatus {
    if s.is_conflicted() {
        return FileStatus::Conflicted;
    }
    let (new, modified, deleted, typechange, renamed) = if staged {
        (
            s.is_index_new(),
            s.is_index_modified(),
            s.is_index_deleted(),
            s.is_index_typechange(),
            s.is_index_renamed(),
        )
    } else {
        (
            false,
            s.is_wt_modified(),
            s.is_wt_deleted(),
            s.is_wt_typechange(),
            s.is_wt_renamed(),
        )
    };
    if new {
        FileStatus::Added
    } else if deleted {
        FileStatus::Deleted
    } else if typechange {
        FileStatus::TypeChanged
    } else if modified || renamed {
        FileStatus::Modified
    } else {
        FileStatus::Unmodified
    }
}

impl Workspace {
    pub(crate) fn base(&self) -> Result<Option<git2::Oid>> {
        match self.repo.head() {
            Ok(h) => Ok(h.target()),
            Err(e) if e.code() == git2::ErrorCode::UnbornBranch => Ok(None),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(map_err("reading workspace HEAD")(e)),
        }
    }

    pub(crate) fn base_commit(&self) -> Result<Option<git2::Commit<'_>>> {
        self.base()?
            .map(|b| {
                self.repo
                    .find_commit(b)
                    .map_err(map_err("reading base commit"))
            })
            .transpose()
    }

    pub(crate) fn info(&self) -> Result<WorkspaceInfo> {
        Ok(WorkspaceInfo {
            name: self.name.clone(),
            branch: self.branch.clone(),
            base: self.base()?.map(oid),
        })
    }

    /// A workspace made on an unborn branch follows the branch once it is born, as long as
    /// nothing was staged in it yet.
    fn adopt_born_branch(&self) -> Result<()> {
        let head_is_symbolic = self
            .repo
            .find_reference("HEAD")
            .map(|h| h.kind() == Some(git2::ReferenceType::Symbolic))
            .unwrap_or(false);
        if !head_is_symbolic {
            return Ok(());
        }
        let Some(tip) = current(&self.repo, self.branch.as_str())? else {
            return Ok(());
        };
        let index = self.repo.index().map_err(map_err("reading index"))?;
        if !index.is_empty() {
            return Ok(());
        }
        self.repo
            .set_head_detached(tip)
            .map_err(map_err("updating workspace HEAD"))?;
        let mut co = git2::build::CheckoutBuilder::new();
        co.safe();
        self.repo
            .checkout_head(Some(&mut co))
            .map_err(map_err("checking out workspace"))
    }

    pub(crate) fn status(&self) -> Result<Vec<StatusEntry>> {
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(false)
            .renames_head_to_index(false)
            .renames_index_to_workdir(false);
        let statuses = self
            .repo
            .statuses(Some(&mut opts))
            .map_err(map_err("reading status"))?;
        let mut out: Vec<StatusEntry> = statuses
            .iter()
            .filter_map(|e| {
                let s = e.status();
                let path = String::from_utf8_lossy(e.path_bytes()).into_owned();
                if s.is_ignored() || s == git2::Status::CURRENT {
                    return None;
                }
                let untracked = s.is_wt_new() && !s.is_index_new();
                Some(StatusEntry {
                    path,
                    staged: if untracked {
                        FileStatus::Unmodified
                    } else {
                        status_of(s, true)
                    },
                    unstaged: if untracked {
                        FileStatus::Unmodified
                    } else {
                        status_of(s, false)
                    },
                    untracked,
                })
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    fn index(&self) -> Result<git2::Index> {
        self.repo.index().map_err(map_err("reading index"))
    }
}

/// The index operations, the libgit2 way; the work-tree file edits are `gitapi-storage`'s.
impl EditableWorkspace for Workspace {
    type Files = WorkTree;

    fn files(&self) -> &WorkTree {
        &self.files
    }

    fn stage(&self, path: &RepoPath) -> Result<()> {
        let mut index = self.index()?;
        let target = self.files.safe_path(path, false);
        let on_disk = target
            .as_ref()
            .ok()
            .and_then(|t| std::fs::symlink_metadata(t).ok());
        let in_index = index.get_path(Path::new(path.as_str()), 0).is_some();
        match on_disk {
            Some(m) if m.is_dir() => {
                index
                    .add_all([path.as_str()], git2::IndexAddOption::DEFAULT, None)
                    .map_err(map_err("staging directory"))?;
                index
                    .update_all([path.as_str()], None)
                    .map_err(map_err("staging directory"))?;
            }
            Some(_) => index
                .add_path(Path::new(path.as_str()))
                .map_err(map_err(format_args!("staging {:?}", path.as_str())))?,
            None if in_index => index
                .remove_path(Path::new(path.as_str()))
                .map_err(map_err(format_args!(
                    "staging removal of {:?}",
                    path.as_str()
                )))?,
            None => {
                let prefix = format!("{}/", path.as_str());
                let under: Vec<PathBuf> = index
                    .iter()
                    .filter_map(|e| {
                        let p = String::from_utf8_lossy(&e.path).into_owned();
                        p.starts_with(&prefix).then(|| PathBuf::from(p))
                    })
                    .collect();
                if under.is_empty() {
                    return Err(Error::not_found(format!(
                        "path {:?} is neither in the work tree nor in the index",
                        path.as_str()
                    )));
                }
                for p in under {
                    index.remove_path(&p).map_err(map_err("staging removal"))?;
                }
            }
        }
        index.write().map_err(map_err("writing index"))
    }

    fn unstage(&self, path: &RepoPath) -> Result<()> {
        let base = self.base_commit()?;
        let mut index = self.index()?;
        let in_index = index.get_path(Path::new(path.as_str()), 0).is_some();
        let in_base = match &base {
            Some(c) => c
                .tree()
                .map_err(map_err("reading base tree"))?
                .get_path(Path::new(path.as_str()))
                .is_ok(),
            None => false,
        };
        if !in_index && !in_base {
            return Err(Error::not_found(format!(
                "path {:?} is not staged",
                path.as_str()
            )));
        }
        match base {
            Some(c) => self
                .repo
                .reset_default(Some(c.as_object()), [path.as_str()])
                .map_err(map_err(format_args!("unstaging {:?}", path.as_str()))),
            None => {
                index
                    .remove_path(Path::new(path.as_str()))
                    .map_err(map_err("unstaging"))?;
                index.write().map_err(map_err("writing index"))
            }
        }
    }

    fn stage_patch(&self, patch: &str) -> Result<()> {
        if patch.trim().is_empty() {
            return Err(Error::invalid("patch is empty"));
        }
        let diff = git2::Diff::from_buffer(patch.as_bytes())
            .map_err(|e| Error::invalid(format!("patch is not valid: {}", e.message())))?;
        if diff.deltas().len() == 0 {
            return Err(Error::invalid("patch holds no file change"));
        }
        self.repo
            .apply(&diff, git2::ApplyLocation::Index, None)
            .map_err(|e| {
                Error::new(
                    gitapi_core::ErrorKind::Conflict,
                    format!("patch does not apply to the index: {}", e.message()),
                )
            })
    }

    fn discard(&self, path: &RepoPath) -> Result<()> {
        let mut index = self.index()?;
        let prefix = format!("{}/", path.as_str());
        let known = index.get_path(Path::new(path.as_str()), 0).is_some()
            || index.iter().any(|e| e.path.starts_with(prefix.as_bytes()));
        if !known {
            return Err(Error::not_found(format!(
                "path {:?} is not known to the index",
                path.as_str()
            )));
        }
        self.files.safe_path(path, false).or_else(|e| {
            // A missing parent is fine: checkout recreates it.
            if e.kind() == gitapi_core::ErrorKind::NotFound {
                Ok(PathBuf::new())
            } else {
                Err(e)
            }
        })?;
        let mut co = git2::build::CheckoutBuilder::new();
        co.force().update_index(false).path(path.as_str());
        self.repo
            .checkout_index(Some(&mut index), Some(&mut co))
            .map_err(map_err(format_args!("discarding {:?}", path.as_str())))
    }
}

impl Workspace {
    pub(crate) fn stash_list(&mut self) -> Result<Vec<StashEntry>> {
        let mut out = Vec::new();
        self.repo
            .stash_foreach(|index, message, id| {
                out.push(StashEntry {
                    index,
                    oid: oid(*id),
                    message: message.to_owned(),
                });
                true
            })
            .map_err(map_err("listing stash"))?;
        Ok(out)
    }

    pub(crate) fn stash_save(&mut self, req: &StashSave) -> Result<StashEntry> {
        if self.base()?.is_none() {
            // As git: "You do not have the initial commit yet".
            return Err(Error::precondition(
                "the workspace has no commit to stash against",
            ));
        }
        let sig = git_signature(&req.stasher)?;
        let mut flags = git2::StashFlags::DEFAULT;
        if req.include_untracked {
            flags |= git2::StashFlags::INCLUDE_UNTRACKED;
        }
        let message = req
            .message
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty());
        let entries = |repo: &git2::Repository| repo.reflog("refs/stash").map_or(0, |r| r.len());
        let before = entries(&self.repo);
        match self
            .repo
            .stash_save(&sig, message.unwrap_or(""), Some(flags))
        {
            Ok(id) => {
                // Two workspaces stashing the same change at the same second make the same
                // stash commit: `refs/stash` does not move and, as with git, its reflog gains
                // no entry. The stash is saved all the same (the work tree is clean), and the
                // entry that holds it is the one already there.
                if entries(&self.repo) > before {
                    self.name_stash_entry(id, &sig, message)?;
                }
            }
            Err(e) if e.code() == git2::ErrorCode::NotFound => {
                return Err(Error::precondition("nothing to stash"));
            }
            Err(e) => return Err(map_err("stashing")(e)),
        }
        self.stash_list()?
            .into_iter()
            .next()
            .ok_or_else(|| Error::internal("stash entry vanished"))
    }

    /// libgit2 names the stash entry after HEAD, which in a workspace is detached
    /// (`On (no branch): …`); git users read `On <branch>: …`, so the entry is named after the
    /// workspace's branch.
    fn name_stash_entry(
        &self,
        id: git2::Oid,
        sig: &git2::Signature<'_>,
        message: Option<&str>,
    ) -> Result<()> {
        let mut reflog = self
            .repo
            .reflog("refs/stash")
            .map_err(map_err("reading stash reflog"))?;
        let (base, base_message) = self
            .base_commit()?
            .map(|c| {
                (
                    oid(c.id()),
                    String::from_utf8_lossy(c.message_bytes()).into_owned(),
                )
            })
            .unwrap_or((gitapi_core::Oid::ZERO, String::new()));
        let text = reflog::stash(&self.branch, message, base, &base_message);
        reflog
            .remove(0, false)
            .map_err(map_err("renaming stash entry"))?;
        reflog
            .append(id, sig, Some(&text))
            .map_err(map_err("renaming stash entry"))?;
        reflog.write().map_err(map_err("renaming stash entry"))
    }

    fn check_stash_index(&mut self, index: usize) -> Result<()> {
        if index >= self.stash_list()?.len() {
            return Err(Error::not_found(format!(
                "stash entry {index} does not exist"
            )));
        }
        Ok(())
    }

    pub(crate) fn stash_apply(&mut self, index: usize) -> Result<()> {
        self.check_stash_index(index)?;
        let mut opts = git2::StashApplyOptions::new();
        opts.reinstantiate_index();
        self.repo
            .stash_apply(index, Some(&mut opts))
            .map_err(|e| match e.code() {
                git2::ErrorCode::Conflict | git2::ErrorCode::MergeConflict => {
                    Error::merge_conflict("stash apply", Vec::new())
                }
                _ => map_err("applying stash")(e),
            })
    }

    pub(crate) fn stash_drop(&mut self, index: usize) -> Result<()> {
        self.check_stash_index(index)?;
        self.repo
            .stash_drop(index)
            .map_err(map_err("dropping stash"))
    }

    pub(crate) fn commit_index(
        &self,
        req: &CommitIndex,
        signer: Option<&gitapi_core::SshSigner>,
    ) -> Result<Commit> {
        let mut index = self.index()?;
        if index.has_conflicts() {
            return Err(Error::precondition("the index has unresolved conflicts"));
        }
        let base = self.base_commit()?;
        let tree = index
            .write_tree_to(&self.repo)
            .map_err(map_err("writing tree from index"))?;
        let parents: Vec<git2::Oid> = match (&base, req.amend) {
            (None, true) => return Err(Error::precondition("nothing to amend")),
            (Some(b), true) => b.parent_ids().collect(),
            (Some(b), false) => vec![b.id()],
            (None, false) => vec![],
        };
        let unchanged = match &base {
            Some(b) => b.tree_id() == tree,
            None => index.is_empty(),
        };
        if unchanged && !req.allow_empty && !req.amend {
            return Err(Error::precondition(
                "nothing to commit: the index matches the base",
            ));
        }
        let committer = req.committer.clone().unwrap_or_else(|| req.author.clone());
        let initial = parents.is_empty();
        let nc = NewCommit {
            tree,
            parents,
            author: &req.author,
            committer: &committer,
            message: &req.message,
        };
        let id = nc.write(&self.repo, &req.signing, signer)?;
        let reflog_message = if req.amend {
            reflog::amend(&req.message)
        } else {
            reflog::commit_from_index(&req.message, initial)
        };
        advance(
            &self.repo,
            &self.branch,
            base.as_ref().map(git2::Commit::id),
            id,
            &reflog_message,
        )?;
        self.repo
            .set_head_detached(id)
            .map_err(map_err("moving workspace HEAD"))?;
        crate::commits::get(&self.repo, &Rev::from(oid(id)))
    }

    pub(crate) fn reset(&self, to: &Rev, mode: ResetMode) -> Result<gitapi_core::Oid> {
        let target = resolve_commit(&self.repo, to)?;
        let base = self.base()?;
        // Move the branch first: if that compare-and-swap is lost, the workspace is untouched.
        let tip = current(&self.repo, self.branch.as_str())?;
        if tip != Some(target.id()) {
            advance(
                &self.repo,
                &self.branch,
                base,
                target.id(),
                &reflog::reset(to),
            )?;
        }
        match mode {
            ResetMode::Soft => self
                .repo
                .set_head_detached(target.id())
                .map_err(map_err("resetting")),
            ResetMode::Mixed => self
                .repo
                .reset(target.as_object(), git2::ResetType::Mixed, None)
                .map_err(map_err("resetting")),
            ResetMode::Hard => {
                let mut co = git2::build::CheckoutBuilder::new();
                co.force();
                self.repo
                    .reset(target.as_object(), git2::ResetType::Hard, Some(&mut co))
                    .map_err(map_err("resetting"))
            }
        }?;
        Ok(oid(target.id()))
    }
}
