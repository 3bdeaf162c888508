//! The memory level.

use bytes::Bytes;
use gitapi_cache::Cache;

use crate::support::memory_only;

fn memory_stats(cache: &Cache) -> gitapi_cache::LevelStats {
    cache
        .stats()
        .into_iter()
        .find(|s| s.name == "memory")
        .expect("memory level configured")
}

#[tokio::test]
async fn memory_hit_and_miss_are_counted() {
    let cache = Cache::open(memory_only(1 << 20)).await.expect("open");
    assert_eq!(cache.get(b"absent").await, None);
    cache.put(b"k", Bytes::from_static(b"v"));
    assert_eq!(cache.get(b"k").await.as_deref(), Some(&b"v"[..]));
    assert_eq!(cache.get_memory(b"k").as_deref(), Some(&b"v"[..]));

    let stats = cache.stats();
    assert_eq!(stats.len(), 1, "only memory is configured: {stats:?}");
    let memory = memory_stats(&cache);
    assert_eq!((memory.hits, memory.misses), (2, 1));
    assert_eq!(memory.entries, Some(1));
    assert_eq!(memory.bytes, Some(2));
}

#[tokio::test]
async fn put_memory_is_seen_by_get_memory() {
    let cache = Cache::open(memory_only(1 << 20)).await.expect("open");
    cache.put_memory(b"refs:v7", Bytes::from_static(b"answer"));
    assert_eq!(
        cache.get_memory(b"refs:v7").as_deref(),
        Some(&b"answer"[..])
    );
}

#[tokio::test]
async fn memory_evicts_by_bytes_of_keys_and_values() {
    // 100 entries of 4 + 1000 bytes into a budget of 20 000: about 19 fit.
    let budget = 20_000;
    let cache = Cache::open(memory_only(budget)).await.expect("open");
    for n in 0..100_u32 {
        cache.put(&n.to_be_bytes(), Bytes::from(vec![7; 1000]));
    }
    let memory = memory_stats(&cache);
    let bytes = memory.bytes.expect("memory knows its size");
    let entries = memory.entries.expect("memory knows its entries");
    assert!(
        bytes <= budget,
        "{bytes} bytes held over a budget of {budget}"
    );
    assert!(entries <= 19, "{entries} entries held");
    assert!(entries >= 1, "eviction emptied the cache");
    let present = (0..100_u32)
        .filter(|n| cache.get_memory(&n.to_be_bytes()).is_some())
        .count();
    assert_eq!(u64::try_from(present).expect("small"), entries);
}

#[tokio::test]
async fn zero_bytes_turns_memory_off() {
    let cache = Cache::open(memory_only(0)).await.expect("open");
    cache.put(b"k", Bytes::from_static(b"v"));
    assert_eq!(cache.get(b"k").await, None);
    assert!(cache.stats().is_empty());
}

#[tokio::test]
async fn disabled_cache_misses_everything() {
    let cache = Cache::disabled();
    cache.put(b"k", Bytes::from_static(b"v"));
    cache.put_memory(b"k", Bytes::from_static(b"v"));
    assert_eq!(cache.get(b"k").await, None);
    assert_eq!(cache.get_memory(b"k"), None);
    cache.flush().await;
    assert!(cache.stats().is_empty());
    assert!(matches!(
        cache.incr("x").await,
        Err(gitapi_cache::CacheError::RedisNotConfigured)
    ));
    assert!(cache.subscribe("events").await.is_err());
}

/// Prints what a memory hit costs; asserts nothing about time.
#[tokio::test]
async fn measure_memory_get() {
    let cache = Cache::open(memory_only(1 << 24)).await.expect("open");
    cache.put(b"blame:0123456789abcdef", Bytes::from(vec![1; 2048]));
    let rounds = 100_000_u32;
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(cache.get_memory(std::hint::black_box(b"blame:0123456789abcdef")));
    }
    let per_get = started.elapsed() / rounds;
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(
            cache
                .get(std::hint::black_box(b"blame:0123456789abcdef"))
                .await,
        );
    }
    let per_async_get = started.elapsed() / rounds;
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("memory hit: get_memory {per_get:?}, get {per_async_get:?} ({build})");
}
