//! The service's typed configuration: what the server validated from its file, environment and
//! flags before anything starts.

use std::path::PathBuf;
use std::time::Duration;

use crate::auth::TokenGrant;

/// Sizes and deadlines the service enforces on every door.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The largest request body a door accepts, in bytes.
    pub max_body_bytes: usize,
    /// The largest file content a write may carry, in bytes.
    pub max_blob_bytes: usize,
    /// How long one request may run. A read is answered `Timeout` at this deadline and its
    /// engine work is stopped; a write stops before its ref update and answers `Timeout` with
    /// nothing moved (see the funnel).
    pub deadline: Duration,
    /// How long maintenance (clone, mirror sync, gc) may run: much longer than a request.
    pub maintenance_deadline: Duration,
    /// The most commits one log page returns.
    pub max_log_page: usize,
    /// How long one pack transfer (a clone, fetch or push over Smart HTTP) may run.
    pub transfer_deadline: Duration,
    /// The largest pack a push may send, in bytes.
    pub max_push_bytes: u64,
    /// Pack transfers running at once on the server.
    pub max_transfers: usize,
    /// Pack transfers running at once on one repository.
    pub max_transfers_per_repo: usize,
    /// Transfers that may wait for a slot; more are refused with `Unavailable` (503).
    pub transfer_queue: usize,
    /// Whether a push may carry push options (`git push -o`); off unless configured.
    pub push_options: bool,
    /// How long a live stream (a WebSocket log or blame) may wait for a client to take a
    /// message before the client is disconnected as too slow. Streams never buffer without
    /// bound.
    pub slow_client: Duration,
    /// File actions in one commit (`TooLarge` above): one request may not hold the repository's
    /// write lock for an unbounded list.
    pub max_actions: usize,
    /// Commits one rebase replays, a plan's steps or `upstream..branch` (`TooLarge` above):
    /// each is a merge of trees under the repository's write lock.
    pub max_rebase_steps: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 32 * 1024 * 1024,
            max_blob_bytes: 16 * 1024 * 1024,
            deadline: Duration::from_secs(30),
            maintenance_deadline: Duration::from_secs(3600),
            max_log_page: 1000,
            transfer_deadline: Duration::from_secs(1800),
            max_push_bytes: 2 * 1024 * 1024 * 1024,
            max_transfers: 8,
            max_transfers_per_repo: 4,
            transfer_queue: 64,
            push_options: false,
            slow_client: Duration::from_secs(10),
            max_actions: 10_000,
            max_rebase_steps: 1_000,
        }
    }
}

/// Everything [`crate::RepoService`] needs to start.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The data directory (repositories, workspaces and the service's own state).
    pub data_dir: PathBuf,
    /// Bearer tokens; none configured means open local mode.
    pub tokens: Vec<TokenGrant>,
    /// Allow clones from `file://`, loopback, private and link-local sources.
    pub allow_local_clone: bool,
    /// Sizes and deadlines.
    pub limits: Limits,
    /// How many events are kept for subscribers that resume (`Last-Event-ID`) or lag behind.
    pub event_capacity: usize,
    /// How often an idle event stream sends a heartbeat, so proxies keep it open.
    pub event_heartbeat: Duration,
}

impl ServiceConfig {
    /// Defaults for a data directory: open local mode, local clones refused.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            tokens: Vec::new(),
            allow_local_clone: false,
            limits: Limits::default(),
            event_capacity: 1024,
            event_heartbeat: Duration::from_secs(15),
        }
    }
}
