//! Errors carry the error table's codes and REST's details: `extensions.code` (the table's
//! GraphQL code), `extensions.kind` (the code of REST's error body) and `extensions.details`
//! equal to REST's `details` for the same failure.

use serde_json::{Value, json};

use crate::common::{TestServer, ZERO, author, commit, http_client, seed};

fn ext<'a>(err: &'a Value, key: &str) -> &'a Value {
    &err["extensions"][key]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_the_table_codes_and_rest_details() {
    let server = TestServer::start().await;
    let gql = server.gql();
    let tip = seed(&gql, "e", &[("a.txt", "a\n")]).await;

    // Not found: a repository and a ref.
    let errs = gql
        .errors("{ repository(name: \"nope\") { name } }", json!({}))
        .await;
    assert_eq!(ext(&errs[0], "code"), "NOT_FOUND");
    assert_eq!(ext(&errs[0], "kind"), "not_found");
    assert_eq!(errs[0]["path"], json!(["repository"]));
    let errs = gql
        .errors(
            "{ repository(name: \"e\") { ref(name: \"refs/heads/nope\") { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(ext(&errs[0], "kind"), "not_found");

    // Already exists.
    let errs = gql
        .errors(
            "mutation { createRepository(name: \"e\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(ext(&errs[0], "code"), "ALREADY_EXISTS");

    // Invalid argument from the service (a scalar's own validation fails before it).
    let errs = gql
        .errors(
            "{ repository(name: \"e\") { diff(from: \"HEAD\", contextLines: 20000) { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(ext(&errs[0], "code"), "INVALID_ARGUMENT");
    let errs = gql
        .errors("{ repository(name: \"../x\") { name } }", json!({}))
        .await;
    assert!(
        errs[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("RepoName")),
        "{errs:?}"
    );

    // A lost compare-and-swap: the same details as REST's body for the same request.
    let mutation = "mutation($r: RepoName!, $i: CommitFilesInput!) {
                      commitFiles(repo: $r, input: $i) { oid } }";
    let input = json!({"branch": "main", "expectedTip": ZERO,
                       "actions": [{"put": {"path": "b.txt", "text": "b\n"}}],
                       "message": "late", "author": author()});
    let errs = gql.errors(mutation, json!({"r": "e", "i": input})).await;
    assert_eq!(ext(&errs[0], "code"), "CONFLICT");
    assert_eq!(ext(&errs[0], "kind"), "conflict");
    let details = ext(&errs[0], "details").clone();
    assert_eq!(details["type"], "refMismatch");
    assert_eq!(details["actual"], json!(tip));
    let rest = http_client()
        .post(format!("{}/v1/repos/e/commits", server.base()))
        .json(&json!({"branch": "main", "expectedTip": ZERO,
                      "actions": [{"action": "put", "path": "b.txt", "content": "Yg=="}],
                      "message": "late", "author": author()}))
        .send()
        .await
        .expect("REST");
    assert_eq!(rest.status(), 409);
    let body: Value = rest.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], *ext(&errs[0], "kind"));
    assert_eq!(body["error"]["details"], details);

    // A merge conflict names its paths.
    commit(
        &gql,
        "e",
        "side",
        Some(ZERO),
        &[("a.txt", "side\n")],
        "side",
    )
    .await;
    commit(
        &gql,
        "e",
        "main",
        Some(&tip),
        &[("a.txt", "main\n")],
        "main",
    )
    .await;
    let errs = gql
        .errors(
            "mutation { merge(repo: \"e\", source: \"side\", target: \"main\",
                              fastForward: noFf) { tip } }",
            json!({}),
        )
        .await;
    assert_eq!(ext(&errs[0], "code"), "CONFLICT");
    assert_eq!(
        *ext(&errs[0], "details"),
        json!({"type": "mergeConflict", "paths": ["a.txt"]})
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_without_a_token_is_unauthenticated_and_a_bearer_token_is_accepted() {
    let server = TestServer::with(|c| {
        c.service.tokens = vec![
            gitapi_service::TokenGrant::new(
                "ci",
                "s3cret-s3cret-s3cret",
                gitapi_service::Scope::Admin,
                vec![gitapi_service::RepoPattern::new("*").expect("a pattern")],
            )
            .expect("a grant"),
        ];
    })
    .await;
    let query = "{ repositories { edges { node { name } } } }";
    let errs = server.gql().errors(query, json!({})).await;
    assert_eq!(ext(&errs[0], "code"), "UNAUTHENTICATED");
    assert_eq!(ext(&errs[0], "kind"), "unauthenticated");
    let wrong = server.gql().with_token("wrong-wrong-wrong-wrong");
    let errs = wrong.errors(query, json!({})).await;
    assert_eq!(ext(&errs[0], "kind"), "unauthenticated");
    let ok = server.gql().with_token("s3cret-s3cret-s3cret");
    ok.data(query, json!({})).await;
    server.stop().await;
}
