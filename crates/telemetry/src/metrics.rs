//! The Prometheus registry: one recorder per process, whatever number of servers it runs.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::names;

/// Bucket bounds of every `_seconds` histogram: from 50 µs (a cached read) to a minute
/// (a long maintenance step), about three per decade, so the read target (1 ms p99) and the
/// write target (50 ms p99) each sit on a bound.
const SECONDS_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The process-wide Prometheus recorder, installed on first use. `None` when another
/// `metrics` recorder was installed first (an embedding program's own): then gitapi's
/// metrics go there and `/metrics` has nothing to render.
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)
                .map_err(|e| tracing::error!(error = %e, "metrics: bad histogram buckets"))
                .ok()?;
            let handle = builder
                .install_recorder()
                .map_err(|e| tracing::warn!(error = %e, "metrics: a recorder is already installed"))
                .ok()?;
            describe();
            ::metrics::gauge!(names::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            // Histograms keep their samples until the next render: drain them regularly so
            // a server nobody scrapes does not grow.
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let upkeep = handle.clone();
                rt.spawn(async move {
                    let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
                    loop {
                        tick.tick().await;
                        upkeep.run_upkeep();
                    }
                });
            }
            Some(handle)
        })
        .as_ref()
}

/// The text `GET /metrics` answers (Prometheus exposition format 0.0.4).
pub fn render() -> String {
    prometheus()
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}

/// Help lines for every metric, so `promtool check metrics` and readers know what each is.
fn describe() {
    use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        names::HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "HTTP requests by door, route template, method, engine and status"
    );
    describe_histogram!(
        names::OPERATION_DURATION,
        Unit::Seconds,
        "Service operations by operation, kind, engine and status"
    );
    describe_histogram!(
        names::LOCK_WAIT,
        Unit::Seconds,
        "Time operations waited for their repository's lock, by kind"
    );
    describe_gauge!(
        names::ENGINE_IN_FLIGHT,
        "Operations holding an engine lease, by engine"
    );
    describe_counter!(names::CACHE_HITS, "Cache lookups answered, by level");
    describe_counter!(
        names::CACHE_WRITES_DROPPED,
        "Cache writes dropped because a level's queue was full, by level"
    );
    describe_gauge!(
        names::CACHE_BYTES,
        Unit::Bytes,
        "Bytes of keys and values a cache level holds, by level"
    );
    describe_gauge!(
        names::CACHE_ENTRIES,
        "Entries a cache level holds, by level"
    );
    describe_counter!(names::CACHE_MISSES, "Cache lookups not answered, by level");
    describe_counter!(
        names::CANARY_SAMPLES,
        "Read answers the canary compared with the other engine, by operation"
    );
    describe_counter!(
        names::CANARY_MISMATCHES,
        "Canary comparisons where the engines disagreed, by operation"
    );
    describe_counter!(
        names::GIT_PROCESSES_STARTED,
        "git processes started, by subcommand"
    );
    describe_gauge!(names::BUILD_INFO, "The running build (always 1)");
}
