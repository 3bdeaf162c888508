//! The serving engine of gitapi, switchable while it serves, and the canary that compares the
//! engines on live traffic.
//!
//! - [`EngineSwitch`] holds one engine per [`EngineKind`] and which one serves. A request takes
//!   a [`Lease`] once and runs entirely on the engine it leased; a switch changes what later
//!   leases get, while leases already taken finish on the old engine (drain). In-flight leases
//!   are counted per engine.
//! - [`CanaryMode::Shadow`]: a sampled fraction of leases get a [`Canary`] decorator, which
//!   answers every call from the serving engine and, for reads, also asks the other engine off
//!   the caller's path and compares. A mismatch is counted per operation and logged with the
//!   operation and its inputs.
//! - [`CanaryMode::Route`]: a sampled fraction of leases (reads and writes) go to the other
//!   engine instead.
//!
//! Both engines work on the same data directory, so a read can race a write between the two
//! answers. Before a mismatch is counted, the serving engine is asked again: if its own answer
//! changed, the repository moved underneath and the sample is dropped as inconclusive.
#![deny(missing_docs)]

mod canary;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use gitapi_core::{Error, GitBackend, Result};
use gitapi_telemetry::names;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

pub use canary::Canary;

/// The engines gitapi has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// libgit2 in process.
    Libgit2,
    /// The git CLI.
    Shell,
}

impl EngineKind {
    /// The other engine.
    pub fn other(self) -> Self {
        match self {
            Self::Libgit2 => Self::Shell,
            Self::Shell => Self::Libgit2,
        }
    }

    /// The name used in config, environment and the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Libgit2 => "libgit2",
            Self::Shell => "shell",
        }
    }
}

impl std::str::FromStr for EngineKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "libgit2" | "git2" => Ok(Self::Libgit2),
            "shell" | "cli" | "git" => Ok(Self::Shell),
            _ => Err(Error::invalid(format!(
                "engine {s:?} is not known: use libgit2 or shell"
            ))),
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the canary does with its sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CanaryMode {
    /// Sampled reads also run on the other engine; answers are compared.
    #[default]
    Shadow,
    /// Sampled requests run on the other engine instead.
    Route,
}

/// Canary settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryConfig {
    /// The sampled fraction, 0.0 to 1.0 (default 0.01).
    pub fraction: f64,
    /// What happens to the sample.
    pub mode: CanaryMode,
}

impl Default for CanaryConfig {
    fn default() -> Self {
        Self {
            fraction: 0.01,
            mode: CanaryMode::Shadow,
        }
    }
}

/// One engine and its in-flight count.
#[derive(Debug)]
struct Slot {
    kind: EngineKind,
    engine: Arc<dyn GitBackend>,
    in_flight: AtomicUsize,
    served: AtomicU64,
}

/// Which engine serves, and since when.
#[derive(Debug)]
struct Serving {
    kind: EngineKind,
    since: SystemTime,
}

/// Counts of the canary, per operation.
#[derive(Debug, Default)]
pub(crate) struct CanaryStats {
    pub(crate) compared: Mutex<BTreeMap<&'static str, u64>>,
    pub(crate) mismatches: Mutex<BTreeMap<&'static str, u64>>,
    pub(crate) inconclusive: AtomicU64,
}

impl CanaryStats {
    pub(crate) fn count(&self, op: &'static str, mismatch: bool) {
        *self.compared.lock().entry(op).or_default() += 1;
        metrics::counter!(names::CANARY_SAMPLES, "op" => op).increment(1);
        if mismatch {
            *self.mismatches.lock().entry(op).or_default() += 1;
            metrics::counter!(names::CANARY_MISMATCHES, "op" => op).increment(1);
        }
    }
}

/// The serving engine, switchable at run time.
#[derive(Debug)]
pub struct EngineSwitch {
    slots: [Arc<Slot>; 2],
    serving: ArcSwap<Serving>,
    canary: ArcSwap<CanaryConfig>,
    stats: Arc<CanaryStats>,
    switches: AtomicU64,
}

/// A request's hold on one engine: the engine it runs on from start to end. Dropping it ends
/// the request's in-flight count on that engine.
#[derive(Debug)]
pub struct Lease {
    slot: Arc<Slot>,
    backend: Arc<dyn GitBackend>,
}

impl Lease {
    /// The engine to call (a [`Canary`] around it when this request is in the shadow sample).
    pub fn backend(&self) -> &Arc<dyn GitBackend> {
        &self.backend
    }

    /// Which engine serves this request.
    pub fn kind(&self) -> EngineKind {
        self.slot.kind
    }
}

impl std::ops::Deref for Lease {
    type Target = dyn GitBackend;
    fn deref(&self) -> &Self::Target {
        self.backend.as_ref()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.slot.in_flight.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!(names::ENGINE_IN_FLIGHT, "engine" => self.slot.kind.as_str())
            .decrement(1.0);
    }
}

/// The state of the switch, for the admin API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SwitchStatus {
    /// The engine new requests go to.
    pub backend: EngineKind,
    /// When it started serving.
    pub switched_at: SystemTime,
    /// How many switches since start.
    pub switches: u64,
    /// Requests in flight per engine.
    pub in_flight: BTreeMap<EngineKind, usize>,
    /// Requests served per engine since start.
    pub served: BTreeMap<EngineKind, u64>,
    /// The canary's settings.
    pub canary: CanaryConfig,
    /// Answers compared by the canary, per operation.
    pub canary_compared: BTreeMap<String, u64>,
    /// Mismatches found by the canary, per operation.
    pub canary_mismatches: BTreeMap<String, u64>,
    /// Samples dropped because the repository changed between the answers.
    pub canary_inconclusive: u64,
}

impl EngineSwitch {
    /// A switch over both engines, `serving` first.
    pub fn new(
        libgit2: Arc<dyn GitBackend>,
        shell: Arc<dyn GitBackend>,
        serving: EngineKind,
        canary: CanaryConfig,
    ) -> Self {
        let slot = |kind, engine| {
            Arc::new(Slot {
                kind,
                engine,
                in_flight: AtomicUsize::new(0),
                served: AtomicU64::new(0),
            })
        };
        Self {
            slots: [
                slot(EngineKind::Libgit2, libgit2),
                slot(EngineKind::Shell, shell),
            ],
            serving: ArcSwap::from_pointee(Serving {
                kind: serving,
                since: SystemTime::now(),
            }),
            canary: ArcSwap::from_pointee(canary),
            stats: Arc::new(CanaryStats::default()),
            switches: AtomicU64::new(0),
        }
    }

    fn slot(&self, kind: EngineKind) -> &Arc<Slot> {
        match kind {
            EngineKind::Libgit2 => &self.slots[0],
            EngineKind::Shell => &self.slots[1],
        }
    }

    /// Takes a lease on the serving engine (or, when sampled, the canary's choice).
    pub fn lease(&self) -> Lease {
        let serving = self.serving.load().kind;
        let canary = **self.canary.load();
        let sampled = canary.fraction > 0.0 && fastrand::f64() < canary.fraction;
        let kind = match (sampled, canary.mode) {
            (true, CanaryMode::Route) => serving.other(),
            _ => serving,
        };
        let slot = Arc::clone(self.slot(kind));
        slot.in_flight.fetch_add(1, Ordering::AcqRel);
        metrics::gauge!(names::ENGINE_IN_FLIGHT, "engine" => kind.as_str()).increment(1.0);
        slot.served.fetch_add(1, Ordering::Relaxed);
        let backend: Arc<dyn GitBackend> = if sampled && canary.mode == CanaryMode::Shadow {
            Arc::new(Canary::new(
                Arc::clone(&slot.engine),
                Arc::clone(&self.slot(kind.other()).engine),
                Arc::clone(&self.stats),
            ))
        } else {
            Arc::clone(&slot.engine)
        };
        Lease { slot, backend }
    }

    /// Makes `kind` serve new requests; requests in flight finish where they started. Returns
    /// whether anything changed.
    pub fn switch(&self, kind: EngineKind) -> bool {
        if self.serving.load().kind == kind {
            return false;
        }
        self.serving.store(Arc::new(Serving {
            kind,
            since: SystemTime::now(),
        }));
        self.switches.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// The engine serving new requests.
    pub fn serving(&self) -> EngineKind {
        self.serving.load().kind
    }

    /// Changes the canary's settings.
    pub fn set_canary(&self, canary: CanaryConfig) -> Result<()> {
        if !(0.0..=1.0).contains(&canary.fraction) || canary.fraction.is_nan() {
            return Err(Error::invalid("canary fraction must be between 0 and 1"));
        }
        self.canary.store(Arc::new(canary));
        Ok(())
    }

    /// The engine of one kind, for callers that must reach both (maintenance, tests).
    pub fn engine(&self, kind: EngineKind) -> Arc<dyn GitBackend> {
        Arc::clone(&self.slot(kind).engine)
    }

    /// The state, for the admin API and metrics.
    pub fn status(&self) -> SwitchStatus {
        let serving = self.serving.load();
        let map = |f: &dyn Fn(&Slot) -> u64| {
            self.slots
                .iter()
                .map(|s| (s.kind, f(s)))
                .collect::<BTreeMap<_, _>>()
        };
        let to_strings = |m: &BTreeMap<&'static str, u64>| {
            m.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
        };
        SwitchStatus {
            backend: serving.kind,
            switched_at: serving.since,
            switches: self.switches.load(Ordering::Relaxed),
            in_flight: map(&|s| s.in_flight.load(Ordering::Acquire) as u64)
                .into_iter()
                .map(|(k, v)| (k, usize::try_from(v).unwrap_or(usize::MAX)))
                .collect(),
            served: map(&|s| s.served.load(Ordering::Relaxed)),
            canary: **self.canary.load(),
            canary_compared: to_strings(&self.stats.compared.lock()),
            canary_mismatches: to_strings(&self.stats.mismatches.lock()),
            canary_inconclusive: self.stats.inconclusive.load(Ordering::Relaxed),
        }
    }
}
