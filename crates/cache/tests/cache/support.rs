//! Shared helpers: configs, a value derived from its key, and a private `redis-server`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use gitapi_cache::{CacheConfig, RedisConfig, StoreConfig};

/// A memory-only config of `bytes`.
pub(crate) fn memory_only(bytes: u64) -> CacheConfig {
    CacheConfig {
        memory_bytes: bytes,
        store: None,
        redis: None,
    }
}

/// A store-only config (memory off, so every lookup reaches the store).
pub(crate) fn store_only(path: &std::path::Path) -> CacheConfig {
    CacheConfig {
        memory_bytes: 0,
        store: Some(StoreConfig::new(path)),
        redis: None,
    }
}

/// The value written for key number `n`: its length and bytes both depend on `n`, so a torn or
/// misplaced value cannot pass for the right one.
pub(crate) fn value_for(n: u64) -> Bytes {
    let len = 16 + usize::try_from(n % 997).expect("small") * 7;
    let seed = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..len)
        .map(|i| (seed >> ((i % 8) * 8)) as u8 ^ (i as u8))
        .collect::<Vec<u8>>()
        .into()
}

pub(crate) fn key_for(n: u64) -> Vec<u8> {
    format!("key:{n:08}").into_bytes()
}

/// Polls `check` up to `tries` times, `pause` apart; true once it holds.
pub(crate) async fn eventually(
    tries: u32,
    pause: Duration,
    mut check: impl AsyncFnMut() -> bool,
) -> bool {
    for _ in 0..tries {
        if check().await {
            return true;
        }
        tokio::time::sleep(pause).await;
    }
    false
}

/// A `redis-server` of this test alone, on a free port, without persistence; killed on drop.
pub(crate) struct RedisServer {
    child: Child,
    pub(crate) port: u16,
}

impl RedisServer {
    /// Starts the server and waits until it answers PING.
    ///
    /// Panics with instructions when `redis-server` is not installed: the Redis tests must not
    /// pass without having run.
    pub(crate) async fn start() -> RedisServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Self::start_on(port).await
    }

    /// Starts a server on `port`, e.g. again after [`RedisServer::kill`].
    pub(crate) async fn start_on(port: u16) -> RedisServer {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            // For DEBUG SLEEP, which stalls the server in the slow-Redis test.
            .args(["--enable-debug-command", "local"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}); the Redis tests need it: \
                     apt-get install -y redis-server"
                )
            });
        let server = RedisServer { child, port };
        let client = redis::Client::open(server.url()).expect("redis url");
        let up = eventually(100, Duration::from_millis(50), async || {
            match client.get_multiplexed_async_connection().await {
                Ok(mut conn) => redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok(),
                Err(_) => false,
            }
        })
        .await;
        assert!(up, "redis-server on port {port} did not answer PING");
        server
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub(crate) fn config(&self) -> RedisConfig {
        RedisConfig::new(self.url())
    }

    /// Kills the server now (the test goes on without it).
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
