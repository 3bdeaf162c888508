//! Streaming a 64 MiB blob keeps this process's memory bounded. Alone in its own binary: it
//! measures the whole test process.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_blob_memory_is_bounded() {
    let figures = gitapi_testkit::conformance::stream_blob_memory_is_bounded(
        gitapi_testkit::conformance::Factory::from_fn(
            |o: gitapi_testkit::conformance::EngineOptions| {
                std::sync::Arc::new(gitapi_git2::Git2Backend::new(gitapi_git2::Config::new(
                    &o.data_dir,
                ))) as std::sync::Arc<dyn gitapi_core::GitBackend>
            },
        ),
    )
    .await;
    assert_eq!(figures.len(), 2, "loose and packed");
}
