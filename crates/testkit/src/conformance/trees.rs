//! Trees and files: `list_tree` against `git ls-tree`, `read_blob` and `stream_blob` against
//! `git cat-file blob`, and file edits in a workspace's work tree.

use bytes::Bytes;
use futures::TryStreamExt as _;
use gitapi_core::{BlobRef, ErrorKind, FileMode, ListTree, ObjectKind, TreeEntry};

use super::*;

/// Files whose names test git's tree order (`foo-bar`, `foo.txt`, `foo/`, `foo0`), an
/// executable, a symlink, binary content, and a submodule entry at `vendor/lib`.
fn tree_fixture(h: &Harness) -> Fixture {
    h.fixture("trees", |w| {
        w.commit(
            "start",
            &[
                ("README.md", "readme\n"),
                ("foo-bar", "dash\n"),
                ("foo.txt", "dot\n"),
                ("foo/x.txt", "x\n"),
                ("foo/deeper/y.txt", "y\n"),
                ("foo0", "zero\n"),
                ("tool.sh", "#!/bin/sh\n"),
                ("vendor/README", "vendored\n"),
            ],
        );
        w.set_executable("tool.sh", true);
        w.symlink("link", "foo/x.txt");
        w.write("data.bin", [0u8, 1, 2, 255, 0, 10, 13, 0]);
        let head = w.rev("HEAD");
        w.git(&["add", "-A"]);
        w.git(&[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{head},vendor/lib"),
        ]);
        w.git(&["commit", "-q", "-m", "modes, binary and a submodule"]);
    })
}

/// `git ls-tree -l <args>` parsed into tree entries.
fn git_ls_tree(h: &Harness, repo: &RepoName, args: &[&str]) -> Vec<TreeEntry> {
    let mut all = vec!["ls-tree", "-l", "--full-tree"];
    all.extend_from_slice(args);
    h.git_repo(repo, &all)
        .lines()
        .map(|l| {
            let (meta, p) = l.split_once('\t').expect("a tab before the path");
            let f: Vec<&str> = meta.split_whitespace().collect();
            let bits = u32::from_str_radix(f[0], 8).expect("octal mode");
            let kind = match f[1] {
                "blob" => ObjectKind::Blob,
                "tree" => ObjectKind::Tree,
                "commit" => ObjectKind::Commit,
                other => panic!("unexpected ls-tree type {other}"),
            };
            TreeEntry {
                name: p.rsplit('/').next().expect("a name").to_owned(),
                path: p.to_owned(),
                mode: FileMode::from_bits(bits).expect("a known mode"),
                kind,
                oid: oid(f[2]),
                size: f[3].parse().ok(),
            }
        })
        .collect()
}

async fn list(
    h: &Harness,
    repo: &RepoName,
    r: &str,
    p: Option<&str>,
    recursive: bool,
) -> Vec<TreeEntry> {
    h.engine
        .list_tree(
            repo,
            ListTree {
                rev: rev(r),
                path: p.map(path),
                recursive,
            },
        )
        .await
        .expect("list_tree")
}

/// `list_tree` of the root, a subdirectory, recursively, equals `git ls-tree [-r] -l`.
pub async fn tree_list_matches_ls_tree(factory: Factory) {
    let h = Harness::new(&factory);
    let f = tree_fixture(&h);
    let r = &f.repo;
    assert_eq!(
        list(&h, r, "main", None, false).await,
        git_ls_tree(&h, r, &["main"])
    );
    assert_eq!(
        list(&h, r, "main", Some("foo"), false).await,
        git_ls_tree(&h, r, &["main", "foo/"])
    );
    assert_eq!(
        list(&h, r, "main", Some("foo/deeper"), false).await,
        git_ls_tree(&h, r, &["main", "foo/deeper/"])
    );
    assert_eq!(
        list(&h, r, "main", None, true).await,
        git_ls_tree(&h, r, &["-r", "main"])
    );
    assert_eq!(
        list(&h, r, "main", Some("foo"), true).await,
        git_ls_tree(&h, r, &["-r", "main", "foo/"])
    );
    assert_eq!(
        list(&h, r, "main", Some("vendor"), false).await,
        git_ls_tree(&h, r, &["main", "vendor/"])
    );
    assert_eq!(
        list(&h, r, "main~1", None, false).await,
        git_ls_tree(&h, r, &["main~1"])
    );
    let tree = h.rev(r, "main^{tree}").to_string();
    assert_eq!(
        list(&h, r, &tree, None, false).await,
        git_ls_tree(&h, r, &["main"])
    );
    let names: Vec<String> = list(&h, r, "main", None, false)
        .await
        .into_iter()
        .map(|e| e.name)
        .filter(|n| n.starts_with("foo"))
        .collect();
    assert_eq!(
        names,
        ["foo-bar", "foo.txt", "foo", "foo0"],
        "git's tree order"
    );
}

/// Missing paths and revisions are `NotFound`; a file where a directory is wanted, or a blob
/// where a tree-ish is wanted, is `InvalidArgument`.
pub async fn tree_list_errors(factory: Factory) {
    let h = Harness::new(&factory);
    let f = tree_fixture(&h);
    let r = &f.repo;
    let lt = |rv: &str, p: Option<&str>| ListTree {
        rev: rev(rv),
        path: p.map(path),
        recursive: false,
    };
    expect_kind(
        h.engine.list_tree(r, lt("main", Some("absent"))).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        h.engine.list_tree(r, lt("main", Some("foo/absent"))).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        h.engine.list_tree(r, lt("nope", None)).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        h.engine.list_tree(r, lt("main", Some("foo.txt"))).await,
        ErrorKind::InvalidArgument,
    );
    expect_kind(
        h.engine.list_tree(r, lt("main:foo.txt", None)).await,
        ErrorKind::InvalidArgument,
    );
}

/// `read_blob` by path and by id: bytes, id, size and mode as git has them.
pub async fn blob_read_by_path_and_oid(factory: Factory) {
    let h = Harness::new(&factory);
    let f = tree_fixture(&h);
    let r = &f.repo;
    for (p, mode) in [
        ("README.md", FileMode::Regular),
        ("foo/deeper/y.txt", FileMode::Regular),
        ("tool.sh", FileMode::Executable),
        ("link", FileMode::Symlink),
        ("data.bin", FileMode::Regular),
    ] {
        let spec = format!("main:{p}");
        let want = h.cat_blob(r, &spec);
        let b = h
            .engine
            .read_blob(
                r,
                BlobRef::ByPath {
                    rev: rev("main"),
                    path: path(p),
                },
            )
            .await
            .expect("read_blob by path");
        assert_eq!(b.content.as_ref(), want.as_slice(), "content of {p}");
        assert_eq!(b.oid, h.rev(r, &spec));
        assert_eq!(b.size, want.len() as u64);
        assert_eq!(b.mode, Some(mode), "mode of {p}");
        let by_oid = h
            .engine
            .read_blob(r, BlobRef::ByOid(b.oid))
            .await
            .expect("read_blob by id");
        assert_eq!(by_oid.content, b.content);
        assert_eq!(by_oid.size, b.size);
        assert_eq!(by_oid.mode, None, "no mode without a tree entry");
    }
    let old = h
        .engine
        .read_blob(
            r,
            BlobRef::ByPath {
                rev: rev("main~1"),
                path: path("README.md"),
            },
        )
        .await
        .expect("read_blob at an older commit");
    assert_eq!(
        old.content.as_ref(),
        h.cat_blob(r, "main~1:README.md").as_slice()
    );
}

/// Missing paths, ids and revisions are `NotFound`; trees, submodules and directories where a
/// blob is wanted are `InvalidArgument`.
pub async fn blob_read_errors(factory: Factory) {
    let h = Harness::new(&factory);
    let f = tree_fixture(&h);
    let r = &f.repo;
    let by_path = |rv: &str, p: &str| BlobRef::ByPath {
        rev: rev(rv),
        path: path(p),
    };
    expect_kind(
        h.engine.read_blob(r, by_path("main", "absent")).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        h.engine.read_blob(r, by_path("main", "foo/nope.txt")).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        h.engine.read_blob(r, by_path("nope", "README.md")).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        h.engine
            .read_blob(r, by_path("main", "foo.txt/inner"))
            .await,
        ErrorKind::NotFound,
    );
    expect_kind(
        h.engine.read_blob(r, by_path("main", "vendor/lib/x")).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        h.engine.read_blob(r, by_path("main", "foo")).await,
        ErrorKind::InvalidArgument,
    );
    expect_kind(
        h.engine.read_blob(r, by_path("main", "vendor/lib")).await,
        ErrorKind::InvalidArgument,
    );
    let tree = h.rev(r, "main^{tree}");
    expect_kind(
        h.engine.read_blob(r, BlobRef::ByOid(tree)).await,
        ErrorKind::InvalidArgument,
    );
    let commit = h.rev(r, "main");
    expect_kind(
        h.engine.read_blob(r, BlobRef::ByOid(commit)).await,
        ErrorKind::InvalidArgument,
    );
    let ghost = Oid::from_bytes([0x5a; 20]);
    expect_kind(
        h.engine.read_blob(r, BlobRef::ByOid(ghost)).await,
        ErrorKind::NotFound,
    );
}

/// `stream_blob` of a 3 MB blob: the chunks make exactly the bytes `git cat-file blob` prints.
pub async fn blob_stream_large(factory: Factory) {
    let h = Harness::new(&factory);
    let mut state: u32 = 0x1234_5678;
    let big: Vec<u8> = (0..3 * 1024 * 1024 + 17)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    let f = h.fixture("big", |w| {
        w.write("big.bin", &big);
        w.commit_all("a big blob");
    });
    let r = &f.repo;
    let want = h.cat_blob(r, "main:big.bin");
    assert_eq!(want, big);
    for blob in [
        BlobRef::ByPath {
            rev: rev("main"),
            path: path("big.bin"),
        },
        BlobRef::ByOid(h.rev(r, "main:big.bin")),
    ] {
        let s = h.engine.stream_blob(r, blob).await.expect("stream_blob");
        assert_eq!(s.oid, h.rev(r, "main:big.bin"));
        assert_eq!(s.size, big.len() as u64);
        let chunks: Vec<Bytes> = s.chunks.try_collect().await.expect("every chunk");
        assert!(chunks.len() > 1, "a 3 MB blob comes in several chunks");
        let joined: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        assert!(joined == want, "streamed bytes equal git cat-file blob");
    }
    let missing = h
        .engine
        .stream_blob(
            r,
            BlobRef::ByPath {
                rev: rev("main"),
                path: path("absent"),
            },
        )
        .await;
    expect_kind(missing.map(|s| s.size), ErrorKind::NotFound);
}

/// `put_file`, `delete_file` and `move_file` in a workspace: the work tree on disk and the
/// status as `git status` sees them.
pub async fn files_put_delete_move_in_workspace(factory: Factory) {
    use FileStatus::{Deleted, Modified, TypeChanged, Unmodified};
    let h = Harness::new(&factory);
    let f = h.fixture("wsfiles", |w| {
        w.commit(
            "start",
            &[
                ("a.txt", "a\n"),
                ("b.txt", "b\n"),
                ("c.txt", "c\n"),
                ("dir/d.txt", "d\n"),
                ("e.txt", "e\n"),
            ],
        );
    });
    let r = &f.repo;
    let w = WorkspaceName::default_workspace();
    let dir = h.ws_dir(r, &w);
    let e = &h.engine;
    e.put_file(
        r,
        &w,
        &path("a.txt"),
        Bytes::from_static(b"a changed\n"),
        None,
    )
    .await
    .expect("put existing");
    e.put_file(r, &w, &path("new.txt"), Bytes::from_static(b"new\n"), None)
        .await
        .expect("put new");
    e.put_file(
        r,
        &w,
        &path("dir/run.sh"),
        Bytes::from_static(b"#!/bin/sh\n"),
        Some(FileMode::Executable),
    )
    .await
    .expect("put executable");
    e.put_file(
        r,
        &w,
        &path("e.txt"),
        Bytes::from_static(b"a.txt"),
        Some(FileMode::Symlink),
    )
    .await
    .expect("replace a file by a symlink");
    e.delete_file(r, &w, &path("b.txt"))
        .await
        .expect("delete_file");
    e.move_file(r, &w, &path("c.txt"), &path("dir/c-moved.txt"))
        .await
        .expect("move_file");

    assert_eq!(
        std::fs::read(dir.join("a.txt")).expect("a.txt"),
        b"a changed\n"
    );
    assert_eq!(
        std::fs::read(dir.join("new.txt")).expect("new.txt"),
        b"new\n"
    );
    assert!(!dir.join("b.txt").exists());
    assert!(!dir.join("c.txt").exists());
    assert_eq!(
        std::fs::read(dir.join("dir/c-moved.txt")).expect("moved"),
        b"c\n"
    );
    let link = std::fs::read_link(dir.join("e.txt")).expect("e.txt is a symlink");
    assert_eq!(link, PathBuf::from("a.txt"));
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("dir/run.sh"))
            .expect("run.sh")
            .permissions()
            .mode();
        assert_ne!(mode & 0o100, 0, "run.sh is executable");
    }

    let st = h.assert_status_matches_git(r, &w).await;
    let tracked = |p: &str, y| StatusEntry {
        path: p.to_owned(),
        staged: Unmodified,
        unstaged: y,
        untracked: false,
    };
    let new = |p: &str| StatusEntry {
        path: p.to_owned(),
        staged: Unmodified,
        unstaged: Unmodified,
        untracked: true,
    };
    assert_eq!(
        st,
        vec![
            tracked("a.txt", Modified),
            tracked("b.txt", Deleted),
            tracked("c.txt", Deleted),
            new("dir/c-moved.txt"),
            new("dir/run.sh"),
            tracked("e.txt", TypeChanged),
            new("new.txt"),
        ]
    );

    let before = h.ws_snapshot(r, &w);
    expect_kind(
        e.delete_file(r, &w, &path("absent.txt")).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        e.move_file(r, &w, &path("absent.txt"), &path("x.txt"))
            .await,
        ErrorKind::NotFound,
    );
    expect_kind(
        e.move_file(r, &w, &path("a.txt"), &path("new.txt")).await,
        ErrorKind::AlreadyExists,
    );
    expect_kind(
        e.put_file(r, &w, &path("dir"), Bytes::from_static(b"x\n"), None)
            .await,
        ErrorKind::InvalidArgument,
    );
    expect_kind(
        e.put_file(r, &w, &path("a.txt/x"), Bytes::from_static(b"x\n"), None)
            .await,
        ErrorKind::InvalidArgument,
    );
    assert_eq!(h.ws_snapshot(r, &w), before, "failed edits change nothing");
    h.fsck(r);
}
