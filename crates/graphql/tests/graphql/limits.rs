//! Depth and complexity limits refuse a query before any resolver runs.

use serde_json::json;

use crate::common::{TestServer, seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_deep_or_over_complex_query_is_refused() {
    let server = TestServer::start().await;
    let gql = server.gql();
    seed(&gql, "l", &[("a.txt", "a\n")]).await;

    // Parents of parents, deeper than the limit.
    let mut inner = "oid".to_owned();
    for _ in 0..gitapi_graphql::MAX_DEPTH {
        inner = format!("parents {{ {inner} }}");
    }
    let deep = format!("{{ repository(name: \"l\") {{ commit(rev: \"main\") {{ {inner} }} }} }}");
    let (status, body) = gql.send(&deep, json!({})).await;
    assert!(status == 200 || (400..500).contains(&status), "{status}");
    let msg = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("nested too deep"), "{body}");
    assert!(body["data"].is_null(), "nothing ran: {body}");

    // Many aliases of a cheap field: more fields than the complexity limit.
    let fields: String = (0..=gitapi_graphql::MAX_COMPLEXITY)
        .map(|i| format!("f{i}: name "))
        .collect();
    let wide = format!("{{ repository(name: \"l\") {{ {fields} }} }}");
    let (status, body) = gql.send(&wide, json!({})).await;
    assert!(status == 200 || (400..500).contains(&status), "{status}");
    let msg = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("too complex"), "{body}");

    // Within the limits, the same shape answers.
    let ok =
        "{ repository(name: \"l\") { commit(rev: \"main\") { parents { parents { oid } } } } }";
    gql.data(ok, json!({})).await;
    server.stop().await;
}
