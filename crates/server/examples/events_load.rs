//! Live-event benchmark: how soon a REST commit's event reaches an SSE subscriber, and how
//! many idle SSE subscribers one server holds, with its memory.
//!
//! ```text
//! ulimit -n 65536
//! cargo run --release -p gitapi-server --example events_load -- COMMITS SUBSCRIBERS
//! ```
//!
//! The server runs in a child process (this program started again with `--serve`), so its
//! resident memory (`VmRSS`) is the server's alone. Part 1 makes `COMMITS` commits through
//! REST, one at a time, with two subscribers, one on `/v1/repos/bench/events` (SSE) and one
//! on `/graphql` speaking `graphql-transport-ws` (the graphql-ws protocol) to
//! `repositoryEvents`, and prints for each the time from each commit's answer to its event's
//! arrival (p50/p99/p99.9; an event may arrive before the answer is read: it is published
//! before the answer is sent, and such events count as 0), and from the request's start. Part 2 opens `SUBSCRIBERS` idle streams on `/v1/events`
//! over raw HTTP/1.1 connections, prints the server's memory before and after, then makes
//! one commit and counts the subscribers that received its event.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

type Error = Box<dyn std::error::Error + Send + Sync>;

const ZERO: &str = "0000000000000000000000000000000000000000";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn print_row(name: &str, mut d: Vec<Duration>) {
    d.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1000.0;
    println!(
        "{name:<34} n={:<5} p50={:>7.3} ms  p99={:>7.3} ms  p99.9={:>7.3} ms  max={:>7.3} ms",
        d.len(),
        ms(percentile(&d, 50.0)),
        ms(percentile(&d, 99.0)),
        ms(percentile(&d, 99.9)),
        ms(d.last().copied().unwrap_or_default()),
    );
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The child: serve on a free port over a temporary data directory, print the address.
async fn serve() -> Result<(), Error> {
    let data = tempfile::tempdir()?;
    let config = gitapi_server::Config::load(
        Some("version = 1\n[events]\nheartbeat_secs = 60\n"),
        &Default::default(),
        &gitapi_server::Flags {
            data_dir: Some(data.path().to_path_buf()),
            ..Default::default()
        },
    )?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    gitapi_server::run(config, listener, std::future::pending(), None).await?;
    Ok(())
}

async fn commit(
    http: &reqwest::Client,
    base: &str,
    parent: &str,
    i: usize,
) -> Result<String, Error> {
    use base64::Engine as _;
    let body = serde_json::json!({
        "branch": "main", "expectedTip": parent, "message": format!("commit {i}"),
        "author": {"name": "B", "email": "b@example.com", "time": 1_700_000_000, "offsetMinutes": 0},
        "actions": [{"action": "put", "path": "f.txt",
                     "content": base64::engine::general_purpose::STANDARD.encode(format!("{i}\n"))}],
    });
    let res = http
        .post(format!("{base}/v1/repos/bench/commits"))
        .json(&body)
        .send()
        .await?;
    if res.status() != 201 {
        return Err(format!("commit answered {}", res.status()).into());
    }
    let v: serde_json::Value = res.json().await?;
    Ok(v["oid"].as_str().unwrap_or_default().to_owned())
}

/// Opens an SSE stream over a raw connection and reads its response head.
async fn open_stream(addr: &str, path: &str) -> Result<tokio::net::TcpStream, Error> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n")
            .as_bytes(),
    )
    .await?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tcp.read(&mut buf).await?;
        if n == 0 {
            return Err("closed before the response head".into());
        }
        head.extend_from_slice(&buf[..n]);
    }
    if !head.starts_with(b"HTTP/1.1 200") {
        return Err(format!("answered {}", String::from_utf8_lossy(&head)).into());
    }
    Ok(tcp)
}

async fn bench(commits: usize, subscribers: usize) -> Result<(), Error> {
    let exe = std::env::current_exe()?;
    let mut child = tokio::process::Command::new(exe)
        .arg("--serve")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or("no child pid")?;
    let mut out = child.stdout.take().ok_or("no stdout")?;
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while out.read(&mut b).await? == 1 && b[0] != b'\n' {
        line.push(b[0]);
    }
    let addr = String::from_utf8(line)?;
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{base}/v1/repos"))
        .json(&serde_json::json!({"name": "bench"}))
        .send()
        .await?;
    if res.status() != 201 {
        return Err(format!("create answered {}", res.status()).into());
    }

    // Part 1: latency. Each reader task timestamps each event's arrival by its new oid.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Door, String, Instant)>();
    let mut stream = open_stream(&addr, "/v1/repos/bench/events").await?;
    let sse_tx = tx.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut text = String::new();
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
            let now = Instant::now();
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
            while let Some(i) = text.find("\"new\":\"") {
                let rest = &text[i + 7..];
                let Some(end) = rest.find('"') else { break };
                let _ = sse_tx.send((Door::Sse, rest[..end].to_owned(), now));
                text = rest[end..].to_owned();
            }
        }
    });
    graphql_ws(&addr, tx).await?;
    // The subscription is registered when the server has handled `subscribe`; there is no
    // acknowledgement in the protocol, so give it a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut rows: [(Vec<Duration>, Vec<Duration>, usize); 2] = Default::default();
    let mut tip = ZERO.to_owned();
    for i in 0..commits {
        let t0 = Instant::now();
        let oid = commit(&http, &base, &tip, i).await?;
        let t1 = Instant::now();
        for _ in 0..2 {
            let (door, got, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await?
                .ok_or("an event stream ended")?;
            if got != oid {
                return Err(format!("{door:?} event for {got}, expected {oid}").into());
            }
            let row = &mut rows[door as usize];
            if at < t1 {
                row.2 += 1;
            }
            row.0.push(at.saturating_duration_since(t1));
            row.1.push(at - t0);
        }
        tip = oid;
    }
    println!("# part 1: {commits} commits through REST, one SSE and one graphql-ws subscriber");
    for (door, (after_answer, from_start, early)) in
        [Door::Sse, Door::GraphqlWs].into_iter().zip(rows)
    {
        print_row(&format!("{door:?}: event after the answer"), after_answer);
        print_row(&format!("{door:?}: event after the request"), from_start);
        println!("{door:?}: events that arrived before the answer was read: {early} of {commits}");
    }

    // Part 2: idle subscribers.
    let before = rss_kib(pid).unwrap_or(0);
    let mut idle = Vec::with_capacity(subscribers);
    let started = Instant::now();
    for i in 0..subscribers {
        match open_stream(&addr, "/v1/events").await {
            Ok(s) => idle.push(s),
            Err(e) => {
                println!("subscriber {i} failed: {e} (raise `ulimit -n`?)");
                break;
            }
        }
    }
    let opened = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(pid).unwrap_or(0);
    println!("# part 2: idle SSE subscribers on /v1/events");
    println!(
        "opened {} in {:.1} s; server VmRSS {:.1} MiB before, {:.1} MiB after ({:.1} KiB each)",
        idle.len(),
        opened.as_secs_f64(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 / idle.len().max(1) as f64,
    );
    let t0 = Instant::now();
    let oid = commit(&http, &base, &tip, commits).await?;
    let mut received = 0usize;
    let mut buf = vec![0u8; 4096];
    for s in &mut idle {
        let mut text = String::new();
        while !text.contains(&oid) {
            match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => text.push_str(&String::from_utf8_lossy(&buf[..n])),
                _ => break,
            }
        }
        if text.contains(&oid) {
            received += 1;
        }
    }
    println!(
        "one commit's event reached {received} of {} subscribers; all read within {:.1} ms",
        idle.len(),
        t0.elapsed().as_secs_f64() * 1000.0
    );
    drop(idle);
    child.kill().await?;
    Ok(())
}

/// Which subscriber saw an event.
#[derive(Debug, Clone, Copy)]
enum Door {
    Sse = 0,
    GraphqlWs = 1,
}

/// Subscribes to `repositoryEvents` of `bench` over `graphql-transport-ws` and sends each
/// event's new oid, timestamped, to `tx` from a task.
async fn graphql_ws(
    addr: &str,
    tx: tokio::sync::mpsc::UnboundedSender<(Door, String, Instant)>,
) -> Result<(), Error> {
    use futures::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

    let mut req = format!("ws://{addr}/graphql").into_client_request()?;
    req.headers_mut()
        .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    ws.send(Message::Text(r#"{"type":"connection_init"}"#.into()))
        .await?;
    loop {
        let msg = ws.next().await.ok_or("closed before connection_ack")??;
        if msg.to_text().is_ok_and(|t| t.contains("connection_ack")) {
            break;
        }
    }
    let subscribe = serde_json::json!({"id": "1", "type": "subscribe", "payload": {
        "query": "subscription { repositoryEvents(repo: \"bench\") { new } }"}});
    ws.send(Message::Text(subscribe.to_string().into())).await?;
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            let now = Instant::now();
            let Ok(v) = serde_json::from_str::<serde_json::Value>(msg.to_text().unwrap_or(""))
            else {
                continue;
            };
            match v["type"].as_str() {
                Some("next") => {
                    let new = &v["payload"]["data"]["repositoryEvents"]["new"];
                    if let Some(oid) = new.as_str() {
                        let _ = tx.send((Door::GraphqlWs, oid.to_owned(), now));
                    }
                }
                Some("ping") => {
                    let _ = ws.send(Message::Text(r#"{"type":"pong"}"#.into())).await;
                }
                _ => {}
            }
        }
    });
    Ok(())
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Runtime::new()?;
    if args.first().map(String::as_str) == Some("--serve") {
        return rt.block_on(serve());
    }
    let commits = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let subscribers = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    rt.block_on(bench(commits, subscribers))
}
