//! The gRPC door of gitapi: protobuf services (`proto/gitapi/v1/*.proto`, compiled at build
//! time with protox and tonic-prost-build, no system `protoc`), with server reflection (v1 and
//! v1alpha) and the standard health service, served beside HTTP on the main port.
//!
//! A thin adapter over [`gitapi_service::RepoService`], like the REST door: each RPC
//! authenticates the caller from the `authorization` metadata (a bearer token), takes the
//! caller's `grpc-timeout` as the call's deadline, parses the request into core types
//! ([`convert`]), calls one service method and maps an error through the one error table
//! ([`error::status`]: the table's gRPC code, a `google.rpc.ErrorInfo` with the stable code,
//! and typed details for a lost compare-and-swap or a merge conflict). Big answers stream: the
//! log, recursive tree listings, blame, blob content (in chunks) and diffs (file by file).
//!
//! Order of operations: [`GrpcDoor::new`] builds the services, reflection and health (every
//! service `SERVING`); [`GrpcDoor::mount`] puts them beside an HTTP router, routing requests
//! whose `content-type` is `application/grpc…` to gRPC; on shutdown
//! [`GrpcDoor::drain`] turns every health status to `NOT_SERVING` before the server drains.
//!
//! ```no_run
//! # async fn demo(svc: gitapi_service::RepoService, http: axum::Router) {
//! let grpc = gitapi_grpc::GrpcDoor::new(svc).await;
//! let app: axum::Router = grpc.mount(http);
//! // ... serve `app`; when shutting down:
//! grpc.drain().await;
//! # }
//! ```
#![deny(missing_docs)]

use std::convert::Infallible;

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use futures::future::BoxFuture;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::{HealthReporter, HealthService};
use tower::{Service, ServiceExt as _};

use gitapi_service::RepoService;

mod call;
pub mod convert;
pub mod error;
mod services;

/// The generated protobuf messages, clients and servers of `gitapi.v1`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("gitapi.v1");
}

/// The encoded `FileDescriptorSet` of every `gitapi.v1` proto file (what reflection serves).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/gitapi_descriptor.bin"));

/// The full names of the services of this door, as health and reflection name them.
pub const SERVICES: [&str; 10] = [
    "gitapi.v1.RepositoryService",
    "gitapi.v1.RefService",
    "gitapi.v1.CommitService",
    "gitapi.v1.TreeBlobService",
    "gitapi.v1.WorkspaceService",
    "gitapi.v1.DiffService",
    "gitapi.v1.HistoryService",
    "gitapi.v1.MergeService",
    "gitapi.v1.AdminService",
    "gitapi.v1.TransferService",
];

/// Every operation of [`RepoService`] and the RPCs (`Service/Method`) that call it. A test
/// holds it to the service's source and to the descriptor, so an operation without an RPC
/// fails the build's tests.
pub const OPERATIONS: &[(&str, &[&str])] = &[
    // repositories
    ("create_repo", &["RepositoryService/CreateRepository"]),
    ("list_repos", &["RepositoryService/ListRepositories"]),
    ("repo_info", &["RepositoryService/GetRepository"]),
    ("delete_repo", &["RepositoryService/DeleteRepository"]),
    ("sync_mirror", &["RepositoryService/SyncMirror"]),
    // refs
    ("list_refs", &["RefService/ListRefs"]),
    ("get_ref", &["RefService/GetRef"]),
    ("get_tag", &["RefService/GetTag"]),
    ("resolve", &["RefService/ResolveRevision"]),
    ("create_branch", &["RefService/CreateBranch"]),
    ("create_tag", &["RefService/CreateTag"]),
    ("delete_ref", &["RefService/DeleteRef"]),
    ("rename_branch", &["RefService/RenameBranch"]),
    ("update_refs", &["RefService/UpdateRefs"]),
    ("point_ref", &["RefService/PointRef"]),
    ("subscribe", &["RefService/WatchRefs"]),
    ("subscribe_repo", &["RefService/WatchRefs"]),
    // commits
    ("get_commit", &["CommitService/GetCommit"]),
    ("get_commits", &["CommitService/GetCommits"]),
    ("commit_payload", &["CommitService/GetCommitPayload"]),
    (
        "commit_files",
        &[
            "CommitService/CommitFiles",
            "CommitService/UploadCommitFiles",
        ],
    ),
    ("commit_index", &["CommitService/CommitIndex"]),
    ("amend", &["CommitService/Amend"]),
    ("reset", &["CommitService/Reset"]),
    // trees and blobs
    ("list_tree", &["TreeBlobService/ListTree"]),
    ("list_tree_all", &["TreeBlobService/StreamTree"]),
    ("blob_header", &["TreeBlobService/GetBlobHeader"]),
    ("read_blob", &["TreeBlobService/ReadBlob"]),
    ("stream_blob", &["TreeBlobService/StreamBlob"]),
    ("archive", &["TreeBlobService/GetArchive"]),
    // workspaces, work-tree files, index and stash
    ("create_workspace", &["WorkspaceService/CreateWorkspace"]),
    ("list_workspaces", &["WorkspaceService/ListWorkspaces"]),
    ("workspace", &["WorkspaceService/GetWorkspace"]),
    ("remove_workspace", &["WorkspaceService/RemoveWorkspace"]),
    ("status", &["WorkspaceService/GetStatus"]),
    ("put_file", &["WorkspaceService/PutFile"]),
    ("delete_file", &["WorkspaceService/DeleteFile"]),
    ("move_file", &["WorkspaceService/MoveFile"]),
    ("stage", &["WorkspaceService/Stage"]),
    ("unstage", &["WorkspaceService/Unstage"]),
    ("stage_patch", &["WorkspaceService/StagePatch"]),
    ("discard", &["WorkspaceService/Discard"]),
    ("stash_list", &["WorkspaceService/ListStash"]),
    ("stash_save", &["WorkspaceService/StashSave"]),
    ("stash_apply", &["WorkspaceService/StashApply"]),
    ("stash_drop", &["WorkspaceService/StashDrop"]),
    // diff
    ("diff", &["DiffService/Diff"]),
    ("diff_by_id", &["DiffService/DiffById"]),
    // history
    ("log", &["HistoryService/Log"]),
    ("log_stream", &["HistoryService/StreamLog"]),
    ("blame", &["HistoryService/Blame"]),
    ("merge_base", &["HistoryService/MergeBase"]),
    ("is_ancestor", &["HistoryService/IsAncestor"]),
    ("ahead_behind", &["HistoryService/AheadBehind"]),
    ("live_log", &["HistoryService/WatchLog"]),
    ("live_blame", &["HistoryService/WatchBlame"]),
    // merge and rebase
    ("merge", &["MergeService/Merge"]),
    ("rebase", &["MergeService/Rebase"]),
    ("cherry_pick", &["MergeService/CherryPick"]),
    ("revert", &["MergeService/Revert"]),
    // admin
    ("gc", &["AdminService/GarbageCollect"]),
    ("config_get", &["AdminService/GetConfig"]),
    ("config_set", &["AdminService/SetConfig"]),
    ("config_list", &["AdminService/ListConfig"]),
    ("protections", &["AdminService/GetProtections"]),
    ("protect", &["AdminService/Protect"]),
    ("unprotect", &["AdminService/Unprotect"]),
    ("backend_status", &["AdminService/GetBackend"]),
    ("set_backend", &["AdminService/SetBackend"]),
    // transfers
    ("advertise_refs", &["TransferService/AdvertiseRefs"]),
    ("upload_pack", &["TransferService/UploadPack"]),
    ("receive_pack", &["TransferService/ReceivePack"]),
];

/// The gRPC door: its services with reflection and health, ready to mount beside HTTP.
pub struct GrpcDoor {
    router: Router,
    health: HealthReporter,
    draining_tx: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for GrpcDoor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcDoor")
            .field("services", &SERVICES)
            .finish_non_exhaustive()
    }
}

/// Whether a request is a gRPC call (`content-type: application/grpc`, `application/grpc+proto`,
/// ...), as the gRPC over HTTP/2 specification names it.
pub fn is_grpc(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"))
}

impl GrpcDoor {
    /// The services over `svc`, with reflection (v1 and v1alpha) and health, every service
    /// (and the server as a whole, `""`) reported `SERVING`.
    pub async fn new(svc: RepoService) -> Self {
        let health = HealthReporter::new();
        for name in SERVICES.iter().copied().chain([""]) {
            health
                .set_service_status(name, ServingStatus::Serving)
                .await;
        }
        let (draining_tx, draining_rx) = tokio::sync::watch::channel(false);
        let health_service = HealthServer::new(DrainingHealth {
            inner: HealthService::from_health_reporter(health.clone()),
            draining: draining_rx.clone(),
        });
        let mut routes = services::routes(svc, draining_rx).add_service(health_service);
        // The descriptor set is built from our own protos at compile time: it always decodes.
        // Should it not, the door still serves every RPC, only without reflection.
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        match reflection().build_v1() {
            Ok(v1) => routes = routes.add_service(v1),
            Err(e) => tracing::error!(error = %e, "grpc reflection v1 is not available"),
        }
        match reflection().build_v1alpha() {
            Ok(v1alpha) => routes = routes.add_service(v1alpha),
            Err(e) => tracing::error!(error = %e, "grpc reflection v1alpha is not available"),
        }
        // gRPC-Web (`application/grpc-web`, `-text`) is translated to gRPC in front of the
        // services, so browsers and grpc-web clients reach the same RPCs; plain gRPC passes
        // through untouched.
        let web = tower::Layer::layer(&tonic_web::GrpcWebLayer::new(), routes.prepare());
        Self {
            router: Router::new().fallback_service(web),
            health,
            draining_tx,
        }
    }

    /// The gRPC router alone (every path is `/package.Service/Method`).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// `http` with this door beside it: a request whose `content-type` is `application/grpc…`
    /// goes to gRPC, every other request to `http`, on the same port and connection.
    pub fn mount(&self, http: Router) -> Router {
        Router::new().fallback_service(Steer {
            grpc: self.router.clone(),
            http,
        })
    }

    /// Reports every service `NOT_SERVING` and ends the `WatchRefs` streams: called when the
    /// server starts to drain, so health-checking clients and load balancers move away before
    /// connections close, and endless streams do not hold the shutdown up.
    pub async fn drain(&self) {
        for name in SERVICES.iter().copied().chain([""]) {
            self.health
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        self.draining_tx.send_replace(true);
    }
}

/// The standard health service, whose `Watch` streams end when the server drains (after a
/// last `NOT_SERVING`): tonic-health's own stream lasts until the client hangs up, and one open
/// stream held the graceful shutdown for as long as a load balancer kept watching.
struct DrainingHealth {
    inner: HealthService,
    draining: tokio::sync::watch::Receiver<bool>,
}

#[tonic::async_trait]
impl Health for DrainingHealth {
    async fn check(
        &self,
        request: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<HealthCheckResponse>, tonic::Status> {
        self.inner.check(request).await
    }

    type WatchStream =
        futures::stream::BoxStream<'static, Result<HealthCheckResponse, tonic::Status>>;

    async fn watch(
        &self,
        request: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<Self::WatchStream>, tonic::Status> {
        use futures::StreamExt as _;
        let statuses = self.inner.watch(request).await?.into_inner();
        let mut draining = self.draining.clone();
        let drained = async move {
            // An error means the door is gone, which ends the stream as well.
            let _ = draining.wait_for(|d| *d).await;
        };
        let last = HealthCheckResponse {
            status: tonic_health::pb::health_check_response::ServingStatus::NotServing.into(),
        };
        let stream = statuses
            .take_until(drained)
            .chain(futures::stream::once(async move { Ok(last) }));
        Ok(tonic::Response::new(stream.boxed()))
    }
}

/// Routes a request to gRPC or HTTP by its content type.
#[derive(Clone)]
struct Steer {
    grpc: Router,
    http: Router,
}

impl Service<Request> for Steer {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        // Both routers are always ready; each call clones the one it uses.
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let target = if is_grpc(req.headers()) {
            self.grpc.clone()
        } else {
            self.http.clone()
        };
        Box::pin(target.oneshot(req))
    }
}
