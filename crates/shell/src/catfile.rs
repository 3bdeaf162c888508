//! Long-lived `git cat-file --batch-command --buffer` processes, pooled per repository.
//!
//! A read sends its commands (`info <rev>`, `contents <rev>`) and `flush`, then parses the
//! answers as they stream in. Idle processes are closed after [`CatFilePool::ttl`]; a process
//! that misbehaves (dies, runs past its deadline) is dropped, never returned to the pool.
//! Revisions travel on stdin, so no caller value ever reaches git's command line here.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gitapi_core::{Error, ErrorKind, ObjectKind, Oid};
use parking_lot::Mutex;

use gitapi_gitcmd::{Git, Process, Sub, Tick, Watchdog};

/// What can go wrong talking to a cat-file process.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CatFileError {
    /// The process could not be started.
    #[error("starting git cat-file: {0}")]
    Spawn(std::io::Error),
    /// The process ended (git dies on some revisions, such as `main@{upstream}` without an
    /// upstream, instead of answering `missing`).
    #[error("git cat-file ended while answering")]
    Died,
    /// The process ran past its deadline (the request's or its own) and was killed, or the
    /// request's deadline had passed before it was asked.
    #[error("git cat-file ran past its deadline")]
    Timeout,
    /// An answer that is not in cat-file's format.
    #[error("git cat-file answered {0:?}")]
    Protocol(String),
}

impl From<CatFileError> for Error {
    fn from(e: CatFileError) -> Self {
        let kind = match e {
            CatFileError::Spawn(_) => ErrorKind::Unavailable,
            CatFileError::Timeout => ErrorKind::Timeout,
            CatFileError::Died | CatFileError::Protocol(_) => ErrorKind::Internal,
        };
        Error::new(kind, e.to_string())
    }
}

/// One command of a batch.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cmd<'a> {
    /// `info <rev>`: id, type and size.
    Info(&'a str),
    /// `contents <rev>`: id, type and the bytes.
    Contents(&'a str),
}

/// One answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// The object exists.
    Found {
        /// Its id.
        oid: Oid,
        /// Its type.
        kind: ObjectKind,
        /// Its size.
        size: u64,
        /// Its bytes (for `contents`).
        data: Option<Vec<u8>>,
    },
    /// No such object.
    Missing,
    /// A short id that names several objects.
    Ambiguous,
}

/// Parses a header line of cat-file's batch output (without its newline).
pub(crate) fn parse_header(line: &str) -> Result<Reply, CatFileError> {
    if line.ends_with(" missing") {
        return Ok(Reply::Missing);
    }
    if line.ends_with(" ambiguous") {
        return Ok(Reply::Ambiguous);
    }
    let mut f = line.split(' ');
    let (Some(oid), Some(kind), Some(size), None) = (f.next(), f.next(), f.next(), f.next()) else {
        return Err(CatFileError::Protocol(line.to_owned()));
    };
    let oid = Oid::from_hex(oid).map_err(|_| CatFileError::Protocol(line.to_owned()))?;
    let kind = match kind {
        "blob" => ObjectKind::Blob,
        "tree" => ObjectKind::Tree,
        "commit" => ObjectKind::Commit,
        "tag" => ObjectKind::Tag,
        _ => return Err(CatFileError::Protocol(line.to_owned())),
    };
    let size = size
        .parse()
        .map_err(|_| CatFileError::Protocol(line.to_owned()))?;
    Ok(Reply::Found {
        oid,
        kind,
        size,
        data: None,
    })
}

/// One running `git cat-file --batch-command --buffer`.
#[derive(Debug)]
pub(crate) struct CatFile {
    // Declared first so the pipes close before the process is killed and reaped.
    stdin: ChildStdin,
    out: BufReader<ChildStdout>,
    idle_since: Instant,
    process: Process,
}

impl CatFile {
    fn spawn(repo_dir: &Path) -> Result<Self, CatFileError> {
        // Fatal messages go nowhere: nobody would drain a long-lived stderr pipe.
        let mut process = Git::in_repo(repo_dir, Sub::CatFile)
            .flag("--batch-command")
            .flag("--buffer")
            .spawn_server()
            .map_err(|e| CatFileError::Spawn(std::io::Error::other(e.to_string())))?;
        let stdin = process.take_stdin().map_err(|_| CatFileError::Died)?;
        let stdout = process.take_stdout().map_err(|_| CatFileError::Died)?;
        Ok(Self {
            process,
            stdin,
            out: BufReader::with_capacity(64 * 1024, stdout),
            idle_since: Instant::now(),
        })
    }

    /// Sends the commands and reads their answers, in order.
    fn request(
        &mut self,
        dog: &Watchdog,
        cmds: &[Cmd<'_>],
        deadline: Duration,
    ) -> Result<Vec<Reply>, CatFileError> {
        // The request's deadline (or this exchange's own limit) kills the process mid-answer;
        // a killed process is never returned to the pool.
        let guard = dog
            .watch_exchange(&self.process, "git cat-file", deadline)
            .map_err(|_| CatFileError::Timeout)?;
        let res = self.exchange(cmds);
        if guard.finish() {
            return Err(CatFileError::Timeout);
        }
        res
    }

    fn exchange(&mut self, cmds: &[Cmd<'_>]) -> Result<Vec<Reply>, CatFileError> {
        let mut text = Vec::with_capacity(cmds.len() * 48 + 8);
        for c in cmds {
            let (verb, name) = match c {
                Cmd::Info(n) => ("info ", n),
                Cmd::Contents(n) => ("contents ", n),
            };
            // A newline would start another command: names never hold one (validated types),
            // but refuse rather than trust.
            if name.contains('\n') || name.is_empty() {
                return Err(CatFileError::Protocol(format!("bad name {name:?}")));
            }
            text.extend_from_slice(verb.as_bytes());
            text.extend_from_slice(name.as_bytes());
            text.push(b'\n');
        }
        text.extend_from_slice(b"flush\n");
        self.stdin
            .write_all(&text)
            .and_then(|()| self.stdin.flush())
            .map_err(|_| CatFileError::Died)?;
        let mut out = Vec::with_capacity(cmds.len());
        let mut line = String::new();
        for c in cmds {
            line.clear();
            let n = self
                .out
                .read_line(&mut line)
                .map_err(|_| CatFileError::Died)?;
            if n == 0 {
                return Err(CatFileError::Died);
            }
            let mut reply = parse_header(line.trim_end_matches('\n'))?;
            if let (Cmd::Contents(_), Reply::Found { size, data, .. }) = (c, &mut reply) {
                let len = usize::try_from(*size)
                    .map_err(|_| CatFileError::Protocol("object too large".to_owned()))?;
                let mut buf = vec![0u8; len + 1];
                self.out
                    .read_exact(&mut buf)
                    .map_err(|_| CatFileError::Died)?;
                if buf.pop() != Some(b'\n') {
                    return Err(CatFileError::Protocol("object not followed by LF".into()));
                }
                *data = Some(buf);
            }
            out.push(reply);
        }
        Ok(out)
    }
}

/// Warm cat-file processes per repository directory.
#[derive(Debug)]
pub(crate) struct CatFilePool {
    idle: Mutex<HashMap<PathBuf, Vec<CatFile>>>,
    max_idle_per_repo: usize,
    ttl: Duration,
}

impl CatFilePool {
    /// A pool keeping at most `max_idle_per_repo` idle processes per repository for `ttl`.
    pub(crate) fn new(dog: &Watchdog, max_idle_per_repo: usize, ttl: Duration) -> Arc<Self> {
        let pool = Arc::new(Self {
            idle: Mutex::new(HashMap::new()),
            max_idle_per_repo,
            ttl,
        });
        let weak: std::sync::Weak<dyn Tick> = Arc::downgrade(&(Arc::clone(&pool) as Arc<dyn Tick>));
        dog.add_ticker(weak);
        pool
    }

    /// Runs a batch on a warm process of `repo_dir` (a new one when none is idle).
    pub(crate) fn request(
        &self,
        dog: &Watchdog,
        repo_dir: &Path,
        cmds: &[Cmd<'_>],
    ) -> Result<Vec<Reply>, CatFileError> {
        let mut proc = match self.take(repo_dir) {
            Some(p) => p,
            None => CatFile::spawn(repo_dir)?,
        };
        let res = proc.request(dog, cmds, Duration::from_secs(60));
        if res.is_ok() {
            proc.idle_since = Instant::now();
            let mut idle = self.idle.lock();
            let list = idle.entry(repo_dir.to_path_buf()).or_default();
            if list.len() < self.max_idle_per_repo {
                list.push(proc);
            }
        }
        res
    }

    fn take(&self, repo_dir: &Path) -> Option<CatFile> {
        let mut idle = self.idle.lock();
        let list = idle.get_mut(repo_dir)?;
        while let Some(p) = list.pop() {
            if p.idle_since.elapsed() < self.ttl {
                return Some(p);
            }
        }
        None
    }

    /// Closes the processes of a repository (deleted, replaced, or repacked).
    pub(crate) fn forget(&self, repo_dir: &Path) {
        let gone = self.idle.lock().remove(repo_dir);
        drop(gone);
    }
}

impl Tick for CatFilePool {
    fn tick(&self) {
        let expired: Vec<CatFile> = {
            let mut idle = self.idle.lock();
            let mut out = Vec::new();
            for list in idle.values_mut() {
                let (old, keep): (Vec<CatFile>, Vec<CatFile>) = list
                    .drain(..)
                    .partition(|p| p.idle_since.elapsed() >= self.ttl);
                *list = keep;
                out.extend(old);
            }
            idle.retain(|_, l| !l.is_empty());
            out
        };
        // Dropped outside the lock: each drop waits for its process.
        drop(expired);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let oid = "78981922613b2afb6025042ff6bd878ac1994e85";
        assert_eq!(
            parse_header(&format!("{oid} blob 2")).expect("found"),
            Reply::Found {
                oid: Oid::from_hex(oid).expect("hex"),
                kind: ObjectKind::Blob,
                size: 2,
                data: None
            }
        );
        assert_eq!(
            parse_header("main:a b missing").expect("missing"),
            Reply::Missing
        );
        assert_eq!(
            parse_header("0123 ambiguous").expect("ambiguous"),
            Reply::Ambiguous
        );
        assert!(parse_header("garbage").is_err());
        assert!(parse_header(&format!("{oid} blub 2")).is_err());
    }
}
