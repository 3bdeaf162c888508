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

    pub(crate) fn insert(&self, key: Bytes, value: Bytes) {
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
