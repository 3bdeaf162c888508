//! Workspaces: created on first use, named ones created, listed and removed, isolated from
//! each other, committed from, and pinned to their base when the branch moves underneath.

use bytes::Bytes;
use gitapi_core::{CommitIndex, ErrorKind, Reset, ResetMode, ResetTarget, Signing, WorkspaceInfo};

use super::*;

fn simple_fixture(h: &Harness) -> Fixture {
    h.fixture("ws", |w| {
        w.commit(
            "start",
            &[("a.txt", "a\n"), ("b.txt", "b\n"), ("c.txt", "c\n")],
        );
        w.checkout_new("feature");
        w.commit("feature", &[("f.txt", "f\n")]);
        w.checkout("main");
    })
}

pub(crate) fn commit_index(h: &Harness, w: &WorkspaceName) -> CommitIndex {
    CommitIndex {
        workspace: w.clone(),
        message: "from the index".to_owned(),
        author: h.sig(),
        committer: None,
        signing: Signing::None,
        allow_empty: false,
        amend: false,
    }
}

/// Workspace directories registered with `git worktree list` in the repository.
fn git_worktrees(h: &Harness, repo: &RepoName) -> BTreeSet<PathBuf> {
    h.git_repo(repo, &["worktree", "list", "--porcelain"])
        .lines()
        .filter_map(|l| l.strip_prefix("worktree "))
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| PathBuf::from(p)))
        .collect()
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).expect("the workspace directory exists")
}

/// The default workspace exists on first use: a linked work tree of the default branch at its
/// tip (or unborn, then the first commit from it is a root commit).
pub async fn workspace_default_on_first_use(factory: Factory) {
    let h = Harness::new(&factory);
    let f = simple_fixture(&h);
    let r = &f.repo;
    let w = WorkspaceName::default_workspace();
    assert!(
        h.engine.status(r, &w).await.expect("status").is_empty(),
        "a clean checkout"
    );
    let info = h.engine.workspace(r, &w).await.expect("workspace");
    assert_eq!(
        info,
        WorkspaceInfo {
            name: w.clone(),
            branch: branch("main"),
            base: Some(h.rev(r, "main")),
        }
    );
    let dir = h.ws_dir(r, &w);
    assert!(
        git_worktrees(&h, r).contains(&canonical(&dir)),
        "a linked work tree of the repository"
    );
    assert!(
        h.git_status(r, &w).is_empty(),
        "git status agrees it is clean"
    );
    assert_eq!(
        std::fs::read(dir.join("a.txt")).expect("checked out"),
        b"a\n"
    );
    let listed = h.engine.list_workspaces(r).await.expect("list_workspaces");
    assert_eq!(listed, vec![info]);

    // An empty repository: the workspace is on the unborn default branch.
    let empty = h.init("empty").await;
    let info = h
        .engine
        .workspace(&empty, &w)
        .await
        .expect("workspace of an empty repo");
    assert_eq!(info.base, None);
    assert_eq!(info.branch, branch("main"));
    h.engine
        .put_file(
            &empty,
            &w,
            &path("first.txt"),
            Bytes::from_static(b"1\n"),
            None,
        )
        .await
        .expect("put_file");
    h.engine
        .stage(&empty, &w, &path("first.txt"))
        .await
        .expect("stage");
    let c = h
        .engine
        .commit_index(&empty, commit_index(&h, &w))
        .await
        .expect("the first commit from a workspace");
    assert!(c.parents.is_empty());
    assert_eq!(h.rev(&empty, "main"), c.oid);
    assert_eq!(
        h.engine
            .workspace(&empty, &w)
            .await
            .expect("workspace")
            .base,
        Some(c.oid)
    );
    h.fsck(&empty);
}

/// Named workspaces: create on a branch, `AlreadyExists`, `NotFound` for a missing branch,
/// list, remove.
pub async fn workspace_create_list_remove(factory: Factory) {
    let h = Harness::new(&factory);
    let f = simple_fixture(&h);
    let r = &f.repo;
    let feat = ws("feat");
    let info = h
        .engine
        .create_workspace(r, &feat, Some(branch("feature")))
        .await
        .expect("create_workspace");
    assert_eq!(
        info,
        WorkspaceInfo {
            name: feat.clone(),
            branch: branch("feature"),
            base: Some(h.rev(r, "feature")),
        }
    );
    assert_eq!(
        std::fs::read(h.ws_dir(r, &feat).join("f.txt")).expect("feature is checked out"),
        b"f\n"
    );
    let other = ws("other");
    let info2 = h
        .engine
        .create_workspace(r, &other, None)
        .await
        .expect("on the default branch");
    assert_eq!(info2.branch, branch("main"));

    let before = h.disk_snapshot();
    expect_kind(
        h.engine.create_workspace(r, &feat, None).await,
        ErrorKind::AlreadyExists,
    );
    expect_kind(
        h.engine
            .create_workspace(r, &ws("ghost"), Some(branch("nope")))
            .await,
        ErrorKind::NotFound,
    );
    assert_eq!(h.disk_snapshot(), before, "failed creates change nothing");

    let mut listed = h.engine.list_workspaces(r).await.expect("list_workspaces");
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(listed, vec![info.clone(), info2.clone()]);
    let trees = git_worktrees(&h, r);
    assert!(trees.contains(&canonical(&h.ws_dir(r, &feat))));
    assert!(trees.contains(&canonical(&h.ws_dir(r, &other))));

    h.engine
        .remove_workspace(r, &feat)
        .await
        .expect("remove_workspace");
    assert!(!h.ws_dir(r, &feat).exists(), "the work tree is gone");
    let listed = h.engine.list_workspaces(r).await.expect("list_workspaces");
    assert_eq!(listed, vec![info2]);
    assert_eq!(
        git_worktrees(&h, r).len(),
        2,
        "git sees the bare repository and one work tree"
    );
    expect_kind(
        h.engine.remove_workspace(r, &feat).await,
        ErrorKind::NotFound,
    );
    assert_eq!(
        h.rev(r, "feature"),
        info.base.expect("base"),
        "the branch stays"
    );
    h.fsck(r);
}

/// Two workspaces on the same branch do not see each other's work tree or staging.
pub async fn workspace_isolation(factory: Factory) {
    let h = Harness::new(&factory);
    let f = simple_fixture(&h);
    let r = &f.repo;
    let (one, two) = (ws("one"), ws("two"));
    h.engine.create_workspace(r, &one, None).await.expect("one");
    h.engine.create_workspace(r, &two, None).await.expect("two");
    h.engine
        .put_file(
            r,
            &one,
            &path("only-in-one.txt"),
            Bytes::from_static(b"1\n"),
            None,
        )
        .await
        .expect("put_file");
    h.engine
        .stage(r, &one, &path("only-in-one.txt"))
        .await
        .expect("stage");
    h.engine
        .put_file(
            r,
            &one,
            &path("a.txt"),
            Bytes::from_static(b"a in one\n"),
            None,
        )
        .await
        .expect("put_file");
    h.engine
        .put_file(
            r,
            &two,
            &path("b.txt"),
            Bytes::from_static(b"b in two\n"),
            None,
        )
        .await
        .expect("put_file");

    let st1 = h.assert_status_matches_git(r, &one).await;
    let st2 = h.assert_status_matches_git(r, &two).await;
    let paths = |v: &[StatusEntry]| v.iter().map(|e| e.path.clone()).collect::<Vec<_>>();
    assert_eq!(paths(&st1), ["a.txt", "only-in-one.txt"]);
    assert_eq!(paths(&st2), ["b.txt"]);
    assert!(!h.ws_dir(r, &two).join("only-in-one.txt").exists());
    assert_eq!(
        std::fs::read(h.ws_dir(r, &two).join("a.txt")).expect("a.txt"),
        b"a\n"
    );
}

/// `commit_index` commits exactly the index (`git write-tree`), leaves unstaged changes, and
/// moves branch and base; nothing staged is `FailedPrecondition`; `amend` replaces the tip.
pub async fn workspace_commit_index(factory: Factory) {
    let h = Harness::new(&factory);
    let f = simple_fixture(&h);
    let r = &f.repo;
    let w = ws("work");
    let base = h.rev(r, "main");
    h.engine
        .create_workspace(r, &w, None)
        .await
        .expect("create_workspace");
    let e = &h.engine;

    let before = h.refs_snapshot(r);
    expect_kind(
        e.commit_index(r, commit_index(&h, &w)).await,
        ErrorKind::FailedPrecondition,
    );
    assert_eq!(h.refs_snapshot(r), before);

    e.put_file(r, &w, &path("a.txt"), Bytes::from_static(b"a2\n"), None)
        .await
        .expect("put");
    e.put_file(r, &w, &path("new.txt"), Bytes::from_static(b"n\n"), None)
        .await
        .expect("put");
    e.delete_file(r, &w, &path("b.txt")).await.expect("delete");
    e.put_file(
        r,
        &w,
        &path("c.txt"),
        Bytes::from_static(b"c unstaged\n"),
        None,
    )
    .await
    .expect("put");
    for p in ["a.txt", "new.txt", "b.txt"] {
        e.stage(r, &w, &path(p)).await.expect("stage");
    }
    let index_tree = oid(&h.git_ws(r, &w, &["write-tree"]));
    let c = e
        .commit_index(r, commit_index(&h, &w))
        .await
        .expect("commit_index");
    assert_eq!(c.parents, vec![base]);
    assert_eq!(c.tree, index_tree, "the commit's tree is the index");
    assert_eq!(c.message, "from the index\n");
    assert_eq!(h.rev(r, "main"), c.oid);
    assert_eq!(
        e.workspace(r, &w).await.expect("workspace").base,
        Some(c.oid)
    );
    h.assert_commit_matches_git(r, &c);
    let st = h.assert_status_matches_git(r, &w).await;
    assert_eq!(st.len(), 1, "only the unstaged change is left: {st:?}");
    assert_eq!(st[0].path, "c.txt");

    // Amend: replace the tip with the index plus the change to c.txt.
    e.stage(r, &w, &path("c.txt")).await.expect("stage");
    let mut amend = commit_index(&h, &w);
    amend.amend = true;
    amend.message = "amended from the index".to_owned();
    let a = e.commit_index(r, amend).await.expect("commit_index amend");
    assert_eq!(a.parents, vec![base], "amend keeps the parents");
    assert_eq!(h.rev(r, "main"), a.oid);
    assert!(h.assert_status_matches_git(r, &w).await.is_empty());

    let mut empty = commit_index(&h, &w);
    empty.allow_empty = true;
    let c3 = e
        .commit_index(r, empty)
        .await
        .expect("allowed empty commit");
    assert_eq!(c3.tree, a.tree);
    assert_eq!(c3.parents, vec![a.oid]);
    h.fsck(r);
}

/// The branch moves underneath a workspace: `commit_index` is `Conflict` and changes nothing;
/// a hard reset of the workspace to the branch brings it up to date and then it commits.
pub async fn workspace_branch_moved_underneath(factory: Factory) {
    let h = Harness::new(&factory);
    let f = simple_fixture(&h);
    let r = &f.repo;
    let w = ws("stale");
    let base = h.rev(r, "main");
    h.engine
        .create_workspace(r, &w, None)
        .await
        .expect("create_workspace");
    h.engine
        .put_file(
            r,
            &w,
            &path("mine.txt"),
            Bytes::from_static(b"mine\n"),
            None,
        )
        .await
        .expect("put_file");
    h.engine
        .stage(r, &w, &path("mine.txt"))
        .await
        .expect("stage");

    let moved = h
        .engine
        .commit_files(
            r,
            super::repo::engine_commit(&h, "main", Some(base), "theirs.txt", "t\n"),
        )
        .await
        .expect("someone else commits to main");
    let status_before = h.engine.status(r, &w).await.expect("status");
    let refs_before = h.refs_snapshot(r);

    let res = h.engine.commit_index(r, commit_index(&h, &w)).await;
    let e = expect_kind(res, ErrorKind::Conflict);
    if let Some(gitapi_core::ErrorDetails::RefMismatch {
        refname,
        expected,
        actual,
    }) = e.details()
    {
        assert_eq!(refname, "refs/heads/main");
        assert_eq!((*expected, *actual), (Some(base), Some(moved.oid)));
    }
    assert_eq!(h.refs_snapshot(r), refs_before, "nothing changed");
    assert_eq!(h.rev(r, "main"), moved.oid);
    assert_eq!(h.engine.status(r, &w).await.expect("status"), status_before);
    assert_eq!(
        h.engine.workspace(r, &w).await.expect("workspace").base,
        Some(base)
    );

    let to = h
        .engine
        .reset(
            r,
            Reset {
                target: ResetTarget::Workspace {
                    workspace: w.clone(),
                },
                to: rev("main"),
                mode: ResetMode::Hard,
            },
        )
        .await
        .expect("hard reset to the branch");
    assert_eq!(to, moved.oid);
    assert_eq!(
        h.engine.workspace(r, &w).await.expect("workspace").base,
        Some(moved.oid)
    );
    assert_eq!(
        std::fs::read(h.ws_dir(r, &w).join("theirs.txt")).expect("the new file is checked out"),
        b"t\n"
    );
    assert!(
        !h.ws_dir(r, &w).join("mine.txt").exists(),
        "a hard reset removes the staged new file, as git reset --hard does"
    );
    h.engine
        .put_file(
            r,
            &w,
            &path("mine.txt"),
            Bytes::from_static(b"mine\n"),
            None,
        )
        .await
        .expect("put_file again");
    h.engine
        .stage(r, &w, &path("mine.txt"))
        .await
        .expect("stage again");
    let c = h
        .engine
        .commit_index(r, commit_index(&h, &w))
        .await
        .expect("commit after reset");
    assert_eq!(c.parents, vec![moved.oid]);
    assert_eq!(h.rev(r, "main"), c.oid);
    assert!(h.ls_tree_r(r, "main").iter().any(|e| e.3 == "mine.txt"));
    assert!(h.ls_tree_r(r, "main").iter().any(|e| e.3 == "theirs.txt"));
    h.fsck(r);
}
