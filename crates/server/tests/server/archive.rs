//! Archives (issue 14): `GET /v1/repos/{repo}/archive/{rev}.{tar,tar.gz,zip}` streams what
//! `git archive` gives for the same commit and format: the same bytes for tar, the same
//! content once extracted for tar.gz and zip, with and without a prefix, on both engines. A
//! revision that resolves to nothing is `404`, another format or a prefix that is not a
//! repository path `400`.

use std::io::Read as _;
use std::path::Path;
use std::process::Command;

use axum::body::Body;
use axum::http::Request;

use crate::common::TestApp;

/// `git archive` of `args` in the bare repository `dir`: its bytes.
fn git_archive(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .arg("archive")
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git archive {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a gzip stream");
    out
}

/// Every entry of a zip as `name mode size sha`, in order, from Python's zipfile (the
/// extraction of a reader gitapi did not write).
fn zip_entries(zip: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("temp");
    let file = dir.path().join("a.zip");
    std::fs::write(&file, zip).expect("written");
    let script = "import hashlib, sys, zipfile\n\
                  z = zipfile.ZipFile(sys.argv[1])\n\
                  for i in z.infolist():\n\
                  \x20   print(i.filename, oct(i.external_attr >> 16), i.file_size, \
                  hashlib.sha1(z.read(i)).hexdigest(), i.date_time)\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "zipfile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[tokio::test]
async fn archives_are_what_git_archive_gives_for_the_same_commit() {
    for engine in [
        gitapi_switch::EngineKind::Libgit2,
        gitapi_switch::EngineKind::Shell,
    ] {
        let t = TestApp::on(engine, |_| {});
        let (c1, _) = t.seed("demo").await;
        let c3 = t
            .commit(
                "demo",
                "main",
                None,
                &[("deep/er/c.txt", "see\n"), ("bin.dat", "\u{0}\u{1}\u{2}")],
                "third",
            )
            .await;
        let bare = t.data().join("repos/demo.git");
        let get = |uri: String| {
            let req = Request::get(uri).body(Body::empty()).expect("request");
            t.send(req)
        };

        // tar: byte for byte, by branch, by id and by tag, with and without a prefix.
        t.call(
            "POST",
            "/v1/repos/demo/refs",
            Some(
                serde_json::json!({"name": "v1", "kind": "tag", "target": c1,
                "annotation": {"message": "one"}}),
            ),
        )
        .await
        .expect(201);
        for (spec, commit) in [("main", &c3), (c1.as_str(), &c1), ("v1", &c1)] {
            let a = get(format!("/v1/repos/demo/archive/{spec}.tar"))
                .await
                .expect(200);
            assert_eq!(a.headers["content-type"], "application/x-tar");
            let disposition = a.headers["content-disposition"].to_str().unwrap_or("");
            assert_eq!(
                disposition,
                format!("attachment; filename=\"demo-{}.tar\"", &commit[..12])
            );
            assert!(
                a.body.as_ref() == git_archive(&bare, &["--format=tar", commit]).as_slice(),
                "{engine:?}: {spec}.tar differs from git archive"
            );
        }
        // A prefix starting with `-` is a directory name like any other: glued to `--prefix=`,
        // it cannot become an option.
        for prefix in ["demo-1.0", "-x"] {
            let a = get(format!("/v1/repos/demo/archive/main.tar?prefix={prefix}"))
                .await
                .expect(200);
            let want = git_archive(
                &bare,
                &["--format=tar", &format!("--prefix={prefix}/"), &c3],
            );
            assert!(
                a.body.as_ref() == want.as_slice(),
                "{engine:?}: tar under {prefix}/"
            );
        }

        // tar.gz: the same tar inside.
        let a = get("/v1/repos/demo/archive/main.tar.gz?prefix=p/q".into())
            .await
            .expect(200);
        assert_eq!(a.headers["content-type"], "application/gzip");
        let want = git_archive(&bare, &["--format=tar.gz", "--prefix=p/q/", &c3]);
        assert_eq!(gunzip(&a.body), gunzip(&want), "{engine:?}: tar.gz content");

        // zip: the same entries, modes, sizes, contents and times.
        let a = get(format!("/v1/repos/demo/archive/{c3}.zip"))
            .await
            .expect(200);
        assert_eq!(a.headers["content-type"], "application/zip");
        let want = zip_entries(&git_archive(&bare, &["--format=zip", &c3]));
        assert_eq!(zip_entries(&a.body), want, "{engine:?}: zip content");
        assert!(want.contains("deep/er/c.txt"), "{want}");

        // Refused: nothing to archive, another format, a prefix that is not a path.
        for uri in [
            "/v1/repos/demo/archive/nope.tar",
            "/v1/repos/demo/archive/main~9.zip",
            "/v1/repos/nope/archive/main.tar",
        ] {
            let a = get(uri.into()).await;
            assert_eq!(a.status, 404, "{engine:?} {uri}");
            a.expect_error(404, "not_found");
        }
        for uri in [
            "/v1/repos/demo/archive/main.rar",
            "/v1/repos/demo/archive/main",
            "/v1/repos/demo/archive/.tar",
            "/v1/repos/demo/archive/main.tar?prefix=../up",
            "/v1/repos/demo/archive/main.tar?prefix=%2Fabs",
            "/v1/repos/demo/archive/main.tar?prefix=a/.git",
            "/v1/repos/demo/archive/main.tar?format=zip",
            "/v1/repos/demo/archive/-x.tar",
        ] {
            let a = get(uri.into()).await;
            assert_eq!(a.status, 400, "{engine:?} {uri}");
            a.expect_error(400, "invalid_argument");
        }
        // A tree is not a commit.
        get("/v1/repos/demo/archive/main^{tree}.tar"
            .replace('^', "%5E")
            .replace('{', "%7B")
            .replace('}', "%7D"))
        .await
        .expect_error(400, "invalid_argument");
    }
    // An empty repository has no commit to archive.
    let t = TestApp::new();
    t.call("POST", "/v1/repos", Some(serde_json::json!({"name": "e"})))
        .await
        .expect(201);
    t.get("/v1/repos/e/archive/main.zip")
        .await
        .expect_error(404, "not_found");
}
