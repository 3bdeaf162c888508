//! The caller's `grpc-timeout` is the call's deadline in the service: a blame of a big file
//! with a 10 ms deadline answers `DEADLINE_EXCEEDED`, and its git process is stopped.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};

use gitapi_grpc::pb;

use crate::common::TestServer;

/// Lines of the big file, and commits that each rewrite a slice of it.
const LINES: usize = 4000;
const COMMITS: usize = 300;

/// Writes the history of `big.txt` into the bare repository at `git_dir` with one
/// `git fast-import` (hermetic: no system or global config).
fn write_big_history(git_dir: &std::path::Path) {
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(git_dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", git_dir)
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import runs");
    let mut s = Vec::new();
    let mut lines: Vec<String> = (0..LINES)
        .map(|i| format!("line {i} of the file"))
        .collect();
    for c in 0..COMMITS {
        for l in lines.iter_mut().skip((c * 13) % LINES).step_by(97) {
            *l = format!("{l} changed in {c}");
        }
        let body = lines.join("\n") + "\n";
        let time = 1_600_000_000 + c * 60;
        let msg = format!("commit {c}");
        writeln!(s, "commit refs/heads/main").expect("in memory");
        writeln!(s, "committer Big <big@example.com> {time} +0000").expect("in memory");
        writeln!(s, "data {}\n{msg}", msg.len()).expect("in memory");
        writeln!(s, "M 100644 inline big.txt").expect("in memory");
        writeln!(s, "data {}\n{body}", body.len()).expect("in memory");
        writeln!(s).expect("in memory");
    }
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(&s)
        .expect("fast-import reads");
    assert!(child.wait().expect("fast-import ends").success());
}

/// One unary-framed call over a fresh HTTP/2 connection with a `grpc-timeout` header; the
/// `grpc-status` and `grpc-message` the server answers (in headers or trailers).
async fn raw_grpc(
    addr: std::net::SocketAddr,
    path: &str,
    msg: &impl prost::Message,
    timeout: &str,
) -> (i32, String) {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .expect("an HTTP/2 connection");
    tokio::spawn(conn);
    let payload = msg.encode_to_vec();
    let mut frame = Vec::with_capacity(payload.len() + 5);
    frame.push(0);
    frame.extend_from_slice(&u32::try_from(payload.len()).expect("small").to_be_bytes());
    frame.extend_from_slice(&payload);
    let req = hyper::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-timeout", timeout)
        .body(Full::new(Bytes::from(frame)))
        .expect("a request");
    let res = send.send_request(req).await.expect("an answer");
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.expect("a body");
    let trailers = body.trailers().cloned().unwrap_or_default();
    let get = |name: &str| {
        headers
            .get(name)
            .or_else(|| trailers.get(name))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let code = get("grpc-status")
        .and_then(|c| c.parse().ok())
        .expect("a grpc-status");
    (code, get("grpc-message").unwrap_or_default())
}

/// Processes whose command line mentions `blame` in this process's tree (the server runs in
/// this test process, so its git children are ours).
fn blame_processes() -> usize {
    let me = std::process::id().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter(|e| {
            let p = e.path();
            let stat = std::fs::read_to_string(p.join("stat")).unwrap_or_default();
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .unwrap_or_default()
                .to_owned();
            let cmd = std::fs::read(p.join("cmdline")).unwrap_or_default();
            ppid == me && String::from_utf8_lossy(&cmd).contains("blame")
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blame_past_a_10ms_deadline_is_deadline_exceeded_and_stops() {
    let server = TestServer::start().await;
    let ch = server.channel().await;
    pb::repository_service_client::RepositoryServiceClient::new(ch.clone())
        .create_repository(pb::CreateRepositoryRequest {
            repository: "big".into(),
            source: None,
        })
        .await
        .expect("create");
    write_big_history(&server.data().join("repos/big.git"));
    let mut hist = pb::history_service_client::HistoryServiceClient::new(ch.clone());
    let blame = || pb::BlameRequest {
        repository: "big".into(),
        revision: "main".into(),
        path: "big.txt".into(),
        ..Default::default()
    };
    // A 10 ms deadline, sent as any client sends it. The server's own answer is under test,
    // so the call goes through a bare HTTP/2 client that keeps no timer of its own.
    let (code, message) = raw_grpc(
        server.addr,
        "/gitapi.v1.HistoryService/Blame",
        &blame(),
        "10m",
    )
    .await;
    let kind = gitapi_core::ErrorKind::Timeout;
    assert_eq!(code, kind.grpc_code().number, "{message}");
    assert_eq!(
        tonic::Code::from_i32(code),
        tonic::Code::DeadlineExceeded,
        "{message}"
    );
    // The work stops: no blame process of ours outlives the answer for long.
    let mut left = blame_processes();
    for _ in 0..100 {
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = blame_processes();
    }
    assert_eq!(left, 0, "a blame process still runs after the deadline");
    // Without a deadline of its own the same blame completes (the file is blameable).
    let hunks = hist.blame(blame()).await.expect("a blame").into_inner();
    let first = futures::StreamExt::next(&mut Box::pin(hunks))
        .await
        .expect("a message")
        .expect("hunks");
    assert!(!first.hunks.is_empty());
    server.stop().await;
}
