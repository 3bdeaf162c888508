//! The door in process, beside the service: a push publishes exactly one ref event per moved
//! ref to the service's subscribers, like every other door's writes, and a push over the size
//! limit is refused with nothing left behind.

use std::sync::Arc;

use gitapi_service::{CallContext, Door, Principal, RefChangeKind};
use gitapi_testkit::git::Git;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_publishes_one_event_per_moved_ref() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = gitapi_server::Config::load(
        None,
        &Default::default(),
        &gitapi_server::Flags {
            data_dir: Some(data.path().to_path_buf()),
            ..Default::default()
        },
    )
    .expect("config");
    let svc = gitapi_server::build_service(&config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = gitapi_server::app(svc.clone());
    let served = tokio::spawn(gitapi_server::serve(listener, app, async {
        let _ = stop_rx.await;
    }));
    let http = http();
    create_repo(&http, &base, "ev", None).await;
    let cx = CallContext::new(Principal::Open, Door::Internal);
    let mut events = svc.subscribe(&cx);

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
        seen.push((e.refname.as_str().to_owned(), e.kind));
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
    let data = tempfile::tempdir().expect("tempdir");
    let config = gitapi_server::Config::load(
        Some("version = 1\n[limits]\nmax_push_bytes = 4096\n"),
        &Default::default(),
        &gitapi_server::Flags {
            data_dir: Some(data.path().to_path_buf()),
            ..Default::default()
        },
    )
    .expect("config");
    let svc = gitapi_server::build_service(&config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(gitapi_server::serve(
        listener,
        gitapi_server::app(svc),
        async {
            let _ = stop_rx.await;
        },
    ));
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
