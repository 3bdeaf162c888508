//! Malformed Git protocol input gets a clear 4xx and changes nothing.

use gitapi_testkit::git::Git;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_4xx_and_leave_the_repository_alone() {
    let (base, data, stop, served) = in_process("version = 1\n").await;
    let http = http();
    create_repo(&http, &base, "h", None).await;
    let git = Git::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = work_repo(&git, &tmp.path().join("work"));
    let url = format!("{base}/h.git");
    let (g, dir, u) = (git.clone(), work.dir().to_path_buf(), url.clone());
    tokio::task::spawn_blocking(move || git_ok(&g, &dir, &["push", "-q", &u, "main"]))
        .await
        .expect("push");
    let refs = rest_refs(&http, &base, "h", None).await;
    let tip = refs["refs/heads/main"].clone();
    let zero = "0".repeat(40);

    let post = |path: &str, body: Vec<u8>, v2: bool| {
        let mut req = http.post(format!("{url}/{path}")).body(body);
        if v2 {
            req = req.header("git-protocol", "version=2");
        }
        req.send()
    };
    let cases: Vec<(&str, Vec<u8>, bool, u16)> = vec![
        ("git-receive-pack", b"zzzz".to_vec(), false, 400),
        ("git-receive-pack", b"0003".to_vec(), false, 400),
        ("git-receive-pack", b"0020short".to_vec(), false, 400),
        (
            "git-receive-pack",
            format!("0030{tip} {zero}\n").into_bytes(),
            false,
            400,
        ),
        (
            "git-receive-pack",
            {
                let line = format!("{zero} {tip} refs/heads/x\0report-status\n");
                let mut b = format!("{:04x}{line}", line.len() + 4).into_bytes();
                b.extend_from_slice(b"0000PACK garbage");
                b
            },
            false,
            200,
        ),
        ("git-upload-pack", b"0001".to_vec(), true, 400),
        ("git-upload-pack", b"0011command=ls-ref".to_vec(), true, 400),
        (
            "git-upload-pack",
            b"0014command=ls-refs\n00010013bogus-argument\n0000".to_vec(),
            true,
            400,
        ),
    ];
    for (path, body, v2, want) in cases {
        let shown = String::from_utf8_lossy(&body).into_owned();
        let res = post(path, body, v2).await.expect("POST");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        assert_eq!(status, want, "{path} {shown:?}: {text}");
        if want == 200 {
            // A pack that is not one: git's report says so, nothing moves.
            assert!(
                text.contains("unpack ") && text.contains("ng refs/heads/x"),
                "{text}"
            );
        }
    }
    for (path, want) in [
        ("/h.git/info/refs", 422),
        ("/h.git/info/refs?service=git-shell", 400),
        ("/-h.git/info/refs?service=git-upload-pack", 400),
        ("/..%2Fx.git/info/refs?service=git-upload-pack", 400),
        ("/missing.git/info/refs?service=git-upload-pack", 404),
    ] {
        let res = http.get(format!("{base}{path}")).send().await.expect("GET");
        assert_eq!(res.status().as_u16(), want, "{path}");
    }
    assert_eq!(rest_refs(&http, &base, "h", None).await, refs);
    let objects = data.path().join("repos/h.git/objects");
    assert!(
        std::fs::read_dir(&objects)
            .expect("objects")
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with("incoming-")),
        "no quarantine left"
    );
    fsck(&git, &data.path().join("repos/h.git"));
    let _ = stop.send(());
    let _ = served.await;
}
