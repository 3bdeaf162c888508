//! Hot reads and the fast write of the libgit2 engine, on a generated repository of 5,000 files
//! in 500 directories with 1,000 commits.
//!
//! Run: `cargo bench -p gitapi-git2 --bench engine`. The repository is built once with
//! `git fast-import` in a hermetic environment.

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use gitapi_core::{
    BlobRef, CommitFiles, FileAction, GitBackend, ListTree, RefName, RepoName, RepoPath, Rev,
    Signature,
};
use gitapi_git2::{Config, Git2Backend};

const FILES: usize = 5_000;
const DIRS: usize = 500;
const COMMITS: usize = 1_000;

fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", dir);
    c
}

/// Builds the repository with one fast-import stream: a first commit with every file, then
/// one commit per change of one file.
fn build_repo(git_dir: &Path) {
    let status = git(git_dir.parent().expect("has a parent"))
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(git_dir)
        .status()
        .expect("git init runs");
    assert!(status.success());
    let mut child = git(git_dir)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("fast-import runs");
    let mut stream = Vec::new();
    let mut time = 1_600_000_000u64;
    for c in 0..COMMITS {
        let msg = format!("commit {c}");
        writeln!(stream, "commit refs/heads/main").ok();
        writeln!(stream, "committer Bench <bench@example.com> {time} +0000").ok();
        writeln!(stream, "data {}\n{msg}", msg.len()).ok();
        if c == 0 {
            for f in 0..FILES {
                let body = format!("file {f}\nline two\n");
                writeln!(
                    stream,
                    "M 100644 inline dir{}/file{}.txt",
                    f % DIRS,
                    f / DIRS
                )
                .ok();
                writeln!(stream, "data {}\n{body}", body.len()).ok();
            }
        } else {
            let f = (c * 7) % FILES;
            let body = format!("file {f}\nchanged in {c}\n");
            writeln!(
                stream,
                "M 100644 inline dir{}/file{}.txt",
                f % DIRS,
                f / DIRS
            )
            .ok();
            writeln!(stream, "data {}\n{body}", body.len()).ok();
        }
        writeln!(stream).ok();
        time += 60;
    }
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(&stream)
        .expect("fast-import reads the stream");
    assert!(child.wait().expect("fast-import ends").success());
    let status = git(git_dir)
        .args(["config", "core.fsyncObjectFiles", "true"])
        .status()
        .expect("git config runs");
    assert!(status.success());
}

fn benches(c: &mut Criterion) {
    let data = tempfile::tempdir().expect("temp dir");
    let repo = RepoName::new("bench").expect("valid name");
    let layout = gitapi_core::Layout::new(data.path());
    std::fs::create_dir_all(layout.repos_dir()).expect("repos dir");
    build_repo(&layout.repo_dir(&repo));
    let engine: Arc<dyn GitBackend> = Arc::new(Git2Backend::new(Config::new(data.path())));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let main = Rev::new("refs/heads/main").expect("valid rev");
    let file = RepoPath::new("dir123/file7.txt").expect("valid path");
    let dir = RepoPath::new("dir123").expect("valid path");

    let mut g = c.benchmark_group("libgit2");
    g.bench_function("resolve_ref", |b| {
        b.iter(|| {
            rt.block_on(engine.resolve(&repo, black_box(&main)))
                .expect("resolves")
        })
    });
    g.bench_function("read_blob_by_path", |b| {
        b.iter(|| {
            rt.block_on(engine.read_blob(
                &repo,
                BlobRef::ByPath {
                    rev: main.clone(),
                    path: file.clone(),
                },
            ))
            .expect("reads")
        })
    });
    g.bench_function("list_directory", |b| {
        b.iter(|| {
            rt.block_on(engine.list_tree(
                &repo,
                ListTree {
                    rev: main.clone(),
                    path: Some(dir.clone()),
                    recursive: false,
                },
            ))
            .expect("lists")
        })
    });
    g.sample_size(20);
    g.bench_function("list_tree_recursive_5000", |b| {
        b.iter(|| {
            let entries = rt
                .block_on(engine.list_tree(
                    &repo,
                    ListTree {
                        rev: main.clone(),
                        path: None,
                        recursive: true,
                    },
                ))
                .expect("lists");
            assert_eq!(entries.len(), FILES);
        })
    });
    let branch = RefName::branch("main").expect("valid ref");
    let author = Signature::new("Bench", "bench@example.com", 1_700_000_000, 0).expect("valid");
    let mut n = 0u64;
    g.bench_function("commit_one_file_action", |b| {
        b.iter(|| {
            n += 1;
            let req = CommitFiles {
                branch: branch.clone(),
                expected_tip: None,
                start_point: None,
                actions: vec![FileAction::Put {
                    path: file.clone(),
                    content: Bytes::from(format!("write {n}\n")),
                    mode: None,
                }],
                message: format!("bench write {n}"),
                author: author.clone(),
                committer: None,
                signing: Default::default(),
                allow_empty: false,
            };
            rt.block_on(engine.commit_files(&repo, req))
                .expect("commits")
        })
    });
    g.finish();
}

criterion_group!(engine, benches);
criterion_main!(engine);
