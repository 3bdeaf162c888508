//! Test support for gitapi: a hermetic git CLI runner with fixture builders ([`git`]), and the
//! conformance suite that every [`gitapi_core::GitBackend`] must pass ([`conformance`]), with
//! the real git CLI as the oracle.
//!
//! An engine crate runs the suite with one line in `tests/conformance.rs`:
//!
//! ```ignore
//! gitapi_testkit::conformance_suite!(|dir: &std::path::Path| {
//!     std::sync::Arc::new(my_engine::Engine::new(dir)) as std::sync::Arc<dyn gitapi_core::GitBackend>
//! });
//! ```
//!
//! This crate is test support: its helpers panic with a message that says what failed instead of
//! returning errors.

pub mod bigrepo;
pub mod conformance;
pub mod git;
pub mod operations;
