//! A git process's stdout as an async stream of bounded chunks (`git cat-file blob <oid>`,
//! `git upload-pack`): the process is read as the consumer polls, so memory holds one chunk at a
//! time whatever the size of the output, and dropping the stream kills the process with its
//! group. Optionally an input stream is copied into its stdin at the same time (a request body
//! into `upload-pack` or `index-pack`).

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use gitapi_core::{Error, ErrorKind, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    /// The input's error, which explains why the process failed better than its status.
    input_err: Arc<Mutex<Option<Error>>>,
    /// The end of stderr, kept for the error of a failed process (piped commands only).
    stderr_tail: Option<tokio::task::JoinHandle<Vec<u8>>>,
}

/// What to do with the process's pipes.
pub(crate) struct Io {
    /// The largest chunk handed out.
    pub(crate) chunk: usize,
    /// The exact length of the output, when known (a blob): a short output is an error.
    pub(crate) expected_len: Option<u64>,
    /// What to write to stdin (`None`: stdin is closed).
    pub(crate) input: Option<BoxStream<'static, Result<Bytes>>>,
}

/// How much of stderr a failed piped command reports.
const STDERR_TAIL: usize = 4096;

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
        if let Some(err) = self.input_error() {
            return Err(err);
        }
        let status = status.map_err(|e| Error::internal(format!("waiting for git {what}: {e}")))?;
        if !status.success() {
            let tail = match self.stderr_tail.take() {
                Some(t) => t.await.unwrap_or_default(),
                None => Vec::new(),
            };
            let tail = String::from_utf8_lossy(&tail);
            return Err(Error::internal(format!(
                "git {what} failed ({status}): {}",
                tail.trim()
            )));
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

    fn input_error(&self) -> Option<Error> {
        self.input_err
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
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
    io: Io,
) -> Result<BoxStream<'static, Result<Bytes>>> {
    let piped = io.input.is_some();
    cmd.stdin(if piped { Stdio::piped() } else { Stdio::null() })
        .stderr(if piped { Stdio::piped() } else { Stdio::null() });
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
    let input_err = Arc::new(Mutex::new(None));
    if let (Some(input), Some(stdin)) = (io.input, child.stdin.take()) {
        tokio::spawn(feed(input, stdin, pid, Arc::clone(&input_err)));
    }
    let stderr_tail = child.stderr.take().map(|mut err| {
        tokio::spawn(async move {
            // Drain all of it (a full pipe would stall git), keep the end.
            let mut tail = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > 2 * STDERR_TAIL {
                    tail.drain(..tail.len() - STDERR_TAIL);
                }
            }
            if tail.len() > STDERR_TAIL {
                tail.drain(..tail.len() - STDERR_TAIL);
            }
            tail
        })
    });
    let running = Running {
        child,
        stdout,
        guard: Some(dog.watch_until(pid, until)),
        sub,
        chunk: io.chunk.max(1),
        expected_len: io.expected_len,
        seen: 0,
        done: false,
        input_err,
        stderr_tail,
    };
    Ok(futures::stream::unfold(running, |mut r| async move {
        let item = r.next_chunk().await?;
        Some((item, r))
    })
    .boxed())
}

/// Copies `input` into the process's stdin, then closes it. An input error (the client went
/// away, a size limit) is kept for the stream's answer and kills the process, so git never
/// acts on a truncated request; git closing its stdin early is its own business (its exit
/// status says why).
async fn feed(
    mut input: BoxStream<'static, Result<Bytes>>,
    mut stdin: tokio::process::ChildStdin,
    pid: u32,
    slot: Arc<Mutex<Option<Error>>>,
) {
    while let Some(item) = input.next().await {
        match item {
            Ok(bytes) => {
                if stdin.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                *slot
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e);
                kill_group(i32::try_from(pid).unwrap_or(0));
                return;
            }
        }
    }
    let _ = stdin.shutdown().await;
}
