//! Load benchmark of the Smart HTTP door beside any other Smart HTTP server (git http-backend
//! under lighttpd, nginx or Apache from `../shared/peers/`) on the same repository: p50, p99,
//! p99.9 and throughput of `info/refs` (v2), `ls-refs` and a one-blob fetch at concurrency 1
//! and 16, and the wall time of a full `git clone --bare`.
//!
//! ```text
//! cargo run --release -p gitapi-server --example smart_load -- \
//!     REPO.git BLOB_PATH REQUESTS [NAME=URL ...]
//! ```
//!
//! gitapi is started in process over a temporary data directory holding a mirror of
//! `REPO.git`; every `NAME=URL` is another server's URL of the same repository.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn pkt(out: &mut Vec<u8>, line: &str) {
    out.extend_from_slice(format!("{:04x}{line}\n", line.len() + 5).as_bytes());
}

fn ls_refs_body() -> Vec<u8> {
    let mut b = Vec::new();
    pkt(&mut b, "command=ls-refs");
    pkt(&mut b, "object-format=sha1");
    b.extend_from_slice(b"0001");
    for l in [
        "peel",
        "symrefs",
        "unborn",
        "ref-prefix HEAD",
        "ref-prefix refs/heads/",
        "ref-prefix refs/tags/",
    ] {
        pkt(&mut b, l);
    }
    b.extend_from_slice(b"0000");
    b
}

fn fetch_blob_body(oid: &str) -> Vec<u8> {
    let mut b = Vec::new();
    pkt(&mut b, "command=fetch");
    pkt(&mut b, "object-format=sha1");
    b.extend_from_slice(b"0001");
    pkt(&mut b, "no-progress");
    pkt(&mut b, &format!("want {oid}"));
    pkt(&mut b, "done");
    b.extend_from_slice(b"0000");
    b
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[derive(Clone)]
enum Req {
    InfoRefs,
    Post(Arc<Vec<u8>>),
}

async fn drive(
    http: &reqwest::Client,
    url: &str,
    req: Req,
    total: usize,
    clients: usize,
) -> Result<(Vec<Duration>, Duration), Error> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, url, req, next) = (http.clone(), url.to_owned(), req.clone(), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                let t = Instant::now();
                let res = match &req {
                    Req::InfoRefs => {
                        http.get(format!("{url}/info/refs?service=git-upload-pack"))
                            .header("git-protocol", "version=2")
                            .send()
                            .await?
                    }
                    Req::Post(body) => {
                        http.post(format!("{url}/git-upload-pack"))
                            .header("git-protocol", "version=2")
                            .header("content-type", "application/x-git-upload-pack-request")
                            .body(body.as_ref().clone())
                            .send()
                            .await?
                    }
                };
                let status = res.status();
                let body = res.bytes().await?;
                if !status.is_success() || body.is_empty() {
                    return Err::<Vec<Duration>, Error>(format!("{url}: {status}").into());
                }
                lat.push(t.elapsed());
            }
            Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort();
    Ok((all, started.elapsed()))
}

fn clone_time(url: &str, runs: usize) -> Result<Duration, Error> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let dir = tempfile::tempdir()?;
        let t = Instant::now();
        let out = Command::new("git")
            .args(["-c", "protocol.version=2", "clone", "-q", "--bare", url])
            .arg(dir.path().join("c.git"))
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()?;
        if !out.status.success() {
            return Err(format!("clone {url}: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        times.push(t.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [repo, blob_path, requests, peers @ ..] = args.as_slice() else {
        return Err("usage: smart_load REPO.git BLOB_PATH REQUESTS [NAME=URL ...]".into());
    };
    let requests: usize = requests.parse()?;
    let repo = Path::new(repo);
    let name = repo
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".git"))
        .ok_or("REPO must end in .git")?
        .to_owned();
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(repo)
        .args(["rev-parse", &format!("main:{blob_path}")])
        .output()?;
    let oid = String::from_utf8(out.stdout)?.trim().to_owned();

    let data = tempfile::tempdir()?;
    std::fs::create_dir_all(data.path().join("repos"))?;
    let status = Command::new("git")
        .args(["clone", "-q", "--mirror"])
        .arg(repo)
        .arg(data.path().join("repos").join(format!("{name}.git")))
        .status()?;
    if !status.success() {
        return Err("mirroring the repository failed".into());
    }
    let flags = gitapi_server::Flags {
        data_dir: Some(data.path().to_path_buf()),
        ..Default::default()
    };
    let config = gitapi_server::Config::load(None, &Default::default(), &flags)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let svc = gitapi_server::build_service(&config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(gitapi_server::serve(
        listener,
        gitapi_server::app(svc),
        async {
            let _ = stopped.await;
        },
    ));

    let mut targets = vec![("gitapi".to_owned(), format!("{base}/{name}.git"))];
    for p in peers {
        let (n, u) = p.split_once('=').ok_or("a peer is NAME=URL")?;
        targets.push((n.to_owned(), u.to_owned()));
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let ls = Arc::new(ls_refs_body());
    let fetch = Arc::new(fetch_blob_body(&oid));
    println!("repository {name}, blob main:{blob_path} = {oid}, {requests} requests per row");
    println!("| server | request | clients | p50 ms | p99 ms | p99.9 ms | req/s |");
    println!("|---|---|---|---|---|---|---|");
    for (tname, url) in &targets {
        for clients in [1usize, 16] {
            for (rname, req) in [
                ("info/refs", Req::InfoRefs),
                ("ls-refs", Req::Post(Arc::clone(&ls))),
                ("fetch one blob", Req::Post(Arc::clone(&fetch))),
            ] {
                // Warm-up: connections, caches, the engine's first open.
                drive(&http, url, req.clone(), 20, clients).await?;
                let (lat, took) = drive(&http, url, req, requests, clients).await?;
                let ms = |d: Duration| d.as_secs_f64() * 1000.0;
                println!(
                    "| {tname} | {rname} | {clients} | {:.2} | {:.2} | {:.2} | {:.0} |",
                    ms(percentile(&lat, 50.0)),
                    ms(percentile(&lat, 99.0)),
                    ms(percentile(&lat, 99.9)),
                    lat.len() as f64 / took.as_secs_f64()
                );
            }
        }
    }
    println!();
    println!("| server | full `git clone --bare` (median of 5) |");
    println!("|---|---|");
    for (tname, url) in &targets {
        let url = url.clone();
        let t = tokio::task::spawn_blocking(move || clone_time(&url, 5)).await??;
        println!("| {tname} | {:.0} ms |", t.as_secs_f64() * 1000.0);
    }
    let _ = stop.send(());
    let _ = server.await;
    Ok(())
}
