//! The door in process, beside the service: a push publishes exactly one ref event per moved
//! ref to the service's subscribers, like every other door's writes, and a push over the size
//! limit is refused with nothing left behind.

use std::sync::Arc;

use gitapi_service::{CallContext, Change, Door, Principal, RefChangeKind};
use gitapi_testkit::git::Git;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_publishes_one_event_per_moved_ref() {
    let (base, svc, _data, stop_tx, served) = in_process_service("version = 1\n").await;
    let http = http();
    create_repo(&http, &base, "ev", None).await;
    let cx = CallContext::new(Principal::Open, Door::Internal);
    let mut events = svc.subscribe(&cx, None);

    let git = Arc::new(Git::new());
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = work_repo(&git, &tmp.path().join("work"));
    let url = format!("{base}/ev.git");
    let (g, dir, u) = (Arc::clone(&git), work.dir().to_path_buf(), url.clone());
    tokio::task::spawn_blocking(move || {
        git_ok(&g, &dir, &["push", "-q", &u, "main", "side", "v1"])
    })
    .await
    .expect("push");
    work.commit("next", &[("n.txt", "n\n")]);
    let (g, dir, u) = (Arc::clone(&git), work.dir().to_path_buf(), url.clone());
    tokio::task::spawn_blocking(move || git_ok(&g, &dir, &["push", "-q", &u, "main", ":side"]))
        .await
        .expect("push");

    // Events are published before the push is answered: all are there now.
    let mut seen = Vec::new();
    while let Ok(Some(e)) = events.try_recv() {
        if let Change::Ref(e) = e.change {
            seen.push((e.refname.as_str().to_owned(), e.kind));
        }
    }
    // git orders a push's commands its own way: compare as sets with their counts.
    seen.sort_by_key(|(n, k)| (n.clone(), format!("{k:?}")));
    let mut want = vec![
        ("refs/heads/main".to_owned(), RefChangeKind::Created),
        ("refs/heads/side".to_owned(), RefChangeKind::Created),
        ("refs/tags/v1".to_owned(), RefChangeKind::Created),
        ("refs/heads/main".to_owned(), RefChangeKind::Updated),
        ("refs/heads/side".to_owned(), RefChangeKind::Deleted),
    ];
    want.sort_by_key(|(n, k)| (n.clone(), format!("{k:?}")));
    assert_eq!(seen, want);
    let _ = stop_tx.send(());
    let _ = served.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_over_the_size_limit_is_refused_and_leaves_nothing() {
    let (base, data, stop_tx, served) =
        in_process("version = 1\n[limits]\nmax_push_bytes = 4096\n").await;
    let http = http();
    create_repo(&http, &base, "small", None).await;
    let git = Arc::new(Git::new());
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = gitapi_testkit::git::RepoBuilder::init(&git, tmp.path().join("work"), "main");
    // Incompressible content well over the limit.
    let noise: String = (0..20_000u32)
        .map(|i| format!("{:08x}", i.wrapping_mul(2_654_435_761)))
        .collect();
    work.commit("big", &[("noise.txt", noise.as_str())]);
    let (g, dir, u) = (
        Arc::clone(&git),
        work.dir().to_path_buf(),
        format!("{base}/small.git"),
    );
    let out = tokio::task::spawn_blocking(move || git_http(&g, &dir, &["push", &u, "main"]))
        .await
        .expect("push");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("413"), "{}", stderr(&out));
    assert!(rest_refs(&http, &base, "small", None).await.is_empty());
    let objects = data.path().join("repos/small.git/objects");
    let mut files = Vec::new();
    for e in std::fs::read_dir(&objects).expect("objects").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name != "info" && name != "pack" {
            files.push(name);
        }
    }
    assert!(files.is_empty(), "nothing left behind: {files:?}");
    let packs = std::fs::read_dir(objects.join("pack"))
        .expect("pack")
        .count();
    assert_eq!(packs, 0);
    let _ = stop_tx.send(());
    let _ = served.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_over_the_cap_get_503_with_retry_after_and_later_succeed() {
    let (base, _data, stop, served) =
        in_process("version = 1\n[limits]\nmax_transfers = 1\ntransfer_queue = 0\n").await;
    let http = http();
    create_repo(&http, &base, "busy", None).await;
    let git = Git::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = work_repo(&git, &tmp.path().join("work"));
    let url = format!("{base}/busy.git");
    let (g, dir, u) = (git.clone(), work.dir().to_path_buf(), url.clone());
    tokio::task::spawn_blocking(move || git_ok(&g, &dir, &["push", "-q", &u, "main"]))
        .await
        .expect("push");

    // A fetch whose request body never ends holds the only transfer slot.
    let (body_tx, body_rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let stalled = {
        let http = http.clone();
        let url = url.clone();
        tokio::spawn(async move {
            let body =
                reqwest::Body::wrap_stream(futures::stream::unfold(body_rx, |mut rx| async {
                    rx.recv().await.map(|item| (item, rx))
                }));
            http.post(format!("{url}/git-upload-pack"))
                .header("content-type", "application/x-git-upload-pack-request")
                .body(body)
                .send()
                .await
        })
    };
    let post = |http: reqwest::Client, url: String| async move {
        let mut body = Vec::new();
        body.extend_from_slice(b"0000");
        http.post(format!("{url}/git-upload-pack"))
            .header("content-type", "application/x-git-upload-pack-request")
            .body(body)
            .send()
            .await
            .expect("POST")
    };
    // Once the stalled fetch holds the slot, the next one is refused at once.
    let mut refused = None;
    for _ in 0..500 {
        let res = post(http.clone(), url.clone()).await;
        if res.status().as_u16() == 503 {
            refused = Some(res);
            break;
        }
        tokio::task::yield_now().await;
    }
    let refused = refused.expect("a transfer over the cap is refused");
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    // The REST API is not held up by the transfers.
    let res = http
        .get(format!("{base}/v1/repos/busy/refs"))
        .send()
        .await
        .expect("GET refs");
    assert_eq!(res.status().as_u16(), 200);
    // The stalled client goes away; its slot comes back.
    drop(body_tx);
    let _ = stalled.await;
    let mut ok = false;
    for _ in 0..500 {
        if post(http.clone(), url.clone()).await.status().is_success() {
            ok = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(ok, "the slot is released when the stalled transfer ends");
    let _ = stop.send(());
    let _ = served.await;
}
