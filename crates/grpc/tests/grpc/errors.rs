//! Errors as a generated client sees them: a lost compare-and-swap is the table's code
//! (`ABORTED`) with the expected and actual oids in a typed detail, decoded by Python's
//! grpcio-status; the unauthenticated caller gets `UNAUTHENTICATED`.

use gitapi_core::ErrorKind;
use gitapi_grpc::pb;

use crate::common::{TestServer, commit, run_python, seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_compare_and_swap_carries_expected_and_actual_oids_to_python() {
    let server = TestServer::start().await;
    let ch = server.channel().await;
    let c1 = seed(&ch, "cas", &[("a.txt", b"one\n")]).await;
    let c2 = commit(
        &ch,
        "cas",
        "refs/heads/main",
        Some(&c1.oid),
        &[("a.txt", b"two\n")],
        "2",
    )
    .await;
    // Expect c1 (stale: main is at c2) and try to move main back to c1.
    let out = run_python(
        &server,
        "cas.py",
        &["cas", "refs/heads/main", &c1.oid, &c1.oid],
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
    let kind = ErrorKind::Conflict;
    assert_eq!(v["code"], kind.grpc_code().name, "{v}");
    assert_eq!(v["stable_code"], kind.code(), "{v}");
    assert_eq!(v["reason"], kind.code().to_ascii_uppercase(), "{v}");
    assert_eq!(v["domain"], gitapi_grpc::error::ERROR_DOMAIN, "{v}");
    assert_eq!(v["refname"], "refs/heads/main", "{v}");
    assert_eq!(v["expected"], c1.oid, "{v}");
    assert_eq!(v["actual"], c2.oid, "{v}");
    server.stop().await;
}

#[tokio::test]
async fn a_merge_conflict_lists_its_paths_in_a_typed_detail() {
    let server = TestServer::start().await;
    let ch = server.channel().await;
    let c1 = seed(&ch, "mc", &[("a.txt", b"base\n")]).await;
    commit(
        &ch,
        "mc",
        "refs/heads/main",
        Some(&c1.oid),
        &[("a.txt", b"ours\n")],
        "ours",
    )
    .await;
    pb::ref_service_client::RefServiceClient::new(ch.clone())
        .create_branch(pb::CreateBranchRequest {
            repository: "mc".into(),
            name: "refs/heads/theirs".into(),
            target: c1.oid.clone(),
        })
        .await
        .expect("branch");
    commit(
        &ch,
        "mc",
        "refs/heads/theirs",
        None,
        &[("a.txt", b"theirs\n")],
        "theirs",
    )
    .await;
    let err = pb::merge_service_client::MergeServiceClient::new(ch.clone())
        .merge(pb::MergeRequest {
            repository: "mc".into(),
            source: "theirs".into(),
            target: "refs/heads/main".into(),
            ..Default::default()
        })
        .await
        .expect_err("a conflict");
    assert_eq!(err.code(), tonic::Code::Aborted);
    let back = gitapi_grpc::error::error_of(&err).expect("decodable details");
    assert_eq!(back.conflict_paths(), Some(&["a.txt".to_owned()][..]));
    server.stop().await;
}

#[tokio::test]
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
    let ch = server.channel().await;
    let mut repos = pb::repository_service_client::RepositoryServiceClient::new(ch.clone());
    let err = repos
        .list_repositories(pb::ListRepositoriesRequest::default())
        .await
        .expect_err("no token");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    let mut req = tonic::Request::new(pb::ListRepositoriesRequest::default());
    req.metadata_mut().insert(
        "authorization",
        "Bearer s3cret-s3cret-s3cret"
            .parse()
            .expect("ascii metadata"),
    );
    repos.list_repositories(req).await.expect("with a token");
    server.stop().await;
}
