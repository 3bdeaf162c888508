//! The git CLI engine of gitapi: every [`GitBackend`](gitapi_core::GitBackend) operation by
//! running `git` (2.38 or newer).
//!
//! - Every process is started through `gitapi-gitcmd` ([`cmd::Git`]): allow-listed
//!   subcommands, caller values after `--end-of-options`, as literal pathspecs after `--`, or on
//!   stdin, a cleared environment with hooks off, and a deadline (the caller's
//!   [`gitapi_core::Deadline`] or the command's own limit) after which its process group is
//!   killed.
//! - Reads spawn nothing: a pool of long-lived `git cat-file --batch-command --buffer` processes
//!   per repository answers object reads and revision lookups (`CatFilePool`); tree and commit
//!   objects are parsed here (`parse`). Listings that need a walk (`for-each-ref`, `rev-list`,
//!   `diff-tree`, `blame`) spawn one process each.
//! - Writes need no work tree: blobs with `hash-object -w --stdin`, trees with one
//!   `mktree --batch` along the changed paths only, commits written byte-exact with
//!   `hash-object -t commit` from [`gitapi_core::object::commit_payload`], refs moved by
//!   `update-ref --stdin` transactions (compare-and-swap). Merge, cherry-pick, revert and rebase
//!   run `merge-tree --write-tree`.
//! - Work-tree operations run in the workspace's linked work tree, laid out exactly as the
//!   libgit2 engine lays it out, so either engine can open what the other made.
//! - Durability: every command runs with `core.fsync=committed,index` and
//!   `core.fsyncMethod=batch`, so git flushes objects before the refs that name them and refs
//!   before it exits; work-tree edits are flushed with `syncfs`.
//!
//! ```no_run
//! # async fn demo() -> gitapi_core::Result<()> {
//! use gitapi_core::{GitBackend, InitOptions, RepoName};
//! let engine = gitapi_shell::ShellBackend::new(gitapi_shell::Config::new("/srv/gitapi"));
//! engine.init_repo(&RepoName::new("demo")?, InitOptions::default()).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod catfile;
/// The command builder, re-exported from `gitapi-gitcmd`.
pub use gitapi_gitcmd as cmd;
mod commits;
mod diff;
mod engine;
mod lifecycle;
mod merge;
mod parse;
mod refs;
mod repo;
mod tree_edit;
mod tree_read;
mod workspace;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gitapi_core::{ClonePolicy, Error, Layout, RepoName, Result, SshSigner, WorkspaceName};
use parking_lot::Mutex;
use tokio::sync::Semaphore;

use crate::catfile::CatFilePool;
use gitapi_gitcmd::Watchdog;

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
    /// Idle `cat-file` processes kept per repository.
    pub catfile_per_repo: usize,
    /// How long an idle `cat-file` process is kept.
    pub catfile_ttl: Duration,
}

impl Config {
    /// Defaults for a data directory: no signer, local clones refused.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            signer: None,
            clone_policy: ClonePolicy::default(),
            max_blocking: 64,
            catfile_per_repo: 4,
            catfile_ttl: Duration::from_secs(60),
        }
    }
}

/// The git CLI engine.
#[derive(Debug, Clone)]
pub struct ShellBackend {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) layout: Layout,
    pub(crate) config: Config,
    pub(crate) dog: Watchdog,
    pub(crate) pool: Arc<CatFilePool>,
    /// Parsed trees by id: a tree id names its content forever, so entries never go stale,
    /// and a path lookup skips the cat-file round trip and the parse for every cached level.
    pub(crate) trees: moka::sync::Cache<gitapi_core::Oid, Arc<[parse::RawEntry]>>,
    permits: Semaphore,
    locks: Mutex<HashMap<LockKey, Arc<Mutex<()>>>>,
}

/// A workspace, or (with `None`) a repository's shared stash.
type LockKey = (RepoName, Option<WorkspaceName>);

impl ShellBackend {
    /// An engine over `config.data_dir`.
    pub fn new(config: Config) -> Self {
        let dog = Watchdog::new();
        let pool = CatFilePool::new(&dog, config.catfile_per_repo, config.catfile_ttl);
        Self {
            inner: Arc::new(Inner {
                layout: Layout::new(config.data_dir.clone()),
                permits: Semaphore::new(config.max_blocking.max(1)),
                locks: Mutex::new(HashMap::new()),
                trees: moka::sync::Cache::builder()
                    .max_capacity(1_000_000)
                    .weigher(|_, t: &Arc<[parse::RawEntry]>| {
                        u32::try_from(t.len()).unwrap_or(u32::MAX).max(1)
                    })
                    .build(),
                dog,
                pool,
                config,
            }),
        }
    }

    /// The version of `git` on `PATH`, checked to be 2.38 or newer (merge-tree --write-tree).
    pub fn check_git_version() -> Result<(u32, u32)> {
        let dog = Watchdog::new();
        let out = cmd::Git::new(cmd::Sub::Version).ok(&dog)?;
        let text = String::from_utf8_lossy(&out);
        let v = text
            .trim()
            .strip_prefix("git version ")
            .ok_or_else(|| Error::internal(format!("unexpected git version {text:?}")))?;
        let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        if (major, minor) < (2, 38) {
            return Err(Error::new(
                gitapi_core::ErrorKind::FailedPrecondition,
                format!("git {major}.{minor} is too old: the shell engine needs 2.38 or newer"),
            ));
        }
        Ok((major, minor))
    }

    /// Runs blocking work on the bounded blocking pool.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Arc<Inner>) -> Result<T> + Send + 'static,
    {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| Error::internal("engine is shutting down"))?;
        let inner = Arc::clone(&self.inner);
        // Task-locals do not follow `spawn_blocking`: the caller's deadline is carried over by
        // hand, so every git command built on the blocking thread sees it.
        let deadline = gitapi_core::Deadline::current();
        tokio::task::spawn_blocking(move || deadline.sync_scope(|| f(&inner)))
            .await
            .map_err(|e| Error::internal(format!("engine task failed: {e}")))?
    }
}

impl Inner {
    /// The lock that serialises work on one workspace (or, with `None`, on a repository's
    /// shared stash).
    pub(crate) fn lock(&self, repo: &RepoName, ws: Option<&WorkspaceName>) -> Arc<Mutex<()>> {
        let mut locks = self.locks.lock();
        Arc::clone(locks.entry((repo.clone(), ws.cloned())).or_default())
    }
}
