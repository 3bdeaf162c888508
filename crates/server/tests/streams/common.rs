//! A server started with [`gitapi_server::run`] on a loopback port, a REST client, and a
//! reader of Server-Sent Events.

use std::time::Duration;

use futures::StreamExt as _;
use serde_json::{Value, json};

pub(crate) const ZERO: &str = "0000000000000000000000000000000000000000";

/// A running server; dropped, it is stopped.
pub(crate) struct Server {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<Result<(), gitapi_server::ServeError>>>,
    _data: tempfile::TempDir,
}

impl Server {
    /// Starts a server over `config` (TOML, `version = 1` and more).
    pub(crate) async fn start(config: &str) -> Self {
        let data = tempfile::tempdir().expect("tempdir");
        let config = gitapi_server::Config::load(
            Some(config),
            &Default::default(),
            &gitapi_server::Flags {
                data_dir: Some(data.path().to_path_buf()),
                ..Default::default()
            },
        )
        .expect("a valid config");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        // Opened (and swept) before the server task runs, so a test that writes into the data
        // directory next cannot race the start-up recovery.
        let data_dir = gitapi_server::DataDir::open(&config).expect("the data directory opens");
        let served = tokio::spawn(gitapi_server::run_in(
            data_dir,
            config,
            listener,
            async {
                let _ = stop_rx.await;
            },
            None,
        ));
        Self {
            base,
            http: {
                // A workspace-wide build unifies reqwest with gitwire's `rustls-no-provider`:
                // a provider must be installed before a client is built.
                let _ = rustls::crypto::ring::default_provider().install_default();
                reqwest::Client::new()
            },
            stop: Some(stop),
            served: Some(served),
            _data: data,
        }
    }

    /// Stops the server and waits (at most 10 s) for it to drain; whether it did.
    pub(crate) async fn stop(mut self) -> bool {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.served.take() {
            Some(served) => tokio::time::timeout(Duration::from_secs(10), served)
                .await
                .is_ok_and(|r| r.is_ok_and(|r| r.is_ok())),
            None => true,
        }
    }

    /// The data directory.
    pub(crate) fn data(&self) -> &std::path::Path {
        self._data.path()
    }

    /// The WebSocket URL of `path`.
    pub(crate) fn ws_url(&self, path: &str) -> String {
        format!("ws{}{path}", self.base.trim_start_matches("http"))
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a repository with `token`'s authority.
    pub(crate) async fn create_repo(&self, name: &str, token: Option<&str>) {
        let mut req = self
            .http
            .post(self.url("/v1/repos"))
            .json(&json!({ "name": name }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("POST /v1/repos");
        assert_eq!(
            res.status(),
            201,
            "{}",
            res.text().await.unwrap_or_default()
        );
    }

    /// Commits one file to `main` on top of `expected`; the new commit id.
    pub(crate) async fn commit(
        &self,
        repo: &str,
        expected: &str,
        path: &str,
        text: &str,
        token: Option<&str>,
    ) -> String {
        use base64::Engine as _;
        let body = json!({
            "branch": "main",
            "expectedTip": expected,
            "message": format!("write {path}"),
            "author": {"name": "S", "email": "s@example.com", "time": 1_700_000_000, "offsetMinutes": 0},
            "actions": [{"action": "put", "path": path,
                         "content": base64::engine::general_purpose::STANDARD.encode(text)}],
        });
        let mut req = self
            .http
            .post(self.url(&format!("/v1/repos/{repo}/commits")))
            .json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("POST commits");
        assert_eq!(
            res.status(),
            201,
            "{}",
            res.text().await.unwrap_or_default()
        );
        let v: Value = res.json().await.expect("a commit");
        v["oid"].as_str().expect("an oid").to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// One Server-Sent Events message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Message {
    pub(crate) id: Option<String>,
    pub(crate) event: String,
    pub(crate) data: Value,
}

/// An open event stream.
pub(crate) struct EventStream {
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: String,
    /// Comments (heartbeats) seen so far.
    pub(crate) comments: usize,
}

impl EventStream {
    /// Opens `path` with an optional `Last-Event-ID` and token; panics unless it answers 200
    /// with `text/event-stream`.
    pub(crate) async fn open(
        server: &Server,
        path: &str,
        last_event_id: Option<&str>,
        token: Option<&str>,
    ) -> Self {
        let mut req = server.http.get(server.url(path));
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("GET events");
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream")
        );
        Self {
            body: res.bytes_stream().boxed(),
            buf: String::new(),
            comments: 0,
        }
    }

    /// The next message, or `None` when none comes within 10 s (or the stream ends).
    pub(crate) async fn next(&mut self) -> Option<Message> {
        self.next_within(Duration::from_secs(10)).await
    }

    /// The next message, or `None` when none comes within `wait` (or the stream ends).
    pub(crate) async fn next_within(&mut self, wait: Duration) -> Option<Message> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                if let Some(m) = self.parse(&block) {
                    return Some(m);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next()).await;
            match chunk {
                Ok(Some(Ok(bytes))) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    fn parse(&mut self, block: &str) -> Option<Message> {
        let (mut id, mut event, mut data) = (None, String::from("message"), String::new());
        let mut any = false;
        for line in block.lines().filter(|l| !l.is_empty()) {
            if line.starts_with(':') {
                self.comments += 1;
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            any = true;
            match field {
                "id" => id = Some(value.to_owned()),
                "event" => event = value.to_owned(),
                "data" => data.push_str(value),
                _ => {}
            }
        }
        any.then(|| Message {
            id,
            event,
            data: serde_json::from_str(&data).unwrap_or(Value::Null),
        })
    }
}
