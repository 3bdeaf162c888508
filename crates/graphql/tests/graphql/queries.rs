//! Queries and mutations over HTTP against the real server: every kind of write, read back
//! through GraphQL; Relay cursors; GET queries; mutations refused over GET.

use serde_json::{Value, json};

use crate::common::{Gql, TestServer, ZERO, author, commit, seed};

async fn tip(gql: &Gql, repo: &str, branch: &str) -> String {
    let d = gql
        .data(
            "query($r: RepoName!, $n: RefName!) { repository(name: $r) { ref(name: $n) { target } } }",
            json!({"r": repo, "n": format!("refs/heads/{branch}")}),
        )
        .await;
    d["repository"]["ref"]["target"]
        .as_str()
        .expect("a target")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_graphql_read_back_through_graphql() {
    let server = TestServer::start().await;
    let gql = server.gql();
    let first = seed(&gql, "w", &[("a.txt", "a\n"), ("bin", "\u{0}\u{1}")]).await;
    let r = json!({"r": "w"});

    // Refs: branches, a tag, cursors.
    gql.data(
        r#"mutation($r: RepoName!) {
             b1: createBranch(repo: $r, name: "b1", target: "main") { name }
             b2: createRef(repo: $r, name: "refs/heads/b2", target: "main") { name }
             t: createRef(repo: $r, name: "refs/tags/t1", target: "main") { name target }
           }"#,
        r.clone(),
    )
    .await;
    let page1 = gql
        .data(
            "query($r: RepoName!) { repository(name: $r) { branches(first: 2) {
               edges { cursor node { name } } pageInfo { hasNextPage endCursor } } } }",
            r.clone(),
        )
        .await;
    let conn = &page1["repository"]["branches"];
    assert_eq!(conn["pageInfo"]["hasNextPage"], true);
    let names: Vec<&str> = conn["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, ["refs/heads/b1", "refs/heads/b2"]);
    let after = conn["pageInfo"]["endCursor"].clone();
    let page2 = gql
        .data(
            "query($r: RepoName!, $a: String) { repository(name: $r) { branches(first: 2, after: $a) {
               edges { node { name } } pageInfo { hasNextPage hasPreviousPage } } } }",
            json!({"r": "w", "a": after}),
        )
        .await;
    let conn = &page2["repository"]["branches"];
    assert_eq!(conn["edges"][0]["node"]["name"], "refs/heads/main");
    assert_eq!(conn["pageInfo"]["hasNextPage"], false);

    // A listing paged by its edges' cursors.
    let d = gql
        .data(
            "query($r: RepoName!) { repository(name: $r) { files(first: 1) {
               edges { node { path } } pageInfo { hasNextPage endCursor } } } }",
            r.clone(),
        )
        .await;
    let files = &d["repository"]["files"];
    assert_eq!(files["edges"][0]["node"]["path"], "a.txt");
    assert_eq!(files["pageInfo"]["hasNextPage"], true);
    let d = gql
        .data(
            "query($r: RepoName!, $a: String) { repository(name: $r) { files(first: 1, after: $a) {
               edges { node { path } } pageInfo { hasNextPage hasPreviousPage } } } }",
            json!({"r": "w", "a": files["pageInfo"]["endCursor"]}),
        )
        .await;
    let files = &d["repository"]["files"];
    assert_eq!(files["edges"][0]["node"]["path"], "bin");
    assert_eq!(files["pageInfo"]["hasNextPage"], false);
    assert_eq!(files["pageInfo"]["hasPreviousPage"], true);

    // A tree with blobs: text, bytes and binary.
    let d = gql
        .data(
            "query($r: RepoName!) { repository(name: $r) { tree(rev: \"main\") {
               entries { path blob { size text bytes isBinary } } } } }",
            r.clone(),
        )
        .await;
    let entries = d["repository"]["tree"]["entries"]
        .as_array()
        .expect("entries")
        .clone();
    let by_path = |p: &str| -> Value {
        entries
            .iter()
            .find(|e| e["path"] == p)
            .map(|e| e["blob"].clone())
            .expect("the entry")
    };
    assert_eq!(by_path("a.txt")["text"], "a\n");
    assert_eq!(by_path("a.txt")["bytes"], "YQo=");
    assert_eq!(by_path("bin")["isBinary"], true);
    assert_eq!(by_path("bin")["text"], Value::Null);

    // The CAS commit, and history with parents as objects.
    let second = commit(
        &gql,
        "w",
        "main",
        Some(&first),
        &[("a.txt", "a2\n")],
        "second",
    )
    .await;
    let d = gql
        .data(
            "query($r: RepoName!) { repository(name: $r) {
               history(first: 1) { edges { node { oid parents { oid message } } }
                                   pageInfo { hasNextPage endCursor } }
               object(rev: \"main~1\") { oid commit { message } }
               compare(base: \"b1\", head: \"main\") {
                 mergeBase aheadBehind { ahead behind } commits { oid } diff { patch } } } }",
            r.clone(),
        )
        .await;
    let repo = &d["repository"];
    let node = &repo["history"]["edges"][0]["node"];
    assert_eq!(node["oid"], json!(second));
    assert_eq!(node["parents"][0]["oid"], json!(first));
    assert_eq!(node["parents"][0]["message"], "first\n");
    assert_eq!(repo["history"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(repo["object"]["oid"], json!(first));
    let cmp = &repo["compare"];
    assert_eq!(cmp["mergeBase"], json!(first));
    assert_eq!(cmp["aheadBehind"], json!({"ahead": 1, "behind": 0}));
    assert_eq!(cmp["commits"], json!([{"oid": second}]));
    assert!(
        cmp["diff"]["patch"]
            .as_str()
            .is_some_and(|p| p.contains("+a2")),
        "{cmp}"
    );

    // Atomic ref updates, point, rename, delete.
    gql.data(
        "mutation($r: RepoName!, $u: [RefUpdateInput!]!) { updateRefs(repo: $r, updates: $u) }",
        json!({"r": "w", "u": [
            {"name": "refs/heads/b1", "new": second, "expectedOld": first},
            {"name": "refs/heads/new", "new": first, "expectedOld": ZERO},
        ]}),
    )
    .await;
    assert_eq!(tip(&gql, "w", "b1").await, second);
    gql.data(
        r#"mutation($r: RepoName!) {
             pointRef(repo: $r, name: "refs/heads/new", target: "main") { target }
             renameBranch(repo: $r, from: "b2", to: "b3") { name }
             deleteRef(repo: $r, name: "refs/tags/t1")
           }"#,
        r.clone(),
    )
    .await;
    assert_eq!(tip(&gql, "w", "new").await, second);
    assert_eq!(tip(&gql, "w", "b3").await, first);

    // Cherry-pick, revert, merge, rebase, amend, reset.
    let side = commit(&gql, "w", "side", Some(ZERO), &[("s.txt", "s\n")], "side").await;
    let d = gql
        .data(
            "mutation($r: RepoName!, $a: PersonInput!, $s: Rev!) {
               cherryPick(repo: $r, commit: $s, branch: \"b3\", committer: $a) { oid parentOids }
             }",
            json!({"r": "w", "a": author(), "s": side}),
        )
        .await;
    assert_eq!(d["cherryPick"]["parentOids"], json!([first]));
    let d = gql
        .data(
            "mutation($r: RepoName!, $s: Rev!) { revertCommit(repo: $r, sha: $s) { message } }",
            json!({"r": "w", "s": second}),
        )
        .await;
    assert!(
        d["revertCommit"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Revert")),
        "{d}"
    );
    let d = gql
        .data(
            "mutation($r: RepoName!) {
               merge(repo: $r, source: \"side\", target: \"main\", fastForward: noFf) { kind tip }
             }",
            r.clone(),
        )
        .await;
    assert_eq!(d["merge"]["kind"], "merged");
    let d = gql
        .data(
            "mutation($r: RepoName!) { rebase(repo: $r, branch: \"b3\", onto: \"main\") { tip commits } }",
            r.clone(),
        )
        .await;
    assert_eq!(d["rebase"]["tip"], json!(tip(&gql, "w", "b3").await));
    let d = gql
        .data(
            "mutation($r: RepoName!) { amend(repo: $r, input: {branch: \"b3\", message: \"amended\"}) { message } }",
            r.clone(),
        )
        .await;
    assert_eq!(d["amend"]["message"], "amended\n");
    let d = gql
        .data(
            "mutation($r: RepoName!, $to: Rev!) { reset(repo: $r, branch: \"b3\", to: $to) }",
            json!({"r": "w", "to": first}),
        )
        .await;
    assert_eq!(d["reset"], json!(first));

    // A workspace: write, stage (a path and a patch), unstage, discard, commit the index,
    // stash save, apply and drop.
    gql.data(
        r#"mutation($r: RepoName!) {
             createWorkspace(repo: $r, name: "ws", branch: "b1") { name branch }
           }"#,
        r.clone(),
    )
    .await;
    gql.data(
        r#"mutation($r: RepoName!) {
             p1: putFile(repo: $r, workspace: "ws", path: "n.txt", text: "n\n")
             p2: putFile(repo: $r, workspace: "ws", path: "m.txt", base64: "bQo=")
             p3: putFile(repo: $r, workspace: "ws", path: "a.txt", text: "dirty\n")
           }"#,
        r.clone(),
    )
    .await;
    gql.data(
        r#"mutation($r: RepoName!) {
             s: stage(repo: $r, workspace: "ws", path: "n.txt")
             d: discard(repo: $r, workspace: "ws", path: "a.txt")
             mv: moveFile(repo: $r, workspace: "ws", from: "m.txt", to: "m2.txt")
           }"#,
        r.clone(),
    )
    .await;
    let d = gql
        .data(
            r#"query($r: RepoName!) { repository(name: $r) {
                 status(workspace: "ws") { path staged unstaged untracked }
                 diff(kind: index, workspace: "ws") { files { newPath } } } }"#,
            r.clone(),
        )
        .await;
    let status = d["repository"]["status"]
        .as_array()
        .expect("status")
        .clone();
    assert!(
        status
            .iter()
            .any(|e| e["path"] == "n.txt" && e["staged"] == "added"),
        "{status:?}"
    );
    assert!(status.iter().all(|e| e["path"] != "a.txt"), "{status:?}");
    assert_eq!(
        d["repository"]["diff"]["files"],
        json!([{"newPath": "n.txt"}])
    );
    gql.data(
        r#"mutation($r: RepoName!) {
             u: unstage(repo: $r, workspace: "ws", path: "n.txt")
             df: deleteFile(repo: $r, workspace: "ws", path: "m2.txt")
           }"#,
        r.clone(),
    )
    .await;
    let patch =
        "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a2\n+patched\n";
    gql.data(
        "mutation($r: RepoName!, $p: String!) {
           stage(repo: $r, workspace: \"ws\", path: \"a.txt\", patch: $p) }",
        json!({"r": "w", "p": patch}),
    )
    .await;
    let d = gql
        .data(
            "mutation($r: RepoName!, $a: PersonInput!) {
               commitIndex(repo: $r, workspace: \"ws\", message: \"from the index\", author: $a) {
                 message tree(path: null) { entries { path } } } }",
            json!({"r": "w", "a": author()}),
        )
        .await;
    assert_eq!(d["commitIndex"]["message"], "from the index\n");
    let d = gql
        .data(
            r#"query($r: RepoName!) { repository(name: $r) {
                 blob(rev: "b1", path: "a.txt") { text } } }"#,
            r.clone(),
        )
        .await;
    assert_eq!(d["repository"]["blob"]["text"], "patched\n");
    let d = gql
        .data(
            r#"mutation($r: RepoName!) {
                 stashSave(repo: $r, workspace: "ws", message: "keep", includeUntracked: true) { index message }
               }"#,
            r.clone(),
        )
        .await;
    assert_eq!(d["stashSave"]["index"], 0);
    gql.data(
        r#"mutation($r: RepoName!) {
             a: stashApply(repo: $r, workspace: "ws", index: 0)
           }"#,
        r.clone(),
    )
    .await;
    gql.data(
        r#"mutation($r: RepoName!) { d: stashDrop(repo: $r, workspace: "ws", index: 0) }"#,
        r.clone(),
    )
    .await;
    let d = gql
        .data(
            r#"query($r: RepoName!) { repository(name: $r) { stashes(workspace: "ws") { index } } }"#,
            r.clone(),
        )
        .await;
    assert_eq!(d["repository"]["stashes"], json!([]));

    // Admin: config, protections, gc; a protected branch refuses deletion.
    let d = gql
        .data(
            r#"mutation($r: RepoName!) {
                 setConfig(repo: $r, key: "gc.auto", value: "0")
                 protect(repo: $r, rule: {pattern: "refs/heads/main", noDeletion: true}) { pattern noDeletion }
                 gc(repo: $r) { packsAfter }
               }"#,
            r.clone(),
        )
        .await;
    assert_eq!(d["protect"][0]["noDeletion"], true);
    let errs = gql
        .errors(
            r#"mutation($r: RepoName!) { deleteRef(repo: $r, name: "refs/heads/main") }"#,
            r.clone(),
        )
        .await;
    assert_eq!(errs[0]["extensions"]["kind"], "permission_denied");
    gql.data(
        r#"mutation($r: RepoName!) {
             unprotect(repo: $r, pattern: "refs/heads/main") { pattern }
             removeWorkspace(repo: $r, name: "ws")
           }"#,
        r.clone(),
    )
    .await;
    gql.data("mutation { deleteRepository(name: \"w\") }", json!({}))
        .await;
    let d = gql
        .data("{ repositories { edges { node { name } } } }", json!({}))
        .await;
    assert_eq!(d["repositories"]["edges"], json!([]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_answers_queries_and_refuses_mutations() {
    let server = TestServer::start().await;
    let gql = server.gql();
    seed(&gql, "g", &[("a.txt", "a\n")]).await;
    let url = format!("{}/graphql", server.base());
    let res = gql
        .http
        .get(&url)
        .query(&[("query", "{ repository(name: \"g\") { name empty } }")])
        .send()
        .await
        .expect("an answer");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("JSON");
    assert_eq!(
        body["data"]["repository"],
        json!({"name": "g", "empty": false})
    );
    let res = gql
        .http
        .get(&url)
        .query(&[("query", "mutation { deleteRepository(name: \"g\") }")])
        .send()
        .await
        .expect("an answer");
    assert_eq!(res.status(), 405);
    let res = gql
        .http
        .get(format!("{url}/subscribe"))
        .query(&[("query", "mutation { deleteRepository(name: \"g\") }")])
        .send()
        .await
        .expect("an answer");
    assert_eq!(res.status(), 405);
    gql.data("{ repository(name: \"g\") { name } }", json!({}))
        .await;
    server.stop().await;
}
