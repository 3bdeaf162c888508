//! Diffs: between commits (context lines, renames, copies, binary files, path filters), the
//! index and the work tree of a workspace; the patch text applies with `git apply` and gives
//! exactly the new tree; numstat equals `git diff --numstat`; ids render the same diff again.

use bytes::Bytes;
use gitapi_core::diff::EMPTY_TREE;
use gitapi_core::{Diff, DiffId, DiffOptions, DiffRequest, DiffSpec, DiffStatus, ErrorKind};

use super::*;

fn numbered(tag: &str, n: usize, changed: &[usize]) -> String {
    (1..=n)
        .map(|i| {
            if changed.contains(&i) {
                format!("{tag} line {i} changed\n")
            } else {
                format!("{tag} line {i}\n")
            }
        })
        .collect()
}

/// Tags `A` and `B` (text changes of every kind: modify, add, delete, rename, exact rename,
/// copy source modified, mode change, no newline at end) and `C` (B plus a binary change).
fn diff_fixture(h: &Harness) -> Fixture {
    h.fixture("diffs", |w| {
        w.commit(
            "A",
            &[
                ("mod.txt", &numbered("m", 20, &[])),
                ("del.txt", "delete me\n"),
                ("ren_src.txt", &numbered("r", 20, &[])),
                ("exact_src.txt", &numbered("e", 8, &[])),
                ("copy_src.txt", &numbered("k", 20, &[])),
                ("mode.sh", "echo mode\n"),
                ("nonl.txt", "x"),
                ("dir/inner.txt", "inner\n"),
                ("dir/keep.txt", "keep\n"),
                ("bin.dat", "\0\x01binary\0"),
            ],
        );
        w.tag("A");
        w.write("mod.txt", numbered("m", 20, &[3, 17]));
        w.remove("del.txt");
        w.rename("ren_src.txt", "sub/ren_dst.txt");
        w.write("sub/ren_dst.txt", numbered("r", 20, &[10]));
        w.rename("exact_src.txt", "exact_dst.txt");
        w.write("copy_src.txt", numbered("k", 20, &[20]));
        w.write("copy_dst.txt", numbered("k", 20, &[]));
        w.set_executable("mode.sh", true);
        w.write("nonl.txt", "y");
        w.write("add.txt", "added\nfile\n");
        w.write("dir/inner.txt", "inner changed\n");
        w.commit_all("B");
        w.tag("B");
        w.write("bin.dat", "\0\x02binary changed\0");
        w.write("mod.txt", numbered("m", 20, &[3, 9, 17]));
        w.commit_all("C");
        w.tag("C");
    })
}

fn opts(context: u32, renames: bool, copies: bool, threshold: u8, paths: &[&str]) -> DiffOptions {
    DiffOptions {
        context_lines: context,
        find_renames: renames,
        find_copies: copies,
        rename_threshold: threshold,
        paths: paths.iter().map(|p| path(p)).collect(),
    }
}

/// The `git diff` arguments that mean the same as `o` (paths go last, after `--`).
fn git_args(o: &DiffOptions, patch: bool) -> (Vec<String>, Vec<String>) {
    // `-U<n>` turns on patch output, so it is only given when a patch is wanted.
    let mut args = if patch {
        vec![format!("-U{}", o.context_lines)]
    } else {
        Vec::new()
    };
    if o.find_renames || o.find_copies {
        args.push(format!("-M{}%", o.rename_threshold));
    } else {
        args.push("--no-renames".to_owned());
    }
    if o.find_copies {
        args.push(format!("-C{}%", o.rename_threshold));
    }
    let paths = o.paths.iter().map(|p| p.as_str().to_owned()).collect();
    (args, paths)
}

fn git_diff_in(
    h: &Harness,
    dir: Option<(&RepoName, &WorkspaceName)>,
    repo: &RepoName,
    first: &[&str],
    o: &DiffOptions,
) -> String {
    let patch = !first
        .iter()
        .any(|a| *a == "--numstat" || *a == "--name-status");
    let (opt_args, paths) = git_args(o, patch);
    let mut all: Vec<String> = vec!["diff".to_owned()];
    all.extend(first.iter().map(|s| (*s).to_owned()));
    all.extend(opt_args);
    all.push("--".to_owned());
    all.extend(paths);
    match dir {
        Some((r, w)) => h.git_ws(r, w, &all),
        None => h.git_repo(repo, &all),
    }
}

async fn diff(h: &Harness, r: &RepoName, spec: DiffSpec, options: DiffOptions) -> Diff {
    h.engine
        .diff(r, DiffRequest { spec, options })
        .await
        .expect("diff")
}

fn commits(from: Option<&str>, to: &str) -> DiffSpec {
    DiffSpec::Commits {
        from: from.map(rev),
        to: rev(to),
    }
}

/// Hunks of patch text per file header: `@@` lines without their heading, and the lines.
fn hunks_of(patch: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_hunks = false;
    for line in patch.lines() {
        if line.starts_with("diff --git ") {
            out.push((line.to_owned(), Vec::new()));
            in_hunks = false;
        } else if let Some(rest) = line.strip_prefix("@@ ") {
            in_hunks = true;
            let header = rest.find(" @@").map_or(line, |i| &line[..i + 6]);
            if let Some(last) = out.last_mut() {
                last.1.push(header.to_owned());
            }
        } else if in_hunks && let Some(last) = out.last_mut() {
            last.1.push(line.to_owned());
        }
    }
    out
}

/// `--name-status` with similarity scores left out (`R090` becomes `R`).
fn strip_scores(s: &str) -> String {
    s.lines()
        .map(|l| {
            let (status, rest) = l.split_once('\t').unwrap_or((l, ""));
            format!("{}\t{rest}\n", &status[..1])
        })
        .collect()
}

/// The patch of a commit diff applies with `git apply` onto the old tree and gives exactly the
/// new tree, for several option sets.
pub async fn diff_commits_patch_applies(factory: Factory) {
    let h = Harness::new(&factory);
    let f = diff_fixture(&h);
    let r = &f.repo;
    let want_tree = h.rev(r, "B^{tree}").to_string();
    let o = h.scratch_clone(r, "apply");
    let patch_file = h.scratch("patches");
    for (i, options) in [
        DiffOptions::default(),
        opts(3, true, true, 50, &[]),
        opts(3, false, false, 50, &[]),
        opts(1, true, false, 50, &[]),
        opts(8, true, false, 90, &[]),
    ]
    .into_iter()
    .enumerate()
    {
        let d = diff(&h, r, commits(Some("A"), "B"), options.clone()).await;
        let patch = d.to_patch();
        let file = patch_file.join(format!("{i}.patch"));
        std::fs::write(&file, &patch).expect("write the patch");
        o.git(&["checkout", "-q", "-f", "A"]);
        o.git(&["clean", "-q", "-fdx"]);
        let out = o.git_output(&[
            OsStr::new("apply"),
            OsStr::new("--index"),
            OsStr::new("--whitespace=nowarn"),
            file.as_os_str(),
        ]);
        assert!(
            out.status.success(),
            "git apply of the patch with {options:?} failed:\n{}\n{patch}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            o.git(&["write-tree"]).trim(),
            want_tree,
            "the patch with {options:?} gives B"
        );
    }
}

/// `to_numstat` and `to_name_status` equal `git diff --numstat` / `--name-status` with the
/// same options, binary files included.
pub async fn diff_numstat_matches_git(factory: Factory) {
    let h = Harness::new(&factory);
    let f = diff_fixture(&h);
    let r = &f.repo;
    for (from, to) in [("A", "B"), ("A", "C"), ("B", "C"), ("C", "A")] {
        for options in [
            DiffOptions::default(),
            opts(5, true, false, 50, &[]),
            opts(3, false, false, 50, &[]),
            opts(3, true, true, 50, &[]),
            opts(3, true, false, 99, &[]),
            opts(3, true, false, 50, &["dir", "mod.txt"]),
            opts(3, true, false, 50, &["sub/ren_dst.txt"]),
        ] {
            let d = diff(&h, r, commits(Some(from), to), options.clone()).await;
            let theirs = git_diff_in(&h, None, r, &["--numstat", from, to], &options);
            assert_eq!(d.to_numstat(), theirs, "numstat {from} {to} {options:?}");
            let theirs = git_diff_in(&h, None, r, &["--name-status", from, to], &options);
            assert_eq!(
                strip_scores(&d.to_name_status()),
                strip_scores(&theirs),
                "name-status {from} {to} {options:?}"
            );
            assert_eq!(d.stats.files_changed, d.files.len());
            let ins: u64 = d.files.iter().map(|f| u64::from(f.additions)).sum();
            assert_eq!(d.stats.insertions, ins);
        }
    }
    let d = diff(&h, r, commits(Some("B"), "C"), DiffOptions::default()).await;
    let bin = d
        .files
        .iter()
        .find(|f| f.path() == "bin.dat")
        .expect("bin.dat changed");
    assert!(bin.binary && bin.hunks.is_empty());
}

/// Hunks with 0, 1, 3, 8 lines of context equal `git diff -U<n>` line for line.
pub async fn diff_context_lines(factory: Factory) {
    let h = Harness::new(&factory);
    let f = diff_fixture(&h);
    let r = &f.repo;
    for n in [0u32, 1, 3, 8] {
        for (from, to) in [("A", "B"), ("B", "C")] {
            let options = opts(n, true, false, 50, &[]);
            let d = diff(&h, r, commits(Some(from), to), options.clone()).await;
            let theirs = git_diff_in(&h, None, r, &[from, to], &options);
            assert_eq!(
                hunks_of(&d.to_patch()),
                hunks_of(&theirs),
                "-U{n} {from} {to}"
            );
            for file in &d.files {
                for hunk in &file.hunks {
                    let old = hunk.lines.iter().filter(|l| l.old_lineno.is_some()).count();
                    let new = hunk.lines.iter().filter(|l| l.new_lineno.is_some()).count();
                    assert_eq!(
                        old as u32,
                        hunk.old_lines,
                        "old line numbers of {}",
                        file.path()
                    );
                    assert_eq!(
                        new as u32,
                        hunk.new_lines,
                        "new line numbers of {}",
                        file.path()
                    );
                }
            }
        }
    }
}

/// Renames (exact and similar, under and over the threshold) and copies are detected as git
/// detects them.
pub async fn diff_renames_and_copies(factory: Factory) {
    let h = Harness::new(&factory);
    let f = diff_fixture(&h);
    let r = &f.repo;
    let d = diff(&h, r, commits(Some("A"), "B"), DiffOptions::default()).await;
    let find = |d: &Diff, p: &str| d.files.iter().find(|f| f.path() == p).cloned();
    let exact = find(&d, "exact_dst.txt").expect("exact rename");
    assert_eq!(exact.status, DiffStatus::Renamed);
    assert_eq!(exact.old_path.as_deref(), Some("exact_src.txt"));
    assert_eq!(exact.similarity, Some(100));
    assert_eq!(exact.old_oid, exact.new_oid);
    let similar = find(&d, "sub/ren_dst.txt").expect("rename with a change");
    assert_eq!(similar.status, DiffStatus::Renamed);
    assert_eq!(similar.old_path.as_deref(), Some("ren_src.txt"));
    assert_eq!((similar.additions, similar.deletions), (1, 1));
    assert_eq!(
        find(&d, "copy_dst.txt").expect("copy").status,
        DiffStatus::Added
    );
    let theirs = h.git_repo(r, &["diff", "--name-status", "-M", "A", "B"]);
    assert_eq!(strip_scores(&d.to_name_status()), strip_scores(&theirs));

    let copies = diff(&h, r, commits(Some("A"), "B"), opts(3, true, true, 50, &[])).await;
    let copy = find(&copies, "copy_dst.txt").expect("copy detected");
    assert_eq!(copy.status, DiffStatus::Copied);
    assert_eq!(copy.old_path.as_deref(), Some("copy_src.txt"));
    assert_eq!(copy.similarity, Some(100));
    let theirs = h.git_repo(r, &["diff", "--name-status", "-M", "-C", "A", "B"]);
    assert_eq!(
        strip_scores(&copies.to_name_status()),
        strip_scores(&theirs)
    );

    let strict = diff(
        &h,
        r,
        commits(Some("A"), "B"),
        opts(3, true, false, 99, &[]),
    )
    .await;
    assert_eq!(
        find(&strict, "sub/ren_dst.txt").expect("added").status,
        DiffStatus::Added
    );
    assert_eq!(
        find(&strict, "exact_dst.txt").expect("renamed").status,
        DiffStatus::Renamed
    );
    let none = diff(
        &h,
        r,
        commits(Some("A"), "B"),
        opts(3, false, false, 50, &[]),
    )
    .await;
    assert!(none.files.iter().all(|f| f.status != DiffStatus::Renamed));
    assert_eq!(
        find(&none, "exact_src.txt").expect("deleted").status,
        DiffStatus::Deleted
    );
}

/// `from: None` is the first parent of a one-parent commit, else the empty tree.
pub async fn diff_default_from(factory: Factory) {
    let h = Harness::new(&factory);
    let f = super::log::history_fixture(&h, "hist");
    let r = &f.repo;
    let numstat = |from: &str, to: &str| h.git_repo(r, &["diff", "--numstat", "-M", from, to]);
    let d = diff(&h, r, commits(None, "main"), DiffOptions::default()).await;
    assert_eq!(
        d.to_numstat(),
        numstat("main^", "main"),
        "a one-parent commit: its parent"
    );
    let explicit = diff(
        &h,
        r,
        commits(Some("main^"), "main"),
        DiffOptions::default(),
    )
    .await;
    assert_eq!(d.files, explicit.files);

    let root = h.git_repo(r, &["rev-list", "--max-parents=0", "main"]);
    let root = root.trim();
    let d = diff(&h, r, commits(None, root), DiffOptions::default()).await;
    assert_eq!(
        d.to_numstat(),
        numstat(EMPTY_TREE, root),
        "a root commit: the empty tree"
    );
    assert!(d.files.iter().all(|f| f.status == DiffStatus::Added));

    let d = diff(&h, r, commits(None, "main~2"), DiffOptions::default()).await;
    assert_eq!(h.cat_commit(r, h.rev(r, "main~2")).parents.len(), 2);
    assert_eq!(
        d.to_numstat(),
        numstat(EMPTY_TREE, "main~2"),
        "a merge: the empty tree"
    );

    expect_kind(
        h.engine
            .diff(
                r,
                DiffRequest {
                    spec: commits(Some("nope"), "main"),
                    options: DiffOptions::default(),
                },
            )
            .await,
        ErrorKind::NotFound,
    );
}

/// Index (`--cached`), tree-to-work-tree (`git diff REV`) and work tree (`git diff`) diffs of a
/// workspace, with and without a path filter, equal git's numstat there.
pub async fn diff_workspace_specs(factory: Factory) {
    let h = Harness::new(&factory);
    let f = diff_fixture(&h);
    let r = &f.repo;
    let w = ws("diffs");
    h.engine
        .create_workspace(r, &w, None)
        .await
        .expect("create_workspace");
    let put = |p: &'static str, c: String| {
        let (e, r, w) = (&h.engine, r, &w);
        async move {
            e.put_file(r, w, &path(p), Bytes::from(c), None)
                .await
                .expect("put_file");
        }
    };
    put("mod.txt", numbered("m", 20, &[1, 3, 9, 17])).await;
    h.engine
        .stage(r, &w, &path("mod.txt"))
        .await
        .expect("stage");
    put("mod.txt", numbered("m", 20, &[1, 3, 9, 12, 17])).await;
    put("staged-new.txt", "new\n".to_owned()).await;
    h.engine
        .stage(r, &w, &path("staged-new.txt"))
        .await
        .expect("stage");
    put("dir/inner.txt", "inner changed again\n".to_owned()).await;
    put("dir/keep.txt", "keep changed\n".to_owned()).await;
    put("untracked.txt", "not in any diff\n".to_owned()).await;
    h.engine
        .delete_file(r, &w, &path("add.txt"))
        .await
        .expect("delete_file");

    let ws_ctx = Some((r, &w));
    for options in [
        DiffOptions::default(),
        opts(3, true, false, 50, &["dir"]),
        opts(3, true, false, 50, &["mod.txt", "add.txt"]),
    ] {
        let idx = diff(
            &h,
            r,
            DiffSpec::Index {
                workspace: w.clone(),
                from: None,
            },
            options.clone(),
        )
        .await;
        assert_eq!(
            idx.to_numstat(),
            git_diff_in(&h, ws_ctx, r, &["--cached", "--numstat"], &options),
            "index diff {options:?}"
        );
        let wt = diff(
            &h,
            r,
            DiffSpec::Worktree {
                workspace: w.clone(),
            },
            options.clone(),
        )
        .await;
        assert_eq!(
            wt.to_numstat(),
            git_diff_in(&h, ws_ctx, r, &["--numstat"], &options),
            "work tree diff {options:?}"
        );
        assert_eq!(wt.id, None, "a work tree diff has no id");
        let t2w = diff(
            &h,
            r,
            DiffSpec::TreeToWorktree {
                workspace: w.clone(),
                from: None,
            },
            options.clone(),
        )
        .await;
        assert_eq!(
            t2w.to_numstat(),
            git_diff_in(&h, ws_ctx, r, &["--numstat", "HEAD"], &options),
            "base to work tree diff {options:?}"
        );
        assert_eq!(t2w.id, None);
        let from_a = diff(
            &h,
            r,
            DiffSpec::TreeToWorktree {
                workspace: w.clone(),
                from: Some(rev("A")),
            },
            options.clone(),
        )
        .await;
        assert_eq!(
            from_a.to_numstat(),
            git_diff_in(&h, ws_ctx, r, &["--numstat", "A"], &options),
            "A to work tree diff {options:?}"
        );
        let idx_a = diff(
            &h,
            r,
            DiffSpec::Index {
                workspace: w.clone(),
                from: Some(rev("A")),
            },
            options.clone(),
        )
        .await;
        assert_eq!(
            idx_a.to_numstat(),
            git_diff_in(&h, ws_ctx, r, &["--cached", "--numstat", "A"], &options),
            "A to index diff {options:?}"
        );
    }
}

/// The id of a commit diff renders the same diff again through `diff_by_id`.
pub async fn diff_by_id_round_trip(factory: Factory) {
    let h = Harness::new(&factory);
    let f = diff_fixture(&h);
    let r = &f.repo;
    for options in [
        DiffOptions::default(),
        opts(5, true, true, 60, &["dir", "copy_dst.txt"]),
    ] {
        let d = diff(&h, r, commits(Some("A"), "C"), options.clone()).await;
        let id = d.id.clone().expect("a commit diff has an id");
        let again = h.engine.diff_by_id(r, &id).await.expect("diff_by_id");
        assert_eq!(again, d, "the id renders the same diff");
        let same = diff(&h, r, commits(Some("A"), "C"), options).await;
        assert_eq!(same.id, Some(id), "the same inputs give the same id");
    }
    let d = diff(&h, r, commits(None, "B"), DiffOptions::default()).await;
    let id = d.id.clone().expect("an id");
    assert_eq!(h.engine.diff_by_id(r, &id).await.expect("diff_by_id"), d);
    expect_kind(
        h.engine
            .diff_by_id(r, &DiffId::from_string("d1.not-base64!"))
            .await,
        ErrorKind::InvalidArgument,
    );
}

/// Tags `A` and `B` of the fidelity fixture (issue 9): renames into and out of new folders
/// (class 5), binary files renamed without change and with only their mode changed (class 7),
/// and typechanges both ways, of text, binary, empty files and of a file whose content equals
/// the symlink's target (class 2, and class 3 for libgit2's split of a typechange).
fn fidelity_fixture(h: &Harness) -> Fixture {
    h.fixture("fidelity", |w| {
        w.write("crates/core/config.rs", numbered("c", 10, &[]));
        w.write("lib/a.rs", numbered("l", 10, &[]));
        w.write("top.txt", numbered("t", 10, &[]));
        w.write("deep/er/x.txt", numbered("x", 10, &[]));
        w.write("bin/blob.bin", "\0\x01blob\0");
        w.write("bin/mode.bin", "\0mode\0");
        w.write("tc/file2link", "hello\nworld\n");
        w.symlink("tc/link2file", "target");
        w.write("tc/same", "g");
        w.write("tc/share", "x\ng");
        w.write("tc/binfile", "\0bin\0");
        w.write("tc/empty", "");
        w.symlink("tc/link2bin", "t2");
        w.commit_all("A");
        w.tag("A");
        w.rename("crates/core/config.rs", "crates/core/flags/config.rs");
        w.rename("lib/a.rs", "lib/a/mod.rs");
        w.rename("top.txt", "deep/er/top.txt");
        w.rename("deep/er/x.txt", "x.txt");
        w.rename("bin/blob.bin", "bin/moved/blob.bin");
        w.set_executable("bin/mode.bin", true);
        for p in [
            "tc/file2link",
            "tc/same",
            "tc/share",
            "tc/binfile",
            "tc/empty",
        ] {
            w.symlink(p, "g");
        }
        w.write("tc/link2file", "now a file\n");
        w.write("tc/link2bin", "\0now binary\0");
        w.commit_all("B");
        w.tag("B");
    })
}

/// The option sets the fidelity tests compare with: git's defaults, no renames, copies.
fn fidelity_options() -> [DiffOptions; 3] {
    [
        DiffOptions::default(),
        opts(3, false, false, 50, &[]),
        opts(3, true, true, 50, &[]),
    ]
}

/// Every text format of the engine's diff equals git's byte for byte: `format=stat` (numstat),
/// name-status with similarity scores, and the patch; and the patch applied with `git apply`
/// onto `from` gives exactly `to`'s tree.
fn assert_formats_match_git(
    h: &Harness,
    r: &RepoName,
    d: &Diff,
    from: &str,
    to: &str,
    o: &DiffOptions,
) {
    let theirs = git_diff_in(h, None, r, &["--numstat", from, to], o);
    assert_eq!(d.to_numstat(), theirs, "numstat {from} {to} {o:?}");
    let theirs = git_diff_in(h, None, r, &["--name-status", from, to], o);
    assert_eq!(d.to_name_status(), theirs, "name-status {from} {to} {o:?}");
    let theirs = git_diff_in(h, None, r, &[from, to], o);
    assert_eq!(d.to_patch(), theirs, "patch {from} {to} {o:?}");
}

fn assert_patch_applies(
    h: &Harness,
    r: &RepoName,
    d: &Diff,
    (from, to): (&str, &str),
    name: &str,
    paths: &[&str],
) {
    let o = h.scratch_clone(r, name);
    let file = o.dir().with_file_name("diff.patch");
    std::fs::write(&file, d.to_patch()).expect("write the patch");
    o.git(&["checkout", "-q", "-f", from]);
    let out = o.git_output(&[
        OsStr::new("apply"),
        OsStr::new("--index"),
        OsStr::new("--whitespace=nowarn"),
        file.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "git apply of the {from}..{to} patch failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.to_patch()
    );
    // The paths the diff covers now hold `to`'s content, in the index and the work tree.
    let mut args = vec!["diff", "--name-only", to, "--"];
    args.extend(paths.iter().copied());
    assert_eq!(o.git(&args), "", "the {from}..{to} patch gives {to}");
    let mut args = vec!["diff", "--cached", "--name-only", to, "--"];
    args.extend(paths.iter().copied());
    assert_eq!(o.git(&args), "", "the {from}..{to} patch gives {to}");
}

/// Issue 9, class 5: a rename into (or out of) a new folder is named in `format=stat` as git
/// names it (`crates/core/{ => flags}/config.rs`), and every format equals git's.
pub async fn diff_stat_names_renames_into_new_folders(factory: Factory) {
    let h = Harness::new(&factory);
    let f = fidelity_fixture(&h);
    let r = &f.repo;
    let paths = ["crates", "lib", "top.txt", "deep", "x.txt"];
    for (from, to) in [("A", "B"), ("B", "A")] {
        for mut o in fidelity_options() {
            o.paths = paths.iter().map(|p| path(p)).collect();
            let d = diff(&h, r, commits(Some(from), to), o.clone()).await;
            assert_formats_match_git(&h, r, &d, from, to, &o);
        }
    }
    let d = diff(&h, r, commits(Some("A"), "B"), DiffOptions::default()).await;
    assert!(
        d.to_numstat()
            .contains("0\t0\tcrates/core/{ => flags}/config.rs\n"),
        "{}",
        d.to_numstat()
    );
}

/// Issue 9, class 7: a binary file renamed without change, or with only its mode changed, is
/// binary (`- -` in numstat) on every engine, as git says.
pub async fn diff_binary_exact_rename_is_binary(factory: Factory) {
    let h = Harness::new(&factory);
    let f = fidelity_fixture(&h);
    let r = &f.repo;
    for (from, to) in [("A", "B"), ("B", "A")] {
        for mut o in fidelity_options() {
            o.paths = vec![path("bin")];
            let d = diff(&h, r, commits(Some(from), to), o.clone()).await;
            assert_formats_match_git(&h, r, &d, from, to, &o);
            for file in &d.files {
                assert!(file.binary, "{} is binary: {file:?}", file.path());
                assert_eq!((file.additions, file.deletions), (0, 0));
                assert!(file.hunks.is_empty());
            }
        }
    }
    let d = diff(&h, r, commits(Some("A"), "B"), DiffOptions::default()).await;
    let moved = d
        .files
        .iter()
        .find(|f| f.path() == "bin/moved/blob.bin")
        .expect("the rename");
    assert_eq!(moved.status, DiffStatus::Renamed);
    assert_eq!(moved.similarity, Some(100));
}

/// Issue 9, classes 2 and 3: a typechange (file to symlink and back, of text, binary and
/// empty files, and of a file whose content is the symlink's target) is one `T` entry as git
/// reports it, never an error nor an addition paired by rename detection; the patch is git's
/// deletion followed by an addition, byte for byte; numstat counts as git counts; and the
/// whole diff applies with `git apply`.
pub async fn diff_typechange_matches_git(factory: Factory) {
    let h = Harness::new(&factory);
    let f = fidelity_fixture(&h);
    let r = &f.repo;
    for (from, to) in [("A", "B"), ("B", "A")] {
        for o in fidelity_options() {
            let d = diff(&h, r, commits(Some(from), to), o.clone()).await;
            assert_formats_match_git(&h, r, &d, from, to, &o);
            let mut only_tc = o.clone();
            only_tc.paths = vec![path("tc")];
            let d = diff(&h, r, commits(Some(from), to), only_tc.clone()).await;
            assert_formats_match_git(&h, r, &d, from, to, &only_tc);
            assert_eq!(d.files.len(), 7, "{d:?}");
            for file in &d.files {
                assert_eq!(file.status, DiffStatus::TypeChanged, "{file:?}");
                assert_eq!(file.old_path.as_deref(), Some(file.path()));
                assert_ne!(file.old_mode, file.new_mode);
            }
        }
        // Binary content changes need `--binary` patches (git's own patch does not apply
        // either), so those two typechanges are left out of the applied patch.
        let paths = [
            "tc/file2link",
            "tc/link2file",
            "tc/same",
            "tc/share",
            "tc/empty",
            "bin",
            "crates",
            "lib",
            "top.txt",
            "deep",
            "x.txt",
        ];
        let text = DiffOptions {
            paths: paths.iter().map(|p| path(p)).collect(),
            ..DiffOptions::default()
        };
        let d = diff(&h, r, commits(Some(from), to), text).await;
        assert_patch_applies(&h, r, &d, (from, to), &format!("apply-{from}{to}"), &paths);
    }
    let d = diff(&h, r, commits(Some("A"), "B"), DiffOptions::default()).await;
    let file = |p: &str| d.files.iter().find(|f| f.path() == p).expect(p).clone();
    let f2l = file("tc/file2link");
    assert_eq!(f2l.old_mode, Some(gitapi_core::FileMode::Regular));
    assert_eq!(f2l.new_mode, Some(gitapi_core::FileMode::Symlink));
    assert_eq!((f2l.additions, f2l.deletions, f2l.binary), (1, 2, false));
    assert_eq!(f2l.hunks.len(), 2, "the deletion and the addition");
    let bin = file("tc/binfile");
    assert!(bin.binary);
    assert_eq!(bin.hunks.len(), 1, "the symlink's side is text");
    assert_eq!(
        (file("tc/same").additions, file("tc/same").deletions),
        (0, 0)
    );
}
