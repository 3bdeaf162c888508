//! An in-process app over a temporary data directory, called through
//! `tower::ServiceExt::oneshot`, recording which routes were called.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use gitapi_service::{RepoService, ServiceConfig};

pub(crate) const ZERO: &str = "0000000000000000000000000000000000000000";

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status, printing the body when it differs.
    pub(crate) fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }

    /// Asserts an error answer: the status and the error body's code.
    pub(crate) fn expect_error(self, status: u16, code: &str) -> Self {
        let s = self.expect(status);
        let v = s.json();
        assert_eq!(v["error"]["code"], code, "body: {v}");
        assert!(v["error"]["message"].is_string(), "body: {v}");
        s
    }
}

pub(crate) struct TestApp {
    pub(crate) app: Router,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) calls: Arc<Mutex<Vec<(Method, String)>>>,
}

impl TestApp {
    pub(crate) fn new() -> Self {
        Self::with(|_| {})
    }

    pub(crate) fn with(tweak: impl FnOnce(&mut ServiceConfig)) -> Self {
        Self::on(gitapi_switch::EngineKind::Libgit2, tweak)
    }

    /// A service whose requests `engine` serves.
    pub(crate) fn on(
        engine: gitapi_switch::EngineKind,
        tweak: impl FnOnce(&mut ServiceConfig),
    ) -> Self {
        let dir = tempfile::tempdir().expect("a temporary data directory");
        let mut config = ServiceConfig::new(dir.path());
        tweak(&mut config);
        let mut git2 = gitapi_git2::Config::new(dir.path());
        git2.clone_policy.allow_local = config.allow_local_clone;
        let mut shell = gitapi_shell::Config::new(dir.path());
        shell.clone_policy.allow_local = config.allow_local_clone;
        let switch = gitapi_switch::EngineSwitch::new(
            Arc::new(gitapi_git2::Git2Backend::new(git2)),
            Arc::new(gitapi_shell::ShellBackend::new(shell)),
            engine,
            gitapi_switch::CanaryConfig::default(),
        );
        let svc = RepoService::new(config, Arc::new(switch));
        Self {
            app: gitapi_server::app(svc),
            dir,
            calls: Arc::default(),
        }
    }

    pub(crate) fn data(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) async fn send(&self, req: Request<Body>) -> Answer {
        self.calls
            .lock()
            .expect("calls lock")
            .push((req.method().clone(), req.uri().path().to_owned()));
        let res = self
            .app
            .clone()
            .oneshot(req)
            .await
            .expect("the router is infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let body = res
            .into_body()
            .collect()
            .await
            .expect("a readable body")
            .to_bytes();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Opens a stream (an event stream never ends): the status, headers and the first
    /// `until`-matching text of the body, read message by message within 10 s.
    pub(crate) async fn stream_until(
        &self,
        uri: &str,
        headers: &[(&str, &str)],
        until: impl Fn(&str) -> bool,
    ) -> (StatusCode, HeaderMap, String) {
        self.calls
            .lock()
            .expect("calls lock")
            .push((Method::GET, uri.split('?').next().unwrap_or(uri).to_owned()));
        let mut req = Request::builder().uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self
            .app
            .clone()
            .oneshot(req.body(Body::empty()).expect("a valid request"))
            .await
            .expect("the router is infallible");
        let (status, headers) = (res.status(), res.headers().clone());
        let mut body = res.into_body();
        let mut text = String::new();
        let read = async {
            while !until(&text) {
                match body.frame().await {
                    Some(Ok(f)) => {
                        if let Some(d) = f.data_ref() {
                            text.push_str(&String::from_utf8_lossy(d));
                        }
                    }
                    _ => break,
                }
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), read).await;
        (status, headers, text)
    }

    pub(crate) async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json");
        let body = match body {
            Some(v) => Body::from(v.to_string()),
            None => Body::empty(),
        };
        req = req.header("x-test", "1");
        self.send(req.body(body).expect("a valid request")).await
    }

    pub(crate) async fn get(&self, uri: &str) -> Answer {
        self.call("GET", uri, None).await
    }

    /// Creates a repository with two commits on main: `a.txt` ("one", then "one\ntwo") and
    /// `dir/b.txt`. Returns the two commit ids.
    pub(crate) async fn seed(&self, repo: &str) -> (String, String) {
        self.call("POST", "/v1/repos", Some(serde_json::json!({"name": repo})))
            .await
            .expect(201);
        let c1 = self
            .commit(
                repo,
                "main",
                Some(ZERO),
                &[("a.txt", "one\n"), ("dir/b.txt", "bee\n")],
                "first",
            )
            .await;
        let c2 = self
            .commit(
                repo,
                "main",
                Some(&c1),
                &[("a.txt", "one\ntwo\n")],
                "second",
            )
            .await;
        (c1, c2)
    }

    /// Commits files onto a branch through `POST /commits`; returns the commit id.
    pub(crate) async fn commit(
        &self,
        repo: &str,
        branch: &str,
        expected: Option<&str>,
        files: &[(&str, &str)],
        message: &str,
    ) -> String {
        use base64::Engine as _;
        let actions: Vec<Value> = files
            .iter()
            .map(|(p, c)| {
                serde_json::json!({
                    "action": "put",
                    "path": p,
                    "content": base64::engine::general_purpose::STANDARD.encode(c),
                })
            })
            .collect();
        let mut body = serde_json::json!({
            "branch": branch,
            "actions": actions,
            "message": message,
            "author": {"name": "A U Thor", "email": "author@example.com", "time": 1700000000, "offsetMinutes": 60},
        });
        if let Some(e) = expected {
            body["expectedTip"] = Value::String(e.to_owned());
        }
        let a = self
            .call("POST", &format!("/v1/repos/{repo}/commits"), Some(body))
            .await
            .expect(201);
        a.json()["oid"].as_str().expect("an oid").to_owned()
    }
}

/// Every file and directory under `root` with its mode and content, for byte-for-byte
/// comparisons of a data directory.
pub(crate) fn snapshot(root: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            let content = if meta.is_file() {
                std::fs::read(&path).expect("readable")
            } else {
                Vec::new()
            };
            out.insert(rel, (meta.permissions().mode(), content));
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    out
}

/// An HTTP client for tests over real sockets.
///
/// In a workspace-wide build cargo unifies reqwest's features, and gitwire's
/// `rustls-no-provider` then makes `Client::new` panic unless a crypto provider is installed;
/// installing the one gitwire uses makes the tests independent of what is built beside them.
pub(crate) fn http_client() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// `gitapi serve` of the built binary on a free port of 127.0.0.1, its data in `dir/data` and
/// its config `dir/gitapi.toml` holding `config` (with `version = 1` before it); `GITAPI_*`
/// settings of the environment are cleared and it logs errors only. The caller may change the
/// command before starting it with [`crate::announce::spawn_announced`].
pub(crate) fn gitapi_serve(dir: &Path, config: &str) -> std::process::Command {
    let file = dir.join("gitapi.toml");
    std::fs::write(&file, format!("version = 1\n{config}")).expect("config");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gitapi"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.join("data"))
        .arg("--config")
        .arg(&file)
        .env_remove("GITAPI_LISTEN")
        .env_remove("GITAPI_DATA_DIR")
        .env("RUST_LOG", "error");
    cmd
}

/// A server process, killed and reaped however the test ends (a failed assertion must not
/// leak it: a running `gitapi` would count in other tests' git processes).
pub(crate) struct Running(pub(crate) std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` (see [`gitapi_serve`]); returns the process and the URL it announced.
pub(crate) fn start_binary(cmd: std::process::Command) -> (Running, String) {
    let (child, base) = crate::announce::spawn_announced(cmd);
    (Running(child), base)
}

/// The resident memory of process `pid`, in KiB.
pub(crate) fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// Runs git in `dir` hermetically (no system or global config, http allowed for clones of the
/// server, fixed identities), asserts it succeeded and returns its output.
pub(crate) fn git_ok(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ALLOW_PROTOCOL", "http")
        .env("GIT_AUTHOR_NAME", "P U Sher")
        .env("GIT_AUTHOR_EMAIL", "pusher@example.com")
        .env("GIT_COMMITTER_NAME", "P U Sher")
        .env("GIT_COMMITTER_EMAIL", "pusher@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Commits `a.txt` holding `text` on `main` of repository `r` through REST, expecting `tip`
/// ([`ZERO`] for the first commit); returns the new commit's id.
pub(crate) async fn commit_a_txt(
    client: &reqwest::Client,
    base: &str,
    tip: &str,
    text: &str,
) -> String {
    use base64::Engine as _;
    let res = client
        .post(format!("{base}/v1/repos/r/commits"))
        .json(&serde_json::json!({
            "branch": "main",
            "expectedTip": tip,
            "actions": [{"action": "put", "path": "a.txt",
                "content": base64::engine::general_purpose::STANDARD.encode(text)}],
            "message": text,
            "author": {"name": "A", "email": "a@example.com", "time": 1700000000, "offsetMinutes": 0},
        }))
        .send()
        .await
        .expect("commit");
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    res.json::<Value>().await.expect("json")["oid"]
        .as_str()
        .expect("oid")
        .to_owned()
}
