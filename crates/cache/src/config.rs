//! What the levels are and how big they may grow.

use std::path::PathBuf;
use std::time::Duration;

/// Which levels a [`Cache`](crate::Cache) has and how much each may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Bytes the memory level may hold (weighed by key+value length); 0 turns it off.
    pub memory_bytes: u64,
    /// The embedded persistent store; None turns it off.
    pub store: Option<StoreConfig>,
    /// Redis, shared by several nodes; None turns it off.
    pub redis: Option<RedisConfig>,
}

impl Default for CacheConfig {
    /// 256 MiB of memory, no store and no Redis: the server decides where the store lives.
    fn default() -> Self {
        Self {
            memory_bytes: 256 * 1024 * 1024,
            store: None,
            redis: None,
        }
    }
}

/// The embedded store: one redb file per node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The store's file; missing parent directories are created.
    pub path: PathBuf,
    /// Roughly the bytes of keys and values the store keeps before it deletes its oldest entries.
    ///
    /// The file itself is larger: B-tree pages are not full and copy-on-write keeps freed pages
    /// for reuse rather than shrinking the file.
    pub max_bytes: u64,
}

impl StoreConfig {
    /// A store at `path` holding up to 1 GiB of entries.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            max_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// The shared level: a Redis server every node talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://host:port/db` (or `rediss://`, `redis+unix://`).
    pub url: String,
    /// Entries expire after this long in Redis.
    pub ttl: Duration,
    /// Key prefix, default "gitapi:"; cache entries live under `{prefix}c:`, counters under
    /// `{prefix}n:`, and pub/sub channels are named `{prefix}{channel}`.
    pub prefix: String,
    /// How long a cache lookup waits for Redis before it counts as a miss, default 50 ms.
    ///
    /// Counters and connection set-up use a longer bound ([`RedisConfig::command_timeout`]).
    pub timeout: Duration,
    /// How long counters, publishing, subscribing, background writes and connecting may take,
    /// default 1 s.
    pub command_timeout: Duration,
}

impl RedisConfig {
    /// Redis at `url`, entries kept a day, prefix "gitapi:", lookups bounded by 50 ms.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ttl: Duration::from_secs(24 * 60 * 60),
            prefix: "gitapi:".to_owned(),
            timeout: Duration::from_millis(50),
            command_timeout: Duration::from_secs(1),
        }
    }
}
