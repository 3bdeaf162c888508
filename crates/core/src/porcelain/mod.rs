//! Porcelain both engines share: the engine-independent part of an operation, written once
//! over the engine's primitives (as [`crate::tree_edit`] is over its `TreeStore`), so both
//! engines answer the same by construction instead of by two copies kept in step.
//!
//! - [`blame`]: the line-range rule of `git blame -L` and the finishing of hunks (ordered,
//!   consecutive runs joined).
//! - [`pick`]: the rules of a cherry-pick or revert around the tree an engine computes (the
//!   mainline check, the empty result, the new commit's author and message, the reflog entry).
//! - [`workspace_edit`]: the small edits of a workspace (work-tree files, staging) as data,
//!   applied once over an [`workspace_edit::EditableWorkspace`] each engine implements.

pub mod blame;
pub mod pick;
pub mod workspace_edit;
