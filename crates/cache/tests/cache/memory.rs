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

#[tokio::test]
async fn decoded_values_are_kept_in_memory_and_their_bytes_below() {
    let data = tempfile::tempdir().expect("temp");
    let cache = Cache::open(gitapi_cache::CacheConfig {
        memory_bytes: 1 << 20,
        store: Some(gitapi_cache::StoreConfig::new(data.path().join("c.redb"))),
        redis: None,
    })
    .await
    .expect("open");
    let value = std::sync::Arc::new(vec![String::from("a"), String::from("b")]);
    cache.put_value(b"k", value.clone(), Bytes::from_static(b"[\"a\",\"b\"]"));

    // Memory hands back the decoded value itself, not a copy.
    let got = cache.get_value::<Vec<String>>(b"k").expect("a memory hit");
    assert!(std::sync::Arc::ptr_eq(&got, &value));
    // Another type under the key, or bytes asked of a decoded entry, is a miss, not a panic.
    assert!(cache.get_value::<Vec<u8>>(b"k").is_none());
    assert_eq!(cache.get_memory(b"k"), None);
    // The store holds the encoded form.
    cache.flush().await;
    assert_eq!(
        cache.get_below_memory(b"k").await.as_deref(),
        Some(&b"[\"a\",\"b\"]"[..])
    );
    // Weighed by the encoded size.
    let memory = memory_stats(&cache);
    assert_eq!(memory.bytes, Some(1 + 9));

    // Memory only: nothing reaches the store.
    cache.put_memory_value(b"v", std::sync::Arc::new(7_u64), 8);
    assert_eq!(cache.get_value::<u64>(b"v").as_deref(), Some(&7));
    cache.flush().await;
    assert_eq!(cache.get_below_memory(b"v").await, None);

    // Over the memory bound: not kept in memory, still stored below.
    let big = Bytes::from(vec![b'x'; gitapi_cache::MAX_MEMORY_ENTRY_BYTES + 1]);
    cache.put_value(b"big", std::sync::Arc::new(()), big.clone());
    assert!(cache.get_value::<()>(b"big").is_none());
    cache.flush().await;
    assert_eq!(cache.get_below_memory(b"big").await, Some(big));
}
