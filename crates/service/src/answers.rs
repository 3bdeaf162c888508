//! Answers from the cache: reads whose answer is fixed by object ids are computed once.
//!
//! A cached read's key is the SHA-256 of:
//!
//! - the operation's name and its request as the door sent it (revision names included, so an
//!   answer that echoes them, like a diff's id, is the answer to that exact request);
//! - the repository's **incarnation** (its directories' inodes and birth time): a repository
//!   deleted and made again under the same name has a new one, so it never sees the answers of
//!   the old one;
//! - the object id every revision of the request resolves to **now**.
//!
//! The last part is what makes an entry never stale: once `main` moves, a request naming
//! `main` resolves to another commit and so to another key, while an answer about a commit
//! id stays true for ever (objects are immutable). Such entries go to every cache level,
//! the persistent store and Redis included.
//!
//! Resolving a revision is itself ref-dependent: it is kept in memory only, keyed by the
//! repository's **ref version**, which every write bumps (any door, pushes included) before
//! its answer leaves. With Redis the version is a shared counter, read on every cached request
//! and incremented by every write on any node, so a node never resolves with another node's
//! old refs.

use std::collections::HashMap;
use std::path::Path;

use bytes::Bytes;
use gitapi_cache::Cache;
use gitapi_core::{Layout, Oid, RepoName, Rev};
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

/// The cache of answers, the ref versions and the repositories' incarnations.
#[derive(Debug)]
pub(crate) struct Answers {
    cache: Cache,
    layout: Layout,
    /// Local ref versions, used when no Redis is shared.
    versions: Mutex<HashMap<RepoName, u64>>,
    /// Incarnations read from disk, with the ref version they were read at: any write (a
    /// delete and create included) bumps the version and so makes them read again.
    incarnations: Mutex<HashMap<RepoName, (u64, String)>>,
}

/// How a request was answered, for its span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Hit,
    Miss,
    Bypass,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Bypass => "bypass",
        }
    }
}

impl Answers {
    pub(crate) fn new(cache: Cache, layout: Layout) -> Self {
        Self {
            cache,
            layout,
            versions: Mutex::new(HashMap::new()),
            incarnations: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn cache(&self) -> &Cache {
        &self.cache
    }

    pub(crate) fn enabled(&self) -> bool {
        self.cache.is_enabled()
    }

    fn counter_key(repo: &RepoName) -> String {
        format!("refver:{repo}")
    }

    /// The repository's ref version; `None` when it cannot be known (Redis unreachable):
    /// then nothing may be answered from the cache.
    pub(crate) async fn version(&self, repo: &RepoName) -> Option<u64> {
        if self.cache.is_shared() {
            return self.cache.get_counter(&Self::counter_key(repo)).await.ok();
        }
        Some(self.versions.lock().get(repo).copied().unwrap_or(0))
    }

    /// Bumps the ref version here (synchronous; every write does it when it ends).
    pub(crate) fn bump_local(&self, repo: &RepoName) {
        *self.versions.lock().entry(repo.clone()).or_default() += 1;
    }

    /// Bumps the ref version here and, with Redis, for every node: called when a write lands,
    /// before its answer leaves.
    pub(crate) async fn bump(&self, repo: &RepoName) {
        self.bump_local(repo);
        if self.cache.is_shared()
            && let Err(error) = self.cache.incr(&Self::counter_key(repo)).await
        {
            // The other nodes cannot learn of this write through Redis: they go on reading
            // the counter and will bypass the cache only if Redis is down for them too. Said
            // loudly, since their resolutions of this repository may now be one write behind.
            tracing::error!(%repo, %error, "cache: bumping the shared ref version failed");
        }
    }

    /// The repository's incarnation ([`incarnation_of`]); `None` when it does not exist (the
    /// engine will say so).
    pub(crate) fn incarnation(&self, repo: &RepoName, version: u64) -> Option<String> {
        if let Some((at, id)) = self.incarnations.lock().get(repo)
            && *at == version
        {
            return Some(id.clone());
        }
        let id = incarnation_of(&self.layout.repo_dir(repo))?;
        self.incarnations
            .lock()
            .insert(repo.clone(), (version, id.clone()));
        Some(id)
    }

    /// The memory key of a revision's resolution at a ref version.
    pub(crate) fn resolution_key(
        repo: &RepoName,
        incarnation: &str,
        version: u64,
        rev: &Rev,
    ) -> Vec<u8> {
        format!("rev\0{repo}\0{incarnation}\0{version}\0{rev}").into_bytes()
    }

    pub(crate) fn resolved(&self, key: &[u8]) -> Option<Oid> {
        Oid::from_slice(&self.cache.get_memory(key)?)
    }

    pub(crate) fn remember_resolution(&self, key: &[u8], oid: Oid) {
        self.cache
            .put_memory(key, Bytes::copy_from_slice(oid.as_bytes()));
    }
}

/// The key of an answer (see the module doc).
pub(crate) fn answer_key(op: &str, incarnation: &str, request: &[u8], oids: &[Oid]) -> Vec<u8> {
    let mut h = Sha256::new();
    for part in [op.as_bytes(), incarnation.as_bytes(), request] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    for oid in oids {
        h.update(oid.as_bytes());
    }
    let mut key = b"answer:".to_vec();
    key.extend_from_slice(hex::encode(h.finalize()).as_bytes());
    key
}

/// A full object id written as a revision names itself: it needs no resolving.
pub(crate) fn as_full_oid(rev: &Rev) -> Option<Oid> {
    Oid::from_hex(rev.as_str()).ok()
}

/// The incarnation of the repository in `dir`: its directory's device and inode, and the
/// inode and birth time of its `objects` directory, which git makes once, at `init`, and never
/// replaces. A repository deleted and made again gets new ones (an inode may be reused, not
/// with the same birth time). Where the file system keeps no birth time, the `objects`
/// directory's change time stands in: it moves more often (a new loose-object directory), which
/// costs hits, never correctness. Nothing is written: a read leaves the repository as it was.
fn incarnation_of(dir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    let repo = std::fs::metadata(dir).ok()?;
    let objects = std::fs::metadata(dir.join("objects")).ok()?;
    let born = objects
        .created()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or_else(|| {
            (objects.ctime() as u128) * 1_000_000_000 + objects.ctime_nsec() as u128
        });
    Some(format!(
        "{:x}-{:x}-{:x}-{born:x}",
        repo.dev(),
        repo.ino(),
        objects.ino()
    ))
}

impl crate::service::RepoService {
    /// `compute`'s answer, from the cache when it holds it (see the module doc): `request` is
    /// what the door asked (serialized into the key), `revs` every revision in it.
    /// Errors are never cached, and a request that cannot be keyed (Redis unreachable, a
    /// revision that does not resolve, a missing repository) runs uncached, so the engine
    /// gives its own answer.
    pub(crate) async fn cached<T, F>(
        &self,
        op: &crate::funnel::Op,
        repo: &RepoName,
        request: &impl serde::Serialize,
        revs: &[&Rev],
        compute: F,
    ) -> gitapi_core::Result<T>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
        F: std::future::Future<Output = gitapi_core::Result<T>>,
    {
        let answers = self.answers();
        if !answers.enabled() {
            return compute.await;
        }
        let Some(key) = self.answer_key(op, repo, request, revs).await else {
            gitapi_telemetry::note_cache(Outcome::Bypass.as_str());
            return compute.await;
        };
        let cache = answers.cache();
        // Memory keeps answers decoded: a hit is a clone, not a parse of the JSON.
        if let Some(answer) = cache.get_value::<T>(&key) {
            gitapi_telemetry::note_cache(Outcome::Hit.as_str());
            return Ok(T::clone(&answer));
        }
        if let Some(bytes) = cache.get_below_memory(&key).await
            && let Ok(answer) = serde_json::from_slice::<T>(&bytes)
        {
            gitapi_telemetry::note_cache(Outcome::Hit.as_str());
            cache.put_memory_value(&key, std::sync::Arc::new(answer.clone()), bytes.len());
            return Ok(answer);
        }
        gitapi_telemetry::note_cache(Outcome::Miss.as_str());
        let out = compute.await;
        if let Ok(answer) = &out
            && let Ok(bytes) = serde_json::to_vec(answer)
        {
            cache.put_value(
                &key,
                std::sync::Arc::new(answer.clone()),
                Bytes::from(bytes),
            );
        }
        out
    }

    /// `compute`'s answer for a read that depends on the refs themselves (a ref list, the
    /// ref advertisement, where `HEAD` points), from this node's memory when it was computed
    /// at the repository's current ref version. Such answers go to memory only: a ref version
    /// means nothing after a restart (local versions start again at 0), and every write bumps
    /// it before its answer leaves, so an entry is never read after the refs it saw changed.
    pub(crate) async fn cached_at_version<T, F>(
        &self,
        op: &crate::funnel::Op,
        repo: &RepoName,
        request: &impl serde::Serialize,
        compute: F,
    ) -> gitapi_core::Result<T>
    where
        T: serde::Serialize + Clone + Send + Sync + 'static,
        F: std::future::Future<Output = gitapi_core::Result<T>>,
    {
        let Some(key) = self.version_key(op, repo, request).await else {
            return compute.await;
        };
        let cache = self.answers().cache();
        if let Some(answer) = cache.get_value::<T>(&key) {
            gitapi_telemetry::note_cache(Outcome::Hit.as_str());
            return Ok(T::clone(&answer));
        }
        gitapi_telemetry::note_cache(Outcome::Miss.as_str());
        let out = compute.await;
        if let Ok(answer) = &out {
            // Weighed by its JSON, as answers are (see `Cache::put_value`).
            let weight = serde_json::to_vec(answer).map_or(0, |b| b.len());
            cache.put_memory_value(&key, std::sync::Arc::new(answer.clone()), weight);
        }
        out
    }

    /// The memory key of a ref-dependent answer at the repository's current ref version;
    /// `None` (and a bypass counted) when the cache is off or the version cannot be known.
    pub(crate) async fn version_key(
        &self,
        op: &crate::funnel::Op,
        repo: &RepoName,
        request: &impl serde::Serialize,
    ) -> Option<Vec<u8>> {
        let answers = self.answers();
        if !answers.enabled() {
            return None;
        }
        let key = async {
            let version = answers.version(repo).await?;
            let incarnation = answers.incarnation(repo, version)?;
            let request = serde_json::to_vec(request).ok()?;
            let mut key =
                format!("atver\0{}\0{repo}\0{incarnation}\0{version}\0", op.name()).into_bytes();
            key.extend_from_slice(&request);
            Some(key)
        }
        .await;
        if key.is_none() {
            gitapi_telemetry::note_cache(Outcome::Bypass.as_str());
        }
        key
    }

    async fn answer_key(
        &self,
        op: &crate::funnel::Op,
        repo: &RepoName,
        request: &impl serde::Serialize,
        revs: &[&Rev],
    ) -> Option<Vec<u8>> {
        let answers = self.answers();
        let version = answers.version(repo).await?;
        let incarnation = answers.incarnation(repo, version)?;
        let mut oids = Vec::with_capacity(revs.len());
        for rev in revs {
            let oid = match as_full_oid(rev) {
                Some(oid) => oid,
                None => {
                    let key = Answers::resolution_key(repo, &incarnation, version, rev);
                    match answers.resolved(&key) {
                        Some(oid) => oid,
                        None => {
                            let oid = op.run(op.e.resolve(repo, rev)).await.ok()?;
                            answers.remember_resolution(&key, oid);
                            oid
                        }
                    }
                }
            };
            oids.push(oid);
        }
        let request = serde_json::to_vec(request).ok()?;
        Some(answer_key(op.name(), &incarnation, &request, &oids))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repository_made_again_under_its_name_has_a_new_incarnation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("r.git");
        assert_eq!(incarnation_of(&repo), None, "no repository");
        std::fs::create_dir_all(repo.join("objects")).expect("mkdir");
        let first = incarnation_of(&repo).expect("an incarnation");
        assert_eq!(
            incarnation_of(&repo).as_deref(),
            Some(first.as_str()),
            "stable"
        );
        std::fs::write(repo.join("packed-refs"), "").expect("a write in the repository");
        assert_eq!(
            incarnation_of(&repo).as_deref(),
            Some(first.as_str()),
            "writes keep it"
        );
        std::fs::remove_dir_all(&repo).expect("delete");
        std::fs::create_dir_all(repo.join("objects")).expect("mkdir");
        assert_ne!(incarnation_of(&repo).expect("made again"), first);
    }

    #[test]
    fn keys_differ_by_every_part() {
        let a: Oid = "1111111111111111111111111111111111111111"
            .parse()
            .expect("oid");
        let b: Oid = "2222222222222222222222222222222222222222"
            .parse()
            .expect("oid");
        let base = answer_key("blame", "inc", b"{}", &[a]);
        assert_ne!(base, answer_key("diff", "inc", b"{}", &[a]));
        assert_ne!(base, answer_key("blame", "inc2", b"{}", &[a]));
        assert_ne!(base, answer_key("blame", "inc", b"{ }", &[a]));
        assert_ne!(base, answer_key("blame", "inc", b"{}", &[b]));
        // Lengths are framed: moving a byte between parts changes the key.
        assert_ne!(
            answer_key("ab", "c", b"", &[]),
            answer_key("a", "bc", b"", &[])
        );
    }
}
