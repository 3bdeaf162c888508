//! No token and no URL password reaches a log line or an answer: the real binary, logging at
//! `debug`, is given a token, refused clone URLs that carry credentials, a wrong bearer token,
//! and then a config file whose token line no longer parses (reloaded by SIGHUP). Its whole
//! stderr and every answer are searched for the secrets.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

const TOKEN: &str = "tok-SECRET-4f1c9a77e2";
const PASSWORD: &str = "pw-SECRET-93b1d0";
const WRONG: &str = "wrong-SECRET-77aa01";

fn config(token_line: &str) -> String {
    format!(
        "version = 1\n[[tokens]]\nname = \"ops\"\n{token_line}\nscopes = [\"admin\"]\n\
         repos = [\"*\"]\n"
    )
}

struct Server {
    child: std::process::Child,
    base: String,
    log: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until the log holds `needle` (the server logs asynchronously to the request).
    async fn wait_for(&self, needle: &str) {
        for _ in 0..200 {
            if self.log().contains(needle) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the log never said {needle:?}:\n{}", self.log());
    }
}

/// The binary on a free port, every stderr line kept.
fn start(dir: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gitapi"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.join("data"))
        .arg("--config")
        .arg(dir.join("gitapi.toml"))
        .env_remove("GITAPI_LISTEN")
        .env_remove("GITAPI_DATA_DIR")
        .env("RUST_LOG", "debug")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the gitapi binary starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = log.clone();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("gitapi listening on ")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(addr.trim().to_owned());
            }
            if let Ok(mut l) = sink.lock() {
                l.push_str(&line);
                l.push('\n');
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server announces its address");
    Server { child, base, log }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_url_password_reaches_a_log_line_or_an_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join("gitapi.toml");
    std::fs::write(&config_path, config(&format!("token = \"{TOKEN}\""))).expect("config");
    let server = start(dir.path());
    let http = crate::common::http_client().build().expect("client");
    let base = &server.base;
    let mut answers = String::new();

    // The configured token works, and is never echoed.
    let res = http
        .post(format!("{base}/v1/repos"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "demo"}))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201);
    answers.push_str(&res.text().await.unwrap_or_default());

    // A wrong token is 401, and neither the answer nor the log repeats it.
    let res = http
        .get(format!("{base}/v1/repos"))
        .bearer_auth(WRONG)
        .send()
        .await
        .expect("list");
    assert_eq!(res.status(), 401);
    answers.push_str(&res.text().await.unwrap_or_default());

    // Clone sources with credentials: one the policy refuses (a loopback host), one it lets
    // through to git, which fails to reach it and prints the URL in its own error text.
    for url in [
        format!("https://user:{PASSWORD}@127.0.0.1/private.git"),
        format!("https://user:{PASSWORD}@gitapi-test.invalid/x.git"),
        format!("http://{PASSWORD}@gitapi-test.invalid/x.git"),
    ] {
        let res = http
            .post(format!("{base}/v1/repos"))
            .bearer_auth(TOKEN)
            .json(&json!({"name": "cloned", "source": {"url": url}}))
            .send()
            .await
            .expect("clone");
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        assert!(
            status.is_client_error() || status.is_server_error(),
            "{status} {text}"
        );
        answers.push_str(&text);
    }
    assert!(
        answers.contains("***@"),
        "the policy's refusal shows the URL, redacted: {answers}"
    );

    // The token line stops parsing: the reload (SIGHUP) is refused and says where, not what.
    std::fs::write(&config_path, config(&format!("token = \"{TOKEN}"))).expect("config");
    let status = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(status.success());
    server.wait_for("config not reloaded").await;
    // The old token still serves: a refused reload changes nothing.
    let res = http
        .get(format!("{base}/v1/repos"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("list");
    assert_eq!(res.status(), 200);

    let log = server.log();
    assert!(
        log.contains("line "),
        "the reload error names the line: {log}"
    );
    for secret in [TOKEN, PASSWORD, WRONG] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
        assert!(
            !answers.contains(secret),
            "{secret} is in an answer:\n{answers}"
        );
    }
}
