//! gitwire meets gitapi: every command of the `gitwire` binary against gitapi's own Smart HTTP
//! door, answers compared with what git says about the same repository, and a `put` racing a
//! REST commit on the same branch (one wins, the other loses with a conflict).

use std::path::{Path, PathBuf};

use gitwire::{Client, ErrorKind, Signature, StagedWriter, WriterOptions};

use crate::cli::gitwire;
use crate::support::{fixtures, git, git_cmd};

/// gitapi over a data directory holding a mirror of the `main.git` fixture.
struct Gitapi {
    base: String,
    _data: tempfile::TempDir,
    repo: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Gitapi {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl Gitapi {
    async fn start() -> Self {
        let data = tempfile::tempdir().expect("tempdir");
        let repos = data.path().join("repos");
        std::fs::create_dir_all(&repos).expect("repos dir");
        let repo = repos.join("main.git");
        let src = fixtures().repo("main.git");
        git(
            data.path(),
            &[
                "clone",
                "-q",
                "--mirror",
                src.to_str().expect("utf-8"),
                repo.to_str().expect("utf-8"),
            ],
        );
        // A mirror follows its remote and takes no pushes: this copy is a plain repository.
        git(&repo, &["config", "--unset", "remote.origin.mirror"]);
        let config = gitapi_server::Config::load(
            None,
            &Default::default(),
            &gitapi_server::Flags {
                data_dir: Some(data.path().to_path_buf()),
                ..Default::default()
            },
        )
        .expect("config");
        let svc = gitapi_server::build_service(&config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(gitapi_server::serve(
            listener,
            gitapi_server::app(svc),
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            base,
            _data: data,
            repo,
            stop: Some(stop),
        }
    }

    fn url(&self) -> String {
        format!("{}/main.git", self.base)
    }
}

fn fsck(repo: &Path) {
    let out = git_cmd(repo)
        .args(["fsck", "--strict"])
        .output()
        .expect("fsck");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_gitwire_command_works_against_gitapi() {
    let server = Gitapi::start().await;
    let url = server.url();
    let repo = server.repo.clone();

    let (ok, out, err) = gitwire(&["ls-refs", &url]).await;
    assert!(ok, "{err}");
    for line in git(
        &repo,
        &["for-each-ref", "--format=%(objectname) %(refname)"],
    )
    .lines()
    {
        let (oid, name) = line.split_once(' ').expect("line");
        assert!(out.contains(oid) && out.contains(name), "{name} in {out}");
    }
    let (ok, out, err) = gitwire(&["cat", &url, "main:README.md"]).await;
    assert!(ok, "{err}");
    assert_eq!(out, git(&repo, &["show", "main:README.md"]));
    let (ok, out, err) = gitwire(&["ls-tree", &url, "main", "-r"]).await;
    assert!(ok, "{err}");
    assert_eq!(out, git(&repo, &["ls-tree", "-r", "main"]));
    let (ok, out, err) = gitwire(&["log", &url, "main", "-n", "4"]).await;
    assert!(ok, "{err}");
    assert_eq!(out, git(&repo, &["log", "--format=%H %s", "-n4", "main"]));
    let (ok, out, err) = gitwire(&["diff", &url, "light", "v1.0"]).await;
    assert!(ok, "{err}");
    assert_eq!(
        out,
        git(&repo, &["diff", "--name-status", "-M", "light", "v1.0"])
    );

    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("out");
    let (ok, _, err) = gitwire(&[
        "clone",
        &url,
        dir.to_str().expect("utf-8"),
        "--rev",
        "v1.0",
        "--include",
        "src/**",
    ])
    .await;
    assert!(ok, "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("src/lib.rs")).expect("cloned"),
        git(&repo, &["show", "v1.0:src/lib.rs"])
    );

    let file = tmp.path().join("content.txt");
    std::fs::write(&file, "from gitwire into gitapi\n").expect("write");
    let arg = format!("notes/put.txt=@{}", file.display());
    let (ok, out, err) = gitwire(&[
        "put",
        &url,
        "--branch",
        "main",
        "--message",
        "put into gitapi",
        &arg,
    ])
    .await;
    assert!(ok, "{err}");
    assert_eq!(
        format!("{}\n", out.trim()),
        git(&repo, &["rev-parse", "main"])
    );
    assert_eq!(
        git(&repo, &["show", "main:notes/put.txt"]),
        "from gitwire into gitapi\n"
    );
    fsck(&repo);
}

fn me() -> Signature {
    Signature {
        name: "Wire".into(),
        email: "wire@example.com".into(),
        time: 1_700_000_000,
        tz: "+0000".into(),
    }
}

/// A REST commit of one file on `main`, expected at `tip`; returns the HTTP status.
async fn rest_commit(base: &str, tip: &str, path: &str) -> u16 {
    let body = format!(
        r#"{{"branch":"main","expectedTip":"{tip}","message":"rest {path}",
        "author":{{"name":"R","email":"r@example.com","time":1700000000,"offsetMinutes":0}},
        "actions":[{{"action":"put","path":"{path}","content":"eAo="}}]}}"#
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
        .post(format!("{base}/v1/repos/main/commits"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("POST commits")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_racing_a_rest_commit_loses_cleanly_or_wins() {
    let server = Gitapi::start().await;
    let client = Client::new(&server.url(), crate::options()).expect("client");
    let tip = || git(&server.repo, &["rev-parse", "main"]).trim().to_owned();

    // REST lands first: the put, staged on the old tip, gets a conflict and moves nothing.
    let t0 = tip();
    let mut w = StagedWriter::new(&client, "main", WriterOptions::default())
        .await
        .expect("writer");
    w.put_file("race/a.txt", &b"a\n"[..], None).expect("put");
    w.commit("wire a", &me(), None).expect("commit");
    assert_eq!(rest_commit(&server.base, &t0, "rest-a.txt").await, 201);
    let t1 = tip();
    let err = w.push().await.expect_err("the put loses");
    assert_eq!(err.kind(), ErrorKind::RefConflict, "{err}");
    assert_eq!(tip(), t1);

    // The put lands first: the REST commit expecting the old tip gets 409.
    let mut w = StagedWriter::new(&client, "main", WriterOptions::default())
        .await
        .expect("writer");
    w.put_file("race/b.txt", &b"b\n"[..], None).expect("put");
    w.commit("wire b", &me(), None).expect("commit");
    let t2 = w.push().await.expect("the put wins").expect("tip");
    assert_eq!(rest_commit(&server.base, &t1, "rest-b.txt").await, 409);
    assert_eq!(tip(), t2.to_string());

    // Both at once from the same tip: exactly one wins.
    let mut w = StagedWriter::new(&client, "main", WriterOptions::default())
        .await
        .expect("writer");
    w.put_file("race/c.txt", &b"c\n"[..], None).expect("put");
    w.commit("wire c", &me(), None).expect("commit");
    let t2 = t2.to_string();
    let (wire, rest) = tokio::join!(w.push(), rest_commit(&server.base, &t2, "rest-c.txt"));
    match (&wire, rest) {
        (Ok(_), 409) => {}
        (Err(e), 201) => assert!(
            matches!(e.kind(), ErrorKind::RefConflict | ErrorKind::RemoteRejected),
            "{e}"
        ),
        other => panic!("exactly one must win: {other:?}"),
    }
    fsck(&server.repo);
}
