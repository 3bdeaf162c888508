//! The listener's limits against the real binary: 2,000 idle connections, 50 slowloris
//! clients sending their headers a byte at a time and 20 bodies that stall after 8 bytes are
//! all closed after the configured timeouts, while ordinary requests keep being answered, and
//! the server's memory comes back to where it started.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{gitapi_serve, rss_kib};

const IDLE: usize = 2_000;
const SLOWLORIS: usize = 50;
const STALLED: usize = 20;

/// Whether the server closed `s`: a read ends (EOF or reset), or yields an answer after which
/// the connection ends (a stalled body gets an error response first).
async fn closed_by_server(mut s: TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// The binary with `[http]` settings `http`, on a free port.
fn start(data: &std::path::Path, http: &str) -> (std::process::Child, String) {
    crate::announce::spawn_announced(gitapi_serve(data, &format!("[http]\n{http}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_connection_cap_is_closed_and_others_are_served() {
    let data = tempfile::tempdir().expect("tempdir");
    let (mut child, base) = start(data.path(), "max_connections_per_client = 4\n");
    let addr = base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(&addr).await.expect("connect");
        // A request on each, so each is surely admitted and held (keep-alive).
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("request");
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).await.expect("answer");
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(s);
    }
    let fifth = TcpStream::connect(&addr).await.expect("the kernel accepts");
    assert!(
        closed_by_server(fifth, Duration::from_secs(10)).await,
        "the fifth connection from one address is closed"
    );
    drop(held);
    // Slots are given back when connections end.
    let http = crate::common::http_client().build().expect("client");
    let mut ok = false;
    for _ in 0..50 {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status() == 200
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "served again once the held connections closed");
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_slowloris_and_stalled_connections_are_closed_and_memory_comes_back() {
    let data = tempfile::tempdir().expect("tempdir");
    // Every client of this test is 127.0.0.1, so the per-client cap is raised above the
    // attack; `a_client_over_its_connection_cap_is_closed_and_others_are_served` checks it.
    let (mut child, base) = start(
        data.path(),
        "header_read_timeout_secs = 2\nbody_timeout_secs = 2\nmax_connections_per_client = 5000\n",
    );
    let addr = base.trim_start_matches("http://").to_owned();
    let http = crate::common::http_client().build().expect("client");
    for _ in 0..20 {
        let res = http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .expect("warm-up");
        assert_eq!(res.status(), 200);
    }
    let before = rss_kib(child.id());

    // Ordinary requests all along, each on a new connection.
    let running = Arc::new(AtomicBool::new(true));
    let served = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let prober = {
        let (running, served, failed) = (running.clone(), served.clone(), failed.clone());
        let base = base.clone();
        tokio::spawn(async move {
            let fresh = crate::common::http_client()
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client");
            while running.load(Ordering::SeqCst) {
                match fresh.get(format!("{base}/healthz")).send().await {
                    Ok(r) if r.status() == 200 => served.fetch_add(1, Ordering::SeqCst),
                    _ => failed.fetch_add(1, Ordering::SeqCst),
                };
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    let mut slow = Vec::new();
    for i in 0..SLOWLORIS {
        let addr = addr.clone();
        slow.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(&addr).await.expect("connect");
            let head = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow-{i}: ");
            if s.write_all(head.as_bytes()).await.is_err() {
                return true;
            }
            // A header byte every 200 ms, never ending the head; the server must hang up.
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if s.write_all(b"a").await.is_err() {
                    return true;
                }
            }
            closed_by_server(s, Duration::from_secs(1)).await
        }));
    }
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        let mut s = TcpStream::connect(&addr).await.expect("connect");
        // A head promising 100 bytes, then 8 of them, then nothing.
        let req = "POST /v1/repos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                   Content-Length: 100\r\n\r\n{\"name\":";
        s.write_all(req.as_bytes())
            .await
            .expect("a head and 8 bytes");
        stalled.push(s);
    }
    let peak = rss_kib(child.id());

    // Every idle connection is closed by the server after the 2 s header timeout.
    // All at once, so a server that keeps them open costs the test 15 s, not 15 s each.
    let closed = futures::future::join_all(
        idle.into_iter()
            .map(|s| closed_by_server(s, Duration::from_secs(15))),
    )
    .await
    .into_iter()
    .filter(|&c| c)
    .count();
    assert_eq!(closed, IDLE, "idle connections closed by the server");
    let mut slow_closed = 0;
    for t in slow {
        if t.await.expect("slowloris task") {
            slow_closed += 1;
        }
    }
    assert_eq!(
        slow_closed, SLOWLORIS,
        "slowloris connections closed by the server"
    );
    let stalled_closed = futures::future::join_all(
        stalled
            .into_iter()
            .map(|s| closed_by_server(s, Duration::from_secs(15))),
    )
    .await
    .into_iter()
    .filter(|&c| c)
    .count();
    assert_eq!(
        stalled_closed, STALLED,
        "stalled bodies ended by the server"
    );

    running.store(false, Ordering::SeqCst);
    prober.await.expect("prober");
    let served = served.load(Ordering::SeqCst);
    let failed = failed.load(Ordering::SeqCst);
    assert_eq!(failed, 0, "ordinary requests failed while under attack");
    assert!(
        served > 10,
        "ordinary requests were answered throughout: {served}"
    );

    // Memory back within 20 MB of where it started (the allocator may take a moment).
    let mut after = rss_kib(child.id());
    for _ in 0..50 {
        if after <= before + 20 * 1024 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = rss_kib(child.id());
    }
    println!(
        "http limits: RSS {before} KiB at start, {peak} KiB with {IDLE} idle, {SLOWLORIS} \
         slowloris and {STALLED} stalled connections, {after} KiB after; {served} ordinary \
         requests answered meanwhile"
    );
    assert!(
        after <= before + 20 * 1024,
        "RSS {after} KiB after, {before} KiB before"
    );
    let _ = child.kill();
    let _ = child.wait();
}
