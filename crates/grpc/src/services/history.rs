//! `gitapi.v1.HistoryService`: log (a page, or a stream), blame (streamed in batches of
//! hunks) and ancestry.

use tonic::Request;

use gitapi_service::{LiveBlameQuery, LiveLogQuery, LiveUpdate};

use crate::convert::{RepoRequest as _, branch, opt, path, repo, rev, text};
use crate::pb;
use crate::pb::history_service_server::HistoryService;

use super::{Answer, Handlers, Stream, reply, stream};

/// Hunks per `Blame` message.
const BLAME_BATCH: usize = 256;

/// A live update as the proto carries it: its kind, its items, and its tip (empty for none).
fn live<T>(u: LiveUpdate<T>) -> (i32, Vec<T>, String) {
    let kind = |k: pb::LiveUpdateKind| k as i32;
    match u {
        LiveUpdate::Items { items } => (kind(pb::LiveUpdateKind::Items), items, String::new()),
        LiveUpdate::Restart { tip } => (kind(pb::LiveUpdateKind::Restart), Vec::new(), text(tip)),
        LiveUpdate::Synced { tip } => (kind(pb::LiveUpdateKind::Synced), Vec::new(), text(tip)),
    }
}

#[tonic::async_trait]
impl HistoryService for Handlers {
    type StreamLogStream = Stream<pb::StreamLogResponse>;
    type BlameStream = Stream<pb::BlameResponse>;
    type WatchLogStream = Stream<pb::WatchLogResponse>;
    type WatchBlameStream = Stream<pb::WatchBlameResponse>;

    async fn watch_log(&self, req: Request<pb::WatchLogRequest>) -> Answer<Self::WatchLogStream> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.into_inner();
                let query = LiveLogQuery {
                    follow: opt(&r.branch, branch)?,
                    path: opt(&r.path, path)?,
                    first_parent: r.first_parent,
                };
                let updates = self.svc.live_log(&cx, &repo(&r.repository)?, query).await?;
                Ok(stream(updates, |u| {
                    let (kind, commits, tip) = live(u);
                    pb::WatchLogResponse {
                        kind,
                        commits: commits.iter().map(Into::into).collect(),
                        tip,
                    }
                }))
            }
            .await,
        )
    }

    async fn watch_blame(
        &self,
        req: Request<pb::WatchBlameRequest>,
    ) -> Answer<Self::WatchBlameStream> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.into_inner();
                let query = LiveBlameQuery {
                    follow: opt(&r.branch, branch)?,
                    path: path(&r.path)?,
                };
                let updates = self
                    .svc
                    .live_blame(&cx, &repo(&r.repository)?, query)
                    .await?;
                Ok(stream(updates, |u| {
                    let (kind, hunks, tip) = live(u);
                    pb::WatchBlameResponse {
                        kind,
                        hunks: hunks.iter().map(Into::into).collect(),
                        tip,
                    }
                }))
            }
            .await,
        )
    }

    async fn log(&self, req: Request<pb::LogRequest>) -> Answer<pb::LogResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, q) = req.into_inner().parse()?;
                let commits = self.svc.log(&cx, &name, q).await?;
                Ok(pb::LogResponse {
                    commits: commits.iter().map(Into::into).collect(),
                })
            }
            .await,
        )
    }

    async fn stream_log(&self, req: Request<pb::LogRequest>) -> Answer<Self::StreamLogStream> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, q) = req.into_inner().parse()?;
                let commits = self.svc.log_stream(&cx, &name, q).await?;
                Ok(stream(commits, |c| pb::StreamLogResponse {
                    commit: Some((&c).into()),
                }))
            }
            .await,
        )
    }

    async fn blame(&self, req: Request<pb::BlameRequest>) -> Answer<Self::BlameStream> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, q) = req.into_inner().parse()?;
                // The service blames whole, under the call's deadline (a blame past it is
                // stopped and answers DEADLINE_EXCEEDED); the door streams the hunks.
                let hunks = self.svc.blame(&cx, &name, q).await?;
                let batches: Vec<_> = hunks
                    .chunks(BLAME_BATCH)
                    .map(|b| {
                        Ok(pb::BlameResponse {
                            hunks: b.iter().map(Into::into).collect(),
                        })
                    })
                    .collect();
                let out: Stream<pb::BlameResponse> = Box::pin(futures::stream::iter(batches));
                Ok(out)
            }
            .await,
        )
    }

    async fn merge_base(
        &self,
        req: Request<pb::MergeBaseRequest>,
    ) -> Answer<pb::MergeBaseResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let base = self
                    .svc
                    .merge_base(&cx, &repo(&r.repository)?, &rev(&r.a)?, &rev(&r.b)?)
                    .await?;
                Ok(pb::MergeBaseResponse {
                    oid: base.map(|o| o.to_string()).unwrap_or_default(),
                })
            }
            .await,
        )
    }

    async fn is_ancestor(
        &self,
        req: Request<pb::IsAncestorRequest>,
    ) -> Answer<pb::IsAncestorResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let is_ancestor = self
                    .svc
                    .is_ancestor(
                        &cx,
                        &repo(&r.repository)?,
                        &rev(&r.ancestor)?,
                        &rev(&r.descendant)?,
                    )
                    .await?;
                Ok(pb::IsAncestorResponse { is_ancestor })
            }
            .await,
        )
    }

    async fn ahead_behind(
        &self,
        req: Request<pb::AheadBehindRequest>,
    ) -> Answer<pb::AheadBehindResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let counts = self
                    .svc
                    .ahead_behind(&cx, &repo(&r.repository)?, &rev(&r.a)?, &rev(&r.b)?)
                    .await?;
                Ok(pb::AheadBehindResponse {
                    counts: Some((&counts).into()),
                })
            }
            .await,
        )
    }
}
