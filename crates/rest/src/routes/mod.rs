//! The REST door: one resource tree under `/v1`, one router per area.
//!
//! Handlers parse every user string into a core type once ([`RepoName`], [`RefName`],
//! [`RepoPath`], [`Rev`]), call one [`gitapi_service::RepoService`] method and map its answer;
//! they hold no Git logic.

use axum::http::header::{HeaderValue, LINK};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;

use gitapi_core::{RefName, RepoName, RepoPath, Rev, WorkspaceName};

use crate::error::ApiError;
use crate::state::AppState;

pub(crate) mod admin;
pub(crate) mod commits;
pub(crate) mod events;
pub(crate) mod files;
pub(crate) mod history;
pub(crate) mod live;
pub(crate) mod refs;
pub(crate) mod repos;
pub(crate) mod workspaces;

/// Every REST route, with its OpenAPI description.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(repos::routes())
        .merge(refs::routes())
        .merge(commits::routes())
        .merge(files::routes())
        .merge(workspaces::routes())
        .merge(history::routes())
        .merge(admin::routes())
        .merge(events::routes())
        .merge(live::routes())
}

// --- Parsing at the edge ---

pub(crate) fn repo(s: &str) -> Result<RepoName, ApiError> {
    Ok(RepoName::new(s)?)
}

pub(crate) fn rev(s: &str) -> Result<Rev, ApiError> {
    Ok(Rev::new(s)?)
}

pub(crate) fn repo_path(s: &str) -> Result<RepoPath, ApiError> {
    Ok(RepoPath::new(s)?)
}

pub(crate) fn workspace(s: Option<&str>) -> Result<WorkspaceName, ApiError> {
    Ok(match s {
        Some(s) => WorkspaceName::new(s)?,
        None => WorkspaceName::default_workspace(),
    })
}

/// A branch given short (`main`) or full (`refs/heads/main`); see [`RefName::branch_or_full`].
pub(crate) fn branch(s: &str) -> Result<RefName, ApiError> {
    Ok(RefName::branch_or_full(s)?)
}

/// A ref from a wildcard path segment: `/refs/heads/main` names `refs/heads/main`.
pub(crate) fn ref_from_path(rest: &str) -> Result<RefName, ApiError> {
    Ok(RefName::new(format!("refs/{rest}"))?)
}

/// Serde helpers for request fields.
pub(crate) mod de {
    use super::*;

    /// A query flag: `1`, `true`, `0`, `false` (absent: false).
    pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match String::deserialize(d)?.as_str() {
            "1" | "true" => Ok(true),
            "0" | "false" | "" => Ok(false),
            other => Err(serde::de::Error::custom(format!(
                "{other:?} is not a flag (1, 0, true or false)"
            ))),
        }
    }
}

// --- Pagination ---

/// Page parameters of a listing.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// At most this many items (default 100, at most 1000).
    pub(crate) limit: Option<usize>,
    /// The `nextCursor` of the previous page (also in the `Link: rel="next"` header).
    pub(crate) cursor: Option<String>,
}

impl PageQuery {
    pub(crate) fn request(&self) -> gitapi_core::PageRequest {
        gitapi_core::PageRequest {
            limit: self.limit.unwrap_or(0),
            cursor: self.cursor.clone(),
        }
    }
}

/// One page of a listing, with a `Link` header to the next page.
#[derive(Debug)]
pub(crate) struct Paged<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next_cursor: Option<String>,
    pub(crate) uri: Uri,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageBody<'a, T> {
    items: &'a [T],
    next_cursor: Option<&'a str>,
}

impl<T> Paged<T> {
    /// A page the service made, answered with its `Link` header.
    pub(crate) fn of(page: gitapi_core::Page<T>, uri: Uri) -> Self {
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
            uri,
        }
    }
}

impl<T: Serialize> IntoResponse for Paged<T> {
    fn into_response(self) -> Response {
        let body = PageBody {
            items: &self.items,
            next_cursor: self.next_cursor.as_deref(),
        };
        let mut res = crate::extract::json_response(&body);
        if let Some(cursor) = &self.next_cursor {
            let query: Vec<&str> = self
                .uri
                .query()
                .unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty() && !p.starts_with("cursor=") && !p.starts_with("offset="))
                .collect();
            let mut next = format!("{}?", self.uri.path());
            for p in query {
                next.push_str(p);
                next.push('&');
            }
            next.push_str("cursor=");
            next.push_str(cursor);
            if let Ok(v) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")) {
                res.headers_mut().insert(LINK, v);
            }
        }
        res
    }
}

/// An opaque cursor over a position in a listing.
pub(crate) fn offset_cursor(n: usize) -> String {
    gitapi_core::cursor::encode_offset(n)
}

/// The position a cursor made by [`offset_cursor`] names.
pub(crate) fn cursor_offset(c: &str) -> Result<usize, ApiError> {
    Ok(gitapi_core::cursor::decode_offset(c)?)
}

/// `204 No Content`.
pub(crate) fn no_content() -> StatusCode {
    StatusCode::NO_CONTENT
}
