//! The few git CLI calls the libgit2 engine makes, for what libgit2 cannot do here: clone and
//! mirror over HTTP(S) (libgit2 is built without an HTTPS stack), mirror sync, and gc.
//!
//! Safe by construction: the subcommand comes from a closed enum, every caller value is passed
//! after `--end-of-options` or `--`, the environment is cleared down to a hermetic set (no
//! system or global config, no prompts, hooks off), and every process has a deadline after
//! which its whole process group is killed.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gitapi_core::{Error, ErrorKind, Result};

/// The subcommands this engine may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subcommand {
    /// `git clone`.
    Clone,
    /// `git fetch`.
    Fetch,
    /// `git gc`.
    Gc,
    /// `git count-objects`.
    CountObjects,
}

impl Subcommand {
    fn as_str(self) -> &'static str {
        match self {
            Self::Clone => "clone",
            Self::Fetch => "fetch",
            Self::Gc => "gc",
            Self::CountObjects => "count-objects",
        }
    }
}

/// A git command being built.
#[derive(Debug)]
pub struct GitCommand {
    git_dir: Option<PathBuf>,
    config: Vec<(String, String)>,
    sub: Subcommand,
    flags: Vec<&'static str>,
    positionals: Vec<OsString>,
    deadline: Duration,
}

impl GitCommand {
    /// `git <sub>`, with a 10 minute deadline.
    pub fn new(sub: Subcommand) -> Self {
        Self {
            git_dir: None,
            config: Vec::new(),
            sub,
            flags: Vec::new(),
            positionals: Vec::new(),
            deadline: Duration::from_secs(600),
        }
    }

    /// Runs in this git directory (`--git-dir`).
    pub fn git_dir(mut self, dir: &Path) -> Self {
        self.git_dir = Some(dir.to_path_buf());
        self
    }

    /// A `-c key=value` for this call; keys and values come from this crate, never a caller.
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.config.push((key.to_owned(), value.to_owned()));
        self
    }

    /// An option; only static strings, so no caller value can become an option.
    pub fn flag(mut self, flag: &'static str) -> Self {
        self.flags.push(flag);
        self
    }

    /// A positional argument, passed after `--end-of-options`.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.positionals.push(arg.into());
        self
    }

    /// The deadline.
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = d;
        self
    }

    fn build(&self) -> Command {
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
            .env("GIT_LITERAL_PATHSPECS", "1")
            .env("HOME", "/nonexistent")
            .env("LANG", "C")
            .env("LC_ALL", "C");
        cmd.arg("-c").arg("core.hooksPath=/dev/null");
        cmd.arg("-c").arg("protocol.allow=never");
        cmd.arg("-c").arg("protocol.http.allow=always");
        cmd.arg("-c").arg("protocol.https.allow=always");
        cmd.arg("-c").arg("protocol.file.allow=always");
        for (k, v) in &self.config {
            cmd.arg("-c").arg(format!("{k}={v}"));
        }
        if let Some(dir) = &self.git_dir {
            cmd.arg("--git-dir").arg(dir);
        }
        cmd.arg(self.sub.as_str());
        cmd.args(&self.flags);
        if !self.positionals.is_empty() {
            cmd.arg("--end-of-options");
            cmd.args(&self.positionals);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        cmd
    }

    /// Runs to completion and returns stdout; a non-zero exit is an error carrying stderr.
    pub fn output(self) -> Result<Vec<u8>> {
        let what = format!("git {}", self.sub.as_str());
        let mut child = self
            .build()
            .spawn()
            .map_err(|e| Error::new(ErrorKind::Unavailable, format!("starting {what}: {e}")))?;
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let out_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stdout.read_to_end(&mut buf);
            buf
        });
        let err_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if start.elapsed() > self.deadline => {
                    kill_group(child.id());
                    let _ = child.wait();
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!("{what} ran past its deadline"),
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(Error::internal(format!("waiting for {what}: {e}"))),
            }
        };
        let out = out_reader.join().unwrap_or_default();
        let err = err_reader.join().unwrap_or_default();
        if status.success() {
            Ok(out)
        } else {
            let msg = String::from_utf8_lossy(&err).trim().to_lowercase();
            let kind = if msg.contains("not found")
                || msg.contains("does not appear to be a git repository")
                || msg.contains("repository not found")
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
            Err(Error::new(kind, format!("{what} failed: {msg}")))
        }
    }
}

/// Kills a whole process group (git and the helpers it started).
fn kill_group(pid: u32) {
    // `kill` the command, so this crate needs no unsafe FFI for one signal.
    let _ = Command::new("kill")
        .arg("-KILL")
        .arg("--")
        .arg(format!("-{pid}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_values_come_after_end_of_options() {
        let cmd = GitCommand::new(Subcommand::Clone)
            .flag("--bare")
            .arg("--upload-pack=touch /tmp/pwned")
            .arg("/tmp/x")
            .build();
        let args: Vec<_> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let eoo = args
            .iter()
            .position(|a| a == "--end-of-options")
            .expect("present");
        let hostile = args
            .iter()
            .position(|a| a.starts_with("--upload-pack"))
            .expect("present");
        assert!(eoo < hostile);
    }
}
