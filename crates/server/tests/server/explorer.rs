//! The API explorer (issue 14): `GET /` links it, and Swagger UI at `/docs` renders the
//! operations of gitapi's own `/openapi.json` in headless Chromium (Debian's `chromium`) while
//! every name but 127.0.0.1 resolves to nothing, so the page needs nothing from the internet.
//! Chromium's network log shows every request the page made went to the server (its main frame,
//! its assets and `/openapi.json`). A screenshot
//! is written to the test's temporary directory (`explorer.png`). Without Chromium the browser
//! half is skipped with a message (CI installs it: `.ci/run`).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use serde_json::Value;

use gitapi_service::{RepoService, ServiceConfig};

/// Chromium's command, if it is installed.
fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "/usr/bin/chromium"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// Headless Chromium on `url` with the network cut to loopback: every name but 127.0.0.1
/// resolves to nothing, and anything else that tries a proxy meets a closed port.
fn browse(chromium: &str, profile: &Path, url: &str, extra: &[&str]) -> std::process::Output {
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Chrome's own form-autofill lookup would otherwise ask Google about the page's
            // filter box from the page's network partition.
            "--disable-features=AutofillServerCommunication,Translate,OptimizationHints",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=127.0.0.1",
            "--virtual-time-budget=20000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The URLs the page itself requested, from a Chromium network log (`--log-net-log`): the
/// requests whose network isolation key is the page's site (127.0.0.1). Chromium's own
/// background requests (its time, sign-in and update services) carry another key; the
/// resolver rule fails them anyway.
fn page_requests(netlog: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(netlog).expect("a network log");
    // A log cut short by the exit lacks its closing brackets.
    let log: Value = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(&format!("{}]}}", text.trim_end().trim_end_matches(','))))
        .expect("the network log is JSON");
    let mut urls = Vec::new();
    for e in log["events"].as_array().into_iter().flatten() {
        let p = &e["params"];
        let ours = p["network_isolation_key"]
            .as_str()
            .is_some_and(|k| k.starts_with("http://127.0.0.1 "));
        if let (true, Some(url)) = (ours, p["url"].as_str())
            && !urls.iter().any(|u| u == url)
        {
            urls.push(url.to_owned());
        }
    }
    urls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_links_the_explorer_and_the_explorer_renders_offline_in_chromium() {
    let data = tempfile::tempdir().expect("a data directory");
    let switch = gitapi_switch::EngineSwitch::new(
        Arc::new(gitapi_git2::Git2Backend::new(gitapi_git2::Config::new(
            data.path(),
        ))),
        Arc::new(gitapi_shell::ShellBackend::new(gitapi_shell::Config::new(
            data.path(),
        ))),
        gitapi_switch::EngineKind::Libgit2,
        gitapi_switch::CanaryConfig::default(),
    );
    let svc = RepoService::new(ServiceConfig::new(data.path()), Arc::new(switch));
    let (router, _grpc) = gitapi_server::compose(svc, gitapi_server::MetricsAccess::Open).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("an address").port()
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(gitapi_server::serve(listener, router, async {
        let _ = stopped.await;
    }));
    let http = crate::common::http_client().build().expect("a client");

    // `GET /`: links as JSON, or a page for a browser.
    let index: Value = http
        .get(format!("{base}/"))
        .send()
        .await
        .expect("GET /")
        .json()
        .await
        .expect("JSON");
    assert_eq!(index["links"]["docs"], "/docs/");
    assert_eq!(index["links"]["openapi"], "/openapi.json");
    let page = http
        .get(format!("{base}/"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("GET / as a browser");
    assert!(
        page.headers()["content-type"]
            .to_str()
            .is_ok_and(|v| v.starts_with("text/html"))
    );
    assert!(
        page.text()
            .await
            .unwrap_or_default()
            .contains("href=\"/docs/\"")
    );

    // The explorer reads the served document; `/docs` leads to `/docs/`.
    let docs = http
        .get(format!("{base}/docs"))
        .send()
        .await
        .expect("GET /docs");
    assert_eq!(docs.status(), 200);
    assert_eq!(docs.url().path(), "/docs/");
    assert!(docs.text().await.unwrap_or_default().contains("swagger-ui"));
    let init = http
        .get(format!("{base}/docs/swagger-initializer.js"))
        .send()
        .await
        .expect("the initializer");
    assert_eq!(init.status(), 200);
    let init = init.text().await.unwrap_or_default();
    assert!(init.contains("\"/openapi.json\""), "{init}");
    assert!(!init.contains("petstore"), "{init}");

    let Some(chromium) = chromium() else {
        eprintln!(
            "SKIPPED the browser half: Chromium is not installed (Debian's chromium package; \
             .ci/run installs it)"
        );
        let _ = stop.send(());
        return;
    };
    let profile = tempfile::tempdir().expect("a profile directory");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let netlog = tmp.join("explorer-netlog.json");
    let _ = std::fs::remove_file(&netlog);
    let url = format!("{base}/docs/");
    let dom = tokio::task::spawn_blocking({
        let (url, profile, netlog) = (url.clone(), profile.path().to_owned(), netlog.clone());
        move || {
            let log = format!("--log-net-log={}", netlog.display());
            browse(chromium, &profile, &url, &["--dump-dom", &log])
        }
    })
    .await
    .expect("the browser task");
    let dom = String::from_utf8_lossy(&dom.stdout);
    // Swagger UI rendered the operations of gitapi's document, grouped by its tags.
    assert!(dom.contains("swagger-ui"), "Swagger UI rendered");
    for expected in [
        "opblock-tag-section",
        "/v1/repos/{repo}/refs",
        "/v1/repos/{repo}/tags/{name}",
        "/v1/repos/{repo}/commits",
        "Branches, tags and other refs",
    ] {
        assert!(
            dom.contains(expected),
            "the rendered page lacks {expected:?} ({} bytes of DOM)",
            dom.len()
        );
    }
    let urls = page_requests(&netlog);
    assert!(
        urls.iter().any(|u| u == &format!("{base}/openapi.json")),
        "the page read the served document: {urls:?}"
    );
    let outside: Vec<&String> = urls
        .iter()
        .filter(|u| !u.starts_with(&format!("{base}/")))
        .collect();
    assert!(
        outside.is_empty(),
        "requests that left the server: {outside:?}"
    );

    let shot = tmp.join("explorer.png");
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    let profile2 = tempfile::tempdir().expect("a profile directory");
    tokio::task::spawn_blocking({
        let profile = profile2.path().to_owned();
        move || browse(chromium, &profile, &url, &["--window-size=1280,1000", &arg])
    })
    .await
    .expect("the browser task");
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real screenshot"
    );
    eprintln!("explorer screenshot: {}", shot.display());
    let _ = stop.send(());
    let _ = server.await;
}
