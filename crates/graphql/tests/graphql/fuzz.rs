//! Schemathesis in its GraphQL mode fuzzes every query and mutation field of `/graphql` over a
//! real socket: no answer may be a server error (HTTP 5xx, or a GraphQL error whose code the
//! error table answers with a 5xx). Bounded: `GITAPI_FUZZ_EXAMPLES` examples per operation
//! (10 by default, about 400 calls; CI runs the default, a fuller local run sets more).

use gitapi_core::ErrorKind;

use crate::common::{TestServer, run_python, seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_in_graphql() {
    let server = TestServer::start().await;
    // A repository for the generated calls to find (they name `demo` often).
    seed(&server.gql(), "demo", &[("README.md", "hello\n")]).await;
    let examples = std::env::var("GITAPI_FUZZ_EXAMPLES").unwrap_or_else(|_| "10".to_owned());
    let mut args = vec![examples];
    args.extend(
        ErrorKind::ALL
            .into_iter()
            .filter(|k| k.is_server_error())
            .map(|k| k.graphql_code().to_owned()),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_python(&server, "fuzz.py", &args).await;
    assert!(out.contains(" 0 server errors"), "{out}");
    server.stop().await;
}
