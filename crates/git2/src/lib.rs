//! The libgit2 engine of gitapi: every [`GitBackend`] operation in process, through the `git2`
//! crate with a vendored libgit2.
//!
//! - Calls run on tokio's blocking pool, bounded by a semaphore ([`Config::max_blocking`]), never
//!   on the async runtime's threads.
//! - Repository handles are kept warm in a per-repository pool (one handle per thread at a
//!   time: `git2::Repository` is `Send` but not `Sync`).
//! - Ref writes are compare-and-swap inside a libgit2 ref transaction (the ref lock). Writes are
//!   durable before the answer: objects are flushed before the ref that names them, and the ref
//!   before the answer (`gitapi_storage::sync_fs`, two `syncfs` per write).
//! - What libgit2 cannot do runs the git CLI through `gitapi-gitcmd`, the same code the CLI
//!   engine runs: clone and mirror (libgit2 is built here without an HTTPS stack), mirror sync,
//!   gc, and streaming a packed blob (libgit2 streams only loose objects).
//! - The caller's [`gitapi_core::Deadline`] is carried onto the blocking thread; walks, diffs
//!   and rebases check it at each step, writes check it last just before the ref update.
//!
//! ```no_run
//! # async fn demo() -> gitapi_core::Result<()> {
//! use gitapi_core::{GitBackend, InitOptions, RepoName};
//! let engine = gitapi_git2::Git2Backend::new(gitapi_git2::Config::new("/srv/gitapi"));
//! engine.init_repo(&RepoName::new("demo")?, InitOptions::default()).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod blob_stream;
mod commits;
mod convert;
mod diff;
mod engine;
mod merge;
mod refs;
mod repo;
mod tree;
mod tree_cache;
mod tree_edit;
mod workspace;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use gitapi_core::{ClonePolicy, Error, Layout, RepoName, Result, SshSigner, WorkspaceName};
use parking_lot::Mutex;
use tokio::sync::Semaphore;

/// How the engine is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The operator's key for [`gitapi_core::Signing::Operator`].
    pub signer: Option<Arc<SshSigner>>,
    /// Where clones may come from.
    pub clone_policy: ClonePolicy,
    /// Blocking calls at once (the rest wait).
    pub max_blocking: usize,
    /// Warm handles kept per repository.
    pub handles_per_repo: usize,
    /// Parsed tree entries kept in memory, across all trees (about 100 bytes each).
    pub tree_cache_entries: u64,
}

impl Config {
    /// Defaults for a data directory: no signer, local clones refused.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            signer: None,
            clone_policy: ClonePolicy::default(),
            max_blocking: 64,
            handles_per_repo: 8,
            tree_cache_entries: 1_000_000,
        }
    }
}

/// The libgit2 engine.
#[derive(Debug, Clone)]
pub struct Git2Backend {
    inner: Arc<Inner>,
}

/// Serialises the operations on one workspace's index and work tree.
type WorkspaceLock = Arc<Mutex<()>>;

pub(crate) struct Inner {
    pub(crate) layout: Layout,
    pub(crate) config: Config,
    permits: Semaphore,
    handles: Mutex<HashMap<RepoName, Vec<git2::Repository>>>,
    workspace_locks: Mutex<HashMap<(RepoName, WorkspaceName), WorkspaceLock>>,
    pub(crate) trees: tree_cache::TreeCache,
    /// Kills the git processes this engine starts (clone, mirror sync, gc, blob streams) at
    /// their deadline.
    pub(crate) dog: gitapi_gitcmd::Watchdog,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("layout", &self.layout)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Git2Backend {
    /// An engine over `config.data_dir` (created if missing when the first repository is).
    pub fn new(config: Config) -> Self {
        Self {
            inner: Arc::new(Inner {
                layout: Layout::new(config.data_dir.clone()),
                permits: Semaphore::new(config.max_blocking.max(1)),
                handles: Mutex::new(HashMap::new()),
                workspace_locks: Mutex::new(HashMap::new()),
                trees: tree_cache::TreeCache::new(config.tree_cache_entries),
                dog: gitapi_gitcmd::Watchdog::new(),
                config,
            }),
        }
    }

    /// Runs blocking work on the bounded blocking pool.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
    {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| Error::internal("engine is shutting down"))?;
        let inner = Arc::clone(&self.inner);
        // Task-locals do not follow `spawn_blocking`: the caller's deadline is carried over by
        // hand, so checkpoints and git commands on the blocking thread see it.
        let deadline = gitapi_core::Deadline::current();
        tokio::task::spawn_blocking(move || deadline.sync_scope(|| f(&inner)))
            .await
            .map_err(|e| Error::internal(format!("engine task failed: {e}")))?
    }

    /// Runs blocking work with a warm handle of `repo`.
    pub(crate) async fn with_repo<T, F>(&self, repo: &RepoName, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner, &git2::Repository) -> Result<T> + Send + 'static,
    {
        let name = repo.clone();
        self.run(move |inner| {
            let handle = inner.checkout_handle(&name)?;
            let out = f(inner, &handle);
            inner.return_handle(name, handle);
            out
        })
        .await
    }
}

impl Inner {
    fn checkout_handle(&self, repo: &RepoName) -> Result<git2::Repository> {
        if let Some(h) = self.handles.lock().get_mut(repo).and_then(Vec::pop) {
            return Ok(h);
        }
        repo::open_bare(&self.layout, repo)
    }

    fn return_handle(&self, repo: RepoName, handle: git2::Repository) {
        let mut handles = self.handles.lock();
        let pool = handles.entry(repo).or_default();
        if pool.len() < self.config.handles_per_repo {
            pool.push(handle);
        }
    }

    /// The lock that serialises operations on one workspace's index and work tree.
    pub(crate) fn workspace_lock(&self, repo: &RepoName, ws: &WorkspaceName) -> WorkspaceLock {
        let mut locks = self.workspace_locks.lock();
        Arc::clone(locks.entry((repo.clone(), ws.clone())).or_default())
    }

    /// Drops the warm handles of a repository (after it is deleted or replaced).
    pub(crate) fn forget_handles(&self, repo: &RepoName) {
        self.handles.lock().remove(repo);
    }
}
