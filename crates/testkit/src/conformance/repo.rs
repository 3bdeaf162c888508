//! Repository operations: init, info, delete, clone, mirror, gc and config.

use gitapi_core::names::CONFIG_ALLOW_LIST;
use gitapi_core::{
    CloneOptions, CommitFiles, ConfigKey, ErrorKind, FileAction, InitOptions, ListRefs, LogQuery,
    RemoteUrl, RepoInfo,
};

use super::*;

fn local_url(url: &str) -> RemoteUrl {
    RemoteUrl::parse(url, ClonePolicy { allow_local: true }).expect("a local URL is allowed here")
}

/// A fixture with two branches, a lightweight and an annotated tag.
fn source_fixture(h: &Harness, name: &str) -> Fixture {
    h.fixture(name, |w| {
        w.commit(
            "first",
            &[("README.md", "hello\n"), ("src/lib.rs", "fn a() {}\n")],
        );
        w.tag("v1");
        w.checkout_new("feature");
        w.commit("feature work", &[("src/feature.rs", "fn f() {}\n")]);
        w.checkout("main");
        w.commit("second", &[("README.md", "hello\nworld\n")]);
        w.annotated_tag("v2", "HEAD", "release two");
        w.branch("gone");
    })
}

/// A commit of one file onto `branch` through the engine, the tip expected to be `expected`.
pub(crate) fn engine_commit(
    h: &Harness,
    branch_name: &str,
    expected: Option<Oid>,
    file: &str,
    content: &str,
) -> CommitFiles {
    CommitFiles {
        branch: branch(branch_name),
        expected_tip: expected,
        start_point: None,
        actions: vec![FileAction::Put {
            path: path(file),
            content: bytes::Bytes::from(content.to_owned()),
            mode: None,
        }],
        message: format!("write {file}"),
        author: h.sig(),
        committer: None,
        signing: Default::default(),
        allow_empty: false,
    }
}

/// `init_repo` with and without a default branch; `HEAD` as `git symbolic-ref HEAD` says.
pub async fn repo_init_default_branch(factory: Factory) {
    let h = Harness::new(&factory);
    let alpha = repo_name("alpha");
    let info = h
        .engine
        .init_repo(
            &alpha,
            InitOptions {
                default_branch: Some(branch("trunk")),
            },
        )
        .await
        .expect("init_repo with a default branch");
    assert_eq!(
        info,
        RepoInfo {
            name: alpha.clone(),
            default_branch: Some(branch("trunk")),
            empty: true,
            mirror: false,
        }
    );
    assert_eq!(
        h.git_repo(&alpha, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/trunk"
    );
    assert_eq!(
        h.git_repo(&alpha, &["rev-parse", "--is-bare-repository"])
            .trim(),
        "true"
    );
    assert_eq!(h.engine.repo_info(&alpha).await.expect("repo_info"), info);
    h.fsck(&alpha);

    let beta = h.init("beta").await;
    assert_eq!(
        h.git_repo(&beta, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/main"
    );
    let info = h.engine.repo_info(&beta).await.expect("repo_info");
    assert_eq!(info.default_branch, Some(branch("main")));
    assert!(info.empty);

    // The first commit makes the repository non-empty; HEAD still names main.
    let mut req = engine_commit(&h, "main", Some(Oid::ZERO), "a.txt", "a\n");
    req.start_point = None;
    let c = h
        .engine
        .commit_files(&beta, req)
        .await
        .expect("first commit");
    assert!(c.parents.is_empty(), "a root commit");
    let info = h.engine.repo_info(&beta).await.expect("repo_info");
    assert!(!info.empty);
    assert_eq!(h.rev(&beta, "HEAD"), c.oid);
    h.fsck(&beta);
}

/// A second `init_repo` of the same name is `AlreadyExists` and changes nothing.
pub async fn repo_init_already_exists(factory: Factory) {
    let h = Harness::new(&factory);
    let f = source_fixture(&h, "taken");
    let before = h.disk_snapshot();
    let res = h.engine.init_repo(&f.repo, InitOptions::default()).await;
    expect_kind(res, ErrorKind::AlreadyExists);
    assert_eq!(h.disk_snapshot(), before, "nothing on disk changed");

    let fresh = h.init("fresh").await;
    let res = h
        .engine
        .init_repo(
            &fresh,
            InitOptions {
                default_branch: Some(branch("other")),
            },
        )
        .await;
    expect_kind(res, ErrorKind::AlreadyExists);
    assert_eq!(
        h.git_repo(&fresh, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/main"
    );
}

/// `repo_info` of repositories made by the git CLI.
pub async fn repo_info_of_fixture(factory: Factory) {
    let h = Harness::new(&factory);
    let f = source_fixture(&h, "fix");
    let info = h.engine.repo_info(&f.repo).await.expect("repo_info");
    assert_eq!(
        info,
        RepoInfo {
            name: f.repo.clone(),
            default_branch: Some(branch("main")),
            empty: false,
            mirror: false,
        }
    );

    let bare = repo_name("cli-empty");
    let dir = h.repo_dir(&bare);
    h.git.run(
        h.data_dir(),
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "develop",
            dir.to_str().expect("UTF-8"),
        ],
    );
    let info = h.engine.repo_info(&bare).await.expect("repo_info");
    assert_eq!(info.default_branch, Some(branch("develop")));
    assert!(info.empty);
    assert!(!info.mirror);
}

/// Every operation on a repository that does not exist is `NotFound`, and creates nothing.
pub async fn repo_not_found(factory: Factory) {
    let h = Harness::new(&factory);
    let _ = h.init("present").await;
    let missing = repo_name("missing");
    let before = h.disk_snapshot();
    let e = &h.engine;
    expect_kind(e.repo_info(&missing).await, ErrorKind::NotFound);
    expect_kind(e.delete_repo(&missing).await, ErrorKind::NotFound);
    expect_kind(e.sync_mirror(&missing).await, ErrorKind::NotFound);
    expect_kind(e.gc(&missing).await, ErrorKind::NotFound);
    let key = ConfigKey::new("user.name").expect("allowed key");
    expect_kind(e.config_get(&missing, &key).await, ErrorKind::NotFound);
    expect_kind(e.config_set(&missing, &key, "x").await, ErrorKind::NotFound);
    expect_kind(e.config_list(&missing).await, ErrorKind::NotFound);
    expect_kind(
        e.list_refs(&missing, ListRefs::default()).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        e.get_ref(&missing, &branch("main")).await,
        ErrorKind::NotFound,
    );
    expect_kind(e.resolve(&missing, &rev("main")).await, ErrorKind::NotFound);
    expect_kind(
        e.log(&missing, LogQuery::of(rev("main"))).await.map(|_| ()),
        ErrorKind::NotFound,
    );
    let req = engine_commit(&h, "main", None, "a.txt", "a\n");
    expect_kind(e.commit_files(&missing, req).await, ErrorKind::NotFound);
    let w = WorkspaceName::default_workspace();
    expect_kind(e.workspace(&missing, &w).await, ErrorKind::NotFound);
    expect_kind(e.status(&missing, &w).await, ErrorKind::NotFound);
    expect_kind(e.list_workspaces(&missing).await, ErrorKind::NotFound);
    expect_kind(e.stash_list(&missing, &w).await, ErrorKind::NotFound);
    expect_kind(
        e.merge_base(&missing, &rev("a"), &rev("b")).await,
        ErrorKind::NotFound,
    );
    assert_eq!(h.disk_snapshot(), before, "nothing on disk changed");
}

/// `delete_repo` removes the repository and its workspaces, and only those.
pub async fn repo_delete(factory: Factory) {
    let h = Harness::new(&factory);
    let f = source_fixture(&h, "doomed");
    let keep = source_fixture(&h, "kept");
    let w = ws("scratchpad");
    h.engine
        .create_workspace(&f.repo, &w, None)
        .await
        .expect("create a workspace");
    assert!(
        h.ws_dir(&f.repo, &w).exists(),
        "the workspace has a work tree"
    );

    h.engine.delete_repo(&f.repo).await.expect("delete_repo");
    assert!(
        !h.repo_dir(&f.repo).exists(),
        "the repository directory is gone"
    );
    assert!(!h.ws_dir(&f.repo, &w).exists(), "the workspace is gone");
    expect_kind(h.engine.repo_info(&f.repo).await, ErrorKind::NotFound);
    expect_kind(h.engine.delete_repo(&f.repo).await, ErrorKind::NotFound);

    h.engine
        .repo_info(&keep.repo)
        .await
        .expect("the other repository stays");
    h.fsck(&keep.repo);
    // The name can be used again.
    let again = h.init("doomed").await;
    assert!(h.engine.repo_info(&again).await.expect("repo_info").empty);
}

fn heads_and_tags(h: &Harness, repo: &RepoName) -> String {
    h.git_repo(
        repo,
        &[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/heads",
            "refs/tags",
        ],
    )
}

/// A bare clone from a `file://` URL has the source's branches and tags and `HEAD`.
pub async fn repo_clone_bare(factory: Factory) {
    let h = Harness::new(&factory);
    let src = source_fixture(&h, "upstream");
    let copy = repo_name("copy");
    let info = h
        .engine
        .clone_repo(
            &copy,
            CloneOptions {
                url: local_url(&h.repo_url(&src.repo)),
                mirror: false,
            },
        )
        .await
        .expect("clone_repo");
    assert_eq!(
        info,
        RepoInfo {
            name: copy.clone(),
            default_branch: Some(branch("main")),
            empty: false,
            mirror: false,
        }
    );
    assert_eq!(heads_and_tags(&h, &copy), heads_and_tags(&h, &src.repo));
    assert_eq!(
        h.git_repo(&copy, &["rev-parse", "--is-bare-repository"])
            .trim(),
        "true"
    );
    assert_eq!(
        h.git_repo(&copy, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/main"
    );
    assert_eq!(h.engine.repo_info(&copy).await.expect("repo_info"), info);
    h.fsck(&copy);
}

/// Cloning onto an existing name is `AlreadyExists`; a clone that fails leaves nothing.
pub async fn repo_clone_already_exists(factory: Factory) {
    let h = Harness::new(&factory);
    let src = source_fixture(&h, "upstream");
    let taken = h.init("taken").await;
    let res = h
        .engine
        .clone_repo(
            &taken,
            CloneOptions {
                url: local_url(&h.repo_url(&src.repo)),
                mirror: false,
            },
        )
        .await;
    expect_kind(res, ErrorKind::AlreadyExists);
    assert!(h.engine.repo_info(&taken).await.expect("repo_info").empty);

    let nowhere = h.scratch("nowhere").join("absent.git");
    let failed = repo_name("failed");
    let res = h
        .engine
        .clone_repo(
            &failed,
            CloneOptions {
                url: local_url(&format!("file://{}", nowhere.display())),
                mirror: false,
            },
        )
        .await;
    expect_kinds(res, &[ErrorKind::NotFound, ErrorKind::Unavailable]);
    expect_kind(h.engine.repo_info(&failed).await, ErrorKind::NotFound);
    assert!(
        !h.repo_dir(&failed).exists(),
        "a failed clone leaves no directory"
    );
}

/// A mirror copies every ref; `sync_mirror` fetches again and prunes what is gone upstream.
pub async fn repo_mirror_sync_prune(factory: Factory) {
    let h = Harness::new(&factory);
    let src = source_fixture(&h, "upstream");
    let main_tip = h.rev(&src.repo, "main").to_string();
    h.git_repo(&src.repo, &["update-ref", "refs/custom/pinned", &main_tip]);
    let all = |r: &RepoName| h.git_repo(r, &["for-each-ref", "--format=%(refname) %(objectname)"]);

    let m = repo_name("mirror");
    let info = h
        .engine
        .clone_repo(
            &m,
            CloneOptions {
                url: local_url(&h.repo_url(&src.repo)),
                mirror: true,
            },
        )
        .await
        .expect("clone_repo mirror");
    assert!(info.mirror);
    assert!(!info.empty);
    assert_eq!(
        all(&m),
        all(&src.repo),
        "a mirror has every ref of the source"
    );
    h.fsck(&m);

    // Upstream moves: a branch is deleted, one advances, one is added.
    h.git_repo(&src.repo, &["update-ref", "-d", "refs/heads/gone"]);
    src.work.checkout("main");
    src.work.commit("third", &[("NEW.md", "new\n")]);
    src.work.branch("added");
    h.git_repo(&src.repo, &["update-ref", "-d", "refs/custom/pinned"]);
    src.work.git(&["branch", "-D", "gone"]);
    src.push(&h);
    assert!(!h.git_repo_ok(
        &src.repo,
        &["rev-parse", "--verify", "-q", "refs/heads/gone"]
    ));

    let info = h.engine.sync_mirror(&m).await.expect("sync_mirror");
    assert!(info.mirror);
    assert_eq!(
        all(&m),
        all(&src.repo),
        "after sync the mirror equals the source"
    );
    assert!(!h.git_repo_ok(&m, &["rev-parse", "--verify", "-q", "refs/heads/gone"]));
    assert!(!h.git_repo_ok(&m, &["rev-parse", "--verify", "-q", "refs/custom/pinned"]));
    h.fsck(&m);
}

/// `sync_mirror` of a repository that is not a mirror is `FailedPrecondition`.
pub async fn repo_sync_mirror_not_a_mirror(factory: Factory) {
    let h = Harness::new(&factory);
    let src = source_fixture(&h, "upstream");
    expect_kind(
        h.engine.sync_mirror(&src.repo).await,
        ErrorKind::FailedPrecondition,
    );
    let copy = repo_name("copy");
    h.engine
        .clone_repo(
            &copy,
            CloneOptions {
                url: local_url(&h.repo_url(&src.repo)),
                mirror: false,
            },
        )
        .await
        .expect("clone_repo");
    let before = h.refs_snapshot(&copy);
    expect_kind(
        h.engine.sync_mirror(&copy).await,
        ErrorKind::FailedPrecondition,
    );
    assert_eq!(h.refs_snapshot(&copy), before);
}

fn count_objects(h: &Harness, repo: &RepoName) -> BTreeMap<String, u64> {
    h.git_repo(repo, &["count-objects", "-v"])
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter_map(|(k, v)| v.trim().parse().ok().map(|v| (k.to_owned(), v)))
        .collect()
}

/// `gc` packs loose objects; its counts agree with `git count-objects -v`.
pub async fn repo_gc_packs_loose_objects(factory: Factory) {
    let h = Harness::new(&factory);
    let f = source_fixture(&h, "packme");
    let tip = h.rev(&f.repo, "main");
    let req = engine_commit(&h, "main", Some(tip), "more.txt", "more\n");
    h.engine
        .commit_files(&f.repo, req)
        .await
        .expect("commit_files");
    let before = count_objects(&h, &f.repo);
    assert!(
        before["count"] > 0,
        "the fixture has loose objects: {before:?}"
    );
    let refs = h.refs_snapshot(&f.repo);

    let out = h.engine.gc(&f.repo).await.expect("gc");
    let after = count_objects(&h, &f.repo);
    assert_eq!(
        out.loose_objects_before, before["count"],
        "loose objects before"
    );
    assert_eq!(
        out.loose_objects_after, after["count"],
        "loose objects after"
    );
    assert_eq!(out.packs_after, after["packs"], "packs after");
    assert_eq!(
        out.loose_objects_after, 0,
        "every object is reachable, so all are packed"
    );
    assert!(out.packs_after >= 1);
    assert_eq!(h.refs_snapshot(&f.repo), refs, "gc moves no ref");
    h.fsck(&f.repo);
    // Every commit is still readable.
    let log = gitapi_core::collect_log(h.engine.as_ref(), &f.repo, LogQuery::of(rev("main")))
        .await
        .expect("log after gc");
    let git_log = h.git_repo(&f.repo, &["rev-list", "main"]);
    let ours: Vec<String> = log.iter().map(|c| c.oid.to_string()).collect();
    let theirs: Vec<String> = git_log.lines().map(str::to_owned).collect();
    assert_eq!(ours, theirs);
}

/// The chunk ids of a commit-graph file and where each starts (git's format: an 8-byte header
/// whose 7th byte counts the chunks, then a table of 4-byte ids and 8-byte offsets).
fn commit_graph_chunks(file: &[u8]) -> Vec<([u8; 4], usize)> {
    assert_eq!(&file[..4], b"CGPH", "a commit-graph file");
    let count = usize::from(file[6]);
    (0..count)
        .map(|i| {
            let at = 8 + 12 * i;
            let id: [u8; 4] = file[at..at + 4].try_into().expect("4 bytes");
            let off: [u8; 8] = file[at + 4..at + 12].try_into().expect("8 bytes");
            (
                id,
                usize::try_from(u64::from_be_bytes(off)).expect("offset fits"),
            )
        })
        .collect()
}

/// `gc` leaves a commit-graph that `git commit-graph verify` accepts, with changed-path Bloom
/// filters (the `BIDX` and `BDAT` chunks, version 2) that git's log with a path reads.
pub async fn repo_gc_writes_bloom_filters(factory: Factory) {
    let h = Harness::new(&factory);
    let f = source_fixture(&h, "bloom");
    let r = &f.repo;
    h.engine.gc(r).await.expect("gc");
    let graph = h.repo_dir(r).join("objects/info/commit-graph");
    let bytes = std::fs::read(&graph).expect("gc wrote objects/info/commit-graph");
    let chunks = commit_graph_chunks(&bytes);
    let ids: Vec<&[u8]> = chunks.iter().map(|(id, _)| &id[..]).collect();
    assert!(ids.contains(&&b"BIDX"[..]), "a Bloom index chunk: {ids:?}");
    let bdat = chunks
        .iter()
        .find(|(id, _)| id == b"BDAT")
        .map(|(_, off)| *off)
        .expect("a Bloom data chunk");
    let version = u32::from_be_bytes(bytes[bdat..bdat + 4].try_into().expect("4 bytes"));
    assert_eq!(version, 2, "version 2 filters");
    assert!(
        h.git_repo_ok(r, &["commit-graph", "verify", "--no-progress"]),
        "git commit-graph verify"
    );
    // Git itself uses the filters: its trace counts commits they ruled out.
    let dir = h.repo_dir(r);
    let out = h.git.output_with(
        h.data_dir(),
        &[
            OsStr::new("--git-dir"),
            dir.as_os_str(),
            OsStr::new("log"),
            OsStr::new("--format=%H"),
            OsStr::new("main"),
            OsStr::new("--"),
            OsStr::new("src/lib.rs"),
        ],
        &[("GIT_TRACE2_PERF", OsStr::new("1"))],
        None,
    );
    let trace = String::from_utf8_lossy(&out.stderr);
    let ruled_out = trace
        .split("\"definitely_not\":")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<u64>().ok());
    assert!(
        ruled_out.is_some_and(|n| n > 0),
        "git log -- path reads the Bloom filters: {trace}"
    );
    // A second gc keeps them.
    h.engine.gc(r).await.expect("second gc");
    let bytes = std::fs::read(&graph).expect("commit-graph after a second gc");
    assert!(
        commit_graph_chunks(&bytes)
            .iter()
            .any(|(id, _)| id == b"BDAT"),
        "a second gc keeps the filters"
    );
}

/// `config_get`/`config_set`/`config_list` on allow-listed keys agree with `git config`.
pub async fn repo_config_get_set_list(factory: Factory) {
    let h = Harness::new(&factory);
    let f = source_fixture(&h, "cfg");
    let r = &f.repo;
    let key = |k: &str| ConfigKey::new(k).expect("allowed key");
    let git_get = |k: &str| {
        let out = h
            .git
            .output_in_git_dir(&h.repo_dir(r), &["config", "--local", "--get", k]);
        out.status.success().then(|| {
            String::from_utf8_lossy(&out.stdout)
                .trim_end_matches('\n')
                .to_owned()
        })
    };

    assert_eq!(
        h.engine
            .config_get(r, &key("user.name"))
            .await
            .expect("get"),
        None
    );
    assert_eq!(git_get("user.name"), None);

    h.engine
        .config_set(r, &key("user.name"), "Jane Q. Doe")
        .await
        .expect("set user.name");
    assert_eq!(git_get("user.name").as_deref(), Some("Jane Q. Doe"));
    h.engine
        .config_set(r, &key("GC.Auto"), "0")
        .await
        .expect("set gc.auto with mixed case");
    assert_eq!(git_get("gc.auto").as_deref(), Some("0"));
    h.engine
        .config_set(
            r,
            &key("gitapi.description"),
            "a repo  with spaces ; and # signs",
        )
        .await
        .expect("set gitapi.description");
    assert_eq!(
        git_get("gitapi.description").as_deref(),
        Some("a repo  with spaces ; and # signs")
    );
    h.engine
        .config_set(r, &key("user.name"), "Jane Doe")
        .await
        .expect("overwrite user.name");
    assert_eq!(git_get("user.name").as_deref(), Some("Jane Doe"));

    for k in [
        "user.name",
        "gc.auto",
        "GC.AUTO",
        "gitapi.description",
        "core.logallrefupdates",
    ] {
        let canonical = k.to_ascii_lowercase();
        assert_eq!(
            h.engine.config_get(r, &key(k)).await.expect("get"),
            git_get(&canonical),
            "config_get {k}"
        );
    }

    let mut ours: Vec<(String, String)> = h
        .engine
        .config_list(r)
        .await
        .expect("config_list")
        .into_iter()
        .map(|e| (e.key, e.value))
        .collect();
    ours.sort();
    let mut theirs: Vec<(String, String)> = h
        .git_repo(r, &["config", "--local", "--list"])
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| CONFIG_ALLOW_LIST.contains(&k.to_ascii_lowercase().as_str()))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    theirs.sort();
    assert_eq!(
        ours, theirs,
        "config_list equals the allow-listed part of git config --list"
    );
    assert!(ours.iter().any(|(k, _)| k == "user.name"));

    // A key off the allow-list cannot even be named (core refuses it).
    assert_eq!(
        ConfigKey::new("core.hooksPath")
            .expect_err("refused")
            .kind(),
        ErrorKind::PermissionDenied
    );
    h.fsck(r);
}
