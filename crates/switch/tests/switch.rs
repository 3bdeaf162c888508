//! The switch and the canary, on the two real engines.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gitapi_core::{
    CommitFiles, FileAction, GitBackend, InitOptions, Oid, RefName, RepoName, RepoPath, Rev,
    Signature,
};
use gitapi_switch::{CanaryConfig, CanaryMode, EngineKind, EngineSwitch};

fn commit(branch: &str, expected: Option<Oid>, text: &str) -> CommitFiles {
    CommitFiles {
        branch: RefName::branch(branch).expect("valid"),
        expected_tip: expected,
        start_point: None,
        actions: vec![FileAction::Put {
            path: RepoPath::new("a.txt").expect("valid"),
            content: Bytes::from(text.to_owned()),
            mode: None,
        }],
        message: text.to_owned(),
        author: Signature::new("T", "t@example.com", 1_700_000_000, 0).expect("valid"),
        committer: None,
        signing: Default::default(),
        allow_empty: false,
    }
}

fn engines(a: &std::path::Path, b: &std::path::Path) -> (Arc<dyn GitBackend>, Arc<dyn GitBackend>) {
    (
        Arc::new(gitapi_git2::Git2Backend::new(gitapi_git2::Config::new(a))),
        Arc::new(gitapi_shell::ShellBackend::new(gitapi_shell::Config::new(
            b,
        ))),
    )
}

/// Waits (bounded) until the background comparisons have been counted.
async fn settle(switch: &EngineSwitch, at_least: u64) {
    for _ in 0..500 {
        let s = switch.status();
        let done: u64 = s.canary_compared.values().sum::<u64>() + s.canary_inconclusive;
        if done >= at_least {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_counts_a_deliberate_difference_and_nothing_else() {
    let data = tempfile::tempdir().expect("temp");
    let repo = RepoName::new("r").expect("valid");
    let (git2, _) = engines(data.path(), data.path());
    git2.init_repo(&repo, InitOptions::default())
        .await
        .expect("init");
    let first = git2
        .commit_files(&repo, commit("main", Some(Oid::ZERO), "one"))
        .await
        .expect("commit");
    // The shadow engine reads a copy of the data directory in which main has one more commit:
    // a deliberate difference in what `main` resolves to, and nowhere else.
    let copy = tempfile::tempdir().expect("temp");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", data.path().display()))
        .arg(copy.path())
        .status()
        .expect("cp runs");
    assert!(status.success());
    let (_, shell_on_copy) = engines(copy.path(), copy.path());
    shell_on_copy
        .commit_files(&repo, commit("main", Some(first.oid), "two"))
        .await
        .expect("commit on the copy");

    let switch = EngineSwitch::new(
        Arc::clone(&git2),
        shell_on_copy,
        EngineKind::Libgit2,
        CanaryConfig {
            fraction: 1.0,
            mode: CanaryMode::Shadow,
        },
    );
    let main = Rev::new("main").expect("valid");
    for _ in 0..3 {
        let lease = switch.lease();
        let oid = lease
            .backend()
            .resolve(&repo, &main)
            .await
            .expect("resolves");
        assert_eq!(oid, first.oid, "callers get the serving engine's answer");
        let c = lease
            .backend()
            .get_commit(&repo, &Rev::from(first.oid))
            .await
            .expect("reads");
        assert_eq!(c.oid, first.oid);
    }
    settle(&switch, 6).await;
    let s = switch.status();
    assert_eq!(s.canary_mismatches.get("resolve"), Some(&3), "{s:?}");
    assert_eq!(s.canary_compared.get("get_commit"), Some(&3), "{s:?}");
    assert_eq!(
        s.canary_mismatches.get("get_commit"),
        None,
        "same object, same answer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_finish_on_the_engine_they_started_on() {
    let data = tempfile::tempdir().expect("temp");
    let (git2, shell) = engines(data.path(), data.path());
    let switch = EngineSwitch::new(
        git2,
        shell,
        EngineKind::Libgit2,
        CanaryConfig {
            fraction: 0.0,
            mode: CanaryMode::Shadow,
        },
    );
    let before = switch.lease();
    assert_eq!(before.kind(), EngineKind::Libgit2);
    assert!(switch.switch(EngineKind::Shell));
    assert!(
        !switch.switch(EngineKind::Shell),
        "switching to the serving engine is a no-op"
    );
    let after = switch.lease();
    assert_eq!(after.kind(), EngineKind::Shell);
    assert_eq!(
        before.backend().name(),
        "libgit2",
        "the old lease keeps its engine"
    );
    let s = switch.status();
    assert_eq!(s.backend, EngineKind::Shell);
    assert_eq!(s.switches, 1);
    assert_eq!(s.in_flight.get(&EngineKind::Libgit2), Some(&1));
    assert_eq!(s.in_flight.get(&EngineKind::Shell), Some(&1));
    drop(before);
    drop(after);
    let s = switch.status();
    assert_eq!(s.in_flight.values().sum::<usize>(), 0, "drained");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_mode_sends_the_sample_to_the_other_engine() {
    let data = tempfile::tempdir().expect("temp");
    let (git2, shell) = engines(data.path(), data.path());
    let switch = EngineSwitch::new(
        git2,
        shell,
        EngineKind::Libgit2,
        CanaryConfig {
            fraction: 1.0,
            mode: CanaryMode::Route,
        },
    );
    assert_eq!(switch.lease().kind(), EngineKind::Shell);
    switch
        .set_canary(CanaryConfig {
            fraction: 0.0,
            mode: CanaryMode::Route,
        })
        .expect("valid");
    assert_eq!(switch.lease().kind(), EngineKind::Libgit2);
    assert!(
        switch
            .set_canary(CanaryConfig {
                fraction: 1.5,
                mode: CanaryMode::Route
            })
            .is_err()
    );
    assert_eq!("shell".parse::<EngineKind>().ok(), Some(EngineKind::Shell));
    assert!("svn".parse::<EngineKind>().is_err());
}
