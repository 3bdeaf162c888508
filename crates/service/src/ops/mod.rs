//! The operations, one file per area. Each is a few lines over the funnel: enter it, run the
//! engine call (and the policy checks of the area), record the refs it moved, finish.

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
