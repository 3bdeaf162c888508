//! The event bus: every ref change made through the service, from any door.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use gitapi_core::{Oid, RefName, RepoName};

use crate::auth::{Principal, Scope};

/// How a ref changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RefChangeKind {
    /// The ref did not exist before.
    Created,
    /// The ref moved.
    Updated,
    /// The ref is gone.
    Deleted,
}

/// One ref change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefEvent {
    /// The repository.
    pub repo: RepoName,
    /// The ref.
    #[serde(rename = "ref")]
    pub refname: RefName,
    /// Where it pointed before (`None`: it did not exist).
    pub old: Option<Oid>,
    /// Where it points now (`None`: it is deleted).
    pub new: Option<Oid>,
    /// Created, updated or deleted.
    pub kind: RefChangeKind,
}

/// A broadcast channel of [`RefEvent`]s. Publishing never blocks; a subscriber that lags more
/// than the channel's capacity misses the oldest events and is told so by `recv`.
#[derive(Debug, Clone)]
pub(crate) struct EventBus {
    events_tx: broadcast::Sender<RefEvent>,
}

impl EventBus {
    /// A bus that keeps up to `capacity` events for slow subscribers.
    pub(crate) fn new(capacity: usize) -> Self {
        let (events_tx, _) = broadcast::channel(capacity.max(1));
        Self { events_tx }
    }

    /// A new unfiltered subscription, starting with the next event. Only the service holds
    /// the bus; callers get an [`EventSubscription`] filtered by their scope.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<RefEvent> {
        self.events_tx.subscribe()
    }

    /// Publishes a change; nothing is published when `old == new`.
    pub(crate) fn publish(
        &self,
        repo: &RepoName,
        refname: &RefName,
        old: Option<Oid>,
        new: Option<Oid>,
    ) {
        let kind = match (old, new) {
            (a, b) if a == b => return,
            (None, Some(_)) => RefChangeKind::Created,
            (Some(_), None) => RefChangeKind::Deleted,
            _ => RefChangeKind::Updated,
        };
        let event = RefEvent {
            repo: repo.clone(),
            refname: refname.clone(),
            old,
            new,
            kind,
        };
        tracing::debug!(repo = %event.repo, r#ref = %event.refname, ?kind, "ref changed");
        // An error only means nobody is subscribed now.
        let _ = self.events_tx.send(event);
    }
}

/// Why [`EventSubscription::recv`] gave no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// The subscriber fell behind and this many events (of any repository) were dropped; the
    /// next call continues with the oldest event still kept.
    #[error("the subscriber lagged and missed {0} events")]
    Lagged(u64),
    /// The service is gone.
    #[error("the event bus is closed")]
    Closed,
}

/// Ref events a caller may see: those of repositories it has read scope on (and, for a
/// repository subscription, of that repository only).
#[derive(Debug)]
pub struct EventSubscription {
    events_rx: broadcast::Receiver<RefEvent>,
    who: Principal,
    repo: Option<RepoName>,
}

impl EventSubscription {
    pub(crate) fn new(
        events_rx: broadcast::Receiver<RefEvent>,
        who: Principal,
        repo: Option<RepoName>,
    ) -> Self {
        Self {
            events_rx,
            who,
            repo,
        }
    }

    fn visible(&self, e: &RefEvent) -> bool {
        self.repo.as_ref().is_none_or(|r| *r == e.repo)
            && self.who.allows(Scope::Read, e.repo.as_str())
    }

    /// The next event this caller may see.
    pub async fn recv(&mut self) -> Result<RefEvent, RecvError> {
        loop {
            match self.events_rx.recv().await {
                Ok(e) if self.visible(&e) => return Ok(e),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => return Err(RecvError::Lagged(n)),
                Err(broadcast::error::RecvError::Closed) => return Err(RecvError::Closed),
            }
        }
    }

    /// The next event already waiting, without waiting (`Ok(None)` when there is none).
    pub fn try_recv(&mut self) -> Result<Option<RefEvent>, RecvError> {
        loop {
            match self.events_rx.try_recv() {
                Ok(e) if self.visible(&e) => return Ok(Some(e)),
                Ok(_) => {}
                Err(broadcast::error::TryRecvError::Empty) => return Ok(None),
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    return Err(RecvError::Lagged(n));
                }
                Err(broadcast::error::TryRecvError::Closed) => return Err(RecvError::Closed),
            }
        }
    }
}
