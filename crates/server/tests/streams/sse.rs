//! Server-Sent Events: resumption with `Last-Event-ID`, the `reset` message, read scopes,
//! heartbeats and shutdown.

use std::time::Duration;

use crate::common::{EventStream, Message, Server, ZERO};

/// The ref events of `main` in `msgs`: (id, new oid).
fn main_moves(msgs: &[Message]) -> Vec<(u64, String)> {
    msgs.iter()
        .filter(|m| m.event == "ref" && m.data["ref"] == "refs/heads/main")
        .map(|m| {
            let id = m.id.as_deref().and_then(|i| i.parse().ok()).expect("an id");
            assert_eq!(m.data["id"].as_u64(), Some(id), "the id is in the data too");
            (id, m.data["new"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

async fn take(stream: &mut EventStream, n: usize) -> Vec<Message> {
    let mut out = Vec::new();
    while out.len() < n {
        match stream.next().await {
            Some(m) => out.push(m),
            None => panic!("only {} of {n} messages came: {out:?}", out.len()),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reconnects_with_last_event_id_gets_every_missed_event_once_in_order() {
    let s = Server::start("version = 1\n").await;
    s.create_repo("r", None).await;
    let mut stream = EventStream::open(&s, "/v1/repos/r/events", None, None).await;
    let mut tip = ZERO.to_owned();
    let mut made = Vec::new();
    for i in 0..3 {
        tip = s.commit("r", &tip, "f.txt", &format!("{i}\n"), None).await;
        made.push(tip.clone());
    }
    let first = main_moves(&take(&mut stream, 3).await);
    assert_eq!(
        first.iter().map(|(_, o)| o.clone()).collect::<Vec<_>>(),
        made
    );
    let last_seen = first.last().map(|(id, _)| *id).expect("an event");
    drop(stream);

    // Missed while away.
    let mut missed = Vec::new();
    for i in 3..8 {
        tip = s.commit("r", &tip, "f.txt", &format!("{i}\n"), None).await;
        missed.push(tip.clone());
    }
    let mut again =
        EventStream::open(&s, "/v1/repos/r/events", Some(&last_seen.to_string()), None).await;
    let replayed = main_moves(&take(&mut again, 5).await);
    assert_eq!(
        replayed.iter().map(|(_, o)| o.clone()).collect::<Vec<_>>(),
        missed,
        "every missed event, in order"
    );
    assert!(
        replayed.windows(2).all(|w| w[0].0 < w[1].0) && replayed[0].0 > last_seen,
        "ids increase: {replayed:?}"
    );
    // Then live ones, and nothing twice.
    let live = s.commit("r", &tip, "f.txt", "live\n", None).await;
    let next = main_moves(&take(&mut again, 1).await);
    assert_eq!(next[0].1, live);
    assert!(next[0].0 > replayed[4].0);
    assert_eq!(again.next_within(Duration::from_millis(300)).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_beyond_the_replay_buffer_gets_a_reset_then_what_is_kept() {
    let s = Server::start("version = 1\n[events]\nreplay = 2\n").await;
    s.create_repo("r", None).await;
    let mut stream = EventStream::open(&s, "/v1/events", None, None).await;
    let mut tip = s.commit("r", ZERO, "f.txt", "0\n", None).await;
    let seen = take(&mut stream, 1).await;
    let last_seen: u64 = seen[0]
        .id
        .as_deref()
        .and_then(|i| i.parse().ok())
        .expect("id");
    drop(stream);
    let mut oids = Vec::new();
    for i in 1..6 {
        tip = s.commit("r", &tip, "f.txt", &format!("{i}\n"), None).await;
        oids.push(tip.clone());
    }
    let mut again = EventStream::open(&s, "/v1/events", Some(&last_seen.to_string()), None).await;
    let msgs = take(&mut again, 3).await;
    assert_eq!(msgs[0].event, "reset", "{msgs:?}");
    assert_eq!(msgs[0].data["missed"], 3);
    let kept = main_moves(&msgs[1..]);
    assert_eq!(
        kept.iter().map(|(_, o)| o.clone()).collect::<Vec<_>>(),
        oids[3..].to_vec()
    );
    // The reset's id is where to resume from: just before the first kept event.
    let reset_id: u64 = msgs[0]
        .id
        .as_deref()
        .and_then(|i| i.parse().ok())
        .expect("id");
    assert_eq!(reset_id + 1, kept[0].0);

    // A number from no sequence of this server: a reset with nothing known missed.
    let mut odd = EventStream::open(&s, "/v1/events", Some("18446744073709551000"), None).await;
    let msg = odd.next().await.expect("a reset");
    assert_eq!(
        (msg.event.as_str(), &msg.data["missed"]),
        ("reset", &0.into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_scoped_to_a_star_receives_nothing_about_b() {
    let s = Server::start(
        r#"version = 1
[[tokens]]
name = "admin"
token = "admin-secret-0123456789"
scopes = ["read", "write", "admin"]
repos = ["*"]
[[tokens]]
name = "reader"
token = "reader-secret-0123456789"
scopes = ["read"]
repos = ["a*"]
"#,
    )
    .await;
    let (admin, reader) = (
        Some("admin-secret-0123456789"),
        Some("reader-secret-0123456789"),
    );
    let mut all = EventStream::open(&s, "/v1/events", None, reader).await;
    let res = s
        .http
        .get(s.url("/v1/repos/b/events"))
        .bearer_auth("reader-secret-0123456789")
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), 403);
    let res = s.http.get(s.url("/v1/events")).send().await.expect("GET");
    assert_eq!(res.status(), 401);

    // b first, then alpha: by the time alpha's events arrive, b's would have.
    s.create_repo("b", admin).await;
    s.commit("b", ZERO, "secret.txt", "b\n", admin).await;
    s.create_repo("alpha", admin).await;
    let oid = s.commit("alpha", ZERO, "f.txt", "a\n", admin).await;
    let msgs = take(&mut all, 2).await;
    assert_eq!(
        (
            msgs[0].event.as_str(),
            &msgs[0].data["repo"],
            &msgs[0].data["kind"]
        ),
        ("repository", &"alpha".into(), &"created".into())
    );
    assert_eq!(msgs[1].data["new"], oid.as_str());
    assert!(msgs.iter().all(|m| m.data["repo"] == "alpha"), "{msgs:?}");
    assert_eq!(all.next_within(Duration::from_millis(300)).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_streams_get_heartbeats_and_do_not_hold_up_shutdown() {
    let s = Server::start("version = 1\n[events]\nheartbeat_secs = 1\n").await;
    let mut stream = EventStream::open(&s, "/v1/events", None, None).await;
    // No event comes; within a few seconds heartbeats (comments) do.
    assert_eq!(stream.next_within(Duration::from_millis(2500)).await, None);
    assert!(stream.comments >= 1, "no heartbeat came");
    assert!(s.stop().await, "the server drained with a stream open");
    assert_eq!(stream.next().await, None, "the stream ended");
}
