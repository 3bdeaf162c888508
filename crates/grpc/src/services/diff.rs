//! `gitapi.v1.DiffService`: diffs streamed file by file. The service computes a diff whole
//! (it is cached by its id); the door streams its summary and then its files, so a client
//! can render the first files while later ones arrive and no message holds the whole diff.

use tonic::Request;

use gitapi_core::{Diff, DiffId};

use crate::convert::{RepoRequest as _, diff_messages, repo};
use crate::pb;
use crate::pb::diff_service_server::DiffService;

use super::{Answer, Handlers, Stream, reply};

fn file_by_file(d: Diff) -> Stream<pb::DiffResponse> {
    let msgs: Vec<_> = diff_messages(&d).map(Ok).collect();
    Box::pin(futures::stream::iter(msgs))
}

#[tonic::async_trait]
impl DiffService for Handlers {
    type DiffStream = Stream<pb::DiffResponse>;
    type DiffByIdStream = Stream<pb::DiffResponse>;

    async fn diff(&self, req: Request<pb::DiffRequest>) -> Answer<Self::DiffStream> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, d) = req.into_inner().parse()?;
                Ok(file_by_file(self.svc.diff(&cx, &name, d).await?))
            }
            .await,
        )
    }

    async fn diff_by_id(&self, req: Request<pb::DiffByIdRequest>) -> Answer<Self::DiffByIdStream> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.into_inner();
                let id = DiffId::from_string(r.id);
                let d = self.svc.diff_by_id(&cx, &repo(&r.repository)?, &id).await?;
                Ok(file_by_file(d))
            }
            .await,
        )
    }
}
