//! Batched commit reads: every `Commit` a query reaches by id (parents, blame hunks, objects)
//! is loaded through one [`DataLoader`] per request, which gathers the ids a level of the
//! query asks for and reads them with one [`RepoService::get_commits`] per repository. A list
//! of 100 commits with their parents costs one batch call, not 100 single reads.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};

use gitapi_core::{Commit, Error, Oid, RepoName};
use gitapi_service::RepoService;

use crate::caller::Caller;

/// Loads commits by `(repository, id)` through [`RepoService::get_commits`].
#[derive(Debug)]
pub(crate) struct CommitLoader {
    svc: RepoService,
    caller: Caller,
}

/// How long the loader gathers ids before it reads them. Resolving a level of a big list
/// (100 commits, each asking for its parents) is one pass, but the pass can take longer than
/// async-graphql's default of 1 ms, which then splits the level into several reads.
const GATHER: Duration = Duration::from_millis(10);

/// The loader of one request.
pub(crate) fn commit_loader(svc: RepoService, caller: Caller) -> DataLoader<CommitLoader> {
    DataLoader::new(CommitLoader { svc, caller }, tokio::spawn)
        .delay(GATHER)
        .max_batch_size(gitapi_core::PageRequest::MAX_LIMIT)
}

impl Loader<(RepoName, Oid)> for CommitLoader {
    type Value = Commit;
    type Error = Error;

    async fn load(
        &self,
        keys: &[(RepoName, Oid)],
    ) -> Result<HashMap<(RepoName, Oid), Commit>, Error> {
        // The loader authenticates like every resolver: it calls the service for the caller.
        let cx = self.caller.context(&self.svc)?;
        let mut by_repo: BTreeMap<&RepoName, Vec<Oid>> = BTreeMap::new();
        for (repo, oid) in keys {
            by_repo.entry(repo).or_default().push(*oid);
        }
        let mut out = HashMap::with_capacity(keys.len());
        for (repo, oids) in by_repo {
            let commits = self.svc.get_commits(&cx, repo, &oids).await?;
            for c in commits.into_iter().flatten() {
                out.insert((repo.clone(), c.oid), c);
            }
        }
        Ok(out)
    }
}
