//! The typed git command builder.
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
//!
//! The deadline of a process is the earlier of its own limit ([`Git::limit`], by default
//! [`DEFAULT_LIMIT`]) and the caller's ([`Deadline::current`] when the command is built), except
//! for the commands that take a lock ([`Sub::takes_locks`]): those are checked against the
//! caller's deadline just before they start and then never cut by it, so a ref update, an
//! index write or a fetch either runs to its end or never starts.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gitapi_core::{Deadline, Error, ErrorKind, Oid, Result};

use crate::watchdog::{Watchdog, kill_group, timeout};

/// The subcommands gitapi may run: an allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sub {
    /// `git add`.
    Add,
    /// `git apply`.
    Apply,
    /// `git archive` (a tree as tar, tar.gz or zip, streamed).
    Archive,
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
    /// `git commit-graph` (written by gc, with changed-path Bloom filters).
    CommitGraph,
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
    /// `git index-pack` (a pushed pack, into a quarantine).
    IndexPack,
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
    /// `git upload-pack` (Smart HTTP fetch and clone).
    UploadPack,
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
            Self::Archive => "archive",
            Self::Blame => "blame",
            Self::Branch => "branch",
            Self::CatFile => "cat-file",
            Self::Checkout => "checkout",
            Self::Clone => "clone",
            Self::CommitGraph => "commit-graph",
            Self::Config => "config",
            Self::CountObjects => "count-objects",
            Self::DiffFiles => "diff-files",
            Self::DiffIndex => "diff-index",
            Self::DiffTree => "diff-tree",
            Self::Fetch => "fetch",
            Self::ForEachRef => "for-each-ref",
            Self::Gc => "gc",
            Self::HashObject => "hash-object",
            Self::IndexPack => "index-pack",
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
            Self::UploadPack => "upload-pack",
            Self::UpdateRef => "update-ref",
            Self::Version => "version",
            Self::WriteTree => "write-tree",
        }
    }

    /// Whether the command takes a lock on a ref, the index, the config or the object store's
    /// packs, so killing it could leave a ref half-moved or a stale `.lock` behind: such a
    /// command is checked against the caller's deadline before it starts and never cut by it
    /// (`update-ref` is not even cut by its own limit).
    pub fn takes_locks(self) -> bool {
        matches!(
            self,
            Self::Add
                | Self::Apply
                | Self::Branch
                | Self::Checkout
                | Self::CommitGraph
                | Self::Config
                | Self::Fetch
                | Self::Gc
                | Self::Reset
                | Self::Stash
                | Self::Status
                | Self::SymbolicRef
                | Self::UpdateIndex
                | Self::UpdateRef
                | Self::WriteTree
        )
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

/// Where a pushed pack's objects go until the push is accepted: git's own quarantine variables
/// (`GIT_OBJECT_DIRECTORY` is the quarantine, the repository's objects its alternate, and
/// `GIT_QUARANTINE_PATH` makes git refuse to move refs while it is set).
#[derive(Debug, Clone)]
struct QuarantineEnv {
    objects: PathBuf,
    alternate: PathBuf,
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

/// The git executable every command runs: `git` looked up once in this process's `PATH` (the
/// same `PATH` the processes get), or the bare name when it is not found there (the spawn then
/// reports it missing).
///
/// Why an absolute path: std starts a program with `posix_spawn` (a `vfork`-style clone that
/// shares the address space until `exec`) only when it need not search a `PATH` it was given
/// for the child; [`Git::command`] clears the environment and sets `PATH`, so a bare `git`
/// made every start a `fork`, which copies the page tables of the whole server. That cost
/// grows with the server's memory (caches, libgit2's pack windows): 15 ms per start at 256 MB
/// touched, 50-120 ms at 1 GB, where `posix_spawn` stays at about 0.2 ms (see
/// `examples/process_cost.rs` and `docs/benchmarks.md`).
pub(crate) fn git_program() -> &'static OsStr {
    static GIT: OnceLock<OsString> = OnceLock::new();
    GIT.get_or_init(|| {
        std::env::var_os("PATH")
            .and_then(|path| {
                std::env::split_paths(&path)
                    // Only absolute directories: an empty or relative entry would depend on the
                    // working directory of whatever starts git.
                    .filter(|dir| dir.is_absolute())
                    .map(|dir| dir.join("git"))
                    .find(|candidate| is_executable(candidate))
            })
            .map_or_else(|| OsString::from("git"), PathBuf::into_os_string)
    })
}

/// Whether `p` is a regular file someone may execute (what `execvp` would try).
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The default time limit of one command, whatever the caller's deadline.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(120);

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
    limit: Option<Duration>,
    caller: Deadline,
    internal_pathspecs: bool,
    quarantine: Option<QuarantineEnv>,
    protocol_v2: bool,
}

impl Git {
    /// `git <sub>` run nowhere in particular, under the caller's deadline
    /// ([`Deadline::current`]).
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
            // A ref transaction is never cut: git's own ref lock timeout bounds it.
            limit: (sub != Sub::UpdateRef).then_some(DEFAULT_LIMIT),
            caller: Deadline::current(),
            internal_pathspecs: false,
            quarantine: None,
            protocol_v2: false,
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

    /// A reflog message for `update-ref`, glued to `-m` in one argument so no caller text (a
    /// commit subject, a revision) can become an option of its own; normalised to one line as
    /// git stores it ([`gitapi_core::reflog::normalize`]). An empty message adds nothing (a
    /// lone `-m` would take the next argument as its value).
    pub fn reflog_message(mut self, text: &str) -> Self {
        let text = gitapi_core::reflog::normalize(text);
        if !text.is_empty() {
            self.flags.push(format!("-m{text}"));
        }
        self
    }

    /// `git archive --prefix=<dir>/`: a validated repository path (no empty, `.` or `..`
    /// component, never starting with `-`) glued to the option, so every entry lands under
    /// `dir/` and no caller text becomes an option of its own.
    pub fn archive_prefix(mut self, dir: &gitapi_core::RepoPath) -> Self {
        self.flags.push(format!("--prefix={}/", dir.as_str()));
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

    /// Runs with new objects written to the quarantine directory `objects` (inside the
    /// repository's `objects/`) and the repository's own objects, `alternate`, readable beside
    /// them; git refuses ref updates while this is set.
    pub fn quarantine(mut self, objects: &Path, alternate: &Path) -> Self {
        self.quarantine = Some(QuarantineEnv {
            objects: objects.to_path_buf(),
            alternate: alternate.to_path_buf(),
        });
        self
    }

    /// Speaks protocol version 2 (`GIT_PROTOCOL=version=2`), for `upload-pack`.
    pub fn protocol_v2(mut self) -> Self {
        self.protocol_v2 = true;
        self
    }

    /// The command's own time limit (instead of [`DEFAULT_LIMIT`]).
    pub fn limit(mut self, d: Duration) -> Self {
        if self.sub != Sub::UpdateRef {
            self.limit = Some(d);
        }
        self
    }

    /// The caller's deadline, when the command is built where [`Deadline::current`] does not
    /// know it.
    pub fn within(mut self, deadline: Deadline) -> Self {
        self.caller = deadline;
        self
    }

    /// When the watchdog kills the process: the earlier of the caller's deadline and the
    /// command's own limit from now; only the own limit for commands that take locks.
    fn kill_at(&self) -> Option<Instant> {
        let own = self.limit.map_or(Deadline::NONE, Deadline::after);
        if self.sub.takes_locks() {
            own.instant()
        } else {
            own.min(self.caller).instant()
        }
    }

    /// `Timeout` when the caller's deadline has passed: the last check before git starts.
    fn check_caller(&self) -> Result<()> {
        self.caller.check(&format!("git {}", self.sub.as_str()))
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
        // Every process gitapi starts is built here, just before it is spawned.
        metrics::counter!(
            gitapi_telemetry::names::GIT_PROCESSES_STARTED,
            "subcommand" => self.sub.as_str()
        )
        .increment(1);
        let mut cmd = Command::new(git_program());
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
            // Who started it, so a restarted server can stop what a dead one left running.
            .env(crate::PARENT_ENV, std::process::id().to_string())
            // The identity of reflog entries written through the service.
            // The reflog identity of every ref a command moves, unless the caller sets its own
            // (a stash is recorded under the stasher).
            .env("GIT_COMMITTER_NAME", gitapi_core::reflog::IDENTITY.name)
            .env("GIT_COMMITTER_EMAIL", gitapi_core::reflog::IDENTITY.email)
            .env("GIT_AUTHOR_NAME", gitapi_core::reflog::IDENTITY.name)
            .env("GIT_AUTHOR_EMAIL", gitapi_core::reflog::IDENTITY.email);
        if !self.internal_pathspecs || !self.paths.is_empty() {
            cmd.env("GIT_LITERAL_PATHSPECS", "1");
        }
        for (k, v) in &self.env {
            cmd.env(k.as_str(), v);
        }
        if self.sub == Sub::Status {
            // `git status` refreshes the index opportunistically, taking `index.lock`. As a
            // read it may run beside a write (the canary's shadow read runs after the answer,
            // outside the repository's lock), which then found the index locked: a read must
            // take no lock.
            cmd.env("GIT_OPTIONAL_LOCKS", "0");
        }
        if let Some(q) = &self.quarantine {
            cmd.env("GIT_OBJECT_DIRECTORY", &q.objects)
                .env("GIT_ALTERNATE_OBJECT_DIRECTORIES", &q.alternate)
                .env("GIT_QUARANTINE_PATH", &q.objects);
        }
        if self.protocol_v2 {
            cmd.env("GIT_PROTOCOL", "version=2");
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
        self.check_caller()?;
        let mut child = self
            .command()
            .spawn()
            .map_err(|e| Error::new(ErrorKind::Unavailable, format!("starting git {what}: {e}")))?;
        if self.sub.takes_locks() {
            // A command that takes locks may change refs or the index from here on: the write
            // it belongs to has passed its point of no return, and what follows (reading the
            // result back) must not turn it into a `Timeout`.
            Deadline::land();
        }
        let guard = dog.watch_until(child.id(), self.kill_at());
        let stdin_writer = match (self.stdin, child.stdin.take()) {
            (Some(bytes), Some(mut pipe)) => Some(std::thread::spawn(move || {
                // A process that exits early closes its stdin: not our error to report.
                let _ = pipe.write_all(&bytes);
            })),
            _ => None,
        };
        let err_reader = child.stderr.take().map(|mut stderr| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = stderr.read_to_end(&mut buf);
                buf
            })
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
        let stderr = err_reader.and_then(|r| r.join().ok()).unwrap_or_default();
        if fired {
            return Err(timeout(what));
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
        self.check_caller()?;
        let mut cmd = self.command();
        cmd.stdin(Stdio::null());
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::new(ErrorKind::Unavailable, format!("starting git {what}: {e}")))?;
        let guard = dog.watch_until(child.id(), self.kill_at());
        let err_reader = child.stderr.take().map(|mut stderr| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = stderr.read_to_end(&mut buf);
                buf
            })
        });
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::internal(format!("git {what} has no stdout")))?;
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
        let stderr = err_reader.and_then(|r| r.join().ok()).unwrap_or_default();
        if fired {
            // Whatever the callback saw last, the walk was cut by the deadline.
            return Err(timeout(what));
        }
        result?;
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

    /// Starts the command with piped stdin and stdout (stderr discarded), watched for its whole
    /// life by its deadline; [`crate::Process::finish`] reports a kill as `Timeout`.
    pub fn spawn(self, dog: &Watchdog) -> Result<crate::Process> {
        self.check_caller()?;
        let until = self.kill_at();
        let mut p = crate::Process::start(self.command(), self.sub)?;
        p.guard = Some(dog.watch_until(p.id(), until));
        Ok(p)
    }

    /// Starts a long-lived server process (`cat-file --batch-command`) with piped stdin and
    /// stdout, not watched as a whole: each exchange with it is watched on its own
    /// ([`Watchdog::watch_exchange`]), under the deadline of the request it serves.
    pub fn spawn_server(self) -> Result<crate::Process> {
        crate::Process::start(self.command(), self.sub)
    }

    /// Starts the command and streams its stdout in chunks of at most `chunk` bytes, holding
    /// no more than one chunk; see [`crate::stream`]. Must be called inside a tokio runtime.
    pub fn stream_stdout(
        self,
        dog: &Watchdog,
        chunk: usize,
        expected_len: Option<u64>,
    ) -> Result<futures::stream::BoxStream<'static, Result<bytes::Bytes>>> {
        self.start_stream(
            dog,
            crate::stream::Io {
                chunk,
                expected_len,
                input: None,
            },
        )
    }

    /// Starts the command with `input` streamed into its stdin (as the consumer of the output
    /// polls) and streams its stdout in chunks of at most `chunk` bytes: a pack goes through
    /// without ever being held whole. The stream ends with an error when the input fails (its
    /// error is the answer), when git exits non-zero (with the end of its stderr), or at the
    /// deadline (`Timeout`); dropping it kills the process. Must be called inside a tokio
    /// runtime.
    pub fn pipe(
        self,
        dog: &Watchdog,
        chunk: usize,
        input: futures::stream::BoxStream<'static, Result<bytes::Bytes>>,
    ) -> Result<futures::stream::BoxStream<'static, Result<bytes::Bytes>>> {
        self.start_stream(
            dog,
            crate::stream::Io {
                chunk,
                expected_len: None,
                input: Some(input),
            },
        )
    }

    /// The last deadline check, then the process streamed under its kill time.
    fn start_stream(
        self,
        dog: &Watchdog,
        io: crate::stream::Io,
    ) -> Result<futures::stream::BoxStream<'static, Result<bytes::Bytes>>> {
        self.check_caller()?;
        let until = self.kill_at();
        crate::stream::start(self.command(), self.sub, dog, until, io)
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
        } else if msg.contains("invalid path") {
            // A tree or patch entry git will not write to a work tree (`.git`, `..`, an NTFS
            // or HFS+ spelling of them): the content is the problem, as libgit2 reports it.
            ErrorKind::FailedPrecondition
        } else if msg.contains("gc is already running") {
            // Another gc of the repository (started outside gitapi: the service runs one at a
            // time) holds `gc.pid`: retry later.
            ErrorKind::Conflict
        } else {
            ErrorKind::Internal
        };
        Error::new(
            kind,
            format!("git {} failed ({}): {msg}", self.sub.as_str(), self.code),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

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
        // A status is a read: it never takes the index's lock.
        let status = Git::new(Sub::Status).command();
        assert!(
            status
                .get_envs()
                .any(|(k, v)| k == "GIT_OPTIONAL_LOCKS" && v == Some(std::ffi::OsStr::new("0")))
        );
    }

    /// Regression: with `PATH` set for the child, std cannot `posix_spawn` a bare program name
    /// and forks the whole server instead, a cost that grows with its memory (a path-limited
    /// log's first page took 18-54 ms in `examples/log_path.rs` where git alone takes 7 ms).
    /// An absolute program keeps std on `posix_spawn`.
    #[test]
    fn git_is_started_by_absolute_path_so_std_can_posix_spawn() {
        let cmd = Git::new(Sub::Version).command();
        let program = Path::new(cmd.get_program());
        assert!(program.is_absolute(), "{program:?}");
        assert!(is_executable(program), "{program:?}");
        let dog = Watchdog::new();
        let out = Git::new(Sub::Version).ok(&dog).expect("git version runs");
        assert!(out.starts_with(b"git version"));
    }

    fn bare_repo(dog: &Watchdog) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().expect("tempdir");
        Git::new(Sub::Init)
            .flag("--bare")
            .flag("-q")
            .arg(tmp.path().join("r.git").as_os_str())
            .ok(dog)
            .expect("git init");
        tmp
    }

    #[test]
    fn own_limit_kills_the_process_group() {
        let dog = Watchdog::new();
        let tmp = bare_repo(&dog);
        // `cat-file --batch` waits for input that never comes while we hold its stdin.
        let mut p = Git::in_repo(&tmp.path().join("r.git"), Sub::CatFile)
            .flag("--batch")
            .limit(Duration::from_millis(200))
            .spawn(&dog)
            .expect("git starts");
        let _stdin = p.take_stdin().expect("stdin");
        let err = p.finish().expect_err("killed");
        assert_eq!(err.kind(), ErrorKind::Timeout);
    }

    #[test]
    fn caller_deadline_kills_the_process_group() {
        let dog = Watchdog::new();
        let tmp = bare_repo(&dog);
        let mut p = Deadline::after(Duration::from_millis(200))
            .sync_scope(|| {
                Git::in_repo(&tmp.path().join("r.git"), Sub::CatFile)
                    .flag("--batch")
                    .spawn(&dog)
            })
            .expect("git starts");
        let _stdin = p.take_stdin().expect("stdin");
        let err = p.finish().expect_err("killed at the caller's deadline");
        assert_eq!(err.kind(), ErrorKind::Timeout);
    }

    #[test]
    fn a_passed_deadline_starts_nothing() {
        let dog = Watchdog::new();
        let res = Deadline::at(Instant::now()).sync_scope(|| Git::new(Sub::Version).run(&dog));
        assert_eq!(
            res.map(|_| ()).map_err(|e| e.kind()),
            Err(ErrorKind::Timeout)
        );
    }

    #[test]
    fn lock_takers_are_not_cut_by_the_caller() {
        let d = Deadline::after(Duration::from_millis(10));
        d.sync_scope(|| {
            assert_eq!(
                Git::new(Sub::UpdateRef).kill_at(),
                None,
                "update-ref is never cut"
            );
            let reset = Git::new(Sub::Reset).kill_at().expect("own limit");
            assert!(reset > Instant::now() + Duration::from_secs(60));
            let read = Git::new(Sub::RevList).kill_at().expect("caller's deadline");
            assert!(Some(read) <= d.instant());
        });
    }
}
