//! Refs: listing, peeling, get, create, delete, rename, atomic compare-and-swap updates and
//! revision resolution.

use gitapi_core::object::normalize_message;
use gitapi_core::{
    CreateTag, ErrorKind, ListRefs, ObjectKind, PageRequest, Ref, RefKind, RefUpdate,
    TagAnnotation, TagObject,
};

use super::*;

/// Branches `main`, `feature/a`, `feature/b`, `release`; tags `v1` (lightweight), `v2`
/// (annotated), `v3` (annotated tag of `v2`); and `refs/custom/x`.
fn refs_fixture(h: &Harness) -> Fixture {
    let f = h.fixture("refs", |w| {
        w.commit("one", &[("README.md", "one\n")]);
        w.tag("v1");
        w.branch("feature/a");
        w.commit("two", &[("README.md", "two\n")]);
        w.branch("feature/b");
        w.annotated_tag("v2", "HEAD", "version two");
        w.annotated_tag("v3", "v2", "a tag of a tag");
        w.commit("three", &[("README.md", "three\n")]);
        w.branch("release");
    });
    let one = h.rev(&f.repo, "v1").to_string();
    h.git_repo(&f.repo, &["update-ref", "refs/custom/x", &one]);
    f
}

/// `git for-each-ref` of `patterns` with peeled values from `git show-ref -d`.
fn git_refs(h: &Harness, repo: &RepoName, patterns: &[&str]) -> Vec<Ref> {
    let mut args = vec!["for-each-ref", "--format=%(refname) %(objectname)"];
    args.extend_from_slice(patterns);
    let peeled: BTreeMap<String, Oid> = h
        .git_repo(repo, &["show-ref", "-d"])
        .lines()
        .filter_map(|l| {
            let (o, name) = l.split_once(' ')?;
            let name = name.strip_suffix("^{}")?;
            Some((name.to_owned(), oid(o)))
        })
        .collect();
    h.git_repo(repo, &args)
        .lines()
        .map(|l| {
            let (name, o) = l.split_once(' ').expect("name and oid");
            Ref {
                name: RefName::new(name).expect("git ref names are valid"),
                target: oid(o),
                peeled: peeled.get(name).copied(),
            }
        })
        .collect()
}

async fn list_all(h: &Harness, repo: &RepoName, query: ListRefs) -> Vec<Ref> {
    let page = h.engine.list_refs(repo, query).await.expect("list_refs");
    assert_eq!(page.next_cursor, None, "a small listing fits one page");
    page.items
}

/// `list_refs` by kind and prefix equals `git for-each-ref`.
pub async fn refs_list_matches_for_each_ref(factory: Factory) {
    let h = Harness::new(&factory);
    let f = refs_fixture(&h);
    let r = &f.repo;
    let q = |kind, prefix: Option<&str>| ListRefs {
        prefix: prefix.map(str::to_owned),
        kind,
        page: PageRequest::default(),
    };
    assert_eq!(
        list_all(&h, r, q(RefKind::All, None)).await,
        git_refs(&h, r, &["refs/"])
    );
    assert_eq!(
        list_all(&h, r, q(RefKind::Branches, None)).await,
        git_refs(&h, r, &["refs/heads/"])
    );
    assert_eq!(
        list_all(&h, r, q(RefKind::Tags, None)).await,
        git_refs(&h, r, &["refs/tags/"])
    );
    let feature = list_all(&h, r, q(RefKind::All, Some("refs/heads/feature/"))).await;
    assert_eq!(feature, git_refs(&h, r, &["refs/heads/feature/"]));
    assert_eq!(feature.len(), 2);
    assert_eq!(
        list_all(&h, r, q(RefKind::Branches, Some("refs/heads/rel"))).await,
        git_refs(&h, r, &["refs/heads/release"])
    );
    assert!(
        list_all(&h, r, q(RefKind::Tags, Some("refs/heads/")))
            .await
            .is_empty()
    );
    let empty = h.init("empty").await;
    assert!(list_all(&h, &empty, q(RefKind::All, None)).await.is_empty());
}

/// Walking pages with the cursor returns every ref once, in order.
pub async fn refs_list_pagination(factory: Factory) {
    let h = Harness::new(&factory);
    let f = refs_fixture(&h);
    let r = &f.repo;
    let tip = h.rev(r, "main");
    let mut stdin = String::new();
    for i in 0..25 {
        stdin.push_str(&format!("create refs/heads/many/b{i:02} {tip}\n"));
    }
    h.git.run_with(
        h.data_dir(),
        &[
            OsStr::new("--git-dir"),
            h.repo_dir(r).as_os_str(),
            OsStr::new("update-ref"),
            OsStr::new("--stdin"),
        ],
        &[],
        Some(stdin.as_bytes()),
    );
    let expected = git_refs(&h, r, &["refs/"]);
    assert!(expected.len() > 25);

    for (kind, prefix, limit) in [
        (RefKind::All, None, 4usize),
        (RefKind::All, None, 1),
        (RefKind::Branches, Some("refs/heads/many/"), 7),
    ] {
        let want: Vec<Ref> = expected
            .iter()
            .filter(|x| match kind {
                RefKind::Branches => x.name.is_branch(),
                RefKind::Tags => x.name.is_tag(),
                RefKind::All => true,
            })
            .filter(|x| prefix.is_none_or(|p| x.name.as_str().starts_with(p)))
            .cloned()
            .collect();
        let mut got = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let page = h
                .engine
                .list_refs(
                    r,
                    ListRefs {
                        prefix: prefix.map(str::to_owned),
                        kind,
                        page: PageRequest { limit, cursor },
                    },
                )
                .await
                .expect("list_refs page");
            pages += 1;
            assert!(
                page.items.len() <= limit,
                "a page holds at most `limit` refs"
            );
            got.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
            assert!(pages <= want.len() + 1, "the cursor walk ends");
        }
        assert_eq!(
            got, want,
            "the cursor walk ({kind:?}, {prefix:?}, {limit}) collects all"
        );
        assert!(
            pages >= want.len().div_ceil(limit),
            "pages of at most {limit}"
        );
    }

    let page = h
        .engine
        .list_refs(r, ListRefs::default())
        .await
        .expect("list_refs default limit");
    assert_eq!(page.items, expected, "the default limit of 100 covers all");
    assert_eq!(page.next_cursor, None);

    // The cursor is the last name seen: deleting that ref between pages loses nothing else.
    let first = h
        .engine
        .list_refs(
            r,
            ListRefs {
                prefix: None,
                kind: RefKind::All,
                page: PageRequest {
                    limit: 5,
                    cursor: None,
                },
            },
        )
        .await
        .expect("first page");
    let last = first.items.last().expect("a full first page").name.clone();
    h.git_repo(r, &["update-ref", "-d", last.as_str()]);
    let mut rest = Vec::new();
    let mut cursor = first.next_cursor;
    while let Some(c) = cursor {
        let page = h
            .engine
            .list_refs(
                r,
                ListRefs {
                    prefix: None,
                    kind: RefKind::All,
                    page: PageRequest {
                        limit: 5,
                        cursor: Some(c),
                    },
                },
            )
            .await
            .expect("next page");
        rest.extend(page.items);
        cursor = page.next_cursor;
    }
    let after: Vec<Ref> = expected.into_iter().filter(|x| x.name > last).collect();
    assert_eq!(rest, after, "the walk goes on after a deleted cursor ref");
}

/// Annotated tags are peeled as `git show-ref -d` peels them (through nested tags);
/// lightweight tags and branches are not.
pub async fn refs_list_peeled_tags(factory: Factory) {
    let h = Harness::new(&factory);
    let f = refs_fixture(&h);
    let r = &f.repo;
    let tags = list_all(
        &h,
        r,
        ListRefs {
            prefix: None,
            kind: RefKind::Tags,
            page: PageRequest::default(),
        },
    )
    .await;
    let show_ref = h.git_repo(r, &["show-ref", "-d", "--tags"]);
    let mut expected = BTreeMap::new();
    for l in show_ref.lines() {
        let (o, name) = l.split_once(' ').expect("show-ref line");
        match name.strip_suffix("^{}") {
            Some(n) => expected.entry(n.to_owned()).or_insert((None, None)).1 = Some(oid(o)),
            None => expected.entry(name.to_owned()).or_insert((None, None)).0 = Some(oid(o)),
        }
    }
    assert_eq!(tags.len(), expected.len());
    for t in &tags {
        let (target, peeled) = expected[t.name.as_str()];
        assert_eq!(Some(t.target), target, "target of {}", t.name);
        assert_eq!(t.peeled, peeled, "peeled of {}", t.name);
    }
    let v3 = tags
        .iter()
        .find(|t| t.name.as_str() == "refs/tags/v3")
        .expect("v3");
    assert_eq!(
        v3.peeled,
        Some(h.rev(r, "v2^{commit}")),
        "nested tags peel to the commit"
    );
    let v1 = tags
        .iter()
        .find(|t| t.name.as_str() == "refs/tags/v1")
        .expect("v1");
    assert_eq!(v1.peeled, None, "a lightweight tag has no peeled value");
}

/// `get_ref` of branches and tags; `NotFound` for a missing ref.
pub async fn refs_get(factory: Factory) {
    let h = Harness::new(&factory);
    let f = refs_fixture(&h);
    let r = &f.repo;
    let all = git_refs(&h, r, &["refs/"]);
    for want in &all {
        let got = h.engine.get_ref(r, &want.name).await.expect("get_ref");
        assert_eq!(&got, want);
    }
    expect_kind(
        h.engine.get_ref(r, &branch("nope")).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        h.engine.get_ref(r, &branch("feature")).await,
        ErrorKind::NotFound,
    );
    expect_kind(h.engine.get_ref(r, &tag("v9")).await, ErrorKind::NotFound);
}

/// `create_branch` at revisions (a tag peels to its commit); `AlreadyExists`, `NotFound` and
/// `InvalidArgument` (not a commit) change nothing.
pub async fn refs_create_branch(factory: Factory) {
    let h = Harness::new(&factory);
    let f = refs_fixture(&h);
    let r = &f.repo;
    let got = h
        .engine
        .create_branch(r, &branch("topic"), &rev("main~1"))
        .await
        .expect("create_branch");
    assert_eq!(
        got,
        Ref {
            name: branch("topic"),
            target: h.rev(r, "main~1"),
            peeled: None,
        }
    );
    assert_eq!(h.rev(r, "refs/heads/topic"), h.rev(r, "main~1"));

    let got = h
        .engine
        .create_branch(r, &branch("from-tag"), &rev("v2"))
        .await
        .expect("create_branch from an annotated tag");
    assert_eq!(
        got.target,
        h.rev(r, "v2^{commit}"),
        "a branch points at the commit"
    );
    assert_eq!(h.rev(r, "refs/heads/from-tag"), h.rev(r, "v2^{commit}"));

    let before = h.refs_snapshot(r);
    expect_kind(
        h.engine
            .create_branch(r, &branch("topic"), &rev("main"))
            .await,
        ErrorKind::AlreadyExists,
    );
    expect_kind(
        h.engine
            .create_branch(r, &branch("x"), &rev("no-such-rev"))
            .await,
        ErrorKind::NotFound,
    );
    expect_kind(
        h.engine
            .create_branch(r, &branch("y"), &rev("main^{tree}"))
            .await,
        ErrorKind::InvalidArgument,
    );
    assert_eq!(h.refs_snapshot(r), before, "failed creates change nothing");
    h.fsck(r);
}

/// Lightweight and annotated tags; the tag object equals what `git cat-file -p` shows.
pub async fn refs_create_tags(factory: Factory) {
    let h = Harness::new(&factory);
    let f = refs_fixture(&h);
    let r = &f.repo;
    let light = h
        .engine
        .create_tag(
            r,
            CreateTag {
                name: tag("light"),
                target: rev("main~1"),
                annotation: None,
            },
        )
        .await
        .expect("lightweight tag");
    assert_eq!(
        light,
        Ref {
            name: tag("light"),
            target: h.rev(r, "main~1"),
            peeled: None,
        }
    );
    assert_eq!(
        h.git_repo(r, &["cat-file", "-t", "refs/tags/light"]).trim(),
        "commit"
    );

    let tagger = h.sig_of("Tag Ger", "tagger@example.com", -330);
    let message = "Release 4.0\n\nWith notes.";
    let annotated = h
        .engine
        .create_tag(
            r,
            CreateTag {
                name: tag("release-4.0"),
                target: rev("main"),
                annotation: Some(TagAnnotation {
                    tagger: tagger.clone(),
                    message: message.to_owned(),
                }),
            },
        )
        .await
        .expect("annotated tag");
    let commit = h.rev(r, "main");
    assert_eq!(annotated.name, tag("release-4.0"));
    assert_eq!(annotated.target, h.rev(r, "refs/tags/release-4.0"));
    assert_eq!(annotated.peeled, Some(commit));
    assert_eq!(
        h.git_repo(r, &["cat-file", "-t", "refs/tags/release-4.0"])
            .trim(),
        "tag"
    );
    let raw = h.git_repo(r, &["cat-file", "-p", "refs/tags/release-4.0"]);
    let want = format!(
        "object {commit}\ntype commit\ntag release-4.0\ntagger {}\n\n{}",
        tagger.to_header(),
        normalize_message(message).expect("valid message")
    );
    assert_eq!(raw, want, "the tag object as git cat-file -p prints it");
    assert_eq!(
        h.engine
            .get_ref(r, &tag("release-4.0"))
            .await
            .expect("get_ref"),
        annotated
    );

    let before = h.refs_snapshot(r);
    expect_kind(
        h.engine
            .create_tag(
                r,
                CreateTag {
                    name: tag("v1"),
                    target: rev("main"),
                    annotation: None,
                },
            )
            .await,
        ErrorKind::AlreadyExists,
    );
    expect_kind(
        h.engine
            .create_tag(
                r,
                CreateTag {
                    name: tag("ghost"),
                    target: rev("no-such-rev"),
                    annotation: Some(TagAnnotation {
                        tagger: h.sig(),
                        message: "x".to_owned(),
                    }),
                },
            )
            .await,
        ErrorKind::NotFound,
    );
    assert_eq!(h.refs_snapshot(r), before);
    h.fsck(r);
}

/// Writes a tag object with `git mktag` (or, for one git's strict check refuses, such as a tag
/// without tagger, `hash-object --literally`) and points `refs/tags/<name>` at it.
fn write_tag_object(h: &Harness, r: &RepoName, name: &str, text: &str, literally: bool) -> Oid {
    let args: &[&str] = if literally {
        &["hash-object", "-t", "tag", "-w", "--literally", "--stdin"]
    } else {
        &["mktag"]
    };
    let dir = h.repo_dir(r);
    let out = h.git.run_with(
        &dir,
        &[&["--git-dir", dir.to_str().expect("a UTF-8 path")], args].concat(),
        &[],
        Some(text.as_bytes()),
    );
    let o = oid(out.trim());
    h.git_repo(
        r,
        &["update-ref", &format!("refs/tags/{name}"), &o.to_string()],
    );
    o
}

/// What git says of every annotated tag under `refs/tags/`: `for-each-ref`'s tag fields, its
/// `%(contents:signature)` split from `%(contents)` (git's own reading of a signed tag).
fn git_tag_objects(h: &Harness, r: &RepoName) -> Vec<TagObject> {
    let format = "%(objecttype)%00%(objectname)%00%(tag)%00%(object)%00%(type)%00\
                  %(taggername)%00%(taggeremail)%00%(taggerdate:raw)%00%(contents)%00\
                  %(contents:signature)%00%00";
    let out = h.git_repo(
        r,
        &["for-each-ref", &format!("--format={format}"), "refs/tags/"],
    );
    out.split("\0\0\n")
        .filter(|rec| rec.starts_with("tag\0"))
        .map(|rec| {
            let f: Vec<&str> = rec.split('\0').collect();
            assert_eq!(f.len(), 10, "for-each-ref record {rec:?}");
            let kind = match f[4] {
                "commit" => ObjectKind::Commit,
                "tree" => ObjectKind::Tree,
                "blob" => ObjectKind::Blob,
                "tag" => ObjectKind::Tag,
                other => panic!("tag of type {other:?}"),
            };
            let tagger =
                (!f[5].is_empty()).then(|| parse_signature(&format!("{} {} {}", f[5], f[6], f[7])));
            let (contents, signature) = (f[8], f[9]);
            let message = contents
                .strip_suffix(signature)
                .expect("the signature ends the contents");
            TagObject {
                oid: oid(f[1]),
                name: f[2].to_owned(),
                target: oid(f[3]),
                target_kind: kind,
                tagger,
                message: message.to_owned(),
                signature: (!signature.is_empty()).then(|| signature.to_owned()),
            }
        })
        .collect()
}

/// `read_tag` of every annotated tag equals what `git for-each-ref` and `git cat-file tag`
/// say: on a commit, on a tag (`v3`), on a tree, signed (the signature split from the message
/// where git splits it), without message and without tagger; `InvalidArgument` for an object
/// that is not a tag, `NotFound` for a missing one.
pub async fn refs_read_tag(factory: Factory) {
    let h = Harness::new(&factory);
    let f = refs_fixture(&h);
    let r = &f.repo;
    let commit = h.rev(r, "main");
    let tree = h.rev(r, "main^{tree}");
    let pgp =
        "-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEE\n=abcd\n-----END PGP SIGNATURE-----\n";
    let signed = write_tag_object(
        &h,
        r,
        "signed",
        &format!(
            "object {commit}\ntype commit\ntag signed\ntagger T Agger <t@example.com> \
             1700000000 +0530\n\nsigned one\n\nquotes a line:\n\
             -----BEGIN SSH SIGNATURE----- is not at the start\n{pgp}"
        ),
        false,
    );
    write_tag_object(
        &h,
        r,
        "of-tree",
        &format!("object {tree}\ntype tree\ntag of-tree\ntagger T <t@example.com> 1 -0100\n\nt\n"),
        false,
    );
    write_tag_object(
        &h,
        r,
        "no-message",
        &format!(
            "object {commit}\ntype commit\ntag other-name\ntagger T <t@example.com> 2 +0000\n"
        ),
        false,
    );
    write_tag_object(
        &h,
        r,
        "no-tagger",
        &format!("object {commit}\ntype commit\ntag no-tagger\n\nold style\n"),
        true,
    );

    let want = git_tag_objects(&h, r);
    assert_eq!(want.len(), 6, "v2, v3 and the four written here: {want:?}");
    for w in &want {
        let got = h.engine.read_tag(r, w.oid).await.expect("read_tag");
        assert_eq!(&got, w, "tag {}", w.name);
        // The signature and the message together are the object's message as cat-file shows.
        let raw = h.git_repo(r, &["cat-file", "tag", &w.oid.to_string()]);
        let body = raw.split_once("\n\n").map_or("", |(_, b)| b);
        assert_eq!(
            format!("{}{}", got.message, got.signature.as_deref().unwrap_or("")),
            body
        );
    }
    let got = h.engine.read_tag(r, signed).await.expect("read_tag");
    assert_eq!(got.signature.as_deref(), Some(pgp));
    assert!(got.message.ends_with("is not at the start\n"), "{got:?}");
    assert_eq!(got.tagger.map(|t| t.offset_minutes), Some(330));
    let v3 = h.engine.read_tag(r, h.rev(r, "refs/tags/v3")).await;
    let v3 = v3.expect("read_tag of a tag of a tag");
    assert_eq!(v3.target, h.rev(r, "refs/tags/v2"));
    assert_eq!(v3.target_kind, ObjectKind::Tag);

    expect_kind(
        h.engine.read_tag(r, commit).await,
        ErrorKind::InvalidArgument,
    );
    expect_kind(
        h.engine
            .read_tag(r, oid("1111111111111111111111111111111111111111"))
            .await,
        ErrorKind::NotFound,
    );
}

/// `delete_ref` with and without an expected value.
pub async fn refs_delete(factory: Factory) {
    let h = Harness::new(&factory);
    let f = refs_fixture(&h);
    let r = &f.repo;
    h.engine
        .delete_ref(r, &branch("feature/a"), None)
        .await
        .expect("delete_ref");
    assert!(!h.git_repo_ok(r, &["rev-parse", "--verify", "-q", "refs/heads/feature/a"]));

    let before = h.refs_snapshot(r);
    let wrong = h.rev(r, "main");
    let actual = h.rev(r, "feature/b");
    let (exp, act) = expect_ref_mismatch(
        h.engine
            .delete_ref(r, &branch("feature/b"), Some(wrong))
            .await,
        "refs/heads/feature/b",
    );
    assert_eq!((exp, act), (Some(wrong), Some(actual)));
    assert_eq!(
        h.refs_snapshot(r),
        before,
        "a lost compare-and-swap changes nothing"
    );

    h.engine
        .delete_ref(r, &branch("feature/b"), Some(actual))
        .await
        .expect("delete_ref at the expected value");
    assert!(!h.git_repo_ok(r, &["rev-parse", "--verify", "-q", "refs/heads/feature/b"]));
    h.engine
        .delete_ref(r, &tag("v3"), None)
        .await
        .expect("delete a tag");
    assert!(!h.git_repo_ok(r, &["rev-parse", "--verify", "-q", "refs/tags/v3"]));

    expect_kind(
        h.engine.delete_ref(r, &branch("nope"), None).await,
        ErrorKind::NotFound,
    );
    h.fsck(r);
}

/// `rename_branch` moves the branch with its reflog (and `HEAD` when it named it).
pub async fn refs_rename_branch_with_reflog(factory: Factory) {
    let h = Harness::new(&factory);
    let f = refs_fixture(&h);
    let r = &f.repo;
    let tip = h.rev(r, "release");
    let got = h
        .engine
        .rename_branch(r, &branch("release"), &branch("renamed/release"))
        .await
        .expect("rename_branch");
    assert_eq!(
        got,
        Ref {
            name: branch("renamed/release"),
            target: tip,
            peeled: None,
        }
    );
    assert!(!h.git_repo_ok(r, &["rev-parse", "--verify", "-q", "refs/heads/release"]));
    assert_eq!(h.rev(r, "refs/heads/renamed/release"), tip);
    let reflog = h.git_repo(
        r,
        &[
            "reflog",
            "show",
            "--format=%H",
            "refs/heads/renamed/release",
        ],
    );
    assert!(!reflog.trim().is_empty(), "the renamed branch has a reflog");
    assert_eq!(reflog.lines().next().map(oid), Some(tip));

    let before = h.refs_snapshot(r);
    expect_kind(
        h.engine
            .rename_branch(r, &branch("feature/a"), &branch("feature/b"))
            .await,
        ErrorKind::AlreadyExists,
    );
    expect_kind(
        h.engine
            .rename_branch(r, &branch("nope"), &branch("other"))
            .await,
        ErrorKind::NotFound,
    );
    assert_eq!(h.refs_snapshot(r), before);

    // Renaming the branch HEAD names moves HEAD too, as `git branch -m` does.
    h.engine
        .rename_branch(r, &branch("main"), &branch("trunk"))
        .await
        .expect("rename the default branch");
    assert_eq!(
        h.git_repo(r, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/trunk"
    );
    assert_eq!(
        h.engine
            .repo_info(r)
            .await
            .expect("repo_info")
            .default_branch,
        Some(branch("trunk"))
    );
    h.fsck(r);
}

fn upd(name: &str, new: Oid, expected_old: Option<Oid>) -> RefUpdate {
    RefUpdate {
        name: RefName::new(name).expect("valid ref"),
        new,
        expected_old,
    }
}

/// `update_refs`: moves, creates (expected zero), deletes (new zero), unconditional updates,
/// several refs at once.
pub async fn refs_update_cas(factory: Factory) {
    let h = Harness::new(&factory);
    let f = refs_fixture(&h);
    let r = &f.repo;
    let (one, two, three) = (h.rev(r, "main~2"), h.rev(r, "main~1"), h.rev(r, "main"));

    h.engine
        .update_refs(r, vec![upd("refs/heads/main", two, Some(three))])
        .await
        .expect("move main back");
    assert_eq!(h.rev(r, "refs/heads/main"), two);

    h.engine
        .update_refs(r, vec![upd("refs/heads/new", one, Some(Oid::ZERO))])
        .await
        .expect("create with expected zero");
    assert_eq!(h.rev(r, "refs/heads/new"), one);

    h.engine
        .update_refs(r, vec![upd("refs/heads/new", three, None)])
        .await
        .expect("unconditional update");
    assert_eq!(h.rev(r, "refs/heads/new"), three);

    h.engine
        .update_refs(r, vec![upd("refs/heads/new", Oid::ZERO, Some(three))])
        .await
        .expect("delete with new zero");
    assert!(!h.git_repo_ok(r, &["rev-parse", "--verify", "-q", "refs/heads/new"]));

    h.engine
        .update_refs(
            r,
            vec![
                upd("refs/heads/main", three, Some(two)),
                upd("refs/heads/feature/a", two, Some(one)),
                upd("refs/tags/extra", three, Some(Oid::ZERO)),
                upd("refs/heads/release", Oid::ZERO, Some(three)),
            ],
        )
        .await
        .expect("several refs at once");
    assert_eq!(h.rev(r, "refs/heads/main"), three);
    assert_eq!(h.rev(r, "refs/heads/feature/a"), two);
    assert_eq!(h.rev(r, "refs/tags/extra"), three);
    assert!(!h.git_repo_ok(r, &["rev-parse", "--verify", "-q", "refs/heads/release"]));
    h.fsck(r);
}

/// A lost compare-and-swap is `Conflict` with `RefMismatch` details and changes nothing.
pub async fn refs_update_cas_conflict(factory: Factory) {
    let h = Harness::new(&factory);
    let f = refs_fixture(&h);
    let r = &f.repo;
    let (one, two, three) = (h.rev(r, "main~2"), h.rev(r, "main~1"), h.rev(r, "main"));
    let before = h.refs_snapshot(r);

    let got = expect_ref_mismatch(
        h.engine
            .update_refs(r, vec![upd("refs/heads/main", one, Some(Oid::ZERO))])
            .await,
        "refs/heads/main",
    );
    assert_eq!(
        got,
        (None, Some(three)),
        "must-not-exist was expected, the ref exists"
    );

    let got = expect_ref_mismatch(
        h.engine
            .update_refs(r, vec![upd("refs/heads/main", one, Some(two))])
            .await,
        "refs/heads/main",
    );
    assert_eq!(got, (Some(two), Some(three)), "a stale expected value");

    let got = expect_ref_mismatch(
        h.engine
            .update_refs(r, vec![upd("refs/heads/absent", one, Some(two))])
            .await,
        "refs/heads/absent",
    );
    assert_eq!(got, (Some(two), None), "the ref does not exist");

    let got = expect_ref_mismatch(
        h.engine
            .update_refs(r, vec![upd("refs/heads/main", Oid::ZERO, Some(one))])
            .await,
        "refs/heads/main",
    );
    assert_eq!(got, (Some(one), Some(three)), "a delete with a stale value");
    assert_eq!(
        h.refs_snapshot(r),
        before,
        "lost compare-and-swaps change nothing"
    );
}

/// An atomic multi-ref update where one compare-and-swap fails changes none of the refs.
pub async fn refs_update_atomic_all_or_nothing(factory: Factory) {
    let h = Harness::new(&factory);
    let f = refs_fixture(&h);
    let r = &f.repo;
    let (one, two, three) = (h.rev(r, "main~2"), h.rev(r, "main~1"), h.rev(r, "main"));
    let before = h.refs_snapshot(r);
    let res = h
        .engine
        .update_refs(
            r,
            vec![
                upd("refs/heads/main", one, Some(three)),
                upd("refs/heads/brand-new", two, Some(Oid::ZERO)),
                upd("refs/heads/feature/b", Oid::ZERO, Some(two)),
                upd("refs/heads/release", one, Some(one)),
            ],
        )
        .await;
    let got = expect_ref_mismatch(res, "refs/heads/release");
    assert_eq!(got, (Some(one), Some(three)));
    assert_eq!(
        h.refs_snapshot(r),
        before,
        "no ref of a failed atomic update moved"
    );
    h.fsck(r);
}

/// A ref update to an object that does not exist is `NotFound`; a branch to a tree is
/// `InvalidArgument`; neither changes anything.
pub async fn refs_update_missing_object(factory: Factory) {
    let h = Harness::new(&factory);
    let f = refs_fixture(&h);
    let r = &f.repo;
    let before = h.refs_snapshot(r);
    let ghost = Oid::from_bytes([0xab; 20]);
    expect_kind(
        h.engine
            .update_refs(r, vec![upd("refs/heads/main", ghost, None)])
            .await,
        ErrorKind::NotFound,
    );
    expect_kind(
        h.engine
            .update_refs(r, vec![upd("refs/heads/ghost", ghost, Some(Oid::ZERO))])
            .await,
        ErrorKind::NotFound,
    );
    let tree = h.rev(r, "main^{tree}");
    expect_kind(
        h.engine
            .update_refs(r, vec![upd("refs/heads/main", tree, None)])
            .await,
        ErrorKind::InvalidArgument,
    );
    assert_eq!(h.refs_snapshot(r), before);
}

/// `resolve` agrees with `git rev-parse --verify`; unknown revisions are `NotFound`.
pub async fn refs_resolve(factory: Factory) {
    let h = Harness::new(&factory);
    let f = refs_fixture(&h);
    let r = &f.repo;
    let full = h.rev(r, "main~1").to_string();
    let short = full[..10].to_owned();
    let revs = [
        "main",
        "HEAD",
        "main~1",
        "main^",
        "HEAD~2",
        "v1",
        "v2",
        "v3",
        "v2^{}",
        "v3^{commit}",
        "main^{tree}",
        "main:README.md",
        "refs/heads/feature/a",
        "feature/b",
        "refs/custom/x",
        full.as_str(),
        short.as_str(),
    ];
    for s in revs {
        let want = h
            .git_repo(r, &["rev-parse", "--verify", "-q", s])
            .trim()
            .to_owned();
        let got = h.engine.resolve(r, &rev(s)).await.expect("resolve");
        assert_eq!(got.to_string(), want, "resolve {s}");
    }
    for s in [
        "nope",
        "main~10",
        "main:absent.txt",
        "v1^{tag}",
        "0123456789abcdef",
    ] {
        assert!(
            !h.git_repo_ok(r, &["rev-parse", "--verify", "-q", s]),
            "git agrees on {s}"
        );
        expect_kinds(
            h.engine.resolve(r, &rev(s)).await,
            &[ErrorKind::NotFound, ErrorKind::InvalidArgument],
        );
    }
    expect_kind(h.engine.resolve(r, &rev("nope")).await, ErrorKind::NotFound);
    expect_kind(
        h.engine.resolve(r, &rev("main:absent.txt")).await,
        ErrorKind::NotFound,
    );
}
