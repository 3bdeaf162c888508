//! `gitapi.v1.HistoryService`: log (a page, or a stream), blame (streamed in batches of
//! hunks) and ancestry.

use tonic::Request;

use crate::convert::{RepoRequest as _, repo, rev};
use crate::pb;
use crate::pb::history_service_server::HistoryService;

use super::{Answer, Handlers, Stream, reply, stream};

/// Hunks per `Blame` message.
const BLAME_BATCH: usize = 256;

#[tonic::async_trait]
impl HistoryService for Handlers {
    type StreamLogStream = Stream<pb::StreamLogResponse>;
    type BlameStream = Stream<pb::BlameResponse>;

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
