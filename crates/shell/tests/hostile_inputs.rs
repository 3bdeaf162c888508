//! Caller values that look like git options never reach git as options: the builder puts them
//! after `--end-of-options` or `--`, and the engine works with names and paths such as
//! `refs/heads/--foo` or `--exec=id` (valid in git) without creating anything elsewhere.

use std::path::Path;

use bytes::Bytes;
use gitapi_core::{
    BlameQuery, BlobRef, CommitFiles, DiffOptions, DiffRequest, DiffSpec, FileAction, GitBackend,
    InitOptions, ListRefs, ListTree, LogQuery, Oid, RefName, RepoName, RepoPath, Rev, Signature,
    Signing, WorkspaceName, collect_log,
};

#[test]
fn hostile_revisions_cannot_be_built() {
    for bad in [
        "-h",
        "--output=/tmp/x",
        "--exec=id",
        "-",
        "--end-of-options",
    ] {
        assert!(Rev::new(bad).is_err(), "{bad} must not be a revision");
    }
    // Paths and ref names may look like options; they are only ever passed as pathspecs or on
    // stdin.
    assert!(RepoPath::new("--exec=id").is_ok());
    assert!(RefName::new("refs/heads/--foo").is_ok());
}

fn sig(t: i64) -> Signature {
    Signature::new("Hostile Test", "h@example.com", 1_700_000_000 + t, 0).expect("valid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_handles_option_like_names_without_side_effects() {
    let data = tempfile::tempdir().expect("data dir");
    let outside = tempfile::tempdir().expect("outside dir");
    let engine = gitapi_shell::ShellBackend::new(gitapi_shell::Config::new(data.path()));
    let repo = RepoName::new("hostile").expect("name");
    engine
        .init_repo(&repo, InitOptions::default())
        .await
        .expect("init");

    let tricky_branch = RefName::new("refs/heads/--foo").expect("valid ref");
    // Were it an option, git would write a file `pwned` in its working directory.
    let output_branch =
        RefName::new("refs/heads/--output=pwned").expect("a ref name may contain =");
    let paths = ["-h", "--exec=id", "--output=x"];
    let actions = paths
        .iter()
        .map(|p| FileAction::Put {
            path: RepoPath::new(*p).expect("valid path"),
            content: Bytes::from(format!("{p}\n")),
            mode: None,
        })
        .collect();
    let c = engine
        .commit_files(
            &repo,
            CommitFiles {
                branch: tricky_branch.clone(),
                expected_tip: Some(Oid::ZERO),
                start_point: None,
                actions,
                message: "--exec=id\n\n-h".to_owned(),
                author: sig(1),
                committer: None,
                signing: Signing::None,
                allow_empty: false,
            },
        )
        .await
        .expect("a branch named refs/heads/--foo works");
    assert_eq!(
        engine
            .get_ref(&repo, &tricky_branch)
            .await
            .expect("get_ref")
            .target,
        c.oid
    );
    let rev = Rev::from(&tricky_branch);
    assert_eq!(engine.resolve(&repo, &rev).await.expect("resolve"), c.oid);
    engine
        .create_branch(&repo, &output_branch, &rev)
        .await
        .expect("create a branch named like an option");
    let listed = engine
        .list_refs(&repo, ListRefs::default())
        .await
        .expect("list_refs");
    assert_eq!(listed.items.len(), 2);
    for p in paths {
        let path = RepoPath::new(p).expect("valid path");
        let blob = engine
            .read_blob(
                &repo,
                BlobRef::ByPath {
                    rev: rev.clone(),
                    path: path.clone(),
                },
            )
            .await
            .expect("read_blob");
        assert_eq!(blob.content, Bytes::from(format!("{p}\n")));
        let mut q = LogQuery::of(rev.clone());
        q.path = Some(path.clone());
        assert_eq!(
            collect_log(&engine, &repo, q).await.expect("log").len(),
            1,
            "log -- {p}"
        );
        let hunks = engine
            .blame(
                &repo,
                BlameQuery {
                    path: path.clone(),
                    rev: rev.clone(),
                    lines: None,
                },
            )
            .await
            .expect("blame");
        assert_eq!(hunks.len(), 1);
        let d = engine
            .diff(
                &repo,
                DiffRequest {
                    spec: DiffSpec::Commits {
                        from: None,
                        to: rev.clone(),
                    },
                    options: DiffOptions {
                        paths: vec![path.clone()],
                        ..DiffOptions::default()
                    },
                },
            )
            .await
            .expect("diff");
        assert_eq!(d.files.len(), 1, "diff -- {p}");
    }
    let tree = engine
        .list_tree(
            &repo,
            ListTree {
                rev: rev.clone(),
                path: None,
                recursive: true,
            },
        )
        .await
        .expect("list_tree");
    assert_eq!(tree.len(), 3);

    // Work-tree operations with option-like paths.
    let ws = WorkspaceName::new("edit").expect("name");
    engine
        .create_workspace(&repo, &ws, Some(tricky_branch.clone()))
        .await
        .expect("workspace on refs/heads/--foo");
    let dash = RepoPath::new("--exec=id").expect("valid path");
    engine
        .put_file(&repo, &ws, &dash, Bytes::from_static(b"changed\n"), None)
        .await
        .expect("put_file");
    engine.stage(&repo, &ws, &dash).await.expect("stage");
    engine.unstage(&repo, &ws, &dash).await.expect("unstage");
    engine.discard(&repo, &ws, &dash).await.expect("discard");
    assert!(engine.status(&repo, &ws).await.expect("status").is_empty());

    engine
        .rename_branch(
            &repo,
            &output_branch,
            &RefName::new("refs/heads/-h").expect("valid ref"),
        )
        .await
        .expect("rename a branch named like an option");
    engine
        .delete_ref(&repo, &RefName::new("refs/heads/-h").expect("valid"), None)
        .await
        .expect("delete");

    // Nothing was written where an option would have written.
    assert!(
        !contains_file(data.path(), "pwned"),
        "git never took --output=pwned as an option"
    );
    assert_eq!(
        std::fs::read_dir(outside.path()).expect("outside").count(),
        0,
        "nothing was created outside the data directory"
    );
}

fn contains_file(dir: &Path, name: &str) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let p = e.path();
            // Ref files are named after the branch; only files outside refs/ and logs/ count.
            let in_refs = p
                .components()
                .any(|c| matches!(c.as_os_str().to_str(), Some("refs" | "logs")));
            (!in_refs && e.file_name() == name)
                || (p.is_dir() && !in_refs && contains_file(&p, name))
        })
}
