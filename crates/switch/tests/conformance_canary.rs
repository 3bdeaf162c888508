//! The engine conformance suite run through a strict `Canary(libgit2, shell)`: every answer the
//! suite checks comes from libgit2, and every read is also run on the CLI engine and compared
//! before the answer is returned (a mismatch fails the test). So the decorator generated from
//! the list of operations forwards every operation faithfully, and the two engines agree on
//! every read the suite makes.

gitapi_testkit::conformance_suite!(|o: gitapi_testkit::conformance::EngineOptions| {
    let signer = o.signer.map(std::sync::Arc::new);
    let mut git2 = gitapi_git2::Config::new(&o.data_dir);
    git2.signer = signer.clone();
    git2.clone_policy = o.clone_policy;
    let mut shell = gitapi_shell::Config::new(&o.data_dir);
    shell.signer = signer;
    shell.clone_policy = o.clone_policy;
    std::sync::Arc::new(gitapi_switch::Canary::strict(
        std::sync::Arc::new(gitapi_git2::Git2Backend::new(git2)),
        std::sync::Arc::new(gitapi_shell::ShellBackend::new(shell)),
    )) as std::sync::Arc<dyn gitapi_core::GitBackend>
});
