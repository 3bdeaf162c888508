//! The data-safety traps a new user met (issue 14): a commit action with a field the API does
//! not know was accepted and its text stored base64-decoded, and a work-tree write with a JSON
//! body stored the JSON text as the file. Both are refused now, writing nothing, and text
//! content has its own encoding.

use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use crate::common::{TestApp, snapshot};

fn commit(action: serde_json::Value) -> serde_json::Value {
    json!({
        "branch": "main", "message": "m",
        "author": {"name": "A", "email": "a@example.com", "time": 1700000000},
        "actions": [action],
    })
}

#[tokio::test]
async fn commit_actions_refuse_unknown_fields_and_take_text_or_base64() {
    let t = TestApp::new();
    t.seed("demo").await;

    // `"encoding": "text"` stores the text itself.
    t.call(
        "POST",
        "/v1/repos/demo/commits",
        Some(commit(
            json!({"action": "put", "path": "note.txt", "content": "test",
                           "encoding": "text"}),
        )),
    )
    .await
    .expect(201);
    let blob = t.get("/v1/repos/demo/blob?rev=main&path=note.txt").await;
    assert_eq!(blob.expect(200).body.as_ref(), b"test");

    // Base64 stays the default.
    t.call(
        "POST",
        "/v1/repos/demo/commits",
        Some(commit(
            json!({"action": "put", "path": "b.txt", "content": "aGk="}),
        )),
    )
    .await
    .expect(201);
    let blob = t.get("/v1/repos/demo/blob?rev=main&path=b.txt").await;
    assert_eq!(blob.expect(200).body.as_ref(), b"hi");

    // A field the API does not know, at the action's level or the body's, and content that is
    // not base64 without `encoding`: 400, and nothing written.
    let before = snapshot(t.data());
    for body in [
        commit(json!({"action": "put", "path": "n.txt", "content": "test", "encodng": "text"})),
        commit(json!({"action": "delete", "path": "note.txt", "recursive": true})),
        commit(json!({"action": "put", "path": "n.txt", "content": "not base64!"})),
        commit(json!({"action": "put", "path": "n.txt", "content": "x", "encoding": "utf8"})),
        {
            let mut b = commit(json!({"action": "put", "path": "n.txt", "content": "eA=="}));
            b["commitMessage"] = json!("a GitLab-style field");
            b
        },
    ] {
        t.call("POST", "/v1/repos/demo/commits", Some(body.clone()))
            .await
            .expect_error(400, "invalid_argument");
    }
    assert!(before == snapshot(t.data()), "a refused commit wrote");
}

#[tokio::test]
async fn a_work_tree_write_takes_the_file_itself_and_refuses_json_or_forms_with_415() {
    let t = TestApp::new();
    t.seed("demo").await;
    let put = |ct: Option<&str>, body: &str| {
        let mut req = Request::put("/v1/repos/demo/workspaces/default/files/x.json");
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        req.body(Body::from(body.to_owned())).expect("request")
    };
    let before = snapshot(t.data());
    for ct in [
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        t.send(put(Some(ct), "{\"a\": 1}"))
            .await
            .expect_error(415, "invalid_argument");
    }
    assert!(before == snapshot(t.data()), "a refused write wrote");
    for ct in [
        Some("application/octet-stream"),
        Some("text/plain; charset=utf-8"),
        None,
    ] {
        t.send(put(ct, "{\"a\": 1}")).await.expect(204);
    }
}

/// `git <args>` in the bare repository `dir`, hermetic, with `stdin`; its stdout.
fn git_in(dir: &std::path::Path, args: &[&str], stdin: &str) -> String {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("git starts");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    let out = child.wait_with_output().expect("git ends");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The fields of `git cat-file tag <oid>` as the tag route names them: the `tag`, `object`,
/// `type` and `tagger` headers and the message (signature included).
fn cat_file_tag(dir: &std::path::Path, oid: &str) -> serde_json::Value {
    let raw = git_in(dir, &["cat-file", "tag", oid], "");
    let (headers, body) = raw.split_once("\n\n").unwrap_or((raw.as_str(), ""));
    let mut v = json!({"oid": oid, "body": body});
    for line in headers.lines() {
        let (k, rest) = line.split_once(' ').expect("a header");
        match k {
            "tag" => v["name"] = json!(rest),
            "object" => v["target"] = json!(rest),
            "type" => v["targetKind"] = json!(rest),
            "tagger" => {
                // `Name <email> seconds +hhmm`
                let (who, when) = rest.rsplit_once("> ").expect("a date");
                let (name, email) = who.split_once(" <").expect("an email");
                let (secs, tz) = when.split_once(' ').expect("a zone");
                let sign = if tz.starts_with('-') { -1 } else { 1 };
                let hours: i64 = tz[1..3].parse().expect("hours");
                let minutes: i64 = tz[3..5].parse().expect("minutes");
                v["tagger"] = json!({
                    "name": name, "email": email,
                    "time": secs.parse::<i64>().expect("seconds"),
                    "offsetMinutes": sign * (hours * 60 + minutes),
                });
            }
            _ => {}
        }
    }
    v
}

/// The ref kind trap: `{"name": "v1.0.0", "target": "main"}` made the branch
/// `refs/heads/v1.0.0`. A short name now needs `kind`, a full name works as before and must
/// agree with a kind given beside it, and a tag reads back with its tag object (tagger,
/// message, signature) as `git cat-file tag` shows it, on both engines.
#[tokio::test]
async fn a_short_ref_name_needs_a_kind_and_a_tag_reads_back_as_git_shows_it() {
    for engine in [
        gitapi_switch::EngineKind::Libgit2,
        gitapi_switch::EngineKind::Shell,
    ] {
        let t = TestApp::on(engine, |_| {});
        let (c1, c2) = t.seed("demo").await;
        let bare = t.data().join("repos/demo.git");
        let refs = "/v1/repos/demo/refs";

        // Refused, writing nothing: a short name alone, a kind against a full name.
        let before = snapshot(t.data());
        for body in [
            json!({"name": "v1.0.0", "target": "main"}),
            json!({"name": "v1.0.0", "target": "main", "annotation": {"message": "m"}}),
            json!({"name": "refs/tags/v1.0.0", "kind": "branch", "target": "main"}),
            json!({"name": "refs/heads/v1.0.0", "kind": "tag", "target": "main"}),
            json!({"name": "refs/notes/v1.0.0", "kind": "tag", "target": "main"}),
            json!({"name": "v1.0.0", "kind": "release", "target": "main"}),
        ] {
            let a = t.call("POST", refs, Some(body.clone())).await;
            let a = a.expect_error(400, "invalid_argument");
            if body.get("kind").is_none() {
                let msg = a.json()["error"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned();
                assert!(
                    msg.contains("full name") && msg.contains("kind"),
                    "{engine:?}: the refusal says what to give: {msg}"
                );
            }
        }
        assert!(
            before == snapshot(t.data()),
            "{engine:?}: a refused create wrote"
        );

        // With a kind, a short name is what it says.
        let v = t
            .call(
                "POST",
                refs,
                Some(json!({"name": "v1.0.0", "kind": "tag", "target": c1})),
            )
            .await
            .expect(201)
            .json();
        assert_eq!(v["name"], "refs/tags/v1.0.0");
        assert_eq!(
            git_in(&bare, &["rev-parse", "refs/tags/v1.0.0"], "").trim(),
            c1
        );
        let heads = git_in(
            &bare,
            &["for-each-ref", "--format=%(refname)", "refs/heads/"],
            "",
        );
        assert_eq!(heads, "refs/heads/main\n", "{engine:?}: no branch v1.0.0");
        let v = t
            .call(
                "POST",
                refs,
                Some(json!({"name": "topic", "kind": "branch", "target": c1})),
            )
            .await
            .expect(201)
            .json();
        assert_eq!(v["name"], "refs/heads/topic");
        // A full name, with or without a kind that agrees.
        for (name, kind) in [
            ("refs/heads/full", None),
            ("refs/heads/full2", Some("branch")),
            ("refs/tags/full", None),
            ("refs/tags/full2", Some("tag")),
        ] {
            let mut body = json!({"name": name, "target": "main"});
            if let Some(k) = kind {
                body["kind"] = json!(k);
            }
            let v = t.call("POST", refs, Some(body)).await.expect(201).json();
            assert_eq!(v["name"], name);
        }

        // An annotated tag made through the API reads back as git shows it.
        t.call(
            "POST",
            refs,
            Some(json!({"name": "v2.0.0", "kind": "tag", "target": "main",
                "annotation": {"message": "Release 2\n\nNotes.",
                    "tagger": {"name": "Tag Ger", "email": "tg@example.com",
                               "time": 1700000123, "offsetMinutes": -330}}})),
        )
        .await
        .expect(201);
        // A signed tag and a tag of a tree, written by git.
        let pgp =
            "-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAd\n=abcd\n-----END PGP SIGNATURE-----\n";
        let signed = git_in(
            &bare,
            &["mktag"],
            &format!(
                "object {c2}\ntype commit\ntag signed\ntagger S <s@example.com> 1700000000 \
                 +0100\n\nsigned release\n{pgp}"
            ),
        );
        git_in(
            &bare,
            &["update-ref", "refs/tags/signed", signed.trim()],
            "",
        );
        let tree = git_in(&bare, &["rev-parse", "main^{tree}"], "");
        let of_tree = git_in(
            &bare,
            &["mktag"],
            &format!(
                "object {}\ntype tree\ntag of-tree\ntagger S <s@example.com> 1 +0000\n\nt\n",
                tree.trim()
            ),
        );
        git_in(
            &bare,
            &["update-ref", "refs/tags/dir/of-tree", of_tree.trim()],
            "",
        );

        for (name, signature) in [
            ("v2.0.0", None),
            ("signed", Some(pgp)),
            ("dir/of-tree", None),
        ] {
            let v = t
                .get(&format!("/v1/repos/demo/tags/{name}"))
                .await
                .expect(200)
                .json();
            let full = format!("refs/tags/{name}");
            let tag_oid = git_in(&bare, &["rev-parse", &full], "").trim().to_owned();
            let peeled = git_in(&bare, &["rev-parse", &format!("{full}^{{}}")], "");
            assert_eq!(v["name"], full);
            assert_eq!(v["target"], tag_oid.as_str());
            assert_eq!(v["peeled"], peeled.trim());
            let git = cat_file_tag(&bare, &tag_oid);
            let o = &v["object"];
            for field in ["oid", "name", "target", "targetKind", "tagger"] {
                assert_eq!(o[field], git[field], "{engine:?} {name}: {field}");
            }
            let whole = format!(
                "{}{}",
                o["message"].as_str().expect("a message"),
                o["signature"].as_str().unwrap_or("")
            );
            assert_eq!(whole, git["body"].as_str().expect("a body"));
            assert_eq!(o["signature"].as_str(), signature, "{engine:?} {name}");
        }
        let v = t.get("/v1/repos/demo/tags/v2.0.0").await.json();
        assert_eq!(v["object"]["message"], "Release 2\n\nNotes.\n");
        assert_eq!(v["object"]["tagger"]["offsetMinutes"], -330);
        assert_eq!(v["object"]["signature"], serde_json::Value::Null);

        // A lightweight tag has no tag object; a missing tag is 404.
        let v = t.get("/v1/repos/demo/tags/v1.0.0").await.expect(200).json();
        assert_eq!(v["target"], c1.as_str());
        assert_eq!(v["peeled"], serde_json::Value::Null);
        assert_eq!(v["object"], serde_json::Value::Null);
        t.get("/v1/repos/demo/tags/nope")
            .await
            .expect_error(404, "not_found");
        t.get("/v1/repos/demo/tags/a..b")
            .await
            .expect_error(400, "invalid_argument");
    }
}
