//! A git process's stdout as an async stream of bounded chunks (`git cat-file blob <oid>`):
//! the process is read as the consumer polls, so memory holds one chunk at a time whatever the
//! size of the output, and dropping the stream kills the process with its group.

use std::process::{Command, Stdio};
use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use gitapi_core::{Error, ErrorKind, Result};
use tokio::io::AsyncReadExt;

use crate::command::Sub;
use crate::watchdog::{WatchGuard, Watchdog, kill_group, timeout};

/// The child and what the stream knows about it; killed with its group when dropped before it
/// was reaped (the consumer stopped early).
struct Running {
    child: tokio::process::Child,
    stdout: tokio::process::ChildStdout,
    guard: Option<WatchGuard>,
    sub: Sub,
    chunk: usize,
    expected_len: Option<u64>,
    seen: u64,
    done: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        // `kill_on_drop` lets tokio reap it in the background.
        if !self.done
            && let Some(pid) = self.child.id()
        {
            kill_group(i32::try_from(pid).unwrap_or(0));
        }
    }
}

impl Running {
    async fn next_chunk(&mut self) -> Option<Result<Bytes>> {
        if self.done {
            return None;
        }
        let mut buf = vec![0u8; self.chunk];
        match self.stdout.read(&mut buf).await {
            Ok(0) => Some(self.end().await).and_then(Result::err).map(Err),
            Ok(n) => {
                buf.truncate(n);
                self.seen += n as u64;
                Some(Ok(Bytes::from(buf)))
            }
            Err(e) => {
                self.done_with_kill();
                Some(Err(Error::internal(format!(
                    "reading git {}: {e}",
                    self.sub.as_str()
                ))))
            }
        }
    }

    /// End of output: reap the process and judge how it ended.
    async fn end(&mut self) -> Result<()> {
        let what = self.sub.as_str();
        let status = self.child.wait().await;
        self.done = true;
        if self.guard.take().is_some_and(WatchGuard::finish) {
            return Err(timeout(what));
        }
        let status = status.map_err(|e| Error::internal(format!("waiting for git {what}: {e}")))?;
        if !status.success() {
            return Err(Error::internal(format!("git {what} failed ({status})")));
        }
        if let Some(want) = self.expected_len
            && want != self.seen
        {
            return Err(Error::internal(format!(
                "git {what} wrote {} bytes where {want} were expected",
                self.seen
            )));
        }
        Ok(())
    }

    fn done_with_kill(&mut self) {
        if let Some(pid) = self.child.id() {
            kill_group(i32::try_from(pid).unwrap_or(0));
        }
        self.done = true;
    }
}

pub(crate) fn start(
    mut cmd: Command,
    sub: Sub,
    dog: &Watchdog,
    until: Option<Instant>,
    chunk: usize,
    expected_len: Option<u64>,
) -> Result<BoxStream<'static, Result<Bytes>>> {
    cmd.stdin(Stdio::null()).stderr(Stdio::null());
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        Error::new(
            ErrorKind::Unavailable,
            format!("starting git {}: {e}", sub.as_str()),
        )
    })?;
    let pid = child
        .id()
        .ok_or_else(|| Error::internal(format!("git {} ended at once", sub.as_str())))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::internal(format!("git {} has no stdout", sub.as_str())))?;
    let running = Running {
        child,
        stdout,
        guard: Some(dog.watch_until(pid, until)),
        sub,
        chunk: chunk.max(1),
        expected_len,
        seen: 0,
        done: false,
    };
    Ok(futures::stream::unfold(running, |mut r| async move {
        let item = r.next_chunk().await?;
        Some((item, r))
    })
    .boxed())
}
