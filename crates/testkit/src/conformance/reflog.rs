//! Reflog entries: every operation that moves a ref leaves the message git writes for the same
//! operation (`gitapi_core::reflog`), under gitapi's reflog identity, whichever engine served.
//! Read back with `git reflog show --format='%gs'` and `'%gn <%ge>'`.

use bytes::Bytes;
use gitapi_core::{
    Amend, CommitFiles, CommitIndex, CreateTag, FastForward, FileAction, Merge, PickCommit, Rebase,
    RefUpdate, Reset, ResetMode, ResetTarget, Signing, StashSave, TagAnnotation,
};

use super::*;

/// The identity of every entry but a stash's (`gitapi_core::reflog::IDENTITY`).
const GITAPI: &str = "gitapi <gitapi@localhost>";

/// `main: c1 - c2`, `base` at c1, `feature: c1 - f1`, `topic: c1 - t1`.
fn reflog_fixture(h: &Harness, name: &str) -> Fixture {
    h.fixture(name, |w| {
        w.commit("c1", &[("a.txt", "a\n")]);
        w.branch("base");
        w.checkout_new("feature");
        w.commit("f1", &[("f.txt", "f\n")]);
        w.checkout("main");
        w.checkout_new("topic");
        w.commit("t1", &[("t.txt", "t\n")]);
        w.checkout("main");
        w.commit("c2", &[("m.txt", "m\n")]);
    })
}

/// The newest reflog entry of `refname`: (message, `name <email>`).
fn last_entry(h: &Harness, r: &RepoName, refname: &str) -> (String, String) {
    let out = h.git_repo(
        r,
        &[
            "reflog",
            "show",
            "-n1",
            "--format=%gs%x00%gn <%ge>",
            refname,
        ],
    );
    let line = out.lines().next().unwrap_or_default();
    let (msg, who) = line.split_once('\0').unwrap_or((line, ""));
    (msg.to_owned(), who.to_owned())
}

/// The newest line of `refname`'s reflog file, as (message, `name <email>`): for an annotated
/// tag, whose entries `git reflog show` skips (it walks commits, and the entry names a tag
/// object).
fn last_entry_in_file(h: &Harness, r: &RepoName, refname: &str) -> (String, String) {
    let text = std::fs::read_to_string(h.repo_dir(r).join("logs").join(refname))
        .unwrap_or_else(|e| panic!("the reflog of {refname}: {e}"));
    let line = text.lines().last().unwrap_or_default();
    let (head, msg) = line.split_once('\t').unwrap_or((line, ""));
    // `<old> <new> <name> <<email>> <time> <tz>`: the identity is what lies between.
    let who: Vec<&str> = head.split(' ').collect();
    let who = who
        .get(2..who.len().saturating_sub(2))
        .unwrap_or_default()
        .join(" ");
    (msg.to_owned(), who)
}

#[track_caller]
fn assert_last(h: &Harness, r: &RepoName, refname: &str, message: &str) {
    assert_eq!(
        last_entry(h, r, refname),
        (message.to_owned(), GITAPI.to_owned()),
        "newest reflog entry of {refname}"
    );
}

fn put(p: &str, content: &str) -> FileAction {
    FileAction::Put {
        path: path(p),
        content: Bytes::from(content.to_owned()),
        mode: None,
    }
}

fn files(h: &Harness, branch_name: &str, message: &str, expected: Option<Oid>) -> CommitFiles {
    CommitFiles {
        branch: branch(branch_name),
        expected_tip: expected,
        start_point: None,
        actions: vec![put(&format!("{branch_name}.txt"), message)],
        message: message.to_owned(),
        author: h.sig(),
        committer: None,
        signing: Signing::None,
        allow_empty: false,
    }
}

/// Commits, amend, cherry-pick, revert, reset, branch create and rename, tags and a batch
/// update on a branch: each newest entry is git's message for the operation.
pub async fn reflog_messages_of_branch_writes(factory: Factory) {
    let h = Harness::new(&factory);
    let f = reflog_fixture(&h, "reflog");
    let r = &f.repo;
    let e = &h.engine;

    // A commit from actions; whitespace is normalised and only the first line is kept.
    e.commit_files(r, files(&h, "main", "add  main\n\nthe body\n", None))
        .await
        .expect("commit_files");
    assert_last(&h, r, "refs/heads/main", "commit: add main");

    // A root commit on a new branch.
    e.commit_files(r, files(&h, "fresh", "first\n", Some(Oid::ZERO)))
        .await
        .expect("commit_files on a new branch");
    assert_last(&h, r, "refs/heads/fresh", "commit (initial): first");

    e.amend(
        r,
        Amend {
            branch: branch("main"),
            expected_tip: None,
            message: Some("amended subject\n\nbody\n".to_owned()),
            author: None,
            committer: h.sig(),
            actions: Vec::new(),
        },
    )
    .await
    .expect("amend");
    assert_last(&h, r, "refs/heads/main", "commit (amend): amended subject");

    let pick = |commit: &str| PickCommit {
        commit: rev(commit),
        branch: branch("main"),
        expected_tip: None,
        mainline: None,
        committer: h.sig(),
    };
    e.cherry_pick(r, pick("feature"))
        .await
        .expect("cherry_pick");
    assert_last(&h, r, "refs/heads/main", "cherry-pick: f1");
    e.revert(r, pick("main")).await.expect("revert");
    assert_last(&h, r, "refs/heads/main", "revert: Revert \"f1\"");

    e.reset(
        r,
        Reset {
            target: ResetTarget::Branch {
                branch: branch("main"),
                expected_tip: None,
            },
            to: rev("main~2"),
            mode: ResetMode::Hard,
        },
    )
    .await
    .expect("reset a branch");
    assert_last(&h, r, "refs/heads/main", "reset: moving to main~2");

    e.create_branch(r, &branch("made"), &rev("main~1"))
        .await
        .expect("create_branch");
    assert_last(&h, r, "refs/heads/made", "branch: Created from main~1");
    e.rename_branch(r, &branch("made"), &branch("renamed/made"))
        .await
        .expect("rename_branch");
    assert_last(
        &h,
        r,
        "refs/heads/renamed/made",
        "Branch: renamed refs/heads/made to refs/heads/renamed/made",
    );
    // The renamed branch's log continues the old one's.
    let all = h.git_repo(
        r,
        &["reflog", "show", "--format=%gs", "refs/heads/renamed/made"],
    );
    assert_eq!(
        all.lines().collect::<Vec<_>>(),
        [
            "Branch: renamed refs/heads/made to refs/heads/renamed/made",
            "branch: Created from main~1",
        ]
    );

    let light = e
        .create_tag(
            r,
            CreateTag {
                name: tag("light"),
                target: rev("main"),
                annotation: None,
            },
        )
        .await
        .expect("create a lightweight tag");
    assert_last(
        &h,
        r,
        "refs/tags/light",
        &format!("tag: tagging {}", light.target),
    );
    let annotated = e
        .create_tag(
            r,
            CreateTag {
                name: tag("annotated"),
                target: rev("main"),
                annotation: Some(TagAnnotation {
                    tagger: h.sig(),
                    message: "release\n".to_owned(),
                }),
            },
        )
        .await
        .expect("create an annotated tag");
    assert_eq!(
        last_entry_in_file(&h, r, "refs/tags/annotated"),
        (
            format!("tag: tagging {}", annotated.target),
            GITAPI.to_owned()
        )
    );

    let c1 = h.rev(r, "base");
    e.update_refs(
        r,
        vec![RefUpdate {
            name: branch("updated"),
            new: c1,
            expected_old: Some(Oid::ZERO),
        }],
    )
    .await
    .expect("update_refs");
    assert_last(&h, r, "refs/heads/updated", "update-ref");
    h.fsck(r);
}

/// Fast-forward and merge commit, and a rebase.
pub async fn reflog_messages_of_merge_and_rebase(factory: Factory) {
    let h = Harness::new(&factory);
    let f = reflog_fixture(&h, "reflog-merge");
    let r = &f.repo;
    let e = &h.engine;
    let merge = |source: &str, target: &str, ff: FastForward| Merge {
        source: rev(source),
        target: branch(target),
        expected_tip: None,
        fast_forward: ff,
        message: None,
        committer: h.sig(),
    };
    e.merge(r, merge("feature", "base", FastForward::Ff))
        .await
        .expect("fast-forward");
    assert_last(&h, r, "refs/heads/base", "merge feature: Fast-forward");
    e.merge(r, merge("feature", "main", FastForward::NoFf))
        .await
        .expect("merge commit");
    assert_last(
        &h,
        r,
        "refs/heads/main",
        "merge feature: Merge made by the 'ort' strategy.",
    );

    let onto = h.rev(r, "main");
    e.rebase(
        r,
        Rebase {
            branch: branch("topic"),
            expected_tip: None,
            onto: rev("main"),
            upstream: None,
            plan: None,
            committer: h.sig(),
        },
    )
    .await
    .expect("rebase");
    assert_last(
        &h,
        r,
        "refs/heads/topic",
        &format!("rebase (finish): refs/heads/topic onto {onto}"),
    );
    h.fsck(r);
}

/// A workspace's commit, amend and reset move its branch with git's messages; a stash entry
/// is `On <branch>: <message>` under the stasher, as `git stash` records it.
pub async fn reflog_messages_of_workspace_writes(factory: Factory) {
    let h = Harness::new(&factory);
    let f = reflog_fixture(&h, "reflog-ws");
    let r = &f.repo;
    let e = &h.engine;
    let w = WorkspaceName::default_workspace();
    let write = |p: &'static str, content: &'static str| {
        let w = w.clone();
        async move {
            e.put_file(r, &w, &path(p), Bytes::from(content), None)
                .await
                .expect("put_file");
            e.stage(r, &w, &path(p)).await.expect("stage");
        }
    };
    let commit = |message: &str, amend: bool| CommitIndex {
        workspace: w.clone(),
        message: message.to_owned(),
        author: h.sig(),
        committer: None,
        signing: Signing::None,
        allow_empty: false,
        amend,
    };

    write("w.txt", "w\n").await;
    e.commit_index(r, commit("from  the index\nmore\n", false))
        .await
        .expect("commit_index");
    assert_last(&h, r, "refs/heads/main", "commit: from the index");
    write("w.txt", "w amended\n").await;
    e.commit_index(r, commit("amended in the workspace\n", true))
        .await
        .expect("commit_index --amend");
    assert_last(
        &h,
        r,
        "refs/heads/main",
        "commit (amend): amended in the workspace",
    );
    e.reset(
        r,
        Reset {
            target: ResetTarget::Workspace {
                workspace: w.clone(),
            },
            to: rev("main~1"),
            mode: ResetMode::Hard,
        },
    )
    .await
    .expect("reset the workspace");
    assert_last(&h, r, "refs/heads/main", "reset: moving to main~1");

    let stasher = h.sig();
    e.put_file(r, &w, &path("a.txt"), Bytes::from("changed\n"), None)
        .await
        .expect("put_file");
    e.stash_save(
        r,
        StashSave {
            workspace: w.clone(),
            message: Some("wip\n  one".to_owned()),
            include_untracked: false,
            stasher: stasher.clone(),
        },
    )
    .await
    .expect("stash_save");
    assert_eq!(
        last_entry(&h, r, "refs/stash"),
        (
            "On main: wip one".to_owned(),
            format!("{} <{}>", stasher.name, stasher.email)
        )
    );
    h.fsck(r);
}
