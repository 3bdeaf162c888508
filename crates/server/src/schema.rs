//! OpenAPI schemas of the core types the REST door sends and takes.
//!
//! `gitapi-core` has no OpenAPI dependency (engines should not carry one), so these types
//! describe the JSON shapes of its serde derives for the document only; they are never built.
//! `tests/server/openapi.rs` checks real responses against them so they cannot drift silently.
#![allow(dead_code)]

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A 40-hex-digit object id.
#[derive(Serialize, ToSchema)]
#[schema(value_type = String, example = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")]
pub(crate) struct Oid(String);

/// The error body of every failed request.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorObject,
}

/// The error.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorObject {
    /// `not_found`, `already_exists`, `invalid_argument`, `conflict`, `failed_precondition`,
    /// `permission_denied`, `unauthenticated`, `too_large`, `timeout`, `unavailable`,
    /// `unimplemented` or `internal`.
    code: String,
    /// What was attempted, for people.
    message: String,
    /// Structured context: a lost compare-and-swap or a merge conflict.
    details: Option<ErrorDetails>,
}

/// Structured error context.
#[derive(Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub(crate) enum ErrorDetails {
    /// A lost compare-and-swap.
    #[serde(rename_all = "camelCase")]
    RefMismatch {
        refname: String,
        expected: Option<Oid>,
        actual: Option<Oid>,
    },
    /// Conflicting paths; nothing changed.
    MergeConflict { paths: Vec<String> },
}

/// A person and a moment.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Signature {
    name: String,
    email: String,
    /// Seconds since the Unix epoch.
    time: i64,
    /// Minutes east of UTC.
    offset_minutes: i32,
}

/// A tree entry's mode.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum FileMode {
    Regular,
    Executable,
    Symlink,
    Tree,
    Submodule,
}

/// An object kind.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ObjectKind {
    Blob,
    Tree,
    Commit,
    Tag,
}

/// Facts about a repository.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RepoInfo {
    name: String,
    default_branch: Option<String>,
    empty: bool,
    mirror: bool,
}

/// A page of repositories.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RepoPage {
    items: Vec<RepoInfo>,
    next_cursor: Option<String>,
}

/// What gc did.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GcOutcome {
    loose_objects_before: u64,
    loose_objects_after: u64,
    packs_after: u64,
}

/// One config entry.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfigEntry {
    key: String,
    value: String,
}

/// A page of config entries.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfigPage {
    items: Vec<ConfigEntry>,
    next_cursor: Option<String>,
}

/// A protection rule.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProtectionRule {
    /// A full ref name; `*` matches any run of characters.
    pattern: String,
    no_force_push: bool,
    no_deletion: bool,
    require_signed_commits: bool,
}

/// The protection rules of a repository.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Protections {
    rules: Vec<ProtectionRule>,
}

/// A ref.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Ref {
    name: String,
    target: Oid,
    /// For an annotated tag: what it finally points at.
    peeled: Option<Oid>,
}

/// A page of refs.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefPage {
    items: Vec<Ref>,
    next_cursor: Option<String>,
}

/// A commit.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Commit {
    oid: Oid,
    tree: Oid,
    parents: Vec<Oid>,
    author: Signature,
    committer: Signature,
    message: String,
    /// The armored `gpgsig` header.
    signature: Option<String>,
}

/// A page of commits.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommitPage {
    items: Vec<Commit>,
    next_cursor: Option<String>,
}

/// A tree entry.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TreeEntry {
    name: String,
    path: String,
    mode: FileMode,
    kind: ObjectKind,
    oid: Oid,
    size: Option<u64>,
}

/// A page of tree entries.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TreePage {
    items: Vec<TreeEntry>,
    next_cursor: Option<String>,
}

/// A workspace.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WorkspaceInfo {
    name: String,
    branch: String,
    base: Option<Oid>,
}

/// A page of workspaces.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WorkspacePage {
    items: Vec<WorkspaceInfo>,
    next_cursor: Option<String>,
}

/// A path's state.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum FileStatus {
    Unmodified,
    Added,
    Modified,
    Deleted,
    TypeChanged,
    Conflicted,
}

/// One path of `status`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusEntry {
    path: String,
    staged: FileStatus,
    unstaged: FileStatus,
    untracked: bool,
}

/// A page of status entries.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusPage {
    items: Vec<StatusEntry>,
    next_cursor: Option<String>,
}

/// A stash entry.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StashEntry {
    index: usize,
    oid: Oid,
    message: String,
}

/// A page of stash entries.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StashPage {
    items: Vec<StashEntry>,
    next_cursor: Option<String>,
}

/// What happened to a file.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum DiffStatus {
    Added,
    Deleted,
    Modified,
    Renamed,
    Copied,
    TypeChanged,
}

/// Where a diff line comes from.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum LineOrigin {
    Context,
    Addition,
    Deletion,
}

/// One diff line.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DiffLine {
    origin: LineOrigin,
    content: String,
    old_lineno: Option<u32>,
    new_lineno: Option<u32>,
    no_newline: Option<bool>,
}

/// A hunk.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Hunk {
    old_start: u32,
    old_lines: u32,
    new_start: u32,
    new_lines: u32,
    heading: String,
    lines: Vec<DiffLine>,
}

/// One file's change.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileDiff {
    status: DiffStatus,
    old_path: Option<String>,
    new_path: Option<String>,
    old_mode: Option<FileMode>,
    new_mode: Option<FileMode>,
    old_oid: Oid,
    new_oid: Oid,
    similarity: Option<u8>,
    binary: bool,
    additions: u32,
    deletions: u32,
    hunks: Vec<Hunk>,
}

/// Totals of a diff.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DiffStats {
    files_changed: usize,
    insertions: u64,
    deletions: u64,
}

/// A structured diff.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Diff {
    /// Renders this diff again through `GET /v1/repos/{repo}/diffs/{id}`; absent for diffs
    /// against a work tree.
    id: Option<String>,
    files: Vec<FileDiff>,
    stats: DiffStats,
}

/// A blame hunk.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlameHunk {
    commit: Oid,
    orig_path: String,
    orig_start: u32,
    final_start: u32,
    lines: u32,
}

/// How a merge ended.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum MergeKind {
    UpToDate,
    FastForward,
    Merged,
}

/// A merge's result.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MergeOutcome {
    kind: MergeKind,
    tip: Oid,
}

/// A rebase's result.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RebaseOutcome {
    tip: Oid,
    commits: Vec<Oid>,
}

/// Ahead and behind counts.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AheadBehind {
    ahead: usize,
    behind: usize,
}

/// One file action of a commit.
#[derive(Serialize, ToSchema)]
#[serde(tag = "action", rename_all = "camelCase")]
pub(crate) enum FileAction {
    /// Create or replace a file.
    Put {
        path: String,
        /// Base64.
        content: String,
        mode: Option<FileMode>,
    },
    /// Remove a file or directory.
    Delete { path: String },
    /// Move a file or directory.
    Move { from: String, to: String },
    /// Change the executable bit.
    Chmod { path: String, executable: bool },
}

/// How a commit is signed.
#[derive(Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub(crate) enum Signing {
    /// Not signed.
    None,
    /// With the operator's key.
    Operator,
    /// With a signature the caller made over `POST /v1/repos/{repo}/commit-payload`.
    Provided { signature: String },
}

/// One step of a rebase plan.
#[derive(Serialize, ToSchema)]
#[serde(tag = "action", rename_all = "camelCase")]
pub(crate) enum RebaseStep {
    Pick {
        commit: Oid,
    },
    Reword {
        commit: Oid,
        message: String,
    },
    Squash {
        commit: Oid,
        message: Option<String>,
    },
    Fixup {
        commit: Oid,
    },
    Drop {
        commit: Oid,
    },
}

/// Fast-forward mode.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum FastForward {
    Ff,
    NoFf,
    FfOnly,
}

/// Reset mode.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ResetMode {
    Soft,
    Mixed,
    Hard,
}
