//! Per-repository async read-write locks: reads share, writes and maintenance are exclusive.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

use gitapi_core::RepoName;

/// Locks are created on first use; unused ones are dropped once the map grows past this, so
/// requests for many names that do not exist cannot grow it without bound.
const PRUNE_ABOVE: usize = 1024;

/// The lock table.
#[derive(Debug, Default)]
pub(crate) struct RepoLocks {
    locks: Mutex<HashMap<RepoName, Arc<RwLock<()>>>>,
}

impl RepoLocks {
    fn lock_of(&self, repo: &RepoName) -> Arc<RwLock<()>> {
        let mut locks = self
            .locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if locks.len() > PRUNE_ABOVE {
            // Only the table holds these: nobody waits on or holds them.
            locks.retain(|_, l| Arc::strong_count(l) > 1);
        }
        Arc::clone(locks.entry(repo.clone()).or_default())
    }

    /// A shared guard on `repo`.
    pub(crate) async fn read(&self, repo: &RepoName) -> OwnedRwLockReadGuard<()> {
        self.lock_of(repo).read_owned().await
    }

    /// An exclusive guard on `repo`.
    pub(crate) async fn write(&self, repo: &RepoName) -> OwnedRwLockWriteGuard<()> {
        self.lock_of(repo).write_owned().await
    }
}
