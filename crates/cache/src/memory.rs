//! The memory level: a moka cache bounded by the bytes of its keys and values.
//!
//! It holds either bytes, as the lower levels do, or a value already decoded from them: a hit
//! on a decoded value costs a reference-count increment, where decoding an answer's bytes
//! again costs more than the rest of the request (0.2–0.6 ms for a 30–140 KB answer).

use std::any::Any;
use std::sync::Arc;

use bytes::Bytes;

use crate::stats::{LevelCounters, LevelStats};

/// A value of the memory level.
#[derive(Clone)]
pub(crate) enum Entry {
    Bytes(Bytes),
    /// A decoded value, weighed by the size of its encoded form (which the lower levels hold).
    Decoded {
        value: Arc<dyn Any + Send + Sync>,
        weight: usize,
    },
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bytes(b) => write!(f, "Bytes({})", b.len()),
            Self::Decoded { weight, .. } => write!(f, "Decoded({weight})"),
        }
    }
}

impl Entry {
    fn weight(&self) -> usize {
        match self {
            Self::Bytes(b) => b.len(),
            Self::Decoded { weight, .. } => *weight,
        }
    }
}

#[derive(Debug)]
pub(crate) struct MemoryLevel {
    // Keys are `Bytes` so one copy of a caller's key is shared by every level it is written to,
    // and `Bytes: Borrow<[u8]>` lets a lookup take the caller's slice without copying it.
    entries: moka::sync::Cache<Bytes, Entry>,
    pub(crate) counters: LevelCounters,
}

impl MemoryLevel {
    pub(crate) fn new(max_bytes: u64) -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &Bytes, value: &Entry| {
                u32::try_from(key.len().saturating_add(value.weight())).unwrap_or(u32::MAX)
            })
            .build();
        Self {
            entries,
            counters: LevelCounters::new("memory"),
        }
    }

    /// A hit costs a hash, moka's bookkeeping and a reference-count increment; nothing waits.
    /// The bytes under `key` (a decoded value is a miss here).
    pub(crate) fn get(&self, key: &[u8]) -> Option<Bytes> {
        let found = match self.entries.get(key) {
            Some(Entry::Bytes(b)) => Some(b),
            _ => None,
        };
        match found {
            Some(_) => self.counters.hit(),
            None => self.counters.miss(),
        }
        found
    }

    /// The decoded value under `key` (bytes are a miss here).
    pub(crate) fn get_decoded(&self, key: &[u8]) -> Option<Arc<dyn Any + Send + Sync>> {
        let found = match self.entries.get(key) {
            Some(Entry::Decoded { value, .. }) => Some(value),
            _ => None,
        };
        match found {
            Some(_) => self.counters.hit(),
            None => self.counters.miss(),
        }
        found
    }

    /// Keeps `value` unless it is over [`crate::MAX_MEMORY_ENTRY_BYTES`] (then the lower
    /// levels alone keep it, and a hit there does not bring it up here either).
    pub(crate) fn insert(&self, key: Bytes, value: Bytes) {
        self.insert_entry(key, Entry::Bytes(value));
    }

    /// Keeps a decoded value weighed as `weight` bytes, under the same bound.
    pub(crate) fn insert_decoded(
        &self,
        key: Bytes,
        value: Arc<dyn Any + Send + Sync>,
        weight: usize,
    ) {
        self.insert_entry(key, Entry::Decoded { value, weight });
    }

    fn insert_entry(&self, key: Bytes, value: Entry) {
        if value.weight() > crate::MAX_MEMORY_ENTRY_BYTES {
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
