//! The typed git command builder: the only way this crate starts `git`.
//!
//! Safe by construction:
//! - the subcommand comes from a closed enum ([`Sub`]);
//! - options are `&'static str` ([`Git::flag`]) or a static name glued to a value of one of our
//!   own types that cannot start with `-` ([`Value`], [`Git::opt`]);
//! - caller values go after `--end-of-options` ([`Git::arg`]), after `--` as literal pathspecs
//!   ([`Git::path`], with `GIT_LITERAL_PATHSPECS=1`), or on stdin ([`Git::stdin`]);
//! - the environment is cleared to a hermetic set (no system or global config, no prompts, no
//!   pager, `LANG=C`), hooks are off, and every process runs in its own process group with a
//!   deadline after which [`Watchdog`] kills the whole group.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use gitapi_core::{Error, ErrorKind, Oid, Result};
use parking_lot::Mutex;

/// The subcommands this engine may run: an allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sub {
    /// `git add`.
    Add,
    /// `git apply`.
    Apply,
    /// `git blame`.
    Blame,
    /// `git branch` (rename only).
    Branch,
    /// `git cat-file`.
    CatFile,
    /// `git checkout`.
    Checkout,
    /// `git clone`.
    Clone,
    /// `git config`.
    Config,
    /// `git count-objects`.
    CountObjects,
    /// `git diff-files`.
    DiffFiles,
    /// `git diff-index`.
    DiffIndex,
    /// `git diff-tree`.
    DiffTree,
    /// `git fetch`.
    Fetch,
    /// `git for-each-ref`.
    ForEachRef,
    /// `git gc`.
    Gc,
    /// `git hash-object`.
    HashObject,
    /// `git init`.
    Init,
    /// `git log` (only for `--follow`).
    Log,
    /// `git ls-files`.
    LsFiles,
    /// `git merge-base`.
    MergeBase,
    /// `git merge-tree`.
    MergeTree,
    /// `git mktree`.
    Mktree,
    /// `git reset`.
    Reset,
    /// `git rev-list`.
    RevList,
    /// `git stash`.
    Stash,
    /// `git status`.
    Status,
    /// `git symbolic-ref`.
    SymbolicRef,
    /// `git update-index`.
    UpdateIndex,
    /// `git update-ref`.
    UpdateRef,
    /// `git version`.
    Version,
    /// `git write-tree`.
    WriteTree,
}

impl Sub {
    /// The subcommand's name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Apply => "apply",
            Self::Blame => "blame",
            Self::Branch => "branch",
            Self::CatFile => "cat-file",
            Self::Checkout => "checkout",
            Self::Clone => "clone",
            Self::Config => "config",
            Self::CountObjects => "count-objects",
            Self::DiffFiles => "diff-files",
            Self::DiffIndex => "diff-index",
            Self::DiffTree => "diff-tree",
            Self::Fetch => "fetch",
            Self::ForEachRef => "for-each-ref",
            Self::Gc => "gc",
            Self::HashObject => "hash-object",
            Self::Init => "init",
            Self::Log => "log",
            Self::LsFiles => "ls-files",
            Self::MergeBase => "merge-base",
            Self::MergeTree => "merge-tree",
            Self::Mktree => "mktree",
            Self::Reset => "reset",
            Self::RevList => "rev-list",
            Self::Stash => "stash",
            Self::Status => "status",
            Self::SymbolicRef => "symbolic-ref",
            Self::UpdateIndex => "update-index",
            Self::UpdateRef => "update-ref",
            Self::Version => "version",
            Self::WriteTree => "write-tree",
        }
    }
}

/// A value glued to a static option name: only our own types, none of which can start with `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A number (`-U3`, `--skip=10`).
    Num(u64),
    /// A percentage (`-M50%`).
    Percent(u8),
    /// An object id (`--merge-base=<oid>`).
    Oid(Oid),
    /// A line range (`-L3,7`).
    Range(u32, u32),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Num(n) => write!(f, "{n}"),
            Self::Percent(p) => write!(f, "{p}%"),
            Self::Oid(o) => write!(f, "{o}"),
            Self::Range(a, b) => write!(f, "{a},{b}"),
        }
    }
}

/// Where a command runs.
#[derive(Debug, Clone)]
enum Location {
    /// Nowhere in particular (clone).
    None,
    /// A bare repository (`--git-dir`).
    GitDir(PathBuf),
    /// A linked work tree (`-C <dir>`, git finds the `.git` file).
    WorkTree(PathBuf),
}

/// Extra environment a caller may set: only git's identity variables, filled from validated
/// signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvVar {
    /// `GIT_AUTHOR_NAME`.
    AuthorName,
    /// `GIT_AUTHOR_EMAIL`.
    AuthorEmail,
    /// `GIT_AUTHOR_DATE`.
    AuthorDate,
    /// `GIT_COMMITTER_NAME`.
    CommitterName,
    /// `GIT_COMMITTER_EMAIL`.
    CommitterEmail,
    /// `GIT_COMMITTER_DATE`.
    CommitterDate,
}

impl EnvVar {
    fn as_str(self) -> &'static str {
        match self {
            Self::AuthorName => "GIT_AUTHOR_NAME",
            Self::AuthorEmail => "GIT_AUTHOR_EMAIL",
            Self::AuthorDate => "GIT_AUTHOR_DATE",
            Self::CommitterName => "GIT_COMMITTER_NAME",
            Self::CommitterEmail => "GIT_COMMITTER_EMAIL",
            Self::CommitterDate => "GIT_COMMITTER_DATE",
        }
    }
}

/// Config every command gets: hooks off, durable writes, no pager, no prompts for protocols
/// other than the ones clone allows, a ref lock that waits for another writer a little.
const BASE_CONFIG: &[&str] = &[
    "core.hooksPath=/dev/null",
    "core.fsync=committed,index",
    "core.fsyncMethod=batch",
    "core.filesRefLockTimeout=5000",
    "core.quotePath=true",
    "advice.detachedHead=false",
    "gc.auto=0",
    "maintenance.auto=false",
    "protocol.allow=never",
    "protocol.http.allow=always",
    "protocol.https.allow=always",
    "protocol.file.allow=always",
    "core.pager=cat",
];

/// The default deadline of one command.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(120);

/// A git command being built.
#[derive(Debug, Clone)]
pub struct Git {
    location: Location,
    config: Vec<&'static str>,
    sub: Sub,
    flags: Vec<String>,
    positionals: Vec<OsString>,
    paths: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    env: Vec<(EnvVar, String)>,
    deadline: Duration,
    internal_pathspecs: bool,
}

impl Git {
    /// `git <sub>` run nowhere in particular.
    pub fn new(sub: Sub) -> Self {
        Self {
            location: Location::None,
            config: Vec::new(),
            sub,
            flags: Vec::new(),
            positionals: Vec::new(),
            paths: Vec::new(),
            stdin: None,
            env: Vec::new(),
            deadline: DEFAULT_DEADLINE,
            internal_pathspecs: false,
        }
    }

    /// `git --git-dir <dir> <sub>`.
    pub fn in_repo(dir: &Path, sub: Sub) -> Self {
        let mut g = Self::new(sub);
        g.location = Location::GitDir(dir.to_path_buf());
        g
    }

    /// `git -C <work tree> <sub>` (a linked work tree).
    pub fn in_worktree(dir: &Path, sub: Sub) -> Self {
        let mut g = Self::new(sub);
        g.location = Location::WorkTree(dir.to_path_buf());
        g
    }

    /// A `-c key=value` of this crate (never a caller's).
    pub fn config(mut self, kv: &'static str) -> Self {
        self.config.push(kv);
        self
    }

    /// An option; only static strings, so no caller value can become an option.
    pub fn flag(mut self, flag: &'static str) -> Self {
        self.flags.push(flag.to_owned());
        self
    }

    /// An option with a typed value glued to it: `name` then the value (`-U` + `3`,
    /// `--merge-base=` + oid).
    pub fn opt(mut self, name: &'static str, value: Value) -> Self {
        self.flags.push(format!("{name}{value}"));
        self
    }

    /// An object id as a bare argument, for the few commands whose own revision parser does not
    /// take `--end-of-options` with `--` after it (`blame`): hex digits never start with `-`.
    pub fn oid(mut self, oid: Oid) -> Self {
        self.flags.push(oid.to_string());
        self
    }

    /// A positional argument, passed after `--end-of-options`.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.positionals.push(arg.into());
        self
    }

    /// A pathspec, passed after `--` and taken literally (`GIT_LITERAL_PATHSPECS=1`).
    pub fn path(mut self, p: impl Into<OsString>) -> Self {
        self.paths.push(p.into());
        self
    }

    /// Bytes for the process's stdin.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// An identity variable.
    pub fn env(mut self, var: EnvVar, value: impl Into<String>) -> Self {
        self.env.push((var, value.into()));
        self
    }

    /// Lets git's own internal pathspecs keep their magic (`git stash -u` cleans through
    /// `:/`-style pathspecs): only for commands given no pathspec of ours, so caller paths are
    /// always literal.
    pub fn internal_pathspecs(mut self) -> Self {
        self.internal_pathspecs = true;
        self
    }

    /// The deadline.
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = d;
        self
    }

    /// The subcommand.
    pub fn sub(&self) -> Sub {
        self.sub
    }

    /// The argv after `git`, as the process gets it.
    pub fn argv(&self) -> Vec<OsString> {
        let mut v: Vec<OsString> = Vec::new();
        for kv in BASE_CONFIG.iter().chain(self.config.iter()) {
            v.push("-c".into());
            v.push((*kv).into());
        }
        match &self.location {
            Location::None => {}
            Location::GitDir(d) => {
                v.push("--git-dir".into());
                v.push(d.as_os_str().to_owned());
            }
            Location::WorkTree(d) => {
                v.push("-C".into());
                v.push(d.as_os_str().to_owned());
            }
        }
        v.push(self.sub.as_str().into());
        v.extend(self.flags.iter().map(OsString::from));
        if !self.positionals.is_empty() {
            v.push("--end-of-options".into());
            v.extend(self.positionals.iter().cloned());
        }
        if !self.paths.is_empty() {
            v.push("--".into());
            v.extend(self.paths.iter().cloned());
        }
        v
    }

    /// The process, configured but not started.
    pub(crate) fn command(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.env_clear();
        for var in ["PATH", "TMPDIR"] {
            if let Some(v) = std::env::var_os(var) {
                cmd.env(var, v);
            }
        }
        cmd.env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", "/bin/false")
            .env("SSH_ASKPASS", "/bin/false")
            .env("GIT_PAGER", "cat")
            .env("HOME", "/nonexistent")
            .env("LANG", "C")
            .env("LC_ALL", "C")
            // The identity of reflog entries written through the service.
            .env("GIT_COMMITTER_NAME", "gitapi")
            .env("GIT_COMMITTER_EMAIL", "gitapi@localhost")
            .env("GIT_AUTHOR_NAME", "gitapi")
            .env("GIT_AUTHOR_EMAIL", "gitapi@localhost");
        if !self.internal_pathspecs || !self.paths.is_empty() {
            cmd.env("GIT_LITERAL_PATHSPECS", "1");
        }
        for (k, v) in &self.env {
            cmd.env(k.as_str(), v);
        }
        if let Location::GitDir(d) = &self.location {
            // Relative revisions (`HEAD:./x`) must never resolve against the server's cwd.
            cmd.current_dir(d);
        }
        cmd.args(self.argv());
        cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
        cmd
    }

    /// Runs to completion; the exit status is the caller's to judge.
    pub fn run(self, dog: &Watchdog) -> Result<Output> {
        let what = self.sub.as_str();
        let mut child = self
            .command()
            .spawn()
            .map_err(|e| Error::new(ErrorKind::Unavailable, format!("starting git {what}: {e}")))?;
        let guard = dog.watch(&child, self.deadline);
        let stdin_writer = match (self.stdin, child.stdin.take()) {
            (Some(bytes), Some(mut pipe)) => Some(std::thread::spawn(move || {
                // A process that exits early closes its stdin: not our error to report.
                let _ = pipe.write_all(&bytes);
            })),
            _ => None,
        };
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let err_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        let mut stdout = Vec::new();
        if let Some(mut out) = child.stdout.take() {
            let _ = out.read_to_end(&mut stdout);
        }
        let status = child
            .wait()
            .map_err(|e| Error::internal(format!("waiting for git {what}: {e}")))?;
        let fired = guard.finish();
        if let Some(w) = stdin_writer {
            let _ = w.join();
        }
        let stderr = err_reader.join().unwrap_or_default();
        if fired {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!("git {what} ran past its deadline"),
            ));
        }
        Ok(Output {
            sub: self.sub,
            code: status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
            stdout,
            stderr,
        })
    }

    /// Runs and hands stdout to `on_line` line by line as it streams (without the newline);
    /// `on_line` returns `false` to stop early (the process is then killed). The returned
    /// output has an empty stdout.
    pub fn stream_lines(
        self,
        dog: &Watchdog,
        mut on_line: impl FnMut(&[u8]) -> Result<bool>,
    ) -> Result<Output> {
        use std::io::BufRead;
        let what = self.sub.as_str();
        let mut cmd = self.command();
        cmd.stdin(Stdio::null());
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::new(ErrorKind::Unavailable, format!("starting git {what}: {e}")))?;
        let guard = dog.watch(&child, self.deadline);
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let err_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = Vec::new();
        let mut result = Ok(());
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    match on_line(&line) {
                        Ok(true) => {}
                        Ok(false) => {
                            kill_group(i32::try_from(child.id()).unwrap_or(0));
                            break;
                        }
                        Err(e) => {
                            kill_group(i32::try_from(child.id()).unwrap_or(0));
                            result = Err(e);
                            break;
                        }
                    }
                }
                Err(e) => {
                    result = Err(Error::internal(format!("reading git {what}: {e}")));
                    break;
                }
            }
        }
        drop(reader);
        let status = child
            .wait()
            .map_err(|e| Error::internal(format!("waiting for git {what}: {e}")))?;
        let fired = guard.finish();
        let stderr = err_reader.join().unwrap_or_default();
        result?;
        if fired {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!("git {what} ran past its deadline"),
            ));
        }
        Ok(Output {
            sub: self.sub,
            code: status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
            stdout: Vec::new(),
            stderr,
        })
    }

    /// Runs and requires exit status 0; stdout on success.
    pub fn ok(self, dog: &Watchdog) -> Result<Vec<u8>> {
        self.run(dog)?.success()
    }
}

/// What a finished command printed.
#[derive(Debug, Clone)]
pub struct Output {
    sub: Sub,
    /// The exit code (128 + signal when killed).
    pub code: i32,
    /// Everything on stdout.
    pub stdout: Vec<u8>,
    /// Everything on stderr.
    pub stderr: Vec<u8>,
}

impl Output {
    /// stderr as lowercase text.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_lowercase()
    }

    /// stdout when the exit code is 0, else an error that carries stderr.
    pub fn success(self) -> Result<Vec<u8>> {
        if self.code == 0 {
            Ok(self.stdout)
        } else {
            Err(self.error())
        }
    }

    /// The error for a failed command, its kind guessed from stderr.
    pub fn error(&self) -> Error {
        let msg = self.stderr_text();
        let kind = if msg.contains("not a git repository")
            || msg.contains("does not appear to be a git repository")
            || msg.contains("repository not found")
            || msg.contains("not found")
            || msg.contains("does not exist")
        {
            ErrorKind::NotFound
        } else if msg.contains("could not resolve host")
            || msg.contains("unable to access")
            || msg.contains("could not read from remote")
        {
            ErrorKind::Unavailable
        } else {
            ErrorKind::Internal
        };
        Error::new(
            kind,
            format!("git {} failed ({}): {msg}", self.sub.as_str(), self.code),
        )
    }
}

/// Kills processes that run past their deadline, with their process group, and closes idle
/// pooled processes; one thread per engine, which ends when the engine is dropped.
#[derive(Debug)]
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

/// Something the watchdog calls now and then (pools closing idle processes).
pub(crate) trait Tick: Send + Sync + std::fmt::Debug {
    /// Called about every 100 ms.
    fn tick(&self);
}

impl Watchdog {
    /// A watchdog with its thread.
    pub fn new() -> Self {
        let inner = Arc::new(DogInner::default());
        let weak = Arc::downgrade(&inner);
        let spawned = std::thread::Builder::new()
            .name("gitapi-shell-watchdog".to_owned())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_millis(100));
                    let Some(inner) = weak.upgrade() else { return };
                    inner.sweep();
                }
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start the git watchdog thread: {e}");
        }
        Self { inner }
    }

    /// Watches a started child until the guard is finished or dropped.
    pub fn watch(&self, child: &Child, deadline: Duration) -> WatchGuard {
        self.watch_pid(child.id(), deadline)
    }

    pub(crate) fn watch_pid(&self, pid: u32, deadline: Duration) -> WatchGuard {
        let token = self.inner.next.fetch_add(1, Ordering::Relaxed);
        self.inner.watched.lock().insert(
            token,
            Watched {
                pgid: i32::try_from(pid).unwrap_or(0),
                deadline: Instant::now() + deadline,
                fired: false,
            },
        );
        WatchGuard {
            inner: Arc::clone(&self.inner),
            token,
            done: false,
        }
    }

    /// Registers something to tick.
    pub(crate) fn add_ticker(&self, t: Weak<dyn Tick>) {
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
        {
            let mut watched = self.watched.lock();
            for w in watched.values_mut() {
                if !w.fired && w.deadline <= now {
                    w.fired = true;
                    kill_group(w.pgid);
                }
            }
        }
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

/// Ends the watch of one process.
#[derive(Debug)]
pub struct WatchGuard {
    inner: Arc<DogInner>,
    token: u64,
    done: bool,
}

impl WatchGuard {
    /// Stops watching; whether the deadline fired (the process was killed).
    pub fn finish(mut self) -> bool {
        self.done = true;
        self.inner
            .watched
            .lock()
            .remove(&self.token)
            .is_some_and(|w| w.fired)
    }
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        if !self.done {
            self.inner.watched.lock().remove(&self.token);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv_strings(g: &Git) -> Vec<String> {
        g.argv()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn positionals_follow_end_of_options_and_paths_follow_dashdash() {
        let g = Git::in_repo(Path::new("/r.git"), Sub::RevList)
            .flag("--first-parent")
            .opt("--skip=", Value::Num(2))
            .arg("--output=/tmp/x")
            .arg("refs/heads/--foo")
            .path("-h")
            .path("--exec=id");
        let v = argv_strings(&g);
        let sub = v.iter().position(|a| a == "rev-list").expect("sub");
        let eoo = v.iter().position(|a| a == "--end-of-options").expect("eoo");
        let dd = v.iter().position(|a| a == "--").expect("dashdash");
        for hostile in ["--output=/tmp/x", "refs/heads/--foo"] {
            let i = v.iter().position(|a| a == hostile).expect("present");
            assert!(
                sub < eoo && eoo < i && i < dd,
                "{hostile} after --end-of-options"
            );
        }
        for hostile in ["-h", "--exec=id"] {
            let i = v.iter().position(|a| a == hostile).expect("present");
            assert!(dd < i, "{hostile} after --");
        }
        // Every argument before --end-of-options is ours: base config, location, static flags.
        for a in &v[..eoo] {
            assert!(
                !a.contains("/tmp/x") && !a.contains("--foo") && a != "-h",
                "{a} is not a caller value"
            );
        }
        assert!(v.contains(&"--skip=2".to_owned()));
    }

    #[test]
    fn hooks_are_off_and_config_is_hermetic() {
        let g = Git::new(Sub::Gc);
        let v = argv_strings(&g);
        assert!(
            v.windows(2)
                .any(|w| w[0] == "-c" && w[1] == "core.hooksPath=/dev/null")
        );
        let cmd = g.command();
        let envs: HashMap<String, Option<String>> = cmd
            .get_envs()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.map(|v| v.to_string_lossy().into_owned()),
                )
            })
            .collect();
        assert_eq!(envs["GIT_CONFIG_NOSYSTEM"].as_deref(), Some("1"));
        assert_eq!(envs["GIT_CONFIG_GLOBAL"].as_deref(), Some("/dev/null"));
        assert_eq!(envs["GIT_TERMINAL_PROMPT"].as_deref(), Some("0"));
        assert_eq!(envs["GIT_LITERAL_PATHSPECS"].as_deref(), Some("1"));
        assert_eq!(envs["LANG"].as_deref(), Some("C"));
        assert_eq!(envs["HOME"].as_deref(), Some("/nonexistent"));
    }

    #[test]
    fn deadline_kills_the_process_group() {
        let dog = Watchdog::new();
        let tmp = tempfile::tempdir().expect("tempdir");
        let repo = tmp.path().join("r.git");
        Git::new(Sub::Init)
            .flag("--bare")
            .flag("-q")
            .arg(repo.as_os_str())
            .ok(&dog)
            .expect("git init");
        // `cat-file --batch` waits for input that never comes.
        let mut g = Git::in_repo(&repo, Sub::CatFile)
            .flag("--batch")
            .deadline(Duration::from_millis(200));
        g.stdin = None;
        let mut cmd = g.command();
        cmd.stdin(Stdio::piped());
        let mut child = cmd.spawn().expect("git starts");
        // `wait` would close stdin first; keep it open so only the watchdog can end git.
        let _stdin = child.stdin.take();
        let guard = dog.watch(&child, Duration::from_millis(200));
        let start = Instant::now();
        let _ = child.wait();
        assert!(guard.finish(), "the deadline fired");
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
