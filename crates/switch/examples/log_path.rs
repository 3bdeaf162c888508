//! Logs with a path on a 50,000-commit history: `git log --format=%H [-n 50] -- PATH` beside
//! both engines' `log` with the same path, before the repository has a commit-graph and after
//! the engine's gc wrote one with changed-path Bloom filters. Prints p50 / p99 per side and
//! checks that the three answers are the same commits.
//!
//! `cargo run --release -p gitapi-switch --example log_path -- [REPETITIONS] [BEFORE]`
//!
//! `BEFORE` (default 3) is the repetitions without a commit-graph, where a full walk takes
//! seconds.
//!
//! The generated repository is kept in `$LOG_PATH_BENCH_DIR` (default
//! `target/log-path-bench`), so a second run skips the generation; its commit-graph is removed
//! before the "before" figures of every run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use gitapi_core::{GitBackend, LogQuery, Oid, RepoName, RepoPath, Rev, collect_log};

const COMMITS: usize = 50_000;
const FILES: usize = 3_000;
const DIRS: usize = 100;
/// Touched by one commit in 5,000.
const RARE: &str = "rare/seldom.txt";
/// Touched by one commit in 10.
const COMMON: &str = "hot/often.txt";
/// A directory of 30 ordinary files (about 1.3 % of the commits touch it).
const DIR: &str = "d7";
const PAGE: usize = 50;

fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", dir);
    c
}

/// A fixed-seed generator, so every run builds the same history.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

/// 50,000 commits on `main` in one `git fast-import` stream: the first adds every file, each
/// later one changes 1-3 ordinary files, plus the common path every 10th commit and the rare
/// one every 5,000th.
fn generate(git_dir: &Path) -> anyhow::Result<()> {
    let parent = git_dir.parent().context("repository has a parent")?;
    std::fs::create_dir_all(parent)?;
    ensure!(
        git(parent)
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(git_dir)
            .status()?
            .success(),
        "git init"
    );
    let mut child = git(git_dir)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()?;
    let mut s = Vec::with_capacity(16 << 20);
    let mut rng = Lcg(42);
    let path = |f: usize| format!("d{}/f{}.txt", f % DIRS, f / DIRS);
    for c in 0..COMMITS {
        let time = 1_600_000_000 + 60 * c as u64;
        let msg = format!("commit {c}");
        writeln!(s, "commit refs/heads/main")?;
        writeln!(s, "committer Bench <bench@example.com> {time} +0000")?;
        writeln!(s, "data {}\n{msg}", msg.len())?;
        let mut changed: Vec<String> = if c == 0 {
            (0..FILES).map(path).collect()
        } else {
            (0..1 + rng.below(3))
                .map(|_| path(rng.below(FILES)))
                .collect()
        };
        if c % 10 == 0 {
            changed.push(COMMON.to_owned());
        }
        if c % 5_000 == 0 {
            changed.push(RARE.to_owned());
        }
        for p in changed {
            let body = format!("{p}\nversion {c}\n");
            writeln!(s, "M 100644 inline {p}")?;
            writeln!(s, "data {}\n{body}", body.len())?;
        }
        writeln!(s)?;
    }
    child.stdin.take().context("stdin")?.write_all(&s)?;
    ensure!(child.wait()?.success(), "fast-import");
    Ok(())
}

fn git_log(git_dir: &Path, limit: usize, path: &str) -> anyhow::Result<Vec<Oid>> {
    let mut c = git(git_dir);
    c.args(["log", "--format=%H"]);
    if limit > 0 {
        c.arg(format!("-n{limit}"));
    }
    let out = c.args(["main", "--", path]).output()?;
    ensure!(out.status.success(), "git log");
    String::from_utf8(out.stdout)?
        .lines()
        .map(|l| Ok(Oid::from_hex(l)?))
        .collect()
}

fn pct(samples: &mut [Duration], q: f64) -> f64 {
    samples.sort();
    let i = ((samples.len() as f64 * q) as usize).min(samples.len() - 1);
    samples[i].as_secs_f64() * 1e3
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let reps: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20);
    let reps_before: usize = std::env::args()
        .nth(2)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(3);
    let data: PathBuf = std::env::var_os("LOG_PATH_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/log-path-bench")
        });
    let layout = gitapi_core::Layout::new(&data);
    let repo = RepoName::new("history")?;
    let git_dir = layout.repo_dir(&repo);
    if !git_dir.join("generated").is_file() {
        let _ = std::fs::remove_dir_all(&git_dir);
        let t = Instant::now();
        generate(&git_dir)?;
        std::fs::write(git_dir.join("generated"), b"")?;
        println!("generated {COMMITS} commits in {:.1?}", t.elapsed());
    }
    let info = git_dir.join("objects/info");
    let _ = std::fs::remove_file(info.join("commit-graph"));
    let _ = std::fs::remove_dir_all(info.join("commit-graphs"));

    let engines: [Arc<dyn GitBackend>; 2] = [
        Arc::new(gitapi_shell::ShellBackend::new(gitapi_shell::Config::new(
            &data,
        ))),
        Arc::new(gitapi_git2::Git2Backend::new(gitapi_git2::Config::new(
            &data,
        ))),
    ];
    println!(
        "{reps_before} repetitions per cell without a commit-graph, {reps} with; p50 / p99 in ms \
         (with so few samples p99 is the slowest)"
    );
    println!(
        "| commit-graph | path | query | commits | git log p50 | git log p99 | shell p50 | shell p99 | libgit2 p50 | libgit2 p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for state in ["none", "with Bloom filters"] {
        let reps = if state == "none" { reps_before } else { reps };
        if state != "none" {
            let t = Instant::now();
            engines[0].gc(&repo).await?;
            eprintln!("gc with the commit-graph took {:.1?}", t.elapsed());
        }
        for path in [RARE, COMMON, DIR] {
            for limit in [PAGE, 0] {
                let want = git_log(&git_dir, limit, path)?;
                let mut git_t = Vec::new();
                for _ in 0..reps {
                    let t = Instant::now();
                    git_log(&git_dir, limit, path)?;
                    git_t.push(t.elapsed());
                }
                let mut cells = vec![pct(&mut git_t, 0.5), pct(&mut git_t, 0.99)];
                for e in &engines {
                    let mut q = LogQuery::of(Rev::new("main")?);
                    q.path = Some(RepoPath::new(path)?);
                    q.limit = limit;
                    // The first call warms the engine's handles and processes, and checks the
                    // answer.
                    let got: Vec<Oid> = collect_log(e.as_ref(), &repo, q.clone())
                        .await?
                        .iter()
                        .map(|c| c.oid)
                        .collect();
                    ensure!(got == want, "{} answers git log -- {path}", e.name());
                    let mut ts = Vec::new();
                    for _ in 0..reps {
                        let t = Instant::now();
                        collect_log(e.as_ref(), &repo, q.clone()).await?;
                        ts.push(t.elapsed());
                    }
                    cells.push(pct(&mut ts, 0.5));
                    cells.push(pct(&mut ts, 0.99));
                }
                let query = if limit > 0 {
                    format!("first {limit}")
                } else {
                    "all".to_owned()
                };
                let cells: Vec<String> = cells.iter().map(|v| format!("{v:.1}")).collect();
                println!(
                    "| {state} | `{path}` | {query} | {} | {} |",
                    want.len(),
                    cells.join(" | ")
                );
            }
        }
    }
    Ok(())
}
