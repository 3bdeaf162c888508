//! The operations, one file per area. Each is a few lines over the funnel: enter it, run the
//! engine call (and the policy checks of the area), record the refs it moved, finish.

pub(crate) mod archive;
mod commits;
mod files;
mod history;
pub(crate) mod live;
mod merge;
mod refs;
mod repos;
pub(crate) mod transport;
mod workspaces;

pub use live::{LIVE_BUFFER, LiveBlameQuery, LiveLogQuery, LiveUpdate};
pub use repos::RepoSource;

use gitapi_core::{Error, ErrorKind, RepoName, Result, Rev};

use crate::funnel::Op;

/// Whether `err`, from reading `rev`, is `HEAD` naming a branch with no commit yet (a new
/// repository, or one whose default branch was never pushed). Reads of `HEAD`'s history and
/// root tree then answer empty, as a user of an empty repository expects, instead of
/// `NotFound`; any other revision that does not resolve, `HEAD~1` or the unborn branch's
/// own name included, stays `NotFound`. Asked only on that error path, so it costs nothing
/// when `HEAD` resolves.
pub(crate) async fn unborn_head(op: &Op, repo: &RepoName, rev: &Rev, err: &Error) -> Result<bool> {
    if err.kind() != ErrorKind::NotFound || rev.as_str() != "HEAD" {
        return Ok(false);
    }
    let Some(branch) = op.e.repo_info(repo).await?.default_branch else {
        return Ok(false);
    };
    match op.e.get_ref(repo, &branch).await {
        Ok(_) => Ok(false),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}
