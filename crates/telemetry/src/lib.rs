//! gitapi's telemetry: what an operator sees of a running server.
//!
//! - **Metrics** ([`metrics`]): every subsystem records through the `metrics` facade under
//!   the names in [`names`] (`gitapi_<subsystem>_<name>_<unit>`); [`metrics::prometheus`]
//!   installs the one process-wide Prometheus recorder that `GET /metrics` renders.
//! - **HTTP requests** ([`http`]): one layer per door records the request duration histogram
//!   by door, route template (never the raw path, which holds repository names and would grow
//!   the label set without bound), method, engine and status; and it gives every request an
//!   id (`x-request-id`, the client's when it is safe to log) that the response carries back.
//! - **Logs and traces** ([`tracing_setup`]): text or JSON log lines on stderr, each inside
//!   its request's span (so the request id is on every line), and, when configured, the same
//!   spans exported over OTLP.
//!
//! This crate knows no Git and no service types: the service records its operations through
//! [`names`] and [`http::note_operation`], and the server wires the layers to the doors.

pub mod http;
pub mod metrics;
pub mod names;
pub mod tracing_setup;

pub use http::{instrument, instrument_door, note_cache, note_operation};
pub use tracing_setup::{
    LogFormat, OtlpConfig, TelemetryConfig, TelemetryError, TelemetryGuard, init,
};
