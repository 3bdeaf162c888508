//! Server administration: which engine serves, switching it while serving, and the canary.

use std::collections::BTreeMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use gitapi_service::{CanaryConfig, CanaryMode, EngineKind, SwitchStatus};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Json};
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_backend, put_backend))
}

/// The canary: a sampled share of requests compared with (shadow) or sent to (route) the
/// engine that is not serving.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CanaryBody {
    /// The sampled share, 0 to 1 (default 0.01).
    fraction: f64,
    /// `shadow`: sampled reads also run on the other engine and are compared; `route`: sampled
    /// requests (reads and writes) run on the other engine instead.
    #[schema(example = "shadow")]
    mode: String,
}

/// What to change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct BackendBody {
    /// `libgit2` or `shell`: the engine for new requests (requests in flight finish where they
    /// started).
    backend: Option<String>,
    /// New canary settings.
    canary: Option<CanaryBody>,
}

/// The engine switch's state.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BackendStatus {
    /// The engine new requests go to.
    backend: String,
    /// When it started serving (seconds since the Unix epoch).
    switched_at: u64,
    /// Switches since start.
    switches: u64,
    /// Requests in flight, per engine.
    in_flight: BTreeMap<String, usize>,
    /// Requests served, per engine, since start.
    served: BTreeMap<String, u64>,
    /// The canary's settings.
    canary: CanaryBody,
    /// Reads the canary compared, per operation.
    canary_compared: BTreeMap<String, u64>,
    /// Mismatches the canary found, per operation (`gitapi_canary_mismatches_total{op}`).
    canary_mismatches: BTreeMap<String, u64>,
    /// Samples dropped because the repository changed between the two answers.
    canary_inconclusive: u64,
}

fn mode_name(m: CanaryMode) -> &'static str {
    match m {
        CanaryMode::Shadow => "shadow",
        CanaryMode::Route => "route",
    }
}

impl From<SwitchStatus> for BackendStatus {
    fn from(s: SwitchStatus) -> Self {
        let by_name = |m: BTreeMap<EngineKind, u64>| {
            m.into_iter()
                .map(|(k, v)| (k.as_str().to_owned(), v))
                .collect()
        };
        Self {
            backend: s.backend.as_str().to_owned(),
            switched_at: s
                .switched_at
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            switches: s.switches,
            in_flight: s
                .in_flight
                .into_iter()
                .map(|(k, v)| (k.as_str().to_owned(), v))
                .collect(),
            served: by_name(s.served),
            canary: CanaryBody {
                fraction: s.canary.fraction,
                mode: mode_name(s.canary.mode).to_owned(),
            },
            canary_compared: s.canary_compared,
            canary_mismatches: s.canary_mismatches,
            canary_inconclusive: s.canary_inconclusive,
        }
    }
}

/// Which engine serves, since when, requests in flight per engine, and the canary's counts.
/// Needs admin scope on every repository.
#[utoipa::path(get, path = "/v1/admin/backend", tag = "admin",
    responses((status = 200, body = BackendStatus)))]
async fn get_backend(
    State(s): State<AppState>,
    Caller(who): Caller,
) -> ApiResult<Json<BackendStatus>> {
    Ok(Json(s.svc.backend_status(&who)?.into()))
}

/// Switches the engine for new requests and/or changes the canary, while serving: requests in
/// flight finish on the engine they started on. Needs admin scope on every repository.
#[utoipa::path(put, path = "/v1/admin/backend", tag = "admin", request_body = BackendBody,
    responses((status = 200, body = BackendStatus)))]
async fn put_backend(
    State(s): State<AppState>,
    Caller(who): Caller,
    Json(body): Json<BackendBody>,
) -> ApiResult<Json<BackendStatus>> {
    let backend = body
        .backend
        .as_deref()
        .map(str::parse::<EngineKind>)
        .transpose()
        .map_err(ApiError::from)?;
    let canary = match body.canary {
        None => None,
        Some(c) => Some(CanaryConfig {
            fraction: c.fraction,
            mode: match c.mode.as_str() {
                "shadow" => CanaryMode::Shadow,
                "route" => CanaryMode::Route,
                other => {
                    return Err(ApiError::from(gitapi_core::Error::invalid(format!(
                        "canary mode {other:?} is not shadow or route"
                    ))));
                }
            },
        }),
    };
    Ok(Json(s.svc.set_backend(&who, backend, canary)?.into()))
}
