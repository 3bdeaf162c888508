//! `git` itself against the real binary: push, full, partial and shallow clones, fetch after
//! REST commits, an atomic push, ls-remote over protocol v2; isomorphic-git from npm.

use gitapi_testkit::git::Git;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_clone_fetch_and_push_against_the_binary_on_libgit2() {
    clone_fetch_and_push("libgit2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_clone_fetch_and_push_against_the_binary_on_the_git_cli_engine() {
    clone_fetch_and_push("shell").await;
}

async fn clone_fetch_and_push(engine: &str) {
    let server = Server::start_with(None, engine);
    let http = http();
    let base = server.base.clone();
    create_repo(&http, &base, "demo", None).await;
    let git = Git::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let url = server.url("demo", None);
    let server_dir = server.repo_dir("demo");

    // Push a branch, a side branch and an annotated tag into the empty repository.
    let work = work_repo(&git, &tmp.path().join("work"));
    git_ok(&git, work.dir(), &["push", &url, "main", "side", "v1"]);
    fsck(&git, &server_dir);
    let pushed = local_refs(&git, work.dir(), "refs/");
    assert_eq!(rest_refs(&http, &base, "demo", None).await, pushed);

    // ls-remote speaks protocol v2, and answers what git's own for-each-ref says.
    let out = git_env(
        &git,
        tmp.path(),
        &["ls-remote", &url],
        &[("GIT_TRACE_PACKET", "1")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("git< version 2"), "v2 negotiated");
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    let head = &pushed["refs/heads/main"];
    assert!(listed.contains(&format!("{head}\tHEAD\n")), "{listed}");
    for (name, oid) in &pushed {
        assert!(
            listed.contains(&format!("{oid}\t{name}\n")),
            "{name} in {listed}"
        );
    }
    let peeled = git.run(work.dir(), &["rev-parse", "v1^{}"]);
    assert!(listed.contains(&format!("{}\trefs/tags/v1^{{}}\n", peeled.trim())));

    // A full clone: same refs, same tree, fsck-clean.
    let full = tmp.path().join("full");
    git_ok(
        &git,
        tmp.path(),
        &["clone", "-q", &url, full.to_str().expect("utf-8")],
    );
    assert_eq!(git.run(&full, &["rev-parse", "HEAD"]), format!("{head}\n"));
    assert_eq!(
        std::fs::read_to_string(full.join("src/b.txt")).expect("checked out"),
        "b\n".repeat(2000)
    );
    let out = git.output(&full, &["fsck", "--strict"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // A partial clone without blobs, then one blob fetched lazily.
    let partial = tmp.path().join("partial");
    git_ok(
        &git,
        tmp.path(),
        &[
            "clone",
            "-q",
            "--no-checkout",
            "--filter=blob:none",
            &url,
            partial.to_str().expect("utf-8"),
        ],
    );
    let missing = git.run(
        &partial,
        &["rev-list", "--objects", "--missing=print", "HEAD"],
    );
    assert!(
        missing.lines().any(|l| l.starts_with('?')),
        "blobs were filtered out"
    );
    let blob = git_ok(&git, &partial, &["cat-file", "-p", "HEAD:README.md"]);
    assert_eq!(blob, "hello\n");

    // A shallow clone of depth one.
    let shallow = tmp.path().join("shallow");
    git_ok(
        &git,
        tmp.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &url,
            shallow.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(git.run(&shallow, &["rev-list", "--count", "HEAD"]), "1\n");

    // Commits made through REST arrive with git fetch.
    let res = rest_commit(&http, &base, "demo", "main", head, "from-rest.txt", None).await;
    assert_eq!(
        res.status().as_u16(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let rest_tip = rest_refs(&http, &base, "demo", None).await["refs/heads/main"].clone();
    git_ok(&git, &full, &["fetch", "-q", "origin"]);
    assert_eq!(
        git.run(&full, &["rev-parse", "origin/main"]),
        format!("{rest_tip}\n")
    );
    assert_eq!(
        git.run(&full, &["show", "origin/main:from-rest.txt"]),
        "from-rest.txt\n"
    );

    // A fast-forward push, a new branch and a lightweight tag from the clone.
    git.run(&full, &["merge", "-q", "--ff-only", "origin/main"]);
    std::fs::write(full.join("c.txt"), "c\n").expect("write");
    git.run(&full, &["add", "c.txt"]);
    git.run(&full, &["commit", "-q", "-m", "third"]);
    git.run(&full, &["tag", "light"]);
    git_ok(
        &git,
        &full,
        &[
            "push",
            "-q",
            "origin",
            "main",
            "main:refs/heads/topic",
            "light",
        ],
    );
    fsck(&git, &server_dir);
    let after = rest_refs(&http, &base, "demo", None).await;
    let local_main = git.run(&full, &["rev-parse", "main"]);
    for r in ["refs/heads/main", "refs/heads/topic", "refs/tags/light"] {
        assert_eq!(format!("{}\n", after[r]), local_main, "{r}");
    }

    // An atomic push of two refs: both move.
    std::fs::write(full.join("d.txt"), "d\n").expect("write");
    git.run(&full, &["add", "d.txt"]);
    git.run(&full, &["commit", "-q", "-m", "fourth"]);
    git_ok(
        &git,
        &full,
        &["push", "-q", "--atomic", "origin", "main", "main:side"],
    );
    fsck(&git, &server_dir);
    let after = rest_refs(&http, &base, "demo", None).await;
    let tip = git.run(&full, &["rev-parse", "main"]);
    assert_eq!(format!("{}\n", after["refs/heads/main"]), tip);
    assert_eq!(format!("{}\n", after["refs/heads/side"]), tip);
    // REST reads what was pushed, byte for byte.
    let res = http
        .get(format!("{base}/v1/repos/demo/blob?rev=main&path=d.txt"))
        .send()
        .await
        .expect("GET blob");
    assert_eq!(res.bytes().await.expect("body").as_ref(), b"d\n");

    // Deleting a branch and a tag by push.
    git_ok(
        &git,
        &full,
        &["push", "-q", "origin", ":topic", ":refs/tags/light"],
    );
    let after = rest_refs(&http, &base, "demo", None).await;
    assert!(!after.contains_key("refs/heads/topic") && !after.contains_key("refs/tags/light"));
    fsck(&git, &server_dir);

    // A protocol v0 client works too.
    let v0 = tmp.path().join("v0");
    let out = git_env(
        &git,
        tmp.path(),
        &[
            "-c",
            "protocol.version=0",
            "clone",
            "-q",
            &url,
            v0.to_str().expect("utf-8"),
        ],
        &[("GIT_TRACE_PACKET", "1")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("git< version 2"));
    assert_eq!(git.run(&v0, &["rev-parse", "HEAD"]), tip);

    // No quarantine is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(server_dir.join("objects"))
        .expect("objects")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("incoming-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_push_is_rejected_and_a_forced_one_lands_without_protection() {
    let server = Server::start(None);
    let http = http();
    create_repo(&http, &server.base, "race", None).await;
    let git = Git::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let url = server.url("race", None);
    let work = work_repo(&git, &tmp.path().join("work"));
    git_ok(&git, work.dir(), &["push", "-q", &url, "main"]);
    let tip = git.run(work.dir(), &["rev-parse", "main"]);
    // The server moves on through REST; the client's push is now a non-fast-forward.
    let res = rest_commit(
        &http,
        &server.base,
        "race",
        "main",
        tip.trim(),
        "x.txt",
        None,
    )
    .await;
    assert_eq!(res.status().as_u16(), 201);
    work.commit("local", &[("y.txt", "y\n")]);
    let out = git_http(&git, work.dir(), &["push", &url, "main"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("rejected"), "{}", stderr(&out));
    // Without protection, a forced push replaces the server's history, as with git.
    git_ok(&git, work.dir(), &["push", "-q", "--force", &url, "main"]);
    let tip = git.run(work.dir(), &["rev-parse", "main"]);
    let refs = rest_refs(&http, &server.base, "race", None).await;
    assert_eq!(format!("{}\n", refs["refs/heads/main"]), tip);
    fsck(&git, &server.repo_dir("race"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isomorphic_git_clones_and_pushes() {
    let modules =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/node/node_modules");
    assert!(
        modules.join("isomorphic-git").is_dir(),
        "isomorphic-git is missing: run scripts/setup-tools.sh"
    );
    let server = Server::start(None);
    let http = http();
    create_repo(&http, &server.base, "iso", None).await;
    let git = Git::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = work_repo(&git, &tmp.path().join("work"));
    let url = server.url("iso", None);
    git_ok(&git, work.dir(), &["push", "-q", &url, "main"]);
    let tip = git.run(work.dir(), &["rev-parse", "main"]);

    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smart_http/isogit.cjs");
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&modules)
        .arg(&url)
        .arg(tmp.path().join("iso"))
        .output()
        .await
        .expect("node runs");
    assert!(
        out.status.success(),
        "isomorphic-git failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(format!("{}\n", v["cloned"].as_str().expect("oid")), tip);
    assert_eq!(v["readme"], "hello\n");
    assert_eq!(v["ok"], true, "{v}");
    let refs = rest_refs(&http, &server.base, "iso", None).await;
    assert_eq!(
        refs["refs/heads/iso"],
        v["committed"].as_str().expect("oid")
    );
    let res = http
        .get(format!(
            "{}/v1/repos/iso/blob?rev=iso&path=iso.txt",
            server.base
        ))
        .send()
        .await
        .expect("GET blob");
    assert_eq!(res.text().await.expect("text"), "from isomorphic-git\n");
    fsck(&git, &server.repo_dir("iso"));
}

fn pkt(out: &mut Vec<u8>, line: &str) {
    out.extend_from_slice(format!("{:04x}{line}\n", line.len() + 5).as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_bodies_and_object_info_over_protocol_v2() {
    use std::io::Write;
    let server = Server::start(None);
    let http = http();
    create_repo(&http, &server.base, "v2", None).await;
    let git = Git::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = work_repo(&git, &tmp.path().join("work"));
    let url = server.url("v2", None);
    git_ok(&git, work.dir(), &["push", "-q", &url, "main", "v1"]);

    // ls-refs, gzip-compressed as git sends large requests.
    let mut body = Vec::new();
    pkt(&mut body, "command=ls-refs");
    body.extend_from_slice(b"0001");
    pkt(&mut body, "peel");
    pkt(&mut body, "ref-prefix refs/tags/");
    body.extend_from_slice(b"0000");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&body).expect("gzip");
    let res = http
        .post(format!("{url}/git-upload-pack"))
        .header("git-protocol", "version=2")
        .header("content-type", "application/x-git-upload-pack-request")
        .header("content-encoding", "gzip")
        .body(gz.finish().expect("gzip"))
        .send()
        .await
        .expect("POST ls-refs");
    assert_eq!(res.status().as_u16(), 200);
    let text = res.text().await.expect("text");
    let tag = git.run(work.dir(), &["rev-parse", "v1"]);
    let peeled = git.run(work.dir(), &["rev-parse", "v1^{}"]);
    let line = format!("{} refs/tags/v1 peeled:{}\n", tag.trim(), peeled.trim());
    assert_eq!(text, format!("{:04x}{line}0000", line.len() + 4));

    // object-info: the size of a blob, as git cat-file -s says.
    let blob = git.run(work.dir(), &["rev-parse", "main:src/b.txt"]);
    let mut body = Vec::new();
    pkt(&mut body, "command=object-info");
    body.extend_from_slice(b"0001");
    pkt(&mut body, "size");
    pkt(&mut body, &format!("oid {}", blob.trim()));
    body.extend_from_slice(b"0000");
    let res = http
        .post(format!("{url}/git-upload-pack"))
        .header("git-protocol", "version=2")
        .header("content-type", "application/x-git-upload-pack-request")
        .body(body)
        .send()
        .await
        .expect("POST object-info");
    assert_eq!(res.status().as_u16(), 200);
    let text = res.text().await.expect("text");
    let size = git.run(work.dir(), &["cat-file", "-s", blob.trim()]);
    assert!(
        text.contains(&format!("{} {}", blob.trim(), size.trim())),
        "{text}"
    );
}
