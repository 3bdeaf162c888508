//! Comparing history: diffs (with ids that render again), blame, merge, rebase, merge base,
//! ancestry and ahead/behind.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use gitapi_core::{
    AheadBehind, BlameHunk, BlameQuery, Diff, DiffId, DiffOptions, DiffRequest, DiffSpec, Error,
    FastForward, Merge, MergeOutcome, Oid, Person, Rebase, RebaseOutcome, RebaseStep,
};

use super::{branch, de, repo, repo_path, rev, workspace};
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path, Query};
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(diff))
        .routes(routes!(diff_by_id))
        .routes(routes!(blame))
        .routes(routes!(merge))
        .routes(routes!(rebase))
        .routes(routes!(merge_base))
        .routes(routes!(ahead_behind))
        .routes(routes!(is_ancestor))
}

/// How a diff is rendered.
fn render(diff: Diff, format: Option<&str>) -> ApiResult<Response> {
    let text = |body: String| ([(CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response();
    Ok(match format.unwrap_or("json") {
        "json" => crate::extract::json_response(&diff),
        "patch" => text(diff.to_patch()),
        "stat" | "numstat" => text(diff.to_numstat()),
        "name-status" => text(diff.to_name_status()),
        other => {
            return Err(Error::invalid(format!(
                "format {other:?} is not json, patch, stat or name-status"
            ))
            .into());
        }
    })
}

/// A diff query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DiffQuery {
    /// `commits` (default: `from` vs `to`), `index` (`from` or the workspace base vs the
    /// index), `worktree` (the index vs the work tree) or `tree-worktree` (`from` or the base
    /// vs the work tree).
    kind: Option<String>,
    /// The old side (for commits: `to`'s parent when absent).
    from: Option<String>,
    /// The new side (commits only; default `HEAD`).
    to: Option<String>,
    /// The workspace, for the workspace kinds (`default` when absent).
    workspace: Option<String>,
    /// `json` (default), `patch`, `stat` (numstat) or `name-status`.
    format: Option<String>,
    /// Context lines (default 3).
    context_lines: Option<u32>,
    /// Detect renames (default on).
    #[serde(default, deserialize_with = "opt_flag")]
    renames: Option<bool>,
    /// Detect copies (default off).
    #[serde(default, deserialize_with = "opt_flag")]
    copies: Option<bool>,
    /// Rename similarity threshold in percent (default 50).
    rename_threshold: Option<u8>,
    /// Only these paths, comma-separated.
    paths: Option<String>,
}

fn opt_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    de::flag(d).map(Some)
}

/// The query's options over the defaults, validated in core ([`DiffOptions::new`]), which
/// also validates the options a diff id carries.
fn diff_options(q: &DiffQuery) -> ApiResult<DiffOptions> {
    let d = DiffOptions::default();
    let paths = match &q.paths {
        Some(paths) => paths.split(',').map(repo_path).collect::<Result<_, _>>()?,
        None => d.paths,
    };
    Ok(DiffOptions::new(
        q.context_lines.unwrap_or(d.context_lines),
        q.renames.unwrap_or(d.find_renames),
        q.copies.unwrap_or(d.find_copies),
        q.rename_threshold.unwrap_or(d.rename_threshold),
        paths,
    )?)
}

/// A diff between commits, or of a workspace's index or work tree. The JSON answer carries an
/// `id` that `GET /diffs/{id}` renders again.
#[utoipa::path(get, path = "/v1/repos/{repo}/diff", tag = "diff",
    params(("repo" = String, Path, description = "repository name"), DiffQuery),
    responses((status = 200, description = "the diff: JSON, or text for patch, stat and name-status",
               content((Diff = "application/json"), (String = "text/plain")))))]
async fn diff(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<DiffQuery>,
) -> ApiResult<Response> {
    let r = repo(&name)?;
    let from = q.from.as_deref().map(rev).transpose()?;
    let kind = q.kind.as_deref().unwrap_or("commits");
    let no_to = || -> ApiResult<()> {
        if q.to.is_some() {
            return Err(Error::invalid(format!("to does not apply to a {kind} diff")).into());
        }
        Ok(())
    };
    let spec = match kind {
        "commits" => {
            if q.workspace.is_some() {
                return Err(Error::invalid("workspace does not apply to a commits diff").into());
            }
            DiffSpec::Commits {
                from,
                to: rev(q.to.as_deref().unwrap_or("HEAD"))?,
            }
        }
        "index" => {
            no_to()?;
            DiffSpec::Index {
                workspace: workspace(q.workspace.as_deref())?,
                from,
            }
        }
        "tree-worktree" => {
            no_to()?;
            DiffSpec::TreeToWorktree {
                workspace: workspace(q.workspace.as_deref())?,
                from,
            }
        }
        "worktree" => {
            no_to()?;
            if from.is_some() {
                return Err(Error::invalid("from does not apply to a worktree diff").into());
            }
            DiffSpec::Worktree {
                workspace: workspace(q.workspace.as_deref())?,
            }
        }
        other => {
            return Err(Error::invalid(format!(
                "kind {other:?} is not commits, index, worktree or tree-worktree"
            ))
            .into());
        }
    };
    let req = DiffRequest {
        spec,
        options: diff_options(&q)?,
    };
    render(s.svc.diff(&who, &r, req).await?, q.format.as_deref())
}

/// How to render a diff again.
#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct FormatQuery {
    /// `json` (default), `patch`, `stat` (numstat) or `name-status`.
    format: Option<String>,
}

/// Renders the diff an id names again, in any format.
#[utoipa::path(get, path = "/v1/repos/{repo}/diffs/{id}", tag = "diff",
    params(("repo" = String, Path, description = "repository name"),
           ("id" = String, Path, description = "the `id` of a diff answer"),
           FormatQuery),
    responses((status = 200, description = "the diff",
               content((Diff = "application/json"), (String = "text/plain")))))]
async fn diff_by_id(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, id)): Path<(String, String)>,
    Query(q): Query<FormatQuery>,
) -> ApiResult<Response> {
    let r = repo(&name)?;
    let id = DiffId::from_string(id);
    render(s.svc.diff_by_id(&who, &r, &id).await?, q.format.as_deref())
}

/// A blame query.
#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct BlameParams {
    /// The file.
    path: String,
    /// The commit (default `HEAD`).
    rev: Option<String>,
    /// The first line, 1-based (with `end`).
    start: Option<u32>,
    /// The last line, inclusive (with `start`).
    end: Option<u32>,
}

/// Who last changed each line of a file, as runs of lines (under the deadline).
#[utoipa::path(get, path = "/v1/repos/{repo}/blame", tag = "diff",
    params(("repo" = String, Path, description = "repository name"), BlameParams),
    responses((status = 200, body = Vec<BlameHunk>)))]
async fn blame(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<BlameParams>,
) -> ApiResult<Json<Vec<BlameHunk>>> {
    let lines = match (q.start, q.end) {
        (None, None) => None,
        (Some(a), Some(b)) if a >= 1 && a <= b => Some((a, b)),
        _ => {
            return Err(
                Error::invalid("start and end must be given together, 1 <= start <= end").into(),
            );
        }
    };
    let query = BlameQuery {
        path: repo_path(&q.path)?,
        rev: rev(q.rev.as_deref().unwrap_or("HEAD"))?,
        lines,
    };
    Ok(Json(s.svc.blame(&who, &repo(&name)?, query).await?))
}

/// A merge into a branch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct MergeBody {
    /// What to merge (a revision).
    source: String,
    /// The branch that moves (short or full name).
    target: String,
    /// Compare-and-swap on the target tip.
    expected_tip: Option<Oid>,
    /// `ff` (default), `noFf` or `ffOnly`.
    #[serde(default)]
    fast_forward: FastForward,
    /// The merge commit's message (`Merge <source> into <target>` by default).
    message: Option<String>,
    /// The merge commit's author and committer (the server identity when absent).
    committer: Option<Person>,
}

/// Merges a revision into a branch without a work tree (`409` with the paths on conflict).
#[utoipa::path(post, path = "/v1/repos/{repo}/merge", tag = "diff",
    params(("repo" = String, Path, description = "repository name")),
    request_body = MergeBody,
    responses((status = 200, body = MergeOutcome)))]
async fn merge(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Json(body): Json<MergeBody>,
) -> ApiResult<Json<MergeOutcome>> {
    let req = Merge {
        source: rev(&body.source)?,
        target: branch(&body.target)?,
        expected_tip: body.expected_tip,
        fast_forward: body.fast_forward,
        message: body.message,
        committer: Person::signature_or_server(body.committer.as_ref())?,
    };
    Ok(Json(s.svc.merge(&who, &repo(&name)?, req).await?))
}

/// A rebase of a branch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RebaseBody {
    /// The branch that is rewritten (short or full name).
    branch: String,
    /// Compare-and-swap on the branch tip.
    expected_tip: Option<Oid>,
    /// The new base.
    onto: String,
    /// Replay `upstream..branch` (`onto` when absent).
    upstream: Option<String>,
    /// An interactive plan naming each commit of `upstream..branch` once.
    plan: Option<Vec<RebaseStep>>,
    /// The committer of rewritten commits (the server identity when absent).
    committer: Option<Person>,
}

/// Rebases a branch without a work tree, optionally by an interactive plan (a rewrite:
/// refused on protected branches).
#[utoipa::path(post, path = "/v1/repos/{repo}/rebase", tag = "diff",
    params(("repo" = String, Path, description = "repository name")),
    request_body = RebaseBody,
    responses((status = 200, body = RebaseOutcome)))]
async fn rebase(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Json(body): Json<RebaseBody>,
) -> ApiResult<Json<RebaseOutcome>> {
    let req = Rebase {
        branch: branch(&body.branch)?,
        expected_tip: body.expected_tip,
        onto: rev(&body.onto)?,
        upstream: body.upstream.as_deref().map(rev).transpose()?,
        plan: body.plan,
        committer: Person::signature_or_server(body.committer.as_ref())?,
    };
    Ok(Json(s.svc.rebase(&who, &repo(&name)?, req).await?))
}

/// Two revisions.
#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct TwoRevs {
    /// One revision.
    a: String,
    /// The other.
    b: String,
}

/// A merge base.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MergeBaseBody {
    /// The best common ancestor; `null` when the histories are unrelated.
    merge_base: Option<Oid>,
}

/// The best common ancestor of two commits.
#[utoipa::path(get, path = "/v1/repos/{repo}/merge-base", tag = "diff",
    params(("repo" = String, Path, description = "repository name"), TwoRevs),
    responses((status = 200, body = MergeBaseBody)))]
async fn merge_base(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<TwoRevs>,
) -> ApiResult<Json<MergeBaseBody>> {
    let (a, b) = (rev(&q.a)?, rev(&q.b)?);
    let merge_base = s.svc.merge_base(&who, &repo(&name)?, &a, &b).await?;
    Ok(Json(MergeBaseBody { merge_base }))
}

/// Commits in `a` not in `b` (ahead) and in `b` not in `a` (behind).
#[utoipa::path(get, path = "/v1/repos/{repo}/ahead-behind", tag = "diff",
    params(("repo" = String, Path, description = "repository name"), TwoRevs),
    responses((status = 200, body = AheadBehind)))]
async fn ahead_behind(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<TwoRevs>,
) -> ApiResult<Json<AheadBehind>> {
    let (a, b) = (rev(&q.a)?, rev(&q.b)?);
    Ok(Json(s.svc.ahead_behind(&who, &repo(&name)?, &a, &b).await?))
}

/// An ancestry question.
#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AncestryQuery {
    /// The would-be ancestor.
    ancestor: String,
    /// The would-be descendant.
    descendant: String,
}

/// The answer to an ancestry question.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AncestryBody {
    /// Whether `ancestor` is reachable from `descendant` (a commit is its own ancestor).
    is_ancestor: bool,
}

/// Whether one commit is an ancestor of another.
#[utoipa::path(get, path = "/v1/repos/{repo}/is-ancestor", tag = "diff",
    params(("repo" = String, Path, description = "repository name"), AncestryQuery),
    responses((status = 200, body = AncestryBody)))]
async fn is_ancestor(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<AncestryQuery>,
) -> ApiResult<Json<AncestryBody>> {
    let (a, d) = (rev(&q.ancestor)?, rev(&q.descendant)?);
    let is_ancestor = s.svc.is_ancestor(&who, &repo(&name)?, &a, &d).await?;
    Ok(Json(AncestryBody { is_ancestor }))
}
