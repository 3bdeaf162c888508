//! The GraphQL door answers every read as the REST door does, on one generated repository:
//! each GraphQL query asks for REST's field names (aliases where GraphQL names a field
//! differently, such as `tree: treeOid`), and the answer is compared with REST's JSON.

use serde_json::{Value, json};

use gitapi_testkit::bigrepo::{self, Shape};

use crate::common::{Gql, TestServer, author, http_client};

const R: &str = "gen";

const COMMIT: &str = "oid tree: treeOid parents: parentOids message signature
    author { name email time offsetMinutes } committer { name email time offsetMinutes }";

struct Rest {
    http: reqwest::Client,
    base: String,
}

impl Rest {
    async fn get(&self, path: &str) -> Value {
        let url = format!("{}/v1/repos/{R}{path}", self.base);
        let res = self.http.get(url).send().await.expect("a REST answer");
        assert!(res.status().is_success(), "REST {path}: {}", res.status());
        res.json().await.expect("JSON")
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("{}/v1/repos/{R}{path}", self.base);
        let res = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .expect("a REST answer");
        assert!(res.status().is_success(), "REST {path}: {}", res.status());
        res.json().await.expect("JSON")
    }

    async fn bytes(&self, path: &str) -> Vec<u8> {
        let url = format!("{}/v1/repos/{R}{path}", self.base);
        let res = self.http.get(url).send().await.expect("a REST answer");
        assert!(res.status().is_success(), "REST {path}: {}", res.status());
        res.bytes().await.expect("a body").to_vec()
    }
}

/// Drops `null` members, which REST leaves out where GraphQL answers `null`.
fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

fn same(graphql: &Value, rest: &Value, what: &str) {
    assert_eq!(
        strip_nulls(graphql.clone()),
        strip_nulls(rest.clone()),
        "{what}: GraphQL and REST differ"
    );
}

/// The nodes of a connection.
fn nodes(conn: &Value) -> Value {
    Value::Array(
        conn["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"].clone())
            .collect(),
    )
}

async fn generate(server: &TestServer, gql: &Gql) {
    bigrepo::build(
        &server.data().join("repos").join(format!("{R}.git")),
        Shape {
            files: 40,
            dirs: 4,
            commits: 25,
        },
    );
    gql.data(
        r#"mutation($r: RepoName!, $a: PersonInput!) {
             createBranch(repo: $r, name: "older", target: "main~5") { name }
             createTag(repo: $r, name: "v1", target: "main~2",
                       annotation: { tagger: $a, message: "v1\n" }) { name }
             setConfig(repo: $r, key: "gc.auto", value: "0")
             protect(repo: $r, rule: {pattern: "refs/tags/*", noDeletion: true}) { pattern }
             putFile(repo: $r, path: "dir0/file0.txt", text: "changed\n")
           }"#,
        json!({"r": R, "a": author()}),
    )
    .await;
    gql.data(
        r#"mutation($r: RepoName!, $a: PersonInput!) {
             stashSave(repo: $r, message: "wip", stasher: $a) { index }
           }"#,
        json!({"r": R, "a": author()}),
    )
    .await;
    gql.data(
        r#"mutation($r: RepoName!) { putFile(repo: $r, path: "new.txt", text: "new\n") }"#,
        json!({"r": R}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_answers_as_rest_does() {
    let server = TestServer::start().await;
    let gql = server.gql();
    generate(&server, &gql).await;
    let rest = Rest {
        http: http_client(),
        base: server.base(),
    };
    let q = |body: &str| format!("query($r: RepoName!) {{ repository(name: $r) {{ {body} }} }}");
    let v = json!({"r": R});

    // Repositories.
    let d = gql
        .data(&q("name defaultBranch empty mirror"), v.clone())
        .await;
    same(&d["repository"], &rest.get("").await, "repository");

    // Refs, all three listings, and one ref.
    let d = gql
        .data(
            &q("refs { edges { node { name target peeled } } }
                branches { edges { node { name target peeled } } }
                tags { edges { node { name target peeled } } }
                one: ref(name: \"refs/tags/v1\") { name target peeled }"),
            v.clone(),
        )
        .await;
    let repo = &d["repository"];
    same(
        &nodes(&repo["refs"]),
        &rest.get("/refs").await["items"],
        "refs",
    );
    same(
        &nodes(&repo["branches"]),
        &rest.get("/refs?kind=branches").await["items"],
        "branches",
    );
    same(
        &nodes(&repo["tags"]),
        &rest.get("/refs?kind=tags").await["items"],
        "tags",
    );
    same(&repo["one"], &rest.get("/refs/tags/v1").await, "ref");

    // Commits: one, and a log with a range and a path.
    let d = gql
        .data(
            &q(&format!(
                "commit(rev: \"main\") {{ {COMMIT} }}
                 history(rev: \"older..main\", path: \"dir1\") {{ edges {{ node {{ {COMMIT} }} }} }}"
            )),
            v.clone(),
        )
        .await;
    same(
        &d["repository"]["commit"],
        &rest.get("/commits/main").await,
        "commit",
    );
    same(
        &nodes(&d["repository"]["history"]),
        &rest.get("/commits?range=older..main&path=dir1").await["items"],
        "history",
    );

    // A revision resolved, and commits by id in one batch (REST answers `null` for an id that
    // is no commit; GraphQL leaves it out).
    let head = d["repository"]["commit"].clone();
    let ids = json!([head["oid"], "1".repeat(40), head["parents"][0]]);
    let d = gql
        .data(
            &format!(
                "query($r: RepoName!, $ids: [Oid!]!) {{ repository(name: $r) {{
                   object(rev: \"main~3\") {{ oid }}
                   commits(oids: $ids) {{ {COMMIT} }} }} }}"
            ),
            json!({"r": R, "ids": ids}),
        )
        .await;
    same(
        &d["repository"]["object"],
        &rest.get("/resolve?rev=main~3").await,
        "resolve",
    );
    let lookup = rest.post("/commit-lookup", json!({"oids": ids})).await;
    let found: Vec<Value> = lookup["commits"]
        .as_array()
        .expect("commits")
        .iter()
        .filter(|c| !c.is_null())
        .cloned()
        .collect();
    same(
        &d["repository"]["commits"],
        &Value::Array(found),
        "commit lookup",
    );

    // Protections.
    let d = gql
        .data(
            &q("protections { pattern noForcePush noDeletion requireSignedCommits }"),
            v.clone(),
        )
        .await;
    same(
        &json!({"rules": d["repository"]["protections"]}),
        &rest.get("/protections").await,
        "protections",
    );

    // Trees: a directory and a recursive listing.
    for (args, query) in [
        ("rev: \"main\", path: \"dir1\"", "?rev=main&path=dir1"),
        ("rev: \"main\", recursive: true", "?rev=main&recursive=true"),
        ("rev: \"older\"", "?rev=older"),
    ] {
        let d = gql
            .data(
                &q(&format!(
                    "files({args}) {{ edges {{ node {{ name path mode kind oid size }} }} }}
                     tree({args}) {{ entries {{ name path mode kind oid size }} }}"
                )),
                v.clone(),
            )
            .await;
        let want = rest.get(&format!("/files{query}")).await;
        same(&nodes(&d["repository"]["files"]), &want["items"], query);
        same(&d["repository"]["tree"]["entries"], &want["items"], query);
    }

    // A blob's bytes.
    let d = gql
        .data(
            &q("blob(rev: \"main\", path: \"dir1/file2.txt\") { text bytes isBinary size }"),
            v.clone(),
        )
        .await;
    let raw = rest.bytes("/blob?rev=main&path=dir1/file2.txt").await;
    let blob = &d["repository"]["blob"];
    assert_eq!(
        blob["text"].as_str().map(str::as_bytes),
        Some(raw.as_slice())
    );
    assert_eq!(blob["size"], json!(raw.len()));
    assert_eq!(blob["isBinary"], json!(false));

    // A diff, with its patch text, and again by its id.
    let files = "files { status oldPath newPath oldMode newMode oldOid newOid similarity binary
                 additions deletions hunks { oldStart oldLines newStart newLines heading
                 lines { origin content oldLineno newLineno noNewline } } }
                 stats { filesChanged insertions deletions }";
    let d = gql
        .data(
            &q(&format!(
                "diff(from: \"older\", to: \"main\") {{ id {files} patch }}"
            )),
            v.clone(),
        )
        .await;
    let mut diff = d["repository"]["diff"].clone();
    let patch = diff["patch"].take();
    diff.as_object_mut().expect("an object").remove("patch");
    // REST leaves `noNewline` out when false.
    let normalise = |v: Value| {
        let s = serde_json::to_string(&v).expect("JSON");
        serde_json::from_str::<Value>(&s.replace(",\"noNewline\":false", "")).expect("JSON")
    };
    same(
        &normalise(diff.clone()),
        &rest.get("/diff?from=older&to=main").await,
        "diff",
    );
    let url = format!(
        "{}/v1/repos/{R}/diff?from=older&to=main&format=patch",
        rest.base
    );
    let want_patch = rest
        .http
        .get(url)
        .send()
        .await
        .expect("patch")
        .text()
        .await
        .expect("text");
    assert_eq!(patch.as_str(), Some(want_patch.as_str()), "patch");
    let id = diff["id"].as_str().expect("an id").to_owned();
    let d = gql
        .data(
            &format!(
                "query($r: RepoName!, $id: DiffId!) {{ repository(name: $r) {{
                   diffById(id: $id) {{ id {files} }} }} }}"
            ),
            json!({"r": R, "id": id}),
        )
        .await;
    same(
        &normalise(d["repository"]["diffById"].clone()),
        &rest.get(&format!("/diffs/{id}")).await,
        "diff by id",
    );

    // Blame, with the commits as objects.
    let d = gql
        .data(
            &q(&format!(
                "blame(path: \"dir3/file0.txt\", rev: \"main\") {{
                   commit: commitOid origPath origStart finalStart lines
                   full: commit {{ {COMMIT} }} }}"
            )),
            v.clone(),
        )
        .await;
    let mut hunks = d["repository"]["blame"].clone();
    for h in hunks.as_array_mut().expect("hunks") {
        let full = h.as_object_mut().expect("a hunk").remove("full");
        let full = full.expect("a commit object");
        assert_eq!(full["oid"], h["commit"]);
        same(
            &full,
            &rest
                .get(&format!("/commits/{}", h["commit"].as_str().expect("oid")))
                .await,
            "blame commit",
        );
    }
    same(
        &hunks,
        &rest.get("/blame?path=dir3/file0.txt&rev=main").await,
        "blame",
    );

    // Ancestry.
    let d = gql
        .data(
            &q("mergeBase(a: \"main\", b: \"older\")
                isAncestor(ancestor: \"older\", descendant: \"main\")
                aheadBehind(a: \"main\", b: \"older\") { ahead behind }"),
            v.clone(),
        )
        .await;
    let repo = &d["repository"];
    same(
        &json!({"mergeBase": repo["mergeBase"]}),
        &rest.get("/merge-base?a=main&b=older").await,
        "merge base",
    );
    let ancestry = rest
        .get("/is-ancestor?ancestor=older&descendant=main")
        .await;
    assert_eq!(
        Some(&repo["isAncestor"]),
        ancestry.as_object().and_then(|o| o.values().next()),
        "is-ancestor: {ancestry}"
    );
    same(
        &repo["aheadBehind"],
        &rest.get("/ahead-behind?a=main&b=older").await,
        "ahead-behind",
    );

    // Workspaces, status, stash, config.
    let d = gql
        .data(
            &q("workspaces { name branch base }
                workspace(name: \"default\") { name branch base }
                status(workspace: \"default\") { path staged unstaged untracked }
                stashes(workspace: \"default\") { index oid message }
                config(key: \"gc.auto\")
                configEntries { key value }"),
            v.clone(),
        )
        .await;
    let repo = &d["repository"];
    same(
        &repo["workspaces"],
        &rest.get("/workspaces").await["items"],
        "workspaces",
    );
    same(
        &repo["workspace"],
        &rest.get("/workspaces/default").await,
        "workspace",
    );
    same(
        &repo["status"],
        &rest.get("/status?workspace=default").await["items"],
        "status",
    );
    same(
        &repo["stashes"],
        &rest.get("/stash?workspace=default").await["items"],
        "stash",
    );
    same(
        &repo["configEntries"],
        &rest.get("/config").await["items"],
        "config",
    );
    let one = rest.get("/config/gc.auto").await;
    assert_eq!(repo["config"], one["value"], "config value: {one}");
    server.stop().await;
}
