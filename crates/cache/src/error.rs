//! The one error of the crate: a level could not be opened, or a Redis command failed.

use std::path::PathBuf;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Opening a level or a Redis command (counter, pub/sub) failed.
///
/// Cache lookups and writes never return it: a level that fails there counts a miss or a dropped
/// write and logs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// Another process (or another [`Cache`](crate::Cache) in this one) has the store file open.
    #[error("cache store {path:?} is open in another process")]
    StoreLocked {
        /// The store file.
        path: PathBuf,
    },
    /// The store file could not be created, not even after deleting an unreadable one.
    #[error("could not open cache store {path:?}")]
    StoreOpen {
        /// The store file.
        path: PathBuf,
        /// What redb or the file system reported.
        #[source]
        source: BoxError,
    },
    /// The Redis URL is invalid or the first connection failed.
    // The URL is left out of the message: it may carry a password.
    #[error("could not connect to redis")]
    RedisConnect {
        /// What the Redis client reported.
        #[source]
        source: BoxError,
    },
    /// A Redis command failed.
    #[error("redis command {command} failed")]
    Redis {
        /// The command, e.g. `INCR`.
        command: &'static str,
        /// What the Redis client reported.
        #[source]
        source: BoxError,
    },
    /// A Redis command took longer than [`RedisConfig::command_timeout`](crate::RedisConfig::command_timeout).
    #[error("redis command {command} timed out")]
    RedisTimeout {
        /// The command, e.g. `INCR`.
        command: &'static str,
    },
    /// The operation needs Redis and the cache has no Redis level.
    #[error("redis is not configured")]
    RedisNotConfigured,
}
