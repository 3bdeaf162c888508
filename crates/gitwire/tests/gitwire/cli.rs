//! The `gitwire` binary against the real server.

use std::path::Path;

use crate::fixture_server;
use crate::support::{GitServer, fixtures, git, writable_copy};

/// Runs the `gitwire` binary: success, stdout, stderr.
pub(crate) async fn gitwire(args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_gitwire"))
        .args(args)
        .env_remove("GITWIRE_TOKEN")
        .output()
        .await
        .expect("run gitwire");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn main_repo() -> std::path::PathBuf {
    fixtures().repo("main.git")
}

#[tokio::test]
async fn read_commands_match_git() {
    let server = fixture_server().await;
    let url = server.url("main.git");
    let (ok, out, _) = gitwire(&["cat", &url, "main:README.md"]).await;
    assert!(ok);
    assert_eq!(out, git(&main_repo(), &["show", "main:README.md"]));
    let (ok, out, _) = gitwire(&["ls-tree", &url, "main", "-r"]).await;
    assert!(ok);
    assert_eq!(out, git(&main_repo(), &["ls-tree", "-r", "main"]));
    let (ok, out, _) = gitwire(&["ls-tree", &url, "v1.0:docs"]).await;
    assert!(ok);
    assert_eq!(
        out,
        git(&main_repo(), &["ls-tree", "v1.0:docs"]).replace('\t', "\tdocs/")
    );
    let (ok, out, _) = gitwire(&["log", &url, "main", "-n", "4"]).await;
    assert!(ok);
    assert_eq!(
        out,
        git(&main_repo(), &["log", "--format=%H %s", "-n4", "main"])
    );
    let (ok, out, _) = gitwire(&["log", &url, "main", "--path", "docs"]).await;
    assert!(ok);
    assert_eq!(
        out,
        git(
            &main_repo(),
            &["log", "--format=%H %s", "main", "--", "docs"]
        )
    );
    let (ok, out, _) = gitwire(&["diff", &url, "light", "v1.0"]).await;
    assert!(ok);
    assert_eq!(
        out,
        git(
            &main_repo(),
            &["diff", "--name-status", "-M", "light", "v1.0"]
        )
    );
    let (ok, out, _) = gitwire(&["ls-refs", &url, "--prefix", "refs/tags/", "--json"]).await;
    assert!(ok);
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(json.as_array().expect("array").len(), 2);
    let (ok, out, _) = gitwire(&["ls-refs", &url]).await;
    assert!(ok);
    assert!(out.contains("refs/heads/main") && out.contains("refs/tags/v1.0^{}"));
}

#[tokio::test]
async fn clone_with_globs() {
    let server = fixture_server().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("out");
    let (ok, _, err) = gitwire(&[
        "clone",
        &server.url("main.git"),
        dir.to_str().expect("utf-8"),
        "--rev",
        "v1.0",
        "--include",
        "src/**",
        "--include",
        "*.sh",
        "--exclude",
        "*.md",
    ])
    .await;
    assert!(ok, "{err}");
    assert!(dir.join("src/lib.rs").is_file());
    assert!(dir.join("script.sh").is_file());
    assert!(!dir.join("README.md").exists());
    use std::os::unix::fs::PermissionsExt;
    assert_ne!(
        std::fs::metadata(dir.join("script.sh"))
            .expect("meta")
            .permissions()
            .mode()
            & 0o111,
        0
    );
}

#[tokio::test]
async fn put_commits_and_pushes() {
    let (tmp, repo, _) = {
        let (tmp, repo) = writable_copy("main.git");
        (tmp, repo, ())
    };
    let server = GitServer::start(tmp.path()).await;
    let file = tmp.path().join("content.txt");
    std::fs::write(&file, "from the cli\n").expect("write");
    let arg = format!("notes/cli.txt=@{}", file.display());
    let (ok, out, err) = gitwire(&[
        "put",
        &server.url("main.git"),
        "--branch",
        "main",
        "--message",
        "cli put",
        "--author",
        "Cli User <cli@example.com>",
        &arg,
        "--delete",
        "data",
    ])
    .await;
    assert!(ok, "{err}");
    let head = git(&repo, &["rev-parse", "main"]);
    assert_eq!(out.trim(), head.trim());
    assert_eq!(
        git(&repo, &["show", "main:notes/cli.txt"]),
        "from the cli\n"
    );
    assert_eq!(
        git(&repo, &["log", "-1", "--format=%s|%an <%ae>", "main"]),
        "cli put|Cli User <cli@example.com>\n"
    );
    assert!(!git(&repo, &["ls-tree", "-r", "--name-only", "main"]).contains("data/"));
    let fsck = crate::support::git_cmd(Path::new(&repo))
        .args(["fsck", "--strict"])
        .output()
        .expect("fsck");
    assert!(fsck.status.success());
}

#[tokio::test]
async fn errors_are_one_line_and_non_zero() {
    let server = fixture_server().await;
    let url = server.url("main.git");
    for args in [
        vec!["cat", url.as_str(), "main:nope"],
        vec!["log", url.as_str(), "nope"],
        vec!["ls-refs", "http://127.0.0.1:1/x.git"],
        vec!["cat", url.as_str(), "main"],
    ] {
        let (ok, out, err) = gitwire(&args).await;
        assert!(!ok, "{args:?}");
        assert!(out.is_empty());
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.starts_with("gitwire: "), "{err}");
    }
    *server.state.require_auth.lock().expect("lock") = Some("Bearer tok".into());
    let (ok, _, err) = gitwire(&["ls-refs", &url]).await;
    assert!(!ok && err.contains("unauthorized"), "{err}");
    let (ok, _, err) = gitwire(&["ls-refs", &url, "--token", "tok"]).await;
    assert!(ok, "{err}");
}
