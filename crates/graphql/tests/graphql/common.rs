//! A real server (the composition root's `run`: every door on one port) on 127.0.0.1:0,
//! stopped when dropped; a small GraphQL client over reqwest; the Python tools.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::oneshot;

pub(crate) const ZERO: &str = "0000000000000000000000000000000000000000";

pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub(crate) async fn start() -> Self {
        Self::with(|_| {}).await
    }

    pub(crate) async fn with(tweak: impl FnOnce(&mut gitapi_server::Config)) -> Self {
        let dir = tempfile::tempdir().expect("a temporary data directory");
        let mut config = gitapi_server::Config::defaults();
        config.service = gitapi_service::ServiceConfig::new(dir.path());
        config.canary.fraction = 0.0;
        tweak(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("an address");
        let (stop, stopped) = oneshot::channel::<()>();
        // Opened (and swept) before the server task runs, so a test that writes into the data
        // directory next cannot race the start-up recovery.
        let data_dir = gitapi_server::DataDir::open(&config).expect("the data directory opens");
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            gitapi_server::run_in(data_dir, config, listener, shutdown, None)
                .await
                .expect("the server runs");
        });
        Self {
            addr,
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub(crate) fn data(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn gql(&self) -> Gql {
        Gql {
            http: http_client(),
            url: format!("{}/graphql", self.base()),
            token: None,
        }
    }

    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("the server stops in time")
                .expect("the server task ends cleanly");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

pub(crate) fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
}

/// A GraphQL client: POST `{query, variables}` as JSON.
pub(crate) struct Gql {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
    pub(crate) token: Option<String>,
}

impl Gql {
    pub(crate) fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// The whole response body (`data` and `errors`) and its status.
    pub(crate) async fn send(&self, query: &str, variables: Value) -> (u16, Value) {
        let mut req = self
            .http
            .post(&self.url)
            .json(&json!({"query": query, "variables": variables}));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("a GraphQL answer");
        let status = res.status().as_u16();
        (status, res.json().await.expect("a JSON body"))
    }

    /// `data` of an answer that must have no errors.
    pub(crate) async fn data(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self.send(query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "errors: {body}");
        body["data"].clone()
    }

    /// The errors of an answer that must have some.
    pub(crate) async fn errors(&self, query: &str, variables: Value) -> Vec<Value> {
        let (_, body) = self.send(query, variables).await;
        body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors in {body}"))
            .clone()
    }
}

pub(crate) fn author() -> Value {
    json!({"name": "A U Thor", "email": "author@example.com", "time": 1_700_000_000, "offsetMinutes": 60})
}

/// Creates `repo` and commits `files` onto `main` through GraphQL; returns the commit's id.
pub(crate) async fn seed(gql: &Gql, repo: &str, files: &[(&str, &str)]) -> String {
    gql.data(
        "mutation($n: RepoName!) { createRepository(name: $n) { name } }",
        json!({"n": repo}),
    )
    .await;
    commit(gql, repo, "main", Some(ZERO), files, "first").await
}

/// Commits `files` (text) onto `branch`; returns the new commit's id.
pub(crate) async fn commit(
    gql: &Gql,
    repo: &str,
    branch: &str,
    expected: Option<&str>,
    files: &[(&str, &str)],
    message: &str,
) -> String {
    let actions: Vec<Value> = files
        .iter()
        .map(|(p, t)| json!({"put": {"path": p, "text": t}}))
        .collect();
    let data = gql
        .data(
            "mutation($r: RepoName!, $i: CommitFilesInput!) {
               commitFiles(repo: $r, input: $i) { oid }
             }",
            json!({"r": repo, "i": {
                "branch": branch, "expectedTip": expected, "actions": actions,
                "message": message, "author": author(),
            }}),
        )
        .await;
    data["commitFiles"]["oid"]
        .as_str()
        .expect("an oid")
        .to_owned()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's Python with gql (scripts/setup-tools.sh makes it).
pub(crate) fn python() -> PathBuf {
    let py = root().join(".tools/venv/bin/python");
    assert!(
        py.exists(),
        "{} not found: run scripts/setup-tools.sh (it installs gql into .tools/venv)",
        py.display()
    );
    py
}

/// Runs a script of `tests/py` against the server; returns its stdout.
pub(crate) async fn run_python(server: &TestServer, script: &str, args: &[&str]) -> String {
    let mut cmd = tokio::process::Command::new(python());
    cmd.arg(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/py")
            .join(script),
    )
    .args(args)
    .env("GITAPI_ADDR", server.addr.to_string())
    .env("PYTHONDONTWRITEBYTECODE", "1")
    .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(240), cmd.output())
        .await
        .expect("the script ends in time")
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
