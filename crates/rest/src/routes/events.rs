//! Event streams as Server-Sent Events: every ref change and repository created or deleted
//! that the caller may read, numbered, with resumption from `Last-Event-ID`.
//!
//! Each event is one SSE message: `id:` its number, `event:` `ref` or `repository`, `data:`
//! its JSON (the service's [`gitapi_service::Event`]). When events were lost to the client (it
//! resumed from a number the server no longer keeps, or read too slowly) a `reset` message
//! says how many, carrying as its `id:` the number to resume after from there when it is
//! known: a client that mirrors state should read it again. Comments (`:`) are heartbeats.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use gitapi_core::Error;
use gitapi_service::{Change, Door, EventSubscription, RecvError};

use super::repo;
use crate::error::ApiResult;
use crate::extract::{Caller, Path, Query};
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(all_events))
        .routes(routes!(repo_events))
}

/// Where a stream starts.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsQuery {
    /// Resume after this event number, for clients that cannot send the `Last-Event-ID`
    /// header (the header wins when both are given).
    last_event_id: Option<String>,
}

/// The number to resume after: the `Last-Event-ID` header, else the query.
fn resume_after(headers: &HeaderMap, q: &EventsQuery) -> ApiResult<Option<u64>> {
    let given = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| Error::invalid("Last-Event-ID is not text"))?
                .to_owned(),
        ),
        None => q.last_event_id.clone(),
    };
    match given.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| {
            Error::invalid(format!("Last-Event-ID {s:?} is not an event number")).into()
        }),
    }
}

/// Every event of every repository the token may read, as Server-Sent Events.
#[utoipa::path(get, path = "/v1/events", tag = "events",
    params(
        ("last-event-id" = Option<String>, Header, description = "resume after this event number"),
        EventsQuery,
    ),
    responses((status = 200, content_type = "text/event-stream", body = String,
        description = "`ref`, `repository` and `reset` messages (see docs/api.md)")))]
async fn all_events(
    State(s): State<AppState>,
    Caller(who): Caller,
    Query(q): Query<EventsQuery>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let cx = who.through(Door::Stream);
    let sub = s.svc.subscribe(&cx, resume_after(&headers, &q)?);
    Ok(sse(sub, s.svc.event_heartbeat()))
}

/// Every event of one repository, as Server-Sent Events; needs read scope on it.
#[utoipa::path(get, path = "/v1/repos/{repo}/events", tag = "events",
    params(
        ("repo" = String, Path, description = "repository name"),
        ("last-event-id" = Option<String>, Header, description = "resume after this event number"),
        EventsQuery,
    ),
    responses((status = 200, content_type = "text/event-stream", body = String,
        description = "`ref`, `repository` and `reset` messages (see docs/api.md)")))]
async fn repo_events(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<EventsQuery>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let cx = who.through(Door::Stream);
    let sub = s
        .svc
        .subscribe_repo(&cx, &repo(&name)?, resume_after(&headers, &q)?)?;
    Ok(sse(sub, s.svc.event_heartbeat()))
}

/// The subscription as SSE messages, with heartbeats; it ends when the server shuts down.
fn sse(
    sub: EventSubscription,
    heartbeat: std::time::Duration,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let messages = futures::stream::unfold(sub, |mut sub| async move {
        let msg = match sub.recv().await {
            Ok(e) => {
                let kind = match &e.change {
                    Change::Ref(_) => "ref",
                    Change::Repo(_) => "repository",
                };
                SseEvent::default()
                    .id(e.id.to_string())
                    .event(kind)
                    .json_data(&e)
            }
            Err(RecvError::Lagged {
                missed,
                resume_after,
            }) => {
                let msg = SseEvent::default()
                    .event("reset")
                    .json_data(serde_json::json!({ "missed": missed }));
                match resume_after {
                    Some(id) => msg.map(|m| m.id(id.to_string())),
                    None => msg,
                }
            }
            Err(RecvError::Closed) => return None,
        };
        // Serializing an event cannot fail (plain strings and numbers); should it, the client
        // gets a comment rather than a broken stream.
        let msg = msg.unwrap_or_else(|e| SseEvent::default().comment(format!("error: {e}")));
        Some((Ok(msg), sub))
    });
    Sse::new(messages).keep_alive(KeepAlive::new().interval(heartbeat))
}
