//! The WebSocket live log and blame: the first answer as git gives it, what each move of
//! the branch sends, and a client that reads nothing is dropped with a close reason.

use std::time::Duration;

use futures::StreamExt as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use gitapi_testkit::git::Git;

use crate::common::{Server, ZERO};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(s: &Server, path: &str) -> Socket {
    let (socket, res) = tokio_tungstenite::connect_async(s.ws_url(path))
        .await
        .expect("the WebSocket handshake");
    assert_eq!(res.status(), 101);
    socket
}

/// The next JSON message (within 10 s).
async fn next(socket: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("the socket is open")
            .expect("a frame");
        match msg {
            Message::Text(t) => return serde_json::from_str(&t).expect("JSON"),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Messages up to and including the next `synced`: (items in order, restarts seen, tip).
async fn until_synced(socket: &mut Socket) -> (Vec<Value>, usize, Value) {
    let (mut items, mut restarts) = (Vec::new(), 0);
    loop {
        let m = next(socket).await;
        match m["type"].as_str() {
            Some("items") => items.extend(m["items"].as_array().cloned().unwrap_or_default()),
            Some("restart") => restarts += 1,
            Some("synced") => return (items, restarts, m["tip"].clone()),
            _ => panic!("unexpected message {m}"),
        }
    }
}

fn oids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|c| c["oid"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// What git says, in the server's copy of the repository.
fn git_lines(s: &Server, repo: &str, args: &[&str]) -> Vec<String> {
    let dir = s.data().join("repos").join(format!("{repo}.git"));
    Git::new()
        .run_in_git_dir(&dir, args)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_log_sends_the_log_then_what_each_move_of_the_branch_brings() {
    let s = Server::start("version = 1\n").await;
    s.create_repo("r", None).await;
    let mut tip = ZERO.to_owned();
    for i in 0..3 {
        let path = if i == 1 { "other.txt" } else { "f.txt" };
        tip = s.commit("r", &tip, path, &format!("{i}\n"), None).await;
    }
    let c3 = tip.clone();
    let mut all = connect(&s, "/v1/repos/r/log/live?rev=main").await;
    let mut only_f = connect(&s, "/v1/repos/r/log/live?path=f.txt").await;
    let (items, restarts, synced) = until_synced(&mut all).await;
    assert_eq!(
        oids(&items),
        git_lines(&s, "r", &["log", "--format=%H", "main"])
    );
    assert_eq!((restarts, synced.as_str()), (0, Some(c3.as_str())));
    let (items, _, _) = until_synced(&mut only_f).await;
    assert_eq!(
        oids(&items),
        git_lines(&s, "r", &["log", "--format=%H", "main", "--", "f.txt"])
    );
    assert_eq!(items.len(), 2);

    // A fast-forward: only the new commits, newest first, then the new tip.
    let c4 = s.commit("r", &c3, "f.txt", "4\n", None).await;
    let c5 = s.commit("r", &c4, "other.txt", "5\n", None).await;
    let mut got = Vec::new();
    let mut last = Value::Null;
    while last.as_str() != Some(c5.as_str()) {
        let (items, restarts, tip) = until_synced(&mut all).await;
        assert_eq!(restarts, 0);
        got.splice(0..0, oids(&items));
        last = tip;
    }
    assert_eq!(got, vec![c5.clone(), c4.clone()]);
    let mut got_f = Vec::new();
    while got_f.is_empty() {
        got_f = oids(&until_synced(&mut only_f).await.0);
    }
    assert_eq!(
        got_f,
        vec![c4.clone()],
        "other.txt's commit is not in f.txt's log"
    );

    // A rewrite (the branch reset to its first commit): restart with the whole log again.
    let first = git_lines(&s, "r", &["rev-list", "--max-parents=0", "main"]);
    let res = s
        .http
        .patch(s.url("/v1/repos/r/refs/heads/main"))
        .json(&json!({"target": first[0], "expectedOld": c5}))
        .send()
        .await
        .expect("PATCH ref");
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let (items, restarts, tip) = until_synced(&mut all).await;
    assert_eq!((restarts, tip.as_str()), (1, Some(first[0].as_str())));
    assert_eq!(oids(&items), first);

    // The branch deleted: restart with nothing.
    let res = s
        .http
        .delete(s.url("/v1/repos/r/refs/heads/main"))
        .send()
        .await
        .expect("DELETE ref");
    assert_eq!(
        res.status(),
        204,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let (items, restarts, tip) = until_synced(&mut all).await;
    assert_eq!((items.len(), restarts, tip), (0, 1, Value::Null));

    // The repository deleted: an error message, then a close.
    let res = s
        .http
        .delete(s.url("/v1/repos/r"))
        .send()
        .await
        .expect("DELETE repo");
    assert_eq!(res.status(), 204);
    let m = next(&mut all).await;
    assert_eq!(
        (m["type"].as_str(), m["error"]["code"].as_str()),
        (Some("error"), Some("not_found"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_blame_sends_the_blame_again_only_when_a_move_changes_the_file() {
    let s = Server::start("version = 1\n").await;
    s.create_repo("r", None).await;
    let c1 = s
        .commit("r", ZERO, "f.txt", "one\ntwo\nthree\n", None)
        .await;
    let c2 = s.commit("r", &c1, "f.txt", "one\nTWO\nthree\n", None).await;
    let rest_blame = |at: String| {
        let s = &s;
        async move {
            let v: Value = s
                .http
                .get(s.url(&format!("/v1/repos/r/blame?rev={at}&path=f.txt")))
                .send()
                .await
                .expect("GET blame")
                .json()
                .await
                .expect("JSON");
            v.as_array()
                .cloned()
                .unwrap_or_else(|| panic!("hunks in {v}"))
        }
    };
    let mut live = connect(&s, "/v1/repos/r/blame/live?rev=main&path=f.txt").await;
    let (hunks, _, tip) = until_synced(&mut live).await;
    assert_eq!(tip.as_str(), Some(c2.as_str()));
    assert_eq!(hunks, rest_blame(c2.clone()).await);
    let porcelain = git_lines(&s, "r", &["blame", "--porcelain", "main", "--", "f.txt"]);
    assert!(
        porcelain[0].starts_with(&c1),
        "git blames line 1 on the first commit"
    );
    assert_eq!(hunks[0]["commit"], c1.as_str());

    // A commit that does not touch the file: only the new tip.
    let c3 = s.commit("r", &c2, "other.txt", "x\n", None).await;
    let (hunks, restarts, tip) = until_synced(&mut live).await;
    assert_eq!(
        (hunks.len(), restarts, tip.as_str()),
        (0, 0, Some(c3.as_str()))
    );

    // One that does: the whole new blame.
    let c4 = s
        .commit("r", &c3, "f.txt", "one\nTWO\nthree\nfour\n", None)
        .await;
    let (hunks, restarts, tip) = until_synced(&mut live).await;
    assert_eq!((restarts, tip.as_str()), (1, Some(c4.as_str())));
    assert_eq!(hunks, rest_blame(c4).await);

    // A missing file is an error before the upgrade.
    let err = tokio_tungstenite::connect_async(s.ws_url("/v1/repos/r/blame/live?path=nope.txt"))
        .await
        .err()
        .map(|e| e.to_string());
    assert!(
        err.is_some_and(|e| e.contains("404")),
        "a 404 before the upgrade"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_nothing_is_dropped_with_a_close_reason() {
    let s = Server::start("version = 1\n[limits]\nslow_client_secs = 1\n").await;
    // 20,000 commits: megabytes of log, far more than the socket buffers hold.
    gitapi_testkit::bigrepo::build(
        &s.data().join("repos").join("big.git"),
        gitapi_testkit::bigrepo::Shape {
            files: 4,
            dirs: 2,
            commits: 20_000,
        },
    );
    // A small receive buffer, so the server's writes block soon.
    let tcp = tokio::net::TcpSocket::new_v4().expect("a socket");
    tcp.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let addr: std::net::SocketAddr = s.base.trim_start_matches("http://").parse().expect("addr");
    let stream = tcp.connect(addr).await.expect("connect");
    let (mut socket, _) =
        tokio_tungstenite::client_async(s.ws_url("/v1/repos/big/log/live"), stream)
            .await
            .expect("the WebSocket handshake");
    // Read nothing for longer than the server waits (1 s), less than it keeps the close (5 s).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (mut commits, mut closed) = (0usize, None);
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
        match msg {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).expect("JSON");
                commits += v["items"].as_array().map_or(0, Vec::len);
                assert_ne!(
                    v["type"], "synced",
                    "the whole log reached a client that read nothing"
                );
            }
            Ok(Message::Close(frame)) => {
                closed = frame;
                break;
            }
            Ok(_) => {}
            Err(e) => panic!("the connection broke without a close frame: {e}"),
        }
    }
    let frame = closed.expect("a close frame");
    assert_eq!(frame.code, CloseCode::Policy);
    assert!(frame.reason.contains("too slow"), "{}", frame.reason);
    assert!(commits < 20_000, "{commits} commits were sent");
}
