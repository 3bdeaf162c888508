//! The playground in a real browser: headless Chromium (Debian's `chromium`) with every host
//! but 127.0.0.1 unresolvable loads the page, runs a query and shows the answer; the page
//! therefore needs nothing from the internet. A screenshot is written to the test's target
//! directory (`playground.png`).

use std::process::Command;

use crate::common::{TestServer, seed};

fn chromium() -> &'static str {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("Chromium is installed (Debian's chromium package; .ci/run installs it)")
}

/// Runs headless Chromium on `url` with the network limited to loopback, with extra args.
fn browse(url: &str, extra: &[&str]) -> std::process::Output {
    let profile = tempfile::tempdir().expect("a profile directory");
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        // Every name resolves to nothing except loopback: a CDN request would fail.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--virtual-time-budget=15000",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(url);
    let out = cmd.output().expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playground_loads_offline_runs_a_query_and_shows_the_answer() {
    let s = TestServer::start().await;
    let gql = s.gql();
    let oid = seed(&gql, "demo", &[("README.md", "hello\n")]).await;
    let query = r#"{ repository(name: "demo") { commit(rev: "main") { oid } } }"#;
    let mut url = reqwest::Url::parse(&format!("{}/graphql/playground", s.base())).expect("url");
    url.query_pairs_mut()
        .append_pair("query", query)
        .append_pair("run", "1");

    // A browser opening /graphql gets the same page.
    let page = reqwest::Client::new()
        .get(format!("{}/graphql", s.base()))
        .header("accept", "text/html")
        .send()
        .await
        .expect("GET /graphql");
    assert!(
        page.text()
            .await
            .unwrap_or_default()
            .contains("graphql/playground/graphiql.js")
    );

    let url = url.to_string();
    let dom = tokio::task::spawn_blocking({
        let url = url.clone();
        move || browse(&url, &["--dump-dom"])
    })
    .await
    .expect("the browser task");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("graphiql-container"), "GraphiQL rendered");
    assert!(
        dom.contains(&oid),
        "the answer shows the commit id ({} bytes of DOM)",
        dom.len()
    );

    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("playground.png");
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    tokio::task::spawn_blocking(move || browse(&url, &["--window-size=1280,800", &arg]))
        .await
        .expect("the browser task");
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real screenshot"
    );
    eprintln!("playground screenshot: {}", shot.display());
}
