//! The state every handler shares.

use std::sync::Arc;

use gitapi_service::RepoService;

/// Shared by every handler: cheap to clone (`Arc`s inside).
#[derive(Debug, Clone)]
pub struct AppState {
    /// The one entry point to the engines.
    pub svc: RepoService,
    /// The rendered OpenAPI document.
    pub openapi: Arc<bytes::Bytes>,
}
