//! Prints p50/p99/p99.9 latencies of the libgit2 engine's hot reads and of one-file commits,
//! on a generated repository (default 5,000 files in 500 directories), one call at a time
//! through the async API, as a server calls it.
//!
//! `cargo run --release -p gitapi-git2 --example latency -- [FILES] [CALLS]`

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gitapi_core::{
    BlobRef, CommitFiles, FileAction, GitBackend, ListTree, RefName, RepoName, RepoPath, Rev,
    Signature,
};
use gitapi_git2::{Config, Git2Backend};

fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", dir);
    c
}

fn build_repo(git_dir: &Path, files: usize) -> anyhow::Result<()> {
    let parent = git_dir
        .parent()
        .ok_or_else(|| anyhow::anyhow!("no parent"))?;
    anyhow::ensure!(
        git(parent)
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(git_dir)
            .status()?
            .success()
    );
    let mut child = git(git_dir)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()?;
    let mut s = Vec::new();
    writeln!(
        s,
        "commit refs/heads/main\ncommitter L <l@example.com> 1600000000 +0000\ndata 4\ninit"
    )?;
    for f in 0..files {
        let body = format!("file {f}\n");
        writeln!(
            s,
            "M 100644 inline dir{}/file{}.txt\ndata {}\n{body}",
            f % 500,
            f / 500,
            body.len()
        )?;
    }
    child
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdin"))?
        .write_all(&s)?;
    anyhow::ensure!(child.wait()?.success());
    // LATENCY_NO_FSYNC=1 measures the floor without durability, to see what fsync costs.
    let fsync = (std::env::var_os("LATENCY_NO_FSYNC").is_none()).to_string();
    anyhow::ensure!(
        git(git_dir)
            .args(["config", "core.fsyncObjectFiles", &fsync])
            .status()?
            .success()
    );
    Ok(())
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "{name:<28} n={:<5} p50={:>9.1?} p99={:>9.1?} p99.9={:>9.1?} max={:>9.1?}",
        samples.len(),
        at(0.50),
        at(0.99),
        at(0.999),
        samples[samples.len() - 1]
    );
}

async fn time<F, Fut, T>(n: usize, mut f: F) -> Vec<Duration>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = gitapi_core::Result<T>>,
{
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        f(i).await.expect("operation succeeds");
        out.push(start.elapsed());
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let files: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5_000);
    let calls: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1_000);
    let data = tempfile::tempdir()?;
    let layout = gitapi_core::Layout::new(data.path());
    let repo = RepoName::new("latency")?;
    std::fs::create_dir_all(layout.repos_dir())?;
    build_repo(&layout.repo_dir(&repo), files)?;
    let engine = Git2Backend::new(Config::new(data.path()));
    let main = Rev::new("refs/heads/main")?;
    let file = RepoPath::new("dir123/file1.txt")?;
    let dir = RepoPath::new("dir123")?;
    println!(
        "repository: {files} files; {calls} calls per read, {} commits",
        calls / 4
    );

    report(
        "resolve_ref",
        time(calls, |_| engine.resolve(&repo, &main)).await,
    );
    report(
        "read_blob_by_path",
        time(calls, |_| {
            engine.read_blob(
                &repo,
                BlobRef::ByPath {
                    rev: main.clone(),
                    path: file.clone(),
                },
            )
        })
        .await,
    );
    report(
        "list_directory",
        time(calls, |_| {
            engine.list_tree(
                &repo,
                ListTree {
                    rev: main.clone(),
                    path: Some(dir.clone()),
                    recursive: false,
                },
            )
        })
        .await,
    );
    report(
        "get_commit",
        time(calls, |_| engine.get_commit(&repo, &main)).await,
    );
    let branch = RefName::branch("main")?;
    let author = Signature::new("L", "l@example.com", 1_700_000_000, 0)?;
    report(
        "commit_one_file_action",
        time(calls / 4, |i| {
            engine.commit_files(
                &repo,
                CommitFiles {
                    branch: branch.clone(),
                    expected_tip: None,
                    start_point: None,
                    actions: vec![FileAction::Put {
                        path: RepoPath::new(format!("dir{}/file0.txt", i % 500)).expect("valid"),
                        content: Bytes::from(format!("write {i}\n")),
                        mode: None,
                    }],
                    message: format!("write {i}"),
                    author: author.clone(),
                    committer: None,
                    signing: Default::default(),
                    allow_empty: false,
                },
            )
        })
        .await,
    );
    Ok(())
}
