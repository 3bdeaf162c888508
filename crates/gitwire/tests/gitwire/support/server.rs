//! A minimal HTTP/1.1 server that runs `git http-backend` as a CGI program per request.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A request as the bridge saw it.
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct ServerState {
    /// `Authorization` value every request must carry, if set.
    pub require_auth: Mutex<Option<String>>,
    /// Answer this many next requests with 503.
    pub fail_next: AtomicUsize,
    /// Answer this many next `POST git-receive-pack` requests with 503.
    pub fail_receive_pack: AtomicUsize,
    /// Leave `uploadpack.allowFilter` off (git's default): no partial fetches.
    pub no_filter: std::sync::atomic::AtomicBool,
    /// Drop the Git-Protocol header, so git answers with protocol v0.
    pub v0_only: std::sync::atomic::AtomicBool,
    pub requests: Mutex<Vec<LoggedRequest>>,
}

/// A running bridge; it stops when the test's runtime ends.
#[derive(Debug, Clone)]
pub struct GitServer {
    pub addr: SocketAddr,
    pub root: PathBuf,
    pub state: Arc<ServerState>,
}

impl GitServer {
    /// Serves the repositories under `root`.
    pub async fn start(root: &Path) -> GitServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(ServerState::default());
        let server = GitServer {
            addr,
            root: root.to_owned(),
            state,
        };
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = s.serve(stream).await;
                });
            }
        });
        server
    }

    /// URL of `repo` (e.g. `main.git`).
    pub fn url(&self, repo: &str) -> String {
        format!("http://{}/{repo}", self.addr)
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state.requests.lock().expect("lock").clone()
    }

    async fn serve(&self, stream: TcpStream) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or_default().to_owned();
            let target = parts.next().unwrap_or_default().to_owned();
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).await?;
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                }
            }
            let header = |name: &str| {
                headers
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            let mut body = Vec::new();
            if let Some(len) = header("content-length") {
                let len: usize = len.parse().unwrap_or(0);
                body.resize(len, 0);
                reader.read_exact(&mut body).await?;
            } else if header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
                loop {
                    let mut size = String::new();
                    reader.read_line(&mut size).await?;
                    let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                        .unwrap_or(0);
                    let mut chunk = vec![0u8; n + 2];
                    reader.read_exact(&mut chunk).await?;
                    if n == 0 {
                        break;
                    }
                    body.extend_from_slice(&chunk[..n]);
                }
            }
            let (path, query) = target.split_once('?').unwrap_or((&target, ""));
            self.state
                .requests
                .lock()
                .expect("lock")
                .push(LoggedRequest {
                    method: method.clone(),
                    path: path.to_owned(),
                    headers: headers.clone(),
                    body: body.clone(),
                });
            let required = self.state.require_auth.lock().expect("lock").clone();
            let response = if required.is_some() && header("authorization") != required {
                simple(401, "WWW-Authenticate: Basic realm=\"git\"\r\n")
            } else if take_one(&self.state.fail_next)
                || (path.ends_with("git-receive-pack")
                    && method == "POST"
                    && take_one(&self.state.fail_receive_pack))
            {
                simple(503, "")
            } else {
                self.cgi(
                    &method,
                    path,
                    query,
                    &header("content-type").unwrap_or_default(),
                    header("git-protocol"),
                    body,
                )
                .await?
            };
            let stream = reader.get_mut();
            stream.write_all(&response).await?;
            stream.flush().await?;
        }
    }

    async fn cgi(
        &self,
        method: &str,
        path: &str,
        query: &str,
        content_type: &str,
        protocol: Option<String>,
        body: Vec<u8>,
    ) -> std::io::Result<Vec<u8>> {
        let mut cmd = tokio::process::Command::new("git");
        cmd.arg("http-backend")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.root)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_PROJECT_ROOT", &self.root)
            .env("GIT_HTTP_EXPORT_ALL", "1")
            .env("REQUEST_METHOD", method)
            .env("PATH_INFO", path)
            .env("QUERY_STRING", query)
            .env("CONTENT_TYPE", content_type)
            .env("CONTENT_LENGTH", body.len().to_string())
            .env("REMOTE_ADDR", "127.0.0.1")
            // git's defaults otherwise: protocol v2 lets a client want any reachable object.
            .env("GIT_CONFIG_COUNT", "2")
            .env("GIT_CONFIG_KEY_0", "http.receivepack")
            .env("GIT_CONFIG_VALUE_0", "true")
            .env("GIT_CONFIG_KEY_1", "uploadpack.allowFilter")
            .env(
                "GIT_CONFIG_VALUE_1",
                if self.state.no_filter.load(Ordering::SeqCst) {
                    "false"
                } else {
                    "true"
                },
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(p) = protocol.filter(|_| !self.state.v0_only.load(Ordering::SeqCst)) {
            cmd.env("GIT_PROTOCOL", p);
        }
        let mut child = cmd.spawn()?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let writer = tokio::spawn(async move {
            let _ = stdin.write_all(&body).await;
        });
        let out = child.wait_with_output().await?;
        let _ = writer.await;
        let raw = out.stdout;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| (i, 4))
            .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
        let Some((end, sep)) = split else {
            return Ok(simple(500, ""));
        };
        let head = String::from_utf8_lossy(&raw[..end]).into_owned();
        let body = &raw[end + sep..];
        let mut status = 200;
        let mut resp_headers = String::new();
        for line in head.lines() {
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("status") {
                    status = v
                        .trim()
                        .split(' ')
                        .next()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(500);
                } else {
                    resp_headers.push_str(&format!("{}: {}\r\n", k.trim(), v.trim()));
                }
            }
        }
        let mut resp = format!(
            "HTTP/1.1 {status} X\r\n{resp_headers}Content-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        resp.extend_from_slice(body);
        Ok(resp)
    }
}

/// Decrements a failure budget; true if there was one to spend.
fn take_one(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn simple(status: u16, extra: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status} X\r\n{extra}Content-Length: 0\r\n\r\n").into_bytes()
}
