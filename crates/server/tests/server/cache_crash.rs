//! The answer cache's persistent store across a `kill -9` of the real binary: the server
//! starts again, answers from the store what it answered before (and git agrees), and a
//! store file that cannot be read is dropped and rebuilt, with a log line, instead of
//! stopping the start.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::common::{Running, ZERO, commit_a_txt, git_ok, gitapi_serve, http_client};

/// Starts the binary with its log (at `warn`) in `log`; returns it and its base URL.
fn start(dir: &Path, log: &Path) -> (Running, String) {
    let file = std::fs::File::create(log).expect("log file");
    let mut cmd = gitapi_serve(dir, "");
    cmd.env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(file);
    let child = Running(cmd.spawn().expect("gitapi starts"));
    for _ in 0..400 {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(base) = text
            .lines()
            .find_map(|l| l.strip_prefix("gitapi listening on "))
        {
            return (child, base.trim().to_owned());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!(
        "no address announced: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

async fn get(client: &reqwest::Client, url: &str) -> Value {
    // The listener is up before the service finishes opening: retry a refused connection.
    for _ in 0..200 {
        match client.get(url).send().await {
            Ok(res) => {
                assert_eq!(res.status(), 200, "{url}");
                return res.json().await.expect("json");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(25)).await,
        }
    }
    panic!("{url} never answered");
}

const READS: &[&str] = &[
    "/v1/repos/r/commits/main",
    "/v1/repos/r/commits?range=main&path=a.txt",
    "/v1/repos/r/files?rev=main&recursive=true",
    "/v1/repos/r/blame?path=a.txt&rev=main",
    "/v1/repos/r/diff?from=main~1&to=main",
    "/v1/repos/r/diff?from=main~1&to=main&format=patch",
];

async fn read_all(client: &reqwest::Client, base: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for path in READS {
        let url = format!("{base}{path}");
        if path.contains("format=patch") {
            let res = client.get(&url).send().await.expect("patch");
            assert_eq!(res.status(), 200);
            out.push(Value::String(res.text().await.expect("text")));
        } else {
            out.push(get(client, &url).await);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_survives_kill_9_and_an_unreadable_store_is_rebuilt() {
    let dir = tempfile::tempdir().expect("temp");
    let log: PathBuf = dir.path().join("gitapi.log");
    let client = http_client().build().expect("client");
    let (mut server, base) = start(dir.path(), &log);
    let res = client
        .post(format!("{base}/v1/repos"))
        .json(&serde_json::json!({"name": "r"}))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201);
    let mut tip = ZERO.to_owned();
    for i in 0..3 {
        let content = (0..=i).map(|n| format!("line {n}\n")).collect::<String>();
        tip = commit_a_txt(&client, &base, &tip, &content).await;
    }
    let before = read_all(&client, &base).await;
    // The store writes in the background; give it the time of a durable commit, then kill
    // the server in the middle of another burst of reads and writes to the store.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let burst = {
        let client = client.clone();
        let base = base.clone();
        tokio::spawn(async move {
            for n in 0..200 {
                let _ = client
                    .get(format!(
                        "{base}/v1/repos/r/files?rev=main&recursive=true&limit={}",
                        n + 1
                    ))
                    .send()
                    .await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.0.kill().expect("SIGKILL");
    let _ = server.0.wait();
    burst.abort();
    let store = dir.path().join("data/state/cache.redb");
    assert!(store.is_file(), "the store is on by default");

    // Restarted: the server starts on the store the dead process left, and answers as before.
    let (server, base) = start(dir.path(), &log);
    let after = read_all(&client, &base).await;
    assert_eq!(after, before, "answers after kill -9 differ");
    let bare = dir.path().join("data/repos/r.git");
    assert_eq!(
        after[0]["oid"],
        git_ok(&bare, &["rev-parse", "main"]).trim()
    );
    drop(server);

    // A store file that is not a store: dropped, rebuilt and said in the log.
    std::fs::write(&store, b"this is not a redb file, it is garbage").expect("garbage");
    let (server, base) = start(dir.path(), &log);
    let again = read_all(&client, &base).await;
    assert_eq!(again, before, "answers after a rebuilt store differ");
    drop(server);
    let text = BufReader::new(std::fs::File::open(&log).expect("log"))
        .lines()
        .map_while(Result::ok)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("cache store is unreadable; deleting it and starting an empty one"),
        "{text}"
    );
}
