//! Protection rules on ref patterns, kept by the service in the data directory
//! (`<data>/state/protections/<repo>.json`) and enforced on every write that moves a ref.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Deserializer, Serialize};

use gitapi_core::{Error, ErrorKind, RefName, RepoName, Result};

use crate::auth::glob_match;

/// A ref pattern: a full ref name in which `*` matches any run of characters, including `/`
/// (`refs/heads/main`, `refs/heads/release/*`, `refs/tags/*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RefPattern(String);

impl RefPattern {
    /// Validates a pattern: with each `*` read as a letter, it must be a valid ref name.
    pub fn new(s: &str) -> Result<Self> {
        let as_name = s.replace('*', "x");
        if s.len() <= 1024 && as_name.starts_with("refs/") && RefName::new(as_name).is_ok() {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::invalid(format!("ref pattern {s:?} is not valid")))
        }
    }

    /// The pattern text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `name` matches.
    pub fn matches(&self, name: &RefName) -> bool {
        glob_match(&self.0, name.as_str())
    }
}

impl<'de> Deserialize<'de> for RefPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

/// What a protection rule forbids on the refs its pattern matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProtectionRule {
    /// The refs it applies to.
    pub pattern: RefPattern,
    /// Refuse moves to a commit that does not descend from the current one (force-push,
    /// amend, rebase, reset backwards).
    #[serde(default)]
    pub no_force_push: bool,
    /// Refuse deletion (and renaming away).
    #[serde(default)]
    pub no_deletion: bool,
    /// Refuse new commits that carry no signature.
    #[serde(default)]
    pub require_signed_commits: bool,
}

/// The rules that apply to one ref, folded together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Effective {
    pub(crate) no_force_push: bool,
    pub(crate) no_deletion: bool,
    pub(crate) require_signed_commits: bool,
}

impl Effective {
    pub(crate) fn any(self) -> bool {
        self.no_force_push || self.no_deletion || self.require_signed_commits
    }
}

/// The rules of one repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Protections {
    /// The rules, sorted by pattern.
    pub rules: Vec<ProtectionRule>,
}

impl Protections {
    /// The folded rules for `name`.
    pub(crate) fn for_ref(&self, name: &RefName) -> Effective {
        self.rules.iter().filter(|r| r.pattern.matches(name)).fold(
            Effective::default(),
            |acc, r| Effective {
                no_force_push: acc.no_force_push || r.no_force_push,
                no_deletion: acc.no_deletion || r.no_deletion,
                require_signed_commits: acc.require_signed_commits || r.require_signed_commits,
            },
        )
    }
}

/// Errors of the protection store.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("reading protections of {repo:?} failed")]
    Read {
        repo: String,
        #[source]
        source: std::io::Error,
    },
    #[error("protections file of {repo:?} is corrupt")]
    Parse {
        repo: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("writing protections of {repo:?} failed")]
    Write {
        repo: String,
        #[source]
        source: std::io::Error,
    },
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = ?e, "protection store");
        Error::new(ErrorKind::Internal, e.to_string())
    }
}

/// Loads and saves rules, with an in-memory copy per repository.
#[derive(Debug)]
pub(crate) struct ProtectionStore {
    dir: PathBuf,
    cache: Mutex<HashMap<RepoName, Arc<Protections>>>,
}

impl ProtectionStore {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn file(&self, repo: &RepoName) -> PathBuf {
        self.dir.join(format!("{}.json", repo.as_str()))
    }

    fn cached(&self, repo: &RepoName) -> Option<Arc<Protections>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(repo)
            .cloned()
    }

    fn remember(&self, repo: &RepoName, p: Arc<Protections>) {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(repo.clone(), p);
    }

    /// The rules of `repo` (none when it has no file).
    pub(crate) async fn get(&self, repo: &RepoName) -> Result<Arc<Protections>> {
        if let Some(p) = self.cached(repo) {
            return Ok(p);
        }
        let path = self.file(repo);
        let name = repo.to_string();
        let loaded = tokio::task::spawn_blocking(move || -> Result<Protections, StoreError> {
            match std::fs::read(&path) {
                Ok(bytes) => serde_json::from_slice(&bytes)
                    .map_err(|source| StoreError::Parse { repo: name, source }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Protections::default()),
                Err(source) => Err(StoreError::Read { repo: name, source }),
            }
        })
        .await
        .map_err(|e| Error::internal(format!("protection load task failed: {e}")))??;
        let p = Arc::new(loaded);
        self.remember(repo, Arc::clone(&p));
        Ok(p)
    }

    /// Replaces the rules of `repo`, durably (written aside, fsynced, renamed into place).
    /// Called under the repository's exclusive lock.
    pub(crate) async fn put(&self, repo: &RepoName, p: Protections) -> Result<()> {
        let (dir, path, name) = (self.dir.clone(), self.file(repo), repo.to_string());
        let empty = p.rules.is_empty();
        let bytes = serde_json::to_vec_pretty(&p)
            .map_err(|e| Error::internal(format!("encoding protections failed: {e}")))?;
        tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
            let write = |source| StoreError::Write {
                repo: name.clone(),
                source,
            };
            if empty {
                return match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(write(e)),
                    _ => Ok(()),
                };
            }
            std::fs::create_dir_all(&dir).map_err(write)?;
            let tmp = path.with_extension("json.tmp");
            {
                use std::io::Write as _;
                let mut f = std::fs::File::create(&tmp).map_err(write)?;
                f.write_all(&bytes).map_err(write)?;
                f.sync_all().map_err(write)?;
            }
            std::fs::rename(&tmp, &path).map_err(write)?;
            std::fs::File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(write)?;
            Ok(())
        })
        .await
        .map_err(|e| Error::internal(format!("protection save task failed: {e}")))??;
        self.remember(repo, Arc::new(p));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() -> Result<()> {
        let p = RefPattern::new("refs/heads/release/*")?;
        assert!(p.matches(&RefName::branch("release/1.0")?));
        assert!(p.matches(&RefName::branch("release/a/b")?));
        assert!(!p.matches(&RefName::branch("main")?));
        assert!(RefPattern::new("heads/main").is_err());
        assert!(RefPattern::new("refs/heads/../x").is_err());
        assert!(RefPattern::new("refs/heads/a..b").is_err());
        Ok(())
    }

    #[test]
    fn rules_fold() -> Result<()> {
        let p = Protections {
            rules: vec![
                ProtectionRule {
                    pattern: RefPattern::new("refs/heads/*")?,
                    no_force_push: true,
                    no_deletion: false,
                    require_signed_commits: false,
                },
                ProtectionRule {
                    pattern: RefPattern::new("refs/heads/main")?,
                    no_force_push: false,
                    no_deletion: true,
                    require_signed_commits: false,
                },
            ],
        };
        let main = p.for_ref(&RefName::branch("main")?);
        assert!(main.no_force_push && main.no_deletion && !main.require_signed_commits);
        let dev = p.for_ref(&RefName::branch("dev")?);
        assert!(dev.no_force_push && !dev.no_deletion);
        assert!(!p.for_ref(&RefName::tag("v1")?).any());
        Ok(())
    }
}
