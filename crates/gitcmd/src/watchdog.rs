//! The watchdog: one thread per engine that kills every git process running past its deadline,
//! with its whole process group, and ticks pools so they can close idle processes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use gitapi_core::{Deadline, Error, ErrorKind, Result};
use parking_lot::Mutex;

/// Kills processes that run past their deadline, with their process group, and ticks
/// registered pools (see [`Tick`]); one thread, which ends when the watchdog is dropped.
#[derive(Debug, Clone)]
pub struct Watchdog {
    inner: Arc<DogInner>,
}

#[derive(Debug, Default)]
struct DogInner {
    next: AtomicU64,
    watched: Mutex<HashMap<u64, Watched>>,
    tickers: Mutex<Vec<Weak<dyn Tick>>>,
}

#[derive(Debug)]
struct Watched {
    pgid: i32,
    deadline: Instant,
    fired: bool,
}

/// Something the watchdog calls about every 100 ms (pools closing idle processes).
pub trait Tick: Send + Sync + std::fmt::Debug {
    /// Called about every 100 ms on the watchdog's thread.
    fn tick(&self);
}

/// How often the watchdog looks: a process is killed at most this long after its deadline.
const SWEEP: Duration = Duration::from_millis(50);

impl Watchdog {
    /// A watchdog with its thread.
    pub fn new() -> Self {
        let inner = Arc::new(DogInner::default());
        let weak = Arc::downgrade(&inner);
        let spawned = std::thread::Builder::new()
            .name("gitapi-git-watchdog".to_owned())
            .spawn(move || {
                let mut ticks = 0u32;
                loop {
                    std::thread::sleep(SWEEP);
                    let Some(inner) = weak.upgrade() else { return };
                    inner.sweep();
                    ticks = ticks.wrapping_add(1);
                    if ticks.is_multiple_of(2) {
                        inner.tick();
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start the git watchdog thread: {e}");
        }
        Self { inner }
    }

    /// Watches process group `pgid` (a process started by this crate leads its own group)
    /// until `until`; `None` watches nothing. Ends with the guard.
    pub(crate) fn watch_until(&self, pgid: u32, until: Option<Instant>) -> WatchGuard {
        let Some(deadline) = until else {
            return WatchGuard {
                inner: Arc::clone(&self.inner),
                token: None,
            };
        };
        let token = self.inner.next.fetch_add(1, Ordering::Relaxed);
        self.inner.watched.lock().insert(
            token,
            Watched {
                pgid: i32::try_from(pgid).unwrap_or(0),
                deadline,
                fired: false,
            },
        );
        WatchGuard {
            inner: Arc::clone(&self.inner),
            token: Some(token),
        }
    }

    /// Watches one exchange with a long-lived process (a request to a pooled `cat-file`): until
    /// the earlier of the caller's deadline ([`Deadline::current`]) and `limit` from now.
    /// `Timeout` without watching when the caller's deadline has already passed.
    pub fn watch_exchange(
        &self,
        process: &crate::Process,
        what: &str,
        limit: Duration,
    ) -> Result<WatchGuard> {
        let caller = Deadline::current();
        caller.check(what)?;
        let until = caller.min(Deadline::after(limit)).instant();
        Ok(self.watch_until(process.id(), until))
    }

    /// Registers a pool to tick; it is forgotten once dropped.
    pub fn add_ticker(&self, t: Weak<dyn Tick>) {
        self.inner.tickers.lock().push(t);
    }
}

impl Default for Watchdog {
    fn default() -> Self {
        Self::new()
    }
}

impl DogInner {
    fn sweep(&self) {
        let now = Instant::now();
        let mut watched = self.watched.lock();
        for w in watched.values_mut() {
            if !w.fired && w.deadline <= now {
                w.fired = true;
                kill_group(w.pgid);
            }
        }
    }

    fn tick(&self) {
        let tickers: Vec<Arc<dyn Tick>> = {
            let mut t = self.tickers.lock();
            t.retain(|w| w.strong_count() > 0);
            t.iter().filter_map(Weak::upgrade).collect()
        };
        for t in tickers {
            t.tick();
        }
    }
}

/// Kills a whole process group (git and the helpers it started).
pub(crate) fn kill_group(pgid: i32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// Ends the watch of one process (or one exchange with it).
#[derive(Debug)]
pub struct WatchGuard {
    inner: Arc<DogInner>,
    token: Option<u64>,
}

impl WatchGuard {
    /// Stops watching; whether the deadline fired (the process group was killed).
    pub fn finish(mut self) -> bool {
        self.take_fired()
    }

    fn take_fired(&mut self) -> bool {
        self.token
            .take()
            .and_then(|t| self.inner.watched.lock().remove(&t))
            .is_some_and(|w| w.fired)
    }

    /// Whether the deadline fired, without ending the watch.
    pub fn fired(&self) -> bool {
        self.token
            .and_then(|t| self.inner.watched.lock().get(&t).map(|w| w.fired))
            .unwrap_or(false)
    }
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.take_fired();
    }
}

/// The error of a process killed at its deadline.
pub(crate) fn timeout(what: &str) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!("git {what} ran past its deadline and was stopped"),
    )
}
