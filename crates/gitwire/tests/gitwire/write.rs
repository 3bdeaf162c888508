//! Pushes checked with `git fsck --strict` and `git log` on the server.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use gitwire::{ErrorKind, Mode, Oid, RefUpdate, Signature, StagedWriter, WriteMode, WriterOptions};

use crate::client;
use crate::support::{GitServer, git, writable_copy};

fn me() -> Signature {
    Signature {
        name: "Wire Writer".into(),
        email: "wire@example.com".into(),
        time: 1_800_000_000,
        tz: "+0100".into(),
    }
}

fn fsck(repo: &Path) {
    let out = crate::support::git_cmd(repo)
        .args(["fsck", "--strict", "--no-dangling"])
        .output()
        .expect("git fsck");
    assert!(
        out.status.success(),
        "fsck: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn rev(repo: &Path, spec: &str) -> Oid {
    git(repo, &["rev-parse", spec]).trim().parse().expect("id")
}

async fn served(name: &str) -> (tempfile::TempDir, std::path::PathBuf, GitServer) {
    let (tmp, repo) = writable_copy(name);
    let server = GitServer::start(tmp.path()).await;
    (tmp, repo, server)
}

#[tokio::test]
async fn staged_writer_commits_twice_and_pushes_once() {
    let (_tmp, repo, server) = served("main.git").await;
    let c = client(&server.url("main.git"));
    let base = rev(&repo, "main");
    let mut w = StagedWriter::new(
        &c,
        "main",
        WriterOptions {
            mode: WriteMode::Memory,
            signer: None,
        },
    )
    .await
    .expect("writer");
    assert_eq!(w.base(), Some(base));
    w.create_file("new/deep/file.txt", &b"new\n"[..], Mode::FILE)
        .expect("create");
    w.update_file("README.md", &b"changed\n"[..])
        .expect("update");
    w.put_file("bin/tool", &b"#!/bin/sh\n"[..], Some(Mode::EXECUTABLE))
        .expect("exec");
    w.put_file("alias", &b"README.md"[..], Some(Mode::SYMLINK))
        .expect("symlink");
    assert_eq!(
        w.create_file("README.md", &b"x"[..], Mode::FILE)
            .expect_err("exists")
            .kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        w.put_file("README.md/x", &b"x"[..], None)
            .expect_err("file as dir")
            .kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        w.put_file("../x", &b"x"[..], None)
            .expect_err("bad path")
            .kind(),
        ErrorKind::InvalidArgument
    );
    let first = w.commit("first", &me(), None).expect("commit");
    w.move_file("src/core.rs", "lib/core.rs")
        .expect("move file");
    w.move_directory("docs", "manual").expect("move dir");
    w.delete_file("empty.txt").expect("delete");
    w.delete_directory("data").expect("delete dir");
    assert_eq!(
        w.read_file("new/deep/file.txt")
            .await
            .expect("read staged")
            .as_ref(),
        b"new\n"
    );
    let second = w.commit("second", &me(), None).expect("commit");
    assert_eq!(w.staged_commits(), &[first, second]);
    assert_eq!(rev(&repo, "main"), base, "nothing is pushed before push()");
    let tip = w.push().await.expect("push");
    assert_eq!(tip, Some(second));
    fsck(&repo);
    assert_eq!(rev(&repo, "main"), second);
    assert_eq!(
        git(&repo, &["log", "--format=%s|%an|%ae", "-3", "main"]),
        "second|Wire Writer|wire@example.com\nfirst|Wire Writer|wire@example.com\nmanual: extend|A U Thor|author@example.com\n"
    );
    let tree = git(&repo, &["ls-tree", "-r", "main"]);
    assert!(tree.contains("100755 blob") && tree.contains("\tbin/tool"));
    assert!(tree.contains("120000 blob") && tree.contains("\talias"));
    assert!(tree.contains("160000 commit"), "submodule entry kept");
    assert!(tree.contains("\tlib/core.rs") && tree.contains("\tmanual/manual.md"));
    assert!(
        !tree.contains("\tdata/") && !tree.contains("\tempty.txt") && !tree.contains("\tdocs/")
    );
    assert!(tree.contains("100755 blob") && tree.contains("\tscript.sh"));
    assert_eq!(git(&repo, &["show", "main:new/deep/file.txt"]), "new\n");
    // The pushed commits read back through gitwire.
    let back = c.get_commit(second).await.expect("commit");
    assert_eq!(back.parents, vec![first]);
    // A second round on the same writer continues from the pushed tip.
    w.put_file("again.txt", &b"again\n"[..], None).expect("put");
    let third = w.commit("third", &me(), None).expect("commit");
    w.push().await.expect("push");
    assert_eq!(rev(&repo, "main"), third);
    fsck(&repo);
}

#[tokio::test]
async fn push_is_compare_and_swap_and_keeps_state_on_failure() {
    let (_tmp, repo, server) = served("main.git").await;
    let c = client(&server.url("main.git"));
    let mut a = StagedWriter::new(&c, "main", WriterOptions::default())
        .await
        .expect("writer");
    let mut b = StagedWriter::new(&c, "main", WriterOptions::default())
        .await
        .expect("writer");
    a.put_file("a.txt", &b"a\n"[..], None).expect("put");
    a.commit("a", &me(), None).expect("commit");
    b.put_file("b.txt", &b"b\n"[..], None).expect("put");
    let b_commit = b.commit("b", &me(), None).expect("commit");
    let a_tip = a.push().await.expect("first push wins");
    let err = b.push().await.expect_err("b started from the old base");
    match &err {
        gitwire::Error::RefConflict {
            refname,
            expected,
            actual,
        } => {
            assert_eq!(refname, "refs/heads/main");
            assert_eq!(*expected, b.base());
            assert_eq!(*actual, a_tip);
        }
        other => panic!("expected a ref conflict, got {other}"),
    }
    assert_eq!(b.staged_commits(), &[b_commit], "staged state kept");
    assert_eq!(rev(&repo, "main"), a_tip.expect("pushed"));

    // A push the server provably did not process (503) is not retried, and can be retried.
    let mut w = StagedWriter::new(&c, "main", WriterOptions::default())
        .await
        .expect("writer");
    w.put_file("c.txt", &b"c\n"[..], None).expect("put");
    let c_commit = w.commit("c", &me(), None).expect("commit");
    server.state.fail_receive_pack.store(1, Ordering::SeqCst);
    let before = server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("git-receive-pack"))
        .count();
    assert_eq!(
        w.push().await.expect_err("503").kind(),
        ErrorKind::Unavailable
    );
    let after = server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("git-receive-pack"))
        .count();
    assert_eq!(after - before, 1, "a push is sent once");
    w.push().await.expect("retry by the caller");
    assert_eq!(rev(&repo, "main"), c_commit);
    fsck(&repo);
}

#[tokio::test]
async fn disk_and_auto_modes_push_the_same_way() {
    let (_tmp, repo, server) = served("main.git").await;
    let c = client(&server.url("main.git"));
    for (i, mode) in [
        WriteMode::Disk,
        WriteMode::Auto {
            max_memory_bytes: 10,
        },
    ]
    .into_iter()
    .enumerate()
    {
        let mut w = StagedWriter::new(&c, "main", WriterOptions { mode, signer: None })
            .await
            .expect("writer");
        let big: Vec<u8> = (0..300_000u32).flat_map(|n| n.to_le_bytes()).collect();
        w.put_file(&format!("spill/{i}.bin"), big.clone(), None)
            .expect("put");
        w.put_file("small.txt", format!("{i}\n").into_bytes(), None)
            .expect("put");
        let commit = w.commit("spill", &me(), None).expect("commit");
        w.push().await.expect("push");
        assert_eq!(rev(&repo, "main"), commit);
        let out = crate::support::git_cmd(&repo)
            .args(["cat-file", "blob", &format!("main:spill/{i}.bin")])
            .output()
            .expect("git");
        assert_eq!(out.stdout, big);
    }
    fsck(&repo);
}

#[tokio::test]
async fn new_branch_in_empty_repository() {
    let (_tmp, repo, server) = served("empty.git").await;
    let c = client(&server.url("empty.git"));
    let mut w = StagedWriter::new(&c, "main", WriterOptions::default())
        .await
        .expect("writer");
    assert_eq!(w.base(), None);
    w.put_file("hello.txt", &b"hi\n"[..], None).expect("put");
    let root = w.commit("root", &me(), None).expect("commit");
    w.push().await.expect("push");
    assert_eq!(rev(&repo, "main"), root);
    assert_eq!(git(&repo, &["log", "--format=%s", "main"]), "root\n");
    fsck(&repo);
}

#[tokio::test]
async fn ref_updates_take_expected_old_values_and_can_be_atomic() {
    let (_tmp, repo, server) = served("main.git").await;
    let c = client(&server.url("main.git"));
    let main = rev(&repo, "main");
    let prev = rev(&repo, "main~1");
    let create = RefUpdate {
        name: "refs/heads/copy".into(),
        old: None,
        new: Some(main),
    };
    c.update_refs(std::slice::from_ref(&create), false)
        .await
        .expect("create");
    assert_eq!(rev(&repo, "copy"), main);
    let err = c.update_refs(&[create], false).await.expect_err("exists");
    assert_eq!(err.kind(), ErrorKind::RefConflict);
    let wrong = RefUpdate {
        name: "refs/heads/copy".into(),
        old: Some(prev),
        new: Some(prev),
    };
    assert_eq!(
        c.update_refs(&[wrong], false)
            .await
            .expect_err("stale")
            .kind(),
        ErrorKind::RefConflict
    );
    let mv = RefUpdate {
        name: "refs/heads/copy".into(),
        old: Some(main),
        new: Some(prev),
    };
    c.update_refs(&[mv], false).await.expect("update");
    assert_eq!(rev(&repo, "copy"), prev);
    // Atomic: one stale update stops both.
    let ok = RefUpdate {
        name: "refs/heads/copy".into(),
        old: Some(prev),
        new: Some(main),
    };
    let stale = RefUpdate {
        name: "refs/heads/feature".into(),
        old: Some(prev),
        new: Some(main),
    };
    assert_eq!(
        c.update_refs(&[ok.clone(), stale], true)
            .await
            .expect_err("stale")
            .kind(),
        ErrorKind::RefConflict
    );
    assert_eq!(rev(&repo, "copy"), prev);
    let feature = rev(&repo, "feature");
    let both = [
        ok,
        RefUpdate {
            name: "refs/heads/feature".into(),
            old: Some(feature),
            new: Some(main),
        },
    ];
    c.update_refs(&both, true).await.expect("atomic");
    assert_eq!((rev(&repo, "copy"), rev(&repo, "feature")), (main, main));
    let delete = RefUpdate {
        name: "refs/heads/copy".into(),
        old: Some(main),
        new: None,
    };
    c.update_refs(&[delete], false).await.expect("delete");
    assert!(!git(&repo, &["for-each-ref"]).contains("refs/heads/copy"));
    fsck(&repo);
}

#[tokio::test]
async fn one_file_in_five_thousand() {
    let (_tmp, repo, server) = served("big.git").await;
    let c = client(&server.url("big.git"));
    let mut w = StagedWriter::new(&c, "main", WriterOptions::default())
        .await
        .expect("writer");
    w.update_file("d250/f5.txt", &b"edited\n"[..])
        .expect("update");
    let commit = w.commit("edit one", &me(), None).expect("commit");
    w.push().await.expect("push");
    assert_eq!(rev(&repo, "main"), commit);
    // Only the blob, two trees and the commit travel.
    let pushes: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("git-receive-pack") && r.method == "POST")
        .collect();
    let body = &pushes.last().expect("one push").body;
    let pack = &body[body.windows(4).position(|w| w == b"PACK").expect("pack")..];
    assert_eq!(
        u32::from_be_bytes([pack[8], pack[9], pack[10], pack[11]]),
        4
    );
    assert_eq!(
        git(&repo, &["diff", "--name-status", "main~1", "main"]),
        "M\td250/f5.txt\n"
    );
    fsck(&repo);
}

#[tokio::test]
async fn ssh_signed_commits_verify_with_git() {
    let (tmp, repo, server) = served("main.git").await;
    let key_path = tmp.path().join("key");
    let st = std::process::Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "wire@example.com",
            "-f",
        ])
        .arg(&key_path)
        .status()
        .expect("ssh-keygen");
    assert!(st.success());
    let pem = std::fs::read_to_string(&key_path).expect("key");
    let public = std::fs::read_to_string(key_path.with_extension("pub")).expect("pub");
    let allowed = tmp.path().join("allowed");
    std::fs::write(&allowed, format!("wire@example.com {public}")).expect("write");
    let signer = Arc::new(gitwire::SshSigner::from_openssh(&pem).expect("key"));
    let c = client(&server.url("main.git"));
    let mut w = StagedWriter::new(
        &c,
        "main",
        WriterOptions {
            signer: Some(signer),
            ..Default::default()
        },
    )
    .await
    .expect("writer");
    w.put_file("signed.txt", &b"signed\n"[..], None)
        .expect("put");
    w.commit("signed", &me(), None).expect("commit");
    w.push().await.expect("push");
    fsck(&repo);
    let out = crate::support::git_cmd(&repo)
        .args([
            "-c",
            "gpg.format=ssh",
            "-c",
            &format!("gpg.ssh.allowedSignersFile={}", allowed.display()),
            "verify-commit",
            "main",
        ])
        .output()
        .expect("git verify-commit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
