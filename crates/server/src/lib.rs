//! The gitapi server: configuration, the REST door and the `gitapi` binary's library half.
//!
//! Order of operations: [`Config::load`] validates the file, environment and flags;
//! [`build_service`] opens both engines behind the engine switch and the [`RepoService`]; [`app`] builds the router (every
//! route under `/v1`, `/openapi.json`, `/healthz`, `/readyz`); [`run`] serves it on a listener
//! until a shutdown future completes, letting in-flight requests finish.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use gitapi_server::{Config, Flags, run};
//! let config = Config::load(None, &Default::default(), &Flags::default())?;
//! let listener = tokio::net::TcpListener::bind(config.listen).await?;
//! let stop = async { let _ = tokio::signal::ctrl_c().await; };
//! run(config, listener, stop, None).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{OpenApi as _, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use gitapi_core::{ClonePolicy, Error, ErrorKind};
use gitapi_service::RepoService;

pub mod config;
pub mod error;
pub mod extract;
mod rest;
pub mod state;

pub use config::{Config, ConfigError, EngineKind, Flags};
pub use error::ApiError;
use error::ErrorBody;
pub use state::AppState;

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data directory could not be created.
    #[error("creating the data directory {path:?} failed")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("serving failed")]
    Io(#[from] std::io::Error),
    /// The config file could not be read.
    #[error("reading config file {path:?} failed")]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The configuration is not valid.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
}

/// Opens the configured engine and the service over it.
pub fn build_service(config: &Config) -> RepoService {
    let policy = ClonePolicy {
        allow_local: config.service.allow_local_clone,
    };
    let mut git2 = gitapi_git2::Config::new(config.service.data_dir.clone());
    git2.clone_policy = policy;
    git2.max_blocking = config.max_blocking;
    let mut shell = gitapi_shell::Config::new(config.service.data_dir.clone());
    shell.clone_policy = policy;
    shell.max_blocking = config.max_blocking;
    // Both engines exist for the life of the process, so switching is a pointer swap and the
    // canary can ask the other engine at any time.
    let switch = gitapi_switch::EngineSwitch::new(
        Arc::new(gitapi_git2::Git2Backend::new(git2)),
        Arc::new(gitapi_shell::ShellBackend::new(shell)),
        config.engine,
        config.canary,
    );
    RepoService::new(config.service.clone(), Arc::new(switch))
}

/// Applies what can change while serving (the engine and the canary) from a configuration read
/// again; everything else needs a restart and is reported in the log.
pub fn apply_reloaded(svc: &RepoService, config: &Config) {
    let operator = gitapi_service::CallContext::operator();
    match svc.set_backend(&operator, Some(config.engine), Some(config.canary)) {
        Ok(status) => tracing::info!(
            engine = status.backend.as_str(),
            "config reloaded: engine and canary applied"
        ),
        Err(e) => tracing::error!(error = %e, "config reloaded: canary settings refused"),
    }
}

/// Where the configuration comes from, so it can be read again while serving.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    /// The config file, if any.
    pub file: Option<PathBuf>,
    /// The environment at start.
    pub env: HashMap<String, String>,
    /// The command-line flags.
    pub flags: Flags,
}

impl ConfigSource {
    /// Reads and validates the configuration.
    pub fn load(&self) -> Result<Config, ServeError> {
        let text =
            match &self.file {
                Some(path) => Some(std::fs::read_to_string(path).map_err(|source| {
                    ServeError::ConfigFile {
                        path: path.clone(),
                        source,
                    }
                })?),
                None => None,
            };
        Ok(Config::load(text.as_deref(), &self.env, &self.flags)?)
    }

    fn modified(&self) -> Option<std::time::SystemTime> {
        let path = self.file.as_ref()?;
        std::fs::metadata(path).and_then(|m| m.modified()).ok()
    }
}

/// Re-reads the configuration on SIGHUP and when the file changes (checked every second), and
/// applies the engine and canary settings. A file that does not load is logged and ignored:
/// the server keeps its running configuration.
fn spawn_reloader(svc: RepoService, source: ConfigSource) {
    tokio::spawn(async move {
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut seen = source.modified();
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            let hup_fired = async {
                match hup.as_mut() {
                    Some(h) => h.recv().await.is_some(),
                    None => std::future::pending().await,
                }
            };
            let why = tokio::select! {
                true = hup_fired => "SIGHUP",
                _ = tick.tick() => {
                    let now = source.modified();
                    if now == seen {
                        continue;
                    }
                    seen = now;
                    "config file changed"
                }
            };
            match source.load() {
                Ok(config) => {
                    tracing::info!(reason = why, "reloading configuration");
                    apply_reloaded(&svc, &config);
                }
                Err(e) => tracing::error!(reason = why, error = %e, "config not reloaded"),
            }
        }
    });
}

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
        .merge(rest::routes())
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
    // Rendered once: the document is the same for the life of the process.
    let openapi = finish_openapi(doc)
        .to_json()
        .map(bytes::Bytes::from)
        .unwrap_or_default();
    let state = AppState {
        svc,
        openapi: Arc::new(openapi),
    };
    api.with_state(state)
        // A route layer runs after routing, so it sees the route template.
        .route_layer(middleware::from_fn(log_request))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(max_body, limit_body))
}

/// Serves `config` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish. HTTP/1.1 and HTTP/2 (h2c, prior knowledge) share the port. With a `source`, the
/// configuration is read again on SIGHUP and when its file changes.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    source: Option<ConfigSource>,
) -> Result<(), ServeError> {
    let data = &config.service.data_dir;
    std::fs::create_dir_all(data).map_err(|source| ServeError::DataDir {
        path: data.clone(),
        source,
    })?;
    let svc = build_service(&config);
    if svc.is_open() {
        tracing::warn!(
            "no token is configured: open local mode, every caller may do everything; \
             configure [[tokens]] before exposing this server"
        );
    }
    tracing::info!(
        engine = config.engine.as_str(),
        data_dir = %data.display(),
        addr = %listener.local_addr()?,
        "serving"
    );
    if let Some(source) = source {
        spawn_reloader(svc.clone(), source);
    }
    serve(listener, app(svc), shutdown).await
}

/// Serves an application on a listener until `shutdown` completes (in-flight requests finish).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
