//! History walks: `log` with ranges, path filters, paging, first-parent and rename following,
//! each compared with `git log` run with the same arguments.

use gitapi_core::{ErrorKind, LogQuery, RevRange, collect_log};

use super::*;

/// A history with a side branch merged into `main`, a rename and a directory:
///
/// ```text
/// main: c1 - c2 - c3 - M - c4 (rename a.txt -> dir/renamed.txt) - c5
///              \        /
/// side:         s1 - s2
/// ```
pub(crate) fn history_fixture(h: &Harness, name: &str) -> Fixture {
    let lines = |tag: &str| -> String { (1..=12).map(|i| format!("line {i} {tag}\n")).collect() };
    h.fixture(name, |w| {
        w.commit(
            "c1: start",
            &[
                ("a.txt", &lines("a")),
                ("b.txt", "b1\n"),
                ("docs/guide.md", "guide\n"),
            ],
        );
        w.commit(
            "c2: change a\n\nwith a body\nof two lines",
            &[("a.txt", &lines("a2"))],
        );
        w.checkout_new("side");
        w.commit("s1: change b", &[("b.txt", "b2\n")]);
        w.commit(
            "s2: add c and docs",
            &[("c.txt", "c\n"), ("docs/more.md", "more\n")],
        );
        w.checkout("main");
        w.commit("c3: change a again", &[("a.txt", &lines("a3"))]);
        w.merge("side", "M: merge side");
        w.rename("a.txt", "dir/renamed.txt");
        w.commit_all("c4: rename a");
        let mut text = lines("a3");
        text.push_str("appended\n");
        w.commit("c5: change renamed", &[("dir/renamed.txt", &text)]);
        w.tag("v1");
    })
}

/// Object ids printed by `git log --format=%H <args>`.
fn git_log(h: &Harness, repo: &RepoName, args: &[&str]) -> Vec<Oid> {
    let mut all = vec!["log", "--format=%H"];
    all.extend_from_slice(args);
    h.git_repo(repo, &all).lines().map(oid).collect()
}

async fn engine_log(h: &Harness, repo: &RepoName, q: LogQuery) -> Vec<Commit> {
    collect_log(h.engine.as_ref(), repo, q).await.expect("log")
}

fn oids(v: &[Commit]) -> Vec<Oid> {
    v.iter().map(|c| c.oid).collect()
}

fn q(range: RevRange) -> LogQuery {
    LogQuery {
        range,
        path: None,
        limit: 0,
        offset: 0,
        first_parent: false,
        follow: false,
    }
}

/// `log` of a revision: the order of `git log`, every field as `git cat-file commit` says.
pub async fn log_matches_git_log(factory: Factory) {
    let h = Harness::new(&factory);
    let f = history_fixture(&h, "hist");
    let r = &f.repo;
    for s in ["main", "HEAD", "side", "v1", "main~2"] {
        let ours = engine_log(&h, r, LogQuery::of(rev(s))).await;
        assert_eq!(oids(&ours), git_log(&h, r, &[s]), "log {s}");
        for c in &ours {
            h.assert_commit_matches_git(r, c);
        }
    }
    // The same fields through git log's own formatting.
    let fmt = "--format=%H%x00%an%x00%ae%x00%at%x00%cn%x00%ce%x00%ct%x00%B%x01";
    let text = h.git_repo(r, &["log", fmt, "main"]);
    let ours = engine_log(&h, r, LogQuery::of(rev("main"))).await;
    let theirs: Vec<&str> = text
        .split("\x01")
        .map(|s| s.trim_start_matches('\n'))
        .collect();
    for (c, line) in ours.iter().zip(theirs) {
        let p: Vec<&str> = line.splitn(8, '\0').collect();
        assert_eq!(p[0], c.oid.to_string());
        assert_eq!(p[1], c.author.name);
        assert_eq!(p[2], c.author.email);
        assert_eq!(p[3], c.author.time.to_string());
        assert_eq!(p[4], c.committer.name);
        assert_eq!(p[5], c.committer.email);
        assert_eq!(p[6], c.committer.time.to_string());
        assert_eq!(p[7].trim_end(), c.message.trim_end());
    }
}

/// `A..B` and `A...B` walk what `git log A..B` and `git log A...B` walk.
pub async fn log_ranges(factory: Factory) {
    let h = Harness::new(&factory);
    let f = history_fixture(&h, "hist");
    let r = &f.repo;
    f.work.checkout("side");
    f.work.commit("s3: after the merge", &[("b.txt", "b3\n")]);
    f.push(&h);
    for (a, b) in [
        ("side", "main"),
        ("main", "side"),
        ("main~3", "main"),
        ("v1", "main"),
    ] {
        let ours = engine_log(&h, r, q(RevRange::TwoDot(rev(a), rev(b)))).await;
        assert_eq!(
            oids(&ours),
            git_log(&h, r, &[&format!("{a}..{b}")]),
            "{a}..{b}"
        );
        let ours = engine_log(&h, r, q(RevRange::ThreeDot(rev(a), rev(b)))).await;
        assert_eq!(
            oids(&ours),
            git_log(&h, r, &[&format!("{a}...{b}")]),
            "{a}...{b}"
        );
    }
    assert!(
        engine_log(&h, r, q(RevRange::TwoDot(rev("main"), rev("main"))))
            .await
            .is_empty()
    );
}

/// A path filter simplifies history as `git log -- <path>` does (files and directories).
pub async fn log_path_filter(factory: Factory) {
    let h = Harness::new(&factory);
    let f = history_fixture(&h, "hist");
    let r = &f.repo;
    for p in [
        "b.txt",
        "a.txt",
        "docs",
        "dir/renamed.txt",
        "c.txt",
        "absent.txt",
    ] {
        let mut query = LogQuery::of(rev("main"));
        query.path = Some(path(p));
        let ours = engine_log(&h, r, query).await;
        assert_eq!(
            oids(&ours),
            git_log(&h, r, &["main", "--", p]),
            "log -- {p}"
        );
    }
    let mut query = q(RevRange::TwoDot(rev("main~4"), rev("main")));
    query.path = Some(path("b.txt"));
    let ours = engine_log(&h, r, query).await;
    assert_eq!(
        oids(&ours),
        git_log(&h, r, &["main~4..main", "--", "b.txt"])
    );
}

/// `limit` and `offset` are `git log -n` and `--skip`, applied after the path filter.
pub async fn log_limit_offset(factory: Factory) {
    let h = Harness::new(&factory);
    let f = history_fixture(&h, "hist");
    let r = &f.repo;
    for (limit, offset) in [(2usize, 0usize), (2, 1), (3, 4), (1, 7), (5, 100), (0, 2)] {
        let mut query = LogQuery::of(rev("main"));
        query.limit = limit;
        query.offset = offset;
        let ours = engine_log(&h, r, query.clone()).await;
        let mut args = vec![format!("--skip={offset}")];
        if limit > 0 {
            args.push(format!("-n{limit}"));
        }
        args.push("main".to_owned());
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(
            oids(&ours),
            git_log(&h, r, &a),
            "limit {limit} offset {offset}"
        );

        query.path = Some(path("docs"));
        let ours = engine_log(&h, r, query).await;
        let mut a = a.clone();
        a.extend(["--", "docs"]);
        assert_eq!(
            oids(&ours),
            git_log(&h, r, &a),
            "limit {limit} offset {offset} -- docs"
        );
    }
}

/// `first_parent` is `git log --first-parent`, with and without a path.
pub async fn log_first_parent(factory: Factory) {
    let h = Harness::new(&factory);
    let f = history_fixture(&h, "hist");
    let r = &f.repo;
    let mut query = LogQuery::of(rev("main"));
    query.first_parent = true;
    let ours = engine_log(&h, r, query.clone()).await;
    assert_eq!(oids(&ours), git_log(&h, r, &["--first-parent", "main"]));
    query.path = Some(path("b.txt"));
    let ours = engine_log(&h, r, query.clone()).await;
    assert_eq!(
        oids(&ours),
        git_log(&h, r, &["--first-parent", "main", "--", "b.txt"])
    );
    query.path = None;
    query.limit = 2;
    query.offset = 1;
    let ours = engine_log(&h, r, query).await;
    assert_eq!(
        oids(&ours),
        git_log(&h, r, &["--first-parent", "--skip=1", "-n2", "main"])
    );
}

/// `follow` follows a file across a rename as `git log --follow` does.
pub async fn log_follow_renames(factory: Factory) {
    let h = Harness::new(&factory);
    let f = history_fixture(&h, "hist");
    let r = &f.repo;
    let mut query = LogQuery::of(rev("main"));
    query.path = Some(path("dir/renamed.txt"));
    let plain = engine_log(&h, r, query.clone()).await;
    assert_eq!(
        oids(&plain),
        git_log(&h, r, &["main", "--", "dir/renamed.txt"])
    );
    query.follow = true;
    let followed = engine_log(&h, r, query).await;
    let want = git_log(&h, r, &["--follow", "main", "--", "dir/renamed.txt"]);
    assert_eq!(oids(&followed), want, "log --follow");
    assert!(
        followed.len() > plain.len(),
        "following finds the commits before the rename"
    );
}

/// Unknown revisions are `NotFound`; `follow` without a path is `InvalidArgument`.
pub async fn log_errors(factory: Factory) {
    let h = Harness::new(&factory);
    let f = history_fixture(&h, "hist");
    let r = &f.repo;
    let e = collect_log(h.engine.as_ref(), r, LogQuery::of(rev("nope"))).await;
    expect_kind(e, ErrorKind::NotFound);
    let e = collect_log(
        h.engine.as_ref(),
        r,
        q(RevRange::TwoDot(rev("main"), rev("nope"))),
    )
    .await;
    expect_kind(e, ErrorKind::NotFound);
    let mut query = LogQuery::of(rev("main"));
    query.follow = true;
    expect_kind(
        collect_log(h.engine.as_ref(), r, query).await,
        ErrorKind::InvalidArgument,
    );
    // An empty repository has no history to walk from its unborn branch.
    let empty = h.init("empty").await;
    expect_kind(
        collect_log(h.engine.as_ref(), &empty, LogQuery::of(rev("main"))).await,
        ErrorKind::NotFound,
    );
}

/// A generated history with several merged side branches, renames on both sides of a merge
/// and a directory touched now and then: what git's history simplification has to get right.
fn merged_history_fixture(h: &Harness, name: &str) -> Fixture {
    h.fixture(name, |w| {
        let body =
            |tag: &str| -> String { (1..=10).map(|i| format!("line {i} {tag}\n")).collect() };
        w.commit(
            "start",
            &[
                ("a.txt", &body("a0")),
                ("b.txt", "b0\n"),
                ("dir/x.txt", "x0\n"),
            ],
        );
        let mut a = "a.txt".to_owned();
        for round in 0..4 {
            let side = format!("side{round}");
            w.checkout_new(&side);
            for i in 0..3 {
                let file = format!("dir/s{round}.txt");
                let text = format!("side {round} {i}\n");
                w.commit(&format!("{side}: {i}"), &[(file.as_str(), text.as_str())]);
            }
            // A rename on the side branch, merged back below.
            w.rename(&format!("dir/s{round}.txt"), &format!("moved/s{round}.txt"));
            w.commit_all(&format!("{side}: move"));
            w.checkout("main");
            let b = format!("b{round}\n");
            w.commit(&format!("main: b {round}"), &[("b.txt", b.as_str())]);
            w.merge(&side, &format!("merge {side}"));
            // A rename on main, then a change of the renamed file.
            let to = format!("a{}.txt", round + 1);
            w.rename(&a, &to);
            w.commit_all(&format!("main: rename {a} to {to}"));
            let mut text = body("a0");
            text.push_str(&format!("round {round}\n"));
            w.commit(
                &format!("main: change {to}"),
                &[(to.as_str(), text.as_str())],
            );
            a = to;
        }
    })
}

/// The object-id answers of every path query of `paths`, compared with `git log`.
async fn assert_path_logs_match_git(h: &Harness, r: &RepoName, paths: &[&str], when: &str) {
    for p in paths {
        for (first_parent, limit, offset) in [(false, 0, 0), (true, 0, 0), (false, 2, 1)] {
            let mut query = LogQuery::of(rev("main"));
            query.path = Some(path(p));
            query.first_parent = first_parent;
            query.limit = limit;
            query.offset = offset;
            let ours = engine_log(h, r, query).await;
            let mut args = vec![format!("--skip={offset}")];
            if first_parent {
                args.push("--first-parent".to_owned());
            }
            if limit > 0 {
                args.push(format!("-n{limit}"));
            }
            args.extend(["main".to_owned(), "--".to_owned(), (*p).to_owned()]);
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            assert_eq!(oids(&ours), git_log(h, r, &a), "{when}: log {a:?}");
        }
    }
    let mut query = LogQuery::of(rev("main"));
    query.path = Some(path("a4.txt"));
    query.follow = true;
    let ours = engine_log(h, r, query).await;
    let want = git_log(h, r, &["--follow", "main", "--", "a4.txt"]);
    assert_eq!(oids(&ours), want, "{when}: log --follow");
    assert!(want.len() > 4, "the file is followed across its renames");
}

/// A log with a path answers what `git log -- <path>` answers on a history with merges and
/// renames, before gc and after it (when git reads the commit-graph's Bloom filters).
pub async fn log_path_matches_git_before_and_after_gc(factory: Factory) {
    let h = Harness::new(&factory);
    let f = merged_history_fixture(&h, "merged");
    let r = &f.repo;
    let paths = [
        "a.txt",
        "a2.txt",
        "a4.txt",
        "b.txt",
        "dir",
        "dir/s1.txt",
        "moved",
        "moved/s3.txt",
        "absent",
    ];
    assert_path_logs_match_git(&h, r, &paths, "before gc").await;
    h.engine.gc(r).await.expect("gc");
    assert!(
        h.repo_dir(r).join("objects/info/commit-graph").is_file(),
        "gc wrote a commit-graph"
    );
    assert_path_logs_match_git(&h, r, &paths, "after gc").await;
}
