//! The service's deadline reaches the engine, on both engines: a read past its 1 s deadline
//! answers `Timeout` and leaves no git process and no busy blocking thread behind; a write under
//! the same deadline either lands and answers success or leaves every ref as it was.
//!
//! Alone in its own binary: it looks at every git process and at the CPU time of the whole
//! test process. No test here compares a duration with a figure to pass: deadlines are set and
//! outcomes asserted (the CPU check asserts that a stopped walk uses less than half a core).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use gitapi_core::*;
use gitapi_service::*;
use gitapi_switch::{CanaryConfig, EngineKind, EngineSwitch};
use gitapi_testkit::bigrepo::{Shape, build};
use gitapi_testkit::conformance::git_processes;

const COMMITS: usize = 20_000;

fn service(dir: &std::path::Path, kind: EngineKind) -> (RepoService, CallContext) {
    let mut config = ServiceConfig::new(dir);
    config.limits.deadline = Duration::from_secs(1);
    let switch = Arc::new(EngineSwitch::new(
        Arc::new(gitapi_git2::Git2Backend::new(gitapi_git2::Config::new(dir))),
        Arc::new(gitapi_shell::ShellBackend::new(gitapi_shell::Config::new(
            dir,
        ))),
        kind,
        CanaryConfig::default(),
    ));
    let svc = RepoService::new(config, switch);
    let cx = CallContext::new(Principal::Open, Door::Internal);
    (svc, cx)
}

/// User plus system CPU time of this process, in clock ticks.
fn cpu_ticks() -> u64 {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let Some(close) = text.rfind(')') else {
        return 0;
    };
    let rest: Vec<&str> = text[close + 2..].split(' ').collect();
    // Fields after the command: state(0) ... utime(11) stime(12).
    let field = |i: usize| rest.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12)
}

async fn read_past_the_deadline(kind: EngineKind) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (svc, cx) = service(dir.path(), kind);
    let repo = RepoName::new("long").expect("name");
    build(
        &Layout::new(dir.path()).repo_dir(&repo),
        Shape {
            files: 8,
            dirs: 2,
            commits: COMMITS,
        },
    );
    assert!(
        git_processes()
            .iter()
            .all(|(_, cmd)| cmd.contains(" cat-file --batch-command")),
        "no git working before the test"
    );
    // The engine walks a 20,000-commit history for this stream; the client reads one commit
    // and then stops reading until the deadline has passed, so the operation runs longer than
    // its deadline whatever the machine's speed.
    let mut log = svc
        .log_stream(&cx, &repo, LogQuery::of(Rev::new("main").expect("rev")))
        .await
        .expect("the log starts");
    assert!(matches!(log.next().await, Some(Ok(_))), "the first commit");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let mut read = 1usize;
    let mut end = None;
    while let Some(item) = log.next().await {
        match item {
            Ok(_) => read += 1,
            Err(e) => {
                end = Some(e.kind());
                break;
            }
        }
    }
    assert_eq!(end, Some(ErrorKind::Timeout), "after {read} commits");
    assert!(read < COMMITS);
    drop(log);
    // Within 2 s: no git process of the request is alive. The CLI engine's warm
    // `cat-file --batch-command` processes belong to its pool, not to a request (they serve
    // every read of the repository and idle out after a minute); the CPU check below shows
    // they are not working.
    let of_request = || {
        git_processes()
            .into_iter()
            .filter(|(_, cmd)| !cmd.contains(" cat-file --batch-command"))
            .collect::<Vec<_>>()
    };
    let mut left = of_request();
    for _ in 0..20 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = of_request();
    }
    assert!(left.is_empty(), "git processes left behind: {left:?}");
    // And no blocking thread still walks for it: over one second the whole process uses less
    // than half a core (a walk that kept going would use a whole one).
    let ticks_per_s = 100; // USER_HZ on Linux
    let before = cpu_ticks();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let used = cpu_ticks().saturating_sub(before);
    assert!(
        used < ticks_per_s / 2,
        "{used} ticks of CPU in 1 s after the timeout"
    );
    // The repository still serves.
    let tip = svc
        .resolve(&cx, &repo, &Rev::new("main").expect("rev"))
        .await
        .expect("resolve after the timeout");
    assert!(!tip.is_zero());
}

async fn write_under_the_deadline(kind: EngineKind) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (svc, cx) = service(dir.path(), kind);
    let repo = RepoName::new("w").expect("name");
    svc.create_repo(&cx, &repo, RepoSource::Empty(InitOptions::default()))
        .await
        .expect("create");
    let main = RefName::branch("main").expect("branch");
    let mut tip = Oid::ZERO;
    // Deadlines from the service's 1 s down to already passed, through the caller's own.
    for (i, d) in [
        None,
        Some(Duration::from_millis(50)),
        Some(Duration::from_millis(5)),
        Some(Duration::ZERO),
    ]
    .into_iter()
    .enumerate()
    {
        let cx = match d {
            Some(d) => cx.clone().with_timeout(d),
            None => cx.clone(),
        };
        let now = CallContext::new(Principal::Open, Door::Internal);
        let before = svc.list_refs(&now, &repo, ListRefs::default()).await;
        let req = CommitFiles {
            branch: main.clone(),
            expected_tip: Some(tip),
            start_point: None,
            actions: vec![FileAction::Put {
                path: RepoPath::new(format!("f{i}")).expect("path"),
                content: Bytes::from(format!("{i}\n")),
                mode: None,
            }],
            message: format!("write {i}"),
            author: Signature::new("A U Thor", "a@example.com", 1_700_000_000, 0)
                .expect("signature"),
            committer: None,
            signing: Signing::None,
            allow_empty: false,
        };
        match svc.commit_files(&cx, &repo, req).await {
            Ok(c) => {
                assert_eq!(
                    svc.get_ref(&now, &repo, &main).await.expect("ref").target,
                    c.oid
                );
                tip = c.oid;
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
                let after = svc.list_refs(&now, &repo, ListRefs::default()).await;
                assert_eq!(
                    after.map(|p| p.items),
                    before.map(|p| p.items),
                    "a write on {kind:?} under {d:?} answered Timeout and moved a ref"
                );
            }
        }
    }
    assert!(
        !tip.is_zero(),
        "the write under the service's own deadline landed"
    );
}

// One test function: the checks look at every git process and the CPU time of the whole
// process, so nothing else may run beside them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_deadline_reads_stop_their_engine_work_and_writes_land_or_change_nothing() {
    read_past_the_deadline(EngineKind::Libgit2).await;
    read_past_the_deadline(EngineKind::Shell).await;
    write_under_the_deadline(EngineKind::Libgit2).await;
    write_under_the_deadline(EngineKind::Shell).await;
}
