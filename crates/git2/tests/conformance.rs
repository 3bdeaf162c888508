gitapi_testkit::conformance_suite!(|o: gitapi_testkit::conformance::EngineOptions| {
    let mut config = gitapi_git2::Config::new(&o.data_dir);
    config.signer = o.signer.map(std::sync::Arc::new);
    config.clone_policy = o.clone_policy;
    std::sync::Arc::new(gitapi_git2::Git2Backend::new(config))
        as std::sync::Arc<dyn gitapi_core::GitBackend>
});
