//! The index of a workspace: status like `git status --porcelain=v2`, stage, unstage,
//! stage_patch (a patch made by `git diff`) and discard.

use bytes::Bytes;
use gitapi_core::{ErrorKind, FileMode};

use super::*;

fn index_fixture(h: &Harness) -> Fixture {
    h.fixture("idx", |w| {
        w.commit(
            "start",
            &[
                ("a.txt", "a\n"),
                ("b.txt", "b\n"),
                ("c.txt", "c\n"),
                ("d.txt", "d\n"),
                ("e.txt", "e\n"),
                ("dir/g.txt", "g\n"),
                ("exec.sh", "#!/bin/sh\n"),
                ("link", "x"),
                (
                    "long.txt",
                    &(1..=30).map(|i| format!("line {i}\n")).collect::<String>(),
                ),
            ],
        );
        w.set_executable("exec.sh", true);
        w.symlink("link", "a.txt");
        w.commit_all("modes");
    })
}

fn entry(p: &str, staged: FileStatus, unstaged: FileStatus) -> StatusEntry {
    StatusEntry {
        path: p.to_owned(),
        staged,
        unstaged,
        untracked: false,
    }
}

fn untracked(p: &str) -> StatusEntry {
    StatusEntry {
        path: p.to_owned(),
        staged: FileStatus::Unmodified,
        unstaged: FileStatus::Unmodified,
        untracked: true,
    }
}

async fn put(h: &Harness, r: &RepoName, w: &WorkspaceName, p: &str, content: &str) {
    h.engine
        .put_file(r, w, &path(p), Bytes::from(content.to_owned()), None)
        .await
        .expect("put_file");
}

/// The index as `git ls-files -s` prints it, to prove it did not change.
fn ls_files(h: &Harness, r: &RepoName, w: &WorkspaceName) -> String {
    h.git_ws(r, w, &["ls-files", "-s"])
}

/// Every kind of change at once; `status` equals `git status --porcelain=v2` and the expected
/// entries.
pub async fn index_status_matches_porcelain(factory: Factory) {
    use FileStatus::{Added, Deleted, Modified, TypeChanged, Unmodified};
    let h = Harness::new(&factory);
    let f = index_fixture(&h);
    let r = &f.repo;
    let w = WorkspaceName::default_workspace();
    let e = &h.engine;
    put(&h, r, &w, "a.txt", "a unstaged\n").await;
    put(&h, r, &w, "b.txt", "b staged\n").await;
    e.stage(r, &w, &path("b.txt")).await.expect("stage");
    put(&h, r, &w, "c.txt", "c staged\n").await;
    e.stage(r, &w, &path("c.txt")).await.expect("stage");
    put(&h, r, &w, "c.txt", "c staged then changed\n").await;
    e.delete_file(r, &w, &path("d.txt")).await.expect("delete");
    e.delete_file(r, &w, &path("e.txt")).await.expect("delete");
    e.stage(r, &w, &path("e.txt"))
        .await
        .expect("stage a deletion");
    put(&h, r, &w, "new.txt", "new\n").await;
    e.stage(r, &w, &path("new.txt"))
        .await
        .expect("stage an addition");
    put(&h, r, &w, "new2.txt", "new2\n").await;
    e.stage(r, &w, &path("new2.txt"))
        .await
        .expect("stage an addition");
    put(&h, r, &w, "new2.txt", "new2 changed\n").await;
    put(&h, r, &w, "untracked.txt", "u\n").await;
    put(&h, r, &w, "dir/untracked.txt", "u\n").await;
    e.put_file(
        r,
        &w,
        &path("exec.sh"),
        Bytes::from_static(b"#!/bin/sh\n"),
        Some(FileMode::Regular),
    )
    .await
    .expect("mode change");
    e.put_file(
        r,
        &w,
        &path("link"),
        Bytes::from_static(b"now a file\n"),
        Some(FileMode::Regular),
    )
    .await
    .expect("type change");

    let st = h.assert_status_matches_git(r, &w).await;
    assert_eq!(
        st,
        vec![
            entry("a.txt", Unmodified, Modified),
            entry("b.txt", Modified, Unmodified),
            entry("c.txt", Modified, Modified),
            entry("d.txt", Unmodified, Deleted),
            untracked("dir/untracked.txt"),
            entry("e.txt", Deleted, Unmodified),
            entry("exec.sh", Unmodified, Modified),
            entry("link", Unmodified, TypeChanged),
            entry("new.txt", Added, Unmodified),
            entry("new2.txt", Added, Modified),
            untracked("untracked.txt"),
        ]
    );
}

/// `stage` and `unstage` of changes, additions and deletions, status compared with git after
/// every step.
pub async fn index_stage_unstage(factory: Factory) {
    use FileStatus::{Added, Deleted, Modified, Unmodified};
    let h = Harness::new(&factory);
    let f = index_fixture(&h);
    let r = &f.repo;
    let w = WorkspaceName::default_workspace();
    let e = &h.engine;
    put(&h, r, &w, "a.txt", "a changed\n").await;
    put(&h, r, &w, "fresh.txt", "fresh\n").await;
    e.delete_file(r, &w, &path("b.txt")).await.expect("delete");

    for p in ["a.txt", "fresh.txt", "b.txt"] {
        e.stage(r, &w, &path(p)).await.expect("stage");
    }
    let st = h.assert_status_matches_git(r, &w).await;
    assert_eq!(
        st,
        vec![
            entry("a.txt", Modified, Unmodified),
            entry("b.txt", Deleted, Unmodified),
            entry("fresh.txt", Added, Unmodified),
        ]
    );
    assert_eq!(h.git_ws(r, &w, &["show", ":a.txt"]), "a changed\n");

    for p in ["a.txt", "fresh.txt", "b.txt"] {
        e.unstage(r, &w, &path(p)).await.expect("unstage");
    }
    let st = h.assert_status_matches_git(r, &w).await;
    assert_eq!(
        st,
        vec![
            entry("a.txt", Unmodified, Modified),
            entry("b.txt", Unmodified, Deleted),
            untracked("fresh.txt"),
        ]
    );
    assert_eq!(h.git_ws(r, &w, &["show", ":a.txt"]), "a\n");
    assert_eq!(
        std::fs::read(h.ws_dir(r, &w).join("a.txt")).expect("a.txt"),
        b"a changed\n",
        "unstage leaves the work tree"
    );

    // Staging a path with no change is a no-op; unknown paths are NotFound.
    e.stage(r, &w, &path("c.txt"))
        .await
        .expect("stage an unchanged file");
    let index = ls_files(&h, r, &w);
    expect_kind(
        e.stage(r, &w, &path("absent.txt")).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        e.unstage(r, &w, &path("absent.txt")).await,
        ErrorKind::NotFound,
    );
    assert_eq!(ls_files(&h, r, &w), index);
    h.assert_status_matches_git(r, &w).await;
}

/// `stage_patch` applies a patch made by `git diff` to the index only.
pub async fn index_stage_patch(factory: Factory) {
    use FileStatus::{Modified, Unmodified};
    let h = Harness::new(&factory);
    let f = index_fixture(&h);
    let r = &f.repo;
    let w = WorkspaceName::default_workspace();
    let e = &h.engine;
    let lines = |changed: &[usize]| -> String {
        (1..=30)
            .map(|i| {
                if changed.contains(&i) {
                    format!("line {i} changed\n")
                } else {
                    format!("line {i}\n")
                }
            })
            .collect()
    };
    // The intermediate version (first hunk only) gives the patch; the work tree gets both.
    put(&h, r, &w, "long.txt", &lines(&[3])).await;
    put(&h, r, &w, "a.txt", "a for the patch\n").await;
    let patch = h.git_ws(r, &w, &["diff"]);
    assert!(patch.contains("long.txt") && patch.contains("a.txt"));
    put(&h, r, &w, "long.txt", &lines(&[3, 25])).await;

    e.stage_patch(r, &w, &patch).await.expect("stage_patch");
    assert_eq!(h.git_ws(r, &w, &["show", ":long.txt"]), lines(&[3]));
    assert_eq!(h.git_ws(r, &w, &["show", ":a.txt"]), "a for the patch\n");
    assert_eq!(
        std::fs::read_to_string(h.ws_dir(r, &w).join("long.txt")).expect("long.txt"),
        lines(&[3, 25]),
        "the work tree is untouched"
    );
    let st = h.assert_status_matches_git(r, &w).await;
    assert_eq!(
        st,
        vec![
            entry("a.txt", Modified, Unmodified),
            entry("long.txt", Modified, Modified),
        ]
    );
    assert_eq!(
        h.git_ws(r, &w, &["diff", "--cached"]),
        patch,
        "the index holds the patch"
    );

    // The same patch again does not apply; text that is no patch is refused; nothing changes.
    let index = ls_files(&h, r, &w);
    expect_kind(e.stage_patch(r, &w, &patch).await, ErrorKind::Conflict);
    expect_kind(
        e.stage_patch(r, &w, "this is not a patch\n").await,
        ErrorKind::InvalidArgument,
    );
    assert_eq!(ls_files(&h, r, &w), index);
}

/// `discard` puts the work tree back to the index (`git checkout -- path`).
pub async fn index_discard(factory: Factory) {
    use FileStatus::{Modified, Unmodified};
    let h = Harness::new(&factory);
    let f = index_fixture(&h);
    let r = &f.repo;
    let w = WorkspaceName::default_workspace();
    let e = &h.engine;
    let dir = h.ws_dir(r, &w);
    put(&h, r, &w, "a.txt", "a changed\n").await;
    put(&h, r, &w, "b.txt", "b staged\n").await;
    e.stage(r, &w, &path("b.txt")).await.expect("stage");
    put(&h, r, &w, "b.txt", "b staged then changed\n").await;
    e.delete_file(r, &w, &path("c.txt")).await.expect("delete");
    e.put_file(
        r,
        &w,
        &path("exec.sh"),
        Bytes::from_static(b"#!/bin/sh\n"),
        Some(FileMode::Regular),
    )
    .await
    .expect("mode change");
    put(&h, r, &w, "untracked.txt", "u\n").await;

    for p in ["a.txt", "b.txt", "c.txt", "exec.sh"] {
        e.discard(r, &w, &path(p)).await.expect("discard");
    }
    assert_eq!(std::fs::read(dir.join("a.txt")).expect("a.txt"), b"a\n");
    assert_eq!(
        std::fs::read(dir.join("b.txt")).expect("b.txt"),
        b"b staged\n"
    );
    assert_eq!(
        std::fs::read(dir.join("c.txt")).expect("c.txt restored"),
        b"c\n"
    );
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("exec.sh"))
            .expect("exec.sh")
            .permissions()
            .mode();
        assert_ne!(mode & 0o100, 0, "the executable bit is back");
    }
    let st = h.assert_status_matches_git(r, &w).await;
    assert_eq!(
        st,
        vec![
            entry("b.txt", Modified, Unmodified),
            untracked("untracked.txt")
        ]
    );

    expect_kind(
        e.discard(r, &w, &path("untracked.txt")).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        e.discard(r, &w, &path("absent.txt")).await,
        ErrorKind::NotFound,
    );
    assert!(
        dir.join("untracked.txt").exists(),
        "an untracked file is not touched"
    );
}
