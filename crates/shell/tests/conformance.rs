gitapi_testkit::conformance_suite!(|o: gitapi_testkit::conformance::EngineOptions| {
    let mut config = gitapi_shell::Config::new(o.data_dir);
    config.signer = o.signer.map(std::sync::Arc::new);
    config.clone_policy = o.clone_policy;
    std::sync::Arc::new(gitapi_shell::ShellBackend::new(config))
        as std::sync::Arc<dyn gitapi_core::GitBackend>
});
