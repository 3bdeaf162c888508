//! Workspaces: linked work trees with their own HEAD and index, and everything that needs them
//! (work-tree files, index, stash, commits from the index, reset). Git runs inside the work
//! tree (`git -C <dir>`), which finds its admin directory through the `.git` file.
//!
//! The on-disk layout is exactly the libgit2 engine's (and `git worktree add --detach`'s):
//!
//! ```text
//! <repo>.git/worktrees/<ws>/{HEAD,gitdir,commondir,index,gitapi-branch}
//! <data>/workspaces/<repo>/<ws>/.git      "gitdir: <repo>.git/worktrees/<ws>"
//! ```

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use gitapi_core::reflog;
use gitapi_core::{
    Commit, CommitIndex, Error, ErrorKind, ObjectKind, Oid, RefName, RepoPath, ResetMode, Result,
    Rev, StashEntry, StashSave, StatusEntry, WorkspaceInfo, WorkspaceName,
};

use crate::commits::{NewCommit, advance};
use crate::parse;
use gitapi_core::porcelain::workspace_edit::EditableWorkspace;
use gitapi_gitcmd::{EnvVar, Git, Sub};
use gitapi_storage::WorkTree;

use crate::repo::{Repo, io_err};

/// An open workspace.
#[derive(Debug)]
pub(crate) struct Workspace {
    pub(crate) name: WorkspaceName,
    pub(crate) repo: Repo,
    pub(crate) branch: RefName,
    pub(crate) dir: PathBuf,
    admin: PathBuf,
    files: WorkTree,
}

/// The branch `HEAD` of the bare repository names.
pub(crate) fn default_branch(repo: &Repo) -> Option<RefName> {
    let head = fs::read_to_string(repo.dir.join("HEAD")).ok()?;
    RefName::new(head.trim().strip_prefix("ref: ")?.trim()).ok()
}

/// Creates a workspace on `branch` (the repository's default branch when `None`).
pub(crate) fn create(
    repo: &Repo,
    ws: &WorkspaceName,
    branch: Option<RefName>,
) -> Result<WorkspaceInfo> {
    let branch = match branch {
        Some(b) if b.is_branch() => b,
        Some(b) => return Err(Error::invalid(format!("{:?} is not a branch", b.as_str()))),
        None => default_branch(repo)
            .ok_or_else(|| Error::precondition("repository HEAD names no branch"))?,
    };
    let base = repo.current(branch.as_str())?;
    if base.is_none() && repo.current("HEAD")?.is_some() {
        // A named branch that does not exist, in a repository that has commits: a typo, not
        // an unborn branch to start.
        return Err(Error::not_found(format!(
            "branch {:?} does not exist",
            branch.as_str()
        )));
    }
    let dir_abs = gitapi_storage::link(&repo.inner.layout, &repo.name, ws, &branch, base)?;
    let made = fs::canonicalize(gitapi_storage::admin_dir(
        &repo.inner.layout,
        &repo.name,
        ws,
    ))
    .map_err(io_err("resolving workspace path"))
    .and_then(|admin_abs| {
        let w = Workspace {
            name: ws.clone(),
            repo: repo.clone(),
            branch,
            files: WorkTree::new(&dir_abs),
            dir: dir_abs,
            admin: admin_abs,
        };
        if base.is_some() {
            w.ok(w.git(Sub::Reset).flag("-q").flag("--hard"))?;
        }
        w.info()
    });
    if made.is_err() {
        // A refused checkout (a tree git would not write) leaves no half-made workspace.
        let _ = gitapi_storage::unlink(&repo.inner.layout, &repo.name, ws);
    }
    made
}

/// Opens a workspace; `default` is created on first use.
pub(crate) fn open(repo: &Repo, ws: &WorkspaceName) -> Result<Workspace> {
    let layout = &repo.inner.layout;
    let branch = match gitapi_storage::branch_of(layout, &repo.name, ws)? {
        Some(b) => b,
        None if *ws == WorkspaceName::default_workspace() => create(repo, ws, None)?.branch,
        None => {
            return Err(Error::not_found(format!(
                "workspace {:?} does not exist",
                ws.as_str()
            )));
        }
    };
    let dir = layout.workspace_dir(&repo.name, ws);
    let w = Workspace {
        name: ws.clone(),
        repo: repo.clone(),
        branch,
        files: WorkTree::new(&dir),
        dir,
        admin: gitapi_storage::admin_dir(layout, &repo.name, ws),
    };
    w.adopt_born_branch()?;
    Ok(w)
}

pub(crate) fn list(repo: &Repo) -> Result<Vec<WorkspaceInfo>> {
    gitapi_storage::names(&repo.inner.layout, &repo.name)
        .iter()
        .map(|name| open(repo, name)?.info())
        .collect()
}

pub(crate) fn remove(repo: &Repo, ws: &WorkspaceName) -> Result<()> {
    gitapi_storage::unlink(&repo.inner.layout, &repo.name, ws)
}

fn sig_env(g: Git, author: &gitapi_core::Signature, committer: &gitapi_core::Signature) -> Git {
    let date = |s: &gitapi_core::Signature| {
        let sign = if s.offset_minutes < 0 { '-' } else { '+' };
        let off = s.offset_minutes.abs();
        format!("@{} {sign}{:02}{:02}", s.time, off / 60, off % 60)
    };
    g.env(EnvVar::AuthorName, author.name.clone())
        .env(EnvVar::AuthorEmail, author.email.clone())
        .env(EnvVar::AuthorDate, date(author))
        .env(EnvVar::CommitterName, committer.name.clone())
        .env(EnvVar::CommitterEmail, committer.email.clone())
        .env(EnvVar::CommitterDate, date(committer))
}

impl Workspace {
    fn git(&self, sub: Sub) -> Git {
        Git::in_worktree(&self.dir, sub)
    }

    fn ok(&self, g: Git) -> Result<Vec<u8>> {
        self.repo.ok(g)
    }

    /// The commit HEAD names (detached at the base, or the branch on an unborn start).
    pub(crate) fn base(&self) -> Result<Option<Oid>> {
        let head = fs::read_to_string(self.admin.join("HEAD")).map_err(io_err("reading HEAD"))?;
        let head = head.trim();
        match head.strip_prefix("ref: ") {
            Some(r) => self.repo.current(r.trim()),
            None => Ok(Some(Oid::from_hex(head)?)),
        }
    }

    pub(crate) fn info(&self) -> Result<WorkspaceInfo> {
        Ok(WorkspaceInfo {
            name: self.name.clone(),
            branch: self.branch.clone(),
            base: self.base()?,
        })
    }

    fn head_is_symbolic(&self) -> bool {
        fs::read_to_string(self.admin.join("HEAD")).is_ok_and(|h| h.starts_with("ref: "))
    }

    fn index_paths(&self, path: Option<&RepoPath>) -> Result<Vec<String>> {
        let mut g = self.git(Sub::LsFiles).flag("-z").flag("--cached");
        if let Some(p) = path {
            g = g.path(p.as_str());
        }
        let out = self.ok(g)?;
        Ok(out
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect())
    }

    /// A workspace made on an unborn branch follows the branch once it is born, as long as
    /// nothing was staged in it yet.
    fn adopt_born_branch(&self) -> Result<()> {
        if !self.head_is_symbolic() {
            return Ok(());
        }
        let Some(tip) = self.repo.current(self.branch.as_str())? else {
            return Ok(());
        };
        if !self.index_paths(None)?.is_empty() {
            return Ok(());
        }
        // Safe checkout: refuses to overwrite untracked files.
        self.ok(self
            .git(Sub::Checkout)
            .flag("-q")
            .flag("--detach")
            .arg(tip.to_string()))?;
        Ok(())
    }

    pub(crate) fn status(&self) -> Result<Vec<StatusEntry>> {
        let out = self.ok(self
            .git(Sub::Status)
            .flag("--porcelain=v2")
            .flag("-z")
            .flag("--no-renames")
            .flag("--untracked-files=all")
            .flag("--ignored=no"))?;
        Ok(parse::parse_status_v2_z(&out)?)
    }
}

/// The index operations, the git CLI's way; the work-tree file edits are `gitapi-storage`'s.
impl EditableWorkspace for Workspace {
    type Files = WorkTree;

    fn files(&self) -> &WorkTree {
        &self.files
    }

    fn stage(&self, path: &RepoPath) -> Result<()> {
        self.files.check_parents(path)?;
        let on_disk = fs::symlink_metadata(self.dir.join(path.as_str())).is_ok();
        if !on_disk && self.index_paths(Some(path))?.is_empty() {
            return Err(Error::not_found(format!(
                "path {:?} is neither in the work tree nor in the index",
                path.as_str()
            )));
        }
        // `add -A` of a path stages an addition, a change or a removal, and for a directory
        // everything under it.
        self.ok(self.git(Sub::Add).flag("-A").flag("-f").path(path.as_str()))?;
        Ok(())
    }

    fn unstage(&self, path: &RepoPath) -> Result<()> {
        let base = self.base()?;
        let in_index = !self.index_paths(Some(path))?.is_empty();
        let in_base = match base {
            Some(c) => {
                let tree = self.repo.commit(c)?.tree;
                self.repo.entry_at(tree, path.as_str())?.is_some()
            }
            None => false,
        };
        if !in_index && !in_base {
            return Err(Error::not_found(format!(
                "path {:?} is not staged",
                path.as_str()
            )));
        }
        match base {
            Some(c) => {
                let out = self.repo.run(
                    self.git(Sub::Reset)
                        .flag("-q")
                        .arg(c.to_string())
                        .path(path.as_str()),
                )?;
                if out.code > 1 {
                    return Err(out.error());
                }
            }
            None => {
                self.ok(self
                    .git(Sub::UpdateIndex)
                    .flag("--force-remove")
                    .path(path.as_str()))?;
            }
        }
        Ok(())
    }

    fn stage_patch(&self, patch: &str) -> Result<()> {
        if patch.trim().is_empty() {
            return Err(Error::invalid("patch is empty"));
        }
        let out = self.repo.run(
            self.git(Sub::Apply)
                .flag("--cached")
                .flag("--whitespace=nowarn")
                .stdin(patch.as_bytes().to_vec()),
        )?;
        if out.code == 0 {
            return Ok(());
        }
        let msg = out.stderr_text();
        if msg.contains("no valid patches")
            || msg.contains("corrupt patch")
            || msg.contains("unrecognized input")
            || msg.contains("patch fragment without header")
        {
            Err(Error::invalid(format!("patch is not valid: {msg}")))
        } else {
            Err(Error::new(
                ErrorKind::Conflict,
                format!("patch does not apply to the index: {msg}"),
            ))
        }
    }

    fn discard(&self, path: &RepoPath) -> Result<()> {
        self.files.check_parents(path)?;
        if self.index_paths(Some(path))?.is_empty() {
            return Err(Error::not_found(format!(
                "path {:?} is not known to the index",
                path.as_str()
            )));
        }
        self.ok(self.git(Sub::Checkout).flag("-q").path(path.as_str()))?;
        Ok(())
    }
}

impl Workspace {
    pub(crate) fn stash_list(&self) -> Result<Vec<StashEntry>> {
        let log = self.repo.dir.join("logs").join("refs").join("stash");
        let Ok(text) = fs::read_to_string(&log) else {
            return Ok(Vec::new());
        };
        // The reflog, oldest first: `<old> <new> <who> <time> <tz>\t<message>`.
        let mut out: Vec<StashEntry> = text
            .lines()
            .filter(|l| !l.is_empty())
            .filter_map(|l| {
                let (head, message) = l.split_once('\t').unwrap_or((l, ""));
                let new = head.split(' ').nth(1)?;
                Some((Oid::from_hex(new).ok()?, message.to_owned()))
            })
            .rev()
            .enumerate()
            .map(|(index, (oid, message))| StashEntry {
                index,
                oid,
                message,
            })
            .collect();
        out.retain(|e| !e.oid.is_zero());
        Ok(out)
    }

    pub(crate) fn stash_save(&self, req: &StashSave) -> Result<StashEntry> {
        let Some(base) = self.base()? else {
            // As git: "You do not have the initial commit yet".
            return Err(Error::precondition(
                "the workspace has no commit to stash against",
            ));
        };
        // Whether git stashed is told by what it says, not by `refs/stash` moving: two
        // workspaces stashing the same change at the same second make the same stash commit,
        // and the second push leaves the ref and its reflog as they were although it stashed
        // (and cleared the work tree). Its messages are stable: the environment is LC_ALL=C.
        let before = self.stash_log_len()?;
        let mut g = self.git(Sub::Stash).flag("push").internal_pathspecs();
        if req.include_untracked {
            g = g.flag("--include-untracked");
        }
        let out = self.repo.run(sig_env(g, &req.stasher, &req.stasher))?;
        if out.code != 0 {
            return Err(out.error());
        }
        if String::from_utf8_lossy(&out.stdout).contains("No local changes to save") {
            return Err(Error::precondition("nothing to stash"));
        }
        let Some(new) = self.repo.current("refs/stash")? else {
            return Err(Error::internal("git stashed but refs/stash does not exist"));
        };
        // git names the detached HEAD "(no branch)"; the stash names the workspace's branch,
        // as the libgit2 engine does. The message travels in the reflog file itself, never on
        // git's command line.
        let base = self.repo.commit(base)?;
        let message = reflog::stash(
            &self.branch,
            req.message.as_deref(),
            base.oid,
            &base.message,
        );
        // With no new reflog entry (the same stash commit as the newest), the entry is the
        // one already there, and keeps its message, as with git.
        if self.stash_log_len()? == before {
            return self.stash_entry(0);
        }
        self.rewrite_last_stash_message(new, &message)?;
        Ok(StashEntry {
            index: 0,
            oid: new,
            message,
        })
    }

    /// The number of entries in the stash's reflog (0 when there is no stash).
    fn stash_log_len(&self) -> Result<usize> {
        let log = self.repo.dir.join("logs").join("refs").join("stash");
        match fs::read(&log) {
            Ok(text) => Ok(text
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .count()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(io_err("reading the stash reflog")(e)),
        }
    }

    fn rewrite_last_stash_message(&self, new: Oid, message: &str) -> Result<()> {
        let log = self.repo.dir.join("logs").join("refs").join("stash");
        let text = fs::read_to_string(&log).map_err(io_err("reading the stash reflog"))?;
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let Some(last) = lines.last_mut() else {
            return Err(Error::internal("the stash reflog is empty"));
        };
        let (head, _) = last.split_once('\t').unwrap_or((last.as_str(), ""));
        if head.split(' ').nth(1) != Some(new.to_string().as_str()) {
            return Err(Error::internal(
                "the stash reflog does not end with the new entry",
            ));
        }
        *last = format!("{head}\t{message}");
        let mut body = lines.join("\n");
        body.push('\n');
        let parent = log.parent().unwrap_or(&self.repo.dir);
        let mut tmp = tempfile::Builder::new()
            .prefix(gitapi_storage::TMP_PREFIX)
            .tempfile_in(parent)
            .map_err(io_err("writing the stash reflog"))?;
        tmp.write_all(body.as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(io_err("writing the stash reflog"))?;
        tmp.persist(&log)
            .map_err(|e| Error::internal(format!("writing the stash reflog: {e}")))?;
        Ok(())
    }

    fn stash_entry(&self, index: usize) -> Result<StashEntry> {
        self.stash_list()?
            .into_iter()
            .nth(index)
            .ok_or_else(|| Error::not_found(format!("stash entry {index} does not exist")))
    }

    pub(crate) fn stash_apply(&self, index: usize) -> Result<()> {
        let entry = self.stash_entry(index)?;
        // A conflict must change nothing: merge the stash onto the index first, in memory.
        let stash = self.repo.commit(entry.oid)?;
        let parent = *stash
            .parents
            .first()
            .ok_or_else(|| Error::internal("a stash commit has a parent"))?;
        let index_tree = self.ok(self.git(Sub::WriteTree))?;
        let index_tree = Oid::from_hex(String::from_utf8_lossy(&index_tree).trim())?;
        let probe = self.repo.run(
            self.repo
                .git(Sub::MergeTree)
                .flag("--write-tree")
                .flag("--name-only")
                .flag("--no-messages")
                .opt(
                    "--merge-base=",
                    gitapi_gitcmd::Value::Oid(self.repo.commit(parent)?.tree),
                )
                .arg(index_tree.to_string())
                .arg(stash.tree.to_string()),
        )?;
        if probe.code == 1 {
            return Err(Error::merge_conflict("stash apply", Vec::new()));
        }
        let out = self.repo.run(
            self.git(Sub::Stash)
                .flag("apply")
                .flag("-q")
                .flag("--index")
                .arg(format!("stash@{{{index}}}")),
        )?;
        if out.code != 0 {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("stash apply stopped: {}", out.stderr_text()),
            ));
        }
        Ok(())
    }

    pub(crate) fn stash_drop(&self, index: usize) -> Result<()> {
        self.stash_entry(index)?;
        self.ok(self
            .git(Sub::Stash)
            .flag("drop")
            .flag("-q")
            .arg(format!("stash@{{{index}}}")))?;
        Ok(())
    }

    pub(crate) fn commit_index(
        &self,
        req: &CommitIndex,
        signer: Option<&gitapi_core::SshSigner>,
    ) -> Result<Commit> {
        let unmerged = self.ok(self.git(Sub::LsFiles).flag("-u").flag("-z"))?;
        if !unmerged.is_empty() {
            return Err(Error::precondition("the index has unresolved conflicts"));
        }
        let base = self.base()?;
        let base_commit = base.map(|b| self.repo.commit(b)).transpose()?;
        req.author.validate()?;
        gitapi_core::object::normalize_message(&req.message)?;
        let tree = self.ok(self.git(Sub::WriteTree))?;
        let tree = Oid::from_hex(String::from_utf8_lossy(&tree).trim())?;
        let parents: Vec<Oid> = match (&base_commit, req.amend) {
            (None, true) => return Err(Error::precondition("nothing to amend")),
            (Some(b), true) => b.parents.clone(),
            (Some(b), false) => vec![b.oid],
            (None, false) => vec![],
        };
        let unchanged = match &base_commit {
            Some(b) => b.tree == tree,
            None => self.index_paths(None)?.is_empty(),
        };
        if unchanged && !req.allow_empty && !req.amend {
            return Err(Error::precondition(
                "nothing to commit: the index matches the base",
            ));
        }
        let nc = NewCommit {
            tree,
            parents,
            author: req.author.clone(),
            committer: req.committer.clone().unwrap_or_else(|| req.author.clone()),
            message: req.message.clone(),
        };
        let reflog_message = if req.amend {
            reflog::amend(&nc.message)
        } else {
            reflog::commit_from_index(&nc.message, nc.parents.is_empty())
        };
        let id = nc.write(&self.repo, &req.signing, signer)?;
        advance(&self.repo, &self.branch, base, id, &reflog_message)?;
        self.set_head(id)?;
        self.repo.commit(id)
    }

    /// Detaches HEAD at `id` (index and work tree untouched).
    fn set_head(&self, id: Oid) -> Result<()> {
        self.ok(self
            .git(Sub::UpdateRef)
            .flag("--no-deref")
            .flag("-mgitapi: workspace moved")
            .arg("HEAD")
            .arg(id.to_string()))?;
        Ok(())
    }

    pub(crate) fn reset(&self, to: &Rev, mode: ResetMode) -> Result<Oid> {
        let target = self.repo.resolve_commit(to)?;
        let base = self.base()?;
        // Move the branch first: if that compare-and-swap is lost, the workspace is untouched.
        let tip = self.repo.current(self.branch.as_str())?;
        if tip != Some(target) {
            advance(&self.repo, &self.branch, base, target, &reflog::reset(to))?;
        }
        let flag = match mode {
            ResetMode::Soft => "--soft",
            ResetMode::Mixed => "--mixed",
            ResetMode::Hard => "--hard",
        };
        let out = self.repo.run(
            self.git(Sub::Reset)
                .flag("-q")
                .flag(flag)
                .arg(target.to_string()),
        )?;
        if out.code > 1 {
            return Err(out.error());
        }
        debug_assert!(matches!(
            self.repo.info(&target.to_string())?,
            Some((_, ObjectKind::Commit, _))
        ));
        Ok(target)
    }
}
