//! The RPC handlers, one file per proto service. Each handler is three steps: parse the
//! request into core types, call one [`RepoService`] method, map the answer or the error.

use futures::stream::BoxStream;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

use gitapi_core::Result;
use gitapi_service::{CallContext, RepoService};

use crate::pb;

mod admin;
mod commits;
mod diff;
mod history;
mod merge;
mod refs;
mod repositories;
mod transfer;
mod trees_blobs;
mod workspaces;

/// What a unary handler answers.
type Answer<T> = std::result::Result<Response<T>, Status>;

/// What a streaming handler streams.
type Stream<T> = BoxStream<'static, std::result::Result<T, Status>>;

/// The answer of a handler's body: a response, or the error's status from the table.
fn reply<T>(r: Result<T>) -> Answer<T> {
    r.map(Response::new).map_err(|e| crate::error::status(&e))
}

/// A stream of core results as a stream of messages, errors mapped through the table.
fn stream<T, M>(
    s: impl futures::Stream<Item = Result<T>> + Send + 'static,
    f: impl Fn(T) -> M + Send + 'static,
) -> Stream<M> {
    use futures::StreamExt as _;
    s.map(move |r| r.map(&f).map_err(|e| crate::error::status(&e)))
        .boxed()
}

/// The handlers of every service: the service, and whether the server drains (which ends
/// the endless streams, `WatchRefs`, so a graceful shutdown is not held up by them).
#[derive(Debug, Clone)]
pub(crate) struct Handlers {
    svc: RepoService,
    draining: tokio::sync::watch::Receiver<bool>,
}

impl Handlers {
    /// The caller of a request.
    fn cx<T>(&self, req: &Request<T>) -> Result<CallContext> {
        crate::call::context(&self.svc, req.metadata())
    }
}

/// Every service of the door over `svc`. Messages may be as large as the service's body limit
/// (the REST door's bound) both ways; `StreamBlob` and `UploadCommitFiles` carry larger content.
pub(crate) fn routes(svc: RepoService, draining: tokio::sync::watch::Receiver<bool>) -> Routes {
    let max = svc.limits().max_body_bytes.max(4 * 1024 * 1024);
    let h = Handlers { svc, draining };
    macro_rules! svc {
        ($($server:ident)::+) => {
            $($server)::+::<Handlers>::new(h.clone())
                .max_decoding_message_size(max)
                .max_encoding_message_size(max)
        };
    }
    Routes::new(svc!(pb::repository_service_server::RepositoryServiceServer))
        .add_service(svc!(pb::ref_service_server::RefServiceServer))
        .add_service(svc!(pb::commit_service_server::CommitServiceServer))
        .add_service(svc!(pb::tree_blob_service_server::TreeBlobServiceServer))
        .add_service(svc!(pb::workspace_service_server::WorkspaceServiceServer))
        .add_service(svc!(pb::diff_service_server::DiffServiceServer))
        .add_service(svc!(pb::history_service_server::HistoryServiceServer))
        .add_service(svc!(pb::merge_service_server::MergeServiceServer))
        .add_service(svc!(pb::admin_service_server::AdminServiceServer))
        .add_service(svc!(pb::transfer_service_server::TransferServiceServer))
}
