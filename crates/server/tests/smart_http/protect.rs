//! Protected refs hold against git push: no force, no deletion, signed commits, each refused
//! with the rule named in git's own output and nothing of the refused push left on the server.

use gitapi_testkit::git::Git;

use crate::common::*;

/// Every object file and pack of a server repository (loose objects and pack names).
fn object_files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join("objects")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read objects").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).expect("inside").display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_branches_refuse_force_and_delete_pushes_and_keep_nothing() {
    let server = Server::start(None);
    let http = http();
    let base = server.base.clone();
    create_repo(&http, &base, "guarded", None).await;
    let git = Git::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let url = server.url("guarded", None);
    let server_dir = server.repo_dir("guarded");
    let work = work_repo(&git, &tmp.path().join("work"));
    git_ok(&git, work.dir(), &["push", "-q", &url, "main", "side"]);
    let res = http
        .put(format!("{base}/v1/repos/guarded/protections"))
        .json(&serde_json::json!({"pattern": "refs/heads/main", "noForcePush": true, "noDeletion": true}))
        .send()
        .await
        .expect("PUT protections");
    assert_eq!(res.status().as_u16(), 200);
    let refs_before = rest_refs(&http, &base, "guarded", None).await;
    let objects_before = object_files(&server_dir);

    // A rewritten history, pushed with --force: refused, the rule named.
    git.run(work.dir(), &["reset", "-q", "--hard", "HEAD~1"]);
    work.commit("rewritten", &[("rewrite.txt", "new history\n")]);
    let rewritten = git.run(work.dir(), &["rev-parse", "HEAD"]);
    let out = git_http(&git, work.dir(), &["push", "--force", &url, "main"]);
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(text.contains("[remote rejected] main -> main"), "{text}");
    assert!(
        text.contains("protected") && text.contains("force update"),
        "{text}"
    );

    // Deleting the branch: refused, the rule named.
    let out = git_http(&git, work.dir(), &["push", &url, ":main"]);
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(text.contains("[remote rejected] main"), "{text}");
    assert!(text.contains("deletion is not allowed"), "{text}");

    // Nothing moved, and no object of the refused push is on the server, loose or packed.
    assert_eq!(rest_refs(&http, &base, "guarded", None).await, refs_before);
    assert_eq!(object_files(&server_dir), objects_before);
    let out = git.output(&server_dir, &["cat-file", "-e", rewritten.trim()]);
    assert!(
        !out.status.success(),
        "the refused commit is not in the repository"
    );
    fsck(&git, &server_dir);

    // A non-atomic push of an allowed and a refused ref: git's per-ref answer.
    let out = git_http(
        &git,
        work.dir(),
        &["push", "--force", &url, "main", "HEAD:refs/heads/side"],
    );
    let text = stderr(&out);
    assert!(text.contains("[remote rejected] main -> main"), "{text}");
    assert!(
        text.contains("+ ") || text.contains("forced update"),
        "side moved: {text}"
    );
    let after = rest_refs(&http, &base, "guarded", None).await;
    assert_eq!(after["refs/heads/main"], refs_before["refs/heads/main"]);
    assert_eq!(format!("{}\n", after["refs/heads/side"]), rewritten);

    // Atomic: one refused ref refuses all.
    work.commit("more", &[("more.txt", "more\n")]);
    let out = git_http(
        &git,
        work.dir(),
        &[
            "push",
            "--atomic",
            "--force",
            &url,
            "main",
            "HEAD:refs/heads/side",
        ],
    );
    assert!(!out.status.success());
    assert_eq!(rest_refs(&http, &base, "guarded", None).await, after);
    fsck(&git, &server_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_signatures_are_checked_on_the_pushed_commits() {
    let server = Server::start(None);
    let http = http();
    let base = server.base.clone();
    create_repo(&http, &base, "signed", None).await;
    let git = Git::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let url = server.url("signed", None);
    let work = work_repo(&git, &tmp.path().join("work"));
    git_ok(&git, work.dir(), &["push", "-q", &url, "main"]);
    let res = http
        .put(format!("{base}/v1/repos/signed/protections"))
        .json(&serde_json::json!({"pattern": "refs/heads/*", "requireSignedCommits": true}))
        .send()
        .await
        .expect("PUT protections");
    assert_eq!(res.status().as_u16(), 200);
    work.commit("unsigned", &[("u.txt", "u\n")]);
    let out = git_http(&git, work.dir(), &["push", &url, "main"]);
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(text.contains("signed commits are required"), "{text}");
    fsck(&git, &server.repo_dir("signed"));
}
