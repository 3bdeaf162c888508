gitapi_testkit::conformance_suite!(|dir: &std::path::Path| std::sync::Arc::new(
    gitapi_git2::Git2Backend::new(gitapi_git2::Config::new(dir))
)
    as std::sync::Arc<dyn gitapi_core::GitBackend>);
