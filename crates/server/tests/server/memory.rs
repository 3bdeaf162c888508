//! Memory comes back after large requests: the real binary commits two 15 MB versions of a
//! text file, answers their 40 MB diff, the blob and its blame, and then, idle, gives back at
//! least half of what the burst took above its warm idle (with glibc's malloc it gave back
//! none). What stays is mostly libgit2's own allocations, which go through glibc: 15 MB over
//! idle alone, 27 MB with the whole suite running beside it. The figures are printed
//! (docs/benchmarks.md, "Memory after a large request").

use std::time::Duration;

use serde_json::json;

use crate::common::{gitapi_serve, rss_kib, start_binary};

const ZERO: &str = "0000000000000000000000000000000000000000";

/// About 15 MB of numbered lines; `variant` changes every seventh line.
fn big_text(variant: bool) -> String {
    let mut out = String::with_capacity(15 << 20);
    let mut i = 0u64;
    while out.len() < 15 << 20 {
        let pad = "x".repeat((i * 7919 % 50) as usize + 10);
        let mark = if variant && i.is_multiple_of(7) {
            "y"
        } else {
            ""
        };
        out.push_str(&format!("line {i} {pad}{mark}\n"));
        i += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_returns_after_a_large_diff_blob_and_blame() {
    use base64::Engine as _;
    let data = tempfile::tempdir().expect("tempdir");
    let (server, base) = start_binary(gitapi_serve(data.path(), ""));
    let pid = server.0.id();
    let http = crate::common::http_client().build().expect("client");
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let author = json!({"name": "A", "email": "a@example.com"});

    // Warm-up: the pools and caches every server has once it has served a little.
    let res = http
        .post(format!("{base}/v1/repos"))
        .json(&json!({"name": "demo"}))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201);
    let mut tip = ZERO.to_owned();
    for (i, text) in ["a\n", "a\nb\n"].into_iter().enumerate() {
        let res = http
            .post(format!("{base}/v1/repos/demo/commits"))
            .json(&json!({"branch": "main", "expectedTip": tip, "message": format!("small {i}"),
                          "author": author,
                          "actions": [{"action": "put", "path": "small.txt", "content": b64(text)}]}))
            .send()
            .await
            .expect("commit");
        assert_eq!(res.status(), 201);
        tip = res.json::<serde_json::Value>().await.expect("json")["oid"]
            .as_str()
            .expect("oid")
            .to_owned();
    }
    for path in [
        "diff?from=main~1&to=main",
        "blob?rev=main&path=small.txt",
        "blame?rev=main&path=small.txt",
    ] {
        let res = http
            .get(format!("{base}/v1/repos/demo/{path}"))
            .send()
            .await
            .expect("read");
        assert_eq!(res.status(), 200, "{path}");
        res.bytes().await.expect("body");
    }
    let idle = rss_kib(pid);

    // The large requests.
    let mut peak = idle;
    for variant in [false, true] {
        let res = http
            .post(format!("{base}/v1/repos/demo/commits"))
            .json(
                &json!({"branch": "main", "expectedTip": tip, "message": "big",
                          "author": author,
                          "actions": [{"action": "put", "path": "big.txt",
                                       "content": b64(&big_text(variant))}]}),
            )
            .send()
            .await
            .expect("commit");
        assert_eq!(res.status(), 201);
        tip = res.json::<serde_json::Value>().await.expect("json")["oid"]
            .as_str()
            .expect("oid")
            .to_owned();
        peak = peak.max(rss_kib(pid));
    }
    let mut answered = 0usize;
    for path in [
        "diff?from=main~1&to=main",
        "blob?rev=main&path=big.txt",
        "blame?rev=main&path=big.txt",
    ] {
        let res = http
            .get(format!("{base}/v1/repos/demo/{path}"))
            .send()
            .await
            .expect("read");
        assert_eq!(res.status(), 200, "{path}");
        answered += res.bytes().await.expect("body").len();
        peak = peak.max(rss_kib(pid));
    }
    assert!(
        answered > 50 << 20,
        "the answers were large: {answered} bytes"
    );

    // Idle again: the allocator's background purge gives the pages back within seconds.
    let returned_enough = |after: u64| after <= idle + (peak - idle) / 2;
    let mut after = rss_kib(pid);
    for _ in 0..60 {
        if returned_enough(after) && after <= idle + 20 * 1024 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        after = rss_kib(pid);
    }
    eprintln!(
        "memory: idle {} MiB, peak {} MiB, after {} MiB ({answered} bytes answered)",
        idle / 1024,
        peak / 1024,
        after / 1024
    );
    assert!(
        returned_enough(after),
        "resident memory stayed at {after} KiB after the large requests (idle {idle} KiB, \
         peak {peak} KiB)"
    );
}
