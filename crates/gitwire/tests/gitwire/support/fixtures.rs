//! Hermetic repositories built with the git CLI, once per test binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Fixed dates: every commit one minute after the previous one.
static CLOCK: AtomicU64 = AtomicU64::new(1_700_000_000);

fn next_date() -> String {
    format!("{} +0000", CLOCK.fetch_add(60, Ordering::SeqCst))
}

/// A `git` command with a hermetic environment.
pub fn git_cmd(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "A U Thor")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "C O Mitter")
        .env("GIT_COMMITTER_EMAIL", "committer@example.com")
        .env("GIT_TERMINAL_PROMPT", "0");
    let date = next_date();
    c.env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date);
    c
}

/// Runs git and returns stdout; panics with stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_cmd(dir).args(args).output().expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Runs git with bytes on stdin.
pub fn git_stdin(dir: &Path, args: &[&str], input: &[u8]) -> String {
    let mut child = git_cmd(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn git");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait git");
    let _ = writer.join();
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write(dir: &Path, path: &str, content: &[u8]) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().expect("has parent")).expect("mkdir");
    std::fs::write(p, content).expect("write");
}

#[cfg(unix)]
fn chmod(dir: &Path, path: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join(path), std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A directory of bare repositories, kept for the whole test binary.
#[derive(Debug)]
pub struct Fixtures {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
}

impl Fixtures {
    pub fn repo(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

/// `main.git` (history with merges, tags, submodule, exec, symlinks, empty and 10 MB files,
/// renames, deltas), `empty.git` (unborn HEAD) and `big.git` (5,000 files in 500 dirs).
pub fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(build)
}

fn build() -> Fixtures {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("srv");
    std::fs::create_dir_all(&root).expect("mkdir");
    build_main(tmp.path(), &root);
    git(&root, &["init", "-q", "--bare", "-b", "main", "empty.git"]);
    build_big(&root);
    Fixtures { _tmp: tmp, root }
}

fn build_main(tmp: &Path, root: &Path) {
    let w = tmp.join("work");
    std::fs::create_dir_all(&w).expect("mkdir");
    git(&w, &["init", "-q", "-b", "main"]);
    write(&w, "README.md", b"hello\n");
    let lib: String = (0..60)
        .map(|i| format!("pub fn f{i}() -> u32 {{ {i} }}\n"))
        .collect();
    write(&w, "src/lib.rs", lib.as_bytes());
    write(&w, "script.sh", b"#!/bin/sh\necho hi\n");
    chmod(&w, "script.sh", 0o755);
    std::os::unix::fs::symlink("README.md", w.join("link")).expect("symlink");
    write(&w, "empty.txt", b"");
    write(&w, "tc", b"a regular file\n");
    let guide: String = (0..100)
        .map(|i| format!("Guide line number {i} with some words\n"))
        .collect();
    write(&w, "docs/guide.md", guide.as_bytes());
    git(&w, &["add", "-A"]);
    git(&w, &["commit", "-q", "-m", "initial"]);
    git(&w, &["tag", "light"]);
    // A growing file: many small revisions give long delta chains after repack.
    let mut log = String::new();
    for i in 0..40 {
        for j in 0..5 {
            log.push_str(&format!(
                "entry {i}.{j}: the quick brown fox jumps over the lazy dog\n"
            ));
        }
        write(&w, "data/log.txt", log.as_bytes());
        git(&w, &["add", "-A"]);
        git(&w, &["commit", "-q", "-m", &format!("log {i}")]);
    }
    git(&w, &["checkout", "-q", "-b", "feature"]);
    write(&w, "feature.txt", b"feature work\n");
    git(&w, &["add", "-A"]);
    git(&w, &["commit", "-q", "-m", "feature: add"]);
    git(&w, &["checkout", "-q", "main"]);
    write(&w, "README.md", b"hello\nworld\n");
    git(&w, &["commit", "-q", "-am", "readme: world"]);
    git(
        &w,
        &["merge", "-q", "--no-ff", "-m", "merge feature", "feature"],
    );
    git(&w, &["tag", "-a", "v1.0", "-m", "release 1.0"]);
    // Renames (exact and similar), mode change, type change, delete, submodule, big file.
    git(&w, &["mv", "src/lib.rs", "src/core.rs"]);
    std::fs::remove_file(w.join("docs/guide.md")).expect("rm");
    write(
        &w,
        "docs/manual.md",
        guide
            .replace("line number 50 ", "line changed 50 ")
            .as_bytes(),
    );
    chmod(&w, "empty.txt", 0o755);
    std::fs::remove_file(w.join("tc")).expect("rm");
    std::os::unix::fs::symlink("README.md", w.join("tc")).expect("symlink");
    std::fs::remove_file(w.join("feature.txt")).expect("rm");
    write(
        &w,
        ".gitmodules",
        b"[submodule \"vendor/sub\"]\n\tpath = vendor/sub\n\turl = https://example.com/sub.git\n",
    );
    let big: String = (0..200_000).map(|i| format!("{i:049}\n")).collect();
    assert_eq!(big.len(), 10_000_000);
    write(&w, "big/ten-mb.txt", big.as_bytes());
    git(&w, &["add", "-A"]);
    // After `add -A`, which would drop a gitlink with no directory behind it.
    let sub = git(&w, &["rev-parse", "light"]);
    // An empty directory is an unpopulated submodule for `commit -a`, not a deletion.
    std::fs::create_dir_all(w.join("vendor/sub")).expect("mkdir");
    git(
        &w,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{},vendor/sub", sub.trim()),
        ],
    );
    git(&w, &["commit", "-q", "-m", "reshuffle"]);
    write(
        &w,
        "docs/manual.md",
        (guide.clone() + "one more line\n").as_bytes(),
    );
    git(&w, &["commit", "-q", "-am", "manual: extend"]);
    let bare = root.join("main.git");
    git(
        tmp,
        &[
            "clone",
            "-q",
            "--bare",
            w.to_str().expect("utf-8 path"),
            bare.to_str().expect("utf-8 path"),
        ],
    );
    git(
        &bare,
        &["repack", "-q", "-adf", "--depth=50", "--window=50"],
    );
    git(&bare, &["update-server-info"]);
}

fn build_big(root: &Path) {
    let bare = root.join("big.git");
    git(
        root,
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            bare.to_str().expect("utf-8 path"),
        ],
    );
    let mut stream = Vec::new();
    stream.extend_from_slice(b"commit refs/heads/main\ncommitter C O Mitter <committer@example.com> 1700000000 +0000\ndata 5\nmany\n");
    for d in 0..500 {
        for f in 0..10 {
            let content = format!("dir {d} file {f}\n");
            stream.extend_from_slice(
                format!(
                    "M 100644 inline d{d:03}/f{f}.txt\ndata {}\n{content}\n",
                    content.len()
                )
                .as_bytes(),
            );
        }
    }
    stream.extend_from_slice(b"\n");
    git_stdin(&bare, &["fast-import", "--quiet"], &stream);
}

/// A fresh copy of a fixture repository for tests that push, under its own server root.
pub fn writable_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dst = tmp.path().join(name);
    let src = fixtures().repo(name);
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--mirror",
            src.to_str().expect("utf-8"),
            dst.to_str().expect("utf-8"),
        ],
    );
    (tmp, dst)
}
