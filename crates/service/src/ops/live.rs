//! Live answers: the log of a branch or the blame of a file on it, sent once and then kept
//! current as the branch moves, for the doors' live streams (WebSocket log and blame).
//!
//! A live answer is a stream of [`LiveUpdate`]s made by one task per subscriber. The task
//! subscribes to the repository's events *before* it reads the branch, so no move between the
//! first answer and the subscription is lost. Events only say "look again": on each event of
//! the branch (or when events were lost) the task reads the branch's tip and sends what
//! changed since the tip it last reported, so a burst of moves costs one update and a
//! subscriber that lagged still ends up current.
//!
//! Every read is an ordinary operation of the funnel (scope, lock, lease, deadline), made
//! page by page: no lock is held while the subscriber is slow. The channel to the door holds
//! [`LIVE_BUFFER`] updates; a subscriber that does not take them stalls its own task (never
//! the server), and the door decides when a stalled client is dropped.

use futures::stream::BoxStream;
use serde::Serialize;
use tokio::sync::mpsc;

use gitapi_core::*;

use crate::context::CallContext;
use crate::events::{Change, EventSubscription, RecvError, RepoChangeKind};
use crate::service::RepoService;

/// Updates a live answer's task may have made before its subscriber takes them.
pub const LIVE_BUFFER: usize = 4;

/// Commits per page of a live log; hunks per message of a live blame.
const PAGE: usize = 200;

/// One message of a live answer. In JSON, `"type"` names the variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum LiveUpdate<T> {
    /// Part of the answer at the tip the next [`LiveUpdate::Synced`] names: for a log,
    /// commits newest first (after a fast-forward, only the new ones, to put on top of what
    /// was sent); for a blame, hunks in file order.
    Items {
        /// The items.
        items: Vec<T>,
    },
    /// What was sent before no longer holds (the branch was rewritten or deleted, or the
    /// file changed): the items that follow replace it.
    Restart {
        /// The tip the new answer is for (`None`: the branch does not exist).
        tip: Option<Oid>,
    },
    /// Everything up to `tip` was sent: the subscriber's view is the answer at `tip`.
    Synced {
        /// The branch's tip (`None`: the branch does not exist).
        tip: Option<Oid>,
    },
}

/// What a live log follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveLogQuery {
    /// The branch (or any ref) whose history is followed; `None`: the repository's default
    /// branch.
    pub follow: Option<RefName>,
    /// Only commits that change this path.
    pub path: Option<RepoPath>,
    /// Only first parents.
    pub first_parent: bool,
}

/// What a live blame follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveBlameQuery {
    /// The branch (or any ref) the file is blamed on; `None`: the repository's default
    /// branch.
    pub follow: Option<RefName>,
    /// The file.
    pub path: RepoPath,
}

/// Sends updates to the subscriber; `Err` when it is gone (the task then ends).
struct Out<T>(mpsc::Sender<Result<LiveUpdate<T>>>);

struct Gone;

impl<T> Out<T> {
    async fn send(&self, u: LiveUpdate<T>) -> std::result::Result<(), Gone> {
        self.0.send(Ok(u)).await.map_err(|_| Gone)
    }

    async fn items(&self, items: Vec<T>) -> std::result::Result<(), Gone> {
        if items.is_empty() {
            return Ok(());
        }
        self.send(LiveUpdate::Items { items }).await
    }

    async fn fail(&self, e: Error) {
        let _ = self.0.send(Err(e)).await;
    }
}

fn stream<T: Send + 'static>(
    rx: mpsc::Receiver<Result<LiveUpdate<T>>>,
) -> BoxStream<'static, Result<LiveUpdate<T>>> {
    Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|u| (u, rx))
    }))
}

impl RepoService {
    /// The ref a live answer follows: the one named, or the repository's default branch.
    async fn followed(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        follow: Option<RefName>,
    ) -> Result<RefName> {
        match follow {
            Some(name) => Ok(name),
            None => self
                .repo_info(cx, repo)
                .await?
                .default_branch
                .ok_or_else(|| {
                    Error::invalid(
                        "the repository has no default branch: name the branch to follow",
                    )
                }),
        }
    }

    /// Waits until `follow` has moved away from `tip` and gives where it is now (`None`
    /// inside: it does not exist); `Ok(None)` when the subscription ended (the server shuts
    /// down). Events only wake the task up: on an event of `follow`, a lag (one of the lost
    /// events may have moved it) or the repository's re-creation, the tip is read again, so
    /// a burst of moves is one answer.
    async fn moved(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        follow: &RefName,
        tip: Option<Oid>,
        events: &mut EventSubscription,
    ) -> Result<Option<Option<Oid>>> {
        loop {
            let look = match events.recv().await {
                Ok(e) => match e.change {
                    Change::Ref(r) => r.refname == *follow,
                    Change::Repo(r) => match r.kind {
                        RepoChangeKind::Deleted => {
                            return Err(Error::not_found(format!("repository {repo} was deleted")));
                        }
                        RepoChangeKind::Created => true,
                    },
                },
                Err(RecvError::Lagged { .. }) => true,
                Err(RecvError::Closed) => return Ok(None),
            };
            if look {
                let now = self.tip(cx, repo, follow).await?;
                if now != tip {
                    return Ok(Some(now));
                }
            }
        }
    }

    /// The tip of `name`, `None` when it does not exist.
    async fn tip(&self, cx: &CallContext, repo: &RepoName, name: &RefName) -> Result<Option<Oid>> {
        match self.get_ref(cx, repo, name).await {
            Ok(r) => Ok(Some(r.target)),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                // A missing repository is an error; a missing branch is an empty answer.
                self.repo_info(cx, repo).await?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The log of a branch, then the commits each move of it brings, as [`LiveUpdate`]s: the
    /// log in pages and [`LiveUpdate::Synced`]; after a fast-forward the new commits and
    /// `Synced`; after a rewrite or deletion [`LiveUpdate::Restart`] and the whole log again.
    /// Needs read scope; a missing repository is an error here, before the stream starts.
    /// The stream ends when the subscriber drops it, when the repository is deleted (with a
    /// `NotFound` error) or when the server shuts down.
    pub async fn live_log(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        query: LiveLogQuery,
    ) -> Result<BoxStream<'static, Result<LiveUpdate<Commit>>>> {
        let events = self.subscribe_repo(cx, repo, None)?;
        let follow = self.followed(cx, repo, query.follow).await?;
        let tip = self.tip(cx, repo, &follow).await?;
        let (tx, rx) = mpsc::channel(LIVE_BUFFER);
        let (svc, cx, repo) = (self.clone(), cx.clone(), repo.clone());
        let (path, first_parent) = (query.path, query.first_parent);
        tokio::spawn(async move {
            let out = Out(tx);
            let run = svc.run_live_log(&cx, &repo, &follow, path, first_parent, tip, events, &out);
            if let Err(e) = run.await {
                out.fail(e).await;
            }
        });
        Ok(stream(rx))
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_live_log(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        follow: &RefName,
        path: Option<RepoPath>,
        first_parent: bool,
        mut tip: Option<Oid>,
        mut events: EventSubscription,
        out: &Out<Commit>,
    ) -> Result<()> {
        let query = |range: RevRange, offset: usize| LogQuery {
            range,
            path: path.clone(),
            limit: PAGE,
            offset,
            first_parent,
            follow: false,
        };
        // Sends every page of `range`; `Ok(false)` when the subscriber is gone.
        let pages = |range: RevRange| {
            let query = &query;
            async move {
                let mut offset = 0;
                loop {
                    let page = self.log(cx, repo, query(range.clone(), offset)).await?;
                    let n = page.len();
                    if out.items(page).await.is_err() {
                        return Ok::<bool, Error>(false);
                    }
                    if n < PAGE {
                        return Ok(true);
                    }
                    offset += n;
                }
            }
        };
        if let Some(t) = tip
            && !pages(RevRange::Single(Rev::from(t))).await?
        {
            return Ok(());
        }
        if out.send(LiveUpdate::Synced { tip }).await.is_err() {
            return Ok(());
        }
        while let Some(now) = self.moved(cx, repo, follow, tip, &mut events).await? {
            let sent = match (tip, now) {
                (Some(old), Some(new))
                    if self
                        .is_ancestor(cx, repo, &Rev::from(old), &Rev::from(new))
                        .await? =>
                {
                    pages(RevRange::TwoDot(Rev::from(old), Rev::from(new))).await?
                }
                (_, new) => {
                    out.send(LiveUpdate::Restart { tip: new }).await.is_ok()
                        && match new {
                            Some(n) => pages(RevRange::Single(Rev::from(n))).await?,
                            None => true,
                        }
                }
            };
            tip = now;
            if !sent || out.send(LiveUpdate::Synced { tip }).await.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The blame of a file on a branch, then again each time a move of the branch changes
    /// it, as [`LiveUpdate`]s: hunks in messages of up to 200 and [`LiveUpdate::Synced`];
    /// when a move brings a commit that touches the file, [`LiveUpdate::Restart`] and the
    /// whole new blame (a move that does not touch the file is only a new `Synced`). A file
    /// missing from the branch when the stream starts is `NotFound`; a branch that does not
    /// exist (yet or any more), or a file a move deleted, is an empty blame. Needs read scope;
    /// ends as [`RepoService::live_log`] does.
    pub async fn live_blame(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        query: LiveBlameQuery,
    ) -> Result<BoxStream<'static, Result<LiveUpdate<BlameHunk>>>> {
        let events = self.subscribe_repo(cx, repo, None)?;
        let follow = self.followed(cx, repo, query.follow).await?;
        let tip = self.tip(cx, repo, &follow).await?;
        // The first blame before the stream starts, so a path that is not in the branch is
        // an error to the caller (later, a file deleted by a move is an empty blame).
        let first = match tip {
            Some(t) => {
                let q = BlameQuery {
                    path: query.path.clone(),
                    rev: Rev::from(t),
                    lines: None,
                };
                self.blame(cx, repo, q).await?
            }
            None => Vec::new(),
        };
        let (tx, rx) = mpsc::channel(LIVE_BUFFER);
        let (svc, cx, repo) = (self.clone(), cx.clone(), repo.clone());
        tokio::spawn(async move {
            let out = Out(tx);
            let run =
                svc.run_live_blame(&cx, &repo, &follow, &query.path, tip, first, events, &out);
            if let Err(e) = run.await {
                out.fail(e).await;
            }
        });
        Ok(stream(rx))
    }

    async fn blame_or_empty(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        path: &RepoPath,
        at: Oid,
    ) -> Result<Vec<BlameHunk>> {
        let q = BlameQuery {
            path: path.clone(),
            rev: Rev::from(at),
            lines: None,
        };
        match self.blame(cx, repo, q).await {
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
            other => other,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_live_blame(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        follow: &RefName,
        path: &RepoPath,
        mut tip: Option<Oid>,
        mut hunks: Vec<BlameHunk>,
        mut events: EventSubscription,
        out: &Out<BlameHunk>,
    ) -> Result<()> {
        let send_all = |hunks: Vec<BlameHunk>| async move {
            for chunk in hunks.chunks(PAGE) {
                out.items(chunk.to_vec()).await?;
            }
            Ok::<_, Gone>(())
        };
        if send_all(std::mem::take(&mut hunks)).await.is_err()
            || out.send(LiveUpdate::Synced { tip }).await.is_err()
        {
            return Ok(());
        }
        while let Some(now) = self.moved(cx, repo, follow, tip, &mut events).await? {
            // Unchanged when the branch fast-forwarded over commits none of which touch the
            // file: blame only looks at the commits that do.
            let unchanged = match (tip, now) {
                (Some(old), Some(new)) => {
                    self.is_ancestor(cx, repo, &Rev::from(old), &Rev::from(new))
                        .await?
                        && self
                            .log(
                                cx,
                                repo,
                                LogQuery {
                                    range: RevRange::TwoDot(Rev::from(old), Rev::from(new)),
                                    path: Some(path.clone()),
                                    limit: 1,
                                    offset: 0,
                                    first_parent: false,
                                    follow: false,
                                },
                            )
                            .await?
                            .is_empty()
                }
                _ => false,
            };
            tip = now;
            if !unchanged {
                let hunks = match now {
                    Some(n) => self.blame_or_empty(cx, repo, path, n).await?,
                    None => Vec::new(),
                };
                if out.send(LiveUpdate::Restart { tip }).await.is_err()
                    || send_all(hunks).await.is_err()
                {
                    return Ok(());
                }
            }
            if out.send(LiveUpdate::Synced { tip }).await.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }
}
