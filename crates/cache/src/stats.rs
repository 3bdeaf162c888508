//! Hit, miss and drop counts of each level, kept twice: in atomics for [`Cache::stats`] and in
//! the `metrics` facade for Prometheus.
//!
//! [`Cache::stats`]: crate::Cache::stats

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What one level has seen since the cache was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelStats {
    /// "memory", "store" or "redis".
    pub name: &'static str,
    /// Lookups this level answered.
    pub hits: u64,
    /// Lookups that reached this level and found nothing (including Redis timeouts and errors).
    pub misses: u64,
    /// Writes dropped because the level's queue was full or its write failed.
    pub writes_dropped: u64,
    /// Entries held, where that is cheap to know (not for Redis).
    pub entries: Option<u64>,
    /// Bytes of keys and values held, where that is cheap to know (not for Redis).
    pub bytes: Option<u64>,
}

/// The counters of one level. Each event goes to the atomics and to the metrics facade; the
/// facade is asked for the counter on every event (a registry lookup when a recorder is
/// installed) so that a recorder installed after the cache opened still sees everything.
#[derive(Debug)]
pub(crate) struct LevelCounters {
    pub(crate) name: &'static str,
    hits: AtomicU64,
    misses: AtomicU64,
    dropped: AtomicU64,
}

impl LevelCounters {
    pub(crate) fn new(name: &'static str) -> Self {
        Self {
            name,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    pub(crate) fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("gitapi_cache_hits_total", "level" => self.name).increment(1);
    }

    pub(crate) fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("gitapi_cache_misses_total", "level" => self.name).increment(1);
    }

    pub(crate) fn dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
        metrics::counter!("gitapi_cache_writes_dropped_total", "level" => self.name).increment(n);
    }

    pub(crate) fn set_size(&self, entries: u64, bytes: u64) {
        // Gauges are f64; a cache's sizes are far below 2^53, where the conversion is exact.
        #[allow(clippy::cast_precision_loss)]
        {
            metrics::gauge!("gitapi_cache_entries", "level" => self.name).set(entries as f64);
            metrics::gauge!("gitapi_cache_bytes", "level" => self.name).set(bytes as f64);
        }
    }

    pub(crate) fn snapshot(&self, entries: Option<u64>, bytes: Option<u64>) -> LevelStats {
        LevelStats {
            name: self.name,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            writes_dropped: self.dropped.load(Ordering::Relaxed),
            entries,
            bytes,
        }
    }
}

/// Lets a repeated failure (Redis down, disk full) log once per interval instead of once per
/// request, which would flood the log exactly when it is read.
#[derive(Debug)]
pub(crate) struct WarnLimiter {
    start: Instant,
    interval: Duration,
    // Milliseconds since `start` of the last warning, plus one so that 0 means "never".
    last_ms: AtomicU64,
}

impl WarnLimiter {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            start: Instant::now(),
            interval,
            last_ms: AtomicU64::new(0),
        }
    }

    /// Whether the caller should log now; true at most once per interval.
    pub(crate) fn allow(&self) -> bool {
        let now = u64::try_from(self.start.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let last = self.last_ms.load(Ordering::Relaxed);
        let interval = u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX);
        if last != 0 && now.saturating_sub(last) < interval {
            return false;
        }
        // Of several threads failing at once, only the one that moves the mark logs.
        self.last_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warn_limiter_allows_once_per_interval() {
        let limiter = WarnLimiter::new(Duration::from_secs(3600));
        assert!(limiter.allow());
        assert!(!limiter.allow());
        let limiter = WarnLimiter::new(Duration::ZERO);
        assert!(limiter.allow());
        assert!(limiter.allow());
    }
}
