//! p50 latencies of a few reads and of a one-file commit on a small repository:
//! `cargo run --release -p gitapi-shell --example latency`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use gitapi_core::{
    BlobRef, CommitFiles, FileAction, GitBackend, InitOptions, ListTree, Oid, RefName, RepoName,
    RepoPath, Rev, Signature, Signing,
};

fn p50(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> gitapi_core::Result<()> {
    let dir = tempfile::tempdir().map_err(|e| gitapi_core::Error::internal(e.to_string()))?;
    let engine = gitapi_shell::ShellBackend::new(gitapi_shell::Config::new(dir.path()));
    let repo = RepoName::new("bench")?;
    engine.init_repo(&repo, InitOptions::default()).await?;
    let main = RefName::branch("main")?;
    let sig = Signature::new("Bench", "b@example.com", 1_700_000_000, 0)?;
    let files: Vec<FileAction> = (0..200)
        .map(|i| FileAction::Put {
            path: RepoPath::new(format!("dir{}/file{i}.txt", i % 10)).expect("valid"),
            content: Bytes::from(format!("content {i}\n")),
            mode: None,
        })
        .collect();
    let mut tip = engine
        .commit_files(
            &repo,
            CommitFiles {
                branch: main.clone(),
                expected_tip: Some(Oid::ZERO),
                start_point: None,
                actions: files,
                message: "seed".into(),
                author: sig.clone(),
                committer: None,
                signing: Signing::None,
                allow_empty: false,
            },
        )
        .await?
        .oid;
    let rev = Rev::from(&main);
    let n = 200;
    let mut t = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let s = Instant::now();
        engine.resolve(&repo, &rev).await?;
        t.0.push(s.elapsed());
        let s = Instant::now();
        engine.get_commit(&repo, &rev).await?;
        t.1.push(s.elapsed());
        let s = Instant::now();
        engine
            .read_blob(
                &repo,
                BlobRef::ByPath {
                    rev: rev.clone(),
                    path: RepoPath::new("dir3/file13.txt")?,
                },
            )
            .await?;
        t.2.push(s.elapsed());
        let s = Instant::now();
        engine
            .list_tree(
                &repo,
                ListTree {
                    rev: rev.clone(),
                    path: Some(RepoPath::new("dir3")?),
                    recursive: false,
                },
            )
            .await?;
        t.3.push(s.elapsed());
        if i < 100 {
            let s = Instant::now();
            tip = engine
                .commit_files(
                    &repo,
                    CommitFiles {
                        branch: main.clone(),
                        expected_tip: Some(tip),
                        start_point: None,
                        actions: vec![FileAction::Put {
                            path: RepoPath::new("dir1/changing.txt")?,
                            content: Bytes::from(format!("v{i}\n")),
                            mode: None,
                        }],
                        message: format!("change {i}"),
                        author: sig.clone(),
                        committer: None,
                        signing: Signing::None,
                        allow_empty: false,
                    },
                )
                .await?
                .oid;
            t.4.push(s.elapsed());
        }
    }
    println!("resolve      p50 {:?}", p50(t.0));
    println!("get_commit   p50 {:?}", p50(t.1));
    println!("read_blob    p50 {:?}", p50(t.2));
    println!("list_tree    p50 {:?}", p50(t.3));
    println!(
        "commit_files p50 {:?} (one file, one directory deep)",
        p50(t.4)
    );
    Ok(())
}
