//! The caller's deadline, carried from the service down to the engines.
//!
//! The service runs every engine call inside [`Deadline::scope`]; an engine reads it with
//! [`Deadline::current`] (before it moves work to a blocking thread, since task-locals do not
//! follow `spawn_blocking`) and honours it where it can stop safely:
//!
//! - a git process gets the remaining time as its own deadline and is killed with its process
//!   group when it runs out;
//! - in-process work checks [`Deadline::check`] at its checkpoints (each commit of a walk, each
//!   file of a diff) and stops with [`ErrorKind::Timeout`];
//! - a write checks the deadline for the last time just before its point of no return (the
//!   ref update) and never after it, so a write either lands and answers success or answers
//!   `Timeout` with no ref moved.
//!
//! Passing the deadline through a task-local keeps the 60-method [`crate::GitBackend`] trait free
//! of a parameter that every method would only forward.
//!
//! ```
//! use std::time::Duration;
//! use gitapi_core::Deadline;
//! # futures::executor::block_on(async {
//! let d = Deadline::after(Duration::from_secs(5));
//! let seen = d.scope(async { Deadline::current() }).await;
//! assert!(seen.remaining().is_some());
//! assert!(Deadline::current().remaining().is_none()); // outside any scope: no deadline
//! # });
//! ```

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};

tokio::task_local! {
    // A cell, so that [`Deadline::land`] can lift the deadline for the rest of the scope.
    static CURRENT: std::cell::Cell<Deadline>;
}

/// When the work done for one request must stop; [`Deadline::NONE`] for no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deadline {
    at: Option<Instant>,
}

impl Deadline {
    /// No deadline: maintenance and work outside a request.
    pub const NONE: Deadline = Deadline { at: None };

    /// A deadline `d` from now.
    pub fn after(d: Duration) -> Self {
        Self {
            at: Instant::now().checked_add(d),
        }
    }

    /// A deadline at an instant.
    pub fn at(at: Instant) -> Self {
        Self { at: Some(at) }
    }

    /// The instant, `None` for no deadline.
    pub fn instant(&self) -> Option<Instant> {
        self.at
    }

    /// The time left (zero once passed), `None` for no deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }

    /// `Err(Timeout)` once the deadline has passed; engines call it at their checkpoints.
    pub fn check(&self, what: &str) -> Result<()> {
        if self.expired() {
            Err(Error::new(
                ErrorKind::Timeout,
                format!("{what} was stopped at the request's deadline"),
            ))
        } else {
            Ok(())
        }
    }

    /// The earlier of two deadlines.
    pub fn min(self, other: Deadline) -> Deadline {
        match (self.at, other.at) {
            (Some(a), Some(b)) => Deadline { at: Some(a.min(b)) },
            (Some(a), None) | (None, Some(a)) => Deadline { at: Some(a) },
            (None, None) => Deadline::NONE,
        }
    }

    /// The deadline of the running task ([`Deadline::NONE`] outside any scope).
    pub fn current() -> Deadline {
        CURRENT.try_with(|d| d.get()).unwrap_or(Deadline::NONE)
    }

    /// Marks the current write as landed: its point of no return (the ref update) has passed,
    /// so the rest of the scope (reading the new commit back, reflogs, answers) runs without a
    /// deadline. A write that landed must answer success, never `Timeout`.
    pub fn land() {
        let _ = CURRENT.try_with(|d| d.set(Deadline::NONE));
    }

    /// Runs `fut` with this deadline as the current one.
    pub async fn scope<F: Future>(self, fut: F) -> F::Output {
        CURRENT.scope(std::cell::Cell::new(self), fut).await
    }

    /// Runs `f` on this thread with this deadline as the current one: how an engine hands the
    /// deadline it captured on the task to the blocking thread it moved the work to.
    pub fn sync_scope<R>(self, f: impl FnOnce() -> R) -> R {
        CURRENT.sync_scope(std::cell::Cell::new(self), f)
    }

    /// Wraps a stream so every poll of it sees this deadline as the current one.
    pub fn scope_stream<S: futures::Stream + Send + 'static>(
        self,
        stream: S,
    ) -> futures::stream::BoxStream<'static, S::Item> {
        use futures::StreamExt;
        let mut stream = Box::pin(stream);
        futures::stream::poll_fn(move |cx| {
            CURRENT.sync_scope(std::cell::Cell::new(self), || stream.as_mut().poll_next(cx))
        })
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_never_expires() {
        assert!(!Deadline::NONE.expired());
        assert!(Deadline::NONE.check("x").is_ok());
        assert_eq!(Deadline::NONE.remaining(), None);
    }

    #[test]
    fn a_passed_deadline_is_a_timeout() {
        let d = Deadline::at(Instant::now());
        assert!(d.expired());
        assert_eq!(
            d.check("walk").map_err(|e| e.kind()),
            Err(ErrorKind::Timeout)
        );
    }

    #[test]
    fn a_landed_write_runs_on_without_its_deadline() {
        let d = Deadline::at(Instant::now());
        d.sync_scope(|| {
            assert!(Deadline::current().expired());
            Deadline::land();
            assert_eq!(Deadline::current(), Deadline::NONE);
        });
    }

    #[test]
    fn min_takes_the_earlier() {
        let a = Deadline::after(Duration::from_secs(1));
        let b = Deadline::after(Duration::from_secs(100));
        assert_eq!(a.min(b), a);
        assert_eq!(Deadline::NONE.min(b), b);
    }

    #[test]
    fn sync_scope_is_seen_on_the_thread() {
        let d = Deadline::after(Duration::from_secs(7));
        assert_eq!(d.sync_scope(Deadline::current), d);
        assert_eq!(Deadline::current(), Deadline::NONE);
    }
}
