//! The Redis level: shared entries with a time to live, counters, pub/sub, and Redis going down.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use gitapi_cache::{Cache, CacheConfig, CacheError, RedisConfig};

use crate::support::{RedisServer, eventually};

fn redis_only(config: RedisConfig, memory_bytes: u64) -> CacheConfig {
    CacheConfig {
        memory_bytes,
        store: None,
        redis: Some(config),
    }
}

fn level(cache: &Cache, name: &str) -> gitapi_cache::LevelStats {
    cache
        .stats()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("level {name} configured"))
}

#[tokio::test]
async fn redis_put_then_get_with_ttl() {
    let server = RedisServer::start().await;
    let config = RedisConfig {
        ttl: Duration::from_secs(1),
        ..server.config()
    };
    let cache = Cache::open(redis_only(config, 0)).await.expect("open");
    assert_eq!(cache.get(b"diff:a..b").await, None);
    cache.put(b"diff:a..b", Bytes::from_static(b"patch"));
    cache.flush().await;
    assert_eq!(
        cache.get(b"diff:a..b").await.as_deref(),
        Some(&b"patch"[..])
    );
    let redis = level(&cache, "redis");
    assert_eq!((redis.hits, redis.misses, redis.entries), (1, 1, None));

    // Stored under the prefix, with the time to live.
    let client = redis::Client::open(server.url()).expect("client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let ttl: i64 = redis::cmd("TTL")
        .arg("gitapi:c:diff:a..b")
        .query_async(&mut conn)
        .await
        .expect("TTL");
    assert!((0..=1).contains(&ttl), "ttl {ttl}");

    let expired = eventually(50, Duration::from_millis(100), async || {
        cache.get(b"diff:a..b").await.is_none()
    })
    .await;
    assert!(expired, "the entry outlived its ttl");
}

#[tokio::test]
async fn two_caches_share_one_redis() {
    let server = RedisServer::start().await;
    let a = Cache::open(redis_only(server.config(), 1 << 20))
        .await
        .expect("open a");
    let b = Cache::open(redis_only(server.config(), 1 << 20))
        .await
        .expect("open b");
    a.put(b"log:c0ffee:1", Bytes::from_static(b"page one"));
    a.flush().await;
    assert_eq!(b.get_memory(b"log:c0ffee:1"), None);
    assert_eq!(
        b.get(b"log:c0ffee:1").await.as_deref(),
        Some(&b"page one"[..])
    );
    assert_eq!(level(&b, "redis").hits, 1);
    // The Redis hit was copied into b's memory.
    assert_eq!(
        b.get_memory(b"log:c0ffee:1").as_deref(),
        Some(&b"page one"[..])
    );
}

#[tokio::test]
async fn redis_hit_fills_memory_and_store() {
    let server = RedisServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = Cache::open(redis_only(server.config(), 0))
        .await
        .expect("open");
    writer.put(b"blame:1", Bytes::from_static(b"lines"));
    writer.flush().await;

    let path = dir.path().join("cache.redb");
    let reader = Cache::open(CacheConfig {
        memory_bytes: 1 << 20,
        store: Some(gitapi_cache::StoreConfig::new(&path)),
        redis: Some(server.config()),
    })
    .await
    .expect("open");
    assert_eq!(reader.get(b"blame:1").await.as_deref(), Some(&b"lines"[..]));
    reader.flush().await;
    assert_eq!(
        reader.get_memory(b"blame:1").as_deref(),
        Some(&b"lines"[..])
    );
    drop(reader);
    let store_only = Cache::open(crate::support::store_only(&path))
        .await
        .expect("reopen store");
    assert_eq!(
        store_only.get(b"blame:1").await.as_deref(),
        Some(&b"lines"[..])
    );
}

#[tokio::test]
async fn pubsub_round_trip() {
    let server = RedisServer::start().await;
    let a = Cache::open(redis_only(server.config(), 0))
        .await
        .expect("open a");
    let b = Cache::open(redis_only(server.config(), 0))
        .await
        .expect("open b");
    let mut events = b.subscribe("refs").await.expect("subscribe");
    a.publish("refs", b"repo-42 changed").await;
    a.publish("other", b"not for b").await;
    a.publish("refs", b"repo-7 changed").await;
    // A bound so a lost message fails the test instead of hanging it.
    let bound = Duration::from_secs(10);
    let first = tokio::time::timeout(bound, events.next())
        .await
        .expect("first event");
    let second = tokio::time::timeout(bound, events.next())
        .await
        .expect("second event");
    assert_eq!(first.as_deref(), Some(&b"repo-42 changed"[..]));
    assert_eq!(second.as_deref(), Some(&b"repo-7 changed"[..]));
}

#[tokio::test]
async fn incr_is_shared_between_caches() {
    let server = RedisServer::start().await;
    let a = Cache::open(redis_only(server.config(), 0))
        .await
        .expect("open a");
    let b = Cache::open(redis_only(server.config(), 0))
        .await
        .expect("open b");
    assert_eq!(a.get_counter("repo:42").await.expect("get"), 0);
    assert_eq!(a.incr("repo:42").await.expect("incr"), 1);
    assert_eq!(b.incr("repo:42").await.expect("incr"), 2);
    assert_eq!(a.get_counter("repo:42").await.expect("get"), 2);
    assert_eq!(b.get_counter("repo:7").await.expect("get"), 0);
}

#[tokio::test]
async fn prefixes_keep_deployments_apart() {
    let server = RedisServer::start().await;
    let blue = Cache::open(redis_only(
        RedisConfig {
            prefix: "blue:".to_owned(),
            ..server.config()
        },
        0,
    ))
    .await
    .expect("open blue");
    let green = Cache::open(redis_only(
        RedisConfig {
            prefix: "green:".to_owned(),
            ..server.config()
        },
        0,
    ))
    .await
    .expect("open green");
    blue.put(b"k", Bytes::from_static(b"blue"));
    blue.flush().await;
    assert_eq!(green.get(b"k").await, None);
    assert_eq!(blue.incr("n").await.expect("incr"), 1);
    assert_eq!(green.get_counter("n").await.expect("get"), 0);
}

#[tokio::test]
async fn redis_down_makes_gets_miss_without_error() {
    let mut server = RedisServer::start().await;
    let cache = Cache::open(redis_only(server.config(), 1 << 20))
        .await
        .expect("open");
    cache.put(b"in memory too", Bytes::from_static(b"v"));
    cache.flush().await;
    server.kill();

    // Memory still answers; Redis lookups count as misses.
    assert_eq!(
        cache.get(b"in memory too").await.as_deref(),
        Some(&b"v"[..])
    );
    let started = std::time::Instant::now();
    for n in 0..20_u32 {
        assert_eq!(cache.get(&n.to_be_bytes()).await, None);
    }
    println!("20 lookups with redis down: {:?}", started.elapsed());
    assert_eq!(level(&cache, "redis").misses, 20);
    // Writes are queued and fail in the background; flush still returns.
    cache.put(b"while down", Bytes::from_static(b"v"));
    cache.flush().await;
    assert!(level(&cache, "redis").writes_dropped >= 1);
    assert!(cache.incr("repo:1").await.is_err());
    cache.publish("refs", b"lost").await;
}

#[tokio::test]
async fn lookups_resume_when_redis_returns() {
    let mut server = RedisServer::start().await;
    let cache = Cache::open(redis_only(server.config(), 0))
        .await
        .expect("open");
    server.kill();
    assert_eq!(cache.get(b"k").await, None);
    let _server = RedisServer::start_on(server.port).await;
    // The connection manager reconnects and lookups stop skipping Redis; until then writes
    // fail in the background, so each try writes again.
    let back = eventually(100, Duration::from_millis(100), async || {
        cache.put(b"k", Bytes::from_static(b"v"));
        cache.flush().await;
        cache.get(b"k").await.is_some()
    })
    .await;
    assert!(back, "the cache never used Redis again");
}

#[tokio::test]
async fn slow_redis_lookup_is_a_miss_bounded_by_the_timeout() {
    let server = RedisServer::start().await;
    let cache = Cache::open(redis_only(
        RedisConfig {
            timeout: Duration::from_millis(20),
            ..server.config()
        },
        0,
    ))
    .await
    .expect("open");
    // DEBUG SLEEP stalls the (single-threaded) server, as an overloaded one would stall.
    let client = redis::Client::open(server.url()).expect("client");
    let mut stalled = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let mut probe = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let stall = tokio::spawn(async move {
        let _: Result<(), _> = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg(3)
            .query_async(&mut stalled)
            .await;
    });
    // Wait until the stall has begun: a PING that gets no answer in time.
    let stalling = eventually(100, Duration::from_millis(10), async || {
        let ping = redis::cmd("PING");
        let answer = ping.query_async::<String>(&mut probe);
        tokio::time::timeout(Duration::from_millis(50), answer)
            .await
            .is_err()
    })
    .await;
    assert!(stalling, "DEBUG SLEEP did not stall the server");
    assert_eq!(cache.get(b"anything").await, None);
    assert_eq!(level(&cache, "redis").misses, 1);
    stall.await.expect("stall task");
}

#[tokio::test]
async fn unreachable_redis_fails_open() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let config = RedisConfig {
        command_timeout: Duration::from_millis(500),
        ..RedisConfig::new(format!("redis://127.0.0.1:{port}/"))
    };
    let opened = Cache::open(redis_only(config, 0)).await;
    assert!(
        matches!(opened, Err(CacheError::RedisConnect { .. })),
        "{opened:?}"
    );
    let bad_url = Cache::open(redis_only(RedisConfig::new("not a url"), 0)).await;
    assert!(
        matches!(bad_url, Err(CacheError::RedisConnect { .. })),
        "{bad_url:?}"
    );
}
