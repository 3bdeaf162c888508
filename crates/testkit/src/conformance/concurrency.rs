//! Concurrent writers: compare-and-swap under contention loses nothing and overwrites nothing.

use std::sync::Arc;

use bytes::Bytes;
use gitapi_core::{CommitFiles, ErrorKind, FileAction, Signing};

use super::*;

/// 16 writers read the tip and `commit_files` onto it with that expected tip. Every
/// acknowledged commit is in the final history, on top of the tip its writer read; every other
/// writer got `Conflict` with `RefMismatch`; `git fsck` is clean.
pub async fn concurrency_commit_files_cas(factory: Factory) {
    let h = Arc::new(Harness::new(&factory));
    let f = h.fixture("race", |w| {
        w.commit("start", &[("README.md", "race\n")]);
    });
    let r = f.repo.clone();
    let writers = 16;
    let barrier = Arc::new(tokio::sync::Barrier::new(writers));
    let mut tasks = Vec::new();
    for i in 0..writers {
        let (h, r, barrier) = (Arc::clone(&h), r.clone(), Arc::clone(&barrier));
        let author = h.sig();
        tasks.push(tokio::spawn(async move {
            let tip = h
                .engine
                .get_ref(&r, &branch("main"))
                .await
                .expect("get_ref")
                .target;
            barrier.wait().await;
            let res = h
                .engine
                .commit_files(
                    &r,
                    CommitFiles {
                        branch: branch("main"),
                        expected_tip: Some(tip),
                        start_point: None,
                        actions: vec![FileAction::Put {
                            path: path(&format!("writer-{i:02}.txt")),
                            content: Bytes::from(format!("writer {i}\n")),
                            mode: None,
                        }],
                        message: format!("writer {i}"),
                        author,
                        committer: None,
                        signing: Signing::None,
                        allow_empty: false,
                    },
                )
                .await;
            (i, tip, res)
        }));
    }
    let mut won = Vec::new();
    for t in tasks {
        let (i, tip, res) = t.await.expect("writer task");
        match res {
            Ok(c) => {
                assert_eq!(
                    c.parents,
                    vec![tip],
                    "writer {i} committed on the tip it read"
                );
                won.push(c);
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Conflict, "writer {i}: {e:?}");
                assert!(
                    matches!(
                        e.details(),
                        Some(gitapi_core::ErrorDetails::RefMismatch { .. })
                    ),
                    "writer {i} lost a compare-and-swap: {e:?}"
                );
            }
        }
    }
    assert!(!won.is_empty(), "at least one writer wins");
    let history: Vec<Oid> = h
        .git_repo(&r, &["rev-list", "main"])
        .lines()
        .map(oid)
        .collect();
    for c in &won {
        assert!(
            history.contains(&c.oid),
            "acknowledged commit {} is in git log",
            c.oid
        );
    }
    assert_eq!(
        history.len(),
        1 + won.len(),
        "the history is the start plus every winner"
    );
    let parents: BTreeSet<Oid> = won.iter().flat_map(|c| c.parents.clone()).collect();
    assert_eq!(
        parents.len(),
        won.len(),
        "no two winners share a parent: nothing overwritten"
    );
    h.fsck(&r);
}

/// 16 concurrent `create_branch` of one name: exactly one succeeds, the others are
/// `AlreadyExists`.
pub async fn concurrency_create_branch_once(factory: Factory) {
    let h = Arc::new(Harness::new(&factory));
    let f = h.fixture("race", |w| {
        w.commit("one", &[("a.txt", "1\n")]);
        w.commit("two", &[("a.txt", "2\n")]);
    });
    let r = f.repo.clone();
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (h, r, barrier) = (Arc::clone(&h), r.clone(), Arc::clone(&barrier));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let target = if i % 2 == 0 { "main" } else { "main~1" };
            (
                target,
                h.engine
                    .create_branch(&r, &branch("contested"), &rev(target))
                    .await,
            )
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (target, res) = t.await.expect("task");
        match res {
            Ok(created) => winners.push((target, created)),
            Err(e) => assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create wins");
    let (target, created) = &winners[0];
    assert_eq!(created.target, h.rev(&r, target));
    assert_eq!(h.rev(&r, "refs/heads/contested"), created.target);
    h.fsck(&r);
}
