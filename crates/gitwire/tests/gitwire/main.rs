//! gitwire integration tests: every read is checked against what `git` says about the same
//! repository, served by `git http-backend` through a CGI bridge on 127.0.0.1; every push is
//! checked with `git fsck --strict` and `git log` on the server side.

// A test binary exports nothing: `pub` here only shares items between its modules.
#![allow(unreachable_pub)]

mod cli;
mod corpus;
mod gitapi;
mod protocol;
mod read;
mod support;
mod transport;
mod write;

use std::sync::Arc;
use std::time::Duration;

use gitwire::{Client, ClientOptions, ExponentialBackoff, MemoryCache, TransportOptions};

/// Retries quickly so tests that provoke failures stay fast (no timing is asserted).
pub fn fast_retry() -> Arc<ExponentialBackoff> {
    Arc::new(ExponentialBackoff {
        max_attempts: 3,
        initial: Duration::from_millis(1),
        max: Duration::from_millis(5),
        jitter: true,
    })
}

pub fn options() -> ClientOptions {
    ClientOptions {
        transport: TransportOptions {
            retry: fast_retry(),
            ..TransportOptions::default()
        },
        cache: Arc::new(MemoryCache::new(256 << 20)),
    }
}

pub fn client(url: &str) -> Client {
    Client::new(url, options()).expect("valid url")
}

/// A server over the shared, read-only fixtures.
pub async fn fixture_server() -> support::GitServer {
    support::GitServer::start(&support::fixtures().root).await
}
