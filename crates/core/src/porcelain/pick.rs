//! The engine-independent rules of a cherry-pick or revert: which mainline a merge needs, when
//! the result is empty, and the author and message of the new commit, as `git cherry-pick` and
//! `git revert --no-edit` write them. An engine computes the tree its own way and asks here
//! for everything else.

use crate::error::{Error, Result};
use crate::model::Signature;
use crate::oid::Oid;
use crate::reflog;

/// A cherry-pick or a revert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// Apply a commit's change again (`git cherry-pick`).
    CherryPick,
    /// Apply a commit's change in reverse (`git revert`).
    Revert,
}

/// The commit picked or reverted, as an engine read it.
#[derive(Debug, Clone, Copy)]
pub struct Picked<'a> {
    /// Its id.
    pub oid: Oid,
    /// Its parents, in order.
    pub parents: &'a [Oid],
    /// Its author.
    pub author: &'a Signature,
    /// Its full message, as stored.
    pub message: &'a str,
}

impl Pick {
    /// The operation's name in errors: `cherry-pick` or `revert`.
    pub fn verb(self) -> &'static str {
        match self {
            Self::CherryPick => "cherry-pick",
            Self::Revert => "revert",
        }
    }

    /// The mainline (1-based parent number) to pick `commit` with, checked as git checks it:
    /// a merge needs one, and it must name a parent. `None` for a commit that is not a merge
    /// and was given none.
    pub fn mainline(commit: Oid, parents: usize, mainline: Option<u32>) -> Result<Option<u32>> {
        match (parents, mainline) {
            (n, None) if n > 1 => Err(Error::invalid(format!(
                "commit {commit} is a merge but no mainline was given"
            ))),
            (n, Some(m)) if m == 0 || m as usize > n => {
                Err(Error::invalid(format!("commit {commit} has no parent {m}")))
            }
            (_, m) => Ok(m),
        }
    }

    /// The error for a pick whose tree equals the tip's: git stops there too, with nothing to
    /// commit.
    pub fn would_be_empty(self, commit: Oid) -> Error {
        Error::precondition(format!("{} of {commit} would be empty", self.verb()))
    }

    /// The author and message of the new commit: a cherry-pick keeps the picked commit's; a
    /// revert is the committer's, with the message `git revert --no-edit` writes (naming the
    /// mainline parent for a merge).
    pub fn author_and_message(
        self,
        picked: &Picked<'_>,
        mainline: Option<u32>,
        committer: &Signature,
    ) -> Result<(Signature, String)> {
        match self {
            Self::CherryPick => Ok((picked.author.clone(), picked.message.to_owned())),
            Self::Revert => Ok((committer.clone(), revert_message(picked, mainline)?)),
        }
    }

    /// The reflog message for the new commit's message.
    pub fn reflog_message(self, message: &str) -> String {
        match self {
            Self::CherryPick => reflog::cherry_pick(message),
            Self::Revert => reflog::revert(message),
        }
    }
}

/// The subject git quotes in a revert: the first line of the message (`find_commit_subject`),
/// not the first paragraph joined as libgit2's `summary` gives it.
pub fn subject(message: &str) -> &str {
    message.lines().next().unwrap_or("")
}

/// `Revert "<subject>"`, a blank line, `This reverts commit <oid>.`, with `, reversing\nchanges
/// made to <parent>` before the period for a merge, exactly as `git revert --no-edit` words it.
fn revert_message(picked: &Picked<'_>, mainline: Option<u32>) -> Result<String> {
    let mut message = format!(
        "Revert \"{}\"\n\nThis reverts commit {}",
        subject(picked.message),
        picked.oid
    );
    if picked.parents.len() > 1 {
        let m = mainline.unwrap_or(1) as usize;
        let parent = m
            .checked_sub(1)
            .and_then(|i| picked.parents.get(i))
            .ok_or_else(|| Error::invalid(format!("commit {} has no parent {m}", picked.oid)))?;
        message.push_str(&format!(", reversing\nchanges made to {parent}"));
    }
    message.push_str(".\n");
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn id(byte: u8) -> Oid {
        Oid::from_hex(&format!("{byte:02x}").repeat(20)).expect("valid hex")
    }

    fn sig(name: &str) -> Signature {
        Signature {
            name: name.to_owned(),
            email: format!("{name}@example.com"),
            time: 1_700_000_000,
            offset_minutes: 60,
        }
    }

    #[test]
    fn a_revert_is_worded_as_git_revert_words_it() {
        let author = sig("author");
        let parents = [id(1)];
        let picked = Picked {
            oid: id(2),
            parents: &parents,
            author: &author,
            message: "line one\nline two\n\nbody\n",
        };
        let (who, message) = Pick::Revert
            .author_and_message(&picked, None, &sig("committer"))
            .expect("revert");
        assert_eq!(who, sig("committer"));
        assert_eq!(
            message,
            format!("Revert \"line one\"\n\nThis reverts commit {}.\n", id(2))
        );
    }

    #[test]
    fn a_merge_revert_names_the_mainline_parent() {
        let author = sig("author");
        let parents = [id(1), id(3)];
        let picked = Picked {
            oid: id(2),
            parents: &parents,
            author: &author,
            message: "Merge x\n",
        };
        let (_, message) = Pick::Revert
            .author_and_message(&picked, Some(2), &sig("committer"))
            .expect("revert");
        assert_eq!(
            message,
            format!(
                "Revert \"Merge x\"\n\nThis reverts commit {}, reversing\nchanges made to {}.\n",
                id(2),
                id(3)
            )
        );
    }

    #[test]
    fn a_cherry_pick_keeps_author_and_message() {
        let author = sig("author");
        let picked = Picked {
            oid: id(2),
            parents: &[],
            author: &author,
            message: "root\n\nbody\n",
        };
        let (who, message) = Pick::CherryPick
            .author_and_message(&picked, None, &sig("committer"))
            .expect("pick");
        assert_eq!((who, message.as_str()), (author, "root\n\nbody\n"));
    }

    #[test]
    fn mainline_is_checked_as_git_checks_it() {
        let err = Pick::mainline(id(2), 2, None).expect_err("a merge needs one");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        for bad in [0, 3] {
            let err = Pick::mainline(id(2), 2, Some(bad)).expect_err("no such parent");
            assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        }
        assert_eq!(Pick::mainline(id(2), 2, Some(2)).expect("valid"), Some(2));
        assert_eq!(Pick::mainline(id(2), 1, None).expect("valid"), None);
        assert_eq!(Pick::mainline(id(2), 0, None).expect("valid"), None);
    }

    #[test]
    fn empty_result_and_reflog_name_the_operation() {
        let err = Pick::Revert.would_be_empty(id(2));
        assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
        assert_eq!(
            Pick::CherryPick.reflog_message("subject\n\nbody"),
            reflog::cherry_pick("subject\n\nbody")
        );
        assert_eq!(
            Pick::Revert.reflog_message("Revert \"x\""),
            reflog::revert("Revert \"x\"")
        );
    }
}
