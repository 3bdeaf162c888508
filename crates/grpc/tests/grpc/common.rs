//! A real server (the composition root's `run`, REST and gRPC on one port) on 127.0.0.1:0,
//! stopped when dropped; clients for both doors; the Python tools.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use tokio::sync::oneshot;
use tonic::transport::Channel;

use gitapi_grpc::pb;

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

    pub(crate) async fn channel(&self) -> Channel {
        Channel::from_shared(self.base())
            .expect("a valid URI")
            .connect()
            .await
            .expect("a gRPC connection")
    }

    /// Starts draining: health turns NOT_SERVING, the server stops once connections close.
    pub(crate) fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    pub(crate) async fn stop(mut self) {
        self.begin_shutdown();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(std::time::Duration::from_secs(30), task)
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
    reqwest::Client::builder().build().expect("an HTTP client")
}

pub(crate) fn author() -> pb::Signature {
    pb::Signature {
        name: "A U Thor".into(),
        email: "author@example.com".into(),
        time: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        offset_minutes: 60,
    }
}

pub(crate) fn put(path: &str, content: &[u8]) -> pb::FileAction {
    pb::FileAction {
        action: Some(pb::file_action::Action::Put(pb::PutFileAction {
            path: path.into(),
            content: bytes::Bytes::copy_from_slice(content),
            mode: 0,
        })),
    }
}

/// Creates `repo` and commits `files` onto `main` through the gRPC door; returns the commit.
pub(crate) async fn seed(ch: &Channel, repo: &str, files: &[(&str, &[u8])]) -> pb::Commit {
    pb::repository_service_client::RepositoryServiceClient::new(ch.clone())
        .create_repository(pb::CreateRepositoryRequest {
            repository: repo.into(),
            source: None,
        })
        .await
        .expect("create");
    commit(ch, repo, "refs/heads/main", Some(ZERO), files, "first").await
}

pub(crate) async fn commit(
    ch: &Channel,
    repo: &str,
    branch: &str,
    expected: Option<&str>,
    files: &[(&str, &[u8])],
    message: &str,
) -> pb::Commit {
    pb::commit_service_client::CommitServiceClient::new(ch.clone())
        .commit_files(pb::CommitFilesRequest {
            repository: repo.into(),
            branch: branch.into(),
            expected_tip: expected.map(Into::into),
            actions: files.iter().map(|(p, c)| put(p, c)).collect(),
            message: message.into(),
            author: Some(author()),
            ..Default::default()
        })
        .await
        .expect("commit")
        .into_inner()
        .commit
        .expect("a commit")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's Python with grpcio (scripts/setup-tools.sh makes it).
pub(crate) fn python() -> PathBuf {
    let py = root().join(".tools/venv/bin/python");
    assert!(
        py.exists(),
        "{} not found: run scripts/setup-tools.sh (it installs grpcio, grpcio-tools, \
         grpcio-reflection and grpcio-status into .tools/venv)",
        py.display()
    );
    py
}

/// Stubs generated from `proto/` by grpcio-tools into a temporary directory.
pub(crate) fn python_stubs() -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("a stub directory");
    let proto = root().join("proto");
    let files: Vec<PathBuf> = std::fs::read_dir(proto.join("gitapi/v1"))
        .expect("proto/gitapi/v1")
        .map(|e| e.expect("an entry").path())
        .collect();
    let status = Command::new(python())
        .args(["-m", "grpc_tools.protoc"])
        .arg(format!("-I{}", proto.display()))
        .arg(format!("--python_out={}", out.path().display()))
        .arg(format!("--grpc_python_out={}", out.path().display()))
        .args(&files)
        .status()
        .expect("grpc_tools.protoc runs");
    assert!(status.success(), "grpcio-tools failed on proto/");
    out
}

/// Runs a script of `tests/py` against the server with generated stubs; returns its stdout.
pub(crate) async fn run_python(server: &TestServer, script: &str, args: &[&str]) -> String {
    let stubs = python_stubs();
    let mut cmd = tokio::process::Command::new(python());
    cmd.arg(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/py")
            .join(script),
    )
    .args(args)
    .env("GITAPI_ADDR", server.addr.to_string())
    .env("GITAPI_STUBS", stubs.path())
    .env("GITAPI_DATA", server.data())
    .env("PYTHONDONTWRITEBYTECODE", "1")
    .kill_on_drop(true);
    let out = tokio::time::timeout(std::time::Duration::from_secs(240), cmd.output())
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
