//! Repositories: create (init, clone, mirror), list, get, delete, mirror sync, gc, config and
//! ref protection.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use gitapi_core::{ConfigEntry, ConfigKey, Error, GcOutcome, InitOptions, Page, RepoInfo};
use gitapi_service::{ProtectionRule, Protections, RefPattern, RepoSource};

use super::{PageQuery, Paged, repo};
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path, Query};
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_repo, list_repos))
        .routes(routes!(get_repo, delete_repo))
        .routes(routes!(sync_mirror))
        .routes(routes!(gc))
        .routes(routes!(list_config))
        .routes(routes!(get_config, set_config))
        .routes(routes!(list_protections, protect, unprotect))
}

/// Where a new repository's content comes from.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SourceBody {
    /// An `http(s)` URL (`file://` and local hosts only when the operator allows them).
    url: String,
    /// Mirror every ref (re-syncable with pruning) instead of a bare clone.
    #[serde(default)]
    mirror: bool,
}

/// A repository to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateRepoBody {
    /// `[A-Za-z0-9][A-Za-z0-9._-]{0,99}`, not ending in `.git` or `.lock`.
    name: String,
    /// For an empty repository: the branch `HEAD` names (`main` by default).
    default_branch: Option<String>,
    /// Clone or mirror this remote instead of starting empty.
    source: Option<SourceBody>,
}

/// Creates a repository: empty, a bare clone or a mirror.
#[utoipa::path(post, path = "/v1/repos", tag = "repos", request_body = CreateRepoBody,
    responses((status = 201, description = "created", body = RepoInfo)))]
async fn create_repo(
    State(s): State<AppState>,
    Caller(who): Caller,
    Json(body): Json<CreateRepoBody>,
) -> ApiResult<(StatusCode, Json<RepoInfo>)> {
    let name = repo(&body.name)?;
    let source = match body.source {
        Some(src) => {
            if body.default_branch.is_some() {
                return Err(
                    Error::invalid("defaultBranch applies to empty repositories only").into(),
                );
            }
            RepoSource::Remote {
                url: src.url,
                mirror: src.mirror,
            }
        }
        None => RepoSource::Empty(InitOptions {
            default_branch: body
                .default_branch
                .as_deref()
                .map(super::branch)
                .transpose()?,
        }),
    };
    let info = s.svc.create_repo(&who, &name, source).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// Lists the repositories the caller may read, by name.
#[utoipa::path(get, path = "/v1/repos", tag = "repos", params(PageQuery),
    responses((status = 200, body = Page<RepoInfo>)))]
async fn list_repos(
    State(s): State<AppState>,
    Caller(who): Caller,
    Query(q): Query<PageQuery>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Paged<RepoInfo>> {
    let page = s.svc.list_repos(&who, q.request()).await?;
    Ok(Paged {
        items: page.items,
        next_cursor: page.next_cursor,
        uri,
    })
}

/// Facts about a repository.
#[utoipa::path(get, path = "/v1/repos/{repo}", tag = "repos",
    params(("repo" = String, Path, description = "repository name")),
    responses((status = 200, body = RepoInfo)))]
async fn get_repo(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<RepoInfo>> {
    Ok(Json(s.svc.repo_info(&who, &repo(&name)?).await?))
}

/// Deletes a repository and its workspaces (refused while protection rules cover its refs).
#[utoipa::path(delete, path = "/v1/repos/{repo}", tag = "repos",
    params(("repo" = String, Path, description = "repository name")),
    responses((status = 204, description = "deleted")))]
async fn delete_repo(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    s.svc.delete_repo(&who, &repo(&name)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Fetches a mirror again, pruning refs gone from its remote.
#[utoipa::path(post, path = "/v1/repos/{repo}/sync", tag = "repos",
    params(("repo" = String, Path, description = "repository name")),
    responses((status = 200, body = RepoInfo)))]
async fn sync_mirror(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<RepoInfo>> {
    Ok(Json(s.svc.sync_mirror(&who, &repo(&name)?).await?))
}

/// Packs objects and prunes unreachable old ones (`git gc`), under the deadline.
#[utoipa::path(post, path = "/v1/repos/{repo}/gc", tag = "repos",
    params(("repo" = String, Path, description = "repository name")),
    responses((status = 200, body = GcOutcome)))]
async fn gc(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<GcOutcome>> {
    Ok(Json(s.svc.gc(&who, &repo(&name)?).await?))
}

/// Lists the allow-listed config keys set in the repository.
#[utoipa::path(get, path = "/v1/repos/{repo}/config", tag = "repos",
    params(("repo" = String, Path, description = "repository name"), PageQuery),
    responses((status = 200, body = Page<ConfigEntry>)))]
async fn list_config(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Paged<ConfigEntry>> {
    let page = s.svc.config_list(&who, &repo(&name)?, &q.request()).await?;
    Ok(Paged::of(page, uri))
}

/// Reads a config key (`404` when unset).
#[utoipa::path(get, path = "/v1/repos/{repo}/config/{key}", tag = "repos",
    params(("repo" = String, Path, description = "repository name"),
           ("key" = String, Path, description = "an allow-listed key such as `gc.auto`")),
    responses((status = 200, body = ConfigEntry)))]
async fn get_config(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, key)): Path<(String, String)>,
) -> ApiResult<Json<ConfigEntry>> {
    let key = ConfigKey::new(key)?;
    let value = s
        .svc
        .config_get(&who, &repo(&name)?, &key)
        .await?
        .ok_or_else(|| Error::not_found(format!("config key {:?} is not set", key.as_str())))?;
    Ok(Json(ConfigEntry {
        key: key.canonical(),
        value,
    }))
}

/// A config value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ConfigValueBody {
    /// One line, at most 1024 bytes.
    value: String,
}

/// Sets a config key (allow-listed keys only).
#[utoipa::path(put, path = "/v1/repos/{repo}/config/{key}", tag = "repos",
    params(("repo" = String, Path, description = "repository name"),
           ("key" = String, Path, description = "an allow-listed key such as `gc.auto`")),
    request_body = ConfigValueBody,
    responses((status = 200, body = ConfigEntry)))]
async fn set_config(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, key)): Path<(String, String)>,
    Json(body): Json<ConfigValueBody>,
) -> ApiResult<Json<ConfigEntry>> {
    let key = ConfigKey::new(key)?;
    s.svc
        .config_set(&who, &repo(&name)?, &key, &body.value)
        .await?;
    Ok(Json(ConfigEntry {
        key: key.canonical(),
        value: body.value,
    }))
}

/// A protection rule as the REST door reads and writes it.
///
/// `gitapi-service` owns the rule type and has no OpenAPI feature, so the door (de)serialises
/// this type, which carries the schema, and converts; the JSON is the service type's.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ProtectionRule)]
pub(crate) struct RuleBody {
    /// A full ref name; `*` matches any run of characters (`refs/heads/release/*`).
    pattern: String,
    /// Refuse moves to a commit that does not descend from the current one (force-push,
    /// amend, rebase, reset backwards).
    #[serde(default)]
    no_force_push: bool,
    /// Refuse deletion (and renaming away).
    #[serde(default)]
    no_deletion: bool,
    /// Refuse new commits that carry no signature.
    #[serde(default)]
    require_signed_commits: bool,
}

impl RuleBody {
    fn into_rule(self) -> ApiResult<ProtectionRule> {
        Ok(ProtectionRule {
            pattern: RefPattern::new(&self.pattern)?,
            no_force_push: self.no_force_push,
            no_deletion: self.no_deletion,
            require_signed_commits: self.require_signed_commits,
        })
    }
}

/// The protection rules of a repository.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Protections)]
pub(crate) struct RulesBody {
    /// The rules, sorted by pattern.
    rules: Vec<RuleBody>,
}

impl From<Protections> for RulesBody {
    fn from(p: Protections) -> Self {
        let rules = p
            .rules
            .into_iter()
            .map(|r| RuleBody {
                pattern: r.pattern.as_str().to_owned(),
                no_force_push: r.no_force_push,
                no_deletion: r.no_deletion,
                require_signed_commits: r.require_signed_commits,
            })
            .collect();
        Self { rules }
    }
}

/// The protection rules of a repository.
#[utoipa::path(get, path = "/v1/repos/{repo}/protections", tag = "repos",
    params(("repo" = String, Path, description = "repository name")),
    responses((status = 200, body = RulesBody)))]
async fn list_protections(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<RulesBody>> {
    Ok(Json(s.svc.protections(&who, &repo(&name)?).await?.into()))
}

/// Protects refs matching a pattern (adds the rule, or replaces the rule of that pattern).
#[utoipa::path(put, path = "/v1/repos/{repo}/protections", tag = "repos",
    params(("repo" = String, Path, description = "repository name")),
    request_body = RuleBody,
    responses((status = 200, description = "the rules now", body = RulesBody)))]
async fn protect(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Json(rule): Json<RuleBody>,
) -> ApiResult<Json<RulesBody>> {
    let rule = rule.into_rule()?;
    Ok(Json(s.svc.protect(&who, &repo(&name)?, rule).await?.into()))
}

/// Which rule to remove.
#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PatternQuery {
    /// The rule's pattern, e.g. `refs/heads/main`.
    pattern: String,
}

/// Removes the protection rule of a pattern.
#[utoipa::path(delete, path = "/v1/repos/{repo}/protections", tag = "repos",
    params(("repo" = String, Path, description = "repository name"), PatternQuery),
    responses((status = 200, description = "the rules now", body = RulesBody)))]
async fn unprotect(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<PatternQuery>,
) -> ApiResult<Json<RulesBody>> {
    let pattern = RefPattern::new(&q.pattern)?;
    Ok(Json(
        s.svc.unprotect(&who, &repo(&name)?, &pattern).await?.into(),
    ))
}
