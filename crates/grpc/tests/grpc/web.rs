//! gRPC-Web on the same port: Python's `sonora` client (a gRPC-Web implementation nobody here
//! wrote) calls a unary RPC, gets a `NOT_FOUND` with its code, and reads a server stream.

use crate::common::{TestServer, run_python, seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_web_client_calls_unary_and_streaming_rpcs() {
    let server = TestServer::start().await;
    let ch = server.channel().await;
    let commit = seed(
        &ch,
        "demo",
        &[
            ("README.md", b"hello\n"),
            ("src/lib.rs", b"pub fn f() {}\n"),
        ],
    )
    .await;
    let out = run_python(&server, "grpc_web.py", &[&commit.oid]).await;
    assert!(out.contains("grpc-web ok"), "{out}");
    server.stop().await;
}
