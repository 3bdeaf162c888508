//! Two `gitapi` processes on one data directory and one real `redis-server`: a write through
//! either node is seen at once by cached reads through the other (the shared ref version), and
//! a live event stream on one node hears the commits made through the other.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::StreamExt as _;
use serde_json::Value;

use crate::common::{ZERO, commit_a_txt, gitapi_serve, http_client, start_binary};

/// A `redis-server` on a free port of 127.0.0.1, killed on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (Debian's redis-server package; .ci/run installs it)");
        let redis = Redis { child, port };
        for _ in 0..200 {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                let mut buf = [0u8; 7];
                if s.write_all(b"PING\r\n").is_ok()
                    && s.read_exact(&mut buf).is_ok()
                    && &buf == b"+PONG\r\n"
                {
                    return redis;
                }
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("redis-server did not answer PING");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn main_of(client: &reqwest::Client, base: &str) -> (String, Vec<String>) {
    let c: Value = client
        .get(format!("{base}/v1/repos/r/commits/main"))
        .send()
        .await
        .expect("commit")
        .json()
        .await
        .expect("json");
    let log: Value = client
        .get(format!("{base}/v1/repos/r/commits?range=main&path=a.txt"))
        .send()
        .await
        .expect("log")
        .json()
        .await
        .expect("json");
    let oids = log["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| c["oid"].as_str().unwrap_or("").to_owned())
        .collect();
    (c["oid"].as_str().unwrap_or("").to_owned(), oids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_ref_versions_and_events_through_redis() {
    let redis = Redis::start();
    let a_dir = tempfile::tempdir().expect("temp");
    let b_dir = tempfile::tempdir().expect("temp");
    // Node b's data directory is node a's: one shared file system.
    std::fs::create_dir_all(a_dir.path().join("data")).expect("data");
    std::os::unix::fs::symlink(a_dir.path().join("data"), b_dir.path().join("data"))
        .expect("symlink");
    let config = |node: &str| {
        format!(
            "[server]\nnode = \"{node}\"\n[cache]\nredis_url = \"redis://127.0.0.1:{}\"\n",
            redis.port
        )
    };
    let (_a, a) = start_binary(gitapi_serve(a_dir.path(), &config("a")));
    let (_b, b) = start_binary(gitapi_serve(b_dir.path(), &config("b")));
    let client = http_client().build().expect("client");

    let res = client
        .post(format!("{a}/v1/repos"))
        .json(&serde_json::json!({"name": "r"}))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201);
    let mut tip = commit_a_txt(&client, &a, ZERO, "one\n").await;
    // Node b reads (and caches) main.
    assert_eq!(main_of(&client, &b).await, (tip.clone(), vec![tip.clone()]));
    assert_eq!(main_of(&client, &b).await.0, tip, "a repeated read on b");

    let events = client
        .get(format!("{b}/v1/repos/r/events"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("SSE on b");
    assert_eq!(events.status(), 200);
    let mut events = events.bytes_stream();

    let mut history = vec![tip.clone()];
    for (i, (writer, reader)) in [(&a, &b), (&b, &a), (&a, &b), (&a, &b)].iter().enumerate() {
        let text = format!("{}write {i}\n", "one\n".repeat(i + 1));
        tip = commit_a_txt(&client, writer, &tip, &text).await;
        history.insert(0, tip.clone());
        // At once, with no wait: the other node's cached reads already see the write.
        assert_eq!(
            main_of(&client, reader).await,
            (tip.clone(), history.clone()),
            "write {i} through {writer}, read through {reader}"
        );
    }

    // Node b's stream heard the commits made through node a (bounded wait).
    let mut seen = String::new();
    let last = tip.clone();
    let heard = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(chunk) = events.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.expect("event bytes")));
            if seen.contains(&last) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(
        heard,
        "b's event stream did not hear a's commit {last}:\n{seen}"
    );
    // One event per commit, whichever node made it.
    for oid in &history[..history.len() - 1] {
        assert_eq!(
            seen.matches(&format!("\"new\":\"{oid}\"")).count(),
            1,
            "{oid} in:\n{seen}"
        );
    }
}
