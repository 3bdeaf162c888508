//! Exercises the libgit2 engine end to end on a data directory: creates a repository, commits
//! files through the action-list write path, branches, merges, and reads everything back.
//!
//! `cargo run -p gitapi-git2 --example demo -- [DATA_DIR]` (default `./gitapi-data`).

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use gitapi_core::{
    BlobRef, CommitFiles, DiffOptions, DiffRequest, DiffSpec, FastForward, FileAction, GitBackend,
    InitOptions, ListTree, LogQuery, Merge, RefName, RepoName, RepoPath, Rev, Signature,
};
use gitapi_git2::{Config, Git2Backend};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let data = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "./gitapi-data".to_owned());
    let engine: Arc<dyn GitBackend> = Arc::new(Git2Backend::new(Config::new(&data)));
    let repo = RepoName::new(format!("demo-{}", std::process::id()))?;
    let me = Signature::new("Demo", "demo@example.com", chrono_now(), 0)?;
    let main = RefName::branch("main")?;

    let info = engine.init_repo(&repo, InitOptions::default()).await?;
    println!(
        "created {} in {data} (default branch {:?})",
        info.name, info.default_branch
    );

    let put = |path: &str, text: &str| -> anyhow::Result<FileAction> {
        Ok(FileAction::Put {
            path: RepoPath::new(path)?,
            content: Bytes::from(text.to_owned()),
            mode: None,
        })
    };
    let first = engine
        .commit_files(
            &repo,
            CommitFiles {
                branch: main.clone(),
                expected_tip: Some(gitapi_core::Oid::ZERO),
                start_point: None,
                actions: vec![
                    put("README.md", "# demo\n")?,
                    put("src/lib.rs", "fn a() {}\n")?,
                ],
                message: "initial commit".into(),
                author: me.clone(),
                committer: None,
                signing: Default::default(),
                allow_empty: false,
            },
        )
        .await?;
    println!("commit {} {}", first.oid.short(7), first.summary());

    let feature = RefName::branch("feature")?;
    engine
        .create_branch(&repo, &feature, &Rev::from(first.oid))
        .await?;
    let second = engine
        .commit_files(
            &repo,
            CommitFiles {
                branch: feature.clone(),
                expected_tip: Some(first.oid),
                start_point: None,
                actions: vec![put("src/lib.rs", "fn a() {}\nfn b() {}\n")?],
                message: "add b".into(),
                author: me.clone(),
                committer: None,
                signing: Default::default(),
                allow_empty: false,
            },
        )
        .await?;
    let merged = engine
        .merge(
            &repo,
            Merge {
                source: Rev::from(&feature),
                target: main.clone(),
                expected_tip: Some(first.oid),
                fast_forward: FastForward::Ff,
                message: None,
                committer: me.clone(),
            },
        )
        .await?;
    println!(
        "merge feature into main: {:?} -> {}",
        merged.kind,
        merged.tip.short(7)
    );

    for e in engine
        .list_tree(
            &repo,
            ListTree {
                rev: Rev::from(&main),
                path: None,
                recursive: true,
            },
        )
        .await?
    {
        println!(
            "{:?} {} {:>6} {}",
            e.mode,
            e.oid.short(7),
            e.size.unwrap_or(0),
            e.path
        );
    }
    let blob = engine
        .read_blob(
            &repo,
            BlobRef::ByPath {
                rev: Rev::from(&main),
                path: RepoPath::new("src/lib.rs")?,
            },
        )
        .await?;
    print!("src/lib.rs:\n{}", String::from_utf8_lossy(&blob.content));

    let log: Vec<_> = engine
        .log(&repo, LogQuery::of(Rev::from(&main)))
        .await?
        .try_collect()
        .await?;
    for c in &log {
        println!("log {} {}", c.oid.short(7), c.summary());
    }
    let diff = engine
        .diff(
            &repo,
            DiffRequest {
                spec: DiffSpec::Commits {
                    from: Some(Rev::from(first.oid)),
                    to: Rev::from(second.oid),
                },
                options: DiffOptions::default(),
            },
        )
        .await?;
    print!("{}", diff.to_patch());
    println!(
        "diff id {}",
        diff.id.map(|i| i.as_str().to_owned()).unwrap_or_default()
    );
    Ok(())
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0)
}
