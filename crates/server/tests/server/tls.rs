//! TLS on the listener (`[tls] cert_file, key_file`): the real binary with a self-signed
//! certificate serves REST over HTTP/2 (ALPN), `git clone` over HTTPS, and gRPC to Python's
//! `grpcio` with the certificate as its root; a plain-HTTP request to the port gets no answer.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use crate::common::{gitapi_serve, start_binary};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_rest_git_and_grpc_and_no_plain_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("a self-signed certificate");
    let cert_pem = cert.cert.pem();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, &cert_pem).expect("cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("key");
    let tls = format!(
        "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
        cert_path.display().to_string(),
        key_path.display().to_string()
    );
    let (_server, base) = start_binary(gitapi_serve(dir.path(), &tls));
    assert!(base.starts_with("https://"), "announced {base}");
    let port = base.rsplit(':').next().expect("a port").to_owned();

    // REST, negotiating HTTP/2 by ALPN.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("pem")])
        .build()
        .expect("client");
    let res = http
        .post(format!("{base}/v1/repos"))
        .json(&json!({"name": "demo"}))
        .send()
        .await
        .expect("create over TLS");
    assert_eq!(res.status(), 201);
    assert_eq!(res.version(), reqwest::Version::HTTP_2, "ALPN chose h2");
    let res = http
        .post(format!("{base}/v1/repos/demo/commits"))
        .json(&json!({
            "branch": "main", "expectedTip": "0000000000000000000000000000000000000000",
            "message": "first", "author": {"name": "A", "email": "a@example.com"},
            "actions": [{"action": "put", "path": "README.md", "content": "aGVsbG8K"}],
        }))
        .send()
        .await
        .expect("commit");
    assert_eq!(res.status(), 201);

    // git over HTTPS, trusting the certificate.
    let git = gitapi_testkit::git::Git::new();
    let work = tempfile::tempdir().expect("tempdir");
    let cainfo: &OsStr = cert_path.as_os_str();
    git.run_with(
        work.path(),
        &["clone", "-q", &format!("{base}/demo.git"), "c"],
        &[
            ("GIT_SSL_CAINFO", cainfo),
            ("GIT_ALLOW_PROTOCOL", OsStr::new("https")),
        ],
        None,
    );
    let readme = std::fs::read_to_string(work.path().join("c/README.md")).expect("cloned");
    assert_eq!(readme, "hello\n");

    // gRPC from Python's grpcio over TLS (the standard health service needs no stubs).
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/venv/bin/python");
    let script = format!(
        "import grpc\n\
         from grpc_health.v1 import health_pb2, health_pb2_grpc\n\
         creds = grpc.ssl_channel_credentials(root_certificates=open({cert:?}, 'rb').read())\n\
         with grpc.secure_channel('localhost:{port}', creds) as ch:\n\
         \x20   r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=30)\n\
         \x20   print(health_pb2.HealthCheckResponse.ServingStatus.Name(r.status))\n",
        cert = cert_path.display().to_string(),
    );
    let out = Command::new(&python)
        .args(["-c", &script])
        .output()
        .expect("python runs (scripts/setup-tools.sh makes the venv)");
    assert!(
        out.status.success(),
        "grpcio over TLS failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "SERVING");

    // No plain-HTTP fallback on the TLS port.
    let plain = crate::common::http_client().build().expect("client");
    let res = plain
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(res.is_err(), "plain HTTP was answered: {res:?}");
}
