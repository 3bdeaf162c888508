//! Commits: reading, `commit_files` (actions, compare-and-swap, new branches, empty commits,
//! signing), cherry-pick, revert, amend and reset.

use bytes::Bytes;
use gitapi_core::object::{commit_payload, insert_signature, normalize_message};
use gitapi_core::{
    Amend, CommitFiles, ErrorKind, FileAction, FileMode, PickCommit, Reset, ResetMode, ResetTarget,
    Signing, StatusEntry,
};

use super::*;

fn put(p: &str, content: impl Into<Bytes>, mode: Option<FileMode>) -> FileAction {
    FileAction::Put {
        path: path(p),
        content: content.into(),
        mode,
    }
}

fn req(
    h: &Harness,
    branch_name: &str,
    expected: Option<Oid>,
    actions: Vec<FileAction>,
) -> CommitFiles {
    CommitFiles {
        branch: branch(branch_name),
        expected_tip: expected,
        start_point: None,
        actions,
        message: "api commit\n\nmade by the engine".to_owned(),
        author: h.sig(),
        committer: None,
        signing: Signing::None,
        allow_empty: false,
    }
}

fn ten_lines(tag: &str, changed: &[(usize, &str)]) -> String {
    (1..=10)
        .map(|i| match changed.iter().find(|(n, _)| *n == i) {
            Some((_, s)) => format!("{s}\n"),
            None => format!("line {i} {tag}\n"),
        })
        .collect()
}

/// A small repository for commit operations.
fn files_fixture(h: &Harness) -> Fixture {
    h.fixture("files", |w| {
        w.commit(
            "start",
            &[
                ("a.txt", "alpha\n"),
                ("b.txt", "bravo\n"),
                ("c.txt", "charlie\n"),
                ("dir/x.txt", "x\n"),
                ("dir/y.txt", "y\n"),
                ("dir/sub/z.txt", "z\n"),
                ("moveme/1.txt", "one\n"),
                ("moveme/2.txt", "two\n"),
                ("run.sh", "#!/bin/sh\necho hi\n"),
                ("link", "placeholder\n"),
            ],
        );
        w.set_executable("run.sh", true);
        w.symlink("link", "a.txt");
        w.commit_all("modes");
    })
}

/// Asserts the tree of `repo`'s `rev` equals the tree of `HEAD` in a work tree.
fn assert_same_tree(h: &Harness, repo: &RepoName, rev: &str, oracle: &crate::git::RepoBuilder) {
    let ours = h.ls_tree_r(repo, rev);
    let theirs = crate::conformance::parse_ls_tree(&oracle.git(&["ls-tree", "-r", "HEAD"]));
    assert_eq!(
        ours, theirs,
        "git ls-tree -r of {rev} differs from git's own result"
    );
    assert_eq!(
        h.rev(repo, &format!("{rev}^{{tree}}")).to_string(),
        oracle.rev("HEAD^{tree}"),
        "tree ids"
    );
}

/// `get_commit` of revisions equals `git cat-file commit`; wrong kinds and missing revisions
/// fail.
pub async fn commits_get_commit(factory: Factory) {
    let h = Harness::new(&factory);
    let f = super::log::history_fixture(&h, "hist");
    f.work.annotated_tag("annotated", "main~1", "a tag");
    f.push(&h);
    let r = &f.repo;
    let short = h.rev(r, "main~2").to_string()[..12].to_owned();
    for s in [
        "main",
        "main~1",
        "main~2",
        "side",
        "annotated",
        "v1",
        short.as_str(),
    ] {
        let c = h.engine.get_commit(r, &rev(s)).await.expect("get_commit");
        assert_eq!(
            c.oid,
            h.rev(r, &format!("{s}^{{commit}}")),
            "get_commit {s}"
        );
        h.assert_commit_matches_git(r, &c);
    }
    let merge = h
        .engine
        .get_commit(r, &rev("main~2"))
        .await
        .expect("merge commit");
    assert_eq!(merge.parents.len(), 2, "main~2 is the merge");
    assert_eq!(merge.summary(), "M: merge side");

    expect_kind(
        h.engine.get_commit(r, &rev("nope")).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        h.engine.get_commit(r, &rev("main^{tree}")).await,
        ErrorKind::InvalidArgument,
    );
    expect_kind(
        h.engine.get_commit(r, &rev("main:b.txt")).await,
        ErrorKind::InvalidArgument,
    );
}

/// `get_commits` answers in the order asked, `None` for ids that are not commits.
pub async fn commits_get_commits_batch(factory: Factory) {
    let h = Harness::new(&factory);
    let f = super::log::history_fixture(&h, "hist");
    let r = &f.repo;
    let (c1, c2) = (h.rev(r, "main"), h.rev(r, "side"));
    let missing = Oid::from_bytes([0x42; 20]);
    let tree = h.rev(r, "main^{tree}");
    let blob = h.rev(r, "main:b.txt");
    let got = h
        .engine
        .get_commits(r, &[c2, missing, c1, tree, blob, c2])
        .await
        .expect("get_commits");
    let ids: Vec<Option<Oid>> = got.iter().map(|c| c.as_ref().map(|c| c.oid)).collect();
    assert_eq!(ids, vec![Some(c2), None, Some(c1), None, None, Some(c2)]);
    for c in got.iter().flatten() {
        h.assert_commit_matches_git(r, c);
    }
    assert!(
        h.engine
            .get_commits(r, &[])
            .await
            .expect("empty batch")
            .is_empty()
    );
}

/// `commit_files` puts files with modes (regular, executable, symlink, binary, nested); the
/// tree equals what git makes of the same changes; every field as git reads it.
pub async fn commit_files_put_modes(factory: Factory) {
    let h = Harness::new(&factory);
    let f = files_fixture(&h);
    let r = &f.repo;
    let tip = h.rev(r, "main");
    let binary: Vec<u8> = (0u8..=255).chain([0, 0, 1, 2]).collect();
    let mut request = req(
        &h,
        "main",
        Some(tip),
        vec![
            put("a.txt", "alpha changed\n", None),
            put("run.sh", "#!/bin/sh\necho changed\n", None),
            put(
                "bin/tool",
                "#!/bin/sh\nexit 0\n",
                Some(FileMode::Executable),
            ),
            put("new-link", "dir/x.txt", Some(FileMode::Symlink)),
            put("deep/er/data.bin", binary.clone(), None),
            put("b.txt", "bravo\n", Some(FileMode::Executable)),
            put(
                "no-newline.txt",
                "no newline at end",
                Some(FileMode::Regular),
            ),
        ],
    );
    let committer = h.sig_of("Com Mitter", "cm@example.com", -420);
    request.committer = Some(committer.clone());
    let author = request.author.clone();
    let c = h
        .engine
        .commit_files(r, request)
        .await
        .expect("commit_files");
    assert_eq!(c.parents, vec![tip]);
    assert_eq!(c.author, author);
    assert_eq!(c.committer, committer);
    assert_eq!(
        c.message, "api commit\n\nmade by the engine\n",
        "message stored with one newline"
    );
    assert_eq!(c.signature, None);
    assert_eq!(h.rev(r, "main"), c.oid, "the branch advanced");
    h.assert_commit_matches_git(r, &c);
    assert_eq!(
        h.engine
            .get_commit(r, &rev("main"))
            .await
            .expect("get_commit"),
        c
    );

    let o = h.scratch_clone(r, "oracle");
    o.git(&["checkout", "-q", &tip.to_string()]);
    o.write("a.txt", "alpha changed\n");
    o.write("run.sh", "#!/bin/sh\necho changed\n");
    o.write("bin/tool", "#!/bin/sh\nexit 0\n");
    o.set_executable("bin/tool", true);
    o.symlink("new-link", "dir/x.txt");
    o.write("deep/er/data.bin", &binary);
    o.set_executable("b.txt", true);
    o.write("no-newline.txt", "no newline at end");
    o.commit_all("oracle");
    assert_same_tree(&h, r, "main", &o);
    assert_eq!(h.cat_blob(r, "main:deep/er/data.bin"), binary);
    assert_eq!(h.cat_blob(r, "main:new-link"), b"dir/x.txt");
    h.fsck(r);
}

/// Delete (a file, a whole directory), move (a file, a directory, a file put in the same
/// request) and chmod, applied in order; the tree equals git's.
pub async fn commit_files_delete_move_chmod(factory: Factory) {
    let h = Harness::new(&factory);
    let f = files_fixture(&h);
    let r = &f.repo;
    let tip = h.rev(r, "main");
    let mv = |a: &str, b: &str| FileAction::Move {
        from: path(a),
        to: path(b),
    };
    let c = h
        .engine
        .commit_files(
            r,
            req(
                &h,
                "main",
                Some(tip),
                vec![
                    FileAction::Delete {
                        path: path("a.txt"),
                    },
                    FileAction::Delete { path: path("dir") },
                    mv("b.txt", "new/place/b.txt"),
                    mv("moveme", "moved/here"),
                    FileAction::Chmod {
                        path: path("run.sh"),
                        executable: false,
                    },
                    FileAction::Chmod {
                        path: path("c.txt"),
                        executable: true,
                    },
                    put("tmp.txt", "temporary\n", None),
                    mv("tmp.txt", "final.txt"),
                ],
            ),
        )
        .await
        .expect("commit_files");
    assert_eq!(c.parents, vec![tip]);
    h.assert_commit_matches_git(r, &c);

    let o = h.scratch_clone(r, "oracle");
    o.git(&["checkout", "-q", &tip.to_string()]);
    o.remove("a.txt");
    o.remove("dir");
    o.rename("b.txt", "new/place/b.txt");
    o.rename("moveme", "moved/here");
    o.git(&["update-index", "--chmod=-x", "run.sh"]);
    o.git(&["update-index", "--chmod=+x", "c.txt"]);
    o.write("final.txt", "temporary\n");
    o.git(&["add", "final.txt"]);
    o.git(&["commit", "-q", "-m", "oracle"]);
    assert_same_tree(&h, r, "main", &o);
    h.fsck(r);
}

/// A stale expected tip is `Conflict` with `RefMismatch`, and nothing changes.
pub async fn commit_files_cas_conflict(factory: Factory) {
    let h = Harness::new(&factory);
    let f = files_fixture(&h);
    let r = &f.repo;
    let tip = h.rev(r, "main");
    let stale = h.rev(r, "main~1");
    let before = h.refs_snapshot(r);
    let got = expect_ref_mismatch(
        h.engine
            .commit_files(
                r,
                req(&h, "main", Some(stale), vec![put("z.txt", "z\n", None)]),
            )
            .await,
        "refs/heads/main",
    );
    assert_eq!(got, (Some(stale), Some(tip)));
    let got = expect_ref_mismatch(
        h.engine
            .commit_files(
                r,
                req(&h, "main", Some(Oid::ZERO), vec![put("z.txt", "z\n", None)]),
            )
            .await,
        "refs/heads/main",
    );
    assert_eq!(
        got,
        (None, Some(tip)),
        "a new branch was expected and main exists"
    );
    assert_eq!(h.refs_snapshot(r), before);
    h.fsck(r);
}

/// With expected tip zero, `commit_files` creates a branch from `start_point`, or a root
/// commit without one.
pub async fn commit_files_new_branch(factory: Factory) {
    let h = Harness::new(&factory);
    let f = files_fixture(&h);
    let r = &f.repo;
    let base = h.rev(r, "main~1");
    let main_before = h.rev(r, "main");
    let mut request = req(
        &h,
        "topic/one",
        Some(Oid::ZERO),
        vec![put("topic.txt", "t\n", None)],
    );
    request.start_point = Some(rev("main~1"));
    let c = h.engine.commit_files(r, request).await.expect("new branch");
    assert_eq!(c.parents, vec![base]);
    assert_eq!(h.rev(r, "refs/heads/topic/one"), c.oid);
    assert_eq!(h.rev(r, "main"), main_before, "main did not move");
    let o = h.scratch_clone(r, "oracle");
    o.git(&["checkout", "-q", &base.to_string()]);
    o.commit("oracle", &[("topic.txt", "t\n")]);
    assert_same_tree(&h, r, "refs/heads/topic/one", &o);

    let c = h
        .engine
        .commit_files(
            r,
            req(
                &h,
                "orphan",
                Some(Oid::ZERO),
                vec![put("only.txt", "o\n", None)],
            ),
        )
        .await
        .expect("root commit on a new branch");
    assert!(c.parents.is_empty());
    assert_eq!(
        h.git_repo(r, &["ls-tree", "-r", "--name-only", "refs/heads/orphan"]),
        "only.txt\n"
    );

    let before = h.refs_snapshot(r);
    let mut request = req(
        &h,
        "topic/two",
        Some(Oid::ZERO),
        vec![put("t.txt", "t\n", None)],
    );
    request.start_point = Some(rev("no-such-start"));
    expect_kind(h.engine.commit_files(r, request).await, ErrorKind::NotFound);
    assert_eq!(h.refs_snapshot(r), before);
    h.fsck(r);
}

/// A commit whose tree equals its parent's is `FailedPrecondition` unless `allow_empty`.
pub async fn commit_files_empty_refused(factory: Factory) {
    let h = Harness::new(&factory);
    let f = files_fixture(&h);
    let r = &f.repo;
    let tip = h.rev(r, "main");
    let before = h.refs_snapshot(r);
    for actions in [
        vec![put("a.txt", "alpha\n", None)],
        vec![FileAction::Chmod {
            path: path("run.sh"),
            executable: true,
        }],
        vec![],
    ] {
        let res = h
            .engine
            .commit_files(r, req(&h, "main", Some(tip), actions))
            .await;
        expect_kind(res, ErrorKind::FailedPrecondition);
    }
    assert_eq!(h.refs_snapshot(r), before);

    let mut request = req(&h, "main", Some(tip), vec![put("a.txt", "alpha\n", None)]);
    request.allow_empty = true;
    let c = h
        .engine
        .commit_files(r, request)
        .await
        .expect("allowed empty commit");
    assert_eq!(c.parents, vec![tip]);
    assert_eq!(c.tree, h.rev(r, &format!("{tip}^{{tree}}")));
    h.assert_commit_matches_git(r, &c);
    h.fsck(r);
}

/// Bad actions fail with the kind of what is wrong, and change nothing.
pub async fn commit_files_errors(factory: Factory) {
    let h = Harness::new(&factory);
    let f = files_fixture(&h);
    let r = &f.repo;
    let tip = h.rev(r, "main");
    let before = h.refs_snapshot(r);
    let mv = |a: &str, b: &str| FileAction::Move {
        from: path(a),
        to: path(b),
    };
    let cases: Vec<(Vec<FileAction>, ErrorKind)> = vec![
        (
            vec![FileAction::Delete {
                path: path("absent.txt"),
            }],
            ErrorKind::NotFound,
        ),
        (vec![mv("absent.txt", "x.txt")], ErrorKind::NotFound),
        (vec![mv("a.txt", "b.txt")], ErrorKind::AlreadyExists),
        (vec![mv("a.txt", "dir")], ErrorKind::AlreadyExists),
        (
            vec![FileAction::Chmod {
                path: path("absent.txt"),
                executable: true,
            }],
            ErrorKind::NotFound,
        ),
        (
            vec![FileAction::Chmod {
                path: path("dir"),
                executable: true,
            }],
            ErrorKind::InvalidArgument,
        ),
        (
            vec![put("a.txt/inner.txt", "x\n", None)],
            ErrorKind::InvalidArgument,
        ),
        (vec![put("dir", "x\n", None)], ErrorKind::InvalidArgument),
        (
            vec![put("tree-mode", "x\n", Some(FileMode::Tree))],
            ErrorKind::InvalidArgument,
        ),
        (
            vec![put("sub-mode", "x\n", Some(FileMode::Submodule))],
            ErrorKind::InvalidArgument,
        ),
        (
            vec![
                put("ok.txt", "fine\n", None),
                FileAction::Delete { path: path("nope") },
            ],
            ErrorKind::NotFound,
        ),
    ];
    for (actions, kind) in cases {
        let shown = format!("{actions:?}");
        let res = h
            .engine
            .commit_files(r, req(&h, "main", Some(tip), actions))
            .await;
        let e = res.expect_err(&shown);
        assert_eq!(e.kind(), kind, "{shown}: {e:?}");
    }
    let mut request = req(&h, "main", Some(tip), vec![put("x.txt", "x\n", None)]);
    request.message = "  \n".to_owned();
    expect_kind(
        h.engine.commit_files(r, request).await,
        ErrorKind::InvalidArgument,
    );
    let request = req(&h, "no-such-branch", None, vec![put("x.txt", "x\n", None)]);
    expect_kind(h.engine.commit_files(r, request).await, ErrorKind::NotFound);
    assert_eq!(h.refs_snapshot(r), before, "failed commits change nothing");
    h.fsck(r);
}

/// An ed25519 key made by `ssh-keygen`, and an allowed-signers file for it.
struct SshKey {
    private: String,
    allowed_signers: PathBuf,
}

fn ssh_key(h: &Harness) -> SshKey {
    let dir = h.scratch("ssh-key");
    let key = dir.join("id_ed25519");
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "conformance", "-f"])
        .arg(&key)
        .output()
        .expect("ssh-keygen runs");
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = std::fs::read_to_string(dir.join("id_ed25519.pub")).expect("public key");
    let allowed_signers = dir.join("allowed_signers");
    let principals = "api@example.com,author@example.com";
    std::fs::write(&allowed_signers, format!("{principals} {public}")).expect("allowed signers");
    SshKey {
        private: std::fs::read_to_string(&key).expect("private key"),
        allowed_signers,
    }
}

fn verify_commit(h: &Harness, repo: &RepoName, key: &SshKey, commit: Oid) {
    let allowed = format!(
        "gpg.ssh.allowedSignersFile={}",
        key.allowed_signers.display()
    );
    let out = h.git.output_in_git_dir(
        &h.repo_dir(repo),
        &[
            "-c",
            "gpg.format=ssh",
            "-c",
            &allowed,
            "verify-commit",
            "-v",
            &commit.to_string(),
        ],
    );
    assert!(
        out.status.success(),
        "git verify-commit {commit} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `Signing::Operator` signs with the engine's key; `git verify-commit` accepts it and the
/// object is the payload of `commit_payload` with the signature inserted.
pub async fn commit_files_signed_operator(factory: Factory) {
    let probe = Harness::new(&factory);
    let key = ssh_key(&probe);
    let signer = SshSigner::from_openssh(&key.private).expect("an openssh key");
    let h = Harness::with_signer(&factory, signer);
    let f = files_fixture(&h);
    let r = &f.repo;
    let tip = h.rev(r, "main");
    let mut request = req(
        &h,
        "main",
        Some(tip),
        vec![put("signed.txt", "signed\n", None)],
    );
    request.signing = Signing::Operator;
    let payload = h
        .engine
        .commit_payload(r, request.clone())
        .await
        .expect("commit_payload");
    let c = h
        .engine
        .commit_files(r, request)
        .await
        .expect("signed commit");
    let sig = c.signature.clone().expect("the commit carries a signature");
    assert!(
        sig.starts_with("-----BEGIN SSH SIGNATURE-----"),
        "an SSH signature: {sig}"
    );
    h.assert_commit_matches_git(r, &c);
    let raw = h.git_repo(r, &["cat-file", "commit", &c.oid.to_string()]);
    assert_eq!(raw, insert_signature(&payload, &sig).expect("insertable"));
    verify_commit(&h, r, &key, c.oid);
    h.fsck(r);
}

/// `Signing::Provided`: sign `commit_payload` outside, send the signature; the object is
/// exactly the payload with the signature, and `git verify-commit` accepts it.
pub async fn commit_files_signed_provided(factory: Factory) {
    let h = Harness::new(&factory);
    let key = ssh_key(&h);
    let signer = SshSigner::from_openssh(&key.private).expect("an openssh key");
    let f = files_fixture(&h);
    let r = &f.repo;
    let tip = h.rev(r, "main");
    let request = req(
        &h,
        "main",
        Some(tip),
        vec![put("provided.txt", "p\n", None)],
    );
    let payload = h
        .engine
        .commit_payload(r, request.clone())
        .await
        .expect("commit_payload");
    assert_eq!(h.rev(r, "main"), tip, "commit_payload writes no ref");
    // The payload is the commit text git would hash: tree of the result, the tip as parent.
    let author = request.author.clone();
    let message = normalize_message(&request.message).expect("valid");
    let tree_line = payload.lines().next().expect("tree line").to_owned();
    let tree = oid(tree_line
        .strip_prefix("tree ")
        .expect("starts with the tree"));
    assert_eq!(
        payload,
        commit_payload(tree, &[tip], &author, &author, &message)
    );

    let signature = signer.sign(payload.as_bytes()).expect("sign");
    let mut signed = request.clone();
    signed.signing = Signing::Provided {
        signature: signature.clone(),
    };
    let c = h
        .engine
        .commit_files(r, signed)
        .await
        .expect("commit with a provided signature");
    assert_eq!(c.tree, tree);
    let raw = h.git_repo(r, &["cat-file", "commit", &c.oid.to_string()]);
    assert_eq!(
        raw,
        insert_signature(&payload, &signature).expect("insertable")
    );
    h.assert_commit_matches_git(r, &c);
    verify_commit(&h, r, &key, c.oid);
    h.fsck(r);
}

/// `main: c1 - c2`, `feature: c1 - f1 - f2 - f3(conflicts with c2) `, and a merge commit on
/// `merged`.
fn pick_fixture(h: &Harness) -> Fixture {
    h.fixture("pick", |w| {
        w.commit(
            "c1",
            &[("a.txt", &ten_lines("base", &[])), ("b.txt", "b\n")],
        );
        w.checkout_new("feature");
        w.commit(
            "f1: change line 2\n\nbody of f1",
            &[("a.txt", &ten_lines("base", &[(2, "feature two")]))],
        );
        w.commit(
            "f2: add n, change b",
            &[("n.txt", "n\n"), ("b.txt", "b feature\n")],
        );
        w.commit(
            "f3: change line 9",
            &[(
                "a.txt",
                &ten_lines("base", &[(2, "feature two"), (9, "feature nine")]),
            )],
        );
        w.checkout("main");
        w.commit(
            "c2: change line 9",
            &[("a.txt", &ten_lines("base", &[(9, "main nine")]))],
        );
        w.checkout_new("merged");
        w.git(&["checkout", "-q", "-b", "tmp-side", "main~1"]);
        w.commit("side: add s", &[("s.txt", "s\n")]);
        w.checkout("merged");
        w.merge("tmp-side", "merge side into merged");
        w.checkout("main");
    })
}

/// `cherry_pick` gives the tree `git cherry-pick` gives, keeps message and author, and
/// compares-and-swaps the branch; a merge needs a mainline.
pub async fn cherry_pick_matches_git(factory: Factory) {
    let h = Harness::new(&factory);
    let f = pick_fixture(&h);
    let r = &f.repo;
    let tip = h.rev(r, "main");
    let committer = h.sig();
    let pick = |c: &str, expected| PickCommit {
        commit: rev(c),
        branch: branch("main"),
        expected_tip: expected,
        mainline: None,
        committer: committer.clone(),
    };
    let stale = h.rev(r, "main~1");
    let before = h.refs_snapshot(r);
    expect_ref_mismatch(
        h.engine
            .cherry_pick(r, pick("feature~2", Some(stale)))
            .await,
        "refs/heads/main",
    );
    assert_eq!(h.refs_snapshot(r), before);

    let c1 = h
        .engine
        .cherry_pick(r, pick("feature~2", Some(tip)))
        .await
        .expect("cherry_pick f1");
    let orig = h.cat_commit(r, h.rev(r, "feature~2"));
    assert_eq!(c1.parents, vec![tip]);
    assert_eq!(c1.message, orig.message, "the message is kept");
    assert_eq!(c1.author, orig.author, "the author is kept");
    assert_eq!(c1.committer, committer);
    h.assert_commit_matches_git(r, &c1);
    let c2 = h
        .engine
        .cherry_pick(r, pick("feature~1", None))
        .await
        .expect("cherry_pick f2");
    assert_eq!(c2.parents, vec![c1.oid]);

    let o = h.scratch_clone(r, "oracle");
    o.git(&["checkout", "-q", &tip.to_string()]);
    o.git(&["cherry-pick", &h.rev(r, "feature~2").to_string()]);
    o.git(&["cherry-pick", &h.rev(r, "feature~1").to_string()]);
    assert_same_tree(&h, r, "main", &o);

    // A merge commit: without mainline InvalidArgument, with mainline 1 as git does it.
    let before = h.refs_snapshot(r);
    expect_kind(
        h.engine.cherry_pick(r, pick("merged", None)).await,
        ErrorKind::InvalidArgument,
    );
    assert_eq!(h.refs_snapshot(r), before);
    let mut m = pick("merged", None);
    m.mainline = Some(1);
    let c3 = h.engine.cherry_pick(r, m).await.expect("cherry_pick -m 1");
    assert_eq!(c3.parents, vec![c2.oid]);
    o.git(&["cherry-pick", "-m", "1", &h.rev(r, "merged").to_string()]);
    assert_same_tree(&h, r, "main", &o);
    h.fsck(r);
}

/// The messages of the fixture of [`verbatim_fixture`]: without a trailing newline, with
/// blanks git's cleanup would strip, and an ordinary one.
const VERBATIM_MESSAGES: [&str; 4] = [
    "subject without newline",
    "subject\n\nbody without newline",
    "  spaced subject  \n\n\nbody with trailing blanks   \n\n",
    "ordinary subject\n",
];

/// `side` (tags `m0`..`m3`) holds one commit per message of [`VERBATIM_MESSAGES`], stored as
/// they are; `main` moved on by one commit since `side` branched.
fn verbatim_fixture(h: &Harness) -> Fixture {
    let f = h.fixture("verbatim", |w| {
        w.commit("base", &[("a.txt", "a\n")]);
        w.checkout_new("side");
        for (i, message) in VERBATIM_MESSAGES.iter().enumerate() {
            w.write(&format!("s{i}.txt"), format!("side {i}\n"));
            w.git(&["add", "-A"]);
            let tree = w.git(&["write-tree"]);
            // `commit-tree` with the message on stdin stores it as it is.
            let out = w.runner().output_with(
                w.dir(),
                &["commit-tree", tree.trim(), "-p", "HEAD"],
                &[],
                Some(message.as_bytes()),
            );
            assert!(out.status.success(), "commit-tree");
            let id = String::from_utf8(out.stdout).expect("hex");
            w.git(&["reset", "-q", "--hard", id.trim()]);
            w.tag(&format!("m{i}"));
        }
        w.checkout("main");
        w.commit("main moves", &[("m.txt", "m\n")]);
    });
    for (i, message) in VERBATIM_MESSAGES.iter().enumerate() {
        let stored = h.cat_commit(&f.repo, h.rev(&f.repo, &format!("m{i}")));
        assert_eq!(
            stored.message, *message,
            "the fixture stores the message as it is"
        );
    }
    f
}

/// The environment that gives git `who` as author and committer, with `who`'s date.
fn identity_env(who: &Signature) -> Vec<(&'static str, String)> {
    let header = who.to_header();
    let zone = header.rsplit(' ').next().expect("a zone");
    let date = format!("{} {zone}", who.time);
    vec![
        ("GIT_AUTHOR_NAME", who.name.clone()),
        ("GIT_AUTHOR_EMAIL", who.email.clone()),
        ("GIT_AUTHOR_DATE", date.clone()),
        ("GIT_COMMITTER_NAME", who.name.clone()),
        ("GIT_COMMITTER_EMAIL", who.email.clone()),
        ("GIT_COMMITTER_DATE", date),
    ]
}

/// Runs git in `o` with `env` added; panics when it fails; returns `HEAD` afterwards.
fn oracle_run(
    o: &crate::git::RepoBuilder,
    env: &[(&'static str, String)],
    args: &[&str],
) -> String {
    let env: Vec<(&str, &OsStr)> = env.iter().map(|(k, v)| (*k, OsStr::new(v))).collect();
    let out = o.runner().output_with(o.dir(), args, &env, None);
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    o.rev("HEAD")
}

/// Issue 9, class 8 (messages without a trailing newline): `git cherry-pick` copies the
/// picked commit's message byte for byte (no newline added at the end, blanks kept), and
/// `git revert --no-edit` words its own; the commits the engine makes have the ids git's have
/// when git runs on the same repository with the same identity and dates.
pub async fn cherry_pick_and_revert_keep_message_bytes(factory: Factory) {
    let h = Harness::new(&factory);
    let messages = VERBATIM_MESSAGES;
    let f = verbatim_fixture(&h);
    let r = &f.repo;
    let o = h.scratch_clone(r, "oracle");
    let committer = h.sig();
    let env = identity_env(&committer);
    let oracle = |args: &[&str]| oracle_run(&o, &env, args);
    let request = |c: &str| PickCommit {
        commit: rev(c),
        branch: branch("main"),
        expected_tip: None,
        mainline: None,
        committer: committer.clone(),
    };
    for (i, message) in messages.iter().enumerate() {
        let tag = format!("m{i}");
        let picked = h
            .engine
            .cherry_pick(r, request(&tag))
            .await
            .expect("cherry_pick");
        let theirs = oracle(&["cherry-pick", &h.rev(r, &tag).to_string()]);
        assert_eq!(
            picked.message, *message,
            "the picked message is kept byte for byte"
        );
        assert_eq!(
            picked.oid.to_string(),
            theirs,
            "cherry-pick of {message:?} has git's commit id"
        );
        h.assert_commit_matches_git(r, &picked);
        let reverted = h
            .engine
            .revert(r, request(&picked.oid.to_string()))
            .await
            .expect("revert");
        let theirs = oracle(&["revert", "--no-edit", &picked.oid.to_string()]);
        assert_eq!(
            reverted.oid.to_string(),
            theirs,
            "revert of {message:?} has git's commit id"
        );
    }
    h.fsck(r);
}

/// Issue 9, class 8, for rebases: `git rebase` replays each commit with its message byte for
/// byte, also when a fixup folds into it; the engine's rebased commits have git's ids.
pub async fn rebase_keeps_picked_message_bytes(factory: Factory) {
    use gitapi_core::{Rebase, RebaseStep};
    let h = Harness::new(&factory);
    let f = verbatim_fixture(&h);
    let r = &f.repo;
    let side = h.rev(r, "side");
    h.git_repo(r, &["branch", "side2", "side"]);
    let o = h.scratch_clone(r, "oracle");
    let committer = h.sig();
    let env = identity_env(&committer);
    let request = |b: &str, plan| Rebase {
        branch: branch(b),
        expected_tip: Some(side),
        onto: rev("main"),
        upstream: None,
        plan,
        committer: committer.clone(),
    };
    let out = h
        .engine
        .rebase(r, request("side", None))
        .await
        .expect("rebase");
    o.git(&["checkout", "-q", "-b", "side", "origin/side"]);
    let theirs = oracle_run(&o, &env, &["rebase", "-q", "origin/main"]);
    assert_eq!(out.tip.to_string(), theirs, "the rebased tip has git's id");
    for (c, message) in out.commits.iter().zip(VERBATIM_MESSAGES) {
        assert_eq!(h.cat_commit(r, *c).message, message);
    }

    let step = |i: usize| h.rev(r, &format!("m{i}"));
    let plan = vec![
        RebaseStep::Pick { commit: step(0) },
        RebaseStep::Fixup { commit: step(1) },
        RebaseStep::Pick { commit: step(2) },
        RebaseStep::Pick { commit: step(3) },
    ];
    let out = h
        .engine
        .rebase(r, request("side2", Some(plan)))
        .await
        .expect("rebase with a fixup");
    o.git(&["checkout", "-q", "-b", "side2", "origin/side2"]);
    let mut env = env.clone();
    env.push(("GIT_SEQUENCE_EDITOR", "sed -i 2s/^pick/fixup/".to_owned()));
    let theirs = oracle_run(&o, &env, &["rebase", "-q", "-i", "origin/main"]);
    assert_eq!(
        out.tip.to_string(),
        theirs,
        "the rebased tip (with a fixup) has git's id"
    );
    h.fsck(r);
}

/// A conflicting cherry-pick is `Conflict` with the paths git reports, and changes nothing.
pub async fn cherry_pick_conflict(factory: Factory) {
    let h = Harness::new(&factory);
    let f = pick_fixture(&h);
    let r = &f.repo;
    let o = h.scratch_clone(r, "oracle");
    let out = o.git_output(&["cherry-pick", &h.rev(r, "feature").to_string()]);
    assert!(!out.status.success(), "git cherry-pick conflicts too");
    let unmerged = o.git(&["diff", "--name-only", "--diff-filter=U"]);
    let paths: Vec<&str> = unmerged.lines().collect();
    assert_eq!(paths, ["a.txt"]);

    let before = h.refs_snapshot(r);
    let res = h
        .engine
        .cherry_pick(
            r,
            PickCommit {
                commit: rev("feature"),
                branch: branch("main"),
                expected_tip: None,
                mainline: None,
                committer: h.sig(),
            },
        )
        .await;
    expect_merge_conflict(res, &paths);
    assert_eq!(h.refs_snapshot(r), before, "a conflict changes nothing");
    h.fsck(r);
}

/// `revert` gives the tree and message `git revert --no-edit` gives.
pub async fn revert_matches_git(factory: Factory) {
    let h = Harness::new(&factory);
    let f = pick_fixture(&h);
    let r = &f.repo;
    let tip = h.rev(r, "feature");
    let reverted = h.rev(r, "feature~1");
    let committer = h.sig();
    let c = h
        .engine
        .revert(
            r,
            PickCommit {
                commit: rev("feature~1"),
                branch: branch("feature"),
                expected_tip: Some(tip),
                mainline: None,
                committer: committer.clone(),
            },
        )
        .await
        .expect("revert");
    assert_eq!(c.parents, vec![tip]);
    assert_eq!(c.committer, committer);
    h.assert_commit_matches_git(r, &c);

    let o = h.scratch_clone(r, "oracle");
    o.git(&["checkout", "-q", &tip.to_string()]);
    o.git(&["revert", "--no-edit", &reverted.to_string()]);
    assert_same_tree(&h, r, "feature", &o);
    let theirs = GitCommit::parse(oid(&o.rev("HEAD")), &o.git(&["cat-file", "commit", "HEAD"]));
    assert_eq!(c.message, theirs.message, "the message git revert writes");

    let stale = h.rev(r, "feature~1");
    let before = h.refs_snapshot(r);
    expect_ref_mismatch(
        h.engine
            .revert(
                r,
                PickCommit {
                    commit: rev("feature~1"),
                    branch: branch("feature"),
                    expected_tip: Some(stale),
                    mainline: None,
                    committer,
                },
            )
            .await,
        "refs/heads/feature",
    );
    assert_eq!(h.refs_snapshot(r), before);
    h.fsck(r);
}

/// A conflicting revert is `Conflict` with the paths git reports, and changes nothing.
pub async fn revert_conflict(factory: Factory) {
    let h = Harness::new(&factory);
    let f = pick_fixture(&h);
    let r = &f.repo;
    // Line 9 changed again after c2 on a new branch `again`: reverting c2 there conflicts.
    let o = h.scratch_clone(r, "oracle");
    o.git(&["checkout", "-q", "-b", "again", "origin/main"]);
    o.commit(
        "c3: line 9 again",
        &[("a.txt", &ten_lines("base", &[(9, "main nine again")]))],
    );
    o.git(&["push", "-q", "origin", "again"]);
    let out = o.git_output(&["revert", "--no-edit", &h.rev(r, "main").to_string()]);
    assert!(!out.status.success(), "git revert conflicts too");
    let unmerged = o.git(&["diff", "--name-only", "--diff-filter=U"]);
    let paths: Vec<&str> = unmerged.lines().collect();
    assert_eq!(paths, ["a.txt"]);

    let before = h.refs_snapshot(r);
    let res = h
        .engine
        .revert(
            r,
            PickCommit {
                commit: rev("main"),
                branch: branch("again"),
                expected_tip: None,
                mainline: None,
                committer: h.sig(),
            },
        )
        .await;
    expect_merge_conflict(res, &paths);
    assert_eq!(h.refs_snapshot(r), before, "a conflict changes nothing");
}

/// A revert quotes the first line of the reverted message, as `git revert` does, even when the
/// first paragraph runs over two lines (libgit2's `summary` joins the paragraph: the libgit2
/// engine once quoted "two lines joined" where git quotes the first).
pub async fn revert_quotes_the_first_line(factory: Factory) {
    let h = Harness::new(&factory);
    let f = pick_fixture(&h);
    let r = &f.repo;
    let o = h.scratch_clone(r, "oracle");
    o.git(&["checkout", "-q", "-b", "wrapped", "origin/main"]);
    o.commit(
        "first line\nsecond line of the paragraph\n\nbody",
        &[("w.txt", "w\n")],
    );
    o.git(&["push", "-q", "origin", "wrapped"]);
    let c = h
        .engine
        .revert(
            r,
            PickCommit {
                commit: rev("wrapped"),
                branch: branch("wrapped"),
                expected_tip: None,
                mainline: None,
                committer: h.sig(),
            },
        )
        .await
        .expect("revert");
    o.git(&["revert", "--no-edit", "HEAD"]);
    let theirs = GitCommit::parse(oid(&o.rev("HEAD")), &o.git(&["cat-file", "commit", "HEAD"]));
    assert_eq!(c.message, theirs.message, "the message git revert writes");
    assert!(c.message.starts_with("Revert \"first line\"\n"));
}

/// `amend` rewrites the tip: same parents, new message or author, folded file changes.
pub async fn amend_branch_tip(factory: Factory) {
    let h = Harness::new(&factory);
    let f = files_fixture(&h);
    let r = &f.repo;
    let tip = h.rev(r, "main");
    let old = h.cat_commit(r, tip);
    // Cloned before the amend: the old tip is unreachable afterwards.
    let o = h.scratch_clone(r, "oracle");
    let committer = h.sig();
    let c = h
        .engine
        .amend(
            r,
            Amend {
                branch: branch("main"),
                expected_tip: Some(tip),
                message: Some("amended message".to_owned()),
                author: None,
                committer: committer.clone(),
                actions: vec![put("added-by-amend.txt", "amend\n", None)],
            },
        )
        .await
        .expect("amend");
    assert_eq!(c.parents, old.parents, "amend keeps the parents");
    assert_eq!(c.author, old.author, "amend keeps the author");
    assert_eq!(c.committer, committer);
    assert_eq!(c.message, "amended message\n");
    assert_eq!(h.rev(r, "main"), c.oid);
    h.assert_commit_matches_git(r, &c);
    o.git(&["checkout", "-q", &tip.to_string()]);
    o.write("added-by-amend.txt", "amend\n");
    o.git(&["add", "-A"]);
    o.git(&["commit", "-q", "--amend", "-m", "x"]);
    assert_same_tree(&h, r, "main", &o);

    let new_author = h.sig_of("New Author", "new@example.com", 0);
    let c2 = h
        .engine
        .amend(
            r,
            Amend {
                branch: branch("main"),
                expected_tip: None,
                message: None,
                author: Some(new_author.clone()),
                committer: h.sig(),
                actions: vec![],
            },
        )
        .await
        .expect("amend the author only");
    assert_eq!(c2.author, new_author);
    assert_eq!(c2.message, c.message, "the message is kept");
    assert_eq!(c2.tree, c.tree);
    assert_eq!(c2.parents, old.parents);

    let before = h.refs_snapshot(r);
    expect_ref_mismatch(
        h.engine
            .amend(
                r,
                Amend {
                    branch: branch("main"),
                    expected_tip: Some(c.oid),
                    message: Some("lost".to_owned()),
                    author: None,
                    committer: h.sig(),
                    actions: vec![],
                },
            )
            .await,
        "refs/heads/main",
    );
    assert_eq!(h.refs_snapshot(r), before);
    h.fsck(r);
}

/// `reset` of a branch is a compare-and-swap move.
pub async fn reset_branch_cas(factory: Factory) {
    let h = Harness::new(&factory);
    let f = super::log::history_fixture(&h, "hist");
    let r = &f.repo;
    let tip = h.rev(r, "main");
    let target = h.rev(r, "main~3");
    let reset = |to: &str, expected| Reset {
        target: ResetTarget::Branch {
            branch: branch("main"),
            expected_tip: expected,
        },
        to: rev(to),
        mode: ResetMode::Hard,
    };
    let before = h.refs_snapshot(r);
    let got = expect_ref_mismatch(
        h.engine.reset(r, reset("main~3", Some(target))).await,
        "refs/heads/main",
    );
    assert_eq!(got, (Some(target), Some(tip)));
    expect_kind(
        h.engine.reset(r, reset("nope", Some(tip))).await,
        ErrorKind::NotFound,
    );
    assert_eq!(h.refs_snapshot(r), before);

    let got = h
        .engine
        .reset(r, reset("main~3", Some(tip)))
        .await
        .expect("reset");
    assert_eq!(got, target);
    assert_eq!(h.rev(r, "main"), target);
    let got = h
        .engine
        .reset(r, reset(&tip.to_string(), None))
        .await
        .expect("reset back");
    assert_eq!(got, tip);
    assert_eq!(h.rev(r, "main"), tip);
    h.fsck(r);
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

/// `reset` of a workspace in soft, mixed and hard mode; status after each as expected and as
/// `git status --porcelain=v2` says.
pub async fn reset_workspace_modes(factory: Factory) {
    use FileStatus::{Added, Modified, Unmodified};
    let h = Harness::new(&factory);
    let f = h.fixture("resets", |w| {
        w.commit("c1", &[("a.txt", "a1\n"), ("b.txt", "b1\n")]);
        w.commit("c2", &[("a.txt", "a2\n"), ("c.txt", "c2\n")]);
    });
    let r = &f.repo;
    let (c1, c2) = (h.rev(r, "main~1"), h.rev(r, "main"));
    let w = ws("work");
    let info = h
        .engine
        .create_workspace(r, &w, None)
        .await
        .expect("create_workspace");
    assert_eq!(info.base, Some(c2));
    h.engine
        .put_file(
            r,
            &w,
            &path("b.txt"),
            Bytes::from_static(b"b changed\n"),
            None,
        )
        .await
        .expect("put_file");
    h.engine
        .put_file(r, &w, &path("d.txt"), Bytes::from_static(b"d\n"), None)
        .await
        .expect("put_file");
    let reset = |to: Oid, mode| Reset {
        target: ResetTarget::Workspace {
            workspace: w.clone(),
        },
        to: Rev::from(to),
        mode,
    };

    assert_eq!(
        h.engine
            .reset(r, reset(c1, ResetMode::Soft))
            .await
            .expect("soft"),
        c1
    );
    assert_eq!(
        h.engine.workspace(r, &w).await.expect("workspace").base,
        Some(c1)
    );
    assert_eq!(h.rev(r, "main"), c1, "the workspace's branch moves with it");
    let st = h.assert_status_matches_git(r, &w).await;
    assert_eq!(
        st,
        vec![
            entry("a.txt", Modified, Unmodified),
            entry("b.txt", Unmodified, Modified),
            entry("c.txt", Added, Unmodified),
            untracked("d.txt"),
        ]
    );

    assert_eq!(
        h.engine
            .reset(r, reset(c1, ResetMode::Mixed))
            .await
            .expect("mixed"),
        c1
    );
    let st = h.assert_status_matches_git(r, &w).await;
    assert_eq!(
        st,
        vec![
            entry("a.txt", Unmodified, Modified),
            entry("b.txt", Unmodified, Modified),
            untracked("c.txt"),
            untracked("d.txt"),
        ]
    );

    assert_eq!(
        h.engine
            .reset(r, reset(c2, ResetMode::Hard))
            .await
            .expect("hard"),
        c2
    );
    assert_eq!(h.rev(r, "main"), c2);
    let st = h.assert_status_matches_git(r, &w).await;
    assert_eq!(
        st,
        vec![untracked("d.txt")],
        "hard reset keeps only untracked files"
    );
    let dir = h.ws_dir(r, &w);
    assert_eq!(std::fs::read(dir.join("b.txt")).expect("b.txt"), b"b1\n");
    assert_eq!(std::fs::read(dir.join("a.txt")).expect("a.txt"), b"a2\n");
    h.fsck(r);
}
