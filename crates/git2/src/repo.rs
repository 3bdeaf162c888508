//! Repository lifecycle and config.

use gitapi_core::{
    ConfigEntry, ConfigKey, Error, InitOptions, Layout, RefName, RepoInfo, RepoName, Result,
    names::CONFIG_ALLOW_LIST,
};

use crate::convert::map_err;

pub(crate) fn open_bare(layout: &Layout, repo: &RepoName) -> Result<git2::Repository> {
    let path = layout.repo_dir(repo);
    if !path.join("HEAD").is_file() {
        return Err(Error::not_found(format!(
            "repository {:?} does not exist",
            repo.as_str()
        )));
    }
    git2::Repository::open_bare(&path).map_err(map_err(format_args!("opening repository {repo:?}")))
}

fn apply_defaults(repo: &git2::Repository) -> Result<()> {
    let mut cfg = repo.config().map_err(map_err("opening config"))?;
    for (k, v) in gitapi_storage::REPO_DEFAULTS {
        cfg.set_str(k, v).map_err(map_err("writing config"))?;
    }
    Ok(())
}

pub(crate) fn init(layout: &Layout, repo: &RepoName, opts: &InitOptions) -> Result<RepoInfo> {
    if layout.repo_dir(repo).exists() {
        return Err(Error::already_exists(format!(
            "repository {:?} already exists",
            repo.as_str()
        )));
    }
    let head = opts
        .default_branch
        .clone()
        .map_or_else(|| RefName::branch("main"), Ok)?;
    if !head.is_branch() {
        return Err(Error::invalid("default branch must be under refs/heads/"));
    }
    let scratch = gitapi_storage::scratch_dir(layout)?;
    let path = scratch.path().join("repo.git");
    let mut init = git2::RepositoryInitOptions::new();
    init.bare(true).initial_head(head.as_str()).mkpath(true);
    let r =
        git2::Repository::init_opts(&path, &init).map_err(map_err("initialising repository"))?;
    apply_defaults(&r)?;
    drop(r);
    gitapi_storage::move_into_place(layout, repo, &path)?;
    info(&open_bare(layout, repo)?, repo)
}

pub(crate) fn info(r: &git2::Repository, name: &RepoName) -> Result<RepoInfo> {
    let default_branch = r
        .find_reference("HEAD")
        .ok()
        .and_then(|h| h.symbolic_target().ok().flatten().map(str::to_owned))
        .and_then(|t| RefName::new(t).ok());
    // libgit2's is_empty only knows `master` and init.defaultBranch as unborn names; a
    // repository is empty when it has no ref at all.
    let empty = r
        .references()
        .map_err(map_err("reading refs"))?
        .next()
        .is_none();
    let mirror = r
        .config()
        .and_then(|c| c.get_bool("remote.origin.mirror"))
        .unwrap_or(false);
    Ok(RepoInfo {
        name: name.clone(),
        default_branch,
        empty,
        mirror,
    })
}

fn local_config(r: &git2::Repository) -> Result<git2::Config> {
    r.config()
        .and_then(|c| c.open_level(git2::ConfigLevel::Local))
        .map_err(map_err("opening config"))
}

pub(crate) fn config_get(r: &git2::Repository, key: &ConfigKey) -> Result<Option<String>> {
    let cfg = local_config(r)?;
    match cfg.get_string(&key.canonical()) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(map_err("reading config")(e)),
    }
}

pub(crate) fn config_set(r: &git2::Repository, key: &ConfigKey, value: &str) -> Result<()> {
    gitapi_core::names::check_config_value(key, value)?;
    let mut cfg = local_config(r)?;
    cfg.set_str(&key.canonical(), value)
        .map_err(map_err("writing config"))?;
    gitapi_storage::sync_fs(r.path())
}

pub(crate) fn config_list(r: &git2::Repository) -> Result<Vec<ConfigEntry>> {
    let cfg = local_config(r)?;
    let mut out = Vec::new();
    let mut entries = cfg.entries(None).map_err(map_err("reading config"))?;
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(map_err("reading config"))?;
        let (Ok(name), Ok(value)) = (entry.name(), entry.value()) else {
            continue;
        };
        let key = name.to_ascii_lowercase();
        if CONFIG_ALLOW_LIST.contains(&key.as_str()) {
            out.push(ConfigEntry {
                key,
                value: value.to_owned(),
            });
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out.dedup_by(|a, b| a.key == b.key);
    Ok(out)
}
