//! Repeat reads from the answer cache (issue 13): blame, diff in every format, a log with a path
//! and a recursive tree listing on a generated repository of 5,000 files and 1,000 commits,
//! cold (every request a new key), warm (the same request again, at concurrency 1 and 16) and
//! from the store alone (after a restart on the same data directory), with the hits and misses
//! of each cache level after each phase.
//!
//! ```text
//! cargo run --release -p gitapi-server --example cache_load -- [SECONDS] [COLD]
//! GIT_BACKEND=shell cargo run --release -p gitapi-server --example cache_load -- 10 100
//! ```
//!
//! `SECONDS` (default 10) is the length of each warm `wrk` run; `COLD` (default 100) the number
//! of distinct keys per route in the cold and store phases.
//!
//! Order of operations:
//!
//! 1. The repository is generated once with `git fast-import` (fixed names, dates and seed, no
//!    system or global git config) as `repos/bench.git` of a data directory under
//!    `target/cache-bench/`, then repacked with a commit-graph with changed-path Bloom filters
//!    (what the engine's gc writes). Later runs reuse it; each run deletes the answer store.
//! 2. The server starts in process on 127.0.0.1:0 with the production composition
//!    ([`gitapi_server::open_service`], [`gitapi_server::compose`], [`gitapi_server::serve`]):
//!    the memory level and the redb store are on, with their default sizes.
//! 3. **cold**: `h2load --h1 -c1` sends each route's `COLD` distinct URLs once each (blame at
//!    `main~k`, diffs `main~(k+10)..main~k` over disjoint `k` per format, since the formats
//!    share one cached diff, the log of `hot.txt` from `main~k`, the listing at `main~k`).
//!    h2load because it sends an exact number of requests from a list and logs each one's
//!    time; wrk runs for a duration.
//! 4. **warm**: one request, then `wrk` on the same URL for `SECONDS` at `-t1 -c1`, again at
//!    `-t1 -c1` with the server and `wrk` on one CPU (`taskset`; see [`on_one_cpu`] for why),
//!    and at `-t2 -c16`, with a Lua `done` hook that prints p50, p99 and p99.9 from wrk's
//!    histogram.
//!    `GET /healthz` is measured the same way, as the floor of a request over loopback, and
//!    GraphQL's blame as a second door answered from the key REST's blame filled.
//! 5. **where the time goes**: in process, without HTTP, each warm read through the service
//!    (a hit), the decoding of the cached answer (JSON to the answer's type, as the service
//!    does on a hit) and the door's rendering of it.
//! 6. **store**: the server stops (the store's queue is flushed) and starts again on the same
//!    data directory, memory empty; `h2load` replays every cold URL once: every answer comes
//!    from the store (the revisions are resolved again: that cache is memory only).
//!
//! Needs `git`, `wrk` and `h2load` (Debian: `wrk`, `nghttp2-client`) on `PATH`; both share the
//! machine's cores with the server.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr as _;
use std::time::Instant;

use anyhow::{Context as _, bail, ensure};
use gitapi_cache::LevelStats;
use gitapi_core::{
    BlameQuery, DiffOptions, DiffRequest, DiffSpec, ListTree, LogQuery, PageRequest, RepoName,
    RepoPath, Rev,
};
use gitapi_server::{Config, EngineKind, MetricsAccess};
use gitapi_service::{CallContext, RepoService};

// The server binary's allocator: what a request costs depends on it (a profile of a cached
// GraphQL blame under glibc's malloc spent a quarter of its time in malloc and free).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const FILES: usize = 5_000;
const COMMITS: usize = 1_000;
/// `src/m{0..10}/p{0..25}/`: 250 leaf directories of 20 files (261 directories in all).
const TOP: usize = 10;
const SUB: usize = 25;
const HOT: &str = "hot.txt";
const HOT_LINES: usize = 400;
/// The files most commits touch besides `hot.txt`.
const WARM_FILES: usize = 40;
/// How far apart the two sides of a diff are.
const DIFF_SPAN: usize = 10;
/// The listing's page (the largest the REST door allows).
const TREE_PAGE: usize = 1000;

fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", dir)
        .env("TZ", "UTC");
    c
}

/// A fixed-seed generator, so every run builds the same history.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

fn file_path(f: usize) -> String {
    let dir = f % (TOP * SUB);
    format!(
        "src/m{}/p{:02}/f{:03}.txt",
        dir / SUB,
        dir % SUB,
        f / (TOP * SUB)
    )
}

fn file_body(path: &str, version: usize) -> String {
    let mut s = format!("{path}\nversion {version}\n");
    for i in 0..8 {
        s.push_str(&format!("filler line {i} of {path}\n"));
    }
    s
}

/// 1,000 commits on `main` in one `git fast-import` stream: the first adds the 5,000 files
/// and `hot.txt` (400 lines); each later one makes 1-5 picks, each `hot.txt` (1-3 of its
/// lines) with odds 1/2, one of 40 warm files with 1/4, any file with 1/4. `hot.txt` ends up
/// changed by 823 commits and its blame at `main` has 400 hunks (`main` is `6d51f44e…`).
fn generate(git_dir: &Path) -> anyhow::Result<()> {
    let parent = git_dir.parent().context("repository has a parent")?;
    std::fs::create_dir_all(parent)?;
    let tmp = parent.join("bench.git.partial");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    ensure!(
        git(parent)
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(&tmp)
            .status()?
            .success(),
        "git init"
    );
    let mut child = git(&tmp)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()?;
    let mut s = Vec::with_capacity(8 << 20);
    let mut rng = Lcg(13);
    let mut hot: Vec<String> = (0..HOT_LINES)
        .map(|i| format!("line {i}: initial"))
        .collect();
    for c in 0..COMMITS {
        let time = 1_700_000_000 + 3_600 * c as u64;
        let msg = format!("commit {c}");
        writeln!(s, "commit refs/heads/main")?;
        writeln!(s, "author Bench <bench@example.com> {time} +0000")?;
        writeln!(s, "committer Bench <bench@example.com> {time} +0000")?;
        writeln!(s, "data {}\n{msg}", msg.len())?;
        let mut changed: Vec<usize> = Vec::new();
        let mut touch_hot = c == 0;
        if c == 0 {
            changed.extend(0..FILES);
        } else {
            let n = 1 + rng.below(5);
            for _ in 0..n {
                match rng.below(4) {
                    0 | 1 if !touch_hot => touch_hot = true,
                    2 => changed.push(rng.below(WARM_FILES)),
                    _ => changed.push(rng.below(FILES)),
                }
            }
            if !touch_hot && changed.is_empty() {
                changed.push(rng.below(FILES));
            }
            changed.sort_unstable();
            changed.dedup();
        }
        for f in changed {
            let p = file_path(f);
            let body = file_body(&p, c);
            writeln!(s, "M 100644 inline {p}")?;
            writeln!(s, "data {}\n{body}", body.len())?;
        }
        if touch_hot {
            if c > 0 {
                for _ in 0..1 + rng.below(3) {
                    let l = rng.below(HOT_LINES);
                    hot[l] = format!("line {l}: changed by commit {c}");
                }
            }
            let body = hot.join("\n") + "\n";
            writeln!(s, "M 100644 inline {HOT}")?;
            writeln!(s, "data {}\n{body}", body.len())?;
        }
        writeln!(s)?;
    }
    child.stdin.take().context("stdin")?.write_all(&s)?;
    ensure!(child.wait()?.success(), "git fast-import");
    ensure!(
        git(&tmp).args(["repack", "-adq"]).status()?.success(),
        "git repack"
    );
    ensure!(
        git(&tmp)
            .args(["commit-graph", "write", "--reachable", "--changed-paths"])
            .stdout(Stdio::null())
            .status()?
            .success(),
        "git commit-graph write"
    );
    std::fs::rename(&tmp, git_dir)?;
    Ok(())
}

/// One route: a name, the warm request, the cold ones, and a POST body for GraphQL.
struct Route {
    name: &'static str,
    warm: String,
    cold: Vec<String>,
    body: Option<String>,
}

fn routes(cold: usize) -> Vec<Route> {
    let r = "/v1/repos/bench";
    let diff = |format: &str, slot: usize| Route {
        name: match format {
            "json" => "diff (json)",
            "patch" => "diff (patch)",
            "stat" => "diff (stat)",
            _ => "diff (name-status)",
        },
        warm: format!("{r}/diff?from=main~{DIFF_SPAN}&to=main&format={format}"),
        cold: (slot * cold..(slot + 1) * cold)
            .map(|k| {
                format!(
                    "{r}/diff?from=main~{}&to=main~{k}&format={format}",
                    k + DIFF_SPAN
                )
            })
            .collect(),
        body: None,
    };
    vec![
        Route {
            name: "blame hot.txt",
            warm: format!("{r}/blame?path={HOT}&rev=main"),
            cold: (0..cold)
                .map(|k| format!("{r}/blame?path={HOT}&rev=main~{k}"))
                .collect(),
            body: None,
        },
        diff("json", 0),
        diff("patch", 1),
        diff("stat", 2),
        diff("name-status", 3),
        Route {
            name: "log hot.txt",
            warm: format!("{r}/commits?range=main&path={HOT}"),
            cold: (0..cold)
                .map(|k| format!("{r}/commits?range=main~{k}&path={HOT}"))
                .collect(),
            body: None,
        },
        Route {
            name: "tree recursive 1000",
            warm: format!("{r}/files?rev=main&recursive=true&limit={TREE_PAGE}"),
            cold: (0..cold)
                .map(|k| format!("{r}/files?rev=main~{k}&recursive=true&limit={TREE_PAGE}"))
                .collect(),
            body: None,
        },
        Route {
            name: "graphql blame hot.txt",
            warm: "/graphql".into(),
            cold: Vec::new(),
            body: Some(
                r#"{"query":"{ repository(name: \"bench\") { blame(path: \"hot.txt\", rev: \"main\") { commitOid origStart finalStart lines } } }"}"#
                    .into(),
            ),
        },
        Route {
            name: "healthz (floor)",
            warm: "/healthz".into(),
            cold: Vec::new(),
            body: None,
        },
    ]
}

/// Percentiles of one measurement, in milliseconds, and throughput.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    requests: u64,
    p50: f64,
    p99: f64,
    p999: f64,
    max: f64,
    rps: f64,
}

fn pct(sorted_us: &[u64], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((q / 100.0) * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
}

const WRK_LUA: &str = r#"
local body_file = os.getenv("CACHE_LOAD_BODY")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb")); wrk.body = f:read("*a"); f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "cache_load: requests=%d errors=%d status=%d seconds=%.3f p50=%.3f p99=%.3f p999=%.3f max=%.3f\n",
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    latency.max / 1000))
end
"#;

/// Runs `f` with every thread of this process (the server's) and the load tool it starts on
/// CPU 0, then gives the process every CPU back.
///
/// Why: on this kind of VM a request at concurrency 1 that crosses CPUs wakes an idle virtual
/// CPU, and that wake-up, not the server, sets the p99: `nginx` answering a constant `200`
/// measured by `wrk -c1` has a p99 of 1.3–1.7 ms across two CPUs and 0.09 ms on one (see
/// `docs/benchmarks.md`). At concurrency 1 there is no parallelism to lose by sharing one CPU.
fn on_one_cpu<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    let pid = std::process::id().to_string();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let taskset = |list: &str| -> anyhow::Result<()> {
        let status = Command::new("taskset")
            .args(["-a", "-p", "-c", list, &pid])
            .stdout(Stdio::null())
            .status()
            .context("running taskset (Debian package util-linux)")?;
        ensure!(status.success(), "taskset -a -p -c {list} {pid} failed");
        Ok(())
    };
    taskset("0")?;
    // Children inherit the affinity: the load tool runs on CPU 0 too.
    let out = f();
    taskset(&format!("0-{}", cpus - 1))?;
    out
}

/// `wrk` on one URL for `seconds` with `conns` connections over `threads` threads.
fn wrk(
    work: &Path,
    url: &str,
    body: Option<&str>,
    threads: usize,
    conns: usize,
    seconds: u64,
) -> anyhow::Result<Figures> {
    let script = work.join("pct.lua");
    std::fs::write(&script, WRK_LUA)?;
    let body_file = work.join("body.json");
    if let Some(b) = body {
        std::fs::write(&body_file, b)?;
    }
    let out = Command::new("wrk")
        .args([
            format!("-t{threads}"),
            format!("-c{conns}"),
            format!("-d{seconds}s"),
        ])
        .arg("-s")
        .arg(&script)
        .arg(url)
        .env(
            "CACHE_LOAD_BODY",
            if body.is_some() {
                body_file.as_os_str()
            } else {
                "".as_ref()
            },
        )
        .output()
        .context("running wrk (Debian package wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("cache_load:"))
        .with_context(|| format!("wrk printed no figures: {text}"))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let v = line
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .with_context(|| format!("no {name} in {line:?}"))?;
        Ok(v.parse()?)
    };
    let (errors, status) = (field("errors")?, field("status")?);
    ensure!(
        errors == 0.0 && status == 0.0,
        "wrk on {url}: {errors} errors, {status} non-2xx answers"
    );
    let requests = field("requests")? as u64;
    Ok(Figures {
        requests,
        p50: field("p50")?,
        p99: field("p99")?,
        p999: field("p999")?,
        max: field("max")?,
        rps: requests as f64 / field("seconds")?,
    })
}

/// `h2load` over HTTP/1.1, one connection, each of `paths` once, in order.
fn h2load(work: &Path, base: &str, paths: &[String]) -> anyhow::Result<Figures> {
    let list = work.join("urls.txt");
    let log = work.join("h2load.tsv");
    let mut text = String::new();
    for p in paths {
        text.push_str(&format!("{base}{p}\n"));
    }
    std::fs::write(&list, text)?;
    // h2load appends to its log.
    if log.exists() {
        std::fs::remove_file(&log)?;
    }
    let started = Instant::now();
    let out = Command::new("h2load")
        .args(["--h1", "-c1", "-t1"])
        .arg(format!("-n{}", paths.len()))
        .arg("-i")
        .arg(&list)
        .arg(format!("--log-file={}", log.display()))
        .output()
        .context("running h2load (Debian package nghttp2-client)")?;
    let wall = started.elapsed();
    ensure!(
        out.status.success(),
        "h2load: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Columns: start (µs since the epoch), status, duration (µs).
    let mut lat = Vec::with_capacity(paths.len());
    for l in std::fs::read_to_string(&log)?.lines() {
        let cols: Vec<&str> = l.split_whitespace().collect();
        ensure!(cols.len() >= 3, "h2load log line {l:?}");
        ensure!(cols[1] == "200", "h2load: status {} in {l:?}", cols[1]);
        lat.push(cols[2].parse::<u64>()?);
    }
    ensure!(
        lat.len() == paths.len(),
        "h2load answered {} of {} requests",
        lat.len(),
        paths.len()
    );
    lat.sort_unstable();
    Ok(Figures {
        requests: lat.len() as u64,
        p50: pct(&lat, 50.0),
        p99: pct(&lat, 99.0),
        p999: pct(&lat, 99.9),
        max: pct(&lat, 100.0),
        rps: lat.len() as f64 / wall.as_secs_f64(),
    })
}

/// A server on 127.0.0.1:0, composed as the `gitapi` binary composes it.
struct Server {
    base: String,
    svc: RepoService,
    stop_tx: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), gitapi_server::ServeError>>,
}

async fn start(config: &Config) -> anyhow::Result<Server> {
    let svc = gitapi_server::open_service(config).await?;
    let (router, grpc) = gitapi_server::compose(svc.clone(), MetricsAccess::Open).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(gitapi_server::serve(listener, router, async move {
        let _ = stop_rx.await;
        grpc.drain().await;
    }));
    Ok(Server {
        base,
        svc,
        stop_tx,
        task,
    })
}

impl Server {
    /// Stops serving, writes what the store's queue holds and lets go of the store.
    async fn stop(self) -> anyhow::Result<()> {
        self.svc.flush_cache().await;
        let _ = self.stop_tx.send(());
        self.task.await??;
        drop(self.svc);
        Ok(())
    }
}

/// The machine's load, printed beside each phase: the cores are shared, and a busy machine
/// shows in the tails first.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn print_stats(phase: &str, before: &[LevelStats], after: &[LevelStats]) {
    println!("cache levels, {phase} (load average {}):", loadavg());
    for a in after {
        let b = before.iter().find(|b| b.name == a.name);
        let hits = a.hits - b.map_or(0, |b| b.hits);
        let misses = a.misses - b.map_or(0, |b| b.misses);
        let rate = if hits + misses == 0 {
            f64::NAN
        } else {
            100.0 * hits as f64 / (hits + misses) as f64
        };
        println!(
            "  {:<7} hits {:>7}  misses {:>7}  hit rate {:>6.1} %  (entries {}, bytes {}, dropped writes {})",
            a.name,
            hits,
            misses,
            rate,
            a.entries.map_or("-".into(), |n| n.to_string()),
            a.bytes.map_or("-".into(), |n| n.to_string()),
            a.writes_dropped
        );
    }
}

fn print_row(name: &str, what: &str, f: &Figures) {
    println!(
        "{name:<24} {what:<10} {:>7} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.0}",
        f.requests, f.p50, f.p99, f.p999, f.max, f.rps
    );
}

fn print_header() {
    println!(
        "{:<24} {:<10} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "route", "phase", "n", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "req/s"
    );
}

/// p50 and p99 in µs of `n` runs of `f`.
async fn time_it<F, Fut>(n: usize, mut f: F) -> anyhow::Result<(f64, f64)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f().await?;
        lat.push(t.elapsed().as_nanos() as u64);
    }
    lat.sort_unstable();
    Ok((pct(&lat, 50.0), pct(&lat, 99.0)))
}

fn time_sync(n: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<(f64, f64)> {
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f()?;
        lat.push(t.elapsed().as_nanos() as u64);
    }
    lat.sort_unstable();
    Ok((pct(&lat, 50.0), pct(&lat, 99.0)))
}

/// Each warm read through the service without HTTP (a memory hit: a clone of the decoded
/// answer), the decoding of its cached bytes (`serde_json` into the answer's type: what a hit
/// in the store or Redis adds) and the rendering the door adds.
async fn breakdown(svc: &RepoService) -> anyhow::Result<()> {
    const N: usize = 300;
    let cx = CallContext::operator();
    let repo = RepoName::new("bench")?;
    let main = Rev::new("main")?;
    let hot = RepoPath::new(HOT)?;
    let blame_q = BlameQuery {
        path: hot.clone(),
        rev: main.clone(),
        lines: None,
    };
    let diff_q = DiffRequest {
        spec: DiffSpec::Commits {
            from: Some(Rev::new(format!("main~{DIFF_SPAN}"))?),
            to: main.clone(),
        },
        options: DiffOptions::default(),
    };
    let mut log_q = LogQuery::of(main.clone());
    log_q.path = Some(hot.clone());
    // The REST door asks for one more than its page of 100, to learn whether another follows.
    log_q.limit = 101;
    let tree_q = ListTree {
        rev: main.clone(),
        path: None,
        recursive: true,
    };
    let page = PageRequest {
        limit: TREE_PAGE,
        cursor: None,
    };

    // One call each fills (or hits) the cache; the answers are what the cache holds.
    let blame = svc.blame(&cx, &repo, blame_q.clone()).await?;
    let diff = svc.diff(&cx, &repo, diff_q.clone()).await?;
    let log = svc.log(&cx, &repo, log_q.clone()).await?;
    let tree_all = svc.list_tree_all(&cx, &repo, tree_q.clone()).await?;
    let tree_page = svc.list_tree(&cx, &repo, tree_q.clone(), &page).await?;

    println!("\nwhere a warm request's time goes (in process, no HTTP; {N} runs each; µs):");
    println!(
        "{:<24} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}",
        "route",
        "cached B",
        "svc p50",
        "svc p99",
        "decode p50",
        "decode p99",
        "render p50",
        "render p99"
    );
    let row = |name: &str, bytes: usize, svc: (f64, f64), dec: (f64, f64), ren: (f64, f64)| {
        // time_it / time_sync return ns / 1000 = µs (pct divides by 1000).
        println!(
            "{name:<24} {bytes:>11} {:>11.1} {:>11.1} {:>11.1} {:>11.1} {:>11.1} {:>11.1}",
            svc.0, svc.1, dec.0, dec.1, ren.0, ren.1
        );
    };

    let bytes = serde_json::to_vec(&blame)?;
    let s = time_it(N, || async {
        svc.blame(&cx, &repo, blame_q.clone()).await?;
        Ok(())
    })
    .await?;
    let d = time_sync(N, || {
        let _: Vec<gitapi_core::BlameHunk> = serde_json::from_slice(&bytes)?;
        Ok(())
    })?;
    let r = time_sync(N, || {
        serde_json::to_vec(&blame)?;
        Ok(())
    })?;
    row("blame hot.txt", bytes.len(), s, d, r);

    let bytes = serde_json::to_vec(&diff)?;
    let s = time_it(N, || async {
        svc.diff(&cx, &repo, diff_q.clone()).await?;
        Ok(())
    })
    .await?;
    let d = time_sync(N, || {
        let _: gitapi_core::Diff = serde_json::from_slice(&bytes)?;
        Ok(())
    })?;
    type Render<'a> = (&'a str, Box<dyn Fn() -> usize + 'a>);
    let renders: [Render<'_>; 4] = [
        (
            "diff (json)",
            Box::new(|| serde_json::to_vec(&diff).map_or(0, |v| v.len())),
        ),
        ("diff (patch)", Box::new(|| diff.to_patch().len())),
        ("diff (stat)", Box::new(|| diff.to_numstat().len())),
        (
            "diff (name-status)",
            Box::new(|| diff.to_name_status().len()),
        ),
    ];
    for (name, render) in renders {
        let r = time_sync(N, || {
            std::hint::black_box(render());
            Ok(())
        })?;
        row(name, bytes.len(), s, d, r);
    }

    let bytes = serde_json::to_vec(&log)?;
    let s = time_it(N, || async {
        svc.log(&cx, &repo, log_q.clone()).await?;
        Ok(())
    })
    .await?;
    let d = time_sync(N, || {
        let _: Vec<gitapi_core::Commit> = serde_json::from_slice(&bytes)?;
        Ok(())
    })?;
    let r = time_sync(N, || {
        serde_json::to_vec(&log)?;
        Ok(())
    })?;
    row("log hot.txt", bytes.len(), s, d, r);

    // The listing is cached by page.
    let bytes = serde_json::to_vec(&tree_page)?;
    let s = time_it(N, || async {
        svc.list_tree(&cx, &repo, tree_q.clone(), &page).await?;
        Ok(())
    })
    .await?;
    let d = time_sync(N, || {
        let _: gitapi_core::Page<gitapi_core::TreeEntry> = serde_json::from_slice(&bytes)?;
        Ok(())
    })?;
    let r = time_sync(N, || {
        serde_json::to_vec(&tree_page)?;
        Ok(())
    })?;
    row("tree recursive 1000", bytes.len(), s, d, r);

    // GraphQL's `repository(name:)` field asks for the repository's description first, on
    // every query (kept at the ref version).
    let s = time_it(N, || async {
        svc.repo_info(&cx, &repo).await?;
        Ok(())
    })
    .await?;
    row("repo_info (graphql)", 0, s, (0.0, 0.0), (0.0, 0.0));
    println!(
        "  (tree: {} entries in all, a page of {}; decode: what a hit in the store or Redis adds, \
         a memory hit clones the decoded answer)",
        tree_all.len(),
        tree_page.items.len()
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(10);
    let cold: usize = args.get(2).map(|a| a.parse()).transpose()?.unwrap_or(100);
    ensure!(
        4 * cold + DIFF_SPAN < COMMITS,
        "COLD must leave room for 4 disjoint diff ranges"
    );
    let engine = match std::env::var("GIT_BACKEND") {
        Ok(e) => EngineKind::from_str(&e).map_err(|_| anyhow::anyhow!("GIT_BACKEND={e:?}"))?,
        Err(_) => EngineKind::Libgit2,
    };

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/cache-bench");
    std::fs::create_dir_all(&root)?;
    let root = root.canonicalize()?;
    let data = root.join("data");
    let git_dir = data.join("repos").join("bench.git");
    if !git_dir.exists() {
        let t = Instant::now();
        generate(&git_dir)?;
        println!(
            "generated {} in {:.1} s",
            git_dir.display(),
            t.elapsed().as_secs_f64()
        );
    }
    let work = root.join("work");
    std::fs::create_dir_all(&work)?;
    let mut config = Config::defaults();
    config.service.data_dir = data.clone();
    config.engine = engine;
    config.metrics = MetricsAccess::Open;
    // Every run starts with an empty store: the cold phase must miss.
    let store = config.cache.cache_config(&data, None).store.map(|s| s.path);
    if let Some(path) = &store
        && path.exists()
    {
        std::fs::remove_file(path)?;
    }

    let rt = tokio::runtime::Runtime::new()?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let routes = routes(cold);
    let server = rt.block_on(start(&config))?;
    let base = server.base.clone();
    println!(
        "engine {engine}, repository {} ({FILES} files + {HOT}, {COMMITS} commits), \
         cold: {cold} distinct keys per route (h2load --h1 -c1), warm: wrk {seconds} s per cell",
        git_dir.display()
    );
    println!(
        "cache: memory {} MiB, store {}; load average {}",
        config.cache.memory_bytes >> 20,
        store
            .as_ref()
            .map_or("off".into(), |p| p.display().to_string()),
        loadavg()
    );

    // Cold.
    println!();
    print_header();
    let before = server.svc.cache_stats();
    let mut table: Vec<(&str, [Option<Figures>; 5])> = Vec::new();
    for r in &routes {
        let mut row = [None; 5];
        if !r.cold.is_empty() {
            let f = h2load(&work, &base, &r.cold)?;
            print_row(r.name, "cold", &f);
            row[0] = Some(f);
        }
        table.push((r.name, row));
    }
    let after_cold = server.svc.cache_stats();
    print_stats("cold phase", &before, &after_cold);

    // Warm.
    for (r, (_, row)) in routes.iter().zip(table.iter_mut()) {
        let url = format!("{base}{}", r.warm);
        let body = rt.block_on(async {
            let req = match &r.body {
                Some(b) => http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(b.clone()),
                None => http.get(&url),
            };
            let res = req.send().await?.error_for_status()?;
            anyhow::Ok(res.bytes().await?)
        })?;
        if r.body.is_some() && body.starts_with(b"{\"errors\"") {
            bail!("{}: {}", r.name, String::from_utf8_lossy(&body));
        }
        let c1 = wrk(&work, &url, r.body.as_deref(), 1, 1, seconds)?;
        print_row(r.name, &format!("warm c1 ({}B)", body.len()), &c1);
        let pinned = on_one_cpu(|| wrk(&work, &url, r.body.as_deref(), 1, 1, seconds))?;
        print_row(r.name, "warm c1, 1 cpu", &pinned);
        row[4] = Some(pinned);
        let c16 = wrk(&work, &url, r.body.as_deref(), 2, 16, seconds)?;
        print_row(r.name, "warm c16", &c16);
        row[1] = Some(c1);
        row[2] = Some(c16);
    }
    let after_warm = server.svc.cache_stats();
    print_stats("warm phase", &after_cold, &after_warm);

    rt.block_on(breakdown(&server.svc))?;

    // Store only: a new server on the same data directory, memory empty.
    rt.block_on(server.stop())?;
    let server = rt.block_on(start(&config))?;
    let base = server.base.clone();
    println!("\nrestarted on the same data directory (memory empty, store warm)");
    print_header();
    let before = server.svc.cache_stats();
    for (r, (_, row)) in routes.iter().zip(table.iter_mut()) {
        if !r.cold.is_empty() {
            let f = h2load(&work, &base, &r.cold)?;
            print_row(r.name, "store", &f);
            row[3] = Some(f);
        }
    }
    print_stats("store phase", &before, &server.svc.cache_stats());
    rt.block_on(server.stop())?;

    println!(
        "\nsummary (ms): cold p50/p99 | warm c1 p50/p99/p99.9 req/s | warm c1 on one cpu | warm c16 p50/p99/p99.9 req/s | store p50/p99 | p99 <= 1 ms at c1 (both cpus, one cpu)"
    );
    let cell = |f: &Option<Figures>, full: bool| match f {
        None => "—".to_owned(),
        Some(f) if full => format!(
            "{:.3} / {:.3} / {:.3}, {:.0}/s",
            f.p50, f.p99, f.p999, f.rps
        ),
        Some(f) => format!("{:.2} / {:.2}", f.p50, f.p99),
    };
    for (name, row) in &table {
        let met = |f: &Option<Figures>| f.map_or("—", |f| if f.p99 <= 1.0 { "yes" } else { "no" });
        println!(
            "| {name} | {} | {} | {} | {} | {} | {}, {} |",
            cell(&row[0], false),
            cell(&row[1], true),
            cell(&row[4], true),
            cell(&row[2], true),
            cell(&row[3], false),
            met(&row[1]),
            met(&row[4])
        );
    }
    Ok(())
}
