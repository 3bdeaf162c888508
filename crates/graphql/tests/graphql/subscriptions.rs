//! Subscriptions over both transports against the real server: `repositoryEvents` over
//! WebSocket (`graphql-transport-ws`, spoken by hand with tokio-tungstenite) and over
//! graphql-sse (distinct connections mode, read with reqwest), each receiving the event of a
//! commit made through REST.
//!
//! A subscription starts on the server a moment after the client sends it, so the commit is
//! repeated (a bounded number of times) until its event arrives; what is asserted is the
//! event's content, never a time.

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::common::{TestServer, author, http_client, seed};

const EVENTS: &str =
    "subscription($r: RepoName) { repositoryEvents(repo: $r, refPrefix: \"refs/heads/\") {
                        id type repo ref old new kind } }";

/// Commits a file onto `main` through REST; returns the new commit's id.
async fn rest_commit(server: &TestServer, repo: &str, n: usize) -> String {
    rest_commit_as(server, repo, n, None).await
}

async fn rest_commit_as(server: &TestServer, repo: &str, n: usize, token: Option<&str>) -> String {
    let mut req = http_client().post(format!("{}/v1/repos/{repo}/commits", server.base()));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req
        .json(&json!({"branch": "main",
                      "actions": [{"action": "put", "path": format!("f{n}.txt"), "content": "eA=="}],
                      "message": format!("rest {n}"), "author": author()}))
        .send()
        .await
        .expect("REST");
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.expect("JSON");
    body["oid"].as_str().expect("an oid").to_owned()
}

fn check(event: &Value, repo: &str, commits: &[String]) {
    assert_eq!(event["type"], "ref", "{event}");
    assert_eq!(event["repo"], repo);
    assert_eq!(event["ref"], "refs/heads/main");
    assert_eq!(event["kind"], "updated");
    let new = event["new"].as_str().expect("new");
    assert!(
        commits.iter().any(|c| c == new),
        "{event} not one of {commits:?}"
    );
    assert!(
        event["id"]
            .as_str()
            .is_some_and(|id| id.parse::<u64>().is_ok()),
        "{event}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_subscribers_receive_the_events_of_rest_commits() {
    let server = TestServer::start().await;
    seed(&server.gql(), "ws", &[("a.txt", "a\n")]).await;
    let mut req = format!("ws://{}/graphql", server.addr)
        .into_client_request()
        .expect("a request");
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("a header"),
    );
    let (mut ws, res) = tokio_tungstenite::connect_async(req)
        .await
        .expect("a WebSocket");
    assert_eq!(
        res.headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("graphql-transport-ws")
    );
    let send = |v: Value| Message::Text(v.to_string().into());
    ws.send(send(json!({"type": "connection_init", "payload": {}})))
        .await
        .expect("init");
    let ack = ws.next().await.expect("a message").expect("a frame");
    let ack: Value = serde_json::from_str(ack.to_text().expect("text")).expect("JSON");
    assert_eq!(ack["type"], "connection_ack");
    ws.send(send(json!({"id": "1", "type": "subscribe",
                        "payload": {"query": EVENTS, "variables": {"r": "ws"}}})))
        .await
        .expect("subscribe");
    let mut commits = Vec::new();
    let mut event = None;
    for n in 0..20 {
        commits.push(rest_commit(&server, "ws", n).await);
        if let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(3), ws.next()).await {
            let msg: Value =
                serde_json::from_str(msg.expect("a frame").to_text().expect("text")).expect("JSON");
            assert_eq!(msg["type"], "next", "{msg}");
            assert_eq!(msg["id"], "1");
            event = Some(msg["payload"]["data"]["repositoryEvents"].clone());
            break;
        }
    }
    check(&event.expect("an event within 20 commits"), "ws", &commits);
    ws.send(send(json!({"id": "1", "type": "complete"})))
        .await
        .expect("complete");
    ws.close(None).await.expect("close");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_subscribers_receive_the_events_of_rest_commits() {
    let server = TestServer::start().await;
    seed(&server.gql(), "sse", &[("a.txt", "a\n")]).await;
    let res = http_client()
        .post(format!("{}/graphql/subscribe", server.base()))
        .header("accept", "text/event-stream")
        .json(&json!({"query": EVENTS, "variables": {"r": "sse"}}))
        .send()
        .await
        .expect("an event stream");
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .is_ok_and(|ct| ct.starts_with("text/event-stream"))
    );
    let mut body = res.bytes_stream();
    let mut text = String::new();
    let mut commits = Vec::new();
    let mut event = None;
    'commits: for n in 0..20 {
        commits.push(rest_commit(&server, "sse", n).await);
        while let Ok(Some(chunk)) = tokio::time::timeout(Duration::from_secs(3), body.next()).await
        {
            text.push_str(&String::from_utf8_lossy(&chunk.expect("a chunk")));
            // A message ends with a blank line; keep-alive comments start with ':'.
            while let Some(end) = text.find("\n\n") {
                let msg: String = text.drain(..end + 2).collect();
                let mut kind = None;
                let mut data = String::new();
                for line in msg.lines() {
                    if let Some(k) = line.strip_prefix("event:") {
                        kind = Some(k.trim().to_owned());
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push_str(d.trim_start());
                    }
                }
                if kind.as_deref() == Some("next") {
                    let v: Value = serde_json::from_str(&data).expect("JSON data");
                    event = Some(v["data"]["repositoryEvents"].clone());
                    break 'commits;
                }
            }
        }
    }
    check(&event.expect("an event within 20 commits"), "sse", &commits);
    drop(body);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_answers_a_query_with_one_next_and_complete() {
    let server = TestServer::start().await;
    seed(&server.gql(), "q", &[("a.txt", "a\n")]).await;
    let res = http_client()
        .post(format!("{}/graphql/subscribe", server.base()))
        .header("accept", "text/event-stream")
        .json(&json!({"query": "{ repository(name: \"q\") { name } }"}))
        .send()
        .await
        .expect("an event stream");
    let text = tokio::time::timeout(Duration::from_secs(30), res.text())
        .await
        .expect("the stream ends")
        .expect("a body");
    let next = text.find("event: next").expect("a next event");
    let complete = text.find("event: complete").expect("a complete event");
    assert!(next < complete, "{text}");
    assert!(
        text.contains(r#"{"data":{"repository":{"name":"q"}}}"#),
        "{text}"
    );
    server.stop().await;
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A `graphql-transport-ws` connection, initialised with `payload` and acknowledged.
async fn connect(server: &TestServer, payload: Value) -> Ws {
    let mut req = format!("ws://{}/graphql", server.addr)
        .into_client_request()
        .expect("a request");
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("a header"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("a WebSocket");
    ws.send(Message::Text(
        json!({"type": "connection_init", "payload": payload})
            .to_string()
            .into(),
    ))
    .await
    .expect("init");
    let ack = next_json(&mut ws).await.expect("an ack");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    ws
}

/// The next text message as JSON, or `None` if none comes within a few seconds.
async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(3), ws.next())
            .await
            .ok()??
            .expect("a frame");
        if let Message::Text(t) = msg {
            return Some(serde_json::from_str(&t).expect("JSON"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_subscriber_authenticates_with_its_connection_init_payload() {
    const TOKEN: &str = "s3cret-s3cret-s3cret";
    let server = TestServer::with(|c| {
        c.service.tokens = vec![
            gitapi_service::TokenGrant::new(
                "ci",
                TOKEN,
                gitapi_service::Scope::Admin,
                vec![gitapi_service::RepoPattern::new("*").expect("a pattern")],
            )
            .expect("a grant"),
        ];
    })
    .await;
    seed(&server.gql().with_token(TOKEN), "auth", &[("a.txt", "a\n")]).await;
    let subscribe = json!({"id": "1", "type": "subscribe",
                           "payload": {"query": EVENTS, "variables": {"r": "auth"}}});

    // Without a token the subscription is refused with the table's code (an execution error:
    // a `next` with `errors`, after which the operation completes).
    let mut ws = connect(&server, json!({})).await;
    ws.send(Message::Text(subscribe.to_string().into()))
        .await
        .expect("subscribe");
    let refused = next_json(&mut ws).await.expect("an answer");
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(refused["payload"]["data"], Value::Null);
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    ws.close(None).await.expect("close");

    // With the token in `connection_init`, events arrive.
    let mut ws = connect(&server, json!({"Authorization": format!("Bearer {TOKEN}")})).await;
    ws.send(Message::Text(subscribe.to_string().into()))
        .await
        .expect("subscribe");
    let mut commits = Vec::new();
    let mut event = None;
    for n in 0..20 {
        commits.push(rest_commit_as(&server, "auth", n, Some(TOKEN)).await);
        if let Some(msg) = next_json(&mut ws).await {
            assert_eq!(msg["type"], "next", "{msg}");
            event = Some(msg["payload"]["data"]["repositoryEvents"].clone());
            break;
        }
    }
    check(
        &event.expect("an event within 20 commits"),
        "auth",
        &commits,
    );
    ws.close(None).await.expect("close");
    server.stop().await;
}
