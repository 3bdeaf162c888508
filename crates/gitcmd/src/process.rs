//! A started git process that the caller talks to over its pipes (`mktree --batch`,
//! `cat-file --batch-command`): killed with its process group when dropped unfinished, so an
//! error or a dropped request never leaves git running.

use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};

use gitapi_core::{Error, ErrorKind, Result};

use crate::command::Sub;
use crate::watchdog::{WatchGuard, kill_group, timeout};

/// A running git process with piped stdin and stdout; stderr is discarded (nobody would drain
/// a long-lived stderr pipe).
#[derive(Debug)]
pub struct Process {
    child: Child,
    sub: Sub,
    reaped: bool,
    pub(crate) guard: Option<WatchGuard>,
}

impl Process {
    pub(crate) fn start(mut cmd: Command, sub: Sub) -> Result<Self> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let child = cmd.spawn().map_err(|e| {
            Error::new(
                ErrorKind::Unavailable,
                format!("starting git {}: {e}", sub.as_str()),
            )
        })?;
        Ok(Self {
            child,
            sub,
            reaped: false,
            guard: None,
        })
    }

    /// The process id (also its process group id).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Its stdin, once.
    pub fn take_stdin(&mut self) -> Result<ChildStdin> {
        self.child
            .stdin
            .take()
            .ok_or_else(|| Error::internal(format!("git {} has no stdin", self.sub.as_str())))
    }

    /// Its stdout, once.
    pub fn take_stdout(&mut self) -> Result<ChildStdout> {
        self.child
            .stdout
            .take()
            .ok_or_else(|| Error::internal(format!("git {} has no stdout", self.sub.as_str())))
    }

    /// Waits for the process to end (close its stdin first); `Timeout` when its deadline killed
    /// it.
    pub fn finish(mut self) -> Result<ExitStatus> {
        let status = self
            .child
            .wait()
            .map_err(|e| Error::internal(format!("waiting for git {}: {e}", self.sub.as_str())))?;
        self.reaped = true;
        if self.guard.take().is_some_and(WatchGuard::finish) {
            return Err(timeout(self.sub.as_str()));
        }
        Ok(status)
    }

    /// Whether its deadline killed it (so a broken pipe can be reported as `Timeout`).
    pub fn timed_out(&self) -> bool {
        self.guard.as_ref().is_some_and(WatchGuard::fired)
    }

    /// `err`, or `Timeout` when the deadline killed the process (what made the pipe break).
    pub fn explain(&self, err: Error) -> Error {
        if self.timed_out() {
            timeout(self.sub.as_str())
        } else {
            err
        }
    }

    /// Kills the process with its group now (it is reaped when dropped).
    pub fn kill(&self) {
        kill_group(i32::try_from(self.child.id()).unwrap_or(0));
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if !self.reaped {
            // Closing stdin would end most of them; kill so a stuck one cannot linger.
            self.kill();
            let _ = self.child.wait();
        }
    }
}
