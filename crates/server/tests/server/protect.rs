//! Protected branches: every REST route that could force-update or delete a protected branch
//! is refused with 403 and changes nothing.

use serde_json::{Value, json};

use crate::common::{TestApp, ZERO};

async fn refs(t: &TestApp) -> Value {
    t.get("/v1/repos/demo/refs").await.expect(200).json()
}

#[tokio::test]
async fn force_updates_and_deletions_of_protected_branches_are_refused() {
    let t = TestApp::new();
    let (c1, c2) = t.seed("demo").await;
    // A workspace on main exists before the rule, so its routes reach the protection check.
    t.get("/v1/repos/demo/workspaces/default").await.expect(200);
    t.call(
        "PUT",
        "/v1/repos/demo/protections",
        Some(json!({"pattern": "refs/heads/main", "noForcePush": true, "noDeletion": true})),
    )
    .await
    .expect(200);
    let before = refs(&t).await;
    let author = json!({"name": "A", "email": "a@example.com"});

    let attempts: Vec<(&str, String, Option<Value>)> = vec![
        (
            "PATCH",
            "/v1/repos/demo/refs/heads/main".into(),
            Some(json!({"target": c1})),
        ),
        (
            "PATCH",
            "/v1/repos/demo/refs/heads/main".into(),
            Some(json!({"target": c1, "expectedOld": c2})),
        ),
        (
            "PATCH",
            "/v1/repos/demo/refs".into(),
            Some(json!({"updates": [{"name": "refs/heads/main", "new": c1}]})),
        ),
        (
            "PATCH",
            "/v1/repos/demo/refs".into(),
            Some(json!({"updates": [{"name": "refs/heads/main", "new": ZERO, "expectedOld": c2}]})),
        ),
        ("DELETE", "/v1/repos/demo/refs/heads/main".into(), None),
        (
            "DELETE",
            format!("/v1/repos/demo/refs/heads/main?expected={c2}"),
            None,
        ),
        (
            "POST",
            "/v1/repos/demo/ref-renames".into(),
            Some(json!({"from": "main", "to": "moved"})),
        ),
        (
            "POST",
            "/v1/repos/demo/amend".into(),
            Some(json!({"branch": "main", "message": "rewritten"})),
        ),
        (
            "POST",
            "/v1/repos/demo/reset".into(),
            Some(json!({"branch": "main", "to": c1, "mode": "hard"})),
        ),
        (
            "POST",
            "/v1/repos/demo/reset".into(),
            Some(json!({"to": c1, "mode": "hard"})),
        ),
        (
            "POST",
            "/v1/repos/demo/rebase".into(),
            Some(json!({"branch": "main", "onto": c1})),
        ),
        (
            "POST",
            "/v1/repos/demo/index/commit".into(),
            Some(json!({"message": "m", "author": author, "amend": true, "allowEmpty": true})),
        ),
        ("DELETE", "/v1/repos/demo".into(), None),
    ];
    for (method, uri, body) in attempts {
        let a = t.call(method, &uri, body).await;
        assert_eq!(a.status.as_u16(), 403, "{method} {uri}: {}", a.text());
        assert_eq!(a.json()["error"]["code"], "permission_denied");
        assert_eq!(refs(&t).await, before, "{method} {uri} changed refs");
    }

    // Moving forward is still allowed, and so is anything on other branches.
    let c3 = t
        .commit("demo", "main", Some(&c2), &[("c.txt", "c\n")], "third")
        .await;
    t.call(
        "PATCH",
        "/v1/repos/demo/refs/heads/main",
        Some(json!({"target": c3, "expectedOld": c3})),
    )
    .await
    .expect(200);
    t.call(
        "POST",
        "/v1/repos/demo/refs",
        Some(json!({"name": "side", "kind": "branch", "target": c1})),
    )
    .await
    .expect(201);
    t.call("DELETE", "/v1/repos/demo/refs/heads/side", None)
        .await
        .expect(204);

    // Signed commits required: an unsigned commit is refused and nothing moves.
    t.call(
        "PUT",
        "/v1/repos/demo/protections",
        Some(json!({"pattern": "refs/heads/*", "requireSignedCommits": true})),
    )
    .await
    .expect(200);
    let before = refs(&t).await;
    let body = json!({
        "branch": "main", "message": "unsigned",
        "actions": [{"action": "put", "path": "u.txt", "content": "dQ=="}],
        "author": author,
    });
    t.call("POST", "/v1/repos/demo/commits", Some(body))
        .await
        .expect_error(403, "permission_denied");
    t.call(
        "PATCH",
        &format!("/v1/repos/demo/commits/{c1}/revert"),
        Some(json!({"branch": "main"})),
    )
    .await
    .expect_error(403, "permission_denied");
    t.call(
        "POST",
        "/v1/repos/demo/merge",
        Some(json!({"source": c1, "target": "main", "fastForward": "noFf"})),
    )
    .await
    .expect_error(403, "permission_denied");
    assert_eq!(refs(&t).await, before);
}
