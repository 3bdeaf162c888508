//! The server's configuration: a versioned TOML file, environment overrides and command-line
//! flags, validated into a typed [`Config`] before anything starts.
//!
//! Precedence, lowest first: embedded defaults, the file, the environment, the flags.
//!
//! ```toml
//! version = 1
//!
//! [server]
//! listen = "127.0.0.1:8080"
//! data_dir = "./gitapi-data"
//! engine = "libgit2"          # or "shell"; re-read on SIGHUP and when the file changes
//! canary_fraction = 0.01      # share of requests the canary samples
//! canary_mode = "shadow"      # shadow: reads also run on the other engine; route: run there instead
//! allow_local_clone = false
//! # node = "a"               # one of several nodes on this data directory (needs [cache] redis_url)
//!
//! [limits]
//! max_body_bytes = 33554432
//! max_blob_bytes = 16777216
//! deadline_secs = 30
//! max_actions = 10000          # file actions in one commit (413 above)
//! max_rebase_steps = 1000      # commits one rebase replays (413 above)
//! slow_client_secs = 10       # a live stream's client that takes no message this long is dropped
//!
//! [events]
//! replay = 1024               # events kept for subscribers that resume with Last-Event-ID
//! heartbeat_secs = 15         # an idle event stream's heartbeat
//!
//! [cache]
//! memory_bytes = 268435456    # answers kept in memory (0: off)
//! store = true                # the persistent store, <data_dir>/state/cache.redb by default
//! store_bytes = 1073741824
//! # redis_url = "redis://127.0.0.1:6379"   # shared by several nodes; carries ref versions
//!
//! [telemetry]
//! log_format = "text"         # or "json": one object per line, with the request's span
//! metrics = "admin"           # GET /metrics: "admin" (open when no token is configured), "open", "off"
//! # otlp_endpoint = "http://127.0.0.1:4317"   # export traces over OTLP/gRPC
//! # service_name = "gitapi"
//!
//! [[tokens]]
//! name = "ci"
//! token = "a-long-random-secret-string"
//! scopes = ["read", "write"]
//! repos = ["team-*"]
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use gitapi_service::{Limits, RepoPattern, Scope, ServiceConfig, TokenGrant};
use gitapi_switch::{CanaryConfig, CanaryMode};

impl ConfigError {
    /// A parse error with its position and a message that cannot carry a secret: the
    /// parser's own rendering quotes the offending line, and serde's messages quote the value
    /// (`invalid type: string "..."`), either of which may be a token.
    fn parse(text: &str, e: &toml::de::Error) -> Self {
        let (line, column) = match e.span() {
            Some(span) => {
                let before = &text.as_bytes()[..span.start.min(text.len())];
                let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
                let start = before
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                (line, before.len() - start + 1)
            }
            None => (0, 0),
        };
        Self::Parse {
            line,
            column,
            message: mask_quoted(e.message()),
        }
    }
}

/// `text` with everything between double quotes replaced by `…`, and cut to its first line.
fn mask_quoted(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut out = String::with_capacity(first.len());
    let mut quoted = false;
    for c in first.chars() {
        if c == '"' {
            if !quoted {
                out.push_str("\"…");
            } else {
                out.push('"');
            }
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

/// The only config file version this build reads.
pub const CONFIG_VERSION: u32 = 1;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file is not valid TOML of the expected shape. Says where, never what is written
    /// there: the line may hold a token.
    #[error("config file is not valid at line {line}, column {column}: {message}")]
    Parse {
        /// 1-based line of the error (0 if the parser gave no position).
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message with every quoted value masked.
        message: String,
    },
    /// The file has another version.
    #[error("config version {found} is not supported (this build reads version {CONFIG_VERSION})")]
    Version {
        /// The version in the file.
        found: u32,
    },
    /// A value is not valid.
    #[error("{key} = {value:?} is not valid: {why}")]
    Invalid {
        /// Where the value came from (a file key, an environment variable or a flag).
        key: String,
        /// The value.
        value: String,
        /// Why.
        why: String,
    },
}

fn invalid(key: &str, value: impl Into<String>, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        value: value.into(),
        why: why.into(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    version: u32,
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    limits: LimitsSection,
    #[serde(default)]
    events: EventsSection,
    #[serde(default)]
    http: HttpSection,
    #[serde(default)]
    tls: TlsSection,
    #[serde(default)]
    telemetry: TelemetrySection,
    #[serde(default)]
    cache: CacheSection,
    #[serde(default)]
    tokens: Vec<TokenSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheSection {
    memory_bytes: Option<u64>,
    store: Option<bool>,
    store_path: Option<PathBuf>,
    store_bytes: Option<u64>,
    redis_url: Option<String>,
    redis_ttl_secs: Option<u64>,
    redis_prefix: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TelemetrySection {
    log_format: Option<String>,
    otlp_endpoint: Option<String>,
    service_name: Option<String>,
    metrics: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpSection {
    header_read_timeout_secs: Option<u64>,
    body_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    max_connections_per_client: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsSection {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsSection {
    replay: Option<usize>,
    heartbeat_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    engine: Option<String>,
    canary_fraction: Option<f64>,
    canary_mode: Option<String>,
    allow_local_clone: Option<bool>,
    max_blocking: Option<usize>,
    node: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    max_body_bytes: Option<usize>,
    max_blob_bytes: Option<usize>,
    deadline_secs: Option<u64>,
    max_log_page: Option<usize>,
    maintenance_deadline_secs: Option<u64>,
    transfer_deadline_secs: Option<u64>,
    max_push_bytes: Option<u64>,
    max_transfers: Option<usize>,
    max_transfers_per_repo: Option<usize>,
    transfer_queue: Option<usize>,
    push_options: Option<bool>,
    slow_client_secs: Option<u64>,
    max_actions: Option<usize>,
    max_rebase_steps: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenSection {
    name: String,
    token: String,
    scopes: Vec<String>,
    repos: Vec<String>,
}

pub use gitapi_switch::EngineKind;

fn parse_engine(key: &str, s: &str) -> Result<EngineKind, ConfigError> {
    s.parse()
        .map_err(|_| invalid(key, s, "expected libgit2 or shell"))
}

fn parse_canary_mode(key: &str, s: &str) -> Result<CanaryMode, ConfigError> {
    match s {
        "shadow" => Ok(CanaryMode::Shadow),
        "route" => Ok(CanaryMode::Route),
        _ => Err(invalid(key, s, "expected shadow or route")),
    }
}

fn parse_fraction(key: &str, s: &str) -> Result<f64, ConfigError> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(invalid(key, s, "expected a number from 0 to 1")),
    }
}

/// Values given on the command line; they win over the file and the environment.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--data`.
    pub data_dir: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<String>,
    /// `--allow-local-clone`.
    pub allow_local_clone: bool,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The engine serving new requests (switchable at run time).
    pub engine: EngineKind,
    /// The canary comparing the engines on live traffic.
    pub canary: CanaryConfig,
    /// Blocking engine calls at once.
    pub max_blocking: usize,
    /// What the service needs (data directory, tokens, limits, clone policy).
    pub service: ServiceConfig,
    /// Connection limits and timeouts of the listener.
    pub http: crate::HttpLimits,
    /// TLS on the listener (`[tls]`), for every door; plain HTTP when `None`.
    pub tls: Option<crate::TlsFiles>,
    /// Log format and trace export (`[telemetry]`); read once, at start.
    pub telemetry: gitapi_telemetry::TelemetryConfig,
    /// Who may read `GET /metrics`.
    pub metrics: MetricsAccess,
    /// The answer cache's levels (`[cache]`).
    pub cache: CacheSettings,
    /// This node's name when several nodes share the data directory (`[server] node`, which
    /// needs `[cache] redis_url`): each takes its own lock, none sweeps the others' files.
    pub node: Option<String>,
}

/// The answer cache's levels (`[cache]`); sizes in bytes, 0 or `false` turns a level off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSettings {
    /// The memory level.
    pub memory_bytes: u64,
    /// Whether the persistent store is on.
    pub store: bool,
    /// The store's file; `<data_dir>/state/cache.redb` when `None`.
    pub store_path: Option<PathBuf>,
    /// The store's size bound.
    pub store_bytes: u64,
    /// Redis, shared by the nodes of one deployment: its URL, entries' lifetime and key prefix.
    pub redis: Option<gitapi_cache::RedisConfig>,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            memory_bytes: 256 << 20,
            store: true,
            store_path: None,
            store_bytes: 1 << 30,
            redis: None,
        }
    }
}

impl CacheSettings {
    /// The cache configuration for a server (node `node`, when several share it) on
    /// `data_dir`. Each node has its own store file: a store is one process's.
    pub fn cache_config(
        &self,
        data_dir: &std::path::Path,
        node: Option<&str>,
    ) -> gitapi_cache::CacheConfig {
        let file = match node {
            Some(node) => format!("cache-{node}.redb"),
            None => "cache.redb".to_owned(),
        };
        gitapi_cache::CacheConfig {
            memory_bytes: self.memory_bytes,
            store: self.store.then(|| gitapi_cache::StoreConfig {
                path: self
                    .store_path
                    .clone()
                    .unwrap_or_else(|| data_dir.join("state").join(file)),
                max_bytes: self.store_bytes,
            }),
            redis: self.redis.clone(),
        }
    }
}

/// Who may read `GET /metrics` (`[telemetry] metrics`). Its labels hold no repository names,
/// but operation counts and latencies still tell a stranger what the server does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricsAccess {
    /// Anyone when no token is configured; a token with the admin scope otherwise.
    #[default]
    Admin,
    /// Anyone (a scraper on a private network without credentials).
    Open,
    /// Nobody: the route answers 404.
    Off,
}

impl Config {
    /// The embedded defaults: `./gitapi-data`, `127.0.0.1:8080`, libgit2, open local mode.
    pub fn defaults() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            engine: EngineKind::Libgit2,
            canary: CanaryConfig::default(),
            max_blocking: 64,
            service: ServiceConfig::new("./gitapi-data"),
            http: crate::HttpLimits::default(),
            tls: None,
            telemetry: gitapi_telemetry::TelemetryConfig::default(),
            metrics: MetricsAccess::default(),
            cache: CacheSettings::default(),
            node: None,
        }
    }

    /// Builds a configuration from an optional file's text, the environment (passed in, so
    /// tests need not touch the process's) and flags.
    ///
    /// Environment variables: `GITAPI_DATA_DIR`, `GITAPI_LISTEN`, `GITAPI_ALLOW_LOCAL_CLONE`,
    /// `GITAPI_MAX_BODY_BYTES`, `GITAPI_MAX_BLOB_BYTES`, `GITAPI_DEADLINE_SECS`,
    /// `GITAPI_MAX_LOG_PAGE`, `GITAPI_MAX_BLOCKING`, `GITAPI_CANARY_FRACTION`, `GITAPI_CANARY_MODE`
    /// and `GIT_BACKEND` (`libgit2` or `shell`).
    pub fn load(
        file: Option<&str>,
        env: &HashMap<String, String>,
        flags: &Flags,
    ) -> Result<Self, ConfigError> {
        let file: FileConfig = match file {
            Some(text) => {
                let f: FileConfig =
                    toml::from_str(text).map_err(|e| ConfigError::parse(text, &e))?;
                if f.version != CONFIG_VERSION {
                    return Err(ConfigError::Version { found: f.version });
                }
                f
            }
            None => FileConfig {
                version: CONFIG_VERSION,
                ..FileConfig::default()
            },
        };
        let mut c = Self::defaults();
        let limits = &mut c.service.limits;

        // The file.
        if let Some(l) = &file.server.listen {
            c.listen = parse_addr("server.listen", l)?;
        }
        if let Some(d) = &file.server.data_dir {
            c.service.data_dir = d.clone();
        }
        if let Some(e) = &file.server.engine {
            c.engine = parse_engine("server.engine", e)?;
        }
        if let Some(f) = file.server.canary_fraction {
            c.canary.fraction = parse_fraction("server.canary_fraction", &f.to_string())?;
        }
        if let Some(m) = &file.server.canary_mode {
            c.canary.mode = parse_canary_mode("server.canary_mode", m)?;
        }
        if let Some(a) = file.server.allow_local_clone {
            c.service.allow_local_clone = a;
        }
        if let Some(n) = file.server.max_blocking {
            c.max_blocking = n;
        }
        apply_limits(limits, &file.limits);
        if let Some(n) = file.events.replay {
            c.service.event_capacity = n;
        }
        if let Some(s) = file.events.heartbeat_secs {
            c.service.event_heartbeat = Duration::from_secs(s);
        }
        match (&file.tls.cert_file, &file.tls.key_file) {
            (Some(cert_file), Some(key_file)) => {
                c.tls = Some(crate::TlsFiles {
                    cert_file: cert_file.clone(),
                    key_file: key_file.clone(),
                });
            }
            (None, None) => {}
            (Some(_), None) | (None, Some(_)) => {
                return Err(invalid(
                    "tls",
                    "",
                    "cert_file and key_file are given together or not at all",
                ));
            }
        }
        if let Some(s) = file.http.header_read_timeout_secs {
            c.http.header_read_timeout = Duration::from_secs(s);
        }
        if let Some(s) = file.http.body_timeout_secs {
            c.http.body_timeout = Duration::from_secs(s);
        }
        if let Some(n) = file.http.max_connections {
            c.http.max_connections = n;
        }
        if let Some(n) = file.http.max_connections_per_client {
            c.http.max_connections_per_client = n;
        }
        for t in &file.tokens {
            c.service.tokens.push(token(t)?);
        }
        apply_telemetry(&mut c, &file.telemetry)?;
        apply_cache(&mut c.cache, &file.cache)?;
        if let Some(node) = &file.server.node {
            if node.is_empty()
                || node.len() > 64
                || !node
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(invalid(
                    "server.node",
                    node,
                    "expected 1 to 64 letters, digits, '-' or '_'",
                ));
            }
            if c.cache.redis.is_none() {
                return Err(invalid(
                    "server.node",
                    node,
                    "nodes sharing a data directory need [cache] redis_url to share ref versions and events",
                ));
            }
            c.node = Some(node.clone());
        }

        // The environment.
        let get = |k: &str| env.get(k).map(String::as_str);
        if let Some(v) = get("GITAPI_DATA_DIR") {
            c.service.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("GITAPI_LISTEN") {
            c.listen = parse_addr("GITAPI_LISTEN", v)?;
        }
        if let Some(v) = get("GIT_BACKEND") {
            c.engine = parse_engine("GIT_BACKEND", v)?;
        }
        if let Some(v) = get("GITAPI_CANARY_FRACTION") {
            c.canary.fraction = parse_fraction("GITAPI_CANARY_FRACTION", v)?;
        }
        if let Some(v) = get("GITAPI_CANARY_MODE") {
            c.canary.mode = parse_canary_mode("GITAPI_CANARY_MODE", v)?;
        }
        if let Some(v) = get("GITAPI_ALLOW_LOCAL_CLONE") {
            c.service.allow_local_clone = parse_bool("GITAPI_ALLOW_LOCAL_CLONE", v)?;
        }
        let limits = &mut c.service.limits;
        if let Some(v) = get("GITAPI_MAX_BODY_BYTES") {
            limits.max_body_bytes = parse_num("GITAPI_MAX_BODY_BYTES", v)?;
        }
        if let Some(v) = get("GITAPI_MAX_BLOB_BYTES") {
            limits.max_blob_bytes = parse_num("GITAPI_MAX_BLOB_BYTES", v)?;
        }
        if let Some(v) = get("GITAPI_DEADLINE_SECS") {
            limits.deadline = Duration::from_secs(parse_num("GITAPI_DEADLINE_SECS", v)?);
        }
        if let Some(v) = get("GITAPI_MAX_LOG_PAGE") {
            limits.max_log_page = parse_num("GITAPI_MAX_LOG_PAGE", v)?;
        }
        if let Some(v) = get("GITAPI_MAX_BLOCKING") {
            c.max_blocking = parse_num("GITAPI_MAX_BLOCKING", v)?;
        }

        // The flags.
        if let Some(d) = &flags.data_dir {
            c.service.data_dir = d.clone();
        }
        if let Some(l) = &flags.listen {
            c.listen = parse_addr("--listen", l)?;
        }
        if flags.allow_local_clone {
            c.service.allow_local_clone = true;
        }
        c.validate()?;
        Ok(c)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.service.limits;
        if l.max_body_bytes < 1024 {
            return Err(invalid(
                "max_body_bytes",
                l.max_body_bytes.to_string(),
                "below 1024",
            ));
        }
        if l.max_blob_bytes == 0 || l.max_blob_bytes > l.max_body_bytes {
            return Err(invalid(
                "max_blob_bytes",
                l.max_blob_bytes.to_string(),
                "must be above 0 and at most max_body_bytes",
            ));
        }
        if l.deadline.is_zero() {
            return Err(invalid("deadline_secs", "0", "must be above 0"));
        }
        for (key, d) in [
            ("maintenance_deadline_secs", l.maintenance_deadline),
            ("transfer_deadline_secs", l.transfer_deadline),
            ("slow_client_secs", l.slow_client),
            ("events.heartbeat_secs", self.service.event_heartbeat),
            (
                "http.header_read_timeout_secs",
                self.http.header_read_timeout,
            ),
            ("http.body_timeout_secs", self.http.body_timeout),
        ] {
            if d.is_zero() {
                return Err(invalid(key, "0", "must be above 0"));
            }
        }
        for (key, n) in [
            ("max_transfers", l.max_transfers),
            ("max_transfers_per_repo", l.max_transfers_per_repo),
            ("events.replay", self.service.event_capacity),
            ("max_actions", l.max_actions),
            ("max_rebase_steps", l.max_rebase_steps),
            ("http.max_connections", self.http.max_connections),
            (
                "http.max_connections_per_client",
                self.http.max_connections_per_client,
            ),
        ] {
            if n == 0 {
                return Err(invalid(key, "0", "must be above 0"));
            }
        }
        if l.max_push_bytes == 0 {
            return Err(invalid("max_push_bytes", "0", "must be above 0"));
        }
        if l.max_log_page == 0 || l.max_log_page > 10_000 {
            return Err(invalid(
                "max_log_page",
                l.max_log_page.to_string(),
                "must be 1 to 10000",
            ));
        }
        if self.max_blocking == 0 {
            return Err(invalid("max_blocking", "0", "must be above 0"));
        }
        if self.service.data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "", "must not be empty"));
        }
        let mut names: Vec<&str> = self
            .service
            .tokens
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(invalid("tokens.name", w[0], "names must be unique"));
        }
        Ok(())
    }
}

fn apply_cache(c: &mut CacheSettings, s: &CacheSection) -> Result<(), ConfigError> {
    if let Some(n) = s.memory_bytes {
        c.memory_bytes = n;
    }
    if let Some(b) = s.store {
        c.store = b;
    }
    if let Some(p) = &s.store_path {
        c.store_path = Some(p.clone());
    }
    if let Some(n) = s.store_bytes {
        c.store_bytes = n;
    }
    match &s.redis_url {
        Some(url) => {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(invalid("cache.redis_url", url, "expected a redis:// URL"));
            }
            let mut redis = gitapi_cache::RedisConfig::new(url.clone());
            if let Some(t) = s.redis_ttl_secs {
                if t == 0 {
                    return Err(invalid("cache.redis_ttl_secs", "0", "must be above 0"));
                }
                redis.ttl = Duration::from_secs(t);
            }
            if let Some(p) = &s.redis_prefix {
                redis.prefix = p.clone();
            }
            c.redis = Some(redis);
        }
        None if s.redis_ttl_secs.is_some() || s.redis_prefix.is_some() => {
            return Err(invalid(
                "cache.redis_url",
                "",
                "redis_ttl_secs and redis_prefix need redis_url",
            ));
        }
        None => {}
    }
    Ok(())
}

fn apply_telemetry(c: &mut Config, s: &TelemetrySection) -> Result<(), ConfigError> {
    use gitapi_telemetry::{LogFormat, OtlpConfig};
    if let Some(f) = &s.log_format {
        c.telemetry.log_format = match f.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return Err(invalid("telemetry.log_format", f, "expected text or json")),
        };
    }
    if let Some(m) = &s.metrics {
        c.metrics = match m.as_str() {
            "admin" => MetricsAccess::Admin,
            "open" => MetricsAccess::Open,
            "off" => MetricsAccess::Off,
            _ => {
                return Err(invalid(
                    "telemetry.metrics",
                    m,
                    "expected admin, open or off",
                ));
            }
        };
    }
    let service_name = s
        .service_name
        .clone()
        .unwrap_or_else(|| "gitapi".to_owned());
    match &s.otlp_endpoint {
        Some(endpoint) => {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                return Err(invalid(
                    "telemetry.otlp_endpoint",
                    endpoint,
                    "expected an http:// or https:// URL of an OTLP/gRPC collector",
                ));
            }
            c.telemetry.otlp = Some(OtlpConfig {
                endpoint: endpoint.clone(),
                service_name,
            });
        }
        None if s.service_name.is_some() => {
            return Err(invalid(
                "telemetry.service_name",
                service_name,
                "only used with otlp_endpoint",
            ));
        }
        None => {}
    }
    Ok(())
}

fn apply_limits(limits: &mut Limits, s: &LimitsSection) {
    if let Some(v) = s.max_body_bytes {
        limits.max_body_bytes = v;
    }
    if let Some(v) = s.max_actions {
        limits.max_actions = v;
    }
    if let Some(v) = s.max_rebase_steps {
        limits.max_rebase_steps = v;
    }
    if let Some(v) = s.max_blob_bytes {
        limits.max_blob_bytes = v;
    }
    if let Some(v) = s.deadline_secs {
        limits.deadline = Duration::from_secs(v);
    }
    if let Some(v) = s.max_log_page {
        limits.max_log_page = v;
    }
    if let Some(v) = s.maintenance_deadline_secs {
        limits.maintenance_deadline = Duration::from_secs(v);
    }
    if let Some(v) = s.transfer_deadline_secs {
        limits.transfer_deadline = Duration::from_secs(v);
    }
    if let Some(v) = s.max_push_bytes {
        limits.max_push_bytes = v;
    }
    if let Some(v) = s.max_transfers {
        limits.max_transfers = v;
    }
    if let Some(v) = s.max_transfers_per_repo {
        limits.max_transfers_per_repo = v;
    }
    if let Some(v) = s.transfer_queue {
        limits.transfer_queue = v;
    }
    if let Some(v) = s.push_options {
        limits.push_options = v;
    }
    if let Some(v) = s.slow_client_secs {
        limits.slow_client = Duration::from_secs(v);
    }
}

fn token(t: &TokenSection) -> Result<TokenGrant, ConfigError> {
    let key = format!("tokens[{:?}]", t.name);
    let mut scope = None;
    for s in &t.scopes {
        let parsed = Scope::parse(s).map_err(|e| invalid(&key, s.clone(), e.message()))?;
        scope = scope.max(Some(parsed));
    }
    let scope = scope.ok_or_else(|| invalid(&key, "", "a token needs at least one scope"))?;
    let repos = t
        .repos
        .iter()
        .map(|p| RepoPattern::new(p).map_err(|e| invalid(&key, p.clone(), e.message())))
        .collect::<Result<Vec<_>, _>>()?;
    // The secret never goes into an error message.
    TokenGrant::new(&t.name, &t.token, scope, repos)
        .map_err(|e| invalid(&key, "<secret>", e.message()))
}

fn parse_addr(key: &str, v: &str) -> Result<SocketAddr, ConfigError> {
    v.parse()
        .map_err(|_| invalid(key, v, "expected an address such as 127.0.0.1:8080"))
}

fn parse_bool(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(invalid(key, v, "expected true or false")),
    }
}

fn parse_num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, ConfigError> {
    v.parse().map_err(|_| invalid(key, v, "expected a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_without_file() -> Result<(), ConfigError> {
        let c = Config::load(None, &HashMap::new(), &Flags::default())?;
        assert_eq!(c.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(c.service.data_dir, PathBuf::from("./gitapi-data"));
        assert!(c.service.tokens.is_empty());
        assert!(!c.service.allow_local_clone);
        Ok(())
    }

    #[test]
    fn file_then_env_then_flags() -> Result<(), ConfigError> {
        let file = r#"
            version = 1
            [server]
            listen = "127.0.0.1:9000"
            data_dir = "/from/file"
            [limits]
            deadline_secs = 5
            [[tokens]]
            name = "ci"
            token = "0123456789abcdef0123"
            scopes = ["read", "write"]
            repos = ["team-*"]
        "#;
        let e = env(&[
            ("GITAPI_LISTEN", "127.0.0.1:9001"),
            ("GIT_BACKEND", "libgit2"),
        ]);
        let c = Config::load(Some(file), &e, &Flags::default())?;
        assert_eq!(c.listen.port(), 9001);
        assert_eq!(c.service.data_dir, PathBuf::from("/from/file"));
        assert_eq!(c.service.limits.deadline, Duration::from_secs(5));
        assert_eq!(c.service.tokens.len(), 1);
        assert_eq!(c.service.tokens[0].scope, Scope::Write);
        let flags = Flags {
            listen: Some("127.0.0.1:9002".into()),
            data_dir: Some("/from/flag".into()),
            allow_local_clone: true,
        };
        let c = Config::load(Some(file), &e, &flags)?;
        assert_eq!(c.listen.port(), 9002);
        assert_eq!(c.service.data_dir, PathBuf::from("/from/flag"));
        assert!(c.service.allow_local_clone);
        Ok(())
    }

    #[test]
    fn refuses_bad_files() {
        let none = HashMap::new();
        let f = Flags::default();
        assert!(matches!(
            Config::load(Some("version = 2"), &none, &f),
            Err(ConfigError::Version { found: 2 })
        ));
        assert!(matches!(
            Config::load(Some("version = 1\nunknown = 1"), &none, &f),
            Err(ConfigError::Parse { line: 2, .. })
        ));
        // TLS needs both files.
        assert!(matches!(
            Config::load(Some("version = 1\n[tls]\ncert_file = \"c.pem\""), &none, &f),
            Err(ConfigError::Invalid { .. })
        ));
        let both = "version = 1\n[tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"";
        assert_eq!(
            Config::load(Some(both), &none, &f).ok().and_then(|c| c.tls),
            Some(crate::TlsFiles {
                cert_file: "c.pem".into(),
                key_file: "k.pem".into()
            })
        );
        // A token on a line that does not parse is never repeated in the error.
        for bad in [
            "version = 1\n[[tokens]]\nname = \"a\"\ntoken = \"s3cr3t-s3cr3t-s3cr3t-s3cr3t\nscopes = [\"read\"]",
            "version = 1\n[[tokens]]\nname = \"a\"\ntoken = \"s3cr3t-s3cr3t-s3cr3t-s3cr3t\" x\n",
            "version = 1\n[[tokens]]\nname = \"a\"\ntoken = [\"s3cr3t-s3cr3t-s3cr3t-s3cr3t\"]\n",
            "version = 1\n[server]\nlisten = [\"s3cr3t-s3cr3t-s3cr3t-s3cr3t\"]\n",
        ] {
            let err = Config::load(Some(bad), &none, &f).expect_err("refused");
            assert!(matches!(err, ConfigError::Parse { .. }), "{err:?}");
            for shown in [format!("{err}"), format!("{err:?}")] {
                assert!(!shown.contains("s3cr3t"), "{shown}");
            }
        }
        assert!(matches!(
            Config::load(Some("version = 1\n[server]\nlisten = \"nope\""), &none, &f),
            Err(ConfigError::Invalid { .. })
        ));
        let short_token = "version = 1\n[[tokens]]\nname = \"a\"\ntoken = \"short\"\nscopes = [\"read\"]\nrepos = [\"*\"]";
        let err = Config::load(Some(short_token), &none, &f).err();
        assert!(matches!(err, Some(ConfigError::Invalid { .. })));
        assert!(
            !format!("{err:?}").contains("\"short\""),
            "the secret must not leak"
        );
        assert!(Config::load(None, &env(&[("GIT_BACKEND", "cvs")]), &f).is_err());
        assert!(Config::load(None, &env(&[("GITAPI_DEADLINE_SECS", "x")]), &f).is_err());
    }
}
