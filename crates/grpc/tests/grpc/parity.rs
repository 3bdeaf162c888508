//! The gRPC door answers every read as the REST door does, on one generated repository: each
//! gRPC answer is read back into core types through the conversion layer and serialised as
//! REST serialises them, then compared with REST's JSON for the same read.

use futures::TryStreamExt as _;
use serde::Serialize;
use serde_json::{Value, json};
use tonic::transport::Channel;

use gitapi_core::{
    AheadBehind, BlameHunk, BlobHeader, Commit, ConfigEntry, RepoInfo, StashEntry, StatusEntry,
    TreeEntry, WorkspaceInfo,
};
use gitapi_grpc::convert::{RepoRequest as _, diff_from_messages};
use gitapi_grpc::pb;
use gitapi_testkit::bigrepo::{self, Shape};

use crate::common::{TestServer, author, http_client};

const R: &str = "gen";

fn json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("serialisable")
}

fn core<P, C: TryFrom<P, Error = gitapi_core::Error>>(p: P) -> C {
    C::try_from(p).expect("the answer converts back to core")
}

struct Rest {
    http: reqwest::Client,
    base: String,
}

impl Rest {
    async fn send(&self, req: reqwest::RequestBuilder) -> reqwest::Response {
        let res = req.send().await.expect("a REST answer");
        assert!(res.status().is_success(), "REST answered {}", res.status());
        res
    }

    async fn get(&self, path: &str) -> Value {
        let url = format!("{}/v1/repos/{R}{path}", self.base);
        self.send(self.http.get(url))
            .await
            .json()
            .await
            .expect("JSON")
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("{}/v1/repos/{R}{path}", self.base);
        let res = self.send(self.http.post(url).json(&body)).await;
        let text = res.text().await.expect("a body");
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }

    async fn bytes(&self, path: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
        let url = format!("{}/v1/repos/{R}{path}", self.base);
        let res = self.send(self.http.get(url)).await;
        let headers = res.headers().clone();
        (headers, res.bytes().await.expect("a body").to_vec())
    }
}

/// The items of a REST page.
fn items(v: &Value) -> &Value {
    &v["items"]
}

async fn generate(server: &TestServer, ch: &Channel) {
    bigrepo::build(
        &server.data().join("repos").join(format!("{R}.git")),
        Shape {
            files: 40,
            dirs: 4,
            commits: 25,
        },
    );
    let mut refs = pb::ref_service_client::RefServiceClient::new(ch.clone());
    refs.create_branch(pb::CreateBranchRequest {
        repository: R.into(),
        name: "refs/heads/older".into(),
        target: "main~5".into(),
    })
    .await
    .expect("branch");
    refs.create_tag(pb::CreateTagRequest {
        repository: R.into(),
        name: "refs/tags/v1".into(),
        target: "main~2".into(),
        annotation: Some(pb::TagAnnotation {
            tagger: Some(author()),
            message: "v1\n".into(),
        }),
    })
    .await
    .expect("tag");
    pb::admin_service_client::AdminServiceClient::new(ch.clone())
        .set_config(pb::SetConfigRequest {
            repository: R.into(),
            key: "gc.auto".into(),
            value: "0".into(),
        })
        .await
        .expect("config");
    let mut ws = pb::workspace_service_client::WorkspaceServiceClient::new(ch.clone());
    ws.put_file(pb::PutFileRequest {
        repository: R.into(),
        workspace: "default".into(),
        path: "dir0/file0.txt".into(),
        content: bytes::Bytes::from_static(b"changed\n"),
        mode: 0,
    })
    .await
    .expect("a work-tree change");
    ws.stash_save(pb::StashSaveRequest {
        repository: R.into(),
        workspace: "default".into(),
        message: Some("wip".into()),
        include_untracked: false,
        stasher: Some(author()),
    })
    .await
    .expect("stash");
    ws.put_file(pb::PutFileRequest {
        repository: R.into(),
        workspace: "default".into(),
        path: "new.txt".into(),
        content: bytes::Bytes::from_static(b"new\n"),
        mode: 0,
    })
    .await
    .expect("an untracked file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_answers_as_rest_does() {
    let server = TestServer::start().await;
    let ch = server.channel().await;
    generate(&server, &ch).await;
    let rest = Rest {
        http: http_client(),
        base: server.base(),
    };
    let repos = pb::repository_service_client::RepositoryServiceClient::new(ch.clone());
    let mut refs = pb::ref_service_client::RefServiceClient::new(ch.clone());
    let mut commits = pb::commit_service_client::CommitServiceClient::new(ch.clone());
    let mut trees = pb::tree_blob_service_client::TreeBlobServiceClient::new(ch.clone());
    let mut hist = pb::history_service_client::HistoryServiceClient::new(ch.clone());
    let mut diffs = pb::diff_service_client::DiffServiceClient::new(ch.clone());
    let mut wss = pb::workspace_service_client::WorkspaceServiceClient::new(ch.clone());
    let mut admin = pb::admin_service_client::AdminServiceClient::new(ch.clone());
    let r = || R.to_owned();

    // Repositories.
    let info = repos
        .clone()
        .get_repository(pb::GetRepositoryRequest { repository: r() })
        .await
        .expect("get")
        .into_inner();
    let info: RepoInfo = core(info.repository.expect("info"));
    assert_eq!(json(&info), rest.get("").await);
    let list = repos
        .clone()
        .list_repositories(pb::ListRepositoriesRequest::default())
        .await
        .expect("list")
        .into_inner();
    let list: Vec<RepoInfo> = list.repositories.into_iter().map(core).collect();
    let url = format!("{}/v1/repos", rest.base);
    let all: Value = rest
        .send(rest.http.get(url))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(json(&list), *items(&all));

    // Refs.
    for (kind, query) in [
        (pb::RefKind::All, ""),
        (pb::RefKind::Tags, "?kind=tags"),
        (pb::RefKind::Branches, "?kind=branches"),
    ] {
        let got = refs
            .list_refs(pb::ListRefsRequest {
                repository: r(),
                kind: kind as i32,
                ..Default::default()
            })
            .await
            .expect("refs")
            .into_inner();
        let got: Vec<gitapi_core::Ref> = got.refs.into_iter().map(core).collect();
        assert_eq!(
            json(&got),
            *items(&rest.get(&format!("/refs{query}")).await),
            "{query}"
        );
    }
    for name in ["refs/heads/main", "refs/tags/v1"] {
        let got = refs
            .get_ref(pb::GetRefRequest {
                repository: r(),
                name: name.into(),
            })
            .await
            .expect("ref")
            .into_inner();
        let got: gitapi_core::Ref = core(got.r#ref.expect("a ref"));
        let after = name.trim_start_matches("refs/");
        assert_eq!(
            json(&got),
            rest.get(&format!("/refs/{after}")).await,
            "{name}"
        );
    }
    let oid = refs
        .resolve_revision(pb::ResolveRevisionRequest {
            repository: r(),
            revision: "main~3".into(),
        })
        .await
        .expect("resolve")
        .into_inner()
        .oid;
    assert_eq!(json!({ "oid": oid }), rest.get("/resolve?rev=main~3").await);

    // Commits and history.
    let head: Commit = core(
        commits
            .get_commit(pb::GetCommitRequest {
                repository: r(),
                revision: "main".into(),
            })
            .await
            .expect("commit")
            .into_inner()
            .commit
            .expect("a commit"),
    );
    assert_eq!(json(&head), rest.get("/commits/main").await);
    let ids = vec![
        head.oid.to_string(),
        "1".repeat(40),
        head.parents[0].to_string(),
    ];
    let many = commits
        .get_commits(pb::GetCommitsRequest {
            repository: r(),
            oids: ids.clone(),
        })
        .await
        .expect("commits")
        .into_inner();
    let many: Vec<Option<Commit>> = many
        .commits
        .into_iter()
        .map(|m| m.commit.map(core))
        .collect();
    assert_eq!(
        json(&json!({ "commits": many })),
        rest.post("/commit-lookup", json!({ "oids": ids })).await
    );
    let log = pb::LogRequest {
        repository: r(),
        range: "older..main".into(),
        path: "dir1".into(),
        ..Default::default()
    };
    let page: Vec<Commit> = hist
        .log(log.clone())
        .await
        .expect("log")
        .into_inner()
        .commits
        .into_iter()
        .map(core)
        .collect();
    let rest_log = rest.get("/commits?range=older..main&path=dir1").await;
    assert_eq!(json(&page), *items(&rest_log));
    let streamed: Vec<Commit> = hist
        .stream_log(log)
        .await
        .expect("log stream")
        .into_inner()
        .map_ok(|m| core(m.commit.expect("a commit")))
        .try_collect()
        .await
        .expect("the whole stream");
    assert_eq!(json(&streamed), *items(&rest_log));
    let payload_req = pb::CommitFilesRequest {
        repository: r(),
        branch: "refs/heads/main".into(),
        expected_tip: Some(head.oid.to_string()),
        actions: vec![crate::common::put("p.txt", b"p\n")],
        message: "payload".into(),
        author: Some(author()),
        ..Default::default()
    };
    let (_, core_req) = payload_req.clone().parse().expect("valid");
    let payload = commits
        .get_commit_payload(payload_req)
        .await
        .expect("payload")
        .into_inner()
        .payload;
    let rest_payload = rest.post("/commit-payload", json(&core_req)).await;
    let rest_payload = rest_payload.get("payload").cloned().unwrap_or(rest_payload);
    assert_eq!(Value::String(payload), rest_payload);

    // Trees and blobs.
    for (path, recursive, query) in [
        ("", false, "?rev=main"),
        ("dir2", false, "?rev=main&path=dir2"),
        ("", true, "?rev=main&recursive=1&limit=1000"),
    ] {
        let got = trees
            .list_tree(pb::ListTreeRequest {
                repository: r(),
                revision: "main".into(),
                path: path.into(),
                recursive,
                page_size: 1000,
                ..Default::default()
            })
            .await
            .expect("tree")
            .into_inner();
        let got: Vec<TreeEntry> = got.entries.into_iter().map(core).collect();
        let want = rest.get(&format!("/files{query}")).await;
        assert_eq!(json(&got), *items(&want), "{query}");
        let streamed: Vec<TreeEntry> = trees
            .stream_tree(pb::StreamTreeRequest {
                repository: r(),
                revision: "main".into(),
                path: path.into(),
                recursive,
            })
            .await
            .expect("tree stream")
            .into_inner()
            .map_ok(|m| futures::stream::iter(m.entries.into_iter().map(Ok::<_, tonic::Status>)))
            .try_flatten()
            .map_ok(core)
            .try_collect()
            .await
            .expect("the whole stream");
        assert_eq!(json(&streamed), *items(&want), "stream {query}");
    }
    let sel = pb::BlobSelector {
        selector: Some(pb::blob_selector::Selector::Path(pb::PathInRevision {
            revision: "main".into(),
            path: "dir1/file2.txt".into(),
        })),
    };
    let header: BlobHeader = core(
        trees
            .get_blob_header(pb::GetBlobHeaderRequest {
                repository: r(),
                blob: Some(sel.clone()),
            })
            .await
            .expect("header")
            .into_inner()
            .header
            .expect("a header"),
    );
    let (headers, body) = rest.bytes("/blob?rev=main&path=dir1/file2.txt").await;
    let etag = headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(etag.contains(&header.oid.to_string()), "etag {etag}");
    assert_eq!(header.size, body.len() as u64);
    let whole = trees
        .read_blob(pb::ReadBlobRequest {
            repository: r(),
            blob: Some(sel.clone()),
        })
        .await
        .expect("blob")
        .into_inner();
    assert_eq!(whole.content, body);
    let chunks: Vec<pb::StreamBlobResponse> = trees
        .stream_blob(pb::StreamBlobRequest {
            repository: r(),
            blob: Some(sel),
        })
        .await
        .expect("blob stream")
        .into_inner()
        .try_collect()
        .await
        .expect("the whole stream");
    assert_eq!(chunks.concat_chunks(), body);

    // Diff, blame, ancestry.
    let msgs: Vec<pb::DiffResponse> = diffs
        .diff(pb::DiffRequest {
            repository: r(),
            spec: Some(pb::DiffSpec {
                spec: Some(pb::diff_spec::Spec::Commits(pb::diff_spec::Commits {
                    from: "older".into(),
                    to: "main".into(),
                })),
            }),
            options: None,
        })
        .await
        .expect("diff")
        .into_inner()
        .try_collect()
        .await
        .expect("the whole diff");
    let d = diff_from_messages(msgs).expect("a diff");
    assert_eq!(json(&d), rest.get("/diff?from=older&to=main").await);
    let id = d.id.clone().expect("a commit diff has an id");
    let again = diff_from_messages(
        diffs
            .diff_by_id(pb::DiffByIdRequest {
                repository: r(),
                id: id.as_str().into(),
            })
            .await
            .expect("diff by id")
            .into_inner()
            .try_collect::<Vec<_>>()
            .await
            .expect("the whole diff"),
    )
    .expect("a diff");
    assert_eq!(
        json(&again),
        rest.get(&format!("/diffs/{}", id.as_str())).await
    );
    let hunks: Vec<BlameHunk> = hist
        .blame(pb::BlameRequest {
            repository: r(),
            revision: "main".into(),
            path: "dir3/file0.txt".into(),
            ..Default::default()
        })
        .await
        .expect("blame")
        .into_inner()
        .map_ok(|m| futures::stream::iter(m.hunks.into_iter().map(Ok::<_, tonic::Status>)))
        .try_flatten()
        .map_ok(core)
        .try_collect()
        .await
        .expect("the whole blame");
    assert_eq!(
        json(&hunks),
        rest.get("/blame?path=dir3/file0.txt&rev=main").await
    );
    let base = hist
        .merge_base(pb::MergeBaseRequest {
            repository: r(),
            a: "main".into(),
            b: "older".into(),
        })
        .await
        .expect("merge base")
        .into_inner()
        .oid;
    assert_eq!(
        json!({ "mergeBase": base }),
        rest.get("/merge-base?a=main&b=older").await
    );
    let ab: AheadBehind = core(
        hist.ahead_behind(pb::AheadBehindRequest {
            repository: r(),
            a: "main".into(),
            b: "older".into(),
        })
        .await
        .expect("ahead behind")
        .into_inner()
        .counts
        .expect("counts"),
    );
    assert_eq!(json(&ab), rest.get("/ahead-behind?a=main&b=older").await);
    let is = hist
        .is_ancestor(pb::IsAncestorRequest {
            repository: r(),
            ancestor: "older".into(),
            descendant: "main".into(),
        })
        .await
        .expect("is ancestor")
        .into_inner()
        .is_ancestor;
    assert_eq!(
        json!({ "isAncestor": is }),
        rest.get("/is-ancestor?ancestor=older&descendant=main")
            .await
    );

    // Workspaces, status, stash.
    let listed: Vec<WorkspaceInfo> = wss
        .list_workspaces(pb::ListWorkspacesRequest {
            repository: r(),
            ..Default::default()
        })
        .await
        .expect("workspaces")
        .into_inner()
        .workspaces
        .into_iter()
        .map(core)
        .collect();
    assert_eq!(json(&listed), *items(&rest.get("/workspaces").await));
    let one: WorkspaceInfo = core(
        wss.get_workspace(pb::GetWorkspaceRequest {
            repository: r(),
            workspace: "default".into(),
        })
        .await
        .expect("workspace")
        .into_inner()
        .workspace
        .expect("a workspace"),
    );
    assert_eq!(json(&one), rest.get("/workspaces/default").await);
    let status: Vec<StatusEntry> = wss
        .get_status(pb::GetStatusRequest {
            repository: r(),
            workspace: "default".into(),
            ..Default::default()
        })
        .await
        .expect("status")
        .into_inner()
        .entries
        .into_iter()
        .map(core)
        .collect();
    assert!(!status.is_empty());
    assert_eq!(
        json(&status),
        *items(&rest.get("/status?workspace=default").await)
    );
    let stash: Vec<StashEntry> = wss
        .list_stash(pb::ListStashRequest {
            repository: r(),
            workspace: "default".into(),
            ..Default::default()
        })
        .await
        .expect("stash")
        .into_inner()
        .entries
        .into_iter()
        .map(core)
        .collect();
    assert_eq!(stash.len(), 1);
    assert_eq!(
        json(&stash),
        *items(&rest.get("/stash?workspace=default").await)
    );

    // Config, protections, the engine.
    let value = admin
        .get_config(pb::GetConfigRequest {
            repository: r(),
            key: "gc.auto".into(),
        })
        .await
        .expect("config")
        .into_inner()
        .value;
    let rest_value = rest.get("/config/gc.auto").await;
    assert_eq!(Some(rest_value["value"].clone()), value.map(Value::String));
    let entries: Vec<ConfigEntry> = admin
        .list_config(pb::ListConfigRequest {
            repository: r(),
            ..Default::default()
        })
        .await
        .expect("config list")
        .into_inner()
        .entries
        .into_iter()
        .map(ConfigEntry::from)
        .collect();
    assert_eq!(json(&entries), *items(&rest.get("/config").await));
    let rules: Vec<gitapi_service::ProtectionRule> = admin
        .get_protections(pb::GetProtectionsRequest { repository: r() })
        .await
        .expect("protections")
        .into_inner()
        .rules
        .into_iter()
        .map(core)
        .collect();
    assert_eq!(
        json(&json!({ "rules": rules })),
        rest.get("/protections").await
    );
    let status: gitapi_service::SwitchStatus = core(
        admin
            .get_backend(pb::GetBackendRequest {})
            .await
            .expect("backend")
            .into_inner()
            .status
            .expect("a status"),
    );
    let url = format!("{}/v1/admin/backend", rest.base);
    let rest_status: Value = rest
        .send(rest.http.get(url))
        .await
        .json()
        .await
        .expect("JSON");
    // Counters move with every request; the engine and the canary must agree.
    let s = json(&status);
    assert_eq!(s["backend"], rest_status["backend"]);
    assert_eq!(s["canary"], rest_status["canary"]);
    server.stop().await;
}

trait ConcatChunks {
    fn concat_chunks(&self) -> Vec<u8>;
}

impl ConcatChunks for Vec<pb::StreamBlobResponse> {
    fn concat_chunks(&self) -> Vec<u8> {
        self.iter().flat_map(|m| m.chunk.iter().copied()).collect()
    }
}
