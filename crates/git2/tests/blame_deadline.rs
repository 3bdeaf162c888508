//! A libgit2-engine blame past its deadline answers `Timeout` and leaves no git process (and so
//! no blocking thread waiting on one) behind. Alone in its own binary: it looks at every git
//! process of the test process.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blame_timeout_leaves_no_git_process() {
    gitapi_testkit::conformance::blame_timeout_leaves_no_git_process(
        gitapi_testkit::conformance::Factory::from_fn(
            |o: gitapi_testkit::conformance::EngineOptions| {
                std::sync::Arc::new(gitapi_git2::Git2Backend::new(gitapi_git2::Config::new(
                    &o.data_dir,
                ))) as std::sync::Arc<dyn gitapi_core::GitBackend>
            },
        ),
    )
    .await;
}
