//! Workspaces, the index (status, stage, unstage, discard, commit) and the stash.
//!
//! Index and stash routes act on the `default` workspace unless the body (or, for reads, the
//! query) names another.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use gitapi_core::{
    Commit, CommitIndex, Page, Person, Signing, StashEntry, StashSave, StatusEntry, WorkspaceInfo,
};

use super::{PageQuery, Paged, branch, no_content, repo, repo_path, workspace};
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path, Query};
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_workspaces, create_workspace))
        .routes(routes!(get_workspace, remove_workspace))
        .routes(routes!(status))
        .routes(routes!(stage))
        .routes(routes!(unstage))
        .routes(routes!(discard))
        .routes(routes!(commit_index))
        .routes(routes!(stash_list, stash_save))
        .routes(routes!(stash_apply))
        .routes(routes!(stash_drop))
}

/// Lists the workspaces that exist.
#[utoipa::path(get, path = "/v1/repos/{repo}/workspaces", tag = "workspaces",
    params(("repo" = String, Path, description = "repository name"), PageQuery),
    responses((status = 200, body = Page<WorkspaceInfo>)))]
async fn list_workspaces(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Paged<WorkspaceInfo>> {
    let page = s
        .svc
        .list_workspaces(&who, &repo(&name)?, &q.request())
        .await?;
    Ok(Paged::of(page, uri))
}

/// A workspace to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateWorkspaceBody {
    /// The name.
    name: String,
    /// The branch its commits advance (the default branch when absent).
    branch: Option<String>,
}

/// Creates a workspace: a work tree with its own index, on a branch.
#[utoipa::path(post, path = "/v1/repos/{repo}/workspaces", tag = "workspaces",
    params(("repo" = String, Path, description = "repository name")),
    request_body = CreateWorkspaceBody,
    responses((status = 201, body = WorkspaceInfo)))]
async fn create_workspace(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Json(body): Json<CreateWorkspaceBody>,
) -> ApiResult<(StatusCode, Json<WorkspaceInfo>)> {
    let ws = workspace(Some(&body.name))?;
    let info = s
        .svc
        .create_workspace(
            &who,
            &repo(&name)?,
            &ws,
            body.branch.as_deref().map(branch).transpose()?,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// One workspace (`default` reads as the checkout its first write will make).
#[utoipa::path(get, path = "/v1/repos/{repo}/workspaces/{workspace}", tag = "workspaces",
    params(("repo" = String, Path, description = "repository name"),
           ("workspace" = String, Path, description = "workspace name")),
    responses((status = 200, body = WorkspaceInfo)))]
async fn get_workspace(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, ws)): Path<(String, String)>,
) -> ApiResult<Json<WorkspaceInfo>> {
    let ws = workspace(Some(&ws))?;
    Ok(Json(s.svc.workspace(&who, &repo(&name)?, &ws).await?))
}

/// Removes a workspace with its index and work tree.
#[utoipa::path(delete, path = "/v1/repos/{repo}/workspaces/{workspace}", tag = "workspaces",
    params(("repo" = String, Path, description = "repository name"),
           ("workspace" = String, Path, description = "workspace name")),
    responses((status = 204, description = "removed")))]
async fn remove_workspace(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, ws)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let ws = workspace(Some(&ws))?;
    s.svc.remove_workspace(&who, &repo(&name)?, &ws).await?;
    Ok(no_content())
}

/// Which workspace a read looks at.
#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct WorkspaceQuery {
    /// The workspace (`default` when absent).
    workspace: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
    /// The `nextCursor` of the previous page.
    cursor: Option<String>,
}

impl WorkspaceQuery {
    fn page(&self) -> PageQuery {
        PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
    }
}

/// Staged, unstaged and untracked paths of a workspace (`git status` porcelain v2).
#[utoipa::path(get, path = "/v1/repos/{repo}/status", tag = "workspaces",
    params(("repo" = String, Path, description = "repository name"), WorkspaceQuery),
    responses((status = 200, body = Page<StatusEntry>)))]
async fn status(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<WorkspaceQuery>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Paged<StatusEntry>> {
    let ws = workspace(q.workspace.as_deref())?;
    let page = s
        .svc
        .status(&who, &repo(&name)?, &ws, &q.page().request())
        .await?;
    Ok(Paged::of(page, uri))
}

/// What to stage.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct StageBody {
    /// The path whose work-tree state is staged.
    path: String,
    /// Stage only this part of the path's change: unified diff text touching only `path`
    /// (`git apply --cached`).
    patch: Option<String>,
    /// The workspace (`default` when absent).
    workspace: Option<String>,
}

/// Stages a path, or part of its change given as a patch.
#[utoipa::path(post, path = "/v1/repos/{repo}/stage", tag = "workspaces",
    params(("repo" = String, Path, description = "repository name")),
    request_body = StageBody,
    responses((status = 204, description = "staged")))]
async fn stage(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Json(body): Json<StageBody>,
) -> ApiResult<StatusCode> {
    let (r, ws) = (repo(&name)?, workspace(body.workspace.as_deref())?);
    let path = repo_path(&body.path)?;
    match &body.patch {
        Some(patch) => s.svc.stage_patch(&who, &r, &ws, Some(&path), patch).await?,
        None => s.svc.stage(&who, &r, &ws, &path).await?,
    }
    Ok(no_content())
}

/// A path in a workspace.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PathBody {
    /// The path.
    path: String,
    /// The workspace (`default` when absent).
    workspace: Option<String>,
}

/// Puts a path's index entry back to the workspace base's.
#[utoipa::path(post, path = "/v1/repos/{repo}/unstage", tag = "workspaces",
    params(("repo" = String, Path, description = "repository name")),
    request_body = PathBody,
    responses((status = 204, description = "unstaged")))]
async fn unstage(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Json(body): Json<PathBody>,
) -> ApiResult<StatusCode> {
    let (r, ws) = (repo(&name)?, workspace(body.workspace.as_deref())?);
    s.svc
        .unstage(&who, &r, &ws, &repo_path(&body.path)?)
        .await?;
    Ok(no_content())
}

/// Puts a path's work-tree state back to the index's (`git checkout -- path`).
#[utoipa::path(post, path = "/v1/repos/{repo}/discard", tag = "workspaces",
    params(("repo" = String, Path, description = "repository name")),
    request_body = PathBody,
    responses((status = 204, description = "discarded")))]
async fn discard(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Json(body): Json<PathBody>,
) -> ApiResult<StatusCode> {
    let (r, ws) = (repo(&name)?, workspace(body.workspace.as_deref())?);
    s.svc
        .discard(&who, &r, &ws, &repo_path(&body.path)?)
        .await?;
    Ok(no_content())
}

/// A commit of a workspace's index.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CommitIndexBody {
    /// The workspace (`default` when absent).
    workspace: Option<String>,
    /// The message.
    message: String,
    /// The author.
    author: Person,
    /// The committer (the author when absent).
    committer: Option<Person>,
    /// How to sign.
    #[serde(default)]
    signing: Signing,
    /// Allow a commit that changes nothing.
    #[serde(default)]
    allow_empty: bool,
    /// Replace the workspace's tip commit (`commit --amend`).
    #[serde(default)]
    amend: bool,
}

/// Commits a workspace's index onto its branch (compare-and-swap from the workspace's base).
#[utoipa::path(post, path = "/v1/repos/{repo}/index/commit", tag = "workspaces",
    params(("repo" = String, Path, description = "repository name")),
    request_body = CommitIndexBody,
    responses((status = 201, body = Commit)))]
async fn commit_index(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Json(body): Json<CommitIndexBody>,
) -> ApiResult<(StatusCode, Json<Commit>)> {
    let req = CommitIndex {
        workspace: workspace(body.workspace.as_deref())?,
        message: body.message,
        author: body.author.signature()?,
        committer: Person::optional_signature(body.committer.as_ref())?,
        signing: body.signing,
        allow_empty: body.allow_empty,
        amend: body.amend,
    };
    let c = s.svc.commit_index(&who, &repo(&name)?, req).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// The stash (shared by the workspaces of a repository), newest first.
#[utoipa::path(get, path = "/v1/repos/{repo}/stash", tag = "workspaces",
    params(("repo" = String, Path, description = "repository name"), WorkspaceQuery),
    responses((status = 200, body = Page<StashEntry>)))]
async fn stash_list(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<WorkspaceQuery>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Paged<StashEntry>> {
    let ws = workspace(q.workspace.as_deref())?;
    let page = s
        .svc
        .stash_list(&who, &repo(&name)?, &ws, &q.page().request())
        .await?;
    Ok(Paged::of(page, uri))
}

/// A stash save.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct StashBody {
    /// The message (git's default when absent).
    message: Option<String>,
    /// Also stash untracked files.
    #[serde(default)]
    include_untracked: bool,
    /// The workspace (`default` when absent).
    workspace: Option<String>,
    /// Who stashes (the server identity when absent).
    stasher: Option<Person>,
}

/// Stashes a workspace's index and work-tree changes (`422` when there are none).
#[utoipa::path(post, path = "/v1/repos/{repo}/stash", tag = "workspaces",
    params(("repo" = String, Path, description = "repository name")),
    request_body = StashBody,
    responses((status = 201, body = StashEntry)))]
async fn stash_save(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Json(body): Json<StashBody>,
) -> ApiResult<(StatusCode, Json<StashEntry>)> {
    let req = StashSave {
        workspace: workspace(body.workspace.as_deref())?,
        message: body.message,
        include_untracked: body.include_untracked,
        stasher: Person::signature_or_server(body.stasher.as_ref())?,
    };
    let entry = s.svc.stash_save(&who, &repo(&name)?, req).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// The workspace a stash entry is applied to.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct StashApplyBody {
    /// The workspace (`default` when absent).
    workspace: Option<String>,
}

/// Applies a stash entry, keeping it (a conflict changes nothing).
#[utoipa::path(post, path = "/v1/repos/{repo}/stash/{index}/apply", tag = "workspaces",
    params(("repo" = String, Path, description = "repository name"),
           ("index" = usize, Path, description = "0 is the newest")),
    request_body = StashApplyBody,
    responses((status = 204, description = "applied")))]
async fn stash_apply(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, index)): Path<(String, usize)>,
    Json(body): Json<StashApplyBody>,
) -> ApiResult<StatusCode> {
    let ws = workspace(body.workspace.as_deref())?;
    s.svc.stash_apply(&who, &repo(&name)?, &ws, index).await?;
    Ok(no_content())
}

/// Which workspace a stash drop is made from.
#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct WorkspaceOnly {
    /// The workspace (`default` when absent).
    workspace: Option<String>,
}

/// Drops a stash entry.
#[utoipa::path(delete, path = "/v1/repos/{repo}/stash/{index}", tag = "workspaces",
    params(("repo" = String, Path, description = "repository name"),
           ("index" = usize, Path, description = "0 is the newest"),
           WorkspaceOnly),
    responses((status = 204, description = "dropped")))]
async fn stash_drop(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, index)): Path<(String, usize)>,
    Query(q): Query<WorkspaceOnly>,
) -> ApiResult<StatusCode> {
    let ws = workspace(q.workspace.as_deref())?;
    s.svc.stash_drop(&who, &repo(&name)?, &ws, index).await?;
    Ok(no_content())
}
