//! The crash suite: the real `gitapi` binary is killed with SIGKILL while clients commit,
//! create refs, write and stage workspace files, stash, clone, gc and sync a mirror, over and
//! over, on each engine. After every restart:
//!
//! - every write that was answered with success is there (commits on `main`, branches at
//!   their targets, stashes, cloned repositories; the mirror at its source's refs);
//! - `git fsck --strict` is clean in every repository;
//! - nothing is left blocked: a commit, a ref, a workspace write, a stage, a stash, a gc and
//!   a mirror sync all succeed at once;
//! - no lock file, quarantine or scratch directory of the dead process survived.
//!
//! Odd cycles kill the server's git processes with it (a machine going down); even cycles kill
//! the server alone, leaving its git children running for the restarted server to stop.
//!
//! Profiles: `GITAPI_CRASH_CYCLES` cycles per engine (10 by default, CI's bounded run;
//! `GITAPI_CRASH_CYCLES=100` is the long local run). Each engine prints its figures.

#[path = "../support/announce.rs"]
mod announce;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

const ZERO: &str = "0000000000000000000000000000000000000000";

fn cycles() -> usize {
    std::env::var("GITAPI_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

struct Server {
    child: std::process::Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(engine: &str, data: &Path) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gitapi"));
    cmd.args([
        "serve",
        "--allow-local-clone",
        "--listen",
        "127.0.0.1:0",
        "--data",
    ])
    .arg(data)
    .env_remove("GITAPI_LISTEN")
    .env_remove("GITAPI_DATA_DIR")
    .env("GIT_BACKEND", engine)
    // Only the canary's shadow reads would add noise; writes are what is under test.
    .env("GITAPI_CANARY_FRACTION", "0")
    .env("RUST_LOG", "error");
    let (child, base) = announce::spawn_announced(cmd);
    Server { child, base }
}

/// The pids of the git processes `server` started (their environment names it).
fn git_children(server: u32) -> Vec<i32> {
    let key = format!("GITAPI_PARENT_PID={server}");
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if env.split(|&b| b == 0).any(|kv| kv == key.as_bytes()) {
            pids.push(pid);
        }
    }
    pids
}

/// What the clients were told succeeded.
#[derive(Default, Clone)]
struct Acked {
    commits: Vec<String>,
    branches: Vec<(String, String)>,
    clones: Vec<String>,
    stashes: usize,
    gcs: usize,
    syncs: usize,
    /// The source's refs, which the mirror `m` holds after any sync (the source never moves).
    mirror_refs: String,
}

#[derive(Default)]
struct Figures {
    leftovers_after_kill: usize,
    children_left_running: usize,
    cycles: usize,
}

/// Where `main` is now, or `None` once the server is gone.
async fn current_tip(c: &reqwest::Client, base: &str) -> Option<String> {
    let res = c
        .get(format!("{base}/v1/repos/r/refs/heads/main"))
        .send()
        .await
        .ok()?;
    let r: Value = res.json().await.ok()?;
    Some(r["target"].as_str()?.to_owned())
}

async fn tip(c: &reqwest::Client, base: &str) -> String {
    current_tip(c, base)
        .await
        .expect("main, read from a live server")
}

/// Commits on `main`, each on the tip the last answer gave, until the server dies.
async fn committer(c: reqwest::Client, base: String, acked: Arc<Mutex<Acked>>, n: usize) {
    let Some(mut tip) = current_tip(&c, &base).await else {
        return;
    };
    for i in 0.. {
        let res = c
            .post(format!("{base}/v1/repos/r/commits"))
            .json(&json!({
                "branch": "main",
                "expectedTip": tip,
                "message": format!("crash {n} {i}"),
                "author": {"name": "C", "email": "c@example.com"},
                "actions": [{"action": "put", "path": format!("d{}/f{i}.txt", n % 7),
                              "content": "aGVsbG8K"}],
            }))
            .send()
            .await;
        let Ok(res) = res else { return };
        if res.status() == 409 {
            // The other committer moved main first: go on from where it is now.
            let Some(now) = current_tip(&c, &base).await else {
                return;
            };
            tip = now;
            continue;
        }
        if res.status() != 201 {
            return;
        }
        let Ok(body) = res.json::<Value>().await else {
            return;
        };
        tip = body["oid"].as_str().expect("an oid").to_owned();
        acked
            .lock()
            .expect("not poisoned")
            .commits
            .push(tip.clone());
    }
}

/// Creates branches at acknowledged commits.
async fn brancher(c: reqwest::Client, base: String, acked: Arc<Mutex<Acked>>, n: usize) {
    for i in 0.. {
        // The root commit is acknowledged before the first cycle, so there is always one.
        let target = acked.lock().expect("not poisoned").commits.last().cloned();
        let Some(target) = target else { return };
        let name = format!("b{n}-{i}");
        let res = c
            .post(format!("{base}/v1/repos/r/refs"))
            .json(&json!({"name": name, "kind": "branch", "target": target}))
            .send()
            .await;
        match res {
            Ok(res) if res.status() == 201 => acked
                .lock()
                .expect("not poisoned")
                .branches
                .push((name, target)),
            _ => return,
        }
    }
}

/// Writes a file into workspace `w`, stages it and stashes it.
async fn stasher(c: reqwest::Client, base: String, acked: Arc<Mutex<Acked>>, n: usize) {
    for i in 0.. {
        let path = format!("w{n}-{i}.txt");
        let put = c
            .put(format!("{base}/v1/repos/r/workspaces/w/files/{path}"))
            .header("content-type", "application/octet-stream")
            .body(format!("{n} {i}\n"))
            .send()
            .await;
        if !put.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        let stage = c
            .post(format!("{base}/v1/repos/r/stage"))
            .json(&json!({"path": path, "workspace": "w"}))
            .send()
            .await;
        if !stage.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        let stash = c
            .post(format!("{base}/v1/repos/r/stash"))
            .json(&json!({"workspace": "w", "message": format!("s{n}-{i}")}))
            .send()
            .await;
        match stash {
            Ok(r) if r.status() == 201 => acked.lock().expect("not poisoned").stashes += 1,
            _ => return,
        }
    }
}

/// Clones the source repository under new names.
async fn cloner(c: reqwest::Client, base: String, acked: Arc<Mutex<Acked>>, n: usize, src: String) {
    for i in 0.. {
        let name = format!("c{n}-{i}");
        let res = c
            .post(format!("{base}/v1/repos"))
            .json(&json!({"name": name, "source": {"url": src}}))
            .send()
            .await;
        match res {
            Ok(res) if res.status() == 201 => acked.lock().expect("not poisoned").clones.push(name),
            _ => return,
        }
    }
}

/// Syncs the mirror `m` over and over and packs `r` every fourth turn: the maintenance writes,
/// which rewrite packs, the commit-graph, `packed-refs` and (a sync) every ref at once. gc
/// holds `r`'s write lock throughout, so it runs rarely enough to leave the other writers
/// their turns.
async fn maintainer(c: reqwest::Client, base: String, acked: Arc<Mutex<Acked>>) {
    for i in 0.. {
        let gc = i % 4 == 3;
        let url = if gc {
            format!("{base}/v1/repos/r/gc")
        } else {
            format!("{base}/v1/repos/m/sync")
        };
        match c.post(url).send().await {
            Ok(r) if r.status() == 200 => {
                let mut a = acked.lock().expect("not poisoned");
                if gc {
                    a.gcs += 1;
                } else {
                    a.syncs += 1;
                }
            }
            _ => return,
        }
    }
}

/// Every ref of the repository at `dir`, as `for-each-ref` prints them.
fn refs_of(dir: &Path) -> String {
    let out = git_in(dir, &["for-each-ref", "--format=%(refname) %(objectname)"]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Lock files, quarantines and scratch entries under `data` (what a dead process leaves).
fn leftovers(data: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(t) = e.file_type() else { continue };
            if name.ends_with(".lock") && name != "gitapi.lock"
                || name.starts_with("incoming-")
                || name.starts_with("tmp_")
                || name.starts_with(".gitapi-tmp-")
            {
                out.push(p.clone());
            }
            if t.is_dir() {
                walk(&p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&data.join("repos"), &mut out);
    walk(&data.join("workspaces"), &mut out);
    for e in std::fs::read_dir(data.join("tmp"))
        .into_iter()
        .flatten()
        .flatten()
    {
        out.push(e.path());
    }
    out
}

fn git_in(dir: &Path, args: &[&str]) -> std::process::Output {
    gitapi_testkit::git::Git::new().output_in_git_dir(dir, args)
}

/// Everything acknowledged is there, every repository passes fsck, nothing is left over.
async fn verify(
    c: &reqwest::Client,
    base: &str,
    data: &Path,
    acked: &Acked,
    checked: &Mutex<HashSet<String>>,
    cycle: usize,
) {
    let left = leftovers(data);
    assert!(
        left.is_empty(),
        "cycle {cycle}: left after restart: {left:?}"
    );
    let repos = data.join("repos");
    let r = repos.join("r.git");
    let text = |out: std::process::Output| String::from_utf8_lossy(&out.stdout).into_owned();
    let on_main: HashSet<String> = text(git_in(&r, &["rev-list", "refs/heads/main"]))
        .lines()
        .map(str::to_owned)
        .collect();
    for oid in &acked.commits {
        assert!(
            on_main.contains(oid),
            "cycle {cycle}: acknowledged commit {oid} is not on main"
        );
    }
    let heads: HashMap<String, String> = text(git_in(
        &r,
        &[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/heads/",
        ],
    ))
    .lines()
    .filter_map(|l| l.split_once(' '))
    .map(|(n, o)| (n.to_owned(), o.to_owned()))
    .collect();
    for (name, target) in &acked.branches {
        assert_eq!(
            heads.get(&format!("refs/heads/{name}")),
            Some(target),
            "cycle {cycle}: acknowledged branch {name}"
        );
    }
    let stashes = git_in(&r, &["reflog", "show", "--format=%H", "refs/stash"]);
    let kept = String::from_utf8_lossy(&stashes.stdout).lines().count();
    assert!(
        kept >= acked.stashes,
        "cycle {cycle}: {} stashes acknowledged, {kept} kept",
        acked.stashes
    );
    for name in &acked.clones {
        assert!(
            repos.join(format!("{name}.git")).join("HEAD").is_file(),
            "cycle {cycle}: acknowledged clone {name} is missing"
        );
    }
    // `r` and every repository not checked yet (a clone is never written again).
    let fresh: Vec<_> = {
        let mut checked = checked.lock().expect("not poisoned");
        std::fs::read_dir(&repos)
            .expect("repos")
            .flatten()
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name == "r.git" || name == "m.git" || checked.insert(name)
            })
            .collect()
    };
    for e in fresh {
        let out = git_in(&e.path(), &["fsck", "--strict", "--no-progress"]);
        assert!(
            out.status.success(),
            "cycle {cycle}: fsck of {}: {}",
            e.path().display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        refs_of(&repos.join("m.git")),
        acked.mirror_refs,
        "cycle {cycle}: the mirror's refs"
    );
    // Nothing is blocked: each kind of write succeeds at once.
    for url in ["r/gc", "m/sync"] {
        let res = c
            .post(format!("{base}/v1/repos/{url}"))
            .send()
            .await
            .expect("maintenance");
        assert_eq!(
            res.status(),
            200,
            "cycle {cycle}: {url}: {}",
            res.text().await.unwrap_or_default()
        );
    }
    let main = tip(c, base).await;
    let res = c
        .post(format!("{base}/v1/repos/r/commits"))
        .json(&json!({
            "branch": "main", "expectedTip": main, "message": "after restart",
            "author": {"name": "C", "email": "c@example.com"},
            "actions": [{"action": "put", "path": "after.txt",
                          "content": STANDARD.encode(format!("{cycle}\n"))}],
        }))
        .send()
        .await
        .expect("commit");
    assert_eq!(
        res.status(),
        201,
        "cycle {cycle}: {}",
        res.text().await.unwrap_or_default()
    );
    let res = c
        .post(format!("{base}/v1/repos/r/refs"))
        .json(&json!({"name": format!("after-{cycle}"), "kind": "branch", "target": "main"}))
        .send()
        .await
        .expect("ref");
    assert_eq!(
        res.status(),
        201,
        "cycle {cycle}: {}",
        res.text().await.unwrap_or_default()
    );
    let res = c
        .put(format!(
            "{base}/v1/repos/r/workspaces/w/files/after-{cycle}.txt"
        ))
        .header("content-type", "application/octet-stream")
        .body("x\n")
        .send()
        .await
        .expect("put");
    assert!(res.status().is_success(), "cycle {cycle}: {}", res.status());
    let res = c
        .post(format!("{base}/v1/repos/r/stage"))
        .json(&json!({"path": format!("after-{cycle}.txt"), "workspace": "w"}))
        .send()
        .await
        .expect("stage");
    assert!(
        res.status().is_success(),
        "cycle {cycle}: {}",
        res.text().await.unwrap_or_default()
    );
    let res = c
        .post(format!("{base}/v1/repos/r/stash"))
        .json(&json!({"workspace": "w", "message": format!("after {cycle}")}))
        .send()
        .await
        .expect("stash");
    assert_eq!(
        res.status(),
        201,
        "cycle {cycle}: {}",
        res.text().await.unwrap_or_default()
    );
}

async fn crash_run(engine: &str) {
    let data = tempfile::tempdir().expect("data dir");
    let src = tempfile::tempdir().expect("clone source");
    let git = gitapi_testkit::git::Git::new();
    git.run(src.path(), &["init", "-q", "-b", "main"]);
    for i in 0..20 {
        std::fs::write(src.path().join(format!("s{i}.txt")), format!("{i}\n")).expect("write");
        git.run(src.path(), &["add", "."]);
        git.run(src.path(), &["commit", "-q", "-m", &format!("s{i}")]);
    }
    let src_url = format!("file://{}", src.path().display());
    let c = http();

    let server = start(engine, data.path());
    let base = server.base.clone();
    let res = c
        .post(format!("{base}/v1/repos"))
        .json(&json!({"name": "r"}))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201);
    let res = c
        .post(format!("{base}/v1/repos/r/commits"))
        .json(&json!({
            "branch": "main", "expectedTip": ZERO, "message": "root",
            "author": {"name": "C", "email": "c@example.com"},
            "actions": [{"action": "put", "path": "README.md", "content": "aGVsbG8K"}],
        }))
        .send()
        .await
        .expect("root commit");
    assert_eq!(res.status(), 201);
    let root: Value = res.json().await.expect("a commit");
    let root = root["oid"].as_str().expect("an oid").to_owned();
    let res = c
        .post(format!("{base}/v1/repos/r/workspaces"))
        .json(&json!({"name": "w", "branch": "main"}))
        .send()
        .await
        .expect("workspace");
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let res = c
        .post(format!("{base}/v1/repos"))
        .json(&json!({"name": "m", "source": {"url": src_url, "mirror": true}}))
        .send()
        .await
        .expect("mirror");
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
    stop_with_children(server);

    let acked = Arc::new(Mutex::new(Acked {
        commits: vec![root],
        mirror_refs: refs_of(&src.path().join(".git")),
        ..Acked::default()
    }));
    let checked = Mutex::new(HashSet::new());
    let mut figures = Figures::default();
    let started = Instant::now();
    for cycle in 0..cycles() {
        let mut server = start(engine, data.path());
        let base = server.base.clone();
        {
            let a = acked.lock().expect("not poisoned").clone();
            verify(&c, &base, data.path(), &a, &checked, cycle).await;
        }
        let mut tasks = Vec::new();
        for n in 0..2 {
            let n = cycle * 10 + n;
            tasks.push(tokio::spawn(committer(
                c.clone(),
                base.clone(),
                acked.clone(),
                n,
            )));
        }
        tasks.push(tokio::spawn(brancher(
            c.clone(),
            base.clone(),
            acked.clone(),
            cycle,
        )));
        tasks.push(tokio::spawn(stasher(
            c.clone(),
            base.clone(),
            acked.clone(),
            cycle,
        )));
        tasks.push(tokio::spawn(maintainer(
            c.clone(),
            base.clone(),
            acked.clone(),
        )));
        tasks.push(tokio::spawn(cloner(
            c.clone(),
            base.clone(),
            acked.clone(),
            cycle,
            src_url.clone(),
        )));
        // A different moment in each cycle (deterministic, so a failure can be replayed).
        let wait = 40 + (cycle * 7919) % 360;
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        let pid = server.child.id();
        let children = git_children(pid);
        if cycle % 2 == 1 {
            for &p in &children {
                // std can signal only its own children; these are the server's.
                let _ = Command::new("kill")
                    .args(["-9", &p.to_string()])
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        } else {
            figures.children_left_running += children.len();
        }
        server.child.kill().expect("SIGKILL");
        server.child.wait().expect("reaped");
        for t in tasks {
            let _ = t.await;
        }
        figures.leftovers_after_kill += leftovers(data.path()).len();
        figures.cycles += 1;
    }
    let server = start(engine, data.path());
    {
        let a = acked.lock().expect("not poisoned").clone();
        verify(&c, &server.base, data.path(), &a, &checked, cycles()).await;
        println!(
            "crash suite [{engine}]: {} cycles in {:.1} s; acknowledged and found after restart: \
             {} commits, {} branches, {} stashes, {} clones, {} gcs, {} mirror syncs; leftovers \
             of the dead process removed at restart: {}; git processes left running by a \
             killed server: {}",
            figures.cycles,
            started.elapsed().as_secs_f64(),
            a.commits.len(),
            a.branches.len(),
            a.stashes,
            a.clones.len(),
            a.gcs,
            a.syncs,
            figures.leftovers_after_kill,
            figures.children_left_running,
        );
        assert!(!a.commits.is_empty(), "no commit was acknowledged at all");
    }
    stop_with_children(server);
}

/// Kills the server and every git process it started, and waits until they are gone: tests
/// that run after this one count the git processes of the session.
fn stop_with_children(mut server: Server) {
    let pid = server.child.id();
    for p in git_children(pid) {
        let _ = Command::new("kill")
            .args(["-9", &p.to_string()])
            .stderr(std::process::Stdio::null())
            .status();
    }
    let _ = server.child.kill();
    let _ = server.child.wait();
    for _ in 0..200 {
        if git_children(pid).is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libgit2_engine_loses_no_acknowledged_write_to_kill_9() {
    crash_run("libgit2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_engine_loses_no_acknowledged_write_to_kill_9() {
    crash_run("shell").await;
}
