//! A 64 MiB blob read through `GET /v1/repos/{repo}/blob` streams in bounded memory on both
//! engines, loose and packed, byte for byte as git stored it; and a `304` on it reads no
//! content (the only operation the service runs for it is `blob_header`).
//!
//! Alone in its own binary: it measures the resident memory of the whole test process, which
//! other tests running beside it would disturb. The figure asserted is a size, not a time.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use gitapi_core::{InitOptions, Layout, Oid, RepoName};
use gitapi_service::{
    CallContext, EngineKind, Observer, OpRecord, RepoService, RepoSource, ServiceConfig,
};
use gitapi_switch::{CanaryConfig, EngineSwitch};

const SIZE: usize = 64 * 1024 * 1024;
const LIMIT_KB: u64 = 16 * 1024;

/// Incompressible bytes from a fixed seed (xorshift), so a loose object is as large as its
/// content and the test can check every byte it receives without keeping the blob.
#[derive(Clone)]
struct Bytes64(u64);

impl Bytes64 {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = (self.0 >> 24) as u8;
        }
    }
}

fn vm_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn git(dir: &std::path::Path) -> Command {
    let mut c = Command::new("git");
    c.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .arg("--git-dir")
        .arg(dir);
    c
}

/// Writes the blob with `git hash-object -w --stdin`, fed in chunks.
fn write_blob(dir: &std::path::Path) -> Oid {
    let mut child = git(dir)
        .args(["hash-object", "-w", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("git hash-object");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        let mut bytes = Bytes64(0x9e37_79b9_7f4a_7c15);
        let mut buf = vec![0u8; 64 * 1024];
        for _ in 0..SIZE / buf.len() {
            bytes.fill(&mut buf);
            stdin.write_all(&buf).expect("feeding git");
        }
    }
    let out = child.wait_with_output().expect("git hash-object");
    assert!(out.status.success());
    Oid::from_hex(String::from_utf8_lossy(&out.stdout).trim()).expect("an id")
}

#[derive(Debug, Default)]
struct Ops(Mutex<Vec<&'static str>>);

impl Observer for Ops {
    fn finished(&self, record: &OpRecord) {
        self.0.lock().expect("ops").push(record.op);
    }
}

/// Streams the blob through the REST door and returns the largest rise of the resident set
/// seen while reading it, in KiB.
async fn stream_once(app: &axum::Router, oid: Oid) -> u64 {
    let before = vm_rss_kb();
    let req = Request::get(format!("/v1/repos/big/blob?oid={oid}"))
        .body(Body::empty())
        .expect("request");
    let res = app.clone().oneshot(req).await.expect("response");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok()),
        Some(SIZE.to_string().as_str())
    );
    let mut body = res.into_body();
    let mut bytes = Bytes64(0x9e37_79b9_7f4a_7c15);
    let mut expected = Vec::new();
    let (mut read, mut peak, mut next_sample) = (0usize, before, 0usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.expect("a body frame");
        let Some(chunk) = frame.data_ref() else {
            continue;
        };
        expected.resize(chunk.len(), 0);
        bytes.fill(&mut expected);
        assert!(chunk[..] == expected[..], "bytes differ at offset {read}");
        read += chunk.len();
        if read >= next_sample {
            peak = peak.max(vm_rss_kb());
            next_sample = read + 1024 * 1024;
        }
    }
    assert_eq!(read, SIZE);
    peak.max(vm_rss_kb()).saturating_sub(before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_blob_streams_in_bounded_memory_and_a_304_reads_no_content() {
    let dir = tempfile::tempdir().expect("tempdir");
    let switch = Arc::new(EngineSwitch::new(
        Arc::new(gitapi_git2::Git2Backend::new(gitapi_git2::Config::new(
            dir.path(),
        ))),
        Arc::new(gitapi_shell::ShellBackend::new(gitapi_shell::Config::new(
            dir.path(),
        ))),
        EngineKind::Libgit2,
        CanaryConfig::default(),
    ));
    let ops = Arc::new(Ops::default());
    let svc = RepoService::builder(ServiceConfig::new(dir.path()), Arc::clone(&switch))
        .observer(ops.clone())
        .build();
    let repo = RepoName::new("big").expect("name");
    svc.create_repo(
        &CallContext::operator(),
        &repo,
        RepoSource::Empty(InitOptions::default()),
    )
    .await
    .expect("create");
    let git_dir = Layout::new(dir.path()).repo_dir(&repo);
    let oid = write_blob(&git_dir);
    let app = gitapi_rest::app(svc);

    let mut figures = Vec::new();
    for storage in ["loose", "packed"] {
        if storage == "packed" {
            // Keep the blob: it is reachable from no ref, so pack it whole with `--keep-unreachable`.
            let ok = git(&git_dir)
                .args(["repack", "-adq", "--keep-unreachable"])
                .status()
                .expect("git repack");
            assert!(ok.success());
        }
        for kind in [EngineKind::Libgit2, EngineKind::Shell] {
            switch.switch(kind);
            let rise = stream_once(&app, oid).await;
            figures.push(format!("{kind} {storage}: +{rise} KiB"));
            assert!(
                rise < LIMIT_KB,
                "{kind} {storage}: resident memory rose by {rise} KiB"
            );

            // A 304 runs only `blob_header`: no content is read.
            ops.0.lock().expect("ops").clear();
            let req = Request::get(format!("/v1/repos/big/blob?oid={oid}"))
                .header("if-none-match", format!("\"{oid}\""))
                .body(Body::empty())
                .expect("request");
            let res = app.clone().oneshot(req).await.expect("response");
            assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
            assert_eq!(*ops.0.lock().expect("ops"), vec!["blob_header"]);
        }
    }
    // The figures, for docs/benchmarks.md (`cargo test -p gitapi-server --test blob_memory --
    // --nocapture`).
    println!(
        "resident memory rise while streaming 64 MiB: {}",
        figures.join(", ")
    );
}
