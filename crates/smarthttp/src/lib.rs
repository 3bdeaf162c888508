//! The Smart HTTP door of gitapi: `git clone`, `fetch`, `ls-remote` and `push` (and gitwire,
//! isomorphic-git, any Git client) against gitapi's repositories, under the same tokens,
//! protection rules, locks, events and durability as every other door.
//!
//! Routes, beside `/v1` (the `.git` suffix is optional):
//!
//! | route | what |
//! |---|---|
//! | `GET /{repo}.git/info/refs?service=git-upload-pack` | v2 capabilities (when the client sends `Git-Protocol: version=2`) or the v0 ref advertisement |
//! | `POST /{repo}.git/git-upload-pack` | v2 commands (`ls-refs` answered here, `fetch` and `object-info` by `git upload-pack`), or v0 negotiation |
//! | `GET /{repo}.git/info/refs?service=git-receive-pack` | the push advertisement |
//! | `POST /{repo}.git/git-receive-pack` | a push: commands, then a pack |
//!
//! Order of operations for each request: authenticate (`Authorization: Basic` with the token
//! as password, or `Bearer`; a 401 carries `WWW-Authenticate: Basic realm="gitapi"` so git asks
//! its credential helper), parse the protocol into service types, call one method of the
//! service ([`RepoService::advertise_refs`], [`RepoService::upload_pack`],
//! [`RepoService::receive_pack`]), frame the answer. Gzip request bodies (git compresses big
//! negotiations) are inflated on the way in; packs stream both ways.
//!
//! ```no_run
//! # fn demo(svc: gitapi_service::RepoService) {
//! let app: axum::Router = gitapi_smarthttp::routes(svc);
//! # let _ = app; }
//! ```
#![deny(missing_docs)]

mod pktline;
mod protocol;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;

use gitapi_core::{Error, ErrorKind, RepoName, Result};
use gitapi_service::{CallContext, Door, GitProtocol, RepoService, RequestId, UploadPack};

use crate::pktline::{Packet, Reader};
use crate::protocol::{Commands, LsRefs};

/// The Smart HTTP routes over `svc`, to merge beside the other doors.
pub fn routes(svc: RepoService) -> Router {
    Router::new()
        .route("/{repo}/info/refs", get(info_refs))
        .route("/{repo}/git-upload-pack", post(upload_pack))
        .route("/{repo}/git-receive-pack", post(receive_pack))
        .layer(tower_http::decompression::RequestDecompressionLayer::new())
        .with_state(svc)
}

/// An error as git clients show it: the status from the one error table and the message as
/// plain text (git prints it), with the headers that make clients ask for credentials or retry.
#[derive(Debug)]
struct GitError(Error);

impl From<Error> for GitError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl IntoResponse for GitError {
    fn into_response(self) -> Response {
        let kind = self.0.kind();
        let status = StatusCode::from_u16(kind.codes().http_status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let text = if kind == ErrorKind::Internal {
            tracing::error!(error = %self.0, "smart http request failed");
            "internal error\n".to_owned()
        } else {
            format!("{}\n", self.0.message())
        };
        let mut res = (status, [(CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response();
        let headers = res.headers_mut();
        match kind {
            ErrorKind::Unauthenticated => {
                headers.insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"gitapi\""),
                );
            }
            ErrorKind::Unavailable => {
                headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        res
    }
}

/// `{repo}` or `{repo}.git`, as a validated name.
fn repo_name(raw: &str) -> Result<RepoName> {
    RepoName::new(raw.strip_suffix(".git").unwrap_or(raw))
}

/// The caller as a call context of this door.
fn caller(svc: &RepoService, headers: &HeaderMap) -> Result<CallContext> {
    let who = svc.authenticate(headers.get(AUTHORIZATION).map(HeaderValue::as_bytes))?;
    let id = headers.get("x-request-id").and_then(|v| v.to_str().ok());
    Ok(CallContext::new(who, Door::SmartHttp).with_request_id(RequestId::from_client(id)))
}

/// Whether the client asked for protocol v2 (`Git-Protocol: version=2`, possibly among other
/// colon-separated parameters).
fn protocol(headers: &HeaderMap) -> GitProtocol {
    let v2 = headers
        .get("git-protocol")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(':').any(|p| p.trim() == "version=2"));
    if v2 { GitProtocol::V2 } else { GitProtocol::V0 }
}

fn body_stream(req: Request) -> BoxStream<'static, Result<Bytes>> {
    req.into_body()
        .into_data_stream()
        .map(|chunk| {
            chunk.map_err(|e| Error::invalid(format!("reading the request body failed: {e}")))
        })
        .boxed()
}

fn answer(content_type: &'static str, body: Body) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// The query of `info/refs`.
#[derive(Debug, serde::Deserialize)]
struct InfoRefsQuery {
    service: Option<String>,
}

async fn info_refs(
    State(svc): State<RepoService>,
    Path(repo): Path<String>,
    Query(q): Query<InfoRefsQuery>,
    headers: HeaderMap,
) -> std::result::Result<Response, GitError> {
    let cx = caller(&svc, &headers)?;
    let repo = repo_name(&repo)?;
    match q.service.as_deref() {
        Some("git-upload-pack") => match protocol(&headers) {
            GitProtocol::V2 => {
                // Nothing about the repository is in a v2 advertisement, but the caller must
                // be allowed to read it (and it must exist) before it learns anything: the
                // cheapest read that checks both.
                svc.repo_info(&cx, &repo).await?;
                Ok(answer(
                    "application/x-git-upload-pack-advertisement",
                    Body::from(protocol::v2_capabilities()),
                ))
            }
            GitProtocol::V0 => {
                let req = UploadPack {
                    protocol: GitProtocol::V0,
                    advertise: true,
                };
                let refs = svc
                    .upload_pack(&cx, &repo, req, futures::stream::empty().boxed())
                    .await?;
                let head = futures::stream::once(async {
                    Ok::<_, Error>(Bytes::from(protocol::service_preamble("git-upload-pack")))
                });
                Ok(answer(
                    "application/x-git-upload-pack-advertisement",
                    Body::from_stream(head.chain(refs)),
                ))
            }
        },
        Some("git-receive-pack") => {
            cx.principal()
                .require(gitapi_service::Scope::Write, &repo)?;
            let ad = svc.advertise_refs(&cx, &repo).await?;
            Ok(answer(
                "application/x-git-receive-pack-advertisement",
                Body::from(protocol::receive_advertisement(
                    &ad,
                    svc.limits().push_options,
                )),
            ))
        }
        Some(other) => Err(Error::invalid(format!("unknown service {other:?}")).into()),
        None => Err(Error::new(
            ErrorKind::FailedPrecondition,
            "the dumb HTTP protocol is not served; use a git client that speaks smart HTTP",
        )
        .into()),
    }
}

async fn upload_pack(
    State(svc): State<RepoService>,
    Path(repo): Path<String>,
    req: Request,
) -> std::result::Result<Response, GitError> {
    let headers = req.headers().clone();
    let cx = caller(&svc, &headers)?;
    let repo = repo_name(&repo)?;
    let version = protocol(&headers);
    let body = body_stream(req);
    let content_type = "application/x-git-upload-pack-result";
    let body = match version {
        GitProtocol::V0 => body,
        GitProtocol::V2 => {
            let mut r = Reader::new(body);
            match r.next().await? {
                Some(p @ Packet::Data(_)) if p.text() == Some(b"command=ls-refs") => {
                    let args = LsRefs::read(&mut r).await?;
                    let ad = svc.advertise_refs(&cx, &repo).await?;
                    return Ok(answer(content_type, Body::from(args.answer(&ad))));
                }
                // The other advertised commands go to git whole, the packet read here first.
                // Anything else is refused here: once git's answer streams, its status is 200.
                Some(p @ Packet::Data(_))
                    if !matches!(
                        p.text(),
                        Some(b"command=fetch") | Some(b"command=object-info")
                    ) =>
                {
                    return Err(Error::invalid(format!(
                        "unknown protocol v2 command {:?}",
                        String::from_utf8_lossy(p.text().unwrap_or_default())
                    ))
                    .into());
                }
                Some(Packet::Data(d)) => {
                    let mut first = Vec::with_capacity(d.len() + 4);
                    pktline::put(&mut first, &d);
                    futures::stream::once(async move { Ok(Bytes::from(first)) })
                        .chain(r.rest())
                        .boxed()
                }
                _ => {
                    return Err(
                        Error::invalid("a protocol v2 request starts with a command").into(),
                    );
                }
            }
        }
    };
    let req = UploadPack {
        protocol: version,
        advertise: false,
    };
    let out = svc.upload_pack(&cx, &repo, req, body).await?;
    Ok(answer(content_type, Body::from_stream(out)))
}

async fn receive_pack(
    State(svc): State<RepoService>,
    Path(repo): Path<String>,
    req: Request,
) -> std::result::Result<Response, GitError> {
    let cx = caller(&svc, req.headers())?;
    let repo = repo_name(&repo)?;
    cx.principal()
        .require(gitapi_service::Scope::Write, &repo)?;
    let mut r = Reader::new(body_stream(req));
    let commands = Commands::read(&mut r).await?;
    let deletes_only = commands
        .request
        .commands
        .iter()
        .all(|c| c.new == gitapi_core::Oid::ZERO);
    let pack = if deletes_only && r.at_end().await? {
        None
    } else {
        Some(r.rest())
    };
    let report = svc.receive_pack(&cx, &repo, commands.request, pack).await?;
    Ok(answer(
        "application/x-git-receive-pack-result",
        Body::from(protocol::report_status(&report, commands.side_band)),
    ))
}
