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
