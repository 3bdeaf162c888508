//! The gitapi server: the composition root. It validates the configuration, builds both
//! engines, the engine switch and the service, mounts the doors (REST, `gitapi-rest`, and Git's
//! Smart HTTP, `gitapi-smarthttp`, and beside them on the same port the gRPC door,
//! `gitapi-grpc`) and serves them; the `gitapi` binary's library half.
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

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use gitapi_core::ClonePolicy;
use gitapi_service::RepoService;

pub mod config;
mod http;
mod index;

pub use config::{Config, ConfigError, EngineKind, Flags, MetricsAccess};
pub use gitapi_rest::{ApiError, AppState, openapi};
pub use http::{HttpLimits, TlsAcceptor, TlsFiles, serve_tls_with, serve_with, tls_acceptor};

/// Every door over one service: REST (`/v1`, `/openapi.json`, the API explorer at `/docs`,
/// `/healthz`, `/readyz`, and the index at `/` linking them), GraphQL
/// (`/graphql`, `/graphql/subscribe`, and the playground page at `/graphql/playground`) and
/// Git's Smart HTTP (`/{repo}.git/info/refs`, `/{repo}.git/git-upload-pack`,
/// `/{repo}.git/git-receive-pack`).
pub fn app(svc: RepoService) -> Router {
    app_with(svc, MetricsAccess::default())
}

/// [`app`], with `GET /metrics` served as `metrics` says. Each door's router notes its door
/// and route template for the request metrics ([`gitapi_telemetry::instrument_door`]).
pub fn app_with(svc: RepoService, metrics: MetricsAccess) -> Router {
    use gitapi_telemetry::instrument_door;
    instrument_door(gitapi_smarthttp::routes(svc.clone()), |_, _| "smart_http")
        .merge(instrument_door(
            gitapi_graphql::routes(svc.clone()),
            |route, headers| {
                if route == "/graphql/subscribe" || is_live(headers) {
                    "stream"
                } else {
                    "graphql"
                }
            },
        ))
        .merge(instrument_door(
            gitapi_playground::routes(),
            |_, _| "graphql",
        ))
        .merge(instrument_door(
            metrics_routes(svc.clone(), metrics),
            |_, _| "metrics",
        ))
        .merge(instrument_door(index::routes(), |_, _| "rest"))
        .merge(instrument_door(gitapi_rest::app(svc), |route, headers| {
            if route.ends_with("/events") || route.ends_with("/live") || is_live(headers) {
                "stream"
            } else {
                "rest"
            }
        }))
}

/// Whether a request asks for a live stream: a WebSocket upgrade or server-sent events.
fn is_live(headers: &axum::http::HeaderMap) -> bool {
    let has = |name, value: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains(value))
    };
    has(axum::http::header::UPGRADE, "websocket")
        || has(axum::http::header::ACCEPT, "text/event-stream")
}

/// `GET /metrics`: the Prometheus text exposition of every metric in
/// [`gitapi_telemetry::names`].
fn metrics_routes(svc: RepoService, access: MetricsAccess) -> Router {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    if access == MetricsAccess::Off {
        return Router::new();
    }
    // Installs the recorder if nothing did yet, so the first scrape already has build info.
    let _ = gitapi_telemetry::metrics::prometheus();
    let handler = move |headers: axum::http::HeaderMap| async move {
        if access == MetricsAccess::Admin {
            let auth = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
            if let Err(e) = svc
                .authenticate(auth)
                .and_then(|who| who.require_server_admin())
            {
                return ApiError::from(e).into_response();
            }
        }
        (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            gitapi_telemetry::metrics::render(),
        )
            .into_response()
    };
    Router::new().route("/metrics", axum::routing::get(handler))
}

/// Every door on one port, as [`run`] serves them: [`app_with`] and, beside it, the gRPC door
/// (requests with `content-type: application/grpc…` go to it), all under the request ids,
/// spans and metrics of [`gitapi_telemetry::instrument`]. The gRPC door is returned too, to
/// be drained at shutdown.
pub async fn compose(svc: RepoService, metrics: MetricsAccess) -> (Router, gitapi_grpc::GrpcDoor) {
    let grpc = gitapi_grpc::GrpcDoor::new(svc.clone()).await;
    let router =
        gitapi_telemetry::instrument(grpc.mount(app_with(svc, metrics)), gitapi_grpc::is_grpc);
    (router, grpc)
}

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The `[tls]` certificate or key could not be read or used.
    #[error("loading the TLS certificate and key failed")]
    Tls {
        /// Why (the file is named in it).
        #[source]
        source: std::io::Error,
    },
    /// The answer cache could not be opened.
    #[error("opening the answer cache failed")]
    Cache {
        /// Why.
        #[source]
        source: gitapi_cache::CacheError,
    },
    /// The data directory could not be created.
    #[error("creating the data directory {path:?} failed")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the data directory's lock, or it could not be taken.
    #[error("locking the data directory {path:?} failed")]
    DataDirLock {
        /// The directory.
        path: std::path::PathBuf,
        /// Why (`WouldBlock`: another gitapi process serves it).
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

/// Opens the configured engine and the service over it, with a memory-only answer cache of
/// the configured size ([`open_service`] opens every configured level).
pub fn build_service(config: &Config) -> RepoService {
    build_service_with(
        config,
        gitapi_cache::Cache::memory(config.cache.memory_bytes),
    )
}

/// Opens the configured cache levels (the store under the data directory, Redis) and the
/// service over them. A store that another process holds or that cannot be made stops the
/// start; an unreadable one is rebuilt (with a log line).
pub async fn open_service(config: &Config) -> Result<RepoService, ServeError> {
    let cache = gitapi_cache::Cache::open(
        config
            .cache
            .cache_config(&config.service.data_dir, config.node.as_deref()),
    )
    .await
    .map_err(|source| ServeError::Cache { source })?;
    Ok(build_service_with(config, cache))
}

fn build_service_with(config: &Config, cache: gitapi_cache::Cache) -> RepoService {
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
    RepoService::builder(config.service.clone(), Arc::new(switch))
        .cache(cache)
        .build()
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

/// The data directory, owned by this process: locked against a second gitapi, and cleared of
/// what a process that died in it left (its git processes, lock files, scratch directories).
#[derive(Debug)]
pub struct DataDir {
    lock: gitapi_storage::recover::DataDirLock,
}

impl DataDir {
    /// Creates the configured data directory if needed, takes its lock, stops the git
    /// processes a dead gitapi left running and sweeps what they and it left; each removal is
    /// a log line.
    pub fn open(config: &Config) -> Result<Self, ServeError> {
        let data = &config.service.data_dir;
        std::fs::create_dir_all(data).map_err(|source| ServeError::DataDir {
            path: data.clone(),
            source,
        })?;
        let lock = match &config.node {
            Some(node) => gitapi_storage::recover::DataDirLock::acquire_node(data, node),
            None => gitapi_storage::recover::DataDirLock::acquire(data),
        }
        .map_err(|source| ServeError::DataDirLock {
            path: data.clone(),
            source,
        })?;
        if let Some(node) = &config.node {
            // Another node may be writing right now: its lock files and scratch directories
            // are not leftovers, and its git processes are not orphans.
            tracing::info!(
                node,
                "serving as one node of several on this data directory: no recovery sweep"
            );
            return Ok(Self { lock });
        }
        if lock.unclean() {
            tracing::warn!(
                data_dir = %data.display(),
                "the previous gitapi process in this data directory did not stop cleanly: recovering"
            );
        }
        for pid in gitapi_gitcmd::reap_orphans() {
            tracing::warn!(
                pid,
                "recovery: stopped a git process left by a dead gitapi process"
            );
        }
        let layout = gitapi_core::Layout::new(data.clone());
        let swept = gitapi_storage::recover::sweep(&layout, lock.unclean());
        for path in &swept.removed {
            tracing::warn!(path = %path.display(), "recovery: removed a leftover of a dead process");
        }
        for (path, error) in &swept.failed {
            tracing::error!(path = %path.display(), %error, "recovery: could not remove a leftover");
        }
        Ok(Self { lock })
    }

    /// Records a clean stop and releases the directory.
    fn close(self) {
        if let Err(error) = self.lock.release_clean() {
            tracing::error!(%error, "recording a clean stop in the data directory's lock file");
        }
    }
}

/// Serves `config` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish. HTTP/1.1 and HTTP/2 (h2c, prior knowledge) share the port. With a `source`, the
/// configuration is read again on SIGHUP and when its file changes. Opens the data directory
/// first ([`DataDir::open`]); [`run_in`] serves one opened already.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    source: Option<ConfigSource>,
) -> Result<(), ServeError> {
    let dir = DataDir::open(&config)?;
    run_in(dir, config, listener, shutdown, source).await
}

/// [`run`] on a data directory this process has opened.
pub async fn run_in(
    dir: DataDir,
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    source: Option<ConfigSource>,
) -> Result<(), ServeError> {
    let data = &config.service.data_dir;
    // A certificate that cannot be used stops the start, before anything is served.
    let tls = config
        .tls
        .as_ref()
        .map(tls_acceptor)
        .transpose()
        .map_err(|source| ServeError::Tls { source })?;
    let svc = open_service(&config).await?;
    svc.join_cluster();
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
        tls = tls.is_some(),
        "serving"
    );
    if let Some(source) = source {
        spawn_reloader(svc.clone(), source);
    }
    let (router, grpc) = compose(svc.clone(), config.metrics).await;
    let cache_owner = svc.clone();
    let shutdown = async move {
        shutdown.await;
        // Event streams of every door end, so idle subscribers do not hold up the drain.
        svc.close_streams();
        // Health answers NOT_SERVING while in-flight requests drain.
        grpc.drain().await;
    };
    let served = serve_tls_with(listener, router, shutdown, config.http, tls)
        .await
        .map_err(ServeError::from);
    // What the cache's store and Redis queues still hold is written before the process ends.
    cache_owner.flush_cache().await;
    // Only a stop that let in-flight requests finish is clean.
    if served.is_ok() {
        dir.close();
    }
    served
}

/// Serves an application on a listener until `shutdown` completes (in-flight requests finish),
/// under the default [`HttpLimits`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    Ok(serve_with(listener, app, shutdown, HttpLimits::default()).await?)
}
