//! The operations, one file per area. Each is a few lines over the funnel: enter it, run the
//! engine call (and the policy checks of the area), record the refs it moved, finish.

mod commits;
mod files;
mod history;
mod merge;
mod refs;
mod repos;
pub(crate) mod transport;
mod workspaces;

pub use repos::RepoSource;
