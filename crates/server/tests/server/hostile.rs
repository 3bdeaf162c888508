//! Hostile input: every bad name, ref, path and body gets a 4xx with the error body, and the
//! data directory is byte-for-byte unchanged afterwards.

use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use crate::common::{TestApp, snapshot};

fn author() -> serde_json::Value {
    json!({"name": "A", "email": "a@example.com", "time": 1700000000})
}

fn commit_body(branch: &str, path: &str) -> serde_json::Value {
    json!({
        "branch": branch,
        "actions": [{"action": "put", "path": path, "content": "eA=="}],
        "message": "m",
        "author": author(),
    })
}

#[tokio::test]
async fn hostile_input_is_refused_and_changes_nothing_on_libgit2() {
    hostile_input_is_refused_and_changes_nothing(gitapi_switch::EngineKind::Libgit2).await;
}

#[tokio::test]
async fn hostile_input_is_refused_and_changes_nothing_on_the_cli_engine() {
    hostile_input_is_refused_and_changes_nothing(gitapi_switch::EngineKind::Shell).await;
}

async fn hostile_input_is_refused_and_changes_nothing(engine: gitapi_switch::EngineKind) {
    let t = TestApp::on(engine, |c| {
        c.limits.max_body_bytes = 1024 * 1024;
        c.limits.max_blob_bytes = 512 * 1024;
    });
    let (c1, _) = t.seed("demo").await;
    // Make the default workspace exist, so work-tree routes reach the engine, and give it a
    // stash entry, so the ref API has a stash to destroy.
    t.get("/v1/repos/demo/workspaces/default").await.expect(200);
    let req = Request::put("/v1/repos/demo/workspaces/default/files/stashed.txt")
        .header("content-type", "application/octet-stream")
        .body(Body::from("stashed\n"))
        .expect("request");
    t.send(req).await.expect(204);
    let req = Request::post("/v1/repos/demo/stash")
        .header("content-type", "application/json")
        .body(Body::from(json!({"includeUntracked": true}).to_string()))
        .expect("request");
    t.send(req).await.expect(201);
    let before = snapshot(t.data());

    let long = "a".repeat(4096);
    let mut cases: Vec<(&str, String, Option<String>)> = Vec::new();
    let mut get = |uri: String| cases.push(("GET", uri, None));
    // Repository names.
    for name in [
        "..",
        "%2e%2e",
        ".git",
        "x.git",
        "-x",
        "x.lock",
        ".hidden",
        "a%2Fb",
        "a%00b",
        "%20",
        long.as_str(),
    ] {
        get(format!("/v1/repos/{name}"));
    }
    // Revisions and refs in queries and paths.
    for r in ["-h", "--upload-pack=x", "a..b", "HEAD%00", "main%20x"] {
        get(format!("/v1/repos/demo/commits/{r}"));
        get(format!("/v1/repos/demo/resolve?rev={r}"));
    }
    for r in [
        "heads/../../config",
        "heads/x.lock",
        "heads/a..b",
        "heads/-x/..",
        "heads/%00",
    ] {
        get(format!("/v1/repos/demo/refs/{r}"));
    }
    // Paths.
    for p in [
        "../x",
        ".git/config",
        "/abs",
        "a/%00b",
        "a//b",
        "./a",
        ".GIT/x",
        "git~1/x",
    ] {
        get(format!("/v1/repos/demo/blob?rev=main&path={p}"));
        get(format!("/v1/repos/demo/files?rev=main&path={p}"));
    }
    get("/v1/repos/demo/commits?range=--output=/tmp/x".to_owned());
    get("/v1/repos/demo/diff?from=-x&to=main".to_owned());
    get("/v1/repos/demo/blame?path=a.txt&rev=--all".to_owned());
    get("/v1/repos/demo/files?recursive=maybe".to_owned());
    get("/v1/repos/demo/commits?unknown=1".to_owned());
    get("/v1/repos/demo/refs?prefix=../".to_owned());
    get(format!("/v1/repos/demo/commits?cursor=%21%21&range={c1}"));

    let mut post = |uri: &str, body: String| cases.push(("POST", uri.to_owned(), Some(body)));
    post("/v1/repos", "{not json".to_owned());
    post("/v1/repos", json!({"name": "ok", "unknown": 1}).to_string());
    post("/v1/repos", json!({"name": "../evil"}).to_string());
    post(
        "/v1/repos",
        json!({"name": "x", "defaultBranch": "-h"}).to_string(),
    );
    post(
        "/v1/repos",
        json!({"name": "x", "source": {"url": "file:///etc"}}).to_string(),
    );
    post(
        "/v1/repos",
        json!({"name": "x", "source": {"url": "http://127.0.0.1/x"}}).to_string(),
    );
    post(
        "/v1/repos",
        json!({"name": "x", "source": {"url": "http://169.254.169.254/x"}}).to_string(),
    );
    post(
        "/v1/repos",
        json!({"name": "x", "source": {"url": "ext::sh -c x"}}).to_string(),
    );
    post(
        "/v1/repos",
        json!({"name": "x", "source": {"url": "http://alice:hunter2-secret@127.0.0.1/x"}})
            .to_string(),
    );
    post(
        "/v1/repos",
        json!({"name": "x", "source": {"url": "ftp://alice:hunter2-secret@example.com/x"}})
            .to_string(),
    );
    post("/v1/repos", json!([1, 2]).to_string());
    post("/v1/repos", "".to_owned());
    for (branch, path) in [
        ("-h", "a.txt"),
        ("--upload-pack=x", "a.txt"),
        ("refs/heads/../../config", "a.txt"),
        ("a..b", "a.txt"),
        ("x.lock", "a.txt"),
        ("main", "../x"),
        ("main", ".git/config"),
        ("main", "/abs"),
        ("main", "a\u{0}b"),
        ("main", ".Git/hooks/pre-commit"),
    ] {
        post(
            "/v1/repos/demo/commits",
            commit_body(branch, path).to_string(),
        );
    }
    let mut unknown = commit_body("main", "a.txt");
    unknown["sneaky"] = json!(true);
    post("/v1/repos/demo/commits", unknown.to_string());
    post(
        "/v1/repos/demo/commits",
        json!({"branch": "main"}).to_string(),
    );
    let mut bad_b64 = commit_body("main", "a.txt");
    bad_b64["actions"][0]["content"] = json!("%%%");
    post("/v1/repos/demo/commits", bad_b64.to_string());
    let mut bad_author = commit_body("main", "a.txt");
    bad_author["author"] = json!({"name": "A <x>", "email": "a@example.com"});
    post("/v1/repos/demo/commits", bad_author.to_string());
    let big_blob = "A".repeat(700 * 1024);
    let mut big = commit_body("main", "a.txt");
    big["actions"][0]["content"] = json!(big_blob);
    post("/v1/repos/demo/commits", big.to_string());
    post("/v1/repos/demo/stage", json!({"path": "../x"}).to_string());
    post(
        "/v1/repos/demo/stage",
        json!({"path": ".git/config"}).to_string(),
    );
    post(
        "/v1/repos/demo/stage",
        json!({"path": "a.txt", "patch": "diff --git a/.git/config b/.git/config\n"}).to_string(),
    );
    post(
        "/v1/repos/demo/stage",
        json!({"path": "a.txt", "workspace": "../../x"}).to_string(),
    );
    post(
        "/v1/repos/demo/ref-renames",
        json!({"from": "main", "to": "-x"}).to_string(),
    );
    post(
        "/v1/repos/demo/merge",
        json!({"source": "--abort", "target": "main"}).to_string(),
    );
    post(
        "/v1/repos/demo/rebase",
        json!({"branch": "main", "onto": "main", "plan": [{"action": "exec", "cmd": "rm -rf /"}]})
            .to_string(),
    );
    post(
        "/v1/repos/demo/workspaces",
        json!({"name": ".."}).to_string(),
    );
    post(
        "/v1/repos/demo/workspaces/default/moves",
        json!({"from": "a.txt", "to": "../../../escape"}).to_string(),
    );
    post(
        "/v1/repos/demo/reset",
        json!({"to": "main", "mode": "hard", "workspace": "-x"}).to_string(),
    );
    post(
        "/v1/repos/demo/stash",
        json!({"message": "m", "workspace": "a/b"}).to_string(),
    );

    cases.push((
        "PUT",
        "/v1/repos/demo/config/core.hooksPath".to_owned(),
        Some(json!({"value": "/tmp"}).to_string()),
    ));
    cases.push((
        "PUT",
        "/v1/repos/demo/config/user.name".to_owned(),
        Some(json!({"value": "a\nb"}).to_string()),
    ));
    cases.push((
        "PUT",
        "/v1/repos/demo/protections".to_owned(),
        Some(json!({"pattern": "heads/*"}).to_string()),
    ));
    cases.push((
        "PATCH",
        "/v1/repos/demo/refs".to_owned(),
        Some(json!({"updates": [{"name": "HEAD", "new": c1}]}).to_string()),
    ));
    cases.push((
        "PATCH",
        "/v1/repos/demo/refs/heads/main".to_owned(),
        Some(json!({"target": "-x"}).to_string()),
    ));
    // The stash is kept by the stash routes only; HEAD and @ are not branch names.
    cases.push(("DELETE", "/v1/repos/demo/refs/stash".to_owned(), None));
    cases.push((
        "PATCH",
        "/v1/repos/demo/refs/stash".to_owned(),
        Some(json!({"target": "main^{tree}"}).to_string()),
    ));
    cases.push((
        "PATCH",
        "/v1/repos/demo/refs".to_owned(),
        Some(json!({"updates": [{"name": "refs/stash", "new": c1}]}).to_string()),
    ));
    for name in ["HEAD", "@", "refs/heads/HEAD", "refs/heads/@"] {
        cases.push((
            "POST",
            "/v1/repos/demo/refs".to_owned(),
            Some(json!({"name": name, "kind": "branch", "target": "main"}).to_string()),
        ));
        cases.push((
            "POST",
            "/v1/repos/demo/ref-renames".to_owned(),
            Some(json!({"from": "main", "to": name}).to_string()),
        ));
    }
    cases.push((
        "PATCH",
        "/v1/repos/demo/refs".to_owned(),
        Some(json!({"updates": [{"name": "refs/heads/HEAD", "new": c1}]}).to_string()),
    ));
    cases.push(("DELETE", "/v1/repos/demo/refs/heads/..".to_owned(), None));
    cases.push(("DELETE", "/v1/repos/..".to_owned(), None));
    cases.push(("DELETE", "/v1/repos/demo/stash/-1".to_owned(), None));
    cases.push((
        "PUT",
        "/v1/repos/demo/workspaces/default/files/..%2F..%2Fescape".to_owned(),
        Some("x".to_owned()),
    ));
    cases.push((
        "PUT",
        "/v1/repos/demo/workspaces/default/files/.git/config".to_owned(),
        Some("x".to_owned()),
    ));
    cases.push((
        "PUT",
        "/v1/repos/demo/workspaces/..%2F..%2F/files/a.txt".to_owned(),
        Some("x".to_owned()),
    ));

    assert!(cases.len() >= 90, "only {} cases", cases.len());
    for (method, uri, body) in &cases {
        let req = Request::builder()
            .method(*method)
            .uri(uri.as_str())
            .header("content-type", "application/json")
            .body(body.clone().map_or_else(Body::empty, Body::from));
        // A URI the HTTP layer itself refuses (a raw NUL) never reaches the server.
        let Ok(req) = req else { continue };
        let a = t.send(req).await;
        let status = a.status.as_u16();
        assert!(
            (400..500).contains(&status),
            "{engine:?}: {method} {uri} answered {status}: {}",
            a.text()
        );
        assert!(
            !a.text().contains("hunter2"),
            "{method} {uri} echoed a URL's password: {}",
            a.text()
        );
        let v = a.json();
        assert!(
            v["error"]["code"].is_string() && v["error"]["message"].is_string(),
            "{method} {uri} answered without the error body: {}",
            a.text()
        );
    }

    // A 100 MB body, with and without a declared length.
    let huge = vec![b'{'; 100 * 1024 * 1024];
    let req = Request::post("/v1/repos/demo/commits")
        .header("content-type", "application/json")
        .header("content-length", huge.len())
        .body(Body::from(huge.clone()))
        .expect("request");
    t.send(req).await.expect_error(413, "too_large");
    let stream = futures::stream::iter(
        huge.chunks(1024 * 1024)
            .map(|c| Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    );
    let req = Request::post("/v1/repos/demo/commits")
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .expect("request");
    t.send(req).await.expect_error(413, "too_large");
    let req = Request::put("/v1/repos/demo/workspaces/default/files/big.bin")
        .body(Body::from(huge))
        .expect("request");
    t.send(req).await.expect_error(413, "too_large");

    assert!(
        before == snapshot(t.data()),
        "{engine:?}: the data directory changed"
    );
}

/// A diff id is caller input: one forged to carry 4,000,000,000 context lines used to reach
/// the engine (`git diff -U4000000000`), because only the `/diff` route checked the bound.
/// `DiffId::decode` now applies the same validation as the options of `/diff`.
#[tokio::test]
async fn diff_id_with_four_billion_context_lines_is_invalid_argument() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let t = TestApp::new();
    let (c1, c2) = t.seed("demo").await;
    let diff = t
        .get(&format!("/v1/repos/demo/diff?from={c1}&to={c2}"))
        .await
        .expect(200)
        .json();
    let id = diff["id"].as_str().expect("a commits diff has an id");
    // The genuine id renders again.
    t.get(&format!("/v1/repos/demo/diffs/{id}"))
        .await
        .expect(200);

    let payload = id.strip_prefix("d1.").expect("a version 1 id");
    let mut key: serde_json::Value =
        serde_json::from_slice(&b64.decode(payload).expect("base64url")).expect("a JSON key");
    key["options"]["contextLines"] = json!(4_000_000_000u32);
    let forged = format!(
        "d1.{}",
        b64.encode(serde_json::to_vec(&key).expect("serialises"))
    );
    t.get(&format!("/v1/repos/demo/diffs/{forged}"))
        .await
        .expect_error(400, "invalid_argument");
    t.get(&format!("/v1/repos/demo/diffs/{forged}?format=patch"))
        .await
        .expect_error(400, "invalid_argument");
}

/// Client mistakes that used to answer 500 on one engine or both (or a different kind on
/// each): each is a 4xx, both engines give the same code, and the data directory is unchanged.
#[tokio::test]
async fn client_mistakes_are_4xx_with_one_code_on_both_engines_and_change_nothing() {
    let mut codes: Vec<Vec<(String, u16, String)>> = Vec::new();
    for engine in [
        gitapi_switch::EngineKind::Libgit2,
        gitapi_switch::EngineKind::Shell,
    ] {
        let t = TestApp::on(engine, |_| {});
        t.seed("demo").await;
        t.get("/v1/repos/demo/workspaces/default").await.expect(200);
        let req = Request::put("/v1/repos/demo/workspaces/default/files/n.txt")
            .header("content-type", "application/octet-stream")
            .body(Body::from("n\n"))
            .expect("request");
        t.send(req).await.expect(204);
        let before = snapshot(t.data());
        let long = |n: usize| "x".repeat(n);
        let commit = |path: String| {
            json!({
                "branch": "main", "message": "m", "author": author(),
                "actions": [{"action": "put", "path": path, "content": "eA=="}],
            })
            .to_string()
        };
        let gitmodules = |text: &str| {
            use base64::Engine as _;
            json!({
                "branch": "main", "message": "m", "author": author(),
                "actions": [{"action": "put", "path": ".gitmodules",
                             "content": base64::engine::general_purpose::STANDARD.encode(text)}],
            })
            .to_string()
        };
        let cases: Vec<(&str, String, Option<String>)> = vec![
            ("POST", "/v1/repos/demo/refs".into(),
             Some(json!({"name": "main/sub", "kind": "branch", "target": "main"}).to_string())),
            ("POST", "/v1/repos/demo/refs".into(),
             Some(json!({"name": "refs/heads", "target": "main"}).to_string())),
            ("POST", "/v1/repos/demo/refs".into(),
             Some(json!({"name": format!("refs/tags/{}", long(251)), "target": "main"}).to_string())),
            ("POST", "/v1/repos/demo/refs".into(),
             Some(json!({"name": long(300), "kind": "branch", "target": "main"}).to_string())),
            ("POST", "/v1/repos/demo/ref-renames".into(),
             Some(json!({"from": "main", "to": "main/x"}).to_string())),
            ("POST", "/v1/repos/demo/ref-renames".into(),
             Some(json!({"from": "main", "to": long(300)}).to_string())),
            ("PATCH", "/v1/repos/demo/refs".into(),
             Some(json!({"updates": [{"name": "refs/heads/main/x", "new": "1111111111111111111111111111111111111111"}]}).to_string())),
            ("GET", "/v1/repos/demo/resolve?rev=:a.txt".into(), None),
            ("GET", "/v1/repos/demo/resolve?rev=:0:a.txt".into(), None),
            ("GET", "/v1/repos/demo/resolve?rev=:/fix".into(), None),
            ("GET", "/v1/repos/demo/resolve?rev=main%5E%7B%2Ffix%7D".into(), None),
            // Values git cannot parse would break every later git command on the repository.
            ("PUT", "/v1/repos/demo/config/gc.auto".into(),
             Some(json!({"value": "zz"}).to_string())),
            ("PUT", "/v1/repos/demo/config/core.compression".into(),
             Some(json!({"value": "10"}).to_string())),
            ("PUT", "/v1/repos/demo/config/gc.pruneExpire".into(),
             Some(json!({"value": "whenever"}).to_string())),
            ("GET", format!("/v1/repos/demo/resolve?rev={}", "a".repeat(1024)), None),
            ("GET", format!("/v1/repos/demo/commits/{}", "a".repeat(1024)), None),
            ("GET", "/v1/repos/demo/resolve?rev=main~99999999999".into(), None),
            ("GET", "/v1/repos/demo/commits?range=main&offset=18446744073709551615".into(), None),
            ("POST", "/v1/repos/demo/commits".into(), Some(commit(format!("d/{}", long(256))))),
            ("POST", "/v1/repos/demo/commits".into(), Some(commit(".gi\u{200c}t/config".into()))),
            ("POST", "/v1/repos/demo/commits".into(), Some(commit(".git\u{feff}/config".into()))),
            ("POST", "/v1/repos/demo/commits".into(), Some(commit(".git::$INDEX_ALLOCATION/config".into()))),
            ("POST", "/v1/repos/demo/commits".into(), Some(commit(".git:$DATA".into()))),
            ("POST", "/v1/repos/demo/commits".into(), Some(commit(".git\\config".into()))),
            ("POST", "/v1/repos/demo/commits".into(), Some(gitmodules(
                "[submodule \"../../hooks\"]\n\tpath = m\n\turl = https://example.com/m\n"))),
            ("POST", "/v1/repos/demo/commits".into(), Some(gitmodules(
                "[submodule \"m\"]\n\tpath = m\n\turl = --upload-pack=touch /tmp/x\n"))),
            ("POST", "/v1/repos/demo/commits".into(), Some(gitmodules(
                "[submodule \"m\"]\n\tpath = -m\n\turl = https://example.com/m\n"))),
            ("POST", "/v1/repos/demo/stash".into(),
             Some(json!({"includeUntracked": true, "stasher": {"name": "S", "email": ""}}).to_string())),
            ("POST", "/v1/repos/demo/commits".into(), Some({
                use base64::Engine as _;
                json!({
                    "branch": "main", "message": "m", "author": author(),
                    "actions": [{"action": "put", "path": "lib/.gitmodules:$DATA",
                                 "content": base64::engine::general_purpose::STANDARD
                                     .encode("[submodule \"../x\"]\n")}],
                })
                .to_string()
            })),
        ];
        let mut seen = Vec::new();
        for (method, uri, body) in cases {
            let body = body.map_or_else(Body::empty, Body::from);
            seen.push(refused(&t, engine, method, &uri, "application/json", body).await);
        }
        // `.gitmodules` reaching a commit through the work tree and the index, in the
        // spellings git folds into it: written whole (checked), moved onto (refused, its
        // content unseen) or patched into the index (refused).
        let files = "/v1/repos/demo/workspaces/default/files";
        let patch = "diff --git a/.gitmodules b/.gitmodules\nnew file mode 100644\n--- /dev/null\n\
                     +++ b/.gitmodules\n@@ -0,0 +1 @@\n+[submodule \"../../x\"]\n";
        let octet = "application/octet-stream";
        let json_type = "application/json";
        let more: Vec<(&str, String, &str, String)> = vec![
            (
                "PUT",
                format!("{files}/.gitmodules"),
                octet,
                "[submodule \"../../hooks\"]\n\tpath = m\n".into(),
            ),
            (
                "PUT",
                format!("{files}/sub/GITMOD~1"),
                octet,
                "[submodule \"m\"]\n\turl = --upload-pack=touch /tmp/x\n".into(),
            ),
            (
                "PUT",
                format!("{files}/.GitModules."),
                octet,
                "[submodule \"m\"]\n\tpath = -m\n".into(),
            ),
            (
                "PUT",
                format!("{files}/.gitmodules"),
                octet,
                "[submodule \"m\"]\n\turl = https://example.com%0a.evil/m\n".into(),
            ),
            (
                "POST",
                "/v1/repos/demo/workspaces/default/moves".into(),
                json_type,
                json!({"from": "n.txt", "to": ".gitmodules"}).to_string(),
            ),
            (
                "POST",
                "/v1/repos/demo/stage".into(),
                json_type,
                json!({"path": ".gitmodules", "patch": patch}).to_string(),
            ),
            (
                "POST",
                "/v1/repos/demo/stage".into(),
                json_type,
                json!({"patch": patch}).to_string(),
            ),
            // A pathspec where a path belongs must not reach git as one (it rewrote the index).
            (
                "POST",
                "/v1/repos/demo/stage".into(),
                json_type,
                json!({"path": ":(glob)*"}).to_string(),
            ),
            // A submodule entry whose content is not a commit id writes no object.
            (
                "POST",
                "/v1/repos/demo/commits".into(),
                json_type,
                json!({
                    "branch": "main", "message": "m", "author": author(),
                    "actions": [{"action": "put", "path": "sub", "mode": "submodule",
                                 "content": "eA=="}],
                })
                .to_string(),
            ),
            (
                "POST",
                "/v1/repos/demo/commits".into(),
                json_type,
                json!({
                    "branch": "main", "message": "m", "author": author(),
                    "actions": [{"action": "put", "path": "sub", "mode": "submodule",
                                 "content": "EjRWeJASNFZ4kBI0VniQEjRWeJA="}],
                })
                .to_string(),
            ),
        ];
        for (method, uri, content_type, body) in more {
            seen.push(refused(&t, engine, method, &uri, content_type, Body::from(body)).await);
        }
        assert!(
            before == snapshot(t.data()),
            "{engine:?}: a refused request changed the data directory"
        );
        codes.push(seen);
    }
    for (a, b) in codes[0].iter().zip(&codes[1]) {
        assert_eq!(a, b, "the engines disagree");
    }
}

/// Sends one request that must be refused with a 4xx; returns what the engines must agree on:
/// the request, the status and the error code.
async fn refused(
    t: &TestApp,
    engine: gitapi_switch::EngineKind,
    method: &str,
    uri: &str,
    content_type: &str,
    body: Body,
) -> (String, u16, String) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .body(body)
        .expect("request");
    let a = t.send(req).await;
    let status = a.status.as_u16();
    assert!(
        (400..500).contains(&status),
        "{engine:?}: {method} {uri} answered {status}: {}",
        a.text()
    );
    let code = a.json()["error"]["code"].as_str().unwrap_or("").to_owned();
    (format!("{method} {uri}"), status, code)
}

/// A clone whose source holds objects `git fsck` refuses (a tree entry `.gi\u{200c}t`, which
/// HFS+ opens as `.git`) is refused with 422 and leaves no repository and no scratch behind.
#[tokio::test]
async fn a_clone_of_objects_git_fsck_refuses_is_refused_and_leaves_nothing() {
    let src = tempfile::tempdir().expect("tempdir");
    let git = gitapi_testkit::git::Git::new();
    git.run(src.path(), &["init", "-q", "-b", "main"]);
    let blob = git.run_with(
        src.path(),
        &["hash-object", "-w", "--stdin"],
        &[],
        Some(b"hi\n"),
    );
    let entry = format!("100644 blob {}\t.gi\u{200c}t\n", blob.trim());
    let tree = git.run_with(src.path(), &["mktree"], &[], Some(entry.as_bytes()));
    let commit = git.run(src.path(), &["commit-tree", "-m", "bad", tree.trim()]);
    git.run(
        src.path(),
        &["update-ref", "refs/heads/main", commit.trim()],
    );

    let t = TestApp::with(|c| c.allow_local_clone = true);
    let req = Request::post("/v1/repos")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"name": "c", "source": {"url": format!("file://{}", src.path().display())}})
                .to_string(),
        ))
        .expect("request");
    t.send(req).await.expect_error(422, "failed_precondition");
    assert!(!t.data().join("repos/c.git").exists(), "no repository");
    let scratch: Vec<_> = std::fs::read_dir(t.data().join("tmp"))
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    assert!(scratch.is_empty(), "scratch left: {scratch:?}");
}

/// A commit with more file actions than `[limits] max_actions` is 413 and writes nothing: one
/// request may not hold the repository's write lock for an unbounded list.
#[tokio::test]
async fn a_commit_over_max_actions_is_too_large_and_changes_nothing() {
    let t = TestApp::with(|c| c.limits.max_actions = 3);
    t.seed("demo").await;
    let before = snapshot(t.data());
    let actions: Vec<_> = (0..4)
        .map(|i| json!({"action": "put", "path": format!("f{i}.txt"), "content": "eA=="}))
        .collect();
    let req = Request::post("/v1/repos/demo/commits")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"branch": "main", "message": "m", "author": author(), "actions": actions})
                .to_string(),
        ))
        .expect("request");
    t.send(req).await.expect_error(413, "too_large");
    assert!(before == snapshot(t.data()), "the data directory changed");
}

/// Reads of the default workspace before its first write (its info, status, stash and every
/// workspace diff) write nothing, and answer what the engine answers once the workspace is
/// made, on both engines.
#[tokio::test]
async fn reads_of_the_unmade_default_workspace_write_nothing_and_match_the_made_one() {
    for engine in [
        gitapi_switch::EngineKind::Libgit2,
        gitapi_switch::EngineKind::Shell,
    ] {
        let t = TestApp::on(engine, |_| {});
        let (c1, _) = t.seed("demo").await;
        let reads = [
            "/v1/repos/demo/workspaces/default".to_owned(),
            "/v1/repos/demo/status".to_owned(),
            "/v1/repos/demo/stash".to_owned(),
            "/v1/repos/demo/diff?kind=index".to_owned(),
            format!("/v1/repos/demo/diff?kind=index&from={c1}"),
            format!("/v1/repos/demo/diff?kind=tree-worktree&from={c1}"),
            format!("/v1/repos/demo/diff?kind=tree-worktree&from={c1}&format=patch"),
            "/v1/repos/demo/diff?kind=worktree".to_owned(),
        ];
        let before = snapshot(t.data());
        let mut unmade = Vec::new();
        for uri in &reads {
            unmade.push(t.get(uri).await.expect(200).text());
        }
        assert!(
            before == snapshot(t.data()),
            "{engine:?}: a read of the unmade default workspace wrote"
        );
        // Made by a write that leaves it clean: a file put, then discarded.
        let req = Request::put("/v1/repos/demo/workspaces/default/files/tmp.txt")
            .header("content-type", "application/octet-stream")
            .body(Body::from("x\n"))
            .expect("request");
        t.send(req).await.expect(204);
        let req = Request::delete("/v1/repos/demo/workspaces/default/files/tmp.txt")
            .body(Body::empty())
            .expect("request");
        t.send(req).await.expect(204);
        for (uri, was) in reads.iter().zip(&unmade) {
            let now = t.get(uri).await.expect(200).text();
            assert_eq!(&now, was, "{engine:?}: {uri}");
        }
    }
}

/// A branch whose tree git will not check out (an entry `.git`, written into the repository
/// behind the service's back, as an old import could have) makes no workspace: the request is
/// refused with a 4xx on both engines and no half-made workspace stays behind.
#[tokio::test]
async fn a_workspace_on_a_tree_git_will_not_check_out_is_refused_and_leaves_nothing() {
    for engine in [
        gitapi_switch::EngineKind::Libgit2,
        gitapi_switch::EngineKind::Shell,
    ] {
        let t = TestApp::on(engine, |_| {});
        t.seed("demo").await;
        let bare = t.data().join("repos/demo.git");
        let git = gitapi_testkit::git::Git::new();
        let blob = git.run_with(&bare, &["hash-object", "-w", "--stdin"], &[], Some(b"x\n"));
        let entry = format!("100644 blob {}\t.git\n", blob.trim());
        let tree = git.run_with(&bare, &["mktree"], &[], Some(entry.as_bytes()));
        let commit = git.run(&bare, &["commit-tree", "-m", "bad", tree.trim()]);
        git.run(&bare, &["update-ref", "refs/heads/bad", commit.trim()]);

        let before = snapshot(t.data());
        let answer = t
            .call(
                "POST",
                "/v1/repos/demo/workspaces",
                Some(json!({"name": "w", "branch": "refs/heads/bad"})),
            )
            .await;
        assert!(
            answer.status.is_client_error(),
            "{engine:?}: {} {}",
            answer.status,
            answer.text()
        );
        let after = snapshot(t.data());
        let changed: Vec<_> = before
            .keys()
            .chain(after.keys())
            .filter(|k| before.get(*k) != after.get(*k))
            // The parents a workspace lives under (`workspaces/demo`, the bare repository's
            // `worktrees`) may stay, empty: removing them could race another workspace's
            // creation.
            .filter(|k| {
                after
                    .get(*k)
                    .is_none_or(|(mode, _)| mode & 0o170000 != 0o040000)
            })
            .collect();
        assert!(
            changed.is_empty(),
            "{engine:?}: the refused workspace left {changed:?}"
        );
        t.call("GET", "/v1/repos/demo/workspaces/w", None)
            .await
            .expect_error(404, "not_found");
    }
}

/// A rebase that would replay more commits than `[limits] max_rebase_steps` (counted from
/// `upstream..branch`, or a plan's steps) is 413 and changes nothing, on both engines; one
/// within the limit goes through.
#[tokio::test]
async fn a_rebase_over_max_rebase_steps_is_too_large_and_changes_nothing() {
    for engine in [
        gitapi_switch::EngineKind::Libgit2,
        gitapi_switch::EngineKind::Shell,
    ] {
        let t = TestApp::on(engine, |c| c.limits.max_rebase_steps = 2);
        let (c1, c2) = t.seed("demo").await;
        // `side` forks at c1 and gains three commits: three steps onto main.
        t.call(
            "POST",
            "/v1/repos/demo/refs",
            Some(json!({"name": "refs/heads/side", "target": c1})),
        )
        .await
        .expect(201);
        let mut tip = c1.clone();
        for i in 0..3 {
            tip = t
                .commit(
                    "demo",
                    "side",
                    Some(&tip),
                    &[(&format!("s{i}.txt"), "s\n")],
                    "side",
                )
                .await;
        }
        let before = snapshot(t.data());
        t.call(
            "POST",
            "/v1/repos/demo/rebase",
            Some(json!({"branch": "side", "onto": c2, "upstream": c1})),
        )
        .await
        .expect_error(413, "too_large");
        assert!(
            before == snapshot(t.data()),
            "{engine:?}: the refused rebase wrote"
        );
        // Two of the three (upstream at the first side commit) are within the limit.
        let log = t
            .get("/v1/repos/demo/commits?range=side&limit=3")
            .await
            .expect(200)
            .json();
        let first_side = log["items"][2]["oid"].as_str().expect("oid").to_owned();
        t.call(
            "POST",
            "/v1/repos/demo/rebase",
            Some(json!({"branch": "side", "onto": c2, "upstream": first_side})),
        )
        .await
        .expect(200);
    }
}

/// A gc while another gc of the repository runs outside gitapi (git's `gc.pid` names a live
/// process on this host) is 409 on both engines, not a server fault.
#[tokio::test]
async fn a_gc_while_another_runs_is_a_conflict() {
    for engine in [
        gitapi_switch::EngineKind::Libgit2,
        gitapi_switch::EngineKind::Shell,
    ] {
        let t = TestApp::on(engine, |_| {});
        t.seed("demo").await;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
        std::fs::write(
            t.data().join("repos/demo.git/gc.pid"),
            format!("{} {}", std::process::id(), host.trim()),
        )
        .expect("gc.pid");
        t.call("POST", "/v1/repos/demo/gc", None)
            .await
            .expect_error(409, "conflict");
    }
}

/// A SHA-256 repository made by `git init --object-format=sha256` with one commit.
fn sha256_source() -> tempfile::TempDir {
    let src = tempfile::tempdir().expect("tempdir");
    let git = gitapi_testkit::git::Git::new();
    git.run(
        src.path(),
        &["init", "-q", "--object-format=sha256", "-b", "main"],
    );
    std::fs::write(src.path().join("a.txt"), "a\n").expect("write");
    git.run(src.path(), &["add", "a.txt"]);
    git.run(src.path(), &["commit", "-q", "-m", "sha256 root"]);
    assert_eq!(
        git.run(src.path(), &["rev-parse", "--show-object-format"])
            .trim(),
        "sha256"
    );
    src
}

async fn listed(t: &TestApp) -> Vec<String> {
    let a = t.get("/v1/repos").await.expect(200);
    a.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["name"].as_str().expect("a name").to_owned())
        .collect()
}

/// Issue 9, class 10: cloning a SHA-256 repository (which the libgit2 build here cannot read)
/// is refused on both engines with 422 `failed_precondition`, before anything is created: no
/// repository directory and no scratch is left, and `GET /v1/repos` still lists the others.
/// A repository directory that cannot be read (the half-made clone an earlier version left)
/// never breaks the listing of the others, and can be deleted.
#[tokio::test]
async fn a_sha256_clone_is_refused_and_an_unreadable_repository_breaks_nothing() {
    let src = sha256_source();
    for engine in [
        gitapi_switch::EngineKind::Libgit2,
        gitapi_switch::EngineKind::Shell,
    ] {
        let t = TestApp::on(engine, |c| c.allow_local_clone = true);
        t.seed("demo").await;
        let url = format!("file://{}", src.path().display());
        let a = t
            .call(
                "POST",
                "/v1/repos",
                Some(json!({"name": "s", "source": {"url": url}})),
            )
            .await
            .expect_error(422, "failed_precondition");
        assert!(
            a.json()["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("sha256")),
            "{engine:?}: the message names the object format: {}",
            a.text()
        );
        assert!(
            !t.data().join("repos/s.git").exists(),
            "{engine:?}: no repository"
        );
        let scratch: Vec<_> = std::fs::read_dir(t.data().join("tmp"))
            .into_iter()
            .flatten()
            .flatten()
            .collect();
        assert!(scratch.is_empty(), "{engine:?}: scratch left: {scratch:?}");
        assert_eq!(listed(&t).await, ["demo"], "{engine:?}");
        t.get("/v1/repos/s").await.expect_error(404, "not_found");

        // A repository directory the engine cannot read, put there behind the service's back.
        let git = gitapi_testkit::git::Git::new();
        let broken = t.data().join("repos/broken.git");
        git.run(
            t.data(),
            &[
                "clone",
                "-q",
                "--bare",
                &url,
                broken.to_str().expect("UTF-8 temp path"),
            ],
        );
        assert_eq!(
            listed(&t).await,
            ["demo"],
            "{engine:?}: the listing skips what it cannot read"
        );
        t.call("DELETE", "/v1/repos/broken", None).await.expect(204);
        assert!(
            !broken.exists(),
            "{engine:?}: the unreadable repository is deleted"
        );
        assert_eq!(listed(&t).await, ["demo"], "{engine:?}");
    }
}
