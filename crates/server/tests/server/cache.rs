//! The answer cache never serves a stale answer: writes through REST and pushes through
//! Smart HTTP are interleaved with reads that the cache answers (each read is asked twice, the
//! second time from the cache), and every answer is checked against git run on the repository.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use serde_json::Value;

use crate::common::git_ok;
use gitapi_cache::{Cache, CacheConfig, StoreConfig};
use gitapi_server::MetricsAccess;
use gitapi_service::{RepoService, ServiceConfig};
use gitapi_switch::{CanaryConfig, EngineKind, EngineSwitch};

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::to_owned).collect()
}

/// The array of a listing answer (a page's `items`, or the answer itself).
fn items(v: &Value) -> Vec<Value> {
    v.get("items")
        .and_then(Value::as_array)
        .or_else(|| v.as_array())
        .cloned()
        .unwrap_or_default()
}

struct Server {
    base: String,
    client: reqwest::Client,
    bare: PathBuf,
    svc: RepoService,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    /// GET twice: the second answer comes from the cache and must equal the first.
    async fn get_twice(&self, path: &str) -> Value {
        let mut answers = Vec::new();
        for _ in 0..2 {
            let res = self
                .client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("GET");
            assert_eq!(res.status(), 200, "{path}");
            answers.push(res.json::<Value>().await.expect("json"));
        }
        assert_eq!(answers[0], answers[1], "{path}: a repeated read changed");
        answers.swap_remove(0)
    }

    /// Creates (`POST`, at `main`; `name` in full) or deletes (`DELETE`; `name` after
    /// `refs/`) a ref through REST.
    async fn rest_ref(&self, method: &str, name: &str) {
        let res = match method {
            "POST" => self
                .client
                .post(format!("{}/v1/repos/r/refs", self.base))
                .json(&serde_json::json!({"name": name, "target": "main"})),
            _ => self
                .client
                .delete(format!("{}/v1/repos/r/refs/{name}", self.base)),
        }
        .send()
        .await
        .expect("ref");
        assert!(
            res.status().is_success(),
            "{method} {name}: {:?}",
            res.text().await
        );
    }

    async fn commit(&self, path: &str, content: &str, message: &str) {
        use base64::Engine as _;
        let mut body = serde_json::json!({
            "branch": "main",
            "actions": [{"action": "put", "path": path,
                "content": base64::engine::general_purpose::STANDARD.encode(content)}],
            "message": message,
            "author": {"name": "A U Thor", "email": "author@example.com", "time": 1700000000, "offsetMinutes": 0},
        });
        if message == "first" {
            // The branch is born: its expected tip is "none".
            body["expectedTip"] = Value::String(crate::common::ZERO.to_owned());
        }
        let res = self
            .client
            .post(format!("{}/v1/repos/r/commits", self.base))
            .json(&body)
            .send()
            .await
            .expect("commit");
        assert_eq!(res.status(), 201, "{:?}", res.text().await);
    }

    /// Every read kept at the ref version (the ref list, one ref, the repository, the
    /// advertisement of both protocols), checked against git.
    async fn check_ref_reads(&self, step: usize) {
        let bare = &self.bare;
        let want = lines(&git_ok(
            bare,
            &["for-each-ref", "--format=%(refname) %(objectname)"],
        ));
        let refs = self.get_twice("/v1/repos/r/refs?limit=1000").await;
        let got: Vec<String> = items(&refs)
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r["name"].as_str().unwrap_or(""),
                    r["target"].as_str().unwrap_or("")
                )
            })
            .collect();
        assert_eq!(got, want, "step {step}: ref list");
        for line in &want {
            let (name, target) = line.split_once(' ').unwrap_or_default();
            let short = name.strip_prefix("refs/").unwrap_or(name);
            let one = self.get_twice(&format!("/v1/repos/r/refs/{short}")).await;
            assert_eq!(one["target"], target, "step {step}: {name}");
        }

        let info = self.get_twice("/v1/repos/r").await;
        let empty = want.is_empty();
        assert_eq!(info["empty"], empty, "step {step}: repository is empty");

        // What a git client sees, in both protocols, asked twice (the second advertisement
        // comes from the cache).
        let mut want_remote: Vec<String> = want
            .iter()
            .map(|l| {
                let (name, target) = l.split_once(' ').unwrap_or_default();
                format!("{target}\t{name}")
            })
            .collect();
        if !empty {
            let head = git_ok(bare, &["rev-parse", "HEAD"]).trim().to_owned();
            want_remote.insert(0, format!("{head}\tHEAD"));
        }
        for protocol in ["0", "2"] {
            for _ in 0..2 {
                let got = lines(&git_ok(
                    bare,
                    &[
                        "-c",
                        &format!("protocol.version={protocol}"),
                        "ls-remote",
                        &format!("{}/r.git", self.base),
                    ],
                ));
                assert_eq!(
                    got, want_remote,
                    "step {step}: ls-remote, protocol {protocol}"
                );
            }
        }
    }

    /// Every cached read of `main`, checked against git.
    async fn check_reads(&self, step: usize) {
        self.check_ref_reads(step).await;
        let bare = &self.bare;
        let head = git_ok(bare, &["rev-parse", "main"]).trim().to_owned();
        let c = self.get_twice("/v1/repos/r/commits/main").await;
        assert_eq!(c["oid"], head, "step {step}: commit of main");

        let log = self
            .get_twice("/v1/repos/r/commits?range=main&path=a.txt&limit=1000")
            .await;
        let got: Vec<String> = items(&log)
            .iter()
            .map(|c| c["oid"].as_str().unwrap_or("").to_owned())
            .collect();
        let want = lines(&git_ok(
            bare,
            &["log", "--format=%H", "main", "--", "a.txt"],
        ));
        assert_eq!(got, want, "step {step}: log of a.txt");

        let tree = self
            .get_twice("/v1/repos/r/files?rev=main&recursive=true&limit=1000")
            .await;
        let got: Vec<String> = items(&tree)
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["oid"].as_str().unwrap_or(""),
                    e["path"].as_str().unwrap_or("")
                )
            })
            .collect();
        let want: Vec<String> = git_ok(bare, &["ls-tree", "-r", "main"])
            .lines()
            .filter_map(|l| {
                let (meta, path) = l.split_once('\t')?;
                Some(format!("{} {path}", meta.split(' ').nth(2)?))
            })
            .collect();
        assert_eq!(got, want, "step {step}: recursive listing");

        let blame = self
            .get_twice("/v1/repos/r/blame?path=a.txt&rev=main")
            .await;
        let mut got = Vec::new();
        for h in items(&blame) {
            for _ in 0..h["lines"].as_u64().unwrap_or(0) {
                got.push(h["commit"].as_str().unwrap_or("").to_owned());
            }
        }
        // One header per final line, each starting with the full commit id.
        let want: Vec<String> = git_ok(bare, &["blame", "--line-porcelain", "main", "--", "a.txt"])
            .lines()
            .filter_map(|l| {
                let id = l.split(' ').next()?;
                (id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_owned())
            })
            .collect();
        assert_eq!(got, want, "step {step}: blame of a.txt");

        if git_ok(bare, &["rev-list", "--count", "main"]).trim() != "1" {
            let diff = self.get_twice("/v1/repos/r/diff?from=main~1&to=main").await;
            let got: Vec<String> = diff["files"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|f| {
                    f["newPath"]
                        .as_str()
                        .or(f["oldPath"].as_str())
                        .unwrap_or("")
                        .to_owned()
                })
                .collect();
            let want = lines(&git_ok(bare, &["diff", "--name-only", "main~1", "main"]));
            assert_eq!(got, want, "step {step}: diff main~1..main");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve(data: &Path, cache: Cache) -> Server {
    let switch = EngineSwitch::new(
        Arc::new(gitapi_git2::Git2Backend::new(gitapi_git2::Config::new(
            data,
        ))),
        Arc::new(gitapi_shell::ShellBackend::new(gitapi_shell::Config::new(
            data,
        ))),
        EngineKind::Libgit2,
        CanaryConfig::default(),
    );
    let svc = RepoService::builder(ServiceConfig::new(data), Arc::new(switch))
        .cache(cache)
        .build();
    let (router, _grpc) = gitapi_server::compose(svc.clone(), MetricsAccess::Open).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(gitapi_server::serve(listener, router, async {
        let _ = stopped.await;
    }));
    Server {
        base,
        client: crate::common::http_client().build().expect("client"),
        bare: data.join("repos/r.git"),
        svc,
        stop: Some(stop),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_reads_agree_with_git_across_rest_writes_and_pushes() {
    let data = tempfile::tempdir().expect("temp");
    let cache = Cache::open(CacheConfig {
        memory_bytes: 16 << 20,
        store: Some(StoreConfig::new(data.path().join("state/cache.redb"))),
        redis: None,
    })
    .await
    .expect("cache");
    let server = serve(data.path(), cache).await;
    let res = server
        .client
        .post(format!("{}/v1/repos", server.base))
        .json(&serde_json::json!({"name": "r"}))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201);
    server.check_ref_reads(0).await;
    server.commit("a.txt", "one\n", "first").await;
    server.check_reads(0).await;

    let work = tempfile::tempdir().expect("temp");
    git_ok(
        work.path(),
        &["clone", "-q", &format!("{}/r.git", server.base), "c"],
    );
    let clone = work.path().join("c");
    let mut text = String::from("one\n");
    for step in 1..=12 {
        match step % 3 {
            // A REST commit that changes a.txt.
            0 => {
                text.push_str(&format!("rest {step}\n"));
                server.commit("a.txt", &text, &format!("rest {step}")).await;
            }
            // A push that changes a.txt (and a file in a directory).
            1 => {
                git_ok(&clone, &["pull", "-q", "--rebase", "origin", "main"]);
                text = std::fs::read_to_string(clone.join("a.txt")).expect("a.txt");
                text.insert_str(0, &format!("push {step}\n"));
                std::fs::write(clone.join("a.txt"), &text).expect("write");
                std::fs::create_dir_all(clone.join("d")).expect("mkdir");
                std::fs::write(clone.join(format!("d/{step}.txt")), "x\n").expect("write");
                git_ok(&clone, &["add", "-A"]);
                git_ok(&clone, &["commit", "-q", "-m", &format!("push {step}")]);
                git_ok(&clone, &["push", "-q", "origin", "HEAD:main"]);
            }
            // A REST commit that leaves a.txt alone: the log of a.txt keeps its answer.
            _ => {
                server
                    .commit(&format!("b{step}.txt"), "b\n", &format!("b {step}"))
                    .await
            }
        }
        // Ref changes that move no branch: tags and branches made and deleted through REST
        // and pushes, so only the ref list, the ref reads and the advertisement can see them.
        match step % 4 {
            0 => server.rest_ref("POST", &format!("refs/tags/t{step}")).await,
            1 => {
                git_ok(
                    &clone,
                    &["push", "-q", "origin", &format!("HEAD:refs/tags/p{step}")],
                );
            }
            2 => {
                git_ok(
                    &clone,
                    &["push", "-q", "origin", &format!(":refs/tags/p{}", step - 1)],
                );
            }
            _ if step > 4 => {
                server
                    .rest_ref("DELETE", &format!("tags/t{}", step - 3))
                    .await
            }
            _ => {
                server
                    .rest_ref("POST", &format!("refs/heads/b{step}"))
                    .await
            }
        }
        server.check_reads(step).await;
    }
    // The reads kept at the ref version are answered from memory when asked again: the ref
    // list, each ref, the repository, and the second advertisement of protocol 0.
    let memory_hits = |svc: &RepoService| {
        svc.cache_stats()
            .iter()
            .find(|l| l.name == "memory")
            .map_or(0, |l| l.hits)
    };
    let before = memory_hits(&server.svc);
    server.check_ref_reads(13).await;
    let refs = git_ok(&server.bare, &["for-each-ref"]).lines().count() as u64;
    let hits = memory_hits(&server.svc) - before;
    assert!(hits > refs + 3, "{hits} hits for {refs} refs");

    // Every second read of each step came from memory.
    let stats = server.svc.cache_stats();
    let memory = stats
        .iter()
        .find(|l| l.name == "memory")
        .expect("memory level");
    assert!(memory.hits >= 13 * 5, "{stats:?}");
    // And every answer reached the store.
    server.svc.flush_cache().await;
    let store = stats
        .iter()
        .find(|l| l.name == "store")
        .expect("store level");
    assert!(store.misses >= 13 * 4, "{stats:?}");
}
