//! `GET /`: where to start. A browser (`Accept: text/html`) gets a short page linking the API
//! explorer, the OpenAPI document, the GraphQL playground and the health checks; any other
//! client gets the same links as JSON.

use axum::Router;
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

/// The links of the index, `(name, path, what it is)`.
const LINKS: [(&str, &str, &str); 6] = [
    (
        "docs",
        "/docs/",
        "the API explorer (Swagger UI over the OpenAPI document)",
    ),
    (
        "openapi",
        "/openapi.json",
        "the OpenAPI 3.1 document of the REST API",
    ),
    ("graphql", "/graphql", "the GraphQL endpoint"),
    (
        "graphqlPlayground",
        "/graphql/playground",
        "the GraphQL playground",
    ),
    ("healthz", "/healthz", "liveness"),
    ("readyz", "/readyz", "readiness"),
];

/// The index route, for any router state.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/", axum::routing::get(index))
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("text/html"))
}

async fn index(headers: HeaderMap) -> Response {
    let version = env!("CARGO_PKG_VERSION");
    let no_cache = (CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if wants_html(&headers) {
        let items: String = LINKS
            .iter()
            .map(|(_, path, what)| format!("<li><a href=\"{path}\">{path}</a>: {what}</li>\n"))
            .collect();
        let page = format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>gitapi</title>\n</head>\n<body>\n<h1>gitapi {version}</h1>\n\
             <p>Every Git operation over REST, gRPC, GraphQL and Smart HTTP. Start with the \
             <a href=\"/docs/\">API explorer</a>.</p>\n<ul>\n{items}</ul>\n</body>\n</html>\n"
        );
        let html = (
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        return ([html, no_cache], page).into_response();
    }
    let links: serde_json::Map<String, serde_json::Value> = LINKS
        .iter()
        .map(|(name, path, _)| ((*name).to_owned(), serde_json::Value::from(*path)))
        .collect();
    let body = serde_json::json!({"name": "gitapi", "version": version, "links": links});
    ([no_cache], axum::Json(body)).into_response()
}
