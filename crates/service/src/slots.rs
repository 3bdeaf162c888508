//! Caps on concurrent pack transfers (clone, fetch, push): per server and per repository,
//! with a bounded queue, so a burst of clones cannot take every core from the API.
//!
//! A transfer takes one server slot and one slot of its repository. When none is free it waits
//! in line, at most until its deadline; when the line is full it is refused at once with
//! `Unavailable` (HTTP 503 with `Retry-After`), which git clients report and retry.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use gitapi_core::{Deadline, Error, ErrorKind, RepoName, Result};

/// The slots and the line.
#[derive(Debug)]
pub(crate) struct TransferSlots {
    server: Arc<Semaphore>,
    per_repo: usize,
    repos: Mutex<HashMap<RepoName, Arc<Semaphore>>>,
    queue: usize,
    waiting: AtomicUsize,
}

/// A transfer's slots, released when dropped.
#[derive(Debug)]
pub(crate) struct TransferPermit {
    _server: OwnedSemaphorePermit,
    _repo: OwnedSemaphorePermit,
}

/// Counts a waiter while it waits.
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl TransferSlots {
    pub(crate) fn new(server: usize, per_repo: usize, queue: usize) -> Self {
        Self {
            server: Arc::new(Semaphore::new(server.max(1))),
            per_repo: per_repo.max(1),
            repos: Mutex::new(HashMap::new()),
            queue,
            waiting: AtomicUsize::new(0),
        }
    }

    fn repo(&self, repo: &RepoName) -> Arc<Semaphore> {
        let mut map = self.repos.lock();
        // Forget repositories nobody transfers from, so the map stays as small as the set of
        // busy repositories.
        if map.len() > 1024 {
            map.retain(|_, s| Arc::strong_count(s) > 1);
        }
        Arc::clone(
            map.entry(repo.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_repo))),
        )
    }

    /// Takes a server slot and a slot of `repo`, waiting in line until `deadline` at most.
    pub(crate) async fn acquire(
        &self,
        repo: &RepoName,
        deadline: Deadline,
    ) -> Result<TransferPermit> {
        let repo_sem = self.repo(repo);
        if let (Ok(r), Ok(s)) = (
            Arc::clone(&repo_sem).try_acquire_owned(),
            Arc::clone(&self.server).try_acquire_owned(),
        ) {
            return Ok(TransferPermit {
                _server: s,
                _repo: r,
            });
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(busy());
        }
        let _in_line = InLine(&self.waiting);
        let wait = async {
            // The repository's slot first: a busy repository must not hold server slots
            // while it waits for its own.
            let r = Arc::clone(&repo_sem).acquire_owned().await;
            let s = Arc::clone(&self.server).acquire_owned().await;
            match (r, s) {
                (Ok(r), Ok(s)) => Ok(TransferPermit {
                    _server: s,
                    _repo: r,
                }),
                _ => Err(busy()),
            }
        };
        match deadline.remaining() {
            Some(left) => tokio::time::timeout(left, wait)
                .await
                .unwrap_or_else(|_| Err(busy())),
            None => wait.await,
        }
    }
}

fn busy() -> Error {
    Error::new(
        ErrorKind::Unavailable,
        "too many pack transfers are running; retry later",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_line_is_refused_at_once_and_slots_come_back() -> Result<()> {
        let slots = Arc::new(TransferSlots::new(1, 1, 1));
        let repo = RepoName::new("r")?;
        let first = slots.acquire(&repo, Deadline::NONE).await?;
        // One waiter fits in the line.
        let waiter = {
            let slots = Arc::clone(&slots);
            let repo = repo.clone();
            tokio::spawn(async move { slots.acquire(&repo, Deadline::NONE).await.map(drop) })
        };
        while slots.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        let refused = slots.acquire(&repo, Deadline::NONE).await;
        assert_eq!(
            refused.err().map(|e| e.kind()),
            Some(ErrorKind::Unavailable)
        );
        drop(first);
        waiter.await.map_err(|e| Error::internal(e.to_string()))??;
        slots.acquire(&repo, Deadline::NONE).await.map(drop)
    }
}
