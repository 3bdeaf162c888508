//! Hostile input that passes validation: revisions that try to leave the repository or name
//! files of the git directory, and symlinks in a tree that point outside the work tree.

use bytes::Bytes;
use gitapi_core::{
    BlobRef, CommitFiles, ErrorKind, FileAction, FileMode, ListTree, LogQuery, Signing, collect_log,
};

use super::*;

/// Revisions that must resolve to nothing: `NotFound` (or `InvalidArgument`) from every
/// operation that takes a revision, and nothing on disk changes.
pub async fn hostile_revs(factory: Factory) {
    let h = Harness::new(&factory);
    let f = h.fixture("hostile", |w| {
        w.commit("start", &[("a.txt", "a\n"), ("dir/b.txt", "b\n")]);
    });
    let r = &f.repo;
    // Core refuses these before an engine sees them.
    for bad in [
        "HEAD:../../x",
        "main:dir/../../etc/passwd",
        "-h",
        "--output=/tmp/x",
        "a b",
        ":/no-commit-says-this",
        "main^{/no-commit-says-this}",
        ":a.txt",
        ":0:a.txt",
    ] {
        assert!(Rev::new(bad).is_err(), "{bad} is not a valid revision");
    }
    let hostile = [
        "nonexistent",
        "main:nope.txt",
        "main:/etc/passwd",
        "main:./a.txt",
        "main:.git/config",
        "@{-1}",
        "main@{upstream}",
        "main@{100}",
        "main~99999999999999999999",
        "config",
        "packed-refs",
        "objects",
        "FETCH_HEAD",
        "ORIG_HEAD",
        "/etc/passwd",
        "%2e%2e",
        "refs/heads/main.lock",
        "main^{blob}",
    ];
    let before = h.disk_snapshot();
    let kinds = [ErrorKind::NotFound, ErrorKind::InvalidArgument];
    for s in hostile {
        assert!(
            !h.git_repo_ok(
                r,
                &["rev-parse", "--verify", "-q", &format!("{s}^{{commit}}")]
            ),
            "git finds no commit for {s} either"
        );
        let rv = rev(s);
        expect_kinds(h.engine.get_commit(r, &rv).await, &kinds);
        expect_kinds(
            h.engine
                .list_tree(
                    r,
                    ListTree {
                        rev: rv.clone(),
                        path: None,
                        recursive: true,
                    },
                )
                .await,
            &kinds,
        );
        expect_kinds(
            h.engine
                .read_blob(
                    r,
                    BlobRef::ByPath {
                        rev: rv.clone(),
                        path: path("a.txt"),
                    },
                )
                .await,
            &kinds,
        );
        expect_kinds(
            collect_log(h.engine.as_ref(), r, LogQuery::of(rv.clone())).await,
            &kinds,
        );
        expect_kinds(h.engine.create_branch(r, &branch("x"), &rv).await, &kinds);
        expect_kinds(h.engine.merge_base(r, &rv, &rev("main")).await, &kinds);
    }
    for s in [
        "nonexistent",
        "main:nope.txt",
        "config",
        "packed-refs",
        "FETCH_HEAD",
    ] {
        expect_kind(h.engine.resolve(r, &rev(s)).await, ErrorKind::NotFound);
    }
    assert_eq!(h.disk_snapshot(), before, "nothing on disk changed");
    h.fsck(r);
}

/// A committed symlink that points outside the work tree is stored as a link, never followed:
/// writes through it are refused and nothing appears outside.
pub async fn hostile_symlink_escape(factory: Factory) {
    let h = Harness::new(&factory);
    let f = h.fixture("links", |w| {
        w.commit("start", &[("a.txt", "a\n")]);
    });
    let r = &f.repo;
    let outside = h.scratch("outside");
    std::fs::write(outside.join("victim.txt"), "victim\n").expect("a file outside");
    let tip = h.rev(r, "main");
    let target = outside.to_str().expect("UTF-8").to_owned();
    let c = h
        .engine
        .commit_files(
            r,
            CommitFiles {
                branch: branch("main"),
                expected_tip: Some(tip),
                start_point: None,
                actions: vec![
                    FileAction::Put {
                        path: path("evil"),
                        content: Bytes::from(target.clone()),
                        mode: Some(FileMode::Symlink),
                    },
                    FileAction::Put {
                        path: path("up"),
                        content: Bytes::from_static(b"../../../../../../../../.."),
                        mode: Some(FileMode::Symlink),
                    },
                ],
                message: "links".to_owned(),
                author: h.sig(),
                committer: None,
                signing: Signing::None,
                allow_empty: false,
            },
        )
        .await
        .expect("a symlink is just a blob");
    assert_eq!(h.cat_blob(r, "main:evil"), target.as_bytes());

    // Tree level: a path under a symlink entry is under a file, not a directory.
    let before = h.refs_snapshot(r);
    let res = h
        .engine
        .commit_files(
            r,
            CommitFiles {
                branch: branch("main"),
                expected_tip: Some(c.oid),
                start_point: None,
                actions: vec![FileAction::Put {
                    path: path("evil/pwned.txt"),
                    content: Bytes::from_static(b"x\n"),
                    mode: None,
                }],
                message: "through the link".to_owned(),
                author: h.sig(),
                committer: None,
                signing: Signing::None,
                allow_empty: false,
            },
        )
        .await;
    expect_kind(res, ErrorKind::InvalidArgument);
    assert_eq!(h.refs_snapshot(r), before);
    expect_kind(
        h.engine
            .read_blob(
                r,
                BlobRef::ByPath {
                    rev: rev("main"),
                    path: path("evil/victim.txt"),
                },
            )
            .await,
        ErrorKind::NotFound,
    );

    // Work tree level: the workspace checks the links out as links and never writes through.
    let w = WorkspaceName::default_workspace();
    h.engine.workspace(r, &w).await.expect("workspace");
    let dir = h.ws_dir(r, &w);
    assert!(
        std::fs::symlink_metadata(dir.join("evil"))
            .expect("evil")
            .is_symlink()
    );
    let kinds = [
        ErrorKind::InvalidArgument,
        ErrorKind::NotFound,
        ErrorKind::PermissionDenied,
    ];
    let e = &h.engine;
    expect_kinds(
        e.put_file(
            r,
            &w,
            &path("evil/pwned.txt"),
            Bytes::from_static(b"x\n"),
            None,
        )
        .await,
        &kinds,
    );
    expect_kinds(
        e.put_file(
            r,
            &w,
            &path("up/tmp/pwned.txt"),
            Bytes::from_static(b"x\n"),
            None,
        )
        .await,
        &kinds,
    );
    expect_kinds(e.delete_file(r, &w, &path("evil/victim.txt")).await, &kinds);
    expect_kinds(
        e.move_file(r, &w, &path("a.txt"), &path("evil/a.txt"))
            .await,
        &kinds,
    );
    expect_kinds(
        e.move_file(r, &w, &path("evil/victim.txt"), &path("stolen.txt"))
            .await,
        &kinds,
    );
    expect_kinds(e.stage(r, &w, &path("evil/victim.txt")).await, &kinds);
    expect_kinds(e.discard(r, &w, &path("evil/victim.txt")).await, &kinds);

    let names: Vec<String> = std::fs::read_dir(&outside)
        .expect("outside dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["victim.txt"], "nothing was written outside");
    assert_eq!(
        std::fs::read(outside.join("victim.txt")).expect("victim"),
        b"victim\n"
    );
    assert!(!dir.join("stolen.txt").exists());
    // Replacing the link itself is fine: it is a file of the work tree.
    e.put_file(
        r,
        &w,
        &path("evil"),
        Bytes::from_static(b"now a file\n"),
        Some(FileMode::Regular),
    )
    .await
    .expect("replace the link");
    assert!(
        std::fs::symlink_metadata(dir.join("evil"))
            .expect("evil")
            .is_file()
    );
    assert_eq!(
        std::fs::read(outside.join("victim.txt")).expect("victim"),
        b"victim\n"
    );
    h.fsck(r);
}
