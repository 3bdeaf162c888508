//! Differential test: random sequences of operations run on both engines against twin
//! repositories; every answer, and the final refs and trees, must be identical.
//!
//! Both engines write objects byte for byte from the same inputs and every signature here has a
//! fixed time, so even the ids of new commits must agree, not just their shapes.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use gitapi_core::{
    CommitFiles, ErrorKind, FastForward, FileAction, FileMode, GitBackend, InitOptions, ListRefs,
    ListTree, LogQuery, Merge, Oid, PageRequest, PickCommit, Rebase, RefKind, RefName, RepoName,
    RepoPath, Reset, ResetMode, ResetTarget, Rev, Signature, StashSave, WorkspaceName,
};
use proptest::prelude::*;

const BRANCHES: &[&str] = &["main", "topic", "fix"];
const PATHS: &[&str] = &["a.txt", "b.txt", "dir/c.txt", "dir/sub/d.txt", "run.sh"];
/// File contents: realistic sizes (libgit2 scores similarity only for files of more than a few
/// bytes), sharing most lines so that moves with edits are scored near git's 50 % threshold.
const TEXTS: &[&str] = &[
    "alpha\nbeta\ngamma\ndelta\nepsilon\nzeta\neta\ntheta\niota\nkappa\n",
    "alpha\nbeta\ngamma\ndelta\nepsilon\nZETA\nETA\nTHETA\nIOTA\nKAPPA\n",
    "alpha\nbeta\ngamma\nDELTA\nepsilon\nzeta\neta\ntheta\niota\nkappa\nlambda\nmu\n",
    "one line only\n",
    "",
];

#[derive(Debug, Clone)]
enum Act {
    Put(usize, usize, bool),
    Delete(usize),
    Move(usize, usize),
    Chmod(usize, bool),
}

#[derive(Debug, Clone)]
enum Op {
    Commit {
        branch: usize,
        acts: Vec<Act>,
    },
    CreateBranch {
        name: usize,
        from: usize,
    },
    DeleteBranch {
        name: usize,
    },
    Merge {
        source: usize,
        target: usize,
        ff: u8,
    },
    CherryPick {
        from: usize,
        back: u8,
        onto: usize,
    },
    Revert {
        branch: usize,
        back: u8,
    },
    Rebase {
        branch: usize,
        onto: usize,
    },
    Reset {
        branch: usize,
        back: u8,
    },
    StashRoundTrip {
        path: usize,
        text: usize,
    },
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        4 => (0..PATHS.len(), 0..TEXTS.len(), any::<bool>()).prop_map(|(p, t, x)| Act::Put(p, t, x)),
        1 => (0..PATHS.len()).prop_map(Act::Delete),
        1 => (0..PATHS.len(), 0..PATHS.len()).prop_map(|(a, b)| Act::Move(a, b)),
        1 => (0..PATHS.len(), any::<bool>()).prop_map(|(p, x)| Act::Chmod(p, x)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let b = 0..BRANCHES.len();
    prop_oneof![
        6 => (b.clone(), prop::collection::vec(act(), 1..4))
            .prop_map(|(branch, acts)| Op::Commit { branch, acts }),
        2 => (b.clone(), b.clone()).prop_map(|(name, from)| Op::CreateBranch { name, from }),
        1 => b.clone().prop_map(|name| Op::DeleteBranch { name }),
        2 => (b.clone(), b.clone(), 0u8..3).prop_map(|(source, target, ff)| Op::Merge { source, target, ff }),
        1 => (b.clone(), 0u8..3, b.clone()).prop_map(|(from, back, onto)| Op::CherryPick { from, back, onto }),
        1 => (b.clone(), 0u8..2).prop_map(|(branch, back)| Op::Revert { branch, back }),
        1 => (b.clone(), b.clone()).prop_map(|(branch, onto)| Op::Rebase { branch, onto }),
        1 => (b.clone(), 1u8..3).prop_map(|(branch, back)| Op::Reset { branch, back }),
        1 => (0..PATHS.len(), 0..TEXTS.len()).prop_map(|(path, text)| Op::StashRoundTrip { path, text }),
    ]
}

fn branch(i: usize) -> RefName {
    RefName::branch(BRANCHES[i]).expect("valid branch")
}

fn path(i: usize) -> RepoPath {
    RepoPath::new(PATHS[i]).expect("valid path")
}

/// A fixed clock: the n-th signature of a run has the same time on both engines.
fn sig(n: u64) -> Signature {
    Signature::new(
        "Diff Tester",
        "diff@example.com",
        1_700_000_000 + n as i64 * 60,
        0,
    )
    .expect("valid signature")
}

fn actions(acts: &[Act]) -> Vec<FileAction> {
    acts.iter()
        .map(|a| match a {
            Act::Put(p, t, x) => FileAction::Put {
                path: path(*p),
                content: Bytes::from_static(TEXTS[*t].as_bytes()),
                mode: x.then_some(FileMode::Executable),
            },
            Act::Delete(p) => FileAction::Delete { path: path(*p) },
            Act::Move(a, b) => FileAction::Move {
                from: path(*a),
                to: path(*b),
            },
            Act::Chmod(p, x) => FileAction::Chmod {
                path: path(*p),
                executable: *x,
            },
        })
        .collect()
}

/// An answer reduced to what both engines must agree on: the value as JSON, or the error kind.
fn outcome<T: serde::Serialize>(r: gitapi_core::Result<T>) -> Result<serde_json::Value, ErrorKind> {
    r.map(|v| serde_json::to_value(v).expect("answers serialise"))
        .map_err(|e| e.kind())
}

async fn run(
    e: &dyn GitBackend,
    repo: &RepoName,
    op: &Op,
    n: u64,
) -> Result<serde_json::Value, ErrorKind> {
    let rev_back =
        |b: usize, back: u8| Rev::new(format!("{}~{back}", branch(b).as_str())).expect("valid rev");
    match op {
        Op::Commit { branch: b, acts } => outcome(
            e.commit_files(
                repo,
                CommitFiles {
                    branch: branch(*b),
                    expected_tip: None,
                    start_point: None,
                    actions: actions(acts),
                    message: format!("change {n}"),
                    author: sig(n),
                    committer: None,
                    signing: Default::default(),
                    allow_empty: false,
                },
            )
            .await,
        ),
        Op::CreateBranch { name, from } => outcome(
            e.create_branch(repo, &branch(*name), &Rev::from(&branch(*from)))
                .await,
        ),
        Op::DeleteBranch { name } => outcome(e.delete_ref(repo, &branch(*name), None).await),
        Op::Merge { source, target, ff } => outcome(
            e.merge(
                repo,
                Merge {
                    source: Rev::from(&branch(*source)),
                    target: branch(*target),
                    expected_tip: None,
                    fast_forward: [FastForward::Ff, FastForward::NoFf, FastForward::FfOnly]
                        [*ff as usize],
                    message: None,
                    committer: sig(n),
                },
            )
            .await,
        ),
        Op::CherryPick { from, back, onto } => outcome(
            e.cherry_pick(
                repo,
                PickCommit {
                    commit: rev_back(*from, *back),
                    branch: branch(*onto),
                    expected_tip: None,
                    mainline: None,
                    committer: sig(n),
                },
            )
            .await,
        ),
        Op::Revert { branch: b, back } => outcome(
            e.revert(
                repo,
                PickCommit {
                    commit: rev_back(*b, *back),
                    branch: branch(*b),
                    expected_tip: None,
                    mainline: None,
                    committer: sig(n),
                },
            )
            .await,
        ),
        Op::Rebase { branch: b, onto } => outcome(
            e.rebase(
                repo,
                Rebase {
                    branch: branch(*b),
                    expected_tip: None,
                    onto: Rev::from(&branch(*onto)),
                    upstream: None,
                    plan: None,
                    committer: sig(n),
                },
            )
            .await,
        ),
        Op::Reset { branch: b, back } => outcome(
            e.reset(
                repo,
                Reset {
                    target: ResetTarget::Branch {
                        branch: branch(*b),
                        expected_tip: None,
                    },
                    to: rev_back(*b, *back),
                    mode: ResetMode::Soft,
                },
            )
            .await,
        ),
        Op::StashRoundTrip { path: p, text } => {
            // The default workspace follows main: bring it up to date, change a file, stash,
            // and apply the stash back.
            let ws = WorkspaceName::default_workspace();
            let _ = e
                .reset(
                    repo,
                    Reset {
                        target: ResetTarget::Workspace {
                            workspace: ws.clone(),
                        },
                        to: Rev::from(&branch(0)),
                        mode: ResetMode::Hard,
                    },
                )
                .await
                .map_err(|e| e.kind());
            let put = outcome(
                e.put_file(
                    repo,
                    &ws,
                    &path(*p),
                    Bytes::from_static(TEXTS[*text].as_bytes()),
                    None,
                )
                .await,
            );
            // The stash commit's id is left out: libgit2 and git word the messages of a
            // stash's internal index and untracked-files commits differently. What a user
            // sees (the entry's message and position, what applying it restores) is compared.
            let saved = outcome(
                e.stash_save(
                    repo,
                    StashSave {
                        workspace: ws.clone(),
                        message: Some(format!("stash {n}")),
                        include_untracked: true,
                        stasher: sig(n),
                    },
                )
                .await
                .map(|mut entry| {
                    entry.oid = Oid::ZERO;
                    entry
                }),
            );
            let applied = outcome(e.stash_apply(repo, &ws, 0).await);
            let status = outcome(e.status(repo, &ws).await);
            Ok(serde_json::json!(
                [put, saved, applied, status]
                    .iter()
                    .map(|r| match r {
                        Ok(v) => v.clone(),
                        Err(k) => serde_json::json!({"error": k}),
                    })
                    .collect::<Vec<_>>()
            ))
        }
    }
}

/// Refs, and for every branch its log and full tree listing.
async fn snapshot(e: &dyn GitBackend, repo: &RepoName) -> serde_json::Value {
    let refs = e
        .list_refs(
            repo,
            ListRefs {
                prefix: None,
                kind: RefKind::All,
                page: PageRequest {
                    limit: 1000,
                    cursor: None,
                },
            },
        )
        .await
        .expect("list refs");
    // refs/stash names an engine-internal commit (see StashRoundTrip); every other ref counts.
    let items: Vec<_> = refs
        .items
        .iter()
        .filter(|r| r.name.as_str() != "refs/stash")
        .collect();
    let mut out = vec![serde_json::to_value(&items).expect("serialises")];
    for r in refs.items.iter().filter(|r| r.name.is_branch()) {
        let rev = Rev::from(&r.name);
        let log: Vec<_> = e
            .log(repo, LogQuery::of(rev.clone()))
            .await
            .expect("log")
            .try_collect()
            .await
            .expect("log");
        let tree = e
            .list_tree(
                repo,
                ListTree {
                    rev,
                    path: None,
                    recursive: true,
                },
            )
            .await
            .expect("tree");
        out.push(serde_json::json!({"log": log, "tree": tree}));
    }
    serde_json::Value::Array(out)
}

struct Twin {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    engines: [Arc<dyn GitBackend>; 2],
    repo: RepoName,
}

async fn twin() -> Twin {
    let (a, b) = (
        tempfile::tempdir().expect("temp"),
        tempfile::tempdir().expect("temp"),
    );
    let engines: [Arc<dyn GitBackend>; 2] = [
        Arc::new(gitapi_git2::Git2Backend::new(gitapi_git2::Config::new(
            a.path(),
        ))),
        Arc::new(gitapi_shell::ShellBackend::new(gitapi_shell::Config::new(
            b.path(),
        ))),
    ];
    let repo = RepoName::new("twin").expect("valid name");
    for e in &engines {
        e.init_repo(&repo, InitOptions::default())
            .await
            .expect("init");
        // Every branch starts from one root commit, the same on both sides.
        e.commit_files(
            &repo,
            CommitFiles {
                branch: branch(0),
                expected_tip: Some(Oid::ZERO),
                start_point: None,
                actions: actions(&[Act::Put(0, 0, false), Act::Put(2, 2, false)]),
                message: "root".into(),
                author: sig(0),
                committer: None,
                signing: Default::default(),
                allow_empty: false,
            },
        )
        .await
        .expect("root commit");
    }
    Twin {
        _dirs: (a, b),
        engines,
        repo,
    }
}

fn check(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let t = twin().await;
        for (i, op) in ops.iter().enumerate() {
            let n = i as u64 + 1;
            let left = run(t.engines[0].as_ref(), &t.repo, op, n).await;
            let right = run(t.engines[1].as_ref(), &t.repo, op, n).await;
            prop_assert_eq!(left, right, "step {} {:?}", i, op);
        }
        let left = snapshot(t.engines[0].as_ref(), &t.repo).await;
        let right = snapshot(t.engines[1].as_ref(), &t.repo).await;
        prop_assert_eq!(left, right, "final refs, logs and trees");
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn engines_agree_on_random_histories(ops in prop::collection::vec(op(), 1..14)) {
        check(ops)?;
    }
}

/// One long fixed sequence that touches every operation, so each run covers them all whatever
/// the random cases draw.
#[test]
fn engines_agree_on_a_fixed_history() {
    let ops = vec![
        Op::CreateBranch { name: 1, from: 0 },
        Op::Commit {
            branch: 1,
            acts: vec![Act::Put(1, 1, false), Act::Put(4, 3, true)],
        },
        Op::Commit {
            branch: 0,
            acts: vec![Act::Put(0, 3, false)],
        },
        Op::Merge {
            source: 1,
            target: 0,
            ff: 0,
        },
        Op::CreateBranch { name: 2, from: 0 },
        Op::Commit {
            branch: 2,
            acts: vec![Act::Move(2, 3), Act::Chmod(4, false)],
        },
        Op::CherryPick {
            from: 2,
            back: 0,
            onto: 1,
        },
        Op::Revert { branch: 0, back: 0 },
        Op::Rebase { branch: 2, onto: 0 },
        Op::Merge {
            source: 2,
            target: 1,
            ff: 1,
        },
        Op::Merge {
            source: 0,
            target: 2,
            ff: 2,
        },
        Op::Reset { branch: 1, back: 1 },
        Op::StashRoundTrip { path: 0, text: 1 },
        Op::Commit {
            branch: 0,
            acts: vec![Act::Delete(1), Act::Put(3, 1, false)],
        },
        Op::DeleteBranch { name: 2 },
    ];
    check(ops).expect("engines agree");
}

/// Regression, found by the random test: cherry-picking a root commit onto a branch that added
/// the same file with another mode. git reports an add/add conflict (checked by hand with
/// `git cherry-pick`); libgit2 merged it silently and called the pick empty.
#[test]
fn add_add_with_different_modes_conflicts_on_both_engines() {
    check(vec![
        Op::Commit {
            branch: 0,
            acts: vec![Act::Put(2, 2, true)],
        },
        Op::CherryPick {
            from: 0,
            back: 1,
            onto: 0,
        },
    ])
    .expect("engines agree");
}

/// Regression, found by the random test: both sides add a file with different modes and
/// different content; git reports add/add whatever the content (checked with
/// `git merge-tree --write-tree`), libgit2 merged it.
#[test]
fn add_add_with_different_modes_and_content_conflicts_on_both_engines() {
    check(vec![
        Op::Commit {
            branch: 0,
            acts: vec![Act::Put(0, 4, true)],
        },
        Op::CherryPick {
            from: 0,
            back: 1,
            onto: 0,
        },
    ])
    .expect("engines agree");
}
