//! The memory level: a moka cache bounded by the bytes of its keys and values.

use bytes::Bytes;

use crate::stats::{LevelCounters, LevelStats};

#[derive(Debug)]
pub(crate) struct MemoryLevel {
    // Keys are `Bytes` so one copy of a caller's key is shared by every level it is written to,
    // and `Bytes: Borrow<[u8]>` lets a lookup take the caller's slice without copying it.
    entries: moka::sync::Cache<Bytes, Bytes>,
    pub(crate) counters: LevelCounters,
}

impl MemoryLevel {
    pub(crate) fn new(max_bytes: u64) -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &Bytes, value: &Bytes| {
                u32::try_from(key.len().saturating_add(value.len())).unwrap_or(u32::MAX)
            })
            .build();
        Self {
            entries,
            counters: LevelCounters::new("memory"),
        }
    }

    /// A hit costs a hash, moka's bookkeeping and a reference-count increment; nothing waits.
    pub(crate) fn get(&self, key: &[u8]) -> Option<Bytes> {
        let found = self.entries.get(key);
        match found {
            Some(_) => self.counters.hit(),
            None => self.counters.miss(),
        }
        found
    }

    /// Keeps `value` unless it is over [`crate::MAX_MEMORY_ENTRY_BYTES`] (then the lower
    /// levels alone keep it, and a hit there does not bring it up here either).
    pub(crate) fn insert(&self, key: Bytes, value: Bytes) {
        if value.len() > crate::MAX_MEMORY_ENTRY_BYTES {
            return;
        }
        self.entries.insert(key, value);
        // Both are plain reads of moka's counters, so the gauges stay current at no real cost.
        self.counters
            .set_size(self.entries.entry_count(), self.entries.weighted_size());
    }

    pub(crate) fn stats(&self) -> LevelStats {
        // Evictions are applied lazily by moka; settle them so the figures are not stale.
        self.entries.run_pending_tasks();
        let (entries, bytes) = (self.entries.entry_count(), self.entries.weighted_size());
        self.counters.set_size(entries, bytes);
        self.counters.snapshot(Some(entries), Some(bytes))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use metrics::{
        Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };

    use super::*;

    /// Notes which metrics are registered, as `name{label=value}`.
    #[derive(Debug, Default)]
    struct Registrations(Mutex<Vec<String>>);

    impl Registrations {
        fn note(&self, key: &Key) {
            let labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            self.0.lock().expect("not poisoned").push(name);
        }
    }

    impl Recorder for Registrations {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            self.note(key);
            Counter::noop()
        }
        fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
            self.note(key);
            Gauge::noop()
        }
        fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
            self.note(key);
            Histogram::noop()
        }
    }

    #[test]
    fn hits_misses_and_sizes_are_reported_as_metrics_labelled_by_level() {
        let recorder = Registrations::default();
        metrics::with_local_recorder(&recorder, || {
            let memory = MemoryLevel::new(1 << 20);
            memory.insert(Bytes::from_static(b"k"), Bytes::from_static(b"v"));
            assert!(memory.get(b"k").is_some());
            assert!(memory.get(b"absent").is_none());
        });
        let registered = recorder.0.into_inner().expect("not poisoned");
        for expected in [
            "gitapi_cache_hits_total{level=memory}",
            "gitapi_cache_misses_total{level=memory}",
            "gitapi_cache_entries{level=memory}",
            "gitapi_cache_bytes{level=memory}",
        ] {
            assert!(
                registered.iter().any(|r| r == expected),
                "{expected} not in {registered:?}"
            );
        }
    }
}
