//! The event bus: every ref change and every repository created or deleted through the
//! service, from any door, numbered and kept for a while so a subscriber that reconnects can
//! ask for what it missed.
//!
//! Each event gets the next number of one sequence. The sequence starts at the server's start
//! time in microseconds, so numbers keep increasing across restarts (a server would have to
//! publish more than a million events a second for a restart to reuse one): a subscriber that
//! comes back after a restart with an id of the old process is told its history is gone
//! ([`RecvError::Lagged`]) rather than given events of another sequence.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
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

/// What happened to a repository as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RepoChangeKind {
    /// The repository was created (empty, cloned or mirrored). For a clone, the events of
    /// its refs follow this one.
    Created,
    /// The repository was deleted. The events of its refs' deletion come before this one.
    Deleted,
}

/// A repository created or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoEvent {
    /// The repository.
    pub repo: RepoName,
    /// Created or deleted.
    pub kind: RepoChangeKind,
}

/// What an [`Event`] is about. In JSON, `"type": "ref"` or `"type": "repository"` beside the
/// change's own fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Change {
    /// A ref was created, moved or deleted.
    Ref(RefEvent),
    /// A repository was created or deleted.
    #[serde(rename = "repository")]
    Repo(RepoEvent),
}

impl Change {
    /// The repository the change belongs to.
    pub fn repo(&self) -> &RepoName {
        match self {
            Change::Ref(r) => &r.repo,
            Change::Repo(r) => &r.repo,
        }
    }
}

/// One numbered event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The event's number: greater than every number published before it, by this process
    /// or an earlier one on the same machine clock.
    pub id: u64,
    /// What happened.
    #[serde(flatten)]
    pub change: Change,
}

/// The shared part of the bus: the last `capacity` events and the next number. Publishing
/// and subscribing take its lock briefly, so a subscriber that resumes gets the kept events
/// and the live ones with no gap and no repeat between them.
#[derive(Debug)]
struct Log {
    kept: VecDeque<Arc<Event>>,
    capacity: usize,
    /// The number of the last event published (the start number when none was).
    last: u64,
}

/// Numbered events, a bounded replay buffer and a broadcast channel for live subscribers.
/// Publishing never blocks on subscribers; one that lags more than the channel's capacity
/// misses the oldest events and is told so by `recv`.
#[derive(Debug, Clone)]
pub(crate) struct EventBus {
    events_tx: broadcast::Sender<Arc<Event>>,
    log: Arc<Mutex<Log>>,
    /// Set when the server shuts down: every subscription ends, so streams do not hold up
    /// the drain.
    closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// Where this node's changes also go, for the other nodes (see `cluster`).
    relay: Arc<Mutex<Option<tokio::sync::mpsc::UnboundedSender<Change>>>>,
}

impl EventBus {
    /// A bus that keeps the last `capacity` events for subscribers that resume or lag.
    pub(crate) fn new(capacity: usize) -> Self {
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX / 2))
            .unwrap_or(0);
        Self::starting_at(capacity, start)
    }

    /// A bus whose first event is numbered `start + 1`.
    pub(crate) fn starting_at(capacity: usize, start: u64) -> Self {
        let capacity = capacity.max(1);
        let (events_tx, _) = broadcast::channel(capacity);
        Self {
            events_tx,
            relay: Arc::new(Mutex::new(None)),
            closing: Arc::new(tokio::sync::watch::Sender::new(false)),
            log: Arc::new(Mutex::new(Log {
                kept: VecDeque::with_capacity(capacity),
                capacity,
                last: start,
            })),
        }
    }

    /// A new unfiltered subscription. With `after`, the kept events numbered after it come
    /// first; when the buffer no longer reaches back that far (or `after` is no number this
    /// bus gave), the subscription starts with [`RecvError::Lagged`]. Only the service holds
    /// the bus; callers get an [`EventSubscription`] filtered by their scope.
    pub(crate) fn subscribe(&self, after: Option<u64>) -> Feed {
        let log = self.log.lock();
        let events_rx = self.events_tx.subscribe();
        let mut feed = Feed {
            backlog: VecDeque::new(),
            gap: None,
            events_rx,
            closing: self.closing.subscribe(),
        };
        let Some(after) = after else {
            return feed;
        };
        let oldest = log.kept.front().map_or(log.last + 1, |e| e.id);
        if after > log.last {
            // A number from another sequence (an earlier process whose clock ran ahead) or
            // made up: nothing can be said about what was missed.
            feed.gap = Some(RecvError::Lagged {
                missed: 0,
                resume_after: Some(log.last),
            });
        } else if after + 1 < oldest {
            feed.gap = Some(RecvError::Lagged {
                missed: oldest - after - 1,
                resume_after: Some(oldest - 1),
            });
        }
        feed.backlog = log.kept.iter().filter(|e| e.id > after).cloned().collect();
        feed
    }

    /// Ends every subscription: each `recv` answers [`RecvError::Closed`] from now on.
    pub(crate) fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Publishes a ref change; nothing is published when `old == new`.
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
        tracing::debug!(%repo, r#ref = %refname, ?kind, "ref changed");
        self.send(Change::Ref(RefEvent {
            repo: repo.clone(),
            refname: refname.clone(),
            old,
            new,
            kind,
        }));
    }

    /// Publishes a repository's creation or deletion.
    pub(crate) fn publish_repo(&self, repo: &RepoName, kind: RepoChangeKind) {
        tracing::debug!(%repo, ?kind, "repository changed");
        self.send(Change::Repo(RepoEvent {
            repo: repo.clone(),
            kind,
        }));
    }

    /// From now on, every change published here is also sent to `relay` (and so to the
    /// other nodes).
    pub(crate) fn set_relay(&self, relay: tokio::sync::mpsc::UnboundedSender<Change>) {
        *self.relay.lock() = Some(relay);
    }

    /// Publishes a change another node made: to this node's subscribers only.
    pub(crate) fn inject(&self, change: Change) {
        self.deliver(change);
    }

    fn send(&self, change: Change) {
        if let Some(relay) = &*self.relay.lock() {
            // Unbounded: the relay task drains it as fast as Redis takes messages, and a
            // publisher must never wait for the network.
            let _ = relay.send(change.clone());
        }
        self.deliver(change);
    }

    fn deliver(&self, change: Change) {
        let mut log = self.log.lock();
        log.last += 1;
        let event = Arc::new(Event {
            id: log.last,
            change,
        });
        if log.kept.len() == log.capacity {
            log.kept.pop_front();
        }
        log.kept.push_back(Arc::clone(&event));
        // Sent under the lock, so a subscriber that resumes sees each event either in its
        // backlog or live, never both and never neither. An error only means nobody is
        // subscribed now.
        let _ = self.events_tx.send(event);
    }
}

/// An unfiltered subscription: the kept events a resuming subscriber missed, then live ones.
#[derive(Debug)]
pub(crate) struct Feed {
    backlog: VecDeque<Arc<Event>>,
    /// Events known to be lost before the backlog (reported once, first).
    gap: Option<RecvError>,
    events_rx: broadcast::Receiver<Arc<Event>>,
    closing: tokio::sync::watch::Receiver<bool>,
}

/// Why [`EventSubscription::recv`] gave no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// Events were lost to this subscriber: it fell behind by more than the buffer holds, or
    /// it resumed from a number the buffer no longer reaches. The next call continues with the
    /// oldest event still kept (after an unknown number, with the next live one); a client
    /// that mirrors state should read it again.
    #[error("the subscriber missed {missed} events")]
    Lagged {
        /// How many events (of any repository) were lost; 0 when the number the subscriber
        /// resumed from is unknown to this server.
        missed: u64,
        /// The number to resume after from here on (the event just before the next one
        /// this subscription gives), when it is known: a client that stores it and later
        /// resumes after it misses nothing more.
        resume_after: Option<u64>,
    },
    /// The server is shutting down (or the service is gone): the subscription has ended.
    #[error("the event bus is closed")]
    Closed,
}

/// Events a caller may see: those of repositories it has read scope on (and, for a
/// repository subscription, of that repository only).
#[derive(Debug)]
pub struct EventSubscription {
    feed: Feed,
    who: Principal,
    repo: Option<RepoName>,
}

impl EventSubscription {
    pub(crate) fn new(feed: Feed, who: Principal, repo: Option<RepoName>) -> Self {
        Self { feed, who, repo }
    }

    fn visible(&self, e: &Event) -> bool {
        let repo = e.change.repo();
        self.repo.as_ref().is_none_or(|r| r == repo) && self.who.allows(Scope::Read, repo.as_str())
    }

    /// What was kept or lost before the live events, without waiting.
    fn next_kept(&mut self) -> Option<Result<Event, RecvError>> {
        if let Some(gap) = self.feed.gap.take() {
            return Some(Err(gap));
        }
        while let Some(e) = self.feed.backlog.pop_front() {
            if self.visible(&e) {
                return Some(Ok(Event::clone(&e)));
            }
        }
        None
    }

    /// The next event this caller may see; [`RecvError::Closed`] once the server shuts down.
    pub async fn recv(&mut self) -> Result<Event, RecvError> {
        if *self.feed.closing.borrow() {
            return Err(RecvError::Closed);
        }
        if let Some(out) = self.next_kept() {
            return out;
        }
        loop {
            let next = tokio::select! {
                next = self.feed.events_rx.recv() => next,
                _ = self.feed.closing.wait_for(|closing| *closing) => return Err(RecvError::Closed),
            };
            match next {
                Ok(e) if self.visible(&e) => return Ok(Event::clone(&e)),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => return Err(lagged(n)),
                Err(broadcast::error::RecvError::Closed) => return Err(RecvError::Closed),
            }
        }
    }

    /// The next event already waiting, without waiting (`Ok(None)` when there is none).
    pub fn try_recv(&mut self) -> Result<Option<Event>, RecvError> {
        if let Some(out) = self.next_kept() {
            return out.map(Some);
        }
        loop {
            match self.feed.events_rx.try_recv() {
                Ok(e) if self.visible(&e) => return Ok(Some(Event::clone(&e))),
                Ok(_) => {}
                Err(broadcast::error::TryRecvError::Empty) => return Ok(None),
                Err(broadcast::error::TryRecvError::Lagged(n)) => return Err(lagged(n)),
                Err(broadcast::error::TryRecvError::Closed) => return Err(RecvError::Closed),
            }
        }
    }
}

/// A live subscriber fell `n` events behind; where it resumes is only known when it reads the
/// next event.
fn lagged(n: u64) -> RecvError {
    RecvError::Lagged {
        missed: n,
        resume_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bus(capacity: usize) -> EventBus {
        EventBus::starting_at(capacity, 100)
    }

    fn repo(name: &str) -> RepoName {
        RepoName::new(name).expect("a repository name")
    }

    fn drain(sub: &mut EventSubscription) -> Vec<Result<u64, RecvError>> {
        let mut out = Vec::new();
        loop {
            match sub.try_recv() {
                Ok(Some(e)) => out.push(Ok(e.id)),
                Ok(None) => return out,
                Err(e) => out.push(Err(e)),
            }
        }
    }

    fn sub(bus: &EventBus, after: Option<u64>) -> EventSubscription {
        EventSubscription::new(bus.subscribe(after), Principal::Open, None)
    }

    #[test]
    fn numbers_increase_and_a_resume_gets_each_missed_event_once() {
        let bus = bus(8);
        let a = repo("a");
        for _ in 0..3 {
            bus.publish_repo(&a, RepoChangeKind::Created);
        }
        let mut resumed = sub(&bus, Some(101));
        bus.publish_repo(&a, RepoChangeKind::Deleted);
        assert_eq!(drain(&mut resumed), vec![Ok(102), Ok(103), Ok(104)]);
        assert_eq!(drain(&mut sub(&bus, Some(104))), vec![]);
        assert_eq!(drain(&mut sub(&bus, None)), vec![]);
    }

    #[test]
    fn a_resume_past_the_buffer_or_from_an_unknown_number_is_a_gap_first() {
        let bus = bus(2);
        let a = repo("a");
        for _ in 0..5 {
            bus.publish_repo(&a, RepoChangeKind::Created);
        }
        // Kept: 104 and 105; 101..=103 are gone, 100 was the start.
        assert_eq!(
            drain(&mut sub(&bus, Some(100))),
            vec![
                Err(RecvError::Lagged {
                    missed: 3,
                    resume_after: Some(103)
                }),
                Ok(104),
                Ok(105)
            ]
        );
        assert_eq!(drain(&mut sub(&bus, Some(103))), vec![Ok(104), Ok(105)]);
        // From a number this bus never gave: the gap, then live events only.
        assert_eq!(
            drain(&mut sub(&bus, Some(900))),
            vec![Err(RecvError::Lagged {
                missed: 0,
                resume_after: Some(105)
            })]
        );
    }

    #[test]
    fn unchanged_refs_publish_nothing() {
        let bus = bus(4);
        let mut live = sub(&bus, None);
        let name = RefName::new("refs/heads/main").expect("a ref name");
        bus.publish(&repo("a"), &name, None, None);
        assert_eq!(drain(&mut live), vec![]);
    }

    #[tokio::test]
    async fn closing_ends_every_subscription() {
        let bus = bus(4);
        let mut waiting = sub(&bus, None);
        let task = tokio::spawn(async move { waiting.recv().await });
        tokio::task::yield_now().await;
        bus.close();
        let out = task.await.expect("the waiting task");
        assert_eq!(out.err(), Some(RecvError::Closed));
        assert_eq!(sub(&bus, None).recv().await.err(), Some(RecvError::Closed));
    }
}
