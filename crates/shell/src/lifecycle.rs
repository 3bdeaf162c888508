//! Repository lifecycle and config: init, clone and delete by atomic rename (as the libgit2
//! engine does), mirror sync, gc, and the allow-listed config keys.

use std::path::Path;
use std::sync::Arc;

use gitapi_core::names::{CONFIG_ALLOW_LIST, check_config_value};
use gitapi_core::{
    CloneOptions, ConfigEntry, ConfigKey, Error, GcOutcome, InitOptions, RefName, RepoInfo,
    RepoName, Result,
};

use crate::Inner;
use crate::cmd::{Git, Sub};
use gitapi_storage::sync_fs;

use crate::repo::{Repo, io_err};
use crate::workspace::default_branch;

fn apply_defaults(inner: &Inner, dir: &Path) -> Result<()> {
    for (k, v) in gitapi_storage::REPO_DEFAULTS {
        Git::in_repo(dir, Sub::Config)
            .flag("--local")
            .arg(*k)
            .arg(*v)
            .ok(&inner.dog)?;
    }
    Ok(())
}

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
    apply_defaults(inner, &path)?;
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

pub(crate) fn clone(inner: &Arc<Inner>, repo: &RepoName, opts: &CloneOptions) -> Result<RepoInfo> {
    if inner.layout.repo_dir(repo).exists() {
        return Err(already_exists(repo));
    }
    let scratch = gitapi_storage::scratch_dir(&inner.layout)?;
    let path = scratch.path().join("repo.git");
    Git::new(Sub::Clone)
        .flag(if opts.mirror { "--mirror" } else { "--bare" })
        .flag("--no-local")
        .flag("--quiet")
        .arg(opts.url.as_str())
        .arg(path.as_os_str())
        .deadline(std::time::Duration::from_secs(3600))
        .ok(&inner.dog)?;
    apply_defaults(inner, &path)?;
    gitapi_storage::move_into_place(&inner.layout, repo, &path)?;
    info(&Repo::open(inner, repo)?)
}

/// The origin's URL, for the caller to check against the clone policy.
pub(crate) fn origin_url(repo: &Repo) -> Result<Option<String>> {
    Ok(config_list_all(repo)?
        .into_iter()
        .find(|(k, _)| k == "remote.origin.url")
        .map(|(_, v)| v))
}

pub(crate) fn sync_mirror(repo: &Repo) -> Result<RepoInfo> {
    let before = info(repo)?;
    if !before.mirror {
        return Err(Error::precondition(format!(
            "repository {:?} is not a mirror",
            repo.name.as_str()
        )));
    }
    repo.ok(repo
        .git(Sub::Fetch)
        .flag("--prune")
        .flag("--quiet")
        .arg("origin")
        .deadline(std::time::Duration::from_secs(3600)))?;
    info(repo)
}

fn count_objects(repo: &Repo) -> Result<(u64, u64)> {
    let out = repo.ok(repo.git(Sub::CountObjects).flag("-v"))?;
    let text = String::from_utf8_lossy(&out);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((field("count:"), field("packs:")))
}

pub(crate) fn gc(repo: &Repo) -> Result<GcOutcome> {
    let (loose_before, _) = count_objects(repo)?;
    repo.ok(repo
        .git(Sub::Gc)
        .flag("--quiet")
        .deadline(std::time::Duration::from_secs(3600)))?;
    // Packs changed under the warm cat-file processes.
    repo.inner.pool.forget(repo.path());
    let (loose_after, packs_after) = count_objects(repo)?;
    Ok(GcOutcome {
        loose_objects_before: loose_before,
        loose_objects_after: loose_after,
        packs_after,
    })
}

/// Every `key=value` of the repository's own config file, keys lowercase.
fn config_list_all(repo: &Repo) -> Result<Vec<(String, String)>> {
    let out = repo.ok(repo
        .git(Sub::Config)
        .flag("--local")
        .flag("--list")
        .flag("-z"))?;
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
    check_config_value(value)?;
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
