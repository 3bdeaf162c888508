//! Reads checked against `git` on the same repository.

use std::collections::BTreeMap;
use std::path::Path;

use gitwire::{CloneOptions, CompareOptions, ErrorKind, LogOptions, Oid};

use crate::support::{fixtures, git};
use crate::{client, fixture_server};

fn main_repo() -> std::path::PathBuf {
    fixtures().repo("main.git")
}

fn rev(repo: &Path, spec: &str) -> Oid {
    git(repo, &["rev-parse", spec])
        .trim()
        .parse()
        .expect("git prints an id")
}

#[tokio::test]
async fn capabilities_and_access_checks() {
    let server = fixture_server().await;
    let c = client(&server.url("main.git"));
    c.check_compatible()
        .await
        .expect("git http-backend speaks v2");
    assert!(c.can_read().await.expect("answer"));
    assert!(c.can_write().await.expect("answer"));
    let missing = client(&server.url("nope.git"));
    assert!(!missing.can_read().await.expect("answer"));
    let err = missing.ls_refs(None).await.expect_err("no such repository");
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn ls_refs_matches_for_each_ref() {
    let server = fixture_server().await;
    let c = client(&server.url("main.git"));
    let refs = c.ls_refs(None).await.expect("ls-refs");
    let repo = main_repo();
    let expected: BTreeMap<String, Oid> = git(
        &repo,
        &["for-each-ref", "--format=%(refname) %(objectname)"],
    )
    .lines()
    .map(|l| {
        let (n, o) = l.split_once(' ').expect("two fields");
        (n.to_owned(), o.parse().expect("id"))
    })
    .collect();
    let got: BTreeMap<String, Oid> = refs
        .iter()
        .filter(|r| r.name != "HEAD")
        .map(|r| (r.name.clone(), r.oid.expect("born")))
        .collect();
    assert_eq!(got, expected);
    let head = refs.iter().find(|r| r.name == "HEAD").expect("HEAD listed");
    assert_eq!(head.symref_target.as_deref(), Some("refs/heads/main"));
    let tag = refs
        .iter()
        .find(|r| r.name == "refs/tags/v1.0")
        .expect("tag");
    assert_eq!(tag.peeled, Some(rev(&repo, "v1.0^{}")));
    let tags = c.ls_refs(Some("refs/tags/")).await.expect("ls-refs");
    assert_eq!(tags.len(), 2);
    assert!(tags.iter().all(|r| r.name.starts_with("refs/tags/")));
    assert_eq!(c.default_branch().await.expect("HEAD"), "refs/heads/main");
}

#[tokio::test]
async fn unborn_head_of_empty_repository() {
    let server = fixture_server().await;
    let c = client(&server.url("empty.git"));
    let refs = c.ls_refs(None).await.expect("ls-refs");
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].oid, None);
    assert_eq!(refs[0].symref_target.as_deref(), Some("refs/heads/main"));
    assert_eq!(
        c.resolve("HEAD").await.expect_err("unborn").kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn resolves_short_names_like_rev_parse() {
    let server = fixture_server().await;
    let c = client(&server.url("main.git"));
    let repo = main_repo();
    for spec in [
        "main",
        "HEAD",
        "v1.0",
        "light",
        "feature",
        "refs/heads/main",
        "main~1",
        "main~3",
        "v1.0^2",
        "v1.0^1~2",
    ] {
        let expected = rev(&repo, &format!("{spec}^{{commit}}"));
        assert_eq!(c.resolve(spec).await.expect(spec), expected, "{spec}");
    }
    assert_eq!(
        c.resolve("no-such-branch")
            .await
            .expect_err("missing")
            .kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn merge_commit_keeps_both_parents() {
    let server = fixture_server().await;
    let c = client(&server.url("main.git"));
    let repo = main_repo();
    let merge = rev(&repo, "v1.0^{commit}");
    let commit = c.get_commit(merge).await.expect("commit");
    assert_eq!(
        commit.parents,
        vec![rev(&repo, "v1.0^1"), rev(&repo, "v1.0^2")]
    );
    assert_eq!(commit.tree, rev(&repo, "v1.0^{tree}"));
    let fmt = git(
        &repo,
        &[
            "log",
            "-1",
            "--format=%an|%ae|%at|%cn|%ce|%ct|%B",
            "v1.0^{commit}",
        ],
    );
    let expected = format!(
        "{}|{}|{}|{}|{}|{}|{}",
        commit.author.name,
        commit.author.email,
        commit.author.time,
        commit.committer.name,
        commit.committer.email,
        commit.committer.time,
        commit.message
    );
    assert_eq!(fmt.trim_end(), expected.trim_end());
}

#[tokio::test]
async fn blobs_by_path_match_cat_file_including_delta_chains() {
    let server = fixture_server().await;
    let c = client(&server.url("main.git"));
    let repo = main_repo();
    // data/log.txt has 40 revisions: after `repack --depth=50` most are deltas on deltas.
    for n in [0, 1, 5, 17, 33] {
        let spec = format!("main~{}", n + 1);
        let commit = c.resolve(&spec).await.expect("resolve");
        let got = c
            .get_blob_by_path(commit, "data/log.txt")
            .await
            .expect("blob");
        let out = crate::support::git_cmd(&repo)
            .args(["cat-file", "blob", &format!("{spec}:data/log.txt")])
            .output()
            .expect("git");
        assert_eq!(got.as_ref(), out.stdout.as_slice(), "{spec}");
    }
    let head = c.resolve("main").await.expect("resolve");
    for path in [
        "README.md",
        "empty.txt",
        "link",
        "src/core.rs",
        "docs/manual.md",
        "big/ten-mb.txt",
        "script.sh",
    ] {
        let got = c.get_blob_by_path(head, path).await.expect(path);
        let out = crate::support::git_cmd(&repo)
            .args(["cat-file", "blob", &format!("main:{path}")])
            .output()
            .expect("git");
        assert_eq!(got.as_ref(), out.stdout.as_slice(), "{path}");
    }
    assert_eq!(
        c.get_blob_by_path(head, "big/ten-mb.txt")
            .await
            .expect("big")
            .len(),
        10_000_000
    );
    assert_eq!(
        c.get_blob_by_path(head, "no/such")
            .await
            .expect_err("missing")
            .kind(),
        ErrorKind::NotFound
    );
    let missing: Oid = "1234567890123456789012345678901234567890"
        .parse()
        .expect("id");
    assert_eq!(
        c.get_blob(missing).await.expect_err("missing").kind(),
        ErrorKind::NotFound
    );
    let submodule = c.get_entry(head, "vendor/sub").await.expect("entry");
    assert!(submodule.mode.is_submodule());
    assert_eq!(submodule.oid, rev(&repo, "light"));
}

fn ls_tree_lines(entries: &[gitwire::FlatEntry]) -> String {
    entries
        .iter()
        .map(|e| format!("{} {} {}\t{}\n", e.mode, e.mode.type_name(), e.oid, e.path))
        .collect()
}

#[tokio::test]
async fn list_tree_matches_ls_tree() {
    let server = fixture_server().await;
    let c = client(&server.url("main.git"));
    let repo = main_repo();
    for spec in ["main", "v1.0", "light"] {
        let commit = c
            .get_commit(c.resolve(spec).await.expect("resolve"))
            .await
            .expect("commit");
        let flat = c.list_tree(commit.tree, true).await.expect("list");
        assert_eq!(
            ls_tree_lines(&flat),
            git(&repo, &["ls-tree", "-r", spec]),
            "{spec}"
        );
        let top = c.list_tree(commit.tree, false).await.expect("list");
        assert_eq!(
            ls_tree_lines(&top),
            git(&repo, &["ls-tree", spec]),
            "{spec}"
        );
    }
    let head = c.resolve("main").await.expect("resolve");
    let docs = c.get_tree_by_path(head, "docs").await.expect("tree");
    assert_eq!(docs.entries.len(), 1);
}

#[tokio::test]
async fn five_thousand_files_list_flat() {
    let server = fixture_server().await;
    let c = client(&server.url("big.git"));
    let repo = fixtures().repo("big.git");
    let head = c.resolve("main").await.expect("resolve");
    let commit = c.get_commit(head).await.expect("commit");
    let flat = c.list_tree(commit.tree, true).await.expect("list");
    assert_eq!(flat.len(), 5000);
    assert_eq!(ls_tree_lines(&flat), git(&repo, &["ls-tree", "-r", "main"]));
    let blob = c.get_blob_by_path(head, "d123/f4.txt").await.expect("blob");
    assert_eq!(blob.as_ref(), b"dir 123 file 4\n");
}

async fn log_ids(c: &gitwire::Client, start: &str, opt: LogOptions) -> Vec<String> {
    let oid = c.resolve(start).await.expect("resolve");
    c.log(oid, &opt)
        .await
        .expect("log")
        .into_iter()
        .map(|c| c.oid.to_string())
        .collect()
}

fn git_log(args: &[&str]) -> Vec<String> {
    let mut full = vec!["log", "--format=%H"];
    full.extend_from_slice(args);
    git(&main_repo(), &full)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn log_matches_git_log() {
    let server = fixture_server().await;
    let c = client(&server.url("main.git"));
    assert_eq!(
        log_ids(&c, "main", LogOptions::default()).await,
        git_log(&["main"])
    );
    assert_eq!(
        log_ids(
            &c,
            "main",
            LogOptions {
                first_parent: true,
                ..Default::default()
            }
        )
        .await,
        git_log(&["--first-parent", "main"])
    );
    assert_eq!(
        log_ids(
            &c,
            "main",
            LogOptions {
                limit: Some(5),
                skip: 3,
                ..Default::default()
            }
        )
        .await,
        git_log(&["--skip=3", "-n5", "main"])
    );
    for path in [
        "data/log.txt",
        "docs",
        "README.md",
        "feature.txt",
        "src/lib.rs",
    ] {
        let opt = LogOptions {
            path: Some(path.into()),
            ..Default::default()
        };
        assert_eq!(
            log_ids(&c, "main", opt).await,
            git_log(&["main", "--", path]),
            "{path}"
        );
    }
    let opt = LogOptions {
        path: Some("data/log.txt".into()),
        limit: Some(3),
        skip: 2,
        ..Default::default()
    };
    assert_eq!(
        log_ids(&c, "main", opt).await,
        git_log(&["--skip=2", "-n3", "main", "--", "data/log.txt"])
    );
    // Dates: commit i is at 1_700_000_000 + 60 i (fixture clock); pick a window.
    let all = c
        .log(
            c.resolve("main").await.expect("resolve"),
            &LogOptions::default(),
        )
        .await
        .expect("log");
    let (since, until) = (all[30].committer.time, all[10].committer.time);
    let opt = LogOptions {
        since: Some(since),
        until: Some(until),
        ..Default::default()
    };
    let expected = git_log(&[
        &format!("--since={since}"),
        &format!("--until={until}"),
        "main",
    ]);
    assert_eq!(log_ids(&c, "main", opt).await, expected);
}

fn git_name_status(a: &str, b: &str) -> Vec<String> {
    git(&main_repo(), &["diff", "--name-status", "-M", a, b])
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn compare_matches_diff_name_status() {
    let server = fixture_server().await;
    let c = client(&server.url("main.git"));
    for (a, b) in [
        ("v1.0", "main~1"),
        ("light", "main"),
        ("main~5", "main~2"),
        ("v1.0", "main"),
    ] {
        let (x, y) = (
            c.resolve(a).await.expect("a"),
            c.resolve(b).await.expect("b"),
        );
        let changes = c
            .compare(x, y, &CompareOptions::default())
            .await
            .expect("compare");
        let got: Vec<String> = changes
            .iter()
            .map(|ch| match &ch.old_path {
                Some(old) => format!("{}\t{old}\t{}", ch.status_letter(), ch.path),
                None => format!("{}\t{}", ch.status_letter(), ch.path),
            })
            .collect();
        let expected = git_name_status(a, b);
        // Similarity scores of inexact renames are git's estimate; compare R without it.
        let strip = |v: &[String]| -> Vec<String> {
            v.iter()
                .map(|l| {
                    if l.starts_with('R') && !l.starts_with("R100") {
                        format!("R~{}", &l[4..])
                    } else {
                        l.clone()
                    }
                })
                .collect()
        };
        let mut g = strip(&got);
        let mut e = strip(&expected);
        g.sort();
        e.sort();
        assert_eq!(g, e, "{a}..{b}");
    }
    let (x, y) = (
        c.resolve("v1.0").await.expect("a"),
        c.resolve("main~1").await.expect("b"),
    );
    let changes = c
        .compare(x, y, &CompareOptions::default())
        .await
        .expect("compare");
    let statuses: Vec<_> = changes
        .iter()
        .map(|c| (c.path.as_str(), c.status))
        .collect();
    assert!(statuses.contains(&("empty.txt", gitwire::ChangeStatus::ModeChanged)));
    assert!(statuses.contains(&("tc", gitwire::ChangeStatus::TypeChanged)));
}

fn snapshot(dir: &Path) -> BTreeMap<String, (String, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let e = e.expect("entry");
            let p = e.path();
            let rel = p
                .strip_prefix(dir)
                .expect("below")
                .to_string_lossy()
                .into_owned();
            let meta = std::fs::symlink_metadata(&p).expect("meta");
            if meta.file_type().is_symlink() {
                out.insert(
                    rel,
                    (
                        "link".into(),
                        std::fs::read_link(&p)
                            .expect("link")
                            .to_string_lossy()
                            .as_bytes()
                            .to_vec(),
                    ),
                );
            } else if meta.is_dir() {
                if std::fs::read_dir(&p).expect("read").next().is_none() {
                    out.insert(rel, ("dir".into(), Vec::new()));
                }
                stack.push(p);
            } else {
                let exec = meta.permissions().mode() & 0o111 != 0;
                out.insert(
                    rel,
                    (
                        if exec { "exec" } else { "file" }.into(),
                        std::fs::read(&p).expect("read"),
                    ),
                );
            }
        }
    }
    out
}

fn git_archive(spec: &str, dir: &Path, paths: &[&str]) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let tar = dir.join("../archive.tar");
    let mut args = vec![
        "archive",
        "--format=tar",
        "-o",
        tar.to_str().expect("utf-8"),
        spec,
    ];
    args.extend_from_slice(paths);
    git(&main_repo(), &args);
    let st = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&tar)
        .arg("-C")
        .arg(dir)
        .status()
        .expect("tar");
    assert!(st.success());
    std::fs::remove_file(tar).expect("rm");
}

#[tokio::test]
async fn clone_writes_what_git_archive_writes() {
    let server = fixture_server().await;
    let c = client(&server.url("main.git"));
    let tmp = tempfile::tempdir().expect("tempdir");
    let head = c.resolve("main").await.expect("resolve");
    let ours = tmp.path().join("ours");
    let opt = CloneOptions {
        batch_size: 3,
        concurrency: 3,
        ..CloneOptions::default()
    };
    let outcome = c.clone_into(head, &ours, &opt).await.expect("clone");
    assert_eq!(outcome.submodules, 1);
    let theirs = tmp.path().join("theirs");
    git_archive("main", &theirs, &[]);
    assert_eq!(snapshot(&ours), snapshot(&theirs));

    let filtered = tmp.path().join("filtered");
    let opt = CloneOptions {
        include: vec!["docs/**".into(), "*.sh".into(), "src".into()],
        exclude: vec!["**/core.rs".into()],
        ..CloneOptions::default()
    };
    c.clone_into(head, &filtered, &opt).await.expect("clone");
    let got: Vec<String> = snapshot(&filtered).into_keys().collect();
    assert_eq!(
        got,
        vec!["docs/manual.md".to_owned(), "script.sh".to_owned()]
    );
}

#[tokio::test]
async fn cache_is_shared_between_clients() {
    let server = fixture_server().await;
    let opts = crate::options();
    let a = gitwire::Client::new(&server.url("main.git"), opts.clone()).expect("client");
    let head = a.resolve("main").await.expect("resolve");
    a.get_blob_by_path(head, "README.md").await.expect("blob");
    let before = server.requests().len();
    let b = gitwire::Client::new(&server.url("main.git"), opts).expect("client");
    b.get_blob_by_path(head, "README.md").await.expect("blob");
    let after = server.requests().len();
    assert_eq!(before, after, "everything came from the shared cache");
}

#[tokio::test]
async fn same_answers_without_filter_support() {
    let server = fixture_server().await;
    server
        .state
        .no_filter
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let c = client(&server.url("main.git"));
    assert!(
        !c.capabilities()
            .await
            .expect("caps")
            .has_feature("fetch", "filter")
    );
    let head = c.resolve("v1.0").await.expect("resolve");
    let commit = c.get_commit(head).await.expect("commit");
    let flat = c.list_tree(commit.tree, true).await.expect("list");
    assert_eq!(
        ls_tree_lines(&flat),
        git(&main_repo(), &["ls-tree", "-r", "v1.0"])
    );
    let blob = c.get_blob_by_path(head, "feature.txt").await.expect("blob");
    assert_eq!(blob.as_ref(), b"feature work\n");
    let ids = log_ids(
        &c,
        "v1.0",
        LogOptions {
            path: Some("README.md".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids, git_log(&["v1.0", "--", "README.md"]));
}
