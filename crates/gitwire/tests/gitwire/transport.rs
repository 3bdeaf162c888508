//! Auth, headers, retries, limits and protocol detection against the real server.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use gitwire::{Auth, Client, ClientOptions, ErrorKind, Limits, NoCache, TransportOptions};

use crate::{fast_retry, fixture_server};

fn with(transport: TransportOptions) -> ClientOptions {
    ClientOptions {
        transport,
        cache: Arc::new(NoCache),
    }
}

#[tokio::test]
async fn basic_and_bearer_auth() {
    let server = fixture_server().await;
    let url = server.url("main.git");
    // "user:secret" in base64.
    *server.state.require_auth.lock().expect("lock") = Some("Basic dXNlcjpzZWNyZXQ=".into());
    let anon = Client::new(
        &url,
        with(TransportOptions {
            retry: fast_retry(),
            ..Default::default()
        }),
    )
    .expect("client");
    assert!(!anon.can_read().await.expect("answer"));
    assert_eq!(
        anon.ls_refs(None).await.expect_err("401").kind(),
        ErrorKind::Unauthorized
    );
    let basic = Auth::Basic {
        user: "user".into(),
        password: "secret".into(),
    };
    let ok = Client::new(
        &url,
        with(TransportOptions {
            auth: basic,
            ..Default::default()
        }),
    )
    .expect("client");
    assert!(!ok.ls_refs(None).await.expect("authorized").is_empty());
    *server.state.require_auth.lock().expect("lock") = Some("Bearer t0ken".into());
    let bearer = Client::new(
        &url,
        with(TransportOptions {
            auth: Auth::Bearer("t0ken".into()),
            ..Default::default()
        }),
    )
    .expect("client");
    assert!(bearer.can_read().await.expect("answer"));
    assert!(bearer.can_write().await.expect("answer"));
}

#[tokio::test]
async fn extra_headers_and_user_agent_are_sent() {
    let server = fixture_server().await;
    let t = TransportOptions {
        headers: vec![("X-Trace".into(), "abc".into())],
        user_agent: "probe/1".into(),
        ..Default::default()
    };
    let c = Client::new(&server.url("main.git"), with(t)).expect("client");
    c.ls_refs(None).await.expect("ls-refs");
    let reqs = server.requests();
    assert!(!reqs.is_empty());
    for r in reqs {
        assert!(r.headers.contains(&("x-trace".into(), "abc".into())));
        assert!(r.headers.contains(&("user-agent".into(), "probe/1".into())));
    }
}

#[tokio::test]
async fn retries_unavailable_reads_then_gives_up() {
    let server = fixture_server().await;
    let c = Client::new(
        &server.url("main.git"),
        with(TransportOptions {
            retry: fast_retry(),
            ..Default::default()
        }),
    )
    .expect("client");
    server.state.fail_next.store(2, Ordering::SeqCst);
    c.ls_refs(None).await.expect("third attempt succeeds");
    server.state.fail_next.store(3, Ordering::SeqCst);
    let err = c.ls_refs(None).await.expect_err("three failures");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn response_over_limit_is_too_large() {
    let server = fixture_server().await;
    let limits = Limits {
        fetch: 100_000,
        ..Limits::default()
    };
    let c = Client::new(
        &server.url("main.git"),
        with(TransportOptions {
            limits,
            ..Default::default()
        }),
    )
    .expect("client");
    let head = c.resolve("main").await.expect("resolve");
    let err = c
        .get_blob_by_path(head, "big/ten-mb.txt")
        .await
        .expect_err("10 MB > 100 kB");
    assert_eq!(err.kind(), ErrorKind::TooLarge, "{err}");
    let limits = Limits {
        object: 1000,
        ..Limits::default()
    };
    let c = Client::new(
        &server.url("main.git"),
        with(TransportOptions {
            limits,
            ..Default::default()
        }),
    )
    .expect("client");
    let err = c
        .get_blob_by_path(head, "big/ten-mb.txt")
        .await
        .expect_err("object limit");
    assert_eq!(err.kind(), ErrorKind::TooLarge, "{err}");
}

#[tokio::test]
async fn v0_only_server_is_a_clear_error() {
    let server = fixture_server().await;
    server.state.v0_only.store(true, Ordering::SeqCst);
    let c =
        Client::new(&server.url("main.git"), with(TransportOptions::default())).expect("client");
    let err = c.check_compatible().await.expect_err("v0");
    assert!(
        matches!(err, gitwire::Error::ProtocolV2Unsupported(_)),
        "{err}"
    );
    assert!(err.to_string().contains("protocol v2"));
}

#[test]
fn https_client_builds_with_the_ring_provider() {
    Client::new("https://example.com/org/repo.git", ClientOptions::default()).expect("TLS client");
}

#[test]
fn only_http_urls() {
    let err = Client::new("file:///etc", ClientOptions::default()).expect_err("file url");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}
