//! `gitapi.v1.MergeService`.

use tonic::Request;

use crate::convert::RepoRequest as _;
use crate::pb;
use crate::pb::merge_service_server::MergeService;

use super::{Answer, Handlers, reply};

#[tonic::async_trait]
impl MergeService for Handlers {
    async fn merge(&self, req: Request<pb::MergeRequest>) -> Answer<pb::MergeResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, m) = req.into_inner().parse()?;
                let out = self.svc.merge(&cx, &name, m).await?;
                Ok((&out).into())
            }
            .await,
        )
    }

    async fn rebase(&self, req: Request<pb::RebaseRequest>) -> Answer<pb::RebaseResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, r) = req.into_inner().parse()?;
                let out = self.svc.rebase(&cx, &name, r).await?;
                Ok((&out).into())
            }
            .await,
        )
    }

    async fn cherry_pick(&self, req: Request<pb::PickRequest>) -> Answer<pb::PickResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, p) = req.into_inner().parse()?;
                let c = self.svc.cherry_pick(&cx, &name, p).await?;
                Ok(pb::PickResponse {
                    commit: Some((&c).into()),
                })
            }
            .await,
        )
    }

    async fn revert(&self, req: Request<pb::PickRequest>) -> Answer<pb::PickResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, p) = req.into_inner().parse()?;
                let c = self.svc.revert(&cx, &name, p).await?;
                Ok(pb::PickResponse {
                    commit: Some((&c).into()),
                })
            }
            .await,
        )
    }
}
