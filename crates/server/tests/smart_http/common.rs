//! A real `gitapi` binary on a free port, a hermetic `git` that may speak HTTP to it, and a
//! small REST client.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gitapi_testkit::git::Git;

pub(crate) struct Server {
    child: std::process::Child,
    pub(crate) base: String,
    pub(crate) data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The binary on its defaults (open local mode), or with `config` (TOML) when given.
    pub(crate) fn start(config: Option<&str>) -> Self {
        Self::start_with(config, "libgit2")
    }

    /// [`Server::start`] on the engine `engine` (`libgit2` or `shell`).
    pub(crate) fn start_with(config: Option<&str>, engine: &str) -> Self {
        let data = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gitapi"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data.path())
            .env_remove("GITAPI_LISTEN")
            .env_remove("GITAPI_DATA_DIR")
            .env("RUST_LOG", "warn")
            .env("GIT_BACKEND", engine);
        if let Some(text) = config {
            let file = data.path().join("gitapi.toml");
            std::fs::write(&file, text).expect("write config");
            cmd.arg("--config").arg(&file);
        }
        let (child, base) = crate::announce::spawn_announced(cmd);
        Self { child, base, data }
    }

    /// The clone URL of `repo`, with `token` as Basic credentials when given.
    pub(crate) fn url(&self, repo: &str, token: Option<&str>) -> String {
        match token {
            Some(t) => {
                self.base
                    .replacen("http://", &format!("http://git:{t}@"), 1)
                    + &format!("/{repo}.git")
            }
            None => format!("{}/{repo}.git", self.base),
        }
    }

    /// The server's own directory of `repo`.
    pub(crate) fn repo_dir(&self, repo: &str) -> PathBuf {
        self.data.path().join("repos").join(format!("{repo}.git"))
    }
}

/// The hermetic git of the test kit, allowed to speak HTTP.
pub(crate) fn git_http(git: &Git, dir: &Path, args: &[&str]) -> Output {
    git_env(git, dir, args, &[])
}

pub(crate) fn git_env(git: &Git, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut all: Vec<(&str, &OsStr)> = vec![("GIT_ALLOW_PROTOCOL", OsStr::new("file:http"))];
    all.extend(env.iter().map(|(k, v)| (*k, OsStr::new(*v))));
    git.output_with(dir, args, &all, None)
}

/// Runs git over HTTP and panics with its stderr when it fails.
pub(crate) fn git_ok(git: &Git, dir: &Path, args: &[&str]) -> String {
    let out = git_http(git, dir, args);
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `git fsck --strict` on a server repository.
pub(crate) fn fsck(git: &Git, git_dir: &Path) {
    let out = git.output(git_dir, &["fsck", "--strict", "--no-dangling"]);
    assert!(
        out.status.success(),
        "fsck: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every ref of a repository as REST lists it: name → target.
pub(crate) async fn rest_refs(
    http: &reqwest::Client,
    base: &str,
    repo: &str,
    token: Option<&str>,
) -> std::collections::BTreeMap<String, String> {
    let mut req = http.get(format!("{base}/v1/repos/{repo}/refs?limit=1000"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let v: serde_json::Value = req
        .send()
        .await
        .expect("GET refs")
        .json()
        .await
        .expect("json");
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().expect("name").to_owned(),
                r["target"].as_str().expect("target").to_owned(),
            )
        })
        .collect()
}

/// Every ref of a local repository: name → target.
pub(crate) fn local_refs(
    git: &Git,
    dir: &Path,
    prefix: &str,
) -> std::collections::BTreeMap<String, String> {
    git.run(
        dir,
        &["for-each-ref", "--format=%(refname) %(objectname)", prefix],
    )
    .lines()
    .filter_map(|l| l.split_once(' '))
    .map(|(n, o)| (n.to_owned(), o.to_owned()))
    .collect()
}

pub(crate) fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

/// Creates an empty repository through REST.
pub(crate) async fn create_repo(
    http: &reqwest::Client,
    base: &str,
    name: &str,
    token: Option<&str>,
) {
    let mut req = http
        .post(format!("{base}/v1/repos"))
        .json(&serde_json::json!({ "name": name }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("POST /v1/repos");
    assert_eq!(
        res.status().as_u16(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
}

/// A commit through REST on `branch` (which must be at `expected`); returns its id.
pub(crate) async fn rest_commit(
    http: &reqwest::Client,
    base: &str,
    repo: &str,
    branch: &str,
    expected: &str,
    path: &str,
    token: Option<&str>,
) -> reqwest::Response {
    use base64::Engine;
    let body = serde_json::json!({
        "branch": branch,
        "expectedTip": expected,
        "message": format!("rest writes {path}"),
        "author": {"name": "R", "email": "r@example.com", "time": 1_700_000_000, "offsetMinutes": 0},
        "actions": [{"action": "put", "path": path,
                     "content": base64::engine::general_purpose::STANDARD.encode(format!("{path}\n"))}],
    });
    let mut req = http
        .post(format!("{base}/v1/repos/{repo}/commits"))
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("POST commits")
}

/// A local working repository with two commits on `main`, a tag and a side branch.
pub(crate) fn work_repo(git: &Git, dir: &Path) -> gitapi_testkit::git::RepoBuilder {
    let r = gitapi_testkit::git::RepoBuilder::init(git, dir, "main");
    r.commit("first", &[("README.md", "hello\n"), ("src/a.txt", "a\n")]);
    let big = "b\n".repeat(2000);
    r.commit("second", &[("src/b.txt", big.as_str())]);
    r.annotated_tag("v1", "HEAD", "release one");
    r.branch("side");
    r
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// An in-process server over `config_text`, with its base URL and a stop handle.
pub(crate) async fn in_process(
    config_text: &str,
) -> (
    String,
    tempfile::TempDir,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), gitapi_server::ServeError>>,
) {
    let (base, _svc, data, stop, served) = in_process_service(config_text).await;
    (base, data, stop, served)
}

/// [`in_process`], with the service (to subscribe to its events).
pub(crate) async fn in_process_service(
    config_text: &str,
) -> (
    String,
    gitapi_service::RepoService,
    tempfile::TempDir,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), gitapi_server::ServeError>>,
) {
    let data = tempfile::tempdir().expect("tempdir");
    let config = gitapi_server::Config::load(
        Some(config_text),
        &Default::default(),
        &gitapi_server::Flags {
            data_dir: Some(data.path().to_path_buf()),
            ..Default::default()
        },
    )
    .expect("config");
    let svc = gitapi_server::build_service(&config);
    let (base, stop_tx, served) = serve(svc.clone()).await;
    (base, svc, data, stop_tx, served)
}

/// Serves the doors over `svc` on a free loopback port.
async fn serve(
    svc: gitapi_service::RepoService,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), gitapi_server::ServeError>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(gitapi_server::serve(
        listener,
        gitapi_server::app(svc),
        async {
            let _ = stop_rx.await;
        },
    ));
    (base, stop_tx, served)
}
