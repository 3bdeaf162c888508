//! p50 / p99 / p99.9 latencies of both engines, one call at a time through the async API as a
//! server calls them, on a generated repository (5,000 files in 500 directories, 1,000
//! commits).
//!
//! `cargo run --release -p gitapi-switch --example latency -- [CALLS]`

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use gitapi_core::{
    BlobRef, CommitFiles, FileAction, GitBackend, ListTree, RefName, RepoName, RepoPath, Rev,
    Signature,
};
use gitapi_testkit::bigrepo::{self, Shape};

fn report(engine: &str, name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "| {engine} | {name} | {} | {:.1?} | {:.1?} | {:.1?} |",
        samples.len(),
        at(0.50),
        at(0.99),
        at(0.999)
    );
}

async fn time<F, Fut, T>(n: usize, mut f: F) -> Vec<Duration>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = gitapi_core::Result<T>>,
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
    let calls: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000);
    let data = tempfile::tempdir()?;
    let layout = gitapi_core::Layout::new(data.path());
    let repo = RepoName::new("latency")?;
    bigrepo::build(&layout.repo_dir(&repo), Shape::BENCH);
    let engines: [Arc<dyn GitBackend>; 2] = [
        Arc::new(gitapi_git2::Git2Backend::new(gitapi_git2::Config::new(
            data.path(),
        ))),
        Arc::new(gitapi_shell::ShellBackend::new(gitapi_shell::Config::new(
            data.path(),
        ))),
    ];
    let main = Rev::new("refs/heads/main")?;
    let file = RepoPath::new(Shape::BENCH.path(1234))?;
    let dir = RepoPath::new("dir123")?;
    let branch = RefName::branch("main")?;
    let author = Signature::new("L", "l@example.com", 1_700_000_000, 0)?;
    println!("| engine | operation | calls | p50 | p99 | p99.9 |");
    println!("|---|---|---|---|---|---|");
    for e in &engines {
        let name = e.name();
        report(
            name,
            "resolve_ref",
            time(calls, |_| e.resolve(&repo, &main)).await,
        );
        report(
            name,
            "get_commit",
            time(calls, |_| e.get_commit(&repo, &main)).await,
        );
        let blob = |_| {
            e.read_blob(
                &repo,
                BlobRef::ByPath {
                    rev: main.clone(),
                    path: file.clone(),
                },
            )
        };
        report(name, "read_blob_by_path", time(calls, blob).await);
        let list = |_| {
            e.list_tree(
                &repo,
                ListTree {
                    rev: main.clone(),
                    path: Some(dir.clone()),
                    recursive: false,
                },
            )
        };
        report(name, "list_directory", time(calls, list).await);
        let commit = |i: usize| {
            e.commit_files(
                &repo,
                CommitFiles {
                    branch: branch.clone(),
                    expected_tip: None,
                    start_point: None,
                    actions: vec![FileAction::Put {
                        path: RepoPath::new(Shape::BENCH.path(i % 5_000)).expect("valid"),
                        content: Bytes::from(format!("{name} write {i}\n")),
                        mode: None,
                    }],
                    message: format!("write {i}"),
                    author: author.clone(),
                    committer: None,
                    signing: Default::default(),
                    allow_empty: false,
                },
            )
        };
        report(
            name,
            "commit_one_file_action",
            time(calls / 5, commit).await,
        );
    }
    Ok(())
}
