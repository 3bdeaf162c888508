//! Both engines side by side on the same generated repository (5,000 files in 500 directories,
//! 1,000 commits): the hot reads and the fast write.
//!
//! Run: `cargo bench -p gitapi-switch --bench engines`.

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use futures::TryStreamExt;
use gitapi_core::{
    BlobRef, CommitFiles, FileAction, GitBackend, ListTree, LogQuery, RefName, RepoName, RepoPath,
    Rev, Signature,
};
use gitapi_testkit::bigrepo::{self, Shape};

fn benches(c: &mut Criterion) {
    let data = tempfile::tempdir().expect("temp dir");
    let layout = gitapi_core::Layout::new(data.path());
    let repo = RepoName::new("bench").expect("valid name");
    bigrepo::build(&layout.repo_dir(&repo), Shape::BENCH);
    let engines: [Arc<dyn GitBackend>; 2] = [
        Arc::new(gitapi_git2::Git2Backend::new(gitapi_git2::Config::new(
            data.path(),
        ))),
        Arc::new(gitapi_shell::ShellBackend::new(gitapi_shell::Config::new(
            data.path(),
        ))),
    ];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let main = Rev::new("refs/heads/main").expect("valid rev");
    let file = RepoPath::new(Shape::BENCH.path(1234)).expect("valid path");
    let dir = RepoPath::new("dir123").expect("valid path");
    let branch = RefName::branch("main").expect("valid ref");
    let author = Signature::new("Bench", "bench@example.com", 1_700_000_000, 0).expect("valid");

    for engine in &engines {
        let mut g = c.benchmark_group(engine.name());
        g.bench_function("resolve_ref", |b| {
            b.iter(|| {
                rt.block_on(engine.resolve(&repo, black_box(&main)))
                    .expect("resolves")
            })
        });
        g.bench_function("get_commit", |b| {
            b.iter(|| rt.block_on(engine.get_commit(&repo, &main)).expect("reads"))
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
                assert_eq!(entries.len(), Shape::BENCH.files);
            })
        });
        g.bench_function("log_100", |b| {
            b.iter(|| {
                let mut q = LogQuery::of(main.clone());
                q.limit = 100;
                let log: Vec<_> = rt
                    .block_on(async { engine.log(&repo, q).await?.try_collect().await })
                    .expect("walks");
                assert_eq!(log.len(), 100);
            })
        });
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
}

criterion_group!(engines, benches);
criterion_main!(engines);
