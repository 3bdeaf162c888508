//! Live log and blame over WebSocket: the answer, then what changes as the branch moves.
//!
//! Each text message is one JSON [`LiveUpdate`] (`items`, `restart`, `synced`), or at the
//! end an `{"type": "error", "error": {...}}` with the REST error body. The server closes
//! with 1001 when it shuts down, 1008 when the client took no message for the configured
//! `slow_client` time (a slow client is dropped, never buffered without bound), and 1011
//! after an error. Messages from the client are ignored (pings are answered).

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use futures::stream::BoxStream;
use futures::{SinkExt as _, StreamExt as _};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use gitapi_core::{Error, Result};
use gitapi_service::{Door, LiveBlameQuery, LiveLogQuery, LiveUpdate};

use super::{branch, de, repo, repo_path};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Path, Query};
use crate::state::AppState;

/// The least time a close frame gets to reach a client.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live_log))
        .routes(routes!(live_blame))
}

/// What a live log follows.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct LiveLogParams {
    /// The branch to follow, short (`main`) or full (`refs/heads/main`); default: the
    /// repository's default branch.
    rev: Option<String>,
    /// Only commits that change this path.
    path: Option<String>,
    /// Only first parents (`1` or `true`).
    #[serde(default, deserialize_with = "de::flag")]
    first_parent: bool,
}

/// What a live blame follows.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct LiveBlameParams {
    /// The branch, short or full; default: the repository's default branch.
    rev: Option<String>,
    /// The file.
    path: String,
}

/// The upgrade, or a REST error when the request is no WebSocket handshake.
fn upgrade(
    ws: std::result::Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<WebSocketUpgrade> {
    ws.map_err(|r| {
        Error::invalid(format!(
            "this route is a WebSocket: connect with `Upgrade: websocket` ({})",
            r.body_text()
        ))
        .into()
    })
}

/// The log of a branch, then each new commit as the branch moves (WebSocket).
#[utoipa::path(get, path = "/v1/repos/{repo}/log/live", tag = "events",
    params(("repo" = String, Path, description = "repository name"), LiveLogParams),
    responses((status = 101, description = "a WebSocket of live updates (see docs/api.md)")))]
async fn live_log(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<LiveLogParams>,
    ws: std::result::Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let ws = upgrade(ws)?;
    let cx = who.through(Door::Stream);
    let name = repo(&name)?;
    let query = LiveLogQuery {
        follow: q.rev.as_deref().map(branch).transpose()?,
        path: q.path.as_deref().map(repo_path).transpose()?,
        first_parent: q.first_parent,
    };
    let updates = s.svc.live_log(&cx, &name, query).await?;
    let slow = s.svc.limits().slow_client;
    Ok(ws.on_upgrade(move |socket| pump(socket, updates, slow)))
}

/// The blame of a file on a branch, then the new blame each time the branch's move changes it
/// (WebSocket).
#[utoipa::path(get, path = "/v1/repos/{repo}/blame/live", tag = "events",
    params(("repo" = String, Path, description = "repository name"), LiveBlameParams),
    responses((status = 101, description = "a WebSocket of live updates (see docs/api.md)")))]
async fn live_blame(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<LiveBlameParams>,
    ws: std::result::Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let ws = upgrade(ws)?;
    let cx = who.through(Door::Stream);
    let name = repo(&name)?;
    let query = LiveBlameQuery {
        follow: q.rev.as_deref().map(branch).transpose()?,
        path: repo_path(&q.path)?,
    };
    let updates = s.svc.live_blame(&cx, &name, query).await?;
    let slow = s.svc.limits().slow_client;
    Ok(ws.on_upgrade(move |socket| pump(socket, updates, slow)))
}

/// Sends each update as a text message until the updates end, the client goes or is too
/// slow, reading (and dropping) what the client sends so pings and its close are answered.
async fn pump<T: Serialize>(
    socket: WebSocket,
    mut updates: BoxStream<'static, Result<LiveUpdate<T>>>,
    slow: Duration,
) {
    let (mut sink, mut incoming) = socket.split();
    let (code, reason) = loop {
        tokio::select! {
            next = updates.next() => {
                let (text, last) = match next {
                    Some(Ok(u)) => (serde_json::to_string(&u), None),
                    Some(Err(e)) => {
                        #[derive(Serialize)]
                        struct Failed<B> {
                            r#type: &'static str,
                            #[serde(flatten)]
                            body: B,
                        }
                        let body = ApiError::from(e).body();
                        let msg = serde_json::to_string(&Failed { r#type: "error", body });
                        (msg, Some((close_code::ERROR, "the stream failed; see the error message")))
                    }
                    None => break (close_code::AWAY, "the server is shutting down"),
                };
                let Ok(text) = text else {
                    break (close_code::ERROR, "an update could not be encoded");
                };
                match tokio::time::timeout(slow, sink.send(Message::Text(text.into()))).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return,
                    Err(_) => break (close_code::POLICY, "the client took no message in time: too slow"),
                }
                if let Some(last) = last {
                    break last;
                }
            }
            msg = incoming.next() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    };
    let close = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    // A client too slow to take messages cannot take the close either until it reads again:
    // the close waits behind what is already written. Give it a while (nothing more is
    // buffered meanwhile), then drop the connection.
    let _ = tokio::time::timeout(slow.max(CLOSE_GRACE), sink.send(close)).await;
}
