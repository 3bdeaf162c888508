//! Telemetry of HTTP requests: an id for each, a span around each, and the request duration
//! histogram.
//!
//! [`instrument`] wraps the whole application (every door on the port): it keeps a safe client
//! `x-request-id` or makes one, returns it on the response, opens the request's span (tower-http
//! `TraceLayer`), and records [`names::HTTP_REQUEST_DURATION`] when the response body ends (a
//! stream is measured to its end, not to its first byte). Labels it cannot see from outside
//! are noted from inside while the request runs, through a task-local record:
//!
//! - [`instrument_door`] wraps one door's router and notes the door and the route template
//!   axum matched (`/v1/repos/{repo}/refs`, never the raw path);
//! - the service notes the operation, repository and engine ([`note_operation`]) and the
//!   cache outcome ([`note_cache`]); these also become fields of the request's span, so an
//!   exported trace has one span per request with all of them.
//!
//! gRPC calls reach the gRPC router by content type, without axum's routing: their route label
//! is the RPC path (`/gitapi.v1.Refs/ListRefs`) unless the call was answered `UNIMPLEMENTED`,
//! so an unknown path cannot add a label value.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::MatchedPath;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Frame;
use tower::{Layer, Service};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId as HeaderId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::names;

/// The request id header, as tower-http and the doors read it.
pub const REQUEST_ID: &str = "x-request-id";

/// The longest request id taken from a client; a longer one is replaced.
const MAX_REQUEST_ID: usize = 128;

/// Whether a client's request id may be logged as it is: short printable ASCII, so it cannot
/// forge log lines or grow without bound.
pub fn is_safe_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID && id.bytes().all(|b| b.is_ascii_graphic())
}

/// A new process-unique request id. The process id keeps ids of two nodes or two restarts
/// apart in shared logs.
pub fn new_request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:x}-{n:x}", std::process::id())
}

/// What is learnt about a request while it runs (see the module doc).
#[derive(Debug)]
struct Notes {
    span: tracing::Span,
    door: OnceLock<&'static str>,
    route: OnceLock<String>,
    engine: OnceLock<&'static str>,
}

tokio::task_local! {
    static NOTES: Arc<Notes>;
}

fn with_notes(f: impl FnOnce(&Notes)) {
    let _ = NOTES.try_with(|n| f(n));
}

/// Notes the operation a request runs: its span gets `op`, `repo` and `engine`, and its
/// duration is labelled with the engine. A request that runs several operations (a GraphQL
/// query) keeps the first engine and the last operation. Outside a request it does nothing.
pub fn note_operation(op: &'static str, repo: &str, engine: &'static str) {
    with_notes(|n| {
        n.span.record("op", op);
        n.span.record("repo", repo);
        n.span.record("engine", engine);
        let _ = n.engine.set(engine);
    });
}

/// Notes how the cache answered a request (`hit`, `miss`, `bypass`): a field of its span.
pub fn note_cache(outcome: &'static str) {
    with_notes(|n| {
        n.span.record("cache", outcome);
    });
}

/// Says which door a request of a router belongs to, from its matched route template and
/// headers (so a door can call its event streams `stream`).
pub type Classify = fn(route: &str, headers: &HeaderMap) -> &'static str;

/// Wraps one door's router so its requests are labelled with the door `classify` names and
/// the route template axum matched.
pub fn instrument_door(router: Router, classify: Classify) -> Router {
    router.layer(tower::util::MapRequestLayer::new(
        move |req: Request<Body>| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(|m| m.as_str().to_owned());
            with_notes(|n| {
                let route = route.as_deref().unwrap_or("unmatched");
                let door = classify(route, req.headers());
                let _ = n.door.set(door);
                let _ = n.route.set(route.to_owned());
                n.span.record("door", door);
                n.span.record("route", route);
            });
            req
        },
    ))
}

#[derive(Clone, Copy, Debug)]
struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<HeaderId> {
        HeaderValue::from_str(&new_request_id())
            .ok()
            .map(HeaderId::new)
    }
}

/// Drops a client's request id that is not safe to log, so one is made in its place and the
/// response, the logs and the doors all carry the same id.
fn drop_unsafe_id(mut req: Request<Body>) -> Request<Body> {
    let unsafe_id = req
        .headers()
        .get(REQUEST_ID)
        .is_some_and(|v| !v.to_str().is_ok_and(is_safe_request_id));
    if unsafe_id {
        req.headers_mut().remove(REQUEST_ID);
    }
    req
}

fn request_span(req: &Request<Body>) -> tracing::Span {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        otel.kind = "server",
        request_id = id,
        method = %req.method(),
        door = tracing::field::Empty,
        route = tracing::field::Empty,
        op = tracing::field::Empty,
        repo = tracing::field::Empty,
        engine = tracing::field::Empty,
        cache = tracing::field::Empty,
        status = tracing::field::Empty,
    )
}

/// Wraps the whole application: request ids, the request span and the duration histogram
/// (see the module doc). `is_grpc` says which requests went to the gRPC door.
pub fn instrument(app: Router, is_grpc: fn(&HeaderMap) -> bool) -> Router {
    app.layer(HttpMetricsLayer { is_grpc })
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeId))
        .layer(tower::util::MapRequestLayer::new(drop_unsafe_id))
}

/// Records [`names::HTTP_REQUEST_DURATION`] for every request, when its response body ends.
#[derive(Clone, Copy, Debug)]
pub struct HttpMetricsLayer {
    is_grpc: fn(&HeaderMap) -> bool,
}

impl<S> Layer<S> for HttpMetricsLayer {
    type Service = HttpMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetrics {
            inner,
            is_grpc: self.is_grpc,
        }
    }
}

/// The service of [`HttpMetricsLayer`].
#[derive(Clone, Debug)]
pub struct HttpMetrics<S> {
    inner: S,
    is_grpc: fn(&HeaderMap) -> bool,
}

impl<S> Service<Request<Body>> for HttpMetrics<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let started = Instant::now();
        let notes = Arc::new(Notes {
            span: tracing::Span::current(),
            door: OnceLock::new(),
            route: OnceLock::new(),
            engine: OnceLock::new(),
        });
        let grpc = (self.is_grpc)(req.headers());
        let method = req.method().as_str().to_owned();
        let path = req.uri().path().to_owned();
        let fut = NOTES.sync_scope(Arc::clone(&notes), || self.inner.call(req));
        Box::pin(async move {
            let res = NOTES.scope(Arc::clone(&notes), fut).await?;
            let (parts, body) = res.into_parts();
            let grpc_status = parts
                .headers
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let record = Record {
                notes,
                started,
                method,
                path,
                grpc,
                http_status: parts.status.as_u16(),
                grpc_status,
                done: false,
            };
            Ok(Response::from_parts(
                parts,
                Body::new(MeteredBody {
                    inner: body,
                    record,
                }),
            ))
        })
    }
}

/// What a finished request is recorded with; recorded once, when the body ends or is dropped.
struct Record {
    notes: Arc<Notes>,
    started: Instant,
    method: String,
    path: String,
    grpc: bool,
    http_status: u16,
    grpc_status: Option<String>,
    done: bool,
}

impl Record {
    fn finish(&mut self) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let grpc_status = self.grpc_status.take();
        let (door, route, status) = if self.grpc {
            // A gRPC call that ended without a status (the client went away) is CANCELLED (1).
            let code = grpc_status.unwrap_or_else(|| "1".to_owned());
            let route = if code == "12" || !self.path.starts_with('/') {
                "unimplemented".to_owned()
            } else {
                self.path.clone()
            };
            ("grpc", route, code)
        } else {
            let door = self.notes.door.get().copied().unwrap_or("none");
            let route = self
                .notes
                .route
                .get()
                .cloned()
                .unwrap_or_else(|| "unmatched".to_owned());
            (door, route, self.http_status.to_string())
        };
        let engine = self.notes.engine.get().copied().unwrap_or("none");
        let span = &self.notes.span;
        span.record("status", status.as_str());
        span.record("door", door);
        span.record("route", route.as_str());
        // The exported span's name, `GET /v1/repos/{repo}/refs` as OpenTelemetry's HTTP
        // conventions name server spans. `otel.name` cannot do it: the span has started by
        // now, and tracing-opentelemetry applies that field only to spans not yet started.
        {
            use opentelemetry::trace::TraceContextExt as _;
            use tracing_opentelemetry::OpenTelemetrySpanExt as _;
            span.context()
                .span()
                .update_name(format!("{} {route}", self.method));
        }
        ::metrics::histogram!(
            names::HTTP_REQUEST_DURATION,
            "door" => door,
            "route" => route,
            "method" => self.method.clone(),
            "engine" => engine,
            "status" => status,
        )
        .record(self.started.elapsed().as_secs_f64());
    }
}

pin_project_lite::pin_project! {
    /// A response body that records its request when it ends (or is dropped unfinished).
    struct MeteredBody {
        #[pin]
        inner: Body,
        record: Record,
    }

    impl PinnedDrop for MeteredBody {
        fn drop(this: Pin<&mut Self>) {
            this.project().record.finish();
        }
    }
}

impl http_body::Body for MeteredBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let out = this.inner.poll_frame(cx);
        match &out {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(status) = frame
                    .trailers_ref()
                    .and_then(|t| t.get("grpc-status"))
                    .and_then(|v| v.to_str().ok())
                {
                    this.record.grpc_status = Some(status.to_owned());
                }
            }
            Poll::Ready(None) => this.record.finish(),
            _ => {}
        }
        out
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
