//! The GraphiQL playground of gitapi's GraphQL door, served by gitapi itself: the page at
//! `GET /graphql/playground` and its assets under `/graphql/playground/…`, all compiled into
//! the binary, so the playground works with no internet access (no script, style or font
//! comes from a CDN, and the page's `Content-Security-Policy` allows only this server).
//!
//! The assets are GraphiQL, React and React DOM from npm at the versions in
//! `assets/VERSIONS`, vendored gzipped by `scripts/vendor-graphiql.sh` (their licenses are in
//! `assets/licenses/`), plus `assets/init.js`, which starts GraphiQL against `/graphql`.
#![deny(missing_docs)]

use std::io::Read as _;

use axum::Router;
use axum::extract::Path;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Where the page is served.
pub const PATH: &str = "/graphql/playground";

/// What the page may load: only this server (inline styles are GraphiQL's own; fonts and
/// icons are data URIs inside its stylesheet).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
                   frame-ancestors 'none'";

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gitapi GraphQL playground</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/graphql/playground/graphiql.css">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading the playground…</div>
<script src="/graphql/playground/react.js"></script>
<script src="/graphql/playground/react-dom.js"></script>
<script src="/graphql/playground/graphiql.js"></script>
<script src="/graphql/playground/init.js"></script>
</body>
</html>
"#;

/// One vendored asset: its gzipped bytes and content type.
struct Asset {
    gz: &'static [u8],
    content_type: &'static str,
}

fn asset(name: &str) -> Option<Asset> {
    let (gz, content_type): (&'static [u8], _) = match name {
        "graphiql.js" => (
            include_bytes!("../assets/graphiql.js.gz"),
            "text/javascript; charset=utf-8",
        ),
        "graphiql.css" => (
            include_bytes!("../assets/graphiql.css.gz"),
            "text/css; charset=utf-8",
        ),
        "react.js" => (
            include_bytes!("../assets/react.js.gz"),
            "text/javascript; charset=utf-8",
        ),
        "react-dom.js" => (
            include_bytes!("../assets/react-dom.js.gz"),
            "text/javascript; charset=utf-8",
        ),
        _ => return None,
    };
    Some(Asset { gz, content_type })
}

/// The page's routes, for any router state.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(PATH, get(page))
        .route("/graphql/playground/{file}", get(file))
}

/// The playground page.
pub async fn page() -> Response {
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CONTENT_SECURITY_POLICY, CSP),
            (CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
        .into_response()
}

async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    if name == "init.js" {
        return (
            [
                (CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (CACHE_CONTROL, "no-cache"),
            ],
            include_str!("../assets/init.js"),
        )
            .into_response();
    }
    let Some(a) = asset(&name) else {
        return (StatusCode::NOT_FOUND, "no such playground asset\n").into_response();
    };
    let gzip_ok = headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    // Vendored versions change only with the binary; a day of caching is safe.
    let common = [
        (CONTENT_TYPE, HeaderValue::from_static(a.content_type)),
        (
            CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=86400"),
        ),
        (VARY, HeaderValue::from_static("accept-encoding")),
    ];
    if gzip_ok {
        return (
            common,
            [(CONTENT_ENCODING, HeaderValue::from_static("gzip"))],
            a.gz,
        )
            .into_response();
    }
    // A client that takes no gzip (rare: every browser does) gets the plain bytes.
    let mut plain = Vec::new();
    match flate2::read::GzDecoder::new(a.gz).read_to_end(&mut plain) {
        Ok(_) => (common, plain).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "a vendored asset is damaged\n",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    async fn get(uri: &str, gzip: bool) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut req = Request::builder().uri(uri);
        if gzip {
            req = req.header(ACCEPT_ENCODING, "gzip, br");
        }
        let res = routes::<()>()
            .oneshot(req.body(Body::empty()).expect("a request"))
            .await
            .expect("infallible");
        let (status, headers) = (res.status(), res.headers().clone());
        let body = res.into_body().collect().await.expect("a body").to_bytes();
        (status, headers, body.to_vec())
    }

    #[tokio::test]
    async fn every_script_and_style_the_page_names_is_served_from_here() {
        let (status, headers, page) = get(PATH, false).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers[CONTENT_SECURITY_POLICY]
                .to_str()
                .is_ok_and(|c| c.contains("default-src 'self'"))
        );
        let page = String::from_utf8(page).expect("text");
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "nothing from elsewhere"
        );
        for src in page
            .split('"')
            .filter(|s| s.starts_with("/graphql/playground/"))
        {
            let (status, headers, gz) = get(src, true).await;
            assert_eq!(status, StatusCode::OK, "{src}");
            let (_, _, plain) = get(src, false).await;
            if src.ends_with("init.js") {
                assert_eq!(gz, plain);
                continue;
            }
            assert_eq!(headers[CONTENT_ENCODING], "gzip", "{src}");
            let mut unpacked = Vec::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_end(&mut unpacked)
                .expect("gzip");
            assert_eq!(unpacked, plain, "{src}");
            assert!(plain.len() > 1000, "{src} has content");
        }
        assert_eq!(
            get("/graphql/playground/x.js", true).await.0,
            StatusCode::NOT_FOUND
        );
    }
}
