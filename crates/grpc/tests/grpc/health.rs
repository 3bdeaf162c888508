//! The standard health service: every service `SERVING`, then `NOT_SERVING` as soon as the
//! server starts to drain, after which a `Watch` ends so it cannot hold the shutdown up.

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::common::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_serves_each_service_and_turns_not_serving_on_drain() {
    let mut server = TestServer::start().await;
    let mut health = HealthClient::new(server.channel().await);
    for service in gitapi_grpc::SERVICES.iter().copied().chain([""]) {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("a health answer")
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "gitapi.v1.RefService".into(),
        })
        .await
        .expect("a watch")
        .into_inner();
    let first = watch.message().await.expect("a status").expect("one");
    assert_eq!(first.status(), ServingStatus::Serving);
    server.begin_shutdown();
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), watch.message())
        .await
        .expect("a status change in time")
        .expect("a status")
        .expect("one");
    assert_eq!(next.status(), ServingStatus::NotServing);
    // The watch then ends, and the server stops while this client still holds its connection
    // and never hung up (a load balancer's watch must not hold the shutdown).
    let end = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Ok(Some(m)) = watch.message().await {
            assert_eq!(m.status(), ServingStatus::NotServing);
        }
    })
    .await;
    assert!(end.is_ok(), "the watch ended on drain");
    server.stop().await;
    drop(watch);
    drop(health);
}
