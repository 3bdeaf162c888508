//! The two funnels every operation passes through: read and write (maintenance is a write with
//! a longer deadline).
//!
//! [`RepoService::read`] and [`RepoService::write`] do, in one place and in this order:
//!
//! 1. open a tracing span (`op`, `repo`, `door`, `request_id`, then `engine`);
//! 2. check the caller's scope on the repository;
//! 3. choose the deadline: the earlier of the caller's and the service's for the operation's
//!    kind (the request deadline for reads and writes, the maintenance deadline for clone,
//!    mirror sync and gc);
//! 4. take the repository's lock (shared for reads, exclusive otherwise), waiting at most until
//!    the deadline;
//! 5. lease the serving engine once; the operation finishes on it whatever switches happen.
//!
//! The operation then runs its engine calls through [`Op::run`], which makes the deadline the
//! current one for the engine ([`Deadline::scope`]). The two kinds differ in what happens at
//! the deadline:
//!
//! - a **read** is answered `Timeout` at the deadline and its future is dropped; the engine
//!   sees the same deadline and stops its own work (git processes are killed, in-process work
//!   stops at its next checkpoint), so nothing keeps running for an answer nobody waits for;
//! - a **write** is never answered before the engine returns: the engine checks the deadline
//!   up to its point of no return (the ref update) and answers `Timeout` with nothing moved,
//!   or finishes and answers success. The lock is held throughout, so a write never answers
//!   `Timeout` and lands later.
//!
//! When the [`Op`] is dropped its outcome and timings go to the [`Observer`]s (metrics, and
//! later caches), and its lock and lease are released.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use futures::stream::BoxStream;
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard};
use tracing::Instrument;

use gitapi_core::{Deadline, Error, ErrorKind, Oid, RefName, RepoName, Result};
use gitapi_switch::Lease;
use gitapi_telemetry::names;

use crate::auth::Scope;
use crate::context::{CallContext, Door};
use crate::events::EventBus;
use crate::service::RepoService;

/// What an operation does to a repository; it decides the lock and the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// Reads: shared lock, request deadline, answered `Timeout` at the deadline.
    Read,
    /// Writes: exclusive lock, request deadline honoured by the engine up to its point of no
    /// return, never answered before the engine returns.
    Write,
    /// Clone, mirror sync, gc: a write under the (long) maintenance deadline.
    Maintenance,
    /// A Smart HTTP pack transfer (clone, fetch, push): no lock while the pack moves (git's
    /// object store is safe to read while it is written, and a slow client must not hold up
    /// every writer), the transfer deadline, and a transfer slot. A push takes the exclusive
    /// lock only to check and move its refs ([`Op::exclusive`]).
    Transfer,
}

impl OpKind {
    /// The label used in spans and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Maintenance => "maintenance",
            Self::Transfer => "transfer",
        }
    }
}

/// One finished operation, as observers see it.
#[derive(Debug, Clone)]
pub struct OpRecord {
    /// The operation's name (`get_ref`, `commit_files`, …).
    pub op: &'static str,
    /// Read, write or maintenance.
    pub kind: OpKind,
    /// The door it came through.
    pub door: Door,
    /// The engine that served it.
    pub engine: &'static str,
    /// The repository.
    pub repo: RepoName,
    /// Time spent waiting for the repository's lock.
    pub lock_wait: Duration,
    /// Time from the lock to the end.
    pub elapsed: Duration,
    /// `None` on success; the error's kind otherwise. An operation whose caller went away
    /// before it finished is recorded as [`ErrorKind::Unavailable`].
    pub error: Option<ErrorKind>,
}

/// Sees every operation when it ends: the hook for metrics (and, later, caches).
pub trait Observer: Send + Sync + std::fmt::Debug {
    /// Called once per operation, when it ends (on the task that ran it; keep it cheap).
    fn finished(&self, record: &OpRecord);
}

enum RepoGuard {
    None,
    Shared(#[allow(dead_code)] OwnedRwLockReadGuard<()>),
    Exclusive(#[allow(dead_code)] OwnedRwLockWriteGuard<()>),
}

/// An operation in flight: it holds the repository's lock and the engine lease until dropped.
pub(crate) struct Op {
    /// The engine leased for this operation.
    pub(crate) e: Lease,
    name: &'static str,
    kind: OpKind,
    door: Door,
    repo: RepoName,
    deadline: Deadline,
    span: tracing::Span,
    lock_wait: Duration,
    started: Instant,
    outcome: Mutex<Outcome>,
    /// Set once the write's point of no return has passed (see [`Op::commit`]).
    landed: AtomicBool,
    events: EventBus,
    observers: Arc<[Arc<dyn Observer>]>,
    locks: Arc<crate::locks::RepoLocks>,
    answers: Arc<crate::answers::Answers>,
    guard: RepoGuard,
}

#[derive(Clone, Copy)]
enum Outcome {
    Pending,
    Ok,
    Err(ErrorKind),
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Op")
            .field("op", &self.name)
            .field("repo", &self.repo)
            .field("engine", &self.e.name())
            .finish_non_exhaustive()
    }
}

pub(crate) fn timeout_error(what: &str) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!("{what} ran past the request's deadline and was stopped"),
    )
}

impl RepoService {
    /// Enters the read funnel: scope `read`, shared lock, request deadline.
    pub(crate) async fn read(
        &self,
        cx: &CallContext,
        name: &'static str,
        repo: &RepoName,
    ) -> Result<Op> {
        self.enter(cx, name, OpKind::Read, Scope::Read, repo).await
    }

    /// Enters the write funnel: `scope` (write or admin), exclusive lock, request deadline.
    pub(crate) async fn write(
        &self,
        cx: &CallContext,
        name: &'static str,
        scope: Scope,
        repo: &RepoName,
    ) -> Result<Op> {
        self.enter(cx, name, OpKind::Write, scope, repo).await
    }

    /// Enters the funnel of a pack transfer: `scope`, no lock, the transfer deadline.
    pub(crate) async fn transfer(
        &self,
        cx: &CallContext,
        name: &'static str,
        scope: Scope,
        repo: &RepoName,
    ) -> Result<Op> {
        self.enter(cx, name, OpKind::Transfer, scope, repo).await
    }

    /// Enters the write funnel for maintenance: exclusive lock, maintenance deadline.
    pub(crate) async fn maintain(
        &self,
        cx: &CallContext,
        name: &'static str,
        scope: Scope,
        repo: &RepoName,
    ) -> Result<Op> {
        self.enter(cx, name, OpKind::Maintenance, scope, repo).await
    }

    async fn enter(
        &self,
        cx: &CallContext,
        name: &'static str,
        kind: OpKind,
        scope: Scope,
        repo: &RepoName,
    ) -> Result<Op> {
        let span = tracing::info_span!(
            "op",
            op = name,
            kind = kind.as_str(),
            repo = %repo,
            door = cx.door().as_str(),
            request_id = %cx.request_id(),
            who = cx.principal().name(),
            engine = tracing::field::Empty,
        );
        cx.principal().require(scope, repo)?;
        let limits = self.limits();
        let own = match kind {
            OpKind::Read | OpKind::Write => limits.deadline,
            OpKind::Maintenance => limits.maintenance_deadline,
            OpKind::Transfer => limits.transfer_deadline,
        };
        let deadline = cx.deadline().min(Deadline::after(own));
        let asked = Instant::now();
        let locks = self.locks();
        let lock = async {
            match kind {
                OpKind::Transfer => RepoGuard::None,
                OpKind::Read => RepoGuard::Shared(locks.read(repo).await),
                OpKind::Write | OpKind::Maintenance => {
                    RepoGuard::Exclusive(locks.write(repo).await)
                }
            }
        };
        // Waiting for the lock counts against the deadline: a write that times out here has
        // done nothing.
        let guard = match deadline.remaining() {
            Some(left) => tokio::time::timeout(left, lock)
                .instrument(span.clone())
                .await
                .map_err(|_| timeout_error(name))?,
            None => lock.instrument(span.clone()).await,
        };
        let e = self.lease();
        span.record("engine", e.name());
        gitapi_telemetry::note_operation(name, repo.as_str(), e.name());
        Ok(Op {
            e,
            name,
            kind,
            door: cx.door(),
            repo: repo.clone(),
            deadline,
            span,
            lock_wait: asked.elapsed(),
            started: Instant::now(),
            outcome: Mutex::new(Outcome::Pending),
            landed: AtomicBool::new(false),
            events: self.events().clone(),
            observers: self.observers(),
            locks: Arc::clone(locks),
            answers: Arc::clone(self.answers()),
            guard,
        })
    }
}

impl Op {
    /// Takes the repository's exclusive lock for the rest of the operation (a push, once its
    /// pack is in quarantine, to check and move its refs), waiting at most until the deadline.
    pub(crate) async fn exclusive(&mut self) -> Result<()> {
        if matches!(self.guard, RepoGuard::Exclusive(_)) {
            return Ok(());
        }
        self.guard = RepoGuard::None;
        let asked = Instant::now();
        let lock = self.locks.write(&self.repo);
        let guard = match self.deadline.remaining() {
            Some(left) => tokio::time::timeout(left, lock)
                .await
                .map_err(|_| timeout_error(self.name))?,
            None => lock.await,
        };
        self.lock_wait += asked.elapsed();
        self.guard = RepoGuard::Exclusive(guard);
        Ok(())
    }

    /// The operation's name.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// The operation's deadline.
    pub(crate) fn deadline(&self) -> Deadline {
        self.deadline
    }

    /// Runs one step of the operation (an engine call, a protection check) with the
    /// operation's deadline current, inside its span; see the module doc for what the
    /// deadline does to reads and writes.
    pub(crate) async fn run<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        // Once a write has landed, what is left (reading the ref back, events) must not turn
        // its success into a `Timeout`.
        let deadline = if self.landed.load(Ordering::Acquire) {
            Deadline::NONE
        } else {
            self.deadline
        };
        let fut = deadline.scope(fut).instrument(self.span.clone());
        let out = match (self.kind, deadline.remaining()) {
            (OpKind::Read, Some(left)) => tokio::time::timeout(left, fut)
                .await
                .unwrap_or_else(|_| Err(timeout_error(self.name))),
            _ => fut.await,
        };
        if let Err(e) = &out {
            self.record(Outcome::Err(e.kind()));
        }
        out
    }

    /// Runs the step that makes a write land (the engine call that moves refs). The engine
    /// honours the deadline up to its point of no return; once this returns `Ok`, later steps
    /// of the operation run without a deadline, so a landed write always answers success.
    pub(crate) async fn commit<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        let out = self.run(fut).await;
        if out.is_ok() {
            self.landed.store(true, Ordering::Release);
            // Before the answer leaves: a read after it (on any node) resolves anew.
            self.answers.bump(&self.repo).await;
        }
        out
    }

    /// Ends the operation with its answer (recorded for the observers).
    pub(crate) fn finish<T>(self, out: Result<T>) -> Result<T> {
        self.record(match &out {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Err(e.kind()),
        });
        out
    }

    /// Publishes the event of a ref this operation moved (nothing when `old == new`).
    pub(crate) fn moved(&self, name: &RefName, old: Option<Oid>, new: Option<Oid>) {
        self.events.publish(&self.repo, name, old, new);
    }

    /// Publishes that this operation created or deleted its repository.
    pub(crate) fn repo_changed(&self, kind: crate::events::RepoChangeKind) {
        self.events.publish_repo(&self.repo, kind);
    }

    /// Makes `stream` own this operation: the lock and the lease are held until the stream
    /// ends or is dropped, each poll sees the deadline, and at the deadline the stream yields
    /// one `Timeout` error and ends.
    pub(crate) fn hold<T: Send + 'static>(
        self,
        stream: BoxStream<'static, Result<T>>,
    ) -> BoxStream<'static, Result<T>> {
        let sleep = self
            .deadline
            .instant()
            .map(|at| Box::pin(tokio::time::sleep_until(at.into())));
        Box::pin(Held {
            inner: self.deadline.scope_stream(stream),
            sleep,
            op: Some(self),
        })
    }

    fn record(&self, outcome: Outcome) {
        let mut slot = self
            .outcome
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = outcome;
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        if matches!(self.kind, OpKind::Write | OpKind::Maintenance) {
            // Every write, even one that failed or did not use `commit`, may have moved a
            // ref: this node's resolutions of the repository are dropped. A pack transfer
            // moves refs only through `commit` (a push), so a clone or fetch keeps them.
            self.answers.bump_local(&self.repo);
        }
        let outcome = *self
            .outcome
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let error = match outcome {
            Outcome::Ok => None,
            Outcome::Err(kind) => Some(kind),
            // Dropped before an answer: the caller went away (or a stream was dropped early).
            Outcome::Pending => Some(ErrorKind::Unavailable),
        };
        let record = OpRecord {
            op: self.name,
            kind: self.kind,
            door: self.door,
            engine: self.e.name(),
            repo: self.repo.clone(),
            lock_wait: self.lock_wait,
            elapsed: self.started.elapsed(),
            error,
        };
        let status = error.map_or("ok", |kind| kind.code());
        metrics::histogram!(
            names::OPERATION_DURATION,
            "op" => record.op,
            "kind" => record.kind.as_str(),
            "engine" => record.engine,
            "status" => status,
        )
        .record(record.elapsed.as_secs_f64());
        metrics::histogram!(names::LOCK_WAIT, "kind" => record.kind.as_str())
            .record(record.lock_wait.as_secs_f64());
        let _enter = self.span.enter();
        match error {
            None => tracing::debug!(elapsed_us = record.elapsed.as_micros() as u64, "op done"),
            Some(kind) => tracing::debug!(
                elapsed_us = record.elapsed.as_micros() as u64,
                error = %kind,
                "op failed"
            ),
        }
        for o in self.observers.iter() {
            o.finished(&record);
        }
    }
}

/// A stream that owns its [`Op`] (see [`Op::hold`]).
struct Held<T> {
    inner: BoxStream<'static, Result<T>>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    op: Option<Op>,
}

impl<T> Stream for Held<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(op) = &this.op else {
            return Poll::Ready(None);
        };
        if let Some(sleep) = &mut this.sleep
            && sleep.as_mut().poll(cx).is_ready()
        {
            let err = timeout_error(op.name);
            if let Some(op) = this.op.take() {
                op.record(Outcome::Err(ErrorKind::Timeout));
            }
            return Poll::Ready(Some(Err(err)));
        }
        match this.inner.as_mut().poll_next(cx) {
            Poll::Ready(None) => {
                if let Some(op) = this.op.take() {
                    op.record(Outcome::Ok);
                }
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                if let Some(op) = this.op.take() {
                    op.record(Outcome::Err(e.kind()));
                }
                Poll::Ready(Some(Err(e)))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use gitapi_switch::{CanaryConfig, EngineKind, EngineSwitch};

    use super::*;
    use crate::auth::Principal;
    use crate::config::ServiceConfig;

    fn service(deadline: Duration) -> (RepoService, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = ServiceConfig::new(dir.path());
        config.limits.deadline = deadline;
        let switch = Arc::new(EngineSwitch::new(
            Arc::new(gitapi_git2::Git2Backend::new(gitapi_git2::Config::new(
                dir.path(),
            ))),
            Arc::new(gitapi_shell::ShellBackend::new(gitapi_shell::Config::new(
                dir.path(),
            ))),
            EngineKind::Libgit2,
            CanaryConfig::default(),
        ));
        (RepoService::new(config, switch), dir)
    }

    // The deadline is only the trigger here: no clock is compared with a figure.
    #[tokio::test]
    async fn a_read_is_answered_timeout_at_its_deadline_and_the_engine_sees_it() -> Result<()> {
        let (svc, _dir) = service(Duration::from_millis(50));
        let cx = CallContext::new(Principal::Open, Door::Internal);
        let repo = RepoName::new("r")?;
        let op = svc.read(&cx, "blame", &repo).await?;
        let seen = op.run(async { Ok(Deadline::current()) }).await?;
        assert!(seen.instant().is_some(), "the engine sees the deadline");
        let never = op.run(futures::future::pending::<Result<()>>()).await;
        assert_eq!(never.err().map(|e| e.kind()), Some(ErrorKind::Timeout));
        Ok(())
    }

    #[tokio::test]
    async fn a_write_is_never_answered_before_the_engine_returns() -> Result<()> {
        let (svc, _dir) = service(Duration::from_millis(20));
        let cx = CallContext::new(Principal::Open, Door::Internal);
        let repo = RepoName::new("r")?;
        let op = svc.write(&cx, "merge", Scope::Write, &repo).await?;
        // An engine that finishes after the deadline: its success is the answer.
        let out = op
            .commit(async {
                tokio::time::sleep(Duration::from_millis(60)).await;
                Ok(7)
            })
            .await;
        assert_eq!(out.ok(), Some(7));
        // Once landed, later steps run without the deadline.
        let after = op.run(async { Ok(Deadline::current()) }).await?;
        assert_eq!(after, Deadline::NONE);
        Ok(())
    }

    #[tokio::test]
    async fn a_write_waiting_for_the_lock_past_its_deadline_does_nothing() -> Result<()> {
        let (svc, _dir) = service(Duration::from_millis(20));
        let cx = CallContext::new(Principal::Open, Door::Internal);
        let repo = RepoName::new("r")?;
        let held = svc.write(&cx, "gc", Scope::Write, &repo).await?;
        let second = svc.write(&cx, "commit_files", Scope::Write, &repo).await;
        assert_eq!(second.err().map(|e| e.kind()), Some(ErrorKind::Timeout));
        drop(held);
        assert!(
            svc.write(&cx, "commit_files", Scope::Write, &repo)
                .await
                .is_ok()
        );
        Ok(())
    }
}
