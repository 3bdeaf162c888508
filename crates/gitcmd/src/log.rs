//! The log walk both engines run through git: `git rev-list [--first-parent] [--skip] [-n]
//! REVS [-- PATH]`, or `git log --follow` for rename following, printing one commit id a line.
//!
//! The CLI engine walks every log this way. The libgit2 engine walks a log *with a path* this
//! way too: libgit2 cannot read the commit-graph's changed-path Bloom filters, so its own
//! path-limited walk diffs a tree per commit, while git skips almost every commit whose filter
//! says the path did not change (see `docs/architecture.md`, "Logs with a path"). Git's
//! history simplification is the answer either way, since git computes it.
//!
//! Revisions are resolved by the engine before the walk, so git only ever sees object ids.

use std::path::Path;

use gitapi_core::{Error, LogQuery, Oid, Result};

use crate::command::{Git, Sub, Value};
use crate::watchdog::Watchdog;

/// What to walk, with every revision already resolved to a commit id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// Everything reachable from the commit.
    Single(Oid),
    /// Reachable from the second, not from the first (`A..B`).
    TwoDot(Oid, Oid),
    /// Reachable from either, not from both (`A...B`).
    ThreeDot(Oid, Oid),
}

/// The command of a walk: `rev-list` (or `log --follow --format=%H`) with the query's options,
/// the revisions after `--end-of-options` and the path as a literal pathspec.
pub fn command(git_dir: &Path, walk: Walk, q: &LogQuery) -> Result<Git> {
    if q.follow && q.path.is_none() {
        return Err(Error::invalid("follow needs a path"));
    }
    let mut g = if q.follow {
        Git::in_repo(git_dir, Sub::Log)
            .flag("--follow")
            .flag("--format=%H")
            .flag("--no-color")
    } else {
        Git::in_repo(git_dir, Sub::RevList)
    };
    if q.first_parent {
        g = g.flag("--first-parent");
    }
    if q.offset > 0 {
        g = g.opt("--skip=", Value::Num(q.offset as u64));
    }
    if q.limit > 0 {
        g = g.opt("--max-count=", Value::Num(q.limit as u64));
    }
    g = match walk {
        Walk::Single(a) => g.arg(a.to_string()),
        Walk::TwoDot(a, b) => g.arg(format!("^{a}")).arg(b.to_string()),
        Walk::ThreeDot(a, b) => g.arg(format!("{a}...{b}")),
    };
    if let Some(p) = &q.path {
        g = g.path(p.as_str());
    }
    Ok(g)
}

/// Runs the walk and hands each commit id to `on_id`, in git's order, until it answers
/// `false` (git is then stopped and its exit status ignored) or git ends; git failing is the
/// error its stderr classifies.
pub fn walk_ids(
    dog: &Watchdog,
    git_dir: &Path,
    walk: Walk,
    q: &LogQuery,
    mut on_id: impl FnMut(Oid) -> Result<bool>,
) -> Result<()> {
    let mut stopped = false;
    let out = command(git_dir, walk, q)?.stream_lines(dog, |line| {
        let oid = Oid::from_hex(String::from_utf8_lossy(line).trim())?;
        let go_on = on_id(oid)?;
        stopped = !go_on;
        Ok(go_on)
    })?;
    if out.code != 0 && !stopped {
        return Err(out.error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitapi_core::{RepoPath, Rev, RevRange};

    fn query() -> LogQuery {
        LogQuery {
            range: RevRange::Single(Rev::new("main").expect("valid rev")),
            path: Some(RepoPath::new("-n/x").expect("valid path")),
            limit: 5,
            offset: 2,
            first_parent: true,
            follow: false,
        }
    }

    /// Caller values only ever appear after `--end-of-options` or `--`.
    #[test]
    fn revisions_and_path_are_positional() {
        let a = Oid::from_hex("1111111111111111111111111111111111111111").expect("hex");
        let b = Oid::from_hex("2222222222222222222222222222222222222222").expect("hex");
        let argv = command(Path::new("/r.git"), Walk::TwoDot(a, b), &query())
            .expect("command")
            .argv();
        let argv: Vec<String> = argv
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        let at = |s: &str| argv.iter().position(|x| x == s).expect(s);
        assert!(at("rev-list") < at("--first-parent"));
        assert!(argv.contains(&"--skip=2".to_owned()));
        assert!(argv.contains(&"--max-count=5".to_owned()));
        assert!(at("--end-of-options") < at(&format!("^{a}")));
        assert!(at(&b.to_string()) < at("--"));
        assert_eq!(argv.last().map(String::as_str), Some("-n/x"));
    }

    #[test]
    fn follow_needs_a_path() {
        let mut q = query();
        q.path = None;
        q.follow = true;
        let a = Oid::from_hex("1111111111111111111111111111111111111111").expect("hex");
        let e = command(Path::new("/r.git"), Walk::Single(a), &q).expect_err("refused");
        assert_eq!(e.kind(), gitapi_core::ErrorKind::InvalidArgument);
    }
}
