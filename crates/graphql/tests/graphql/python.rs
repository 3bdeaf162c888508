//! A client nobody here wrote: Python's gql with its requests transport, which builds its
//! schema by introspection and validates documents against it, over a real socket.

use crate::common::{TestServer, run_python};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_gql_runs_queries_and_mutations() {
    let server = TestServer::start().await;
    let out = run_python(&server, "client.py", &[]).await;
    assert!(out.contains("client: ok"), "{out}");
    server.stop().await;
}
