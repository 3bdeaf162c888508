//! The API explorer: Swagger UI at [`DOCS`], reading the served `/openapi.json`.
//!
//! Every asset is compiled into the binary: `utoipa-swagger-ui` with its `vendored` feature
//! unpacks the Swagger UI copy inside its own crate at build time (no download), and the page
//! loads nothing but this server. Swagger UI's online validator, which would send the document
//! to `validator.swagger.io`, is turned off.

use axum::Router;
use utoipa_swagger_ui::{Config, SwaggerUi};

/// Where the explorer is served (`/docs` redirects to `/docs/`).
pub const DOCS: &str = "/docs";

/// The document the explorer reads.
const DOCUMENT: &str = "/openapi.json";

/// The explorer's routes: `/docs`, `/docs/` and its assets under `/docs/…`.
pub(crate) fn explorer<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let config = Config::from(DOCUMENT)
        .validator_url("none")
        .try_it_out_enabled(true)
        .display_request_duration(true)
        .filter(true);
    SwaggerUi::new(DOCS).config(config).into()
}
