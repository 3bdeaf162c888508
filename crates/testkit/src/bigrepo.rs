//! Large generated repositories for benchmarks and load tests, built in one `git fast-import`
//! stream (seconds, where one `git add` per file would take minutes).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// The shape of a generated repository.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Files in the first commit.
    pub files: usize,
    /// Directories they are spread over (`dir<N>/file<M>.txt`).
    pub dirs: usize,
    /// Commits in all: the first adds every file, each later one changes one file.
    pub commits: usize,
}

impl Shape {
    /// 5,000 files in 500 directories, 1,000 commits: the benchmark repository.
    pub const BENCH: Shape = Shape {
        files: 5_000,
        dirs: 500,
        commits: 1_000,
    };

    /// The path of file `f`.
    pub fn path(&self, f: usize) -> String {
        format!("dir{}/file{}.txt", f % self.dirs, f / self.dirs)
    }
}

fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", dir);
    c
}

/// Builds a bare repository at `git_dir` (which must not exist) with `main` shaped as asked,
/// and the config every repository of the service gets.
pub fn build(git_dir: &Path, shape: Shape) {
    let parent = git_dir.parent().expect("a repository path has a parent");
    std::fs::create_dir_all(parent).expect("parent directory");
    let status = git(parent)
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(git_dir)
        .status()
        .expect("git init runs");
    assert!(status.success(), "git init");
    let mut child = git(git_dir)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import runs");
    let mut s = Vec::new();
    let mut time = 1_600_000_000u64;
    for c in 0..shape.commits.max(1) {
        let msg = format!("commit {c}");
        writeln!(s, "commit refs/heads/main").expect("in memory");
        writeln!(s, "committer Bench <bench@example.com> {time} +0000").expect("in memory");
        writeln!(s, "data {}\n{msg}", msg.len()).expect("in memory");
        let changed: Vec<usize> = if c == 0 {
            (0..shape.files).collect()
        } else {
            vec![(c * 7) % shape.files.max(1)]
        };
        for f in changed {
            let body = format!("file {f}\nversion {c}\n");
            writeln!(s, "M 100644 inline {}", shape.path(f)).expect("in memory");
            writeln!(s, "data {}\n{body}", body.len()).expect("in memory");
        }
        writeln!(s).expect("in memory");
        time += 60;
    }
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(&s)
        .expect("fast-import reads the stream");
    assert!(
        child.wait().expect("fast-import ends").success(),
        "fast-import"
    );
    for (k, v) in gitapi_storage::REPO_DEFAULTS {
        let ok = git(git_dir)
            .args(["config", k, v])
            .status()
            .expect("git config runs")
            .success();
        assert!(ok, "git config {k}");
    }
}
