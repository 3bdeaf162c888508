//! Repository lifecycle and config: init, clone and delete by atomic rename (as the libgit2
//! engine does), mirror sync, gc, and the allow-listed config keys.

use std::sync::Arc;

use gitapi_core::names::{CONFIG_ALLOW_LIST, check_config_value};
use gitapi_core::{
    CloneOptions, ConfigEntry, ConfigKey, Error, GcOutcome, InitOptions, RefName, RepoInfo,
    RepoName, Result,
};

use crate::Inner;
use gitapi_gitcmd::{Git, Sub, maintenance};
use gitapi_storage::sync_fs;

use crate::repo::{Repo, io_err};
use crate::workspace::default_branch;

fn already_exists(repo: &RepoName) -> Error {
    Error::already_exists(format!("repository {:?} already exists", repo.as_str()))
}

pub(crate) fn init(inner: &Arc<Inner>, repo: &RepoName, opts: &InitOptions) -> Result<RepoInfo> {
    if inner.layout.repo_dir(repo).exists() {
        return Err(already_exists(repo));
    }
    let head = opts
        .default_branch
        .clone()
        .map_or_else(|| RefName::branch("main"), Ok)?;
    if !head.is_branch() {
        return Err(Error::invalid("default branch must be under refs/heads/"));
    }
    let scratch = gitapi_storage::scratch_dir(&inner.layout)?;
    let path = scratch.path().join("repo.git");
    Git::new(Sub::Init)
        .flag("--bare")
        .flag("-q")
        .arg(path.as_os_str())
        .ok(&inner.dog)?;
    // HEAD is written directly: `init -b` would take the name as an option value.
    std::fs::write(path.join("HEAD"), format!("ref: {}\n", head.as_str()))
        .map_err(io_err("writing HEAD"))?;
    maintenance::apply_defaults(&inner.dog, &path)?;
    gitapi_storage::move_into_place(&inner.layout, repo, &path)?;
    info(&Repo::open(inner, repo)?)
}

pub(crate) fn info(repo: &Repo) -> Result<RepoInfo> {
    let default_branch = default_branch(repo);
    let empty = match repo.current("HEAD")? {
        Some(_) => false,
        None => {
            let out = repo.ok(repo
                .git(Sub::ForEachRef)
                .flag("--count=1")
                .flag("--format=%(refname)")
                .arg("refs/"))?;
            out.iter().all(u8::is_ascii_whitespace)
        }
    };
    let mirror = config_list_all(repo)?
        .iter()
        .any(|(k, v)| k == "remote.origin.mirror" && v.eq_ignore_ascii_case("true"));
    Ok(RepoInfo {
        name: repo.name.clone(),
        default_branch,
        empty,
        mirror,
    })
}

pub(crate) fn delete(inner: &Arc<Inner>, repo: &RepoName) -> Result<()> {
    let dir = inner.layout.repo_dir(repo);
    inner.pool.forget(&dir);
    gitapi_storage::delete_repo(&inner.layout, repo)?;
    inner.pool.forget(&dir);
    Ok(())
}

/// Clone through the maintenance both engines share.
pub(crate) fn clone(inner: &Arc<Inner>, repo: &RepoName, opts: &CloneOptions) -> Result<RepoInfo> {
    maintenance::clone(
        &inner.dog,
        &inner.layout,
        inner.config.clone_policy,
        repo,
        opts,
    )?;
    info(&Repo::open(inner, repo)?)
}

/// Mirror sync through the maintenance both engines share.
pub(crate) fn sync_mirror(repo: &Repo) -> Result<RepoInfo> {
    let inner = &repo.inner;
    maintenance::sync_mirror(
        &inner.dog,
        &inner.layout,
        inner.config.clone_policy,
        &repo.name,
    )?;
    // Packs changed under the warm cat-file processes.
    inner.pool.forget(repo.path());
    info(repo)
}

/// gc through the maintenance both engines share.
pub(crate) fn gc(repo: &Repo) -> Result<GcOutcome> {
    let out = maintenance::gc(&repo.inner.dog, &repo.inner.layout, &repo.name);
    // Packs changed under the warm cat-file processes.
    repo.inner.pool.forget(repo.path());
    out
}

/// Every `key=value` of the repository's own config file, keys lowercase.
fn config_list_all(repo: &Repo) -> Result<Vec<(String, String)>> {
    maintenance::local_config(&repo.inner.dog, repo.path())
}

/// The allow-listed key as a static string (the key git sees is ours, not the caller's).
fn allowed_key(key: &ConfigKey) -> Result<&'static str> {
    let canonical = key.canonical();
    CONFIG_ALLOW_LIST
        .iter()
        .copied()
        .find(|k| *k == canonical)
        .ok_or_else(|| {
            Error::new(
                gitapi_core::ErrorKind::PermissionDenied,
                format!("config key {:?} is not on the allow-list", key.as_str()),
            )
        })
}

pub(crate) fn config_get(repo: &Repo, key: &ConfigKey) -> Result<Option<String>> {
    let k = allowed_key(key)?;
    Ok(config_list_all(repo)?
        .into_iter()
        .rev()
        .find(|(name, _)| name == k)
        .map(|(_, v)| v))
}

pub(crate) fn config_set(repo: &Repo, key: &ConfigKey, value: &str) -> Result<()> {
    check_config_value(key, value)?;
    let k = allowed_key(key)?;
    repo.ok(repo.git(Sub::Config).flag("--local").arg(k).arg(value))?;
    sync_fs(repo.path())
}

pub(crate) fn config_list(repo: &Repo) -> Result<Vec<ConfigEntry>> {
    let mut out: Vec<ConfigEntry> = Vec::new();
    for (key, value) in config_list_all(repo)? {
        if CONFIG_ALLOW_LIST.contains(&key.as_str()) {
            out.push(ConfigEntry { key, value });
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    // The last value of a key wins, as git reads it.
    out.reverse();
    out.dedup_by(|a, b| a.key == b.key);
    out.reverse();
    Ok(out)
}
