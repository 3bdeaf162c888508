//! `RepoService`: the one entry point every door of gitapi calls.
//!
//! A door parses its protocol into validated core types, authenticates the caller
//! ([`RepoService::authenticate`]) and calls one method of [`RepoService`]. The service then,
//! in order:
//!
//! 1. checks the caller's [`Scope`] on the repository ([`Principal::require`]);
//! 2. takes the repository's lock: shared for reads, exclusive for writes and maintenance;
//! 3. leases the serving engine once from its [`gitapi_switch::EngineSwitch`] (a switch never
//!    cuts a request: the request finishes on the engine it leased);
//! 4. checks protection rules ([`ProtectionRule`]) and limits ([`Limits`]);
//! 5. calls the engine, under a deadline for expensive operations (blame, diff, log with a
//!    path, merge, rebase, gc, cherry-pick, revert, clone);
//! 6. publishes a [`RefEvent`] for every ref it changed.
//!
//! Blocking engine work runs on the engine's bounded blocking pool (the libgit2 engine bounds
//! it with a semaphore); the service itself only does small file operations, on tokio's
//! blocking pool.
//!
//! ```no_run
//! # async fn demo(
//! #     libgit2: std::sync::Arc<dyn gitapi_core::GitBackend>,
//! #     shell: std::sync::Arc<dyn gitapi_core::GitBackend>,
//! # ) -> gitapi_core::Result<()> {
//! use gitapi_service::{RepoService, RepoSource, ServiceConfig};
//! use gitapi_switch::{CanaryConfig, EngineKind, EngineSwitch};
//! let engines = EngineSwitch::new(libgit2, shell, EngineKind::Libgit2, CanaryConfig::default());
//! let svc = RepoService::new(ServiceConfig::new("/srv/gitapi"), std::sync::Arc::new(engines));
//! let who = svc.authenticate(None)?; // open local mode: no token configured
//! let repo = gitapi_core::RepoName::new("demo")?;
//! svc.create_repo(&who, &repo, RepoSource::Empty(Default::default())).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod auth;
pub mod config;
pub mod events;
mod locks;
pub mod protect;
pub mod remote;
mod service;

pub use auth::{Authenticator, Principal, RepoPattern, Scope, TokenGrant};
pub use config::{Limits, ServiceConfig};
pub use events::{EventBus, RefChangeKind, RefEvent};
pub use protect::{ProtectionRule, Protections, RefPattern};
pub use remote::{ResolveFuture, Resolver, check_remote, system_resolver};
pub use service::{RepoService, RepoSource, decode_cursor, encode_cursor};
