//! The reflog messages and identity of every ref gitapi moves, defined once for every engine.
//!
//! An audit trail must not depend on which engine served a write, so both engines take the
//! message of each operation from here and record it under [`IDENTITY`]. Where git has an
//! equivalent command, the message is the one git writes for it:
//!
//! | operation | message |
//! |---|---|
//! | commit (actions or index) | `commit: <subject>`, `commit (initial): <subject>` without parent |
//! | amend | `commit (amend): <subject>` |
//! | cherry-pick | `cherry-pick: <subject>` |
//! | revert | `revert: <subject of the new commit>`, i.e. `revert: Revert "<subject>"` |
//! | reset | `reset: moving to <rev>` |
//! | merge | `merge <source>: Fast-forward`, `merge <source>: Merge made by the 'ort' strategy.` |
//! | rebase | `rebase (finish): <branch> onto <oid>` |
//! | branch create | `branch: Created from <rev>` |
//! | branch rename | `Branch: renamed <from> to <to>` |
//! | stash | `On <branch>: <message>`, `WIP on <branch>: <abbrev> <subject>` |
//!
//! Two have no git equivalent: git writes no reflog for a tag unless
//! `core.logAllRefUpdates=always`, and then `tag: tagging <abbrev> (<subject>, <date>)`, whose
//! abbreviation and date format depend on the repository and the clock; we write
//! `tag: tagging <oid>` with the full id. A batch of ref updates (`update_refs`) is
//! `update-ref`, the name of the plumbing command that does the same.
//!
//! `revert` follows `git revert` (`revert: Revert "x"`), not `git commit` after
//! `git revert --no-commit` (`commit: Revert "x"`): the reflog then says which operation moved
//! the branch.
//!
//! Every message is normalised as git normalises reflog messages (whitespace runs become one
//! space, leading and trailing whitespace dropped), so a message is one line and both engines
//! write the same bytes whatever the library underneath does with newlines.

use crate::names::{RefName, Rev};
use crate::oid::Oid;

/// Who a reflog entry says moved the ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReflogIdentity {
    /// The name (`%gn`).
    pub name: &'static str,
    /// The email (`%ge`).
    pub email: &'static str,
}

/// The identity of every reflog entry gitapi writes, except a stash entry, which is recorded
/// under the stasher as `git stash` does.
pub const IDENTITY: ReflogIdentity = ReflogIdentity {
    name: "gitapi",
    email: "gitapi@localhost",
};

/// `msg` as git stores a reflog message: runs of whitespace become one space, leading and
/// trailing whitespace is dropped (git's `normalize_reflog_message`). NUL cannot be stored
/// either and is dropped.
pub fn normalize(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    for word in msg.split(|c: char| c.is_ascii_whitespace() || c == '\0') {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The first line of a commit message, the part git puts in a reflog message.
fn first_line(message: &str) -> &str {
    message.lines().find(|l| !l.trim().is_empty()).unwrap_or("")
}

fn with_subject(prefix: &str, message: &str) -> String {
    normalize(&format!("{prefix}: {}", first_line(message)))
}

/// A commit made from a list of file actions; `initial` when it has no parent.
pub fn commit_from_actions(message: &str, initial: bool) -> String {
    commit(message, initial)
}

/// A commit made from a workspace's index; `initial` when it has no parent.
pub fn commit_from_index(message: &str, initial: bool) -> String {
    commit(message, initial)
}

fn commit(message: &str, initial: bool) -> String {
    with_subject(
        if initial {
            "commit (initial)"
        } else {
            "commit"
        },
        message,
    )
}

/// An amended commit, from the message of the new commit.
pub fn amend(message: &str) -> String {
    with_subject("commit (amend)", message)
}

/// A cherry-pick, from the message of the new commit.
pub fn cherry_pick(message: &str) -> String {
    with_subject("cherry-pick", message)
}

/// A revert, from the message of the new commit (`Revert "<subject>"`).
pub fn revert(message: &str) -> String {
    with_subject("revert", message)
}

/// A branch reset to `to`, as the caller named it.
pub fn reset(to: &Rev) -> String {
    normalize(&format!("reset: moving to {}", to.as_str()))
}

/// A merge of `source` that fast-forwarded the target.
pub fn merge_fast_forward(source: &Rev) -> String {
    normalize(&format!("merge {}: Fast-forward", source.as_str()))
}

/// A merge of `source` that made a merge commit.
pub fn merge_commit(source: &Rev) -> String {
    normalize(&format!(
        "merge {}: Merge made by the 'ort' strategy.",
        source.as_str()
    ))
}

/// A rebase of `branch` that finished on top of `onto`.
pub fn rebase_finish(branch: &RefName, onto: Oid) -> String {
    normalize(&format!("rebase (finish): {} onto {onto}", branch.as_str()))
}

/// A branch created at `from`, as the caller named it.
pub fn branch_create(from: &Rev) -> String {
    normalize(&format!("branch: Created from {}", from.as_str()))
}

/// A branch renamed: the last entry of the renamed branch's reflog, which continues the old
/// one's.
pub fn branch_rename(from: &RefName, to: &RefName) -> String {
    normalize(&format!(
        "Branch: renamed {} to {}",
        from.as_str(),
        to.as_str()
    ))
}

/// A tag created pointing at `target` (the tag object for an annotated tag).
pub fn tag_create(target: Oid) -> String {
    format!("tag: tagging {target}")
}

/// A batch of compare-and-swap ref updates (`update_refs`) and a ref deletion.
pub fn ref_update_batch() -> String {
    "update-ref".to_owned()
}

/// A stash entry of a workspace on `branch`: with the caller's message, or, without one, named
/// after the commit the workspace was on (`base`, abbreviated to 7 digits, and its message).
pub fn stash(branch: &RefName, message: Option<&str>, base: Oid, base_message: &str) -> String {
    let branch = branch.short();
    match message.map(normalize).filter(|m| !m.is_empty()) {
        Some(m) => format!("On {branch}: {m}"),
        None => {
            let hex = base.to_string();
            let abbrev = hex.get(..7).unwrap_or(&hex);
            normalize(&format!(
                "WIP on {branch}: {abbrev} {}",
                first_line(base_message)
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_collapses_whitespace_as_git_does() {
        assert_eq!(normalize("  a \t b\n\nc  "), "a b c");
        assert_eq!(normalize(""), "");
    }

    #[test]
    fn subjects_are_the_first_line() {
        assert_eq!(
            commit_from_actions("add  x\n\nbody", false),
            "commit: add x"
        );
        assert_eq!(commit_from_index("first", true), "commit (initial): first");
        assert_eq!(amend("m\nrest"), "commit (amend): m");
        assert_eq!(
            revert("Revert \"x\"\n\nThis reverts"),
            "revert: Revert \"x\""
        );
    }

    #[test]
    fn named_messages() {
        let main = RefName::branch("main").expect("valid");
        let rev = Rev::new("HEAD~1").expect("valid");
        assert_eq!(reset(&rev), "reset: moving to HEAD~1");
        assert_eq!(branch_create(&rev), "branch: Created from HEAD~1");
        assert_eq!(
            merge_commit(&rev),
            "merge HEAD~1: Merge made by the 'ort' strategy."
        );
        assert_eq!(
            branch_rename(&main, &RefName::branch("b").expect("valid")),
            "Branch: renamed refs/heads/main to refs/heads/b"
        );
        assert_eq!(
            stash(&main, None, Oid::ZERO, "subject\nbody"),
            "WIP on main: 0000000 subject"
        );
        assert_eq!(stash(&main, Some(" a\nb "), Oid::ZERO, ""), "On main: a b");
    }
}
