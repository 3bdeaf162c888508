//! HTTP caching of the REST read routes: strong ETags of the answer's bytes, `If-None-Match`
//! answered with `304` (weak comparison, lists, `*`), and `Cache-Control` that is `immutable`
//! only when the URL names nothing but object ids.

use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use gitapi_service::{RepoPattern, Scope, TokenGrant};

use crate::common::{Answer, TestApp, ZERO};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A request with headers, through the in-process app.
async fn get_with(t: &TestApp, method: &str, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    t.send(req.body(Body::empty()).expect("a valid request"))
        .await
}

fn header(a: &Answer, name: &str) -> String {
    a.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The answer's ETag, checked to be strong (quoted, no `W/`).
fn strong_etag(a: &Answer) -> String {
    let etag = header(a, "etag");
    assert!(
        etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
        "not a strong ETag: {etag:?}"
    );
    etag
}

/// The whole conditional contract of one URL: a 200 with a strong ETag and `cache_control`;
/// `If-None-Match` with that tag (plain, weak, in a list, or `*`) is a 304 with no body that
/// repeats both headers; another tag is a 200 with the same tag. Returns the tag.
async fn revalidates(t: &TestApp, uri: &str, cache_control: &str) -> String {
    let first = t.get(uri).await.expect(200);
    let etag = strong_etag(&first);
    assert_eq!(header(&first, "cache-control"), cache_control, "{uri}");
    let weak = format!("W/{etag}");
    let listed = format!("\"not-it\", {etag}");
    for condition in [etag.as_str(), weak.as_str(), listed.as_str(), "*"] {
        let again = get_with(t, "GET", uri, &[("if-none-match", condition)])
            .await
            .expect(304);
        assert!(again.body.is_empty(), "a 304 has no body: {}", again.text());
        assert_eq!(header(&again, "etag"), etag, "{uri} with {condition}");
        assert_eq!(header(&again, "cache-control"), cache_control, "{uri}");
    }
    let other = get_with(t, "GET", uri, &[("if-none-match", "\"0123\", W/\"4567\"")])
        .await
        .expect(200);
    assert_eq!(other.body, first.body);
    assert_eq!(
        strong_etag(&other),
        etag,
        "the same answer has the same tag"
    );
    etag
}

#[tokio::test]
async fn one_commit_by_id_is_immutable_and_by_branch_revalidates() {
    let t = TestApp::new();
    let (c1, _) = t.seed("r").await;
    revalidates(&t, &format!("/v1/repos/r/commits/{c1}"), IMMUTABLE).await;
    revalidates(&t, "/v1/repos/r/commits/main", "no-cache").await;
    // An abbreviated id may come to name another object: not immutable.
    revalidates(
        &t,
        &format!("/v1/repos/r/commits/{}", &c1[..12]),
        "no-cache",
    )
    .await;
}

#[tokio::test]
async fn the_log_of_a_range_of_ids_is_immutable() {
    let t = TestApp::new();
    let (c1, c2) = t.seed("r").await;
    revalidates(
        &t,
        &format!("/v1/repos/r/commits?range={c1}..{c2}"),
        IMMUTABLE,
    )
    .await;
    revalidates(&t, &format!("/v1/repos/r/commits?range={c2}"), IMMUTABLE).await;
    revalidates(&t, "/v1/repos/r/commits", "no-cache").await;
    revalidates(
        &t,
        &format!("/v1/repos/r/commits?range={c1}..main"),
        "no-cache",
    )
    .await;
}

#[tokio::test]
async fn each_format_of_a_diff_has_its_own_tag() {
    let t = TestApp::new();
    let (c1, c2) = t.seed("r").await;
    let base = format!("/v1/repos/r/diff?from={c1}&to={c2}");
    let json = revalidates(&t, &base, IMMUTABLE).await;
    let patch = revalidates(&t, &format!("{base}&format=patch"), IMMUTABLE).await;
    let stat = revalidates(&t, &format!("{base}&format=stat"), IMMUTABLE).await;
    assert_ne!(json, patch);
    assert_ne!(patch, stat);
    // One format's tag does not answer 304 for another.
    get_with(&t, "GET", &base, &[("if-none-match", &patch)])
        .await
        .expect(200);
    // `to` alone diffs against its parent: still only ids.
    revalidates(&t, &format!("/v1/repos/r/diff?to={c2}"), IMMUTABLE).await;
    revalidates(&t, &format!("/v1/repos/r/diff?from={c1}"), "no-cache").await;
    revalidates(
        &t,
        &format!("/v1/repos/r/diff?from={c1}&to=main"),
        "no-cache",
    )
    .await;

    // A diff id encodes ids only; rendered again, the bytes (so the tag) are the same.
    let id = t.get(&base).await.expect(200).json()["id"]
        .as_str()
        .expect("a diff id")
        .to_owned();
    let again = revalidates(&t, &format!("/v1/repos/r/diffs/{id}"), IMMUTABLE).await;
    assert_eq!(again, json);
    let again_patch = revalidates(
        &t,
        &format!("/v1/repos/r/diffs/{id}?format=patch"),
        IMMUTABLE,
    )
    .await;
    assert_eq!(again_patch, patch);
}

#[tokio::test]
async fn blame_and_recursive_tree_listings_are_tagged() {
    let t = TestApp::new();
    let (_, c2) = t.seed("r").await;
    revalidates(
        &t,
        &format!("/v1/repos/r/blame?path=a.txt&rev={c2}"),
        IMMUTABLE,
    )
    .await;
    revalidates(&t, "/v1/repos/r/blame?path=a.txt", "no-cache").await;
    revalidates(
        &t,
        &format!("/v1/repos/r/files?rev={c2}&recursive=1"),
        IMMUTABLE,
    )
    .await;
    revalidates(&t, "/v1/repos/r/files?rev=main&recursive=1", "no-cache").await;
    revalidates(&t, "/v1/repos/r/refs", "no-cache").await;
    revalidates(&t, "/v1/repos/r/refs/heads/main", "no-cache").await;
    revalidates(&t, "/v1/repos/r/resolve?rev=main", "no-cache").await;
    revalidates(
        &t,
        &format!("/v1/repos/r/ahead-behind?a={c2}&b={c2}"),
        IMMUTABLE,
    )
    .await;
}

/// After a commit moves the branch, a tag taken from the branch-named URL no longer matches:
/// the client gets the new answer and its new tag.
#[tokio::test]
async fn a_moved_branch_invalidates_the_tags_of_its_urls() {
    let t = TestApp::new();
    let (_, c2) = t.seed("r").await;
    let urls = [
        "/v1/repos/r/commits/main",
        "/v1/repos/r/commits?range=main",
        "/v1/repos/r/diff?to=main&format=patch",
        "/v1/repos/r/blame?path=a.txt&rev=main",
        "/v1/repos/r/files?rev=main&recursive=1",
        "/v1/repos/r/refs",
    ];
    let mut before = Vec::new();
    for url in urls {
        before.push(revalidates(&t, url, "no-cache").await);
    }
    t.commit(
        "r",
        "main",
        Some(&c2),
        &[("a.txt", "one\ntwo\nthree\n")],
        "third",
    )
    .await;
    for (url, old) in urls.iter().zip(before) {
        let now = get_with(&t, "GET", url, &[("if-none-match", &old)])
            .await
            .expect(200);
        let new = strong_etag(&now);
        assert_ne!(new, old, "{url} kept its tag after main moved");
        get_with(&t, "GET", url, &[("if-none-match", &new)])
            .await
            .expect(304);
    }
}

#[tokio::test]
async fn a_blob_keeps_its_id_as_tag_and_gets_the_same_policy() {
    let t = TestApp::new();
    let (_, c2) = t.seed("r").await;
    let by_path = t.get("/v1/repos/r/blob?path=a.txt").await.expect(200);
    let etag = strong_etag(&by_path);
    assert_eq!(header(&by_path, "cache-control"), "no-cache");
    let oid = etag.trim_matches('"').to_owned();
    assert_eq!(oid.len(), 40, "the blob's tag is its id: {etag}");
    assert_eq!(
        revalidates(&t, &format!("/v1/repos/r/blob?oid={oid}"), IMMUTABLE).await,
        etag
    );
    revalidates(
        &t,
        &format!("/v1/repos/r/blob?path=a.txt&rev={c2}"),
        IMMUTABLE,
    )
    .await;
    revalidates(&t, "/v1/repos/r/blob?path=a.txt", "no-cache").await;
}

#[tokio::test]
async fn head_requests_revalidate_like_gets() {
    let t = TestApp::new();
    let (c1, _) = t.seed("r").await;
    let uri = format!("/v1/repos/r/commits/{c1}");
    let etag = strong_etag(&t.get(&uri).await.expect(200));
    let head = get_with(&t, "HEAD", &uri, &[]).await.expect(200);
    assert_eq!(strong_etag(&head), etag);
    get_with(&t, "HEAD", &uri, &[("if-none-match", &etag)])
        .await
        .expect(304);
}

/// Errors, writes and routes outside the cached reads carry no tag, and `If-None-Match` does
/// not turn them into 304s.
#[tokio::test]
async fn only_successful_cached_reads_are_tagged() {
    let t = TestApp::new();
    t.seed("r").await;
    let missing = get_with(
        &t,
        "GET",
        &format!("/v1/repos/r/commits/{}", "1".repeat(40)),
        &[("if-none-match", "*")],
    )
    .await
    .expect_error(404, "not_found");
    assert!(missing.headers.get("etag").is_none());
    assert!(missing.headers.get("cache-control").is_none());
    let info = get_with(&t, "GET", "/v1/repos/r", &[("if-none-match", "*")])
        .await
        .expect(200);
    assert!(
        info.headers.get("etag").is_none(),
        "repo info is not cached"
    );
    let config = t.get("/v1/repos/r/config").await.expect(200);
    assert!(config.headers.get("etag").is_none(), "config is not cached");
    let created = t
        .call("POST", "/v1/repos", Some(json!({"name": "other"})))
        .await
        .expect(201);
    assert!(created.headers.get("etag").is_none());
}

/// With tokens, an answer to a request that carried `Authorization` is immutable for the
/// caller's own cache only: a shared cache must not hand it to someone else.
#[tokio::test]
async fn an_authorized_answer_is_private() {
    const ADMIN: &str = "admin-token-0123456789";
    let t = TestApp::with(|c| {
        c.tokens = vec![
            TokenGrant::new(
                "admin",
                ADMIN,
                Scope::Admin,
                vec![RepoPattern::new("*").expect("pattern")],
            )
            .expect("grant"),
        ];
    });
    let bearer = format!("Bearer {ADMIN}");
    let auth = [("authorization", bearer.as_str())];
    send_as(&t, &bearer, "POST", "/v1/repos", json!({"name": "r"}))
        .await
        .expect(201);
    let commit = send_as(
        &t,
        &bearer,
        "POST",
        "/v1/repos/r/commits",
        json!({
            "branch": "main",
            "expectedTip": ZERO,
            "actions": [{"action": "put", "path": "a.txt", "content": "b25lCg=="}],
            "message": "first",
            "author": {"name": "A U Thor", "email": "author@example.com"},
        }),
    )
    .await
    .expect(201);
    let oid = commit.json()["oid"].as_str().expect("an oid").to_owned();
    let uri = format!("/v1/repos/r/commits/{oid}");
    let first = get_with(&t, "GET", &uri, &auth).await.expect(200);
    assert_eq!(
        header(&first, "cache-control"),
        "private, max-age=31536000, immutable"
    );
    let etag = strong_etag(&first);
    let again = get_with(
        &t,
        "GET",
        &uri,
        &[auth[0], ("if-none-match", etag.as_str())],
    )
    .await
    .expect(304);
    assert_eq!(
        header(&again, "cache-control"),
        "private, max-age=31536000, immutable"
    );
    // Without the token the request is refused before any tag is made.
    let refused = get_with(&t, "GET", &uri, &[("if-none-match", etag.as_str())])
        .await
        .expect_error(401, "unauthenticated");
    assert!(refused.headers.get("etag").is_none());
}

/// A JSON request carrying `authorization`.
async fn send_as(
    t: &TestApp,
    authorization: &str,
    method: &str,
    uri: &str,
    body: serde_json::Value,
) -> Answer {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("authorization", authorization)
        .body(Body::from(body.to_string()))
        .expect("a valid request");
    t.send(req).await
}

/// The document says where `If-None-Match` applies and that the answer may be a 304.
#[tokio::test]
async fn the_document_describes_the_cached_reads() {
    let t = TestApp::new();
    let doc = t.get("/openapi.json").await.expect(200).json();
    for path in [
        "/v1/repos/{repo}/commits",
        "/v1/repos/{repo}/commits/{sha}",
        "/v1/repos/{repo}/diff",
        "/v1/repos/{repo}/diffs/{id}",
        "/v1/repos/{repo}/blame",
        "/v1/repos/{repo}/files",
        "/v1/repos/{repo}/blob",
        "/v1/repos/{repo}/refs",
    ] {
        let op = &doc["paths"][path]["get"];
        assert!(op["responses"]["304"].is_object(), "{path} lacks 304");
        assert!(
            op["responses"]["200"]["headers"]["ETag"].is_object(),
            "{path} lacks the ETag header"
        );
        let declared = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["in"] == "header" && p["name"] == "If-None-Match");
        assert!(declared, "{path} does not declare If-None-Match");
    }
    // Writes and uncached reads do not.
    assert!(doc["paths"]["/v1/repos/{repo}/commits"]["post"]["responses"]["304"].is_null());
    assert!(doc["paths"]["/v1/repos/{repo}"]["get"]["responses"]["304"].is_null());
}
