//! The maintenance both engines run through the git CLI, written once: clone and mirror (libgit2
//! is built here without an HTTPS stack), mirror sync with pruning, and gc (libgit2 has none).
//!
//! Each function works on paths from the data directory's [`Layout`] and answers what git
//! did; the engine then reads the repository's new state its own way and forgets whatever it
//! kept warm (pooled handles, `cat-file` processes), since refs and packs changed under them.

use std::path::Path;
use std::time::Duration;

use gitapi_core::{
    CloneOptions, ClonePolicy, Error, GcOutcome, Layout, RemoteUrl, RepoName, Result,
};

use crate::command::{Git, Sub};
use crate::watchdog::Watchdog;

/// The own limit of a clone, fetch or gc (the caller's deadline still applies to a clone).
pub const MAINTENANCE_LIMIT: Duration = Duration::from_secs(3600);

/// Writes [`gitapi_storage::REPO_DEFAULTS`] into a repository's own config.
pub fn apply_defaults(dog: &Watchdog, dir: &Path) -> Result<()> {
    for (k, v) in gitapi_storage::REPO_DEFAULTS {
        Git::in_repo(dir, Sub::Config)
            .flag("--local")
            .arg(*k)
            .arg(*v)
            .ok(dog)?;
    }
    Ok(())
}

/// Every `key=value` of a repository's own config file, keys lowercase, in file order.
pub fn local_config(dog: &Watchdog, dir: &Path) -> Result<Vec<(String, String)>> {
    let out = Git::in_repo(dir, Sub::Config)
        .flag("--local")
        .flag("--list")
        .flag("-z")
        .ok(dog)?;
    Ok(out
        .split(|b| *b == 0)
        .filter(|e| !e.is_empty())
        .map(|e| {
            let text = String::from_utf8_lossy(e);
            match text.split_once('\n') {
                Some((k, v)) => (k.to_ascii_lowercase(), v.to_owned()),
                None => (text.to_ascii_lowercase(), String::new()),
            }
        })
        .collect())
}

fn already_exists(repo: &RepoName) -> Error {
    Error::already_exists(format!("repository {:?} already exists", repo.as_str()))
}

/// Clones `opts.url` into a new repository `repo` (bare, or a mirror): built in scratch space
/// with the service's defaults, then moved into place atomically. The URL is checked again
/// against `policy`, so a door that forgot cannot widen it.
pub fn clone(
    dog: &Watchdog,
    layout: &Layout,
    policy: ClonePolicy,
    repo: &RepoName,
    opts: &CloneOptions,
) -> Result<()> {
    RemoteUrl::parse(opts.url.as_str(), policy)?;
    if layout.repo_dir(repo).exists() {
        return Err(already_exists(repo));
    }
    let scratch = gitapi_storage::scratch_dir(layout)?;
    let path = scratch.path().join("repo.git");
    Git::new(Sub::Clone)
        // The policy checked this URL's host, not where a redirect would lead (a public host
        // that answers 302 to a private address); a source that moved must be named anew.
        .config("http.followRedirects=false")
        // Objects git fsck refuses (a `.git` spelled for HFS+ or NTFS, a `.gitmodules` with a
        // traversing name) never enter the data directory; every repository already refuses
        // them on push (`receive.fsckObjects`).
        .config("transfer.fsckObjects=true")
        .flag(if opts.mirror { "--mirror" } else { "--bare" })
        .flag("--no-local")
        .flag("--quiet")
        .arg(opts.url.as_str())
        .arg(path.as_os_str())
        .limit(MAINTENANCE_LIMIT)
        .ok(dog)
        .map_err(clone_error)?;
    refuse_unsupported_format(dog, &path)?;
    apply_defaults(dog, &path)?;
    gitapi_storage::move_into_place(layout, repo, &path)
}

/// Refuses a clone whose source uses an object format other than SHA-1 (a repository made
/// with `git init --object-format=sha256`): the libgit2 build here reads SHA-1 repositories
/// only, and a repository one engine cannot open would break a switch of engines. The check
/// runs on the clone in scratch space, before anything enters the data directory, so the
/// refusal leaves nothing behind (the scratch space goes when it is dropped).
fn refuse_unsupported_format(dog: &Watchdog, dir: &Path) -> Result<()> {
    let config = local_config(dog, dir)?;
    let format = config
        .iter()
        .rev()
        .find(|(k, _)| k == "extensions.objectformat")
        .map(|(_, v)| v.to_ascii_lowercase());
    match format.as_deref() {
        None | Some("sha1") => Ok(()),
        Some(other) => Err(Error::precondition(format!(
            "the source repository uses the {other} object format; only sha1 repositories are \
             supported"
        ))),
    }
}

/// Fetches a mirror from its origin with `--prune`: `FailedPrecondition` when the repository is
/// not a mirror; the origin URL is checked against `policy` first.
pub fn sync_mirror(
    dog: &Watchdog,
    layout: &Layout,
    policy: ClonePolicy,
    repo: &RepoName,
) -> Result<()> {
    let dir = layout.repo_dir(repo);
    if !dir.join("HEAD").is_file() {
        return Err(Error::not_found(format!(
            "repository {:?} does not exist",
            repo.as_str()
        )));
    }
    let config = local_config(dog, &dir)?;
    let value = |key: &str| {
        config
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    if !value("remote.origin.mirror").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Err(Error::precondition(format!(
            "repository {:?} is not a mirror",
            repo.as_str()
        )));
    }
    if let Some(url) = value("remote.origin.url") {
        RemoteUrl::parse(url, policy)?;
    }
    Git::in_repo(&dir, Sub::Fetch)
        .config("http.followRedirects=false")
        .config("transfer.fsckObjects=true")
        .flag("--prune")
        .flag("--quiet")
        .arg("origin")
        .limit(MAINTENANCE_LIMIT)
        .ok(dog)
        .map_err(clone_error)?;
    gitapi_storage::sync_fs(&dir)
}

/// A failed clone or fetch as the caller sees it: without the credentials of any URL in its
/// message (git prints the URL it failed on), and a source whose objects fail git's checks
/// as the caller's problem (`FailedPrecondition`), not the server's.
fn clone_error(e: Error) -> Error {
    let shown = gitapi_core::redact_urls_in(e.message());
    if shown.contains("fsck error") || shown.contains("fsck-objects") {
        return Error::precondition(format!("the source has objects git fsck refuses: {shown}"));
    }
    if shown == e.message() {
        return e;
    }
    Error::new(e.kind(), shown)
}

fn count_objects(dog: &Watchdog, dir: &Path) -> Result<(u64, u64)> {
    let out = Git::in_repo(dir, Sub::CountObjects).flag("-v").ok(dog)?;
    let text = String::from_utf8_lossy(&out);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((field("count:"), field("packs:")))
}

/// `git gc` of a repository, then its commit-graph with changed-path Bloom filters; answers the
/// loose objects before and after and the packs after.
///
/// The Bloom filters are what make a log with a path fast on a long history: git skips every
/// commit whose filter says the path did not change instead of diffing its tree (both engines
/// run such logs through git, [`crate::log`]).
pub fn gc(dog: &Watchdog, layout: &Layout, repo: &RepoName) -> Result<GcOutcome> {
    let dir = layout.repo_dir(repo);
    if !dir.join("HEAD").is_file() {
        return Err(Error::not_found(format!(
            "repository {:?} does not exist",
            repo.as_str()
        )));
    }
    let (loose_before, _) = count_objects(dog, &dir)?;
    Git::in_repo(&dir, Sub::Gc)
        // The graph is written below, with Bloom filters; gc's own write would be thrown away.
        .config("gc.writeCommitGraph=false")
        .flag("--quiet")
        .limit(MAINTENANCE_LIMIT)
        .ok(dog)?;
    write_commit_graph(dog, &dir)?;
    let (loose_after, packs_after) = count_objects(dog, &dir)?;
    Ok(GcOutcome {
        loose_objects_before: loose_before,
        loose_objects_after: loose_after,
        packs_after,
    })
}

/// `git commit-graph write --reachable --changed-paths`: one graph file of every reachable
/// commit with a changed-path Bloom filter each. Filters already in the old graph are reused,
/// so after the first time only new commits cost a diff.
///
/// Version 2 filters hash paths with bytes above 0x7f as murmur3 means to (version 1 hashes
/// them as signed chars, which git's documentation calls a bug).
pub fn write_commit_graph(dog: &Watchdog, dir: &Path) -> Result<()> {
    Git::in_repo(dir, Sub::CommitGraph)
        .config("commitGraph.changedPathsVersion=2")
        .flag("write")
        .flag("--reachable")
        .flag("--changed-paths")
        .flag("--no-progress")
        .limit(MAINTENANCE_LIMIT)
        .ok(dog)?;
    Ok(())
}
