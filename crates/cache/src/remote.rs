//! The Redis level, shared by the nodes: cache entries with a time to live, counters, and a
//! pub/sub channel helper.

use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{mpsc, oneshot};

use crate::config::RedisConfig;
use crate::error::CacheError;
use crate::stats::{LevelCounters, LevelStats, WarnLimiter};

/// Writes waiting for the background task; beyond this `put` drops them.
const QUEUE_LEN: usize = 4096;
/// Most SETs sent in one pipeline.
const MAX_BATCH: usize = 256;
/// How long lookups skip Redis after one failed or timed out: while Redis is down, each
/// request would otherwise wait the whole lookup timeout before missing.
const SKIP_AFTER_FAILURE: Duration = Duration::from_secs(1);
/// Reconnection attempts the connection manager makes after a failure before it waits for the
/// next command to try again.
const RECONNECT_RETRIES: usize = 3;

enum RedisOp {
    Set(Vec<u8>, Bytes),
    Flush(oneshot::Sender<()>),
}

pub(crate) struct RedisLevel {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    command_timeout: Duration,
    ops_tx: mpsc::Sender<RedisOp>,
    pub(crate) counters: std::sync::Arc<LevelCounters>,
    warn: std::sync::Arc<WarnLimiter>,
    breaker: Breaker,
}

/// Remembers when Redis last failed a lookup, so lookups skip it for a while afterwards.
#[derive(Debug)]
struct Breaker {
    start: tokio::time::Instant,
    // Milliseconds since `start` until which lookups skip Redis; 0 when closed.
    open_until_ms: std::sync::atomic::AtomicU64,
}

impl Breaker {
    fn new() -> Self {
        Self {
            start: tokio::time::Instant::now(),
            open_until_ms: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn is_open(&self) -> bool {
        self.now_ms()
            < self
                .open_until_ms
                .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn trip(&self) {
        let skip = u64::try_from(SKIP_AFTER_FAILURE.as_millis()).unwrap_or(u64::MAX);
        self.open_until_ms.store(
            self.now_ms().saturating_add(skip),
            std::sync::atomic::Ordering::Relaxed,
        );
    }
}

impl std::fmt::Debug for RedisLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client's connection info holds the password, if any.
        f.debug_struct("RedisLevel")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn boxed(e: redis::RedisError) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(e)
}

impl RedisLevel {
    /// Connects once, so that a wrong URL or an unreachable server is reported at start-up;
    /// after that the connection manager reconnects on its own.
    pub(crate) async fn open(config: &RedisConfig) -> Result<Self, CacheError> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| CacheError::RedisConnect { source: boxed(e) })?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.command_timeout))
            .set_response_timeout(Some(config.command_timeout))
            .set_number_of_retries(RECONNECT_RETRIES);
        let conn = tokio::time::timeout(
            config.command_timeout.saturating_mul(2),
            ConnectionManager::new_with_config(client.clone(), manager_config),
        )
        .await
        .map_err(|_| CacheError::RedisConnect {
            source: "timed out connecting".into(),
        })?
        .map_err(|e| CacheError::RedisConnect { source: boxed(e) })?;

        let counters = std::sync::Arc::new(LevelCounters::new("redis"));
        let warn = std::sync::Arc::new(WarnLimiter::new(Duration::from_secs(5)));
        let (ops_tx, ops_rx) = mpsc::channel(QUEUE_LEN);
        tokio::spawn(write_behind(
            conn.clone(),
            ops_rx,
            config.ttl.as_secs().max(1),
            config.command_timeout,
            std::sync::Arc::clone(&counters),
            std::sync::Arc::clone(&warn),
        ));
        Ok(Self {
            client,
            conn,
            prefix: config.prefix.clone(),
            timeout: config.timeout,
            command_timeout: config.command_timeout,
            ops_tx,
            counters,
            warn,
            breaker: Breaker::new(),
        })
    }

    fn entry_key(&self, key: &[u8]) -> Vec<u8> {
        let mut full = Vec::with_capacity(self.prefix.len() + 2 + key.len());
        full.extend_from_slice(self.prefix.as_bytes());
        full.extend_from_slice(b"c:");
        full.extend_from_slice(key);
        full
    }

    fn counter_key(&self, key: &str) -> String {
        format!("{}n:{key}", self.prefix)
    }

    fn channel(&self, channel: &str) -> String {
        format!("{}{channel}", self.prefix)
    }

    /// A GET bounded by `timeout`; a slow or failing Redis is a miss, logged once in a while,
    /// and the lookups of the next `SKIP_AFTER_FAILURE` miss without asking it.
    pub(crate) async fn get(&self, key: &[u8]) -> Option<Bytes> {
        if self.breaker.is_open() {
            self.counters.miss();
            return None;
        }
        let mut conn = self.conn.clone();
        let full = self.entry_key(key);
        let outcome =
            tokio::time::timeout(self.timeout, conn.get::<_, Option<Vec<u8>>>(full)).await;
        match outcome {
            Ok(Ok(Some(value))) => {
                self.counters.hit();
                Some(Bytes::from(value))
            }
            Ok(Ok(None)) => {
                self.counters.miss();
                None
            }
            Ok(Err(error)) => {
                self.counters.miss();
                self.breaker.trip();
                if self.warn.allow() {
                    tracing::warn!(%error, "redis cache lookup failed; counted as a miss");
                }
                None
            }
            Err(_) => {
                self.counters.miss();
                self.breaker.trip();
                if self.warn.allow() {
                    tracing::warn!(timeout = ?self.timeout, "redis cache lookup timed out; counted as a miss");
                }
                None
            }
        }
    }

    pub(crate) fn put(&self, key: &[u8], value: Bytes) {
        let op = RedisOp::Set(self.entry_key(key), value);
        if self.ops_tx.try_send(op).is_err() {
            self.counters.dropped(1);
        }
    }

    /// Waits until every write queued before it has been answered by Redis (or failed).
    pub(crate) async fn flush(&self) {
        let (done_tx, done_rx) = oneshot::channel();
        if self.ops_tx.send(RedisOp::Flush(done_tx)).await.is_ok() {
            let _ = done_rx.await;
        }
    }

    async fn bounded<T>(
        &self,
        command: &'static str,
        request: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, CacheError> {
        tokio::time::timeout(self.command_timeout, request)
            .await
            .map_err(|_| CacheError::RedisTimeout { command })?
            .map_err(|e| CacheError::Redis {
                command,
                source: boxed(e),
            })
    }

    pub(crate) async fn publish(&self, channel: &str, payload: &[u8]) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let channel = self.channel(channel);
        self.bounded("PUBLISH", conn.publish::<_, _, u64>(channel, payload))
            .await
            .map(|_receivers| ())
    }

    pub(crate) async fn subscribe(
        &self,
        channel: &str,
    ) -> Result<impl Stream<Item = Vec<u8>> + Send + Unpin + 'static, CacheError> {
        let channel = self.channel(channel);
        // Pub/sub needs a connection of its own: a subscribed connection takes no other commands.
        let mut pubsub = self
            .bounded("SUBSCRIBE", self.client.get_async_pubsub())
            .await?;
        self.bounded("SUBSCRIBE", pubsub.subscribe(channel)).await?;
        Ok(pubsub
            .into_on_message()
            .map(|message| message.get_payload_bytes().to_vec()))
    }

    pub(crate) async fn incr(&self, key: &str) -> Result<u64, CacheError> {
        let mut conn = self.conn.clone();
        let key = self.counter_key(key);
        self.bounded("INCR", conn.incr::<_, _, u64>(key, 1_u64))
            .await
    }

    pub(crate) async fn get_counter(&self, key: &str) -> Result<u64, CacheError> {
        let mut conn = self.conn.clone();
        let key = self.counter_key(key);
        self.bounded("GET", conn.get::<_, Option<u64>>(key))
            .await
            .map(Option::unwrap_or_default)
    }

    pub(crate) fn stats(&self) -> LevelStats {
        self.counters.snapshot(None, None)
    }
}

/// Sends queued writes as pipelines of `SET key value EX ttl`. Ends when the last `Cache`
/// handle (and with it the queue's sender) is gone.
async fn write_behind(
    mut conn: ConnectionManager,
    mut ops_rx: mpsc::Receiver<RedisOp>,
    ttl_secs: u64,
    command_timeout: Duration,
    counters: std::sync::Arc<LevelCounters>,
    warn: std::sync::Arc<WarnLimiter>,
) {
    let mut ops = Vec::with_capacity(MAX_BATCH);
    while ops_rx.recv_many(&mut ops, MAX_BATCH).await > 0 {
        let mut pipe = redis::pipe();
        let mut sets = 0_u64;
        let mut acks = Vec::new();
        for op in ops.drain(..) {
            match op {
                RedisOp::Set(key, value) => {
                    pipe.cmd("SET")
                        .arg(key)
                        .arg(value.as_ref())
                        .arg("EX")
                        .arg(ttl_secs)
                        .ignore();
                    sets += 1;
                }
                RedisOp::Flush(ack) => acks.push(ack),
            }
        }
        if sets > 0 {
            let sent =
                tokio::time::timeout(command_timeout, pipe.query_async::<()>(&mut conn)).await;
            let error = match sent {
                Ok(Ok(())) => None,
                Ok(Err(error)) => Some(error.to_string()),
                Err(_) => Some("timed out".to_owned()),
            };
            if let Some(error) = error {
                counters.dropped(sets);
                if warn.allow() {
                    tracing::warn!(%error, writes = sets, "redis cache writes failed; dropped");
                }
            }
        }
        for ack in acks {
            let _ = ack.send(());
        }
    }
}
