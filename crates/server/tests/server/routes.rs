//! Every route, in process: a scenario that uses each one and checks its answer, then a check
//! that every operation of the OpenAPI document was called.

use serde_json::{Value, json};

use crate::common::{TestApp, ZERO};

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Whether a concrete path matches an OpenAPI template; a last parameter named `ref` or `path`
/// is a wildcard that takes the rest of the path.
fn matches_template(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    for (i, seg) in t.iter().enumerate() {
        let last = i == t.len() - 1;
        if last && (*seg == "{ref}" || *seg == "{path}") {
            return p.len() > i;
        }
        match p.get(i) {
            Some(ps) if seg.starts_with('{') || seg == ps => {}
            _ => return false,
        }
    }
    t.len() == p.len()
}

#[tokio::test]
async fn every_route_answers_as_documented() {
    let t = TestApp::new();

    // --- meta ---
    assert_eq!(t.get("/healthz").await.expect(200).text(), "ok");
    assert_eq!(t.get("/readyz").await.expect(200).text(), "ok");
    let doc = t.get("/openapi.json").await.expect(200).json();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );

    // --- repositories ---
    let (c1, c2) = t.seed("demo").await;
    let info = t.get("/v1/repos/demo").await.expect(200).json();
    assert_eq!(info["defaultBranch"], "refs/heads/main");
    assert_eq!(info["empty"], false);
    t.call("POST", "/v1/repos", Some(json!({"name": "other"})))
        .await
        .expect(201);
    t.call("POST", "/v1/repos", Some(json!({"name": "demo"})))
        .await
        .expect_error(409, "already_exists");
    let page = t.get("/v1/repos?limit=1").await.expect(200);
    assert!(page.headers.get("link").is_some());
    let v = page.json();
    assert_eq!(v["items"][0]["name"], "demo");
    let next = v["nextCursor"].as_str().expect("a cursor").to_owned();
    let v = t
        .get(&format!("/v1/repos?limit=1&cursor={next}"))
        .await
        .expect(200)
        .json();
    assert_eq!(v["items"][0]["name"], "other");
    assert!(v["nextCursor"].is_null());
    t.call("DELETE", "/v1/repos/other", None).await.expect(204);
    t.get("/v1/repos/other")
        .await
        .expect_error(404, "not_found");

    // --- config ---
    let v = t
        .call(
            "PUT",
            "/v1/repos/demo/config/gc.auto",
            Some(json!({"value": "0"})),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(v, json!({"key": "gc.auto", "value": "0"}));
    assert_eq!(
        t.get("/v1/repos/demo/config/gc.auto")
            .await
            .expect(200)
            .json()["value"],
        "0"
    );
    let v = t.get("/v1/repos/demo/config").await.expect(200).json();
    assert!(
        v["items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["key"] == "gc.auto"))
    );
    t.call(
        "PUT",
        "/v1/repos/demo/config/core.hooksPath",
        Some(json!({"value": "/tmp"})),
    )
    .await
    .expect_error(403, "permission_denied");

    // --- commits and log ---
    let v = t
        .get("/v1/repos/demo/commits?range=main&limit=1")
        .await
        .expect(200);
    let link = v
        .headers
        .get("link")
        .and_then(|l| l.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(link.contains("rel=\"next\""), "link: {link}");
    let v = v.json();
    assert_eq!(v["items"][0]["oid"], c2.as_str());
    let cursor = v["nextCursor"].as_str().expect("a next page").to_owned();
    let v = t
        .get(&format!(
            "/v1/repos/demo/commits?range=main&limit=1&cursor={cursor}"
        ))
        .await
        .expect(200)
        .json();
    assert_eq!(v["items"][0]["oid"], c1.as_str());
    assert!(v["nextCursor"].is_null());
    let v = t
        .get("/v1/repos/demo/commits?path=a.txt&offset=1&firstParent=1")
        .await
        .expect(200)
        .json();
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["items"][0]["oid"], c1.as_str());
    let v = t
        .get(&format!("/v1/repos/demo/commits/{c2}"))
        .await
        .expect(200)
        .json();
    assert_eq!(v["parents"][0], c1.as_str());
    assert_eq!(v["message"], "second\n");
    let v = t
        .call(
            "POST",
            "/v1/repos/demo/commit-lookup",
            Some(json!({"oids": [c1, ZERO]})),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(v["commits"][0]["oid"], c1.as_str());
    assert!(v["commits"][1].is_null());
    let payload = t
        .call(
            "POST",
            "/v1/repos/demo/commit-payload",
            Some(json!({
                "branch": "main", "expectedTip": c2, "message": "signed",
                "actions": [{"action": "put", "path": "s.txt", "content": b64("s")}],
                "author": {"name": "A", "email": "a@example.com", "time": 1700000000},
            })),
        )
        .await
        .expect(200)
        .text();
    assert!(payload.starts_with("tree "), "{payload}");
    // A lost compare-and-swap names both oids.
    let v = t
        .call(
            "POST",
            "/v1/repos/demo/commits",
            Some(json!({
                "branch": "main", "expectedTip": c1, "message": "stale",
                "actions": [{"action": "delete", "path": "a.txt"}],
                "author": {"name": "A", "email": "a@example.com"},
            })),
        )
        .await
        .expect_error(409, "conflict")
        .json();
    assert_eq!(v["error"]["details"]["type"], "refMismatch");
    assert_eq!(v["error"]["details"]["expected"], c1.as_str());
    assert_eq!(v["error"]["details"]["actual"], c2.as_str());

    // --- trees and blobs ---
    let v = t
        .get("/v1/repos/demo/files?rev=main&path=dir&recursive=1")
        .await
        .expect(200)
        .json();
    assert_eq!(v["items"][0]["path"], "dir/b.txt");
    let v = t
        .get("/v1/repos/demo/files?rev=main&limit=1")
        .await
        .expect(200)
        .json();
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1));
    assert!(v["nextCursor"].is_string());
    let blob = t
        .get("/v1/repos/demo/blob?rev=main&path=a.txt")
        .await
        .expect(200);
    assert_eq!(blob.text(), "one\ntwo\n");
    assert_eq!(
        blob.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/plain; charset=utf-8")
    );
    let etag = blob
        .headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("an etag")
        .to_owned();
    let oid = etag.trim_matches('"').to_owned();
    let req = axum::http::Request::get("/v1/repos/demo/blob?rev=main&path=a.txt")
        .header("if-none-match", &etag)
        .body(axum::body::Body::empty())
        .expect("request");
    let a = t.send(req).await.expect(304);
    assert!(a.body.is_empty());
    assert_eq!(
        t.get(&format!("/v1/repos/demo/blob?oid={oid}"))
            .await
            .expect(200)
            .text(),
        "one\ntwo\n"
    );
    t.get("/v1/repos/demo/blob?rev=main&path=missing.txt")
        .await
        .expect_error(404, "not_found");

    // --- refs ---
    let v = t
        .call(
            "POST",
            "/v1/repos/demo/refs",
            Some(json!({"name": "feature", "kind": "branch", "target": c1})),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(v["name"], "refs/heads/feature");
    let v = t
        .call(
            "POST",
            "/v1/repos/demo/refs",
            Some(
                json!({"name": "refs/tags/v1", "target": "main", "annotation": {"message": "one"}}),
            ),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(v["peeled"], c2.as_str());
    let tar = t.get("/v1/repos/demo/archive/v1.tar").await.expect(200);
    assert_eq!(tar.headers["content-type"], "application/x-tar");
    let tag = t.get("/v1/repos/demo/tags/v1").await.expect(200).json();
    assert_eq!(tag["peeled"], c2.as_str());
    assert_eq!(tag["object"]["target"], c2.as_str());
    assert_eq!(tag["object"]["message"], "one\n");
    let v = t
        .get("/v1/repos/demo/refs?kind=branches")
        .await
        .expect(200)
        .json();
    let names: Vec<&str> = v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["refs/heads/feature", "refs/heads/main"]);
    assert_eq!(
        t.get("/v1/repos/demo/refs/heads/feature")
            .await
            .expect(200)
            .json()["target"],
        c1.as_str()
    );
    let v = t
        .call(
            "PATCH",
            "/v1/repos/demo/refs/heads/feature",
            Some(json!({"target": c2, "expectedOld": c1})),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(v["target"], c2.as_str());
    t.call(
        "PATCH",
        "/v1/repos/demo/refs",
        Some(json!({"updates": [
            {"name": "refs/heads/feature", "new": c1, "expectedOld": c2},
            {"name": "refs/heads/extra", "new": c1, "expectedOld": ZERO},
        ]})),
    )
    .await
    .expect(204);
    let v = t
        .call(
            "PATCH",
            "/v1/repos/demo/refs",
            Some(json!({"updates": [{"name": "refs/heads/extra", "new": c2, "expectedOld": c2}]})),
        )
        .await
        .expect_error(409, "conflict")
        .json();
    assert_eq!(v["error"]["details"]["actual"], c1.as_str());
    let v = t
        .call(
            "POST",
            "/v1/repos/demo/ref-renames",
            Some(json!({"from": "extra", "to": "renamed"})),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(v["name"], "refs/heads/renamed");
    t.call(
        "DELETE",
        &format!("/v1/repos/demo/refs/heads/renamed?expected={c1}"),
        None,
    )
    .await
    .expect(204);
    t.get("/v1/repos/demo/refs/heads/renamed")
        .await
        .expect_error(404, "not_found");
    assert_eq!(
        t.get("/v1/repos/demo/resolve?rev=main")
            .await
            .expect(200)
            .json()["oid"],
        c2.as_str()
    );

    // --- diff ---
    let v = t
        .get(&format!(
            "/v1/repos/demo/diff?from={c1}&to={c2}&format=json"
        ))
        .await
        .expect(200)
        .json();
    assert_eq!(v["files"][0]["newPath"], "a.txt");
    assert_eq!(v["stats"]["insertions"], 1);
    let id = v["id"].as_str().expect("a diff id").to_owned();
    let patch = t
        .get(&format!(
            "/v1/repos/demo/diff?from={c1}&to={c2}&format=patch"
        ))
        .await
        .expect(200)
        .text();
    assert!(patch.starts_with("diff --git a/a.txt b/a.txt\n"), "{patch}");
    let again = t
        .get(&format!("/v1/repos/demo/diffs/{id}?format=patch"))
        .await
        .expect(200)
        .text();
    assert_eq!(again, patch);
    let stat = t
        .get(&format!(
            "/v1/repos/demo/diff?from={c1}&to={c2}&format=stat"
        ))
        .await
        .expect(200)
        .text();
    assert_eq!(stat, "1\t0\ta.txt\n");
    t.get("/v1/repos/demo/diffs/d1.garbage")
        .await
        .expect_error(400, "invalid_argument");

    // --- blame and ancestry ---
    let v = t
        .get("/v1/repos/demo/blame?path=a.txt&rev=main")
        .await
        .expect(200)
        .json();
    assert_eq!(v[0]["commit"], c1.as_str());
    assert_eq!(v[1]["commit"], c2.as_str());
    let v = t
        .get("/v1/repos/demo/blame?path=a.txt&start=2&end=2")
        .await
        .expect(200)
        .json();
    assert_eq!(v.as_array().map(Vec::len), Some(1));
    let v = t
        .get(&format!("/v1/repos/demo/merge-base?a={c1}&b=main"))
        .await
        .expect(200)
        .json();
    assert_eq!(v["mergeBase"], c1.as_str());
    let v = t
        .get(&format!("/v1/repos/demo/ahead-behind?a=main&b={c1}"))
        .await
        .expect(200)
        .json();
    assert_eq!(v, json!({"ahead": 1, "behind": 0}));
    let v = t
        .get(&format!(
            "/v1/repos/demo/is-ancestor?ancestor={c1}&descendant=main"
        ))
        .await
        .expect(200)
        .json();
    assert_eq!(v["isAncestor"], true);

    // --- workspaces, index, work-tree files ---
    let v = t
        .call(
            "POST",
            "/v1/repos/demo/workspaces",
            Some(json!({"name": "ws1", "branch": "feature"})),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(v["branch"], "refs/heads/feature");
    assert_eq!(
        t.get("/v1/repos/demo/workspaces/default")
            .await
            .expect(200)
            .json()["base"],
        c2.as_str()
    );
    // Reading `default` made nothing: its first write makes it.
    let v = t.get("/v1/repos/demo/workspaces").await.expect(200).json();
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1));
    let put = axum::http::Request::put("/v1/repos/demo/workspaces/default/files/new.txt")
        .body(axum::body::Body::from("new\n"))
        .expect("request");
    t.send(put).await.expect(204);
    let v = t.get("/v1/repos/demo/workspaces").await.expect(200).json();
    assert_eq!(v["items"].as_array().map(Vec::len), Some(2));
    let v = t.get("/v1/repos/demo/status").await.expect(200).json();
    assert_eq!(
        v["items"][0],
        json!({"path": "new.txt", "staged": "unmodified", "unstaged": "unmodified", "untracked": true})
    );
    t.call(
        "POST",
        "/v1/repos/demo/stage",
        Some(json!({"path": "new.txt"})),
    )
    .await
    .expect(204);
    let v = t
        .get("/v1/repos/demo/diff?kind=index")
        .await
        .expect(200)
        .json();
    assert_eq!(v["files"][0]["status"], "added");
    t.call(
        "POST",
        "/v1/repos/demo/unstage",
        Some(json!({"path": "new.txt"})),
    )
    .await
    .expect(204);
    t.call(
        "POST",
        "/v1/repos/demo/stage",
        Some(json!({"path": "new.txt"})),
    )
    .await
    .expect(204);
    let c3 = t
        .call(
            "POST",
            "/v1/repos/demo/index/commit",
            Some(json!({"message": "from the index", "author": {"name": "A", "email": "a@example.com"}})),
        )
        .await
        .expect(201)
        .json()["oid"]
        .as_str()
        .expect("oid")
        .to_owned();
    assert_eq!(
        t.get("/v1/repos/demo/refs/heads/main")
            .await
            .expect(200)
            .json()["target"],
        c3.as_str()
    );
    // Work-tree edits: move, delete, discard, stage a patch.
    t.call(
        "POST",
        "/v1/repos/demo/workspaces/default/moves",
        Some(json!({"from": "new.txt", "to": "moved.txt"})),
    )
    .await
    .expect(204);
    t.call(
        "DELETE",
        "/v1/repos/demo/workspaces/default/files/moved.txt",
        None,
    )
    .await
    .expect(204);
    let v = t
        .get("/v1/repos/demo/diff?kind=worktree&format=name-status")
        .await
        .expect(200)
        .text();
    assert_eq!(v, "D\tnew.txt\n");
    t.call(
        "POST",
        "/v1/repos/demo/discard",
        Some(json!({"path": "new.txt"})),
    )
    .await
    .expect(204);
    assert!(
        t.get("/v1/repos/demo/status").await.expect(200).json()["items"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    let patch = "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,3 @@\n one\n two\n+three\n";
    t.call(
        "POST",
        "/v1/repos/demo/stage",
        Some(json!({"path": "a.txt", "patch": patch})),
    )
    .await
    .expect(204);
    let v = t.get("/v1/repos/demo/status").await.expect(200).json();
    assert_eq!(v["items"][0]["staged"], "modified");
    t.call(
        "POST",
        "/v1/repos/demo/reset",
        Some(json!({"to": c3, "mode": "hard"})),
    )
    .await
    .expect(200);

    // --- stash ---
    let put = axum::http::Request::put("/v1/repos/demo/workspaces/default/files/a.txt")
        .body(axum::body::Body::from("changed\n"))
        .expect("request");
    t.send(put).await.expect(204);
    let v = t
        .call(
            "POST",
            "/v1/repos/demo/stash",
            Some(json!({"message": "wip", "includeUntracked": true})),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(v["message"], "On main: wip");
    assert!(
        t.get("/v1/repos/demo/status").await.expect(200).json()["items"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    assert_eq!(
        t.get("/v1/repos/demo/stash").await.expect(200).json()["items"][0]["index"],
        0
    );
    t.call("POST", "/v1/repos/demo/stash/0/apply", Some(json!({})))
        .await
        .expect(204);
    assert_eq!(
        t.get("/v1/repos/demo/status").await.expect(200).json()["items"][0]["path"],
        "a.txt"
    );
    t.call("DELETE", "/v1/repos/demo/stash/0", None)
        .await
        .expect(204);
    t.call("DELETE", "/v1/repos/demo/stash/0", None)
        .await
        .expect_error(404, "not_found");
    t.call(
        "POST",
        "/v1/repos/demo/stash",
        Some(json!({"message": "x"})),
    )
    .await
    .expect(201);

    // --- cherry-pick, revert, amend, reset, merge, rebase ---
    let v = t
        .call(
            "PATCH",
            &format!("/v1/repos/demo/commits/{c3}/cherry-pick"),
            Some(json!({"branch": "feature"})),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(v["parents"][0], c1.as_str());
    let picked = v["oid"].as_str().expect("oid").to_owned();
    let v = t
        .call(
            "PATCH",
            &format!("/v1/repos/demo/commits/{c3}/revert"),
            Some(json!({"branch": "main", "expectedTip": c3})),
        )
        .await
        .expect(200)
        .json();
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Revert \"from the index\""))
    );
    let v = t
        .call(
            "POST",
            "/v1/repos/demo/amend",
            Some(json!({"branch": "feature", "expectedTip": picked, "message": "amended\n"})),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(v["message"], "amended\n");
    let v = t
        .call(
            "POST",
            "/v1/repos/demo/reset",
            Some(json!({"branch": "feature", "to": c1, "mode": "soft"})),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(v["tip"], c1.as_str());
    let topic = t
        .commit("demo", "topic", Some(ZERO), &[("t.txt", "t\n")], "topic")
        .await;
    let v = t
        .call(
            "POST",
            "/v1/repos/demo/merge",
            Some(json!({"source": "main", "target": "feature", "fastForward": "ffOnly"})),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(v["kind"], "fastForward");
    let v = t
        .call(
            "POST",
            "/v1/repos/demo/rebase",
            Some(json!({"branch": "topic", "onto": "main", "expectedTip": topic})),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(v["commits"].as_array().map(Vec::len), Some(1));

    // --- protection rules ---
    let v = t
        .call(
            "PUT",
            "/v1/repos/demo/protections",
            Some(json!({"pattern": "refs/heads/release/*", "noDeletion": true})),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(v["rules"][0]["noDeletion"], true);
    assert_eq!(
        t.get("/v1/repos/demo/protections").await.expect(200).json()["rules"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let v = t
        .call(
            "DELETE",
            "/v1/repos/demo/protections?pattern=refs/heads/release/*",
            None,
        )
        .await
        .expect(200)
        .json();
    assert_eq!(v["rules"], json!([]));

    // --- maintenance ---
    let v = t
        .call("POST", "/v1/repos/demo/gc", None)
        .await
        .expect(200)
        .json();
    assert_eq!(v["looseObjectsAfter"], 0);
    t.call("POST", "/v1/repos/demo/sync", None)
        .await
        .expect_error(422, "failed_precondition");
    t.call("DELETE", "/v1/repos/demo/workspaces/ws1", None)
        .await
        .expect(204);
    t.call("DELETE", "/v1/repos/demo", None).await.expect(204);

    // The engine switch: read, switch to the CLI engine and back, set the canary.
    let v = t.get("/v1/admin/backend").await.expect(200).json();
    assert_eq!(v["backend"], "libgit2");
    let v = t
        .call(
            "PUT",
            "/v1/admin/backend",
            Some(json!({"backend": "shell"})),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(v["backend"], "shell");
    assert_eq!(v["switches"], 1);
    let v = t
        .call(
            "PUT",
            "/v1/admin/backend",
            Some(json!({"backend": "libgit2", "canary": {"fraction": 0.5, "mode": "shadow"}})),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(v["backend"], "libgit2");
    assert_eq!(v["canary"]["fraction"], 0.5);
    t.call("PUT", "/v1/admin/backend", Some(json!({"backend": "svn"})))
        .await
        .expect_error(400, "invalid_argument");
    t.call(
        "PUT",
        "/v1/admin/backend",
        Some(json!({"canary": {"fraction": 2.0, "mode": "shadow"}})),
    )
    .await
    .expect_error(400, "invalid_argument");

    // --- events (Server-Sent Events) ---
    // Resuming from a number older than the server's first event: a `reset`, then every
    // kept event, `demo`'s creation and its refs among them.
    let (status, headers, text) = t
        .stream_until("/v1/events", &[("last-event-id", "1")], |t| {
            t.contains("event: reset") && t.contains("\"repo\":\"demo\"")
        })
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    assert!(text.contains("event: repository"), "{text}");
    let (status, _, text) = t
        .stream_until("/v1/repos/demo/events?lastEventId=1", &[], |t| {
            t.contains("event: ref\n")
        })
        .await;
    assert_eq!(status, 200);
    assert!(!text.contains("\"repo\":\"other\""), "{text}");
    let (status, _, text) = t
        .stream_until("/v1/events", &[("last-event-id", "soon")], |_| false)
        .await;
    assert_eq!(status, 400, "{text}");

    // The live log and blame are WebSockets (tests/streams/live.rs); a plain GET is refused.
    t.get("/v1/repos/demo/log/live?rev=main")
        .await
        .expect_error(400, "invalid_argument");
    t.get("/v1/repos/demo/blame/live?path=a.txt")
        .await
        .expect_error(400, "invalid_argument");

    // Unknown routes and methods answer with the error body too.
    t.get("/v1/nothing").await.expect_error(404, "not_found");
    t.call("PUT", "/v1/repos", None).await.expect(405);

    // Every documented operation was called.
    let calls = t.calls.lock().expect("calls").clone();
    let mut missing = Vec::new();
    for (template, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_none() {
                continue;
            }
            let called = calls.iter().any(|(m, p)| {
                m.as_str().eq_ignore_ascii_case(method) && matches_template(template, p)
            });
            if !called && template != "/v1/repos/{repo}/sync" {
                missing.push(format!("{method} {template}"));
            }
        }
    }
    // `sync` is called above (it answers 422 on a non-mirror); its success is in `mirror_clone`.
    assert!(missing.is_empty(), "routes never called: {missing:?}");
}

#[tokio::test]
async fn mirror_clone_and_sync_with_local_sources_allowed() {
    let git = gitapi_testkit::git::Git::new();
    let src = tempfile::tempdir().expect("tempdir");
    let work = gitapi_testkit::git::RepoBuilder::init(&git, src.path().join("w"), "main");
    work.commit("one", &[("f.txt", "1\n")]);
    let url = format!("file://{}", src.path().join("w").display());

    // Refused by default.
    let closed = TestApp::new();
    closed
        .call(
            "POST",
            "/v1/repos",
            Some(json!({"name": "m", "source": {"url": url, "mirror": true}})),
        )
        .await
        .expect_error(403, "permission_denied");
    assert!(!closed.data().join("repos/m.git").exists());

    let t = TestApp::with(|c| c.allow_local_clone = true);
    let v = t
        .call(
            "POST",
            "/v1/repos",
            Some(json!({"name": "m", "source": {"url": url, "mirror": true}})),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(v["mirror"], true);
    let second = work.commit("two", &[("f.txt", "2\n")]);
    t.call("POST", "/v1/repos/m/sync", None).await.expect(200);
    let v: Value = t
        .get("/v1/repos/m/refs/heads/main")
        .await
        .expect(200)
        .json();
    assert_eq!(v["target"], second.as_str());
}
