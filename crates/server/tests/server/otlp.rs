//! OpenTelemetry export: the real binary, configured with an OTLP endpoint, sends one span per
//! request to a minimal OTLP/gRPC receiver run by the test, with the request's id, door,
//! route, operation, repository, engine and status as attributes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;

use crate::common::{Running, gitapi_serve, http_client, start_binary};

/// A span as received: its name and its string attributes.
#[derive(Debug, Clone)]
struct Received {
    name: String,
    attributes: BTreeMap<String, String>,
}

#[derive(Debug, Default, Clone)]
struct Receiver {
    spans: Arc<Mutex<Vec<Received>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().expect("lock");
        for rs in request.into_inner().resource_spans {
            for ss in rs.scope_spans {
                for span in ss.spans {
                    let attributes = span
                        .attributes
                        .iter()
                        .filter_map(|kv| {
                            let v = match kv.value.as_ref()?.value.as_ref()? {
                                Value::StringValue(s) => s.clone(),
                                Value::IntValue(i) => i.to_string(),
                                Value::BoolValue(b) => b.to_string(),
                                other => format!("{other:?}"),
                            };
                            Some((kv.key.clone(), v))
                        })
                        .collect();
                    spans.push(Received {
                        name: span.name,
                        attributes,
                    });
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn stop(mut server: Running) {
    let pid = server.0.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    for _ in 0..400 {
        if let Ok(Some(status)) = server.0.try_wait() {
            assert!(status.success(), "gitapi stopped with {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("gitapi did not stop after SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_one_exported_span_with_its_attributes() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let otlp_port = listener.local_addr().expect("addr").port();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let collector = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(incoming),
    );

    let dir = tempfile::tempdir().expect("temp");
    let (server, base) = start_binary(gitapi_serve(
        dir.path(),
        &format!("[telemetry]\notlp_endpoint = \"http://127.0.0.1:{otlp_port}\"\n"),
    ));
    let client = http_client().build().expect("client");
    let res = client
        .post(format!("{base}/v1/repos"))
        .header("x-request-id", "otlp-create")
        .json(&serde_json::json!({"name": "r"}))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    let res = client
        .get(format!("{base}/v1/repos/r/refs"))
        .header("x-request-id", "otlp-refs")
        .send()
        .await
        .expect("refs");
    assert_eq!(res.status(), 200);
    // A first commit, then the same read twice: the cache's outcome is on each span.
    {
        use base64::Engine as _;
        let res = client
            .post(format!("{base}/v1/repos/r/commits"))
            .json(&serde_json::json!({
                "branch": "main",
                "expectedTip": crate::common::ZERO,
                "actions": [{"action": "put", "path": "a.txt",
                    "content": base64::engine::general_purpose::STANDARD.encode("a\n")}],
                "message": "one",
                "author": {"name": "A", "email": "a@example.com", "time": 1700000000, "offsetMinutes": 0},
            }))
            .send()
            .await
            .expect("commit");
        assert_eq!(res.status(), 201);
    }
    for id in ["otlp-read-1", "otlp-read-2"] {
        let res = client
            .get(format!("{base}/v1/repos/r/commits/main"))
            .header("x-request-id", id)
            .send()
            .await
            .expect("read");
        assert_eq!(res.status(), 200);
    }
    let res = client
        .get(format!("{base}/v1/repos/nope/refs"))
        .header("x-request-id", "otlp-missing")
        .send()
        .await
        .expect("refs of a missing repository");
    assert_eq!(res.status(), 404);
    let res = client
        .post(format!("{base}/graphql"))
        .header("x-request-id", "otlp-graphql")
        .json(&serde_json::json!({"query": "{ __typename }"}))
        .send()
        .await
        .expect("graphql");
    assert_eq!(res.status(), 200);
    // A stop drains the server and flushes the exporter before the process ends.
    stop(server);

    let spans = receiver.spans.lock().expect("lock").clone();
    let of = |id: &str| -> Vec<Received> {
        spans
            .iter()
            .filter(|s| s.attributes.get("request_id").map(String::as_str) == Some(id))
            .filter(|s| s.attributes.contains_key("route"))
            .cloned()
            .collect()
    };
    for (id, cache) in [("otlp-read-1", "miss"), ("otlp-read-2", "hit")] {
        let found = of(id);
        assert_eq!(found.len(), 1, "{id}: {found:#?}");
        let attr = |k: &str| found[0].attributes.get(k).map(String::as_str);
        assert_eq!(attr("cache"), Some(cache), "{id}: {found:#?}");
        assert_eq!(attr("op"), Some("get_commit"), "{id}: {found:#?}");
        assert_eq!(attr("route"), Some("/v1/repos/{repo}/commits/{sha}"));
    }
    for (id, name, door, route, op, repo, status) in [
        (
            "otlp-create",
            "POST /v1/repos",
            "rest",
            "/v1/repos",
            Some("create_repo"),
            Some("r"),
            "201",
        ),
        (
            "otlp-refs",
            "GET /v1/repos/{repo}/refs",
            "rest",
            "/v1/repos/{repo}/refs",
            Some("list_refs"),
            Some("r"),
            "200",
        ),
        (
            "otlp-missing",
            "GET /v1/repos/{repo}/refs",
            "rest",
            "/v1/repos/{repo}/refs",
            Some("list_refs"),
            Some("nope"),
            "404",
        ),
        (
            "otlp-graphql",
            "POST /graphql",
            "graphql",
            "/graphql",
            None,
            None,
            "200",
        ),
    ] {
        let found = of(id);
        assert_eq!(
            found.len(),
            1,
            "{id}: one request span, got {found:#?}\nall: {spans:#?}"
        );
        let s = &found[0];
        let attr = |k: &str| s.attributes.get(k).map(String::as_str);
        assert_eq!(s.name, name, "{s:#?}");
        assert_eq!(attr("door"), Some(door), "{s:#?}");
        assert_eq!(attr("route"), Some(route), "{s:#?}");
        assert_eq!(attr("status"), Some(status), "{s:#?}");
        assert_eq!(attr("op"), op, "{s:#?}");
        assert_eq!(attr("repo"), repo, "{s:#?}");
        if op.is_some() {
            assert_eq!(attr("engine"), Some("libgit2"), "{s:#?}");
        }
    }
    collector.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_with_the_request_id() {
    let dir = tempfile::tempdir().expect("temp");
    let log = dir.path().join("gitapi.log");
    let mut cmd = gitapi_serve(dir.path(), "[telemetry]\nlog_format = \"json\"\n");
    cmd.env("RUST_LOG", "info,gitapi_service=debug")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"));
    let server = Running(cmd.spawn().expect("gitapi starts"));
    let mut base = None;
    for _ in 0..400 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        base = text
            .lines()
            .find_map(|l| l.strip_prefix("gitapi listening on "))
            .map(|b| b.trim().to_owned());
        if base.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let base = base.expect("an address announced");
    let client = http_client().build().expect("client");
    let mut created = false;
    for _ in 0..200 {
        if let Ok(res) = client
            .post(format!("{base}/v1/repos"))
            .header("x-request-id", "json-log-1")
            .json(&serde_json::json!({"name": "r"}))
            .send()
            .await
        {
            created = res.status() == 201;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(created);
    stop(server);
    let text = std::fs::read_to_string(&log).expect("log");
    let mut with_id = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with("gitapi listening on "))
    {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
        if line.contains("json-log-1") {
            assert_eq!(v["span"]["request_id"], "json-log-1", "{line}");
            with_id += 1;
        }
    }
    assert!(
        with_id >= 1,
        "no line of the request carries its id:\n{text}"
    );
}
