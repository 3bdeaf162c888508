//! The store level: one redb file per node, written by one background thread.
//!
//! Layout: `entries` maps a key to its value behind an 8-byte little-endian insertion number;
//! `order` maps insertion numbers back to keys, so the oldest entries are found first when the
//! store is over its budget; `meta` holds the running totals (`bytes`, `entries`, `next_seq`),
//! updated in the same transaction as the entries so they cannot drift apart.
//!
//! Eviction is by age of the write, not of the last read: recording reads would turn every store
//! hit into a write. The entries are keyed by immutable object ids, so an old entry is never
//! wrong, only possibly cold, and a hot one is also in the memory level.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, TableError};
use tokio::sync::oneshot;

use crate::config::StoreConfig;
use crate::error::CacheError;
use crate::stats::{LevelCounters, LevelStats, WarnLimiter};

const ENTRIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("entries");
const ORDER: TableDefinition<u64, &[u8]> = TableDefinition::new("order");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Writes waiting for the writer thread; beyond this `put` drops them.
const QUEUE_LEN: usize = 4096;
/// Most writes applied in one transaction.
const MAX_BATCH: usize = 512;
/// Longest time a non-durable commit waits for the durable one that persists it.
const DURABLE_INTERVAL: Duration = Duration::from_secs(1);
/// redb's page cache. The memory level holds the hot values; this mostly keeps B-tree branch
/// pages, and redb's default (1 GiB) would double-count the memory budget.
const PAGE_CACHE_BYTES: usize = 32 * 1024 * 1024;
/// Bytes an entry is charged beyond its key and value: the insertion number in `entries`, the
/// key again and its number in `order`, and a rough share of B-tree bookkeeping.
const ENTRY_OVERHEAD: u64 = 32;

enum StoreOp {
    Put(Bytes, Bytes),
    Flush(oneshot::Sender<()>),
}

#[derive(Debug)]
struct Sizes {
    entries: AtomicU64,
    bytes: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct StoreLevel {
    path: PathBuf,
    db: Arc<Database>,
    // `None` only while dropping: the writer sees the channel close, commits durably and exits.
    ops_tx: Option<SyncSender<StoreOp>>,
    writer: Option<JoinHandle<()>>,
    sizes: Arc<Sizes>,
    pub(crate) counters: Arc<LevelCounters>,
    read_warn: WarnLimiter,
}

impl StoreLevel {
    /// Opens or creates the store file; an unreadable file is deleted and replaced by an empty
    /// one, since a cache that cannot start would take the server down with it.
    pub(crate) fn open(config: &StoreConfig) -> Result<Self, CacheError> {
        let path = config.path.clone();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| CacheError::StoreOpen {
                path: path.clone(),
                source: e.into(),
            })?;
        }
        let (db, totals) = match try_open(&path) {
            Ok(opened) => opened,
            Err(OpenFailure::Locked) => return Err(CacheError::StoreLocked { path }),
            Err(OpenFailure::Unreadable(error)) => {
                tracing::warn!(
                    path = %path.display(),
                    %error,
                    "cache store is unreadable; deleting it and starting an empty one"
                );
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(CacheError::StoreOpen {
                            path,
                            source: e.into(),
                        });
                    }
                }
                match try_open(&path) {
                    Ok(opened) => opened,
                    Err(OpenFailure::Locked) => return Err(CacheError::StoreLocked { path }),
                    Err(OpenFailure::Unreadable(error)) => {
                        return Err(CacheError::StoreOpen {
                            path,
                            source: error.into(),
                        });
                    }
                }
            }
        };

        let db = Arc::new(db);
        let counters = Arc::new(LevelCounters::new("store"));
        let sizes = Arc::new(Sizes {
            entries: AtomicU64::new(totals.entries),
            bytes: AtomicU64::new(totals.bytes),
        });
        counters.set_size(totals.entries, totals.bytes);
        let (ops_tx, ops_rx) = std::sync::mpsc::sync_channel(QUEUE_LEN);
        let writer = Writer {
            db: Arc::clone(&db),
            max_bytes: config.max_bytes,
            sizes: Arc::clone(&sizes),
            counters: Arc::clone(&counters),
            warn: WarnLimiter::new(Duration::from_secs(5)),
        };
        let writer = std::thread::Builder::new()
            .name("gitapi-cache-store".to_owned())
            .spawn(move || writer.run(&ops_rx))
            .map_err(|e| CacheError::StoreOpen {
                path: path.clone(),
                source: e.into(),
            })?;
        Ok(Self {
            path,
            db,
            ops_tx: Some(ops_tx),
            writer: Some(writer),
            sizes,
            counters,
            read_warn: WarnLimiter::new(Duration::from_secs(5)),
        })
    }

    /// Reads inline on the caller's thread: a read transaction on pages redb or the OS has
    /// cached costs about 1.4 µs, a hand-off to `spawn_blocking` about 12 µs (see the crate
    /// docs and `measure_inline_and_blocking_reads`).
    pub(crate) fn get(&self, key: &[u8]) -> Option<Bytes> {
        match read(&self.db, key) {
            Ok(Some(value)) => {
                self.counters.hit();
                Some(value)
            }
            Ok(None) => {
                self.counters.miss();
                None
            }
            Err(error) => {
                self.counters.miss();
                if self.read_warn.allow() {
                    tracing::warn!(path = %self.path.display(), %error, "cache store read failed");
                }
                None
            }
        }
    }

    /// Queues the write; drops it (and counts the drop) when the writer is that far behind.
    pub(crate) fn put(&self, key: Bytes, value: Bytes) {
        let Some(ops_tx) = &self.ops_tx else { return };
        match ops_tx.try_send(StoreOp::Put(key, value)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => self.counters.dropped(1),
        }
    }

    /// Waits until every write queued before it is committed durably.
    pub(crate) async fn flush(&self) {
        let Some(ops_tx) = self.ops_tx.clone() else {
            return;
        };
        let (done_tx, done_rx) = oneshot::channel();
        // A full queue makes `send` block, which must not happen on a runtime thread.
        let sent =
            tokio::task::spawn_blocking(move || ops_tx.send(StoreOp::Flush(done_tx)).is_ok())
                .await
                .unwrap_or(false);
        if sent {
            // An error means the writer is gone; there is nothing left to wait for.
            let _ = done_rx.await;
        }
    }

    pub(crate) fn stats(&self) -> LevelStats {
        self.counters.snapshot(
            Some(self.sizes.entries.load(Ordering::Relaxed)),
            Some(self.sizes.bytes.load(Ordering::Relaxed)),
        )
    }
}

impl Drop for StoreLevel {
    /// Closes the queue and waits for the writer's last durable commit, so the file is
    /// complete and unlocked once the last `Cache` handle is gone.
    fn drop(&mut self) {
        drop(self.ops_tx.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

fn entry_weight(key_len: usize, value_len: usize) -> u64 {
    let len = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    len(key_len)
        .saturating_mul(2)
        .saturating_add(len(value_len))
        .saturating_add(ENTRY_OVERHEAD)
}

fn read(db: &Database, key: &[u8]) -> Result<Option<Bytes>, redb::Error> {
    let txn = db.begin_read()?;
    let table = match txn.open_table(ENTRIES) {
        Ok(table) => table,
        Err(TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(stored) = table.get(key)? else {
        return Ok(None);
    };
    Ok(stored.value().get(8..).map(Bytes::copy_from_slice))
}

#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    bytes: u64,
    entries: u64,
    next_seq: u64,
}

fn load_totals(meta: &impl ReadableTable<&'static str, u64>) -> Result<Totals, redb::Error> {
    let get = |name: &str| -> Result<u64, redb::Error> {
        Ok(meta.get(name)?.map(|v| v.value()).unwrap_or(0))
    };
    Ok(Totals {
        bytes: get("bytes")?,
        entries: get("entries")?,
        next_seq: get("next_seq")?,
    })
}

enum OpenFailure {
    Locked,
    Unreadable(String),
}

/// Opens the file, creates the tables and reads the totals. redb may panic, in debug builds, on
/// a file it did not write (its internal consistency checks are debug assertions), so a panic
/// here counts as an unreadable file like any error does; nothing of the attempt is kept.
fn try_open(path: &Path) -> Result<(Database, Totals), OpenFailure> {
    let attempt = catch_unwind(AssertUnwindSafe(|| -> Result<_, redb::Error> {
        let db = Database::builder()
            .set_cache_size(PAGE_CACHE_BYTES)
            .create(path)?;
        let txn = db.begin_write()?;
        let totals = {
            txn.open_table(ENTRIES)?;
            txn.open_table(ORDER)?;
            let meta = txn.open_table(META)?;
            load_totals(&meta)?
        };
        txn.commit()?;
        Ok((db, totals))
    }));
    match attempt {
        Ok(Ok(opened)) => Ok(opened),
        Ok(Err(redb::Error::DatabaseAlreadyOpen | redb::Error::LockProtocolMismatch)) => {
            Err(OpenFailure::Locked)
        }
        Ok(Err(e)) => Err(OpenFailure::Unreadable(e.to_string())),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("panic");
            Err(OpenFailure::Unreadable(format!("redb panicked: {message}")))
        }
    }
}

struct Writer {
    db: Arc<Database>,
    max_bytes: u64,
    sizes: Arc<Sizes>,
    counters: Arc<LevelCounters>,
    warn: WarnLimiter,
}

impl Writer {
    /// Applies queued writes in batches. Most commits skip the fsync (`Durability::None`); a
    /// durable commit follows at most `DURABLE_INTERVAL` after the first one that is not, and at
    /// every flush. A crash loses at most that last second of writes: redb's commits are
    /// copy-on-write with checksums, so the file reopens at the last durable commit, whole.
    fn run(self, ops_rx: &Receiver<StoreOp>) {
        let mut undurable_since: Option<Instant> = None;
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut acks = Vec::new();
        loop {
            let wait = match undurable_since {
                Some(since) => DURABLE_INTERVAL.saturating_sub(since.elapsed()),
                // Idle and nothing to persist: sleep until the next write.
                None => Duration::from_secs(3600),
            };
            let closed = match ops_rx.recv_timeout(wait) {
                Ok(op) => {
                    let mut next = Some(op);
                    while let Some(op) = next {
                        match op {
                            StoreOp::Put(key, value) => batch.push((key, value)),
                            StoreOp::Flush(ack) => acks.push(ack),
                        }
                        next = if batch.len() < MAX_BATCH {
                            ops_rx.try_recv().ok()
                        } else {
                            None
                        };
                    }
                    false
                }
                Err(RecvTimeoutError::Timeout) => false,
                Err(RecvTimeoutError::Disconnected) => true,
            };
            let due = undurable_since.is_some_and(|since| since.elapsed() >= DURABLE_INTERVAL);
            let durable = !acks.is_empty() || due || (closed && undurable_since.is_some());
            if !batch.is_empty() || durable {
                match self.commit(&batch, durable) {
                    Ok(()) if durable => undurable_since = None,
                    Ok(()) => {
                        undurable_since.get_or_insert_with(Instant::now);
                    }
                    Err(error) => {
                        self.counters
                            .dropped(u64::try_from(batch.len()).unwrap_or(u64::MAX));
                        if self.warn.allow() {
                            tracing::warn!(%error, writes = batch.len(), "cache store commit failed");
                        }
                    }
                }
                batch.clear();
                for ack in acks.drain(..) {
                    let _ = ack.send(());
                }
            }
            if closed {
                return;
            }
        }
    }

    fn commit(&self, batch: &[(Bytes, Bytes)], durable: bool) -> Result<(), redb::Error> {
        let mut txn = self.db.begin_write()?;
        if durable {
            // Saves the allocator state with the commit, so reopening after a crash does not
            // walk the whole file to rebuild it.
            txn.set_quick_repair(true);
        } else {
            txn.set_durability(Durability::None)?;
        }
        let totals = {
            let mut entries = txn.open_table(ENTRIES)?;
            let mut order = txn.open_table(ORDER)?;
            let mut meta = txn.open_table(META)?;
            let mut totals = load_totals(&meta)?;
            let mut stored = Vec::new();
            for (key, value) in batch {
                let weight = entry_weight(key.len(), value.len());
                if weight > self.max_bytes {
                    // It would evict everything else and then itself.
                    continue;
                }
                let seq = totals.next_seq;
                totals.next_seq += 1;
                stored.clear();
                stored.extend_from_slice(&seq.to_le_bytes());
                stored.extend_from_slice(value);
                let replaced = entries
                    .insert(key.as_ref(), stored.as_slice())?
                    .map(|old| split_stored(old.value()));
                if let Some((old_seq, old_len)) = replaced {
                    order.remove(old_seq)?;
                    totals.bytes = totals
                        .bytes
                        .saturating_sub(entry_weight(key.len(), old_len));
                    totals.entries = totals.entries.saturating_sub(1);
                }
                order.insert(seq, key.as_ref())?;
                totals.bytes = totals.bytes.saturating_add(weight);
                totals.entries += 1;
            }
            while totals.bytes > self.max_bytes {
                let Some(oldest) = order.pop_first()?.map(|(_, key)| key.value().to_vec()) else {
                    break;
                };
                let removed = entries
                    .remove(oldest.as_slice())?
                    .map(|old| split_stored(old.value()).1);
                if let Some(old_len) = removed {
                    totals.bytes = totals
                        .bytes
                        .saturating_sub(entry_weight(oldest.len(), old_len));
                    totals.entries = totals.entries.saturating_sub(1);
                }
            }
            if totals.entries == 0 {
                // Rounding in the weights must not leave a phantom total behind.
                totals.bytes = 0;
            }
            meta.insert("bytes", totals.bytes)?;
            meta.insert("entries", totals.entries)?;
            meta.insert("next_seq", totals.next_seq)?;
            totals
        };
        txn.commit()?;
        self.sizes.bytes.store(totals.bytes, Ordering::Relaxed);
        self.sizes.entries.store(totals.entries, Ordering::Relaxed);
        self.counters.set_size(totals.entries, totals.bytes);
        Ok(())
    }
}

/// The insertion number and value length of a stored value.
fn split_stored(stored: &[u8]) -> (u64, usize) {
    let mut seq = [0; 8];
    if let Some(prefix) = stored.get(..8) {
        seq.copy_from_slice(prefix);
    }
    (u64::from_le_bytes(seq), stored.len().saturating_sub(8))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prints what a store hit costs read inline and read on a blocking thread, the figures
    /// behind reading inline; asserts nothing about time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn measure_inline_and_blocking_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = StoreLevel::open(&StoreConfig::new(dir.path().join("m.redb"))).expect("open");
        for n in 0..1000_u32 {
            store.put(
                Bytes::from(format!("blame:{n:040}")),
                Bytes::from(vec![7; 2048]),
            );
        }
        store.flush().await;
        let keys: Vec<Vec<u8>> = (0..1000_u32)
            .map(|n| format!("blame:{n:040}").into_bytes())
            .collect();

        let started = Instant::now();
        for key in &keys {
            assert!(store.get(key).is_some());
        }
        let inline = started.elapsed() / 1000;

        let started = Instant::now();
        for key in &keys {
            let db = Arc::clone(&store.db);
            let key = key.clone();
            let found = tokio::task::spawn_blocking(move || read(&db, &key))
                .await
                .expect("join")
                .expect("read");
            assert!(found.is_some());
        }
        let blocking = started.elapsed() / 1000;
        let build = if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        };
        println!(
            "store hit (2 KiB value): inline {inline:?}, spawn_blocking {blocking:?} ({build})"
        );
    }
}
