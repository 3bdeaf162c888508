//! Several gitapi nodes over one data directory, joined through the shared cache's Redis.
//!
//! Two things cross between nodes:
//!
//! - **ref versions**: a shared counter per repository that every write increments before it
//!   answers and every cached read reads (see `answers`), so a node never answers from a
//!   resolution another node's write made stale;
//! - **events**: each node publishes its ref and repository changes on one Redis channel and
//!   delivers the other nodes' changes to its own subscribers, so a live stream on node B
//!   hears a commit made through node A. Redis pub/sub delivers at most once: a node that was
//!   disconnected misses what was published meanwhile (it subscribes again and logs it).

use futures::StreamExt as _;
use serde::{Deserialize, Serialize};

use crate::events::Change;
use crate::service::RepoService;

/// The Redis channel the nodes' events travel on (under the cache's key prefix).
const CHANNEL: &str = "events";

/// A change as it travels: which node made it, so that node does not deliver it twice.
#[derive(Debug, Serialize, Deserialize)]
struct Relayed {
    node: String,
    change: Change,
}

impl RepoService {
    /// Starts carrying events to and from the other nodes when the cache is shared (Redis);
    /// does nothing otherwise. Call once, inside the runtime, before serving.
    pub fn join_cluster(&self) {
        let cache = self.answers().cache().clone();
        if !cache.is_shared() {
            return;
        }
        let node = crate::context::RequestId::generate().as_str().to_owned();
        tracing::info!(node, "cluster: carrying events between nodes through Redis");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Change>();
        self.events().set_relay(tx);
        let out_cache = cache.clone();
        let out_node = node.clone();
        tokio::spawn(async move {
            while let Some(change) = rx.recv().await {
                let relayed = Relayed {
                    node: out_node.clone(),
                    change,
                };
                if let Ok(payload) = serde_json::to_vec(&relayed) {
                    out_cache.publish(CHANNEL, &payload).await;
                }
            }
        });
        let events = self.events().clone();
        tokio::spawn(async move {
            loop {
                match cache.subscribe(CHANNEL).await {
                    Ok(mut messages) => {
                        while let Some(payload) = messages.next().await {
                            match serde_json::from_slice::<Relayed>(&payload) {
                                Ok(r) if r.node != node => events.inject(r.change),
                                Ok(_) => {}
                                Err(error) => {
                                    tracing::warn!(%error, "cluster: an event that does not parse")
                                }
                            }
                        }
                        tracing::warn!(
                            "cluster: the event subscription ended; events of other nodes published until it is back are missed"
                        );
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cluster: subscribing to other nodes' events failed")
                    }
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
    }
}
