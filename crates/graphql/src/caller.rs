//! The caller of a GraphQL request: the `Authorization` header and the client's
//! `X-Request-Id`, kept as sent so that every resolver authenticates through the service's one
//! function ([`RepoService::authenticate`], the same the REST door's `Caller` calls) and builds
//! its own [`CallContext`]. There is no caller deadline header in REST, so there is none here:
//! the service applies its own deadline.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

use gitapi_core::Result;
use gitapi_service::{CallContext, Door, RepoService, RequestId};

/// What a request says about its caller, before authentication.
#[derive(Debug, Clone, Default)]
pub(crate) struct Caller {
    authorization: Option<Vec<u8>>,
    request_id: Option<String>,
}

impl Caller {
    /// The caller of an HTTP request (or of a WebSocket's upgrade request).
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        Self {
            authorization: headers.get(AUTHORIZATION).map(|v| v.as_bytes().to_vec()),
            request_id: headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        }
    }

    /// A caller with a token from a WebSocket's `connection_init` payload
    /// (`{"Authorization": "Bearer …"}`, as graphql-ws clients send `connectionParams`),
    /// which replaces the upgrade request's header when present.
    pub(crate) fn with_init_payload(mut self, payload: &serde_json::Value) -> Self {
        let token = ["Authorization", "authorization"]
            .iter()
            .find_map(|k| payload.get(*k).and_then(|v| v.as_str()));
        if let Some(t) = token {
            self.authorization = Some(t.as_bytes().to_vec());
        }
        self
    }

    /// Authenticates the caller and builds the call context of one resolver.
    pub(crate) fn context(&self, svc: &RepoService) -> Result<CallContext> {
        let who = svc.authenticate(self.authorization.as_deref())?;
        Ok(CallContext::new(who, Door::GraphQl)
            .with_request_id(RequestId::from_client(self.request_id.as_deref())))
    }
}
