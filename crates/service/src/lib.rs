//! `RepoService`: the one entry point every door of gitapi calls.
//!
//! A door parses its protocol into validated core types, authenticates the caller
//! ([`RepoService::authenticate`]), wraps it in a [`CallContext`] (the door, a request id, an
//! optional deadline of the caller's own) and calls one method of [`RepoService`]. Every method
//! goes through one of two funnels ([`funnel`]), which in one place:
//!
//! 1. opens a tracing span with the operation, repository, door and request id;
//! 2. checks the caller's [`Scope`] on the repository;
//! 3. takes the repository's lock: shared for reads, exclusive for writes and maintenance;
//! 4. leases the serving engine once from its [`gitapi_switch::EngineSwitch`] (a switch never
//!    cuts a request: the request finishes on the engine it leased);
//! 5. runs the operation's steps (protection checks, limits, the engine call) with the
//!    request's [`gitapi_core::Deadline`] current, which the engines honour;
//! 6. publishes a [`RefEvent`] for every ref it moved, and reports the outcome to the
//!    [`Observer`]s.
//!
//! The operations live one area per file under `ops/`. No door can reach an engine except
//! through them.
//!
//! ```no_run
//! # async fn demo(
//! #     libgit2: std::sync::Arc<dyn gitapi_core::GitBackend>,
//! #     shell: std::sync::Arc<dyn gitapi_core::GitBackend>,
//! # ) -> gitapi_core::Result<()> {
//! use gitapi_service::{CallContext, Door, RepoService, RepoSource, ServiceConfig};
//! use gitapi_switch::{CanaryConfig, EngineKind, EngineSwitch};
//! let engines = EngineSwitch::new(libgit2, shell, EngineKind::Libgit2, CanaryConfig::default());
//! let svc = RepoService::new(ServiceConfig::new("/srv/gitapi"), std::sync::Arc::new(engines));
//! let who = svc.authenticate(None)?; // open local mode: no token configured
//! let cx = CallContext::new(who, Door::Internal);
//! let repo = gitapi_core::RepoName::new("demo")?;
//! svc.create_repo(&cx, &repo, RepoSource::Empty(Default::default())).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod answers;
pub mod auth;
mod cluster;
pub mod config;
pub mod context;
pub mod events;
pub mod funnel;
mod locks;
mod ops;
mod policy;
pub mod protect;
pub mod remote;
mod service;
mod slots;

pub use auth::{Authenticator, Principal, RepoPattern, Scope, TokenGrant};
pub use config::{Limits, ServiceConfig};
pub use context::{CallContext, Door, RequestId};
pub use events::{
    Change, Event, EventSubscription, RecvError, RefChangeKind, RefEvent, RepoChangeKind, RepoEvent,
};
pub use funnel::{Observer, OpKind, OpRecord};
pub use ops::archive::{Archive, ArchiveFormat};
pub use ops::transport::{
    GitProtocol, PushCommand, PushReport, PushRequest, RefAdvertisement, UploadPack,
};
pub use ops::{LIVE_BUFFER, LiveBlameQuery, LiveLogQuery, LiveUpdate, RepoSource};
pub use protect::{ProtectionRule, Protections, RefPattern};
pub use remote::{ResolveFuture, Resolver, check_remote, system_resolver};
pub use service::{DEFAULT_MEMORY_CACHE_BYTES, RepoService, ServiceBuilder};
// The engine switch's vocabulary, so doors can show and change it without depending on the
// switch itself.
pub use gitapi_switch::{CanaryConfig, CanaryMode, EngineKind, SwitchStatus};
