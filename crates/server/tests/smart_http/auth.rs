//! Tokens on the Smart HTTP door: Basic (what git's credential helpers send) and Bearer; a
//! 401 asks for credentials; read tokens fetch but do not push; a token of another repository
//! learns nothing about this one.

use gitapi_testkit::git::Git;

use crate::common::*;

const CONFIG: &str = r#"version = 1

[[tokens]]
name = "admin"
token = "admin-token-0123456789"
scopes = ["admin"]
repos = ["*"]

[[tokens]]
name = "reader"
token = "reader-token-0123456789"
scopes = ["read"]
repos = ["team-*"]

[[tokens]]
name = "writer"
token = "writer-token-0123456789"
scopes = ["read", "write"]
repos = ["team-*"]

[[tokens]]
name = "stranger"
token = "stranger-token-0123456"
scopes = ["read", "write"]
repos = ["other-*"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_decide_who_fetches_and_pushes() {
    let server = Server::start(Some(CONFIG));
    let http = http();
    let base = server.base.clone();
    create_repo(&http, &base, "team-a", Some("admin-token-0123456789")).await;
    let git = Git::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = work_repo(&git, &tmp.path().join("work"));

    // No credentials: 401 with a Basic challenge, for fetch and for push.
    for service in ["git-upload-pack", "git-receive-pack"] {
        let res = http
            .get(format!("{base}/team-a.git/info/refs?service={service}"))
            .send()
            .await
            .expect("GET info/refs");
        assert_eq!(res.status().as_u16(), 401, "{service}");
        assert_eq!(
            res.headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Basic realm=\"gitapi\"")
        );
    }
    let out = git_http(
        &git,
        tmp.path(),
        &["ls-remote", &server.url("team-a", None)],
    );
    assert!(!out.status.success());

    // The writer pushes with Basic credentials; Bearer works as well.
    let writer = server.url("team-a", Some("writer-token-0123456789"));
    git_ok(&git, work.dir(), &["push", "-q", &writer, "main"]);
    let res = http
        .get(format!(
            "{base}/team-a.git/info/refs?service=git-upload-pack"
        ))
        .bearer_auth("writer-token-0123456789")
        .send()
        .await
        .expect("GET info/refs");
    assert_eq!(res.status().as_u16(), 200);

    // The reader clones but cannot push.
    let reader = server.url("team-a", Some("reader-token-0123456789"));
    let clone = tmp.path().join("clone");
    git_ok(
        &git,
        tmp.path(),
        &["clone", "-q", &reader, clone.to_str().expect("utf-8")],
    );
    work.commit("more", &[("m.txt", "m\n")]);
    let out = git_http(&git, work.dir(), &["push", &reader, "main"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("403"), "{}", stderr(&out));

    // A token for other repositories: the same 403 whether or not the repository exists.
    let mut answers = Vec::new();
    for repo in ["team-a", "team-missing"] {
        for service in ["git-upload-pack", "git-receive-pack"] {
            let res = http
                .get(format!("{base}/{repo}.git/info/refs?service={service}"))
                .bearer_auth("stranger-token-0123456")
                .send()
                .await
                .expect("GET info/refs");
            let status = res.status().as_u16();
            let body = res.text().await.expect("body").replace(repo, "REPO");
            answers.push((service, status, body));
        }
    }
    assert_eq!(
        answers[0], answers[2],
        "upload-pack: existing and missing look alike"
    );
    assert_eq!(
        answers[1], answers[3],
        "receive-pack: existing and missing look alike"
    );
    assert_eq!(answers[0].1, 403);
    let out = git_http(
        &git,
        tmp.path(),
        &[
            "ls-remote",
            &server.url("team-a", Some("stranger-token-0123456")),
        ],
    );
    assert!(!out.status.success());
}
