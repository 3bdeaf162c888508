//! Commits: history (log), one commit, a batch, create from an action list, the payload to sign,
//! cherry-pick, revert, amend and reset.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use gitapi_core::{
    Amend, Commit, CommitFiles, FileAction, LogQuery, Oid, Page, Person, PickCommit, Reset,
    ResetMode, ResetTarget, RevRange, Signing,
};

use super::{Paged, branch, cursor_offset, de, offset_cursor, repo, repo_path, rev, workspace};
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path, Query};
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_commits, create_commit))
        .routes(routes!(get_commit))
        .routes(routes!(commit_payload))
        .routes(routes!(lookup_commits))
        .routes(routes!(revert))
        .routes(routes!(cherry_pick))
        .routes(routes!(amend))
        .routes(routes!(reset))
}

/// A history query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct LogParams {
    /// `rev`, `A..B` or `A...B` (default `HEAD`).
    range: Option<String>,
    /// Only commits that change this path.
    path: Option<String>,
    /// At most this many (default 100, at most the server's log page).
    limit: Option<usize>,
    /// Skip this many first.
    offset: Option<usize>,
    /// The `nextCursor` of the previous page.
    cursor: Option<String>,
    /// Follow first parents only (`1`/`true`).
    #[serde(default, deserialize_with = "de::flag")]
    first_parent: bool,
    /// Follow the path across renames (needs `path`).
    #[serde(default, deserialize_with = "de::flag")]
    follow: bool,
}

/// History in `git log` order (the log), paginated.
#[utoipa::path(get, path = "/v1/repos/{repo}/commits", tag = "commits",
    params(("repo" = String, Path, description = "repository name"), LogParams),
    responses((status = 200, body = Page<Commit>)))]
async fn list_commits(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<LogParams>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Paged<Commit>> {
    let r = repo(&name)?;
    let range = RevRange::parse(q.range.as_deref().unwrap_or("HEAD"))?;
    let path = q.path.as_deref().map(repo_path).transpose()?;
    let max = s.svc.limits().max_log_page;
    let limit = q.limit.unwrap_or(100).clamp(1, max);
    let skipped = match &q.cursor {
        Some(c) => cursor_offset(c)?,
        None => 0,
    };
    let start = q.offset.unwrap_or(0).saturating_add(skipped);
    let query = LogQuery {
        range,
        path,
        // One more than asked tells whether another page follows.
        limit: limit + 1,
        offset: start,
        first_parent: q.first_parent,
        follow: q.follow,
    };
    let mut items = s.svc.log(&who, &r, query).await?;
    let more = items.len() > limit;
    items.truncate(limit);
    let next_cursor = more.then(|| offset_cursor(skipped + limit));
    Ok(Paged {
        items,
        next_cursor,
        uri,
    })
}

/// One commit.
#[utoipa::path(get, path = "/v1/repos/{repo}/commits/{sha}", tag = "commits",
    params(("repo" = String, Path, description = "repository name"),
           ("sha" = String, Path, description = "a commit id or any revision")),
    responses((status = 200, body = Commit)))]
async fn get_commit(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, sha)): Path<(String, String)>,
) -> ApiResult<Json<Commit>> {
    Ok(Json(
        s.svc.get_commit(&who, &repo(&name)?, &rev(&sha)?).await?,
    ))
}

/// A commit made from a list of file actions on a branch tip, without a work tree.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CommitFilesBody {
    /// The branch to advance (short or full name).
    branch: String,
    /// Compare-and-swap on the branch tip; all zeros creates the branch.
    expected_tip: Option<Oid>,
    /// For a new branch: where it starts (a root commit when absent).
    start_point: Option<String>,
    /// The changes, in order.
    actions: Vec<FileAction>,
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
}

impl CommitFilesBody {
    fn into_request(self) -> ApiResult<CommitFiles> {
        Ok(CommitFiles {
            branch: branch(&self.branch)?,
            expected_tip: self.expected_tip,
            start_point: self.start_point.as_deref().map(rev).transpose()?,
            actions: self.actions,
            message: self.message,
            author: self.author.signature()?,
            committer: Person::optional_signature(self.committer.as_ref())?,
            signing: self.signing,
            allow_empty: self.allow_empty,
        })
    }
}

/// Commits a list of file actions (put, delete, move, chmod) onto a branch in one step.
#[utoipa::path(post, path = "/v1/repos/{repo}/commits", tag = "commits",
    params(("repo" = String, Path, description = "repository name")),
    request_body = CommitFilesBody,
    responses((status = 201, body = Commit)))]
async fn create_commit(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Json(body): Json<CommitFilesBody>,
) -> ApiResult<(StatusCode, Json<Commit>)> {
    let req = body.into_request()?;
    let c = s.svc.commit_files(&who, &repo(&name)?, req).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// The exact bytes `POST /commits` would hash for the same body, to be signed by the caller.
#[utoipa::path(post, path = "/v1/repos/{repo}/commit-payload", tag = "commits",
    params(("repo" = String, Path, description = "repository name")),
    request_body = CommitFilesBody,
    responses((status = 200, description = "the commit object text", body = String, content_type = "text/plain")))]
async fn commit_payload(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Json(body): Json<CommitFilesBody>,
) -> ApiResult<impl IntoResponse> {
    let req = body.into_request()?;
    let payload = s.svc.commit_payload(&who, &repo(&name)?, req).await?;
    Ok(([(CONTENT_TYPE, "text/plain; charset=utf-8")], payload))
}

/// Commit ids to look up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct LookupBody {
    /// At most 1000 ids.
    oids: Vec<Oid>,
}

/// Commits in the order asked; `null` where an id is not a commit here.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LookupAnswer {
    commits: Vec<Option<Commit>>,
}

/// Reads many commits by id at once.
#[utoipa::path(post, path = "/v1/repos/{repo}/commit-lookup", tag = "commits",
    params(("repo" = String, Path, description = "repository name")),
    request_body = LookupBody,
    responses((status = 200, body = LookupAnswer)))]
async fn lookup_commits(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Json(body): Json<LookupBody>,
) -> ApiResult<Json<LookupAnswer>> {
    let commits = s.svc.get_commits(&who, &repo(&name)?, &body.oids).await?;
    Ok(Json(LookupAnswer { commits }))
}

/// A cherry-pick or revert onto a branch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PickBody {
    /// The branch that gets the new commit (short or full name).
    branch: String,
    /// Compare-and-swap on the branch tip.
    expected_tip: Option<Oid>,
    /// For a merge commit: the mainline parent (1-based).
    mainline: Option<u32>,
    /// The committer (the server identity when absent).
    committer: Option<Person>,
}

impl PickBody {
    fn into_request(self, sha: &str) -> ApiResult<PickCommit> {
        Ok(PickCommit {
            commit: rev(sha)?,
            branch: branch(&self.branch)?,
            expected_tip: self.expected_tip,
            mainline: self.mainline,
            committer: Person::signature_or_server(self.committer.as_ref())?,
        })
    }
}

/// Reverts a commit on a branch, as a new commit (no work tree; a conflict changes nothing).
#[utoipa::path(patch, path = "/v1/repos/{repo}/commits/{sha}/revert", tag = "commits",
    params(("repo" = String, Path, description = "repository name"),
           ("sha" = String, Path, description = "the commit to revert")),
    request_body = PickBody,
    responses((status = 200, body = Commit)))]
async fn revert(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, sha)): Path<(String, String)>,
    Json(body): Json<PickBody>,
) -> ApiResult<Json<Commit>> {
    let r = repo(&name)?;
    let req = body.into_request(&sha)?;
    Ok(Json(s.svc.revert(&who, &r, req).await?))
}

/// Applies a commit's change onto a branch, as a new commit.
#[utoipa::path(patch, path = "/v1/repos/{repo}/commits/{sha}/cherry-pick", tag = "commits",
    params(("repo" = String, Path, description = "repository name"),
           ("sha" = String, Path, description = "the commit to pick")),
    request_body = PickBody,
    responses((status = 200, body = Commit)))]
async fn cherry_pick(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, sha)): Path<(String, String)>,
    Json(body): Json<PickBody>,
) -> ApiResult<Json<Commit>> {
    let r = repo(&name)?;
    let req = body.into_request(&sha)?;
    Ok(Json(s.svc.cherry_pick(&who, &r, req).await?))
}

/// A rewrite of a branch's tip commit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AmendBody {
    /// The branch (short or full name).
    branch: String,
    /// Compare-and-swap on the tip.
    expected_tip: Option<Oid>,
    /// A new message.
    message: Option<String>,
    /// A new author.
    author: Option<Person>,
    /// The committer (the server identity when absent).
    committer: Option<Person>,
    /// File changes to fold in.
    #[serde(default)]
    actions: Vec<FileAction>,
}

/// Rewrites a branch's tip commit (a force update: refused on protected branches).
#[utoipa::path(post, path = "/v1/repos/{repo}/amend", tag = "commits",
    params(("repo" = String, Path, description = "repository name")),
    request_body = AmendBody,
    responses((status = 200, body = Commit)))]
async fn amend(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Json(body): Json<AmendBody>,
) -> ApiResult<Json<Commit>> {
    let req = Amend {
        branch: branch(&body.branch)?,
        expected_tip: body.expected_tip,
        message: body.message,
        author: Person::optional_signature(body.author.as_ref())?,
        committer: Person::signature_or_server(body.committer.as_ref())?,
        actions: body.actions,
    };
    Ok(Json(s.svc.amend(&who, &repo(&name)?, req).await?))
}

/// A reset of a branch (with `branch`) or of a workspace (without).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ResetBody {
    /// Where to.
    to: String,
    /// `soft`, `mixed` or `hard` (workspaces; a branch reset only moves the branch).
    mode: ResetMode,
    /// Reset this branch of the repository (short or full name).
    branch: Option<String>,
    /// Compare-and-swap on the branch tip.
    expected_tip: Option<Oid>,
    /// Reset this workspace (`default` when neither this nor `branch` is given).
    workspace: Option<String>,
}

/// The new tip.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TipBody {
    tip: Oid,
}

/// Resets a branch or a workspace; moving a protected branch backwards is refused.
#[utoipa::path(post, path = "/v1/repos/{repo}/reset", tag = "commits",
    params(("repo" = String, Path, description = "repository name")),
    request_body = ResetBody,
    responses((status = 200, body = TipBody)))]
async fn reset(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Json(body): Json<ResetBody>,
) -> ApiResult<Json<TipBody>> {
    let target = match body.branch {
        Some(branch) => {
            if body.workspace.is_some() {
                return Err(
                    gitapi_core::Error::invalid("give branch or workspace, not both").into(),
                );
            }
            ResetTarget::Branch {
                branch: super::branch(&branch)?,
                expected_tip: body.expected_tip,
            }
        }
        None => ResetTarget::Workspace {
            workspace: workspace(body.workspace.as_deref())?,
        },
    };
    let req = Reset {
        target,
        to: rev(&body.to)?,
        mode: body.mode,
    };
    let tip = s.svc.reset(&who, &repo(&name)?, req).await?;
    Ok(Json(TipBody { tip }))
}
