//! Schemathesis against the served `/openapi.json`, on the real binary, once per engine: every
//! REST operation with generated parameters and bodies, and every answer checked against the
//! document (no 5xx; a status, content type and body schema the document lists). The server
//! runs in open mode, which the document describes (its security allows no credentials).
//!
//! Bounded: `GITAPI_FUZZ_EXAMPLES` examples per operation (10 by default, about 600 calls per
//! engine, 25 s for both; a fuller local run sets more). Repeatable: the driver is derandomized (a fixed
//! seed) and the repository it works on is seeded here first.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{gitapi_serve, start_binary};

const ZERO: &str = "0000000000000000000000000000000000000000";

async fn send(req: reqwest::RequestBuilder, want: u16) -> Value {
    let res = req.send().await.expect("the server answers");
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(status, want, "seeding: {body}");
    body
}

/// The `oid` of a commit answer.
trait OidOf {
    fn oid(&self) -> String;
}

impl OidOf for Value {
    fn oid(&self) -> String {
        self["oid"].as_str().expect("a commit's oid").to_owned()
    }
}

fn put(path: &str, text: &str) -> Value {
    use base64::Engine as _;
    json!({"action": "put", "path": path,
           "content": base64::engine::general_purpose::STANDARD.encode(text)})
}

/// `demo`: two commits on `main`, a `feature` branch one commit ahead, a lightweight tag
/// `v1` on the first commit, a workspace `side` with a staged and an unstaged change. Returns
/// the commit ids, for the driver to steer generated `sha` values to.
async fn seed(base: &str) -> Vec<String> {
    let http = crate::common::http_client().build().expect("client");
    let author = json!({"name": "Seed", "email": "seed@example.com"});
    send(
        http.post(format!("{base}/v1/repos"))
            .json(&json!({"name": "demo"})),
        201,
    )
    .await;
    let commit = |branch: &str, tip: &str, message: &str, actions: Vec<Value>| {
        http.post(format!("{base}/v1/repos/demo/commits")).json(
            &json!({"branch": branch, "expectedTip": tip, "message": message,
                          "author": author, "actions": actions}),
        )
    };
    let first = send(
        commit(
            "main",
            ZERO,
            "first",
            vec![
                put("README.md", "hello\n"),
                put("src/lib.rs", "pub fn f() {}\n"),
                put("docs/guide.md", "# Guide\n\nline\n"),
            ],
        ),
        201,
    )
    .await
    .oid();
    let second = send(
        commit(
            "main",
            &first,
            "second",
            vec![put("README.md", "hello\nworld\n")],
        ),
        201,
    )
    .await
    .oid();
    send(
        http.post(format!("{base}/v1/repos/demo/refs"))
            .json(&json!({"name": "refs/heads/feature", "target": second})),
        201,
    )
    .await;
    send(
        http.post(format!("{base}/v1/repos/demo/refs"))
            .json(&json!({"name": "refs/tags/v1", "target": first})),
        201,
    )
    .await;
    let third = send(
        commit(
            "feature",
            &second,
            "feature work",
            vec![put("src/lib.rs", "pub fn f() {}\npub fn g() {}\n")],
        ),
        201,
    )
    .await
    .oid();
    send(
        http.post(format!("{base}/v1/repos/demo/workspaces"))
            .json(&json!({"name": "side", "branch": "main"})),
        201,
    )
    .await;
    for (path, text) in [("README.md", "changed\n"), ("new.txt", "new\n")] {
        let res = http
            .put(format!("{base}/v1/repos/demo/workspaces/side/files/{path}"))
            .header("content-type", "application/octet-stream")
            .body(text)
            .send()
            .await
            .expect("put a work-tree file");
        assert!(res.status().is_success(), "seeding a work-tree file");
    }
    vec![first, second, third]
}

async fn fuzz_on(engine: &str) {
    let data = tempfile::tempdir().expect("tempdir");
    let (server, base) = start_binary(gitapi_serve(
        data.path(),
        &format!("[server]\nengine = \"{engine}\"\ncanary_fraction = 0.0\n"),
    ));
    let shas = seed(&base).await;
    let examples = std::env::var("GITAPI_FUZZ_EXAMPLES").unwrap_or_else(|_| "10".to_owned());
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/venv/bin/python");
    assert!(
        python.exists(),
        "no Python venv at {}: run scripts/setup-tools.sh",
        python.display()
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/rest_fuzz.py");
    let addr = base.trim_start_matches("http://").to_owned();
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg(script)
        .args([examples.as_str(), engine])
        .env("GITAPI_ADDR", addr)
        .env("GITAPI_SEEDED", json!({"sha": shas}).to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(900), cmd.output())
        .await
        .expect("the fuzz run ends in time")
        .expect("python runs");
    drop(server);
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success() && stdout.contains(" 0 failures"),
        "schemathesis found failures on {engine}:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_or_schema_violation_on_libgit2() {
    fuzz_on("libgit2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_or_schema_violation_on_the_cli_engine() {
    fuzz_on("shell").await;
}
