//! `GET /metrics` on a served socket: Prometheus's own `promtool` accepts it, a request to
//! each door moves that door's request histogram, a canary mismatch moves its counter, and
//! every response carries a request id.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gitapi_core::{
    CommitFiles, FileAction, GitBackend, InitOptions, Oid, RefName, RepoName, RepoPath, Signature,
};
use gitapi_server::MetricsAccess;
use gitapi_service::{RepoService, ServiceConfig};
use gitapi_switch::{CanaryConfig, CanaryMode, EngineKind, EngineSwitch};

fn commit(expected: Option<Oid>, text: &str) -> CommitFiles {
    CommitFiles {
        branch: RefName::branch("main").expect("valid"),
        expected_tip: expected,
        start_point: None,
        actions: vec![FileAction::Put {
            path: RepoPath::new("a.txt").expect("valid"),
            content: Bytes::from(text.to_owned()),
            mode: None,
        }],
        message: text.to_owned(),
        author: Signature::new("T", "t@example.com", 1_700_000_000, 0).expect("valid"),
        committer: None,
        signing: Default::default(),
        allow_empty: false,
    }
}

/// The sum of a metric's samples whose labels contain every `label="value"` in `labels`.
fn sample_sum(text: &str, metric: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name_labels, value) = l.rsplit_once(' ')?;
            let (name, rest) = match name_labels.split_once('{') {
                Some((n, r)) => (n, r),
                None => (name_labels, ""),
            };
            (name == metric
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))))
            .then(|| value.parse::<f64>().ok())
            .flatten()
        })
        .sum()
}

async fn scrape(client: &reqwest::Client, base: &str) -> String {
    let res = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(res.status(), 200);
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    res.text().await.expect("metrics text")
}

fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (Debian's prometheus package; .ci/run installs it)");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(text.as_bytes()).expect("write metrics");
    }
    let out = child.wait_with_output().expect("promtool ends");
    assert!(
        out.status.success(),
        "promtool check metrics refused /metrics:\n{}{}\n---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_pass_promtool_and_move_for_every_door_and_a_canary_mismatch() {
    // libgit2 serves data/; the canary's shell engine reads a copy where main has one more
    // commit, so every read of main is a deliberate mismatch.
    let data = tempfile::tempdir().expect("temp");
    let repo = RepoName::new("r").expect("valid");
    let git2: Arc<dyn GitBackend> = Arc::new(gitapi_git2::Git2Backend::new(
        gitapi_git2::Config::new(data.path()),
    ));
    git2.init_repo(&repo, InitOptions::default())
        .await
        .expect("init");
    let first = git2
        .commit_files(&repo, commit(Some(Oid::ZERO), "one"))
        .await
        .expect("commit");
    let copy = tempfile::tempdir().expect("temp");
    assert!(
        Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", data.path().display()))
            .arg(copy.path())
            .status()
            .expect("cp")
            .success()
    );
    let shell: Arc<dyn GitBackend> = Arc::new(gitapi_shell::ShellBackend::new(
        gitapi_shell::Config::new(copy.path()),
    ));
    shell
        .commit_files(&repo, commit(Some(first.oid), "two"))
        .await
        .expect("commit on the copy");
    let switch = EngineSwitch::new(
        git2,
        shell,
        EngineKind::Libgit2,
        CanaryConfig {
            fraction: 1.0,
            mode: CanaryMode::Shadow,
        },
    );
    let svc = RepoService::new(ServiceConfig::new(data.path()), Arc::new(switch));
    let (router, _grpc) = gitapi_server::compose(svc, MetricsAccess::Open).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let base = format!("http://127.0.0.1:{port}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(gitapi_server::serve(listener, router, async {
        let _ = stopped.await;
    }));
    let client = crate::common::http_client().build().expect("client");

    let before = scrape(&client, &base).await;
    promtool_check(&before);
    assert_eq!(
        sample_sum(&before, "gitapi_build_info", &[]),
        1.0,
        "build info is always 1"
    );
    let count = "gitapi_http_request_duration_seconds_count";

    // REST, with a request id of the caller's that comes back.
    let res = client
        .get(format!("{base}/v1/repos/r/commits/main"))
        .header("x-request-id", "telemetry-test-1")
        .send()
        .await
        .expect("REST");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-request-id"], "telemetry-test-1");
    // One the server makes when the caller sends none, or one it cannot log.
    for sent in [None, Some("two words")] {
        let mut req = client.get(format!("{base}/v1/repos/r/refs"));
        if let Some(id) = sent {
            req = req.header("x-request-id", id);
        }
        let res = req.send().await.expect("REST");
        let id = res.headers()["x-request-id"].to_str().expect("ascii");
        assert!(
            !id.is_empty() && Some(id) != sent && !id.contains(' '),
            "{id:?}"
        );
    }
    // GraphQL.
    let res = client
        .post(format!("{base}/graphql"))
        .json(&serde_json::json!({"query": "{ __typename }"}))
        .send()
        .await
        .expect("GraphQL");
    assert_eq!(res.status(), 200);
    // A live stream, measured when the client leaves.
    let res = client
        .get(format!("{base}/v1/repos/r/events"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("SSE");
    assert_eq!(res.status(), 200);
    drop(res);
    // Smart HTTP, with git itself.
    let work = tempfile::tempdir().expect("temp");
    crate::common::git_ok(work.path(), &["clone", "-q", &format!("{base}/r.git"), "c"]);
    // gRPC, from Python's grpcio (the health service needs no stubs).
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/venv/bin/python");
    let script = format!(
        "import grpc\n\
         from grpc_health.v1 import health_pb2, health_pb2_grpc\n\
         with grpc.insecure_channel('127.0.0.1:{port}') as ch:\n\
         \x20   r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=30)\n\
         \x20   print(health_pb2.HealthCheckResponse.ServingStatus.Name(r.status))\n"
    );
    let out = Command::new(&python)
        .args(["-c", &script])
        .output()
        .expect("python runs (scripts/setup-tools.sh makes the venv)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The canary compares in the background: wait (bounded) for its mismatch to be counted.
    let mut after = String::new();
    for _ in 0..200 {
        after = scrape(&client, &base).await;
        if sample_sum(
            &after,
            "gitapi_canary_mismatches_total",
            &[("op", "get_commit")],
        ) >= 1.0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    promtool_check(&after);
    assert!(
        sample_sum(
            &after,
            "gitapi_canary_mismatches_total",
            &[("op", "get_commit")]
        ) >= 1.0,
        "the canary's mismatch is counted:\n{after}"
    );
    assert!(
        sample_sum(
            &after,
            "gitapi_canary_samples_total",
            &[("op", "get_commit")]
        ) >= 1.0
    );
    for (door, route) in [
        ("rest", "/v1/repos/{repo}/commits/{sha}"),
        ("rest", "/v1/repos/{repo}/refs"),
        ("graphql", "/graphql"),
        ("stream", "/v1/repos/{repo}/events"),
        ("smart_http", "/{repo}/info/refs"),
        ("grpc", "/grpc.health.v1.Health/Check"),
    ] {
        let labels = [("door", door), ("route", route)];
        let moved = sample_sum(&after, count, &labels) - sample_sum(&before, count, &labels);
        assert!(
            moved >= 1.0,
            "{door} {route}: the request histogram did not move:\n{after}"
        );
    }
    // The REST read ran on libgit2 and its operation was measured.
    assert!(
        sample_sum(
            &after,
            count,
            &[
                ("route", "/v1/repos/{repo}/commits/{sha}"),
                ("engine", "libgit2"),
                ("status", "200")
            ]
        ) >= 1.0
    );
    assert!(
        sample_sum(
            &after,
            "gitapi_operation_duration_seconds_count",
            &[
                ("op", "get_commit"),
                ("engine", "libgit2"),
                ("status", "ok")
            ]
        ) >= 1.0
    );
    assert!(
        sample_sum(
            &after,
            "gitapi_git_processes_started_total",
            &[("subcommand", "upload-pack")]
        ) >= 1.0,
        "git upload-pack served the clone:\n{after}"
    );
    let _ = stop.send(());
    let _ = server.await;
}
