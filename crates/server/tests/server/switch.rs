//! Switching engines while serving: continuous mixed load over a real socket (readers, and
//! writers making one-file commits) while the engine is switched through the admin API at
//! least 100 times. No request may fail, and git itself must find every acknowledged commit in
//! the final history.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine as _;
use serde_json::{Value, json};

const WRITERS: usize = 4;
const COMMITS_PER_WRITER: usize = 30;
const READERS: usize = 2;
const MIN_SWITCHES: u64 = 100;

async fn ok(resp: reqwest::Result<reqwest::Response>, what: &str) -> Value {
    let resp = resp.unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert!(status.is_success(), "{what}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn commit_body(branch: &str, expected: &str, n: usize) -> Value {
    json!({
        "branch": branch,
        "expectedTip": expected,
        "message": format!("{branch} write {n}"),
        "author": {"name": "Load", "email": "load@example.com", "time": 1700000000 + n, "offsetMinutes": 0},
        "actions": [{
            "action": "put",
            "path": format!("{branch}/file.txt"),
            "content": base64::engine::general_purpose::STANDARD.encode(format!("{n}\n")),
        }],
    })
}

fn git_log(data: &std::path::Path, branch: &str) -> Vec<String> {
    let out = Command::new("git")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .arg("--git-dir")
        .arg(data.join("repos/load.git"))
        .args(["log", "--format=%H", branch])
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git log {branch}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn switching_engines_under_load_fails_no_request_and_loses_no_commit() {
    let data = tempfile::tempdir().expect("temp dir");
    let config = gitapi_server::Config::load(
        None,
        &Default::default(),
        &gitapi_server::Flags {
            data_dir: Some(data.path().to_owned()),
            listen: Some("127.0.0.1:0".into()),
            allow_local_clone: false,
        },
    )
    .expect("valid config");
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .expect("binds");
    let base = format!("http://{}", listener.local_addr().expect("bound"));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // Opened (and swept) before the server task runs, so a test that writes into the data
    // directory next cannot race the start-up recovery.
    let data_dir = gitapi_server::DataDir::open(&config).expect("the data directory opens");
    let server = tokio::spawn(gitapi_server::run_in(
        data_dir,
        config,
        listener,
        async {
            let _ = stop_rx.await;
        },
        None,
    ));
    let http = crate::common::http_client()
        .build()
        .expect("an HTTP client");

    // A repository with main and one branch per writer.
    ok(
        http.post(format!("{base}/v1/repos"))
            .json(&json!({"name": "load"}))
            .send()
            .await,
        "create",
    )
    .await;
    let root = ok(
        http.post(format!("{base}/v1/repos/load/commits"))
            .json(&commit_body(
                "main",
                "0000000000000000000000000000000000000000",
                0,
            ))
            .send()
            .await,
        "root commit",
    )
    .await["oid"]
        .as_str()
        .expect("an oid")
        .to_owned();
    for w in 0..WRITERS {
        ok(
            http.post(format!("{base}/v1/repos/load/refs"))
                .json(&json!({"name": format!("refs/heads/w{w}"), "target": root}))
                .send()
                .await,
            "create branch",
        )
        .await;
    }

    let writing = Arc::new(AtomicBool::new(true));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (http, base) = (http.clone(), base.clone());
        writers.push(tokio::spawn(async move {
            let branch = format!("w{w}");
            let mut tip = root_of(&http, &base, &branch).await;
            let mut acknowledged = Vec::new();
            for n in 1..=COMMITS_PER_WRITER {
                // Compare-and-swap on the writer's own branch: it must never be lost.
                let v = ok(
                    http.post(format!("{base}/v1/repos/load/commits"))
                        .json(&commit_body(&branch, &tip, n))
                        .send()
                        .await,
                    &format!("commit {n} on {branch}"),
                )
                .await;
                tip = v["oid"].as_str().expect("an oid").to_owned();
                acknowledged.push(tip.clone());
            }
            (branch, acknowledged)
        }));
    }
    let mut readers = Vec::new();
    for r in 0..READERS {
        let (http, base, writing) = (http.clone(), base.clone(), Arc::clone(&writing));
        readers.push(tokio::spawn(async move {
            let mut reads = 0u64;
            // Bounded: stops when the writers are done, or after 5,000 reads.
            while writing.load(Ordering::Acquire) && reads < 5_000 {
                let uri = match reads % 3 {
                    0 => format!("{base}/v1/repos/load/refs?limit=50"),
                    1 => format!("{base}/v1/repos/load/commits?range=w{r}&limit=10"),
                    _ => format!("{base}/v1/repos/load/files?rev=main&recursive=1"),
                };
                ok(http.get(&uri).send().await, &uri).await;
                reads += 1;
            }
            reads
        }));
    }
    let switcher = {
        let (http, base, writing) = (http.clone(), base.clone(), Arc::clone(&writing));
        tokio::spawn(async move {
            let mut switches = 0u64;
            // Bounded: at least MIN_SWITCHES, then until the writers are done, 2,000 at most.
            while (switches < MIN_SWITCHES || writing.load(Ordering::Acquire)) && switches < 2_000 {
                let to = if switches.is_multiple_of(2) {
                    "shell"
                } else {
                    "libgit2"
                };
                ok(
                    http.put(format!("{base}/v1/admin/backend"))
                        .json(&json!({"backend": to}))
                        .send()
                        .await,
                    "switch",
                )
                .await;
                switches += 1;
                tokio::task::yield_now().await;
            }
            switches
        })
    };

    let mut acknowledged = Vec::new();
    for w in writers {
        acknowledged.push(w.await.expect("writer task"));
    }
    writing.store(false, Ordering::Release);
    let reads: u64 = {
        let mut total = 0;
        for r in readers {
            total += r.await.expect("reader task");
        }
        total
    };
    let switches = switcher.await.expect("switcher task");
    assert!(switches >= MIN_SWITCHES, "{switches} switches");
    assert!(reads > 0);

    let status = ok(
        http.get(format!("{base}/v1/admin/backend")).send().await,
        "status",
    )
    .await;
    assert!(
        status["switches"].as_u64().unwrap_or(0) >= MIN_SWITCHES,
        "{status}"
    );
    let served = &status["served"];
    assert!(
        served["libgit2"].as_u64().unwrap_or(0) > 0 && served["shell"].as_u64().unwrap_or(0) > 0,
        "both engines served: {status}"
    );

    // git is the oracle: every acknowledged commit is in its branch's history, in order.
    for (branch, oids) in &acknowledged {
        let log = git_log(data.path(), branch);
        assert_eq!(oids.len(), COMMITS_PER_WRITER);
        for oid in oids {
            assert!(
                log.contains(oid),
                "{oid} acknowledged on {branch} is missing"
            );
        }
        assert_eq!(
            log.first(),
            oids.last(),
            "{branch} ends at its last acknowledged commit"
        );
    }
    let fsck = Command::new("git")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .arg("--git-dir")
        .arg(data.path().join("repos/load.git"))
        .args(["fsck", "--strict"])
        .output()
        .expect("git runs");
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stderr)
    );

    let _ = stop_tx.send(());
    server
        .await
        .expect("server task")
        .expect("server stops cleanly");
}

async fn root_of(http: &reqwest::Client, base: &str, branch: &str) -> String {
    let v = ok(
        http.get(format!("{base}/v1/repos/load/refs/heads/{branch}"))
            .send()
            .await,
        "get ref",
    )
    .await;
    v["target"].as_str().expect("a target").to_owned()
}
