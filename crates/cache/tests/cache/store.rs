//! The store level: persistence, filling memory, eviction, and surviving bad files and crashes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use bytes::Bytes;
use gitapi_cache::{Cache, CacheConfig, CacheError, StoreConfig};

use crate::support::{key_for, store_only, value_for};

fn level(cache: &Cache, name: &str) -> gitapi_cache::LevelStats {
    cache
        .stats()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("level {name} configured"))
}

#[tokio::test]
async fn store_persists_across_reopen_after_flush() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A parent that does not exist yet: the store creates it.
    let path = dir.path().join("nested/dirs/cache.redb");
    {
        let cache = Cache::open(store_only(&path)).await.expect("open");
        for n in 0..200 {
            cache.put(&key_for(n), value_for(n));
        }
        cache.flush().await;
        assert_eq!(level(&cache, "store").entries, Some(200));
    }
    let cache = Cache::open(store_only(&path)).await.expect("reopen");
    for n in 0..200 {
        assert_eq!(cache.get(&key_for(n)).await, Some(value_for(n)), "key {n}");
    }
    assert_eq!(cache.get(b"never written").await, None);
    let store = level(&cache, "store");
    assert_eq!((store.hits, store.misses), (200, 1));
    assert_eq!(store.entries, Some(200));
}

#[tokio::test]
async fn overwriting_a_key_keeps_one_entry_with_the_new_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = Cache::open(store_only(&dir.path().join("c.redb")))
        .await
        .expect("open");
    cache.put(b"k", Bytes::from_static(b"first"));
    cache.put(b"k", Bytes::from_static(b"second, longer"));
    cache.flush().await;
    assert_eq!(
        cache.get(b"k").await.as_deref(),
        Some(&b"second, longer"[..])
    );
    let store = level(&cache, "store");
    assert_eq!(store.entries, Some(1));
    // 2 × key + value + 32 bytes of overhead
    assert_eq!(store.bytes, Some(2 + 14 + 32));
}

#[tokio::test]
async fn store_hit_fills_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cache.redb");
    {
        let cache = Cache::open(store_only(&path)).await.expect("open");
        cache.put(b"tree:abc", Bytes::from_static(b"listing"));
        cache.flush().await;
    }
    let cache = Cache::open(CacheConfig {
        memory_bytes: 1 << 20,
        store: Some(StoreConfig::new(&path)),
        redis: None,
    })
    .await
    .expect("reopen");
    assert_eq!(cache.get_memory(b"tree:abc"), None, "memory starts empty");
    assert_eq!(
        cache.get(b"tree:abc").await.as_deref(),
        Some(&b"listing"[..])
    );
    assert_eq!(
        cache.get_memory(b"tree:abc").as_deref(),
        Some(&b"listing"[..])
    );
    assert_eq!(level(&cache, "store").hits, 1);
    assert_eq!(level(&cache, "memory").hits, 1);
}

#[tokio::test]
async fn store_evicts_oldest_entries_over_its_budget() {
    let dir = tempfile::tempdir().expect("tempdir");
    let max_bytes = 50_000;
    let cache = Cache::open(CacheConfig {
        memory_bytes: 0,
        store: Some(StoreConfig {
            path: dir.path().join("cache.redb"),
            max_bytes,
        }),
        redis: None,
    })
    .await
    .expect("open");
    let value = Bytes::from(vec![3; 1000]);
    for n in 0..200 {
        cache.put(&key_for(n), value.clone());
        if n % 10 == 9 {
            // Several transactions, so eviction works across them too.
            cache.flush().await;
        }
    }
    cache.flush().await;
    let store = level(&cache, "store");
    let bytes = store.bytes.expect("store knows its size");
    assert!(bytes <= max_bytes, "{bytes} over {max_bytes}");
    let entries = store.entries.expect("store knows its entries");
    assert!(entries >= 40, "only {entries} kept of a budget for ~46");
    // The newest survive and the oldest went first.
    assert_eq!(cache.get(&key_for(199)).await, Some(value.clone()));
    assert_eq!(cache.get(&key_for(0)).await, None);
    let first_kept = 200 - entries;
    assert_eq!(cache.get(&key_for(first_kept)).await, Some(value.clone()));
    assert_eq!(cache.get(&key_for(first_kept - 1)).await, None);
}

#[tokio::test]
async fn a_value_larger_than_the_store_is_not_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = Cache::open(CacheConfig {
        memory_bytes: 0,
        store: Some(StoreConfig {
            path: dir.path().join("cache.redb"),
            max_bytes: 1000,
        }),
        redis: None,
    })
    .await
    .expect("open");
    cache.put(b"small", Bytes::from_static(b"v"));
    cache.put(b"huge", Bytes::from(vec![0; 5000]));
    cache.flush().await;
    assert_eq!(cache.get(b"huge").await, None);
    assert_eq!(cache.get(b"small").await.as_deref(), Some(&b"v"[..]));
}

#[tokio::test]
async fn garbage_store_file_is_replaced_by_an_empty_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cache.redb");
    let garbage: Vec<u8> = (0..100_000_u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&path, garbage).expect("write garbage");

    let cache = Cache::open(store_only(&path)).await.expect("rebuilt");
    assert_eq!(level(&cache, "store").entries, Some(0));
    cache.put(b"k", Bytes::from_static(b"v"));
    cache.flush().await;
    assert_eq!(cache.get(b"k").await.as_deref(), Some(&b"v"[..]));
}

#[tokio::test]
async fn truncated_store_file_is_replaced_by_an_empty_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cache.redb");
    {
        let cache = Cache::open(store_only(&path)).await.expect("open");
        for n in 0..500 {
            cache.put(&key_for(n), value_for(n));
        }
        cache.flush().await;
    }
    let len = std::fs::metadata(&path).expect("store file").len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open store file");
    file.set_len(len / 3).expect("truncate");
    drop(file);

    let cache = Cache::open(store_only(&path)).await.expect("reopened");
    assert_eq!(level(&cache, "store").entries, Some(0), "rebuilt empty");
    for n in 0..500 {
        assert_eq!(cache.get(&key_for(n)).await, None, "key {n}");
    }
    cache.put(b"k", Bytes::from_static(b"v"));
    cache.flush().await;
    assert_eq!(cache.get(b"k").await.as_deref(), Some(&b"v"[..]));
}

#[tokio::test]
async fn empty_store_file_is_initialized() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cache.redb");
    std::fs::write(&path, b"").expect("empty file");
    let cache = Cache::open(store_only(&path)).await.expect("open");
    cache.put(b"k", Bytes::from_static(b"v"));
    cache.flush().await;
    assert_eq!(cache.get(b"k").await.as_deref(), Some(&b"v"[..]));
}

#[tokio::test]
async fn store_open_elsewhere_is_an_error_and_is_not_deleted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cache.redb");
    let first = Cache::open(store_only(&path)).await.expect("open");
    first.put(b"k", Bytes::from_static(b"v"));
    first.flush().await;

    let second = Cache::open(store_only(&path)).await;
    assert!(
        matches!(second, Err(CacheError::StoreLocked { .. })),
        "{second:?}"
    );
    assert_eq!(first.get(b"k").await.as_deref(), Some(&b"v"[..]));
    drop(first);
    let reopened = Cache::open(store_only(&path))
        .await
        .expect("unlocked once dropped");
    assert_eq!(reopened.get(b"k").await.as_deref(), Some(&b"v"[..]));
}

const KILL9_PATH_VAR: &str = "GITAPI_CACHE_KILL9_STORE";
/// Distinct keys the child writes, over and over, so later rounds overwrite earlier entries.
const KILL9_KEYS: u64 = 3000;
/// Puts between the child's flushes.
const KILL9_FLUSH_EVERY: u64 = 200;

/// Regression test for torn or lost entries after a crash: a child process writes the store in
/// a loop and is killed with SIGKILL mid-write. Afterwards every key flushed before the kill is
/// present, and every present entry holds exactly the value written for its key.
#[test]
fn store_survives_kill_9_mid_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cache.redb");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "store::kill9_child_writes_until_killed",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(KILL9_PATH_VAR, &path)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let stdout = BufReader::new(child.stdout.take().expect("child stdout"));
    let mut flushed = None;
    for line in stdout.lines() {
        let line = line.expect("child output");
        if let Some(n) = line.strip_prefix("flushed ") {
            let n: u64 = n.trim().parse().expect("flushed count");
            flushed = Some(n);
            // Past one full round of keys, so overwrites are on disk too; kill while writing.
            if n >= 2 * KILL9_KEYS {
                break;
            }
        }
    }
    child.kill().expect("SIGKILL the child");
    let status = child.wait().expect("reap the child");
    assert!(!status.success(), "the child was killed, not finished");
    let flushed = flushed.expect("the child flushed before it was killed (did it panic?)");
    assert!(
        flushed >= 2 * KILL9_KEYS,
        "child stopped early at {flushed}"
    );

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let cache = Cache::open(store_only(&path))
            .await
            .expect("reopen after kill -9");
        for n in 0..KILL9_KEYS {
            let value = cache.get(&key_for(n)).await;
            assert_eq!(value, Some(value_for(n)), "key {n} after kill -9");
        }
    });
}

/// The child of `store_survives_kill_9_mid_write`; does nothing unless that test started it.
#[tokio::test]
#[ignore = "helper process of store_survives_kill_9_mid_write"]
async fn kill9_child_writes_until_killed() {
    let Some(path) = std::env::var_os(KILL9_PATH_VAR) else {
        return;
    };
    let cache = Cache::open(store_only(std::path::Path::new(&path)))
        .await
        .expect("child opens the store");
    // Bounded so that an orphaned child cannot run forever; the parent kills it long before.
    for n in 0..10_000_000_u64 {
        let k = n % KILL9_KEYS;
        cache.put(&key_for(k), value_for(k));
        if n % KILL9_FLUSH_EVERY == KILL9_FLUSH_EVERY - 1 {
            cache.flush().await;
            println!("flushed {n}");
        }
    }
}
