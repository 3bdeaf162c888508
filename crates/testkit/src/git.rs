//! A hermetic runner for the real git CLI, and a builder of fixture repositories.
//!
//! Every command runs with `GIT_CONFIG_NOSYSTEM=1`, `GIT_CONFIG_GLOBAL=/dev/null`, `HOME` in a
//! temporary directory, `LANG=C`, no terminal prompt, fixed author and committer names, and
//! dates taken from a clock that advances one minute per command, so the same sequence of
//! commands always writes the same objects and `git log` order is stable.
//!
//! Fixtures are always written by running git, never by hand-made objects:
//!
//! ```no_run
//! use gitapi_testkit::git::{Git, RepoBuilder};
//! let git = Git::new();
//! let dir = tempfile::tempdir().expect("temp dir");
//! let work = RepoBuilder::init(&git, dir.path().join("work"), "main");
//! let first = work.commit("first", &[("README.md", "hello\n")]);
//! work.branch("feature");
//! work.tag("v1.0");
//! assert_eq!(work.rev("main"), first);
//! ```
//!
//! These helpers panic with git's stderr when a command fails: they are for tests only.

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The first timestamp the clock hands out (2023-11-14T22:13:20Z).
pub const EPOCH: i64 = 1_700_000_000;

/// The author name of every fixture commit.
pub const AUTHOR_NAME: &str = "A U Thor";
/// The author email of every fixture commit.
pub const AUTHOR_EMAIL: &str = "author@example.com";
/// The author time zone of every fixture commit (`+0100`), in minutes east of UTC.
pub const AUTHOR_OFFSET: i32 = 60;
/// The committer name of every fixture commit.
pub const COMMITTER_NAME: &str = "C O Mitter";
/// The committer email of every fixture commit.
pub const COMMITTER_EMAIL: &str = "committer@example.com";
/// The committer time zone of every fixture commit (`-0230`), in minutes east of UTC.
pub const COMMITTER_OFFSET: i32 = -150;

/// A hermetic git CLI. Cheap to clone; clones share the home directory and the clock.
#[derive(Debug, Clone)]
pub struct Git {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    home: tempfile::TempDir,
    clock: AtomicI64,
}

impl Default for Git {
    fn default() -> Self {
        Self::new()
    }
}

impl Git {
    /// A runner with its own temporary home directory and a clock starting at [`EPOCH`].
    pub fn new() -> Self {
        let home = tempfile::Builder::new()
            .prefix("gitapi-home-")
            .tempdir()
            .expect("a temporary home directory");
        Self {
            inner: Arc::new(Inner {
                home,
                clock: AtomicI64::new(EPOCH),
            }),
        }
    }

    /// The temporary home directory.
    pub fn home(&self) -> &Path {
        self.inner.home.path()
    }

    /// The next timestamp of the clock (one minute after the previous one).
    pub fn tick(&self) -> i64 {
        self.inner.clock.fetch_add(60, Ordering::SeqCst) + 60
    }

    /// A hermetic `git` command in `dir` with the next dates of the clock; add arguments and run.
    pub fn command(&self, dir: &Path) -> Command {
        let t = self.tick();
        let mut cmd = Command::new("git");
        cmd.current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ADVICE", "0")
            .env("LANG", "C")
            .env("LC_ALL", "C")
            .env("TZ", "UTC")
            .env("GIT_AUTHOR_NAME", AUTHOR_NAME)
            .env("GIT_AUTHOR_EMAIL", AUTHOR_EMAIL)
            .env("GIT_AUTHOR_DATE", format!("{t} +0100"))
            .env("GIT_COMMITTER_NAME", COMMITTER_NAME)
            .env("GIT_COMMITTER_EMAIL", COMMITTER_EMAIL)
            .env("GIT_COMMITTER_DATE", format!("{t} -0230"))
            .env("GIT_EDITOR", "true")
            .env("GIT_SEQUENCE_EDITOR", "true")
            .env("GIT_PAGER", "cat")
            .env("GIT_PROTOCOL_FROM_USER", "0")
            .env("GIT_ALLOW_PROTOCOL", "file")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs git and returns its output whatever the exit status.
    pub fn output<S: AsRef<OsStr>>(&self, dir: &Path, args: &[S]) -> Output {
        self.output_with(dir, args, &[], None)
    }

    /// Runs git with extra environment and optional stdin; returns its output whatever the exit
    /// status.
    pub fn output_with<S: AsRef<OsStr>>(
        &self,
        dir: &Path,
        args: &[S],
        env: &[(&str, &OsStr)],
        stdin: Option<&[u8]>,
    ) -> Output {
        let mut cmd = self.command(dir);
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start git {}: {e}", show_args(args)));
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            // Write from a thread so a large input cannot deadlock against a full stdout pipe.
            let input = input.to_vec();
            let writer = std::thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
            let out = child.wait_with_output().expect("git runs to the end");
            writer.join().expect("stdin writer thread");
            return out;
        }
        child.wait_with_output().expect("git runs to the end")
    }

    /// Runs git and returns stdout as bytes; panics with stderr when git fails.
    pub fn run_bytes<S: AsRef<OsStr>>(&self, dir: &Path, args: &[S]) -> Vec<u8> {
        let out = self.output(dir, args);
        check(dir, args, &out);
        out.stdout
    }

    /// Runs git and returns stdout as text; panics with stderr when git fails.
    pub fn run<S: AsRef<OsStr>>(&self, dir: &Path, args: &[S]) -> String {
        String::from_utf8(self.run_bytes(dir, args)).expect("git prints UTF-8 here")
    }

    /// Runs git with extra environment and optional stdin; returns stdout as text and panics
    /// with stderr when git fails.
    pub fn run_with<S: AsRef<OsStr>>(
        &self,
        dir: &Path,
        args: &[S],
        env: &[(&str, &OsStr)],
        stdin: Option<&[u8]>,
    ) -> String {
        let out = self.output_with(dir, args, env, stdin);
        check(dir, args, &out);
        String::from_utf8(out.stdout).expect("git prints UTF-8 here")
    }

    /// Runs git and returns its exit status (output is captured and dropped).
    pub fn status<S: AsRef<OsStr>>(&self, dir: &Path, args: &[S]) -> ExitStatus {
        self.output(dir, args).status
    }

    /// Runs git with `--git-dir=<git_dir>` and returns stdout; panics when git fails.
    pub fn run_in_git_dir<S: AsRef<OsStr>>(&self, git_dir: &Path, args: &[S]) -> String {
        let mut all: Vec<&OsStr> = vec![OsStr::new("--git-dir"), git_dir.as_os_str()];
        all.extend(args.iter().map(AsRef::as_ref));
        let parent = git_dir.parent().unwrap_or(git_dir);
        self.run(parent, &all)
    }

    /// Runs git with `--git-dir=<git_dir>` and returns its output whatever the exit status.
    pub fn output_in_git_dir<S: AsRef<OsStr>>(&self, git_dir: &Path, args: &[S]) -> Output {
        let mut all: Vec<&OsStr> = vec![OsStr::new("--git-dir"), git_dir.as_os_str()];
        all.extend(args.iter().map(AsRef::as_ref));
        let parent = git_dir.parent().unwrap_or(git_dir);
        self.output(parent, &all)
    }
}

fn show_args<S: AsRef<OsStr>>(args: &[S]) -> String {
    args.iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn check<S: AsRef<OsStr>>(dir: &Path, args: &[S], out: &Output) {
    if !out.status.success() {
        panic!(
            "git {} in {} failed ({}):\n{}{}",
            show_args(args),
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// A repository with a work tree in which fixtures are made with git porcelain.
#[derive(Debug, Clone)]
pub struct RepoBuilder {
    git: Git,
    dir: PathBuf,
}

impl RepoBuilder {
    /// `git init -b <branch> <dir>`.
    pub fn init(git: &Git, dir: impl Into<PathBuf>, branch: &str) -> Self {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).expect("create the work directory");
        git.run(&dir, &["init", "-q", "-b", branch, "."]);
        Self {
            git: git.clone(),
            dir,
        }
    }

    /// `git clone <url> <dir>`.
    pub fn clone_from(git: &Git, url: &str, dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        let parent = dir
            .parent()
            .expect("a clone target has a parent")
            .to_owned();
        std::fs::create_dir_all(&parent).expect("create the parent directory");
        let target = dir.to_str().expect("UTF-8 temp paths");
        git.run(&parent, &["clone", "-q", url, target]);
        Self {
            git: git.clone(),
            dir,
        }
    }

    /// An existing work tree.
    pub fn open(git: &Git, dir: impl Into<PathBuf>) -> Self {
        Self {
            git: git.clone(),
            dir: dir.into(),
        }
    }

    /// The work tree.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The runner.
    pub fn runner(&self) -> &Git {
        &self.git
    }

    /// Runs git in the work tree and returns stdout.
    pub fn git<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        self.git.run(&self.dir, args)
    }

    /// Runs git in the work tree and returns its output whatever the exit status.
    pub fn git_output<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.git.output(&self.dir, args)
    }

    /// `git rev-parse --verify <rev>^{object}` (no newline).
    pub fn rev(&self, rev: &str) -> String {
        let spec = if rev.contains(':') {
            rev.to_owned()
        } else {
            format!("{rev}^{{object}}")
        };
        self.git(&["rev-parse", "--verify", "-q", &spec])
            .trim()
            .to_owned()
    }

    /// Writes a file (creating directories).
    pub fn write(&self, path: &str, content: impl AsRef<[u8]>) {
        let p = self.dir.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create parent directories");
        }
        if p.is_symlink() {
            std::fs::remove_file(&p).expect("replace a symlink");
        }
        std::fs::write(&p, content).expect("write a fixture file");
    }

    /// Makes a symlink `path -> target` (replacing what is there).
    pub fn symlink(&self, path: &str, target: &str) {
        let p = self.dir.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create parent directories");
        }
        let _ = std::fs::remove_file(&p);
        std::os::unix::fs::symlink(target, &p).expect("create a symlink");
    }

    /// Sets or clears the executable bit of a file.
    pub fn set_executable(&self, path: &str, executable: bool) {
        use std::os::unix::fs::PermissionsExt as _;
        let p = self.dir.join(path);
        let mode = if executable { 0o755 } else { 0o644 };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
            .expect("change file mode");
    }

    /// `git rm -r -q <path>`.
    pub fn remove(&self, path: &str) {
        self.git(&["rm", "-r", "-q", "--", path]);
    }

    /// `git mv <from> <to>`.
    pub fn rename(&self, from: &str, to: &str) {
        if let Some(parent) = self.dir.join(to).parent() {
            std::fs::create_dir_all(parent).expect("create parent directories");
        }
        self.git(&["mv", "--", from, to]);
    }

    /// Writes `files`, stages everything and commits; returns the new commit id.
    pub fn commit(&self, message: &str, files: &[(&str, &str)]) -> String {
        for (path, content) in files {
            self.write(path, content);
        }
        self.commit_all(message)
    }

    /// Stages everything (`git add -A`) and commits, allowing an empty commit.
    pub fn commit_all(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.rev("HEAD")
    }

    /// Creates a branch at `HEAD` without switching.
    pub fn branch(&self, name: &str) {
        self.git(&["branch", name]);
    }

    /// Switches to a branch (`git checkout -q <name>`).
    pub fn checkout(&self, name: &str) {
        self.git(&["checkout", "-q", name]);
    }

    /// Creates a branch at `HEAD` and switches to it.
    pub fn checkout_new(&self, name: &str) {
        self.git(&["checkout", "-q", "-b", name]);
    }

    /// Creates a lightweight tag at `HEAD`.
    pub fn tag(&self, name: &str) {
        self.git(&["tag", name]);
    }

    /// Creates an annotated tag of `target`.
    pub fn annotated_tag(&self, name: &str, target: &str, message: &str) {
        self.git(&["tag", "-a", "-m", message, name, target]);
    }

    /// Merges `branch` into the current branch with a merge commit (`--no-ff`); panics on
    /// conflicts. Returns the merge commit.
    pub fn merge(&self, branch: &str, message: &str) -> String {
        self.git(&["merge", "-q", "--no-ff", "-m", message, branch]);
        self.rev("HEAD")
    }

    /// Pushes every branch and tag to `dest` (a path or URL), forced.
    pub fn push_all(&self, dest: &str) {
        self.git(&[
            "push",
            "-q",
            "--force",
            dest,
            "refs/heads/*:refs/heads/*",
            "refs/tags/*:refs/tags/*",
        ]);
    }
}
