//! Stash of a workspace: save (with message, with untracked files), list as `git stash list`,
//! apply and drop by index, and the errors.

use bytes::Bytes;
use gitapi_core::{ErrorKind, StashEntry, StashSave};

use super::*;

fn stash_fixture(h: &Harness) -> Fixture {
    h.fixture("stash", |w| {
        w.commit(
            "start",
            &[("a.txt", "a\n"), ("b.txt", "b\n"), ("c.txt", "c\n")],
        );
    })
}

async fn put(h: &Harness, r: &RepoName, w: &WorkspaceName, p: &str, content: &str) {
    h.engine
        .put_file(r, w, &path(p), Bytes::from(content.to_owned()), None)
        .await
        .expect("put_file");
}

fn save(
    h: &Harness,
    w: &WorkspaceName,
    message: Option<&str>,
    include_untracked: bool,
) -> StashSave {
    StashSave {
        workspace: w.clone(),
        message: message.map(str::to_owned),
        include_untracked,
        stasher: h.sig(),
    }
}

/// `git stash list` in the workspace, as stash entries.
fn git_stash_list(h: &Harness, r: &RepoName, w: &WorkspaceName) -> Vec<StashEntry> {
    h.git_ws(r, w, &["stash", "list", "--format=%H %gs"])
        .lines()
        .enumerate()
        .map(|(index, l)| {
            let (o, message) = l.split_once(' ').expect("oid and message");
            StashEntry {
                index,
                oid: oid(o),
                message: message.to_owned(),
            }
        })
        .collect()
}

fn read(h: &Harness, r: &RepoName, w: &WorkspaceName, p: &str) -> Option<Vec<u8>> {
    std::fs::read(h.ws_dir(r, w).join(p)).ok()
}

/// `stash_save` with a message and with git's default message; `stash_list` equals
/// `git stash list`; the workspace is clean afterwards.
pub async fn stash_save_list(factory: Factory) {
    let h = Harness::new(&factory);
    let f = stash_fixture(&h);
    let r = &f.repo;
    let w = WorkspaceName::default_workspace();
    let e = &h.engine;
    put(&h, r, &w, "a.txt", "a unstaged\n").await;
    put(&h, r, &w, "b.txt", "b staged\n").await;
    e.stage(r, &w, &path("b.txt")).await.expect("stage");

    let first = e
        .stash_save(r, save(&h, &w, Some("wip one"), false))
        .await
        .expect("stash_save");
    assert_eq!(first.index, 0);
    assert_eq!(first.message, "On main: wip one");
    assert!(
        h.assert_status_matches_git(r, &w).await.is_empty(),
        "clean after stash"
    );
    assert_eq!(read(&h, r, &w, "a.txt").as_deref(), Some(&b"a\n"[..]));
    assert_eq!(read(&h, r, &w, "b.txt").as_deref(), Some(&b"b\n"[..]));
    // The stash commit holds the index and the work tree as git stash does.
    let s = first.oid.to_string();
    assert_eq!(
        h.git_repo(r, &["show", &format!("{s}:a.txt")]),
        "a unstaged\n"
    );
    assert_eq!(
        h.git_repo(r, &["show", &format!("{s}^2:b.txt")]),
        "b staged\n"
    );
    assert_eq!(h.rev(r, &format!("{s}^1")), h.rev(r, "main"));

    put(&h, r, &w, "c.txt", "c changed\n").await;
    let second = e
        .stash_save(r, save(&h, &w, None, false))
        .await
        .expect("stash_save default");
    assert_eq!(second.index, 0);
    let list = e.stash_list(r, &w).await.expect("stash_list");
    let theirs = git_stash_list(&h, r, &w);
    assert_eq!(list, theirs, "stash_list equals git stash list");
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].oid, first.oid);
    assert_eq!(list[0].oid, second.oid);
    let summary = h.git_repo(r, &["log", "-1", "--format=%s", "main"]);
    let short = h.git_repo(r, &["rev-parse", "--short", "main"]);
    assert_eq!(
        list[0].message,
        format!("WIP on main: {} {}", short.trim(), summary.trim()),
        "git's default stash message"
    );
    h.fsck(r);
}

/// `include_untracked` stashes untracked files too (the third parent), and removes them.
pub async fn stash_include_untracked(factory: Factory) {
    let h = Harness::new(&factory);
    let f = stash_fixture(&h);
    let r = &f.repo;
    let w = WorkspaceName::default_workspace();
    let e = &h.engine;
    put(&h, r, &w, "a.txt", "a changed\n").await;
    put(&h, r, &w, "loose.txt", "loose\n").await;

    let kept = e
        .stash_save(r, save(&h, &w, Some("tracked only"), false))
        .await
        .expect("stash");
    assert!(
        read(&h, r, &w, "loose.txt").is_some(),
        "untracked files stay without the flag"
    );
    assert!(!h.git_repo_ok(
        r,
        &["rev-parse", "--verify", "-q", &format!("{}^3", kept.oid)]
    ));

    put(&h, r, &w, "b.txt", "b changed\n").await;
    let all = e
        .stash_save(r, save(&h, &w, Some("everything"), true))
        .await
        .expect("stash -u");
    assert_eq!(
        read(&h, r, &w, "loose.txt"),
        None,
        "the untracked file is stashed away"
    );
    let third = format!("{}^3", all.oid);
    assert_eq!(
        h.git_repo(r, &["show", &format!("{third}:loose.txt")]),
        "loose\n"
    );
    assert!(h.assert_status_matches_git(r, &w).await.is_empty());
    assert_eq!(
        e.stash_list(r, &w).await.expect("stash_list"),
        git_stash_list(&h, r, &w)
    );
    h.fsck(r);
}

/// `stash_apply` by index keeps the entry; `stash_drop` by index removes exactly that one.
pub async fn stash_apply_drop(factory: Factory) {
    let h = Harness::new(&factory);
    let f = stash_fixture(&h);
    let r = &f.repo;
    let w = WorkspaceName::default_workspace();
    let e = &h.engine;
    put(&h, r, &w, "a.txt", "a one\n").await;
    let older = e
        .stash_save(r, save(&h, &w, Some("older"), false))
        .await
        .expect("stash");
    put(&h, r, &w, "b.txt", "b two\n").await;
    let newer = e
        .stash_save(r, save(&h, &w, Some("newer"), false))
        .await
        .expect("stash");

    e.stash_apply(r, &w, 1)
        .await
        .expect("apply the older entry");
    assert_eq!(read(&h, r, &w, "a.txt").as_deref(), Some(&b"a one\n"[..]));
    assert_eq!(read(&h, r, &w, "b.txt").as_deref(), Some(&b"b\n"[..]));
    let list = e.stash_list(r, &w).await.expect("stash_list");
    assert_eq!(list.len(), 2, "apply keeps the entry");
    h.assert_status_matches_git(r, &w).await;

    e.discard(r, &w, &path("a.txt")).await.expect("discard");
    e.stash_drop(r, &w, 0).await.expect("drop the newer entry");
    let list = e.stash_list(r, &w).await.expect("stash_list");
    assert_eq!(list, git_stash_list(&h, r, &w));
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].oid, older.oid);
    assert_ne!(list[0].oid, newer.oid);

    e.stash_apply(r, &w, 0).await.expect("apply");
    assert_eq!(read(&h, r, &w, "a.txt").as_deref(), Some(&b"a one\n"[..]));
    e.stash_drop(r, &w, 0).await.expect("drop the last entry");
    assert!(e.stash_list(r, &w).await.expect("stash_list").is_empty());
    assert!(git_stash_list(&h, r, &w).is_empty());
    h.fsck(r);
}

/// Two workspaces stashing the same change with the same stasher and time make the same stash
/// commit: both saves succeed and both work trees are clean. As with git, `refs/stash` and its
/// reflog do not change for the second (one entry holds both), and `git stash list` agrees.
pub async fn stash_identical_changes_in_two_workspaces(factory: Factory) {
    let h = Harness::new(&factory);
    let f = stash_fixture(&h);
    let r = &f.repo;
    let e = &h.engine;
    let one = WorkspaceName::default_workspace();
    let two = ws("two");
    e.create_workspace(r, &two, None)
        .await
        .expect("create_workspace");
    put(&h, r, &one, "a.txt", "the same change\n").await;
    put(&h, r, &two, "a.txt", "the same change\n").await;
    let stasher = h.sig();
    let mut req = save(&h, &one, Some("same"), false);
    req.stasher = stasher.clone();
    let first = e.stash_save(r, req.clone()).await.expect("first stash");
    req.workspace = two.clone();
    let second = e.stash_save(r, req).await.expect("second stash");
    assert_eq!(first.oid, second.oid, "the same stash commit");
    assert_eq!(second.index, 0);
    for w in [&one, &two] {
        assert_eq!(read(&h, r, w, "a.txt").as_deref(), Some(&b"a\n"[..]));
    }
    let listed = e.stash_list(r, &one).await.expect("stash_list");
    assert_eq!(listed, git_stash_list(&h, r, &one));
    assert_eq!(listed.len(), 1);
    assert_eq!(second.message, listed[0].message);
}

/// Nothing to stash is `FailedPrecondition`; an index out of range is `NotFound`; an apply
/// that would overwrite local changes is `Conflict` and changes nothing.
pub async fn stash_errors(factory: Factory) {
    let h = Harness::new(&factory);
    let f = stash_fixture(&h);
    let r = &f.repo;
    let w = WorkspaceName::default_workspace();
    let e = &h.engine;
    assert!(e.stash_list(r, &w).await.expect("stash_list").is_empty());
    expect_kind(
        e.stash_save(r, save(&h, &w, Some("nothing"), false)).await,
        ErrorKind::FailedPrecondition,
    );
    put(&h, r, &w, "only-untracked.txt", "u\n").await;
    expect_kind(
        e.stash_save(r, save(&h, &w, Some("untracked only"), false))
            .await,
        ErrorKind::FailedPrecondition,
    );
    expect_kind(e.stash_apply(r, &w, 0).await, ErrorKind::NotFound);
    expect_kind(e.stash_drop(r, &w, 0).await, ErrorKind::NotFound);

    put(&h, r, &w, "a.txt", "stashed a\n").await;
    e.stash_save(r, save(&h, &w, Some("a"), false))
        .await
        .expect("stash");
    expect_kind(e.stash_apply(r, &w, 3).await, ErrorKind::NotFound);
    expect_kind(e.stash_drop(r, &w, 1).await, ErrorKind::NotFound);

    put(&h, r, &w, "a.txt", "local a\n").await;
    let before = h.ws_snapshot(r, &w);
    expect_kind(e.stash_apply(r, &w, 0).await, ErrorKind::Conflict);
    assert_eq!(
        h.ws_snapshot(r, &w),
        before,
        "a conflicting apply changes nothing"
    );
    assert_eq!(e.stash_list(r, &w).await.expect("stash_list").len(), 1);
}
