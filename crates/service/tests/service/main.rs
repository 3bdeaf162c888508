//! Integration tests of the service over the libgit2 engine: events, clone safety, limits and
//! deadlines, protection, and the engine switch.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use gitapi_core::*;
use gitapi_service::*;

struct Fixture {
    svc: RepoService,
    who: CallContext,
    switch: Arc<gitapi_switch::EngineSwitch>,
    repo: RepoName,
    _dir: tempfile::TempDir,
}

fn engine(dir: &std::path::Path) -> Arc<gitapi_switch::EngineSwitch> {
    Arc::new(gitapi_switch::EngineSwitch::new(
        Arc::new(gitapi_git2::Git2Backend::new(gitapi_git2::Config::new(dir))),
        Arc::new(gitapi_shell::ShellBackend::new(gitapi_shell::Config::new(
            dir,
        ))),
        gitapi_switch::EngineKind::Libgit2,
        gitapi_switch::CanaryConfig::default(),
    ))
}

fn sig() -> Signature {
    Signature::new("A U Thor", "author@example.com", 1_700_000_000, 0).expect("a valid signature")
}

fn put(path: &str, content: &str) -> FileAction {
    FileAction::Put {
        path: RepoPath::new(path).expect("path"),
        content: Bytes::from(content.to_owned()),
        mode: None,
    }
}

fn commit_req(expected: Option<Oid>, actions: Vec<FileAction>) -> CommitFiles {
    CommitFiles {
        branch: RefName::branch("main").expect("branch"),
        expected_tip: expected,
        start_point: None,
        actions,
        message: "m".into(),
        author: sig(),
        committer: None,
        signing: Signing::None,
        allow_empty: false,
    }
}

async fn fixture(tweak: impl FnOnce(&mut ServiceConfig)) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServiceConfig::new(dir.path());
    tweak(&mut config);
    let switch = engine(dir.path());
    let svc = RepoService::new(config, Arc::clone(&switch));
    let who = CallContext::new(svc.authenticate(None).expect("open mode"), Door::Internal);
    let repo = RepoName::new("demo").expect("name");
    svc.create_repo(&who, &repo, RepoSource::Empty(InitOptions::default()))
        .await
        .expect("create");
    Fixture {
        svc,
        who,
        switch,
        repo,
        _dir: dir,
    }
}

#[tokio::test]
async fn ref_changes_are_published() -> Result<()> {
    let f = fixture(|_| {}).await;
    let mut events = f.svc.subscribe(&f.who, None);
    let main = RefName::branch("main")?;
    let c1 = f
        .svc
        .commit_files(
            &f.who,
            &f.repo,
            commit_req(Some(Oid::ZERO), vec![put("a", "1")]),
        )
        .await?;
    let c2 = f
        .svc
        .commit_files(
            &f.who,
            &f.repo,
            commit_req(Some(c1.oid), vec![put("a", "2")]),
        )
        .await?;
    let side = RefName::branch("side")?;
    f.svc
        .create_branch(&f.who, &f.repo, &side, &Rev::from(c1.oid))
        .await?;
    f.svc.delete_ref(&f.who, &f.repo, &side, None).await?;

    let got: Vec<Event> = (0..4)
        .map(|_| events.try_recv().ok().flatten().expect("an event"))
        .collect();
    assert!(
        got.windows(2).all(|w| w[0].id < w[1].id),
        "event numbers increase"
    );
    let got: Vec<Change> = got.into_iter().map(|e| e.change).collect();
    let expect = |r: &RefName, old, new, kind| {
        Change::Ref(RefEvent {
            repo: f.repo.clone(),
            refname: r.clone(),
            old,
            new,
            kind,
        })
    };
    assert_eq!(
        got,
        vec![
            expect(&main, None, Some(c1.oid), RefChangeKind::Created),
            expect(&main, Some(c1.oid), Some(c2.oid), RefChangeKind::Updated),
            expect(&side, None, Some(c1.oid), RefChangeKind::Created),
            expect(&side, Some(c1.oid), None, RefChangeKind::Deleted),
        ]
    );
    // A refused write publishes nothing.
    let err = f
        .svc
        .commit_files(
            &f.who,
            &f.repo,
            commit_req(Some(c1.oid), vec![put("a", "3")]),
        )
        .await
        .err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::Conflict));
    assert!(matches!(events.try_recv(), Ok(None)));
    Ok(())
}

#[tokio::test]
async fn clone_sources_that_resolve_locally_are_refused() {
    let resolver: Resolver = Arc::new(|host: String, _port: u16| {
        Box::pin(async move {
            let ip: IpAddr = match host.as_str() {
                "sneaky.example" => "10.1.2.3".parse().expect("ip"),
                "mixed.example" => "fd00::1".parse().expect("ip"),
                _ => "93.184.215.14".parse().expect("ip"),
            };
            Ok(vec![ip])
        }) as ResolveFuture
    });
    for (url, refused) in [
        ("https://sneaky.example/x.git", true),
        ("https://mixed.example/x.git", true),
        ("http://127.0.0.1/x", true),
        ("file:///etc", true),
        ("https://public.example/x.git", false),
    ] {
        let out = check_remote(url, false, &resolver).await;
        match (refused, out) {
            (true, Err(e)) => assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{url}"),
            (false, Ok(_)) => {}
            (r, out) => panic!("{url}: expected refused={r}, got {out:?}"),
        }
    }
    // With local sources allowed nothing is resolved or refused.
    assert!(
        check_remote("https://sneaky.example/x.git", true, &resolver)
            .await
            .is_ok()
    );
    assert!(
        check_remote("file:///srv/x.git", true, &resolver)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn blobs_over_the_limit_are_refused() -> Result<()> {
    let f = fixture(|c| c.limits.max_blob_bytes = 8).await;
    let err = f
        .svc
        .commit_files(
            &f.who,
            &f.repo,
            commit_req(Some(Oid::ZERO), vec![put("a", "123456789")]),
        )
        .await
        .err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::TooLarge));
    let ws = WorkspaceName::default_workspace();
    let err = f
        .svc
        .put_file(
            &f.who,
            &f.repo,
            &ws,
            &RepoPath::new("a")?,
            Bytes::from_static(b"123456789"),
            None,
        )
        .await
        .err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::TooLarge));
    Ok(())
}

#[tokio::test]
async fn protection_survives_a_restart_and_guards_every_move() -> Result<()> {
    let f = fixture(|_| {}).await;
    let c1 = f
        .svc
        .commit_files(
            &f.who,
            &f.repo,
            commit_req(Some(Oid::ZERO), vec![put("a", "1")]),
        )
        .await?;
    let c2 = f
        .svc
        .commit_files(
            &f.who,
            &f.repo,
            commit_req(Some(c1.oid), vec![put("a", "2")]),
        )
        .await?;
    let rule = ProtectionRule {
        pattern: RefPattern::new("refs/heads/ma*")?,
        no_force_push: true,
        no_deletion: true,
        require_signed_commits: false,
    };
    f.svc.protect(&f.who, &f.repo, rule).await?;
    // A new service over the same data directory reads the rules back.
    let svc = RepoService::new(ServiceConfig::new(f._dir.path()), engine(f._dir.path()));
    let main = RefName::branch("main")?;
    let back = RefUpdate {
        name: main.clone(),
        new: c1.oid,
        expected_old: Some(c2.oid),
    };
    let err = svc.update_refs(&f.who, &f.repo, vec![back]).await.err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::PermissionDenied));
    let err = svc.delete_ref(&f.who, &f.repo, &main, None).await.err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::PermissionDenied));
    assert_eq!(svc.get_ref(&f.who, &f.repo, &main).await?.target, c2.oid);
    let p = svc
        .unprotect(&f.who, &f.repo, &RefPattern::new("refs/heads/ma*")?)
        .await?;
    assert!(p.rules.is_empty());
    svc.delete_ref(&f.who, &f.repo, &main, Some(c2.oid)).await?;
    Ok(())
}

#[tokio::test]
async fn switching_the_engine_keeps_serving() -> Result<()> {
    let f = fixture(|_| {}).await;
    let before = f.switch.lease();
    assert!(f.switch.switch(gitapi_switch::EngineKind::Shell));
    assert_eq!(before.name(), "libgit2", "a lease keeps its engine");
    assert_eq!(f.switch.lease().name(), "shell");
    let info = f.svc.repo_info(&f.who, &f.repo).await?;
    assert!(info.empty);
    Ok(())
}

mod funnel {
    //! The funnel: observers, scoped events, streams that hold their lease, and formatting
    //! that leases nothing.

    use std::sync::Mutex;

    use futures::StreamExt;

    use super::*;

    #[derive(Debug, Default)]
    struct Recorder(Mutex<Vec<OpRecord>>);

    impl Observer for Recorder {
        fn finished(&self, record: &OpRecord) {
            self.0.lock().expect("recorder").push(record.clone());
        }
    }

    #[tokio::test]
    async fn every_operation_reaches_the_observers_with_its_outcome() -> Result<()> {
        let dir = tempfile::tempdir().expect("tempdir");
        let recorder = Arc::new(Recorder::default());
        let svc = RepoService::builder(ServiceConfig::new(dir.path()), engine(dir.path()))
            .observer(recorder.clone())
            .build();
        let cx = CallContext::new(svc.authenticate(None)?, Door::Grpc);
        let repo = RepoName::new("obs")?;
        svc.create_repo(&cx, &repo, RepoSource::Empty(InitOptions::default()))
            .await?;
        svc.commit_files(&cx, &repo, commit_req(Some(Oid::ZERO), vec![put("a", "1")]))
            .await?;
        let missing = svc
            .get_ref(&cx, &repo, &RefName::branch("nope")?)
            .await
            .err();
        assert_eq!(missing.map(|e| e.kind()), Some(ErrorKind::NotFound));
        let seen = recorder.0.lock().expect("recorder").clone();
        let ops: Vec<(&str, OpKind, Option<ErrorKind>)> =
            seen.iter().map(|r| (r.op, r.kind, r.error)).collect();
        assert_eq!(
            ops,
            vec![
                ("create_repo", OpKind::Write, None),
                ("commit_files", OpKind::Write, None),
                ("get_ref", OpKind::Read, Some(ErrorKind::NotFound)),
            ]
        );
        assert!(
            seen.iter()
                .all(|r| r.door == Door::Grpc && r.engine == "libgit2" && r.repo == repo)
        );
        Ok(())
    }

    #[tokio::test]
    async fn events_are_shown_only_to_callers_who_may_read_the_repository() -> Result<()> {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = ServiceConfig::new(dir.path());
        let admin_secret = "admin-secret-0123456789";
        let reader_secret = "reader-secret-0123456789";
        config.tokens = vec![
            TokenGrant::new(
                "admin",
                admin_secret,
                Scope::Admin,
                vec![RepoPattern::new("*")?],
            )?,
            TokenGrant::new(
                "reader",
                reader_secret,
                Scope::Read,
                vec![RepoPattern::new("open")?],
            )?,
        ];
        let svc = RepoService::new(config, engine(dir.path()));
        let as_ = |secret: &str| -> Result<CallContext> {
            let who = svc.authenticate(Some(format!("Bearer {secret}").as_bytes()))?;
            Ok(CallContext::new(who, Door::Stream))
        };
        let admin = as_(admin_secret)?;
        let reader = as_(reader_secret)?;
        let (open, closed) = (RepoName::new("open")?, RepoName::new("closed")?);
        let mut all = svc.subscribe(&reader, None);
        let mut one = svc.subscribe_repo(&reader, &open, None)?;
        let refused = svc.subscribe_repo(&reader, &closed, None).err();
        assert_eq!(refused.map(|e| e.kind()), Some(ErrorKind::PermissionDenied));
        for r in [&closed, &open] {
            svc.create_repo(&admin, r, RepoSource::Empty(InitOptions::default()))
                .await?;
            svc.commit_files(&admin, r, commit_req(Some(Oid::ZERO), vec![put("a", "1")]))
                .await?;
        }
        for sub in [&mut all, &mut one] {
            let mut seen = Vec::new();
            while let Ok(Some(e)) = sub.try_recv() {
                seen.push(e.change);
            }
            // The open repository's creation and its first branch, nothing of the closed one.
            assert!(
                matches!(
                    &seen[..],
                    [
                        Change::Repo(RepoEvent { repo: a, kind: RepoChangeKind::Created }),
                        Change::Ref(RefEvent { repo: b, kind: RefChangeKind::Created, .. }),
                    ] if *a == open && *b == open
                ),
                "{seen:?}"
            );
        }
        Ok(())
    }

    #[tokio::test]
    async fn a_log_stream_holds_its_engine_lease_until_it_ends() -> Result<()> {
        let f = fixture(|_| {}).await;
        let mut tip = Oid::ZERO;
        for i in 0..3 {
            let c = f
                .svc
                .commit_files(
                    &f.who,
                    &f.repo,
                    commit_req(Some(tip), vec![put("a", &i.to_string())]),
                )
                .await?;
            tip = c.oid;
        }
        let in_flight = |f: &Fixture| f.switch.status().in_flight.values().sum::<usize>();
        let mut log = f
            .svc
            .log_stream(&f.who, &f.repo, LogQuery::of(Rev::from(tip)))
            .await?;
        assert_eq!(in_flight(&f), 1, "the open stream holds a lease");
        let mut n = 0;
        while let Some(c) = log.next().await {
            c?;
            n += 1;
        }
        assert_eq!(n, 3);
        assert_eq!(in_flight(&f), 0, "the ended stream let its lease go");
        Ok(())
    }

    #[tokio::test]
    async fn formatting_the_service_leases_no_engine() -> Result<()> {
        let f = fixture(|_| {}).await;
        let served = |f: &Fixture| f.switch.status().served.values().sum::<u64>();
        let before = served(&f);
        let text = format!("{:?}", f.svc);
        assert!(text.contains("libgit2"));
        assert_eq!(served(&f), before);
        Ok(())
    }
}
