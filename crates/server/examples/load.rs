//! Load benchmark of the REST door: starts the server in process on 127.0.0.1 over a temporary
//! data directory, seeds a repository, then drives a bounded number of requests per route from
//! a few concurrent HTTP clients and prints p50, p99, p99.9 and throughput per route.
//!
//! ```text
//! cargo run --release -p gitapi-server --example load -- [REQUESTS_PER_ROUTE] [CLIENTS]
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One route to drive: a name, a method and a request builder per iteration.
struct Route {
    name: &'static str,
    method: reqwest::Method,
    path: Box<dyn Fn(usize) -> (String, Option<Value>) + Send + Sync>,
    expect: u16,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn seed(http: &reqwest::Client, base: &str) -> Result<(String, String), Error> {
    http.post(format!("{base}/v1/repos"))
        .json(&json!({"name": "bench"}))
        .send()
        .await?
        .error_for_status()?;
    // 200 files in 10 directories, then 20 small commits on one file.
    let actions: Vec<Value> = (0..200)
        .map(|i| {
            json!({"action": "put", "path": format!("d{}/f{i}.txt", i % 10),
                   "content": base64::engine::general_purpose::STANDARD.encode(format!("file {i}\n").repeat(20))})
        })
        .collect();
    let mut tip: Value = http
        .post(format!("{base}/v1/repos/bench/commits"))
        .json(&json!({"branch": "main", "expectedTip": "0000000000000000000000000000000000000000",
                      "message": "seed", "author": {"name": "B", "email": "b@example.com"}, "actions": actions}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let first = tip["oid"].as_str().unwrap_or_default().to_owned();
    let mut text = String::new();
    for i in 0..20 {
        text.push_str(&format!("line {i}\n"));
        tip = http
            .post(format!("{base}/v1/repos/bench/commits"))
            .json(&json!({"branch": "main", "expectedTip": tip["oid"], "message": format!("edit {i}"),
                          "author": {"name": "B", "email": "b@example.com"},
                          "actions": [{"action": "put", "path": "hot.txt",
                                       "content": base64::engine::general_purpose::STANDARD.encode(&text)}]}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
    }
    Ok((first, tip["oid"].as_str().unwrap_or_default().to_owned()))
}

fn routes(first: &str, last: &str) -> Vec<Route> {
    let (first, last) = (first.to_owned(), last.to_owned());
    let get = |name, path: String| Route {
        name,
        method: reqwest::Method::GET,
        path: Box::new(move |_| (path.clone(), None)),
        expect: 200,
    };
    vec![
        get("GET /repos/{repo}", "/v1/repos/bench".into()),
        get("GET /refs", "/v1/repos/bench/refs".into()),
        get("GET /refs/{ref}", "/v1/repos/bench/refs/heads/main".into()),
        get(
            "GET /commits/{sha}",
            format!("/v1/repos/bench/commits/{last}"),
        ),
        get(
            "GET /commits (log 20)",
            "/v1/repos/bench/commits?limit=20".into(),
        ),
        get(
            "GET /commits?path (log)",
            "/v1/repos/bench/commits?path=hot.txt&limit=20".into(),
        ),
        get("GET /files (root)", "/v1/repos/bench/files?rev=main".into()),
        get(
            "GET /files (recursive)",
            "/v1/repos/bench/files?rev=main&recursive=1&limit=1000".into(),
        ),
        get(
            "GET /blob",
            "/v1/repos/bench/blob?rev=main&path=d3/f13.txt".into(),
        ),
        get(
            "GET /diff (json)",
            format!("/v1/repos/bench/diff?from={first}&to={last}"),
        ),
        get(
            "GET /diff (patch)",
            format!("/v1/repos/bench/diff?from={first}&to={last}&format=patch"),
        ),
        get("GET /blame", "/v1/repos/bench/blame?path=hot.txt".into()),
        get(
            "GET /ahead-behind",
            format!("/v1/repos/bench/ahead-behind?a=main&b={first}"),
        ),
        Route {
            name: "POST /commits (1 file)",
            method: reqwest::Method::POST,
            path: Box::new(|i| {
                let body = json!({"branch": "main", "message": format!("load {i}"),
                    "author": {"name": "B", "email": "b@example.com"},
                    "actions": [{"action": "put", "path": format!("load/{i}.txt"), "content": "eA=="}]});
                ("/v1/repos/bench/commits".to_owned(), Some(body))
            }),
            expect: 201,
        },
        Route {
            name: "POST /refs (branch)",
            method: reqwest::Method::POST,
            path: Box::new(|i| {
                let body = json!({"name": format!("tmp-{i}"), "kind": "branch", "target": "main"});
                ("/v1/repos/bench/refs".to_owned(), Some(body))
            }),
            expect: 201,
        },
    ]
}

async fn drive(
    http: &reqwest::Client,
    base: &str,
    route: Arc<Route>,
    requests: usize,
    clients: usize,
) -> Result<(Vec<Duration>, Duration), Error> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, base, route, next) = (
            http.clone(),
            base.to_owned(),
            Arc::clone(&route),
            Arc::clone(&next),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= requests {
                    return Ok::<_, Error>(lat);
                }
                let (path, body) = (route.path)(i);
                let mut req = http.request(route.method.clone(), format!("{base}{path}"));
                if let Some(b) = body {
                    req = req.json(&b);
                }
                let t = Instant::now();
                let res = req.send().await?;
                let status = res.status().as_u16();
                let _ = res.bytes().await?;
                lat.push(t.elapsed());
                if status != route.expect {
                    return Err(format!("{}: status {status}", route.name).into());
                }
            }
        }));
    }
    let mut all = Vec::with_capacity(requests);
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((all, started.elapsed()))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let requests: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(300);
    let clients: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(4);

    let data = tempfile::tempdir()?;
    // GIT_BACKEND=shell (or libgit2) picks the engine, as for the server itself.
    let env: std::collections::HashMap<String, String> = std::env::vars()
        .filter(|(k, _)| k == "GIT_BACKEND")
        .collect();
    let config = gitapi_server::Config::load(
        None,
        &env,
        &gitapi_server::Flags {
            data_dir: Some(data.path().to_owned()),
            listen: Some("127.0.0.1:0".into()),
            allow_local_clone: false,
        },
    )?;
    let engine = config.engine;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let data_dir = gitapi_server::DataDir::open(&config)?;
    let server = tokio::spawn(gitapi_server::run_in(
        data_dir,
        config,
        listener,
        async {
            let _ = stop_rx.await;
        },
        None,
    ));

    // In a workspace-wide build reqwest's features unify with gitwire's `rustls-no-provider`;
    // install the provider gitwire uses so the client builds either way.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let (first, last) = seed(&http, &base).await?;
    println!(
        "engine {engine}, {requests} requests per route, {clients} clients, HTTP/1.1 keep-alive"
    );
    println!(
        "{:<26} {:>9} {:>9} {:>9} {:>10}",
        "route", "p50 ms", "p99 ms", "p99.9 ms", "req/s"
    );
    for route in routes(&first, &last) {
        let route = Arc::new(route);
        let (mut lat, wall) = drive(&http, &base, Arc::clone(&route), requests, clients).await?;
        lat.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:<26} {:>9.2} {:>9.2} {:>9.2} {:>10.0}",
            route.name,
            ms(percentile(&lat, 50.0)),
            ms(percentile(&lat, 99.0)),
            ms(percentile(&lat, 99.9)),
            lat.len() as f64 / wall.as_secs_f64()
        );
    }
    let _ = stop_tx.send(());
    server.await??;
    Ok(())
}
