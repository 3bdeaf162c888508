//! Refs: list, get, create (branch, tag or any ref), update with compare-and-swap (one or an
//! atomic batch), delete, rename, resolve; and tags read with their tag object.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use gitapi_core::{
    CreateTag, Error, ListRefs, Oid, Page, PageRequest, Person, Ref, RefKind, RefName, RefUpdate,
    Rev, Tag, TagAnnotation,
};

use super::{Paged, no_content, ref_from_path, repo, rev};
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path, Query};
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_refs, create_ref, update_refs))
        .routes(routes!(get_ref, update_ref, delete_ref))
        .routes(routes!(rename_ref))
        .routes(routes!(resolve))
        .routes(routes!(get_tag))
}

/// Which refs to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListRefsQuery {
    /// `branches`, `tags` or `all` (default).
    kind: Option<String>,
    /// Only full names starting with this, e.g. `refs/heads/feature/`.
    prefix: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
    /// The `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// Lists refs sorted by name; annotated tags come peeled.
#[utoipa::path(get, path = "/v1/repos/{repo}/refs", tag = "refs",
    params(("repo" = String, Path, description = "repository name"), ListRefsQuery),
    responses((status = 200, body = Page<Ref>)))]
async fn list_refs(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<ListRefsQuery>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Paged<Ref>> {
    let kind = match q.kind.as_deref() {
        None | Some("all") => RefKind::All,
        Some("branches") => RefKind::Branches,
        Some("tags") => RefKind::Tags,
        Some(other) => {
            return Err(
                Error::invalid(format!("kind {other:?} is not branches, tags or all")).into(),
            );
        }
    };
    let page = s
        .svc
        .list_refs(
            &who,
            &repo(&name)?,
            ListRefs {
                prefix: q.prefix,
                kind,
                page: PageRequest {
                    limit: q.limit.unwrap_or(0),
                    cursor: q.cursor,
                },
            },
        )
        .await?;
    Ok(Paged {
        items: page.items,
        next_cursor: page.next_cursor,
        uri,
    })
}

/// An annotated tag's object part.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AnnotationBody {
    /// The tag message.
    message: String,
    /// Who tags (the server identity when absent).
    tagger: Option<Person>,
}

/// What kind of ref a short name makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum CreateKind {
    /// `refs/heads/<name>`.
    Branch,
    /// `refs/tags/<name>`.
    Tag,
}

/// A ref to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateRefBody {
    /// A full name (`refs/heads/x`, `refs/tags/v1`, `refs/notes/x`), or a short name with
    /// `kind`.
    name: String,
    /// What a short name makes: `branch` or `tag`. Required with a short name (a short name
    /// alone is refused, so `v1.0.0` can never silently become a branch); with a full name it
    /// must agree with it.
    kind: Option<CreateKind>,
    /// The revision it points at.
    target: String,
    /// For a tag: make an annotated tag object.
    annotation: Option<AnnotationBody>,
}

/// The full name a create request names: a full name as given (checked against `kind`), a
/// short name under the prefix `kind` gives; a short name without `kind` is refused.
fn created_name(name: &str, kind: Option<CreateKind>) -> Result<RefName, Error> {
    if name.starts_with("refs/") {
        let full = RefName::new(name)?;
        let agrees = match kind {
            None => true,
            Some(CreateKind::Branch) => full.is_branch(),
            Some(CreateKind::Tag) => full.is_tag(),
        };
        if !agrees {
            return Err(Error::invalid(format!(
                "ref {name:?} is not a {}: give a short name with the kind, or a full name \
                 without one",
                if kind == Some(CreateKind::Tag) {
                    "tag"
                } else {
                    "branch"
                }
            )));
        }
        return Ok(full);
    }
    match kind {
        Some(CreateKind::Branch) => RefName::branch_or_full(name),
        Some(CreateKind::Tag) => {
            if name.starts_with('-') {
                return Err(Error::invalid(format!("tag name {name:?} starts with '-'")));
            }
            RefName::new(format!("refs/tags/{name}"))
        }
        None => Err(Error::invalid(format!(
            "ref name {name:?} is short: give a full name (refs/heads/{name} or \
             refs/tags/{name}) or a kind (\"branch\" or \"tag\")"
        ))),
    }
}

/// Creates a branch, a tag (lightweight or annotated) or any other ref; `409` when it exists.
/// A short name needs `kind`; without it the request is `400` (`invalid_argument`).
#[utoipa::path(post, path = "/v1/repos/{repo}/refs", tag = "refs",
    params(("repo" = String, Path, description = "repository name")),
    request_body = CreateRefBody,
    responses((status = 201, body = Ref)))]
async fn create_ref(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Json(body): Json<CreateRefBody>,
) -> ApiResult<(StatusCode, Json<Ref>)> {
    let r = repo(&name)?;
    let refname = created_name(&body.name, body.kind)?;
    let target = rev(&body.target)?;
    let created = if refname.is_tag() {
        let annotation = match body.annotation {
            Some(a) => Some(TagAnnotation {
                tagger: Person::signature_or_server(a.tagger.as_ref())?,
                message: a.message,
            }),
            None => None,
        };
        s.svc
            .create_tag(
                &who,
                &r,
                CreateTag {
                    name: refname,
                    target,
                    annotation,
                },
            )
            .await?
    } else if body.annotation.is_some() {
        return Err(Error::invalid("only tags take an annotation").into());
    } else if refname.is_branch() {
        s.svc.create_branch(&who, &r, &refname, &target).await?
    } else {
        s.svc
            .point_ref(&who, &r, &refname, &target, Some(Oid::ZERO))
            .await?
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// One tag: the ref and, for an annotated tag, its tag object as `git cat-file tag` shows it
/// (name, target and its kind, tagger, message, and the signature of a signed tag).
#[utoipa::path(get, path = "/v1/repos/{repo}/tags/{*name}", tag = "refs",
    params(("repo" = String, Path, description = "repository name"),
           ("name" = String, Path, description = "the tag name after `refs/tags/`, e.g. `v1.0.0`")),
    responses((status = 200, body = Tag)))]
async fn get_tag(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, tag)): Path<(String, String)>,
) -> ApiResult<Json<Tag>> {
    let r = repo(&name)?;
    let full = RefName::new(format!("refs/tags/{tag}"))?;
    Ok(Json(s.svc.get_tag(&who, &r, &full).await?))
}

/// One update of an atomic batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RefUpdateBody {
    /// The full ref name.
    name: String,
    /// The new value; all zeros deletes the ref.
    new: Oid,
    /// What the ref must point at now (all zeros: must not exist); unconditional when absent.
    expected_old: Option<Oid>,
}

/// An atomic batch of ref updates.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct UpdateRefsBody {
    /// All or nothing; at most 1000.
    updates: Vec<RefUpdateBody>,
}

/// Applies ref updates atomically, each a compare-and-swap (`409` with `expected` and `actual`
/// when one is lost, `403` when one breaks a protection rule).
#[utoipa::path(patch, path = "/v1/repos/{repo}/refs", tag = "refs",
    params(("repo" = String, Path, description = "repository name")),
    request_body = UpdateRefsBody,
    responses((status = 204, description = "all applied")))]
async fn update_refs(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Json(body): Json<UpdateRefsBody>,
) -> ApiResult<StatusCode> {
    let updates = body
        .updates
        .into_iter()
        .map(|u| {
            Ok(RefUpdate {
                name: RefName::new(u.name)?,
                new: u.new,
                expected_old: u.expected_old,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    s.svc.update_refs(&who, &repo(&name)?, updates).await?;
    Ok(no_content())
}

/// One ref.
#[utoipa::path(get, path = "/v1/repos/{repo}/refs/{*ref}", tag = "refs",
    params(("repo" = String, Path, description = "repository name"),
           ("ref" = String, Path, description = "the ref name after `refs/`, e.g. `heads/main`")),
    responses((status = 200, body = Ref)))]
async fn get_ref(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, rest)): Path<(String, String)>,
) -> ApiResult<Json<Ref>> {
    let r = repo(&name)?;
    Ok(Json(s.svc.get_ref(&who, &r, &ref_from_path(&rest)?).await?))
}

/// A move of one ref.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct UpdateRefBody {
    /// The revision to point at.
    target: String,
    /// Compare-and-swap: what the ref must point at now.
    expected_old: Option<Oid>,
}

/// Moves one ref (compare-and-swap when `expectedOld` is given).
#[utoipa::path(patch, path = "/v1/repos/{repo}/refs/{*ref}", tag = "refs",
    params(("repo" = String, Path, description = "repository name"),
           ("ref" = String, Path, description = "the ref name after `refs/`, e.g. `heads/main`")),
    request_body = UpdateRefBody,
    responses((status = 200, body = Ref)))]
async fn update_ref(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, rest)): Path<(String, String)>,
    Json(body): Json<UpdateRefBody>,
) -> ApiResult<Json<Ref>> {
    let r = repo(&name)?;
    let refname = ref_from_path(&rest)?;
    let target = rev(&body.target)?;
    Ok(Json(
        s.svc
            .point_ref(&who, &r, &refname, &target, body.expected_old)
            .await?,
    ))
}

/// Compare-and-swap for a deletion.
#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeleteRefQuery {
    /// Delete only if the ref points at this.
    expected: Option<Oid>,
}

/// Deletes a ref.
#[utoipa::path(delete, path = "/v1/repos/{repo}/refs/{*ref}", tag = "refs",
    params(("repo" = String, Path, description = "repository name"),
           ("ref" = String, Path, description = "the ref name after `refs/`, e.g. `heads/main`"),
           DeleteRefQuery),
    responses((status = 204, description = "deleted")))]
async fn delete_ref(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, rest)): Path<(String, String)>,
    Query(q): Query<DeleteRefQuery>,
) -> ApiResult<StatusCode> {
    let r = repo(&name)?;
    s.svc
        .delete_ref(&who, &r, &ref_from_path(&rest)?, q.expected)
        .await?;
    Ok(no_content())
}

/// A branch rename.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RenameBody {
    /// The branch now (short or full name).
    from: String,
    /// Its new name (short or full name); `409` when it exists.
    to: String,
}

/// Renames a branch with its reflog.
#[utoipa::path(post, path = "/v1/repos/{repo}/ref-renames", tag = "refs",
    params(("repo" = String, Path, description = "repository name")),
    request_body = RenameBody,
    responses((status = 200, body = Ref)))]
async fn rename_ref(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Json(body): Json<RenameBody>,
) -> ApiResult<Json<Ref>> {
    let r = repo(&name)?;
    let from = super::branch(&body.from)?;
    let to = super::branch(&body.to)?;
    Ok(Json(s.svc.rename_branch(&who, &r, &from, &to).await?))
}

/// A revision to resolve.
#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RevQuery {
    /// A revision (`main`, `v1^{}`, `HEAD~2`, an oid or a prefix).
    rev: String,
}

/// An object id.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OidBody {
    pub(crate) oid: Oid,
}

/// Resolves a revision to an object id (`git rev-parse --verify`).
#[utoipa::path(get, path = "/v1/repos/{repo}/resolve", tag = "refs",
    params(("repo" = String, Path, description = "repository name"), RevQuery),
    responses((status = 200, body = OidBody)))]
async fn resolve(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<RevQuery>,
) -> ApiResult<Json<OidBody>> {
    let oid = s
        .svc
        .resolve(&who, &repo(&name)?, &Rev::new(q.rev)?)
        .await?;
    Ok(Json(OidBody { oid }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made(name: &str, kind: Option<CreateKind>) -> Result<String, gitapi_core::ErrorKind> {
        created_name(name, kind)
            .map(|r| r.as_str().to_owned())
            .map_err(|e| e.kind())
    }

    #[test]
    fn a_short_ref_name_needs_a_kind_and_a_full_one_must_agree_with_it() {
        use gitapi_core::ErrorKind::InvalidArgument;
        // The trap: `v1.0.0` alone used to become the branch `refs/heads/v1.0.0`.
        assert_eq!(made("v1.0.0", None), Err(InvalidArgument));
        assert_eq!(
            made("v1.0.0", Some(CreateKind::Tag)).as_deref(),
            Ok("refs/tags/v1.0.0")
        );
        assert_eq!(
            made("feature/x", Some(CreateKind::Branch)).as_deref(),
            Ok("refs/heads/feature/x")
        );
        for full in ["refs/heads/x", "refs/tags/x", "refs/notes/x"] {
            assert_eq!(made(full, None).as_deref(), Ok(full));
        }
        assert_eq!(
            made("refs/heads/x", Some(CreateKind::Branch)).as_deref(),
            Ok("refs/heads/x")
        );
        assert_eq!(
            made("refs/tags/x", Some(CreateKind::Branch)),
            Err(InvalidArgument)
        );
        assert_eq!(
            made("refs/heads/x", Some(CreateKind::Tag)),
            Err(InvalidArgument)
        );
        assert_eq!(
            made("refs/notes/x", Some(CreateKind::Tag)),
            Err(InvalidArgument)
        );
        assert_eq!(made("-x", Some(CreateKind::Tag)), Err(InvalidArgument));
        assert_eq!(made("-x", Some(CreateKind::Branch)), Err(InvalidArgument));
        assert_eq!(made("a..b", Some(CreateKind::Tag)), Err(InvalidArgument));
    }
}
