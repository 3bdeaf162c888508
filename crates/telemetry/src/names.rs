//! Every metric gitapi records, in one place: `gitapi_<subsystem>_<name>_<unit>`, as
//! Prometheus names them (`_seconds`, `_bytes`, `_total` for counters). Labels never carry
//! repository names, raw paths or other client strings: each label has a small, fixed set
//! of values, so a scrape stays the same size however many repositories are served.

/// Histogram: one HTTP request, from its head to the end of its response body.
/// Labels: `door`, `route` (the route template, or the RPC's path), `method`, `engine`,
/// `status` (the HTTP status; for gRPC, the `grpc-status` code).
pub const HTTP_REQUEST_DURATION: &str = "gitapi_http_request_duration_seconds";

/// Histogram: one service operation, from its lock to its end. Labels: `op`, `kind`
/// (read, write, maintenance, transfer), `engine`, `status` (`ok` or the error code).
pub const OPERATION_DURATION: &str = "gitapi_operation_duration_seconds";
/// Histogram: time an operation waited for its repository's lock. Labels: `kind`.
pub const LOCK_WAIT: &str = "gitapi_lock_wait_seconds";
/// Gauge: operations holding an engine lease now. Labels: `engine`.
pub const ENGINE_IN_FLIGHT: &str = "gitapi_engine_in_flight_operations";

/// Counter: cache lookups answered by a level. Labels: `level` (memory, store, redis).
pub const CACHE_HITS: &str = "gitapi_cache_hits_total";
/// Counter: cache lookups a level could not answer. Labels: `level`.
pub const CACHE_MISSES: &str = "gitapi_cache_misses_total";
/// Counter: writes a level's full queue dropped. Labels: `level`.
pub const CACHE_WRITES_DROPPED: &str = "gitapi_cache_writes_dropped_total";
/// Gauge: bytes a level holds (keys and values). Labels: `level`.
pub const CACHE_BYTES: &str = "gitapi_cache_bytes";
/// Gauge: entries a level holds. Labels: `level`.
pub const CACHE_ENTRIES: &str = "gitapi_cache_entries";

/// Counter: read answers compared by the canary. Labels: `op`.
pub const CANARY_SAMPLES: &str = "gitapi_canary_samples_total";
/// Counter: canary comparisons where the engines disagreed. Labels: `op`.
pub const CANARY_MISMATCHES: &str = "gitapi_canary_mismatches_total";

/// Counter: git processes started. Labels: `subcommand`.
pub const GIT_PROCESSES_STARTED: &str = "gitapi_git_processes_started_total";

/// Gauge, always 1: the running build. Labels: `version`.
pub const BUILD_INFO: &str = "gitapi_build_info";
