//! [`RepoService`] itself: construction, the parts the funnel and the operations share, the
//! caller-checked administration of the engines, and events.

use std::sync::Arc;

use gitapi_core::{Error, ErrorKind, Layout, RepoName, Result};
use gitapi_switch::{CanaryConfig, EngineKind, EngineSwitch, Lease, SwitchStatus};

use crate::answers::Answers;
use crate::auth::{Authenticator, Principal, Scope};
use crate::config::{Limits, ServiceConfig};
use crate::context::CallContext;
use crate::events::{EventBus, EventSubscription};
use crate::funnel::Observer;
use crate::locks::RepoLocks;
use crate::protect::ProtectionStore;
use crate::remote::{Resolver, system_resolver};
use crate::slots::TransferSlots;

/// The one entry point every door calls.
///
/// Every operation goes through one of two funnels (see [`crate::funnel`]): the caller's
/// scope, the repository's lock, one engine lease, a span, the deadline, observers and the
/// events of the refs it moved are handled there, once. The operations themselves live in
/// one file per area under `ops/`.
///
/// No raw engine is reachable through it: a door can only call operations, each of which
/// checks the caller.
#[derive(Clone)]
pub struct RepoService {
    inner: Arc<Inner>,
}

struct Inner {
    switch: Arc<EngineSwitch>,
    layout: Layout,
    config: ServiceConfig,
    auth: Authenticator,
    locks: Arc<RepoLocks>,
    events: EventBus,
    protections: ProtectionStore,
    resolver: Resolver,
    observers: Arc<[Arc<dyn Observer>]>,
    /// Kills the service's own git processes (pack transfers) at their deadline.
    dog: gitapi_gitcmd::Watchdog,
    slots: TransferSlots,
    answers: Arc<Answers>,
}

impl std::fmt::Debug for RepoService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Reads the switch's status rather than leasing an engine, so formatting the service
        // never counts as a request served.
        f.debug_struct("RepoService")
            .field("engine", &self.inner.switch.serving().as_str())
            .field("data_dir", &self.inner.layout.root())
            .field("open", &self.inner.auth.is_open())
            .finish_non_exhaustive()
    }
}

impl RepoService {
    /// A service over the engines of `switch` with the system resolver for clone sources.
    pub fn new(config: ServiceConfig, switch: Arc<EngineSwitch>) -> Self {
        Self::builder(config, switch).build()
    }

    /// A service with a given resolver for clone sources (tests use a fake one).
    pub fn with_resolver(
        config: ServiceConfig,
        switch: Arc<EngineSwitch>,
        resolver: Resolver,
    ) -> Self {
        Self::builder(config, switch).resolver(resolver).build()
    }

    /// A builder, for observers and a resolver.
    pub fn builder(config: ServiceConfig, switch: Arc<EngineSwitch>) -> ServiceBuilder {
        ServiceBuilder {
            config,
            switch,
            resolver: None,
            observers: Vec::new(),
            cache: None,
        }
    }

    /// Which engine serves, since when, requests in flight per engine, and the canary's counts.
    /// Needs admin scope on every repository.
    pub fn backend_status(&self, cx: &CallContext) -> Result<SwitchStatus> {
        cx.principal().require_server_admin()?;
        Ok(self.inner.switch.status())
    }

    /// Switches the serving engine and/or changes the canary. Requests in flight finish on the
    /// engine they started on; new ones go to the new engine. Needs admin scope on every
    /// repository.
    pub fn set_backend(
        &self,
        cx: &CallContext,
        backend: Option<EngineKind>,
        canary: Option<CanaryConfig>,
    ) -> Result<SwitchStatus> {
        cx.principal().require_server_admin()?;
        if let Some(c) = canary {
            self.inner.switch.set_canary(c)?;
        }
        if let Some(kind) = backend
            && self.inner.switch.switch(kind)
        {
            tracing::info!(
                engine = kind.as_str(),
                by = cx.principal().name(),
                door = cx.door().as_str(),
                request_id = %cx.request_id(),
                "switched engine"
            );
        }
        Ok(self.inner.switch.status())
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.inner.config.limits
    }

    /// Whether no token is configured (open local mode).
    pub fn is_open(&self) -> bool {
        self.inner.auth.is_open()
    }

    /// Authenticates the value of an `Authorization` header.
    pub fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Principal> {
        self.inner.auth.authenticate(authorization)
    }

    /// `Ok` when the data directory is reachable (readiness).
    pub async fn ready(&self) -> Result<()> {
        let root = self.inner.layout.root().to_owned();
        tokio::fs::metadata(&root).await.map_err(|e| {
            Error::new(
                ErrorKind::Unavailable,
                format!("data directory {} is not reachable: {e}", root.display()),
            )
        })?;
        Ok(())
    }

    /// Events of every repository the caller may read: from now on, or with `after` (the
    /// number of the last event the caller saw) the kept events after it first. Events of
    /// repositories it may not read are never shown to it.
    pub fn subscribe(&self, cx: &CallContext, after: Option<u64>) -> EventSubscription {
        EventSubscription::new(
            self.inner.events.subscribe(after),
            cx.principal().clone(),
            None,
        )
    }

    /// Events of one repository, as [`RepoService::subscribe`]; needs read scope on it.
    pub fn subscribe_repo(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        after: Option<u64>,
    ) -> Result<EventSubscription> {
        cx.principal().require(Scope::Read, repo)?;
        Ok(EventSubscription::new(
            self.inner.events.subscribe(after),
            cx.principal().clone(),
            Some(repo.clone()),
        ))
    }

    /// Ends every event subscription (each stream of every door ends), so a shutting-down
    /// server is not held open by idle subscribers.
    pub fn close_streams(&self) {
        self.inner.events.close();
    }

    /// How often an idle event stream sends a heartbeat.
    pub fn event_heartbeat(&self) -> std::time::Duration {
        self.inner.config.event_heartbeat
    }

    // --- Shared with the funnel and the operations ---

    pub(crate) fn lease(&self) -> Lease {
        self.inner.switch.lease()
    }

    pub(crate) fn locks(&self) -> &Arc<RepoLocks> {
        &self.inner.locks
    }

    pub(crate) fn events(&self) -> &EventBus {
        &self.inner.events
    }

    pub(crate) fn observers(&self) -> Arc<[Arc<dyn Observer>]> {
        Arc::clone(&self.inner.observers)
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.inner.layout
    }

    pub(crate) fn config(&self) -> &ServiceConfig {
        &self.inner.config
    }

    pub(crate) fn protection_store(&self) -> &ProtectionStore {
        &self.inner.protections
    }

    pub(crate) fn resolver(&self) -> &Resolver {
        &self.inner.resolver
    }

    pub(crate) fn watchdog(&self) -> &gitapi_gitcmd::Watchdog {
        &self.inner.dog
    }

    pub(crate) fn slots(&self) -> &TransferSlots {
        &self.inner.slots
    }

    pub(crate) fn answers(&self) -> &Arc<Answers> {
        &self.inner.answers
    }

    /// The cache's levels with their hits and misses (for the operator and the benchmarks).
    pub fn cache_stats(&self) -> Vec<gitapi_cache::LevelStats> {
        self.inner.answers.cache().stats()
    }

    /// Waits until the cache's queued writes (store, Redis) are done.
    pub async fn flush_cache(&self) {
        self.inner.answers.cache().flush().await;
    }
}

/// The memory a service built without [`ServiceBuilder::cache`] gives its answer cache.
pub const DEFAULT_MEMORY_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Builds a [`RepoService`] with optional parts.
pub struct ServiceBuilder {
    config: ServiceConfig,
    switch: Arc<EngineSwitch>,
    resolver: Option<Resolver>,
    observers: Vec<Arc<dyn Observer>>,
    cache: Option<gitapi_cache::Cache>,
}

impl std::fmt::Debug for ServiceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceBuilder")
            .field("data_dir", &self.config.data_dir)
            .field("observers", &self.observers)
            .finish_non_exhaustive()
    }
}

impl ServiceBuilder {
    /// Resolves clone sources with `resolver` instead of the system's.
    pub fn resolver(mut self, resolver: Resolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// Adds an observer that sees every operation when it ends.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observers.push(observer);
        self
    }

    /// Answers reads from `cache` (see `answers`); without it, a memory cache of
    /// [`DEFAULT_MEMORY_CACHE_BYTES`]. [`gitapi_cache::Cache::disabled`] turns caching off.
    pub fn cache(mut self, cache: gitapi_cache::Cache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The service.
    pub fn build(self) -> RepoService {
        let layout = Layout::new(self.config.data_dir.clone());
        let protections = ProtectionStore::new(layout.root().join("state").join("protections"));
        let limits = &self.config.limits;
        let slots = TransferSlots::new(
            limits.max_transfers,
            limits.max_transfers_per_repo,
            limits.transfer_queue,
        );
        RepoService {
            inner: Arc::new(Inner {
                switch: self.switch,
                auth: Authenticator::new(self.config.tokens.clone()),
                events: EventBus::new(self.config.event_capacity),
                locks: Arc::new(RepoLocks::default()),
                protections,
                resolver: self.resolver.unwrap_or_else(system_resolver),
                observers: self.observers.into(),
                dog: gitapi_gitcmd::Watchdog::new(),
                slots,
                answers: Arc::new(Answers::new(
                    self.cache
                        .unwrap_or_else(|| gitapi_cache::Cache::memory(DEFAULT_MEMORY_CACHE_BYTES)),
                    layout.clone(),
                )),
                layout,
                config: self.config,
            }),
        }
    }
}
