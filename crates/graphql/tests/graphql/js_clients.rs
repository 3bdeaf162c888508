//! The reference subscription clients nobody here wrote: npm's graphql-ws (WebSocket,
//! `graphql-transport-ws`) and graphql-sse (server-sent events, distinct connections mode)
//! receive `repositoryEvents` for commits made through REST, over a real socket.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::common::{TestServer, seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_ws_and_graphql_sse_receive_the_events_of_rest_commits() {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/node/node_modules");
    for package in ["graphql-ws", "graphql-sse", "ws", "graphql"] {
        assert!(
            modules.join(package).is_dir(),
            "{package} is missing: run scripts/setup-tools.sh"
        );
    }
    let server = TestServer::start().await;
    seed(&server.gql(), "js", &[("a.txt", "a\n")]).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/subscribe.cjs");
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(&script)
        .arg(&modules)
        .arg(server.addr.to_string())
        .arg("js")
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("the script ends in time")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "subscribe.cjs failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim()).expect("a JSON report");
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    let commits: Vec<&str> = report["commits"]
        .as_array()
        .expect("commits")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for client in ["ws", "sse"] {
        let results = report[client].as_array().expect("results");
        assert!(!results.is_empty(), "{client} saw no event: {report}");
        for r in results {
            let e = &r["data"]["repositoryEvents"];
            assert_eq!(e["type"], "ref", "{client}: {r}");
            assert_eq!(e["repo"], "js");
            assert_eq!(e["ref"], "refs/heads/main");
            assert_eq!(e["kind"], "updated");
            let new = e["new"].as_str().expect("new");
            assert!(
                commits.contains(&new),
                "{client}: {new} is not a REST commit"
            );
        }
    }
    server.stop().await;
}
