//! The HTTP side of the door: `POST /graphql` and `GET /graphql` (GraphQL over HTTP), the
//! WebSocket upgrade on `GET /graphql` (`graphql-transport-ws`, and the older `graphql-ws`),
//! and `/graphql/subscribe` (graphql-sse, distinct connections mode).
//!
//! Each request gets the caller's headers ([`Caller`]) and its own commit loader as request
//! data; resolvers authenticate from the caller themselves.

use std::convert::Infallible;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::parser::types::OperationType;
use async_graphql::{Data, ServerError};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::extract::{FromRequest, FromRequestParts, Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;

use gitapi_service::RepoService;

use crate::GitapiSchema;
use crate::caller::Caller;
use crate::loader::commit_loader;

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct DoorState {
    pub(crate) schema: GitapiSchema,
    pub(crate) svc: RepoService,
}

impl std::fmt::Debug for DoorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DoorState").finish_non_exhaustive()
    }
}

/// The request data of one operation: its caller and its commit loader.
fn request_data(svc: &RepoService, caller: Caller) -> Data {
    let mut data = Data::default();
    data.insert(commit_loader(svc.clone(), caller.clone()));
    data.insert(caller);
    data
}

fn with_caller(
    st: &DoorState,
    headers: &HeaderMap,
    req: async_graphql::Request,
) -> async_graphql::Request {
    let caller = Caller::from_headers(headers);
    req.data(commit_loader(st.svc.clone(), caller.clone()))
        .data(caller)
}

/// `POST /graphql`: a query or a mutation.
pub(crate) async fn post(
    State(st): State<DoorState>,
    headers: HeaderMap,
    req: GraphQLRequest,
) -> GraphQLResponse {
    let req = with_caller(&st, &headers, req.into_inner());
    st.schema.execute(req).await.into()
}

/// Whether a GET asks for a WebSocket.
fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Whether a query document holds a mutation (which GET may not run).
fn has_mutation(query: &str) -> bool {
    async_graphql::parser::parse_query(query).is_ok_and(|doc| {
        doc.operations
            .iter()
            .any(|(_, op)| op.node.ty == OperationType::Mutation)
    })
}

/// `GET /graphql`: a WebSocket upgrade for subscriptions, the playground page for a browser
/// (HTML accepted, no query), or a query in the URL. A mutation
/// over GET is refused with 405, as GraphQL over HTTP prescribes.
pub(crate) async fn get(State(st): State<DoorState>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    if is_upgrade(&parts.headers) {
        let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &()).await {
            Ok(p) => p,
            Err(rejection) => return rejection.into_response(),
        };
        let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(u) => u,
            Err(rejection) => return rejection.into_response(),
        };
        let caller = Caller::from_headers(&parts.headers);
        let DoorState { schema, svc } = st;
        return upgrade
            .protocols(ALL_WEBSOCKET_PROTOCOLS)
            .on_upgrade(move |socket| {
                GraphQLWebSocket::new(socket, schema, protocol)
                    .on_connection_init(move |payload| async move {
                        Ok(request_data(&svc, caller.with_init_payload(&payload)))
                    })
                    .serve()
            });
    }
    if wants_page(&parts) {
        return gitapi_playground::page().await;
    }
    let headers = parts.headers.clone();
    let req = Request::from_parts(parts, body);
    let req = match <GraphQLRequest as FromRequest<()>>::from_request(req, &()).await {
        Ok(r) => r.into_inner(),
        Err(rejection) => return rejection.into_response(),
    };
    if has_mutation(&req.query) {
        return mutation_over_get();
    }
    let req = with_caller(&st, &headers, req);
    GraphQLResponse::from(st.schema.execute(req).await).into_response()
}

/// A browser opening `/graphql` (HTML accepted, no query in the URL) gets the playground.
fn wants_page(parts: &axum::http::request::Parts) -> bool {
    let no_query = parts
        .uri
        .query()
        .is_none_or(|q| !q.split('&').any(|p| p.starts_with("query=")));
    let html = parts
        .headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    no_query && html
}

/// A mutation over GET: `405` with a GraphQL error, as GraphQL over HTTP prescribes.
fn mutation_over_get() -> Response {
    let err = ServerError::new("a mutation must be sent with POST", None);
    let res = async_graphql::Response::from_errors(vec![err]);
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, "POST")],
        GraphQLResponse::from(res),
    )
        .into_response()
}

/// `/graphql/subscribe`: graphql-sse in distinct connections mode. Every result of the
/// operation is an `event: next` with the result as JSON in `data` (validation errors too);
/// the end is `event: complete`. Queries and mutations answer with one `next`, subscriptions
/// with one per event. A mutation over GET is refused with 405, as on `/graphql`.
pub(crate) async fn sse(
    State(st): State<DoorState>,
    method: Method,
    headers: HeaderMap,
    req: GraphQLRequest,
) -> Response {
    let req = req.into_inner();
    if method == Method::GET && has_mutation(&req.query) {
        return mutation_over_get();
    }
    let req = with_caller(&st, &headers, req);
    let results = st.schema.execute_stream(req).map(|res| {
        let json = serde_json::to_string(&res).unwrap_or_else(|_| "{}".to_owned());
        Ok::<_, Infallible>(Event::default().event("next").data(json))
    });
    let complete = futures::stream::once(async { Ok(Event::default().event("complete").data("")) });
    Sse::new(results.chain(complete))
        .keep_alive(KeepAlive::default())
        .into_response()
}
