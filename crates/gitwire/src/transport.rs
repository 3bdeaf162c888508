//! Smart HTTP transport: the three requests gitwire makes, with auth, headers, timeouts,
//! size limits and retries.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use crate::error::{Error, Result};
use crate::retry::{ExponentialBackoff, RetryPolicy};

/// Credentials sent with every request.
#[derive(Clone, Default)]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// HTTP basic auth.
    Basic {
        /// User name.
        user: String,
        /// Password or token.
        password: String,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    // Never print secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { user, .. } => write!(f, "Basic({user:?}, ***)"),
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

/// Response size limits per operation, in bytes. A response over its limit is cut off with
/// [`Error::TooLarge`] as soon as the limit is passed; it is never buffered whole.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Capability and ref advertisements (`info/refs`).
    pub advertisement: u64,
    /// `ls-refs` responses.
    pub ls_refs: u64,
    /// `fetch` responses (packs).
    pub fetch: u64,
    /// Responses to a push.
    pub push_response: u64,
    /// Any one object, after inflating or applying deltas.
    pub object: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            advertisement: 16 << 20,
            ls_refs: 64 << 20,
            fetch: 2 << 30,
            push_response: 16 << 20,
            object: 1 << 30,
        }
    }
}

/// How to talk to the server.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// Credentials.
    pub auth: Auth,
    /// Extra headers for every request.
    pub headers: Vec<(String, String)>,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Whole-request timeout.
    pub timeout: Option<Duration>,
    /// Connection timeout.
    pub connect_timeout: Option<Duration>,
    /// Response size limits.
    pub limits: Limits,
    /// When to retry.
    pub retry: Arc<dyn RetryPolicy>,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            auth: Auth::None,
            headers: Vec::new(),
            user_agent: format!("gitwire/{}", env!("CARGO_PKG_VERSION")),
            timeout: Some(Duration::from_secs(300)),
            connect_timeout: Some(Duration::from_secs(30)),
            limits: Limits::default(),
            retry: Arc::new(ExponentialBackoff::default()),
        }
    }
}

/// A source of response bytes, so response parsers run the same on a live HTTP body and on a
/// recorded one.
pub trait ByteSource: Send {
    /// The next chunk, or `None` at the end.
    fn next_chunk(&mut self) -> impl std::future::Future<Output = Result<Option<Bytes>>> + Send;
}

/// Recorded bytes replayed as a response.
#[derive(Debug)]
pub struct Replay {
    chunks: std::collections::VecDeque<Bytes>,
}

impl Replay {
    /// Replays `data` in chunks of `chunk` bytes (small chunks exercise incremental parsing).
    pub fn new(data: &[u8], chunk: usize) -> Self {
        Replay {
            chunks: data
                .chunks(chunk.max(1))
                .map(Bytes::copy_from_slice)
                .collect(),
        }
    }
}

impl ByteSource for Replay {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        Ok(self.chunks.pop_front())
    }
}

/// A live response body that enforces its size limit while streaming.
#[derive(Debug)]
pub struct LimitedBody {
    response: reqwest::Response,
    read: u64,
    limit: u64,
    what: &'static str,
    url: String,
}

impl ByteSource for LimitedBody {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        let chunk = self.response.chunk().await.map_err(|source| Error::Http {
            url: self.url.clone(),
            source,
        })?;
        if let Some(c) = &chunk {
            self.read += c.len() as u64;
            if self.read > self.limit {
                return Err(Error::TooLarge {
                    what: format!("{} response", self.what),
                    limit: self.limit,
                });
            }
        }
        Ok(chunk)
    }
}

impl LimitedBody {
    /// Reads the rest of the body into memory (still bounded by the limit).
    pub async fn into_bytes(mut self) -> Result<Bytes> {
        let mut out = Vec::new();
        while let Some(c) = self.next_chunk().await? {
            out.extend_from_slice(&c);
        }
        Ok(out.into())
    }
}

/// A push request body: in memory, or a file on disk (re-opened for a retry).
#[derive(Debug, Clone)]
pub enum PushBody {
    /// In memory.
    Memory(Bytes),
    /// Commands in memory followed by a pack in a file.
    File {
        /// pkt-line commands.
        head: Bytes,
        /// Path of the pack.
        pack: std::path::PathBuf,
    },
}

impl PushBody {
    async fn into_body(self) -> Result<reqwest::Body> {
        match self {
            PushBody::Memory(b) => Ok(reqwest::Body::from(b)),
            PushBody::File { head, pack } => {
                let file = tokio::fs::File::open(&pack).await?;
                let head_stream =
                    futures::stream::once(async move { Ok::<Bytes, std::io::Error>(head) });
                let file_stream = futures::stream::unfold(file, |mut f| async move {
                    use tokio::io::AsyncReadExt;
                    let mut buf = vec![0u8; 64 * 1024];
                    match f.read(&mut buf).await {
                        Ok(0) => None,
                        Ok(n) => {
                            buf.truncate(n);
                            Some((Ok(Bytes::from(buf)), f))
                        }
                        Err(e) => Some((Err(e), f)),
                    }
                });
                Ok(reqwest::Body::wrap_stream(head_stream.chain(file_stream)))
            }
        }
    }
}

/// The HTTP side of a remote: `info/refs`, `git-upload-pack`, `git-receive-pack`.
#[derive(Debug, Clone)]
pub struct Transport {
    base: String,
    http: reqwest::Client,
    options: TransportOptions,
}

/// Whether a failed request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Idempotence {
    /// GET and upload-pack: resend on any retryable failure.
    Safe,
    /// Push: resend only if the connection was never established.
    OnlyIfNotSent,
}

impl Transport {
    /// A transport for the repository at `url` (e.g. `https://host/org/repo.git`).
    pub fn new(url: &str, options: TransportOptions) -> Result<Self> {
        // reqwest is built without a bundled crypto provider; install ring once per process.
        // Failure means another provider is already installed, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| Error::InvalidArgument(format!("url {url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::InvalidArgument(format!(
                "url {url:?}: only http and https are supported"
            )));
        }
        let mut builder = reqwest::Client::builder().user_agent(options.user_agent.clone());
        if let Some(t) = options.timeout {
            builder = builder.timeout(t);
        }
        if let Some(t) = options.connect_timeout {
            builder = builder.connect_timeout(t);
        }
        let http = builder.build().map_err(|source| Error::Http {
            url: url.to_owned(),
            source,
        })?;
        Ok(Transport {
            base: url.trim_end_matches('/').to_owned(),
            http,
            options,
        })
    }

    /// The repository URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The options in use.
    pub fn options(&self) -> &TransportOptions {
        &self.options
    }

    fn decorate(&self, mut req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        req = match &self.options.auth {
            Auth::None => req,
            Auth::Basic { user, password } => req.basic_auth(user, Some(password)),
            Auth::Bearer(token) => req.bearer_auth(token),
        };
        for (k, v) in &self.options.headers {
            req = req.header(k, v);
        }
        req
    }

    /// `GET info/refs?service=…`; with `v2` the `Git-Protocol: version=2` header asks for the
    /// protocol v2 capability advertisement.
    pub async fn info_refs(&self, service: &str, v2: bool) -> Result<Bytes> {
        let url = format!("{}/info/refs?service={service}", self.base);
        let body = self
            .send(
                &url,
                Idempotence::Safe,
                "info/refs",
                self.options.limits.advertisement,
                || {
                    let mut req = self.http.get(&url);
                    if v2 {
                        req = req.header("Git-Protocol", "version=2");
                    }
                    async move { Ok(req) }
                },
            )
            .await?;
        body.into_bytes().await
    }

    /// `POST git-upload-pack` with a buffered body (so it can be re-sent on failure).
    pub async fn upload_pack(
        &self,
        body: Bytes,
        what: &'static str,
        limit: u64,
    ) -> Result<LimitedBody> {
        let url = format!("{}/git-upload-pack", self.base);
        self.send(&url, Idempotence::Safe, what, limit, || {
            let req = self
                .http
                .post(&url)
                .header("Content-Type", "application/x-git-upload-pack-request")
                .header("Accept", "application/x-git-upload-pack-result")
                .header("Git-Protocol", "version=2")
                .body(body.clone());
            async move { Ok(req) }
        })
        .await
    }

    /// `POST git-receive-pack`: retried only when the connection was never made.
    pub async fn receive_pack(&self, body: PushBody) -> Result<LimitedBody> {
        let url = format!("{}/git-receive-pack", self.base);
        self.send(
            &url,
            Idempotence::OnlyIfNotSent,
            "push",
            self.options.limits.push_response,
            || {
                let body = body.clone();
                let req = self
                    .http
                    .post(&url)
                    .header("Content-Type", "application/x-git-receive-pack-request")
                    .header("Accept", "application/x-git-receive-pack-result");
                async move { Ok(req.body(body.into_body().await?)) }
            },
        )
        .await
    }

    async fn send<F, Fut>(
        &self,
        url: &str,
        idem: Idempotence,
        what: &'static str,
        limit: u64,
        make: F,
    ) -> Result<LimitedBody>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<reqwest::RequestBuilder>>,
    {
        let mut failed = 0u32;
        loop {
            let req = self.decorate(make().await?);
            let err = match req.send().await {
                Ok(resp) => match check_status(url, resp) {
                    Ok(resp) => {
                        if let Some(len) = resp.content_length()
                            && len > limit
                        {
                            return Err(Error::TooLarge {
                                what: format!("{what} response"),
                                limit,
                            });
                        }
                        return Ok(LimitedBody {
                            response: resp,
                            read: 0,
                            limit,
                            what,
                            url: url.to_owned(),
                        });
                    }
                    Err(e) => e,
                },
                Err(source) => Error::Http {
                    url: url.to_owned(),
                    source,
                },
            };
            let may_retry = match (&err, idem) {
                (_, Idempotence::Safe) => err.is_retryable(),
                (Error::Http { source, .. }, Idempotence::OnlyIfNotSent) => source.is_connect(),
                _ => false,
            };
            failed += 1;
            match self.options.retry.backoff(failed) {
                Some(delay) if may_retry => tokio::time::sleep(delay).await,
                _ => return Err(err),
            }
        }
    }
}

fn check_status(url: &str, resp: reqwest::Response) -> Result<reqwest::Response> {
    let status = resp.status().as_u16();
    match status {
        200..=299 => Ok(resp),
        401 => Err(Error::Unauthorized(url.to_owned())),
        403 => Err(Error::PermissionDenied(url.to_owned())),
        404 => Err(Error::NotFound(format!("repository at {url}"))),
        408 | 429 | 500 | 502 | 503 | 504 => {
            Err(Error::Unavailable(format!("{url} answered HTTP {status}")))
        }
        _ => Err(Error::Protocol(format!("{url} answered HTTP {status}"))),
    }
}
