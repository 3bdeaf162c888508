//! The REST door of gitapi: JSON over HTTP/1.1 and HTTP/2, described by an OpenAPI 3.1
//! document generated from the handlers.
//!
//! A thin adapter over [`gitapi_service::RepoService`]: each handler parses its input into
//! core types (a bad value is a `400` with the error body), calls one service method with the
//! caller's [`gitapi_service::CallContext`], and maps the error through the one error table
//! ([`gitapi_core::ErrorKind`]). It depends on the service and core only, so Cargo keeps it
//! from reaching an engine or the engine switch.
//!
//! ```no_run
//! # fn demo(svc: gitapi_service::RepoService) {
//! let router: axum::Router = gitapi_rest::app(svc); // every route, /openapi.json, /docs, /healthz
//! # }
//! ```
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{OpenApi as _, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use gitapi_core::{Error, ErrorKind};
use gitapi_service::RepoService;

mod caching;
mod docs;
pub mod error;
pub mod extract;
mod routes;
pub mod state;

pub use docs::DOCS;
pub use error::ApiError;
use error::ErrorBody;
pub use state::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "gitapi",
        description = "Every Git operation over REST. Errors are \
            `{\"error\": {\"code\", \"message\", \"details\"}}`; lists are paginated with `limit` \
            and an opaque `cursor` (also in a `Link: rel=\"next\"` header)."
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "repos", description = "Repositories, config, protection and maintenance"),
        (name = "refs", description = "Branches, tags and other refs"),
        (name = "commits", description = "History and commit-making operations"),
        (name = "files", description = "Trees, blobs and work-tree files"),
        (name = "workspaces", description = "Workspaces, index and stash"),
        (name = "diff", description = "Diff, blame, merge, rebase and ancestry"),
        (name = "admin", description = "The serving engine and the canary"),
        (name = "events", description = "Live streams of ref and repository events (Server-Sent Events)"),
        (name = "meta", description = "Health and the API description"),
    )
)]
struct ApiDoc;

/// The error answers every operation may give, generated from the error table: one response
/// per HTTP status of [`ErrorKind::ALL`], describing each kind that answers with it.
fn error_responses() -> BTreeMap<u16, String> {
    let mut by_status: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    for kind in ErrorKind::ALL {
        by_status
            .entry(kind.http_status())
            .or_default()
            .push(format!("`{}`: {}", kind.code(), kind.summary()));
    }
    by_status
        .into_iter()
        .map(|(status, kinds)| (status, kinds.join("; ")))
        .collect()
}

/// Adds what is common to every operation: the error responses and the bearer scheme, and
/// turns axum's wildcard segments (`{*path}`) into OpenAPI path parameters (`{path}`).
fn finish_openapi(mut doc: OpenApi) -> OpenApi {
    let error = || {
        ContentBuilder::new()
            .schema(Some(RefOr::Ref(Ref::from_schema_name(ErrorBody::name()))))
            .build()
    };
    let errors = error_responses();
    let paths = std::mem::take(&mut doc.paths.paths);
    for (path, mut item) in paths {
        // The cached reads document their ETag, Cache-Control and 304 (one step for all).
        if let Some(get) = item.get.as_mut()
            && caching::cached_read(&path).is_some()
        {
            caching::describe(get);
        }
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            // OpenAPI requires a description on every response; a handler that gives none
            // gets the status's reason phrase ("OK", "Created").
            for (status, response) in op.responses.responses.iter_mut() {
                if let RefOr::T(response) = response
                    && response.description.is_empty()
                {
                    response.description = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|s| StatusCode::from_u16(s).ok())
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("success")
                        .to_owned();
                }
            }
            for (status, why) in &errors {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(why)
                                .content("application/json", error())
                                .build(),
                        )
                    });
            }
        }
        let path = path.replace("{*", "{");
        doc.paths.paths.insert(path, item);
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    doc.security = Some(vec![SecurityRequirement::new(
        "bearer",
        Vec::<String>::new(),
    )]);
    doc
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "meta", security(()),
    responses((status = 200, description = "alive", body = String)))]
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the data directory is reachable.
#[utoipa::path(get, path = "/readyz", tag = "meta", security(()),
    responses((status = 200, description = "ready", body = String)))]
async fn readyz(State(s): State<AppState>) -> Result<&'static str, ApiError> {
    s.svc.ready().await?;
    Ok("ok")
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "the OpenAPI document", body = Object)))]
async fn openapi_json(State(s): State<AppState>) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        s.openapi.as_ref().clone(),
    )
        .into_response()
}

fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::routes())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(openapi_json))
}

/// The OpenAPI document, generated from the routes.
pub fn openapi() -> OpenApi {
    finish_openapi(router().split_for_parts().1)
}

/// Refuses a body whose declared length is over the limit before reading it (a body without a
/// length is bounded while it is read, by [`DefaultBodyLimit`]).
async fn limit_body(State(max): State<usize>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        let err = Error::new(
            ErrorKind::TooLarge,
            format!("request body is over the limit of {max} bytes"),
        );
        return ApiError::from(err).into_response();
    }
    next.run(req).await
}

/// Logs each request with its route template (never the raw path) and status.
async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let res = next.run(req).await;
    tracing::debug!(%method, route, status = res.status().as_u16(), "request");
    res
}

async fn not_found() -> ApiError {
    Error::not_found("no such route").into()
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::with_status(
        StatusCode::METHOD_NOT_ALLOWED,
        Error::invalid(format!("method {method} is not allowed on this route")),
    )
}

/// The whole HTTP application over a service.
pub fn app(svc: RepoService) -> Router {
    let max_body = svc.limits().max_body_bytes;
    let (api, doc) = router().split_for_parts();
    let mut doc = finish_openapi(doc);
    if svc.is_open() {
        // Open mode: every caller may do everything, so the document says a request needs no
        // credentials (an empty requirement beside the bearer one), and clients generated or
        // fuzzing from it call without a token.
        if let Some(security) = doc.security.as_mut() {
            security.push(SecurityRequirement::default());
        }
    }
    // Rendered once: the document is the same for the life of the process.
    let openapi = doc.to_json().map(bytes::Bytes::from).unwrap_or_default();
    let state = AppState {
        svc,
        openapi: Arc::new(openapi),
    };
    api.merge(docs::explorer())
        .with_state(state)
        // Route layers run after routing, so they see the route template. The cache layer acts
        // on the GET routes of `caching::CACHED_READS` only.
        .route_layer(middleware::from_fn(caching::cache_reads))
        .route_layer(middleware::from_fn(log_request))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(max_body, limit_body))
}
