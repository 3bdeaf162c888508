//! Merge and rebase without a work tree, compared with `git merge-tree --write-tree` and with
//! `git rebase` in a scratch clone; merge base, ancestry and ahead/behind.

use std::ffi::OsString;

use gitapi_core::{ErrorKind, FastForward, Merge, MergeKind, Rebase, RebaseStep, Signature};

use super::*;

fn ten(changed: &[(usize, &str)]) -> String {
    (1..=10)
        .map(|i| match changed.iter().find(|(n, _)| *n == i) {
            Some((_, s)) => format!("{s}\n"),
            None => format!("line {i}\n"),
        })
        .collect()
}

/// `main: c1 - c2`, `base` and `base2` at c1, `feature: c1 - f1 - f2` (clean with main),
/// `clash: c1 - k1` (conflicts with c2 on line 5 of a.txt and on both.txt).
fn merge_fixture(h: &Harness) -> Fixture {
    h.fixture("merge", |w| {
        w.commit("c1", &[("a.txt", &ten(&[])), ("b.txt", "b\n")]);
        w.branch("base");
        w.branch("base2");
        w.checkout_new("feature");
        w.commit("f1", &[("f.txt", "f\n")]);
        w.commit(
            "f2",
            &[
                ("b.txt", "b from feature\n"),
                ("a.txt", &ten(&[(9, "feature 9")])),
            ],
        );
        w.checkout("main");
        w.checkout_new("clash");
        w.commit(
            "k1",
            &[("a.txt", &ten(&[(5, "clash 5")])), ("both.txt", "clash\n")],
        );
        w.checkout("main");
        w.commit(
            "c2",
            &[
                ("a.txt", &ten(&[(5, "main 5")])),
                ("m.txt", "m\n"),
                ("both.txt", "main\n"),
            ],
        );
    })
}

fn merge_req(source: &str, target: &str, ff: FastForward, committer: &Signature) -> Merge {
    Merge {
        source: rev(source),
        target: branch(target),
        expected_tip: None,
        fast_forward: ff,
        message: Some(format!("Merge {source} into {target}")),
        committer: committer.clone(),
    }
}

/// `git merge-tree --write-tree --name-only A B`: the tree and the conflicted paths.
fn merge_tree(h: &Harness, repo: &RepoName, a: &str, b: &str) -> (Oid, Vec<String>, bool) {
    let out = h.git.output_in_git_dir(
        &h.repo_dir(repo),
        &[
            "merge-tree",
            "--write-tree",
            "--name-only",
            "--no-messages",
            a,
            b,
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let tree = oid(lines.next().expect("merge-tree prints a tree"));
    let paths: Vec<String> = lines
        .take_while(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    (tree, paths, out.status.success())
}

/// A fast-forward (default mode and ff-only) moves the target to the source.
pub async fn merge_fast_forward(factory: Factory) {
    let h = Harness::new(&factory);
    let f = merge_fixture(&h);
    let r = &f.repo;
    let feature = h.rev(r, "feature");
    let who = h.sig();
    for (target, ff) in [("base", FastForward::Ff), ("base2", FastForward::FfOnly)] {
        let out = h
            .engine
            .merge(r, merge_req("feature", target, ff, &who))
            .await
            .expect("merge");
        assert_eq!(out.kind, MergeKind::FastForward);
        assert_eq!(out.tip, feature);
        assert_eq!(h.rev(r, target), feature);
    }
    h.fsck(r);
}

/// `NoFf` makes a merge commit even when a fast-forward is possible.
pub async fn merge_no_ff(factory: Factory) {
    let h = Harness::new(&factory);
    let f = merge_fixture(&h);
    let r = &f.repo;
    let (base, feature) = (h.rev(r, "base"), h.rev(r, "feature"));
    let who = h.sig();
    let mut req = merge_req("feature", "base", FastForward::NoFf, &who);
    req.message = Some("Merge branch 'feature'".to_owned());
    req.expected_tip = Some(base);
    let out = h.engine.merge(r, req).await.expect("merge --no-ff");
    assert_eq!(out.kind, MergeKind::Merged);
    assert_eq!(h.rev(r, "base"), out.tip);
    let c = h
        .engine
        .get_commit(r, &Rev::from(out.tip))
        .await
        .expect("get_commit");
    assert_eq!(c.parents, vec![base, feature]);
    assert_eq!(c.tree, h.rev(r, "feature^{tree}"));
    assert_eq!(c.message, "Merge branch 'feature'\n");
    assert_eq!(c.committer, who);
    assert_eq!(c.author, who);
    h.assert_commit_matches_git(r, &c);

    // Without a message: a default one is written.
    let mut req = merge_req("feature", "base2", FastForward::NoFf, &who);
    req.message = None;
    let out = h
        .engine
        .merge(r, req)
        .await
        .expect("merge --no-ff, default message");
    let c = h
        .engine
        .get_commit(r, &Rev::from(out.tip))
        .await
        .expect("get_commit");
    assert!(
        c.message.starts_with("Merge "),
        "a default merge message: {:?}",
        c.message
    );
    h.fsck(r);
}

/// `FfOnly` of diverged histories is `FailedPrecondition` and changes nothing.
pub async fn merge_ff_only_refused(factory: Factory) {
    let h = Harness::new(&factory);
    let f = merge_fixture(&h);
    let r = &f.repo;
    let before = h.refs_snapshot(r);
    let who = h.sig();
    expect_kind(
        h.engine
            .merge(r, merge_req("feature", "main", FastForward::FfOnly, &who))
            .await,
        ErrorKind::FailedPrecondition,
    );
    assert_eq!(h.refs_snapshot(r), before);
}

/// A source already in the target is `UpToDate`, whatever the mode; nothing moves.
pub async fn merge_up_to_date(factory: Factory) {
    let h = Harness::new(&factory);
    let f = merge_fixture(&h);
    let r = &f.repo;
    let before = h.refs_snapshot(r);
    let main = h.rev(r, "main");
    let who = h.sig();
    for (source, ff) in [
        ("base", FastForward::Ff),
        ("main~1", FastForward::NoFf),
        ("main", FastForward::FfOnly),
    ] {
        let out = h
            .engine
            .merge(r, merge_req(source, "main", ff, &who))
            .await
            .expect("merge");
        assert_eq!(out.kind, MergeKind::UpToDate, "{source} {ff:?}");
        assert_eq!(out.tip, main);
    }
    assert_eq!(h.refs_snapshot(r), before);
}

/// A clean merge of diverged branches: the tree `git merge-tree --write-tree` writes, both
/// parents, the given message.
pub async fn merge_clean_matches_merge_tree(factory: Factory) {
    let h = Harness::new(&factory);
    let f = merge_fixture(&h);
    let r = &f.repo;
    let (main, feature) = (h.rev(r, "main"), h.rev(r, "feature"));
    let (tree, conflicts, clean) = merge_tree(&h, r, "main", "feature");
    assert!(clean && conflicts.is_empty(), "git merges cleanly too");
    let who = h.sig();
    let mut req = merge_req("feature", "main", FastForward::Ff, &who);
    req.expected_tip = Some(main);
    let out = h.engine.merge(r, req).await.expect("merge");
    assert_eq!(out.kind, MergeKind::Merged);
    let c = h
        .engine
        .get_commit(r, &Rev::from(out.tip))
        .await
        .expect("get_commit");
    assert_eq!(c.parents, vec![main, feature]);
    assert_eq!(c.tree, tree, "the tree git merge-tree writes");
    assert_eq!(c.message, "Merge feature into main\n");
    assert_eq!(h.rev(r, "main"), out.tip);
    h.assert_commit_matches_git(r, &c);
    h.fsck(r);
}

/// A conflicting merge is `Conflict` with the paths git reports; the target does not move.
pub async fn merge_conflict_changes_nothing(factory: Factory) {
    let h = Harness::new(&factory);
    let f = merge_fixture(&h);
    let r = &f.repo;
    let (_, conflicts, clean) = merge_tree(&h, r, "main", "clash");
    assert!(!clean, "git conflicts too");
    let paths: Vec<&str> = conflicts.iter().map(String::as_str).collect();
    assert_eq!(paths, ["a.txt", "both.txt"]);
    let before = h.refs_snapshot(r);
    let who = h.sig();
    for ff in [FastForward::Ff, FastForward::NoFf] {
        let res = h
            .engine
            .merge(r, merge_req("clash", "main", ff, &who))
            .await;
        expect_merge_conflict(res, &paths);
    }
    assert_eq!(h.refs_snapshot(r), before);
    h.fsck(r);
}

/// A stale expected tip is `Conflict` with `RefMismatch`.
pub async fn merge_cas_conflict(factory: Factory) {
    let h = Harness::new(&factory);
    let f = merge_fixture(&h);
    let r = &f.repo;
    let before = h.refs_snapshot(r);
    let who = h.sig();
    let stale = h.rev(r, "main~1");
    for source in ["feature", "main~1"] {
        let mut req = merge_req(source, "main", FastForward::Ff, &who);
        req.expected_tip = Some(stale);
        let got = expect_ref_mismatch(h.engine.merge(r, req).await, "refs/heads/main");
        assert_eq!(got, (Some(stale), Some(h.rev(r, "main"))));
    }
    let mut req = merge_req("feature", "base", FastForward::Ff, &who);
    req.expected_tip = Some(h.rev(r, "main"));
    expect_ref_mismatch(h.engine.merge(r, req).await, "refs/heads/base");
    assert_eq!(h.refs_snapshot(r), before);
}

/// `main: c0 - m1`, `topic: c0 - t1 .. t6` (each on its own file), `clash: c0 - x1` (conflicts
/// with m1).
fn rebase_fixture(h: &Harness) -> Fixture {
    h.fixture("rebase", |w| {
        w.commit("c0", &[("base.txt", &ten(&[]))]);
        w.checkout_new("topic");
        for i in 1..=6 {
            let name = format!("t{i}.txt");
            let msg = format!("t{i}: add t{i}\n\nbody of t{i}");
            w.commit(&msg, &[(name.as_str(), &format!("t{i}\n"))]);
        }
        w.checkout("main");
        w.checkout_new("clash");
        w.commit("x1: line 3", &[("base.txt", &ten(&[(3, "clash 3")]))]);
        w.checkout("main");
        w.commit(
            "m1: line 3",
            &[("base.txt", &ten(&[(3, "main 3")])), ("m.txt", "m\n")],
        );
    })
}

/// `(tree, message, author)` of commits, oldest first.
fn shape_of(h: &Harness, repo: &RepoName, oids: &[Oid]) -> Vec<(Oid, String, Signature)> {
    oids.iter()
        .map(|o| {
            let c = h.cat_commit(repo, *o);
            (c.tree, c.message, c.author)
        })
        .collect()
}

/// The same in the oracle clone: commits of `range`, oldest first.
fn oracle_shape(o: &crate::git::RepoBuilder, range: &str) -> Vec<(Oid, String, Signature)> {
    o.git(&["rev-list", "--reverse", range])
        .lines()
        .map(|c| {
            let g = GitCommit::parse(oid(c), &o.git(&["cat-file", "commit", c]));
            (g.tree, g.message, g.author)
        })
        .collect()
}

/// A plain rebase gives the commits `git rebase` gives (trees, messages, authors), on top of
/// `onto`; with `upstream`, only `upstream..branch` is replayed (`git rebase --onto`).
pub async fn rebase_plain_matches_git(factory: Factory) {
    let h = Harness::new(&factory);
    let f = rebase_fixture(&h);
    let r = &f.repo;
    let main = h.rev(r, "main");
    let topic = h.rev(r, "topic");
    h.git_repo(r, &["branch", "topic2", &topic.to_string()]);
    let who = h.sig();
    let out = h
        .engine
        .rebase(
            r,
            Rebase {
                branch: branch("topic"),
                expected_tip: Some(topic),
                onto: rev("main"),
                upstream: None,
                plan: None,
                committer: who.clone(),
            },
        )
        .await
        .expect("rebase");
    assert_eq!(out.commits.len(), 6);
    assert_eq!(out.tip, *out.commits.last().expect("commits"));
    assert_eq!(h.rev(r, "topic"), out.tip);
    let listed: Vec<Oid> = h
        .git_repo(r, &["rev-list", "--reverse", "main..topic"])
        .lines()
        .map(oid)
        .collect();
    assert_eq!(
        listed, out.commits,
        "the new commits, oldest first, on top of main"
    );
    assert_eq!(h.cat_commit(r, out.commits[0]).parents, vec![main]);
    for c in &out.commits {
        assert_eq!(h.cat_commit(r, *c).committer, who);
    }
    let o = h.scratch_clone(r, "oracle");
    o.git(&["checkout", "-q", "-b", "topic", "origin/topic2"]);
    o.git(&["rebase", "-q", "origin/main"]);
    assert_eq!(
        shape_of(&h, r, &out.commits),
        oracle_shape(&o, "origin/main..HEAD")
    );

    let out = h
        .engine
        .rebase(
            r,
            Rebase {
                branch: branch("topic2"),
                expected_tip: Some(topic),
                onto: rev("main"),
                upstream: Some(rev("topic2~2")),
                plan: None,
                committer: who,
            },
        )
        .await
        .expect("rebase --onto");
    assert_eq!(out.commits.len(), 2);
    o.git(&["checkout", "-q", "-b", "two", "origin/topic2"]);
    o.git(&["rebase", "-q", "--onto", "origin/main", "origin/topic2~2"]);
    assert_eq!(
        shape_of(&h, r, &out.commits),
        oracle_shape(&o, "origin/main..HEAD")
    );
    h.fsck(r);
}

/// An interactive plan (pick, reword, squash, fixup, drop) gives the trees, messages and
/// authors that `git rebase -i` gives with the same todo list.
pub async fn rebase_interactive_plan(factory: Factory) {
    let h = Harness::new(&factory);
    let f = rebase_fixture(&h);
    let r = &f.repo;
    let topic = h.rev(r, "topic");
    h.git_repo(r, &["branch", "topic2", &topic.to_string()]);
    let t: Vec<Oid> = (0..6)
        .rev()
        .map(|i| h.rev(r, &format!("topic~{i}")))
        .collect();
    let who = h.sig();
    let o = h.scratch_clone(r, "oracle");
    let todo_dir = h.scratch("todo");

    let run_git_rebase = |branch_name: &str, todo: &str| {
        let file = todo_dir.join(format!("{branch_name}.todo"));
        std::fs::write(&file, todo).expect("write todo");
        o.git(&["checkout", "-q", "-b", branch_name, "origin/topic"]);
        let editor: OsString = format!("cp {}", file.display()).into();
        o.runner().run_with(
            o.dir(),
            &["rebase", "-q", "-i", "origin/main"],
            &[("GIT_SEQUENCE_EDITOR", editor.as_os_str())],
            None,
        );
    };

    // Plan one: pick, reword, squash (joined messages), fixup, drop, pick.
    let plan = vec![
        RebaseStep::Pick { commit: t[0] },
        RebaseStep::Reword {
            commit: t[1],
            message: "t2 reworded".to_owned(),
        },
        RebaseStep::Squash {
            commit: t[2],
            message: None,
        },
        RebaseStep::Fixup { commit: t[3] },
        RebaseStep::Drop { commit: t[4] },
        RebaseStep::Pick { commit: t[5] },
    ];
    let out = h
        .engine
        .rebase(
            r,
            Rebase {
                branch: branch("topic"),
                expected_tip: Some(topic),
                onto: rev("main"),
                upstream: None,
                plan: Some(plan),
                committer: who.clone(),
            },
        )
        .await
        .expect("interactive rebase");
    assert_eq!(out.commits.len(), 3);
    assert_eq!(h.rev(r, "topic"), out.tip);
    run_git_rebase(
        "one",
        &format!(
            "pick {}\npick {}\nexec git commit -q --amend -m 't2 reworded'\nsquash {}\nfixup {}\ndrop {}\npick {}\n",
            t[0], t[1], t[2], t[3], t[4], t[5]
        ),
    );
    assert_eq!(
        shape_of(&h, r, &out.commits),
        oracle_shape(&o, "origin/main..HEAD")
    );

    // Plan two: squash with a message of its own.
    let plan = vec![
        RebaseStep::Pick { commit: t[0] },
        RebaseStep::Squash {
            commit: t[1],
            message: Some("one and two".to_owned()),
        },
        RebaseStep::Pick { commit: t[2] },
        RebaseStep::Pick { commit: t[3] },
        RebaseStep::Drop { commit: t[4] },
        RebaseStep::Drop { commit: t[5] },
    ];
    let out = h
        .engine
        .rebase(
            r,
            Rebase {
                branch: branch("topic2"),
                expected_tip: Some(topic),
                onto: rev("main"),
                upstream: None,
                plan: Some(plan),
                committer: who,
            },
        )
        .await
        .expect("interactive rebase with a squash message");
    run_git_rebase(
        "two",
        &format!(
            "pick {}\nsquash {}\nexec git commit -q --amend -m 'one and two'\npick {}\npick {}\n",
            t[0], t[1], t[2], t[3]
        ),
    );
    assert_eq!(
        shape_of(&h, r, &out.commits),
        oracle_shape(&o, "origin/main..HEAD")
    );
    h.fsck(r);
}

/// A conflicting rebase is `Conflict` with the paths git reports, and changes nothing.
pub async fn rebase_conflict_changes_nothing(factory: Factory) {
    let h = Harness::new(&factory);
    let f = rebase_fixture(&h);
    let r = &f.repo;
    let o = h.scratch_clone(r, "oracle");
    o.git(&["checkout", "-q", "-b", "clash", "origin/clash"]);
    assert!(
        !o.git_output(&["rebase", "-q", "origin/main"])
            .status
            .success(),
        "git conflicts too"
    );
    let unmerged = o.git(&["diff", "--name-only", "--diff-filter=U"]);
    let paths: Vec<&str> = unmerged.lines().collect();
    assert_eq!(paths, ["base.txt"]);
    let before = h.refs_snapshot(r);
    let res = h
        .engine
        .rebase(
            r,
            Rebase {
                branch: branch("clash"),
                expected_tip: None,
                onto: rev("main"),
                upstream: None,
                plan: None,
                committer: h.sig(),
            },
        )
        .await;
    expect_merge_conflict(res, &paths);
    assert_eq!(h.refs_snapshot(r), before);
    h.fsck(r);
}

/// A plan must name each commit of `upstream..branch` once and not start with squash or
/// fixup; a stale expected tip is a `RefMismatch`. Nothing changes.
pub async fn rebase_invalid_plan(factory: Factory) {
    let h = Harness::new(&factory);
    let f = rebase_fixture(&h);
    let r = &f.repo;
    let topic = h.rev(r, "topic");
    let t: Vec<Oid> = (0..6)
        .rev()
        .map(|i| h.rev(r, &format!("topic~{i}")))
        .collect();
    let before = h.refs_snapshot(r);
    let picks = |ids: &[Oid]| {
        ids.iter()
            .map(|c| RebaseStep::Pick { commit: *c })
            .collect::<Vec<_>>()
    };
    let mut first_squash = picks(&t);
    first_squash[0] = RebaseStep::Squash {
        commit: t[0],
        message: None,
    };
    let mut first_fixup = picks(&t);
    first_fixup[0] = RebaseStep::Fixup { commit: t[0] };
    let outsider = h.rev(r, "main");
    let mut with_outsider = picks(&t);
    with_outsider.push(RebaseStep::Pick { commit: outsider });
    let mut twice = picks(&t);
    twice.push(RebaseStep::Pick { commit: t[2] });
    for plan in [
        picks(&t[..5]),
        first_squash,
        first_fixup,
        with_outsider,
        twice,
        vec![],
    ] {
        let shown = format!("{plan:?}");
        let res = h
            .engine
            .rebase(
                r,
                Rebase {
                    branch: branch("topic"),
                    expected_tip: Some(topic),
                    onto: rev("main"),
                    upstream: None,
                    plan: Some(plan),
                    committer: h.sig(),
                },
            )
            .await;
        let e = res.expect_err(&shown);
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{shown}: {e:?}");
    }
    let stale = h.rev(r, "topic~1");
    let res = h
        .engine
        .rebase(
            r,
            Rebase {
                branch: branch("topic"),
                expected_tip: Some(stale),
                onto: rev("main"),
                upstream: None,
                plan: None,
                committer: h.sig(),
            },
        )
        .await;
    expect_ref_mismatch(res, "refs/heads/topic");
    assert_eq!(h.refs_snapshot(r), before);
}

/// `merge_base`, `is_ancestor` and `ahead_behind` agree with `git merge-base`,
/// `git merge-base --is-ancestor` and `git rev-list --left-right --count`.
pub async fn merge_base_ancestry_ahead_behind(factory: Factory) {
    let h = Harness::new(&factory);
    let f = super::log::history_fixture(&h, "hist");
    f.work.git(&["checkout", "-q", "--orphan", "unrelated"]);
    f.work.git(&["rm", "-r", "-q", "-f", "."]);
    f.work.commit("unrelated root", &[("u.txt", "u\n")]);
    f.work.checkout("side");
    f.work.commit("s3", &[("s3.txt", "s3\n")]);
    f.push(&h);
    let r = &f.repo;
    let revs = [
        "main",
        "side",
        "main~1",
        "main~3",
        "side~1",
        "v1",
        "unrelated",
    ];
    for a in revs {
        for b in revs {
            let out = h
                .git
                .output_in_git_dir(&h.repo_dir(r), &["merge-base", a, b]);
            let want = out
                .status
                .success()
                .then(|| oid(String::from_utf8_lossy(&out.stdout).trim()));
            let got = h
                .engine
                .merge_base(r, &rev(a), &rev(b))
                .await
                .expect("merge_base");
            assert_eq!(got, want, "merge-base {a} {b}");

            let anc = h.git_repo_ok(r, &["merge-base", "--is-ancestor", a, b]);
            let got = h
                .engine
                .is_ancestor(r, &rev(a), &rev(b))
                .await
                .expect("is_ancestor");
            assert_eq!(got, anc, "is-ancestor {a} {b}");

            let counts = h.git_repo(
                r,
                &["rev-list", "--left-right", "--count", &format!("{a}...{b}")],
            );
            let (ahead, behind) = counts.trim().split_once('\t').expect("two counts");
            let got = h
                .engine
                .ahead_behind(r, &rev(a), &rev(b))
                .await
                .expect("ahead_behind");
            assert_eq!(
                (got.ahead, got.behind),
                (ahead.parse().expect("n"), behind.parse().expect("n")),
                "ahead/behind {a} {b}"
            );
        }
    }
    expect_kind(
        h.engine.merge_base(r, &rev("main"), &rev("nope")).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        h.engine.is_ancestor(r, &rev("nope"), &rev("main")).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        h.engine.ahead_behind(r, &rev("nope"), &rev("main")).await,
        ErrorKind::NotFound,
    );
}
