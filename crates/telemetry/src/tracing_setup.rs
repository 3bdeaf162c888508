//! Logs and traces: the process's `tracing` subscriber.
//!
//! Log lines go to stderr as text (the default) or one JSON object per line, filtered by
//! `RUST_LOG` (default `info`); each line carries the spans it was written in, so the
//! request's id is on it. With [`OtlpConfig`], the same spans are exported over OTLP/gRPC in
//! batches; [`TelemetryGuard::shutdown`] sends what is still queued before the process ends.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, with the current span and its parents.
    Json,
}

/// Where traces are exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpConfig {
    /// The collector's OTLP/gRPC endpoint, e.g. `http://127.0.0.1:4317`.
    pub endpoint: String,
    /// The `service.name` resource attribute.
    pub service_name: String,
}

/// The logging and tracing set-up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// How log lines are written.
    pub log_format: LogFormat,
    /// OTLP trace export; `None` exports nothing.
    pub otlp: Option<OtlpConfig>,
}

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built (a bad endpoint).
    #[error("building the OTLP exporter for {endpoint:?} failed: {message}")]
    Otlp {
        /// The configured endpoint.
        endpoint: String,
        /// Why.
        message: String,
    },
    /// A subscriber was installed already.
    #[error("a tracing subscriber is already installed")]
    AlreadyInstalled,
}

/// Keeps the trace exporter alive; [`shutdown`](Self::shutdown) flushes it.
#[derive(Debug, Default)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Sends the spans still queued and stops the exporter (a no-op without OTLP). Call it
    /// after the server has drained, so the last requests' spans are exported.
    pub fn shutdown(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("gitapi: flushing the OTLP exporter failed: {error}");
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Installs the process's subscriber: logs as `config` says, and OTLP export when configured.
/// Must run inside a Tokio runtime when OTLP is configured (the gRPC exporter's channel lives
/// on it).
pub fn init(config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = match config.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter())
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(std::io::stderr)
            .with_filter(filter())
            .boxed(),
    };
    let (traces, provider) = match &config.otlp {
        None => (None, None),
        Some(otlp) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(otlp.endpoint.clone())
                .build()
                .map_err(|e| TelemetryError::Otlp {
                    endpoint: otlp.endpoint.clone(),
                    message: e.to_string(),
                })?;
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(
                    Resource::builder()
                        .with_service_name(otlp.service_name.clone())
                        .build(),
                )
                .build();
            let tracer = provider.tracer("gitapi");
            // Spans at `info` and above: the request and operation spans, not engine detail.
            let layer = tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(EnvFilter::new("info"));
            (Some(layer), Some(provider))
        }
    };
    tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)?;
    Ok(TelemetryGuard { provider })
}
