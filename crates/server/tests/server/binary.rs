//! The real `gitapi` binary on a free port, driven by a real HTTP client (HTTP/1.1 and h2c),
//! stopped by SIGTERM.

use std::process::Command;

use serde_json::{Value, json};

struct Server {
    child: std::process::Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only if the test failed before stopping it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data: &std::path::Path) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gitapi"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env_remove("GITAPI_LISTEN")
        .env_remove("GITAPI_DATA_DIR")
        .env("RUST_LOG", "warn");
    let (child, base) = crate::announce::spawn_announced(cmd);
    Server { child, base }
}

// Several threads: the clients' connection tasks must keep running (and close their sockets)
// while this test waits for the process to exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_http1_and_h2c_and_stops_on_sigterm() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = start(data.path());
    let base = server.base.clone();
    let http = crate::common::http_client()
        .build()
        .expect("an HTTP client");

    let res = http
        .post(format!("{base}/v1/repos"))
        .json(&json!({"name": "hello"}))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201);
    let res = http
        .post(format!("{base}/v1/repos/hello/commits"))
        .json(&json!({
            "branch": "main",
            "expectedTip": "0000000000000000000000000000000000000000",
            "message": "first",
            "author": {"name": "A", "email": "a@example.com"},
            "actions": [{"action": "put", "path": "README.md", "content": "aGVsbG8K"}],
        }))
        .send()
        .await
        .expect("commit");
    assert_eq!(res.status(), 201);
    let res = http
        .get(format!(
            "{base}/v1/repos/hello/blob?rev=main&path=README.md"
        ))
        .send()
        .await
        .expect("blob");
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), reqwest::Version::HTTP_11);
    assert_eq!(res.text().await.expect("text"), "hello\n");

    // The same port speaks HTTP/2 with prior knowledge.
    let h2 = crate::common::http_client()
        .http2_prior_knowledge()
        .build()
        .expect("an h2c client");
    let res = h2
        .get(format!("{base}/v1/repos/hello/files?rev=main"))
        .send()
        .await
        .expect("h2c request");
    assert_eq!(res.version(), reqwest::Version::HTTP_2);
    let v: Value = res.json().await.expect("json");
    assert_eq!(v["items"][0]["path"], "README.md");

    // Close the clients' idle connections, then stop the server.
    drop((http, h2));
    let pid = server.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = tokio::task::block_in_place(|| server.child.wait()).expect("the server exits");
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn help_explains_each_command() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_gitapi"))
            .args(args)
            .output()
            .expect("the binary runs");
        assert!(out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let top = run(&["--help"]);
    for cmd in ["serve", "check-config", "openapi"] {
        assert!(top.contains(cmd), "{top}");
    }
    let serve = run(&["serve", "--help"]);
    for flag in [
        "--data",
        "--listen",
        "--config",
        "--allow-local-clone",
        "GIT_BACKEND",
    ] {
        assert!(serve.contains(flag), "{serve}");
    }
    let doc: Value =
        serde_json::from_str(&run(&["openapi"])).expect("the openapi command prints JSON");
    assert_eq!(doc["openapi"], "3.1.0");
}
