//! The event bus: every ref change made through the service, from any door.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use gitapi_core::{Oid, RefName, RepoName};

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
pub struct EventBus {
    events_tx: broadcast::Sender<RefEvent>,
}

impl EventBus {
    /// A bus that keeps up to `capacity` events for slow subscribers.
    pub fn new(capacity: usize) -> Self {
        let (events_tx, _) = broadcast::channel(capacity.max(1));
        Self { events_tx }
    }

    /// A new subscription, starting with the next event.
    pub fn subscribe(&self) -> broadcast::Receiver<RefEvent> {
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
