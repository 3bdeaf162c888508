//! A repository with no commit (issue 14): the history and listings a user opens first answer
//! empty, not `404 revision "HEAD" does not resolve`; a revision the caller names that does
//! not exist is still `404`. On both engines, with git as the judge of what exists.

use serde_json::json;

use crate::common::{TestApp, ZERO, git_ok};

fn items(v: &serde_json::Value) -> usize {
    v["items"].as_array().map_or(usize::MAX, Vec::len)
}

#[tokio::test]
async fn an_empty_repository_answers_an_empty_log_and_empty_listings() {
    for engine in [
        gitapi_switch::EngineKind::Libgit2,
        gitapi_switch::EngineKind::Shell,
    ] {
        let t = TestApp::on(engine, |_| {});
        t.call("POST", "/v1/repos", Some(json!({"name": "e"})))
            .await
            .expect(201);
        let bare = t.data().join("repos/e.git");
        // git agrees there is nothing: no ref, no commit, HEAD unborn.
        assert_eq!(git_ok(&bare, &["for-each-ref"]), "");
        assert_eq!(git_ok(&bare, &["rev-list", "--all"]), "");
        assert_eq!(
            git_ok(&bare, &["symbolic-ref", "HEAD"]).trim(),
            "refs/heads/main"
        );

        let info = t.get("/v1/repos/e").await.expect(200).json();
        assert_eq!(info["empty"], true);
        // What a user opens first: the log and the tree of the default branch, and the refs.
        for uri in [
            "/v1/repos/e/commits",
            "/v1/repos/e/commits?range=HEAD",
            "/v1/repos/e/commits?path=a.txt",
            "/v1/repos/e/commits?firstParent=true&limit=5",
            "/v1/repos/e/files",
            "/v1/repos/e/files?recursive=1",
            "/v1/repos/e/refs",
            "/v1/repos/e/refs?kind=branches",
            "/v1/repos/e/refs?kind=tags",
            "/v1/repos/e/workspaces",
            "/v1/repos/e/status",
            "/v1/repos/e/stash",
        ] {
            let a = t.get(uri).await;
            assert_eq!(a.status, 200, "{engine:?} {uri}: {}", a.text());
            assert_eq!(items(&a.json()), 0, "{engine:?} {uri}: {}", a.text());
        }
        // Names the caller chose that name nothing are still 404: the unborn branch by name,
        // an ancestor of HEAD, one commit, a path in the empty tree.
        for uri in [
            "/v1/repos/e/commits?range=main",
            "/v1/repos/e/commits?range=HEAD~1",
            "/v1/repos/e/commits?range=nope",
            "/v1/repos/e/commits/HEAD",
            "/v1/repos/e/files?rev=main",
            "/v1/repos/e/files?path=dir",
            "/v1/repos/e/blob?path=a.txt",
            "/v1/repos/e/resolve?rev=HEAD",
            "/v1/repos/e/refs/heads/main",
        ] {
            t.get(uri).await.expect_error(404, "not_found");
        }

        // The first commit shows at once: nothing empty was kept for HEAD.
        let c1 = t
            .commit("e", "main", Some(ZERO), &[("dir/a.txt", "a\n")], "first")
            .await;
        let log = t.get("/v1/repos/e/commits").await.expect(200).json();
        assert_eq!(log["items"][0]["oid"], c1.as_str(), "{engine:?}");
        assert_eq!(items(&log), 1);
        let files = t.get("/v1/repos/e/files").await.expect(200).json();
        assert_eq!(files["items"][0]["path"], "dir", "{engine:?}");
        assert_eq!(
            git_ok(&bare, &["rev-list", "HEAD"]).trim(),
            c1,
            "{engine:?}"
        );
    }
}
