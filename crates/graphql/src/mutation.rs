//! The mutation root: every write of the service, one field each (or two fields for one
//! operation, named as the issue names them).

use async_graphql::{Context, InputObject, Object, OneofObject, Result};

use gitapi_core::{
    Amend, CommitFiles, CommitIndex, CreateTag, Error, FastForward, FileMode, GcOutcome,
    InitOptions, Merge, MergeOutcome, Oid, Person, PickCommit, Rebase, RebaseOutcome, RebaseStep,
    Ref, RefName, RefUpdate, RepoName, RepoPath, Reset, ResetMode, ResetTarget, Rev, Signing,
    StashEntry, StashSave, TagAnnotation, WorkspaceInfo, WorkspaceName,
};
use gitapi_service::{CanaryConfig, EngineKind, RepoSource};

use crate::error::Gql as _;
use crate::objects::{
    BackendObj, CommitObj, FileActionInput, ProtectionRuleInput, ProtectionRuleObj, Repository,
    call, content, rules,
};

/// A branch as a caller names it: short (`main`) or full (`refs/heads/main`), as in REST.
fn branch(name: &str) -> Result<RefName> {
    RefName::branch_or_full(name).gql()
}

/// A signature from a person, or the server's identity when none is given.
fn sig_or_server(p: Option<&Person>) -> Result<gitapi_core::Signature> {
    Person::signature_or_server(p).gql()
}

/// How a new commit is signed: a caller's signature over `commitPayload`, or the operator's
/// key, or not at all.
fn signing(signature: Option<String>, operator: bool) -> Result<Signing> {
    match (signature, operator) {
        (None, false) => Ok(Signing::None),
        (None, true) => Ok(Signing::Operator),
        (Some(signature), false) => Ok(Signing::Provided { signature }),
        (Some(_), true) => Err(Error::invalid(
            "give a signature or signWithOperatorKey, not both",
        ))
        .gql(),
    }
}

/// A commit made from file actions on a branch tip (REST's `POST /commits` body).
#[derive(Debug, InputObject)]
pub(crate) struct CommitFilesInput {
    /// The branch to advance (short or full name).
    branch: String,
    /// Compare-and-swap on the branch tip; all zeros creates the branch.
    expected_tip: Option<Oid>,
    /// For a new branch: where it starts (a root commit when absent).
    start_point: Option<Rev>,
    /// The changes, in order.
    actions: Vec<FileActionInput>,
    /// The message.
    message: String,
    /// The author.
    author: Person,
    /// The committer (the author when absent).
    committer: Option<Person>,
    /// A signature over `commitPayload` for the same input (armored).
    signature: Option<String>,
    /// Sign with the operator's configured key.
    #[graphql(default)]
    sign_with_operator_key: bool,
    /// Allow a commit that changes nothing.
    #[graphql(default)]
    allow_empty: bool,
}

impl CommitFilesInput {
    pub(crate) fn into_request(self) -> Result<CommitFiles> {
        Ok(CommitFiles {
            branch: branch(&self.branch)?,
            expected_tip: self.expected_tip,
            start_point: self.start_point,
            actions: self
                .actions
                .into_iter()
                .map(FileActionInput::into_action)
                .collect::<Result<_>>()?,
            message: self.message,
            author: self.author.signature().gql()?,
            committer: Person::optional_signature(self.committer.as_ref()).gql()?,
            signing: signing(self.signature, self.sign_with_operator_key)?,
            allow_empty: self.allow_empty,
        })
    }
}

/// An annotated tag's message and tagger.
#[derive(Debug, InputObject)]
struct TagAnnotationInput {
    /// The tagger (the server when absent).
    tagger: Option<Person>,
    /// The message.
    message: String,
}

/// A commit to rewrite on a branch tip: `amend` (REST's `/amend` body).
#[derive(Debug, InputObject)]
struct AmendInput {
    /// The branch (short or full name).
    branch: String,
    /// Compare-and-swap on the branch tip.
    expected_tip: Option<Oid>,
    /// A new message (the old one when absent).
    message: Option<String>,
    /// A new author (the old one when absent).
    author: Option<Person>,
    /// The committer (the server when absent).
    committer: Option<Person>,
    /// File changes to fold in.
    #[graphql(default)]
    actions: Vec<FileActionInput>,
}

/// One step of an interactive rebase plan: exactly one field.
#[derive(Debug, OneofObject)]
enum RebaseStepInput {
    /// Apply the commit as it is.
    Pick(Oid),
    /// Apply the commit with a new message.
    Reword(RewordInput),
    /// Fold into the previous commit, joining the messages (or with a new one).
    Squash(SquashInput),
    /// Fold into the previous commit, keeping the previous message.
    Fixup(Oid),
    /// Leave the commit out.
    Drop(Oid),
}

/// A commit and its new message.
#[derive(Debug, InputObject)]
struct RewordInput {
    /// The commit.
    commit: Oid,
    /// The new message.
    message: String,
}

/// A commit to squash, and the message of the result.
#[derive(Debug, InputObject)]
struct SquashInput {
    /// The commit.
    commit: Oid,
    /// The message of the combined commit; both joined when absent.
    message: Option<String>,
}

impl From<RebaseStepInput> for RebaseStep {
    fn from(s: RebaseStepInput) -> Self {
        match s {
            RebaseStepInput::Pick(commit) => Self::Pick { commit },
            RebaseStepInput::Reword(r) => Self::Reword {
                commit: r.commit,
                message: r.message,
            },
            RebaseStepInput::Squash(s) => Self::Squash {
                commit: s.commit,
                message: s.message,
            },
            RebaseStepInput::Fixup(commit) => Self::Fixup { commit },
            RebaseStepInput::Drop(commit) => Self::Drop { commit },
        }
    }
}

/// Every write.
#[derive(Debug, Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    // --- repositories ---

    /// Creates an empty repository, or a bare clone (or mirror) of `cloneUrl`.
    async fn create_repository(
        &self,
        ctx: &Context<'_>,
        name: RepoName,
        default_branch: Option<String>,
        clone_url: Option<String>,
        #[graphql(default)] mirror: bool,
    ) -> Result<Repository> {
        let (svc, cx) = call(ctx)?;
        let source = match clone_url {
            Some(url) => RepoSource::Remote { url, mirror },
            None => RepoSource::Empty(InitOptions {
                default_branch: default_branch.as_deref().map(branch).transpose()?,
            }),
        };
        let info = svc.create_repo(&cx, &name, source).await.gql()?;
        Ok(Repository { info })
    }

    /// Deletes a repository.
    async fn delete_repository(&self, ctx: &Context<'_>, name: RepoName) -> Result<bool> {
        let (svc, cx) = call(ctx)?;
        svc.delete_repo(&cx, &name).await.gql()?;
        Ok(true)
    }

    /// Fetches a mirror from its remote, with pruning.
    async fn sync_mirror(&self, ctx: &Context<'_>, repo: RepoName) -> Result<Repository> {
        let (svc, cx) = call(ctx)?;
        let info = svc.sync_mirror(&cx, &repo).await.gql()?;
        Ok(Repository { info })
    }

    /// Packs objects and prunes unreachable old ones.
    async fn gc(&self, ctx: &Context<'_>, repo: RepoName) -> Result<GcOutcome> {
        let (svc, cx) = call(ctx)?;
        svc.gc(&cx, &repo).await.gql()
    }

    /// Sets an allow-listed config key.
    async fn set_config(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        key: gitapi_core::ConfigKey,
        value: String,
    ) -> Result<bool> {
        let (svc, cx) = call(ctx)?;
        svc.config_set(&cx, &repo, &key, &value).await.gql()?;
        Ok(true)
    }

    /// Adds or replaces a ref protection rule; answers every rule.
    async fn protect(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        rule: ProtectionRuleInput,
    ) -> Result<Vec<ProtectionRuleObj>> {
        let (svc, cx) = call(ctx)?;
        let p = svc.protect(&cx, &repo, rule.into_rule()?).await.gql()?;
        Ok(rules(p))
    }

    /// Removes the rule of a pattern; answers every rule left.
    async fn unprotect(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        pattern: String,
    ) -> Result<Vec<ProtectionRuleObj>> {
        let (svc, cx) = call(ctx)?;
        let pattern = gitapi_service::RefPattern::new(&pattern).gql()?;
        let p = svc.unprotect(&cx, &repo, &pattern).await.gql()?;
        Ok(rules(p))
    }

    /// Switches the serving engine (`libgit2` or `shell`) and/or sets the canary's fraction
    /// (admin scope on every repository).
    async fn set_backend(
        &self,
        ctx: &Context<'_>,
        backend: Option<String>,
        canary_fraction: Option<f64>,
    ) -> Result<BackendObj> {
        let (svc, cx) = call(ctx)?;
        let kind = backend.map(|b| b.parse::<EngineKind>()).transpose().gql()?;
        let canary = match canary_fraction {
            Some(fraction) => Some(CanaryConfig {
                fraction,
                ..svc.backend_status(&cx).gql()?.canary
            }),
            None => None,
        };
        Ok(svc.set_backend(&cx, kind, canary).gql()?.into())
    }

    // --- refs ---

    /// Creates a branch at a revision.
    async fn create_branch(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        name: String,
        target: Rev,
    ) -> Result<Ref> {
        let (svc, cx) = call(ctx)?;
        svc.create_branch(&cx, &repo, &branch(&name)?, &target)
            .await
            .gql()
    }

    /// Creates a tag (annotated with `annotation`) at a revision; `name` short or full.
    async fn create_tag(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        name: String,
        target: Rev,
        annotation: Option<TagAnnotationInput>,
    ) -> Result<Ref> {
        let (svc, cx) = call(ctx)?;
        let name = if name.starts_with("refs/") {
            RefName::new(name)
        } else {
            RefName::tag(&name)
        }
        .gql()?;
        let annotation = match annotation {
            Some(a) => Some(TagAnnotation {
                tagger: sig_or_server(a.tagger.as_ref())?,
                message: a.message,
            }),
            None => None,
        };
        let tag = CreateTag {
            name,
            target,
            annotation,
        };
        svc.create_tag(&cx, &repo, tag).await.gql()
    }

    /// Creates a ref by full name: a tag under `refs/tags/` (annotated with `annotation`),
    /// any other name as a branch does.
    async fn create_ref(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        name: RefName,
        target: Rev,
        annotation: Option<TagAnnotationInput>,
    ) -> Result<Ref> {
        let (svc, cx) = call(ctx)?;
        if name.is_tag() {
            let annotation = match annotation {
                Some(a) => Some(TagAnnotation {
                    tagger: sig_or_server(a.tagger.as_ref())?,
                    message: a.message,
                }),
                None => None,
            };
            let tag = CreateTag {
                name,
                target,
                annotation,
            };
            svc.create_tag(&cx, &repo, tag).await.gql()
        } else {
            if annotation.is_some() {
                return Err(Error::invalid("only a tag takes an annotation")).gql();
            }
            svc.create_branch(&cx, &repo, &name, &target).await.gql()
        }
    }

    /// Deletes a ref, optionally only while it points at `expected`.
    async fn delete_ref(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        name: RefName,
        expected: Option<Oid>,
    ) -> Result<bool> {
        let (svc, cx) = call(ctx)?;
        svc.delete_ref(&cx, &repo, &name, expected).await.gql()?;
        Ok(true)
    }

    /// Renames a branch (with its reflog).
    async fn rename_branch(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        from: String,
        to: String,
    ) -> Result<Ref> {
        let (svc, cx) = call(ctx)?;
        svc.rename_branch(&cx, &repo, &branch(&from)?, &branch(&to)?)
            .await
            .gql()
    }

    /// Moves refs atomically, each a compare-and-swap (`expectedOld` zero: must not exist;
    /// `new` zero: delete). All or none.
    async fn update_refs(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        updates: Vec<RefUpdate>,
    ) -> Result<bool> {
        let (svc, cx) = call(ctx)?;
        svc.update_refs(&cx, &repo, updates).await.gql()?;
        Ok(true)
    }

    /// Points a ref at a revision, optionally only while it points at `expectedOld`.
    async fn point_ref(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        name: RefName,
        target: Rev,
        expected_old: Option<Oid>,
    ) -> Result<Ref> {
        let (svc, cx) = call(ctx)?;
        svc.point_ref(&cx, &repo, &name, &target, expected_old)
            .await
            .gql()
    }

    // --- commits ---

    /// Commits file actions onto a branch tip in one step.
    async fn commit_files(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        input: CommitFilesInput,
    ) -> Result<CommitObj> {
        let (svc, cx) = call(ctx)?;
        let c = svc
            .commit_files(&cx, &repo, input.into_request()?)
            .await
            .gql()?;
        Ok(CommitObj::new(repo, c))
    }

    /// Commits a workspace's index onto its branch (or amends its tip with `amend`).
    #[allow(clippy::too_many_arguments)]
    async fn commit_index(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        #[graphql(default)] workspace: WorkspaceName,
        message: String,
        author: Person,
        committer: Option<Person>,
        #[graphql(default)] allow_empty: bool,
        #[graphql(default)] amend: bool,
        signature: Option<String>,
        #[graphql(default)] sign_with_operator_key: bool,
    ) -> Result<CommitObj> {
        let (svc, cx) = call(ctx)?;
        let req = CommitIndex {
            workspace,
            message,
            author: author.signature().gql()?,
            committer: Person::optional_signature(committer.as_ref()).gql()?,
            signing: signing(signature, sign_with_operator_key)?,
            allow_empty,
            amend,
        };
        let c = svc.commit_index(&cx, &repo, req).await.gql()?;
        Ok(CommitObj::new(repo, c))
    }

    /// Rewrites a branch's tip commit: message, author, files.
    async fn amend(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        input: AmendInput,
    ) -> Result<CommitObj> {
        let (svc, cx) = call(ctx)?;
        let req = Amend {
            branch: branch(&input.branch)?,
            expected_tip: input.expected_tip,
            message: input.message,
            author: Person::optional_signature(input.author.as_ref()).gql()?,
            committer: sig_or_server(input.committer.as_ref())?,
            actions: input
                .actions
                .into_iter()
                .map(FileActionInput::into_action)
                .collect::<Result<_>>()?,
        };
        let c = svc.amend(&cx, &repo, req).await.gql()?;
        Ok(CommitObj::new(repo, c))
    }

    /// Resets a branch (with `expectedTip` as compare-and-swap) or a workspace (by `mode`) to
    /// a revision; answers where it now points. Give `branch` or `workspace`.
    #[allow(clippy::too_many_arguments)]
    async fn reset(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        to: Rev,
        branch: Option<String>,
        expected_tip: Option<Oid>,
        workspace: Option<WorkspaceName>,
        #[graphql(default_with = "ResetMode::Mixed")] mode: ResetMode,
    ) -> Result<Oid> {
        let (svc, cx) = call(ctx)?;
        let target = match (branch, workspace) {
            (Some(b), None) => ResetTarget::Branch {
                branch: self::branch(&b)?,
                expected_tip,
            },
            (None, Some(workspace)) => ResetTarget::Workspace { workspace },
            _ => return Err(Error::invalid("give either branch or workspace")).gql(),
        };
        svc.reset(&cx, &repo, Reset { target, to, mode })
            .await
            .gql()
    }

    /// Applies a commit's change onto a branch.
    #[allow(clippy::too_many_arguments)]
    async fn cherry_pick(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        commit: Rev,
        branch: String,
        expected_tip: Option<Oid>,
        mainline: Option<u32>,
        committer: Option<Person>,
    ) -> Result<CommitObj> {
        let (svc, cx) = call(ctx)?;
        let req = PickCommit {
            commit,
            branch: self::branch(&branch)?,
            expected_tip,
            mainline,
            committer: sig_or_server(committer.as_ref())?,
        };
        let c = svc.cherry_pick(&cx, &repo, req).await.gql()?;
        Ok(CommitObj::new(repo, c))
    }

    /// Reverts a commit on a branch (the repository's default branch when absent).
    #[allow(clippy::too_many_arguments)]
    async fn revert_commit(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        sha: Rev,
        branch: Option<String>,
        expected_tip: Option<Oid>,
        mainline: Option<u32>,
        committer: Option<Person>,
    ) -> Result<CommitObj> {
        let (svc, cx) = call(ctx)?;
        let branch = match branch {
            Some(b) => self::branch(&b)?,
            None => {
                let info = svc.repo_info(&cx, &repo).await.gql()?;
                match info.default_branch {
                    Some(b) => b,
                    None => {
                        return Err(Error::invalid("HEAD is detached: give a branch")).gql();
                    }
                }
            }
        };
        let req = PickCommit {
            commit: sha,
            branch,
            expected_tip,
            mainline,
            committer: sig_or_server(committer.as_ref())?,
        };
        let c = svc.revert(&cx, &repo, req).await.gql()?;
        Ok(CommitObj::new(repo, c))
    }

    /// Merges a revision into a branch.
    #[allow(clippy::too_many_arguments)]
    async fn merge(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        source: Rev,
        target: String,
        expected_tip: Option<Oid>,
        #[graphql(default_with = "FastForward::Ff")] fast_forward: FastForward,
        message: Option<String>,
        committer: Option<Person>,
    ) -> Result<MergeOutcome> {
        let (svc, cx) = call(ctx)?;
        let req = Merge {
            source,
            target: branch(&target)?,
            expected_tip,
            fast_forward,
            message,
            committer: sig_or_server(committer.as_ref())?,
        };
        svc.merge(&cx, &repo, req).await.gql()
    }

    /// Rebases a branch onto a revision (or by an interactive `plan`), without a work tree.
    #[allow(clippy::too_many_arguments)]
    async fn rebase(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        branch: String,
        expected_tip: Option<Oid>,
        onto: Rev,
        upstream: Option<Rev>,
        plan: Option<Vec<RebaseStepInput>>,
        committer: Option<Person>,
    ) -> Result<RebaseOutcome> {
        let (svc, cx) = call(ctx)?;
        let req = Rebase {
            branch: self::branch(&branch)?,
            expected_tip,
            onto,
            upstream,
            plan: plan.map(|p| p.into_iter().map(RebaseStep::from).collect()),
            committer: sig_or_server(committer.as_ref())?,
        };
        svc.rebase(&cx, &repo, req).await.gql()
    }

    // --- workspaces, files, index and stash ---

    /// Creates a workspace (a work tree) on a branch (the default branch when absent).
    async fn create_workspace(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        name: WorkspaceName,
        branch: Option<String>,
    ) -> Result<WorkspaceInfo> {
        let (svc, cx) = call(ctx)?;
        let branch = branch.as_deref().map(self::branch).transpose()?;
        svc.create_workspace(&cx, &repo, &name, branch).await.gql()
    }

    /// Removes a workspace.
    async fn remove_workspace(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        name: WorkspaceName,
    ) -> Result<bool> {
        let (svc, cx) = call(ctx)?;
        svc.remove_workspace(&cx, &repo, &name).await.gql()?;
        Ok(true)
    }

    /// Writes a file into a workspace's work tree (`text` or `base64`).
    #[allow(clippy::too_many_arguments)]
    async fn put_file(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        #[graphql(default)] workspace: WorkspaceName,
        path: RepoPath,
        text: Option<String>,
        base64: Option<String>,
        mode: Option<FileMode>,
    ) -> Result<bool> {
        let (svc, cx) = call(ctx)?;
        let bytes = content(text, base64)?;
        svc.put_file(&cx, &repo, &workspace, &path, bytes, mode)
            .await
            .gql()?;
        Ok(true)
    }

    /// Deletes a file from a workspace's work tree.
    async fn delete_file(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        #[graphql(default)] workspace: WorkspaceName,
        path: RepoPath,
    ) -> Result<bool> {
        let (svc, cx) = call(ctx)?;
        svc.delete_file(&cx, &repo, &workspace, &path).await.gql()?;
        Ok(true)
    }

    /// Moves a file in a workspace's work tree.
    async fn move_file(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        #[graphql(default)] workspace: WorkspaceName,
        from: RepoPath,
        to: RepoPath,
    ) -> Result<bool> {
        let (svc, cx) = call(ctx)?;
        svc.move_file(&cx, &repo, &workspace, &from, &to)
            .await
            .gql()?;
        Ok(true)
    }

    /// Stages a path (`git add`), or with `patch` the hunks of a patch (`git apply --cached`,
    /// touching only `path` when it is given).
    async fn stage(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        #[graphql(default)] workspace: WorkspaceName,
        path: Option<RepoPath>,
        patch: Option<String>,
    ) -> Result<bool> {
        let (svc, cx) = call(ctx)?;
        match (path, patch) {
            (path, Some(patch)) => svc
                .stage_patch(&cx, &repo, &workspace, path.as_ref(), &patch)
                .await
                .gql()?,
            (Some(path), None) => svc.stage(&cx, &repo, &workspace, &path).await.gql()?,
            (None, None) => return Err(Error::invalid("give a path or a patch")).gql(),
        }
        Ok(true)
    }

    /// Unstages a path (`git restore --staged`).
    async fn unstage(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        #[graphql(default)] workspace: WorkspaceName,
        path: RepoPath,
    ) -> Result<bool> {
        let (svc, cx) = call(ctx)?;
        svc.unstage(&cx, &repo, &workspace, &path).await.gql()?;
        Ok(true)
    }

    /// Discards a path's work-tree changes (`git restore`).
    async fn discard(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        #[graphql(default)] workspace: WorkspaceName,
        path: RepoPath,
    ) -> Result<bool> {
        let (svc, cx) = call(ctx)?;
        svc.discard(&cx, &repo, &workspace, &path).await.gql()?;
        Ok(true)
    }

    /// Stashes a workspace's changes.
    async fn stash_save(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        #[graphql(default)] workspace: WorkspaceName,
        message: Option<String>,
        #[graphql(default)] include_untracked: bool,
        stasher: Option<Person>,
    ) -> Result<StashEntry> {
        let (svc, cx) = call(ctx)?;
        let req = StashSave {
            workspace,
            message,
            include_untracked,
            stasher: sig_or_server(stasher.as_ref())?,
        };
        svc.stash_save(&cx, &repo, req).await.gql()
    }

    /// Applies a stash entry (0: the newest) to a workspace, keeping it.
    async fn stash_apply(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        #[graphql(default)] workspace: WorkspaceName,
        #[graphql(default)] index: usize,
    ) -> Result<bool> {
        let (svc, cx) = call(ctx)?;
        svc.stash_apply(&cx, &repo, &workspace, index).await.gql()?;
        Ok(true)
    }

    /// Drops a stash entry (0: the newest).
    async fn stash_drop(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        #[graphql(default)] workspace: WorkspaceName,
        #[graphql(default)] index: usize,
    ) -> Result<bool> {
        let (svc, cx) = call(ctx)?;
        svc.stash_drop(&cx, &repo, &workspace, index).await.gql()?;
        Ok(true)
    }
}
