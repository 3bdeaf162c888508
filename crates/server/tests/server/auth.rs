//! Bearer tokens: deny by default, scopes per repository pattern, the header only.

use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use gitapi_service::{RepoPattern, Scope, TokenGrant};

use crate::common::TestApp;

const ADMIN: &str = "admin-token-0123456789";
const READER: &str = "reader-token-0123456789";

fn app() -> TestApp {
    TestApp::with(|c| {
        let all = || vec![RepoPattern::new("*").expect("pattern")];
        c.tokens = vec![
            TokenGrant::new("admin", ADMIN, Scope::Admin, all()).expect("grant"),
            TokenGrant::new(
                "reader",
                READER,
                Scope::Read,
                vec![RepoPattern::new("pub-*").expect("pattern")],
            )
            .expect("grant"),
        ];
    })
}

async fn call(
    t: &TestApp,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> crate::common::Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(tok) = token {
        req = req.header("authorization", format!("Bearer {tok}"));
    }
    let body = body.map_or_else(Body::empty, |v| Body::from(v.to_string()));
    t.send(req.body(body).expect("request")).await
}

#[tokio::test]
async fn tokens_are_required_and_scoped() {
    let t = app();
    call(&t, "GET", "/v1/repos", None, None)
        .await
        .expect_error(401, "unauthenticated");
    call(&t, "GET", "/v1/repos", Some("wrong-token-000000000"), None)
        .await
        .expect_error(401, "unauthenticated");
    // A token anywhere but the Authorization header is not looked at.
    call(
        &t,
        "GET",
        &format!("/v1/repos?access_token={ADMIN}"),
        None,
        None,
    )
    .await
    .expect(401);
    call(
        &t,
        "POST",
        "/v1/repos",
        Some(ADMIN),
        Some(json!({"name": "pub-a"})),
    )
    .await
    .expect(201);
    call(
        &t,
        "POST",
        "/v1/repos",
        Some(ADMIN),
        Some(json!({"name": "secret"})),
    )
    .await
    .expect(201);
    // The reader sees only what its pattern covers, and cannot write.
    let v = call(&t, "GET", "/v1/repos", Some(READER), None)
        .await
        .expect(200)
        .json();
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["items"][0]["name"], "pub-a");
    call(&t, "GET", "/v1/repos/pub-a", Some(READER), None)
        .await
        .expect(200);
    call(&t, "GET", "/v1/repos/secret", Some(READER), None)
        .await
        .expect_error(403, "permission_denied");
    call(
        &t,
        "POST",
        "/v1/repos",
        Some(READER),
        Some(json!({"name": "pub-b"})),
    )
    .await
    .expect_error(403, "permission_denied");
    call(
        &t,
        "POST",
        "/v1/repos/pub-a/refs",
        Some(READER),
        Some(json!({"name": "x", "kind": "branch", "target": "HEAD"})),
    )
    .await
    .expect_error(403, "permission_denied");
    call(&t, "DELETE", "/v1/repos/pub-a", Some(READER), None)
        .await
        .expect_error(403, "permission_denied");
    // A read-only token writes nothing to disk: a signing payload stores the blobs and trees
    // it names, so it needs write scope.
    let before = crate::common::snapshot(t.data());
    call(
        &t,
        "POST",
        "/v1/repos/pub-a/commit-payload",
        Some(READER),
        Some(json!({
            "branch": "main",
            "message": "m",
            "author": {"name": "A", "email": "a@example.com", "time": 1700000000},
            "actions": [{"action": "put", "path": "big.bin", "content": "eHh4eA=="}],
        })),
    )
    .await
    .expect_error(403, "permission_denied");
    assert!(
        before == crate::common::snapshot(t.data()),
        "a refused payload wrote to the data directory"
    );
    // Nor do reads of the default workspace before its first write: they answer as the
    // clean checkout it will be, and make nothing.
    let before = crate::common::snapshot(t.data());
    let ws = call(
        &t,
        "GET",
        "/v1/repos/pub-a/workspaces/default",
        Some(READER),
        None,
    )
    .await
    .expect(200)
    .json();
    assert_eq!(ws["branch"], "refs/heads/main");
    for uri in ["/v1/repos/pub-a/status", "/v1/repos/pub-a/stash"] {
        let v = call(&t, "GET", uri, Some(READER), None)
            .await
            .expect(200)
            .json();
        assert_eq!(v["items"], json!([]), "{uri}");
    }
    assert!(
        before == crate::common::snapshot(t.data()),
        "a read of the default workspace wrote to the data directory"
    );
    // Health stays open.
    call(&t, "GET", "/healthz", None, None).await.expect(200);
}
