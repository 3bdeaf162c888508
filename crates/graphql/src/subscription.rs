//! The subscription root: the service's event feed, and its live log and blame. Served over
//! WebSocket (`graphql-transport-ws`) and server-sent events (graphql-sse); the streams end
//! when the server shuts down (the service closes its event bus).

use async_graphql::{Context, Enum, Result, SimpleObject, Subscription as SubscriptionRoot};
use futures::{Stream, StreamExt as _};

use gitapi_core::{BlameHunk, Commit, Error, Oid, RefName, RepoName, RepoPath};
use gitapi_service::{
    Change, Event, LiveBlameQuery, LiveLogQuery, LiveUpdate, RecvError, RefChangeKind,
    RepoChangeKind,
};

use crate::error::{Gql as _, to_graphql};
use crate::objects::{BlameHunkObj, CommitObj, call};

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "camelCase")]
pub(crate) enum EventType {
    /// A ref was created, moved or deleted.
    Ref,
    /// A repository was created or deleted.
    Repository,
    /// Events were lost to this subscriber (it fell behind, or resumed from a number no longer
    /// kept): `missed` says how many, `resumeAfter` where to resume from later.
    Lagged,
}

/// How the ref or the repository changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "camelCase")]
pub(crate) enum ChangeKind {
    /// It did not exist before.
    Created,
    /// The ref moved.
    Updated,
    /// It is gone.
    Deleted,
}

/// One event, with the fields of REST's event JSON (`id`, `type`, `repo`, `ref`, `old`,
/// `new`, `kind`).
#[derive(Debug, SimpleObject)]
#[graphql(name = "RepositoryEvent")]
pub(crate) struct RepositoryEvent {
    /// The event's number, in decimal (it outgrows a GraphQL `Int`): pass it as `after` to
    /// resume after this event. Empty for `lagged`.
    id: String,
    /// What it is about.
    #[graphql(name = "type")]
    ty: EventType,
    /// The repository (absent for `lagged`).
    repo: Option<RepoName>,
    /// The ref, for a ref event.
    #[graphql(name = "ref")]
    refname: Option<RefName>,
    /// Where the ref pointed before (absent: it did not exist).
    old: Option<Oid>,
    /// Where it points now (absent: it is deleted).
    new: Option<Oid>,
    /// How it changed (absent for `lagged`).
    kind: Option<ChangeKind>,
    /// For `lagged`: how many events were lost (0 when unknown).
    missed: Option<u64>,
    /// For `lagged`: the number to resume after from here on, when known.
    resume_after: Option<String>,
}

/// The one mapping from the service's event to the GraphQL type.
pub(crate) fn event(e: Event) -> RepositoryEvent {
    let id = e.id.to_string();
    match e.change {
        Change::Ref(r) => RepositoryEvent {
            id,
            ty: EventType::Ref,
            repo: Some(r.repo),
            refname: Some(r.refname),
            old: r.old,
            new: r.new,
            kind: Some(match r.kind {
                RefChangeKind::Created => ChangeKind::Created,
                RefChangeKind::Updated => ChangeKind::Updated,
                RefChangeKind::Deleted => ChangeKind::Deleted,
            }),
            missed: None,
            resume_after: None,
        },
        Change::Repo(r) => RepositoryEvent {
            id,
            ty: EventType::Repository,
            repo: Some(r.repo),
            refname: None,
            old: None,
            new: None,
            kind: Some(match r.kind {
                RepoChangeKind::Created => ChangeKind::Created,
                RepoChangeKind::Deleted => ChangeKind::Deleted,
            }),
            missed: None,
            resume_after: None,
        },
    }
}

fn lagged(missed: u64, resume_after: Option<u64>) -> RepositoryEvent {
    RepositoryEvent {
        id: String::new(),
        ty: EventType::Lagged,
        repo: None,
        refname: None,
        old: None,
        new: None,
        kind: None,
        missed: Some(missed),
        resume_after: resume_after.map(|n| n.to_string()),
    }
}

/// Whether an event passes the ref prefix: ref events whose name starts with it; repository
/// events always (they are about the repository, not a ref).
fn passes(e: &Event, prefix: Option<&str>) -> bool {
    match (&e.change, prefix) {
        (Change::Ref(r), Some(p)) => r.refname.as_str().starts_with(p),
        _ => true,
    }
}

/// How a live answer changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "camelCase")]
pub(crate) enum LiveKind {
    /// Part of the answer at the tip the next `synced` names.
    Items,
    /// What was sent no longer holds: what follows replaces it.
    Restart,
    /// Everything up to `tip` was sent.
    Synced,
}

/// One update of a live log.
#[derive(Debug, SimpleObject)]
pub(crate) struct LiveLogUpdate {
    /// What the update is.
    kind: LiveKind,
    /// For `items`: commits, newest first.
    commits: Vec<CommitObj>,
    /// For `restart` and `synced`: the branch's tip (absent: it does not exist).
    tip: Option<Oid>,
}

/// One update of a live blame.
#[derive(Debug, SimpleObject)]
pub(crate) struct LiveBlameUpdate {
    /// What the update is.
    kind: LiveKind,
    /// For `items`: hunks in file order.
    hunks: Vec<BlameHunkObj>,
    /// For `restart` and `synced`: the branch's tip (absent: it does not exist).
    tip: Option<Oid>,
}

fn live<T, U>(
    u: LiveUpdate<T>,
    items: impl FnOnce(Vec<T>) -> Vec<U>,
) -> (LiveKind, Vec<U>, Option<Oid>) {
    match u {
        LiveUpdate::Items { items: i } => (LiveKind::Items, items(i), None),
        LiveUpdate::Restart { tip } => (LiveKind::Restart, Vec::new(), tip),
        LiveUpdate::Synced { tip } => (LiveKind::Synced, Vec::new(), tip),
    }
}

/// Live events.
#[derive(Debug, Default)]
pub struct Subscription;

#[SubscriptionRoot]
impl Subscription {
    /// Events of one repository (`repo`) or of every repository the caller may read, from
    /// now on or after event number `after`; ref events only under `refPrefix` when given.
    /// The service filters by the caller's read scope.
    async fn repository_events(
        &self,
        ctx: &Context<'_>,
        repo: Option<RepoName>,
        ref_prefix: Option<String>,
        after: Option<String>,
    ) -> Result<impl Stream<Item = RepositoryEvent> + use<>> {
        let (svc, cx) = call(ctx)?;
        let after = after
            .map(|a| {
                a.parse::<u64>()
                    .map_err(|_| Error::invalid(format!("after {a:?} is not an event number")))
            })
            .transpose()
            .gql()?;
        let sub = match &repo {
            Some(r) => svc.subscribe_repo(&cx, r, after).gql()?,
            None => svc.subscribe(&cx, after),
        };
        Ok(futures::stream::unfold(
            (sub, ref_prefix),
            |(mut sub, prefix)| async move {
                loop {
                    match sub.recv().await {
                        Ok(e) if passes(&e, prefix.as_deref()) => {
                            return Some((event(e), (sub, prefix)));
                        }
                        Ok(_) => {}
                        Err(RecvError::Lagged {
                            missed,
                            resume_after,
                        }) => return Some((lagged(missed, resume_after), (sub, prefix))),
                        Err(RecvError::Closed) => return None,
                    }
                }
            },
        ))
    }

    /// The history of a branch, kept current: first the answer, then what changes as the
    /// branch moves.
    async fn live_log(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        #[graphql(desc = "the branch (full ref name); default: the repository's default branch")]
        follow: Option<RefName>,
        path: Option<RepoPath>,
        #[graphql(default)] first_parent: bool,
    ) -> Result<impl Stream<Item = Result<LiveLogUpdate>> + use<>> {
        let (svc, cx) = call(ctx)?;
        let query = LiveLogQuery {
            follow,
            path,
            first_parent,
        };
        let updates = svc.live_log(&cx, &repo, query).await.gql()?;
        Ok(updates.map(move |u| {
            let u = u.map_err(|e| to_graphql(&e))?;
            let r = repo.clone();
            let (kind, commits, tip) = live(u, |cs: Vec<Commit>| {
                cs.into_iter()
                    .map(|c| CommitObj::new(r.clone(), c))
                    .collect()
            });
            Ok(LiveLogUpdate { kind, commits, tip })
        }))
    }

    /// The blame of a file on a branch, kept current as the branch moves.
    async fn live_blame(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        #[graphql(desc = "the branch (full ref name); default: the repository's default branch")]
        follow: Option<RefName>,
        path: RepoPath,
    ) -> Result<impl Stream<Item = Result<LiveBlameUpdate>> + use<>> {
        let (svc, cx) = call(ctx)?;
        let updates = svc
            .live_blame(&cx, &repo, LiveBlameQuery { follow, path })
            .await
            .gql()?;
        Ok(updates.map(move |u| {
            let u = u.map_err(|e| to_graphql(&e))?;
            let r = repo.clone();
            let (kind, hunks, tip) = live(u, |hs: Vec<BlameHunk>| {
                hs.into_iter()
                    .map(|h| BlameHunkObj::new(r.clone(), h))
                    .collect()
            });
            Ok(LiveBlameUpdate { kind, hunks, tip })
        }))
    }
}
